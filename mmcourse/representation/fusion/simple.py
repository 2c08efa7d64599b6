"""The basic fusions of Part 2.1: early, late, additive, multiplicative and nonlinear (MLP) fusion."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from mmcourse.representation.fusion.base import Fusion
from mmcourse.utils import check_modalities

__all__ = ["NonlinearFusion", "EarlyFusion", "LateFusion", "AdditiveFusion", "MultiplicativeFusion"]


class NonlinearFusion(Fusion):
    r"""Nonlinear fusion: an MLP over the concatenated features.

    ``z = W₂ ReLU(W₁ [h₁; …; h_M] + b₁) + b₂``, i.e. :math:`z = W_2\,\mathrm{ReLU}(W_1 [h_1; \dots; h_M] + b_1) + b_2`.

    A universal approximator of every kind of cross-modal interaction, given enough width and data, but nothing in
    its form points it at the interactions that matter: it is the data-hungry baseline of the chapter.

    Book section: Part 2.1 Fusion (nonlinear fusion).

    Parameter count, with ``D = Σ_m d_m`` and ``H = hidden``: ``(D + 1)·H + (H + 1)·o``.

    Parameters
    ----------
    input_dims : sequence of int
        Feature sizes ``d_m`` of the M ≥ 2 modalities.
    output_dim : int
        Size ``o`` of the fused vector.
    hidden : int, optional
        Width ``H`` of the hidden layer; default ``output_dim``.

    Examples
    --------
    >>> import torch
    >>> from mmcourse.representation.fusion import NonlinearFusion, parameter_count
    >>> fusion = NonlinearFusion((3, 5), 4, hidden=6)
    >>> fusion(torch.randn(2, 3), torch.randn(2, 5)).shape
    torch.Size([2, 4])
    >>> parameter_count(fusion)  # (8 + 1)·6 + (6 + 1)·4
    82
    """

    def __init__(self, input_dims: Sequence[int], output_dim: int, *, hidden: int | None = None):
        super().__init__(input_dims, output_dim)
        self.hidden = self.output_dim if hidden is None else self._positive_int("hidden", hidden)
        self.hidden_layer = nn.Linear(sum(self.input_dims), self.hidden)   # W₁, b₁
        self.output_layer = nn.Linear(self.hidden, self.output_dim)        # W₂, b₂

    def forward(self, *hs: Tensor) -> Tensor:
        check_modalities(hs, self.input_dims, type(self).__name__)
        h = torch.cat(hs, dim=1)                                            # [h₁; …; h_M]
        return self.output_layer(torch.relu(self.hidden_layer(h)))


class EarlyFusion(NonlinearFusion):
    r"""Early fusion: concatenate the raw (or low-level) inputs and put one model on top.

    ``z = W₂ ReLU(W₁ [x₁; …; x_M] + b₁) + b₂``, i.e. :math:`z = W_2\,\mathrm{ReLU}(W_1 [x_1; \dots; x_M] + b_1) + b_2`.

    The computation is that of :class:`NonlinearFusion`; what differs is *where* it sits. Early fusion receives the
    modalities before any unimodal encoder (the class attribute ``raw_inputs = True`` tells a model to feed it the
    flattened raw inputs), so every layer of the model sees all modalities at once.

    Book section: Part 2.1 Fusion (early fusion).

    Parameter count, with ``D = Σ_m d_m`` and ``H = hidden``: ``(D + 1)·H + (H + 1)·o``.

    Parameters
    ----------
    input_dims : sequence of int
        Sizes ``d_m`` of the M ≥ 2 flattened raw inputs.
    output_dim : int
        Size ``o`` of the fused vector.
    hidden : int, optional
        Width ``H`` of the hidden layer; default ``output_dim``.

    Examples
    --------
    >>> import torch
    >>> from mmcourse.representation.fusion import EarlyFusion, parameter_count
    >>> fusion = EarlyFusion((64, 32), 8)
    >>> fusion(torch.randn(2, 64), torch.randn(2, 32)).shape
    torch.Size([2, 8])
    >>> EarlyFusion.raw_inputs, parameter_count(fusion)  # (96 + 1)·8 + (8 + 1)·8
    (True, 848)
    """

    raw_inputs = True


class LateFusion(Fusion):
    r"""Late fusion: one small model per modality, their outputs combined by learned weights.

    ``z = Σ_m softmax(a)_m · g_m(h_m)`` with ``g_m(h) = V_m ReLU(U_m h + c_m) + e_m`` and learned ``a ∈ R^M``, i.e.
    :math:`z = \sum_m \mathrm{softmax}(a)_m\, g_m(h_m)`, :math:`g_m(h) = V_m\,\mathrm{ReLU}(U_m h + c_m) + e_m`.

    ``a`` starts at 0, so the untrained fusion is the plain average of the unimodal outputs. The output is a sum of
    functions of one modality each: late fusion has no cross-modal interaction, and with a linear head it cannot
    solve XOR-type (synergy) data.

    Book section: Part 2.1 Fusion (late fusion).

    Parameter count: ``Σ_m [(d_m + 1)·o + (o + 1)·o] + M`` (the hidden width of each ``g_m`` is ``o``).

    Parameters
    ----------
    input_dims : sequence of int
        Feature sizes ``d_m`` of the M ≥ 2 modalities.
    output_dim : int
        Size ``o`` of the fused vector (and of each unimodal model's output and hidden layer).

    Examples
    --------
    >>> import torch
    >>> from mmcourse.representation.fusion import LateFusion, parameter_count
    >>> fusion = LateFusion((3, 5), 4)
    >>> fusion(torch.randn(2, 3), torch.randn(2, 5)).shape
    torch.Size([2, 4])
    >>> parameter_count(fusion)  # (4·4 + 5·4) + (6·4 + 5·4) + 2
    82
    """

    def __init__(self, input_dims: Sequence[int], output_dim: int):
        super().__init__(input_dims, output_dim)
        o = self.output_dim
        # g_m = V_m ReLU(U_m h): one unimodal model per modality.
        self.unimodal = nn.ModuleList(nn.Sequential(nn.Linear(d, o), nn.ReLU(), nn.Linear(o, o))
                                      for d in self.input_dims)
        self.modality_logits = nn.Parameter(torch.zeros(self.num_modalities))   # a; 0 means a plain average

    def forward(self, *hs: Tensor) -> Tensor:
        check_modalities(hs, self.input_dims, type(self).__name__)
        outputs = torch.stack([g(h) for g, h in zip(self.unimodal, hs)], dim=1)   # (batch, M, o): g_m(h_m)
        weights = torch.softmax(self.modality_logits, dim=0)                    # softmax(a), shared by all examples
        return torch.einsum("m,bmo->bo", weights, outputs)


class AdditiveFusion(Fusion):
    r"""Additive fusion: a sum of one linear map per modality.

    ``z = Σ_m W_m h_m + b`` (one bias), i.e. :math:`z = \sum_m W_m h_m + b`.

    Equal to one linear map of the concatenation ``[h₁; …; h_M]``. With a linear head the model is additive in the
    modalities, so it cannot represent an interaction: on XOR it stays at 3/4 accuracy at best.

    Book section: Part 2.1 Fusion (additive fusion).

    Parameter count: ``o·Σ_m d_m + o``.

    Parameters
    ----------
    input_dims : sequence of int
        Feature sizes ``d_m`` of the M ≥ 2 modalities.
    output_dim : int
        Size ``o`` of the fused vector.

    Examples
    --------
    >>> import torch
    >>> from mmcourse.representation.fusion import AdditiveFusion, parameter_count
    >>> fusion = AdditiveFusion((3, 5), 4)
    >>> fusion(torch.randn(2, 3), torch.randn(2, 5)).shape
    torch.Size([2, 4])
    >>> parameter_count(fusion)  # 4·(3 + 5) + 4
    36
    """

    def __init__(self, input_dims: Sequence[int], output_dim: int):
        super().__init__(input_dims, output_dim)
        # W_m without bias: a bias per modality would be M copies of one constant.
        self.projections = nn.ModuleList(nn.Linear(d, self.output_dim, bias=False) for d in self.input_dims)
        self.bias = nn.Parameter(torch.zeros(self.output_dim))                   # b

    def forward(self, *hs: Tensor) -> Tensor:
        check_modalities(hs, self.input_dims, type(self).__name__)
        return sum(W(h) for W, h in zip(self.projections, hs)) + self.bias


class MultiplicativeFusion(Fusion):
    r"""Multiplicative fusion: the elementwise product of one affine map per modality.

    ``z = ⊙_m (W_m h_m + b_m)``, i.e. :math:`z = \bigodot_m (W_m h_m + b_m)`.

    Expanding the product shows every interaction order: for two modalities ``z = (W₁h₁) ⊙ (W₂h₂) + b₂ ⊙ W₁h₁ +
    b₁ ⊙ W₂h₂ + b₁ ⊙ b₂``, so the biases keep the unimodal terms and the product adds the bilinear one that XOR needs.

    Book section: Part 2.1 Fusion (multiplicative fusion).

    Parameter count: ``o·Σ_m (d_m + 1)``.

    Parameters
    ----------
    input_dims : sequence of int
        Feature sizes ``d_m`` of the M ≥ 2 modalities.
    output_dim : int
        Size ``o`` of the fused vector.

    Examples
    --------
    >>> import torch
    >>> from mmcourse.representation.fusion import MultiplicativeFusion, parameter_count
    >>> fusion = MultiplicativeFusion((3, 5), 4)
    >>> fusion(torch.randn(2, 3), torch.randn(2, 5)).shape
    torch.Size([2, 4])
    >>> parameter_count(fusion)  # 4·(4 + 6)
    40
    """

    def __init__(self, input_dims: Sequence[int], output_dim: int):
        super().__init__(input_dims, output_dim)
        self.projections = nn.ModuleList(nn.Linear(d, self.output_dim) for d in self.input_dims)   # W_m, b_m

    def forward(self, *hs: Tensor) -> Tensor:
        check_modalities(hs, self.input_dims, type(self).__name__)
        factors = [W(h) for W, h in zip(self.projections, hs)]                  # W_m h_m + b_m
        return torch.stack(factors, dim=0).prod(dim=0)                          # ⊙ over modalities
