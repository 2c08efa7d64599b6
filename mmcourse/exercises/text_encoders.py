"""Checkers for the exercises of Part 1's text encoders: the padding-aware mean that pools a transformer's token
vectors, and shuffling the words of captions (to measure which encoders read order)."""
from __future__ import annotations

from collections.abc import Callable

import torch

from mmcourse.exercises._check import CheckResult, as_float64, compare, run_cases

__all__ = ["check_masked_mean", "check_shuffle_words"]


def _random_tokens(g: torch.Generator, batch: int, length: int, vocab: int = 12) -> torch.Tensor:
    """Token ids in 1..vocab-1 padded with 0 at the end; every row has at least one word."""
    tokens = torch.randint(1, vocab, (batch, length), generator=g)
    lengths = torch.randint(1, length + 1, (batch,), generator=g)
    lengths[0] = length  # one full row, one single-word row: the edge cases
    lengths[1] = 1
    return tokens * (torch.arange(length) < lengths[:, None])


def check_masked_mean(masked_mean: Callable) -> CheckResult:
    """Exercise: ``masked_mean(states, tokens)`` averages the vectors ``states`` ``(batch, length, d)`` over the
    positions whose token id (``tokens``, ``(batch, length)``) is not the padding id 0: ``(1/|S|) Σ_{t∈S} z_t``."""
    def make_case(g):
        batch, length, d = (int(v) for v in torch.randint(3, 7, (3,), generator=g))
        tokens = _random_tokens(g, batch, length)
        states = torch.randn(batch, length, d, generator=g, dtype=torch.float64)
        mask = (tokens != 0).unsqueeze(-1).double()
        expected = (states * mask).sum(1) / mask.sum(1)
        wrong = {"all": states.mean(1), "sum": (states * mask).sum(1), "length": (states * mask).sum(1) / length,
                 "first": states[:, 0]}
        return (states.float(), tokens), (expected, wrong)

    hints = {"all": "leave the padding out: average only over the positions whose token id is not 0",
             "sum": "divide the sum by |S|, the number of words of each row, to get a mean",
             "length": "divide by each row's own number of words |S|, not by the padded length",
             "first": "average over all the words of a row, not only its first position"}

    def judge(ctx, out):
        expected, wrong = ctx
        got = as_float64(out)
        for key, value in wrong.items():
            if got is not None and got.shape == value.shape and torch.allclose(got, value, atol=1e-4) \
                    and not torch.allclose(got, expected, atol=1e-4):
                return hints[key]
        return compare(expected, out, atol=1e-4, rtol=1e-4)

    return run_cases("the masked mean", masked_mean, 8, make_case, judge,
                     "the mean over the words, padding left out, on {cases} fresh cases")


def check_shuffle_words(shuffle_words: Callable) -> CheckResult:
    """Exercise: ``shuffle_words(tokens, generator)`` returns the captions ``tokens`` ``(batch, length)`` with the
    words of each row put in a random order of their own (drawn with the ``torch.Generator``), the padding (id 0)
    left where it was."""
    def make_case(g):
        tokens = _random_tokens(g, 40, 11, vocab=25)
        tokens[2:, :5] = torch.randint(1, 25, (38, 5), generator=g)  # most rows have 5 words or more
        tokens[2:10] = torch.randperm(24, generator=g)[:11] + 1  # eight copies of one row of 11 distinct words
        seed = int(torch.randint(0, 2**31, (1,), generator=g))
        return (tokens.clone(), torch.Generator().manual_seed(seed)), tokens

    def judge(tokens, out):
        if not isinstance(out, torch.Tensor):
            return f"return a torch.Tensor, got {type(out).__name__}"
        if out.shape != tokens.shape:
            return f"the result must have the shape of tokens, {tuple(tokens.shape)}, got {tuple(out.shape)}"
        if out.is_floating_point():
            return "return integer token ids (the dtype of tokens), not floats"
        if not torch.equal(out == 0, tokens == 0):
            return "the padding moved: shuffle each row's words among its own word positions, leave the 0s in place"
        if not torch.equal(out.sort(1).values, tokens.sort(1).values):
            return "each row must keep its own words, each as often as before (a permutation, not a resampling)"
        changed = (out != tokens).any(1)[(tokens != 0).sum(1) >= 5]
        if changed.float().mean() < 0.8:
            return "the words are not shuffled: most rows of 5 words or more should come out in a new order"
        if len({tuple(row) for row in out[2:10].tolist()}) == 1:
            return "draw a new random order for every row, not one order for the whole batch"
        return None

    return run_cases("shuffling words", shuffle_words, 4, make_case, judge,
                     "each row's words shuffled among its own positions, padding in place, on {cases} fresh "
                     "batches")
