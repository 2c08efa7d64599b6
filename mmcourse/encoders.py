"""Unimodal encoders: each maps one modality's raw input to a feature vector ``h`` of size ``out_dim``.

They are the baselines of Part 1 (trained alone, with a linear classifier on top) and the first stage of every
multimodal model of Part 2 (one encoder per modality, then a fusion). Each checks its input's shape at the door.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from mmcourse.utils import check_positive

__all__ = ["MLPEncoder", "CNNEncoder", "GRUEncoder", "BagOfWordsEncoder", "TransformerTextEncoder",
           "UnimodalClassifier", "make_encoder"]


def _check_input(where: str, x: Tensor, expected: str, ok) -> None:
    """``ok`` is a bool or a callable ``ok(x) -> bool`` (evaluated only once ``x`` is known to be a tensor)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{where}: input must be a torch.Tensor, got {type(x).__name__}")
    if callable(ok):
        ok = ok(x)
    if not ok:
        raise ValueError(f"{where}: expected input of shape {expected}, got {tuple(x.shape)}")
    if x.is_floating_point() and not torch.isfinite(x).all():
        raise ValueError(f"{where}: input contains NaN or infinite values")


class MLPEncoder(nn.Module):
    """A multilayer perceptron for vector inputs: ``h = ReLU(W_L … ReLU(W_1 x))``.

    Parameters
    ----------
    in_dim, out_dim : int
        Input and feature sizes.
    hidden : sequence of int
        Widths of the hidden layers (empty: one layer, ``h = ReLU(W x)``).

    Examples
    --------
    >>> MLPEncoder(12, 16)(torch.zeros(5, 12)).shape
    torch.Size([5, 16])
    """

    def __init__(self, in_dim: int, out_dim: int, hidden: Sequence[int] = ()):
        super().__init__()
        check_positive("MLPEncoder", in_dim=in_dim, out_dim=out_dim)
        widths = [in_dim, *hidden, out_dim]
        check_positive("MLPEncoder", **{f"hidden[{i}]": w for i, w in enumerate(hidden)})
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.net = nn.Sequential(*layers)
        self.in_dim, self.out_dim = in_dim, out_dim

    def forward(self, x: Tensor) -> Tensor:
        _check_input("MLPEncoder", x, f"(batch, {self.in_dim})",
                     lambda x: x.dim() == 2 and x.shape[1] == self.in_dim)
        return self.net(x)


class CNNEncoder(nn.Module):
    """A small convolutional network for single-channel images ``(batch, H, W)``.

    Two 3×3 convolutions with ReLU (padding keeps the size, the second halves it by stride 2), then a linear map of
    the flattened feature maps to ``out_dim``: ``h = ReLU(W · vec(ReLU(conv₂(ReLU(conv₁ x)))))``. The shared
    3×3 filters see local strokes wherever they are; the linear map keeps where they were, which a digit needs.

    Examples
    --------
    >>> CNNEncoder((8, 8), 16)(torch.zeros(5, 8, 8)).shape
    torch.Size([5, 16])
    """

    def __init__(self, image_shape: tuple[int, int], out_dim: int, channels: int = 8):
        super().__init__()
        if len(image_shape) != 2:
            raise ValueError(f"CNNEncoder: image_shape must be (height, width), got {image_shape!r}")
        check_positive("CNNEncoder", height=image_shape[0], width=image_shape[1], out_dim=out_dim, channels=channels)
        self.image_shape, self.out_dim = tuple(image_shape), out_dim
        self.conv = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, 3, padding=1, stride=2), nn.ReLU(),  # halves H and W (rounding up)
        )
        cells = ((image_shape[0] + 1) // 2) * ((image_shape[1] + 1) // 2)
        self.proj = nn.Sequential(nn.Flatten(), nn.Linear(2 * channels * cells, out_dim), nn.ReLU())

    def forward(self, x: Tensor) -> Tensor:
        _check_input("CNNEncoder", x, f"(batch, {self.image_shape[0]}, {self.image_shape[1]})",
                     lambda x: x.dim() == 3 and tuple(x.shape[1:]) == self.image_shape)
        return self.proj(self.conv(x.unsqueeze(1)))


class GRUEncoder(nn.Module):
    """A GRU over a sequence of frames ``(batch, T, in_dim)``; the feature is ``ReLU(W h_T)`` of the last state.

    Examples
    --------
    >>> GRUEncoder(16, 8)(torch.zeros(5, 12, 16)).shape
    torch.Size([5, 8])
    """

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 32):
        super().__init__()
        check_positive("GRUEncoder", in_dim=in_dim, out_dim=out_dim, hidden=hidden)
        self.in_dim, self.out_dim = in_dim, out_dim
        self.gru = nn.GRU(in_dim, hidden, batch_first=True)
        self.proj = nn.Sequential(nn.Linear(hidden, out_dim), nn.ReLU())

    def forward(self, x: Tensor) -> Tensor:
        _check_input("GRUEncoder", x, f"(batch, time, {self.in_dim})",
                     lambda x: x.dim() == 3 and x.shape[2] == self.in_dim)
        _, last = self.gru(x)
        return self.proj(last[-1])


def _check_padding_idx(where: str, padding_idx, vocab_size: int) -> None:
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)):
        raise TypeError(f"{where}: padding_idx must be an integer, got {type(padding_idx).__name__}")
    if not 0 <= padding_idx < vocab_size:
        raise ValueError(f"{where}: padding_idx must lie in [0, {vocab_size}), got {padding_idx}")


def _check_token_ids(where: str, tokens: Tensor, vocab_size: int, max_length: int | None = None, *,
                     nonempty: bool = False) -> None:
    _check_input(where, tokens, "(batch, length) of integer token ids",
                 lambda t: t.dim() == 2 and not t.is_floating_point())
    if nonempty and tokens.shape[0] == 0:
        raise ValueError(f"{where}: tokens is empty (shape {tuple(tokens.shape)}); it needs at least one row")
    if tokens.numel() and (tokens.min() < 0 or tokens.max() >= vocab_size):
        raise ValueError(f"{where}: token ids must lie in [0, {vocab_size}), got "
                         f"[{int(tokens.min())}, {int(tokens.max())}]")
    if max_length is not None and tokens.shape[1] > max_length:
        raise ValueError(f"{where}: sequences may have at most max_length={max_length} tokens, got "
                         f"{tokens.shape[1]}")


class BagOfWordsEncoder(nn.Module):
    """Mean of learned word embeddings over the non-padding tokens of ``(batch, length)`` token ids.

    ``h = ReLU(W · (1/|S|) Σ_{t∈S} E[x_t])`` with ``S`` the positions whose id is not ``padding_idx``. Word order
    is ignored, which is the point of the baseline: anything it cannot do needs order.

    Examples
    --------
    >>> BagOfWordsEncoder(10, 4)(torch.tensor([[1, 2, 0], [3, 0, 0]])).shape
    torch.Size([2, 4])
    """

    def __init__(self, vocab_size: int, out_dim: int, embed_dim: int = 32, padding_idx: int = 0):
        super().__init__()
        check_positive("BagOfWordsEncoder", vocab_size=vocab_size, out_dim=out_dim, embed_dim=embed_dim)
        _check_padding_idx("BagOfWordsEncoder", padding_idx, vocab_size)
        self.vocab_size, self.out_dim, self.padding_idx = vocab_size, out_dim, padding_idx
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.proj = nn.Sequential(nn.Linear(embed_dim, out_dim), nn.ReLU())

    def forward(self, tokens: Tensor) -> Tensor:
        _check_token_ids("BagOfWordsEncoder", tokens, self.vocab_size)
        mask = (tokens != self.padding_idx).unsqueeze(-1).float()
        mean = (self.embed(tokens) * mask).sum(1) / mask.sum(1).clamp(min=1)
        return self.proj(mean)


class TransformerTextEncoder(nn.Module):
    r"""A small transformer over ``(batch, length)`` token ids: it reads the words *and where they stand*.

    Each token becomes its word's embedding plus its position's, ``z⁰_t = E[x_t] + P[t]``; ``layers`` pre-norm
    transformer blocks follow, each ``Z' = Z + MHA(LN(Z))`` then ``Z'' = Z' + FF(LN(Z'))``, whose self-attention
    ``softmax(Q Kᵀ / √d_k) V`` looks only at the keys in ``S``, the positions that hold a word (not padding);
    then ``h = ReLU(W · pool(LN(Z^L)) + b)``, with ``pool`` the mean over ``S`` (``pooling="mean"``) or the first
    position's vector (``pooling="first"``). Without ``P`` the model would be order-blind like the bag of words
    (attention treats its keys as a set); the position embedding is what lets it read order.

    Paper: A. Vaswani et al. (2017), "Attention Is All You Need", NeurIPS. Book section: Part 1 (encoders).

    Parameters
    ----------
    vocab_size, out_dim : int
        Number of token ids and feature size.
    max_length : int
        Longest sequence the position table ``P`` covers.
    embed_dim, heads, layers : int
        Width of the tokens (divisible by ``heads``), attention heads per block, number of blocks.
    pooling : {"mean", "first"}
        How the token vectors become one feature vector.
    padding_idx : int
        The id that marks padding (masked out of attention and pooling).

    Examples
    --------
    >>> TransformerTextEncoder(10, 4, max_length=3)(torch.tensor([[1, 2, 0], [3, 0, 0]])).shape
    torch.Size([2, 4])
    """

    def __init__(self, vocab_size: int, out_dim: int, max_length: int, embed_dim: int = 32, heads: int = 2,
                 layers: int = 1, pooling: str = "mean", padding_idx: int = 0):
        super().__init__()
        check_positive("TransformerTextEncoder", vocab_size=vocab_size, out_dim=out_dim, max_length=max_length,
                       embed_dim=embed_dim, heads=heads, layers=layers)
        if embed_dim % heads:
            raise ValueError(f"TransformerTextEncoder: heads={heads} must divide embed_dim={embed_dim}")
        if pooling not in ("mean", "first"):
            raise ValueError(f"TransformerTextEncoder: pooling must be 'mean' or 'first', got {pooling!r}")
        self.vocab_size, self.out_dim, self.max_length = vocab_size, out_dim, max_length
        _check_padding_idx("TransformerTextEncoder", padding_idx, vocab_size)
        self.pooling, self.padding_idx = pooling, padding_idx
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.position = nn.Parameter(0.1 * torch.randn(max_length, embed_dim))
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(embed_dim, heads, 2 * embed_dim, dropout=0.0, batch_first=True,
                                       norm_first=True) for _ in range(layers))
        self.norm = nn.LayerNorm(embed_dim)
        self.proj = nn.Sequential(nn.Linear(embed_dim, out_dim), nn.ReLU())

    def forward(self, tokens: Tensor) -> Tensor:
        _check_token_ids("TransformerTextEncoder", tokens, self.vocab_size, self.max_length, nonempty=True)
        words = tokens != self.padding_idx  # S, the positions that hold a word
        words[:, 0] |= ~words.any(1)  # an all-padding row attends to its first slot rather than to nothing (NaN)
        z = self.embed(tokens) + self.position[:tokens.shape[1]]
        for block in self.blocks:
            z = block(z, src_key_padding_mask=~words)
        z = self.norm(z)
        if self.pooling == "first":
            return self.proj(z[:, 0])
        mask = words.unsqueeze(-1).float()
        return self.proj((z * mask).sum(1) / mask.sum(1))


def make_encoder(sample: Tensor, out_dim: int) -> nn.Module:
    """The book's default encoder for one modality, chosen from a single example's shape.

    A vector ``(d,)`` gets an :class:`MLPEncoder`, a float matrix ``(H, W)`` (an image, or a spectrogram read as
    one) a :class:`CNNEncoder`, and a vector of integer token ids ``(L,)`` a :class:`BagOfWordsEncoder` sized by
    its largest id. Build a :class:`GRUEncoder` yourself where the order of frames matters.

    Examples
    --------
    >>> [type(make_encoder(x, 8)).__name__ for x in (torch.zeros(12), torch.zeros(8, 8), torch.tensor([3, 1, 0]))]
    ['MLPEncoder', 'CNNEncoder', 'BagOfWordsEncoder']
    """
    if not isinstance(sample, Tensor):
        raise TypeError(f"make_encoder: sample must be a torch.Tensor (one example), got {type(sample).__name__}")
    _check_input("make_encoder", sample, "(d,), (H, W) or (L,)", lambda t: t.numel() > 0)
    check_positive("make_encoder", out_dim=out_dim)
    if sample.dim() == 1 and sample.is_floating_point():
        return MLPEncoder(sample.shape[0], out_dim)
    if sample.dim() == 1:
        return BagOfWordsEncoder(int(sample.max()) + 1, out_dim)
    if sample.dim() == 2 and sample.is_floating_point():
        return CNNEncoder(tuple(sample.shape), out_dim)
    raise ValueError(f"make_encoder: no default encoder for an example of shape {tuple(sample.shape)}; expected "
                     f"a float vector (d,), a float image (H, W) or integer token ids (L,)")


class UnimodalClassifier(nn.Module):
    """A baseline that sees one modality: its encoder, then a linear classifier, ``logits = V h + c``.

    Examples
    --------
    >>> UnimodalClassifier(MLPEncoder(12, 16), 2)(torch.zeros(5, 12)).shape
    torch.Size([5, 2])
    """

    def __init__(self, encoder: nn.Module, num_classes: int):
        super().__init__()
        check_positive("UnimodalClassifier", num_classes=num_classes)
        if not isinstance(getattr(encoder, "out_dim", None), int):
            raise ValueError("UnimodalClassifier: encoder must have an integer attribute out_dim (its feature size)")
        self.encoder = encoder
        self.head = nn.Linear(encoder.out_dim, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.encoder(x))
