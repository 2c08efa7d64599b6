"""Checkers for the exercises of Part 7.2 (interactions learned by a model): EMAP on a table of logits, the share
of a table that no additive function explains, and a finite-difference estimate of the mixed second derivative."""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from mmcourse.exercises._check import CheckResult, as_float64, compare, run_cases
from mmcourse.quantification.emap import emap_logits

__all__ = ["check_emap_from_grid", "check_interaction_share", "check_mixed_difference"]


def _compare(expected: Tensor, output, wrong: dict[str, Tensor], atol: float = 1e-8) -> str | None:
    return compare(expected, output, wrong, atol=atol, rtol=1e-6)


def _grid(g: torch.Generator) -> Tensor:
    """A random logits table ``(N, N, C)`` with N in 2..8 and C in 1..4: an additive part plus an interaction."""
    n, c = int(torch.randint(2, 9, (1,), generator=g)), int(torch.randint(1, 5, (1,), generator=g))
    rows, cols = (torch.randn(n, 1, c, generator=g, dtype=torch.float64) for _ in range(2))
    scale = float(torch.rand(1, generator=g, dtype=torch.float64))
    return rows + cols.transpose(0, 1) + scale * torch.randn(n, n, c, generator=g, dtype=torch.float64)


def check_emap_from_grid(emap_from_grid: Callable) -> CheckResult:
    """Exercise: ``emap_from_grid(grid)`` returns the EMAP logits ``(N, C)`` of the pairs ``(x1_i, x2_i)``, given
    the table ``grid[i, j] = f(x1_i, x2_j)`` of shape ``(N, N, C)`` (float64).

    The reference is :func:`mmcourse.quantification.emap_logits` applied to a "model" that looks the logits up
    in the table.
    """
    def make_case(g):
        grid = _grid(g)
        n = grid.shape[0]
        index = torch.arange(n, dtype=torch.float64)[:, None]
        expected = emap_logits(lambda a, b: grid[a[:, 0].long(), b[:, 0].long()], index, index)
        rows, cols, total = grid.mean(1), grid.mean(0), grid.mean((0, 1))
        return (grid.clone(),), (expected, {
            "the grand mean is missing: the two averages both contain it, so subtract it once":
                rows + cols,
            "the grand mean must be subtracted, not added": rows + cols + total,
            "you averaged over the same axis twice: one term averages over x2 (axis 1), the other over x1 "
            "(axis 0)": 2 * rows - total,
        })

    return run_cases("EMAP on a table of logits", emap_from_grid, 8, make_case,
                     lambda ctx, out: _compare(ctx[0], out, ctx[1]),
                     "matches emap_logits on {cases} fresh tables")


def check_interaction_share(interaction_share: Callable) -> CheckResult:
    """Exercise: ``interaction_share(grid)`` returns the share of the table's variance that no additive function
    explains, ``Σ (f − f̂)² / Σ (f − f̄)²`` over all ``(i, j, c)``, where ``f̂`` is the EMAP projection on the
    whole grid and ``f̄`` each class's mean over the grid. ``grid`` is ``(N, N, C)`` float64; the answer a number.
    """
    def make_case(g):
        grid = _grid(g)
        if int(torch.randint(0, 3, (1,), generator=g)) == 0:  # an additive table now and then: the share is 0
            grid = grid.mean(1, keepdim=True) + grid.mean(0, keepdim=True)
        rows, cols = grid.mean(1, keepdim=True), grid.mean(0, keepdim=True)
        total = grid.mean((0, 1), keepdim=True)
        residual, centred = grid - rows - cols + total, grid - total
        share = residual.pow(2).sum() / centred.pow(2).sum()
        return (grid.clone(),), (share, {
            "divide by the variance around each class's grand mean, Σ (f − f̄)², not by Σ f²":
                residual.pow(2).sum() / grid.pow(2).sum(),
            "the residual f − f̂ needs the grand mean added back: f̂ = row mean + column mean − grand mean":
                (grid - rows - cols).pow(2).sum() / centred.pow(2).sum(),
            "use the whole grid, not only its diagonal (the observed pairs)":
                torch.diagonal(residual).pow(2).sum() / torch.diagonal(centred).pow(2).sum(),
        })

    def judge(ctx, out):
        expected, wrong = ctx
        got = as_float64(out)
        if got is None or got.numel() != 1:
            return f"return a number, got {type(out).__name__}" + ("" if got is None else f" of shape "
                                                                   f"{tuple(got.shape)}")
        got = got.reshape(())
        return _compare(expected, got, wrong)

    return run_cases("the interaction share of a table", interaction_share, 9, make_case, judge,
                     "matches the variance decomposition on {cases} fresh tables")


def check_mixed_difference(mixed_difference: Callable) -> CheckResult:
    """Exercise: ``mixed_difference(f, x1, x2, d1, d2, h)`` returns, per example, the finite-difference estimate
    ``[f(x1 + h d1, x2 + h d2) − f(x1 + h d1, x2) − f(x1, x2 + h d2) + f(x1, x2)] / h²`` of
    ``d1ᵀ (∂²f / ∂x1 ∂x2ᵀ) d2``, a tensor ``(N,)``.

    ``f(x1, x2)`` maps ``(N, d1)`` and ``(N, d2)`` float64 tensors to ``(N,)``; the cases are bilinear plus
    additive nonlinear parts, for which the (forward or central) difference is exact whatever ``h``.
    """
    def make_case(g):
        n, p, q = (int(v) for v in torch.randint(1, 6, (3,), generator=g))
        A = torch.randn(p, q, generator=g, dtype=torch.float64)
        u, v = torch.randn(p, generator=g, dtype=torch.float64), torch.randn(q, generator=g, dtype=torch.float64)

        def f(a, b):
            return torch.einsum("np,pq,nq->n", a, A, b) + torch.sin(a @ u) + (b @ v) ** 2

        x1, d1 = torch.randn(n, p, generator=g, dtype=torch.float64), torch.randn(n, p, generator=g,
                                                                                  dtype=torch.float64)
        x2, d2 = torch.randn(n, q, generator=g, dtype=torch.float64), torch.randn(n, q, generator=g,
                                                                                  dtype=torch.float64)
        h = float(torch.empty(1, dtype=torch.float64).uniform_(0.2, 2.0, generator=g))
        expected = torch.einsum("np,pq,nq->n", d1, A, d2)
        return (f, x1, x2, d1, d2, h), (expected, {
            f"divide by h² (h = {h:.3g}), not by h: each modality contributes one step": expected * h,
            "the last term + f(x1, x2) is missing: Δ = f(+,+) − f(+,0) − f(0,+) + f(0,0)":
                expected - f(x1, x2) / h**2,
        })

    return run_cases("the mixed finite difference", mixed_difference, 8, make_case,
                     lambda ctx, out: _compare(ctx[0], out, ctx[1], atol=1e-7),
                     "equals d1ᵀ (∂²f/∂x1∂x2) d2 on {cases} fresh functions")
