"""The checkers of Part 5.3's exercises pass correct solutions, catch the usual mistakes with a useful hint, say
"not attempted" for a stub, and leave torch's random generator alone."""
import math

import torch

from mmcourse.exercises import check_gaussian_kl, check_mixture_log_density, check_product_of_experts


def poe(mu, logvar):
    precision = torch.exp(-logvar)
    var = 1 / (1 + precision.sum(0))
    return var * (mu * precision).sum(0), torch.log(var)


def kl(mu, logvar):
    return 0.5 * (mu ** 2 + logvar.exp() - logvar - 1).sum(-1)


def log_q(z, mu, logvar):
    log_n = -0.5 * (math.log(2 * math.pi) + logvar + (z - mu) ** 2 / logvar.exp()).sum(-1)
    return torch.logsumexp(log_n, 0) - math.log(len(mu))


def stub(*args):
    raise NotImplementedError


def test_correct_solutions_pass_and_stubs_are_not_attempted():
    state = torch.random.get_rng_state()
    for check, solution in ((check_product_of_experts, poe), (check_gaussian_kl, kl),
                            (check_mixture_log_density, log_q)):
        result = check(solution)
        assert result.passed, result
        assert repr(result).startswith("PASS")
        stubbed = check(stub)
        assert not stubbed.passed and "not attempted" in stubbed.message
    assert torch.equal(state, torch.random.get_rng_state())


def test_product_of_experts_mistakes_get_hints():
    def no_prior(mu, logvar):
        p = torch.exp(-logvar)
        return (mu * p).sum(0) / p.sum(0), -torch.log(p.sum(0))

    def prior_per_expert(mu, logvar):
        p = torch.exp(-logvar)
        var = 1 / (len(mu) + p.sum(0))
        return var * (mu * p).sum(0), var.log()

    def plain_mean(mu, logvar):
        return mu.mean(0), poe(mu, logvar)[1]

    def variance(mu, logvar):
        m, lv = poe(mu, logvar)
        return m, lv.exp()

    cases = {"include the prior expert": no_prior, "count the prior expert once": prior_per_expert,
             "not a plain average": plain_mean, "return the log-variance": variance,
             "return a pair": lambda mu, logvar: mu.sum(0),
             "logvar:": lambda mu, logvar: (poe(mu, logvar)[0], poe(mu, logvar)[1] + 1)}
    for hint, wrong in cases.items():
        result = check_product_of_experts(wrong)
        assert not result.passed and hint in result.message, (hint, result)


def test_gaussian_kl_mistakes_get_hints():
    cases = {"exp(logvar)": lambda mu, lv: 0.5 * (mu ** 2 + lv - lv.exp() - 1).sum(-1),
             "factor 1/2": lambda mu, lv: (mu ** 2 + lv.exp() - lv - 1).sum(-1),
             "the -1 per latent": lambda mu, lv: 0.5 * (mu ** 2 + lv.exp() - lv).sum(-1),
             "do not average": lambda mu, lv: 0.5 * (mu ** 2 + lv.exp() - lv - 1).mean(-1),
             "non-negative": lambda mu, lv: -kl(mu, lv),
             "shape": lambda mu, lv: kl(mu, lv)[None]}
    for hint, wrong in cases.items():
        result = check_gaussian_kl(wrong)
        assert not result.passed and hint in result.message, (hint, result)


def test_mixture_log_density_mistakes_get_hints():
    def per_expert(z, mu, logvar):
        return -0.5 * (math.log(2 * math.pi) + logvar + (z - mu) ** 2 / logvar.exp()).sum(-1)

    def naive(z, mu, logvar):
        return torch.log(per_expert(z, mu, logvar).exp().mean(0))

    cases = {"subtract log M": lambda z, mu, lv: torch.logsumexp(per_expert(z, mu, lv), 0),
             "log-mean-exp": lambda z, mu, lv: per_expert(z, mu, lv).mean(0),
             "(2 pi sigma^2)^(-1/2)": lambda z, mu, lv: torch.logsumexp(
                 -0.5 * (lv + (z - mu) ** 2 / lv.exp()).sum(-1), 0) - math.log(len(mu)),
             "underflowed": naive}
    for hint, wrong in cases.items():
        result = check_mixture_log_density(wrong)
        assert not result.passed and hint in result.message, (hint, result)
