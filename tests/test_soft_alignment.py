"""Tests of mmcourse.alignment.soft_alignment: the expected alignment matrix of soft-DTW (∂ sdtw_γ / ∂Δ).

Checked against the brute-force expectation over every monotone warping path on tiny inputs, against the DTW path
as γ → 0, against soft_dtw's own gradient, and for its bounds and error messages.
"""
import numpy as np
import pytest
import torch
from brute_force import all_paths

from mmcourse.alignment import dtw, soft_alignment, soft_dtw, squared_distances


def brute_expected_alignment(x, y, gamma):
    """Σ_A p(A) A with p(A) ∝ exp(−⟨A, Δ⟩/γ), over every warping path A."""
    delta = squared_distances(x, y)
    paths = all_paths(*delta.shape)
    costs = np.array([sum(delta[i, j] for i, j in p) for p in paths])
    weights = np.exp(-(costs - costs.min()) / gamma)
    expected = np.zeros(delta.shape)
    for w, p in zip(weights / weights.sum(), paths):
        for i, j in p:
            expected[i, j] += w
    return expected


def indicator(path, n, m):
    a = np.zeros((n, m))
    for i, j in path:
        a[i, j] = 1.0
    return a


@pytest.mark.parametrize("n, m", [(1, 1), (1, 4), (3, 1), (2, 3), (3, 4), (4, 4)])
@pytest.mark.parametrize("gamma", [0.1, 1.0, 5.0])
def test_equals_brute_force_expectation_over_all_paths(n, m, gamma):
    rng = np.random.default_rng(10 * n + m)
    x, y = rng.normal(size=(n, 2)), rng.normal(size=(m, 2))
    np.testing.assert_allclose(soft_alignment(x, y, gamma), brute_expected_alignment(x, y, gamma),
                               rtol=1e-10, atol=1e-12)


def test_hand_example():
    # Three paths through a 2 × 2 grid: the diagonal (cost 0) and two through an off-diagonal cell (cost 1 each).
    e = np.exp(-1.0)
    expected = np.array([[1.0, e / (1 + 2 * e)], [e / (1 + 2 * e), 1.0]])
    np.testing.assert_allclose(soft_alignment([0.0, 1.0], [0.0, 1.0], 1.0), expected, rtol=1e-12)


@pytest.mark.parametrize("gamma", [1e-3, 0.1, 1.0, 100.0])
def test_entries_in_unit_interval_and_corners_are_one(gamma):
    rng = np.random.default_rng(0)
    a = soft_alignment(rng.normal(size=(12, 3)), rng.normal(size=(18, 3)), gamma)
    assert a.shape == (12, 18) and a.dtype == np.float64
    assert (a >= 0).all() and (a <= 1).all()
    assert a[0, 0] == pytest.approx(1.0, abs=1e-12) and a[-1, -1] == pytest.approx(1.0, abs=1e-12)
    # Every path crosses each anti-diagonal band: the mass on rows sums to at least 1 per row.
    assert (a.sum(axis=1) >= 1 - 1e-9).all() and (a.sum(axis=0) >= 1 - 1e-9).all()


def test_tends_to_the_dtw_path_as_gamma_vanishes():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(12, 2)), rng.normal(size=(18, 2))
    target = indicator(dtw(x, y)[1], 12, 18)
    errors = [np.abs(soft_alignment(x, y, g) - target).max() for g in (1.0, 0.1, 1e-3)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[-1] < 1e-6


def test_is_the_gradient_of_soft_dtw():
    # ∂ sdtw / ∂ x_i = Σ_j E[A_ij] · 2(x_i − y_j): the chain rule through Δ.
    rng = np.random.default_rng(7)
    x, y, gamma = rng.normal(size=(5, 2)), rng.normal(size=(7, 2)), 0.3
    xt = torch.tensor(x, requires_grad=True)
    soft_dtw(xt, torch.tensor(y), gamma).backward()
    expected = np.einsum("ij,ijd->id", soft_alignment(x, y, gamma), 2 * (x[:, None, :] - y[None, :, :]))
    np.testing.assert_allclose(xt.grad.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_accepts_tensors_lists_and_one_dimensional_input():
    x, y = [0.0, 1.0, 2.0], [0.0, 2.0]
    reference = soft_alignment(np.array(x)[:, None], np.array(y)[:, None], 0.5)
    x_t = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    np.testing.assert_allclose(soft_alignment(x_t, torch.tensor(y), 0.5), reference, rtol=1e-6)
    np.testing.assert_allclose(soft_alignment(x, y, 0.5), reference)
    assert x_t.grad is None  # the input's graph is left alone


SOFT = pytest.mark.parametrize("function", [soft_dtw, soft_alignment])


@SOFT
@pytest.mark.parametrize("gamma, match", [(0.0, "gamma must be a finite number > 0"),
                                          (-1.0, "gamma must be a finite number > 0"),
                                          (float("nan"), "gamma must be a finite number > 0"),
                                          ("1", "gamma must be a positive number")])
def test_rejects_bad_gamma(function, gamma, match):
    with pytest.raises(ValueError, match=f"{function.__name__}: {match}"):
        function(np.zeros((2, 1)), np.zeros((2, 1)), gamma)


@SOFT
@pytest.mark.parametrize("x, y, match", [
    (torch.zeros(0, 2), torch.zeros(3, 2), "x is an empty sequence"),
    (torch.zeros(3, 2), torch.zeros(3, 5), "same number of features"),
    (torch.tensor([[float("nan")]]), torch.zeros(1, 1), "x contains NaN"),
    (np.zeros((2, 1)), np.full((2, 1), np.inf), "y contains NaN or infinite"),
    (np.zeros((2, 2, 2)), np.zeros((2, 2)), r"x must be a sequence of shape \(steps, features\)"),
])
def test_rejects_bad_sequences(function, x, y, match):
    with pytest.raises(ValueError, match=f"{function.__name__}: .*{match}"):
        function(x, y, 1.0)
