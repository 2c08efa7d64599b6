r"""Partial information decomposition (PID) of the label information, under the BROJA definition.

How much do two modalities :math:`X_1, X_2` tell about a label :math:`Y`, and how? The total
:math:`I(X_1, X_2; Y)` splits into four non-negative parts: information that either modality gives alone
(redundancy :math:`R`), that only one gives (uniqueness :math:`U_1, U_2`) and that only the pair gives (synergy
:math:`S`). Bertschinger, Rauh, Olbrich, Jost and Ay (2014, "Quantifying unique information", *Entropy* 16)
define them through the set of distributions with the same pairwise marginals as :math:`p`,

.. math::

    \Delta_p = \{q : q(x_1, y) = p(x_1, y),\ q(x_2, y) = p(x_2, y)\},
    \qquad q^* = \arg\min_{q \in \Delta_p} I_q(X_1, X_2; Y),

and then :math:`U_1 = I_{q^*}(X_1; Y \mid X_2)`, :math:`U_2 = I_{q^*}(X_2; Y \mid X_1)`,
:math:`R = I(X_1; Y) - U_1` and :math:`S = I_p(X_1, X_2; Y) - I_{q^*}(X_1, X_2; Y)`. So
:math:`R + U_1 + U_2 + S = I(X_1, X_2; Y)`, :math:`R + U_1 = I(X_1; Y)` and :math:`R + U_2 = I(X_2; Y)`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import null_space
from scipy.optimize import minimize, nnls

from mmcourse.utils import as_numpy

__all__ = ["PID", "pid"]

# The solver stops once its certified duality gap is below this many bits.
GAP_TOL = 1e-9

# p must sum to one within this (absolute) tolerance: tight enough to catch unnormalised counts, loose enough
# for a table normalised in float32.
SUM_TOL = 1e-6


@dataclass(frozen=True)
class PID:
    """The four parts of the label information, in bits (see :func:`pid`).

    Attributes
    ----------
    redundancy, unique1, unique2, synergy : float
        :math:`R, U_1, U_2, S` in bits.
    total : float
        :math:`I(X_1, X_2; Y) = R + U_1 + U_2 + S` in bits.
    q : np.ndarray
        The optimiser :math:`q^*` of the BROJA program, same shape as ``p``.
    gap : float
        A certified bound, in bits, on how far :math:`I_q(X_1, X_2; Y)` is above the true minimum (the duality gap,
        see :func:`pid`). Each part is within ``gap`` of its exact value, since
        :math:`U_1 = I_q(X_1, X_2; Y) - I(X_2; Y)`, :math:`U_2 = I_q(X_1, X_2; Y) - I(X_1; Y)`, and :math:`R`, :math:`S`
        follow from them and fixed quantities.
    """

    redundancy: float
    unique1: float
    unique2: float
    synergy: float
    total: float
    q: np.ndarray
    gap: float


def _check(p) -> np.ndarray:
    p = as_numpy(p, "p", "pid")
    if p.ndim != 3:
        raise ValueError(f"pid: p must be a 3-D joint distribution p[x1, x2, y], got {p.ndim} axes "
                         f"(shape {p.shape})")
    if 0 in p.shape:
        raise ValueError(f"pid: p has an empty axis (shape {p.shape}); expected at least one value per variable")
    if (p < 0).any():
        raise ValueError(f"pid: p must be non-negative, got a smallest entry of {p.min():.6g}")
    total = p.sum()
    if abs(total - 1.0) > SUM_TOL:
        raise ValueError(f"pid: p must sum to 1 (within {SUM_TOL:g}), got a sum of {total:.10g}")
    return p / total


def _xlogx(a: np.ndarray) -> np.ndarray:
    out = np.zeros_like(a)
    pos = a > 0
    out[pos] = a[pos] * np.log(a[pos])
    return out


def _mi(pab: np.ndarray) -> float:
    """:math:`I(A; B)` in bits of a 2-D table."""
    h = lambda t: -float(_xlogx(t).sum())  # noqa: E731
    return max(0.0, (h(pab.sum(1)) + h(pab.sum(0)) - h(pab)) / np.log(2))


def _cond_mi(q: np.ndarray) -> float:
    """:math:`I(A; C \\mid B)` in bits of a table ``q[a, b, c]``."""
    h = lambda t: -float(_xlogx(t).sum())  # noqa: E731
    value = h(q.sum(axis=(0, 2))) - h(q.sum(axis=2)) - h(q.sum(axis=0)) + h(q)
    return max(0.0, -value / np.log(2))


def _solve(p: np.ndarray) -> tuple[np.ndarray, float]:
    n1, n2, ny = p.shape
    p1, p2 = p.sum(axis=1), p.sum(axis=0)  # p(x1, y), p(x2, y)
    py = p1.sum(axis=0)
    # q can be positive only where both of its marginals are: the free variables.
    idx = np.flatnonzero((p1[:, None, :] > 0) & (p2[None, :, :] > 0))
    a1, a2, ay = np.unravel_index(idx, p.shape)
    # The independent-given-y point q(x1,x2,y) = p(x1,y) p(x2,y) / p(y) lies in Δ_p with full support: start there.
    x0 = p1[a1, ay] * p2[a2, ay] / py[ay]
    b = np.concatenate([p1.ravel(), p2.ravel()])
    rows = _constraints(a1, a2, ay, n1, n2, ny)
    basis = null_space(rows)
    if basis.shape[1] == 0:  # Δ_p is a single point
        return _full(x0, idx, p.shape), 0.0
    pairs = a1 * n2 + a2

    def fun(z):
        return _objective(np.maximum(x0 + basis @ z, 0.0), pairs, n1 * n2)

    def grad(z):
        return basis.T @ _gradient(np.maximum(x0 + basis @ z, 0.0), pairs, n1 * n2)

    lower, active, recovered = _dual(p1, p2, rows, pairs, n1 * n2)
    gap = lambda x: max(0.0, _objective(x, pairs, n1 * n2) - lower) / np.log(2)  # noqa: E731
    # Usually the point that the dual solution points to, finished by Newton steps, is already optimal.
    x = _newton_on_face(recovered, recovered > 0, rows, b, pairs, n1 * n2, n2 * ny)
    if x is not None and gap(x) < GAP_TOL:
        return _full(x, idx, p.shape), gap(x)
    # A few SLSQP steps find the face of q*, Newton steps finish on it; more SLSQP steps only if the gap says so
    # (restarted from x0: continuing from a stopped run was observed to stall).
    for maxiter in (50, 300, 1000):
        res = minimize(fun, np.zeros(basis.shape[1]), jac=grad, method="SLSQP",
                       constraints=[{"type": "ineq", "fun": lambda z: x0 + basis @ z, "jac": lambda z: basis}],
                       options={"ftol": 1e-15, "maxiter": maxiter})
        z = res.x
        # SLSQP may stop at a slightly infeasible iterate: pull it back towards x0 (> 0) until q >= 0.
        d = basis @ z
        neg = d < 0
        t = min(1.0, float((x0[neg] / -d[neg]).min())) if neg.any() else 1.0
        x = np.maximum(x0 + t * d, 0.0)
        # SLSQP crawls near the boundary, where the gradient blows up. At the optimum the zeros of q* are whole
        # pairs (x1, x2) (a lone zero in a pair with mass could be raised at an infinite rate of decrease), so:
        # empty the pairs that SLSQP left (almost) empty, or those whose dual constraint is slack, and finish
        # with Newton steps on that face, where q* is interior. Keep the best point.
        q12 = np.bincount(pairs, x, n1 * n2)
        for start, keep in ((x, q12[pairs] > 1e-7), (x, active[pairs]), (recovered, recovered > 0)):
            polished = _newton_on_face(start, keep, rows, b, pairs, n1 * n2, n2 * ny)
            if polished is not None and _objective(polished, pairs, n1 * n2) < _objective(x, pairs, n1 * n2):
                x = polished
        if gap(x) < GAP_TOL:
            break
    return _full(x, idx, p.shape), gap(x)


def _dual(p1, p2, rows, pairs, n_pairs) -> tuple[float, np.ndarray, np.ndarray]:
    r"""A lower bound on the optimum (in nats) from the Lagrange dual, which pairs are active there, and the
    primal point that the dual solution points to (nearly, not exactly, feasible).

    The dual of the BROJA program is :math:`\max \sum p(x_1,y)\lambda(x_1,y) + \sum p(x_2,y)\mu(x_2,y)` subject
    to :math:`\log\sum_y e^{\lambda(x_1,y)+\mu(x_2,y)} \le 0` for every pair (the sums over the free entries).
    Any (λ, μ), shifted down by its largest constraint violation, is feasible, so its value bounds the optimum.
    """
    n_eq = rows.shape[0]
    bvec = np.concatenate([p1.ravel(), p2.ravel()])
    has = np.bincount(pairs, minlength=n_pairs) > 0

    def lse(w):
        c = rows.T @ w  # λ(x1, y) + μ(x2, y) on each free entry
        top = np.full(n_pairs, -np.inf)
        np.maximum.at(top, pairs, c)
        top = np.where(has, top, 0.0)
        sums = np.bincount(pairs, np.exp(c - top[pairs]), n_pairs)
        return np.where(has, top + np.log(np.where(has, sums, 1.0)), -np.inf), c, top

    def cons(w):
        return -lse(w)[0][has]

    def cons_jac(w):
        value, c, _ = lse(w)
        soft = np.exp(c - value[pairs])  # softmax over y within each pair
        jac = np.zeros((n_pairs, n_eq))
        np.add.at(jac, pairs, (rows * soft).T)
        return -jac[has]

    res = minimize(lambda w: -bvec @ w, np.zeros(n_eq), jac=lambda w: -bvec, method="SLSQP",
                   constraints=[{"type": "ineq", "fun": cons, "jac": cons_jac}],
                   options={"ftol": 1e-14, "maxiter": 500})
    value, c, _ = lse(res.x)
    violation = max(0.0, float(value[has].max()))
    active = value > -1e-6
    # Primal recovery: at the optimum q(x1, x2, y) = s(x1, x2) exp(λ + μ) on the active pairs, with s >= 0 the
    # pair masses; fit s to the marginals by non-negative least squares.
    soft = np.where(active[pairs], np.exp(c - np.where(has, value, 0.0)[pairs]), 0.0)
    design = np.zeros((n_eq, n_pairs))
    np.add.at(design.T, pairs, (rows * soft).T)
    mass = nnls(design, bvec)[0]
    return float(bvec @ res.x) - violation, active, mass[pairs] * soft


def _constraints(a1, a2, ay, n1, n2, ny) -> np.ndarray:
    """Rows of A in A q = b: one per (x1, y) and one per (x2, y), in the order of ``p.sum(1)``, ``p.sum(0)``."""
    rows = np.zeros((n1 * ny + n2 * ny, a1.size))
    rows[a1 * ny + ay, np.arange(a1.size)] = 1.0
    rows[n1 * ny + a2 * ny + ay, np.arange(a1.size)] = 1.0
    return rows


def _full(x, idx, shape) -> np.ndarray:
    q = np.zeros(int(np.prod(shape)))
    q[idx] = x
    return q.reshape(shape)


def _objective(x, pairs, n_pairs) -> float:
    """:math:`-H_q(Y \\mid X_1, X_2)` in nats (:math:`I_q(X_1,X_2;Y)` minus the constant :math:`H(Y)`)."""
    return float(_xlogx(x).sum() - _xlogx(np.bincount(pairs, x, n_pairs)).sum())


def _gradient(x, pairs, n_pairs) -> np.ndarray:
    """:math:`\\log q(x_1,x_2,y) - \\log q(x_1,x_2)`, clipped so that zeros give a large finite pull."""
    q12 = np.bincount(pairs, x, n_pairs)[pairs]
    return np.maximum(np.log(np.maximum(x, 1e-300)) - np.log(np.maximum(q12, 1e-300)), -700.0)


def _ratio(b, sums, start, stop) -> np.ndarray:
    """Scaling factors b / sums on the constraint rows start:stop (1 elsewhere and where a sum is 0)."""
    out = np.ones_like(b)
    sl = slice(start, stop)
    out[sl] = np.where(sums[sl] > 0, b[sl] / np.where(sums[sl] > 0, sums[sl], 1.0), 1.0)
    return out


def _newton_on_face(x, keep, rows, b, pairs, n_pairs, n_x2_rows, iters=50):
    """Newton's method from ``x`` on the face of Δ_p where only the entries ``keep`` may be positive; None if the
    face has no positive point near ``x``."""
    if not keep.any():
        return None
    a, v = rows[:, keep], x[keep]
    basis = null_space(a)
    split = len(b) - n_x2_rows  # rows [:split] fix p(x1, y), the others p(x2, y)
    # A strictly positive start on the face: lift x's zeros a little, then iterative proportional fitting
    # (multiplicative, so it stays positive) restores the marginals; a face with no positive point fails here.
    v = np.maximum(v, 1e-6 * b.max())
    previous = np.inf
    for _ in range(5000):
        v *= _ratio(b, a @ v, 0, split)[a[:split].argmax(axis=0)]
        v *= _ratio(b, a @ v, split, a.shape[0])[split + a[split:].argmax(axis=0)]
        error = np.abs(a @ v - b).max()
        # Done, or stalled (at rounding level, or crawling towards a face with no positive point: a failure).
        if error < 1e-14 or error > 0.999 * previous:
            break
        previous = error
    if not (v > 0).all() or np.abs(a @ v - b).max() > 1e-10:
        return None
    kp = pairs[keep]
    for _ in range(iters):
        if basis.shape[1] == 0:
            break
        g = basis.T @ _gradient(v, kp, n_pairs)
        if np.abs(g).max() < 1e-13:
            break
        group = (kp[:, None] == kp[None, :]) / np.bincount(kp, v, n_pairs)[kp][None, :]
        hess = basis.T @ (np.diag(1.0 / v) - group) @ basis
        step = basis @ np.linalg.lstsq(hess, -g, rcond=None)[0]
        t, f0 = 1.0, _objective(v, kp, n_pairs)
        while t > 1e-12 and ((v + t * step <= 0).any() or _objective(v + t * step, kp, n_pairs) > f0 + 1e-15):
            t /= 2
        if t <= 1e-12:
            break
        v = v + t * step
    out = np.zeros_like(x)
    out[keep] = v
    return out


def pid(p) -> PID:
    r"""The BROJA partial information decomposition of a discrete joint distribution ``p[x1, x2, y]``.

    Solves the convex program of Bertschinger et al. (2014),

    .. math::

        q^* = \arg\max_{q \in \Delta_p} H_q(Y \mid X_1, X_2)
            = \arg\min_{q \in \Delta_p} I_q(X_1, X_2; Y),

    over :math:`\Delta_p`, the distributions with the marginals :math:`p(x_1, y)` and :math:`p(x_2, y)` of ``p``,
    and returns

    .. math::

        U_1 = I_{q^*}(X_1; Y \mid X_2),\quad U_2 = I_{q^*}(X_2; Y \mid X_1),\quad
        R = I(X_1; Y) - U_1,\quad S = I_p(X_1, X_2; Y) - I_{q^*}(X_1, X_2; Y).

    **How it is solved.** The objective :math:`\sum q \log q - \sum_{x_1, x_2} q(x_1, x_2) \log q(x_1, x_2)`
    (:math:`= -H_q(Y \mid X_1, X_2)`) is convex; its Lagrange dual is smooth,

    .. math::

        \max_{\lambda, \mu} \sum_{x_1, y} p(x_1, y)\,\lambda(x_1, y) + \sum_{x_2, y} p(x_2, y)\,\mu(x_2, y)
        \quad\text{s.t.}\quad \log \sum_y e^{\lambda(x_1, y) + \mu(x_2, y)} \le 0 \ \text{for all } (x_1, x_2),

    and at the optimum :math:`q^*(x_1, x_2, y) = s(x_1, x_2)\, e^{\lambda(x_1, y) + \mu(x_2, y)}` on the pairs whose
    constraint is tight (the zeros of :math:`q^*` are whole pairs). So: the dual is solved by SLSQP, the pair masses
    :math:`s \ge 0` are fitted to the marginals by non-negative least squares, iterative proportional fitting
    makes the marginals exact, and Newton steps on that face of :math:`\Delta_p` finish the job. Should that fail,
    the primal is minimised directly (SLSQP over an orthonormal basis of the null space of the marginal
    constraints, :math:`q \ge 0`, analytic gradient :math:`\log q(x_1,x_2,y) - \log q(x_1,x_2)`, started at
    :math:`p(x_1,y)\,p(x_2,y)/p(y)`) and polished the same way. ``gap`` is the primal value minus a feasible dual
    value, in bits: a certified bound on the error of :math:`I_{q}(X_1, X_2; Y)`, and so of each part (below
    1e-9 bits on the textbook distributions and below 1e-5 on 700 random tables up to 4×4×4 in our checks). A
    5×5×5 table takes about 0.05 s, an 8×8×4 table about 0.2 s.

    Parameters
    ----------
    p : array_like or torch.Tensor
        Shape ``(n1, n2, ny)``, non-negative, summing to 1 within 1e-6 (it is then renormalised).

    Returns
    -------
    PID
        ``redundancy``, ``unique1``, ``unique2``, ``synergy`` and ``total`` in bits (parts clipped at 0, their
        sum is ``total`` up to the solver's accuracy), the optimiser ``q`` (its marginals match ``p`` within
        1e-10) and the certified ``gap``.

    Raises
    ------
    ValueError
        If ``p`` is not 3-D, has an empty axis, has negative, NaN or infinite entries, or does not sum to 1.

    Examples
    --------
    >>> from mmcourse.data import bitwise_distribution
    >>> r = pid(bitwise_distribution("xor"))
    >>> round(r.redundancy, 4), round(r.unique1, 4), round(r.unique2, 4), round(r.synergy, 4)
    (0.0, 0.0, 0.0, 1.0)
    >>> round(pid(bitwise_distribution("and")).redundancy, 3)
    0.311
    """
    p = _check(p)
    q, gap = _solve(p)
    i1 = _mi(p.sum(axis=1))
    i2 = _mi(p.sum(axis=0))
    total = _mi(p.reshape(-1, p.shape[2]))
    u1 = min(_cond_mi(q), i1)
    u2 = min(_cond_mi(q.transpose(1, 0, 2)), i2)
    iq = _mi(q.reshape(-1, q.shape[2]))
    clip = lambda v: 0.0 if abs(v) < 1e-12 else float(v)  # noqa: E731  (no "-0.0", plain floats)
    return PID(redundancy=clip(max(0.0, i1 - u1)), unique1=clip(u1), unique2=clip(u2),
               synergy=clip(max(0.0, total - iq)), total=float(total), q=q, gap=float(gap))
