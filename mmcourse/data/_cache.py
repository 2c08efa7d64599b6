"""The dataset cache: one folder per dataset on disk, plus an in-process memo so that a second load is instant.

A dataset is identified by its name, every parameter of its generator and :data:`GENERATOR_VERSION`; the folder
is named ``<name>-<12 hex digits of a hash of those>`` under :func:`cache_dir`. Folders are written to a temporary
name and renamed into place, so that parallel test workers that build the same dataset never see half a folder.
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

_MEMORY: dict[tuple[str, str], DatasetDict] = {}


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
        Makes the dataset; called only when neither memory nor disk holds it.
    cache : bool
        ``False`` builds afresh and touches neither the disk nor the in-process memo.

    Returns
    -------
    DatasetDict
        A fresh ``DatasetDict`` object each call (sharing the Arrow data), so that a caller's ``set_format`` cannot
        change what the next caller gets.
    """
    if not cache:
        return build()
    root = cache_dir()
    key = cache_key(name, params)
    folder = root / key
    memo_key = (str(root), key)
    if memo_key not in _MEMORY:
        if not folder.is_dir():
            _write_atomically(build(), folder)
        _MEMORY[memo_key] = load_from_disk(str(folder))
    return DatasetDict({split: ds.with_format("torch") for split, ds in _MEMORY[memo_key].items()})


def _write_atomically(dataset: DatasetDict, folder: Path) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp makes it private (0o700); a cache folder is as readable as any other
        with _quiet_datasets():
            dataset.save_to_disk(str(tmp))
        try:
            os.rename(tmp, folder)
        except OSError:
            # Another process renamed its copy into place first; both copies hold the same data.
            if not folder.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
