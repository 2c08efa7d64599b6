"""Tests of the multiview toy world (Part 2.2): shapes and types, determinism, balanced classes, the planted
families (which coordinates carry the latent), errors, and the docstring's example."""
from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression, LogisticRegression

import mmcourse.data.multiview as multiview_module
from mmcourse.data import MULTIVIEW_FAMILIES, as_tensors, load_multiview


@pytest.fixture(scope="module")
def data():
    return load_multiview(n_train=2000, n_val=20, n_test=30, seed=0)


def test_splits_columns_and_types(data):
    assert {split: data[split].num_rows for split in data} == {"train": 2000, "validation": 20, "test": 30}
    xs, y = as_tensors(data["train"])
    assert len(xs) == 4 and all(x.shape == (2000, 16) and x.dtype == torch.float32 for x in xs)
    assert data["train"]["latent"][:].shape == (2000, 4)
    assert data["train"].features["label"].names == ["0", "1", "2", "3"]
    counts = np.bincount(y.numpy(), minlength=4)
    assert counts.min() > 0.2 * 2000  # four roughly balanced classes


def test_the_label_is_the_argmax_of_a_rotated_latent(data):
    z, y = data["train"]["latent"][:].numpy(), data["train"]["label"][:].numpy()
    # the classes are cones around four orthonormal directions: a linear classifier on z is (almost) perfect
    assert LogisticRegression(C=100, max_iter=2000).fit(z, y).score(z, y) >= 0.98


def test_planted_families(data):
    """Family A reads the latent in coordinates 0-7, family B in 8-15; the other half is clutter."""
    z = data["train"]["latent"][:].numpy()
    xs, _ = as_tensors(data["train"])
    for m, x in enumerate(xs):
        x = x.numpy()
        r2 = [LinearRegression().fit(z, x[:, half]).score(z, x[:, half]) for half in (slice(0, 8), slice(8, 16))]
        informative = 0 if m in MULTIVIEW_FAMILIES[0] else 1
        assert r2[informative] > 0.3 and r2[1 - informative] < 0.02, (m, r2)
    assert MULTIVIEW_FAMILIES == ((0, 1), (2, 3))


def test_determinism_and_independent_splits():
    a = load_multiview(n_train=50, n_val=10, n_test=10, seed=3, cache=False)
    b = load_multiview(n_train=50, n_val=10, n_test=10, seed=3, cache=False)
    c = load_multiview(n_train=80, n_val=10, n_test=10, seed=3, cache=False)
    d = load_multiview(n_train=50, n_val=10, n_test=10, seed=4, cache=False)
    assert torch.equal(a["train"]["x1"][:], b["train"]["x1"][:])
    assert torch.equal(a["test"]["x3"][:], c["test"]["x3"][:])  # changing n_train leaves the test set alone
    assert not torch.equal(a["train"]["x1"][:], d["train"]["x1"][:])


@pytest.mark.parametrize("kwargs, match", [(dict(n_train=0), "n_train must be a positive integer"),
                                           (dict(seed=-1), "seed must be a non-negative integer")])
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_multiview(**kwargs)


def test_docstring_examples():
    result = doctest.testmod(multiview_module)
    assert result.attempted > 0 and result.failed == 0
