r"""Canonical time warping (Part 3.2 of the book, continuous alignment): DTW between sequences that live in
different feature spaces, by alternating CCA and DTW.

DTW (:func:`mmcourse.alignment.dtw`) compares ``x_i`` with ``y_j`` directly, so both must have the same features.
Two modalities rarely do: a video's pose features and an accelerometer's readings share their timing, not their
coordinates. Canonical time warping (Zhou and De la Torre 2009) learns a linear projection of each sequence into a
shared k-dimensional space *and* the warping path, by minimising

.. math::

    J(W_x, W_y, V_x, V_y) = \lVert V_x^\top X W_x - V_y^\top Y W_y \rVert_F^2
    \quad\text{s.t.}\quad V_x^\top X W_x W_x^\top X^\top V_x = V_y^\top Y W_y W_y^\top Y^\top V_y = I_k,

where the columns of ``X`` (d_x × n) and ``Y`` (d_y × m) are the centred frames and ``W_x`` (n × L), ``W_y``
(m × L) are 0/1 matrices that pick the frames paired by a warping path of length L. For a fixed path this is CCA of
the aligned frame pairs; for fixed projections it is DTW between the projected sequences. CTW alternates the two.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmcourse.alignment._checks import as_numpy, sequence_shape
from mmcourse.alignment.warping import dtw
from mmcourse.data.sequences import _walk
from mmcourse.representation.coordination.canonical import CCAResult, cca

__all__ = ["CTWResult", "canonical_time_warping", "diagonal_path", "path_deviation"]


def diagonal_path(n: int, m: int) -> list[tuple[int, int]]:
    """The uniform alignment: the warping path that stays closest to the straight line from (0, 0) to (n−1, m−1).

    From ``(0, 0)`` it takes whichever step ``(1, 1)``, ``(1, 0)`` or ``(0, 1)`` lands on the cell whose two
    relative times ``i/(n−1)`` and ``j/(m−1)`` are closest (ties to the diagonal step). It is CTW's starting point:
    with no idea of the warp, assume both sequences run at constant speed.

    Parameters
    ----------
    n, m : int
        The lengths of the two sequences, each ≥ 1.

    Returns
    -------
    list of (int, int)
        A warping path from ``(0, 0)`` to ``(n − 1, m − 1)``.

    Examples
    --------
    >>> diagonal_path(3, 5)
    [(0, 0), (1, 1), (1, 2), (2, 3), (2, 4)]
    """
    for name, value in (("n", n), ("m", m)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"diagonal_path: {name} must be an integer >= 1, got {name}={value!r}")
    # The same walk that generates the toy's true warps, on two uniform clocks.
    t = np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)
    tau = np.linspace(0.0, 1.0, m) if m > 1 else np.zeros(1)
    return [(int(i), int(j)) for i, j in _walk(t, tau)]


def path_deviation(path, reference) -> float:
    """How far a warping path lies from a reference one: the mean, over the cells ``(i, j)`` of ``path``, of the
    distance ``|i − i'|`` to the nearest cell ``(i', j)`` of ``reference`` in the same column.

    0 when ``path`` only visits cells of ``reference``; measured in steps of the first sequence. Both paths must
    end at the same cell ``(n − 1, m − 1)`` (so that every column of ``path`` appears in ``reference``).

    Examples
    --------
    >>> path_deviation([(0, 0), (1, 1), (2, 2)], [(0, 0), (1, 0), (2, 1), (2, 2)])
    0.3333333333333333
    """
    path, reference = _as_path(path, "path"), _as_path(reference, "reference")
    if tuple(path[-1]) != tuple(reference[-1]):
        raise ValueError(f"path_deviation: path and reference must end at the same cell, got {tuple(path[-1])} "
                         f"and {tuple(reference[-1])}")
    m = int(reference[-1, 1]) + 1
    lo, hi = np.full(m, np.inf), np.full(m, -np.inf)       # the range of i that reference visits in each column
    np.minimum.at(lo, reference[:, 1], reference[:, 0])
    np.maximum.at(hi, reference[:, 1], reference[:, 0])
    i, j = path[:, 0], path[:, 1]
    return float(np.mean(np.maximum(0, np.maximum(lo[j] - i, i - hi[j]))))


def _as_path(path, name: str) -> np.ndarray:
    try:
        array = np.asarray(path, dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"path_deviation: {name} must be a list of (i, j) pairs, got {path!r}") from exc
    if array.ndim != 2 or array.shape[1] != 2 or len(array) == 0:
        raise ValueError(f"path_deviation: {name} must be a non-empty list of (i, j) pairs, got shape {array.shape}")
    steps = np.diff(array, axis=0)
    if tuple(array[0]) != (0, 0) or not ((steps >= 0) & (steps <= 1)).all() or (steps.sum(1) == 0).any():
        raise ValueError(f"path_deviation: {name} must be a warping path from (0, 0) with steps (1, 0), (0, 1), "
                         f"(1, 1)")
    return array


@dataclass
class CTWResult:
    """What :func:`canonical_time_warping` returns.

    Attributes
    ----------
    path : list of (int, int)
        The warping path of the best iterate (lowest objective).
    cca : CCAResult
        The CCA of the frame pairs on that path: ``x_weights`` (d_x, k) and ``y_weights`` (d_y, k) are the
        projections (scaled to unit variance, so ``V = weights / sqrt(L − 1)``), ``correlations`` the k canonical
        correlations.
    objective : float
        ``J`` at the returned iterate.
    objectives : list of float
        ``J`` after the CCA step of every iteration, the first one on the diagonal path.
    paths : list of list of (int, int)
        The path of every iteration, the first one the diagonal.
    converged : bool
        Whether the path reached a fixed point (DTW gave back the path it was fitted on).
    """

    path: list
    cca: CCAResult
    objective: float
    objectives: list = field(default_factory=list)
    paths: list = field(default_factory=list)
    converged: bool = False

    def transform(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """The projected sequences ``(x − x̄) A`` (n, k) and ``(y − ȳ) B`` (m, k), whose DTW gives :attr:`path`
        at convergence. The two sequences may have different lengths."""
        x_np, y_np = _check_sequences(x, y, "CTWResult.transform")
        for name, data, mean in (("x", x_np, self.cca.x_mean), ("y", y_np, self.cca.y_mean)):
            if data.shape[1] != mean.shape[0]:
                raise ValueError(f"CTWResult.transform: {name} must have {mean.shape[0]} features (as when fitted), "
                                 f"got shape {data.shape}")
        return (x_np - self.cca.x_mean) @ self.cca.x_weights, (y_np - self.cca.y_mean) @ self.cca.y_weights


def _check_sequences(x, y, where: str) -> tuple[np.ndarray, np.ndarray]:
    x_np, y_np = as_numpy(x, "x", where), as_numpy(y, "y", where)
    sequence_shape(x_np.shape, "x", where)
    sequence_shape(y_np.shape, "y", where)
    return x_np, y_np


def _objective(u: np.ndarray, v: np.ndarray, path: np.ndarray) -> float:
    """``J = Σ_(i,j)∈path ‖u_i − v_j‖² / (L − 1)``: the CTW objective with ``V = weights / sqrt(L − 1)``."""
    return float(((u[path[:, 0]] - v[path[:, 1]]) ** 2).sum() / (len(path) - 1))


def canonical_time_warping(x, y, k: int | None = None, reg: float = 1e-3, max_iter: int = 50,
                           patience: int = 3) -> CTWResult:
    r"""Canonical time warping: align two sequences with different features by alternating CCA and DTW.

    Minimises :math:`J = \lVert V_x^\top X W_x - V_y^\top Y W_y \rVert_F^2` over the warping path
    (``W_x``, ``W_y``) and the projections ``V_x`` (d_x × k), ``V_y`` (d_y × k), subject to CCA's constraints
    :math:`V_x^\top X W_x W_x^\top X^\top V_x = V_y^\top Y W_y W_y^\top Y^\top V_y = I_k` (frames centred on the
    mean of the aligned pairs). Starting from the uniform alignment (:func:`diagonal_path`), each iteration

    1. fits CCA (:func:`mmcourse.representation.cca`, ridge ``reg``) on the L frame pairs ``(x_i, y_j)`` of the
       current path: for a fixed path this minimises J, and with ``reg = 0``, :math:`J = 2k - 2\sum_l \rho_l`;
    2. runs DTW (:func:`mmcourse.alignment.dtw`) between the projected sequences :math:`V_x^\top x_i` and
       :math:`V_y^\top y_j`: for fixed projections this minimises J over paths.

    It stops when DTW gives back the path it started from (a fixed point), after ``max_iter`` iterations, or when
    the objective has not improved for ``patience`` iterations; it returns the iterate with the lowest J. Each
    half-step is optimal for its own variables, but the CCA constraints move with the path, so J is not
    guaranteed to fall at every iteration (on the book's toy, 6 runs in 30 had a rise, each under 1%); keeping the
    best iterate makes the result never worse than the diagonal start.

    Paper: F. Zhou and F. De la Torre (2009), "Canonical Time Warping for Alignment of Human Behavior", NeurIPS.

    Book section: Part 3.2 Continuous alignment (warping across feature spaces).

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (n, d_x)
        The first sequence, n ≥ 2 frames.
    y : array-like or torch.Tensor, shape (m, d_y)
        The second sequence, m ≥ 2 frames, with its own number of features d_y.
    k : int, optional
        The dimension of the shared space, ``1 ≤ k ≤ min(d_x, d_y)``; default ``min(d_x, d_y)``.
    reg : float, default 1e-3
        The ridge of each CCA (see :func:`mmcourse.representation.cca`); features on a unit-like scale assumed.
    max_iter : int, default 50
        The most iterations (CCA + DTW) to run.
    patience : int, default 3
        Stop after this many iterations without a lower objective.

    Returns
    -------
    CTWResult
        ``path``, ``cca`` (the projections), ``objective``, ``objectives`` and ``paths`` per iteration,
        ``converged``, and ``transform(x, y)``.

    Raises
    ------
    ValueError
        On a sequence that is not 2-D, has fewer than 2 frames, has NaN or infinity; on ``k`` outside
        ``1 … min(d_x, d_y)``; on ``max_iter`` or ``patience`` < 1; on a negative ``reg``.

    Examples
    --------
    >>> import numpy as np
    >>> from mmcourse.data import make_warped_pair
    >>> pair = make_warped_pair(n=40, m=60, d=2, noise=0.0, seed=0)
    >>> mixed = pair["y"] @ np.array([[2.0, 1.0, 0.0], [-1.0, 1.0, 3.0]])   # 2 features seen as 3 mixed ones
    >>> result = canonical_time_warping(pair["x"], mixed, k=2)
    >>> result.converged, path_deviation(result.path, pair["warp"]) < 0.5
    (True, True)
    """
    where = "canonical_time_warping"
    x_np, y_np = _check_sequences(x, y, where)
    for name, data in (("x", x_np), ("y", y_np)):
        if data.shape[0] < 2:
            raise ValueError(f"{where}: {name} must have at least 2 frames, got shape {data.shape}")
    kmax = min(x_np.shape[1], y_np.shape[1])
    k = kmax if k is None else k
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= kmax:
        raise ValueError(f"{where}: k must be an integer between 1 and min(d_x, d_y) = {kmax} (x has shape "
                         f"{x_np.shape}, y has shape {y_np.shape}), got k={k!r}")
    for name, value in (("max_iter", max_iter), ("patience", patience)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{where}: {name} must be an integer >= 1, got {name}={value!r}")

    if isinstance(reg, bool) or not isinstance(reg, (int, float, np.integer, np.floating)) \
            or not np.isfinite(reg) or reg < 0:
        raise ValueError(f"{where}: reg must be a finite number >= 0, got reg={reg!r}")

    path = diagonal_path(len(x_np), len(y_np))
    objectives, paths, best, converged = [], [], None, False
    for _ in range(max_iter):
        cells = np.asarray(path)
        fit = cca(x_np[cells[:, 0]], y_np[cells[:, 1]], int(k), reg)        # the projections for this path
        u, v = (x_np - fit.x_mean) @ fit.x_weights, (y_np - fit.y_mean) @ fit.y_weights
        objectives.append(_objective(u, v, cells))
        paths.append(path)
        if best is None or objectives[-1] < best[0]:
            best = (objectives[-1], path, fit, len(objectives))
        if len(objectives) - best[3] >= patience:
            break
        _, new_path = dtw(u, v)                                             # the path for these projections
        if new_path == path:
            converged = True
            break
        path = new_path
    objective, path, fit, _ = best
    return CTWResult(path=path, cca=fit, objective=objective, objectives=objectives, paths=paths,
                     converged=converged)
