"""Shared helpers: the device, the seed, progress bars and the checks every public function runs at the door."""
from __future__ import annotations

import os
import random
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

import numpy as np
import torch

__all__ = ["get_device", "set_seed", "set_progress", "progress_enabled", "check_modalities", "check_positive",
           "trained_on", "as_numpy"]

_PROGRESS = os.environ.get("MMCOURSE_PROGRESS", "1") not in ("0", "false", "False", "")


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """The device to compute on: ``prefer`` if given, else CUDA when there is a GPU, else the CPU.

    Parameters
    ----------
    prefer : str or torch.device, optional
        Force a device (``"cpu"``, ``"cuda"``, ``"cuda:1"``). The environment variable ``MMCOURSE_DEVICE`` does
        the same without touching code.

    Returns
    -------
    torch.device

    Examples
    --------
    >>> get_device("cpu")
    device(type='cpu')
    """
    source = "prefer"
    if prefer is None and os.environ.get("MMCOURSE_DEVICE") is not None:
        prefer, source = os.environ["MMCOURSE_DEVICE"], "the environment variable MMCOURSE_DEVICE"
    if prefer is not None:
        if not isinstance(prefer, (str, torch.device)):
            raise TypeError(f"get_device: prefer must be a str or a torch.device such as 'cpu' or 'cuda', got "
                            f"{type(prefer).__name__} {prefer!r}")
        try:
            device = torch.device(prefer)
        except (RuntimeError, ValueError) as exc:  # torch's own message lists every device type it knows
            raise ValueError(f"get_device: {'prefer' if source == 'prefer' else source} must name a torch device "
                             f"such as 'cpu', 'cuda' or 'cuda:1', got {prefer!r}") from exc
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"get_device: asked for {str(device)!r} but no CUDA GPU is available; use 'cpu'")
        backend = torch.backends.mps if device.type == "mps" else getattr(torch, device.type, None)
        if device.type != "cuda" and not getattr(backend, "is_available", lambda: True)():
            raise ValueError(f"get_device: asked for {str(device)!r} but this machine has no such device; use 'cpu'")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def set_seed(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's generators so that the same seed gives the same numbers.

    Parameters
    ----------
    seed : int
        A non-negative integer.

    Examples
    --------
    >>> set_seed(0); a = torch.rand(1); set_seed(0); bool(a == torch.rand(1))
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"set_seed: seed must be a non-negative integer, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    torch.manual_seed(int(seed))


def set_progress(enabled: bool) -> None:
    """Turn the package's ``tqdm`` progress bars on or off (also: environment variable ``MMCOURSE_PROGRESS=0``).

    Examples
    --------
    >>> before = progress_enabled()
    >>> set_progress(False); progress_enabled()
    False
    >>> set_progress(before)
    """
    global _PROGRESS
    _PROGRESS = _as_flag(enabled, "enabled", "set_progress")


def progress_enabled(progress: bool | None = None) -> bool:
    """Resolve a function's ``progress`` argument: ``None`` means the package-wide setting.

    Examples
    --------
    >>> progress_enabled(False), progress_enabled(None) == progress_enabled()
    (False, True)
    """
    return _PROGRESS if progress is None else _as_flag(progress, "progress", "progress_enabled")


def _as_flag(value, name: str, where: str) -> bool:
    """``value`` as a bool: True or False (NumPy's too), or the integers 1 and 0."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (int, np.integer)) and value in (0, 1)):
        return bool(value)
    raise TypeError(f"{where}: {name} must be True or False, got {type(value).__name__} {value!r}")


def check_modalities(hs: Sequence[torch.Tensor], dims: Sequence[int], where: str) -> None:
    """Check a list of per-modality feature batches against the feature sizes a module was built for.

    Raises a ``ValueError`` that names ``where``, what it got and what it expected when the number of modalities,
    a tensor's rank, the batch sizes or a feature size is wrong, or when an input holds NaN or infinity.

    Parameters
    ----------
    hs : sequence of torch.Tensor
        One ``(batch, d_m)`` tensor per modality.
    dims : sequence of int
        The expected ``d_m``.
    where : str
        The caller's name, used in the message.

    Examples
    --------
    >>> check_modalities([torch.zeros(4, 2), torch.zeros(4, 5)], [2, 5], "MyFusion")
    >>> check_modalities([torch.zeros(4, 2), torch.zeros(3, 5)], [2, 5], "MyFusion")
    Traceback (most recent call last):
    ...
    ValueError: MyFusion: mismatched batch sizes: modality 1 has 4 rows, modality 2 has 3
    """
    if len(hs) != len(dims):
        raise ValueError(f"{where}: expected {len(dims)} modalities (feature sizes {list(dims)}), got {len(hs)}")
    batch = None
    for m, (h, d) in enumerate(zip(hs, dims), start=1):
        if not isinstance(h, torch.Tensor):
            raise TypeError(f"{where}: modality {m} must be a torch.Tensor, got {type(h).__name__}")
        if h.dim() != 2:
            raise ValueError(f"{where}: modality {m} must have shape (batch, {d}), got {tuple(h.shape)}")
        if h.shape[1] != d:
            raise ValueError(f"{where}: modality {m} must have {d} features, got {h.shape[1]} "
                             f"(shape {tuple(h.shape)})")
        if batch is None:
            batch = h.shape[0]
        elif h.shape[0] != batch:
            raise ValueError(f"{where}: mismatched batch sizes: modality 1 has {batch} rows, modality {m} has "
                             f"{h.shape[0]}")
        if h.is_floating_point() and not torch.isfinite(h).all():
            raise ValueError(f"{where}: modality {m} contains NaN or infinite values")


def check_positive(where: str, **values) -> None:
    """Raise a ValueError naming the first of ``values`` that is not a positive integer (Python or NumPy).

    Examples
    --------
    >>> check_positive("fit", epochs=3, batch_size=np.int64(8))
    >>> check_positive("fit", epochs=0)
    Traceback (most recent call last):
    ...
    ValueError: fit: epochs must be a positive integer, got 0
    """
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")


def trained_on(module: torch.nn.Module, device: torch.device) -> AbstractContextManager[torch.nn.Module]:
    """Move ``module`` to ``device`` for the block, and back to the device it came from afterwards.

    Every training loop of the package runs inside it, so that a model trained on a GPU comes back where the
    reader built it (the CPU): the cells that follow may call it on CPU tensors whether or not a GPU was used.

    Examples
    --------
    >>> net = torch.nn.Linear(2, 1)
    >>> with trained_on(net, torch.device("cpu")):
    ...     pass
    >>> next(net.parameters()).device.type
    'cpu'
    """
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"trained_on: module must be a torch.nn.Module, got {type(module).__name__}")
    return _trained_on(module, device)  # checked now, at the call, not later at ``with``


@contextmanager
def _trained_on(module: torch.nn.Module, device: torch.device) -> Iterator[torch.nn.Module]:
    home = next(iter(module.parameters()), torch.empty(0)).device
    module.to(device)
    try:
        yield module
    finally:
        module.to(home)


def as_numpy(value, name: str, where: str) -> np.ndarray:
    """``value`` (array-like or tensor) as a float64 NumPy array; rejects non-numeric data, NaN and infinity.

    ``name`` (the argument) and ``where`` (the public function) go into the error message.

    Examples
    --------
    >>> as_numpy(torch.tensor([1, 2]), "x", "f")
    array([1., 2.])
    >>> as_numpy([1.0, float("nan")], "x", "f")
    Traceback (most recent call last):
    ...
    ValueError: f: x contains NaN or infinite values
    """
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            raise ValueError(f"{where}: {name} must be real, got a complex tensor")
        array = value.detach().cpu().to(torch.float64).numpy()
    else:
        try:
            array = np.asarray(value)
        except Exception as exc:  # ragged lists and the like
            raise ValueError(f"{where}: {name} must be a numeric array, got {type(value).__name__} ({exc})") from exc
        if array.dtype.kind not in "biuf":
            raise ValueError(f"{where}: {name} must be a real numeric array, got dtype {array.dtype}")
        array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"{where}: {name} contains NaN or infinite values")
    return array
