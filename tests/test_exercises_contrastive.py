"""The checkers of Part 2.4's contrastive exercises pass correct solutions, catch the usual mistakes with a useful
hint, and leave torch's random generator alone."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmcourse.exercises import CheckResult, check_clip_loss, check_infonce_gradient, check_recall_at_k


# --- the symmetric InfoNCE loss -------------------------------------------------------------------------------------
def clip_loss(z1, z2, temperature):
    s = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T / temperature
    targets = torch.arange(len(s))
    return (F.cross_entropy(s, targets) + F.cross_entropy(s.T, targets)) / 2


def clip_loss_loops(z1, z2, temperature):
    """Another correct solution: explicit log-sum-exp, returning a Python float."""
    s = (F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T / temperature).tolist()
    n = len(s)
    rows = sum(np.log(sum(np.exp(s[i][j]) for j in range(n))) - s[i][i] for i in range(n)) / n
    cols = sum(np.log(sum(np.exp(s[i][j]) for i in range(n))) - s[j][j] for j in range(n)) / n
    return float((rows + cols) / 2)


def one_direction(z1, z2, temperature):
    s = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T / temperature
    return F.cross_entropy(s, torch.arange(len(s)))


def unnormalised(z1, z2, temperature):
    s = z1 @ z2.T / temperature
    targets = torch.arange(len(s))
    return (F.cross_entropy(s, targets) + F.cross_entropy(s.T, targets)) / 2


def times_tau(z1, z2, temperature):
    return clip_loss(z1, z2, 1 / temperature)


def summed(z1, z2, temperature):
    s = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T / temperature
    targets = torch.arange(len(s))
    return F.cross_entropy(s, targets) + F.cross_entropy(s.T, targets)


def not_attempted(*args):
    raise NotImplementedError


def test_clip_loss_checker():
    for solution in (clip_loss, clip_loss_loops):
        result = check_clip_loss(solution)
        assert isinstance(result, CheckResult) and result.passed, result
        assert repr(result).startswith("PASS symmetric InfoNCE")
    for solution, hint in [(one_direction, "only one direction"), (unnormalised, "not normalised"),
                           (times_tau, "multiplied by τ"), (summed, "the two directions are added"),
                           (lambda z1, z2, t: torch.zeros(2), "return one number")]:
        result = check_clip_loss(solution)
        assert not result.passed and hint in result.message, result
        assert repr(result).startswith("FAIL")
    assert "not attempted" in check_clip_loss(not_attempted).message
    assert "raised ZeroDivisionError" in check_clip_loss(lambda z1, z2, t: 1 / 0).message


# --- recall@k -------------------------------------------------------------------------------------------------------
def recall(similarity, k):
    top = np.argsort(-similarity, axis=1)[:, :k]
    return float(np.mean([i in row for i, row in enumerate(top)]))


def recall_by_rank(similarity, k):
    """Another correct solution: the rank of the diagonal entry in its row."""
    ranks = (similarity > np.diag(similarity)[:, None]).sum(1)
    return (ranks < k).mean()


def columns(similarity, k):
    return recall(similarity.T, k)


def ascending(similarity, k):
    top = np.argsort(similarity, axis=1)[:, :k]
    return float(np.mean([i in row for i, row in enumerate(top)]))


def off_by_one(similarity, k):
    return recall(similarity, k + 1) if k < len(similarity) else 1.0


def count(similarity, k):
    return recall(similarity, k) * len(similarity)


def test_recall_checker():
    for solution in (recall, recall_by_rank):
        assert check_recall_at_k(solution).passed, check_recall_at_k(solution)
    for solution, hint in [(columns, "that is y → x"), (ascending, "smallest similarities"),
                           (off_by_one, "off by one"), (count, "not a count"),
                           (lambda s, k: "0.5", "return a float")]:
        result = check_recall_at_k(solution)
        assert not result.passed and hint in result.message, result


# --- the gradient of InfoNCE ----------------------------------------------------------------------------------------
def gradient(similarity, temperature):
    p = torch.softmax(similarity / temperature, dim=1)
    return (p - torch.eye(len(similarity), dtype=similarity.dtype)) / temperature


def gradient_by_autograd(similarity, temperature):
    s = similarity.clone().requires_grad_()
    with torch.enable_grad():
        loss = -torch.log_softmax(s / temperature, dim=1).diagonal().sum()
        return torch.autograd.grad(loss, s)[0]


def test_gradient_checker():
    for solution in (gradient, gradient_by_autograd, lambda s, t: gradient(s, t).numpy()):
        assert check_infonce_gradient(solution).passed, check_infonce_gradient(solution)
    mistakes = [
        (lambda s, t: gradient(s, t) * t, "1/τ is missing"),
        (lambda s, t: torch.softmax(s / t, dim=1) / t, "positive's term is missing"),
        (lambda s, t: -gradient(s, t), "sign is flipped"),
        (lambda s, t: gradient(s.T, t).T, "wrong axis"),
        (lambda s, t: gradient(s, t)[:, :1], "must have shape"),
        (lambda s, t: [[0.0]], "return a tensor"),
    ]
    for solution, hint in mistakes:
        result = check_infonce_gradient(solution)
        assert not result.passed and hint in result.message, result


def test_checkers_leave_the_random_generator_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    for checker, solution in [(check_clip_loss, clip_loss), (check_recall_at_k, recall),
                              (check_infonce_gradient, gradient)]:
        checker(solution)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("checker", [check_clip_loss, check_recall_at_k, check_infonce_gradient])
def test_a_non_function_fails_politely(checker):
    result = checker(42)
    assert not result.passed and "expected a function" in result.message
