r"""Heterogeneity-aware fusion (Part 2.2): measure how different the modalities are, group the similar ones, and
share one encoder within each group (in the spirit of HighMMT, Liang et al. 2022).

1. :func:`transfer_heterogeneity` trains one encoder per modality and asks how well the encoder of modality
   :math:`i` serves modality :math:`j` (a linear probe on its frozen features). With :math:`T_{ij}` that probe's
   validation accuracy, the heterogeneity is the symmetrised loss from borrowing an encoder,

   .. math:: d_{ij} = \tfrac12\big[(T_{jj} - T_{ij}) + (T_{ii} - T_{ji})\big], \qquad d_{ii} = 0 .

2. :func:`group_modalities` clusters the modalities by agglomerative clustering of :math:`d`.
3. :class:`GroupedEncoderModel` gives every group one encoder, shared by its modalities, then fuses as in Part 2.1.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import Tensor, nn

from mmcourse.encoders import MLPEncoder, UnimodalClassifier
from mmcourse.representation.fusion import FUSIONS, make_fusion
from mmcourse.training import _check_data, fit
from mmcourse.utils import check_positive, set_seed

__all__ = ["transfer_heterogeneity", "group_modalities", "GroupedEncoderModel"]


def transfer_heterogeneity(train: tuple[Sequence[Tensor], Tensor], val: tuple[Sequence[Tensor], Tensor], *,
                           width: int = 8, hidden: Sequence[int] = (32,), epochs: int = 30, lr: float = 1e-2,
                           seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The transfer-based heterogeneity matrix ``d`` of the modalities, and the transfer accuracies ``T``.

    ``T[i, j]``: train :class:`~mmcourse.encoders.MLPEncoder` ``f_i`` with a linear head on modality ``i``; freeze
    it; fit a logistic regression on ``f_i(x_j)`` (training split) and score it on the validation split.
    ``d = ((diag(T)[None, :] - T) + (diag(T)[None, :] - T).T) / 2``: symmetric, zero on the diagonal, large when
    borrowing the other's encoder costs accuracy. All modalities must have the same input size (HighMMT makes them
    alike with modality-specific tokenisers first).

    Parameters
    ----------
    train, val : (list of Tensor, Tensor)
        ``(inputs, labels)`` with one ``(n, d)`` tensor per modality.
    width, hidden : int, sequence of int
        The encoders' feature size and hidden layers.
    epochs, lr : int, float
        Training of each encoder (:func:`mmcourse.training.fit`).
    seed : int

    Returns
    -------
    distance : ndarray ``(M, M)``
    transfer : ndarray ``(M, M)``, ``transfer[i, j]`` the accuracy of modality ``j`` read by the encoder of ``i``.

    Examples
    --------
    >>> xs, y = [torch.randn(40, 6) for _ in range(3)], torch.randint(0, 2, (40,))
    >>> distance, transfer = transfer_heterogeneity((xs, y), (xs, y), epochs=1)
    >>> distance.shape, bool((distance == distance.T).all()), float(abs(distance.diagonal()).max())
    ((3, 3), True, 0.0)
    """
    xs, y = _check_data(train, "transfer_heterogeneity")
    xv, yv = _check_data(val, "transfer_heterogeneity (val)")
    if len(xs) < 2 or len(xs) != len(xv):
        raise ValueError(f"transfer_heterogeneity: train and val need the same number (≥ 2) of modalities, got "
                         f"{len(xs)} and {len(xv)}")
    dims = {tuple(x.shape[1:]) for x in (*xs, *xv)}
    if len(dims) != 1 or len(next(iter(dims))) != 1:
        raise ValueError(f"transfer_heterogeneity: every modality must be a vector of the same size, so that one "
                         f"modality's encoder can read another; got shapes {sorted(dims)}")
    num_classes, m_count = int(y.max()) + 1, len(xs)
    transfer = np.zeros((m_count, m_count))
    for i in range(m_count):
        set_seed(seed + i)
        model = UnimodalClassifier(MLPEncoder(xs[i].shape[1], width, hidden), num_classes)
        fit(model, ([xs[i]], y), epochs=epochs, lr=lr, progress=False)
        model.cpu().eval()
        with torch.no_grad():
            for j in range(m_count):
                probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
                probe.fit(model.encoder(xs[j]).numpy(), y.numpy())
                transfer[i, j] = probe.score(model.encoder(xv[j]).numpy(), yv.numpy())
    loss = np.diag(transfer)[None, :] - transfer  # loss[i, j]: what modality j loses by borrowing encoder i
    return (loss + loss.T) / 2, transfer


def group_modalities(distance, threshold: float, *, linkage: str = "average") -> list[list[int]]:
    """Agglomerative clustering of modalities from a symmetric distance matrix.

    Start with one group per modality; repeatedly merge the two closest groups while their distance is at most
    ``threshold``. The distance between groups ``A`` and ``B`` is the mean of ``d[a, b]`` over ``a ∈ A, b ∈ B``
    (``linkage="average"``) or its minimum (``"single"``: the groups are then the connected components of the
    graph with an edge wherever ``d ≤ threshold``).

    Parameters
    ----------
    distance : array-like ``(M, M)``
        Symmetric, with a zero diagonal.
    threshold : float
    linkage : {"average", "single"}

    Returns
    -------
    list of list of int
        The groups, each sorted, ordered by their smallest member.

    Examples
    --------
    >>> d = [[0, .1, .9, .8], [.1, 0, .7, .9], [.9, .7, 0, .2], [.8, .9, .2, 0]]
    >>> group_modalities(d, 0.3)
    [[0, 1], [2, 3]]
    >>> group_modalities(d, 0.75, linkage="single")
    [[0, 1, 2, 3]]
    """
    d = np.asarray(distance.detach().cpu() if isinstance(distance, Tensor) else distance, dtype=float)
    if d.ndim != 2 or d.shape[0] != d.shape[1] or d.shape[0] < 1:
        raise ValueError(f"group_modalities: distance must be a square matrix (M, M), got shape {d.shape}")
    if not np.isfinite(d).all() or not np.allclose(d, d.T):
        raise ValueError("group_modalities: distance must be finite and symmetric")
    if linkage not in ("average", "single"):
        raise ValueError(f"group_modalities: linkage must be 'average' or 'single', got {linkage!r}")
    if not np.isfinite(threshold):
        raise ValueError(f"group_modalities: threshold must be a finite number, got {threshold!r}")
    reduce = np.mean if linkage == "average" else np.min
    groups = [[m] for m in range(d.shape[0])]
    while len(groups) > 1:
        pairs = [(reduce(d[np.ix_(a, b)]), i, j) for i, a in enumerate(groups) for j, b in enumerate(groups) if i < j]
        best, i, j = min(pairs)
        if best > threshold:
            break
        groups[i] = sorted(groups[i] + groups[j])
        del groups[j]
    return sorted(groups)


class GroupedEncoderModel(nn.Module):
    r"""One encoder per group of modalities, shared inside the group; then a fusion and a linear head.

    ``logits = V · fusion(E_{g(1)}(x₁), …, E_{g(M)}(x_M)) + c`` with :math:`g(m)` the group of modality
    :math:`m`. ``groups=[[0], [1], …]`` gives fully separate encoders, ``groups=[[0, 1, …]]`` one encoder shared by
    all. HighMMT (Liang et al. 2022) shares parameters between modalities by measured heterogeneity in the same way
    (its encoders are transformers, ours are MLPs). Book section: Part 2.2.

    Parameters
    ----------
    samples : sequence of Tensor
        One example ``(d,)`` per modality; modalities in one group need the same ``d``.
    num_classes : int
    groups : sequence of sequence of int
        A partition of ``range(M)``.
    width : int
        Feature size of the encoders and of the fused vector.
    hidden : sequence of int
        Hidden layers of each encoder.
    fusion : str
        A name from :data:`~mmcourse.representation.FUSIONS` (not ``"early"``, which skips the encoders).

    Examples
    --------
    >>> model = GroupedEncoderModel([torch.zeros(16)] * 4, 4, [[0, 1], [2, 3]], width=8)
    >>> model(*[torch.zeros(5, 16)] * 4).shape, len(model.encoders), model.group_of
    (torch.Size([5, 4]), 2, (0, 0, 1, 1))
    """

    def __init__(self, samples: Sequence[Tensor], num_classes: int, groups: Sequence[Sequence[int]], *,
                 width: int = 8, hidden: Sequence[int] = (32,), fusion: str = "additive"):
        super().__init__()
        for m, sample in enumerate(samples):
            if not isinstance(sample, Tensor):
                raise TypeError(f"GroupedEncoderModel: samples[{m}] must be a torch.Tensor (one example), got "
                                f"{type(sample).__name__}")
        check_positive("GroupedEncoderModel", num_classes=num_classes, width=width)
        m_count = len(samples)
        members = sorted(int(m) for g in groups for m in g)
        if m_count < 2 or members != list(range(m_count)) or any(len(g) == 0 for g in groups):
            raise ValueError(f"GroupedEncoderModel: groups must partition the {m_count} modalities "
                             f"{list(range(m_count))} into non-empty groups, got {groups!r}")
        if fusion not in FUSIONS or FUSIONS[fusion].raw_inputs:
            raise ValueError(f"GroupedEncoderModel: fusion must be one of "
                             f"{[n for n, f in FUSIONS.items() if not f.raw_inputs]}, got {fusion!r}")
        self.groups = [sorted(int(m) for m in g) for g in groups]
        group_of = [0] * m_count
        for k, g in enumerate(self.groups):
            sizes = {tuple(samples[m].shape) for m in g}
            if len(sizes) != 1 or len(next(iter(sizes))) != 1:
                raise ValueError(f"GroupedEncoderModel: the modalities of group {g} must be vectors of one size to "
                                 f"share an encoder, got shapes {sorted(sizes)}")
            for m in g:
                group_of[m] = k
        self.group_of = tuple(group_of)
        self.encoders = nn.ModuleList(MLPEncoder(samples[g[0]].shape[0], width, tuple(hidden)) for g in self.groups)
        self.fusion = make_fusion(fusion, [width] * m_count, width)
        self.head = nn.Linear(width, num_classes)

    def forward(self, *xs: Tensor) -> Tensor:
        if len(xs) != len(self.group_of):
            raise ValueError(f"GroupedEncoderModel: expected {len(self.group_of)} modalities, got {len(xs)}")
        return self.head(self.fusion(*(self.encoders[g](x) for g, x in zip(self.group_of, xs))))
