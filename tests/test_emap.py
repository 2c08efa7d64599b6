"""Tests of mmcourse.quantification.emap: EMAP (Hessel and Lee, 2020) and the gradient views of interactions.

Hand-made models with known answers (additive, XOR, linear, bilinear), a brute-force EMAP, and two trained
FusionModels on the interaction datasets (tensor fusion on synergy, additive fusion on redundancy).
"""
from __future__ import annotations

import doctest

import pytest
import torch
from torch import nn

import mmcourse.quantification.emap as emap_module
from mmcourse.data import as_tensors, load_dataset
from mmcourse.quantification.emap import (emap_accuracy, emap_logits, gradient_attribution,
                                          second_order_interaction)
from mmcourse.representation import FusionModel
from mmcourse.training import fit
from mmcourse.utils import set_seed


class Additive(nn.Module):
    """f(x1, x2) = g1(x1) + g2(x2) with nonlinear g's: EMAP must leave it as it is."""

    def __init__(self, d1=3, d2=4, classes=3):
        super().__init__()
        self.g1 = nn.Sequential(nn.Linear(d1, 8), nn.Tanh(), nn.Linear(8, classes))
        self.g2 = nn.Sequential(nn.Linear(d2, 8), nn.Tanh(), nn.Linear(8, classes))

    def forward(self, x1, x2):
        return self.g1(x1) + self.g2(x2)


class Interacting(nn.Module):
    """A generic non-additive model: an MLP on the concatenation."""

    def __init__(self, d1=3, d2=4, classes=3):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d1 + d2, 16), nn.Tanh(), nn.Linear(16, classes))

    def forward(self, x1, x2):
        return self.net(torch.cat([x1, x2], 1))


def xor_model(x1, x2):
    """Logits [−s, s] with s = sign(x1₀)·sign(x2₀): predicts 1 when the signs agree."""
    s = torch.sign(x1[:, 0]) * torch.sign(x2[:, 0])
    return torch.stack([-s, s], 1)


def brute_force_emap(f, x1, x2):
    n = x1.shape[0]
    with torch.no_grad():
        grid = torch.stack([torch.stack([f(x1[i:i + 1], x2[j:j + 1])[0] for j in range(n)]) for i in range(n)])
    grid = grid.double()
    return grid.mean(1) + grid.mean(0) - grid.mean((0, 1))


def pairs(n=7, d1=3, d2=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d1, generator=g), torch.randn(n, d2, generator=g)


# --- EMAP -------------------------------------------------------------------------------------------------------

def test_additive_model_is_unchanged():
    set_seed(0)
    model = Additive()
    x1, x2 = pairs(50)
    with torch.no_grad():
        expected = model(x1, x2)
    torch.testing.assert_close(emap_logits(model, x1, x2), expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("batch_size", [1, 5, 7, 13, 65536])
def test_vectorised_equals_the_double_loop(batch_size):
    set_seed(1)
    model = Interacting()
    x1, x2 = pairs(7)
    got = emap_logits(model, x1, x2, batch_size=batch_size)
    torch.testing.assert_close(got.double(), brute_force_emap(model, x1, x2), atol=1e-5, rtol=0)
    with torch.no_grad():
        assert (got - model(x1, x2)).abs().max() > 1e-3  # a non-additive model does change


def test_emap_is_a_projection():
    set_seed(2)
    model = Interacting()
    x1, x2 = pairs(9)

    def projected(a, b):  # the EMAP'd function, defined for any inputs under the same empirical measure
        with torch.no_grad():
            row = torch.stack([model(a[i:i + 1].expand(len(x2), -1), x2).mean(0) for i in range(len(a))])
            col = torch.stack([model(x1, b[i:i + 1].expand(len(x1), -1)).mean(0) for i in range(len(b))])
            return row + col - model(x1.repeat_interleave(len(x2), 0), x2.repeat(len(x1), 1)).mean(0)

    once = emap_logits(model, x1, x2)
    torch.testing.assert_close(projected(x1, x2), once, atol=1e-5, rtol=0)
    torch.testing.assert_close(emap_logits(projected, x1, x2), once, atol=1e-5, rtol=0)


def test_xor_model_drops_to_chance_on_balanced_data():
    g = torch.Generator().manual_seed(0)
    x1, x2 = torch.randn(400, 2, generator=g), torch.randn(400, 2, generator=g)
    y = ((x1[:, 0] > 0) == (x2[:, 0] > 0)).long()
    accuracy, projected = emap_accuracy(xor_model, x1, x2, y)
    assert accuracy == 1.0
    assert abs(projected - 0.5) <= 0.05


def test_shapes_dtype_and_one_dimensional_logits():
    set_seed(0)
    model = Additive(classes=5)
    x1, x2 = pairs(6)
    out = emap_logits(model, x1, x2)
    assert out.shape == (6, 5) and out.dtype == torch.float32 and out.device.type == "cpu"
    scalar = emap_logits(lambda a, b: a.sum(1) * b.sum(1), x1, x2)
    assert scalar.shape == (6,)
    images = emap_logits(lambda a, b: a.flatten(1)[:, :2] * b[:, :1], torch.randn(4, 2, 3, 3), torch.randn(4, 5))
    assert images.shape == (4, 2)


def test_model_mode_is_restored():
    model = Additive().train()
    emap_logits(model, *pairs(4))
    emap_accuracy(model, *pairs(4), torch.zeros(4, dtype=torch.long))
    assert model.training


@pytest.mark.parametrize("call, match", [
    (lambda m, x1, x2: emap_logits(m, x1, x2[:5]),
     r"emap_logits: x1 and x2 must have the same number of rows.*7 and 5"),
    (lambda m, x1, x2: emap_logits(m, x1[:1], x2[:1]), r"emap_logits: x1 and x2 need at least 2 rows.*got 1"),
    (lambda m, x1, x2: emap_logits(m, x1, x2, batch_size=0), r"emap_logits: batch_size must be a positive"),
    (lambda m, x1, x2: emap_logits(m, x1 * float("nan"), x2), r"emap_logits: x1 contains NaN"),
    (lambda m, x1, x2: emap_logits(lambda a, b: a.sum(), x1, x2), r"emap_logits: model\(x1, x2\) must return logits"),
    (lambda m, x1, x2: emap_accuracy(m, x1, x2, torch.zeros(6, dtype=torch.long)),
     r"emap_accuracy: y must be a 1-D integer tensor of 7"),
    (lambda m, x1, x2: emap_accuracy(m, x1, x2, torch.zeros(7)), r"emap_accuracy: y must be"),
    (lambda m, x1, x2: emap_accuracy(m, x1[:1], x2[:1], torch.zeros(1, dtype=torch.long)),
     r"emap_accuracy: x1 and x2 need at least 2 rows"),
])
def test_emap_errors(call, match):
    x1, x2 = pairs(7)
    with pytest.raises(ValueError, match=match):
        call(Additive(), x1, x2)


def test_emap_errors_on_the_number_of_modalities():
    x1, x2 = pairs(7)
    with pytest.raises(TypeError, match=r"emap_logits: x1 must be one tensor, got a list of 2.*emap_logits\(model"):
        emap_logits(Additive(), [x1, x2], x2)
    with pytest.raises(TypeError, match=r"emap_logits: x2 must be a torch.Tensor, got ndarray"):
        emap_logits(Additive(), x1, x2.numpy())
    three = FusionModel([torch.zeros(3), torch.zeros(4), torch.zeros(2)], 2, "additive", width=4)
    with pytest.raises(ValueError, match=r"emap_logits: model takes 3 modalities; this function needs exactly 2"):
        emap_logits(three, x1, x2)
    with pytest.raises(TypeError, match=r"emap_accuracy: model must be callable"):
        emap_accuracy(3, x1, x2, torch.zeros(7, dtype=torch.long))


# --- gradient views ---------------------------------------------------------------------------------------------

class Linear(nn.Module):
    def __init__(self, a, b):
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x1, x2):
        f = x1 @ self.a + x2 @ self.b
        return torch.stack([f, -f], 1)


class Bilinear(nn.Module):
    def __init__(self, w1, w2):
        super().__init__()
        self.w1, self.w2 = w1, w2

    def forward(self, x1, x2):
        return ((x1 @ self.w1) * (x2 @ self.w2))[:, None]


def test_linear_additive_model_first_and_second_order():
    a, b = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([3.0, 0.0, -1.0, 4.0])
    x1, x2 = pairs(10)
    model = Linear(a, b)
    for target in (None, 0, 1, torch.randint(0, 2, (10,))):
        g1, g2 = gradient_attribution(model, x1, x2, target=target)
        assert g1 == pytest.approx(a.abs().mean().item(), abs=1e-6)
        assert g2 == pytest.approx(b.abs().mean().item(), abs=1e-6)
        assert second_order_interaction(model, x1, x2, target=target) == 0.0
    # a nonlinear additive model has a non-zero Hessian, but its cross block is still zero
    assert second_order_interaction(Additive(classes=2), x1, x2) == pytest.approx(0.0, abs=1e-7)


def test_bilinear_cross_term_is_the_outer_product_norm():
    g = torch.Generator().manual_seed(3)
    w1, w2 = torch.randn(3, generator=g, dtype=torch.float64), torch.randn(4, generator=g, dtype=torch.float64)
    x1, x2 = (x.double() for x in pairs(8))
    model = Bilinear(w1, w2)
    expected = torch.linalg.matrix_norm(torch.outer(w1, w2)).item()  # Frobenius norm of w1 w2ᵀ
    assert second_order_interaction(model, x1, x2) == pytest.approx(expected, rel=1e-12)
    g1, g2 = gradient_attribution(model, x1, x2)  # ∂f/∂x1 = w1 (w2·x2), ∂f/∂x2 = w2 (w1·x1)
    assert g1 == pytest.approx(((x2 @ w2).abs()[:, None] * w1.abs()).mean().item(), rel=1e-12)
    assert g2 == pytest.approx(((x1 @ w1).abs()[:, None] * w2.abs()).mean().item(), rel=1e-12)


def test_second_order_matches_autograd_hessian():
    set_seed(4)
    model = Interacting().double()
    x1, x2 = (x.double() for x in pairs(5))
    y = torch.tensor([0, 2, 1, 1, 0])
    norms = []
    for i in range(5):
        def f(a, b, i=i):
            return model(a[None], b[None])[0, y[i]]
        cross = torch.autograd.functional.hessian(f, (x1[i], x2[i]))[0][1]  # ∂²f/∂x1∂x2, shape (3, 4)
        norms.append(torch.linalg.matrix_norm(cross).item())
    assert second_order_interaction(model, x1, x2, target=y) == pytest.approx(sum(norms) / 5, rel=1e-10)
    assert sum(norms) > 0


def test_gradient_inputs_are_untouched_and_shapes():
    model = Interacting()
    x1, x2 = pairs(6)
    result = gradient_attribution(model, x1, x2)
    assert isinstance(result, tuple) and len(result) == 2 and all(isinstance(v, float) for v in result)
    assert isinstance(second_order_interaction(model, x1, x2), float)
    assert not x1.requires_grad and x1.grad is None and all(p.grad is None for p in model.parameters())


def test_gradient_views_work_under_no_grad():
    # a caller's no_grad block (e.g. around an evaluation loop) once made both raise "does not require grad"
    x1, x2 = (x.double() for x in pairs(6))
    model = Bilinear(torch.tensor([1.0, 2.0, 0.0], dtype=torch.float64),
                     torch.tensor([0.0, 0.0, 3.0, 4.0], dtype=torch.float64))
    expected = (gradient_attribution(model, x1, x2), second_order_interaction(model, x1, x2))
    with torch.no_grad():
        assert gradient_attribution(model, x1, x2) == expected[0]
        assert second_order_interaction(model, x1, x2) == pytest.approx(expected[1], rel=1e-12)
    assert expected[1] == pytest.approx(5 * 5 ** 0.5, rel=1e-12)  # ‖w1‖‖w2‖ = √5 · 5


def test_gradient_views_of_a_model_that_ignores_its_inputs():
    x1, x2 = pairs(6)
    constant = lambda a, b: torch.zeros(a.shape[0], 2)  # noqa: E731
    assert gradient_attribution(constant, x1, x2) == (0.0, 0.0)
    assert second_order_interaction(constant, x1, x2) == 0.0


@pytest.mark.parametrize("fn", [gradient_attribution, second_order_interaction])
def test_gradient_errors(fn):
    name = fn.__name__
    x1, x2 = pairs(6)
    model = Interacting()
    with pytest.raises(ValueError, match=rf"{name}: x1 and x2 must have the same number of rows.*6 and 4"):
        fn(model, x1, x2[:4])
    with pytest.raises(ValueError, match=rf"{name}: x2 must be a floating-point tensor"):
        fn(model, x1, x2.long())
    with pytest.raises(ValueError, match=rf"{name}: target must be a class index in \[0, 3\), got 3"):
        fn(model, x1, x2, target=3)
    with pytest.raises(ValueError, match=rf"{name}: target must be None"):
        fn(model, x1, x2, target=torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match=rf"{name}: target holds class indices outside"):
        fn(model, x1, x2, target=torch.full((6,), 7))
    with pytest.raises(TypeError, match=rf"{name}: x1 must be one tensor"):
        fn(model, (x1, x2), x2)


# --- trained models on the interaction datasets ----------------------------------------------------------------

def trained(name, fusion):
    set_seed(0)
    ds = load_dataset(name, n_train=800, n_val=10, n_test=400, seed=0, cache=False)
    train, test = as_tensors(ds["train"]), as_tensors(ds["test"])
    model = FusionModel([x[0] for x in train[0]], 2, fusion, width=16, encoder="mlp")
    fit(model, train, epochs=25, lr=1e-2, batch_size=64, progress=False, device="cpu")
    return model, test


def test_tensor_fusion_on_synergy_loses_its_accuracy_under_emap():
    model, ((x1, x2), y) = trained("synergy", "tensor")
    accuracy, projected = emap_accuracy(model, x1, x2, y)
    assert accuracy > 0.8
    assert abs(projected - 0.5) < 0.1  # near chance: the additive part of XOR carries no label information
    assert second_order_interaction(model, x1[:50], x2[:50]) > 0.1


def test_additive_fusion_on_redundancy_keeps_its_accuracy_under_emap():
    model, ((x1, x2), y) = trained("redundancy", "additive")
    accuracy, projected = emap_accuracy(model, x1, x2, y)
    assert accuracy > 0.9
    assert abs(accuracy - projected) <= 0.02
    assert second_order_interaction(model, x1[:50], x2[:50]) == pytest.approx(0.0, abs=1e-6)
    assert min(gradient_attribution(model, x1, x2)) > 0  # redundant: both modalities are used


def test_doctests():
    result = doctest.testmod(emap_module)
    assert result.attempted > 0 and result.failed == 0
