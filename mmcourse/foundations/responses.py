r"""Part 1: how much each modality tells about the label, alone and together.

Two questions come back in every chapter of Part 1, and again in Part 7 (quantification):

- *How much does each modality tell about the label, alone and together?* :func:`unimodal_vs_multimodal` trains
  one model on each modality alone and one multimodal model, with the same encoders and the same budget, and
  returns their test accuracies. The pattern of the three numbers is the response type of the interaction
  taxonomy (equivalence, enhancement, independence, dominance, modulation, emergence).
- *How much information does a discrete variable carry about another?* :func:`mutual_information` computes
  :math:`I(A; B)` exactly from a joint table, and :func:`label_informations` the three informations
  :math:`I(X_1; Y)`, :math:`I(X_2; Y)` and :math:`I(X_1, X_2; Y)` of a bitwise distribution ``p[x1, x2, y]``.

Book section: Part 1, Foundations (chapters *Modalities and heterogeneity*, *The toy worlds of this book*,
*Connections and interactions*, *Unimodal encoders and baselines*).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from datasets import ClassLabel, DatasetDict
from torch import Tensor

from mmcourse.data.tensors import as_tensors, modality_columns
from mmcourse.encoders import MLPEncoder, UnimodalClassifier
from mmcourse.representation import FUSIONS, FusionModel
from mmcourse.training import evaluate, fit
from mmcourse.utils import set_seed

__all__ = ["unimodal_vs_multimodal", "mutual_information", "label_informations", "MULTIMODAL"]

MULTIMODAL = "multimodal"
"""The key of the multimodal model's accuracy in the dictionary :func:`unimodal_vs_multimodal` returns."""


def _positive_int(where: str, name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive integer, got {name}={value!r}")
    return int(value)


def unimodal_vs_multimodal(dataset: DatasetDict, *, fusion: str = "nonlinear", width: int = 16, epochs: int = 20,
                           lr: float = 1e-2, batch_size: int = 128, seed: int = 0,
                           modalities: Sequence[str] | None = None, split: str = "test") -> dict[str, float]:
    r"""Test accuracy of a model on each modality alone and of a multimodal model on all of them.

    Every model has the same encoder per modality, an MLP of width ``width`` on the flattened input,
    :math:`h_m = \mathrm{ReLU}(W_m \operatorname{vec}(x_m) + b_m)`, and a linear head. A unimodal model is
    ``logits = V h_m + c`` (:class:`mmcourse.encoders.UnimodalClassifier`); the multimodal model is
    ``logits = V f(h_1, …, h_M) + c`` with the fusion ``f`` named by ``fusion``
    (:class:`mmcourse.representation.FusionModel` with ``encoder="mlp"``). All are trained by
    :func:`mmcourse.training.fit` on the ``train`` split with the same settings, each from ``set_seed(seed)``,
    and evaluated on ``split``. So the only difference between the numbers is what the model sees.

    Parameters
    ----------
    dataset : datasets.DatasetDict
        A dataset of the book, with a ``train`` split, the ``split`` to evaluate on, at least two modality columns
        (every column but ``label`` and ``latent``) and a ``ClassLabel`` column ``label``.
    fusion : str
        A name from :data:`mmcourse.representation.FUSIONS` for the multimodal model.
    width : int
        Feature size of every encoder (and of the fused vector).
    epochs, lr, batch_size
        Training settings passed to :func:`mmcourse.training.fit`.
    seed : int
        Seeds each model's initialisation and its data order (:func:`mmcourse.set_seed`).
    modalities : sequence of str, optional
        The modality columns to use, in order; by default all of them.
    split : str
        The split to measure accuracy on.

    Returns
    -------
    dict of str to float
        One entry per modality column (its name: the accuracy of the model that sees it alone) and the entry
        ``"multimodal"`` (:data:`MULTIMODAL`), in that order.

    Raises
    ------
    TypeError
        If ``dataset`` is not a ``DatasetDict``.
    ValueError
        For a missing split or column, fewer than two modalities, an unknown fusion (the message lists the known
        ones) or a bad training setting.

    Examples
    --------
    >>> from mmcourse.data import load_taxonomy
    >>> ds = load_taxonomy("dominance", n_train=200, n_val=10, n_test=200, cache=False)
    >>> scores = unimodal_vs_multimodal(ds, epochs=5)
    >>> list(scores)
    ['x1', 'x2', 'multimodal']
    """
    where = "unimodal_vs_multimodal"
    if not isinstance(dataset, DatasetDict):
        raise TypeError(f"{where}: dataset must be a datasets.DatasetDict with a 'train' split, got "
                        f"{type(dataset).__name__}")
    for needed in ("train", split):
        if needed not in dataset:
            raise ValueError(f"{where}: the dataset has no split {needed!r}; its splits: {list(dataset)}")
    if fusion not in FUSIONS:
        raise ValueError(f"{where}: unknown fusion={fusion!r}; known fusions: {', '.join(FUSIONS)}")
    width = _positive_int(where, "width", width)
    epochs = _positive_int(where, "epochs", epochs)
    batch_size = _positive_int(where, "batch_size", batch_size)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"{where}: lr must be a positive number, got lr={lr!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{where}: seed must be a non-negative integer, got seed={seed!r}")

    train, test = dataset["train"], dataset[split]
    label = train.features.get("label")
    if not isinstance(label, ClassLabel):
        raise ValueError(f"{where}: expected a ClassLabel column 'label', got columns {train.column_names}")
    available = modality_columns(train)
    if modalities is None:
        modalities = available
    elif isinstance(modalities, str):
        raise ValueError(f"{where}: modalities must be a list of column names, got the string {modalities!r}")
    modalities = list(modalities)
    unknown = [m for m in modalities if m not in available]
    if unknown:
        raise ValueError(f"{where}: unknown modality column(s) {unknown}; the dataset's modalities: {available}")
    if len(modalities) < 2 or len(set(modalities)) != len(modalities):
        raise ValueError(f"{where}: expected at least two distinct modalities, got {modalities}")

    xs, y = as_tensors(train, modalities)
    test_xs, test_y = as_tensors(test, modalities)
    num_classes = label.num_classes
    settings = dict(epochs=epochs, lr=float(lr), batch_size=batch_size)

    scores: dict[str, float] = {}
    for name, x, test_x in zip(modalities, xs, test_xs):
        x, test_x = x.flatten(1), test_x.flatten(1)
        set_seed(seed)
        model = UnimodalClassifier(MLPEncoder(x.shape[1], width), num_classes)
        fit(model, ([x], y), **settings)
        scores[name] = evaluate(model, ([test_x], test_y))["accuracy"]
    set_seed(seed)
    model = FusionModel([x[0] for x in xs], num_classes, fusion, width=width, encoder="mlp")
    fit(model, (xs, y), **settings)
    scores[MULTIMODAL] = evaluate(model, (test_xs, test_y))["accuracy"]
    return scores


def _check_joint(p: object, where: str, ndim: int | None = None) -> np.ndarray:
    """Return ``p`` as a float64 array if it is a joint distribution, else raise a ``ValueError`` that says why."""
    if isinstance(p, Tensor):
        p = p.detach().cpu().numpy()
    try:
        p = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: p must be an array of probabilities ({err})") from None
    if ndim is not None and p.ndim != ndim:
        raise ValueError(f"{where}: p must be a {ndim}-D array, got shape {p.shape}")
    if p.size == 0:
        raise ValueError(f"{where}: p is empty (shape {p.shape})")
    if not np.isfinite(p).all():
        raise ValueError(f"{where}: p contains NaN or infinite values")
    if (p < 0).any():
        raise ValueError(f"{where}: p must be non-negative, got a minimum of {p.min():.3g}")
    if not np.isclose(p.sum(), 1.0, atol=1e-9):
        raise ValueError(f"{where}: p must sum to 1, got a sum of {p.sum():.12g}")
    return p


def mutual_information(p: np.ndarray | Tensor) -> float:
    r"""The mutual information :math:`I(A; B)` in bits of a joint distribution table ``p[a, b]``.

    .. math::

        I(A; B) = \sum_{a, b} p(a, b) \log_2 \frac{p(a, b)}{p(a)\, p(b)},

    with :math:`0 \log 0 = 0`. It is zero exactly when :math:`A` and :math:`B` are independent, and at most
    :math:`\min(H(A), H(B))`. To get :math:`I(X_1, X_2; Y)` from a table ``p[x1, x2, y]``, reshape it so that the
    pair is one axis: ``mutual_information(p.reshape(-1, p.shape[-1]))``.

    Parameters
    ----------
    p : array_like or torch.Tensor
        A 2-D array of non-negative numbers that sum to 1.

    Returns
    -------
    float
        :math:`I(A; B)` in bits.

    Raises
    ------
    ValueError
        If ``p`` is not 2-D, has negative, NaN or infinite entries, or does not sum to 1.

    Examples
    --------
    >>> mutual_information([[0.5, 0.0], [0.0, 0.5]])  # B is a copy of a fair bit A
    1.0
    >>> mutual_information([[0.25, 0.25], [0.25, 0.25]])  # independent
    0.0
    """
    p = _check_joint(p, "mutual_information", ndim=2)
    rows, cols = np.nonzero(p)  # where p > 0, both marginals are > 0 too
    pab = p[rows, cols]
    pa, pb = p.sum(axis=1)[rows], p.sum(axis=0)[cols]
    # In logs, not as a ratio: the product p(a) p(b) of two tiny marginals can underflow to 0.
    return float(max(0.0, (pab * (np.log2(pab) - np.log2(pa) - np.log2(pb))).sum()))


def label_informations(p: np.ndarray | Tensor) -> dict[str, float]:
    r"""How much each modality, and the pair, tells about the label: three mutual informations in bits.

    For a joint distribution ``p[x1, x2, y]`` (for example :func:`mmcourse.data.bitwise_distribution`):
    :math:`I(X_1; Y)` from the marginal table :math:`p(x_1, y)`, :math:`I(X_2; Y)` from :math:`p(x_2, y)`, and
    :math:`I(X_1, X_2; Y)`, which treats the pair as one variable. XOR is the extreme case: 0, 0 and 1 bit.

    Parameters
    ----------
    p : array_like or torch.Tensor
        A 3-D array ``p[x1, x2, y]`` of non-negative numbers that sum to 1.

    Returns
    -------
    dict of str to float
        Keys ``"I(X1;Y)"``, ``"I(X2;Y)"`` and ``"I(X1,X2;Y)"``.

    Examples
    --------
    >>> from mmcourse.data import bitwise_distribution
    >>> label_informations(bitwise_distribution("xor"))
    {'I(X1;Y)': 0.0, 'I(X2;Y)': 0.0, 'I(X1,X2;Y)': 1.0}
    """
    p = _check_joint(p, "label_informations", ndim=3)
    return {"I(X1;Y)": mutual_information(p.sum(axis=1)),
            "I(X2;Y)": mutual_information(p.sum(axis=0)),
            "I(X1,X2;Y)": mutual_information(p.reshape(-1, p.shape[-1]))}
