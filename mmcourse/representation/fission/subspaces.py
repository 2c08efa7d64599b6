r"""Fine-grained fission into subspaces (Part 2.5): independent subspace analysis (ISA).

ISA (Hyvärinen & Hoyer, 2000) splits a representation into groups of coordinates: the coordinates of one group may
depend on each other (their energies rise and fall together), different groups are independent. Applied to the
joint features :math:`[x_1; x_2]` of two modalities, each learned subspace is a piece of the representation, and
its loadings on :math:`x_1` and on :math:`x_2` (:func:`modality_share`) tell whether it is shared or unique to one
modality, as in group factor analysis. With groups of size one ISA is ICA; :func:`fit_subspaces` also offers PCA
as the baseline that only decorrelates. The toy world and the recovery measures live in
:mod:`~mmcourse.representation.fission._subspace_measures` and are re-exported here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from mmcourse._checks import check_int, check_number
from mmcourse.representation.fission._subspace_measures import (SubspaceToy, _index_groups, modality_share,
                                                                 subspace_distance, subspace_recovery, subspace_toy)
from mmcourse.utils import as_numpy, check_positive

__all__ = ["SUBSPACE_METHODS", "SubspaceResult", "SubspaceToy", "fit_isa", "fit_subspaces", "isa_objective",
           "modality_share", "restart_agreement", "subspace_distance", "subspace_recovery", "subspace_toy", "whiten"]


def _matrix(where: str, name: str, x) -> np.ndarray:
    x = np.asarray(as_numpy(x, name, where), dtype=np.float64)
    if x.ndim != 2 or x.size == 0:
        raise ValueError(f"{where}: {name} must be a non-empty 2-D array (n, d), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{where}: {name} contains NaN or infinite values")
    return x


def isa_objective(y, group_size: int, eps: float = 1e-3) -> float:
    r"""The ISA log-likelihood (up to a constant) of projected, whitened data ``y``.

    .. math:: L = -\frac1n \sum_{i=1}^n \sum_{k=1}^{K} \sqrt{\varepsilon + \textstyle\sum_{j \in G_k} y_{ij}^2},

    with :math:`G_k` the :math:`k`-th block of ``group_size`` consecutive columns (Hyvärinen & Hoyer, 2000, Part
    2.5). Each group's density is spherically symmetric and sparse (a Laplacian of the group's norm): the norm does
    not change when the group is rotated within itself, so ISA fixes subspaces, not directions in them. With
    ``group_size=1`` it is the ICA objective :math:`-\frac1n\sum_i \sum_j |y_{ij}|` (smoothed by :math:`\varepsilon`).

    Parameters
    ----------
    y : array-like (n, m)
        Projections :math:`y_i = W z_i` of whitened data; ``m`` a multiple of ``group_size``.
    group_size : int
    eps : float
        Smoothing that keeps the square root differentiable at zero.

    Returns
    -------
    float

    Example
    -------
    >>> round(isa_objective([[3.0, 4.0]], group_size=2, eps=0.0), 6)     # one sample, one group: -|(3, 4)|
    -5.0
    """
    y = _matrix("isa_objective", "y", y)
    check_positive("isa_objective", group_size=group_size)
    if y.shape[1] % group_size:
        raise ValueError(f"isa_objective: y has {y.shape[1]} columns, not a multiple of group_size={group_size}")
    eps = check_number("isa_objective", "eps", eps, low=0)
    energy = (y ** 2).reshape(len(y), -1, group_size).sum(axis=2)             # n × K group energies
    return float(-np.sqrt(eps + energy).sum(axis=1).mean())


def whiten(x, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""PCA whitening to ``dim`` dimensions: :math:`z = V (x - \bar x)` with :math:`\mathrm{Cov}(z) = I`.

    ``V`` holds the top ``dim`` eigenvectors of the covariance, each divided by the square root of its eigenvalue.
    Returns ``(z, V, mean)``; ``z`` has shape (n, dim), ``V`` (dim, d).

    Example
    -------
    >>> x = np.random.default_rng(0).standard_normal((200, 3)) * [1.0, 5.0, 0.1]
    >>> z, V, mean = whiten(x, dim=2)                    # keeps the two largest directions, scaled to variance 1
    >>> z.shape, V.shape, np.cov(z, rowvar=False, bias=True).round(6)
    ((200, 2), (2, 3), array([[1., 0.],
           [0., 1.]]))
    """
    x = _matrix("whiten", "x", x)
    check_positive("whiten", dim=dim)
    if dim > x.shape[1]:
        raise ValueError(f"whiten: dim must be at most the number of features {x.shape[1]}, got {dim}")
    mean = x.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov(x - mean, rowvar=False, bias=True))
    top = np.argsort(values)[::-1][:dim]
    V = (vectors[:, top] / np.sqrt(np.maximum(values[top], 1e-12))).T
    return (x - mean) @ V.T, V, mean


def _orthogonal(W: np.ndarray) -> np.ndarray:
    """The orthogonal matrix nearest to ``W`` (symmetric decorrelation, :math:`(WW^\\top)^{-1/2}W`)."""
    u, _, vt = np.linalg.svd(W)
    return u @ vt


def _ascend(W, z, group_size, eps, steps, lr):
    """Gradient ascent on :func:`isa_objective`, each step projected back on the orthogonal matrices."""
    n = len(z)
    for _ in range(steps):
        y = z @ W.T
        energy = (y ** 2).reshape(n, -1, group_size).sum(axis=2)
        scale = np.repeat(1.0 / np.sqrt(eps + energy), group_size, axis=1)     # ∂L/∂y_ij = -y_ij / ‖y_iG‖
        W = _orthogonal(W - lr * (y * scale).T @ z / n)
    return W


def _regroup(W, z, group_size, eps):
    """Swap rows between groups while a swap raises the objective: a permutation is orthogonal too, but gradient
    steps cannot make it, and without it ISA stays stuck with wrongly paired directions."""
    best = isa_objective(z @ W.T, group_size, eps)
    improved = True
    while improved:
        improved = False
        for i in range(len(W)):
            for j in range(i + 1, len(W)):
                if i // group_size == j // group_size:
                    continue
                order = np.arange(len(W))
                order[[i, j]] = order[[j, i]]
                value = isa_objective(z @ W[order].T, group_size, eps)
                if value > best + 1e-9:
                    W, best, improved = W[order], value, True
    return W


@dataclass
class SubspaceResult:
    """A split of d features into ``len(groups)`` subspaces: ``y = (x - mean) @ unmixing.T``, and the columns
    ``groups[k]`` of ``y`` are subspace k. ``mixing`` (d × m) holds each coordinate's loadings on the features.

    Example
    -------
    >>> result = SubspaceResult("pca", np.array([[2.0, 0.0], [0.0, 1.0]]), np.zeros(2), [np.arange(2)], 0.0)
    >>> result.mixing, result.transform([[1.0, 1.0]])
    (array([[0.5, 0. ],
           [0. , 1. ]]), array([[2., 1.]]))
    """

    method: str
    unmixing: np.ndarray
    mean: np.ndarray
    groups: list[np.ndarray]
    objective: float
    mixing: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        self.unmixing = _matrix("SubspaceResult", "unmixing", self.unmixing)
        self.mean = np.asarray(as_numpy(self.mean, "mean", "SubspaceResult"))
        if self.mean.shape != (self.unmixing.shape[1],):
            raise ValueError(f"SubspaceResult: mean must have shape ({self.unmixing.shape[1]},), one value per "
                             f"feature (column of unmixing), got {self.mean.shape}")
        self.groups = _index_groups("SubspaceResult", "groups", self.groups, len(self.unmixing))
        self.objective = check_number("SubspaceResult", "objective", self.objective)
        self.mixing = np.linalg.pinv(self.unmixing)

    def transform(self, x) -> np.ndarray:
        return (_matrix("SubspaceResult.transform", "x", x) - self.mean) @ self.unmixing.T


def fit_isa(x, n_groups: int, group_size: int = 2, *, init: str = "ica", steps: int = 300, lr: float = 0.3,
            eps: float = 1e-3, seed: int = 0) -> SubspaceResult:
    r"""Independent subspace analysis: maximise :func:`isa_objective` over orthogonal :math:`W` on whitened ``x``.

    ``x`` (n, d) is whitened to :math:`m = ` ``n_groups * group_size`` dimensions, then :math:`W` (m × m) is learned
    by projected gradient ascent. ``init="random"`` starts from a random rotation, as Hyvärinen & Hoyer (2000) do:
    it often ends in a local maximum that pairs directions of different true groups. ``init="ica"`` (default) first
    solves ICA (the same objective with groups of one), then lets the ISA objective regroup those directions by
    swaps and refines them: ICA's directions already lie in the true subspaces when these are independent, and
    only the grouping is left (Cardoso, 1998; the ISA separation theorem of Szabó, Póczos & Lőrincz, 2012). Part 2.5.

    Returns
    -------
    SubspaceResult

    Example
    -------
    >>> toy = subspace_toy(n=500, seed=0)
    >>> fit_isa(np.hstack([toy.x1, toy.x2]), n_groups=4).unmixing.shape
    (8, 20)
    """
    x = _matrix("fit_isa", "x", x)
    check_positive("fit_isa", n_groups=n_groups, group_size=group_size, steps=steps)
    if not lr > 0 or not eps >= 0:
        raise ValueError(f"fit_isa: lr must be > 0 and eps >= 0, got lr={lr}, eps={eps}")
    if init not in ("ica", "random"):
        raise ValueError(f"fit_isa: init must be 'ica' or 'random', got {init!r}")
    seed = check_int("fit_isa", "seed", seed, low=0)
    m = n_groups * group_size
    z, V, mean = whiten(x, m)
    W = _orthogonal(np.random.default_rng(seed).standard_normal((m, m)))
    if init == "ica" and group_size > 1:
        W = _regroup(_ascend(W, z, 1, eps, steps, lr), z, group_size, eps)
    W = _ascend(W, z, group_size, eps, steps, lr)
    groups = [np.arange(k * group_size, (k + 1) * group_size) for k in range(n_groups)]
    return SubspaceResult("isa" if group_size > 1 else "ica", W @ V, mean, groups,
                          isa_objective(z @ W.T, group_size, eps))


def _fit_ica(x, n_groups, group_size, **kwargs):
    ica = fit_isa(x, n_groups * group_size, 1, **kwargs)
    # ICA has no notion of groups: its components are grouped in the order it returns them
    groups = [np.arange(k * group_size, (k + 1) * group_size) for k in range(n_groups)]
    return SubspaceResult("ica", ica.unmixing, ica.mean, groups, ica.objective)


def _fit_pca(x, n_groups, group_size, **kwargs):
    x = _matrix("fit_subspaces", "x", x)
    z, V, mean = whiten(x, n_groups * group_size)
    groups = [np.arange(k * group_size, (k + 1) * group_size) for k in range(n_groups)]
    return SubspaceResult("pca", V, mean, groups, isa_objective(z, group_size))


SUBSPACE_METHODS = {"pca": _fit_pca, "ica": _fit_ica, "isa": fit_isa}


def fit_subspaces(x, n_groups: int, group_size: int = 2, method: str = "isa", **kwargs) -> SubspaceResult:
    """Split ``x`` into ``n_groups`` subspaces of ``group_size`` dimensions with a method of
    :data:`SUBSPACE_METHODS`: ``"pca"`` (consecutive principal components), ``"ica"`` (ICA components, grouped in
    the order found) or ``"isa"`` (:func:`fit_isa`).

    Example
    -------
    >>> toy = subspace_toy(n=300, owners=("shared", "x1"), dims=(4, 4), seed=0)
    >>> result = fit_subspaces(toy.x, n_groups=2, method="pca")
    >>> result.method, result.unmixing.shape, [g.tolist() for g in result.groups]
    ('pca', (4, 8), [[0, 1], [2, 3]])
    """
    if method not in SUBSPACE_METHODS:
        raise ValueError(f"fit_subspaces: unknown method {method!r}; known: {sorted(SUBSPACE_METHODS)}")
    return SUBSPACE_METHODS[method](x, n_groups, group_size, **kwargs)


def restart_agreement(x, n_groups: int, group_size: int = 2, seeds=(0, 1, 2, 3), **kwargs) -> float:
    r"""Whether :func:`fit_isa` finds the same subspaces from different random starts, with no ground truth needed.

    Fits ISA once per seed and, for every pair of fits, matches their subspaces one to one (Hungarian algorithm on
    :func:`subspace_distance`, measured in the whitened space both fits share) and averages the matched distances;
    returns the mean over pairs. Near 0: the subspaces are a property of the data; far from 0: the split is an
    accident of the start, and there may be no subspace structure to find. Part 2.5.

    Example
    -------
    >>> toy = subspace_toy(n=300, owners=("shared", "x1"), dims=(4, 4), seed=0)
    >>> round(restart_agreement(toy.x, n_groups=2, seeds=(0, 1), steps=50), 6)    # both starts agree
    0.0
    """
    seeds = list(seeds)
    if len(seeds) < 2:
        raise ValueError(f"restart_agreement: seeds must hold at least two seeds, got {seeds!r}")
    x = _matrix("restart_agreement", "x", x)
    _, V, _ = whiten(x, n_groups * group_size)
    fits = [fit_isa(x, n_groups, group_size, seed=seed, **kwargs) for seed in seeds]
    rotations = [fit.unmixing @ np.linalg.pinv(V) for fit in fits]           # W of each fit: unmixing = W V
    means = []
    for a in range(len(fits)):
        for b in range(a + 1, len(fits)):
            D = np.array([[subspace_distance(rotations[a][ga].T, rotations[b][gb].T) for gb in fits[b].groups]
                          for ga in fits[a].groups])
            rows, cols = linear_sum_assignment(D)
            means.append(D[rows, cols].mean())
    return float(np.mean(means))
