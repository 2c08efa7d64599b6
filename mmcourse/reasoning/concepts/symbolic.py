r"""A neuro-symbolic pipeline (Part 4.2, intermediate concepts: discrete symbols): parse the scene, execute the program.

NS-VQA (Yi et al., 2018, *Neural-Symbolic VQA: Disentangling Reasoning from Vision and Language Understanding*)
splits question answering in two. A learned **scene parser** turns the image into a table of objects, one row per
object with its attributes and position; the question is turned into a program; an exact **symbolic executor**
runs the program on the table. Here the parser is a classifier on each of the nine cells,

.. math::

    P(\text{occupied}_i) = \sigma(a^\top z_i), \quad P(\text{colour}_i) = \mathrm{softmax}(A_c z_i), \quad
    P(\text{shape}_i) = \mathrm{softmax}(A_s z_i), \qquad z_i = \mathrm{MLP}(\mathrm{vec}(\text{tile}_i)),

trained on the scenes' object columns (each head on the evidence for its own attribute, see :class:`SceneParser`);
the program comes from :func:`mmcourse.reasoning.parse` and the executor is
:func:`mmcourse.reasoning.execute`. All the learning is in perception: given the right table, every answer is right.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn
from tqdm.auto import trange

from mmcourse.data.scene_questions import decode_question
from mmcourse.data.scenes import CELL, COLOURS, GRID, SHAPES
from mmcourse.reasoning.concepts.attention import cell_tiles
from mmcourse.reasoning.concepts.programs import as_program, execute, execute_trace, parse
from mmcourse._checks import check_tensor
from mmcourse.utils import check_positive, get_device, progress_enabled, trained_on

__all__ = ["SceneParser", "cell_labels", "scene_tables", "parser_loss", "fit_scene_parser", "parse_scene",
           "parser_accuracy", "neuro_symbolic_answer", "trace_table"]

CELLS = GRID * GRID


def _columns(split, names):
    needed = {"image", "colour", "shape", "cell", *names}
    if not hasattr(split, "column_names") or not needed <= set(split.column_names):
        raise ValueError(f"split must be one split of load_scene_questions() (or load_scenes()) with columns "
                         f"{sorted(needed)}, got {type(split).__name__}")
    return split.with_format("numpy", columns=sorted(needed - {"image"}))[:]


def _check_labels(where: str, colour, shape, cells: tuple) -> None:
    """``colour`` and ``shape``: integer tensors of shape ``cells``, -1 (empty cell) or an index."""
    for name, labels, n in (("colour", colour, len(COLOURS)), ("shape", shape, len(SHAPES))):
        check_tensor(where, name, labels, kind="int")
        if tuple(labels.shape) != tuple(cells):
            raise ValueError(f"{where}: {name} {tuple(labels.shape)} and the cells {tuple(cells)} must describe the "
                             f"same cells (one label per cell)")
        if int(labels.min()) < -1 or int(labels.max()) >= n:
            raise ValueError(f"{where}: {name} must hold -1 (empty cell) or indices in 0..{n - 1}, got values from "
                             f"{int(labels.min())} to {int(labels.max())}")


def _check_tiles(where: str, tiles) -> Tensor:
    check_tensor(where, "tiles", tiles, kind="any")
    if tiles.dim() < 4 or tuple(tiles.shape[-3:]) != (CELL, CELL, 3):
        raise ValueError(f"{where}: tiles must have shape (..., {CELL}, {CELL}, 3), got {tuple(tiles.shape)}")
    return tiles


def cell_labels(split) -> tuple[Tensor, Tensor, Tensor]:
    """The parser's training data: every scene's nine cells and what each holds.

    Returns
    -------
    tiles : torch.Tensor, float32, shape (n, 9, 10, 10, 3)
    colour, shape : torch.Tensor, int64, shape (n, 9)
        The colour and shape index of each cell's object; -1 for an empty cell.

    Examples
    --------
    >>> from mmcourse.data import load_scenes
    >>> tiles, colour, shape = cell_labels(load_scenes(n_train=2, n_val=1, n_test=1, cache=False)["train"])
    >>> tuple(tiles.shape), tuple(colour.shape)
    ((2, 9, 10, 10, 3), (2, 9))
    """
    columns = _columns(split, ())
    n = len(columns["cell"])
    colour, shape = np.full((n, CELLS), -1), np.full((n, CELLS), -1)
    rows, slots = np.nonzero(columns["cell"] >= 0)
    colour[rows, columns["cell"][rows, slots]] = columns["colour"][rows, slots]
    shape[rows, columns["cell"][rows, slots]] = columns["shape"][rows, slots]
    images = split.with_format("torch", columns=["image"])[:]["image"]
    return cell_tiles(images), torch.as_tensor(colour), torch.as_tensor(shape)


def scene_tables(split) -> list[list[dict]]:
    """The ground-truth table of every scene of a split: ``[{"colour": "red", "shape": "circle", "cell": 4}, ...]``.

    Examples
    --------
    >>> from mmcourse.data import load_scenes
    >>> tables = scene_tables(load_scenes(n_train=2, n_val=1, n_test=1, cache=False)["train"])
    >>> len(tables), sorted(tables[0][0])
    (2, ['cell', 'colour', 'shape'])
    """
    columns = _columns(split, ())
    return [[{"colour": COLOURS[c], "shape": SHAPES[s], "cell": int(k)} for c, s, k in zip(*row) if k >= 0]
            for row in zip(columns["colour"], columns["shape"], columns["cell"])]


class SceneParser(nn.Module):
    r"""Image cells → objects: for each 10×10 cell, is it occupied, and by which colour and shape (Yi et al., 2018).

    ``forward(tiles)`` maps tiles ``(..., 10, 10, 3)`` to three logits: occupied ``(...)``, colour ``(..., 4)``
    and shape ``(..., 3)``. With ``factored=True`` (the default) each head sees only the evidence for its own
    attribute: occupancy and colour come from an MLP on the tile's per-channel mean and maximum (blind to the
    shape), the shape from an MLP on its silhouette, the maximum over the colour channels of each pixel (blind to
    the colour). Trained on scenes without red circles, it still parses a red circle, since it has seen red
    things and circles. With ``factored=False`` one MLP on all 300 pixel values feeds every head, and it learns
    whatever correlations the training scenes hold (in them, no red object is a circle). Book section: Part 4.2.

    Parameters
    ----------
    width : int
        Width of the MLPs' hidden layers.
    factored : bool
        Separate inputs per attribute (True) or one shared trunk (False).

    Examples
    --------
    >>> occupied, colour, shape = SceneParser(width=8)(torch.zeros(2, 9, 10, 10, 3))
    >>> tuple(occupied.shape), tuple(colour.shape), tuple(shape.shape)
    ((2, 9), (2, 9, 4), (2, 9, 3))
    """

    def __init__(self, width: int = 64, factored: bool = True):
        super().__init__()
        check_positive("SceneParser", width=width)
        self.factored = bool(factored)

        def mlp(inputs: int, outputs: int) -> nn.Sequential:
            return nn.Sequential(nn.Linear(inputs, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                                 nn.Linear(width, outputs))

        n_colour, n_shape = 1 + len(COLOURS), len(SHAPES)
        if self.factored:
            self.colour_net, self.shape_net = mlp(2 * 3, n_colour), mlp(CELL * CELL, n_shape)
        else:
            self.net = mlp(CELL * CELL * 3, n_colour + n_shape)

    def forward(self, tiles: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        tiles = _check_tiles("SceneParser", tiles).float()
        if self.factored:
            pixels = tiles.flatten(-3, -2)  # (..., 100, 3)
            colour = self.colour_net(torch.cat([pixels.mean(-2), pixels.amax(-2)], -1))
            shape = self.shape_net(tiles.amax(-1).flatten(-2))  # the silhouette: no colour left in it
        else:
            out = self.net(tiles.flatten(-3))
            colour, shape = out[..., :1 + len(COLOURS)], out[..., 1 + len(COLOURS):]
        return colour[..., 0], colour[..., 1:], shape


def parser_loss(outputs: tuple[Tensor, Tensor, Tensor], colour: Tensor, shape: Tensor) -> Tensor:
    """Binary cross-entropy on occupancy plus cross-entropy on colour and shape, over the occupied cells only (an
    empty cell has neither).

    ``outputs`` are the three logits of :class:`SceneParser`; ``colour`` and ``shape`` the labels of
    :func:`cell_labels` (-1 for an empty cell).

    Examples
    --------
    >>> outputs = (torch.zeros(1, 9), torch.zeros(1, 9, 4), torch.zeros(1, 9, 3))
    >>> colour = torch.tensor([[0, -1, -1, -1, -1, -1, -1, -1, -1]])
    >>> round(parser_loss(outputs, colour, colour).item(), 3)   # log 2 + log 4 + log 3
    3.178
    """
    if not isinstance(outputs, (tuple, list)) or len(outputs) != 3:
        raise TypeError(f"parser_loss: outputs must be the three logits of SceneParser, got {type(outputs).__name__}")
    occupied_logit = check_tensor("parser_loss", "outputs[0]", outputs[0])
    colour_logits = check_tensor("parser_loss", "outputs[1]", outputs[1], shape=(*occupied_logit.shape, len(COLOURS)))
    shape_logits = check_tensor("parser_loss", "outputs[2]", outputs[2], shape=(*occupied_logit.shape, len(SHAPES)))
    _check_labels("parser_loss", colour, shape, occupied_logit.shape)
    occupied = colour >= 0
    loss = nn.functional.binary_cross_entropy_with_logits(occupied_logit, occupied.float())
    if occupied.any():
        loss = loss + nn.functional.cross_entropy(colour_logits[occupied], colour[occupied]) \
            + nn.functional.cross_entropy(shape_logits[occupied], shape[occupied])
    return loss


def fit_scene_parser(parser: SceneParser, tiles: Tensor, colour: Tensor, shape: Tensor, *, epochs: int = 8,
                     batch_size: int = 1024, lr: float = 3e-3, progress: bool | None = None) -> list[float]:
    """Train a :class:`SceneParser` on cells (from :func:`cell_labels`) with Adam; returns the loss per epoch.

    Examples
    --------
    >>> colour = torch.tensor([[0, -1, -1, -1, -1, -1, -1, -1, -1]] * 2)
    >>> losses = fit_scene_parser(SceneParser(width=8), torch.rand(2, 9, 10, 10, 3), colour, colour, epochs=2,
    ...                           progress=False)
    >>> len(losses)
    2
    """
    check_positive("fit_scene_parser", epochs=epochs, batch_size=batch_size)
    if not isinstance(parser, SceneParser):
        raise TypeError(f"fit_scene_parser: parser must be a SceneParser, got {type(parser).__name__}")
    if not lr > 0:
        raise ValueError(f"fit_scene_parser: lr must be positive, got {lr!r}")
    _check_labels("fit_scene_parser", colour, shape, _check_tiles("fit_scene_parser", tiles).shape[:-3])
    device = get_device()
    tiles, colour, shape = (x.reshape(-1, *x.shape[len(colour.shape):]).to(device) for x in (tiles, colour, shape))
    losses = []
    with trained_on(parser, device):
        optimizer = torch.optim.Adam(parser.parameters(), lr=lr)
        for _ in trange(epochs, disable=not progress_enabled(progress), desc="epochs", leave=False):
            order, total = torch.randperm(len(colour)).to(device), 0.0
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                loss = parser_loss(parser(tiles[idx]), colour[idx], shape[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(idx)
            losses.append(total / len(order))
    return losses


@torch.no_grad()
def _predict(parser: SceneParser, tiles: Tensor, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    device = next(parser.parameters()).device
    occupied, colour, shape = parser.eval()(tiles.to(device))
    return ((torch.sigmoid(occupied) > threshold).cpu().numpy(), colour.argmax(-1).cpu().numpy(),
            shape.argmax(-1).cpu().numpy())


def parse_scene(parser: SceneParser, images: Tensor, threshold: float = 0.5) -> list[dict] | list[list[dict]]:
    """The table of objects the parser reads off an image ``(30, 30, 3)`` (or a list of tables for ``(n, 30, 30,
    3)``): one ``{"colour", "shape", "cell"}`` per cell whose occupancy probability exceeds ``threshold``.

    Examples
    --------
    >>> tables = parse_scene(SceneParser(width=8), torch.zeros(2, 30, 30, 3), threshold=0.99)
    >>> len(tables)   # one table per image (an untrained parser finds what chance gives)
    2
    """
    if not isinstance(parser, SceneParser):
        raise TypeError(f"parse_scene: parser must be a SceneParser, got {type(parser).__name__}")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        raise ValueError(f"parse_scene: threshold must be a number in (0, 1), got {threshold!r}")
    check_tensor("parse_scene", "images", images, dim=(3, 4), kind="any")
    single = isinstance(images, Tensor) and images.dim() == 3
    tiles = cell_tiles(images[None] if single else images)
    occupied, colour, shape = _predict(parser, tiles, threshold)
    tables = [[{"colour": COLOURS[c[k]], "shape": SHAPES[s[k]], "cell": int(k)} for k in np.flatnonzero(o)]
              for o, c, s in zip(occupied, colour, shape)]
    return tables[0] if single else tables


def parser_accuracy(parser: SceneParser, tiles: Tensor, colour: Tensor, shape: Tensor) -> dict[str, float]:
    """Accuracy per attribute: ``occupied`` over all cells, ``colour`` and ``shape`` over the occupied cells, and
    ``table``, the share of scenes whose whole table is right.

    Examples
    --------
    >>> colour = torch.tensor([[0, -1, -1, -1, -1, -1, -1, -1, -1]])
    >>> sorted(parser_accuracy(SceneParser(width=8), torch.rand(1, 9, 10, 10, 3), colour, colour))
    ['colour', 'occupied', 'shape', 'table']
    """
    if not isinstance(parser, SceneParser):
        raise TypeError(f"parser_accuracy: parser must be a SceneParser, got {type(parser).__name__}")
    _check_labels("parser_accuracy", colour, shape, _check_tiles("parser_accuracy", tiles).shape[:-3])
    occupied_hat, colour_hat, shape_hat = _predict(parser, tiles, 0.5)
    colour, shape = colour.numpy(), shape.numpy()
    occupied = colour >= 0
    cell_right = (occupied_hat == occupied) & (~occupied | ((colour_hat == colour) & (shape_hat == shape)))
    return {"occupied": float((occupied_hat == occupied).mean()),
            "colour": float((colour_hat == colour)[occupied].mean()),
            "shape": float((shape_hat == shape)[occupied].mean()),
            "table": float(cell_right.reshape(len(colour), -1).all(1).mean())}


def _question_program(question) -> list[tuple[str, str | None]]:
    """The program of a question given as a string, as its word ids (a tensor or array) or already as a program."""
    if isinstance(question, str):
        return parse(question)
    if isinstance(question, (Tensor, np.ndarray)):
        return parse(decode_question(question))
    return as_program(question)


def neuro_symbolic_answer(question, table: Sequence[Mapping], knowledge: Mapping[str, str] | None = None) -> str | None:
    """Answer a question (a string, its word ids, or a program) by executing its program on a table of objects.

    Returns the answer word, or ``None`` when the program cannot run on the table: a ``query_*`` step finds no
    object or several (a parser that missed or invented an object). ``None`` counts as a wrong answer.

    Examples
    --------
    >>> table = [{"colour": "red", "shape": "circle", "cell": 0}, {"colour": "blue", "shape": "square", "cell": 4}]
    >>> neuro_symbolic_answer("what colour is the object left of the blue square ?", table)
    'red'
    """
    program = _question_program(question)
    try:
        return execute(program, list(table), knowledge)
    except ValueError as err:
        if "needs exactly one object" in str(err):
            return None
        raise


def _describe(value, objects) -> str:
    if isinstance(value, list):
        return "{" + ", ".join(f"{objects[i]['colour']} {objects[i]['shape']} @{objects[i]['cell']}"
                               for i in value) + "}"
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def trace_table(question, table: Sequence[Mapping], knowledge: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The execution trace of a question (string or program) on a table, one row per step: ``step``, ``program
    step`` (``filter_colour[red]``) and ``value`` (a set as ``{red circle @0, …}`` with cells, a count, a yes/no
    or a word).

    Examples
    --------
    >>> table = [{"colour": "red", "shape": "circle", "cell": 0}, {"colour": "blue", "shape": "square", "cell": 4}]
    >>> trace_table("how many objects are left of the blue square ?", table)["value"].tolist()
    ['{red circle @0, blue square @4}', '{blue square @4}', '{blue square @4}', '{red circle @0}', '1']
    """
    program = _question_program(question)
    objects = list(table)
    values = execute_trace(program, objects, knowledge)
    return pd.DataFrame({"step": range(1, len(program) + 1),
                         "program step": [op if arg is None else f"{op}[{arg}]" for op, arg in program],
                         "value": [_describe(v, objects) for v in values]}).set_index("step")
