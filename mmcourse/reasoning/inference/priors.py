r"""Part 4.3: a language prior to learn and a test that reverses it (in the spirit of VQA-CP, Agrawal et al., 2018).

Two kinds of question about the scenes of the scene world, each with a word that predicts the answer in training:

- ``"exists"``: "is there a <colour> <shape> ?" or "is there a <colour> object ?", answered yes or no. In the
  training split the answer is "yes" with probability ``bias`` for the warm colours (red, yellow) and ``1 - bias``
  for the cold ones (green, blue).
- ``"colour"``: "what colour is the <shape> ?" (the scene holds one object of that shape), answered with one of the
  four colours. In the training split the object has its shape's usual colour (:data:`USUAL_COLOUR`: squares red,
  circles green, triangles blue) with probability ``bias``, and one of the three others otherwise.

``test_id`` has the same prior; ``test_ood`` reverses it (yes and no swap; the usual colour becomes the rare one,
with probability ``1 - bias``), so a model that leaned on the question alone falls below chance there.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from mmcourse.data._common import check_seed
from mmcourse.data.scene_questions import encode_question
from mmcourse.data.scenes import COLOURS, GRID, SHAPES, render_scene
from mmcourse.reasoning.concepts.programs import execute, parse
from mmcourse.utils import check_positive

__all__ = ["WARM_COLOURS", "USUAL_COLOUR", "PRIOR_ANSWERS", "language_prior_split"]

WARM_COLOURS = ("red", "yellow")
USUAL_COLOUR = {"square": "red", "circle": "green", "triangle": "blue"}  # yellow is nobody's usual colour
PRIOR_ANSWERS = {"exists": ("no", "yes"), "colour": COLOURS}  # the answers of each kind, in the order of their index
_OBJECT_KINDS = [(c, s) for c in range(len(COLOURS)) for s in range(len(SHAPES))]


def language_prior_split(n_train: int = 1500, n_test: int = 600, *, question: str = "exists", bias: float = 0.9,
                         min_objects: int = 3, max_objects: int = 5, noise: float = 0.05,
                         seed: int = 0) -> dict[str, dict[str, Tensor]]:
    """Generate questions whose answer one word predicts in training, and a test split where that prior is reversed.

    Parameters
    ----------
    n_train, n_test : int
        Rows of ``train`` and of each test split (``test_id``, ``test_ood``).
    question : {"exists", "colour"}
        The kind of question (see the module's text): yes/no with the colour word as the cue, or "what colour is
        the <shape> ?" with the shape word as the cue. Its answers, in index order, are :data:`PRIOR_ANSWERS`.
    bias : float
        In ``train`` and ``test_id``, the probability that the answer is the one the cue favours (yes for a warm
        colour, no for a cold one; a shape's usual colour); in ``test_ood`` that probability is ``1 - bias``. In
        [0, 1]; for ``"exists"``, 0.5 gives no prior, for ``"colour"``, 0.25.
    min_objects, max_objects : int
        Objects per scene (distinct kinds, 2 ≤ min ≤ max ≤ 6).
    noise : float
        Pixel noise (standard deviation ≥ 0).
    seed : int
        Seeds everything.

    Returns
    -------
    dict
        ``{"train", "test_id", "test_ood"}``, each a dict of tensors: ``image`` (N, 30, 30, 3), ``question``
        (N, 16) word ids, ``answer`` (N,) an index into ``PRIOR_ANSWERS[question]`` (1 = yes), ``prior`` (N,) the
        answer the cue favours, and the object table ``colour``, ``shape``, ``cell`` (N, max_objects), padded with -1.

    Example
    -------
    >>> data = language_prior_split(40, 40, bias=1.0)
    >>> bool((data["train"]["answer"] == data["train"]["prior"]).all())
    True
    >>> data = language_prior_split(40, 40, question="colour", bias=0.0)
    >>> bool((data["test_ood"]["answer"] == data["test_ood"]["prior"]).all())
    True
    """
    where = "language_prior_split"
    check_positive(where, n_train=n_train, n_test=n_test)
    if question not in PRIOR_ANSWERS:
        raise ValueError(f"{where}: question must be one of {sorted(PRIOR_ANSWERS)}, got {question!r}")
    if isinstance(bias, bool) or not isinstance(bias, (int, float)) or not 0 <= bias <= 1:
        raise ValueError(f"{where}: bias must be a probability in [0, 1], got {bias!r}")
    for name, value in (("min_objects", min_objects), ("max_objects", max_objects)):
        if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 6:
            raise ValueError(f"{where}: {name} must be an integer in 2..6, got {value!r}")
    if min_objects > max_objects:
        raise ValueError(f"{where}: min_objects must be ≤ max_objects, got {min_objects} > {max_objects}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not noise >= 0:
        raise ValueError(f"{where}: noise must be a number >= 0, got {noise!r}")
    rngs = np.random.default_rng(check_seed(seed, where)).spawn(3)
    splits = {"train": (n_train, bias), "test_id": (n_test, bias), "test_ood": (n_test, 1 - bias)}
    return {name: _split(rng, n, question, p_prior, min_objects, max_objects, noise)
            for (name, (n, p_prior)), rng in zip(splits.items(), rngs)}


def _exists_question(rng, p_prior: float, k: int) -> tuple[str, list[int], int]:
    """A yes/no question about a colour, and k kinds of object that answer it as drawn; the cue is warmth."""
    colour = COLOURS[int(rng.integers(len(COLOURS)))]
    shape = SHAPES[int(rng.integers(len(SHAPES)))] if rng.random() < 0.5 else None
    favoured = int(colour in WARM_COLOURS)  # yes for a warm colour, no for a cold one
    yes = rng.random() < (p_prior if favoured else 1 - p_prior)
    named = [i for i, (c, s) in enumerate(_OBJECT_KINDS)
             if COLOURS[c] == colour and (shape is None or SHAPES[s] == shape)]
    # a "yes" scene holds one named kind, a "no" scene none: the answer is drawn first, the scene to fit it
    if yes:
        first = int(rng.choice(named))
        chosen = [first, *rng.choice([i for i in range(len(_OBJECT_KINDS)) if i != first], size=k - 1, replace=False)]
    else:
        chosen = list(rng.choice([i for i in range(len(_OBJECT_KINDS)) if i not in named], size=k, replace=False))
    return f"is there a {colour} {shape or 'object'} ?", chosen, favoured


def _colour_question(rng, p_prior: float, k: int) -> tuple[str, list[int], int]:
    """A question about the colour of the one object of a shape; the cue is the shape's usual colour."""
    shape = int(rng.integers(len(SHAPES)))
    favoured = COLOURS.index(USUAL_COLOUR[SHAPES[shape]])
    others = [c for c in range(len(COLOURS)) if c != favoured]
    colour = favoured if rng.random() < p_prior else int(rng.choice(others))
    rest = [i for i, (c, s) in enumerate(_OBJECT_KINDS) if s != shape]  # the other objects have other shapes
    chosen = [colour * len(SHAPES) + shape, *rng.choice(rest, size=k - 1, replace=False)]
    return f"what colour is the {SHAPES[shape]} ?", chosen, favoured


def _split(rng, n: int, question: str, p_prior: float, min_objects: int, max_objects: int,
           noise: float) -> dict[str, Tensor]:
    draw, answers = (_exists_question if question == "exists" else _colour_question), PRIOR_ANSWERS[question]
    rows = {"image": [], "question": [], "answer": [], "prior": [], "colour": [], "shape": [], "cell": []}
    for _ in range(n):
        k = int(rng.integers(min_objects, max_objects + 1))
        text, chosen, favoured = draw(rng, p_prior, k)
        cells = np.sort(rng.choice(GRID * GRID, size=k, replace=False))
        order = rng.permutation(k)  # the object the question names is not always the first cell
        colours, shapes = [_OBJECT_KINDS[chosen[i]][0] for i in order], [_OBJECT_KINDS[chosen[i]][1] for i in order]
        objects = [{"colour": COLOURS[c], "shape": SHAPES[s], "cell": int(x)}
                   for c, s, x in zip(colours, shapes, cells)]
        answer = execute(parse(text), objects)  # the executor of Part 4.2 answers; the draw above only aimed
        rows["image"].append(render_scene(colours, shapes, cells, rng=rng, noise=noise))
        rows["question"].append(encode_question(text))
        rows["answer"].append(answers.index(answer))
        rows["prior"].append(favoured)
        for key, values in (("colour", colours), ("shape", shapes), ("cell", cells)):
            rows[key].append(np.pad(np.asarray(values), (0, max_objects - k), constant_values=-1))
    return {"image": torch.from_numpy(np.stack(rows["image"])), **{key: torch.as_tensor(np.stack(rows[key])).long()
            for key in ("question", "answer", "prior", "colour", "shape", "cell")}}

