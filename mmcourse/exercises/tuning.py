"""Checkers for the exercises of Part 6.1, tuning a frozen model: MAG's scaling factor, the parameter count of a
small network, and the prefixed input of a frozen reader."""
from __future__ import annotations

from collections.abc import Callable

import torch

from mmcourse.exercises._check import CheckResult, as_float64, compare, run_cases

__all__ = ["check_shift_scale", "check_mlp_parameters", "check_prefix_inputs"]


def check_shift_scale(shift_scale: Callable) -> CheckResult:
    """Exercise: ``shift_scale(z, h, beta)`` returns MAG's factor ``alpha = min(beta ||z|| / ||h||, 1)`` for each
    row of ``z`` and ``h`` (torch ``(n, d)``), as a tensor ``(n,)`` or ``(n, 1)``; a row with ``h = 0`` (even with
    ``z = 0``) must give a finite value (the displacement is zero anyway, so any finite alpha is right there)."""
    def make_case(g):
        n, d = (int(v) for v in torch.randint(4, 8, (2,), generator=g))
        z = torch.randn(n, d, generator=g, dtype=torch.float64)
        h = torch.randn(n, d, generator=g, dtype=torch.float64) * torch.logspace(-2, 2, n, dtype=torch.float64)[:, None]
        h[:2] = 0.0
        z[1] = 0.0
        beta = float(torch.rand(1, generator=g)) * 2 + 0.1
        ratio = beta * z.norm(dim=1) / h.norm(dim=1)
        expected = torch.clamp(ratio, max=1.0)
        wrong = {"no_min": ratio, "upside_down": torch.clamp(h.norm(dim=1) / (beta * z.norm(dim=1)), max=1.0),
                 "no_beta": torch.clamp(z.norm(dim=1) / h.norm(dim=1), max=1.0)}
        return (z.clone(), h.clone(), beta), (expected, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        got = as_float64(out)
        if got is None:
            return f"return a torch.Tensor, got {type(out).__name__}"
        got = got.reshape(-1)
        if got.shape != expected.shape:
            return f"return one alpha per row ({expected.shape[0]} values), got {tuple(out.shape)}"
        rest = slice(2, None)  # rows 0 and 1 have h = 0: any finite alpha is right there
        if torch.allclose(got[rest], expected[rest], rtol=1e-5, atol=1e-8):
            if not torch.isfinite(got[:2]).all():
                return "a row with h = 0 gives inf or nan: guard the division (divide by max(||h||, eps))"
            return None
        hints = {"no_min": "alpha may never exceed 1: take the min with 1, so that a small h is not blown up",
                 "upside_down": "the ratio is upside down: alpha = beta * ||z|| / ||h||",
                 "no_beta": "multiply by beta: the bound is beta * ||z||"}
        for key, hint in hints.items():
            if torch.allclose(got[rest], wrong[key][rest], rtol=1e-5, atol=1e-8):
                return hint
        return f"values differ from the expected ones by up to {(got[rest] - expected[rest]).abs().max():.3g}"

    return run_cases("MAG's scaling factor", shift_scale, 10, make_case, judge,
                     "alpha = min(beta ||z|| / ||h||, 1) on {cases} fresh cases, h = 0 guarded")


def _count(sizes: list[int]) -> int:
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def check_mlp_parameters(parameter_count: Callable) -> CheckResult:
    """Exercise: ``parameter_count(sizes)`` returns the number of parameters of a multilayer perceptron whose layer
    widths are ``sizes`` (input first, output last: ``[192, 64, 32]`` is two ``nn.Linear`` layers), as an int."""
    def make_case(g):
        depth = int(torch.randint(2, 6, (1,), generator=g))
        sizes = [int(v) for v in torch.randint(1, 300, (depth,), generator=g)]
        pairs = list(zip(sizes[:-1], sizes[1:]))
        wrong = {"no_bias": sum(a * b for a, b in pairs), "input_bias": sum(a * b + a for a, b in pairs),
                 "sum": sum(a + b for a, b in pairs)}
        return (list(sizes),), (_count(sizes), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        if isinstance(out, bool) or not isinstance(out, int):
            try:
                out = int(out) if float(out) == int(out) else out
            except (TypeError, ValueError):
                return f"return an int, got {type(out).__name__}"
        if out == expected:
            return None
        hints = {"no_bias": "count the biases too: a layer from a to b has a * b weights and b biases",
                 "input_bias": "a layer's biases are one per output unit (b), not per input unit",
                 "sum": "a layer connects every input to every output: a * b weights, not a + b"}
        for key, hint in hints.items():
            if out == wrong[key]:
                return hint
        return f"expected {expected}, got {out}"

    return run_cases("parameters of a small network", parameter_count, 10, make_case, judge,
                     "matches sum(p.numel() for p in net.parameters()) on {cases} fresh networks")


def check_prefix_inputs(prefix_inputs: Callable) -> CheckResult:
    """Exercise: ``prefix_inputs(prefix, words, word_ids)`` returns ``(context, keep)``: the ``k`` prefix vectors
    ``(n, k, d)`` followed by the embedded words ``(n, T, d)``, and the 0/1 mask ``(n, k + T)`` that is 1 on the
    prefix and on every word whose id is not 0 (padding)."""
    def make_case(g):
        n, k, t, d = (int(v) for v in torch.randint(2, 6, (4,), generator=g))
        prefix = torch.randn(n, k, d, generator=g)
        ids = torch.randint(1, 20, (n, t), generator=g)
        ids[0, -1] = 0
        ids[1, 1:] = 0
        words = torch.randn(n, t, d, generator=g) * (ids != 0).unsqueeze(-1)
        context = torch.cat([prefix, words], 1)
        keep = torch.cat([torch.ones(n, k), (ids != 0).float()], 1)
        wrong = {"after": torch.cat([words, prefix], 1), "mask_prefix": torch.cat([torch.zeros(n, k), keep[:, k:]], 1),
                 "mask_all": torch.ones(n, k + t), "mask_words_only": (ids != 0).float()}
        return (prefix, words, ids), (context.double(), keep.double(), {k: v.double() for k, v in wrong.items()})

    def judge(ctx, out):
        context, keep, wrong = ctx
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            return "return a pair (context, keep)"
        got_context, got_keep = out
        hint = compare(context, got_context, {"put the prefix first, then the words": wrong["after"]},
                       atol=1e-6, rtol=1e-6)
        if hint is not None:
            return f"context: {hint}"
        got_keep = as_float64(got_keep)
        if got_keep is not None and got_keep.shape == wrong["mask_words_only"].shape != keep.shape:
            return "keep: the mask covers the prefix and the words (k + T positions), not the words alone"
        hint = compare(keep, got_keep, {"the prefix is always read: its mask is 1, not 0": wrong["mask_prefix"],
                                        "padding (id 0) must get 0 in the mask": wrong["mask_all"]},
                       atol=1e-6, rtol=1e-6)
        return None if hint is None else f"keep: {hint}"

    return run_cases("the prefixed input", prefix_inputs, 10, make_case, judge,
                     "context and mask right on {cases} fresh cases")
