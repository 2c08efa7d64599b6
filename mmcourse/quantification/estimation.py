r"""PID on data: estimate the decomposition of continuous modalities from samples.

Part 7 of the book (Quantification, "PID on data"). The exact :func:`~mmcourse.quantification.pid` needs a
discrete joint distribution. On continuous data each modality is discretised first, :math:`c_m = f_m(x_m)`, the
table of relative frequencies of :math:`(c_1, c_2, y)` is counted (the plug-in estimate), and the discrete problem
is solved. This is the clustering estimator of Liang et al. (2023, *Quantifying & modeling multimodal
interactions: an information decomposition framework*). Two discretisations:

- ``"kmeans"`` (unsupervised): standardise, PCA, k-means. It sees only the geometry of :math:`x_m`, not the label.
- ``"learned"`` (label-aware): k-means on features :math:`h_m` of small encoders trained with a joint head and one
  unimodal head per modality (:class:`LabelAwareEncoders`), so that each :math:`h_m` keeps what its modality says
  about :math:`y` alone (redundancy and uniqueness need it) and what it contributes to the pair (synergy needs it).

Fit the discretisation on one split and count the table on another (:func:`fit_discretiser`, then
``pid_from_samples(..., discretiser=d)``): clusters chosen with the labels of the very samples they count are
optimistic.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from mmcourse.quantification.decomposition import PID, pid
from mmcourse.utils import as_numpy, get_device

__all__ = ["DISCRETISERS", "LabelAwareEncoders", "Discretiser", "fit_discretiser", "joint_table", "plugin_bias",
           "pid_from_samples"]

DISCRETISERS = ("kmeans", "learned")

# Training of the label-aware encoders: small and fast (about a second for 2000 samples on a CPU).
HIDDEN, LR, BATCH = 32, 1e-2, 256


class LabelAwareEncoders(nn.Module):
    r"""Two encoders with a joint head and two unimodal heads: the features of the ``"learned"`` discretisation.

    .. math::

        h_m = W_m'\,\mathrm{ReLU}(W_m x_m + b_m) + b_m', \qquad
        \mathcal L = \mathrm{CE}\big(g([h_1; h_2]), y\big)
            + \mathrm{CE}(V_1 h_1 + c_1, y) + \mathrm{CE}(V_2 h_2 + c_2, y),

    with :math:`g` a one-hidden-layer MLP (it can express any interaction, XOR included). The unimodal heads make
    :math:`h_m` keep what :math:`x_m` says about :math:`y` on its own; the joint head makes it keep what the pair
    needs. Book: Part 7, "PID on data".

    Parameters
    ----------
    d1, d2 : int
        Feature sizes of the two modalities.
    num_classes : int
    width : int
        Size of each :math:`h_m` (the space that k-means clusters).
    hidden : int
        Hidden width of the encoders and of the joint head.

    Examples
    --------
    >>> net = LabelAwareEncoders(12, 8, 2, width=3)
    >>> [t.shape for t in net(torch.zeros(5, 12), torch.zeros(5, 8))]
    [torch.Size([5, 2]), torch.Size([5, 2]), torch.Size([5, 2])]
    >>> net.encode(torch.zeros(5, 12), torch.zeros(5, 8))[1].shape
    torch.Size([5, 3])
    """

    def __init__(self, d1: int, d2: int, num_classes: int, width: int = 4, hidden: int = HIDDEN):
        super().__init__()
        self.encoders = nn.ModuleList(nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, width))
                                      for d in (d1, d2))
        self.unimodal = nn.ModuleList(nn.Linear(width, num_classes) for _ in range(2))
        self.joint = nn.Sequential(nn.Linear(2 * width, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))

    def encode(self, x1: Tensor, x2: Tensor) -> tuple[Tensor, Tensor]:
        """The features ``(h1, h2)``."""
        return self.encoders[0](x1), self.encoders[1](x2)

    def forward(self, x1: Tensor, x2: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Logits of the joint head and of the two unimodal heads."""
        h1, h2 = self.encode(x1, x2)
        return self.joint(torch.cat([h1, h2], dim=1)), self.unimodal[0](h1), self.unimodal[1](h2)


class Discretiser:
    """A fitted discretisation of two modalities (made by :func:`fit_discretiser`): ``transform(x1, x2)``.

    Attributes
    ----------
    method : str
        ``"kmeans"`` or ``"learned"``.
    clusters : tuple of two int
        Number of clusters of each modality: the cluster ids lie in ``range(clusters[m])``.
    encoders : LabelAwareEncoders or None
        The trained encoders of the ``"learned"`` method.
    """

    def __init__(self, method, clusters, steps, encoders=None):
        self.method, self.clusters, self.encoders = method, tuple(clusters), encoders
        self._steps = steps  # per modality: (mean, std, pca or None, kmeans)

    def features(self, x1, x2) -> tuple[np.ndarray, np.ndarray]:
        """What k-means sees, before standardisation: the raw rows, or the encoders' features."""
        xs = [_rows(x, name, "Discretiser") for name, x in (("x1", x1), ("x2", x2))]
        if len(xs[0]) != len(xs[1]):
            raise ValueError(f"Discretiser: x1 and x2 must have as many rows, got {len(xs[0])} and {len(xs[1])}")
        if self.encoders is None:
            return xs[0], xs[1]
        device = next(self.encoders.parameters()).device
        with torch.no_grad():
            hs = self.encoders.encode(*(torch.as_tensor(x, dtype=torch.float32, device=device) for x in xs))
        return hs[0].cpu().double().numpy(), hs[1].cpu().double().numpy()

    def transform(self, x1, x2) -> tuple[np.ndarray, np.ndarray]:
        """Cluster ids ``(c1, c2)``, int64 arrays of shape ``(n,)``, of the rows of ``x1`` and ``x2``."""
        out = []
        for h, (mean, std, pca, kmeans) in zip(self.features(x1, x2), self._steps):
            if h.shape[1] != mean.shape[0]:
                raise ValueError(f"Discretiser: expected {mean.shape[0]} features per modality, got {h.shape[1]}")
            h = (h - mean) / std
            out.append(kmeans.predict(pca.transform(h) if pca is not None else h).astype(np.int64))
        return out[0], out[1]

    def recluster(self, x1, x2, clusters: tuple[int, int], *, seed: int = 0) -> Discretiser:
        """A copy with other numbers of clusters, k-means refitted on ``(x1, x2)``: the same features (the same
        trained encoders, the same standardisation and PCA), so a sweep over ``clusters`` trains nothing."""
        where = "Discretiser.recluster"
        xs = [_rows(x, name, where) for name, x in (("x1", x1), ("x2", x2))]
        _check_seed(seed, where)
        other = Discretiser(self.method, _check_clusters(clusters, len(xs[0]), where), [], self.encoders)
        other._fit_clusters(xs, None, seed, reuse=self._steps)
        return other

    def _fit_clusters(self, xs, components, seed, reuse=None):
        from sklearn.cluster import KMeans
        from sklearn.decomposition import PCA

        steps = []
        for m, (h, k) in enumerate(zip(self.features(*xs), self.clusters)):
            if reuse is not None:
                mean, std, pca = reuse[m][:3]
            else:
                mean, std, pca = h.mean(axis=0), np.maximum(h.std(axis=0), 1e-12), None
                dims = min(components, h.shape[1], len(h))
                if self.method == "kmeans" and dims < h.shape[1]:
                    pca = PCA(n_components=dims, random_state=seed).fit((h - mean) / std)
            h = (h - mean) / std
            h = pca.transform(h) if pca is not None else h
            steps.append((mean, std, pca, KMeans(n_clusters=k, n_init=4, random_state=seed).fit(h)))
        self._steps = steps

    def __repr__(self) -> str:
        return f"Discretiser(method={self.method!r}, clusters={self.clusters})"


def _rows(x, name, where) -> np.ndarray:
    x = as_numpy(x, name, where)
    return x.reshape(len(x), -1)  # (n,) -> (n, 1)


def _check_clusters(clusters, n, where):
    if (not isinstance(clusters, (tuple, list)) or len(clusters) != 2
            or not all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) and 1 <= k <= n
                       for k in clusters)):
        raise ValueError(f"{where}: clusters must be two integers in [1, n={n}], got {clusters!r}")
    return int(clusters[0]), int(clusters[1])


def _check_labels(y, n, where) -> np.ndarray:
    labels = as_numpy(y, "y", where)
    if labels.ndim != 1 or (labels != np.round(labels)).any() or (labels < 0).any():
        raise ValueError(f"{where}: y must be a 1-D array of non-negative integer labels, got shape "
                         f"{labels.shape}" + ("" if labels.ndim != 1 else " with non-integer or negative values"))
    if n is not None and len(labels) != n:
        raise ValueError(f"{where}: y must have one label per row ({n}), got {len(labels)}")
    return labels.astype(np.int64)


def _check_seed(seed, where):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{where}: seed must be a non-negative integer, got {seed!r}")


def _positive_int(where, **values):
    for name, v in values.items():
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{where}: {name} must be a positive integer, got {v!r}")


def _train(net, xs, y, epochs, seed, device):
    """Adam on the sum of the three cross-entropies; shuffles with its own generator (the global one is left)."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)
    xs = [torch.as_tensor(x, dtype=torch.float32, device=device) for x in xs]
    y = torch.as_tensor(y, device=device)
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=generator).to(device)
        for start in range(0, len(y), BATCH):
            idx = order[start:start + BATCH]
            loss = sum(nn.functional.cross_entropy(logits, y[idx]) for logits in net(*(x[idx] for x in xs)))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    net.eval()


def fit_discretiser(x1, x2, y=None, *, clusters: tuple[int, int] = (8, 8), method: str = "learned",
                    components: int = 4, width: int = 4, epochs: int = 15, seed: int = 0,
                    device: str | torch.device | None = None) -> Discretiser:
    r"""Fit a discretisation :math:`c_m = f_m(x_m)` of each modality on training samples.

    ``"kmeans"``: standardise each feature, keep the first ``components`` principal components, k-means with
    ``clusters[m]`` clusters. ``"learned"``: train :class:`LabelAwareEncoders` (features of size ``width``,
    ``epochs`` epochs of Adam) on ``(x1, x2, y)``, then standardise its features :math:`h_m` and cluster them
    with k-means. Seeded (the initial weights, the batches, PCA and k-means), and torch's global generator is left
    as it was.

    Parameters
    ----------
    x1, x2 : array_like or torch.Tensor
        Shape ``(n, d1)`` and ``(n, d2)`` (or ``(n,)``): the training samples of the two modalities.
    y : array_like or torch.Tensor, optional
        Shape ``(n,)``: integer labels; needed by ``"learned"``, unused by ``"kmeans"``.
    clusters : tuple of two int
        Number of clusters of ``x1`` and ``x2``, each in ``[1, n]``.
    method : {"learned", "kmeans"}
    components : int
        PCA dimensions of ``"kmeans"`` (fewer if a modality has fewer features).
    width, epochs : int
        Feature size and training epochs of ``"learned"``.
    seed : int
    device : optional
        Where the encoders train (default :func:`mmcourse.get_device`); k-means runs on the CPU.

    Returns
    -------
    Discretiser
        ``transform(x1, x2)`` gives the cluster ids of any samples, e.g. held-out ones.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x1, x2 = rng.standard_normal((2, 300, 3))
    >>> d = fit_discretiser(x1, x2, clusters=(4, 2), method="kmeans")
    >>> c1, c2 = d.transform(x1[:5], x2[:5])
    >>> d, c1.shape, int(c2.max()) <= 1
    (Discretiser(method='kmeans', clusters=(4, 2)), (5,), True)
    """
    where = "fit_discretiser"
    if method not in DISCRETISERS:
        raise ValueError(f"{where}: method must be one of {', '.join(map(repr, DISCRETISERS))}, got {method!r}")
    xs = [_rows(x, name, where) for name, x in (("x1", x1), ("x2", x2))]
    n = len(xs[0])
    if len(xs[1]) != n:
        raise ValueError(f"{where}: x2 must have one row per row of x1 ({n}), got {len(xs[1])}")
    clusters = _check_clusters(clusters, n, where)
    _positive_int(where, components=components, width=width, epochs=epochs)
    _check_seed(seed, where)
    encoders = None
    if method == "learned":
        if y is None:
            raise ValueError(f"{where}: method='learned' needs the labels y (method='kmeans' does not)")
        labels = _check_labels(y, n, where)
        device = get_device(device)
        # manual_seed also seeds every GPU: fork them all, so that no global generator moves.
        with torch.random.fork_rng(devices=range(torch.cuda.device_count()) if torch.cuda.is_available() else []):
            torch.manual_seed(seed)
            encoders = LabelAwareEncoders(xs[0].shape[1], xs[1].shape[1], max(2, int(labels.max()) + 1),
                                          width=width).to(device)
            _train(encoders, xs, labels, epochs, seed, device)
    discretiser = Discretiser(method, clusters, [], encoders)
    discretiser._fit_clusters(xs, components, seed)
    return discretiser


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
    _positive_int("plugin_bias", n=n)
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
