"""Checkers for the exercises of Part 1, Foundations: the entropy and the lag correlation of a modality's values
(heterogeneity), the three label informations of a joint table (the toy worlds), the response type of an
interaction from three accuracies (interactions), the count vector of a bag of words (encoders) and the slope
adjusted for a common cause (correlation and causation)."""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from mmcourse.exercises._check import CheckResult, compare, run_cases
from mmcourse.foundations.heterogeneity import lag_correlation, value_entropy
from mmcourse.foundations.responses import label_informations, mutual_information

__all__ = ["check_value_entropy", "check_lag_correlation", "check_label_informations", "check_response_type",
           "check_bag_of_words", "check_adjusted_slope", "RESPONSE_TYPES"]

RESPONSE_TYPES = ("equivalence", "enhancement", "dominance", "modulation", "emergence")
"""The five response types that three accuracies can tell apart (independence looks like enhancement)."""


def _as_float(value) -> float | None:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def _entropy_bits(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def check_value_entropy(value_entropy_fn: Callable) -> CheckResult:
    """Exercise: ``value_entropy_fn(x, bins)`` returns the entropy in bits of the histogram of the values of ``x``
    (a tensor in [0, 1]) on ``bins`` equal bins of [0, 1], the value 1 in the last bin."""
    def make_case(g):
        bins = int(torch.randint(3, 17, (1,), generator=g))
        x = torch.rand(int(torch.randint(20, 200, (1,), generator=g)), generator=g) ** 2
        ends = torch.rand(x.shape, generator=g)
        x[ends < 0.2] = 0.0
        x[ends > 0.85] = 1.0  # the value 1 must land in the last bin
        expected = value_entropy(x, bins)
        below = x[x < 1]
        counts = torch.bincount((below * bins).long(), minlength=bins).double().numpy()
        wrong = {"nats": expected * math.log(2), "no ones": _entropy_bits(counts / counts.sum()),
                 "distinct": _entropy_bits(np.unique(x.numpy(), return_counts=True)[1] / x.numel())}
        return (x.clone(), bins), (expected, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        value = _as_float(out)
        if value is None:
            return f"return a number, got {type(out).__name__}"
        if _close(value, expected):
            return None
        hints = {"nats": "use log base 2, so that the entropy is in bits (you used the natural log)",
                 "no ones": "the values equal to 1 belong to the last bin: clamp the bin index to bins - 1",
                 "distinct": "count the values in the `bins` equal bins of [0, 1], not each distinct value"}
        for key, hint in hints.items():
            if _close(value, wrong[key]):
                return hint
        return f"expected {expected:.6g} bits, got {value:.6g}"

    return run_cases("the entropy of a modality's values", value_entropy_fn, 10, make_case, judge,
                     "matches mmcourse.foundations.value_entropy on {cases} fresh cases")


def check_lag_correlation(lag_corr: Callable) -> CheckResult:
    """Exercise: ``lag_corr(x, lag)`` returns, for a float tensor ``x`` of shape ``(samples, rows, cols)``, the mean
    over positions of the correlation across samples between ``x[:, i, j]`` and ``x[:, i + lag, j]``, positions
    where either value is constant across the samples left out."""
    def make_case(g):
        n = int(torch.randint(20, 60, (1,), generator=g))
        rows, cols = (int(v) for v in torch.randint(4, 8, (2,), generator=g))
        lag = int(torch.randint(1, rows - 1, (1,), generator=g))
        smooth = torch.randn(n, rows + 2, cols, generator=g, dtype=torch.float64)
        x = (smooth[:, :-2] + smooth[:, 1:-1] + smooth[:, 2:]) * (1 + torch.arange(cols, dtype=torch.float64))
        x[:, :, 0] = 0.0  # a blank column, like an image's margin
        expected = lag_correlation(x, axis=1, lag=lag)
        a, b = x[:, :-lag, 1:].flatten(1), x[:, lag:, 1:].flatten(1)
        pooled = float(torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1])
        ac, bc = a - a.mean(0), b - b.mean(0)
        covariance = float((ac * bc).mean(0).mean())
        return (x.clone(), lag), (expected, n, {"pooled": pooled, "covariance": covariance})

    def judge(ctx, out):
        expected, n, wrong = ctx
        value = _as_float(out)
        if value is None:
            return f"return a number, got {type(out).__name__}"
        if math.isnan(value):
            return "got NaN: leave out the positions whose values never change across the samples (std 0)"
        # torch's std divides by n - 1, NumPy's by n: a mean of products over n then gives (n - 1) / n of the
        # correlation. Both are the reader's correct idea, so both pass.
        if abs(value - expected) <= 1e-6 or abs(value - expected * (n - 1) / n) <= 1e-6:
            return None
        hints = {"pooled": "correlate each position across the samples, then average the correlations; do not "
                           "pool every pair of neighbours into one correlation",
                 "covariance": "standardise each position (divide by its standard deviation): a correlation, not "
                               "a covariance"}
        for key, hint in hints.items():
            if abs(value - wrong[key]) <= 1e-6:
                return hint
        return f"expected {expected:.6g}, got {value:.6g}"

    return run_cases("the lag correlation", lag_corr, 10, make_case, judge,
                     "matches mmcourse.foundations.lag_correlation on {cases} fresh cases")


def check_label_informations(informations: Callable) -> CheckResult:
    """Exercise: ``informations(p)`` returns the three informations in bits ``(I(X1;Y), I(X2;Y), I(X1,X2;Y))`` of a
    3-D NumPy joint table ``p[x1, x2, y]`` (non-negative, summing to 1, with some zero cells)."""
    def make_case(g):
        shape = tuple(int(v) for v in torch.randint(2, 4, (3,), generator=g))
        p = torch.rand(shape, generator=g, dtype=torch.float64) ** 3
        p[torch.rand(shape, generator=g) < 0.2] = 0.0
        p[0, 0, 0] += 0.1  # never all zero
        p = (p / p.sum()).numpy()
        info = label_informations(p)
        expected = np.array([info["I(X1;Y)"], info["I(X2;Y)"], info["I(X1,X2;Y)"]])
        wrong = {"nats": expected * math.log(2),
                 "x1x2": np.array([mutual_information(p.sum(axis=2)), expected[1], expected[2]]),
                 "sum": np.array([expected[0], expected[1], expected[0] + expected[1]])}
        return (p.copy(),), (expected, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        try:
            got = np.array([float(v) for v in (out.values() if isinstance(out, dict) else out)], dtype=np.float64)
        except (TypeError, ValueError):
            return f"return three numbers (I(X1;Y), I(X2;Y), I(X1,X2;Y)), got {type(out).__name__}"
        if got.shape != (3,):
            return f"return three numbers (I(X1;Y), I(X2;Y), I(X1,X2;Y)), got {got.size}"
        if np.isnan(got).any():
            return "got NaN: skip the cells where p = 0 (0 log 0 counts as 0)"
        if np.allclose(got, expected, atol=1e-6, rtol=0):
            return None
        hints = {"nats": "use log base 2, so that the informations are in bits (you used the natural log)",
                 "x1x2": "for I(X1; Y) sum out x2 (axis 1), not y: p.sum(axis=2) is the table of (x1, x2)",
                 "sum": "I(X1, X2; Y) is not I(X1; Y) + I(X2; Y): treat the pair as one variable, "
                        "p.reshape(-1, p.shape[-1])"}
        for key, hint in hints.items():
            if np.allclose(got, wrong[key], atol=1e-6, rtol=0):
                return hint
        return f"expected {np.round(expected, 6).tolist()}, got {np.round(got, 6).tolist()}"

    return run_cases("the label informations", informations, 10, make_case, judge,
                     "matches mmcourse.foundations.label_informations on {cases} fresh tables")


def _response_case(g: torch.Generator, kind: str, chance: float) -> tuple[float, float, float]:
    """Three accuracies (x1 alone, x2 alone, both) of the response type ``kind``, each at least 0.1 away from
    the thresholds of the rule (chance + 0.05, and the best single modality + 0.05)."""
    def u(lo, hi):
        return lo + (hi - lo) * float(torch.rand(1, generator=g))

    at_chance = lambda: chance + u(-0.03, 0.02)  # noqa: E731
    if kind == "emergence":
        one, two, both = at_chance(), at_chance(), u(chance + 0.25, 1.0)
    elif kind in ("dominance", "modulation"):
        strong = u(chance + 0.2, 0.75 if kind == "modulation" else 0.98)
        both = strong + (u(-0.02, 0.02) if kind == "dominance" else u(0.15, 1.0 - strong))
        one, two = (strong, at_chance()) if float(torch.rand(1, generator=g)) < 0.5 else (at_chance(), strong)
    else:
        one, two = u(chance + 0.2, 0.8), u(chance + 0.2, 0.8)
        best = max(one, two)
        both = best + (u(-0.02, 0.02) if kind == "equivalence" else u(0.15, 1.0 - best + 0.01))
    return round(one, 3), round(two, 3), round(min(both, 1.0), 3)


def check_response_type(response_type: Callable) -> CheckResult:
    """Exercise: ``response_type(alone1, alone2, both, chance)`` names the response type (one of
    :data:`RESPONSE_TYPES`) of three test accuracies with the rule of the chapter and a margin of 0.05: a modality
    is informative when its accuracy alone is at least ``chance + 0.05``, and the pair gains when ``both`` is at
    least the best single accuracy plus 0.05."""
    def make_case(g):
        kind = RESPONSE_TYPES[int(torch.randint(len(RESPONSE_TYPES), (1,), generator=g))]
        chance = (0.5, 0.25, 0.1)[int(torch.randint(3, (1,), generator=g))]
        return (*_response_case(g, kind, chance), chance), (kind, chance)

    def judge(ctx, out):
        kind, chance = ctx
        if not isinstance(out, str) or out not in RESPONSE_TYPES:
            return f"return one of the strings {', '.join(RESPONSE_TYPES)}, got {out!r}"
        if out == kind:
            return None
        pair = {out, kind}
        if pair == {"dominance", "modulation"}:
            return "one modality is informative: compare `both` with it; if it gains 0.05 or more, the other " \
                   "modality modulates it, otherwise the informative one dominates"
        if pair == {"equivalence", "enhancement"}:
            return "both modalities are informative: compare `both` with the *best* one alone (the max)"
        if chance != 0.5:  # the other confusions change how many modalities count as informative
            return f"measure 'informative' against the chance level passed in (here {chance}), not against 0.5"
        return f"expected {kind!r} (chance {chance}), got {out!r}: is a modality informative when its accuracy " \
               "alone is at least chance + 0.05?"

    return run_cases("the response type", response_type, 40, make_case, judge,
                     "names the right response type on {cases} fresh triples of accuracies")


def check_bag_of_words(bag_of_words: Callable) -> CheckResult:
    """Exercise: ``bag_of_words(tokens, vocab_size)`` returns the ``(batch, vocab_size)`` float tensor of how many
    times each word id occurs in each row of the ``(batch, length)`` token ids, the padding id 0 not counted."""
    def make_case(g):
        batch, length = (int(v) for v in torch.randint(2, 7, (2,), generator=g))
        vocab = int(torch.randint(4, 12, (1,), generator=g))
        tokens = torch.randint(1, vocab, (batch, length), generator=g)
        lengths = torch.randint(1, length + 1, (batch,), generator=g)
        tokens[torch.arange(length) >= lengths[:, None]] = 0  # right padding
        tokens[0, : min(length, 3)] = tokens[0, 0]  # a repeated word, so that counts differ from presence
        counts = torch.zeros(batch, vocab, dtype=torch.float64)
        counts.scatter_add_(1, tokens, torch.ones_like(tokens, dtype=torch.float64))
        with_pad = counts.clone()
        counts[:, 0] = 0
        wrong = {"the padding id 0 is not a word: leave its column at 0": with_pad,
                 "count each word, not only whether it occurs (a repeated word counts twice)": (counts > 0).double(),
                 "return the counts themselves, not their share of the sentence":
                     counts / (tokens != 0).sum(1, keepdim=True)}
        return (tokens.clone(), vocab), (counts, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return compare(expected, out, wrong, atol=1e-6, rtol=0)

    return run_cases("the bag-of-words counts", bag_of_words, 10, make_case, judge,
                     "gives the right count vectors on {cases} fresh batches")


def check_adjusted_slope(adjusted_slope: Callable) -> CheckResult:
    """Exercise: ``adjusted_slope(a, b, u)`` returns the coefficient of ``a`` in the least-squares fit
    ``b ≈ c0 + c1 a + c2 u`` of three float64 tensors of shape ``(n,)``: the slope of b on a with u held fixed."""
    def make_case(g):
        n = int(torch.randint(30, 200, (1,), generator=g))
        u = torch.randn(n, generator=g, dtype=torch.float64)
        a = 0.8 * u + 0.6 * torch.randn(n, generator=g, dtype=torch.float64) + 1.5
        b = (float(torch.rand(1, generator=g)) - 0.5) * a + 1.2 * u + 2.0 + 0.3 * torch.randn(
            n, generator=g, dtype=torch.float64)
        design = torch.stack([torch.ones(n, dtype=torch.float64), a, u], dim=1)
        coef = torch.linalg.lstsq(design, b[:, None]).solution[:, 0]
        no_intercept = torch.linalg.lstsq(design[:, 1:], b[:, None]).solution[:, 0]
        ac = a - a.mean()
        wrong = {"ignores u": float((ac * (b - b.mean())).sum() / (ac * ac).sum()), "u": float(coef[2]),
                 "no intercept": float(no_intercept[0])}
        return (a.clone(), b.clone(), u.clone()), (float(coef[1]), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        value = _as_float(out)
        if value is None:
            return f"return a number, got {type(out).__name__}"
        if abs(value - expected) <= 1e-6 * max(1.0, abs(expected)):
            return None
        hints = {"ignores u": "that is the plain slope of b on a: put u in the regression as a second input",
                 "u": "that is the coefficient of u; return the one of a",
                 "no intercept": "fit an intercept too (a column of ones), or centre a, b and u first"}
        for key, hint in hints.items():
            if abs(value - wrong[key]) <= 1e-6 * max(1.0, abs(wrong[key])):
                return hint
        return f"expected {expected:.6g}, got {value:.6g}"

    return run_cases("the slope adjusted for a common cause", adjusted_slope, 10, make_case, judge,
                     "matches the least-squares coefficient of a on {cases} fresh cases")
