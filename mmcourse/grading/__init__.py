"""Grading for instructors: ``python -m mmcourse.book grade SUBMISSION... --out DIR``.

What the grader guarantees: the exercises come from the instructor's notebook, not from the submission; each
submission runs in its own kernel with its own time limit; each checker runs in the grader's process, on the objects
the exercise asks for, so printing, redefining or patching anything in a notebook changes nothing. What it does not:
it does not read the student's prose answers, and a solution that calls the book's own implementation passes.

- :mod:`~mmcourse.grading.exercises`: the exercises of an instructor's notebook;
- :mod:`~mmcourse.grading.kernel`: the submission's kernel, and proxies to the objects in it;
- :mod:`~mmcourse.grading.runner`: the verdicts;
- :mod:`~mmcourse.grading.report`: the grade sheets and feedback notebooks;
- :mod:`~mmcourse.grading.course`: the exercise index (points, difficulty, objectives, time).
"""
from mmcourse.grading.course import DIFFICULTIES, exercise_index, toc_notebooks
from mmcourse.grading.exercises import Exercise, read_exercises
from mmcourse.grading.kernel import KernelDied, KernelTimeout, RemoteError, RemoteObject, SubmissionKernel
from mmcourse.grading.report import grade_table, summary_table, write_report
from mmcourse.grading.runner import STATUSES, Grade, find_reference, grade_submission, grade_submissions

__all__ = ["Exercise", "read_exercises", "SubmissionKernel", "RemoteObject", "RemoteError", "KernelDied",
           "KernelTimeout", "Grade", "STATUSES", "grade_submission", "grade_submissions", "find_reference",
           "grade_table", "summary_table", "write_report", "DIFFICULTIES", "exercise_index", "toc_notebooks"]
