r"""Part 5.4, ethics: a generator trained on skewed data can make the skew worse.

A training set where an attribute is skewed (most squares are red) and a caption that leaves the attribute open
("a square"): a decoder trained to the mean returns the average of the squares it saw, which is mostly red, so
*every* square it draws is read as red. The amplification of a share :math:`p` (of red among squares) is the
difference between what the generator produces and what it was trained on, after Zhao et al. (2017):

.. math::  A = p_{\text{generated}} - p_{\text{train}},

0 when the generator reproduces the data's share, :math:`1 - p_{\text{train}}` when it returns the majority always,
negative when it dampens the skew.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from mmcourse.data._common import check_seed
from mmcourse.data.scenes import COLOURS, GRID, RGB, SHAPES, encode_words, render_scene

__all__ = ["skewed_scenes", "read_colour", "skew_amplification"]

CENTRE = GRID * GRID // 2  # every object of the skewed world sits in the centre cell


def _share(value, where: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 0 <= value <= 1:
        raise ValueError(f"{where}: {name} must be a share in [0, 1], got {value!r}")
    return float(value)


def skewed_scenes(n: int, *, red_share: float = 0.8, named_share: float = 0.5, noise: float = 0.05,
                  seed: int = 0) -> dict[str, Tensor]:
    """One-object scenes in the centre cell where a share ``red_share`` of the squares are red.

    Shapes are uniform. A square is red with probability ``red_share`` and otherwise green, blue or yellow with
    equal chance; circles and triangles take the four colours equally often. Each caption names the colour with
    probability ``named_share`` ("a red square") and otherwise names the shape only ("a square"), as real
    captions leave out what their writer found unremarkable. Part 5.4.

    Parameters
    ----------
    n : int
        Number of scenes.
    red_share : float
        Share of red among the squares, in [0, 1] (uniform would be 0.25).
    named_share : float
        Share of captions that name the colour, in [0, 1].
    noise : float
        Pixel noise, as in :func:`~mmcourse.data.load_scenes`.
    seed : int

    Returns
    -------
    dict of Tensor
        ``image`` (n, 30, 30, 3) float32; ``colour``, ``shape`` (n,) long; ``named`` (n,) bool; ``caption``
        (n, 3) word ids ("a red square" or "a square", padded); ``kinds`` (n, 12) float, what the caption says
        about the object's kind (``colour * 3 + shape``): 1 on the named kind, or 1/4 on each colour of the
        named shape when the colour is not named (the input of
        :class:`~mmcourse.generation.CaptionToImage`).

    Example
    -------
    >>> data = skewed_scenes(400, red_share=0.8, seed=0)
    >>> squares = data["shape"] == 0
    >>> round((data["colour"][squares] == 0).float().mean().item(), 1)
    0.8
    """
    where = "skewed_scenes"
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{where}: n must be a positive int, got {n!r}")
    red_share, named_share = _share(red_share, where, "red_share"), _share(named_share, where, "named_share")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"{where}: noise must be a finite number >= 0, got {noise!r}")
    rng = np.random.default_rng(check_seed(seed, where))
    shape = rng.integers(len(SHAPES), size=n)
    colour = rng.integers(len(COLOURS), size=n)
    square = shape == SHAPES.index("square")
    red = rng.random(n) < red_share
    colour[square] = np.where(red[square], 0, rng.integers(1, len(COLOURS), size=n)[square])
    named = rng.random(n) < named_share
    images = np.stack([render_scene([c], [s], [CENTRE], rng=rng, noise=noise) for c, s in zip(colour, shape)])
    captions = np.stack([encode_words(f"a {COLOURS[c]} {SHAPES[s]}" if k else f"a {SHAPES[s]}", 3)
                         for c, s, k in zip(colour, shape, named)])
    kinds = torch.zeros(n, len(COLOURS), len(SHAPES))
    rows = torch.arange(n)
    kinds[rows, :, torch.as_tensor(shape)] = 1 / len(COLOURS)  # the shape is known, the colour is open ...
    kinds[rows[named], :, torch.as_tensor(shape[named])] = 0  # ... unless the caption names it
    kinds[rows[named], torch.as_tensor(colour[named]), torch.as_tensor(shape[named])] = 1
    return {"image": torch.as_tensor(images), "colour": torch.as_tensor(colour), "shape": torch.as_tensor(shape),
            "named": torch.as_tensor(named), "caption": torch.as_tensor(captions).long(), "kinds": kinds.flatten(1)}


def read_colour(images, threshold: float = 0.3) -> Tensor:
    r"""The colour of the object in each image: the palette colour closest in direction to its mean lit pixel.

    With :math:`\bar x` the mean RGB of the pixels whose brightest channel exceeds ``threshold``, the colour is
    :math:`\arg\max_k \cos(\bar x, \mathrm{RGB}_k)` over the four colours of the scene world. A fixed rule, exact on
    rendered scenes, so that it cannot learn the training set's skew. Part 5.4.

    Parameters
    ----------
    images : (N, 30, 30, 3) tensor or array in [0, 1], one object each.
    threshold : float
        Brightness in (0, 1) above which a pixel counts as part of the object.

    Returns
    -------
    Tensor
        ``(N,)`` long colour indices into :data:`~mmcourse.data.COLOURS`; -1 where no pixel is lit.

    Example
    -------
    >>> read_colour(render_scene([2], [0], [4])[None]).tolist()   # a blue square
    [2]
    """
    where = "read_colour"
    x = torch.as_tensor(np.asarray(images) if not isinstance(images, Tensor) else images).double()
    if x.dim() != 4 or x.shape[-1] != 3:
        raise ValueError(f"{where}: images must be (N, H, W, 3), got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{where}: images hold NaN or infinite values")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        raise ValueError(f"{where}: threshold must be a number in (0, 1), got {threshold!r}")
    pixels = x.flatten(1, 2)
    lit = (pixels.max(dim=-1).values > threshold).unsqueeze(-1).double()
    mean = (pixels * lit).sum(1) / lit.sum(1).clamp(min=1)
    palette = torch.nn.functional.normalize(torch.as_tensor(RGB, dtype=torch.float64), dim=1)
    colour = (torch.nn.functional.normalize(mean, dim=1) @ palette.T).argmax(dim=1)
    return torch.where(lit.sum((1, 2)) > 0, colour, torch.full_like(colour, -1))


def skew_amplification(train_share: float, generated_share: float) -> float:
    r"""How much a generator exaggerates a share it learned: :math:`A = p_{\text{generated}} - p_{\text{train}}`.

    Bias amplification in the sense of Zhao et al. (2017), *Men also like shopping*, for one attribute of one
    kind of object. 0: the generator reproduces the training share; :math:`1 - p_{\text{train}}`: it always
    returns the majority; negative: it dampens the skew. Part 5.4.

    Parameters
    ----------
    train_share, generated_share : float
        Shares in [0, 1] (e.g. of red among the squares of the training set, and among generated squares).

    Returns
    -------
    float

    Example
    -------
    >>> round(skew_amplification(0.8, 1.0), 3)
    0.2
    """
    where = "skew_amplification"
    return _share(generated_share, where, "generated_share") - _share(train_share, where, "train_share")
