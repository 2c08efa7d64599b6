r"""Part 5.4: does an alignment score prefer the true caption to a foil that differs by one word?

A *foil* is a caption changed in one detail so that it no longer describes the image (FOIL it!, Shekhar et al.
2017; the attribute tests of VL-CheckList). Here a foil replaces one colour word or one shape word of a scene
caption, or swaps the colours of two objects (a *binding* foil: same words, wrong pairing). An alignment score
passes a test image if its true caption scores strictly higher than every one of its foils:

.. math::  \mathrm{foil\ accuracy} = \frac1N \sum_{i=1}^N \mathbb 1\big[s(I_i, c_i) > \max_j s(I_i, \tilde c_{ij})\big].
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from mmcourse.data.scenes import COLOURS, SHAPES, VOCAB

__all__ = ["FOIL_KINDS", "caption_bag", "caption_one_hot", "swap_attribute", "foil_accuracy"]

FOIL_KINDS = ("colour", "shape", "binding")
_COLOUR_IDS = [VOCAB.index(c) for c in COLOURS]
_SHAPE_IDS = [VOCAB.index(s) for s in SHAPES]


def _as_tokens(tokens, where: str) -> Tensor:
    tokens = torch.as_tensor(np.asarray(tokens) if not isinstance(tokens, Tensor) else tokens)
    if tokens.is_floating_point() or tokens.dim() not in (1, 2):
        raise ValueError(f"{where}: tokens must be integer word ids of shape (L,) or (N, L), got "
                         f"{tuple(tokens.shape)} of {tokens.dtype}")
    if tokens.numel() and (tokens.min() < 0 or tokens.max() >= len(VOCAB)):
        raise ValueError(f"{where}: token ids must lie in [0, {len(VOCAB)}), got [{int(tokens.min())}, "
                         f"{int(tokens.max())}]")
    return tokens.long()


def caption_bag(tokens) -> Tensor:
    """A caption as a bag of words: the count of each word of :data:`~mmcourse.data.VOCAB`, padding dropped.

    The text tower of Part 2.4's :class:`~mmcourse.representation.ContrastiveModel` reads flat float vectors; this
    is the simplest such view of a caption. It keeps which words occur and how often, and forgets their order, so
    "a red square and a blue circle" and "a blue square and a red circle" get the same bag. Part 5.4.

    Parameters
    ----------
    tokens : (N, L) or (L,) integer word ids (0 is padding).

    Returns
    -------
    Tensor
        float32 counts, ``(N, len(VOCAB))`` (or ``(len(VOCAB),)``), with column 0 (padding) always 0.

    Example
    -------
    >>> from mmcourse.data import encode_words
    >>> bag = caption_bag(encode_words("a red square and a red circle", 8))
    >>> int(bag[VOCAB.index("red")]), int(bag[VOCAB.index("a")]), int(bag.sum())
    (2, 2, 7)
    """
    tokens = _as_tokens(tokens, "caption_bag")
    bag = torch.nn.functional.one_hot(tokens, len(VOCAB)).sum(-2).float()
    bag[..., 0] = 0  # padding is not a word
    return bag


def caption_one_hot(tokens) -> Tensor:
    """A caption as its words in order: each position one-hot over :data:`~mmcourse.data.VOCAB`, flattened.

    Unlike :func:`caption_bag`, this view keeps which colour word stands before which shape word, so a text tower
    that reads it can tell "a red square and a blue circle" from "a blue square and a red circle". Part 5.4.

    Parameters
    ----------
    tokens : (N, L) or (L,) integer word ids.

    Returns
    -------
    Tensor
        float32, ``(N, L * len(VOCAB))`` (or ``(L * len(VOCAB),)``).

    Example
    -------
    >>> caption_one_hot(torch.tensor([[1, 3, 7]])).shape, len(VOCAB)
    (torch.Size([1, 72]), 24)
    """
    tokens = _as_tokens(tokens, "caption_one_hot")
    return torch.nn.functional.one_hot(tokens, len(VOCAB)).float().flatten(-2)


def swap_attribute(tokens, attribute: str = "colour", *, generator: torch.Generator | None = None) -> Tensor:
    """A foil of one scene caption: one phrase's colour or shape replaced, or two phrases' colours swapped.

    ``"colour"`` (``"shape"``) picks one phrase ``a <colour> <shape>`` at random and replaces its colour (shape) by
    another one, chosen so that the new kind of object is not already named in the caption (when possible).
    ``"binding"`` swaps the colours of two phrases that differ in both colour and shape: the bag of words is
    unchanged and only the pairing of words is wrong. Part 5.4; FOIL it! (Shekhar et al., 2017).

    Parameters
    ----------
    tokens : (L,) integer word ids of one caption of :func:`~mmcourse.data.load_scenes`.
    attribute : "colour", "shape" or "binding".
    generator : torch.Generator, optional
        Source of the random choices (torch's global one if None).

    Returns
    -------
    Tensor
        The foil's word ids, ``(L,)``, a copy.

    Raises
    ------
    ValueError
        For an unknown attribute, a caption without phrases, or a binding foil of a caption with no two phrases
        that differ in both colour and shape.

    Example
    -------
    >>> from mmcourse.data import decode_words, encode_words
    >>> decode_words(swap_attribute(encode_words("a red square and a blue circle"), "binding"))
    'a blue square and a red circle'
    """
    where = "swap_attribute"
    if attribute not in FOIL_KINDS:
        raise ValueError(f"{where}: attribute must be one of {FOIL_KINDS}, got {attribute!r}")
    tokens = _as_tokens(tokens, where)
    if tokens.dim() != 1:
        raise ValueError(f"{where}: tokens must be one caption (L,), got shape {tuple(tokens.shape)}")
    colour_pos = [i for i, t in enumerate(tokens.tolist()) if t in _COLOUR_IDS]
    if not colour_pos or any(i + 1 >= len(tokens) or int(tokens[i + 1]) not in _SHAPE_IDS for i in colour_pos):
        raise ValueError(f"{where}: tokens must be a scene caption of phrases 'a <colour> <shape>', got "
                         f"{tokens.tolist()}")
    kinds = [(int(tokens[i]), int(tokens[i + 1])) for i in colour_pos]
    foil = tokens.clone()

    def pick(n: int) -> int:
        return int(torch.randint(n, (1,), generator=generator))

    if attribute == "binding":
        pairs = [(a, b) for a in range(len(kinds)) for b in range(a + 1, len(kinds))
                 if kinds[a][0] != kinds[b][0] and kinds[a][1] != kinds[b][1]]
        if not pairs:
            raise ValueError(f"{where}: no two phrases differ in both colour and shape, so no binding foil exists "
                             f"for {tokens.tolist()}")
        a, b = pairs[pick(len(pairs))]
        foil[colour_pos[a]], foil[colour_pos[b]] = tokens[colour_pos[b]], tokens[colour_pos[a]]
        return foil
    t = pick(len(kinds))
    slot, ids = (0, _COLOUR_IDS) if attribute == "colour" else (1, _SHAPE_IDS)
    others = [w for w in ids if w != kinds[t][slot]]
    fresh = [w for w in others if (w, kinds[t][1]) not in kinds and (kinds[t][0], w) not in kinds]
    choices = fresh or others  # prefer a kind the scene lacks, so the foil names something absent
    foil[colour_pos[t] + slot] = choices[pick(len(choices))]
    return foil


def foil_accuracy(score_true, score_foils) -> float:
    """The share of images whose true caption scores strictly above every one of its foils.

    Ties count as failures: a score that cannot tell the caption from its foil has not passed the test (a
    bag-of-words encoder ties on every binding foil).

    Parameters
    ----------
    score_true : (N,) scores of the true pairs.
    score_foils : (N,) or (N, F) scores of each image with its F foils.

    Returns
    -------
    float
        In [0, 1]; with random scores and F foils about ``1 / (F + 1)``.

    Example
    -------
    >>> foil_accuracy(torch.tensor([0.9, 0.5, 0.4]), torch.tensor([[0.1, 0.2], [0.6, 0.1], [0.4, 0.0]]))
    0.3333333333333333
    """
    true, foils = _check_scores(score_true, score_foils)
    beats_all = true > foils.max(dim=1).values  # strictly: a tie has not told the caption from its foil
    return beats_all.double().mean().item()


def _check_scores(score_true, score_foils) -> tuple[Tensor, Tensor]:
    where = "foil_accuracy"
    true = torch.as_tensor(np.asarray(score_true) if not isinstance(score_true, Tensor) else score_true).double()
    foils = torch.as_tensor(np.asarray(score_foils) if not isinstance(score_foils, Tensor) else score_foils).double()
    if true.dim() != 1 or len(true) == 0:
        raise ValueError(f"{where}: score_true must be a non-empty vector (N,), got shape {tuple(true.shape)}")
    if foils.dim() == 1:
        foils = foils[:, None]
    if foils.dim() != 2 or len(foils) != len(true) or foils.shape[1] == 0:
        raise ValueError(f"{where}: score_foils must be (N,) or (N, F) with N = {len(true)}, got shape "
                         f"{tuple(foils.shape)}")
    if not (torch.isfinite(true).all() and torch.isfinite(foils).all()):
        raise ValueError(f"{where}: scores must be finite (no NaN or infinite values)")
    return true, foils
