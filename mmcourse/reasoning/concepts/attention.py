r"""Stacked attention over the grid cells (Part 4.2, intermediate concepts: attention).

A stacked attention network (Yang et al., 2016, *Stacked Attention Networks for Image Question Answering*) keeps the
image as a set of region features :math:`v_i` (here the nine cells of the scene) and a question vector :math:`u`.
Each **hop** scores every region against the question, pools the regions with those weights and adds the result to
the query:

.. math::

    h_i = \tanh\big(W_v v_i + W_u u + b\big), \qquad p = \mathrm{softmax}_i(w_p^\top h_i), \qquad
    \tilde v = \textstyle\sum_i p_i v_i, \qquad u \leftarrow u + \tilde v .

Two hops let the second look again with a query that already holds what the first one found; the answer is read
from the last :math:`u`. The weights :math:`p` are an intermediate concept the model was never told to produce;
:func:`named_cells` and :func:`attention_hit_rate` check them against the cells of the objects a question names.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from mmcourse.data.scene_questions import QUESTION_VOCAB, QUESTION_WORDS
from mmcourse.data.scenes import ANSWERS, CELL, GRID, IMAGE_SIZE, crop_regions
from mmcourse.reasoning.concepts.programs import as_program, execute_trace
from mmcourse._checks import check_tensor
from mmcourse.utils import check_positive

__all__ = ["StackedAttention", "SceneAttentionQA", "cell_tiles", "named_cells", "attention_hit_rate"]

CELLS = GRID * GRID
_READS_A_SET = ("relate", "count", "exists", "query_colour", "query_shape")  # steps whose input set is "named"


def cell_tiles(images: Tensor) -> Tensor:
    """The nine 10×10 cells of each image, row-major: ``(n, 30, 30, 3) → (n, 9, 10, 10, 3)``.

    Examples
    --------
    >>> tuple(cell_tiles(torch.zeros(2, 30, 30, 3)).shape)
    (2, 9, 10, 10, 3)
    """
    if not isinstance(images, Tensor) or images.dim() != 4 or tuple(images.shape[1:]) != (IMAGE_SIZE, IMAGE_SIZE, 3):
        raise ValueError(f"cell_tiles: images must be a tensor of shape (n, {IMAGE_SIZE}, {IMAGE_SIZE}, 3), got "
                         f"{tuple(getattr(images, 'shape', ())) or type(images).__name__}")
    check_tensor("cell_tiles", "images", images, kind="any")
    return crop_regions(images.float(), torch.arange(CELLS).expand(len(images), CELLS))


class QuestionEncoder(nn.Module):
    """``u = MLP([E q_1; …; E q_16])``: the word embeddings of the padded question, concatenated in order (so "left of
    the red square" and "red object left of the square" differ), through a two-layer MLP. Fast enough to retrain
    in seconds on a CPU, unlike a recurrent encoder."""

    def __init__(self, dim: int, embed: int = 16):
        super().__init__()
        self.words = nn.Embedding(len(QUESTION_VOCAB), embed, padding_idx=0)
        self.mlp = nn.Sequential(nn.Linear(QUESTION_WORDS * embed, dim), nn.ReLU(), nn.Linear(dim, dim))

    def forward(self, questions: Tensor) -> Tensor:
        if not isinstance(questions, Tensor) or questions.is_floating_point() or questions.dim() != 2 \
                or questions.shape[1] != QUESTION_WORDS:
            raise ValueError(f"QuestionEncoder: questions must be an integer tensor of word ids, shape (n, "
                             f"{QUESTION_WORDS}), got "
                             f"{tuple(getattr(questions, 'shape', ())) or type(questions).__name__}")
        if ((questions < 0) | (questions >= len(QUESTION_VOCAB))).any():
            raise ValueError(f"QuestionEncoder: questions must hold word ids in 0..{len(QUESTION_VOCAB) - 1}")
        return self.mlp(self.words(questions.long()).flatten(1))


class StackedAttention(nn.Module):
    r"""Attention hops over a set of items, each refining the query (Yang et al., 2016). Book section: Part 4.2.

    For hops :math:`k = 1 … K`, with the hop's own :math:`W_v^k, W_u^k, b^k, w_p^k`:
    :math:`h_i = \tanh(W_v v_i + W_u u + b)`, :math:`p = \mathrm{softmax}_i(w_p^\top h_i)`,
    :math:`u \leftarrow u + \sum_i p_i v_i`.

    Parameters
    ----------
    dim : int
        Size of the items :math:`v_i` and of the query :math:`u`.
    hops : int
        Number of hops K.
    att_dim : int
        Size of :math:`h_i`.

    Returns
    -------
    ``forward(v, u, mask=None)``, with items ``v`` (B, N, dim), query ``u`` (B, dim) and an optional bool ``mask``
    (B, N) of the items that exist, returns

    u : torch.Tensor, shape (B, dim)
        The query after the last hop.
    p : torch.Tensor, shape (B, hops, N)
        The attention weights of every hop (each row sums to 1; masked items get 0).

    Examples
    --------
    >>> u, p = StackedAttention(dim=8)(torch.randn(5, 9, 8), torch.randn(5, 8))
    >>> tuple(u.shape), tuple(p.shape), torch.allclose(p.sum(-1), torch.ones(5, 2))
    ((5, 8), (5, 2, 9), True)
    """

    def __init__(self, dim: int, hops: int = 2, att_dim: int = 32):
        super().__init__()
        check_positive("StackedAttention", dim=dim, hops=hops, att_dim=att_dim)
        self.dim = dim
        self.W_v = nn.ModuleList(nn.Linear(dim, att_dim, bias=False) for _ in range(hops))
        self.W_u = nn.ModuleList(nn.Linear(dim, att_dim) for _ in range(hops))  # its bias is b
        self.w_p = nn.ModuleList(nn.Linear(att_dim, 1) for _ in range(hops))

    def forward(self, v: Tensor, u: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        self._check(v, u, mask)
        maps = []
        for W_v, W_u, w_p in zip(self.W_v, self.W_u, self.w_p):
            h = torch.tanh(W_v(v) + W_u(u)[:, None])  # (B, N, att_dim): every item against the query
            scores = w_p(h).squeeze(-1)
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            p = torch.softmax(scores, dim=-1)
            u = u + (p[..., None] * v).sum(1)  # residual: the query keeps what it asked and adds what it found
            maps.append(p)
        return u, torch.stack(maps, dim=1)

    def _check(self, v, u, mask):
        check_tensor("StackedAttention", "v", v, dim=3)
        check_tensor("StackedAttention", "u", u, dim=2)
        if not isinstance(v, Tensor) or v.dim() != 3 or v.shape[-1] != self.dim:
            raise ValueError(f"StackedAttention: v must have shape (B, N, {self.dim}), got "
                             f"{tuple(getattr(v, 'shape', ())) or type(v).__name__}")
        if not isinstance(u, Tensor) or tuple(u.shape) != (v.shape[0], self.dim):
            raise ValueError(f"StackedAttention: u must have shape ({v.shape[0]}, {self.dim}), got "
                             f"{tuple(getattr(u, 'shape', ())) or type(u).__name__}")
        if mask is not None and (not isinstance(mask, Tensor) or mask.dtype != torch.bool
                                 or mask.shape != v.shape[:2] or not mask.any(1).all()):
            raise ValueError(f"StackedAttention: mask must be a bool tensor of shape {tuple(v.shape[:2])} with at "
                             f"least one True per row")


class SceneAttentionQA(nn.Module):
    r"""A stacked attention network over the nine cells of a scene, answering a question (Yang et al., 2016).

    Cell features :math:`v_i = \mathrm{MLP}(\mathrm{vec}(\text{tile}_i)) + e_i` (an MLP on the 300 pixels of the
    10×10 cell plus a learned embedding :math:`e_i` of its position, without which "left of" could not be
    answered), the question vector of :class:`QuestionEncoder`, :class:`StackedAttention` hops, and the answer
    :math:`\mathrm{softmax}(\mathrm{MLP}(u_K))` over :data:`mmcourse.data.ANSWERS`. Book section: Part 4.2.

    Parameters
    ----------
    dim : int
        Size of the cell features and of the query.
    hops : int
        Attention hops (2 in the paper).
    att_dim : int
        Size of the attention's hidden layer.

    Examples
    --------
    >>> model = SceneAttentionQA(dim=16)
    >>> logits, maps = model(torch.zeros(3, 30, 30, 3), torch.ones(3, 16, dtype=torch.long), return_attention=True)
    >>> tuple(logits.shape), tuple(maps.shape)
    ((3, 19), (3, 2, 9))
    """

    def __init__(self, dim: int = 64, hops: int = 2, att_dim: int = 32):
        super().__init__()
        check_positive("SceneAttentionQA", dim=dim, hops=hops, att_dim=att_dim)
        self.cells = nn.Sequential(nn.Flatten(-3), nn.Linear(CELL * CELL * 3, dim), nn.ReLU(), nn.Linear(dim, dim))
        self.position = nn.Parameter(0.1 * torch.randn(CELLS, dim))
        self.question = QuestionEncoder(dim)
        self.attention = StackedAttention(dim, hops, att_dim)
        self.answer = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, len(ANSWERS)))

    def forward(self, images: Tensor, questions: Tensor, return_attention: bool = False):
        """Answer logits ``(n, len(ANSWERS))``; with ``return_attention``, also the maps ``(n, hops, 9)``."""
        check_tensor("SceneAttentionQA", "images", images, shape=(None, IMAGE_SIZE, IMAGE_SIZE, 3), kind="any")
        q = self.question(questions)  # checks the word ids
        if len(images) != len(questions):
            raise ValueError(f"SceneAttentionQA: images and questions must have the same batch size, got "
                             f"{len(images)} and {len(questions)}")
        v = self.cells(cell_tiles(images)) + self.position
        u, maps = self.attention(v, q)
        logits = self.answer(u)
        return (logits, maps) if return_attention else logits


def named_cells(program, objects: Sequence[dict]) -> list[int]:
    """The cells of the objects a question names, read off the exact execution of its program.

    The named objects are the sets that the program *reads*: the anchor set of each ``relate`` step and the set
    that a final ``query_*``, ``exists`` or ``count`` step looks at. In "what colour is the circle left of the red
    square ?" they are the red square (the anchor) and the circle (the object queried).

    Examples
    --------
    >>> from mmcourse.reasoning import parse
    >>> scene = [{"colour": "red", "shape": "square", "cell": 4}, {"colour": "blue", "shape": "circle", "cell": 3}]
    >>> named_cells(parse("what colour is the circle left of the red square ?"), scene)
    [3, 4]
    """
    steps = as_program(program)
    trace = execute_trace(steps, objects)
    named = {objects[i]["cell"] for k, (op, _) in enumerate(steps) if op in _READS_A_SET for i in trace[k - 1]}
    return sorted(int(c) for c in named)


def attention_hit_rate(attention, named: Sequence[Sequence[int]], n_objects: Sequence[int] | None = None) -> dict:
    """How often the most attended cell is the cell of an object the question names, against chance.

    Parameters
    ----------
    attention : array-like, shape (n, 9) or (n, hops, 9)
        One map per question, or one per hop: with hops, a question counts as a hit if the top cell of *any* hop
        is named (pass ``maps[:, -1]`` for the last hop alone).
    named : sequence of n collections of cells
        The named cells of each question (:func:`named_cells`); questions that name none are skipped.
    n_objects : sequence of n ints, optional
        The objects per scene, for the second chance level.

    Returns
    -------
    dict
        ``hit_rate``; ``chance_cells``, the rate of a random cell (mean of |named| / 9 for one map per question,
        of 1 − (1 − |named| / 9)^hops with hops); ``chance_objects``, the same for a random object's cell
        (|named| / objects; only with ``n_objects``); ``questions``, how many were scored.

    Examples
    --------
    >>> attention_hit_rate([[0.1] * 8 + [0.2], [0.9] + [0.0] * 8], [[8], [4]])["hit_rate"]
    0.5
    """
    maps = np.asarray(attention.detach().cpu() if isinstance(attention, Tensor) else attention, dtype=float)
    if maps.ndim not in (2, 3) or maps.shape[-1] != CELLS:
        raise ValueError(f"attention_hit_rate: attention must have shape (n, {CELLS}) or (n, hops, {CELLS}), got "
                         f"{maps.shape}")
    named = [set(int(c) for c in cells) for cells in named]
    if len(named) != len(maps) or (n_objects is not None and len(n_objects) != len(maps)):
        raise ValueError(f"attention_hit_rate: named{' and n_objects' if n_objects is not None else ''} must have "
                         f"one entry per map ({len(maps)}), got {len(named)}"
                         + (f" and {len(n_objects)}" if n_objects is not None else ""))
    top = maps.reshape(len(maps), -1, CELLS).argmax(-1)  # (n, hops)
    scored = [i for i, cells in enumerate(named) if cells]
    if not scored:
        raise ValueError("attention_hit_rate: no question names a cell")
    hits = [any(int(c) in named[i] for c in top[i]) for i in scored]
    hops = top.shape[1]  # chance that any of `hops` independent random picks is named

    def chance(sizes):
        return float(np.mean([1 - (1 - len(named[i]) / size) ** hops for i, size in zip(scored, sizes)]))

    result = {"hit_rate": float(np.mean(hits)), "chance_cells": chance([CELLS] * len(scored))}
    if n_objects is not None:
        result["chance_objects"] = chance([int(n_objects[i]) for i in scored])
    result["questions"] = len(scored)
    return result
