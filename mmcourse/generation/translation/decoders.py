r"""Part 5.2: generative translation, a conditional decoder that writes the target modality from the source.

Three small decoders, each with a ``loss(source, target)`` that :func:`mmcourse.generation.fit_translator`
minimises:

* :class:`ImageToCaption`, an image encoder and a GRU language model over the scene vocabulary (show-and-tell,
  Vinyals et al., 2015): :math:`p(c \mid x) = \prod_t p(w_t \mid w_{<t}, x)`, trained with teacher forcing and
  decoded greedily;
* :class:`CaptionToImage`, a decoder from the caption's objects to pixels, :math:`\hat x = \sigma(g(k(c)))`, trained
  with the squared error, so it returns the conditional mean :math:`\mathbb E[x \mid c]`;
* :class:`CrossDecoder`, the same for any pair of fixed-size modalities (the digits' image and "audio").
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from mmcourse._checks import check_ids, check_same_rows, check_tensor
from mmcourse.data.scenes import CELL, GRID, IMAGE_SIZE, VOCAB
from mmcourse.generation.translation.captions import N_KINDS, caption_kinds
from mmcourse.utils import check_positive

__all__ = ["ImageToCaption", "CaptionToImage", "CrossDecoder"]

CAPTION_LENGTH = 15  # 4 objects: "a c s and a c s and a c s and a c s"


def _check_images(images, where: str) -> None:
    if not isinstance(images, Tensor) or images.dim() != 4 or tuple(images.shape[1:]) != (IMAGE_SIZE, IMAGE_SIZE, 3):
        raise ValueError(f"{where}: images must be a tensor (N, {IMAGE_SIZE}, {IMAGE_SIZE}, 3), got "
                         f"{getattr(images, 'shape', type(images).__name__)}")
    check_tensor(where, "images", images)


def _check_tokens(captions, where: str) -> None:
    if not isinstance(captions, Tensor) or captions.dim() != 2 or captions.is_floating_point():
        raise ValueError(f"{where}: captions must be an integer tensor (N, length) of word ids, got "
                         f"{getattr(captions, 'shape', type(captions).__name__)}")
    check_ids(where, "captions", captions, len(VOCAB))


class ImageToCaption(nn.Module):
    r"""Image → caption: a per-cell encoder and a GRU that writes the caption word by word.

    Each of the nine 10×10 cells goes through one shared MLP, :math:`e_j = \mathrm{ReLU}(W_e x_j)`; the image code
    is their concatenation :math:`v = [e_1; \dots; e_9]`, which sets the first state :math:`h_0 = \tanh(W_0 v)` and
    is fed again at every step (the caption lists the objects in reading order, so the decoder keeps looking):

    .. math::

        h_t = \mathrm{GRU}\big([E w_{t-1}; v],\, h_{t-1}\big), \qquad
        p(w_t \mid w_{<t}, x) = \mathrm{softmax}(W_o h_t),

    with :math:`w_0` the start symbol (``<pad>``, id 0, which also ends a caption). Training maximises
    :math:`\sum_t \log p(w_t \mid w_{<t}, x)` with the true previous words (teacher forcing);
    :meth:`generate` feeds back its own arg max (greedy decoding). Paper: Vinyals et al. (2015), *Show and tell*;
    book section Part 5.2.

    Parameters
    ----------
    width : int
        Size of each cell's code, of the word embeddings and (×2) of the GRU state.
    length : int
        Number of words generated (15: four objects).
    encoder : nn.Module, optional
        A pretrained image encoder to use, frozen, instead of the per-cell MLP (show-and-tell used an ImageNet
        CNN); it maps images ``(N, 30, 30, 3)`` to codes ``(N, ...)``, e.g. a fitted
        :class:`mmcourse.reasoning.CellPerception` (``(N, 9, 13)``, what each cell holds).

    Example
    -------
    >>> model = ImageToCaption(width=8)
    >>> model(torch.rand(2, 30, 30, 3), torch.zeros(2, 15, dtype=torch.long)).shape   # logits per word
    torch.Size([2, 15, 24])
    >>> model.generate(torch.rand(2, 30, 30, 3)).shape
    torch.Size([2, 15])
    """

    def __init__(self, width: int = 32, length: int = CAPTION_LENGTH, encoder: nn.Module | None = None):
        super().__init__()
        check_positive("ImageToCaption", width=width, length=length)
        self.length = length
        if encoder is None:
            self.cell = nn.Sequential(nn.Linear(CELL * CELL * 3, width), nn.ReLU())
            code = GRID * GRID * width
        else:
            if not isinstance(encoder, nn.Module):
                raise TypeError(f"ImageToCaption: encoder must be an nn.Module (images → cell codes), got "
                                f"{type(encoder).__name__}")
            self.cell = encoder.requires_grad_(False)  # pretrained and frozen, as show-and-tell's CNN
            with torch.no_grad():
                code = encoder(torch.zeros(1, IMAGE_SIZE, IMAGE_SIZE, 3)).flatten(1).shape[1]
        self.frozen = encoder is not None
        self.init = nn.Linear(code, 2 * width)
        self.embed = nn.Embedding(len(VOCAB), width)
        self.gru = nn.GRU(width + code, 2 * width, batch_first=True)
        self.out = nn.Linear(2 * width, len(VOCAB))

    def encode(self, images: Tensor) -> Tensor:
        """The image code ``v`` (N, 9 * width): the nine cells' codes in reading order."""
        _check_images(images, "ImageToCaption")
        if self.frozen:
            return self.cell(images).flatten(1)
        n = images.shape[0]
        tiles = images.reshape(n, GRID, CELL, GRID, CELL, 3).permute(0, 1, 3, 2, 4, 5).reshape(n, GRID * GRID, -1)
        return self.cell(tiles).flatten(1)

    def _step(self, words: Tensor, v: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        inputs = torch.cat([self.embed(words), v[:, None].expand(-1, words.shape[1], -1)], dim=-1)
        states, h = self.gru(inputs, h)
        return self.out(states), h

    def forward(self, images: Tensor, captions: Tensor) -> Tensor:
        """Teacher forcing: the logits ``(N, length, |VOCAB|)`` of each word given the true previous words."""
        _check_tokens(captions, "ImageToCaption")
        _check_images(images, "ImageToCaption")
        check_same_rows("ImageToCaption", images=images, captions=captions)
        v = self.encode(images)
        previous = torch.cat([torch.zeros_like(captions[:, :1]), captions[:, :-1]], dim=1).long()
        logits, _ = self._step(previous, v, torch.tanh(self.init(v))[None])
        return logits

    def loss(self, images: Tensor, captions: Tensor) -> Tensor:
        """Mean cross-entropy of the words (the padding after the last object included: it teaches where to stop)."""
        logits = self(images, captions)
        return nn.functional.cross_entropy(logits.flatten(0, 1), captions.long().flatten())

    @torch.no_grad()
    def generate(self, images: Tensor) -> Tensor:
        """Greedy decoding: ``w_t = argmax p(w | w_<t, x)``, fed back; after the first ``<pad>`` all is padding."""
        v = self.encode(images)
        h = torch.tanh(self.init(v))[None]
        word = torch.zeros(len(images), 1, dtype=torch.long, device=images.device)
        words = []
        for _ in range(self.length):
            logits, h = self._step(word, v, h)
            word = logits.argmax(-1)
            words.append(word)
        words = torch.cat(words, dim=1)
        ended = (words == 0).long().cummax(dim=1).values.bool()
        return words.masked_fill(ended, 0)


class CaptionToImage(nn.Module):
    r"""Caption → image: the objects a caption names, decoded to pixels by an MLP.

    The caption is read as the multi-hot vector :math:`k(c) \in \{0, 1\}^{12}` of the kinds (colour, shape) it
    names (:func:`caption_kinds`), and decoded as

    .. math::

        \hat x = \sigma\big(W_2\, \mathrm{ReLU}(W_1 k(c) + b_1) + b_2\big) \in [0, 1]^{30 \times 30 \times 3},

    trained with the mean squared error :math:`\lVert \hat x - x \rVert^2`. A caption does not say *where* its
    objects are, so the best such decoder returns the average of all the images that fit the caption, a blur of
    every position each object could take. A caption with a single phrase ("a red square") decodes too, and a float
    tensor ``(N, 12)`` of kind weights can be passed instead of word ids (e.g. 1/4 on each colour of "square").
    Paper: the conditional decoders of text-to-image translation (Reed et al., 2016, *Generative adversarial
    text to image synthesis*, with an adversarial loss instead of the squared error); book section Part 5.2.

    Parameters
    ----------
    width : int
        Width of the hidden layer.

    Example
    -------
    >>> from mmcourse.data import encode_words
    >>> model = CaptionToImage(width=8)
    >>> model(torch.as_tensor(encode_words("a red square"))[None]).shape
    torch.Size([1, 30, 30, 3])
    """

    def __init__(self, width: int = 128):
        super().__init__()
        check_positive("CaptionToImage", width=width)
        self.net = nn.Sequential(nn.Linear(N_KINDS, width), nn.ReLU(), nn.Linear(width, IMAGE_SIZE * IMAGE_SIZE * 3))

    def forward(self, captions: Tensor) -> Tensor:
        """Images ``(N, 30, 30, 3)`` from captions (word ids ``(N, length)``) or kind weights ``(N, 12)``."""
        if isinstance(captions, Tensor) and captions.is_floating_point():
            if captions.dim() != 2 or captions.shape[1] != N_KINDS:
                raise ValueError(f"CaptionToImage: float captions must be kind weights (N, {N_KINDS}), got "
                                 f"{tuple(captions.shape)}")
            kinds = captions
        else:
            _check_tokens(captions, "CaptionToImage")
            kinds = caption_kinds(captions).to(captions.device)
        return torch.sigmoid(self.net(kinds)).reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 3)

    def loss(self, captions: Tensor, images: Tensor) -> Tensor:
        """The mean squared error of the decoded images."""
        _check_images(images, "CaptionToImage")
        return nn.functional.mse_loss(self(captions), images)


def _size(shape, where: str, name: str) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if not shape or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape):
        raise ValueError(f"{where}: {name} must be a positive int or a tuple of positive ints, got {shape!r}")
    return shape


class CrossDecoder(nn.Module):
    r"""A source example of any fixed shape → a target example of another, by an MLP with a sigmoid output:

    .. math:: \hat y = \sigma\big(W_2\, \mathrm{ReLU}(W_1 \operatorname{vec}(x) + b_1) + b_2\big),

    trained with the squared error, so that it estimates :math:`\mathbb E[y \mid x]`. On the digits, image (8, 8)
    → "audio" (12, 16) and back. Book section Part 5.2.

    Parameters
    ----------
    source_shape, target_shape : int or tuple of int
        The shape of one source example and of one target example.
    width : int
        Width of the hidden layer.

    Example
    -------
    >>> CrossDecoder((8, 8), (12, 16), width=4)(torch.rand(3, 8, 8)).shape
    torch.Size([3, 12, 16])
    """

    def __init__(self, source_shape: int | Sequence[int], target_shape: int | Sequence[int], width: int = 64):
        super().__init__()
        check_positive("CrossDecoder", width=width)
        self.source_shape = _size(source_shape, "CrossDecoder", "source_shape")
        self.target_shape = _size(target_shape, "CrossDecoder", "target_shape")
        self.net = nn.Sequential(nn.Linear(math.prod(self.source_shape), width), nn.ReLU(),
                                 nn.Linear(width, math.prod(self.target_shape)))

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or tuple(x.shape[1:]) != self.source_shape:
            raise ValueError(f"CrossDecoder: x must be a batch of shape (N, {', '.join(map(str, self.source_shape))})"
                             f", got {getattr(x, 'shape', type(x).__name__)}")
        check_tensor("CrossDecoder", "x", x, kind="any")
        return torch.sigmoid(self.net(x.flatten(1).float())).reshape(-1, *self.target_shape)

    def loss(self, x: Tensor, y: Tensor) -> Tensor:
        """The mean squared error of the decoded targets."""
        return nn.functional.mse_loss(self(x), y.float())
