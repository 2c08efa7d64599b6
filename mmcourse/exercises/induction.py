"""Checkers for the exercises of Part 6.4, model induction: the most confident unlabelled rows, one co-training
round, and the closed form of co-regularised least squares."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from mmcourse.exercises._check import CheckResult, compare, run_cases
from mmcourse.transference.induction.cotraining import merge_picks, most_confident

__all__ = ["check_most_confident", "check_co_training_round", "check_co_regularised_weights"]


def _pairs(output, where: str) -> tuple[set | None, str | None]:
    """A reader's ``(rows, labels)`` as a set of (row, label) pairs, or a hint on why it is not one."""
    if not isinstance(output, (tuple, list)) or len(output) != 2:
        return None, f"return a pair (rows, labels), got {type(output).__name__}"
    try:
        rows = [int(v) for v in np.asarray(output[0]).ravel()]
        labels = [int(v) for v in np.asarray(output[1]).ravel()]
    except (TypeError, ValueError):
        return None, f"{where}: rows and labels must be arrays of integers"
    if len(rows) != len(labels):
        return None, f"{where}: got {len(rows)} rows but {len(labels)} labels"
    if len(set(rows)) != len(rows):
        return None, f"{where}: a row appears twice in {rows}; each row is labelled once"
    return set(zip(rows, labels)), None


def _as_set(rows, labels) -> set:
    return set(zip(np.asarray(rows).tolist(), np.asarray(labels).tolist()))


def _probabilities(g: torch.Generator, n: int, c: int) -> np.ndarray:
    logits = 3 * torch.randn(n, c, generator=g, dtype=torch.float64)
    return torch.softmax(logits, 1).numpy()


def check_most_confident(top_k_confident: Callable) -> CheckResult:
    """Exercise: ``top_k_confident(proba, k)`` returns ``(rows, labels)``: the ``k`` rows of ``proba`` (NumPy
    ``(n, C)``, class probabilities) whose largest probability is highest, and each one's most probable class."""
    def make_case(g):
        n, c = int(torch.randint(6, 16, (1,), generator=g)), int(torch.randint(2, 6, (1,), generator=g))
        k = int(torch.randint(1, n // 2 + 1, (1,), generator=g))
        proba = _probabilities(g, n, c)
        expected = _as_set(*most_confident(proba, k))
        least = np.argsort(proba.max(1))[:k]
        wrong = {"least": _as_set(least, proba[least].argmax(1)),
                 "argmin": _as_set(np.argsort(-proba.max(1))[:k], proba[np.argsort(-proba.max(1))[:k]].argmin(1)),
                 "column": _as_set(np.argsort(-proba[:, 0])[:k], proba[np.argsort(-proba[:, 0])[:k]].argmax(1))}
        return (proba.copy(), k), (expected, wrong, k)

    def judge(ctx, out):
        expected, wrong, k = ctx
        got, hint = _pairs(out, "top_k_confident")
        if hint is not None:
            return hint
        if got == expected:
            return None
        hints = {"least": "those are the *least* confident rows: sort the confidences in decreasing order",
                 "argmin": "the label of a row is its most probable class (argmax), not the least probable one",
                 "column": "a row's confidence is its largest probability over all classes, not the probability "
                           "of class 0"}
        for key, text in hints.items():
            if got == wrong[key]:
                return text
        if len(got) != k:
            return f"return exactly k = {k} rows, got {len(got)}"
        return f"expected the pairs {sorted(expected)}, got {sorted(got)}"

    return run_cases("the most confident rows", top_k_confident, 10, make_case, judge,
                     "picks the same rows and labels as mmcourse.transference.most_confident on {cases} fresh cases")


def check_co_training_round(co_training_round: Callable) -> CheckResult:
    """Exercise: ``co_training_round(proba1, proba2, k)`` returns ``(rows, labels)``: the rows that one co-training
    round adds, given the two views' class probabilities on the unlabelled rows (NumPy ``(n, C)`` each): each view
    picks its ``k`` most confident rows; the union is added, each row once, except a row that the two views picked
    with different labels, which stays unlabelled."""
    def make_case(g):
        n, c = int(torch.randint(10, 20, (1,), generator=g)), int(torch.randint(2, 5, (1,), generator=g))
        k = int(torch.randint(2, n // 3 + 1, (1,), generator=g))
        p1, p2 = _probabilities(g, n, c), _probabilities(g, n, c)
        row = int(torch.randint(0, n, (1,), generator=g))  # a row both are sure of, with different labels
        p1[row], p2[row] = np.eye(c)[0] * 0.999 + 0.001 / c, np.eye(c)[1] * 0.999 + 0.001 / c
        r1, l1 = most_confident(p1, k)
        r2, l2 = most_confident(p2, k)
        expected = _as_set(*merge_picks(r1, l1, r2, l2))
        first = {}
        for r, lab in zip([*r1.tolist(), *r2.tolist()], [*l1.tolist(), *l2.tolist()]):
            first.setdefault(r, lab)
        agreed = {r for r in set(r1.tolist()) & set(r2.tolist())
                  if l1[r1.tolist().index(r)] == l2[r2.tolist().index(r)]}
        wrong = {"kept": set(first.items()), "one": _as_set(r1, l1),
                 "both": {(r, first[r]) for r in agreed}}
        return (p1.copy(), p2.copy(), k), (expected, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        got, hint = _pairs(out, "co_training_round")
        if hint is not None:
            return hint
        if got == expected:
            return None
        hints = {"kept": "a row that the two views picked with different labels must stay unlabelled: drop it",
                 "one": "both views pick rows: add the union of view 1's and view 2's picks",
                 "both": "add the union of the two views' picks, not only the rows both picked"}
        for key, text in hints.items():
            if got == wrong[key]:
                return text
        return f"expected the pairs {sorted(expected)}, got {sorted(got)}"

    return run_cases("one co-training round", co_training_round, 10, make_case, judge,
                     "adds the same rows and labels as one unbalanced round of mmcourse.transference.co_training "
                     "(balanced=False) on {cases} fresh rounds")


def _solve(x1, x2, y, u1, u2, ridge, mu, cross=-1.0, diagonal=True):
    d1, d2 = x1.shape[1], x2.shape[1]
    m = mu if diagonal else 0.0
    system = np.block([[x1.T @ x1 + ridge * np.eye(d1) + m * u1.T @ u1, cross * mu * u1.T @ u2],
                       [cross * mu * u2.T @ u1, x2.T @ x2 + ridge * np.eye(d2) + m * u2.T @ u2]])
    w = np.linalg.solve(system, np.vstack([x1.T @ y, x2.T @ y]))
    return torch.from_numpy(np.concatenate([w[:d1].ravel(), w[d1:].ravel()]))


def check_co_regularised_weights(co_regularised_weights: Callable) -> CheckResult:
    """Exercise: ``co_regularised_weights(X1, X2, Y, U1, U2, ridge, mu)`` returns ``(W1, W2)`` minimising
    ``|X1 W1 - Y|^2 + |X2 W2 - Y|^2 + ridge (|W1|^2 + |W2|^2) + mu |U1 W1 - U2 W2|^2`` (no intercepts; every
    weight shrunk), by solving the joint normal equations."""
    def make_case(g):
        n, m = int(torch.randint(4, 9, (1,), generator=g)), int(torch.randint(6, 15, (1,), generator=g))
        d1, d2, c = (int(v) for v in torch.randint(2, 5, (3,), generator=g))
        x1, x2 = (torch.randn(n, d, generator=g, dtype=torch.float64).numpy() for d in (d1, d2))
        u1, u2 = (torch.randn(m, d, generator=g, dtype=torch.float64).numpy() for d in (d1, d2))
        y = np.eye(c)[torch.randint(0, c, (n,), generator=g).numpy()]
        ridge, mu = float(torch.rand(1, generator=g)) + 0.2, float(torch.rand(1, generator=g)) * 2 + 0.5
        args = (x1, x2, y, u1, u2, ridge, mu)
        wrong = {"independent": _solve(*args[:5], ridge, 0.0), "sign": _solve(*args, cross=1.0),
                 "diagonal": _solve(*args, diagonal=False)}
        return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args), (_solve(*args), wrong, (d1, d2, c))

    def judge(ctx, out):
        expected, wrong, (d1, d2, c) = ctx
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            return f"return a pair (W1, W2), got {type(out).__name__}"
        shapes = [tuple(np.shape(w)) for w in out]
        if shapes != [(d1, c), (d2, c)]:
            return f"W1 and W2 must have shapes {(d1, c)} and {(d2, c)}, got {shapes}"
        got = np.concatenate([np.asarray(w, dtype=np.float64).ravel() for w in out])
        hints = {"the disagreement term is missing: mu couples the two views (off-diagonal blocks -mu U1^T U2)":
                 wrong["independent"],
                 "the off-diagonal blocks are -mu U1^T U2 and -mu U2^T U1 (the gradient of -2 W1^T U1^T U2 W2)":
                 wrong["sign"],
                 "each diagonal block also holds mu U_v^T U_v, from the derivative of |U1 W1 - U2 W2|^2":
                 wrong["diagonal"]}
        return compare(expected, got, {h: w for h, w in hints.items()}, atol=1e-6, rtol=1e-5)

    return run_cases("co-regularised least squares", co_regularised_weights, 8, make_case, judge,
                     "solves the joint normal equations on {cases} fresh problems")
