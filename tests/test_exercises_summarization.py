"""The checkers of Part 5.1's summarization exercises pass correct solutions and catch the usual mistakes."""
import numpy as np
import pytest
import torch

from mmcourse.exercises import check_coverage, check_greedy_coverage, check_greedy_gap


def coverage(s, r, w):
    return (w * s * r).sum() / (w * r).sum()


def greedy(x, k, w):
    covered, picks = np.zeros(x.shape[1]), []
    for _ in range(k):
        gain = (x * (1 - covered) * w).sum(1)
        gain[picks] = -1
        picks.append(int(gain.argmax()))
        covered = np.maximum(covered, x[picks[-1]])
    return picks


def greedy_gap():
    return np.array([[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 1]]), 2


def not_attempted(*args):
    raise NotImplementedError


def test_correct_solutions_pass():
    assert check_coverage(coverage).passed
    assert check_greedy_coverage(greedy).passed
    assert check_greedy_gap(greedy_gap).passed
    assert repr(check_coverage(coverage)).startswith("PASS")


def test_a_different_tie_break_is_accepted():
    def greedy_last(x, k, w):
        covered, picks = np.zeros(x.shape[1]), []
        for _ in range(k):
            gain = (x * (1 - covered) * w).sum(1)
            gain[picks] = -1
            picks.append(int(len(gain) - 1 - gain[::-1].argmax()))
            covered = np.maximum(covered, x[picks[-1]])
        return picks
    assert check_greedy_coverage(greedy_last).passed


@pytest.mark.parametrize("wrong, hint", [
    (lambda s, r, w: (s * r).sum() / r.sum(), "weight each unit"),
    (lambda s, r, w: (w * s * r).sum() / (w * s).sum(), "recall"),
    (lambda s, r, w: (w * s).sum() / (w * r).sum(), "multiply by r"),
    (lambda s, r, w: (w * s * r).sum() / w.sum(), "denominator"),
])
def test_coverage_mistakes(wrong, hint):
    result = check_coverage(wrong)
    assert not result.passed and hint in result.message


def test_greedy_mistakes():
    def by_total(x, k, w):
        return list(np.argsort(-(x * w).sum(1), kind="stable")[:k])

    def unweighted(x, k, w):
        return greedy(x, k, np.ones_like(w))

    def repeats(x, k, w):
        return [int((x * w).sum(1).argmax())] * k
    for wrong, hint in ((by_total, "largest total weight"), (unweighted, "weigh each new unit"),
                        (repeats, "picked twice")):
        result = check_greedy_coverage(wrong)
        assert not result.passed and hint in result.message, result.message


def test_greedy_gap_mistakes():
    result = check_greedy_gap(lambda: (np.eye(3), 2))
    assert not result.passed and "as many as the best" in result.message
    result = check_greedy_gap(lambda: (np.eye(3), 1))
    assert not result.passed and "k = 1" in result.message
    result = check_greedy_gap(lambda: (np.ones((9, 3)), 2))
    assert not result.passed and "at most 8 frames" in result.message


def test_stubs_are_not_attempted_and_rng_untouched():
    state = torch.random.get_rng_state()
    for check in (check_coverage, check_greedy_coverage, check_greedy_gap):
        result = check(not_attempted)
        assert not result.passed and "not attempted" in result.message
    assert torch.equal(state, torch.random.get_rng_state())
