r"""Modality dropout: train with whole modalities missing at random, so that no branch can lean on another.

Part 2.3 uses it twice: against one modality dominating training, and for robustness to a modality missing at test
time (a missing modality is given as zeros, which is exactly what the model saw during training).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from mmcourse._checks import check_tensor

__all__ = ["ModalityDropout", "drop_modalities"]


def _check_xs(xs, where: str) -> list[Tensor]:
    """``xs`` as a non-empty list of finite tensors, each with a batch axis."""
    xs = list(xs)
    if not xs:
        raise ValueError(f"{where}: xs is empty; expected one tensor per modality")
    for m, x in enumerate(xs):
        check_tensor(where, f"xs[{m}]", x, kind="any", nonempty=False)
        if x.dim() == 0:
            raise ValueError(f"{where}: xs[{m}] must have a batch axis (n, ...), got a scalar tensor")
    return xs


def drop_modalities(xs: list[Tensor] | tuple[Tensor, ...], keep: Tensor) -> list[Tensor]:
    r"""Zero modality :math:`m` of example :math:`i` wherever ``keep[i, m]`` is false: :math:`x_m \leftarrow k_{im} x_m`.

    Parameters
    ----------
    xs : sequence of torch.Tensor
        One tensor per modality, all with the same batch size ``n`` (any trailing shape).
    keep : torch.Tensor
        Boolean ``(n, M)`` mask, ``M = len(xs)``.

    Returns
    -------
    list of torch.Tensor

    Examples
    --------
    >>> x1, x2 = torch.ones(2, 3), torch.ones(2, 1, 2)
    >>> [x.sum().item() for x in drop_modalities([x1, x2], torch.tensor([[True, False], [True, True]]))]
    [6.0, 2.0]
    """
    xs = _check_xs(xs, "drop_modalities")
    check_tensor("drop_modalities", "keep", keep, kind="any", nonempty=False)
    n = xs[0].shape[0]
    if keep.dtype != torch.bool or tuple(keep.shape) != (n, len(xs)):
        raise ValueError(f"drop_modalities: keep must be a boolean mask of shape ({n}, {len(xs)}) (examples, "
                         f"modalities), got {keep.dtype} {tuple(keep.shape)}")
    for m, x in enumerate(xs, start=1):
        if x.shape[0] != n:
            raise ValueError(f"drop_modalities: modality {m} has {x.shape[0]} rows, modality 1 has {n}")
    return [x * keep[:, m].reshape(-1, *([1] * (x.dim() - 1))).to(x.dtype) for m, x in enumerate(xs)]


class ModalityDropout(nn.Module):
    r"""Drop each modality of each example with probability ``p`` while training; pass everything through in eval.

    .. math::

        \tilde x_m^{(i)} = k_{im}\, x_m^{(i)}, \qquad k_{im} \sim \mathrm{Bernoulli}(1 - p),

    redrawing one kept modality uniformly at random for an example that lost all of them (``keep_one=True``).
    Unlike ordinary dropout nothing is rescaled: at test time a missing modality is all zeros, as in training.
    This is the "modality dropout" of multimodal robustness work, e.g. Neverova et al. (ModDrop, 2016).

    Parameters
    ----------
    p : float
        Probability in ``[0, 1)`` of dropping a modality (or a list with one probability per modality).
    keep_one : bool
        Never drop every modality of an example.

    Examples
    --------
    >>> drop = ModalityDropout(0.5)
    >>> x1, x2 = drop(torch.ones(1000, 4), torch.ones(1000, 4))
    >>> bool(((x1.sum(1) > 0) | (x2.sum(1) > 0)).all())
    True
    """

    def __init__(self, p: float | list[float] = 0.5, *, keep_one: bool = True):
        super().__init__()
        probs = [p] if isinstance(p, (int, float)) else list(p)
        if not probs or any(isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 <= q < 1
                            for q in probs):
            raise ValueError(f"ModalityDropout: p must be a probability in [0, 1) or a list of them, got {p!r}")
        self.p = probs if len(probs) > 1 else probs[0]
        self.keep_one = keep_one

    def extra_repr(self) -> str:
        return f"p={self.p}, keep_one={self.keep_one}"

    def forward(self, *xs: Tensor) -> tuple[Tensor, ...]:
        _check_xs(xs, "ModalityDropout")
        if not self.training:
            return xs
        n, num = xs[0].shape[0], len(xs)
        probs = self.p if isinstance(self.p, list) else [self.p] * num
        if len(probs) != num:
            raise ValueError(f"ModalityDropout: got {num} modalities but {len(probs)} probabilities")
        device = xs[0].device
        keep = torch.rand(n, num, device=device) >= torch.tensor(probs, device=device)
        if self.keep_one:
            lost = ~keep.any(1)
            rescue = torch.randint(num, (int(lost.sum()),), device=device)
            keep[lost.nonzero().squeeze(1), rescue] = True
        return tuple(drop_modalities(xs, keep))
