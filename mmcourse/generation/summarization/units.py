r"""Content units and the coverage score of a summary (Part 5.1).

The content units of a storyboard are the twelve kinds of object (colour, shape), numbered
``colour * 3 + shape``. A frame's image shows a set of units, its caption names a subset, and a summary, a
selection of frames or a sentence, contains a set of units. The coverage score asks how much of the storyboard's
content a summary keeps, each unit weighted by its salience (in how many frames it appears):

.. math:: \mathrm{cov}(S) = \frac{\sum_u w_u\, s_u\, r_u}{\sum_u w_u\, r_u},

with :math:`s, r \in \{0, 1\}^{12}` the units of the summary and of the storyboard and :math:`w_u \ge 0` the weights
(all ones: the plain share of distinct units). It is the recall side of ROUGE (Lin, 2004) computed on content units
rather than n-grams, in the spirit of the Pyramid method's weighted units (Nenkova and Passonneau, 2004).
"""
from __future__ import annotations

import torch
from torch import Tensor

from mmcourse._checks import check_tensor
from mmcourse.data.scenes import COLOURS, SHAPES, VOCAB

__all__ = ["UNITS", "unit_names", "object_units", "text_units", "salience", "coverage"]

UNITS = len(COLOURS) * len(SHAPES)  # twelve kinds of object
_FIRST_COLOUR, _FIRST_SHAPE = VOCAB.index(COLOURS[0]), VOCAB.index(SHAPES[0])


def unit_names() -> list[str]:
    """The names of the twelve units, ``"red square"``, ``"red circle"``, …, in unit order.

    Example
    -------
    >>> names = unit_names()
    >>> len(names), names[:2]
    (12, ['red square', 'red circle'])
    """
    return [f"{c} {s}" for c in COLOURS for s in SHAPES]


def _as_long(values, name: str, where: str) -> Tensor:
    values = torch.as_tensor(values)
    if values.is_floating_point() or values.dtype == torch.bool:
        raise ValueError(f"{where}: {name} must hold integers, got dtype {values.dtype}")
    return values.long()


def object_units(colour, shape) -> Tensor:
    """The units that object tables hold: ``colour``, ``shape`` of shape ``(..., objects)`` padded with -1 give a
    multi-hot ``(..., 12)`` float tensor (1 where some object is of that kind).

    Example
    -------
    >>> object_units([0, 2, -1], [1, 0, -1]).nonzero().ravel().tolist()   # red circle, blue square
    [1, 6]
    """
    where = "object_units"
    colour, shape = _as_long(colour, "colour", where), _as_long(shape, "shape", where)
    if colour.shape != shape.shape or colour.dim() == 0:
        raise ValueError(f"{where}: colour and shape must have one shape (..., objects), got "
                         f"{tuple(colour.shape)} and {tuple(shape.shape)}")
    if ((colour < -1) | (colour >= len(COLOURS)) | (shape < -1) | (shape >= len(SHAPES))).any():
        raise ValueError(f"{where}: colour must be in -1..{len(COLOURS) - 1} and shape in -1..{len(SHAPES) - 1}")
    valid = (colour >= 0) & (shape >= 0)
    kind = torch.where(valid, colour * len(SHAPES) + shape, UNITS)  # padding goes to a spare column, dropped
    out = torch.zeros(*colour.shape[:-1], UNITS + 1)
    out.scatter_(-1, kind, 1.0)
    return out[..., :UNITS]


def text_units(tokens) -> Tensor:
    """The units a text names: each colour word followed by a shape word (``… a red circle …``) names one unit.

    ``tokens`` are word ids of :data:`mmcourse.data.VOCAB`, shape ``(..., words)``; returns ``(..., 12)`` multi-hot.

    Example
    -------
    >>> from mmcourse.data import encode_words
    >>> text_units(encode_words("a red circle and a blue square")).nonzero().ravel().tolist()
    [1, 6]
    """
    tokens = _as_long(tokens, "tokens", "text_units")
    if tokens.dim() == 0 or ((tokens < 0) | (tokens >= len(VOCAB))).any():
        raise ValueError(f"text_units: tokens must be word ids in 0..{len(VOCAB) - 1} of shape (..., words), got "
                         f"shape {tuple(tokens.shape)}")
    colour = tokens[..., :-1] - _FIRST_COLOUR
    shape = tokens[..., 1:] - _FIRST_SHAPE
    phrase = (colour >= 0) & (colour < len(COLOURS)) & (shape >= 0) & (shape < len(SHAPES))
    return object_units(torch.where(phrase, colour, -1), torch.where(phrase, shape, -1))


def salience(frame_units) -> Tensor:
    """In how many frames each unit appears: ``frame_units`` ``(..., frames, 12)`` 0/1 gives ``(..., 12)``.

    Example
    -------
    >>> frames = torch.zeros(3, 12); frames[:, 1] = 1; frames[0, 6] = 1   # a red circle in every frame
    >>> salience(frames)[[1, 6]].tolist()
    [3.0, 1.0]
    """
    frame_units = torch.as_tensor(frame_units, dtype=torch.float32)
    if frame_units.dim() < 2 or frame_units.shape[-1] != UNITS:
        raise ValueError(f"salience: frame_units must have shape (..., frames, {UNITS}), got "
                         f"{tuple(frame_units.shape)}")
    check_tensor("salience", "frame_units", frame_units, nonempty=False)
    return frame_units.sum(-2)


def _coverage_inputs(summary_units, storyboard_units, weights) -> tuple[Tensor, Tensor, Tensor]:
    where = "coverage"
    s = torch.as_tensor(summary_units, dtype=torch.float32)
    r = torch.as_tensor(storyboard_units, dtype=torch.float32)
    w = torch.ones_like(r) if weights is None else torch.as_tensor(weights, dtype=torch.float32)
    if s.dim() == 0 or not s.shape == r.shape == w.shape:
        raise ValueError(f"{where}: summary_units, storyboard_units and weights must have one shape (..., units), "
                         f"got {tuple(s.shape)}, {tuple(r.shape)} and {tuple(w.shape)}")
    for name, v in (("summary_units", s), ("storyboard_units", r)):
        if not ((v == 0) | (v == 1)).all():
            raise ValueError(f"{where}: {name} must hold only 0 and 1")
    if not torch.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"{where}: weights must be finite and >= 0")
    if ((w * r).sum(-1) <= 0).any():
        raise ValueError(f"{where}: the storyboard must hold some unit of positive weight (sum of w * r > 0)")
    return s, r, w


def coverage(summary_units, storyboard_units, weights=None) -> Tensor:
    r"""The coverage score :math:`\sum_u w_u s_u r_u / \sum_u w_u r_u` of a summary (Part 5.1).

    Parameters
    ----------
    summary_units, storyboard_units : tensor-like, shape (..., 12), values 0 or 1
        The units the summary contains (:math:`s`) and those of the storyboard (:math:`r`).
    weights : tensor-like, shape (..., 12), optional
        Non-negative weights :math:`w` (for instance the :func:`salience`); ``None`` counts every unit once.

    Returns
    -------
    Tensor, shape (...)
        In [0, 1]: the (weighted) share of the storyboard's content that the summary contains.

    Example
    -------
    >>> coverage([1., 0, 0, 1], [1., 1, 0, 1], weights=[3., 1, 0, 1]).item()   # (3 + 1) / (3 + 1 + 1)
    0.800000011920929
    """
    s, r, w = _coverage_inputs(summary_units, storyboard_units, weights)
    return (w * s * r).sum(-1) / (w * r).sum(-1)
