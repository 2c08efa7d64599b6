r"""Part 3.3 of the book, contextualised representations: models whose elements see the other modality.

Two unaligned sequences ``x1`` ``(batch, n, d1)`` and ``x2`` ``(batch, m, d2)`` (different lengths, different
clocks) are embedded as tokens and contextualised in one of three ways, all behind one interface,
``model(x1, x2) -> logits``, and one registry, :data:`CONTEXTUAL_MODELS` with :func:`make_contextual`:

- ``"none"``, :class:`NoContext`: the baseline; each element alone, each modality pooled alone, fused late.
- ``"joint"``, :class:`JointSelfAttention`: joint undirected alignment, self-attention over the concatenated
  tokens of both modalities (single stream).
- ``"cross"``, :class:`CrossModalAttention`: cross-modal directed alignment, queries from one modality, keys and
  values from the other, in both directions (MulT).
- ``"graph"``, :class:`GraphAlignment`: graphical alignment, message passing over a graph of the elements of
  both modalities, with temporal and cross-modal edges.

Building blocks: :func:`scaled_dot_product_attention` (returns the weights too), :func:`clock_times` and
:func:`time_encoding` (each element's place on its own clock), :func:`temporal_adjacency` (the GCN-normalised
chain of each modality) and :func:`attention_near_warp` (how much cross-modal attention falls near the true
warp).

Examples
--------
>>> import torch
>>> from mmcourse.alignment import make_contextual
>>> model = make_contextual("cross", (2, 2), width=8)
>>> model(torch.randn(3, 6, 2), torch.randn(3, 9, 2)).shape
torch.Size([3, 2])
"""
from __future__ import annotations

import inspect

import numpy as np
from torch import Tensor

from mmcourse.alignment.contextual_base import (ContextualModel, clock_times, scaled_dot_product_attention,
                                                time_encoding)
from mmcourse.alignment.contextual_graph import GraphAlignment, temporal_adjacency
from mmcourse.alignment.contextual_models import AttentionLayer, CrossModalAttention, JointSelfAttention, NoContext

__all__ = ["CONTEXTUAL_MODELS", "make_contextual", "contextual_keywords", "ContextualModel", "NoContext",
           "JointSelfAttention", "CrossModalAttention", "GraphAlignment", "AttentionLayer",
           "scaled_dot_product_attention", "clock_times", "time_encoding", "temporal_adjacency",
           "attention_near_warp"]

CONTEXTUAL_MODELS: dict[str, type[ContextualModel]] = {
    "none": NoContext,
    "joint": JointSelfAttention,
    "cross": CrossModalAttention,
    "graph": GraphAlignment,
}
"""The models of Part 3.3 by name, in the book's order (the baseline first)."""


def _lookup(name: str) -> type[ContextualModel]:
    if not isinstance(name, str) or name not in CONTEXTUAL_MODELS:
        raise ValueError(f"unknown contextual model {name!r}; known models: {', '.join(CONTEXTUAL_MODELS)}")
    return CONTEXTUAL_MODELS[name]


def contextual_keywords(name: str) -> dict[str, object]:
    """The keyword arguments that model ``name`` accepts, with their defaults (e.g. for a widget's controls).

    Examples
    --------
    >>> contextual_keywords("graph")
    {'width': 32, 'rounds': 2, 'window': None, 'positions': True}
    """
    params = inspect.signature(_lookup(name).__init__).parameters.values()
    return {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}


def make_contextual(name: str, input_dims: tuple[int, int], num_classes: int = 2, **kwargs) -> ContextualModel:
    """Build the model registered as ``name``: ``CONTEXTUAL_MODELS[name](input_dims, num_classes, **kwargs)``.

    Parameters
    ----------
    name : str
        A key of :data:`CONTEXTUAL_MODELS`.
    input_dims : (int, int)
        Feature sizes of the two modalities.
    num_classes : int
        Number of classes.
    **kwargs
        The model's own keywords (``width``, ``positions``; ``layers`` for ``"joint"``; ``rounds`` and
        ``window`` for ``"graph"``).

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones) or a bad value.
    TypeError
        For a keyword this model does not take (the message lists those it takes).

    Examples
    --------
    >>> type(make_contextual("joint", (2, 2), layers=1)).__name__
    'JointSelfAttention'
    """
    cls = _lookup(name)
    allowed = contextual_keywords(name)
    unknown = [k for k in kwargs if k not in allowed]
    if unknown:
        raise TypeError(f"make_contextual: model {name!r} ({cls.__name__}) does not take "
                        f"{', '.join(map(repr, unknown))}; the keywords it takes: "
                        f"{', '.join(f'{k}={v!r}' for k, v in allowed.items())}")
    return cls(input_dims, num_classes, **kwargs)


def attention_near_warp(weights, warp, radius: int = 2) -> tuple[float, float]:
    r"""How much of a cross-modal attention map lies within ``radius`` steps of the true warp, and by chance.

    For an ``(n, m)`` map ``A`` (row ``i``: how element ``i`` of modality 1 spreads its attention over the ``m``
    elements of modality 2) and the warp, a list of cells ``(i, j)``, the *near* cells of row ``i`` are the
    columns within ``radius`` of a warp cell of that row. Returns

    .. math::

        \text{mass} = \frac1n \sum_i \sum_{j \text{ near } i} A_{ij}, \qquad
        \text{chance} = \frac1n \sum_i \frac{|\{j \text{ near } i\}|}{m},

    the mean mass near the warp and what a uniform attention would put there.

    Examples
    --------
    >>> attention_near_warp(np.eye(3), [(0, 0), (1, 1), (2, 2)], radius=0)   # all mass on the warp; chance 1/3
    (1.0, 0.3333333333333333)
    """
    where = "attention_near_warp"
    a = weights.detach().cpu().double().numpy() if isinstance(weights, Tensor) else np.asarray(weights, float)
    if a.ndim != 2 or not np.isfinite(a).all():
        raise ValueError(f"{where}: weights must be a finite (n, m) matrix, got shape {a.shape}")
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or radius < 0:
        raise ValueError(f"{where}: radius must be an integer >= 0, got {radius!r}")
    cells = np.asarray(warp.tolist() if isinstance(warp, Tensor) else warp, dtype=np.int64)
    n, m = a.shape
    if cells.ndim != 2 or cells.shape[1] != 2 or (cells < 0).any() or (cells[:, 0] >= n).any() \
            or (cells[:, 1] >= m).any() or set(cells[:, 0].tolist()) != set(range(n)):
        raise ValueError(f"{where}: warp must be a list of cells (i, j) inside the {n}×{m} map that visits "
                         f"every row, got an array of shape {cells.shape}")
    near = np.zeros((n, m), dtype=bool)
    for i, j in cells:
        near[i, max(0, j - radius):j + radius + 1] = True
    return float((a * near).sum(1).mean()), float(near.sum(1).mean() / m)
