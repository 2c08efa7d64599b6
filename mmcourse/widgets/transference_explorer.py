"""The transference explorer of Part 6: how much a target with few labels gains from what other modalities and
tasks already know, and what its learned representation looks like.

Two faces from the same code. :meth:`TransferenceExplorer.live` is an ipywidgets UI for Jupyter and Colab: choose a
method and the number of labelled target examples; the model retrains on the spot and the figure redraws: on the
left every method's accuracy against the number of labels, on the right the test examples in the first two
principal components of the representation just learned, coloured by their true class.
:meth:`TransferenceExplorer.static_figure` is what the website shows: the same figure with a dropdown over the
methods and a slider over precomputed numbers of labels, drawn without a kernel.

A method is any callable ``train(n) -> TransferRun``: it trains on ``n`` labelled target examples (whatever else it
may use: unlabelled pairs, a pretrained encoder, the other modality in training) and returns its test accuracy and
the test examples' features. :func:`digits_transference_methods` builds the book's methods on the digits pair.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from mmcourse._checks import check_int
from mmcourse.viz import COLORS, is_static_build

__all__ = ["TransferenceExplorer", "TransferRun", "principal_plane", "digits_transference_methods",
           "EXPLORER_COUNTS"]

EXPLORER_COUNTS = (10, 20, 50, 100, 200, 500)
"""The numbers of labelled audio examples that the book's explorer precomputes."""


@dataclass(frozen=True)
class TransferRun:
    """What one training leaves for the explorer: test ``accuracy``, test ``features`` (N, d) and the test examples'
    true ``labels`` (N,)."""

    accuracy: float
    features: np.ndarray
    labels: np.ndarray


def principal_plane(features) -> np.ndarray:
    """The rows of ``features`` (N, d) in their first two principal components, (N, 2).

    Each component's sign is fixed so that its largest loading is positive, so that two runs that learn the same
    representation draw the same picture. A representation of one dimension gets a zero second coordinate.

    Examples
    --------
    >>> x = np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 0.0], [2.0, 1.0], [2.0, -1.0]])
    >>> principal_plane(x).round(3) + 0.0  # (+ 0.0 turns -0.0 into 0.0)
    array([[-2.,  0.],
           [ 0.,  0.],
           [ 2.,  0.],
           [ 0.,  1.],
           [ 0., -1.]])
    """
    x = np.asarray(features, dtype=float)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"principal_plane: features must be a 2-D array with at least 2 rows, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("principal_plane: features contain NaN or infinite values")
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    components = vt[:2]
    signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
    plane = x @ (components * signs[:, None]).T
    return plane if plane.shape[1] == 2 else np.column_stack([plane, np.zeros(len(plane))])


class TransferenceExplorer:
    """Explore transference methods against the number of labelled target examples. Book section: Part 6.5.

    Parameters
    ----------
    methods : mapping of str to callable
        ``name → train``, where ``train(n)`` trains with ``n`` labelled target examples and returns a
        :class:`TransferRun`. The same ``n`` must give the same run (seed it inside).
    counts : sequence of int
        The numbers of labelled examples that the curves and the static figure's slider precompute.

    Examples
    --------
    >>> def fake(n):  # accuracy grows with n; features are the labels plus noise
    ...     labels = np.arange(20) % 4
    ...     return TransferRun(min(1.0, 0.25 + n / 100), labels[:, None] + 0.1 * np.arange(20)[:, None] % 1, labels)
    >>> explorer = TransferenceExplorer({"fake": fake}, counts=[10, 50])
    >>> round(explorer.run("fake", 50).accuracy, 2)
    0.75
    >>> explorer.curves()
    {'fake': [0.35, 0.75]}
    """

    def __init__(self, methods: Mapping[str, Callable[[int], TransferRun]], counts: Sequence[int]):
        methods = dict(methods)
        if not methods:
            raise ValueError("TransferenceExplorer: methods must name at least one training function")
        not_callable = [name for name, train in methods.items() if not callable(train)]
        if not_callable:
            raise ValueError(f"TransferenceExplorer: every method must be a callable train(n), got non-callables for "
                             f"{not_callable}")
        counts = list(counts)
        bad = [n for n in counts if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1]
        if bad or not counts:
            raise ValueError(f"TransferenceExplorer: counts must be positive integers, got {bad or '[]'}")
        if len(set(counts)) != len(counts):
            raise ValueError(f"TransferenceExplorer: counts must not repeat, got {counts}")
        self.methods, self.counts = methods, sorted(int(n) for n in counts)
        self._runs: dict[tuple[str, int], TransferRun] = {}

    def run(self, method: str, n: int) -> TransferRun:
        """Train ``method`` with ``n`` labelled examples (once: runs are kept) and return its run."""
        if method not in self.methods:
            raise ValueError(f"TransferenceExplorer.run: method must be one of {list(self.methods)}, got {method!r}")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"TransferenceExplorer.run: n must be a positive integer, got {n!r}")
        key = (method, int(n))
        if key not in self._runs:
            run = self.methods[method](int(n))
            if not isinstance(run, TransferRun):
                raise TypeError(f"TransferenceExplorer.run: method {method!r} must return a TransferRun, got "
                                f"{type(run).__name__}")
            self._runs[key] = run
        return self._runs[key]

    def curves(self) -> dict[str, list[float]]:
        """Every method's test accuracy at each of ``counts`` (trained on first use)."""
        return {m: [round(float(self.run(m, n).accuracy), 4) for n in self.counts] for m in self.methods}

    def _scatter(self, run: TransferRun) -> tuple[list[np.ndarray], list[np.ndarray]]:
        xy = np.round(principal_plane(run.features), 3)
        labels = np.asarray(run.labels)
        classes = self._classes(labels)
        return [xy[labels == k, 0] for k in classes], [xy[labels == k, 1] for k in classes]

    @staticmethod
    def _classes(labels) -> list[int]:
        return sorted(int(k) for k in np.unique(np.asarray(labels)))

    @staticmethod
    def _title(method: str, n: int, run: TransferRun) -> str:
        return f"{method}, {n} labelled examples: test accuracy {run.accuracy:.3f}"

    def _figure(self, method: str, n: int) -> go.Figure:
        """The figure for one (method, n), with every method's curve: the live UI's start and the static base."""
        curves, run = self.curves(), self.run(method, n)
        fig = make_subplots(rows=1, cols=2, column_widths=[0.45, 0.55], horizontal_spacing=0.1,
                            subplot_titles=["accuracy against labelled examples",
                                            "test examples in the representation (first two PCs)"])
        for c, (name, accuracies) in enumerate(curves.items()):
            fig.add_scatter(x=self.counts, y=accuracies, mode="lines+markers", name=name, legendgroup="methods",
                            line=dict(color=COLORS[c % len(COLORS)]), row=1, col=1)
        fig.add_scatter(x=[n], y=[run.accuracy], mode="markers", showlegend=False, hoverinfo="skip",
                        marker=dict(size=16, color="rgba(0,0,0,0)", line=dict(width=2, color="black")), row=1, col=1)
        xs, ys = self._scatter(run)
        for k, x, y in zip(self._classes(run.labels), xs, ys):
            fig.add_scatter(x=x, y=y, mode="markers", name=f"class {k}", legendgroup="classes",
                            marker=dict(size=5, opacity=0.7, color=COLORS[k % len(COLORS)]), row=1, col=2)
        fig.update_xaxes(type="log", title="labelled target examples", row=1, col=1)
        fig.update_yaxes(title="test accuracy", range=[0, 1.02], row=1, col=1)
        fig.update_xaxes(title="PC 1", row=1, col=2)
        fig.update_yaxes(title="PC 2", row=1, col=2)
        fig.update_layout(template="plotly_white", height=440, title=dict(text=self._title(method, n, run), x=0.0),
                          margin=dict(t=110, l=50, r=20, b=110), legend=dict(font=dict(size=10)))
        return fig

    def static_figure(self) -> go.Figure:
        """The website's face: a dropdown over the methods and, for each, a slider over ``counts``; every run is
        precomputed. Only the marker, the scatter and the title change; the curves are drawn once."""
        method0 = next(iter(self.methods))
        fig = self._figure(method0, self.counts[0])
        classes = self._classes(self.run(method0, self.counts[0]).labels)
        marker = len(self.methods)  # the traces: one curve per method, the marker, then one scatter per class
        changing = list(range(marker, marker + 1 + len(classes)))
        sliders, buttons = [], []
        for m, method in enumerate(self.methods):
            steps = []
            for n in self.counts:
                run = self.run(method, n)
                if self._classes(run.labels) != classes:
                    raise ValueError(f"TransferenceExplorer.static_figure: every run must label the same classes; "
                                     f"{method!r} at n={n} has {self._classes(run.labels)}, expected {classes}")
                xs, ys = self._scatter(run)
                steps.append(dict(method="update", label=str(n),
                                  args=[{"x": [[n], *xs], "y": [[run.accuracy], *ys]},
                                        {"title.text": self._title(method, n, run)}, changing]))
            sliders.append(dict(steps=steps, active=0, visible=m == 0, x=0.0, len=1.0, y=-0.12, yanchor="top",
                                currentvalue=dict(prefix="labelled examples: ", font=dict(size=12)), pad=dict(t=10)))
            data, layout, _ = steps[0]["args"]
            relayout = {**layout, f"sliders[{m}].active": 0,
                        **{f"sliders[{j}].visible": j == m for j in range(len(self.methods))}}
            buttons.append(dict(label=method, method="update", args=[data, relayout, changing]))
        fig.update_layout(sliders=sliders, updatemenus=[dict(buttons=buttons, x=1.0, y=1.28, xanchor="right",
                                                             yanchor="bottom")])
        return fig

    def live(self):
        """The ipywidgets UI: a method and a number of labels; the method retrains and the figure redraws."""
        import ipywidgets as w

        method = w.Dropdown(options=list(self.methods), description="method")
        n = w.SelectionSlider(options=self.counts, value=self.counts[0], description="labels")
        figure = go.FigureWidget(self._figure(method.value, n.value))
        marker = len(self.methods)

        def draw(_=None):
            run = self.run(method.value, int(n.value))
            xs, ys = self._scatter(run)
            with figure.batch_update():
                figure.data[marker].x, figure.data[marker].y = [n.value], [run.accuracy]
                for trace, x, y in zip(figure.data[marker + 1:], xs, ys):
                    trace.x, trace.y = x, y
                figure.layout.title.text = self._title(method.value, int(n.value), run)

        method.observe(draw, "value")
        n.observe(draw, "value")
        ui = w.VBox([w.HBox([method, n]), figure])
        ui.draw = draw  # lets tests and scripts redraw
        return ui

    def show(self):
        """Display the live UI in Jupyter or Colab, and the precomputed figure when the website is built."""
        from IPython.display import display

        display(self.static_figure() if is_static_build() else self.live())


def digits_transference_methods(*, seed: int = 0, rounds: int = 5, per_round: int = 40,
                                epochs: int = 8) -> dict[str, Callable[[int], TransferRun]]:
    """The book's explorer methods on the digits pair: classify the spoken digit (audio, the weak modality) from
    ``n`` labelled recordings, with the handwritten image of every training example available, unlabelled.

    Linear (scikit-learn's logistic regression), drawn in the space of the ten class scores:

    - ``audio alone``: the ``n`` labelled recordings only;
    - ``self-training``: audio labels its own most confident recordings (:func:`mmcourse.transference.self_training`);
    - ``co-training``: audio and image label their most confident examples for each other
      (:func:`mmcourse.transference.co_training`); the audio classifier is tested.

    A small MLP, drawn in its 16-d audio embedding (:func:`mmcourse.transference.colearn_digits`):

    - ``audio alone (MLP)``: cross-entropy on the labelled recordings;
    - ``co-learning (MLP)``: the same, plus a contrastive term that pulls each recording toward its image.

    Every method sees the same ``n`` labelled rows (:func:`mmcourse.transference.stratified_subset` with ``seed``,
    as :func:`~mmcourse.transference.colearn_digits` draws them) and is tested on the 359 test recordings alone.
    Each call takes well under half a second on one CPU thread.

    Parameters
    ----------
    seed : int
        Seeds the labelled rows and the training (the dataset is ``load_digits_pair(seed=0)``).
    rounds, per_round : int
        Self-training's and co-training's schedule.
    epochs : int
        The MLPs' epochs (the chapter on co-learning trains 40; 8 keeps a live retrain fast).

    Returns
    -------
    dict of str to callable
        ``name → train(n) -> TransferRun``, for :class:`TransferenceExplorer`.

    Examples
    --------
    >>> methods = digits_transference_methods(rounds=2, per_round=10, epochs=1)
    >>> list(methods)
    ['audio alone', 'self-training', 'co-training', 'audio alone (MLP)', 'co-learning (MLP)']
    >>> 0.0 <= methods["audio alone"](20).accuracy <= 1.0
    True
    """
    where = "digits_transference_methods"
    seed = check_int(where, "seed", seed, low=0)
    rounds, per_round = check_int(where, "rounds", rounds, low=1), check_int(where, "per_round", per_round, low=1)
    epochs = check_int(where, "epochs", epochs, low=1)
    from sklearn.linear_model import LogisticRegression

    from mmcourse.generation import digits_pair_tensors
    from mmcourse.transference import co_training, colearn_digits, self_training, stratified_subset

    image, audio, label = digits_pair_tensors("train")
    _, test_audio, test_label = digits_pair_tensors("test")
    x1, x2 = image.flatten(1).double().numpy(), audio.flatten(1).double().numpy()
    t2, truth = test_audio.flatten(1).double().numpy(), test_label.numpy()

    def logistic():
        return LogisticRegression(max_iter=300)

    def labelled(n: int) -> np.ndarray:
        labels = np.full(len(label), -1)
        rows = stratified_subset(label, n, seed=seed).numpy()
        labels[rows] = label.numpy()[rows]
        return labels

    def linear_run(scores: np.ndarray) -> TransferRun:
        return TransferRun(float((scores.argmax(1) == truth).mean()), scores, truth)

    def audio_alone(n):
        labels = labelled(n)
        kept = labels >= 0
        return linear_run(logistic().fit(x2[kept], labels[kept]).decision_function(t2))

    def self_trained(n):
        model, _ = self_training(x2, labelled(n), rounds=rounds, per_round=per_round,
                                 model=logistic())
        return linear_run(model.decision_function(t2))

    def co_trained(n):
        _, model, _ = co_training(x1, x2, labelled(n), rounds=rounds,
                                  per_round=per_round, model1=logistic(), model2=logistic())
        return linear_run(model.decision_function(t2))

    def mlp(weight):
        def train(n):
            model = colearn_digits(n, weight=weight, seed=seed, epochs=epochs)
            with torch.no_grad():
                logits, features = model(test_audio), model.features(test_audio)
            return TransferRun(float((logits.argmax(1).numpy() == truth).mean()), features.numpy(), truth)
        return train

    return {"audio alone": audio_alone, "self-training": self_trained, "co-training": co_trained,
            "audio alone (MLP)": mlp(0.0), "co-learning (MLP)": mlp(1.0)}
