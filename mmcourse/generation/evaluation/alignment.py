r"""Part 5.4: a reference-free alignment score in the spirit of CLIPScore (Hessel et al., 2021).

With encoders that map an image and a text into one space (the book's contrastive two-tower model of Part 2.4), the
score of a pair needs no reference caption:

.. math::  \mathrm{score}(I, c) = w \cdot \max\big(\cos(E_I, E_c),\, 0\big), \qquad w = 2.5 .

CLIPScore rescales the cosine with :math:`w = 2.5` so that scores spread over [0, 1] in practice (torchmetrics
multiplies by 100 instead: the ranking is the same) and clips negative cosines to 0.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["alignment_score"]


def alignment_score(image_embeddings: Tensor, text_embeddings: Tensor, w: float = 2.5) -> Tensor:
    """CLIPScore-style alignment of each pair ``(image_embeddings[i], text_embeddings[i])``: ``w * max(cos, 0)``.

    Parameters
    ----------
    image_embeddings, text_embeddings : Tensor
        ``(N, D)`` embeddings of N pairs, in one shared space (they need not be normalised).
    w : float
        The rescaling weight (CLIPScore uses 2.5); positive.

    Returns
    -------
    Tensor
        ``(N,)`` scores in ``[0, w]``.

    Example
    -------
    >>> alignment_score(torch.tensor([[1.0, 0.0], [1.0, 0.0]]), torch.tensor([[2.0, 0.0], [-1.0, 1.0]]))
    tensor([2.5000, 0.0000])
    """
    for name, z in (("image_embeddings", image_embeddings), ("text_embeddings", text_embeddings)):
        if not isinstance(z, Tensor):
            raise TypeError(f"alignment_score: {name} must be a torch.Tensor, got {type(z).__name__}")
        if z.dim() != 2 or not z.is_floating_point():
            raise ValueError(f"alignment_score: {name} must be a float tensor (N, D), got shape {tuple(z.shape)} "
                             f"of {z.dtype}")
        if not torch.isfinite(z).all():
            raise ValueError(f"alignment_score: {name} holds NaN or infinite values")
    if image_embeddings.shape != text_embeddings.shape:
        raise ValueError(f"alignment_score: image_embeddings and text_embeddings must have the same shape (N, D), "
                         f"got {tuple(image_embeddings.shape)} and {tuple(text_embeddings.shape)}")
    if isinstance(w, bool) or not isinstance(w, (int, float)) or not w > 0:
        raise ValueError(f"alignment_score: w must be a positive number, got {w!r}")
    cosine = nn.functional.cosine_similarity(image_embeddings, text_embeddings, dim=1)
    return w * cosine.clamp(min=0)
