"""The checkers of Part 3's exercises pass correct solutions, catch the usual mistakes, and leave torch's RNG alone."""
import numpy as np

from mmcourse.alignment import squared_distances
from mmcourse.exercises import check_ctc_collapse, check_dtw_cost, check_sinkhorn


def dtw_cost(x, y):
    delta = squared_distances(x, y)
    n, m = delta.shape
    R = np.full((n + 1, m + 1), np.inf)
    R[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            R[i, j] = delta[i - 1, j - 1] + min(R[i - 1, j], R[i, j - 1], R[i - 1, j - 1])
    return R[n, m]


def sinkhorn_plan(a, b, cost, reg):
    K = np.exp(-cost / reg)
    u = np.ones_like(a)
    for _ in range(5000):
        v = b / (K.T @ u)
        u = a / (K @ v)
    return u[:, None] * K * v[None, :]


def collapse(labels):
    out, previous = [], None
    for label in labels:
        if label != previous and label != 0:
            out.append(label)
        previous = label
    return out


def test_correct_solutions_pass():
    assert check_dtw_cost(dtw_cost).passed
    assert check_sinkhorn(sinkhorn_plan).passed
    assert check_ctc_collapse(collapse).passed


def test_dtw_mistakes_get_hints():
    whole = check_dtw_cost(lambda x, y: squared_distances(x, y).sum())
    assert not whole.passed and "whole cost matrix" in whole.message
    assert "return a number" in check_dtw_cost(lambda x, y: "zero").message


def test_sinkhorn_mistakes_get_hints():
    def one_scaling(a, b, cost, reg):
        K = np.exp(-cost / reg)
        return K * (a / K.sum(1))[:, None]   # rows right, columns wrong

    result = check_sinkhorn(one_scaling)
    assert not result.passed and "row and column sums" in result.message

    def independent(a, b, cost, reg):
        return np.outer(a, b)                # marginals right, not entropic-optimal

    result = check_sinkhorn(independent)
    assert not result.passed and "not the entropic one" in result.message
    assert "shape" in check_sinkhorn(lambda a, b, c, r: np.zeros(3)).message


def test_collapse_mistake_gets_a_hint():
    result = check_ctc_collapse(lambda labels: [v for v in labels if v])
    assert not result.passed and "merge repeats first" in result.message
