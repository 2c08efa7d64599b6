"""Pieces every generator shares: argument checks, the split layout and the step from NumPy arrays to a DatasetDict."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from datasets import Dataset, DatasetDict, Features, List, Value

SPLITS = ("train", "validation", "test")


def check_name(name: object, known: Sequence[str], where: str) -> str:
    """Return ``name`` if it is one of ``known``, else raise a ``ValueError`` that lists the known names."""
    if not isinstance(name, str) or name not in known:
        raise ValueError(f"{where}: unknown name={name!r}; expected one of {list(known)}")
    return name


def check_seed(seed: object, where: str) -> int:
    """Return ``seed`` as an ``int`` if it is a non-negative integer, else raise a ``ValueError``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{where}: seed must be a non-negative integer, got seed={seed!r}")
    return int(seed)


def check_sizes(where: str, **sizes: object) -> dict[str, int]:
    """Return the split sizes as ``int`` if each is a positive integer, else raise a ``ValueError`` naming it."""
    for arg, n in sizes.items():
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
            raise ValueError(f"{where}: {arg} must be a positive integer, got {arg}={n!r}")
    return {arg: int(n) for arg, n in sizes.items()}


def float_vector(length: int) -> List:
    """The feature type of a fixed-length float32 vector column."""
    return List(Value("float32"), length=length)


def split_rngs(rng: np.random.Generator) -> dict[str, np.random.Generator]:
    """One independent generator per split, spawned from ``rng``.

    Drawing each split from its own stream means that changing ``n_train`` leaves the test set unchanged.
    """
    return dict(zip(SPLITS, rng.spawn(len(SPLITS))))


def to_dataset_dict(columns: dict[str, dict[str, np.ndarray]], features: Features) -> DatasetDict:
    """Turn ``{split: {column: array}}`` into a typed ``DatasetDict`` in torch format."""
    return DatasetDict({split: Dataset.from_dict(cols, features=features, split=split).with_format("torch")
                        for split, cols in columns.items()})
