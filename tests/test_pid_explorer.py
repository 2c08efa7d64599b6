"""Tests of mmcourse.widgets.PIDExplorer: the mixtures, the bars, the static figure, the live UI and errors."""
from __future__ import annotations

import doctest

import numpy as np
import plotly.graph_objects as go
import pytest

from mmcourse.data import BITWISE, bitwise_distribution
from mmcourse.quantification import pid
from mmcourse.widgets import PID_PAIRS, PIDExplorer, bitwise_mixture, pid_explorer

BARS = ["R", "U1", "U2", "S", "I(X1;Y)", "I(X2;Y)", "I(X1,X2;Y)"]


@pytest.fixture(scope="module")
def explorer():
    return PIDExplorer()


@pytest.fixture(scope="module")
def figure(explorer):
    return explorer.static_figure()


# --- mixtures and bars ----------------------------------------------------------------------------------------------
def test_mixture_pads_the_label_axis():
    p = bitwise_mixture("and", "sum", 0.25)
    assert p.shape == (2, 2, 3) and p.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(p[:, :, :2], 0.75 * bitwise_distribution("and") + 0.25 * bitwise_distribution("sum")[
        :, :, :2])
    np.testing.assert_allclose(p[:, :, 2], 0.25 * bitwise_distribution("sum")[:, :, 2])
    np.testing.assert_array_equal(bitwise_mixture("copy", "xor", 0.0), bitwise_distribution("copy"))
    np.testing.assert_array_equal(bitwise_mixture("copy", "xor", 1)[:, :, :2], bitwise_distribution("xor"))


@pytest.mark.parametrize("a, b, t", [("redundant", "xor", 0.3), ("copy", "sum", 0.7), ("and", "unique2", 0.5)])
def test_bars_are_the_pid_of_the_mixture(explorer, a, b, t):
    p = (1 - t) * np.pad(bitwise_distribution(a), ((0, 0), (0, 0), (0, 4 - bitwise_distribution(a).shape[2])))
    p += t * np.pad(bitwise_distribution(b), ((0, 0), (0, 0), (0, 4 - bitwise_distribution(b).shape[2])))
    r = pid(p)  # four label values: extra values of probability zero change nothing
    bars = explorer.bars(a, b, t)
    assert list(bars) == BARS
    np.testing.assert_allclose([bars[k] for k in BARS[:4]], [r.redundancy, r.unique1, r.unique2, r.synergy],
                               atol=1e-7)
    assert bars["I(X1;Y)"] == pytest.approx(r.redundancy + r.unique1, abs=1e-7)
    assert bars["I(X2;Y)"] == pytest.approx(r.redundancy + r.unique2, abs=1e-7)
    assert bars["I(X1,X2;Y)"] == pytest.approx(r.total, abs=1e-12)


def test_path_ends_at_the_canonical_values(explorer):
    path = explorer.path("redundant", "xor")
    assert path.shape == (11, 7) and list(path.columns) == BARS
    np.testing.assert_allclose(path.index, np.linspace(0, 1, 11))
    np.testing.assert_allclose(path.iloc[0][["R", "U1", "U2", "S"]], [1, 0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(path.iloc[-1][["R", "U1", "U2", "S"]], [0, 0, 0, 1], atol=1e-6)


def test_dataset_pid_fits_on_train_and_counts_on_test(explorer, monkeypatch):
    calls = []

    def fake_fit(x1, x2, y):
        calls.append(("fit", x1.shape, x2.shape, y.shape))
        return "discretiser"

    def fake_estimate(x1, x2, y, *, discretiser):
        calls.append(("count", x1.shape, x2.shape, y.shape, discretiser))
        return pid(bitwise_distribution("xor"))

    monkeypatch.setattr(pid_explorer, "fit_discretiser", fake_fit)
    monkeypatch.setattr(pid_explorer, "pid_from_samples", fake_estimate)
    fresh = PIDExplorer(datasets=["synergy"])
    assert fresh.dataset_pid("synergy").synergy == pytest.approx(1.0)
    fresh.dataset_pid("synergy")  # cached
    assert calls == [("fit", (2000, 12), (2000, 12), (2000,)),
                     ("count", (1000, 12), (1000, 12), (1000,), "discretiser")]


def test_dataset_pid_finds_the_planted_interaction(explorer):
    parts = explorer.dataset_pid("uniqueness2")
    assert parts.unique2 > 0.5 and parts.unique2 > 5 * max(parts.redundancy, parts.unique1, parts.synergy)


# --- the static figure ----------------------------------------------------------------------------------------------
def test_static_figure_has_one_slider_per_pair(explorer, figure):
    assert type(figure) is go.Figure
    assert len(figure.layout.sliders) == len(PID_PAIRS)
    assert [s.visible for s in figure.layout.sliders] == [True] + [False] * (len(PID_PAIRS) - 1)
    assert all(len(s.steps) == 11 for s in figure.layout.sliders)
    (menu,) = figure.layout.updatemenus
    assert [b.label for b in menu.buttons] == [f"{a} → {b}" for a, b in PID_PAIRS]
    assert len(figure.data) == 5  # the bars and one curve per part: data are restyled, not duplicated


@pytest.mark.parametrize("k", [0, 3])
def test_static_figure_holds_the_right_numbers(explorer, figure, k):
    a, b = PID_PAIRS[k]
    slider = figure.layout.sliders[k]
    for i in (0, 4, 10):
        t = i / 10
        data, layout, traces = slider.steps[i].args
        assert list(traces) == [0]
        expected = explorer.bars(a, b, t)
        np.testing.assert_allclose(data["y"][0], [expected[bar] for bar in BARS], atol=1e-4)
        assert layout["shapes[0].x0"] == pytest.approx(t) and layout["title.text"].endswith(f"·{b}")
    data, layout = figure.layout.updatemenus[0].buttons[k].args
    assert layout[f"sliders[{k}].visible"] and layout[f"sliders[{k}].active"] == 0
    path = explorer.path(a, b)
    np.testing.assert_allclose(data["y"][4], path["S"], atol=1e-4)


def test_static_figure_is_light(figure):
    assert len(figure.to_json()) < 60_000


# --- the live UI ----------------------------------------------------------------------------------------------------
def _widgets(root):
    found = [root]
    for child in getattr(root, "children", ()):
        found += _widgets(child)
    return found


def test_live_redraws_on_every_change(explorer, monkeypatch):
    ipywidgets = pytest.importorskip("ipywidgets")
    monkeypatch.setattr(pid_explorer, "fit_discretiser", lambda x1, x2, y: None)
    unique1 = pid(bitwise_distribution("unique1"))
    monkeypatch.setattr(pid_explorer, "pid_from_samples", lambda x1, x2, y, discretiser: unique1)
    ui = PIDExplorer(datasets=["synergy", "redundancy"]).live()
    widgets = _widgets(ui)
    (figure,) = [w for w in widgets if isinstance(w, go.FigureWidget)]
    (mode,) = [w for w in widgets if isinstance(w, ipywidgets.ToggleButtons)]
    first, second, dataset = [w for w in widgets if isinstance(w, ipywidgets.Dropdown)]
    (weight,) = [w for w in widgets if isinstance(w, ipywidgets.FloatSlider)]
    assert (first.value, second.value, weight.value) == (*PID_PAIRS[0], 0.0)
    first.value, second.value, weight.value = "and", "copy", 0.4
    expected = explorer.bars("and", "copy", 0.4)
    np.testing.assert_allclose(figure.data[0].y, [expected[bar] for bar in BARS], atol=1e-7)
    np.testing.assert_allclose(figure.data[4].y, explorer.path("and", "copy")["S"], atol=1e-7)
    assert figure.layout.shapes[0].x0 == pytest.approx(0.4) and "and" in figure.layout.title.text
    mode.value = "dataset"
    assert weight.disabled and not dataset.disabled
    np.testing.assert_allclose(figure.data[0].y[:4], [0, 1, 0, 0], atol=1e-7)
    assert "synergy" in figure.layout.title.text and figure.layout.shapes[0].visible is False


@pytest.mark.parametrize("static_build", [True, False])
def test_show_picks_the_face(monkeypatch, static_build):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    monkeypatch.setenv("MMCOURSE_STATIC_BUILD", "1" if static_build else "0")
    PIDExplorer(pairs=[("and", "xor")], steps=3).show()
    (obj,) = shown
    if static_build:
        assert type(obj) is go.Figure and len(obj.layout.sliders[0].steps) == 3
    else:
        ipywidgets = pytest.importorskip("ipywidgets")
        assert isinstance(obj, ipywidgets.VBox)


# --- errors ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    (dict(pairs=[]), "PIDExplorer: pairs is empty"),
    (dict(pairs=[("and", "nand")]),
     r"PIDExplorer: each pair must be two names from and, or, .*; got \('and', 'nand'\)"),
    (dict(pairs=[("and",)]), r"each pair must be two names"),
    (dict(steps=1), "PIDExplorer: steps must be an integer ≥ 2, got 1"),
    (dict(steps=2.5), "steps must be an integer ≥ 2, got 2.5"),
    (dict(datasets=["digits"]), r"PIDExplorer: unknown datasets \['digits'\]; known: redundancy"),
])
def test_constructor_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PIDExplorer(**kwargs)


def test_mixture_and_dataset_errors(explorer):
    known = ", ".join(BITWISE)
    with pytest.raises(ValueError, match=f"bitwise_mixture: unknown distribution b='nand'; known: {known}"):
        bitwise_mixture("and", "nand", 0.5)
    with pytest.raises(ValueError, match=r"bitwise_mixture: t must be a number in \[0, 1\], got 1.5"):
        explorer.bars("and", "xor", 1.5)
    with pytest.raises(ValueError, match="t must be a number"):
        bitwise_mixture("and", "xor", "0.5")
    with pytest.raises(ValueError, match="PIDExplorer.dataset_pid: dataset 'digits' is not among redundancy"):
        explorer.dataset_pid("digits")


def test_doctests():
    result = doctest.testmod(pid_explorer)
    assert result.attempted > 0 and result.failed == 0
