"""The dataset cache: one folder per dataset on disk, plus an in-process memo so that a second load is instant.

A dataset is identified by its name, every parameter of its generator and :data:`GENERATOR_VERSION`; the folder
is named ``<name>-<12 hex digits of a hash of those>`` under :func:`cache_dir`.

The cache never serves damaged data:

- Folders are written to a temporary name and renamed into place, so that parallel test workers that build the
  same dataset never see half a folder; when two processes fill the same entry at once, the first rename wins and
  the other process drops its copy (both hold the same data).
- The last file written into the temporary folder is a manifest (:data:`MANIFEST`) with the size and SHA-256 of
  every file. Every load from disk checks it (the in-process memo does not: its data is already in memory or
  mapped). A missing, truncated, emptied or partly overwritten file, or an unreadable manifest, gets one warning
  that names the folder; the folder is removed and the dataset generated again. A folder without any manifest (one
  written by an mmcourse older than the manifest) is rebuilt once without a warning.
- A cache folder that cannot be written (read-only, or ``MMCOURSE_CACHE`` pointing somewhere impossible) is not an
  error: the dataset is built in memory, kept in the in-process memo, and one warning per folder says so.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import datasets
from datasets import DatasetDict, load_from_disk

# Bump this whenever any generator's output changes, so that stale folders are never read again.
GENERATOR_VERSION = 1

#: The file inside each cache folder that lists the size and SHA-256 of every other file in it.
MANIFEST = "mmcourse-manifest.json"
_MANIFEST_FORMAT = 1

_MEMORY: dict[tuple[str, str], DatasetDict] = {}
_WARNED_UNWRITABLE: set[str] = set()


class CacheWarning(UserWarning):
    """A cache folder was damaged (and rebuilt) or could not be written (and the dataset was kept in memory)."""


class _Damaged(Exception):
    """A cache folder failed its check; the message says why."""


def cache_dir() -> Path:
    """The cache's root folder: ``$MMCOURSE_CACHE`` when set, else ``~/.cache/mmcourse``."""
    return Path(os.environ.get("MMCOURSE_CACHE") or Path.home() / ".cache" / "mmcourse")


def cache_key(name: str, params: dict) -> str:
    """The folder name of a dataset: its name and a short hash of its parameters and the generator version.

    Examples
    --------
    >>> cache_key("synergy", {"seed": 0}) == cache_key("synergy", {"seed": 0}) != cache_key("synergy", {"seed": 1})
    True
    """
    blob = json.dumps({"name": name, "version": GENERATOR_VERSION, **params}, sort_keys=True)
    return f"{name}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def cached(name: str, params: dict, build: Callable[[], DatasetDict], cache: bool = True) -> DatasetDict:
    """Return the dataset ``build()`` makes, from memory or disk when it was made before.

    Parameters
    ----------
    name : str
        The dataset's name.
    params : dict
        Every parameter that changes the data (JSON-serialisable); part of the cache key.
    build : callable
        Makes the dataset; called only when neither memory nor a sound folder on disk holds it.
    cache : bool
        ``False`` builds afresh and touches neither the disk nor the in-process memo.

    Returns
    -------
    DatasetDict
        A fresh ``DatasetDict`` object each call (sharing the Arrow data), so that a caller's ``set_format`` cannot
        change what the next caller gets.

    Warns
    -----
    CacheWarning
        Once when a folder on disk is damaged (it is removed and rebuilt), and once per cache folder that cannot be
        written (the dataset is then kept in memory only).
    """
    if not cache:
        return build()
    root = cache_dir()
    key = cache_key(name, params)
    memo_key = (str(root), key)
    if memo_key not in _MEMORY:
        _MEMORY[memo_key] = _load_or_build(root / key, build)
    return DatasetDict({split: ds.with_format("torch") for split, ds in _MEMORY[memo_key].items()})


def _load_or_build(folder: Path, build: Callable[[], DatasetDict]) -> DatasetDict:
    """Load ``folder`` when it passes its check; otherwise remove it, build, and write the build in its place."""
    if folder.is_dir():
        try:
            return _load_checked(folder)
        except _Damaged as why:
            if str(why):  # an empty reason: an old folder without a manifest, rebuilt without a fuss
                warnings.warn(f"mmcourse cache: {folder} is damaged ({why}); removing it and generating the "
                              "dataset again", CacheWarning, stacklevel=4)
            try:
                _discard(folder)
            except OSError as error:
                _warn_unwritable(folder.parent, error)
                return build()
    dataset = build()
    try:
        _write_atomically(dataset, folder)
    except OSError as error:
        _warn_unwritable(folder.parent, error)
        return dataset
    try:
        return _load_checked(folder)
    except _Damaged:  # changed under our feet between the write and the read: use what we built
        return dataset


def _load_checked(folder: Path) -> DatasetDict:
    """``load_from_disk(folder)`` after checking every file against the folder's manifest; ``_Damaged`` if not."""
    _verify(folder)
    try:
        with _quiet_datasets():
            return load_from_disk(str(folder))
    except Exception as error:  # the files match their checksums, but datasets cannot read them (another version?)
        raise _Damaged(f"datasets cannot read it: {type(error).__name__}: {error}") from error


def _verify(folder: Path) -> None:
    """Raise ``_Damaged`` unless every file the manifest lists is there with its size and SHA-256.

    Files the manifest does not list are allowed: ``datasets`` writes its own ``cache-*.arrow`` files next to a
    split when a caller maps over it.
    """
    path = folder / MANIFEST
    if not path.exists():
        raise _Damaged("")
    try:
        manifest = json.loads(path.read_text())
        files = manifest["files"]
        if manifest.get("format") != _MANIFEST_FORMAT or not isinstance(files, dict) or not files:
            raise ValueError("unknown layout")
        entries = [(rel, int(entry["size"]), str(entry["sha256"])) for rel, entry in files.items()]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise _Damaged(f"its manifest {MANIFEST} is unreadable: {error}") from error
    for rel, size, digest in entries:
        file = folder / rel
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise _Damaged(f"its manifest lists a path outside the folder: {rel!r}")
        try:
            actual = file.stat().st_size
            if actual != size:
                raise _Damaged(f"{rel} has {actual} bytes, the manifest says {size}")
            if _sha256(file) != digest:
                raise _Damaged(f"{rel} does not match its SHA-256 checksum")
        except FileNotFoundError as error:
            raise _Damaged(f"{rel} is missing") from error
        except OSError as error:
            raise _Damaged(f"{rel} cannot be read: {error}") from error


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:  # hashlib.file_digest needs Python 3.11; the package supports 3.10
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_manifest(folder: Path) -> None:
    """List every file under ``folder`` with its size and SHA-256 in ``folder / MANIFEST`` (written last)."""
    files = {}
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and p != folder / MANIFEST):
        rel = file.relative_to(folder).as_posix()
        files[rel] = {"size": file.stat().st_size, "sha256": _sha256(file)}
    manifest = {"format": _MANIFEST_FORMAT, "generator_version": GENERATOR_VERSION, "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))


def _write_atomically(dataset: DatasetDict, folder: Path) -> None:
    """Save ``dataset`` and its manifest to a temporary folder next to ``folder``, then rename it into place.

    When another process renamed its copy into place first, this copy is dropped; an ``OSError`` means the cache
    folder cannot be written.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private (0o700); a cache folder is as readable as any other
        with _quiet_datasets():
            dataset.save_to_disk(str(tmp))
        _write_manifest(tmp)
        try:
            os.rename(tmp, folder)
        except OSError:
            # Another process renamed its copy into place first; both copies hold the same data.
            if not folder.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _discard(folder: Path) -> None:
    """Remove a damaged folder: rename it out of the way first (atomic), so no other process sees it half-deleted."""
    trash = Path(tempfile.mkdtemp(prefix=f".{folder.name}.damaged.", dir=folder.parent))
    try:
        os.rename(folder, trash / "entry")
    except FileNotFoundError:
        pass  # another process removed it first
    finally:
        shutil.rmtree(trash, ignore_errors=True)


def _warn_unwritable(root: Path, error: OSError) -> None:
    if str(root) in _WARNED_UNWRITABLE:
        return
    _WARNED_UNWRITABLE.add(str(root))
    warnings.warn(f"mmcourse cache: cannot write to {root} ({type(error).__name__}: {error}); keeping generated "
                  "datasets in memory for this session. Set MMCOURSE_CACHE to a writable folder to cache them on "
                  "disk.", CacheWarning, stacklevel=5)


@contextmanager
def _quiet_datasets() -> Iterator[None]:
    """Silence ``datasets``' own progress bars: saving a toy dataset takes milliseconds, a bar would be noise."""
    if datasets.are_progress_bars_disabled():
        yield
        return
    with warnings.catch_warnings():
        # HF_DATASETS_DISABLE_PROGRESS_BARS=0 forces bars on; honour it without a warning.
        warnings.simplefilter("ignore")
        datasets.disable_progress_bars()
    try:
        yield
    finally:
        datasets.enable_progress_bars()
