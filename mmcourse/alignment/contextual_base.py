r"""The pieces every contextual model of Part 3.3 shares: attention, a clock encoding, the checks and a base class.

A *contextualised* representation of an element (a step of one sequence) depends on the other elements around it,
including those of the other modality. All models here read two unaligned sequences ``x1`` of shape
``(batch, n, d1)`` and ``x2`` of shape ``(batch, m, d2)`` (``n ≠ m`` allowed), embed every element as a token of
width ``w``, let the tokens exchange information (or not, for the baseline) and return class logits.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["scaled_dot_product_attention", "clock_times", "time_encoding", "ContextualModel"]


def _check_tensor(value, name: str, where: str, rank: int) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{where}: {name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dim() != rank or not value.is_floating_point():
        raise ValueError(f"{where}: {name} must be a floating-point tensor with {rank} dimensions, got dtype "
                         f"{value.dtype} and shape {tuple(value.shape)}")
    if not torch.isfinite(value.detach()).all():
        raise ValueError(f"{where}: {name} contains NaN or infinite values")
    return value


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None,
                                 bias: Tensor | None = None) -> tuple[Tensor, Tensor]:
    r"""Scaled dot-product attention, returning the output and the attention weights.

    .. math::

        A = \operatorname{softmax}\Big(\frac{Q K^\top}{\sqrt{d_k}} + B\Big), \qquad \operatorname{out} = A V,

    the softmax taken over the keys (each row of :math:`A` sums to 1), with an optional additive bias :math:`B`
    (0 by default; the models of this section use it to prefer keys close in time). Where ``mask`` is ``False``
    the score is :math:`-\infty` before the softmax, so that query never looks at that key.

    Paper: A. Vaswani et al. (2017), "Attention Is All You Need", NeurIPS.

    Book section: Part 3.3 Contextualised representations.

    Parameters
    ----------
    q : Tensor
        Queries ``(batch, n, d_k)``.
    k, v : Tensor
        Keys ``(batch, m, d_k)`` and values ``(batch, m, d_v)``.
    mask : Tensor, optional
        Boolean ``(n, m)`` or ``(batch, n, m)``: which keys each query may attend to; every row needs one ``True``.
    bias : Tensor, optional
        Added to the scores: ``(n, m)`` or ``(batch, n, m)``.

    Returns
    -------
    (out, weights) : (Tensor, Tensor)
        ``out`` is ``(batch, n, d_v)``, ``weights`` is ``A``, ``(batch, n, m)``.

    Examples
    --------
    >>> q, k, v = torch.zeros(1, 2, 3), torch.zeros(1, 4, 3), torch.arange(4.0).reshape(1, 4, 1)
    >>> out, weights = scaled_dot_product_attention(q, k, v)
    >>> weights[0, 0].tolist(), out[0, :, 0].tolist()   # equal scores: a uniform average of the values
    ([0.25, 0.25, 0.25, 0.25], [1.5, 1.5])
    """
    where = "scaled_dot_product_attention"
    q, k, v = (_check_tensor(t, name, where, 3) for t, name in ((q, "q"), (k, "k"), (v, "v")))
    if not (q.shape[0] == k.shape[0] == v.shape[0]):
        raise ValueError(f"{where}: q, k and v must have the same batch size, got {q.shape[0]}, {k.shape[0]} and "
                         f"{v.shape[0]}")
    if q.shape[2] != k.shape[2]:
        raise ValueError(f"{where}: q and k must have the same feature size d_k, got q of shape {tuple(q.shape)} "
                         f"and k of shape {tuple(k.shape)}")
    if k.shape[1] != v.shape[1] or k.shape[1] == 0:
        raise ValueError(f"{where}: k and v must have the same number m >= 1 of keys, got k of shape "
                         f"{tuple(k.shape)} and v of shape {tuple(v.shape)}")
    scores = q @ k.transpose(1, 2) / math.sqrt(q.shape[2])
    if bias is not None:
        if not isinstance(bias, Tensor) or bias.shape[-2:] != scores.shape[-2:] or bias.dim() not in (2, 3):
            raise ValueError(f"{where}: bias must be a tensor of shape (n, m) = {tuple(scores.shape[1:])} or "
                             f"(batch, n, m), got {tuple(getattr(bias, 'shape', ()))}")
        scores = scores + bias
    if mask is not None:
        if not isinstance(mask, Tensor) or mask.dtype != torch.bool or mask.shape[-2:] != scores.shape[-2:] \
                or mask.dim() not in (2, 3):
            raise ValueError(f"{where}: mask must be a boolean tensor of shape (n, m) = {tuple(scores.shape[1:])} "
                             f"or (batch, n, m), got {getattr(mask, 'dtype', type(mask).__name__)} of shape "
                             f"{tuple(getattr(mask, 'shape', ()))}")
        if not mask.any(-1).all():
            raise ValueError(f"{where}: every row of mask needs at least one True (a query with no key to attend to)")
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def clock_times(length: int, *, device: torch.device | str | None = None) -> Tensor:
    """``t_i = i / (length − 1)``, each step's place on its own clock in [0, 1] (0 for a single step).

    Examples
    --------
    >>> clock_times(5).tolist(), clock_times(1).tolist()
    ([0.0, 0.25, 0.5, 0.75, 1.0], [0.0])
    """
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ValueError(f"clock_times: length must be a positive integer, got {length!r}")
    return torch.linspace(0.0, 1.0, length, device=device) if length > 1 else torch.zeros(1, device=device)


def time_encoding(length: int, dim: int, *, device: torch.device | str | None = None) -> Tensor:
    r"""Each step's place on its own clock, ``t_i = i / (length − 1)`` in [0, 1], as ``dim`` Fourier features.

    .. math::

        p(t) = \big(\sin(\pi t), \cos(\pi t), \sin(2\pi t), \cos(2\pi t), \dots\big) \in \mathbb R^{\text{dim}},

    so that two sequences of different lengths that start and end together share one time axis. It does *not*
    know the warp: where one clock runs fast, the same underlying moment sits at different ``t`` in the two.

    Examples
    --------
    >>> time_encoding(3, 2).tolist()   # t = 0, 1/2, 1: (sin πt, cos πt)
    [[0.0, 1.0], [1.0, 0.0], [0.0, -1.0]]
    """
    for name, value in (("length", length), ("dim", dim)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"time_encoding: {name} must be a positive integer, got {value!r}")
    t = clock_times(length, device=device)
    freq = torch.arange(1, dim // 2 + 2, device=device, dtype=t.dtype) * math.pi
    angles = t[:, None] * freq[None, :]
    features = torch.stack([torch.sin(angles), torch.cos(angles)], dim=-1).reshape(length, -1)[:, :dim]
    return features.round(decimals=6) + 0.0  # exact zeros at t = 0, 1/2, 1 (and no -0.0)


class ContextualModel(nn.Module):
    r"""Base class: embed the elements of two sequences as tokens of width ``w``; subclasses contextualise them.

    Element ``i`` of modality ``k`` becomes the token

    .. math::

        h^{(k)}_i = \sum_{s=-2}^{2} W_{k,s}\, x^{(k)}_{i+s} + e_k + P\, p(t_i),

    a temporal convolution of its features and its two neighbours on each side (zero-padded; as MulT does before
    its cross-modal layers, so that a token knows the local shape, a bump or a jump), a learned modality
    embedding :math:`e_k` and a linear map of its clock encoding (:func:`time_encoding`). The attention models
    also add a *clock-gap bias* to their scores between element :math:`i` (clock time :math:`t_i`) and element
    :math:`j` (clock time :math:`t_j`), whatever their modalities,

    .. math::

        B_{ij} = -\lambda\, (t_i - t_j)^2, \qquad \lambda = e^{\theta} > 0 \text{ learned},

    a soft prior that elements recorded at about the same time of their own clocks go together (like ALiBi's
    distance penalty, but on the two clocks' common time axis); ``positions=False`` switches off both.
    ``forward(x1, x2)`` returns logits ``(batch, num_classes)``; after each call ``last_attention`` maps a name to
    the detached weights the model used (``(batch, rows, columns)`` tensors), for the book's figures.

    Parameters
    ----------
    input_dims : (int, int)
        Feature sizes ``(d1, d2)``.
    num_classes : int
        Number of classes (at least 2).
    width : int
        Token width ``w``.
    positions : bool
        Add the clock encoding to the tokens, and the clock-gap bias to the attention scores.

    Examples
    --------
    >>> model = ContextualModel((2, 3), width=8)
    >>> model.embed(torch.randn(4, 5, 2), 0).shape, model.gap_bias(clock_times(2), clock_times(3)).shape
    (torch.Size([4, 5, 8]), torch.Size([2, 3]))
    """

    uses_gap = True  # subclasses without attention set False

    def __init__(self, input_dims: tuple[int, int], num_classes: int = 2, *, width: int = 32,
                 positions: bool = True):
        super().__init__()
        where = type(self).__name__
        if not (isinstance(input_dims, (tuple, list)) and len(input_dims) == 2):
            raise ValueError(f"{where}: input_dims must be a pair (d1, d2), got {input_dims!r}")
        for name, value, low in (("input_dims[0]", input_dims[0], 1), ("input_dims[1]", input_dims[1], 1),
                                 ("num_classes", num_classes, 2), ("width", width, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{where}: {name} must be an integer >= {low}, got {value!r}")
        self.input_dims, self.num_classes, self.width = (int(input_dims[0]), int(input_dims[1])), num_classes, width
        self.positions = bool(positions)
        self.project = nn.ModuleList([nn.Conv1d(d, width, KERNEL, padding=KERNEL // 2) for d in self.input_dims])
        self.modality = nn.Parameter(0.5 * torch.randn(2, width))
        self.clock = nn.Linear(2 * TIME_FEATURES, width, bias=False)
        if self.uses_gap and self.positions:
            self.log_sharpness = nn.Parameter(torch.tensor(math.log(GAP_SHARPNESS)))
        self.last_attention: dict[str, Tensor] = {}

    def check_inputs(self, x1: Tensor, x2: Tensor) -> None:
        """Raise a clear error unless ``x1`` is ``(batch, n, d1)`` and ``x2`` is ``(batch, m, d2)``, finite."""
        where = type(self).__name__
        for k, (x, d) in enumerate(zip((x1, x2), self.input_dims), start=1):
            x = _check_tensor(x, f"x{k}", where, 3)
            if x.shape[2] != d or x.shape[1] == 0:
                raise ValueError(f"{where}: x{k} must have shape (batch, steps >= 1, {d}), got {tuple(x.shape)}")
        if x1.shape[0] != x2.shape[0]:
            raise ValueError(f"{where}: x1 and x2 must have the same batch size, got {x1.shape[0]} and "
                             f"{x2.shape[0]}")

    def gap_bias(self, times_q: Tensor, times_k: Tensor) -> Tensor | None:
        """The clock-gap bias ``B_ij = −λ (t_i − t_j)²`` between two lists of clock times (None without
        clocks)."""
        if not (self.uses_gap and self.positions):
            return None
        return -self.log_sharpness.exp() * (times_q[:, None] - times_k[None, :]) ** 2

    def embed(self, x: Tensor, k: int) -> Tensor:
        """The tokens ``h^{(k)}`` of modality ``k`` (0 or 1): ``(batch, steps, w)``."""
        h = self.project[k](x.transpose(1, 2)).transpose(1, 2) + self.modality[k]
        if self.positions:
            h = h + self.clock(time_encoding(x.shape[1], 2 * TIME_FEATURES, device=x.device))
        return h


KERNEL = 5  # each token sees its element and two neighbours on each side: enough to tell a bump from a level
GAP_SHARPNESS = 20.0  # initial λ: a clock gap of 0.2 costs 0.8 in the scores, one of 0.5 costs 5
TIME_FEATURES = 6  # frequencies π … 6π: a similarity of two clock times that falls off within about 1/6
