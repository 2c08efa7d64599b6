r"""The scene world's programs: parse a question into steps, execute the steps exactly on a list of objects.

A **program** is a list of steps ``(operation, argument)`` in execution order, in the functional style of CLEVR
(Johnson et al., 2017). The steps work on a stack: ``scene`` pushes the set of all objects, a filter or a relation
replaces the set on top by a new set, ``and`` / ``or`` combine the two values on top, and a last step turns a set
into an answer. "How many red objects are left of the blue square?" is

    scene → filter_colour[blue] → filter_shape[square] → relate[left] → filter_colour[red] → count

==================  ================  =====================  =============================================
operation           argument          takes → gives          meaning
==================  ================  =====================  =============================================
``scene``           –                 → set                  all objects
``filter_colour``   a colour          set → set              the objects of that colour
``filter_shape``    a shape           set → set              the objects of that shape
``filter_fact``     a property        set → set              the objects the knowledge base says have it
``relate``          a relation        set → set              the objects in that relation to one of the set
``and`` / ``or``    –                 set, set → set         intersection / union
                                      bool, bool → bool      conjunction / disjunction
``not``             –                 set → set              the scene's other objects
                                      bool → bool            negation
``count``           –                 set → number           how many
``exists``          –                 set → bool             is the set non-empty
``query_colour``    –                 set → word             the colour of the set's only object
``query_shape``     –                 set → word             the shape of the set's only object
==================  ================  =====================  =============================================

Relations compare grid cells (row, column): ``left`` / ``right`` mean a smaller / larger column, ``above`` /
``below`` a smaller / larger row, ``same_row`` the same row (another object). Book section: Part 4.2 (discrete
symbols); the modules of Part 4.1 follow the same programs.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from mmcourse.data.scene_questions import KNOWLEDGE, PROPERTIES, RELATIONS, question_words
from mmcourse._checks import check_choice, check_int
from mmcourse.data.scenes import COLOURS, GRID, PLURALS, SHAPES

__all__ = ["OPERATIONS", "parse", "execute", "execute_trace", "check_program", "format_program", "as_program",
           "relation_holds"]

# operation → (allowed arguments or None, [(input types, output type), ...])
OPERATIONS: dict[str, tuple[tuple[str, ...] | None, tuple[tuple[tuple[str, ...], str], ...]]] = {
    "scene": (None, (((), "set"),)),
    "filter_colour": (COLOURS, ((("set",), "set"),)),
    "filter_shape": (SHAPES, ((("set",), "set"),)),
    "filter_fact": (PROPERTIES, ((("set",), "set"),)),
    "relate": (RELATIONS, ((("set",), "set"),)),
    "and": (None, ((("set", "set"), "set"), (("bool", "bool"), "bool"))),
    "or": (None, ((("set", "set"), "set"), (("bool", "bool"), "bool"))),
    "not": (None, ((("set",), "set"), (("bool",), "bool"))),
    "count": (None, ((("set",), "number"),)),
    "exists": (None, ((("set",), "bool"),)),
    "query_colour": (None, ((("set",), "word"),)),
    "query_shape": (None, ((("set",), "word"),)),
}


def as_program(program) -> list[tuple[str, str | None]]:
    """A program as a list of ``(operation, argument)`` steps; also accepts steps written ``"op[arg]"`` / ``"op"``
    (the dataset's ``program`` column).

    Examples
    --------
    >>> as_program(["scene", "filter_colour[red]", "count"])
    [('scene', None), ('filter_colour', 'red'), ('count', None)]
    """
    if isinstance(program, str) or not isinstance(program, Sequence):
        raise ValueError(f"program must be a list of steps, got {type(program).__name__}")
    steps = []
    for k, step in enumerate(program):
        if isinstance(step, str):
            op, _, arg = step.partition("[")
            if arg and not arg.endswith("]"):
                raise ValueError(f"program: step {k} {step!r} is not written 'operation[argument]'")
            step = (op, arg[:-1] if arg else None)
        if not isinstance(step, (tuple, list)) or len(step) != 2:
            raise ValueError(f"program: step {k} must be (operation, argument), got {step!r}")
        steps.append((step[0], step[1]))
    return steps


def check_program(program) -> str:
    """Check that the steps compose; return the type of the answer (``"number"``, ``"bool"`` or ``"word"``).

    Raises a ``ValueError`` naming the first step that does not fit: an unknown operation or argument, a step
    whose inputs are not on the stack, or a program that does not end with exactly one answer.

    Examples
    --------
    >>> check_program(["scene", "filter_colour[red]", "count"])
    'number'
    >>> check_program(["scene", "count", "exists"])
    Traceback (most recent call last):
    ...
    ValueError: program: step 2 exists needs set on the stack, got number
    """
    stack: list[str] = []
    for k, (op, arg) in enumerate(as_program(program)):
        if op not in OPERATIONS:
            raise ValueError(f"program: step {k} has unknown operation {op!r}; known: {sorted(OPERATIONS)}")
        allowed, signatures = OPERATIONS[op]
        if (allowed is None) != (arg is None) or (allowed is not None and arg not in allowed):
            want = "no argument" if allowed is None else f"one of {list(allowed)}"
            raise ValueError(f"program: step {k} {op} takes {want}, got argument {arg!r}")
        for inputs, output in signatures:
            if len(stack) >= len(inputs) and tuple(stack[len(stack) - len(inputs):]) == inputs:
                del stack[len(stack) - len(inputs):]
                stack.append(output)
                break
        else:
            wants = " or ".join(", ".join(i) or "nothing" for i, _ in signatures)
            got = ", ".join(stack[-2:]) or "nothing"
            raise ValueError(f"program: step {k} {op} needs {wants} on the stack, got {got}")
    if len(stack) != 1 or stack[0] == "set":
        raise ValueError(f"program must end with one answer (a count, a yes/no or a word), ends with {stack}")
    return stack[0]


def relation_holds(relation: str, cell: int, anchor: int) -> bool:
    """Whether the object in ``cell`` is ``relation`` (left, right, above, below, same_row) of the one in
    ``anchor`` (cells 0-8, row-major).

    Examples
    --------
    >>> relation_holds("left", 3, 4), relation_holds("above", 3, 4)
    (True, False)
    """
    check_choice("relation_holds", "relation", relation, RELATIONS)
    check_int("relation_holds", "cell", cell, low=0, high=GRID * GRID - 1)
    check_int("relation_holds", "anchor", anchor, low=0, high=GRID * GRID - 1)
    (r, c), (ra, ca) = divmod(cell, GRID), divmod(anchor, GRID)
    return {"left": c < ca, "right": c > ca, "above": r < ra, "below": r > ra,
            "same_row": r == ra and cell != anchor}[relation]


def _check_objects(objects) -> list[dict]:
    if isinstance(objects, (str, Mapping)) or not isinstance(objects, Sequence):
        raise ValueError(f"objects must be a list of dicts with colour, shape and cell, got {type(objects).__name__}")
    for k, obj in enumerate(objects):
        if not isinstance(obj, Mapping) or not {"colour", "shape", "cell"} <= set(obj):
            raise ValueError(f"objects[{k}] must be a dict with keys colour, shape, cell, got {obj!r}")
        if obj["colour"] not in COLOURS or obj["shape"] not in SHAPES:
            raise ValueError(f"objects[{k}]: colour must be one of {COLOURS} and shape one of {SHAPES}, got {obj!r}")
        cell = obj["cell"]
        if isinstance(cell, bool) or not isinstance(cell, int) and not hasattr(cell, "__index__") \
                or not 0 <= int(cell) < GRID * GRID:
            raise ValueError(f"objects[{k}]: cell must be an integer in 0..{GRID * GRID - 1}, got {cell!r}")
    cells = [int(o["cell"]) for o in objects]
    if len(set(cells)) < len(cells):
        raise ValueError(f"objects: two objects in one cell, cells {cells}")
    return [{"colour": o["colour"], "shape": o["shape"], "cell": int(o["cell"])} for o in objects]


def execute_trace(program, objects, knowledge: Mapping[str, str] | None = None) -> list:
    """Execute a program step by step; return the value after each step.

    Parameters
    ----------
    program : list of (operation, argument) or of "op[arg]" strings
    objects : list of dict
        The scene, each object ``{"colour": str, "shape": str, "cell": int}`` (cells 0-8 in reading order).
    knowledge : dict, optional
        The knowledge base ``{colour or shape: property}`` for ``filter_fact``; default
        :data:`mmcourse.data.KNOWLEDGE`.

    Returns
    -------
    list
        One value per step: a set as the sorted list of object indices, a count as an int, a yes/no as a bool, a
        queried colour or shape as a str.

    Examples
    --------
    >>> scene = [{"colour": "red", "shape": "circle", "cell": 0}, {"colour": "blue", "shape": "square", "cell": 4}]
    >>> execute_trace(parse("how many objects are left of the blue square ?"), scene)
    [[0, 1], [1], [1], [0], 1]
    """
    steps = as_program(program)
    check_program(steps)
    objs = _check_objects(objects)
    kb = KNOWLEDGE if knowledge is None else knowledge
    everything = set(range(len(objs)))
    stack: list = []
    trace = []
    for op, arg in steps:
        if op == "scene":
            value = set(everything)
        elif op in ("filter_colour", "filter_shape"):
            key = op.split("_")[1]
            value = {i for i in stack.pop() if objs[i][key] == arg}
        elif op == "filter_fact":
            value = {i for i in stack.pop() if arg in (kb.get(objs[i]["colour"]), kb.get(objs[i]["shape"]))}
        elif op == "relate":
            anchors = stack.pop()
            value = {j for j in everything if any(relation_holds(arg, objs[j]["cell"], objs[i]["cell"])
                                                  for i in anchors)}
        elif op in ("and", "or"):
            b, a = stack.pop(), stack.pop()
            if isinstance(a, set):
                value = a & b if op == "and" else a | b
            else:
                value = (a and b) if op == "and" else (a or b)
        elif op == "not":
            a = stack.pop()
            value = everything - a if isinstance(a, set) else not a
        elif op == "count":
            value = len(stack.pop())
        elif op == "exists":
            value = len(stack.pop()) > 0
        else:  # query_colour, query_shape
            chosen = stack.pop()
            if len(chosen) != 1:
                raise ValueError(f"execute: {op} needs exactly one object, the program selects {len(chosen)}")
            value = objs[next(iter(chosen))][op.split("_")[1]]
        stack.append(value)
        trace.append(sorted(value) if isinstance(value, set) else value)
    return trace


def execute(program, objects, knowledge: Mapping[str, str] | None = None) -> str:
    """The answer of a program on a scene, a word of :data:`mmcourse.data.ANSWERS`.

    Examples
    --------
    >>> scene = [{"colour": "red", "shape": "circle", "cell": 0}, {"colour": "blue", "shape": "square", "cell": 4}]
    >>> execute(parse("is there a red circle and a green square ?"), scene)
    'no'
    """
    value = execute_trace(program, objects, knowledge)[-1]
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def format_program(program) -> str:
    """A program as one line: ``scene → filter_colour[red] → count``."""
    return " → ".join(op if arg is None else f"{op}[{arg}]" for op, arg in as_program(program))


# --- the parser: a recursive descent over the question grammar of data/scene_questions.md ---------------------------
_RELATION_WORDS = {"left": ["left", "of"], "right": ["right", "of"], "above": ["above"], "below": ["below"],
                   "same_row": ["in", "the", "same", "row", "as"]}
_FIRST_RELATION_WORDS = {words[0] for words in _RELATION_WORDS.values()}


class _Parser:
    def __init__(self, words: list[str]):
        self.words, self.i = words, 0

    def peek(self, offset: int = 0) -> str | None:
        return self.words[self.i + offset] if self.i + offset < len(self.words) else None

    def take(self, *expected: str) -> str:
        word = self.peek()
        if word is None or (expected and word not in expected):
            raise ValueError(f"parse: expected {' or '.join(map(repr, expected)) or 'a word'} at word {self.i} of "
                             f"{' '.join(self.words)!r}, got {word!r}")
        self.i += 1
        return word

    def attribute(self, plural: bool) -> list[tuple[str, str]]:
        """A colour, property or shape word as a filter step."""
        word = self.take()
        if word in COLOURS:
            return [("filter_colour", word)]
        if word in PROPERTIES:
            return [("filter_fact", word)]
        shapes = PLURALS if plural else SHAPES
        if word in shapes:
            return [("filter_shape", SHAPES[shapes.index(word)])]
        self.i -= 1
        self.fail(f"a colour, a property or a {'plural ' if plural else ''}shape")

    def description(self, plural: bool) -> list[tuple[str, str]]:
        """[colour | property] (shape | object): the filters of a noun phrase, without its scene."""
        filters = self.attribute(plural) if self.peek() in COLOURS or self.peek() in PROPERTIES else []
        noun, shapes = ("objects", PLURALS) if plural else ("object", SHAPES)
        word = self.take()
        if word == noun:
            return filters
        if word in shapes:
            return [*filters, ("filter_shape", SHAPES[shapes.index(word)])]
        self.i -= 1
        self.fail(f"{noun} or a {'plural ' if plural else ''}shape")

    def fail(self, what: str):
        raise ValueError(f"parse: expected {what} at word {self.i} of {' '.join(self.words)!r}, got {self.peek()!r}")

    def relation(self) -> str | None:
        for name, words in _RELATION_WORDS.items():
            if self.words[self.i:self.i + len(words)] == words:
                self.i += len(words)
                return name
        return None

    def anchored(self, filters: list, required: bool = False) -> list:
        """The filters applied to the scene, or to the objects related to "the <noun phrase>" that follows."""
        relation = self.relation()
        if relation is None:
            if required:
                self.fail("a relation (left of, right of, above, below, in the same row as)")
            return [("scene", None), *filters]
        self.take("the")
        return [*self.noun_phrase(), ("relate", relation), *filters]

    def noun_phrase(self) -> list:
        return self.anchored(self.description(plural=False))

    def question(self) -> list:
        first = self.take("how", "is", "what")
        if first == "how":
            self.take("many")
            if self.peek() == "objects" and self.peek(1) == "are" and self.peek(2) not in _FIRST_RELATION_WORDS:
                self.i += 2
                if self.peek() == "not":
                    self.take()
                    program = [("scene", None), *self.attribute(True), ("not", None)]
                else:
                    program = [("scene", None), *self.attribute(True)]
                    self.take("or")
                    program += [("scene", None), *self.attribute(True), ("or", None)]
            else:
                filters = self.description(plural=True)
                if self.peek() == "are":
                    self.take()
                    program = self.anchored(filters, required=True)
                else:
                    program = [("scene", None), *filters]
            program.append(("count", None))
        elif first == "what":
            key = self.take("colour", "shape")
            self.take("is")
            self.take("the")
            program = [*self.noun_phrase(), (f"query_{key}", None)]
        elif self.peek() == "the":  # is the <noun phrase> <property> ?
            self.take()
            program = self.noun_phrase()
            program += [("filter_fact", self.take(*PROPERTIES)), ("exists", None)]
        else:
            self.take("there")
            if self.peek() == "no":
                self.take()
                program = [*self.noun_phrase(), ("exists", None), ("not", None)]
            else:
                self.take("a")
                program = [*self.noun_phrase(), ("exists", None)]
                if self.peek() in ("and", "or"):
                    joint = self.take()
                    self.take("a")
                    program += [*self.noun_phrase(), ("exists", None), (joint, None)]
        self.take("?")
        if self.peek() is not None:
            self.fail("the end of the question")
        return program


def parse(question: str) -> list[tuple[str, str | None]]:
    """The program of a question of the scene world, as ``(operation, argument)`` steps in execution order.

    Parameters
    ----------
    question : str
        A question in the words of :data:`mmcourse.data.QUESTION_VOCAB`, as the dataset writes them (the grammar
        is in ``data/scene_questions.md``).

    Returns
    -------
    list of (str, str or None)

    Examples
    --------
    >>> format_program(parse("how many red objects are left of the blue square ?"))
    'scene → filter_colour[blue] → filter_shape[square] → relate[left] → filter_colour[red] → count'
    """
    if not isinstance(question, str):
        raise ValueError(f"parse: question must be a str, got {type(question).__name__}")
    words = question.split()
    known = set(question_words())
    unknown = [w for w in words if w not in known]
    if unknown:
        raise ValueError(f"parse: unknown word(s) {unknown}; the vocabulary is {sorted(known)}")
    if not words:
        raise ValueError("parse: the question is empty")
    program = _Parser(words).question()
    check_program(program)
    return program
