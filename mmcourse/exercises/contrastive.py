"""Checkers for the exercises of Part 2.4 (contrastive learning): the symmetric InfoNCE loss, recall@k, and the
gradient of InfoNCE, which shows how the temperature decides the weight of hard negatives."""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch import Tensor

from mmcourse.exercises._check import CheckResult, run_cases
from mmcourse.representation.contrastive import clip_loss, recall_at_k

__all__ = ["check_clip_loss", "check_recall_at_k", "check_infonce_gradient"]


def _normalised(z: Tensor) -> Tensor:
    return torch.nn.functional.normalize(z, dim=1)


def _cross_entropy(logits: Tensor) -> Tensor:
    """CE(S, I): mean over rows of −log softmax(row)[diagonal]."""
    return -torch.log_softmax(logits, dim=1).diagonal().mean()


def _first_match(output, expected: Tensor, alternatives: Mapping[str, Tensor], what: str) -> str | None:
    """None if ``output`` equals ``expected``; else the hint of the first alternative it equals, or the gap."""
    out = torch.as_tensor(output, dtype=torch.float64)
    if out.shape != expected.shape:
        return f"{what} must have shape {tuple(expected.shape)}, got {tuple(out.shape)}"
    if not torch.isfinite(out).all():
        return f"{what} holds NaN or infinite values"
    if torch.allclose(out, expected, rtol=1e-5, atol=1e-7):
        return None
    for hint, wrong in alternatives.items():
        if torch.allclose(out, wrong, rtol=1e-5, atol=1e-7):
            return hint
    return f"{what} differs from the expected one by up to {(out - expected).abs().max():.3g}"


def check_clip_loss(solution: Callable) -> CheckResult:
    """Exercise: ``solution(z1, z2, temperature)`` returns CLIP's symmetric InfoNCE loss (a scalar).

    ``z1`` and ``z2`` are float64 tensors ``(n, d)`` of unnormalised embeddings, row i of each a pair; the loss is
    ``½[CE(S, I) + CE(Sᵀ, I)]`` with ``S_ij = cos(z1_i, z2_j) / τ``, as :func:`~mmcourse.representation.clip_loss`.
    """
    def make_case(g):
        n, d = int(torch.randint(2, 7, (1,), generator=g)), int(torch.randint(2, 6, (1,), generator=g))
        # Rows of different lengths, so that forgetting to normalise shows; τ well away from 1, so that τ errors do.
        lengths = 3 * torch.rand(n, 1, generator=g, dtype=torch.float64)
        z1 = torch.randn(n, d, generator=g, dtype=torch.float64) * lengths
        z2 = torch.randn(n, d, generator=g, dtype=torch.float64) + 0.5 * z1
        tau = float(torch.empty(1).uniform_(0.1, 0.5, generator=g))
        s = _normalised(z1) @ _normalised(z2).T
        raw = z1 @ z2.T
        rows, cols = _cross_entropy(s / tau), _cross_entropy(s.T / tau)
        alternatives = {
            "only one direction: CLIP averages CE(S, I) (x retrieves y) and CE(Sᵀ, I) (y retrieves x)": rows,
            "only one direction: CLIP averages CE(S, I) and CE(Sᵀ, I) (you have the second one)": cols,
            "the two directions are added: CLIP takes their mean, ½[CE(S, I) + CE(Sᵀ, I)]": rows + cols,
            "the embeddings are not normalised: S_ij is the cosine of z1_i and z2_j, divided by τ":
                0.5 * (_cross_entropy(raw / tau) + _cross_entropy(raw.T / tau)),
            "the similarities are multiplied by τ: divide them by the temperature":
                0.5 * (_cross_entropy(s * tau) + _cross_entropy(s.T * tau)),
            "the temperature is missing: S_ij = cos(z1_i, z2_j) / τ": 0.5 * (_cross_entropy(s) + _cross_entropy(s.T)),
            "the cross-entropies are summed over the batch: take their mean over the n pairs":
                0.5 * n * (rows + cols),
        }
        return (z1, z2, tau), (clip_loss(z1, z2, tau).detach(), alternatives)

    def judge(ctx, out):
        if not isinstance(out, (Tensor, float, int)) or (isinstance(out, Tensor) and out.numel() != 1):
            return f"return one number (a 0-d tensor or a float), got {getattr(out, 'shape', type(out).__name__)}"
        return _first_match(torch.as_tensor(out, dtype=torch.float64).reshape(()), ctx[0], ctx[1], "the loss")

    return run_cases("symmetric InfoNCE", solution, 8, make_case, judge, "matches clip_loss on {cases} fresh cases")


def check_recall_at_k(solution: Callable) -> CheckResult:
    """Exercise: ``solution(similarity, k)`` returns recall@k of retrieving y from x (a float).

    ``similarity`` is a NumPy array ``(n, n)`` without ties whose row i scores x_i against every y_j; the true
    pairs are on the diagonal. Recall@k is the fraction of rows whose diagonal entry is among the row's k largest.
    """
    def make_case(g):
        n = int(torch.randint(4, 12, (1,), generator=g))
        k = int(torch.randint(1, min(4, n - 1) + 1, (1,), generator=g))
        # Pairs more alike than others, but not always the most alike: recall is neither 0 nor 1.
        s = (torch.randn(n, n, generator=g, dtype=torch.float64) + 1.2 * torch.eye(n, dtype=torch.float64))
        if n > 5:  # make rows and columns differ: a few x_i whose pair is far behind in their row only
            s[0, 0] -= 3.0
            s[1, :] += torch.linspace(0, 2, n, dtype=torch.float64)
        s = s.numpy()
        expected = recall_at_k(s, k)
        alternatives = {
            "that is y → x: rank the entries of row i (x_i against every y_j), not of column i":
                recall_at_k(s, k, direction="y_to_x"),
            "the smallest similarities were retrieved: sort each row in decreasing order": recall_at_k(-s, k),
        }
        for other, name in ((k + 1, "k + 1"), (k - 1, "k − 1")):
            if 1 <= other <= n:
                alternatives[f"off by one: count the true pair if it is among the top k, not {name}"] = recall_at_k(
                    s, other)
        return (s.copy(), k), (expected, alternatives)

    def judge(ctx, out):
        if isinstance(out, Tensor) and out.numel() == 1:
            out = out.item()
        if isinstance(out, (bool, np.bool_)) or not isinstance(out, (float, int, np.floating, np.integer)):
            return f"return a float (the fraction of queries), got {type(out).__name__}"
        expected, alternatives = ctx
        if abs(out - expected) < 1e-9:
            return None
        for hint, wrong in alternatives.items():
            if abs(out - wrong) < 1e-9 and abs(wrong - expected) > 1e-9:
                return hint
        if out > 1:
            return f"got {out}: return the fraction of queries (between 0 and 1), not a count"
        return f"got {out:.4g}, expected {expected:.4g}"

    return run_cases("recall@k", solution, 10, make_case, judge, "matches recall_at_k on {cases} fresh cases")


def check_infonce_gradient(solution: Callable) -> CheckResult:
    """Exercise: ``solution(similarity, temperature)`` returns the gradient ``G = ∂L/∂s`` of the one-direction
    InfoNCE loss summed over queries, ``L = Σ_i −log softmax_j(s_ij / τ)[i]``, with respect to the cosine
    similarities ``s`` (an ``(n, n)`` float64 tensor): ``G_ij = (p_ij − δ_ij) / τ`` with ``p = softmax(s / τ)``
    along each row. A negative j pushes query i away in proportion to ``p_ij``.
    """
    def make_case(g):
        n = int(torch.randint(2, 7, (1,), generator=g))
        s = torch.rand(n, n, generator=g, dtype=torch.float64) * 2 - 1
        tau = float(torch.empty(1).uniform_(0.05, 0.5, generator=g))
        leaf = s.clone().requires_grad_()
        with torch.enable_grad():
            loss = -torch.log_softmax(leaf / tau, dim=1).diagonal().sum()
            (expected,) = torch.autograd.grad(loss, leaf)
        eye = torch.eye(n, dtype=torch.float64)
        p = torch.softmax(s / tau, dim=1)
        alternatives = {
            "the factor 1/τ is missing: d(s/τ)/ds = 1/τ": p - eye,
            "the positive's term is missing: the diagonal gets (p_ii − 1)/τ, the positive is pulled closer":
                p / tau,
            "the sign is flipped: the loss falls as s_ii grows, so G_ii < 0": (eye - p) / tau,
            "the softmax runs over the wrong axis: each query i normalises over its row j":
                (torch.softmax(s / tau, dim=0) - eye) / tau,
        }
        return (s.clone(), tau), (expected, alternatives)

    def judge(ctx, out):
        if not isinstance(out, (Tensor, np.ndarray)):
            return f"return a tensor of shape (n, n), got {type(out).__name__}"
        return _first_match(out, ctx[0], ctx[1], "the gradient")

    return run_cases("InfoNCE gradient", solution, 8, make_case, judge,
                     "matches autograd's gradient on {cases} fresh cases")
