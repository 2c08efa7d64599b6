"""Checkers for the exercises of Part 5.2, translation between modalities: greedy decoding, nearest-neighbour
translation from a similarity matrix, and the phrase F1 of generated captions."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from mmcourse.exercises._check import CheckResult, compare, run_cases
from mmcourse.generation.translation.captions import phrase_scores

__all__ = ["check_greedy_decode", "check_nearest_translation", "check_phrase_f1"]


def _toy_language_model(g: torch.Generator, vocab: int, hidden: int) -> Callable:
    """A random recurrent step ``(words (N,), h (N, H)) → (logits (N, V), h)``; word 0 ends a caption."""
    E = torch.randn(vocab, hidden, generator=g)
    W = torch.randn(hidden, hidden, generator=g) / hidden ** 0.5
    O = torch.randn(hidden, vocab, generator=g)
    bias = torch.zeros(vocab)
    bias[0] = 0.8  # the end symbol wins now and then, so that the padding rule matters

    def step(words, h):
        h = torch.tanh(E[torch.as_tensor(words).long()] + h @ W)
        return h @ O + bias, h
    return step


def _reference_decode(step, h, length, *, feed_back=True, pad=True):
    word = torch.zeros(len(h), dtype=torch.long)
    words = []
    for _ in range(length):
        logits, h = step(word if feed_back else torch.zeros_like(word), h)
        word = logits.argmax(-1)
        words.append(word)
    words = torch.stack(words, dim=1)
    if pad:
        words = words.masked_fill((words == 0).long().cummax(dim=1).values.bool(), 0)
    return words


def check_greedy_decode(greedy_decode: Callable) -> CheckResult:
    """Exercise: ``greedy_decode(step, h, length)`` writes ``length`` words per row, starting from word 0: at each
    step ``logits, h = step(previous_words, h)``, the next word is the arg max, fed back as the next input; after
    the first 0 (``<pad>``, the end) the rest of the row is 0. Returns a long tensor ``(N, length)``."""
    def make_case(g):
        n, vocab, hidden = 6, 7, 5
        length = int(torch.randint(4, 9, (1,), generator=g))
        step = _toy_language_model(g, vocab, hidden)
        h = torch.randn(n, hidden, generator=g)
        wrong = {"feed back the word you just chose as the next step's input (not the start word every time)":
                 _reference_decode(step, h, length, feed_back=False),
                 "after the first 0 (the end of the caption) every later word must be 0":
                 _reference_decode(step, h, length, pad=False)}
        return (step, h.clone(), length), (_reference_decode(step, h, length), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return compare(expected.double(), out, {k: v.double() for k, v in wrong.items()}, atol=0, rtol=0)

    return run_cases("greedy decoding", greedy_decode, 8, make_case, judge,
                     "writes the same words as the reference decoder on {cases} random language models")


def check_nearest_translation(nearest_translation: Callable) -> CheckResult:
    """Exercise: ``nearest_translation(S, train_targets)`` returns, for each source i (row of the similarity matrix
    ``S``, ``(n, m)``, against the m training pairs), the target of its most similar training pair:
    ``train_targets[argmax_j S[i, j]]``, shape ``(n, ...)``."""
    def make_case(g):
        n, m, d = (int(v) for v in torch.randint(3, 9, (3,), generator=g))
        m = m + n  # more training pairs than sources: a wrong axis shows in the shape
        S = torch.rand(n, m, generator=g) * 2 - 1
        targets = torch.randn(m, d, generator=g)
        wrong = {"take the *most* similar training pair (arg max), not the least": targets[S.argmin(1)]}
        return (S.clone(), targets.clone()), (targets[S.argmax(1)], wrong, n, d)

    def judge(ctx, out):
        expected, wrong, n, d = ctx
        if isinstance(out, torch.Tensor) and out.dim() == 1 and len(out) == n:
            return "return the training *targets* of the chosen pairs (train_targets[indices]), not the indices"
        if isinstance(out, torch.Tensor) and out.dim() == 2 and out.shape[0] != n:
            return f"one row per source: take the arg max along the training pairs (dim=1), got {out.shape[0]} rows"
        return compare(expected.double(), out, {k: v.double() for k, v in wrong.items()}, atol=1e-6, rtol=0)

    return run_cases("nearest-neighbour translation", nearest_translation, 10, make_case, judge,
                     "retrieves the right training targets on {cases} fresh similarity matrices")


def _random_sets(g, n):
    kinds = [(c, s) for c in range(4) for s in range(3)]
    out = []
    for _ in range(n):
        k = int(torch.randint(0, 5, (1,), generator=g))
        out.append(frozenset(kinds[int(i)] for i in torch.randperm(len(kinds), generator=g)[:k]))
    return out


def check_phrase_f1(phrase_f1: Callable) -> CheckResult:
    """Exercise: ``phrase_f1(predicted, reference)`` takes two lists of sets of objects (one set per caption) and
    returns the micro-averaged F1: precision and recall count the matched phrases over *all* captions together,
    ``P = Σ|p ∩ r| / Σ|p|``, ``R = Σ|p ∩ r| / Σ|r|``, ``F1 = 2PR / (P + R)``."""
    def make_case(g):
        n = int(torch.randint(3, 7, (1,), generator=g))
        reference = _random_sets(g, n)
        reference[0] = reference[0] or frozenset({(0, 0)})
        predicted = []
        for r in reference:  # keep some phrases, drop some, add some
            keep = {o for o in r if torch.rand(1, generator=g).item() < 0.7}
            extra = _random_sets(g, 1)[0] if torch.rand(1, generator=g).item() < 0.5 else frozenset()
            predicted.append(frozenset(keep | set(list(extra)[:2])))
        scores = phrase_scores(predicted, reference)
        per = []
        for p, r in zip(predicted, reference):
            pr = len(p & r) / len(p) if p else 0.0
            rc = len(p & r) / len(r) if r else 0.0
            per.append(2 * pr * rc / (pr + rc) if pr + rc else 0.0)
        wrong = {"average over all captions together (micro): sum the matches, predictions and references first, "
                 "then divide; not one F1 per caption averaged": float(np.mean(per)),
                 "that is the precision alone; F1 combines it with the recall, 2PR / (P + R)": scores["precision"],
                 "that is the recall alone; F1 combines it with the precision, 2PR / (P + R)": scores["recall"],
                 "that is the exact match of whole sets; F1 gives credit for each matched phrase": scores["exact"]}
        return ([set(p) for p in predicted], [set(r) for r in reference]), (scores["f1"], wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        try:
            value = float(out)
        except (TypeError, ValueError):
            return f"return a number, got {type(out).__name__}"
        if abs(value - expected) <= 1e-9:
            return None
        for hint, alternative in wrong.items():
            if abs(value - alternative) <= 1e-9:
                return hint
        return f"expected {expected:.6g}, got {value:.6g}"

    return run_cases("phrase F1", phrase_f1, 12, make_case, judge,
                     "matches mmcourse.generation.phrase_scores on {cases} fresh sets of captions")
