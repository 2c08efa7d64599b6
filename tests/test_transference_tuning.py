"""Part 6.1, tuning a frozen model: the prefix reader (shapes, the prefix sequence and mask, frozen parameters that
stay put, a trained prefix far above the question-only floor) and MAG's representation shift (the bound
``||alpha H|| <= beta ||Z||`` exactly, beta = 0 gives LayerNorm(Z), the closed form, gradients, errors)."""
import copy
import doctest

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import mmcourse.transference as transference
import mmcourse.transference.transfer.prefix as prefix_module
import mmcourse.transference.transfer.shift as shift_module
from mmcourse import set_seed
from mmcourse.data import load_scenes
from mmcourse.encoders import MLPEncoder
from mmcourse.training import evaluate, fit
from mmcourse.transference import (CaptionReader, ModalityShift, PrefixedReader, PrefixEncoder, ShiftClassifier,
                                   freeze, prefix_inputs, scene_qa_tensors, shift_scale, trainable_parameters)


@pytest.fixture(scope="module")
def scenes():
    data = load_scenes(n_train=600, n_val=10, n_test=200, seed=0)
    return scene_qa_tensors(data["train"]), scene_qa_tensors(data["test"])


# ---------------------------------------------------------------- prefix
def test_scene_qa_tensors(scenes):
    (image, caption, question, answer), _ = scenes
    assert image.shape == (600, 30, 30, 3) and image.dtype == torch.float32
    assert caption.dtype == question.dtype == answer.dtype == torch.long
    assert question.shape == (600, 7) and caption.shape[0] == 600
    with pytest.raises(ValueError, match="missing"):
        scene_qa_tensors({"image": 1})


def test_prefix_inputs_by_hand():
    prefix = torch.arange(12.0).reshape(1, 3, 4)
    words = -torch.ones(1, 2, 4)
    context, keep = prefix_inputs(prefix, words, torch.tensor([[4, 0]]))
    assert torch.equal(context[0, :3], prefix[0]) and torch.equal(context[0, 3:], words[0])
    assert keep.tolist() == [[1.0, 1.0, 1.0, 1.0, 0.0]]
    context, keep = prefix_inputs(prefix, torch.zeros(1, 0, 4), torch.zeros(1, 0, dtype=torch.long))
    assert context.shape == (1, 3, 4) and keep.tolist() == [[1.0, 1.0, 1.0]]
    with pytest.raises(ValueError, match="shapes do not match"):
        prefix_inputs(prefix, torch.zeros(2, 2, 4), torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="expected prefix"):
        prefix_inputs(prefix[0], words, torch.tensor([[4, 0]]))


def test_caption_reader_reads_the_equation():
    torch.manual_seed(0)
    reader = CaptionReader(dim=4, width=5)
    question, caption = torch.randint(1, 10, (3, 7)), torch.randint(1, 10, (3, 6))
    caption[0, 4:] = 0
    logits = reader(question, caption)
    assert logits.shape == (3, 19)
    # by hand: conv over the embedded caption (padding embeds to zero), masked sum of f_t * u, then the MLP
    e = reader.embed(caption)
    f = torch.relu(reader.phrase(e.transpose(1, 2))).transpose(1, 2) * (caption != 0).float().unsqueeze(-1)
    u = reader.query(reader.embed(question).flatten(1))
    assert torch.allclose(logits, reader.answer((f * u.unsqueeze(1)).sum(1)), atol=1e-6)
    # padding is ignored: more padding gives the same answer
    longer = torch.cat([caption, torch.zeros(3, 4, dtype=torch.long)], dim=1)
    assert torch.allclose(reader(question, longer), logits, atol=1e-6)
    with pytest.raises(ValueError, match="question must be word ids"):
        reader(question[:, :5], caption)
    with pytest.raises(ValueError, match="caption must be word ids"):
        reader(question, caption.float())
    with pytest.raises(ValueError, match="context must be"):
        reader.read(question, torch.zeros(3, 2, 7), torch.ones(3, 2))
    with pytest.raises(ValueError, match="dim must be a positive integer"):
        CaptionReader(dim=0)


def test_prefix_encoder_one_group_of_vectors_per_cell():
    torch.manual_seed(0)
    encoder = PrefixEncoder(dim=6, tokens_per_cell=2, hidden=5)
    image = torch.rand(2, 30, 30, 3)
    out = encoder(image)
    assert out.shape == (2, 18, 6)
    changed = image.clone()
    changed[:, 10:20, 20:30] = 0.0  # cell 5 (row 1, column 2) in reading order
    diff = (encoder(changed) - out).abs().sum(dim=(0, 2))
    assert torch.all(diff[10:12] > 0) and torch.all(diff[:10] == 0) and torch.all(diff[12:] == 0)
    assert trainable_parameters(encoder) == 75 * 5 + 5 + 5 * 12 + 12
    with pytest.raises(ValueError, match="image must be"):
        encoder(torch.rand(2, 3, 30, 30))
    with pytest.raises(ValueError, match="tokens_per_cell"):
        PrefixEncoder(tokens_per_cell=0)


def test_prefixed_reader_validation_and_floor():
    reader = CaptionReader(dim=8)
    with pytest.raises(TypeError, match="reader must be a CaptionReader"):
        PrefixedReader(nn.Linear(2, 2), PrefixEncoder(dim=8))
    with pytest.raises(TypeError, match="encoder must be a PrefixEncoder"):
        PrefixedReader(reader, nn.Linear(2, 2))
    with pytest.raises(ValueError, match="vectors of size 16"):
        PrefixedReader(reader, PrefixEncoder(dim=16))
    question = torch.randint(1, 10, (4, 7))
    blind = PrefixedReader(reader, None, k=5)
    # a zero prefix: the answer does not depend on the image
    assert torch.allclose(blind(torch.rand(4, 30, 30, 3), question), blind(torch.zeros(4, 30, 30, 3), question))
    # words after the prefix are read too: a zero prefix plus the caption changes the answer
    caption = torch.randint(1, 10, (4, 6))
    assert not torch.allclose(blind(None, question, caption), blind(None, question))


def test_frozen_reader_stays_put_and_the_prefix_learns(scenes):
    (image, caption, question, answer), (image_t, caption_t, question_t, answer_t) = scenes
    set_seed(0)
    reader = CaptionReader()
    fit(reader, ([question, caption], answer), epochs=30, lr=1e-2, batch_size=200, progress=False)
    ceiling = evaluate(reader, ([question_t, caption_t], answer_t))["accuracy"]
    before = copy.deepcopy(reader.state_dict())
    model = PrefixedReader(freeze(reader), PrefixEncoder())
    n_reader = sum(p.numel() for p in reader.parameters())
    assert trainable_parameters(model) == trainable_parameters(PrefixEncoder()) < n_reader
    set_seed(0)
    fit(model, ([image, question], answer), epochs=30, lr=1e-2, batch_size=200, progress=False)
    assert all(torch.equal(before[k], v) for k, v in reader.state_dict().items())
    tuned = evaluate(model, ([image_t, question_t], answer_t))["accuracy"]
    floor = evaluate(PrefixedReader(reader, None), ([image_t, question_t], answer_t))["accuracy"]
    assert ceiling >= floor + 0.25 and tuned >= floor + 0.15, (ceiling, tuned, floor)  # 0.70, 0.61, 0.41


# ---------------------------------------------------------------- shift
def test_shift_scale_closed_form_and_errors():
    z = torch.tensor([[3.0, 4.0], [1.0, 0.0], [0.0, 2.0]])
    h = torch.tensor([[0.0, 20.0], [0.0, 0.1], [0.0, 0.0]])
    alpha = shift_scale(z, h, beta=2.0)
    assert alpha.shape == (3, 1)
    assert torch.allclose(alpha.flatten(), torch.tensor([0.5, 1.0, 1.0]))  # 2*5/20; capped at 1; H = 0 guarded
    assert torch.isfinite(alpha).all()
    with pytest.raises(ValueError, match="beta must be a finite number >= 0"):
        shift_scale(z, h, beta=-1.0)
    with pytest.raises(ValueError, match="eps must be"):
        shift_scale(z, h, beta=1.0, eps=0.0)
    with pytest.raises(ValueError, match="one shape"):
        shift_scale(z, h[:2], beta=1.0)


@settings(max_examples=60, deadline=None)
# beta is 0 or at least 1e-6: below that, the norms of alpha * H square numbers under 1e-308 (subnormal floats) and
# lose digits, which is the norm's rounding and not the bound's
@given(st.integers(0, 10_000), st.sampled_from([1e-8, 1e-3, 1.0, 1e3, 1e8]),
       st.one_of(st.just(0.0), st.floats(1e-6, 5.0)))
def test_the_bound_holds_exactly(seed, h_scale, beta):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(16, 7, generator=g, dtype=torch.float64) * torch.rand(16, 1, generator=g, dtype=torch.float64)
    h = torch.randn(16, 7, generator=g, dtype=torch.float64) * h_scale
    h[0] = 0.0
    shifted = shift_scale(z, h, beta) * h
    assert torch.all(shifted.norm(dim=1) <= beta * z.norm(dim=1) * (1 + 1e-12))
    # where the bound does not bite (and the guard eps = 1e-6 does not act), nothing is scaled
    free = (h.norm(dim=1) <= beta * z.norm(dim=1)) & (h.norm(dim=1) >= 1e-6)
    assert torch.allclose(shifted[free], h[free])


def test_modality_shift_equation_and_bound():
    torch.manual_seed(0)
    shift = ModalityShift(5, 3, beta=0.3)
    z, a = torch.randn(50, 5) * 4, torch.randn(50, 3) * 100
    h = torch.sigmoid(shift.gate(torch.cat([z, a], 1))) * shift.project(a)
    alpha = torch.clamp(0.3 * z.norm(dim=1, keepdim=True) / h.norm(dim=1, keepdim=True), max=1.0)
    assert torch.allclose(shift.displacement(z, a), alpha * h, atol=1e-5)
    assert torch.allclose(shift(z, a), nn.functional.layer_norm(z + alpha * h, (5,), shift.norm.weight,
                                                               shift.norm.bias), atol=1e-5)
    ratio = shift.displacement(z, a).norm(dim=1) / z.norm(dim=1)
    assert ratio.max() <= 0.3 + 1e-6
    assert (ratio > 0.2999).float().mean() > 0.9  # a huge a: the rows whose gate is open sit on the bound


def test_beta_zero_is_layer_norm_and_gradients_flow():
    torch.manual_seed(0)
    z, a = torch.randn(6, 4), torch.randn(6, 3)
    shift = ModalityShift(4, 3, beta=0.0)
    assert torch.allclose(shift(z, a), shift.norm(z))
    shift = ModalityShift(4, 3, beta=1.0)
    z.requires_grad_(True)
    shift(z, a).pow(2).sum().backward()
    assert z.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in shift.parameters())


def test_modality_shift_errors():
    shift = ModalityShift(4, 3)
    with pytest.raises(ValueError, match=r"expected z \(batch, 4\) and a \(batch, 3\)"):
        shift(torch.zeros(2, 4), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="beta must be"):
        ModalityShift(4, 3, beta=float("nan"))
    with pytest.raises(ValueError, match="beta must be"):
        ModalityShift(4, 3, beta=True)
    with pytest.raises(ValueError, match="primary_dim must be a positive integer"):
        ModalityShift(0, 3)


def test_shift_classifier_frozen_and_trained():
    torch.manual_seed(0)
    x, a = torch.randn(200, 6), torch.randn(200, 4)
    y = (a[:, 0] > 0).long()  # only the secondary modality knows the label
    encoder = freeze(MLPEncoder(6, 8))
    model = ShiftClassifier(encoder, secondary_dim=4, n_classes=2, beta=0.5)
    assert trainable_parameters(model) == trainable_parameters(model.shift) + 8 * 2 + 2
    z, shifted = model.features(x, a)
    assert z.shape == shifted.shape == (200, 8)
    set_seed(0)
    fit(model, ([x, a], y), epochs=30, lr=1e-2, batch_size=200, progress=False)
    blind = ShiftClassifier(encoder, secondary_dim=4, n_classes=2, beta=0.0)  # beta = 0: the shift is off
    set_seed(0)
    fit(blind, ([x, a], y), epochs=30, lr=1e-2, batch_size=200, progress=False)
    shifted, unshifted = evaluate(model, ([x, a], y))["accuracy"], evaluate(blind, ([x, a], y))["accuracy"]
    assert shifted >= unshifted + 0.2, (shifted, unshifted)
    with_secondary = ShiftClassifier(MLPEncoder(6, 8), secondary_dim=5, n_classes=2, secondary=nn.Linear(4, 5))
    assert with_secondary(x, a).shape == (200, 2)
    with pytest.raises(TypeError, match="out_dim"):
        ShiftClassifier(nn.Linear(6, 8), 4, 2)
    with pytest.raises(ValueError, match="n_classes must be a positive integer"):
        ShiftClassifier(MLPEncoder(6, 8), 4, 0)


def test_public_names_and_doctests():
    attempted = 0
    for module in (prefix_module, shift_module):
        assert module.__all__
        for name in module.__all__:
            assert getattr(transference, name) is getattr(module, name)
        result = doctest.testmod(module)
        assert result.failed == 0
        attempted += result.attempted
    assert attempted >= 8
