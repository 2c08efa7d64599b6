"""Argument checks at the door of the package's public functions.

Each check raises a ``TypeError`` (wrong kind of value) or a ``ValueError`` (right kind, wrong shape or value)
whose message starts with the public name (``where``), names the argument, says what was expected and what came
instead. Each returns the value it checked, so that a function can check and bind in one line::

    x = check_tensor("fit_cca", "x", x, dim=2)
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["check_tensor", "check_ids", "check_same_rows", "check_int", "check_number", "check_module",
           "check_choice"]

_KINDS = {"float": "a floating-point", "int": "an integer", "any": "a"}


def _shape(x: Tensor) -> str:
    return str(tuple(x.shape))


def check_tensor(where: str, name: str, x, *, dim: int | Sequence[int] | None = None, kind: str = "float",
                 shape: Sequence[int | None] | None = None, nonempty: bool = True, finite: bool = True) -> Tensor:
    """``x`` if it is a tensor of the expected rank, dtype kind and shape, non-empty and finite.

    Parameters
    ----------
    where, name : str
        The public function (or class) and the argument, used in the message.
    x : object
        The value to check.
    dim : int or sequence of int, optional
        The allowed numbers of dimensions.
    kind : {"float", "int", "any"}
        ``"float"``: a floating-point tensor; ``"int"``: an integer tensor (not bool); ``"any"``: any numeric one.
    shape : sequence of int or None, optional
        The expected shape, ``None`` where any size is allowed (implies ``dim``).
    nonempty : bool
        Refuse a tensor with no rows (or no elements, for a scalar).
    finite : bool
        Refuse NaN and infinity in a floating-point tensor.

    Examples
    --------
    >>> check_tensor("f", "x", torch.zeros(3, 2), dim=2).shape
    torch.Size([3, 2])
    >>> check_tensor("f", "x", torch.zeros(3), dim=2)
    Traceback (most recent call last):
    ...
    ValueError: f: x must have 2 dimensions, got shape (3,)
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{where}: {name} must be {_KINDS[kind]} torch.Tensor, got {type(x).__name__}")
    if kind == "float" and not x.is_floating_point():
        raise TypeError(f"{where}: {name} must be a floating-point tensor, got dtype {x.dtype}")
    if kind == "int" and (x.is_floating_point() or x.is_complex() or x.dtype == torch.bool):
        raise TypeError(f"{where}: {name} must be an integer tensor, got dtype {x.dtype}")
    if shape is not None:
        dim = len(shape)
    if dim is not None:
        allowed = (dim,) if isinstance(dim, int) else tuple(dim)
        if x.dim() not in allowed:
            said = " or ".join(str(d) for d in allowed)
            raise ValueError(f"{where}: {name} must have {said} dimensions, got shape {_shape(x)}")
    if shape is not None and any(s is not None and s != got for s, got in zip(shape, x.shape)):
        wanted = "(" + ", ".join("·" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        raise ValueError(f"{where}: {name} must have shape {wanted}, got {_shape(x)}")
    if nonempty and (x.numel() == 0 or (x.dim() >= 1 and x.shape[0] == 0)):
        raise ValueError(f"{where}: {name} is empty (shape {_shape(x)}); it needs at least one row")
    if finite and x.is_floating_point() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{where}: {name} contains NaN or infinite values")
    return x


def check_ids(where: str, name: str, x, high: int, *, dim: int | Sequence[int] | None = None,
              nonempty: bool = True) -> Tensor:
    """``x`` if it is an integer tensor whose values lie in ``0 .. high - 1`` (class labels, word ids, cells).

    Examples
    --------
    >>> check_ids("f", "labels", torch.tensor([0, 2]), 2)
    Traceback (most recent call last):
    ...
    ValueError: f: labels must hold integers in 0..1, got values from 0 to 2
    """
    check_tensor(where, name, x, dim=dim, kind="int", nonempty=nonempty)
    if x.numel() and (int(x.min()) < 0 or int(x.max()) >= high):
        raise ValueError(f"{where}: {name} must hold integers in 0..{high - 1}, got values from {int(x.min())} "
                         f"to {int(x.max())}")
    return x


def check_same_rows(where: str, **tensors) -> int:
    """The common number of rows of ``tensors`` (given by name); a ``ValueError`` naming the two that differ.

    Examples
    --------
    >>> check_same_rows("f", x=torch.zeros(4, 2), y=torch.zeros(3))
    Traceback (most recent call last):
    ...
    ValueError: f: mismatched batch sizes: x has 4 rows, y has 3
    """
    first = None
    for name, t in tensors.items():
        if (isinstance(t, Tensor) and t.dim() == 0) or (isinstance(t, np.ndarray) and t.ndim == 0):
            raise ValueError(f"{where}: {name} must have a batch axis (one row per example), got a scalar")
        rows = len(t)
        if first is None:
            first = (name, rows)
        elif rows != first[1]:
            raise ValueError(f"{where}: mismatched batch sizes: {first[0]} has {first[1]} rows, {name} has {rows}")
    return 0 if first is None else first[1]


def check_int(where: str, name: str, value, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an ``int`` if it is an integer (Python or NumPy, not bool) in ``low .. high`` (inclusive).

    Examples
    --------
    >>> check_int("f", "epochs", 3, low=1)
    3
    >>> check_int("f", "epochs", 2.5, low=1)
    Traceback (most recent call last):
    ...
    TypeError: f: epochs must be an integer, got float 2.5
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{where}: {name} must be an integer, got {type(value).__name__} {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{where}: {name} must be {_range(low, high)}, got {value}")
    return int(value)


def check_number(where: str, name: str, value, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False) -> float:
    """``value`` as a ``float`` if it is a finite real number in ``[low, high]`` (``(low, high]`` with
    ``low_open``).

    Examples
    --------
    >>> check_number("f", "lr", 0.1, low=0, low_open=True)
    0.1
    >>> check_number("f", "lr", float("nan"), low=0, low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: f: lr must be a finite number > 0, got nan
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        if not (isinstance(value, Tensor) and value.numel() == 1 and not value.dtype == torch.bool):
            raise TypeError(f"{where}: {name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    if not math.isfinite(value) or too_low or (high is not None and value > high):
        bound = "" if low is None and high is None else " " + _range(low, high, low_open)
        raise ValueError(f"{where}: {name} must be a finite number{bound}, got {value}")
    return value


def _range(low, high, low_open: bool = False) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low}, {high}]"
    if low is not None:
        return f"{'>' if low_open else '≥'} {low}"
    return f"≤ {high}"


def check_module(where: str, name: str, value, cls: type = nn.Module):
    """``value`` if it is an instance of ``cls`` (an ``nn.Module`` unless told).

    Examples
    --------
    >>> check_module("f", "model", "abc")
    Traceback (most recent call last):
    ...
    TypeError: f: model must be a Module, got str
    """
    if not isinstance(value, cls):
        raise TypeError(f"{where}: {name} must be a {cls.__name__}, got {type(value).__name__}")
    return value


def check_choice(where: str, name: str, value, choices: Sequence) -> object:
    """``value`` if it is one of ``choices``.

    Examples
    --------
    >>> check_choice("f", "fusion", "sum", ["late", "tensor"])
    Traceback (most recent call last):
    ...
    ValueError: f: fusion must be one of 'late', 'tensor', got 'sum'
    """
    if not isinstance(value, str) and any(isinstance(c, str) for c in choices):
        raise TypeError(f"{where}: {name} must be one of {', '.join(map(repr, choices))}, got "
                        f"{type(value).__name__} {value!r}")
    if value not in choices:
        raise ValueError(f"{where}: {name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value
