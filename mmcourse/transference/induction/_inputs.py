"""Checks shared by the model-induction functions (Part 6.4): views as row matrices, labels with -1 for unlabelled."""
from __future__ import annotations

import numpy as np
import torch

from mmcourse.utils import as_numpy, check_positive

UNLABELLED = -1


def as_rows(view, name: str, where: str) -> np.ndarray:
    """``view`` (NumPy or torch, one row per example) as a float64 ``(n, d)`` array; ``(n, 8, 8)`` images and other
    arrays of more than two dimensions are flattened per row, a 1-D array is refused (is it n rows or n features?)."""
    array = as_numpy(view, name, where)
    if array.ndim < 2:
        raise ValueError(f"{where}: {name} must have one row per example (shape (n, d) or (n, ...)), "
                         f"got shape {array.shape}")
    return array.reshape(len(array), -1)


def as_ints(values, name: str, where: str) -> np.ndarray:
    """``values`` (NumPy, torch or a list) as a 1-D int64 array; an empty list (which NumPy reads as floats) is
    allowed."""
    array = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise ValueError(f"{where}: {name} must be a 1-D integer array, got {array.dtype} {array.shape}")
    return array.astype(np.int64)


def as_labels(labels, n: int, where: str) -> np.ndarray:
    """``labels`` as an int64 array of length ``n``: class ids >= 0, or -1 for an unlabelled row; at least two
    classes must be labelled (a classifier cannot be fitted on one)."""
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise ValueError(f"{where}: labels must be an integer array (class ids, -1 for unlabelled), "
                         f"got dtype {labels.dtype}")
    if labels.shape != (n,):
        raise ValueError(f"{where}: labels must have shape ({n},), one per row of the views, got {labels.shape}")
    labels = labels.astype(np.int64)
    if (labels < UNLABELLED).any():
        bad = int(labels[labels < UNLABELLED][0])
        raise ValueError(f"{where}: labels must be class ids >= 0 or -1 for unlabelled rows, got {bad}")
    labelled = labels[labels != UNLABELLED]
    if labelled.size == 0:
        raise ValueError(f"{where}: labels has no labelled row (all {n} are -1); label at least one per class")
    if np.unique(labelled).size < 2:
        raise ValueError(f"{where}: labels must hold at least two classes among its labelled rows, "
                         f"got only {np.unique(labelled).tolist()}")
    return labels


def check_classifier(model, name: str, where: str) -> None:
    for method in ("fit", "predict_proba"):
        if not callable(getattr(model, method, None)):
            raise TypeError(f"{where}: {name} must have fit(X, y) and predict_proba(X) methods (a scikit-learn "
                            f"classifier or a TorchClassifier), {type(model).__name__} has no {method}")


def check_schedule(labels: np.ndarray, rounds, per_round, where: str) -> None:
    check_positive(where, rounds=rounds, per_round=per_round)
    pool = int((labels == UNLABELLED).sum())
    if per_round > pool:
        raise ValueError(f"{where}: per_round={per_round} is larger than the unlabelled pool ({pool} rows)")


def predicted_classes(model, proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The class each row of ``predict_proba`` output names: ``model.classes_`` (scikit-learn's column order) when
    the model has it, else the sorted labelled classes."""
    names = np.asarray(getattr(model, "classes_", classes))
    if proba.ndim != 2 or proba.shape[1] != len(names):
        raise ValueError(f"predict_proba returned shape {proba.shape}; expected (rows, {len(names)}) for the "
                         f"classes {names.tolist()}")
    return names[proba.argmax(1)]
