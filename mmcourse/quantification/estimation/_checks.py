"""Argument checks shared by the PID estimators."""
from __future__ import annotations

import numpy as np

from mmcourse.utils import as_numpy


def _rows(x, name, where) -> np.ndarray:
    x = as_numpy(x, name, where)
    return x.reshape(len(x), -1)  # (n,) -> (n, 1)


def _check_clusters(clusters, n, where):
    if (not isinstance(clusters, (tuple, list)) or len(clusters) != 2
            or not all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) and 1 <= k <= n
                       for k in clusters)):
        raise ValueError(f"{where}: clusters must be two integers in [1, n={n}], got {clusters!r}")
    return int(clusters[0]), int(clusters[1])


def _check_labels(y, n, where) -> np.ndarray:
    labels = as_numpy(y, "y", where)
    if labels.ndim != 1 or (labels != np.round(labels)).any() or (labels < 0).any():
        raise ValueError(f"{where}: y must be a 1-D array of non-negative integer labels, got shape "
                         f"{labels.shape}" + ("" if labels.ndim != 1 else " with non-integer or negative values"))
    if n is not None and len(labels) != n:
        raise ValueError(f"{where}: y must have one label per row ({n}), got {len(labels)}")
    return labels.astype(np.int64)


def _check_seed(seed, where):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{where}: seed must be a non-negative integer, got {seed!r}")
