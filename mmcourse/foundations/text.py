r"""Part 1, encoders: text tasks on the scene captions, and text encoders trained on them.

A scene's caption lists its objects in reading order, ``a red circle and a blue square``
(:func:`mmcourse.data.load_scenes`). Two tasks read a caption:

- ``"mentions_red"``: does the caption mention a red object? The answer is a function of *which words occur*, so
  an order-blind encoder (a bag of words) can learn it.
- ``"first_shape"``: the shape of the first object named, the one whose cell comes first in reading order (the
  top-most row, then the left-most cell). The words alone do not tell it: ``a red circle and a blue square`` and
  ``a red square and a blue circle`` have the same words and different answers.

:func:`order_blind_ceiling` says how far *any* order-blind model can get on a task: the expected accuracy of the
best function of the word counts. Book section: Part 1 (encoders).
"""
from __future__ import annotations

import time

import torch
from torch import Tensor, nn

from mmcourse.data.scenes import COLOURS, SHAPES, VOCAB, load_scenes
from mmcourse.encoders import (BagOfWordsEncoder, GRUEncoder, TransformerTextEncoder, UnimodalClassifier,
                               _check_padding_idx, _check_token_ids)
from mmcourse.training import evaluate, fit
from mmcourse.utils import check_positive, set_seed

__all__ = ["CAPTION_TASKS", "TEXT_ENCODERS", "caption_labels", "caption_task", "WordGRUEncoder", "make_text_encoder",
           "train_text_encoder", "order_blind_ceiling"]

CAPTION_TASKS = {"mentions_red": ("no", "yes"), "first_shape": SHAPES}  # task -> its class names
TEXT_ENCODERS = ("bag of words", "GRU", "transformer")


def caption_labels(colour, shape, task: str) -> Tensor:
    """The label of each scene for ``task`` (a key of :data:`CAPTION_TASKS`), from its object table.

    Parameters
    ----------
    colour, shape : array-like of int, shape ``(n, max_objects)``
        The scenes' ``colour`` and ``shape`` columns (objects in reading order, padded with -1).
    task : str
        ``"mentions_red"`` (1 if some object is red) or ``"first_shape"`` (the first object's shape, 0-2).

    Returns
    -------
    Tensor
        int64 labels ``(n,)``.

    Examples
    --------
    >>> caption_labels([[0, 2, -1], [1, 3, 2]], [[1, 0, -1], [2, 2, 0]], "mentions_red").tolist()
    [1, 0]
    >>> caption_labels([[0, 2, -1], [1, 3, 2]], [[1, 0, -1], [2, 2, 0]], "first_shape").tolist()
    [1, 2]
    """
    if task not in CAPTION_TASKS:
        raise ValueError(f"caption_labels: unknown task {task!r}; known tasks: {list(CAPTION_TASKS)}")
    colour, shape = (torch.as_tensor(v).long() for v in (colour, shape))
    if colour.dim() != 2 or colour.shape != shape.shape:
        raise ValueError(f"caption_labels: colour and shape must be (n, max_objects) of one shape, got "
                         f"{tuple(colour.shape)} and {tuple(shape.shape)}")
    if (shape[:, 0] < 0).any():
        raise ValueError("caption_labels: every scene needs at least one object (shape[:, 0] >= 0)")
    if task == "mentions_red":
        return (colour == COLOURS.index("red")).any(1).long()
    return shape[:, 0].clone()


def caption_task(task: str, split: str = "train", *, seed: int = 0, n_train: int = 2000,
                 n_test: int = 500) -> tuple[Tensor, Tensor]:
    """The captions of one split of :func:`mmcourse.data.load_scenes` and their labels for ``task``.

    ``seed``, ``n_train`` and ``n_test`` are passed to ``load_scenes`` (other values than the defaults generate, and
    cache, another scene set).

    Returns
    -------
    (tokens, labels) : (Tensor, Tensor)
        int64 word ids ``(n, 15)`` over :data:`mmcourse.data.VOCAB` (padded with 0) and int64 labels ``(n,)``.

    Examples
    --------
    >>> tokens, labels = caption_task("first_shape", "test")
    >>> tokens.shape, labels.shape
    (torch.Size([500, 15]), torch.Size([500]))
    """
    if split not in ("train", "validation", "test"):
        raise ValueError(f"caption_task: split must be 'train', 'validation' or 'test', got {split!r}")
    scenes = load_scenes(n_train=n_train, n_test=n_test, seed=seed)[split]
    return scenes["caption"][:].long(), caption_labels(scenes["colour"][:], scenes["shape"][:], task)


class WordGRUEncoder(nn.Module):
    """A GRU over learned word vectors: ``h = GRUEncoder(E[x_1], …, E[x_T])``, padding skipped.

    Captions are padded at the end, so the GRU reads each one up to its last word (a packed sequence) and the
    feature is ``ReLU(W s_T + b)`` of the state after that word. Paper: K. Cho et al. (2014), "Learning Phrase
    Representations using RNN Encoder-Decoder for Statistical Machine Translation", EMNLP. Book section: Part 1
    (encoders).

    Examples
    --------
    >>> WordGRUEncoder(10, 4)(torch.tensor([[1, 2, 0], [3, 0, 0]])).shape
    torch.Size([2, 4])
    """

    def __init__(self, vocab_size: int, out_dim: int, embed_dim: int = 32, hidden: int = 32, padding_idx: int = 0):
        super().__init__()
        check_positive("WordGRUEncoder", vocab_size=vocab_size, out_dim=out_dim, embed_dim=embed_dim, hidden=hidden)
        _check_padding_idx("WordGRUEncoder", padding_idx, vocab_size)
        self.vocab_size, self.out_dim, self.padding_idx = vocab_size, out_dim, padding_idx
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.gru = GRUEncoder(embed_dim, out_dim, hidden=hidden)

    def forward(self, tokens: Tensor) -> Tensor:
        _check_token_ids("WordGRUEncoder", tokens, self.vocab_size, nonempty=True)
        lengths = (tokens != self.padding_idx).sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.embed(tokens), lengths, batch_first=True,
                                                   enforce_sorted=False)
        _, last = self.gru.gru(packed)
        return self.gru.proj(last[-1])


def make_text_encoder(name: str, out_dim: int = 32, *, vocab_size: int = len(VOCAB), max_length: int = 15,
                      width: int = 32) -> nn.Module:
    """One of :data:`TEXT_ENCODERS` by name, with word vectors of size ``width`` and ``out_dim`` features.

    Examples
    --------
    >>> type(make_text_encoder("transformer")).__name__
    'TransformerTextEncoder'
    """
    if name not in TEXT_ENCODERS:
        raise ValueError(f"make_text_encoder: unknown encoder {name!r}; known encoders: {list(TEXT_ENCODERS)}")
    if name == "bag of words":
        return BagOfWordsEncoder(vocab_size, out_dim, embed_dim=width)
    if name == "GRU":
        return WordGRUEncoder(vocab_size, out_dim, embed_dim=width, hidden=width)
    return TransformerTextEncoder(vocab_size, out_dim, max_length, embed_dim=width, heads=2, layers=1)


def train_text_encoder(name: str, task: str, *, seed: int = 0, data_seed: int = 0, n_train: int = 1000,
                       epochs: int = 20, lr: float = 2e-2, width: int = 16, batch_size: int = 250) -> dict:
    """Train one encoder of :data:`TEXT_ENCODERS` with a linear head on ``task``'s captions; score it on the test.

    ``set_seed(seed)`` before building the model; the captions are the first ``n_train`` training and all 500
    test captions of ``load_scenes(seed=data_seed)``. Adam, ``epochs`` passes of batches of ``batch_size``.

    Returns
    -------
    dict
        ``model`` (the trained :class:`~mmcourse.encoders.UnimodalClassifier`), ``history`` (of
        :func:`mmcourse.training.fit`), ``test accuracy``, ``parameters`` and ``training seconds``.

    Examples
    --------
    >>> run = train_text_encoder("bag of words", "mentions_red", epochs=2)
    >>> sorted(run)
    ['history', 'model', 'parameters', 'test accuracy', 'training seconds']
    """
    check_positive("train_text_encoder", n_train=n_train, epochs=epochs, width=width, batch_size=batch_size)
    tokens, labels = caption_task(task, "train", seed=data_seed)
    test = caption_task(task, "test", seed=data_seed)
    set_seed(seed)
    model = UnimodalClassifier(make_text_encoder(name, width, width=width), len(CAPTION_TASKS[task]))
    start = time.perf_counter()
    history = fit(model, ([tokens[:n_train]], labels[:n_train]), epochs=epochs, lr=lr, batch_size=batch_size)
    seconds = time.perf_counter() - start
    return {"model": model, "history": history, "test accuracy": evaluate(model, ([test[0]], test[1]))["accuracy"],
            "parameters": sum(p.numel() for p in model.parameters()), "training seconds": seconds}


def order_blind_ceiling(colour, shape, task: str) -> float:
    """The expected accuracy of the best order-blind classifier on scenes ``(colour, shape)`` for ``task``.

    An order-blind model sees a caption's word counts: how many objects of each colour and of each shape, not
    which colour goes with which shape, nor in which order they come. For ``"mentions_red"`` that is enough
    (ceiling 1). For ``"first_shape"``, the objects sit in random cells, so the first in reading order is any of
    the ``k`` objects with probability ``1/k`` and its shape is ``s`` with probability ``n_s / k``, whatever else
    the counts say; the best guess is the most frequent shape, right with probability ``max_s n_s / k``, and the
    ceiling is the mean of that over the scenes.

    Examples
    --------
    >>> order_blind_ceiling([[0, 1, 2], [0, 1, -1]], [[1, 1, 0], [2, 0, -1]], "first_shape")  # (2/3 + 1/2) / 2
    0.5833333333333333
    """
    labels = caption_labels(colour, shape, task)  # validates the arguments
    if task == "mentions_red":
        return 1.0
    shape = torch.as_tensor(shape).long()
    counts = torch.stack([(shape == s).sum(1) for s in range(len(SHAPES))], 1).double()
    return (counts.max(1).values / counts.sum(1)).mean().item() if len(labels) else 0.0
