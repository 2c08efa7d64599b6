"""The result of an exercise check, and the harness that runs a reader's function on fresh cases."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["CheckResult", "run_cases"]


@dataclass(frozen=True)
class CheckResult:
    """``passed`` and a one-line ``message``; displayed as ``PASS exercise: …`` or ``FAIL exercise: …``."""

    exercise: str
    passed: bool
    message: str

    def __repr__(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'} {self.exercise}: {self.message}"

    def __bool__(self) -> bool:
        return self.passed


def run_cases(exercise: str, solution: Callable, cases: int, make_case: Callable[[torch.Generator], tuple],
              judge: Callable[..., str | None], success: str) -> CheckResult:
    """Call ``solution`` on ``cases`` fresh random cases; ``judge(case, output)`` returns a hint or ``None``.

    ``make_case(generator)`` returns ``(args, expected_context)``; the generator is seeded anew per check so that
    a failure is reproducible but the cases are not the ones printed in the book.
    """
    if not callable(solution):
        return CheckResult(exercise, False, f"expected a function, got {type(solution).__name__}")
    # The reference modules draw their initial weights from torch's global generator: fork it, so that checking
    # an exercise does not change the numbers of the cells that follow, and seed it, so that the same solution
    # always gets the same verdict and message.
    with torch.random.fork_rng():
        torch.manual_seed(20_261_127)
        return _run(exercise, solution, cases, make_case, judge, success)


def _run(exercise, solution, cases, make_case, judge, success) -> CheckResult:
    generator = torch.Generator().manual_seed(20_261_127)
    for number in range(1, cases + 1):
        args, context = make_case(generator)
        try:
            with torch.no_grad():
                output = solution(*args)
        except NotImplementedError:
            return CheckResult(exercise, False, "not attempted yet (the function raises NotImplementedError)")
        except Exception as err:  # the reader's code failed: show why, as a hint
            return CheckResult(exercise, False, f"case {number} raised {type(err).__name__}: {err}")
        hint = judge(context, output)
        if hint is not None:
            return CheckResult(exercise, False, f"case {number}: {hint}")
    return CheckResult(exercise, True, success.format(cases=cases))
