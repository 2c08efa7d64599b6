"""The checkers of "PID on data": right solutions pass, typical mistakes get their hint, the global generator stays.

The reference solutions are written here with plain NumPy; the net-synergy one is also checked against the
PID solver (S − R), so that the identity the exercise teaches is tested, not assumed.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mmcourse.book import STUB_MESSAGE
from mmcourse.exercises import check_joint_table, check_miller_madow, check_net_synergy
from mmcourse.quantification import pid


def joint_table(c1, c2, y, shape):
    p = np.zeros(shape)
    np.add.at(p, (c1, c2, y), 1.0)
    return p / len(y)


def entropy_bits(p):
    p = p[p > 0] / p.sum()
    return float(-(p * np.log2(p)).sum())


def mi_bits(t):
    return entropy_bits(t.sum(1)) + entropy_bits(t.sum(0)) - entropy_bits(t)


def mi_miller_madow(counts):
    m = lambda t: np.count_nonzero(t)  # noqa: E731
    bias = (m(counts) - m(counts.sum(1)) - m(counts.sum(0)) + 1) / (2 * counts.sum() * np.log(2))
    return mi_bits(counts) - bias


def net_synergy(p):
    return mi_bits(p.reshape(-1, p.shape[2])) - mi_bits(p.sum(1)) - mi_bits(p.sum(0))


def not_attempted(*args):
    raise NotImplementedError(STUB_MESSAGE)


CHECKERS = {
    "joint_table": (check_joint_table, joint_table, "matches the relative frequencies on 8 fresh cases"),
    "miller_madow": (check_miller_madow, mi_miller_madow, "matches the corrected information on 8 fresh tables"),
    "net_synergy": (check_net_synergy, net_synergy,
                       "matches I(X1, X2; Y) − I(X1; Y) − I(X2; Y) on 8 fresh tables"),
}


@pytest.mark.parametrize("name", list(CHECKERS))
def test_reference_solutions_pass(name):
    checker, solution, message = CHECKERS[name]
    result = checker(solution)
    assert result.passed, result
    assert result.message == message


def test_a_tensor_result_is_accepted():
    assert check_joint_table(lambda *a: torch.from_numpy(joint_table(*a))).passed


def bincount_assignment(c1, c2, y, shape):  # p[idx] += 1 adds once per distinct index
    p = np.zeros(shape)
    p[c1, c2, y] += 1.0
    return p / p.sum()


@pytest.mark.parametrize("checker, solution, hint", [
    (check_joint_table, lambda c1, c2, y, s: joint_table(c1, c2, y, s) * len(y), "these are counts: divide by"),
    (check_joint_table, lambda c1, c2, y, s: joint_table(c2, c1, y, (s[1], s[0], s[2])),
     "the first two axes are swapped"),
    (check_joint_table, lambda c1, c2, y, s: joint_table(c1, c2, y, s)[..., :1], "the table must have shape"),
    (check_joint_table, bincount_assignment, "np.add.at counts repeated indices"),
    (check_joint_table, lambda *a: joint_table(*a) * 2, "a probability table sums to 1, yours sums to 2"),
    (check_joint_table, lambda *a: joint_table(*a).tolist(), "return a NumPy array, got list"),
    (check_miller_madow, lambda c: mi_bits(c), "this is the plug-in value"),
    (check_miller_madow, lambda c: 2 * mi_bits(c) - mi_miller_madow(c), "the bias is subtracted, not added"),
    (check_miller_madow, lambda c: mi_miller_madow(c) * np.log(2), "the answer is in nats"),
    (check_miller_madow, lambda c: mi_bits(c) - (c.shape[0] - 1) * (c.shape[1] - 1) / (2 * c.sum() * np.log(2)),
     "count the occupied cells only"),
    (check_miller_madow, lambda c: "0.1", "expected"),
    (check_miller_madow, lambda c: [1.0], "return a number, got list"),
    (check_net_synergy, lambda p: -net_synergy(p), "the sign is reversed"),
    (check_net_synergy, lambda p: net_synergy(p) * np.log(2), "the answer is in nats"),
    (check_net_synergy, lambda p: mi_bits(p.reshape(-1, p.shape[2])) - mi_bits(p.sum(1)),
     "I(X1; Y) and I(X2; Y) are both subtracted"),
    (check_net_synergy, lambda p: net_synergy(p) + 0.01, "expected"),
], ids=["counts", "swapped-axes", "shape", "assignment", "unnormalised", "list", "plug-in", "added", "nats-mm",
        "all-cells", "string", "mm-list", "sign", "nats-co", "one-term", "offset"])
def test_mistakes_get_their_hint(checker, solution, hint):
    result = checker(solution)
    assert not result.passed and result.message.startswith("case ")
    assert hint in result.message, result.message


@pytest.mark.parametrize("name", list(CHECKERS))
def test_stub_and_global_generator(name):
    torch.manual_seed(3)
    expected = torch.rand(2)
    torch.manual_seed(3)
    result = CHECKERS[name][0](not_attempted)
    assert result.message == "not attempted yet (the function raises NotImplementedError)"
    assert torch.equal(torch.rand(2), expected)


@pytest.mark.parametrize("name", list(CHECKERS))
def test_not_a_function_and_crashes(name):
    checker = CHECKERS[name][0]
    assert checker(3).message == "expected a function, got int"
    assert checker(lambda *a: {}["k"]).message == "case 1 raised KeyError: 'k'"


def test_net_synergy_is_synergy_minus_redundancy():
    rng = np.random.default_rng(0)
    for _ in range(5):
        p = rng.random((2, 3, 2)) ** 3
        p /= p.sum()
        r = pid(p)
        assert net_synergy(p) == pytest.approx(r.synergy - r.redundancy, abs=1e-6)
