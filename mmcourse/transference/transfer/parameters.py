r"""Part 6.1: freezing a module and counting what still trains.

Tuning a pretrained model for a new modality or task keeps most of it **frozen** and trains a small part (a prefix
encoder, an adapter, a head). Its cost is the number of trained parameters,

.. math::  |\theta_{\text{trained}}| = \sum_{p \in \theta,\ p \text{ requires grad}} \operatorname{numel}(p),

set against full fine-tuning, which trains all of them. :func:`freeze` turns a module's gradients off (and returns
it, for chaining); :func:`trainable_parameters` counts what is left to train.
"""
from __future__ import annotations

from torch import nn

__all__ = ["freeze", "trainable_parameters"]


def _check_module(module, where: str) -> nn.Module:
    if not isinstance(module, nn.Module):
        raise TypeError(f"{where}: module must be a torch.nn.Module, got {type(module).__name__}")
    return module


def freeze(module: nn.Module) -> nn.Module:
    """Freeze every parameter of ``module`` (``requires_grad=False``) and return the module, for chaining.

    Freezing stops gradients, not updates from elsewhere: an optimiser built over a frozen parameter skips it because
    its ``grad`` stays ``None``. Batch-norm running statistics still change in training mode; call ``.eval()`` on the
    frozen part too if it has any.

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    torch.nn.Module
        The same object, now frozen.

    Examples
    --------
    >>> net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    >>> trainable_parameters(net)
    23
    >>> head = nn.Linear(2, 2)
    >>> model = nn.Sequential(freeze(net), head)
    >>> trainable_parameters(model)
    6
    """
    for parameter in _check_module(module, "freeze").parameters():
        parameter.requires_grad_(False)
    return module


def trainable_parameters(module: nn.Module) -> int:
    """The number of scalar parameters of ``module`` that require a gradient (each shared tensor counted once).

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    int

    Examples
    --------
    >>> trainable_parameters(nn.Linear(10, 5))
    55
    >>> trainable_parameters(freeze(nn.Linear(10, 5)))
    0
    """
    # module.parameters() already yields a tensor shared by two submodules once, so tied weights count once.
    return sum(p.numel() for p in _check_module(module, "trainable_parameters").parameters() if p.requires_grad)
