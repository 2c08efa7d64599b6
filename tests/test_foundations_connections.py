"""Tests of mmcourse.foundations.connections: two worlds with one correlation, told apart by an intervention."""
import math

import numpy as np
import pytest
import torch

from mmcourse.foundations import (CAUSAL_KINDS, causal_pair, interventional_slope, observational_slope,
                                  pearson_correlation)


def test_both_worlds_have_the_same_observed_distribution():
    for kind in CAUSAL_KINDS:
        a, b = causal_pair(kind, n=20_000, seed=0, strength=0.6)
        assert a.dtype == torch.float64 and a.shape == b.shape == (20_000,)
        cov = torch.cov(torch.stack([a, b]))
        assert torch.allclose(cov, torch.tensor([[1.0, 0.6], [0.6, 1.0]], dtype=torch.float64), atol=0.03), cov
        assert abs(pearson_correlation(a, b) - 0.6) < 0.02
        assert abs(observational_slope(a, b) - 0.6) < 0.03


def test_intervention_reaches_b_only_when_a_causes_b():
    a, b = causal_pair("a_causes_b", n=100, seed=3, intervene=2.0)
    _, b_obs = causal_pair("a_causes_b", n=100, seed=3)
    assert torch.equal(a, torch.full((100,), 2.0, dtype=torch.float64))
    g = torch.Generator().manual_seed(3)
    _, noise_a, noise_b = torch.randn(3, 100, generator=g, dtype=torch.float64)
    assert torch.allclose(b, 0.8 * 2.0 + 0.6 * noise_b)  # B = rho a0 + sqrt(1 - rho^2) e, by hand
    assert torch.allclose(b_obs, 0.8 * noise_a + 0.6 * noise_b)
    _, b_do = causal_pair("common_cause", n=100, seed=3, intervene=5.0)
    _, b_seen = causal_pair("common_cause", n=100, seed=3)
    assert torch.equal(b_do, b_seen)  # setting A by hand leaves B's mechanism alone


def test_interventional_slope_is_rho_or_zero():
    assert abs(interventional_slope("a_causes_b", n=20_000, strength=0.5) - 0.5) < 0.03
    assert abs(interventional_slope("common_cause", n=20_000, strength=0.5)) < 0.03
    assert abs(interventional_slope("a_causes_b", low=0.0, high=3.0, n=5000) - 0.8) < 0.03


def test_pearson_and_slope_by_hand():
    a, b = np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 0.0, 4.0, 3.0])
    assert pearson_correlation(a, b) == pytest.approx(np.corrcoef(a, b)[0, 1])
    assert observational_slope(a, b) == pytest.approx(np.polyfit(a, b, 1)[0])
    assert pearson_correlation(torch.arange(5.0), -2 * torch.arange(5.0)) == pytest.approx(-1.0)


def test_return_hidden_gives_the_common_cause():
    a, b, u = causal_pair("common_cause", n=100, seed=2, return_hidden=True)
    assert torch.equal(a, causal_pair("common_cause", n=100, seed=2)[0])
    g = torch.Generator().manual_seed(2)
    hidden, noise_a, noise_b = torch.randn(3, 100, generator=g, dtype=torch.float64)
    assert torch.equal(u, hidden)
    assert torch.allclose(a, math.sqrt(0.8) * hidden + math.sqrt(0.2) * noise_a)
    assert torch.allclose(b, math.sqrt(0.8) * hidden + math.sqrt(0.2) * noise_b)


def test_same_seed_same_numbers():
    first, again = causal_pair("common_cause", 50, seed=7), causal_pair("common_cause", 50, seed=7)
    assert all(torch.equal(x, y) for x, y in zip(first, again))
    assert not torch.equal(first[0], causal_pair("common_cause", 50, seed=8)[0])


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="unknown kind='b_causes_a'; known kinds: a_causes_b, common_cause"):
        causal_pair("b_causes_a")
    with pytest.raises(ValueError, match="n must be"):
        causal_pair("a_causes_b", n=1)
    with pytest.raises(ValueError, match="seed must be"):
        causal_pair("a_causes_b", seed=-1)
    with pytest.raises(ValueError, match="strength must be"):
        causal_pair("a_causes_b", strength=1.0)
    with pytest.raises(ValueError, match="intervene must be"):
        causal_pair("a_causes_b", intervene=math.nan)
    with pytest.raises(ValueError, match="return_hidden must be"):
        causal_pair("a_causes_b", return_hidden=1)
    with pytest.raises(TypeError, match="a must be a torch.Tensor"):
        pearson_correlation([1.0, 2.0], torch.ones(2))
    with pytest.raises(ValueError, match="same number"):
        observational_slope(torch.ones(3), torch.ones(4))
    with pytest.raises(ValueError, match="a is constant"):
        observational_slope(torch.ones(3), torch.arange(3.0))
    with pytest.raises(ValueError, match="b is constant"):
        pearson_correlation(torch.arange(3.0), torch.ones(3))
    with pytest.raises(ValueError, match="low and high must differ"):
        interventional_slope("a_causes_b", low=1.0, high=1.0)
