r"""Reasoning questions over the scene world: relations, and / or / not, counting, facts; each with its program.

The scenes are those of :mod:`mmcourse.data.scenes` (coloured shapes in a 3×3 grid, no two objects of one kind).
Each scene gets one question from one of thirteen **families**, its **program** (the steps that answer it, see
:mod:`mmcourse.reasoning.concepts.programs`) and its answer, computed by executing the program on the scene's
object list. A noun phrase names objects by colour and/or shape ("red circle", "red object", "circle"), by a
property from the knowledge base ("hot objects"), or by a relation to another object ("object left of the blue
square"):

=================  ====================================================  ==========================================
family             example                                               program (execution order)
=================  ====================================================  ==========================================
``count``          how many red circles ?                                scene → filter_colour → filter_shape →
                                                                         count
``exists``         is there a blue object ?                              scene → filter_colour → exists
``query_colour``   what colour is the circle ?                           scene → filter_shape → query_colour
``query_shape``    what shape is the object left of the red square ?     scene → … → relate[left] → query_shape
``relate_count``   how many objects are above the green circle ?         scene → … → relate[above] → count
``relate_exists``  is there a red object in the same row as the …  ?    … → relate[same_row] → filter_colour
                                                                         → exists
``or_count``       how many objects are red or circles ?                 scene → filter → scene → filter → or →
                                                                         count
``not_count``      how many objects are not triangles ?                  scene → filter_shape → not → count
``and_exists``     is there a red circle and a blue square ?             … → exists → … → exists → and
``or_exists``      is there a red circle or a blue square ?              … → exists → … → exists → or
``not_exists``     is there no green triangle ?                          … → exists → not
``fact_count``     how many hot objects ?                                scene → filter_fact[hot] → count
``fact_exists``    is the blue square sharp ?                            … → filter_fact[sharp] → exists
=================  ====================================================  ==========================================

**Knowledge the images do not show.** :data:`KNOWLEDGE` is a small key-value store of facts, "red things are hot",
"triangles are sharp": one property per colour (hot or cold) and per shape (sharp or smooth). A ``fact_*`` question
needs one fact plus perception.

**A held-out split of attribute combinations** (in the spirit of CLEVR-CoGenT, Johnson et al., 2017): the kinds in
``held_out`` (default :data:`HELD_OUT`: red circles, green triangles and blue squares) never appear in the
``train``, ``validation`` and ``test`` scenes, nor in their questions; every scene of ``test_heldout`` holds at least
one of them, and its question names one that the scene holds. Book sections: Part 4 (reasoning).
"""
from __future__ import annotations

import numpy as np
from datasets import Array3D, ClassLabel, DatasetDict, Features, List, Value

from mmcourse.data._cache import cached
from mmcourse.data._common import check_seed, check_sizes, to_dataset_dict
from mmcourse.data.scenes import (ANSWERS, COLOURS, GRID, IMAGE_SIZE, PLURALS, SHAPES, VOCAB, decode_words,
                                  encode_words, _scene_columns)

__all__ = ["QUESTION_VOCAB", "QUESTION_FAMILIES", "QUESTION_WORDS", "RELATIONS", "PROPERTIES", "KNOWLEDGE",
           "HELD_OUT", "load_scene_questions", "scene_objects", "encode_question", "decode_question", "fact_sentence"]

RELATIONS = ("left", "right", "above", "below", "same_row")
PROPERTIES = ("hot", "cold", "sharp", "smooth")
KNOWLEDGE = {"red": "hot", "yellow": "hot", "green": "cold", "blue": "cold",
             "square": "sharp", "triangle": "sharp", "circle": "smooth"}
HELD_OUT = (("red", "circle"), ("green", "triangle"), ("blue", "square"))
QUESTION_FAMILIES = ("count", "exists", "query_colour", "query_shape", "relate_count", "relate_exists", "or_count",
                     "not_count", "and_exists", "or_exists", "not_exists", "fact_count", "fact_exists")
QUESTION_VOCAB = (*VOCAB, "left", "right", "of", "above", "below", "in", "same", "row", "as", "or", "not", "are",
                  "no", *PROPERTIES)
QUESTION_WORDS = 16  # the longest question has 13 words
_RELATION_TEXT = {"left": "left of", "right": "right of", "above": "above", "below": "below",
                  "same_row": "in the same row as"}
_TRIES = 200


def question_words() -> tuple[str, ...]:
    """The words a question may use (:data:`QUESTION_VOCAB` without the padding)."""
    return QUESTION_VOCAB[1:]


def encode_question(text: str, length: int = QUESTION_WORDS) -> np.ndarray:
    """Word ids (of :data:`QUESTION_VOCAB`) of a question, padded with 0 to ``length``.

    Examples
    --------
    >>> decode_question(encode_question("how many hot objects ?"))
    'how many hot objects ?'
    """
    return encode_words(text, length, vocab=QUESTION_VOCAB)


def decode_question(ids) -> str:
    """The text of a question's word ids (of :data:`QUESTION_VOCAB`), padding dropped."""
    return decode_words(ids, vocab=QUESTION_VOCAB)


def fact_sentence(subject: str, knowledge: dict[str, str] | None = None) -> str:
    """The fact about a colour or shape as a sentence, from :data:`KNOWLEDGE` or the ``knowledge`` given.

    Examples
    --------
    >>> fact_sentence("red"), fact_sentence("circle", {"circle": "round"})
    ('red things are hot', 'circles are round')
    """
    kb = KNOWLEDGE if knowledge is None else knowledge
    if subject not in kb:
        raise ValueError(f"fact_sentence: subject must be one of {sorted(kb)}, got {subject!r}")
    noun = PLURALS[SHAPES.index(subject)] if subject in SHAPES else f"{subject} things"
    return f"{noun} are {kb[subject]}"


def scene_objects(row) -> list[dict]:
    """The object list of a dataset row (``colour``, ``shape``, ``cell`` index columns, padded with -1), as the
    dicts that :func:`mmcourse.reasoning.execute` takes: ``[{"colour": "red", "shape": "circle", "cell": 4}, ...]``.

    Examples
    --------
    >>> scene_objects({"colour": [0, 2, -1], "shape": [1, 0, -1], "cell": [4, 8, -1]})
    [{'colour': 'red', 'shape': 'circle', 'cell': 4}, {'colour': 'blue', 'shape': 'square', 'cell': 8}]
    """
    colour, shape, cell = (np.asarray(row[key]).ravel() for key in ("colour", "shape", "cell"))
    for name, ids, high in (("colour", colour, len(COLOURS)), ("shape", shape, len(SHAPES)),
                            ("cell", cell, GRID * GRID)):
        if ids.dtype.kind not in "iu" or len(ids) != len(cell):
            raise TypeError(f"scene_objects: row[{name!r}] must hold one integer id per slot, got dtype {ids.dtype} "
                            f"and shape {ids.shape}")
        if ((cell >= 0) & ((ids < 0) | (ids >= high))).any():
            raise ValueError(f"scene_objects: row[{name!r}] must hold ids in 0..{high - 1} for every object, got "
                             f"{ids.tolist()}")
    return [{"colour": COLOURS[int(c)], "shape": SHAPES[int(s)], "cell": int(k)}
            for c, s, k in zip(colour, shape, cell) if k >= 0]


def load_scene_questions(*, n_train: int = 3000, n_val: int = 300, n_test: int = 600, n_heldout: int = 600,
                         families: tuple[str, ...] = QUESTION_FAMILIES, held_out: tuple = HELD_OUT,
                         min_objects: int = 3, max_objects: int = 5, noise: float = 0.05, seed: int = 0,
                         cache: bool = True) -> DatasetDict:
    """Load (generate on first use) scenes with reasoning questions, their programs and answers.

    Parameters
    ----------
    n_train, n_val, n_test, n_heldout : int
        Scenes (one question each) in ``train``, ``validation``, ``test`` and ``test_heldout``.
    families : tuple of str
        The question families to draw from (uniformly, among those that make sense for a scene), a subset of
        :data:`QUESTION_FAMILIES`.
    held_out : tuple of (colour, shape)
        Kinds kept out of the first three splits and named by every question of ``test_heldout``; at most 6.
    min_objects, max_objects : int
        Objects per scene, uniform in ``min_objects … max_objects`` (2 ≤ min ≤ max ≤ 6).
    noise : float
        Standard deviation ≥ 0 of the pixel noise.
    seed : int
        Seeds everything; each split has its own stream.
    cache : bool
        Read and write the on-disk cache; ``False`` generates afresh.

    Returns
    -------
    DatasetDict
        Splits ``train``, ``validation``, ``test``, ``test_heldout`` in torch format with the scene columns of
        :func:`load_scenes` (``image``, ``n_objects``, ``colour``, ``shape``, ``cell``), ``question`` (int32 word
        ids of :data:`QUESTION_VOCAB`, length :data:`QUESTION_WORDS`), ``program`` (list of steps written
        ``"op[arg]"``), ``family`` (``ClassLabel`` :data:`QUESTION_FAMILIES`) and ``answer`` (``ClassLabel``
        :data:`ANSWERS`).

    Examples
    --------
    >>> ds = load_scene_questions(n_train=4, n_val=2, n_test=2, n_heldout=2, cache=False)
    >>> sorted(ds), decode_question(ds["train"][0]["question"]) != ""
    (['test', 'test_heldout', 'train', 'validation'], True)
    """
    where = "load_scene_questions"
    sizes = check_sizes(where, n_train=n_train, n_val=n_val, n_test=n_test, n_heldout=n_heldout)
    families = _check_families(families, where)
    held_out = _check_held_out(held_out, where)
    for name, value in (("min_objects", min_objects), ("max_objects", max_objects)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 2 <= value <= 6:
            raise ValueError(f"{where}: {name} must be an integer in 2..6, got {name}={value!r}")
    if min_objects > max_objects:
        raise ValueError(f"{where}: min_objects must be ≤ max_objects, got {min_objects} > {max_objects}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.integer, np.floating)) \
            or not np.isfinite(noise) or noise < 0:
        raise ValueError(f"{where}: noise must be a finite number >= 0, got noise={noise!r}")
    params = {**sizes, "families": list(families), "held_out": [list(k) for k in held_out],
              "min_objects": int(min_objects), "max_objects": int(max_objects), "noise": float(noise),
              "seed": check_seed(seed, where)}
    return cached("scene_questions", params, lambda: _generate(**params), cache)


def _check_families(families, where: str) -> tuple[str, ...]:
    if isinstance(families, str) or not hasattr(families, "__iter__"):
        raise ValueError(f"{where}: families must be a tuple of names from {QUESTION_FAMILIES}, got {families!r}")
    families = tuple(families)
    unknown = [f for f in families if f not in QUESTION_FAMILIES]
    if unknown or not families:
        raise ValueError(f"{where}: families must be a non-empty tuple of names from {QUESTION_FAMILIES}, "
                         f"got unknown {unknown}" if unknown else f"{where}: families is empty")
    return families


def _check_held_out(held_out, where: str) -> tuple[tuple[str, str], ...]:
    try:
        pairs = tuple((str(c), str(s)) for c, s in held_out)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: held_out must be a tuple of (colour, shape) pairs, got {held_out!r}") from None
    bad = [p for p in pairs if p[0] not in COLOURS or p[1] not in SHAPES]
    if bad or not 1 <= len(set(pairs)) <= 6:
        raise ValueError(f"{where}: held_out must hold 1 to 6 distinct (colour, shape) pairs of {COLOURS} × "
                         f"{SHAPES}, got {held_out!r}")
    return pairs


def _generate(*, n_train, n_val, n_test, n_heldout, families, held_out, min_objects, max_objects, noise, seed):
    held = {(COLOURS.index(c), SHAPES.index(s)) for c, s in held_out}
    sizes = {"train": n_train, "validation": n_val, "test": n_test, "test_heldout": n_heldout}
    columns = {}
    for (split, n), rng in zip(sizes.items(), np.random.default_rng(seed).spawn(len(sizes))):
        rows = [_row(rng, families, held, split == "test_heldout", min_objects, max_objects, noise)
                for _ in range(n)]
        columns[split] = {key: [row[key] for row in rows] for key in rows[0]}
        for key in columns[split]:
            if key != "program":
                columns[split][key] = np.stack(columns[split][key])
    objects = List(Value("int32"), length=max_objects)
    features = Features({"image": Array3D((IMAGE_SIZE, IMAGE_SIZE, 3), "float32"), "n_objects": Value("int32"),
                         "colour": objects, "shape": objects, "cell": objects,
                         "question": List(Value("int32"), length=QUESTION_WORDS), "program": List(Value("string")),
                         "family": ClassLabel(names=list(QUESTION_FAMILIES)),
                         "answer": ClassLabel(names=list(ANSWERS))})
    return to_dataset_dict(columns, features)


def _row(rng, families, held, heldout: bool, min_objects, max_objects, noise) -> dict:
    from mmcourse.reasoning.concepts.programs import execute, parse  # the executor lives with Part 4
    for _ in range(50):
        colour, shape, cells = _draw_scene(rng, held, heldout, min_objects, max_objects)
        objects = [{"colour": COLOURS[c], "shape": SHAPES[s], "cell": int(k)} for c, s, k in zip(colour, shape, cells)]
        for _ in range(_TRIES):
            family = families[int(rng.integers(len(families)))]
            text = _QUESTIONS[family](rng, objects)
            if text is None:
                continue
            program = parse(text)
            named = _named_kinds(program) & held
            if heldout and not named & set(zip(colour.tolist(), shape.tolist())) or not heldout and named:
                continue
            answer = execute(program, objects)
            return {**_scene_columns(colour, shape, cells, max_objects, rng=rng, noise=noise),
                    "question": encode_question(text), "program": [_step(op, arg) for op, arg in program],
                    "family": QUESTION_FAMILIES.index(family), "answer": ANSWERS.index(answer)}
    raise ValueError(f"load_scene_questions: no question of the families {families} fits the scenes"
                     + (" and names a held-out kind" if heldout else ""))


def _step(op: str, arg: str | None) -> str:
    return op if arg is None else f"{op}[{arg}]"


def _draw_scene(rng, held, heldout, min_objects, max_objects):
    kinds = [(c, s) for c in range(len(COLOURS)) for s in range(len(SHAPES))]
    allowed = [i for i, kind in enumerate(kinds) if heldout or kind not in held]
    while True:
        k = int(rng.integers(min_objects, max_objects + 1))
        chosen = rng.choice(allowed, size=k, replace=False)
        if not heldout or any(kinds[i] in held for i in chosen):
            break
    cells = np.sort(rng.choice(GRID * GRID, size=k, replace=False))
    colour = np.array([kinds[i][0] for i in chosen])
    shape = np.array([kinds[i][1] for i in chosen])
    return colour, shape, cells


def _named_kinds(program) -> set[tuple[int, int]]:
    """The kinds a program names: filter_colour[c] right before filter_shape[s], as (colour, shape) indices."""
    return {(COLOURS.index(a[1]), SHAPES.index(b[1])) for a, b in zip(program, program[1:])
            if a[0] == "filter_colour" and b[0] == "filter_shape"}


# --- the question templates: each returns a question's text for a scene, or None if it does not fit ---------------
def _pick(rng, values):
    return values[int(rng.integers(len(values)))]


def _noun(rng, colour: str | None, shape: str | None, plural: bool = False) -> str:
    noun = (PLURALS[SHAPES.index(shape)] if plural else shape) if shape else ("objects" if plural else "object")
    return f"{colour} {noun}" if colour else noun


def _random_noun(rng, plural: bool = False) -> str:
    """A colour and/or shape description, not necessarily of an object in the scene."""
    kind = int(rng.integers(3))
    colour = _pick(rng, COLOURS) if kind != 1 else None
    shape = _pick(rng, SHAPES) if kind != 0 else None
    return _noun(rng, colour, shape, plural)


def _anchor(rng, objects) -> str:
    """A description of one object of the scene that names it alone (the kinds of a scene are distinct)."""
    obj = _pick(rng, objects)
    options = [_noun(rng, obj["colour"], obj["shape"])]
    if sum(o["colour"] == obj["colour"] for o in objects) == 1:
        options.append(_noun(rng, obj["colour"], None))
    if sum(o["shape"] == obj["shape"] for o in objects) == 1:
        options.append(obj["shape"])
    return _pick(rng, options)


def _related(rng, objects, plural: bool, target: str | None = None) -> str:
    relation = _pick(rng, RELATIONS)
    if target is None:
        target = _pick(rng, [_noun(rng, None, None, plural), _random_noun(rng, plural)])
    return f"{target} {'are ' if plural else ''}{_RELATION_TEXT[relation]} the {_anchor(rng, objects)}"


def _selected(noun_phrase: str, objects) -> list[int]:
    """The objects a singular noun phrase names (the set just before ``exists``)."""
    from mmcourse.reasoning.concepts.programs import execute_trace, parse
    return execute_trace(parse(f"is there a {noun_phrase} ?"), objects)[-2]


def _present_noun(rng, objects, present: bool, relational: float = 0.3) -> str | None:
    """A singular description that matches some object of the scene (``present``) or none."""
    for _ in range(20):
        text = _related(rng, objects, plural=False) if rng.random() < relational else _random_noun(rng)
        if bool(_selected(text, objects)) == present:
            return text
    return None


def _unique_noun(rng, objects, without: str) -> str | None:
    """A description that names exactly one object and does not give away its ``without`` attribute."""
    for _ in range(20):
        obj = _pick(rng, objects)
        bare = _noun(rng, obj["colour"] if without == "shape" else None, obj["shape"] if without == "colour" else None)
        text = bare if rng.random() < 0.5 else _related(rng, objects, False, _pick(rng, ["object", bare]))
        if len(_selected(text, objects)) == 1:
            return text
    return None


def _attribute_word(rng) -> str:
    return _pick(rng, [*COLOURS, *PLURALS])


def _two_parts(rng, objects, p_yes: float, joint: str) -> str | None:
    parts = [_present_noun(rng, objects, rng.random() < p_yes, relational=0.0) for _ in range(2)]
    return None if None in parts or parts[0] == parts[1] else f"is there a {parts[0]} {joint} a {parts[1]} ?"


def _or_count(rng, objects):
    a, b = _attribute_word(rng), _attribute_word(rng)
    return None if a == b else f"how many objects are {a} or {b} ?"


def _query(key):
    def template(rng, objects):
        noun = _unique_noun(rng, objects, without=key)
        return None if noun is None else f"what {key} is the {noun} ?"
    return template


def _exists(rng, objects):
    noun = _present_noun(rng, objects, rng.random() < 0.5)
    return None if noun is None else f"is there a {noun} ?"


def _relate_exists(rng, objects):
    noun = _present_noun(rng, objects, rng.random() < 0.5, relational=1.0)
    return None if noun is None else f"is there a {noun} ?"


def _not_exists(rng, objects):
    noun = _present_noun(rng, objects, rng.random() < 0.5)
    return None if noun is None else f"is there no {noun} ?"


_QUESTIONS = {
    "count": lambda rng, objects: f"how many {_random_noun(rng, plural=True)} ?",
    "exists": _exists,
    "query_colour": _query("colour"),
    "query_shape": _query("shape"),
    "relate_count": lambda rng, objects: f"how many {_related(rng, objects, plural=True)} ?",
    "relate_exists": _relate_exists,
    "or_count": _or_count,
    "not_count": lambda rng, objects: f"how many objects are not {_attribute_word(rng)} ?",
    "and_exists": lambda rng, objects: _two_parts(rng, objects, 0.5 ** 0.5, "and"),
    "or_exists": lambda rng, objects: _two_parts(rng, objects, 1 - 0.5 ** 0.5, "or"),
    "not_exists": _not_exists,
    "fact_count": lambda rng, objects: f"how many {_pick(rng, PROPERTIES)} objects ?",
    "fact_exists": lambda rng, objects: f"is the {_anchor(rng, objects)} {_pick(rng, PROPERTIES)} ?",
}
