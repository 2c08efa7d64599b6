"""The student version of every chapter runs from top to bottom without an error, and every check cell in it says
"not attempted".

Executing every chapter again doubles the time of ``make test``, so this test runs only on request:
``make test-student`` (or ``MMCOURSE_STUDENT_TESTS=1 pytest tests/test_student_versions.py``). The cheap halves of
the same guarantee run always, in ``test_grading.py``: every stub is "not attempted" for its checker, and no cell a
student version keeps uses what a solution cell defines.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from mmcourse.book import ROOT, notebooks, student_version
from mmcourse.grading import read_exercises

pytestmark = pytest.mark.skipif(os.environ.get("MMCOURSE_STUDENT_TESTS") != "1",
                                reason="executes every chapter: make test-student")

CHAPTERS = [p for p in notebooks() if read_exercises(p)]


@pytest.fixture(scope="module")
def student_folder(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("student")
    student_version(ROOT / "chapters", dest)
    return dest


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_student_version_runs_and_reports_not_attempted(chapter, student_folder):
    import nbformat
    from nbclient import NotebookClient

    path = student_folder / chapter.relative_to(ROOT / "chapters")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, resources={"metadata": {"path": str(path.parent)}}).execute()  # raises on error
    checks = {e.check_id for e in read_exercises(chapter)}
    verdicts = []
    for cell in nb.cells:
        if cell.get("id") in checks:
            text = "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.outputs)
            verdicts.append(text.strip())
    assert len(verdicts) == len(checks)
    assert all(v.startswith("FAIL") and "not attempted" in v for v in verdicts), verdicts
