r"""Part 1: contextualised interactions, toys where two modalities interact only in a context, and its measures.

The taxonomy of Part 1 has a third level (Liang, Zadeh and Morency, 2024, *Foundations and trends in multimodal
machine learning*): interactions that exist only in a *context*, temporal, hierarchical or given by another
modality. Two toys live here (the temporal one is :func:`mmcourse.data.load_temporal` of Part 4.1):

- :func:`make_context_switch`: three modalities, each a noisy bit :math:`b_m \in \{0, 1\}`,
  :math:`x_m = h\,(2 b_m - 1)\, p_m + \sigma \varepsilon`. The third, the context, decides how the first two
  interact: with :math:`b_3 = 0` the label says whether they *agree*, with :math:`b_3 = 1` whether they *differ*,

  .. math:: y = b_1 \oplus b_2 \oplus \lnot b_3 .

  Every modality alone and every *pair* of modalities is exactly at chance; only the three together give the label.
- :func:`make_part_whole`: a whole (modality 1) and a part (modality 2); the label says whether the part belongs to
  the whole, :math:`y = M[w, p]` for a part-whole relation :math:`M` (:func:`part_whole_relation`) whose rows and
  columns are half ones, so that each modality alone is at chance.

Two measures say how much of the label is interaction, in context: :func:`conditional_pid` (the partial information
decomposition of Part 7 within each context value, averaged) and :func:`emap_in_context` (EMAP, the accuracy a
model keeps when projected on additive functions of two modalities, with the context held fixed).

Book section: Part 1, Foundations (chapter *Interactions in context*).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from mmcourse.foundations.context_measures import conditional_pid, emap_in_context
from mmcourse.foundations.context_models import ConcatMLP, PartWholeScorer, PooledFusion
from mmcourse.utils import check_positive

__all__ = ["ContextData", "make_context_switch", "context_switch_label", "part_whole_relation", "make_part_whole",
           "conditional_pid", "emap_in_context", "ConcatMLP", "PooledFusion", "PartWholeScorer"]

HEIGHT = 1.0  # h, the distance of each class mean from the origin


class ContextData(NamedTuple):
    """One split of a toy: ``inputs`` (a list with one float tensor per modality), ``labels`` (int64) and
    ``latent`` (int64 ``(n, k)``, the discrete variables that generated it). ``data[:2]`` is the
    ``(inputs, labels)`` pair that :func:`mmcourse.training.fit` takes."""

    inputs: list
    labels: Tensor
    latent: Tensor


def _check_noise(where: str, noise: object) -> float:
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not np.isfinite(noise) or noise < 0:
        raise ValueError(f"{where}: noise must be a finite number >= 0, got noise={noise!r}")
    return float(noise)


def _check_seed(where: str, seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{where}: seed must be a non-negative integer, got seed={seed!r}")
    return int(seed)


def _directions(rng: np.random.Generator, count: int, features: int) -> np.ndarray:
    d = rng.standard_normal((count, features))
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def context_switch_label(b1, b2, b3):
    """The label of :func:`make_context_switch`: ``b1 == b2`` when ``b3 = 0`` (agree), ``b1 != b2`` when ``b3 = 1``.

    Elementwise on 0/1 integers, NumPy arrays or tensors: ``y = b1 XOR b2 XOR (1 - b3)``.

    Examples
    --------
    >>> context_switch_label(1, 1, 0), context_switch_label(1, 1, 1), context_switch_label(0, 1, 1)
    (1, 0, 1)
    """
    return b1 ^ b2 ^ (1 - b3)


def make_context_switch(n_train: int = 1000, n_test: int = 1000, *, features: int = 4, noise: float = 0.4,
                        seed: int = 0) -> dict[str, ContextData]:
    r"""The three-modality toy: two noisy bits whose interaction (agree or differ) is switched by a third.

    .. math::

        b_1, b_2, b_3 \sim \mathrm{Bernoulli}(\tfrac12), \quad x_m = h\,(2 b_m - 1)\,p_m + \sigma\varepsilon_m,
        \quad \varepsilon_m \sim \mathcal N(0, I_d), \quad y = b_1 \oplus b_2 \oplus \lnot b_3,

    with :math:`p_m` a unit direction per modality (drawn once from the seed) and :math:`h = 1`. The label is the
    parity of the three bits (flipped), so it is independent of any one or any two of them: a model must combine all
    three, a three-way interaction. Book section: Part 1 (*Interactions in context*).

    Parameters
    ----------
    n_train, n_test : int
        Samples in the ``"train"`` and ``"test"`` splits (each split has its own random stream).
    features : int
        :math:`d`, features per modality.
    noise : float
        :math:`\sigma \ge 0`; with the default 0.4 each bit is read right 99.4% of the time, the label 98%.
    seed : int
        Seeds the directions and the samples.

    Returns
    -------
    dict
        ``{"train": ContextData, "test": ContextData}``: ``inputs`` is ``[x1, x2, x3]``, each ``(n, features)``
        float32; ``labels`` ``(n,)``; ``latent`` ``(n, 3)`` holds ``b1, b2, b3``.

    Examples
    --------
    >>> data = make_context_switch(8, 4)
    >>> [x.shape for x in data["train"].inputs], data["test"].latent.shape
    ([torch.Size([8, 4]), torch.Size([8, 4]), torch.Size([8, 4])], torch.Size([4, 3]))
    """
    where = "make_context_switch"
    check_positive(where, n_train=n_train, n_test=n_test, features=features)
    noise, seed = _check_noise(where, noise), _check_seed(where, seed)
    directions = _directions(np.random.default_rng(seed), 3, features)
    out = {}
    for stream, (split, n) in enumerate((("train", n_train), ("test", n_test)), start=1):
        rng = np.random.default_rng([seed, stream])
        bits = rng.integers(0, 2, size=(n, 3))
        xs = [HEIGHT * (2 * bits[:, [m]] - 1) * directions[m] + noise * rng.standard_normal((n, features))
              for m in range(3)]
        y = context_switch_label(bits[:, 0], bits[:, 1], bits[:, 2])
        out[split] = ContextData([torch.tensor(x, dtype=torch.float32) for x in xs], torch.tensor(y).long(),
                                 torch.tensor(bits).long())
    return out


def part_whole_relation(wholes: int = 4, parts: int = 4, *, seed: int = 0) -> np.ndarray:
    r"""A part-whole relation :math:`M \in \{0, 1\}^{W \times P}`: ``M[w, p] = 1`` when part ``p`` belongs to whole
    ``w``. Every whole has half of the parts and every part belongs to half of the wholes (a shuffled circulant,
    :math:`M[w, p] = \mathbb 1[(\pi(p) - \tau(w)) \bmod P < P/2]` for random permutations :math:`\pi, \tau`; this
    needs ``wholes`` to divide ``parts`` or the reverse, and both even).

    Examples
    --------
    >>> part_whole_relation(4, 4).sum(0).tolist(), part_whole_relation(4, 4).sum(1).tolist()
    ([2, 2, 2, 2], [2, 2, 2, 2])
    """
    where = "part_whole_relation"
    check_positive(where, wholes=wholes, parts=parts)
    seed = _check_seed(where, seed)
    if wholes % 2 or parts % 2 or (parts % wholes and wholes % parts):
        raise ValueError(f"{where}: wholes and parts must be even and one must divide the other, got "
                         f"wholes={wholes}, parts={parts}")
    rng = np.random.default_rng(seed)
    size = max(wholes, parts)
    tau, pi = rng.permutation(wholes) * (size // wholes), rng.permutation(parts) * (size // parts)
    return ((pi[None, :] - tau[:, None]) % size < size // 2).astype(np.int64)


def make_part_whole(n_train: int = 1000, n_test: int = 1000, *, wholes: int = 4, parts: int = 4, features: int = 8,
                    noise: float = 0.3, seed: int = 0) -> dict[str, ContextData]:
    r"""The hierarchical toy: a whole in modality 1, a part in modality 2; the label says if the part is of the whole.

    .. math::

        y \sim \mathrm{Bernoulli}(\tfrac12), \quad (w, p) \sim \mathcal U\{(w, p) : M[w, p] = y\}, \quad
        x_1 = e_w + \sigma\varepsilon_1, \quad x_2 = f_p + \sigma\varepsilon_2,

    with :math:`M` from :func:`part_whole_relation` and prototypes :math:`e_w, f_p` unit vectors drawn from the seed.
    Since each row and column of :math:`M` is half ones, :math:`w` alone and :math:`p` alone are independent of
    :math:`y`: the label lives in the relation between them. Book section: Part 1 (*Interactions in context*).

    Parameters
    ----------
    n_train, n_test : int
    wholes, parts : int
        Passed to :func:`part_whole_relation`.
    features : int
        Size of each prototype.
    noise : float
        :math:`\sigma \ge 0`.
    seed : int
        Seeds the relation, the prototypes and the samples.

    Returns
    -------
    dict
        ``{"train": ContextData, "test": ContextData}``; ``inputs`` ``[x1, x2]``, ``latent`` ``(n, 2)`` holds
        ``w, p``.

    Examples
    --------
    >>> data = make_part_whole(6, 4)
    >>> data["train"].inputs[0].shape, data["test"].latent.shape
    (torch.Size([6, 8]), torch.Size([4, 2]))
    """
    where = "make_part_whole"
    check_positive(where, n_train=n_train, n_test=n_test, features=features)
    noise, seed = _check_noise(where, noise), _check_seed(where, seed)
    relation = part_whole_relation(wholes, parts, seed=seed)
    rng = np.random.default_rng([seed, 0])
    protos = [_directions(rng, wholes, features), _directions(rng, parts, features)]
    pairs = [np.argwhere(relation == value) for value in (0, 1)]
    out = {}
    for stream, (split, n) in enumerate((("train", n_train), ("test", n_test)), start=1):
        rng = np.random.default_rng([seed, stream])
        y = rng.integers(0, 2, size=n)
        wp = np.empty((n, 2), dtype=np.int64)
        for value in (0, 1):
            rows = y == value
            wp[rows] = pairs[value][rng.integers(0, len(pairs[value]), size=int(rows.sum()))]
        xs = [protos[m][wp[:, m]] + noise * rng.standard_normal((n, features)) for m in range(2)]
        out[split] = ContextData([torch.tensor(x, dtype=torch.float32) for x in xs], torch.tensor(y).long(),
                                 torch.tensor(wp))
    return out
