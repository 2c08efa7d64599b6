"""Issue 15, items 1 and 2: the named calls that failed obscurely, or succeeded silently, on bad input.

Each call here raised an error from deep inside torch, NumPy or Python, or returned a number without complaint;
it now raises a ``ValueError``/``TypeError`` from mmcourse that names the argument (or warns where refusing would
be wrong).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from mmcourse.alignment import ctc_collapse
from mmcourse.data import render_scene
from mmcourse.generation.evaluation.diversity import label_entropy as generation_label_entropy
from mmcourse.quantification import modality_importance, noise_sensitivity
from mmcourse.quantification.heterogeneity.information import label_entropy as information_label_entropy
from mmcourse.representation import FusionModel, linear_probe
from mmcourse.representation.fission import target_distribution
from mmcourse.training import evaluate, fit, predict
from mmcourse.utils import get_device


def _data(n: int = 8, classes: int = 2):
    x = torch.randn(n, 3)
    return [x], torch.arange(n) % classes


# --- fit, evaluate, predict -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("call", [fit, evaluate])
@pytest.mark.parametrize("labels, match", [
    (torch.tensor([0, 1, 2, 7]), r"labels must be class indices in 0\.\.1.*got values from 0 to 7"),
    (torch.tensor([0, -1, 1, 0]), r"labels must be class indices in 0\.\..*got values from -1 to 1"),
    (torch.tensor([0.0, 1.0, 1.0, 0.0]), r"labels must be an integer tensor.*float32"),
    (torch.tensor([True, False, True, False]), r"labels must be an integer tensor.*bool"),
])
def test_fit_and_evaluate_refuse_bad_labels(call, labels, match):
    model = nn.Linear(3, 2)
    kwargs = {"epochs": 1, "progress": False} if call is fit else {}
    with pytest.raises(ValueError, match=match):
        call(model, ([torch.randn(4, 3)], labels), **kwargs, device="cpu")


def test_fit_refuses_bad_validation_labels():
    with pytest.raises(ValueError, match=r"fit \(val\): labels must be class indices in 0\.\.1"):
        fit(nn.Linear(3, 2), _data(), ([torch.randn(4, 3)], torch.tensor([0, 1, 5, 0])), epochs=1, progress=False,
            device="cpu")


@pytest.mark.parametrize("call", [fit, evaluate])
def test_fit_and_evaluate_refuse_zero_rows(call):
    kwargs = {"epochs": 1, "progress": False} if call is fit else {}
    with pytest.raises(ValueError, match=r"labels is empty.*0 rows"):
        call(nn.Linear(3, 2), ([torch.zeros(0, 3)], torch.zeros(0, dtype=torch.long)), **kwargs, device="cpu")


@pytest.mark.parametrize("call", [fit, evaluate])
@pytest.mark.parametrize("inputs", [[[[0.0, 1.0, 2.0]] * 4], [np.zeros((4, 3), dtype=np.float32)]])
def test_fit_and_evaluate_refuse_non_tensor_inputs(call, inputs):
    kwargs = {"epochs": 1, "progress": False} if call is fit else {}
    with pytest.raises(TypeError, match=r"inputs: modality 1 must be a torch\.Tensor"):
        call(nn.Linear(3, 2), (inputs, torch.tensor([0, 1, 0, 1])), **kwargs, device="cpu")


@pytest.mark.parametrize("call", [fit, evaluate])
def test_fit_and_evaluate_refuse_nan_inputs(call):
    x = torch.randn(4, 3)
    x[1, 2] = float("nan")
    kwargs = {"epochs": 1, "progress": False} if call is fit else {}
    with pytest.raises(ValueError, match=r"inputs: modality 1 contains NaN"):
        call(nn.Linear(3, 2), ([x], torch.tensor([0, 1, 0, 1])), **kwargs, device="cpu")


def test_fit_refuses_logits_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"model must return logits of shape \(batch, classes\)"):
        fit(nn.Sequential(nn.Linear(3, 1), nn.Flatten(0)), _data(), epochs=1, progress=False, device="cpu")


def test_fit_with_its_own_loss_accepts_other_targets():
    # A custom loss_fn decides what its targets mean: fit does not force class indices on it.
    x = torch.randn(8, 3)
    history = fit(nn.Linear(3, 2), ([x], torch.arange(8) % 2 + 5), epochs=1, progress=False, device="cpu",
                  loss_fn=lambda logits, y: (logits.sum(1) - y).pow(2).mean())
    assert history.epochs == 1


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_predict_refuses_a_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match=r"predict: batch_size must be a positive integer"):
        predict(nn.Linear(3, 2), [torch.randn(4, 3)], batch_size=batch_size)


def test_predict_refuses_non_tensor_inputs_and_empty_inputs():
    with pytest.raises(TypeError, match=r"predict: inputs: modality 1 must be a torch\.Tensor"):
        predict(nn.Linear(3, 2), [np.zeros((4, 3))])
    with pytest.raises(ValueError, match=r"predict: inputs is empty"):
        predict(nn.Linear(3, 2), [])
    with pytest.raises(ValueError, match=r"predict: inputs: modality 2 has 5 rows but modality 1 has 4"):
        predict(nn.Linear(3, 2), [torch.zeros(4, 3), torch.zeros(5, 3)])


def test_predict_of_zero_rows_is_an_empty_batch_of_logits():
    assert predict(nn.Linear(3, 2), [torch.zeros(0, 3)]).shape == (0, 2)


# --- get_device -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("prefer", ["tpu", "gpu", "cuda:x", ""])
def test_get_device_refuses_unknown_devices(prefer):
    with pytest.raises(ValueError, match=r"get_device: prefer must name a torch device"):
        get_device(prefer)


@pytest.mark.parametrize("prefer", [3, 1.5, ["cpu"]])
def test_get_device_refuses_other_types(prefer):
    with pytest.raises(TypeError, match=r"get_device: prefer must be a str or a torch\.device"):
        get_device(prefer)


def test_get_device_names_the_environment_variable(monkeypatch):
    monkeypatch.setenv("MMCOURSE_DEVICE", "tpu")
    with pytest.raises(ValueError, match=r"MMCOURSE_DEVICE"):
        get_device()


# --- ctc_collapse ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("labels", [["a", "b"], [0.5, 1.0], "ab", [[0, 1], [1, 2]], [None]])
def test_ctc_collapse_refuses_non_integer_labels(labels):
    with pytest.raises((ValueError, TypeError), match=r"ctc_collapse: labels must be"):
        ctc_collapse(labels)


def test_ctc_collapse_refuses_a_bad_blank():
    with pytest.raises(ValueError, match=r"ctc_collapse: blank must be an integer"):
        ctc_collapse([0, 1], blank="0")


def test_ctc_collapse_still_takes_lists_arrays_and_tensors():
    expected = [1, 1, 2]
    for labels in ([0, 1, 1, 0, 1, 2, 2, 0], np.array([0, 1, 1, 0, 1, 2, 2, 0]), torch.tensor([0, 1, 1, 0, 1, 2, 2, 0]),
                   (0, 1, 1, 0, 1, 2, 2, 0), [np.int64(v) for v in (0, 1, 1, 0, 1, 2, 2, 0)], [0.0, 1.0, 1.0, 0.0,
                                                                                            1.0, 2.0, 2.0, 0.0]):
        assert ctc_collapse(labels) == expected
    assert ctc_collapse([]) == []


# --- render_scene ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, name", [(("purple", [1], [4]), "colour"), (([0], ["circle"], [4]), "shape"),
                                        (([0], [1], [4.5]), "cell"), (([0], [1], [[4]]), "cell")])
def test_render_scene_refuses_non_integer_indices(args, name):
    with pytest.raises(ValueError, match=rf"render_scene: {name} must hold integer indices"):
        render_scene(*args)


@pytest.mark.parametrize("noise", [-0.1, float("nan"), "0.1"])
def test_render_scene_refuses_a_bad_noise(noise):
    with pytest.raises(ValueError, match=r"render_scene: noise must be a finite number ≥ 0"):
        render_scene([0], [1], [4], rng=np.random.default_rng(0), noise=noise)


def test_render_scene_refuses_a_bad_rng():
    with pytest.raises(TypeError, match=r"render_scene: rng must be a numpy\.random\.Generator"):
        render_scene([0], [1], [4], rng=0)


# --- label_entropy (Parts 5 and 7 share one implementation) ---------------------------------------------------------
ENTROPIES = [information_label_entropy]


def test_label_entropy_is_one_function():
    assert generation_label_entropy is information_label_entropy


@pytest.mark.parametrize("entropy", ENTROPIES)
def test_label_entropy_refuses_negative_labels(entropy):
    with pytest.raises(ValueError, match=r"label_entropy: labels must be non-negative integers.*-1"):
        entropy([0, -1, 1])


@pytest.mark.parametrize("entropy", ENTROPIES)
@pytest.mark.parametrize("labels", [[], np.zeros(0, int), torch.zeros(0, dtype=torch.long)])
def test_label_entropy_refuses_no_labels(entropy, labels):
    with pytest.raises(ValueError, match=r"label_entropy: labels must be a non-empty"):
        entropy(labels)


@pytest.mark.parametrize("entropy", ENTROPIES)
@pytest.mark.parametrize("labels, num_classes, match", [
    ([0, 1, 3], 3, r"labels must lie in 0\.\.2"), ([0.5, 1.0], None, r"labels must be"),
    ([[0, 1], [1, 0]], None, r"labels must be a non-empty vector"), ([0, 1], 0, r"num_classes must be"),
    (["a", "b"], None, r"labels must be")])
def test_label_entropy_refuses_other_bad_labels(entropy, labels, num_classes, match):
    with pytest.raises(ValueError, match=match):
        entropy(labels, num_classes)


@pytest.mark.parametrize("entropy", ENTROPIES)
def test_label_entropy_values_unchanged(entropy):
    assert entropy([0, 1, 0, 1]) == 1.0 and entropy([2, 2, 2]) == 0.0
    assert entropy(torch.tensor([0, 1, 2, 3]), 4) == 2.0
    assert entropy(np.array([5, 5, 6, 6])) == 1.0


# --- linear_probe -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("position", [0, 2])
def test_linear_probe_refuses_nan_features(position):
    x = np.r_[np.zeros((10, 2)), np.ones((10, 2))]
    y = np.r_[np.zeros(10), np.ones(10)]
    bad = x.copy()
    bad[3, 1] = np.nan
    args = [x, y, x, y]
    args[position] = bad
    name = "train_features" if position == 0 else "test_features"
    with pytest.raises(ValueError, match=rf"linear_probe: {name} contains NaN"):
        linear_probe(*args)


def test_linear_probe_refuses_nan_labels_and_empty_features():
    x = np.r_[np.zeros((10, 2)), np.ones((10, 2))]
    y = np.r_[np.zeros(10), np.ones(10)]
    with pytest.raises(ValueError, match=r"linear_probe: train_labels contains NaN"):
        linear_probe(x, np.r_[y[:-1], np.nan], x, y)
    with pytest.raises(ValueError, match=r"linear_probe: train_features has no rows"):
        linear_probe(x[:0], y[:0], x, y)
    with pytest.raises(ValueError, match=r"linear_probe: train_labels hold a single class"):
        linear_probe(x, np.zeros(20), x, y)


# --- target_distribution --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("as_numpy", [True, False])
def test_target_distribution_with_an_empty_cluster_warns_and_gives_it_no_mass(as_numpy):
    q = np.array([[0.5, 0.5, 0.0], [0.75, 0.25, 0.0]])
    with pytest.warns(UserWarning, match=r"target_distribution: cluster 2 of q is empty"):
        p = target_distribution(q if as_numpy else torch.from_numpy(q))
    p = np.asarray(p)
    assert np.isfinite(p).all() and (p[:, 2] == 0).all()
    np.testing.assert_allclose(p[:, :2], target_distribution(q[:, :2]))


def test_target_distribution_without_empty_clusters_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        target_distribution(np.array([[0.5, 0.5], [0.75, 0.25]]))


def test_target_distribution_refuses_no_rows():
    with pytest.raises(ValueError, match=r"target_distribution: q must have at least one row"):
        target_distribution(np.zeros((0, 3)))


# --- modality_importance and noise_sensitivity ----------------------------------------------------------------------
class _First(nn.Module):
    def forward(self, x1, x2):
        return x1


def test_modality_importance_refuses_labels_the_model_cannot_predict():
    x = torch.eye(2).repeat(5, 1)
    with pytest.raises(ValueError, match=r"modality_importance: the labels of test must be class indices in 0\.\.1 "
                                         r"\(the model returns 2 classes\), got values from 7 to 7"):
        modality_importance(_First(), ([x, x], torch.full((10,), 7)))
    with pytest.raises(ValueError, match=r"got values from -1 to 1"):
        modality_importance(_First(), ([x, x], torch.tensor([-1] + [1] * 9)))


def test_noise_sensitivity_refuses_labels_the_model_cannot_predict():
    x = torch.eye(2).repeat(5, 1)
    with pytest.raises(ValueError, match=r"noise_sensitivity: the labels of test must be class indices in 0\.\.1"):
        noise_sensitivity([nn.Identity()], ([x], torch.full((10,), 7)), kinds="dropout", levels=[0.0, 1.0])


# --- FusionExplorer.train -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def explorer():
    from mmcourse.widgets import FusionExplorer
    return FusionExplorer(datasets=["synergy"], fusions=["additive", "low_rank"], epochs=1, device="cpu")


@pytest.mark.parametrize("setting", [{"width": -3}, {"width": 0}, {"epochs": 0}, {"rank": 0}, {"rank": 2.5},
                                     {"epochs": True}])
def test_explorer_train_refuses_bad_settings(explorer, setting):
    (name, _), = setting.items()
    with pytest.raises(ValueError, match=rf"FusionExplorer.train: {name} must be a positive integer"):
        explorer.train("low_rank", "synergy", **setting)
    assert explorer.runs == []


@pytest.mark.parametrize("setting", [{"width": -3}, {"epochs": 0}, {"rank": 0}, {"lr": 0.0}, {"batch_size": 0}])
def test_explorer_refuses_bad_defaults(setting):
    from mmcourse.widgets import FusionExplorer
    (name, _), = setting.items()
    with pytest.raises(ValueError, match=rf"FusionExplorer: {name} must be"):
        FusionExplorer(datasets=["synergy"], fusions=["additive"], **setting)


def test_explorer_train_none_means_the_default(explorer):
    run = explorer.train("low_rank", "synergy", width=None, rank=None, epochs=None)
    assert (run.width, run.rank, run.epochs) == (16, 4, 1)
    explorer.runs.clear()


# --- FusionModel ----------------------------------------------------------------------------------------------------
def test_fusion_model_refuses_batches_of_different_sizes():
    with pytest.raises(ValueError, match=r"FusionModel: samples must hold one example per modality.*\(8, 3\) and "
                                         r"\(6, 3\)"):
        FusionModel([torch.zeros(8, 3), torch.zeros(6, 3)], 2, "additive")


def test_fusion_model_refuses_samples_that_are_not_tensors_or_are_empty():
    with pytest.raises(TypeError, match=r"FusionModel: samples\[1\] must be a torch\.Tensor"):
        FusionModel([torch.zeros(3), [0.0, 1.0]], 2, "additive")
    with pytest.raises(TypeError, match=r"FusionModel: samples must be a sequence of tensors"):
        FusionModel(torch.zeros(2, 3), 2, "additive")
    with pytest.raises(ValueError, match=r"FusionModel: samples\[0\] is empty"):
        FusionModel([torch.zeros(0), torch.zeros(3)], 2, "additive")


def test_fusion_model_still_takes_images_of_different_shapes():
    model = FusionModel([torch.zeros(8, 8), torch.zeros(12, 16)], 10, "additive", width=4)
    assert model(torch.zeros(2, 8, 8), torch.zeros(2, 12, 16)).shape == (2, 10)
    model = FusionModel([torch.zeros(8, 3), torch.zeros(8, 3)], 2, "additive", width=4)   # two 8×3 images
    assert model(torch.zeros(2, 8, 3), torch.zeros(2, 8, 3)).shape == (2, 2)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"seed": -1}, ValueError, r"FusionExplorer: seed must be a non-negative integer"),
    ({"datasets": "synergy"}, TypeError, r"FusionExplorer: datasets must be a sequence of names"),
    ({"fusions": "tensor"}, TypeError, r"FusionExplorer: fusions must be a sequence of names")])
def test_explorer_refuses_a_bad_seed_and_single_names(kwargs, error, match):
    from mmcourse.widgets import FusionExplorer
    settings = {"datasets": ["synergy"], "fusions": ["additive"], **kwargs}
    with pytest.raises(error, match=match):
        FusionExplorer(**settings)


# --- the doctests of the modules changed here still hold --------------------------------------------------------------
@pytest.mark.parametrize("module", ["mmcourse.training", "mmcourse.utils", "mmcourse.alignment.ctc",
                                    "mmcourse.data.scenes", "mmcourse.quantification.heterogeneity.information",
                                    "mmcourse.quantification.heterogeneity.noise",
                                    "mmcourse.generation.evaluation.diversity",
                                    "mmcourse.representation.heterogeneous.mae",
                                    "mmcourse.representation.fission.clustering", "mmcourse.representation.model"])
def test_doctests(module):
    import doctest
    import importlib
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize("kwargs, error, match", [
    ({"lr": "fast"}, ValueError, r"fit: lr must be positive"), ({"lr": float("nan")}, ValueError, r"fit: lr must be"),
    ({"weight_decay": -1.0}, ValueError, r"fit: weight_decay must be a finite number ≥ 0"),
    ({"callback": 3}, TypeError, r"fit: callback must be callable"),
    ({"loss_fn": "mse"}, TypeError, r"fit: loss_fn must be callable")])
def test_fit_refuses_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        fit(nn.Linear(3, 2), _data(), epochs=1, progress=False, device="cpu", **kwargs)


@pytest.mark.parametrize("call", [fit, evaluate, predict])
def test_calls_refuse_a_model_that_is_not_a_module(call):
    with pytest.raises(TypeError, match=rf"{call.__name__}: model must be a torch\.nn\.Module"):
        call(lambda x: x, _data()[0] if call is predict else _data())


# --- the same kinds of bad input on the other public names of these modules -------------------------------------------
def test_progress_flags_refuse_other_values():
    from mmcourse.utils import progress_enabled, set_progress
    with pytest.raises(TypeError, match=r"set_progress: enabled must be True or False"):
        set_progress("no")
    with pytest.raises(TypeError, match=r"progress_enabled: progress must be True or False"):
        progress_enabled("x")
    assert progress_enabled(False) is False and progress_enabled(np.bool_(True)) is True


def test_trained_on_refuses_a_non_module():
    from mmcourse.utils import trained_on
    with pytest.raises(TypeError, match=r"trained_on: module must be a torch\.nn\.Module"):
        with trained_on(3, torch.device("cpu")):
            pass


def test_information_functions_refuse_empty_data_and_unpredictable_labels():
    from mmcourse.quantification import information_lower_bound, modality_information, train_unimodal
    with pytest.raises(ValueError, match=r"information_lower_bound: probabilities must have at least one row"):
        information_lower_bound(np.zeros((0, 2)), [])
    x, y = torch.randn(6, 2), torch.tensor([0, 1] * 3)
    with pytest.raises(ValueError, match=r"train_unimodal: train has no rows"):
        train_unimodal(([x[:0]], y[:0]), epochs=1)
    with pytest.raises(ValueError, match=r"modality_information: the labels of val must be class indices in 0\.\.1 "
                                         r"\(models\[0\] returns 2 classes\), got values from 0 to 7"):
        modality_information([nn.Linear(2, 2)], ([x], y * 7), ([x], y))


def test_modality_importance_refuses_empty_test_data():
    with pytest.raises(ValueError, match=r"modality_importance: test has no rows"):
        modality_importance(_First(), ([torch.zeros(0, 2)] * 2, torch.zeros(0, dtype=torch.long)))


def test_clustering_functions_refuse_nan_labels_and_empty_inputs():
    from mmcourse.representation.fission import cluster_purity, soft_assignment
    with pytest.raises(ValueError, match=r"cluster_purity: labels_true contains NaN"):
        cluster_purity([0, np.nan], [0, 1])
    with pytest.raises(ValueError, match=r"soft_assignment: z must have at least one row"):
        soft_assignment(torch.zeros(0, 2), torch.zeros(1, 2))
    with pytest.raises(ValueError, match=r"soft_assignment: centroids must have at least one row"):
        soft_assignment(torch.zeros(3, 2), torch.zeros(0, 2))


def test_fusion_model_forward_refuses_non_tensors():
    model = FusionModel([torch.zeros(2), torch.zeros(2)], 2, "additive", width=4)
    with pytest.raises(TypeError, match=r"FusionModel: modality 1 must be a torch\.Tensor"):
        model([[1.0, 2.0]], torch.zeros(1, 2))


def test_linear_probe_still_takes_string_labels():
    x = np.r_[np.zeros((10, 2)), np.ones((10, 2))]
    y = np.array(["a"] * 10 + ["b"] * 10)
    assert linear_probe(x, y, x, y, per_class=2) == 1.0
