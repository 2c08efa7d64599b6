"""Checkers for the exercises of Part 2.4 (coordination): CCA by whitening, the order penalty, Deep CCA's objective."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from mmcourse.exercises._check import CheckResult, run_cases
from mmcourse.representation.coordination import cca, cca_objective, order_penalty

__all__ = ["check_cca_correlations", "check_order_penalty", "check_total_correlation"]


def _as_array(value) -> np.ndarray | None:
    try:
        if isinstance(value, torch.Tensor):
            return value.detach().cpu().double().numpy()
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _close(a: np.ndarray, b: np.ndarray, tol: float = 1e-6) -> bool:
    return a.shape == b.shape and np.allclose(a, b, atol=tol, rtol=0)


def _singular_values(m: np.ndarray) -> np.ndarray:
    return np.linalg.svd(m, compute_uv=False)


def _views(g: torch.Generator, n: int, dx: int, dy: int) -> tuple[np.ndarray, np.ndarray]:
    """Two views sharing one or two signals, with means far from 0 (so that forgetting to centre shows)."""
    z = torch.randn(n, 2, generator=g, dtype=torch.float64)
    x = z @ torch.randn(2, dx, generator=g, dtype=torch.float64) + torch.randn(n, dx, generator=g, dtype=torch.float64)
    y = z @ torch.randn(2, dy, generator=g, dtype=torch.float64) + torch.randn(n, dy, generator=g, dtype=torch.float64)
    x += 3 * torch.randn(1, dx, generator=g, dtype=torch.float64)
    y -= 3 * torch.randn(1, dy, generator=g, dtype=torch.float64)
    return x.numpy(), y.numpy()


def check_cca_correlations(cca_correlations: Callable) -> CheckResult:
    """Exercise: ``cca_correlations(x, y, k)`` returns the first ``k`` canonical correlations (NumPy, descending) of
    two views ``(n, d_x)`` and ``(n, d_y)``, unregularised, as ``mmcourse.representation.cca(x, y, k, reg=0)``."""
    def make_case(g):
        n = int(torch.randint(40, 120, (1,), generator=g))
        dx, dy = (int(v) for v in torch.randint(2, 5, (2,), generator=g))
        x, y = _views(g, n, dx, dy)
        k = min(dx, dy)
        expected = cca(x, y, k, reg=0.0).correlations
        xc, yc = x - x.mean(0), y - y.mean(0)
        cxx, cyy, cxy = xc.T @ xc / (n - 1), yc.T @ yc / (n - 1), xc.T @ yc / (n - 1)
        raw_xx, raw_yy, raw_xy = x.T @ x / (n - 1), y.T @ y / (n - 1), x.T @ y / (n - 1)
        mistakes = {
            "uncentred": _singular_values(_inv_sqrt(raw_xx) @ raw_xy @ _inv_sqrt(raw_yy))[:k],
            "not whitened": _singular_values(cxy)[:k],
            "inverse": _singular_values(np.linalg.inv(cxx) @ cxy @ np.linalg.inv(cyy))[:k],
        }
        return (x.copy(), y.copy(), k), (expected, mistakes)

    def judge(ctx, out):
        expected, mistakes = ctx
        got = _as_array(out)
        if got is None or got.shape != expected.shape:
            return (f"return a vector of the k = {expected.size} correlations, got "
                    f"{type(out).__name__} of shape {getattr(got, 'shape', '?')}")
        if _close(got, expected):
            return None
        if _close(np.sort(got)[::-1], expected):
            return "the values are right but not in order: canonical correlations come largest first"
        if _close(np.sort(got)[::-1], mistakes["uncentred"]):
            return "centre each view (subtract its column means) before computing the covariances"
        if _close(np.sort(got)[::-1], mistakes["not whitened"]):
            return ("those are the singular values of C_xy alone: whiten first, T = C_xx^(-1/2) C_xy C_yy^(-1/2), "
                    "so that the values are correlations, not covariances")
        if _close(np.sort(got)[::-1], mistakes["inverse"]):
            return "whiten with the inverse square roots C^(-1/2) (e.g. by eigh), not the inverses C^(-1)"
        if (got > 1 + 1e-9).any() or (got < -1e-9).any():
            return f"correlations lie in [0, 1], got {np.round(got, 4)}: are both views whitened?"
        return f"expected {np.round(expected, 6)}, got {np.round(got, 6)}"

    return run_cases("CCA by whitening and SVD", cca_correlations, 6, make_case, judge,
                     "matches mmcourse.representation.cca on {cases} fresh pairs of views")


def _inv_sqrt(c: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(c)
    return (vectors / np.sqrt(np.maximum(values, 1e-300))) @ vectors.T


def check_order_penalty(penalty: Callable) -> CheckResult:
    """Exercise: ``penalty(a, b)`` returns, for tensors ``a`` and ``b`` of shape ``(n, d)``, the order violations
    ``E(a_i, b_i) = ‖max(0, b_i − a_i)‖²`` of the pairs ``a_i ⪯ b_i``, a tensor of shape ``(n,)``."""
    def make_case(g):
        n, d = (int(v) for v in torch.randint(2, 7, (2,), generator=g))
        a, b = torch.rand(n, d, generator=g, dtype=torch.float64) * 3, torch.rand(n, d, generator=g,
                                                                                   dtype=torch.float64) * 3
        b[0] = a[0] - 0.5                                              # one pair that holds: E = 0
        mistakes = {"reversed": order_penalty(b, a), "not squared": torch.clamp(b - a, min=0).norm(dim=1),
                    "no max": (b - a).pow(2).sum(1), "squared sum": torch.clamp(b - a, min=0).sum(1) ** 2}
        return (a.clone(), b.clone()), (order_penalty(a, b).numpy(), {k: v.numpy() for k, v in mistakes.items()})

    def judge(ctx, out):
        expected, mistakes = ctx
        got = _as_array(out)
        if got is None or got.shape != expected.shape:
            return (f"return one penalty per pair, shape {expected.shape}, got {type(out).__name__} of shape "
                    f"{getattr(got, 'shape', '?')}")
        if _close(got, expected, 1e-9):
            return None
        if _close(got, mistakes["reversed"], 1e-9):
            return ("the direction is reversed: a ⪯ b holds when a ≥ b coordinate-wise, so penalise b − a where it is "
                    "positive, max(0, b − a)")
        if _close(got, mistakes["no max"], 1e-9):
            return ("that is the squared distance ‖b − a‖²: only coordinates where b exceeds a violate the order, "
                    "so clip at zero first, max(0, b − a)")
        if _close(got, mistakes["not squared"], 1e-9):
            return "that is the norm ‖max(0, b − a)‖: E is its square"
        if _close(got, mistakes["squared sum"], 1e-9):
            return "square each clipped coordinate, then sum (‖·‖² is a sum of squares, not a squared sum)"
        return f"expected {np.round(expected, 6)}, got {np.round(got, 6)}"

    return run_cases("The order-embedding penalty", penalty, 8, make_case, judge,
                     "matches mmcourse.representation.order_penalty on {cases} fresh batches")


def check_total_correlation(total_correlation: Callable) -> CheckResult:
    """Exercise: ``total_correlation(hx, hy, reg)`` returns Deep CCA's objective for two batches ``(n, d_x)`` and
    ``(n, d_y)``: the sum of all canonical correlations with the ridge ``reg`` on both covariances (a scalar tensor),
    as ``mmcourse.representation.cca_objective(hx, hy, reg=reg)``."""
    def make_case(g):
        n = int(torch.randint(20, 60, (1,), generator=g))
        dx, dy = (int(v) for v in torch.randint(2, 5, (2,), generator=g))
        x, y = (torch.as_tensor(v) for v in _views(g, n, dx, dy))
        reg = float(torch.empty(1).uniform_(0.05, 0.5, generator=g))
        xc, yc = x - x.mean(0), y - y.mean(0)
        pearson = (xc[:, :min(dx, dy)] * yc[:, :min(dx, dy)]).sum(0) / (
            xc[:, :min(dx, dy)].norm(dim=0) * yc[:, :min(dx, dy)].norm(dim=0))
        mistakes = {"no ridge": cca_objective(x, y, reg=0.0).item(), "pearson": pearson.sum().item(),
                    "uncentred": _uncentred_total(x, y, reg)}
        return (x.clone(), y.clone(), reg), (cca_objective(x, y, reg=reg).item(), mistakes)

    def judge(ctx, out):
        expected, mistakes = ctx
        got = _as_array(out)
        if got is None or got.size != 1:
            return f"return a scalar (a 0-d tensor), got {type(out).__name__} of shape {getattr(got, 'shape', '?')}"
        value = float(got.reshape(()))
        if abs(value - expected) <= 1e-6:
            return None
        if abs(value - mistakes["no ridge"]) <= 1e-6:
            return "add reg times the identity to both covariances C_xx and C_yy (not to C_xy)"
        if abs(value - mistakes["pearson"]) <= 1e-6:
            return ("that sums the correlations of matching coordinates: CCA first finds the best directions, "
                    "sum the singular values of T = C_xx^(-1/2) C_xy C_yy^(-1/2)")
        if abs(value - mistakes["uncentred"]) <= 1e-6:
            return "centre both batches (subtract the column means) before computing the covariances"
        return f"expected {expected:.6g}, got {value:.6g} (covariances with 1/(n − 1), ridge on C_xx and C_yy)"

    return run_cases("Deep CCA's total correlation", total_correlation, 6, make_case, judge,
                     "matches mmcourse.representation.cca_objective on {cases} fresh batches")


def _uncentred_total(x: torch.Tensor, y: torch.Tensor, reg: float) -> float:
    n = len(x)
    cxx = x.T @ x / (n - 1) + reg * torch.eye(x.shape[1], dtype=x.dtype)
    cyy = y.T @ y / (n - 1) + reg * torch.eye(y.shape[1], dtype=y.dtype)
    t = torch.as_tensor(_inv_sqrt(cxx.numpy())) @ (x.T @ y / (n - 1)) @ torch.as_tensor(_inv_sqrt(cyy.numpy()))
    return torch.linalg.svdvals(t).sum().item()
