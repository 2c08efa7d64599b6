import doctest
import importlib
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmcourse.data import bitwise_distribution, load_dataset
from mmcourse.foundations import label_informations
from mmcourse.quantification import PID, pid

PARTS = ("redundancy", "unique1", "unique2", "synergy")
AND_R = 1.5 - 0.75 * math.log2(3)  # I(X1; Y) for AND with uniform bits: 0.3113 bits

# name: (R, U1, U2, S) in bits, worked out by hand (Bertschinger et al. 2014, Griffith and Koch 2014).
EXACT = {
    "xor": (0.0, 0.0, 0.0, 1.0),
    "and": (AND_R, 0.0, 0.0, 0.5),
    "or": (AND_R, 0.0, 0.0, 0.5),
    "copy": (0.0, 1.0, 1.0, 0.0),
    "unique1": (0.0, 1.0, 0.0, 0.0),
    "unique2": (0.0, 0.0, 1.0, 0.0),
    "redundant": (1.0, 0.0, 0.0, 0.0),
    "sum": (0.5, 0.0, 0.0, 1.0),
}


def parts(r: PID) -> np.ndarray:
    return np.array([getattr(r, name) for name in PARTS])


def random_p(seed, shape, alpha=1.0, zeros=0.0):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(alpha * np.ones(int(np.prod(shape)))).reshape(shape)
    p[rng.random(shape) < zeros] = 0.0
    if p.sum() == 0:
        p.flat[0] = 1.0
    return p / p.sum()


# --- exact values ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(EXACT))
def test_canonical_distributions(name):
    r = pid(bitwise_distribution(name))
    np.testing.assert_allclose(parts(r), EXACT[name], atol=1e-6)
    assert r.gap < 1e-6


def test_and_redundancy_is_the_unimodal_information():
    r = pid(bitwise_distribution("and"))
    assert r.redundancy == pytest.approx(label_informations(bitwise_distribution("and"))["I(X1;Y)"], abs=1e-9)
    assert r.redundancy == pytest.approx(0.311278, abs=1e-6)
    assert r.total == pytest.approx(1.5 - 0.75 * math.log2(3) + 0.5, abs=1e-9)


def test_single_point_polytope_and_a_constant_label():
    # y constant: nothing to explain; x1 = x2 = y with 3 values: Δ_p is one point, all redundancy.
    p = np.full((2, 3, 1), 1 / 6)
    np.testing.assert_allclose(parts(pid(p)), 0.0, atol=1e-12)
    p = np.zeros((3, 3, 3))
    p[[0, 1, 2], [0, 1, 2], [0, 1, 2]] = 1 / 3
    np.testing.assert_allclose(parts(pid(p)), (math.log2(3), 0, 0, 0), atol=1e-9)


# --- against a brute-force search --------------------------------------------------------------------------------

def brute_force_min_mi(p, steps=1501):
    """min over Δ_p of I_q(X1,X2;Y) - H(Y) in nats for binary x1, x2, y, by a grid over its two free numbers."""
    p1, p2 = p.sum(1), p.sum(0)
    slices = []
    for y in range(2):
        r, c = p1[:, y], p2[:, y]
        t = np.linspace(max(0.0, c[0] - r[1]), min(r[0], c[0]), steps)
        slices.append(np.stack([t, r[0] - t, c[0] - t, r[1] - c[0] + t], axis=1).clip(0))  # q00, q01, q10, q11
    a = slices[0][:, None, :]
    b = slices[1][None, :, :]
    xlogx = lambda v: np.where(v > 0, v * np.log(np.where(v > 0, v, 1)), 0.0)  # noqa: E731
    return (xlogx(a) + xlogx(b) - xlogx(a + b)).sum(axis=2).min()


@pytest.mark.parametrize("seed", range(4))
def test_matches_brute_force_on_binary_variables(seed):
    p = random_p(seed, (2, 2, 2), alpha=0.5)
    r = pid(p)
    q = r.q
    xlogx = lambda v: np.where(v > 0, v * np.log(np.where(v > 0, v, 1)), 0.0)  # noqa: E731
    ours = xlogx(q).sum() - xlogx(q.sum(2)).sum()
    grid = brute_force_min_mi(p)
    assert ours <= grid + 1e-9  # the solver is at least as good as any grid point...
    assert grid - ours < 2e-4  # ...and the grid (resolution ~1e-3) comes close to it


# --- identities and invariances ----------------------------------------------------------------------------------

distributions = st.tuples(st.integers(0, 10**6), st.integers(2, 3), st.integers(2, 3), st.integers(2, 3),
                          st.sampled_from([0.3, 1.0, 3.0]), st.sampled_from([0.0, 0.3]))


@settings(max_examples=25, deadline=None)
@given(distributions)
def test_identities_non_negativity_and_marginals(args):
    seed, n1, n2, ny, alpha, zeros = args
    p = random_p(seed, (n1, n2, ny), alpha, zeros)
    r = pid(p)
    info = label_informations(p)
    assert r.gap < 1e-5  # certified: I_q(X1,X2;Y) is within this many bits of the optimum
    # The parts are clipped at 0 only below 1e-12, so these identities would fail if a part were negative.
    assert (parts(r) >= 0).all()
    assert r.redundancy + r.unique1 + r.unique2 + r.synergy == pytest.approx(info["I(X1,X2;Y)"], abs=1e-6)
    assert r.total == pytest.approx(info["I(X1,X2;Y)"], abs=1e-9)
    assert r.redundancy + r.unique1 == pytest.approx(info["I(X1;Y)"], abs=1e-6)
    assert r.redundancy + r.unique2 == pytest.approx(info["I(X2;Y)"], abs=1e-6)
    assert r.q.shape == p.shape and (r.q >= 0).all()
    np.testing.assert_allclose(r.q.sum(1), p.sum(1), atol=1e-9)
    np.testing.assert_allclose(r.q.sum(0), p.sum(0), atol=1e-9)


@settings(max_examples=15, deadline=None)
@given(distributions)
def test_symmetry_and_relabelling(args):
    seed, n1, n2, ny, alpha, zeros = args
    p = random_p(seed, (n1, n2, ny), alpha, zeros)
    r = pid(p)
    # Each part is off by at most the certified gap of its solve (U1 = I_q(X1,X2;Y) - I(X2;Y), and so on).
    swapped = pid(p.transpose(1, 0, 2))
    np.testing.assert_allclose(parts(swapped), parts(r)[[0, 2, 1, 3]], atol=1e-7 + r.gap + swapped.gap)
    rng = np.random.default_rng(seed)
    relabelled = pid(p[rng.permutation(n1)][:, rng.permutation(n2)][:, :, rng.permutation(ny)])
    np.testing.assert_allclose(parts(relabelled), parts(r), atol=1e-7 + r.gap + relabelled.gap)


def test_accepts_lists_tensors_and_unused_values():
    p = bitwise_distribution("xor")
    assert pid(p.tolist()).synergy == pytest.approx(1.0, abs=1e-9)
    assert pid(torch.tensor(p, dtype=torch.float32)).synergy == pytest.approx(1.0, abs=1e-6)
    padded = np.zeros((3, 2, 4))  # a value of x1 and two of y that never occur change nothing
    padded[:2, :, :2] = p
    np.testing.assert_allclose(parts(pid(padded)), EXACT["xor"], atol=1e-9)


def test_result_is_frozen():
    r = pid(bitwise_distribution("xor"))
    with pytest.raises(AttributeError):
        r.synergy = 0.0


# --- errors ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("p, message", [
    (np.full((2, 2), 0.25), r"pid: p must be a 3-D joint distribution p\[x1, x2, y\], got 2 axes \(shape \(2, 2\)\)"),
    (np.full((2, 2, 2, 1), 0.125), r"got 4 axes"),
    (np.zeros((2, 0, 2)), r"pid: p has an empty axis \(shape \(2, 0, 2\)\); expected at least one value"),
    (np.array([[[0.5, 0.75], [0.0, -0.25]]]), r"pid: p must be non-negative, got a smallest entry of -0.25"),
    (np.full((2, 2, 2), 0.25), r"pid: p must sum to 1 \(within 1e-06\), got a sum of 2"),
    (np.full((2, 2, 2), np.nan), r"pid: p contains NaN or infinite values"),
    (np.array([[["a"]]]), r"pid: p must be a real numeric array"),
])
def test_clear_errors(p, message):
    with pytest.raises(ValueError, match=message):
        pid(p)


def test_doctests():
    result = doctest.testmod(importlib.import_module("mmcourse.quantification.decomposition"))
    assert result.attempted > 0 and result.failed == 0
