"""Tests of mmcourse.quantification.learning: learning curves, the best epoch and the gap, complexity, trade-offs."""
import doctest
import itertools
import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from mmcourse import set_seed
from mmcourse.quantification import learning
from mmcourse.quantification.learning import (Complexity, generalization_gap, learning_summary, measure_complexity,
                                              modality_learning_curves, overfitting_epoch, pareto_front,
                                              tradeoff_table)
from mmcourse.representation import FusionModel, LogitSumModel, fit_balanced
from mmcourse.training import History


def toy(n=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = [torch.randn(n, 3, generator=g), torch.randn(n, 2, 2, generator=g)]   # the second is flattened
    return x, (x[0][:, 0] + x[1][:, 0, 0] > 0).long()


# --- overfitting_epoch and generalization_gap -------------------------------------------------------------------------
def test_overfitting_epoch_by_hand():
    assert overfitting_epoch([0.9, 0.5, 0.4, 0.45, 0.6]) == 3
    assert overfitting_epoch([0.3, 0.5, 0.6]) == 1                      # best from the start
    assert overfitting_epoch([0.9, 0.8, 0.7]) == 3                      # still improving
    assert overfitting_epoch([0.9, 0.4, 0.5, 0.4]) == 2                 # ties: the first
    assert overfitting_epoch([0.9, 0.5, 0.41, 0.4, 0.6], tolerance=0.02) == 3
    assert overfitting_epoch([0.9, 0.5, 0.41, 0.4, 0.6], tolerance=0.005) == 4
    history = History(train_loss=[1.0, 0.5, 0.2], val_loss=[1.1, 0.7, 0.9])
    assert overfitting_epoch(history) == 2


def test_generalization_gap_by_hand():
    np.testing.assert_allclose(generalization_gap([0.5, 0.3, 0.1], [0.6, 0.45, 0.5]), [0.1, 0.15, 0.4])
    history = History(train_loss=[1.0, 0.5], val_loss=[1.5, 1.0])
    np.testing.assert_allclose(generalization_gap(history), [0.5, 0.5])


@pytest.mark.parametrize("call, match", [
    (lambda: overfitting_epoch([]), "non-empty 1-D"),
    (lambda: overfitting_epoch([[0.1, 0.2]]), "non-empty 1-D"),
    (lambda: overfitting_epoch([0.1, float("nan")]), "NaN"),
    (lambda: overfitting_epoch([0.1, 0.2], tolerance=-1), "tolerance must be a finite number ≥ 0, got -1"),
    (lambda: generalization_gap([0.1, 0.2], [0.3]), "train_loss has 2 epochs but val_loss has 1"),
    (lambda: generalization_gap([0.1, 0.2]), "give train_loss and val_loss, or a History"),
])
def test_curve_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- modality_learning_curves and learning_summary --------------------------------------------------------------------
def test_learning_curves_shape_and_reuse_of_fit_balanced():
    train, val = toy(60, 0), toy(40, 1)
    curves = modality_learning_curves(train, val, epochs=3, width=4, batch_size=20, seed=5, names=["a", "b"])
    assert list(curves.columns) == ["model", "head", "epoch", "train_loss", "val_loss", "val_accuracy"]
    pairs = list(dict.fromkeys(zip(curves["model"], curves["head"])))
    assert pairs == [("multimodal", "fused"), ("multimodal", "a"), ("multimodal", "b"), ("a alone", "a"),
                     ("b alone", "b")]
    assert len(curves) == 5 * 3 and (curves.groupby(["model", "head"])["epoch"].apply(list) == [[1, 2, 3]] * 5).all()
    assert curves["val_accuracy"].between(0, 1).all() and (curves[["train_loss", "val_loss"]] > 0).all().all()
    # the "b alone" curve is fit_balanced on branch b's loss alone, from the same seed
    set_seed(5)
    model = LogitSumModel([3, 4], 2, width=4)
    flat = lambda d: ([d[0][0], d[0][1].flatten(1)], d[1])  # noqa: E731
    history = fit_balanced(model, flat(train), flat(val), epochs=3, batch_size=20, head_weights=[0, 0, 1],
                           progress=False)
    b_alone = curves[curves.model == "b alone"]
    np.testing.assert_allclose(b_alone["val_loss"], np.array(history.head_val_loss)[:, 2], rtol=1e-6)
    np.testing.assert_allclose(b_alone["val_accuracy"], np.array(history.branch_val_acc)[:, 1], rtol=1e-6)
    # the fused head's numbers are the multimodal model's History
    fused = curves[(curves.model == "multimodal") & (curves["head"] == "fused")]
    again = modality_learning_curves(train, val, epochs=3, width=4, batch_size=20, seed=5, names=["a", "b"])
    pd.testing.assert_frame_equal(curves, again)                                  # seeded
    assert fused["train_loss"].iloc[-1] < fused["train_loss"].iloc[0]


def test_learning_summary():
    curves = pd.DataFrame({"model": "m", "head": "h", "epoch": [3, 1, 2], "train_loss": [0.2, 0.6, 0.4],
                           "val_loss": [0.6, 0.7, 0.5], "val_accuracy": [0.7, 0.6, 0.8]})   # rows out of order
    row = learning_summary(curves).loc[("m", "h")]
    assert row["best epoch"] == 2 and row["lowest val loss"] == 0.5 and row["val accuracy at best"] == 0.8
    assert row["gap at best"] == pytest.approx(0.1) and row["gap at end"] == pytest.approx(0.4)
    with pytest.raises(ValueError, match=r"lacks the columns \['val_accuracy'\]"):
        learning_summary(curves.drop(columns="val_accuracy"))


@pytest.mark.parametrize("kwargs, match", [
    (dict(train=([torch.zeros(4, 2)], torch.zeros(4).long())), "at least 2 modalities, got 1"),
    (dict(val=([torch.zeros(4, 3), torch.zeros(4, 3)], torch.zeros(4).long())), "val must have the training"),
    (dict(names=["a", "a"]), "2 distinct names other than 'fused'"),
    (dict(names=["fused", "b"]), "distinct names"),
    (dict(epochs=0), "modality_learning_curves: epochs must be a positive integer, got 0"),
    (dict(width=2.5), "width must be a positive integer, got 2.5"),
])
def test_learning_curves_errors(kwargs, match):
    args = dict(train=toy(), val=toy(20, 1), epochs=1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        modality_learning_curves(args.pop("train"), args.pop("val"), **args)


# --- measure_complexity -----------------------------------------------------------------------------------------------
def test_parameters_equal_the_sum_of_numel_by_hand():
    x, _ = toy()
    model = FusionModel([x[0][0], x[1][0]], 2, "tensor", width=4, encoder="mlp")
    data = toy()
    c = measure_complexity(model, data, epochs=0, device="cpu")
    by_hand = sum(p.numel() for p in model.parameters())
    assert c.parameters == by_hand and c.parameter_bytes == 4 * by_hand
    # tensor fusion of two 4-d features into 4: 4·5·5 + 4 parameters, inside the model
    assert sum(p.numel() for p in model.fusion.parameters()) == 4 * 5 * 5 + 4
    assert math.isnan(c.seconds_per_epoch)


def test_shared_parameters_count_once_and_float64():
    layer = nn.Linear(3, 3)
    tied = nn.Sequential(layer, nn.ReLU(), layer, nn.Linear(3, 2)).double()
    data = ([torch.randn(8, 3, dtype=torch.float64)], torch.zeros(8).long())
    c = measure_complexity(tied, data, epochs=0, device="cpu")
    assert c.parameters == 12 + 8 and c.parameter_bytes == 8 * 20


@pytest.mark.parametrize("batch, d, hidden, classes", [(1, 10, 20, 2), (16, 10, 20, 2), (32, 5, 7, 3)])
def test_activation_bytes_by_hand(batch, d, hidden, classes):
    net = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, classes))
    data = ([torch.randn(64, d)], torch.zeros(64).long())
    c = measure_complexity(net, data, batch_size=batch, epochs=0, optimizer_states=1, device="cpu")
    # saved for backward: the input (B·d), the ReLU's output, also the second layer's input (B·h), the
    # log-softmax (B·classes), all float32; the int64 targets (B) and cross-entropy's scalar weight total.
    assert c.activation_bytes == batch * (4 * (d + hidden + classes) + 8) + 4
    assert c.training_bytes == 3 * c.parameter_bytes + c.activation_bytes


def test_memory_grows_with_batch_and_width():
    data = toy(200)
    sizes = {}
    for batch, width in itertools.product([16, 64], [4, 16]):
        model = FusionModel([data[0][0][0], data[0][1][0]], 2, "tensor", width=width, encoder="mlp")
        sizes[batch, width] = measure_complexity(model, data, batch_size=batch, epochs=0, device="cpu")
    assert sizes[64, 4].activation_bytes > sizes[16, 4].activation_bytes
    assert sizes[16, 16].activation_bytes > sizes[16, 4].activation_bytes
    assert sizes[16, 16].parameters > sizes[16, 4].parameters
    assert sizes[64, 4].parameters == sizes[16, 4].parameters
    assert sizes[64, 16].training_bytes == max(s.training_bytes for s in sizes.values())


def test_measure_complexity_times_a_copy_and_leaves_the_generator_alone():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    before = [p.detach().clone() for p in model.parameters()]
    data = ([torch.randn(50, 2, 2)], torch.randint(0, 2, (50,)))
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    c = measure_complexity(model, data, batch_size=10, epochs=2, device="cpu")
    assert torch.equal(torch.rand(3), expected)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert isinstance(c, Complexity) and 0 < c.seconds_per_epoch < 5


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(model="net"), TypeError, "model must be a torch.nn.Module, got str"),
    (dict(batch_size=0), ValueError, "batch_size must be an integer ≥ 1, got 0"),
    (dict(epochs=-1), ValueError, "epochs must be an integer ≥ 0, got -1"),
    (dict(optimizer_states=1.5), ValueError, "optimizer_states must be an integer ≥ 0"),
    (dict(data=[torch.zeros(3, 2)]), TypeError, "data must be a pair"),
])
def test_measure_complexity_errors(kwargs, error, match):
    args = dict(model=nn.Linear(2, 2), data=([torch.zeros(3, 2)], torch.zeros(3).long()), epochs=0)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        measure_complexity(args.pop("model"), args.pop("data"), **args)


# --- pareto_front -----------------------------------------------------------------------------------------------------
def brute_force_front(scores, costs):
    n = len(scores)
    return np.array([not any(np.all(scores[j] >= scores[i]) and np.all(costs[j] <= costs[i]) and
                             (np.any(scores[j] > scores[i]) or np.any(costs[j] < costs[i])) for j in range(n))
                     for i in range(n)])


@pytest.mark.parametrize("seed", range(5))
def test_pareto_front_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    points = np.round(rng.random((12, 3)), 1)                       # coarse values: ties and duplicates
    front = pareto_front(points, maximize=[0], minimize=[1, 2])
    np.testing.assert_array_equal(front, brute_force_front(points[:, :1], points[:, 1:]))
    assert front.any()                                               # a front is never empty
    table = pd.DataFrame(points, columns=["acc", "time", "memory"], index=[f"m{i}" for i in range(12)])
    series = pareto_front(table, maximize=["acc"], minimize=["time", "memory"])
    assert list(series.index) == list(table.index) and (series.to_numpy() == front).all()


def test_pareto_front_by_hand():
    table = pd.DataFrame({"accuracy": [0.9, 0.95, 0.85, 0.95, 0.9], "cost": [10, 50, 20, 60, 10]},
                         index=list("abcde"))
    front = pareto_front(table, maximize=["accuracy"], minimize=["cost"])
    assert front.to_dict() == {"a": True, "b": True, "c": False, "d": False, "e": True}   # a and e tie: both stay


@pytest.mark.parametrize("kwargs, match", [
    (dict(), "at least one column"),
    (dict(maximize=["nope"]), r"cannot read the columns \['nope'\]"),
    (dict(maximize=["accuracy"], points=pd.DataFrame({"accuracy": [0.1, np.nan]})), "NaN"),
])
def test_pareto_front_errors(kwargs, match):
    args = dict(points=pd.DataFrame({"accuracy": [0.1, 0.2]}))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        pareto_front(args.pop("points"), **args)


# --- tradeoff_table ---------------------------------------------------------------------------------------------------
def test_tradeoff_table():
    train, test = toy(80, 0), toy(40, 1)
    table = tradeoff_table(train, test, ["additive", "tensor", "low_rank"], levels=[0, 0.5, 1], width=4, epochs=2,
                           batch_size=40)
    assert list(table.index) == ["additive", "tensor", "low_rank"] and table.index.name == "fusion"
    assert list(table.columns) == ["accuracy", "relative robustness", "parameters", "seconds per epoch",
                                   "memory (KiB)"]
    samples = [x[0] for x in train[0]]
    for name in table.index:
        assert table.loc[name, "parameters"] == sum(p.numel() for p in FusionModel(samples, 2, name, width=4,
                                                                                     encoder="mlp").parameters())
    assert table["accuracy"].between(0, 1).all() and table["relative robustness"].between(0, 1).all()
    assert (table["seconds per epoch"] > 0).all() and (table["memory (KiB)"] > 0).all()
    again = tradeoff_table(train, test, ["additive", "tensor", "low_rank"], levels=[0, 0.5, 1], width=4, epochs=2,
                           batch_size=40)
    pd.testing.assert_frame_equal(table.drop(columns="seconds per epoch"), again.drop(columns="seconds per epoch"))


@pytest.mark.parametrize("kwargs, match", [
    (dict(fusions=["additive", "concat"]), r"unknown fusions \['concat'\]; known fusions: early, late"),
    (dict(fusions=[]), "unknown fusions"),
    (dict(noises={2: ["gaussian"]}), "noises must map modality indices 0..1"),
    (dict(noises={0: ["gaussian", "blur"]}), r"unknown noise kinds \['blur'\]; known kinds: gaussian"),
    (dict(levels=[0.5]), "levels must be at least 2 increasing noise levels in \\[0, 1\\], got \\[0.5\\]"),
    (dict(levels=[0, 2]), "levels must be at least 2 increasing"),
])
def test_tradeoff_table_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tradeoff_table(toy(), toy(), epochs=1, **kwargs)


def test_doctests():
    attempted = 0
    for module in (learning.curves, learning.tradeoffs):
        result = doctest.testmod(module)
        assert result.failed == 0
        attempted += result.attempted
    assert attempted > 0
