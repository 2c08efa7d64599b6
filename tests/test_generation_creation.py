"""Part 5.3, creation: the product and mixture of experts, the KL term, MVAE's sub-sampled ELBO, MMVAE's stratified
importance-weighted bound, training and generation, checked on tiny inputs by hand."""
import math

import pytest
import torch

from mmcourse import set_seed
from mmcourse.generation import (DIGITS_SHAPES, MMVAE, MVAE, BernoulliDecoder, GaussianEncoder, JointVAE,
                                 bernoulli_log_likelihood, digits_pair_tensors, elbo, fit_joint_vae, gaussian_kl,
                                 gaussian_log_density, mixture_log_density, mmvae_log_weights, mvae_loss,
                                 product_of_experts, stratified_iwae_bound, train_digits_mmvae, train_digits_mvae)

SHAPES = {"a": (3,), "b": (2, 2)}


# -- product of experts -------------------------------------------------------------------------------------------
def test_product_of_experts_closed_form_by_hand():
    # experts N(2, 1) and N(-1, 1/2) and the prior N(0, 1): precision 1 + 1 + 2 = 4, mean (2*1 + -1*2) / 4 = 0
    mu = torch.tensor([[[2.0]], [[-1.0]]])
    logvar = torch.tensor([[[0.0]], [[math.log(0.5)]]])
    m, lv = product_of_experts(mu, logvar)
    assert torch.allclose(lv.exp(), torch.tensor([[0.25]]))
    assert torch.allclose(m, torch.tensor([[0.0]]), atol=1e-6)
    # one expert N(3, 1): with the prior, precision 2, mean 3/2
    m, lv = product_of_experts(torch.tensor([[[3.0]]]), torch.zeros(1, 1, 1))
    assert torch.allclose(m, torch.tensor([[1.5]])) and torch.allclose(lv.exp(), torch.tensor([[0.5]]))


def test_product_of_experts_counts_the_prior_exactly_once():
    # two standard-normal experts: with one prior expert the joint precision is 3; the easy mistake of adding
    # a prior per modality would give 4
    mu, logvar = torch.zeros(2, 4, 3), torch.zeros(2, 4, 3)
    _, lv = product_of_experts(mu, logvar)
    assert torch.allclose((-lv).exp(), torch.full((4, 3), 3.0))
    # precisions of random experts: 1 + sum_i 1/sigma_i^2 exactly
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(3, 5, 2, generator=g), torch.randn(3, 5, 2, generator=g)
    m, lv = product_of_experts(mu, logvar)
    precision = 1 + (-logvar).exp().sum(0)
    assert torch.allclose((-lv).exp(), precision, rtol=1e-5)
    assert torch.allclose(m, (mu * (-logvar).exp()).sum(0) / precision, rtol=1e-5, atol=1e-6)


def test_product_of_experts_mask():
    g = torch.Generator().manual_seed(1)
    mu, logvar = torch.randn(2, 3, 4, generator=g), torch.randn(2, 3, 4, generator=g)
    mask = torch.tensor([[1, 0, 0], [1, 1, 0]])
    m, lv = product_of_experts(mu, logvar, mask)
    both = product_of_experts(mu[:, :1], logvar[:, :1])
    second = product_of_experts(mu[1:, 1:2], logvar[1:, 1:2])
    assert torch.allclose(m[:1], both[0]) and torch.allclose(lv[:1], both[1])
    assert torch.allclose(m[1:2], second[0]) and torch.allclose(lv[1:2], second[1])
    assert torch.equal(m[2], torch.zeros(4)) and torch.equal(lv[2], torch.zeros(4))   # nothing present: N(0, I)
    assert torch.allclose(product_of_experts(mu, logvar, mask.bool())[0], m)


def test_product_of_experts_is_stable_and_permutation_invariant():
    mu = torch.tensor([[[1.0, 5.0]], [[-2.0, 0.0]]])
    logvar = torch.tensor([[[200.0, -80.0]], [[-80.0, 200.0]]])    # variances e^200 and e^-80: float32 overflows
    m, lv = product_of_experts(mu, logvar)
    assert torch.isfinite(m).all() and torch.isfinite(lv).all()
    assert torch.allclose(m, torch.tensor([[-2.0, 5.0]])) and torch.allclose(lv, torch.tensor([[-80.0, -80.0]]))
    huge = product_of_experts(torch.ones(3, 2, 2), torch.full((3, 2, 2), 300.0))
    assert torch.allclose(huge[0], torch.zeros(2, 2), atol=1e-30) and torch.allclose(huge[1], torch.zeros(2, 2))
    g = torch.Generator().manual_seed(2)
    mu, logvar = torch.randn(4, 3, 2, generator=g), torch.randn(4, 3, 2, generator=g)
    mask = torch.tensor([[1, 0, 1], [1, 1, 0], [0, 1, 1], [1, 1, 1]])
    order = torch.tensor([2, 0, 3, 1])
    a, b = product_of_experts(mu, logvar, mask), product_of_experts(mu[order], logvar[order], mask[order])
    assert torch.allclose(a[0], b[0], atol=1e-6) and torch.allclose(a[1], b[1], atol=1e-6)


def test_product_of_experts_gradient_and_errors():
    mu, logvar = torch.randn(2, 3, 4, requires_grad=True), torch.randn(2, 3, 4, requires_grad=True)
    m, lv = product_of_experts(mu, logvar, torch.tensor([[1, 0, 1], [0, 0, 1]]))
    (m.sum() + lv.sum()).backward()
    assert torch.isfinite(mu.grad).all() and torch.isfinite(logvar.grad).all()
    assert mu.grad[1, 0].abs().sum() == 0                    # an absent expert gets no gradient
    z = torch.zeros(2, 3, 4)
    with pytest.raises(ValueError, match="same shape"):
        product_of_experts(z, torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match=r"\(experts, batch, latent\)"):
        product_of_experts(torch.zeros(3, 4), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="mask must have shape"):
        product_of_experts(z, z, torch.ones(3, 2))
    with pytest.raises(ValueError, match="only 0 and 1"):
        product_of_experts(z, z, torch.full((2, 3), 0.5))
    with pytest.raises(ValueError, match="logvar contains NaN"):
        product_of_experts(z, torch.full((2, 3, 4), float("inf")))
    with pytest.raises(ValueError, match="mu contains NaN"):
        product_of_experts(torch.full((2, 3, 4), float("nan")), z)
    with pytest.raises(TypeError, match="mask must be a torch.Tensor"):
        product_of_experts(z, z, [[1, 1, 1], [1, 1, 1]])


# -- densities and KL ----------------------------------------------------------------------------------------------
def test_gaussian_kl_and_log_density_by_hand():
    assert torch.allclose(gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3)), torch.zeros(2))
    # mu = 1, sigma^2 = e: (1 + e - 1 - 1) / 2
    assert torch.allclose(gaussian_kl(torch.ones(1, 1), torch.ones(1, 1)), torch.tensor([(math.e - 1) / 2]))
    normal = torch.distributions.Normal(torch.tensor([0.5, -1.0]), torch.tensor([2.0, 0.3]))
    z = torch.tensor([1.0, 0.2])
    expected = normal.log_prob(z).sum()
    got = gaussian_log_density(z, normal.mean, (normal.stddev ** 2).log())
    assert torch.allclose(got, expected)
    with pytest.raises(ValueError, match="same shape"):
        gaussian_kl(torch.zeros(2), torch.zeros(3))


def test_mixture_log_density_by_hand():
    mu = torch.tensor([[[0.0]], [[2.0]]])
    logvar = torch.zeros(2, 1, 1)
    z = torch.tensor([[[1.0]], [[0.0]]])                       # two points (K = 2), batch 1, latent 1
    dens = [0.5 * (math.exp(-0.5 * (v - 0) ** 2) + math.exp(-0.5 * (v - 2) ** 2)) / math.sqrt(2 * math.pi)
            for v in (1.0, 0.0)]
    assert torch.allclose(mixture_log_density(z, mu, logvar), torch.tensor([[math.log(dens[0])],
                                                                           [math.log(dens[1])]]))
    far = mixture_log_density(torch.full((1, 1), 1e3), mu, logvar)   # every density underflows; the log does not
    assert torch.isfinite(far).all()
    with pytest.raises(ValueError, match="z must have shape"):
        mixture_log_density(torch.zeros(1, 2), mu, logvar)


# -- modules, MVAE's objective --------------------------------------------------------------------------------------
def test_encoder_decoder_shapes_and_bernoulli_likelihood():
    mu, logvar = GaussianEncoder((2, 3), latent=4, width=5)(torch.rand(7, 2, 3))
    assert mu.shape == logvar.shape == (7, 4)
    assert BernoulliDecoder((2, 3), latent=4, width=5)(torch.zeros(6, 7, 4)).shape == (6, 7, 2, 3)
    x = torch.tensor([[1.0, 0.0]])
    logits = torch.tensor([[0.0, math.log(3)]])               # p = 1/2 and 3/4: log(1/2) + log(1/4)
    assert torch.allclose(bernoulli_log_likelihood(logits, x), torch.tensor([math.log(0.5) + math.log(0.25)]))
    assert bernoulli_log_likelihood(logits.expand(4, 1, 2), x).shape == (4, 1)


def _batch(n=5):
    return torch.rand(n, 3), torch.rand(n, 2, 2)


def test_joint_vae_base_shares_encoders_decoders_and_leaves_the_posterior_to_subclasses():
    base = JointVAE(SHAPES, latent=3, width=4)
    assert base.names == ["a", "b"] and len(base.encoders) == len(base.decoders) == 2 and base.scales == [1.0, 1.0]
    mu, logvar = base.encode(*_batch())
    assert mu.shape == logvar.shape == (2, 5, 3)
    assert base.reparameterise(mu, logvar, 4).shape == (4, 2, 5, 3)
    with pytest.raises(NotImplementedError):
        base.loss(*_batch())
    with pytest.raises(NotImplementedError):
        base.cross_generate(torch.rand(2, 3), source="a", target="b")
    assert issubclass(MVAE, JointVAE) and issubclass(MMVAE, JointVAE)


def test_mvae_loss_is_the_sum_of_the_three_elbos():
    set_seed(0)
    model = MVAE(SHAPES, latent=2, width=4)
    a, b = _batch()
    # zero-variance posteriors make the ELBOs deterministic, so the sum can be checked term by term
    model.encoders[0].net[-1].bias.data[2:] = -60.0
    model.encoders[1].net[-1].bias.data[2:] = -60.0
    for p in (model.encoders[0].net[-1].weight, model.encoders[1].net[-1].weight):
        p.data[2:] = 0
    ones = torch.ones(2, 5)
    terms = [elbo(model, [a, b], mask) for mask in (ones, torch.stack([ones[0], 0 * ones[1]]),
                                                    torch.stack([0 * ones[0], ones[1]]))]
    assert torch.allclose(mvae_loss(model, a, b), -sum(terms).mean(), atol=1e-4)
    assert torch.allclose(mvae_loss(model, a, b, unimodal=False), -terms[0].mean(), atol=1e-4)
    # beta = 0 leaves only the reconstruction, larger than the ELBO by the KL
    assert mvae_loss(model, a, b, unimodal=False, beta=0.0) <= mvae_loss(model, a, b, unimodal=False)


def test_mvae_gradient_reaches_both_encoders_and_errors():
    model = MVAE(SHAPES, latent=2, width=4)
    model.loss(*_batch()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    with pytest.raises(ValueError, match="expected 2 modalities"):
        model.loss(torch.rand(5, 3))
    with pytest.raises(ValueError, match=r"b must have shape \(batch, 2, 2\)"):
        model.loss(torch.rand(5, 3), torch.rand(5, 4))
    with pytest.raises(ValueError, match="mismatched batch sizes"):
        model.loss(torch.rand(5, 3), torch.rand(4, 2, 2))
    with pytest.raises(ValueError, match="a contains NaN"):
        model.loss(torch.full((5, 3), float("nan")), torch.rand(5, 2, 2))
    with pytest.raises(ValueError, match="scales must be 2 positive"):
        MVAE(SHAPES, scales=[1.0, -1.0])
    with pytest.raises(ValueError, match="at least two modalities"):
        MVAE({"a": (3,)})
    with pytest.raises(TypeError, match="must be an MVAE"):
        mvae_loss(MMVAE(SHAPES), *_batch())


# -- MMVAE's bound -------------------------------------------------------------------------------------------------
def test_stratified_bound_by_hand_and_jensen():
    log_w = torch.log(torch.tensor([[[1.0], [3.0]], [[2.0], [2.0]]]))      # (strata 2, k 2, batch 1)
    expected = 0.5 * (math.log(2.0) + math.log(2.0))
    assert torch.allclose(stratified_iwae_bound(log_w), torch.tensor([expected]))
    g = torch.Generator().manual_seed(3)
    log_w = torch.randn(2, 6, 4, generator=g) * 3
    assert (stratified_iwae_bound(log_w) >= log_w.mean((0, 1)) - 1e-6).all()   # log mean w >= mean log w
    with pytest.raises(ValueError, match=r"\(strata, k, batch\)"):
        stratified_iwae_bound(torch.zeros(2, 3))


def test_mmvae_k1_bound_is_the_stratified_elbo_of_the_mixture():
    set_seed(0)
    model = MMVAE(SHAPES, latent=3, width=4, scales=[2.0, 1.0])
    a, b = _batch(4)
    torch.manual_seed(5)
    log_w = mmvae_log_weights(model, a, b, k=1)
    assert log_w.shape == (2, 1, 4)
    # the same draw by hand: z_m ~ q(z|x_m); log p(z) + sum_d lambda_d log p(x_d|z) - log (q_a(z) + q_b(z)) / 2
    torch.manual_seed(5)
    mu, logvar = model.encode(a, b)
    z = mu + torch.exp(0.5 * logvar) * torch.randn(1, *mu.shape)[0]
    by_hand = []
    for m in range(2):
        lq = torch.stack([gaussian_log_density(z[m], mu[j], logvar[j]) for j in range(2)])
        lp = gaussian_log_density(z[m], torch.zeros(3), torch.zeros(3))
        ll = 2.0 * bernoulli_log_likelihood(model.decoders[0](z[m]), a) + \
            bernoulli_log_likelihood(model.decoders[1](z[m]), b)
        by_hand.append(lp + ll - (torch.logsumexp(lq, 0) - math.log(2)))
    assert torch.allclose(log_w[:, 0], torch.stack(by_hand), atol=1e-4)
    assert torch.allclose(stratified_iwae_bound(log_w), torch.stack(by_hand).mean(0), atol=1e-4)


def test_mmvae_bound_finite_gradient_to_both_encoders_and_errors():
    model = MMVAE(SHAPES, latent=2, width=4, k=3)
    loss = model.loss(*_batch())
    assert torch.isfinite(loss)
    loss.backward()
    for encoder in model.encoders:
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder.parameters())
    with pytest.raises(ValueError, match="k must be a positive integer"):
        mmvae_log_weights(model, *_batch(), k=0)
    with pytest.raises(TypeError, match="must be an MMVAE"):
        mmvae_log_weights(MVAE(SHAPES), *_batch())


# -- training and generation ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", [MVAE, MMVAE])
def test_fit_sample_cross_generate_reconstruct(kind):
    set_seed(0)
    model = kind(SHAPES, latent=2, width=8)
    a = torch.rand(32, 3).round()
    b = a[:, :1, None].expand(32, 2, 2).contiguous()
    losses = fit_joint_vae(model, a, b, epochs=15, batch_size=16, lr=1e-2,
                           warmup=3 if kind is MVAE else 0, progress=False)
    assert len(losses) == 15 and losses[-1] < losses[0]
    joint = model.sample_joint(6)
    assert joint["a"].shape == (6, 3) and joint["b"].shape == (6, 2, 2)
    assert ((joint["a"] >= 0) & (joint["a"] <= 1)).all()
    out = model.cross_generate(a[:4], source="a", target="b")
    assert out.shape == (4, 2, 2)
    assert model.cross_generate(a[:4], source="a", target="b", sample=True).shape == out.shape
    assert set(model.reconstruct(a[:4], b[:4])) == {"a", "b"}
    with pytest.raises(ValueError, match="target must be one of"):
        model.cross_generate(a, source="a", target="c")
    with pytest.raises(ValueError, match="x must be a batch of b"):
        model.cross_generate(a, source="b", target="a")


def test_fit_joint_vae_errors():
    model = MMVAE(SHAPES, latent=2, width=4)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        fit_joint_vae(model, *_batch(), epochs=0)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        fit_joint_vae(model, torch.rand(5, 3) + 1, torch.rand(5, 2, 2))
    with pytest.raises(ValueError, match="warmup anneals MVAE"):
        fit_joint_vae(model, *_batch(), warmup=2)
    with pytest.raises(TypeError, match="must be an MVAE or MMVAE"):
        fit_joint_vae(torch.nn.Linear(2, 2), *_batch())


def test_digits_models_are_deterministic_and_shaped():
    image, audio, label = digits_pair_tensors("test")
    assert image.shape[1:] == DIGITS_SHAPES["image"] and audio.shape[1:] == DIGITS_SHAPES["audio"]
    assert len(label) == len(image)
    a, b = train_digits_mvae(seed=0, epochs=1), train_digits_mvae(seed=0, epochs=1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    mm = train_digits_mmvae(seed=0, epochs=1)
    assert mm.cross_generate(image[:3], source="image", target="audio").shape == (3, 12, 16)
    assert not train_digits_mvae(seed=0, unimodal=False, epochs=1).unimodal
    with pytest.raises(ValueError, match="split must be"):
        digits_pair_tensors("dev")
