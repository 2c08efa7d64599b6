"""Tests of mmcourse.exercises: each checker passes a correct solution, names the common mistakes, reports unanswered
exercises and crashing solutions, and leaves torch's global random state alone.

The reference solutions below are written here, with plain tensor operations, independently of the package.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from mmcourse import exercises
from mmcourse.book import STUB_MESSAGE
from mmcourse.exercises import (CheckResult, check_fusion_predictions, check_low_rank_factors, check_mi_matrix,
                                check_tensor_fusion)


def with_one(h):
    return torch.cat([torch.ones(h.shape[0], 1, dtype=h.dtype), h], dim=1)


# --- solutions: right and wrong ---------------------------------------------------------------------------------------
def tensor_fusion(h1, h2, weight, bias):
    outer = torch.einsum("bi,bj->bij", with_one(h1), with_one(h2)).reshape(h1.shape[0], -1)
    return outer @ weight.T + bias


def tensor_fusion_swapped(h1, h2, weight, bias):
    outer = torch.einsum("bi,bj->bji", with_one(h1), with_one(h2)).reshape(h1.shape[0], -1)
    return outer @ weight.T + bias


def tensor_fusion_without_ones(h1, h2, weight, bias):  # the product no longer matches the weight's size
    return torch.einsum("bi,bj->bij", h1, h2).reshape(h1.shape[0], -1) @ weight.T + bias


def low_rank_factors(weight):
    u, s, vh = torch.linalg.svd(weight, full_matrices=False)  # per output k: W_k = Σ_r s_r u_r v_rᵀ
    root = s.sqrt()
    f1 = (u * root[:, None, :]).permute(2, 1, 0)   # (R, d1 + 1, o)
    f2 = (vh * root[:, :, None]).permute(1, 2, 0)  # (R, d2 + 1, o)
    return f1, f2


def low_rank_factors_rank_one(weight):
    f1, f2 = low_rank_factors(weight)
    return f1[:1], f2[:1]


def low_rank_factors_wrong_values(weight):
    f1, f2 = low_rank_factors(weight)
    return f1, torch.zeros_like(f2)


def mi_matrix(h1, h2, A, A0, B, b0):
    o = B.shape[0]
    W = (h1 @ A.T + A0).reshape(h1.shape[0], o, -1)  # (batch, o, d2)
    return torch.einsum("bkj,bj->bk", W, h2) + h1 @ B.T + b0


def mi_matrix_transposed(h1, h2, A, A0, B, b0):
    o = B.shape[0]
    W = (h1 @ A.T + A0).reshape(h1.shape[0], -1, o)  # (batch, d2, o): the wrong way round
    return torch.einsum("bjk,bj->bk", W, h2) + h1 @ B.T + b0


def mi_matrix_without_bias(h1, h2, A, A0, B, b0):
    W = (h1 @ A.T + A0).reshape(h1.shape[0], B.shape[0], -1)
    return torch.einsum("bkj,bj->bk", W, h2)


def not_attempted(*args):
    raise NotImplementedError(STUB_MESSAGE)


def crashes(*args):
    raise KeyError("oops")


CHECKERS = {
    "tensor": (check_tensor_fusion, tensor_fusion, "matches TensorFusion on 8 fresh cases"),
    "low_rank": (check_low_rank_factors, low_rank_factors,
                 "low-rank fusion with your factors equals tensor fusion on 6 fresh cases"),
    "mi_matrix": (check_mi_matrix, mi_matrix, "matches MIMatrixFusion on 8 fresh cases"),
}


@pytest.mark.parametrize("name", list(CHECKERS))
def test_reference_solution_passes(name):
    checker, solution, message = CHECKERS[name]
    result = checker(solution)
    assert isinstance(result, CheckResult) and result.passed and bool(result), result
    assert result.message == message
    assert repr(result).startswith("PASS ")


@pytest.mark.parametrize("checker, solution, hint", [
    (check_tensor_fusion, tensor_fusion_swapped, "the order of the outer product is swapped"),
    (check_mi_matrix, mi_matrix_transposed, "W(h₁) is reshaped to (d2, o) instead of (o, d2)"),
    (check_mi_matrix, mi_matrix_without_bias, "the additive term b(h₁) = B h₁ + b₀ is missing"),
    (check_low_rank_factors, low_rank_factors_rank_one, "expected factors of shapes"),
    (check_low_rank_factors, low_rank_factors_wrong_values,
     "the low-rank fusion does not reproduce the tensor fusion: values differ"),
    (check_low_rank_factors, lambda w: low_rank_factors(w)[0], "return a pair of tensors (f1, f2)"),
    (check_tensor_fusion, lambda *a: tensor_fusion(*a).numpy(), "return a torch.Tensor, got ndarray"),
    (check_tensor_fusion, lambda *a: tensor_fusion(*a).flatten(), "the result must have shape"),
    (check_tensor_fusion, lambda *a: tensor_fusion(*a) + 0.5, "values differ from the expected ones by up to 0.5"),
], ids=["tensor-swapped", "mi-transposed", "mi-no-bias", "low-rank-shapes", "low-rank-values", "low-rank-single",
        "tensor-numpy", "tensor-flat-result", "tensor-offset"])
def test_common_mistakes_get_their_hint(checker, solution, hint):
    result = checker(solution)
    assert not result.passed and not bool(result)
    assert hint in result.message, result.message
    assert repr(result).startswith("FAIL ") and result.message.startswith("case ")


def test_low_rank_hint_points_to_the_svd():
    assert "take the SVD" in check_low_rank_factors(low_rank_factors_wrong_values).message


@pytest.mark.parametrize("name", list(CHECKERS))
def test_not_attempted(name):
    result = CHECKERS[name][0](not_attempted)
    assert not result.passed
    assert result.message == "not attempted yet (the function raises NotImplementedError)"


SOLUTION_CHECKERS = [name for name in exercises.__all__ if name.startswith("check_")
                     and name != "check_fusion_predictions"]  # the one checker of answers, not of a function


@pytest.mark.parametrize("name", SOLUTION_CHECKERS)
def test_every_checker_reports_a_stub_and_leaves_the_global_generator_alone(name):
    torch.manual_seed(1)
    expected = torch.rand(3)
    torch.manual_seed(1)
    result = getattr(exercises, name)(not_attempted)
    assert not result.passed
    assert result.message == "not attempted yet (the function raises NotImplementedError)", result.message
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("name", list(CHECKERS))
def test_exceptions_of_the_solution_are_reported(name):
    result = CHECKERS[name][0](crashes)
    assert not result.passed and result.message == "case 1 raised KeyError: 'oops'"


def test_a_crash_inside_the_computation_is_reported():
    result = check_tensor_fusion(tensor_fusion_without_ones)
    assert not result.passed and result.message.startswith("case 1 raised RuntimeError:")


@pytest.mark.parametrize("name", list(CHECKERS))
def test_not_a_function(name):
    result = CHECKERS[name][0](42)
    assert not result.passed and result.message == "expected a function, got int"


def draws_then_solves(solution):
    def wrapped(*args):
        torch.rand(100)  # a reader's solution may use the global generator
        return solution(*args)
    return wrapped


@pytest.mark.parametrize("name", list(CHECKERS))
@pytest.mark.parametrize("kind", ["correct", "wrong", "random"])
def test_global_random_state_is_untouched(name, kind):
    checker, solution, _ = CHECKERS[name]
    candidate = {"correct": solution, "wrong": crashes, "random": draws_then_solves(solution)}[kind]
    torch.manual_seed(1234)
    result = checker(candidate)
    after = torch.rand(5)
    torch.manual_seed(1234)
    assert torch.equal(after, torch.rand(5))
    assert result.passed is (kind != "wrong")




def scaled(solution):
    """A wrong solution whose error is a plain number (no known mistake): 10 % too large."""
    def wrong(*args):
        out = solution(*args)
        return (out[0] * 1.1, out[1]) if isinstance(out, tuple) else out * 1.1
    return wrong


@pytest.mark.parametrize("name", ["tensor", "low_rank", "mi_matrix"])
def test_a_failure_is_reproducible_whatever_the_global_seed(name):
    checker, solution, _ = CHECKERS[name]
    torch.manual_seed(0)
    first = checker(scaled(solution))
    torch.manual_seed(99)
    torch.rand(10)
    second = checker(scaled(solution))
    assert not first.passed and "values differ" in first.message
    assert second == first


# --- check_fusion_predictions ---------------------------------------------------------------------------------------
ACCURACY = {"additive": 0.54, "tensor": 0.97, "late": 0.5}


def test_fusion_predictions_all_right():
    result = check_fusion_predictions({"additive": False, "tensor": True, "late": False}, ACCURACY)
    assert result.passed and result.message == "all 3 predictions agree with the measurements"
    assert repr(result) == "PASS which fusions solve synergy: all 3 predictions agree with the measurements"


def test_fusion_predictions_wrong_ones_are_named():
    result = check_fusion_predictions({"additive": True, "tensor": False, "late": False}, ACCURACY)
    assert not result.passed
    assert result.message.startswith("2 of 3 predictions differ from the measurements: additive (fails: 0.54), "
                                     "tensor (solves: 0.97).")
    assert "late" not in result.message and "Hint:" in result.message


def test_fusion_predictions_threshold():
    assert check_fusion_predictions({"tensor": True}, {"tensor": 0.9}).passed  # at the threshold: solved
    assert check_fusion_predictions({"tensor": False}, {"tensor": 0.97}, threshold=0.99).passed
    assert not check_fusion_predictions({"tensor": True}, {"tensor": 0.97}, threshold=0.99).passed


def test_fusion_predictions_truthy_values():
    assert check_fusion_predictions({"tensor": 1, "additive": 0}, ACCURACY).passed
    assert check_fusion_predictions({"tensor": np.True_}, ACCURACY).passed


def test_fusion_predictions_unknown_names_are_listed():
    result = check_fusion_predictions({"tensor": True, "concat": False, "blend": True}, ACCURACY)
    assert not result.passed
    assert result.message == "no measurement for ['blend', 'concat']; measured: additive, tensor, late"


@pytest.mark.parametrize("predictions", [{}, ["tensor"], None, "tensor"])
def test_fusion_predictions_need_a_dict(predictions):
    result = check_fusion_predictions(predictions, ACCURACY)
    assert not result.passed and result.message == "give a dict {fusion name: True or False}"


def test_fusion_predictions_accept_a_column_of_the_accuracy_table():
    column = pd.DataFrame({"synergy": ACCURACY}).reindex(list(ACCURACY))["synergy"]
    result = check_fusion_predictions({"additive": False, "tensor": True}, column)
    assert result.passed, result


# --- CheckResult ----------------------------------------------------------------------------------------------------
def test_check_result():
    passed, failed = CheckResult("ex", True, "fine"), CheckResult("ex", False, "hint")
    assert repr(passed) == str(passed) == "PASS ex: fine"
    assert repr(failed) == "FAIL ex: hint"
    assert bool(passed) and not bool(failed)
    assert [r for r in (passed, failed) if r] == [passed]
    with pytest.raises(dataclasses.FrozenInstanceError):
        passed.passed = False


def test_fusion_predictions_stub_is_not_attempted():
    result = check_fusion_predictions(NotImplemented, ACCURACY)   # the student version's stub of the dict
    assert not result.passed and result.message.startswith("not attempted")


def test_run_cases_reports_a_value_stub_as_not_attempted():
    result = check_mi_matrix(NotImplemented)
    assert not result.passed and result.message.startswith("not attempted")


def test_checker_names_are_unique_across_modules():
    """``mmcourse.exercises`` re-exports every module's checkers: two of one name would shadow each other."""
    import importlib
    import pkgutil

    owners: dict[str, list[str]] = {}
    for info in pkgutil.iter_modules(exercises.__path__):
        for name in getattr(importlib.import_module(f"mmcourse.exercises.{info.name}"), "__all__", []):
            owners.setdefault(name, []).append(info.name)
    assert {name: mods for name, mods in owners.items() if len(mods) > 1} == {}
