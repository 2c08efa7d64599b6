"""Checkers for the exercises of Part 7, "PID on data": the plug-in table, its bias, and S − R from informations."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from mmcourse.exercises._check import CheckResult, run_cases

__all__ = ["check_joint_table", "check_miller_madow", "check_net_synergy"]

LN2 = np.log(2)


def _ints(generator: torch.Generator, low: int, high: int, size=()) -> np.ndarray:
    return torch.randint(low, high, size, generator=generator).numpy()


def _entropy(p: np.ndarray) -> float:
    """Plug-in entropy in nats of the (normalised) entries of ``p``."""
    p = p[p > 0] / p.sum()
    return float(-(p * np.log(p)).sum())


def _mi(table: np.ndarray) -> float:
    """I(A; B) in nats of a 2-D table (counts or probabilities)."""
    return _entropy(table.sum(1)) + _entropy(table.sum(0)) - _entropy(table)


def _number(output) -> float | None:
    try:
        return float(output)
    except (TypeError, ValueError):
        return None


def _close(a: float, b: float) -> bool:
    return abs(a - b) < 1e-6 + 1e-6 * abs(b)


def _judge_bits(ctx: dict[str, float], out) -> str | None:
    """Judge a number of bits against ``ctx["expected"]``; every other entry of ``ctx`` is a typical mistake's
    value, keyed by its hint."""
    value = _number(out)
    if value is None:
        return f"return a number, got {type(out).__name__}"
    if _close(value, ctx["expected"]):
        return None
    for hint, wrong in ctx.items():
        if hint != "expected" and _close(value, wrong):
            return hint
    return f"expected {ctx['expected']:.6f} bits, got {value:.6f}"


def check_joint_table(joint_table: Callable) -> CheckResult:
    """Exercise: ``joint_table(c1, c2, y, shape)`` returns the plug-in table ``p[c1, c2, y]`` of relative
    frequencies, of shape ``shape = (k1, k2, num_classes)``, from three int arrays of ``n`` ids each."""
    def make_case(g):
        n, k1, k2, ny = int(_ints(g, 5, 60)), int(_ints(g, 1, 5)), int(_ints(g, 1, 5)), int(_ints(g, 2, 4))
        ids = [_ints(g, 0, k, (n,)) for k in (k1, k2, ny)]
        counts = np.zeros((k1, k2, ny))
        np.add.at(counts, tuple(ids), 1.0)
        return (*ids, (k1, k2, ny)), counts

    def judge(counts, out):
        out = out.numpy() if isinstance(out, torch.Tensor) else out
        if not isinstance(out, np.ndarray):
            return f"return a NumPy array, got {type(out).__name__}"
        if out.shape != counts.shape:
            if out.shape == (counts.shape[1], counts.shape[0], counts.shape[2]):
                return "the first two axes are swapped: the table is p[c1, c2, y], of shape (k1, k2, classes)"
            return f"the table must have shape {counts.shape} (k1, k2, number of classes), got {out.shape}"
        expected = counts / counts.sum()
        if np.allclose(out, expected, atol=1e-9):
            return None
        swapped = "the first two axes are swapped: the table is p[c1, c2, y], of shape (k1, k2, classes)"
        if counts.shape[0] == counts.shape[1] and np.allclose(out, counts.transpose(1, 0, 2) / counts.sum()):
            return swapped
        if np.allclose(out, counts):
            return "these are counts: divide by the number of samples n so that the table sums to 1"
        if abs(out.sum() - 1) > 1e-6:
            return f"a probability table sums to 1, yours sums to {out.sum():.4g}"
        return ("the entries differ from the relative frequencies: add 1/n at p[c1[i], c2[i], y[i]] for every "
                "sample i (np.add.at counts repeated indices, p[idx] += 1 does not)")

    return run_cases("plug-in joint table", joint_table, 8, make_case, judge,
                     "matches the relative frequencies on {cases} fresh cases")


def check_miller_madow(mi_miller_madow: Callable) -> CheckResult:
    r"""Exercise: ``mi_miller_madow(counts)`` returns the Miller–Madow corrected mutual information in bits of a
    2-D table of counts, :math:`\hat I - (m_{AB} - m_A - m_B + 1) / (2 n \ln 2)` with :math:`m` the numbers of
    occupied cells (of the table, its row sums and its column sums) and :math:`n` the total count."""
    def make_case(g):
        a, b = int(_ints(g, 2, 6)), int(_ints(g, 2, 5))
        counts = _ints(g, 0, 8, (a, b)).astype(float)
        counts[_ints(g, 0, a), :] = 0.0  # an empty row, so that occupied and all cells differ
        counts[0, 0] += 1.0  # never an empty table
        n = counts.sum()
        occupied = lambda t: int((t > 0).sum())  # noqa: E731
        plug_in = _mi(counts) / LN2
        correction = (occupied(counts) - occupied(counts.sum(1)) - occupied(counts.sum(0)) + 1) / (2 * n * LN2)
        all_cells = (a - 1) * (b - 1) / (2 * n * LN2)
        return (counts.copy(),), {
            "expected": plug_in - correction,
            "this is the plug-in value: subtract its bias (m_AB − m_A − m_B + 1) / (2 n ln 2)": plug_in,
            "the bias is subtracted, not added: the plug-in value is too large": plug_in + correction,
            "count the occupied cells only (m is the number of non-zero cells, not the table's size)":
                plug_in - all_cells,
            "the answer is in nats: divide by ln 2 for bits": (plug_in - correction) * LN2,
        }

    return run_cases("Miller–Madow correction", mi_miller_madow, 8, make_case, _judge_bits,
                     "matches the corrected information on {cases} fresh tables")


def check_net_synergy(net_synergy: Callable) -> CheckResult:
    r"""Exercise: ``net_synergy(p)`` returns :math:`I(X_1, X_2; Y) - I(X_1; Y) - I(X_2; Y)` in bits of a joint
    table ``p[x1, x2, y]``, which equals :math:`S - R` of the PID."""
    def make_case(g):
        shape = tuple(int(v) for v in _ints(g, 2, 4, (3,)))
        p = torch.rand(shape, generator=g, dtype=torch.float64).numpy() ** 3  # skewed, some near-zero cells
        p /= p.sum()
        i12 = _mi(p.reshape(-1, shape[2])) / LN2
        i1, i2 = _mi(p.sum(1)) / LN2, _mi(p.sum(0)) / LN2
        return (p.copy(),), {
            "expected": i12 - i1 - i2,
            "the sign is reversed: S − R = I(X1, X2; Y) − I(X1; Y) − I(X2; Y)": i1 + i2 - i12,
            "the answer is in nats: divide by ln 2 for bits": (i12 - i1 - i2) * LN2,
            "I(X1; Y) and I(X2; Y) are both subtracted: the pair's information minus each modality's": i12 - i1,
        }

    return run_cases("S − R from mutual informations", net_synergy, 8, make_case, _judge_bits,
                     "matches I(X1, X2; Y) − I(X1; Y) − I(X2; Y) on {cases} fresh tables")
