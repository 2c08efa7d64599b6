r"""Scoring transcripts and segmentations, and finding boundaries without labels (Part 3.2, segmentation).

- :func:`edit_distance` and :func:`symbol_error_rate`: how far a decoded string is from the truth.
- :func:`segment_boundaries` and :func:`boundary_f1`: where a frame labeling changes, and how many of those
  places match the true ones within a tolerance.
- :func:`segment_changepoints`: the exact penalised least-squares segmentation by dynamic programming, and
  :func:`novelty_curve`: Foote's self-similarity novelty; both find boundaries from the frames alone.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["edit_distance", "symbol_error_rate", "segment_boundaries", "boundary_f1", "segment_cost",
           "segment_changepoints", "novelty_curve"]


def _as_list(seq, where: str, arg: str) -> list:
    try:
        return [int(v) for v in (seq.tolist() if hasattr(seq, "tolist") else seq)]
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {arg} must be a 1-D sequence of integers, got {seq!r}") from None


def edit_distance(a: Sequence[int], b: Sequence[int]) -> int:
    r"""The Levenshtein distance: the fewest insertions, deletions and substitutions that turn ``a`` into ``b``.

    :math:`D_{i,j} = \min(D_{i-1,j} + 1,\; D_{i,j-1} + 1,\; D_{i-1,j-1} + [a_i \ne b_j])`, with
    :math:`D_{i,0} = i`, :math:`D_{0,j} = j` (Levenshtein, 1966). Time ``O(|a| · |b|)``.

    Examples
    --------
    >>> edit_distance([1, 2, 3], [1, 3]), edit_distance([], [4, 4]), edit_distance([1, 2], [2, 1])
    (1, 2, 2)
    """
    a, b = _as_list(a, "edit_distance", "a"), _as_list(b, "edit_distance", "b")
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def symbol_error_rate(predictions: Sequence, targets: Sequence) -> float:
    """Total edit distance over total target length: ``Σ_n d(ŷ_n, y_n) / Σ_n |y_n|`` (can exceed 1).

    Examples
    --------
    >>> symbol_error_rate([[1, 2], [3]], [[1, 2, 2], [3]])
    0.25
    """
    predictions, targets = list(predictions), list(targets)
    if len(predictions) != len(targets) or not targets:
        raise ValueError(f"symbol_error_rate: predictions and targets must be two non-empty lists of the same "
                         f"length, got {len(predictions)} and {len(targets)}")
    total = sum(len(_as_list(t, "symbol_error_rate", "targets")) for t in targets)
    if total == 0:
        raise ValueError("symbol_error_rate: targets are all empty; the rate divides by their total length")
    return sum(edit_distance(p, t) for p, t in zip(predictions, targets)) / total


def segment_boundaries(labels: Sequence[int]) -> list[int]:
    """The frames where a labeling changes: every ``t ≥ 1`` with ``labels[t] != labels[t − 1]``.

    A boundary ``t`` sits between frames ``t − 1`` and ``t``: it is the first frame of a new segment.

    Examples
    --------
    >>> segment_boundaries([0, 0, 3, 3, 3, 0, 1])
    [2, 5, 6]
    """
    labels = _as_list(labels, "segment_boundaries", "labels")
    return [t for t in range(1, len(labels)) if labels[t] != labels[t - 1]]


def boundary_f1(predicted: Sequence[int], true: Sequence[int], tolerance: int = 1) -> dict[str, float]:
    r"""Precision, recall and F1 of predicted boundaries against true ones, each true one matched at most once.

    A predicted boundary is a hit if it is matched to a distinct true boundary at most ``tolerance`` frames away.
    The matching is a maximum one-to-one matching; on a line, pairing the two sorted lists greedily from the left
    finds one. ``precision = hits / |predicted|``, ``recall = hits / |true|`` (each 1 when its denominator is 0),
    :math:`F_1 = 2PR / (P + R)` (0 when both are 0). This is the usual measure of phone and word segmentation.

    Examples
    --------
    >>> boundary_f1([3, 10, 11], [2, 11, 20])
    {'precision': 0.6666666666666666, 'recall': 0.6666666666666666, 'f1': 0.6666666666666666}
    """
    where = "boundary_f1"
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, np.integer)) or tolerance < 0:
        raise ValueError(f"{where}: tolerance must be an integer >= 0 (frames), got {tolerance!r}")
    predicted = sorted(set(_as_list(predicted, where, "predicted")))
    true = sorted(set(_as_list(true, where, "true")))
    hits = i = j = 0
    while i < len(predicted) and j < len(true):
        if abs(predicted[i] - true[j]) <= tolerance:
            hits, i, j = hits + 1, i + 1, j + 1
        elif predicted[i] < true[j]:
            i += 1
        else:
            j += 1
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(true) if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _check_signal(x, where: str) -> np.ndarray:
    x = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"{where}: x must have shape (T,) or (T, d) with T >= 1, got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{where}: x contains NaN or infinite values")
    return x


def _check_penalty(penalty, where: str) -> float:
    if isinstance(penalty, bool) or not isinstance(penalty, (int, float, np.integer, np.floating)) \
            or not np.isfinite(penalty) or penalty < 0:
        raise ValueError(f"{where}: penalty must be a finite number >= 0, got {penalty!r}")
    return float(penalty)


def segment_cost(x, boundaries: Sequence[int], penalty: float = 0.0) -> float:
    r"""The penalised within-segment squared error of a segmentation: what :func:`segment_changepoints` minimises.

    :math:`J = \sum_{k} \sum_{t \in \text{segment } k} \lVert x_t - \bar x_k \rVert^2 + \beta \cdot
    (\text{number of boundaries})`, segments cut at ``boundaries`` (sorted, in ``1 … T − 1``).

    Examples
    --------
    >>> segment_cost([0.0, 0.0, 1.0, 3.0], [2], penalty=0.5)
    2.5
    """
    where = "segment_cost"
    x = _check_signal(x, where)
    penalty = _check_penalty(penalty, where)
    cuts = _as_list(boundaries, where, "boundaries")
    if cuts != sorted(set(cuts)) or any(not 1 <= c < len(x) for c in cuts):
        raise ValueError(f"{where}: boundaries must be distinct, sorted and in [1, {len(x) - 1}], got {cuts}")
    edges = [0, *cuts, len(x)]
    within = sum(float(((x[s:e] - x[s:e].mean(axis=0)) ** 2).sum()) for s, e in zip(edges[:-1], edges[1:]))
    return within + penalty * len(cuts)


def segment_changepoints(x, penalty: float, min_size: int = 1) -> list[int]:
    r"""The exact minimiser of :func:`segment_cost`: optimal partitioning by dynamic programming.

    With :math:`C(s, t) = \sum_{i=s}^{t-1} \lVert x_i \rVert^2 - \lVert \sum_{i=s}^{t-1} x_i \rVert^2 / (t - s)`,
    the squared error of the segment ``x[s:t]`` around its mean (from cumulative sums, O(1) each),

    :math:`F(0) = -\beta`, :math:`F(t) = \min_{0 \le s \le t - m} F(s) + C(s, t) + \beta`,

    and :math:`F(T)` is the least penalised cost; the minimising ``s`` of each ``t`` traced back from ``T`` are the
    boundaries. Time and memory ``O(T²)`` (all costs at once, then one vectorised minimum per ``t``). This is the
    *optimal partitioning* of Jackson et al. (2005); Killick et al. (2012) prune it to linear time (PELT). A
    larger penalty never gives more boundaries.

    Book section: Part 3.2 Continuous alignment (segmentation, temporal boundary discovery).

    Parameters
    ----------
    x : array-like, shape (T,) or (T, d)
    penalty : float
        β ≥ 0, the price of one more boundary. With noise of variance σ² per feature, a β of the order of
        ``d σ² log T`` (as in BIC) keeps the noise from opening segments; tune it on held-out data.
    min_size : int, default 1
        The shortest segment ``m``.

    Returns
    -------
    list of int
        The sorted boundaries (first frames of segments 2, 3, …), as :func:`segment_boundaries` returns them.

    Examples
    --------
    >>> segment_changepoints([0.0, 0.1, 0.0, 5.0, 5.1, 2.0, 2.0], penalty=1.0)
    [3, 5]
    """
    where = "segment_changepoints"
    x = _check_signal(x, where)
    penalty = _check_penalty(penalty, where)
    T = len(x)
    if isinstance(min_size, bool) or not isinstance(min_size, (int, np.integer)) or not 1 <= min_size <= T:
        raise ValueError(f"{where}: min_size must be an integer in [1, T={T}], got {min_size!r}")
    x = x - x.mean(axis=0)  # centring changes no segment's cost, and keeps the cumulative sums small
    sums = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    squares = np.concatenate([[0.0], np.cumsum((x ** 2).sum(axis=1))])
    # C[s, t] for every pair at once (O(T²) memory): the loop below is then one slice and one argmin per t
    gram = sums @ sums.T
    lengths = np.arange(T + 1)[None, :] - np.arange(T + 1)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        C = squares[None, :] - squares[:, None] - (np.diag(gram)[None, :] + np.diag(gram)[:, None] - 2 * gram) \
            / lengths
    C = np.maximum(C, 0.0) + penalty   # rounding can leave a tiny negative error on a constant segment
    F = np.full(T + 1, np.inf)
    F[0] = -penalty
    previous = np.zeros(T + 1, dtype=np.int64)
    for t in range(min_size, T + 1):
        total = F[:t - min_size + 1] + C[:t - min_size + 1, t]
        best = int(np.argmin(total))
        F[t], previous[t] = total[best], best
    cuts, t = [], T
    while t > 0:
        t = int(previous[t])
        if t > 0:
            cuts.append(t)
    return sorted(cuts)


def novelty_curve(x, half_width: int = 3) -> np.ndarray:
    r"""Foote's novelty: a checkerboard kernel slid along the diagonal of the self-similarity matrix.

    With the cosine self-similarity :math:`S_{ij} = \cos(x_i, x_j)` and the kernel
    :math:`K_{ab} = \mathrm{sign}(a)\,\mathrm{sign}(b)` for :math:`a, b \in \{-w, …, -1, 0, …, w - 1\}` (the
    two diagonal blocks +1, the two off-diagonal blocks −1),
    :math:`N(t) = \sum_{a,b} K_{ab} S_{t+a, t+b} / (2w)^2`: high where the frames before ``t`` resemble each other and
    the frames after ``t`` too, but the two groups do not, i.e. where a segment ends and another begins. Near the
    ends the window shrinks to ``min(w, t, T − t)`` so that it stays symmetric. Its peaks are candidate
    boundaries (Foote, 2000).

    Returns an array of length T; ``N[t]`` scores a boundary between frames ``t − 1`` and ``t`` (``N[0] = 0``).

    Examples
    --------
    >>> curve = novelty_curve([[1.0, 0.0]] * 4 + [[0.0, 1.0]] * 4, half_width=2)
    >>> int(curve.argmax()), round(float(curve.max()), 3)
    (4, 0.5)
    """
    where = "novelty_curve"
    x = _check_signal(x, where)
    if isinstance(half_width, bool) or not isinstance(half_width, (int, np.integer)) or half_width < 1:
        raise ValueError(f"{where}: half_width must be an integer >= 1, got {half_width!r}")
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    S = unit @ unit.T
    T, w = len(x), int(half_width)
    curve = np.zeros(T)
    for t in range(1, T):
        v = min(w, t, T - t)  # a symmetric window that fits: a flat stretch then scores exactly 0
        sign = np.where(np.arange(-v, v) < 0, -1.0, 1.0)
        curve[t] = sign @ S[t - v:t + v, t - v:t + v] @ sign / (2 * v) ** 2
    return curve
