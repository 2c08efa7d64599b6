r"""Estimating mutual information with a trained critic (Part 2.5): :func:`fit_critic` trains a
:class:`~mmcourse.representation.fission.Critic` by InfoNCE and returns both bounds; :func:`gaussian_pairs` and
:func:`gaussian_mi` give data whose mutual information is known, to check them against.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from mmcourse._checks import check_tensor
from mmcourse.representation.fission._bounds import (Critic, conditional_info_nce, conditional_nce_club, info_nce,
                                                      nce_club)
from mmcourse.utils import check_positive

__all__ = ["fit_critic", "gaussian_pairs", "gaussian_mi"]


def _pair(name: str, value, cols: tuple[int, int], conditional: bool) -> tuple:
    size = 3 if conditional else 2
    if (not isinstance(value, (tuple, list)) or len(value) != size or not all(isinstance(t, Tensor) for t in value)
            or value[0].dim() != 2 or value[1].dim() != 2 or (value[0].shape[1], value[1].shape[1]) != cols
            or len({len(t) for t in value}) != 1 or len(value[0]) < 2
            or (conditional and (value[2].dim() != 1 or value[2].is_floating_point()))):
        what = "(a, b, y) with y integer classes" if conditional else "(a, b)"
        raise ValueError(f"fit_critic: {name} must be {what}, 2-D tensors with the same number (≥ 2) of rows and "
                         f"{cols[0]} and {cols[1]} columns, got {[tuple(getattr(t, 'shape', ())) for t in value]}"
                         if isinstance(value, (tuple, list)) else f"fit_critic: {name} must be {what}, got "
                         f"{type(value).__name__}")
    for i, t in enumerate(value[:2]):
        check_tensor("fit_critic", f"{name}[{i}]", t)
    return tuple(value)


def fit_critic(a: Tensor, b: Tensor, y: Tensor | None = None, *, test: tuple | None = None, steps: int = 100,
               lr: float = 1e-2, width: int = 32, dim: int = 16) -> tuple[Critic, float, float]:
    r"""Train a :class:`Critic` on the pairs ``(a_i, b_i)`` by maximising :func:`info_nce` (full batch, Adam).

    Returns the critic and its two estimates, in nats: ``(critic, info_nce, nce_club)``, a lower and an upper bound
    on :math:`I(A; B)` (Part 2.5). With integer classes ``y`` it bounds :math:`I(A; B \mid Y)` instead: the critic
    reads ``[a; onehot(y)]`` and ``[b; onehot(y)]`` and is trained and measured by :func:`conditional_info_nce`
    and :func:`conditional_nce_club`. The estimates are measured on held-out pairs ``test`` = ``(a, b)`` (or
    ``(a, b, y)``) when given: a critic that has memorised its training batch overestimates InfoNCE on it. Seed
    with :func:`mmcourse.set_seed` first.

    Parameters
    ----------
    a, b : torch.Tensor
        ``(n, d_a)`` and ``(n, d_b)``: row i of each is one pair.
    y : torch.Tensor, optional
        ``(n,)`` integer classes: bound the conditional information given them.
    test : tuple, optional
        Held-out ``(a, b)``, or ``(a, b, y)`` with ``y``, to measure the bounds on.
    steps, lr, width, dim
        Adam steps and learning rate; the critic's sizes (:class:`Critic`).

    Returns
    -------
    tuple
        ``(critic, lower, upper)``: the trained critic and the two estimates (floats, nats).

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> _, low, high = fit_critic(*gaussian_pairs(512, 0.8, seed=0), test=gaussian_pairs(512, 0.8, seed=1))
    >>> low < gaussian_mi(0.8) < high
    True
    """
    check_tensor("fit_critic", "a", a, dim=2)
    check_tensor("fit_critic", "b", b, dim=2)
    conditional = y is not None
    cols = (a.shape[1], b.shape[1])
    train = _pair("(a, b, y)" if conditional else "(a, b)", (a, b, y) if conditional else (a, b), cols, conditional)
    held_out = train if test is None else _pair("test", test, cols, conditional)
    check_positive("fit_critic", steps=steps)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
        raise ValueError(f"fit_critic: lr must be a positive number, got {lr!r}")
    classes = int(max(train[2].max(), held_out[2].max())) + 1 if conditional else 0
    critic = Critic(cols[0] + classes, cols[1] + classes, width=width, dim=dim)
    lower, upper = (conditional_info_nce, conditional_nce_club) if conditional else (info_nce, nce_club)

    def estimate(batch, bound):
        if not conditional:
            return bound(critic(*batch))
        onehot = torch.nn.functional.one_hot(batch[2], classes).float()
        return bound(critic(torch.cat([batch[0], onehot], 1), torch.cat([batch[1], onehot], 1)), batch[2])

    optimizer = torch.optim.Adam(critic.parameters(), lr=lr)
    for _ in range(int(steps)):
        loss = -estimate(train, lower)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return critic, estimate(held_out, lower).item(), estimate(held_out, upper).item()


def gaussian_pairs(n: int, rho: float, dim: int = 1, seed: int = 0) -> tuple[Tensor, Tensor]:
    r"""``n`` pairs of standard Gaussian vectors whose coordinates ``k`` have correlation ``rho``.

    :math:`b = \rho a + \sqrt{1 - \rho^2}\, \varepsilon`; :func:`gaussian_mi` gives :math:`I(A; B)`.

    Parameters
    ----------
    n, dim : int
        Number of pairs and dimension of each vector.
    rho : float
        Correlation of each coordinate, in (-1, 1).
    seed : int
        Seed of a private generator (the global one is left alone).

    Returns
    -------
    tuple of torch.Tensor
        ``(a, b)``, each ``(n, dim)``.

    Examples
    --------
    >>> a, b = gaussian_pairs(4, 0.5, dim=2); a.shape
    torch.Size([4, 2])
    """
    check_positive("gaussian_pairs", n=n, dim=dim)
    if not isinstance(rho, (int, float)) or isinstance(rho, bool) or not -1 < rho < 1:
        raise ValueError(f"gaussian_pairs: rho must be a number in (-1, 1), got {rho!r}")
    g = torch.Generator().manual_seed(int(seed))
    a, noise = torch.randn(2, int(n), int(dim), generator=g)
    return a, rho * a + math.sqrt(1 - rho**2) * noise


def gaussian_mi(rho: float, dim: int = 1) -> float:
    r"""The mutual information of :func:`gaussian_pairs`, in nats: :math:`-\tfrac{d}{2} \log(1 - \rho^2)`.

    Examples
    --------
    >>> round(gaussian_mi(0.5, 2), 4)
    0.2877
    """
    if not isinstance(rho, (int, float)) or isinstance(rho, bool) or not -1 < rho < 1:
        raise ValueError(f"gaussian_mi: rho must be a number in (-1, 1), got {rho!r}")
    check_positive("gaussian_mi", dim=dim)
    return -0.5 * dim * math.log(1 - rho**2) + 0.0  # + 0.0 turns -0.0 (rho = 0) into 0.0
