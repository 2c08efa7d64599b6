"""The checkers of Part 7.1's exercises: a correct solution passes, typical mistakes fail with a useful hint.

The correct solutions here are written with plain NumPy / torch, independently of the package."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mmcourse.book import STUB_MESSAGE
from mmcourse.exercises import check_information_bound, check_modality_importance, check_transfer_symmetrisation


# --- information lower bound ------------------------------------------------------------------------------------------
def _parts(p, y):
    p, y = np.asarray(p), np.asarray(y)
    freq = np.bincount(y, minlength=p.shape[1]) / len(y)
    freq = freq[freq > 0]
    return -(freq * np.log2(freq)).sum(), -np.log2(p[np.arange(len(y)), y]).mean()


def bound(p, y):
    entropy, ce = _parts(p, y)
    return max(0.0, entropy - ce)


def bound_in_nats(p, y):
    entropy, ce = _parts(p, y)
    return (entropy - ce) * np.log(2)


def bound_uniform_prior(p, y):
    return max(0.0, np.log2(np.asarray(p).shape[1]) - _parts(p, y)[1])


def bound_unclipped(p, y):
    entropy, ce = _parts(p, y)
    return entropy - ce


def bound_prediction_entropy(p, y):
    p = np.asarray(p)
    return max(0.0, _parts(p, y)[0] + (p * np.log2(p)).sum(1).mean())


def test_information_bound_correct_solution_passes():
    result = check_information_bound(bound)
    assert result.passed and result.message == "matches information_lower_bound on 12 fresh cases", result
    assert check_information_bound(lambda p, y: torch.tensor(bound(p, y))).passed  # a 0-d tensor is fine


@pytest.mark.parametrize("solution, hint", [
    (bound_in_nats, "that is in nats"),
    (bound_uniform_prior, "not log2 C"),
    (bound_unclipped, "clip at 0"),
    (bound_prediction_entropy, "not the entropy of the predictions"),
    (lambda p, y: [bound(p, y)], "return a number (bits), got list"),
    (lambda p, y: bound(p, y) + 0.01, "expected"),
])
def test_information_bound_mistakes_get_their_hint(solution, hint):
    result = check_information_bound(solution)
    assert not result.passed and hint in result.message, result


# --- transfer symmetrisation ----------------------------------------------------------------------------------------
def symmetrise(t):
    t = np.asarray(t)
    loss = np.diag(t)[None, :] - t
    return (loss + loss.T) / 2


def test_symmetrisation_correct_solutions_pass():
    assert check_transfer_symmetrisation(symmetrise).passed
    # comparing along rows instead gives the same matrix once symmetrised: both are right
    assert check_transfer_symmetrisation(lambda t: symmetrise(np.asarray(t).T)).passed
    assert check_transfer_symmetrisation(lambda t: torch.as_tensor(symmetrise(t))).passed


@pytest.mark.parametrize("solution, hint", [
    (lambda t: ((1 - t) + (1 - t).T) / 2, "not with a perfect 1"),
    (lambda t: np.diag(t)[None, :] - t, "not symmetric"),
    (lambda t: 2 * symmetrise(t), "not their sum"),
    (lambda t: symmetrise(t)[0], "must have shape"),
    (lambda t: symmetrise(t) + 0.1 * np.eye(len(t)), "values differ"),
    (lambda t: "d", "return an array of numbers, got str"),
])
def test_symmetrisation_mistakes_get_their_hint(solution, hint):
    result = check_transfer_symmetrisation(solution)
    assert not result.passed and hint in result.message, result


# --- modality importance --------------------------------------------------------------------------------------------
def _accuracy(model, xs, y):
    return (model(*xs).argmax(1) == y).float().mean().item()


def importance(model, xs, y):
    clean = _accuracy(model, xs, y)
    return np.array([clean - _accuracy(model, [torch.zeros_like(x) if k == m else x for k, x in enumerate(xs)], y)
                     for m in range(len(xs))])


def accuracy_without(model, xs, y):
    return _accuracy(model, xs, y) - importance(model, xs, y)


def keeps_only_m(model, xs, y):
    clean = _accuracy(model, xs, y)
    return np.array([clean - _accuracy(model, [x if k == m else torch.zeros_like(x) for k, x in enumerate(xs)], y)
                     for m in range(len(xs))])


def test_importance_correct_solution_passes():
    result = check_modality_importance(importance)
    assert result.passed and result.message == "matches modality_importance on 8 fresh cases", result


@pytest.mark.parametrize("solution, hint", [
    (accuracy_without, "that is the accuracy without each modality"),
    (keeps_only_m, "that zeroes every other modality"),
    (lambda *a: -importance(*a), "the sign is reversed"),
    (lambda *a: importance(*a)[:1], "must have shape"),
    (lambda *a: importance(*a) + 0.1, "expected"),
])
def test_importance_mistakes_get_their_hint(solution, hint):
    result = check_modality_importance(solution)
    assert not result.passed and hint in result.message, result


# --- common behaviour -------------------------------------------------------------------------------------------------
CHECKERS = [check_information_bound, check_transfer_symmetrisation, check_modality_importance]


def not_attempted(*args):
    raise NotImplementedError(STUB_MESSAGE)


@pytest.mark.parametrize("checker", CHECKERS)
def test_stubs_crashes_and_the_global_generator(checker):
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    result = checker(not_attempted)
    assert not result.passed and result.message == "not attempted yet (the function raises NotImplementedError)"
    assert torch.equal(torch.rand(3), expected)

    def crashes(*args):
        raise KeyError("oops")
    assert checker(crashes).message == "case 1 raised KeyError: 'oops'"
    assert checker(3).message == "expected a function, got int"
