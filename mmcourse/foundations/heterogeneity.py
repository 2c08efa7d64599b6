r"""Part 1: measuring three dimensions of heterogeneity of a modality from its samples.

The chapter *Modalities and heterogeneity* compares two modalities of one phenomenon along the dimensions of
heterogeneity of Liang et al. (2024), *Foundations and trends in multimodal machine learning*. Three of them are
properties of one modality's samples alone, and this module measures them on a tensor ``x`` of shape
``(samples, ...)``:

- **elements**: :func:`element_statistics`, how many elements a sample has and how many distinct values they take;
- **distribution**: :func:`distribution_statistics` (mean, spread, mass at the ends of ``[0, 1]``) and
  :func:`value_entropy`, the entropy of the histogram of element values;
- **structure**: :func:`lag_correlation`, how much an element predicts its neighbour ``k`` steps along one axis.

(Part 7's :mod:`mmcourse.quantification` measures heterogeneity *between* modalities, through models: information,
noise, transfer.)

Book section: Part 1, Foundations (chapter *Modalities and heterogeneity*).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = ["element_statistics", "distribution_statistics", "value_entropy", "lag_correlation"]


def _samples(x: object, where: str, min_ndim: int = 1) -> Tensor:
    """``x`` as a float tensor of samples, or a ``ValueError``/``TypeError`` that says what is wrong."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, Tensor):
        raise TypeError(f"{where}: x must be a torch.Tensor or a NumPy array of samples, got {type(x).__name__}")
    if x.ndim < min_ndim:
        raise ValueError(f"{where}: x must have at least {min_ndim} dimension(s) (samples first), got shape "
                         f"{tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{where}: x is empty (shape {tuple(x.shape)})")
    x = x.detach().cpu()
    if not x.is_floating_point():
        x = x.double()
    if not torch.isfinite(x).all():
        raise ValueError(f"{where}: x contains NaN or infinite values")
    return x


def element_statistics(x: Tensor | np.ndarray) -> dict[str, int]:
    r"""The element dimension: how many elements one sample has, and how many distinct values they take.

    For samples :math:`x^{(1)}, \dots, x^{(n)}` stacked as ``x`` (samples first), the two numbers are the size of
    one sample, :math:`\prod_{d \ge 1} \text{shape}_d`, and :math:`|\{x^{(s)}_i : s, i\}|`, the number of
    distinct values over all samples and positions. A few distinct values say the modality is (near) discrete,
    like the 17 grey levels of an 8×8 handwritten digit; thousands say it is continuous.

    Parameters
    ----------
    x : torch.Tensor or numpy.ndarray
        Samples of one modality, shape ``(samples, ...)`` with at least one element per sample.

    Returns
    -------
    dict of str to int
        ``"elements per sample"`` and ``"distinct values"``.

    Examples
    --------
    >>> element_statistics(torch.tensor([[0.0, 0.5, 1.0], [0.0, 0.0, 1.0]]))
    {'elements per sample': 3, 'distinct values': 3}
    """
    x = _samples(x, "element_statistics", min_ndim=2)
    return {"elements per sample": int(x[0].numel()), "distinct values": int(torch.unique(x).numel())}


def distribution_statistics(x: Tensor | np.ndarray) -> dict[str, float]:
    r"""The distribution dimension: where the element values of a modality in :math:`[0, 1]` lie.

    Over all elements :math:`v` of all samples: the mean :math:`\bar v`, the (unbiased) standard deviation
    :math:`\sqrt{\sum (v - \bar v)^2 / (N - 1)}`, the share of elements at exactly 0,
    :math:`\frac1N |\{v = 0\}|`, and the share at exactly 1. The two shares tell a modality that piles up at the
    ends (blank paper and full ink) from one that is mostly faint.

    Parameters
    ----------
    x : torch.Tensor or numpy.ndarray
        Samples of one modality, any shape, with at least two elements in all.

    Returns
    -------
    dict of str to float
        ``"mean"``, ``"std"``, ``"share of zeros"`` and ``"share at 1"``.

    Examples
    --------
    >>> stats = distribution_statistics(torch.tensor([0.0, 0.0, 0.5, 1.0]))
    >>> stats["mean"], stats["share of zeros"], stats["share at 1"]
    (0.375, 0.5, 0.25)
    """
    x = _samples(x, "distribution_statistics")
    if x.numel() < 2:
        raise ValueError(f"distribution_statistics: x needs at least two elements for a spread, got {x.numel()}")
    return {"mean": x.mean().item(), "std": x.std().item(), "share of zeros": (x == 0).float().mean().item(),
            "share at 1": (x == 1).float().mean().item()}


def value_entropy(x: Tensor | np.ndarray, bins: int = 32) -> float:
    r"""The entropy, in bits, of the histogram of a modality's element values on ``bins`` equal bins of [0, 1].

    .. math::

        H = -\sum_{b=1}^{B} p_b \log_2 p_b, \qquad p_b = \frac{|\{v : \lfloor B v \rfloor = b - 1\}|}{N},

    with the value 1 counted in the last bin and :math:`0 \log 0 = 0`. It is 0 for a constant modality and at
    most :math:`\log_2 B` (every bin equally full): a modality whose values concentrate on a few levels has a low
    entropy, one that spreads them a high one.

    Parameters
    ----------
    x : torch.Tensor or numpy.ndarray
        Samples of one modality with values in [0, 1], any shape.
    bins : int
        The number :math:`B` of equal bins (at least 2).

    Returns
    -------
    float
        :math:`H` in bits, between 0 and :math:`\log_2 B`.

    Examples
    --------
    >>> value_entropy(torch.tensor([0.0, 0.0, 1.0, 1.0]), bins=4)  # two full bins out of four
    1.0
    """
    where = "value_entropy"
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
        raise ValueError(f"{where}: bins must be an integer of at least 2, got bins={bins!r}")
    x = _samples(x, where).double().flatten()
    if x.min() < 0 or x.max() > 1:
        raise ValueError(f"{where}: the values of x must lie in [0, 1], got a range of "
                         f"[{x.min().item():.3g}, {x.max().item():.3g}]")
    index = (x * bins).long().clamp(max=bins - 1)  # floor(B v); v = 1 goes to the last bin
    p = torch.bincount(index, minlength=bins).double() / x.numel()
    p = p[p > 0]
    return float(max(0.0, -(p * p.log2()).sum().item()))


def lag_correlation(x: Tensor | np.ndarray, axis: int, lag: int) -> float:
    r"""The structure dimension: the mean correlation between an element and its neighbour ``lag`` steps away.

    .. math::

        \rho(k) = \operatorname{mean}_i\ \operatorname{corr}\big(x_i,\, x_{i + k}\big),

    where :math:`i` runs over the positions that have a neighbour :math:`k` steps further along ``axis``, the
    correlation runs over the samples, and positions whose value never changes (an image's blank corners) are
    left out, since their correlation is undefined.

    Parameters
    ----------
    x : torch.Tensor or numpy.ndarray
        Samples of one modality, shape ``(samples, d_1, ...)``, at least two samples.
    axis : int
        The axis to step along, between 1 and ``x.ndim - 1`` (axis 0 holds the samples).
    lag : int
        The step :math:`k`, between 1 and ``x.shape[axis] - 1``.

    Returns
    -------
    float
        :math:`\rho(k)`, between -1 and 1.

    Examples
    --------
    >>> x = torch.arange(6.0).repeat(4, 1) * torch.arange(1.0, 5.0)[:, None]  # rows 0..5 scaled by 1..4
    >>> round(lag_correlation(x, axis=1, lag=2), 6)  # neighbours move together
    1.0
    """
    x = _check_lag(x, axis, lag)
    n = x.shape[axis]
    a = x.narrow(axis, 0, n - lag).flatten(1).numpy()  # x_i, one column per position i
    b = x.narrow(axis, lag, n - lag).flatten(1).numpy()  # x_{i + k}
    keep = (a.std(0) > 0) & (b.std(0) > 0)  # a constant position has no correlation
    if not keep.any():
        raise ValueError("lag_correlation: every position is constant across the samples; nothing to correlate")
    a, b = a[:, keep], b[:, keep]
    a, b = (a - a.mean(0)) / a.std(0), (b - b.mean(0)) / b.std(0)
    return float((a * b).mean(0).mean())  # corr per position, then the mean over positions


def _check_lag(x: object, axis: object, lag: object) -> Tensor:
    where = "lag_correlation"
    x = _samples(x, where, min_ndim=2)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not 1 <= axis < x.ndim:
        raise ValueError(f"{where}: axis must be an integer between 1 and {x.ndim - 1} (axis 0 holds the "
                         f"samples), got axis={axis!r}")
    n = x.shape[axis]
    if isinstance(lag, bool) or not isinstance(lag, (int, np.integer)) or not 1 <= lag < n:
        raise ValueError(f"{where}: lag must be an integer between 1 and {n - 1} (the axis has {n} positions), "
                         f"got lag={lag!r}")
    if x.shape[0] < 2:
        raise ValueError(f"{where}: x needs at least two samples to correlate, got {x.shape[0]}")
    return x
