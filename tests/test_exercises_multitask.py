"""The checkers of Part 6.2's exercises pass correct solutions, catch the usual mistakes with a useful hint, say
"not attempted" for a stub, and leave torch's random generator alone."""
import doctest
import math

import numpy as np
import torch
import torch.nn.functional as F

import mmcourse.exercises.multitask as exercises_module
from mmcourse.exercises import check_examples_transferred, check_multitask_loss, check_parameter_count


def parameter_count(dims, tasks, hidden, width, shared):
    heads = sum((width + 1) * k for _, k in tasks.values())
    if shared:
        used = {m for ms, _ in tasks.values() for m in ms}
        return sum((dims[m] + 1) * hidden for m in used) + (hidden + 1) * width + heads
    return sum(sum((dims[m] + 1) * hidden for m in ms) + (hidden + 1) * width for ms, _ in tasks.values()) + heads


def multitask_loss(model, batches, weights):
    return sum(weights[t] * F.cross_entropy(model(t, *xs), y) for t, (xs, y) in batches.items())


def examples_transferred(sizes, scratch, accuracy):
    if accuracy <= scratch[0]:
        return sizes[0]
    for i in range(len(sizes) - 1):
        if scratch[i] < accuracy <= scratch[i + 1]:
            t = (accuracy - scratch[i]) / (scratch[i + 1] - scratch[i])
            return math.exp(math.log(sizes[i]) + t * (math.log(sizes[i + 1]) - math.log(sizes[i])))
    return math.inf


def stub(*args):
    raise NotImplementedError


def test_doctests():
    assert doctest.testmod(exercises_module).failed == 0


def test_correct_solutions_pass_and_keep_the_generator():
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    for check, solution in [(check_parameter_count, parameter_count), (check_multitask_loss, multitask_loss),
                            (check_examples_transferred, examples_transferred)]:
        result = check(solution)
        assert result.passed, result
        assert repr(result).startswith("PASS")
    assert torch.equal(torch.rand(1), expected)


def test_stubs_are_not_attempted():
    for check in (check_parameter_count, check_multitask_loss, check_examples_transferred):
        result = check(stub)
        assert not result.passed and "not attempted" in result.message


def test_parameter_count_mistakes_get_hints():
    def no_bias(dims, tasks, hidden, width, shared):
        heads = sum(width * k for _, k in tasks.values())
        if shared:
            return sum(dims[m] * hidden for m in {m for ms, _ in tasks.values() for m in ms}) + hidden * width + heads
        return sum(sum(dims[m] * hidden for m in ms) + hidden * width for ms, _ in tasks.values()) + heads

    def always_separate(dims, tasks, hidden, width, shared):
        return parameter_count(dims, tasks, hidden, width, False)

    def always_shared(dims, tasks, hidden, width, shared):
        return parameter_count(dims, tasks, hidden, width, True)

    for wrong, hint in [(no_bias, "biases"), (always_separate, "shared model"), (always_shared, "separate models"),
                        (lambda *a: "many", "return an int")]:
        result = check_parameter_count(wrong)
        assert not result.passed and hint in result.message, (hint, result)


def test_multitask_loss_mistakes_get_hints():
    cases = {
        "weight each task's loss": lambda m, b, w: sum(F.cross_entropy(m(t, *xs), y) for t, (xs, y) in b.items()),
        "do not average them": lambda m, b, w: multitask_loss(m, b, w) / len(b),
        "mean cross-entropy": lambda m, b, w: sum(w[t] * F.cross_entropy(m(t, *xs), y, reduction="sum")
                                                  for t, (xs, y) in b.items()),
        "scalar tensor": lambda m, b, w: [1.0, 2.0],
    }
    for hint, wrong in cases.items():
        result = check_multitask_loss(wrong)
        assert not result.passed and hint in result.message, (hint, result)


def test_examples_transferred_mistakes_get_hints():
    def linear(sizes, scratch, accuracy):
        out = examples_transferred(sizes, scratch, accuracy)
        i = next((j for j in range(len(sizes) - 1) if scratch[j] < accuracy <= scratch[j + 1]), None)
        if i is None:
            return out
        t = (accuracy - scratch[i]) / (scratch[i + 1] - scratch[i])
        return sizes[i] + t * (sizes[i + 1] - sizes[i])

    def next_size(sizes, scratch, accuracy):
        i = int(np.searchsorted(scratch, accuracy))
        return sizes[i] if i < len(sizes) else math.inf

    def never_inf(sizes, scratch, accuracy):
        out = examples_transferred(sizes, scratch, accuracy)
        return sizes[-1] if math.isinf(out) else out

    for wrong, hint in [(linear, "log n"), (next_size, "interpolate between"), (never_inf, "math.inf")]:
        result = check_examples_transferred(wrong)
        assert not result.passed and hint in result.message, (hint, result)
