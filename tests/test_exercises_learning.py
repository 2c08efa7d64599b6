"""Checkers of Part 7.3's exercises: a right answer passes; typical mistakes fail with a hint that names them."""
import numpy as np
import pytest
import torch

from mmcourse.exercises import check_best_epoch, check_fusion_parameters, check_pareto


# --- best epoch and gap -----------------------------------------------------------------------------------------------
def best_epoch_and_gap(train_loss, val_loss):
    best = int(np.argmin(val_loss))
    return best + 1, val_loss[best] - train_loss[best]


@pytest.mark.parametrize("wrong, hint", [
    (lambda t, v: (int(np.argmin(v)), v[np.argmin(v)] - t[np.argmin(v)]), "1-based"),
    (lambda t, v: (int(np.argmin(v)) + 1, t[np.argmin(v)] - v[np.argmin(v)]), "not train − val"),
    (lambda t, v: (int(np.argmin(v)) + 1, v[-1] - t[-1]), "not at the last"),
    (lambda t, v: (int(np.argmin(t)) + 1, v[np.argmin(t)] - t[np.argmin(t)]), "VALIDATION loss"),
    (lambda t, v: (len(v) - int(np.argmin(v[::-1])), (v - t)[len(v) - 1 - int(np.argmin(v[::-1]))]), "ties"),
    (lambda t, v: int(np.argmin(v)) + 1, "return a pair"),
    (lambda t, v: (int(np.argmin(v)) + 1, v.min() - t.min() + 1), "expected epoch"),
])
def test_best_epoch(wrong, hint):
    assert check_best_epoch(best_epoch_and_gap).passed
    result = check_best_epoch(wrong)
    assert not result.passed and hint in result.message, result.message


# --- parameters of a fusion -------------------------------------------------------------------------------------------
def fusion_parameters(name, d1, d2, o, rank):
    return {"additive": o * (d1 + d2) + o, "tensor": o * (d1 + 1) * (d2 + 1) + o,
            "low_rank": rank * o * (d1 + 1 + d2 + 1) + o}[name]


@pytest.mark.parametrize("wrong_name, wrong, hint", [
    ("tensor", lambda d1, d2, o, r: o * d1 * d2 + o, "1 appended"),
    ("tensor", lambda d1, d2, o, r: o * (d1 + 1) * (d2 + 1), "bias"),
    ("low_rank", lambda d1, d2, o, r: r * o * (d1 + d2) + o, "1 appended"),
    ("low_rank", lambda d1, d2, o, r: o * (d1 + 1) * (d2 + 1) + o, "R factors"),
    ("additive", lambda d1, d2, o, r: o * (d1 + d2 + 2), "ONE bias"),
    ("additive", lambda d1, d2, o, r: o * (d1 + d2) + o + 1, "expected"),
])
def test_fusion_parameters(wrong_name, wrong, hint):
    assert check_fusion_parameters(fusion_parameters).passed

    def solution(name, d1, d2, o, rank):
        return wrong(d1, d2, o, rank) if name == wrong_name else fusion_parameters(name, d1, d2, o, rank)
    result = check_fusion_parameters(solution)
    assert not result.passed and result.message.startswith("case ") and hint in result.message, result.message
    assert wrong_name in result.message


def test_fusion_parameters_type():
    result = check_fusion_parameters(lambda *a: float(fusion_parameters(*a)))
    assert not result.passed and "return an integer" in result.message


# --- Pareto front -----------------------------------------------------------------------------------------------------
def pareto(accuracy, cost):
    n = len(accuracy)
    return np.array([not any(accuracy[j] >= accuracy[i] and cost[j] <= cost[i]
                             and (accuracy[j] > accuracy[i] or cost[j] < cost[i]) for j in range(n))
                     for i in range(n)])


def test_pareto():
    assert check_pareto(pareto).passed
    result = check_pareto(lambda a, c: pareto(a, -c))
    assert not result.passed and "minimised" in result.message
    strict = lambda a, c: np.array([not ((a > a[i]) & (c < c[i])).any() for i in range(len(a))])  # noqa: E731
    result = check_pareto(strict)
    assert not result.passed and "strictly better on ONE" in result.message
    result = check_pareto(lambda a, c: np.flatnonzero(pareto(a, c)))
    assert not result.passed and "boolean array" in result.message
    result = check_pareto(lambda a, c: a == a.max())
    assert not result.passed and "are wrong" in result.message


@pytest.mark.parametrize("checker", [check_best_epoch, check_fusion_parameters, check_pareto])
def test_stub_crash_and_random_state(checker):
    def stub(*args):
        raise NotImplementedError

    torch.manual_seed(3)
    expected = torch.rand(2)
    torch.manual_seed(3)
    assert checker(stub).message == "not attempted yet (the function raises NotImplementedError)"
    assert checker(lambda *a: 1 / 0).message == "case 1 raised ZeroDivisionError: division by zero"
    assert torch.equal(torch.rand(2), expected)
