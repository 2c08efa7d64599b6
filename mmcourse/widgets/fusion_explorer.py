"""The fusion explorer of Part 2.1: switch the fusion, the dataset, the width, the rank and the epochs, and watch.

Two faces from the same code. :meth:`FusionExplorer.live` is an ipywidgets UI for Jupyter and Colab that trains on
the spot (on the GPU when there is one), redraws the curves while it trains, draws what the model predicts, and keeps
a table of every run. :meth:`FusionExplorer.static_figure` is what the website shows: a plotly figure whose two
dropdowns switch between precomputed runs of every fusion on every dataset, drawn without a kernel.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from mmcourse.data import as_tensors, load_dataset
from mmcourse.representation import FUSIONS, FusionModel, parameter_count
from mmcourse.training import History, fit, predict
from mmcourse.utils import check_positive, get_device, set_seed
from mmcourse.viz import COLORS, is_static_build

__all__ = ["FusionExplorer", "Run", "EXPLORER_DATASETS"]

EXPLORER_DATASETS = ("redundancy", "uniqueness1", "uniqueness2", "synergy", "mixed", "digits")
# The two latent scores (columns of `latent` = [s1, s2, sc]) that decide each interaction dataset's label.
PLANES = {"redundancy": (2, 0), "uniqueness1": (0, 1), "uniqueness2": (0, 1), "synergy": (0, 1), "mixed": (0, 1)}
AXIS_NAMES = ("s₁ = w₁·z₁", "s₂ = w₂·z₂", "s_c = w_c·z_c")
PLANE_POINTS = 250  # test points drawn per panel: enough to see the regions, small enough for a light page


@dataclass
class Run:
    """One training run of the explorer: its settings, its curves, its score and what it predicts."""

    fusion: str
    dataset: str
    width: int
    rank: int
    epochs: int
    history: History
    test_acc: float
    seconds: float
    parameters: int
    plane: dict = field(repr=False)  # x, y, label, prediction (lists) and the axis titles

    def row(self) -> dict:
        return {"fusion": self.fusion, "dataset": self.dataset, "width": self.width,
                "rank": self.rank if FUSIONS[self.fusion].uses_rank else None, "epochs": self.epochs,
                "parameters": self.parameters, "test accuracy": round(self.test_acc, 3),
                "seconds": round(self.seconds, 2)}


class FusionExplorer:
    """Train fusion models on the book's datasets and compare them, live or from precomputed runs.

    Parameters
    ----------
    datasets : sequence of str
        Names accepted by :func:`mmcourse.data.load_dataset` (default: the interaction datasets and digits).
    fusions : sequence of str
        Names from :data:`mmcourse.representation.FUSIONS` (default: all of them).
    width, rank, epochs : int
        Defaults for a run: the feature and fusion width, the rank of low-rank fusion, the training epochs.
    lr, batch_size : float, int
        Optimiser settings of every run.
    seed : int
        Every run starts from this seed, so a run is reproducible from its settings alone.
    device : str, optional
        Defaults to :func:`mmcourse.get_device`.

    Examples
    --------
    >>> explorer = FusionExplorer(datasets=["synergy"], fusions=["additive", "tensor"], epochs=2)
    >>> explorer.train("tensor", "synergy").test_acc > 0.4
    True
    """

    def __init__(self, datasets: Sequence[str] = EXPLORER_DATASETS, fusions: Sequence[str] = tuple(FUSIONS), *,
                 width: int = 16, rank: int = 4, epochs: int = 12, lr: float = 2e-2, batch_size: int = 256,
                 seed: int = 0, device: str | None = None):
        check_positive("FusionExplorer", width=width, rank=rank, epochs=epochs, batch_size=batch_size)
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < float("inf"):
            raise ValueError(f"FusionExplorer: lr must be a finite number > 0, got {lr!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"FusionExplorer: seed must be a non-negative integer, got {seed!r}")
        for name, names in (("datasets", datasets), ("fusions", fusions)):
            if isinstance(names, str):
                raise TypeError(f"FusionExplorer: {name} must be a sequence of names, got the string {names!r} "
                                f"(write [{names!r}])")
        unknown = [f for f in fusions if f not in FUSIONS]
        if unknown or not fusions:
            raise ValueError(f"FusionExplorer: unknown fusions {unknown}; known fusions: {', '.join(FUSIONS)}")
        if not datasets:
            raise ValueError("FusionExplorer: datasets is empty; give at least one dataset name")
        self.data = {name: load_dataset(name) for name in datasets}  # raises for an unknown name
        self.fusions, self.datasets = list(fusions), list(datasets)
        self.defaults = dict(width=width, rank=rank, epochs=epochs)
        self.lr, self.batch_size, self.seed = lr, batch_size, seed
        self.device = get_device(device)
        self.runs: list[Run] = []
        self._tensors = {name: {split: as_tensors(ds[split]) for split in ("train", "validation", "test")}
                         for name, ds in self.data.items()}

    def train(self, fusion: str, dataset: str, *, width: int | None = None, rank: int | None = None,
              epochs: int | None = None, callback=None) -> Run:
        """Train one model and record the run (also appended to :attr:`runs`).

        ``width``, ``rank`` and ``epochs`` are positive integers; ``None`` (the default) takes the explorer's own.

        ``callback(epoch, history)`` is called after every epoch (the live UI redraws its curves there).
        """
        if fusion not in FUSIONS:
            raise ValueError(f"FusionExplorer.train: unknown fusion {fusion!r}; known fusions: {', '.join(FUSIONS)}")
        if dataset not in self._tensors:
            raise ValueError(f"FusionExplorer.train: dataset {dataset!r} is not loaded; loaded: "
                             f"{', '.join(self.datasets)}")
        # None means the explorer's default; 0 is refused like any other non-positive setting.
        width = self.defaults["width"] if width is None else width
        rank = self.defaults["rank"] if rank is None else rank
        epochs = self.defaults["epochs"] if epochs is None else epochs
        check_positive("FusionExplorer.train", width=width, rank=rank, epochs=epochs)
        tensors = self._tensors[dataset]
        (x_train, y_train), (x_test, y_test) = tensors["train"], tensors["test"]
        set_seed(self.seed)
        num_classes = self.data[dataset]["train"].features["label"].num_classes
        # MLP encoders on every modality (images flattened) keep a retrain well under half a second on a CPU.
        model = FusionModel([x[0] for x in x_train], num_classes, fusion, width=width, rank=rank, encoder="mlp")
        start = time.perf_counter()
        history = fit(model, tensors["train"], tensors["validation"], epochs=epochs, lr=self.lr,
                      batch_size=self.batch_size, device=self.device, progress=False, callback=callback)
        seconds = time.perf_counter() - start
        logits = predict(model, x_test)
        test_acc = (logits.argmax(1) == y_test).float().mean().item()
        run = Run(fusion, dataset, width, rank, epochs, history, test_acc, seconds, parameter_count(model),
                  self._plane(model, dataset, x_test, y_test, logits.argmax(1)))
        self.runs.append(run)
        return run

    def _plane(self, model, dataset, x_test, y_test, pred) -> dict:
        """2-D points to draw: the two latent scores that decide the label, or else a PCA of the fused vectors."""
        keep = slice(0, PLANE_POINTS)
        if dataset in PLANES:
            latent = self.data[dataset]["test"]["latent"][keep]
            i, j = PLANES[dataset]
            xy, axes = latent[:, [i, j]].numpy(), (AXIS_NAMES[i], AXIS_NAMES[j])
        else:
            with torch.no_grad():
                model.eval()
                z = model.fused(*(x[keep].to(self.device) for x in x_test)).cpu().numpy()
            z = z - z.mean(0)
            _, _, vt = np.linalg.svd(z, full_matrices=False)
            xy, axes = z @ vt[:2].T, ("fused PC 1", "fused PC 2")
        return {"x": np.round(xy[:, 0], 3).tolist(), "y": np.round(xy[:, 1], 3).tolist(),
                "label": y_test[keep].tolist(), "prediction": pred[keep].tolist(), "axes": axes}

    def run_all(self) -> pd.DataFrame:
        """Train every fusion on every dataset with the default settings; returns the test-accuracy table."""
        done = {(r.fusion, r.dataset) for r in self.runs if self._is_default(r)}
        for dataset in self.datasets:
            for fusion in self.fusions:
                if (fusion, dataset) not in done:
                    self.train(fusion, dataset)
        return self.accuracy_table()

    def _is_default(self, run: Run) -> bool:
        return (run.width, run.epochs) == (self.defaults["width"], self.defaults["epochs"]) and (
            run.rank == self.defaults["rank"] or not FUSIONS[run.fusion].uses_rank)

    def _default_runs(self) -> dict[tuple[str, str], Run]:
        return {(r.fusion, r.dataset): r for r in self.runs if self._is_default(r)}

    def accuracy_table(self) -> pd.DataFrame:
        """Test accuracy of the default-setting runs: one row per fusion, one column per dataset."""
        runs = self._default_runs()
        return pd.DataFrame({d: {f: runs[f, d].test_acc for f in self.fusions if (f, d) in runs}
                             for d in self.datasets}).reindex(self.fusions)

    def table(self) -> pd.DataFrame:
        """Every run so far, one row each, in order."""
        return pd.DataFrame([r.row() for r in self.runs])

    # ------------------------------------------------------------------ the website's face
    def static_figure(self) -> go.Figure:
        """The precomputed comparison: a dataset dropdown drives the top row (validation curves of every fusion,
        test accuracy bars), a fusion dropdown drives the rows below (what that fusion predicts on each dataset).

        Runs missing from :attr:`runs` are trained first (:meth:`run_all`).
        """
        self.run_all()
        runs = self._default_runs()
        # A 6-column grid: the curves and the bars share the top row; the prediction panels go three to a row.
        plane_rows = -(-len(self.datasets) // 3)
        specs = [[{"colspan": 3}, None, None, {"colspan": 3}, None, None]]
        specs += [sum(([{"colspan": 2}, None] for _ in range(3)), []) for _ in range(plane_rows)]
        titles = ["validation accuracy per epoch", "test accuracy"] + self.datasets
        fig = make_subplots(rows=1 + plane_rows, cols=6, specs=specs, subplot_titles=titles,
                            row_heights=[1.3] + [1] * plane_rows, vertical_spacing=0.3 / (1 + plane_rows),
                            horizontal_spacing=0.06)
        top, bottom = [], []
        for d, dataset in enumerate(self.datasets):
            for f, fusion in enumerate(self.fusions):
                acc = runs[fusion, dataset].history.val_acc
                fig.add_scatter(x=list(range(1, len(acc) + 1)), y=np.round(acc, 3).tolist(), mode="lines",
                                name=fusion, showlegend=False, visible=d == 0,
                                line=dict(color=COLORS[f % len(COLORS)], dash="dash" if f >= len(COLORS) else None),
                                row=1, col=1)
                top.append(dataset)
            fig.add_bar(x=self.fusions, y=[round(runs[f, dataset].test_acc, 3) for f in self.fusions],
                        marker_color=[COLORS[f % len(COLORS)] for f in range(len(self.fusions))], showlegend=False,
                        visible=d == 0, row=1, col=4)
            top.append(dataset)
        for fusion in self.fusions:
            for d, dataset in enumerate(self.datasets):
                plane = runs[fusion, dataset].plane
                right = [p == t for p, t in zip(plane["prediction"], plane["label"])]
                fig.add_scatter(x=plane["x"], y=plane["y"], mode="markers", showlegend=False,
                                visible=fusion == self.fusions[0], hovertemplate="label %{text}<extra></extra>",
                                text=plane["label"], marker=dict(
                                    size=4, color=[COLORS[k % len(COLORS)] for k in plane["prediction"]],
                                    symbol=["circle" if ok else "x" for ok in right], opacity=0.75),
                                row=2 + d // 3, col=1 + 2 * (d % 3))
                bottom.append(fusion)
        offset = len(top)
        top_idx, bottom_idx = list(range(offset)), list(range(offset, offset + len(bottom)))
        menus = [
            dict(buttons=[dict(label=f"dataset: {d}", method="restyle",
                               args=[{"visible": [t == d for t in top]}, top_idx]) for d in self.datasets],
                 x=0.0, y=1.0, xanchor="left", yanchor="bottom", pad=dict(b=28)),
            dict(buttons=[dict(label=f"fusion: {f}", method="restyle",
                               args=[{"visible": [b == f for b in bottom]}, bottom_idx]) for f in self.fusions],
                 x=0.0, y=fig.layout.yaxis3.domain[1], xanchor="left", yanchor="bottom", pad=dict(b=22)),
        ]
        # Line and bar colours name the fusion; point colours are predicted classes, crosses wrong predictions.
        fig.update_layout(updatemenus=menus, template="plotly_white", height=340 + 280 * plane_rows,
                          margin=dict(t=70, l=40, r=10, b=30))
        fig.update_yaxes(range=[0, 1.02], row=1)
        fig.update_xaxes(tickangle=-60, tickfont=dict(size=10), row=1, col=4)
        return fig

    # ------------------------------------------------------------------ the live face
    def live(self):
        """The ipywidgets UI: controls, a Train button, live curves, the prediction view and the table of runs."""
        import ipywidgets as w

        fusion = w.Dropdown(options=self.fusions, value="tensor" if "tensor" in self.fusions else self.fusions[0],
                            description="fusion")
        dataset = w.Dropdown(options=self.datasets, description="dataset")
        width = w.IntSlider(value=self.defaults["width"], min=2, max=64, description="width")
        rank = w.IntSlider(value=self.defaults["rank"], min=1, max=16, description="rank")
        epochs = w.IntSlider(value=self.defaults["epochs"], min=1, max=60, description="epochs")
        button = w.Button(description="Train", button_style="primary", icon="play")
        status = w.HTML()
        curves = go.FigureWidget(layout=dict(template="plotly_white", height=300, width=470, margin=dict(t=40, l=40, r=10),
                                             title="accuracy per epoch", xaxis_title="epoch", yaxis_range=[0, 1.02],
                                             legend=dict(orientation="h", y=-0.25, font=dict(size=10))))
        plane = go.FigureWidget(layout=dict(template="plotly_white", height=300, width=360, margin=dict(t=40, l=40, r=10),
                                            title="predictions on test points (× wrong)"))
        table = w.HTML()

        def sync_rank(_=None):
            rank.disabled = not FUSIONS[fusion.value].uses_rank

        state = {"drawn": 0.0, "epochs": 0}

        def on_epoch(epoch, history):
            # Redraw at most ten times a second, and after the last epoch: each redraw is a message to the browser,
            # and drawing every epoch of a fast model would cost more than the training itself.
            if epoch + 1 < state["epochs"] and time.perf_counter() - state["drawn"] < 0.1:
                return
            state["drawn"] = time.perf_counter()
            with curves.batch_update():
                curves.data[-2].x = curves.data[-1].x = list(range(1, epoch + 2))
                curves.data[-2].y, curves.data[-1].y = history.train_acc, history.val_acc

        def on_train(_=None):
            button.disabled = True
            state["epochs"] = epochs.value
            status.value = f"training {fusion.value} on {dataset.value} on {self.device.type}…"
            label = f"{fusion.value}/{dataset.value}"
            curves.add_scatter(mode="lines", name=f"{label} train", line=dict(dash="dot"))
            curves.add_scatter(mode="lines", name=f"{label} validation")
            try:
                run = self.train(fusion.value, dataset.value, width=width.value, rank=rank.value,
                                 epochs=epochs.value, callback=on_epoch)
            finally:
                button.disabled = False
            right = [p == t for p, t in zip(run.plane["prediction"], run.plane["label"])]
            with plane.batch_update():
                plane.data = []
                plane.add_scatter(x=run.plane["x"], y=run.plane["y"], mode="markers", marker=dict(
                    size=5, color=[COLORS[k % len(COLORS)] for k in run.plane["prediction"]],
                    symbol=["circle" if ok else "x" for ok in right]))
                plane.layout.xaxis.title, plane.layout.yaxis.title = run.plane["axes"]
            status.value = (f"<b>{label}</b>: test accuracy {run.test_acc:.3f} in {run.seconds:.2f} s, "
                            f"{run.parameters} parameters")
            table.value = self.table().to_html(index=False)

        fusion.observe(sync_rank, "value")
        button.on_click(on_train)
        sync_rank()
        ui = w.VBox([w.HBox([w.VBox([fusion, dataset]), w.VBox([width, rank, epochs]), w.VBox([button, status])]),
                     w.HBox([curves, plane]), table])
        ui.train = on_train  # lets tests and scripts press the button
        return ui

    def show(self):
        """Display the live UI in Jupyter or Colab, and the precomputed figure when the website is built."""
        from IPython.display import display

        display(self.static_figure() if is_static_build() else self.live())
