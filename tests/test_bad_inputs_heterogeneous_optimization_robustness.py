"""Issue 15, item 3: the public names of representation.heterogeneous, .optimization and .robustness refuse bad
input at their door, with a ValueError/TypeError that names the function and the argument."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mmcourse.representation.heterogeneous import (MultimodalMAE, linear_probe, masked_mse, patchify, pretrain_mae,
                                                   search_fusion, successive_halving, transfer_heterogeneity)
from mmcourse.representation.optimization import (LogitSumModel, ModalityDropout, branch_scores, drop_modalities,
                                                  fit_balanced, head_losses, modulate_gradients)
from mmcourse.representation.robustness import (AugmentedModel, ModalityImputer, NoiseAugmentation, fit_imputer,
                                                impute, salt_and_pepper)

NAN = torch.tensor([[float("nan"), 0.0]])


def _pair(n: int = 6, d: int = 4, m: int = 2):
    """``(inputs, labels)`` with ``m`` modalities of ``d`` features and two classes."""
    return [torch.randn(n, d) for _ in range(m)], torch.arange(n) % 2


def test_mae_refuses_bad_input():
    mae, tokens = MultimodalMAE([(4, 2), (3, 5)], width=8), [torch.rand(6, 4, 2), torch.rand(6, 3, 5)]
    bad_rows, bad_values = tokens[0][:5], tokens[0].clone()
    bad_values[0, 0, 0] = float("nan")
    cases = [
        (ValueError, r"MultimodalMAE: mismatched batch sizes: modality 1 has 5 rows, modality 2 has 6",
         lambda: mae(bad_rows, tokens[1])),
        (ValueError, r"MultimodalMAE: modality 1 contains NaN", lambda: mae(bad_values, tokens[1])),
        (ValueError, r"MultimodalMAE: modality 2 is empty", lambda: mae(tokens[0], tokens[1][:0])),
        (TypeError, r"pretrain_mae: model must be a MultimodalMAE, got str", lambda: pretrain_mae("abc", tokens)),
        (ValueError, r"pretrain_mae: modality 1 contains NaN", lambda: pretrain_mae(mae, [bad_values, tokens[1]])),
        (ValueError, r"pretrain_mae: lr must be a finite number > 0, got nan",
         lambda: pretrain_mae(mae, tokens, lr=float("nan"))),
        (TypeError, r"pretrain_mae: seed must be an integer, got float 0.5",
         lambda: pretrain_mae(mae, tokens, seed=0.5)),
        (ValueError, r"masked_mse: prediction contains NaN",
         lambda: masked_mse(torch.full((1, 2, 2), float("nan")), torch.zeros(1, 2, 2), torch.ones(1, 2).bool())),
        (ValueError, r"patchify: x contains NaN", lambda: patchify(torch.full((1, 2, 2), float("nan")), (1, 1))),
        (ValueError, r"linear_probe: seed must be ≥ 0, got -1",
         lambda: linear_probe(np.eye(4), np.r_[0, 0, 1, 1], np.eye(4), np.r_[0, 0, 1, 1], seed=-1)),
    ]
    for error, match, call in cases:
        with pytest.raises(error, match=match):
            call()


@pytest.mark.parametrize("train, match", [
    (([torch.zeros(0, 4)], torch.arange(6) % 2), r"search_fusion: modality 1 has 0 rows but there are 6 labels"),
    (([torch.tensor(1.0)], torch.arange(6) % 2), r"search_fusion: inputs: modality 1 must have a batch axis"),
    (([torch.zeros(6, 4)], "abc"), r"search_fusion: labels must be a 1-D tensor"),
])
def test_search_refuses_bad_data(train, match):
    with pytest.raises(ValueError, match=match):
        search_fusion(train, _pair(m=1), fusions=("additive",), layers=(0,), epochs=1, rounds=1)
    with pytest.raises(TypeError, match=r"successive_halving: build must be callable"):
        successive_halving([1, 2], "abc", _pair(m=1), _pair(m=1))


@pytest.mark.parametrize("spoil, error, match", [
    (lambda xs, y: ("abc", y), TypeError, r"transfer_heterogeneity: inputs must be a list of tensors"),
    (lambda xs, y: ([xs[0], "abc"], y), TypeError, r"transfer_heterogeneity: inputs: modality 2 must be a torch"),
    (lambda xs, y: ([xs[0], xs[1][:5]], y), ValueError, r"transfer_heterogeneity: modality 2 has 5 rows but .* 6"),
    (lambda xs, y: (xs, y[:0]), ValueError, r"transfer_heterogeneity: modality 1 has 6 rows but there are 0 labels"),
])
def test_transfer_heterogeneity_refuses_bad_data(spoil, error, match):
    with pytest.raises(error, match=match):
        transfer_heterogeneity(spoil(*_pair()), _pair(), epochs=1)
    with pytest.raises(error, match=match.replace("transfer_heterogeneity", r"transfer_heterogeneity \(val\)")):
        transfer_heterogeneity(_pair(), spoil(*_pair()), epochs=1)


def test_logit_sum_model_refuses_bad_batches():
    model = LogitSumModel([2, 4], 2)
    with pytest.raises(ValueError, match=r"LogitSumModel: mismatched batch sizes: modality 1 has 6 rows, .* has 5"):
        model(torch.zeros(6, 2), torch.zeros(5, 4))
    with pytest.raises(ValueError, match=r"LogitSumModel: modality 2 contains NaN"):
        model(torch.zeros(1, 2), torch.cat([NAN, NAN], 1))


@pytest.mark.parametrize("call, error, match", [
    (lambda: drop_modalities(["abc"], torch.ones(1, 1).bool()), TypeError,
     r"drop_modalities: xs\[0\] must be a torch.Tensor, got str"),
    (lambda: drop_modalities([torch.tensor(1.0)], torch.ones(1, 1).bool()), ValueError,
     r"drop_modalities: xs\[0\] must have a batch axis"),
    (lambda: drop_modalities([NAN], torch.ones(1, 1).bool()), ValueError, r"drop_modalities: xs\[0\] contains NaN"),
    (lambda: drop_modalities([torch.zeros(1, 2)], "abc"), TypeError, r"drop_modalities: keep must be .*, got str"),
    (lambda: ModalityDropout(0.5)(torch.zeros(1, 2), NAN), ValueError, r"ModalityDropout: xs\[1\] contains NaN"),
    (lambda: ModalityDropout(0.5)("abc", NAN), TypeError, r"ModalityDropout: xs\[0\] must be a torch.Tensor"),
])
def test_dropout_refuses_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("call, error, match", [
    (lambda: branch_scores([torch.zeros(1, 2), "abc"], torch.tensor([1])), TypeError,
     r"branch_scores: branch_logits\[1\] must be a floating-point torch.Tensor, got str"),
    (lambda: branch_scores([NAN, torch.zeros(1, 2)], torch.tensor([1])), ValueError,
     r"branch_scores: branch_logits\[0\] contains NaN"),
    (lambda: branch_scores([torch.zeros(1, 2)] * 2, torch.tensor([2])), ValueError,
     r"branch_scores: labels must hold integers in 0..1, got values from 2 to 2"),
    (lambda: branch_scores([torch.zeros(1, 2)] * 2, torch.tensor([-1])), ValueError,
     r"branch_scores: labels must hold integers in 0..1"),
    (lambda: modulate_gradients([nn.Linear(1, 1), "abc"], [1.0, 1.0]), TypeError,
     r"modulate_gradients: branches\[1\] must be an nn.Module or an iterable of parameters, got str"),
    (lambda: modulate_gradients([nn.Linear(1, 1), [1.0]], [1.0, 1.0]), TypeError,
     r"modulate_gradients: branches\[1\] must be an nn.Module or an iterable of parameters, got list"),
])
def test_ogm_refuses_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_modulate_gradients_takes_a_generator_of_parameters():
    a, b = nn.Linear(2, 1), nn.Linear(2, 1)
    for p in [*a.parameters(), *b.parameters()]:
        p.grad = torch.ones_like(p)
    modulate_gradients([a.parameters(), b], [0.5, 1.0], noise=False)
    assert a.weight.grad.eq(0.5).all() and b.weight.grad.eq(1.0).all()


@pytest.mark.parametrize("kwargs, error, match", [
    ({"momentum": "abc"}, TypeError, r"fit_balanced: momentum must be a number, got str"),
    ({"momentum": float("nan")}, ValueError, r"fit_balanced: momentum must be a finite number ≥ 0, got nan"),
    ({"weight_decay": -1.0}, ValueError, r"fit_balanced: weight_decay must be a finite number ≥ 0"),
    ({"train": ([torch.zeros(4, 2)] * 2, torch.tensor([0, 1, 2, 0]))}, ValueError,
     r"fit_balanced: train labels must hold integers in 0..1, got values from 0 to 2"),
    ({"val": ([torch.zeros(4, 2)] * 2, torch.tensor([0, 1, 5, 0]))}, ValueError,
     r"fit_balanced: val labels must hold integers in 0..1, got values from 0 to 5"),
])
def test_fit_balanced_refuses_bad_input(kwargs, error, match):
    args = {"train": _pair(d=2), **kwargs}
    with pytest.raises(error, match=match):
        fit_balanced(LogitSumModel([2, 2], 2), args.pop("train"), epochs=1, progress=False, **args)


def test_head_losses_refuses_bad_input():
    with pytest.raises(TypeError, match=r"head_losses: model must be a LogitSumModel, got str"):
        head_losses("abc", _pair(d=2))
    with pytest.raises(ValueError, match=r"head_losses: labels must hold integers in 0..1, got values from 0 to 3"):
        head_losses(LogitSumModel([2, 2], 2), ([torch.zeros(2, 2)] * 2, torch.tensor([0, 3])))


@pytest.mark.parametrize("module", [AugmentedModel(nn.Identity()), NoiseAugmentation([["gaussian"], []])])
def test_augmentation_refuses_bad_batches(module):
    name = type(module).__name__
    with pytest.raises(TypeError, match=rf"{name}: xs\[1\] must be a torch.Tensor, got str"):
        module(torch.zeros(2, 2), "abc")
    with pytest.raises(ValueError, match=rf"{name}: xs\[1\] contains NaN"):
        module(torch.zeros(1, 2), NAN)
    with pytest.raises(ValueError, match=rf"{name}: mismatched batch sizes: xs\[0\] has 2 rows, xs\[1\] has 1"):
        module(torch.zeros(2, 2), torch.zeros(1, 2))
    with pytest.raises(ValueError, match=rf"{name}: xs\[0\] must have a batch axis"):
        module(torch.tensor(1.0), torch.zeros(1, 2))
    with pytest.raises(TypeError, match=r"NoiseAugmentation: seed must be an integer, got float 0.5"):
        NoiseAugmentation([["gaussian"]], seed=0.5)


def test_imputation_refuses_bad_input():
    imputer = ModalityImputer([(2,)], (3,), hidden=())
    x, y = torch.zeros(4, 2), torch.zeros(4, 3)
    cases = [
        (TypeError, r"ModalityImputer: sources\[0\] must be a floating-point torch.Tensor, got str",
         lambda: imputer("abc")),
        (ValueError, r"ModalityImputer: sources\[0\] is empty", lambda: imputer(x[:0])),
        (ValueError, r"ModalityImputer: sources\[0\] contains NaN", lambda: imputer(NAN)),
        (TypeError, r"fit_imputer: imputer must be a ModalityImputer, got str", lambda: fit_imputer("abc", [x], y)),
        (ValueError, r"fit_imputer: the imputer reads 1 source modalities, got 3",
         lambda: fit_imputer(imputer, "abc", y)),
        (ValueError, r"fit_imputer: sources\[0\] must have 2 dimensions, got shape \(\)",
         lambda: fit_imputer(imputer, [torch.tensor(1.0)], y)),
        (ValueError, r"fit_imputer: target contains NaN", lambda: fit_imputer(imputer, [x], y * float("nan"))),
        (TypeError, r"fit_imputer: lr must be a number, got str", lambda: fit_imputer(imputer, [x], y, lr="abc")),
        (ValueError, r"fit_imputer: weight_decay must be a finite number ≥ 0, got nan",
         lambda: fit_imputer(imputer, [x], y, weight_decay=float("nan"))),
        (TypeError, r"impute: imputer must be a ModalityImputer, got str", lambda: impute([x, y], 1, "abc")),
        (TypeError, r"impute: inputs\[0\] must be a floating-point torch.Tensor, got str",
         lambda: impute(["abc", y], 1, imputer)),
        (ValueError, r"impute: inputs\[0\] contains NaN", lambda: impute([x * float("nan"), y], 1, imputer)),
        (ValueError, r"impute: mismatched batch sizes: inputs\[0\] has 4 rows, inputs\[1\] has 3",
         lambda: impute([x, y[:3]], 1, imputer)),
        (ValueError, r"impute: inputs\[1\] must have a batch axis",
         lambda: impute([x, torch.tensor(0.0)], 1, imputer)),
    ]
    for error, match, call in cases:
        with pytest.raises(error, match=match):
            call()
    assert impute([x, y * float("nan")], 1, imputer)[1].isfinite().all()  # NaN may mark the missing modality


def test_salt_and_pepper_on_an_empty_batch():
    assert salt_and_pepper(torch.zeros(0, 3), 0.5).shape == (0, 3)
    with pytest.raises(ValueError, match=r"salt_and_pepper: x holds NaN"):
        salt_and_pepper(NAN, 0.5)
