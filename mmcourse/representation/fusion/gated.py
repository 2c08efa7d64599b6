"""Fusions that decide, per example, how much each modality or each fusion counts (Part 2.1): gated fusion (GMU),
modality-shifting fusion (MAG) and a mixture of fusion experts."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmcourse.representation.fusion.base import Fusion
from mmcourse.utils import check_modalities

__all__ = ["GatedFusion", "ModalityShiftingFusion", "MixtureOfFusions"]


class GatedFusion(Fusion):
    r"""Gated fusion (Gated Multimodal Unit): a per-example, per-unit convex combination of the modalities.

    ``z = Σ_m g_m ⊙ tanh(W_m h_m)`` with ``g = softmax over m of (G_m [h₁; …; h_M])``, separately for every output
    unit, i.e. :math:`z = \sum_m g_m \odot \tanh(W_m h_m)`,
    :math:`g_{m} = \exp(G_m c) / \sum_{m'} \exp(G_{m'} c)`, :math:`c = [h_1; \dots; h_M]` (each W, G with a bias).

    For two modalities this is exactly the GMU of the paper, ``z = g ⊙ tanh(W₁h₁) + (1 − g) ⊙ tanh(W₂h₂)`` with
    ``g = σ(W_g [h₁; h₂])``, where ``W_g = G₁ − G₂`` (biases likewise): a two-way softmax is a sigmoid of the
    difference. The softmax form extends the unit to any number of modalities. The gates are what the book shows:
    after each forward pass ``last_gates`` holds them.

    Paper: J. Arevalo, T. Solorio, M. Montes-y-Gómez, F. A. González (2017), "Gated Multimodal Units for
    Information Fusion", ICLR workshop.

    Book section: Part 2.1 Fusion (gated fusion).

    Parameter count, with ``D = Σ_m d_m``: ``o·Σ_m (d_m + 1) + M·o·(D + 1)``.

    Parameters
    ----------
    input_dims : sequence of int
        Feature sizes ``d_m`` of the M ≥ 2 modalities.
    output_dim : int
        Size ``o`` of the fused vector.

    Attributes
    ----------
    last_gates : torch.Tensor or None
        The gates ``g`` of the last forward pass, detached, shape ``(batch, M, o)``; they sum to 1 over ``M``.

    Examples
    --------
    >>> import torch
    >>> from mmcourse.representation.fusion import GatedFusion, parameter_count
    >>> fusion = GatedFusion((3, 5), 4)
    >>> fusion(torch.randn(2, 3), torch.randn(2, 5)).shape
    torch.Size([2, 4])
    >>> fusion.last_gates.shape, parameter_count(fusion)  # 4·(4 + 6) + 2·4·9
    (torch.Size([2, 2, 4]), 112)
    """

    def __init__(self, input_dims: Sequence[int], output_dim: int):
        super().__init__(input_dims, output_dim)
        o, total = self.output_dim, sum(self.input_dims)
        self.projections = nn.ModuleList(nn.Linear(d, o) for d in self.input_dims)      # W_m
        self.gates = nn.ModuleList(nn.Linear(total, o) for _ in self.input_dims)         # G_m, reading all modalities
        self.last_gates: Tensor | None = None

    def forward(self, *hs: Tensor) -> Tensor:
        check_modalities(hs, self.input_dims, type(self).__name__)
        h = torch.cat(hs, dim=1)                                                          # [h₁; …; h_M]
        g = torch.softmax(torch.stack([G(h) for G in self.gates], dim=1), dim=1)          # (batch, M, o)
        candidates = torch.stack([torch.tanh(W(x)) for W, x in zip(self.projections, hs)], dim=1)   # tanh(W_m h_m)
        self.last_gates = g.detach()
        return (g * candidates).sum(dim=1)


class ModalityShiftingFusion(Fusion):
    r"""Modality-shifting fusion (Multimodal Adaptation Gate): the other modalities shift the primary one.

    ``z = p + α·H`` with ``p = W₁ h₁``, the displacement ``H = Σ_{m≥2} ReLU(G_m [h₁; h_m]) ⊙ (W_m h_m)`` and, per
    example, ``α = min(β‖p‖ / ‖H‖, 1)``, i.e. :math:`z = p + \alpha H`,
    :math:`H = \sum_{m \ge 2} \mathrm{ReLU}(G_m [h_1; h_m]) \odot W_m h_m`,
    :math:`\alpha = \min(\beta \lVert p \rVert / \lVert H \rVert, 1)` (each W, G with a bias).

    The first modality is primary (the words, in the paper); the others can move its representation, but the
    scaling ``α`` caps the shift at ``β`` times the primary's norm, so they modulate it without taking over. A small
    ``eps`` is added to ``‖H‖`` so that a zero displacement (all gates closed) gives ``z = p``.

    Paper: W. Rahman, M. K. Hasan, S. Lee, A. Zadeh, C. Mao, L.-P. Morency, E. Hoque (2020), "Integrating
    Multimodal Information in Large Pretrained Transformers", ACL.

    Book section: Part 2.1 Fusion (modality-shifting fusion).

    Parameter count: ``o·(d₁ + 1) + Σ_{m≥2} [o·(d₁ + d_m + 1) + o·(d_m + 1)]``.

    Parameters
    ----------
    input_dims : sequence of int
        Feature sizes ``d_m`` of the M ≥ 2 modalities; the first is the primary one.
    output_dim : int
        Size ``o`` of the fused vector.
    beta : float, optional
        The largest shift relative to the primary's norm, ``β ≥ 0``; default 0.5.
    eps : float, optional
        Added to ``‖H‖`` to guard against division by zero; default 1e-6.

    Attributes
    ----------
    last_alpha : torch.Tensor or None
        ``α`` of the last forward pass, detached, shape ``(batch,)``.

    Examples
    --------
    >>> import torch
    >>> from mmcourse.representation.fusion import ModalityShiftingFusion, parameter_count
    >>> fusion = ModalityShiftingFusion((3, 5), 4, beta=0.5)
    >>> fusion(torch.randn(2, 3), torch.randn(2, 5)).shape
    torch.Size([2, 4])
    >>> bool((fusion.last_alpha <= 1).all()), parameter_count(fusion)  # 4·4 + 4·9 + 4·6
    (True, 76)
    """

    def __init__(self, input_dims: Sequence[int], output_dim: int, *, beta: float = 0.5, eps: float = 1e-6):
        super().__init__(input_dims, output_dim)
        self.beta = self._positive_float("beta", beta, allow_zero=True)
        self.eps = self._positive_float("eps", eps)
        d1, others, o = self.input_dims[0], self.input_dims[1:], self.output_dim
        self.primary = nn.Linear(d1, o)                                                  # W₁
        self.gates = nn.ModuleList(nn.Linear(d1 + d, o) for d in others)                 # G_m, m ≥ 2
        self.projections = nn.ModuleList(nn.Linear(d, o) for d in others)                # W_m, m ≥ 2
        self.last_alpha: Tensor | None = None

    def forward(self, *hs: Tensor) -> Tensor:
        check_modalities(hs, self.input_dims, type(self).__name__)
        h1, others = hs[0], hs[1:]
        p = self.primary(h1)
        # Each secondary modality proposes a displacement, gated by how it relates to the primary one.
        H = sum(torch.relu(G(torch.cat([h1, h], dim=1))) * W(h)
                for G, W, h in zip(self.gates, self.projections, others))
        ratio = self.beta * p.norm(dim=1, keepdim=True) / (H.norm(dim=1, keepdim=True) + self.eps)
        alpha = ratio.clamp(max=1.0)                                # α = min(β‖p‖/‖H‖, 1): cap the shift
        self.last_alpha = alpha.detach().squeeze(1)
        return p + alpha * H

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, beta={self.beta}, eps={self.eps}"


class MixtureOfFusions(Fusion):
    r"""A mixture of fusion experts: a gate weighs several fusions per example.

    ``z = Σ_e π_e f_e(h₁, …, h_M)`` with ``π = softmax(Q [h₁; …; h_M] / τ)``, i.e.
    :math:`z = \sum_e \pi_e f_e(h_1, \dots, h_M)`, :math:`\pi = \mathrm{softmax}(Q [h_1; \dots; h_M] / \tau)`
    (Q with a bias). With ``hard=True`` the forward pass uses the one-hot vector of ``argmax π`` (each example
    goes through one expert) and the backward pass the soft mixture's gradient: ``z = z_soft + (z_hard −
    z_soft)`` with the bracket detached, a straight-through estimator. So the gate and every expert keep learning,
    including experts that no example picks.

    The experts are fusions from :data:`~mmcourse.representation.fusion.FUSIONS`, named in ``experts`` and built
    with the same ``input_dims`` and ``output_dim`` (and their default keywords). The weights are what the book
    shows: which fusion the gate trusts, on which data.

    Book section: Part 2.1 Fusion (mixture of fusions). The gating network follows the mixture of experts of
    R. A. Jacobs, M. I. Jordan, S. J. Nowlan, G. E. Hinton (1991), "Adaptive Mixtures of Local Experts"; the
    straight-through estimator is from Y. Bengio, N. Léonard, A. Courville (2013), "Estimating or Propagating
    Gradients Through Stochastic Neurons for Conditional Computation".

    Parameter count, with ``D = Σ_m d_m`` and E experts: ``Σ_e (parameters of f_e) + E·(D + 1)``.

    Parameters
    ----------
    input_dims : sequence of int
        Feature sizes ``d_m`` of the M ≥ 2 modalities (every expert must accept them).
    output_dim : int
        Size ``o`` of the fused vector.
    experts : sequence of str, optional
        Registry names of the experts; default ``("additive", "multiplicative", "tensor")``.
    temperature : float, optional
        ``τ > 0``; a lower temperature makes the gate sharper. Default 1.0.
    hard : bool, optional
        Route each example through one expert (straight-through), default False (soft mixture).

    Attributes
    ----------
    expert_names : tuple of str
    last_weights : torch.Tensor or None
        The expert weights of the last forward pass, detached, shape ``(batch, E)``: ``π`` in soft mode, the
        one-hot choice in hard mode.
    last_soft_weights : torch.Tensor or None
        ``π`` of the last forward pass in either mode (the gate's confidence).

    Examples
    --------
    >>> import torch
    >>> from mmcourse.representation.fusion import MixtureOfFusions
    >>> fusion = MixtureOfFusions((3, 5), 4, experts=("additive", "tensor"))
    >>> fusion(torch.randn(2, 3), torch.randn(2, 5)).shape
    torch.Size([2, 4])
    >>> fusion.last_weights.shape, torch.allclose(fusion.last_weights.sum(dim=1), torch.ones(2))
    (torch.Size([2, 2]), True)
    """

    def __init__(self, input_dims: Sequence[int], output_dim: int, *,
                 experts: Sequence[str] = ("additive", "multiplicative", "tensor"), temperature: float = 1.0,
                 hard: bool = False):
        super().__init__(input_dims, output_dim)
        from mmcourse.representation.fusion.registry import FUSIONS, make_fusion   # the registry imports this file

        if isinstance(experts, (str, bytes)) or not isinstance(experts, Sequence) or len(experts) == 0:
            raise self._fail(f"experts must be a non-empty sequence of fusion names such as ('additive', 'tensor'), "
                             f"got {experts!r}")
        for name in experts:
            if not isinstance(name, str) or name not in FUSIONS:
                raise self._fail(f"unknown fusion {name!r} in experts; known fusions: {', '.join(FUSIONS)}")
            if name == "mixture":
                raise self._fail(f"experts cannot contain 'mixture' itself, got {tuple(experts)!r}")
        if not isinstance(hard, bool):
            raise self._fail(f"hard must be True or False, got {hard!r}")
        self.temperature = self._positive_float("temperature", temperature)
        self.hard = hard
        self.expert_names = tuple(experts)
        self.experts = nn.ModuleList(make_fusion(name, self.input_dims, self.output_dim) for name in experts)
        self.gate = nn.Linear(sum(self.input_dims), len(self.experts))                  # Q
        self.last_weights: Tensor | None = None
        self.last_soft_weights: Tensor | None = None

    def forward(self, *hs: Tensor) -> Tensor:
        check_modalities(hs, self.input_dims, type(self).__name__)
        outputs = torch.stack([f(*hs) for f in self.experts], dim=1)                   # (batch, E, o): f_e(h)
        pi = torch.softmax(self.gate(torch.cat(hs, dim=1)) / self.temperature, dim=1)  # (batch, E)
        z_soft = torch.einsum("be,beo->bo", pi, outputs)
        self.last_soft_weights = pi.detach()
        if not self.hard:
            self.last_weights = pi.detach()
            return z_soft
        one_hot = F.one_hot(pi.argmax(dim=1), len(self.experts)).to(pi.dtype)
        z_hard = torch.einsum("be,beo->bo", one_hot, outputs)
        self.last_weights = one_hot
        # Straight-through: the value of z_hard, the gradient of z_soft.
        return z_soft + (z_hard - z_soft).detach()

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, experts={self.expert_names}, temperature={self.temperature}, hard={self.hard}"
