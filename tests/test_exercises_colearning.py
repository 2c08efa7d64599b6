"""The checkers of Part 6.3's co-learning exercises pass right solutions, catch the usual mistakes with their hint,
and say "not attempted" for a stub."""
import torch
from torch.nn import functional as F

from mmcourse.exercises import check_cycle_loss, check_info_nce, check_zero_shot_predict


def info_nce(z1, z2, temperature):
    s = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T / temperature
    target = torch.arange(len(s))
    return 0.5 * (F.cross_entropy(s, target) + F.cross_entropy(s.T, target))


def predict(z, prototypes):
    return (F.normalize(z, dim=1) @ F.normalize(prototypes, dim=1).T).argmax(dim=1)


def loss(v, v_hat, a, a_hat, mu_t, mu_c):
    return mu_t * F.mse_loss(v_hat, v) + mu_c * F.mse_loss(a_hat, a)


def stub(*args):
    raise NotImplementedError


def test_right_solutions_pass_and_leave_the_generator_alone():
    torch.manual_seed(3)
    state = torch.random.get_rng_state()
    assert check_info_nce(info_nce).passed
    assert check_zero_shot_predict(predict).passed
    assert check_cycle_loss(loss).passed
    assert torch.equal(state, torch.random.get_rng_state())


def test_stubs_are_not_attempted():
    for check in (check_info_nce, check_zero_shot_predict, check_cycle_loss):
        result = check(stub)
        assert not result.passed and "not attempted" in result.message


def _cosines(z1, z2):
    return F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T


def _two_way(s):
    target = torch.arange(len(s))
    return 0.5 * (F.cross_entropy(s, target) + F.cross_entropy(s.T, target))


def test_info_nce_mistakes_get_their_hint():
    def one_way(z1, z2, t):
        return F.cross_entropy(_cosines(z1, z2) / t, torch.arange(len(z1)))

    assert "both directions" in check_info_nce(one_way).message
    assert "normalise" in check_info_nce(lambda z1, z2, t: _two_way(z1 @ z2.T / t)).message
    assert "temperature" in check_info_nce(lambda z1, z2, t: _two_way(_cosines(z1, z2))).message
    assert "average" in check_info_nce(lambda z1, z2, t: 2 * info_nce(z1, z2, t)).message
    assert "scalar" in check_info_nce(lambda z1, z2, t: "x").message


def test_zero_shot_mistakes_get_their_hint():
    assert "dot products" in check_zero_shot_predict(lambda z, p: (z @ p.T).argmax(1)).message
    assert "largest cosine" in check_zero_shot_predict(
        lambda z, p: (F.normalize(z, dim=1) @ F.normalize(p, dim=1).T).argmin(1)).message
    assert "Euclidean" in check_zero_shot_predict(lambda z, p: torch.cdist(z, p).argmin(1)).message
    assert "integer tensor" in check_zero_shot_predict(lambda z, p: predict(z, p).float()).message


def test_cycle_loss_mistakes_get_their_hint():
    def summed(v, vh, a, ah, mt, mc):
        return mt * ((vh - v) ** 2).sum() + mc * ((ah - a) ** 2).sum()

    def absolute(v, vh, a, ah, mt, mc):
        return mt * (vh - v).abs().mean() + mc * (ah - a).abs().mean()

    assert "mean" in check_cycle_loss(summed).message
    assert "which weight" in check_cycle_loss(lambda v, vh, a, ah, mt, mc: loss(v, vh, a, ah, mc, mt)).message
    assert "weigh each term" in check_cycle_loss(lambda v, vh, a, ah, mt, mc: loss(v, vh, a, ah, 1, 1)).message
    assert "square" in check_cycle_loss(absolute).message
