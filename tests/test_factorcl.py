"""Tests of FactorCL (Part 2.5): the four contrastive estimators by hand and against known mutual information, the
toy with a known split, the model's shapes, objective and gradients, training, and error messages."""
from __future__ import annotations

import doctest
import math

import pytest
import torch
import torch.nn.functional as F

from mmcourse.representation import linear_probe
from mmcourse.representation.fission import (TOY_LABELS, Critic, FactorCL, FactorCLHistory, conditional_info_nce,
                                             conditional_nce_club, factorcl_toy, fit_critic, fit_factorcl,
                                             gaussian_mi, gaussian_pairs, info_nce, nce_club)
from mmcourse.utils import set_seed

pytestmark = pytest.mark.filterwarnings("error")


# --- the estimators by hand ------------------------------------------------------------------------------------------
def test_info_nce_by_hand():
    s = torch.tensor([[1.0, 0.0], [2.0, 3.0]])
    expected = 0.5 * ((1 - math.log(math.e + 1)) + (3 - math.log(math.e**2 + math.e**3))) + math.log(2)
    assert info_nce(s).item() == pytest.approx(expected, abs=1e-6)
    assert info_nce(torch.eye(5) * 50).item() == pytest.approx(math.log(5), abs=1e-6)  # the log B ceiling
    assert info_nce(torch.zeros(4, 4)).item() == pytest.approx(0.0, abs=1e-6)  # a blind critic: 0
    random = torch.randn(16, 16) * 10
    assert info_nce(random).item() <= math.log(16) + 1e-6


def test_nce_club_by_hand():
    s = torch.tensor([[1.0, 0.0], [2.0, 3.0]])
    assert nce_club(s).item() == pytest.approx(2.0 - 1.5)
    # adding any function of a_i alone (a row constant) changes nothing
    assert nce_club(s + torch.tensor([[5.0], [-2.0]])).item() == pytest.approx(0.5)


def test_conditional_estimators_by_hand():
    s = torch.randn(6, 6)
    one_class = torch.zeros(6, dtype=torch.long)
    assert conditional_info_nce(s, one_class).item() == pytest.approx(info_nce(s).item(), abs=1e-5)
    assert conditional_nce_club(s, one_class).item() == pytest.approx(nce_club(s).item(), abs=1e-5)
    alone = torch.arange(6)  # every pair alone in its class: no negatives, nothing to measure
    assert conditional_info_nce(s, alone).item() == pytest.approx(0.0, abs=1e-6)
    assert conditional_nce_club(s, alone).item() == pytest.approx(0.0, abs=1e-6)
    y = torch.tensor([0, 0, 0, 1, 1, 1])
    s = torch.zeros(6, 6)
    s[:3, 3:] = s[3:, :3] = -100.0  # cross-class negatives make the unconditional bound log 2, not 0
    assert info_nce(s).item() == pytest.approx(math.log(2), abs=1e-6)
    assert conditional_info_nce(s, y).item() == pytest.approx(0.0, abs=1e-6)
    by_class = [s[:3, :3], s[3:, 3:]]
    assert conditional_info_nce(s, y).item() == pytest.approx(sum(info_nce(b).item() for b in by_class) / 2, abs=1e-6)


def test_estimators_are_differentiable():
    s = torch.randn(5, 5, requires_grad=True)
    y = torch.tensor([0, 1, 0, 1, 1])
    (info_nce(s) + nce_club(s) + conditional_info_nce(s, y) + conditional_nce_club(s, y)).backward()
    assert s.grad is not None and s.grad.abs().sum() > 0


@pytest.mark.parametrize("fn", [info_nce, nce_club])
def test_estimators_reject_bad_scores(fn):
    with pytest.raises(ValueError, match="square"):
        fn(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="B ≥ 2"):
        fn(torch.zeros(1, 1))


def test_conditional_estimators_reject_bad_labels():
    with pytest.raises(ValueError, match="integer tensor of shape"):
        conditional_info_nce(torch.zeros(3, 3), torch.zeros(3))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        conditional_nce_club(torch.zeros(3, 3), torch.zeros(4, dtype=torch.long))


# --- against known mutual information --------------------------------------------------------------------------------
def test_gaussian_mi_closed_form():
    assert gaussian_mi(0.0) == 0.0
    assert gaussian_mi(0.6, 3) == pytest.approx(-1.5 * math.log(0.64))
    a, b = gaussian_pairs(20000, 0.6, dim=2, seed=0)
    assert torch.corrcoef(torch.stack([a[:, 0], b[:, 0]]))[0, 1].item() == pytest.approx(0.6, abs=0.02)
    with pytest.raises(ValueError, match="rho"):
        gaussian_pairs(5, 1.0)
    with pytest.raises(ValueError, match="rho"):
        gaussian_mi(-1.2)


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_infonce_below_and_club_above_the_truth(rho):
    set_seed(0)
    truth = gaussian_mi(rho, 2)
    _, low, high = fit_critic(*gaussian_pairs(512, rho, dim=2, seed=0), test=gaussian_pairs(512, rho, dim=2, seed=1))
    assert low <= truth + 0.1 and low <= math.log(512)  # a lower bound, up to estimation noise
    assert low >= truth - 0.3  # and a useful one: the critic learned
    assert high >= truth + 0.1  # NCE-CLUB sits above once the critic is trained


def _conditional(n, rho, seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    mean = 1.5 * (2.0 * y - 1)[:, None]
    e1, e2 = torch.randn(2, n, 1, generator=g)
    return mean + e1, mean + rho * e1 + math.sqrt(1 - rho**2) * e2, y


def test_conditional_bounds_see_conditional_independence():
    set_seed(0)
    train, test = _conditional(512, 0.0, 0), _conditional(512, 0.0, 1)
    _, low, high = fit_critic(*train, test=test)  # X1 ⫫ X2 | Y: I(X1; X2 | Y) = 0
    _, unconditional, _ = fit_critic(*train[:2], test=test[:2])  # but I(X1; X2) > 0 through Y
    assert abs(low) < 0.15 and abs(high) < 0.15
    assert unconditional > 0.3


def test_conditional_bounds_on_dependent_data():
    set_seed(0)
    truth = gaussian_mi(0.8)
    _, low, high = fit_critic(*_conditional(512, 0.8, 0), test=_conditional(512, 0.8, 1))
    assert truth - 0.2 <= low <= truth + 0.1
    assert high >= truth + 0.1


def test_critic_and_fit_critic_errors():
    assert Critic(3, 2, width=4, dim=2)(torch.zeros(4, 3), torch.zeros(4, 2)).shape == (4, 4)
    with pytest.raises(ValueError, match="expected a"):
        Critic(3, 2)(torch.zeros(4, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="width must be a positive integer"):
        Critic(3, 2, width=0)
    with pytest.raises(ValueError, match="test must be"):
        fit_critic(torch.zeros(4, 2), torch.zeros(4, 2), test=(torch.zeros(4, 3), torch.zeros(4, 2)))
    with pytest.raises(ValueError, match="integer classes"):
        fit_critic(torch.zeros(4, 2), torch.zeros(4, 2), torch.zeros(4))
    with pytest.raises(ValueError, match="lr must be a positive number"):
        fit_critic(torch.zeros(4, 2), torch.zeros(4, 2), lr=0)


# --- the toy with a known split --------------------------------------------------------------------------------------
def test_toy_split_and_labels():
    data = {label: factorcl_toy(500, label, seed=3) for label in TOY_LABELS}
    bits = data["both"]["bits"]
    assert data["both"]["x1"].shape == (500, 8) and bits.shape == (500, 3)
    assert torch.equal(data["shared"]["y"], bits[:, 0]) and torch.equal(data["unique"]["y"], bits[:, 1])
    assert torch.equal(data["both"]["y"], 2 * bits[:, 0] + bits[:, 1])
    assert torch.equal(factorcl_toy(50, seed=1)["x1"], factorcl_toy(50, seed=1)["x1"])
    assert not torch.equal(factorcl_toy(50, seed=1)["x1"], factorcl_toy(50, seed=2)["x1"])
    # the split is real: b_1 is read from x1 and not from x2, b_s from both
    test = factorcl_toy(500, seed=4)
    for k, (from_x1, from_x2) in enumerate([(True, True), (True, False), (False, True)]):
        for m, expected in ((1, from_x1), (2, from_x2)):
            acc = linear_probe(data["both"][f"x{m}"], bits[:, k], test[f"x{m}"], test["bits"][:, k])
            assert (acc > 0.9) if expected else (acc < 0.6), (k, m, acc)
    with pytest.raises(ValueError, match="label must be one of"):
        factorcl_toy(5, "synergy")


# --- the model -------------------------------------------------------------------------------------------------------
def test_model_shapes_and_objective():
    set_seed(0)
    model = FactorCL((8, 8), num_classes=4, dim=3, width=8)
    data = factorcl_toy(16, seed=0)
    zs = model(data["x1"], data["x2"])
    assert [tuple(z.shape) for z in zs] == [(16, 3)] * 4
    assert torch.equal(model.embed(data["x1"], data["x2"]), torch.cat(zs, 1))
    b = model.bounds(data["x1"], data["x2"], data["y"])
    onehot = F.one_hot(data["y"], 4).float()
    assert b["nce_u1_y"].item() == pytest.approx(info_nce(model.nce_label[0](zs[2], onehot)).item())
    expected = -(b["nce_shared"] - b["club_shared_given_y"] + b["nce_u1_y"] + b["nce_u2_y"] - b["club_unique"]
                 + b["nce_unique_given_y"])
    assert model.loss(data["x1"], data["x2"], data["y"]).item() == pytest.approx(expected.item(), abs=1e-5)


def test_gradients_reach_the_right_parameters():
    set_seed(0)
    model = FactorCL((8, 8), num_classes=4, dim=3, width=8)
    data = factorcl_toy(16, seed=0)
    model.loss(data["x1"], data["x2"], data["y"]).backward()
    for name in ("shared", "unique", "nce_shared", "nce_label", "nce_unique_given_y"):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in getattr(model, name).parameters()), name
    model.zero_grad(set_to_none=True)
    model.critic_loss(data["x1"], data["x2"], data["y"]).backward()
    assert all(p.grad is None for p in [*model.shared.parameters(), *model.unique.parameters()])
    assert all(p.grad is not None for p in model.club_parameters())


def test_fit_factorcl_separates_the_parts():
    tr, te = factorcl_toy(1000, "both", seed=0), factorcl_toy(1000, "both", seed=1)
    set_seed(0)
    model = FactorCL((8, 8), num_classes=4, dim=4, width=32)
    before = [p.detach().clone() for p in model.club_parameters()]
    history = fit_factorcl(model, tr["x1"], tr["x2"], tr["y"], steps=120, batch_size=256)
    assert isinstance(history, FactorCLHistory) and len(history.loss) == 120
    assert len(history.bounds["nce_shared"]) == 120
    assert any(not torch.equal(a, b) for a, b in zip(before, model.club_parameters()))
    with torch.no_grad():
        ztr, zte = model(tr["x1"], tr["x2"]), model(te["x1"], te["x2"])
    assert linear_probe(torch.cat(ztr, 1), tr["y"], torch.cat(zte, 1), te["y"]) > 0.85
    assert linear_probe(ztr[2], tr["bits"][:, 1], zte[2], te["bits"][:, 1]) > 0.9  # Z_U1 holds b_1
    assert linear_probe(ztr[1], tr["bits"][:, 1], zte[1], te["bits"][:, 1]) < 0.6  # Z_S2 cannot
    assert linear_probe(ztr[1], tr["bits"][:, 0], zte[1], te["bits"][:, 0]) > 0.85  # Z_S2 holds b_s


def test_model_errors():
    with pytest.raises(ValueError, match="in_dims must give"):
        FactorCL(8, 2)
    with pytest.raises(ValueError, match="num_classes must be at least 2"):
        FactorCL((8, 8), 1)
    model = FactorCL((8, 8), 2, dim=2, width=4)
    with pytest.raises(ValueError, match=r"x2 must be \(batch, 8\)"):
        model(torch.zeros(4, 8), torch.zeros(4, 7))
    with pytest.raises(ValueError, match=r"y must be \(4,\) integer classes in \[0, 2\)"):
        model.loss(torch.zeros(4, 8), torch.zeros(4, 8), torch.tensor([0, 1, 2, 0]))
    with pytest.raises(TypeError, match="model must be a FactorCL"):
        fit_factorcl(torch.nn.Linear(2, 2), torch.zeros(4, 8), torch.zeros(4, 8), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="lr must be a positive number"):
        fit_factorcl(model, torch.zeros(4, 8), torch.zeros(4, 8), torch.zeros(4, dtype=torch.long), lr=-1.0)


def test_docstring_examples_run():
    from mmcourse.representation.fission import _bounds, _estimate, factorcl
    for module in (_bounds, _estimate, factorcl):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_public_names_reach_mmcourse_representation():
    import mmcourse.representation as representation
    from mmcourse.representation.fission import factorcl
    assert set(factorcl.__all__) <= set(representation.__all__)
    assert all(getattr(representation, name) is getattr(factorcl, name) for name in factorcl.__all__)
