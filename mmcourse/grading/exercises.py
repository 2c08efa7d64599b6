"""The exercises of a notebook, read from the instructor's version (never from a submission).

An exercise is a markdown cell with an ``{exercise}`` directive and its ``:label:``, then a code cell tagged
``solution`` (the reference solution; a stub in the student's version) and a check cell that calls a checker of
:mod:`mmcourse.exercises` on the objects the exercise asks for, e.g. ``check_tensor_fusion(tensor_fusion)``. The
grader finds the student's solution cell by its cell id, which the student version keeps.
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Exercise", "read_exercises"]

_LABEL = re.compile(r"^:label:\s*(\S+)", re.MULTILINE)
_TITLE = re.compile(r"````\{exercise\}\s*(.*)")


@dataclass(frozen=True)
class Exercise:
    """One exercise: its ``label`` and ``title``, the ids of its solution and check cells, the checker's name, and
    the source of each argument of the check call (evaluated in the student's kernel); ``points`` and
    ``difficulty`` come from the solution cell's metadata (default 1 point, no difficulty)."""

    label: str
    title: str
    solution_id: str
    check_id: str
    checker: str
    arguments: tuple[str, ...]
    points: float = 1.0
    difficulty: str = ""


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _check_call(source: str) -> tuple[str, tuple[str, ...]] | None:
    """The last top-level call of a ``check_…`` function in a cell: its name and its arguments' source."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    calls = [node.value for node in tree.body if isinstance(node, (ast.Expr, ast.Assign))
             and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
             and node.value.func.id.startswith("check_")]
    if not calls:
        return None
    call = calls[-1]
    if call.keywords or any(isinstance(a, ast.Starred) for a in call.args):
        raise ValueError(f"check call {ast.unparse(call)!r}: the grader takes positional arguments only")
    return call.func.id, tuple(ast.get_source_segment(source, a) for a in call.args)


def read_exercises(path: Path | str) -> list[Exercise]:
    """The exercises of the instructor's notebook at ``path``, in order.

    Raises ``ValueError`` if a solution cell has no exercise directive before it or no check cell after it: the
    grader would not know what to grade.

    Examples
    --------
    >>> from mmcourse.book import ROOT
    >>> [e.checker for e in read_exercises(ROOT / "chapters/quantification/pid.ipynb")][:1]
    ['check_mutual_information']
    """
    path = Path(path)
    cells = json.loads(path.read_text())["cells"]
    exercises, label, title = [], None, ""
    for i, cell in enumerate(cells):
        text = _source(cell)
        if cell["cell_type"] == "markdown" and "{exercise}" in text:
            found = _LABEL.search(text)
            label = found.group(1) if found else None
            title = _TITLE.search(text).group(1).strip() if _TITLE.search(text) else ""
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] != "code" or "solution" not in tags:
            continue
        if label is None:
            raise ValueError(f"{path}: the solution cell {cell.get('id')} has no exercise (with a :label:) before it")
        check = next((c for c in cells[i + 1:] if c["cell_type"] == "code"
                      and "check-solution" not in c.get("metadata", {}).get("tags", [])), None)
        call = _check_call(_source(check)) if check else None
        if call is None:
            raise ValueError(f"{path}: the exercise {label!r} has no check cell (a call of a check_… function)")
        metadata = cell.get("metadata", {})
        exercises.append(Exercise(label, title, cell["id"], check["id"], *call, points=float(metadata.get("points", 1)),
                                  difficulty=str(metadata.get("difficulty", ""))))
        label = None   # one solution cell per exercise
    return exercises
