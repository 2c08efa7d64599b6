r"""How much each modality says about the label: a variational lower bound on :math:`I(X_m; Y)` from a unimodal
classifier (Barber and Agakov, 2003), with its accuracy, the unimodal baseline (Part 7.1)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy.optimize import minimize_scalar
from torch import Tensor, nn

from mmcourse.encoders import MLPEncoder, UnimodalClassifier
from mmcourse.quantification.heterogeneity._common import Data, _data
from mmcourse.training import fit, predict
from mmcourse.utils import as_numpy, check_positive, set_seed

__all__ = ["label_entropy", "information_lower_bound", "train_unimodal", "modality_information"]


def label_entropy(labels, num_classes: int | None = None) -> float:
    r"""The entropy of the empirical label distribution in bits, :math:`H(Y) = -\sum_c p_c \log_2 p_c`.

    ``labels`` is a non-empty vector of non-negative integers (a tensor, an array or a list), below
    ``num_classes`` when that is given. The same function as :func:`mmcourse.generation.label_entropy`.

    Examples
    --------
    >>> label_entropy([0, 1, 0, 1]), label_entropy([2, 2, 2])
    (1.0, 0.0)
    """
    where = "label_entropy"
    if not isinstance(labels, Tensor):
        try:
            array = np.asarray(labels)
        except ValueError as exc:  # ragged nesting
            raise ValueError(f"{where}: labels must be a non-empty vector (N,) of integers, got {labels!r}") from exc
        if array.dtype.kind not in "biuf":
            raise ValueError(f"{where}: labels must be a non-empty vector (N,) of integers, got dtype {array.dtype}")
        labels = array
    y = as_numpy(labels, "labels", where)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"{where}: labels must be a non-empty vector (N,) of integers, got shape {y.shape}")
    if (y != np.round(y)).any():
        raise ValueError(f"{where}: labels must be a non-empty vector (N,) of integers, got non-integer values "
                         f"such as {y[y != np.round(y)][0]}")
    if y.min() < 0:
        raise ValueError(f"{where}: labels must be non-negative integers (class indices), got values from "
                         f"{int(y.min())} to {int(y.max())}")
    if num_classes is not None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
            raise ValueError(f"{where}: num_classes must be a positive int, got {num_classes!r}")
        if y.max() >= num_classes:
            raise ValueError(f"{where}: labels must lie in 0..{num_classes - 1}, got [{int(y.min())}, "
                             f"{int(y.max())}]")
    y = y.astype(int)
    counts = np.bincount(y, minlength=num_classes or 0)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0


def information_lower_bound(probabilities, labels) -> float:
    r"""A variational lower bound on :math:`I(X; Y)` in bits from a classifier's predicted probabilities.

    For any distribution :math:`q(y \mid x)`, :math:`I(X; Y) = H(Y) - H(Y \mid X) \ge H(Y) - \mathbb E[-\log_2
    q(Y \mid X)]`, since the cross-entropy is at least the conditional entropy (Barber and Agakov, 2003). On
    held-out pairs :math:`(x_k, y_k)` the estimate is

    .. math:: \hat I = \max\Big(0,\ \hat H(Y) - \frac1n \sum_{k=1}^n -\log_2 q(y_k \mid x_k)\Big),

    with :math:`\hat H(Y)` the entropy of the held-out labels (:func:`label_entropy`). A classifier no better than
    the label frequencies gives a negative difference, which says nothing beyond :math:`I \ge 0`; hence the max.
    A better classifier tightens the bound; no classifier can exceed :math:`H(Y)`.

    Parameters
    ----------
    probabilities : array-like ``(n, C)``
        Rows of predicted probabilities (each sums to 1).
    labels : array-like ``(n,)``
        Integer labels in ``0 .. C-1``.

    Returns
    -------
    float
        Bits, between 0 and :math:`\hat H(Y) \le \log_2 C`.

    Examples
    --------
    >>> information_lower_bound([[1.0, 0.0], [0.0, 1.0]], [0, 1])  # a perfect classifier: all of H(Y) = 1 bit
    1.0
    >>> information_lower_bound([[0.5, 0.5], [0.5, 0.5]], [0, 1])
    0.0
    """
    where = "information_lower_bound"
    p = as_numpy(probabilities, "probabilities", where)
    y = as_numpy(labels, "labels", where)
    if p.ndim != 2 or y.shape != (p.shape[0],):
        raise ValueError(f"{where}: probabilities must be (n, C) and labels (n,), got {p.shape} and {y.shape}")
    if p.shape[0] == 0 or p.shape[1] == 0:
        raise ValueError(f"{where}: probabilities must have at least one row and one class, got shape {p.shape}")
    if (p < 0).any() or not np.allclose(p.sum(1), 1, atol=1e-4):
        raise ValueError(f"{where}: each row of probabilities must be non-negative and sum to 1")
    if (y != np.round(y)).any() or y.min(initial=0) < 0 or y.max(initial=0) >= p.shape[1]:
        raise ValueError(f"{where}: labels must be integers in 0..{p.shape[1] - 1}")
    y = y.astype(int)
    cross_entropy = -np.log2(np.clip(p[np.arange(len(y)), y], 1e-300, None)).mean()
    return max(0.0, label_entropy(y, p.shape[1]) - float(cross_entropy))


def train_unimodal(train: Data, *, stem: int = 16, width: int = 16, hidden: Sequence[int] = (32,), epochs: int = 30,
                   lr: float = 1e-2, seed: int = 0) -> list[nn.Sequential]:
    r"""One classifier per modality, :math:`f_m = h_m \circ b_m \circ L_m`, each trained on its modality alone.

    ``models[m]`` is ``nn.Sequential(Flatten, L_m, classifier)``: the input layer :math:`L_m`, a linear map of the
    flattened input to ``stem`` numbers (a modality-specific embedding, as HighMMT's), then the body and head
    :math:`h_m \circ b_m`, a :class:`~mmcourse.encoders.UnimodalClassifier` with an
    :class:`~mmcourse.encoders.MLPEncoder` (``stem`` → ``hidden`` → ``width``). Images and spectrograms are
    flattened, so every modality gets the same kind of model and only the data differ. Each is trained by
    :func:`mmcourse.training.fit` from ``set_seed(seed + m)``; call it on its own modality, ``models[m](x_m)``.

    The narrow linear input layer is what :func:`transfer_distance` re-learns: it holds little (a linear
    re-coding of the input), so that what a model knows about its modality sits in the body it keeps.

    Examples
    --------
    >>> xs, y = [torch.randn(20, 3), torch.randn(20, 2, 2)], torch.randint(0, 2, (20,))
    >>> [m(x).shape[1] for m, x in zip(train_unimodal((xs, y), epochs=1), xs)]
    [2, 2]
    """
    xs, y = _data(train, "train", "train_unimodal")
    if len(y) == 0:
        raise ValueError("train_unimodal: train has no rows; expected at least one labelled example")
    check_positive("train_unimodal", stem=stem, width=width, epochs=epochs,
              **{f"hidden[{i}]": h for i, h in enumerate(hidden)})
    models = []
    for m, x in enumerate(xs):
        set_seed(seed + m)
        model = nn.Sequential(nn.Flatten(), nn.Linear(x[0].numel(), stem),
                              UnimodalClassifier(MLPEncoder(stem, width, tuple(hidden)), int(y.max()) + 1))
        fit(model, ([x], y), epochs=epochs, lr=lr, progress=False)
        models.append(model.eval())
    return models


def _temperature(logits: Tensor, y: Tensor) -> float:
    """The temperature ``T`` minimising the cross-entropy of ``softmax(logits / T)`` (temperature scaling)."""
    def loss(log_t):
        return nn.functional.cross_entropy(logits / np.exp(log_t), y).item()
    return float(np.exp(minimize_scalar(loss, bounds=(-3.0, 3.0), method="bounded").x))


def modality_information(models: Sequence[nn.Module], val: Data, test: Data) -> dict[str, np.ndarray]:
    r"""Unimodal baselines: each modality's test accuracy and lower bound on :math:`I(X_m; Y)` in bits.

    The probabilities are ``softmax(logits / T_m)`` with a temperature :math:`T_m` fitted on ``val`` (temperature
    scaling): a classifier trained to low training loss is over-confident on new data, and calibrating it on
    separate data tightens :func:`information_lower_bound` on ``test`` without making it invalid.

    Parameters
    ----------
    models : sequence of nn.Module
        ``models[m](x_m)`` returns logits, e.g. from :func:`train_unimodal`.
    val, test : (list of Tensor, Tensor)
        Calibration and evaluation data.

    Returns
    -------
    dict
        ``"accuracy"`` and ``"bits"``, arrays ``(M,)``; ``"entropy"``, :math:`\hat H(Y)` of the test labels.

    Examples
    --------
    >>> xs, y = [torch.randn(60, 3), torch.randn(60, 2)], torch.randint(0, 2, (60,))
    >>> info = modality_information(train_unimodal((xs, y), epochs=2), (xs, y), (xs, y))
    >>> bool((info["bits"] <= info["entropy"]).all())
    True
    """
    where = "modality_information"
    xv, yv = _data(val, "val", where, len(models))
    xt, yt = _data(test, "test", where, len(models))
    accuracy, bits = [], []
    yv, yt = yv.cpu(), yt.cpu()  # predict returns logits on the CPU
    for m, (model, x, x_test) in enumerate(zip(models, xv, xt)):
        logits_val, logits = predict(model, [x]), predict(model, [x_test])
        for name, out, labels in (("val", logits_val, yv), ("test", logits, yt)):
            if len(labels) == 0:
                raise ValueError(f"{where}: {name} has no rows; expected at least one labelled example")
            if out.dim() != 2 or int(labels.min()) < 0 or int(labels.max()) >= out.shape[1]:
                raise ValueError(f"{where}: the labels of {name} must be class indices in 0..{out.shape[-1] - 1} "
                                 f"(models[{m}] returns {out.shape[-1]} classes), got values from "
                                 f"{int(labels.min())} to {int(labels.max())}")
        temperature = _temperature(logits_val, yv)
        accuracy.append((logits.argmax(1) == yt).float().mean().item())
        bits.append(information_lower_bound(torch.softmax(logits.double() / temperature, 1), yt))
    return {"accuracy": np.array(accuracy), "bits": np.array(bits), "entropy": label_entropy(yt)}
