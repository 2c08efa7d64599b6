"""Checkers for the exercises of Part 3.2, segmentation: edit distance, CTC's best path, boundary F1."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from mmcourse.alignment import boundary_f1, ctc_best_path, ctc_loss, edit_distance
from mmcourse.exercises._check import CheckResult, run_cases

__all__ = ["check_edit_distance", "check_best_path_score", "check_boundary_f1"]


def _as_float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _lcs(a, b) -> int:
    table = np.zeros((len(a) + 1, len(b) + 1), dtype=int)
    for i, x in enumerate(a, 1):
        for j, y in enumerate(b, 1):
            table[i, j] = table[i - 1, j - 1] + 1 if x == y else max(table[i - 1, j], table[i, j - 1])
    return int(table[-1, -1])


def check_edit_distance(distance: Callable) -> CheckResult:
    """Exercise: ``distance(a, b)`` returns the Levenshtein distance of two lists of ints (insertions, deletions
    and substitutions each cost 1), as :func:`mmcourse.alignment.edit_distance`."""
    def make_case(g):
        a = torch.randint(1, 4, (int(torch.randint(0, 8, (1,), generator=g)),), generator=g).tolist()
        b = torch.randint(1, 4, (int(torch.randint(1, 8, (1,), generator=g)),), generator=g).tolist()
        if len(a) == len(b):
            b = b + [1]   # unequal lengths, so that a position-by-position count is not even defined
        return (list(a), list(b)), (a, b, edit_distance(a, b))

    def judge(ctx, out):
        a, b, expected = ctx
        value = _as_float(out)
        if value is None:
            return f"return a number, got {type(out).__name__}"
        if value == expected:
            return None
        if value == len(a) + len(b) - 2 * _lcs(a, b):
            return (f"distance({a}, {b}) should be {expected}, got {value:g}: that counts a substitution as a "
                    f"deletion plus an insertion; a substitution costs 1 (D[i-1, j-1] + [a_i != b_j])")
        return (f"distance({a}, {b}) should be {expected}, got {value:g} (hint: D[i, 0] = i, D[0, j] = j, and "
                f"each cell is the minimum of three moves)")

    return run_cases("Edit distance", distance, 20, make_case, judge,
                     "matches mmcourse.alignment.edit_distance on {cases} fresh pairs")


def _best_path_allowing_equal_skips(lp: np.ndarray, target: list[int]) -> float:
    """The best-path score when the skip over a blank is allowed between equal labels too (a common slip)."""
    ext = [0] * (2 * len(target) + 1)
    ext[1::2] = target
    S = len(ext)
    delta = np.full(S, -np.inf)
    delta[:min(2, S)] = lp[0, ext[:min(2, S)]]
    for t in range(1, len(lp)):
        new = delta.copy()
        new[1:] = np.maximum(new[1:], delta[:-1])
        skip = np.full(S, -np.inf)
        skip[2:] = np.where(np.array(ext[2:]) != 0, delta[:-2], -np.inf)
        delta = lp[t, ext] + np.maximum(new, skip)
    return float(np.max(delta[-2:]) if S > 1 else delta[-1])


def check_best_path_score(best_path_score: Callable) -> CheckResult:
    """Exercise: ``best_path_score(log_probs, target)`` returns the log-probability of the single best frame
    labeling that collapses to ``target`` (log_probs a NumPy ``(T, C)`` array, blank 0), as the second output of
    :func:`mmcourse.alignment.ctc_best_path`."""
    def make_case(g):
        length = int(torch.randint(1, 4, (1,), generator=g))
        target = torch.randint(1, 3, (length,), generator=g).tolist()
        if len(target) >= 2 and target[0] != target[1]:
            target[1] = target[0]   # most cases hold a repeat: the blank rule matters
        T = length + 2 + int(torch.randint(0, 4, (1,), generator=g))
        lp = torch.randn(T, 3, generator=g, dtype=torch.float64).mul(2).log_softmax(-1).numpy()
        return (lp, list(target)), (lp, target, ctc_best_path(lp, target)[1])

    def judge(ctx, out):
        lp, target, expected = ctx
        value = _as_float(out)
        if value is None:
            return f"return a number, got {type(out).__name__}"
        if abs(value - expected) <= 1e-8 * max(1.0, abs(expected)):
            return None
        if abs(value + float(ctc_loss(lp, target))) <= 1e-8 * max(1.0, abs(expected)):
            return "that is log p(target), the sum over all alignments: replace the log-sum-exp by a maximum"
        if abs(value - float(lp.max(axis=1).sum())) <= 1e-8 * max(1.0, abs(expected)):
            return "that is the best labeling of all, whatever it collapses to: constrain it to the target"
        if abs(value - _best_path_allowing_equal_skips(lp, target)) <= 1e-8 * max(1.0, abs(expected)):
            return (f"for target {target}: the skip from s-2 is allowed only into a label that differs from the "
                    f"label two places back, or a repeat would merge")
        return f"for target {target}: expected {expected:.6g}, got {value:.6g}"

    return run_cases("CTC's best path", best_path_score, 12, make_case, judge,
                     "matches mmcourse.alignment.ctc_best_path on {cases} fresh cases")


def _loose_f1(predicted, true, tolerance) -> float:
    """F1 where every boundary within the tolerance counts, even if several share one partner (a common slip)."""
    p = np.mean([any(abs(a - b) <= tolerance for b in true) for a in predicted]) if predicted else 1.0
    r = np.mean([any(abs(a - b) <= tolerance for a in predicted) for b in true]) if true else 1.0
    return float(2 * p * r / (p + r)) if p + r > 0 else 0.0


def check_boundary_f1(f1: Callable) -> CheckResult:
    """Exercise: ``f1(predicted, true, tolerance)`` returns the boundary F1 of two sorted lists of frame indices,
    each true boundary matched to at most one predicted one, as ``boundary_f1(...)["f1"]``."""
    def make_case(g):
        true = sorted(set(torch.randint(0, 30, (int(torch.randint(1, 6, (1,), generator=g)),),
                                        generator=g).tolist()))
        near = [t + int(torch.randint(-2, 3, (1,), generator=g)) for t in true for _ in range(2)]
        spare = torch.randint(0, 30, (2,), generator=g).tolist()
        keep = torch.rand(len(near) + 2, generator=g) < 0.6
        predicted = sorted({v for v, k in zip(near + spare, keep.tolist()) if k})
        tolerance = int(torch.randint(0, 3, (1,), generator=g))
        return (predicted, true, tolerance), (predicted, true, tolerance,
                                              boundary_f1(predicted, true, tolerance)["f1"])

    def judge(ctx, out):
        predicted, true, tolerance, expected = ctx
        value = _as_float(out)
        if value is None:
            return f"return a number, got {type(out).__name__}"
        if abs(value - expected) <= 1e-9:
            return None
        if abs(value - _loose_f1(predicted, true, tolerance)) <= 1e-9:
            return (f"predicted {predicted}, true {true}, tolerance {tolerance}: a true boundary can be matched "
                    f"only once; two predictions next to it make one hit and one false alarm")
        return (f"predicted {predicted}, true {true}, tolerance {tolerance}: expected F1 {expected:.4f}, got "
                f"{value:.4f}")

    return run_cases("Boundary F1", f1, 15, make_case, judge,
                     "matches mmcourse.alignment.boundary_f1 on {cases} fresh cases")
