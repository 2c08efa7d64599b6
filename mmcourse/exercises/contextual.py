"""Checkers for the exercises of Part 3.3 (contextualised representations): attention, one directed cross-modal
step, and the normalised propagation of a graph convolution."""
from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import Tensor

from mmcourse.alignment.contextual_base import scaled_dot_product_attention
from mmcourse.exercises._check import CheckResult, run_cases

__all__ = ["check_attention", "check_cross_modal_step", "check_gcn_propagation"]


def _matches(output, expected: Tensor, name: str, alternatives: Mapping[str, Tensor] | None = None) -> str | None:
    if not isinstance(output, Tensor):
        return f"{name} must be a torch.Tensor, got {type(output).__name__}"
    if output.shape != expected.shape:
        for hint, wrong in (alternatives or {}).items():
            if wrong.shape == output.shape and torch.allclose(output.double(), wrong, atol=1e-5, rtol=1e-4):
                return hint
        return f"{name} must have shape {tuple(expected.shape)}, got {tuple(output.shape)}"
    if torch.allclose(output.double(), expected, atol=1e-5, rtol=1e-4):
        return None
    for hint, wrong in (alternatives or {}).items():
        if wrong.shape == expected.shape and torch.allclose(output.double(), wrong, atol=1e-5, rtol=1e-4):
            return hint
    return f"{name} differs from the expected values by up to {(output.double() - expected).abs().max():.3g}"


def _sizes(g: torch.Generator, count: int) -> list[int]:
    return [int(v) for v in torch.randint(2, 6, (count,), generator=g)]


def check_attention(attention: Callable) -> CheckResult:
    r"""Exercise: ``attention(q, k, v)`` returns ``(out, weights)`` with
    ``weights = softmax(q kᵀ / √d_k)`` (softmax over the keys) and ``out = weights v``.

    ``q`` is ``(batch, n, d_k)``, ``k`` is ``(batch, m, d_k)``, ``v`` is ``(batch, m, d_v)``.
    """
    def make_case(g):
        batch, n, m, dk, dv = _sizes(g, 5)
        q, k = (torch.randn(batch, s, dk, generator=g, dtype=torch.float64) for s in (n, m))
        v = torch.randn(batch, m, dv, generator=g, dtype=torch.float64)
        out, weights = scaled_dot_product_attention(q, k, v)
        scores = q @ k.transpose(1, 2)
        unscaled = torch.softmax(scores, -1)
        over_queries = torch.softmax(scores / dk ** 0.5, 1)
        weight_hints = {
            "the scores are not divided by √d_k (the key size)": unscaled,
            "the softmax runs over the queries (dim 1); each query's weights over the keys must sum to 1 (dim -1)":
                over_queries,
            "the weights are transposed: rows are queries (n), columns keys (m)": weights.transpose(1, 2),
        }
        out_hints = {"the scores are not divided by √d_k (the key size)": unscaled @ v,
                     "the softmax runs over the queries (dim 1) instead of the keys": over_queries @ v}
        return (q, k, v), (out, weights, out_hints, weight_hints)

    def judge(ctx, output):
        out, weights, out_hints, weight_hints = ctx
        if not (isinstance(output, (tuple, list)) and len(output) == 2):
            return "return a pair (out, weights)"
        return _matches(output[1], weights, "weights", weight_hints) or _matches(output[0], out, "out", out_hints)

    return run_cases("scaled dot-product attention", attention, 8, make_case, judge,
                     "output and weights match softmax(QKᵀ/√d)V on {cases} fresh cases")


def check_cross_modal_step(cross_step: Callable) -> CheckResult:
    r"""Exercise: ``cross_step(h1, h2, w_q, w_k, w_v)`` returns modality 1's tokens after one directed cross-modal
    attention step (MulT), with a residual: ``h1 + softmax((h1 W_q)(h2 W_k)ᵀ / √w) (h2 W_v)``.

    ``h1`` is ``(batch, n, w)``, ``h2`` is ``(batch, m, w)``, the three weights are ``(w, w)`` (applied on the
    right, ``h W``).
    """
    def make_case(g):
        batch, n, m, width = _sizes(g, 4)
        h1 = torch.randn(batch, n, width, generator=g, dtype=torch.float64)
        h2 = torch.randn(batch, m, width, generator=g, dtype=torch.float64)
        w_q, w_k, w_v = (torch.randn(width, width, generator=g, dtype=torch.float64) for _ in range(3))
        expected = h1 + scaled_dot_product_attention(h1 @ w_q, h2 @ w_k, h2 @ w_v)[0]
        hints = {
            "the queries must come from modality 1 and the keys and values from modality 2 (you let 2 attend to 1)":
                h2 + scaled_dot_product_attention(h2 @ w_q, h1 @ w_k, h1 @ w_v)[0],
            "the residual is missing: add h1 to the attended values":
                expected - h1,
            "this is self-attention within modality 1: keys and values must come from h2":
                h1 + scaled_dot_product_attention(h1 @ w_q, h1 @ w_k, h1 @ w_v)[0],
            "the scores are not divided by √w":
                h1 + torch.softmax((h1 @ w_q) @ (h2 @ w_k).transpose(1, 2), -1) @ (h2 @ w_v),
        }
        return (h1, h2, w_q, w_k, w_v), (expected, hints)

    return run_cases("one step of cross-modal attention", cross_step, 8, make_case,
                     lambda ctx, out: _matches(out, ctx[0], "the result", ctx[1]),
                     "h1 + softmax((h1 W_q)(h2 W_k)ᵀ/√w)(h2 W_v) on {cases} fresh cases")


def check_gcn_propagation(gcn_layer: Callable) -> CheckResult:
    r"""Exercise: ``gcn_layer(adjacency, h, weight)`` returns ``ReLU(D̃^{-1/2} (A + I) D̃^{-1/2} H W)``
    (Kipf and Welling), with ``D̃`` the diagonal of the row sums of ``A + I``.

    ``adjacency`` is a symmetric 0/1 ``(N, N)`` matrix without self-loops, ``h`` is ``(N, d)``, ``weight`` is
    ``(d, o)``.
    """
    def make_case(g):
        nodes, d, o = _sizes(g, 3)
        nodes += 2
        upper = (torch.rand(nodes, nodes, generator=g) < 0.4).double().triu(1)
        adjacency = upper + upper.T
        h = torch.randn(nodes, d, generator=g, dtype=torch.float64)
        weight = torch.randn(d, o, generator=g, dtype=torch.float64)
        a = adjacency + torch.eye(nodes, dtype=torch.float64)
        scale = a.sum(1).rsqrt()
        expected = torch.relu(scale[:, None] * a * scale[None, :] @ h @ weight)
        degree = adjacency.sum(1).clamp(min=1).rsqrt()
        hints = {
            "the self-loops are missing: propagate with A + I, so that a node keeps its own features":
                torch.relu(degree[:, None] * adjacency * degree[None, :] @ h @ weight),
            "this is the random-walk normalisation D̃⁻¹(A + I); the GCN uses the symmetric "
            "D̃^{-1/2}(A + I)D̃^{-1/2}":
                torch.relu(a / a.sum(1, keepdim=True) @ h @ weight),
            "the ReLU is missing": scale[:, None] * a * scale[None, :] @ h @ weight,
            "the propagation is not normalised: divide by the square roots of the degrees of A + I":
                torch.relu(a @ h @ weight),
        }
        return (adjacency, h, weight), (expected, hints)

    return run_cases("GCN propagation", gcn_layer, 8, make_case,
                     lambda ctx, out: _matches(out, ctx[0], "the result", ctx[1]),
                     "ReLU(D̃^{{-1/2}}(A + I)D̃^{{-1/2}} H W) on {cases} fresh cases")
