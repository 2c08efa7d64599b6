"""Checkers for the exercises of Part 3.2, warping across feature spaces: Procrustes by SVD, MUSE's orthogonality
update, and one iteration of canonical time warping."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from mmcourse.alignment import diagonal_path, dtw, orthogonalize, procrustes
from mmcourse.exercises._check import CheckResult, run_cases
from mmcourse.representation import cca

__all__ = ["check_procrustes", "check_orthogonalize", "check_ctw_step", "CTW_STEP_REG"]

CTW_STEP_REG = 1e-3   # the ridge the CTW-step exercise asks for (the default of canonical_time_warping)


def _as_array(out) -> np.ndarray | None:
    try:
        if isinstance(out, torch.Tensor):
            return out.detach().cpu().double().numpy()
        return np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def check_procrustes(solution: Callable) -> CheckResult:
    """Exercise: ``solution(x, y)`` returns the orthogonal ``W`` (d, d) minimising ``Σ ‖W x_i − y_i‖²`` for paired
    NumPy rows ``x``, ``y`` (n, d), as :func:`mmcourse.alignment.procrustes` does."""
    def make_case(g):
        n, d = int(torch.randint(5, 30, (1,), generator=g)), int(torch.randint(2, 6, (1,), generator=g))
        x = torch.randn(n, d, generator=g, dtype=torch.float64).numpy()
        y = torch.randn(n, d, generator=g, dtype=torch.float64).numpy()
        return (x, y), (x, y, procrustes(x, y))

    def judge(ctx, out):
        x, y, expected = ctx
        w = _as_array(out)
        if w is None or w.shape != expected.shape:
            return f"return a ({len(expected)}, {len(expected)}) matrix, got {getattr(w, 'shape', type(out).__name__)}"
        if np.allclose(w, expected, atol=1e-8):
            return None
        if np.allclose(w.T, expected, atol=1e-8):
            return ("that is the transpose: with Yᵀ X = U Σ Vᵀ, the map x ↦ W x is W = U Vᵀ (check which product "
                    "you split)")
        if not np.allclose(w.T @ w, np.eye(len(w)), atol=1e-6):
            return ("W is not orthogonal: drop the singular values, keep U Vᵀ (least squares would give the best "
                    "linear map, not the best rotation)")
        return "W is orthogonal but not the best one: take the SVD of Yᵀ X = Σ y_i x_iᵀ, not of X or Y alone"

    return run_cases("Procrustes by SVD", solution, 8, make_case, judge,
                     "matches mmcourse.alignment.procrustes on {cases} fresh cases")


def check_orthogonalize(solution: Callable) -> CheckResult:
    """Exercise: ``solution(W, beta)`` returns ``(1 + β) W − β (W Wᵀ) W`` for a NumPy (d, d) matrix."""
    def make_case(g):
        d = int(torch.randint(2, 6, (1,), generator=g))
        w = torch.randn(d, d, generator=g, dtype=torch.float64).numpy()
        beta = float(torch.empty(1, dtype=torch.float64).uniform_(0.01, 0.3, generator=g))
        return (w, beta), (w, beta, orthogonalize(w, beta))

    def judge(ctx, out):
        w, beta, expected = ctx
        got = _as_array(out)
        if got is None or got.shape != expected.shape:
            return f"return a matrix of shape {expected.shape}, got {getattr(got, 'shape', type(out).__name__)}"
        if np.allclose(got, expected, atol=1e-10):
            return None
        if np.allclose(got, (1 + beta) * w - beta * (w.T @ w) @ w, atol=1e-10):
            return "the product is W Wᵀ W (W times its transpose first), not Wᵀ W W"
        if np.allclose(got, (1 - beta) * w + beta * (w @ w.T) @ w, atol=1e-10):
            return "the signs are swapped: W grows by β W and shrinks by β W Wᵀ W"
        return "expected (1 + β) W − β (W Wᵀ) W, with @ for matrix products (not * elementwise)"

    return run_cases("MUSE's orthogonality update", solution, 8, make_case, judge,
                     "matches mmcourse.alignment.orthogonalize on {cases} fresh cases")


def _ctw_step_reference(x, y, path, k, centre=True):
    cells = np.asarray(path)
    fit = cca(x[cells[:, 0]], y[cells[:, 1]], k, CTW_STEP_REG)
    if centre:
        u, v = (x - fit.x_mean) @ fit.x_weights, (y - fit.y_mean) @ fit.y_weights
    else:
        u, v = x @ fit.x_weights, y @ fit.y_weights
    return dtw(u, v)[1]


def check_ctw_step(solution: Callable) -> CheckResult:
    """Exercise: ``solution(x, y, path, k)`` runs one CTW iteration: CCA (``cca(..., k, reg=CTW_STEP_REG)``) on the
    frame pairs of ``path``, then DTW between the centred, projected sequences; it returns the new path (a list of
    ``(i, j)`` pairs). ``x`` is (n, d_x), ``y`` (m, d_y), with ``d_x ≠ d_y`` in general."""
    def make_case(g):
        n, m = int(torch.randint(12, 25, (1,), generator=g)), int(torch.randint(12, 25, (1,), generator=g))
        dx = int(torch.randint(2, 4, (1,), generator=g))
        dy = dx + int(torch.randint(1, 3, (1,), generator=g))                  # never the same features
        t = torch.linspace(0, 1, n, dtype=torch.float64)
        tau = torch.linspace(0, 1, m, dtype=torch.float64) ** 1.5        # y runs on a warped clock
        freq = torch.rand(dx, generator=g, dtype=torch.float64) * 2 + 1
        base_x = torch.sin(2 * np.pi * freq * t[:, None])
        base_y = torch.sin(2 * np.pi * freq * tau[:, None])
        x = (base_x + 0.05 * torch.randn(n, dx, generator=g, dtype=torch.float64)).numpy()
        mix = torch.randn(dx, dy, generator=g, dtype=torch.float64)
        y = (base_y @ mix + 0.05 * torch.randn(m, dy, generator=g, dtype=torch.float64)).numpy() + 3.0
        path = diagonal_path(n, m)
        k = min(dx, dy)
        return (x, y, path, k), (path, _ctw_step_reference(x, y, path, k),
                                 _ctw_step_reference(x, y, path, k, centre=False))

    def judge(ctx, out):
        start, expected, uncentred = ctx
        try:
            got = [(int(i), int(j)) for i, j in out]
        except (TypeError, ValueError):
            return f"return a list of (i, j) pairs, got {type(out).__name__}"
        if got == expected:
            return None
        if got == start and expected != start:
            return "that is the path you were given: run DTW between the projected sequences to get a new one"
        if got == uncentred and uncentred != expected:
            return "subtract CCA's means (x_mean, y_mean) before projecting, as CCAResult.transform does"
        return ("not the expected path: fit cca(x[i's of the path], y[j's of the path], k, reg=CTW_STEP_REG), "
                "project all of x and all of y, then take dtw's path")

    return run_cases("One iteration of canonical time warping", solution, 6, make_case, judge,
                     "matches CCA-then-DTW on {cases} fresh cases")
