r"""Part 6.1: a representation shift, the Multimodal Adaptation Gate (MAG) of Rahman et al. (2020).

A frozen encoder of the primary modality gives a vector :math:`Z`; a second modality :math:`a` moves it by a gated
displacement whose size is bounded by construction,

.. math::  g = \sigma(W_g [Z; a] + b_g), \qquad H = g \odot (W_a a + b_a), \qquad
           \alpha = \min\Big(\frac{\beta\,\lVert Z\rVert}{\lVert H\rVert}, 1\Big), \qquad
           \bar Z = \operatorname{LayerNorm}(Z + \alpha H),

so that :math:`\lVert \alpha H \rVert \le \beta \lVert Z \rVert` always: the new modality can nudge the frozen
representation, never overwrite it. Rahman et al. gate one displacement per nonverbal modality (visual and acoustic)
and sum them; one secondary modality is enough here. Their reference code gates with a ReLU of the same affine map;
we use a sigmoid, so that :math:`g \in (0, 1)` reads as "how much of the displacement to let through".
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from mmcourse._checks import check_tensor
from mmcourse.utils import check_positive

__all__ = ["shift_scale", "ModalityShift", "ShiftClassifier"]


def _check_beta(where: str, beta) -> float:
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta >= 0 or beta == float("inf"):
        raise ValueError(f"{where}: beta must be a finite number >= 0, got {beta!r}")
    return float(beta)


def _check_eps(where: str, eps) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < float("inf"):
        raise ValueError(f"{where}: eps must be a finite number > 0, got {eps!r}")
    return float(eps)


def shift_scale(z: Tensor, h: Tensor, beta: float, eps: float = 1e-6) -> Tensor:
    r"""MAG's scaling factor (Rahman et al., 2020; Part 6.1), one per row:
    :math:`\alpha = \min(\beta \lVert Z\rVert / \max(\lVert H\rVert, \varepsilon), 1)`.

    The guard :math:`\varepsilon` only acts when :math:`\lVert H\rVert < \varepsilon`, and then
    :math:`\alpha\lVert H\rVert \le \beta\lVert Z\rVert\,\lVert H\rVert/\varepsilon < \beta\lVert Z\rVert`: the bound
    holds for every :math:`H`, zero included.

    Parameters
    ----------
    z, h : Tensor (batch, d)
        The representation and its displacement.
    beta : float
        The largest allowed :math:`\lVert \alpha H\rVert / \lVert Z\rVert`, :math:`\ge 0`.
    eps : float
        Guard against :math:`\lVert H \rVert = 0`.

    Returns
    -------
    Tensor (batch, 1)

    Examples
    --------
    >>> z = torch.tensor([[3.0, 4.0], [3.0, 4.0]]); h = torch.tensor([[0.0, 10.0], [0.0, 1.0]])
    >>> shift_scale(z, h, beta=0.5).flatten().tolist()
    [0.25, 1.0]
    """
    beta = _check_beta("shift_scale", beta)
    eps = _check_eps("shift_scale", eps)
    check_tensor("shift_scale", "z", z)
    check_tensor("shift_scale", "h", h)
    if z.dim() != 2 or z.shape != h.shape:
        raise ValueError(f"shift_scale: z and h must have one shape (batch, d), got {tuple(z.shape)} and "
                         f"{tuple(h.shape)}")
    z_norm = z.norm(dim=1, keepdim=True)
    h_norm = h.norm(dim=1, keepdim=True).clamp_min(eps)
    return torch.clamp(beta * z_norm / h_norm, max=1.0)


class ModalityShift(nn.Module):
    r"""The Multimodal Adaptation Gate: shift a primary representation :math:`Z` by a bounded, gated displacement
    computed from a secondary modality :math:`a` (Rahman et al., 2020; Part 6.1):

    .. math::  \bar Z = \operatorname{LayerNorm}\big(Z + \alpha\; \sigma(W_g [Z; a] + b_g) \odot (W_a a + b_a)\big),
               \qquad \alpha = \min(\beta \lVert Z\rVert / \lVert H\rVert, 1).

    Parameters
    ----------
    primary_dim, secondary_dim : int
        Sizes of :math:`Z` and :math:`a`.
    beta : float
        The bound on :math:`\lVert\alpha H\rVert / \lVert Z\rVert` (:math:`\beta = 0`: :math:`\bar Z =
        \operatorname{LayerNorm}(Z)`).
    eps : float
        Guard of :func:`shift_scale`.

    Examples
    --------
    >>> shift = ModalityShift(8, 5, beta=0.5)
    >>> z, a = torch.randn(4, 8), torch.randn(4, 5)
    >>> shift(z, a).shape
    torch.Size([4, 8])
    >>> bool((shift.displacement(z, a).norm(dim=1) <= 0.5 * z.norm(dim=1) + 1e-6).all())
    True
    """

    def __init__(self, primary_dim: int, secondary_dim: int, beta: float = 1.0, eps: float = 1e-6):
        super().__init__()
        check_positive("ModalityShift", primary_dim=primary_dim, secondary_dim=secondary_dim)
        self.beta, self.eps = _check_beta("ModalityShift", beta), _check_eps("ModalityShift", eps)
        self.primary_dim, self.secondary_dim = primary_dim, secondary_dim
        self.gate = nn.Linear(primary_dim + secondary_dim, primary_dim)
        self.project = nn.Linear(secondary_dim, primary_dim)
        self.norm = nn.LayerNorm(primary_dim)

    def _check_inputs(self, z: Tensor, a: Tensor) -> None:
        check_tensor("ModalityShift", "z", z)
        check_tensor("ModalityShift", "a", a)
        if z.dim() != 2 or z.shape[1] != self.primary_dim or a.dim() != 2 or a.shape[1] != self.secondary_dim \
                or a.shape[0] != z.shape[0]:
            raise ValueError(f"ModalityShift: expected z (batch, {self.primary_dim}) and a (batch, "
                             f"{self.secondary_dim}), got {tuple(z.shape)} and {tuple(a.shape)}")

    def displacement(self, z: Tensor, a: Tensor) -> Tensor:
        """The scaled displacement :math:`\\alpha H` ``(batch, primary_dim)``, before the LayerNorm."""
        self._check_inputs(z, a)
        h = torch.sigmoid(self.gate(torch.cat([z, a], dim=1))) * self.project(a)
        return shift_scale(z, h, self.beta, self.eps) * h

    def forward(self, z: Tensor, a: Tensor) -> Tensor:
        return self.norm(z + self.displacement(z, a))


class ShiftClassifier(nn.Module):
    r"""A classifier of a primary modality whose features a secondary modality shifts:
    :math:`\hat y = V\, \operatorname{MAG}(\phi(x), a) + c`, where :math:`\phi` is ``encoder`` (freeze it to tune
    only the shift and the head; leave it trainable for full fine-tuning) and ``secondary`` an optional encoder of
    :math:`a` (the identity by default). MAG (Rahman et al., 2020) on top of a frozen encoder; Part 6.1.

    Parameters
    ----------
    encoder : nn.Module
        With an integer attribute ``out_dim`` (e.g. :class:`mmcourse.encoders.MLPEncoder`).
    secondary_dim : int
        Size of the secondary input (of ``secondary``'s output when given).
    n_classes : int
    beta : float
    secondary : nn.Module, optional

    Examples
    --------
    >>> from mmcourse.encoders import MLPEncoder
    >>> model = ShiftClassifier(MLPEncoder(6, 8), secondary_dim=4, n_classes=3, beta=0.5)
    >>> model(torch.randn(5, 6), torch.randn(5, 4)).shape
    torch.Size([5, 3])
    """

    def __init__(self, encoder: nn.Module, secondary_dim: int, n_classes: int, beta: float = 1.0,
                 secondary: nn.Module | None = None):
        super().__init__()
        if not isinstance(encoder, nn.Module) or not isinstance(getattr(encoder, "out_dim", None), int):
            raise TypeError("ShiftClassifier: encoder must be a torch.nn.Module with an integer attribute out_dim, "
                            f"got {type(encoder).__name__}")
        check_positive("ShiftClassifier", secondary_dim=secondary_dim, n_classes=n_classes)
        self.encoder = encoder
        self.secondary = secondary if secondary is not None else nn.Identity()
        self.shift = ModalityShift(encoder.out_dim, secondary_dim, beta=beta)
        self.head = nn.Linear(encoder.out_dim, n_classes)

    def features(self, x: Tensor, a: Tensor) -> tuple[Tensor, Tensor]:
        """The primary features :math:`Z` and the scaled displacement :math:`\\alpha H` (to measure it)."""
        check_tensor("ShiftClassifier", "a", a, kind="any")
        z = self.encoder(x)
        return z, self.shift.displacement(z, self.secondary(a))

    def forward(self, x: Tensor, a: Tensor) -> Tensor:
        check_tensor("ShiftClassifier", "a", a, kind="any")
        return self.head(self.shift(self.encoder(x), self.secondary(a)))
