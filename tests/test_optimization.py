"""Part 2.3 optimization: the logit-sum model and its branch accuracies, gradient blending's G, O and weights on
hand-made curves, OGM-GE's scores, ratios and coefficients on hand values, gradients scaled as claimed, the training
loop's remedies, and clear errors on bad input."""
import doctest
import importlib
import math

import numpy as np
import pytest
import torch
from torch import nn

from mmcourse.representation import (BranchHistory, LogitSumModel, ModalityDropout, branch_accuracy, branch_scores,
                                     discrepancy_ratios, drop_modalities, fit_balanced, generalization_overfitting,
                                     gradient_blend_weights, head_losses, modulate_gradients, ogm_coefficients)


# --- the model ------------------------------------------------------------------------------------------------------
def test_logits_are_the_sum_of_the_branches_and_branches_see_one_modality():
    torch.manual_seed(0)
    model = LogitSumModel([3, 5, 2], 4, width=6)
    xs = [torch.randn(7, d) for d in (3, 5, 2)]
    parts = model.branch_logits(*xs)
    assert torch.allclose(model(*xs), parts[0] + parts[1] + parts[2])
    changed = [xs[0], torch.randn(7, 5), xs[2]]
    new = model.branch_logits(*changed)
    assert torch.equal(new[0], parts[0]) and torch.equal(new[2], parts[2]) and not torch.equal(new[1], parts[1])


def test_branch_accuracy_counts_each_branch_alone():
    model = LogitSumModel([1, 1], 2, width=2)
    for branch, sign in zip(model.branches, (1.0, -1.0)):  # branch 1 predicts class [x > 0]; branch 2 the opposite
        for p in branch.parameters():
            nn.init.zeros_(p)
        with torch.no_grad():
            branch.encoder.net[0].weight.fill_(1.0)           # h = ReLU(x)
            branch.head.weight.copy_(torch.tensor([[0.0], [sign]]))
            branch.head.bias.copy_(torch.tensor([0.0, 0.5 * (1 - sign) / 2 - 0.1 * (sign < 0)]))
    x = torch.tensor([[1.0], [2.0], [-1.0], [-2.0]])
    y = torch.tensor([1, 1, 0, 0])
    acc = branch_accuracy(model, ([x, x], y))
    assert acc[0] == 1.0 and acc[1] == 0.0


def test_model_and_branch_accuracy_errors():
    with pytest.raises(ValueError, match="input_dims must list at least 2"):
        LogitSumModel([3], 2)
    with pytest.raises(ValueError, match="num_classes must be an integer"):
        LogitSumModel([3, 3], 1)
    model = LogitSumModel([3, 3], 2)
    with pytest.raises(ValueError, match="expected 2 modalities, got 1"):
        model(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="model has 2 branches but data has 3"):
        branch_accuracy(model, ([torch.zeros(2, 3)] * 3, torch.zeros(2).long()))
    with pytest.raises(TypeError, match="must be a LogitSumModel"):
        branch_accuracy(nn.Linear(3, 2), ([torch.zeros(2, 3)], torch.zeros(2).long()))


# --- gradient blending -----------------------------------------------------------------------------------------------
def test_generalization_and_overfitting_by_hand():
    train = np.array([[1.0, 0.8, 0.4], [1.0, 0.9, 0.9]])
    val = np.array([[1.0, 0.9, 0.8], [1.0, 0.95, 0.9]])
    G, O = generalization_overfitting(train, val, 0, 2)
    assert np.allclose(G, [0.2, 0.1]) and np.allclose(O, [0.4, 0.0])
    G, O = generalization_overfitting({"a": train[0], "b": train[1]}, {"a": val[0], "b": val[1]}, 1, 2)
    assert np.allclose(G, [0.1, 0.05]) and np.allclose(O, [0.3, -0.05])


def test_blend_weights_by_hand():
    train = [[1.0, 0.6], [1.0, 0.8], [1.0, 0.5]]
    val = [[1.0, 0.9], [1.0, 0.9], [1.0, 0.7]]   # G = (0.1, 0.1, 0.3), O = (0.3, 0.1, 0.2)
    raw = np.array([0.1 / 0.09, 0.1 / 0.01, 0.3 / 0.04])
    w = gradient_blend_weights(train, val, 0, 1)
    assert np.allclose(w, raw / raw.sum()) and math.isclose(w.sum(), 1.0)


def test_blend_weights_edge_cases():
    # a head that got worse on validation gets weight 0; a head that does not overfit is floored at eps
    w = gradient_blend_weights([[1.0, 0.5], [1.0, 0.5]], [[1.0, 1.2], [1.0, 0.9]], 0, 1)
    assert w[0] == 0 and w[1] == 1
    w = gradient_blend_weights([[1.0, 0.5], [1.0, 1.0]], [[1.0, 0.8], [1.0, 0.9]], 0, 1, eps=0.01)
    assert np.allclose(w, np.array([0.2 / 0.3**2, 0.1 / 0.01**2]) / (0.2 / 0.09 + 1000))
    assert np.allclose(gradient_blend_weights([[1.0, 0.5]] * 2, [[1.0, 1.5]] * 2, 0, 1), [0.5, 0.5])


@pytest.mark.parametrize("args, match", [
    (([[1.0, 0.5]], [[1.0, 0.5, 0.2]], 0, 1), "train_losses has shape"),
    (([[1.0, 0.5]], [[1.0, 0.5]], 1, 1), "need 0 <= start < end < 2"),
    (([[1.0, 0.5]], [[1.0, 0.5]], 0, 2), "need 0 <= start < end"),
    (([[1.0]], [[1.0]], 0, 1), "≥ 2 epochs"),
    (([[1.0, np.nan]], [[1.0, 0.5]], 0, 1), "NaN"),
    (([[1.0, 0.5]], [[1.0, 0.5]], 0.0, 1), "start must be an integer"),
])
def test_blend_errors(args, match):
    with pytest.raises(ValueError, match=match):
        gradient_blend_weights(*args)
    with pytest.raises(ValueError, match="eps must be a positive"):
        gradient_blend_weights([[1.0, 0.5]], [[1.0, 0.5]], 0, 1, eps=0)


# --- OGM-GE ----------------------------------------------------------------------------------------------------------
def test_branch_scores_by_hand():
    g1 = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])   # probabilities (0.5, 0.5) and (0.75, 0.25)
    g2 = torch.tensor([[0.0, math.log(4.0)], [0.0, 0.0]])   # (0.2, 0.8) and (0.5, 0.5)
    s = branch_scores([g1, g2], torch.tensor([1, 0]))
    assert torch.allclose(s, torch.tensor([0.5 + 0.75, 0.8 + 0.5]))


def test_ratios_and_coefficients_by_hand():
    assert torch.allclose(discrepancy_ratios([2.0, 1.0]), torch.tensor([2.0, 0.5]))
    assert torch.allclose(discrepancy_ratios([4.0, 1.0, 3.0]), torch.tensor([2.0, 1 / 3.5, 1.2]))
    k = ogm_coefficients([2.0, 1.0], alpha=0.3)
    assert torch.allclose(k, torch.tensor([1 - math.tanh(0.6), 1.0]))
    k = ogm_coefficients([2.0, 1.0], alpha=0.3, centered=True)
    assert torch.allclose(k, torch.tensor([1 - math.tanh(0.3), 1.0]))
    assert torch.equal(ogm_coefficients([1.0, 1.0], alpha=5.0), torch.ones(2))  # a tie slows nobody
    assert torch.equal(ogm_coefficients([3.0, 1.0], alpha=0.0), torch.tensor([1.0, 1.0]))


def test_modulation_scales_exactly_the_leading_branch():
    torch.manual_seed(0)
    model = LogitSumModel([3, 4], 2, width=5)
    x, y = [torch.randn(16, 3), torch.randn(16, 4)], torch.randint(2, (16,))
    nn.functional.cross_entropy(model(*x), y).backward()
    before = [[p.grad.clone() for p in b.parameters()] for b in model.branches]
    modulate_gradients(model.branches, [0.3, 1.0], noise=False)
    for p, g in zip(model.branches[0].parameters(), before[0]):
        assert torch.allclose(p.grad, 0.3 * g)
    for p, g in zip(model.branches[1].parameters(), before[1]):
        assert torch.equal(p.grad, g)


def test_generalization_enhancement_noise_has_the_gradients_scale():
    p = nn.Parameter(torch.zeros(200, 100))
    p.grad = torch.randn(200, 100) * 3.0
    scaled = 0.5 * p.grad.clone()
    modulate_gradients([[p]], [0.5], noise=True, generator=torch.Generator().manual_seed(0))
    noise = p.grad - scaled
    assert abs(noise.mean().item()) < 0.05 and abs(noise.std().item() / scaled.std().item() - 1) < 0.02


@pytest.mark.parametrize("call, match", [
    (lambda: ogm_coefficients([1.0, 0.0], 1.0), "positive finite"),
    (lambda: ogm_coefficients([1.0], 1.0), "≥ 2 positive"),
    (lambda: ogm_coefficients([1.0, 2.0], -1.0), "alpha must be"),
    (lambda: modulate_gradients([nn.Linear(1, 1)], [1.0, 1.0]), "1 branches but 2 coefficients"),
    (lambda: modulate_gradients([nn.Linear(1, 1)], [-1.0]), "finite and ≥ 0"),
    (lambda: branch_scores([torch.zeros(2, 2)], torch.zeros(2).long()), "at least 2 branches"),
    (lambda: branch_scores([torch.zeros(2, 2), torch.zeros(3, 2)], torch.zeros(2).long()), "branch 2 logits"),
])
def test_ogm_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- the training loop -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def toy():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(2, (120,), generator=g)
    x1 = torch.randn(120, 2, generator=g) + 2.0 * (2 * y[:, None] - 1)   # easy
    x2 = torch.randn(120, 6, generator=g) + 0.5 * (2 * y[:, None] - 1)   # weak
    return [x1, x2], y


def test_fit_balanced_records_and_learns(toy):
    torch.manual_seed(0)
    model = LogitSumModel([2, 6], 2, width=8)
    history = fit_balanced(model, toy, toy, epochs=5, progress=False)
    assert isinstance(history, BranchHistory) and history.epochs == 5
    assert np.array(history.head_val_loss).shape == (5, 3) and np.array(history.branch_val_acc).shape == (5, 2)
    assert history.val_acc[-1] > 0.9 and history.ogm_coefficients == []
    losses, accuracies = head_losses(model, toy)
    assert losses[0] == pytest.approx(history.head_val_loss[-1][0]) and accuracies[0] == history.val_acc[-1]


def test_zero_head_weight_leaves_a_branch_untouched(toy):
    torch.manual_seed(0)
    model = LogitSumModel([2, 6], 2, width=8)
    frozen = [p.clone() for p in model.branches[1].parameters()]
    fit_balanced(model, toy, epochs=2, head_weights=[0, 1, 0], progress=False)
    assert all(torch.equal(p, q) for p, q in zip(model.branches[1].parameters(), frozen))


def test_ogm_in_the_loop_slows_the_easy_branch(toy):
    torch.manual_seed(0)
    history = fit_balanced(LogitSumModel([2, 6], 2, width=8), toy, epochs=3, ogm_alpha=1.0, progress=False)
    k = np.array(history.ogm_coefficients)
    assert k.shape == (3, 2) and (k[1:, 0] < 0.3).all() and (k[1:, 1] == 1.0).all()  # after a first mixed epoch


def test_same_seed_same_numbers(toy):
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        runs.append(fit_balanced(LogitSumModel([2, 6], 2, width=8), toy, toy, epochs=2, ogm_alpha=0.5,
                                 modality_dropout=0.3, progress=False).head_val_loss)
    assert runs[0] == runs[1]


@pytest.mark.parametrize("kwargs, match", [
    ({"head_weights": [1, 1]}, "head_weights must be 3"), ({"head_weights": [0, 0, 0]}, "positive sum"),
    ({"head_weights": [1, -1, 1]}, "non-negative"), ({"ogm_alpha": -1.0}, "ogm_alpha must be"),
    ({"epochs": 0}, "epochs must be a positive integer"), ({"lr": 0}, "lr must be positive"),
    ({"modality_dropout": 1.5}, "p must be a probability"),
])
def test_fit_balanced_errors(toy, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_balanced(LogitSumModel([2, 6], 2), toy, progress=False, **kwargs)
    with pytest.raises(TypeError, match="must be a LogitSumModel"):
        fit_balanced(nn.Linear(2, 2), toy)


def test_the_coordinators_dropout_is_still_exported():
    assert ModalityDropout(0.5).p == 0.5 and callable(drop_modalities)


@pytest.mark.parametrize("module", ["branches", "blending", "ogm", "train"])
def test_doctests(module):
    result = doctest.testmod(importlib.import_module("mmcourse.representation.optimization." + module))
    assert result.failed == 0 and result.attempted > 0
