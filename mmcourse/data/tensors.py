"""From a dataset split to the tensors a model eats: one float32 tensor per modality and int64 labels."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from datasets import Dataset, DatasetDict

__all__ = ["META_COLUMNS", "as_tensors", "modality_columns"]

# Columns that describe a sample rather than being one of its modalities.
META_COLUMNS = ("label", "latent")


def modality_columns(split: Dataset) -> list[str]:
    """The names of the modality columns of a split, in column order: every column but :data:`META_COLUMNS`.

    Examples
    --------
    >>> from mmcourse.data import load_interaction
    >>> modality_columns(load_interaction("synergy", n_train=10, n_val=10, n_test=10, cache=False)["train"])
    ['x1', 'x2']
    """
    _check_split(split, "modality_columns")
    return [column for column in split.column_names if column not in META_COLUMNS]


def as_tensors(split: Dataset, modalities: Sequence[str] | None = None) -> tuple[list[torch.Tensor], torch.Tensor]:
    """The modalities of a split as float32 tensors and its labels as an int64 tensor.

    Parameters
    ----------
    split : datasets.Dataset
        One split of a dataset, for example ``load_interaction("synergy")["train"]``.
    modalities : sequence of str, optional
        The columns to return, in this order; by default :func:`modality_columns`.

    Returns
    -------
    xs : list of torch.Tensor
        One float32 tensor per modality, shape ``(n, *feature_shape)``.
    y : torch.Tensor
        int64 labels, shape ``(n,)``.

    Examples
    --------
    >>> from mmcourse.data import load_interaction
    >>> (x1, x2), y = as_tensors(load_interaction("synergy", n_train=10, n_val=10, n_test=10, cache=False)["train"])
    >>> x1.shape, x1.dtype, y.dtype
    (torch.Size([10, 12]), torch.float32, torch.int64)
    """
    _check_split(split, "as_tensors")
    if modalities is None:
        modalities = modality_columns(split)
    elif isinstance(modalities, str) or not modalities:
        raise ValueError(f"as_tensors: modalities must be a non-empty list of column names, got {modalities!r}")
    modalities = list(modalities)
    missing = [column for column in [*modalities, "label"] if column not in split.column_names]
    if missing:
        raise ValueError(f"as_tensors: the split has no column(s) {missing}; available columns: "
                         f"{split.column_names}")
    columns = split.with_format("torch", columns=[*modalities, "label"])[:]
    xs = [torch.as_tensor(columns[name], dtype=torch.float32) for name in modalities]
    return xs, torch.as_tensor(columns["label"], dtype=torch.int64)


def _check_split(split: object, where: str) -> None:
    if isinstance(split, DatasetDict):
        raise TypeError(f"{where}: expected one split (a datasets.Dataset), got a DatasetDict with splits "
                        f"{list(split)}; pick one, e.g. ds['train']")
    if not isinstance(split, Dataset):
        raise TypeError(f"{where}: expected a datasets.Dataset, got {type(split).__name__}")
