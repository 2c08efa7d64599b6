r"""Part 5.3: the training objectives of MVAE (sub-sampled ELBO) and MMVAE (stratified importance-weighted bound)."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from mmcourse._checks import check_number, check_tensor
from mmcourse.generation.creation.experts import (gaussian_kl, gaussian_log_density,
                                                  mixture_log_density, product_of_experts)
from mmcourse.generation.creation.models import MMVAE, MVAE
from mmcourse.utils import check_positive

__all__ = ["elbo", "mvae_loss", "mmvae_log_weights", "stratified_iwae_bound"]


def elbo(model: MVAE, xs: list[Tensor], mask: Tensor, beta: float = 1.0,
         experts: tuple[Tensor, Tensor] | None = None) -> Tensor:
    r"""The ELBO of the modalities present in ``mask`` under MVAE's product-of-experts posterior, per row:

    .. math::  \mathrm{ELBO}(X) = \mathbb E_{q(z \mid X)} \Big[\sum_{m \in X} \lambda_m \log p(x_m \mid z)\Big]
               - \mathrm{KL}\big(q(z \mid X) \,\|\, \mathcal N(0, I)\big),

    with one reparameterised sample of :math:`z` (Kingma and Welling, 2014) and the weights :math:`\lambda_m` of
    ``model.scales``. ``mask`` is ``(modalities, batch)``;
    ``beta`` weighs the KL term (1 is the ELBO; less during a warm-up); ``experts`` are ``model.encode(*xs)`` if
    already computed. Returns ``(batch,)``. Part 5.3.

    Example
    -------
    >>> model = MVAE(latent=2, width=4)
    >>> xs = [torch.rand(3, 8, 8), torch.rand(3, 12, 16)]
    >>> elbo(model, xs, torch.tensor([[1.0] * 3, [0.0] * 3])).shape    # the image alone, for each of 3 rows
    torch.Size([3])
    """
    check_number("elbo", "beta", beta, low=0)
    mu, logvar = product_of_experts(*(experts if experts is not None else model.encode(*xs)), mask)
    z = model.reparameterise(mu, logvar)
    reconstruction = sum(mask[m] * model.log_likelihood(m, z, x) for m, x in enumerate(xs))
    return reconstruction - beta * gaussian_kl(mu, logvar)


def mvae_loss(model: MVAE, *xs: Tensor, unimodal: bool = True, beta: float = 1.0) -> Tensor:
    r"""MVAE's negative sub-sampled ELBO, averaged over the batch (Wu and Goodman, 2018; Part 5.3):

    .. math::  -\Big[\mathrm{ELBO}(x_1, \dots, x_M) + \sum_m \mathrm{ELBO}(x_m)\Big].

    The unimodal terms train each expert (times the prior) to stand alone as a posterior: it is what a
    cross-generation from one modality uses. ``unimodal=False`` keeps the joint term only. ``beta`` weighs the KL
    terms: Wu and Goodman anneal it from 0 to 1 early in training, without which the experts' variances blow up and
    the product collapses onto the prior before the decoders have learnt to use :math:`z`.

    Example
    -------
    >>> model = MVAE(latent=2, width=4)
    >>> mvae_loss(model, torch.rand(3, 8, 8), torch.rand(3, 12, 16)).dim()
    0
    """
    if not isinstance(model, MVAE):
        raise TypeError(f"mvae_loss: model must be an MVAE, got {type(model).__name__}")
    check_number("mvae_loss", "beta", beta, low=0)
    xs = model._check(xs, "mvae_loss")
    n_modalities, batch = len(xs), len(xs[0])
    subsets = [torch.ones(n_modalities, device=xs[0].device)]       # the joint term...
    if unimodal:
        subsets += list(torch.eye(n_modalities, device=xs[0].device))  # ...and one term per modality alone
    # all the terms in one pass: the batch repeated once per subset, the experts encoded once
    n = len(subsets)
    mask = torch.stack(subsets, 1)[:, :, None].expand(-1, -1, batch).reshape(n_modalities, n * batch)
    mu, logvar = model.encode(*xs)
    tiled = [x.repeat(n, *[1] * (x.dim() - 1)) for x in xs]
    total = elbo(model, tiled, mask, beta, experts=(mu.repeat(1, n, 1), logvar.repeat(1, n, 1)))
    total = total.view(n, batch).sum(0)
    return -total.mean()


def mmvae_log_weights(model: MMVAE, *xs: Tensor, k: int = 1) -> Tensor:
    r"""The importance weights of MMVAE's stratified bound (Shi et al., 2019; Part 5.3), ``(modalities, k, batch)``.

    For each expert :math:`m` (a stratum) draw :math:`z_{m,1..k} \sim q(z \mid x_m)`, decode *every* modality from
    each sample, and weigh it against the mixture posterior:

    .. math::  \log w_{m,k} = \log p(z_{m,k}) + \sum_d \lambda_d \log p(x_d \mid z_{m,k})
               - \log \frac1M \sum_{m'} q(z_{m,k} \mid x_{m'}).

    Example
    -------
    >>> model = MMVAE(latent=2, width=4)
    >>> mmvae_log_weights(model, torch.rand(3, 8, 8), torch.rand(3, 12, 16), k=5).shape
    torch.Size([2, 5, 3])
    """
    if not isinstance(model, MMVAE):
        raise TypeError(f"mmvae_log_weights: model must be an MMVAE, got {type(model).__name__}")
    check_positive("mmvae_log_weights", k=k)
    mu, logvar = model.encode(*xs)                                    # (M, B, L) each
    n_modalities, batch, latent = mu.shape
    z = model.reparameterise(mu, logvar, k).transpose(0, 1)           # (M, K, B, L): k samples per expert
    log_prior = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z))
    log_likelihood = sum(model.log_likelihood(m, z, x) for m, x in enumerate(xs))
    log_mixture = mixture_log_density(z.reshape(n_modalities * k, batch, latent), mu, logvar)
    return log_prior + log_likelihood - log_mixture.view(n_modalities, k, batch)


def stratified_iwae_bound(log_w: Tensor) -> Tensor:
    r"""The stratified importance-weighted bound from log-weights ``(strata, k, batch)``, per row (Part 5.3):

    .. math::  \mathcal L = \frac1M \sum_{m=1}^M \log \frac1K \sum_{k=1}^K w_{m,k}

    (Burda et al., 2016, one IWAE bound per stratum, averaged over the strata as in Shi et al., 2019). With
    :math:`K = 1` it is the mixture's ELBO estimated with one sample from each expert; it grows with :math:`K`
    towards :math:`\log p(X)`.

    Example
    -------
    >>> stratified_iwae_bound(torch.zeros(2, 3, 4))
    tensor([0., 0., 0., 0.])
    """
    check_tensor("stratified_iwae_bound", "log_w", log_w)
    if log_w.dim() != 3:
        raise ValueError(f"stratified_iwae_bound: log_w must have shape (strata, k, batch), got {tuple(log_w.shape)}")
    return (torch.logsumexp(log_w, dim=1) - math.log(log_w.shape[1])).mean(0)
