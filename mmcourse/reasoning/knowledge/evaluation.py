r"""Measuring retrieval and knowledge edits on the fact questions (Part 4.4).

- **Lookups.** Executing a fact program looks up one fact per object that reaches ``filter_fact[p]``: the fact about
  the object's colour when :math:`p` is hot or cold, about its shape when :math:`p` is sharp or smooth
  (:func:`fact_lookups`). That subject is the *gold key* of the lookup.
- **Recall@k** of a retriever: the share of lookups whose gold key is among the k best-scored keys
  (:func:`retrieval_recall`).
- **Dependence.** A question *depends on the fact about subject* :math:`f` when one of its lookups has gold key
  :math:`f` (:func:`dependent_questions`). Changing that fact (within its kind: a colour stays hot or cold) can change
  only the answers of dependent questions; a retriever that reads the fact must change them where the gold answer
  changes and keep every other answer.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from mmcourse.reasoning.concepts.programs import as_program, execute_trace
from mmcourse.reasoning.knowledge.memory import SUBJECTS

__all__ = ["retrieval_recall", "fact_lookups", "dependent_questions"]


def retrieval_recall(scores, gold, k: int = 1) -> float:
    """Recall@k: the share of rows of ``scores`` (n, m) whose ``gold`` key index (n,) is among the k largest scores.

    Examples
    --------
    >>> retrieval_recall([[0.9, 0.1], [0.2, 0.7], [0.6, 0.4]], [0, 1, 1])
    0.6666666666666666
    """
    s = torch.as_tensor(np.asarray(scores) if not isinstance(scores, torch.Tensor) else scores).double()
    g = torch.as_tensor(np.asarray(gold) if not isinstance(gold, torch.Tensor) else gold)
    if s.dim() != 2 or s.shape[0] == 0:
        raise ValueError(f"retrieval_recall: scores must be a non-empty matrix (n, m), got shape {tuple(s.shape)}")
    if not torch.isfinite(s).all():
        raise ValueError("retrieval_recall: scores contains NaN or infinite values")
    if g.shape != (s.shape[0],) or g.is_floating_point() or ((g < 0) | (g >= s.shape[1])).any():
        raise ValueError(f"retrieval_recall: gold must be {s.shape[0]} integer key indices in 0..{s.shape[1] - 1}, "
                         f"got shape {tuple(g.shape)}")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= s.shape[1]:
        raise ValueError(f"retrieval_recall: k must be an integer in 1..{s.shape[1]}, got {k!r}")
    top = s.topk(k, dim=1).indices
    return float((top == g[:, None].long()).any(dim=1).double().mean())


def fact_lookups(programs: Sequence, scenes: Sequence[Sequence[dict]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every fact the programs look up: arrays ``question`` (index of the program), ``cell`` (the object's grid
    cell) and ``subject`` (index in :data:`SUBJECTS` of the gold key), one entry per object reaching ``filter_fact``.

    Examples
    --------
    >>> scene = [{"colour": "blue", "shape": "square", "cell": 4}, {"colour": "red", "shape": "circle", "cell": 0}]
    >>> q, cell, subject = fact_lookups([["scene", "filter_fact[hot]", "count"]], [scene])
    >>> [SUBJECTS[s] for s in subject], cell.tolist()
    (['blue', 'red'], [4, 0])
    """
    if len(programs) != len(scenes):
        raise ValueError(f"fact_lookups: need one scene per program, got {len(programs)} programs and "
                         f"{len(scenes)} scenes")
    rows = []
    for q, (program, objects) in enumerate(zip(programs, scenes)):
        steps = as_program(program)
        trace = execute_trace(steps, objects)
        for t, (op, prop) in enumerate(steps):
            if op != "filter_fact":
                continue
            if t == 0 or not isinstance(trace[t - 1], list):
                raise ValueError(f"fact_lookups: program {q} applies filter_fact to no set")
            key = "colour" if prop in ("hot", "cold") else "shape"
            rows += [(q, objects[i]["cell"], SUBJECTS.index(objects[i][key])) for i in trace[t - 1]]
    q, cell, subject = (np.array(c, dtype=np.int64) for c in zip(*rows)) if rows else (np.zeros(0, np.int64),) * 3
    return q, cell, subject


def dependent_questions(programs: Sequence, scenes: Sequence[Sequence[dict]], subject: str) -> np.ndarray:
    """A boolean array: which questions look up the fact about ``subject`` (a colour or shape word).

    Examples
    --------
    >>> scene = [{"colour": "blue", "shape": "square", "cell": 4}]
    >>> dependent_questions([["scene", "filter_fact[hot]", "count"], ["scene", "filter_fact[sharp]", "count"]],
    ...                     [scene, scene], "blue").tolist()
    [True, False]
    """
    if subject not in SUBJECTS:
        raise ValueError(f"dependent_questions: subject must be one of {SUBJECTS}, got {subject!r}")
    q, _, gold = fact_lookups(programs, scenes)
    out = np.zeros(len(programs), dtype=bool)
    out[q[gold == SUBJECTS.index(subject)]] = True
    return out
