"""The grader (mmcourse.grading, ``python -m mmcourse.book grade``): exercises read from the instructor's notebook,
checkers run outside the submission's kernel, and a batch that finishes whatever the submissions do."""
from __future__ import annotations

import ast
import csv
import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import mmcourse.exercises
from mmcourse.book import ROOT, main, notebooks, stub, student_version
from mmcourse.grading import (STATUSES, KernelDied, KernelTimeout, RemoteObject, SubmissionKernel, read_exercises,
                              summary_table)

PID = ROOT / "chapters" / "quantification" / "pid.ipynb"


def cells_of(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def write(path: Path, cells: list[dict]) -> Path:
    nb = json.loads(PID.read_text())
    nb["cells"] = cells
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb))
    return path


# --- the exercises of the instructor's notebooks ---------------------------------------------------------------------
def test_every_exercise_of_the_book_is_read_with_a_checker_that_exists():
    found = {p.name: read_exercises(p) for p in notebooks()}
    exercises = [e for es in found.values() for e in es]
    assert len(exercises) >= 100
    assert all(callable(getattr(mmcourse.exercises, e.checker, None)) for e in exercises)
    assert [e.checker for e in found["pid.ipynb"]] == ["check_mutual_information", "check_in_polytope",
                                                         "check_pid_parts"]


def test_read_exercises_refuses_a_solution_without_exercise_or_check(tmp_path):
    solution = {"cell_type": "code", "id": "s1", "metadata": {"tags": ["solution"]}, "source": "def f(): pass",
                "outputs": [], "execution_count": None}
    directive = {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": "````{exercise} T\n:label: ex-t\n"}
    with pytest.raises(ValueError, match="no exercise"):
        read_exercises(write(tmp_path / "a.ipynb", [solution]))
    with pytest.raises(ValueError, match="no check cell"):
        read_exercises(write(tmp_path / "b.ipynb", [directive, solution]))


@pytest.mark.parametrize("path", [p for p in notebooks() if read_exercises(p)], ids=lambda p: p.stem)
def test_the_stub_of_every_exercise_is_not_attempted(path):
    """The student version's stub of each solution, whatever its form (functions, a value), is reported as "not
    attempted" by its checker: no error, no pass. Arguments that the notebook's experiments compute (not the
    student's) are replaced by an empty dict."""
    cells = {c.get("id"): c for c in cells_of(path)}
    imports = "\n".join(ast.unparse(n) for c in cells.values() if c["cell_type"] == "code"
                        for n in ast.parse(source(c)).body if isinstance(n, (ast.Import, ast.ImportFrom)))
    for exercise in read_exercises(path):
        namespace: dict = {}
        exec(compile(imports + "\n" + stub(source(cells[exercise.solution_id])), "<stub>", "exec"), namespace)
        arguments = [namespace[a] if a in namespace else {} for a in exercise.arguments]
        result = getattr(mmcourse.exercises, exercise.checker)(*arguments)
        assert not result.passed and result.message.startswith("not attempted"), (exercise.label, result)


def test_every_reference_solution_passes_through_the_grader(tmp_path):
    """Every exercise of the book, judged as the grader judges it: the reference solution defined in a kernel (the
    notebook's imports, then the solution cell's imports, definitions and assignments), the checker run here on
    proxies. Catches a checker whose arguments or results cannot cross between the processes. The fusion
    explorer's prediction exercise is left out: its second argument is the notebook's own measurement."""
    from mmcourse.grading.runner import _judge

    failures = []
    with SubmissionKernel(tmp_path, time.monotonic() + 600) as kernel:
        for path in notebooks():
            cells = {c.get("id"): c for c in cells_of(path)}
            exercises = [e for e in read_exercises(path) if all(a.isidentifier() for a in e.arguments)]
            if not exercises:
                continue
            kernel.run_cell("\n".join(ast.unparse(n) for c in cells.values() if c["cell_type"] == "code"
                                      for n in ast.parse(source(c)).body
                                      if isinstance(n, (ast.Import, ast.ImportFrom))))
            for exercise in exercises:
                tree = ast.parse(source(cells[exercise.solution_id]))
                kept = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom, ast.FunctionDef,
                                                               ast.ClassDef, ast.Assign, ast.AnnAssign))]
                kernel.run_cell(ast.unparse(ast.Module(kept, [])))   # an assignment may need the notebook's data
                status, message = _judge(kernel, exercise)
                if status != "pass":
                    failures.append((path.stem, exercise.checker, status, message))
    assert failures == []


def names_of_solutions(cells: list[dict]) -> set[str]:
    """The names that solution cells define or assign: gone, or stubs, in the student version."""
    names = set()
    for cell in cells:
        if cell["cell_type"] == "code" and "solution" in cell["metadata"].get("tags", []):
            for node in ast.parse(source(cell)).body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    names.add(node.name)
                elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


@pytest.mark.parametrize("path", [p for p in notebooks() if read_exercises(p)], ids=lambda p: p.stem)
def test_student_version_needs_no_solution_outside_its_exercise(path):
    """A student version runs without error only if no cell it keeps (hidden asserts included) uses what a solution
    cell defines; only the check cell and the check-solution cells may. Tag such an assert ``check-solution``."""
    cells = cells_of(path)
    checks = {e.check_id for e in read_exercises(path)}
    kept = [c for c in cells if c["cell_type"] == "code" and c["id"] not in checks
            and not {"solution", "check-solution"} & set(c["metadata"].get("tags", []))]
    bound_elsewhere = {n.id for c in kept for n in ast.walk(ast.parse(source(c)))
                       if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    bound_elsewhere |= {n.name for c in kept for n in ast.walk(ast.parse(source(c)))
                        if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    bound_elsewhere |= {n.arg for c in kept for n in ast.walk(ast.parse(source(c))) if isinstance(n, ast.arg)}
    bound_elsewhere |= {(a.asname or a.name).split(".")[0] for c in kept for n in ast.walk(ast.parse(source(c)))
                        if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    solution_names = names_of_solutions(cells) - bound_elsewhere
    offenders = []
    for cell in kept:
        used = {n.id for n in ast.walk(ast.parse(source(cell))) if isinstance(n, ast.Name)}
        if used & solution_names:
            offenders.append((cell["id"], sorted(used & solution_names)))
    assert offenders == []


# --- the submission's kernel -----------------------------------------------------------------------------------------
KERNEL_CODE = '''
import numpy as np, torch
class Counter:
    def __init__(self, start): self.value = start
    def step(self): self.value += 1; return self.value
def double(x): return 2 * x
def stub(x): raise NotImplementedError("stub")
def broken(x): raise ValueError("bad x")
def grad_mode(): return torch.is_grad_enabled()
table = {"a": True, "b": [1.5, None]}
unset = NotImplemented
def freeze(module):
    for p in module.parameters():
        p.requires_grad_(False)
    return sum(p.numel() for p in module.parameters())
def fill(t):
    t.fill_(3.0)
'''


def test_kernel_proxies_calls_and_brings_back_data(tmp_path):
    with SubmissionKernel(tmp_path, time.monotonic() + 120) as kernel:
        assert kernel.run_cell(KERNEL_CODE) is None
        assert kernel.run_cell("1 / 0") == "ZeroDivisionError: division by zero"
        double = kernel.get("double")
        assert isinstance(double, RemoteObject) and callable(double)
        assert torch.equal(double(torch.ones(2)), torch.full((2,), 2.0))
        assert np.array_equal(double(np.arange(3)), np.array([0, 2, 4]))
        assert kernel.get("table") == {"a": True, "b": [1.5, None]}
        assert kernel.get("unset") is NotImplemented
        with pytest.raises(NotImplementedError, match="stub"):
            kernel.get("stub")(1)
        with pytest.raises(ValueError, match="bad x"):
            kernel.get("broken")(1)
        with pytest.raises(NameError):
            kernel.get("not_defined")
        counter = kernel.get("Counter")(3)   # an instance stays in the kernel; its methods run there
        assert isinstance(counter, RemoteObject) and counter.step() == 4 and counter.value == 4
        layer, buffer = torch.nn.Linear(2, 3), torch.zeros(4)   # in-place changes come back to the grader's copies
        assert kernel.get("freeze")(layer) == 9 and not any(p.requires_grad for p in layer.parameters())
        assert kernel.get("fill")(buffer) is None and torch.equal(buffer, torch.full((4,), 3.0))
        with torch.no_grad():   # the checker's grad mode reaches the student's function
            assert kernel.get("grad_mode")() is False
        assert kernel.get("grad_mode")() is True


def test_kernel_timeout_and_death(tmp_path):
    with SubmissionKernel(tmp_path, time.monotonic() + 3) as kernel, pytest.raises(KernelTimeout):
        kernel.run_cell("while True: pass")
    with SubmissionKernel(tmp_path, time.monotonic() + 60) as kernel, pytest.raises(KernelDied):
        kernel.run_cell("import os; os._exit(1)")


# --- whole submissions of a real chapter ------------------------------------------------------------------------------
def submissions(root: Path) -> dict[str, Path]:
    """One submission of the PID chapter per behaviour the grader must handle."""
    student_version(PID.parent, root / "student-version")
    stubbed = cells_of(root / "student-version" / PID.name)
    reference = cells_of(PID)
    checks = [e.check_id for e in read_exercises(PID)]
    solutions = [e.solution_id for e in read_exercises(PID)]

    def cell(text: str) -> dict:
        return {"cell_type": "code", "id": f"x{abs(hash(text)) % 10**8}", "metadata": {}, "source": text,
                "outputs": [], "execution_count": None}

    cheats = [cell("import mmcourse.exercises as ex\nfrom mmcourse.exercises import CheckResult\n"
                   "CheckResult.__repr__ = lambda self: 'PASS'\nCheckResult.passed = True\n"
                   "for name in dir(ex):\n    if name.startswith('check_'):\n"
                   "        setattr(ex, name, lambda *a: print('PASS'))\n"
                   "check_mutual_information = lambda f: print('PASS mutual information: ok')\n"
                   "for _ in range(10):\n    print('PASS')")]
    cheater = [c for c in stubbed if c["id"] != checks[2]]   # a check cell deleted
    cheater = [dict(c, source="print('PASS')") if c["id"] == checks[0] else c for c in cheater]
    cheater = cheater[:2] + cheats + cheater[2:]
    wrong = "def in_polytope(p, q):\n    return True\n"
    mixed = [dict(c, source=wrong) if c["id"] == solutions[1] else c for c in reference
             if c["id"] != solutions[2]] + [cell("def broken(:\n    pass")]
    made = {
        "reference": write(root / "ann" / PID.name, reference),
        "student": write(root / "bob" / PID.name, stubbed),
        "cheater": write(root / "cat" / PID.name, cheater),
        "mixed": write(root / "dan" / PID.name, mixed),
        "loop": write(root / "eve" / PID.name, reference[:2] + [cell("while True:\n    pass")] + reference[2:]),
        "exit": write(root / "fay" / PID.name, reference[:2] + [cell("import os\nos._exit(1)")] + reference[2:]),
        "missing": root / "gil" / PID.name,
        "garbage": root / "hal" / PID.name,
    }
    made["garbage"].parent.mkdir(parents=True)
    made["garbage"].write_text("not a notebook {")
    return made


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading")
    made = submissions(root)
    out = root / "out"
    status = main(["grade", *map(str, made.values()), "--out", str(out), "--timeout", "60", "--jobs", "2"])
    with open(out / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    table = {(name, r["exercise"]): r for name, path in made.items() for r in rows if r["notebook"] == str(path)}
    return status, table, made, out


def verdicts(table, name):
    return [row["status"] for (who, _), row in sorted(table.items()) if who == name]


def test_grade_sheet_columns_and_exit_status(graded):
    status, table, made, out = graded
    assert status == 1   # some submissions could not be graded
    header = (out / "grades.csv").read_text().splitlines()[0]
    assert header == "notebook,exercise,status,points,message"
    assert {row["status"] for row in table.values()} <= set(STATUSES)
    assert len(table) == 3 * len(made)   # every submission gets a row per exercise, whatever happened
    assert (out / "summary.csv").exists() and "<table" in (out / "report.html").read_text()


def test_reference_passes_and_stub_is_not_attempted(graded):
    _, table, _, _ = graded
    assert verdicts(table, "reference") == ["pass"] * 3
    assert verdicts(table, "student") == ["not attempted"] * 3


def test_cheating_changes_nothing(graded):
    _, table, _, _ = graded
    assert verdicts(table, "cheater") == ["not attempted"] * 3


def test_wrong_deleted_and_broken_cells(graded):
    _, table, _, _ = graded
    rows = {label: table["mixed", label] for label in [e.label for e in read_exercises(PID)]}
    statuses = [r["status"] for r in rows.values()]
    assert statuses == ["pass", "fail", "not attempted"], rows
    assert [float(r["points"]) for r in rows.values()] == [read_exercises(PID)[0].points, 0.0, 0.0]
    assert "solution cell is missing" in list(rows.values())[2]["message"]


def test_loop_death_and_bad_files_are_recorded_and_the_batch_finishes(graded):
    _, table, _, _ = graded
    assert verdicts(table, "loop") == ["timeout"] * 3
    assert verdicts(table, "exit") == ["error"] * 3
    assert "died" in table["exit", read_exercises(PID)[0].label]["message"]
    assert verdicts(table, "missing") == ["error"] * 3 and verdicts(table, "garbage") == ["error"] * 3


def test_feedback_notebooks_carry_the_messages(graded):
    _, _, made, out = graded
    feedback = json.loads((out / "feedback" / "dan" / PID.name).read_text())
    notes = [source(c) for c in feedback["cells"] if "grader-feedback" in c["metadata"].get("tags", [])]
    assert len(notes) == 2 and notes[1].startswith("**Grader: fail**")   # the deleted solution has no cell


def test_summary_table_counts_statuses():
    from mmcourse.grading import Grade

    grades = [Grade("a", "e1", "pass", 2.0, 2.0, ""), Grade("a", "e2", "fail", 0.0, 1.0, "")]
    row = summary_table(grades).iloc[0]
    assert (row["points"], row["max_points"], row["pass"], row["fail"]) == (2.0, 3.0, 1, 1)


# --- course material --------------------------------------------------------------------------------------------------
def test_every_exercise_declares_points_and_difficulty():
    from mmcourse.grading import DIFFICULTIES

    undeclared = []
    for path in notebooks():
        for cell in cells_of(path):
            meta = cell["metadata"]
            if cell["cell_type"] == "code" and "solution" in meta.get("tags", []):
                points = meta.get("points")
                if not (isinstance(points, (int, float)) and points > 0 and meta.get("difficulty") in DIFFICULTIES):
                    undeclared.append((path.stem, cell["id"]))
    assert undeclared == []


def test_exercise_index_page_is_up_to_date():
    """Regenerate with ``python -m mmcourse.book exercise-index``."""
    from mmcourse.grading import exercise_index, toc_notebooks

    page = (ROOT / "chapters" / "appendix" / "exercises.md").read_text()
    assert page == exercise_index(ROOT)
    in_toc = {p.name for p in toc_notebooks(ROOT)}
    assert all(f"{{ref}}`{e.label}`" in page for p in notebooks() if p.name in in_toc for e in read_exercises(p))


def test_exercise_index_shows_declared_objectives_and_time(tmp_path):
    from mmcourse.grading import exercise_index

    (tmp_path / "chapters" / "part").mkdir(parents=True)
    nb = json.loads(PID.read_text())
    nb["metadata"]["mmcourse"] = {"objectives": ["compute a PID"], "minutes": 40}
    (tmp_path / "chapters" / "part" / "pid.ipynb").write_text(json.dumps(nb))
    (tmp_path / "_toc.yml").write_text("parts:\n  - chapters:\n      - file: chapters/part/pid\n")
    page = exercise_index(tmp_path)
    assert "Estimated time: 40 minutes." in page and "- compute a PID" in page
    assert page.count("| {ref}`") == 3 and "In all: 3 exercises" in page


def test_student_book_has_every_page_and_no_solution(tmp_path):
    from mmcourse.book import student_book

    dest = tmp_path / "student-book"
    count = student_book(dest)
    assert count == sum(len(read_exercises(p)) for p in notebooks())
    assert (dest / "_config.yml").read_text() == (ROOT / "_config.yml").read_text()
    pages = {p.relative_to(ROOT).as_posix() for p in (ROOT / "chapters").rglob("*") if p.suffix in (".md", ".ipynb")}
    assert {p.relative_to(dest).as_posix() for p in (dest / "chapters").rglob("*")
            if p.suffix in (".md", ".ipynb")} == pages
    for path in notebooks(dest / "chapters"):
        original = {c["id"]: c for c in cells_of(ROOT / path.relative_to(dest))}
        for cell in cells_of(path):
            assert "check-solution" not in cell["metadata"].get("tags", [])
            if "solution" in cell["metadata"].get("tags", []):
                assert source(cell) == stub(source(original[cell["id"]]))
