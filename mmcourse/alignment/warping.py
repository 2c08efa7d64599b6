"""Warping (Part 3.2 of the book, continuous alignment): dynamic time warping and its smooth relative, soft-DTW.

Both align two sequences ``x`` (n steps) and ``y`` (m steps) of d features by a monotone warping path from
``(0, 0)`` to ``(n−1, m−1)`` with steps ``(1, 0)``, ``(0, 1)`` and ``(1, 1)``, and both score a pair of steps by
the squared Euclidean distance ``δ(i, j) = ‖x_i − y_j‖²``. DTW takes the cheapest path; soft-DTW replaces the
minimum by a soft minimum, which makes the value differentiable in ``x`` and ``y``.

The dynamic programmes run along anti-diagonals ``i + j = k``: every cell of one anti-diagonal depends only on the
two previous ones, so each anti-diagonal is one vectorised step and the Python loop has ``n + m − 1`` iterations
instead of ``n·m``.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.distance import cdist

from mmcourse.alignment._checks import as_numpy, as_tensor, check_pair, positive

__all__ = ["dtw", "soft_dtw", "soft_alignment", "squared_distances"]


def _two_d(array):
    """A 1-D sequence of scalars is a sequence of one feature: ``(n,)`` becomes ``(n, 1)``."""
    return array.reshape(-1, 1) if array.ndim == 1 else array


def squared_distances(x, y) -> np.ndarray:
    r"""The local cost matrix of DTW: ``δ(i, j) = ‖x_i − y_j‖²`` for every pair of steps.

    :math:`\delta_{ij} = \lVert x_i - y_j \rVert_2^2`, computed in one call (SciPy's ``cdist``, which sums the
    squared differences directly, so that ``δ(i, i) = 0`` exactly for identical steps; the expansion
    ``‖x‖² + ‖y‖² − 2xᵀy`` would leave rounding noise there).

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (n, d) or (n,)
    y : array-like or torch.Tensor, shape (m, d) or (m,)

    Returns
    -------
    numpy.ndarray, shape (n, m), float64

    Examples
    --------
    >>> squared_distances([[0.0, 0.0], [1.0, 1.0]], [[1.0, 0.0]])
    array([[1.],
           [1.]])
    """
    where = "squared_distances"
    x = _two_d(as_numpy(x, "x", where))
    y = _two_d(as_numpy(y, "y", where))
    check_pair(x.shape, y.shape, where)
    return cdist(x, y, "sqeuclidean")


def dtw(x, y) -> tuple[float, list[tuple[int, int]]]:
    r"""Dynamic time warping: the cheapest monotone alignment of two sequences, and one path that attains it.

    With the local cost ``δ(i, j) = ‖x_i − y_j‖²``, the accumulated cost obeys
    ``R[i, j] = δ(i, j) + min(R[i−1, j], R[i, j−1], R[i−1, j−1])`` with ``R[−1, −1] = 0`` and ``+∞`` on the other
    borders, i.e. :math:`R_{ij} = \delta_{ij} + \min(R_{i-1,j}, R_{i,j-1}, R_{i-1,j-1})`, and
    ``cost = R[n−1, m−1]``: the minimum over all monotone warping paths from ``(0, 0)`` to ``(n−1, m−1)`` (steps
    ``(1, 0)``, ``(0, 1)``, ``(1, 1)``) of the sum of ``δ`` along the path. The path is read back from ``(n−1, m−1)``
    by stepping to the cheapest predecessor (on ties the diagonal one, then the one that steps back in x).

    Paper: H. Sakoe and S. Chiba (1978), "Dynamic programming algorithm optimization for spoken word recognition",
    IEEE Transactions on Acoustics, Speech, and Signal Processing.

    Book section: Part 3.2 Continuous alignment (warping).

    Time ``O(n·m·d)`` for the cost matrix and ``O(n·m)`` for the dynamic programme, vectorised along
    anti-diagonals; memory ``O(n·m)``.

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (n, d) or (n,)
        The first sequence: n ≥ 1 steps of d features (a 1-D input is n steps of one feature). A tensor is
        detached: DTW is not differentiable (use :func:`soft_dtw` for a loss).
    y : array-like or torch.Tensor, shape (m, d) or (m,)
        The second sequence, with the same number of features.

    Returns
    -------
    cost : float
        The DTW cost, ``≥ 0``; ``0`` exactly when y is x with steps repeated (or x itself).
    path : list of (int, int)
        The pairs ``(i, j)`` of one optimal path, from ``(0, 0)`` to ``(n−1, m−1)``, each step one of
        ``(1, 0)``, ``(0, 1)``, ``(1, 1)``.

    Raises
    ------
    ValueError
        On an empty sequence, a rank other than 1 or 2, different feature sizes, or NaN / infinity.

    Examples
    --------
    >>> cost, path = dtw([0.0, 1.0, 2.0], [0.0, 1.0, 1.0, 2.0])
    >>> cost, path
    (0.0, [(0, 0), (1, 1), (1, 2), (2, 3)])
    """
    delta = squared_distances(x, y)
    n, m = delta.shape
    # [teach]
    # R is padded by one row and one column: R[i + 1, j + 1] is the accumulated cost of cell (i, j), and the
    # padding carries the boundary condition (0 at the corner, +∞ elsewhere). It is stored skewed, by anti-diagonal:
    # S[k, i] = R[i, k − i], so that each anti-diagonal is a contiguous row and its three predecessors are plain
    # slices of the two rows before it (no fancy indexing in the loop).
    S = np.full((n + m + 1, n + 1), np.inf)
    S[0, 0] = 0.0
    local = np.full((n + m + 1, n + 1), np.inf)       # δ in the same skewed layout, filled in one scatter
    rows, cols = np.indices((n, m))
    local[rows + cols + 2, rows + 1] = delta
    for k in range(2, n + m + 1):
        lo, hi = max(1, k - m), min(n, k - 1)         # the cells (i, k − i) inside the grid
        # R[i−1, j], R[i, j−1] and R[i−1, j−1] for the cells i = lo … hi of this anti-diagonal
        up, left, diag = S[k - 1, lo - 1:hi], S[k - 1, lo:hi + 1], S[k - 2, lo - 1:hi]
        S[k, lo:hi + 1] = local[k, lo:hi + 1] + np.minimum(np.minimum(up, left), diag)
    cost = float(S[n + m, n])
    # [/teach]

    # Backtrack: from each cell go to the predecessor whose accumulated cost is smallest; that predecessor is the
    # one the minimum above used, so the path's δ-sum is exactly R[n, m]. On ties the diagonal comes first, then
    # the step in x, so the path returned is deterministic.
    R = S.tolist()                                    # Python floats: scalar look-ups are faster than on arrays
    path = [(n - 1, m - 1)]
    i, j = n, m
    while (i, j) != (1, 1):
        k = i + j
        diag, up, left = R[k - 2][i - 1], R[k - 1][i - 1], R[k - 1][i]
        if diag <= up and diag <= left:
            i, j = i - 1, j - 1
        elif up <= left:
            i -= 1
        else:
            j -= 1
        path.append((i - 1, j - 1))
    path.reverse()
    return cost, path


def _softmin(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, gamma: float) -> torch.Tensor:
    """``softmin_γ(a, b, c) = −γ log(e^{−a/γ} + e^{−b/γ} + e^{−c/γ})``, elementwise, by a stable log-sum-exp."""
    return -gamma * torch.logsumexp(torch.stack((a, b, c)) / -gamma, dim=0)


def soft_dtw(x, y, gamma: float = 1.0):
    r"""Soft-DTW: DTW with the minimum replaced by a soft minimum, a differentiable alignment loss.

    ``R[i, j] = δ(i, j) + softmin_γ(R[i−1, j], R[i, j−1], R[i−1, j−1])`` with
    ``softmin_γ(a₁, …) = −γ log Σ_k exp(−a_k/γ)``, ``δ(i, j) = ‖x_i − y_j‖²``, ``R[−1, −1] = 0`` and ``+∞`` on the
    other borders; the value is ``R[n−1, m−1]``. Unrolled, it is a soft minimum over *all* monotone warping paths:
    :math:`\mathrm{sdtw}_\gamma(x, y) = -\gamma \log \sum_{A} \exp(-\langle A, \Delta(x, y)\rangle / \gamma)`.
    Because ``softmin ≤ min``, ``soft_dtw ≤ dtw`` for every γ, and ``dtw − γ log N ≤ soft_dtw`` with N the number of
    paths, so soft-DTW tends to DTW as γ → 0. It can be negative.

    Paper: M. Cuturi and M. Blondel (2017), "Soft-DTW: a Differentiable Loss Function for Time-Series", ICML.

    Book section: Part 3.2 Continuous alignment (warping).

    The gradient comes from autograd through the anti-diagonal recursion (the same numbers as the paper's
    backward recursion, without a second hand-written pass). Every cell that is computed has at least one finite
    predecessor, so no ``logsumexp`` sees only ``+∞`` and no NaN enters the gradient.

    Parameters
    ----------
    x : torch.Tensor or array-like, shape (n, d) or (n,)
        The first sequence. A floating-point tensor keeps its dtype, device and autograd graph; an integer tensor
        is cast to the default float dtype; NumPy arrays and lists are computed in float64.
    y : torch.Tensor or array-like, shape (m, d) or (m,)
        The second sequence, with the same number of features.
    gamma : float, default 1.0
        The smoothing γ > 0.

    Returns
    -------
    torch.Tensor or float
        A 0-d tensor, differentiable with respect to x and y, when x or y is a tensor (the two are promoted to a
        common dtype); a Python float when both are NumPy arrays or lists.

    Raises
    ------
    ValueError
        On γ ≤ 0, an empty sequence, different feature sizes, or NaN / infinity.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[0.0], [1.0], [2.0]], requires_grad=True)
    >>> value = soft_dtw(x, torch.tensor([[0.0], [2.0]]), gamma=0.1)
    >>> value.backward(); x.grad.shape
    torch.Size([3, 1])
    >>> import math   # three paths: the diagonal costs 0, the two others cost 1; lists give a float
    >>> math.isclose(soft_dtw([0.0, 1.0], [0.0, 1.0], gamma=1.0), -math.log(1 + 2 * math.exp(-1)))
    True
    """
    where = "soft_dtw"
    gamma = positive(gamma, "gamma", where)
    as_float = not isinstance(x, torch.Tensor) and not isinstance(y, torch.Tensor)
    x = _two_d(as_tensor(x, "x", where))
    y = _two_d(as_tensor(y, "y", where))
    check_pair(tuple(x.shape), tuple(y.shape), where)
    dtype = torch.promote_types(x.dtype, y.dtype)
    x, y = x.to(dtype), y.to(device=x.device, dtype=dtype)

    # δ by broadcasting the differences (not torch.cdist: its gradient is NaN at zero distance).
    delta = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    value = _soft_dtw_from_cost(delta, gamma)
    return float(value) if as_float else value


def _soft_dtw_from_cost(delta: torch.Tensor, gamma: float) -> torch.Tensor:
    """The soft-DTW recursion on a local cost matrix ``delta`` (n, m): the value ``R[n−1, m−1]``, a 0-d tensor.

    Differentiable with respect to ``delta``; ``∂ value / ∂ delta`` is the expected alignment
    (:func:`soft_alignment`). ``delta`` must be a finite floating-point tensor and ``gamma > 0`` (not checked here).
    """
    n, m = delta.shape
    dtype, device = delta.dtype, delta.device
    # Anti-diagonal k holds the cells (i, k − i) in padded coordinates, stored as a vector indexed by i = 0…n with
    # +∞ where the cell is outside the grid or on the border. Keeping whole diagonals as fresh tensors (built by
    # concatenation, never written in place) keeps autograd simple.
    inf = torch.tensor(float("inf"), dtype=dtype, device=device)
    prev2 = torch.cat((torch.zeros(1, dtype=dtype, device=device), inf.expand(n)))     # k = 0: R[0, 0] = 0
    prev1 = inf.expand(n + 1)                                                          # k = 1: the border
    for k in range(2, n + m + 1):
        lo, hi = max(1, k - m), min(n, k - 1)
        i = torch.arange(lo, hi + 1, device=device)
        up, left, diag = prev1[lo - 1:hi], prev1[lo:hi + 1], prev2[lo - 1:hi]        # R[i−1,j], R[i,j−1], R[i−1,j−1]
        cells = delta[i - 1, k - i - 1] + _softmin(up, left, diag, gamma)
        current = torch.cat((inf.expand(lo), cells, inf.expand(n - hi)))
        prev2, prev1 = prev1, current
    return prev1[n]


def soft_alignment(x, y, gamma: float = 1.0) -> np.ndarray:
    r"""The expected alignment matrix of soft-DTW: ``E[A] = ∂ sdtw_γ(x, y) / ∂Δ``, one number in [0, 1] per cell.

    Soft-DTW is a soft minimum over all monotone warping paths A (0/1 matrices, ``A[i, j] = 1`` where the path
    visits ``(i, j)``) of their cost ``⟨A, Δ⟩``. Its gradient with respect to the local cost matrix
    ``Δ[i, j] = ‖x_i − y_j‖²`` is the expectation of A under the Gibbs distribution over paths:
    :math:`
abla_\Delta \mathrm{sdtw}_\gamma = \mathbb E_\gamma[A] = \sum_A A\, p_\gamma(A)` with
    :math:`p_\gamma(A) \propto \exp(-\langle A, \Delta
angle/\gamma)`. So ``E[A][i, j]`` is the probability that
    the path goes through ``(i, j)``: 1 at ``(0, 0)`` and ``(n−1, m−1)``, which every path visits, and the 0/1
    indicator of the DTW path in the limit γ → 0 (when that path is unique); large γ spreads it over the grid.

    Computed by autograd through the same anti-diagonal recursion as :func:`soft_dtw` (the paper's backward
    recursion gives the same numbers), in float64, on the CPU.

    Paper: M. Cuturi and M. Blondel (2017), "Soft-DTW: a Differentiable Loss Function for Time-Series", ICML
    (section 2.3 and figure 2: the expected alignment).

    Book section: Part 3.2 Continuous alignment (warping).

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (n, d) or (n,)
        The first sequence (a tensor is detached).
    y : array-like or torch.Tensor, shape (m, d) or (m,)
        The second sequence, with the same number of features.
    gamma : float, default 1.0
        The smoothing γ > 0 of :func:`soft_dtw`.

    Returns
    -------
    numpy.ndarray, shape (n, m), float64
        The expected alignment, entries in [0, 1] (clipped to that range against rounding of order 1e-16).

    Raises
    ------
    ValueError
        On γ ≤ 0, an empty sequence, different feature sizes, or NaN / infinity.

    Examples
    --------
    >>> import numpy as np
    >>> np.round(soft_alignment([0.0, 1.0], [0.0, 1.0], gamma=1.0), 3)   # 3 paths, the diagonal one cheapest
    array([[1.   , 0.212],
           [0.212, 1.   ]])
    """
    where = "soft_alignment"
    gamma = positive(gamma, "gamma", where)
    x = _two_d(as_numpy(x, "x", where))
    y = _two_d(as_numpy(y, "y", where))
    check_pair(x.shape, y.shape, where)
    delta = torch.from_numpy(cdist(x, y, "sqeuclidean")).requires_grad_(True)
    (grad,) = torch.autograd.grad(_soft_dtw_from_cost(delta, gamma), delta)
    return np.clip(grad.numpy(), 0.0, 1.0)
