"""Tests of mmcourse.quantification.heterogeneity: information bound, noise sensitivity, modality importance and
the transfer distance, on tiny worlds where the answer is known."""
from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import entropy as scipy_entropy
from torch import nn

import mmcourse.quantification.heterogeneity as heterogeneity
from mmcourse.data import load_dataset
from mmcourse.quantification import (Heterogeneity, NoiseSensitivity, information_lower_bound, label_entropy,
                                     measure_heterogeneity, modality_importance, modality_information,
                                     noise_sensitivity, train_unimodal, transfer_distance)
from mmcourse.representation import relative_robustness, transfer_heterogeneity


def world(n: int, seed: int):
    """Three classes from a 4-d latent; modalities: a linear reading, the same with permuted features, pure noise."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, 4, generator=g)
    y = (z[:, 0] > 0).long() + (z[:, 1] > 0).long()
    x = z @ torch.randn(4, 8, generator=torch.Generator().manual_seed(1)) + 0.1 * torch.randn(n, 8, generator=g)
    perm = torch.randperm(8, generator=torch.Generator().manual_seed(2))
    return [x, x[:, perm], torch.randn(n, 6, generator=g)], y


@pytest.fixture(scope="module")
def data():
    train, val, test = world(400, 0), world(300, 1), world(1000, 2)
    return train, val, test, train_unimodal(train, stem=8, epochs=30)  # a stem narrower than the input


# --- label_entropy, information_lower_bound ----------------------------------------------------------------------
def test_label_entropy_matches_scipy():
    y = np.array([0, 0, 1, 2, 2, 2, 3])
    assert label_entropy(y) == pytest.approx(scipy_entropy(np.bincount(y), base=2))
    assert label_entropy(torch.tensor([1, 1])) == 0.0


def test_bound_by_hand():
    # H(Y) = 1 bit; CE = -(log2 0.8 + log2 0.6) / 2
    p, y = [[0.8, 0.2], [0.4, 0.6]], [0, 1]
    assert information_lower_bound(p, y) == pytest.approx(1 + (np.log2(0.8) + np.log2(0.6)) / 2)
    assert information_lower_bound([[1, 0], [0, 1], [0, 1], [0, 1]], [0, 1, 1, 1]) == pytest.approx(
        scipy_entropy([1, 3], base=2))  # a perfect classifier recovers H(Y)
    assert information_lower_bound([[0.1, 0.9], [0.9, 0.1]], [0, 1]) == 0.0  # confidently wrong: clipped


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 5), st.integers(2, 40), st.integers(0, 10_000))
def test_bound_lies_between_zero_and_the_label_entropy(c, n, seed):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(c), size=n)
    y = rng.integers(0, c, n)
    assert 0.0 <= information_lower_bound(p, y) <= label_entropy(y) + 1e-12


@pytest.mark.parametrize("p, y, match", [
    ([0.5, 0.5], [0], "must be \\(n, C\\)"),
    ([[0.5, 0.6]], [0], "sum to 1"),
    ([[0.5, 0.5]], [2], "integers in 0..1"),
    ([[np.nan, 1.0]], [0], "NaN"),
])
def test_bound_rejects_bad_input(p, y, match):
    with pytest.raises(ValueError, match=match):
        information_lower_bound(p, y)


# --- train_unimodal, modality_information -------------------------------------------------------------------------
def test_train_unimodal_is_deterministic_and_shaped(data):
    train, *_ = data
    a, b = train_unimodal(train, epochs=2, seed=3), train_unimodal(train, epochs=2, seed=3)
    assert [m(x).shape for m, x in zip(a, train[0])] == [torch.Size([400, 3])] * 3
    assert all(torch.equal(p, q) for m, n in zip(a, b) for p, q in zip(m.parameters(), n.parameters()))
    assert a[0][1].out_features == 16  # the default stem


def test_information_of_a_pure_noise_modality_is_about_zero(data):
    train, val, test, models = data
    info = modality_information(models, val, test)
    assert info["entropy"] == pytest.approx(label_entropy(test[1]))
    assert (info["bits"] <= info["entropy"]).all() and (info["bits"] >= 0).all()
    assert info["bits"][0] >= 0.6 * info["entropy"] and info["accuracy"][0] >= 0.9, info
    assert abs(info["bits"][0] - info["bits"][1]) <= 0.15, info  # a permutation changes nothing
    assert info["bits"][2] <= 0.05 and info["accuracy"][2] <= 0.5, info  # noise: no bits, near chance (3 classes)


def test_information_errors(data):
    train, val, test, models = data
    with pytest.raises(ValueError, match="has 3 modalities, expected 2"):
        modality_information(models[:2], val, test)
    with pytest.raises(ValueError, match="labels of test must be a 1-D integer tensor"):
        modality_information(models, val, (test[0], test[1].float()))
    with pytest.raises(ValueError, match="one tensor per modality with 1000 rows"):
        modality_information(models, val, ([x[:10] for x in test[0]], test[1]))
    with pytest.raises(ValueError, match="hidden\\[0\\] must be a positive integer"):
        train_unimodal(train, hidden=(0,))


# --- noise_sensitivity, modality_importance -----------------------------------------------------------------------
def test_noise_curves_of_unimodal_and_multimodal_models(data):
    train, val, test, models = data
    levels = [0.0, 0.5, 1.0]
    noise = noise_sensitivity(models, test, kinds="dropout", levels=levels)
    assert isinstance(noise, NoiseSensitivity) and noise.curves.shape == (3, 3) and noise.kinds == ("dropout",) * 3
    clean = [(m(x).argmax(1) == test[1]).float().mean().item() for m, x in zip(models, test[0])]
    assert np.allclose(noise.curves[:, 0], clean)
    assert noise.curves[0, -1] < 0.5 < noise.curves[0, 0]  # every entry dropped: the reading is gone
    assert np.allclose(noise.drop, noise.curves[:, 0] - noise.curves[:, -1])
    assert noise.robustness[1] == pytest.approx(relative_robustness(noise.curves[1], levels))

    class FirstOnly(nn.Module):  # a multimodal model that reads modality 0 through its unimodal classifier
        def __init__(self):
            super().__init__()
            self.model = models[0]

        def forward(self, *xs):
            return self.model(xs[0])

    as_module_list = noise_sensitivity(nn.ModuleList(models), test, kinds="dropout", levels=levels)
    assert np.array_equal(as_module_list.curves, noise.curves)  # a ModuleList is a list of unimodal models

    multi = noise_sensitivity(FirstOnly(), test, kinds=["dropout", "gaussian", "gaussian"], levels=levels)
    assert np.allclose(multi.curves[0], noise.curves[0])  # the same corruption (same seed)
    assert np.allclose(multi.curves[1:], clean[0])  # corrupting an ignored modality changes nothing
    importance = modality_importance(FirstOnly(), test)
    assert importance[0] == pytest.approx(clean[0] - _zeroed(models[0], test)) and np.allclose(importance[1:], 0)


def _zeroed(model, test):
    return (model(torch.zeros_like(test[0][0])).argmax(1) == test[1]).float().mean().item()


@pytest.mark.parametrize("kwargs, match", [
    (dict(kinds="blur"), "kinds must be one noise or one per modality"),
    (dict(kinds=["gaussian"]), "kinds must be one noise or one per modality \\(3\\)"),
    (dict(levels=[0.5, 0.1]), "levels must be at least 2 increasing numbers"),
    (dict(levels=[0.0, 2.0]), "in \\[0, 1\\]"),
])
def test_noise_errors(data, kwargs, match):
    *_, test, models = data
    with pytest.raises(ValueError, match=match):
        noise_sensitivity(models, test, **kwargs)


# --- transfer_distance ----------------------------------------------------------------------------------------------
def test_identical_models_on_identical_data_are_at_distance_zero(data):
    train, _, test, models = data
    d, t, s = transfer_distance(([train[0][0]] * 2, train[1]), ([test[0][0]] * 2, test[1]),
                                models=[models[0]] * 2, shots=5, repeats=1, steps=20)
    assert np.array_equal(d, np.zeros((2, 2))) and t[0, 1] == t[1, 1] and t[1, 0] == t[0, 0]


def test_permuted_copy_is_near_and_pure_noise_is_far(data):
    train, _, test, models = data
    d, t, s = transfer_distance(train, test, models=models, shots=10, repeats=3)
    assert np.allclose(d, d.T) and np.allclose(np.diag(d), 0)
    assert abs(d[0, 1]) <= 0.07, d  # the re-learned input layer absorbs the permutation
    assert d[0, 2] >= 0.06 and d[1, 2] >= 0.06 and min(d[0, 2], d[1, 2]) >= abs(d[0, 1]) + 0.03, d
    assert t[0, 0] >= 0.75 and t[2, 0] <= t[0, 0] - 0.07, t  # a body trained on noise serves the signal worse
    assert s[2] <= 0.5 and (t[:, 2] <= 0.5).all(), (t, s)  # nothing transfers to noise: at most the majority class
    loss = np.diag(t)[None, :] - t
    assert np.allclose(d, (loss + loss.T) / 2)


def test_transfer_works_across_sizes_and_trains_its_own_models():
    xs, y = [torch.randn(60, 5), torch.randn(60, 3, 4)], torch.randint(0, 2, (60,))
    d, t, s = transfer_distance((xs, y), (xs, y), shots=3, repeats=1, steps=3, epochs=1, relearn_head=True)
    assert d.shape == t.shape == (2, 2) and s.shape == (2,) and ((t >= 0) & (t <= 1)).all()


@pytest.mark.parametrize("kwargs, match", [
    (dict(shots=1000), "shots=1000 per class, but the smallest class of train has"),
    (dict(repeats=0), "repeats must be a positive integer"),
    (dict(models=[nn.Linear(8, 3)] * 3), "models\\[0\\] must come from train_unimodal"),
])
def test_transfer_errors(data, kwargs, match):
    train, _, test, models = data
    with pytest.raises(ValueError, match=match):
        transfer_distance(train, test, **{"models": models, **kwargs})


def test_transfer_rejects_mismatched_test(data):
    train, _, test, models = data
    with pytest.raises(ValueError, match="test has 2 modalities, expected 3"):
        transfer_distance(train, (test[0][:2], test[1]), models=models)


# --- measure_heterogeneity ----------------------------------------------------------------------------------------
def test_measure_heterogeneity_on_a_book_dataset():
    ds = load_dataset("uniqueness1", n_train=300, n_val=200, n_test=300, cache=False)
    h = measure_heterogeneity(ds, epochs=20, repeats=1, levels=[0.0, 0.5, 1.0])
    assert isinstance(h, Heterogeneity) and h.names == ("x1", "x2")
    table = h.table()
    assert list(table.index) == ["x1", "x2"] and table.loc["x1", "accuracy"] >= 0.85, table
    assert table.loc["x2", "information (bits)"] <= 0.05 < 0.5 <= table.loc["x1", "information (bits)"], table
    assert h.matrix().shape == (2, 2) and h.matrix().loc["x1", "x1"] == 0
    probe = measure_heterogeneity(ds, epochs=5, repeats=1, levels=[0.0, 1.0], transfer="probe", width=8)
    reference = transfer_heterogeneity(*(tuple(_tensors(ds, s)) for s in ("train", "validation")), width=8,
                                       epochs=5)
    assert probe.scratch is None and np.allclose(probe.distance, reference[0])


def _tensors(ds, split):
    from mmcourse.data import as_tensors
    return as_tensors(ds[split])


def test_measure_heterogeneity_errors():
    ds = load_dataset("uniqueness1", n_train=50, n_val=20, n_test=20, cache=False)
    with pytest.raises(ValueError, match="transfer must be 'relearn' or 'probe'"):
        measure_heterogeneity(ds, transfer="finetune")
    with pytest.raises(ValueError, match="must be a DatasetDict with splits train, validation and test"):
        measure_heterogeneity(ds["train"])
    with pytest.raises(ValueError, match="at least two modalities"):
        measure_heterogeneity(ds, modalities=["x1"])


def test_doctests():
    attempted = 0
    for module in (heterogeneity.information, heterogeneity.noise, heterogeneity.transfer, heterogeneity.summary):
        result = doctest.testmod(module)
        assert result.failed == 0
        attempted += result.attempted
    assert attempted >= 8
