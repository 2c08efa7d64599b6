"""Tests of mmcourse.representation.model.FusionModel: encoders → fusion → head, for every registered fusion.

Two kinds of toy inputs: interaction-like data (two 12-dim vectors, as in the interaction datasets) and
digits-like data (an 8×8 image and a 12×16 "audio" spectrogram, as in the digits dataset).
"""
from __future__ import annotations

import doctest
import re

import pytest
import torch
from torch import nn

import mmcourse.representation.model as model_module
from mmcourse.encoders import CNNEncoder, MLPEncoder
from mmcourse.representation import FUSIONS, FusionModel
from mmcourse.utils import set_seed

VECTORS = [torch.zeros(12), torch.zeros(12)]
DIGITS = [torch.zeros(8, 8), torch.zeros(12, 16)]
BATCH, WIDTH = 5, 8
RAW = [name for name, cls in FUSIONS.items() if cls.raw_inputs]
ENCODED = [name for name, cls in FUSIONS.items() if not cls.raw_inputs]


def batch_like(samples, batch=BATCH, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, *s.shape, generator=g) for s in samples]


def test_registry_has_early_fusion_as_the_only_raw_input_fusion():
    assert RAW == ["early"]  # the tests below rely on it; a new raw-input fusion should get its own checks


@pytest.mark.parametrize("fusion", list(FUSIONS))
@pytest.mark.parametrize("head", ["linear", "mlp"])
def test_output_shape_on_vectors(fusion, head):
    set_seed(0)
    model = FusionModel(VECTORS, 3, fusion, width=WIDTH, head=head)
    assert model(*batch_like(VECTORS)).shape == (BATCH, 3)
    assert model.fused(*batch_like(VECTORS)).shape == (BATCH, WIDTH)
    assert model.fusion_name == fusion


@pytest.mark.parametrize("fusion", list(FUSIONS))
@pytest.mark.parametrize("encoder", ["auto", "mlp"])
def test_output_shape_on_digits(fusion, encoder):
    set_seed(0)
    model = FusionModel(DIGITS, 10, fusion, width=WIDTH, encoder=encoder)
    xs = batch_like(DIGITS)
    assert model(*xs).shape == (BATCH, 10)
    assert model.fused(*xs).shape == (BATCH, WIDTH)
    assert model.sample_shapes == [(8, 8), (12, 16)]


@pytest.mark.parametrize("fusion", ENCODED)
def test_auto_encoders_follow_the_input_shapes(fusion):
    images = FusionModel(DIGITS, 10, fusion, width=WIDTH, encoder="auto")
    assert all(isinstance(enc, CNNEncoder) for enc in images.encoders)
    assert [enc.image_shape for enc in images.encoders] == [(8, 8), (12, 16)]
    vectors = FusionModel(VECTORS, 2, fusion, width=WIDTH, encoder="auto")
    assert all(isinstance(enc, MLPEncoder) for enc in vectors.encoders)
    assert images.fusion.input_dims == vectors.fusion.input_dims == (WIDTH, WIDTH)
    assert images.fusion.output_dim == WIDTH


@pytest.mark.parametrize("fusion", ENCODED)
def test_mlp_encoders_flatten_every_modality(fusion):
    model = FusionModel(DIGITS, 10, fusion, width=WIDTH, encoder="mlp")
    for enc, size in zip(model.encoders, (64, 192)):
        assert isinstance(enc, nn.Sequential) and isinstance(enc[0], nn.Flatten)
        assert isinstance(enc[1], MLPEncoder) and (enc[1].in_dim, enc[1].out_dim) == (size, WIDTH)
    assert not any(isinstance(m, CNNEncoder) for m in model.modules())


@pytest.mark.parametrize("encoder", ["auto", "mlp"])
@pytest.mark.parametrize("samples, raw_dims", [(VECTORS, (12, 12)), (DIGITS, (64, 192))], ids=["vectors", "digits"])
def test_early_fusion_bypasses_the_encoders(samples, raw_dims, encoder):
    model = FusionModel(samples, 2, "early", width=WIDTH, encoder=encoder)
    assert all(type(enc) is nn.Flatten for enc in model.encoders)
    assert model.fusion.input_dims == raw_dims
    # no encoder parameters: everything learnable sits in the fusion and the head
    assert sum(p.numel() for p in model.encoders.parameters()) == 0
    xs = batch_like(samples)
    expected = model.head(model.fusion(*(x.flatten(1) for x in xs)))
    torch.testing.assert_close(model(*xs), expected)


def test_forward_is_head_of_fused():
    set_seed(0)
    model = FusionModel(VECTORS, 4, "tensor", width=WIDTH)
    xs = batch_like(VECTORS)
    torch.testing.assert_close(model(*xs), model.head(model.fused(*xs)))
    torch.testing.assert_close(model.fused(*xs), model.fusion(*(enc(x) for enc, x in zip(model.encoders, xs))))


def test_heads():
    linear = FusionModel(VECTORS, 3, "additive", width=WIDTH)
    assert isinstance(linear.head, nn.Linear) and (linear.head.in_features, linear.head.out_features) == (WIDTH, 3)
    mlp = FusionModel(VECTORS, 3, "additive", width=WIDTH, head="mlp")
    layers = [type(m) for m in mlp.head]
    assert layers == [nn.Linear, nn.ReLU, nn.Linear]
    assert (mlp.head[0].in_features, mlp.head[0].out_features, mlp.head[2].out_features) == (WIDTH, WIDTH, 3)


@pytest.mark.parametrize("fusion", list(FUSIONS))
@pytest.mark.parametrize("samples, encoder", [(DIGITS, "auto"), (VECTORS, "mlp")], ids=["digits-cnn", "vectors-mlp"])
def test_every_parameter_gets_a_gradient(fusion, samples, encoder):
    set_seed(0)
    model = FusionModel(samples, 3, fusion, width=WIDTH, encoder=encoder, head="mlp")
    xs = batch_like(samples, batch=16, seed=1)
    loss = nn.functional.cross_entropy(model(*xs), torch.arange(16) % 3)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{fusion}: {name} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{fusion}: {name} has a non-finite gradient"
        assert p.grad.abs().sum() > 0, f"{fusion}: {name} has an all-zero gradient"


def test_rank_goes_to_low_rank_only():
    assert FusionModel(VECTORS, 2, "low_rank", width=WIDTH, rank=3).fusion.rank == 3
    assert FusionModel(VECTORS, 2, "low_rank", width=WIDTH).fusion.rank == 4  # the default
    for name in [n for n, cls in FUSIONS.items() if not cls.uses_rank]:
        model = FusionModel(VECTORS, 2, name, width=WIDTH, rank=3)  # accepted and ignored
        assert not hasattr(model.fusion, "rank"), name


def test_fusion_keywords_are_passed_on():
    model = FusionModel(VECTORS, 2, "mixture", width=WIDTH, experts=("additive", "tensor"))
    assert model.fusion.expert_names == ("additive", "tensor")
    with pytest.raises(TypeError, match=r"does not take the keyword 'hidden'"):
        FusionModel(VECTORS, 2, "tensor", width=WIDTH, hidden=4)


def test_three_modalities():
    samples = [torch.zeros(12), torch.zeros(8, 8), torch.zeros(5)]
    model = FusionModel(samples, 2, "tensor", width=4)
    assert model(*batch_like(samples)).shape == (BATCH, 2)
    with pytest.raises(ValueError, match="exactly 2 modalities"):
        FusionModel(samples, 2, "mi_matrix", width=4)


# --- errors ------------------------------------------------------------------------------------------------------
def test_unknown_fusion_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown fusion 'concat'; known fusions: early, late") as info:
        FusionModel(VECTORS, 2, "concat")
    assert all(name in str(info.value) for name in FUSIONS)


@pytest.mark.parametrize("kwargs, message", [
    (dict(head="conv"), r"head must be 'linear' or 'mlp', got 'conv'"),
    (dict(encoder="cnn"), r"encoder must be 'auto' or 'mlp', got 'cnn'"),
    (dict(num_classes=1), r"num_classes must be an integer ≥ 2, got 1"),
    (dict(num_classes=0), r"num_classes must be an integer ≥ 2, got 0"),
    (dict(num_classes=2.0), r"num_classes must be an integer ≥ 2, got 2.0"),
    (dict(num_classes=True), r"num_classes must be an integer ≥ 2, got True"),
    (dict(num_classes="2"), r"num_classes must be an integer ≥ 2, got '2'"),
])
def test_bad_arguments(kwargs, message):
    args = dict(num_classes=2, fusion="additive")
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        FusionModel(VECTORS, **args)


@pytest.mark.parametrize("samples", [[], [torch.zeros(12)]], ids=["none", "one"])
def test_fewer_than_two_modalities(samples):
    with pytest.raises(ValueError, match=f"expected at least 2 modalities, got {len(samples)}"):
        FusionModel(samples, 2, "additive")


@pytest.mark.parametrize("fusion", ["early", "additive"])
@pytest.mark.parametrize("xs, message", [
    ([torch.zeros(5, 11), torch.zeros(5, 12)], "modality 1 must have shape (batch, 12), got (5, 11)"),
    ([torch.zeros(5, 12), torch.zeros(5, 12, 1)], "modality 2 must have shape (batch, 12), got (5, 12, 1)"),
    ([torch.zeros(12), torch.zeros(12)], "modality 1 must have shape (batch, 12), got (12,)"),
], ids=["wrong-size", "extra-axis", "no-batch-axis"])
def test_wrong_input_shapes(fusion, xs, message):
    model = FusionModel(VECTORS, 2, fusion, width=WIDTH)
    with pytest.raises(ValueError, match=re.escape(message)):
        model(*xs)
    with pytest.raises(ValueError, match=re.escape(message)):
        model.fused(*xs)


def test_wrong_image_shape():
    model = FusionModel(DIGITS, 10, "additive", width=WIDTH)
    with pytest.raises(ValueError, match=re.escape("modality 2 must have shape (batch, 12, 16), got (5, 16, 12)")):
        model(torch.zeros(5, 8, 8), torch.zeros(5, 16, 12))


@pytest.mark.parametrize("count", [1, 3])
def test_wrong_number_of_modalities(count):
    model = FusionModel(VECTORS, 2, "tensor", width=WIDTH)
    with pytest.raises(ValueError, match=f"expected 2 modalities, got {count}"):
        model(*[torch.zeros(5, 12)] * count)


@pytest.mark.parametrize("fusion", ["early", "tensor"])
def test_mismatched_batch_sizes(fusion):
    model = FusionModel(VECTORS, 2, fusion, width=WIDTH)
    with pytest.raises(ValueError, match="mismatched batch sizes"):
        model(torch.zeros(5, 12), torch.zeros(4, 12))


def test_docstring_examples():
    result = doctest.testmod(model_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
