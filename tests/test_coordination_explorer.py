"""Tests of mmcourse.widgets.CoordinationExplorer: runs and snapshots, the static figure, the live UI and errors.

One module-scoped explorer with the default settings (100 steps on the digits pair, a fraction of a second a run).
"""
from __future__ import annotations

import doctest
import time

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from mmcourse.representation import ContrastiveHistory, similarity_matrix
from mmcourse.viz import COLORS
from mmcourse.widgets import CoordinationExplorer, CoordinationRun, Snapshot, coordination_explorer, snapshot_steps


@pytest.fixture(scope="module")
def explorer():
    return CoordinationExplorer(device="cpu")


@pytest.fixture(scope="module")
def run(explorer):
    return explorer.train()


# --- snapshots and runs ---------------------------------------------------------------------------------------------
def test_snapshot_steps():
    assert snapshot_steps(100) == [0, 2, 6, 14, 25, 39, 56, 77, 100]
    assert snapshot_steps(3) == [0, 1, 2, 3]
    assert snapshot_steps(50, count=2) == [0, 50]
    with pytest.raises(ValueError, match="steps must be a positive integer, got 0"):
        snapshot_steps(0)
    with pytest.raises(ValueError, match="count must be an integer ≥ 2, got 1"):
        snapshot_steps(10, count=1)


def test_the_drawn_pairs(explorer):
    labels = explorer.test_labels.numpy()
    assert explorer.modalities == ["image", "audio"]
    assert len(explorer.points) == 30 and np.bincount(labels[explorer.points]).tolist() == [3] * 10
    assert len(explorer.matrix) == 20 and np.bincount(labels[explorer.matrix]).tolist() == [2] * 10
    assert (np.diff(labels[explorer.matrix]) >= 0).all()                      # sorted by class


def test_run_records_every_snapshot(explorer, run):
    assert isinstance(run, CoordinationRun) and run in explorer.runs
    assert isinstance(run.history, ContrastiveHistory) and run.history.steps == 100
    assert [s.step for s in run.snapshots] == snapshot_steps(100)
    for snapshot in run.snapshots:
        assert isinstance(snapshot, Snapshot)
        assert snapshot.z1.shape == snapshot.z2.shape == (30, 16)
        np.testing.assert_allclose(np.linalg.norm(snapshot.z1, axis=1), 1, atol=1e-5)
        assert snapshot.similarity.shape == (20, 20) and np.abs(snapshot.similarity).max() <= 1 + 1e-6
        assert set(snapshot.recall) == set(coordination_explorer.RECALLS)
    assert (run.temperature, run.learn_temperature, run.width, run.steps) == (0.2, False, 32, 100)
    assert list(run.retrieval.index) == ["image → audio", "audio → image"]


def test_snapshots_agree_with_the_metrics(explorer, run):
    # The last snapshot's similarity block and recall are those of the final model on the test split.
    last = run.snapshots[-1]
    assert last.recall["x_to_y R@1"] == pytest.approx(run.retrieval.loc["image → audio", "R@1"])
    assert last.recall["y_to_x class R@1"] == pytest.approx(run.retrieval.loc["audio → image", "class R@1"])
    # The matrix's pairs (the first two of each class) are among the drawn points (the first three).
    where = [int(np.flatnonzero(explorer.points == i)[0]) for i in explorer.matrix]
    s = similarity_matrix(torch.tensor(last.z1[where]), torch.tensor(last.z2[where])).numpy()
    np.testing.assert_allclose(last.similarity, s, atol=1e-5)


def test_training_history_improves(run):
    first, last = run.snapshots[0], run.snapshots[-1]
    assert np.mean(run.history.loss[-10:]) < np.mean(run.history.loss[:10]) - 1.0
    for key in ("x_to_y class R@1", "y_to_x class R@1"):
        assert first.recall[key] < 0.3 and last.recall[key] > 0.6, (key, first.recall[key], last.recall[key])
    for key in ("x_to_y R@1", "y_to_x R@1"):
        assert last.recall[key] >= 2 / 359                                            # chance: 1/359
    # True pairs end up more alike than other pairs of the matrix.
    s = last.similarity
    assert np.diag(s).mean() > s[~np.eye(len(s), dtype=bool)].mean() + 0.3


def test_same_settings_give_the_same_run(explorer, run):
    again = explorer.train()
    assert again.history.loss == run.history.loss
    np.testing.assert_array_equal(again.snapshots[-1].z1, run.snapshots[-1].z1)


def test_settings_override_and_callback():
    ex = CoordinationExplorer(steps=12, snapshots=3, device="cpu")
    seen = []
    run = ex.train(temperature=0.5, learn_temperature=True, width=8, steps=20,
                   callback=lambda step, history, snapshot: seen.append((step, snapshot is not None)))
    assert (run.temperature, run.learn_temperature, run.width, run.steps) == (0.5, True, 8, 20)
    assert [s.step for s in run.snapshots] == [0, 5, 20]
    assert [step for step, _ in seen] == list(range(1, 21)) and [s for s, snap in seen if snap] == [5, 20]
    assert run.history.temperature[-1] != pytest.approx(0.5)                        # τ was learned
    row = run.row()
    assert row["steps"] == 20 and row["learned τ"] and "x_to_y class R@1" in row
    assert list(ex.table()["width"]) == [8]


def test_default_run_reuses_a_run(explorer, run):
    assert explorer.default_run() is explorer.runs[-1]


def test_a_retrain_is_fast(explorer):
    # The README promises a retrain in under half a second on one CPU thread; measure CPU time (the test machine
    # may be shared) and leave room for slower machines.
    start = time.process_time()
    explorer.train()
    assert time.process_time() - start < 1.0


def test_other_paired_datasets(explorer):
    ex = CoordinationExplorer("redundancy", steps=30, per_class=4, device="cpu")
    assert ex.modalities == ["x1", "x2"] and len(ex.points) == 8 and len(ex.matrix) == 4
    assert ex.train().snapshots[-1].recall["x_to_y R@1"] > 0.1                     # chance: 1/1000


# --- projection and the static figure -------------------------------------------------------------------------------
def test_projection_keeps_signs(run):
    xy1, xy2, basis = CoordinationExplorer.project(run.snapshots[-1])
    assert xy1.shape == xy2.shape == (30, 2) and np.abs(np.concatenate([xy1, xy2])).max() <= 1 + 1e-6
    np.testing.assert_allclose(basis @ basis.T, np.eye(2), atol=1e-6)
    _, _, flipped = CoordinationExplorer.project(run.snapshots[-1], previous=-basis)
    np.testing.assert_allclose(flipped, -basis, atol=1e-6)


@pytest.fixture(scope="module")
def static(explorer, run):
    return explorer.static_figure()


def test_static_figure_is_a_plain_figure_with_a_slider(run, static):
    assert type(static) is go.Figure
    (slider,) = static.layout.sliders
    assert [s.label for s in slider.steps] == [str(s) for s in snapshot_steps(100)]
    assert slider.active == len(slider.steps) - 1
    assert not static.layout.updatemenus


def test_each_slider_step_shows_its_own_snapshot(run, static):
    (slider,) = static.layout.sliders
    fixed, per = 8, 6
    assert len(static.data) == fixed + per * len(run.snapshots)
    shown = np.zeros(len(static.data))
    for k, (step, snapshot) in enumerate(zip(slider.steps, run.snapshots)):
        mask = list(step.args[0]["visible"])
        assert mask[:fixed] == [True] * fixed
        on = [i for i, v in enumerate(mask) if v and i >= fixed]
        assert on == list(range(fixed + per * k, fixed + per * (k + 1)))
        heatmap = static.data[on[3]]
        assert heatmap.type == "heatmap"
        np.testing.assert_allclose(np.array(heatmap.z), snapshot.similarity, atol=6e-4)
        assert step.args[1]["title.text"].startswith(f"step {snapshot.step} of 100")
        shown += mask
    assert list(shown[fixed:]) == [1] * (len(static.data) - fixed)


def test_static_figure_draws_the_run(run, static):
    loss = static.data[1]
    np.testing.assert_allclose(loss.y, run.history.loss, atol=6e-4)
    names = [t.name for t in static.data[2:6]]
    assert names == ["image → audio", "audio → image", "image → audio (class)", "audio → image (class)"]
    np.testing.assert_allclose(static.data[4].y, [s.recall["x_to_y class R@1"] for s in run.snapshots], atol=6e-4)
    keys = static.data[6:8]
    assert [t.name for t in keys] == ["image", "audio"] and all(t.showlegend is not False for t in keys)
    last = [t for t in static.data if t.visible is None or t.visible][8:]
    assert [t.name for t in last[1:3]] == ["image", "audio"] and not any(t.showlegend for t in last)
    assert last[1].marker.symbol == "circle" and last[2].marker.symbol == "diamond"
    assert list(last[1].marker.color[:3]) == [COLORS[0]] * 3                             # coloured by class


def test_static_figure_is_light(static):
    size = len(static.to_json())
    assert size < 250_000, size


# --- the live UI ----------------------------------------------------------------------------------------------------
def _widgets(root):
    found = [root]
    for child in getattr(root, "children", ()):
        found += _widgets(child)
    return found


def test_live_builds_and_trains():
    ipywidgets = pytest.importorskip("ipywidgets")
    ex = CoordinationExplorer(steps=20, device="cpu")
    ui = ex.live()
    assert isinstance(ui, ipywidgets.VBox) and len(ex.runs) == 1                      # one run to draw at first
    widgets = _widgets(ui)
    (figure,) = [w for w in widgets if isinstance(w, go.FigureWidget)]
    (tau,) = [w for w in widgets if isinstance(w, ipywidgets.FloatLogSlider)]
    width, steps = [w for w in widgets if isinstance(w, ipywidgets.IntSlider)]
    (learn,) = [w for w in widgets if isinstance(w, ipywidgets.Checkbox)]
    assert tau.value == pytest.approx(0.2) and width.value == 32 and steps.value == 20 and not learn.value
    tau.value, width.value, steps.value, learn.value = 0.3, 16, 30, True
    ui.train()
    run = ex.runs[-1]
    assert len(ex.runs) == 2 and (run.width, run.steps, run.learn_temperature) == (16, 30, True)
    assert run.temperature == pytest.approx(0.3, rel=0.05)
    np.testing.assert_allclose(figure.data[1].y, run.history.loss)
    heatmap = [t for t in figure.data if t.type == "heatmap"][0]
    np.testing.assert_allclose(np.array(heatmap.z), run.snapshots[-1].similarity, atol=6e-4)
    assert list(figure.data[2].x) == [s.step for s in run.snapshots]
    assert figure.layout.title.text.startswith("step 30 of 30")


@pytest.mark.parametrize("static_build", [True, False])
def test_show_picks_the_face(monkeypatch, static_build):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    monkeypatch.setenv("MMCOURSE_STATIC_BUILD", "1" if static_build else "0")
    CoordinationExplorer(steps=10, device="cpu").show()
    (obj,) = shown
    if static_build:
        assert type(obj) is go.Figure and len(obj.layout.sliders[0].steps) == len(snapshot_steps(10))
    else:
        ipywidgets = pytest.importorskip("ipywidgets")
        assert isinstance(obj, ipywidgets.VBox)


# --- errors ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, kwargs, match", [
    (("nonsense",), {}, "nonsense"),
    ((), dict(per_class=0), "per_class must be a positive integer, got 0"),
    ((), dict(steps=0), "steps must be a positive integer, got 0"),
    ((), dict(snapshots=1), "count must be an integer ≥ 2"),
])
def test_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        CoordinationExplorer(*args, **kwargs)


def test_bad_run_settings(explorer):
    with pytest.raises(ValueError, match="temperature must be a number ≥ 0.01"):
        explorer.train(temperature=0.001)


def test_doctests():
    result = doctest.testmod(coordination_explorer)
    assert result.attempted > 0 and result.failed == 0
