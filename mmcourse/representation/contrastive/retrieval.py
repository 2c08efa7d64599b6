"""Cross-modal retrieval metrics (Part 2.4): recall@k in both directions, for exact pairs or for classes.

A similarity matrix ``S`` of held-out pairs has one row per example of modality x and one column per example of
modality y, with ``(x_i, y_i)`` the true pairs. Retrieving y from x ranks the columns of row i; retrieving x from y
ranks the rows of column j. Recall@k is the fraction of queries with a relevant item among their k best.

Ties are broken at random, and the recall is its expectation over the tie-break: a query whose relevant item ties
with t others at the cut-off counts for the chance that it lands in the top k. So a matrix of equal entries (a
collapsed model) scores exactly chance, ``k / n``, rather than 0 or 1.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from scipy.special import comb

__all__ = ["recall_at_k", "retrieval_table", "DIRECTIONS"]

DIRECTIONS = ("x_to_y", "y_to_x")


def _as_matrix(similarity, where: str) -> np.ndarray:
    if isinstance(similarity, torch.Tensor):
        similarity = similarity.detach().cpu().numpy()
    s = np.asarray(similarity)
    if s.dtype.kind not in "fiu":
        raise ValueError(f"{where}: similarity must be a real numeric matrix, got dtype {s.dtype}")
    if s.ndim != 2 or s.shape[0] != s.shape[1] or s.shape[0] == 0:
        raise ValueError(f"{where}: similarity must be a square (n, n) matrix of n held-out pairs, got shape "
                         f"{s.shape}")
    if not np.isfinite(s).all():
        raise ValueError(f"{where}: similarity contains NaN or infinite values")
    return s.astype(np.float64)


def recall_at_k(similarity, k: int = 1, *, direction: str = "x_to_y", labels=None) -> float:
    """Recall@k of cross-modal retrieval on n held-out pairs.

    Parameters
    ----------
    similarity : array-like or torch.Tensor, shape (n, n)
        ``similarity[i, j]`` scores x_i against y_j; the true pairs are on the diagonal.
    k : int
        How many retrieved items count, 1 ≤ k ≤ n.
    direction : {"x_to_y", "y_to_x"}
        ``x_to_y``: each x_i is a query over the columns; ``y_to_x``: each y_j is a query over the rows.
    labels : array-like of int, shape (n,), optional
        Class of each pair. Without it an item is relevant only if it is the query's own pair (exact-pair
        recall); with it, any item of the query's class is relevant (class-level recall).

    Returns
    -------
    float
        The mean over the n queries of the probability (over random tie-breaks) that a relevant item is among the
        top k. Chance is ``k / n`` for exact pairs.

    Examples
    --------
    >>> recall_at_k(np.eye(4), 1)
    1.0
    >>> recall_at_k(np.eye(4)[[1, 0, 2, 3]], 1)  # x_0 and x_1 retrieve each other's partner
    0.5
    >>> recall_at_k(np.ones((4, 4)), 2)  # all tied: chance, k/n
    0.5
    """
    where = "recall_at_k"
    s = _as_matrix(similarity, where)
    n = len(s)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ValueError(f"{where}: k must be an integer in 1..{n} (the number of pairs), got {k!r}")
    if direction not in DIRECTIONS:
        raise ValueError(f"{where}: direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    if direction == "y_to_x":
        s = s.T
    if labels is None:
        relevant = np.eye(n, dtype=bool)
    else:
        labels = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
        if labels.shape != (n,):
            raise ValueError(f"{where}: labels must have shape ({n},), one per pair, got {labels.shape}")
        relevant = labels[:, None] == labels[None, :]
    # The k-th best score of each query is the cut-off: items above it are in, items tied with it compete for the
    # r = k - above places left, drawn uniformly among the t tied ones.
    cutoff = -np.partition(-s, k - 1, axis=1)[:, k - 1:k]  # the k-th largest, without a full sort
    above, tied = s > cutoff, s == cutoff
    places = k - above.sum(1)
    t, t_relevant = tied.sum(1), (tied & relevant).sum(1)
    hit_above = (above & relevant).any(1)
    miss_ties = comb(t - t_relevant, places) / comb(t, places)  # every place went to an irrelevant tied item
    return float(np.where(hit_above, 1.0, 1.0 - miss_ties).mean())


def retrieval_table(similarity, ks=(1, 5), *, labels=None, names: tuple[str, str] = ("x", "y")) -> pd.DataFrame:
    """Recall@k in both directions as a table: rows ``"x → y"`` and ``"y → x"``, columns ``R@k`` (exact pairs),
    then ``class R@k`` when ``labels`` are given, and ``chance R@k`` (``k / n``).

    Examples
    --------
    >>> retrieval_table(np.eye(3), ks=(1,), names=("image", "audio"))
                   R@1  chance R@1
    image → audio  1.0    0.333333
    audio → image  1.0    0.333333
    """
    n = len(_as_matrix(similarity, "retrieval_table"))
    rows = {}
    for direction, (a, b) in zip(DIRECTIONS, (names, names[::-1])):
        row = {f"R@{k}": recall_at_k(similarity, k, direction=direction) for k in ks}
        if labels is not None:
            row |= {f"class R@{k}": recall_at_k(similarity, k, direction=direction, labels=labels) for k in ks}
        rows[f"{a} → {b}"] = row | {f"chance R@{k}": k / n for k in ks}
    return pd.DataFrame(rows).T
