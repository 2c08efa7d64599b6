"""Checkers for the exercises of Part 7.2 (partial information decomposition).

The expected values are computed here from entropies (:func:`_entropy`), not with the package's
:func:`~mmcourse.quantification.pid`, except where an exercise starts from its optimiser :math:`q^*`.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import torch

from mmcourse.exercises._check import CheckResult, run_cases
from mmcourse.quantification import pid

__all__ = ["check_mutual_information", "check_pid_parts", "check_in_polytope"]


def _entropy(p: np.ndarray) -> float:
    """Shannon entropy in bits of a table (any shape), with 0 log 0 = 0."""
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def _mi(pab: np.ndarray) -> float:
    return _entropy(pab.sum(1)) + _entropy(pab.sum(0)) - _entropy(pab)


def _random_table(g: torch.Generator, shape: tuple[int, ...], zeros: float = 0.3) -> np.ndarray:
    """A random joint distribution of the given shape, float64, with about a fraction ``zeros`` of empty cells."""
    p = torch.rand(shape, generator=g, dtype=torch.float64) ** 2
    p[torch.rand(shape, generator=g) < zeros] = 0.0
    p.view(-1)[int(torch.randint(p.numel(), (1,), generator=g))] += 0.1  # never all zero
    return (p / p.sum()).numpy()


def _shape(g: torch.Generator, ndim: int) -> tuple[int, ...]:
    return tuple(int(v) for v in torch.randint(2, 5, (ndim,), generator=g))


def _as_floats(value, count: int) -> np.ndarray | None:
    try:
        out = np.asarray(value, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        return None
    return out if out.size == count else None


def check_mutual_information(mutual_information: Callable) -> CheckResult:
    """Exercise: ``mutual_information(pab)`` returns :math:`I(A; B)` in bits of a 2-D joint table ``pab[a, b]``
    (non-negative, summing to 1, possibly with zeros)."""
    def make_case(g):
        pab = _random_table(g, _shape(g, 2))
        ha, hb, hab = _entropy(pab.sum(1)), _entropy(pab.sum(0)), _entropy(pab)
        return (pab.copy(),), (ha + hb - hab, ha + hb + hab, hab)

    def judge(ctx, out):
        expected, plus, joint = ctx
        value = _as_floats(out, 1)
        if value is None:
            return f"return one number, got {type(out).__name__}"
        value = float(value[0])
        if np.isnan(value):
            return "got NaN: a cell with p = 0 contributes 0 (0 log 0 = 0); skip the zeros"
        if abs(value - expected) <= 1e-8:
            return None
        if abs(value - expected * np.log(2)) <= 1e-8:
            return f"that is {value:.6g} nats: use log base 2 for bits"
        if abs(value - plus) <= 1e-8:
            return "I(A; B) = H(A) + H(B) − H(A, B): the joint entropy is subtracted"
        if abs(value - joint) <= 1e-8:
            return "that is the joint entropy H(A, B), not the mutual information"
        return f"expected {expected:.6g} bits, got {value:.6g}"

    return run_cases("mutual information in bits", mutual_information, 8, make_case, judge,
                     "matches H(A) + H(B) − H(A, B) on {cases} fresh tables")


def check_pid_parts(pid_parts: Callable) -> CheckResult:
    """Exercise: ``pid_parts(p, q)`` returns ``(R, U1, U2, S)`` in bits from a joint distribution ``p[x1, x2, y]``
    and the optimiser ``q`` of the BROJA program: :math:`U_1 = I_q(X_1; Y \\mid X_2)`,
    :math:`U_2 = I_q(X_2; Y \\mid X_1)`, :math:`R = I_p(X_1; Y) - U_1`, :math:`S = I_p(X_1, X_2; Y) - I_q(X_1, X_2; Y)`.
    """
    def parts(p, q):
        def cond(t):  # I(A; C | B) of t[a, b, c]
            return _entropy(t.sum(2)) + _entropy(t.sum(0)) - _entropy(t.sum((0, 2))) - _entropy(t)
        u1, u2 = cond(q), cond(q.transpose(1, 0, 2))
        total = _mi(p.reshape(-1, p.shape[2]))
        return np.array([_mi(p.sum(1)) - u1, u1, u2, total - _mi(q.reshape(-1, q.shape[2]))])

    def make_case(g):
        p = _random_table(g, _shape(g, 3))
        q = pid(p).q
        expected = parts(p, q)
        wrong = {
            "the parts are in nats: use log base 2 for bits": expected * np.log(2),
            "U₁ and U₂ must be measured on q*, not on p (on p they include the synergy)": parts(p, p)[[0, 1, 2]],
            "S = I_p(X₁, X₂; Y) − I_q(X₁, X₂; Y): the sign is flipped": expected * [1, 1, 1, -1],
            "R = I(X₁; Y) − U₁ (the information of X₁ minus what only X₁ has): U₁ and U₂ are swapped":
                np.array([_mi(p.sum(1)) - expected[2], *expected[1:]]),
        }
        return (p.copy(), q.copy()), (expected, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        value = _as_floats(out, 4)
        if value is None:
            return "return four numbers (R, U1, U2, S)"
        if np.allclose(value, expected, atol=1e-7):
            return None
        for hint, alternative in wrong.items():
            if np.allclose(value[: len(alternative)], alternative, atol=1e-7):
                return hint
        names = ["R", "U1", "U2", "S"]
        off = int(np.argmax(np.abs(value - expected)))
        return f"{names[off]} should be {expected[off]:.6g} bits, got {value[off]:.6g}"

    return run_cases("redundancy, uniqueness and synergy from q*", pid_parts, 6, make_case, judge,
                     "matches the BROJA parts on {cases} fresh distributions")


def check_in_polytope(in_polytope: Callable) -> CheckResult:
    """Exercise: ``in_polytope(p, q)`` returns ``True`` exactly when ``q`` lies in :math:`\\Delta_p`: ``q`` is
    non-negative and has the marginals :math:`p(x_1, y)` and :math:`p(x_2, y)` of ``p`` (within 1e-9)."""
    kinds = ("optimiser", "p itself", "independent given y", "wrong x1 marginal", "wrong x2 marginal",
             "negative entry", "labels reversed")

    order = itertools.cycle(kinds)  # every kind twice, in order

    def make_case(g):
        kind = next(order)
        p = _random_table(g, _shape(g, 3), zeros=0.0)
        p = 0.5 * p + 0.5 / p.size  # every entry at least 1/128: each change below is far above any tolerance
        p1, p2 = p.sum(1), p.sum(0)
        if kind == "optimiser":
            q = pid(p).q
        elif kind == "p itself":
            q = p
        elif kind == "independent given y":
            q = p1[:, None, :] * p2[None, :, :] / p1.sum(0)
        elif kind == "wrong x1 marginal":  # move mass between x2 values: p(x1, y) unchanged, p(x2, y) changed
            q = p.copy()
            q[0, 0, 0] += 0.5 * q[0, 1, 0]
            q[0, 1, 0] *= 0.5
            q = q.transpose(1, 0, 2).copy()  # ... now the x1 marginal is the wrong one
            p = p.transpose(1, 0, 2).copy()
        elif kind == "wrong x2 marginal":
            q = p.copy()
            q[0, 0, 0] += 0.5 * q[0, 1, 0]
            q[0, 1, 0] *= 0.5
        elif kind == "negative entry":  # a step along Δ_p's constraints that leaves the orthant
            q = p.copy()
            step = q[0, 0, 0] + 0.01
            q[0, 0, 0] -= step
            q[0, 1, 0] += step
            q[1, 0, 0] += step
            q[1, 1, 0] -= step
        else:  # the label values reversed: the same p(x1, x2), but other marginals with y
            q = p[:, :, ::-1].copy()
        inside = bool((q >= 0).all() and np.allclose(q.sum(1), p.sum(1), rtol=0, atol=1e-9)
                      and np.allclose(q.sum(0), p.sum(0), rtol=0, atol=1e-9))
        return (p.copy(), q.copy()), (inside, kind)

    def judge(ctx, out):
        expected, kind = ctx
        if not isinstance(out, (bool, np.bool_)):
            return f"return True or False, got {type(out).__name__}"
        if bool(out) == expected:
            return None
        if expected:
            return (f"q ({kind}) lies in Δ_p but you said no: Δ_p fixes p(x1, y) and p(x2, y) only (not p(x1, x2)),"
                    " and compare them with a tolerance (np.allclose), not ==")
        if kind in ("wrong x1 marginal", "wrong x2 marginal"):
            right = "x2" if kind == "wrong x1 marginal" else "x1"
            return f"q has the right p({right}, y) but not the other marginal with y: check both"
        if kind == "negative entry":
            return "q has the right marginals but a negative entry: a distribution must be non-negative"
        return "q has the right p(x1, x2) but not p(x1, y) and p(x2, y): Δ_p fixes the marginals with y"

    return run_cases("membership in Δ_p", in_polytope, 14, make_case, judge,
                     "right on {cases} fresh cases, in and out of Δ_p")
