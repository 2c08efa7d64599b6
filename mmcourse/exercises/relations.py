"""Checkers for the exercises of Part 2.4, coordination by relationships: TransE's score, the bilinear score, MRR."""
from __future__ import annotations

from collections.abc import Callable

import torch

from mmcourse.exercises._check import CheckResult, as_float64, compare, run_cases
from mmcourse.representation.coordination.relations import bilinear_score, ranking_metrics, translation_score

__all__ = ["check_translation_score", "check_bilinear_score", "check_filtered_mrr"]


def check_translation_score(score: Callable) -> CheckResult:
    """Exercise: ``score(head, relation, tail)`` for ``head`` and ``tail`` of shape ``(n, d)`` and ``relation`` of
    shape ``(d,)`` returns the n TransE scores ``-‖e_h + r − e_t‖₂``, as :func:`translation_score`."""
    def make_case(g):
        n, d = (int(v) for v in torch.randint(2, 7, (2,), generator=g))
        h, t = torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, d, generator=g, dtype=torch.float64)
        r = torch.randn(d, generator=g, dtype=torch.float64)
        wrong = {
            "a distance, not a score: negate it, so that the true tail (nearest to h + r) scores highest":
                (h + r - t).norm(dim=1),
            "that is the squared norm: TransE's score is minus the norm itself, ‖e_h + r − e_t‖₂":
                -(h + r - t).pow(2).sum(1),
            "the relation translates the head towards the tail: e_h + r − e_t, not e_h − r − e_t":
                -(h - r - t).norm(dim=1),
            "that is the L1 norm: use the Euclidean norm here": -(h + r - t).abs().sum(1),
        }
        return (h.clone(), r.clone(), t.clone()), (translation_score(h, r, t), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return compare(expected, out, wrong, atol=1e-8, rtol=1e-6)

    return run_cases("TransE's score", score, 6, make_case, judge,
                     "matches mmcourse.representation.translation_score on {cases} fresh batches")


def check_bilinear_score(score: Callable) -> CheckResult:
    """Exercise: ``score(head, weight, tail)`` for ``head`` and ``tail`` of shape ``(n, d)`` and ``weight`` of shape
    ``(d, d)`` returns the n bilinear scores ``e_h^T W_r e_t``, as :func:`bilinear_score`."""
    def make_case(g):
        n, d = (int(v) for v in torch.randint(2, 6, (2,), generator=g))
        # W is square, as in the book, so that a transposed W fits too, and is caught.
        h, t = torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, d, generator=g, dtype=torch.float64)
        w = torch.randn(d, d, generator=g, dtype=torch.float64)
        wrong = {"W is used transposed: the head multiplies W from the left, e_h^T W e_t": ((h @ w.T) * t).sum(1),
                 "only the diagonal of W is used (that is DistMult): use the whole matrix":
                     (h * w.diagonal() * t).sum(1),
                 "W is missing: e_h^T e_t is a plain dot product": (h * t).sum(1)}
        return (h.clone(), w.clone(), t.clone()), (bilinear_score(h, w, t), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return compare(expected, out, wrong, atol=1e-8, rtol=1e-6)

    return run_cases("The bilinear score", score, 8, make_case, judge,
                     "matches mmcourse.representation.bilinear_score on {cases} fresh batches")


def _mrr(scores, target, valid, *, filtered=True, ties_against=True, reciprocal=True) -> float:
    mask = valid.clone() if filtered else torch.zeros_like(valid)
    mask[torch.arange(len(target)), target] = True
    own = scores.gather(1, target[:, None])
    beaten = ((scores >= own) if ties_against else (scores > own)) & ~mask
    rank = 1 + beaten.sum(1).double()
    return (1 / rank).mean().item() if reciprocal else rank.mean().item()


def check_filtered_mrr(mrr: Callable) -> CheckResult:
    """Exercise: ``mrr(scores, target, valid)`` returns the filtered mean reciprocal rank (a float): for query q, its
    rank is 1 + the number of *false* candidates (``valid[q, c]`` False) scoring at least as high as
    ``scores[q, target[q]]``; as ``ranking_metrics(scores, target, valid)["MRR"]``."""
    def make_case(g):
        q, c = int(torch.randint(4, 10, (1,), generator=g)), int(torch.randint(5, 12, (1,), generator=g))
        scores = torch.randint(0, 6, (q, c), generator=g).double() / 5          # coarse values: ties happen
        target = torch.randint(c, (q,), generator=g)
        valid = torch.rand(q, c, generator=g) < 0.3
        valid[torch.arange(q), target] = True
        scores[0, target[0]] = -1.0                     # a true tail ranked last, with other true tails above it
        valid[0, :2] = True
        expected = ranking_metrics(scores, target, valid)["MRR"]
        wrong = {"not filtered: other true candidates must not count against the target, only false ones":
                 _mrr(scores, target, valid, filtered=False),
                 "ties count in the target's favour here: a false candidate scoring exactly as high must count "
                 "against it (>=, not >), or a constant score would look perfect":
                 _mrr(scores, target, valid, ties_against=False),
                 "that is the mean rank: average the reciprocals 1 / rank instead":
                 _mrr(scores, target, valid, reciprocal=False)}
        return (scores.clone(), target.clone(), valid.clone()), (expected, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        got = as_float64(out)
        if got is None or got.numel() != 1:
            return f"return one number (the mean over queries), got {type(out).__name__}"
        value = float(got.reshape(()))
        if abs(value - expected) <= 1e-6:
            return None
        for hint, alternative in wrong.items():
            if abs(value - alternative) <= 1e-6 and abs(alternative - expected) > 1e-6:
                return hint
        return f"expected {expected:.6g}, got {value:.6g}"

    return run_cases("Filtered mean reciprocal rank", mrr, 8, make_case, judge,
                     "matches ranking_metrics(...)['MRR'] on {cases} fresh sets of queries")
