"""The imbalance toy: shapes and types, determinism, the construction (visibility, x2's direction), the accuracies the
docstring promises (checked with scikit-learn), and clear errors on bad arguments."""
import doctest

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import mmcourse.data.imbalance as imbalance_module
from mmcourse.data import as_tensors, load_imbalance


@pytest.fixture(scope="module")
def data():
    return load_imbalance(n_train=2000, n_val=10, n_test=4000, cache=False)


def test_splits_shapes_and_types():
    ds = load_imbalance(n_train=30, n_val=20, n_test=10, cache=False)
    assert {k: v.num_rows for k, v in ds.items()} == {"train": 30, "validation": 20, "test": 10}
    (x1, x2), y = as_tensors(ds["train"])
    assert x1.shape == (30, 4) and x2.shape == (30, 32) and set(y.tolist()) <= {0, 1}
    assert ds["train"].features["label"].names == ["0", "1"]


def test_seeded_and_split_streams_independent():
    a = load_imbalance(n_train=20, n_val=5, n_test=7, seed=3, cache=False)
    b = load_imbalance(n_train=50, n_val=5, n_test=7, seed=3, cache=False)
    c = load_imbalance(n_train=20, n_val=5, n_test=7, seed=4, cache=False)
    assert np.array_equal(a["test"]["x2"][:].numpy(), b["test"]["x2"][:].numpy())
    assert not np.array_equal(a["test"]["x2"][:].numpy(), c["test"]["x2"][:].numpy())


def test_construction(data):
    (x1, x2), y = as_tensors(data["test"])
    shown, score2 = data["test"]["latent"][:].numpy().T
    sign = 2 * y.numpy() - 1
    assert abs(shown.mean() - 0.6) < 0.03
    # where the label is hidden, x1 carries nothing about it: its norm is the same for both labels
    norms = np.linalg.norm(x1.numpy(), axis=1)
    assert abs(norms[(shown == 0) & (sign > 0)].mean() - norms[(shown == 0) & (sign < 0)].mean()) < 0.05
    # x2's score is mu * sign + N(0, 1)
    assert abs((score2 * sign).mean() - 0.9) < 0.05 and abs((score2 - 0.9 * sign).std() - 1) < 0.05


def test_accuracies_match_the_docstring(data):
    (x1, x2), y = as_tensors(data["train"])
    (t1, t2), ty = as_tensors(data["test"])
    acc = {}
    for name, (a, b) in {"x1": (x1, t1), "x2": (x2, t2), "both": (np.hstack([x1, x2]), np.hstack([t1, t2]))}.items():
        acc[name] = LogisticRegression(max_iter=1000).fit(np.asarray(a), y.numpy()).score(np.asarray(b), ty.numpy())
    assert 0.77 <= acc["x1"] <= 0.83 and 0.78 <= acc["x2"] <= 0.85, acc
    assert acc["both"] >= max(acc["x1"], acc["x2"]) + 0.05, acc


@pytest.mark.parametrize("kwargs, match", [
    ({"visible": 1.5}, "visible must be a probability"), ({"visible": True}, "visible"),
    ({"strength": -1.0}, "strength must be"), ({"strength": float("nan")}, "strength"),
    ({"n_train": 0}, "n_train must be a positive integer"), ({"seed": -1}, "seed must be"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_imbalance(cache=False, **kwargs)


def test_doctests():
    assert doctest.testmod(imbalance_module).failed == 0
