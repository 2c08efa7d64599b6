"""The checkers of Part 2.2's exercises: a correct solution passes, typical mistakes fail with a useful hint."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mmcourse.exercises import check_masked_mse, check_single_linkage, check_token_mask
from mmcourse.representation import group_modalities, masked_mse, random_token_mask


# --- random token masking --------------------------------------------------------------------------------------------
def argsort_mask(batch, num_tokens, num_masked, generator):
    noise = torch.rand(batch, num_tokens, generator=generator)
    hidden = noise.argsort(dim=1)[:, :num_masked]
    return torch.zeros(batch, num_tokens, dtype=torch.bool).scatter(1, hidden, True)


def bernoulli_mask(batch, num_tokens, num_masked, generator):
    return torch.rand(batch, num_tokens, generator=generator) < num_masked / num_tokens


def same_for_every_row(batch, num_tokens, num_masked, generator):
    row = torch.randperm(num_tokens, generator=generator)[:num_masked]
    return torch.zeros(batch, num_tokens, dtype=torch.bool).index_fill(1, row, True)


def first_tokens_favoured(batch, num_tokens, num_masked, generator):
    scores = torch.rand(batch, num_tokens, generator=generator) + 0.3 * torch.arange(num_tokens)
    return argsort_mask_from_scores(scores, num_masked)


def argsort_mask_from_scores(scores, k):
    return torch.zeros_like(scores, dtype=torch.bool).scatter(1, scores.argsort(dim=1)[:, :k], True)


def ignores_the_generator(batch, num_tokens, num_masked, generator):
    return argsort_mask_from_scores(torch.rand(batch, num_tokens), num_masked)


def test_token_mask_correct_solutions_pass():
    assert check_token_mask(argsort_mask).passed
    assert check_token_mask(lambda b, n, k, g: random_token_mask(b, n, k, generator=g)).passed


@pytest.mark.parametrize("solution, hint", [
    (bernoulli_mask, "exactly num_masked"),
    (same_for_every_row, "every row hides the same tokens"),
    (first_tokens_favoured, "hidden more often than others"),
    (ignores_the_generator, "with the given generator"),
    (lambda b, n, k, g: torch.zeros(b, n), "exactly num_masked"),
    (lambda b, n, k, g: [[True]], "torch.Tensor"),
])
def test_token_mask_mistakes_fail_with_a_hint(solution, hint):
    result = check_token_mask(solution)
    assert not result.passed and hint in result.message, result


def test_not_attempted():
    def stub(*args):
        raise NotImplementedError
    for checker in (check_token_mask, check_masked_mse, check_single_linkage):
        result = checker(stub)
        assert not result.passed and "not attempted" in result.message


# --- the masked-only loss --------------------------------------------------------------------------------------------
def loop_masked_mse(prediction, target, mask):
    total, count = 0.0, 0
    for b in range(mask.shape[0]):
        for i in range(mask.shape[1]):
            if mask[b, i]:
                total += ((prediction[b, i] - target[b, i]) ** 2).mean()
                count += 1
    return total / count


def test_masked_mse_correct_solutions_pass():
    assert check_masked_mse(loop_masked_mse).passed
    assert check_masked_mse(masked_mse).passed


@pytest.mark.parametrize("solution, hint", [
    (lambda p, t, m: ((p - t) ** 2).mean(), "visible tokens count too"),
    (lambda p, t, m: (((p - t) ** 2).mean(-1) * m).sum(), "divide by their number"),
    (lambda p, t, m: (((p - t) ** 2).sum(-1) * m).sum() / m.sum(), "mean over its d values"),
    (lambda p, t, m: (((p - t) ** 2).mean(-1) * ~m).sum() / (~m).sum(), "inverted"),
    (lambda p, t, m: "loss", "return a scalar"),
])
def test_masked_mse_mistakes_fail_with_a_hint(solution, hint):
    result = check_masked_mse(solution)
    assert not result.passed and hint in result.message, result


# --- single-linkage grouping -----------------------------------------------------------------------------------------
def components(distance, threshold):
    m = len(distance)
    label = list(range(m))
    for _ in range(m):  # propagate the smallest label along edges until nothing changes
        for i in range(m):
            for j in range(m):
                if distance[i][j] <= threshold:
                    label[i] = label[j] = min(label[i], label[j])
    return [[i for i in range(m) if label[i] == k] for k in sorted(set(label))]


def test_single_linkage_correct_solutions_pass():
    assert check_single_linkage(components).passed
    assert check_single_linkage(lambda d, t: group_modalities(d, t, linkage="single")).passed


def neighbours_only(distance, threshold):
    return [sorted(np.flatnonzero(np.asarray(distance)[i] <= threshold).tolist()) for i in range(len(distance))]


@pytest.mark.parametrize("solution, hint", [
    (lambda d, t: group_modalities(d, t), "average linkage"),
    (neighbours_only, "partition the modalities"),
    (lambda d, t: components(d, t - 1e-12), "use ≤"),
    (lambda d, t: 3, "list of lists"),
])
def test_single_linkage_mistakes_fail_with_a_hint(solution, hint):
    result = check_single_linkage(solution)
    assert not result.passed and hint in result.message, result


# --- what every checker shares -----------------------------------------------------------------------------------------
CHECKERS = {"token_mask": (check_token_mask, argsort_mask), "masked_mse": (check_masked_mse, loop_masked_mse),
            "single_linkage": (check_single_linkage, components)}


def crashes(*args):
    raise KeyError("oops")


@pytest.mark.parametrize("name", list(CHECKERS))
def test_crashes_and_non_functions_are_reported(name):
    checker, _ = CHECKERS[name]
    assert checker(crashes).message == "case 1 raised KeyError: 'oops'"
    assert checker(42).message == "expected a function, got int"


@pytest.mark.parametrize("name", list(CHECKERS))
def test_global_random_state_is_untouched_and_verdicts_reproducible(name):
    checker, solution = CHECKERS[name]

    def draws_then_solves(*args):
        torch.rand(100)
        return solution(*args)

    torch.manual_seed(1234)
    first = checker(draws_then_solves)
    after = torch.rand(5)
    torch.manual_seed(1234)
    assert torch.equal(after, torch.rand(5)) and first.passed
    torch.manual_seed(99)
    assert checker(draws_then_solves) == first
