r"""PID on data: estimate the decomposition of continuous modalities from samples.

Part 7 of the book (Quantification). The exact :func:`~mmcourse.quantification.pid` needs a discrete joint
distribution; on continuous data each modality is discretised first (here by clustering), the joint table with the
label is counted, and the discrete problem is solved (Liang et al. 2023, *Quantifying & modeling multimodal
interactions: an information decomposition framework*).
"""
from __future__ import annotations

import numpy as np

from mmcourse.quantification.decomposition import PID, pid
from mmcourse.utils import as_numpy

__all__ = ["pid_from_samples"]


def _discretise(x, k: int, components: int, seed: int, name: str) -> np.ndarray:
    """Cluster labels of one modality: standardise, PCA to ``components`` dims, k-means with ``k`` clusters."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    x = as_numpy(x, name, "pid_from_samples")
    x = x.reshape(len(x), -1)  # (n,) -> (n, 1)
    x = (x - x.mean(axis=0)) / np.maximum(x.std(axis=0), 1e-12)
    dims = min(components, x.shape[1], len(x))
    if dims < x.shape[1]:
        x = PCA(n_components=dims, random_state=seed).fit_transform(x)
    return KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(x)


def pid_from_samples(x1, x2, y, clusters: tuple[int, int] = (8, 8), components: int = 4, seed: int = 0) -> PID:
    r"""Estimate the PID of continuous modalities from samples: cluster each modality, then solve it exactly.

    Each modality is standardised, reduced by PCA to ``components`` dimensions and clustered by k-means into
    ``clusters[m]`` clusters (seeded); the plug-in estimate of :math:`p(c_1, c_2, y)` is the table of relative
    frequencies of (cluster of :math:`x_1`, cluster of :math:`x_2`, label), and :func:`pid` decomposes it
    (BROJA; Bertschinger et al. 2014). This is the clustering estimator of Liang et al. (2023, *Quantifying &
    modeling multimodal interactions: an information decomposition framework*).

    Two approximations compete. Clustering loses information: a coarse partition blurs what each modality says
    about the label, so small ``clusters`` underestimate every part. The plug-in estimate is biased upward:
    :math:`I(C_1, C_2; Y)` is overestimated by about :math:`(k_1 k_2 - 1)(|Y| - 1) / (2 n \ln 2)` bits
    (Miller–Madow), and that spurious information lands mostly in the synergy, because the pair table has far
    more cells than either marginal table. So large ``clusters`` with few samples inflate synergy. Keep
    :math:`k_1 k_2 |Y|` well below :math:`n`, and compare datasets at the same settings rather than reading the
    numbers as exact.

    Parameters
    ----------
    x1, x2 : array_like or torch.Tensor
        Shape ``(n, d1)`` and ``(n, d2)`` (or ``(n,)``): the two modalities of ``n`` samples.
    y : array_like or torch.Tensor
        Shape ``(n,)``: integer labels.
    clusters : tuple of two int
        Number of k-means clusters for ``x1`` and ``x2``; each at least 1 and at most ``n``.
    components : int
        PCA dimensions kept before clustering (fewer if a modality has fewer features).
    seed : int
        Seeds PCA and k-means.

    Returns
    -------
    PID
        As :func:`pid`, for the table ``p[cluster of x1, cluster of x2, label]``.

    Examples
    --------
    Both modalities are noisy views of the label bit, so the information is redundant:

    >>> rng = np.random.default_rng(0)
    >>> b = rng.integers(0, 2, 400)
    >>> x1 = (2 * b - 1)[:, None] * [3.0, 0.0] + rng.standard_normal((400, 2))
    >>> x2 = (2 * b - 1)[:, None] * [0.0, 3.0] + rng.standard_normal((400, 2))
    >>> r = pid_from_samples(x1, x2, b, clusters=(2, 2))
    >>> round(r.redundancy, 2), r.synergy < 0.05
    (0.95, True)
    """
    where = "pid_from_samples"
    labels = as_numpy(y, "y", where)
    if labels.ndim != 1 or (labels != np.round(labels)).any() or (labels < 0).any():
        raise ValueError(f"{where}: y must be a 1-D array of non-negative integer labels, got shape "
                         f"{labels.shape}" + ("" if labels.ndim != 1 else " with non-integer or negative values"))
    n = len(labels)
    for name, x in (("x1", x1), ("x2", x2)):
        if len(x) != n:
            raise ValueError(f"{where}: {name} must have one row per label ({n}), got {len(x)}")
    if (not isinstance(clusters, (tuple, list)) or len(clusters) != 2
            or not all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) and 1 <= k <= n
                       for k in clusters)):
        raise ValueError(f"{where}: clusters must be two integers in [1, n={n}], got {clusters!r}")
    if isinstance(components, bool) or not isinstance(components, (int, np.integer)) or components < 1:
        raise ValueError(f"{where}: components must be a positive integer, got {components!r}")
    c1 = _discretise(x1, int(clusters[0]), int(components), seed, "x1")
    c2 = _discretise(x2, int(clusters[1]), int(components), seed, "x2")
    labels = labels.astype(np.int64)
    p = np.zeros((clusters[0], clusters[1], int(labels.max()) + 1))
    np.add.at(p, (c1, c2, labels), 1.0)
    return pid(p / n)
