"""Tests of the checkers of Part 7.2 (mmcourse/exercises/pid.py): a correct solution passes, typical mistakes fail
with a useful hint, a stub is reported as not attempted, and torch's global generator is left alone.

The reference solutions are written here from entropies, independently of the package.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mmcourse.book import STUB_MESSAGE
from mmcourse.exercises import check_in_polytope, check_mutual_information, check_pid_parts


def entropy(t):
    t = np.asarray(t)[np.asarray(t) > 0]
    return float(-(t * np.log2(t)).sum())


def mutual_information(pab):
    return entropy(pab.sum(1)) + entropy(pab.sum(0)) - entropy(pab)


def conditional_mi(t):  # I(A; C | B) of t[a, b, c] = H(A, B) + H(B, C) - H(B) - H(A, B, C)
    return entropy(t.sum(2)) + entropy(t.sum(0)) - entropy(t.sum((0, 2))) - entropy(t)


def pid_parts(p, q):
    u1, u2 = conditional_mi(q), conditional_mi(q.transpose(1, 0, 2))
    flat = lambda t: t.reshape(-1, t.shape[2])  # noqa: E731
    return (mutual_information(p.sum(1)) - u1, u1, u2,
            mutual_information(flat(p)) - mutual_information(flat(q)))


def in_polytope(p, q):
    return bool((q >= 0).all() and np.allclose(q.sum(1), p.sum(1)) and np.allclose(q.sum(0), p.sum(0)))


def not_attempted(*args):
    raise NotImplementedError(STUB_MESSAGE)


CHECKERS = {
    "mutual_information": (check_mutual_information, mutual_information,
                           "matches H(A) + H(B) − H(A, B) on 8 fresh tables"),
    "pid_parts": (check_pid_parts, pid_parts, "matches the BROJA parts on 6 fresh distributions"),
    "in_polytope": (check_in_polytope, in_polytope, "right on 14 fresh cases, in and out of Δ_p"),
}


@pytest.mark.parametrize("name", list(CHECKERS))
def test_reference_solution_passes(name):
    checker, solution, message = CHECKERS[name]
    result = checker(solution)
    assert result.passed, result
    assert result.message == message


@pytest.mark.parametrize("name", list(CHECKERS))
def test_stub_crash_and_global_generator(name):
    checker = CHECKERS[name][0]
    torch.manual_seed(3)
    expected = torch.rand(2)
    torch.manual_seed(3)
    result = checker(not_attempted)
    assert not result.passed
    assert result.message == "not attempted yet (the function raises NotImplementedError)"
    assert torch.equal(torch.rand(2), expected)
    crashed = checker(lambda *args: 1 / 0)
    assert not crashed.passed and crashed.message.startswith("case 1 raised ZeroDivisionError")
    assert not checker(42).passed and checker(42).message == "expected a function, got int"


def nats_mi(pab):
    return mutual_information(pab) * np.log(2)


def mi_with_zeros(pab):  # no guard for empty cells: 0 · log 0 gives NaN
    with np.errstate(divide="ignore", invalid="ignore"):
        return float((pab * np.log2(pab / np.outer(pab.sum(1), pab.sum(0)))).sum())


@pytest.mark.parametrize("checker, solution, hint", [
    (check_mutual_information, nats_mi, "nats: use log base 2 for bits"),
    (check_mutual_information, mi_with_zeros, "got NaN: a cell with p = 0 contributes 0"),
    (check_mutual_information, lambda p: entropy(p.sum(1)) + entropy(p.sum(0)) + entropy(p),
     "the joint entropy is subtracted"),
    (check_mutual_information, lambda p: entropy(p), "that is the joint entropy H(A, B)"),
    (check_mutual_information, lambda p: "0.3", "expected"),
    (check_mutual_information, lambda p: [1.0, 2.0], "return one number, got list"),
    (check_pid_parts, lambda p, q: np.array(pid_parts(p, q)) * np.log(2), "the parts are in nats"),
    (check_pid_parts, lambda p, q: pid_parts(p, p), "must be measured on q*, not on p"),
    (check_pid_parts, lambda p, q: np.array(pid_parts(p, q)) * [1, 1, 1, -1], "the sign is flipped"),
    (check_pid_parts, lambda p, q: pid_parts(p, q)[:3], "return four numbers (R, U1, U2, S)"),
    (check_pid_parts, lambda p, q: np.array(pid_parts(p, q)) + [0, 0, 0.1, 0], "U2 should be"),
    (check_in_polytope, lambda p, q: bool(np.allclose(q.sum(1), p.sum(1))),
     "q has the right p(x1, y) but not the other marginal"),
    (check_in_polytope, lambda p, q: bool(np.allclose(q.sum(0), p.sum(0))),
     "q has the right p(x2, y) but not the other marginal"),
    (check_in_polytope, lambda p, q: bool(np.allclose(q.sum(1), p.sum(1)) and np.allclose(q.sum(0), p.sum(0))),
     "a negative entry"),
    (check_in_polytope, lambda p, q: bool((q.sum(1) == p.sum(1)).all() and (q.sum(0) == p.sum(0)).all()),
     "compare them with a tolerance"),
    (check_in_polytope, lambda p, q: bool(np.allclose(q.sum(2), p.sum(2))), "not p(x1, x2)"),
    (check_in_polytope, lambda p, q: bool(np.isclose(q.sum(), 1.0)), "q has the right"),
    (check_in_polytope, lambda p, q: 1, "return True or False, got int"),
], ids=["mi-nats", "mi-nan", "mi-sign", "mi-joint", "mi-string", "mi-list", "parts-nats", "parts-on-p",
        "parts-sign", "parts-three", "parts-off", "poly-x1-only", "poly-x2-only", "poly-negative", "poly-exact",
        "poly-pair", "poly-sum", "poly-int"])
def test_common_mistakes_get_their_hint(checker, solution, hint):
    result = checker(solution)
    assert not result.passed
    assert hint in result.message, result.message


def test_in_polytope_cases_cover_every_kind():
    seen = []

    def record(p, q):
        seen.append(in_polytope(p, q))
        return seen[-1]

    assert check_in_polytope(record).passed
    assert seen.count(True) == 6 and seen.count(False) == 8  # 3 kinds inside, 4 outside, twice each
