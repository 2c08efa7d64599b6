r"""Learning curves per modality (Part 7.3): which modality a multimodal model learns, and when it overfits.

- :func:`modality_learning_curves` trains a multimodal :class:`~mmcourse.representation.LogitSumModel` and each
  modality's branch alone with the same budget (Part 2.3's :func:`~mmcourse.representation.fit_balanced`), and
  records every head's curves; :func:`learning_summary` reads them.
- :func:`overfitting_epoch` and :func:`generalization_gap` read a learning curve.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from mmcourse._checks import check_number
from mmcourse.representation import LogitSumModel, fit_balanced
from mmcourse.training import _check_data
from mmcourse.utils import check_positive, set_seed

__all__ = ["modality_learning_curves", "learning_summary", "overfitting_epoch", "generalization_gap"]


def _flat(data, where: str):
    inputs, labels = _check_data(data, where)
    return [x.reshape(len(x), -1).float() for x in inputs], labels


def modality_learning_curves(train, val, *, names: Sequence[str] | None = None, epochs: int = 40, lr: float = 0.05,
                             batch_size: int = 50, width: int = 32, momentum: float = 0.9, weight_decay: float = 0.0,
                             seed: int = 0) -> pd.DataFrame:
    r"""Learning curves of a multimodal model, of each of its modality branches, and of each modality alone.

    The multimodal model is a late fusion by a sum of logits, :math:`f(x) = \sum_m g_m(x_m)`
    (:class:`~mmcourse.representation.LogitSumModel`), trained on the fused loss. The unimodal model of modality
    :math:`m` is the same architecture trained on branch :math:`g_m`'s loss alone, from the same initial weights,
    with the same optimiser, batches and number of epochs (:func:`~mmcourse.representation.fit_balanced` with
    ``head_weights`` one-hot). Comparing branch :math:`g_m` inside the multimodal model with :math:`g_m` trained
    alone shows how much the multimodal model learned from modality :math:`m` (Peng et al., 2022); comparing the
    fused curve with the unimodal ones shows which model overfits first (Wang et al., 2020).

    Book section: Part 7.3 The learning process (and Part 2.3 Optimization).

    Parameters
    ----------
    train, val : (inputs, labels)
        One tensor per modality (M ≥ 2; each is flattened to vectors) and the labels.
    names : sequence of str, optional
        A name per modality; default ``"x1", "x2", …``.
    epochs, lr, batch_size, momentum, weight_decay
        SGD settings shared by all models.
    width : int
        Feature size of every branch's encoder.
    seed : int
        Seeds the initial weights and the batches (the same for every model).

    Returns
    -------
    pandas.DataFrame
        One row per (model, head, epoch), with columns ``model`` (``"multimodal"`` or ``"<name> alone"``),
        ``head`` (``"fused"`` or a modality name), ``epoch`` (1-based), ``train_loss`` and ``val_loss``
        (cross-entropy on the whole split, measured after the epoch in eval mode) and ``val_accuracy``.
        The unimodal models have one head, their own modality's.

    Examples
    --------
    >>> x = [torch.randn(60, 2), torch.randn(60, 3)]; y = (x[0][:, 0] > 0).long()
    >>> curves = modality_learning_curves((x, y), (x, y), epochs=2, width=4)
    >>> curves.groupby(["model", "head"], sort=False).size()  # doctest: +NORMALIZE_WHITESPACE
    model       head
    multimodal  fused    2
                x1       2
                x2       2
    x1 alone    x1       2
    x2 alone    x2       2
    dtype: int64
    """
    inputs, labels = _flat(train, "modality_learning_curves")
    val = _flat(val, "modality_learning_curves (val)")
    count = len(inputs)
    if count < 2:
        raise ValueError(f"modality_learning_curves: expected at least 2 modalities, got {count}")
    if len(val[0]) != count or any(v.shape[1] != x.shape[1] for v, x in zip(val[0], inputs)):
        raise ValueError(f"modality_learning_curves: val must have the training modalities' sizes "
                         f"{[x.shape[1] for x in inputs]}, got {[v.shape[1] for v in val[0]]}")
    check_positive("modality_learning_curves", epochs=epochs, batch_size=batch_size, width=width)
    momentum = check_number("modality_learning_curves", "momentum", momentum, low=0)
    weight_decay = check_number("modality_learning_curves", "weight_decay", weight_decay, low=0)
    names = [f"x{m + 1}" for m in range(count)] if names is None else [str(n) for n in names]
    if len(names) != count or len(set(names)) != count or "fused" in names:
        raise ValueError(f"modality_learning_curves: names must be {count} distinct names other than 'fused', "
                         f"got {names!r}")
    classes = int(max(labels.max(), val[1].max())) + 1
    settings = dict(epochs=epochs, lr=lr, batch_size=batch_size, momentum=momentum, weight_decay=weight_decay,
                    progress=False)
    runs = {"multimodal": (None, ["fused", *names])}
    runs.update({f"{name} alone": ([float(k == m) for k in range(count + 1)], [name])
                 for m, name in enumerate(names, start=1)})
    rows = []
    for model_name, (head_weights, heads) in runs.items():
        set_seed(seed)
        model = LogitSumModel([x.shape[1] for x in inputs], max(classes, 2), width=width)
        history = fit_balanced(model, (inputs, labels), val, head_weights=head_weights, **settings)
        accuracies = np.column_stack([history.val_acc, history.branch_val_acc])   # (epochs, heads) like the losses
        for head in heads:
            k = 0 if head == "fused" else names.index(head) + 1
            for epoch in range(epochs):
                rows.append({"model": model_name, "head": head, "epoch": epoch + 1,
                             "train_loss": history.head_train_loss[epoch][k],
                             "val_loss": history.head_val_loss[epoch][k], "val_accuracy": accuracies[epoch, k]})
    return pd.DataFrame(rows)


def learning_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """Per (model, head) of :func:`modality_learning_curves`' table: the best epoch (:func:`overfitting_epoch`),
    the lowest validation loss, the validation accuracy at the best epoch, and the generalisation gap
    (:func:`generalization_gap`) at the best and at the last epoch.

    Examples
    --------
    >>> curves = pd.DataFrame({"model": "m", "head": "h", "epoch": [1, 2, 3], "train_loss": [0.6, 0.4, 0.2],
    ...                        "val_loss": [0.7, 0.5, 0.6], "val_accuracy": [0.6, 0.7, 0.7]})
    >>> learning_summary(curves).round(2).to_dict("records")[0]["best epoch"]
    2
    """
    missing = {"model", "head", "epoch", "train_loss", "val_loss", "val_accuracy"} - set(curves.columns)
    if missing:
        raise ValueError(f"learning_summary: curves lacks the columns {sorted(missing)}")
    rows = {}
    for key, group in curves.sort_values("epoch", kind="stable").groupby(["model", "head"], sort=False):
        best = overfitting_epoch(group["val_loss"])
        gap = generalization_gap(group["train_loss"], group["val_loss"])
        rows[key] = {"best epoch": best, "lowest val loss": group["val_loss"].min(),
                     "val accuracy at best": group["val_accuracy"].iloc[best - 1],
                     "gap at best": gap[best - 1], "gap at end": gap[-1]}
    return pd.DataFrame(rows).T.rename_axis(["model", "head"]).astype({"best epoch": int})


def _losses(values, name: str, where: str) -> np.ndarray:
    array = np.asarray(getattr(values, "val_loss", values), dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{where}: {name} must be a non-empty 1-D sequence of losses (one per epoch), got shape "
                         f"{array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{where}: {name} holds NaN or infinity")
    return array


def overfitting_epoch(val_loss, *, tolerance: float = 0.0) -> int:
    r"""The best epoch of a learning curve: the first epoch whose validation loss is within ``tolerance`` of the
    lowest, :math:`e^\star = \min\{e : L_{\text{val}}(e) \le \min_{e'} L_{\text{val}}(e') + \text{tolerance}\}`.

    After :math:`e^\star` the validation loss no longer improves: the model starts to overfit (early stopping
    would keep the weights of epoch :math:`e^\star`).

    Parameters
    ----------
    val_loss : sequence of float or History
        The validation loss after each epoch (a :class:`~mmcourse.training.History`'s ``val_loss`` is used).
    tolerance : float
        ≥ 0; a small tolerance ignores late improvements smaller than it.

    Returns
    -------
    int
        1-based.

    Examples
    --------
    >>> overfitting_epoch([0.9, 0.5, 0.4, 0.45, 0.6])
    3
    >>> overfitting_epoch([0.9, 0.5, 0.41, 0.4, 0.6], tolerance=0.02)
    3
    """
    losses = _losses(val_loss, "val_loss", "overfitting_epoch")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 <= tolerance < np.inf:
        raise ValueError(f"overfitting_epoch: tolerance must be a finite number ≥ 0, got {tolerance!r}")
    return int(np.flatnonzero(losses <= losses.min() + tolerance)[0]) + 1


def generalization_gap(train_loss, val_loss=None) -> np.ndarray:
    r"""The generalisation gap after each epoch, :math:`L_{\text{val}}(e) - L_{\text{train}}(e)`: how much worse
    the model does on data it has not seen (positive when it overfits).

    Parameters
    ----------
    train_loss, val_loss : sequence of float
        The losses after each epoch, or a single :class:`~mmcourse.training.History` as ``train_loss``. (A
        ``History``'s training loss is the average over the epoch's batches while the weights changed, so it
        overstates the training loss early on; the curves of :func:`modality_learning_curves` are measured after
        each epoch.)

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> generalization_gap([0.5, 0.3, 0.1], [0.6, 0.45, 0.5]).round(2).tolist()
    [0.1, 0.15, 0.4]
    """
    if val_loss is None:
        if not hasattr(train_loss, "train_loss"):
            raise ValueError("generalization_gap: give train_loss and val_loss, or a History")
        train_loss, val_loss = train_loss.train_loss, train_loss.val_loss
    train = _losses(train_loss, "train_loss", "generalization_gap")
    val = _losses(val_loss, "val_loss", "generalization_gap")
    if train.shape != val.shape:
        raise ValueError(f"generalization_gap: train_loss has {train.size} epochs but val_loss has {val.size}")
    return val - train
