"""The checkers of Part 7.2's EMAP exercises pass correct solutions written independently of the package (loops and
plain sums, not emap_logits), catch the usual mistakes with a hint that names them, report a stub, and leave torch's
random generator alone."""
import numpy as np
import pytest
import torch

from mmcourse.book import STUB_MESSAGE
from mmcourse.exercises import (CheckResult, check_emap_from_grid, check_interaction_share,
                                check_mixed_difference)


# --- correct solutions, written from the equations --------------------------------------------------------------------
def emap_from_grid(grid):
    n = grid.shape[0]
    out = torch.zeros(n, *grid.shape[2:], dtype=grid.dtype)
    for i in range(n):  # f̂(x1_i, x2_i) = mean_j f(x1_i, x2_j) + mean_j f(x1_j, x2_i) − mean_jk f(x1_j, x2_k)
        out[i] = sum(grid[i, j] for j in range(n)) / n + sum(grid[j, i] for j in range(n)) / n - grid.sum((0, 1)) / n**2
    return out


def interaction_share(grid):
    g = grid.numpy()
    projected = g.mean(1, keepdims=True) + g.mean(0, keepdims=True) - g.mean((0, 1), keepdims=True)
    return float(((g - projected) ** 2).sum() / ((g - g.mean((0, 1), keepdims=True)) ** 2).sum())


def mixed_difference(f, x1, x2, d1, d2, h):
    return (f(x1 + h * d1, x2 + h * d2) - f(x1 + h * d1, x2) - f(x1, x2 + h * d2) + f(x1, x2)) / h**2


def mixed_difference_central(f, x1, x2, d1, d2, h):
    a, b = h * d1, h * d2
    return (f(x1 + a, x2 + b) - f(x1 + a, x2 - b) - f(x1 - a, x2 + b) + f(x1 - a, x2 - b)) / (4 * h**2)


CHECKS = [(check_emap_from_grid, emap_from_grid), (check_interaction_share, interaction_share),
          (check_mixed_difference, mixed_difference)]


@pytest.mark.parametrize("check, solution", CHECKS)
def test_correct_solutions_pass(check, solution):
    result = check(solution)
    assert isinstance(result, CheckResult) and result.passed, result
    assert repr(result).startswith("PASS")


def test_other_correct_forms_are_accepted():
    assert check_mixed_difference(mixed_difference_central).passed  # central differences are exact here too
    assert check_emap_from_grid(lambda g: emap_from_grid(g).numpy()).passed
    assert check_interaction_share(lambda g: torch.tensor(interaction_share(g))).passed
    assert check_interaction_share(lambda g: np.float64(interaction_share(g))).passed


# --- typical mistakes ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("check, solution, hint", [
    (check_emap_from_grid, lambda g: g.mean(1) + g.mean(0), "the grand mean is missing"),
    (check_emap_from_grid, lambda g: g.mean(1) + g.mean(0) + g.mean((0, 1)), "must be subtracted, not added"),
    (check_emap_from_grid, lambda g: 2 * g.mean(1) - g.mean((0, 1)), "averaged over the same axis twice"),
    (check_emap_from_grid, lambda g: g.mean(1)[None] + g.mean(0)[:, None] - g.mean((0, 1)),
     "the result must have shape"),  # the whole table instead of the observed pairs
    (check_emap_from_grid, lambda g: torch.diagonal(g).T, "values differ from the expected ones"),
    (check_emap_from_grid, lambda g: g.mean(1).tolist(), "return a torch.Tensor (or a NumPy array), got list"),
    (check_interaction_share, lambda g: interaction_share(g) * ((g - g.mean((0, 1))) ** 2).sum().item()
     / (g ** 2).sum().item(), "not by Σ f²"),
    (check_interaction_share,
     lambda g: float(((g - g.mean(1, keepdim=True) - g.mean(0, keepdim=True)) ** 2).sum()
                     / ((g - g.mean((0, 1))) ** 2).sum()), "needs the grand mean added back"),
    (check_interaction_share, lambda g: torch.zeros(2), "return a number"),
    (check_interaction_share, lambda g: "small", "return a number, got str"),
    (check_mixed_difference, lambda *a: mixed_difference(*a) * a[-1], "divide by h²"),
    (check_mixed_difference,
     lambda f, x1, x2, d1, d2, h: (f(x1 + h * d1, x2 + h * d2) - f(x1 + h * d1, x2) - f(x1, x2 + h * d2)) / h**2,
     "the last term + f(x1, x2) is missing"),
    (check_mixed_difference, lambda f, x1, x2, d1, d2, h: (f(x1 + h * d1, x2) - f(x1, x2)) / h,
     "values differ"),  # a first-order difference: no interaction in it
])
def test_mistakes_get_their_hint(check, solution, hint):
    result = check(solution)
    assert not result.passed and hint in result.message, result


def test_an_additive_table_has_share_zero_and_the_checker_tests_one():
    grid = torch.randn(5, 1, 2, dtype=torch.float64) + torch.randn(1, 5, 2, dtype=torch.float64)
    assert interaction_share(grid) == pytest.approx(0.0, abs=1e-12)
    # "always 0" fails on the interacting tables, "never 0" on the additive ones
    assert not check_interaction_share(lambda g: 0.0).passed
    assert not check_interaction_share(lambda g: 0.5).passed


def not_attempted(*args):
    raise NotImplementedError(STUB_MESSAGE)


@pytest.mark.parametrize("check, solution", CHECKS)
def test_stub_crash_and_global_generator(check, solution):
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    result = check(not_attempted)
    assert not result.passed and result.message == "not attempted yet (the function raises NotImplementedError)"
    assert check(lambda *a: 1 / 0).message.startswith("case 1 raised ZeroDivisionError")
    check(solution)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("check, solution", CHECKS)
def test_same_verdict_whatever_the_global_seed(check, solution):
    torch.manual_seed(0)
    first = check(lambda *a: solution(*a) * 1.5)
    torch.manual_seed(123)
    assert check(lambda *a: solution(*a) * 1.5) == first and not first.passed
