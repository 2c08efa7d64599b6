"""Multitask and transfer learning (Part 6.2): the multitask model's parameter sharing and objective against their
definitions, the fine-tuning modes (what trains, what stays), the learning curve's bookkeeping, the derived tasks,
small trainings that learn, and clear errors."""
import doctest

import pytest
import torch
import torch.nn.functional as F

import mmcourse.transference.transfer._tasks as tasks_module
import mmcourse.transference.transfer.finetuning as finetuning_module
import mmcourse.transference.transfer.multitask as multitask_module
from mmcourse.encoders import MLPEncoder
from mmcourse.transference import (MODES, TASKS, MultitaskModel, TransferModel, digits_task, evaluate_tasks,
                                   fine_tune, fit_multitask, learning_curve, multitask_loss, pretrain_encoder,
                                   relabel, trainable_parameters)

DIMS = {"image": 6, "audio": 10}
TASK_SPECS = {"a": (["image"], 3), "b": (["audio"], 4), "c": (["image", "audio"], 2)}


@pytest.mark.parametrize("module", [multitask_module, finetuning_module, tasks_module])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


def _closed_form(dims, tasks, hidden, width, shared):
    proj = lambda m: (dims[m] + 1) * hidden  # noqa: E731
    trunk = (hidden + 1) * width
    heads = sum((width + 1) * k for _, k in tasks.values())
    if shared:
        return sum(proj(m) for m in {m for ms, _ in tasks.values() for m in ms}) + trunk + heads
    return sum(sum(proj(m) for m in ms) + trunk for ms, _ in tasks.values()) + heads


@pytest.mark.parametrize("shared", [True, False])
def test_parameter_count_matches_the_closed_form(shared):
    model = MultitaskModel(DIMS, TASK_SPECS, hidden=5, width=3, shared=shared)
    assert trainable_parameters(model) == _closed_form(DIMS, TASK_SPECS, 5, 3, shared)


def test_a_new_task_on_a_known_modality_costs_one_head_when_shared():
    small = MultitaskModel(DIMS, TASK_SPECS, hidden=5, width=3)
    more = MultitaskModel(DIMS, {**TASK_SPECS, "d": (["audio"], 7)}, hidden=5, width=3)
    assert trainable_parameters(more) - trainable_parameters(small) == (3 + 1) * 7
    separate = MultitaskModel(DIMS, TASK_SPECS, hidden=5, width=3, shared=False)
    separate_more = MultitaskModel(DIMS, {**TASK_SPECS, "d": (["audio"], 7)}, hidden=5, width=3, shared=False)
    assert trainable_parameters(separate_more) - trainable_parameters(separate) == (10 + 1) * 5 + 6 * 3 + 4 * 7


def test_forward_is_the_head_of_the_mean_trunk_feature():
    torch.manual_seed(0)
    model = MultitaskModel(DIMS, TASK_SPECS, hidden=5, width=3)
    xi, xa = torch.randn(4, 2, 3), torch.randn(4, 10)  # image given as (n, 2, 3): flattened inside
    g = model.trunk["shared"]
    h = (g(model.project["image"](xi.flatten(1))) + g(model.project["audio"](xa))) / 2
    assert torch.allclose(model("c", xi, xa), model.heads["c"](h), atol=1e-6)
    assert torch.allclose(model.features("c", xi, xa), h, atol=1e-6)


def test_separate_models_do_not_share_anything():
    model = MultitaskModel(DIMS, TASK_SPECS, hidden=5, width=3, shared=False)
    x, y = torch.randn(8, 6), torch.randint(0, 3, (8,))
    F.cross_entropy(model("a", x), y).backward()
    touched = {n.split(".")[1] for n, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert touched == {"a/image", "a", }
    assert model.project["b/audio"].weight.grad is None and model.heads["b"].weight.grad is None


def test_multitask_loss_is_the_weighted_sum():
    torch.manual_seed(1)
    model = MultitaskModel(DIMS, TASK_SPECS, hidden=5, width=3)
    batches = {"a": ([torch.randn(5, 6)], torch.randint(0, 3, (5,))),
               "b": ([torch.randn(7, 10)], torch.randint(0, 4, (7,)))}
    la = F.cross_entropy(model("a", *batches["a"][0]), batches["a"][1])
    lb = F.cross_entropy(model("b", *batches["b"][0]), batches["b"][1])
    assert torch.isclose(multitask_loss(model, batches), la + lb)
    assert torch.isclose(multitask_loss(model, batches, {"a": 0.5, "b": 2.0}), 0.5 * la + 2 * lb)
    multitask_loss(model, batches).backward()
    assert model.trunk["shared"][1].weight.grad.abs().sum() > 0 and model.heads["c"].weight.grad is None


def test_fit_multitask_learns_every_task_and_is_deterministic():
    g = torch.Generator().manual_seed(0)
    xi, xa = torch.randn(60, 6, generator=g), torch.randn(60, 10, generator=g)
    data = {"a": ([xi], (xi[:, 0] > 0).long()), "b": ([xa], (xa[:, 0] > 0).long())}
    spec = {"a": (["image"], 2), "b": (["audio"], 2)}
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = MultitaskModel(DIMS, spec, hidden=8, width=8)
        losses = fit_multitask(model, data, steps=80, lr=3e-2)
        runs.append(losses)
        accuracy = evaluate_tasks(model, data)
    assert runs[0] == runs[1] and losses[-1] < 0.3 * losses[0]
    assert min(accuracy.values()) >= 0.9


def test_multitask_errors():
    with pytest.raises(ValueError, match="reads modalities"):
        MultitaskModel(DIMS, {"a": (["video"], 3)})
    with pytest.raises(ValueError, match="tasks is empty"):
        MultitaskModel(DIMS, {})
    with pytest.raises(ValueError, match="num_classes of 'a'"):
        MultitaskModel(DIMS, {"a": (["image"], 0)})
    with pytest.raises(ValueError, match="hidden must be a positive integer"):
        MultitaskModel(DIMS, TASK_SPECS, hidden=0)
    model = MultitaskModel(DIMS, TASK_SPECS, hidden=5, width=3)
    with pytest.raises(ValueError, match="unknown task 'z'"):
        model("z", torch.zeros(2, 6))
    with pytest.raises(ValueError, match=r"reads \['image', 'audio'\], got 1 input"):
        model("c", torch.zeros(2, 6))
    with pytest.raises(ValueError, match="unknown task"):
        multitask_loss(model, {"z": ([torch.zeros(2, 6)], torch.zeros(2).long())})
    with pytest.raises(TypeError, match="MultitaskModel"):
        fit_multitask(torch.nn.Linear(2, 2), {"a": ([torch.zeros(2, 6)], torch.zeros(2).long())})
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        fit_multitask(model, {"a": ([torch.zeros(2, 6)], torch.zeros(2).long())}, steps=0)


def test_relabel_and_tasks():
    digits = torch.arange(10)
    assert relabel(digits, "digit").tolist() == list(range(10))
    assert relabel(digits, "parity").tolist() == [0, 1] * 5
    assert relabel(digits, "high").tolist() == [0] * 5 + [1] * 5
    for task, k in TASKS.items():
        x = torch.rand(10, 3)
        assert set(relabel(digits, task, x).tolist()) <= set(range(k))
    with pytest.raises(ValueError, match="task must be one of"):
        relabel(digits, "colour")
    with pytest.raises(ValueError, match="needs x"):
        relabel(digits, "loudness")
    x, y = digits_task("validation", "mod3", "audio")
    assert x.shape == (360, 192) and set(y.tolist()) == {0, 1, 2}
    with pytest.raises(ValueError, match="modality must be"):
        digits_task("train", "digit", "video")


def _toy(n=80, d=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    return x, (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()


def test_fine_tune_modes_train_the_right_parameters_and_leave_the_source_alone():
    x, y = _toy()
    encoder = pretrain_encoder(x, y, width=4, hidden=8, steps=20)
    before = [p.clone() for p in encoder.parameters()]
    probe = fine_tune(x, y % 2, encoder=encoder, mode="probe", steps=10)
    tuned = fine_tune(x, y % 2, encoder=encoder, mode="finetune", steps=10)
    assert all(torch.equal(a, b) for a, b in zip(before, encoder.parameters()))         # the source is untouched
    assert all(torch.equal(a, b) for a, b in zip(before, probe.encoder.parameters()))   # the probe's copy is frozen
    assert not all(torch.equal(a, b) for a, b in zip(before, tuned.encoder.parameters()))
    assert trainable_parameters(probe) == (4 + 1) * 2 and trainable_parameters(tuned) > trainable_parameters(probe)
    scratch = fine_tune(x, y, mode="scratch", width=4, hidden=8, steps=10, num_classes=5)
    assert scratch(x).shape == (80, 5) and scratch.features(x).shape == (80, 4)
    assert MODES == ("scratch", "finetune", "probe")


def test_pretraining_helps_a_related_target_with_few_examples():
    x, y = _toy(400)
    xt, yt = _toy(300, seed=1)
    encoder = pretrain_encoder(x, y, width=8, hidden=16, steps=150, lr=3e-2)
    acc = {mode: float((fine_tune(x[:8], y[:8] // 2, encoder=encoder, mode=mode, num_classes=2, steps=60,
                                  width=8, hidden=16)(xt).argmax(1) == yt // 2).float().mean()) for mode in MODES}
    assert acc["probe"] >= acc["scratch"] + 0.05 and acc["probe"] >= 0.85, acc


def test_fine_tune_is_deterministic_and_transfer_model_checks():
    x, y = _toy()
    a, b = (fine_tune(x, y, mode="scratch", steps=5, seed=3)(x) for _ in range(2))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="mode must be one of"):
        fine_tune(x, y, mode="adapter")
    with pytest.raises(ValueError, match="needs a pretrained encoder"):
        fine_tune(x, y, mode="finetune")
    with pytest.raises(ValueError, match="x must be"):
        fine_tune(x[:3], y, mode="scratch")
    with pytest.raises(ValueError, match="NaN"):
        fine_tune(x.masked_fill(x > 2, float("nan")), y, mode="scratch")
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        fine_tune(x, y, mode="scratch", num_classes=0)
    with pytest.raises(ValueError, match="y holds class 3"):
        fine_tune(x, y, mode="scratch", num_classes=2)
    with pytest.raises(ValueError, match="class indices"):
        pretrain_encoder(x, y.float())
    with pytest.raises(TypeError, match="out_dim"):
        TransferModel(torch.nn.Linear(3, 3), 2)
    assert isinstance(pretrain_encoder(x, y, steps=1), MLPEncoder)


def test_learning_curve_bookkeeping():
    x, y = _toy(60)
    encoder = pretrain_encoder(x, y, width=4, hidden=8, steps=5)
    df = learning_curve((x, y), (x, y), [5, 20], encoders={"scratch": (None, "scratch"),
                                                           "probe": (encoder, "probe")}, draws=2, steps=3)
    assert len(df) == 2 * 2 * 2 and set(df.start) == {"scratch", "probe"} and df.accuracy.between(0, 1).all()
    with pytest.raises(ValueError, match="at most the pool"):
        learning_curve((x, y), (x, y), [100], encoders={"scratch": (None, "scratch")})
    with pytest.raises(ValueError, match="draws must be"):
        learning_curve((x, y), (x, y), [5], encoders={"scratch": (None, "scratch")}, draws=0)
