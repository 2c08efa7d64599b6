"""Tests of Part 4.1's temporal structure: the MFN-style memory, the recurrent baselines, the registry, the search."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from mmcourse.reasoning import (TEMPORAL_MODELS, EarlyFusionGRU, LateFusionGRU, MemoryFusionNetwork,
                                TemporalStructure, delta_memory_attention, gated_memory_update, make_temporal_model,
                                search_temporal_structure, temporal_search_space)
from mmcourse.reasoning.structure.temporal import RETAIN_BIAS
from mmcourse.representation import SearchResult, successive_halving


def inputs(batch=3, steps=7, dims=(4, 3), seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, steps, d, generator=g) for d in dims]


@pytest.mark.parametrize("name", list(TEMPORAL_MODELS))
def test_registry_models_shapes(name):
    torch.manual_seed(0)
    model = make_temporal_model(name, [4, 3], 5, hidden=6)
    assert isinstance(model, TEMPORAL_MODELS[name])
    assert model(*inputs()).shape == (3, 5)
    one = make_temporal_model(name, [4], 2, hidden=6)  # a unimodal model through the same interface
    assert one(inputs(dims=(4,))[0]).shape == (3, 2)


def test_trace_shapes_gates_and_attention():
    torch.manual_seed(0)
    model = MemoryFusionNetwork([4, 3], 2, hidden=5, memory=6, window=3, width=7)
    out = model.trace(*inputs(steps=9))
    K = 3 * 2 * 5
    assert out["states"].shape == (3, 9, 10) and out["attention"].shape == out["attended"].shape == (3, 9, K)
    for key in ("u_hat", "gamma1", "gamma2", "memory"):
        assert out[key].shape == (3, 9, 6)
    for key in ("gamma1", "gamma2"):
        assert ((out[key] > 0) & (out[key] < 1)).all()
    assert (out["attention"] > 0).all() and torch.allclose(out["attention"].sum(-1), torch.full((3, 9), float(K)))
    assert torch.equal(out["logits"], model(*inputs(steps=9)))
    # the retain gate starts open: σ(RETAIN_BIAS + small) on average
    assert out["gamma1"].mean() > 0.7 and abs(out["gamma2"].mean() - 0.5) < 0.2
    assert math.isclose(RETAIN_BIAS, 2.0)


def test_memory_equals_the_hand_computed_update():
    """Fixed weights, two modalities of one feature, hidden 1, memory 1, window 2: recompute every step by hand."""
    torch.manual_seed(0)
    model = MemoryFusionNetwork([1, 1], 2, hidden=1, memory=1, window=2, width=2)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.linspace(-0.6, 0.7, p.numel()).reshape(p.shape))
    xs = inputs(batch=2, steps=4, dims=(1, 1), seed=3)
    out = model.trace(*xs)
    c = torch.cat([model.grus[0](xs[0])[0], model.grus[1](xs[1])[0]], dim=-1)  # (2, 4, 2)
    lin = lambda layer, v: v @ layer.weight.T + layer.bias  # noqa: E731
    u = torch.zeros(2, 1)
    prev = torch.zeros(2, 2)
    for t in range(4):
        cw = torch.cat([prev, c[:, t]], dim=-1)  # [c_{t-1}; c_t], K = 4
        a = 4 * torch.softmax(lin(model.attend[2], torch.relu(lin(model.attend[0], cw))), dim=-1)
        ch = a * cw
        uh = torch.tanh(lin(model.write[2], torch.relu(lin(model.write[0], ch))))
        g = torch.sigmoid(lin(model.gates, torch.cat([ch, u], dim=-1)))
        u = g[:, :1] * u + g[:, 1:] * uh
        assert torch.allclose(out["attention"][:, t], a, atol=1e-6)
        assert torch.allclose(out["memory"][:, t], u, atol=1e-6)
        prev = c[:, t]
    assert torch.allclose(out["logits"], lin(model.head, torch.cat([c[:, -1], u], dim=-1)), atol=1e-6)


def test_teaching_functions_closed_forms():
    c = torch.tensor([[1.0, -2.0, 3.0, 0.5]])
    zero = nn.Linear(4, 4)
    nn.init.zeros_(zero.weight), nn.init.zeros_(zero.bias)
    a, attended = delta_memory_attention(c, zero)  # uniform attention passes c on unchanged
    assert torch.allclose(a, torch.ones(1, 4)) and torch.allclose(attended, c)
    u, u_hat = torch.tensor([1.0, 2.0]), torch.tensor([-1.0, 0.5])
    assert torch.allclose(gated_memory_update(u, u_hat, torch.ones(2), torch.zeros(2)), u)  # retain all
    assert torch.allclose(gated_memory_update(u, u_hat, torch.zeros(2), torch.ones(2)), u_hat)  # overwrite
    assert torch.allclose(gated_memory_update(u, u_hat, torch.full((2,), 0.5), torch.full((2,), 0.25)),
                          torch.tensor([0.25, 1.125]))


@pytest.mark.parametrize("name", list(TEMPORAL_MODELS))
def test_gradient_reaches_both_modalities(name):
    torch.manual_seed(0)
    model = make_temporal_model(name, [4, 3], 2, hidden=6)
    xs = [x.requires_grad_() for x in inputs()]
    model(*xs).sum().backward()
    assert all(x.grad is not None and x.grad.abs().sum() > 0 for x in xs)


def test_mfn_memory_alone_carries_both_modalities():
    torch.manual_seed(0)
    model = MemoryFusionNetwork([4, 3], 2, hidden=5, memory=6)
    with torch.no_grad():
        model.head.weight[:, :10] = 0  # the head reads only the memory u_T
    model(*inputs()).sum().backward()
    assert all(gru.weight_ih_l0.grad.abs().sum() > 0 for gru in model.grus)


def test_late_fusion_is_additive_across_modalities():
    """Changing modality 2 shifts the logits by the same amount whatever modality 1 is: no interaction."""
    torch.manual_seed(0)
    model = LateFusionGRU([4, 3], 2, hidden=5)
    a1, a2 = inputs(seed=1)
    b1, b2 = inputs(seed=2)
    with torch.no_grad():
        assert torch.allclose(model(a1, a2) - model(a1, b2), model(b1, a2) - model(b1, b2), atol=1e-6)
        early = EarlyFusionGRU([4, 3], 2, hidden=5)
        assert not torch.allclose(early(a1, a2) - early(a1, b2), early(b1, a2) - early(b1, b2), atol=1e-4)


@pytest.mark.parametrize("cls", [EarlyFusionGRU, LateFusionGRU, MemoryFusionNetwork])
def test_bad_inputs(cls):
    model = cls([4, 3], 2, hidden=5)
    x1, x2 = inputs()
    name = cls.__name__
    with pytest.raises(ValueError, match=f"{name}: expected 2 modalities"):
        model(x1)
    with pytest.raises(ValueError, match=r"modality 1 must have shape \(batch, steps, 4\)"):
        model(x1[0], x2)  # wrong rank
    with pytest.raises(ValueError, match="modality 2 must have shape"):
        model(x1, torch.zeros(3, 7, 5))  # wrong feature size
    with pytest.raises(ValueError, match="mismatched batch or length"):
        model(x1, x2[:2])
    with pytest.raises(ValueError, match="mismatched batch or length"):
        model(x1, x2[:, :5])
    with pytest.raises(ValueError, match="NaN"):
        model(x1, torch.full_like(x2, float("nan")))
    with pytest.raises(TypeError, match="must be a torch.Tensor"):
        model(x1, x2.numpy())


def test_bad_construction_and_registry():
    with pytest.raises(ValueError, match="unknown name='gru'.*early, late, mfn"):
        make_temporal_model("gru", [4], 2)
    with pytest.raises(TypeError, match="does not take \\['window'\\]"):
        make_temporal_model("early", [4], 2, window=2)
    with pytest.raises(ValueError, match="hidden must be a positive integer"):
        EarlyFusionGRU([4], 2, hidden=0)
    with pytest.raises(ValueError, match="window must be a positive integer"):
        MemoryFusionNetwork([4, 4], 2, window=0)
    with pytest.raises(ValueError, match="input_dims must be a non-empty list"):
        LateFusionGRU([], 2)


# --- structure discovery --------------------------------------------------------------------------------------------

def test_structures_space_and_build():
    space = temporal_search_space()
    assert len(space) == 12 and len(set(space)) == 12
    assert [s.cross_modal for s in space].count(False) == 4
    assert str(TemporalStructure("early", 2, 8)) == "early (2 layers, hidden 8)"
    mfn = TemporalStructure("mfn", 3, 4).build([4, 3], 2)
    assert isinstance(mfn, MemoryFusionNetwork) and mfn.window == 3 and mfn.memory == 4
    late = TemporalStructure("late", 2, 4).build([4, 3], 2)
    assert isinstance(late, LateFusionGRU) and late.grus[0].num_layers == 2
    with pytest.raises(ValueError, match="unknown fusion='tensor'"):
        TemporalStructure("tensor", 1, 8)
    with pytest.raises(ValueError, match="depth must be a positive integer"):
        TemporalStructure("early", 0, 8)
    with pytest.raises(ValueError, match="must be non-empty lists"):
        temporal_search_space(fusions=())


class _Masked(nn.Module):
    """A linear classifier that sees only feature ``k`` of its input."""

    def __init__(self, k):
        super().__init__()
        self.k, self.linear = k, nn.Linear(1, 2)

    def forward(self, x):
        return self.linear(x[:, self.k:self.k + 1])


def test_successive_halving_keeps_the_informative_candidates():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 4, generator=g)
    y = (x[:, 2] > 0).long()
    result = successive_halving([0, 1, 2, 3], _Masked, ([x[:192]], y[:192]), ([x[192:]], y[192:]), epochs=3,
                                eta=2, rounds=2, lr=5e-2, batch_size=64)
    assert isinstance(result, SearchResult) and result.best == 2 and result.best_accuracy > 0.9
    assert result.table.index[0] == "2" and result.table["rounds"].tolist().count(2) == 2
    assert result.table.loc["2", "epochs"] == 3 + 6
    with pytest.raises(ValueError, match="eta must be an integer >= 2"):
        successive_halving([0], _Masked, ([x], y), ([x], y), eta=1)
    with pytest.raises(ValueError, match="distinct candidates"):
        successive_halving([0, 0], _Masked, ([x], y), ([x], y))


def test_search_temporal_structure_runs_and_reports():
    xs, y = inputs(batch=24, steps=6, dims=(2, 2)), torch.arange(24) % 2
    space = temporal_search_space(depths=(1,), hiddens=(3,))
    result = search_temporal_structure((xs, y), (xs, y), space=space, epochs=1, rounds=2)
    assert sorted(result.table["fusion"]) == ["early", "late", "mfn"]
    assert result.best in space and result.table.index[0] == str(result.best)
    with pytest.raises(TypeError, match="list of TemporalStructure"):
        search_temporal_structure((xs, y), (xs, y), space=["early"])
