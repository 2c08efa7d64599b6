"""Checkers for the exercises of Part 3 (alignment)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from mmcourse.alignment import ctc_collapse, dtw, sinkhorn, squared_distances
from mmcourse.exercises._check import CheckResult, run_cases

__all__ = ["check_dtw_cost", "check_sinkhorn", "check_ctc_collapse"]


def _as_float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def check_dtw_cost(dtw_cost: Callable) -> CheckResult:
    """Exercise: ``dtw_cost(x, y)`` returns the DTW cost of two NumPy sequences ``(n, d)`` and ``(m, d)`` with the
    squared Euclidean local cost, as :func:`mmcourse.alignment.dtw` defines it."""
    def make_case(g):
        n, m, d = (int(v) for v in torch.randint(1, 8, (3,), generator=g))
        x = torch.randn(n, d, generator=g, dtype=torch.float64).numpy()
        y = torch.randn(m, d, generator=g, dtype=torch.float64).numpy()
        delta = squared_distances(x, y)
        return (x, y), (dtw(x, y)[0], float(np.sum(np.diag(delta))) if n == m else None,
                        float(delta.sum()))

    def judge(ctx, out):
        expected, diagonal, total = ctx
        value = _as_float(out)
        if value is None:
            return f"return a number, got {type(out).__name__}"
        if abs(value - expected) <= 1e-8 * max(1.0, abs(expected)):
            return None
        if diagonal is not None and abs(value - diagonal) <= 1e-8 * max(1.0, diagonal):
            return "that is the cost of the diagonal path only: take the minimum over the three predecessors"
        if abs(value - total) <= 1e-8 * max(1.0, total):
            return "that is the sum of the whole cost matrix: add only the cells on the best path"
        return f"expected {expected:.6g}, got {value:.6g} (hint: R[0, 0] = δ(0, 0), the borders are +∞)"

    return run_cases("DTW by dynamic programming", dtw_cost, 10, make_case, judge,
                     "matches mmcourse.alignment.dtw on {cases} fresh cases")


def check_sinkhorn(sinkhorn_plan: Callable) -> CheckResult:
    """Exercise: ``sinkhorn_plan(a, b, cost, reg)`` returns the entropic transport plan (NumPy ``(n, m)``) that
    :func:`mmcourse.alignment.sinkhorn` computes, to 1e-6."""
    def make_case(g):
        n, m = (int(v) for v in torch.randint(2, 7, (2,), generator=g))
        a = torch.rand(n, generator=g, dtype=torch.float64) + 0.1
        b = torch.rand(m, generator=g, dtype=torch.float64) + 0.1
        a, b = (a / a.sum()).numpy(), (b / b.sum()).numpy()
        cost = torch.rand(n, m, generator=g, dtype=torch.float64).numpy()
        reg = float(torch.empty(1).uniform_(0.1, 1.0, generator=g))
        return (a, b, cost, reg), (a, b, sinkhorn(a, b, cost, reg))

    def judge(ctx, out):
        a, b, expected = ctx
        plan = np.asarray(out, dtype=float) if not isinstance(out, torch.Tensor) else out.detach().double().numpy()
        if plan.shape != expected.shape:
            return f"the plan must have shape {expected.shape}, got {plan.shape}"
        if not np.allclose(plan.sum(1), a, atol=1e-6) or not np.allclose(plan.sum(0), b, atol=1e-6):
            return "the plan's row and column sums must be a and b: iterate the two scalings until both hold"
        if not np.allclose(plan, expected, atol=1e-6):
            return ("the marginals hold but the plan is not the entropic one: start from K = exp(-cost / reg) "
                    "and only rescale its rows and columns")
        return None

    return run_cases("Sinkhorn's scalings", sinkhorn_plan, 6, make_case, judge,
                     "matches mmcourse.alignment.sinkhorn on {cases} fresh cases")


def check_ctc_collapse(collapse: Callable) -> CheckResult:
    """Exercise: ``collapse(labels)`` maps a frame labelling (list of ints, 0 the blank) to its CTC output: merge
    adjacent repeats, then drop the blanks."""
    def make_case(g):
        length = int(torch.randint(0, 12, (1,), generator=g))
        labels = torch.randint(0, 4, (length,), generator=g).tolist()
        return (list(labels),), list(ctc_collapse(labels))

    def judge(expected, out):
        try:
            got = [int(v) for v in out]
        except (TypeError, ValueError):
            return f"return a list of ints, got {type(out).__name__}"
        if got == expected:
            return None
        return (f"expected {expected}, got {got}: merge repeats first, then drop blanks "
                f"(so [1, 0, 1] keeps both 1s, and [1, 1] becomes [1])")

    return run_cases("CTC's collapse", collapse, 12, make_case, judge, "agrees on {cases} fresh labellings")
