r"""Part 5.2: how varied a translator's outputs are, the symptom of a decoder that returns averages.

A decoder trained with the squared error estimates the conditional mean :math:`\mathbb E[y \mid x]`: when a source
has many fitting targets (every "3" sounds a little different) it returns their average, and its outputs vary far
less than real data. The **within-class spread** measures it, the per-feature standard deviation of the samples of
one class, averaged over the features and the classes:

.. math:: \mathrm{spread} = \frac1{|C|} \sum_{c \in C} \frac1D \sum_{d=1}^D
          \operatorname{std}\{\, y_{i,d} : \text{label}_i = c \,\}.

Real data has the spread of its own variations; retrieved exemplars, being real, keep it; a blurry decoder's
outputs have a much smaller one.
"""
from __future__ import annotations

import torch
from torch import Tensor

from mmcourse._checks import check_tensor

__all__ = ["within_class_spread"]


def within_class_spread(samples: Tensor, labels) -> float:
    """The per-feature standard deviation within each class, averaged over features and classes (module doc).

    Parameters
    ----------
    samples : Tensor, shape (N, ...)
        Real or generated samples (flattened per sample).
    labels : array-like of int, shape (N,)
        The class of each sample (the source's label for generated samples); classes with a single sample are
        skipped.

    Example
    -------
    >>> within_class_spread(torch.tensor([[0.0], [2.0], [5.0], [5.0]]), [0, 0, 1, 1])   # stds 1 and 0
    0.5
    """
    if not isinstance(samples, Tensor) or samples.dim() < 2 or not samples.is_floating_point():
        raise ValueError(f"within_class_spread: samples must be a float tensor (N, ...), got "
                         f"{getattr(samples, 'shape', type(samples).__name__)}")
    check_tensor("within_class_spread", "samples", samples)
    labels = torch.as_tensor(labels)
    if labels.shape != (len(samples),) or labels.is_floating_point():
        raise ValueError(f"within_class_spread: labels must be integers of shape ({len(samples)},), got shape "
                         f"{tuple(labels.shape)} of {labels.dtype}")
    x = samples.flatten(1)
    stds = [x[labels == c].std(dim=0, unbiased=False).mean() for c in labels.unique() if (labels == c).sum() > 1]
    if not stds:
        raise ValueError("within_class_spread: no class has two samples or more")
    return torch.stack(stds).mean().item()
