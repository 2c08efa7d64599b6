"""Tests of mmcourse.data: features, splits, determinism, the cache, bad input, and what each dataset holds."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import Array2D, ClassLabel, Dataset, DatasetDict, Features, List, Value, load_from_disk
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

import mmcourse.data as data
from mmcourse.data import (BITWISE, DATASETS, INTERACTION_DATASETS, META_COLUMNS, TAXONOMY_DATASETS, as_tensors,
                           bitwise_distribution, load_dataset, load_digits_pair, load_interaction, load_taxonomy,
                           modality_columns)
from mmcourse.data import _cache, interactions

SPLITS = ("train", "validation", "test")
SMALL = {"n_train": 40, "n_val": 10, "n_test": 20}
CHANCE = 0.58  # "at chance" for a binary label on 1,000 test samples: 0.5 plus 5 standard errors
SEEDS = (0, 1, 2)
ignore_convergence = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True, scope="module")
def _private_cache(tmp_path_factory):
    """Keep every test's cache out of the user's ~/.cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MMCOURSE_CACHE", str(tmp_path_factory.mktemp("mmcourse-cache")))
        yield


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """The models here are tiny: BLAS threads only add overhead, and thrash when other processes share the CPU."""
    with threadpool_limits(limits=1):
        yield


def small(name: str, **kwargs) -> DatasetDict:
    """A small uncached copy of a dataset (digits has one fixed size)."""
    sizes = {} if name == "digits" else SMALL
    return load_dataset(name, cache=False, **{**sizes, **kwargs})


def assert_same(a: DatasetDict, b: DatasetDict) -> None:
    assert list(a) == list(b)
    for split in a:
        assert a[split].features == b[split].features
        for column in a[split].column_names:
            assert torch.equal(a[split][column][:], b[split][column][:]), (split, column)


def accuracy(ds: DatasetDict, columns: list[str], model) -> float:
    """Test accuracy of ``model`` trained on the train split's ``columns``, flattened and concatenated."""
    def features(split):
        xs, y = as_tensors(ds[split], columns)
        return torch.cat([x.flatten(1) for x in xs], dim=1).numpy(), y.numpy()
    return model.fit(*features("train")).score(*features("test"))


def linear() -> LogisticRegression:
    return LogisticRegression(max_iter=1000)


def mlp() -> MLPClassifier:
    return MLPClassifier((32,), learning_rate_init=0.01, max_iter=100, random_state=0)


def unimodal_and_both(ds: DatasetDict, model=linear) -> tuple[float, float, float]:
    return tuple(accuracy(ds, columns, model()) for columns in (["x1"], ["x2"], ["x1", "x2"]))


# --- the catalogue -----------------------------------------------------------------------------------------------

def test_catalogue():
    assert DATASETS == (*INTERACTION_DATASETS, *TAXONOMY_DATASETS, "digits", "sequences", "speech", "multiview",
                        "imbalance", "scenes", "scene_questions", "temporal", "storyboards")
    assert INTERACTION_DATASETS == ("redundancy", "uniqueness1", "uniqueness2", "synergy", "mixed")
    assert TAXONOMY_DATASETS == ("equivalence", "enhancement", "independence", "dominance", "modulation",
                                 "emergence")
    assert META_COLUMNS == ("label", "latent")
    assert all(hasattr(data, name) for name in data.__all__)


@pytest.mark.parametrize("name, loader", [("multiview", data.load_multiview), ("imbalance", data.load_imbalance),
                                          ("scenes", data.load_scenes),
                                          ("scene_questions", data.load_scene_questions),
                                          ("temporal", data.load_temporal),
                                          ("storyboards", data.load_storyboards)])
def test_load_dataset_dispatches_to_the_later_loaders(name, loader):
    by_name = load_dataset(name, n_train=20, n_val=10, n_test=10, seed=3, cache=False)
    direct = loader(n_train=20, n_val=10, n_test=10, seed=3, cache=False)
    column = by_name["train"].column_names[0]
    assert torch.equal(torch.as_tensor(by_name["train"][column][:]), torch.as_tensor(direct["train"][column][:]))


# --- features, shapes, splits --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", INTERACTION_DATASETS)
def test_interaction_features(name):
    ds = small(name)
    assert isinstance(ds, DatasetDict) and tuple(ds) == SPLITS
    assert {split: ds[split].num_rows for split in SPLITS} == {"train": 40, "validation": 10, "test": 20}
    vector = lambda d: List(Value("float32"), length=d)  # noqa: E731
    assert ds["train"].features == Features({"x1": vector(12), "x2": vector(12), "latent": vector(3),
                                             "label": ClassLabel(names=["0", "1"])})
    batch = ds["train"][:]
    assert ds["train"].format["type"] == "torch"
    assert batch["x1"].shape == batch["x2"].shape == (40, 12) and batch["x1"].dtype == torch.float32
    assert batch["latent"].shape == (40, 3) and batch["label"].dtype == torch.int64
    assert set(batch["label"].tolist()) <= {0, 1}


@pytest.mark.parametrize("name", TAXONOMY_DATASETS)
def test_taxonomy_features(name):
    ds = small(name)
    assert tuple(ds) == SPLITS and [ds[split].num_rows for split in SPLITS] == [40, 10, 20]
    names = ["0/0", "0/1", "1/0", "1/1"] if name == "independence" else ["0", "1"]
    vector = lambda d: List(Value("float32"), length=d)  # noqa: E731
    assert ds["test"].features == Features({"x1": vector(8), "x2": vector(8), "latent": vector(2),
                                            "label": ClassLabel(names=names)})
    batch = ds["test"][:]
    assert batch["x1"].shape == batch["x2"].shape == (20, 8) and batch["x2"].dtype == torch.float32
    assert set(batch["label"].tolist()) <= set(range(len(names)))


def test_digits_features_and_splits():
    ds = load_digits_pair()
    assert ds["train"].features == Features({"image": Array2D((8, 8), "float32"),
                                             "audio": Array2D((12, 16), "float32"),
                                             "label": ClassLabel(names=[str(d) for d in range(10)])})
    assert [ds[split].num_rows for split in SPLITS] == [1078, 360, 359]
    batches = {split: ds[split][:] for split in SPLITS}
    for batch in batches.values():
        assert batch["image"].dtype == batch["audio"].dtype == torch.float32
        assert 0 <= batch["image"].min() and batch["image"].max() <= 1
        assert 0 <= batch["audio"].min() and batch["audio"].max() <= 1
    # The splits partition scikit-learn's 1,797 images (same label counts, same total ink)...
    reference = load_digits()
    labels = torch.cat([b["label"] for b in batches.values()]).numpy()
    np.testing.assert_array_equal(np.bincount(labels), np.bincount(reference.target))
    total_ink = sum(float(b["image"].double().sum()) for b in batches.values())
    assert total_ink == pytest.approx(reference.images.sum() / 16)
    # ...and are stratified: each split holds about 60/20/20 of every class.
    for split, fraction in zip(SPLITS, (0.6, 0.2, 0.2)):
        counts = np.bincount(batches[split]["label"].numpy(), minlength=10)
        np.testing.assert_allclose(counts, fraction * np.bincount(reference.target), atol=1)


# --- determinism ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [*INTERACTION_DATASETS, *TAXONOMY_DATASETS, "digits"])
def test_same_seed_same_data_other_seed_other_data(name):
    # the variable-length sequence datasets have their own determinism tests in test_sequences.py
    assert_same(small(name, seed=3), small(name, seed=3))
    a, b = small(name, seed=3)["train"][:], small(name, seed=4)["train"][:]
    column = "audio" if name == "digits" else "x1"
    assert not torch.equal(a[column], b[column])


@pytest.mark.parametrize("loader", [load_interaction, load_taxonomy])
def test_test_split_does_not_depend_on_train_size(loader):
    name = "synergy" if loader is load_interaction else "modulation"
    a = loader(name, n_train=10, n_val=5, n_test=30, cache=False)
    b = loader(name, n_train=99, n_val=5, n_test=30, cache=False)
    assert torch.equal(a["test"]["x1"][:], b["test"]["x1"][:])


# --- the cache --------------------------------------------------------------------------------------------------

@pytest.fixture
def cache_root(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("MMCOURSE_CACHE", str(root))
    return root


def test_cache_writes_one_folder_and_reads_it_back(cache_root, monkeypatch):
    first = load_interaction("synergy", **SMALL)
    folders = [p.name for p in cache_root.iterdir()]
    assert len(folders) == 1 and folders[0].startswith("synergy-")
    # A second load, in memory or from disk in a fresh process, never generates again.
    monkeypatch.setattr(interactions, "_generate", lambda *a, **k: pytest.fail("generated twice"))
    assert_same(first, load_interaction("synergy", **SMALL))
    monkeypatch.setattr(_cache, "_MEMORY", {})
    from_disk = load_interaction("synergy", **SMALL)
    assert_same(first, from_disk)
    assert from_disk["train"].format["type"] == "torch"


def test_cache_key_covers_every_parameter_and_the_version(cache_root, monkeypatch):
    base = {"n_train": 10, "n_val": 10, "n_test": 10, "seed": 0}
    keys = {_cache.cache_key("synergy", base), _cache.cache_key("redundancy", base)}
    keys |= {_cache.cache_key("synergy", {**base, arg: 11}) for arg in base}
    monkeypatch.setattr(_cache, "GENERATOR_VERSION", _cache.GENERATOR_VERSION + 1)
    keys.add(_cache.cache_key("synergy", base))
    assert len(keys) == 2 + len(base) + 1


def test_no_cache_touches_no_disk_and_gives_the_same_data(cache_root):
    fresh = load_taxonomy("emergence", cache=False, **SMALL)
    assert not cache_root.exists()
    assert_same(fresh, load_taxonomy("emergence", **SMALL))


def test_a_caller_cannot_change_what_the_next_caller_gets(cache_root):
    load_interaction("redundancy", **SMALL)["train"].set_format("numpy")
    assert load_interaction("redundancy", **SMALL)["train"].format["type"] == "torch"


def test_parallel_writers_do_not_clash(cache_root):
    """Two workers that build the same dataset: the second rename finds the folder there and keeps it."""
    ds = small("dominance")
    folder = cache_root / "dominance-test"
    _cache._write_atomically(ds, folder)
    _cache._write_atomically(ds, folder)
    assert [p.name for p in cache_root.iterdir()] == ["dominance-test"]  # no temporary folder left behind
    assert_same(ds, load_from_disk(str(folder)))


# --- what each dataset holds ------------------------------------------------------------------------------------

_RULES = {
    "redundancy": lambda s1, s2, sc: sc > 0,
    "uniqueness1": lambda s1, s2, sc: s1 > 0,
    "uniqueness2": lambda s1, s2, sc: s2 > 0,
    "synergy": lambda s1, s2, sc: (s1 > 0) ^ (s2 > 0),
    "mixed": lambda s1, s2, sc: sc + 2 * s1 * s2 > 0,
}


@settings(max_examples=15, deadline=None)
@given(name=st.sampled_from(INTERACTION_DATASETS), seed=st.integers(0, 2**32),
       sizes=st.tuples(*[st.integers(1, 30)] * 3))
def test_interaction_label_is_the_rule_on_the_latent_scores(name, seed, sizes):
    ds = load_interaction(name, n_train=sizes[0], n_val=sizes[1], n_test=sizes[2], seed=seed, cache=False)
    assert [ds[split].num_rows for split in SPLITS] == list(sizes)
    for split in SPLITS:
        latent, label = ds[split]["latent"][:].double(), ds[split]["label"][:]
        assert torch.equal(_RULES[name](*latent.T).long(), label)


def test_taxonomy_latents_follow_their_equations():
    equivalence = load_taxonomy("equivalence", cache=False)["train"]["latent"][:]
    assert torch.equal(equivalence[:, 0], equivalence[:, 1])  # one shared signal
    modulation = load_taxonomy("modulation", cache=False)["train"][:]
    u1, u2 = modulation["latent"].T
    assert torch.equal((u1 - u2 > 0).long(), modulation["label"])  # x2 is exactly the offset to remove


@pytest.mark.parametrize("seed", SEEDS)
def test_redundancy_and_uniqueness(seed):
    x1, x2, _ = unimodal_and_both(load_interaction("redundancy", seed=seed))
    assert x1 >= 0.9 and x2 >= 0.9
    x1, x2, _ = unimodal_and_both(load_interaction("uniqueness1", seed=seed))
    assert x1 >= 0.9 and x2 <= CHANCE
    x1, x2, _ = unimodal_and_both(load_interaction("uniqueness2", seed=seed))
    assert x1 <= CHANCE and x2 >= 0.9


@ignore_convergence
@pytest.mark.parametrize("seed", SEEDS)
def test_synergy_needs_both_modalities(seed):
    ds = load_interaction("synergy", seed=seed)
    x1, x2, both_linear = unimodal_and_both(ds)
    assert max(x1, x2, both_linear) <= CHANCE  # XOR is invisible to one modality, and to a linear model
    assert accuracy(ds, ["x1", "x2"], mlp()) >= 0.85
    if seed == 0:
        assert accuracy(ds, ["x1"], mlp()) <= 0.6  # not even a nonlinear model finds it in one modality


@ignore_convergence
def test_mixed_has_a_redundant_and_a_synergistic_part():
    ds = load_interaction("mixed")
    x1, x2, both_linear = unimodal_and_both(ds)
    assert 0.65 <= min(x1, x2, both_linear) and max(x1, x2, both_linear) <= 0.8  # the redundant part alone
    assert accuracy(ds, ["x1", "x2"], mlp()) >= both_linear + 0.15  # plus the synergistic part


@pytest.mark.parametrize("seed", SEEDS)
def test_equivalence(seed):
    x1, x2, both = unimodal_and_both(load_taxonomy("equivalence", seed=seed))
    assert min(x1, x2, both) >= 0.9 and max(x1, x2, both) - min(x1, x2, both) <= 0.02


@pytest.mark.parametrize("seed", SEEDS)
def test_enhancement(seed):
    x1, x2, both = unimodal_and_both(load_taxonomy("enhancement", seed=seed))
    assert 0.72 <= min(x1, x2) and max(x1, x2) <= 0.85
    assert both >= max(x1, x2) + 0.06


@pytest.mark.parametrize("seed", SEEDS)
def test_independence(seed):
    x1, x2, both = unimodal_and_both(load_taxonomy("independence", seed=seed))
    assert 0.42 <= min(x1, x2) and max(x1, x2) <= CHANCE  # one of the two bits right, the other guessed
    assert both >= 0.9


@pytest.mark.parametrize("seed", SEEDS)
def test_dominance(seed):
    x1, x2, both = unimodal_and_both(load_taxonomy("dominance", seed=seed))
    assert x1 >= 0.9 and abs(both - x1) <= 0.01 and x2 <= CHANCE


@pytest.mark.parametrize("seed", SEEDS)
def test_modulation(seed):
    x1, x2, both = unimodal_and_both(load_taxonomy("modulation", seed=seed))
    assert 0.62 <= x1 <= 0.78 and x2 <= CHANCE and both >= 0.9


@ignore_convergence
@pytest.mark.parametrize("seed", SEEDS)
def test_emergence(seed):
    ds = load_taxonomy("emergence", seed=seed)
    x1, x2, _ = unimodal_and_both(ds)
    assert max(x1, x2) <= CHANCE
    assert accuracy(ds, ["x1", "x2"], mlp()) >= 0.9


def test_digits_audio_is_weaker_than_image_and_both_beat_either():
    image, audio, both = (accuracy(load_digits_pair(), columns, LogisticRegression(max_iter=2000))
                          for columns in (["image"], ["audio"], ["image", "audio"]))
    assert image >= 0.93 and 0.72 <= audio <= 0.9 and both > max(image, audio)


# --- bitwise distributions ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", BITWISE)
def test_bitwise_is_a_distribution_with_uniform_bits(name):
    p = bitwise_distribution(name)
    assert p.dtype == np.float64 and p.shape[:2] == (2, 2) and (p >= 0).all()
    assert p.sum() == pytest.approx(1.0)
    assert ((p > 0).sum(axis=2) == 1).all() or name == "redundant"  # y is a function of (x1, x2)
    np.testing.assert_allclose(p.sum(axis=(1, 2)), [0.5, 0.5])  # x1 is a uniform bit


@pytest.mark.parametrize("name, y", [
    ("and", [[0, 0], [0, 1]]), ("or", [[0, 1], [1, 1]]), ("xor", [[0, 1], [1, 0]]), ("copy", [[0, 1], [2, 3]]),
    ("unique1", [[0, 0], [1, 1]]), ("unique2", [[0, 1], [0, 1]]), ("sum", [[0, 1], [1, 2]]),
])
def test_bitwise_support(name, y):
    p = bitwise_distribution(name)
    assert p.shape[2] == max(map(max, y)) + 1
    for x1 in (0, 1):
        for x2 in (0, 1):
            assert p[x1, x2, y[x1][x2]] == 0.25


def test_bitwise_redundant():
    p = bitwise_distribution("redundant")
    expected = np.zeros((2, 2, 2))
    expected[0, 0, 0] = expected[1, 1, 1] = 0.5
    np.testing.assert_array_equal(p, expected)


# --- tensors ----------------------------------------------------------------------------------------------------

def test_as_tensors_default_and_chosen_modalities():
    split = small("mixed")["train"]
    assert modality_columns(split) == ["x1", "x2"]
    (x1, x2), y = as_tensors(split)
    assert x1.shape == x2.shape == (40, 12) and x1.dtype == torch.float32 and y.dtype == torch.int64
    (b2, b1), _ = as_tensors(split, ["x2", "x1"])
    assert torch.equal(b1, x1) and torch.equal(b2, x2)
    (latent,), _ = as_tensors(split, ["latent"])
    assert latent.shape == (40, 3)


def test_as_tensors_digits_keeps_2d_shapes():
    split = load_digits_pair()["validation"]
    assert modality_columns(split) == ["image", "audio"]
    (image, audio), y = as_tensors(split)
    assert image.shape == (360, 8, 8) and audio.shape == (360, 12, 16) and y.shape == (360,)


def test_as_tensors_errors():
    ds = small("synergy")
    with pytest.raises(ValueError, match=r"no column\(s\) \['x3'\]; available columns: \['x1', 'x2'"):
        as_tensors(ds["train"], ["x1", "x3"])
    with pytest.raises(ValueError, match="non-empty list"):
        as_tensors(ds["train"], "x1")
    with pytest.raises(ValueError, match="non-empty list"):
        as_tensors(ds["train"], [])
    with pytest.raises(TypeError, match=r"DatasetDict with splits \['train', 'validation', 'test'\]"):
        as_tensors(ds)
    with pytest.raises(TypeError, match="expected a datasets.Dataset"):
        modality_columns({"x1": [1.0]})
    unlabelled = Dataset.from_dict({"x1": [[1.0]]})
    with pytest.raises(ValueError, match=r"no column\(s\) \['label'\]"):
        as_tensors(unlabelled)


# --- bad input --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("loader", [load_interaction, load_taxonomy])
@pytest.mark.parametrize("kwargs, match", [
    ({"n_train": 0}, r"n_train must be a positive integer, got n_train=0"),
    ({"n_val": -5}, r"n_val must be a positive integer, got n_val=-5"),
    ({"n_test": 2.5}, r"n_test must be a positive integer, got n_test=2.5"),
    ({"n_train": True}, r"n_train must be a positive integer, got n_train=True"),
    ({"seed": -1}, r"seed must be a non-negative integer, got seed=-1"),
    ({"seed": "0"}, r"seed must be a non-negative integer, got seed='0'"),
])
def test_bad_sizes_and_seeds(loader, kwargs, match):
    name = "synergy" if loader is load_interaction else "emergence"
    with pytest.raises(ValueError, match=match):
        loader(name, **kwargs)


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match=r"load_dataset: unknown name='xor'; expected one of \['redundancy'"):
        load_dataset("xor")
    with pytest.raises(ValueError, match=r"load_interaction: unknown name='emergence'.*'synergy'"):
        load_interaction("emergence")
    with pytest.raises(ValueError, match=r"load_taxonomy: unknown name='synergy'.*'emergence'"):
        load_taxonomy("synergy")
    with pytest.raises(ValueError, match=r"bitwise_distribution: unknown name='nand'.*'xor'"):
        bitwise_distribution("nand")
    with pytest.raises(ValueError, match=r"load_digits_pair: seed must be a non-negative integer, got seed=-3"):
        load_dataset("digits", seed=-3)
