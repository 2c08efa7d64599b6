r"""A key-value memory over the scene world's knowledge base (Part 4.4, external knowledge).

A **key-value memory** (Miller et al., 2016, *Key-Value Memory Networks for Directly Reading Documents*) stores
pairs: a key says *when* an entry is relevant, a value says *what* it contributes. A query :math:`q` scores every key
by a dot product, the top :math:`k` keys share a softmax, and the memory returns the weighted sum of their values:

.. math::

    s_j = q \cdot k_j, \qquad
    a_j = \frac{\exp s_j}{\sum_{l \in \mathrm{top}_k(s)} \exp s_l} \ (j \in \mathrm{top}_k(s)), \quad a_j = 0
    \text{ otherwise}, \qquad
    r = \sum_{j \in \mathrm{top}_k(s)} a_j v_j .

Knowledge-based VQA retrieves the same way at a larger scale: KAT (Gui et al., 2022) and REVEAL (Hu et al., 2023)
score a store of encyclopedia entries by the inner product of a query embedding with key embeddings and keep the
top-k (REVEAL learns the keys, KAT uses a frozen CLIP space), as retrieval-augmented generation (Lewis et al., 2020)
does for text.

Here the store is :data:`mmcourse.data.KNOWLEDGE`, seven facts "red things are hot", "triangles are sharp". Its keys
are the **subject** words (:data:`SUBJECTS`: the four colours, then the three shapes) embedded as the rows of the
7 × 7 identity, the coordinates of the perceived-attribute space of :class:`ScenePerception`; its values are the
one-hot rows of the **property** words (:data:`mmcourse.data.PROPERTIES`). Values are symbols, so an edit of the
knowledge ("blue things are hot") is a row swap: :meth:`KeyValueMemory.load_knowledge`. Book section: Part 4.4.
"""
from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from mmcourse.data.scene_questions import KNOWLEDGE, PROPERTIES
from mmcourse.data.scenes import COLOURS, SHAPES

__all__ = ["SUBJECTS", "retrieve", "KeyValueMemory", "knowledge_values", "edit_knowledge"]

SUBJECTS = (*COLOURS, *SHAPES)
# which properties a subject can have: colours carry a temperature, shapes a sharpness
_KIND = {**{c: ("hot", "cold") for c in COLOURS}, **{s: ("sharp", "smooth") for s in SHAPES}}


def retrieve(query: Tensor, keys: Tensor, values: Tensor, k: int = 1) -> tuple[Tensor, Tensor]:
    r"""Top-k dot-product retrieval: :math:`r = \sum_{j \in \mathrm{top}_k(s)} \mathrm{softmax}(s)_j v_j`,
    :math:`s_j = q \cdot k_j` (Miller et al., 2016; Part 4.4).

    Parameters
    ----------
    query : torch.Tensor, shape (..., d)
    keys : torch.Tensor, shape (m, d)
    values : torch.Tensor, shape (m, v)
    k : int
        How many keys share the softmax, 1 ≤ k ≤ m; ``k=1`` is hard top-1 retrieval.

    Returns
    -------
    retrieved : torch.Tensor, shape (..., v)
    weights : torch.Tensor, shape (..., m)
        The softmax weight of each key, zero outside the top k.

    Examples
    --------
    >>> r, a = retrieve(torch.tensor([2.0, 0.0]), torch.eye(2), torch.tensor([[1.0, 0.0], [0.0, 1.0]]), k=2)
    >>> [round(x, 3) for x in r.tolist()]
    [0.881, 0.119]
    """
    _check_memory("retrieve", query, keys, values, k)
    scores = query @ keys.T
    top, index = scores.topk(k, dim=-1)
    # the softmax runs over the k best keys only: the others get no weight, and no gradient
    weights = torch.zeros_like(scores).scatter(-1, index, top.softmax(dim=-1))
    return weights @ values, weights


def _check_memory(where: str, query, keys, values, k) -> None:
    for name, t in (("query", query), ("keys", keys), ("values", values)):
        if not isinstance(t, Tensor) or not t.is_floating_point():
            raise TypeError(f"{where}: {name} must be a float tensor, got {type(t).__name__}")
        if not torch.isfinite(t).all():
            raise ValueError(f"{where}: {name} contains NaN or infinite values")
    if keys.dim() != 2 or values.dim() != 2 or keys.shape[0] != values.shape[0]:
        raise ValueError(f"{where}: keys (m, d) and values (m, v) must have one row per entry, got keys "
                         f"{tuple(keys.shape)} and values {tuple(values.shape)}")
    if query.dim() < 1 or query.shape[-1] != keys.shape[1]:
        raise ValueError(f"{where}: query must end in the key dimension {keys.shape[1]}, got shape "
                         f"{tuple(query.shape)}")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= keys.shape[0]:
        raise ValueError(f"{where}: k must be an integer in 1..{keys.shape[0]} (the number of keys), got {k!r}")


def knowledge_values(knowledge: Mapping[str, str] | None = None) -> Tensor:
    """The value matrix of a knowledge base: row j is the one-hot vector (over :data:`mmcourse.data.PROPERTIES`)
    of the property of subject ``SUBJECTS[j]``, shape (7, 4).

    Examples
    --------
    >>> knowledge_values()[SUBJECTS.index("red")].tolist()      # red things are hot
    [1.0, 0.0, 0.0, 0.0]
    """
    kb = _check_knowledge("knowledge_values", KNOWLEDGE if knowledge is None else knowledge)
    values = torch.zeros(len(SUBJECTS), len(PROPERTIES))
    for j, subject in enumerate(SUBJECTS):
        values[j, PROPERTIES.index(kb[subject])] = 1.0
    return values


def _check_knowledge(where: str, knowledge) -> Mapping[str, str]:
    if not isinstance(knowledge, Mapping):
        raise TypeError(f"{where}: knowledge must be a dict {{subject: property}}, got {type(knowledge).__name__}")
    missing = [s for s in SUBJECTS if s not in knowledge]
    if missing or set(knowledge) - set(SUBJECTS):
        raise ValueError(f"{where}: knowledge must have exactly the subjects {SUBJECTS}, missing {missing}, "
                         f"unknown {sorted(set(knowledge) - set(SUBJECTS))}")
    bad = {s: p for s, p in knowledge.items() if p not in _KIND[s]}
    if bad:
        raise ValueError(f"{where}: a colour is hot or cold and a shape sharp or smooth, got {bad}")
    return knowledge


def edit_knowledge(knowledge: Mapping[str, str] | None, subject: str, value: str) -> dict[str, str]:
    """A copy of ``knowledge`` (default :data:`mmcourse.data.KNOWLEDGE`) with one fact changed:
    ``edit_knowledge(None, "blue", "hot")`` says "blue things are hot".

    The edit must keep the schema of the store: a colour is hot or cold, a shape sharp or smooth.

    Examples
    --------
    >>> edit_knowledge(None, "blue", "hot")["blue"]
    'hot'
    """
    kb = dict(_check_knowledge("edit_knowledge", KNOWLEDGE if knowledge is None else knowledge))
    if subject not in SUBJECTS:
        raise ValueError(f"edit_knowledge: subject must be one of {SUBJECTS}, got {subject!r}")
    if value not in _KIND[subject]:
        raise ValueError(f"edit_knowledge: {subject!r} can be {' or '.join(_KIND[subject])}, got value={value!r}")
    kb[subject] = value
    return kb


class KeyValueMemory(nn.Module):
    r"""The knowledge base as a key-value memory: keys are the subject embeddings (rows of the identity over
    :data:`SUBJECTS`), values the one-hot property words; ``forward`` is :func:`retrieve` (Part 4.4).

    Parameters
    ----------
    knowledge : dict, optional
        ``{subject: property}`` for the seven subjects; default :data:`mmcourse.data.KNOWLEDGE`.
    k : int
        Keys that share the softmax (1 ≤ k ≤ 7).

    Examples
    --------
    >>> memory = KeyValueMemory(k=1)
    >>> query = 5.0 * torch.eye(7)[SUBJECTS.index("blue")]
    >>> PROPERTIES[int(memory(query)[0].argmax())]
    'cold'
    >>> memory.load_knowledge(edit_knowledge(None, "blue", "hot"))
    >>> PROPERTIES[int(memory(query)[0].argmax())]
    'hot'
    """

    def __init__(self, knowledge: Mapping[str, str] | None = None, k: int = 1):
        super().__init__()
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(SUBJECTS):
            raise ValueError(f"KeyValueMemory: k must be an integer in 1..{len(SUBJECTS)}, got {k!r}")
        self.k = k
        self.register_buffer("keys", torch.eye(len(SUBJECTS)))
        self.register_buffer("values", knowledge_values(knowledge))

    def load_knowledge(self, knowledge: Mapping[str, str] | None) -> None:
        """Replace the values by those of ``knowledge``: an edited fact is a changed row, nothing is retrained."""
        self.values.copy_(knowledge_values(knowledge))

    def scores(self, query: Tensor) -> Tensor:
        """The key scores :math:`s_j = q \\cdot k_j`, shape (..., 7)."""
        _check_memory("KeyValueMemory", query, self.keys, self.values, self.k)
        return query @ self.keys.T

    def forward(self, query: Tensor) -> tuple[Tensor, Tensor]:
        """``(retrieved (..., 4), weights (..., 7))`` for queries ``(..., 7)``."""
        _check_memory("KeyValueMemory", query, self.keys, self.values, self.k)  # named here, not as retrieve
        return retrieve(query, self.keys, self.values, self.k)
