"""Fusion on pretrained, frozen encoders (Part 2.1): pretraining objectives, freezing inside a FusionModel, probes."""
import copy

import pytest
import torch
from torch import nn

from mmcourse import set_seed
from mmcourse.encoders import MLPEncoder, UnimodalClassifier
from mmcourse.representation import (PRETRAINING_OBJECTIVES, Autoencoder, FusionModel, pretrain_encoders,
                                     pretrain_unimodal, with_encoders)
from mmcourse.training import fit
from mmcourse.transference import trainable_parameters


def _pair(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x1, x2 = torch.randn(n, 6, generator=g), torch.randn(n, 5, generator=g)
    y = ((x1[:, 0] > 0) ^ (x2[:, 0] > 0)).long()
    return [x1, x2], y


def test_objectives_registry():
    assert PRETRAINING_OBJECTIVES == ("label", "autoencoder")


def test_autoencoder_is_a_linear_decoder_of_the_features():
    set_seed(0)
    enc = MLPEncoder(4, 3)
    ae = Autoencoder(enc, (4,))
    x = torch.rand(5, 4)
    expected = enc(x) @ ae.decoder.weight.T + ae.decoder.bias                      # x̂ = D enc(x) + d
    torch.testing.assert_close(ae(x), expected)
    torch.testing.assert_close(ae.loss(x), ((expected - x) ** 2).mean())
    assert Autoencoder(enc, (2, 2)).decoder.out_features == 4                       # an image's values, flattened


def test_autoencoder_pretraining_lowers_the_reconstruction_error():
    set_seed(0)
    x = torch.randn(128, 6) @ torch.randn(6, 10)
    enc = MLPEncoder(10, 8)
    model = pretrain_unimodal(enc, x, objective="autoencoder", epochs=150, lr=2e-2)
    assert isinstance(model, Autoencoder) and model.encoder is enc
    assert model.loss(x).item() < 0.25 * (x ** 2).mean().item()     # well below predicting zeros


def test_label_pretraining_trains_the_encoder_in_place():
    set_seed(0)
    (x1, _), _ = _pair(200)
    y = (x1[:, 1] > 0).long()
    enc = MLPEncoder(6, 8)
    start = copy.deepcopy(enc.state_dict())
    model = pretrain_unimodal(enc, x1, y, epochs=60)
    assert isinstance(model, UnimodalClassifier) and model.encoder is enc
    assert not torch.equal(start["net.0.weight"], enc.net[0].weight)
    assert (model(x1).argmax(1) == y).float().mean() > 0.9


def test_pretrain_encoders_one_per_modality_and_unpaired_labels():
    set_seed(0)
    xs = [torch.randn(30, 6), torch.randn(20, 5)]
    ys = [torch.randint(0, 3, (30,)), torch.randint(0, 3, (20,))]
    models = pretrain_encoders([MLPEncoder(6, 4), MLPEncoder(5, 4)], xs, ys, epochs=2)
    assert [m.head.out_features for m in models] == [3, 3]
    models = pretrain_encoders([MLPEncoder(6, 4), MLPEncoder(5, 4)], xs, objective="autoencoder", epochs=2)
    assert [m.decoder.out_features for m in models] == [6, 5]


def test_frozen_encoders_do_not_change_during_fit_and_fusion_does():
    set_seed(0)
    xs, y = _pair()
    model = FusionModel([x[0] for x in xs], 2, "tensor", width=4)
    encoders = [MLPEncoder(6, 4), MLPEncoder(5, 4)]
    with_encoders(model, encoders)
    frozen = copy.deepcopy([e.state_dict() for e in encoders])
    fusion = copy.deepcopy(model.fusion.state_dict())
    fit(model, (xs, y), epochs=3, lr=1e-2, batch_size=16, progress=False)
    for enc, state in zip(model.encoders, frozen):
        for name, value in enc.state_dict().items():
            torch.testing.assert_close(value, state[name], rtol=0, atol=0)
    assert any(not torch.equal(v, fusion[k]) for k, v in model.fusion.state_dict().items())


def test_gradient_reaches_only_fusion_and_head():
    set_seed(0)
    xs, y = _pair()
    model = with_encoders(FusionModel([x[0] for x in xs], 2, "additive", width=4),
                          [MLPEncoder(6, 4), MLPEncoder(5, 4)])
    nn.functional.cross_entropy(model(*xs), y).backward()
    for name, p in model.named_parameters():
        if name.startswith("encoders"):
            assert p.grad is None and not p.requires_grad, name
        else:
            assert p.grad is not None and p.grad.abs().sum() > 0, name
    # fusion 2·(4·4) + 4 = 36, head 4·2 + 2 = 10
    assert trainable_parameters(model) == 46


def test_unfrozen_encoders_train_end_to_end():
    model = FusionModel([torch.zeros(6), torch.zeros(5)], 2, "additive", width=4)
    encoders = [MLPEncoder(6, 4), MLPEncoder(5, 4)]
    with_encoders(FusionModel([torch.zeros(6), torch.zeros(5)], 2, "additive", width=4), encoders)   # frozen once
    with_encoders(model, encoders, frozen=False)                                                     # fine-tuned
    assert model.encoders[0] is encoders[0]
    assert trainable_parameters(model) == 46 + (6 * 4 + 4) + (5 * 4 + 4)


def test_errors_name_the_argument():
    enc = MLPEncoder(6, 4)
    with pytest.raises(ValueError, match="unknown objective 'contrastive'"):
        pretrain_unimodal(enc, torch.zeros(4, 6), objective="contrastive")
    with pytest.raises(TypeError, match="labels must be a torch.Tensor"):
        pretrain_unimodal(enc, torch.zeros(4, 6))
    with pytest.raises(ValueError, match="labels must be"):
        pretrain_unimodal(enc, torch.zeros(4, 6), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="x must be a finite float"):
        pretrain_unimodal(enc, torch.full((4, 6), float("nan")), objective="autoencoder")
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        pretrain_unimodal(enc, torch.zeros(4, 6), objective="autoencoder", epochs=0)
    with pytest.raises(ValueError, match="out_dim"):
        Autoencoder(nn.Linear(6, 4), (6,))
    with pytest.raises(ValueError, match="2 encoders but 1 input"):
        pretrain_encoders([enc, enc], [torch.zeros(4, 6)])
    model = FusionModel([torch.zeros(6), torch.zeros(5)], 2, "additive", width=4)
    with pytest.raises(ValueError, match="the model has 2 modalities, got 1 encoders"):
        with_encoders(model, [enc])
    with pytest.raises(ValueError, match="encoder 2 gives 8 features but the fusion expects 4"):
        with_encoders(model, [enc, MLPEncoder(5, 8)])
    with pytest.raises(TypeError, match="model must be a FusionModel"):
        with_encoders(nn.Linear(2, 2), [enc])
