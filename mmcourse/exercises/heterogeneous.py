"""Checkers for the exercises of Part 2.2 (fusion with heterogeneous modalities)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from mmcourse.exercises._check import CheckResult, run_cases
from mmcourse.representation.heterogeneous import group_modalities, masked_mse

__all__ = ["check_token_mask", "check_masked_mse", "check_single_linkage"]


def _as_mask(out, shape) -> tuple[Tensor | None, str | None]:
    if not isinstance(out, Tensor):
        return None, f"return a torch.Tensor, got {type(out).__name__}"
    if tuple(out.shape) != shape:
        return None, f"the mask must have shape {shape}, got {tuple(out.shape)}"
    if out.dtype != torch.bool and not ((out == 0) | (out == 1)).all():
        return None, "the mask must be boolean (True where a token is hidden)"
    return out.bool(), None


def check_token_mask(token_mask: Callable) -> CheckResult:
    """Exercise: ``token_mask(batch, num_tokens, num_masked, generator)`` returns a boolean ``(batch, num_tokens)``
    mask with exactly ``num_masked`` True entries in every row, each row a uniformly random subset drawn with
    ``generator`` (as :func:`~mmcourse.representation.random_token_mask` does)."""
    cases = iter(range(10))

    def make_case(g):
        number = next(cases)
        if number == 0:  # a large case, to see the frequencies
            batch, n, k = 3000, 8, 2
        else:
            n = int(torch.randint(1, 12, (1,), generator=g))
            batch, k = int(torch.randint(1, 6, (1,), generator=g)), int(torch.randint(0, n + 1, (1,), generator=g))
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=g))
        return (batch, n, k, torch.Generator().manual_seed(seed)), (batch, n, k, seed if number == 0 else None)

    def judge(ctx, out):
        batch, n, k, seed = ctx
        mask, hint = _as_mask(out, (batch, n))
        if hint:
            return hint
        counts = mask.sum(1)
        if not (counts == k).all():
            return (f"every row must hide exactly num_masked={k} tokens, got rows with {int(counts.min())} to "
                    f"{int(counts.max())} (drawing each token with probability k/N hides a random number)")
        if seed is not None:
            frequency = mask.float().mean(0)
            if (mask == mask[0]).all():
                return "every row hides the same tokens: draw a fresh random subset per row"
            if (frequency - k / n).abs().max() > 0.05:
                return (f"some tokens are hidden more often than others (frequencies {frequency.numpy().round(2)}, "
                        f"expected {k / n:.2f} each): every subset must be equally likely")
            try:
                with torch.no_grad():
                    again, _ = _as_mask(token_mask(batch, n, k, torch.Generator().manual_seed(seed)), (batch, n))
            except Exception as err:  # the reader's code failed on its second call
                return f"a second call with the same seed raised {type(err).__name__}: {err}"
            if again is None or not torch.equal(again, mask):
                return "draw the random numbers with the given generator, so that the same seed gives the same mask"
        return None

    return run_cases("random token masking", token_mask, 10, make_case, judge,
                     "exact counts, uniform frequencies and reproducible masks on {cases} fresh cases")


def check_masked_mse(masked_loss: Callable) -> CheckResult:
    """Exercise: ``masked_loss(prediction, target, mask)`` returns the mean, over the masked (True) tokens, of each
    token's mean squared error (as :func:`~mmcourse.representation.masked_mse`)."""
    def make_case(g):
        batch, n, d = (int(v) for v in torch.randint(1, 6, (3,), generator=g))
        prediction = torch.randn(batch, n, d, generator=g, dtype=torch.float64)
        target = torch.randn(batch, n, d, generator=g, dtype=torch.float64)
        mask = torch.rand(batch, n, generator=g) < 0.6
        if batch * n > 1:
            mask[-1, -1] = False  # at least one visible token
        mask[0, 0] = True  # at least one masked token
        error = ((prediction - target) ** 2).mean(-1)
        wrong = {
            "the visible tokens count too: average over the masked tokens only": error.mean(),
            "that is a sum over the masked tokens: divide by their number": (error * mask).sum(),
            "each token's error must be a mean over its d values, not a sum": (error * d * mask).sum() / mask.sum(),
            "the mask is inverted: True marks the hidden tokens, whose reconstruction is scored":
                (error * ~mask).sum() / (~mask).sum().clamp(min=1),
        }
        return (prediction, target, mask), (masked_mse(prediction, target, mask), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        try:
            value = float(out)
        except (TypeError, ValueError, RuntimeError):
            return f"return a scalar (a 0-d tensor or a float), got {type(out).__name__}"
        if abs(value - float(expected)) <= 1e-8 * max(1.0, abs(float(expected))):
            return None
        for hint, alternative in wrong.items():
            if abs(value - float(alternative)) <= 1e-8 * max(1.0, abs(float(alternative))):
                return hint
        return f"expected {float(expected):.6g}, got {value:.6g}"

    return run_cases("the masked-only loss", masked_loss, 10, make_case, judge,
                     "matches mmcourse.representation.masked_mse on {cases} fresh cases")


def check_single_linkage(group: Callable) -> CheckResult:
    """Exercise: ``group(distance, threshold)`` returns the single-linkage groups of a symmetric distance matrix: the
    connected components of the graph with an edge wherever ``distance ≤ threshold``, each a sorted list, ordered
    by their smallest member (as :func:`~mmcourse.representation.group_modalities` with ``linkage="single"``)."""
    def make_case(g):
        m = int(torch.randint(2, 9, (1,), generator=g))
        points = torch.randn(m, 2, generator=g, dtype=torch.float64).numpy()
        distance = np.linalg.norm(points[:, None] - points[None], axis=-1)
        upper = np.sort(distance[np.triu_indices(m, 1)])
        threshold = float(upper[int(torch.randint(0, len(upper), (1,), generator=g))])  # an edge exactly at it
        return (distance, threshold), (group_modalities(distance, threshold, linkage="single"),
                                       group_modalities(distance, threshold, linkage="average"), m)

    def judge(ctx, out):
        expected, average, m = ctx
        try:
            groups = sorted(sorted(int(i) for i in g) for g in out)
        except TypeError:
            return f"return a list of lists of modality indices, got {type(out).__name__}"
        members = sorted(i for g in groups for i in g)
        if members != list(range(m)):
            return ("the groups must partition the modalities (each in exactly one group); remember that single "
                    "linkage is transitive: if d(a, b) and d(b, c) are small, a, b and c belong together")
        if groups == expected:
            return None
        if groups == average:
            return "that is average linkage; single linkage merges two groups when their *closest* pair is near"
        return (f"expected {expected}, got {groups} (hint: an edge exactly at the threshold counts: use ≤)")

    return run_cases("single-linkage grouping", group, 12, make_case, judge,
                     "matches group_modalities(..., linkage='single') on {cases} fresh cases")
