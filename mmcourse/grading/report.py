"""Grade sheets: ``grades.csv`` (one row per submission and exercise), ``summary.csv`` (one row per submission),
``report.html`` (both tables, for a browser) and a feedback notebook per submission."""
from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from mmcourse.grading.exercises import read_exercises
from mmcourse.grading.runner import STATUSES, Grade, find_reference

__all__ = ["grade_table", "summary_table", "write_report"]

COLUMNS = ["notebook", "exercise", "status", "points", "message"]


def grade_table(grades: Sequence[Grade]) -> pd.DataFrame:
    """The rows of ``grades.csv``: ``notebook, exercise, status, points, message``."""
    return pd.DataFrame([[g.notebook, g.exercise, g.status, g.points, g.message] for g in grades], columns=COLUMNS)


def summary_table(grades: Sequence[Grade]) -> pd.DataFrame:
    """One row per submission: points, the maximum, and how many exercises got each status."""
    rows = {}
    for g in grades:
        row = rows.setdefault(g.notebook, {"notebook": g.notebook, "points": 0.0, "max_points": 0.0,
                                           **dict.fromkeys(STATUSES, 0)})
        row["points"] += g.points
        row["max_points"] += g.max_points
        row[g.status] += 1
    return pd.DataFrame(list(rows.values()), columns=["notebook", "points", "max_points", *STATUSES])


_STYLE = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
          "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
          ".pass{background:#e6f4ea}.fail{background:#fce8e6}.error,.timeout{background:#fff4d6}")


def _html(grades: Sequence[Grade]) -> str:
    summary = summary_table(grades).to_html(index=False, escape=True)
    rows = "".join(f'<tr class="{html.escape(g.status.replace(" ", "-"))}"><td>{html.escape(g.notebook)}</td>'
                   f"<td>{html.escape(g.exercise)}</td><td>{html.escape(g.status)}</td>"
                   f"<td>{g.points:g} / {g.max_points:g}</td><td>{html.escape(g.message)}</td></tr>" for g in grades)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Grades</title><style>{_STYLE}</style>"
            f"</head><body><h1>Grades</h1><h2>Per submission</h2>{summary}<h2>Per exercise</h2><table><tr>"
            f"<th>notebook</th><th>exercise</th><th>status</th><th>points</th><th>message</th></tr>{rows}"
            f"</table></body></html>\n")


def _feedback(path: Path, reference: Path, grades: Sequence[Grade]) -> dict | None:
    """The submission with a markdown cell after each exercise's solution cell: the verdict and the message."""
    try:
        nb = json.loads(path.read_text())
        exercises = {e.label: e for e in read_exercises(find_reference(path, reference))}
    except (OSError, ValueError, KeyError):
        return None
    verdicts = {exercises[g.exercise].solution_id: g for g in grades if g.exercise in exercises}
    cells = []
    for cell in nb.get("cells", []):
        cells.append(cell)
        g = verdicts.get(cell.get("id"))
        if g is not None:
            text = f"**Grader: {g.status}** ({g.points:g} / {g.max_points:g}). {g.message}"
            cells.append({"cell_type": "markdown", "id": f"grade-{cell['id']}"[:64],
                          "metadata": {"tags": ["grader-feedback"]}, "source": text})
    nb["cells"] = cells
    return nb


def write_report(grades: Sequence[Grade], out: Path | str, reference: Path | str) -> None:
    """Write ``grades.csv``, ``summary.csv``, ``report.html`` and ``feedback/<folder>/<name>.ipynb`` under ``out``
    (``<folder>`` is the submission's folder, e.g. the student's)."""
    out = Path(out)
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    grade_table(grades).to_csv(out / "grades.csv", index=False)
    summary_table(grades).to_csv(out / "summary.csv", index=False)
    (out / "report.html").write_text(_html(grades))
    by_notebook: dict[str, list[Grade]] = {}
    for g in grades:
        by_notebook.setdefault(g.notebook, []).append(g)
    for notebook, rows in by_notebook.items():
        nb = _feedback(Path(notebook), Path(reference), rows)
        if nb is not None:   # students hand in files of the same name: keep their folder in the path
            target = out / "feedback" / Path(notebook).parent.name / Path(notebook).name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
