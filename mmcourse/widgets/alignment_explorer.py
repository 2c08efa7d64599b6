"""The alignment explorer of Part 3: the same two sequences aligned by DTW, soft-DTW, exact OT and Sinkhorn.

Two faces from the same code. :meth:`AlignmentExplorer.live` is an ipywidgets UI for Jupyter and Colab: a method
dropdown and a log-scale slider for soft-DTW's γ or Sinkhorn's regularisation, computing on the spot.
:meth:`AlignmentExplorer.static_figure` is what the website shows: a plotly figure whose one slider steps through
every precomputed (method, value) pair, drawn without a kernel.

Both draw two panels: the local cost ``‖x_i − y_j‖²`` with the DTW path over it, and the alignment matrix of the
chosen method, one row per step of x and one column per step of y, on one colour scale in [0, 1]:

- ``dtw``: the 0/1 indicator of the optimal warping path (:func:`mmcourse.alignment.dtw`);
- ``soft_dtw``: the expected alignment ``∂ sdtw_γ / ∂Δ``, the probability that a path visits each cell
  (:func:`mmcourse.alignment.soft_alignment`);
- ``optimal_transport``: the exact plan between uniform weights ``a = 1/n``, ``b = 1/m``, times n, so that each row
  sums to 1 (the share of x_i's mass that goes to each y_j);
- ``sinkhorn``: the entropic plan, times n likewise, with the cost divided by its maximum first, so that ``reg``
  is relative to the largest cost and the same values mean the same on any data.

Unlike DTW, OT knows nothing of time order: the plans may cross, which is the point of putting them side by side.
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mmcourse.alignment import dtw, optimal_transport, sinkhorn, soft_alignment, squared_distances
from mmcourse.alignment._checks import as_numpy, check_pair, positive
from mmcourse.viz import COLORS, is_static_build

__all__ = ["AlignmentExplorer", "ALIGNMENT_METHODS"]

# The method names, as accepted by AlignmentExplorer.alignment, and how the figures call them.
ALIGNMENT_METHODS = {"dtw": "DTW", "soft_dtw": "soft-DTW", "optimal_transport": "exact OT", "sinkhorn": "Sinkhorn"}
# The methods with a parameter: its name in errors and code, and its symbol in labels.
PARAMETERS = {"soft_dtw": ("gamma", "γ"), "sinkhorn": ("reg", "reg")}
# One colour scale for every alignment panel, on [0, 1], stretched near 0 so that diffuse plans (Sinkhorn with a
# large reg spreads each row over all m columns, about 1/m each) still show.
ALIGNMENT_COLORSCALE = [[0.0, "#ffffff"], [0.02, "#deebf7"], [0.1, "#9ecae1"], [0.3, "#4292c6"], [1.0, "#08306b"]]
DIGITS = 3  # decimals kept in the static figure's matrices: enough for the eye and the hover, light on the page
SINKHORN_TOL = 1e-9  # sinkhorn's default marginal tolerance


class AlignmentExplorer:
    """Compare DTW, soft-DTW, exact optimal transport and Sinkhorn on two sequences, live or precomputed.

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (n, d) or (n,)
        The first sequence: n steps of d features (a tensor is detached).
    y : array-like or torch.Tensor, shape (m, d) or (m,)
        The second sequence, with the same number of features.
    gammas : sequence of float
        The soft-DTW smoothings γ > 0 that the static figure precomputes (and the live slider's range).
    regs : sequence of float
        The Sinkhorn regularisations > 0, relative to the largest cost, likewise.

    Attributes
    ----------
    cost : numpy.ndarray (n, m)
        The local cost ``‖x_i − y_j‖²`` that every method uses.
    dtw_cost, path
        The DTW cost and one optimal path.

    Examples
    --------
    >>> import numpy as np
    >>> explorer = AlignmentExplorer(np.arange(3.0), np.array([0.0, 1.0, 1.0, 2.0]))
    >>> explorer.alignment("dtw")
    array([[1., 0., 0., 0.],
           [0., 1., 1., 0.],
           [0., 0., 0., 1.]])
    >>> bool(np.allclose(explorer.alignment("sinkhorn", 0.1).sum(axis=1), 1.0))
    True
    """

    def __init__(self, x, y, *, gammas: Sequence[float] = (0.01, 0.1, 0.3, 1, 3),
                 regs: Sequence[float] = (0.01, 0.03, 0.1, 0.3, 1)):
        where = "AlignmentExplorer"
        x, y = as_numpy(x, "x", where), as_numpy(y, "y", where)
        x = x.reshape(-1, 1) if x.ndim == 1 else x
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        check_pair(x.shape, y.shape, where)
        self.x, self.y = x, y
        self.gammas = _parameter_values(gammas, "gammas", where)
        self.regs = _parameter_values(regs, "regs", where)
        self.cost = squared_distances(x, y)
        self.dtw_cost, self.path = dtw(x, y)
        self._cache: dict[tuple[str, float | None], np.ndarray] = {}

    @property
    def shape(self) -> tuple[int, int]:
        """``(n, m)``: the steps of x and of y."""
        return self.cost.shape

    def values(self, method: str) -> tuple[float, ...]:
        """The precomputed parameter values of a method: ``gammas``, ``regs``, or ``()`` for a method without one."""
        self._check_method(method, "values")
        return {"soft_dtw": self.gammas, "sinkhorn": self.regs}.get(method, ())

    def combinations(self) -> list[tuple[str, float | None]]:
        """Every (method, value) the static figure shows, in its slider's order: soft-DTW from the largest γ down
        to its limit DTW, then Sinkhorn from the largest reg down to its limit, exact OT."""
        return ([("soft_dtw", g) for g in sorted(self.gammas, reverse=True)] + [("dtw", None)]
                + [("sinkhorn", r) for r in sorted(self.regs, reverse=True)] + [("optimal_transport", None)])

    @staticmethod
    def label(method: str, value: float | None = None) -> str:
        """The short name of a (method, value) pair, e.g. ``"soft-DTW γ=0.1"``, ``"exact OT"``."""
        if method in PARAMETERS:
            return f"{ALIGNMENT_METHODS[method]} {PARAMETERS[method][1]}={value:g}"
        return ALIGNMENT_METHODS[method]

    def _check_method(self, method, where: str) -> None:
        if method not in ALIGNMENT_METHODS:
            raise ValueError(f"AlignmentExplorer.{where}: unknown method {method!r}; known methods: "
                             f"{', '.join(ALIGNMENT_METHODS)}")

    def alignment(self, method: str, value: float | None = None) -> np.ndarray:
        """The alignment matrix (n, m) of a method, entries in [0, 1], computed once and cached.

        ``dtw``: the 0/1 indicator of the DTW path (it has ``len(path)`` ones). ``soft_dtw``: the expected alignment
        for ``gamma = value``. ``optimal_transport``: the exact plan between uniform weights, times n (rows sum to
        1, columns to n/m). ``sinkhorn``: the entropic plan for ``reg = value`` on the cost divided by its maximum,
        times n. ``value`` is required for soft_dtw and sinkhorn and must be left out for the other two.
        """
        where = "alignment"
        self._check_method(method, where)
        if method in PARAMETERS:
            name = PARAMETERS[method][0]
            if value is None:
                raise ValueError(f"AlignmentExplorer.{where}: method {method!r} needs a value ({name}), e.g. "
                                 f"alignment({method!r}, {self.values(method)[0]:g})")
            value = positive(value, name, f"AlignmentExplorer.{where}")
        elif value is not None:
            raise ValueError(f"AlignmentExplorer.{where}: method {method!r} takes no value, got {value!r}")
        key = (method, value)
        if key not in self._cache:
            self._cache[key] = self._compute(method, value)
        return self._cache[key]

    def _compute(self, method: str, value: float | None) -> np.ndarray:
        n, m = self.shape
        if method == "dtw":
            matrix = np.zeros((n, m))
            rows, cols = zip(*self.path)
            matrix[list(rows), list(cols)] = 1.0
            return matrix
        if method == "soft_dtw":
            return soft_alignment(self.x, self.y, value)
        a, b = np.full(n, 1.0 / n), np.full(m, 1.0 / m)
        if method == "optimal_transport":
            return np.clip(optimal_transport(a, b, self.cost) * n, 0.0, 1.0)
        scale = self.cost.max()
        relative = self.cost / scale if scale > 0 else self.cost  # all costs 0: any plan is optimal
        return np.clip(sinkhorn(a, b, relative, value, tol=SINKHORN_TOL) * n, 0.0, 1.0)

    def _title(self, method: str, value: float | None) -> str:
        if method == "dtw":
            return f"DTW path (cost {self.dtw_cost:.3g})"
        if method == "soft_dtw":
            return f"soft-DTW expected alignment, γ={value:g}"
        if method == "optimal_transport":
            return "exact OT plan × n (uniform weights)"
        return f"Sinkhorn plan × n, reg={value:g} × max cost"

    # ------------------------------------------------------------------ shared drawing
    def _base_figure(self) -> go.Figure:
        """The two panels with the cost heatmap and the DTW path; the caller adds the alignment trace(s)."""
        n, m = self.shape
        fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.14,
                            subplot_titles=["cost ‖x_i − y_j‖² and the DTW path", "alignment"])
        fig.add_heatmap(z=np.round(self.cost, DIGITS).tolist(), coloraxis="coloraxis", name="cost",
                        hovertemplate="x step %{y}, y step %{x}<br>cost %{z:.3g}<extra></extra>", row=1, col=1)
        rows, cols = zip(*self.path)
        fig.add_scatter(x=list(cols), y=list(rows), mode="lines", name="DTW path", showlegend=False,
                        line=dict(color=COLORS[1], width=2), hoverinfo="skip", row=1, col=1)
        fig.update_xaxes(title="y time step j", range=[-0.5, m - 0.5], constrain="domain")
        fig.update_yaxes(title="x time step i", range=[-0.5, n - 0.5], constrain="domain")
        fig.update_layout(
            template="plotly_white", height=480, margin=dict(t=80, l=60, r=20, b=60),
            title=dict(text=f"Aligning x ({n} steps) with y ({m} steps)", x=0.0, xanchor="left"),
            coloraxis=dict(colorscale="Viridis", colorbar=dict(title="cost", x=0.43, len=0.8, thickness=12)),
            coloraxis2=dict(colorscale=ALIGNMENT_COLORSCALE, cmin=0.0, cmax=1.0,
                            colorbar=dict(title="weight", x=1.0, len=0.8, thickness=12)))
        return fig

    def _alignment_trace(self, method: str, value: float | None, z, visible: bool = True) -> go.Heatmap:
        return go.Heatmap(z=z, coloraxis="coloraxis2", name=self.label(method, value), visible=visible,
                          hovertemplate="x step %{y}, y step %{x}<br>weight %{z:.3f}<extra></extra>",
                          xaxis="x2", yaxis="y2")

    # ------------------------------------------------------------------ the website's face
    def static_figure(self) -> go.Figure:
        """Every method and value precomputed; one slider steps through them (see :meth:`combinations`).

        Traces: 0 the cost heatmap, 1 the DTW path (both always shown), then one alignment heatmap per slider step,
        in the slider's order; step k shows trace 2 + k and sets the right panel's title. It starts on DTW.
        """
        combos = self.combinations()
        fig = self._base_figure()
        start = combos.index(("dtw", None))
        for k, (method, value) in enumerate(combos):
            z = np.round(self.alignment(method, value), DIGITS).tolist()
            fig.add_trace(self._alignment_trace(method, value, z, visible=k == start))
        steps = []
        for k, (method, value) in enumerate(combos):
            visible = [True, True] + [i == k for i in range(len(combos))]
            steps.append(dict(method="update", label=self.label(method, value),
                              args=[{"visible": visible}, {"annotations[1].text": self._title(method, value)}]))
        fig.layout.annotations[1].text = self._title(*combos[start])
        fig.update_layout(sliders=[dict(steps=steps, active=start, x=0.0, len=1.0, y=-0.12, yanchor="top",
                                        pad=dict(t=10), font=dict(size=9),
                                        currentvalue=dict(prefix="alignment: ", font=dict(size=13)))],
                          margin=dict(b=120), height=560)
        return fig

    # ------------------------------------------------------------------ the live face
    def live(self):
        """The ipywidgets UI: a method dropdown, a log-scale γ / reg slider (off for DTW and exact OT), the figure."""
        import ipywidgets as w

        method = w.Dropdown(options=[(name, key) for key, name in ALIGNMENT_METHODS.items()], value="soft_dtw",
                            description="method")
        ranges = {key: _log_range(self.values(key)) for key in PARAMETERS}
        chosen = {key: _middle(self.values(key)) for key in PARAMETERS}  # the slider's value, kept per method
        slider = w.FloatLogSlider(value=chosen["soft_dtw"], base=10, min=ranges["soft_dtw"][0],
                                  max=ranges["soft_dtw"][1], step=0.05, description="γ", continuous_update=False,
                                  readout_format=".3g")
        status = w.HTML()
        fig = self._base_figure()
        fig.add_trace(self._alignment_trace("soft_dtw", chosen["soft_dtw"], None))
        figure = go.FigureWidget(fig)
        state = {"syncing": False}

        def redraw(_=None):
            if state["syncing"]:
                return
            key = method.value
            value = slider.value if key in PARAMETERS else None
            if value is not None:
                chosen[key] = value
            start = time.perf_counter()
            cached = (key, value) in self._cache
            try:
                matrix = self.alignment(key, value)
            except RuntimeError as exc:  # Sinkhorn that does not converge: say so, keep the last picture
                status.value = f"<b>{self.label(key, value)}</b>: {exc}"
                return
            with figure.batch_update():
                figure.data[2].z = matrix
                figure.data[2].name = self.label(key, value)
                figure.layout.annotations[1].text = self._title(key, value)
            took = "cached" if cached else f"computed in {time.perf_counter() - start:.2f} s"
            status.value = f"<b>{self.label(key, value)}</b>: {took}"

        def on_method(_=None):
            key = method.value
            slider.disabled = key not in PARAMETERS
            if key in PARAMETERS:
                state["syncing"] = True  # moving the range would redraw once per trait
                try:
                    with slider.hold_trait_notifications():
                        slider.min, slider.max = ranges[key]
                        slider.value = chosen[key]
                    slider.description = PARAMETERS[key][1]
                finally:
                    state["syncing"] = False
            redraw()

        method.observe(on_method, "value")
        slider.observe(redraw, "value")
        redraw()
        return w.VBox([w.HBox([method, slider, status]), figure])

    def show(self):
        """Display the live UI in Jupyter or Colab, and the precomputed figure when the website is built."""
        from IPython.display import display

        display(self.static_figure() if is_static_build() else self.live())


def _parameter_values(values, name: str, where: str) -> tuple[float, ...]:
    """A non-empty sequence of numbers > 0, without repeats, in the given order."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
        raise ValueError(f"{where}: {name} must be a non-empty sequence of numbers > 0, got {values!r}")
    checked = [positive(v, f"{name}[{k}]", where) for k, v in enumerate(values)]
    return tuple(dict.fromkeys(checked))


def _log_range(values: Sequence[float]) -> tuple[float, float]:
    """The exponents (base 10) of the smallest and largest value, half a decade apart at least."""
    lo, hi = math.log10(min(values)), math.log10(max(values))
    return (lo - 0.25, hi + 0.25) if hi - lo < 0.5 else (lo, hi)


def _middle(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
