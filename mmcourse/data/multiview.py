r"""Multiview: four modalities of one latent, in two families of sensors (the toy world of Part 2.2).

Every sample has a latent :math:`z \sim \mathcal N(0, I_4)` and a label :math:`y = \arg\max_c (z R)_c` in four
balanced classes (:math:`R` a fixed random rotation, so the label needs all four latent directions). Each of the
four views is a 16-dimensional reading of :math:`z` made by a *sensor* of one of two families:

.. math::

    x_m = \big[\, z Q_m + \sigma \varepsilon_m \,;\, \tau \eta_m \,\big] \ \text{(family A)}, \qquad
    x_m = \big[\, \tau \eta_m \,;\, z Q_m + \sigma \varepsilon_m \,\big] \ \text{(family B)},

with :math:`Q_m = Q_{f(m)} + 0.3\, \Delta_m \in \mathbb R^{4\times 8}` (the family's projection, perturbed a little
per view; entries of :math:`Q_f` and :math:`\Delta_m` are :math:`\mathcal N(0, 1/4)`), signal noise
:math:`\sigma = 1`, and clutter :math:`\tau = 3`: eight coordinates of pure noise. Family A (views ``x1``, ``x2``)
reads the latent in its first eight coordinates, family B (``x3``, ``x4``) in its last eight, where family A has its
clutter. Views of one family are alike (an encoder trained on one serves the other), views of
different families are not (the same encoder reads the other family's clutter). Each view alone is noisy; the four
together carry much more. See ``data/multiview.md``.
"""
from __future__ import annotations

import numpy as np
from datasets import ClassLabel, DatasetDict, Features

from mmcourse.data._cache import cached
from mmcourse.data._common import check_seed, check_sizes, float_vector, split_rngs, to_dataset_dict

__all__ = ["MULTIVIEW_FAMILIES", "load_multiview"]

MULTIVIEW_FAMILIES = ((0, 1), (2, 3))
"""The planted grouping of the views ``x1``…``x4`` (0-based): family A, family B."""

LATENT_DIM = 4
SIGNAL_DIM = 8  # coordinates that read the latent; as many more hold clutter
NUM_CLASSES = 4
PERTURBATION = 0.3  # how far a view's projection strays from its family's
SIGNAL_NOISE = 1.0
CLUTTER = 3.0


def load_multiview(*, n_train: int = 150, n_val: int = 500, n_test: int = 1000, seed: int = 0,
                   cache: bool = True) -> DatasetDict:
    """Load (generate on first use) the four-view toy with two families of views.

    Parameters
    ----------
    n_train, n_val, n_test : int
        Sizes of the splits. The training split is small on purpose: sharing an encoder between similar views
        is a way to get more out of few samples.
    seed : int
        Seeds the projections, the rotation and every sample; each split has its own random stream.
    cache : bool
        Read and write the on-disk cache; ``False`` generates afresh.

    Returns
    -------
    DatasetDict
        Splits ``train``, ``validation``, ``test`` (torch format) with columns ``x1`` … ``x4`` (float32, length
        16), ``latent`` (float32 ``z``, length 4) and ``label`` (``ClassLabel``, names ``"0"`` … ``"3"``).

    Examples
    --------
    >>> ds = load_multiview(n_train=20, n_val=10, n_test=10, cache=False)
    >>> ds["train"].column_names, ds["train"]["x3"][:].shape
    (['x1', 'x2', 'x3', 'x4', 'latent', 'label'], torch.Size([20, 16]))
    """
    where = "load_multiview"
    sizes = check_sizes(where, n_train=n_train, n_val=n_val, n_test=n_test)
    seed = check_seed(seed, where)
    return cached("multiview", {**sizes, "seed": seed}, lambda: _generate(seed=seed, **sizes), cache)


def _generate(*, n_train: int, n_val: int, n_test: int, seed: int) -> DatasetDict:
    rng = np.random.default_rng(seed)
    family_projections = rng.standard_normal((2, LATENT_DIM, SIGNAL_DIM)) / np.sqrt(LATENT_DIM)
    projections = [family_projections[f] + PERTURBATION * rng.standard_normal((LATENT_DIM, SIGNAL_DIM))
                   / np.sqrt(LATENT_DIM) for f, views in enumerate(MULTIVIEW_FAMILIES) for _ in views]
    rotation, _ = np.linalg.qr(rng.standard_normal((LATENT_DIM, NUM_CLASSES)))
    sizes = {"train": n_train, "validation": n_val, "test": n_test}
    columns = {split: _sample(projections, rotation, split_rng, sizes[split])
               for split, split_rng in split_rngs(rng).items()}
    views = {f"x{m + 1}": float_vector(2 * SIGNAL_DIM) for m in range(len(projections))}
    features = Features({**views, "latent": float_vector(LATENT_DIM),
                         "label": ClassLabel(names=[str(c) for c in range(NUM_CLASSES)])})
    return to_dataset_dict(columns, features)


def _sample(projections: list[np.ndarray], rotation: np.ndarray, rng: np.random.Generator,
            n: int) -> dict[str, np.ndarray]:
    z = rng.standard_normal((n, LATENT_DIM))
    columns = {}
    for m, q in enumerate(projections):
        signal = z @ q + SIGNAL_NOISE * rng.standard_normal((n, SIGNAL_DIM))
        clutter = CLUTTER * rng.standard_normal((n, SIGNAL_DIM))
        family_a = m in MULTIVIEW_FAMILIES[0]
        columns[f"x{m + 1}"] = np.concatenate([signal, clutter] if family_a else [clutter, signal],
                                              axis=1).astype(np.float32)
    return {**columns, "latent": z.astype(np.float32), "label": (z @ rotation).argmax(1).astype(np.int64)}
