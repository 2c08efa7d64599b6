"""The training loop the whole book uses: ``fit`` a model on tensors, ``evaluate`` it, keep a ``History``.

A dataset here is a pair ``(inputs, labels)``: a list with one tensor per modality and an int64 label tensor, as
returned by :func:`mmcourse.data.as_tensors`. The model is called as ``model(*inputs)`` and returns logits. Batches
are sliced from tensors that already sit on the device: on toy data this is several times faster than a
``DataLoader``, which matters when a widget retrains while the reader waits.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import trange

from mmcourse.utils import check_positive, get_device, progress_enabled, trained_on

__all__ = ["History", "fit", "evaluate", "predict"]

Data = tuple[Sequence[Tensor], Tensor]


@dataclass
class History:
    """Loss and accuracy per epoch, for the training split and (when given) the validation split.

    Attributes
    ----------
    train_loss, train_acc, val_loss, val_acc : list of float
        One entry per epoch. The training numbers are averages over the epoch's batches, as the model changed
        during it; the validation numbers are measured after the epoch (they stay empty without validation data).
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def as_dict(self) -> dict[str, list[float]]:
        return {"train_loss": self.train_loss, "train_acc": self.train_acc,
                "val_loss": self.val_loss, "val_acc": self.val_acc}


def _check_inputs(inputs, where: str, same_rows: bool = True) -> list[Tensor]:
    """``inputs`` (one tensor, or one per modality) as a list of tensors with the same number of rows."""
    if isinstance(inputs, Tensor):
        inputs = [inputs]
    if isinstance(inputs, (str, bytes, dict)) or not hasattr(inputs, "__iter__"):
        raise TypeError(f"{where}: inputs must be a list of tensors, one per modality, got {type(inputs).__name__}")
    inputs = list(inputs)
    if not inputs:
        raise ValueError(f"{where}: inputs is empty; expected one tensor per modality")
    for m, x in enumerate(inputs, start=1):
        if not isinstance(x, Tensor):
            raise TypeError(f"{where}: inputs: modality {m} must be a torch.Tensor, got {type(x).__name__} "
                            f"(convert it with torch.as_tensor)")
        if x.dim() == 0:
            raise ValueError(f"{where}: inputs: modality {m} must have a batch axis, got a scalar tensor")
        if same_rows and x.shape[0] != inputs[0].shape[0]:
            raise ValueError(f"{where}: inputs: modality {m} has {x.shape[0]} rows but modality 1 has "
                             f"{inputs[0].shape[0]}")
    return inputs


def _check_finite(inputs: list[Tensor], where: str) -> None:
    """No NaN or infinity in any floating-point modality."""
    for m, x in enumerate(inputs, start=1):
        if x.is_floating_point() and not torch.isfinite(x).all():
            raise ValueError(f"{where}: inputs: modality {m} contains NaN or infinite values")


def _check_data(data: Data, where: str, classes: bool = True) -> tuple[list[Tensor], Tensor]:
    """Check ``data = (inputs, labels)``; with ``classes``, the labels must be integer class indices (≥ 0)."""
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise TypeError(f"{where}: data must be a pair (inputs, labels) with inputs a list of tensors, one per "
                        f"modality; got {type(data).__name__}")
    inputs, labels = data
    inputs = _check_inputs(inputs, where, same_rows=False)  # each modality's rows are checked against the labels
    if not isinstance(labels, Tensor) or labels.dim() != 1:
        raise ValueError(f"{where}: labels must be a 1-D tensor of class indices, got "
                         f"{getattr(labels, 'shape', type(labels).__name__)}")
    for m, x in enumerate(inputs, start=1):
        if x.shape[0] != labels.shape[0]:
            raise ValueError(f"{where}: modality {m} has {x.shape[0]} rows but there are {labels.shape[0]} labels")
    if labels.shape[0] == 0:
        raise ValueError(f"{where}: labels is empty (0 rows); expected at least one example")
    _check_finite(inputs, where)
    if classes:
        if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
            raise ValueError(f"{where}: labels must be an integer tensor of class indices (e.g. torch.long), got "
                             f"dtype {labels.dtype}")
        if labels.min() < 0:
            raise ValueError(f"{where}: labels must be class indices in 0..num_classes-1, got values from "
                             f"{int(labels.min())} to {int(labels.max())}")
    return inputs, labels


def _check_model(model, where: str) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{where}: model must be a torch.nn.Module, got {type(model).__name__}")


def _check_classes(logits: Tensor, labels: Tensor, rows: int, where: str) -> None:
    """The logits must be ``(rows, classes)`` and every label an index in ``0..classes-1``."""
    if not isinstance(logits, Tensor) or logits.dim() != 2 or logits.shape[0] != rows:
        raise ValueError(f"{where}: model must return logits of shape (batch, classes) = ({rows}, classes), got "
                         f"{tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__}")
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0 or hi >= logits.shape[1]:
        raise ValueError(f"{where}: labels must be class indices in 0..{logits.shape[1] - 1} (the model returns "
                         f"{logits.shape[1]} classes), got values from {lo} to {hi}")


@torch.no_grad()
def predict(model: nn.Module, inputs: Sequence[Tensor], *, batch_size: int = 4096,
            device: torch.device | str | None = None) -> Tensor:
    """The model's logits on ``inputs`` (one tensor per modality), computed in batches, returned on the CPU."""
    _check_model(model, "predict")
    inputs = _check_inputs(inputs, "predict")
    _check_finite(inputs, "predict")
    check_positive("predict", batch_size=batch_size)
    if device is not None:
        device = get_device(device)
    else:  # the model's own device (a model without parameters runs where the data is)
        device = next(iter(model.parameters()), inputs[0]).device
    was_training = model.training
    model.eval()
    inputs = [x.to(device) for x in inputs]
    try:
        if len(inputs[0]) == 0:  # no rows: run the model on the empty batch, for the logits' shape
            return model(*inputs).cpu()
        out = [model(*(x[i:i + batch_size] for x in inputs)).cpu() for i in range(0, len(inputs[0]), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out)


def evaluate(model: nn.Module, data: Data, *, device: torch.device | str | None = None) -> dict[str, float]:
    """Mean cross-entropy loss and accuracy of ``model`` on ``data = (inputs, labels)``.

    Returns
    -------
    dict with keys ``"loss"`` and ``"accuracy"``.

    Examples
    --------
    >>> import torch; from torch import nn
    >>> model = nn.Linear(2, 2)
    >>> sorted(evaluate(model, ([torch.zeros(4, 2)], torch.zeros(4, dtype=torch.long))))
    ['accuracy', 'loss']
    """
    _check_model(model, "evaluate")
    inputs, labels = _check_data(data, "evaluate")
    logits = predict(model, inputs, device=device)
    _check_classes(logits, labels, labels.shape[0], "evaluate")
    loss = nn.functional.cross_entropy(logits, labels.cpu()).item()
    accuracy = (logits.argmax(1) == labels.cpu()).float().mean().item()
    return {"loss": loss, "accuracy": accuracy}


def fit(model: nn.Module, train: Data, val: Data | None = None, *, epochs: int = 20, lr: float = 1e-2,
        batch_size: int = 128, weight_decay: float = 0.0, device: torch.device | str | None = None,
        progress: bool | None = None, callback: Callable[[int, History], None] | None = None,
        loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None) -> History:
    """Train ``model`` with Adam and cross-entropy, recording loss and accuracy for every epoch.

    Parameters
    ----------
    model : nn.Module
        Called as ``model(*inputs)``; returns logits ``(batch, classes)``. Trained on ``device`` and moved back
        to the device it was on when the training ends.
    train, val : (inputs, labels)
        Training and (optional) validation data.
    epochs, lr, batch_size, weight_decay
        The optimisation settings; the data is reshuffled every epoch with torch's global generator (seed it
        with :func:`mmcourse.set_seed`).
    device : optional
        Defaults to :func:`mmcourse.get_device` (the GPU when there is one).
    progress : bool, optional
        Show a ``tqdm`` bar; ``None`` follows :func:`mmcourse.set_progress`.
    callback : callable, optional
        ``callback(epoch, history)`` after each epoch, e.g. to redraw a live figure.
    loss_fn : callable, optional
        Replaces cross-entropy: ``loss_fn(logits, labels)``.

    Returns
    -------
    History

    Examples
    --------
    >>> import torch; from torch import nn
    >>> x = torch.randn(64, 2); y = (x[:, 0] > 0).long()
    >>> fit(nn.Linear(2, 2), ([x], y), epochs=3, progress=False).epochs
    3
    """
    inputs, labels = _check_data(train, "fit", classes=loss_fn is None)
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"fit: {name} must be a positive integer, got {value!r}")
    _check_model(model, "fit")
    for name, value, positive in (("lr", lr, True), ("weight_decay", weight_decay, False)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not (
                0 < value < np.inf if positive else 0 <= value < np.inf):
            expected = "positive (a finite number > 0)" if positive else "a finite number ≥ 0"
            raise ValueError(f"fit: {name} must be {expected}, got {value!r}")
    for name, value in (("callback", callback), ("loss_fn", loss_fn)):
        if value is not None and not callable(value):
            raise TypeError(f"fit: {name} must be callable or None, got {type(value).__name__}")
    val_data = _check_data(val, "fit (val)") if val is not None else None
    device = get_device(device)
    with trained_on(model, device):  # back on its own device afterwards (see trained_on)
        inputs = [x.to(device) for x in inputs]
        labels = labels.to(device)
        check_labels = loss_fn is None  # cross-entropy needs class indices; checked on the first batch's logits
        loss_fn = loss_fn or nn.functional.cross_entropy
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        history = History()
        n = labels.shape[0]
        for epoch in trange(epochs, disable=not progress_enabled(progress), desc="epochs", leave=False):
            model.train()
            order = torch.randperm(n).to(device)
            total_loss, correct = 0.0, 0
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                logits = model(*(x[idx] for x in inputs))
                if check_labels:
                    _check_classes(logits, labels, len(idx), "fit")
                    if val_data is not None:
                        _check_classes(logits, val_data[1], len(idx), "fit (val)")
                    check_labels = False
                loss = loss_fn(logits, labels[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total_loss += loss.item() * len(idx)
                correct += (logits.argmax(1) == labels[idx]).sum().item()
            history.train_loss.append(total_loss / n)
            history.train_acc.append(correct / n)
            if val_data is not None:
                scores = evaluate(model, val_data, device=device)
                history.val_loss.append(scores["loss"])
                history.val_acc.append(scores["accuracy"])
            if callback is not None:
                callback(epoch, history)
    return history
