"""Tests of mmcourse.data.temporal: one signed event per modality, labelled by the parity of signs and order."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import ClassLabel

from mmcourse.data import as_tensors, load_temporal, temporal_label
from mmcourse.data import temporal

SMALL = {"n_train": 40, "n_val": 10, "n_test": 20}


@pytest.fixture(autouse=True, scope="module")
def _private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MMCOURSE_CACHE", str(tmp_path_factory.mktemp("mmcourse-cache")))
        yield


def test_splits_columns_and_shapes():
    ds = load_temporal(**SMALL, steps=12, features=3, cache=False)
    assert list(ds) == ["train", "validation", "test"]
    assert [ds[s].num_rows for s in ds] == [40, 10, 20]
    train = ds["train"]
    assert train.column_names == ["x1", "x2", "latent", "label"]
    assert isinstance(train.features["label"], ClassLabel)
    (x1, x2), y = as_tensors(train)
    assert x1.shape == x2.shape == (40, 12, 3) and x1.dtype == torch.float32 and y.dtype == torch.int64
    assert train["latent"][:].shape == (40, 4)


def test_label_is_the_parity_of_signs_and_order():
    ds = load_temporal(**SMALL, cache=False)
    for split in ds.values():
        t1, s1, t2, s2 = split["latent"][:].T
        assert set(s1.tolist()) <= {-1, 1} and set(s2.tolist()) <= {-1, 1}
        assert ((t1 - t2).abs() >= temporal.MIN_GAP).all()
        assert t1.min() >= 1 and t1.max() <= 20 - 2
        order = torch.where(t1 < t2, 1, -1)
        assert torch.equal(split["label"][:], (s1 * s2 * order > 0).long())
    assert temporal_label(2, -1, 5, -1) == 1 and temporal_label(5, -1, 2, -1) == 0
    assert temporal_label(np.array([2, 5]), np.array([1, 1]), np.array([5, 2]), np.array([-1, -1])).tolist() == [0, 1]


def test_noise_free_sequences_hold_exactly_the_pulse():
    ds = load_temporal(**SMALL, noise=0.0, cache=False)
    x1 = ds["train"]["x1"][:].numpy()
    latent = ds["train"]["latent"][:].numpy()
    t1, s1 = latent[:, 0], latent[:, 1]
    peak = x1[np.arange(40), t1]  # h s1 p1, the same direction p1 for every sample
    direction = peak / (temporal.EVENT_HEIGHT * s1[:, None])
    assert np.allclose(np.linalg.norm(direction, axis=1), 1.0, atol=1e-5)
    assert np.allclose(direction, direction[0], atol=1e-5)
    norms = np.linalg.norm(x1, axis=2)
    assert np.allclose(norms.sum(1), temporal.EVENT_HEIGHT * sum(temporal.PULSE), atol=1e-4)


def test_each_modality_alone_is_at_chance_and_labels_balanced():
    ds = load_temporal(n_train=4000, n_val=10, n_test=10, cache=False)
    t1, s1, t2, s2 = ds["train"]["latent"][:].T.numpy()
    y = ds["train"]["label"][:].numpy()
    assert abs(y.mean() - 0.5) < 0.03
    for t, s in ((t1, s1), (t2, s2)):  # P(y = 1 | what one modality shows) stays at 1/2 for every (time, sign)
        for sign in (-1, 1):
            part = y[(s == sign) & (t < 10)]
            assert abs(part.mean() - 0.5) < 0.06, part.mean()


def test_seed_cache_and_independent_splits():
    a = load_temporal(**SMALL, seed=3)
    b = load_temporal(**SMALL, seed=3)
    assert torch.equal(a["train"]["x1"][:], b["train"]["x1"][:])
    c = load_temporal(**SMALL, seed=4, cache=False)
    assert not torch.equal(a["train"]["x1"][:], c["train"]["x1"][:])
    bigger = load_temporal(**{**SMALL, "n_train": 60}, seed=3, cache=False)
    assert torch.equal(a["test"]["x2"][:], bigger["test"]["x2"][:])


@pytest.mark.parametrize("kwargs, match", [
    ({"n_train": 0}, "n_train must be a positive integer"),
    ({"steps": 5}, "steps must be an integer >= 6"),
    ({"features": 0}, "features must be an integer >= 1"),
    ({"noise": -1.0}, "noise must be a finite number"),
    ({"noise": float("nan")}, "noise must be a finite number"),
    ({"seed": -1}, "seed must be a non-negative integer"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_temporal(**{**SMALL, **kwargs}, cache=False)
