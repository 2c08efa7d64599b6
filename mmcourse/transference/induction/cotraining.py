r"""Co-training and self-training (Part 6.4, model induction): classifiers that label unlabelled rows for each other.

**Co-training** (Blum and Mitchell, 1998, *Combining Labeled and Unlabeled Data with Co-Training*) has two views of
each example, :math:`x = (x^{(1)}, x^{(2)})`, a few labelled rows :math:`L` and many unlabelled ones :math:`U`. Each
round, a classifier :math:`f_v` is fitted on view :math:`v` of :math:`L`; each labels the :math:`k` rows of
:math:`U` it is most sure of,

.. math::

    S_v = \operatorname{top-}k_{\,i \in U} \; \max_c \hat p_v(c \mid x_i^{(v)}), \qquad
    \hat y_i = \arg\max_c \hat p_v(c \mid x_i^{(v)}),

and :math:`L \leftarrow L \cup \{(i, \hat y_i) : i \in S_1 \cup S_2\}`, :math:`U \leftarrow U \setminus
(S_1 \cup S_2)`. A row that view 1 finds easy may be hard for view 2: if the views are conditionally independent
given the label, view 1's confident labels are, to view 2, like fresh random labelled examples (with some noise),
and view 2 learns from them something it could not learn alone. **Self-training** (Yarowsky, 1995) is the same loop
with one view labelling rows for itself: it can only grow the regions it is already sure of.

Two choices that the papers leave open are made here:

- **class balance**: Blum and Mitchell add :math:`p` positives and :math:`n` negatives per round, in the ratio of
  the classes. With ``balanced=True`` (the default) each classifier takes its picks round-robin over the classes it
  predicts (the most confident row of each class, then the second, ...), so that an easy class cannot flood
  :math:`L` (without it, the digits' self-training collapses onto a few classes);
- **conflicts**: a row that both classifiers pick, with different labels, is left in :math:`U` (neither label is
  trusted); picked by both with one label, it is added once.
"""
from __future__ import annotations

import numpy as np

from mmcourse.transference.induction._inputs import (UNLABELLED, as_ints, as_labels, as_rows, check_classifier,
                                                     check_schedule, predicted_classes)
from mmcourse.utils import check_positive

__all__ = ["most_confident", "merge_picks", "co_training_step", "co_training", "self_training"]


def most_confident(proba, k: int, *, classes=None, balanced: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` rows of ``proba`` whose largest class probability is highest, and the class each one gets.

    Parameters
    ----------
    proba : array (n, C)
        Class probabilities per row (``predict_proba`` output).
    k : int
        How many rows to pick (all of them if ``k >= n``).
    classes : array (C,), optional
        The class of each column; defaults to ``0 .. C-1``.
    balanced : bool
        Pick round-robin over the predicted classes (each class's most confident row first, then each one's
        second, ...), as Blum and Mitchell's :math:`p` positives and :math:`n` negatives per round.

    Returns
    -------
    rows : int64 array (min(k, n),)
        Row indices, most confident first (in balanced mode, by round-robin rank, then confidence).
    labels : array (min(k, n),)
        ``classes[argmax]`` of those rows.

    Examples
    --------
    >>> most_confident(np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8]]), 2)
    (array([0, 2]), array([0, 1]))
    """
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2:
        raise ValueError(f"most_confident: proba must have shape (n, classes), got {proba.shape}")
    if not np.isfinite(proba).all():
        raise ValueError("most_confident: proba contains NaN or infinite values")
    check_positive("most_confident", k=k)
    classes = np.arange(proba.shape[1]) if classes is None else np.asarray(classes)
    confidence, predicted = proba.max(1), proba.argmax(1)
    order = np.argsort(-confidence, kind="stable")
    if balanced:
        rank = np.empty(len(order), dtype=np.int64)  # a row's rank among the rows predicted in its class
        for c in np.unique(predicted):
            members = order[predicted[order] == c]
            rank[members] = np.arange(len(members))
        order = np.lexsort((-confidence, rank))
    rows = order[:k].astype(np.int64)
    return rows, classes[predicted[rows]]


def merge_picks(rows1, labels1, rows2, labels2) -> tuple[np.ndarray, np.ndarray]:
    """Merge two classifiers' picks: the union of their rows, each once; a row both picked with different labels is
    dropped (it stays unlabelled). Returns ``(rows, labels)`` sorted by row.

    Examples
    --------
    >>> merge_picks([3, 5], [1, 0], [5, 7, 3], [0, 2, 0])
    (array([5, 7]), array([0, 2]))
    """
    rows1, labels1, rows2, labels2 = (as_ints(v, name, "merge_picks") for v, name in
                                      ((rows1, "rows1"), (labels1, "labels1"), (rows2, "rows2"), (labels2, "labels2")))
    if len(rows1) != len(labels1) or len(rows2) != len(labels2):
        raise ValueError(f"merge_picks: each pick needs one label per row, got {len(rows1)} rows1 and {len(labels1)} "
                         f"labels1, {len(rows2)} rows2 and {len(labels2)} labels2")
    given: dict[int, int] = {}
    conflicts: set[int] = set()
    for rows, labels in ((rows1, labels1), (rows2, labels2)):
        for row, label in zip(rows.tolist(), labels.tolist()):
            if given.setdefault(row, label) != label:
                conflicts.add(row)
    kept = sorted(set(given) - conflicts)
    return np.array(kept, dtype=np.int64), np.array([given[r] for r in kept], dtype=np.int64)


def co_training_step(model1, model2, x1: np.ndarray, x2: np.ndarray, labels: np.ndarray, *, per_round: int,
                     balanced: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """One round of :func:`co_training`: fit each model on its view of the labelled rows (``labels != -1``), let each
    pick its ``per_round`` most confident unlabelled rows, and merge the picks. Returns ``(rows, labels)`` to add;
    ``labels`` itself is not changed. ``x1``, ``x2`` are ``(n, d)`` arrays, ``labels`` class ids with -1 for the
    unlabelled rows.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> x = np.array([[0.0], [0.1], [1.0], [0.9], [0.2], [0.8]]); given = np.array([0, 0, 1, 1, -1, -1])
    >>> co_training_step(LogisticRegression(), LogisticRegression(), x, x, given, per_round=2)
    (array([4, 5]), array([0, 1]))
    """
    where = "co_training_step"
    x1, x2 = as_rows(x1, "x1", where), as_rows(x2, "x2", where)
    if not len(x1) == len(x2) == len(labels):
        raise ValueError(f"{where}: x1, x2 and labels must have the same length, got {len(x1)}, {len(x2)} and "
                         f"{len(labels)}")
    labels = as_labels(labels, len(x1), where)
    known, pool = labels != UNLABELLED, np.flatnonzero(labels == UNLABELLED)
    classes = np.unique(labels[known])
    picks = []
    for model, x in ((model1, x1), (model2, x2)):
        model.fit(x[known], labels[known])
        proba = np.asarray(model.predict_proba(x[pool]), dtype=np.float64)
        rows, _ = most_confident(proba, per_round, balanced=balanced)
        picks += [pool[rows], predicted_classes(model, proba[rows], classes)]
    return merge_picks(*picks)  # a row the two views label differently stays unlabelled


def co_training(view1, view2, labels, *, rounds: int, per_round: int, model1, model2, balanced: bool = True):
    """Co-training (Blum and Mitchell, 1998; Part 6.4): two classifiers on two views label rows for each other.

    Each round fits ``model1`` on view 1 and ``model2`` on view 2 of the labelled rows; each picks its
    ``per_round`` most confident unlabelled rows (:func:`most_confident`; by default class-balanced, round-robin over
    the classes it predicts, the multi-class form of Blum and Mitchell's p positives and n negatives), and the picks, merged by
    :func:`merge_picks` (a row picked by both with different labels stays unlabelled), join the labelled rows that
    **both** classifiers train on next. The loop stops early when the unlabelled pool runs out. Finally both models
    are fitted on all the labels, given and pseudo.

    Parameters
    ----------
    view1, view2 : array (n, ...) (NumPy or torch)
        The two views, one row per example; arrays of more than two dimensions (``(n, 8, 8)`` images) are flattened
        per row, so a model receives ``(rows, d)`` float64 arrays.
    labels : int array (n,)
        Class ids >= 0 for labelled rows, -1 for unlabelled ones; not modified.
    rounds, per_round : int
        Number of rounds, and the rows each classifier labels per round (at most ``2 * per_round`` added).
    model1, model2
        Classifiers with ``fit(X, y)`` and ``predict_proba(X)`` (scikit-learn's, or :class:`TorchClassifier`);
        fitted in place and returned.
    balanced : bool
        Pick round-robin over the predicted classes (see :func:`most_confident`).

    Returns
    -------
    model1, model2
        Fitted on all the labels at the end.
    history : list of (indices, labels)
        One pair of int64 arrays per round run: the rows added in that round and the labels given to them.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0); y = rng.integers(0, 2, 60)
    >>> v1, v2 = y[:, None] + rng.normal(size=(60, 2)), y[:, None] + rng.normal(size=(60, 3))
    >>> given = np.where(np.arange(60) < 6, y, -1)
    >>> m1, m2, history = co_training(v1, v2, given, rounds=3, per_round=5, model1=LogisticRegression(),
    ...                               model2=LogisticRegression())
    >>> len(history), all(len(rows) <= 10 for rows, _ in history)
    (3, True)
    """
    where = "co_training"
    x1, x2 = as_rows(view1, "view1", where), as_rows(view2, "view2", where)
    if len(x1) != len(x2):
        raise ValueError(f"{where}: view1 and view2 must have the same number of rows, got {len(x1)} and {len(x2)}")
    labels = as_labels(labels, len(x1), where).copy()  # the caller's array is never written
    check_schedule(labels, rounds, per_round, where)
    check_classifier(model1, "model1", where)
    check_classifier(model2, "model2", where)
    history = []
    for _ in range(rounds):
        if not (labels == UNLABELLED).any():
            break
        rows, given = co_training_step(model1, model2, x1, x2, labels, per_round=per_round, balanced=balanced)
        labels[rows] = given
        history.append((rows, given))
    known = labels != UNLABELLED
    model1.fit(x1[known], labels[known])
    model2.fit(x2[known], labels[known])
    return model1, model2, history


def self_training(view, labels, *, rounds: int, per_round: int, model, balanced: bool = True):
    """Self-training (Yarowsky, 1995; Part 6.4), the single-view baseline of :func:`co_training`: one classifier
    labels its own ``per_round`` most confident unlabelled rows each round and is refitted on them.

    Parameters and bad input as :func:`co_training`, with one ``view`` and one ``model``.

    Returns
    -------
    model
        Fitted on all the labels at the end.
    history : list of (indices, labels)
        One pair per round: the rows added and their labels.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0); y = rng.integers(0, 2, 40)
    >>> given = np.where(np.arange(40) < 6, y, -1)
    >>> model, history = self_training(y[:, None] + rng.normal(size=(40, 2)), given, rounds=2, per_round=4,
    ...                                model=LogisticRegression())
    >>> [len(rows) for rows, _ in history]
    [4, 4]
    """
    where = "self_training"
    x = as_rows(view, "view", where)
    labels = as_labels(labels, len(x), where).copy()
    check_schedule(labels, rounds, per_round, where)
    check_classifier(model, "model", where)
    classes = np.unique(labels[labels != UNLABELLED])
    history = []
    for _ in range(rounds):
        pool = np.flatnonzero(labels == UNLABELLED)
        if pool.size == 0:
            break
        known = labels != UNLABELLED
        model.fit(x[known], labels[known])
        proba = np.asarray(model.predict_proba(x[pool]), dtype=np.float64)
        rows, _ = most_confident(proba, per_round, balanced=balanced)
        order = np.argsort(pool[rows])
        rows, given = pool[rows][order], predicted_classes(model, proba[rows], classes)[order].astype(np.int64)
        labels[rows] = given
        history.append((rows, given))
    known = labels != UNLABELLED
    model.fit(x[known], labels[known])
    return model, history
