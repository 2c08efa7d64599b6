r"""Recurrent fusion baselines of Part 4.1 and the checks every temporal model runs at the door.

Both baselines read ``M`` modalities given as sequences ``x_m`` of shape ``(batch, steps, d_m)`` with a GRU
(Cho et al. 2014) and end in a *linear* head, so that every interaction between the modalities comes from where
they are fused, not from the head:

- :class:`EarlyFusionGRU`: one GRU over the concatenated frames, :math:`h_t = \mathrm{GRU}([x^{(1)}_t; \dots;
  x^{(M)}_t], h_{t-1})`, logits :math:`= W h_T + b`. The modalities meet at every step.
- :class:`LateFusionGRU`: one GRU per modality, :math:`h^{(m)}_t = \mathrm{GRU}_m(x^{(m)}_t, h^{(m)}_{t-1})`,
  logits :math:`= \sum_m W_m h^{(m)}_T + b` (a linear head on the concatenated final states). The modalities never
  meet: the logit is a sum of one function of each sequence. With one modality it is a unimodal GRU.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["EarlyFusionGRU", "LateFusionGRU", "check_sequences"]


def check_sequences(xs: Sequence[Tensor], dims: Sequence[int], where: str) -> None:
    """Raise a ``ValueError`` (or ``TypeError``) naming ``where`` unless ``xs`` holds one ``(batch, steps, d_m)``
    float tensor per modality, with ``d_m = dims[m]``, one batch size, one length and no NaN or infinity.

    Examples
    --------
    >>> check_sequences([torch.zeros(3, 5, 4), torch.zeros(3, 5, 2)], [4, 2], "my_model")
    >>> check_sequences([torch.zeros(3, 5, 4), torch.zeros(2, 5, 2)], [4, 2], "my_model")
    Traceback (most recent call last):
    ...
    ValueError: my_model: mismatched batch or length: modality 1 has (batch, steps) = (3, 5), modality 2 has (2, 5)
    """
    if len(xs) != len(dims):
        raise ValueError(f"{where}: expected {len(dims)} modalities (feature sizes {list(dims)}), got {len(xs)}")
    for m, (x, d) in enumerate(zip(xs, dims), start=1):
        if not isinstance(x, Tensor):
            raise TypeError(f"{where}: modality {m} must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 3 or x.shape[2] != d:
            raise ValueError(f"{where}: modality {m} must have shape (batch, steps, {d}), got {tuple(x.shape)}")
        if x.shape[:2] != xs[0].shape[:2]:
            raise ValueError(f"{where}: mismatched batch or length: modality 1 has (batch, steps) = "
                             f"{tuple(xs[0].shape[:2])}, modality {m} has {tuple(x.shape[:2])}")
        if not torch.isfinite(x).all():
            raise ValueError(f"{where}: modality {m} contains NaN or infinite values")


def _check_dims(input_dims: Sequence[int], num_classes: int, where: str, **sizes: int) -> list[int]:
    dims = [input_dims] if isinstance(input_dims, (int, np.integer)) else list(input_dims)
    if not dims or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in dims):
        raise ValueError(f"{where}: input_dims must be a non-empty list of positive feature sizes, got {input_dims!r}")
    for name, value in {"num_classes": num_classes, **sizes}.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{where}: {name} must be a positive integer, got {name}={value!r}")
    return [int(d) for d in dims]


class EarlyFusionGRU(nn.Module):
    r"""Early fusion over time: one GRU over the concatenated frames of all modalities, a linear head on
    :math:`h_T`.

    :math:`h_t = \mathrm{GRU}([x^{(1)}_t; \dots; x^{(M)}_t], h_{t-1})`, logits :math:`= W h_T + b`
    (Cho et al. 2014). Book section: Part 4.1 (temporal structure), the early-fusion baseline.

    Parameters
    ----------
    input_dims : sequence of int
        Feature size ``d_m`` of each modality's frames.
    num_classes : int
    hidden : int
        Size of the GRU's state.
    layers : int
        Stacked GRU layers (the recurrence depth).

    Examples
    --------
    >>> model = EarlyFusionGRU([4, 4], 2, hidden=8)
    >>> model(torch.zeros(3, 20, 4), torch.zeros(3, 20, 4)).shape
    torch.Size([3, 2])
    """

    def __init__(self, input_dims: Sequence[int], num_classes: int, *, hidden: int = 16, layers: int = 1):
        super().__init__()
        self.input_dims = _check_dims(input_dims, num_classes, "EarlyFusionGRU", hidden=hidden, layers=layers)
        self.gru = nn.GRU(sum(self.input_dims), hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, *xs: Tensor) -> Tensor:
        check_sequences(xs, self.input_dims, "EarlyFusionGRU")
        _, h = self.gru(torch.cat(xs, dim=-1))
        return self.head(h[-1])


class LateFusionGRU(nn.Module):
    r"""Late fusion over time: one GRU per modality, a linear head on the concatenated final states.

    :math:`h^{(m)}_t = \mathrm{GRU}_m(x^{(m)}_t, h^{(m)}_{t-1})`, logits :math:`= W [h^{(1)}_T; \dots; h^{(M)}_T] + b
    = \sum_m W_m h^{(m)}_T + b`: a sum of one function of each sequence, so no interaction between the modalities,
    at any time. With a single modality this is the unimodal GRU. Book section: Part 4.1, the late-fusion baseline.

    Parameters
    ----------
    input_dims : sequence of int
        Feature size ``d_m`` of each modality's frames.
    num_classes : int
    hidden : int
        Size of each GRU's state.
    layers : int
        Stacked GRU layers per modality.

    Examples
    --------
    >>> model = LateFusionGRU([4, 4], 2, hidden=8)
    >>> model(torch.zeros(3, 20, 4), torch.zeros(3, 20, 4)).shape
    torch.Size([3, 2])
    """

    def __init__(self, input_dims: Sequence[int], num_classes: int, *, hidden: int = 16, layers: int = 1):
        super().__init__()
        self.input_dims = _check_dims(input_dims, num_classes, "LateFusionGRU", hidden=hidden, layers=layers)
        self.grus = nn.ModuleList(nn.GRU(d, hidden, num_layers=layers, batch_first=True) for d in self.input_dims)
        self.head = nn.Linear(hidden * len(self.input_dims), num_classes)

    def forward(self, *xs: Tensor) -> Tensor:
        check_sequences(xs, self.input_dims, "LateFusionGRU")
        finals = [gru(x)[1][-1] for gru, x in zip(self.grus, xs)]
        return self.head(torch.cat(finals, dim=-1))
