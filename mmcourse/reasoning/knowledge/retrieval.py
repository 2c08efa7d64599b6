r"""Part 4.4, external knowledge: answering questions that need a fact the image does not show.

"Is the blue square sharp?" needs perception (which object is the blue square) and one fact ("squares are sharp").
Both reasoners here share the perception (:class:`ScenePerception`) and execute the fact program softly over the
nine cells: an attention :math:`a_i` starts at the presence :math:`\pi_i`, each colour or shape filter multiplies it
by the perceived probability of that attribute, and ``filter_fact[p]`` multiplies it by the probability that object
:math:`i` has property :math:`p`, :math:`\phi_i(p)`; then ``exists`` is :math:`1 - \prod_i (1 - a_i)` and ``count``
the exact distribution of :math:`\sum_i \mathrm{Bernoulli}(a_i)` (a Poisson-binomial). They differ in
:math:`\phi_i(p)` only:

- :class:`ClosedBookReasoner`: :math:`\phi_i(p) = \sigma(\mathrm{MLP}([h_i; e_p]))`, the facts stored in the
  weights, learned from the answers;
- :class:`RetrievalReasoner`: the query :math:`q_i = \beta\, \sigma(g_p) \odot h_i` (the perceived attributes of
  object :math:`i`, gated by the property word asked: "hot" should look at colours) retrieves from the
  :class:`KeyValueMemory` of facts, :math:`s_{ij} = q_i \cdot k_j`,
  :math:`r_i = \sum_{j \in \mathrm{top}_k} \mathrm{softmax}(s_i)_j v_j`, and reads the asked property off the
  retrieved value: :math:`\phi_i(p) = r_{i,p}`. Only the gates :math:`g` and the scale :math:`\beta` are learned;
  the facts stay in the memory, where they can be read and edited.

This is the split between closed-book and retrieval-augmented models of knowledge-based VQA: KAT (Gui et al., 2022)
and REVEAL (Hu et al., 2023) retrieve entries of a knowledge store by inner product and fuse them with the image's
features, in the key-value memory of Miller et al. (2016). Book section: Part 4.4.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from mmcourse._checks import check_tensor
from mmcourse.data.scene_questions import PROPERTIES
from mmcourse.data.scenes import ANSWERS, COLOURS, SHAPES
from mmcourse.reasoning.knowledge.evaluation import dependent_questions, fact_lookups, retrieval_recall
from mmcourse.reasoning.knowledge.memory import SUBJECTS, KeyValueMemory, edit_knowledge, knowledge_values, retrieve
from mmcourse.reasoning.knowledge.perception import ScenePerception, fact_codes, fact_inputs, perception_data

__all__ = ["SUBJECTS", "retrieve", "KeyValueMemory", "knowledge_values", "edit_knowledge", "ScenePerception",
           "perception_data", "fact_codes", "fact_inputs", "poisson_binomial", "FactReasoner", "RetrievalReasoner",
           "ClosedBookReasoner", "retrieval_recall", "fact_lookups", "dependent_questions"]

_YES, _NO = ANSWERS.index("yes"), ANSWERS.index("no")


def poisson_binomial(a: Tensor) -> Tensor:
    r"""The distribution of :math:`\sum_i \mathrm{Bernoulli}(a_i)`: shape (n, m) → (n, m + 1), by adding one
    object at a time, :math:`P_i(c) = P_{i-1}(c)(1 - a_i) + P_{i-1}(c - 1)\, a_i`.

    Examples
    --------
    >>> poisson_binomial(torch.tensor([[0.5, 1.0]])).tolist()
    [[0.0, 0.5, 0.5]]
    """
    if not isinstance(a, Tensor) or a.dim() != 2:
        raise ValueError(f"poisson_binomial: a must be a tensor (n, m), got {tuple(getattr(a, 'shape', ()))}")
    check_tensor("poisson_binomial", "a", a)
    dist = torch.zeros(a.shape[0], a.shape[1] + 1, dtype=a.dtype, device=a.device)
    dist[:, 0] = 1
    for i in range(a.shape[1]):
        p = a[:, i:i + 1]
        dist = dist * (1 - p) + torch.cat([torch.zeros_like(p), dist[:, :-1]], dim=1) * p
    return dist


class FactReasoner(nn.Module):
    r"""Executes a fact program softly on perceived cells; subclasses give :meth:`has_property` (Part 4.4).

    .. math::

        a_i = \pi_i\, h_{i,c}\, h_{i,s}\, \phi_i(p), \qquad P(\text{yes}) = 1 - \prod_i (1 - a_i), \qquad
        P(\text{count} = n) = P\big(\textstyle\sum_i \mathrm{Bernoulli}(a_i) = n\big),

    with :math:`h_{i,c}` (:math:`h_{i,s}`) left out when the program has no colour (shape) filter.
    ``forward(presence (n, 9), attributes (n, 9, 7), codes (n, 4))`` returns log-probabilities over
    :data:`mmcourse.data.ANSWERS` (n, 19), so that :func:`mmcourse.training.fit` trains it with cross-entropy.

    Examples
    --------
    >>> reasoner = FactReasoner()   # with a knowledge base in which every object has every property:
    >>> reasoner.has_property = lambda attributes, prop: torch.ones(attributes.shape[:2])
    >>> codes = torch.tensor([fact_codes(["scene", "filter_fact[hot]", "count"])])
    >>> log_p = reasoner(torch.tensor([[1.0, 1.0, 0, 0, 0, 0, 0, 0, 0]]), torch.rand(1, 9, 7), codes)
    >>> ANSWERS[int(log_p.argmax())]   # two objects, both hot
    '2'
    """

    def has_property(self, attributes: Tensor, prop: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, presence: Tensor, attributes: Tensor, codes: Tensor) -> Tensor:
        _check_inputs(type(self).__name__, presence, attributes, codes)
        colour, shape, prop, last = codes.unbind(-1)
        a = presence                                                   # scene: every perceived object
        a = a * _attribute(attributes, colour, offset=0)               # filter_colour[c]
        a = a * _attribute(attributes, shape, offset=len(COLOURS))     # filter_shape[s]
        a = a * self.has_property(attributes, prop)                    # filter_fact[p]: the knowledge
        p_count = poisson_binomial(a)                                  # count
        p_yes = 1 - torch.prod(1 - a, dim=1)                           # exists
        is_count, is_exists = (last == 0).to(a.dtype), (last == 1).to(a.dtype)
        probs = torch.zeros(a.shape[0], len(ANSWERS), dtype=a.dtype, device=a.device)
        probs[:, :p_count.shape[1]] = p_count * is_count[:, None]     # the answers "0", "1", ... come first
        probs[:, _YES] = p_yes * is_exists
        probs[:, _NO] = (1 - p_yes) * is_exists
        return probs.clamp_min(1e-6).log()


def _attribute(attributes: Tensor, index: Tensor, offset: int) -> Tensor:
    """The perceived probability h_{i, offset + index} of every cell, or 1 where a question has no such filter."""
    column = (offset + index.clamp_min(0))[:, None, None].expand(-1, attributes.shape[1], 1)
    picked = attributes.gather(-1, column).squeeze(-1)
    return torch.where(index[:, None] >= 0, picked, torch.ones_like(picked))


def _check_inputs(where: str, presence, attributes, codes) -> None:
    check_tensor(where, "presence", presence, dim=2)
    check_tensor(where, "attributes", attributes, dim=3)
    check_tensor(where, "codes", codes, kind="any")
    n = presence.shape[0]
    if presence.dim() != 2 or tuple(attributes.shape) != (n, presence.shape[1], len(SUBJECTS)):
        raise ValueError(f"{where}: presence must be (n, cells) and attributes (n, cells, {len(SUBJECTS)}), got "
                         f"{tuple(presence.shape)} and {tuple(attributes.shape)}")
    if tuple(codes.shape) != (n, 4) or codes.is_floating_point():
        raise ValueError(f"{where}: codes must be integers (n, 4) from fact_codes, got {tuple(codes.shape)}")
    if n and (codes[:, 2].min() < 0 or codes[:, 2].max() >= len(PROPERTIES) or codes[:, 3].min() < 0
              or codes[:, 3].max() > 1 or codes[:, 0].max() >= len(COLOURS) or codes[:, 1].max() >= len(SHAPES)):
        raise ValueError(f"{where}: codes hold indices out of range; build them with fact_codes")


class RetrievalReasoner(FactReasoner):
    r"""Answers fact questions by retrieving the fact from a :class:`KeyValueMemory` (KAT, Gui et al., 2022;
    REVEAL, Hu et al., 2023; key-value memory networks, Miller et al., 2016; Part 4.4).

    .. math::

        q_i = \beta\,\sigma(g_p) \odot h_i,\quad s_{ij} = q_i \cdot k_j,\quad
        r_i = \sum_{j \in \mathrm{top}_k(s_i)} \mathrm{softmax}(s_i)_j\, v_j,\quad \phi_i(p) = r_{i,p}.

    Parameters
    ----------
    knowledge : dict, optional
        The facts (default :data:`mmcourse.data.KNOWLEDGE`); change them later with :meth:`load_knowledge`.
    k : int
        Keys in the softmax. Training needs k ≥ 2: with k = 1 the weight is always 1 and no gradient reaches the
        query.
    share_query : bool
        One gate for the two words of one attribute (hot and cold, sharp and smooth; :math:`g_p = g_{p'}`), so that
        both ask "what is its temperature?". With a gate per word, "is the circle sharp?" is answered "no" by
        retrieving *any* fact whose value is not "sharp" (the circle's colour, say): right answers, wrong key.

    Examples
    --------
    >>> model = RetrievalReasoner()
    >>> codes = torch.tensor([fact_codes(["scene", "filter_fact[hot]", "count"])])
    >>> tuple(model(torch.ones(1, 9), torch.rand(1, 9, 7), codes).shape)
    (1, 19)
    """

    def __init__(self, knowledge: Mapping[str, str] | None = None, k: int = 2, share_query: bool = True):
        super().__init__()
        if not isinstance(share_query, bool):
            raise TypeError(f"RetrievalReasoner: share_query must be True or False, got {share_query!r}")
        self.memory = KeyValueMemory(knowledge, k)
        self.share_query = share_query
        self.gate = nn.Parameter(torch.zeros(len(PROPERTIES) // 2 if share_query else len(PROPERTIES), len(SUBJECTS)))
        self.log_scale = nn.Parameter(torch.tensor(math.log(4.0)))

    def load_knowledge(self, knowledge: Mapping[str, str] | None) -> None:
        """Swap in edited facts (see :func:`edit_knowledge`); the learned query is untouched."""
        self.memory.load_knowledge(knowledge)

    def query(self, attributes: Tensor, prop: Tensor) -> Tensor:
        """:math:`q_i = \\beta\\,\\sigma(g_p) \\odot h_i`, shape (n, cells, 7)."""
        # hot/cold (and sharp/smooth) ask about one attribute: with share_query they share one gate row
        row = prop // 2 if self.share_query else prop
        return self.log_scale.exp() * torch.sigmoid(self.gate[row])[:, None, :] * attributes

    def scores(self, attributes: Tensor, prop: Tensor) -> Tensor:
        """The key scores :math:`s_{ij}` of every cell, shape (n, cells, 7): their argmax is the retrieved fact."""
        return self.memory.scores(self.query(attributes, prop))

    def has_property(self, attributes: Tensor, prop: Tensor) -> Tensor:
        retrieved, _ = self.memory(self.query(attributes, prop))
        return retrieved.gather(-1, prop[:, None, None].expand(-1, attributes.shape[1], 1)).squeeze(-1)


class ClosedBookReasoner(FactReasoner):
    r"""Answers fact questions from its weights: :math:`\phi_i(p) = \sigma(\mathrm{MLP}([h_i; e_p]))`, with
    :math:`e_p` the one-hot property word; the facts are memorised in training and cannot be edited (Part 4.4).

    Parameters
    ----------
    hidden : int
        Width of the MLP's hidden layer.

    Examples
    --------
    >>> model = ClosedBookReasoner()
    >>> codes = torch.tensor([fact_codes(["scene", "filter_fact[hot]", "count"])])
    >>> tuple(model(torch.ones(1, 9), torch.rand(1, 9, 7), codes).shape)
    (1, 19)
    """

    def __init__(self, hidden: int = 32):
        super().__init__()
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"ClosedBookReasoner: hidden must be a positive integer, got {hidden!r}")
        self.mlp = nn.Sequential(nn.Linear(len(SUBJECTS) + len(PROPERTIES), hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def has_property(self, attributes: Tensor, prop: Tensor) -> Tensor:
        word = nn.functional.one_hot(prop, len(PROPERTIES)).to(attributes.dtype)
        x = torch.cat([attributes, word[:, None, :].expand(-1, attributes.shape[1], -1)], dim=-1)
        return torch.sigmoid(self.mlp(x)).squeeze(-1)
