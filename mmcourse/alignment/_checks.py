"""The checks that the alignment algorithms run at the door: sequences, histograms and cost matrices.

Every helper raises a ``ValueError`` that names the calling function, the argument, what it got and what was
expected, so that a reader who passes a wrong shape learns which one and why.
"""
from __future__ import annotations

import numpy as np
import torch

from mmcourse.utils import as_numpy  # noqa: F401  (shared with Part 2, which must not import this package)

# Histograms must sum to one within this (absolute) tolerance: loose enough for float32 data normalised by hand,
# tight enough to catch an unnormalised count vector.
HISTOGRAM_SUM_TOL = 1e-6


def as_tensor(value, name: str, where: str) -> torch.Tensor:
    """``value`` as a floating-point tensor (a tensor keeps its dtype, device and graph; anything else: float64)."""
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            raise ValueError(f"{where}: {name} must be real, got a complex tensor")
        tensor = value if value.is_floating_point() else value.to(torch.get_default_dtype())
    else:
        tensor = torch.from_numpy(as_numpy(value, name, where))
    if not torch.isfinite(tensor.detach()).all():
        raise ValueError(f"{where}: {name} contains NaN or infinite values")
    return tensor


def sequence_shape(shape: tuple, name: str, where: str) -> None:
    """A sequence is ``(n, d)`` with ``n ≥ 1`` steps and ``d ≥ 1`` features (1-D inputs are reshaped before)."""
    if len(shape) != 2:
        raise ValueError(f"{where}: {name} must be a sequence of shape (steps, features) or (steps,), "
                         f"got shape {tuple(shape)}")
    if shape[0] == 0:
        raise ValueError(f"{where}: {name} is an empty sequence (shape {tuple(shape)}); expected at least one step")
    if shape[1] == 0:
        raise ValueError(f"{where}: {name} has no features (shape {tuple(shape)}); expected at least one")


def check_pair(x_shape: tuple, y_shape: tuple, where: str) -> None:
    """Both sequences are valid and have the same number of features."""
    sequence_shape(x_shape, "x", where)
    sequence_shape(y_shape, "y", where)
    if x_shape[1] != y_shape[1]:
        raise ValueError(f"{where}: x and y must have the same number of features, got x of shape "
                         f"{tuple(x_shape)} ({x_shape[1]} features) and y of shape {tuple(y_shape)} "
                         f"({y_shape[1]} features)")


def histogram(value, name: str, where: str) -> np.ndarray:
    """A 1-D, non-empty, non-negative float64 vector that sums to one (within :data:`HISTOGRAM_SUM_TOL`)."""
    h = as_numpy(value, name, where)
    if h.ndim != 1:
        raise ValueError(f"{where}: histogram {name} must be 1-D, got shape {h.shape}")
    if h.size == 0:
        raise ValueError(f"{where}: histogram {name} is empty; expected at least one bin")
    if (h < 0).any():
        raise ValueError(f"{where}: histogram {name} must be non-negative, got a smallest entry of {h.min():.6g}")
    total = h.sum()
    if abs(total - 1.0) > HISTOGRAM_SUM_TOL:
        raise ValueError(f"{where}: histogram {name} must sum to 1 (within {HISTOGRAM_SUM_TOL:g}), "
                         f"got a sum of {total:.10g}")
    return h


def cost_shape(shape: tuple, n: int, m: int, where: str) -> None:
    """The cost matrix is ``(n, m)``: one row per bin of ``a``, one column per bin of ``b``."""
    if tuple(shape) != (n, m):
        raise ValueError(f"{where}: cost must have shape (len(a), len(b)) = ({n}, {m}), got {tuple(shape)}")


def positive(value, name: str, where: str) -> float:
    """A finite real number > 0 (a regularisation strength or a temperature)."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{where}: {name} must be a positive number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{where}: {name} must be a finite number > 0, got {value!r}")
    return value
