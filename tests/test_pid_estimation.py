import doctest
import importlib

import numpy as np
import pytest
import torch

from mmcourse.data import load_dataset
from mmcourse.quantification import pid_from_samples

PARTS = ("redundancy", "unique1", "unique2", "synergy")


def parts(r):
    return np.array([getattr(r, name) for name in PARTS])


# --- pid_from_samples -------------------------------------------------------------------------------------------

def noisy_bits(seed, n=1000):
    rng = np.random.default_rng(seed)
    b1, b2 = rng.integers(0, 2, (2, n))
    encode = lambda b: (2.0 * b - 1)[:, None] * [3.0, 0.0, 0.0] + rng.standard_normal((n, 3))  # noqa: E731
    return b1, b2, encode


def test_from_samples_recovers_redundancy_and_synergy_of_separable_clusters():
    b1, b2, encode = noisy_bits(0)
    redundant = pid_from_samples(encode(b1), encode(b1), b1, clusters=(2, 2))
    assert redundant.redundancy > 0.9 and max(redundant.unique1, redundant.unique2, redundant.synergy) < 0.05
    xor = pid_from_samples(encode(b1), encode(b2), b1 ^ b2, clusters=(2, 2))
    assert xor.synergy > 0.9 and max(xor.redundancy, xor.unique1, xor.unique2) < 0.05
    unique = pid_from_samples(encode(b1), encode(b2), b1, clusters=(2, 2))
    assert unique.unique1 > 0.9 and max(unique.redundancy, unique.unique2, unique.synergy) < 0.05


def test_from_samples_is_seeded_and_counts_the_right_table():
    b1, b2, encode = noisy_bits(1, n=300)
    x1, x2 = encode(b1), encode(b2)
    r = pid_from_samples(x1, x2, b1 ^ b2, clusters=(3, 2), seed=4)
    assert r.q.shape == (3, 2, 2)
    again = pid_from_samples(torch.tensor(x1), x2.tolist(), torch.tensor(b1 ^ b2), clusters=(3, 2), seed=4)
    np.testing.assert_array_equal(parts(again), parts(r))
    np.testing.assert_array_equal(again.q, r.q)
    # q* keeps the marginals of the table of counts, whose entries are multiples of 1/n.
    counts = r.q.sum(axis=1) * 300
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-6)
    assert counts.sum() == pytest.approx(300)


def test_from_samples_on_the_interaction_datasets():
    # Unsupervised clusters of 12-D features need not split along the label direction, so the estimates are
    # coarse and biased (see the docstring); the contrast between the two datasets is what must hold.
    est = {}
    for name in ("redundancy", "synergy"):
        train = load_dataset(name, n_train=2000, n_val=10, n_test=10, cache=False)["train"]
        est[name] = pid_from_samples(train["x1"][:], train["x2"][:], train["label"][:], clusters=(8, 8))
    syn, red = est["synergy"], est["redundancy"]
    assert syn.synergy > 10 * max(syn.redundancy, syn.unique1, syn.unique2, 0.003)
    assert red.redundancy > 10 * max(syn.redundancy, 0.003)
    assert red.redundancy + red.unique1 > 3 * (syn.redundancy + syn.unique1)  # I(X1; Y): only redundancy has it


@pytest.mark.parametrize("kwargs, message", [
    (dict(y=np.zeros((4, 1))), r"pid_from_samples: y must be a 1-D array of non-negative integer labels"),
    (dict(y=np.array([0, 1, 0.5, 1])), r"with non-integer or negative values"),
    (dict(y=np.array([0, 1, 0, 1, 1])), r"pid_from_samples: x1 must have one row per label \(5\), got 4"),
    (dict(clusters=(2, 0)), r"pid_from_samples: clusters must be two integers in \[1, n=4\], got \(2, 0\)"),
    (dict(clusters=3), r"clusters must be two integers"),
    (dict(components=0), r"pid_from_samples: components must be a positive integer, got 0"),
])
def test_from_samples_errors(kwargs, message):
    args = dict(x1=np.arange(8.0).reshape(4, 2), x2=np.arange(4.0), y=np.array([0, 1, 0, 1]), clusters=(2, 2))
    with pytest.raises(ValueError, match=message):
        pid_from_samples(**{**args, **kwargs})


def test_doctests():
    result = doctest.testmod(importlib.import_module("mmcourse.quantification.estimation"))
    assert result.attempted > 0 and result.failed == 0
