r"""Orthogonal Procrustes and its refinement loop (Part 3.2 of the book, continuous alignment).

Given paired points, the best rotation between two spaces has a closed form (Schönemann 1966): with
:math:`U \Sigma V^\top = \operatorname{svd}(Y^\top X)`, :math:`W^* = U V^\top` minimises
:math:`\|W X^\top - Y^\top\|_F` over orthogonal :math:`W`. Without pairs, mutual nearest neighbours after a rough
map stand in for them, and solving Procrustes on them again refines the map (Conneau et al. 2018). The adversarial
stage that produces the rough map is in :mod:`mmcourse.alignment.adversarial`.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.distance import cdist

from mmcourse.alignment._checks import as_numpy

__all__ = ["procrustes", "orthogonalize", "mutual_nearest_neighbours", "translation_accuracy", "procrustes_refinement"]


def _cloud(value, name: str, where: str) -> np.ndarray:
    array = as_numpy(value, name, where)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{where}: {name} must be a non-empty point cloud of shape (points, features), "
                         f"got shape {array.shape}")
    return array


def _same_dim(x: np.ndarray, y: np.ndarray, where: str) -> None:
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"{where}: x and y must have the same number of features, got shapes {x.shape} and {y.shape}")


def _weight(value, d: int, where: str) -> np.ndarray:
    w = as_numpy(value, "weight", where)
    if w.shape != (d, d):
        raise ValueError(f"{where}: weight must be a square matrix of shape ({d}, {d}), got shape {w.shape}")
    return w


def procrustes(x, y) -> np.ndarray:
    r"""The orthogonal Procrustes solution: the orthogonal ``W`` (d, d) that best maps paired rows ``x_i`` onto
    ``y_i``.

    :math:`W^\star = \arg\min_{W^\top W = I} \sum_i \lVert W x_i - y_i \rVert^2 = U V^\top` where
    :math:`U \Sigma V^\top` is the SVD of :math:`Y^\top X = \sum_i y_i x_i^\top` (Schönemann 1966). Expanding the
    square, the problem is to maximise :math:`\operatorname{tr}(W^\top Y^\top X)`, which :math:`U V^\top` attains.

    Book section: Part 3.2 Continuous alignment (adversarial warping of spaces).

    Parameters
    ----------
    x, y : array-like or torch.Tensor, shape (n, d)
        Paired points: row i of ``x`` corresponds to row i of ``y``.

    Returns
    -------
    numpy.ndarray, shape (d, d)
        An orthogonal matrix; map points with ``x @ W.T``.

    Examples
    --------
    >>> import numpy as np
    >>> rotation = np.array([[0.0, -1.0], [1.0, 0.0]])            # a quarter turn
    >>> x = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    >>> np.round(procrustes(x, x @ rotation.T), 6) + 0.0
    array([[ 0., -1.],
           [ 1.,  0.]])
    """
    where = "procrustes"
    x_np, y_np = _cloud(x, "x", where), _cloud(y, "y", where)
    if x_np.shape != y_np.shape:
        raise ValueError(f"procrustes: x and y must be paired point clouds of the same shape, got {x_np.shape} and "
                         f"{y_np.shape}")
    u, _, vt = np.linalg.svd(y_np.T @ x_np)
    return u @ vt


def orthogonalize(weight, beta: float = 0.01):
    r"""One step of MUSE's orthogonality update, :math:`W \leftarrow (1 + \beta) W - \beta (W W^\top) W`.

    It leaves an orthogonal ``W`` unchanged and moves every singular value ``s`` of ``W`` to
    :math:`(1 + \beta) s - \beta s^3`, whose fixed point is ``s = 1``: repeated, it keeps ``W`` close to orthogonal
    (for ``0 < β`` small and singular values in ``(0, \sqrt{(1 + β) / β})``).

    Paper: A. Conneau, G. Lample, M. Ranzato, L. Denoyer and H. Jégou (2018), "Word Translation Without Parallel
    Data", ICLR (section 3.3).

    Parameters
    ----------
    weight : numpy.ndarray or torch.Tensor, shape (d, d)
    beta : float, default 0.01
        The step β > 0.

    Returns
    -------
    The updated matrix, of the input's type (a tensor keeps its dtype, device and graph).

    Examples
    --------
    >>> import numpy as np
    >>> orthogonalize(np.diag([2.0, 0.5]), beta=0.1)
    array([[1.4   , 0.    ],
           [0.    , 0.5375]])
    """
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not 0 < beta < 1:
        raise ValueError(f"orthogonalize: beta must be a number in (0, 1), got beta={beta!r}")
    w = weight if isinstance(weight, torch.Tensor) else as_numpy(weight, "weight", "orthogonalize")
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(f"orthogonalize: weight must be a square matrix, got shape {tuple(w.shape)}")
    return (1 + beta) * w - beta * (w @ w.T) @ w


def mutual_nearest_neighbours(a, b) -> tuple[np.ndarray, np.ndarray]:
    """The pairs ``(i, j)`` where ``b_j`` is the nearest neighbour of ``a_i`` in ``b`` *and* ``a_i`` that of ``b_j``
    in ``a`` (Euclidean distance): the matches that both sides agree on.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The indices ``i`` into ``a`` (ascending) and ``j`` into ``b`` of the mutual pairs, int64.

    Examples
    --------
    >>> mutual_nearest_neighbours([[0.0], [1.0], [5.0]], [[0.1], [4.0]])
    (array([0, 2]), array([0, 1]))
    """
    where = "mutual_nearest_neighbours"
    a_np, b_np = _cloud(a, "a", where), _cloud(b, "b", where)
    if a_np.shape[1] != b_np.shape[1]:
        raise ValueError(f"{where}: a and b must have the same number of features, got shapes {a_np.shape} and "
                         f"{b_np.shape}")
    distances = cdist(a_np, b_np, "sqeuclidean")
    forward, backward = distances.argmin(1), distances.argmin(0)
    i = np.flatnonzero(backward[forward] == np.arange(len(a_np)))
    return i.astype(np.int64), forward[i].astype(np.int64)


def translation_accuracy(x, y, weight, partner) -> float:
    """The fraction of points ``x_i`` whose nearest neighbour in ``y`` after mapping, ``W x_i``, is their true
    partner ``y[partner[i]]``.

    Examples
    --------
    >>> translation_accuracy([[0.0, 1.0], [2.0, 0.0]], [[0.0, 2.0], [-1.0, 0.0]], [[0, -1], [1, 0]], [1, 0])
    1.0
    """
    where = "translation_accuracy"
    x_np, y_np = _cloud(x, "x", where), _cloud(y, "y", where)
    _same_dim(x_np, y_np, where)
    w = _weight(weight, x_np.shape[1], where)
    partner = np.asarray(partner)
    if partner.shape != (len(x_np),) or partner.dtype.kind not in "iu" or partner.min() < 0 \
            or partner.max() >= len(y_np):
        raise ValueError(f"{where}: partner must hold one index into y (0 … {len(y_np) - 1}) per point of x, shape "
                         f"({len(x_np)},), got {partner.dtype} of shape {partner.shape}")
    return float(np.mean(cdist(x_np @ w.T, y_np, "sqeuclidean").argmin(1) == partner))


def procrustes_refinement(x, y, weight, iterations: int = 5) -> np.ndarray:
    r"""Refine a map ``W`` without pairs: match the mutual nearest neighbours of ``W x`` and ``y``, solve
    :func:`procrustes` on those matches, and repeat ``iterations`` times (Conneau et al. 2018, section 2.3).

    Works when ``W`` is already roughly right: then most mutual neighbours are true pairs and the closed form
    removes what is left of the error; from a wrong start it settles on a wrong map.

    Returns
    -------
    numpy.ndarray, shape (d, d)
        An orthogonal matrix (or ``weight`` itself when ``iterations`` is 0).

    Examples
    --------
    >>> from mmcourse.alignment import make_rotated_clouds
    >>> clouds = make_rotated_clouds(n=50, noise=0.0, seed=0)
    >>> rough = clouds["rotation"] + 0.1                  # roughly right, and not orthogonal
    >>> w = procrustes_refinement(clouds["x"], clouds["y"], rough, iterations=3)
    >>> bool(np.allclose(w, clouds["rotation"]))
    True
    """
    where = "procrustes_refinement"
    x_np, y_np = _cloud(x, "x", where), _cloud(y, "y", where)
    _same_dim(x_np, y_np, where)
    w = _weight(weight, x_np.shape[1], where)
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 0:
        raise ValueError(f"{where}: iterations must be an integer >= 0, got iterations={iterations!r}")
    for _ in range(iterations):
        i, j = mutual_nearest_neighbours(x_np @ w.T, y_np)
        w = procrustes(x_np[i], y_np[j])
    return w
