"""Checkers for the exercises of Part 4.4, external knowledge: top-k dot-product retrieval, recall@1 of a retriever,
and which questions depend on a fact."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from mmcourse.data.scene_questions import PROPERTIES
from mmcourse.data.scenes import COLOURS, GRID, SHAPES
from mmcourse.exercises._check import CheckResult, as_float64, compare, run_cases
from mmcourse.reasoning.knowledge.evaluation import dependent_questions, retrieval_recall
from mmcourse.reasoning.knowledge.memory import SUBJECTS, retrieve

__all__ = ["check_topk_retrieval", "check_recall_at_1", "check_depends_on"]


def check_topk_retrieval(topk_retrieve: Callable) -> CheckResult:
    """Exercise: ``topk_retrieve(q, K, V, k)`` returns :math:`r = \\sum_{j \\in top_k} softmax(s)_j V_j` with
    :math:`s = K q`, for a query ``q`` (d,), keys ``K`` (m, d), values ``V`` (m, v), as a tensor (v,)."""
    def make_case(g):
        m, d, v = (int(x) for x in torch.randint(4, 8, (3,), generator=g))
        k = int(torch.randint(2, m, (1,), generator=g))
        q, K, V = (torch.randn(*shape, generator=g, dtype=torch.float64) for shape in ((d,), (m, d), (m, v)))
        s = K @ q
        top = s.topk(k)
        low = s.topk(k, largest=False)
        wrong = {"softmax": s.softmax(0) @ V, "top1": V[s.argmax()],
                 "raw": top.values @ V[top.indices], "mean": V[top.indices].mean(0),
                 "smallest": low.values.softmax(0) @ V[low.indices]}
        return (q, K, V, k), (retrieve(q, K, V, k)[0], wrong)

    hints = {"softmax": "the softmax runs over the k best keys only: the other keys get weight 0",
             "top1": "keep the k best keys (a softmax over their scores), not only the best one",
             "raw": "weight the values by the softmax of the top-k scores, not by the raw scores",
             "mean": "weight the k values by the softmax of their scores, not equally",
             "smallest": "take the k *largest* scores s_j = q·k_j (topk's default), not the smallest"}

    def judge(ctx, out):
        expected, wrong = ctx
        return compare(expected, out, {hints[key]: value for key, value in wrong.items()}, atol=1e-6, rtol=1e-5)

    return run_cases("top-k dot-product retrieval", topk_retrieve, 10, make_case, judge,
                     "matches mmcourse.reasoning.retrieve on {cases} fresh memories")


def check_recall_at_1(recall_at_1: Callable) -> CheckResult:
    """Exercise: ``recall_at_1(scores, gold)`` returns the share of rows of ``scores`` (NumPy, lookups × keys)
    whose largest score is at the ``gold`` key index (NumPy ints, one per row), as a float."""
    def make_case(g):
        n, m = int(torch.randint(6, 20, (1,), generator=g)), int(torch.randint(3, 8, (1,), generator=g))
        scores = torch.randn(n, m, generator=g, dtype=torch.float64).numpy()
        gold = scores.argmax(1).copy()
        flip = torch.rand(n, generator=g).numpy() < 0.4
        gold[flip] = torch.randint(0, m, (int(flip.sum()),), generator=g).numpy()
        hits = float((scores.argmax(1) == gold).mean())
        wrong = {"argmin": float((scores.argmin(1) == gold).mean()), "count": hits * n, "percent": 100 * hits}
        return (scores.copy(), gold.copy()), (retrieval_recall(scores, gold, 1), wrong)

    hints = {"argmin": "the retrieved key is the one with the *largest* score (argmax over the keys, axis 1)",
             "count": "return the share of lookups (a fraction in 0..1), not their number",
             "percent": "return a fraction in 0..1, not a percentage"}

    def judge(ctx, out):
        expected, wrong = ctx
        got = as_float64(out)
        if got is None or got.numel() != 1:
            return f"return one number, got {type(out).__name__}"
        value = float(got)
        if abs(value - expected) <= 1e-6:
            return None
        for key, alternative in wrong.items():
            if abs(value - alternative) <= 1e-6 and abs(alternative - expected) > 1e-6:
                return hints[key]
        return f"expected {expected:.4f}, got {value:.4f}"

    return run_cases("recall@1 of a retriever", recall_at_1, 10, make_case, judge,
                     "matches mmcourse.reasoning.retrieval_recall on {cases} fresh score matrices")


def _fact_case(g):
    """A random scene, a fact program on it, and a subject (often one the scene holds)."""
    rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,), generator=g)))
    k = int(rng.integers(2, 6))
    kinds = rng.choice(len(COLOURS) * len(SHAPES), size=k, replace=False)
    cells = np.sort(rng.choice(GRID * GRID, size=k, replace=False))
    objects = [{"colour": COLOURS[c // len(SHAPES)], "shape": SHAPES[c % len(SHAPES)], "cell": int(x)}
               for c, x in zip(kinds, cells)]
    prop = PROPERTIES[int(rng.integers(len(PROPERTIES)))]
    if rng.random() < 0.4:
        program = ["scene", f"filter_fact[{prop}]", "count"]
    else:
        anchor = objects[int(rng.integers(k))]
        program = ["scene", f"filter_colour[{anchor['colour']}]", f"filter_shape[{anchor['shape']}]",
                   f"filter_fact[{prop}]", "exists"]
    pool = [o["colour"] for o in objects] + [o["shape"] for o in objects]
    subject = pool[int(rng.integers(len(pool)))] if rng.random() < 0.8 else SUBJECTS[int(rng.integers(7))]
    return program, objects, subject


def check_depends_on(depends_on: Callable) -> CheckResult:
    """Exercise: ``depends_on(program, objects, subject)`` returns True when executing the fact ``program`` (steps
    written ``"op[arg]"``) on the scene ``objects`` looks up the fact about ``subject`` (a colour or a shape)."""
    def make_case(g):
        program, objects, subject = _fact_case(g)
        expected = bool(dependent_questions([program], [objects], subject)[0])
        prop = program[-2][len("filter_fact["):-1]
        key = "colour" if subject in COLOURS else "shape"
        in_scene = any(o[key] == subject for o in objects)
        kind_matches = (prop in ("hot", "cold")) == (subject in COLOURS)
        wrong = {"kind": in_scene and program[-1] == "count" or any(
                     o[key] == subject for o in objects if f"filter_colour[{o['colour']}]" in program
                     and f"filter_shape[{o['shape']}]" in program),
                 "scene": in_scene and kind_matches}
        return ((list(program), [dict(o) for o in objects], subject),
                (expected, wrong, f"{' → '.join(program)} on {[(o['colour'], o['shape']) for o in objects]}, "
                                  f"subject {subject!r}"))

    hints = {"kind": "a hot/cold question reads the facts about colours only, a sharp/smooth one about shapes only",
             "scene": "only the objects that reach filter_fact are looked up, not every object of the scene"}

    def judge(ctx, out):
        expected, wrong, text = ctx
        if not isinstance(out, (bool, np.bool_)):
            return f"return True or False, got {type(out).__name__}"
        if bool(out) == expected:
            return None
        for key, alternative in wrong.items():
            if bool(out) == alternative != expected:
                return f"{text}: {hints[key]}"
        return f"{text}: expected {expected}, got {bool(out)}"

    return run_cases("which questions depend on a fact", depends_on, 40, make_case, judge,
                     "agrees with mmcourse.reasoning.dependent_questions on {cases} fresh questions")
