r"""The plug-in table of a discretised sample, its bias, and the PID estimated from samples (Part 7.2, "PID on
data")."""
from __future__ import annotations

import numpy as np

from mmcourse.quantification.decomposition import PID, pid
from mmcourse.quantification.estimation._checks import _check_clusters, _check_labels
from mmcourse.quantification.estimation.discretise import Discretiser, fit_discretiser
from mmcourse.utils import as_numpy, check_positive

__all__ = ["joint_table", "plugin_bias", "pid_from_samples"]


def joint_table(c1, c2, y, shape: tuple[int, int, int] | None = None) -> np.ndarray:
    r"""The plug-in estimate :math:`\hat p(c_1, c_2, y) = \frac1n \#\{i : (c_{1i}, c_{2i}, y_i) = (c_1, c_2, y)\}`.

    Parameters
    ----------
    c1, c2, y : array_like
        Shape ``(n,)``: non-negative integer ids of the samples.
    shape : tuple of three int, optional
        The table's shape; by default one more than the largest id on each axis.

    Returns
    -------
    np.ndarray
        Shape ``shape``, non-negative, summing to 1.

    Examples
    --------
    >>> joint_table([0, 1, 1, 1], [0, 0, 1, 1], [1, 0, 0, 0]).tolist()
    [[[0.0, 0.25], [0.0, 0.0]], [[0.25, 0.0], [0.5, 0.0]]]
    """
    where = "joint_table"
    ids = [_check_labels(v, None, where).copy() for v in (c1, c2, y)]
    for name, v in zip(("c1", "c2"), ids[:2]):
        if v.shape != ids[2].shape:
            raise ValueError(f"{where}: {name} must have one id per label ({len(ids[2])}), got shape {v.shape}")
    if len(ids[2]) == 0:
        raise ValueError(f"{where}: no samples; expected at least one")
    if shape is None:
        shape = tuple(int(v.max()) + 1 for v in ids)
    if (not isinstance(shape, (tuple, list)) or len(shape) != 3
            or any(v.max() >= s for v, s in zip(ids, shape))):
        raise ValueError(f"{where}: shape must be three sizes above the largest ids "
                         f"{tuple(int(v.max()) for v in ids)}, got {shape!r}")
    p = np.zeros(tuple(int(s) for s in shape))
    np.add.at(p, tuple(ids), 1.0)
    return p / len(ids[2])


def plugin_bias(p, n: int) -> float:
    r"""The Miller–Madow estimate of how far the plug-in :math:`I(X_1, X_2; Y)` of ``p`` lies above the truth.

    Each plug-in entropy of :math:`m` occupied cells from :math:`n` samples is too small by about
    :math:`(m - 1) / 2n` nats (Miller 1955), so :math:`\hat I = \hat H(A) + \hat H(Y) - \hat H(A, Y)` with
    :math:`A = (X_1, X_2)` is too large by

    .. math::

        b = \frac{m_{AY} - m_A - m_Y + 1}{2 n \ln 2} \text{ bits}
          \;\Big(= \frac{(m_A - 1)(m_Y - 1)}{2 n \ln 2} \text{ when every cell is occupied}\Big).

    Parameters
    ----------
    p : array_like
        A plug-in table ``p[x1, x2, y]`` (e.g. from :func:`joint_table`).
    n : int
        The number of samples it was counted from.

    Returns
    -------
    float
        :math:`b` in bits.

    Examples
    --------
    >>> round(plugin_bias(np.full((8, 8, 2), 1 / 128), n=1000), 4)  # 63 / (2000 ln 2)
    0.0454
    """
    p = as_numpy(p, "p", "plugin_bias")
    if p.ndim != 3 or (p < 0).any():
        raise ValueError(f"plugin_bias: p must be a non-negative 3-D table p[x1, x2, y], got shape {p.shape}")
    check_positive("plugin_bias", n=n)
    pairs = p.reshape(-1, p.shape[2])
    occupied = lambda t: int((t > 0).sum())  # noqa: E731
    return float((occupied(pairs) - occupied(pairs.sum(1)) - occupied(pairs.sum(0)) + 1) / (2 * n * np.log(2)))


def pid_from_samples(x1, x2, y, clusters: tuple[int, int] = (8, 8), components: int = 4, seed: int = 0, *,
                     discretiser: Discretiser | None = None) -> PID:
    r"""Estimate the PID of continuous modalities from samples: discretise each modality, then solve it exactly.

    .. math::

        c_{mi} = f_m(x_{mi}), \qquad \hat p(c_1, c_2, y) = \frac1n \sum_i [c_{1i} = c_1,\ c_{2i} = c_2,\
        y_i = y], \qquad \widehat{\mathrm{PID}} = \mathrm{pid}(\hat p).

    Without ``discretiser``, :math:`f_m` is fitted on these very samples without the labels (``"kmeans"`` of
    :func:`fit_discretiser` with ``clusters``, ``components``, ``seed``). With one, ``clusters``, ``components``
    and ``seed`` are not used: :math:`f_m` is ``discretiser.transform``, typically fitted on a training split
    and applied here to held-out samples, or to a model's predictions ``y`` on them.

    Two approximations compete. Discretising loses information: a partition that does not follow the label blurs
    what each modality says about it, and by the data-processing inequality :math:`I(C_m; Y) \le I(X_m; Y)`;
    redundancy can be no larger than the smaller of the two, so an unsupervised partition that misses the label
    direction of one modality hides the redundancy. The plug-in estimate is biased upward, by about
    :func:`plugin_bias` (:math:`(k_1 k_2 - 1)(|Y| - 1) / (2 n \ln 2)` bits on a full table), and that spurious
    information lands mostly in the synergy, because the pair table has far more cells than either marginal
    table. Keep :math:`k_1 k_2 |Y|` well below :math:`n`, compare settings on the same data, and look at a
    shuffled-label baseline before reading small numbers.

    Parameters
    ----------
    x1, x2 : array_like or torch.Tensor
        Shape ``(n, d1)`` and ``(n, d2)`` (or ``(n,)``): the two modalities of ``n`` samples.
    y : array_like or torch.Tensor
        Shape ``(n,)``: integer labels (or a model's predicted labels).
    clusters : tuple of two int
        Number of k-means clusters for ``x1`` and ``x2``; each at least 1 and at most ``n``.
    components : int
        PCA dimensions kept before clustering (fewer if a modality has fewer features).
    seed : int
        Seeds PCA and k-means.
    discretiser : Discretiser, optional
        A discretisation fitted beforehand by :func:`fit_discretiser`.

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

    The label-aware discretisation, fitted on 300 samples and counted on the other 100:

    >>> d = fit_discretiser(x1[:300], x2[:300], b[:300], clusters=(2, 2), epochs=5)
    >>> r = pid_from_samples(x1[300:], x2[300:], b[300:], discretiser=d)
    >>> r.redundancy > 0.8
    True
    """
    where = "pid_from_samples"
    labels = _check_labels(y, None, where)
    n = len(labels)
    for name, x in (("x1", x1), ("x2", x2)):
        if len(x) != n:
            raise ValueError(f"{where}: {name} must have one row per label ({n}), got {len(x)}")
    if discretiser is None:
        clusters = _check_clusters(clusters, n, where)
        if isinstance(components, bool) or not isinstance(components, (int, np.integer)) or components < 1:
            raise ValueError(f"{where}: components must be a positive integer, got {components!r}")
        discretiser = fit_discretiser(x1, x2, clusters=clusters, method="kmeans", components=components, seed=seed)
    elif not isinstance(discretiser, Discretiser):
        raise ValueError(f"{where}: discretiser must come from fit_discretiser, got {type(discretiser).__name__}")
    c1, c2 = discretiser.transform(x1, x2)
    return pid(joint_table(c1, c2, labels, shape=(*discretiser.clusters, max(2, int(labels.max()) + 1))))
