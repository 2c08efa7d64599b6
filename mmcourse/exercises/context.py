"""Checkers for the exercises of Part 1, *Interactions in context*: EMAP's projection from a grid of logits, the
synergy within a context, and the information a subset of modalities carries about the label."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from mmcourse.exercises._check import CheckResult, compare, run_cases
from mmcourse.quantification import joint_table, pid

__all__ = ["check_emap_projection", "check_synergy_in_context", "check_subset_information"]


def _as_float(value) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _close(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(b))


def _judge_number(expected: float, wrong: dict[str, float], out, tol: float) -> str | None:
    value = _as_float(out)
    if value is None:
        return f"return a number, got {type(out).__name__}"
    if _close(value, expected, tol):
        return None
    for hint, alternative in wrong.items():
        if _close(value, alternative, tol):
            return hint
    return f"expected {expected:.6g}, got {value:.6g}"


def check_emap_projection(emap_projection: Callable) -> CheckResult:
    """Exercise: ``emap_projection(F)`` takes the logits ``F[i, j] = f(x1_i, x2_j)`` of every cross pair, a tensor
    ``(N, N, C)``, and returns the EMAP projection on the pairs ``(x1_i, x2_i)``, ``(N, C)``:
    ``F[i, :].mean + F[:, i].mean - F.mean`` over pairs."""
    def make_case(g):
        n, c = int(torch.randint(3, 8, (1,), generator=g)), int(torch.randint(2, 4, (1,), generator=g))
        F = torch.randn(n, n, c, generator=g, dtype=torch.float64) * 2 + torch.randn(c, generator=g,
                                                                                   dtype=torch.float64) * 3
        rows, cols, total = F.mean(1), F.mean(0), F.mean((0, 1))
        wrong = {"subtract the mean over all N² pairs once: the two partial means both contain it": rows + cols,
                 "add both partial means: over the second modality's values (row i, F[i, :]) and over the "
                 "first's (column i, F[:, i])": rows - total,
                 "the projection averages over the other modality; F[i, i] is the model itself, not its projection":
                     torch.diagonal(F).T.clone(),
                 "the grand mean is subtracted, not added": rows + cols + total}
        return (F.clone(),), (rows + cols - total, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return compare(expected, out, wrong, atol=1e-6, rtol=1e-6)

    return run_cases("the EMAP projection", emap_projection, 8, make_case, judge,
                     "matches EMAP's projection on {cases} fresh grids of logits")


def _pid_parts(c1, c2, y, context, shape) -> tuple[float, float, float]:
    weighted = unweighted = 0.0
    values = np.unique(context)
    for k in values:
        rows = context == k
        s = pid(joint_table(c1[rows], c2[rows], y[rows], shape=shape)).synergy
        weighted += rows.mean() * s
        unweighted += s / len(values)
    return weighted, unweighted, pid(joint_table(c1, c2, y, shape=shape)).synergy


def check_synergy_in_context(synergy_in_context: Callable) -> CheckResult:
    """Exercise: ``synergy_in_context(c1, c2, y, context)`` (NumPy integer arrays ``(n,)``) returns the synergy of
    ``c1`` and ``c2`` about ``y`` within each context value, weighted by the context's frequency, in bits."""
    def make_case(g):
        n = int(torch.randint(40, 120, (1,), generator=g))
        c1, c2 = (torch.randint(0, 2, (n,), generator=g).numpy() for _ in range(2))
        # unequal contexts (about 1/4 and 3/4), so that weighting by p(k) matters
        context = (torch.rand(n, generator=g) < 0.75).long().numpy()
        noise = (torch.rand(n, generator=g) < 0.1).long().numpy()
        y = np.where(context == 1, c1 ^ c2, c1 & c2) ^ noise
        weighted, unweighted, plain = _pid_parts(c1, c2, y, context, (2, 2, 2))
        wrong = {"weight each context's synergy by how often the context occurs, p(k), not equally": unweighted,
                 "compute the decomposition within each context value (rows with context == k), not on all rows":
                     plain}
        return (c1, c2, y, context), (weighted, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return _judge_number(expected, wrong, out, 1e-4)

    return run_cases("synergy in context", synergy_in_context, 5, make_case, judge,
                     "matches the weighted synergy on {cases} fresh data sets")


def _mi_bits(x: np.ndarray, y: np.ndarray) -> float:
    _, ids = np.unique(x, axis=0, return_inverse=True)
    table = np.zeros((int(ids.max()) + 1, int(y.max()) + 1))
    np.add.at(table, (ids.ravel(), y), 1.0)
    p = table / table.sum()
    outer = p.sum(1, keepdims=True) * p.sum(0, keepdims=True)
    nz = p > 0
    return float((p[nz] * np.log2(p[nz] / outer[nz])).sum())


def check_subset_information(subset_information: Callable) -> CheckResult:
    """Exercise: ``subset_information(latent, y, columns)`` returns the plug-in mutual information, in bits, between
    the joint value of the chosen columns of ``latent`` (NumPy ``(n, k)`` integers) and the labels ``y``."""
    def make_case(g):
        n, k = int(torch.randint(50, 200, (1,), generator=g)), 3
        latent = torch.randint(0, 2, (n, k), generator=g).numpy()
        y = (latent[:, 0] & latent[:, 1]) ^ latent[:, 2] ^ (torch.rand(n, generator=g) < 0.2).long().numpy()
        columns = (0, 1) if torch.rand(1, generator=g).item() < 0.5 else (1, 2)
        expected = _mi_bits(latent[:, list(columns)], y)
        wrong = {"use logarithms in base 2: the answer is in bits, not nats": expected * np.log(2),
                 "the information of the columns *together* (their joint value) is not the sum of each column's":
                     sum(_mi_bits(latent[:, [c]], y) for c in columns)}
        return (latent.copy(), y.copy(), columns), (expected, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return _judge_number(expected, wrong, out, 1e-6)

    return run_cases("the information of a subset", subset_information, 6, make_case, judge,
                     "matches the plug-in mutual information on {cases} fresh data sets")
