"""Checkers for the exercises of Part 4.2, intermediate concepts: one attention hop, the top-cell hit rate, the
parser's table from its per-cell predictions, and the ``relate`` step of the symbolic executor."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from mmcourse.data.scene_questions import RELATIONS
from mmcourse.data.scenes import COLOURS, GRID, SHAPES
from mmcourse.exercises._check import CheckResult, compare, run_cases
from mmcourse.reasoning.concepts.programs import relation_holds

__all__ = ["check_attention_hop", "check_hit_rate", "check_parsed_table", "check_relate"]

CELLS = GRID * GRID


def check_attention_hop(attention_hop: Callable) -> CheckResult:
    """Exercise: ``attention_hop(v, u, W_v, W_u, b, w_p)`` computes one hop of stacked attention on float64 tensors
    ``v`` (N, d), ``u`` (d,), ``W_v`` and ``W_u`` (k, d), ``b`` and ``w_p`` (k,): ``h_i = tanh(W_v v_i + W_u u + b)``,
    ``p = softmax_i(w_p·h_i)``, and returns ``(u + Σ_i p_i v_i, p)``."""
    def make_case(g):
        n, d, k = (int(x) for x in torch.randint(3, 9, (3,), generator=g))
        v, u = torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64)
        W_v, W_u = (torch.randn(k, d, generator=g, dtype=torch.float64) for _ in range(2))
        b, w_p = (torch.randn(k, generator=g, dtype=torch.float64) for _ in range(2))
        h = torch.tanh(v @ W_v.T + W_u @ u + b)
        p = torch.softmax(h @ w_p, 0)
        scores_raw = (v @ W_v.T + W_u @ u + b) @ w_p
        wrong_p = {"the scores must pass through tanh before w_p (h_i = tanh(W_v v_i + W_u u + b))":
                   torch.softmax(scores_raw, 0),
                   "p must be a softmax over the items (non-negative, summing to 1), not the raw scores": h @ w_p,
                   "use a softmax over the items, not a sigmoid of each score": torch.sigmoid(h @ w_p)}
        wrong_u = {"keep the residual: the new query is u + Σ p_i v_i, not Σ p_i v_i alone": p @ v,
                   "pool with the weights p (a sum over the items), not a plain mean of the items": u + v.mean(0)}
        return (v.clone(), u.clone(), W_v.clone(), W_u.clone(), b.clone(), w_p.clone()), (u + p @ v, p, wrong_p,
                                                                                          wrong_u)

    def judge(ctx, out):
        u_new, p, wrong_p, wrong_u = ctx
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            return f"return a pair (new u, p), got {type(out).__name__}"
        hint = compare(p, out[1], wrong_p, atol=1e-8, rtol=1e-6)
        if hint is not None:
            return f"p: {hint}"
        hint = compare(u_new, out[0], wrong_u, atol=1e-8, rtol=1e-6)
        return None if hint is None else f"new u: {hint}"

    return run_cases("one attention hop", attention_hop, 10, make_case, judge,
                     "matches h = tanh(W_v v + W_u u + b), p = softmax(w_p·h), u + Σ p v on {cases} fresh cases")


def check_hit_rate(hit_rate: Callable) -> CheckResult:
    """Exercise: ``hit_rate(maps, named)`` takes attention maps (NumPy ``(n, 9)``) and, per question, the list of
    named cells (possibly empty), and returns the share of questions, among those that name a cell, whose most
    attended cell is a named one."""
    def make_case(g):
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,), generator=g)))
        n = int(rng.integers(8, 20))
        maps = rng.dirichlet(np.ones(CELLS), size=n)
        named = [sorted(rng.choice(CELLS, size=int(rng.integers(0, 3)), replace=False).tolist()) for _ in range(n)]
        named[0] = [int(maps[0].argmax())]  # at least one hit and one scored question
        top, low = maps.argmax(1), maps.argmin(1)
        scored = [i for i in range(n) if named[i]]
        expected = np.mean([top[i] in named[i] for i in scored])
        wrong = {"skip the questions that name no cell (they cannot be hit or missed)":
                 np.mean([top[i] in named[i] for i in range(n)]),
                 "the top cell is the argmax of the map, not the argmin": np.mean([low[i] in named[i] for i in scored]),
                 "return the share of hits (a rate in [0, 1]), not their number": float(sum(top[i] in named[i]
                                                                                          for i in scored))}
        return (maps.copy(), [list(c) for c in named]), (expected, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        try:
            value = float(out)
        except (TypeError, ValueError):
            return f"return a number, got {type(out).__name__}"
        if abs(value - expected) < 1e-9:
            return None
        for hint, alternative in wrong.items():
            if abs(value - alternative) < 1e-9:
                return hint
        return f"expected {expected:.4f}, got {value:.4f}"

    return run_cases("the top-cell hit rate", hit_rate, 10, make_case, judge,
                     "gives the right hit rate on {cases} fresh sets of maps")


def check_parsed_table(parsed_table: Callable) -> CheckResult:
    """Exercise: ``parsed_table(occupied, colour, shape)`` turns a parser's logits for the nine cells of one scene
    (NumPy ``(9,)``, ``(9, 4)``, ``(9, 3)``) into its table: one ``{"colour": word, "shape": word, "cell": int}``
    per cell whose occupancy probability σ(logit) exceeds 0.5, with the most likely colour and shape."""
    def make_case(g):
        occupied = torch.randn(CELLS, generator=g, dtype=torch.float64) * 3
        colour = torch.randn(CELLS, len(COLOURS), generator=g, dtype=torch.float64)
        shape = torch.randn(CELLS, len(SHAPES), generator=g, dtype=torch.float64)

        def table(keep, c, s, offset=0):
            return [(COLOURS[c[k]], SHAPES[s[k]], k + offset) for k in range(CELLS) if keep[k]]

        c, s, keep = colour.argmax(1).tolist(), shape.argmax(1).tolist(), (occupied > 0).tolist()
        wrong = {"an empty cell gives no object: keep only the cells with σ(occupied) > 0.5, that is a logit > 0":
                 table([True] * CELLS, c, s),
                 "keep the cells whose occupancy probability is ABOVE 0.5 (logit > 0)":
                 table([not k for k in keep], c, s),
                 "the most likely colour and shape are the argmax of their logits, not the argmin":
                 table(keep, colour.argmin(1).tolist(), shape.argmin(1).tolist()),
                 "cells are numbered 0 to 8, row by row": table(keep, c, s, offset=1)}
        return (occupied.numpy(), colour.numpy(), shape.numpy()), (table(keep, c, s), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        try:
            got = sorted((str(o["colour"]), str(o["shape"]), int(o["cell"])) for o in out)
        except (TypeError, KeyError, ValueError):
            return f"return a list of dicts with keys colour, shape and cell, got {type(out).__name__}"
        if got == sorted(expected):
            return None
        for hint, alternative in wrong.items():
            if got == sorted(alternative):
                return hint
        return f"expected {len(expected)} objects {sorted(expected)}, got {got}"

    return run_cases("the parsed table", parsed_table, 10, make_case, judge,
                     "builds the right table from {cases} fresh sets of logits")


def check_relate(relate: Callable) -> CheckResult:
    """Exercise: ``relate(cells, anchors, relation)`` is the executor's ``relate`` step: ``cells`` lists the cell
    (0-8, row-major) of each object of a scene, ``anchors`` the indices of the objects in the input set, and the
    result is the sorted list of the indices of the objects in ``relation`` (left, right, above, below, same_row)
    to at least one anchor."""
    def make_case(g):
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,), generator=g)))
        k = int(rng.integers(3, 7))
        cells = sorted(rng.choice(CELLS, size=k, replace=False).tolist())
        anchors = sorted(rng.choice(k, size=int(rng.integers(1, 3)), replace=False).tolist())
        relation = RELATIONS[int(rng.integers(len(RELATIONS)))]

        def related(rel, combine=any, holds=relation_holds):
            return [j for j in range(k) if combine(holds(rel, cells[j], cells[i]) for i in anchors)]

        flipped = {"left": "right", "right": "left", "above": "below", "below": "above", "same_row": "same_row"}
        wrong = {"left of the anchor means a smaller column (cell % 3), right a larger one; above a smaller row "
                 "(cell // 3)": related(flipped[relation]),
                 "an object is never in the same row as itself: leave the anchor out": sorted(
                     set(related(relation)) | (set(anchors) if relation == "same_row" else set())),
                 "an object qualifies if it is in the relation to ANY anchor, not to all of them":
                 related(relation, all),
                 "compare the column (cell % 3) for left/right, not the cell number":
                 [j for j in range(k) if any((cells[j] < cells[i]) if relation == "left" else (cells[j] > cells[i])
                                             for i in anchors)] if relation in ("left", "right") else None}
        return (list(cells), list(anchors), relation), (related(relation), wrong, relation, cells, anchors)

    def judge(ctx, out):
        expected, wrong, relation, cells, anchors = ctx
        try:
            got = sorted(int(j) for j in out)
        except (TypeError, ValueError):
            return f"return a list of object indices, got {type(out).__name__}"
        if got == expected:
            return None
        for hint, alternative in wrong.items():
            if alternative is not None and got == sorted(alternative) and alternative != expected:
                return hint
        return f"relate[{relation}] with cells {cells} and anchors {anchors}: expected {expected}, got {got}"

    return run_cases("the relate step", relate, 40, make_case, judge,
                     "relates the right objects in {cases} fresh scenes")
