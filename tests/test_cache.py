"""Tests of the dataset cache's integrity (mmcourse.data._cache): a damaged folder is found, removed and rebuilt with
one warning; old folders without a manifest are rebuilt; parallel writers end with one good folder; an unwritable
cache folder falls back to memory with one warning. The cache's basics (keys, atomic rename, the memo) are tested in
test_data.py."""
from __future__ import annotations

import json
import multiprocessing
import os
import warnings
from pathlib import Path

import pytest
import torch
from datasets import DatasetDict

from mmcourse.data import _cache, interactions, load_interaction

SMALL = {"n_train": 6, "n_val": 3, "n_test": 4}
_GENERATE = interactions._generate  # the real generator, before count_builds wraps it


@pytest.fixture
def cache_root(tmp_path, monkeypatch):
    """A fresh, empty cache per test, with an empty in-process memo and no unwritable folder warned about yet."""
    root = tmp_path / "cache"
    monkeypatch.setenv("MMCOURSE_CACHE", str(root))
    monkeypatch.setattr(_cache, "_MEMORY", {})
    monkeypatch.setattr(_cache, "_WARNED_UNWRITABLE", set())
    return root


@pytest.fixture
def count_builds(monkeypatch):
    """How many times a dataset was generated."""
    calls = []
    real = interactions._generate

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(interactions, "_generate", counting)
    return calls


def assert_same(a: DatasetDict, b: DatasetDict) -> None:
    assert list(a) == list(b)
    for split in a:
        assert a[split].features == b[split].features
        for column in a[split].column_names:
            assert torch.equal(a[split][column][:], b[split][column][:]), (split, column)


def fresh(name: str = "synergy") -> DatasetDict:
    """The dataset built afresh, without counting as a build."""
    return _GENERATE(name, seed=0, **SMALL)


def only_folder(root: Path) -> Path:
    entries = list(root.iterdir())
    assert len(entries) == 1 and entries[0].name.startswith("synergy-"), entries  # no temporary folder left
    return entries[0]


def load_from_disk_quietly(monkeypatch) -> tuple[DatasetDict, list[warnings.WarningMessage]]:
    """Load with an empty memo, so that the folder on disk is read (and checked) again; return the warnings."""
    monkeypatch.setattr(_cache, "_MEMORY", {})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load_interaction("synergy", **SMALL)
    return ds, [w for w in caught if issubclass(w.category, _cache.CacheWarning)]


def test_a_folder_carries_a_manifest_of_every_file_and_loads_without_a_rebuild(cache_root, monkeypatch,
                                                                                count_builds):
    first = load_interaction("synergy", **SMALL)
    folder = only_folder(cache_root)
    manifest = json.loads((folder / _cache.MANIFEST).read_text())
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {_cache.MANIFEST}
    assert set(manifest["files"]) == files
    assert any(name.endswith(".arrow") for name in files)
    ds, caught = load_from_disk_quietly(monkeypatch)
    assert caught == [] and len(count_builds) == 1
    assert_same(first, ds)
    assert_same(fresh(), ds)


def _arrow_file(folder: Path) -> Path:
    return next(folder.glob("train/*.arrow"))


def _truncate(folder):
    path = _arrow_file(folder)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _empty(folder):
    _arrow_file(folder).write_bytes(b"")


def _remove(folder):
    _arrow_file(folder).unlink()


def _overwrite_the_middle(folder):
    """Flip up to 2000 bytes in the middle of the file: same size, different content (the issue's silent NaNs)."""
    path = _arrow_file(folder)
    data = bytearray(path.read_bytes())
    start, stop = len(data) // 4, min(len(data) // 4 + 2000, 3 * len(data) // 4)
    data[start:stop] = bytes(b ^ 0xFF for b in data[start:stop])
    path.write_bytes(bytes(data))


def _remove_the_split_list(folder):
    (folder / "dataset_dict.json").unlink()


def _truncate_the_manifest(folder):
    path = folder / _cache.MANIFEST
    path.write_text(path.read_text()[:40])


def _empty_the_manifest(folder):
    (folder / _cache.MANIFEST).write_text("")


def _manifest_with_a_wrong_checksum(folder):
    path = folder / _cache.MANIFEST
    manifest = json.loads(path.read_text())
    entry = next(iter(manifest["files"].values()))
    entry["sha256"] = "0" * 64
    path.write_text(json.dumps(manifest))


DAMAGE = [_truncate, _empty, _remove, _overwrite_the_middle, _remove_the_split_list, _truncate_the_manifest,
          _empty_the_manifest, _manifest_with_a_wrong_checksum]


@pytest.mark.parametrize("damage", DAMAGE, ids=[d.__name__.strip("_") for d in DAMAGE])
def test_a_damaged_folder_is_removed_and_rebuilt_with_one_warning(cache_root, monkeypatch, count_builds, damage):
    load_interaction("synergy", **SMALL)
    folder = only_folder(cache_root)
    damage(folder)
    ds, caught = load_from_disk_quietly(monkeypatch)
    assert len(caught) == 1, [str(w.message) for w in caught]
    message = str(caught[0].message)
    assert str(folder) in message and "damaged" in message
    assert len(count_builds) == 2
    assert_same(fresh(), ds)
    assert only_folder(cache_root) == folder
    _cache._verify(folder)  # the rebuilt folder is sound
    # ... and the next load from disk reads it without a warning or a rebuild.
    again, caught = load_from_disk_quietly(monkeypatch)
    assert caught == [] and len(count_builds) == 2
    assert_same(ds, again)


def test_an_old_folder_without_a_manifest_is_rebuilt_once_without_a_warning(cache_root, monkeypatch, count_builds):
    load_interaction("synergy", **SMALL)
    folder = only_folder(cache_root)
    (folder / _cache.MANIFEST).unlink()  # what an mmcourse before the manifest wrote
    ds, caught = load_from_disk_quietly(monkeypatch)
    assert caught == [] and len(count_builds) == 2
    assert (folder / _cache.MANIFEST).is_file()
    assert_same(fresh(), ds)
    load_from_disk_quietly(monkeypatch)
    assert len(count_builds) == 2


def test_files_that_datasets_adds_to_a_folder_are_not_damage(cache_root, monkeypatch, count_builds):
    """``Dataset.map`` on a loaded split writes ``cache-*.arrow`` next to it; that is no reason to rebuild."""
    load_interaction("synergy", **SMALL)
    folder = only_folder(cache_root)
    (folder / "train" / "cache-0123456789abcdef.arrow").write_bytes(b"made by datasets")
    _, caught = load_from_disk_quietly(monkeypatch)
    assert caught == [] and len(count_builds) == 1


def test_a_folder_that_datasets_cannot_read_is_rebuilt(cache_root, monkeypatch, count_builds):
    """Checksums that match but a layout datasets refuses (a folder from another datasets version, say)."""
    load_interaction("synergy", **SMALL)
    folder = only_folder(cache_root)
    (folder / "dataset_dict.json").write_text("not json")
    _cache._write_manifest(folder)
    ds, caught = load_from_disk_quietly(monkeypatch)
    assert len(caught) == 1 and "datasets cannot read it" in str(caught[0].message)
    assert_same(fresh(), ds)


def _unwritable_root(tmp_path, monkeypatch) -> Path:
    """A cache path nobody can create, even root: a folder below a plain file."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    root = blocker / "cache"
    monkeypatch.setenv("MMCOURSE_CACHE", str(root))
    return root


def test_an_unwritable_cache_falls_back_to_memory_with_one_warning(cache_root, tmp_path, monkeypatch, count_builds):
    root = _unwritable_root(tmp_path, monkeypatch)
    with pytest.warns(_cache.CacheWarning, match="MMCOURSE_CACHE") as caught:
        first = load_interaction("synergy", **SMALL)
    assert len(caught) == 1 and str(root) in str(caught[0].message)
    assert_same(fresh(), first)
    assert first["train"].format["type"] == "torch"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_same(first, load_interaction("synergy", **SMALL))  # from the memo: no second build
        other = load_interaction("redundancy", **SMALL)  # a second dataset: no second warning
    assert len(count_builds) == 2  # synergy once, redundancy once
    assert_same(fresh("redundancy"), other)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_cache_folder_falls_back_to_memory_and_still_reads_its_entries(cache_root, monkeypatch):
    load_interaction("redundancy", **SMALL)
    cache_root.chmod(0o555)
    try:
        monkeypatch.setattr(_cache, "_MEMORY", {})
        with pytest.warns(_cache.CacheWarning, match="MMCOURSE_CACHE") as caught:
            ds = load_interaction("synergy", **SMALL)
        assert len(caught) == 1 and str(cache_root) in str(caught[0].message)
        assert_same(fresh(), ds)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            load_interaction("redundancy", **SMALL)  # a sound entry is read as before
    finally:
        cache_root.chmod(0o755)


def test_a_damaged_folder_that_cannot_be_removed_is_replaced_in_memory(cache_root, monkeypatch):
    load_interaction("synergy", **SMALL)
    folder = only_folder(cache_root)
    _empty(folder)

    def refuse(folder):
        raise PermissionError(13, "Permission denied", str(folder))
    monkeypatch.setattr(_cache, "_discard", refuse)
    ds, caught = load_from_disk_quietly(monkeypatch)
    assert len(caught) == 2
    assert "damaged" in str(caught[0].message) and "MMCOURSE_CACHE" in str(caught[1].message)
    assert_same(fresh(), ds)


def _fill(barrier, queue) -> None:
    """One of two processes that fill the same cache entry at once; sends back the data it got."""
    barrier.wait(timeout=120)
    ds = load_interaction("synergy", **SMALL)
    queue.put({split: {col: ds[split][col][:].tolist() for col in ds[split].column_names} for split in ds})


def test_two_processes_filling_the_same_entry_end_with_one_good_folder(cache_root):
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_fill, args=(barrier, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        results = [queue.get(timeout=180) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    folder = only_folder(cache_root)
    _cache._verify(folder)
    expected = fresh()
    assert results[0] == results[1] == {split: {col: expected[split][col][:].tolist()
                                                for col in expected[split].column_names} for split in expected}
