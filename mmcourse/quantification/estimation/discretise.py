r"""Discretise each modality before counting: k-means on the inputs, or on label-aware learned features
(Part 7.2, "PID on data")."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from mmcourse.quantification.estimation._checks import (_check_clusters, _check_labels, _check_seed,
                                                         _rows)
from mmcourse.utils import check_positive, get_device

__all__ = ["DISCRETISERS", "LabelAwareEncoders", "Discretiser", "fit_discretiser"]

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
        check_positive("LabelAwareEncoders", d1=d1, d2=d2, num_classes=num_classes, width=width, hidden=hidden)
        self.dims = (int(d1), int(d2))
        self.encoders = nn.ModuleList(nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, width))
                                      for d in (d1, d2))
        self.unimodal = nn.ModuleList(nn.Linear(width, num_classes) for _ in range(2))
        self.joint = nn.Sequential(nn.Linear(2 * width, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))

    def encode(self, x1: Tensor, x2: Tensor) -> tuple[Tensor, Tensor]:
        """The features ``(h1, h2)``."""
        for m, (x, d) in enumerate(zip((x1, x2), self.dims), start=1):
            if not isinstance(x, Tensor):
                raise TypeError(f"LabelAwareEncoders: x{m} must be a torch.Tensor, got {type(x).__name__}")
            if x.dim() != 2 or x.shape[1] != d or x.shape[0] == 0:
                raise ValueError(f"LabelAwareEncoders: x{m} must have shape (batch, {d}) with batch >= 1, got "
                                 f"{tuple(x.shape)}")
            if x.is_floating_point() and not torch.isfinite(x).all():
                raise ValueError(f"LabelAwareEncoders: x{m} contains NaN or infinite values")
        if x1.shape[0] != x2.shape[0]:
            raise ValueError(f"LabelAwareEncoders: mismatched batch sizes: x1 has {x1.shape[0]} rows, x2 has "
                             f"{x2.shape[0]}")
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
    check_positive(where, components=components, width=width, epochs=epochs)
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
