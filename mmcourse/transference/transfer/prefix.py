r"""Part 6.1: cross-modal transfer by a prefix, a frozen text reader made to see (in the spirit of Frozen).

Tsimpoukelli et al. (2021, *Multimodal Few-Shot Learning with Frozen Language Models*) keep a pretrained language
model frozen and train only a vision encoder whose output, :math:`k` vectors in the model's word-embedding space, is
put before the text as a **prefix**. The language model's knowledge of how to read transfers to images it never saw:

.. math::  \hat y = f_\theta\big([\,E(x_{\text{image}});\ e(w_1), \dots, e(w_T)\,],\ q\big), \qquad
           \theta \text{ frozen}, \quad E \text{ trained},

where :math:`e` is the frozen word embedding and :math:`E: \text{image} \mapsto \mathbb R^{k \times d}` the prefix
encoder. In the scene world, the "language model" is a :class:`CaptionReader` trained on text alone (caption and
question in, answer out); :class:`PrefixEncoder` turns a scene image into three prefix vectors per grid cell, in the
place of a caption's "a red circle"; :class:`PrefixedReader` joins them (:func:`prefix_inputs` builds the sequence).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmcourse.data.scenes import ANSWERS, CELL, GRID, IMAGE_SIZE, QUESTION_LENGTH, VOCAB
from mmcourse.utils import check_positive

__all__ = ["scene_qa_tensors", "prefix_inputs", "CaptionReader", "PrefixEncoder", "PrefixedReader"]


def scene_qa_tensors(data) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(image (n, 30, 30, 3), caption (n, T), question (n, 7), answer (n,))`` of one split of
    :func:`mmcourse.data.load_scenes` (a ``datasets.Dataset`` in torch format), as float / long tensors.

    Examples
    --------
    >>> from mmcourse.data import load_scenes
    >>> image, caption, question, answer = scene_qa_tensors(load_scenes(n_train=4, n_val=2, n_test=2)["test"])
    >>> tuple(image.shape), tuple(question.shape), answer.dtype
    ((2, 30, 30, 3), (2, 7), torch.int64)
    """
    columns = getattr(data, "column_names", ())
    missing = [key for key in ("image", "caption", "question", "answer") if key not in columns]
    if missing:
        raise ValueError(f"scene_qa_tensors: data must be a split of load_scenes() with columns image, caption, "
                         f"question, answer; missing {missing}")
    return (data["image"][:].float(), data["caption"][:].long(), data["question"][:].long(),
            data["answer"][:].long())


def _check_tensor(where: str, name: str, x) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{where}: {name} must be a torch.Tensor, got {type(x).__name__}")
    if x.is_floating_point() and not torch.isfinite(x).all():
        raise ValueError(f"{where}: {name} contains NaN or infinite values")


def _check_word_ids(where: str, name: str, ids, vocab_size: int, length: int | None = None) -> None:
    """``ids`` a ``(batch, T)`` integer tensor of word ids in ``0..vocab_size - 1`` (``T = length`` if given)."""
    if not isinstance(ids, Tensor):
        raise TypeError(f"{where}: {name} must be a torch.Tensor of word ids, got {type(ids).__name__}")
    if ids.dim() != 2 or ids.is_floating_point() or (length is not None and ids.shape[1] != length):
        raise ValueError(f"{where}: {name} must be word ids (batch, {length if length is not None else 'T'}), got "
                         f"{ids.dtype} {tuple(ids.shape)}")
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        raise ValueError(f"{where}: {name} must hold word ids in 0..{vocab_size - 1}, got values from "
                         f"{int(ids.min())} to {int(ids.max())}")


def prefix_inputs(prefix: Tensor, words: Tensor, word_ids: Tensor) -> tuple[Tensor, Tensor]:
    r"""The context a reader sees: the prefix vectors, then the embedded words, and which positions to read.

    .. math::  C = [\,p_1, \dots, p_k, e(w_1), \dots, e(w_T)\,], \qquad
               m = [\,1, \dots, 1, \mathbb 1[w_1 \ne \text{pad}], \dots, \mathbb 1[w_T \ne \text{pad}]\,]

    Parameters
    ----------
    prefix : Tensor (batch, k, d)
    words : Tensor (batch, T, d)
        The embedded words (``T`` may be 0).
    word_ids : Tensor (batch, T)
        Their ids, 0 for padding.

    Returns
    -------
    context : Tensor (batch, k + T, d)
    keep : Tensor (batch, k + T), float 0/1

    Examples
    --------
    >>> context, keep = prefix_inputs(torch.ones(1, 2, 4), torch.zeros(1, 3, 4), torch.tensor([[5, 7, 0]]))
    >>> tuple(context.shape), keep.tolist()
    ((1, 5, 4), [[1.0, 1.0, 1.0, 1.0, 0.0]])
    """
    for name, x in (("prefix", prefix), ("words", words), ("word_ids", word_ids)):
        _check_tensor("prefix_inputs", name, x)
    if prefix.dim() != 3 or words.dim() != 3 or word_ids.dim() != 2:
        raise ValueError(f"prefix_inputs: expected prefix (batch, k, d), words (batch, T, d), word_ids (batch, T), "
                         f"got {tuple(prefix.shape)}, {tuple(words.shape)}, {tuple(word_ids.shape)}")
    if words.shape[:2] != word_ids.shape or prefix.shape[0] != words.shape[0] or prefix.shape[2] != words.shape[2]:
        raise ValueError(f"prefix_inputs: shapes do not match: prefix {tuple(prefix.shape)}, words "
                         f"{tuple(words.shape)}, word_ids {tuple(word_ids.shape)}")
    keep = torch.cat([prefix.new_ones(prefix.shape[:2]), (word_ids != 0).to(prefix.dtype)], dim=1)
    return torch.cat([prefix, words], dim=1), keep


class CaptionReader(nn.Module):
    r"""A small text-only question answerer (our "language model", Part 6.1): it reads a context and a question.

    Each context position :math:`t` gets a local phrase feature from its word and its two neighbours, the question a
    vector, and the answer comes from their product summed over the context (a sum, so that it can count):

    .. math::  f_t = \operatorname{ReLU}(\operatorname{Conv}_3(c)_t), \qquad u = W_q\,[e(q_1); \dots; e(q_7)],
               \qquad \hat y = \operatorname{MLP}\Big(\sum_t m_t\, f_t \odot u\Big).

    Trained on captions, it answers from words; :class:`PrefixedReader` gives it vectors that are not words. It
    stands for the pretrained language model of Frozen (Tsimpoukelli et al., 2021), small enough to train in a second.

    Parameters
    ----------
    dim : int
        Word-embedding size :math:`d`.
    width : int
        Size of :math:`f_t` and :math:`u`.
    vocab_size, question_length, n_answers : int
        Defaults: the scene world's :data:`VOCAB`, question length and :data:`ANSWERS`.

    Examples
    --------
    >>> reader = CaptionReader()
    >>> reader(torch.zeros(5, 7, dtype=torch.long), torch.zeros(5, 15, dtype=torch.long)).shape
    torch.Size([5, 19])
    """

    def __init__(self, dim: int = 16, width: int = 32, vocab_size: int = len(VOCAB),
                 question_length: int = QUESTION_LENGTH, n_answers: int = len(ANSWERS)):
        super().__init__()
        check_positive("CaptionReader", dim=dim, width=width, vocab_size=vocab_size,
                       question_length=question_length, n_answers=n_answers)
        self.dim, self.question_length = dim, question_length
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.phrase = nn.Conv1d(dim, width, kernel_size=3, padding=1)
        self.query = nn.Linear(question_length * dim, width)
        self.answer = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, n_answers))

    def _check_question(self, question: Tensor) -> None:
        _check_word_ids("CaptionReader", "question", question, self.embed.num_embeddings, self.question_length)
        if question.dim() != 2 or question.shape[1] != self.question_length or question.is_floating_point():
            raise ValueError(f"CaptionReader: question must be word ids (batch, {self.question_length}), got "
                             f"{question.dtype} {tuple(question.shape)}")

    def _check_read(self, question: Tensor, context: Tensor, keep: Tensor) -> None:
        self._check_question(question)
        if context.dim() != 3 or context.shape[2] != self.dim or context.shape[0] != question.shape[0] \
                or keep.shape != context.shape[:2]:
            raise ValueError(f"CaptionReader.read: context must be (batch={question.shape[0]}, T, {self.dim}) and "
                             f"keep (batch, T), got {tuple(context.shape)} and {tuple(keep.shape)}")

    def read(self, question: Tensor, context: Tensor, keep: Tensor) -> Tensor:
        """Answer logits ``(batch, n_answers)`` from word ids ``question`` and a context of vectors ``(batch, T,
        dim)`` (embedded words, prefix vectors or both) with its 0/1 ``keep`` mask ``(batch, T)``."""
        self._check_read(question, context, keep)
        phrases = F.relu(self.phrase(context.transpose(1, 2))).transpose(1, 2)
        query = self.query(self.embed(question).flatten(1))
        return self.answer(((phrases * keep.unsqueeze(-1)) * query.unsqueeze(1)).sum(dim=1))

    def forward(self, question: Tensor, caption: Tensor) -> Tensor:
        """Answer logits from the question's and the caption's word ids (0 for padding)."""
        _check_word_ids("CaptionReader", "caption", caption, self.embed.num_embeddings)
        if caption.dim() != 2 or caption.is_floating_point():
            raise ValueError(f"CaptionReader: caption must be word ids (batch, T), got {caption.dtype} "
                             f"{tuple(caption.shape)}")
        return self.read(question, self.embed(caption), (caption != 0).to(self.embed.weight.dtype))


class PrefixEncoder(nn.Module):
    r"""An image encoder that writes ``tokens_per_cell`` vectors in the reader's word space for each grid cell (the
    vision encoder of Frozen, Tsimpoukelli et al., 2021; Part 6.1):

    .. math::  p_{c,1..r} = W_2\,\operatorname{ReLU}(W_1\, \operatorname{pool}_2(x_c) + b_1) + b_2, \qquad
               c = 1, \dots, 9,

    where :math:`x_c` is cell :math:`c`'s 10×10×3 pixels, average-pooled to 5×5×3. The prefix has
    :math:`k = 9 r` vectors, in reading order (three per cell stand where a caption writes "a red circle").

    Parameters
    ----------
    dim : int
        The reader's word-embedding size.
    tokens_per_cell : int
        :math:`r`.
    hidden : int
        Width of :math:`W_1`.

    Examples
    --------
    >>> encoder = PrefixEncoder(dim=16, tokens_per_cell=3)
    >>> encoder(torch.rand(2, 30, 30, 3)).shape
    torch.Size([2, 27, 16])
    """

    def __init__(self, dim: int = 16, tokens_per_cell: int = 3, hidden: int = 32):
        super().__init__()
        check_positive("PrefixEncoder", dim=dim, tokens_per_cell=tokens_per_cell, hidden=hidden)
        self.dim, self.tokens_per_cell = dim, tokens_per_cell
        pooled = 3 * (CELL // 2) ** 2
        self.net = nn.Sequential(nn.Linear(pooled, hidden), nn.ReLU(), nn.Linear(hidden, tokens_per_cell * dim))

    def forward(self, image: Tensor) -> Tensor:
        _check_tensor("PrefixEncoder", "image", image)
        if image.dim() != 4 or tuple(image.shape[1:]) != (IMAGE_SIZE, IMAGE_SIZE, 3) or image.shape[0] == 0:
            raise ValueError(f"PrefixEncoder: image must be (batch, {IMAGE_SIZE}, {IMAGE_SIZE}, 3), got "
                             f"{tuple(image.shape)}")
        n = image.shape[0]
        # (n, rows, y, cols, x, rgb) -> one 3x10x10 image per cell, in reading order
        cells = image.reshape(n, GRID, CELL, GRID, CELL, 3).permute(0, 1, 3, 5, 2, 4)
        cells = cells.reshape(n * GRID**2, 3, CELL, CELL)
        pooled = F.avg_pool2d(cells, 2).reshape(n, GRID**2, -1)
        return self.net(pooled).reshape(n, GRID**2 * self.tokens_per_cell, self.dim)


class PrefixedReader(nn.Module):
    r"""A reader that sees an image through a prefix, :math:`\hat y = f([E(x); e(w)], q)` (:func:`prefix_inputs`;
    Tsimpoukelli et al., 2021; Part 6.1).

    Freeze ``reader`` (:func:`mmcourse.transference.freeze`) to train the prefix encoder alone (Frozen); leave it
    trainable for full fine-tuning. With ``encoder=None`` the prefix is :math:`k` zero vectors: the reader answers
    from the question alone (a floor).

    Parameters
    ----------
    reader : CaptionReader
    encoder : PrefixEncoder or None
    k : int
        Length of the zero prefix when ``encoder`` is None.

    Examples
    --------
    >>> model = PrefixedReader(CaptionReader(), PrefixEncoder())
    >>> model(torch.rand(3, 30, 30, 3), torch.zeros(3, 7, dtype=torch.long)).shape
    torch.Size([3, 19])
    """

    def __init__(self, reader: CaptionReader, encoder: PrefixEncoder | None, k: int = 27):
        super().__init__()
        if not isinstance(reader, CaptionReader):
            raise TypeError(f"PrefixedReader: reader must be a CaptionReader, got {type(reader).__name__}")
        if encoder is not None and not isinstance(encoder, PrefixEncoder):
            raise TypeError(f"PrefixedReader: encoder must be a PrefixEncoder or None, got {type(encoder).__name__}")
        if encoder is not None and encoder.dim != reader.dim:
            raise ValueError(f"PrefixedReader: the encoder writes vectors of size {encoder.dim}, the reader reads "
                             f"{reader.dim}")
        check_positive("PrefixedReader", k=k)
        self.reader, self.encoder, self.k = reader, encoder, k

    def forward(self, image: Tensor, question: Tensor, words: Tensor | None = None) -> Tensor:
        """Answer logits from the image, the question's word ids and optional text ``words`` after the prefix."""
        self.reader._check_question(question)
        if words is not None:
            _check_word_ids("PrefixedReader", "words", words, self.reader.embed.num_embeddings)
        if self.encoder is None:
            prefix = self.reader.embed.weight.new_zeros(question.shape[0], self.k, self.reader.dim)
        else:
            prefix = self.encoder(image)
        if words is None:
            words = question.new_zeros(question.shape[0], 0)
        context, keep = prefix_inputs(prefix, self.reader.embed(words), words)
        return self.reader.read(question, context, keep)
