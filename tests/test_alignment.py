"""Tests of mmcourse.alignment: DTW, soft-DTW, exact and entropic optimal transport, CTC.

Each algorithm is checked against brute force on tiny inputs (every warping path, every permutation, every frame
labeling), against hand-computed values, against a reference implementation where one exists
(``torch.nn.functional.ctc_loss``, ``scipy.optimize``), by its invariances and by property tests of its laws.
"""
import doctest
import importlib
import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given, settings
from hypothesis import strategies as st
from brute_force import all_paths
from hypothesis.extra.numpy import arrays
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp

import mmcourse.alignment as alignment
from mmcourse.alignment import (ctc_collapse, ctc_loss, dtw, optimal_transport, sinkhorn, soft_dtw,
                                squared_distances, transport_cost)


# ----------------------------------------------------------------------------------------------------------------
# Brute-force references (all_paths lives in brute_force.py, shared with test_soft_alignment)


def path_count(n, m):
    """The number of warping paths (a Delannoy number), by the same recursion as DTW with + for min."""
    N = np.zeros((n, m), dtype=object)
    for i in range(n):
        for j in range(m):
            N[i, j] = 1 if i == 0 or j == 0 else N[i - 1, j] + N[i, j - 1] + N[i - 1, j - 1]
    return int(N[n - 1, m - 1])


def path_cost(path, delta):
    return float(sum(delta[i, j] for i, j in path))


def assert_valid_path(path, n, m):
    assert path[0] == (0, 0) and path[-1] == (n - 1, m - 1)
    for (i0, j0), (i1, j1) in zip(path, path[1:]):
        assert (i1 - i0, j1 - j0) in {(1, 0), (0, 1), (1, 1)}
    assert all(isinstance(i, int) and isinstance(j, int) for i, j in path)


def brute_soft_dtw(x, y, gamma):
    delta = squared_distances(x, y)
    costs = np.array([path_cost(p, delta) for p in all_paths(*delta.shape)])
    return -gamma * logsumexp(-costs / gamma)


def brute_ctc(log_probs, target, blank):
    """−log Σ over all C^T frame labelings that collapse to the target."""
    lp = log_probs.detach().double().numpy()
    T, C = lp.shape
    terms = [sum(lp[t, k] for t, k in enumerate(pi)) for pi in itertools.product(range(C), repeat=T)
             if ctc_collapse(pi, blank) == list(target)]
    return -logsumexp(terms) if terms else math.inf


def random_histogram(rng, n):
    h = rng.random(n) + 0.1
    return h / h.sum()


# ----------------------------------------------------------------------------------------------------------------
# DTW


def test_dtw_hand_examples():
    cost, path = dtw([0.0, 1.0, 2.0], [0.0, 1.0, 1.0, 2.0])
    assert cost == 0.0 and path == [(0, 0), (1, 1), (1, 2), (2, 3)]
    # x = (0, 2), y = (1, 3): the diagonal costs 1 + 1 = 2, (0,0)→(1,0)→(1,1) costs 1 + 1 + 1 = 3,
    # (0,0)→(0,1)→(1,1) costs 1 + 9 + 1 = 11.
    cost, path = dtw([[0.0], [2.0]], [[1.0], [3.0]])
    assert cost == 2.0 and path == [(0, 0), (1, 1)]
    # One step against two: every step of x is matched with y's only step: (0 − 1)² + (3 − 1)² = 5.
    assert dtw([0.0, 3.0], [1.0]) == (5.0, [(0, 0), (1, 0)])


@pytest.mark.parametrize("n, m", [(1, 1), (1, 4), (3, 1), (2, 3), (4, 4), (4, 3)])
def test_dtw_equals_brute_force_minimum_over_all_paths(n, m):
    rng = np.random.default_rng(10 * n + m)
    x, y = rng.normal(size=(n, 2)), rng.normal(size=(m, 2))
    delta = squared_distances(x, y)
    paths = all_paths(n, m)
    assert len(paths) == path_count(n, m)
    cost, path = dtw(x, y)
    assert cost == pytest.approx(min(path_cost(p, delta) for p in paths), rel=1e-12, abs=1e-12)
    assert_valid_path(path, n, m)
    assert path_cost(path, delta) == pytest.approx(cost, rel=1e-12, abs=1e-12)
    assert isinstance(cost, float)


def test_dtw_of_a_sequence_with_itself_is_zero_on_the_diagonal():
    x = np.random.default_rng(0).normal(size=(17, 3))
    cost, path = dtw(x, x)
    assert cost == 0.0
    assert path == [(i, i) for i in range(17)]


def test_dtw_is_symmetric_in_cost_and_transposes_the_path():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(12, 2)), rng.normal(size=(9, 2))
    cost_xy, path_xy = dtw(x, y)
    cost_yx, path_yx = dtw(y, x)
    assert cost_xy == pytest.approx(cost_yx, rel=1e-12)
    delta = squared_distances(x, y)
    assert path_cost([(j, i) for i, j in path_yx], delta) == pytest.approx(cost_xy, rel=1e-12)


def test_dtw_recovers_a_known_warp():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(15, 3))                      # distinct steps: only the generating warp costs 0
    repeats = rng.integers(1, 4, size=15)             # step i of x is held for repeats[i] steps of y
    warp = np.repeat(np.arange(15), repeats)
    y = x[warp]
    cost, path = dtw(x, y)
    assert cost == 0.0
    assert path == [(int(i), j) for j, i in enumerate(warp)]


def test_dtw_accepts_tensors_lists_and_one_dimensional_input():
    x = torch.tensor([[0.0, 1.0], [1.0, 1.0]], requires_grad=True)
    y = np.array([[0.0, 1.0], [2.0, 1.0], [1.0, 1.0]])
    expected = dtw(x.detach().numpy(), y)
    assert dtw(x, y) == expected and dtw(x.tolist(), torch.tensor(y)) == expected
    assert dtw([1, 2, 3], np.array([[1], [3]])) == dtw([[1.0], [2.0], [3.0]], [[1.0], [3.0]])


def test_dtw_300_steps_is_fast():
    import time
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(300, 2)), rng.normal(size=(300, 2))
    start = time.perf_counter()
    cost, path = dtw(x, y)
    elapsed = time.perf_counter() - start
    assert_valid_path(path, 300, 300)
    assert elapsed < 1.0            # about 15 ms on one core; a cell-by-cell Python loop would still pass 0.1 s


finite = st.floats(-10, 10, allow_nan=False, width=64)


@st.composite
def sequence_pairs(draw, max_len=8):
    d = draw(st.integers(1, 3))
    n, m = draw(st.integers(1, max_len)), draw(st.integers(1, max_len))
    return draw(arrays(np.float64, (n, d), elements=finite)), draw(arrays(np.float64, (m, d), elements=finite))


@settings(max_examples=60, deadline=None)
@given(sequence_pairs())
def test_dtw_laws(pair):
    x, y = pair
    n, m = len(x), len(y)
    delta = squared_distances(x, y)
    cost, path = dtw(x, y)
    assert cost >= 0.0
    assert_valid_path(path, n, m)
    assert path_cost(path, delta) == pytest.approx(cost, rel=1e-9, abs=1e-9)
    # Not more than a fixed feasible path: down the diagonal as far as it goes, then straight to the corner.
    k = min(n, m)
    fixed = [(i, i) for i in range(k)] + [(i, k - 1) for i in range(k, n)] + [(k - 1, j) for j in range(k, m)]
    assert cost <= path_cost(fixed, delta) + 1e-9
    assert dtw(y, x)[0] == pytest.approx(cost, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("x, y, match", [
    (np.zeros((0, 2)), np.zeros((3, 2)), "x is an empty sequence"),
    (np.zeros((3, 2)), [], "y is an empty sequence"),
    (np.zeros((3, 2)), np.zeros((4, 3)), r"same number of features.*\(3, 2\).*\(4, 3\)"),
    (np.zeros((3, 0)), np.zeros((4, 0)), "x has no features"),
    (np.zeros((2, 2, 2)), np.zeros((4, 2)), r"x must be a sequence of shape \(steps, features\).*\(2, 2, 2\)"),
    (np.array([[0.0], [np.nan]]), np.zeros((2, 1)), "x contains NaN or infinite"),
    (np.zeros((2, 1)), np.array([[np.inf]]), "y contains NaN or infinite"),
    (["a", "b"], [1.0], "x must be a real numeric array"),
])
def test_dtw_rejects_bad_input(x, y, match):
    with pytest.raises(ValueError, match=match):
        dtw(x, y)


# ----------------------------------------------------------------------------------------------------------------
# soft-DTW


@pytest.mark.parametrize("n, m", [(1, 1), (1, 3), (2, 2), (3, 4), (4, 4)])
@pytest.mark.parametrize("gamma", [0.1, 1.0, 10.0])
def test_soft_dtw_equals_brute_force_soft_minimum_over_all_paths(n, m, gamma):
    rng = np.random.default_rng(n * 7 + m)
    x, y = rng.normal(size=(n, 2)), rng.normal(size=(m, 2))
    expected = brute_soft_dtw(x, y, gamma)
    assert soft_dtw(x, y, gamma) == pytest.approx(expected, rel=1e-10, abs=1e-10)
    value = soft_dtw(torch.tensor(x), torch.tensor(y), gamma)
    assert value.dtype == torch.float64 and value.dim() == 0
    assert float(value) == pytest.approx(expected, rel=1e-10, abs=1e-10)


def test_soft_dtw_tends_to_dtw_as_gamma_vanishes():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(20, 2)), rng.normal(size=(25, 2))
    cost = dtw(x, y)[0]
    gamma = 1e-3
    value = soft_dtw(x, y, gamma)
    assert cost - gamma * math.log(path_count(20, 25)) <= value <= cost
    assert value == pytest.approx(cost, abs=0.1)
    assert abs(soft_dtw(x, y, 1e-5) - cost) < abs(soft_dtw(x, y, 1.0) - cost)


def test_soft_dtw_gradcheck():
    torch.manual_seed(0)
    x = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    y = torch.randn(4, 2, dtype=torch.float64, requires_grad=True)
    for gamma in (0.1, 1.0):
        assert torch.autograd.gradcheck(lambda a, b: soft_dtw(a, b, gamma), (x, y))


def test_soft_dtw_gradient_is_the_expected_alignment():
    # ∂ sdtw / ∂ δ(i, j) = E[A_ij] under p(A) ∝ exp(−⟨A, Δ⟩/γ), so ∂ sdtw / ∂ x_i = Σ_j E[A_ij] · 2(x_i − y_j).
    rng = np.random.default_rng(5)
    x, y, gamma = rng.normal(size=(3, 2)), rng.normal(size=(4, 2)), 0.7
    delta = squared_distances(x, y)
    paths = all_paths(3, 4)
    weights = np.exp(-np.array([path_cost(p, delta) for p in paths]) / gamma)
    expected_alignment = np.zeros((3, 4))
    for w, p in zip(weights / weights.sum(), paths):
        for i, j in p:
            expected_alignment[i, j] += w
    expected_grad = np.einsum("ij,ijd->id", expected_alignment, 2 * (x[:, None, :] - y[None, :, :]))
    xt = torch.tensor(x, requires_grad=True)
    soft_dtw(xt, torch.tensor(y), gamma).backward()
    np.testing.assert_allclose(xt.grad.numpy(), expected_grad, rtol=1e-10, atol=1e-12)


def test_soft_dtw_gradient_is_finite_for_identical_sequences_and_float32_works():
    x = torch.randn(30, 2, requires_grad=True)
    value = soft_dtw(x, x.detach().clone(), gamma=0.01)
    value.backward()
    assert value.dtype == torch.float32 and torch.isfinite(x.grad).all()
    assert isinstance(soft_dtw(x.detach().numpy(), x.detach().numpy(), 1.0), float)


@settings(max_examples=40, deadline=None)
@given(sequence_pairs(max_len=6), st.floats(1e-3, 10.0))
def test_soft_dtw_is_between_dtw_minus_gamma_log_paths_and_dtw(pair, gamma):
    x, y = pair
    cost = dtw(x, y)[0]
    value = soft_dtw(x, y, gamma)
    slack = 1e-9 * (1 + abs(cost))
    assert value <= cost + slack                                   # softmin ≤ min at every cell
    assert value >= cost - gamma * math.log(path_count(len(x), len(y))) - slack


# ----------------------------------------------------------------------------------------------------------------
# Exact optimal transport


def test_optimal_transport_hand_examples():
    swap = np.array([[0.0, 1.0], [1.0, 0.0]])
    np.testing.assert_allclose(optimal_transport([0.5, 0.5], [0.5, 0.5], swap), [[0.5, 0.0], [0.0, 0.5]],
                               atol=1e-12)
    # a = (0.7, 0.3), b = (0.4, 0.6): with P₁₁ = t the cost is 1.1 − 2t, so t takes its largest feasible value 0.4.
    plan = optimal_transport([0.7, 0.3], [0.4, 0.6], swap)
    np.testing.assert_allclose(plan, [[0.4, 0.3], [0.0, 0.3]], atol=1e-12)
    assert transport_cost(plan, swap) == pytest.approx(0.3)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_optimal_transport_uniform_equals_best_permutation(n, seed):
    rng = np.random.default_rng(100 * n + seed)
    cost = rng.random((n, n))
    uniform = np.full(n, 1.0 / n)
    plan = optimal_transport(uniform, uniform, cost)
    best = min(sum(cost[i, s[i]] for i in range(n)) / n for s in itertools.permutations(range(n)))
    assert transport_cost(plan, cost) == pytest.approx(best, rel=1e-9, abs=1e-12)
    # A vertex of the Birkhoff polytope: n·plan is a permutation matrix (the costs are generic, so no ties).
    np.testing.assert_allclose(np.sort((n * plan).ravel())[-n:], 1.0, atol=1e-9)
    np.testing.assert_allclose((n * plan).sum(axis=0), 1.0, atol=1e-9)


def test_optimal_transport_recovers_a_hidden_permutation():
    rng = np.random.default_rng(6)
    points = rng.normal(size=(12, 2))
    perm = rng.permutation(12)
    cost = squared_distances(points, points[perm] + 0.01 * rng.normal(size=(12, 2)))
    plan = optimal_transport(np.full(12, 1 / 12), np.full(12, 1 / 12), cost)
    assert list(plan.argmax(axis=1)) == list(np.argsort(perm))


def test_optimal_transport_meets_marginals_and_beats_feasible_plans():
    rng = np.random.default_rng(7)
    a, b, cost = random_histogram(rng, 6), random_histogram(rng, 9), rng.normal(size=(6, 9))   # negative costs OK
    plan = optimal_transport(a, b, cost)
    assert plan.shape == (6, 9) and (plan >= 0).all()
    np.testing.assert_allclose(plan.sum(axis=1), a, atol=1e-9)
    np.testing.assert_allclose(plan.sum(axis=0), b, atol=1e-9)
    assert transport_cost(plan, cost) <= transport_cost(np.outer(a, b), cost) + 1e-12
    assert transport_cost(plan, cost) <= transport_cost(sinkhorn(a, b, cost, 0.05), cost) + 1e-12


def test_optimal_transport_is_invariant_to_shifting_and_scaling_the_cost():
    rng = np.random.default_rng(8)
    a, b, cost = random_histogram(rng, 5), random_histogram(rng, 7), rng.random((5, 7))
    optimum = transport_cost(optimal_transport(a, b, cost), cost)
    for transformed in (cost + 3.0, cost - 10.0, 2.5 * cost):
        plan = optimal_transport(a, b, transformed)
        assert transport_cost(plan, cost) == pytest.approx(optimum, rel=1e-9, abs=1e-12)


def test_optimal_transport_tensor_in_tensor_out():
    cost = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float32)
    plan = optimal_transport(torch.tensor([0.5, 0.5]), torch.tensor([0.5, 0.5]), cost)
    assert isinstance(plan, torch.Tensor) and plan.dtype == torch.float32
    assert torch.allclose(plan, torch.tensor([[0.5, 0.0], [0.0, 0.5]]))


@st.composite
def transport_problems(draw):
    n, m = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    weights = st.floats(0.0, 1.0, allow_nan=False)
    a = draw(arrays(np.float64, n, elements=weights))
    b = draw(arrays(np.float64, m, elements=weights))
    cost = draw(arrays(np.float64, (n, m), elements=st.floats(-5, 5, allow_nan=False)))
    a, b = a + 0.05, b + 0.05                         # keep every bin's mass away from zero
    return a / a.sum(), b / b.sum(), cost


_B = np.array([0.25000022, 0.24999993, 0.24999993, 0.24999993])
DEGENERATE = (np.full(4, 0.25), _B / _B.sum(), np.zeros((4, 4)))


@settings(max_examples=40, deadline=None)
@given(transport_problems())
@example(DEGENERATE)  # all costs equal: HiGHS's default tolerance missed a marginal by 7e-8 here
def test_optimal_transport_laws(problem):
    a, b, cost = problem
    plan = optimal_transport(a, b, cost)
    assert (plan >= 0).all()
    np.testing.assert_allclose(plan.sum(axis=1), a, atol=1e-9)
    np.testing.assert_allclose(plan.sum(axis=0), b, atol=1e-9)
    optimum = transport_cost(plan, cost)
    assert optimum <= transport_cost(np.outer(a, b), cost) + 1e-9       # the independent coupling is feasible
    assert optimum <= transport_cost(sinkhorn(a, b, cost, 0.5), cost) + 1e-9
    assert optimum >= cost.min() - 1e-9                                 # a plan is a probability distribution


BAD_PROBLEMS = [
    ([0.5, 0.5], [0.6, 0.6], np.zeros((2, 2)), r"histogram b must sum to 1.*1\.2"),
    ([1.5, -0.5], [0.5, 0.5], np.zeros((2, 2)), "histogram a must be non-negative.*-0.5"),
    ([[0.5, 0.5]], [0.5, 0.5], np.zeros((2, 2)), r"histogram a must be 1-D, got shape \(1, 2\)"),
    ([], [1.0], np.zeros((0, 1)), "histogram a is empty"),
    ([0.5, 0.5], [1.0], np.zeros((2, 2)), r"cost must have shape \(len\(a\), len\(b\)\) = \(2, 1\), got \(2, 2\)"),
    ([0.5, 0.5], [1.0], np.array([[np.nan], [0.0]]), "cost contains NaN or infinite"),
    ([0.5, 0.5], [1.0], np.array([[np.inf], [0.0]]), "cost contains NaN or infinite"),
    ([np.nan, 0.5], [1.0], np.zeros((2, 1)), "a contains NaN or infinite"),
]


@pytest.mark.parametrize("a, b, cost, match", BAD_PROBLEMS)
def test_optimal_transport_rejects_bad_input(a, b, cost, match):
    with pytest.raises(ValueError, match=match):
        optimal_transport(a, b, cost)


def test_histograms_within_tolerance_are_accepted():
    plan = optimal_transport([0.5 + 4e-7, 0.5], [1.0], [[1.0], [2.0]])
    assert plan.sum() == pytest.approx(1.0, abs=1e-12)


# ----------------------------------------------------------------------------------------------------------------
# Sinkhorn


def entropic_objective(plan, cost, reg):
    """⟨P, C⟩ − reg·H(P) with H(P) = −Σ P (log P − 1) (and 0 log 0 = 0)."""
    p = np.asarray(plan, dtype=float)
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return float((p * cost).sum() + reg * (plogp - p).sum())


@pytest.mark.parametrize("reg", [1.0, 0.1, 0.01])
def test_sinkhorn_meets_marginals_and_has_the_gibbs_form(reg):
    rng = np.random.default_rng(9)
    a, b, cost = random_histogram(rng, 7), random_histogram(rng, 5), rng.random((7, 5))
    plan, f, g = sinkhorn(a, b, cost, reg, tol=1e-10, return_potentials=True)
    assert isinstance(plan, np.ndarray) and plan.shape == (7, 5) and (plan > 0).all()
    assert np.abs(plan.sum(axis=1) - a).sum() < 1e-10
    assert np.abs(plan.sum(axis=0) - b).sum() < 1e-12
    np.testing.assert_allclose(np.log(plan), (f[:, None] + g[None, :] - cost) / reg, atol=1e-9)
    # The same identity without the potentials: log P + C/reg = u_i + v_j, so its double-centred form is zero.
    M = np.log(plan) + cost / reg
    centred = M - M.mean(axis=1, keepdims=True) - M.mean(axis=0, keepdims=True) + M.mean()
    np.testing.assert_allclose(centred, 0.0, atol=1e-8)


def test_sinkhorn_tends_to_exact_ot_as_reg_vanishes():
    rng = np.random.default_rng(10)
    n, m = 8, 6
    a, b, cost = random_histogram(rng, n), random_histogram(rng, m), rng.random((n, m))
    exact = transport_cost(optimal_transport(a, b, cost), cost)
    gaps = []
    for reg in (0.1, 0.01, 2e-3):
        plan = sinkhorn(a, b, cost, reg, max_iter=50_000)
        assert np.isfinite(plan).all()
        gap = transport_cost(plan, cost) - exact
        # ⟨P_ε, C⟩ − εH(P_ε) ≤ ⟨P*, C⟩ − εH(P*), and the entropy lies in [0, log nm]: 0 ≤ gap ≤ ε log nm.
        assert -1e-9 <= gap <= reg * math.log(n * m) + 1e-9
        gaps.append(gap)
    assert gaps[2] < gaps[1] < gaps[0]
    assert gaps[2] < 1e-3


def test_sinkhorn_small_reg_is_stable_and_nearly_a_permutation():
    rng = np.random.default_rng(11)
    cost = rng.random((10, 10))
    uniform = np.full(10, 0.1)
    plan = sinkhorn(uniform, uniform, cost, reg=1e-3)
    assert np.isfinite(plan).all() and np.abs(plan.sum(axis=1) - 0.1).sum() < 1e-9
    exact = optimal_transport(uniform, uniform, cost)
    np.testing.assert_allclose(plan, exact, atol=1e-3)


def test_sinkhorn_large_reg_tends_to_the_independent_coupling():
    rng = np.random.default_rng(12)
    a, b, cost = random_histogram(rng, 4), random_histogram(rng, 6), rng.random((4, 6))
    np.testing.assert_allclose(sinkhorn(a, b, cost, reg=1e4), np.outer(a, b), rtol=1e-4)


def test_sinkhorn_plan_minimises_the_entropic_objective_over_feasible_plans():
    rng = np.random.default_rng(13)
    n, m, reg = 5, 4, 0.2
    a, b, cost = random_histogram(rng, n), random_histogram(rng, m), rng.random((n, m))
    plan = sinkhorn(a, b, cost, reg)
    best = entropic_objective(plan, cost, reg)
    independent = np.outer(a, b)
    for t in (1e-3, 0.01, 0.1, 0.5, 1.0):
        assert best < entropic_objective((1 - t) * plan + t * independent, cost, reg)
    # Random feasible directions: (e_i − e_k)(e_j − e_l)ᵀ keeps both marginals; stay inside P ≥ 0.
    for _ in range(50):
        i, k = rng.choice(n, 2, replace=False)
        j, l = rng.choice(m, 2, replace=False)
        direction = np.zeros((n, m))
        direction[i, j] = direction[k, l] = 1.0
        direction[i, l] = direction[k, j] = -1.0
        step = 0.5 * min(plan[i, l], plan[k, j]) * rng.choice([-1.0, 1.0]) * rng.random()
        if step < 0:
            step = -0.5 * min(plan[i, j], plan[k, l]) * rng.random()
        assert best <= entropic_objective(plan + step * direction, cost, reg) + 1e-15


def test_sinkhorn_agrees_with_scipy_minimisation_on_2x2():
    # Feasible 2×2 plans form a segment: P₁₁ = t, P₁₂ = a₁ − t, P₂₁ = b₁ − t, P₂₂ = a₂ − b₁ + t.
    a, b, reg = np.array([0.3, 0.7]), np.array([0.6, 0.4]), 0.3
    cost = np.array([[0.2, 1.0], [0.7, 0.1]])

    def plan_of(t):
        return np.array([[t, a[0] - t], [b[0] - t, a[1] - b[0] + t]])

    lo, hi = max(0.0, b[0] - a[1]), min(a[0], b[0])
    result = minimize_scalar(lambda t: entropic_objective(plan_of(t), cost, reg), bounds=(lo, hi),
                             method="bounded", options={"xatol": 1e-12})
    np.testing.assert_allclose(sinkhorn(a, b, cost, reg), plan_of(result.x), atol=1e-7)


def test_sinkhorn_zero_bins_and_negative_costs():
    rng = np.random.default_rng(14)
    a = np.array([0.0, 0.5, 0.5])
    b = np.array([0.25, 0.25, 0.0, 0.5])
    plan = sinkhorn(a, b, rng.normal(size=(3, 4)), reg=0.05)
    assert np.isfinite(plan).all()
    assert (plan[0] == 0).all() and (plan[:, 2] == 0).all()
    np.testing.assert_allclose(plan.sum(axis=1), a, atol=1e-9)
    np.testing.assert_allclose(plan.sum(axis=0), b, atol=1e-9)


def test_sinkhorn_raises_when_it_does_not_converge():
    rng = np.random.default_rng(15)
    a, b, cost = random_histogram(rng, 6), random_histogram(rng, 6), rng.random((6, 6))
    with pytest.raises(RuntimeError, match=r"did not converge in max_iter=2 iterations.*above tol=1e-09"):
        sinkhorn(a, b, cost, reg=1e-3, max_iter=2, anneal=False)
    with pytest.raises(RuntimeError, match=r"did not converge in max_iter=2 iterations.*by a factor"):
        sinkhorn(a, b, cost, reg=1e-3, max_iter=2)


def test_sinkhorn_annealing_gives_the_same_plan_faster():
    rng = np.random.default_rng(17)
    a, b, cost = random_histogram(rng, 6), random_histogram(rng, 5), rng.random((6, 5))
    np.testing.assert_allclose(sinkhorn(a, b, cost, 0.02), sinkhorn(a, b, cost, 0.02, anneal=False), atol=1e-9)
    uniform = np.full(5, 0.2)
    cost = rng.random((5, 5))
    # Cold, the textbook iteration is stuck in its slow 1/t regime; annealed, it converges to tol = 1e-9.
    with pytest.raises(RuntimeError, match="did not converge"):
        sinkhorn(uniform, uniform, cost, 1e-3, anneal=False, max_iter=3000)
    plan = sinkhorn(uniform, uniform, cost, 1e-3, max_iter=3000)
    assert np.abs(plan.sum(axis=1) - 0.2).sum() < 1e-9


def test_sinkhorn_torch_in_torch_out_and_differentiable():
    rng = np.random.default_rng(16)
    a, b, cost = random_histogram(rng, 3), random_histogram(rng, 2), rng.random((3, 2))
    plan_np = sinkhorn(a, b, cost, 0.5)
    plan_t = sinkhorn(torch.tensor(a, dtype=torch.float32), torch.tensor(b, dtype=torch.float32),
                      torch.tensor(cost, dtype=torch.float32), 0.5)
    assert isinstance(plan_t, torch.Tensor) and plan_t.dtype == torch.float32
    np.testing.assert_allclose(plan_t.numpy(), plan_np, atol=1e-6)
    cost_t = torch.tensor(cost, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda c: sinkhorn(torch.tensor(a), torch.tensor(b), c, 0.5, tol=1e-12), (cost_t,), atol=1e-6)


@pytest.mark.parametrize("a, b, cost, match", BAD_PROBLEMS)
def test_sinkhorn_rejects_bad_problems(a, b, cost, match):
    with pytest.raises(ValueError, match=match):
        sinkhorn(a, b, cost, 0.1)


@pytest.mark.parametrize("kwargs, match", [
    ({"reg": 0.0}, "reg must be a finite number > 0, got 0.0"),
    ({"reg": -1.0}, "reg must be a finite number > 0"),
    ({"reg": 0.1, "tol": 0.0}, "tol must be a finite number > 0"),
    ({"reg": 0.1, "max_iter": 0}, "max_iter must be a positive integer, got 0"),
    ({"reg": 0.1, "max_iter": 2.5}, "max_iter must be a positive integer"),
])
def test_sinkhorn_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sinkhorn([0.5, 0.5], [0.5, 0.5], np.zeros((2, 2)), **kwargs)


# ----------------------------------------------------------------------------------------------------------------
# CTC


def reference_ctc(log_probs, target, blank=0):
    return F.ctc_loss(log_probs[:, None, :], torch.tensor([list(target)], dtype=torch.long).reshape(1, -1),
                      torch.tensor([log_probs.shape[0]]), torch.tensor([len(target)]), blank=blank,
                      reduction="sum")


@pytest.mark.parametrize("T, C, target, blank", [
    (10, 5, [1, 2, 3], 0), (6, 3, [1, 1], 0), (5, 3, [], 0), (3, 3, [1, 1], 0), (40, 12, [3, 4, 4, 5, 1, 2], 0),
    (8, 4, [0, 2, 2], 3), (1, 2, [1], 0), (7, 6, [5, 5, 5], 0),
])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ctc_agrees_with_torch(T, C, target, blank, dtype):
    torch.manual_seed(T * C)
    log_probs = torch.randn(T, C, dtype=dtype).log_softmax(dim=1)
    ours = ctc_loss(log_probs, target, blank=blank)
    assert ours.dtype == dtype and ours.dim() == 0
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    assert float(ours) == pytest.approx(float(reference_ctc(log_probs, target, blank)), rel=tol, abs=tol)


@pytest.mark.parametrize("T, C, target, blank", [
    (1, 2, [], 0), (1, 2, [1], 0), (2, 2, [1], 0), (3, 3, [1, 1], 0), (4, 3, [1, 2], 0), (5, 3, [1, 1], 0),
    (5, 3, [2, 1, 2], 0), (4, 3, [0, 0], 2), (5, 2, [1], 0), (5, 3, [], 1),
])
def test_ctc_equals_brute_force_sum_over_labelings(T, C, target, blank):
    torch.manual_seed(T + 10 * C)
    log_probs = torch.randn(T, C, dtype=torch.float64).log_softmax(dim=1)
    assert float(ctc_loss(log_probs, target, blank)) == pytest.approx(brute_ctc(log_probs, target, blank),
                                                                      rel=1e-10, abs=1e-10)


def test_ctc_repeated_labels_need_a_blank_between():
    log_probs = torch.randn(3, 3, dtype=torch.float64).log_softmax(dim=1)
    # With three frames, [1, 1] has exactly one alignment: 1, blank, 1.
    only = -(log_probs[0, 1] + log_probs[1, 0] + log_probs[2, 1])
    assert torch.allclose(ctc_loss(log_probs, [1, 1]), only)
    with pytest.raises(ValueError, match=r"length 2 with 1 adjacent repeat.*at least 3 frames.*T=2"):
        ctc_loss(log_probs[:2].clone(), [1, 1])


def test_ctc_empty_target_is_all_blanks():
    log_probs = torch.randn(6, 4, dtype=torch.float64).log_softmax(dim=1)
    assert torch.allclose(ctc_loss(log_probs, []), -log_probs[:, 0].sum())
    assert torch.allclose(ctc_loss(log_probs, torch.tensor([], dtype=torch.long), blank=2), -log_probs[:, 2].sum())


def test_ctc_gradcheck_and_gradient_flow():
    torch.manual_seed(1)
    logits = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    for target in ([1, 1], [2, 1], []):
        assert torch.autograd.gradcheck(lambda z: ctc_loss(z.log_softmax(dim=1), target), (logits,))
    # Compare gradients with respect to the logits: PyTorch's CTC backward returns, for log_probs, the gradient
    # that is only right after the chain rule through log_softmax (exp(log_probs) − posterior).
    logits = torch.randn(8, 4, requires_grad=True)
    ctc_loss(logits.log_softmax(dim=1), torch.tensor([1, 3, 3])).backward()
    reference = logits.detach().clone().requires_grad_()
    reference_ctc(reference.log_softmax(dim=1), [1, 3, 3]).backward()
    assert torch.isfinite(logits.grad).all()
    assert torch.allclose(logits.grad, reference.grad, atol=1e-5)


def test_ctc_impossible_target_is_infinite_with_finite_gradients():
    log_probs = torch.tensor([[0.0, -math.inf], [0.0, -math.inf]], requires_grad=True)
    loss = ctc_loss(log_probs, [1]).detach()
    assert math.isinf(loss.item()) and math.isinf(reference_ctc(log_probs.detach(), [1]).item())
    possible = torch.tensor([[math.log(0.5), math.log(0.5)], [0.0, -math.inf]], dtype=torch.float64,
                            requires_grad=True)
    loss = ctc_loss(possible, [1])                    # only "1, blank": probability 0.5
    assert loss.item() == pytest.approx(math.log(2))
    loss.backward()
    assert torch.isfinite(possible.grad).all()


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.integers(0, 2), st.integers(0, 2**31 - 1))
def test_ctc_probabilities_of_all_targets_sum_to_one(T, C, blank, seed):
    # Every frame labeling collapses to exactly one target, so Σ_ℓ exp(−ctc_loss(ℓ)) = Σ_π p(π) = 1.
    blank = blank % C
    log_probs = torch.randn(T, C, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    log_probs = log_probs.log_softmax(dim=1)
    targets = {tuple(ctc_collapse(pi, blank)) for pi in itertools.product(range(C), repeat=T)}
    total = sum(math.exp(-float(ctc_loss(log_probs, list(t), blank))) for t in targets)
    assert total == pytest.approx(1.0, abs=1e-12)
    assert all(float(ctc_loss(log_probs, list(t), blank)) >= 0 for t in targets)


def test_ctc_collapse():
    assert ctc_collapse([0, 1, 1, 0, 1, 2, 2, 0]) == [1, 1, 2]
    assert ctc_collapse([2, 2, 1, 2], blank=2) == [1]
    assert ctc_collapse([]) == []


def _lp(T=4, C=3):
    return torch.randn(T, C).log_softmax(dim=1)


@pytest.mark.parametrize("log_probs, target, blank, match", [
    (_lp(), [1], 3, r"blank must be a class index in \[0, 2\].*got 3"),
    (_lp(), [1], -1, "blank must be a class index"),
    (_lp(), [1, 0], 0, r"must not contain the blank \(class 0\) at position 1"),
    (_lp(), [1, 3], 0, r"target holds class 3, outside the 3 classes"),
    (_lp(), [1, -1], 0, "target holds class -1"),
    (_lp(), [[1, 2]], 0, "target must be a 1-D sequence of integer"),
    (_lp(), [1.0, 2.0], 0, "target must be a 1-D sequence of integer"),
    (_lp(), torch.tensor([1.0]), 0, "target must be a 1-D sequence of integer"),
    (torch.randn(4, 3), [1], 0, r"must be log-probabilities .*apply log_softmax"),
    (torch.zeros(0, 3), [], 0, r"log_probs is empty \(shape \(0, 3\)\)"),
    (torch.zeros(2, 3, 1), [], 0, r"log_probs must have shape \(T, C\)"),
    (torch.tensor([[float("nan"), 0.0]]), [], 0, "NaN or \\+inf"),
    (torch.tensor([[0, 0]]), [], 0, "must be floating-point"),
    (_lp(T=3), [1, 2, 1, 2], 0, r"target of length 4 with 0 adjacent repeat\(s\) needs at least 4 frames.*T=3"),
])
def test_ctc_rejects_bad_input(log_probs, target, blank, match):
    with pytest.raises(ValueError, match=match):
        ctc_loss(log_probs, target, blank)


def test_ctc_accepts_numpy_log_probs():
    log_probs = torch.randn(5, 3, dtype=torch.float64).log_softmax(dim=1)
    assert torch.allclose(ctc_loss(log_probs.numpy(), np.array([1, 2])), ctc_loss(log_probs, [1, 2]))


# ----------------------------------------------------------------------------------------------------------------
# The package


def test_public_api():
    assert set(alignment.__all__) >= {"dtw", "soft_dtw", "optimal_transport", "sinkhorn", "ctc_loss"}
    for name in alignment.__all__:
        assert getattr(alignment, name).__doc__


@pytest.mark.parametrize("module", ["", ".warping", ".transport", ".ctc"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module("mmcourse.alignment" + module))
    assert result.failed == 0 and result.attempted > 0
