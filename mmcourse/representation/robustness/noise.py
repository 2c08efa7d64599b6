r"""Noise within a modality: corruptions of growing strength, ``level`` 0 (clean) to 1 (as bad as it gets).

Every noise is a function ``noise(x, level, generator)`` on a batch ``x`` of shape ``(n, ...)`` that returns a new
tensor of the same shape and never changes ``x``. :data:`NOISES` lists them by name, :func:`add_noise` applies one
by name, and :data:`MODALITY_NOISES` says which of them make sense for which kind of modality (MultiBench corrupts
each modality with the imperfections natural to it; Liang et al., 2021):

===================  ===========================================================  ==========================
name                 what ``level`` means                                         shape of ``x``
===================  ===========================================================  ==========================
``gaussian``         std of added noise, in units of the batch's std              any
``dropout``          fraction of entries set to 0                                 any
``salt_and_pepper``  fraction of entries set to the batch's max or min (50/50)    any
``occlusion``        fraction of the image hidden by a random square of zeros     ``(n, ..., H, W)``
``time_mask``        fraction of consecutive time frames set to 0                 ``(n, T, ...)``
``frequency_mask``   fraction of consecutive frequency bins set to 0              ``(n, T, F)``
===================  ===========================================================  ==========================

The masks of a spectrogram follow SpecAugment (Park et al., 2019). A *missing* modality is the extreme case: the
whole modality is zeros (:func:`mmcourse.representation.drop_modalities`).

The ``generator`` (a CPU ``torch.Generator``) makes the corruption reproducible; ``None`` uses torch's global one.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["NOISES", "MODALITY_NOISES", "add_noise", "gaussian_noise", "feature_dropout", "salt_and_pepper",
           "occlusion", "time_mask", "frequency_mask"]


def _check(x: Tensor, level: float, generator: torch.Generator | None, where: str, min_dim: int = 1,
           shape: str = "(n, ...)") -> None:
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise ValueError(f"{where}: x must be a floating-point torch.Tensor, got "
                         f"{getattr(x, 'dtype', type(x).__name__)}")
    if x.dim() < min_dim:
        raise ValueError(f"{where}: x must have shape {shape}, got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{where}: x holds NaN or infinity")
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 <= level <= 1:
        raise ValueError(f"{where}: level must be a number in [0, 1] (0 = clean), got {level!r}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"{where}: generator must be a torch.Generator or None, got {type(generator).__name__}")


def _rand(shape, generator: torch.Generator | None, like: Tensor) -> Tensor:
    # Drawn on the CPU, where the generator lives, so that a GPU run gives the same corruption as a CPU run.
    return torch.rand(shape, generator=generator).to(device=like.device, dtype=like.dtype)


def _starts(n: int, length: int, block: int, generator: torch.Generator | None) -> Tensor:
    """A uniform start in ``0 .. length - block`` for each of ``n`` examples."""
    return torch.randint(length - block + 1, (n,), generator=generator)


def gaussian_noise(x: Tensor, level: float, generator: torch.Generator | None = None) -> Tensor:
    r"""Additive Gaussian noise: :math:`\tilde x = x + \ell\, \sigma_x\, \varepsilon`, :math:`\varepsilon \sim
    \mathcal N(0, I)`, with :math:`\sigma_x` the standard deviation of all entries of the batch.

    At ``level`` 1 the noise is as strong as the signal's spread (signal-to-noise ratio 1).

    Examples
    --------
    >>> x = torch.randn(2000, 8)
    >>> round((gaussian_noise(x, 0.5, torch.Generator().manual_seed(0)) - x).std().item(), 1)
    0.5
    """
    _check(x, level, generator, "gaussian_noise")
    if level == 0:
        return x.clone()
    eps = torch.randn(x.shape, generator=generator).to(device=x.device, dtype=x.dtype)
    return x + level * x.std(unbiased=False) * eps


def feature_dropout(x: Tensor, level: float, generator: torch.Generator | None = None) -> Tensor:
    r"""Feature dropout (masking): each entry is set to 0 with probability ``level``, independently; nothing is
    rescaled. :math:`\tilde x_j = b_j x_j`, :math:`b_j \sim \mathrm{Bernoulli}(1 - \ell)`.

    Examples
    --------
    >>> x = torch.ones(1000, 10)
    >>> round(1 - feature_dropout(x, 0.3, torch.Generator().manual_seed(0)).mean().item(), 2)
    0.3
    """
    _check(x, level, generator, "feature_dropout")
    if level == 0:
        return x.clone()
    return x * (_rand(x.shape, generator, x) >= level).to(x.dtype)


def salt_and_pepper(x: Tensor, level: float, generator: torch.Generator | None = None) -> Tensor:
    r"""Impulse noise: each entry is replaced with probability ``level`` by the batch's largest value ("salt") or
    its smallest ("pepper"), each with probability 1/2; the other entries are kept.

    Examples
    --------
    >>> x = torch.rand(100, 64)
    >>> y = salt_and_pepper(x, 0.2, torch.Generator().manual_seed(0))
    >>> changed = y != x
    >>> round(changed.float().mean().item(), 1), bool(((y[changed] == x.max()) | (y[changed] == x.min())).all())
    (0.2, True)
    """
    _check(x, level, generator, "salt_and_pepper")
    if level == 0 or x.numel() == 0:  # nothing to corrupt (and no max or min to corrupt with)
        return x.clone()
    u = _rand(x.shape, generator, x)
    hit, salt = u < level, u < level / 2  # one uniform draw decides both: P(hit) = level, P(salt | hit) = 1/2
    return torch.where(salt, x.max(), torch.where(hit, x.min(), x))


def occlusion(x: Tensor, level: float, generator: torch.Generator | None = None) -> Tensor:
    r"""Hide a random square of each image behind zeros; its side is :math:`\mathrm{round}(\sqrt{\ell}\,
    \min(H, W))`, so that it covers about the fraction ``level`` of a square image.

    ``x`` has shape ``(n, ..., H, W)``; the square is placed uniformly at random in each example (the same place
    in every channel).

    Examples
    --------
    >>> y = occlusion(torch.ones(3, 8, 8), 0.25, torch.Generator().manual_seed(0))
    >>> (y == 0).sum((1, 2)).tolist()
    [16, 16, 16]
    """
    _check(x, level, generator, "occlusion", 3, "(n, ..., H, W)")
    height, width = x.shape[-2:]
    side = round(math.sqrt(level) * min(height, width))
    if side == 0:
        return x.clone()
    n = x.shape[0]
    rows, cols = _starts(n, height, side, generator), _starts(n, width, side, generator)
    r, c = torch.arange(height), torch.arange(width)
    in_rows = (r >= rows[:, None]) & (r < rows[:, None] + side)  # (n, H)
    in_cols = (c >= cols[:, None]) & (c < cols[:, None] + side)  # (n, W)
    hidden = (in_rows[:, :, None] & in_cols[:, None, :]).to(x.device)  # (n, H, W)
    return x.masked_fill(hidden.reshape(n, *([1] * (x.dim() - 3)), height, width), 0.0)


def _block_mask(x: Tensor, level: float, generator: torch.Generator | None, axis: int) -> Tensor:
    length = x.shape[axis]
    block = round(level * length)
    if block == 0:
        return x.clone()
    n = x.shape[0]
    starts = _starts(n, length, block, generator)
    t = torch.arange(length)
    hidden = ((t >= starts[:, None]) & (t < starts[:, None] + block)).to(x.device)  # (n, length)
    view = [n] + [1] * (x.dim() - 1)
    view[axis] = length
    return x.masked_fill(hidden.reshape(view), 0.0)


def time_mask(x: Tensor, level: float, generator: torch.Generator | None = None) -> Tensor:
    r"""SpecAugment's time masking: set a block of :math:`\mathrm{round}(\ell\, T)` consecutive frames of each
    example to 0, starting at a uniformly random frame. ``x`` has shape ``(n, T, ...)`` (time on axis 1).

    Examples
    --------
    >>> y = time_mask(torch.ones(2, 12, 16), 0.25, torch.Generator().manual_seed(0))
    >>> (y == 0).all(2).sum(1).tolist()
    [3, 3]
    """
    _check(x, level, generator, "time_mask", 2, "(n, T, ...)")
    return _block_mask(x, level, generator, 1)


def frequency_mask(x: Tensor, level: float, generator: torch.Generator | None = None) -> Tensor:
    r"""SpecAugment's frequency masking: set a block of :math:`\mathrm{round}(\ell\, F)` consecutive frequency bins
    of each example to 0, at a uniformly random place. ``x`` has shape ``(n, T, F)`` (frequency on the last axis).

    Examples
    --------
    >>> y = frequency_mask(torch.ones(2, 12, 16), 0.25, torch.Generator().manual_seed(0))
    >>> (y == 0).all(1).sum(1).tolist()
    [4, 4]
    """
    _check(x, level, generator, "frequency_mask", 3, "(n, T, F)")
    return _block_mask(x, level, generator, x.dim() - 1)


NOISES: dict[str, Callable[..., Tensor]] = {
    "gaussian": gaussian_noise,
    "dropout": feature_dropout,
    "salt_and_pepper": salt_and_pepper,
    "occlusion": occlusion,
    "time_mask": time_mask,
    "frequency_mask": frequency_mask,
}
"""Every noise by name: ``NOISES[name](x, level, generator)``."""

MODALITY_NOISES: dict[str, tuple[str, ...]] = {
    "vector": ("gaussian", "dropout", "salt_and_pepper"),
    "image": ("gaussian", "dropout", "salt_and_pepper", "occlusion"),
    "spectrogram": ("gaussian", "dropout", "salt_and_pepper", "time_mask", "frequency_mask"),
}
"""The noises natural to each kind of modality: feature vectors, images ``(n, H, W)``, spectrograms ``(n, T, F)``."""


def add_noise(x: Tensor, kind: str, level: float, generator: torch.Generator | None = None) -> Tensor:
    """Corrupt a batch with the noise registered as ``kind`` at ``level`` in [0, 1]; ``level`` 0 returns a copy.

    Parameters
    ----------
    x : torch.Tensor
        A batch ``(n, ...)`` of one modality.
    kind : str
        A key of :data:`NOISES`.
    level : float
        The strength, from 0 (clean) to 1.
    generator : torch.Generator, optional
        Seeds the corruption (a CPU generator); ``None`` uses torch's global generator.

    Returns
    -------
    torch.Tensor
        A new tensor of the shape of ``x``.

    Examples
    --------
    >>> x = torch.rand(4, 8, 8)
    >>> torch.equal(add_noise(x, "occlusion", 0.0), x)
    True
    >>> add_noise(x, "time_mask", 0.5, torch.Generator().manual_seed(0)).shape
    torch.Size([4, 8, 8])
    """
    if kind not in NOISES:
        raise ValueError(f"add_noise: unknown noise kind {kind!r}; known kinds: {', '.join(NOISES)}")
    return NOISES[kind](x, level, generator)
