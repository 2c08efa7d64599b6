import doctest
import importlib

import numpy as np
import pytest
import torch

from mmcourse.data import INTERACTION_DATASETS, as_tensors, bitwise_distribution, load_dataset
from mmcourse.quantification import (DISCRETISERS, Discretiser, LabelAwareEncoders, fit_discretiser, joint_table,
                                     pid, pid_from_samples, plugin_bias)

PARTS = ("redundancy", "unique1", "unique2", "synergy")


def parts(r):
    return np.array([getattr(r, name) for name in PARTS])


def noisy_bits(seed, n=1000):
    rng = np.random.default_rng(seed)
    b1, b2 = rng.integers(0, 2, (2, n))
    encode = lambda b: (2.0 * b - 1)[:, None] * [3.0, 0.0, 0.0] + rng.standard_normal((n, 3))  # noqa: E731
    return b1, b2, encode


def plug_in_mi(counts):
    """I(A; B) in bits of a 2-D table of counts, by the definition."""
    p = counts / counts.sum()
    pa, pb = p.sum(1, keepdims=True), p.sum(0, keepdims=True)
    nz = p > 0
    return float((p[nz] * np.log2(p[nz] / (pa @ pb)[nz])).sum())


# --- pid_from_samples, unsupervised (the default) ------------------------------------------------------------------

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
    # The default is the "kmeans" discretiser fitted on these samples.
    d = fit_discretiser(x1, x2, clusters=(3, 2), method="kmeans", seed=4)
    np.testing.assert_array_equal(parts(pid_from_samples(x1, x2, b1 ^ b2, discretiser=d)), parts(r))


def test_planted_clusters_give_the_exact_pid_of_and():
    # Four well separated clusters per modality, two of them for each bit: the discretisation is exact, so the
    # estimate is the PID of the empirical table, within sampling error of the exact AND (R 0.311, S 0.5).
    rng = np.random.default_rng(3)
    n = 6000
    b1, b2 = rng.integers(0, 2, (2, n))
    sub1, sub2 = rng.integers(0, 2, (2, n))  # a label-free split of each bit's cluster

    def encode(b, sub):
        centres = np.array([[0, 0], [0, 8], [8, 0], [8, 8]], float)
        return centres[2 * b + sub] + 0.3 * rng.standard_normal((n, 2))

    x1, x2, y = encode(b1, sub1), encode(b2, sub2), b1 & b2
    exact = parts(pid(bitwise_distribution("and")))
    for method in reversed(DISCRETISERS):  # "learned", then "kmeans"
        d = fit_discretiser(x1[:3000], x2[:3000], y[:3000], clusters=(4, 4), method=method, epochs=5)
        estimate = pid_from_samples(x1[3000:], x2[3000:], y[3000:], discretiser=d)
        np.testing.assert_allclose(parts(estimate), exact, atol=0.03, err_msg=method)
    # k-means finds the planted clusters themselves (the learned features may merge sub-clusters that mean the
    # same for the label: that loses nothing of the PID).
    c1, _ = d.transform(x1[3000:], x2[3000:])
    assert len(set(zip(c1, 2 * b1[3000:] + sub1[3000:]))) == 4


# --- the label-aware discretisation ---------------------------------------------------------------------------------

DOMINANT = {"redundancy": "redundancy", "uniqueness1": "unique1", "uniqueness2": "unique2", "synergy": "synergy"}


@pytest.fixture(scope="module")
def learned():
    """PID of the test split of every interaction dataset, discretised by encoders fitted on its train split."""
    out = {}
    for name in INTERACTION_DATASETS:
        ds = load_dataset(name)
        (a1, a2), ya = as_tensors(ds["train"])
        (b1, b2), yb = as_tensors(ds["test"])
        out[name] = pid_from_samples(b1, b2, yb, discretiser=fit_discretiser(a1, a2, ya))
    return out


@pytest.mark.parametrize("name", list(DOMINANT))
def test_learned_discretisation_finds_the_dominant_part_of_every_interaction_dataset(learned, name):
    r = learned[name]
    values = dict(zip(PARTS, parts(r)))
    top = DOMINANT[name]
    assert values[top] > 0.5, (name, values)  # at least half a bit of the ≈ 1 bit in the label
    assert values[top] > 5 * max(v for k, v in values.items() if k != top), (name, values)


def test_learned_discretisation_on_mixed_data_finds_redundancy_and_synergy(learned):
    r = learned["mixed"]
    assert r.synergy > 0.2 and r.redundancy > 0.08, parts(r)
    assert r.synergy > r.redundancy > max(r.unique1, r.unique2), parts(r)


def test_fit_discretiser_is_seeded_and_leaves_the_global_generator_alone():
    b1, b2, encode = noisy_bits(5, n=400)
    x1, x2, y = encode(b1), encode(b2), b1 ^ b2
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    d = fit_discretiser(x1, x2, y, clusters=(3, 4), epochs=3, seed=2)
    assert torch.equal(torch.rand(3), expected)
    again = fit_discretiser(x1, x2, y, clusters=(3, 4), epochs=3, seed=2)
    other = fit_discretiser(x1, x2, y, clusters=(3, 4), epochs=3, seed=3)
    for a, b in zip(d.encoders.parameters(), again.encoders.parameters()):
        assert torch.equal(a, b)
    assert not all(torch.equal(a, b) for a, b in zip(d.encoders.parameters(), other.encoders.parameters()))
    c1, c2 = d.transform(x1, x2)
    for got, want in zip(again.transform(x1, x2), (c1, c2)):
        np.testing.assert_array_equal(got, want)
    assert c1.dtype == np.int64 and set(c1) <= set(range(3)) and set(c2) <= set(range(4))
    assert isinstance(d.encoders, LabelAwareEncoders) and repr(d) == "Discretiser(method='learned', clusters=(3, 4))"


def test_recluster_keeps_the_features_and_changes_the_clusters():
    b1, b2, encode = noisy_bits(6, n=400)
    x1, x2 = encode(b1), encode(b2)
    d = fit_discretiser(x1, x2, b1, clusters=(2, 2), epochs=3)
    finer = d.recluster(x1, x2, (5, 3))
    assert finer.clusters == (5, 3) and finer.encoders is d.encoders
    c1, c2 = finer.transform(x1, x2)
    assert len(set(c1)) == 5 and len(set(c2)) == 3
    same = d.recluster(x1, x2, (2, 2))
    for got, want in zip(same.transform(x1, x2), d.transform(x1, x2)):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(*(f[0] for f in (finer.features(x1, x2), d.features(x1, x2))))


def test_label_aware_encoders_shapes_and_gradients():
    net = LabelAwareEncoders(3, 2, 4, width=5).double()
    x1, x2 = torch.randn(6, 3, dtype=torch.float64), torch.randn(6, 2, dtype=torch.float64)
    joint, u1, u2 = net(x1, x2)
    assert joint.shape == u1.shape == u2.shape == (6, 4)
    h1, h2 = net.encode(x1, x2)
    assert h1.shape == h2.shape == (6, 5)
    (joint.sum() + u1.sum()).backward()
    assert all(p.grad is not None for p in net.encoders[0].parameters())
    assert net.unimodal[1].weight.grad is None  # x2's unimodal head was not in this loss


# --- joint_table and the plug-in bias ----------------------------------------------------------------------------

def test_joint_table_by_hand():
    p = joint_table(np.array([0, 2, 2, 0]), [1, 1, 1, 0], torch.tensor([1, 0, 0, 1]), shape=(3, 2, 3))
    expected = np.zeros((3, 2, 3))
    expected[0, 1, 1] = expected[0, 0, 1] = 0.25
    expected[2, 1, 0] = 0.5
    np.testing.assert_array_equal(p, expected)
    assert joint_table([1], [0], [0]).shape == (2, 1, 1)


def test_plugin_bias_counts_occupied_cells():
    assert plugin_bias(np.full((4, 3, 2), 1 / 24), 100) == pytest.approx((4 * 3 - 1) * (2 - 1) / (200 * np.log(2)))
    sparse = np.zeros((2, 2, 3))
    sparse[0, 0, :2] = sparse[1, 1, 1:] = 0.25  # 4 occupied cells, 2 occupied pairs, 3 labels
    assert plugin_bias(sparse, 50) == pytest.approx((4 - 2 - 3 + 1) / (100 * np.log(2)))


def test_plugin_bias_matches_the_average_plug_in_information_of_independent_data():
    rng = np.random.default_rng(0)
    n, k, ny = 600, 6, 2
    values = [plug_in_mi(np.histogram2d(rng.integers(0, k, n), rng.integers(0, ny, n), bins=(k, ny))[0])
              for _ in range(400)]
    # The truth is 0, so the mean plug-in value is the bias: (k - 1)(ny - 1) / (2 n ln 2) = 0.0060 bits.
    assert np.mean(values) == pytest.approx(plugin_bias(np.full((k, 1, ny), 1 / (k * ny)), n), rel=0.15)


def test_shuffled_labels_show_the_bias_floor_in_the_synergy():
    b1, b2, encode = noisy_bits(8, n=800)
    x1, x2 = encode(b1), encode(b2)
    d = fit_discretiser(x1, x2, clusters=(6, 6), method="kmeans")
    shuffled = np.random.default_rng(0).permutation(b1 ^ b2)
    r = pid_from_samples(x1, x2, shuffled, discretiser=d)
    c1, c2 = d.transform(x1, x2)
    bias = plugin_bias(joint_table(c1, c2, shuffled, (6, 6, 2)), 800)
    assert 0.3 * bias < r.total < 3 * bias
    assert r.synergy > 0.5 * r.total


# --- errors --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    (dict(y=np.zeros((4, 1))), r"pid_from_samples: y must be a 1-D array of non-negative integer labels"),
    (dict(y=np.array([0, 1, 0.5, 1])), r"with non-integer or negative values"),
    (dict(y=np.array([0, 1, 0, 1, 1])), r"pid_from_samples: x1 must have one row per label \(5\), got 4"),
    (dict(clusters=(2, 0)), r"pid_from_samples: clusters must be two integers in \[1, n=4\], got \(2, 0\)"),
    (dict(clusters=3), r"clusters must be two integers"),
    (dict(components=0), r"pid_from_samples: components must be a positive integer, got 0"),
    (dict(discretiser="kmeans"), r"pid_from_samples: discretiser must come from fit_discretiser, got str"),
])
def test_from_samples_errors(kwargs, message):
    args = dict(x1=np.arange(8.0).reshape(4, 2), x2=np.arange(4.0), y=np.array([0, 1, 0, 1]), clusters=(2, 2))
    with pytest.raises(ValueError, match=message):
        pid_from_samples(**{**args, **kwargs})


@pytest.mark.parametrize("kwargs, message", [
    (dict(method="pca"), r"fit_discretiser: method must be one of 'kmeans', 'learned', got 'pca'"),
    (dict(y=None), r"fit_discretiser: method='learned' needs the labels y"),
    (dict(x2=np.zeros(5)), r"fit_discretiser: x2 must have one row per row of x1 \(4\), got 5"),
    (dict(y=np.array([0, 1, 1])), r"fit_discretiser: y must have one label per row \(4\), got 3"),
    (dict(clusters=(5, 2)), r"fit_discretiser: clusters must be two integers in \[1, n=4\], got \(5, 2\)"),
    (dict(epochs=0), r"fit_discretiser: epochs must be a positive integer, got 0"),
    (dict(width=2.5), r"fit_discretiser: width must be a positive integer, got 2.5"),
    (dict(seed=-1), r"fit_discretiser: seed must be a non-negative integer, got -1"),
    (dict(x1=np.array([[0.0], [np.nan], [1], [2]])), r"fit_discretiser: x1 contains NaN or infinite values"),
])
def test_fit_discretiser_errors(kwargs, message):
    args = dict(x1=np.arange(8.0).reshape(4, 2), x2=np.arange(4.0), y=np.array([0, 1, 0, 1]), clusters=(2, 2))
    with pytest.raises(ValueError, match=message):
        fit_discretiser(**{**args, **kwargs})


def test_transform_errors():
    d = fit_discretiser(np.arange(8.0).reshape(4, 2), np.arange(4.0), clusters=(2, 2), method="kmeans")
    with pytest.raises(ValueError, match=r"Discretiser: x1 and x2 must have as many rows, got 4 and 3"):
        d.transform(np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(ValueError, match=r"Discretiser: expected 2 features per modality, got 3"):
        d.transform(np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match=r"Discretiser.recluster: clusters must be two integers"):
        d.recluster(np.zeros((4, 2)), np.zeros(4), (0, 1))
    with pytest.raises(ValueError, match=r"Discretiser.recluster: seed must be a non-negative integer, got 1.5"):
        d.recluster(np.zeros((4, 2)), np.zeros(4), (2, 1), seed=1.5)


@pytest.mark.parametrize("args, message", [
    (([0, 1], [0], [0, 1]), r"joint_table: c1 must have one id per label \(2\), got shape \(2,\)|c2 must have"),
    (([0, -1], [0, 0], [0, 1]), r"joint_table: y must be a 1-D array of non-negative integer labels"),
    (([], [], []), r"joint_table: no samples"),
    (([0, 3], [0, 0], [0, 1], (3, 1, 2)), r"joint_table: shape must be three sizes above the largest ids "
                                          r"\(3, 0, 1\), got \(3, 1, 2\)"),
])
def test_joint_table_errors(args, message):
    with pytest.raises(ValueError, match=message):
        joint_table(*args)


def test_plugin_bias_errors():
    with pytest.raises(ValueError, match=r"plugin_bias: p must be a non-negative 3-D table"):
        plugin_bias(np.ones((2, 2)), 10)
    with pytest.raises(ValueError, match=r"plugin_bias: n must be a positive integer, got 0"):
        plugin_bias(np.ones((2, 2, 2)) / 8, 0)


def test_doctests():
    result = doctest.testmod(importlib.import_module("mmcourse.quantification.estimation.plugin"))
    assert result.attempted > 0 and result.failed == 0
    result = doctest.testmod(importlib.import_module("mmcourse.quantification.estimation.discretise"))
    assert result.attempted > 0 and result.failed == 0
