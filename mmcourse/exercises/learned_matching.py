"""Checkers for the exercises of Part 3.1, learning the matching and the embeddings together: Sinkhorn's plan in the
log domain, the transport score of a scene against a caption, and the rival margin of a similarity matrix."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from mmcourse.alignment.learned_matching import batched_sinkhorn
from mmcourse.alignment.transport import sinkhorn
from mmcourse.exercises._check import CheckResult, compare, run_cases

__all__ = ["check_sinkhorn_plan", "check_transport_score", "check_rival_margin"]


def _as_float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _close(a: float, b: float, tol: float = 1e-6) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(b))


def check_sinkhorn_plan(sinkhorn_plan: Callable) -> CheckResult:
    """Exercise: ``sinkhorn_plan(C, reg, n_iter)`` returns the entropic plan of a NumPy cost ``C`` (n, m) between
    uniform weights after ``n_iter`` log-domain Sinkhorn iterations from ``f = g = 0`` (f-update, then g-update)."""
    def make_case(g):
        n, m = (int(v) for v in torch.randint(2, 6, (2,), generator=g))
        cost = torch.rand(n, m, generator=g, dtype=torch.float64) * 2
        reg = float(0.2 + 0.6 * torch.rand(1, generator=g))
        expected = batched_sinkhorn(cost, reg=reg, n_iter=200)
        gibbs = torch.exp(-cost / reg)
        wrong = {"the kernel is exp(−C/ε): with exp(+C/ε) the plan moves mass where it is most expensive":
                 batched_sinkhorn(-cost, reg=reg, n_iter=200),
                 "divide the cost by ε: the plan of ε = 1 is not the plan of this ε":
                 batched_sinkhorn(cost, reg=1.0, n_iter=200),
                 "the rows must sum to 1/n and the columns to 1/m (the Sinkhorn updates), not the whole kernel to 1":
                 gibbs / gibbs.sum()}
        return (cost.numpy().copy(), reg, 200), (expected, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return compare(expected, out, wrong, atol=1e-7, rtol=1e-5)

    return run_cases("Sinkhorn's plan", sinkhorn_plan, 8, make_case, judge,
                     "matches mmcourse.alignment.batched_sinkhorn on {cases} fresh costs")


def check_transport_score(transport_score: Callable) -> CheckResult:
    """Exercise: ``transport_score(S, reg)`` returns ``Σ_ti P_ti S_ti`` for a NumPy similarity matrix ``S``
    (phrases × regions), P the entropic plan (:func:`mmcourse.alignment.sinkhorn`, ε = ``reg``) of the cost
    ``1 − S`` between uniform weights."""
    def make_case(g):
        t, k = (int(v) for v in torch.randint(2, 6, (2,), generator=g))
        S = (2 * torch.rand(t, k, generator=g, dtype=torch.float64) - 1).numpy()
        reg = float(0.05 + 0.25 * torch.rand(1, generator=g))
        a, b = np.full(t, 1 / t), np.full(k, 1 / k)
        plan = sinkhorn(a, b, 1 - S, reg)
        wrong = {"max": S.max(1).mean(), "cost S": (sinkhorn(a, b, S, reg) * S).sum(), "rows": t * (plan * S).sum(),
                 "mean": S.mean(), "cost": (plan * (1 - S)).sum()}
        return (S.copy(), reg), ((plan * S).sum(), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        value = _as_float(out)
        if value is None:
            return f"return a number, got {type(out).__name__}"
        if _close(value, expected, 1e-5):
            return None
        hints = {"max": "that is the two-stage score (each phrase's best region): weigh S by the transport plan",
                 "cost S": "the cost is 1 − S (high similarity, low cost); with cost S the plan seeks the worst pairs",
                 "rows": "use the plan itself (it sums to 1), not the plan rescaled so that each row sums to 1",
                 "mean": "that is the independent coupling (ε → ∞): compute the plan with the given reg",
                 "cost": "return the plan-weighted similarity Σ P S, not the transport cost Σ P (1 − S)"}
        for key, hint in hints.items():
            if _close(value, wrong[key], 1e-5):
                return hint
        return f"expected {expected:.6g}, got {value:.6g}"

    return run_cases("the transport score", transport_score, 8, make_case, judge,
                     "matches Σ P·S with mmcourse.alignment.sinkhorn's plan on {cases} fresh matrices")


def check_rival_margin(rival_margin: Callable) -> CheckResult:
    """Exercise: ``rival_margin(S)`` returns, for a square NumPy similarity matrix ``S`` (phrases × regions, phrase
    t names region t), the mean over phrases of ``S[t, t] − max_{i ≠ t} S[t, i]``."""
    def make_case(g):
        n = int(torch.randint(2, 6, (1,), generator=g))
        S = (2 * torch.rand(n, n, generator=g, dtype=torch.float64) - 1).numpy()
        own = np.diag(S)
        rivals = np.where(np.eye(n, dtype=bool), -np.inf, S)
        wrong = {"diagonal": (own - S.max(1)).mean(), "transposed": (own - rivals.max(0)).mean(),
                 "sum": (own - rivals.max(1)).sum(), "mean rival": (own - (S.sum(1) - own) / (n - 1)).mean()}
        return (S.copy(),), ((own - rivals.max(1)).mean(), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        value = _as_float(out)
        if value is None:
            return f"return a number, got {type(out).__name__}"
        if _close(value, expected):
            return None
        hints = {"diagonal": "leave the phrase's own region out of the rivals (i ≠ t): otherwise the margin is ≤ 0",
                 "transposed": "a phrase's rivals are the other regions in its *row* S[t, :], not its column",
                 "sum": "average over the phrases rather than sum, so scenes of any size compare",
                 "mean rival": "the rival is the *best* other region (a max), not the average of the others"}
        for key, hint in hints.items():
            if _close(value, wrong[key]):
                return hint
        return f"expected {expected:.6g}, got {value:.6g}"

    return run_cases("the rival margin", rival_margin, 10, make_case, judge,
                     "matches the margin on {cases} fresh matrices")
