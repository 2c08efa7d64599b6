"""What every fusion of Part 2.1 shares: the :class:`Fusion` base class, argument checks and a parameter counter.

A fusion maps one feature vector per modality, ``hs[m]`` of shape ``(batch, input_dims[m])``, to one fused vector
of shape ``(batch, output_dim)``. All fusions share this interface so that a model, a widget or a comparison table
can switch between them by name (see :mod:`mmcourse.representation.fusion.registry`).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["Fusion", "parameter_count"]


def parameter_count(module: nn.Module) -> int:
    """The number of scalar parameters of ``module`` (each shared parameter counted once).

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    int

    Examples
    --------
    >>> from torch import nn
    >>> parameter_count(nn.Linear(3, 4))  # 3·4 weights + 4 biases
    16
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"parameter_count: module must be a torch.nn.Module, got {type(module).__name__}")
    return sum(p.numel() for p in module.parameters())


def with_one(h: Tensor) -> Tensor:
    """``[1; h]``: prepend a constant 1 to every row, so that products of these vectors keep the lower-order terms."""
    return torch.cat([h.new_ones(h.shape[0], 1), h], dim=1)


class Fusion(nn.Module):
    """Base class of the fusions of Part 2.1: ``z = f(h₁, …, h_M)`` with ``h_m ∈ R^{d_m}`` and ``z ∈ R^o``.

    It stores and checks ``input_dims = (d₁, …, d_M)`` and ``output_dim = o``; subclasses build their parameters and
    write ``forward(*hs)``, which starts with
    ``check_modalities(hs, self.input_dims, type(self).__name__)`` (:func:`mmcourse.utils.check_modalities`).

    Parameters
    ----------
    input_dims : sequence of int
        The feature size ``d_m`` of each modality (at least ``min_modalities`` of them, at most ``max_modalities``).
    output_dim : int
        The size ``o`` of the fused vector.

    Attributes
    ----------
    raw_inputs : bool
        Class attribute: True when a model should feed the fusion raw inputs instead of encoded features
        (early fusion).
    uses_rank : bool
        Class attribute: True when the fusion takes a ``rank`` keyword (low-rank fusion).
    min_modalities, max_modalities : int or None
        Class attributes: how many modalities the fusion accepts (``None``: no upper limit).

    Examples
    --------
    >>> fusion = Fusion((3, 5), 4)          # a subclass would add its parameters and forward(*hs)
    >>> fusion.input_dims, fusion.output_dim, fusion.num_modalities
    ((3, 5), 4, 2)
    >>> Fusion((3, 0), 4)
    Traceback (most recent call last):
    ...
    ValueError: Fusion: input_dims[1] must be a positive integer, got 0
    """

    raw_inputs: bool = False
    uses_rank: bool = False
    min_modalities: int = 2
    max_modalities: int | None = None

    def __init__(self, input_dims: Sequence[int], output_dim: int):
        super().__init__()
        self.input_dims: tuple[int, ...] = self._check_input_dims(input_dims)
        self.output_dim: int = self._positive_int("output_dim", output_dim)

    @property
    def num_modalities(self) -> int:
        """``M``, the number of modalities."""
        return len(self.input_dims)

    def extra_repr(self) -> str:
        return f"input_dims={self.input_dims}, output_dim={self.output_dim}"

    # --- argument checks shared by the subclasses' constructors -------------------------------------------------
    def _fail(self, message: str) -> ValueError:
        return ValueError(f"{type(self).__name__}: {message}")

    def _positive_int(self, name: str, value) -> int:
        """``value`` as an int, or a ValueError naming ``name``, the value and what was expected."""
        if isinstance(value, bool) or not (isinstance(value, int) or _is_integer_scalar(value)) or value < 1:
            raise self._fail(f"{name} must be a positive integer, got {value!r}")
        return int(value)

    def _positive_float(self, name: str, value, *, allow_zero: bool = False) -> float:
        """``value`` as a float, or a ValueError: it must be a finite number > 0 (≥ 0 with ``allow_zero``)."""
        bad = isinstance(value, bool) or not (isinstance(value, (int, float)) or _is_real_scalar(value))
        if bad or not math.isfinite(float(value)) or float(value) < 0 or (float(value) == 0 and not allow_zero):
            expected = "a finite number ≥ 0" if allow_zero else "a finite number > 0"
            raise self._fail(f"{name} must be {expected}, got {value!r}")
        return float(value)

    def _check_input_dims(self, input_dims) -> tuple[int, ...]:
        if isinstance(input_dims, (str, bytes)) or not _is_iterable(input_dims):
            raise self._fail(f"input_dims must be a sequence of feature sizes, one positive integer per modality, "
                             f"got {input_dims!r}")
        dims = tuple(input_dims)
        for m, d in enumerate(dims):
            self._positive_int(f"input_dims[{m}]", d)
        dims = tuple(int(d) for d in dims)
        lo, hi = self.min_modalities, self.max_modalities
        if lo == hi and len(dims) != lo:
            raise self._fail(f"input_dims must list exactly {lo} modalities{self._modality_roles()}, got {dims} "
                             f"({len(dims)} modalit{'y' if len(dims) == 1 else 'ies'})")
        if len(dims) < lo or (hi is not None and len(dims) > hi):
            expected = f"at least {lo}" if hi is None else f"between {lo} and {hi}"
            raise self._fail(f"input_dims must list {expected} modalities, got {dims} "
                             f"({len(dims)} modalit{'y' if len(dims) == 1 else 'ies'})")
        return dims

    def _modality_roles(self) -> str:
        """Subclasses with a fixed number of modalities say what each one is for, in error messages."""
        return ""


def _is_iterable(x) -> bool:
    try:
        iter(x)
    except TypeError:
        return False
    return True


def _is_integer_scalar(x) -> bool:
    """NumPy integers and 0-d integer tensors count as integers (a reader may pass ``np.int64(8)``)."""
    if isinstance(x, Tensor):
        return x.dim() == 0 and not x.is_floating_point() and not x.is_complex() and x.dtype != torch.bool
    return type(x).__module__ == "numpy" and hasattr(x, "dtype") and x.dtype.kind in "iu"


def _is_real_scalar(x) -> bool:
    if isinstance(x, Tensor):
        return x.dim() == 0 and not x.is_complex() and x.dtype != torch.bool
    return type(x).__module__ == "numpy" and hasattr(x, "dtype") and x.dtype.kind in "iuf"
