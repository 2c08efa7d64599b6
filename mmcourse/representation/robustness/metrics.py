r"""Measuring robustness: accuracy-vs-noise curves and MultiBench's relative and effective robustness.

MultiBench (Liang et al., 2021, *MultiBench: Multiscale Benchmarks for Multimodal Representation Learning*) scores
how a model holds up as one modality gets noisier, after Taori et al. (2020):

- **relative robustness** measures the accuracy under imperfections itself: the area under the accuracy-vs-noise
  curve :math:`a(\ell)`, :math:`\ell \in [0, 1]`;
- **effective robustness** measures how fast the accuracy drops once the clean accuracy is equalised: the model's
  curve minus a baseline's curve (late fusion in MultiBench) shifted to start at the model's clean accuracy.

Both follow MultiBench's code (``eval_scripts/robustness.py``), which also min-max normalises each score over the
methods compared on a task (:func:`minmax_normalize`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from mmcourse.representation.optimization.dropout import drop_modalities
from mmcourse.representation.robustness.noise import NOISES, add_noise
from mmcourse.training import predict

__all__ = ["relative_robustness", "effective_robustness", "minmax_normalize", "accuracy_under_noise",
           "accuracy_missing", "DEFAULT_LEVELS"]

DEFAULT_LEVELS = tuple(np.round(np.linspace(0, 1, 11), 2).tolist())
"""MultiBench's noise levels: 0, 0.1, …, 1."""


def _curve(values, name: str, where: str) -> np.ndarray:
    curve = np.asarray(values, dtype=float)
    if curve.ndim != 1 or curve.size < 2:
        raise ValueError(f"{where}: {name} must be a 1-D sequence of at least 2 numbers (one per noise level), got "
                         f"shape {curve.shape}")
    if not np.isfinite(curve).all():
        raise ValueError(f"{where}: {name} holds NaN or infinity")
    return curve


def relative_robustness(accuracies: Sequence[float], levels: Sequence[float] | None = None) -> float:
    r"""MultiBench's relative robustness: the area under the accuracy-vs-noise curve (trapezoidal rule),

    .. math::

        \mathrm{RR} = \sum_{i=0}^{K-1} \frac{a(\ell_i) + a(\ell_{i+1})}{2}\, (\ell_{i+1} - \ell_i).

    Parameters
    ----------
    accuracies : sequence of float
        :math:`a(\ell_0), \dots, a(\ell_K)`, the accuracy at each noise level, clean first.
    levels : sequence of float, optional
        Increasing levels :math:`\ell_0 < \dots < \ell_K`; default ``K + 1`` equal steps from 0 to 1. (MultiBench
        always uses steps of 0.1: for its 11 levels 0, 0.1, …, 1 the two agree.)

    Returns
    -------
    float
        Between 0 and 1 for accuracies on levels in [0, 1]; a model that keeps accuracy :math:`a` throughout scores
        :math:`a`.

    Examples
    --------
    >>> relative_robustness([1.0, 0.5, 0.0])  # a straight drop from 1 to 0 keeps half the area
    0.5
    >>> relative_robustness([0.9, 0.9, 0.9, 0.9])
    0.9
    """
    curve = _curve(accuracies, "accuracies", "relative_robustness")
    if levels is None:
        x = np.linspace(0.0, 1.0, curve.size)
    else:
        x = _curve(levels, "levels", "relative_robustness")
        if x.size != curve.size:
            raise ValueError(f"relative_robustness: levels has {x.size} values but accuracies has {curve.size}")
        if not (np.diff(x) > 0).all():
            raise ValueError(f"relative_robustness: levels must increase strictly, got {x.tolist()}")
    return float(np.sum((curve[1:] + curve[:-1]) / 2 * np.diff(x)))


def effective_robustness(accuracies: Sequence[float], baseline: Sequence[float]) -> float:
    r"""MultiBench's effective robustness: the accuracy a model keeps beyond a baseline with the same clean accuracy,

    .. math::

        \mathrm{ER} = \sum_{i=0}^{K} \Big( a(\ell_i) - \big[\, b(\ell_i) - b(\ell_0) + a(\ell_0) \,\big] \Big)
                    = \sum_{i=0}^{K} \big[ (a(\ell_i) - a(\ell_0)) - (b(\ell_i) - b(\ell_0)) \big],

    where :math:`b` is the baseline's curve on the same levels (late fusion in MultiBench), shifted so that it starts
    at the model's clean accuracy :math:`a(\ell_0)`. Positive: the model loses less than the baseline as noise
    grows; zero: it loses as much; negative: more. As in MultiBench's code this is a sum over the levels, not an
    area.

    Parameters
    ----------
    accuracies, baseline : sequence of float
        The model's and the baseline's accuracies at the same noise levels, clean first.

    Returns
    -------
    float

    Examples
    --------
    >>> effective_robustness([0.9, 0.8, 0.7], baseline=[0.95, 0.75, 0.55])  # drops 0.1 per level, baseline 0.2
    0.3
    """
    curve = _curve(accuracies, "accuracies", "effective_robustness")
    base = _curve(baseline, "baseline", "effective_robustness")
    if base.size != curve.size:
        raise ValueError(f"effective_robustness: baseline has {base.size} values but accuracies has {curve.size}; "
                         f"give both on the same noise levels")
    return float(np.round(np.sum((curve - curve[0]) - (base - base[0])), 12))


def minmax_normalize(scores: Mapping[str, float]) -> dict[str, float]:
    r"""Rescale scores of several methods to [0, 1], as MultiBench reports them: :math:`(s - \min s) / (\max s -
    \min s)`, so the least robust method gets 0 and the most robust 1 (all 0 when they tie).

    Examples
    --------
    >>> minmax_normalize({"late": 0.6, "tensor": 0.8, "early": 0.7})
    {'late': 0.0, 'tensor': 1.0, 'early': 0.5}
    """
    if not isinstance(scores, Mapping) or not scores:
        raise ValueError("minmax_normalize: scores must be a non-empty mapping {method: score}")
    values = np.array([float(v) for v in scores.values()])
    if not np.isfinite(values).all():
        raise ValueError(f"minmax_normalize: scores hold NaN or infinity: {dict(scores)}")
    span = values.max() - values.min()
    normed = (values - values.min()) / span if span > 0 else np.zeros_like(values)
    return {name: float(np.round(v, 12)) for name, v in zip(scores, normed)}


def _accuracy(model: nn.Module, inputs: list[Tensor], labels: Tensor) -> float:
    # The model's own device (a model without parameters runs where the data is).
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else inputs[0].device
    return (predict(model, inputs, device=device).argmax(1) == labels.cpu()).float().mean().item()


def _check_data(where: str, model, data) -> tuple[list[Tensor], Tensor]:
    """``model`` a module and ``data`` an ``(inputs, labels)`` pair of same-sized, finite tensors."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"{where}: model must be an nn.Module, got {type(model).__name__}")
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise TypeError(f"{where}: data must be a pair (inputs, labels), got {type(data).__name__}")
    inputs, labels = data
    if not isinstance(inputs, (tuple, list)) or not inputs:
        raise TypeError(f"{where}: data[0] must be a non-empty list with one tensor per modality, got "
                        f"{type(inputs).__name__}")
    if not isinstance(labels, Tensor):
        raise TypeError(f"{where}: the labels data[1] must be a torch.Tensor, got {type(labels).__name__}")
    if labels.dim() != 1 or labels.is_floating_point() or labels.shape[0] == 0:
        raise ValueError(f"{where}: the labels data[1] must be a non-empty 1-D tensor of class indices, got dtype "
                         f"{labels.dtype} and shape {tuple(labels.shape)}")
    for m, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"{where}: modality {m} of data[0] must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() < 1 or x.shape[0] != labels.shape[0]:
            raise ValueError(f"{where}: mismatched batch sizes: modality {m} of data[0] has shape "
                             f"{tuple(x.shape)}, the labels have {labels.shape[0]} rows")
        if x.is_floating_point() and not torch.isfinite(x).all():
            raise ValueError(f"{where}: modality {m} of data[0] contains NaN or infinite values")
    return list(inputs), labels


def _check_seed(where: str, seed) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{where}: seed must be a non-negative integer, got {seed!r}")


def _check_modality(modality: int, count: int, where: str) -> None:
    if isinstance(modality, bool) or not isinstance(modality, int) or not 0 <= modality < count:
        raise ValueError(f"{where}: modality must be an index in 0..{count - 1} (0-based), got {modality!r}")


def accuracy_under_noise(model: nn.Module, data: tuple[Sequence[Tensor], Tensor], modality: int, kind: str,
                         levels: Sequence[float] = DEFAULT_LEVELS, *, seed: int = 0) -> np.ndarray:
    """Test accuracy with modality ``modality`` corrupted by noise ``kind`` at each of ``levels``; the others clean.

    Parameters
    ----------
    model : nn.Module
        Called as ``model(*inputs)``.
    data : (inputs, labels)
        As returned by :func:`mmcourse.data.as_tensors`.
    modality : int
        The 0-based index of the corrupted modality.
    kind : str
        A key of :data:`NOISES`.
    levels : sequence of float
        Noise levels in [0, 1].
    seed : int
        Each level's corruption is drawn from ``torch.Generator().manual_seed(seed)``, so the curve is reproducible.

    Returns
    -------
    numpy.ndarray
        One accuracy per level.

    Examples
    --------
    >>> class Sum(nn.Module):
    ...     def forward(self, x1, x2): return x1 + x2
    >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).repeat(50, 1)
    >>> accuracy_under_noise(Sum(), ([x, x], x.argmax(1)), 0, "dropout", [0.0, 1.0])  # x2 alone still suffices
    array([1., 1.])
    """
    inputs, labels = _check_data("accuracy_under_noise", model, data)
    _check_seed("accuracy_under_noise", seed)
    _check_modality(modality, len(inputs), "accuracy_under_noise")
    if kind not in NOISES:
        raise ValueError(f"accuracy_under_noise: unknown noise kind {kind!r}; known kinds: {', '.join(NOISES)}")
    accuracies = []
    for level in levels:
        noisy = list(inputs)
        noisy[modality] = add_noise(inputs[modality], kind, level, torch.Generator().manual_seed(seed))
        accuracies.append(_accuracy(model, noisy, labels))
    return np.array(accuracies)


def accuracy_missing(model: nn.Module, data: tuple[Sequence[Tensor], Tensor], missing: int | Sequence[int]) -> float:
    """Test accuracy with the modalities ``missing`` (0-based indices) replaced by zeros, as
    :func:`~mmcourse.representation.drop_modalities` does.

    Examples
    --------
    >>> class First(nn.Module):
    ...     def forward(self, x1, x2): return x1
    >>> x1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> accuracy_missing(First(), ([x1, x1], torch.tensor([0, 1])), missing=1)
    1.0
    """
    inputs, labels = _check_data("accuracy_missing", model, data)
    missing = [missing] if isinstance(missing, int) else list(missing)
    for m in missing:
        _check_modality(m, len(inputs), "accuracy_missing")
    keep = torch.ones(len(labels), len(inputs), dtype=torch.bool)
    keep[:, missing] = False
    return _accuracy(model, drop_modalities(inputs, keep.to(inputs[0].device)), labels)
