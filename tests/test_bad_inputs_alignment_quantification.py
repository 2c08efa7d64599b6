"""Bad input at the door of alignment, quantification, widgets, data, foundations and the top-level modules (issue 15,
item 3): each check raises a ValueError or TypeError that names the function and the argument."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mmcourse.alignment import (AdversarialMapping, AttentionLayer, CTCFrameModel, WordRegionModel,
                                ctc_greedy_decode, evaluate_matching, fit_word_region, match, matching_accuracy,
                                rival_margin, scene_similarity, train_ctc, word_region_loss)
from mmcourse.data.gridworld import distance_maps
from mmcourse.data.scene_questions import scene_objects
from mmcourse.data.scenes import crop_regions
from mmcourse.data.sequences import speech_prototypes
from mmcourse.encoders import TransformerTextEncoder, make_encoder
from mmcourse.foundations.context_measures import emap_in_context
from mmcourse.foundations.text import WordGRUEncoder
from mmcourse.quantification.heterogeneity.noise import modality_importance
from mmcourse.quantification.learning.curves import modality_learning_curves
from mmcourse.quantification.learning.tradeoffs import measure_complexity
from mmcourse.training import predict
from mmcourse.utils import trained_on
from mmcourse.viz import accuracy_bars, latent_plane, show_source
from mmcourse.widgets.generation_explorer import GenerationExplorer
from mmcourse.widgets.reasoning_explorer import step_map
from mmcourse.widgets.transference_explorer import digits_transference_methods

NAN = float("nan")


def _with_nan(x: torch.Tensor) -> torch.Tensor:
    x = x.clone()
    x.view(-1)[0] = NAN
    return x


def _scenes(n: int = 3):
    return torch.zeros(n, 4, 10, 10, 3), torch.ones(n, 4, 2, dtype=torch.long), torch.ones(n, 4, dtype=torch.bool)


@pytest.mark.parametrize("call, error, message", [
    (lambda: AdversarialMapping(2)(torch.tensor(1.0)), ValueError, r"AdversarialMapping: x must have 2 dimensions"),
    (lambda: AdversarialMapping(2)(_with_nan(torch.zeros(3, 2))), ValueError, "AdversarialMapping: x contains NaN"),
    (lambda: AttentionLayer(4)("abc"), TypeError, "AttentionLayer: h must be a torch.Tensor"),
    (lambda: AttentionLayer(4, cross=True)(torch.zeros(2, 3, 4), torch.tensor(0.0)), ValueError,
     "AttentionLayer: context must be a floating-point tensor with 3 dimensions"),
    (lambda: scene_similarity(_with_nan(torch.ones(1, 2, 3)), torch.ones(1, 2, 3)), ValueError,
     "scene_similarity: v contains NaN"),
    (lambda: word_region_loss(torch.ones(2, 1, 3), _with_nan(torch.ones(2, 1, 3))), ValueError,
     "word_region_loss: w contains NaN"),
    (lambda: rival_margin(_with_nan(torch.ones(1, 2, 3)), torch.ones(1, 2, 3)), ValueError,
     "rival_margin: v contains NaN"),
    (lambda: WordRegionModel(dim=4, width=8)(torch.zeros(0, 4, 10, 10, 3), torch.ones(0, 4, 2, dtype=torch.long)),
     ValueError, "WordRegionModel: regions is empty"),
    (lambda: fit_word_region(WordRegionModel(dim=4, width=8), torch.tensor(0.0), *_scenes()[1:]), ValueError,
     "fit_word_region: regions must have 5 dimensions"),
])
def test_alignment_matching_checks(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("call, error, message", [
    (lambda: match(np.eye(2), "local", reg="abc"), ValueError, "match: reg must be a positive number"),
    (lambda: match(np.eye(2), "hungarian", reg=NAN), ValueError, "match: reg must be a finite number > 0"),
    (lambda: matching_accuracy(["abc", 0], [1, 0]), TypeError, "matching_accuracy: assignment must hold integer"),
    (lambda: evaluate_matching("abc", *_scenes()), TypeError, "evaluate_matching: model must be a Module"),
    (lambda: evaluate_matching(WordRegionModel(4, 8), _scenes()[0][:2], *_scenes()[1:]), ValueError,
     "evaluate_matching: mismatched batch sizes: regions has 2 rows, phrases has 3"),
    (lambda: evaluate_matching(WordRegionModel(4, 8), *_scenes(), seed=1.5), TypeError,
     "evaluate_matching: seed must be an integer"),
])
def test_alignment_matching_assign_checks(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("call, error, message", [
    (lambda: CTCFrameModel(3, 3)(_with_nan(torch.zeros(2, 5, 3))), ValueError, "CTCFrameModel: x contains NaN"),
    (lambda: train_ctc(CTCFrameModel(3, 3), torch.randn(2, 6, 3), [[1], [2]], lr="abc"), TypeError,
     "train_ctc: lr must be a number"),
    (lambda: ctc_greedy_decode(torch.tensor([[NAN, 0.0], [0.0, 0.0]])), ValueError,
     "ctc_greedy_decode: log_probs contains NaN"),
])
def test_alignment_segmentation_checks(call, error, message):
    with pytest.raises(error, match=message):
        call()


def _pair(n: int = 8):
    return [torch.randn(n, 2), torch.randn(n, 3)], torch.arange(n) % 2


@pytest.mark.parametrize("call, error, message", [
    (lambda: modality_importance(nn.Linear(2, 2), ([torch.tensor(1.0)], torch.zeros(4, dtype=torch.long))),
     ValueError, "modality_importance: test must hold one tensor per modality with 4 rows"),
    (lambda: modality_learning_curves(_pair(), _pair(), momentum="abc"), TypeError,
     "modality_learning_curves: momentum must be a number"),
    (lambda: modality_learning_curves(_pair(), _pair(), weight_decay=NAN), ValueError,
     "modality_learning_curves: weight_decay must be a finite number"),
    (lambda: measure_complexity(nn.Linear(2, 2), ([torch.randn(4, 2)], torch.tensor([0, 1, 5, 0])), epochs=0),
     ValueError, r"measure_complexity: labels must hold integers in 0..1, got values from 0 to 5"),
    (lambda: measure_complexity(nn.Linear(2, 2), ([torch.randn(4, 2)], torch.zeros(4, dtype=torch.long)), lr=NAN),
     ValueError, "measure_complexity: lr must be a finite number > 0"),
])
def test_quantification_checks(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("call, error, message", [
    (lambda: distance_maps("abc", np.array([[0, 0]])), TypeError, "distance_maps: blocked must be a boolean array"),
    (lambda: distance_maps(np.zeros((1, 3, 3), bool), np.array([[0, 5]])), ValueError,
     r"distance_maps: target must hold cells in 0..2"),
    (lambda: distance_maps(np.zeros((1, 3, 3), bool), np.array([0, 0])), ValueError,
     r"distance_maps: target must have shape \(1, 2\)"),
    (lambda: crop_regions(np.full((30, 30, 3), NAN), [0]), ValueError, "crop_regions: images contains NaN"),
    (lambda: scene_objects({"colour": [0, 9], "shape": [0, 0], "cell": [1, 2]}), ValueError,
     r"scene_objects: row\['colour'\] must hold ids in 0..3"),
    (lambda: scene_objects({"colour": [0.5], "shape": [0], "cell": [1]}), TypeError,
     r"scene_objects: row\['colour'\] must hold one integer id per slot"),
    (lambda: speech_prototypes(4, 3, seed="abc"), ValueError, "speech_prototypes: seed must be a non-negative"),
])
def test_data_checks(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("call, error, message", [
    (lambda: TransformerTextEncoder(10, 4, 5)(torch.zeros(0, 3, dtype=torch.long)), ValueError,
     "TransformerTextEncoder: tokens is empty"),
    (lambda: make_encoder(torch.tensor([NAN, 0.0]), 4), ValueError, "make_encoder: input contains NaN"),
    (lambda: make_encoder(torch.zeros(3), "abc"), ValueError, "make_encoder: out_dim must be a positive integer"),
    (lambda: WordGRUEncoder(10, 4)(torch.zeros(0, 3, dtype=torch.long)), ValueError, "WordGRUEncoder: tokens is empty"),
    (lambda: WordGRUEncoder(10, 4, padding_idx="abc"), TypeError, "WordGRUEncoder: padding_idx must be an integer"),
    (lambda: WordGRUEncoder(10, 4, padding_idx=1.0), TypeError, "WordGRUEncoder: padding_idx must be an integer"),
    (lambda: emap_in_context(lambda a, b, c: a, torch.tensor(0.0), torch.zeros(4, 1), torch.zeros(4, 1),
                             np.zeros(4, int), torch.zeros(4, dtype=torch.long)),
     ValueError, "emap_in_context: x1 must be a tensor with one row per group id"),
    (lambda: emap_in_context(lambda a, b, c: a, torch.zeros(4, 1), _with_nan(torch.zeros(4, 1)), torch.zeros(4, 1),
                             np.zeros(4, int), torch.zeros(4, dtype=torch.long)),
     ValueError, "emap_in_context: x2 contains NaN"),
])
def test_encoders_and_foundations_checks(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_training_and_utils_checks():
    with pytest.raises(ValueError, match="predict: inputs: modality 1 contains NaN"):
        predict(nn.Linear(2, 2), [_with_nan(torch.zeros(3, 2))])
    with pytest.raises(TypeError, match="trained_on: module must be a torch.nn.Module"):
        trained_on("abc", torch.device("cpu"))  # refused at the call, before any `with`


@pytest.mark.parametrize("call, error, message", [
    (lambda: accuracy_bars({"digits": {"late": NAN}}), ValueError,
     r"accuracy_bars: table\['digits'\]\['late'\] must be a finite number"),
    (lambda: accuracy_bars({"digits": {"late": 0.9}}, chance="abc"), TypeError,
     "accuracy_bars: chance must be a number"),
    (lambda: latent_plane([[0.0, NAN]], [0]), ValueError, "latent_plane: xy contains NaN"),
    (lambda: latent_plane([[0.0, 1.0], [1.0, 0.0]], [0]), ValueError,
     "latent_plane: labels must hold one integer per point"),
    (lambda: show_source(12345), TypeError, "show_source: obj must be a module, class, function or method"),
])
def test_viz_checks(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_widget_checks():
    from mmcourse.generation import MVAE
    from mmcourse.widgets import CoordinationExplorer
    with pytest.raises(TypeError, match="CoordinationExplorer: width must be an integer"):
        CoordinationExplorer(width="abc")
    with pytest.raises(ValueError, match="CoordinationExplorer: lr must be a finite number > 0"):
        CoordinationExplorer(lr=NAN)
    data = {"image": _with_nan(torch.rand(4, 8, 8)), "audio": torch.rand(4, 12, 16), "label": torch.arange(4)}
    with pytest.raises(ValueError, match=r"GenerationExplorer: data\['image'\] contains NaN"):
        GenerationExplorer({"MVAE": MVAE()}, data, {})
    objects = [{"colour": "red", "shape": "circle", "cell": 0}, {"colour": "blue", "shape": "square", "cell": 4}]
    with pytest.raises(ValueError, match=r"step_map: value\[0\] must be in \[0, 1\], got -1"):
        step_map([-1], objects)
    with pytest.raises(TypeError, match=r"step_map: objects\[1\]\['cell'\] must be an integer"):
        step_map([0], [objects[0], {**objects[1], "cell": 4.0}])
    with pytest.raises(TypeError, match="digits_transference_methods: seed must be an integer"):
        digits_transference_methods(seed="abc")
