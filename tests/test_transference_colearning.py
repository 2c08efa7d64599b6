"""Part 6.3, co-learning: the labelled subset, the co-learner and its training, zero-shot prediction through word
names, and MCTN's cyclic translation (equations on tiny inputs, gradient flow, error messages)."""
import math

import pytest
import torch
from torch.nn import functional as F

from mmcourse.representation.contrastive.clip import clip_loss
from mmcourse.transference import (MCTN, CoLearner, ZeroShotModel, class_prototypes, colearn_digits, cycle_loss,
                                   fill_missing, fit_colearning, fit_mctn, fit_zero_shot, object_names,
                                   scene_objects, stratified_subset, zero_shot_predict)
from mmcourse.utils import set_seed


# --- co-learning via representation -----------------------------------------------------------------------------
def test_stratified_subset_balances_classes_and_is_seeded():
    labels = torch.arange(60) % 3
    rows = stratified_subset(labels, 7, seed=1)
    assert rows.shape == (7,) and len(rows.unique()) == 7
    assert torch.bincount(labels[rows]).tolist() == [3, 2, 2]
    assert torch.equal(rows, stratified_subset(labels, 7, seed=1))
    assert not torch.equal(rows, stratified_subset(labels, 7, seed=2))
    with pytest.raises(ValueError, match="n must be between"):
        stratified_subset(labels, 2)
    with pytest.raises(ValueError, match="labels must be"):
        stratified_subset(torch.rand(5), 2)
    small = torch.tensor([0, 0, 0, 1, 2, 2])
    assert torch.bincount(small[stratified_subset(small, 5)]).tolist() == [2, 1, 2]  # class 1 has one row only
    assert stratified_subset(small, 6).tolist() == list(range(6))


def test_colearner_loss_is_cross_entropy_plus_weighted_infonce():
    set_seed(0)
    model = CoLearner([6, 4], 3, dim=5, width=8, scale=2.0)
    x, v, y = torch.randn(7, 6), torch.randn(7, 4), torch.arange(7) % 3
    z = model.features(x)
    assert torch.allclose(z.norm(dim=1), torch.ones(7))
    assert torch.allclose(model(x), model.head(2.0 * z))
    ce = F.cross_entropy(model(x), y)
    assert torch.allclose(model.loss(x, y), ce)
    zx, zv = model.pair(x, v)
    expected = ce + 0.5 * clip_loss(zx, zv, model.pair.temperature)
    assert torch.allclose(model.loss(x, y, (x, v), weight=0.5), expected, atol=1e-5)
    assert torch.allclose(model.loss(x, y, (x, v), weight=0.0), ce)


def test_contrastive_term_trains_the_secondary_tower_and_the_baseline_does_not():
    set_seed(0)
    model = CoLearner([6, 4], 3, dim=5, width=8)
    x, v, y = torch.randn(7, 6), torch.randn(7, 4), torch.arange(7) % 3
    model.loss(x, y, (x, v)).backward()
    assert model.pair.encoders[1].net[0].weight.grad.abs().sum() > 0
    model.zero_grad(set_to_none=True)
    model.loss(x, y).backward()
    assert model.pair.encoders[1].net[0].weight.grad is None


def test_fit_colearning_learns_a_separable_task_and_validates():
    set_seed(0)
    y = torch.arange(80) % 2
    x = torch.randn(80, 4) + 3 * y[:, None].float()
    v = x[:, :2] + 0.1 * torch.randn(80, 2)
    model = CoLearner([4, 2], 2, dim=3, width=8)
    losses = fit_colearning(model, x, y, torch.arange(10), v, epochs=20, batch_size=16)
    assert len(losses) == 20 and not model.training
    assert torch.equal(model(x[:10]).argmax(1), y[:10])  # the labelled rows are learned
    assert (model(x).argmax(1) == y).float().mean() > 0.75  # and the others well above chance (0.5)
    with pytest.raises(TypeError, match="CoLearner"):
        fit_colearning(torch.nn.Linear(2, 2), x, y, torch.arange(4))
    with pytest.raises(ValueError, match="labelled must be"):
        fit_colearning(model, x, y, torch.tensor([100]))
    with pytest.raises(ValueError, match="secondary must be"):
        fit_colearning(model, x, y, torch.arange(4), v[:5])
    with pytest.raises(ValueError, match="weight must be"):
        fit_colearning(model, x, y, torch.arange(4), v, weight=-1.0)
    with pytest.raises(ValueError, match="scale must be"):
        CoLearner([4, 2], 2, scale=0.0)


def test_colearn_digits_returns_a_trained_audio_model():
    model = colearn_digits(20, epochs=1)
    assert isinstance(model, CoLearner) and model(torch.zeros(2, 12, 16)).shape == (2, 10)
    assert model.features(torch.zeros(2, 12, 16)).shape == (2, 16)
    twin = colearn_digits(20, epochs=1)
    assert torch.equal(model.head.weight, twin.head.weight)  # seeded


# --- zero-shot ----------------------------------------------------------------------------------------------------
def test_class_prototypes_by_hand_and_errors():
    z = torch.tensor([[3.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    p = class_prototypes(z, torch.tensor([0, 1, 1]))
    mean = (torch.tensor([0.0, 1.0]) + torch.tensor([1.0, 1.0]) / math.sqrt(2)) / 2  # of the unit-length rows
    assert torch.allclose(p[0], torch.tensor([1.0, 0.0])) and torch.allclose(p[1], mean / mean.norm())
    assert class_prototypes(z, torch.tensor([0, 0, 0]), num_classes=1).shape == (1, 2)
    with pytest.raises(ValueError, match="every class"):
        class_prototypes(z, torch.tensor([0, 2, 2]))
    with pytest.raises(ValueError, match="labels must be"):
        class_prototypes(z, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="embeddings must be"):
        class_prototypes(torch.tensor([1.0, float("nan")])[None], torch.tensor([0]))


def test_zero_shot_predict_uses_cosine_and_candidates():
    p = torch.tensor([[10.0, 0.0], [0.0, 0.1]])
    z = torch.tensor([[0.2, 1.0], [1.0, 0.2]])
    assert zero_shot_predict(z, p).tolist() == [1, 0]  # cosine, although the dot product prefers class 0 for row 0
    assert zero_shot_predict(z, p, candidates=torch.tensor([1])).tolist() == [1, 1]
    with pytest.raises(ValueError, match="features"):
        zero_shot_predict(z, torch.ones(2, 3))
    with pytest.raises(ValueError, match="candidates"):
        zero_shot_predict(z, p, candidates=torch.tensor([2]))


def test_object_names_and_scene_objects():
    names = object_names()
    assert len(names) == 12 and names[5] == "green triangle"
    crops, labels = scene_objects("validation")
    assert crops.shape[1:] == (10, 10, 3) and len(crops) == len(labels) and labels.max() <= 11
    with pytest.raises(ValueError, match="split"):
        scene_objects("dev")


def test_zero_shot_model_names_compose_words_and_training_skips_unseen():
    set_seed(0)
    model = ZeroShotModel(3, 2, 2, dim=4, width=8, scale=3.0)
    e = model.words.weight
    assert torch.allclose(model.names()[3], F.normalize(e[1] + e[3], dim=0))  # class 3 = colour 1, shape 1
    x = torch.randn(5, 3)
    assert torch.allclose(model(x, torch.tensor([0, 3])), 3.0 * model.embed(x) @ model.names()[[0, 3]].T)
    # class 3 is unseen: its images must not change the model
    x, y = torch.randn(40, 3), torch.arange(40) % 4
    seen = torch.tensor([0, 1, 2])
    set_seed(1)
    a = ZeroShotModel(3, 2, 2, dim=4, width=8)
    fit_zero_shot(a, x, y, seen, epochs=2, batch_size=64)
    set_seed(1)
    b = ZeroShotModel(3, 2, 2, dim=4, width=8)
    fit_zero_shot(b, x[y < 3], y[y < 3], seen, epochs=2, batch_size=64)
    assert torch.allclose(a.names(), b.names())
    with pytest.raises(ValueError, match="seen must"):
        fit_zero_shot(a, x, y, torch.tensor([0]))
    with pytest.raises(TypeError, match="ZeroShotModel"):
        fit_zero_shot(torch.nn.Linear(3, 3), x, y, seen)


# --- MCTN ---------------------------------------------------------------------------------------------------------
def test_cycle_loss_by_hand():
    v, a = torch.zeros(2, 3), torch.ones(2, 4)
    assert cycle_loss(v, v + 1, a, a + 2).item() == pytest.approx(5.0)
    assert cycle_loss(v, v + 1, a, a + 2, translation_weight=2.0, cycle_weight=0.25).item() == pytest.approx(3.0)
    with pytest.raises(ValueError, match="translation must be"):
        cycle_loss(v, torch.zeros(2, 2), a, a)
    with pytest.raises(ValueError, match="cycle_weight"):
        cycle_loss(v, v, a, a, cycle_weight=-1.0)


def test_mctn_paths_loss_and_gradients():
    set_seed(0)
    model = MCTN((3, 2), 5, 4, code=3, width=8)
    a, v, y = torch.rand(6, 3, 2), torch.rand(6, 5), torch.tensor([0, 1, 2, 3, -1, -1])
    logits, v_hat, a_hat = model.cycle(a)
    assert logits.shape == (6, 4) and v_hat.shape == (6, 5) and a_hat.shape == (6, 3, 2)
    assert torch.allclose(model(a), logits) and torch.allclose(model.translate(a), v_hat)
    expected = F.cross_entropy(logits[:4], y[:4]) + F.mse_loss(v_hat, v) + 0.5 * F.mse_loss(a_hat, a)
    loss = model.loss(a, v, y, cycle_weight=0.5)
    assert torch.allclose(loss, expected)
    loss.backward()
    for part in (model.encode_source, model.decode_target, model.encode_target, model.decode_source, model.head):
        assert next(part.parameters()).grad.abs().sum() > 0  # the cycle reaches every part
    unlabelled = model.loss(a, v, torch.full((6,), -1))
    assert torch.isfinite(unlabelled)
    with pytest.raises(ValueError, match="source must have shape"):
        model(torch.rand(6, 6))


def test_fit_mctn_learns_and_validates():
    set_seed(0)
    y = torch.arange(64) % 2
    a = torch.rand(64, 4) * 0.5 + 0.5 * y[:, None].float()
    v = y[:, None].float().expand(64, 3).clone()
    model = MCTN(4, 3, 2, code=2, width=8)
    losses = fit_mctn(model, a, v, y, epochs=30, batch_size=16)
    assert losses[-1] < losses[0] and (model(a).argmax(1) == y).float().mean() > 0.9
    with pytest.raises(ValueError, match="same number of rows"):
        fit_mctn(model, a, v[:3], y)
    with pytest.raises(TypeError, match="MCTN"):
        fit_mctn(torch.nn.Linear(2, 2), a, v, y)


def test_fill_missing():
    x = torch.ones(3, 2)
    assert torch.equal(fill_missing(x), torch.zeros(3, 2))
    assert fill_missing(x, "mean", torch.tensor([[0.0, 1.0], [2.0, 3.0]])).tolist() == [[1.0, 2.0]] * 3
    with pytest.raises(ValueError, match="how must be"):
        fill_missing(x, "median")
    with pytest.raises(ValueError, match="reference"):
        fill_missing(x, "mean")


def test_doctests():
    import doctest

    from mmcourse.transference.colearning import mctn, representation, zeroshot
    for module in (representation, zeroshot, mctn):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_zero_shot_names_unseen_combinations_of_seen_words():
    # inputs: one-hot colour (3) and one-hot shape (3) with noise; classes 3·colour + shape; two combinations unseen
    set_seed(0)
    colour, shape = torch.randint(0, 3, (600,)), torch.randint(0, 3, (600,))
    x = torch.cat([F.one_hot(colour, 3), F.one_hot(shape, 3)], 1).float() + 0.1 * torch.randn(600, 6)
    y = 3 * colour + shape
    unseen = torch.tensor([0, 4])  # (colour 0, shape 0) and (colour 1, shape 1)
    seen = torch.tensor([k for k in range(9) if k not in (0, 4)])
    model = ZeroShotModel(6, 3, 3, dim=8, width=16)
    fit_zero_shot(model, x, y, seen, epochs=40, batch_size=128)
    new = torch.isin(y, unseen)
    with torch.no_grad():
        guesses = zero_shot_predict(model.embed(x[new]), model.names(), unseen)
    assert (guesses == y[new]).float().mean() > 0.8  # chance: 0.5
