r"""Part 5.3: joint generative models of two modalities, MVAE (product of experts) and MMVAE (mixture of experts).

Both share one latent code :math:`z \sim \mathcal N(0, I)` and one decoder per modality,
:math:`p(x_1, x_2, z) = p(z)\, p(x_1 \mid z)\, p(x_2 \mid z)`, and one Gaussian encoder per modality. They differ
in how the encoders are combined into a posterior and in the objective (see :mod:`.objectives`).

Likelihood: the data lie in [0, 1] (pixel intensities, spectrogram energies), so each decoder outputs logits and we
score :math:`\log p(x \mid z) = \sum_j x_j \log \hat x_j + (1 - x_j) \log(1 - \hat x_j)` (Bernoulli cross-entropy,
as Wu and Goodman do for MNIST). For values strictly between 0 and 1 it is not a normalised density, but it is
bounded, has no variance to learn (a Gaussian's variance would trade sharpness against the KL term), and its
gradient :math:`\hat x - x` is that of a calibrated per-pixel probability.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from mmcourse._checks import check_tensor
from mmcourse.generation.creation.experts import _check_finite, product_of_experts
from mmcourse.utils import check_positive

__all__ = ["GaussianEncoder", "BernoulliDecoder", "bernoulli_log_likelihood", "JointVAE", "MVAE", "MMVAE",
           "DIGITS_SHAPES"]

DIGITS_SHAPES = {"image": (8, 8), "audio": (12, 16)}  # the digits pair of mmcourse.data.load_digits_pair


class GaussianEncoder(nn.Module):
    r"""One modality's expert :math:`q(z \mid x) = \mathcal N(\mu(x), \mathrm{diag}\, e^{\ell(x)})`: an MLP with
    one hidden layer from the flattened input to ``(mu, logvar)``, each ``(batch, latent)``. Part 5.3.

    Example
    -------
    >>> mu, logvar = GaussianEncoder((8, 8), latent=2, width=4)(torch.rand(3, 8, 8))
    >>> mu.shape, logvar.shape
    (torch.Size([3, 2]), torch.Size([3, 2]))
    """

    def __init__(self, shape: tuple[int, ...], latent: int, width: int = 128):
        super().__init__()
        check_positive("GaussianEncoder", latent=latent, width=width,
                       **{f"shape[{i}]": s for i, s in enumerate(shape)})
        self.shape = tuple(shape)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(shape), width), nn.ReLU(),
                                 nn.Linear(width, 2 * latent))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        check_tensor("GaussianEncoder", "x", x)
        if x.dim() < 2 or math.prod(x.shape[1:]) != math.prod(self.shape):
            raise ValueError(f"GaussianEncoder: x must be a batch (batch, {', '.join(map(str, self.shape))}) or its "
                             f"rows flattened, got shape {tuple(x.shape)}")
        mu, logvar = self.net(x).chunk(2, dim=-1)
        return mu, logvar


class BernoulliDecoder(nn.Module):
    r"""One modality's decoder :math:`p(x \mid z)`: an MLP from ``(batch, latent)`` to logits of the shape of
    ``x``; :math:`\sigma(\text{logits})` is the mean of the generated sample. Part 5.3.

    Example
    -------
    >>> BernoulliDecoder((12, 16), latent=2, width=4)(torch.zeros(3, 2)).shape
    torch.Size([3, 12, 16])
    """

    def __init__(self, shape: tuple[int, ...], latent: int, width: int = 128):
        super().__init__()
        check_positive("BernoulliDecoder", latent=latent, width=width,
                       **{f"shape[{i}]": s for i, s in enumerate(shape)})
        self.shape, self.latent = tuple(shape), latent
        self.net = nn.Sequential(nn.Linear(latent, width), nn.ReLU(), nn.Linear(width, math.prod(shape)))

    def forward(self, z: Tensor) -> Tensor:
        check_tensor("BernoulliDecoder", "z", z)
        if z.dim() == 0 or z.shape[-1] != self.latent:
            raise ValueError(f"BernoulliDecoder: z must have shape (..., {self.latent}), got {tuple(z.shape)}")
        return self.net(z).view(*z.shape[:-1], *self.shape)


def bernoulli_log_likelihood(logits: Tensor, x: Tensor) -> Tensor:
    r""":math:`\log p(x \mid z) = \sum_j x_j \log \sigma(l_j) + (1 - x_j) \log(1 - \sigma(l_j))`, summed over the
    trailing axes of ``x`` (the sample's shape); ``logits`` may have extra leading axes (samples). Part 5.3.

    Example
    -------
    >>> round(bernoulli_log_likelihood(torch.zeros(1, 4), torch.ones(1, 4)).item(), 4)   # 4 log(1/2)
    -2.7726
    """
    check_tensor("bernoulli_log_likelihood", "logits", logits)
    check_tensor("bernoulli_log_likelihood", "x", x)
    if x.dim() == 0:
        raise ValueError("bernoulli_log_likelihood: x must have the sample's axes, (..., *shape), got a scalar")
    logits, target = torch.broadcast_tensors(logits, x)
    ll = -nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return ll.flatten(start_dim=ll.dim() - x.dim() + 1).sum(-1)


class JointVAE(nn.Module):
    r"""What MVAE and MMVAE share: one encoder and one decoder per modality, sampling and generation (Part 5.3).

    Parameters
    ----------
    shapes : dict[str, tuple of int]
        The modalities' names and sample shapes, in order; default the digits pair (image 8x8, audio 12x16).
    latent, width : int
        Size of the shared latent code and of the hidden layers.
    scales : sequence of float, optional
        A weight per modality on its log-likelihood (default 1 each): Wu and Goodman's :math:`\lambda_m`, Shi et
        al.'s ``llik_scaling``, so that a modality with fewer values is not drowned by one with many.

    Example
    -------
    >>> model = JointVAE(latent=2, width=4)
    >>> model.names, model.shapes["audio"]
    (['image', 'audio'], (12, 16))
    """

    def __init__(self, shapes: dict[str, tuple[int, ...]] | None = None, latent: int = 16, width: int = 128,
                 scales=None):
        super().__init__()
        shapes = dict(DIGITS_SHAPES if shapes is None else shapes)
        if len(shapes) < 2:
            raise ValueError(f"{type(self).__name__}: shapes must name at least two modalities, got {list(shapes)}")
        check_positive(type(self).__name__, latent=latent, width=width)
        self.shapes, self.names, self.latent = shapes, list(shapes), latent
        scales = [1.0] * len(shapes) if scales is None else [float(v) for v in scales]
        if len(scales) != len(shapes) or not all(math.isfinite(v) and v > 0 for v in scales):
            raise ValueError(f"{type(self).__name__}: scales must be {len(shapes)} positive numbers, got {scales}")
        self.scales = scales
        self.encoders = nn.ModuleList(GaussianEncoder(s, latent, width) for s in shapes.values())
        self.decoders = nn.ModuleList(BernoulliDecoder(s, latent, width) for s in shapes.values())

    # -- checks ---------------------------------------------------------------------------------------------
    def _index(self, name: str, argument: str) -> int:
        if name not in self.shapes:
            raise ValueError(f"{type(self).__name__}: {argument} must be one of {self.names}, got {name!r}")
        return self.names.index(name)

    def _check(self, xs, where: str) -> list[Tensor]:
        if len(xs) != len(self.names):
            raise ValueError(f"{where}: expected {len(self.names)} modalities {self.names}, got {len(xs)}")
        for name, x in zip(self.names, xs):
            _check_finite(name, x, where)
            if tuple(x.shape[1:]) != self.shapes[name]:
                raise ValueError(f"{where}: {name} must have shape (batch, {', '.join(map(str, self.shapes[name]))}),"
                                 f" got {tuple(x.shape)}")
            if len(x) != len(xs[0]):
                raise ValueError(f"{where}: mismatched batch sizes {[len(v) for v in xs]}")
        return list(xs)

    # -- the model ------------------------------------------------------------------------------------------
    def log_likelihood(self, m: int, z: Tensor, x: Tensor) -> Tensor:
        r"""Modality ``m``'s weighted :math:`\lambda_m \log p(x_m \mid z)`, summed over the sample's values."""
        return self.scales[m] * bernoulli_log_likelihood(self.decoders[m](z), x)

    def encode(self, *xs: Tensor) -> tuple[Tensor, Tensor]:
        """Every modality's expert: ``(mu, logvar)``, each ``(modalities, batch, latent)``."""
        xs = self._check(xs, f"{type(self).__name__}.encode")
        mus, logvars = zip(*(encoder(x) for encoder, x in zip(self.encoders, xs)))
        return torch.stack(mus), torch.stack(logvars)

    def unimodal_posterior(self, x: Tensor, source: str) -> tuple[Tensor, Tensor]:
        """The posterior given one modality alone, ``(mu, logvar)`` each ``(batch, latent)``."""
        raise NotImplementedError

    @staticmethod
    def reparameterise(mu: Tensor, logvar: Tensor, k: int | None = None) -> Tensor:
        """A sample :math:`z = \\mu + \\sigma \\varepsilon`; with ``k``, ``k`` samples stacked on a new first axis."""
        shape = mu.shape if k is None else (k, *mu.shape)
        return mu + torch.exp(0.5 * logvar) * torch.randn(shape, device=mu.device, dtype=mu.dtype)

    @torch.no_grad()
    def sample_joint(self, n: int) -> dict[str, Tensor]:
        """``n`` pairs generated together: :math:`z \\sim \\mathcal N(0, I)`, each modality the mean of its
        decoder, :math:`\\sigma(\\text{logits})` in [0, 1]. Returns ``{name: (n, *shape)}``."""
        check_positive(f"{type(self).__name__}.sample_joint", n=n)
        z = torch.randn(n, self.latent, device=next(self.parameters()).device)
        return {name: torch.sigmoid(decoder(z)) for name, decoder in zip(self.names, self.decoders)}

    @torch.no_grad()
    def cross_generate(self, x: Tensor, *, source: str, target: str, sample: bool = False) -> Tensor:
        """Generate ``target`` from ``source`` alone: decode the unimodal posterior's mean (or a sample of it when
        ``sample=True``) with the target's decoder. Returns ``(batch, *shape of target)`` in [0, 1]."""
        self._index(source, "source")
        j = self._index(target, "target")
        where = f"{type(self).__name__}.cross_generate"
        _check_finite("x", x, where)
        if tuple(x.shape[1:]) != self.shapes[source]:
            raise ValueError(f"{where}: x must be a batch of {source} {self.shapes[source]}, got {tuple(x.shape)}")
        mu, logvar = self.unimodal_posterior(x, source)
        z = self.reparameterise(mu, logvar) if sample else mu
        return torch.sigmoid(self.decoders[j](z))

    @torch.no_grad()
    def reconstruct(self, *xs: Tensor) -> dict[str, Tensor]:
        """Each modality decoded from the posterior mean given all of them. Returns ``{name: (batch, *shape)}``."""
        mu, _ = self.joint_posterior(*xs)
        return {name: torch.sigmoid(decoder(mu)) for name, decoder in zip(self.names, self.decoders)}

    def joint_posterior(self, *xs: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def loss(self, *xs: Tensor) -> Tensor:
        raise NotImplementedError


class MVAE(JointVAE):
    r"""The multimodal VAE of Wu and Goodman (2018): a product-of-experts posterior (Part 5.3).

    .. math::  q(z \mid X) \propto p(z) \prod_{m \in X} q(z \mid x_m),

    one Gaussian expert per present modality and the prior expert counted once (:func:`product_of_experts`), so
    the same encoders give a posterior for any subset of the modalities. Trained on the *sub-sampled* objective

    .. math::  \mathcal L = \mathrm{ELBO}(x_1, x_2) + \mathrm{ELBO}(x_1) + \mathrm{ELBO}(x_2),

    where :math:`\mathrm{ELBO}(x_m)` uses the posterior of :math:`x_m` alone and reconstructs :math:`x_m` only; with
    ``unimodal=False`` the last two terms are dropped (see :func:`~.objectives.mvae_loss`).

    Example
    -------
    >>> model = MVAE(latent=4, width=8)
    >>> model.loss(torch.rand(5, 8, 8), torch.rand(5, 12, 16)).shape
    torch.Size([])
    """

    def __init__(self, shapes=None, latent: int = 16, width: int = 128, scales=None, unimodal: bool = True):
        super().__init__(shapes, latent, width, scales)
        self.unimodal = bool(unimodal)

    def joint_posterior(self, *xs: Tensor) -> tuple[Tensor, Tensor]:
        return product_of_experts(*self.encode(*xs))

    def unimodal_posterior(self, x: Tensor, source: str) -> tuple[Tensor, Tensor]:
        mu, logvar = self.encoders[self._index(source, "source")](x)
        return product_of_experts(mu[None], logvar[None])   # the expert times the prior

    def loss(self, *xs: Tensor, beta: float = 1.0) -> Tensor:
        """The negative sub-sampled ELBO (KL weighted by ``beta``), averaged over the batch (a scalar to minimise)."""
        from mmcourse.generation.creation.objectives import mvae_loss
        return mvae_loss(self, *xs, unimodal=self.unimodal, beta=beta)


class MMVAE(JointVAE):
    r"""The mixture-of-experts multimodal VAE of Shi et al. (2019) (Part 5.3).

    .. math::  q(z \mid X) = \frac1M \sum_{m=1}^M q(z \mid x_m),

    trained on the stratified importance-weighted bound with ``k`` samples from each expert
    (:func:`~.objectives.mmvae_log_weights`, :func:`~.objectives.stratified_iwae_bound`). Each unimodal posterior
    must decode *both* modalities, which is what makes it good at cross-generation.

    Example
    -------
    >>> model = MMVAE(latent=4, width=8, k=3)
    >>> model.loss(torch.rand(5, 8, 8), torch.rand(5, 12, 16)).shape
    torch.Size([])
    """

    def __init__(self, shapes=None, latent: int = 16, width: int = 128, scales=None, k: int = 4):
        super().__init__(shapes, latent, width, scales)
        check_positive("MMVAE", k=k)
        self.k = k

    def joint_posterior(self, *xs: Tensor) -> tuple[Tensor, Tensor]:
        # the mixture has no single mean and variance; for reconstruction we use the moment-matched Gaussian's mean
        mu, logvar = self.encode(*xs)
        return mu.mean(0), (logvar.exp() + mu.pow(2)).mean(0).sub(mu.mean(0).pow(2)).log()

    def unimodal_posterior(self, x: Tensor, source: str) -> tuple[Tensor, Tensor]:
        return self.encoders[self._index(source, "source")](x)

    def loss(self, *xs: Tensor) -> Tensor:
        """The negative stratified IWAE bound with ``k`` samples per expert, averaged over the batch."""
        from mmcourse.generation.creation.objectives import mmvae_log_weights, stratified_iwae_bound
        return -stratified_iwae_bound(mmvae_log_weights(self, *xs, k=self.k)).mean()
