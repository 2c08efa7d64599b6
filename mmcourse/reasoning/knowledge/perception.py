r"""Perception for Part 4.4: what each grid cell shows, and the fact questions as tensors.

:class:`ScenePerception` classifies each 10 × 10 cell of a scene into 13 classes, empty or one of the 12 kinds
(colour, shape), from the cell's 300 pixel values. Its output per cell is what the reasoners of
:mod:`mmcourse.reasoning.knowledge.retrieval` read: the probability :math:`\pi_i` that cell :math:`i` holds an object,
and the perceived attributes :math:`h_i \in [0, 1]^7`, the marginal probabilities of the four colours and the three
shapes (the coordinates of :data:`SUBJECTS`, the keys of the knowledge base):

.. math::

    \pi_i = 1 - P(\text{empty} \mid x_i), \qquad
    h_{i,c} = \frac{\sum_s P(c, s \mid x_i)}{\pi_i}, \quad h_{i,s} = \frac{\sum_c P(c, s \mid x_i)}{\pi_i}.

The fact questions ("how many hot objects ?", "is the blue square sharp ?") enter as their programs
(:func:`fact_codes`), which the reasoners execute softly. Book section: Part 4.4.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from mmcourse._checks import check_tensor
from mmcourse.data.scene_questions import PROPERTIES
from mmcourse.data.scenes import CELL, COLOURS, GRID, SHAPES, crop_regions
from mmcourse.reasoning.concepts.programs import as_program, check_program

__all__ = ["ScenePerception", "perception_data", "fact_codes", "fact_inputs"]

CELLS = GRID * GRID


class ScenePerception(nn.Module):
    """A cell classifier: 300 pixels → 13 classes (0 = empty, 1 + 3·colour + shape = a kind); Part 4.4.

    Parameters
    ----------
    hidden : int
        Width of the hidden layer.

    Examples
    --------
    >>> presence, attributes = ScenePerception().attributes(torch.zeros(2, 30, 30, 3))
    >>> tuple(presence.shape), tuple(attributes.shape)
    ((2, 9), (2, 9, 7))
    """

    def __init__(self, hidden: int = 64):
        super().__init__()
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"ScenePerception: hidden must be a positive integer, got {hidden!r}")
        classes = 1 + len(COLOURS) * len(SHAPES)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(CELL * CELL * 3, hidden), nn.ReLU(),
                                 nn.Linear(hidden, classes))

    def forward(self, crops: Tensor) -> Tensor:
        """Logits (n, 13) of cell crops (n, 10, 10, 3)."""
        if not isinstance(crops, Tensor) or tuple(crops.shape[1:]) != (CELL, CELL, 3):
            raise ValueError(f"ScenePerception: crops must be a tensor (n, {CELL}, {CELL}, 3), got "
                             f"{tuple(getattr(crops, 'shape', ()))}")
        check_tensor("ScenePerception", "crops", crops)
        return self.net(crops)

    @torch.no_grad()
    def attributes(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """``presence`` (n, 9) and ``attributes`` (n, 9, 7) of whole images (n, 30, 30, 3)."""
        if not isinstance(images, Tensor) or images.dim() != 4:
            raise ValueError(f"ScenePerception.attributes: images must be a tensor (n, 30, 30, 3), got "
                             f"{tuple(getattr(images, 'shape', ()))}")
        device = next(self.parameters()).device
        images = images.to(device=device, dtype=torch.float32)
        n = images.shape[0]
        crops = crop_regions(images, torch.arange(CELLS, device=device).expand(n, CELLS))
        p = self.forward(crops.reshape(n * CELLS, CELL, CELL, 3)).softmax(-1).reshape(n, CELLS, -1)
        presence = 1 - p[..., 0]
        kinds = p[..., 1:].reshape(n, CELLS, len(COLOURS), len(SHAPES)) / presence.clamp_min(1e-6)[..., None, None]
        return presence.cpu(), torch.cat([kinds.sum(-1), kinds.sum(-2)], dim=-1).cpu()


def perception_data(split) -> tuple[list[Tensor], Tensor]:
    """The cells of a split of :func:`mmcourse.data.load_scene_questions` as ``([crops], labels)`` for
    :func:`mmcourse.training.fit`: every cell of every scene, labelled 0 (empty) or ``1 + 3·colour + shape``.

    Examples
    --------
    >>> from mmcourse.data import load_scene_questions
    >>> split = load_scene_questions(n_train=2, n_val=1, n_test=1, n_heldout=1, cache=False)["train"]
    >>> [crops], labels = perception_data(split)
    >>> tuple(crops.shape), tuple(labels.shape)
    ((18, 10, 10, 3), (18,))
    """
    columns = _columns(split, ("image", "colour", "shape", "cell"), "perception_data")
    images = columns["image"]
    n = images.shape[0]
    crops = crop_regions(images, torch.arange(CELLS).expand(n, CELLS)).reshape(n * CELLS, CELL, CELL, 3)
    labels = torch.zeros(n, CELLS, dtype=torch.long)
    colour, shape, cell = (columns[key].long() for key in ("colour", "shape", "cell"))
    rows = torch.arange(n)[:, None].expand_as(cell)
    mask = cell >= 0
    labels[rows[mask], cell[mask]] = 1 + len(SHAPES) * colour[mask] + shape[mask]
    return [crops], labels.reshape(-1)


def fact_codes(program) -> list[int]:
    """A fact program as four integers ``[colour, shape, property, kind]``: the indices of the colour and shape
    filters before ``filter_fact`` (-1 when absent), of the property, and the last step (0 = count, 1 = exists).

    Examples
    --------
    >>> fact_codes(["scene", "filter_colour[blue]", "filter_shape[square]", "filter_fact[sharp]", "exists"])
    [2, 0, 2, 1]
    """
    steps = as_program(program)
    check_program(steps)                      # unknown operations and arguments are named there
    ops = [op for op, _ in steps]
    known = ("scene", "filter_colour", "filter_shape", "filter_fact", "count", "exists")
    if ops[:1] != ["scene"] or ops[-2:-1] != ["filter_fact"] or ops[-1:] not in (["count"], ["exists"]) \
            or any(op not in known or ops.count(op) > 1 for op in ops):
        raise ValueError(f"fact_codes: expected scene → [filter_colour] → [filter_shape] → filter_fact → "
                         f"count or exists, got {' → '.join(ops)}")
    args = dict(steps)
    return [COLOURS.index(args["filter_colour"]) if "filter_colour" in args else -1,
            SHAPES.index(args["filter_shape"]) if "filter_shape" in args else -1,
            PROPERTIES.index(args["filter_fact"]), int(ops[-1] == "exists")]


def fact_inputs(split, perception: ScenePerception) -> tuple[list[Tensor], Tensor]:
    """A split of fact questions as ``([presence, attributes, codes], answers)`` for :func:`mmcourse.training.fit`
    and the reasoners: perception (n, 9) and (n, 9, 7), :func:`fact_codes` (n, 4), answer indices (n,).

    Examples
    --------
    >>> from mmcourse.data import load_scene_questions
    >>> split = load_scene_questions(n_train=2, n_val=1, n_test=1, n_heldout=1, cache=False,
    ...                              families=("fact_count", "fact_exists"))["train"]
    >>> [presence, attributes, codes], answers = fact_inputs(split, ScenePerception())
    >>> tuple(presence.shape), tuple(attributes.shape), tuple(codes.shape), tuple(answers.shape)
    ((2, 9), (2, 9, 7), (2, 4), (2,))
    """
    if not isinstance(perception, ScenePerception):
        raise TypeError(f"fact_inputs: perception must be a ScenePerception, got {type(perception).__name__}")
    columns = _columns(split, ("image", "program", "answer"), "fact_inputs")
    presence, attributes = perception.attributes(columns["image"])
    codes = torch.tensor([fact_codes(p) for p in columns["program"]], dtype=torch.long)
    return [presence, attributes, codes], columns["answer"].long()


def _columns(split, keys: tuple[str, ...], where: str) -> dict:
    """The columns of a dataset split (or of a dict of columns), read in one go: tensors, and lists of programs."""
    try:
        batch = split[:] if hasattr(split, "with_format") else split
        columns = {key: batch[key] for key in keys}
    except (KeyError, TypeError):
        raise ValueError(f"{where}: split must be a split of load_scene_questions with the columns {keys}, got "
                         f"{type(split).__name__}") from None
    return {key: value if key == "program" else torch.as_tensor(np.asarray(value)) for key, value in columns.items()}
