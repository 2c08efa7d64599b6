"""Checkers for the exercises of Part 5.4, evaluating generated content: the alignment score, foil accuracy, the
distance to the nearest training example and the entropy of the generated classes."""
from __future__ import annotations

import math
from collections.abc import Callable

import torch

from mmcourse.exercises._check import CheckResult, as_float64, compare, run_cases
from mmcourse.generation.evaluation.alignment import alignment_score
from mmcourse.generation.evaluation.diversity import label_entropy, nearest_distance
from mmcourse.generation.evaluation.foils import foil_accuracy

__all__ = ["check_alignment_score", "check_foil_accuracy", "check_nearest_distance", "check_label_entropy"]


def _scalar(out) -> float | None:
    got = as_float64(out)
    return float(got) if got is not None and got.numel() == 1 else None


def check_alignment_score(alignment: Callable) -> CheckResult:
    """Exercise: ``alignment(image_embeddings, text_embeddings)`` returns, for N pairs of ``(N, D)`` embeddings, the
    CLIPScore-style score of each pair, ``2.5 * max(cos, 0)``, as a tensor ``(N,)``."""
    def make_case(g):
        n, d = (int(v) for v in torch.randint(3, 7, (2,), generator=g))
        zi = torch.randn(n, d, generator=g, dtype=torch.float64) * 2
        zt = torch.randn(n, d, generator=g, dtype=torch.float64) * 2
        zt[0] = 0.5 * zi[0] + 0.1 * zt[0]  # one pair clearly aligned, and (usually) some negative cosines
        zt[1] = -zi[1]
        cos = torch.nn.functional.cosine_similarity(zi, zt, dim=1)
        wrong = {"clip the cosine at 0 (CLIPScore's max(cos, 0)): negative cosines must score 0": 2.5 * cos,
                 "use the cosine, not the dot product: normalise both embeddings first":
                     2.5 * (zi * zt).sum(1).clamp(min=0),
                 "multiply by w = 2.5": cos.clamp(min=0)}
        return (zi.float().clone(), zt.float().clone()), (alignment_score(zi, zt).double(), wrong, n)

    def judge(ctx, out):
        expected, wrong, n = ctx
        got = as_float64(out)
        if got is not None and got.shape == (n, n):
            return "score each image with its own text (the diagonal), not every image with every text"
        return compare(expected, out, wrong, atol=1e-4, rtol=1e-4)

    return run_cases("the alignment score", alignment, 10, make_case, judge,
                     "matches mmcourse.generation.alignment_score on {cases} fresh batches")


def check_foil_accuracy(accuracy: Callable) -> CheckResult:
    """Exercise: ``accuracy(score_true, score_foils)`` returns the share of images (rows) whose true caption's score
    ``score_true[i]`` is strictly above all of its foils' scores ``score_foils[i, :]`` (tensors ``(N,)`` and
    ``(N, F)``)."""
    def make_case(g):
        n, f = int(torch.randint(6, 12, (1,), generator=g)), int(torch.randint(2, 5, (1,), generator=g))
        true = torch.rand(n, generator=g, dtype=torch.float64).round(decimals=1)
        foils = torch.rand(n, f, generator=g, dtype=torch.float64).round(decimals=1)
        foils[0, 0], true[0] = 0.3, 0.3  # a tie: CLIPScore's clamp makes these common
        foils[1], true[1] = 0.2, 0.9
        foils[2], true[2] = 0.6, 0.1
        foils[3, 0], foils[3, 1:], true[3] = 0.9, 0.1, 0.5  # beats most foils but not all
        wrong = {"ties": (true >= foils.max(1).values).double().mean(),
                 "pairs": (true[:, None] > foils).double().mean(),
                 "min": (true > foils.min(1).values).double().mean()}
        return (true.clone(), foils.clone()), (foil_accuracy(true, foils), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        value = _scalar(out)
        if value is None:
            return f"return one number (a share in [0, 1]), got {type(out).__name__}"
        if math.isclose(value, expected, abs_tol=1e-6):
            return None
        hints = {"ties": "a tie is a failure: the true caption must score strictly above (>) every foil",
                 "pairs": "count images, not (image, foil) pairs: an image passes only if it beats all its foils",
                 "min": "compare with the best foil (the max over foils), not the worst"}
        for key, hint in hints.items():
            if math.isclose(value, float(wrong[key]), abs_tol=1e-6):
                return hint
        return f"expected {expected:.4f}, got {value:.4f}"

    return run_cases("foil accuracy", accuracy, 10, make_case, judge,
                     "matches mmcourse.generation.foil_accuracy on {cases} fresh cases")


def check_nearest_distance(nearest: Callable) -> CheckResult:
    """Exercise: ``nearest(samples, train)`` returns, for each row of ``samples`` ``(N, D)``, the Euclidean distance
    to its nearest row of ``train`` ``(M, D)``, as a tensor ``(N,)``."""
    def make_case(g):
        n, m, d = int(torch.randint(3, 7, (1,), generator=g)), int(torch.randint(5, 10, (1,), generator=g)), 4
        train = torch.randn(m, d, generator=g, dtype=torch.float64)
        samples = torch.randn(n, d, generator=g, dtype=torch.float64)
        samples[0] = train[2]  # a copy: distance 0
        distances = torch.cdist(samples, train)
        wrong = {"use the Euclidean distance itself, not its square": distances.min(1).values ** 2,
                 "take the *nearest* training example (a min over the training set), not the farthest":
                     distances.max(1).values,
                 "take the nearest training example (a min), not the mean distance": distances.mean(1)}
        return (samples.float().clone(), train.float().clone()), (nearest_distance(samples, train), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return compare(expected, out, wrong, atol=1e-4, rtol=1e-4)

    return run_cases("the nearest training distance", nearest, 10, make_case, judge,
                     "matches mmcourse.generation.nearest_distance on {cases} fresh cases")


def check_label_entropy(entropy: Callable) -> CheckResult:
    """Exercise: ``entropy(labels)`` returns the entropy in bits of the histogram of the integer labels ``(N,)``."""
    def make_case(g):
        n, c = int(torch.randint(5, 30, (1,), generator=g)), int(torch.randint(2, 6, (1,), generator=g))
        labels = torch.randint(c, (n,), generator=g)
        p = torch.unique(labels, return_counts=True)[1].double() / n
        wrong = {"nats": -(p * p.log()).sum(), "uniform": torch.tensor(math.log2(c)),
                 "count": torch.tensor(float(len(p)))}
        return (labels.clone(),), (label_entropy(labels), wrong, labels)

    def judge(ctx, out):
        expected, wrong, labels = ctx
        value = _scalar(out)
        if value is None:
            return f"return one number, got {type(out).__name__}"
        if math.isclose(value, expected, abs_tol=1e-6):
            return None
        hints = {"nats": "measure in bits: use log2, not the natural log",
                 "uniform": "use the observed shares of the labels, not log2 of the number of classes",
                 "count": "the entropy of the shares, not the number of distinct labels"}
        for key, hint in hints.items():
            if math.isclose(value, float(wrong[key]), abs_tol=1e-6):
                return hint
        return f"expected {expected:.4f} bits for labels {labels.tolist()}, got {value:.4f}"

    return run_cases("the entropy of the labels", entropy, 10, make_case, judge,
                     "matches mmcourse.generation.label_entropy on {cases} fresh cases")
