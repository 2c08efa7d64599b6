"""Tests of mmcourse.representation.fission.clustering and .deep_clustering (Part 2.5, fine-grained fission):
purity on hand-made cases and against a brute-force count, the Student-t soft assignment and DEC's target
distribution against the formulas (written out with loops), gradients, the deep multimodal clustering's parts,
error messages, and that it clusters a small two-modality toy cleanly without labels."""
from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmcourse.representation.fission import (RECONSTRUCTIONS, ClusteringHistory, DeepMultimodalClustering,
                                             cluster_purity, fit_deep_clustering, soft_assignment,
                                             target_distribution)
from mmcourse.representation.fission import clustering as clustering_module
from mmcourse.representation.fission import deep_clustering as deep_clustering_module
from mmcourse.utils import set_seed

pytestmark = pytest.mark.filterwarnings("error")


# --- cluster purity --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("true, pred, expected", [
    ([0, 0, 1, 1], [0, 0, 1, 1], 1.0),
    ([0, 0, 1, 1], [1, 1, 0, 0], 1.0),                    # cluster names do not matter
    ([0, 0, 1, 1], [0, 0, 0, 0], 0.5),                    # one cluster: the share of the largest class
    ([0, 1, 2, 3], [0, 1, 2, 3], 1.0),                    # one point per cluster: always pure
    ([0, 0, 0, 1, 1, 2], [4, 4, 9, 9, 9, 9], (2 + 2) / 6),
    (["cat", "cat", "dog"], ["a", "b", "b"], 2 / 3),     # any hashable labels
])
def test_purity_hand_cases(true, pred, expected):
    assert cluster_purity(true, pred) == pytest.approx(expected)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4)), min_size=1, max_size=30))
def test_purity_matches_brute_force(pairs):
    true, pred = map(np.array, zip(*pairs))
    brute = sum(max(np.sum((pred == k) & (true == j)) for j in set(true)) for k in set(pred)) / len(true)
    assert cluster_purity(true, pred) == pytest.approx(brute)
    assert cluster_purity(torch.tensor(true), torch.tensor(pred)) == pytest.approx(brute)
    assert np.bincount(true).max() / len(true) <= cluster_purity(true, pred) + 1e-12 <= 1 + 1e-12


@pytest.mark.parametrize("true, pred, match", [
    ([0, 1], [0, 1, 1], "same length, got 2 and 3"),
    ([], [], "labels_true must be a non-empty 1-D array"),
    ([[0, 1]], [0, 1], r"labels_true must be a non-empty 1-D array of labels, got shape \(1, 2\)"),
])
def test_purity_errors(true, pred, match):
    with pytest.raises(ValueError, match=match):
        cluster_purity(true, pred)


# --- soft assignment and target distribution -------------------------------------------------------------------------
def loops_soft_assignment(z, mu, alpha=1.0):
    q = np.zeros((len(z), len(mu)))
    for i in range(len(z)):
        for j in range(len(mu)):
            q[i, j] = (1 + np.sum((z[i] - mu[j]) ** 2) / alpha) ** (-(alpha + 1) / 2)
        q[i] /= q[i].sum()
    return q


def loops_target(q):
    f = q.sum(axis=0)
    p = np.zeros_like(q)
    for i in range(q.shape[0]):
        for j in range(q.shape[1]):
            p[i, j] = q[i, j] ** 2 / f[j]
        p[i] /= p[i].sum()
    return p


@pytest.mark.parametrize("alpha", [1.0, 0.5, 3.0])
def test_soft_assignment_matches_the_formula(alpha):
    rng = np.random.default_rng(0)
    z, mu = rng.standard_normal((6, 3)), rng.standard_normal((4, 3))
    q = soft_assignment(z, mu, alpha)
    assert isinstance(q, np.ndarray) and q.shape == (6, 4)
    np.testing.assert_allclose(q, loops_soft_assignment(z, mu, alpha), rtol=1e-12)
    np.testing.assert_allclose(q.sum(axis=1), 1.0)
    q_torch = soft_assignment(torch.from_numpy(z), torch.from_numpy(mu), alpha)
    assert isinstance(q_torch, torch.Tensor) and torch.allclose(q_torch, torch.from_numpy(q))


def test_soft_assignment_hand_case_and_nearest_centre():
    q = soft_assignment(np.array([[0.0, 0.0]]), np.array([[0.0, 0.0], [1.0, 1.0], [3.0, 4.0]]))
    np.testing.assert_allclose(q, np.array([[1, 1 / 3, 1 / 26]]) / (1 + 1 / 3 + 1 / 26))
    rng = np.random.default_rng(1)
    z, mu = rng.standard_normal((20, 2)), rng.standard_normal((5, 2))
    nearest = np.argmin(((z[:, None] - mu[None]) ** 2).sum(-1), axis=1)
    assert (soft_assignment(z, mu).argmax(axis=1) == nearest).all()


def test_target_distribution_matches_the_formula_and_sharpens():
    rng = np.random.default_rng(2)
    q = soft_assignment(rng.standard_normal((8, 2)), rng.standard_normal((3, 2)))
    p = target_distribution(q)
    np.testing.assert_allclose(p, loops_target(q), rtol=1e-12)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    balanced = np.array([[0.7, 0.3], [0.3, 0.7]])
    assert (target_distribution(balanced).max(axis=1) > 0.7).all()
    np.testing.assert_allclose(target_distribution(np.array([[0.5, 0.5], [0.75, 0.25]])),
                               [[0.25 / 1.25 / (0.25 / 1.25 + 0.25 / 0.75), 0.25 / 0.75 / (0.25 / 1.25 + 0.25 / 0.75)],
                                [0.5625 / 1.25 / (0.5625 / 1.25 + 0.0625 / 0.75),
                                 0.0625 / 0.75 / (0.5625 / 1.25 + 0.0625 / 0.75)]])


def test_soft_assignment_gradcheck():
    g = torch.Generator().manual_seed(3)
    z = torch.randn(4, 2, generator=g, dtype=torch.float64, requires_grad=True)
    mu = torch.randn(3, 2, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: soft_assignment(a, b, 1.5), (z, mu))


@pytest.mark.parametrize("call, match", [
    (lambda: soft_assignment(np.zeros((3, 2)), np.zeros((2, 3))), "z has 2 features per row but centroids have 3"),
    (lambda: soft_assignment(np.zeros(3), np.zeros((2, 3))), r"z must be 2-D, got shape \(3,\)"),
    (lambda: soft_assignment(np.zeros((3, 2)), np.zeros((2, 2)), alpha=0), "alpha must be a finite number > 0"),
    (lambda: soft_assignment([[0.0]], np.zeros((1, 1))), "z must be a NumPy array or a torch.Tensor, got list"),
    (lambda: soft_assignment(np.full((1, 1), np.nan), np.zeros((1, 1))), "z contains NaN"),
    (lambda: target_distribution(np.array([[0.5, 0.2]])), "q must hold soft assignments"),
    (lambda: target_distribution(np.array([[1.5, -0.5]])), "q must hold soft assignments"),
])
def test_assignment_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


# --- the deep multimodal clustering ----------------------------------------------------------------------------------
def test_model_shapes_and_equations():
    set_seed(0)
    model = DeepMultimodalClustering((4, 6), 3, embed_dim=2, hidden=8)
    model.eval()
    x1, x2 = torch.randn(5, 4), torch.randn(5, 2, 3)              # the second modality is flattened
    z1, z2 = model.embeddings(x1, x2)
    assert z1.shape == z2.shape == (5, 2) and torch.equal(model.embed(x1, x2), torch.cat([z1, z2], 1))
    q = model(x1, x2)
    assert q.shape == (5, 3) and torch.allclose(q, soft_assignment(torch.cat([z1, z2], 1), model.centroids))
    r1, r2 = model.reconstruct(x1, x2)
    assert torch.allclose(r1, model.decoders[0](z2)) and torch.allclose(r2, model.decoders[1](z1))   # cross
    clusters = model.predict(x1, x2)
    assert clusters.dtype == torch.int64 and torch.equal(clusters, q.argmax(1))


def test_self_reconstruction_reads_its_own_modality():
    set_seed(0)
    model = DeepMultimodalClustering((4, 6, 5), 3, embed_dim=2, reconstruction="self")
    model.eval()
    xs = [torch.randn(5, d) for d in (4, 6, 5)]
    zs = model.embeddings(*xs)
    for D, z, r in zip(model.decoders, zs, model.reconstruct(*xs)):
        assert torch.allclose(r, D(z))
    cross = DeepMultimodalClustering((4, 6, 5), 3, embed_dim=2).eval()
    zs = cross.embeddings(*xs)
    assert torch.allclose(cross.reconstruct(*xs)[1], cross.decoders[1](torch.cat([zs[0], zs[2]], 1)))


def test_embedding_units_are_standardised_and_predict_restores_the_mode():
    set_seed(0)
    model = DeepMultimodalClustering((4, 6), 3, embed_dim=2)
    z = model.embed(torch.randn(64, 4), torch.randn(64, 6))        # training mode: batch statistics
    assert torch.allclose(z.mean(0), torch.zeros(4), atol=1e-5) and torch.allclose(z.var(0, unbiased=False),
                                                                                   torch.ones(4), atol=1e-3)
    assert model.training
    model.predict(torch.randn(1, 4), torch.randn(1, 6))            # a single example works in evaluation mode
    assert model.training


def test_gradients_reach_encoders_and_centres():
    set_seed(0)
    model = DeepMultimodalClustering((4, 6), 3, embed_dim=2)
    with torch.no_grad():
        model.centroids.normal_()
    x1, x2 = torch.randn(8, 4), torch.randn(8, 6)
    q = model(x1, x2)
    p = target_distribution(q.detach())
    (p * (p.log() - q.log())).sum(1).mean().backward()
    assert model.centroids.grad.abs().sum() > 0
    assert all(e[0].weight.grad.abs().sum() > 0 for e in model.encoders)


@pytest.mark.parametrize("kwargs, match", [
    (dict(input_dims=()), "input_dims must list the flattened size"),
    (dict(input_dims=(4, -1)), r"input_dims\[1\] must be an integer ≥ 1, got -1"),
    (dict(num_clusters=1), "num_clusters must be an integer ≥ 2, got 1"),
    (dict(embed_dim=0), "embed_dim must be an integer ≥ 1, got 0"),
    (dict(alpha=-1.0), "alpha must be a finite number > 0, got -1.0"),
    (dict(reconstruction="both"), r"reconstruction must be one of \('cross', 'self'\), got 'both'"),
    (dict(input_dims=(4,)), "reconstruction='cross' needs at least 2 modalities"),
])
def test_model_errors(kwargs, match):
    args = dict(input_dims=(4, 6), num_clusters=3) | kwargs
    with pytest.raises(ValueError, match=match):
        DeepMultimodalClustering(args.pop("input_dims"), args.pop("num_clusters"), **args)


def test_forward_and_fit_errors():
    model = DeepMultimodalClustering((4, 6), 3)
    x1, x2 = torch.randn(8, 4), torch.randn(8, 6)
    with pytest.raises(ValueError, match="modality 2 must have 6 features, got 5"):
        model(x1, torch.randn(8, 5))
    with pytest.raises(ValueError, match="expected 2 modalities"):
        model(x1)
    with pytest.raises(TypeError, match="model must be a DeepMultimodalClustering"):
        fit_deep_clustering(torch.nn.Linear(2, 2), [x1, x2])
    with pytest.raises(ValueError, match="pretrain_epochs must be an integer ≥ 0, got -1"):
        fit_deep_clustering(model, [x1, x2], pretrain_epochs=-1)
    with pytest.raises(ValueError, match="recon_weight must be a finite number ≥ 0"):
        fit_deep_clustering(model, [x1, x2], recon_weight=-1.0)
    with pytest.raises(ValueError, match="need at least num_clusters=3 examples, got 2"):
        fit_deep_clustering(model, [x1[:2], x2[:2]])
    with pytest.raises(ValueError, match="mismatched batch sizes"):
        fit_deep_clustering(model, [x1, x2[:5]])


def blobs(n_per=40, seed=0):
    """Three classes; each modality sees its class centre plus private noise of its own, in a different space."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(3).repeat_interleave(n_per)
    centres1, centres2 = 3 * torch.randn(3, 5, generator=g), 3 * torch.randn(3, 7, generator=g)
    x1 = centres1[labels] + torch.randn(len(labels), 5, generator=g)
    x2 = centres2[labels] + torch.randn(len(labels), 7, generator=g)
    return x1, x2, labels


@pytest.mark.parametrize("reconstruction", RECONSTRUCTIONS)
def test_fit_clusters_a_two_modality_toy_without_labels(reconstruction):
    x1, x2, labels = blobs()
    set_seed(0)
    model = DeepMultimodalClustering((5, 7), 3, embed_dim=2, hidden=16, reconstruction=reconstruction)
    history = fit_deep_clustering(model, [x1, x2], pretrain_epochs=30, epochs=10, batch_size=32, progress=False)
    assert isinstance(history, ClusteringHistory)
    assert len(history.pretrain) == 30 and len(history.kl) == len(history.reconstruction) == 10
    assert history.pretrain[-1] < history.pretrain[0]
    assert cluster_purity(labels, model.predict(x1, x2)) >= 0.95


def test_fit_is_deterministic_and_drops_a_last_batch_of_one():
    x1, x2, _ = blobs(n_per=11)                                     # 33 rows, batches of 16: the last has 1
    runs = []
    for _ in range(2):
        set_seed(0)
        model = DeepMultimodalClustering((5, 7), 3, embed_dim=2, hidden=8)
        runs.append(fit_deep_clustering(model, [x1, x2], pretrain_epochs=2, epochs=2, batch_size=16,
                                        progress=False).kl)
    assert runs[0] == runs[1]


@pytest.mark.parametrize("module", [clustering_module, deep_clustering_module], ids=["clustering", "deep"])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
