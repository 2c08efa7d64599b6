"""The checkers of Part 2.5's FactorCL exercises pass correct solutions, catch the usual mistakes with a useful hint,
say "not attempted" for a stub, and leave torch's random generator alone."""
import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from mmcourse.exercises import check_information_split, check_factorcl_info_nce, check_nce_club

pytestmark = pytest.mark.filterwarnings("error")


def info_nce(s):
    return np.mean(np.diag(s) - logsumexp(s, axis=1)) + np.log(len(s))


def nce_club(s):
    return np.diag(s).mean() - s.mean()


def mi(p, a, b):
    """I(A;B) from a joint table p[a, b]."""
    pa, pb = p.sum(1, keepdims=True), p.sum(0, keepdims=True)
    nz = p > 0
    return float((p[nz] * np.log(p[nz] / (pa * pb)[nz])).sum())


def split(p):
    n1, n2, ny = p.shape
    i12 = mi(p.sum(2), 0, 1)
    i12_y = sum(p[:, :, k].sum() * mi(p[:, :, k] / p[:, :, k].sum(), 0, 1) for k in range(ny))
    s = i12 - i12_y
    return s, mi(p.sum(1), 0, 1) - s, mi(p.sum(0), 0, 1) - s


def test_correct_solutions_pass():
    before = torch.random.get_rng_state()
    assert check_factorcl_info_nce(info_nce).passed
    assert check_nce_club(nce_club).passed
    assert check_information_split(split).passed
    assert torch.equal(before, torch.random.get_rng_state())
    assert repr(check_information_split(split)).startswith("PASS")


@pytest.mark.parametrize("wrong, hint", [
    (lambda s: info_nce(s) - np.log(len(s)), "add log B"),
    (lambda s: info_nce(s.T), "along each row"),
    (lambda s: np.mean(np.diag(s) - s.mean(1)), "not the mean of s_ij"),
])
def test_info_nce_mistakes(wrong, hint):
    result = check_factorcl_info_nce(wrong)
    assert not result.passed and hint in result.message


@pytest.mark.parametrize("wrong, hint", [
    (lambda s: -nce_club(s), "diagonal comes first"),
    (info_nce, "that is InfoNCE"),
    (lambda s: np.diag(s).sum() - s.sum(), "rather than summing"),
])
def test_nce_club_mistakes(wrong, hint):
    result = check_nce_club(wrong)
    assert not result.passed and hint in result.message


@pytest.mark.parametrize("wrong, hint", [
    (lambda p: [v / np.log(2) for v in split(p)], "natural logarithms"),
    (lambda p: (mi(p.sum(2), 0, 1), *split(p)[1:]), "minus I(X1;X2|Y)"),
    (lambda p: (split(p)[0], mi(p.sum(1), 0, 1), split(p)[2]), "I(X1;Y) minus the shared part"),
    (lambda p: (split(p)[0], mi(p.sum(1), 0, 1) + split(p)[0], split(p)[2]), "do not add it"),
    (lambda p: split(p)[:2], "three numbers"),
    (lambda p: (0.0, 0.0, 0.0), "expected (S, U1, U2)"),
])
def test_information_split_mistakes(wrong, hint):
    result = check_information_split(wrong)
    assert not result.passed and hint in result.message


def test_stubs_say_not_attempted():
    def stub(*args):
        raise NotImplementedError
    for check in (check_factorcl_info_nce, check_nce_club, check_information_split):
        result = check(stub)
        assert not result.passed and "not attempted" in result.message
