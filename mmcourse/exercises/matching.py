"""Checkers for the exercises of Part 3.1, word-to-object matching: the scene score, the best one-to-one
matching, and answering a scene's question from its object list."""
from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import torch

from mmcourse.alignment.matching import scene_similarity
from mmcourse.data.scenes import COLOURS, SHAPES, _question
from mmcourse.exercises._check import CheckResult, run_cases

__all__ = ["check_scene_score", "check_best_matching", "check_scene_answer"]


def _as_float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def check_scene_score(scene_score: Callable) -> CheckResult:
    """Exercise: ``scene_score(v, w)`` returns the score of one scene (regions ``v``, NumPy ``(K, d)``) against one
    caption (phrases ``w``, ``(T, d)``): the mean over phrases of the best cosine over regions."""
    def make_case(g):
        k, t, d = (int(v) for v in torch.randint(2, 6, (3,), generator=g))
        v = torch.randn(k, d, generator=g, dtype=torch.float64) * 3
        w = torch.randn(t, d, generator=g, dtype=torch.float64) * 3
        cos = (torch.nn.functional.normalize(w, dim=1) @ torch.nn.functional.normalize(v, dim=1).T).numpy()
        wrong = {"transposed": cos.max(0).mean(), "sum": cos.max(1).sum(), "dot": (w @ v.T).numpy().max(1).mean(),
                 "mean": cos.mean()}
        return (v.numpy(), w.numpy()), (scene_similarity(v[None], w[None]).item(), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        value = _as_float(out)
        if value is None:
            return f"return a number, got {type(out).__name__}"
        if _close(value, expected):
            return None
        hints = {"transposed": "each *phrase* picks its best *region* (max over regions, mean over phrases), "
                               "not the other way round",
                 "sum": "average over the phrases rather than sum, so captions of any length score alike",
                 "dot": "use cosines: normalise v and w to unit length before the dot products",
                 "mean": "take the best region for each phrase (a max), not the mean over all regions"}
        for key, hint in hints.items():
            if _close(value, wrong[key]):
                return hint
        return f"expected {expected:.6g}, got {value:.6g}"

    return run_cases("the scene score", scene_score, 10, make_case, judge,
                     "matches mmcourse.alignment.scene_similarity on {cases} fresh cases")


def check_best_matching(best_matching: Callable) -> CheckResult:
    """Exercise: ``best_matching(S)`` returns, for a square NumPy similarity matrix ``S`` (phrases × regions), the
    one-to-one matching of largest total similarity as a list: ``matching[t]`` is phrase t's region."""
    def make_case(g):
        n = int(torch.randint(2, 6, (1,), generator=g))
        S = torch.rand(n, n, generator=g, dtype=torch.float64).numpy()
        totals = {p: S[np.arange(n), list(p)].sum() for p in itertools.permutations(range(n))}
        return (S.copy(),), (S, max(totals.values()), min(totals.values()))

    def judge(ctx, out):
        S, best, worst = ctx
        n = len(S)
        try:
            got = [int(v) for v in np.asarray(out).ravel()]
        except (TypeError, ValueError):
            return f"return a list of {n} ints, got {type(out).__name__}"
        if len(got) != n or not all(0 <= j < n for j in got):
            return f"return one region index in 0..{n - 1} for each of the {n} phrases, got {got}"
        if len(set(got)) < n:
            if got == S.argmax(1).tolist():
                return ("that is each phrase's own best region: two phrases took the same one; a matching is "
                        "one-to-one (try every permutation, or scipy's linear_sum_assignment)")
            return f"two phrases share a region in {got}: a matching is one-to-one"
        total = S[np.arange(n), got].sum()
        if _close(total, best):
            return None
        if _close(total, worst):
            return "that matching has the *smallest* total: maximise the similarity (or minimise 1 − S)"
        return f"a one-to-one matching, but its total {total:.4f} is below the best, {best:.4f}"

    return run_cases("the best one-to-one matching", best_matching, 10, make_case, judge,
                     "finds a best matching on {cases} fresh matrices")


def check_scene_answer(answer: Callable) -> CheckResult:
    """Exercise: ``answer(colours, shapes, question)`` answers a scene's question (a string such as
    ``"how many red objects ?"``) from its objects, given as two lists of words (``["red", "blue"]``,
    ``["circle", "square"]``), and returns the answer as a string (``"1"``, ``"red"``, ``"yes"``)."""
    def make_case(g):
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,), generator=g)))
        k = int(rng.integers(1, 6))
        kinds = rng.choice(len(COLOURS) * len(SHAPES), size=k, replace=False)
        colour, shape = kinds // len(SHAPES), kinds % len(SHAPES)
        question, qtype, expected = _question(rng, colour, shape)
        return ([COLOURS[c] for c in colour], [SHAPES[s] for s in shape], question), (question, qtype, expected)

    def judge(ctx, out):
        question, qtype, expected = ctx
        if str(out) == expected:
            return None
        if qtype == "count_shape" and str(out) == "0":
            return f"{question!r}: the question uses the plural ('circles'); count the objects of the singular shape"
        return f"{question!r}: expected {expected!r}, got {out!r}"

    return run_cases("answering from the object list", answer, 25, make_case, judge,
                     "answers {cases} fresh questions right")
