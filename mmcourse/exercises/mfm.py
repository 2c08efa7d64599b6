"""Checkers for the exercises of Part 2.5's section on MFM as published: the unbiased MMD with the inverse
multiquadratic kernel, the KL of a diagonal Gaussian to the standard normal, and a linear read-out probe."""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from mmcourse.exercises._check import CheckResult, as_float64, compare, run_cases
from mmcourse.representation.fission.mfm import gaussian_kl, imq_kernel, mmd

__all__ = ["check_imq_mmd", "check_mfm_gaussian_kl", "check_readout_r2"]


def _scalar_close(expected: Tensor, output, wrong: dict[str, Tensor], atol: float) -> str | None:
    return compare(expected, output, wrong, atol=atol, rtol=1e-4)


def check_imq_mmd(estimate: Callable) -> CheckResult:
    """Exercise: ``estimate(x, y)`` returns the unbiased MMD² between ``(n, d)`` and ``(m, d)`` float64 samples with
    the IMQ kernel ``C / (C + ‖a − b‖²)``, ``C = 2d`` (a scalar tensor or float)."""
    def make_case(g):
        n, m = (int(v) for v in torch.randint(4, 20, (2,), generator=g))
        d = int(torch.randint(1, 5, (1,), generator=g))
        x = torch.randn(n, d, generator=g, dtype=torch.float64)
        y = 1.5 * torch.randn(m, d, generator=g, dtype=torch.float64) + 0.7
        c = 2.0 * d
        k_xx, k_yy, k_xy = imq_kernel(x, x, c), imq_kernel(y, y, c), imq_kernel(x, y, c)
        sq = lambda a, b: (a * a).sum(1, keepdim=True) + (b * b).sum(1) - 2 * a @ b.T   # noqa: E731
        wrong = {
            "keep the diagonal out of the within-sample sums (divide by n(n−1)): that was the biased estimate":
                k_xx.mean() + k_yy.mean() - 2 * k_xy.mean(),
            "you left out the diagonal but still divided by n²: divide the within-sample sums by n(n−1)":
                (k_xx.sum() - n) / n ** 2 + (k_yy.sum() - m) / m ** 2 - 2 * k_xy.mean(),
            "the cross term counts twice: MMD² = E k(x, x') + E k(y, y') − 2 E k(x, y)":
                (k_xx.sum() - n) / (n * (n - 1)) + (k_yy.sum() - m) / (m * (m - 1)) - k_xy.mean(),
            "the IMQ kernel uses the squared distance: C / (C + ‖a − b‖²)":
                _with_kernel(lambda a, b: c / (c + sq(a, b).clamp_min(0).sqrt()), x, y),
            "the scale is C = 2·d (twice the dimension), not C = 1":
                mmd(x, y, scale=1.0),
        }
        return (x, y), (mmd(x, y), wrong)

    return run_cases("IMQ-kernel MMD", estimate, 8, make_case,
                     lambda ctx, out: _scalar_close(ctx[0], out, ctx[1], atol=1e-6),
                     "matches mmd(x, y) on {cases} fresh pairs of samples")


def _with_kernel(kernel: Callable, x: Tensor, y: Tensor) -> Tensor:
    n, m = len(x), len(y)
    k_xx, k_yy, k_xy = kernel(x, x), kernel(y, y), kernel(x, y)
    return ((k_xx.sum() - k_xx.diagonal().sum()) / (n * (n - 1)) + (k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
            - 2 * k_xy.mean())


def check_mfm_gaussian_kl(kl: Callable) -> CheckResult:
    """Exercise: ``kl(mean, logvar)`` returns KL(N(μ, diag σ²) ‖ N(0, I)) for ``(n, d)`` float64 tensors, summed
    over the ``d`` dimensions and averaged over the ``n`` examples (a scalar tensor or float)."""
    def make_case(g):
        n, d = (int(v) for v in torch.randint(2, 9, (2,), generator=g))
        mean = torch.randn(n, d, generator=g, dtype=torch.float64)
        logvar = torch.randn(n, d, generator=g, dtype=torch.float64)
        terms = 0.5 * (mean ** 2 + logvar.exp() - logvar - 1)
        wrong = {
            "sum over the dimensions, then average over the examples (you averaged over both)": terms.mean(),
            "average over the examples too (you summed over the batch)": terms.sum(),
            "σ² is exp(logvar), not exp(logvar / 2)":
                (0.5 * (mean ** 2 + (0.5 * logvar).exp() - logvar - 1)).sum(1).mean(),
            "do not forget the factor ½": (2 * terms).sum(1).mean(),
            "the −log σ² term is missing": (0.5 * (mean ** 2 + logvar.exp() - 1)).sum(1).mean(),
        }
        return (mean, logvar), (gaussian_kl(mean, logvar), wrong)

    return run_cases("KL to the standard normal", kl, 8, make_case,
                     lambda ctx, out: _scalar_close(ctx[0], out, ctx[1], atol=1e-8),
                     "matches the closed form on {cases} fresh cases")


def _readout(f_train: Tensor, f_test: Tensor, t_train: Tensor, t_test: Tensor, intercept: bool = True,
             on_train: bool = False) -> Tensor:
    ones = lambda f: torch.cat([f, torch.ones(len(f), 1, dtype=f.dtype)], 1) if intercept else f   # noqa: E731
    w = torch.linalg.lstsq(ones(f_train), t_train).solution
    f_eval, t_eval = (f_train, t_train) if on_train else (f_test, t_test)
    fitted = ones(f_eval) @ w
    return 1 - ((fitted - t_eval) ** 2).mean(0) / t_eval.var(0, unbiased=False)


def check_readout_r2(readout: Callable) -> CheckResult:
    """Exercise: ``readout(f_train, f_test, t_train, t_test)`` fits a least-squares linear map with an intercept from
    a factor ``f`` to targets ``t`` (``(n, k)`` and ``(n, c)`` float64) on the training rows, and returns the test
    R² of each target column, averaged over the columns (a scalar tensor or float)."""
    def make_case(g):
        n_train, n_test = (int(v) for v in torch.randint(30, 60, (2,), generator=g))
        k, c = (int(v) for v in torch.randint(2, 5, (2,), generator=g))
        mix = torch.randn(k, c, generator=g, dtype=torch.float64)
        def draw(n):
            f = torch.randn(n, k, generator=g, dtype=torch.float64)
            t = f @ mix + 3.0 + torch.randn(n, c, generator=g, dtype=torch.float64)   # an offset: needs an intercept
            return f, t
        (f_train, t_train), (f_test, t_test) = draw(n_train), draw(n_test)
        args = (f_train, f_test, t_train, t_test)
        wrong = {
            "fit an intercept too (append a column of ones): the targets are not centred":
                _readout(*args, intercept=False).mean(),
            "score the probe on the test rows, not on the rows it was fitted on": _readout(*args, on_train=True).mean(),
        }
        return args, (_readout(*args).mean(), wrong)

    def judge(ctx, out):
        got = as_float64(out)
        if got is not None and got.dim() == 1 and got.numel() > 1:
            return "average the R² over the target columns: return one number"
        return _scalar_close(ctx[0], out, ctx[1], atol=1e-6)

    return run_cases("linear read-out probe", readout, 6, make_case, judge,
                     "matches a least-squares probe's test R² on {cases} fresh cases")
