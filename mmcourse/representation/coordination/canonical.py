r"""Canonical correlation analysis (Part 2.4, partial coordination by correlation): the linear projections of two
views that are most correlated with each other.

Given paired samples of two views, ``x`` (n, d_x) and ``y`` (n, d_y), CCA looks for directions ``a`` and ``b`` that
maximise the correlation of the projections ``u = x a`` and ``v = y b``,

.. math::

    \rho_1 = \max_{a, b} \frac{a^\top C_{xy} b}{\sqrt{a^\top C_{xx} a}\, \sqrt{b^\top C_{yy} b}},

then the next pair under the constraint that it is uncorrelated with the previous ones, and so on. Whitening each
view turns this into a singular value decomposition: with :math:`T = C_{xx}^{-1/2} C_{xy} C_{yy}^{-1/2} = U S V^\top`,
the canonical correlations are the singular values :math:`S`, and the weights are
:math:`A = C_{xx}^{-1/2} U`, :math:`B = C_{yy}^{-1/2} V`. That is how :func:`cca` computes them.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mmcourse.utils import as_numpy

__all__ = ["CCAResult", "cca"]

# Eigenvalues of a covariance below this fraction of its largest one count as zero: the matrix is singular and
# cannot be whitened without a ridge.
_SINGULAR_RTOL = 1e-12


class CCAResult(NamedTuple):
    """What :func:`cca` returns; unpacks as ``correlations, x_weights, y_weights, x_mean, y_mean``.

    Attributes
    ----------
    correlations : numpy.ndarray, shape (k,)
        The first k canonical correlations ``ρ₁ ≥ ρ₂ ≥ … ≥ ρ_k``, each in [0, 1].
    x_weights, y_weights : numpy.ndarray, shapes (d_x, k) and (d_y, k)
        The canonical directions ``A`` and ``B``: column j projects a centred view onto its j-th canonical
        variable. They are scaled so that the projections have unit (regularised) variance on the fitted data.
    x_mean, y_mean : numpy.ndarray, shapes (d_x,) and (d_y,)
        The means removed before projecting.
    """

    correlations: np.ndarray
    x_weights: np.ndarray
    y_weights: np.ndarray
    x_mean: np.ndarray
    y_mean: np.ndarray

    def transform(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """The canonical variables ``u = (x − x̄) A`` and ``v = (y − ȳ) B`` of (possibly new) samples, (n, k) each."""
        x_np, y_np = _check_views(x, y, "CCAResult.transform", min_rows=1)
        for name, data, mean in (("x", x_np, self.x_mean), ("y", y_np, self.y_mean)):
            if data.shape[1] != mean.shape[0]:
                raise ValueError(f"CCAResult.transform: {name} must have {mean.shape[0]} features (as when fitted), "
                                 f"got shape {data.shape}")
        return (x_np - self.x_mean) @ self.x_weights, (y_np - self.y_mean) @ self.y_weights

    def score(self, x, y) -> np.ndarray:
        """The correlation of each pair of canonical variables on (possibly held-out) samples, shape (k,).

        On the fitted data this gives back :attr:`correlations` (up to the ridge); on held-out data it says how
        much of the correlation was real rather than fitted to noise.
        """
        u, v = self.transform(x, y)
        if u.shape[0] < 2:
            raise ValueError(f"CCAResult.score: need at least 2 samples to measure a correlation, got {u.shape[0]}")
        u, v = u - u.mean(0), v - v.mean(0)
        return (u * v).sum(0) / np.sqrt((u * u).sum(0) * (v * v).sum(0))


def _check_views(x, y, where: str, min_rows: int) -> tuple[np.ndarray, np.ndarray]:
    x_np, y_np = as_numpy(x, "x", where), as_numpy(y, "y", where)
    for name, data in (("x", x_np), ("y", y_np)):
        if data.ndim != 2:
            raise ValueError(f"{where}: {name} must be a matrix of shape (samples, features), got shape {data.shape}")
        if data.shape[1] == 0:
            raise ValueError(f"{where}: {name} has no features (shape {data.shape})")
    if x_np.shape[0] != y_np.shape[0]:
        raise ValueError(f"{where}: x and y must have the same number of rows (paired samples), got "
                         f"{x_np.shape[0]} and {y_np.shape[0]}")
    if x_np.shape[0] < min_rows:
        raise ValueError(f"{where}: need at least {min_rows} paired samples, got {x_np.shape[0]}")
    return x_np, y_np


def _inverse_sqrt(cov: np.ndarray, name: str, where: str) -> np.ndarray:
    """``C^{-1/2}`` of a symmetric positive definite matrix, by its eigendecomposition."""
    values, vectors = np.linalg.eigh(cov)
    if values[0] <= _SINGULAR_RTOL * max(values[-1], 0.0) or values[-1] <= 0:
        raise ValueError(f"{where}: the covariance of {name} is singular (smallest eigenvalue {values[0]:.3g}, "
                         f"largest {values[-1]:.3g}): some features are constant or linear combinations of others; "
                         f"pass reg > 0 or drop them")
    return (vectors / np.sqrt(values)) @ vectors.T


def cca(x, y, k: int, reg: float = 1e-6) -> CCAResult:
    r"""Canonical correlation analysis of two paired views: the first ``k`` canonical correlations and directions.

    Both views are centred, their covariances estimated with the ``n − 1`` denominator and regularised by a ridge,
    :math:`C_{xx} = \tfrac{1}{n-1} X^\top X + r I`, :math:`C_{yy} = \tfrac{1}{n-1} Y^\top Y + r I` with ``r = reg``
    (the cross-covariance :math:`C_{xy} = \tfrac{1}{n-1} X^\top Y` is not regularised). Then

    .. math::

        T = C_{xx}^{-1/2} C_{xy} C_{yy}^{-1/2} = U S V^\top, \qquad
        \rho = \operatorname{diag}(S)_{1..k}, \quad A = C_{xx}^{-1/2} U_{:, 1..k}, \quad B = C_{yy}^{-1/2} V_{:, 1..k}.

    The ridge is absolute, so it assumes features on a unit-like scale (standardise them first otherwise). The
    default ``1e-6`` changes well-conditioned results by about that much and guards against covariances that
    are singular up to rounding; a larger ``reg`` (such as 1e-3 to 1e-1) tames nearly singular ones, for example
    when there are few samples per feature; ``reg=0`` is the textbook, unregularised CCA. Without a ridge CCA is
    invariant to invertible affine maps of each view, ``x ↦ x M + c``.

    Paper: H. Hotelling (1936), "Relations between two sets of variates", Biometrika 28(3/4).

    Book section: Part 2.4 Coordination (canonical correlation analysis).

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (n, d_x)
        The first view, one row per sample.
    y : array-like or torch.Tensor, shape (n, d_y)
        The second view, row i paired with row i of ``x``.
    k : int
        How many canonical pairs to return, ``1 ≤ k ≤ min(rank x, rank y)`` (ranks of the centred views, so at
        most ``min(d_x, d_y, n − 1)``).
    reg : float, optional
        The ridge ``r ≥ 0`` added to each view's covariance; default 1e-6.

    Returns
    -------
    CCAResult
        ``correlations`` (k,) in [0, 1], descending; ``x_weights`` (d_x, k), ``y_weights`` (d_y, k); ``x_mean``,
        ``y_mean``; and ``transform(x, y)`` / ``score(x, y)`` for new samples. NumPy float64 arrays, whatever the
        input type (tensors are detached and copied to the CPU).

    Raises
    ------
    ValueError
        On views that are not matrices, have different numbers of rows, fewer than 2 rows, NaN or infinity; on
        ``k`` outside ``1 … min(rank x, rank y)``; on a negative ``reg``; on a singular covariance with ``reg=0``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal((500, 1))                            # one shared signal
    >>> x = np.hstack([z, rng.standard_normal((500, 2))])
    >>> y = np.hstack([rng.standard_normal((500, 1)), -2 * z + 0.1 * rng.standard_normal((500, 1))])
    >>> result = cca(x, y, k=2)
    >>> result.correlations.round(3)
    array([0.999, 0.08 ])
    >>> u, v = result.transform(x, y)
    >>> u.shape, round(float(np.corrcoef(u[:, 0], v[:, 0])[0, 1]), 3)
    ((500, 2), 0.999)
    """
    where = "cca"
    x_np, y_np = _check_views(x, y, where, min_rows=2)
    if isinstance(reg, bool) or not isinstance(reg, (int, float, np.integer, np.floating)) \
            or not np.isfinite(reg) or reg < 0:
        raise ValueError(f"{where}: reg must be a finite number >= 0, got reg={reg!r}")
    n = x_np.shape[0]
    x_mean, y_mean = x_np.mean(0), y_np.mean(0)
    xc, yc = x_np - x_mean, y_np - y_mean
    kmax = min(np.linalg.matrix_rank(xc), np.linalg.matrix_rank(yc))
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= kmax:
        raise ValueError(f"{where}: k must be an integer between 1 and {kmax} = min(rank of x, rank of y) (the "
                         f"centred views, shapes {x_np.shape} and {y_np.shape}, rank at most n − 1 = {n - 1}), "
                         f"got k={k!r}")
    correlations, x_weights, y_weights = _whitened_svd(xc, yc, k, reg)
    return CCAResult(correlations, x_weights, y_weights, x_mean, y_mean)


def _whitened_svd(xc: np.ndarray, yc: np.ndarray, k: int, reg: float):
    """The heart of :func:`cca`, for centred views: whiten each, then one SVD of the cross-covariance."""
    n = xc.shape[0]
    cxx = xc.T @ xc / (n - 1) + reg * np.eye(xc.shape[1])           # C_xx + r I
    cyy = yc.T @ yc / (n - 1) + reg * np.eye(yc.shape[1])           # C_yy + r I
    cxy = xc.T @ yc / (n - 1)                                       # C_xy
    wx, wy = _inverse_sqrt(cxx, "x", "cca"), _inverse_sqrt(cyy, "y", "cca")
    u, s, vt = np.linalg.svd(wx @ cxy @ wy, full_matrices=False)    # T = U S Vᵀ, s sorted largest first
    # Rounding can push a perfect correlation a hair above 1; a correlation is at most 1 by Cauchy-Schwarz.
    return np.clip(s[:k], 0.0, 1.0), wx @ u[:, :k], wy @ vt[:k].T   # ρ, A = C_xx^(-1/2) U, B = C_yy^(-1/2) V
