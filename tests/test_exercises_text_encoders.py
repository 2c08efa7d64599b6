"""The checkers of Part 1's text-encoder exercises pass correct solutions, catch the usual mistakes with a useful
hint, say "not attempted" for a stub, and leave torch's random generator alone."""
import re

import pytest
import torch

from mmcourse.exercises import check_masked_mean, check_shuffle_words


def masked_mean(states, tokens):
    mask = (tokens != 0).unsqueeze(-1).float()
    return (states * mask).sum(1) / mask.sum(1)


def shuffle_words(tokens, generator=None):
    out = tokens.clone()
    for i, row in enumerate(tokens):
        n = int((row != 0).sum())
        out[i, :n] = row[:n][torch.randperm(n, generator=generator)]
    return out


def shuffle_by_shared_keys(tokens, generator=None):
    keys = torch.rand(tokens.shape[1], generator=generator).expand_as(tokens).clone()
    keys[tokens == 0] = 2.0  # padding last, but one order of keys for every row
    return tokens.gather(1, keys.argsort(1))


def stub(*args):
    raise NotImplementedError


def test_correct_solutions_pass():
    assert check_masked_mean(masked_mean).passed
    assert check_shuffle_words(shuffle_words).passed
    assert repr(check_shuffle_words(shuffle_words)).startswith("PASS")


@pytest.mark.parametrize("wrong, hint", [
    (lambda z, x: z.mean(1), "leave the padding out"),
    (lambda z, x: (z * (x != 0).unsqueeze(-1)).sum(1), "divide the sum"),
    (lambda z, x: (z * (x != 0).unsqueeze(-1)).sum(1) / x.shape[1], "own number of words"),
    (lambda z, x: z[:, 0], "not only its first"),
    (lambda z, x: masked_mean(z, x) + 0.1, "expected|off"),
    (lambda z, x: masked_mean(z, x)[:, :1], "shape"),
])
def test_masked_mean_hints(wrong, hint):
    result = check_masked_mean(wrong)
    assert not result.passed and result.message and re.search(hint, result.message), result


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, g: x.gather(1, torch.rand(x.shape, generator=g).argsort(1)), "padding moved"),
    (lambda x, g: x.clone(), "not shuffled"),
    (lambda x, g: torch.where(x != 0, torch.randint(1, 25, x.shape, generator=g), 0), "permutation"),
    (shuffle_by_shared_keys, "new random order for every row"),
    (lambda x, g: x.float(), "integer"),
    (lambda x, g: x[:, :-1], "shape"),
    (lambda x, g: x.tolist(), "torch.Tensor"),
])
def test_shuffle_words_hints(wrong, hint):
    result = check_shuffle_words(wrong)
    assert not result.passed and hint in result.message, result


def test_stub_not_attempted_and_generator_untouched():
    torch.manual_seed(3)
    before = torch.rand(1)
    torch.manual_seed(3)
    for check in (check_masked_mean, check_shuffle_words):
        result = check(stub)
        assert not result.passed and "not attempted" in result.message
    assert check_masked_mean(masked_mean).passed
    assert torch.equal(torch.rand(1), before)
