"""Part 1, interactions in context: the toys hold the interaction they promise, the measures give their closed forms,
and the models can (or cannot) use the context as their docstrings say."""
import itertools

import numpy as np
import pytest
import torch

from mmcourse import set_seed
from mmcourse.foundations import (ConcatMLP, ContextData, PartWholeScorer, PooledFusion, conditional_pid,
                                  context_switch_label, emap_in_context, make_context_switch, make_part_whole,
                                  part_whole_relation)
from mmcourse.quantification import joint_table, pid
from mmcourse.training import evaluate, fit


def test_context_switch_label_truth_table():
    table = {bits: context_switch_label(*bits) for bits in itertools.product((0, 1), repeat=3)}
    assert table == {(0, 0, 0): 1, (1, 1, 0): 1, (0, 1, 0): 0, (1, 0, 0): 0,  # context 0: agree
                     (0, 0, 1): 0, (1, 1, 1): 0, (0, 1, 1): 1, (1, 0, 1): 1}  # context 1: differ
    b = torch.tensor([[0, 1, 1], [1, 1, 0]])
    assert context_switch_label(b[:, 0], b[:, 1], b[:, 2]).tolist() == [1, 1]


def test_context_switch_toy():
    data = make_context_switch(300, 200, features=3, seed=4)
    train, test = data["train"], data["test"]
    assert isinstance(train, ContextData) and len(train.inputs) == 3
    assert [tuple(x.shape) for x in test.inputs] == [(200, 3)] * 3 and train.labels.dtype == torch.int64
    assert torch.equal(train.labels, context_switch_label(*train.latent.T))
    again = make_context_switch(50, 200, features=3, seed=4)
    assert torch.equal(again["test"].inputs[2], test.inputs[2])  # the test split does not depend on n_train
    assert not torch.equal(make_context_switch(50, 200, features=3, seed=5)["test"].inputs[0], test.inputs[0])
    clean = make_context_switch(20, 2, noise=0.0)["train"]
    for x, b in zip(clean.inputs, clean.latent.T):
        assert torch.allclose(x.norm(dim=1), torch.ones(20))  # x_m = ±p_m with a unit p_m
        assert torch.allclose(x[b == 1].mean(0), -x[b == 0].mean(0), atol=1e-6)


def test_context_switch_every_pair_is_at_chance():
    bits = make_context_switch(20000, 1)["train"].latent.numpy()
    y = context_switch_label(*bits.T)
    for i, j in ((0, 1), (0, 2), (1, 2)):
        assert conditional_pid(bits[:, i], bits[:, j], y)["total"] < 0.005
    assert conditional_pid(bits[:, 0], bits[:, 1], y, bits[:, 2])["synergy"] > 0.99


def test_part_whole_relation_is_balanced():
    for wholes, parts in ((4, 4), (2, 6), (6, 2), (8, 4)):
        m = part_whole_relation(wholes, parts, seed=1)
        assert m.shape == (wholes, parts) and set(np.unique(m)) == {0, 1}
        assert (m.sum(1) == parts // 2).all() and (m.sum(0) == wholes // 2).all()
    assert not np.array_equal(part_whole_relation(8, 8, seed=0), part_whole_relation(8, 8, seed=1))
    with pytest.raises(ValueError, match="wholes and parts must be even"):
        part_whole_relation(3, 4)
    with pytest.raises(ValueError, match="one must divide"):
        part_whole_relation(4, 6)


def test_part_whole_toy():
    data = make_part_whole(4000, 10, seed=2)
    train = data["train"]
    m = part_whole_relation(4, 4, seed=2)
    w, p = train.latent.T
    assert torch.equal(train.labels, torch.as_tensor(m)[w, p])
    for column in (w, p):  # each modality alone says nothing: P(y = 1 | w) = P(y = 1 | p) = 1/2
        for v in range(4):
            assert abs(train.labels[column == v].float().mean().item() - 0.5) < 0.06
    clean = make_part_whole(30, 2, noise=0.0, seed=2)["train"]
    first = clean.inputs[0][clean.latent[:, 0] == clean.latent[0, 0]]
    assert torch.allclose(first, first[:1].expand_as(first))
    assert torch.allclose(first.norm(dim=1), torch.ones(len(first)))


def test_conditional_pid_weights_contexts():
    c1, c2 = np.array(list(itertools.product((0, 1), repeat=2))).T
    # context 0 (one quarter of the rows): y = c1 XOR c2, one bit of synergy; context 1: y = c1, one unique bit
    x1, x2 = np.tile(c1, 4), np.tile(c2, 4)
    context = np.repeat([0, 1, 1, 1], 4)
    y = np.where(context == 0, x1 ^ x2, x1)
    parts = conditional_pid(x1, x2, y, context)
    assert parts["synergy"] == pytest.approx(0.25, abs=1e-6) and parts["unique1"] == pytest.approx(0.75, abs=1e-6)
    assert parts["total"] == pytest.approx(1.0, abs=1e-6) and parts["unique2"] == pytest.approx(0.0, abs=1e-6)
    plain = pid(joint_table(x1, x2, y))
    assert conditional_pid(x1, x2, y)["synergy"] == pytest.approx(plain.synergy, abs=1e-9)
    with pytest.raises(ValueError, match="context must be a non-empty 1-D array"):
        conditional_pid(x1, x2, y, context[:3])
    with pytest.raises(ValueError, match="c1 must be"):
        conditional_pid(x1 - 1, x2, y)


def test_emap_in_context_closed_form():
    grid = torch.tensor(list(itertools.product((-1.0, 1.0), repeat=3)))
    x1, x2, c = (grid[:, [i]].repeat(3, 1) for i in range(3))
    groups = (c[:, 0] > 0).long().numpy()

    def product(a, b, k):  # in each context a pure x1-x2 interaction (XOR or XNOR)
        s = a[:, 0] * b[:, 0] * k[:, 0]
        return torch.stack([-s, s], dim=1)

    def additive(a, b, k):
        s = a[:, 0] + 2 * b[:, 0] * k[:, 0]
        return torch.stack([-s, s], dim=1)

    y = (x1[:, 0] * x2[:, 0] * c[:, 0] > 0).long()
    assert emap_in_context(product, x1, x2, c, groups, y) == (1.0, 0.5)
    y = (x1[:, 0] + 2 * x2[:, 0] * c[:, 0] > 0).long()
    assert emap_in_context(additive, x1, x2, c, groups, y) == (1.0, 1.0)
    with pytest.raises(ValueError, match="at least 2 rows per context value"):
        emap_in_context(product, x1, x2, c, np.arange(len(y)), y)
    with pytest.raises(ValueError, match="context must be a tensor"):
        emap_in_context(product, x1, x2, c[:3], groups, y)
    with pytest.raises(TypeError, match="model must be callable"):
        emap_in_context("model", x1, x2, c, groups, y)


def test_models_shapes_gradients_and_errors():
    torch.manual_seed(0)
    mlp = ConcatMLP([3, 2, 4], 5, width=8)
    xs = [torch.randn(6, 3), torch.randn(6, 2), torch.randn(6, 4)]
    out = mlp(*xs)
    assert out.shape == (6, 5)
    out.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in mlp.parameters())
    with pytest.raises(ValueError, match="expected 3 modalities, got 2"):
        mlp(*xs[:2])
    with pytest.raises(ValueError, match="modality 1 must be a tensor"):
        mlp(xs[0], xs[0], xs[2])
    with pytest.raises(ValueError, match="input_dims"):
        ConcatMLP([])
    with pytest.raises(ValueError, match="width"):
        ConcatMLP([2], width=0)
    with pytest.raises(ValueError, match="2 feature sizes"):
        PooledFusion([2, 2, 2])
    with pytest.raises(TypeError, match="relation must be a bool"):
        PartWholeScorer([2, 2], relation=1)


def test_pooled_fusion_is_order_blind():
    torch.manual_seed(0)
    model = PooledFusion([3, 2], width=8)
    x1, x2 = torch.randn(4, 10, 3), torch.randn(4, 10, 2)
    out = model(x1, x2)
    # shuffle the frames of each modality independently: the output does not move
    assert torch.allclose(model(x1[:, torch.randperm(10)], x2[:, torch.randperm(10)]), out, atol=1e-6)
    with pytest.raises(ValueError, match=r"\(batch, steps, features\)"):
        model(x1[:, 0], x2)


def test_part_whole_scorer_forms():
    torch.manual_seed(0)
    a, b = torch.randn(2, 5), torch.randn(2, 5)
    for relation in (True, False):
        model = PartWholeScorer([5, 5], relation=relation, width=6, dim=3)
        f = lambda u, v: model(u, v)[:, 1]  # noqa: E731
        # the mixed difference Δ = f(a1, a2) + f(b1, b2) - f(a1, b2) - f(b1, a2) is zero iff there is no interaction
        delta = f(a[:1], a[1:]) + f(b[:1], b[1:]) - f(a[:1], b[1:]) - f(b[:1], a[1:])
        assert (delta.abs().item() < 1e-6) == (not relation)
        logits = model(a, b)
        assert torch.allclose(logits[:, 0], -logits[:, 1])
    model = PartWholeScorer([5, 5], relation=True, width=6, dim=3)
    e1, e2 = model.encoders[0](a), model.encoders[1](b)
    assert torch.allclose(model(a, b)[:, 1], ((e1 @ model.R) * e2).sum(1) / 2, atol=1e-6)


def test_three_modalities_needed():
    data = make_context_switch(400, 400, seed=0)
    train, test = data["train"], data["test"]
    accuracy = {}
    for mods in ((0, 1, 2), (0, 1)):
        set_seed(0)
        model = ConcatMLP([4] * len(mods))
        fit(model, ([train.inputs[i] for i in mods], train.labels), epochs=100, lr=2e-2, batch_size=400,
            progress=False)
        accuracy[mods] = evaluate(model, ([test.inputs[i] for i in mods], test.labels))["accuracy"]
    assert accuracy[(0, 1, 2)] > 0.85 and abs(accuracy[(0, 1)] - 0.5) < 0.1


def test_toy_errors():
    with pytest.raises(ValueError, match="noise must be a finite number"):
        make_context_switch(10, 10, noise=-1)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        make_part_whole(10, 10, seed=-2)
    with pytest.raises(ValueError, match="n_train"):
        make_context_switch(0, 10)
