r"""Contrastive bounds on (conditional) mutual information, the estimators behind FactorCL (Part 2.5).

Every estimator reads a *score matrix* ``scores[i, j] = f(a_i, b_j)`` of a critic :math:`f` on a batch of ``B``
pairs: the diagonal holds the positive pairs (drawn from :math:`p(a, b)`), the rest are negatives (from
:math:`p(a)p(b)`). :class:`Critic` computes such a matrix; :func:`~mmcourse.representation.fission.fit_critic`
trains one, and :func:`~mmcourse.representation.fission.gaussian_pairs` gives data whose mutual information is known.
"""
from __future__ import annotations

import math

import torch  # noqa: F401 (the examples use it)
from torch import Tensor, nn

from mmcourse._checks import check_tensor

__all__ = ["info_nce", "nce_club", "conditional_info_nce", "conditional_nce_club", "Critic"]


def _check_scores(scores, where: str) -> int:
    if not isinstance(scores, Tensor) or scores.dim() != 2 or scores.shape[0] != scores.shape[1] or len(scores) < 2:
        raise ValueError(f"{where}: scores must be a square (B, B) tensor with B ≥ 2 (scores[i, j] = f(a_i, b_j)), "
                         f"got {tuple(scores.shape) if isinstance(scores, Tensor) else type(scores).__name__}")
    check_tensor(where, "scores", scores)
    return len(scores)


def _same_class(scores, y, where: str) -> Tensor:
    n = _check_scores(scores, where)
    if not isinstance(y, Tensor) or y.shape != (n,) or y.is_floating_point():
        raise ValueError(f"{where}: y must be an integer tensor of shape ({n},) (one class per pair), got "
                         f"{tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__}")
    return y[:, None] == y[None, :]


def info_nce(scores: Tensor) -> Tensor:
    r"""The InfoNCE lower bound on :math:`I(A; B)` (van den Oord et al., 2018) from a critic's score matrix.

    .. math::

        I_\mathrm{NCE} = \frac1B \sum_i \Big[ f(a_i, b_i) - \log \frac1B \sum_j e^{f(a_i, b_j)} \Big]
        \;\le\; I(A; B), \qquad I_\mathrm{NCE} \le \log B.

    Maximising it over the critic gives the CLIP loss up to a constant (Part 2.4). FactorCL maximises it for the
    parts it wants to keep (Liang et al., 2023; book Part 2.5).

    Parameters
    ----------
    scores : torch.Tensor
        ``(B, B)``, ``scores[i, j] = f(a_i, b_j)``; the diagonal holds the positive pairs.

    Returns
    -------
    torch.Tensor
        A differentiable scalar, in nats.

    Examples
    --------
    >>> round(info_nce(torch.eye(3) * 100).item(), 4), round(math.log(3), 4)   # a perfect critic reaches log B
    (1.0986, 1.0986)
    """
    n = _check_scores(scores, "info_nce")
    return (scores.diagonal() - scores.logsumexp(dim=1)).mean() + math.log(n)


def nce_club(scores: Tensor) -> Tensor:
    r"""The NCE-CLUB estimate of :math:`I(A; B)`: FactorCL's upper bound (Liang et al., 2023; CLUB: Cheng et al.,
    2020), from the scores of a critic :math:`f^*` *trained by InfoNCE*.

    .. math::

        I_\mathrm{NCE\text{-}CLUB} = \mathbb E_{p(a, b)}[f^*(a, b)] - \mathbb E_{p(a)p(b)}[f^*(a, b)]
        \approx \frac1B \sum_i f^*(a_i, b_i) - \frac1{B^2} \sum_{i, j} f^*(a_i, b_j).

    With the optimal critic :math:`f^* = \log p(b \mid a)/p(b) + c(a)` it equals
    :math:`I(A;B) + \mathrm{KL}(p(a)p(b) \,\|\, p(a, b)) \ge I(A; B)`; with an untrained critic it is no bound at all.
    Minimising it (critic frozen) removes information from the representations. Book Part 2.5.

    Parameters
    ----------
    scores : torch.Tensor
        ``(B, B)`` as in :func:`info_nce`.

    Returns
    -------
    torch.Tensor
        A differentiable scalar, in nats.

    Examples
    --------
    >>> nce_club(torch.tensor([[2.0, 0.0], [0.0, 2.0]])).item()   # 2 on the diagonal, mean 1 over all pairs
    1.0
    """
    _check_scores(scores, "nce_club")
    return scores.diagonal().mean() - scores.mean()


def conditional_info_nce(scores: Tensor, y: Tensor) -> Tensor:
    r"""The conditional InfoNCE lower bound on :math:`I(A; B \mid Y)` for a discrete label :math:`Y`.

    The negatives of pair :math:`i` are the pairs of the *same class* (drawn from :math:`p(b \mid y_i)`), so a
    critic cannot score a negative low just because its label differs:

    .. math::

        I_\mathrm{NCE}(A; B \mid Y) = \frac1B \sum_i \Big[ f(a_i, b_i)
          - \log \frac{1}{|C_i|} \sum_{j \in C_i} e^{f(a_i, b_j)} \Big], \quad C_i = \{j : y_j = y_i\},

    at most :math:`\log |C_i|` per pair. FactorCL's supervised form (Liang et al., 2023) also gives the critic the
    label: :class:`~mmcourse.representation.fission.FactorCL` uses ``f([a; y], [b; y])``. The public FactorCL code
    uses ``f([a; y], b)`` with every pair of the batch as a negative, which bounds
    :math:`I(A, Y; B) = I(A; B \mid Y) + I(B; Y)`; negatives within the class bound :math:`I(A; B \mid Y)` itself.
    Book Part 2.5.

    Parameters
    ----------
    scores : torch.Tensor
        ``(B, B)`` as in :func:`info_nce`.
    y : torch.Tensor
        ``(B,)`` integer classes of the pairs.

    Returns
    -------
    torch.Tensor
        A differentiable scalar, in nats.

    Examples
    --------
    >>> s = torch.eye(4) * 100; y = torch.tensor([0, 0, 1, 1])   # two pairs per class: at most log 2
    >>> round(conditional_info_nce(s, y).item(), 4), round(math.log(2), 4)
    (0.6931, 0.6931)
    """
    same = _same_class(scores, y, "conditional_info_nce")
    within = scores.masked_fill(~same, float("-inf")).logsumexp(dim=1)
    return (scores.diagonal() - within + same.sum(1).float().log()).mean()


def conditional_nce_club(scores: Tensor, y: Tensor) -> Tensor:
    r"""The conditional NCE-CLUB estimate of :math:`I(A; B \mid Y)`, negatives within the class (Part 2.5).

    .. math::

        \frac1B \sum_i \Big[ f^*(a_i, b_i) - \frac1{|C_i|} \sum_{j \in C_i} f^*(a_i, b_j) \Big],
        \quad C_i = \{j : y_j = y_i\},

    with :math:`f^*` trained by :func:`conditional_info_nce` (Liang et al., 2023, with CLUB of Cheng et al., 2020).

    Parameters
    ----------
    scores, y
        As in :func:`conditional_info_nce`.

    Returns
    -------
    torch.Tensor
        A differentiable scalar, in nats.

    Examples
    --------
    >>> s = torch.tensor([[2.0, 0.0, 5.0], [0.0, 2.0, 5.0], [5.0, 5.0, 5.0]]); y = torch.tensor([0, 0, 1])
    >>> round(conditional_nce_club(s, y).item(), 4)   # class 0: 2 - 1 for both pairs; class 1: 5 - 5
    0.6667
    """
    same = _same_class(scores, y, "conditional_nce_club").float()
    return (scores.diagonal() - (scores * same).sum(1) / same.sum(1)).mean()


class Critic(nn.Module):
    r"""A separable critic :math:`f(a, b) = g(a)^\top h(b)`, with :math:`g, h` one-hidden-layer MLPs.

    All :math:`B^2` scores of a batch cost two encoder passes and one matrix product, which is why CLIP and
    FactorCL's encoders use this form. Book Part 2.5.

    Parameters
    ----------
    dim_a, dim_b : int
        Sizes of the two inputs.
    width : int
        Hidden width of :math:`g` and :math:`h`.
    dim : int
        Size of the space in which they meet.

    Examples
    --------
    >>> Critic(3, 2, width=8, dim=4)(torch.zeros(5, 3), torch.zeros(5, 2)).shape
    torch.Size([5, 5])
    """

    def __init__(self, dim_a: int, dim_b: int, width: int = 32, dim: int = 16):
        super().__init__()
        for name, value in (("dim_a", dim_a), ("dim_b", dim_b), ("width", width), ("dim", dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Critic: {name} must be a positive integer, got {value!r}")
        self.dims = (dim_a, dim_b)
        self.g = nn.Sequential(nn.Linear(dim_a, width), nn.ReLU(), nn.Linear(width, dim))
        self.h = nn.Sequential(nn.Linear(dim_b, width), nn.ReLU(), nn.Linear(width, dim))

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        """The ``(B, B)`` scores ``f(a_i, b_j)``."""
        if (not isinstance(a, Tensor) or not isinstance(b, Tensor) or a.dim() != 2 or b.dim() != 2
                or (a.shape[1], b.shape[1]) != self.dims or len(a) != len(b)):
            raise ValueError(f"Critic: expected a (B, {self.dims[0]}) and b (B, {self.dims[1]}), got "
                             f"{tuple(getattr(a, 'shape', ()))} and {tuple(getattr(b, 'shape', ()))}")
        check_tensor("Critic", "a", a)
        check_tensor("Critic", "b", b)
        return self.g(a) @ self.h(b).T
