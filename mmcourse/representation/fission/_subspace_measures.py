r"""The toy world of Part 2.5's subspace fission, and how to grade a split into subspaces against the true one.

:func:`subspace_toy` draws independent 2-D groups of latent factors, some seen by both modalities and some by one,
and mixes them into two feature vectors. :func:`subspace_distance` compares two subspaces by their principal
angles, :func:`subspace_recovery` matches learned subspaces to true ones, and :func:`modality_share` reads from a
subspace's loadings which modality it comes from.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from mmcourse._checks import check_int, check_number
from mmcourse.utils import as_numpy, check_positive

__all__ = ["SubspaceToy", "modality_share", "subspace_distance", "subspace_recovery", "subspace_toy"]

OWNERS = ("shared", "x1", "x2")


def _index_groups(where: str, name: str, groups, size: int) -> list[np.ndarray]:
    """``groups`` as a non-empty list of non-empty integer index arrays with values in ``0 .. size - 1``."""
    if isinstance(groups, (str, bytes)) or not isinstance(groups, Sequence):
        raise TypeError(f"{where}: {name} must be a list of index lists, got {type(groups).__name__}")
    if len(groups) == 0:
        raise ValueError(f"{where}: {name} is empty; it needs at least one group")
    checked = []
    for k, group in enumerate(groups):
        index = np.asarray(group)
        if index.ndim != 1 or index.size == 0 or index.dtype.kind not in "iu":
            raise TypeError(f"{where}: {name}[{k}] must be a non-empty list of integer indices, got {group!r}")
        if index.min() < 0 or index.max() >= size:
            raise ValueError(f"{where}: {name}[{k}] must hold indices in 0..{size - 1}, got {index.tolist()}")
        checked.append(index)
    return checked


def _check_result(where: str, result) -> None:
    if not all(hasattr(result, a) for a in ("unmixing", "mixing", "groups")):
        raise TypeError(f"{where}: result must be a SubspaceResult (from fit_subspaces), got {type(result).__name__}")


@dataclass
class SubspaceToy:
    """Two modalities ``x1`` (n, d1), ``x2`` (n, d2), standardised per feature, made from ``sources`` (n, K·g):
    ``x1 ≈ sources @ mixing1.T``, ``x2 ≈ sources @ mixing2.T``. Group k (columns ``groups[k]`` of ``sources``) is
    seen by ``owners[k]``: ``"shared"`` (both), ``"x1"`` or ``"x2"`` (one only)."""

    x1: np.ndarray
    x2: np.ndarray
    sources: np.ndarray
    mixing1: np.ndarray
    mixing2: np.ndarray
    owners: tuple[str, ...]
    group_dim: int

    @property
    def groups(self) -> list[np.ndarray]:
        g = self.group_dim
        return [np.arange(k * g, (k + 1) * g) for k in range(len(self.owners))]

    @property
    def x(self) -> np.ndarray:
        """The joint features ``[x1, x2]``, (n, d1 + d2)."""
        return np.hstack([self.x1, self.x2])

    @property
    def mixing(self) -> np.ndarray:
        """The joint mixing ``[mixing1; mixing2]``, (d1 + d2, K·g)."""
        return np.vstack([self.mixing1, self.mixing2])


def subspace_toy(n: int = 2000, owners: Sequence[str] = ("shared", "shared", "x1", "x2"), group_dim: int = 2,
                 dims: tuple[int, int] = (10, 10), gaussian: Sequence[int] = (), noise: float = 0.05,
                 seed: int = 0) -> SubspaceToy:
    r"""Seeded toy data whose latent factors come in independent groups of ``group_dim`` (Part 2.5).

    Group k is :math:`s_k = \sigma_k\, u_k` with :math:`u_k \sim \mathcal N(0, I)` and one log-normal scale
    :math:`\sigma_k = e^{v}`, :math:`v \sim \mathcal N(0, 1)`, per example and group: the coordinates of a group are
    uncorrelated but not independent (they are large together), and different groups are independent, the model
    of independent subspace analysis. Groups listed in ``gaussian`` have :math:`\sigma_k = 1` (plain Gaussian).
    Each modality mixes the groups it sees with a random Gaussian matrix, adds noise of standard deviation
    ``noise`` and is standardised per feature (the mixing matrices are rescaled to match).

    Example
    -------
    >>> toy = subspace_toy(n=100, seed=0)
    >>> toy.x1.shape, toy.sources.shape, toy.owners
    ((100, 10), (100, 8), ('shared', 'shared', 'x1', 'x2'))
    """
    owners = tuple(owners)
    check_positive("subspace_toy", n=n, group_dim=group_dim, d1=dims[0], d2=dims[1])
    if not owners or any(o not in OWNERS for o in owners):
        raise ValueError(f"subspace_toy: owners must be a non-empty list of {OWNERS}, got {owners!r}")
    if any(not 0 <= k < len(owners) for k in gaussian):
        raise ValueError(f"subspace_toy: gaussian must list group indices in 0..{len(owners) - 1}, got {gaussian!r}")
    noise = check_number("subspace_toy", "noise", noise, low=0)
    seed = check_int("subspace_toy", "seed", seed, low=0)
    rng = np.random.default_rng(seed)
    groups = []
    for k in range(len(owners)):
        u = rng.standard_normal((n, group_dim))
        scale = np.ones(n) if k in gaussian else np.exp(rng.standard_normal(n))
        groups.append(u * scale[:, None])
    sources = np.hstack(groups)
    sources = (sources - sources.mean(0)) / sources.std(0)
    views = []
    for m, d in enumerate(dims):
        A = np.zeros((d, sources.shape[1]))
        for k, owner in enumerate(owners):
            if owner in ("shared", f"x{m + 1}"):
                A[:, k * group_dim:(k + 1) * group_dim] = rng.standard_normal((d, group_dim))
        x = sources @ A.T + noise * rng.standard_normal((n, d))
        mean, std = x.mean(0), x.std(0) + 1e-12
        views.append(((x - mean) / std, A / std[:, None]))
    (x1, A1), (x2, A2) = views
    return SubspaceToy(x1, x2, sources, A1, A2, owners, group_dim)


def subspace_distance(a, b) -> float:
    r"""The distance between the spans of the columns of ``a`` (d, k) and ``b`` (d, l): the root mean square sine
    of their :math:`\min(k, l)` principal angles :math:`\theta_j`,

    .. math:: \delta(A, B) = \sqrt{\tfrac{1}{\min(k, l)} \textstyle\sum_j \sin^2\theta_j}, \qquad
              \cos\theta_j = \sigma_j(Q_A^\top Q_B),

    with :math:`Q_A, Q_B` orthonormal bases. It is 0 for the same subspace (whatever the basis: it sees subspaces,
    not directions) and 1 when they are orthogonal; it equals :math:`\lVert P_A - P_B \rVert_F / \sqrt{2k}` for
    two subspaces of dimension :math:`k`. Part 2.5.

    Example
    -------
    >>> round(subspace_distance([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], [[2.0, 1.0], [1.0, 1.0], [0.0, 0.0]]), 6)
    0.0
    """
    a, b = as_numpy(a, "a", "subspace_distance"), as_numpy(b, "b", "subspace_distance")
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0]:
        raise ValueError(f"subspace_distance: a and b must be 2-D with the same number of rows (d, k), got shapes "
                         f"{a.shape} and {b.shape}")
    qa, qb = np.linalg.qr(a)[0], np.linalg.qr(b)[0]
    cosines = np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), 0.0, 1.0)
    return float(np.sqrt(max(np.mean(1.0 - cosines ** 2), 0.0)))


def subspace_recovery(result, mixing, true_groups: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    r"""How well the subspaces of ``result`` (a :class:`SubspaceResult`) recover the true groups of sources.

    ``mixing`` (d, r) maps the sources to the features, so :math:`M = W A` (``result.unmixing @ mixing``) says which
    combination of sources each learned coordinate reads. Learned subspace i is the span of the rows
    ``M[groups[i]]`` in source space; true group j spans the source axes ``true_groups[j]``. The learned subspaces
    are matched one-to-one to the true ones (Hungarian algorithm on :func:`subspace_distance`).

    Returns ``(distance, match)``: for each true group j, its distance to its matched learned subspace and that
    subspace's index.

    Example
    -------
    >>> from mmcourse.representation.fission.subspaces import fit_isa
    >>> toy = subspace_toy(n=300, owners=("shared", "x1"), dims=(4, 4), seed=0)
    >>> distance, match = subspace_recovery(fit_isa(toy.x, n_groups=2, steps=50), toy.mixing, toy.groups)
    >>> distance.round(2), match        # both true groups found (distance near 0), in the other order
    (array([0.03, 0.05]), array([1, 0]))
    """
    _check_result("subspace_recovery", result)
    mixing = as_numpy(mixing, "mixing", "subspace_recovery")
    if mixing.ndim != 2 or mixing.shape[0] != result.unmixing.shape[1]:
        raise ValueError(f"subspace_recovery: mixing must have shape ({result.unmixing.shape[1]}, r), one row per "
                         f"feature, got {mixing.shape}")
    true_groups = _index_groups("subspace_recovery", "true_groups", true_groups, mixing.shape[1])
    if len(true_groups) > len(result.groups):
        raise ValueError(f"subspace_recovery: true_groups lists {len(true_groups)} groups, more than the "
                         f"{len(result.groups)} learned subspaces they are matched to")
    M = result.unmixing @ mixing
    axes = np.eye(M.shape[1])
    D = np.array([[subspace_distance(M[g].T, axes[:, list(t)]) for t in true_groups] for g in result.groups])
    rows, cols = linear_sum_assignment(D)
    match = np.empty(len(true_groups), dtype=int)
    match[cols] = rows
    return D[match, np.arange(len(true_groups))], match


def modality_share(result, dims: Sequence[int]) -> np.ndarray:
    r"""For each subspace of ``result``, the share of its loadings' energy on each modality's features.

    With loadings :math:`A = ` ``result.mixing`` (features × coordinates) and the features of modality m in rows
    :math:`R_m`, subspace k draws :math:`\rho_{km} = \sum_{f \in R_m, j \in G_k} A_{fj}^2 \,/\, \sum_{f, j \in G_k}
    A_{fj}^2` from modality m, as group factor analysis reads its loadings: about equal shares for a shared
    subspace, close to 1 for a subspace unique to one modality. Standardise each modality first, or the share
    follows the units. Returns an array (K, number of modalities) whose rows sum to 1. Part 2.5.

    Example
    -------
    >>> from mmcourse.representation.fission.subspaces import fit_isa
    >>> toy = subspace_toy(n=300, owners=("shared", "x1"), dims=(4, 4), seed=0)
    >>> modality_share(fit_isa(toy.x, n_groups=2, steps=50), dims=(4, 4)).round(2)   # unique to x1, then shared
    array([[1.  , 0.  ],
           [0.32, 0.68]])
    """
    _check_result("modality_share", result)
    dims = [int(d) for d in dims]
    if sum(dims) != result.mixing.shape[0] or min(dims) < 1:
        raise ValueError(f"modality_share: dims must be positive and sum to the {result.mixing.shape[0]} features, "
                         f"got {dims}")
    bounds = np.cumsum([0, *dims])
    energy = np.array([[(result.mixing[lo:hi][:, g] ** 2).sum() for lo, hi in zip(bounds[:-1], bounds[1:])]
                       for g in result.groups])
    return energy / energy.sum(axis=1, keepdims=True)
