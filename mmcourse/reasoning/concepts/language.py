r"""Language as the intermediate medium (Part 4.2): describe the scene in words, then answer from the words alone.

Socratic models (Zeng et al., 2023, *Socratic Models: Composing Zero-Shot Multimodal Reasoning with Language*) join
a vision model and a language model through text: the first describes, the second reads and reasons. Here a learned
:class:`SceneDescriber` names what each cell shows, as one phrase of the scene world's words,

.. math::

    P(\text{phrase}_i \mid \text{tile}_i) = \mathrm{softmax}\big(W\, \mathrm{MLP}(\mathrm{vec}(\text{tile}_i))\big),
    \qquad \text{phrase} \in \{\texttt{nothing}, \texttt{red square}, …, \texttt{yellow triangle}\},

:func:`describe_table` writes the objects as a sentence ("a red circle at the top left and a blue square at the
centre"), and :func:`read_description` answers a question from that sentence and the question's words only. The
describer writes before it sees the question: what it leaves out (``positions=False`` drops where things are) no
reader can get back.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from mmcourse.data.scenes import CELL, COLOURS, GRID, SHAPES
from mmcourse.reasoning.concepts.attention import cell_tiles
from mmcourse._checks import check_tensor
from mmcourse.reasoning.concepts.symbolic import _check_labels, _check_tiles, _question_program, neuro_symbolic_answer
from mmcourse.training import History, fit
from mmcourse.utils import check_positive

__all__ = ["PHRASES", "POSITIONS", "SceneDescriber", "fit_describer", "describe_table", "describe_scene",
           "read_description"]

PHRASES = ("nothing", *(f"{c} {s}" for c in COLOURS for s in SHAPES))  # what a cell can show, as one phrase
POSITIONS = ("top left", "top", "top right", "left", "centre", "right", "bottom left", "bottom", "bottom right")
_CELL_OF = {words: cell for cell, words in enumerate(POSITIONS)}


class SceneDescriber(nn.Module):
    r"""For each 10×10 cell, the phrase it shows: ``nothing`` or one of the 12 ``colour shape`` phrases.

    :math:`P(\text{phrase} \mid \text{tile}) = \mathrm{softmax}(W\,\mathrm{MLP}(\mathrm{vec}(\text{tile})))` over
    :data:`PHRASES`. A phrase is one unit, as a captioner's vocabulary of phrases would be: unlike
    :class:`mmcourse.reasoning.SceneParser`, which predicts colour and shape apart, it can only say phrases it
    saw in training. Book section: Part 4.2 (language as the intermediate medium; Zeng et al., 2023).

    Parameters
    ----------
    width : int
        Width of the MLP's two hidden layers.

    Examples
    --------
    >>> tuple(SceneDescriber(width=8)(torch.zeros(2, 9, 10, 10, 3)).shape)
    (2, 9, 13)
    """

    def __init__(self, width: int = 64):
        super().__init__()
        check_positive("SceneDescriber", width=width)
        self.net = nn.Sequential(nn.Flatten(-3), nn.Linear(CELL * CELL * 3, width), nn.ReLU(),
                                 nn.Linear(width, width), nn.ReLU(), nn.Linear(width, len(PHRASES)))

    def forward(self, tiles: Tensor) -> Tensor:
        return self.net(_check_tiles("SceneDescriber", tiles).float())


def fit_describer(describer: SceneDescriber, tiles: Tensor, colour: Tensor, shape: Tensor, *, epochs: int = 8,
                  batch_size: int = 1024, lr: float = 3e-3, progress: bool | None = None) -> History:
    """Train a :class:`SceneDescriber` on cells and their labels (as :func:`mmcourse.reasoning.cell_labels` gives
    them; colour -1 is an empty cell, the phrase ``nothing``) with :func:`mmcourse.training.fit`.

    Examples
    --------
    >>> colour = torch.tensor([[0, -1, -1, -1, -1, -1, -1, -1, -1]] * 2)
    >>> history = fit_describer(SceneDescriber(width=8), torch.rand(2, 9, 10, 10, 3), colour, colour, epochs=2,
    ...                         progress=False)
    >>> len(history.train_loss)
    2
    """
    if not isinstance(describer, SceneDescriber):
        raise TypeError(f"fit_describer: describer must be a SceneDescriber, got {type(describer).__name__}")
    _check_labels("fit_describer", colour, shape, _check_tiles("fit_describer", tiles).shape[:-3])
    phrase = torch.where(colour >= 0, 1 + colour * len(SHAPES) + shape, 0)  # index into PHRASES
    return fit(describer, ([tiles.reshape(-1, CELL, CELL, 3)], phrase.reshape(-1)), epochs=epochs, lr=lr,
               batch_size=batch_size, progress=progress)


def describe_table(table: Sequence[Mapping], positions: bool = True) -> str:
    """A table of objects as a sentence, objects in reading order: ``"a red circle at the top left and a blue square
    at the centre"``; without ``positions``, the scene world's caption: ``"a red circle and a blue square"``.

    Examples
    --------
    >>> describe_table([{"colour": "blue", "shape": "square", "cell": 4},
    ...                 {"colour": "red", "shape": "circle", "cell": 0}])
    'a red circle at the top left and a blue square at the centre'
    """
    if isinstance(table, (str, Mapping)) or not isinstance(table, Sequence):
        raise ValueError(f"describe_table: table must be a list of objects, got {type(table).__name__}")
    for obj in table:
        if not isinstance(obj, Mapping) or obj.get("colour") not in COLOURS or obj.get("shape") not in SHAPES \
                or obj.get("cell") not in range(GRID * GRID):
            raise ValueError(f"describe_table: each object must be a dict with a colour of {COLOURS}, a shape of "
                             f"{SHAPES} and a cell in 0..8, got {obj!r}")
    return " and ".join(f"a {o['colour']} {o['shape']}" + (f" at the {POSITIONS[o['cell']]}" if positions else "")
                        for o in sorted(table, key=lambda o: o["cell"]))


@torch.no_grad()
def describe_scene(describer: SceneDescriber, images: Tensor, positions: bool = True) -> str | list[str]:
    """What the describer says about an image ``(30, 30, 3)``, or a list of sentences for ``(n, 30, 30, 3)``.

    Examples
    --------
    >>> sentences = describe_scene(SceneDescriber(width=8), torch.zeros(2, 30, 30, 3))
    >>> len(sentences)   # one sentence per image (an untrained describer says what chance gives)
    2
    """
    if not isinstance(describer, SceneDescriber):
        raise TypeError(f"describe_scene: describer must be a SceneDescriber, got {type(describer).__name__}")
    check_tensor("describe_scene", "images", images, dim=(3, 4), kind="any")
    single = isinstance(images, Tensor) and images.dim() == 3
    tiles = cell_tiles(images[None] if single else images)
    phrases = describer.eval()(tiles.to(next(describer.parameters()).device)).argmax(-1).cpu().tolist()
    sentences = [describe_table([{"colour": PHRASES[p].split()[0], "shape": PHRASES[p].split()[1], "cell": k}
                                 for k, p in enumerate(row) if p != 0], positions) for row in phrases]
    return sentences[0] if single else sentences


def _read_objects(description: str) -> tuple[list[dict], bool]:
    """The objects a sentence of :func:`describe_table` names, and whether it gave their positions."""
    if not isinstance(description, str):
        raise ValueError(f"read_description: description must be a str, got {type(description).__name__}")
    objects, positioned = [], []
    for k, phrase in enumerate(filter(None, description.split(" and "))):
        words = phrase.split()
        where = " ".join(words[5:])
        if len(words) < 3 or words[0] != "a" or words[1] not in COLOURS or words[2] not in SHAPES \
                or (len(words) > 3 and (words[3:5] != ["at", "the"] or where not in _CELL_OF)):
            raise ValueError(f"read_description: phrase {k} {phrase!r} is not 'a <colour> <shape> [at the "
                             f"<position>]' with a position of {POSITIONS}")
        positioned.append(len(words) > 3)
        objects.append({"colour": words[1], "shape": words[2], "cell": _CELL_OF.get(where, k)})
    if len(set(positioned)) > 1:
        raise ValueError("read_description: either every object or none has a position")
    return objects, all(positioned)


def read_description(description: str, question, knowledge: Mapping[str, str] | None = None) -> str | None:
    """Answer a question from a scene's description alone: read the objects back from the words, execute the
    question's program on them.

    Returns the answer, or ``None`` when the words do not hold it: a relation (left of, above, …) asked about a
    description without positions, or a ``query`` that finds no object or several.

    Examples
    --------
    >>> read_description("a red circle at the top left and a blue square at the centre",
    ...                  "what colour is the object left of the blue square ?")
    'red'
    >>> read_description("a red circle and a blue square", "what colour is the object left of the blue square ?")
    """
    objects, positioned = _read_objects(description)
    program = _question_program(question)
    if not positioned and any(op == "relate" for op, _ in program):
        return None  # the describer dropped the positions before it knew they would be asked about
    return neuro_symbolic_answer(program, objects, knowledge)
