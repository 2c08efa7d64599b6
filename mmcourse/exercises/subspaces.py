"""Checkers for the exercises of Part 2.5's subspace fission: the ISA objective, the distance between two
subspaces, and the modality share of a subspace's loadings."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from mmcourse.exercises._check import CheckResult, compare, run_cases
from mmcourse.representation.fission.subspaces import isa_objective, subspace_distance

__all__ = ["check_isa_objective", "check_modality_share", "check_subspace_distance"]


def _scalar(value: float) -> torch.Tensor:
    return torch.tensor(float(value), dtype=torch.float64)


def check_isa_objective(objective: Callable) -> CheckResult:
    """Exercise: ``objective(y, group_size, eps)`` returns the ISA log-likelihood of a NumPy array ``y`` (n, m):
    ``-mean_i sum_k sqrt(eps + sum_{j in group k} y_ij^2)``, groups of consecutive columns."""
    def make_case(g):
        n, k, size = (int(v) for v in torch.randint(2, 6, (3,), generator=g))
        size = size - 1                                              # 1..4
        eps = float(torch.rand(1, generator=g)) if k % 2 else 0.0
        y = torch.randn(n, k * size, generator=g, dtype=torch.float64) * 2
        energy = (y ** 2).reshape(n, k, size).sum(2)
        wrong = {"take the square root of each group's energy (the group norm), not the energy itself":
                 -(eps + energy).sum(1).mean(),
                 "average over the samples i (a mean), do not sum over them": -torch.sqrt(eps + energy).sum(),
                 "the objective is the *negative* sum of group norms (a log-likelihood to maximise)":
                 torch.sqrt(eps + energy).sum(1).mean(),
                 "groups are blocks of *consecutive* columns (0..g-1, g..2g-1, ...), not every k-th column":
                 -torch.sqrt(eps + (y ** 2).reshape(n, size, k).sum(1)).sum(1).mean(),
                 "put eps inside the square root: sqrt(eps + energy)": -(torch.sqrt(energy) + eps).sum(1).mean()}
        expected = _scalar(isa_objective(y.numpy(), size, eps))
        wrong = {h: v for h, v in wrong.items() if not torch.isclose(v, expected)}
        return (y.numpy().copy(), size, eps), (expected, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return compare(expected, out, {h: _scalar(v) for h, v in wrong.items()}, atol=1e-8, rtol=1e-6)

    return run_cases("the ISA objective", objective, 12, make_case, judge,
                     "matches mmcourse.representation.isa_objective on {cases} fresh cases")


def check_subspace_distance(distance: Callable) -> CheckResult:
    """Exercise: ``distance(a, b)`` returns the RMS sine of the principal angles between the column spans of two
    NumPy arrays of shape (d, k) (bases that need not be orthonormal)."""
    def make_case(g):
        d = int(torch.randint(4, 8, (1,), generator=g))
        k = int(torch.randint(2, d // 2 + 1, (1,), generator=g))
        a = torch.randn(d, k, generator=g, dtype=torch.float64)
        mix = torch.randn(k, k, generator=g, dtype=torch.float64) + 2 * torch.eye(k, dtype=torch.float64)
        b = (a + 0.8 * torch.randn(d, k, generator=g, dtype=torch.float64)) @ mix     # same span, another basis
        qa, qb = torch.linalg.qr(a)[0], torch.linalg.qr(b)[0]
        cos = torch.linalg.svdvals(qa.T @ qb).clamp(0, 1)
        raw = torch.linalg.svdvals(a.T @ b)
        wrong = {"orthonormalise each basis first (a QR decomposition): the singular values of a.T @ b are cosines "
                 "only for orthonormal bases": torch.sqrt((1 - raw.clamp(max=1) ** 2).mean()),
                 "return the root mean square of the *sines* (sqrt(1 - cos^2)), not of the cosines":
                 torch.sqrt((cos ** 2).mean()),
                 "average sin^2 over all principal angles; the largest angle alone is a different distance":
                 torch.sqrt(1 - cos.min() ** 2),
                 "take the square root of the mean of sin^2": (1 - cos ** 2).mean()}
        expected = _scalar(subspace_distance(a.numpy(), b.numpy()))
        return (a.numpy().copy(), b.numpy().copy()), (expected, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return compare(expected, out, {h: _scalar(v) for h, v in wrong.items()}, atol=1e-7, rtol=1e-6)

    return run_cases("the subspace distance", distance, 12, make_case, judge,
                     "matches mmcourse.representation.subspace_distance on {cases} fresh pairs of subspaces")


def check_modality_share(share: Callable) -> CheckResult:
    """Exercise: ``share(mixing, groups, dims)`` returns, for loadings ``mixing`` (features × coordinates), a list
    of index arrays ``groups`` and the feature counts ``dims`` of each modality, the array (K, M) of each group's
    share of loading energy on each modality (rows sum to 1)."""
    def make_case(g):
        dims = [int(v) for v in torch.randint(2, 6, (int(torch.randint(2, 4, (1,), generator=g)),), generator=g)]
        k, size = (int(v) for v in torch.randint(2, 4, (2,), generator=g))
        mixing = torch.randn(sum(dims), k * size, generator=g, dtype=torch.float64)
        groups = [np.arange(i * size, (i + 1) * size) for i in range(k)]
        bounds = np.cumsum([0, *dims])

        def energy(power):
            return torch.stack([torch.stack([mixing[lo:hi][:, gr].abs().pow(power).sum()
                                             for lo, hi in zip(bounds[:-1], bounds[1:])]) for gr in groups])
        e = energy(2)
        wrong = {"use squared loadings (energy), not their absolute values": energy(1) / energy(1).sum(1, True),
                 "normalise each row (a subspace's shares over the modalities sum to 1)": e,
                 "normalise over the modalities of one subspace (rows), not over the subspaces (columns)":
                 e / e.sum(0, True)}
        return (mixing.numpy().copy(), groups, dims), (e / e.sum(1, True), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return compare(expected, out, wrong, atol=1e-8, rtol=1e-6)

    return run_cases("the modality share of a subspace", share, 10, make_case, judge,
                     "gives the right shares on {cases} fresh loading matrices")
