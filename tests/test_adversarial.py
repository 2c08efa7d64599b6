"""Tests of adversarial warping of spaces (mmcourse.alignment.adversarial): the Procrustes solution against SciPy and
brute force, the orthogonality update's law on singular values, mutual nearest neighbours against loops, the
losses' values and gradient flow, the toy clouds, and recovery of a planted rotation without pairs."""
import doctest

import numpy as np
import pytest
import torch
from scipy.linalg import orthogonal_procrustes
from scipy.stats import ortho_group

import mmcourse.alignment as alignment
import mmcourse.alignment.adversarial as adversarial_module
import mmcourse.alignment.orthogonal as orthogonal_module
from mmcourse.alignment import (AdversarialMapping, AdversarialResult, fit_adversarial_mapping, make_rotated_clouds,
                                translation_accuracy, mutual_nearest_neighbours, orthogonalize, procrustes,
                                procrustes_refinement)


# --- procrustes -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("d", [1, 2, 5])
def test_procrustes_is_orthogonal_and_matches_scipy(d):
    rng = np.random.default_rng(d)
    x, y = rng.standard_normal((30, d)), rng.standard_normal((30, d))
    w = procrustes(x, y)
    np.testing.assert_allclose(w.T @ w, np.eye(d), atol=1e-12)
    r, _ = orthogonal_procrustes(x, y)            # SciPy: argmin ‖x R − y‖, so R = Wᵀ
    np.testing.assert_allclose(w, r.T, atol=1e-10)
    # no orthogonal matrix does better
    best = np.sum((x @ w.T - y) ** 2)
    for seed in range(20):
        q = ortho_group.rvs(d, random_state=seed) if d > 1 else np.array([[-1.0]])
        assert best <= np.sum((x @ q.T - y) ** 2) + 1e-9


@pytest.mark.parametrize("seed", range(3))
def test_procrustes_recovers_a_planted_orthogonal_map_exactly(seed):
    q = ortho_group.rvs(4, random_state=seed)      # rotations and reflections alike
    x = np.random.default_rng(seed).standard_normal((10, 4))
    np.testing.assert_allclose(procrustes(x, x @ q.T), q, atol=1e-10)
    np.testing.assert_allclose(procrustes(torch.from_numpy(x), torch.from_numpy(x @ q.T)), q, atol=1e-10)


def test_procrustes_errors():
    with pytest.raises(ValueError, match="same shape"):
        procrustes(np.ones((3, 2)), np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"x must be a non-empty point cloud"):
        procrustes(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="y contains NaN"):
        procrustes(np.ones((2, 2)), np.full((2, 2), np.nan))


# --- orthogonalize --------------------------------------------------------------------------------------------------

def test_orthogonalize_fixes_orthogonal_matrices_and_maps_singular_values():
    q = ortho_group.rvs(3, random_state=0)
    np.testing.assert_allclose(orthogonalize(q, 0.1), q, atol=1e-12)
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 3))
    beta = 0.05
    s = np.linalg.svd(w, compute_uv=False)
    np.testing.assert_allclose(np.linalg.svd(orthogonalize(w, beta), compute_uv=False),
                               np.sort(np.abs((1 + beta) * s - beta * s ** 3))[::-1], rtol=1e-10)
    near = q + 0.1 * rng.standard_normal((3, 3))   # repeated, the update converges to an orthogonal matrix
    for _ in range(500):
        near = orthogonalize(near, 0.1)
    np.testing.assert_allclose(near.T @ near, np.eye(3), atol=1e-8)


def test_orthogonalize_keeps_tensors_and_their_graph():
    w = torch.eye(2, dtype=torch.float64, requires_grad=True)
    out = orthogonalize(w * 2, 0.1)
    assert isinstance(out, torch.Tensor) and out.requires_grad
    out.sum().backward()   # Σ(2.2 w − 0.8 w wᵀ w): at w = I each of the three factors of w wᵀ w gives 1, so 2.2 − 2.4
    np.testing.assert_allclose(w.grad.numpy(), np.full((2, 2), 2.2 - 2.4), atol=1e-12)


def test_orthogonalize_errors():
    with pytest.raises(ValueError, match=r"beta must be a number in \(0, 1\)"):
        orthogonalize(np.eye(2), 0.0)
    with pytest.raises(ValueError, match="weight must be a square matrix"):
        orthogonalize(np.ones((2, 3)), 0.1)


# --- mutual nearest neighbours, accuracy, refinement ----------------------------------------------------------------

def test_mutual_nearest_neighbours_against_loops():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((40, 3)), rng.standard_normal((30, 3))
    i, j = mutual_nearest_neighbours(a, b)
    expected = [(p, q) for p in range(40) for q in range(30)
                if np.argmin(((b - a[p]) ** 2).sum(1)) == q and np.argmin(((a - b[q]) ** 2).sum(1)) == p]
    assert list(zip(i.tolist(), j.tolist())) == expected
    with pytest.raises(ValueError, match="same number of features"):
        mutual_nearest_neighbours(a, b[:, :2])


def test_translation_accuracy_counts_true_partners():
    clouds = make_rotated_clouds(n=80, d=3, noise=0.0, seed=1)
    x, y, q, partner = clouds["x"], clouds["y"], clouds["rotation"], clouds["partner"]
    assert translation_accuracy(x, y, q, partner) == 1.0
    assert translation_accuracy(x, y, np.eye(3), partner) < 0.2
    assert translation_accuracy(x, y, q, np.roll(partner, 1)) == 0.0
    with pytest.raises(ValueError, match="partner must hold one index into y"):
        translation_accuracy(x, y, q, partner[:-1])
    with pytest.raises(ValueError, match=r"weight must be a square matrix of shape \(3, 3\)"):
        translation_accuracy(x, y, np.eye(2), partner)


def test_procrustes_refinement_finishes_a_rough_map():
    clouds = make_rotated_clouds(n=200, d=4, noise=0.01, seed=2)
    x, y, q, partner = clouds["x"], clouds["y"], clouds["rotation"], clouds["partner"]
    rough = q + 0.15 * np.random.default_rng(0).standard_normal((4, 4))
    refined = procrustes_refinement(x, y, rough, iterations=5)
    assert translation_accuracy(x, y, rough, partner) < 0.7
    assert translation_accuracy(x, y, refined, partner) > 0.95
    np.testing.assert_allclose(refined, q, atol=0.01)
    np.testing.assert_array_equal(procrustes_refinement(x, y, rough, iterations=0), rough)
    with pytest.raises(ValueError, match="iterations must be an integer >= 0"):
        procrustes_refinement(x, y, rough, iterations=-1)


# --- the adversarial module -----------------------------------------------------------------------------------------

def test_losses_equal_log_two_for_an_undecided_discriminator():
    model = AdversarialMapping(3).double()
    last = model.discriminator[-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)                  # D outputs logit 0: probability 1/2 for every point
    x, y = torch.randn(5, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    for smoothing in (0.0, 0.2):
        assert model.discriminator_loss(x, y, smoothing).item() == pytest.approx(np.log(2))
        assert model.mapping_loss(x, y, smoothing).item() == pytest.approx(np.log(2))


def test_gradient_flow_discriminator_and_mapping():
    torch.manual_seed(0)
    model = AdversarialMapping(3, hidden=8).double()
    x, y = torch.randn(6, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    model.discriminator_loss(x, y).backward()
    assert model.weight.grad is None                  # the map is held fixed for the discriminator
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.discriminator.parameters())
    model.zero_grad(set_to_none=True)
    model.mapping_loss(x, y).backward()
    assert model.weight.grad is not None and model.weight.grad.abs().sum() > 0
    # the map's gradient is the true derivative of L_W (float64 finite differences)
    assert torch.autograd.gradcheck(lambda w: AdversarialMapping.mapping_loss(_with_weight(model, w), x, y),
                                    (model.weight.detach().clone().requires_grad_(True),))


def _with_weight(model, weight):
    """The model with W replaced by a differentiable leaf (for gradcheck)."""
    clone = AdversarialMapping(3, hidden=8).double()
    clone.discriminator.load_state_dict(model.discriminator.state_dict())
    del clone.weight
    clone.weight = weight
    return clone


def test_orthogonalize_in_place_and_module_errors():
    model = AdversarialMapping(2, init=2 * np.eye(2))
    model.orthogonalize_(0.1)
    np.testing.assert_allclose(model.weight.detach().numpy(), 1.4 * np.eye(2), rtol=1e-6)
    with pytest.raises(ValueError, match="dim must be an integer >= 1"):
        AdversarialMapping(0)
    with pytest.raises(ValueError, match=r"weight must be a square matrix of shape \(2, 2\)"):
        AdversarialMapping(2, init=np.eye(3))
    with pytest.raises(ValueError, match=r"x and y must be \(points, 2\) tensors"):
        model.mapping_loss(torch.randn(4, 2), torch.randn(4, 3))


# --- the toy and the whole method -----------------------------------------------------------------------------------

def test_make_rotated_clouds():
    clouds = make_rotated_clouds(n=60, d=3, noise=0.0, seed=4)
    x, y, q, partner = clouds["x"], clouds["y"], clouds["rotation"], clouds["partner"]
    assert x.shape == y.shape == (60, 3) and sorted(partner.tolist()) == list(range(60))
    np.testing.assert_allclose(q.T @ q, np.eye(3), atol=1e-12)
    assert np.linalg.det(q) == pytest.approx(1.0)
    np.testing.assert_allclose(y[partner], x @ q.T, atol=1e-12)
    np.testing.assert_allclose(x.mean(0), 0, atol=1e-12)
    again = make_rotated_clouds(n=60, d=3, noise=0.0, seed=4)
    np.testing.assert_array_equal(again["y"], y)
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        make_rotated_clouds(n=1)
    with pytest.raises(ValueError, match="noise must be a finite number >= 0"):
        make_rotated_clouds(noise=-0.1)


def test_fit_recovers_a_planted_rotation_without_pairs():
    clouds = make_rotated_clouds(n=300, d=2, seed=1)
    x, y, q, partner = clouds["x"], clouds["y"], clouds["rotation"], clouds["partner"]
    state = torch.get_rng_state()
    result = fit_adversarial_mapping(x, y, restarts=3, seed=1)          # 3 of the default 8, to keep the test short
    assert torch.equal(state, torch.get_rng_state())          # torch's global generator is left alone
    assert isinstance(result, AdversarialResult) and len(result.criterion) == 3
    before = translation_accuracy(x, y, np.eye(2), partner)
    adversarial = translation_accuracy(x, y, result.adversarial_weight, partner)
    refined = translation_accuracy(x, y, result.refined_weight, partner)
    ceiling = translation_accuracy(x, y, q, partner)
    assert before < 0.05 and adversarial > before + 0.2 and refined >= ceiling - 0.01, (before, adversarial, refined)
    np.testing.assert_allclose(result.refined_weight, q, atol=0.01)
    assert result.best == int(np.argmin(result.criterion)) and len(result.losses) == 100
    assert len(result.restart_weights) == 3 and result.restart_weights[result.best] is result.refined_weight


def test_fit_is_deterministic_and_checks_its_arguments():
    clouds = make_rotated_clouds(n=60, seed=0)
    x, y = clouds["x"], clouds["y"]
    a = fit_adversarial_mapping(x, y, steps=10, restarts=2, seed=3)
    b = fit_adversarial_mapping(x, y, steps=10, restarts=2, seed=3)
    np.testing.assert_array_equal(a.refined_weight, b.refined_weight)
    assert a.losses == b.losses
    with pytest.raises(ValueError, match="restarts must be an integer >= 1"):
        fit_adversarial_mapping(x, y, restarts=0)
    with pytest.raises(ValueError, match=r"smoothing must be a number in \[0, 0.5\)"):
        fit_adversarial_mapping(x, y, smoothing=0.5)
    with pytest.raises(ValueError, match="beta must be a number"):
        fit_adversarial_mapping(x, y, beta=2.0)
    with pytest.raises(ValueError, match="same number of features"):
        fit_adversarial_mapping(x, np.ones((5, 3)))


def test_public_names_and_doctests():
    attempted = 0
    for module in (orthogonal_module, adversarial_module):
        for name in module.__all__:
            assert getattr(alignment, name) is getattr(module, name)
        result = doctest.testmod(module)
        assert result.failed == 0
        attempted += result.attempted
    assert attempted >= 6
