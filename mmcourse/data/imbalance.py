r"""The imbalance toy of Part 2.3: one modality is easy and dominates training, the other is weak but complementary.

A binary label :math:`y \in \{0, 1\}` (sign :math:`s = 2y - 1`) is seen through two modalities that are
independent given the label:

.. math::

    x_1 = \big(c\, a\, s\, e_1 + \sigma_1 \varepsilon_1\big) R_1 \in \mathbb R^{4}, \qquad
    c \sim \mathrm{Bernoulli}(q), \quad \varepsilon_1 \sim \mathcal N(0, I_4),

    x_2 = \mu\, s\, w + \varepsilon_2 \in \mathbb R^{32}, \qquad \varepsilon_2 \sim \mathcal N(0, I_{32}),

with a fixed random rotation :math:`R_1`, a fixed random unit direction :math:`w`, :math:`a = 2`,
:math:`\sigma_1 = 0.5`, :math:`q = 0.6` (``visible``) and :math:`\mu = 0.9` (``strength``).

- **x1 is easy but incomplete.** Where the label is *visible* (:math:`c = 1`, 60% of the examples) it is written
  along one direction with a margin of four noise standard deviations: a linear model learns it in a few steps and is
  then almost always right. Where it is hidden (:math:`c = 0`), ``x1`` is pure noise. The best ``x1``-only
  classifier is right on :math:`q + (1 - q)/2 = 0.8` of the examples.
- **x2 is weak but everywhere.** The label shifts one direction of 32 noisy features by :math:`\pm\mu`: the best
  ``x2``-only classifier is right on :math:`\Phi(\mu) \approx 0.82`, and a model must find that direction among
  31 noise directions from few examples, so it learns slowly and can fit noise instead.
- **Together** they are complementary: trust ``x1`` where it is visible, ``x2`` elsewhere. Because the modalities are
  independent given :math:`y`, the Bayes classifier adds the two log-likelihood ratios, so a model whose logits are
  a sum of one function of each modality can reach the best accuracy, about
  :math:`q + (1 - q)\,\Phi(\mu) \approx 0.93`.

The training set is small (400 examples by default) on purpose, so that overfitting shows within tens of epochs.
The ``latent`` column holds :math:`[c, s\mu + w \cdot \varepsilon_2]` (visibility and ``x2``'s score), for checks.
"""
from __future__ import annotations

import numpy as np
from datasets import ClassLabel, DatasetDict, Features

from mmcourse.data._cache import cached
from mmcourse.data._common import check_seed, check_sizes, float_vector, split_rngs, to_dataset_dict

__all__ = ["load_imbalance"]

X1_DIM, X2_DIM = 4, 32
MARGIN, X1_NOISE = 2.0, 0.5  # a and sigma_1: a visible label sits 4 noise standard deviations from the boundary


def load_imbalance(*, visible: float = 0.6, strength: float = 0.9, n_train: int = 400, n_val: int = 1000,
                   n_test: int = 2000, seed: int = 0, cache: bool = True) -> DatasetDict:
    """Load (generate on first use) the imbalanced-modalities toy.

    Parameters
    ----------
    visible : float
        :math:`q \\in [0, 1]`, the share of examples whose label ``x1`` shows.
    strength : float
        :math:`\\mu \\ge 0`, the shift of ``x2`` along its label direction (in noise standard deviations).
    n_train, n_val, n_test : int
        Split sizes. The validation split is large so that validation curves are smooth enough to read.
    seed : int
        Seeds the rotation, the direction and every sample; each split has its own random stream.
    cache : bool
        Read and write the on-disk cache; ``False`` generates afresh.

    Returns
    -------
    DatasetDict
        Splits ``train``, ``validation``, ``test`` in torch format with columns ``x1`` (float32, length 4), ``x2``
        (float32, length 32), ``latent`` (float32 ``[c, score2]``) and ``label`` (``ClassLabel``, ``["0", "1"]``).

    Examples
    --------
    >>> ds = load_imbalance(n_train=50, n_val=10, n_test=10, cache=False)
    >>> ds["train"]["x1"][:].shape, ds["train"]["x2"][:].shape
    (torch.Size([50, 4]), torch.Size([50, 32]))
    """
    where = "load_imbalance"
    sizes = check_sizes(where, n_train=n_train, n_val=n_val, n_test=n_test)
    seed = check_seed(seed, where)
    if isinstance(visible, bool) or not isinstance(visible, (int, float)) or not 0 <= visible <= 1:
        raise ValueError(f"{where}: visible must be a probability in [0, 1], got visible={visible!r}")
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 <= strength < float("inf"):
        raise ValueError(f"{where}: strength must be a finite number ≥ 0, got strength={strength!r}")
    params = {**sizes, "seed": seed, "visible": float(visible), "strength": float(strength)}
    return cached("imbalance", params, lambda: _generate(float(visible), float(strength), seed=seed, **sizes),
                  cache)


def _generate(visible: float, strength: float, *, n_train: int, n_val: int, n_test: int, seed: int) -> DatasetDict:
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.standard_normal((X1_DIM, X1_DIM)))
    direction = rng.standard_normal(X2_DIM)
    direction /= np.linalg.norm(direction)
    sizes = {"train": n_train, "validation": n_val, "test": n_test}
    columns = {split: _sample(rng_split, sizes[split], visible, strength, rotation, direction)
               for split, rng_split in split_rngs(rng).items()}
    features = Features({"x1": float_vector(X1_DIM), "x2": float_vector(X2_DIM), "latent": float_vector(2),
                         "label": ClassLabel(names=["0", "1"])})
    return to_dataset_dict(columns, features)


def _sample(rng: np.random.Generator, n: int, visible: float, strength: float, rotation: np.ndarray,
            direction: np.ndarray) -> dict[str, np.ndarray]:
    label = rng.integers(0, 2, n)
    sign = 2.0 * label - 1.0
    shown = (rng.random(n) < visible).astype(np.float64)
    x1 = X1_NOISE * rng.standard_normal((n, X1_DIM))
    x1[:, 0] += shown * MARGIN * sign
    x2 = strength * sign[:, None] * direction + rng.standard_normal((n, X2_DIM))
    latent = np.stack([shown, x2 @ direction], axis=1)
    return {"x1": (x1 @ rotation).astype(np.float32), "x2": x2.astype(np.float32),
            "latent": latent.astype(np.float32), "label": label.astype(np.int64)}
