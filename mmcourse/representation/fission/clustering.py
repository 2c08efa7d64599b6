r"""Fine-grained fission (Part 2.5): the two equations of deep embedded clustering, and cluster purity.

Deep embedded clustering (DEC, Xie et al., 2016) learns an embedding and cluster centres together. It assigns each
embedding softly to the centres with a Student-t kernel (:func:`soft_assignment`), sharpens these assignments into
a target (:func:`target_distribution`) and moves both the embedding and the centres towards the target by
minimising :math:`\mathrm{KL}(P \,\Vert\, Q)`; :mod:`~mmcourse.representation.fission.deep_clustering` builds the
multimodal model on them. :func:`cluster_purity` grades a clustering against labels that it never saw.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import Tensor

__all__ = ["cluster_purity", "soft_assignment", "target_distribution"]


def _labels(name: str, values) -> np.ndarray:
    if isinstance(values, Tensor):
        values = values.detach().cpu().numpy()
    if isinstance(values, (list, tuple)) and len({isinstance(v, str) for v in values}) > 1:
        raise TypeError(f"cluster_purity: {name} mixes strings with other labels; give labels of one kind "
                        f"(NumPy would turn 0 into '0'), got {', '.join(sorted({type(v).__name__ for v in values}))}")
    values = np.asarray(values)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"cluster_purity: {name} must be a non-empty 1-D array of labels, got shape {values.shape}")
    if values.dtype.kind in "fc" and not np.isfinite(values).all():
        raise ValueError(f"cluster_purity: {name} contains NaN or infinite values")
    return values


def cluster_purity(labels_true, labels_pred) -> float:
    r"""The purity of a clustering: the fraction of points that carry their cluster's most common true label.

    :math:`\mathrm{purity} = \frac1n \sum_k \max_j |C_k \cap L_j|`, with :math:`C_k` the points of cluster
    :math:`k` and :math:`L_j` those of class :math:`j`. It is 1 when every cluster holds one class, and it is at
    least the share of the largest class. It rewards many clusters (one point per cluster has purity 1), so compare
    clusterings with the same number of clusters, or add a second view such as normalised mutual information.

    Parameters
    ----------
    labels_true, labels_pred : array-like of shape (n,)
        Class labels and cluster indices (any hashable values: ints, strings); tensors are accepted.

    Returns
    -------
    float

    Examples
    --------
    >>> cluster_purity([0, 0, 1, 1, 2, 2], [5, 5, 5, 7, 7, 7])   # cluster 5 is mostly 0, cluster 7 mostly 2
    0.6666666666666666
    >>> cluster_purity(["a", "b", "c"], [0, 1, 2])
    1.0
    """
    true, pred = _labels("labels_true", labels_true), _labels("labels_pred", labels_pred)
    if true.shape != pred.shape:
        raise ValueError(f"cluster_purity: labels_true and labels_pred must have the same length, got {true.size} "
                         f"and {pred.size}")
    _, true_codes = np.unique(true, return_inverse=True)
    _, pred_codes = np.unique(pred, return_inverse=True)
    counts = np.zeros((pred_codes.max() + 1, true_codes.max() + 1), dtype=np.int64)   # clusters × classes
    np.add.at(counts, (pred_codes, true_codes), 1)
    return float(counts.max(axis=1).sum() / true.size)


def _as_tensor(where: str, name: str, x) -> tuple[Tensor, bool]:
    """``x`` as a float tensor, and whether it came as NumPy (then the result goes back as NumPy)."""
    was_numpy = isinstance(x, np.ndarray)
    if was_numpy:
        x = torch.from_numpy(np.asarray(x, dtype=np.float64))
    if not isinstance(x, Tensor):
        raise TypeError(f"{where}: {name} must be a NumPy array or a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 2:
        raise ValueError(f"{where}: {name} must be 2-D, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        x = x.double()
    if not torch.isfinite(x).all():
        raise ValueError(f"{where}: {name} contains NaN or infinite values")
    return x, was_numpy


def soft_assignment(z, centroids, alpha: float = 1.0):
    r"""DEC's soft assignment of each point to each centre under a Student-t kernel.

    .. math::

        q_{ij} = \frac{(1 + \lVert z_i - \mu_j \rVert^2 / \alpha)^{-(\alpha + 1)/2}}
                      {\sum_{j'} (1 + \lVert z_i - \mu_{j'} \rVert^2 / \alpha)^{-(\alpha + 1)/2}}

    With the default :math:`\alpha = 1` (one degree of freedom) the kernel is
    :math:`(1 + \lVert z_i - \mu_j \rVert^2)^{-1}`. Its heavy tails keep a gradient flowing for points far from
    every centre, where a Gaussian kernel would vanish.

    Parameters
    ----------
    z : torch.Tensor or numpy.ndarray, shape (n, d)
        The embeddings.
    centroids : torch.Tensor or numpy.ndarray, shape (k, d)
        The cluster centres ``μ_j``.
    alpha : float
        Degrees of freedom of the Student-t kernel, > 0.

    Returns
    -------
    torch.Tensor or numpy.ndarray, shape (n, k)
        Rows sum to one. NumPy in, NumPy out; tensors stay differentiable.

    Examples
    --------
    >>> import numpy as np
    >>> soft_assignment(np.array([[0.0], [1.0]]), np.array([[0.0], [1.0]]))   # (1, 1/2) and (1/2, 1), normalised
    array([[0.66666667, 0.33333333],
           [0.33333333, 0.66666667]])
    """
    where = "soft_assignment"
    z, numpy_z = _as_tensor(where, "z", z)
    centroids, numpy_c = _as_tensor(where, "centroids", centroids)
    for name, x in (("z", z), ("centroids", centroids)):
        if x.shape[0] == 0:
            raise ValueError(f"{where}: {name} must have at least one row, got shape {tuple(x.shape)}")
    if z.shape[1] != centroids.shape[1]:
        raise ValueError(f"{where}: z has {z.shape[1]} features per row but centroids have {centroids.shape[1]}; "
                         f"they must match")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < float("inf"):
        raise ValueError(f"{where}: alpha must be a finite number > 0, got {alpha!r}")
    dtype = torch.promote_types(z.dtype, centroids.dtype)
    z, centroids = z.to(dtype), centroids.to(dtype)
    squared = (z.unsqueeze(1) - centroids.unsqueeze(0)).pow(2).sum(dim=2)     # (n, k): ‖z_i − μ_j‖²
    kernel = (1 + squared / alpha).pow(-(alpha + 1) / 2)
    q = kernel / kernel.sum(dim=1, keepdim=True)
    return q.numpy() if (numpy_z and numpy_c) else q


def target_distribution(q):
    r"""DEC's target: square the soft assignments, divide by each cluster's soft size, renormalise each row.

    .. math::

        p_{ij} = \frac{q_{ij}^2 / f_j}{\sum_{j'} q_{ij'}^2 / f_{j'}}, \qquad f_j = \sum_i q_{ij}.

    Squaring sharpens confident assignments; dividing by the soft frequency :math:`f_j` keeps large clusters from
    swallowing the others. The target is a constant during a step (compute it without gradient).

    Parameters
    ----------
    q : torch.Tensor or numpy.ndarray, shape (n, k)
        Soft assignments: non-negative, each row summing to one.

    Returns
    -------
    torch.Tensor or numpy.ndarray, shape (n, k)
        An empty cluster (a column of zeros, :math:`f_j = 0`) gets a target of 0, with a warning.

    Examples
    --------
    >>> import numpy as np
    >>> target_distribution(np.array([[0.5, 0.5], [0.75, 0.25]])).round(3)   # f = (1.25, 0.75)
    array([[0.375, 0.625],
           [0.844, 0.156]])
    """
    where = "target_distribution"
    q, was_numpy = _as_tensor(where, "q", q)
    if q.shape[0] == 0 or q.shape[1] == 0:
        raise ValueError(f"{where}: q must have at least one row and one cluster, got shape {tuple(q.shape)}")
    if (q < 0).any() or not torch.allclose(q.sum(dim=1), torch.ones_like(q[:, 0]), atol=1e-4):
        raise ValueError(f"{where}: q must hold soft assignments, non-negative with rows summing to 1")
    frequency = q.sum(dim=0)
    empty = frequency == 0
    if empty.any():
        # An empty cluster (f_j = 0, so q_ij = 0 for every i) would give 0/0. Its target is the limit, 0.
        warnings.warn(f"{where}: cluster{'s' if empty.sum() > 1 else ''} "
                      f"{', '.join(map(str, torch.nonzero(empty).flatten().tolist()))} of q "
                      f"{'are' if empty.sum() > 1 else 'is'} empty (no point assigned, f_j = 0); "
                      f"its target is set to 0", UserWarning, stacklevel=2)
        frequency = torch.where(empty, torch.ones_like(frequency), frequency)
    weight = q.pow(2) / frequency
    p = weight / weight.sum(dim=1, keepdim=True)
    return p.numpy() if was_numpy else p
