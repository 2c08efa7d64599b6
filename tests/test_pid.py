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
from mmcourse.quantification import PID, pid, pid_from_samples

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


# --- pid_from_samples -------------------------------------------------------------------------------------------

def noisy_bits(seed, n=1000):
    rng = np.random.default_rng(seed)
    b1, b2 = rng.integers(0, 2, (2, n))
    encode = lambda b: (2.0 * b - 1)[:, None] * [3.0, 0.0, 0.0] + rng.standard_normal((n, 3))  # noqa: E731
    return b1, b2, encode


def test_from_samples_recovers_redundancy_and_synergy_of_separable_clusters():
    b1, b2, encode = noisy_bits(0)
    redundant = pid_from_samples(encode(b1), encode(b1), b1, clusters=(2, 2))
    assert redundant.redundancy > 0.9 and max(redundant.unique1, redundant.unique2, redundant.synergy) < 0.05
    xor = pid_from_samples(encode(b1), encode(b2), b1 ^ b2, clusters=(2, 2))
    assert xor.synergy > 0.9 and max(xor.redundancy, xor.unique1, xor.unique2) < 0.05
    unique = pid_from_samples(encode(b1), encode(b2), b1, clusters=(2, 2))
    assert unique.unique1 > 0.9 and max(unique.redundancy, unique.unique2, unique.synergy) < 0.05


def test_from_samples_is_seeded_and_counts_the_right_table():
    b1, b2, encode = noisy_bits(1, n=300)
    x1, x2 = encode(b1), encode(b2)
    r = pid_from_samples(x1, x2, b1 ^ b2, clusters=(3, 2), seed=4)
    assert r.q.shape == (3, 2, 2)
    again = pid_from_samples(torch.tensor(x1), x2.tolist(), torch.tensor(b1 ^ b2), clusters=(3, 2), seed=4)
    np.testing.assert_array_equal(parts(again), parts(r))
    np.testing.assert_array_equal(again.q, r.q)
    # q* keeps the marginals of the table of counts, whose entries are multiples of 1/n.
    counts = r.q.sum(axis=1) * 300
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-6)
    assert counts.sum() == pytest.approx(300)


def test_from_samples_on_the_interaction_datasets():
    # Unsupervised clusters of 12-D features need not split along the label direction, so the estimates are
    # coarse and biased (see the docstring); the contrast between the two datasets is what must hold.
    est = {}
    for name in ("redundancy", "synergy"):
        train = load_dataset(name, n_train=2000, n_val=10, n_test=10, cache=False)["train"]
        est[name] = pid_from_samples(train["x1"][:], train["x2"][:], train["label"][:], clusters=(8, 8))
    syn, red = est["synergy"], est["redundancy"]
    assert syn.synergy > 10 * max(syn.redundancy, syn.unique1, syn.unique2, 0.003)
    assert red.redundancy > 10 * max(syn.redundancy, 0.003)
    assert red.redundancy + red.unique1 > 3 * (syn.redundancy + syn.unique1)  # I(X1; Y): only redundancy has it


@pytest.mark.parametrize("kwargs, message", [
    (dict(y=np.zeros((4, 1))), r"pid_from_samples: y must be a 1-D array of non-negative integer labels"),
    (dict(y=np.array([0, 1, 0.5, 1])), r"with non-integer or negative values"),
    (dict(y=np.array([0, 1, 0, 1, 1])), r"pid_from_samples: x1 must have one row per label \(5\), got 4"),
    (dict(clusters=(2, 0)), r"pid_from_samples: clusters must be two integers in \[1, n=4\], got \(2, 0\)"),
    (dict(clusters=3), r"clusters must be two integers"),
    (dict(components=0), r"pid_from_samples: components must be a positive integer, got 0"),
])
def test_from_samples_errors(kwargs, message):
    args = dict(x1=np.arange(8.0).reshape(4, 2), x2=np.arange(4.0), y=np.array([0, 1, 0, 1]), clusters=(2, 2))
    with pytest.raises(ValueError, match=message):
        pid_from_samples(**{**args, **kwargs})


def test_doctests():
    result = doctest.testmod(importlib.import_module("mmcourse.quantification.decomposition"))
    assert result.attempted > 0 and result.failed == 0
