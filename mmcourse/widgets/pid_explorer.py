"""The PID explorer of Part 7: move between two bitwise interactions and watch redundancy, uniqueness and synergy.

Two faces from the same code. :meth:`PIDExplorer.live` is an ipywidgets UI for Jupyter and Colab: pick two
canonical distributions A and B (:data:`mmcourse.data.BITWISE`) and a mixing weight :math:`t`, and the bars show the
BROJA decomposition of :math:`p = (1 - t)\\,p_A + t\\,p_B` (:func:`mmcourse.quantification.pid`), solved on the spot;
a second mode decomposes an interaction dataset estimated from samples with a label-aware discretisation
(:func:`mmcourse.quantification.fit_discretiser`, then :func:`mmcourse.quantification.pid_from_samples`).
:meth:`PIDExplorer.static_figure` is what the website shows: a plotly figure with a dropdown over a few pairs and a
slider over precomputed mixtures, drawn without a kernel.

The labels of A and B are identified by their index: when one has fewer label values (``"sum"`` has 3, ``"copy"``
4, the others 2), its label axis is padded with values of probability zero, which change no information.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mmcourse.data import BITWISE, INTERACTION_DATASETS, bitwise_distribution, load_dataset
from mmcourse.quantification import PID, fit_discretiser, pid, pid_from_samples
from mmcourse.viz import COLORS, is_static_build

__all__ = ["PIDExplorer", "PID_PAIRS", "bitwise_mixture"]

# The pairs of the static figure: each moves one kind of information into another.
PID_PAIRS = (("redundant", "xor"), ("unique1", "redundant"), ("and", "xor"), ("copy", "sum"),
             ("unique1", "unique2"))
# Bar names and the PID fields behind them; then the three informations that the parts add up to.
PARTS = {"R": "redundancy", "U1": "unique1", "U2": "unique2", "S": "synergy"}
INFORMATIONS = ("I(X1;Y)", "I(X2;Y)", "I(X1,X2;Y)")
DIGITS = 4  # decimals kept in the static figure


def bitwise_mixture(a: str, b: str, t: float) -> np.ndarray:
    """The joint distribution :math:`(1 - t)\\,p_A + t\\,p_B` of two bitwise interactions, shape ``(2, 2, k)``.

    ``k`` is the larger number of label values of the two; the smaller label axis is padded with zeros.

    Examples
    --------
    >>> bitwise_mixture("redundant", "xor", 0.5)[:, :, 1]
    array([[0.   , 0.125],
           [0.125, 0.25 ]])
    >>> bitwise_mixture("and", "sum", 0.0).shape
    (2, 2, 3)
    """
    for name, value in (("a", a), ("b", b)):
        if value not in BITWISE:
            raise ValueError(f"bitwise_mixture: unknown distribution {name}={value!r}; known: {', '.join(BITWISE)}")
    if isinstance(t, bool) or not isinstance(t, (int, float, np.floating)) or not 0.0 <= t <= 1.0:
        raise ValueError(f"bitwise_mixture: t must be a number in [0, 1], got {t!r}")
    pa, pb = bitwise_distribution(a), bitwise_distribution(b)
    k = max(pa.shape[2], pb.shape[2])
    pad = lambda p: np.pad(p, ((0, 0), (0, 0), (0, k - p.shape[2])))  # noqa: E731
    return (1.0 - t) * pad(pa) + t * pad(pb)


def _values(r: PID) -> dict[str, float]:
    """The bars: the four parts, then I(X1;Y) = R + U1, I(X2;Y) = R + U2 and I(X1,X2;Y) = the total."""
    parts = {bar: getattr(r, field) for bar, field in PARTS.items()}
    return {**parts, INFORMATIONS[0]: parts["R"] + parts["U1"], INFORMATIONS[1]: parts["R"] + parts["U2"],
            INFORMATIONS[2]: r.total}


class PIDExplorer:
    """Decompose mixtures of two bitwise interactions, live or from precomputed mixtures.

    Parameters
    ----------
    pairs : sequence of (str, str)
        The (A, B) pairs of the static figure's dropdown, names from :data:`mmcourse.data.BITWISE`.
    steps : int
        Mixing weights per pair in the static figure: ``t = 0, 1/(steps - 1), ..., 1``; at least 2.
    datasets : sequence of str
        The interaction datasets of the live UI's dataset mode (names from
        :data:`mmcourse.data.INTERACTION_DATASETS`).

    Examples
    --------
    >>> explorer = PIDExplorer()
    >>> row = explorer.bars("redundant", "xor", 0.0)
    >>> round(row["R"], 4), round(row["S"], 4)
    (1.0, 0.0)
    >>> explorer.path("and", "xor").shape
    (11, 7)
    """

    def __init__(self, pairs: Sequence[tuple[str, str]] = PID_PAIRS, steps: int = 11,
                 datasets: Sequence[str] = INTERACTION_DATASETS):
        pairs = [tuple(pair) for pair in pairs]
        if not pairs:
            raise ValueError("PIDExplorer: pairs is empty; give at least one (A, B) pair")
        for pair in pairs:
            if len(pair) != 2 or any(name not in BITWISE for name in pair):
                raise ValueError(f"PIDExplorer: each pair must be two names from {', '.join(BITWISE)}; got {pair}")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
            raise ValueError(f"PIDExplorer: steps must be an integer ≥ 2, got {steps!r}")
        unknown = [d for d in datasets if d not in INTERACTION_DATASETS]
        if unknown or not datasets:
            raise ValueError(f"PIDExplorer: unknown datasets {unknown}; known: {', '.join(INTERACTION_DATASETS)}")
        self.pairs, self.steps, self.datasets = pairs, steps, list(datasets)
        self.weights = np.linspace(0.0, 1.0, steps)
        self._datasets: dict[str, PID] = {}

    def decompose(self, a: str, b: str, t: float) -> PID:
        """:func:`~mmcourse.quantification.pid` of :func:`bitwise_mixture` ``(a, b, t)``."""
        return pid(bitwise_mixture(a, b, t))

    def bars(self, a: str, b: str, t: float) -> dict[str, float]:
        """The values drawn for one mixture: R, U1, U2, S, I(X1;Y), I(X2;Y), I(X1,X2;Y), in bits."""
        return _values(self.decompose(a, b, t))

    def path(self, a: str, b: str) -> pd.DataFrame:
        """:meth:`bars` at every mixing weight of the static figure: one row per ``t``."""
        return pd.DataFrame([self.bars(a, b, float(t)) for t in self.weights],
                            index=pd.Index(np.round(self.weights, 6), name="t"))

    def dataset_pid(self, name: str) -> PID:
        """The PID of an interaction dataset, estimated as in the chapter *PID on data*: a label-aware discretiser
        (:func:`~mmcourse.quantification.fit_discretiser`, default settings) fitted on the training split, the table
        counted on the test split (:func:`~mmcourse.quantification.pid_from_samples`); computed once per dataset."""
        if name not in self.datasets:
            raise ValueError(f"PIDExplorer.dataset_pid: dataset {name!r} is not among {', '.join(self.datasets)}")
        if name not in self._datasets:
            data = load_dataset(name)
            train, test = (data[split].with_format("numpy")[:] for split in ("train", "test"))  # dicts of arrays
            discretiser = fit_discretiser(train["x1"], train["x2"], train["label"])
            self._datasets[name] = pid_from_samples(test["x1"], test["x2"], test["label"], discretiser=discretiser)
        return self._datasets[name]

    # ------------------------------------------------------------------ shared drawing
    @staticmethod
    def _title(a: str, b: str, t: float) -> str:
        return f"p = {1 - t:.2f}·{a} + {t:.2f}·{b}"

    def _base_figure(self) -> go.Figure:
        fig = make_subplots(rows=1, cols=2, column_widths=[0.45, 0.55], horizontal_spacing=0.1,
                            subplot_titles=["this mixture (bits)", "along the path from A (t = 0) to B (t = 1)"])
        names = [*PARTS, *INFORMATIONS]
        fig.add_bar(x=names, y=[0.0] * len(names), showlegend=False, row=1, col=1,
                    marker_color=[*COLORS[:4], *["#aaaaaa"] * 3], texttemplate="%{y:.3f}", textposition="outside",
                    hovertemplate="%{x}: %{y:.4f} bits<extra></extra>")
        for i, bar in enumerate(PARTS):
            fig.add_scatter(x=np.round(self.weights, 6).tolist(), y=[0.0] * self.steps, mode="lines+markers",
                            name=bar, line=dict(color=COLORS[i]), row=1, col=2)
        fig.add_vline(x=0.0, line=dict(color="black", dash="dot", width=1), row=1, col=2)
        fig.update_yaxes(range=[0, 2.25], title_text="bits", row=1, col=1)
        fig.update_yaxes(range=[0, 2.1], row=1, col=2)
        fig.update_xaxes(title_text="mixing weight t", range=[-0.03, 1.03], row=1, col=2)
        fig.update_layout(template="plotly_white", height=420, margin=dict(t=110, l=50, r=20, b=50),
                          legend=dict(orientation="h", x=0.55, y=-0.18, yanchor="top"))
        return fig

    # ------------------------------------------------------------------ the website's face
    def static_figure(self) -> go.Figure:
        """Bars of one mixture (left) and the four parts along the whole path (right); the dropdown picks the pair
        (A, B), the slider the mixing weight ``t`` of that pair (one slider per pair, only the chosen one shown).

        Only data are restyled (the bar heights, the curves, the dotted marker and the title), so the page holds
        ``len(pairs) × steps × 7`` bar heights and ``len(pairs) × steps × 4`` curve points, nothing more.
        """
        fig = self._base_figure()
        paths = {pair: self.path(*pair).round(DIGITS) for pair in self.pairs}
        sliders, buttons = [], []
        for k, (a, b) in enumerate(self.pairs):
            table = paths[a, b]
            steps = [dict(method="update", label=f"{t:.2f}",
                          args=[{"y": [table.iloc[i].tolist()]},
                                {"title.text": self._title(a, b, t), "shapes[0].x0": t, "shapes[0].x1": t}, [0]])
                     for i, t in enumerate(self.weights)]
            sliders.append(dict(steps=steps, active=0, visible=k == 0, x=0.0, len=1.0, y=-0.2, yanchor="top",
                                currentvalue=dict(prefix="t = ", font=dict(size=13)), pad=dict(t=30)))
            relayout = {"title.text": self._title(a, b, 0.0), "shapes[0].x0": 0.0, "shapes[0].x1": 0.0,
                        **{f"sliders[{j}].visible": j == k for j in range(len(self.pairs))},
                        f"sliders[{k}].active": 0}
            buttons.append(dict(label=f"{a} → {b}", method="update",
                                args=[{"y": [table.iloc[0].tolist(), *(table[bar].tolist() for bar in PARTS)]},
                                      relayout]))
        a, b = self.pairs[0]
        first = paths[a, b]
        fig.data[0].y = first.iloc[0].tolist()
        for i, bar in enumerate(PARTS):
            fig.data[1 + i].y = first[bar].tolist()
        fig.update_layout(sliders=sliders, height=520, margin=dict(b=150),
                          title=dict(text=self._title(a, b, 0.0), x=0.0, y=0.97, font=dict(size=14)),
                          updatemenus=[dict(buttons=buttons, x=0.0, y=1.13, xanchor="left", yanchor="bottom")])
        return fig

    # ------------------------------------------------------------------ the live face
    def live(self):
        """The ipywidgets UI: a mode switch, the two distributions and ``t`` (mixture mode) or a dataset (dataset
        mode), and the figure of :meth:`static_figure`, redrawn on every change."""
        import ipywidgets as w

        a0, b0 = self.pairs[0]
        mode = w.ToggleButtons(options=["mixture", "dataset"], value="mixture", description="mode")
        first = w.Dropdown(options=list(BITWISE), value=a0, description="A")
        second = w.Dropdown(options=list(BITWISE), value=b0, description="B")
        weight = w.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.01, description="t", continuous_update=True)
        dataset = w.Dropdown(options=self.datasets, value=self.datasets[0], description="dataset")
        status = w.HTML()
        figure = go.FigureWidget(self._base_figure())

        def draw_path(_=None):
            table = self.path(first.value, second.value)
            with figure.batch_update():
                for i, bar in enumerate(PARTS):
                    figure.data[1 + i].y = table[bar].tolist()
            draw()

        def draw(_=None):
            if mode.value == "mixture":
                values = self.bars(first.value, second.value, weight.value)
                title = self._title(first.value, second.value, weight.value)
                marker = weight.value
            else:
                status.value = f"clustering {dataset.value} and solving…"
                values = _values(self.dataset_pid(dataset.value))
                title, marker = f"{dataset.value}: estimated from samples (pid_from_samples)", None
            with figure.batch_update():
                figure.data[0].y = list(values.values())
                figure.layout.title.text = title
                figure.layout.shapes[0].visible = marker is not None
                if marker is not None:
                    figure.layout.shapes[0].x0 = figure.layout.shapes[0].x1 = marker
            status.value = ", ".join(f"{k} = {v:.3f}" for k, v in values.items()) + " bits"

        def switch(_=None):
            mixing = mode.value == "mixture"
            for control in (first, second, weight):
                control.disabled = not mixing
            dataset.disabled = mixing
            draw()

        first.observe(draw_path, "value")
        second.observe(draw_path, "value")
        weight.observe(draw, "value")
        dataset.observe(draw, "value")
        mode.observe(switch, "value")
        figure.layout.title = dict(x=0.0, font=dict(size=14))
        switch()
        draw_path()
        ui = w.VBox([mode, w.HBox([w.VBox([first, second, weight]), dataset]), figure, status])
        ui.draw = draw  # lets tests and scripts redraw
        return ui

    def show(self):
        """Display the live UI in Jupyter or Colab, and the precomputed figure when the website is built."""
        from IPython.display import display

        display(self.static_figure() if is_static_build() else self.live())
