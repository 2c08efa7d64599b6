r"""The attention models of Part 3.3 and the baseline: no context, joint self-attention, cross-modal attention.

Each maps two unaligned sequences ``x1`` ``(batch, n, d1)`` and ``x2`` ``(batch, m, d2)`` to logits and keeps the
weights it used in ``last_attention``; :mod:`mmcourse.alignment.contextual` registers them by name. The graph
model is in :mod:`mmcourse.alignment.contextual_graph`.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from mmcourse.alignment.contextual_base import (ContextualModel, _check_tensor, clock_times,
                                                scaled_dot_product_attention)

__all__ = ["NoContext", "AttentionLayer", "JointSelfAttention", "CrossModalAttention"]


def _pool(h: Tensor) -> Tensor:
    """Mean and max over the tokens, side by side: ``(batch, steps, w) -> (batch, 2w)``."""
    return torch.cat([h.mean(1), h.amax(1)], dim=-1)


def _head(width: int, num_classes: int) -> nn.Module:
    return nn.Sequential(nn.Linear(4 * width, width), nn.ReLU(), nn.Linear(width, num_classes))


def _positive_int(where: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    return value


class NoContext(ContextualModel):
    r"""The baseline without cross-modal context: each modality encoded and pooled alone, then fused late.

    .. math::

        z_k = \operatorname{pool}_i \operatorname{MLP}(h^{(k)}_i), \qquad \hat y = g([z_1; z_2]),

    with ``pool`` the mean and the max side by side, and :math:`h^{(k)}_i` the token of
    :class:`~mmcourse.alignment.ContextualModel` (which sees its element's two neighbours on each side, within
    its own modality). No token of one modality ever meets a token of the other: only the pooled summaries do.
    By default (``positions=False``) the tokens do not know their time either, so ``z_k`` is a function of the
    *set* of local windows, blind to *when* anything happened.

    Book section: Part 3.3 Contextualised representations (the baseline).

    Examples
    --------
    >>> model = NoContext((2, 3))
    >>> model(torch.randn(4, 5, 2), torch.randn(4, 7, 3)).shape
    torch.Size([4, 2])
    """

    uses_gap = False

    def __init__(self, input_dims: tuple[int, int], num_classes: int = 2, *, width: int = 32,
                 positions: bool = False):
        super().__init__(input_dims, num_classes, width=width, positions=positions)
        self.encode = nn.Sequential(nn.ReLU(), nn.Linear(width, width), nn.ReLU())
        self.head = _head(width, num_classes)

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        self.check_inputs(x1, x2)
        z1, z2 = self.summarise(self.embed(x1, 0)), self.summarise(self.embed(x2, 1))
        self.last_attention = {}
        return self.head(torch.cat([z1, z2], dim=-1))

    def summarise(self, h: Tensor) -> Tensor:
        """``z = pool_i MLP(h_i)`` of one modality's tokens ``(batch, steps, w)``: a function of the *set* of tokens."""
        return _pool(self.encode(h))


class AttentionLayer(nn.Module):
    r"""One single-head attention layer with residuals and layer norms (pre-norm, which trains more easily).

    .. math::

        \tilde h = h + \operatorname{softmax}\Big(\frac{Q K^\top}{\sqrt w}\Big) V W_O, \quad
        Q = \operatorname{LN}(h) W_Q,\; K = \operatorname{LN}(c) W_K,\; V = \operatorname{LN}(c) W_V, \qquad
        h' = \tilde h + \operatorname{FFN}(\operatorname{LN}(\tilde h)),

    where the context ``c`` is ``h`` itself (self-attention, ``cross=False``) or another sequence given to
    ``forward`` (cross-attention, ``cross=True``, with a layer norm of its own). ``forward`` returns ``(h', A)``.

    Examples
    --------
    >>> layer = AttentionLayer(4, cross=True)
    >>> out, weights = layer(torch.randn(2, 3, 4), torch.randn(2, 5, 4))
    >>> out.shape, weights.shape
    (torch.Size([2, 3, 4]), torch.Size([2, 3, 5]))
    """

    def __init__(self, width: int, *, cross: bool = False):
        super().__init__()
        _positive_int("AttentionLayer", "width", width)
        self.cross = bool(cross)
        self.query, self.key, self.value, self.out = (nn.Linear(width, width) for _ in range(4))
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.norm_context = nn.LayerNorm(width) if self.cross else None
        self.ffn = nn.Sequential(nn.Linear(width, 2 * width), nn.ReLU(), nn.Linear(2 * width, width))

    def forward(self, h: Tensor, context: Tensor | None = None, mask: Tensor | None = None,
                bias: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if self.cross != (context is not None):
            raise ValueError(f"AttentionLayer: a {'cross' if self.cross else 'self'}-attention layer "
                             f"{'needs' if self.cross else 'takes no'} context")
        _check_tensor(h, "h", "AttentionLayer", 3)
        if self.cross:
            _check_tensor(context, "context", "AttentionLayer", 3)
        q = self.norm1(h)
        c = self.norm_context(context) if self.cross else q
        attended, weights = scaled_dot_product_attention(self.query(q), self.key(c), self.value(c), mask, bias)
        h = h + self.out(attended)
        return h + self.ffn(self.norm2(h)), weights


class JointSelfAttention(ContextualModel):
    r"""Joint undirected alignment (single stream): self-attention over the tokens of both modalities together.

    .. math::

        H^{(0)} = [h^{(1)}_1, \dots, h^{(1)}_n, h^{(2)}_1, \dots, h^{(2)}_m], \qquad
        H^{(l)} = \operatorname{Layer}(H^{(l-1)}), \qquad \hat y = g\big(\operatorname{pool}(H^{(L)})\big),

    each layer an :class:`AttentionLayer` (with the clock-gap bias of :class:`ContextualModel` on its scores)
    whose :math:`(n + m) \times (n + m)` attention matrix holds both the within-modality and the cross-modal
    connections, in both directions: the map is *undirected* in the sense that one softmax treats every token
    alike, whatever its modality. The modality embedding :math:`e_k` tells the tokens apart. This is the
    single-stream design of VisualBERT and UNITER; :math:`\hat y = g([\operatorname{pool} H^{(L)}_{1:n};
    \operatorname{pool} H^{(L)}_{n+1:n+m}])`.

    Paper: A. Vaswani et al. (2017), "Attention Is All You Need", NeurIPS (the layer).

    Book section: Part 3.3 Contextualised representations (joint undirected alignment).

    Attributes
    ----------
    last_attention : dict
        ``"layer l"``: the ``(batch, n + m, n + m)`` attention of layer ``l`` (rows: queries, 1-based ``l``).

    Examples
    --------
    >>> model = JointSelfAttention((2, 3), layers=1)
    >>> model(torch.randn(4, 5, 2), torch.randn(4, 7, 3)).shape, model.last_attention["layer 1"].shape
    (torch.Size([4, 2]), torch.Size([4, 12, 12]))
    """

    def __init__(self, input_dims: tuple[int, int], num_classes: int = 2, *, width: int = 32, layers: int = 2,
                 positions: bool = True):
        super().__init__(input_dims, num_classes, width=width, positions=positions)
        self.layers = nn.ModuleList(AttentionLayer(width) for _ in range(_positive_int(type(self).__name__,
                                                                                       "layers", layers)))
        self.head = _head(width, num_classes)

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        self.check_inputs(x1, x2)
        h = torch.cat([self.embed(x1, 0), self.embed(x2, 1)], dim=1)  # one stream of n + m tokens
        t = torch.cat([clock_times(x1.shape[1], device=h.device), clock_times(x2.shape[1], device=h.device)])
        bias = self.gap_bias(t, t)
        self.last_attention = {}
        for l, layer in enumerate(self.layers, start=1):
            h, weights = layer(h, bias=bias)
            self.last_attention[f"layer {l}"] = weights.detach()
        n = x1.shape[1]
        return self.head(torch.cat([_pool(h[:, :n]), _pool(h[:, n:])], dim=-1))


class CrossModalAttention(ContextualModel):
    r"""Cross-modal directed alignment (MulT): queries from one modality, keys and values from the other.

    .. math::

        z^{(1 \leftarrow 2)} = \operatorname{Layer}\big(h^{(1)}, \text{context } h^{(2)}\big), \quad
        A^{(1 \leftarrow 2)} = \operatorname{softmax}\Big(\frac{h^{(1)} W_Q (h^{(2)} W_K)^\top}{\sqrt w}
        + B\Big) \in \mathbb R^{n \times m},

    and likewise :math:`z^{(2 \leftarrow 1)}` with its own weights; :math:`\hat y = g([\operatorname{pool}
    z^{(1 \leftarrow 2)}; \operatorname{pool} z^{(2 \leftarrow 1)}])`. Each direction is a separate map (the
    connection is *directed*: what modality 1 looks for in 2 need not mirror what 2 looks for in 1), and no token
    attends to its own modality. :math:`B` is the clock-gap bias of :class:`ContextualModel`. Each output token
    of :math:`z^{(1 \leftarrow 2)}` is a function of its own token and of the *set* of (token, clock time) pairs
    of modality 2: permuting those pairs changes nothing in it. (MulT also puts a temporal convolution before,
    and self-attention after, its cross-modal layers; here the token embedding does the first, and the second is
    left out.)

    Paper: Y.-H. H. Tsai, S. Bai, P. P. Liang, J. Z. Kolter, L.-P. Morency, R. Salakhutdinov (2019), "Multimodal
    Transformer for Unaligned Multimodal Language Sequences", ACL.

    Book section: Part 3.3 Contextualised representations (cross-modal directed alignment).

    Attributes
    ----------
    last_attention : dict
        ``"1←2"``: ``(batch, n, m)``, the attention of modality 1's elements over modality 2's; ``"2←1"``:
        ``(batch, m, n)``.

    Examples
    --------
    >>> model = CrossModalAttention((2, 3))
    >>> model(torch.randn(4, 5, 2), torch.randn(4, 7, 3)).shape, model.last_attention["1←2"].shape
    (torch.Size([4, 2]), torch.Size([4, 5, 7]))
    """

    def __init__(self, input_dims: tuple[int, int], num_classes: int = 2, *, width: int = 32,
                 positions: bool = True):
        super().__init__(input_dims, num_classes, width=width, positions=positions)
        self.one_from_two, self.two_from_one = AttentionLayer(width, cross=True), AttentionLayer(width, cross=True)
        self.head = _head(width, num_classes)

    def cross(self, h1: Tensor, h2: Tensor, t1: Tensor | None = None, t2: Tensor | None = None
              ) -> tuple[Tensor, Tensor]:
        """Both directions on embedded tokens: ``(z^(1←2), z^(2←1))``; records ``last_attention``.

        ``t1``, ``t2`` are the tokens' clock times for the gap bias (by default :func:`clock_times`, in order)."""
        t1 = clock_times(h1.shape[1], device=h1.device) if t1 is None else t1
        t2 = clock_times(h2.shape[1], device=h2.device) if t2 is None else t2
        z12, a12 = self.one_from_two(h1, h2, bias=self.gap_bias(t1, t2))
        z21, a21 = self.two_from_one(h2, h1, bias=self.gap_bias(t2, t1))
        self.last_attention = {"1←2": a12.detach(), "2←1": a21.detach()}
        return z12, z21

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        self.check_inputs(x1, x2)
        z12, z21 = self.cross(self.embed(x1, 0), self.embed(x2, 1))
        return self.head(torch.cat([_pool(z12), _pool(z21)], dim=-1))
