"""Checkers for the exercises of Part 6.2, multitask and transfer learning: the parameter count of shared and
separate models, the multitask objective, and the number of target examples that pretraining is worth."""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from mmcourse.exercises._check import CheckResult, as_float64, run_cases
from mmcourse.transference.transfer.multitask import MultitaskModel, multitask_loss
from mmcourse.transference.transfer.parameters import trainable_parameters

__all__ = ["check_parameter_count", "check_multitask_loss", "check_examples_transferred"]


def _as_number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _random_tasks(g: torch.Generator) -> tuple[dict, dict, int, int]:
    rand = lambda lo, hi: int(torch.randint(lo, hi, (1,), generator=g))  # noqa: E731
    dims = {m: rand(2, 40) for m in ("image", "audio", "text")[:rand(1, 4)]}
    names = list(dims)
    tasks = {}
    for t in range(rand(1, 6)):
        picked = [m for m in names if torch.rand(1, generator=g) < 0.5] or [names[t % len(names)]]
        tasks[f"task{t}"] = (picked, rand(2, 11))
    return dims, tasks, rand(2, 20), rand(2, 20)


def check_parameter_count(parameter_count: Callable) -> CheckResult:
    """Exercise: ``parameter_count(dims, tasks, hidden, width, shared)`` returns the number of parameters of
    ``MultitaskModel(dims, tasks, hidden=hidden, width=width, shared=shared)`` in closed form."""
    def make_case(g):
        dims, tasks, hidden, width = _random_tasks(g)
        shared = bool(torch.rand(1, generator=g) < 0.5)
        expected = trainable_parameters(MultitaskModel(dims, tasks, hidden=hidden, width=width, shared=shared))
        used = {m for ms, _ in tasks.values() for m in ms}
        heads = sum((width + 1) * k for _, k in tasks.values())
        per_task_proj = sum((dims[m] + 1) * hidden for ms, _ in tasks.values() for m in ms)
        shared_proj = sum((dims[m] + 1) * hidden for m in used)
        trunk, count = (hidden + 1) * width, len(tasks)
        no_bias = (sum(dims[m] * hidden for m in used) + hidden * width if shared else
                   sum(dims[m] * hidden for ms, _ in tasks.values() for m in ms) + count * hidden * width)
        wrong = {"count the biases too: a Linear(a, b) has (a + 1) b parameters":
                 no_bias + sum(width * k for _, k in tasks.values())}
        trunk_per_task, proj_per_task = shared_proj + count * trunk + heads, per_task_proj + trunk + heads
        if shared:
            wrong["the shared model shares projections and trunk between tasks: only the heads are per "
                  "task"] = per_task_proj + count * trunk + heads
            wrong["in the shared model the trunk is counted once, not once per task"] = trunk_per_task
            wrong["in the shared model each modality has one projection, whatever the number of tasks that read "
                  "it"] = proj_per_task
        else:
            wrong["separate models do not share projections: each task has its own for each modality it "
                  "reads"] = trunk_per_task
            wrong["separate models have one trunk each"] = proj_per_task
            wrong["separate models share nothing: each task has its own projections and its own "
                  "trunk"] = shared_proj + trunk + heads
        return (dict(dims), {t: (list(ms), k) for t, (ms, k) in tasks.items()}, hidden, width, shared), \
            (expected, shared, wrong)

    def judge(ctx, out):
        expected, shared, wrong = ctx
        value = _as_number(out)
        if value is None:
            return f"return an int, got {type(out).__name__}"
        if value == expected:
            return None
        for hint, alternative in wrong.items():
            if value == alternative:
                return hint
        return f"expected {expected} parameters ({'shared' if shared else 'separate'} model), got {value:g}"

    return run_cases("parameters of shared and separate models", parameter_count, 12, make_case, judge,
                     "matches trainable_parameters(MultitaskModel(...)) on {cases} fresh task sets")


def check_multitask_loss(loss_fn: Callable) -> CheckResult:
    """Exercise: ``loss_fn(model, batches, weights)`` returns the multitask objective ``Σ_t w_t CE_t``, each task's
    head applied to its own batch (``batches[t] = (inputs, labels)``, ``weights[t] = w_t``)."""
    def make_case(g):
        dims, tasks, hidden, width = _random_tasks(g)
        model = MultitaskModel(dims, tasks, hidden=hidden, width=width)
        batches, weights = {}, {}
        for t, (ms, k) in tasks.items():
            n = int(torch.randint(2, 9, (1,), generator=g))
            batches[t] = ([torch.randn(n, dims[m], generator=g) for m in ms], torch.randint(0, k, (n,), generator=g))
            weights[t] = float(torch.rand(1, generator=g)) * 2 + 0.1
        with torch.no_grad():
            losses = {t: F.cross_entropy(model(t, *xs), y) for t, (xs, y) in batches.items()}
            expected = multitask_loss(model, batches, weights)
        wrong = {"weight each task's loss by w_t": sum(losses.values()),
                 "sum the weighted losses, do not average them over tasks": expected / len(tasks),
                 "use the mean cross-entropy over each batch, not the sum": sum(
                     weights[t] * losses[t] * len(batches[t][1]) for t in tasks)}
        return (model, batches, weights), (expected, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        got = as_float64(out)
        if got is None or got.numel() != 1:
            return f"return a scalar tensor, got {type(out).__name__}"
        got = got.reshape(())
        if torch.isclose(got, expected.double(), rtol=1e-5, atol=1e-6):
            return None
        for hint, alternative in wrong.items():
            if torch.isclose(got, alternative.double(), rtol=1e-5, atol=1e-6):
                return hint
        return f"expected {float(expected):.6g}, got {float(got):.6g}"

    return run_cases("the multitask objective", loss_fn, 8, make_case, judge,
                     "matches mmcourse.transference.multitask_loss on {cases} fresh models and batches")


def _examples_transferred(sizes, scratch, accuracy: float) -> float:
    r"""The number of target examples a model trained from scratch needs to reach ``accuracy``: the first point
    where the scratch learning curve, drawn piecewise linear in :math:`\log n`, reaches it.

    Between sizes :math:`n_i < n_{i+1}` with accuracies :math:`a_i < a \le a_{i+1}`,
    :math:`n^\ast = \exp\big(\log n_i + \tfrac{a - a_i}{a_{i+1} - a_i}(\log n_{i+1} - \log n_i)\big)`;
    ``sizes[0]`` if ``accuracy <= scratch[0]``; ``inf`` if the curve never reaches it.

    Examples
    --------
    >>> round(_examples_transferred([10, 100, 1000], [0.5, 0.7, 0.8], 0.6), 2)
    31.62
    """
    sizes, scratch = np.asarray(sizes, dtype=float), np.asarray(scratch, dtype=float)
    if sizes.ndim != 1 or sizes.shape != scratch.shape or len(sizes) < 1 or (np.diff(sizes) <= 0).any() \
            or sizes[0] <= 0:
        raise ValueError(f"examples_transferred: sizes must be increasing positive numbers with one accuracy each, "
                         f"got sizes {sizes.tolist()} and scratch {scratch.tolist()}")
    if accuracy <= scratch[0]:
        return float(sizes[0])
    for i in range(len(sizes) - 1):
        a0, a1 = scratch[i], scratch[i + 1]
        if a0 < accuracy <= a1:
            t = (accuracy - a0) / (a1 - a0)
            return float(np.exp(np.log(sizes[i]) + t * (np.log(sizes[i + 1]) - np.log(sizes[i]))))
    return math.inf


def check_examples_transferred(examples_transferred: Callable) -> CheckResult:
    """Exercise: ``examples_transferred(sizes, scratch, accuracy)`` returns how many target examples training from
    scratch needs to reach ``accuracy``: the first crossing of the scratch curve, interpolated linearly in
    ``log n``; ``sizes[0]`` if the first point already reaches it; ``math.inf`` if no point does."""
    def make_case(g):
        k = int(torch.randint(3, 8, (1,), generator=g))
        sizes = sorted({int(v) for v in torch.randint(5, 2000, (k,), generator=g)})
        scratch = (0.3 + torch.rand(len(sizes), generator=g).sort().values * 0.6).tolist()
        kind = int(torch.randint(0, 6, (1,), generator=g))
        accuracy = (scratch[0] - 0.05 if kind == 0 else scratch[-1] + 0.05 if kind == 1 else
                    scratch[0] + float(torch.rand(1, generator=g)) * (scratch[-1] - scratch[0]))
        expected = _examples_transferred(sizes, scratch, accuracy)
        wrong = {}
        i = next((j for j in range(len(sizes) - 1) if scratch[j] < accuracy <= scratch[j + 1]), None)
        if i is not None:
            t = (accuracy - scratch[i]) / (scratch[i + 1] - scratch[i])
            wrong["interpolate in log n, not in n: learning curves are close to straight lines against log n"] = \
                sizes[i] + t * (sizes[i + 1] - sizes[i])
            wrong["interpolate between the two sizes around the crossing instead of returning the next size"] = \
                float(sizes[i + 1])
        return (list(sizes), list(scratch), accuracy), (expected, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        value = _as_number(out)
        if value is None:
            return f"return a number, got {type(out).__name__}"
        if math.isinf(expected) or math.isinf(value):
            return None if value == expected else (
                "return math.inf when the scratch curve never reaches the accuracy" if math.isinf(expected)
                else f"expected {expected:.6g}, got {value}")
        if math.isclose(value, expected, rel_tol=1e-6):
            return None
        for hint, alternative in wrong.items():
            if math.isclose(value, alternative, rel_tol=1e-6):
                return hint
        return f"expected {expected:.6g}, got {value:.6g}"

    return run_cases("examples transferred", examples_transferred, 12, make_case, judge,
                     "matches the log-n interpolation of the scratch curve on {cases} fresh curves")
