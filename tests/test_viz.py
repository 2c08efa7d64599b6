"""Tests of mmcourse.viz: the shared plotly figures and the renderer that lets the static website draw them offline."""
from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from mmcourse import viz
from mmcourse.training import History
from mmcourse.viz import (BOOK_RENDERER, COLORS, accuracy_bars, is_static_build, latent_plane, show_source,
                          training_curves, use_book_renderer)


# --- the book renderer ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    (None, False), ("0", False), ("", False), ("false", False), ("False", False),
    ("1", True), ("true", True), ("yes", True),
])
def test_is_static_build_follows_the_environment(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("MMCOURSE_STATIC_BUILD", raising=False)
    else:
        monkeypatch.setenv("MMCOURSE_STATIC_BUILD", value)
    assert is_static_build() is expected


def small_figure():
    return latent_plane([[0.0, 1.0], [1.0, 0.5], [0.3, 0.2]], [0, 1, 1], title="three points")


def test_book_renderer_outputs_html_without_plotly_js():
    assert BOOK_RENDERER in pio.renderers
    bundle = pio.renderers[BOOK_RENDERER].to_mimebundle(small_figure().to_dict())
    assert list(bundle) == ["text/html"]
    html = bundle["text/html"]
    # plotly.min.js alone is several MB: a small figure without it is a few kB
    assert len(html) < 100_000, len(html)
    assert "Plotly.newPlot(" in html
    assert "three points" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert "<script src" not in html.replace(" ", "").lower() and "<html" not in html.lower()
    assert '"displaylogo": false' in html or '"displaylogo":false' in html


def test_use_book_renderer_sets_plotly_default(monkeypatch):
    monkeypatch.setattr(pio.renderers, "default", "json")
    use_book_renderer()
    assert pio.renderers.default == BOOK_RENDERER


@pytest.mark.parametrize("value, selected", [("1", True), ("0", False)])
def test_importing_viz_during_a_book_build_selects_the_book_renderer(monkeypatch, value, selected):
    monkeypatch.setattr(pio.renderers, "default", "json")
    monkeypatch.setenv("MMCOURSE_STATIC_BUILD", value)
    importlib.reload(viz)  # runs the module's import-time switch again, in this process
    assert (pio.renderers.default == BOOK_RENDERER) is selected
    assert BOOK_RENDERER in pio.renderers


def test_importing_mmcourse_during_a_book_build_selects_the_book_renderer():
    env = {**os.environ, "MMCOURSE_STATIC_BUILD": "1"}
    code = "import mmcourse, plotly.io as pio; print(repr(pio.renderers.default))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         timeout=120)
    assert out.stdout.strip() == repr(BOOK_RENDERER)


# --- figures --------------------------------------------------------------------------------------------------------
def test_training_curves_one_line_per_run():
    histories = {"additive": History(val_acc=[0.5, 0.6, 0.7]), "tensor": History(val_acc=[0.4, 0.9])}
    fig = training_curves(histories, title="curves")
    assert isinstance(fig, go.Figure)
    assert [t.name for t in fig.data] == ["additive", "tensor"]
    assert list(fig.data[0].x) == [1, 2, 3] and list(fig.data[0].y) == [0.5, 0.6, 0.7]
    assert list(fig.data[1].x) == [1, 2] and list(fig.data[1].y) == [0.4, 0.9]
    assert [t.line.color for t in fig.data] == COLORS[:2]
    assert all(t.mode == "lines" for t in fig.data)
    assert fig.layout.xaxis.title.text == "epoch" and fig.layout.yaxis.title.text == "val acc"
    assert fig.layout.title.text == "curves"


def test_training_curves_other_metric_and_colour_cycle():
    histories = {f"run{i}": History(train_loss=[1.0 / (i + 1)]) for i in range(len(COLORS) + 2)}
    fig = training_curves(histories, metric="train_loss")
    assert fig.layout.yaxis.title.text == "train loss"
    assert [t.y[0] for t in fig.data] == [1.0 / (i + 1) for i in range(len(COLORS) + 2)]
    assert fig.data[len(COLORS)].line.color == COLORS[0]


def test_training_curves_bad_metric():
    with pytest.raises(ValueError, match=r"metric must be train_loss, train_acc, val_loss or val_acc, got 'accuracy'"):
        training_curves({"a": History(val_acc=[0.5])}, metric="accuracy")


def test_accuracy_bars_groups_and_missing_values():
    table = {"synergy": {"additive": 0.5, "tensor": 0.95}, "redundancy": {"tensor": 0.97, "late": 0.9}}
    fig = accuracy_bars(table, title="bars")
    assert [t.name for t in fig.data] == ["additive", "tensor", "late"]
    assert all(t.type == "bar" and list(t.x) == ["synergy", "redundancy"] for t in fig.data)
    assert [list(t.y) for t in fig.data] == [[0.5, None], [0.95, 0.97], [None, 0.9]]
    assert [t.marker.color for t in fig.data] == COLORS[:3]
    assert list(fig.layout.yaxis.range) == [0, 1.05]
    assert not fig.layout.shapes


def test_accuracy_bars_chance_line():
    fig = accuracy_bars({"synergy": {"additive": 0.5}}, chance=0.5)
    assert len(fig.layout.shapes) == 1
    assert fig.layout.shapes[0].y0 == fig.layout.shapes[0].y1 == 0.5
    assert [a.text for a in fig.layout.annotations] == ["chance"]


def test_latent_plane_colours_by_label_and_marks_wrong_predictions():
    xy = [[0.0, 1.0], [1.0, 2.0], [2.0, 3.0], [3.0, 4.0]]
    fig = latent_plane(xy, [0, 1, 1, 0], predictions=[0, 0, 1, 1], axis_titles=("a", "b"))
    assert [t.name for t in fig.data] == ["label 0", "label 1"]
    assert list(fig.data[0].x) == [0.0, 3.0] and list(fig.data[0].y) == [1.0, 4.0]
    assert list(fig.data[1].x) == [1.0, 2.0]
    assert list(fig.data[0].marker.symbol) == ["circle", "x"]
    assert list(fig.data[1].marker.symbol) == ["x", "circle"]
    assert [t.marker.color for t in fig.data] == COLORS[:2]
    assert (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("a", "b")


def test_latent_plane_without_predictions_accepts_tensors():
    torch = pytest.importorskip("torch")
    fig = latent_plane(torch.tensor([[0.0, 1.0], [1.0, 2.0], [5.0, 5.0]]).tolist(), torch.tensor([2, 2, 0]))
    assert [t.name for t in fig.data] == ["label 0", "label 2"]
    assert all(s == "circle" for t in fig.data for s in t.marker.symbol)
    assert fig.data[1].marker.color == COLORS[2]
    assert (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("s1", "s2")


def test_show_source_is_the_package_code():
    code = show_source(viz.latent_plane)
    assert code.full == inspect.getsource(viz.latent_plane)  # folded below the teaching view
    assert code.data.startswith("def latent_plane(") and '"""' not in code.data  # the teaching view
    html = code._repr_html_()
    assert "latent_plane" in html and "<details><summary>The full source" in html
