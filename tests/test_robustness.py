"""Part 2.3, robustness: noises, MultiBench's robustness metrics, noise augmentation and missing-modality imputation."""
import doctest
import importlib

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from mmcourse.representation import (DEFAULT_LEVELS, MODALITY_NOISES, NOISES, AugmentedModel, FusionModel,
                                     ModalityDropout, ModalityImputer, NoiseAugmentation, accuracy_missing,
                                     accuracy_under_noise, add_noise, effective_robustness, fit_imputer,
                                     frequency_mask, impute, minmax_normalize, occlusion, relative_robustness,
                                     salt_and_pepper, time_mask)
from mmcourse.training import evaluate, fit


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# --- noises ------------------------------------------------------------------------------------------------------

SHAPES = {"gaussian": (6, 12, 16), "dropout": (6, 12, 16), "salt_and_pepper": (6, 12, 16),
          "occlusion": (6, 8, 8), "time_mask": (6, 12, 16), "frequency_mask": (6, 12, 16)}


def test_registry_covers_every_modality_kind():
    assert set(SHAPES) == set(NOISES)
    assert {k for kinds in MODALITY_NOISES.values() for k in kinds} == set(NOISES)
    assert DEFAULT_LEVELS[0] == 0.0 and DEFAULT_LEVELS[-1] == 1.0 and len(DEFAULT_LEVELS) == 11


@pytest.mark.parametrize("kind", list(NOISES))
def test_level_zero_is_identity_and_input_untouched(kind):
    x = torch.rand(SHAPES[kind])
    copy = x.clone()
    assert torch.equal(add_noise(x, kind, 0.0, gen()), x)
    y = add_noise(x, kind, 0.7, gen())
    assert y.shape == x.shape and y.dtype == x.dtype
    assert torch.equal(x, copy)           # never in place
    assert not torch.equal(y, x)          # a real corruption at level 0.7


@pytest.mark.parametrize("kind", list(NOISES))
def test_same_seed_same_noise_other_seed_other_noise(kind):
    x = torch.rand(SHAPES[kind])
    assert torch.equal(add_noise(x, kind, 0.5, gen(1)), add_noise(x, kind, 0.5, gen(1)))
    assert not torch.equal(add_noise(x, kind, 0.5, gen(1)), add_noise(x, kind, 0.5, gen(2)))


@pytest.mark.parametrize("kind", list(NOISES))
def test_damage_grows_with_level(kind):
    x = torch.rand(200, *SHAPES[kind][1:]) + 0.5
    damage = [(add_noise(x, kind, level, gen()) - x).abs().mean().item() for level in (0.0, 0.3, 0.6, 1.0)]
    assert damage[0] == 0 and all(a < b for a, b in zip(damage, damage[1:])), damage


def test_gaussian_std_is_level_times_signal_std():
    x = 3.0 * torch.randn(20000, 4)
    noise = add_noise(x, "gaussian", 0.4, gen()) - x
    assert abs(noise.std().item() - 0.4 * x.std().item()) < 0.03
    assert abs(noise.mean().item()) < 0.03


def test_feature_dropout_rate():
    y = add_noise(torch.ones(20000, 5), "dropout", 0.35, gen())
    assert set(y.unique().tolist()) == {0.0, 1.0}
    assert abs((y == 0).float().mean().item() - 0.35) < 0.01


def test_salt_and_pepper_rate_and_values():
    x = torch.rand(20000, 5) * 0.8 + 0.1
    y = salt_and_pepper(x, 0.3, gen())
    changed = y != x
    assert abs(changed.float().mean().item() - 0.3) < 0.01
    salt, pepper = (y == x.max()) & changed, (y == x.min()) & changed
    assert torch.equal(salt | pepper, changed)
    assert abs(salt.float().mean().item() - 0.15) < 0.01 and abs(pepper.float().mean().item() - 0.15) < 0.01


def test_occlusion_hides_one_square_of_the_right_size():
    x = torch.rand(50, 2, 8, 8) + 1  # channels too: the same square in each
    y = occlusion(x, 0.25, gen())
    hidden = y == 0
    assert torch.equal(hidden[:, 0], hidden[:, 1])
    assert (hidden[:, 0].sum((1, 2)) == 16).all()
    rows, cols = hidden[:, 0].any(2), hidden[:, 0].any(1)
    assert (rows.sum(1) == 4).all() and (cols.sum(1) == 4).all()  # a 4 x 4 square, not scattered pixels
    assert len({tuple(r.nonzero().flatten().tolist()) for r in rows}) > 1  # placed at random
    assert (occlusion(x, 1.0, gen()) == 0).all()


@pytest.mark.parametrize("fn, axis, length", [(time_mask, 1, 12), (frequency_mask, 2, 16)])
def test_spectrogram_masks_hide_a_contiguous_block(fn, axis, length):
    x = torch.rand(100, 12, 16) + 1
    y = fn(x, 0.5, gen())
    other = 3 - axis
    masked = (y == 0).all(other)  # (n, length): which frames / bins are fully hidden
    assert ((y == 0) == masked.unsqueeze(other)).all()  # nothing else is hidden
    block = round(0.5 * length)
    assert (masked.sum(1) == block).all()
    first = masked.float().argmax(1)
    assert all(masked[i, first[i]:first[i] + block].all() for i in range(100))  # contiguous
    assert len(set(first.tolist())) > 2


def test_time_mask_on_a_plain_time_series():
    y = time_mask(torch.ones(3, 10), 0.3, gen())
    assert ((y == 0).sum(1) == 3).all()


def test_noise_errors_name_the_problem():
    x = torch.rand(4, 8, 8)
    with pytest.raises(ValueError, match="unknown noise kind 'blurr'.*gaussian.*time_mask"):
        add_noise(x, "blurr", 0.5)
    for bad in (-0.1, 1.5, True, "0.5", float("nan")):
        with pytest.raises(ValueError, match=r"level must be a number in \[0, 1\]"):
            add_noise(x, "gaussian", bad)
    with pytest.raises(ValueError, match=r"occlusion: x must have shape \(n, \.\.\., H, W\), got \(4, 64\)"):
        occlusion(torch.rand(4, 64), 0.5)
    with pytest.raises(ValueError, match="frequency_mask: x must have shape"):
        frequency_mask(torch.rand(4, 12), 0.5)
    with pytest.raises(ValueError, match="floating-point"):
        add_noise(torch.ones(3, 2, dtype=torch.long), "dropout", 0.5)
    with pytest.raises(ValueError, match="NaN"):
        add_noise(torch.tensor([[float("nan")]]), "dropout", 0.5)
    with pytest.raises(ValueError, match="generator must be a torch.Generator"):
        add_noise(x, "dropout", 0.5, 0)


# --- metrics -----------------------------------------------------------------------------------------------------

def test_relative_robustness_is_the_trapezoidal_area():
    assert relative_robustness([0.8] * 11) == pytest.approx(0.8)
    assert relative_robustness([1.0, 0.0]) == pytest.approx(0.5)
    curve = [0.9, 0.85, 0.7, 0.4, 0.3, 0.2, 0.2, 0.15, 0.1, 0.1, 0.1]
    # MultiBench's helper: sum of (a_i + a_{i+1}) * 0.1 / 2 over its 11 levels
    multibench = sum((curve[i] + curve[i + 1]) * 0.1 / 2 for i in range(10))
    assert relative_robustness(curve) == pytest.approx(multibench)
    assert relative_robustness(curve, DEFAULT_LEVELS) == pytest.approx(np.trapezoid(curve, DEFAULT_LEVELS))
    # uneven levels: 0 -> 0.2 at 1.0, then 0.2 -> 1 falling to 0: 0.2 + 0.8 * 0.5 = 0.6
    assert relative_robustness([1.0, 1.0, 0.0], [0.0, 0.2, 1.0]) == pytest.approx(0.6)


def test_effective_robustness_on_hand_made_curves():
    baseline = [0.9, 0.8, 0.6, 0.5]
    assert effective_robustness(baseline, baseline) == 0.0
    # the same drops from a different clean accuracy: effective robustness ignores the offset
    assert effective_robustness([0.7, 0.6, 0.4, 0.3], baseline) == pytest.approx(0.0)
    # loses 0.1 less than the baseline at each noisy level: 0.1 + 0.2 + 0.3
    assert effective_robustness([0.7, 0.7, 0.6, 0.6], [0.9, 0.8, 0.6, 0.5]) == pytest.approx(0.1 + 0.2 + 0.3)
    assert effective_robustness([0.9, 0.5, 0.3, 0.2], baseline) < 0
    # MultiBench's helper: beta_f = lf + (f[0] - lf[0]); sum(f - beta_f)
    f, lf = np.array([0.81, 0.77, 0.6, 0.52]), np.array(baseline)
    assert effective_robustness(f, lf) == pytest.approx(np.sum(f - (lf + (f[0] - lf[0]))))


curve_pairs = st.integers(2, 12).flatmap(lambda n: st.tuples(
    st.lists(st.floats(0, 1), min_size=n, max_size=n), st.lists(st.floats(0, 1), min_size=n, max_size=n)))


@settings(max_examples=60, deadline=None)
@given(curve_pairs, st.floats(-0.5, 0.5))
def test_metric_laws(pair, shift):
    a, b = np.array(pair[0]), np.array(pair[1])
    # the area lies between the curve's extremes; effective robustness ignores where either curve starts
    assert a.min() - 1e-9 <= relative_robustness(a) <= a.max() + 1e-9
    assert effective_robustness(a + shift, b) == pytest.approx(effective_robustness(a, b), abs=1e-9)
    assert effective_robustness(a, b + shift) == pytest.approx(effective_robustness(a, b), abs=1e-9)
    assert effective_robustness(a, b) == pytest.approx(-effective_robustness(b, a), abs=1e-9)
    assert relative_robustness(a + shift) == pytest.approx(relative_robustness(a) + shift, abs=1e-9)


def test_minmax_normalize():
    assert minmax_normalize({"a": 2.0, "b": 4.0, "c": 3.0}) == {"a": 0.0, "b": 1.0, "c": 0.5}
    assert minmax_normalize({"a": 1.0, "b": 1.0}) == {"a": 0.0, "b": 0.0}
    with pytest.raises(ValueError, match="non-empty mapping"):
        minmax_normalize({})


def test_metric_errors():
    with pytest.raises(ValueError, match="at least 2 numbers"):
        relative_robustness([0.9])
    with pytest.raises(ValueError, match="levels has 2 values but accuracies has 3"):
        relative_robustness([0.9, 0.8, 0.7], [0.0, 1.0])
    with pytest.raises(ValueError, match="levels must increase"):
        relative_robustness([0.9, 0.8, 0.7], [0.0, 0.5, 0.5])
    with pytest.raises(ValueError, match="baseline has 2 values but accuracies has 3"):
        effective_robustness([0.9, 0.8, 0.7], [0.9, 0.8])
    with pytest.raises(ValueError, match="NaN"):
        effective_robustness([0.9, float("nan")], [0.9, 0.8])


class Sum(nn.Module):
    """A parameter-free 'model': logits = x1 + x2."""

    def forward(self, x1, x2):
        return x1 + x2


def test_accuracy_under_noise_and_missing():
    x = torch.eye(2).repeat(100, 1) * 2
    y = x.argmax(1)
    # one modality alone decides: dropping it costs nothing; noise on it costs nothing either
    assert accuracy_missing(Sum(), ([x, x], y), 1) == 1.0
    assert accuracy_missing(Sum(), ([x, x], y), [0, 1]) == 0.5  # zeros everywhere: argmax picks class 0
    curve = accuracy_under_noise(Sum(), ([x, torch.zeros_like(x)], y), 0, "gaussian", [0.0, 0.5, 1.0, 1.0])
    assert curve[0] == 1.0 and curve[-1] < 1.0 and curve[2] == curve[3]  # seeded: same level, same accuracy
    with pytest.raises(ValueError, match=r"modality must be an index in 0..1"):
        accuracy_missing(Sum(), ([x, x], y), 2)
    with pytest.raises(ValueError, match="unknown noise kind"):
        accuracy_under_noise(Sum(), ([x, x], y), 0, "rain")


# --- robust training ---------------------------------------------------------------------------------------------

def test_noise_augmentation_draws_and_switches_off():
    augment = NoiseAugmentation([["dropout"], ["gaussian", "salt_and_pepper"]], p=1.0, max_level=0.5, seed=3)
    x = torch.rand(1000, 4) + 0.5
    y1, y2 = augment(x, x)
    assert 0 < (y1 == 0).float().mean().item() <= 0.55
    assert not torch.equal(y2, x)
    again = NoiseAugmentation([["dropout"], ["gaussian", "salt_and_pepper"]], p=1.0, max_level=0.5, seed=3)
    assert torch.equal(again(x, x)[0], y1)  # its own seeded generator
    assert all(torch.equal(a, b) for a, b in zip(NoiseAugmentation([["dropout"], []], p=0.0)(x, x), (x, x)))
    augment.eval()
    assert augment(x, x)[0] is x


def test_noise_augmentation_corrupts_a_share_p_of_the_examples():
    x = torch.rand(4000, 5)
    (y,) = NoiseAugmentation([["gaussian"]], p=0.3, seed=1)(x)
    changed = (y != x).any(1)
    assert abs(changed.float().mean().item() - 0.3) < 0.03
    assert torch.equal(y[~changed], x[~changed])


def test_noise_augmentation_errors():
    with pytest.raises(ValueError, match="unknown noise kinds \\['fog'\\]"):
        NoiseAugmentation([["fog"], []])
    with pytest.raises(ValueError, match=r"p must be a probability in \[0, 1\]"):
        NoiseAugmentation([["dropout"]], p=1.5)
    with pytest.raises(ValueError, match=r"max_level must be in \(0, 1\]"):
        NoiseAugmentation([["dropout"]], max_level=0)
    with pytest.raises(ValueError, match="got 1 modalities but kinds for 2"):
        NoiseAugmentation([["dropout"], []])(torch.ones(2, 2))


def test_augmented_model_trains_with_fit_and_corrupts_only_in_training():
    torch.manual_seed(0)
    x1, x2 = torch.randn(512, 6), torch.randn(512, 6)
    y = (x1[:, 0] + x2[:, 0] > 0).long()
    inner = FusionModel([x1[0], x2[0]], 2, "additive", width=8, encoder="mlp")
    model = AugmentedModel(inner, NoiseAugmentation([["gaussian"], ["gaussian"]], p=0.5), ModalityDropout(0.3))
    fit(model, ([x1, x2], y), epochs=15, lr=2e-2, batch_size=128)
    assert evaluate(model, ([x1, x2], y))["accuracy"] > 0.85
    model.eval()
    assert torch.equal(model(x1, x2), inner(x1, x2))
    with pytest.raises(ValueError, match="augmentation 0 must be a torch.nn.Module"):
        AugmentedModel(inner, "dropout")


def test_modality_dropout_training_helps_when_a_modality_is_missing():
    torch.manual_seed(0)
    z = torch.randn(1500, 3)
    x1, x2 = z + 0.3 * torch.randn(1500, 3), z + 0.3 * torch.randn(1500, 3)  # redundant modalities
    y = (z[:, 0] > 0).long()
    scores = {}
    for name, augmentations in (("plain", ()), ("dropout", (ModalityDropout(0.5),))):
        torch.manual_seed(0)
        model = AugmentedModel(FusionModel([x1[0], x2[0]], 2, "additive", width=8, encoder="mlp"), *augmentations)
        fit(model, ([x1[:1000], x2[:1000]], y[:1000]), epochs=15, lr=2e-2, batch_size=128)
        test = ([x1[1000:], x2[1000:]], y[1000:])
        scores[name] = min(accuracy_missing(model, test, 0), accuracy_missing(model, test, 1))
    assert scores["dropout"] > 0.85 and scores["dropout"] >= scores["plain"], scores


# --- imputation --------------------------------------------------------------------------------------------------

def test_linear_imputer_learns_a_linear_map():
    torch.manual_seed(0)
    x = torch.randn(1024, 2, 3)
    weight = torch.randn(6, 4)
    target = (x.reshape(-1, 6) @ weight + 0.5).reshape(-1, 2, 2)
    imputer = ModalityImputer([(2, 3)], (2, 2), hidden=())
    losses = fit_imputer(imputer, [x], target, epochs=150, lr=0.05)
    assert losses[-1] < 1e-4 < losses[0]
    linear = imputer.net[0]
    assert torch.allclose(linear.weight.detach(), weight.T, atol=1e-2)
    assert torch.allclose(linear.bias.detach(), torch.full((4,), 0.5), atol=1e-2)


def test_imputation_beats_zeros_on_redundant_modalities():
    torch.manual_seed(0)
    z = torch.randn(2000, 3)
    # x1 is a noisy view of z, x2 a clean one: the model leans on x2, which x1 can partly predict
    x1, x2 = z @ torch.randn(3, 5) + torch.randn(2000, 5), torch.tanh(z @ torch.randn(3, 4))
    y = (z[:, 1] > 0).long()
    model = FusionModel([x1[0], x2[0]], 2, "additive", width=8, encoder="mlp")
    fit(model, ([x1[:1500], x2[:1500]], y[:1500]), epochs=15, lr=2e-2)
    imputer = ModalityImputer([(5,)], (4,))
    fit_imputer(imputer, [x1[:1500]], x2[:1500], epochs=60)
    test = [x1[1500:], x2[1500:]]
    filled = impute(test, 1, imputer)
    assert torch.equal(filled[0], test[0]) and filled[1].shape == test[1].shape
    full = evaluate(model, (test, y[1500:]))["accuracy"]
    imputed = evaluate(model, (filled, y[1500:]))["accuracy"]
    zeros = accuracy_missing(model, (test, y[1500:]), 1)
    assert zeros + 0.05 < imputed <= full + 0.01, (zeros, imputed, full)


def test_imputer_errors():
    with pytest.raises(ValueError, match="source_shapes is empty"):
        ModalityImputer([], (3,))
    with pytest.raises(ValueError, match="target_shape must hold positive sizes"):
        ModalityImputer([(2,)], (0,))
    imputer = ModalityImputer([(2,)], (3,))
    with pytest.raises(ValueError, match=r"source 0 must have shape \(batch, 2\), got \(4, 5\)"):
        imputer(torch.zeros(4, 5))
    with pytest.raises(ValueError, match="expected 1 source modalities, got 2"):
        imputer(torch.zeros(4, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r"target must have shape \(batch, 3\)"):
        fit_imputer(imputer, [torch.zeros(4, 2)], torch.zeros(4, 2))
    with pytest.raises(ValueError, match="as many rows as target"):
        fit_imputer(imputer, [torch.zeros(5, 2)], torch.zeros(4, 3))
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        fit_imputer(imputer, [torch.zeros(4, 2)], torch.zeros(4, 3), epochs=0)
    with pytest.raises(ValueError, match=r"missing must be an index in 0..1"):
        impute([torch.zeros(4, 2), torch.zeros(4, 3)], 2, imputer)


@pytest.mark.parametrize("module", ["noise", "metrics", "augmentation", "imputation"])
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(f"mmcourse.representation.robustness.{module}"))
    assert result.attempted > 0 and result.failed == 0
