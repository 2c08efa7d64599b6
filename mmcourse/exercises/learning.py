"""Checkers for the exercises of Part 7.3 (the learning process)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from mmcourse.exercises._check import CheckResult, run_cases
from mmcourse.representation.fusion import make_fusion, parameter_count

__all__ = ["check_best_epoch", "check_fusion_parameters", "check_pareto"]


def _ints(generator: torch.Generator, low: int, high: int, count: int) -> list[int]:
    return [int(v) for v in torch.randint(low, high, (count,), generator=generator)]


def check_best_epoch(best_epoch_and_gap: Callable) -> CheckResult:
    """Exercise: ``best_epoch_and_gap(train_loss, val_loss)`` returns ``(epoch, gap)``: the first epoch (1-based)
    with the lowest validation loss, and the generalisation gap ``val_loss − train_loss`` at that epoch.

    The losses are NumPy arrays of equal length, one value per epoch; some cases have ties at the minimum.
    """
    def make_case(g):
        epochs = _ints(g, 6, 30, 1)[0]
        t = np.arange(1, epochs + 1, dtype=float)
        train = 1.2 * np.exp(-t / _ints(g, 2, 8, 1)[0]) + 0.02
        turn = _ints(g, 2, epochs - 1, 1)[0]
        wiggle = 0.01 * torch.rand(epochs, generator=g, dtype=torch.float64).numpy()
        val = train + 0.1 + 0.02 * np.maximum(t - turn, 0) ** 1.5 + wiggle
        val = np.round(val, 2)                                   # rounding makes ties at the minimum likely
        best = int(np.argmin(val))                               # the first minimum
        expected = (best + 1, val[best] - train[best])
        mistakes = {
            "epochs are 1-based: the first epoch is epoch 1": (best, val[best] - train[best]),
            "the gap is val_loss − train_loss (positive when the model overfits), not train − val":
                (best + 1, train[best] - val[best]),
            "take the gap at the best epoch, not at the last": (best + 1, val[-1] - train[-1]),
            "the best epoch is where the VALIDATION loss is lowest, not the training loss":
                (int(np.argmin(train)) + 1, val[np.argmin(train)] - train[np.argmin(train)]),
            "with ties, take the first epoch that reaches the minimum (early stopping keeps the earliest)":
                (int(np.flatnonzero(val == val.min())[-1]) + 1,
                 (val - train)[np.flatnonzero(val == val.min())[-1]]),
        }
        return (train.copy(), val.copy()), (expected, mistakes)

    def judge(ctx, out):
        expected, mistakes = ctx
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            return "return a pair (epoch, gap)"
        try:
            epoch, gap = int(out[0]), float(out[1])
        except (TypeError, ValueError):
            return f"epoch must be an integer and gap a number, got {out!r}"
        if epoch == expected[0] and np.isclose(gap, expected[1], atol=1e-9):
            return None
        for hint, (e, gp) in mistakes.items():
            if epoch == e and np.isclose(gap, gp, atol=1e-9) and (e, gp) != expected:
                return hint
        return f"expected epoch {expected[0]} and gap {expected[1]:.4f}, got {epoch} and {gap:.4f}"

    return run_cases("best epoch and generalisation gap", best_epoch_and_gap, 10, make_case, judge,
                     "right on {cases} fresh learning curves")


def check_fusion_parameters(fusion_parameters: Callable) -> CheckResult:
    """Exercise: ``fusion_parameters(name, d1, d2, o, rank)`` returns the number of parameters of the fusion
    ``name`` (``"additive"``, ``"tensor"`` or ``"low_rank"``) of two modalities of sizes ``d1``, ``d2`` into
    ``o`` outputs (``rank`` is used by low-rank fusion only), as :func:`~mmcourse.representation.make_fusion` builds it.
    """
    def make_case(g):
        name = ("additive", "tensor", "low_rank")[_ints(g, 0, 3, 1)[0]]
        d1, d2, o, rank = _ints(g, 1, 20, 3) + _ints(g, 1, 6, 1)
        fusion = make_fusion(name, (d1, d2), o, **({"rank": rank} if name == "low_rank" else {}))
        mistakes = {
            "tensor": {o * d1 * d2 + o: "tensor fusion multiplies [1; h₁] ⊗ [1; h₂]: each h_m gets a 1 appended",
                       o * (d1 + 1) * (d2 + 1): "count the bias b of the output as well"},
            "low_rank": {rank * o * (d1 + d2) + o: "each factor acts on [1; h_m], with the 1 appended",
                         rank * o * (d1 + d2 + 2): "count the bias b of the output as well",
                         o * (d1 + 1) * (d2 + 1) + o: "that is tensor fusion's count; low-rank fusion has R "
                                                      "factors per modality"},
            "additive": {o * (d1 + d2): "count the bias b as well",
                         o * (d1 + d2 + 2): "additive fusion has ONE bias, not one per modality"},
        }[name]
        return (name, d1, d2, o, rank), (parameter_count(fusion), mistakes, name)

    def judge(ctx, out):
        expected, mistakes, name = ctx
        if isinstance(out, bool) or not isinstance(out, (int, np.integer)):
            return f"return an integer, got {type(out).__name__}"
        if out == expected:
            return None
        return f"{name}: " + mistakes.get(int(out), f"expected {expected} parameters, got {out}")

    return run_cases("parameters of a fusion", fusion_parameters, 12, make_case, judge,
                     "right for additive, tensor and low-rank fusion on {cases} fresh sizes")


def check_pareto(pareto: Callable) -> CheckResult:
    """Exercise: ``pareto(accuracy, cost)`` returns a boolean NumPy array that is True for the points on the Pareto
    front: no other point has accuracy ≥ and cost ≤ with one of the two strictly better.
    """
    def reference(acc, cost, *, strict_both=False, maximize_cost=False):
        c = -cost if maximize_cost else cost
        front = []
        for i in range(len(acc)):
            ge, le = acc >= acc[i], c <= c[i]
            if strict_both:
                dominated = ((acc > acc[i]) & (c < c[i])).any()
            else:
                dominated = (ge & le & ((acc > acc[i]) | (c < c[i]))).any()
            front.append(not dominated)
        return np.array(front)

    def make_case(g):
        n = _ints(g, 4, 12, 1)[0]
        uniform = torch.rand(2, n, generator=g, dtype=torch.float64).numpy()
        acc = np.round(0.5 + 0.5 * uniform[0], 1)                                # few values: ties happen
        cost = np.round(10 * uniform[1])
        return (acc.copy(), cost.copy()), (acc, cost)

    def judge(ctx, out):
        acc, cost = ctx
        expected = reference(acc, cost)
        out = np.asarray(out)
        if out.shape != expected.shape or out.dtype != bool:
            return f"return a boolean array of shape {expected.shape} (one flag per point), got " \
                   f"{out.dtype} of shape {out.shape}"
        if (out == expected).all():
            return None
        if (out == reference(acc, cost, maximize_cost=True)).all():
            return "cost is to be minimised: a cheaper point is better"
        if (out == reference(acc, cost, strict_both=True)).all():
            return ("a point is dominated by one that is at least as good on both axes and strictly better on ONE; "
                    "you required strictly better on both")
        wrong = np.flatnonzero(out != expected)
        return f"the flags of points {wrong.tolist()} are wrong (accuracy {acc[wrong].tolist()}, cost " \
               f"{cost[wrong].tolist()})"

    return run_cases("Pareto front", pareto, 10, make_case, judge, "right on {cases} fresh sets of points")
