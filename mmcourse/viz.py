"""Plotly figures shared by the chapters, and the renderer that lets the static website draw them offline.

On the website, figures are HTML that call a plotly.js loaded once per page from the book's ``_static`` folder
(``make book`` copies it from the installed plotly). The book build sets ``MMCOURSE_STATIC_BUILD=1``; importing
``mmcourse`` then makes that renderer plotly's default. In Jupyter and Colab, plotly's own default renderer stays.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.io.base_renderers import MimetypeRenderer

from mmcourse._checks import check_number
from mmcourse._source import SourceView
from mmcourse.utils import as_numpy

__all__ = ["COLORS", "BOOK_RENDERER", "is_static_build", "use_book_renderer", "training_curves", "accuracy_bars",
           "latent_plane", "show_source"]

BOOK_RENDERER = "mmcourse_book"
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf"]


class _BookRenderer(MimetypeRenderer):
    """HTML without plotly.js: the page loads ``_static/plotly.min.js`` once for all its figures."""

    def to_mimebundle(self, fig_dict):
        html = pio.to_html(fig_dict, include_plotlyjs=False, full_html=False, config={"displaylogo": False},
                           validate=False)
        return {"text/html": html}


pio.renderers[BOOK_RENDERER] = _BookRenderer()


def is_static_build() -> bool:
    """True while the website is being built (``MMCOURSE_STATIC_BUILD=1``): no live widgets, static figures.

    Examples
    --------
    >>> isinstance(is_static_build(), bool)
    True
    """
    return os.environ.get("MMCOURSE_STATIC_BUILD", "0") not in ("0", "", "false", "False")


def use_book_renderer() -> None:
    """Make plotly render figures as offline HTML for the website (done on import during a book build).

    Examples
    --------
    >>> before = pio.renderers.default
    >>> use_book_renderer(); pio.renderers.default
    'mmcourse_book'
    >>> pio.renderers.default = before
    """
    pio.renderers.default = BOOK_RENDERER


if is_static_build():
    use_book_renderer()


def _layout(fig: go.Figure, title: str | None, height: int = 360) -> go.Figure:
    fig.update_layout(title=title, template="plotly_white", height=height, margin=dict(l=50, r=20, t=50, b=45),
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    return fig


def training_curves(histories: Mapping[str, object], metric: str = "val_acc", title: str | None = None) -> go.Figure:
    """One line per run of ``metric`` (``train_loss``, ``train_acc``, ``val_loss``, ``val_acc``) against epochs.

    ``histories`` maps a run's name to a :class:`mmcourse.training.History` (or anything with that attribute).

    Examples
    --------
    >>> from mmcourse.training import History
    >>> fig = training_curves({"late": History(val_acc=[0.5, 0.75]), "early": History(val_acc=[0.6, 0.7])})
    >>> len(fig.data), fig.data[0].name, list(fig.data[0].y)
    (2, 'late', [0.5, 0.75])
    """
    if metric not in ("train_loss", "train_acc", "val_loss", "val_acc"):
        raise ValueError(f"training_curves: metric must be train_loss, train_acc, val_loss or val_acc, got {metric!r}")
    fig = go.Figure()
    for i, (name, history) in enumerate(histories.items()):
        values = getattr(history, metric)
        fig.add_scatter(x=list(range(1, len(values) + 1)), y=values, mode="lines", name=name,
                        line=dict(color=COLORS[i % len(COLORS)]))
    fig.update_xaxes(title="epoch")
    fig.update_yaxes(title=metric.replace("_", " "))
    return _layout(fig, title)


def accuracy_bars(table: Mapping[str, Mapping[str, float]], title: str | None = None,
                  chance: float | None = None) -> go.Figure:
    """Grouped bars: ``table[group][bar] = accuracy`` (e.g. dataset → model → test accuracy).

    Examples
    --------
    >>> fig = accuracy_bars({"digits": {"late": 0.9, "early": 0.8}, "scenes": {"late": 0.7}}, chance=0.1)
    >>> [(bar.name, list(bar.y)) for bar in fig.data]
    [('late', [0.9, 0.7]), ('early', [0.8, None])]
    """
    for group, row in table.items():
        for bar, value in row.items():
            check_number("accuracy_bars", f"table[{group!r}][{bar!r}]", value)
    if chance is not None:
        check_number("accuracy_bars", "chance", chance)
    fig = go.Figure()
    bars: list[str] = []
    for row in table.values():
        bars += [b for b in row if b not in bars]
    groups = list(table)
    for i, bar in enumerate(bars):
        fig.add_bar(name=bar, x=groups, y=[table[g].get(bar) for g in groups], marker_color=COLORS[i % len(COLORS)])
    if chance is not None:
        fig.add_hline(y=chance, line_dash="dot", annotation_text="chance", annotation_position="top left")
    fig.update_yaxes(title="test accuracy", range=[0, 1.05])
    return _layout(fig, title)


def latent_plane(xy: Sequence[Sequence[float]], labels: Sequence[int], predictions: Sequence[int] | None = None,
                 axis_titles: tuple[str, str] = ("s1", "s2"), title: str | None = None) -> go.Figure:
    """Points in a 2-D plane coloured by label; with ``predictions``, wrong ones are drawn as crosses.

    Examples
    --------
    >>> fig = latent_plane([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1], predictions=[0, 1, 0])
    >>> [(trace.name, list(trace.marker.symbol)) for trace in fig.data]
    [('label 0', ['circle']), ('label 1', ['circle', 'x'])]
    """
    where = "latent_plane"
    points = as_numpy(xy, "xy", where)
    if points.ndim != 2 or points.shape[1] < 2:
        raise ValueError(f"{where}: xy must be a list of points (x, y), shape (n, 2), got shape {points.shape}")
    for name, ids in (("labels", labels), ("predictions", predictions)):
        if ids is not None and (np.asarray(ids).dtype.kind not in "iu" or np.shape(ids) != (len(points),)):
            raise ValueError(f"{where}: {name} must hold one integer per point ({len(points)}), got "
                             f"{np.asarray(ids).dtype} of shape {np.shape(ids)}")
    fig = go.Figure()
    xs = [p[0] for p in xy]
    ys = [p[1] for p in xy]
    for k in sorted(set(int(v) for v in labels)):
        idx = [i for i, v in enumerate(labels) if int(v) == k]
        symbols = ["circle" if predictions is None or int(predictions[i]) == k else "x" for i in idx]
        fig.add_scatter(x=[xs[i] for i in idx], y=[ys[i] for i in idx], mode="markers", name=f"label {k}",
                        marker=dict(color=COLORS[k % len(COLORS)], symbol=symbols, size=6, opacity=0.7))
    fig.update_xaxes(title=axis_titles[0])
    fig.update_yaxes(title=axis_titles[1])
    return _layout(fig, title)


def show_source(obj) -> SourceView:
    """The source code of a package object, highlighted: how a chapter shows the code it explains.

    First the teaching view, the lines that teach (no docstring, no argument checks), then the full, validated
    source, folded. Both come from the installed package itself, so the book and the code cannot drift apart.

    Examples
    --------
    >>> view = show_source(accuracy_bars)
    >>> view.data.splitlines()[0], len(view.data.splitlines()) < len(view.full.splitlines())
    ('def accuracy_bars(table: Mapping[str, Mapping[str, float]], title: str | None = None,', True)
    """
    import inspect

    if not (inspect.ismodule(obj) or inspect.isclass(obj) or inspect.isfunction(obj) or inspect.ismethod(obj)):
        raise TypeError(f"show_source: obj must be a module, class, function or method, got {type(obj).__name__}")
    return SourceView(obj)
