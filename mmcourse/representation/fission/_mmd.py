r"""The two ways MFM can pull its factors towards their prior (Part 2.5): the MMD of a Wasserstein autoencoder with
the inverse multiquadratic kernel, and the KL of a variational autoencoder's diagonal Gaussian posterior.

Re-exported by :mod:`mmcourse.representation.fission.mfm`.
"""
from __future__ import annotations

from torch import Tensor

from mmcourse._checks import check_tensor

__all__ = ["imq_kernel", "mmd", "gaussian_kl"]


def _check_samples(where: str, **tensors: Tensor) -> None:
    for name, t in tensors.items():
        if not isinstance(t, Tensor) or t.dim() != 2:
            raise ValueError(f"{where}: {name} must be a 2-D tensor (samples, dim), got "
                             f"{tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__}")
        check_tensor(where, name, t)
    dims = {name: t.shape[1] for name, t in tensors.items()}
    if len(set(dims.values())) > 1:
        raise ValueError(f"{where}: the samples must have the same dimension, got {dims}")


def _check_scale(where: str, scale, dim: int) -> float:
    if scale is None:
        return 2.0 * dim
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < float(scale) < float("inf"):
        raise ValueError(f"{where}: scale must be a positive number (or None for 2·dim), got {scale!r}")
    return float(scale)


def imq_kernel(a: Tensor, b: Tensor, scale: float | None = None) -> Tensor:
    r"""The inverse multiquadratic kernel :math:`k(a, b) = C / (C + \lVert a - b \rVert^2)` between all rows.

    Wasserstein autoencoders (Tolstikhin et al., 2018) use it for the MMD because its tails are heavy: a point
    far from the others still gets a gradient, where a Gaussian kernel's vanishes. Their choice of
    :math:`C = 2 d \sigma^2` for a prior :math:`\mathcal N(0, \sigma^2 I_d)` with :math:`\sigma = 1` is the default.

    Parameters
    ----------
    a, b : torch.Tensor
        ``(n, d)`` and ``(m, d)``.
    scale : float, optional
        :math:`C > 0`; ``None`` means ``2 * d``.

    Returns
    -------
    torch.Tensor
        ``(n, m)``, entries in ``(0, 1]``.

    Examples
    --------
    >>> import torch
    >>> imq_kernel(torch.zeros(1, 2), torch.tensor([[0.0, 0.0], [2.0, 0.0]]))   # C = 4
    tensor([[1.0000, 0.5000]])
    """
    _check_samples("imq_kernel", a=a, b=b)
    c = _check_scale("imq_kernel", scale, a.shape[1])
    # Squared distances written out (not cdist) so that the gradient at a zero distance is 0, not NaN.
    sq = (a * a).sum(1, keepdim=True) + (b * b).sum(1) - 2 * a @ b.T
    return c / (c + sq.clamp_min(0))


def mmd(x: Tensor, y: Tensor, *, kernel: str = "imq", scale: float | None = None) -> Tensor:
    r"""The unbiased estimate of the squared maximum mean discrepancy between two samples (Gretton et al., 2012).

    .. math::

        \widehat{\mathrm{MMD}}^2_u = \frac{1}{n(n-1)} \sum_{i \ne j} k(x_i, x_j)
          + \frac{1}{m(m-1)} \sum_{i \ne j} k(y_i, y_j) - \frac{2}{nm} \sum_{i, j} k(x_i, y_j),

    with the inverse multiquadratic kernel :func:`imq_kernel`. The diagonal terms :math:`k(x_i, x_i) = 1` are
    left out, which makes the estimate unbiased: its expectation is the population MMD², 0 when the samples come
    from the same distribution. So it can be slightly negative on a finite sample. This is the estimator the
    Wasserstein autoencoder and MFM (Tsai et al., 2019) minimise between the encoded factors and prior samples.

    Book section: Part 2.5 Fission (MFM as published).

    Parameters
    ----------
    x, y : torch.Tensor
        ``(n, d)`` and ``(m, d)``, with ``n, m ≥ 2``.
    kernel : str
        ``"imq"``, the only kernel offered (named so that the call says which one it is).
    scale : float, optional
        The kernel's :math:`C`; ``None`` means ``2 * d``.

    Returns
    -------
    torch.Tensor
        A scalar (differentiable).

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> x, y = torch.randn(500, 2, generator=g), torch.randn(500, 2, generator=g)
    >>> abs(mmd(x, y).item()) < 0.01, mmd(x, y + 2).item() > 0.2
    (True, True)
    """
    if kernel != "imq":
        raise ValueError(f"mmd: kernel must be 'imq', got {kernel!r}")
    _check_samples("mmd", x=x, y=y)
    if len(x) < 2 or len(y) < 2:
        raise ValueError(f"mmd: each sample needs at least 2 rows, got {len(x)} and {len(y)}")
    n, m = len(x), len(y)
    k_xx, k_yy, k_xy = imq_kernel(x, x, scale), imq_kernel(y, y, scale), imq_kernel(x, y, scale)
    within_x = (k_xx.sum() - k_xx.diagonal().sum()) / (n * (n - 1))
    within_y = (k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return within_x + within_y - 2 * k_xy.mean()


def gaussian_kl(mean: Tensor, logvar: Tensor) -> Tensor:
    r""":math:`\mathrm{KL}(\mathcal N(\mu, \mathrm{diag}\,\sigma^2) \,\Vert\, \mathcal N(0, I))`, summed over the
    dimensions and averaged over the batch: the prior term of a variational autoencoder (Kingma and Welling, 2014).

    .. math::

        \mathrm{KL} = \tfrac12 \sum_k \big(\mu_k^2 + \sigma_k^2 - \log \sigma_k^2 - 1\big).

    Parameters
    ----------
    mean, logvar : torch.Tensor
        ``(n, d)`` each: :math:`\mu` and :math:`\log \sigma^2` of every example's posterior.

    Returns
    -------
    torch.Tensor
        A scalar ≥ 0, 0 exactly when every posterior is the prior.

    Examples
    --------
    >>> import torch
    >>> prior, shifted = torch.zeros(3, 2), torch.ones(3, 2)   # posteriors N(0, I) and N(1, I)
    >>> gaussian_kl(prior, torch.zeros(3, 2)).item(), gaussian_kl(shifted, torch.zeros(3, 2)).item()
    (0.0, 1.0)
    """
    _check_samples("gaussian_kl", mean=mean, logvar=logvar)
    if mean.shape != logvar.shape:
        raise ValueError(f"gaussian_kl: mean and logvar must have the same shape, got {tuple(mean.shape)} and "
                         f"{tuple(logvar.shape)}")
    return 0.5 * (mean.pow(2) + logvar.exp() - logvar - 1).sum(1).mean()
