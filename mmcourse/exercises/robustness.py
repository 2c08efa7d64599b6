"""Checkers for the exercises of Part 2.3 (robustness): MultiBench's two robustness scores and a spectrogram mask."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from mmcourse.exercises._check import CheckResult, run_cases
from mmcourse.representation.robustness.metrics import effective_robustness, relative_robustness

__all__ = ["check_relative_robustness", "check_effective_robustness", "check_time_mask"]


def _curve(g: torch.Generator, size: int) -> np.ndarray:
    """A falling accuracy curve: a clean accuracy in [0.6, 1) and random drops."""
    start = 0.6 + 0.4 * torch.rand(1, generator=g).item()
    drops = 0.1 * torch.rand(size - 1, generator=g, dtype=torch.float64).numpy()
    return np.round(np.clip(start - np.concatenate([[0.0], np.cumsum(drops)]), 0.0, 1.0), 4)


def _number(output) -> float | str:
    try:
        value = float(output)
    except (TypeError, ValueError):
        return f"return a number, got {type(output).__name__}"
    return value if np.isfinite(value) else f"return a finite number, got {value}"


def _judge_number(expected: float, alternatives: dict[str, float], output) -> str | None:
    value = _number(output)
    if isinstance(value, str):
        return value
    if abs(value - expected) <= 1e-6 * max(1.0, abs(expected)):
        return None
    for hint, wrong in alternatives.items():
        if abs(value - wrong) <= 1e-6 * max(1.0, abs(wrong)):
            return hint
    return f"expected {expected:.6g}, got {value:.6g}"


def check_relative_robustness(relative: Callable) -> CheckResult:
    """Exercise: ``relative(accuracies, levels)`` returns the trapezoidal area under the accuracy-vs-noise curve,
    :math:`\\sum_i (a_i + a_{i+1}) (\\ell_{i+1} - \\ell_i) / 2`, for increasing (not always evenly spaced) levels."""
    def make_case(g):
        size = int(torch.randint(4, 12, (1,), generator=g))
        acc = _curve(g, size)
        uneven = bool(torch.rand(1, generator=g) < 0.7)
        inner = np.sort(torch.rand(size - 2, generator=g, dtype=torch.float64).numpy()) if uneven else \
            np.linspace(0, 1, size)[1:-1]
        levels = np.round(np.concatenate([[0.0], inner, [1.0]]), 4)
        steps = np.diff(levels)
        return (acc.copy(), levels.copy()), (relative_robustness(acc, levels), {
            "that is the mean accuracy: weigh each interval by its width (the levels are not evenly spaced here)":
                float(acc.mean()),
            "use the trapezoidal rule, (a_i + a_{i+1}) / 2 per interval, not the accuracy at the interval's left end":
                float(np.sum(acc[:-1] * steps)),
            "use the trapezoidal rule, (a_i + a_{i+1}) / 2 per interval, not the accuracy at its right end":
                float(np.sum(acc[1:] * steps)),
            "multiply each interval's mean accuracy by its width ℓ_{i+1} − ℓ_i":
                float(np.sum(acc[1:] + acc[:-1]) / 2),
            "MultiBench's fixed step of 0.1 only fits 11 evenly spaced levels; use the widths ℓ_{i+1} − ℓ_i":
                float(np.sum((acc[1:] + acc[:-1]) * 0.1 / 2)),
        })

    return run_cases("relative robustness", relative, 8, make_case, lambda ctx, out: _judge_number(*ctx, out),
                     "matches the area under the curve on {cases} fresh curves")


def check_effective_robustness(effective: Callable) -> CheckResult:
    """Exercise: ``effective(accuracies, baseline)`` returns MultiBench's effective robustness,
    :math:`\\sum_i a_i - (b_i - b_0 + a_0)`: the model's curve minus the baseline's curve shifted to start at the
    model's clean accuracy, summed over the levels."""
    def make_case(g):
        size = int(torch.randint(4, 12, (1,), generator=g))
        acc, base = _curve(g, size), _curve(g, size)
        return (acc.copy(), base.copy()), (effective_robustness(acc, base), {
            "shift the baseline to the model's clean accuracy first (b_i − b_0 + a_0): effective robustness does "
            "not reward a higher clean accuracy": float(np.sum(acc - base)),
            "the sign is reversed: a model that loses less accuracy than the baseline scores positive":
                -effective_robustness(acc, base),
            "sum over the levels as MultiBench does, do not average": effective_robustness(acc, base) / size,
        })

    return run_cases("effective robustness", effective, 8, make_case, lambda ctx, out: _judge_number(*ctx, out),
                     "matches MultiBench's effective robustness on {cases} fresh pairs of curves")


def check_time_mask(mask: Callable) -> CheckResult:
    """Exercise: ``mask(x, level, generator)`` sets a block of ``round(level * T)`` consecutive time frames of each
    spectrogram in ``x`` (shape ``(n, T, F)``) to 0, starting at a random frame drawn from ``generator``, and leaves
    ``x`` itself unchanged."""
    def make_case(g):
        n, frames, bins = 40, int(torch.randint(6, 16, (1,), generator=g)), int(torch.randint(4, 10, (1,),
                                                                                              generator=g))
        x = 0.5 + torch.rand(n, frames, bins, generator=g)
        level = float(torch.randint(1, 10, (1,), generator=g)) / 10
        seed = int(torch.randint(1000, (1,), generator=g))
        given = x.clone()
        return (given, level, torch.Generator().manual_seed(seed)), (x, given, level)

    def judge(ctx, out):
        x, given, level = ctx
        if not isinstance(out, Tensor):
            return f"return a torch.Tensor, got {type(out).__name__}"
        if out.shape != x.shape:
            return f"the result must keep the shape {tuple(x.shape)}, got {tuple(out.shape)}"
        n, frames, bins = x.shape
        block = round(level * frames)
        zero = out == 0
        frame_hidden = zero.all(2)
        if not torch.equal(given, x):
            return "x was changed in place: build a new tensor (e.g. x.clone() or masked_fill) and return it"
        if zero.all(1).any():
            return "whole frequency bins were hidden: time is axis 1 of (n, T, F), frequency axis 2"
        if (zero.any(2) & ~frame_hidden).any():
            return "hide whole time frames (every frequency bin of a frame), not single entries"
        if ((out != x) & ~zero).any():
            return "frames outside the masked block must keep their values"
        counts = frame_hidden.sum(1)
        if not (counts == block).all():
            return (f"with level {level} and T = {frames} each example must lose round(level · T) = {block} frames, "
                    f"got {sorted(set(counts.tolist()))}")
        first = frame_hidden.float().argmax(1)
        if any(not frame_hidden[i, first[i]:first[i] + block].all() for i in range(n) if block):
            return "the hidden frames must be consecutive (one block per example)"
        if block < frames and len(set(first.tolist())) == 1:
            return "every example got its block at the same place: draw a start per example"
        return None

    return run_cases("time masking", mask, 6, make_case, judge,
                     "hides one random block of the right length per example on {cases} fresh batches")
