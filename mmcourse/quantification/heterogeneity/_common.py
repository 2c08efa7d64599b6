"""Argument checks shared by the heterogeneity measures."""
from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

Data = tuple[Sequence[Tensor], Tensor]


def _data(data, name: str, where: str, modalities: int | None = None) -> tuple[list[Tensor], Tensor]:
    if not (isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], (tuple, list))):
        raise ValueError(f"{where}: {name} must be a pair (list of modality tensors, labels), got "
                         f"{type(data).__name__}")
    xs, y = list(data[0]), data[1]
    if not isinstance(y, Tensor) or y.dim() != 1 or y.is_floating_point():
        raise ValueError(f"{where}: the labels of {name} must be a 1-D integer tensor, got "
                         f"{getattr(y, 'shape', type(y).__name__)}")
    if not xs or any(not isinstance(x, Tensor) or x.dim() == 0 or x.shape[0] != len(y) for x in xs):
        raise ValueError(f"{where}: {name} must hold one tensor per modality with {len(y)} rows (one per label), "
                         f"got shapes {[tuple(getattr(x, 'shape', ())) for x in xs]}")
    if modalities is not None and len(xs) != modalities:
        raise ValueError(f"{where}: {name} has {len(xs)} modalities, expected {modalities}")
    return xs, y
