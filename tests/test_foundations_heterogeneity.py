"""Tests of mmcourse.foundations.heterogeneity: the element, distribution and structure measures of Part 1."""
import math

import numpy as np
import pytest
import torch

from mmcourse.foundations import distribution_statistics, element_statistics, lag_correlation, value_entropy


def test_element_statistics_counts_elements_and_distinct_values():
    x = torch.tensor([[[0.0, 0.5], [1.0, 0.5]], [[0.0, 0.25], [0.0, 0.0]]])
    assert element_statistics(x) == {"elements per sample": 4, "distinct values": 4}
    assert element_statistics(np.zeros((3, 5))) == {"elements per sample": 5, "distinct values": 1}


def test_distribution_statistics_by_hand():
    x = torch.tensor([[0.0, 0.0], [0.5, 1.0]])
    stats = distribution_statistics(x)
    assert stats["mean"] == pytest.approx(0.375)
    assert stats["std"] == pytest.approx(math.sqrt((2 * 0.375**2 + 0.125**2 + 0.625**2) / 3), rel=1e-6)
    assert stats["share of zeros"] == 0.5 and stats["share at 1"] == 0.25


def test_value_entropy_closed_forms():
    assert value_entropy(torch.full((10,), 0.3)) == 0.0  # one bin
    assert value_entropy(torch.tensor([0.0, 1.0]), bins=2) == pytest.approx(1.0)  # 1.0 goes to the last bin
    uniform = (torch.arange(64) + 0.5) / 64
    assert value_entropy(uniform, bins=8) == pytest.approx(3.0)  # log2 8: every bin equally full
    x = torch.tensor([0.1, 0.1, 0.1, 0.9])  # p = (3/4, 1/4)
    assert value_entropy(x, bins=4) == pytest.approx(-(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25)))


def test_lag_correlation_perfect_anti_and_none():
    g = torch.Generator().manual_seed(0)
    scale = torch.rand(50, 1, generator=g) + 0.1
    ramp = scale * torch.arange(1.0, 7.0)  # every position moves with the sample's scale
    assert lag_correlation(ramp, axis=1, lag=3) == pytest.approx(1.0, abs=1e-5)
    alternating = scale * torch.tensor([1.0, -1.0] * 3)
    assert lag_correlation(alternating, axis=1, lag=1) == pytest.approx(-1.0, abs=1e-5)
    noise = torch.randn(4000, 6, generator=g)
    assert abs(lag_correlation(noise, axis=1, lag=1)) < 0.05


def test_lag_correlation_along_second_axis_and_constant_positions():
    g = torch.Generator().manual_seed(1)
    rows = torch.randn(200, 1, 5, generator=g).repeat(1, 4, 1)  # the same row repeated down axis 1
    assert lag_correlation(rows, axis=1, lag=2) == pytest.approx(1.0, abs=1e-5)
    assert abs(lag_correlation(rows, axis=2, lag=1)) < 0.2
    with_blank = torch.cat([torch.zeros(200, 4, 1), rows], dim=2)  # a constant column is left out
    assert lag_correlation(with_blank, axis=1, lag=1) == pytest.approx(1.0, abs=1e-5)


def test_errors_name_the_argument():
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        element_statistics([[0.0, 1.0]])
    with pytest.raises(ValueError, match="at least 2 dimension"):
        element_statistics(torch.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        distribution_statistics(torch.tensor([0.0, float("nan")]))
    with pytest.raises(ValueError, match="bins must be"):
        value_entropy(torch.zeros(3), bins=1)
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        value_entropy(torch.tensor([0.5, 1.5]))
    with pytest.raises(ValueError, match="axis must be"):
        lag_correlation(torch.rand(5, 4), axis=0, lag=1)
    with pytest.raises(ValueError, match="lag must be"):
        lag_correlation(torch.rand(5, 4), axis=1, lag=4)
    with pytest.raises(ValueError, match="two samples"):
        lag_correlation(torch.rand(1, 4), axis=1, lag=1)
    with pytest.raises(ValueError, match="constant"):
        lag_correlation(torch.ones(5, 4), axis=1, lag=1)
