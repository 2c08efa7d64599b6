import doctest
import importlib
import math

import cvxpy as cp
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

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


# --- against independent references -----------------------------------------------------------------------------

def xlogx(v):
    v = np.asarray(v, dtype=float)
    return np.where(v > 0, v * np.log(np.where(v > 0, v, 1)), 0.0)


def neg_conditional_entropy(q):
    """-H_q(Y | X1, X2) in nats: the BROJA objective, I_q(X1,X2;Y) minus the constant H(Y)."""
    return xlogx(q).sum() - xlogx(q.sum(2)).sum()


def binary_polytope_point(p, t0, t1):
    """The point of Δ_p (binary x1, x2, y) with q[0, 0, y] = t_y: each y-slice is a 2×2 table with fixed row and
    column sums, so one number fixes it, and Δ_p is the rectangle of the admissible (t0, t1)."""
    p1, p2 = p.sum(1), p.sum(0)
    q = np.zeros((2, 2, 2))
    for y, t in enumerate((t0, t1)):
        r, c = p1[:, y], p2[:, y]
        q[:, :, y] = [[t, r[0] - t], [c[0] - t, r[1] - c[0] + t]]
    return q.clip(0)


def binary_bounds(p, y):
    r, c = p.sum(1)[:, y], p.sum(0)[:, y]
    return max(0.0, c[0] - r[1]), min(r[0], c[0])


def nested_brent_min(p):
    """min over Δ_p of -H_q(Y | X1, X2) for binary variables by nested bounded Brent searches: the objective is
    convex, so the inner minimum is a convex function of t0 and both searches find the global minimum."""
    def inner(t0):
        lo, hi = binary_bounds(p, 1)
        f = lambda t1: neg_conditional_entropy(binary_polytope_point(p, t0, t1))  # noqa: E731
        if hi - lo < 1e-15:
            return f(lo)
        return minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}).fun
    lo, hi = binary_bounds(p, 0)
    if hi - lo < 1e-15:
        return inner(lo)
    return minimize_scalar(inner, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}).fun


@pytest.mark.parametrize("seed", range(6))
def test_matches_nested_brent_search_on_binary_variables(seed):
    p = random_p(seed, (2, 2, 2), alpha=0.5)
    ours = neg_conditional_entropy(pid(p).q)
    reference = nested_brent_min(p)
    assert ours <= reference + 1e-9  # the solver is at least as good as the exact search...
    assert reference - ours < 1e-8  # ...which finds the minimum to about 1e-10


def test_and_polytope_is_a_segment_with_the_known_optimum():
    # AND: y = 1 fixes q(1, 1, 1) = 1/4, and the y = 0 slice has one free number t = q(0, 0, 0) in [1/4, 1/2];
    # p itself is t = 1/4 (independent bits). -H_q(Y | X1, X2) falls along the segment to its end t = 1/2, where
    # x1 = x2 whenever y = 0: the optimum makes the modalities as redundant as the marginals allow.
    p = bitwise_distribution("and")
    assert binary_bounds(p, 1) == (0.0, 0.0) and binary_bounds(p, 0) == (0.25, 0.5)
    t = np.linspace(0.25, 0.5, 2001)
    values = np.array([neg_conditional_entropy(binary_polytope_point(p, s, 0.0)) for s in t])
    assert (np.diff(values) < 0).all()
    q = pid(p).q
    assert q[0, 0, 0] == pytest.approx(0.5, abs=1e-9)
    assert neg_conditional_entropy(q) == pytest.approx(values[-1], abs=1e-9)


def random_points_of_polytope(p, count, seed):
    """Random points of Δ_p: random positive tables on the free entries, fitted to both marginals of p by iterative
    proportional fitting (written here, independently of the package)."""
    rng = np.random.default_rng(seed)
    p1, p2 = p.sum(1), p.sum(0)
    free = (p1[:, None, :] > 0) & (p2[None, :, :] > 0)
    points = []
    for _ in range(count):
        r = np.where(free, rng.exponential(size=p.shape) ** 3, 0.0)
        for _ in range(3000):
            r *= np.divide(p1, r.sum(1), out=np.zeros_like(p1), where=r.sum(1) > 0)[:, None, :]
            r *= np.divide(p2, r.sum(0), out=np.zeros_like(p2), where=r.sum(0) > 0)[None, :, :]
            if np.abs(r.sum(1) - p1).max() < 1e-12:
                break
        points.append(r)
    return points


def assert_no_better_point_nearby(p, q, count=8, seed=0):
    """q is not beaten by random points of Δ_p, nor anywhere on the segments towards them (checked at a few
    distances): an independent, if partial, test of optimality."""
    best = neg_conditional_entropy(q)
    for r in random_points_of_polytope(p, count, seed):
        assert np.abs(r.sum(1) - p.sum(1)).max() < 1e-9 and np.abs(r.sum(0) - p.sum(0)).max() < 1e-9
        for eps in (1.0, 0.1, 1e-3, 1e-5):
            assert neg_conditional_entropy((1 - eps) * q + eps * r) >= best - 1e-10


def plug_in_table(seed, shape, n):
    """Relative frequencies of n samples from a random, lumpy distribution: the tables that PID on data decomposes."""
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, random_p(seed, shape, alpha=0.3).ravel()).reshape(shape)
    return counts / counts.sum()


@pytest.mark.parametrize("seed, shape, n", [(0, (16, 16, 2), 2000), (1, (12, 9, 3), 500), (2, (16, 16, 4), 5000),
                                            (3, (5, 5, 5), 300)])
def test_plug_in_tables_from_samples_are_solved_to_optimality(seed, shape, n):
    p = plug_in_table(seed, shape, n)
    r = pid(p)
    assert r.gap < 1e-6
    assert_no_better_point_nearby(p, r.q)
    info = label_informations(p)
    assert r.redundancy + r.unique1 + r.unique2 + r.synergy == pytest.approx(info["I(X1,X2;Y)"], abs=1e-6)
    np.testing.assert_allclose(r.q.sum(1), p.sum(1), atol=1e-9)
    np.testing.assert_allclose(r.q.sum(0), p.sum(0), atol=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_sparse_and_degenerate_tables(seed):
    # Many zeros, tiny entries (alpha = 0.05 puts most of the mass on a few cells), unused values.
    p = random_p(seed, (7, 6, 4), alpha=0.05, zeros=0.6)
    r = pid(p)
    assert r.gap < 1e-6
    assert_no_better_point_nearby(p, r.q, count=4)
    assert (parts(r) >= 0).all()
    np.testing.assert_allclose(r.q.sum(1), p.sum(1), atol=1e-9)


def test_gap_is_an_honest_bound_when_the_solver_fails(monkeypatch):
    # Without a solution, pid falls back on p(x1, y) p(x2, y) / p(y), which is not optimal for AND: the reported
    # gap must then cover the true error of the parts.
    def fail(*args, **kwargs):
        raise cp.SolverError("no solution")

    monkeypatch.setattr(cp.Problem, "solve", fail)
    r = pid(bitwise_distribution("and"))
    error = np.abs(parts(r) - EXACT["and"]).max()
    assert error > 0.01 and r.gap >= error - 1e-12
    np.testing.assert_allclose(r.q.sum(1), bitwise_distribution("and").sum(1), atol=1e-12)


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
