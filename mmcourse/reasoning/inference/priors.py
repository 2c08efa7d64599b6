r"""Part 4.3: a language prior to learn and a test that reverses it (in the spirit of VQA-CP, Agrawal et al., 2018).

Every question is "is there a <colour> <shape> ?" or "is there a <colour> object ?" about a scene of the scene world.
In the training split the colour word alone predicts the answer most of the time: "yes" with probability ``bias``
for the warm colours (red, yellow) and ``1 - bias`` for the cold ones (green, blue). ``test_id`` has the same prior;
``test_ood`` reverses it, so a model that leaned on the question alone falls below chance there.
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

__all__ = ["WARM_COLOURS", "language_prior_split"]

WARM_COLOURS = ("red", "yellow")


def language_prior_split(n_train: int = 1500, n_test: int = 600, *, bias: float = 0.9, min_objects: int = 3,
                         max_objects: int = 5, noise: float = 0.05, seed: int = 0) -> dict[str, dict[str, Tensor]]:
    """Generate yes/no questions whose answer the question's colour predicts in training, and the reverse in test.

    Parameters
    ----------
    n_train, n_test : int
        Rows of ``train`` and of each test split (``test_id``, ``test_ood``).
    bias : float
        In ``train`` and ``test_id``, P(yes) is ``bias`` for a warm colour (:data:`WARM_COLOURS`) and ``1 - bias``
        for a cold one; ``test_ood`` swaps the two. ``bias = 0.5`` gives no prior. In [0, 1].
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
        (N, 16) word ids, ``answer`` (N,) 1 = yes, ``warm`` (N,) 1 where the question names a warm colour, and the
        object table ``colour``, ``shape``, ``cell`` (N, max_objects), padded with -1.

    Example
    -------
    >>> data = language_prior_split(40, 40, bias=1.0)
    >>> bool((data["train"]["answer"] == data["train"]["warm"]).all())
    True
    """
    where = "language_prior_split"
    check_positive(where, n_train=n_train, n_test=n_test)
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
    return {name: _split(rng, n, p_warm, min_objects, max_objects, noise)
            for (name, (n, p_warm)), rng in zip(splits.items(), rngs)}


def _split(rng, n: int, p_warm: float, min_objects: int, max_objects: int, noise: float) -> dict[str, Tensor]:
    kinds = [(c, s) for c in range(len(COLOURS)) for s in range(len(SHAPES))]
    rows = {"image": [], "question": [], "answer": [], "warm": [], "colour": [], "shape": [], "cell": []}
    for _ in range(n):
        colour = COLOURS[int(rng.integers(len(COLOURS)))]
        shape = SHAPES[int(rng.integers(len(SHAPES)))] if rng.random() < 0.5 else None
        warm = colour in WARM_COLOURS
        yes = rng.random() < (p_warm if warm else 1 - p_warm)
        named = [i for i, (c, s) in enumerate(kinds) if COLOURS[c] == colour and (shape is None or SHAPES[s] == shape)]
        others = [i for i in range(len(kinds)) if i not in named]
        k = int(rng.integers(min_objects, max_objects + 1))
        # a "yes" scene holds one named kind, a "no" scene none: the answer is drawn first, the scene to fit it
        if yes:
            first = int(rng.choice(named))
            chosen = [first, *rng.choice([i for i in range(len(kinds)) if i != first], size=k - 1, replace=False)]
        else:
            chosen = list(rng.choice(others, size=k, replace=False))
        cells = np.sort(rng.choice(GRID * GRID, size=k, replace=False))
        colours, shapes = [kinds[i][0] for i in chosen], [kinds[i][1] for i in chosen]
        text = f"is there a {colour} {shape or 'object'} ?"
        objects = [{"colour": COLOURS[c], "shape": SHAPES[s], "cell": int(x)}
                   for c, s, x in zip(colours, shapes, cells)]
        answer = execute(parse(text), objects)
        if (answer == "yes") != yes:  # cannot happen: the scene was drawn to fit the answer
            raise RuntimeError(f"{text!r} on {objects}: drew {'yes' if yes else 'no'}, executed {answer}")
        rows["image"].append(render_scene(colours, shapes, cells, rng=rng, noise=noise))
        rows["question"].append(encode_question(text))
        rows["answer"].append(int(yes))
        rows["warm"].append(int(warm))
        for key, values in (("colour", colours), ("shape", shapes), ("cell", cells)):
            rows[key].append(np.pad(np.asarray(values), (0, max_objects - k), constant_values=-1))
    return {"image": torch.from_numpy(np.stack(rows["image"])), **{key: torch.as_tensor(np.stack(rows[key])).long()
            for key in ("question", "answer", "warm", "colour", "shape", "cell")}}
