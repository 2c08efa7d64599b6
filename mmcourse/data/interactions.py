r"""Interaction datasets: two modalities whose label depends on them by redundancy, uniqueness or synergy.

The construction follows the synthetic data of the partial information decomposition paper (Liang et al., 2023,
*Quantifying & Modeling Multimodal Interactions: An Information Decomposition Framework*). Each sample has three
independent latents :math:`z_1, z_2, z_c \sim \mathcal N(0, I_4)`. Modality :math:`i \in \{1, 2\}` sees its own
latent and the common one through fixed random Gaussian projections :math:`T_i, T_{c,i} \in \mathbb R^{4\times 6}`:

.. math::

    x_i = [\, z_i T_i \,;\, z_c T_{c,i} \,] + 0.1\,\varepsilon_i \in \mathbb R^{12}, \qquad
    \varepsilon_i \sim \mathcal N(0, I_{12}).

Fixed random unit directions :math:`w_1, w_2, w_c` give three scalar scores :math:`s_1 = w_1 \cdot z_1`,
:math:`s_2 = w_2 \cdot z_2`, :math:`s_c = w_c \cdot z_c` (stored in the ``latent`` column), and the binary label is

=============  ==========================================  ==========================================
name           label :math:`y`                             interaction
=============  ==========================================  ==========================================
redundancy     :math:`[s_c > 0]`                           both modalities carry it (via :math:`z_c`)
uniqueness1    :math:`[s_1 > 0]`                           only ``x1`` carries it
uniqueness2    :math:`[s_2 > 0]`                           only ``x2`` carries it
synergy        :math:`[s_1 > 0] \oplus [s_2 > 0]`          neither alone (chance), both together
mixed          :math:`[s_c + 2 s_1 s_2 > 0]`               a redundant part plus a synergistic part
=============  ==========================================  ==========================================

Because :math:`z_1 \perp z_2`, a model that sees one modality of the synergy data predicts its label at chance
exactly. Test accuracies with scikit-learn on the default sizes, seed 0 (seeds 0 to 2 in ``data/interactions.md``):
redundancy 0.98 from either modality alone (logistic regression); uniqueness1 0.99 from ``x1`` and 0.52 from ``x2``;
synergy 0.51 and 0.53 from either alone, 0.51 from both with a linear model and 0.94 from both with an MLP (64 hidden
units); mixed 0.72 from either alone or both with a linear model (the redundant part) and 0.94 with an MLP on both.
"""
from __future__ import annotations

import numpy as np
from datasets import ClassLabel, DatasetDict, Features

from mmcourse.data._cache import cached
from mmcourse.data._common import check_name, check_seed, check_sizes, float_vector, split_rngs, to_dataset_dict

__all__ = ["INTERACTION_DATASETS", "load_interaction"]

INTERACTION_DATASETS = ("redundancy", "uniqueness1", "uniqueness2", "synergy", "mixed")

LATENT_DIM = 4  # dimension of each of z1, z2, zc
PROJ_DIM = 6  # each latent is projected to 6 features, so a modality has 2 * 6 = 12
NOISE = 0.1  # standard deviation of the feature noise

# Each rule maps the scores (s1, s2, sc) to a boolean label.
_LABEL_RULES = {
    "redundancy": lambda s1, s2, sc: sc > 0,
    "uniqueness1": lambda s1, s2, sc: s1 > 0,
    "uniqueness2": lambda s1, s2, sc: s2 > 0,
    "synergy": lambda s1, s2, sc: (s1 > 0) ^ (s2 > 0),
    "mixed": lambda s1, s2, sc: sc + 2 * s1 * s2 > 0,
}


def load_interaction(name: str, *, n_train: int = 2000, n_val: int = 500, n_test: int = 1000, seed: int = 0,
                     cache: bool = True) -> DatasetDict:
    """Load (generate on first use) one interaction dataset.

    Parameters
    ----------
    name : str
        One of :data:`INTERACTION_DATASETS`: ``"redundancy"``, ``"uniqueness1"``, ``"uniqueness2"``,
        ``"synergy"``, ``"mixed"``.
    n_train, n_val, n_test : int
        Number of samples in the ``train``, ``validation`` and ``test`` splits.
    seed : int
        Seeds the projections, the score directions and every sample. Each split is drawn from its own stream,
        so changing ``n_train`` leaves the test set as it was.
    cache : bool
        Read and write the on-disk cache (and the in-process memo); ``False`` generates afresh.

    Returns
    -------
    DatasetDict
        Splits ``train``, ``validation``, ``test`` in torch format, with columns ``x1`` and ``x2``
        (float32, length 12), ``latent`` (float32 ``[s1, s2, sc]``, length 3) and ``label`` (``ClassLabel``
        with names ``["0", "1"]``).

    Examples
    --------
    >>> ds = load_interaction("synergy", n_train=100, n_val=10, n_test=10, cache=False)
    >>> ds["train"]["x1"][:].shape
    torch.Size([100, 12])
    """
    where = "load_interaction"
    check_name(name, INTERACTION_DATASETS, where)
    sizes = check_sizes(where, n_train=n_train, n_val=n_val, n_test=n_test)
    seed = check_seed(seed, where)
    return cached(name, {**sizes, "seed": seed}, lambda: _generate(name, seed=seed, **sizes), cache)


def _generate(name: str, *, n_train: int, n_val: int, n_test: int, seed: int) -> DatasetDict:
    rng = np.random.default_rng(seed)
    # The "world" (projections and directions) is drawn first, then each split from its own stream.
    projections = {key: rng.standard_normal((LATENT_DIM, PROJ_DIM)) for key in ("T1", "T2", "Tc1", "Tc2")}
    directions = rng.standard_normal((3, LATENT_DIM))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    sizes = {"train": n_train, "validation": n_val, "test": n_test}
    columns = {split: _sample(name, projections, directions, split_rng, sizes[split])
               for split, split_rng in split_rngs(rng).items()}
    features = Features({"x1": float_vector(2 * PROJ_DIM), "x2": float_vector(2 * PROJ_DIM),
                         "latent": float_vector(3), "label": ClassLabel(names=["0", "1"])})
    return to_dataset_dict(columns, features)


def _sample(name: str, projections: dict[str, np.ndarray], directions: np.ndarray, rng: np.random.Generator,
            n: int) -> dict[str, np.ndarray]:
    z1, z2, zc = rng.standard_normal((3, n, LATENT_DIM))
    x1 = np.concatenate([z1 @ projections["T1"], zc @ projections["Tc1"]], axis=1)
    x2 = np.concatenate([z2 @ projections["T2"], zc @ projections["Tc2"]], axis=1)
    x1 += NOISE * rng.standard_normal(x1.shape)
    x2 += NOISE * rng.standard_normal(x2.shape)
    s1, s2, sc = (z @ w for z, w in zip((z1, z2, zc), directions))
    label = _LABEL_RULES[name](s1, s2, sc).astype(np.int64)
    return {"x1": x1.astype(np.float32), "x2": x2.astype(np.float32),
            "latent": np.stack([s1, s2, sc], axis=1).astype(np.float32), "label": label}
