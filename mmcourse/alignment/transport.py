"""Optimal transport (Part 3.1 of the book, discrete alignment): exact plans and entropic (Sinkhorn) plans.

A plan ``P ∈ R^{n×m}_{≥0}`` moves the mass of a histogram ``a`` (n bins) onto a histogram ``b`` (m bins): its rows
sum to ``a`` and its columns to ``b``. ``P[i, j]`` is how much of element i of one modality is aligned with
element j of the other, so a plan is a soft matching, learned together with which connections exist at all.
The exact plan minimises the transport cost ``⟨P, C⟩``; the entropic plan trades a little cost for entropy, which
makes it smooth, unique, fast to compute and differentiable.

Costs may be any finite real numbers (adding a constant to C shifts ``⟨P, C⟩`` by the same amount for every
feasible plan, so negative costs change nothing).
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, vstack

from mmcourse.alignment._checks import as_numpy, cost_shape, histogram, positive

__all__ = ["optimal_transport", "sinkhorn", "transport_cost"]

# The loose marginal tolerance of the intermediate stages of ε-scaling: they only need to give the next stage a
# good start, and solving them tightly costs more than it saves.
_STAGE_TOL = 1e-5
_STAGE_MAX_ITER = 200


def _check_problem(a, b, cost, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate ``(a, b, cost)`` and return them as float64 NumPy arrays."""
    a_np = histogram(a, "a", where)
    b_np = histogram(b, "b", where)
    cost_np = as_numpy(cost, "cost", where)
    cost_shape(cost_np.shape, a_np.size, b_np.size, where)
    return a_np, b_np, cost_np


def optimal_transport(a, b, cost):
    r"""The exact optimal transport plan between two histograms, by linear programming.

    Solves :math:`\min_{P \ge 0} \langle P, C\rangle` subject to :math:`P\mathbf 1_m = a`,
    :math:`P^\top \mathbf 1_n = b`, i.e. ``min Σ_ij P_ij C_ij`` over non-negative ``P`` whose rows sum to ``a``
    and columns to ``b`` (the Kantorovich problem). The programme has ``n·m`` variables and ``n + m`` equality
    constraints and is solved by HiGHS (``scipy.optimize.linprog(method="highs")``), which returns a vertex of the
    feasible set: a plan with at most ``n + m − 1`` non-zero entries. With uniform weights and ``n = m`` the
    optimum is a permutation matrix divided by n (Birkhoff), so exact OT then recovers a matching.

    Paper: L. Kantorovich (1942), "On the translocation of masses"; see G. Peyré and M. Cuturi (2019),
    "Computational Optimal Transport", Foundations and Trends in Machine Learning, chapter 3.

    Book section: Part 3.1 Discrete alignment (optimal transport).

    Parameters
    ----------
    a : array-like or torch.Tensor, shape (n,)
        Source histogram: non-negative, summing to 1 within 1e-6 (it is rescaled to sum to 1 exactly, so that
        the two marginal constraints stay consistent).
    b : array-like or torch.Tensor, shape (m,)
        Target histogram, same conditions.
    cost : array-like or torch.Tensor, shape (n, m)
        ``C[i, j]``, the price of moving a unit of mass from bin i to bin j. Any finite real numbers.

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (n, m)
        The optimal plan (float64 NumPy array; a tensor with ``cost``'s dtype and device when ``cost`` is a
        tensor, not differentiable). When several plans are optimal, HiGHS returns one of them.

    Raises
    ------
    ValueError
        On histograms that are not 1-D, empty, negative or do not sum to 1, a cost of the wrong shape, NaN or
        infinity.
    RuntimeError
        If the solver fails (it should not: the product ``a bᵀ`` is always feasible).

    Examples
    --------
    >>> import numpy as np
    >>> plan = optimal_transport([0.5, 0.5], [0.5, 0.5], np.array([[0.0, 1.0], [1.0, 0.0]]))
    >>> plan
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    where = "optimal_transport"
    a_np, b_np, cost_np = _check_problem(a, b, cost, where)
    n, m = cost_np.shape
    a_np, b_np = a_np / a_np.sum(), b_np / b_np.sum()

    # P is flattened row-major, P[i, j] → variable i·m + j. Row-sum constraint i covers variables i·m … i·m + m−1;
    # column-sum constraint j covers j, m + j, 2m + j, …. Sparse, so 100 × 100 (10⁴ variables) stays fast.
    idx = np.arange(n * m)
    rows = coo_matrix((np.ones(n * m), (idx // m, idx)), shape=(n, n * m))
    cols = coo_matrix((np.ones(n * m), (idx % m, idx)), shape=(m, n * m))
    result = linprog(cost_np.ravel(), A_eq=vstack([rows, cols]).tocsr(), b_eq=np.concatenate([a_np, b_np]),
                     bounds=(0, None), method="highs",
                     # HiGHS's default tolerance (1e-7) lets a marginal miss by ~1e-7 on degenerate problems
                     options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10})
    if result.status != 0:
        raise RuntimeError(f"{where}: the linear programme failed (status {result.status}): {result.message}")
    # HiGHS may return entries of −1e−17 on the bound; a plan is non-negative by definition.
    plan = np.maximum(result.x.reshape(n, m), 0.0)
    if isinstance(cost, torch.Tensor):
        return torch.as_tensor(plan, dtype=cost.dtype if cost.is_floating_point() else torch.float64,
                               device=cost.device)
    return plan


def transport_cost(plan, cost) -> float:
    """``⟨P, C⟩ = Σ_ij P_ij C_ij``, the cost of a plan, as a float (a small helper for the book's tables).

    Examples
    --------
    >>> transport_cost([[0.5, 0.0], [0.0, 0.5]], [[0.0, 1.0], [1.0, 0.0]])
    0.0
    """
    plan_np = as_numpy(plan, "plan", "transport_cost")
    cost_np = as_numpy(cost, "cost", "transport_cost")
    if plan_np.shape != cost_np.shape or plan_np.ndim != 2:
        raise ValueError(f"transport_cost: plan and cost must be matrices of the same shape, got "
                         f"{plan_np.shape} and {cost_np.shape}")
    return float((plan_np * cost_np).sum())


def _sinkhorn_stage(f, g, log_a, log_b, a, C, reg: float, tol: float, budget: int):
    """Log-domain Sinkhorn updates at one ε from potentials (f, g): at most ``budget`` iterations.

    Returns ``(f, g, iterations, error, converged)``.
    """
    log_kernel = -C / reg                             # log K, computed once per stage
    for iteration in range(budget + 1):
        lse_rows = torch.logsumexp(g[None, :] / reg + log_kernel, dim=1)   # log Σ_j exp((g_j − C_ij)/ε)
        with torch.no_grad():
            # Row sums of the current plan: exp(f_i/ε + lse_rows_i). After a g-update the columns are exact, so
            # this is the whole marginal error; reusing lse_rows makes the check cost no extra pass over C.
            error = float((torch.exp(f / reg + lse_rows) - a).abs().sum())
        if error < tol:
            return f, g, iteration, error, True
        if iteration == budget:
            return f, g, iteration, error, False
        f = reg * (log_a - lse_rows)
        g = reg * (log_b - torch.logsumexp(f[:, None] / reg + log_kernel, dim=0))
    raise AssertionError("unreachable")


def sinkhorn(a, b, cost, reg: float, *, max_iter: int = 10_000, tol: float = 1e-9, anneal: bool = True,
             return_potentials: bool = False):
    r"""The entropic optimal transport plan, by Sinkhorn's iterations in the log domain.

    Solves :math:`\min_{P\mathbf 1 = a,\ P^\top \mathbf 1 = b} \langle P, C\rangle - \varepsilon H(P)` with
    :math:`H(P) = -\sum_{ij} P_{ij}(\log P_{ij} - 1)` and ``ε = reg``. The objective is strictly convex, and its
    Lagrangian gives the optimum the Gibbs form :math:`P_{ij} = \exp((f_i + g_j - C_{ij})/\varepsilon)`, i.e.
    ``P = diag(u) K diag(v)`` with ``K = exp(−C/ε)``, for dual potentials f, g. Sinkhorn alternates the two
    marginal conditions, written with log-sum-exp so that nothing under- or overflows even for ``ε = 1e−3``:

    ``f_i ← ε log a_i − ε log Σ_j exp((g_j − C_ij)/ε)``, then ``g_j ← ε log b_j − ε log Σ_i exp((f_i − C_ij)/ε)``.

    After each g-update the columns of P sum to b exactly; the iterations stop when the rows are within ``tol`` of
    a as well, measured as ``‖P 1 − a‖₁`` (computed with the next f-update, so the check costs no extra pass).
    As ε → 0 the plan tends to an exact optimal plan (the one of maximal entropy among them); as ε → ∞ it tends to
    the independent coupling ``a bᵀ``. The computation runs in float64 whatever the input dtype.

    Small ε makes Sinkhorn slow: started cold, the error can fall only like 1/t (a 5 × 5 problem with uniform
    weights and ε = 1e−3 is still at 2e−6 after 2·10⁵ iterations). So by default the iterations are annealed
    (ε-scaling): ε runs through ``span(C), span(C)/2, span(C)/4, …`` down to ``reg``, each stage warm-started from
    the previous potentials and iterated until a marginal error of 1e−5 (at most 200 iterations), the last one
    to ``tol``. Such 5 × 5 problems then mostly take a few hundred iterations, but not all: near-degenerate
    problems (uniform weights, an optimum that is a permutation) with ε far below the cost gaps can still stall
    in the slow regime, and then the function raises rather than return an unconverged plan. The fixed point,
    hence the plan, is the same with or without annealing.

    Paper: M. Cuturi (2013), "Sinkhorn Distances: Lightspeed Computation of Optimal Transport", NeurIPS; the log
    domain and ε-scaling as in G. Peyré and M. Cuturi (2019), "Computational Optimal Transport", section 4.4, and
    B. Schmitzer (2019), "Stabilized Sparse Scaling Algorithms for Entropy Regularized Transport Problems", SIAM
    Journal on Scientific Computing.

    Book section: Part 3.1 Discrete alignment (optimal transport, entropic regularisation).

    Parameters
    ----------
    a : array-like or torch.Tensor, shape (n,)
        Source histogram: non-negative, summing to 1 within 1e-6. Zero bins are allowed (their rows of P are 0).
    b : array-like or torch.Tensor, shape (m,)
        Target histogram, same conditions.
    cost : array-like or torch.Tensor, shape (n, m)
        The cost matrix C; any finite real numbers.
    reg : float
        The entropic regularisation ε > 0, in the units of the cost: small ε (say 1e−3 of the cost's range) gives a
        nearly exact plan and needs more iterations; large problems with small ε may need a larger ``max_iter``.
    max_iter : int, default 10 000
        The most Sinkhorn iterations (one f- and one g-update each), all stages together.
    tol : float, default 1e-9
        Stop when ``‖P 1 − a‖₁ < tol`` (the column error is 0 up to rounding).
    anneal : bool, default True
        Use ε-scaling (see above). ``False`` gives the textbook iteration from ``f = g = 0`` at ε = reg.
    return_potentials : bool, default False
        Also return the dual potentials ``f`` (n,) and ``g`` (m,), in the kind of the plan.

    Returns
    -------
    plan : numpy.ndarray or torch.Tensor, shape (n, m)
        A float64 NumPy array when a, b and cost are all NumPy arrays or lists; otherwise a tensor with the dtype
        and device of the first tensor among (cost, a, b), differentiable with respect to the tensor inputs (autograd
        runs through every iteration, so memory grows with the number of iterations).
    f, g : arrays or tensors
        Only with ``return_potentials=True``: ``plan = exp((f[:, None] + g[None, :] − cost) / reg)``.

    Raises
    ------
    ValueError
        On reg ≤ 0, tol ≤ 0, max_iter < 1, bad histograms, a cost of the wrong shape, NaN or infinity.
    RuntimeError
        If the marginal error is still ≥ tol after ``max_iter`` iterations; the message says by how much.

    Examples
    --------
    >>> import numpy as np
    >>> cost = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> plan = sinkhorn([0.5, 0.5], [0.5, 0.5], cost, reg=0.5)
    >>> np.round(plan, 4)           # 0.5·e²/(1 + e²) on the diagonal, 0.5/(1 + e²) off it
    array([[0.4404, 0.0596],
           [0.0596, 0.4404]])
    >>> np.allclose(plan.sum(axis=1), 0.5) and np.allclose(plan.sum(axis=0), 0.5)
    True
    """
    where = "sinkhorn"
    reg = positive(reg, "reg", where)
    tol = positive(tol, "tol", where)
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"{where}: max_iter must be a positive integer, got {max_iter!r}")
    a_np, b_np, _ = _check_problem(a, b, cost, where)   # validation on detached copies; the tensors keep grads

    tensors = [t for t in (cost, a, b) if isinstance(t, torch.Tensor)]
    out_dtype = next((t.dtype for t in tensors if t.is_floating_point()), torch.float64)
    device = tensors[0].device if tensors else torch.device("cpu")

    def f64(value):
        return value.to(device=device, dtype=torch.float64) if isinstance(value, torch.Tensor) else \
            torch.as_tensor(np.asarray(value, dtype=np.float64), device=device)

    a_t, b_t, C = f64(a), f64(b), f64(cost)
    log_a, log_b = torch.log(a_t), torch.log(b_t)     # −∞ on empty bins: those rows / columns of P stay 0
    f = torch.zeros(a_np.size, dtype=torch.float64, device=device)
    g = torch.zeros(b_np.size, dtype=torch.float64, device=device)

    # ε-scaling: solve for ε = span, span/2, span/4, … down to reg, each stage warm-started from the previous
    # potentials and solved loosely, the last one to tol. From a cold start, small ε leaves the iterations in a
    # slow, sublinear regime (on 5 × 5 uniform problems with ε = 1e−3 the error still decays like 1/t after 10⁵
    # iterations); from a warm start most such problems need a few hundred.
    span = float((C.max() - C.min()).detach())
    schedule = []
    if anneal:
        stage_reg = span
        while stage_reg > reg:
            schedule.append(stage_reg)
            stage_reg /= 2
    schedule.append(reg)

    used = 0
    for stage_reg in schedule[:-1]:                   # warm-up stages: a good start is all they must give
        budget = min(_STAGE_MAX_ITER, max_iter - used)
        f, g, iterations, _, _ = _sinkhorn_stage(f, g, log_a, log_b, a_t, C, stage_reg, max(tol, _STAGE_TOL),
                                                 budget)
        used += iterations
    f, g, iterations, error, converged = _sinkhorn_stage(f, g, log_a, log_b, a_t, C, reg, tol, max_iter - used)
    if not converged:
        raise RuntimeError(f"{where}: did not converge in max_iter={max_iter} iterations: the marginal error "
                           f"‖P1 − a‖₁ is {error:.3g}, above tol={tol:g} (by a factor {error / tol:.3g}); raise "
                           f"max_iter, raise reg (now {reg:g}) or loosen tol")
    plan = torch.exp((f[:, None] + g[None, :] - C) / reg)

    if not tensors:
        out = (plan.numpy(), f.numpy(), g.numpy())
    else:
        out = (plan.to(out_dtype), f.to(out_dtype), g.to(out_dtype))
    return out if return_potentials else out[0]
