"""Checkers for the exercises of Part 2.5 (fission): cluster purity, DEC's soft assignment and target
distribution, and the decorrelation penalty of the factorized model."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from mmcourse.exercises._check import CheckResult, compare, run_cases
from mmcourse.representation.fission import (cluster_purity, decorrelation_penalty, soft_assignment,
                                             target_distribution)

__all__ = ["check_cluster_purity", "check_soft_assignment", "check_target_distribution", "check_decorrelation_penalty"]


def _close(expected: Tensor, output, wrong: dict[str, Tensor], atol: float = 1e-6) -> str | None:
    return compare(expected, output, wrong, atol=atol, rtol=1e-4)


def check_cluster_purity(purity: Callable) -> CheckResult:
    """Exercise: ``purity(labels_true, labels_pred)`` returns the cluster purity, a float in (0, 1].

    The cases are NumPy integer arrays of 6 to 40 points; the cluster indices are arbitrary integers (not
    necessarily ``0 … k−1``), and the number of clusters differs from the number of classes.
    """
    def make_case(g):
        n = int(torch.randint(6, 41, (1,), generator=g))
        classes, clusters = (int(v) for v in torch.randint(2, 6, (2,), generator=g))
        true = torch.randint(0, classes, (n,), generator=g).numpy()
        codes = torch.randint(0, clusters, (n,), generator=g).numpy()
        pred = 7 * codes + 3                                        # cluster ids are arbitrary labels
        expected = cluster_purity(true, pred)
        _, t = np.unique(true, return_inverse=True)
        _, p = np.unique(pred, return_inverse=True)
        table = np.zeros((p.max() + 1, t.max() + 1))
        np.add.at(table, (p, t), 1)
        wrong = {
            "you took, for each class, its most common cluster: purity takes, for each cluster, its most common "
            "class (sum over clusters k of max_j |C_k ∩ L_j|)": table.max(axis=0).sum() / n,
            "you counted the points whose cluster index equals their class: cluster indices are arbitrary names, "
            "so look at each cluster's most common class instead": float((true == pred).mean()),
            "divide by the number of points n": table.max(axis=1).sum(),
        }
        return (true, pred), (expected, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        if isinstance(out, Tensor) and out.numel() == 1:
            out = out.item()
        if isinstance(out, bool) or not isinstance(out, (int, float, np.floating, np.integer)):
            return f"return a number, got {type(out).__name__}"
        if abs(float(out) - expected) <= 1e-9:
            return None
        for hint, value in wrong.items():
            if abs(float(out) - value) <= 1e-9 and abs(value - expected) > 1e-9:
                return hint
        return f"expected {expected:.4f}, got {float(out):.4f}"

    return run_cases("cluster purity", purity, 10, make_case, judge,
                     "matches cluster_purity on {cases} fresh clusterings")


def _points(g: torch.Generator) -> tuple[Tensor, Tensor]:
    n, k, d = (int(v) for v in torch.randint(2, 7, (3,), generator=g))
    return (torch.randn(n, d, generator=g, dtype=torch.float64),
            torch.randn(k, d, generator=g, dtype=torch.float64))


def check_soft_assignment(assign: Callable) -> CheckResult:
    """Exercise: ``assign(z, centroids)`` returns DEC's soft assignments ``q`` (Student-t kernel, ``α = 1``).

    ``z`` is ``(n, d)``, ``centroids`` is ``(k, d)``, both float64 tensors; the result is ``(n, k)`` with rows
    summing to one.
    """
    def make_case(g):
        z, mu = _points(g)
        squared = torch.cdist(z, mu).pow(2)
        kernel = 1 / (1 + squared)
        wrong = {
            "the rows must sum to one: divide each kernel value by the sum over the centres": kernel,
            "use the squared distance ‖z_i − μ_j‖² in the kernel, not the distance": (
                lambda k: k / k.sum(1, keepdim=True))(1 / (1 + squared.sqrt())),
            "that is a Gaussian kernel (a softmax of −‖z − μ‖²); DEC uses the Student-t kernel "
            "(1 + ‖z − μ‖²)⁻¹": torch.softmax(-squared, dim=1),
            "the kernel decreases with the distance: (1 + ‖z − μ‖²) to the power −1, not +1": (
                lambda k: k / k.sum(1, keepdim=True))(1 + squared),
        }
        return (z, mu), (soft_assignment(z, mu), wrong)

    return run_cases("Student-t soft assignment", assign, 8, make_case,
                     lambda ctx, out: _close(ctx[0], out, ctx[1]), "matches soft_assignment on {cases} fresh cases")


def check_target_distribution(target: Callable) -> CheckResult:
    """Exercise: ``target(q)`` returns DEC's target distribution ``p`` from soft assignments ``q`` (``(n, k)``
    float64, rows summing to one)."""
    def make_case(g):
        z, mu = _points(g)
        q = soft_assignment(3 * z, mu)   # spread the points so that the clusters differ in size
        f = q.sum(0)
        squared = q.pow(2)
        wrong = {
            "divide q² by the soft cluster size f_j = Σ_i q_ij before normalising; otherwise large clusters win":
                squared / squared.sum(1, keepdim=True),
            "normalise each row of q²/f so that it sums to one": squared / f,
            "normalise over the clusters j (each row), not over the points i (each column)":
                (squared / f) / (squared / f).sum(0, keepdim=True),
            "square q: p_ij ∝ q_ij² / f_j": (q / f) / (q / f).sum(1, keepdim=True),
        }
        return (q,), (target_distribution(q), wrong)

    return run_cases("DEC target distribution", target, 8, make_case,
                     lambda ctx, out: _close(ctx[0], out, ctx[1]),
                     "matches target_distribution on {cases} fresh cases")


def check_decorrelation_penalty(penalty: Callable) -> CheckResult:
    """Exercise: ``penalty(a, b)`` returns the sum of squared Pearson correlations between the columns of ``a``
    ``(n, k)`` and of ``b`` ``(n, l)`` (float64 tensors), a scalar tensor or float."""
    def make_case(g):
        n = int(torch.randint(8, 30, (1,), generator=g))
        k, l = (int(v) for v in torch.randint(1, 5, (2,), generator=g))
        a = 2 * torch.randn(n, k, generator=g, dtype=torch.float64) + 1
        b = 0.5 * torch.randn(n, l, generator=g, dtype=torch.float64) + a[:, :1] - 2   # correlated with a
        corr = torch.corrcoef(torch.cat([a, b], 1).T)[:k, k:]
        ac, bc = a - a.mean(0), b - b.mean(0)
        wrong = {
            "that is the raw orthogonality ‖aᵀb‖²: centre the columns and scale them to unit variance first":
                (a.T @ b).pow(2).sum(),
            "centre the columns before the product (subtract each column's mean)":
                ((a / a.std(0, unbiased=False)).T @ (b / b.std(0, unbiased=False)) / n).pow(2).sum(),
            "scale the centred columns to unit variance (a correlation, not a covariance)":
                (ac.T @ bc / n).pow(2).sum(),
            "square the correlations before summing (a negative correlation counts too)": corr.sum(),
            "sum the squared correlations, do not average them": corr.pow(2).mean(),
        }
        return (a, b), (decorrelation_penalty(a, b, eps=0.0), wrong)

    return run_cases("decorrelation penalty", penalty, 8, make_case,
                     lambda ctx, out: _close(ctx[0], out, ctx[1], atol=1e-4),
                     "matches decorrelation_penalty on {cases} fresh cases")
