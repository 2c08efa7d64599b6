r"""Storyboards: short sequences of captioned scenes, the input of multimodal summarization (Part 5.1).

A storyboard is ``frames`` scenes of the scene world (:func:`mmcourse.data.render_scene`) that share a **cast**:
``cast`` kinds of object (a kind is a pair colour, shape; twelve in all) drawn at random, with a salience that
falls with their rank, :math:`p_j \propto 1 / j`. Each frame shows :math:`k \sim U\{2, 3, 4\}` distinct kinds,
drawn from the cast with those probabilities, except that with probability ``extra`` one of them is a walk-on, a
kind outside the cast. So some kinds appear in most frames and others in one.

The two modalities are complementary in one direction, as in real captioned video: the **image** shows every object
of its frame, the **caption** names only one or two of them, chosen at random (``a red circle`` or
``a red circle and a blue square``, in reading order). A summarizer that reads only the captions cannot know what
only the images show. Column ``named`` marks the objects that the caption names.

Book section: Part 5.1 (summarization: extractive and abstractive summaries, coverage).
"""
from __future__ import annotations

import numpy as np
from datasets import Array4D, DatasetDict, Features, List, Value

from mmcourse.data._cache import cached
from mmcourse.data._common import check_seed, check_sizes, split_rngs, to_dataset_dict
from mmcourse.data.scenes import COLOURS, GRID, IMAGE_SIZE, SHAPES, encode_words, render_scene

__all__ = ["load_storyboards", "STORY_CAPTION_LENGTH", "MAX_FRAME_OBJECTS"]

MAX_FRAME_OBJECTS = 4  # objects per frame: 2 to 4
STORY_CAPTION_LENGTH = 7  # "a red circle and a blue square": at most two named objects
_KINDS = len(COLOURS) * len(SHAPES)


def _check_int(where: str, name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ValueError(f"{where}: {name} must be an integer in {low}..{high}, got {name}={value!r}")
    return int(value)


def _check_fraction(where: str, name: str, value, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or not 0 <= value <= high:
        raise ValueError(f"{where}: {name} must be a number in [0, {high}], got {name}={value!r}")
    return float(value)


def load_storyboards(*, n_train: int = 600, n_val: int = 100, n_test: int = 200, frames: int = 6, cast: int = 6,
                     extra: float = 0.3, noise: float = 0.05, seed: int = 0, cache: bool = True) -> DatasetDict:
    """Load (generate on first use) storyboards: sequences of ``frames`` captioned scenes that share a cast.

    Parameters
    ----------
    n_train, n_val, n_test : int
        Number of storyboards in the ``train``, ``validation`` and ``test`` splits.
    frames : int
        Scenes per storyboard, 2..12.
    cast : int
        Kinds of object in a storyboard's cast, 4..12 (a frame draws 2 to 4 of them).
    extra : float
        Probability in [0, 1] that a frame holds one walk-on, a kind outside the cast (none if ``cast = 12``).
    noise : float
        Standard deviation in [0, 1] of the pixel noise of the images.
    seed : int
        Seeds everything; each split has its own random stream.
    cache : bool
        Read and write the on-disk cache; ``False`` generates afresh.

    Returns
    -------
    DatasetDict
        Splits ``train``, ``validation``, ``test`` in torch format, with columns ``image`` (``Array4D``
        (frames, 30, 30, 3) float32 in [0, 1]); ``n_objects`` (frames,); ``colour``, ``shape``, ``cell`` and
        ``named`` (frames, 4) int32: the object tables of each frame in reading order, padded with -1, and 1 where
        the frame's caption names the object (0 elsewhere, -1 on padding); ``caption`` (frames, 7) word ids of
        :data:`mmcourse.data.VOCAB`, padded with 0.

    Examples
    --------
    >>> ds = load_storyboards(n_train=3, n_val=1, n_test=1, cache=False)
    >>> ds["train"]["image"][:].shape, ds["train"]["caption"][:].shape
    (torch.Size([3, 6, 30, 30, 3]), torch.Size([3, 6, 7]))
    """
    where = "load_storyboards"
    sizes = check_sizes(where, n_train=n_train, n_val=n_val, n_test=n_test)
    params = {**sizes, "frames": _check_int(where, "frames", frames, 2, 12),
              "cast": _check_int(where, "cast", cast, MAX_FRAME_OBJECTS, _KINDS),
              "extra": _check_fraction(where, "extra", extra), "noise": _check_fraction(where, "noise", noise),
              "seed": check_seed(seed, where)}
    return cached("storyboards", params, lambda: _generate(**params), cache)


def _generate(*, n_train: int, n_val: int, n_test: int, frames: int, cast: int, extra: float, noise: float,
              seed: int) -> DatasetDict:
    sizes = {"train": n_train, "validation": n_val, "test": n_test}
    columns = {}
    for split, rng in split_rngs(np.random.default_rng(seed)).items():
        rows = [_storyboard(rng, frames, cast, extra, noise) for _ in range(sizes[split])]
        columns[split] = {key: np.stack([row[key] for row in rows]) for key in rows[0]}
    table = List(List(Value("int32"), length=MAX_FRAME_OBJECTS), length=frames)
    features = Features({"image": Array4D((frames, IMAGE_SIZE, IMAGE_SIZE, 3), "float32"),
                         "n_objects": List(Value("int32"), length=frames), "colour": table, "shape": table,
                         "cell": table, "named": table,
                         "caption": List(List(Value("int32"), length=STORY_CAPTION_LENGTH), length=frames)})
    return to_dataset_dict(columns, features)


def _storyboard(rng: np.random.Generator, frames: int, cast: int, extra: float, noise: float) -> dict:
    kinds = rng.permutation(_KINDS)
    members, walk_ons = kinds[:cast], kinds[cast:]
    salience = 1.0 / np.arange(1, cast + 1)
    table = {key: np.full((frames, MAX_FRAME_OBJECTS), -1, dtype=np.int32)
             for key in ("colour", "shape", "cell", "named")}
    images, counts, captions = [], [], []
    for f in range(frames):
        k = int(rng.integers(2, MAX_FRAME_OBJECTS + 1))
        chosen = rng.choice(members, size=k, replace=False, p=salience / salience.sum())
        if len(walk_ons) and rng.random() < extra:
            chosen[-1] = walk_ons[int(rng.integers(len(walk_ons)))]
        cells = np.sort(rng.choice(GRID * GRID, size=k, replace=False))  # objects in reading order
        colour, shape = chosen // len(SHAPES), chosen % len(SHAPES)
        named = np.zeros(k, dtype=np.int32)
        named[rng.choice(k, size=int(rng.integers(1, 3)), replace=False)] = 1
        for key, values in (("colour", colour), ("shape", shape), ("cell", cells), ("named", named)):
            table[key][f, :k] = values
        caption = " and ".join(f"a {COLOURS[c]} {SHAPES[s]}" for c, s, n in zip(colour, shape, named) if n)
        images.append(render_scene(colour, shape, cells, rng=rng, noise=noise))
        counts.append(k)
        captions.append(encode_words(caption, STORY_CAPTION_LENGTH))
    return {"image": np.stack(images), "n_objects": np.array(counts, dtype=np.int32), **table,
            "caption": np.stack(captions)}
