r"""Graphical alignment (Part 3.3): message passing over a graph whose nodes are the elements of both modalities.

:class:`GraphAlignment` shares the interface of the attention models in
:mod:`mmcourse.alignment.contextual_models`; :func:`temporal_adjacency` is its fixed, GCN-normalised temporal
propagation.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from mmcourse.alignment.contextual_base import ContextualModel, clock_times, scaled_dot_product_attention
from mmcourse.alignment.contextual_models import _head, _pool, _positive_int

__all__ = ["GraphAlignment", "temporal_adjacency"]


def temporal_adjacency(n: int, m: int, *, device: torch.device | str | None = None) -> Tensor:
    r"""The normalised temporal adjacency of the graph of :class:`GraphAlignment`, ``(n + m, n + m)``.

    Each element is joined to its neighbours in time within its own modality and to itself (a chain per modality,
    no edge between the modalities); the GCN normalisation of Kipf and Welling gives

    .. math::

        \hat A = \tilde D^{-1/2} (A + I) \tilde D^{-1/2}, \qquad \tilde D_{ii} = \textstyle\sum_j (A + I)_{ij}.

    Examples
    --------
    >>> temporal_adjacency(2, 1).round(decimals=3).tolist()   # a chain of 2 (degrees 2, 2), a lone node (degree 1)
    [[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]
    """
    for name, value in (("n", n), ("m", m)):
        _positive_int("temporal_adjacency", name, value)
    a = torch.eye(n + m, device=device)
    for start, length in ((0, n), (n, m)):
        idx = torch.arange(start, start + length - 1, device=device)
        a[idx, idx + 1] = a[idx + 1, idx] = 1.0
    d = a.sum(1).rsqrt()
    return d[:, None] * a * d[None, :]


class GraphAlignment(ContextualModel):
    r"""Graphical alignment: message passing over a graph whose nodes are the elements of both modalities.

    Two kinds of edge, each with its own weights (as in the typed edges of MTAG): *temporal* edges join
    neighbours in time within a modality, with the fixed GCN propagation :math:`\hat A` of
    :func:`temporal_adjacency`; *cross-modal* edges join every element to the elements of the other modality, with
    learned, attention-like weights :math:`C` (each row a softmax over the other modality's nodes, restricted to
    those within ``window`` of its own clock time when ``window`` is given). One round is

    .. math::

        H' = \operatorname{LN}\Big(H + \operatorname{ReLU}\big(\hat A H W_t + C H W_c\big)\Big), \qquad
        C_{ij} = \operatorname{softmax}_{j \in \mathcal N_c(i)} \Big(\frac{(h_i W_q) \cdot (h_j W_k)}{\sqrt w}
        + B_{ij}\Big),

    repeated ``rounds`` times with fresh weights; :math:`\hat y = g(\operatorname{pool} H)` per modality. An
    element only hears from nodes at most ``rounds`` edges away.

    Papers: T. N. Kipf, M. Welling (2017), "Semi-Supervised Classification with Graph Convolutional Networks",
    ICLR (the temporal propagation); P. Veličković et al. (2018), "Graph Attention Networks", ICLR (attention over
    neighbours); J. Yang et al. (2021), "MTAG: Modal-Temporal Attention Graph for Unaligned Human Multimodal
    Language Sequences", NAACL (a graph over the elements of unaligned modalities).

    Book section: Part 3.3 Contextualised representations (graphical alignment).

    Attributes
    ----------
    last_attention : dict
        ``"round r"``: the ``(batch, n + m, n + m)`` cross-modal edge weights :math:`C` of round ``r`` (zero within
        a modality; each row sums to 1).

    Examples
    --------
    >>> model = GraphAlignment((2, 3), rounds=2)
    >>> model(torch.randn(4, 5, 2), torch.randn(4, 7, 3)).shape, model.last_attention["round 2"].shape
    (torch.Size([4, 2]), torch.Size([4, 12, 12]))
    """

    def __init__(self, input_dims: tuple[int, int], num_classes: int = 2, *, width: int = 32, rounds: int = 2,
                 window: float | None = None, positions: bool = True):
        super().__init__(input_dims, num_classes, width=width, positions=positions)
        where = type(self).__name__
        rounds = _positive_int(where, "rounds", rounds)
        if window is not None and (isinstance(window, bool) or not isinstance(window, (int, float))
                                   or not 0 <= window <= 1):
            raise ValueError(f"{where}: window must be None or a number in [0, 1] (a span of clock time), "
                             f"got {window!r}")
        self.window = None if window is None else float(window)
        self.temporal = nn.ModuleList(nn.Linear(width, width, bias=False) for _ in range(rounds))
        self.message = nn.ModuleList(nn.Linear(width, width) for _ in range(rounds))
        self.query = nn.ModuleList(nn.Linear(width, width) for _ in range(rounds))
        self.key = nn.ModuleList(nn.Linear(width, width) for _ in range(rounds))
        self.norms = nn.ModuleList(nn.LayerNorm(width) for _ in range(rounds))
        self.head = _head(width, num_classes)

    def cross_mask(self, n: int, m: int, device: torch.device | str | None = None) -> Tensor:
        """Boolean ``(n + m, n + m)``: the cross-modal edges (True between an element and one of the other modality
        within ``window`` of clock time; every node keeps at least its nearest one)."""
        t = torch.cat([clock_times(n, device=device), clock_times(m, device=device)])
        modality = torch.arange(n + m, device=device) >= n
        other = modality[:, None] != modality[None, :]
        if self.window is None:
            return other
        gap = (t[:, None] - t[None, :]).abs().masked_fill(~other, float("inf"))
        return other & ((gap <= self.window) | (gap == gap.amin(1, keepdim=True)))

    def propagate(self, h: Tensor, n: int) -> Tensor:
        """The rounds of message passing on node states ``h`` ``(batch, n + m, w)``, the first ``n`` of modality 1;
        records ``last_attention``."""
        m = h.shape[1] - n
        a_hat = temporal_adjacency(n, m, device=h.device)
        mask = self.cross_mask(n, m, device=h.device)
        t = torch.cat([clock_times(n, device=h.device), clock_times(m, device=h.device)])
        bias = self.gap_bias(t, t)
        self.last_attention = {}
        for r in range(len(self.temporal)):
            cross, c = scaled_dot_product_attention(self.query[r](h), self.key[r](h), self.message[r](h), mask,
                                                    bias)
            h = self.norms[r](h + torch.relu(a_hat @ self.temporal[r](h) + cross))
            self.last_attention[f"round {r + 1}"] = c.detach()
        return h

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        self.check_inputs(x1, x2)
        n = x1.shape[1]
        h = self.propagate(torch.cat([self.embed(x1, 0), self.embed(x2, 1)], dim=1), n)
        return self.head(torch.cat([_pool(h[:, :n]), _pool(h[:, n:])], dim=-1))

