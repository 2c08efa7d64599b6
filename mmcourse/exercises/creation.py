"""Checkers for the exercises of Part 5.3, creation: the product of Gaussian experts with its prior expert, the
Gaussian KL term, and the log-density of a mixture of experts."""
from __future__ import annotations

import math
from collections.abc import Callable

import torch

from mmcourse.exercises._check import CheckResult, compare, run_cases
from mmcourse.generation.creation.experts import gaussian_kl, mixture_log_density, product_of_experts

__all__ = ["check_product_of_experts", "check_gaussian_kl", "check_mixture_log_density"]


def _experts(g, experts=None):
    m = experts or int(torch.randint(2, 4, (1,), generator=g))
    b, d = (int(v) for v in torch.randint(2, 5, (2,), generator=g))
    mu = torch.randn(m, b, d, generator=g, dtype=torch.float64) * 2
    logvar = torch.randn(m, b, d, generator=g, dtype=torch.float64)
    return mu, logvar


def check_product_of_experts(poe: Callable) -> CheckResult:
    """Exercise: ``poe(mu, logvar)`` with ``(experts, batch, latent)`` tensors returns the ``(mu, logvar)`` of the
    product of all the experts and one standard-normal prior expert, each ``(batch, latent)``."""
    def make_case(g):
        mu, logvar = _experts(g)
        precision = (-logvar).exp()
        wrong = {}
        no_prior = 1 / precision.sum(0)
        wrong["include the prior expert N(0, I): its precision 1 adds to the experts' precisions"] = \
            (no_prior * (mu * precision).sum(0), no_prior.log())
        per_expert = 1 / (len(mu) + precision.sum(0))
        wrong["count the prior expert once, not once per modality (precision 1 + sum_i 1/sigma_i^2)"] = \
            (per_expert * (mu * precision).sum(0), per_expert.log())
        joint_var = 1 / (1 + precision.sum(0))
        wrong["weigh each mean by its precision 1/sigma_i^2 (and the prior's mean 0 by 1), not a plain average"] = \
            (mu.mean(0), joint_var.log())
        wrong["return the log-variance, not the variance"] = ((mu * precision).sum(0) * joint_var, joint_var)
        return (mu.clone(), logvar.clone()), (product_of_experts(mu, logvar), wrong)

    def judge(ctx, out):
        (mu, logvar), wrong = ctx
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            return f"return a pair (mu, logvar), got {type(out).__name__}"
        for hint, (wrong_mu, wrong_logvar) in wrong.items():
            if compare(wrong_mu, out[0], atol=1e-6, rtol=1e-5) is None and \
                    compare(wrong_logvar, out[1], atol=1e-6, rtol=1e-5) is None:
                return hint
        hint = compare(logvar, out[1], atol=1e-6, rtol=1e-5)
        if hint is not None:
            return f"logvar: {hint}"
        hint = compare(mu, out[0], atol=1e-6, rtol=1e-5)
        return None if hint is None else f"mu: {hint}"

    return run_cases("the product of experts", poe, 10, make_case, judge,
                     "matches mmcourse.generation.product_of_experts on {cases} fresh cases")


def check_gaussian_kl(kl: Callable) -> CheckResult:
    """Exercise: ``kl(mu, logvar)`` with ``(batch, latent)`` tensors returns ``KL(N(mu, e^logvar) || N(0, I))`` per
    row, ``(batch,)``."""
    def make_case(g):
        mu, logvar = _experts(g, experts=1)
        mu, logvar = mu[0], logvar[0]
        wrong = {
            "logvar is the log of the variance: the variance is exp(logvar)":
                0.5 * (mu ** 2 + logvar - logvar.exp() - 1).sum(-1),
            "don't forget the factor 1/2": (mu ** 2 + logvar.exp() - logvar - 1).sum(-1),
            "the -1 per latent dimension makes the KL zero at the prior":
                0.5 * (mu ** 2 + logvar.exp() - logvar).sum(-1),
            "sum over the latent dimensions (one number per row), do not average":
                0.5 * (mu ** 2 + logvar.exp() - logvar - 1).mean(-1),
            "the KL is non-negative: check the sign of each term": -gaussian_kl(mu, logvar),
        }
        return (mu.clone(), logvar.clone()), (gaussian_kl(mu, logvar), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return compare(expected, out, wrong, atol=1e-6, rtol=1e-5)

    return run_cases("the Gaussian KL term", kl, 10, make_case, judge,
                     "matches mmcourse.generation.gaussian_kl on {cases} fresh cases")


def check_mixture_log_density(log_q: Callable) -> CheckResult:
    """Exercise: ``log_q(z, mu, logvar)`` with points ``z`` ``(batch, latent)`` and experts ``(experts, batch,
    latent)`` returns ``log (1/M) sum_m N(z; mu_m, e^logvar_m)`` per row, ``(batch,)``, without underflow."""
    def make_case(g):
        mu, logvar = _experts(g)
        z = mu[0] + torch.randn(mu.shape[1:], generator=g, dtype=torch.float64)
        if bool(torch.rand(1, generator=g) < 0.3):
            z = z * 40                              # far from every expert: densities underflow, logs do not
        per_expert = torch.stack([mixture_log_density(z, mu[m:m + 1], logvar[m:m + 1]) for m in range(len(mu))])
        wrong = {
            "divide the sum of densities by M (subtract log M): the mixture weights are 1/M":
                torch.logsumexp(per_expert, 0),
            "average the densities, then take the log (log-mean-exp), not the mean of the log-densities":
                per_expert.mean(0),
            "the normal density has the factor (2 pi sigma^2)^(-1/2) in every latent dimension":
                torch.logsumexp(per_expert + 0.5 * math.log(2 * math.pi) * mu.shape[-1], 0) - math.log(len(mu)),
        }
        return (z.clone(), mu.clone(), logvar.clone()), (mixture_log_density(z, mu, logvar), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        got = out.detach().double() if isinstance(out, torch.Tensor) else None
        if got is not None and got.shape == expected.shape and not torch.isfinite(got).all():
            return "a density underflowed to 0 (log gave -inf): combine the log-densities with torch.logsumexp"
        return compare(expected, out, wrong, atol=1e-6, rtol=1e-6)

    return run_cases("the mixture log-density", log_q, 10, make_case, judge,
                     "matches mmcourse.generation.mixture_log_density on {cases} fresh cases")
