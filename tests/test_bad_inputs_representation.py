"""Issue 15, item 3, for Part 2 (representation): fission, coordination, contrastive learning, fusion and the model.

Each call here failed obscurely (an error from deep inside torch, NumPy or scikit-learn) or returned without
complaint on bad input; it now raises a ``ValueError``/``TypeError`` from mmcourse that names the function and the
argument.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mmcourse.encoders import MLPEncoder
from mmcourse.representation import FusionModel
from mmcourse.representation.contrastive import ContrastiveModel, fit_contrastive
from mmcourse.representation.coordination.deep_cca import DeepCCA, fit_deep_cca
from mmcourse.representation.coordination.order import OrderEmbedding, fit_order_embedding, order_violations
from mmcourse.representation.coordination.relations import RelationalCoordination, fit_relational
from mmcourse.representation.fission import (Critic, DeepMultimodalClustering, FactorCL, FactorizedModel, MFM,
                                             cluster_purity, decorrelation_penalty, fit_critic,
                                             fit_deep_clustering, fit_factorcl, fit_factorized, fit_mfm,
                                             gaussian_kl, gaussian_pairs, imq_kernel, info_nce, mmd, nce_club)
from mmcourse.representation.fission.subspaces import (SubspaceResult, fit_isa, isa_objective, modality_share,
                                                       subspace_recovery, subspace_toy)
from mmcourse.representation.fusion.pretrained import pretrain_encoders

NAN = torch.tensor([[float("nan"), 0.0], [1.0, 2.0]])


def _nan(*shape: int) -> torch.Tensor:
    x = torch.zeros(*shape)
    x.view(-1)[0] = float("nan")
    return x


# --- contrastive.clip ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, error, match", [
    (lambda m: m(torch.zeros(5, 3), torch.zeros(4, 3)), ValueError,
     r"ContrastiveModel: mismatched batch sizes: x1 has 5 rows, x2 has 4"),
    (lambda m: fit_contrastive(m, (torch.tensor(1.0), torch.tensor(1.0)), steps=1), ValueError,
     r"fit_contrastive: x1 must be a batch \(n, \.\.\.\) of examples, got shape \(\)"),
    (lambda m: fit_contrastive(m, (_nan(8, 3), torch.zeros(8, 3)), steps=1), ValueError,
     r"fit_contrastive: x1 contains NaN"),
    (lambda m: fit_contrastive(m, (torch.zeros(8, 3), torch.zeros(8, 3)), steps=1, weight_decay="abc"), TypeError,
     r"fit_contrastive: weight_decay must be a number, got str"),
    (lambda m: fit_contrastive(m, (torch.zeros(8, 3), torch.zeros(8, 3)), steps=1, weight_decay=float("nan")),
     ValueError, r"fit_contrastive: weight_decay must be a finite number ≥ 0, got nan"),
])
def test_contrastive_refuses_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call(ContrastiveModel([3, 3], dim=2, width=4))


# --- coordination: deep CCA, order embeddings, relations -------------------------------------------------------------
@pytest.mark.parametrize("call, error, match", [
    (lambda: DeepCCA(3, 2, out_dim=2, reg="abc"), TypeError, r"DeepCCA: reg must be a number, got str"),
    (lambda: DeepCCA(3, 2, out_dim=2, reg=float("nan")), ValueError, r"DeepCCA: reg must be a finite number ≥ 0"),
    (lambda: DeepCCA(3, 2, out_dim=2)(_nan(4, 3), torch.zeros(4, 2)), ValueError, r"DeepCCA: x contains NaN"),
    (lambda: DeepCCA(3, 2, out_dim=2)(torch.zeros(4, 3), torch.zeros(3, 2)), ValueError,
     r"DeepCCA: mismatched batch sizes: x has 4 rows, y has 3"),
    (lambda: fit_deep_cca(DeepCCA(3, 2, out_dim=2), torch.zeros(4, 3), torch.zeros(4, 2), lr=float("nan")),
     ValueError, r"fit_deep_cca: lr must be a finite number > 0, got nan"),
    (lambda: fit_deep_cca(DeepCCA(3, 2, out_dim=2), torch.zeros(4, 3), _nan(4, 2)), ValueError,
     r"fit_deep_cca: y contains NaN"),
])
def test_deep_cca_refuses_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("call, error, match", [
    (lambda m: m(_nan(3, 4), torch.zeros(2, 3)), ValueError, r"OrderEmbedding: x contains NaN"),
    (lambda m: m(torch.zeros(3, 4), torch.zeros(2, 3, dtype=torch.long)), TypeError,
     r"OrderEmbedding: y must be a floating-point tensor, got dtype torch.int64"),
    (lambda m: order_violations([0.1], [0.2], threshold=float("nan")), ValueError,
     r"order_violations: threshold must be a finite number, got nan"),
    (lambda m: fit_order_embedding(m, torch.zeros(2, 4), [1, 2], torch.eye(3), [-1, 0, 0], lr="abc"), TypeError,
     r"fit_order_embedding: lr must be a number, got str"),
    (lambda m: fit_order_embedding(m, _nan(2, 4), [1, 2], torch.eye(3), [-1, 0, 0]), ValueError,
     r"fit_order_embedding: x contains NaN"),
])
def test_order_embedding_refuses_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call(OrderEmbedding(4, 3, out_dim=2))


@pytest.mark.parametrize("x, lr, error, match", [
    (torch.zeros(3, 5), float("nan"), ValueError, r"fit_relational: lr must be a finite number > 0, got nan"),
    (_nan(3, 5), 0.1, ValueError, r"fit_relational: x contains NaN"),
    (torch.zeros(3, 4), 0.1, ValueError, r"fit_relational: x must have shape \(·, 5\), got \(3, 4\)"),
])
def test_fit_relational_refuses_bad_input(x, lr, error, match):
    model = RelationalCoordination(5, 2, relations=1, dim=4, hidden=())
    with pytest.raises(error, match=match):
        fit_relational(model, x, torch.zeros(4, 2), torch.eye(3, 4, dtype=torch.bool)[None], lr=lr, epochs=1)


# --- fission: bounds, critic, MMD ------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, error, match", [
    (lambda: info_nce(NAN), ValueError, r"info_nce: scores contains NaN"),
    (lambda: nce_club(NAN), ValueError, r"nce_club: scores contains NaN"),
    (lambda: Critic(2, 2)(NAN, torch.zeros(2, 2)), ValueError, r"Critic: a contains NaN"),
])
def test_bounds_refuse_nan(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("a, test, error, match", [
    (torch.tensor(1.0), None, ValueError, r"fit_critic: a must have 2 dimensions, got shape \(\)"),
    (_nan(8, 1), None, ValueError, r"fit_critic: a contains NaN"),
    (torch.zeros(8, 1), (_nan(8, 1), torch.zeros(8, 1)), ValueError, r"fit_critic: test\[0\] contains NaN"),
])
def test_fit_critic_refuses_bad_input(a, test, error, match):
    with pytest.raises(error, match=match):
        fit_critic(a, torch.zeros(8, 1), test=test, steps=1)


@pytest.mark.parametrize("call, match", [
    (lambda: imq_kernel(NAN, torch.zeros(3, 2)), r"imq_kernel: a contains NaN"),
    (lambda: mmd(torch.zeros(3, 2), NAN), r"mmd: y contains NaN"),
    (lambda: gaussian_kl(torch.zeros(2, 2), NAN), r"gaussian_kl: logvar contains NaN"),
])
def test_mmd_and_kl_refuse_nan(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- fission: subspaces --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def isa():
    toy = subspace_toy(n=200, owners=("shared", "x1"), dims=(4, 4), seed=0)
    return toy, fit_isa(toy.x, n_groups=2, steps=5)


@pytest.mark.parametrize("call, error, match", [
    (lambda toy, fit: subspace_toy(n=10, noise=float("nan")), ValueError,
     r"subspace_toy: noise must be a finite number ≥ 0, got nan"),
    (lambda toy, fit: subspace_toy(n=10, seed=-3), ValueError, r"subspace_toy: seed must be ≥ 0, got -3"),
    (lambda toy, fit: fit_isa(toy.x, 2, seed=0.5), TypeError, r"fit_isa: seed must be an integer, got float 0.5"),
    (lambda toy, fit: isa_objective([[3.0, 4.0]], 2, eps=float("nan")), ValueError,
     r"isa_objective: eps must be a finite number ≥ 0, got nan"),
    (lambda toy, fit: subspace_recovery(fit, toy.mixing, []), ValueError,
     r"subspace_recovery: true_groups is empty"),
    (lambda toy, fit: subspace_recovery(fit, toy.mixing, ["abc", [2, 3]]), TypeError,
     r"subspace_recovery: true_groups\[0\] must be a non-empty list of integer indices"),
    (lambda toy, fit: subspace_recovery(fit, toy.mixing, [[0, 1], [2, 1003]]), ValueError,
     r"subspace_recovery: true_groups\[1\] must hold indices in 0\.\.3, got \[2, 1003\]"),
    (lambda toy, fit: subspace_recovery(fit, toy.mixing, [[0], [1], [2]]), ValueError,
     r"subspace_recovery: true_groups lists 3 groups, more than the 2 learned subspaces"),
    (lambda toy, fit: modality_share("abc", (4, 4)), TypeError, r"modality_share: result must be a SubspaceResult"),
    (lambda toy, fit: SubspaceResult("pca", "abc", np.zeros(2), [np.arange(2)], 0.0), ValueError,
     r"SubspaceResult: unmixing must be a real numeric array"),
    (lambda toy, fit: SubspaceResult("pca", np.eye(2), np.zeros(3), [np.arange(2)], 0.0), ValueError,
     r"SubspaceResult: mean must have shape \(2,\)"),
    (lambda toy, fit: SubspaceResult("pca", np.eye(2), np.zeros(2), [np.arange(3)], 0.0), ValueError,
     r"SubspaceResult: groups\[0\] must hold indices in 0\.\.1"),
    (lambda toy, fit: SubspaceResult("pca", np.eye(2), np.zeros(2), [np.arange(2)], float("nan")), ValueError,
     r"SubspaceResult: objective must be a finite number, got nan"),
])
def test_subspaces_refuse_bad_input(isa, call, error, match):
    with pytest.raises(error, match=match):
        call(*isa)


# --- fission: clustering -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("labels_true, labels_pred", [
    (["abc", 0, 1], [0, 1, 1]),
    ([0, 1, 1], [0, 12345, "1"]),
])
def test_cluster_purity_refuses_mixed_labels(labels_true, labels_pred):
    with pytest.raises(TypeError, match=r"cluster_purity: labels_\w+ mixes strings with other labels"):
        cluster_purity(labels_true, labels_pred)


@pytest.mark.parametrize("call, error, match", [
    (lambda m, xs: m(torch.zeros(0, 6), torch.zeros(0, 4)), ValueError,
     r"DeepMultimodalClustering: modality 1 is empty \(shape \(0, 6\)\)"),
    (lambda m, xs: fit_deep_clustering(m, xs, seed="abc"), TypeError,
     r"fit_deep_clustering: seed must be an integer, got str"),
    (lambda m, xs: fit_deep_clustering(m, xs, seed=-3), ValueError, r"fit_deep_clustering: seed must be in \[0, "),
])
def test_deep_clustering_refuses_bad_input(call, error, match):
    model = DeepMultimodalClustering((6, 4), num_clusters=3, embed_dim=2, hidden=8)
    with pytest.raises(error, match=match):
        call(model, [torch.rand(10, 6), torch.rand(10, 4)])


# --- fission: FactorCL, factorized model, MFM ------------------------------------------------------------------------
@pytest.mark.parametrize("call, match", [
    (lambda m: m(_nan(4, 8), torch.zeros(4, 8)), r"FactorCL: x1 contains NaN"),
    (lambda m: fit_factorcl(m, torch.zeros(4, 8), _nan(4, 8), torch.zeros(4, dtype=torch.long), steps=1),
     r"fit_factorcl: x2 contains NaN"),
])
def test_factorcl_refuses_nan(call, match):
    with pytest.raises(ValueError, match=match):
        call(FactorCL((8, 8), num_classes=4, dim=2, width=8))


@pytest.mark.parametrize("model, fit, where", [
    (lambda: FactorizedModel((6, 6), 2), fit_factorized, "fit_factorized"),
    (lambda: MFM((6, 6), 2), fit_mfm, "fit_mfm"),
])
@pytest.mark.parametrize("bad", [-1, 1001])
def test_factor_models_refuse_labels_out_of_range(model, fit, where, bad):
    labels = torch.tensor([0, 1, bad, 0])
    with pytest.raises(ValueError, match=rf"{where}: labels must hold integers in 0\.\.1, got values from"):
        fit(model(), ([torch.randn(4, 6), torch.randn(4, 6)], labels), epochs=1, progress=False)


@pytest.mark.parametrize("a, eps, match", [
    (NAN, 1e-5, r"decorrelation_penalty: a contains NaN"),
    (torch.zeros(2, 2), float("nan"), r"decorrelation_penalty: eps must be a finite number ≥ 0, got nan"),
])
def test_decorrelation_penalty_refuses_bad_input(a, eps, match):
    with pytest.raises(ValueError, match=match):
        decorrelation_penalty(a, torch.zeros(2, 2), eps=eps)


# --- fusion.pretrained and the fusion model --------------------------------------------------------------------------
def test_pretrain_encoders_refuses_a_scalar_input():
    with pytest.raises(ValueError, match=r"pretrain_encoders: inputs\[0\] must be a batch \(n, \.\.\.\) of examples"):
        pretrain_encoders([MLPEncoder(12, 4), MLPEncoder(6, 4)], [torch.tensor(1.0), torch.randn(8, 6)],
                          torch.randint(0, 2, (8,)), epochs=1)


def test_fusion_model_refuses_a_rank_that_is_not_an_integer():
    with pytest.raises(TypeError, match=r"FusionModel: rank must be an integer, got str 'abc'"):
        FusionModel([torch.zeros(12), torch.zeros(12)], 2, fusion="tensor", width=8, rank="abc")


def test_gaussian_pairs_still_train_a_critic():
    """The checks leave valid input alone: the example of fit_critic, at a few steps."""
    _, low, high = fit_critic(*gaussian_pairs(64, 0.8, seed=0), steps=2)
    assert np.isfinite([low, high]).all()
