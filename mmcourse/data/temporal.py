r"""The temporal toy of Part 4.1: two sequences whose label depends on one event in each and on their order.

Two modalities are noisy sequences of ``steps`` frames with ``features`` features. Each holds exactly one *event*:
modality :math:`m` has a fixed unit direction :math:`p_m \in \mathbb R^d` (drawn once from the seed), and its event
is a short pulse along :math:`s_m p_m` around frame :math:`t_m`, with a sign :math:`s_m \in \{+1, -1\}` (the event's
*kind*, "up" or "down"):

.. math::

    x^{(m)}_t = h\, s_m\, b(t - t_m)\, p_m + \sigma \varepsilon_t, \qquad b(-1) = b(1) = \tfrac12,\ b(0) = 1,
    \ b = 0 \text{ elsewhere}, \qquad \varepsilon_t \sim \mathcal N(0, I_d).

The signs are uniform and independent; the two event times are uniform over the frames ``1 … steps − 2``, at
least ``MIN_GAP`` frames apart, so that the order :math:`o = +1` (modality 1's event first) or :math:`-1` is always
defined. The label is the parity of the three signs,

.. math::

    y = \mathbb 1[\, s_1\, s_2\, o > 0 \,],

"the two events agree in kind if and only if modality 1 spoke first". The order belongs to neither modality: each
sequence knows when its own event happened, not which came first. Given one modality alone, the other's sign is a
fair coin that flips :math:`y`, so each modality alone is *exactly* at chance. A model that adds up one function
of each sequence (late fusion) cannot express a product of signs (the XOR argument of Part 1), so it stays near
chance too; a model must bring the two sequences together over time. The ``latent`` column keeps
:math:`(t_1, s_1, t_2, s_2)` for figures and checks.
"""
from __future__ import annotations

import numpy as np
from datasets import Array2D, ClassLabel, DatasetDict, Features, List, Value

from mmcourse.data._cache import cached
from mmcourse.data._common import check_seed, check_sizes, split_rngs, to_dataset_dict

__all__ = ["load_temporal", "temporal_label"]

EVENT_HEIGHT = 2.0  # h, the pulse's peak along p_m
PULSE = (0.5, 1.0, 0.5)  # b(-1), b(0), b(1)
MIN_GAP = 2  # the two events are at least this many frames apart


def temporal_label(t1, s1, t2, s2):
    """The label of the temporal toy: ``1`` when ``s1 · s2 · o > 0``, with ``o = +1`` if ``t1 < t2`` else ``-1``.

    Works elementwise on NumPy arrays or torch tensors (or plain numbers) of event times and signs (±1).

    Examples
    --------
    >>> temporal_label(3, 1, 10, 1), temporal_label(10, 1, 3, 1), temporal_label(10, -1, 3, 1)
    (1, 0, 1)
    """
    order = (t1 < t2) * 2 - 1
    return (s1 * s2 * order > 0) * 1


def _check_number(where: str, minimum: float, **values: object) -> dict[str, float]:
    for arg, v in values.items():
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                or not np.isfinite(v) or v < minimum:
            raise ValueError(f"{where}: {arg} must be a finite number >= {minimum}, got {arg}={v!r}")
    return {arg: float(v) for arg, v in values.items()}


def _check_int(where: str, minimum: int, **values: object) -> dict[str, int]:
    for arg, v in values.items():
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
            raise ValueError(f"{where}: {arg} must be an integer >= {minimum}, got {arg}={v!r}")
    return {arg: int(v) for arg, v in values.items()}


def load_temporal(*, n_train: int = 1000, n_val: int = 300, n_test: int = 1000, steps: int = 20, features: int = 4,
                  noise: float = 0.25, seed: int = 0, cache: bool = True) -> DatasetDict:
    """Load (generate on first use) the temporal toy: one signed event per modality, labelled by sign and order.

    See the module docstring for the construction: the label is the parity of the two events' signs and of their
    order, so each modality alone is at chance and the order of the events, held by neither, matters.

    Book section: Part 4.1 Structure modeling (temporal structure, structure discovery).

    Parameters
    ----------
    n_train, n_val, n_test : int
        Number of pairs of sequences in the ``train``, ``validation`` and ``test`` splits.
    steps : int
        Frames per sequence, at least 6 (so that two events fit ``MIN_GAP`` frames apart inside the edges).
    features : int
        Features per frame, at least 1.
    noise : float
        Standard deviation σ ≥ 0 of the Gaussian noise on every feature of every frame (the pulse peaks at 2).
    seed : int
        Seeds the two directions (drawn first) and every sample; each split has its own stream, so changing
        ``n_train`` leaves the test set as it was.
    cache : bool
        Read and write the on-disk cache (and the in-process memo); ``False`` generates afresh.

    Returns
    -------
    DatasetDict
        Splits ``train``, ``validation``, ``test`` in torch format with columns ``x1``, ``x2`` (``Array2D``
        (steps, features) float32), ``latent`` (int32 ``[t1, s1, t2, s2]``) and ``label`` (``ClassLabel`` with names
        ``["0", "1"]``). :func:`mmcourse.data.as_tensors` returns ``[x1, x2]`` and the labels.

    Examples
    --------
    >>> ds = load_temporal(n_train=8, n_val=4, n_test=4, cache=False)
    >>> ds["train"]["x1"][:].shape, ds["train"]["latent"][:].shape
    (torch.Size([8, 20, 4]), torch.Size([8, 4]))
    """
    where = "load_temporal"
    sizes = check_sizes(where, n_train=n_train, n_val=n_val, n_test=n_test)
    steps = _check_int(where, 2 + 2 * MIN_GAP, steps=steps)["steps"]
    features = _check_int(where, 1, features=features)["features"]
    noise = _check_number(where, 0.0, noise=noise)["noise"]
    seed = check_seed(seed, where)
    params = {**sizes, "steps": steps, "features": features, "noise": noise, "seed": seed}
    return cached("temporal", params, lambda: _generate(**params), cache)


def _events(rng: np.random.Generator, n: int, steps: int) -> tuple[np.ndarray, ...]:
    """Event times ``t1, t2`` (uniform over 1 … steps − 2, at least MIN_GAP apart) and signs ``s1, s2`` (±1)."""
    t1, t2 = rng.integers(1, steps - 1, size=(2, n))
    close = np.abs(t1 - t2) < MIN_GAP
    while close.any():  # redraw both times of the too-close pairs: the pair stays uniform over the allowed ones
        t1[close], t2[close] = rng.integers(1, steps - 1, size=(2, int(close.sum())))
        close = np.abs(t1 - t2) < MIN_GAP
    s1, s2 = 2 * rng.integers(0, 2, size=(2, n)) - 1
    return t1, s1, t2, s2


def _render(rng: np.random.Generator, times: np.ndarray, signs: np.ndarray, direction: np.ndarray, steps: int,
            noise: float) -> np.ndarray:
    n = len(times)
    pulse = np.zeros((n, steps))
    for offset, height in zip((-1, 0, 1), PULSE):
        pulse[np.arange(n), times + offset] = height
    x = EVENT_HEIGHT * (signs[:, None] * pulse)[:, :, None] * direction
    return (x + noise * rng.standard_normal(x.shape)).astype(np.float32)


def _generate(*, n_train: int, n_val: int, n_test: int, steps: int, features: int, noise: float,
              seed: int) -> DatasetDict:
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((2, features))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    sizes = {"train": n_train, "validation": n_val, "test": n_test}
    columns = {}
    for split, split_rng in split_rngs(rng).items():
        t1, s1, t2, s2 = _events(split_rng, sizes[split], steps)
        columns[split] = {"x1": _render(split_rng, t1, s1, directions[0], steps, noise),
                          "x2": _render(split_rng, t2, s2, directions[1], steps, noise),
                          "latent": np.stack([t1, s1, t2, s2], axis=1).astype(np.int32),
                          "label": temporal_label(t1, s1, t2, s2).astype(np.int64)}
    features_ = Features({"x1": Array2D((steps, features), "float32"), "x2": Array2D((steps, features), "float32"),
                          "latent": List(Value("int32"), length=4), "label": ClassLabel(names=["0", "1"])})
    return to_dataset_dict(columns, features_)
