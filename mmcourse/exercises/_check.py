"""The result of an exercise check, and the harness that runs a reader's function on fresh cases."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from mmcourse._checks import check_int, check_number, check_tensor

__all__ = ["CheckResult", "run_cases", "as_float64", "compare"]


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

    Examples
    --------
    >>> def make_case(g):
    ...     x = torch.randn(3, generator=g, dtype=torch.float64)
    ...     return (x,), 2 * x
    >>> judge = lambda expected, output: compare(expected, output, atol=1e-12, rtol=0)
    >>> run_cases("double", lambda x: 2 * x, 4, make_case, judge, "right on {cases} cases")
    PASS double: right on 4 cases
    >>> run_cases("double", lambda x: x + x.sum(), 4, make_case, judge, "right on {cases} cases").passed
    False
    """
    for name, value in (("exercise", exercise), ("success", success)):
        if not isinstance(value, str):
            raise TypeError(f"run_cases: {name} must be a string, got {type(value).__name__}")
    check_int("run_cases", "cases", cases, low=1)
    for name, value in (("make_case", make_case), ("judge", judge)):
        if not callable(value):
            raise TypeError(f"run_cases: {name} must be a function, got {type(value).__name__}")
    if solution is NotImplemented:
        return CheckResult(exercise, False, "not attempted yet (the solution is still NotImplemented)")
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


def as_float64(output) -> Tensor | None:
    """A reader's output as a float64 tensor (from a tensor, a NumPy array or a number), or None if it is none.

    Examples
    --------
    >>> as_float64(np.array([1, 2]))
    tensor([1., 2.], dtype=torch.float64)
    >>> as_float64("abc") is None
    True
    """
    if isinstance(output, np.ndarray):
        output = torch.from_numpy(output)
    if isinstance(output, (int, float, np.floating)) and not isinstance(output, bool):
        output = torch.tensor(float(output), dtype=torch.float64)
    return output.detach().double() if isinstance(output, Tensor) else None


def compare(expected: Tensor, output, wrong: Mapping[str, Tensor] | None = None, *, atol: float,
            rtol: float) -> str | None:
    """None if ``output`` matches ``expected`` (``torch.allclose`` with ``atol``, ``rtol``); else the hint of the
    first typical mistake in ``wrong`` that it matches, or how far off it is.

    Examples
    --------
    >>> expected = torch.tensor([1.0, 2.0], dtype=torch.float64)
    >>> compare(expected, [1.0, 2.0], atol=1e-9, rtol=0)
    'return a torch.Tensor (or a NumPy array), got list'
    >>> compare(expected, expected.flip(0), {"the order is reversed": expected.flip(0)}, atol=1e-9, rtol=0)
    'the order is reversed'
    """
    check_tensor("compare", "expected", expected, kind="any", nonempty=False)
    check_number("compare", "atol", atol, low=0)
    check_number("compare", "rtol", rtol, low=0)
    got = as_float64(output)
    if got is None:
        return f"return a torch.Tensor (or a NumPy array), got {type(output).__name__}"
    if got.shape != expected.shape:
        return f"the result must have shape {tuple(expected.shape)}, got {tuple(got.shape)}"
    if torch.allclose(got, expected, atol=atol, rtol=rtol):
        return None
    for hint, alternative in (wrong or {}).items():
        if alternative.shape == expected.shape and torch.allclose(got, alternative, atol=atol, rtol=rtol):
            return hint
    return f"values differ from the expected ones by up to {(got - expected).abs().max():.3g}"
