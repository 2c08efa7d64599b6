r"""Taxonomy datasets: one toy per response type of Partan and Marler's taxonomy of multimodal signals.

Liang, Zadeh and Morency's survey (arXiv 2209.03430, section 2.3) sorts how a response to two modalities together
relates to the responses to each alone: **redundancy** (equivalence, enhancement) and **non-redundancy**
(independence, dominance, modulation, emergence). Each dataset here makes one of these visible as a pattern of
test accuracies of a small model trained on ``x1`` alone, ``x2`` alone and both.

Every sample has one informative scalar :math:`u_i` per modality (stored in the ``latent`` column as
:math:`[u_1, u_2]`) and two nuisance scalars :math:`v_{i1}, v_{i2} \sim \mathcal N(0, 1)`, embedded into 8 features
by a fixed random projection :math:`P_i \in \mathbb R^{3\times 8}` (entries :math:`\mathcal N(0, 1/3)`):

.. math::

    x_i = [\, u_i, v_{i1}, v_{i2} \,]\, P_i + 0.1\,\varepsilon_i \in \mathbb R^{8}.

With bits :math:`y, y_1, y_2 \sim \mathrm{Bernoulli}(1/2)`, signs :math:`a = 2y - 1`, and independent
:math:`\varepsilon \sim \mathcal N(0, 1)`:

============  ============================================  ==========================  ============================
name          informative scalars                           label                       accuracies (seed 0)
============  ============================================  ==========================  ============================
equivalence   :math:`u_1 = u_2 = a + 0.5\varepsilon`         :math:`y`                   x1 ≈ x2 ≈ both ≈ 0.98
              (one shared noise)
enhancement   :math:`u_i = a + 1.2\varepsilon_i`             :math:`y`                   x1 ≈ x2 ≈ 0.79, both ≈ 0.88
              (independent noises)
independence  :math:`u_i = a_i + 0.4\varepsilon_i`           :math:`2 y_1 + y_2` (4)     x1 ≈ x2 ≈ 0.5, both ≈ 0.99
dominance     :math:`u_i = a_i + 0.4\varepsilon_i`           :math:`y_1`                 x1 ≈ both ≈ 0.99, x2 ≈ 0.5
modulation    :math:`u_1 = a + o,\ u_2 = o`,                 :math:`y`                   x1 ≈ 0.70, x2 ≈ 0.5,
              :math:`o \sim \mathcal N(0, 1.9^2)`                                        both = 1.00
emergence     :math:`u_i = a_i + 0.4\varepsilon_i`           :math:`y_1 \oplus y_2`      x1 ≈ x2 ≈ 0.5, both ≈ 0.98
============  ============================================  ==========================  ============================

Accuracies are on the test split with logistic regression, except emergence's "both", which needs a nonlinear
model (an MLP with 64 hidden units); ``data/taxonomy.md`` lists seeds 0 to 2 and both models. The constants are
chosen for these patterns. Enhancement: one modality is right with probability
:math:`\Phi(1/1.2) \approx 0.80`, the average of both with :math:`\Phi(\sqrt 2/1.2) \approx 0.88`; 1.2 maximises this
gain for Gaussian noise. Modulation: :math:`x_1` alone is right with :math:`\Phi(1/1.9) \approx 0.70`, while
:math:`u_1 - u_2 = a` recovers the label once :math:`x_2` tells the offset :math:`o`; :math:`x_2` alone says nothing
about :math:`y`. In dominance :math:`x_2` carries a strong bit :math:`y_2` that the label ignores.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from datasets import ClassLabel, DatasetDict, Features

from mmcourse.data._cache import cached
from mmcourse.data._common import check_name, check_seed, check_sizes, float_vector, split_rngs, to_dataset_dict

__all__ = ["TAXONOMY_DATASETS", "load_taxonomy"]

TAXONOMY_DATASETS = ("equivalence", "enhancement", "independence", "dominance", "modulation", "emergence")

N_SIGNALS = 3  # one informative and two nuisance scalars per modality
N_FEATURES = 8  # features per modality
NOISE = 0.1  # standard deviation of the feature noise
EQUIVALENCE_NOISE = 0.5  # shared noise: both modalities say the same thing, equally well
ENHANCEMENT_NOISE = 1.2  # independent noise: each modality alone ~0.80, averaging both ~0.88
BIT_NOISE = 0.4  # a clean bit: read correctly with probability Phi(1 / 0.4) = 0.994
MODULATION_OFFSET = 1.9  # spread of the offset o: x1 alone ~ Phi(1 / 1.9) = 0.70

Signals = tuple[np.ndarray, np.ndarray, np.ndarray]  # (u1, u2, label)


def _sign(bit: np.ndarray) -> np.ndarray:
    return 2.0 * bit - 1.0


def _equivalence(rng: np.random.Generator, n: int) -> Signals:
    y = rng.integers(0, 2, n)
    u = _sign(y) + EQUIVALENCE_NOISE * rng.standard_normal(n)
    return u, u.copy(), y


def _enhancement(rng: np.random.Generator, n: int) -> Signals:
    y = rng.integers(0, 2, n)
    u1, u2 = _sign(y) + ENHANCEMENT_NOISE * rng.standard_normal((2, n))
    return u1, u2, y


def _two_bits(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two independent bits and their clean signals, one per modality."""
    y1, y2 = rng.integers(0, 2, (2, n))
    u1, u2 = _sign(np.stack([y1, y2])) + BIT_NOISE * rng.standard_normal((2, n))
    return u1, u2, y1, y2


def _independence(rng: np.random.Generator, n: int) -> Signals:
    u1, u2, y1, y2 = _two_bits(rng, n)
    return u1, u2, 2 * y1 + y2


def _dominance(rng: np.random.Generator, n: int) -> Signals:
    u1, u2, y1, _ = _two_bits(rng, n)
    return u1, u2, y1


def _modulation(rng: np.random.Generator, n: int) -> Signals:
    y = rng.integers(0, 2, n)
    offset = MODULATION_OFFSET * rng.standard_normal(n)
    return _sign(y) + offset, offset, y


def _emergence(rng: np.random.Generator, n: int) -> Signals:
    u1, u2, y1, y2 = _two_bits(rng, n)
    return u1, u2, y1 ^ y2


_SIGNALS: dict[str, Callable[[np.random.Generator, int], Signals]] = {
    "equivalence": _equivalence, "enhancement": _enhancement, "independence": _independence,
    "dominance": _dominance, "modulation": _modulation, "emergence": _emergence,
}
_LABEL_NAMES = {name: ["0", "1"] for name in TAXONOMY_DATASETS} | {"independence": ["0/0", "0/1", "1/0", "1/1"]}


def load_taxonomy(name: str, *, n_train: int = 2000, n_val: int = 500, n_test: int = 1000, seed: int = 0,
                  cache: bool = True) -> DatasetDict:
    """Load (generate on first use) one dataset of the interaction taxonomy.

    Parameters
    ----------
    name : str
        One of :data:`TAXONOMY_DATASETS`: ``"equivalence"``, ``"enhancement"``, ``"independence"``,
        ``"dominance"``, ``"modulation"``, ``"emergence"``.
    n_train, n_val, n_test : int
        Number of samples in the ``train``, ``validation`` and ``test`` splits.
    seed : int
        Seeds the projections and every sample; each split is drawn from its own stream.
    cache : bool
        Read and write the on-disk cache (and the in-process memo); ``False`` generates afresh.

    Returns
    -------
    DatasetDict
        Splits ``train``, ``validation``, ``test`` in torch format, with columns ``x1`` and ``x2`` (float32,
        length 8), ``latent`` (float32 ``[u1, u2]``, length 2) and ``label`` (``ClassLabel``: names ``["0", "1"]``,
        or ``["0/0", "0/1", "1/0", "1/1"]`` for ``independence``, where the label is ``2 * y1 + y2``).

    Examples
    --------
    >>> ds = load_taxonomy("independence", n_train=100, n_val=10, n_test=10, cache=False)
    >>> ds["train"].features["label"].names
    ['0/0', '0/1', '1/0', '1/1']
    """
    where = "load_taxonomy"
    check_name(name, TAXONOMY_DATASETS, where)
    sizes = check_sizes(where, n_train=n_train, n_val=n_val, n_test=n_test)
    seed = check_seed(seed, where)
    return cached(name, {**sizes, "seed": seed}, lambda: _generate(name, seed=seed, **sizes), cache)


def _generate(name: str, *, n_train: int, n_val: int, n_test: int, seed: int) -> DatasetDict:
    rng = np.random.default_rng(seed)
    projections = rng.standard_normal((2, N_SIGNALS, N_FEATURES)) / np.sqrt(N_SIGNALS)
    sizes = {"train": n_train, "validation": n_val, "test": n_test}
    columns = {}
    for split, split_rng in split_rngs(rng).items():
        n = sizes[split]
        u1, u2, label = _SIGNALS[name](split_rng, n)
        x1, x2 = (_embed(u, p, split_rng) for u, p in zip((u1, u2), projections))
        columns[split] = {"x1": x1, "x2": x2, "latent": np.stack([u1, u2], axis=1).astype(np.float32),
                          "label": label.astype(np.int64)}
    features = Features({"x1": float_vector(N_FEATURES), "x2": float_vector(N_FEATURES),
                         "latent": float_vector(2), "label": ClassLabel(names=_LABEL_NAMES[name])})
    return to_dataset_dict(columns, features)


def _embed(u: np.ndarray, projection: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Stack the informative scalar with fresh nuisance scalars, project to the features and add noise."""
    nuisance = rng.standard_normal((len(u), N_SIGNALS - 1))
    signals = np.column_stack([u, nuisance])
    x = signals @ projection + NOISE * rng.standard_normal((len(u), N_FEATURES))
    return x.astype(np.float32)
