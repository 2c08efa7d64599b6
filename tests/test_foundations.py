import numpy as np
import pytest
import torch
from datasets import DatasetDict
from hypothesis import given, settings
from hypothesis import strategies as st

from mmcourse.data import BITWISE, bitwise_distribution, load_digits_pair, load_taxonomy
from mmcourse.foundations import MULTIMODAL, label_informations, mutual_information, unimodal_vs_multimodal


def small(name, n=300, seed=0):
    return load_taxonomy(name, n_train=n, n_val=20, n_test=n, seed=seed, cache=False)


# --- unimodal_vs_multimodal -------------------------------------------------------------------------------------

def test_keys_order_and_range():
    scores = unimodal_vs_multimodal(small("equivalence"), epochs=3)
    assert list(scores) == ["x1", "x2", MULTIMODAL]
    assert all(0.0 <= v <= 1.0 for v in scores.values())


def test_deterministic_for_a_seed():
    ds = small("enhancement")
    assert unimodal_vs_multimodal(ds, epochs=3, seed=1) == unimodal_vs_multimodal(ds, epochs=3, seed=1)


def test_dominance_and_emergence_patterns():
    dominance = unimodal_vs_multimodal(small("dominance", n=1000), epochs=15)
    assert dominance["x1"] >= 0.9 and dominance[MULTIMODAL] >= 0.9 and dominance["x2"] <= 0.62
    emergence = unimodal_vs_multimodal(small("emergence", n=1000), epochs=15)
    assert max(emergence["x1"], emergence["x2"]) <= 0.62 and emergence[MULTIMODAL] >= 0.85
    additive = unimodal_vs_multimodal(small("emergence", n=1000), epochs=15, fusion="additive")
    assert additive[MULTIMODAL] <= 0.62  # a sum of unimodal terms cannot express XOR


def test_four_classes_and_image_modalities():
    scores = unimodal_vs_multimodal(small("independence"), epochs=2)
    assert set(scores) == {"x1", "x2", MULTIMODAL}
    digits = load_digits_pair()
    picked = DatasetDict({s: digits[s].select(range(200)) for s in ("train", "test")})
    scores = unimodal_vs_multimodal(picked, epochs=2, modalities=["audio", "image"], width=8)
    assert list(scores) == ["audio", "image", MULTIMODAL]


def test_validation_split_can_be_measured():
    scores = unimodal_vs_multimodal(small("dominance"), epochs=2, split="validation")
    assert all(abs(v * 20 - round(v * 20)) < 1e-4 for v in scores.values())  # 20 validation samples, not 300


@pytest.mark.parametrize("kwargs, message", [
    (dict(fusion="sum"), "unknown fusion='sum'; known fusions: early, late"),
    (dict(width=0), "width must be a positive integer, got width=0"),
    (dict(epochs=2.5), "epochs must be a positive integer"),
    (dict(batch_size=True), "batch_size must be a positive integer"),
    (dict(lr=0), "lr must be a positive number, got lr=0"),
    (dict(seed=-1), "seed must be a non-negative integer"),
    (dict(split="dev"), "no split 'dev'; its splits: ['train', 'validation', 'test']"),
    (dict(modalities=["x1", "x3"]), "unknown modality column(s) ['x3']"),
    (dict(modalities=["x1"]), "at least two distinct modalities, got ['x1']"),
    (dict(modalities=["x1", "x1"]), "at least two distinct modalities"),
    (dict(modalities="x1"), "must be a list of column names"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=r"^unimodal_vs_multimodal: ") as err:
        unimodal_vs_multimodal(small("dominance", n=20), **kwargs)
    assert message in str(err.value)


def test_bad_dataset():
    ds = small("dominance", n=20)
    with pytest.raises(TypeError, match="DatasetDict"):
        unimodal_vs_multimodal(ds["train"])
    with pytest.raises(ValueError, match="no split 'train'"):
        unimodal_vs_multimodal(DatasetDict({"test": ds["test"]}))
    with pytest.raises(ValueError, match="ClassLabel column 'label'"):
        unimodal_vs_multimodal(DatasetDict({s: ds[s].remove_columns("label") for s in ds}))


# --- mutual_information and label_informations ------------------------------------------------------------------

def test_mutual_information_known_values():
    assert mutual_information([[0.5, 0.0], [0.0, 0.5]]) == 1.0
    assert mutual_information(np.full((2, 2), 0.25)) == 0.0
    assert mutual_information(np.eye(4) / 4) == pytest.approx(2.0)
    # a binary symmetric channel with flip probability 0.1: 1 - h(0.1)
    q = 0.1
    channel = np.array([[1 - q, q], [q, 1 - q]]) / 2
    assert mutual_information(channel) == pytest.approx(1 + q * np.log2(q) + (1 - q) * np.log2(1 - q))
    assert mutual_information(torch.tensor([[0.5, 0.0], [0.0, 0.5]])) == 1.0


def test_mutual_information_tiny_marginals():
    # p(a) p(b) = 1e-384 underflows to 0 in float64; the logs do not
    p = np.array([[1.0, 0.0], [0.0, 1e-192]])
    p /= p.sum()
    assert np.isfinite(mutual_information(p)) and mutual_information(p) < 1e-180


def test_mutual_information_by_hand():
    p = np.array([[0.3, 0.1], [0.2, 0.4]])
    pa, pb = p.sum(1), p.sum(0)
    expected = sum(p[i, j] * np.log2(p[i, j] / (pa[i] * pb[j])) for i in range(2) for j in range(2))
    assert mutual_information(p) == pytest.approx(expected, abs=1e-15)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=6, max_size=6).filter(lambda v: sum(v) > 1e-3))
def test_mutual_information_laws(values):
    p = np.array(values).reshape(2, 3)
    p /= p.sum()
    mi = mutual_information(p)
    entropy = lambda q: -sum(x * np.log2(x) for x in q if x > 0)  # noqa: E731
    assert -1e-12 <= mi <= min(entropy(p.sum(1)), entropy(p.sum(0))) + 1e-9
    assert mi == pytest.approx(mutual_information(p.T), abs=1e-12)  # symmetric
    independent = np.outer(p.sum(1), p.sum(0))
    assert mutual_information(independent / independent.sum()) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("p, message", [
    (np.full(4, 0.25), "must be a 2-D array, got shape (4,)"),
    (np.array([[0.5, 0.6], [0.0, -0.1]]), "must be non-negative"),
    (np.array([[0.5, 0.5], [0.5, 0.5]]), "must sum to 1, got a sum of 2"),
    (np.array([[np.nan, 0.5], [0.25, 0.25]]), "NaN or infinite"),
    (np.zeros((0, 2)), "empty"),
    ([["a", "b"]], "must be an array of probabilities"),
])
def test_mutual_information_bad_input(p, message):
    with pytest.raises(ValueError, match=r"^mutual_information: ") as err:
        mutual_information(p)
    assert message in str(err.value)


def test_label_informations_of_the_bitwise_cases():
    h = lambda q: -q * np.log2(q) - (1 - q) * np.log2(1 - q)  # noqa: E731
    expected = {"xor": (0, 0, 1), "and": (h(0.25) - 0.5, h(0.25) - 0.5, h(0.25)), "copy": (1, 1, 2),
                "unique1": (1, 0, 1), "unique2": (0, 1, 1), "redundant": (1, 1, 1), "sum": (0.5, 0.5, 1.5)}
    for name in BITWISE:
        info = label_informations(bitwise_distribution(name))
        assert list(info) == ["I(X1;Y)", "I(X2;Y)", "I(X1,X2;Y)"]
        if name in expected:
            assert np.allclose(list(info.values()), expected[name], atol=1e-12), (name, info)
    assert label_informations(bitwise_distribution("xor"))["I(X1;Y)"] == 0.0


def test_label_informations_bad_input():
    with pytest.raises(ValueError, match=r"^label_informations: p must be a 3-D array, got shape \(2, 2\)"):
        label_informations(np.full((2, 2), 0.25))


def test_docstring_examples():
    import doctest
    import importlib
    import pkgutil

    import mmcourse.foundations

    attempted = 0
    for _, name, _ in pkgutil.walk_packages(mmcourse.foundations.__path__, "mmcourse.foundations."):
        result = doctest.testmod(importlib.import_module(name))
        assert result.failed == 0, name
        attempted += result.attempted
    assert attempted >= 4
