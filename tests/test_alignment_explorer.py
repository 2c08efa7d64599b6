"""Tests of mmcourse.widgets.AlignmentExplorer: the alignment matrices, the static figure, the live UI and errors.

Small sequences throughout (12 and 18 steps): the whole file runs in a few seconds.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from mmcourse.alignment import dtw, optimal_transport, soft_alignment, squared_distances, transport_cost
from mmcourse.widgets import ALIGNMENT_METHODS, AlignmentExplorer

N, M = 12, 18
GAMMAS, REGS = (0.01, 0.1, 0.3, 1, 3), (0.01, 0.03, 0.1, 0.3, 1)


def sequences(n=N, m=M, seed=0):
    """Two noisy views of one curve, y a time-warped and longer version of x."""
    rng = np.random.default_rng(seed)
    t, u = np.linspace(0, 1, n), np.linspace(0, 1, m) ** 1.5
    x = np.c_[np.sin(6 * t), np.cos(3 * t)] + 0.05 * rng.normal(size=(n, 2))
    y = np.c_[np.sin(6 * u), np.cos(3 * u)] + 0.05 * rng.normal(size=(m, 2))
    return x, y


@pytest.fixture(scope="module")
def explorer():
    return AlignmentExplorer(*sequences())


# --- the matrices ---------------------------------------------------------------------------------------------------
def test_inputs_and_cost(explorer):
    x, y = sequences()
    assert explorer.shape == (N, M)
    np.testing.assert_allclose(explorer.cost, squared_distances(x, y))
    assert (explorer.dtw_cost, explorer.path) == dtw(x, y)
    assert explorer.gammas == GAMMAS and explorer.regs == REGS
    assert explorer.values("soft_dtw") == GAMMAS and explorer.values("sinkhorn") == REGS
    assert explorer.values("dtw") == explorer.values("optimal_transport") == ()


def test_dtw_alignment_is_the_path_indicator(explorer):
    a = explorer.alignment("dtw")
    assert a.shape == (N, M) and set(np.unique(a)) == {0.0, 1.0}
    assert a.sum() == len(explorer.path)
    assert all(a[i, j] == 1 for i, j in explorer.path)


@pytest.mark.parametrize("gamma", GAMMAS)
def test_soft_dtw_alignment_is_the_expected_alignment(explorer, gamma):
    a = explorer.alignment("soft_dtw", gamma)
    np.testing.assert_allclose(a, soft_alignment(*sequences(), gamma))
    assert a.shape == (N, M) and (a >= 0).all() and (a <= 1).all()
    assert a[0, 0] == pytest.approx(1) and a[-1, -1] == pytest.approx(1)


def test_soft_dtw_tends_to_dtw_for_small_gamma(explorer):
    target = explorer.alignment("dtw")
    # γ is in the units of the cost: it is "small" once it is below the cost gaps between nearby paths.
    errors = [np.abs(explorer.alignment("soft_dtw", g) - target).max() for g in (3, 0.1, 0.01, 1e-3)]
    assert errors[0] > errors[1] > errors[2] > errors[3] and errors[3] < 1e-6


@pytest.mark.parametrize("method, value", [("optimal_transport", None)] + [("sinkhorn", r) for r in REGS])
def test_transport_plans_meet_the_uniform_marginals_after_rescaling(explorer, method, value):
    a = explorer.alignment(method, value)
    assert a.shape == (N, M) and (a >= 0).all() and (a <= 1).all()
    np.testing.assert_allclose(a.sum(axis=1), 1.0, atol=1e-6)          # a = 1/n, times n
    np.testing.assert_allclose(a.sum(axis=0), N / M, atol=1e-6)        # b = 1/m, times n
    assert a.sum() == pytest.approx(N)


def test_exact_ot_is_the_optimal_plan(explorer):
    plan = optimal_transport(np.full(N, 1 / N), np.full(M, 1 / M), explorer.cost)
    assert transport_cost(explorer.alignment("optimal_transport") / N, explorer.cost) == pytest.approx(
        transport_cost(plan, explorer.cost), rel=1e-9)


def test_sinkhorn_tends_to_exact_ot_for_small_reg(explorer):
    exact = transport_cost(explorer.alignment("optimal_transport") / N, explorer.cost)
    gaps = [transport_cost(explorer.alignment("sinkhorn", r) / N, explorer.cost) - exact for r in (1, 0.1, 0.01)]
    assert all(g >= -1e-9 for g in gaps)                                # no feasible plan beats the exact one
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 0.02 * explorer.cost.max()


def test_sinkhorn_reg_is_relative_to_the_largest_cost():
    x, y = sequences()
    small, large = AlignmentExplorer(x, y), AlignmentExplorer(10 * x, 10 * y)   # costs × 100
    np.testing.assert_allclose(small.alignment("sinkhorn", 0.1), large.alignment("sinkhorn", 0.1), atol=1e-7)


def test_results_are_cached():
    ex = AlignmentExplorer(*sequences())
    first = ex.alignment("soft_dtw", 0.1)
    assert ex.alignment("soft_dtw", 0.1) is first and ex.alignment("soft_dtw", 1e-1) is first
    assert ex.alignment("dtw") is ex.alignment("dtw")
    assert set(ex._cache) == {("soft_dtw", 0.1), ("dtw", None)}


def test_identical_constant_sequences_do_not_divide_by_zero():
    ex = AlignmentExplorer(np.ones((3, 2)), np.ones((4, 2)))
    np.testing.assert_allclose(ex.alignment("sinkhorn", 0.1).sum(axis=1), 1.0)


def test_accepts_tensors_and_one_dimensional_input():
    x, y = sequences()
    ex = AlignmentExplorer(torch.tensor(x, dtype=torch.float32, requires_grad=True), torch.tensor(y))
    np.testing.assert_allclose(ex.cost, squared_distances(x, y), rtol=1e-5, atol=1e-6)
    ex1 = AlignmentExplorer(x[:, 0], y[:, 0])
    assert ex1.shape == (N, M) and ex1.alignment("dtw").sum() == len(ex1.path)


# --- the static figure ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def static(explorer):
    return explorer.static_figure()


def test_static_figure_is_a_plain_figure_with_two_panels(static):
    assert type(static) is go.Figure
    cost, path = static.data[:2]
    assert cost.type == "heatmap" and cost.xaxis == "x" and cost.coloraxis == "coloraxis"
    assert path.type == "scatter" and path.xaxis == "x"
    assert all(t.type == "heatmap" and t.xaxis == "x2" and t.coloraxis == "coloraxis2" for t in static.data[2:])
    assert (static.layout.coloraxis2.cmin, static.layout.coloraxis2.cmax) == (0, 1)
    assert static.layout.xaxis.title.text == static.layout.xaxis2.title.text == "y time step j"
    assert static.layout.yaxis.title.text == static.layout.yaxis2.title.text == "x time step i"


def test_static_figure_draws_the_dtw_path_over_the_cost(explorer, static):
    path = static.data[1]
    assert list(zip(path.y, path.x)) == explorer.path
    np.testing.assert_allclose(np.array(static.data[0].z), explorer.cost, atol=5e-4)


def test_slider_has_one_step_per_method_and_value(explorer, static):
    (slider,) = static.layout.sliders
    assert len(slider.steps) == 2 + len(GAMMAS) + len(REGS)
    labels = [s.label for s in slider.steps]
    assert labels == ([f"soft-DTW γ={g:g}" for g in sorted(GAMMAS, reverse=True)] + ["DTW"]
                      + [f"Sinkhorn reg={r:g}" for r in sorted(REGS, reverse=True)] + ["exact OT"])
    assert labels == [explorer.label(*c) for c in explorer.combinations()]
    assert not static.layout.updatemenus


def test_each_slider_step_shows_exactly_its_own_trace(explorer, static):
    (slider,) = static.layout.sliders
    combos = explorer.combinations()
    assert len(static.data) == 2 + len(combos)
    shown = np.zeros(len(static.data))
    for step, (method, value) in zip(slider.steps, combos):
        assert step.method == "update"
        mask = list(step.args[0]["visible"])
        assert len(mask) == len(static.data) and mask[:2] == [True, True]   # the cost and the path stay
        (k,) = [i for i, v in enumerate(mask) if v and i >= 2]
        assert static.data[k].name == explorer.label(method, value)
        np.testing.assert_allclose(np.array(static.data[k].z), explorer.alignment(method, value), atol=5e-4)
        assert step.args[1]["annotations[1].text"] == explorer._title(method, value)
        shown += mask
    assert list(shown[2:]) == [1] * len(combos)   # each alignment trace belongs to exactly one step


def test_static_figure_starts_on_dtw(explorer, static):
    (slider,) = static.layout.sliders
    assert slider.steps[slider.active].label == "DTW"
    mask = slider.steps[slider.active].args[0]["visible"]
    assert [bool(t.visible) if t.visible is not None else True for t in static.data] == list(mask)
    assert static.layout.annotations[1].text.startswith("DTW path")


def test_static_figure_is_light(explorer, static):
    size = len(static.to_json())
    print(f"static figure JSON: {size / 1e3:.0f} kB for n={N}, m={M}")
    assert size < 150_000, size


def test_static_figure_for_one_value_each():
    ex = AlignmentExplorer(*sequences(6, 7), gammas=[0.5], regs=[0.2])
    fig = ex.static_figure()
    assert [s.label for s in fig.layout.sliders[0].steps] == ["soft-DTW γ=0.5", "DTW", "Sinkhorn reg=0.2",
                                                             "exact OT"]
    assert len(fig.data) == 6


# --- the live UI ----------------------------------------------------------------------------------------------------
def _widgets(root):
    found = [root]
    for child in getattr(root, "children", ()):
        found += _widgets(child)
    return found


def test_live_builds_and_redraws(explorer):
    ipywidgets = pytest.importorskip("ipywidgets")
    ui = explorer.live()
    assert isinstance(ui, ipywidgets.VBox)
    (method,) = [w for w in _widgets(ui) if isinstance(w, ipywidgets.Dropdown)]
    (slider,) = [w for w in _widgets(ui) if isinstance(w, ipywidgets.FloatLogSlider)]
    (figure,) = [w for w in _widgets(ui) if isinstance(w, go.FigureWidget)]
    assert [v for _, v in method.options] == list(ALIGNMENT_METHODS)
    assert method.value == "soft_dtw" and not slider.disabled and slider.description == "γ"
    np.testing.assert_allclose(np.array(figure.data[2].z), explorer.alignment("soft_dtw", slider.value))

    slider.value = 0.01
    np.testing.assert_allclose(np.array(figure.data[2].z), explorer.alignment("soft_dtw", 0.01))
    assert figure.layout.annotations[1].text == "soft-DTW expected alignment, γ=0.01"

    method.value = "dtw"
    assert slider.disabled
    np.testing.assert_array_equal(np.array(figure.data[2].z), explorer.alignment("dtw"))

    method.value = "sinkhorn"
    assert not slider.disabled and slider.description == "reg"
    assert 10 ** slider.min == pytest.approx(min(REGS)) and 10 ** slider.max == pytest.approx(max(REGS))
    np.testing.assert_allclose(np.array(figure.data[2].z), explorer.alignment("sinkhorn", slider.value))
    before = np.array(figure.data[2].z)
    slider.value = 1.0
    after = np.array(figure.data[2].z)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, explorer.alignment("sinkhorn", 1.0))

    method.value = "optimal_transport"
    assert slider.disabled
    np.testing.assert_allclose(np.array(figure.data[2].z), explorer.alignment("optimal_transport"))

    method.value = "soft_dtw"                       # back to γ: its range and its last value come back
    assert slider.description == "γ" and slider.value == pytest.approx(0.01)
    assert 10 ** slider.max == pytest.approx(max(GAMMAS))


def test_live_uses_no_precomputation():
    pytest.importorskip("ipywidgets")
    ex = AlignmentExplorer(*sequences())
    ex.live()
    assert set(ex._cache) == {("soft_dtw", 0.3)}    # only what it draws: the middle γ


@pytest.mark.parametrize("static_build", [True, False])
def test_show_picks_the_face(monkeypatch, static_build):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    monkeypatch.setenv("MMCOURSE_STATIC_BUILD", "1" if static_build else "0")
    AlignmentExplorer(*sequences(5, 6)).show()
    (obj,) = shown
    if static_build:
        assert type(obj) is go.Figure and len(obj.layout.sliders[0].steps) == 2 + len(GAMMAS) + len(REGS)
    else:
        ipywidgets = pytest.importorskip("ipywidgets")
        assert isinstance(obj, ipywidgets.VBox)


# --- errors ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("x, y, match", [
    (np.zeros((0, 2)), np.zeros((3, 2)), "AlignmentExplorer: x is an empty sequence"),
    (np.zeros((3, 2)), np.zeros((4, 3)), r"same number of features, got x of shape \(3, 2\)"),
    (np.array([[0.0], [np.nan]]), np.zeros((3, 1)), "AlignmentExplorer: x contains NaN"),
    (np.zeros((3, 1)), torch.tensor([[float("nan")]]), "AlignmentExplorer: y contains NaN"),
    (np.zeros((3, 2, 2)), np.zeros((3, 2)), r"x must be a sequence of shape \(steps, features\)"),
    (np.array(["a", "b"]), np.zeros(2), "x must be a real numeric array"),
])
def test_rejects_bad_sequences(x, y, match):
    with pytest.raises(ValueError, match=match):
        AlignmentExplorer(x, y)


@pytest.mark.parametrize("kwargs, match", [
    (dict(gammas=()), "gammas must be a non-empty sequence"),
    (dict(regs=0.1), "regs must be a non-empty sequence"),
    (dict(gammas=(0.1, -1)), r"gammas\[1\] must be a finite number > 0"),
    (dict(regs=(0.1, "x")), r"regs\[1\] must be a positive number"),
])
def test_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AlignmentExplorer(*sequences(3, 4), **kwargs)


def test_alignment_errors(explorer):
    with pytest.raises(ValueError, match=r"unknown method 'ctc'; known methods: dtw, soft_dtw, optimal_transport, "
                                         r"sinkhorn"):
        explorer.alignment("ctc")
    with pytest.raises(ValueError, match=r"method 'soft_dtw' needs a value \(gamma\)"):
        explorer.alignment("soft_dtw")
    with pytest.raises(ValueError, match=r"method 'sinkhorn' needs a value \(reg\)"):
        explorer.alignment("sinkhorn")
    with pytest.raises(ValueError, match="method 'dtw' takes no value, got 0.1"):
        explorer.alignment("dtw", 0.1)
    with pytest.raises(ValueError, match="reg must be a finite number > 0, got -1.0"):
        explorer.alignment("sinkhorn", -1)
    with pytest.raises(ValueError, match="unknown method 'DTW'"):
        explorer.values("DTW")
