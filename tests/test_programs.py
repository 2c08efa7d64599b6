"""Tests of the scene world's program language (mmcourse.reasoning.concepts.programs): the parser on every question
family, the executor against answers worked out by hand, and the errors on bad input."""
from __future__ import annotations

import itertools

import pytest

from mmcourse.reasoning import (OPERATIONS, as_program, check_program, execute, execute_trace, format_program, parse,
                                relation_holds)

# A scene worked out by hand (cells row-major in a 3×3 grid):
#   0: red circle    1: .            2: blue square
#   3: .             4: yellow tri.  5: .
#   6: green circle  7: .            8: red square
SCENE = [{"colour": "red", "shape": "circle", "cell": 0}, {"colour": "blue", "shape": "square", "cell": 2},
         {"colour": "yellow", "shape": "triangle", "cell": 4}, {"colour": "green", "shape": "circle", "cell": 6},
         {"colour": "red", "shape": "square", "cell": 8}]

PROGRAMS = {
    "how many red circles ?": "scene filter_colour[red] filter_shape[circle] count",
    "is there a blue object ?": "scene filter_colour[blue] exists",
    "what colour is the triangle ?": "scene filter_shape[triangle] query_colour",
    "what shape is the object left of the blue square ?":
        "scene filter_colour[blue] filter_shape[square] relate[left] query_shape",
    "how many objects are above the green circle ?": "scene filter_colour[green] filter_shape[circle] relate[above] count",
    "is there a red object in the same row as the blue square ?":
        "scene filter_colour[blue] filter_shape[square] relate[same_row] filter_colour[red] exists",
    "how many objects are red or circles ?": "scene filter_colour[red] scene filter_shape[circle] or count",
    "how many objects are not squares ?": "scene filter_shape[square] not count",
    "is there a red circle and a blue square ?":
        "scene filter_colour[red] filter_shape[circle] exists scene filter_colour[blue] filter_shape[square] exists and",
    "is there a green square or a triangle ?":
        "scene filter_colour[green] filter_shape[square] exists scene filter_shape[triangle] exists or",
    "is there no green triangle ?": "scene filter_colour[green] filter_shape[triangle] exists not",
    "how many hot objects ?": "scene filter_fact[hot] count",
    "is the blue square sharp ?": "scene filter_colour[blue] filter_shape[square] filter_fact[sharp] exists",
    "how many red squares are below the yellow triangle ?":
        "scene filter_colour[yellow] filter_shape[triangle] relate[below] filter_colour[red] filter_shape[square] count",
    "what colour is the circle right of the red circle ?":
        "scene filter_colour[red] filter_shape[circle] relate[right] filter_shape[circle] query_colour",
}

ANSWERS_BY_HAND = {
    "how many red circles ?": "1",
    "is there a blue object ?": "yes",
    "what colour is the triangle ?": "yellow",
    "what shape is the object left of the blue square ?": None,  # three objects have a smaller column than 2
    "how many objects are above the green circle ?": "3",  # rows 0 and 1: red circle, blue square, yellow triangle
    "is there a red object in the same row as the blue square ?": "yes",  # the red circle, row 0
    "how many objects are red or circles ?": "3",  # red circle, red square, green circle
    "how many objects are not squares ?": "3",
    "is there a red circle and a blue square ?": "yes",
    "is there a green square or a triangle ?": "yes",
    "is there no green triangle ?": "yes",
    "how many hot objects ?": "3",  # red, red, yellow
    "is the blue square sharp ?": "yes",
    "how many red squares are below the yellow triangle ?": "1",
    "what colour is the circle right of the red circle ?": None,  # the only other circle is in column 0 too
}


@pytest.mark.parametrize("question", sorted(PROGRAMS))
def test_parse_gives_the_program(question):
    steps = PROGRAMS[question].split()
    assert parse(question) == as_program(steps)
    assert format_program(parse(question)) == " → ".join(steps)


@pytest.mark.parametrize("question", sorted(q for q, a in ANSWERS_BY_HAND.items() if a is not None))
def test_execute_agrees_with_answers_by_hand(question):
    assert execute(parse(question), SCENE) == ANSWERS_BY_HAND[question]


def test_query_of_several_or_no_objects_is_an_error():
    with pytest.raises(ValueError, match="query_shape needs exactly one object, the program selects 3"):
        execute(parse("what shape is the object left of the blue square ?"), SCENE)
    with pytest.raises(ValueError, match="selects 0"):
        execute(parse("what colour is the circle right of the red circle ?"), SCENE)


def test_trace_shows_every_step():
    trace = execute_trace(parse("how many red squares are below the yellow triangle ?"), SCENE)
    assert trace == [[0, 1, 2, 3, 4], [2], [2], [3, 4], [4], [4], 1]


def test_knowledge_edit_changes_only_dependent_answers():
    edited = {"red": "cold", "yellow": "hot", "green": "cold", "blue": "cold", "square": "sharp", "triangle": "sharp",
              "circle": "smooth"}
    assert execute(parse("how many hot objects ?"), SCENE, knowledge=edited) == "1"
    assert execute(parse("how many cold objects ?"), SCENE, knowledge=edited) == "4"
    assert execute(parse("is the blue square sharp ?"), SCENE, knowledge=edited) == "yes"


def test_boolean_and_set_operations():
    yes, no = "is there a red circle ?", "is there a blue circle ?"
    for (a, qa), (b, qb) in itertools.product([(True, yes), (False, no)], repeat=2):
        both = parse(qa)[:-1] + [("exists", None)] + parse(qb)[:-1] + [("exists", None)]
        assert execute(both + [("and", None)], SCENE) == ("yes" if a and b else "no")
        assert execute(both + [("or", None)], SCENE) == ("yes" if a or b else "no")
    assert execute_trace(parse("how many objects are not squares ?"), SCENE)[-2] == [0, 2, 3]
    assert execute(parse("is there no red circle ?"), SCENE) == "no"


@pytest.mark.parametrize("relation,cell,anchor,expected", [
    ("left", 0, 4, True), ("left", 3, 4, True), ("left", 4, 4, False), ("left", 5, 4, False),
    ("right", 8, 4, True), ("right", 1, 4, False), ("above", 2, 4, True), ("above", 3, 4, False),
    ("below", 6, 4, True), ("below", 5, 4, False), ("same_row", 3, 4, True), ("same_row", 4, 4, False),
    ("same_row", 7, 4, False)])
def test_relation_holds(relation, cell, anchor, expected):
    assert relation_holds(relation, cell, anchor) is expected


def test_check_program_types():
    assert check_program(parse("how many hot objects ?")) == "number"
    assert check_program(parse("is there no green triangle ?")) == "bool"
    assert check_program(parse("what colour is the triangle ?")) == "word"
    assert set(OPERATIONS) == {"scene", "filter_colour", "filter_shape", "filter_fact", "relate", "and", "or", "not",
                               "count", "exists", "query_colour", "query_shape"}


@pytest.mark.parametrize("program,match", [
    ([("scene", None), ("count", None), ("filter_colour", "red")], "step 2 filter_colour needs set on the stack"),
    ([("scene", None), ("fly", None)], "unknown operation 'fly'"),
    ([("scene", None), ("filter_colour", "purple"), ("count", None)], "filter_colour takes one of"),
    ([("scene", None), ("count", "red")], "count takes no argument"),
    ([("scene", None), ("filter_colour", "red")], "must end with one answer"),
    ([("scene", None), ("count", None), ("scene", None), ("count", None)], "must end with one answer"),
    ([("scene", None), ("count", None), ("scene", None), ("exists", None), ("and", None)], "step 4 and needs"),
    ("scene count", "must be a list of steps"),
    (["scene", "filter_colour[red", "count"], "is not written"),
])
def test_bad_programs(program, match):
    with pytest.raises(ValueError, match=match):
        execute(program, SCENE)


@pytest.mark.parametrize("question,match", [
    ("how many purple objects ?", r"unknown word\(s\) \['purple'\]"),
    ("how many red ?", "expected objects or a plural shape"),
    ("is there a red circle", "expected '\\?'"),
    ("how many red circles are the blue square ?", "expected a relation"),
    ("", "empty"),
    ("how many circles ? ?", "the end of the question"),
])
def test_bad_questions(question, match):
    with pytest.raises(ValueError, match=match):
        parse(question)
    with pytest.raises(ValueError, match="question must be a str"):
        parse(["how", "many"])


@pytest.mark.parametrize("objects,match", [
    ([{"colour": "red", "shape": "circle", "cell": 9}], "cell must be an integer in 0..8"),
    ([{"colour": "red", "shape": "circle", "cell": -1}], "cell must be an integer in 0..8"),
    ([{"colour": "red", "shape": "circle", "cell": 1.5}], "cell must be an integer"),
    ([{"colour": "pink", "shape": "circle", "cell": 1}], "colour must be one of"),
    ([{"colour": "red", "cell": 1}], "must be a dict with keys colour, shape, cell"),
    ([{"colour": "red", "shape": "circle", "cell": 1}, {"colour": "blue", "shape": "square", "cell": 1}],
     "two objects in one cell"),
    ("red circle", "objects must be a list"),
])
def test_bad_objects(objects, match):
    with pytest.raises(ValueError, match=match):
        execute(parse("how many circles ?"), objects)


def test_string_steps_and_tuples_agree():
    program = parse("is the blue square sharp ?")
    written = [op if arg is None else f"{op}[{arg}]" for op, arg in program]
    assert as_program(written) == program
    assert execute(written, SCENE) == execute(program, SCENE)
