r"""Scenes: a tiny CLEVR, coloured shapes on a 3×3 grid, rendered as images, with captions, questions and answers.

Each scene places 2 to 4 objects (``min_objects`` … ``max_objects``) in distinct cells of a 3×3 grid. An object is
a colour (red, green, blue, yellow) and a shape (square, circle, triangle); no two objects of one scene share both,
so that "the red circle" always names one object and a caption's phrases match the objects one to one. The scene is
rendered as a 30×30 RGB image (each cell 10×10 pixels, black background): every object gets a random size
:math:`r \sim U(3, 4.2)` pixels, a sub-pixel offset :math:`U(-0.5, 0.5)^2` from its cell's centre and a brightness
:math:`\beta \sim U(0.75, 1)` that scales its colour, and every pixel gets noise,
:math:`x = \mathrm{clip}_{[0, 1]}(\beta\, c\, \mathbb 1_{\text{shape}} + \sigma \varepsilon)`.

The **caption** lists the objects in reading order (row by row, left to right): ``a red circle and a blue square``,
so its t-th phrase (``colour shape``) names the t-th object. The **question** is one of five templates, chosen
uniformly among those that make sense for the scene:

==================  ====================================  =========================================
type                example                               answer
==================  ====================================  =========================================
``count_colour``    how many red objects ?                ``0`` … ``9``
``count_shape``     how many circles ?                    ``0`` … ``9``
``query_colour``    what colour is the circle ?           a colour (only if one circle is there)
``query_shape``     what shape is the red object ?        a shape (only if one red object is there)
``exists``          is there a red circle ?               ``yes`` / ``no`` (balanced)
==================  ====================================  =========================================

The construction follows the spirit of CLEVR (Johnson et al., 2017, *CLEVR: A Diagnostic Dataset for
Compositional Language and Elementary Visual Reasoning*) at a size that trains on a CPU in seconds. Book
sections: Part 3.1 (word-to-object matching), Part 4 (reasoning) and Part 5 (translation between image and text).
"""
from __future__ import annotations

import numpy as np
import torch
from datasets import Array3D, ClassLabel, DatasetDict, Features, List, Value

from mmcourse.data._cache import cached
from mmcourse.data._common import check_seed, check_sizes, split_rngs, to_dataset_dict

__all__ = ["COLOURS", "SHAPES", "GRID", "CELL", "IMAGE_SIZE", "VOCAB", "ANSWERS", "QUESTION_TYPES",
           "load_scenes", "render_scene", "crop_regions", "encode_words", "decode_words", "phrase_tokens"]

COLOURS = ("red", "green", "blue", "yellow")
SHAPES = ("square", "circle", "triangle")
GRID = 3  # cells per side
CELL = 10  # pixels per cell side
IMAGE_SIZE = GRID * CELL
RGB = np.array([[0.9, 0.1, 0.1], [0.1, 0.8, 0.2], [0.15, 0.3, 0.95], [0.95, 0.85, 0.1]])  # one row per colour
PLURALS = ("squares", "circles", "triangles")
VOCAB = ("<pad>", "a", "and", *COLOURS, *SHAPES, *PLURALS, "how", "many", "objects", "what", "colour", "shape", "is",
         "the", "object", "there", "?")
ANSWERS = (*(str(k) for k in range(GRID * GRID + 1)), *COLOURS, *SHAPES, "yes", "no")
QUESTION_TYPES = ("count_colour", "count_shape", "query_colour", "query_shape", "exists")
QUESTION_LENGTH = 7  # "what shape is the red object ?"
SIZE_RANGE = (3.0, 4.2)  # object radius in pixels
BRIGHTNESS_RANGE = (0.75, 1.0)
_PIXELS = np.mgrid[0:CELL, 0:CELL] + 0.5  # the centres of a cell's pixels, (y, x)
_INDEX = {word: i for i, word in enumerate(VOCAB)}


def encode_words(text: str | list[str], length: int | None = None, *, vocab: tuple[str, ...] = VOCAB) -> np.ndarray:
    """Token ids of a space-separated text (or a list of words), padded with 0 (``<pad>``) to ``length``.

    ``vocab`` is :data:`VOCAB` (captions, Part 3's questions) or a larger vocabulary that starts with it, such as
    :data:`mmcourse.data.QUESTION_VOCAB` (the reasoning questions of Part 4).

    Examples
    --------
    >>> encode_words("a red circle", length=5)
    array([1, 3, 8, 0, 0], dtype=int32)
    """
    words = text.split() if isinstance(text, str) else list(text)
    index = _INDEX if vocab is VOCAB else {word: i for i, word in enumerate(vocab)}
    unknown = [w for w in words if w not in index]
    if unknown:
        raise ValueError(f"encode_words: unknown word(s) {unknown}; the vocabulary is {list(vocab)}")
    if length is not None and len(words) > length:
        raise ValueError(f"encode_words: the text has {len(words)} words, more than length={length}")
    ids = np.zeros(len(words) if length is None else length, dtype=np.int32)
    ids[:len(words)] = [index[w] for w in words]
    return ids


def decode_words(ids, *, vocab: tuple[str, ...] = VOCAB) -> str:
    """The text of token ids (of ``vocab``, see :func:`encode_words`), padding dropped.

    Examples
    --------
    >>> decode_words([1, 3, 8, 0, 0])
    'a red circle'
    """
    ids = np.asarray(ids.cpu() if isinstance(ids, torch.Tensor) else ids).ravel()
    if ids.dtype.kind not in "iu" or ((ids < 0) | (ids >= len(vocab))).any():
        raise ValueError(f"decode_words: ids must be integers in 0..{len(vocab) - 1}, got {ids.tolist()}")
    return " ".join(vocab[i] for i in ids if i != 0)


def phrase_tokens(colour, shape) -> np.ndarray:
    """The word ids of the phrases ``colour shape`` of objects, shape ``(..., 2)``; padded objects (-1) give 0s.

    Examples
    --------
    >>> phrase_tokens([0, 2, -1], [1, 0, -1]).tolist()   # red circle, blue square, padding
    [[3, 8], [5, 7], [0, 0]]
    """
    colour, shape = (np.asarray(v.cpu() if isinstance(v, torch.Tensor) else v) for v in (colour, shape))
    if colour.shape != shape.shape:
        raise ValueError(f"phrase_tokens: colour and shape must have the same shape, got {colour.shape} and "
                         f"{shape.shape}")
    valid = colour >= 0
    words = np.stack([np.where(valid, colour + _INDEX[COLOURS[0]], 0),
                      np.where(valid, shape + _INDEX[SHAPES[0]], 0)], axis=-1)
    return words.astype(np.int64)


def _shape_mask(shape: int, cy: float, cx: float, r: float) -> np.ndarray:
    """Boolean (CELL, CELL) mask of a shape centred at (cy, cx) in cell pixel coordinates."""
    y, x = _PIXELS
    if SHAPES[shape] == "square":  # side 1.7 r: about the area of the circle
        return (np.abs(y - cy) <= 0.85 * r) & (np.abs(x - cx) <= 0.85 * r)
    if SHAPES[shape] == "circle":
        return (y - cy) ** 2 + (x - cx) ** 2 <= r ** 2
    top, bottom = cy - r, cy + 0.8 * r  # a triangle pointing up
    return (y >= top) & (y <= bottom) & (np.abs(x - cx) <= (y - top) / (bottom - top) * r)


def _indices(name: str, values) -> np.ndarray:
    """``values`` (a sequence of int, or one int) as a flat int64 array; refuses strings, fractions, nesting."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    try:
        array = np.asarray(values)
    except ValueError as exc:  # ragged nesting
        raise ValueError(f"render_scene: {name} must hold integer indices (one per object), got {values!r}") from exc
    integral = array.dtype.kind in "iu" or (array.dtype.kind == "f" and np.isfinite(array).all()
                                            and (array == np.round(array)).all())
    if array.ndim > 1 or array.dtype == bool or not integral:
        raise ValueError(f"render_scene: {name} must hold integer indices (one per object), got {values!r}")
    return array.astype(np.int64).ravel()


def render_scene(colour, shape, cell, *, rng: np.random.Generator | None = None, noise: float = 0.0) -> np.ndarray:
    """Draw one scene: objects ``(colour[t], shape[t])`` in cells ``cell[t]`` (row-major, 0..8; -1 is padding).

    Parameters
    ----------
    colour, shape, cell : sequences of int, same length
        Indices into :data:`COLOURS`, :data:`SHAPES` and the grid's cells; entries with ``cell = -1`` are skipped.
    rng : numpy.random.Generator, optional
        Draws each object's size, offset and brightness and the pixel noise. ``None`` draws the canonical scene:
        radius 4, centred, full brightness, no noise.
    noise : float
        Standard deviation of the pixel noise (used only with ``rng``).

    Returns
    -------
    numpy.ndarray
        float32 image of shape ``(30, 30, 3)`` (height, width, RGB) with values in [0, 1].

    Examples
    --------
    >>> image = render_scene([0], [1], [4])          # a red circle in the centre cell
    >>> image.shape, image[15, 15].astype(float).round(2).tolist(), image[0, 0].tolist()
    ((30, 30, 3), [0.9, 0.1, 0.1], [0.0, 0.0, 0.0])
    """
    colour, shape, cell = (_indices(name, v) for name, v in (("colour", colour), ("shape", shape), ("cell", cell)))
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(f"render_scene: rng must be a numpy.random.Generator (np.random.default_rng(seed)) or None, "
                        f"got {type(rng).__name__}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.integer, np.floating)) \
            or not 0 <= noise < np.inf:
        raise ValueError(f"render_scene: noise must be a finite number ≥ 0 (a standard deviation), got {noise!r}")
    if not colour.shape == shape.shape == cell.shape:
        raise ValueError(f"render_scene: colour, shape and cell must have the same length, got {len(colour)}, "
                         f"{len(shape)} and {len(cell)}")
    keep = cell >= 0
    for name, values, size in (("colour", colour, len(COLOURS)), ("shape", shape, len(SHAPES)),
                               ("cell", cell, GRID * GRID)):
        if ((values[keep] < 0) | (values[keep] >= size)).any():
            raise ValueError(f"render_scene: {name} must hold indices in 0..{size - 1}, got {values.tolist()}")
    if len(set(cell[keep].tolist())) < keep.sum():
        raise ValueError(f"render_scene: two objects in one cell, got cell={cell.tolist()}")
    image = np.zeros((IMAGE_SIZE, IMAGE_SIZE, 3))
    for c, s, k in zip(colour[keep], shape[keep], cell[keep]):
        if rng is None:
            r, dy, dx, brightness = 4.0, 0.0, 0.0, 1.0
        else:
            r, (dy, dx) = rng.uniform(*SIZE_RANGE), rng.uniform(-0.5, 0.5, 2)
            brightness = rng.uniform(*BRIGHTNESS_RANGE)
        mask = _shape_mask(s, CELL / 2 + dy, CELL / 2 + dx, r)
        row, col = divmod(int(k), GRID)
        image[row * CELL:(row + 1) * CELL, col * CELL:(col + 1) * CELL][mask] = brightness * RGB[c]
    if rng is not None and noise > 0:
        image = image + noise * rng.standard_normal(image.shape)
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def crop_regions(images, cells):
    """The object regions: the 10×10 cell of each object, cut out of its image.

    Parameters
    ----------
    images : numpy.ndarray or torch.Tensor, shape (30, 30, 3) or (n, 30, 30, 3)
    cells : array-like of int, shape (k,) or (n, k)
        The cell of each object (row-major, 0..8); -1 marks padding and gives a region of zeros.

    Returns
    -------
    numpy.ndarray or torch.Tensor (the kind of ``images``), shape (k, 10, 10, 3) or (n, k, 10, 10, 3)

    Examples
    --------
    >>> regions = crop_regions(render_scene([0, 2], [1, 0], [4, 8]), [8, 4, -1])
    >>> regions.shape, regions[0, 5, 5].astype(float).round(2).tolist(), float(regions[2].max())
    ((3, 10, 10, 3), [0.15, 0.3, 0.95], 0.0)
    """
    where = "crop_regions"
    is_numpy = not isinstance(images, torch.Tensor)
    x = torch.as_tensor(np.asarray(images) if is_numpy else images)
    k = torch.as_tensor(np.asarray(cells) if not isinstance(cells, torch.Tensor) else cells)
    single = x.dim() == 3
    if single:
        x, k = x[None], k[None]
    if x.dim() != 4 or tuple(x.shape[1:]) != (IMAGE_SIZE, IMAGE_SIZE, 3):
        raise ValueError(f"{where}: images must have shape ({IMAGE_SIZE}, {IMAGE_SIZE}, 3) or (n, {IMAGE_SIZE}, "
                         f"{IMAGE_SIZE}, 3), got {tuple(np.shape(images))}")
    if k.dim() != 2 or k.shape[0] != x.shape[0] or k.is_floating_point():
        raise ValueError(f"{where}: cells must be integers of shape (k,) or (n, k) matching {x.shape[0]} image(s), "
                         f"got shape {tuple(k.shape)}")
    if ((k < -1) | (k >= GRID * GRID)).any():
        raise ValueError(f"{where}: cells must be in -1..{GRID * GRID - 1}, got {k.tolist()}")
    if x.is_floating_point() and not torch.isfinite(x).all():
        raise ValueError(f"{where}: images contains NaN or infinite values")
    n = x.shape[0]
    # (n, rows, CELL, cols, CELL, 3) → (n, rows·cols, CELL, CELL, 3): one tile per cell, row-major
    tiles = x.reshape(n, GRID, CELL, GRID, CELL, 3).permute(0, 1, 3, 2, 4, 5).reshape(n, GRID * GRID, CELL, CELL, 3)
    index = k.clamp(min=0).long()
    out = tiles[torch.arange(n)[:, None], index] * (k >= 0)[..., None, None, None].to(tiles.dtype)
    out = out[0] if single else out
    return out.numpy() if is_numpy else out


def _scene_columns(colour, shape, cells, max_objects: int, *, rng: np.random.Generator, noise: float) -> dict:
    """The scene columns of one row: the rendered image, ``n_objects``, and ``colour``, ``shape``, ``cell`` padded
    with -1 to ``max_objects`` (shared by :func:`load_scenes` and the reasoning questions)."""
    k = len(cells)

    def pad(values):
        out = np.full(max_objects, -1, dtype=np.int32)
        out[:k] = values
        return out

    return {"image": render_scene(colour, shape, cells, rng=rng, noise=noise), "n_objects": np.int32(k),
            "colour": pad(colour), "shape": pad(shape), "cell": pad(cells)}


def load_scenes(*, n_train: int = 2000, n_val: int = 200, n_test: int = 500, min_objects: int = 2,
                max_objects: int = 4, noise: float = 0.05, seed: int = 0, cache: bool = True) -> DatasetDict:
    """Load (generate on first use) the scene world: images, object lists, captions, questions and answers.

    Parameters
    ----------
    n_train, n_val, n_test : int
        Number of scenes in the ``train``, ``validation`` and ``test`` splits.
    min_objects, max_objects : int
        Each scene has a uniform number of objects in ``min_objects … max_objects`` (1 ≤ min ≤ max ≤ 9).
    noise : float
        Standard deviation ≥ 0 of the pixel noise.
    seed : int
        Seeds every scene; each split is drawn from its own stream, so changing ``n_train`` leaves the test set as
        it was.
    cache : bool
        Read and write the on-disk cache (and the in-process memo); ``False`` generates afresh.

    Returns
    -------
    DatasetDict
        Splits ``train``, ``validation``, ``test`` in torch format, with columns ``image`` (``Array3D``
        (30, 30, 3) float32 in [0, 1], height × width × RGB); ``n_objects`` (int32); ``colour``, ``shape``,
        ``cell`` (int32, length ``max_objects``, indices into :data:`COLOURS`, :data:`SHAPES` and the row-major
        cells, padded with -1, objects in reading order); ``caption`` (int32 word ids, length
        ``4 * max_objects - 1``, padded with 0); ``question`` (int32 word ids, length 7); ``question_type``
        (``ClassLabel`` :data:`QUESTION_TYPES`) and ``answer`` (``ClassLabel`` :data:`ANSWERS`).

    Examples
    --------
    >>> ds = load_scenes(n_train=4, n_val=2, n_test=2, cache=False)
    >>> ds["train"]["image"][:].shape
    torch.Size([4, 30, 30, 3])
    >>> decode_words(ds["train"][0]["caption"])
    'a green circle and a blue circle and a blue triangle and a yellow triangle'
    """
    where = "load_scenes"
    sizes = check_sizes(where, n_train=n_train, n_val=n_val, n_test=n_test)
    for name, value in (("min_objects", min_objects), ("max_objects", max_objects)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= GRID * GRID:
            raise ValueError(f"{where}: {name} must be an integer in 1..{GRID * GRID}, got {name}={value!r}")
    if min_objects > max_objects:
        raise ValueError(f"{where}: min_objects must be ≤ max_objects, got {min_objects} > {max_objects}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.integer, np.floating)) \
            or not np.isfinite(noise) or noise < 0:
        raise ValueError(f"{where}: noise must be a finite number >= 0, got noise={noise!r}")
    seed = check_seed(seed, where)
    params = {**sizes, "min_objects": int(min_objects), "max_objects": int(max_objects), "noise": float(noise),
              "seed": seed}
    return cached("scenes", params, lambda: _generate(**params), cache)


def _generate(*, n_train: int, n_val: int, n_test: int, min_objects: int, max_objects: int, noise: float,
              seed: int) -> DatasetDict:
    sizes = {"train": n_train, "validation": n_val, "test": n_test}
    columns = {}
    for split, rng in split_rngs(np.random.default_rng(seed)).items():
        rows = [_scene(rng, min_objects, max_objects, noise) for _ in range(sizes[split])]
        columns[split] = {key: np.stack([row[key] for row in rows]) for key in rows[0]}
    objects = List(Value("int32"), length=max_objects)
    features = Features({"image": Array3D((IMAGE_SIZE, IMAGE_SIZE, 3), "float32"), "n_objects": Value("int32"),
                         "colour": objects, "shape": objects, "cell": objects,
                         "caption": List(Value("int32"), length=4 * max_objects - 1),
                         "question": List(Value("int32"), length=QUESTION_LENGTH),
                         "question_type": ClassLabel(names=list(QUESTION_TYPES)),
                         "answer": ClassLabel(names=list(ANSWERS))})
    return to_dataset_dict(columns, features)


def _scene(rng: np.random.Generator, min_objects: int, max_objects: int, noise: float) -> dict:
    k = int(rng.integers(min_objects, max_objects + 1))
    cells = np.sort(rng.choice(GRID * GRID, size=k, replace=False))  # reading order
    kinds = rng.choice(len(COLOURS) * len(SHAPES), size=k, replace=False)  # distinct (colour, shape) pairs
    colour, shape = kinds // len(SHAPES), kinds % len(SHAPES)
    caption = " and ".join(f"a {COLOURS[c]} {SHAPES[s]}" for c, s in zip(colour, shape))
    question, qtype, answer = _question(rng, colour, shape)
    return {**_scene_columns(colour, shape, cells, max_objects, rng=rng, noise=noise),
            "caption": encode_words(caption, 4 * max_objects - 1), "question": encode_words(question, QUESTION_LENGTH),
            "question_type": QUESTION_TYPES.index(qtype), "answer": ANSWERS.index(answer)}


def _question(rng: np.random.Generator, colour: np.ndarray, shape: np.ndarray) -> tuple[str, str, str]:
    """One question about the scene, its type and its answer, drawn among the types that make sense for it."""
    unique_shapes = [s for s in range(len(SHAPES)) if (shape == s).sum() == 1]
    unique_colours = [c for c in range(len(COLOURS)) if (colour == c).sum() == 1]
    types = [t for t in QUESTION_TYPES if (t != "query_colour" or unique_shapes) and (t != "query_shape" or
                                                                                       unique_colours)]
    qtype = types[int(rng.integers(len(types)))]
    if qtype == "count_colour":
        c = int(rng.integers(len(COLOURS)))
        return f"how many {COLOURS[c]} objects ?", qtype, str(int((colour == c).sum()))
    if qtype == "count_shape":
        s = int(rng.integers(len(SHAPES)))
        return f"how many {PLURALS[s]} ?", qtype, str(int((shape == s).sum()))
    if qtype == "query_colour":
        s = unique_shapes[int(rng.integers(len(unique_shapes)))]
        return f"what colour is the {SHAPES[s]} ?", qtype, COLOURS[int(colour[shape == s][0])]
    if qtype == "query_shape":
        c = unique_colours[int(rng.integers(len(unique_colours)))]
        return f"what shape is the {COLOURS[c]} object ?", qtype, SHAPES[int(shape[colour == c][0])]
    present = set(zip(colour.tolist(), shape.tolist()))
    if rng.random() < 0.5:  # yes: one of the scene's objects
        c, s = sorted(present)[int(rng.integers(len(present)))]
    else:  # no: a pair that is not in the scene
        absent = [(c, s) for c in range(len(COLOURS)) for s in range(len(SHAPES)) if (c, s) not in present]
        c, s = absent[int(rng.integers(len(absent)))]
    return f"is there a {COLOURS[c]} {SHAPES[s]} ?", qtype, "yes" if (c, s) in present else "no"
