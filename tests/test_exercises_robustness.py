"""The checkers of Part 2.3's robustness exercises pass correct solutions and catch the usual mistakes with a hint."""
import numpy as np
import torch

from mmcourse.exercises import check_effective_robustness, check_relative_robustness, check_time_mask
from mmcourse.representation import time_mask


def relative(accuracies, levels):
    a, x = np.asarray(accuracies), np.asarray(levels)
    return float(np.sum((a[1:] + a[:-1]) / 2 * np.diff(x)))


def effective(accuracies, baseline):
    a, b = np.asarray(accuracies), np.asarray(baseline)
    return float(np.sum(a - (b - b[0] + a[0])))


def mask(x, level, generator):
    n, frames = x.shape[:2]
    block = round(level * frames)
    starts = torch.randint(frames - block + 1, (n,), generator=generator)
    t = torch.arange(frames)
    hidden = (t >= starts[:, None]) & (t < starts[:, None] + block)
    return x.masked_fill(hidden[:, :, None], 0.0)


def test_correct_solutions_pass():
    assert check_relative_robustness(relative).passed
    assert check_relative_robustness(lambda a, x: np.trapezoid(a, x)).passed
    assert check_effective_robustness(effective).passed
    assert check_time_mask(mask).passed
    assert check_time_mask(time_mask).passed  # the package's own


def test_relative_robustness_mistakes_get_hints():
    mean = check_relative_robustness(lambda a, x: float(np.mean(a)))
    assert not mean.passed and "mean accuracy" in mean.message
    left = check_relative_robustness(lambda a, x: float(np.sum(a[:-1] * np.diff(x))))
    assert not left.passed and "left end" in left.message
    fixed = check_relative_robustness(lambda a, x: float(np.sum((a[1:] + a[:-1]) * 0.1 / 2)))
    assert not fixed.passed and "fixed step of 0.1" in fixed.message
    assert "return a number" in check_relative_robustness(lambda a, x: "big").message


def test_effective_robustness_mistakes_get_hints():
    unshifted = check_effective_robustness(lambda a, b: float(np.sum(np.asarray(a) - np.asarray(b))))
    assert not unshifted.passed and "shift the baseline" in unshifted.message
    reversed_sign = check_effective_robustness(lambda a, b: -effective(a, b))
    assert not reversed_sign.passed and "sign is reversed" in reversed_sign.message
    averaged = check_effective_robustness(lambda a, b: effective(a, b) / len(a))
    assert not averaged.passed and "do not average" in averaged.message


def test_time_mask_mistakes_get_hints():
    def frequency(x, level, generator):
        return mask(x.transpose(1, 2), level, generator).transpose(1, 2)

    assert "frequency bins" in check_time_mask(frequency).message

    def same_place(x, level, generator):
        y = x.clone()
        y[:, :round(level * x.shape[1])] = 0
        return y

    assert "same place" in check_time_mask(same_place).message

    def scattered(x, level, generator):
        n, frames = x.shape[:2]
        keep = torch.rand(n, frames, generator=generator).argsort(1) >= round(level * frames)
        return x * keep[:, :, None]

    assert "consecutive" in check_time_mask(scattered).message

    def entries(x, level, generator):
        return x * (torch.rand(x.shape, generator=generator) >= level)

    assert "whole time frames" in check_time_mask(entries).message

    def in_place(x, level, generator):
        x.copy_(mask(x, level, generator))
        return x

    assert "in place" in check_time_mask(in_place).message

    def floor(x, level, generator):
        n, frames = x.shape[:2]
        return mask(x, int(level * frames) / frames, generator)

    result = check_time_mask(floor)
    assert not result.passed and "round(level · T)" in result.message
    assert "not attempted" in check_time_mask(lambda x, level, g: (_ for _ in ()).throw(NotImplementedError)).message


def test_checkers_leave_the_global_rng_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    check_time_mask(mask)
    check_relative_robustness(relative)
    assert torch.equal(torch.rand(3), expected)
