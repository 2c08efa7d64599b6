"""Tests of mmcourse.widgets.FusionExplorer: runs, tables, the plane data, the static figure and the live UI.

Small settings throughout (two datasets, two fusions, two epochs): the whole file runs in a few seconds.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from mmcourse.data import as_tensors, load_dataset
from mmcourse.representation import FUSIONS, FusionModel, parameter_count
from mmcourse.training import History
from mmcourse.widgets import FusionExplorer, Run
from mmcourse.widgets.fusion_explorer import PLANE_POINTS

DATASETS, FUSION_NAMES = ["synergy", "redundancy"], ["additive", "tensor"]


def small(**kwargs) -> FusionExplorer:
    settings = dict(datasets=DATASETS, fusions=FUSION_NAMES, epochs=2, device="cpu")
    settings.update(kwargs)
    return FusionExplorer(**settings)


@pytest.fixture
def explorer():
    return small()


# --- runs and tables ------------------------------------------------------------------------------------------------
def test_train_returns_a_complete_run(explorer):
    run = explorer.train("tensor", "synergy")
    assert isinstance(run, Run) and explorer.runs == [run]
    assert (run.fusion, run.dataset, run.width, run.rank, run.epochs) == ("tensor", "synergy", 16, 4, 2)
    assert isinstance(run.history, History) and run.history.epochs == 2 and len(run.history.val_acc) == 2
    assert 0.0 <= run.test_acc <= 1.0 and run.seconds > 0
    model = FusionModel([torch.zeros(12), torch.zeros(12)], 2, "tensor", width=16, encoder="mlp")
    assert run.parameters == parameter_count(model)
    assert set(run.plane) == {"x", "y", "label", "prediction", "axes"}


def test_train_overrides_and_runs_grow(explorer):
    first = explorer.train("additive", "redundancy")
    second = explorer.train("low_rank", "synergy", width=8, rank=2, epochs=1)  # a fusion outside the menu is fine
    assert explorer.runs == [first, second]
    assert (second.width, second.rank, second.epochs, second.history.epochs) == (8, 2, 1, 1)
    assert second.parameters == parameter_count(
        FusionModel([torch.zeros(12), torch.zeros(12)], 2, "low_rank", width=8, rank=2, encoder="mlp"))


def test_callback_sees_every_epoch(explorer):
    seen = []
    explorer.train("additive", "synergy", epochs=3, callback=lambda epoch, history: seen.append(epoch))
    assert len(seen) == 3


def test_same_settings_give_the_same_run():
    a, b = small(), small()
    first, second = a.train("tensor", "synergy"), b.train("tensor", "synergy")
    again = a.train("tensor", "synergy")
    assert first.test_acc == second.test_acc == again.test_acc
    assert first.history.val_loss == second.history.val_loss == again.history.val_loss
    assert first.plane["prediction"] == second.plane["prediction"]


def test_row_reports_rank_only_for_low_rank(explorer):
    row = explorer.train("additive", "synergy").row()
    assert list(row) == ["fusion", "dataset", "width", "rank", "epochs", "parameters", "test accuracy", "seconds"]
    assert row["rank"] is None and row["fusion"] == "additive"
    assert explorer.train("low_rank", "synergy", rank=3).row()["rank"] == 3


def test_run_all_trains_every_pair_once(explorer):
    table = explorer.run_all()
    assert table.shape == (2, 2)
    assert list(table.index) == FUSION_NAMES and list(table.columns) == DATASETS
    assert len(explorer.runs) == 4
    for run in explorer.runs:
        assert table.loc[run.fusion, run.dataset] == run.test_acc
    explorer.run_all()
    assert len(explorer.runs) == 4  # nothing retrained
    assert explorer.accuracy_table().equals(table)


def test_accuracy_table_uses_default_settings_only(explorer):
    explorer.train("tensor", "synergy", width=8)
    table = explorer.accuracy_table()
    assert table.shape == (2, 2) and table.isna().all().all()
    default = explorer.train("tensor", "synergy", width=16)  # explicitly the default: it counts
    table = explorer.accuracy_table()
    assert table.loc["tensor", "synergy"] == default.test_acc
    assert int(table.notna().sum().sum()) == 1
    explorer.run_all()
    assert len(explorer.runs) == 5  # the three missing default runs


def test_table_lists_every_run_in_order(explorer):
    explorer.train("tensor", "synergy")
    explorer.train("additive", "redundancy", width=4)
    table = explorer.table()
    assert list(table["fusion"]) == ["tensor", "additive"] and list(table["width"]) == [16, 4]
    assert list(table.columns) == list(explorer.runs[0].row())
    assert list(table["test accuracy"]) == [round(r.test_acc, 3) for r in explorer.runs]


# --- what the plane shows -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dataset, columns, axes", [
    ("synergy", (0, 1), ("s₁ = w₁·z₁", "s₂ = w₂·z₂")),
    ("redundancy", (2, 0), ("s_c = w_c·z_c", "s₁ = w₁·z₁")),
])
def test_plane_of_interaction_data_is_the_deciding_latent_pair(explorer, dataset, columns, axes):
    plane = explorer.train("additive", dataset).plane
    test = load_dataset(dataset)["test"]
    latent, labels = test["latent"][:PLANE_POINTS], test["label"][:PLANE_POINTS]
    assert plane["axes"] == axes
    assert len(plane["x"]) == len(plane["y"]) == len(plane["label"]) == len(plane["prediction"]) == PLANE_POINTS
    np.testing.assert_allclose(plane["x"], latent[:, columns[0]].numpy(), atol=1e-3)
    np.testing.assert_allclose(plane["y"], latent[:, columns[1]].numpy(), atol=1e-3)
    assert plane["label"] == labels.tolist()
    assert set(plane["prediction"]) <= {0, 1}


def test_plane_of_digits_is_a_pca_of_the_fused_vectors():
    explorer = small(datasets=["digits"], fusions=["additive"])
    run = explorer.train("additive", "digits")
    plane = run.plane
    assert plane["axes"] == ("fused PC 1", "fused PC 2")
    x, y = np.array(plane["x"]), np.array(plane["y"])
    assert len(x) == PLANE_POINTS
    assert abs(x.mean()) < 1e-2 and abs(y.mean()) < 1e-2  # centred
    assert x.var() >= y.var() > 0  # the first component carries the most variance
    (_, _), labels = as_tensors(load_dataset("digits")["test"])
    assert plane["label"] == labels[:PLANE_POINTS].tolist()
    assert set(plane["prediction"]) <= set(range(10))


# --- the static figure ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def static():
    explorer = small()
    return explorer, explorer.static_figure()


def test_static_figure_trains_what_is_missing(static):
    explorer, fig = static
    assert type(fig) is go.Figure  # never a FigureWidget on the website
    assert len(explorer.runs) == len(DATASETS) * len(FUSION_NAMES)


def test_static_figure_has_a_dataset_and_a_fusion_menu(static):
    _, fig = static
    datasets, fusions = fig.layout.updatemenus
    assert [b.label for b in datasets.buttons] == [f"dataset: {d}" for d in DATASETS]
    assert [b.label for b in fusions.buttons] == [f"fusion: {f}" for f in FUSION_NAMES]
    assert all(b.method == "restyle" for menu in (datasets, fusions) for b in menu.buttons)


def _masks(menu):
    return [(list(b.args[0]["visible"]), list(b.args[1])) for b in menu.buttons]


def test_dataset_buttons_switch_only_their_own_top_row_traces(static):
    explorer, fig = static
    runs = {(r.fusion, r.dataset): r for r in explorer.runs}
    buttons = _masks(fig.layout.updatemenus[0])
    targets = buttons[0][1]
    assert all(idx == targets for _, idx in buttons)  # every button restyles the same traces
    assert targets == list(range(len(DATASETS) * (len(FUSION_NAMES) + 1)))  # the curves and bars, nothing else
    shown = [0] * len(targets)
    for dataset, (mask, idx) in zip(DATASETS, buttons):
        assert len(mask) == len(idx) and sum(mask) == len(FUSION_NAMES) + 1
        visible = [fig.data[i] for i, v in zip(idx, mask) if v]
        curves, bars = visible[:-1], visible[-1]
        assert [t.name for t in curves] == FUSION_NAMES
        for trace in curves:
            np.testing.assert_allclose(trace.y, runs[trace.name, dataset].history.val_acc, atol=1e-3)
        assert bars.type == "bar" and list(bars.x) == FUSION_NAMES
        np.testing.assert_allclose(bars.y, [runs[f, dataset].test_acc for f in FUSION_NAMES], atol=1e-3)
        shown = [s + v for s, v in zip(shown, mask)]
    assert shown == [1] * len(targets)  # each trace belongs to exactly one dataset


def test_fusion_buttons_switch_only_their_own_bottom_row_traces(static):
    explorer, fig = static
    runs = {(r.fusion, r.dataset): r for r in explorer.runs}
    buttons = _masks(fig.layout.updatemenus[1])
    first = len(DATASETS) * (len(FUSION_NAMES) + 1)
    targets = buttons[0][1]
    assert all(idx == targets for _, idx in buttons)
    assert targets == list(range(first, len(fig.data)))
    shown = [0] * len(targets)
    for fusion, (mask, idx) in zip(FUSION_NAMES, buttons):
        assert len(mask) == len(idx) and sum(mask) == len(DATASETS)
        visible = [fig.data[i] for i, v in zip(idx, mask) if v]
        for dataset, trace in zip(DATASETS, visible):
            assert list(trace.x) == runs[fusion, dataset].plane["x"]
            assert [int(t) for t in trace.text] == runs[fusion, dataset].plane["label"]
        shown = [s + v for s, v in zip(shown, mask)]
    assert shown == [1] * len(targets)


def test_static_figure_starts_on_the_first_buttons(static):
    _, fig = static
    (top, top_idx), (bottom, bottom_idx) = _masks(fig.layout.updatemenus[0])[0], _masks(fig.layout.updatemenus[1])[0]
    for i, v in [*zip(top_idx, top), *zip(bottom_idx, bottom)]:
        assert bool(fig.data[i].visible) is v


def test_static_figure_is_light(static):
    _, fig = static
    size = len(fig.to_json())
    print(f"static figure JSON: {size / 1e3:.0f} kB for {len(FUSION_NAMES)} fusions x {len(DATASETS)} datasets")
    assert size < 1_500_000, size


@pytest.mark.parametrize("datasets", [["synergy"], ["synergy", "redundancy", "uniqueness1", "mixed"]],
                         ids=["one-dataset", "four-datasets"])
def test_static_figure_for_other_dataset_counts(datasets):
    explorer = small(datasets=datasets, fusions=["additive", "tensor"], epochs=1)
    fig = explorer.static_figure()
    dataset_menu, fusion_menu = fig.layout.updatemenus
    assert len(dataset_menu.buttons) == len(datasets) and len(fusion_menu.buttons) == 2
    for mask, idx in _masks(fusion_menu):
        panels = [fig.data[i] for i, v in zip(idx, mask) if v]
        assert len(panels) == len(datasets)
        assert len({t.xaxis for t in panels}) == len(datasets)  # one panel per dataset, none drawn over another
        assert all(t.xaxis not in (fig.data[0].xaxis, fig.data[2].xaxis) for t in panels)


# --- the live UI ----------------------------------------------------------------------------------------------------
def _widgets(root):
    found = [root]
    for child in getattr(root, "children", ()):
        found += _widgets(child)
    return found


def _control(ui, description):
    (widget,) = [w for w in _widgets(ui) if getattr(w, "description", None) == description]
    return widget


def test_live_trains_and_fills_the_table(explorer):
    ipywidgets = pytest.importorskip("ipywidgets")
    ui = explorer.live()
    assert isinstance(ui, ipywidgets.VBox)
    assert _control(ui, "fusion").value == "tensor" and _control(ui, "dataset").value == "synergy"
    _control(ui, "epochs").value = 1
    _control(ui, "width").value = 4
    table = ui.children[-1]
    assert isinstance(table, ipywidgets.HTML) and table.value == ""
    ui.train()
    assert len(explorer.runs) == 1
    run = explorer.runs[0]
    assert (run.fusion, run.dataset, run.epochs, run.width) == ("tensor", "synergy", 1, 4)
    assert "<table" in table.value and table.value.count("</tr>") == 2  # the header and one run
    assert "<td>tensor</td>" in table.value and "<td>synergy</td>" in table.value
    curves, plane = [w for w in _widgets(ui) if isinstance(w, go.FigureWidget)]
    assert [t.name for t in curves.data] == ["tensor/synergy train", "tensor/synergy validation"]
    assert list(curves.data[1].y) == run.history.val_acc and list(curves.data[1].x) == [1]
    assert len(plane.data) == 1 and list(plane.data[0].x) == run.plane["x"]
    assert plane.layout.xaxis.title.text == run.plane["axes"][0]
    assert not _control(ui, "Train").disabled
    status = [w for w in _widgets(ui) if isinstance(w, ipywidgets.HTML) and w is not table]
    assert "test accuracy" in status[0].value
    ui.train()
    assert table.value.count("</tr>") == 3 and len(curves.data) == 4


def test_rank_slider_is_disabled_for_fusions_without_rank():
    pytest.importorskip("ipywidgets")
    ui = small(fusions=["additive", "low_rank"]).live()
    fusion, rank = _control(ui, "fusion"), _control(ui, "rank")
    assert fusion.value == "additive" and rank.disabled
    fusion.value = "low_rank"
    assert not rank.disabled
    fusion.value = "additive"
    assert rank.disabled


@pytest.mark.parametrize("static_build", [True, False])
def test_show_picks_the_face(monkeypatch, static_build):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    monkeypatch.setenv("MMCOURSE_STATIC_BUILD", "1" if static_build else "0")
    explorer = small()
    explorer.show()
    (obj,) = shown
    if static_build:
        assert type(obj) is go.Figure and len(obj.layout.updatemenus) == 2
        assert len(explorer.runs) == 4
    else:
        ipywidgets = pytest.importorskip("ipywidgets")
        assert isinstance(obj, ipywidgets.VBox) and explorer.runs == []


# --- errors ---------------------------------------------------------------------------------------------------------
def test_unknown_fusion_names():
    with pytest.raises(ValueError, match=r"unknown fusions \['concat'\]; known fusions: early, late") as info:
        small(fusions=["additive", "concat"])
    assert all(name in str(info.value) for name in FUSIONS)
    with pytest.raises(ValueError, match=r"unknown fusion 'concat'; known fusions: early"):
        small().train("concat", "synergy")


def test_empty_menus():
    with pytest.raises(ValueError, match="known fusions"):
        small(fusions=[])
    with pytest.raises(ValueError, match="datasets is empty"):
        small(datasets=[])


def test_unknown_dataset_names():
    with pytest.raises(ValueError, match=r"unknown name='nope'"):
        small(datasets=["synergy", "nope"])
    with pytest.raises(ValueError, match=r"dataset 'digits' is not loaded; loaded: synergy, redundancy"):
        small().train("additive", "digits")

