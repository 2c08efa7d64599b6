"""Grade submissions: run each in its own kernel, then judge every exercise here, with the installed checkers.

Statuses: ``pass``, ``fail``, ``not attempted`` (the solution cell is missing, or the solution is still the stub),
``error`` (the object the exercise asks for cannot be obtained, the notebook cannot be read, the kernel died) and
``timeout`` (the submission ran past its time limit before the exercise was judged).
"""
from __future__ import annotations

import json
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from mmcourse.grading.exercises import Exercise, read_exercises
from mmcourse.grading.kernel import KernelDied, KernelTimeout, SubmissionKernel

__all__ = ["Grade", "STATUSES", "grade_submission", "grade_submissions", "find_reference"]

STATUSES = ("pass", "fail", "not attempted", "error", "timeout")


@dataclass(frozen=True)
class Grade:
    """The verdict on one exercise of one submission (a row of ``grades.csv``)."""

    notebook: str
    exercise: str
    status: str
    points: float
    max_points: float
    message: str
    ran: bool = True   # False when the submission itself could not be run to the end


def find_reference(submission: Path, reference: Path) -> Path:
    """The instructor's notebook with the submission's file name under the folder ``reference``."""
    matches = sorted(reference.rglob(submission.name)) if reference.is_dir() else [reference]
    matches = [m for m in matches if ".ipynb_checkpoints" not in m.parts]
    if len(matches) != 1:
        raise ValueError(f"{submission}: expected one instructor notebook named {submission.name} under "
                         f"{reference}, found {len(matches)}")
    return matches[0]


def _status(result) -> str:
    from mmcourse.exercises import CheckResult

    if not isinstance(result, CheckResult):
        return "error"
    if result.passed:
        return "pass"
    return "not attempted" if result.message.startswith("not attempted") else "fail"


def _judge(kernel: SubmissionKernel, exercise: Exercise) -> tuple[str, str]:
    """Run the exercise's checker here on the objects that the submission's kernel holds."""
    import mmcourse.exercises

    arguments = []
    for source in exercise.arguments:
        try:
            value = kernel.get(source)
        except (KernelTimeout, KernelDied):
            raise
        except Exception as err:
            return "error", f"could not get {source} from the submission ({type(err).__name__}: {err})"
        if value is NotImplemented:
            return "not attempted", f"not attempted yet ({source} is still the stub)"
        arguments.append(value)
    try:
        result = getattr(mmcourse.exercises, exercise.checker)(*arguments)
    except (KernelTimeout, KernelDied):
        raise
    except Exception as err:   # a checker should not raise; say so rather than lose the batch
        return "error", f"the checker raised {type(err).__name__}: {err}"
    return _status(result), result.message


def grade_submission(path: Path | str, reference: Path | str, *, timeout: float = 300) -> list[Grade]:
    """Grade one submitted notebook against the instructor's notebook of the same name under ``reference``.

    The submission's code cells run in order in a fresh kernel (errors are allowed, as in Jupyter), then each
    exercise's checker runs in this process on the objects named by the instructor's check cell. Everything,
    execution and checks, must fit in ``timeout`` seconds; an exercise not judged by then is ``timeout``.
    """
    path, reference = Path(path), Path(reference)
    exercises = read_exercises(find_reference(path, reference))

    def every(status: str, message: str) -> list[Grade]:
        return [Grade(str(path), e.label, status, 0.0, e.points, message, ran=False) for e in exercises]

    try:
        cells = json.loads(path.read_text())["cells"]
    except FileNotFoundError:
        return every("error", "the submission file does not exist")
    except (ValueError, KeyError, UnicodeDecodeError) as err:
        return every("error", f"the submission is not a readable notebook ({type(err).__name__})")
    present = {c.get("id") for c in cells if c.get("cell_type") == "code"}
    verdicts: dict[str, tuple[str, str]] = {}
    try:
        with SubmissionKernel(path.parent, time.monotonic() + timeout) as kernel:
            for cell in cells:
                if cell.get("cell_type") == "code":
                    kernel.run_cell("".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"])
            for exercise in exercises:
                if exercise.solution_id not in present:
                    verdicts[exercise.label] = ("not attempted", "the exercise's solution cell is missing")
                else:
                    verdicts[exercise.label] = _judge(kernel, exercise)
    except KernelTimeout:
        reason = ("timeout", f"the submission did not finish within {timeout:g} s")
    except KernelDied:
        reason = ("error", "the submission's kernel died (a crash, os._exit or out of memory)")
    else:
        reason = None
    grades = []
    for exercise in exercises:
        status, message = verdicts.get(exercise.label, reason)
        points = exercise.points if status == "pass" else 0.0
        grades.append(Grade(str(path), exercise.label, status, points, exercise.points, message,
                            ran=reason is None))
    return grades


def _grade_one(args: tuple[Path, Path, float]) -> list[Grade]:
    path, reference, timeout = args
    try:
        return grade_submission(path, reference, timeout=timeout)
    except ValueError as err:   # no instructor notebook for it: one row says why
        return [Grade(str(path), "", "error", 0.0, 0.0, str(err), ran=False)]


def grade_submissions(paths, reference: Path | str, *, timeout: float = 300, jobs: int = 1) -> list[Grade]:
    """Grade every submission (``jobs`` at a time, each in its own process and kernel); rows in input order."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"grade_submissions: jobs must be an integer ≥ 1, got {jobs!r}")
    if not timeout > 0:
        raise ValueError(f"grade_submissions: timeout must be a positive number of seconds, got {timeout!r}")
    work = [(Path(p), Path(reference), float(timeout)) for p in paths]
    if jobs == 1:
        results = [_grade_one(w) for w in work]
    else:
        with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
            results = list(pool.map(_grade_one, work))
    return [grade for rows in results for grade in rows]
