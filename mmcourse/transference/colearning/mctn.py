r"""Part 6.3: co-learning via generation, the Multimodal Cyclic Translation Network (MCTN, Pham et al., 2019).

Translation is the training signal. An encoder turns the source :math:`a` into a joint code :math:`c = E_s(a)`; a
decoder translates it into the target, :math:`\hat v = D_t(c)`; a second encoder-decoder translates the translation
back, :math:`\hat a = D_s(E_t(\hat v))`; a head predicts the label from the code. The loss is

.. math::

    \mathcal L = \mathrm{CE}\big(h(c), y\big) + \mu_t\, \lVert \hat v - v \rVert^2 + \mu_c\, \lVert \hat a - a
    \rVert^2 ,

(mean squared errors; the weights :math:`\mu_t = \mu_c = 1` are the book's choice: MultiBench's ``MCTN_Level2``,
written for three modalities and a regression score, weighs its translation and cycle terms by 0.01 against an L1
loss on the score). Only :math:`E_s` and :math:`h` are needed at test time, so the target modality may be
missing: it shaped the code during training. Against it stand the source alone, and early fusion trained on both
and tested with the target replaced (:func:`fill_missing`).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from tqdm.auto import trange

from mmcourse._checks import check_number, check_tensor
from mmcourse.encoders import MLPEncoder
from mmcourse.utils import check_positive, get_device, progress_enabled, trained_on

__all__ = ["cycle_loss", "MCTN", "fit_mctn", "fill_missing"]


def cycle_loss(target: Tensor, translation: Tensor, source: Tensor, back_translation: Tensor, *,
               translation_weight: float = 1.0, cycle_weight: float = 1.0) -> Tensor:
    r"""MCTN's translation and cycle terms: :math:`\mu_t \lVert \hat v - v\rVert^2 + \mu_c \lVert \hat a - a
    \rVert^2`, each a mean squared error over every value.

    Parameters
    ----------
    target, translation : torch.Tensor, same shape
        :math:`v` and :math:`\hat v = D_t(E_s(a))`.
    source, back_translation : torch.Tensor, same shape
        :math:`a` and :math:`\hat a = D_s(E_t(\hat v))`.
    translation_weight, cycle_weight : float
        :math:`\mu_t, \mu_c \ge 0`.

    Returns
    -------
    torch.Tensor
        A scalar.

    Example
    -------
    >>> v, a = torch.zeros(2, 3), torch.ones(2, 4)
    >>> cycle_loss(v, v + 1, a, a + 2, cycle_weight=0.5)
    tensor(3.)
    """
    for name, x in (("target", target), ("translation", translation), ("source", source),
                    ("back_translation", back_translation)):
        check_tensor("cycle_loss", name, x)
    for name, (x, y) in (("translation", (target, translation)), ("back_translation", (source, back_translation))):
        if not isinstance(x, Tensor) or not isinstance(y, Tensor) or x.shape != y.shape:
            raise ValueError(f"cycle_loss: {name} must be a tensor of the shape of its reference "
                             f"{tuple(getattr(x, 'shape', ()))}, got {tuple(getattr(y, 'shape', ()))}")
    for name, w in (("translation_weight", translation_weight), ("cycle_weight", cycle_weight)):
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not w >= 0:
            raise ValueError(f"cycle_loss: {name} must be a number ≥ 0, got {w!r}")
    mse = nn.functional.mse_loss
    return translation_weight * mse(translation, target) + cycle_weight * mse(back_translation, source)


class MCTN(nn.Module):
    r"""A cyclic translator source → target → source whose code :math:`c = E_s(a)` also feeds a classifier.

    :math:`E_s`, :math:`E_t`: MLPs with one hidden layer into the code; :math:`D_t`, :math:`D_s`: MLPs out of it
    with a sigmoid (the digits pair's values lie in [0, 1]); :math:`h`: a linear head. Inputs are flattened,
    outputs come back in the inputs' shapes. Pham et al. (2019), *Found in Translation*; Part 6.3.

    Parameters
    ----------
    source_shape, target_shape : int or tuple
        The shape of one example of each modality.
    num_classes : int
    code, width : int
        The joint code's size and the hidden layers' width.

    Example
    -------
    >>> model = MCTN((12, 16), (8, 8), 10, code=4)
    >>> model(torch.zeros(3, 12, 16)).shape, model.translate(torch.zeros(3, 12, 16)).shape
    (torch.Size([3, 10]), torch.Size([3, 8, 8]))
    """

    def __init__(self, source_shape, target_shape, num_classes: int, *, code: int = 16, width: int = 64):
        super().__init__()
        self.source_shape = tuple(source_shape) if not isinstance(source_shape, int) else (source_shape,)
        self.target_shape = tuple(target_shape) if not isinstance(target_shape, int) else (target_shape,)
        ds, dt = (int(torch.tensor(s).prod()) for s in (self.source_shape, self.target_shape))
        check_positive("MCTN", source_size=ds, target_size=dt, num_classes=num_classes, code=code, width=width)

        def mlp(i, o, out=None):
            return nn.Sequential(MLPEncoder(i, width), nn.Linear(width, o), *([out] if out else []))
        self.encode_source, self.decode_target = mlp(ds, code), mlp(code, dt, nn.Sigmoid())
        self.encode_target, self.decode_source = mlp(dt, code), mlp(code, ds, nn.Sigmoid())
        self.head = nn.Linear(code, num_classes)
        self.num_classes = num_classes

    def _flat(self, x: Tensor, shape: tuple, name: str) -> Tensor:
        if not isinstance(x, Tensor) or tuple(x.shape[1:]) != shape:
            raise ValueError(f"MCTN: {name} must have shape (batch, {', '.join(map(str, shape))}), got "
                             f"{tuple(getattr(x, 'shape', ()))}")
        return x.flatten(1)

    def code(self, source: Tensor) -> Tensor:
        """The joint code :math:`c = E_s(a)`, shape ``(batch, code)``."""
        return self.encode_source(self._flat(source, self.source_shape, "source"))

    def forward(self, source: Tensor) -> Tensor:
        """Class logits :math:`h(E_s(a))` from the source alone (the test-time path)."""
        return self.head(self.code(source))

    def translate(self, source: Tensor) -> Tensor:
        r""":math:`\hat v = D_t(E_s(a))`, in the target's shape."""
        return self.decode_target(self.code(source)).view(-1, *self.target_shape)

    def cycle(self, source: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        r"""``(logits, v̂, â)``: the prediction, the translation and its translation back to the source."""
        c = self.code(source)
        translation = self.decode_target(c)
        back = self.decode_source(self.encode_target(translation))
        return self.head(c), translation.view(-1, *self.target_shape), back.view(-1, *self.source_shape)

    def loss(self, source: Tensor, target: Tensor, labels: Tensor, *, translation_weight: float = 1.0,
             cycle_weight: float = 1.0) -> Tensor:
        """The MCTN loss of a batch: cross-entropy over the labelled rows (label ≥ 0; -1 marks an unlabelled pair)
        plus :func:`cycle_loss` over every row."""
        self._flat(target, self.target_shape, "target")
        logits, translation, back = self.cycle(source)
        labelled = labels >= 0
        ce = nn.functional.cross_entropy(logits[labelled], labels[labelled]) if labelled.any() else logits.sum() * 0
        return ce + cycle_loss(
            target, translation, source, back, translation_weight=translation_weight, cycle_weight=cycle_weight)


def fit_mctn(model: MCTN, source: Tensor, target: Tensor, labels: Tensor, *, translation_weight: float = 1.0,
             cycle_weight: float = 1.0, epochs: int = 60, batch_size: int = 128, lr: float = 1e-2,
             device: torch.device | str | None = None, progress: bool | None = None) -> list[float]:
    """Train an :class:`MCTN` with Adam on paired, labelled data; returns the mean loss of every epoch.

    Parameters
    ----------
    model : MCTN
    source, target : torch.Tensor
        Paired rows of the two modalities, in the model's shapes.
    labels : torch.Tensor of int, shape (m,)
        Class indices; -1 marks a pair without a label (it still trains the translation and the cycle).
    translation_weight, cycle_weight : float
        μ_t and μ_c of :func:`cycle_loss`.
    epochs, batch_size, lr, device, progress
        As in :func:`mmcourse.training.fit`.

    Example
    -------
    >>> model = MCTN(3, 2, 2, code=2, width=4)
    >>> len(fit_mctn(model, torch.rand(8, 3), torch.rand(8, 2), torch.arange(8) % 2, epochs=2, progress=False))
    2
    """
    where = "fit_mctn"
    if not isinstance(model, MCTN):
        raise TypeError(f"{where}: model must be an MCTN, got {type(model).__name__}")
    check_tensor(where, "source", source, dim=1 + len(model.source_shape))
    check_tensor(where, "target", target, dim=1 + len(model.target_shape))
    check_tensor(where, "labels", labels, dim=1, kind="int")
    if labels.min() < -1 or labels.max() >= model.num_classes:
        raise ValueError(f"{where}: labels must be class indices in 0..{model.num_classes - 1} or -1 (unlabelled), "
                         f"got values from {int(labels.min())} to {int(labels.max())}")
    check_number(where, "lr", lr, low=0, low_open=True)
    if not len(source) == len(target) == len(labels):
        raise ValueError(f"{where}: source, target and labels must be tensors with the same number of rows, got "
                         f"{[tuple(getattr(t, 'shape', ())) for t in (source, target, labels)]}")
    check_positive(where, epochs=epochs, batch_size=batch_size)
    device = get_device(device)
    losses = []
    with trained_on(model, device):
        model.train()
        a, v, y = source.to(device), target.to(device), labels.to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, foreach=True)
        for _ in trange(epochs, desc="MCTN", disable=not progress_enabled(progress), leave=False):
            order, total = torch.randperm(len(a), device=device), 0.0
            for start in range(0, len(a), batch_size):
                b = order[start:start + batch_size]
                loss = model.loss(a[b], v[b], y[b], translation_weight=translation_weight, cycle_weight=cycle_weight)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(b)
            losses.append(total / len(a))
        model.eval()
    return losses


def fill_missing(x: Tensor, how: str = "zeros", reference: Tensor | None = None) -> Tensor:
    """A stand-in for a modality missing at test time, of the shape of ``x``: zeros, or the training mean.

    Parameters
    ----------
    x : torch.Tensor, shape (n, ...)
        The modality that is missing (only its shape and dtype are read).
    how : {"zeros", "mean"}
    reference : torch.Tensor, shape (m, ...)
        For ``"mean"``: the training rows whose mean replaces every row.

    Returns
    -------
    torch.Tensor, shape of ``x``

    Example
    -------
    >>> fill_missing(torch.ones(2, 3), "mean", torch.tensor([[0.0, 2.0, 4.0], [2.0, 2.0, 2.0]])).tolist()
    [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]
    """
    if not isinstance(x, Tensor) or x.dim() < 1:
        raise ValueError(f"fill_missing: x must be a batch tensor, got {type(x).__name__}")
    if how == "zeros":
        return torch.zeros_like(x)
    if how == "mean":
        if not isinstance(reference, Tensor) or tuple(reference.shape[1:]) != tuple(x.shape[1:]):
            raise ValueError(f"fill_missing: how='mean' needs reference rows of shape (m, "
                             f"{', '.join(map(str, x.shape[1:]))}), got {getattr(reference, 'shape', reference)}")
        check_tensor("fill_missing", "reference", reference)
        return reference.mean(0, keepdim=True).expand_as(x).to(x.dtype).clone()
    raise ValueError(f"fill_missing: how must be 'zeros' or 'mean', got {how!r}")
