"""Tests of mmcourse.representation.fusion (Part 2.1): shapes, the equations recomputed by hand from each module's
own parameters, parameter counts, gradient flow, devices and dtypes, error messages, and a small XOR learning check.

The reference implementations below are written independently of the package, with plain tensor operations
(explicit loops for the tensor product), so that a wrong equation in the package cannot hide behind itself.
"""
from __future__ import annotations

import doctest
import importlib
import itertools
import math
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from mmcourse.representation.fusion import (FUSIONS, AdditiveFusion, EarlyFusion, Fusion, LowRankFusion,
                                            MultiplicativeFusion, NonlinearFusion, TensorFusion, fusion_keywords,
                                            make_fusion, parameter_count)
from mmcourse.utils import get_device, set_seed

pytestmark = pytest.mark.filterwarnings("error")   # the fusions must run without any warning

BOOK_ORDER = ["early", "late", "additive", "multiplicative", "mi_scalar", "mi_vector", "mi_matrix", "tensor",
              "low_rank", "gated", "modality_shifting", "mixture", "nonlinear"]
TWO_MODALITIES_ONLY = {"mi_scalar", "mi_vector", "mi_matrix"}
DIMS2, DIMS3, OUT = (3, 5), (3, 5, 2), 4
CASES = [(name, DIMS2) for name in BOOK_ORDER] + [(name, DIMS3) for name in BOOK_ORDER
                                                   if name not in TWO_MODALITIES_ONLY]
CASE_IDS = [f"{name}-M{len(dims)}" for name, dims in CASES]


def make_inputs(dims, batch=6, seed=1, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, d, generator=g, dtype=torch.float64).to(dtype) for d in dims]


def build(name, dims, seed=0, **kwargs):
    set_seed(seed)
    return make_fusion(name, dims, OUT, **kwargs)


def randomize_(module, seed=2):
    """Overwrite every parameter with random values, so that zero inits (biases, late fusion's a) cannot hide an
    omitted term."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(0.7 * torch.randn(p.shape, generator=g, dtype=torch.float64))
    return module


# --- reference implementations: z recomputed from the module's parameters -------------------------------------------
def affine(layer, h):
    return h @ layer.weight.T + (layer.bias if layer.bias is not None else 0)


def relu(x):
    return torch.where(x > 0, x, torch.zeros_like(x))


def extend(h):
    return torch.cat([torch.ones(h.shape[0], 1, dtype=h.dtype), h], dim=1)


def ref_nonlinear(f, hs):
    return affine(f.output_layer, relu(affine(f.hidden_layer, torch.cat(hs, dim=1))))


def ref_late(f, hs):
    a = f.modality_logits
    weights = torch.exp(a) / torch.exp(a).sum()
    z = 0
    for m, (g, h) in enumerate(zip(f.unimodal, hs)):
        U, V = g[0], g[2]
        z = z + weights[m] * affine(V, relu(affine(U, h)))
    return z


def ref_additive(f, hs):
    return sum(h @ W.weight.T for W, h in zip(f.projections, hs)) + f.bias


def ref_multiplicative(f, hs):
    z = 1
    for W, h in zip(f.projections, hs):
        z = z * affine(W, h)
    return z


def ref_mi_scalar(f, hs):
    h1, h2 = hs
    s = h1 @ f.scale_generator.weight[0] + f.scale_generator.bias[0]          # aᵀh₁ + a₀, one number per example
    return s[:, None] * affine(f.projection, h2) + affine(f.bias_generator, h1)


def ref_mi_vector(f, hs):
    h1, h2 = hs
    return affine(f.scale_generator, h1) * affine(f.projection, h2) + affine(f.bias_generator, h1)


def ref_mi_matrix(f, hs):
    """The bilinear form z_k = Σ_ij A[k, j, i] h1_i h2_j + Σ_j A0[k, j] h2_j + (B h1 + b0)_k."""
    h1, h2 = hs
    (d1, d2), o = f.input_dims, f.output_dim
    A = f.weight_generator.weight.reshape(o, d2, d1)
    A0 = f.weight_generator.bias.reshape(o, d2)
    return torch.einsum("kji,bi,bj->bk", A, h1, h2) + h2 @ A0.T + affine(f.bias_generator, h1)


def ref_tensor(f, hs):
    """Build vec([1; h1] ⊗ … ⊗ [1; h_M]) entry by entry with Python loops, example by example."""
    ext = [extend(h) for h in hs]
    rows = []
    for b in range(hs[0].shape[0]):
        vec = []
        for index in itertools.product(*(range(d + 1) for d in f.input_dims)):   # last index fastest (row-major)
            value = torch.ones((), dtype=hs[0].dtype)
            for m, i in enumerate(index):
                value = value * ext[m][b, i]
            vec.append(value)
        rows.append(f.linear.weight @ torch.stack(vec) + f.linear.bias)
    return torch.stack(rows)


def ref_low_rank(f, hs):
    z = f.bias.expand(hs[0].shape[0], -1)
    for r in range(f.rank):
        term = 1
        for W, h in zip(f.factors, hs):
            term = term * (extend(h) @ W[r])                                     # W_m^{(r)} [1; h_m]
        z = z + term
    return z


def ref_gated(f, hs):
    c = torch.cat(hs, dim=1)
    logits = [affine(G, c) for G in f.gates]
    total = sum(torch.exp(x) for x in logits)
    return sum(torch.exp(x) / total * torch.tanh(affine(W, h)) for x, W, h in zip(logits, f.projections, hs))


def ref_modality_shifting(f, hs):
    h1 = hs[0]
    p = affine(f.primary, h1)
    H = sum(relu(affine(G, torch.cat([h1, h], dim=1))) * affine(W, h)
            for G, W, h in zip(f.gates, f.projections, hs[1:]))
    ratio = f.beta * p.pow(2).sum(1).sqrt() / (H.pow(2).sum(1).sqrt() + f.eps)
    alpha = torch.minimum(ratio, torch.ones_like(ratio))
    return p + alpha[:, None] * H


def ref_mixture(f, hs):
    outputs = [REFERENCE[name](expert, hs) for name, expert in zip(f.expert_names, f.experts)]
    scores = affine(f.gate, torch.cat(hs, dim=1)) / f.temperature
    pi = torch.exp(scores) / torch.exp(scores).sum(dim=1, keepdim=True)
    if f.hard:
        pi = (pi == pi.max(dim=1, keepdim=True).values).to(pi.dtype)
    return sum(pi[:, e:e + 1] * out for e, out in enumerate(outputs))


REFERENCE = {
    "early": ref_nonlinear, "late": ref_late, "additive": ref_additive, "multiplicative": ref_multiplicative,
    "mi_scalar": ref_mi_scalar, "mi_vector": ref_mi_vector, "mi_matrix": ref_mi_matrix, "tensor": ref_tensor,
    "low_rank": ref_low_rank, "gated": ref_gated, "modality_shifting": ref_modality_shifting,
    "mixture": ref_mixture, "nonlinear": ref_nonlinear,
}


# --- parameter counts: the formulas of the docstrings ----------------------------------------------------------------
def expected_parameters(name, dims, o, **kw):
    D, M = sum(dims), len(dims)
    if name in ("early", "nonlinear"):
        H = kw.get("hidden") or o
        return (D + 1) * H + (H + 1) * o
    if name == "late":
        return sum((d + 1) * o + (o + 1) * o for d in dims) + M
    if name == "additive":
        return o * D + o
    if name == "multiplicative":
        return o * sum(d + 1 for d in dims)
    if name == "mi_scalar":
        d1, d2 = dims
        return (d1 + 1) + o * (d2 + 1) + o * (d1 + 1)
    if name == "mi_vector":
        d1, d2 = dims
        return 2 * o * (d1 + 1) + o * (d2 + 1)
    if name == "mi_matrix":
        d1, d2 = dims
        return o * (d1 + 1) * (d2 + 1)
    if name == "tensor":
        return o * math.prod(d + 1 for d in dims) + o
    if name == "low_rank":
        return kw.get("rank", 4) * o * sum(d + 1 for d in dims) + o
    if name == "gated":
        return o * sum(d + 1 for d in dims) + M * o * (D + 1)
    if name == "modality_shifting":
        d1 = dims[0]
        return o * (d1 + 1) + sum(o * (d1 + d + 1) + o * (d + 1) for d in dims[1:])
    if name == "mixture":
        experts = kw.get("experts", ("additive", "multiplicative", "tensor"))
        return sum(expected_parameters(e, dims, o) for e in experts) + len(experts) * (D + 1)
    raise AssertionError(name)


# --- the registry ----------------------------------------------------------------------------------------------------
def test_registry_lists_every_fusion_in_the_books_order():
    assert list(FUSIONS) == BOOK_ORDER
    assert all(issubclass(cls, Fusion) for cls in FUSIONS.values())
    assert [n for n, cls in FUSIONS.items() if cls.uses_rank] == ["low_rank"]
    assert [n for n, cls in FUSIONS.items() if cls.raw_inputs] == ["early"]
    assert issubclass(EarlyFusion, NonlinearFusion) and Fusion.raw_inputs is False and Fusion.uses_rank is False


def test_make_fusion_builds_by_name_and_passes_keywords():
    fusion = make_fusion("low_rank", DIMS2, OUT, rank=2)
    assert isinstance(fusion, LowRankFusion) and fusion.rank == 2
    assert fusion_keywords("low_rank") == {"rank": 4}
    assert fusion_keywords("additive") == {}
    assert fusion_keywords("modality_shifting") == {"beta": 0.5, "eps": 1e-6}
    for name in BOOK_ORDER:   # every fusion accepts its own keywords, given explicitly at their defaults
        dims = DIMS2
        assert type(make_fusion(name, dims, OUT, **fusion_keywords(name))) is FUSIONS[name]


def test_unknown_fusion_name_lists_the_known_ones():
    message = "unknown fusion 'xor'; known fusions: " + ", ".join(BOOK_ORDER)
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make_fusion("xor", DIMS2, OUT)
    with pytest.raises(ValueError, match="unknown fusion None"):
        make_fusion(None, DIMS2, OUT)


def test_keyword_that_does_not_apply_is_a_clear_error():
    with pytest.raises(TypeError, match=r"fusion 'additive' \(AdditiveFusion\) does not take the keyword 'rank'; "
                                        r"the keywords it takes: none"):
        make_fusion("additive", DIMS2, OUT, rank=4)
    with pytest.raises(TypeError, match=r"'hidden'.*the keywords it takes: rank=4"):
        make_fusion("low_rank", DIMS2, OUT, hidden=8)


# --- every fusion: shape, determinism, the equation, parameters, gradients, devices ---------------------------------
@pytest.mark.parametrize("name,dims", CASES, ids=CASE_IDS)
def test_output_shape_and_attributes(name, dims):
    fusion = build(name, dims)
    z = fusion(*make_inputs(dims))
    assert z.shape == (6, OUT) and z.dtype == torch.float32 and torch.isfinite(z).all()
    assert fusion.input_dims == dims and isinstance(fusion.input_dims, tuple) and fusion.output_dim == OUT
    assert fusion(*make_inputs(dims, batch=1)).shape == (1, OUT)
    assert "input_dims=" in repr(fusion)


@pytest.mark.parametrize("name,dims", CASES, ids=CASE_IDS)
def test_deterministic_under_set_seed(name, dims):
    hs = make_inputs(dims)
    z1, z2 = build(name, dims, seed=3)(*hs), build(name, dims, seed=3)(*hs)
    assert torch.equal(z1, z2)
    assert not torch.equal(z1, build(name, dims, seed=4)(*hs))


@pytest.mark.parametrize("name,dims", CASES, ids=CASE_IDS)
def test_equation_by_hand(name, dims):
    fusion = randomize_(build(name, dims).double())
    hs = make_inputs(dims, batch=3, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(fusion(*hs), REFERENCE[name](fusion, hs), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name,dims,kwargs", [(n, d, {}) for n, d in CASES] + [
    ("low_rank", DIMS2, {"rank": 1}), ("low_rank", DIMS3, {"rank": 7}), ("nonlinear", DIMS2, {"hidden": 7}),
    ("early", (64, 32), {"hidden": 16}), ("mixture", DIMS2, {"experts": ("mi_matrix", "low_rank", "late")}),
], ids=CASE_IDS + ["low_rank-R1", "low_rank-R7", "nonlinear-H7", "early-raw", "mixture-experts"])
def test_parameter_count_matches_the_formula(name, dims, kwargs):
    fusion = build(name, dims, **kwargs)
    assert parameter_count(fusion) == expected_parameters(name, dims, OUT, **kwargs)


def test_parameter_count_rejects_non_modules():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        parameter_count([torch.zeros(3)])


GRADIENT_CASES = CASES + [("mixture", DIMS2, {"hard": True}), ("mixture", DIMS3, {"hard": True})]


@pytest.mark.parametrize("case", [(n, d, {}) for n, d in CASES] + GRADIENT_CASES[len(CASES):],
                         ids=CASE_IDS + ["mixture-hard-M2", "mixture-hard-M3"])
def test_every_parameter_is_registered_and_gets_a_gradient(case):
    name, dims, kwargs = case
    fusion = build(name, dims, **kwargs)
    for module in fusion.modules():   # no trainable tensor hides outside the registered parameters
        hidden = [k for k, v in vars(module).items() if isinstance(v, torch.Tensor) and v.requires_grad]
        assert not hidden, f"{type(module).__name__} holds unregistered trainable tensors {hidden}"
    z = fusion(*make_inputs(dims, batch=16))
    (z * torch.randn(z.shape, generator=torch.Generator().manual_seed(5))).sum().backward()
    for pname, p in fusion.named_parameters():
        assert p.grad is not None, f"{pname} got no gradient"
        assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, f"{pname} got a zero gradient"


@pytest.mark.parametrize("name,dims", CASES, ids=CASE_IDS)
def test_to_device_and_float64(name, dims):
    fusion = build(name, dims)
    hs = make_inputs(dims)
    z32 = fusion(*hs)
    assert fusion.to(torch.device("cpu")) is fusion and torch.equal(fusion(*hs), z32)
    fusion = fusion.to(torch.float64)
    assert all(p.dtype == torch.float64 for p in fusion.parameters())
    z64 = fusion(*[h.double() for h in hs])
    assert z64.dtype == torch.float64
    torch.testing.assert_close(z64.float(), z32, rtol=1e-4, atol=1e-5)
    device = get_device()   # the GPU when there is one, else the CPU again
    fusion = fusion.to(device)
    assert fusion(*[h.double().to(device) for h in hs]).device.type == device.type


# --- clear errors ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", BOOK_ORDER)
def test_forward_rejects_bad_inputs_with_clear_messages(name):
    fusion = build(name, DIMS2)
    where = type(fusion).__name__
    h1, h2 = make_inputs(DIMS2)
    with pytest.raises(ValueError, match=f"{where}: expected 2 modalities"):
        fusion(h1)
    with pytest.raises(ValueError, match=f"{where}: expected 2 modalities"):
        fusion(h1, h2, h2)
    with pytest.raises(ValueError, match=f"{where}: mismatched batch sizes"):
        fusion(h1, h2[:4])
    with pytest.raises(ValueError, match=f"{where}: modality 2 must have 5 features, got 4"):
        fusion(h1, h2[:, :4])
    with pytest.raises(ValueError, match=f"{where}: modality 1 must have shape"):
        fusion(h1[0], h2)
    bad = h2.clone()
    bad[2, 1] = float("nan")
    with pytest.raises(ValueError, match=f"{where}: modality 2 contains NaN"):
        fusion(h1, bad)


@pytest.mark.parametrize("name", BOOK_ORDER)
def test_one_modality_is_rejected(name):
    match = rf"{FUSIONS[name].__name__}: input_dims must list .*2 modalities.*, got \(3,\) \(1 modality\)"
    with pytest.raises(ValueError, match=match):
        make_fusion(name, (3,), OUT)


BAD_ARGUMENTS = [
    ("low_rank", DIMS2, OUT, {"rank": 0}, r"LowRankFusion: rank must be a positive integer, got 0"),
    ("low_rank", DIMS2, OUT, {"rank": 2.5}, r"rank must be a positive integer, got 2\.5"),
    ("low_rank", DIMS2, OUT, {"rank": True}, r"rank must be a positive integer, got True"),
    ("mi_matrix", DIMS3, OUT, {}, r"MIMatrixFusion: input_dims must list exactly 2 modalities .*got \(3, 5, 2\)"),
    ("mi_vector", DIMS3, OUT, {}, r"MIVectorFusion: input_dims must list exactly 2 modalities"),
    ("mi_scalar", DIMS3, OUT, {}, r"MIScalarFusion: input_dims must list exactly 2 modalities"),
    ("additive", (3, 0), OUT, {}, r"AdditiveFusion: input_dims\[1\] must be a positive integer, got 0"),
    ("additive", (3, -2), OUT, {}, r"input_dims\[1\] must be a positive integer, got -2"),
    ("additive", (3, 2.0), OUT, {}, r"input_dims\[1\] must be a positive integer, got 2\.0"),
    ("additive", "35", OUT, {}, r"input_dims must be a sequence of feature sizes.*got '35'"),
    ("additive", 3, OUT, {}, r"input_dims must be a sequence of feature sizes.*got 3"),
    ("tensor", DIMS2, 0, {}, r"TensorFusion: output_dim must be a positive integer, got 0"),
    ("nonlinear", DIMS2, OUT, {"hidden": 0}, r"NonlinearFusion: hidden must be a positive integer, got 0"),
    ("early", DIMS2, OUT, {"hidden": -1}, r"EarlyFusion: hidden must be a positive integer, got -1"),
    ("modality_shifting", DIMS2, OUT, {"beta": -0.1}, r"beta must be a finite number ≥ 0, got -0\.1"),
    ("modality_shifting", DIMS2, OUT, {"beta": float("nan")}, r"beta must be a finite number ≥ 0, got nan"),
    ("modality_shifting", DIMS2, OUT, {"eps": 0}, r"eps must be a finite number > 0, got 0"),
    ("mixture", DIMS2, OUT, {"experts": ("additive", "xor")},
     r"MixtureOfFusions: unknown fusion 'xor' in experts; known fusions: early, late"),
    ("mixture", DIMS2, OUT, {"experts": "additive"}, r"experts must be a non-empty sequence of fusion names"),
    ("mixture", DIMS2, OUT, {"experts": ()}, r"experts must be a non-empty sequence"),
    ("mixture", DIMS2, OUT, {"experts": ("additive", "mixture")}, r"experts cannot contain 'mixture'"),
    ("mixture", DIMS2, OUT, {"temperature": 0}, r"temperature must be a finite number > 0, got 0"),
    ("mixture", DIMS2, OUT, {"hard": "yes"}, r"hard must be True or False, got 'yes'"),
    ("mixture", DIMS3, OUT, {"experts": ("additive", "mi_matrix")}, r"MIMatrixFusion: .*exactly 2 modalities"),
]


@pytest.mark.parametrize("name,dims,out,kwargs,match", BAD_ARGUMENTS, ids=[f"{b[0]}-{i}" for i, b in
                                                                          enumerate(BAD_ARGUMENTS)])
def test_bad_constructor_arguments_are_clear_errors(name, dims, out, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_fusion(name, dims, out, **kwargs)


def test_numpy_integers_are_accepted_as_sizes():
    fusion = LowRankFusion(np.array([3, 5]), np.int64(4), rank=np.int64(2))
    assert fusion.input_dims == (3, 5) and type(fusion.input_dims[0]) is int and fusion.rank == 2
    assert fusion(*make_inputs(DIMS2)).shape == (6, 4)


# --- method-specific checks ------------------------------------------------------------------------------------------
def test_late_fusion_starts_as_a_plain_average():
    fusion = build("late", DIMS3)
    hs = make_inputs(DIMS3)
    with torch.no_grad():
        average = sum(g(h) for g, h in zip(fusion.unimodal, hs)) / 3
        torch.testing.assert_close(fusion(*hs), average)


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(["additive", "late"]), dims=st.lists(st.integers(1, 4), min_size=2, max_size=3),
       seed=st.integers(0, 10_000))
def test_additive_and_late_fusion_have_no_cross_modal_interaction(name, dims, seed):
    """The law of a sum of unimodal functions: z(a₁, a₂, …) + z(b₁, b₂, …) = z(a₁, b₂, …) + z(b₁, a₂, …)."""
    fusion = randomize_(build(name, dims, seed=seed).double(), seed=seed)
    a, b = make_inputs(dims, seed=seed, dtype=torch.float64), make_inputs(dims, seed=seed + 1, dtype=torch.float64)
    with torch.no_grad():
        lhs = fusion(*a) + fusion(*b)
        rhs = fusion(b[0], *a[1:]) + fusion(a[0], *b[1:])
    torch.testing.assert_close(lhs, rhs, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", ["multiplicative", "mi_scalar", "mi_vector", "mi_matrix", "tensor", "low_rank",
                                  "gated", "nonlinear"])
def test_interacting_fusions_break_the_additive_law(name):
    fusion = randomize_(build(name, DIMS2).double())
    a, b = make_inputs(DIMS2, seed=1, dtype=torch.float64), make_inputs(DIMS2, seed=2, dtype=torch.float64)
    with torch.no_grad():
        gap = fusion(*a) + fusion(*b) - fusion(b[0], a[1]) - fusion(a[0], b[1])
    assert gap.abs().max() > 1e-3


def test_tensor_fusion_outer_product_by_loops():
    fusion = build("tensor", DIMS3)
    assert fusion.tensor_dim == 4 * 6 * 3 == fusion.linear.in_features
    hs = make_inputs(DIMS3, batch=2)
    t = fusion.fused_tensor(*hs)
    assert t.shape == (2, fusion.tensor_dim)
    for b in range(2):
        ext = [torch.cat([torch.ones(1), h[b]]) for h in hs]
        for flat, (i, j, k) in enumerate(itertools.product(range(4), range(6), range(3))):
            assert torch.isclose(t[b, flat], ext[0][i] * ext[1][j] * ext[2][k])
    # The appended 1 keeps the unimodal features inside the tensor: entry (0, 0, 0) is 1, (i, 0, 0) is h1[i-1].
    torch.testing.assert_close(t.view(2, 4, 6, 3)[:, 1:, 0, 0], hs[0])


def low_rank_as_tensor_fusion(low_rank):
    tensor = TensorFusion(low_rank.input_dims, low_rank.output_dim).to(low_rank.bias.dtype)
    with torch.no_grad():
        tensor.linear.weight.copy_(low_rank.to_tensor_weight().reshape(low_rank.output_dim, -1))
        tensor.linear.bias.copy_(low_rank.bias)
    return tensor


@pytest.mark.parametrize("dims,rank", [(DIMS2, 1), (DIMS2, 4), (DIMS3, 3)])
def test_low_rank_equals_tensor_fusion_with_its_weight(dims, rank):
    fusion = randomize_(build("low_rank", dims, rank=rank).double())
    W = fusion.to_tensor_weight().detach()
    assert W.shape == (OUT, *(d + 1 for d in dims))
    # one entry by its definition Σ_r Π_m W_m^{(r)}[i_m, k]
    k, index = 2, tuple(d for d in dims)
    entry = sum(math.prod(fusion.factors[m][r, i, k].item() for m, i in enumerate(index)) for r in range(rank))
    assert math.isclose(float(W[(k, *index)]), entry, rel_tol=1e-9)
    hs = make_inputs(dims, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(low_rank_as_tensor_fusion(fusion)(*hs), fusion(*hs), rtol=1e-9, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(dims=st.lists(st.integers(1, 4), min_size=2, max_size=3), out=st.integers(1, 3), rank=st.integers(1, 3),
       seed=st.integers(0, 10_000))
def test_low_rank_tensor_equivalence_property(dims, out, rank, seed):
    set_seed(seed)
    fusion = LowRankFusion(dims, out, rank=rank).double()
    hs = make_inputs(dims, batch=4, seed=seed, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(low_rank_as_tensor_fusion(fusion)(*hs), fusion(*hs), rtol=1e-9, atol=1e-9)


def test_low_rank_factors_are_one_parameter_per_modality():
    fusion = build("low_rank", DIMS3, rank=3)
    assert [tuple(W.shape) for W in fusion.factors] == [(3, 4, OUT), (3, 6, OUT), (3, 3, OUT)]
    assert all(isinstance(W, nn.Parameter) for W in fusion.factors)


def test_mi_matrix_generates_a_weight_matrix_per_example():
    fusion = randomize_(build("mi_matrix", DIMS2).double())
    h1, h2 = make_inputs(DIMS2, batch=2, dtype=torch.float64)
    for b in range(2):   # z = W(h1) h2 + b(h1), with W(h1) reshaped row-major to (o, d2)
        W = (fusion.weight_generator.weight @ h1[b] + fusion.weight_generator.bias).reshape(OUT, 5)
        z = W @ h2[b] + fusion.bias_generator.weight @ h1[b] + fusion.bias_generator.bias
        torch.testing.assert_close(fusion(h1[b:b + 1], h2[b:b + 1])[0], z.detach())


def test_gated_fusion_gates_are_a_softmax_and_a_sigmoid_for_two_modalities():
    fusion = randomize_(build("gated", DIMS2).double())
    h1, h2 = make_inputs(DIMS2, dtype=torch.float64)
    with torch.no_grad():
        z = fusion(h1, h2)
        gates = fusion.last_gates
        assert gates.shape == (6, 2, OUT) and not gates.requires_grad
        torch.testing.assert_close(gates.sum(dim=1), torch.ones(6, OUT, dtype=torch.float64))
        G1, G2 = fusion.gates
        c = torch.cat([h1, h2], dim=1)
        g = torch.sigmoid(c @ (G1.weight - G2.weight).T + (G1.bias - G2.bias))   # the GMU's g = σ(W_g [h1; h2])
        torch.testing.assert_close(gates[:, 0], g)
        W1, W2 = fusion.projections
        torch.testing.assert_close(z, g * torch.tanh(W1(h1)) + (1 - g) * torch.tanh(W2(h2)))
    fusion3 = build("gated", DIMS3)
    fusion3(*make_inputs(DIMS3))
    assert fusion3.last_gates.shape == (6, 3, OUT)
    torch.testing.assert_close(fusion3.last_gates.sum(dim=1), torch.ones(6, OUT))


def test_modality_shifting_caps_the_shift():
    hs = make_inputs(DIMS3, batch=8, dtype=torch.float64)
    with torch.no_grad():
        wide = randomize_(build("modality_shifting", DIMS3, beta=1e6).double())   # α = 1: the full displacement
        z = wide(*hs)
        assert wide.last_alpha.shape == (8,) and torch.all(wide.last_alpha == 1)
        H = z - wide.primary(hs[0])
        assert H.norm(dim=1).min() > 0
        narrow = randomize_(build("modality_shifting", DIMS3, beta=0.1).double())  # same parameters, small β
        p = narrow.primary(hs[0])
        shift = narrow(*hs) - p
        assert torch.all(narrow.last_alpha < 1)
        # the shift is scaled down to exactly β‖p‖ (up to eps)
        torch.testing.assert_close(shift.norm(dim=1), 0.1 * p.norm(dim=1), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(shift, narrow.last_alpha[:, None] * H)


def test_modality_shifting_with_closed_gates_returns_the_primary():
    fusion = build("modality_shifting", DIMS2)
    with torch.no_grad():
        fusion.gates[0].weight.zero_()
        fusion.gates[0].bias.fill_(-1.0)   # ReLU(G [h1; h2]) = 0: no displacement, ‖H‖ = 0
    hs = make_inputs(DIMS2)
    z = fusion(*hs)
    torch.testing.assert_close(z, fusion.primary(hs[0]))
    z.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in fusion.parameters() if p.grad is not None)


def test_mixture_soft_weights_sum_to_one_and_temperature_sharpens():
    hs = make_inputs(DIMS2)
    fusion = build("mixture", DIMS2)
    fusion(*hs)
    w = fusion.last_weights
    assert w.shape == (6, 3) and torch.all(w > 0) and not w.requires_grad
    torch.testing.assert_close(w.sum(dim=1), torch.ones(6))
    assert fusion.expert_names == ("additive", "multiplicative", "tensor")
    assert [type(e) for e in fusion.experts] == [AdditiveFusion, MultiplicativeFusion, TensorFusion]
    flat = build("mixture", DIMS2, temperature=1e4)
    flat(*hs)
    torch.testing.assert_close(flat.last_weights, torch.full((6, 3), 1 / 3), atol=1e-3, rtol=0)
    sharp = randomize_(build("mixture", DIMS2, temperature=1e-3))
    sharp(*hs)
    assert torch.all(sharp.last_weights.max(dim=1).values > 0.99)


def test_mixture_hard_mode_is_one_hot_forward_and_soft_backward():
    hs = make_inputs(DIMS2, batch=32)
    soft = randomize_(build("mixture", DIMS2))
    hard = randomize_(build("mixture", DIMS2, hard=True))
    z = hard(*hs)
    w = hard.last_weights
    assert set(w.unique().tolist()) <= {0.0, 1.0} and torch.all(w.sum(dim=1) == 1)
    assert torch.equal(w.argmax(dim=1), hard.last_soft_weights.argmax(dim=1))
    with torch.no_grad():
        outputs = torch.stack([expert(*hs) for expert in hard.experts], dim=1)
    torch.testing.assert_close(z.detach(), outputs[torch.arange(32), w.argmax(dim=1)])   # each example: one expert
    # backward: the gradient of the soft mixture with the same parameters
    z_soft = soft(*hs)
    g = torch.randn(z.shape, generator=torch.Generator().manual_seed(0))
    (z * g).sum().backward()
    (z_soft * g).sum().backward()
    for (name, p), q in zip(hard.named_parameters(), soft.parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=f"{name}: not the soft gradient")


# --- learning: XOR needs a cross-modal interaction ------------------------------------------------------------------
def xor_training_accuracy(name, steps=200, n=200, width=8, seed=0):
    """Two 1-D modalities x1, x2 = ±1 plus noise, label x1·x2 > 0, each quadrant equally often; fusion + linear head."""
    set_seed(seed)
    signs = torch.tensor([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]).repeat(n // 4, 1)
    x = signs + 0.1 * torch.randn(n, 2)
    y = (signs[:, 0] * signs[:, 1] > 0).float()
    fusion, head = make_fusion(name, (1, 1), width), nn.Linear(width, 1)
    optimizer = torch.optim.Adam([*fusion.parameters(), *head.parameters()], lr=0.05)
    for _ in range(steps):
        optimizer.zero_grad()
        logits = head(fusion(x[:, :1], x[:, 1:])).squeeze(1)
        nn.functional.binary_cross_entropy_with_logits(logits, y).backward()
        optimizer.step()
    with torch.no_grad():
        return ((head(fusion(x[:, :1], x[:, 1:])).squeeze(1) > 0).float() == y).float().mean().item()


@pytest.fixture
def one_thread():
    """Tiny models train fastest on one thread (and do not fight other test processes for cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("name", ["multiplicative", "tensor", "low_rank", "mi_matrix"])
def test_interacting_fusions_solve_xor(name):
    assert xor_training_accuracy(name) >= 0.95


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("name", ["additive", "late"])
def test_additive_fusions_cannot_solve_xor(name):
    assert xor_training_accuracy(name) <= 0.8   # a sum of unimodal functions gets at most 3 of the 4 quadrants


# --- the docstrings' examples run ------------------------------------------------------------------------------------
@pytest.mark.parametrize("module", ["", ".base", ".simple", ".interactions", ".gated", ".registry"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module("mmcourse.representation.fusion" + module))
    assert result.attempted > 0 and result.failed == 0
