"""Part 5.2: the training loop that every generative translator of the chapter shares."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from mmcourse._checks import check_tensor
from mmcourse.utils import check_positive, get_device, trained_on

__all__ = ["fit_translator"]


def fit_translator(model: nn.Module, source: Tensor, target: Tensor, *, steps: int = 300, batch_size: int = 256,
                   lr: float = 1e-2, device: torch.device | str | None = None) -> list[float]:
    """Train a translator on pairs ``(source[i], target[i])`` with Adam on ``model.loss(source, target)``.

    Each step takes the next ``batch_size`` pairs of a shuffled pass (torch's global generator: seed it with
    :func:`mmcourse.set_seed`). Book section Part 5.2.

    Parameters
    ----------
    model : nn.Module
        A translator with a ``loss(source, target)`` method (:class:`ImageToCaption`, :class:`CaptionToImage`,
        :class:`CrossDecoder`); trained on ``device`` and moved back afterwards.
    source, target : Tensor
        The training pairs, row i of each one pair.
    steps, batch_size, lr
        Adam's settings: number of steps, pairs per step, learning rate.
    device : optional
        Defaults to :func:`mmcourse.get_device` (the GPU when there is one).

    Returns
    -------
    list of float
        The batch losses, one per step; the model is left in evaluation mode.

    Example
    -------
    >>> from mmcourse.generation import CrossDecoder
    >>> _ = torch.manual_seed(0)
    >>> x = torch.rand(32, 4)
    >>> losses = fit_translator(CrossDecoder(4, 4, width=8), x, x, steps=50, batch_size=32)  # full batches
    >>> len(losses), losses[-1] < 0.75 * losses[0]
    (50, True)
    """
    where = "fit_translator"
    if not callable(getattr(model, "loss", None)):
        raise TypeError(f"{where}: model must have a loss(source, target) method, got {type(model).__name__}")
    check_tensor(where, "source", source, kind="any")
    check_tensor(where, "target", target, kind="any")
    if source.dim() == 0 or target.dim() == 0 or len(source) != len(target):
        raise ValueError(f"{where}: source and target must be tensors with the same number (≥ 1) of rows, got "
                         f"shapes {tuple(source.shape)} and {tuple(target.shape)}")
    check_positive(where, steps=steps, batch_size=batch_size)
    if not lr > 0:
        raise ValueError(f"{where}: lr must be positive, got {lr!r}")
    device = get_device(device)
    losses: list[float] = []
    with trained_on(model, device):
        model.train()
        source, target = source.to(device), target.to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        n, order, cursor = len(source), None, len(source)
        for _ in range(steps):
            if cursor >= n:
                order, cursor = torch.randperm(n, device=device), 0
            batch = order[cursor:cursor + batch_size]
            cursor += batch_size
            loss = model.loss(source[batch], target[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        model.eval()
    return losses
