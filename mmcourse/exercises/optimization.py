"""Checkers for the exercises of Part 2.3 (optimization: a dominating modality and its remedies)."""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch import Tensor

from mmcourse.exercises._check import CheckResult, run_cases
from mmcourse.representation.optimization import branch_scores, gradient_blend_weights, ogm_coefficients

__all__ = ["check_branch_scores", "check_ogm_coefficients", "check_blend_weights", "check_keep_mask"]


def _compare(expected, output, alternatives: Mapping[str, object] | None = None, atol: float = 1e-5) -> str | None:
    expected = torch.as_tensor(np.asarray(expected, dtype=float))
    try:
        got = torch.as_tensor(np.asarray(output.detach().cpu() if isinstance(output, Tensor) else output,
                                         dtype=float))
    except (TypeError, ValueError):
        return f"return a tensor or an array of numbers, got {type(output).__name__}"
    if got.shape != expected.shape:
        return f"the result must have shape {tuple(expected.shape)}, got {tuple(got.shape)}"
    if torch.allclose(got, expected, atol=atol, rtol=1e-4):
        return None
    for hint, wrong in (alternatives or {}).items():
        wrong = torch.as_tensor(np.asarray(wrong, dtype=float))
        if wrong.shape == expected.shape and torch.allclose(got, wrong, atol=atol, rtol=1e-4):
            return hint
    return f"values differ from the expected ones by up to {(got - expected).abs().max():.3g}"


def check_branch_scores(scores: Callable) -> CheckResult:
    """Exercise: ``scores(logits, labels)`` returns ``s_u = Σ_i softmax(g_u(x_i))[y_i]`` for every branch.

    ``logits`` is a list of ``(batch, classes)`` tensors, one per branch; ``labels`` is ``(batch,)``; the result has
    shape ``(branches,)``.
    """
    def make_case(g):
        batch, classes, branches = (int(v) for v in torch.randint(2, 7, (3,), generator=g))
        logits = [3 * torch.randn(batch, classes, generator=g, dtype=torch.float64) for _ in range(branches)]
        labels = torch.randint(classes, (batch,), generator=g)
        wrong = {
            "use the probability of the TRUE class y_i, not of the predicted (largest) class":
                [h.softmax(1).max(1).values.sum() for h in logits],
            "take the softmax over the classes (dim=1) before picking the true class; raw logits are not scores":
                [h.gather(1, labels[:, None]).sum() for h in logits],
            "s_u is a sum over the batch, not a mean": [h.softmax(1).gather(1, labels[:, None]).mean() for h in logits],
        }
        return (logits, labels), (branch_scores(logits, labels), wrong)

    return run_cases("branch scores", scores, 8, make_case, lambda ctx, out: _compare(ctx[0], out, ctx[1]),
                     "matches s_u on {cases} fresh batches")


def check_ogm_coefficients(coefficients: Callable) -> CheckResult:
    """Exercise: ``coefficients(scores, alpha)`` returns OGM's ``k_u`` for two or more branches:
    ``ρ_u = s_u / mean_{j≠u} s_j``, ``k_u = 1 − tanh(α ρ_u)`` where ``ρ_u > 1`` and ``1`` elsewhere.
    """
    def make_case(g):
        branches = int(torch.randint(2, 4, (1,), generator=g))
        s = 0.5 + 10 * torch.rand(branches, generator=g, dtype=torch.float64)
        alpha = float(0.1 + torch.rand(1, generator=g))
        rho = s / ((s.sum() - s) / (branches - 1))
        wrong = {
            "only the leading branch (ρ_u > 1) is slowed down; the others keep k_u = 1":
                1 - torch.tanh(alpha * rho),
            "ρ_u compares branch u with the OTHERS: s_u / mean of the other scores, not the inverse":
                torch.where(1 / rho > 1, 1 - torch.tanh(alpha / rho), torch.ones_like(rho)),
            "this is 1 − tanh(α(ρ − 1)), a later variant; the paper's Eq. (10) is 1 − tanh(α ρ)":
                ogm_coefficients(s, alpha, centered=True),
        }
        return (s.clone(), alpha), (ogm_coefficients(s, alpha).double(), wrong)

    return run_cases("OGM coefficients", coefficients, 10, make_case, lambda ctx, out: _compare(ctx[0], out, ctx[1]),
                     "matches k_u on {cases} fresh cases")


def check_blend_weights(blend_weights: Callable) -> CheckResult:
    """Exercise: ``blend_weights(train_losses, val_losses, start, end)`` returns the gradient-blending weights
    ``w_k ∝ G_k / O_k²`` (normalized to sum to 1) from ``(heads, epochs)`` NumPy arrays of loss curves.

    In the cases every head generalizes (``G_k > 0``) and overfits (``O_k > 0``), so no clipping is needed.
    """
    def make_case(g):
        heads, epochs = int(torch.randint(2, 5, (1,), generator=g)), int(torch.randint(4, 9, (1,), generator=g))
        start = int(torch.randint(0, epochs - 2, (1,), generator=g))
        end = int(torch.randint(start + 1, epochs, (1,), generator=g))
        rand = lambda *shape: np.asarray(torch.rand(*shape, generator=g, dtype=torch.float64))  # noqa: E731
        train = 0.5 * rand(heads, epochs)
        train[:, start] = 2 + rand(heads)              # the training loss drops by more than 1.5 ...
        gap_start, O = rand(heads), 0.05 + rand(heads)  # ... and the gap grows by O < 1.05, so G > 0
        val = train + rand(heads, epochs)
        val[:, start] = train[:, start] + gap_start
        val[:, end] = train[:, end] + gap_start + O
        G = val[:, start] - val[:, end]
        expected = gradient_blend_weights(train, val, start, end)
        wrong = {
            "the overfitting O_k is squared: w_k ∝ G_k / O_k², not G_k / O_k": (G / O) / (G / O).sum(),
            "normalize the weights so that they sum to 1": G / O ** 2,
            "G_k is measured on the VALIDATION loss (L_V(start) − L_V(end)), not the training loss":
                (train[:, start] - train[:, end]) / O ** 2 / ((train[:, start] - train[:, end]) / O ** 2).sum(),
        }
        return (train.copy(), val.copy(), start, end), (expected, wrong)

    return run_cases("gradient-blending weights", blend_weights, 8, make_case,
                     lambda ctx, out: _compare(ctx[0], out, ctx[1]), "matches w_k on {cases} fresh loss curves")


def _keep_mask(u: Tensor, p: float, rescue: Tensor) -> Tensor:
    keep = u >= p
    lost = ~keep.any(1)
    keep[lost, rescue[lost]] = True
    return keep


def check_keep_mask(keep_mask: Callable) -> CheckResult:
    """Exercise: ``keep_mask(u, p, rescue)`` returns modality dropout's boolean ``(n, M)`` mask, as
    :class:`~mmcourse.representation.ModalityDropout` draws it: modality ``m`` of example ``i`` is kept where
    ``u[i, m] >= p`` (``u`` uniform draws in [0, 1)); an example that lost every modality keeps modality ``rescue[i]``.
    """
    def make_case(g):
        n, modalities = int(torch.randint(4, 12, (1,), generator=g)), int(torch.randint(2, 4, (1,), generator=g))
        p = float(0.3 + 0.5 * torch.rand(1, generator=g))
        u = torch.rand(n, modalities, generator=g)
        u[0] = 0.0                                     # at least one example loses every modality
        rescue = torch.randint(modalities, (n,), generator=g)
        no_rescue = u >= p
        everyone = no_rescue.clone()
        everyone[torch.arange(n), rescue] = True
        wrong = {
            "a modality is KEPT with probability 1 − p, i.e. where u ≥ p (you dropped where u ≥ p)":
                ~(u >= p),
            "an example that lost every modality must keep one: set keep[i, rescue[i]] for those examples":
                no_rescue,
            "rescue only the examples that lost EVERY modality; the others keep their draw": everyone,
        }
        return (u.clone(), p, rescue.clone()), (_keep_mask(u, p, rescue), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        if not isinstance(out, Tensor) or out.dtype != torch.bool:
            return f"return a boolean tensor, got {getattr(out, 'dtype', type(out).__name__)}"
        if out.shape != expected.shape:
            return f"the mask must have shape {tuple(expected.shape)}, got {tuple(out.shape)}"
        if torch.equal(out, expected):
            return None
        for hint, alternative in wrong.items():
            if torch.equal(out, alternative):
                return hint
        return f"{int((out != expected).sum())} of {out.numel()} entries differ from the expected mask"

    return run_cases("modality dropout mask", keep_mask, 8, make_case, judge, "matches the mask on {cases} fresh cases")
