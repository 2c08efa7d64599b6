"""Tests of mmcourse.representation.fission.factorized (Part 2.5, modality-level fission): the shapes of the
factors, the loss recomputed by hand from the module's own parts, the decorrelation penalty against NumPy, gradient
flow, error messages, and the key result on the redundancy data (the shared factor holds the label, the private
factors hold their own modality's latent)."""
from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression, Ridge

from mmcourse.data import as_tensors, load_dataset
from mmcourse.representation.fission import factorized as factorized_module
from mmcourse.representation.fission import (FactorizedHistory, FactorizedLoss, FactorizedModel, Factors,
                                             decorrelation_penalty, fit_factorized)
from mmcourse.utils import set_seed

pytestmark = pytest.mark.filterwarnings("error")


def batch(n=7, dims=(5, 3), seed=0):
    g = torch.Generator().manual_seed(seed)
    xs = [torch.randn(n, d, generator=g) for d in dims]
    return xs, torch.randint(0, 3, (n,), generator=g)


# --- decorrelation ---------------------------------------------------------------------------------------------------
def test_decorrelation_matches_numpy_correlations():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(20, 3, generator=g, dtype=torch.float64)
    b = torch.randn(20, 2, generator=g, dtype=torch.float64) + a[:, :2]
    corr = np.corrcoef(np.hstack([a.numpy(), b.numpy()]).T)[:3, 3:]
    assert decorrelation_penalty(a, b, eps=0.0).item() == pytest.approx((corr ** 2).sum(), rel=1e-10)


def test_decorrelation_limits_and_invariances():
    g = torch.Generator().manual_seed(2)
    a = torch.randn(50, 2, generator=g, dtype=torch.float64)
    rho = np.corrcoef(a.T.numpy())[0, 1]
    assert decorrelation_penalty(a, -3 * a + 1, eps=0.0).item() == pytest.approx(2 + 2 * rho ** 2)
    # scaling a factor cannot lower the penalty (the raw orthogonality ‖aᵀb‖² could be cheated that way)
    b = a[:, :1] + 0.1 * torch.randn(50, 1, generator=g, dtype=torch.float64)
    penalty = decorrelation_penalty(a, b, eps=0.0).item()
    assert decorrelation_penalty(a, 1e-3 * b, eps=0.0).item() == pytest.approx(penalty)
    assert decorrelation_penalty(a, torch.ones(50, 1, dtype=torch.float64)).item() == 0.0   # a constant: 0, not NaN


def test_decorrelation_gradcheck():
    g = torch.Generator().manual_seed(3)
    a = torch.randn(6, 2, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(decorrelation_penalty, (a, b))


@pytest.mark.parametrize("a, b, match", [
    (torch.zeros(4), torch.zeros(4, 2), "a must be a 2-D tensor"),
    (torch.zeros(4, 2), torch.zeros(5, 2), "same number of rows n ≥ 2, got 4 and 5"),
    (torch.zeros(1, 2), torch.zeros(1, 2), "n ≥ 2, got 1 and 1"),
])
def test_decorrelation_errors(a, b, match):
    with pytest.raises(ValueError, match=match):
        decorrelation_penalty(a, b)


# --- the model -------------------------------------------------------------------------------------------------------
def test_shapes_of_factors_reconstructions_and_logits():
    set_seed(0)
    model = FactorizedModel((5, 3, 4), 3, shared_dim=6, private_dim=2)
    xs, _ = batch(dims=(5, 3, 4))
    f = model.factors(*xs)
    assert isinstance(f, Factors) and f.shared.shape == (7, 6) and [p.shape for p in f.private] == [(7, 2)] * 3
    assert [r.shape for r in model.reconstruct(*xs)] == [(7, 5), (7, 3), (7, 4)]
    assert model(*xs).shape == (7, 3)


def test_each_part_reads_what_the_equations_say():
    """s reads every modality, p_m only x_m, the label only s, and D_m only [s; p_m]."""
    set_seed(0)
    model = FactorizedModel((5, 3), 3)
    xs, _ = batch()
    changed = [xs[0].clone(), xs[1] + 1.0]                 # change modality 2 only
    before, after = model.factors(*xs), model.factors(*changed)
    assert torch.equal(before.private[0], after.private[0])   # p₁ ignores x₂
    assert not torch.allclose(before.private[1], after.private[1])
    assert not torch.allclose(before.shared, after.shared)     # s sees x₂
    assert torch.allclose(model(*xs), model.head(before.shared))
    manual = model.decoders[0](torch.cat([before.shared, before.private[0]], dim=1))
    assert torch.allclose(model.reconstruct(*xs)[0], manual)


def test_loss_terms_recomputed_by_hand():
    set_seed(0)
    model = FactorizedModel((5, 3), 3, recon_weight=0.7, decorrelation_weight=0.3)
    xs, y = batch()
    terms = model.loss(xs, y)
    assert isinstance(terms, FactorizedLoss)
    f = model.factors(*xs)
    recon = model.reconstruct(*xs)
    ce = F.cross_entropy(model.head(f.shared), y)
    rec = sum(((r - x) ** 2).sum(1).mean() / x.shape[1] for r, x in zip(recon, xs))
    s, (p1, p2) = f.shared, f.private
    dec = decorrelation_penalty(s, p1) + decorrelation_penalty(s, p2) + decorrelation_penalty(p1, p2)
    assert torch.allclose(terms.classification, ce) and torch.allclose(terms.reconstruction, rec)
    assert torch.allclose(terms.decorrelation, dec)
    assert torch.allclose(terms.total, ce + 0.7 * rec + 0.3 * dec)
    assert torch.allclose(terms.logits, model(*xs))


def test_gradients_reach_every_part():
    set_seed(0)
    model = FactorizedModel((5, 3), 3)
    xs, y = batch()
    model.loss(xs, y).total.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_without_reconstruction_the_private_encoders_get_no_gradient():
    set_seed(0)
    model = FactorizedModel((5, 3), 3, recon_weight=0.0, decorrelation_weight=0.0)
    xs, y = batch()
    model.loss(xs, y).total.backward()
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.private_encoders.parameters())
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.decoders.parameters())


@pytest.mark.parametrize("kwargs, match", [
    (dict(input_dims=(5,)), "input_dims must list the sizes of at least 2 modalities"),
    (dict(input_dims="ab"), "input_dims must list"),
    (dict(input_dims=(5, 0)), r"input_dims\[1\] must be an integer ≥ 1, got 0"),
    (dict(num_classes=1), "num_classes must be an integer ≥ 2, got 1"),
    (dict(shared_dim=0), "shared_dim must be an integer ≥ 1, got 0"),
    (dict(private_dim=2.5), "private_dim must be an integer ≥ 1, got 2.5"),
    (dict(recon_weight=-1.0), "recon_weight must be a finite number ≥ 0, got -1.0"),
    (dict(decorrelation_weight=float("nan")), "decorrelation_weight must be a finite number ≥ 0"),
])
def test_constructor_errors(kwargs, match):
    args = dict(input_dims=(5, 3), num_classes=2) | kwargs
    with pytest.raises(ValueError, match=match):
        FactorizedModel(args.pop("input_dims"), args.pop("num_classes"), **args)


def test_forward_and_loss_errors():
    model = FactorizedModel((5, 3), 3)
    xs, y = batch()
    with pytest.raises(ValueError, match="expected 2 modalities"):
        model(xs[0])
    with pytest.raises(ValueError, match="modality 2 must have 3 features, got 4"):
        model(xs[0], torch.zeros(7, 4))
    with pytest.raises(ValueError, match="modality 1 contains NaN"):
        model(torch.full((7, 5), float("nan")), xs[1])
    with pytest.raises(ValueError, match=r"labels must be a tensor of shape \(7,\), got \(6,\)"):
        model.loss(xs, y[:6])


def test_fit_errors():
    model = FactorizedModel((5, 3), 3)
    xs, y = batch()
    with pytest.raises(TypeError, match="model must be a FactorizedModel"):
        fit_factorized(torch.nn.Linear(2, 2), (xs, y))
    with pytest.raises(ValueError, match="train must be a pair"):
        fit_factorized(model, xs[0])
    with pytest.raises(ValueError, match="epochs must be an integer ≥ 1, got 0"):
        fit_factorized(model, (xs, y), epochs=0)
    with pytest.raises(ValueError, match="lr must be positive"):
        fit_factorized(model, (xs, y), lr=0.0)
    with pytest.raises(ValueError, match="labels must be a 1-D tensor with one label per row"):
        fit_factorized(model, (xs, y[:3]))


def test_fit_lowers_every_term_and_is_deterministic():
    xs, _ = batch(n=128, dims=(6, 6), seed=4)
    y = (xs[0][:, 0] + xs[1][:, 0] > 0).long()
    histories = []
    for _ in range(2):
        set_seed(0)
        model = FactorizedModel((6, 6), 2, hidden=16, decorrelation_weight=0.1)
        histories.append(fit_factorized(model, (xs, y), epochs=12, batch_size=64, lr=2e-2, progress=False))
    h = histories[0]
    assert isinstance(h, FactorizedHistory) and h.epochs == 12
    assert h.classification[-1] < 0.5 * h.classification[0] and h.reconstruction[-1] < h.reconstruction[0]
    assert h.total == histories[1].total


# --- the key result on the redundancy data ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def redundancy_result():
    torch.set_num_threads(1)
    data = load_dataset("redundancy")
    train, test = as_tensors(data["train"]), as_tensors(data["test"])
    set_seed(0)
    model = FactorizedModel((12, 12), 2)
    fit_factorized(model, train, epochs=40, progress=False)
    model.eval()
    with torch.no_grad():
        f_train, f_test = model.factors(*train[0]), model.factors(*test[0])
        relative_error = [(((r - x) ** 2).mean() / x.var()).item() for r, x in zip(model.reconstruct(*test[0]),
                                                                                   test[0])]
        accuracy = (model(*test[0]).argmax(1) == test[1]).float().mean().item()
    latents = data["train"]["latent"][:].numpy(), data["test"]["latent"][:].numpy()
    # R² of a linear read-out of each modality's two halves (the z_m half, the z_c half) from each factor
    halves = {}
    for name, a, b in [("s", f_train.shared, f_test.shared), ("p1", f_train.private[0], f_test.private[0]),
                       ("p2", f_train.private[1], f_test.private[1])]:
        for m in range(2):
            fitted = Ridge(alpha=1e-3).fit(a.numpy(), train[0][m].numpy()).predict(b.numpy())
            r2 = 1 - ((fitted - test[0][m].numpy()) ** 2).mean(0) / test[0][m].numpy().var(0)
            halves[name, m] = (r2[:6].mean(), r2[6:].mean())
    return f_train, f_test, train[1].numpy(), test[1].numpy(), latents, relative_error, accuracy, halves


def test_shared_factor_predicts_the_label_private_factors_do_not(redundancy_result):
    f_train, f_test, y_train, y_test, _, _, accuracy, _ = redundancy_result
    assert accuracy >= 0.95

    def probe(a, b):
        return LogisticRegression(max_iter=1000).fit(a.numpy(), y_train).score(b.numpy(), y_test)

    assert probe(f_train.shared, f_test.shared) >= 0.95
    for p_train, p_test in zip(f_train.private, f_test.private):
        assert probe(p_train, p_test) <= 0.6


def test_private_factors_hold_their_own_latent_and_reconstruct(redundancy_result):
    f_train, f_test, _, _, (l_train, l_test), relative_error, _, _ = redundancy_result

    def r2(a, b, k):
        return Ridge(alpha=1e-3).fit(a.numpy(), l_train[:, k]).score(b.numpy(), l_test[:, k])

    assert r2(f_train.shared, f_test.shared, 2) >= 0.95                                 # s holds s_c
    assert r2(f_train.private[0], f_test.private[0], 0) >= 0.8                          # p₁ holds s₁
    assert r2(f_train.private[1], f_test.private[1], 1) >= 0.6                          # p₂ holds s₂
    assert r2(f_train.private[1], f_test.private[1], 0) <= 0.05                         # …but not s₁
    assert r2(f_train.private[0], f_test.private[0], 1) <= 0.05
    for m in range(2):
        assert r2(f_train.private[m], f_test.private[m], 2) <= 0.05                     # nor the shared s_c
    assert max(relative_error) <= 0.05


def test_each_factor_holds_its_half_of_the_features(redundancy_result):
    halves = redundancy_result[-1]
    assert min(halves["s", 0][1], halves["s", 1][1]) >= 0.9          # s: the z_c half of both modalities
    assert max(halves["s", 0][0], halves["s", 1][0]) <= 0.15         # …and not their private halves
    assert halves["p1", 0][0] >= 0.85 and halves["p2", 1][0] >= 0.85  # p_m: its own modality's private half
    assert halves["p1", 1][0] <= 0.05 and halves["p2", 0][0] <= 0.05  # …not the other's
    assert halves["p1", 0][1] <= 0.5 and halves["p2", 1][1] <= 0.5    # and the z_c half only in part


def test_docstring_examples():
    result = doctest.testmod(factorized_module)
    assert result.attempted > 0 and result.failed == 0


def test_public_names_reach_mmcourse_representation():
    import mmcourse.representation as representation
    from mmcourse.representation import fission

    assert set(fission.__all__) <= set(representation.__all__)
    assert all(getattr(representation, name) is getattr(fission, name) for name in fission.__all__)
