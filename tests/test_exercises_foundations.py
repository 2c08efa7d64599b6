"""The checkers of Part 1's exercises pass correct solutions, catch the usual mistakes with a useful hint, and say
"not attempted yet" for a stub."""
import numpy as np
import torch

from mmcourse.exercises import (check_adjusted_slope, check_bag_of_words, check_label_informations,
                                check_lag_correlation, check_response_type, check_value_entropy)


def value_entropy(x, bins):
    index = (x * bins).long().clamp(max=bins - 1)
    p = torch.bincount(index.flatten(), minlength=bins).double() / x.numel()
    p = p[p > 0]
    return -(p * p.log2()).sum()


def lag_corr(x, lag):
    a, b = x[:, :-lag].flatten(1), x[:, lag:].flatten(1)
    keep = (a.std(0) > 0) & (b.std(0) > 0)
    a, b = a[:, keep], b[:, keep]
    a, b = (a - a.mean(0)) / a.std(0), (b - b.mean(0)) / b.std(0)
    return (a * b).mean(0).mean()


def mutual_information(p):
    pa, pb = p.sum(1, keepdims=True), p.sum(0, keepdims=True)
    nz = p > 0
    return (p[nz] * np.log2(p[nz] / (pa * pb)[nz])).sum()


def informations(p):
    return mutual_information(p.sum(axis=1)), mutual_information(p.sum(axis=0)), mutual_information(
        p.reshape(-1, p.shape[-1]))


def response_type(alone1, alone2, both, chance):
    informative = [a for a in (alone1, alone2) if a >= chance + 0.05]
    if not informative:
        return "emergence"
    gains = both >= max(informative) + 0.05
    if len(informative) == 1:
        return "modulation" if gains else "dominance"
    return "enhancement" if gains else "equivalence"


def bag_of_words(tokens, vocab_size):
    counts = torch.zeros(len(tokens), vocab_size)
    counts.scatter_add_(1, tokens, torch.ones_like(tokens, dtype=torch.float))
    counts[:, 0] = 0
    return counts


def adjusted_slope(a, b, u):
    design = torch.stack([torch.ones_like(a), a, u], dim=1)
    return torch.linalg.lstsq(design, b[:, None]).solution[1, 0]


def stub(*args):
    raise NotImplementedError


def test_right_solutions_pass():
    for check, solution in [(check_value_entropy, value_entropy), (check_lag_correlation, lag_corr),
                            (check_label_informations, informations),
                            (check_response_type, response_type), (check_bag_of_words, bag_of_words),
                            (check_adjusted_slope, adjusted_slope)]:
        result = check(solution)
        assert result.passed, result
        assert check(stub).message.startswith("not attempted"), check


def test_value_entropy_mistakes():
    nats = check_value_entropy(lambda x, b: value_entropy(x, b) * np.log(2))
    assert not nats.passed and "log base 2" in nats.message
    no_clamp = check_value_entropy(lambda x, b: value_entropy(x[x < 1], b))
    assert not no_clamp.passed and "last bin" in no_clamp.message, no_clamp
    distinct = check_value_entropy(lambda x, b: value_entropy(torch.unique(x, return_inverse=True)[1].double()
                                                              / x.numel(), 10**6))
    assert not distinct.passed


def test_label_informations_mistakes():
    def in_nats(p):
        return [v * np.log(2) for v in informations(p)]

    assert "log base 2" in check_label_informations(in_nats).message
    wrong_axis = check_label_informations(lambda p: (mutual_information(p.sum(axis=2)), *informations(p)[1:]))
    assert "sum out x2" in wrong_axis.message, wrong_axis
    added = check_label_informations(lambda p: (*informations(p)[:2], sum(informations(p)[:2])))
    assert "one variable" in added.message, added

    def naive(p):  # forgets that 0 log 0 = 0
        q = p.reshape(-1, p.shape[-1])
        with np.errstate(divide="ignore", invalid="ignore"):
            return (*informations(p)[:2], (q * np.log2(q / np.outer(q.sum(1), q.sum(0)))).sum())

    assert "0 log 0" in check_label_informations(naive).message
    assert "three numbers" in check_label_informations(lambda p: 1.0).message
    assert check_label_informations(lambda p: dict(zip("abc", informations(p)))).passed  # a dict in order works


def test_response_type_mistakes():
    def min_not_max(a1, a2, both, chance):
        kind = response_type(a1, a2, both, chance)
        if kind == "equivalence" and both >= min(a1, a2) + 0.05:
            return "enhancement"
        return kind

    result = check_response_type(min_not_max)
    assert not result.passed and "max" in result.message, result
    swapped = check_response_type(lambda *a: {"dominance": "modulation", "modulation": "dominance"}.get(
        response_type(*a), response_type(*a)))
    assert not swapped.passed and "modulates" in swapped.message, swapped
    fixed_chance = check_response_type(lambda a1, a2, both, chance: response_type(a1, a2, both, 0.5))
    assert not fixed_chance.passed and "chance level" in fixed_chance.message, fixed_chance
    assert "return one of" in check_response_type(lambda *a: 3).message


def test_bag_of_words_mistakes():
    def with_pad(tokens, v):
        counts = bag_of_words(tokens, v)
        counts[:, 0] = (tokens == 0).sum(1).float()
        return counts

    assert "padding" in check_bag_of_words(with_pad).message
    assert "count each word" in check_bag_of_words(lambda t, v: (bag_of_words(t, v) > 0).float()).message
    share = check_bag_of_words(lambda t, v: bag_of_words(t, v) / (t != 0).sum(1, keepdim=True))
    assert "share" in share.message, share
    assert "shape" in check_bag_of_words(lambda t, v: bag_of_words(t, v).T).message


def test_checkers_leave_the_global_generator_alone():
    torch.manual_seed(3)
    before = torch.rand(3)
    torch.manual_seed(3)
    check_bag_of_words(bag_of_words)
    check_response_type(response_type)
    assert torch.equal(torch.rand(3), before)


def test_adjusted_slope_mistakes():
    def plain(a, b, u):
        a = a - a.mean()
        return (a * (b - b.mean())).sum() / (a * a).sum()

    assert "second input" in check_adjusted_slope(plain).message
    assert "coefficient of u" in check_adjusted_slope(
        lambda a, b, u: torch.linalg.lstsq(torch.stack([torch.ones_like(a), a, u], 1), b[:, None]).solution[2, 0]
    ).message
    assert "intercept" in check_adjusted_slope(
        lambda a, b, u: torch.linalg.lstsq(torch.stack([a, u], 1), b[:, None]).solution[0, 0]).message


def test_lag_correlation_mistakes():
    def keeps_constants(x, lag):
        a, b = x[:, :-lag].flatten(1), x[:, lag:].flatten(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            a, b = (a - a.mean(0)) / a.std(0), (b - b.mean(0)) / b.std(0)
        return (a * b).mean(0).mean()

    assert "std 0" in check_lag_correlation(keeps_constants).message

    def pooled(x, lag):
        a, b = x[:, :-lag, 1:].flatten(), x[:, lag:, 1:].flatten()
        return torch.corrcoef(torch.stack([a, b]))[0, 1]

    assert "pool" in check_lag_correlation(pooled).message

    def covariance(x, lag):
        a, b = x[:, :-lag, 1:].flatten(1), x[:, lag:, 1:].flatten(1)
        return ((a - a.mean(0)) * (b - b.mean(0))).mean(0).mean()

    assert "not a covariance" in check_lag_correlation(covariance).message
