r"""Derived tasks on the digits pair for Part 6.2: relabellings of the digit, and a task that ignores it.

A *task* is a modality (``"image"``, 8x8 handwritten digits, or ``"audio"``, the 12x16 spoken-digit spectrogram)
and a labelling of each example. The labellings, for a digit :math:`d` and an input :math:`x`:

.. math:: \text{digit}: d, \quad \text{mod3}: d \bmod 3, \quad \text{parity}: d \bmod 2, \quad
          \text{high}: [d > 4], \quad \text{loudness}: [\bar x > \operatorname{median}_j \bar x_j],

the last one with :math:`\bar x` the mean intensity of ``x`` (how loud a recording is, or how much ink a digit has):
a task that needs nothing of what the digit is.
"""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["TASKS", "relabel", "digits_task"]

TASKS = {"digit": 10, "mod3": 3, "parity": 2, "high": 2, "loudness": 2}


def check_xy(x, y, where: str) -> tuple[Tensor, Tensor]:
    """``(x flattened to (n, d) float, y (n,) long)``, or a ValueError/TypeError naming what is wrong."""
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise TypeError(f"{where}: x and y must be torch.Tensors, got {type(x).__name__} and {type(y).__name__}")
    if x.dim() < 2 or y.dim() != 1 or len(x) != len(y) or len(y) == 0:
        raise ValueError(f"{where}: x must be (n, ...) and y (n,) with n ≥ 1, got shapes {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    if y.is_floating_point() or int(y.min()) < 0:
        raise ValueError(f"{where}: y must hold class indices (non-negative integers), got {y.dtype}")
    x = x.flatten(1).float()
    if not torch.isfinite(x).all():
        raise ValueError(f"{where}: x contains NaN or infinite values")
    return x, y.long()


def relabel(label: Tensor, task: str, x: Tensor | None = None) -> Tensor:
    """The labels of ``task`` (a key of :data:`TASKS`) from the digit labels ``label`` (and the inputs ``x``,
    needed by ``"loudness"`` only).

    Parameters
    ----------
    label : Tensor ``(n,)``
        Digits 0-9.
    task : str
    x : Tensor ``(n, ...)``, optional

    Returns
    -------
    Tensor ``(n,)`` of int64, in ``range(TASKS[task])``.

    Examples
    --------
    >>> relabel(torch.arange(10), "mod3").tolist()
    [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]
    >>> relabel(torch.arange(4), "loudness", torch.tensor([[0.], [3.], [1.], [2.]])).tolist()
    [0, 1, 0, 1]
    """
    if task not in TASKS:
        raise ValueError(f"relabel: task must be one of {list(TASKS)}, got {task!r}")
    if not isinstance(label, Tensor) or label.dim() != 1:
        raise ValueError(f"relabel: label must be a 1-D tensor of digits, got {getattr(label, 'shape', label)!r}")
    label = label.long()
    if task == "loudness":
        if not isinstance(x, Tensor) or len(x) != len(label):
            raise ValueError(f"relabel: task 'loudness' needs x with {len(label)} rows, got "
                             f"{None if x is None else tuple(x.shape)}")
        level = x.flatten(1).float().mean(1)
        return (level > level.median()).long()
    return {"digit": label, "mod3": label % 3, "parity": label % 2, "high": (label > 4).long()}[task]


def digits_task(split: str, task: str, modality: str = "audio", seed: int = 0) -> tuple[Tensor, Tensor]:
    """``(x (n, d), y (n,))`` of one split of the digits pair: the modality flattened, labelled by ``task``.

    Parameters
    ----------
    split : {"train", "validation", "test"}
        1,078 / 360 / 359 examples.
    task : str
        A key of :data:`TASKS`.
    modality : {"image", "audio"}
        Image: 64 inputs; audio: 192 inputs.
    seed : int
        The dataset's seed.

    Examples
    --------
    >>> x, y = digits_task("test", "parity", "image")
    >>> x.shape, sorted(set(y.tolist()))
    (torch.Size([359, 64]), [0, 1])
    """
    from mmcourse.generation.creation.training import digits_pair_tensors
    if modality not in ("image", "audio"):
        raise ValueError(f"digits_task: modality must be 'image' or 'audio', got {modality!r}")
    image, audio, label = digits_pair_tensors(split, seed=seed)
    x = (image if modality == "image" else audio).flatten(1)
    return x, relabel(label, task, x)
