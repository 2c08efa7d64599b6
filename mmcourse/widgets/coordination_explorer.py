"""The coordination explorer of Part 2.4: watch two modalities' embeddings come together under contrastive training.

Two faces from the same code. :meth:`CoordinationExplorer.live` is an ipywidgets UI for Jupyter and Colab: set the
temperature (fixed or learned), the encoders' width and the training steps, press *Train*, and the figure redraws
while the model trains. :meth:`CoordinationExplorer.static_figure` is what the website shows: a plotly figure whose
slider steps through snapshots of one precomputed run, drawn without a kernel.

Both draw four panels, all on held-out (test) pairs that the model never trains on:

- the shared space: a few pairs per class, both modalities (circles: modality 1, diamonds: modality 2, colour: the
  class, a thin line joins the two halves of each pair), projected on the two main directions of the snapshot's
  embeddings (an uncentred SVD, so that the unit sphere's shadow stays inside the unit circle);
- the cosine similarity of a smaller set of pairs, two per class and sorted by class: the true pairs lie on the
  diagonal, pairs of the same class in 2×2 blocks;
- the training loss per step, with the snapshot marked;
- held-out recall@1 at every snapshot, of the exact pair and of the class, in both directions.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from mmcourse._checks import check_int, check_number
from mmcourse.data import as_tensors, load_dataset, modality_columns
from mmcourse.representation.contrastive import (ContrastiveHistory, ContrastiveModel, fit_contrastive,
                                                 recall_at_k, retrieval_table, similarity_matrix)
from mmcourse.utils import get_device, set_seed
from mmcourse.viz import COLORS, is_static_build

__all__ = ["CoordinationExplorer", "CoordinationRun", "Snapshot", "snapshot_steps"]

DIGITS = 3  # decimals kept in the static figure: plenty for the eye, light on the page
RECALLS = ("x_to_y R@1", "y_to_x R@1", "x_to_y class R@1", "y_to_x class R@1")


def snapshot_steps(steps: int, count: int = 9) -> list[int]:
    """The training steps at which a run is photographed: 0, then ever sparser up to ``steps`` (quadratic spacing,
    because the embeddings move most at the start).

    Examples
    --------
    >>> snapshot_steps(100)
    [0, 2, 6, 14, 25, 39, 56, 77, 100]
    >>> snapshot_steps(3, count=9)
    [0, 1, 2, 3]
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"snapshot_steps: steps must be a positive integer, got {steps!r}")
    if isinstance(count, bool) or not isinstance(count, int) or count < 2:
        raise ValueError(f"snapshot_steps: count must be an integer ≥ 2, got {count!r}")
    return sorted({int(round(steps * f * f)) for f in np.linspace(0, 1, count)})


@dataclass
class Snapshot:
    """The model at one training step, seen on held-out pairs."""

    step: int
    z1: np.ndarray           # (points, dim) embeddings of the drawn pairs, modality 1
    z2: np.ndarray           # (points, dim) the same pairs, modality 2
    similarity: np.ndarray   # (matrix pairs, matrix pairs) cosine similarity, rows modality 1
    recall: dict[str, float]  # held-out recall@1 (keys: RECALLS) on the whole test split


@dataclass
class CoordinationRun:
    """One training run of the explorer: its settings, its loss curve, its snapshots and its held-out retrieval."""

    temperature: float
    learn_temperature: bool
    width: int
    steps: int
    history: ContrastiveHistory
    snapshots: list[Snapshot] = field(repr=False)
    retrieval: pd.DataFrame = field(repr=False)
    seconds: float = 0.0

    def row(self) -> dict:
        final = self.snapshots[-1].recall
        return {"τ (start)": self.temperature, "learned τ": self.learn_temperature,
                "τ (end)": round(self.history.temperature[-1], 3), "width": self.width, "steps": self.steps,
                **{k: round(v, 3) for k, v in final.items()}, "seconds": round(self.seconds, 2)}


class CoordinationExplorer:
    """Train a two-tower contrastive model on a paired dataset and watch its shared space form, live or precomputed.

    Parameters
    ----------
    dataset : str
        A paired dataset for :func:`mmcourse.data.load_dataset` (default ``"digits"``: image and audio).
    temperature, learn_temperature, width, steps
        Defaults of a run (see :class:`~mmcourse.representation.ContrastiveModel`).
    dim, batch_size, lr : int, int, float
        The shared space's size and the optimiser's settings of every run.
    per_class : int
        Held-out pairs per class drawn in the shared-space panel; half as many (rounded up) enter the matrix.
    snapshots : int
        How many snapshots a run keeps (see :func:`snapshot_steps`).
    seed : int
        Every run starts from this seed.
    device : str, optional
        Defaults to :func:`mmcourse.get_device`.

    Examples
    --------
    >>> explorer = CoordinationExplorer(steps=20)
    >>> run = explorer.train()
    >>> [s.step for s in run.snapshots][-1], run.snapshots[-1].z1.shape
    (20, (30, 16))
    """

    def __init__(self, dataset: str = "digits", *, temperature: float = 0.2, learn_temperature: bool = False,
                 width: int = 32, steps: int = 100, dim: int = 16, batch_size: int = 128, lr: float = 1e-2,
                 per_class: int = 3, snapshots: int = 9, seed: int = 0, device: str | None = None):
        where = "CoordinationExplorer"
        temperature = check_number(where, "temperature", temperature, low=0, low_open=True)
        width, dim = check_int(where, "width", width, low=1), check_int(where, "dim", dim, low=1)
        batch_size = check_int(where, "batch_size", batch_size, low=2)
        lr = check_number(where, "lr", lr, low=0, low_open=True)
        seed = check_int(where, "seed", seed, low=0)
        data = load_dataset(dataset)  # raises for an unknown name
        self.modalities = modality_columns(data["train"])
        if len(self.modalities) != 2:
            raise ValueError(f"CoordinationExplorer: dataset {dataset!r} must have two modalities, got "
                             f"{self.modalities}")
        if isinstance(per_class, bool) or not isinstance(per_class, int) or per_class < 1:
            raise ValueError(f"CoordinationExplorer: per_class must be a positive integer, got {per_class!r}")
        self.dataset = dataset
        self.defaults = dict(temperature=temperature, learn_temperature=learn_temperature, width=width, steps=steps)
        self.dim, self.batch_size, self.lr, self.seed = dim, batch_size, lr, seed
        self.snapshot_count = snapshots
        snapshot_steps(steps, snapshots)  # checks both
        self.device = get_device(device)
        (self.x1, self.x2), _ = as_tensors(data["train"])
        (self.t1, self.t2), self.test_labels = as_tensors(data["test"])
        labels = self.test_labels.numpy()
        classes = np.unique(labels)
        # The first pairs of each class in the test split, grouped by class: the same ones in every run.
        self.points = np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in classes])
        self.matrix = np.concatenate([np.flatnonzero(labels == c)[:(per_class + 1) // 2] for c in classes])
        self.runs: list[CoordinationRun] = []

    def _snapshot(self, model: ContrastiveModel, step: int, test: tuple[torch.Tensor, torch.Tensor]) -> Snapshot:
        was_training = model.training
        model.eval()
        with torch.no_grad():
            z1, z2 = (z.cpu() for z in model(*test))
        model.train(was_training)
        s = similarity_matrix(z1, z2).numpy()
        recall = {}
        for direction in ("x_to_y", "y_to_x"):
            recall[f"{direction} R@1"] = recall_at_k(s, 1, direction=direction)
        for direction in ("x_to_y", "y_to_x"):
            recall[f"{direction} class R@1"] = recall_at_k(s, 1, direction=direction, labels=self.test_labels)
        return Snapshot(step, z1[self.points].numpy(), z2[self.points].numpy(),
                        s[np.ix_(self.matrix, self.matrix)], recall)

    def train(self, *, temperature: float | None = None, learn_temperature: bool | None = None,
              width: int | None = None, steps: int | None = None, callback=None) -> CoordinationRun:
        """Train one model from the seed, photographing it at :func:`snapshot_steps`; the run joins :attr:`runs`.

        ``callback(step, history, snapshot)`` is called after every step (``snapshot`` is ``None`` between
        snapshots); the live UI redraws there.
        """
        settings = dict(self.defaults)
        given = dict(temperature=temperature, learn_temperature=learn_temperature, width=width, steps=steps)
        settings.update({k: v for k, v in given.items() if v is not None})
        at = set(snapshot_steps(settings["steps"], self.snapshot_count))
        start = time.perf_counter()
        set_seed(self.seed)
        model = ContrastiveModel([self.x1[0], self.x2[0]], dim=self.dim, width=settings["width"],
                                 temperature=settings["temperature"],
                                 learn_temperature=settings["learn_temperature"]).to(self.device)
        test = (self.t1.to(self.device), self.t2.to(self.device))  # moved once, photographed many times
        snapshots = [self._snapshot(model, 0, test)]

        def on_step(step, history):
            snapshot = None
            if step in at:
                snapshot = self._snapshot(model, step, test)
                snapshots.append(snapshot)
            if callback is not None:
                callback(step, history, snapshot)

        history = fit_contrastive(model, (self.x1, self.x2), steps=settings["steps"], batch_size=self.batch_size,
                                  lr=self.lr, device=self.device, progress=False, callback=on_step)
        with torch.no_grad():
            s = similarity_matrix(*model(*test)).cpu()
        retrieval = retrieval_table(s, ks=(1, 5), labels=self.test_labels, names=tuple(self.modalities))
        run = CoordinationRun(settings["temperature"], settings["learn_temperature"], settings["width"],
                              settings["steps"], history, snapshots, retrieval, time.perf_counter() - start)
        self.runs.append(run)
        return run

    def table(self) -> pd.DataFrame:
        """Every run so far, one row each: settings, final held-out recall@1 and seconds."""
        return pd.DataFrame([r.row() for r in self.runs])

    def default_run(self) -> CoordinationRun:
        """The latest run with the default settings, trained first if there is none."""
        for run in reversed(self.runs):
            if (run.temperature, run.learn_temperature, run.width, run.steps) == tuple(self.defaults.values()):
                return run
        return self.train()

    # ------------------------------------------------------------------ shared drawing
    @staticmethod
    def project(snapshot: Snapshot, previous: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The snapshot's drawn pairs in 2-D: ``(xy1, xy2, basis)``. The basis is the top two right singular
        vectors of both modalities' (uncentred) embeddings; their signs follow ``previous`` so frames do not flip."""
        z = np.concatenate([snapshot.z1, snapshot.z2])
        basis = np.linalg.svd(z, full_matrices=False)[2][:2]
        if previous is not None:
            basis *= np.where(np.sum(basis * previous, axis=1) < 0, -1.0, 1.0)[:, None]
        return snapshot.z1 @ basis.T, snapshot.z2 @ basis.T, basis

    def _frame_traces(self, snapshot: Snapshot, xy1, xy2, run: CoordinationRun, visible: bool = True) -> list:
        labels = self.test_labels[self.points].tolist()
        colors = [COLORS[k % len(COLORS)] for k in labels]
        link_x, link_y = [], []
        for (a, b), (c, d) in zip(np.round(xy1, DIGITS).tolist(), np.round(xy2, DIGITS).tolist()):
            link_x += [a, c, None]
            link_y += [b, d, None]
        names = self.modalities
        loss = run.history.loss[snapshot.step - 1] if snapshot.step else None
        return [
            go.Scatter(x=link_x, y=link_y, mode="lines", line=dict(color="#bbbbbb", width=1), hoverinfo="skip",
                       showlegend=False, visible=visible, xaxis="x", yaxis="y"),
            *[go.Scatter(x=np.round(xy[:, 0], DIGITS).tolist(), y=np.round(xy[:, 1], DIGITS).tolist(),
                         mode="markers", name=name, showlegend=False, visible=visible, text=labels,
                         hovertemplate=f"{name}, class %{{text}}<extra></extra>", xaxis="x", yaxis="y",
                         marker=dict(color=colors, symbol=symbol, size=9, line=dict(color="white", width=1)))
              for xy, name, symbol in ((xy1, names[0], "circle"), (xy2, names[1], "diamond"))],
            go.Heatmap(z=np.round(snapshot.similarity, DIGITS).tolist(), coloraxis="coloraxis", visible=visible,
                       hovertemplate=f"{names[0]} %{{y}}, {names[1]} %{{x}}<br>cos %{{z:.2f}}<extra></extra>",
                       xaxis="x2", yaxis="y2"),
            go.Scatter(x=[max(snapshot.step, 1)], y=[round(loss, DIGITS) if loss is not None else None],
                       mode="markers", marker=dict(color="black", size=10), showlegend=False, visible=visible,
                       hoverinfo="skip", xaxis="x3", yaxis="y3"),
            go.Scatter(x=[snapshot.step] * 2, y=[0, 1], mode="lines", line=dict(color="black", dash="dot"),
                       showlegend=False, visible=visible, hoverinfo="skip", xaxis="x4", yaxis="y4"),
        ]

    def _base_figure(self, run: CoordinationRun) -> go.Figure:
        """The panels, the unit circle, and the curves of the whole run (the loss and the recall at snapshots)."""
        fig = make_subplots(rows=2, cols=2, row_heights=[0.68, 0.32], vertical_spacing=0.14,
                            horizontal_spacing=0.12,
                            subplot_titles=["shared space (2 main directions)", "cosine similarity, held-out pairs",
                                            "training loss per step", "held-out recall@1"])
        theta = np.linspace(0, 2 * np.pi, 61)
        fig.add_scatter(x=np.round(np.cos(theta), DIGITS).tolist(), y=np.round(np.sin(theta), DIGITS).tolist(),
                        mode="lines", line=dict(color="#dddddd", width=1), hoverinfo="skip", showlegend=False,
                        row=1, col=1)
        fig.add_scatter(x=list(range(1, run.steps + 1)), y=np.round(run.history.loss, DIGITS).tolist(),
                        mode="lines", line=dict(color=COLORS[0]), showlegend=False, name="loss", row=2, col=1)
        steps = [s.step for s in run.snapshots]
        a, b = self.modalities
        for i, (key, label) in enumerate(zip(RECALLS, [f"{a} → {b}", f"{b} → {a}", f"{a} → {b} (class)",
                                                       f"{b} → {a} (class)"])):
            fig.add_scatter(x=steps, y=[round(s.recall[key], DIGITS) for s in run.snapshots], mode="lines+markers",
                            name=label, line=dict(color=COLORS[2 + i // 2],
                                                                        dash="dot" if i % 2 else None),
                            row=2, col=2)
        for name, symbol in ((a, "circle"), (b, "diamond")):  # grey legend keys: the colours are the classes
            fig.add_scatter(x=[None], y=[None], mode="markers", name=name, marker=dict(color="#888888", symbol=symbol,
                                                                                      size=9), row=1, col=1)
        n = len(self.matrix)
        fig.update_layout(
            template="plotly_white", height=720, margin=dict(t=130, l=50, r=20, b=40),
            legend=dict(orientation="h", y=1.05, yanchor="bottom", x=0, font=dict(size=11)),
            coloraxis=dict(colorscale="RdBu", reversescale=True, cmin=-1, cmax=1,
                           colorbar=dict(title="cos", len=0.55, y=0.72, thickness=12)))
        fig.update_xaxes(range=[-1.1, 1.1], constrain="domain", row=1, col=1)
        fig.update_yaxes(range=[-1.1, 1.1], scaleanchor="x", row=1, col=1)
        # One tick per class, at the middle of its block of pairs.
        classes = self.test_labels[self.matrix].numpy()
        starts = np.flatnonzero(np.r_[True, classes[1:] != classes[:-1]])
        middles = ((starts + np.r_[starts[1:], n] - 1) / 2).tolist()
        ticks = dict(tickvals=middles, ticktext=[str(c) for c in classes[starts]], showgrid=False)
        fig.update_xaxes(title=f"{b}, by class", range=[-0.5, n - 0.5], row=1, col=2, **ticks)
        fig.update_yaxes(title=f"{a}, by class", range=[n - 0.5, -0.5], row=1, col=2, **ticks)
        fig.update_xaxes(title="step", type="log", row=2, col=1)
        fig.update_xaxes(title="step", row=2, col=2)
        fig.update_yaxes(range=[0, 1.02], row=2, col=2)
        return fig

    # ------------------------------------------------------------------ the website's face
    def static_figure(self) -> go.Figure:
        """One precomputed run with the default settings; the slider steps through its snapshots.

        Traces: the unit circle, the loss curve, four recall curves and two legend keys (always shown), then six
        per snapshot
        (pair links, modality 1, modality 2, similarity heatmap, loss marker, step marker), in the slider's order.
        It starts on the last snapshot.
        """
        run = self.default_run()
        fig = self._base_figure(run)
        fixed = len(fig.data)
        previous, last = None, len(run.snapshots) - 1
        for k, snapshot in enumerate(run.snapshots):
            xy1, xy2, previous = self.project(snapshot, previous)
            fig.add_traces(self._frame_traces(snapshot, xy1, xy2, run, visible=k == last))
        per = (len(fig.data) - fixed) // len(run.snapshots)
        steps = []
        for k, snapshot in enumerate(run.snapshots):
            visible = [True] * fixed + [i // per == k for i in range(len(fig.data) - fixed)]
            steps.append(dict(method="update", label=str(snapshot.step),
                              args=[{"visible": visible}, {"title.text": self._title(run, snapshot)}]))
        fig.update_layout(title=dict(text=self._title(run, run.snapshots[-1]), x=0, xanchor="left", y=0.985,
                                     font=dict(size=13)),
                          sliders=[dict(steps=steps, active=last, x=0.0, len=1.0, y=-0.1, yanchor="top",
                                        currentvalue=dict(prefix="training step: ", font=dict(size=13)))],
                          height=820, margin=dict(b=120))
        return fig

    def _title(self, run: CoordinationRun, snapshot: Snapshot) -> str:
        r = snapshot.recall
        a, b = self.modalities
        return (f"step {snapshot.step} of {run.steps}, τ = {run.temperature:g}<br>held-out recall@1: "
                f"{a}→{b} {r['x_to_y R@1']:.2f} (class {r['x_to_y class R@1']:.2f}), "
                f"{b}→{a} {r['y_to_x R@1']:.2f} (class {r['y_to_x class R@1']:.2f})")

    # ------------------------------------------------------------------ the live face
    def live(self):
        """The ipywidgets UI: τ, learned or not, width and steps; a Train button; the four panels, redrawn while
        the model trains; and the table of runs."""
        import ipywidgets as w

        d = self.defaults
        temperature = w.FloatLogSlider(value=d["temperature"], base=10, min=-2, max=0, step=0.05,
                                       description="τ", readout_format=".3g", continuous_update=False)
        learn = w.Checkbox(value=d["learn_temperature"], description="learn τ")
        width = w.IntSlider(value=d["width"], min=4, max=128, description="width", continuous_update=False)
        steps = w.IntSlider(value=d["steps"], min=10, max=500, step=10, description="steps",
                            continuous_update=False)
        button = w.Button(description="Train", button_style="primary", icon="play")
        status, table = w.HTML(), w.HTML()
        run = self.runs[-1] if self.runs else self.train()
        figure = go.FigureWidget(self._base_figure(run))
        fixed = len(figure.data)
        snapshot = run.snapshots[-1]
        xy1, xy2, basis = self.project(snapshot)
        figure.add_traces(self._frame_traces(snapshot, xy1, xy2, run))
        figure.layout.title = dict(text=self._title(run, snapshot), x=0, font=dict(size=13))
        state = {"basis": basis, "drawn": 0.0, "steps": d["steps"]}

        def draw(step, history, snapshot):
            xy1, xy2, state["basis"] = self.project(snapshot, state["basis"])
            a, b = self.modalities
            frame = self._frame_traces(snapshot, xy1, xy2, _Partial(history, state["steps"]))
            with figure.batch_update():
                for trace, new in zip(figure.data[fixed:], frame):
                    trace.x, trace.y = new.x, new.y
                    if new.type == "heatmap":
                        trace.z = new.z
                figure.data[1].x = list(range(1, history.steps + 1))
                figure.data[1].y = history.loss
                figure.layout.title.text = (f"step {step} of {state['steps']}: held-out recall@1 "
                                            f"{a}→{b} {snapshot.recall['x_to_y R@1']:.2f}, "
                                            f"{b}→{a} {snapshot.recall['y_to_x R@1']:.2f}")

        curve: dict[str, list] = {}

        def on_step(step, history, snapshot):
            if snapshot is None:
                return
            curve.setdefault("steps", []).append(step)
            for key in RECALLS:
                curve.setdefault(key, []).append(snapshot.recall[key])
            # Redraw at most ten times a second, and at the last step: each redraw is a message to the browser.
            if step < state["steps"] and time.perf_counter() - state["drawn"] < 0.1:
                return
            state["drawn"] = time.perf_counter()
            draw(step, history, snapshot)
            with figure.batch_update():
                for i, key in enumerate(RECALLS):
                    figure.data[2 + i].x, figure.data[2 + i].y = curve["steps"], curve[key]

        def on_train(_=None):
            button.disabled = True
            state["steps"] = steps.value
            curve.clear()
            status.value = f"training on {self.device.type}…"
            try:
                new = self.train(temperature=temperature.value, learn_temperature=learn.value, width=width.value,
                                 steps=steps.value, callback=on_step)
            finally:
                button.disabled = False
            with figure.batch_update():
                for i, key in enumerate(RECALLS):
                    figure.data[2 + i].x = [s.step for s in new.snapshots]
                    figure.data[2 + i].y = [s.recall[key] for s in new.snapshots]
                figure.layout.title.text = self._title(new, new.snapshots[-1])
            status.value = (f"trained in {new.seconds:.2f} s; τ at the end {new.history.temperature[-1]:.3f}")
            table.value = self.table().to_html(index=False)

        button.on_click(on_train)
        table.value = self.table().to_html(index=False)
        ui = w.VBox([w.HBox([w.VBox([temperature, learn]), w.VBox([width, steps]), w.VBox([button, status])]),
                     figure, table])
        ui.train = on_train  # lets tests and scripts press the button
        return ui

    def show(self):
        """Display the live UI in Jupyter or Colab, and the precomputed figure when the website is built."""
        from IPython.display import display

        display(self.static_figure() if is_static_build() else self.live())


@dataclass
class _Partial:
    """What :meth:`CoordinationExplorer._frame_traces` reads from a run, while the run is still training."""

    history: ContrastiveHistory
    steps: int
