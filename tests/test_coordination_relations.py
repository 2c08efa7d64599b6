"""Tests of coordination by relationships: the two scores, the loss, the model, its trainer, the ranking metrics."""
import math

import pytest
import torch

from mmcourse import set_seed
from mmcourse.representation import (SCORES, RelationalCoordination, bilinear_score, fit_relational, ranking_metrics,
                                     relation_loss, translation_score)


def test_translation_score_by_hand():
    h, r, t = torch.tensor([1.0, 2.0]), torch.tensor([0.5, -1.0]), torch.tensor([2.0, 3.0])
    # h + r - t = (-0.5, -2)
    assert translation_score(h, r, t).item() == pytest.approx(-math.sqrt(0.25 + 4))
    assert translation_score(h, r, t, p=1).item() == pytest.approx(-2.5)
    assert translation_score(h, r, h + r).item() == 0.0
    heads, tails = torch.randn(3, 4), torch.randn(5, 4)
    rel = torch.randn(4)
    table = translation_score(heads[:, None], rel, tails[None])
    assert table.shape == (3, 5)
    assert table[2, 4].item() == pytest.approx(-(heads[2] + rel - tails[4]).norm().item(), abs=1e-6)


def test_bilinear_score_by_hand_and_distmult():
    h, t = torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert bilinear_score(h, w, t).item() == pytest.approx(h @ w @ t)        # [7, 10] · [3, 4] = 61
    assert bilinear_score(h, w, t).item() == pytest.approx(61.0)
    d = torch.tensor([2.0, -1.0])                                             # DistMult: a diagonal W_r
    assert bilinear_score(h, torch.diag(d), t).item() == pytest.approx((h * d * t).sum().item())
    heads, tails, ws = torch.randn(3, 4), torch.randn(5, 2), torch.randn(4, 2)
    assert torch.allclose(bilinear_score(heads[:, None], ws, tails[None]), heads @ ws @ tails.T, atol=1e-6)


def test_scores_reject_bad_input():
    with pytest.raises(ValueError, match="same embedding size"):
        translation_score(torch.zeros(3), torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="p must be 1 or 2"):
        translation_score(torch.zeros(3), torch.zeros(3), torch.zeros(3), p=3)
    with pytest.raises(ValueError, match="NaN"):
        translation_score(torch.tensor([float("nan")]), torch.zeros(1), torch.zeros(1))
    with pytest.raises(ValueError, match="weight must have shape"):
        bilinear_score(torch.zeros(3), torch.zeros(2, 3), torch.zeros(3))


def test_relation_loss_margin_and_softmax_by_hand():
    pos, neg = torch.tensor([0.0, -1.0]), torch.tensor([[-2.0, -0.5], [-0.2, -3.0]])
    # hinges max(0, 1 - s+ + s-): [0, 0.5], [1.8, 0]
    assert relation_loss(pos, neg, margin=1.0).item() == pytest.approx((0.5 + 1.8) / 4)
    expected = -(torch.log_softmax(torch.tensor([0.0, -2.0, -0.5]), 0)[0]
                 + torch.log_softmax(torch.tensor([-1.0, -0.2, -3.0]), 0)[0]) / 2
    assert relation_loss(pos, neg, kind="softmax").item() == pytest.approx(expected.item())
    with pytest.raises(ValueError, match="kind must be"):
        relation_loss(pos, neg, kind="hinge")
    with pytest.raises(ValueError, match="margin must be"):
        relation_loss(pos, neg, margin=0)
    with pytest.raises(ValueError, match=r"shape \(n,\)"):
        relation_loss(pos, neg[:1])


def test_model_shapes_norms_and_gradients():
    set_seed(0)
    for kind in SCORES:
        model = RelationalCoordination(6, 4, relations=3, dim=5, hidden=(8,), score=kind)
        x, y = torch.randn(2, 6), torch.randn(7, 4)
        e_x, e_y = model(x, y)
        assert torch.allclose(e_x.norm(dim=1), torch.ones(2)) and torch.allclose(e_y.norm(dim=1), torch.ones(7))
        table = model.score_all(x, 2, y)
        assert table.shape == (2, 7)
        assert table[1, 3].item() == pytest.approx(model.score(e_x[1], torch.tensor(2), e_y[3]).item(), abs=1e-6)
        table.sum().backward()
        assert model.relation.grad is not None and model.relation.grad[2].abs().sum() > 0
        assert model.relation.grad[0].abs().sum() == 0            # only the relation that was scored
        assert all(p.grad is not None for p in model.map_x.parameters())


def test_model_rejects_bad_input():
    with pytest.raises(ValueError, match="score must be one of"):
        RelationalCoordination(3, 3, relations=2, score="complex")
    with pytest.raises(ValueError, match="relations must be a positive integer"):
        RelationalCoordination(3, 3, relations=0)
    model = RelationalCoordination(3, 2, relations=2, dim=4)
    with pytest.raises(ValueError, match=r"x must be a tensor of shape \(batch, 3\)"):
        model.embed_x(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="relation must be an int"):
        model.score_all(torch.zeros(1, 3), 2, torch.zeros(1, 2))


def _toy(n=40, seed=0):
    """Heads and tails carry a class in 0..3 (one-hot plus noise); relation 0 is 'same class', 1 is 'class + 1'."""
    g = torch.Generator().manual_seed(seed)
    cx, cy = torch.randint(4, (n,), generator=g), torch.randint(4, (n,), generator=g)
    x = torch.eye(4)[cx] + 0.1 * torch.randn(n, 4, generator=g)
    view = torch.randn(4, 6, generator=torch.Generator().manual_seed(99))     # the same for every split
    y = torch.eye(4)[cy] @ view + 0.1 * torch.randn(n, 6, generator=g)
    truth = torch.stack([cx[:, None] == cy[None], cy[None] == cx[:, None] + 1])
    return x, y, truth


@pytest.mark.parametrize("kind", SCORES)
def test_fit_relational_learns_both_relations(kind):
    x, y, truth = _toy()
    set_seed(0)
    model = RelationalCoordination(4, 6, relations=2, dim=8, hidden=(16,), score=kind)
    history = fit_relational(model, x, y, truth, epochs=80, lr=2e-2, progress=False)
    assert history[-1] < history[0] / 3
    x_test, y_test, truth_test = _toy(seed=1)
    with torch.no_grad():
        for r in range(2):
            scores, has = model.score_all(x_test, r, y_test), truth_test[r].any(1)
            target = truth_test[r][has].float().argmax(1)
            result = ranking_metrics(scores[has], target, truth_test[r][has])
            assert result["MRR"] > 0.9 > 0.3 > result["chance MRR"], (kind, r, result)


def test_fit_relational_is_deterministic_and_validates():
    x, y, truth = _toy(n=20)
    runs = []
    for _ in range(2):
        set_seed(3)
        model = RelationalCoordination(4, 6, relations=2, dim=4, hidden=())
        runs.append(fit_relational(model, x, y, truth, epochs=5, loss="softmax", progress=False))
    assert runs[0] == runs[1]
    with pytest.raises(ValueError, match="truth must be a bool tensor"):
        fit_relational(model, x, y, truth.float(), epochs=1)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        fit_relational(model, x, y, truth, epochs=0)
    with pytest.raises(TypeError, match="RelationalCoordination"):
        fit_relational(torch.nn.Linear(2, 2), x, y, truth)
    with pytest.raises(ValueError, match="false tail"):
        fit_relational(model, x, y, torch.ones_like(truth), epochs=1)


def test_ranking_metrics_by_hand():
    scores = torch.tensor([[0.9, 0.5, 0.1, 0.7], [0.2, 0.8, 0.3, 0.0], [0.4, 0.4, 0.4, 0.4]])
    target = torch.tensor([1, 1, 0])
    valid = torch.tensor([[True, True, False, False], [False, True, False, False], [True, False, False, False]])
    result = ranking_metrics(scores, target, valid, ks=(1, 2))
    # query 0: 0.9 is also true (filtered), 0.7 beats it: rank 2. query 1: rank 1. query 2: all tied, ties count
    # against the target: rank 4.
    assert result["MRR"] == pytest.approx((1 / 2 + 1 + 1 / 4) / 3)
    assert result["hits@1"] == pytest.approx(1 / 3) and result["hits@2"] == pytest.approx(2 / 3)
    # chance with m false candidates: H_{m+1} / (m + 1); m = 2, 3, 3
    h3, h4 = 1 + 1 / 2 + 1 / 3, 1 + 1 / 2 + 1 / 3 + 1 / 4
    assert result["chance MRR"] == pytest.approx((h3 / 3 + 2 * h4 / 4) / 3)
    unfiltered = ranking_metrics(scores, target)
    assert unfiltered["MRR"] == pytest.approx((1 / 3 + 1 + 1 / 4) / 3)


def test_ranking_metrics_chance_matches_random_scores():
    g = torch.Generator().manual_seed(0)
    scores = torch.rand(4000, 9, generator=g)
    result = ranking_metrics(scores, torch.zeros(4000, dtype=torch.long))
    assert result["MRR"] == pytest.approx(result["chance MRR"], abs=0.02)


def test_ranking_metrics_rejects_bad_input():
    with pytest.raises(ValueError, match="one candidate index per query"):
        ranking_metrics(torch.zeros(2, 3), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="valid must have the shape"):
        ranking_metrics(torch.zeros(2, 3), torch.tensor([0, 1]), torch.zeros(2, 2, dtype=torch.bool))
