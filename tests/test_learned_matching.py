"""Part 3.1, learning the matching and the embeddings together: batched Sinkhorn plans (checked against the
package's sinkhorn and by finite differences), the transport score and loss, the training loop, the rival margin."""
import math

import numpy as np
import pytest
import torch

from mmcourse import set_seed
from mmcourse.alignment import (WordRegionModel, batched_sinkhorn, evaluate_matching, fit_transport_matching,
                                rival_margin, scene_pairs, scene_plans, scene_similarity, sinkhorn,
                                transport_matching_loss, transport_similarity)
from mmcourse.data import load_scenes


def test_batched_sinkhorn_matches_the_package_sinkhorn_and_has_the_right_marginals():
    g = torch.Generator().manual_seed(0)
    cost = torch.rand(3, 4, 5, generator=g, dtype=torch.float64)
    plans = batched_sinkhorn(cost, reg=0.2, n_iter=500)
    assert plans.shape == (3, 4, 5) and plans.dtype == torch.float64
    for c, plan in zip(cost, plans):
        expected = sinkhorn(np.full(4, 0.25), np.full(5, 0.2), c.numpy(), reg=0.2)
        np.testing.assert_allclose(plan.numpy(), expected, atol=1e-8)
    torch.testing.assert_close(plans.sum(-2), torch.full((3, 5), 0.2, dtype=torch.float64))   # exact after g
    torch.testing.assert_close(plans.sum(-1), torch.full((3, 4), 0.25, dtype=torch.float64), atol=1e-8, rtol=0)


def test_batched_sinkhorn_closed_form_and_masks():
    # 2 × 2, cost [[0, 1], [1, 0]], ε = 0.5: 0.5·e²/(1 + e²) on the diagonal (as sinkhorn's docstring says)
    plan = batched_sinkhorn(torch.tensor([[0.0, 1.0], [1.0, 0.0]]), reg=0.5)
    diag = 0.5 * math.e ** 2 / (1 + math.e ** 2)
    torch.testing.assert_close(plan, torch.tensor([[diag, 0.5 - diag], [0.5 - diag, diag]]), atol=1e-6, rtol=0)
    # a masked row and column: zero there, and the rest is the plan of the smaller problem
    cost = torch.rand(3, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    rows = torch.tensor([True, True, False])
    cols = torch.tensor([True, False, True])
    masked = batched_sinkhorn(cost, rows, cols, reg=0.3, n_iter=300)
    assert masked[2].abs().sum() == 0 and masked[:, 1].abs().sum() == 0
    small = batched_sinkhorn(cost[:2][:, [0, 2]], reg=0.3, n_iter=300)
    torch.testing.assert_close(masked[:2][:, [0, 2]], small)


def test_gradients_flow_through_the_sinkhorn_iterations():
    g = torch.Generator().manual_seed(2)
    cost = torch.rand(2, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    rows = torch.tensor([[True, True, True], [True, True, False]])
    assert torch.autograd.gradcheck(lambda c: batched_sinkhorn(c, rows, rows, reg=0.3, n_iter=8), (cost,))
    # and the gradients of a masked problem are finite and zero on the masked entries
    (batched_sinkhorn(cost, rows, rows, reg=0.3, n_iter=8) * torch.rand(2, 3, 3, generator=g)).sum().backward()
    assert torch.isfinite(cost.grad).all() and cost.grad[1, 2].abs().sum() == 0 and cost.grad[1, :, 2].abs().sum() == 0


def test_transport_similarity_is_one_minus_the_transport_cost_and_enforces_one_to_one():
    v = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    w = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])                     # two phrases that both want region 0
    assert scene_similarity(v, w).item() == pytest.approx(1.0)       # the max lets both take it
    assert transport_similarity(v, w, reg=0.01).item() == pytest.approx(0.5, abs=1e-3)
    g = torch.Generator().manual_seed(3)
    v, w = torch.randn(3, 4, 5, generator=g), torch.randn(2, 4, 5, generator=g)
    mask_v = torch.tensor([[True] * 4, [True, True, False, False], [True] * 3 + [False]])
    S = transport_similarity(v, w, mask_v, None, reg=0.1, n_iter=50)
    assert S.shape == (3, 2)
    # scene 1 against caption 0 by hand: the plan of 1 − cos over its two real regions
    vn, wn = torch.nn.functional.normalize(v, dim=-1), torch.nn.functional.normalize(w, dim=-1)
    cos = wn[0] @ vn[1, :2].T
    plan = batched_sinkhorn(1 - cos, reg=0.1, n_iter=50)
    assert S[1, 0].item() == pytest.approx((plan * cos).sum().item(), abs=1e-5)
    assert (S <= scene_similarity(v, w, mask_v) + 1e-6).all()      # one-to-one can only lower the max score


def test_scene_plans_and_loss():
    v = torch.eye(3)[None].repeat(2, 1, 1)
    plans = scene_plans(v, v, reg=0.01)
    torch.testing.assert_close(plans, torch.eye(3)[None].repeat(2, 1, 1) / 3, atol=1e-4, rtol=0)
    assert transport_matching_loss(torch.eye(3)[:, None], torch.eye(3)[:, None], temperature=0.01).item() < 1e-6
    same = torch.ones(4, 2, 3)                                      # every score equal: the loss of guessing
    assert transport_matching_loss(same, same).item() == pytest.approx(math.log(4), abs=1e-5)


def test_rival_margin():
    v = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [1.0, 0.0]]])
    w = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]])
    # scene 0: margins 1, 1; scene 1: phrase 0: 1 − 1 = 0, phrase 1: 0 − 0 = 0
    assert rival_margin(v, w) == pytest.approx(0.5)
    mask = torch.tensor([[True, True], [True, False]])                # scene 1 has one object: no rival, skipped
    assert rival_margin(v, w, mask) == pytest.approx(1.0)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="cost must be a float tensor"):
        batched_sinkhorn(torch.ones(3))
    with pytest.raises(ValueError, match="reg"):
        batched_sinkhorn(torch.ones(2, 2), reg=0.0)
    with pytest.raises(ValueError, match="n_iter"):
        batched_sinkhorn(torch.ones(2, 2), n_iter=0)
    with pytest.raises(ValueError, match="NaN"):
        batched_sinkhorn(torch.tensor([[0.0, math.nan]]))
    with pytest.raises(ValueError, match="row_mask"):
        batched_sinkhorn(torch.ones(2, 2), torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="at least one True"):
        batched_sinkhorn(torch.ones(2, 2), torch.zeros(2, dtype=torch.bool))
    with pytest.raises(ValueError, match="same dim"):
        transport_similarity(torch.ones(1, 2, 3), torch.ones(1, 2, 4))
    with pytest.raises(ValueError, match="matching shape"):
        transport_matching_loss(torch.ones(2, 2, 3), torch.ones(3, 2, 3))
    with pytest.raises(ValueError, match="temperature"):
        transport_matching_loss(torch.ones(2, 2, 3), torch.ones(2, 2, 3), temperature=-1)
    with pytest.raises(ValueError, match="matching shapes"):
        scene_plans(torch.ones(2, 2, 3), torch.ones(2, 3, 3))
    with pytest.raises(ValueError, match="no phrase has a rival"):
        rival_margin(torch.ones(2, 1, 3), torch.ones(2, 1, 3))
    data = (torch.zeros(4, 2, 10, 10, 3), torch.ones(4, 2, 2, dtype=torch.long), torch.ones(4, 2, dtype=torch.bool))
    with pytest.raises(TypeError, match="WordRegionModel"):
        fit_transport_matching(torch.nn.Linear(2, 2), *data)
    with pytest.raises(ValueError, match="batch_size must be ≥ 2"):
        fit_transport_matching(WordRegionModel(dim=4, width=8), *data, batch_size=1)
    with pytest.raises(ValueError, match="steps"):
        fit_transport_matching(WordRegionModel(dim=4, width=8), *data, steps=0)


def test_training_without_word_region_pairs_learns_the_matching():
    scenes = load_scenes(n_train=15, n_val=1, n_test=40, seed=0, cache=False)
    train, test = scene_pairs(scenes["train"]), scene_pairs(scenes["test"])
    set_seed(0)
    model = WordRegionModel(dim=16, width=64)
    untrained = evaluate_matching(model, *test, methods="hungarian")["hungarian"]["permutation"]
    losses = fit_transport_matching(model, *train, steps=60, batch_size=15, lr=3e-3, n_iter=10)
    assert losses[-1] < 0.5 * losses[0], (losses[0], losses[-1])
    result = evaluate_matching(model, *test, methods="hungarian")["hungarian"]
    assert result["permutation"] >= untrained + 0.4, (untrained, result)
    set_seed(0)
    first = fit_transport_matching(WordRegionModel(dim=8, width=16), *train, steps=3, batch_size=15, n_iter=5)
    set_seed(0)
    second = fit_transport_matching(WordRegionModel(dim=8, width=16), *train, steps=3, batch_size=15, n_iter=5)
    assert first == second
