r"""Part 5.2: what a scene caption says, and the measures that judge a translation by it.

A scene caption lists its objects as phrases ``colour shape`` joined by ``and``: ``a red circle and a blue square``.
Its meaning is the **set of objects** :math:`O(c) = \{(\text{colour}, \text{shape})\}` it names. A generated caption
:math:`\hat c` is judged against the reference :math:`c` by the exact match :math:`[O(\hat c) = O(c)]` and by the
phrase precision and recall, micro-averaged over a set of captions,

.. math::

    P = \frac{\sum_i |O(\hat c_i) \cap O(c_i)|}{\sum_i |O(\hat c_i)|}, \qquad
    R = \frac{\sum_i |O(\hat c_i) \cap O(c_i)|}{\sum_i |O(c_i)|}, \qquad F_1 = \frac{2PR}{P + R}.

A generated *image* has no words to parse: a classifier trained on real images (the per-cell perception of Part 4.3)
reads its objects, and the image is **coherent** with its source caption when it reads exactly the caption's set,
the scene world's version of cross-modal coherence (Part 5.4).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from mmcourse._checks import check_tensor
from mmcourse.data.scenes import COLOURS, GRID, IMAGE_SIZE, SHAPES, VOCAB

__all__ = ["N_KINDS", "caption_objects", "caption_kinds", "phrase_scores", "image_objects",
           "scene_coherence"]

N_KINDS = len(COLOURS) * len(SHAPES)  # an object's kind is colour * 3 + shape
_FIRST_COLOUR, _FIRST_SHAPE = VOCAB.index(COLOURS[0]), VOCAB.index(SHAPES[0])


def _token_rows(captions, where: str) -> np.ndarray:
    ids = np.asarray(captions.cpu() if isinstance(captions, Tensor) else captions)
    if ids.ndim == 1:
        ids = ids[None]
    if ids.ndim != 2 or ids.dtype.kind not in "iu" or ((ids < 0) | (ids >= len(VOCAB))).any():
        raise ValueError(f"{where}: captions must be word ids (N, length) in 0..{len(VOCAB) - 1}, got shape "
                         f"{ids.shape} of {ids.dtype}")
    return ids


def caption_objects(captions) -> list[frozenset[tuple[int, int]]]:
    """The set of objects ``(colour, shape)`` each caption names: every colour word followed by a shape word.

    Parameters
    ----------
    captions : array-like of int, shape (N, length) or (length,)
        Word ids over :data:`mmcourse.data.VOCAB`, padded with 0.

    Returns
    -------
    list of frozenset
        One set per caption; words that form no ``colour shape`` phrase are ignored (a broken caption names fewer
        objects).

    Example
    -------
    >>> from mmcourse.data import encode_words
    >>> sorted(caption_objects(encode_words("a red circle and a blue square"))[0])
    [(0, 1), (2, 0)]
    """
    ids = _token_rows(captions, "caption_objects")
    colour = ids - _FIRST_COLOUR
    shape = ids - _FIRST_SHAPE
    is_colour = (colour >= 0) & (colour < len(COLOURS))
    is_shape = (shape >= 0) & (shape < len(SHAPES))
    pairs = is_colour[:, :-1] & is_shape[:, 1:]  # a colour word right before a shape word
    return [frozenset((int(colour[i, t]), int(shape[i, t + 1])) for t in np.flatnonzero(pairs[i]))
            for i in range(len(ids))]


def caption_kinds(captions) -> Tensor:
    """The multi-hot vector ``k(c)`` of the kinds a caption names, shape ``(N, 12)``, kind = colour * 3 + shape.

    Example
    -------
    >>> from mmcourse.data import encode_words
    >>> caption_kinds(encode_words("a red circle")).nonzero().tolist()   # red = 0, circle = 1: kind 1
    [[0, 1]]
    """
    sets = caption_objects(captions)
    out = torch.zeros(len(sets), N_KINDS)
    for i, objects in enumerate(sets):
        for c, s in objects:
            out[i, c * len(SHAPES) + s] = 1.0
    return out


def phrase_scores(predicted, reference) -> dict[str, float]:
    r"""Exact match of the object sets and micro-averaged phrase precision, recall and :math:`F_1` (module doc).

    Parameters
    ----------
    predicted, reference : array-like of int, shape (N, length), or lists of object sets
        Generated and reference captions (word ids), or the sets :func:`caption_objects` returns.

    Returns
    -------
    dict
        ``exact``, ``precision``, ``recall``, ``f1``, each in [0, 1].

    Example
    -------
    >>> from mmcourse.data import encode_words
    >>> ref = encode_words("a red circle and a blue square")
    >>> phrase_scores(encode_words("a red circle and a red square", 7), ref)
    {'exact': 0.0, 'precision': 0.5, 'recall': 0.5, 'f1': 0.5}
    """
    pred = predicted if _are_sets(predicted) else caption_objects(predicted)
    ref = reference if _are_sets(reference) else caption_objects(reference)
    if len(pred) != len(ref) or not ref:
        raise ValueError(f"phrase_scores: predicted and reference must hold the same number (≥ 1) of captions, got "
                         f"{len(pred)} and {len(ref)}")
    hits = sum(len(p & r) for p, r in zip(pred, ref))
    n_pred, n_ref = sum(len(p) for p in pred), sum(len(r) for r in ref)
    precision = hits / n_pred if n_pred else 0.0
    recall = hits / n_ref if n_ref else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"exact": sum(p == r for p, r in zip(pred, ref)) / len(ref), "precision": precision, "recall": recall,
            "f1": f1}


def _are_sets(value) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, (set, frozenset)) for v in value)


def image_objects(images: Tensor, perception: Callable[[Tensor], Tensor]) -> list[frozenset[tuple[int, int]]]:
    """The objects a per-cell classifier reads in each image: the set of ``(colour, shape)`` of the cells whose
    most likely kind is not "empty".

    Parameters
    ----------
    images : Tensor, shape (N, 30, 30, 3)
    perception : callable
        Maps images to per-cell scores ``(N, 9, 13)`` over the 12 kinds and "empty" (last), such as a trained
        :class:`mmcourse.reasoning.CellPerception`.

    Example
    -------
    >>> oracle = lambda x: torch.nn.functional.one_hot(torch.tensor([[1] + [12] * 8]), 13).float()
    >>> image_objects(torch.zeros(1, 30, 30, 3), oracle)      # kind 1: colour 0 (red), shape 1 (circle)
    [frozenset({(0, 1)})]
    """
    if not isinstance(images, Tensor) or images.dim() != 4 or tuple(images.shape[1:]) != (IMAGE_SIZE, IMAGE_SIZE, 3):
        raise ValueError(f"image_objects: images must be a tensor (N, {IMAGE_SIZE}, {IMAGE_SIZE}, 3), got "
                         f"{getattr(images, 'shape', type(images).__name__)}")
    check_tensor("image_objects", "images", images, kind="any")
    with torch.no_grad():
        scores = perception(images.float())
    if not isinstance(scores, Tensor) or tuple(scores.shape) != (len(images), GRID * GRID, N_KINDS + 1):
        raise ValueError(f"image_objects: perception must return scores ({len(images)}, {GRID * GRID}, "
                         f"{N_KINDS + 1}), got {getattr(scores, 'shape', type(scores).__name__)}")
    kinds = scores.argmax(-1).tolist()
    return [frozenset(divmod(k, len(SHAPES)) for k in row if k < N_KINDS) for row in kinds]


def scene_coherence(images: Tensor, captions, perception: Callable[[Tensor], Tensor]) -> float:
    r"""Coherence of generated images with their source captions: the share of images in which ``perception``
    reads exactly the caption's set of objects, :math:`\frac1N \sum_i [\hat O(x_i) = O(c_i)]`.

    Example
    -------
    >>> from mmcourse.data import encode_words, render_scene
    >>> oracle = lambda x: torch.nn.functional.one_hot(torch.tensor([[1] + [12] * 8]), 13).float()
    >>> image = torch.as_tensor(render_scene([0], [1], [0]))[None]        # a red circle, top left
    >>> scene_coherence(image, encode_words("a red circle"), oracle)
    1.0
    """
    check_tensor("scene_coherence", "images", images, kind="any")
    read = image_objects(images, perception)
    named = caption_objects(captions)
    if len(read) != len(named):
        raise ValueError(f"scene_coherence: {len(read)} images but {len(named)} captions")
    return sum(r == c for r, c in zip(read, named)) / len(named)
