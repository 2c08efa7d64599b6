r"""Part 5.3: the Gaussian pieces of joint generative models: a product and a mixture of experts, and the KL term.

A joint model of two modalities needs a posterior :math:`q(z \mid X)` for any subset :math:`X` of the modalities.
MVAE {Wu and Goodman, 2018} multiplies Gaussian experts, one per present modality, with the prior
(:func:`product_of_experts`); MMVAE {Shi et al., 2019} averages them (:func:`mixture_log_density`).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["product_of_experts", "gaussian_kl", "gaussian_log_density", "mixture_log_density"]

_LOG_2PI = math.log(2 * math.pi)


def _check_finite(name: str, x, where: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{where}: {name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"{where}: {name} must be a floating-point tensor, got {x.dtype}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{where}: {name} contains NaN or infinite values")


def _check_gaussians(mu, logvar, where: str, dims: int | None = None) -> None:
    _check_finite("mu", mu, where)
    _check_finite("logvar", logvar, where)
    if mu.shape != logvar.shape:
        raise ValueError(f"{where}: mu and logvar must have the same shape, got {tuple(mu.shape)} and "
                         f"{tuple(logvar.shape)}")
    if dims is not None and mu.dim() != dims:
        raise ValueError(f"{where}: mu and logvar must have shape (experts, batch, latent), got {tuple(mu.shape)}")


def _present_experts(mu, logvar, mask) -> Tensor:
    """Validate product_of_experts' arguments; the mask as booleans ``(experts, batch)``."""
    where = "product_of_experts"
    _check_gaussians(mu, logvar, where, dims=3)
    if mask is None:
        return torch.ones(mu.shape[:2], dtype=torch.bool, device=mu.device)
    if not isinstance(mask, Tensor):
        raise TypeError(f"{where}: mask must be a torch.Tensor of shape {tuple(mu.shape[:2])}, got "
                        f"{type(mask).__name__}")
    if mask.shape != mu.shape[:2]:
        raise ValueError(f"{where}: mask must have shape (experts, batch) = {tuple(mu.shape[:2])}, got "
                         f"{tuple(mask.shape)}")
    if not ((mask == 0) | (mask == 1)).all():
        raise ValueError(f"{where}: mask must hold only 0 and 1, got values {mask.unique().tolist()[:5]}")
    return mask.to(device=mu.device).bool()


def product_of_experts(mu: Tensor, logvar: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    r"""The product of Gaussian experts and **one** standard-normal prior expert, in closed form (Part 5.3).

    The product of Gaussians :math:`\mathcal N(\mu_i, \sigma_i^2)` (diagonal, one per present modality, mask
    :math:`m_i \in \{0, 1\}`) and of the prior :math:`\mathcal N(0, I)` is, up to normalisation, the Gaussian

    .. math::  \frac{1}{\sigma^2} = 1 + \sum_i \frac{m_i}{\sigma_i^2}, \qquad
               \mu = \sigma^2 \sum_i \frac{m_i\, \mu_i}{\sigma_i^2}

    (Hinton, 2002; the MVAE posterior of Wu and Goodman, 2018). Precisions add; the mean is the precision-weighted
    average of the experts' means, the prior's mean 0 included. We compute it in log space: the log precision is a
    logsumexp of :math:`0` (the prior) and :math:`-\log\sigma_i^2`, and the weights :math:`\sigma^2/\sigma_i^2` are a
    softmax, so tiny or huge variances neither overflow nor divide by zero.

    Parameters
    ----------
    mu, logvar : Tensor
        The experts' means and log-variances, ``(experts, batch, latent)``, finite.
    mask : Tensor, optional
        ``(experts, batch)``, 1 where expert ``i`` is present for that row, 0 where it is not (bool or numbers).
        Default: all present. A row with no expert present gets the prior, :math:`\mathcal N(0, I)`.

    Returns
    -------
    (mu, logvar) : tuple of Tensor
        The joint Gaussian, each ``(batch, latent)``.

    Example
    -------
    >>> mu, logvar = product_of_experts(torch.ones(2, 1, 1), torch.zeros(2, 1, 1))
    >>> round(mu.item(), 4), round(logvar.exp().item(), 4)   # precision 1 + 1 + 1: variance 1/3, mean 2/3
    (0.6667, 0.3333)
    """
    present = _present_experts(mu, logvar, mask)
    # log(1/sigma_i^2) of each present expert, -inf for the absent ones; the prior expert's is log 1 = 0, once.
    log_precision = torch.where(present[..., None], -logvar, torch.full_like(logvar, -math.inf))
    prior = torch.zeros_like(logvar[:1])
    logits = torch.cat([prior, log_precision])                  # (1 + experts, batch, latent)
    joint_log_precision = torch.logsumexp(logits, dim=0)
    weights = torch.softmax(logits, dim=0)[1:]                  # sigma^2 / sigma_i^2: the prior's mean 0 drops out
    return (weights * mu).sum(0), -joint_log_precision


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    r"""KL divergence of :math:`\mathcal N(\mu, \sigma^2)` (diagonal) from the prior :math:`\mathcal N(0, I)`.

    .. math::  \mathrm{KL} = \tfrac12 \sum_j \big(\mu_j^2 + \sigma_j^2 - \log \sigma_j^2 - 1\big)

    (Kingma and Welling, 2014), summed over the last (latent) axis. Part 5.3.

    Parameters
    ----------
    mu, logvar : Tensor
        ``(..., latent)``, same shape, finite.

    Returns
    -------
    Tensor
        ``(...)``, non-negative.

    Example
    -------
    >>> gaussian_kl(torch.tensor([[1.0, 0.0]]), torch.zeros(1, 2))
    tensor([0.5000])
    """
    _check_gaussians(mu, logvar, "gaussian_kl")
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(-1)


def gaussian_log_density(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    r""":math:`\log \mathcal N(z; \mu, \sigma^2)` of a diagonal Gaussian, summed over the last axis (Part 5.3).

    .. math::  \log q(z) = -\tfrac12 \sum_j \Big(\log 2\pi + \log\sigma_j^2 + \frac{(z_j - \mu_j)^2}{\sigma_j^2}\Big)

    ``z``, ``mu`` and ``logvar`` broadcast against each other; the result has their broadcast shape less the last axis.

    Example
    -------
    >>> round(gaussian_log_density(torch.zeros(1), torch.zeros(1), torch.zeros(1)).item(), 4)  # -log(2 pi) / 2
    -0.9189
    """
    _check_finite("z", z, "gaussian_log_density")
    _check_gaussians(mu, logvar, "gaussian_log_density")
    return -0.5 * (_LOG_2PI + logvar + (z - mu).pow(2) * torch.exp(-logvar)).sum(-1)


def mixture_log_density(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    r"""Log-density of the uniform mixture of experts, :math:`\log \frac1M \sum_m q(z \mid x_m)` (Part 5.3).

    The MMVAE posterior (Shi et al., 2019) is the mixture of the unimodal Gaussian posteriors; its log-density,
    computed with a logsumexp over the experts so that no density underflows:

    .. math::  \log q(z \mid X) = \operatorname{logsumexp}_m \log q(z \mid x_m) - \log M.

    Parameters
    ----------
    z : Tensor
        Points ``(..., batch, latent)``, e.g. ``(K, batch, latent)`` samples.
    mu, logvar : Tensor
        The experts, ``(experts, batch, latent)``.

    Returns
    -------
    Tensor
        ``(..., batch)``.

    Example
    -------
    >>> mu = torch.zeros(2, 1, 3); logvar = torch.zeros(2, 1, 3)
    >>> torch.allclose(mixture_log_density(torch.ones(1, 3), mu, logvar),
    ...                gaussian_log_density(torch.ones(1, 3), mu[0], logvar[0]))   # two equal experts: one Gaussian
    True
    """
    where = "mixture_log_density"
    _check_gaussians(mu, logvar, where, dims=3)
    _check_finite("z", z, where)
    if z.dim() < 2 or z.shape[-2:] != mu.shape[1:]:
        raise ValueError(f"{where}: z must have shape (..., batch, latent) = (..., {mu.shape[1]}, {mu.shape[2]}), "
                         f"got {tuple(z.shape)}")
    experts = mu.shape[0]
    # (experts, ..., batch): every point scored by every expert
    shape = (experts,) + (1,) * (z.dim() - 2) + tuple(mu.shape[1:])
    log_q = gaussian_log_density(z.unsqueeze(0), mu.reshape(shape), logvar.reshape(shape))
    return torch.logsumexp(log_q, dim=0) - math.log(experts)
