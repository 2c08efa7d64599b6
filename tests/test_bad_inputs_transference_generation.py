"""Bad input at the door of the generation and transference functions (issue 15, item 3): each call below is
refused by the package's own check, with a message naming the function, the argument and what was wrong."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mmcourse.encoders import MLPEncoder
from mmcourse.generation import (AbstractiveSummarizer, CrossDecoder, ImageToCaption, fit_abstractive,
                                 fit_translator, image_objects, nearest_neighbours, perceived_units,
                                 retrieve_translation, round_trip, salience, scene_coherence, within_class_spread)
from mmcourse.generation.creation import (MVAE, BernoulliDecoder, GaussianEncoder, bernoulli_log_likelihood, elbo,
                                          mvae_loss, stratified_iwae_bound)
from mmcourse.representation.contrastive.clip import ContrastiveModel
from mmcourse.transference import (MCTN, CoLearner, ModalityShift, MultitaskModel, ShiftClassifier,
                                   TorchClassifier, TransferModel, ZeroShotModel, co_regularisation_objective,
                                   co_training_step, cycle_loss, dependent_view, error_correlation, few_labels,
                                   fill_missing, fine_tune, fit_colearning, fit_mctn, fit_multitask, fit_zero_shot,
                                   learning_curve, merge_picks, most_confident, pretrain_encoder,
                                   pseudo_label_accuracy, shift_scale, zero_shot_predict)

NAN = float("nan")


def _nan(*shape):
    x = torch.rand(*shape)
    x.view(-1)[0] = NAN
    return x


# -- generation.creation --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, error, match", [
    (lambda: mvae_loss(MVAE(latent=2, width=4), torch.rand(3, 8, 8), torch.rand(3, 12, 16), beta=NAN),
     ValueError, "mvae_loss: beta must be a finite number"),
    (lambda: elbo(MVAE(latent=2, width=4), [torch.rand(3, 8, 8), torch.rand(3, 12, 16)], torch.ones(2, 3),
                  beta=-1.0), ValueError, "elbo: beta must be a finite number ≥ 0"),
    (lambda: stratified_iwae_bound(torch.zeros(0, 3, 4)), ValueError, "stratified_iwae_bound: log_w is empty"),
    (lambda: GaussianEncoder((8, -8), latent=2), ValueError, r"GaussianEncoder: shape\[1\] must be a positive"),
    (lambda: BernoulliDecoder((8, 8), latent=2.5), ValueError, "BernoulliDecoder: latent must be a positive"),
    (lambda: GaussianEncoder((8, 8), 2, 4)(torch.rand(1, 3, 8, 8)), ValueError,
     r"GaussianEncoder: x must be a batch \(batch, 8, 8\)"),
    (lambda: GaussianEncoder((8, 8), 2, 4)(_nan(3, 8, 8)), ValueError, "GaussianEncoder: x contains NaN"),
    (lambda: BernoulliDecoder((8, 8), 2, 4)("abc"), TypeError, "BernoulliDecoder: z must be a floating-point"),
    (lambda: BernoulliDecoder((8, 8), 2, 4)(torch.rand(3, 5)), ValueError, r"BernoulliDecoder: z must have shape"),
    (lambda: bernoulli_log_likelihood(torch.zeros(4), torch.tensor(1.0)), ValueError,
     "bernoulli_log_likelihood: x must have the sample's axes"),
    (lambda: bernoulli_log_likelihood(_nan(2, 4), torch.ones(2, 4)), ValueError,
     "bernoulli_log_likelihood: logits contains NaN"),
])
def test_creation_refuses_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# -- generation.summarization ---------------------------------------------------------------------------------------
UNITS = torch.zeros(3, 6, 12)                       # 3 storyboards of 6 frames
CAPTIONS = torch.zeros(3, 6, 7, dtype=torch.long)   # a caption of 7 words per frame
TARGET = torch.zeros(3, 8, dtype=torch.long)        # a summary of 8 words per storyboard


@pytest.mark.parametrize("call, error, match", [
    (lambda m: m("abc", CAPTIONS, TARGET), TypeError, "AbstractiveSummarizer: image_units must be a torch.Tensor"),
    (lambda m: m(_nan(3, 6, 12), CAPTIONS, TARGET), ValueError, "AbstractiveSummarizer: image_units contains NaN"),
    (lambda m: m(UNITS, CAPTIONS - 1, TARGET), ValueError, r"AbstractiveSummarizer: captions must hold integers in"),
    (lambda m: m(UNITS, CAPTIONS, TARGET + 100), ValueError, r"AbstractiveSummarizer: target must hold integers in"),
    (lambda m: m.generate(UNITS, CAPTIONS + 100), ValueError, r"AbstractiveSummarizer: captions must hold integers"),
    (lambda m: fit_abstractive("abc", UNITS, CAPTIONS, TARGET), TypeError,
     "fit_abstractive: model must be a AbstractiveSummarizer"),
    (lambda m: fit_abstractive(m, UNITS[:2], CAPTIONS, TARGET), ValueError,
     "fit_abstractive: mismatched batch sizes: image_units has 2 rows, captions has 3"),
    (lambda m: fit_abstractive(m, UNITS, CAPTIONS, TARGET[:0]), ValueError, "fit_abstractive: target is empty"),
    (lambda m: perceived_units(lambda x: x, torch.full((2, 30, 30, 3), NAN)), ValueError,
     "perceived_units: images contains NaN"),
    (lambda m: salience(torch.full((3, 12), NAN)), ValueError, "salience: frame_units contains NaN"),
])
def test_summarization_refuses_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call(AbstractiveSummarizer(dim=8, length=2))


# -- generation.translation -----------------------------------------------------------------------------------------
def _oracle(x):
    return nn.functional.one_hot(torch.full((len(x), 9), 12), 13).float()


@pytest.mark.parametrize("call, error, match", [
    (lambda: image_objects(torch.full((1, 30, 30, 3), NAN), _oracle), ValueError,
     "image_objects: images contains NaN"),
    (lambda: scene_coherence(torch.full((1, 30, 30, 3), NAN), [[0] * 7], _oracle), ValueError,
     "scene_coherence: images contains NaN"),
    (lambda: ImageToCaption(width=4)(torch.rand(2, 30, 30, 3), torch.full((2, 15), 99)), ValueError,
     r"ImageToCaption: captions must hold integers in 0\.\.23"),
    (lambda: ImageToCaption(width=4)(torch.rand(0, 30, 30, 3), torch.zeros(0, 15, dtype=torch.long)), ValueError,
     "ImageToCaption: captions is empty"),
    (lambda: ImageToCaption(width=4)(torch.full((2, 30, 30, 3), NAN), torch.zeros(2, 15, dtype=torch.long)),
     ValueError, "ImageToCaption: images contains NaN"),
    (lambda: ImageToCaption(width=4)(torch.rand(1, 30, 30, 3), torch.zeros(2, 15, dtype=torch.long)), ValueError,
     "ImageToCaption: mismatched batch sizes: images has 1 rows, captions has 2"),
    (lambda: CrossDecoder(4, 4, width=4)(_nan(3, 4)), ValueError, "CrossDecoder: x contains NaN"),
    (lambda: nearest_neighbours(_nan(2, 3)), ValueError, "nearest_neighbours: similarity contains NaN"),
    (lambda: retrieve_translation(ContrastiveModel([2, 3], dim=2, width=4), torch.rand(4, 2), _nan(6, 2),
                                  torch.rand(6, 3)), ValueError, "retrieve_translation: train_source contains NaN"),
    (lambda: round_trip(lambda x: x, lambda y: y, "abc"), TypeError, "round_trip: source must be a torch.Tensor"),
    (lambda: round_trip(lambda x: x, lambda y: y, _nan(3)), ValueError, "round_trip: source contains NaN"),
    (lambda: fit_translator(CrossDecoder(4, 4, width=4), torch.tensor(1.0), torch.rand(8, 4)), ValueError,
     "fit_translator: source and target must be tensors with the same number"),
    (lambda: fit_translator(CrossDecoder(4, 4, width=4), torch.rand(8, 4), _nan(8, 4)), ValueError,
     "fit_translator: target contains NaN"),
    (lambda: within_class_spread(_nan(4, 2), [0, 0, 1, 1]), ValueError, "within_class_spread: samples contains NaN"),
])
def test_translation_refuses_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# -- transference.colearning ----------------------------------------------------------------------------------------
A, V, Y = torch.rand(8, 3), torch.rand(8, 2), torch.arange(8) % 2


@pytest.mark.parametrize("call, error, match", [
    (lambda: cycle_loss(_nan(2, 3), torch.zeros(2, 3), torch.ones(2, 4), torch.ones(2, 4)), ValueError,
     "cycle_loss: target contains NaN"),
    (lambda: cycle_loss(torch.zeros(2, 3), torch.zeros(2, 3), torch.ones(2, 4), _nan(2, 4)), ValueError,
     "cycle_loss: back_translation contains NaN"),
    (lambda: fill_missing(torch.ones(2, 3), "mean", torch.zeros(0, 3)), ValueError,
     "fill_missing: reference is empty"),
    (lambda: fill_missing(torch.ones(2, 3), "mean", _nan(4, 3)), ValueError, "fill_missing: reference contains NaN"),
    (lambda: fit_mctn(MCTN(3, 2, 2, code=2, width=4), torch.tensor(1.0), V, Y), ValueError,
     "fit_mctn: source must have 2 dimensions"),
    (lambda: fit_mctn(MCTN(3, 2, 2, code=2, width=4), A, V, Y + 5), ValueError,
     r"fit_mctn: labels must be class indices in 0\.\.1 or -1"),
    (lambda: fit_mctn(MCTN(3, 2, 2, code=2, width=4), A, V, Y, lr=NAN), ValueError,
     "fit_mctn: lr must be a finite number > 0"),
    (lambda: fit_colearning(CoLearner([3, 2], 2, dim=2, width=4), A, torch.tensor(1), torch.arange(4)),
     ValueError, "fit_colearning: labels must have 1 dimensions"),
    (lambda: fit_colearning(CoLearner([3, 2], 2, dim=2, width=4), A, Y - 1, torch.arange(4)), ValueError,
     r"fit_colearning: labels must hold integers in 0\.\.1, got values from -1"),
    (lambda: fit_colearning(CoLearner([3, 2], 2, dim=2, width=4), A, Y, torch.arange(4), torch.tensor(1.0)),
     ValueError, "fit_colearning: secondary must be a batch"),
    (lambda: ZeroShotModel(300, dim=4)("abc"), TypeError, "ZeroShotModel: x must be a floating-point"),
    (lambda: ZeroShotModel(300, dim=4)(torch.tensor(1.0)), ValueError, "ZeroShotModel: x must be a batch"),
    (lambda: fit_zero_shot(ZeroShotModel(3, 2, 2, dim=2, width=4), torch.tensor(1.0), Y, torch.tensor([0, 1])),
     ValueError, r"fit_zero_shot: images \(m, ...\) and labels \(m,\) must have the same number of rows"),
    (lambda: fit_zero_shot(ZeroShotModel(3, 2, 2, dim=2, width=4), A, Y, torch.tensor([0, 1]), lr="abc"),
     TypeError, "fit_zero_shot: lr must be a number"),
    (lambda: zero_shot_predict(torch.rand(2, 2), torch.zeros(0, 2)), ValueError,
     "zero_shot_predict: prototypes is empty"),
])
def test_colearning_refuses_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# -- transference.induction -----------------------------------------------------------------------------------------
X = np.array([[0.0], [0.1], [1.0], [0.9], [0.2], [0.8]])
GIVEN = np.array([0, 0, 1, 1, -1, -1])


@pytest.mark.parametrize("call, error, match", [
    (lambda: co_regularisation_objective(np.full((2, 2), NAN), np.zeros((2, 2)), X, X, GIVEN), ValueError,
     "co_regularisation_objective: weights1 contains NaN"),
    (lambda: merge_picks([3, 5], ["a", "b"], [5], [0]), ValueError, "merge_picks: labels1 must be a 1-D integer"),
    (lambda: merge_picks([3, 5], [1], [5], [0]), ValueError, "merge_picks: each pick needs one label per row"),
    (lambda: most_confident(np.array([[NAN, 0.5]]), 1), ValueError, "most_confident: proba contains NaN"),
    (lambda: co_training_step(None, None, np.where(X > 0.5, NAN, X), X, GIVEN, per_round=1), ValueError,
     "co_training_step: x1 contains NaN"),
    (lambda: TorchClassifier(nn.Linear(2, 2), seed="abc"), TypeError, "TorchClassifier: seed must be an integer"),
    (lambda: few_labels(np.repeat(np.arange(3), 10), 6, seed=0.5), TypeError, "few_labels: seed must be an integer"),
    (lambda: dependent_view(np.ones((4, 2)), seed=-1), ValueError, "dependent_view: seed must be ≥ 0"),
    (lambda: error_correlation([], [], []), ValueError, "error_correlation: .* must have the same length ≥ 1"),
    (lambda: pseudo_label_accuracy([(np.array([0, 5]), np.array([1, 1]))], np.array([1, 0, 0])), ValueError,
     "pseudo_label_accuracy: round 1 has rows from 0 to 5, but truth has 3 rows"),
])
def test_induction_refuses_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# -- transference.transfer ------------------------------------------------------------------------------------------
XT, YT = torch.randn(20, 5), torch.arange(20) % 2


@pytest.mark.parametrize("call, error, match", [
    (lambda: TransferModel(MLPEncoder(6, 4, (8,)), 3)("abc"), TypeError, "TransferModel: x must be a floating"),
    (lambda: TransferModel(MLPEncoder(6, 4, (8,)), 3)(torch.tensor(1.0)), ValueError,
     r"TransferModel: x must be a batch \(n, ...\)"),
    (lambda: pretrain_encoder(XT, YT, lr=NAN), ValueError, "pretrain_encoder: lr must be a finite number > 0"),
    (lambda: fine_tune(XT, YT, mode="scratch", width="abc"), ValueError, "fine_tune: width must be a positive"),
    (lambda: learning_curve((XT, YT), (XT, YT), [10], encoders={"scratch": (None, "scratch")}, seed=0.5),
     TypeError, "learning_curve: seed must be an integer"),
    (lambda: fit_multitask(MultitaskModel({"a": 3}, {"t": (["a"], 2)}, hidden=4, width=4),
                           {"t": ([torch.randn(20, 3)], YT)}, lr="abc"), TypeError, "fit_multitask: lr must be a"),
    (lambda: shift_scale(_nan(2, 2), torch.ones(2, 2), beta=0.5), ValueError, "shift_scale: z contains NaN"),
    (lambda: shift_scale(torch.ones(2, 2), "abc", beta=0.5), TypeError, "shift_scale: h must be a floating"),
    (lambda: ModalityShift(8, 5)(torch.randn(4, 8), _nan(4, 5)), ValueError, "ModalityShift: a contains NaN"),
    (lambda: ShiftClassifier(MLPEncoder(6, 8), 4, 3)(torch.randn(5, 6), "abc"), TypeError,
     "ShiftClassifier: a must be a torch.Tensor"),
    (lambda: ShiftClassifier(MLPEncoder(6, 8), 4, 3)(torch.randn(5, 6), _nan(5, 4)), ValueError,
     "ShiftClassifier: a contains NaN"),
])
def test_transfer_refuses_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
