"""Checkers for the exercises of Part 5.1, summarization: the coverage score, greedy maximum coverage, and a case
where greedy is not optimal."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from mmcourse.exercises._check import CheckResult, run_cases
from mmcourse.generation.summarization.extractive import best_max_coverage, greedy_max_coverage

__all__ = ["check_coverage", "check_greedy_coverage", "check_greedy_gap"]


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def check_coverage(coverage: Callable) -> CheckResult:
    """Exercise: ``coverage(s, r, w)`` with NumPy 0/1 vectors ``s`` (summary units), ``r`` (storyboard units) and
    non-negative weights ``w`` of one length returns :math:`\\sum_u w_u s_u r_u / \\sum_u w_u r_u`."""
    def make_case(g):
        n = int(torch.randint(6, 13, (1,), generator=g))
        r = (torch.rand(n, generator=g) < 0.6).double()
        r[0] = 1
        s = (torch.rand(n, generator=g) < 0.5).double()
        s[0], s[-1], r[-1] = 1, 1, 0  # the summary always holds one unit the storyboard does not
        w = torch.randint(1, 6, (n,), generator=g).double()
        s_, r_, w_ = (v.numpy() for v in (s, r, w))
        expected = (w_ * s_ * r_).sum() / (w_ * r_).sum()
        wrong = {"unweighted": (s_ * r_).sum() / r_.sum(), "precision": (w_ * s_ * r_).sum() / (w_ * s_).sum(),
                 "outside": (w_ * s_).sum() / (w_ * r_).sum(), "all weights": (w_ * s_ * r_).sum() / w_.sum()}
        return (s_.copy(), r_.copy(), w_.copy()), (expected, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        try:
            value = float(out)
        except (TypeError, ValueError):
            return f"return a number, got {type(out).__name__}"
        if _close(value, expected):
            return None
        hints = {"unweighted": "weight each unit by w (its salience): sum w*s*r over sum w*r",
                 "precision": "divide by the storyboard's weight (sum of w*r), not the summary's: coverage is a "
                              "recall",
                 "outside": "a unit of the summary that the storyboard does not hold earns nothing: multiply by r "
                            "in the numerator",
                 "all weights": "the denominator counts only the storyboard's units: sum of w*r, not of w"}
        for key, hint in hints.items():
            if _close(value, wrong[key]):
                return hint
        return f"expected {expected:.6g}, got {value:.6g}"

    return run_cases("the coverage score", coverage, 10, make_case, judge,
                     "matches the weighted coverage on {cases} fresh cases")


def check_greedy_coverage(greedy: Callable) -> CheckResult:
    """Exercise: ``greedy(x, k, w)`` with a NumPy 0/1 matrix ``x`` (frames × units), ``k`` and weights ``w`` returns
    the ``k`` frames that greedy maximum coverage picks, in the order picked (any tie-break is accepted)."""
    def make_case(g):
        f, u = int(torch.randint(4, 8, (1,), generator=g)), int(torch.randint(6, 13, (1,), generator=g))
        x = (torch.rand(f, u, generator=g) < 0.4).double()
        x[0] = 0
        x[0, : u // 2 + 1] = 1  # one big frame, overlapping the others: total weight and marginal gain disagree
        w = torch.randint(1, 6, (u,), generator=g).double()
        k = int(torch.randint(2, min(4, f) + 1, (1,), generator=g))
        return (x.numpy().copy(), k, w.numpy().copy()), (x.numpy(), k, w.numpy())

    def judge(ctx, out):
        x, k, w = ctx
        try:
            picks = [int(v) for v in np.asarray(out).ravel()]
        except (TypeError, ValueError):
            return f"return a list of {k} frame indices, got {type(out).__name__}"
        if len(picks) != k or not all(0 <= p < len(x) for p in picks):
            return f"return {k} frame indices in 0..{len(x) - 1}, got {picks}"
        if len(set(picks)) < k:
            return f"a frame was picked twice ({picks}): pick only frames not yet chosen"
        covered = np.zeros(x.shape[1])
        for step, p in enumerate(picks):
            gain = (x * (1 - covered) * w).sum(1)
            gain[picks[:step]] = -1
            if gain[p] < gain.max() - 1e-9:
                total = (x * w).sum(1)
                total[picks[:step]] = -1
                if np.isclose(total[p], total.max()):
                    return (f"step {step + 1}: frame {p} has the largest total weight but not the largest gain: "
                            "count only the units not covered yet")
                unweighted = (x * (1 - covered)).sum(1)
                unweighted[picks[:step]] = -1
                if np.isclose(unweighted[p], unweighted.max()):
                    return f"step {step + 1}: weigh each new unit by w, not count the units"
                return f"step {step + 1}: frame {p} gains {gain[p]:.3g}, but another frame gains {gain.max():.3g}"
            covered = np.maximum(covered, x[p])
        return None

    return run_cases("greedy maximum coverage", greedy, 10, make_case, judge,
                     "picks a frame of largest marginal gain at every step on {cases} fresh cases")


def check_greedy_gap(make_case_fn: Callable) -> CheckResult:
    """Exercise: ``make_case_fn()`` returns ``(x, k)``, a 0/1 matrix of at most 8 frames × 12 units and a budget ``k``,
    on which the book's greedy (unit weights, ties to the earliest frame) covers fewer units than the best k frames."""
    def judge(_, out):
        try:
            x, k = out
            x = torch.as_tensor(np.asarray(x), dtype=torch.float32)
        except (TypeError, ValueError):
            return "return a pair (x, k): a 0/1 matrix (frames, units) and an int"
        if x.dim() != 2 or not ((x == 0) | (x == 1)).all() or x.shape[0] > 8 or x.shape[1] > 12:
            return f"x must be a 0/1 matrix of at most 8 frames and 12 units, got shape {tuple(x.shape)}"
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= x.shape[0]:
            return f"k must be an int in 1..{x.shape[0]}, got {k!r}"
        if k == 1:
            return "with k = 1 greedy picks the best single frame: it is always optimal; try k = 2"
        greedy = x[greedy_max_coverage(x, int(k))].amax(0).sum().item()
        best = x[best_max_coverage(x, int(k))].amax(0).sum().item()
        if greedy >= best:
            return (f"here greedy covers {greedy:.0f} units, as many as the best {k} frames: make one frame large "
                    "and overlapping, so that taking it first wastes the budget")
        return None

    return run_cases("a case where greedy is not optimal", make_case_fn, 1, lambda g: ((), None), judge,
                     "greedy covers fewer units than the optimum on your case")
