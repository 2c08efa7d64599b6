"""Checkers for the exercises of Part 2.5, FactorCL: InfoNCE from a score matrix, the NCE-CLUB estimate, and the
split of task-relevant information into shared and unique parts on a small discrete distribution."""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from mmcourse.exercises._check import CheckResult, compare, run_cases
from mmcourse.representation.fission import info_nce, nce_club

__all__ = ["check_factorcl_info_nce", "check_nce_club", "check_information_split"]


def _scores(g: torch.Generator) -> torch.Tensor:
    n = int(torch.randint(3, 9, (1,), generator=g))
    return torch.randn(n, n, generator=g, dtype=torch.float64) * 2 + 3 * torch.eye(n, dtype=torch.float64)


def check_factorcl_info_nce(info_nce_fn: Callable) -> CheckResult:
    """Exercise: ``info_nce_fn(scores)`` returns the InfoNCE bound (nats) of a NumPy ``(B, B)`` score matrix whose
    diagonal holds the positive pairs: the mean over rows of ``s_ii − log mean_j exp s_ij``."""
    def make_case(g):
        s = _scores(g)
        n = len(s)
        off = s.masked_fill(torch.eye(n, dtype=torch.bool), float("-inf"))
        wrong = {"no_log_b": info_nce(s) - math.log(n), "columns": info_nce(s.T),
                 "no_positive": (s.diagonal() - off.logsumexp(1)).mean() + math.log(n - 1),
                 "mean": (s.diagonal() - s.mean(1)).mean()}
        return (s.numpy().copy(),), (info_nce(s), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        hints = {"no_log_b": "add log B: with the mean (1/B) inside the log, a perfect critic reaches log B, a blind "
                             "one 0",
                 "columns": "row i compares a_i with every b_j: take the log-sum-exp along each row (axis 1)",
                 "no_positive": "keep the positive pair in the denominator: the sum runs over all j, j = i included",
                 "mean": "the denominator is log of the mean of exp(s_ij), not the mean of s_ij"}
        return compare(expected, out, {hints[k]: v for k, v in wrong.items()}, atol=1e-6, rtol=1e-6)

    return run_cases("InfoNCE from a score matrix", info_nce_fn, 10, make_case, judge,
                     "matches mmcourse.representation.fission.info_nce on {cases} fresh score matrices")


def check_nce_club(nce_club_fn: Callable) -> CheckResult:
    """Exercise: ``nce_club_fn(scores)`` returns the NCE-CLUB estimate (nats) of a NumPy ``(B, B)`` score matrix:
    the mean of the diagonal minus the mean over all ``B²`` entries."""
    def make_case(g):
        s = _scores(g)
        wrong = {"sign": -nce_club(s), "info_nce": info_nce(s), "sum": s.diagonal().sum() - s.sum()}
        return (s.numpy().copy(),), (nce_club(s), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        hints = {"sign": "positives minus negatives: the mean of the diagonal comes first",
                 "info_nce": "that is InfoNCE; NCE-CLUB subtracts the plain mean of the scores over all pairs, "
                             "no log-sum-exp",
                 "sum": "average (mean) the scores rather than summing them"}
        return compare(expected, out, {hints[k]: v for k, v in wrong.items()}, atol=1e-6, rtol=1e-6)

    return run_cases("the NCE-CLUB estimate", nce_club_fn, 10, make_case, judge,
                     "matches mmcourse.representation.fission.nce_club on {cases} fresh score matrices")


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _split(p: np.ndarray) -> dict[str, float]:
    """Exact S, U1, U2 (nats) and the wrong variants, from a joint table p[x1, x2, y]."""
    h = {axes: _entropy(p.sum(axis=tuple(set(range(3)) - set(axes))).ravel())
         for axes in [(0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2)]}
    i12 = h[(0,)] + h[(1,)] - h[(0, 1)]
    i1y, i2y = h[(0,)] + h[(2,)] - h[(0, 2)], h[(1,)] + h[(2,)] - h[(1, 2)]
    i12_y = h[(0, 2)] + h[(1, 2)] - h[(2,)] - h[(0, 1, 2)]
    shared = i12 - i12_y
    return {"S": shared, "U1": i1y - shared, "U2": i2y - shared, "S_no_cond": i12, "U1_plain": i1y,
            "U1_plus": i1y + shared}


def check_information_split(split: Callable) -> CheckResult:
    """Exercise: ``split(p)`` takes a joint distribution ``p[x1, x2, y]`` (a NumPy array of shape
    ``(n1, n2, ny)`` summing to 1) and returns ``(S, U1, U2)`` in nats: ``S = I(X1;X2) − I(X1;X2|Y)``,
    ``U1 = I(X1;Y) − S``, ``U2 = I(X2;Y) − S``."""
    def make_case(g):
        shape = tuple(int(v) for v in torch.randint(2, 4, (3,), generator=g))
        p = torch.rand(shape, generator=g, dtype=torch.float64) ** 3  # peaked, so the terms differ
        p = (p / p.sum()).numpy()
        return (p.copy(),), _split(p)

    def judge(ctx, out):
        try:
            got = [float(v) for v in out]
        except (TypeError, ValueError):
            return f"return three numbers (S, U1, U2), got {type(out).__name__}"
        if len(got) != 3:
            return f"return three numbers (S, U1, U2), got {len(got)}"
        expected = [ctx["S"], ctx["U1"], ctx["U2"]]
        if all(abs(a - b) <= 1e-6 for a, b in zip(got, expected)):
            return None
        if all(abs(a - b / math.log(2)) <= 1e-6 for a, b in zip(got, expected)):
            return "natural logarithms, please: the book measures information in nats"
        if abs(got[0] - ctx["S_no_cond"]) <= 1e-6:
            return "S is I(X1;X2) minus I(X1;X2|Y): shared information that the label does not need is not S"
        if abs(got[1] - ctx["U1_plain"]) <= 1e-6:
            return "U1 is I(X1;Y) minus the shared part S"
        if abs(got[1] - ctx["U1_plus"]) <= 1e-6:
            return "U1 = I(X1;Y) − S: subtract S, do not add it"
        return f"expected (S, U1, U2) = ({expected[0]:.5f}, {expected[1]:.5f}, {expected[2]:.5f}), got " \
               f"({got[0]:.5f}, {got[1]:.5f}, {got[2]:.5f})"

    return run_cases("the shared and unique split", split, 10, make_case, judge,
                     "gives S, U1 and U2 exactly on {cases} fresh distributions")
