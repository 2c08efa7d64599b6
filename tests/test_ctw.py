"""Tests of canonical time warping (mmcourse.alignment.ctw): the uniform start, the path deviation, the CTW
alternation's laws (each half-step optimal, the CCA identity J = 2k − 2Σρ, fixed points, invariance to invertible
maps), recovery of a planted warp across feature spaces, and clear errors."""
import doctest

import numpy as np
import pytest
import torch

import mmcourse.alignment as alignment
import mmcourse.alignment.ctw as ctw_module
from mmcourse.alignment import (CTWResult, canonical_time_warping, diagonal_path, dtw, path_deviation)
from mmcourse.data import make_warped_pair
from mmcourse.representation import cca


def assert_valid_path(path, n, m):
    assert path[0] == (0, 0) and path[-1] == (n - 1, m - 1)
    for (i0, j0), (i1, j1) in zip(path, path[1:]):
        assert (i1 - i0, j1 - j0) in {(1, 0), (0, 1), (1, 1)}


def mixed_pair(seed, d_out=5, noise=0.1):
    """A warped pair whose second sequence is seen through a random linear map into d_out features, plus noise."""
    pair = make_warped_pair("sinusoid", n=60, m=90, d=3, noise=0.05, seed=seed)
    rng = np.random.default_rng(seed)
    y = pair["y"] @ rng.standard_normal((3, d_out)) + noise * rng.standard_normal((90, d_out))
    return pair["x"].astype(np.float64), y, pair["warp"]


def projected_objective(x, y, fit_path, eval_path, k, reg):
    """J of the projections fitted (by CCA) on fit_path, evaluated on eval_path: Σ ‖u_i − v_j‖² / (L_fit − 1)."""
    cells = np.asarray(fit_path)
    fit = cca(x[cells[:, 0]], y[cells[:, 1]], k, reg)
    u, v = (x - fit.x_mean) @ fit.x_weights, (y - fit.y_mean) @ fit.y_weights
    e = np.asarray(eval_path)
    return ((u[e[:, 0]] - v[e[:, 1]]) ** 2).sum() / (len(cells) - 1), fit


# --- diagonal_path and path_deviation -------------------------------------------------------------------------------

@pytest.mark.parametrize("n, m", [(1, 1), (1, 4), (4, 1), (5, 5), (3, 7), (60, 90), (90, 60)])
def test_diagonal_path_is_a_warping_path_near_the_line(n, m):
    path = diagonal_path(n, m)
    assert_valid_path(path, n, m)
    if n > 1 and m > 1:   # every cell within one step of the straight line
        assert max(abs(i / (n - 1) - j / (m - 1)) for i, j in path) <= max(1 / (n - 1), 1 / (m - 1)) + 1e-12
    if n == m:
        assert path == [(i, i) for i in range(n)]


def test_diagonal_path_errors():
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        diagonal_path(0, 3)
    with pytest.raises(ValueError, match="m must be an integer >= 1"):
        diagonal_path(3, 2.5)


def test_path_deviation_by_hand():
    reference = [(0, 0), (1, 0), (2, 1), (2, 2)]
    assert path_deviation(reference, reference) == 0.0
    # (1, 1) is one step from (2, 1), the only cell of reference in column 1; the others lie on it
    assert path_deviation([(0, 0), (1, 1), (2, 2)], reference) == pytest.approx(1 / 3)
    # a cell inside the range that reference visits in its column counts 0: (1, 0) does, (2, 0) is one step off
    assert path_deviation([(0, 0), (1, 0), (2, 0), (2, 1), (2, 2)], reference) == pytest.approx(1 / 5)
    assert path_deviation([(0, 0), (0, 1), (0, 2), (1, 2), (2, 2)], reference) == pytest.approx((2 + 2 + 1) / 5)


def test_path_deviation_errors():
    with pytest.raises(ValueError, match="same cell"):
        path_deviation([(0, 0), (1, 1)], [(0, 0), (1, 1), (2, 2)])
    with pytest.raises(ValueError, match="path must be a warping path"):
        path_deviation([(0, 0), (2, 2)], [(0, 0), (1, 1), (2, 2)])
    with pytest.raises(ValueError, match="reference must be a non-empty"):
        path_deviation([(0, 0)], [])


# --- canonical_time_warping: its laws -------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 2])
def test_same_space_noise_free_pair_ctw_equals_dtw(seed):
    """When x and y share a space and y is x warped, DTW finds the warp at cost 0; CTW, whose projections start
    from CCA on the diagonal, ends on that same path."""
    pair = make_warped_pair("sinusoid", n=40, m=60, d=2, noise=0.0, seed=seed)
    result = canonical_time_warping(pair["x"], pair["y"])
    cost, path = dtw(pair["x"], pair["y"])
    assert cost < 1e-9 and path == pair["warp"]
    assert result.path == path and result.converged


def test_identity_projections_make_the_warp_step_dtw():
    """The DTW half-step with projections fixed to the identity is plain DTW: that is what CTW's transform
    feeds to dtw, so at a fixed point the path is the DTW path of the projected sequences."""
    x, y, _ = mixed_pair(0)
    result = canonical_time_warping(x, y, k=3)
    u, v = result.transform(x, y)
    assert result.converged
    assert dtw(u, v)[1] == result.path
    assert u.shape == (60, 3) and v.shape == (90, 3)


@pytest.mark.parametrize("seed", [0, 1, 5])
def test_objective_is_cca_identity_and_each_half_step_descends(seed):
    x, y, _ = mixed_pair(seed)
    k, reg = 3, 0.0
    result = canonical_time_warping(x, y, k=k, reg=reg, patience=50)
    assert len(result.objectives) == len(result.paths) >= 2
    for t, path in enumerate(result.paths):
        assert_valid_path(path, 60, 90)
        own, fit = projected_objective(x, y, path, path, k, reg)
        # with reg = 0 the CCA step attains J = 2k − 2 Σ ρ (whitened, unit-variance projections)
        assert result.objectives[t] == pytest.approx(own, rel=1e-9)
        assert result.objectives[t] == pytest.approx(2 * k - 2 * fit.correlations.sum(), abs=1e-8)
        if t + 1 < len(result.paths):   # the DTW step never raises J for the projections it was given
            after_warp, _ = projected_objective(x, y, path, result.paths[t + 1], k, reg)
            assert after_warp <= own + 1e-9
    # the returned iterate is the best one, never worse than the diagonal start
    best = int(np.argmin(result.objectives))
    assert result.objective == min(result.objectives) <= result.objectives[0]
    assert result.path == result.paths[best]
    assert result.paths[0] == diagonal_path(60, 90)


def test_invariant_to_invertible_maps_of_either_sequence():
    """Without a ridge CCA, hence CTW, ignores any invertible linear map of a view."""
    x, y, _ = mixed_pair(3)
    rng = np.random.default_rng(7)
    a, b = canonical_time_warping(x, y, k=3, reg=0.0), canonical_time_warping(x, y @ rng.standard_normal((5, 5)),
                                                                              k=3, reg=0.0)
    assert a.path == b.path
    np.testing.assert_allclose(a.objectives, b.objectives, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_recovers_the_warp_through_a_planted_linear_map(seed):
    """y seen through a random 3 → 5 linear map plus noise: CTW lands within one step of the generating warp on
    average, far closer than the uniform alignment; DTW on y mixed within its own 3 features does much worse."""
    x, y, warp = mixed_pair(seed)
    result = canonical_time_warping(x, y, k=3)
    ctw_error = path_deviation(result.path, warp)
    diagonal_error = path_deviation(diagonal_path(60, 90), warp)
    pair = make_warped_pair("sinusoid", n=60, m=90, d=3, noise=0.05, seed=seed)
    rng = np.random.default_rng(100 + seed)
    mixed = pair["y"] @ rng.standard_normal((3, 3)) + 0.1 * rng.standard_normal((90, 3))
    dtw_error = path_deviation(dtw(pair["x"], mixed)[1], warp)
    assert ctw_error < 1.0, ctw_error
    assert ctw_error < 0.6 * diagonal_error and ctw_error < 0.5 * dtw_error, (ctw_error, diagonal_error, dtw_error)
    assert result.cca.correlations.max() > 0.95 and result.cca.correlations.min() > 0.8


def test_accepts_tensors_and_gives_the_same_result():
    x, y, _ = mixed_pair(0)
    a = canonical_time_warping(x, y, k=2)
    b = canonical_time_warping(torch.from_numpy(x), torch.from_numpy(y), k=2)
    assert isinstance(b, CTWResult) and a.path == b.path and a.objective == pytest.approx(b.objective)


def test_max_iter_and_patience_limit_the_iterations():
    x, y, _ = mixed_pair(4)
    assert len(canonical_time_warping(x, y, max_iter=1).objectives) == 1
    assert not canonical_time_warping(x, y, max_iter=1).converged
    full = canonical_time_warping(x, y, patience=1)
    assert all(b < a for a, b in zip(full.objectives, full.objectives[1:-1]))


# --- errors ---------------------------------------------------------------------------------------------------------

def test_errors_name_the_argument():
    x, y, _ = mixed_pair(0)
    with pytest.raises(ValueError, match=r"k must be an integer between 1 and min\(d_x, d_y\) = 3"):
        canonical_time_warping(x, y, k=4)
    with pytest.raises(ValueError, match="k must be an integer"):
        canonical_time_warping(x, y, k=0)
    with pytest.raises(ValueError, match=r"x must be a sequence of shape \(steps, features\)"):
        canonical_time_warping(x[:, 0], y)
    with pytest.raises(ValueError, match="y is an empty sequence"):
        canonical_time_warping(x, np.zeros((0, 5)))
    with pytest.raises(ValueError, match="y must have at least 2 frames"):
        canonical_time_warping(x, y[:1])
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="x contains NaN"):
        canonical_time_warping(bad, y)
    with pytest.raises(ValueError, match="max_iter must be an integer >= 1"):
        canonical_time_warping(x, y, max_iter=0)
    with pytest.raises(ValueError, match="patience must be an integer >= 1"):
        canonical_time_warping(x, y, patience=0)
    with pytest.raises(ValueError, match="reg must be a finite number >= 0"):
        canonical_time_warping(x, y, reg=-1.0)
    result = canonical_time_warping(x, y, max_iter=1)
    with pytest.raises(ValueError, match="y must have 5 features"):
        result.transform(x, x)


def test_public_names_and_doctests():
    for name in ctw_module.__all__:
        assert getattr(alignment, name) is getattr(ctw_module, name)
    assert not hasattr(alignment, "ctw") or alignment.ctw is ctw_module   # the submodule is not shadowed
    result = doctest.testmod(ctw_module)
    assert result.attempted >= 3 and result.failed == 0
