"""The generation explorer of Part 5: what a joint generative model of the digits pair makes, and whether it agrees.

Two faces from the same code. :meth:`GenerationExplorer.live` is an ipywidgets UI for Jupyter and Colab: choose a
model and a direction (image → audio, audio → image, or joint samples from the prior), then pick a source example or
move through two coordinates of the latent space with sliders; the generated pair redraws, with the label that a
classifier trained on real data reads in each modality. :meth:`GenerationExplorer.static_figure` is what the website
shows: a plotly figure with a dropdown over every (model, direction) and a slider over precomputed sources or latent
points, drawn without a kernel.

A model is any joint model of Part 5.3 (:class:`mmcourse.generation.MVAE`, :class:`mmcourse.generation.MMVAE`): it
has ``names`` (the modalities), ``latent``, ``cross_generate(x, source=, target=)`` and ``decoders``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from mmcourse._checks import check_tensor
from mmcourse.generation import predicted_labels
from mmcourse.viz import is_static_build

__all__ = ["GenerationExplorer", "GENERATION_DIRECTIONS", "latent_point"]

GENERATION_DIRECTIONS = ("image → audio", "audio → image", "joint")
LATENT_STEPS = np.linspace(-2.0, 2.0, 5)  # the static figure's grid of each of the two latent coordinates


def _levels(x) -> np.ndarray:
    """Intensities in [0, 1] as 0-255 integers: one byte per pixel keeps the static figure small."""
    return np.clip(np.rint(255 * np.asarray(x, dtype=float)), 0, 255).astype(np.uint8)


def latent_point(latent: int, z1: float, z2: float) -> torch.Tensor:
    """A point ``(1, latent)`` of the latent space with its first two coordinates set and the others at the prior's
    mean, 0: what the explorer's two sliders decode.

    Examples
    --------
    >>> latent_point(4, 1.5, -0.5)
    tensor([[ 1.5000, -0.5000,  0.0000,  0.0000]])
    """
    if isinstance(latent, bool) or not isinstance(latent, int) or latent < 2:
        raise ValueError(f"latent_point: latent must be an integer >= 2, got {latent!r}")
    for name, value in (("z1", z1), ("z2", z2)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not np.isfinite(value):
            raise ValueError(f"latent_point: {name} must be a finite number, got {value!r}")
    z = torch.zeros(1, latent)
    z[0, 0], z[0, 1] = float(z1), float(z2)
    return z


class GenerationExplorer:
    """Explore joint generative models of two modalities: cross-generation from a source, joint samples from a
    latent point, and the labels that classifiers trained on real data read in both. Book section: Part 5.

    Parameters
    ----------
    models : mapping of str to model
        ``name → trained joint model`` (MVAE, MMVAE, ...), all over the same two modalities, ``image`` and ``audio``.
    data : mapping of str to Tensor
        The source examples: ``image`` (N, ...), ``audio`` (N, ...) and ``label`` (N,).
    classifiers : mapping of str to callable
        ``modality → classifier`` trained on real data (logits or labels), for ``image`` and ``audio``.
    examples : sequence of int
        The rows of ``data`` that the static figure precomputes as sources.

    Examples
    --------
    >>> from mmcourse.generation import MVAE
    >>> data = {"image": torch.rand(4, 8, 8), "audio": torch.rand(4, 12, 16), "label": torch.arange(4)}
    >>> flat = lambda x: x.flatten(1)[:, :10]
    >>> explorer = GenerationExplorer({"MVAE": MVAE()}, data, {"image": flat, "audio": flat}, examples=[0, 1])
    >>> view = explorer.generate("MVAE", "image → audio", index=1)
    >>> view["image"].shape, view["audio"].shape, view["source label"]
    ((8, 8), (12, 16), 1)
    """

    def __init__(self, models: Mapping[str, torch.nn.Module], data: Mapping[str, torch.Tensor],
                 classifiers: Mapping[str, Callable], examples: Sequence[int] = range(10)):
        models = dict(models)
        if not models:
            raise ValueError("GenerationExplorer: models must name at least one trained joint model")
        for name, model in models.items():
            if not all(hasattr(model, a) for a in ("names", "latent", "cross_generate", "decoders")):
                raise ValueError(f"GenerationExplorer: model {name!r} must be a joint model of Part 5.3 (with names, "
                                 f"latent, cross_generate and decoders), got {type(model).__name__}")
            if list(model.names) != ["image", "audio"]:
                raise ValueError(f"GenerationExplorer: model {name!r} must model ['image', 'audio'], got "
                                 f"{list(model.names)}")
        for key in ("image", "audio", "label"):
            if key not in data or not isinstance(data[key], torch.Tensor):
                raise ValueError(f"GenerationExplorer: data must hold tensors 'image', 'audio' and 'label', "
                                 f"missing {key!r}")
            check_tensor("GenerationExplorer", f"data[{key!r}]", data[key], dim=1 if key == "label" else (2, 3, 4),
                         kind="int" if key == "label" else "float")
        if not len(data["image"]) == len(data["audio"]) == len(data["label"]) > 0:
            raise ValueError(f"GenerationExplorer: data's image, audio and label must have the same number of rows, "
                             f"got {len(data['image'])}, {len(data['audio'])}, {len(data['label'])}")
        for key in ("image", "audio"):
            if not callable(classifiers.get(key)):
                raise ValueError(f"GenerationExplorer: classifiers must give a callable for {key!r}")
        examples = list(examples)
        bad = [i for i in examples if isinstance(i, bool) or not isinstance(i, (int, np.integer))
               or not 0 <= i < len(data["label"])]
        if bad or not examples:
            raise ValueError(f"GenerationExplorer: examples must be row numbers in 0..{len(data['label']) - 1}, got "
                             f"{bad or '[]'}")
        self.models, self.data, self.classifiers = models, data, dict(classifiers)
        self.examples = [int(i) for i in examples]

    @torch.no_grad()
    def generate(self, model: str, direction: str, *, index: int | None = None, z1: float = 0.0,
                 z2: float = 0.0) -> dict:
        """One view: the pair drawn (the source and what it generates, or a joint sample decoded from the latent
        point ``(z1, z2, 0, ...)``), the label each classifier reads, and the source's label (``None`` for joint)."""
        if model not in self.models:
            raise ValueError(f"GenerationExplorer.generate: model must be one of {list(self.models)}, got {model!r}")
        if direction not in GENERATION_DIRECTIONS:
            raise ValueError(f"GenerationExplorer.generate: direction must be one of {GENERATION_DIRECTIONS}, got "
                             f"{direction!r}")
        vae = self.models[model]
        was_training = vae.training
        vae.eval()
        try:
            if direction == "joint":
                z = latent_point(vae.latent, z1, z2).to(next(vae.parameters()).device)
                pair = {name: torch.sigmoid(decoder(z))[0].cpu() for name, decoder in zip(vae.names, vae.decoders)}
                source_label = None
            else:
                n = len(self.data["label"])
                if index is None or isinstance(index, bool) or not isinstance(index, (int, np.integer)) \
                        or not 0 <= index < n:
                    raise ValueError(f"GenerationExplorer.generate: index must be a row in 0..{n - 1}, got {index!r}")
                source, target = direction.split(" → ")
                x = self.data[source][int(index)][None]
                pair = {source: x[0], target: vae.cross_generate(x, source=source, target=target)[0].cpu()}
                source_label = int(self.data["label"][int(index)])
        finally:
            vae.train(was_training)
        read = {name: int(predicted_labels(self.classifiers[name], pair[name][None].float())[0])
                for name in ("image", "audio")}
        return {"image": pair["image"].numpy(), "audio": pair["audio"].numpy(), "read": read,
                "source label": source_label, "direction": direction, "model": model}

    @staticmethod
    def _title(view: dict) -> str:
        read = view["read"]
        if view["direction"] == "joint":
            verdict = "coherent" if read["image"] == read["audio"] else "not coherent"
            return (f"{view['model']}, joint sample: the image reads as {read['image']}, the audio as "
                    f"{read['audio']} ({verdict})")
        source, target = view["direction"].split(" → ")
        verdict = "coherent" if read[target] == view["source label"] else "not coherent"
        return (f"{view['model']}, {view['direction']}: a {view['source label']} in, the generated {target} reads "
                f"as {read[target]} ({verdict})")

    def _base_figure(self) -> go.Figure:
        fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08, subplot_titles=["image", "audio (spectrogram)"])
        for col, shape in ((1, (8, 8)), (2, (12, 16))):
            fig.add_trace(go.Heatmap(z=np.zeros(shape, np.uint8), zmin=0, zmax=255, colorscale="Greys",
                                     showscale=col == 2, hovertemplate="intensity %{z} of 255<extra></extra>"),
                          row=1, col=col)
            fig.update_yaxes(autorange="reversed", scaleanchor=f"x{col}", row=1, col=col)
        fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
        fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
        fig.update_layout(template="plotly_white", height=360, margin=dict(t=100, l=10, r=10, b=80),
                          title=dict(x=0.0, y=0.95, font=dict(size=13)))
        return fig

    def _views(self, model: str, direction: str) -> tuple[list[dict], list[str]]:
        if direction == "joint":
            points = [(a, b) for a in LATENT_STEPS for b in LATENT_STEPS]
            return ([self.generate(model, direction, z1=a, z2=b) for a, b in points],
                    [f"z=({a:+.0f},{b:+.0f})" for a, b in points])
        return ([self.generate(model, direction, index=i) for i in self.examples], [str(i) for i in self.examples])

    def static_figure(self) -> go.Figure:
        """The website's face: a dropdown over every (model, direction) and, for each, a slider over precomputed
        sources (cross-generation) or over a 5 x 5 grid of the first two latent coordinates (joint)."""
        fig = self._base_figure()
        combos = [(m, d) for m in self.models for d in GENERATION_DIRECTIONS]
        sliders, buttons = [], []
        for c, (model, direction) in enumerate(combos):
            views, labels = self._views(model, direction)
            steps = [dict(method="update", label=label,
                          args=[{"z": [_levels(v["image"]), _levels(v["audio"])]},
                                {"title.text": self._title(v)}]) for v, label in zip(views, labels)]
            sliders.append(dict(steps=steps, active=0, visible=c == 0, x=0.0, len=1.0, y=0.0, yanchor="top",
                                currentvalue=dict(prefix="source " if direction != "joint" else "latent ",
                                                  font=dict(size=12)), pad=dict(t=10)))
            relayout = {"title.text": self._title(views[0]), f"sliders[{c}].active": 0,
                        **{f"sliders[{j}].visible": j == c for j in range(len(combos))}}
            buttons.append(dict(label=f"{model}: {direction}", method="update",
                                args=[{"z": [_levels(views[0]["image"]), _levels(views[0]["audio"])]},
                                      relayout]))
            if c == 0:
                fig.data[0].z, fig.data[1].z = _levels(views[0]["image"]), _levels(views[0]["audio"])
                fig.update_layout(title_text=self._title(views[0]))
        fig.update_layout(sliders=sliders, updatemenus=[dict(buttons=buttons, x=1.0, y=1.22, xanchor="right",
                                                             yanchor="bottom")])
        return fig

    def live(self):
        """The ipywidgets UI: model, direction, source index and two latent sliders; the pair redraws."""
        import ipywidgets as w

        model = w.Dropdown(options=list(self.models), description="model")
        direction = w.Dropdown(options=GENERATION_DIRECTIONS, description="direction")
        index = w.BoundedIntText(value=self.examples[0], min=0, max=len(self.data["label"]) - 1, description="source")
        z1, z2 = (w.FloatSlider(value=0.0, min=-3.0, max=3.0, step=0.25, description=d) for d in ("z1", "z2"))
        figure = go.FigureWidget(self._base_figure())

        def draw(_=None):
            joint = direction.value == "joint"
            index.disabled, z1.disabled, z2.disabled = joint, not joint, not joint
            view = self.generate(model.value, direction.value, index=int(index.value), z1=z1.value, z2=z2.value)
            with figure.batch_update():
                figure.data[0].z, figure.data[1].z = _levels(view["image"]), _levels(view["audio"])
                figure.layout.title.text = self._title(view)

        for control in (model, direction, index, z1, z2):
            control.observe(draw, "value")
        draw()
        ui = w.VBox([w.HBox([model, direction, index]), w.HBox([z1, z2]), figure])
        ui.draw = draw  # lets tests and scripts redraw
        return ui

    def show(self):
        """Display the live UI in Jupyter or Colab, and the precomputed figure when the website is built."""
        from IPython.display import display

        display(self.static_figure() if is_static_build() else self.live())
