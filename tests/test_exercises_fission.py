"""The checkers of Part 2.5's exercises pass correct solutions written independently of the package, catch the
usual mistakes with a hint that names them, and leave torch's random generator alone."""
import numpy as np
import pytest
import torch

from mmcourse.exercises import (CheckResult, check_cluster_purity, check_decorrelation_penalty,
                                check_soft_assignment, check_target_distribution)


# --- correct solutions, written from the equations --------------------------------------------------------------------
def purity(labels_true, labels_pred):
    true, pred = np.asarray(labels_true), np.asarray(labels_pred)
    classes = np.unique(true, return_inverse=True)[1]
    return sum(np.bincount(classes[pred == k]).max() for k in np.unique(pred)) / len(true)


def assign(z, mu):
    kernel = 1 / (1 + ((z[:, None, :] - mu[None, :, :]) ** 2).sum(-1))
    return kernel / kernel.sum(1, keepdim=True)


def target(q):
    weight = q ** 2 / q.sum(0)
    return weight / weight.sum(1, keepdim=True)


def penalty(a, b):
    a = (a - a.mean(0)) / a.std(0)
    b = (b - b.mean(0)) / b.std(0)
    return ((a.T @ b) / (len(a) - 1)).pow(2).sum()


def test_correct_solutions_pass():
    for check, solution in [(check_cluster_purity, purity), (check_soft_assignment, assign),
                            (check_target_distribution, target), (check_decorrelation_penalty, penalty)]:
        result = check(solution)
        assert isinstance(result, CheckResult) and result.passed, result
        assert repr(result).startswith("PASS")


def test_numpy_and_float_answers_are_accepted():
    assert check_soft_assignment(lambda z, mu: assign(z, mu).numpy()).passed
    assert check_decorrelation_penalty(lambda a, b: float(penalty(a, b))).passed
    assert check_cluster_purity(lambda t, p: torch.tensor(purity(t, p))).passed


# --- typical mistakes ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("solution, hint", [
    (lambda t, p: purity(p, t), "for each cluster, its most common class"),
    (lambda t, p: float((np.asarray(t) == np.asarray(p)).mean()), "cluster indices are arbitrary"),
    (lambda t, p: purity(t, p) * len(t), "divide by the number of points n"),
    (lambda t, p: "high", "return a number, got str"),
])
def test_purity_mistakes(solution, hint):
    result = check_cluster_purity(solution)
    assert not result.passed and hint in result.message, result


@pytest.mark.parametrize("solution, hint", [
    (lambda z, mu: 1 / (1 + ((z[:, None] - mu[None]) ** 2).sum(-1)), "rows must sum to one"),
    (lambda z, mu: torch.softmax(-((z[:, None] - mu[None]) ** 2).sum(-1), 1), "Gaussian kernel"),
    (lambda z, mu: assign(z, mu)[:, 0], "must have shape"),
    (lambda z, mu: (lambda k: k / k.sum(1, keepdim=True))(1 / (1 + torch.cdist(z, mu))), "squared distance"),
])
def test_soft_assignment_mistakes(solution, hint):
    result = check_soft_assignment(solution)
    assert not result.passed and hint in result.message, result


@pytest.mark.parametrize("solution, hint", [
    (lambda q: q ** 2 / (q ** 2).sum(1, keepdim=True), "soft cluster size"),
    (lambda q: q ** 2 / q.sum(0), "normalise each row"),
    (lambda q: (q ** 2 / q.sum(0)) / (q ** 2 / q.sum(0)).sum(0, keepdim=True), "not over the points"),
    (lambda q: (q / q.sum(0)) / (q / q.sum(0)).sum(1, keepdim=True), "square q"),
])
def test_target_mistakes(solution, hint):
    result = check_target_distribution(solution)
    assert not result.passed and hint in result.message, result


@pytest.mark.parametrize("solution, hint", [
    (lambda a, b: (a.T @ b).pow(2).sum(), "raw orthogonality"),
    (lambda a, b: ((a - a.mean(0)).T @ (b - b.mean(0)) / len(a)).pow(2).sum(), "unit variance"),
    (lambda a, b: penalty(a, b) / (a.shape[1] * b.shape[1]), "do not average"),
])
def test_decorrelation_mistakes(solution, hint):
    result = check_decorrelation_penalty(solution)
    assert not result.passed and hint in result.message, result


def test_unattempted_and_crashing_solutions():
    def stub(*args):
        raise NotImplementedError

    checks = (check_cluster_purity, check_soft_assignment, check_target_distribution, check_decorrelation_penalty)
    for check in checks:
        assert "not attempted" in check(stub).message
        assert "raised ZeroDivisionError" in check(lambda *args: 1 / 0).message
        assert "expected a function" in check(3).message


def test_checkers_leave_the_global_generator_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    check_soft_assignment(assign)
    check_decorrelation_penalty(penalty)
    assert torch.equal(torch.rand(3), expected)
