"""Tests of CCA and deep CCA (Part 2.4): against a whitening-and-SVD computation written here, against scikit-learn,
on planted examples, by the laws CCA obeys (affine invariance, uncorrelated canonical variables), and by gradients."""
import doctest
import importlib

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import sqrtm
from sklearn.cross_decomposition import CCA as SklearnCCA

from mmcourse import set_seed
from mmcourse.representation import CCAResult, DeepCCA, cca, cca_objective, fit_deep_cca


def views(n=400, dx=4, dy=3, shared=2, noise=0.5, seed=0):
    """Two views that share ``shared`` latent signals through random projections, plus private noise."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, shared))
    x = z @ rng.standard_normal((shared, dx)) + noise * rng.standard_normal((n, dx))
    y = z @ rng.standard_normal((shared, dy)) + noise * rng.standard_normal((n, dy))
    return x, y


def whitening_svd(x, y, reg):
    """CCA's correlations, the textbook way: C_xx^{-1/2} C_xy C_yy^{-1/2} by scipy's matrix square root."""
    n = len(x)
    xc, yc = x - x.mean(0), y - y.mean(0)
    cxx = xc.T @ xc / (n - 1) + reg * np.eye(x.shape[1])
    cyy = yc.T @ yc / (n - 1) + reg * np.eye(y.shape[1])
    t = np.linalg.inv(np.real(sqrtm(cxx))) @ (xc.T @ yc / (n - 1)) @ np.linalg.inv(np.real(sqrtm(cyy)))
    return np.linalg.svd(t, compute_uv=False)


# --- cca ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reg", [0.0, 1e-6, 0.1])
def test_cca_matches_whitening_and_svd(reg):
    x, y = views()
    result = cca(x, y, k=3, reg=reg)
    np.testing.assert_allclose(result.correlations, whitening_svd(x, y, reg)[:3], atol=1e-10)


def test_cca_matches_sklearn_on_a_well_conditioned_case():
    x, y = views(n=2000, dx=4, dy=3, seed=1)
    ours = cca(x, y, k=2, reg=0.0).correlations
    model = SklearnCCA(n_components=2, max_iter=2000, tol=1e-10).fit(x, y)
    u, v = model.transform(x, y)
    theirs = [np.corrcoef(u[:, i], v[:, i])[0, 1] for i in range(2)]
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_planted_linear_relation_gives_correlations_near_one():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1000, 3))
    y = x @ rng.standard_normal((3, 3)) + 0.01 * rng.standard_normal((1000, 3))
    assert cca(x, y, k=3).correlations.min() > 0.999
    independent = cca(x, rng.standard_normal((1000, 3)), k=3).correlations
    assert independent.max() < 0.15                    # ≈ sqrt(d / n) of sampling noise, not a relation


def test_known_value_of_a_single_shared_signal():
    # x = s + e1, y = s + e2 with unit variances: corr = var(s) / (var(s) + var(e)) = 1 / (1 + 0.25) = 0.8.
    rng = np.random.default_rng(3)
    s = rng.standard_normal(200_000)
    x = (s + 0.5 * rng.standard_normal(s.size))[:, None]
    y = (s + 0.5 * rng.standard_normal(s.size))[:, None]
    assert cca(x, y, k=1).correlations[0] == pytest.approx(0.8, abs=0.005)


def test_cca_is_invariant_to_affine_maps_of_each_view():
    x, y = views(seed=4)
    rng = np.random.default_rng(5)
    mx, my = rng.standard_normal((4, 4)) + 3 * np.eye(4), rng.standard_normal((3, 3)) + 3 * np.eye(3)
    before = cca(x, y, k=3, reg=0.0)
    after = cca(x @ mx + 7.0, y @ my - 2.0, k=3, reg=0.0)
    np.testing.assert_allclose(after.correlations, before.correlations, atol=1e-10)
    # The canonical variables are the same up to sign.
    u0, v0 = before.transform(x, y)
    u1, v1 = after.transform(x @ mx + 7.0, y @ my - 2.0)
    np.testing.assert_allclose(np.abs(u0), np.abs(u1), atol=1e-8)
    np.testing.assert_allclose(np.abs(v0), np.abs(v1), atol=1e-8)


def test_canonical_variables_are_uncorrelated_with_unit_variance():
    x, y = views(n=500, dx=5, dy=4, shared=3, seed=6)
    result = cca(x, y, k=4, reg=0.0)
    u, v = result.transform(x, y)
    full = np.corrcoef(np.hstack([u, v]).T)
    np.testing.assert_allclose(full[:4, :4], np.eye(4), atol=1e-10)                 # corr(u_i, u_j) = δ_ij
    np.testing.assert_allclose(full[4:, 4:], np.eye(4), atol=1e-10)
    np.testing.assert_allclose(full[:4, 4:], np.diag(result.correlations), atol=1e-10)   # corr(u_i, v_j) = δ_ij ρ_i
    np.testing.assert_allclose(u.var(0, ddof=1), 1.0, atol=1e-10)
    np.testing.assert_allclose(result.score(x, y), result.correlations, atol=1e-10)


@pytest.mark.parametrize("seed", range(5))
def test_correlations_lie_in_the_unit_interval_and_descend(seed):
    x, y = views(n=30, dx=6, dy=5, shared=1, noise=1.0, seed=seed)
    rho = cca(x, y, k=5, reg=1e-3).correlations
    assert rho.shape == (5,) and (rho >= 0).all() and (rho <= 1).all()
    assert (np.diff(rho) <= 1e-12).all()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(12, 40), dx=st.integers(1, 4), dy=st.integers(1, 4))
def test_cca_laws_on_random_data(seed, n, dx, dy):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((n, dx)), rng.standard_normal((n, dy))
    k = min(dx, dy)
    rho = cca(x, y, k=k, reg=0.0).correlations
    assert ((rho >= 0) & (rho <= 1)).all() and (np.diff(rho) <= 1e-12).all()
    np.testing.assert_allclose(rho, whitening_svd(x, y, 0.0)[:k], atol=1e-8)
    # any invertible affine map of a view leaves the correlations as they were
    m = rng.standard_normal((dx, dx)) + 3 * np.eye(dx)
    np.testing.assert_allclose(cca(x @ m + 5.0, y, k=k, reg=0.0).correlations, rho, atol=1e-8)
    # swapping the views swaps the weights and keeps the correlations
    np.testing.assert_allclose(cca(y, x, k=k, reg=0.0).correlations, rho, atol=1e-10)


def test_result_unpacks_and_accepts_tensors():
    x, y = views(seed=7)
    result = cca(torch.tensor(x, dtype=torch.float64, requires_grad=True), torch.tensor(y), k=2)
    assert isinstance(result, CCAResult)
    correlations, x_weights, y_weights, x_mean, y_mean = result
    assert x_weights.shape == (4, 2) and y_weights.shape == (3, 2) and x_mean.shape == (4,) and y_mean.shape == (3,)
    np.testing.assert_allclose(correlations, cca(x, y, k=2).correlations, atol=1e-12)


def test_a_ridge_makes_rank_deficient_views_usable():
    x, y = views(n=200, seed=8)
    x = np.hstack([x, x[:, :1] + x[:, 1:2]])          # a collinear fifth column: C_xx is singular
    with pytest.raises(ValueError, match="covariance of x is singular.*reg > 0"):
        cca(x, y, k=2, reg=0.0)
    rho = cca(x, y, k=2, reg=1e-3).correlations
    np.testing.assert_allclose(rho, whitening_svd(x, y, 1e-3)[:2], atol=1e-10)


def test_cca_errors_name_the_argument():
    x, y = views(n=50)
    with pytest.raises(ValueError, match=r"k must be an integer between 1 and 3 .*got k=4"):
        cca(x, y, k=4)
    with pytest.raises(ValueError, match=r"between 1 and 2 .*n − 1 = 2"):
        cca(x[:3], y[:3], k=3)                         # three samples: rank at most 2
    with pytest.raises(ValueError, match="k must be"):
        cca(x, y, k=0)
    with pytest.raises(ValueError, match="same number of rows"):
        cca(x, y[:10], k=1)
    with pytest.raises(ValueError, match="at least 2 paired samples"):
        cca(x[:1], y[:1], k=1)
    with pytest.raises(ValueError, match=r"x must be a matrix .*shape \(50,\)"):
        cca(x[:, 0], y, k=1)
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="x contains NaN"):
        cca(bad, y, k=1)
    with pytest.raises(ValueError, match="reg must be a finite number >= 0"):
        cca(x, y, k=1, reg=-1.0)
    with pytest.raises(ValueError, match="y must have 3 features"):
        cca(x, y, k=1).transform(x, y[:, :2])
    with pytest.raises(ValueError, match="at least 2 samples to measure a correlation"):
        cca(x, y, k=1).score(x[:1], y[:1])


# --- the deep CCA objective ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 3])
def test_objective_equals_the_sum_of_cca_correlations(k):
    x, y = views(n=100, seed=9)
    value = cca_objective(torch.tensor(x), torch.tensor(y), k=k, reg=1e-3)
    assert value.item() == pytest.approx(cca(x, y, k=k, reg=1e-3).correlations.sum(), abs=1e-10)


def test_default_objective_is_the_total_correlation_trace_norm():
    x, y = views(n=100, seed=10)
    hx, hy = torch.tensor(x), torch.tensor(y)
    xc, yc = hx - hx.mean(0), hy - hy.mean(0)
    n = len(x)
    cxx, cyy = xc.T @ xc / (n - 1) + 0.01 * torch.eye(4), yc.T @ yc / (n - 1) + 0.01 * torch.eye(3)
    t = torch.as_tensor(np.real(np.linalg.inv(sqrtm(cxx.numpy())))) @ (xc.T @ yc / (n - 1)) \
        @ torch.as_tensor(np.real(np.linalg.inv(sqrtm(cyy.numpy()))))
    trace_norm = torch.trace(torch.as_tensor(np.real(sqrtm((t.T @ t).numpy()))))
    assert cca_objective(hx, hy, reg=0.01).item() == pytest.approx(trace_norm.item(), abs=1e-8)


def test_objective_gradients_pass_gradcheck():
    g = torch.Generator().manual_seed(0)
    hx = torch.randn(8, 3, generator=g, dtype=torch.float64, requires_grad=True)
    hy = torch.randn(8, 2, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: cca_objective(a, b, reg=0.1), (hx, hy))
    assert torch.autograd.gradcheck(lambda a, b: cca_objective(a, b, k=1, reg=0.1), (hx, hy))


def test_objective_errors():
    hx, hy = torch.randn(10, 3), torch.randn(10, 2)
    with pytest.raises(ValueError, match="k must be an integer between 1 and 2"):
        cca_objective(hx, hy, k=3)
    with pytest.raises(ValueError, match="same number of rows"):
        cca_objective(hx, hy[:5])
    with pytest.raises(ValueError, match="at least 2 samples"):
        cca_objective(hx[:1], hy[:1])
    with pytest.raises(ValueError, match="hx contains NaN"):
        cca_objective(torch.full((4, 2), float("nan")), hy[:4])
    with pytest.raises(ValueError, match=r"hy must have shape \(batch, features\)"):
        cca_objective(hx, hy[:, 0])
    with pytest.raises(TypeError, match="floating-point"):
        cca_objective(hx.long(), hy)
    with pytest.raises(ValueError, match="singular.*reg > 0"):
        cca_objective(torch.ones(10, 2), hy, reg=0.0)
    with pytest.raises(ValueError, match="reg must be"):
        cca_objective(hx, hy, reg=-0.1)


# --- DeepCCA and its training --------------------------------------------------------------------------------------
def test_deep_cca_forward_loss_and_gradient_flow():
    set_seed(0)
    model = DeepCCA(5, 3, out_dim=2, hidden=(8, 8))
    x, y = torch.randn(20, 5), torch.randn(20, 3)
    hx, hy = model(x, y)
    assert hx.shape == (20, 2) and hy.shape == (20, 2)
    model.loss(x, y).backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name
        # The objective centres its inputs, so the output layers' biases get exactly no gradient; all else does.
        if name.endswith("4.bias"):
            assert parameter.grad.abs().sum() < 1e-5, name
        else:
            assert parameter.grad.abs().sum() > 0, name


def test_deep_cca_finds_a_nonlinear_relation_that_linear_cca_misses():
    # y sees the doubled angle of x's point on the circle: a quadratic relation, linearly uncorrelated.
    rng = np.random.default_rng(0)

    def circle(n):
        theta = rng.uniform(0, 2 * np.pi, n)
        x = np.stack([np.cos(theta), np.sin(theta)], 1) + 0.05 * rng.standard_normal((n, 2))
        y = np.stack([np.cos(2 * theta), np.sin(2 * theta)], 1) + 0.05 * rng.standard_normal((n, 2))
        return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)

    (x, y), (x_test, y_test) = circle(500), circle(500)
    linear = cca(x, y, k=2).score(x_test, y_test)
    set_seed(0)
    model = DeepCCA(2, 2, out_dim=2, hidden=(32,))
    history = fit_deep_cca(model, x, y, epochs=150, lr=1e-2, progress=False)
    assert history[-1] > history[0] + 1.0
    with torch.no_grad():
        deep = cca(*model(x, y), k=2).score(*model(x_test, y_test))
    assert np.abs(linear).sum() < 0.3 and deep.sum() > 1.8, (linear, deep)


def test_fit_deep_cca_minibatches_and_errors():
    set_seed(0)
    model = DeepCCA(3, 3, out_dim=2, hidden=(4,))
    x, y = torch.randn(21, 3), torch.randn(21, 3)
    assert len(fit_deep_cca(model, x, y, epochs=2, batch_size=10, progress=False)) == 2
    with pytest.raises(ValueError, match="batch_size must be an integer >= 2"):
        fit_deep_cca(model, x, y, batch_size=1)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        fit_deep_cca(model, x, y, epochs=0)
    with pytest.raises(TypeError, match="x and y must be torch tensors"):
        fit_deep_cca(model, x.numpy(), y)
    with pytest.raises(TypeError, match="must be a DeepCCA"):
        fit_deep_cca(torch.nn.Linear(2, 2), x, y)
    with pytest.raises(ValueError, match=r"y must be a tensor of shape \(batch, 3\)"):
        model(x, torch.randn(5, 4))
    with pytest.raises(ValueError, match="out_dim must be a positive integer"):
        DeepCCA(3, 3, out_dim=0)
    with pytest.raises(ValueError, match="k must be an integer between 1 and out_dim=2"):
        DeepCCA(3, 3, out_dim=2, k=3)


# --- the docstrings' examples run ------------------------------------------------------------------------------------
@pytest.mark.parametrize("module", [".canonical", ".deep_cca"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module("mmcourse.representation.coordination" + module))
    assert result.attempted > 0 and result.failed == 0
