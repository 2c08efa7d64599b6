r"""Part 6.3: co-learning via representation, a secondary modality present only in training shapes the primary's.

The primary modality (the digits pair's "audio") has few labels; many unlabelled pairs (audio, image) are there in
training, the image never at test time. The audio encoder :math:`f` learns from the labels **and** from a contrastive
term that ties it to a co-trained image encoder :math:`g` on the pairs,

.. math::

    \mathcal L = \frac{1}{|L|} \sum_{i \in L} \mathrm{CE}\big(W\, s\, f(a_i),\ y_i\big)
               + \lambda\, \mathcal L_{\text{InfoNCE}}\big(f(a_B),\ g(v_B)\big),

with :math:`f, g` unit-length (Part 2.4's :class:`~mmcourse.representation.contrastive.ContrastiveModel` and its
CLIP loss, Radford et al. 2021) and a fixed scale :math:`s` on the classifier's input. At test time only
:math:`W s f(a)` is used: the image has left its mark on :math:`f` and is no longer needed. With :math:`\lambda = 0`
this is the same audio model trained on audio alone, the baseline.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from tqdm.auto import trange

from mmcourse._checks import check_ids, check_tensor
from mmcourse.representation.contrastive.clip import ContrastiveModel
from mmcourse.utils import check_positive, get_device, progress_enabled, set_seed, trained_on

__all__ = ["stratified_subset", "CoLearner", "fit_colearning", "colearn_digits"]


def stratified_subset(labels: Tensor, n: int, *, seed: int = 0) -> Tensor:
    """The indices of ``n`` rows of ``labels`` with the classes as balanced as possible (the labelled few).

    Each class gets ``n // C`` rows (all of its rows if it has fewer), and the rows left over go one by one to the
    first classes that have more; the rows are drawn at random with a generator seeded by ``seed`` (the global one
    is left alone). ``n = m`` keeps every row.

    Parameters
    ----------
    labels : torch.Tensor of int, shape (m,)
        Class indices ``0 … C-1``.
    n : int
        How many rows to keep, ``C ≤ n ≤ m`` (every class at least once).
    seed : int

    Returns
    -------
    torch.Tensor of int64, shape (n,), sorted

    Examples
    --------
    >>> stratified_subset(torch.tensor([0, 0, 1, 1, 1, 2]), 3).tolist()
    [0, 2, 5]
    """
    if not isinstance(labels, Tensor) or labels.dim() != 1 or labels.is_floating_point() or len(labels) == 0:
        raise ValueError(f"stratified_subset: labels must be a non-empty 1-D integer tensor, got "
                         f"{getattr(labels, 'shape', type(labels).__name__)}")
    check_positive("stratified_subset", n=n)
    classes = labels.unique()
    if not len(classes) <= n <= len(labels):
        raise ValueError(f"stratified_subset: n must be between the number of classes ({len(classes)}) and the "
                         f"number of rows ({len(labels)}), got {n}")
    generator = torch.Generator().manual_seed(int(seed))
    sizes = torch.stack([(labels == c).sum() for c in classes])
    # n // C per class where the class has that many; what is left goes one by one to the classes with room
    take = sizes.clamp(max=n // len(classes))
    while take.sum() < n:
        room = torch.nonzero(take < sizes)[:, 0]
        take[room[:n - int(take.sum())]] += 1
    chosen = []
    for c, k in zip(classes, take.tolist()):
        rows = torch.nonzero(labels == c)[:, 0]
        chosen.append(rows[torch.randperm(len(rows), generator=generator)[:k]])
    return torch.cat(chosen).sort().values


class CoLearner(nn.Module):
    r"""A primary-modality classifier whose encoder is also a tower of a contrastive two-tower model.

    ``pair`` is a :class:`~mmcourse.representation.contrastive.ContrastiveModel` (tower 0: the primary modality,
    tower 1: the secondary); the classifier is ``logits = W (s · f(a)) + b`` on the primary's unit-length
    embedding ``f(a)``; the fixed scale ``s`` lets a linear layer reach confident logits from unit vectors.
    Part 6.3, after the contrastive pieces of Part 2.4 (Radford et al., 2021).

    Parameters
    ----------
    shapes : pair
        The example shapes of the primary and the secondary modality (as for ``ContrastiveModel``).
    num_classes : int
    dim, width : int
        The shared space's size and the towers' width.
    scale : float
        ``s > 0``.

    Example
    -------
    >>> model = CoLearner([(12, 16), (8, 8)], 10, dim=4)
    >>> model(torch.zeros(3, 12, 16)).shape, model.features(torch.zeros(3, 12, 16)).norm(dim=1).round().tolist()
    (torch.Size([3, 10]), [1.0, 1.0, 1.0])
    """

    def __init__(self, shapes: Sequence, num_classes: int, *, dim: int = 16, width: int = 64, scale: float = 10.0):
        super().__init__()
        check_positive("CoLearner", num_classes=num_classes)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"CoLearner: scale must be a finite number > 0, got {scale!r}")
        self.pair = ContrastiveModel(shapes, dim=dim, width=width)
        self.head = nn.Linear(dim, num_classes)
        self.scale, self.num_classes = float(scale), num_classes

    def features(self, primary: Tensor) -> Tensor:
        """``f(a)``: the primary modality's unit-length embedding, shape ``(batch, dim)``."""
        return self.pair.embed(primary, 0)

    def forward(self, primary: Tensor) -> Tensor:
        """Class logits from the primary modality alone (what the model sees at test time)."""
        return self.head(self.scale * self.features(primary))

    def loss(self, primary: Tensor, labels: Tensor, pairs: tuple[Tensor, Tensor] | None = None,
             weight: float = 1.0) -> Tensor:
        """``CE(logits(primary), labels) + weight · InfoNCE(pairs)``; without ``pairs`` (or weight 0), the CE alone."""
        loss = nn.functional.cross_entropy(self(primary), labels)
        if pairs is not None and weight:
            loss = loss + weight * self.pair.loss(*pairs)
        return loss


def fit_colearning(model: CoLearner, primary: Tensor, labels: Tensor, labelled: Tensor,
                   secondary: Tensor | None = None, *, weight: float = 1.0, epochs: int = 40, batch_size: int = 256,
                   lr: float = 1e-2, device: torch.device | str | None = None,
                   progress: bool | None = None) -> list[float]:
    r"""Train a :class:`CoLearner`: the labelled rows every step, and a batch of pairs for the contrastive term.

    An epoch is one shuffled pass over all ``m`` pairs in batches of ``batch_size``; every step adds the
    cross-entropy of all labelled rows (they are few) to ``weight`` times the InfoNCE loss of the batch of pairs.
    With ``secondary=None`` or ``weight=0`` the steps are the same but the loss is the cross-entropy alone:
    the primary-only baseline, trained for as many steps.

    Parameters
    ----------
    model : CoLearner
    primary : torch.Tensor, shape (m, ...)
        All the primary-modality rows (labelled or not).
    labels : torch.Tensor of int, shape (m,)
        Only the rows in ``labelled`` are read.
    labelled : torch.Tensor of int
        Indices of the labelled rows (e.g. from :func:`stratified_subset`).
    secondary : torch.Tensor, shape (m, ...), optional
        The paired secondary modality (training only).
    weight : float
        λ ≥ 0, the weight of the contrastive term.
    epochs, batch_size, lr, device, progress
        Optimisation settings (Adam), as in :func:`mmcourse.training.fit`.

    Returns
    -------
    list of float
        The last step's loss of every epoch.

    Example
    -------
    >>> model = CoLearner([6, 4], 2, dim=3, width=8)
    >>> x, v, y = torch.randn(20, 6), torch.randn(20, 4), torch.arange(20) % 2
    >>> len(fit_colearning(model, x, y, torch.arange(4), v, epochs=3, batch_size=8, progress=False))
    3
    """
    where = "fit_colearning"
    if not isinstance(model, CoLearner):
        raise TypeError(f"{where}: model must be a CoLearner, got {type(model).__name__}")
    check_tensor(where, "primary", primary)
    check_tensor(where, "labels", labels, dim=1, kind="int")
    if primary.dim() < 2 or len(primary) != len(labels):
        raise ValueError(f"{where}: primary and labels must be tensors with the same number of rows, got "
                         f"{getattr(primary, 'shape', None)} and {getattr(labels, 'shape', None)}")
    if not isinstance(labelled, Tensor) or labelled.dim() != 1 or labelled.is_floating_point() or len(labelled) == 0 \
            or labelled.min() < 0 or labelled.max() >= len(primary):
        raise ValueError(f"{where}: labelled must be a non-empty 1-D tensor of row indices in 0..{len(primary) - 1}")
    check_ids(where, "labels", labels[labelled], model.num_classes)   # only the labelled rows are read
    if secondary is not None:
        check_tensor(where, "secondary", secondary)
        if secondary.dim() < 2 or len(secondary) != len(primary):
            raise ValueError(f"{where}: secondary must be a batch (m, ...) with as many rows as primary "
                             f"({len(primary)}), got shape {tuple(secondary.shape)}")
    check_positive(where, epochs=epochs, batch_size=batch_size)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
        raise ValueError(f"{where}: weight must be a number ≥ 0, got {weight!r}")
    if not lr > 0:
        raise ValueError(f"{where}: lr must be positive, got {lr!r}")
    device = get_device(device)
    contrastive = secondary is not None and weight > 0
    losses = []
    with trained_on(model, device):
        model.train()
        x, y = primary.to(device), labels.to(device)
        xl, yl = x[labelled.to(device)], y[labelled.to(device)]
        v = secondary.to(device) if contrastive else None
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, foreach=True)
        m = len(x)
        for _ in trange(epochs, desc="co-learning", disable=not progress_enabled(progress), leave=False):
            order = torch.randperm(m, device=device)
            for start in range(0, m - 1, batch_size):
                batch = order[start:start + batch_size]
                pairs = (x[batch], v[batch]) if contrastive and len(batch) > 1 else None
                loss = model.loss(xl, yl, pairs, weight)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            losses.append(loss.item())
        model.eval()
    return losses


def colearn_digits(n: int, *, weight: float = 1.0, seed: int = 0, epochs: int = 40, data_seed: int = 0,
                   batch_size: int = 256) -> CoLearner:
    """The chapter's co-learner on the digits pair: ``n`` labelled audio rows, every (audio, image) pair unlabelled.

    Trains a :class:`CoLearner` (audio tower 0, image tower 1; 16-d space, width 64) with :func:`fit_colearning`
    on the training split of ``load_digits_pair(seed=data_seed)``; ``weight=0`` gives the audio-only baseline.
    Test it on audio alone: ``model(audio)``; its features for a 2-D view: ``model.features(audio)``. Part 6.3.

    Parameters
    ----------
    n : int
        Labelled audio rows (stratified, :func:`stratified_subset` with ``seed``), 10 … 1078.
    weight : float
        λ, the weight of the contrastive term (0: audio alone).
    seed : int
        Seeds the labelled subset and the training.
    epochs, batch_size : int
        40 epochs of 256 pairs (the chapter); fewer epochs for a live explorer.
    data_seed : int
        The dataset's seed.

    Example
    -------
    >>> model = colearn_digits(20, epochs=1)
    >>> model.num_classes
    10
    """
    from mmcourse.generation.creation.training import digits_pair_tensors
    image, audio, labels = digits_pair_tensors("train", seed=data_seed)
    labelled = stratified_subset(labels, n, seed=seed)
    set_seed(seed)
    model = CoLearner([tuple(audio.shape[1:]), tuple(image.shape[1:])], 10)
    fit_colearning(model, audio, labels, labelled, image, weight=weight, epochs=epochs, batch_size=batch_size)
    return model
