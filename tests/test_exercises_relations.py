"""The checkers of coordination by relationships pass right solutions, catch the usual mistakes with a hint, and
say "not attempted" for a stub."""
import pytest
import torch

from mmcourse.exercises import check_bilinear_score, check_filtered_mrr, check_translation_score


def transe(h, r, t):
    return -(h + r - t).norm(dim=1)


def bilinear(h, w, t):
    return ((h @ w) * t).sum(1)


def mrr(scores, target, valid, filtered=True, strict=False, reciprocal=True):
    mask = valid.clone() if filtered else torch.zeros_like(valid)
    mask[torch.arange(len(target)), target] = True
    own = scores[torch.arange(len(target)), target][:, None]
    beaten = ((scores > own) if strict else (scores >= own)) & ~mask
    rank = 1 + beaten.sum(1).float()
    return ((1 / rank) if reciprocal else rank).mean().item()


def stub(*args):
    raise NotImplementedError


def test_right_solutions_pass():
    for result in (check_translation_score(transe), check_bilinear_score(bilinear), check_filtered_mrr(mrr)):
        assert result.passed, result
        assert repr(result).startswith("PASS")


@pytest.mark.parametrize("check", [check_translation_score, check_bilinear_score, check_filtered_mrr])
def test_stub_is_not_attempted(check):
    result = check(stub)
    assert not result.passed and "not attempted" in result.message


@pytest.mark.parametrize("wrong, hint", [
    (lambda h, r, t: (h + r - t).norm(dim=1), "negate it"),
    (lambda h, r, t: -(h + r - t).pow(2).sum(1), "squared norm"),
    (lambda h, r, t: -(h - r - t).norm(dim=1), "not e_h − r − e_t"),
    (lambda h, r, t: -(h + r - t).abs().sum(1), "L1 norm"),
    (lambda h, r, t: -(h + r - t).norm(), "shape"),
])
def test_translation_mistakes_get_hints(wrong, hint):
    result = check_translation_score(wrong)
    assert not result.passed and hint in result.message, result


@pytest.mark.parametrize("wrong, hint", [
    (lambda h, w, t: ((h @ w.T) * t).sum(1), "transposed"),
    (lambda h, w, t: (h * w.diagonal() * t).sum(1), "DistMult"),
    (lambda h, w, t: (h * t).sum(1), "W is missing"),
    (lambda h, w, t: h @ w @ t.T, "must have shape"),
])
def test_bilinear_mistakes_get_hints(wrong, hint):
    result = check_bilinear_score(wrong)
    assert not result.passed and hint in result.message, result


@pytest.mark.parametrize("wrong, hint", [
    (lambda s, t, v: mrr(s, t, v, filtered=False), "not filtered"),
    (lambda s, t, v: mrr(s, t, v, strict=True), "ties count"),
    (lambda s, t, v: mrr(s, t, v, reciprocal=False), "mean rank"),
    (lambda s, t, v: "0.5", "return one number"),
])
def test_mrr_mistakes_get_hints(wrong, hint):
    result = check_filtered_mrr(wrong)
    assert not result.passed and hint in result.message, result


def test_checkers_leave_torch_rng_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    check_translation_score(transe)
    check_filtered_mrr(mrr)
    assert torch.equal(torch.rand(3), expected)
