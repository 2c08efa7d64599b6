r"""Part 5.4: is a generator varied, and does it make new samples or copy its training set?

Two measures that a coherence score cannot replace. A generator that returns one good sample for every input is
coherent and useless; one that returns its training examples is coherent, varied, and has learned nothing.

- **Diversity**: the mean pairwise distance of the samples, :math:`\frac{2}{N(N-1)} \sum_{i<j} \lVert x_i - x_j
  \rVert`, and the entropy (in bits) of the classes a classifier trained on real data assigns to them,
  :math:`H = -\sum_c p_c \log_2 p_c`.
- **Memorisation**: the distance of each generated sample to its nearest training example,
  :math:`d(x) = \min_{t \in \mathcal T} \lVert x - t \rVert`, compared with the same distance for held-out real
  samples: :math:`\rho = \operatorname{median}_{x \in G} d(x) / \operatorname{median}_{x \in H} d(x)`. Copies of the
  training set give :math:`\rho = 0`; new samples as close to the training set as fresh real data give about 1.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

# one implementation for the whole book: the entropy of the labels a classifier gives the generated samples here,
# of a dataset's labels in Part 7
from mmcourse.quantification.heterogeneity.information import label_entropy

__all__ = ["mean_pairwise_distance", "label_entropy", "nearest_distance", "memorisation_ratio"]


def _as_batch(x, where: str, name: str, min_rows: int = 1) -> Tensor:
    if not isinstance(x, (Tensor, np.ndarray)):
        raise TypeError(f"{where}: {name} must be a torch.Tensor or a NumPy array, got {type(x).__name__}")
    x = torch.as_tensor(x)
    if x.dim() < 1 or len(x) < min_rows:
        raise ValueError(f"{where}: {name} must be a batch of at least {min_rows} samples (N, ...), got shape "
                         f"{tuple(x.shape)}")
    x = x.reshape(len(x), -1).double()
    if not torch.isfinite(x).all():
        raise ValueError(f"{where}: {name} holds NaN or infinite values")
    return x


def mean_pairwise_distance(samples) -> float:
    r"""Diversity: the mean Euclidean distance over all pairs of samples (each flattened to a vector).

    .. math::  D = \frac{2}{N(N-1)} \sum_{i<j} \lVert x_i - x_j \rVert_2

    Identical samples give 0 (mode collapse); samples drawn from the data give the data's own spread. Part 5.4.

    Parameters
    ----------
    samples : (N, ...) tensor or array, N >= 2.

    Returns
    -------
    float

    Example
    -------
    >>> mean_pairwise_distance(torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]]))
    3.3333333333333335
    """
    x = _as_batch(samples, "mean_pairwise_distance", "samples", min_rows=2)
    n = len(x)
    return (torch.cdist(x, x).sum() / (n * (n - 1))).item()


def nearest_distance(samples, reference) -> Tensor:
    r"""For each sample, the Euclidean distance to its nearest row of ``reference`` (e.g. the training set).

    .. math::  d(x) = \min_{t \in \mathcal T} \lVert x - t \rVert_2

    Part 5.4.

    Parameters
    ----------
    samples : (N, ...) tensor or array.
    reference : (M, ...) tensor or array, with the same number of values per row.

    Returns
    -------
    Tensor
        ``(N,)`` float64 distances, 0 for a sample that is a copy of a reference row.

    Example
    -------
    >>> nearest_distance(torch.tensor([[0.0, 1.0], [5.0, 5.0]]), torch.tensor([[0.0, 0.0], [5.0, 1.0]]))
    tensor([1., 4.], dtype=torch.float64)
    """
    where = "nearest_distance"
    x, t = _as_batch(samples, where, "samples"), _as_batch(reference, where, "reference")
    if x.shape[1] != t.shape[1]:
        raise ValueError(f"{where}: samples and reference must have the same number of values per row, got "
                         f"{x.shape[1]} and {t.shape[1]}")
    nearest = torch.cdist(x, t).argmin(dim=1)
    # cdist's fast path (a matrix product) is inexact for near-copies: recompute the winner's distance directly,
    # so that a copy of a training example gets exactly 0.
    return (x - t[nearest]).norm(dim=1)


def memorisation_ratio(generated, train, heldout) -> float:
    r"""Generation or memorisation? Median nearest-training distance of generated samples over that of real ones.

    .. math::  \rho = \frac{\operatorname{median}_{x \in G}\, d(x)}{\operatorname{median}_{x \in H}\, d(x)},
               \qquad d(x) = \min_{t \in \mathcal T} \lVert x - t \rVert

    with :math:`G` the generated samples, :math:`H` held-out real samples and :math:`\mathcal T` the training set.
    A generator that copies its training data gives :math:`\rho \approx 0`; one whose samples are as new as fresh
    real data gives :math:`\rho \approx 1`. Blurred averages can also sit close to many training examples, so read
    :math:`\rho` with a figure of the samples. Part 5.4.

    Parameters
    ----------
    generated, train, heldout : (N, ...) tensors or arrays with the same number of values per row.

    Returns
    -------
    float

    Example
    -------
    >>> train = torch.arange(10.0)[:, None]
    >>> memorisation_ratio(train[:4], train, train[:4] + 0.5)
    0.0
    """
    where = "memorisation_ratio"
    real = nearest_distance(heldout, train).median()
    if real <= 0:
        raise ValueError(f"{where}: the held-out samples' median distance to the training set is 0 (are they "
                         f"training examples?); pass real samples that were not trained on")
    return (nearest_distance(generated, train).median() / real).item()
