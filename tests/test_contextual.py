"""Tests of Part 3.3, contextualised representations (mmcourse.alignment.contextual and its two helper modules)."""
from __future__ import annotations

import doctest
import importlib
import math

import numpy as np
import pytest
import torch

from mmcourse.alignment import (CONTEXTUAL_MODELS, AttentionLayer, ContextualModel, CrossModalAttention,
                                GraphAlignment, JointSelfAttention, NoContext, attention_near_warp, clock_times,
                                contextual_keywords, make_contextual, scaled_dot_product_attention,
                                temporal_adjacency, time_encoding)
from mmcourse.training import fit


def _inputs(batch=3, n=5, m=7, d1=2, d2=3, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, n, d1, generator=g, dtype=dtype), torch.randn(batch, m, d2, generator=g, dtype=dtype))


# --- scaled dot-product attention -------------------------------------------------------------------------------------

def test_attention_matches_the_equation_by_hand():
    q, k, v = torch.randn(2, 3, 4), torch.randn(2, 5, 4), torch.randn(2, 5, 6)
    out, weights = scaled_dot_product_attention(q, k, v)
    for b in range(2):
        for i in range(3):
            scores = np.array([float(q[b, i] @ k[b, j]) / 2.0 for j in range(5)])  # sqrt(d_k) = 2
            expected = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
            np.testing.assert_allclose(weights[b, i].numpy(), expected, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(out[b, i].numpy(), expected @ v[b].numpy(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3))


def test_attention_agrees_with_torch():
    q, k, v = torch.randn(2, 3, 4), torch.randn(2, 5, 4), torch.randn(2, 5, 6)
    mask = torch.rand(3, 5) > 0.4
    mask[:, 0] = True
    out, _ = scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(out, torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask))


def test_attention_mask_zeroes_masked_keys_and_rows_still_sum_to_one():
    q, k, v = torch.randn(1, 4, 3), torch.randn(1, 6, 3), torch.randn(1, 6, 2)
    mask = torch.zeros(4, 6, dtype=torch.bool)
    mask[:, :2] = True
    mask[3, 5] = True
    _, weights = scaled_dot_product_attention(q, k, v, mask)
    assert (weights[0][~mask] == 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(1, 4))


def test_attention_is_invariant_to_permuting_keys_and_values():
    q, k, v = torch.randn(2, 3, 4), torch.randn(2, 5, 4), torch.randn(2, 5, 6)
    perm = torch.tensor([3, 0, 4, 2, 1])
    out, weights = scaled_dot_product_attention(q, k, v)
    out_p, weights_p = scaled_dot_product_attention(q, k[:, perm], v[:, perm])
    torch.testing.assert_close(out_p, out)
    torch.testing.assert_close(weights_p, weights[:, :, perm])


def test_attention_gradcheck():
    q, k, v = (torch.randn(1, s, 3, dtype=torch.float64, requires_grad=True) for s in (2, 4, 4))
    assert torch.autograd.gradcheck(lambda *t: scaled_dot_product_attention(*t)[0], (q, k, v))


@pytest.mark.parametrize("args, match", [
    ((torch.randn(2, 3), torch.randn(1, 4, 3), torch.randn(1, 4, 2)), "q must be a floating-point tensor with 3"),
    ((torch.randn(1, 2, 3), torch.randn(1, 4, 5), torch.randn(1, 4, 2)), "same feature size d_k"),
    ((torch.randn(1, 2, 3), torch.randn(1, 4, 3), torch.randn(1, 5, 2)), "same number m >= 1 of keys"),
    ((torch.randn(1, 2, 3), torch.randn(2, 4, 3), torch.randn(2, 4, 2)), "same batch size"),
    ((torch.full((1, 2, 3), math.nan), torch.randn(1, 4, 3), torch.randn(1, 4, 2)), "q contains NaN"),
    ((torch.ones(1, 2, 3, dtype=torch.long), torch.randn(1, 4, 3), torch.randn(1, 4, 2)), "floating-point"),
])
def test_attention_errors(args, match):
    with pytest.raises(ValueError, match=match):
        scaled_dot_product_attention(*args)


def test_attention_mask_errors():
    q, k, v = torch.randn(1, 2, 3), torch.randn(1, 4, 3), torch.randn(1, 4, 2)
    with pytest.raises(ValueError, match="mask must be a boolean tensor of shape"):
        scaled_dot_product_attention(q, k, v, torch.ones(2, 4))
    with pytest.raises(ValueError, match="mask must be a boolean tensor of shape"):
        scaled_dot_product_attention(q, k, v, torch.ones(4, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="at least one True"):
        scaled_dot_product_attention(q, k, v, torch.tensor([[True] * 4, [False] * 4]))
    with pytest.raises(TypeError, match="v must be a torch.Tensor"):
        scaled_dot_product_attention(q, k, np.zeros((1, 4, 2)))


# --- clock encoding and temporal adjacency ----------------------------------------------------------------------------

def test_clock_times():
    assert clock_times(5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert clock_times(1).tolist() == [0.0]
    with pytest.raises(ValueError, match="clock_times: length must be a positive integer, got 0"):
        clock_times(0)


def test_time_encoding_values():
    enc = time_encoding(5, 12)
    t = torch.linspace(0, 1, 5)
    assert enc.shape == (5, 12)
    torch.testing.assert_close(enc[:, 0], torch.sin(math.pi * t), atol=1e-6, rtol=0)
    torch.testing.assert_close(enc[:, 5], torch.cos(3 * math.pi * t), atol=1e-6, rtol=0)
    assert time_encoding(1, 3).tolist() == [[0.0, 1.0, 0.0]]  # one step sits at t = 0
    # Two sequences of different lengths agree where their clocks agree: the ends and the middle.
    long = time_encoding(9, 4)
    torch.testing.assert_close(long[[0, 4, 8]], time_encoding(3, 4))


@pytest.mark.parametrize("length, dim, name", [(0, 2, "length"), (3, 0, "dim"), (2.5, 2, "length"),
                                               (True, 2, "length")])
def test_time_encoding_errors(length, dim, name):
    with pytest.raises(ValueError, match=f"time_encoding: {name} must be a positive integer"):
        time_encoding(length, dim)


def test_temporal_adjacency_is_the_gcn_normalisation_of_two_chains():
    n, m = 4, 3
    a = np.eye(n + m)
    for i in list(range(n - 1)) + list(range(n, n + m - 1)):
        a[i, i + 1] = a[i + 1, i] = 1
    d = a.sum(1)
    expected = a / np.sqrt(d[:, None] * d[None, :])
    got = temporal_adjacency(n, m).double().numpy()
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert (got[:n, n:] == 0).all() and (got[n:, :n] == 0).all()  # no edge between the modalities
    np.testing.assert_allclose(got, got.T)
    with pytest.raises(ValueError, match="temporal_adjacency: m must be a positive integer"):
        temporal_adjacency(3, 0)


# --- the models: one interface ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(CONTEXTUAL_MODELS))
def test_every_model_shapes_attention_and_gradients(name):
    torch.manual_seed(0)
    model = make_contextual(name, (2, 3), num_classes=3, width=8)
    assert isinstance(model, ContextualModel)
    x1, x2 = _inputs(n=5, m=7)
    logits = model(x1, x2)
    assert logits.shape == (3, 3)
    logits.sum().backward()
    for pname, p in model.named_parameters():
        if name == "none" and pname.startswith("clock"):
            continue  # the baseline does not use the clock by default
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
    assert model.project[0].weight.grad.abs().sum() > 0 and model.project[1].weight.grad.abs().sum() > 0
    for key, weights in model.last_attention.items():
        assert not weights.requires_grad
        torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:-1]), msg=key)
        assert (weights >= 0).all()


def test_attention_map_shapes_and_names():
    x1, x2 = _inputs(n=5, m=7)
    joint = JointSelfAttention((2, 3), width=8, layers=2)
    joint(x1, x2)
    assert {k: tuple(v.shape) for k, v in joint.last_attention.items()} == {"layer 1": (3, 12, 12),
                                                                           "layer 2": (3, 12, 12)}
    cross = CrossModalAttention((2, 3), width=8)
    cross(x1, x2)
    assert {k: tuple(v.shape) for k, v in cross.last_attention.items()} == {"1←2": (3, 5, 7), "2←1": (3, 7, 5)}
    graph = GraphAlignment((2, 3), width=8, rounds=3)
    graph(x1, x2)
    assert list(graph.last_attention) == ["round 1", "round 2", "round 3"]
    c = graph.last_attention["round 1"]
    assert (c[:, :5, :5] == 0).all() and (c[:, 5:, 5:] == 0).all()  # cross-modal edges only
    NoContext((2, 3), width=8)(x1, x2)


def test_no_context_summaries_are_set_functions_of_one_modality():
    torch.manual_seed(0)
    model = NoContext((2, 3), width=8).eval()
    h = torch.randn(2, 6, 8)
    torch.testing.assert_close(model.summarise(h[:, [4, 2, 0, 1, 5, 3]]), model.summarise(h))
    # The logits are a late fusion of the two summaries, each computed from its own modality alone.
    x1, x2 = _inputs()
    z1, z2 = model.summarise(model.embed(x1, 0)), model.summarise(model.embed(x2, 1))
    torch.testing.assert_close(model(x1, x2), model.head(torch.cat([z1, z2], -1)))
    assert model.last_attention == {}
    assert model.gap_bias(torch.zeros(2), torch.zeros(3)) is None and not hasattr(model, "log_sharpness")


def test_self_attention_layer_is_permutation_equivariant():
    torch.manual_seed(0)
    layer = AttentionLayer(8).eval()
    h = torch.randn(2, 6, 8)
    perm = torch.tensor([5, 0, 3, 1, 4, 2])
    out, weights = layer(h)
    out_p, weights_p = layer(h[:, perm])
    torch.testing.assert_close(out_p, out[:, perm])
    torch.testing.assert_close(weights_p, weights[:, perm][:, :, perm])
    with pytest.raises(ValueError, match="self-attention layer takes no context"):
        layer(h, h)
    with pytest.raises(ValueError, match="cross-attention layer needs context"):
        AttentionLayer(8, cross=True)(h)


def test_joint_attention_mixes_modalities_and_prefers_close_clock_times():
    torch.manual_seed(0)
    model = JointSelfAttention((2, 3), width=8, layers=1).eval()
    x1, x2 = _inputs(n=5, m=9)
    out = model(x1, x2)
    a = model.last_attention["layer 1"]
    assert (a[:, :5, 5:].sum(-1) > 0).all()  # every token of modality 1 attends to modality 2 too
    assert not torch.allclose(model(x1, x2 + 1.0), out)  # the stream is joint: modality 2 changes the logits
    t = torch.cat([torch.linspace(0, 1, 5), torch.linspace(0, 1, 9)])
    expected = -math.exp(model.log_sharpness.item()) * (t[:, None] - t[None, :]) ** 2
    torch.testing.assert_close(model.gap_bias(t, t), expected)
    assert JointSelfAttention((2, 3), positions=False).gap_bias(t, t) is None


def test_cross_attention_query_output_invariant_to_permuting_the_other_modality():
    torch.manual_seed(0)
    model = CrossModalAttention((2, 3), width=8).eval()
    x1, x2 = _inputs()
    h1, h2 = model.embed(x1, 0), model.embed(x2, 1)
    t2 = torch.linspace(0, 1, 7)
    perm = torch.tensor([6, 3, 0, 1, 5, 2, 4])
    z12, z21 = model.cross(h1, h2)
    a12 = model.last_attention["1←2"]
    # Each query of modality 1 sees the *set* of (token, clock time) pairs of modality 2.
    z12_p, z21_p = model.cross(h1, h2[:, perm], t2=t2[perm])
    torch.testing.assert_close(z12_p, z12)
    torch.testing.assert_close(z21_p, z21[:, perm])  # and 2's own outputs follow their tokens
    torch.testing.assert_close(model.last_attention["1←2"], a12[:, :, perm])
    # The two directions have their own weights: the map 2←1 is not the transpose of 1←2.
    assert not torch.allclose(model.last_attention["2←1"], a12.transpose(1, 2))
    # Queries never attend within their own modality: changing h1's other tokens leaves a query's context alone.
    h1_changed = h1.clone()
    h1_changed[:, 1:] += 1.0
    torch.testing.assert_close(model.cross(h1_changed, h2)[0][:, 0], z12[:, 0])


def test_graph_respects_its_edges():
    torch.manual_seed(0)
    n, m = 8, 10
    model = GraphAlignment((2, 3), width=8, rounds=1, window=0.15).eval()
    mask = model.cross_mask(n, m)
    h = torch.randn(1, n + m, 8)
    base = model.propagate(h, n)
    c = model.last_attention["round 1"][0]
    assert (c[~mask] == 0).all()
    # One round: node 0 (modality 1, t = 0) hears itself, node 1, and modality 2's nodes within 0.15 of t = 0.
    hears = {0, 1} | {n + j for j in range(m) if j / (m - 1) <= 0.15}
    for node in range(n + m):
        bumped = h.clone()
        bumped[0, node] += 3.0
        changed = not torch.allclose(model.propagate(bumped, n)[0, 0], base[0, 0])
        assert changed == (node in hears), node
    # Two rounds reach two edges away.
    two = GraphAlignment((2, 3), width=8, rounds=2, window=0.15).eval()
    bumped = h.clone()
    bumped[0, 2] += 3.0
    assert not torch.allclose(two.propagate(bumped, n)[0, 0], two.propagate(h, n)[0, 0])


def test_graph_window_keeps_every_node_connected():
    model = GraphAlignment((1, 1), width=4, window=0.0)
    mask = model.cross_mask(3, 5)
    assert mask.any(1).all()
    assert mask[0].tolist() == [False] * 3 + [True] + [False] * 4  # t = 0 meets only t = 0
    assert GraphAlignment((1, 1), width=4).cross_mask(2, 2).tolist() == [[False, False, True, True],
                                                                          [False, False, True, True],
                                                                          [True, True, False, False],
                                                                          [True, True, False, False]]


def test_models_learn_a_tiny_task():
    torch.manual_seed(0)
    x1, x2 = _inputs(batch=64, n=4, m=6, d1=2, d2=2, seed=1)
    labels = (x1[:, :, 0].mean(1) > x2[:, :, 0].mean(1)).long()
    for name in CONTEXTUAL_MODELS:
        torch.manual_seed(0)
        model = make_contextual(name, (2, 2), width=8)
        history = fit(model, ([x1, x2], labels), epochs=15, lr=1e-2, batch_size=64, progress=False)
        assert history.train_loss[-1] < history.train_loss[0] - 0.1, name


@pytest.mark.parametrize("bad, match", [
    (lambda x1, x2: (x1[0], x2), r"x1 must be a floating-point tensor with 3 dimensions"),
    (lambda x1, x2: (x1, x2[..., :2]), r"x2 must have shape \(batch, steps >= 1, 3\), got \(3, 7, 2\)"),
    (lambda x1, x2: (x1, x2[:2]), "same batch size, got 3 and 2"),
    (lambda x1, x2: (x1[:, :0], x2), r"x1 must have shape \(batch, steps >= 1, 2\)"),
    (lambda x1, x2: (x1 * math.nan, x2), "x1 contains NaN"),
])
@pytest.mark.parametrize("name", list(CONTEXTUAL_MODELS))
def test_models_reject_bad_inputs(name, bad, match):
    model = make_contextual(name, (2, 3), width=4)
    with pytest.raises(ValueError, match=match):
        model(*bad(*_inputs()))
    with pytest.raises(TypeError, match="x2 must be a torch.Tensor"):
        model(_inputs()[0], np.zeros((3, 7, 3)))


@pytest.mark.parametrize("kwargs, match", [
    (dict(input_dims=(2,)), r"input_dims must be a pair"),
    (dict(input_dims=(2, 0)), r"input_dims\[1\] must be an integer >= 1, got 0"),
    (dict(input_dims=(2, 2), num_classes=1), "num_classes must be an integer >= 2"),
    (dict(input_dims=(2, 2), width=0), "width must be an integer >= 1"),
])
def test_model_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CrossModalAttention(**kwargs)


def test_model_specific_constructor_errors():
    with pytest.raises(ValueError, match="JointSelfAttention: layers must be a positive integer, got 0"):
        JointSelfAttention((2, 2), layers=0)
    with pytest.raises(ValueError, match="GraphAlignment: rounds must be a positive integer"):
        GraphAlignment((2, 2), rounds=1.5)
    with pytest.raises(ValueError, match=r"GraphAlignment: window must be None or a number in \[0, 1\]"):
        GraphAlignment((2, 2), window=2.0)


def test_attention_layer_self_and_cross():
    layer = AttentionLayer(6, cross=True)
    h, c = torch.randn(2, 3, 6), torch.randn(2, 5, 6)
    out, weights = layer(h, c)
    assert out.shape == (2, 3, 6) and weights.shape == (2, 3, 5)


# --- registry ---------------------------------------------------------------------------------------------------------

def test_registry_and_make_contextual():
    assert list(CONTEXTUAL_MODELS) == ["none", "joint", "cross", "graph"]
    assert isinstance(make_contextual("graph", (2, 2), rounds=3, window=0.2), GraphAlignment)
    assert contextual_keywords("joint") == {"width": 32, "layers": 2, "positions": True}
    assert contextual_keywords("none") == {"width": 32, "positions": False}
    with pytest.raises(ValueError, match="unknown contextual model 'mult'; known models: none, joint, cross, graph"):
        make_contextual("mult", (2, 2))
    with pytest.raises(TypeError, match=r"model 'cross' \(CrossModalAttention\) does not take 'layers'"):
        make_contextual("cross", (2, 2), layers=2)


# --- attention near the warp ------------------------------------------------------------------------------------------

def test_attention_near_warp():
    warp = [(0, 0), (0, 1), (1, 2), (2, 3), (2, 4)]
    uniform = np.full((3, 5), 0.2)
    mass, chance = attention_near_warp(uniform, warp, radius=0)
    assert mass == pytest.approx(chance) and chance == pytest.approx((2 + 1 + 2) / 3 / 5)
    on_warp = np.zeros((3, 5))
    on_warp[0, :2] = on_warp[2, 3:] = 0.5
    on_warp[1, 2] = 1.0
    assert attention_near_warp(torch.tensor(on_warp), torch.tensor(warp), radius=0)[0] == pytest.approx(1.0)
    far = np.zeros((3, 5))
    far[:, 4] = far[2, 0] = 1
    far[2, 4] = 0
    assert attention_near_warp(far, warp, radius=1)[0] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="weights must be a finite"):
        attention_near_warp(np.ones(3), warp)
    with pytest.raises(ValueError, match="warp must be a list of cells"):
        attention_near_warp(uniform, [(0, 0), (2, 4)])
    with pytest.raises(ValueError, match="radius must be an integer >= 0"):
        attention_near_warp(uniform, warp, radius=-1)


# --- doctests ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("module", ["contextual", "contextual_base", "contextual_models", "contextual_graph"])
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(f"mmcourse.alignment.{module}"))
    assert result.attempted > 0 and result.failed == 0
