"""Tests of the reasoning questions of the scene world (mmcourse.data.scene_questions): every row's program is the
parse of its question, every answer agrees with an independent reading of the question written here with regular
expressions, the held-out split keeps its promise, and bad arguments are refused."""
from __future__ import annotations

import re

import numpy as np
import pytest

from mmcourse.data import (ANSWERS, COLOURS, HELD_OUT, KNOWLEDGE, QUESTION_FAMILIES, QUESTION_VOCAB, QUESTION_WORDS,
                           SHAPES, decode_question, encode_question, fact_sentence, load_scene_questions, scene_objects)
from mmcourse.reasoning import as_program, execute, parse


@pytest.fixture(scope="module")
def data():
    return load_scene_questions(n_train=400, n_val=40, n_test=80, n_heldout=120, seed=3)


# --- an independent reading of the questions ---------------------------------------------------------------------
NOUN = r"(?:(red|green|blue|yellow|hot|cold|sharp|smooth) )?(object|square|circle|triangle)s?"
REL = {"left of": lambda a, b: a % 3 < b % 3, "right of": lambda a, b: a % 3 > b % 3,
       "above": lambda a, b: a // 3 < b // 3, "below": lambda a, b: a // 3 > b // 3,
       "in the same row as": lambda a, b: a // 3 == b // 3 and a != b}
RELATION = "(left of|right of|above|below|in the same row as)"


def fits(obj, adjective, noun):
    ok = noun == "object" or obj["shape"] == noun
    if adjective in COLOURS:
        ok &= obj["colour"] == adjective
    elif adjective:
        ok &= adjective in (KNOWLEDGE[obj["colour"]], KNOWLEDGE[obj["shape"]])
    return ok


def select(objs, adjective, noun, relation=None, adjective2=None, noun2=None):
    chosen = [o for o in objs if fits(o, adjective, noun)]
    if relation:
        anchors = [o for o in objs if fits(o, adjective2, noun2)]
        chosen = [o for o in chosen if any(REL[relation](o["cell"], a["cell"]) for a in anchors)]
    return chosen


def attribute(obj, word):
    return word in (obj["colour"], obj["shape"] + "s")


def independent_answer(question, objs):
    yes = {True: "yes", False: "no"}
    if m := re.fullmatch(f"how many objects are (\\w+) or (\\w+) \\?", question):
        return str(sum(attribute(o, m[1]) or attribute(o, m[2]) for o in objs))
    if m := re.fullmatch(f"how many objects are not (\\w+) \\?", question):
        return str(sum(not attribute(o, m[1]) for o in objs))
    if m := re.fullmatch(f"how many {NOUN}(?: are {RELATION} the {NOUN})? \\?", question):
        return str(len(select(objs, *m.groups())))
    if m := re.fullmatch(f"is there a {NOUN} (and|or) a {NOUN} \\?", question):
        a, b = bool(select(objs, m[1], m[2])), bool(select(objs, m[4], m[5]))
        return yes[a and b] if m[3] == "and" else yes[a or b]
    if m := re.fullmatch(f"is there (a|no) {NOUN}(?: {RELATION} the {NOUN})? \\?", question):
        found = bool(select(objs, *m.groups()[1:]))
        return yes[found] if m[1] == "a" else yes[not found]
    if m := re.fullmatch(f"what (colour|shape) is the {NOUN}(?: {RELATION} the {NOUN})? \\?", question):
        (obj,) = select(objs, *m.groups()[1:])
        return obj[m[1]]
    if m := re.fullmatch(f"is the {NOUN} (hot|cold|sharp|smooth) \\?", question):
        (obj,) = select(objs, m[1], m[2])
        return yes[m[3] in (KNOWLEDGE[obj["colour"]], KNOWLEDGE[obj["shape"]])]
    raise AssertionError(f"no independent reading of {question!r}")


def test_answers_agree_with_an_independent_reading(data):
    seen = set()
    for split in data:
        for row in data[split]:
            question, objs = decode_question(row["question"]), scene_objects(row)
            assert ANSWERS[int(row["answer"])] == independent_answer(question, objs), (question, objs)
            assert as_program(row["program"]) == parse(question)
            assert execute(row["program"], objs) == ANSWERS[int(row["answer"])]
            seen.add(QUESTION_FAMILIES[int(row["family"])])
    assert seen == set(QUESTION_FAMILIES)


def test_held_out_kinds(data):
    held = {(COLOURS.index(c), SHAPES.index(s)) for c, s in HELD_OUT}
    for split in ("train", "validation", "test"):
        d = data[split]
        kinds = set(zip(d["colour"][:].flatten().tolist(), d["shape"][:].flatten().tolist()))
        assert not kinds & held, split
        for question in (decode_question(q) for q in d["question"][:]):
            assert not any(f"{c} {s}" in question for c, s in HELD_OUT), question
    for row in data["test_heldout"]:
        question, objs = decode_question(row["question"]), scene_objects(row)
        named = [(c, s) for c, s in HELD_OUT if re.search(f"{c} {s}s?\\b", question)]
        assert any(o["colour"] == c and o["shape"] == s for c, s in named for o in objs), question


def test_columns_and_balance(data):
    train = data["train"]
    assert train["image"][:].shape == (400, 30, 30, 3) and train["question"][:].shape == (400, QUESTION_WORDS)
    assert ((train["n_objects"][:] >= 3) & (train["n_objects"][:] <= 5)).all()
    yes_no = [ANSWERS[int(a)] for a, f in zip(train["answer"][:], train["family"][:])
              if QUESTION_FAMILIES[int(f)] in ("exists", "relate_exists", "and_exists", "or_exists", "not_exists")]
    share = np.mean([a == "yes" for a in yes_no])
    assert 0.35 < share < 0.65, share  # the yes/no families are drawn to be about balanced
    counts = np.bincount(train["family"][:].numpy(), minlength=len(QUESTION_FAMILIES))
    assert counts.min() > 0.3 * counts.mean(), counts


def test_same_seed_same_data_and_families_restrict():
    a = load_scene_questions(n_train=20, n_val=2, n_test=2, n_heldout=4, seed=1, cache=False)
    b = load_scene_questions(n_train=20, n_val=2, n_test=2, n_heldout=4, seed=1, cache=False)
    assert (a["train"]["question"][:] == b["train"]["question"][:]).all() and a["train"]["program"][:] == b["train"]["program"][:]
    only = load_scene_questions(n_train=30, n_val=2, n_test=2, n_heldout=4, families=("fact_count", "not_exists"),
                                cache=False)
    assert {QUESTION_FAMILIES[int(f)] for f in only["train"]["family"][:]} == {"fact_count", "not_exists"}


def test_words_and_facts():
    assert QUESTION_VOCAB[0] == "<pad>" and len(set(QUESTION_VOCAB)) == len(QUESTION_VOCAB)
    text = "is there a red object in the same row as the blue square ?"
    assert decode_question(encode_question(text)) == text
    assert fact_sentence("red") == "red things are hot" and fact_sentence("triangle") == "triangles are sharp"
    assert fact_sentence("circle", {"circle": "sharp"}) == "circles are sharp"
    with pytest.raises(ValueError, match="subject must be one of"):
        fact_sentence("purple")
    with pytest.raises(ValueError, match="unknown word"):
        encode_question("how many purple objects ?")


@pytest.mark.parametrize("kwargs,match", [
    ({"n_train": 0}, "n_train must be a positive integer"),
    ({"families": ("count", "dance")}, "unknown \\['dance'\\]"),
    ({"families": ()}, "families is empty"),
    ({"families": "count"}, "families must be a tuple"),
    ({"held_out": (("red", "cube"),)}, "held_out must hold 1 to 6"),
    ({"held_out": "red circle"}, "held_out must"),
    ({"min_objects": 1}, "min_objects must be an integer in 2..6"),
    ({"min_objects": 5, "max_objects": 4}, "min_objects must be ≤ max_objects"),
    ({"noise": -1.0}, "noise must be a finite number"),
    ({"seed": -1}, "seed must be a non-negative integer"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_scene_questions(**{"n_train": 4, "n_val": 2, "n_test": 2, "n_heldout": 2, "cache": False, **kwargs})


def test_impossible_families_are_refused():
    with pytest.raises(ValueError, match="names a held-out kind"):
        load_scene_questions(n_train=2, n_val=2, n_test=2, n_heldout=2, families=("not_count",), cache=False)
