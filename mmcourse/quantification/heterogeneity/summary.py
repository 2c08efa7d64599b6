"""Every heterogeneity measure of a dataset at once, and the heterogeneity matrix (Part 7.1)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mmcourse.quantification.heterogeneity.information import modality_information, train_unimodal
from mmcourse.quantification.heterogeneity.noise import NoiseSensitivity, noise_sensitivity
from mmcourse.quantification.heterogeneity.transfer import transfer_distance
from mmcourse.representation.heterogeneous import transfer_heterogeneity
from mmcourse.representation.robustness import DEFAULT_LEVELS

__all__ = ["Heterogeneity", "measure_heterogeneity"]


@dataclass(frozen=True)
class Heterogeneity:
    """Everything :func:`measure_heterogeneity` measured on one dataset.

    Attributes
    ----------
    names : tuple of str
    entropy : float
        :math:`\\hat H(Y)` of the test labels, the most any modality can carry.
    accuracy, bits : ndarray ``(M,)``
        Unimodal baselines (:func:`modality_information`).
    noise : NoiseSensitivity
        The unimodal models' curves (:func:`noise_sensitivity`).
    distance, transfer : ndarray ``(M, M)``
    scratch : ndarray ``(M,)`` or None
        ``None`` with ``transfer="probe"``.
    """

    names: tuple[str, ...]
    entropy: float
    accuracy: np.ndarray
    bits: np.ndarray
    noise: NoiseSensitivity
    distance: np.ndarray
    transfer: np.ndarray
    scratch: np.ndarray | None

    def table(self):
        """One row per modality: accuracy, bits, relative robustness, accuracy lost at the noisiest level."""
        import pandas as pd
        return pd.DataFrame({"accuracy": self.accuracy, "information (bits)": self.bits,
                             "relative robustness": self.noise.robustness, "noise drop": self.noise.drop},
                            index=pd.Index(self.names, name="modality"))

    def matrix(self):
        """The heterogeneity matrix :math:`d` as a DataFrame labelled by modality."""
        import pandas as pd
        return pd.DataFrame(self.distance, index=list(self.names), columns=list(self.names))


def measure_heterogeneity(dataset, *, modalities: Sequence[str] | None = None, kinds: str | Sequence[str] = "gaussian",
                          levels: Sequence[float] = DEFAULT_LEVELS, transfer: str = "relearn", stem: int = 16,
                          width: int = 16, hidden: Sequence[int] = (32,), epochs: int = 30, lr: float = 1e-2,
                          shots: int = 5, repeats: int = 3, steps: int = 100, seed: int = 0) -> Heterogeneity:
    """Information, noise sensitivity and transfer distance of every modality of a dataset of the book.

    Trains one unimodal classifier per modality on ``train`` (:func:`train_unimodal`) and reuses it for all three:
    :func:`modality_information` (calibrated on ``validation``, scored on ``test``), :func:`noise_sensitivity` on
    ``test`` and :func:`transfer_distance` (``transfer="relearn"``). ``transfer="probe"`` calls
    :func:`~mmcourse.representation.transfer_heterogeneity` instead (same-size vector modalities only; it trains
    its own encoders and scores on ``validation``).

    Parameters
    ----------
    dataset : datasets.DatasetDict
        With splits ``train``, ``validation``, ``test``.
    modalities : sequence of str, optional
        Modality columns, by default all (:func:`mmcourse.data.modality_columns`).
    kinds, levels
        Passed to :func:`noise_sensitivity`.
    transfer : {"relearn", "probe"}
    stem, width, hidden, epochs, lr, shots, repeats, steps, seed
        Passed to :func:`train_unimodal` and :func:`transfer_distance`.

    Returns
    -------
    Heterogeneity

    Examples
    --------
    >>> from mmcourse.data import load_dataset
    >>> ds = load_dataset("uniqueness1", n_train=100, n_val=50, n_test=50, cache=False)
    >>> h = measure_heterogeneity(ds, epochs=2, steps=2, repeats=1, levels=[0.0, 1.0])
    >>> h.names, h.distance.shape, list(h.table().columns)[:2]
    (('x1', 'x2'), (2, 2), ['accuracy', 'information (bits)'])
    """
    from datasets import DatasetDict

    from mmcourse.data import as_tensors, modality_columns
    where = "measure_heterogeneity"
    if not isinstance(dataset, DatasetDict) or not {"train", "validation", "test"} <= set(dataset):
        raise ValueError(f"{where}: dataset must be a DatasetDict with splits train, validation and test, got "
                         f"{type(dataset).__name__}{list(dataset) if isinstance(dataset, dict) else ''}")
    if transfer not in ("relearn", "probe"):
        raise ValueError(f"{where}: transfer must be 'relearn' or 'probe', got {transfer!r}")
    names = tuple(modalities) if modalities is not None else tuple(modality_columns(dataset["train"]))
    if len(names) < 2:
        raise ValueError(f"{where}: expected at least two modalities, got {list(names)}")
    train, val, test = (as_tensors(dataset[s], names) for s in ("train", "validation", "test"))
    models = train_unimodal(train, stem=stem, width=width, hidden=hidden, epochs=epochs, lr=lr, seed=seed)
    info = modality_information(models, val, test)
    noise = noise_sensitivity(models, test, kinds=kinds, levels=levels, seed=seed)
    if transfer == "relearn":
        distance, matrix, scratch = transfer_distance(train, test, models=models, shots=shots, repeats=repeats,
                                                      steps=steps, lr=lr, seed=seed)
    else:
        distance, matrix = transfer_heterogeneity(train, val, width=width, hidden=hidden, epochs=epochs, lr=lr,
                                                  seed=seed)
        scratch = None
    return Heterogeneity(names, info["entropy"], info["accuracy"], info["bits"], noise, distance, matrix, scratch)
