r"""The chapter's derived tasks and measurements (Part 6.4): hiding all but a few labels, a second view that breaks
co-training's assumption, and how right the pseudo-labels are.

Co-training assumes the two views are **conditionally independent given the label**,
:math:`p(x^{(1)}, x^{(2)} \mid y) = p(x^{(1)} \mid y)\, p(x^{(2)} \mid y)` (Blum and Mitchell, 1998). The digits
pair satisfies it by construction: its audio is rendered from the label alone. :func:`dependent_view` builds a view
that violates it: a fixed random rotation of the image plus noise, :math:`x^{(2)} = R\, x^{(1)} + \sigma
\varepsilon`, which carries the image's own ambiguities (a sloppy 7 stays a sloppy 7), so the two classifiers make
the same mistakes. :func:`error_correlation` measures that: the correlation of the two classifiers' error
indicators, about 0 for independent views and near 1 for copies.
"""
from __future__ import annotations

import numpy as np

from mmcourse._checks import check_int
from mmcourse.transference.induction._inputs import UNLABELLED, as_ints, as_rows
from mmcourse.utils import check_positive

__all__ = ["few_labels", "dependent_view", "error_correlation", "pseudo_label_accuracy"]


def few_labels(labels, n: int, *, seed: int = 0) -> np.ndarray:
    """Keep ``n`` labels, spread over the classes as evenly as possible (``n // C`` per class, the rest to random
    classes), and set all the others to -1 (unlabelled). The input is not modified.

    Examples
    --------
    >>> kept = few_labels(np.repeat(np.arange(3), 10), 6, seed=0)
    >>> int((kept != -1).sum()), np.bincount(kept[kept != -1]).tolist()
    (6, [2, 2, 2])
    """
    labels = as_ints(labels, "labels", "few_labels")
    check_positive("few_labels", n=n)
    check_int("few_labels", "seed", seed, low=0)
    if n > len(labels):
        raise ValueError(f"few_labels: n must be at most the number of rows, {len(labels)}, got {n}")
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    quota = np.full(len(classes), n // len(classes))
    quota[rng.choice(len(classes), n % len(classes), replace=False)] += 1
    kept = np.full(len(labels), UNLABELLED, dtype=np.int64)
    for c, k in zip(classes, quota):
        members = np.flatnonzero(labels == c)
        if k > len(members):
            raise ValueError(f"few_labels: class {c} has {len(members)} rows, fewer than the {k} asked of it")
        chosen = rng.choice(members, k, replace=False)
        kept[chosen] = c
    return kept


def dependent_view(view, *, noise: float = 0.3, seed: int = 0, noise_seed: int | None = None) -> np.ndarray:
    """A second view that is *not* conditionally independent of ``view`` given the label:
    :math:`R x + \\sigma \\varepsilon`, a fixed random rotation ``R`` (from ``seed``: use one seed for the train and
    the test rows) of each flattened row plus Gaussian noise of standard deviation ``noise`` (from ``noise_seed``,
    default ``seed``).

    Examples
    --------
    >>> dependent_view(np.ones((4, 2, 3)), noise=0.0).shape
    (4, 6)
    """
    x = as_rows(view, "view", "dependent_view")
    check_int("dependent_view", "seed", seed, low=0)
    if noise_seed is not None:
        check_int("dependent_view", "noise_seed", noise_seed, low=0)
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not noise >= 0:
        raise ValueError(f"dependent_view: noise must be a number >= 0, got {noise!r}")
    rotation, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(x.shape[1], x.shape[1])))
    rng = np.random.default_rng(seed if noise_seed is None else noise_seed)
    return x @ rotation + noise * rng.normal(size=x.shape)


def error_correlation(predicted1, predicted2, truth) -> float:
    """The correlation (phi coefficient) of two classifiers' error indicators
    :math:`e_v = [\\hat y_v \\ne y]`: about 0 when their mistakes are independent, 1 when they err on the same rows
    (0 is returned when either makes no mistake or only mistakes).

    Examples
    --------
    >>> error_correlation([0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 1, 1])
    1.0
    """
    p1, p2, y = (as_ints(v, name, "error_correlation") for v, name in
                 ((predicted1, "predicted1"), (predicted2, "predicted2"), (truth, "truth")))
    if not len(p1) == len(p2) == len(y) or len(y) == 0:
        raise ValueError(f"error_correlation: predicted1, predicted2 and truth must have the same length ≥ 1, got "
                         f"{len(p1)}, {len(p2)} and {len(y)}")
    e1, e2 = (p1 != y).astype(float), (p2 != y).astype(float)
    if e1.std() == 0 or e2.std() == 0:
        return 0.0
    return float(np.corrcoef(e1, e2)[0, 1])


def pseudo_label_accuracy(history, truth) -> np.ndarray:
    """For each round of a :func:`co_training` or :func:`self_training` history, the fraction of the labels given
    that are right (NaN for a round that added no row).

    Examples
    --------
    >>> pseudo_label_accuracy([(np.array([0, 2]), np.array([1, 1]))], np.array([1, 0, 0]))
    array([0.5])
    """
    y = as_ints(truth, "truth", "pseudo_label_accuracy")
    out = []
    for number, (rows, given) in enumerate(history, start=1):
        rows, given = np.asarray(rows, dtype=np.int64), np.asarray(given)
        if rows.shape != given.shape:
            raise ValueError(f"pseudo_label_accuracy: round {number} has {rows.shape} rows but {given.shape} labels")
        if rows.size and (rows.min() < 0 or rows.max() >= len(y)):
            raise ValueError(f"pseudo_label_accuracy: round {number} has rows from {rows.min()} to {rows.max()}, "
                             f"but truth has {len(y)} rows")
        out.append(float((y[rows] == given).mean()) if len(rows) else float("nan"))
    return np.array(out)
