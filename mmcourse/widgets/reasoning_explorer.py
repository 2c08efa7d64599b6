"""The reasoning explorer of Part 4: a scene, a question, its program, and what each reasoner does at each step.

Two faces from the same code. :meth:`ReasoningExplorer.live` is an ipywidgets UI for Jupyter and Colab: pick a
scene, type a question (or take the scene's own), and step through its program; every step shows the objects the
exact executor holds (:func:`mmcourse.reasoning.execute_trace`) next to each model's attention over the nine cells,
and every model's answer. :meth:`ReasoningExplorer.static_figure` is what the website shows: a plotly figure with a
dropdown over precomputed examples and a slider over their steps, drawn without a kernel.

A *reasoner* is any callable ``reasoner(image, question) -> Reading``: ``image`` a ``(30, 30, 3)`` tensor, ``question``
a string of the scene world; the :class:`Reading` holds its answer and, if it has them, one attention map over the
nine cells per program step (a module network has one per module; a flat model has none).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from mmcourse._checks import check_int
from mmcourse.data import ANSWERS, GRID, decode_question, encode_question, scene_objects
from mmcourse.reasoning import SceneParser, execute_trace, format_program, neuro_symbolic_answer, parse, parse_scene
from mmcourse.viz import is_static_build

__all__ = ["ReasoningExplorer", "Reading", "step_map", "model_reasoner", "symbolic_reasoner"]

CELLS = GRID * GRID
DIGITS = 3  # decimals of the attention maps kept in the static figure


@dataclass(frozen=True)
class Reading:
    """What a reasoner says about one question: its ``answer`` (a word of ``ANSWERS``) and, optionally, ``maps``: one
    array of nine cell weights per program step (``None`` for a step without a map)."""

    answer: str
    maps: list[np.ndarray | None] | None = field(default=None)


def step_map(value, objects: Sequence[dict]) -> np.ndarray | None:
    """The executor's value at one step as nine cell weights: 1 on the cells of the objects a set holds; ``None``
    for a count, a yes/no or a word.

    Examples
    --------
    >>> step_map([1], [{"colour": "red", "shape": "circle", "cell": 0}, {"colour": "blue", "shape": "square", "cell": 4}])
    array([0., 0., 0., 0., 1., 0., 0., 0., 0.])
    """
    if not isinstance(value, list):
        return None
    for k, obj in enumerate(objects):
        check_int("step_map", f"objects[{k}]['cell']", obj["cell"], low=0, high=CELLS - 1)
    for k, i in enumerate(value):
        check_int("step_map", f"value[{k}]", i, low=0, high=len(objects) - 1)
    out = np.zeros(CELLS)
    out[[objects[i]["cell"] for i in value]] = 1.0
    return out


def model_reasoner(model: torch.nn.Module) -> Callable:
    """A trained answering model of Part 4 as a reasoner: ``model(images, questions, programs)`` gives the answer
    logits, and a ``model.trace(image, program)`` (the module network's) gives one attention map per step.

    Examples
    --------
    >>> from mmcourse.reasoning import NeuralModuleNetwork
    >>> reading = model_reasoner(NeuralModuleNetwork())(torch.zeros(30, 30, 3), "how many red circles ?")
    >>> reading.answer in ANSWERS, len(reading.maps)
    (True, 4)
    """
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model_reasoner: model must be a torch.nn.Module, got {type(model).__name__}")

    def read(image: torch.Tensor, question: str) -> Reading:
        program = parse(question)
        if hasattr(model, "trace"):
            steps = model.trace(image, program)
            probabilities = steps[-1][1]
            return Reading(max(probabilities, key=probabilities.get),
                           [v if isinstance(v, np.ndarray) else None for _, v in steps])
        device = next(model.parameters()).device
        words = torch.as_tensor(encode_question(question), dtype=torch.long, device=device)[None]
        with torch.no_grad():
            logits = model.eval()(torch.as_tensor(image, dtype=torch.float32, device=device)[None], words, [program])
        return Reading(ANSWERS[int(logits.argmax())])

    return read


def symbolic_reasoner(parser: SceneParser) -> Callable:
    """The neuro-symbolic pipeline of Part 4.2 as a reasoner: the parser's table of objects, then the exact executor
    (``"none"`` when the program cannot run on the parsed table).

    Examples
    --------
    >>> read = symbolic_reasoner(SceneParser())
    >>> read(torch.zeros(30, 30, 3), "how many red circles ?").answer in ANSWERS + ("none",)
    True
    """
    if not isinstance(parser, SceneParser):
        raise ValueError(f"symbolic_reasoner: parser must be a SceneParser, got {type(parser).__name__}")

    def read(image: torch.Tensor, question: str) -> Reading:
        return Reading(neuro_symbolic_answer(question, parse_scene(parser, torch.as_tensor(image))) or "none")

    return read


def _value_text(value) -> str:
    if isinstance(value, list):
        return f"{len(value)} object{'s' * (len(value) != 1)}"
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def _read(reasoner: Callable, image: torch.Tensor, question: str) -> Reading:
    """A reasoner's reading; one that cannot take the question (an operation it has no module for) says so."""
    try:
        return reasoner(image, question)
    except ValueError as err:
        return Reading(f"cannot answer ({str(err)[:60]})")


class ReasoningExplorer:
    """Step through a question's program on a scene: the executor's sets and each reasoner's attention and answer.

    Parameters
    ----------
    split : datasets.Dataset
        A split of :func:`mmcourse.data.load_scene_questions` (images, object columns, questions).
    reasoners : mapping of str to callable, optional
        ``name → reasoner(image, question) -> Reading``; the first one with maps is drawn next to the executor.
    examples : sequence of int
        The rows of ``split`` that the static figure precomputes.

    Examples
    --------
    >>> from mmcourse.data import load_scene_questions
    >>> data = load_scene_questions(n_train=8, n_val=2, n_test=4, n_heldout=2, cache=False)
    >>> explorer = ReasoningExplorer(data["test"], examples=[0, 1])
    >>> example = explorer.example(0, "how many objects are not red ?")
    >>> example["program"]
    'scene → filter_colour[red] → not → count'
    """

    def __init__(self, split, reasoners: Mapping[str, Callable] | None = None, examples: Sequence[int] = range(8)):
        for column in ("image", "colour", "shape", "cell", "question"):
            if column not in getattr(split, "column_names", ()):
                raise ValueError(f"ReasoningExplorer: split must be a split of load_scene_questions with a "
                                 f"{column!r} column, got {type(split).__name__}")
        reasoners = dict(reasoners or {})
        for name, reasoner in reasoners.items():
            if not callable(reasoner):
                raise ValueError(f"ReasoningExplorer: reasoner {name!r} must be callable, got {type(reasoner).__name__}")
        examples = list(examples)
        bad = [i for i in examples if isinstance(i, bool) or not isinstance(i, (int, np.integer))
               or not 0 <= i < len(split)]
        if bad or not examples:
            raise ValueError(f"ReasoningExplorer: examples must be row numbers in 0..{len(split) - 1}, got {bad or '[]'}")
        self.split, self.reasoners, self.examples = split, reasoners, [int(i) for i in examples]

    def example(self, index: int, question: str | None = None) -> dict:
        """Everything drawn for one scene and question (the scene's own question by default): the image, the
        program, the executor's value and map per step, each reasoner's reading, and the true answer."""
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < len(self.split):
            raise ValueError(f"ReasoningExplorer.example: index must be in 0..{len(self.split) - 1}, got {index!r}")
        row = self.split[int(index)]
        question = decode_question(row["question"]) if question is None else question
        program = parse(question)
        objects = scene_objects(row)
        trace = execute_trace(program, objects)
        image = torch.as_tensor(row["image"])
        readings = {name: _read(reasoner, image, question) for name, reasoner in self.reasoners.items()}
        answer = ("yes" if trace[-1] else "no") if isinstance(trace[-1], bool) else str(trace[-1])
        return {"image": image.numpy(), "question": question, "steps": [f"{op}[{arg}]" if arg else op
                                                                         for op, arg in program],
                "program": format_program(program), "values": [_value_text(v) for v in trace],
                "maps": [step_map(v, objects) for v in trace], "readings": readings, "answer": answer}

    # ------------------------------------------------------------------ drawing
    def _frames(self, example: dict) -> tuple[list[dict], str | None]:
        """Per step: the executor's map, the first mapped reasoner's map, and the title; and that reasoner's name."""
        mapped = next(((name, r) for name, r in example["readings"].items() if r.maps), (None, None))
        answers = " · ".join([f"executor: {example['answer']}",
                              *(f"{name}: {r.answer}" for name, r in example["readings"].items())])
        # A step that gives a count, a yes/no or a word has no map: keep showing the set it was computed from.
        frames, last, last_model = [], np.zeros(CELLS), np.zeros(CELLS)
        for k, (step, value, grid) in enumerate(zip(example["steps"], example["values"], example["maps"])):
            last = grid if grid is not None else last
            model = mapped[1].maps[k] if mapped[1] is not None and k < len(mapped[1].maps) else None
            last_model = np.asarray(model, float) if model is not None else last_model
            frames.append({"executor": last.reshape(GRID, GRID), "model": last_model.reshape(GRID, GRID),
                           "title": f"{example['question']}<br><sub>step {k + 1}/{len(example['steps'])}: {step} → "
                                    f"{value}   |   {answers}</sub>"})
        return frames, mapped[0]

    def _base_figure(self, model_name: str | None) -> go.Figure:
        fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.06,
                            subplot_titles=["the scene", "executor: objects held",
                                            f"{model_name or 'no model'}: attention"])
        fig.add_trace(go.Image(z=np.zeros((30, 30, 3), np.uint8)), row=1, col=1)
        for col in (2, 3):
            fig.add_trace(go.Heatmap(z=np.zeros((GRID, GRID)), zmin=0, zmax=1, colorscale="Blues", showscale=col == 3,
                                     hovertemplate="row %{y}, column %{x}: %{z:.2f}<extra></extra>"), row=1, col=col)
            fig.update_yaxes(autorange="reversed", scaleanchor=f"x{col}", row=1, col=col)  # square cells
        fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
        fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
        fig.update_layout(template="plotly_white", height=380, margin=dict(t=110, l=10, r=10, b=90),
                          title=dict(x=0.0, y=0.96, font=dict(size=13)))
        return fig

    def static_figure(self) -> go.Figure:
        """The website's face: a dropdown over the precomputed examples, one slider over each example's steps."""
        examples = [self.example(i) for i in self.examples]
        model_name = next((n for n, r in examples[0]["readings"].items() if r.maps), None)
        fig = self._base_figure(model_name)
        sliders, buttons = [], []
        for e, example in enumerate(examples):
            frames, _ = self._frames(example)
            image = (255 * example["image"]).astype(np.uint8)
            steps = [dict(method="update", label=str(k + 1),
                          args=[{"z": [np.round(f["executor"], DIGITS), np.round(f["model"], DIGITS)]},
                                {"title.text": f["title"]}, [1, 2]]) for k, f in enumerate(frames)]
            last = len(frames) - 1
            sliders.append(dict(steps=steps, active=last, visible=e == 0, x=0.0, len=1.0, y=0.0, yanchor="top",
                                currentvalue=dict(prefix="step ", font=dict(size=12)), pad=dict(t=10)))
            relayout = {"title.text": frames[last]["title"], f"sliders[{e}].active": last,
                        **{f"sliders[{j}].visible": j == e for j in range(len(examples))}}
            buttons.append(dict(label=f"scene {self.examples[e]}", method="update",
                                args=[{"z": [image, np.round(frames[last]["executor"], DIGITS),
                                             np.round(frames[last]["model"], DIGITS)]}, relayout]))
        first, _ = self._frames(examples[0])
        fig.data[0].z = (255 * examples[0]["image"]).astype(np.uint8)
        fig.data[1].z, fig.data[2].z = first[-1]["executor"], first[-1]["model"]
        fig.update_layout(sliders=sliders, title_text=first[-1]["title"], height=430,
                          updatemenus=[dict(buttons=buttons, x=1.0, y=1.25, xanchor="right", yanchor="bottom")])
        return fig

    def live(self):
        """The ipywidgets UI: a scene, a question box and a step slider; the figure and the answers redraw."""
        import ipywidgets as w

        scene = w.BoundedIntText(value=self.examples[0], min=0, max=len(self.split) - 1, description="scene")
        question = w.Text(description="question", layout=w.Layout(width="520px"), continuous_update=False)
        step = w.IntSlider(value=0, min=0, max=0, description="step")
        status = w.HTML()
        state: dict = {}
        figure = go.FigureWidget(self._base_figure(next(iter(self.reasoners), None)))

        def load(_=None):
            question.value = decode_question(self.split[int(scene.value)]["question"])
            ask()

        def ask(_=None):
            try:
                example = self.example(int(scene.value), question.value)
            except ValueError as err:
                status.value = f"<b>{err}</b>"
                return
            state["example"] = example
            state["frames"], _ = self._frames(example)
            status.value = f"program: {example['program']}"
            step.max = len(state["frames"]) - 1
            step.value = step.max
            draw()

        def draw(_=None):
            frame = state["frames"][min(step.value, len(state["frames"]) - 1)]
            with figure.batch_update():
                figure.data[0].z = (255 * state["example"]["image"]).astype(np.uint8)
                figure.data[1].z, figure.data[2].z = frame["executor"], frame["model"]
                figure.layout.title.text = frame["title"]

        scene.observe(load, "value")
        question.observe(ask, "value")
        step.observe(draw, "value")
        load()
        ui = w.VBox([w.HBox([scene, question]), step, figure, status])
        ui.ask = ask  # lets tests and scripts ask a question
        return ui

    def show(self):
        """Display the live UI in Jupyter or Colab, and the precomputed figure when the website is built."""
        from IPython.display import display

        display(self.static_figure() if is_static_build() else self.live())
