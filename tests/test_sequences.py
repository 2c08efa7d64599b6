"""Tests of mmcourse.data.sequences: warped pairs that DTW recovers, labelled pairs, and the tiny speech for CTC."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from datasets import Array2D, ClassLabel, DatasetDict, Features, List, Value

import mmcourse.data as data
from mmcourse.alignment import ctc_collapse, dtw, squared_distances
from mmcourse.data import SEQUENCE_KINDS, load_dataset, load_sequences, load_speech, make_warped_pair
from mmcourse.data import _cache, sequences
from mmcourse.data.sequences import speech_prototypes

SPLITS = ("train", "validation", "test")
SMALL = {"n_train": 12, "n_val": 4, "n_test": 6}


@pytest.fixture(autouse=True, scope="module")
def _private_cache(tmp_path_factory):
    """Keep every test's cache out of the user's ~/.cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MMCOURSE_CACHE", str(tmp_path_factory.mktemp("mmcourse-cache")))
        yield


def assert_valid_path(path, n: int, m: int) -> None:
    assert path[0] == (0, 0) and path[-1] == (n - 1, m - 1)
    steps = {(i2 - i1, j2 - j1) for (i1, j1), (i2, j2) in zip(path, path[1:])}
    assert steps <= {(1, 0), (0, 1), (1, 1)}


def path_cost(x, y, path) -> float:
    delta = squared_distances(x, y)
    return float(sum(delta[i, j] for i, j in path))


def distance_to_warp(path, warp) -> float:
    """Mean over the cells (i, j) of ``path`` of the distance from i to the nearest i* with (i*, j) on ``warp``."""
    warp = np.asarray(warp)
    return float(np.mean([np.abs(warp[warp[:, 1] == j, 0] - i).min() for i, j in path]))


def same(a: DatasetDict, b: DatasetDict) -> bool:
    return all(a[split].features == b[split].features and all(
        all(torch.equal(u, v) for u, v in zip(a[split][column][:], b[split][column][:]))
        for column in a[split].column_names) for split in SPLITS)


# --- make_warped_pair -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", SEQUENCE_KINDS)
@pytest.mark.parametrize("n, m, d", [(60, 90, 2), (90, 60, 1), (7, 3, 3), (2, 2, 1)])
def test_pair_shapes_types_and_path(kind, n, m, d):
    pair = make_warped_pair(kind, n=n, m=m, d=d, seed=1)
    assert set(pair) == {"x", "y", "warp"}
    assert pair["x"].shape == (n, d) and pair["y"].shape == (m, d)
    assert pair["x"].dtype == pair["y"].dtype == np.float32
    assert all(type(i) is int and type(j) is int for i, j in pair["warp"])
    assert_valid_path(pair["warp"], n, m)


@pytest.mark.parametrize("kind", SEQUENCE_KINDS)
@pytest.mark.parametrize("seed", range(6))
def test_noise_free_dtw_recovers_the_warp(kind, seed):
    pair = make_warped_pair(kind, noise=0.0, seed=seed)
    x, y, warp = pair["x"], pair["y"], pair["warp"]
    assert path_cost(x, y, warp) == 0.0  # x[i] == y[j] exactly on every cell of the generating path
    cost, path = dtw(x, y)
    assert cost == pytest.approx(0.0, abs=1e-12)
    if kind == "sinusoid":
        assert path == warp  # no repeated values, so the zero-cost path is unique
    else:
        assert path_cost(x, y, path) == 0.0  # flat stretches: other paths cost 0 too


def test_noise_free_dtw_recovers_the_warp_for_other_shapes():
    for n, m, d in [(90, 60, 1), (40, 40, 3), (30, 100, 2)]:
        pair = make_warped_pair("sinusoid", n=n, m=m, d=d, noise=0.0, seed=7)
        cost, path = dtw(pair["x"], pair["y"])
        assert cost == pytest.approx(0.0, abs=1e-12) and path == pair["warp"]


@pytest.mark.parametrize("seed", range(4))
def test_noisy_dtw_stays_close_to_the_warp(seed):
    pair = make_warped_pair("sinusoid", noise=0.05, seed=seed)
    _, path = dtw(pair["x"], pair["y"])
    assert distance_to_warp(path, pair["warp"]) <= 1.0
    # The events' flat stretches leave DTW free to wander inside them; the jumps still pin the path down.
    pair = make_warped_pair("events", noise=0.05, seed=seed)
    _, path = dtw(pair["x"], pair["y"])
    assert distance_to_warp(path, pair["warp"]) <= 4.0


def test_the_warp_speed_varies_between_about_half_and_double():
    speeds = []
    for seed in range(10):
        warp = np.array(make_warped_pair(noise=0.0, seed=seed, n=200, m=200)["warp"])
        # j as a function of i: y's index per x index, over windows of 20 steps of x
        first_j = np.array([warp[warp[:, 0] == i, 1].min() for i in range(200)])
        speeds.append(np.diff(first_j[::20]) / 20)
    speeds = np.concatenate(speeds)
    assert 0.35 <= speeds.min() <= 0.8 and 1.3 <= speeds.max() <= 2.6


def test_pair_is_deterministic_and_seeded():
    a, b, c = (make_warped_pair("events", seed=s) for s in (3, 3, 4))
    assert np.array_equal(a["x"], b["x"]) and np.array_equal(a["y"], b["y"]) and a["warp"] == b["warp"]
    assert not np.array_equal(a["x"], c["x"])


def test_noise_is_gaussian_of_the_given_size():
    clean, noisy = (make_warped_pair(n=400, m=500, d=3, noise=s, seed=2) for s in (0.0, 0.5))
    residual = np.concatenate([(noisy["x"] - clean["x"]).ravel(), (noisy["y"] - clean["y"]).ravel()])
    assert clean["warp"] == noisy["warp"]
    assert residual.std() == pytest.approx(0.5, rel=0.05) and abs(residual.mean()) < 0.03


@pytest.mark.parametrize("kwargs, match", [
    ({"kind": "chirp"}, r"unknown kind='chirp'; expected one of \['sinusoid', 'events'\]"),
    ({"n": 1}, r"n must be an integer >= 2, got n=1"),
    ({"m": 0}, r"m must be an integer >= 2, got m=0"),
    ({"n": 5.0}, r"n must be an integer >= 2, got n=5.0"),
    ({"d": 0}, r"d must be an integer >= 1, got d=0"),
    ({"noise": -0.1}, r"noise must be a finite number >= 0, got noise=-0.1"),
    ({"noise": float("nan")}, r"noise must be a finite number >= 0"),
    ({"seed": -1}, r"seed must be a non-negative integer, got seed=-1"),
])
def test_pair_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_warped_pair(**kwargs)


# --- load_sequences -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", SEQUENCE_KINDS)
def test_sequences_features_and_splits(kind):
    ds = load_sequences(kind, cache=False, **SMALL)
    assert isinstance(ds, DatasetDict) and tuple(ds) == SPLITS
    assert [ds[split].num_rows for split in SPLITS] == [12, 4, 6]
    assert ds["train"].features == Features({
        "x": Array2D((60, 2), "float32"), "y": Array2D((90, 2), "float32"),
        "warp": List(List(Value("int32"), length=2)), "label": ClassLabel(names=["apart", "together"])})
    batch = ds["train"][:]
    assert ds["train"].format["type"] == "torch"
    assert batch["x"].shape == (12, 60, 2) and batch["y"].shape == (12, 90, 2) and batch["x"].dtype == torch.float32
    assert batch["label"].dtype == torch.int64 and set(batch["label"].tolist()) <= {0, 1}
    for warp in batch["warp"]:
        assert warp.dtype == torch.int64 and warp.shape[1] == 2  # stored as int32, read as int64 by the torch format
        assert_valid_path([tuple(cell) for cell in warp.tolist()], 60, 90)


def test_sequences_noise_free_together_pairs_are_exact_warps_and_apart_pairs_are_not():
    split = load_sequences("sinusoid", n_train=16, n_val=1, n_test=1, n=30, m=40, noise=0.0, cache=False)["train"]
    labels = split["label"][:].tolist()
    assert 0 < sum(labels) < len(labels)
    for row, label in zip(split, labels):
        warp = [tuple(cell) for cell in row["warp"].tolist()]
        cost, path = dtw(row["x"].numpy(), row["y"].numpy())
        if label == 1:  # one event, seen in both at the same underlying time: still one signal, exactly warped
            assert cost == pytest.approx(0.0, abs=1e-12) and path == warp
        else:  # the events sit at different times: the two recordings differ around them
            assert cost > 1.0


def test_sequences_labels_are_balanced_and_each_sequence_has_one_bump():
    split = load_sequences("events", n_train=200, n_val=1, n_test=1, noise=0.0, seed=1, cache=False)["train"]
    assert 0.4 <= split["label"][:].float().mean() <= 0.6
    # The bump is the only place where the events' signal is not flat: its peak is about the bump's height over
    # the level around it.
    x = split["x"][:].numpy()
    assert np.all(np.abs(np.diff(x, axis=1)).max(axis=(1, 2)) > 0.3)


def test_where_the_bump_sits_in_one_sequence_alone_says_nothing_about_the_label(monkeypatch):
    from scipy.stats import ks_2samp

    # With a zero signal and no noise, each sequence is its bump alone: its peak is where the event is.
    monkeypatch.setattr(sequences, "_signal", lambda rng, kind, d: lambda tau: np.zeros((len(tau), d)))
    split = load_sequences(n_train=400, n_val=1, n_test=1, n=30, m=30, d=1, noise=0.0, cache=False)["train"][:]
    label = split["label"].numpy().astype(bool)
    for column in ("x", "y"):
        peak = split[column][:, :, 0].argmax(1).numpy()
        assert ks_2samp(peak[label], peak[~label]).pvalue > 0.01, column
    # Together, they do: the peaks of a "together" pair are close, those of an "apart" pair are not.
    gap = np.abs(split["x"][:, :, 0].argmax(1).numpy() - split["y"][:, :, 0].argmax(1).numpy())
    assert np.median(gap[label]) < np.median(gap[~label])


def test_sequences_determinism_cache_and_test_split_stability(tmp_path, monkeypatch):
    monkeypatch.setenv("MMCOURSE_CACHE", str(tmp_path))
    first = load_sequences("events", seed=5, **SMALL)
    assert [p.name.startswith("sequences-events-") for p in tmp_path.iterdir()] == [True]
    monkeypatch.setattr(sequences, "_generate_sequences", lambda *a, **k: pytest.fail("generated twice"))
    monkeypatch.setattr(_cache, "_MEMORY", {})
    assert same(first, load_sequences("events", seed=5, **SMALL))
    monkeypatch.undo()
    assert same(first, load_sequences("events", seed=5, cache=False, **SMALL))
    other = load_sequences("events", seed=6, cache=False, **SMALL)
    assert not torch.equal(first["train"]["x"][:], other["train"]["x"][:])
    bigger = load_sequences("events", seed=5, cache=False, **{**SMALL, "n_train": 20})
    assert torch.equal(first["test"]["x"][:], bigger["test"]["x"][:])


@pytest.mark.parametrize("kwargs, match", [
    ({"kind": "chirp"}, r"load_sequences: unknown kind='chirp'; expected one of \['sinusoid', 'events'\]"),
    ({"n_train": 0}, r"n_train must be a positive integer, got n_train=0"),
    ({"m": 1}, r"m must be an integer >= 2, got m=1"),
    ({"d": -1}, r"d must be an integer >= 1, got d=-1"),
    ({"noise": -1}, r"noise must be a finite number >= 0, got noise=-1"),
    ({"seed": "0"}, r"seed must be a non-negative integer, got seed='0'"),
])
def test_sequences_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_sequences(**kwargs)


# --- load_speech ----------------------------------------------------------------------------------------------------

def test_speech_features_and_shapes():
    ds = load_speech(cache=False, **SMALL)
    assert tuple(ds) == SPLITS and [ds[split].num_rows for split in SPLITS] == [12, 4, 6]
    assert ds["test"].features == Features({"frames": Array2D((30, 8), "float32"), "target": List(Value("int32")),
                                            "alignment": List(Value("int32"), length=30)})
    batch = ds["test"][:]
    assert batch["frames"].shape == (6, 30, 8) and batch["frames"].dtype == torch.float32
    assert batch["alignment"].shape == (6, 30) and batch["alignment"].dtype == torch.int64
    assert all(t.dtype == torch.int64 and 1 <= len(t) <= 4 for t in batch["target"])


@pytest.mark.parametrize("kwargs", [{}, {"frames": 13, "vocab": 2, "max_symbols": 4, "features": 3},
                                    {"frames": 50, "vocab": 1, "max_symbols": 6}])
def test_speech_alignment_collapses_to_the_target(kwargs):
    ds = load_speech(cache=False, n_train=200, n_val=1, n_test=1, seed=2, **kwargs)["train"]
    frames, vocab, max_symbols = kwargs.get("frames", 30), kwargs.get("vocab", 4), kwargs.get("max_symbols", 4)
    lengths = set()
    for target, alignment in zip(ds["target"][:], ds["alignment"][:]):
        target, alignment = target.tolist(), alignment.tolist()
        assert ctc_collapse(alignment) == target
        assert all(1 <= v <= vocab for v in target) and len(alignment) == frames
        repeats = sum(a == b for a, b in zip(target, target[1:]))
        assert len(target) + repeats <= frames  # CTC can represent it in this many frames
        assert alignment[0] == alignment[-1] == 0  # silence at both ends
        runs = [(v, len(list(g))) for v, g in itertools.groupby(alignment)]
        assert all(length >= 2 for v, length in runs if v != 0)  # every symbol lasts at least two frames
        lengths.add(len(target))
    assert lengths == set(range(1, max_symbols + 1))


def test_speech_nearest_prototype_recovers_the_alignment_without_noise():
    ds = load_speech(cache=False, noise=0.0, seed=3, **SMALL)
    prototypes = torch.as_tensor(speech_prototypes(8, 4, seed=3), dtype=torch.float32)
    for split in SPLITS:
        batch = ds[split][:]
        nearest = torch.cdist(batch["frames"], prototypes.expand(len(batch["frames"]), -1, -1)).argmin(-1)
        assert torch.equal(nearest, batch["alignment"].long())
    # With the default noise (0.3) nearly every frame is still right; with noise 1.0 many are not.
    accuracy = {}
    for noise in (0.3, 1.0):
        batch = load_speech(cache=False, seed=3, noise=noise, n_train=100, n_val=1, n_test=1)["train"][:]
        nearest = torch.cdist(batch["frames"], prototypes.expand(len(batch["frames"]), -1, -1)).argmin(-1)
        accuracy[noise] = (nearest == batch["alignment"].long()).float().mean().item()
    assert accuracy[0.3] >= 0.97 and 0.6 <= accuracy[1.0] <= 0.97


def test_speech_determinism_and_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MMCOURSE_CACHE", str(tmp_path))
    first = load_speech(seed=4, **SMALL)
    assert [p.name.startswith("speech-") for p in tmp_path.iterdir()] == [True]
    monkeypatch.setattr(_cache, "_MEMORY", {})
    assert same(first, load_speech(seed=4, **SMALL))
    assert same(first, load_speech(seed=4, cache=False, **SMALL))
    assert not torch.equal(first["train"]["frames"][:], load_speech(seed=5, cache=False, **SMALL)["train"]["frames"][:])
    bigger = load_speech(seed=4, cache=False, **{**SMALL, "n_train": 30})
    assert torch.equal(first["test"]["frames"][:], bigger["test"]["frames"][:])


@pytest.mark.parametrize("kwargs, match", [
    ({"frames": 12}, r"frames must be an integer >= 3 \* max_symbols \+ 1 = 13 .*got frames=12"),
    ({"max_symbols": 0}, r"max_symbols must be an integer >= 1, got max_symbols=0"),
    ({"vocab": 0}, r"vocab must be an integer >= 1, got vocab=0"),
    ({"features": 2.0}, r"features must be an integer >= 1, got features=2.0"),
    ({"noise": -0.3}, r"noise must be a finite number >= 0, got noise=-0.3"),
    ({"n_test": -1}, r"n_test must be a positive integer, got n_test=-1"),
])
def test_speech_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_speech(**kwargs)


# --- the catalogue --------------------------------------------------------------------------------------------------

def test_exports_and_dispatch():
    assert SEQUENCE_KINDS == ("sinusoid", "events")
    assert {"SEQUENCE_KINDS", "make_warped_pair", "load_sequences", "load_speech"} <= set(data.__all__)
    assert {"sequences", "speech"} <= set(data.DATASETS)
    assert same(load_dataset("sequences", kind="events", cache=False, **SMALL),
                load_sequences("events", cache=False, **SMALL))
    assert same(load_dataset("speech", cache=False, **SMALL), load_speech(cache=False, **SMALL))
