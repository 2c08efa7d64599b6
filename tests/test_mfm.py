"""MFM as published (Part 2.5): the IMQ-kernel MMD and the Gaussian KL against hand computations, the model's
shapes, loss terms, gradients, generation and swaps, and its training on a tiny problem."""
import doctest
import math

import numpy as np
import pytest
import torch

from mmcourse.representation import (MFM, Factors, MFMHistory, MFMLoss, fit_mfm, gaussian_kl, imq_kernel, mmd,
                                     swap_private)


# --- the MMD and its kernel ---------------------------------------------------------------------------------------
def numpy_mmd(x, y, c):
    """The unbiased estimate, written with loops over the pairs."""
    k = lambda a, b: c / (c + ((a - b) ** 2).sum())   # noqa: E731
    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


def test_imq_kernel_by_hand():
    a = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    b = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
    expected = torch.tensor([[1.0, 4 / 8, 4 / 5], [4 / 6, 4 / 6, 4 / 5]])   # C = 2·d = 4
    assert torch.allclose(imq_kernel(a, b), expected)
    assert torch.allclose(imq_kernel(a, b, scale=1.0), 1 / (1 + torch.cdist(a, b) ** 2))


def test_mmd_matches_a_loop_over_pairs():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((4, 3)) + 0.5
    got = mmd(torch.from_numpy(x), torch.from_numpy(y)).item()
    assert got == pytest.approx(numpy_mmd(x, y, 6.0), rel=1e-10)
    assert mmd(torch.from_numpy(x), torch.from_numpy(y), scale=2.5).item() == pytest.approx(numpy_mmd(x, y, 2.5))


def test_mmd_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(400, 4, generator=g), torch.randn(400, 4, generator=g)
    same = mmd(x, y).item()
    assert abs(same) < 0.005
    shifted = [mmd(x, y + shift).item() for shift in (0.5, 1.0, 2.0)]
    assert shifted[0] > 10 * abs(same) and shifted[0] < shifted[1] < shifted[2]


def test_mmd_is_unbiased_not_biased():
    # Two identical samples {0, 1}: the biased estimate (diagonal kept) is exactly 0, the unbiased one is -1/3.
    x = torch.tensor([[0.0], [1.0]])
    y = torch.tensor([[0.0], [1.0]])
    assert mmd(x, y).item() == pytest.approx(2 * (2 / 3) - 2 * (1 + 2 / 3) / 2)   # = -1/3
    assert mmd(x, y).item() < 0


def test_mmd_gradient_flows_and_is_finite_at_identical_points():
    x = torch.zeros(3, 2, requires_grad=True)
    mmd(x, torch.randn(5, 2)).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize("call, match", [
    (lambda: mmd(torch.zeros(3, 2), torch.zeros(3, 3)), "same dimension"),
    (lambda: mmd(torch.zeros(1, 2), torch.zeros(3, 2)), "at least 2 rows"),
    (lambda: mmd(torch.zeros(3), torch.zeros(3, 1)), "x must be a 2-D tensor"),
    (lambda: mmd(torch.zeros(3, 2), torch.zeros(3, 2), kernel="rbf"), "kernel must be 'imq'"),
    (lambda: imq_kernel(torch.zeros(3, 2), torch.zeros(3, 2), scale=0), "scale must be a positive number"),
])
def test_mmd_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- the KL -------------------------------------------------------------------------------------------------------
def test_gaussian_kl_closed_form():
    mean, logvar = torch.tensor([[1.0, -2.0], [0.0, 0.5]]), torch.tensor([[0.0, math.log(4.0)], [-1.0, 0.0]])
    per_example = [0.5 * ((1 + 1 - 0 - 1) + (4 + 4 - math.log(4) - 1)),
                   0.5 * ((0 + math.exp(-1) + 1 - 1) + (0.25 + 1 - 0 - 1))]
    assert gaussian_kl(mean, logvar).item() == pytest.approx(sum(per_example) / 2)
    # Against torch.distributions, on random inputs.
    mean, logvar = torch.randn(6, 3), torch.randn(6, 3)
    post = torch.distributions.Normal(mean, (0.5 * logvar).exp())
    prior = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    expected = torch.distributions.kl_divergence(post, prior).sum(1).mean()
    assert torch.allclose(gaussian_kl(mean, logvar), expected, atol=1e-5)
    assert gaussian_kl(torch.zeros(4, 2), torch.zeros(4, 2)).item() == 0.0
    with pytest.raises(ValueError, match="same shape"):
        gaussian_kl(torch.zeros(4, 2), torch.zeros(5, 2))


# --- the model ----------------------------------------------------------------------------------------------------
def batch(n=16, dims=(6, 5), seed=0):
    g = torch.Generator().manual_seed(seed)
    xs = [torch.randn(n, d, generator=g) for d in dims]
    return xs, (xs[0][:, 0] > 0).long()


@pytest.mark.parametrize("prior", ["mmd", "kl"])
def test_shapes_and_loss_terms(prior):
    torch.manual_seed(0)
    model = MFM((6, 5), 3, shared_dim=2, private_dim=3, hidden=8, prior=prior, prior_weight=0.5)
    xs, y = batch()
    mean, logvar = model.posterior(*xs)
    assert mean.shared.shape == (16, 2) and [p.shape for p in mean.private] == [(16, 3), (16, 3)]
    assert (logvar is None) == (prior == "mmd")
    assert [r.shape for r in model.reconstruct(*xs)] == [(16, 6), (16, 5)] and model(*xs).shape == (16, 3)
    terms = model.loss(xs, y)
    assert isinstance(terms, MFMLoss)
    assert torch.allclose(terms.total, terms.classification + terms.reconstruction + 0.5 * terms.prior)
    if prior == "kl":   # the KL term is the closed form on the posterior means and log-variances
        z_mean = torch.cat([mean.shared, *mean.private], 1)
        z_logvar = torch.cat([logvar.shared, *logvar.private], 1)
        assert torch.allclose(terms.prior, gaussian_kl(z_mean, z_logvar))
    terms.total.backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name


def test_the_label_reads_only_the_discriminative_factor():
    torch.manual_seed(0)
    model = MFM((6, 5), 2, hidden=8)
    xs, _ = batch()
    f = model.factors(*xs)
    logits = model.discriminator(model.shared_generator(f.shared))
    assert torch.allclose(model(*xs), logits)
    # Changing x2's private factor changes x̂2 and nothing of x̂1 or of the label.
    other = Factors(f.shared, (f.private[0], f.private[1] + 1))
    before, after = model.decode(f), model.decode(other)
    assert torch.allclose(before[0], after[0]) and not torch.allclose(before[1], after[1])


def test_generate_and_sample_prior():
    model = MFM((6, 5), 2, shared_dim=3, private_dim=2, hidden=8)
    prior = model.sample_prior(1000, torch.Generator().manual_seed(1))
    assert prior.shared.shape == (1000, 3) and abs(prior.private[1].std().item() - 1) < 0.1
    a = model.generate(7, torch.Generator().manual_seed(1))
    b = model.generate(7, torch.Generator().manual_seed(1))
    assert [x.shape for x in a] == [(7, 6), (7, 5)] and all(torch.equal(u, v) for u, v in zip(a, b))
    assert not a[0].requires_grad


def test_swap_private():
    f = Factors(torch.zeros(3, 2), (torch.zeros(3, 1), torch.zeros(3, 1)))
    d = Factors(torch.ones(3, 2), (torch.ones(3, 1), 2 * torch.ones(3, 1)))
    both = swap_private(f, d)
    assert torch.equal(both.shared, f.shared) and torch.equal(both.private[1], d.private[1])
    one = swap_private(f, d, [0])
    assert torch.equal(one.private[0], d.private[0]) and torch.equal(one.private[1], f.private[1])
    with pytest.raises(ValueError, match="modalities must be indices"):
        swap_private(f, d, [2])
    with pytest.raises(TypeError, match="donor must be a Factors"):
        swap_private(f, (1, 2))
    with pytest.raises(ValueError, match="as many modalities and rows"):
        swap_private(f, Factors(torch.ones(2, 2), (torch.ones(2, 1), torch.ones(2, 1))))


@pytest.mark.parametrize("kwargs, match", [
    (dict(input_dims=(6,)), "at least 2 modalities"),
    (dict(prior="wae"), "prior must be 'mmd' or 'kl'"),
    (dict(num_classes=1), "num_classes must be an integer ≥ 2"),
    (dict(prior_weight=-1.0), "prior_weight must be a finite number ≥ 0"),
    (dict(shared_dim=0), "shared_dim must be an integer ≥ 1"),
])
def test_model_errors(kwargs, match):
    args = dict(input_dims=(6, 5), num_classes=2) | kwargs
    with pytest.raises(ValueError, match=match):
        MFM(args.pop("input_dims"), args.pop("num_classes"), **args)


def test_loss_and_fit_errors():
    model = MFM((6, 5), 2, hidden=8)
    xs, y = batch()
    with pytest.raises(ValueError, match="modality 2 must have 5 features"):
        model.factors(xs[0], xs[0])
    with pytest.raises(ValueError, match="labels must be a tensor of shape"):
        model.loss(xs, y[:3])
    with pytest.raises(TypeError, match="model must be an MFM"):
        fit_mfm(torch.nn.Linear(2, 2), (xs, y))
    with pytest.raises(ValueError, match="lr must be a positive number"):
        fit_mfm(model, (xs, y), lr=0)
    with pytest.raises(ValueError, match="epochs must be an integer"):
        fit_mfm(model, (xs, y), epochs=0)


@pytest.mark.parametrize("prior", ["mmd", "kl"])
def test_fit_learns_the_label_and_pulls_the_factors_to_the_prior(prior):
    torch.manual_seed(0)
    xs, y = batch(n=256, seed=1)
    model = MFM((6, 5), 2, hidden=16, prior=prior, prior_weight=1.0 if prior == "mmd" else 0.1)
    history = fit_mfm(model, (xs, y), epochs=60, lr=1e-2, batch_size=128, progress=False)
    assert isinstance(history, MFMHistory) and history.epochs == 60 and len(history.prior) == 60
    assert history.classification[-1] < 0.5 * history.classification[0]
    assert history.reconstruction[-1] < history.reconstruction[0]
    assert (model(*xs).argmax(1) == y).float().mean() > 0.9
    if prior == "mmd":
        with torch.no_grad():
            z = torch.cat([model.factors(*xs).shared, *model.factors(*xs).private], 1)
        assert mmd(z, torch.randn(256, z.shape[1], generator=torch.Generator().manual_seed(0))).item() < 0.02


def test_fit_is_deterministic():
    xs, y = batch(n=64)
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        model = MFM((6, 5), 2, hidden=8)
        runs.append(fit_mfm(model, (xs, y), epochs=3, batch_size=32, progress=False).total)
    assert runs[0] == runs[1]


def test_mmd_gradcheck():
    x = torch.randn(4, 2, dtype=torch.float64, requires_grad=True)
    y = torch.randn(5, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: mmd(a, b), (x, y))


def test_exported_and_docstring_examples_run():
    import mmcourse.representation as representation
    import mmcourse.representation.fission._mmd as mmd_module
    import mmcourse.representation.fission.mfm as mfm_module

    assert all(getattr(representation, name) is getattr(mfm_module, name) for name in mfm_module.__all__)
    for module in (mfm_module, mmd_module):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
