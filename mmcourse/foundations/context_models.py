r"""Part 1: small models for the toys of :mod:`mmcourse.foundations.context`, one that can use the context and one
that cannot, for each.

- :class:`ConcatMLP`: early fusion of any number of modalities, :math:`W_2\,\mathrm{ReLU}(W_1 [x_1; \dots; x_M] +
  b_1) + b_2`; given all three modalities of the context-switch toy it can express their three-way interaction,
  given two it cannot (the label is independent of any two).
- :class:`PooledFusion`: an *order-blind* model of two sequences: each modality's frames are encoded and averaged
  over time, then fused by an MLP. It can multiply what the two sequences hold, but not tell which came first.
- :class:`PartWholeScorer`: a relational score :math:`e_1(x_1)^\top R\, e_2(x_2)` between two embeddings (the
  bilinear form of knowledge-base relations, Nickel, Tresp and Kriegel, 2011, *A three-way model for collective
  learning on multi-relational data*), or, without the relation, the additive :math:`u_1^\top e_1(x_1) + u_2^\top
  e_2(x_2)`.

Book section: Part 1, Foundations (chapter *Interactions in context*).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from mmcourse.utils import check_positive

__all__ = ["ConcatMLP", "PooledFusion", "PartWholeScorer"]


def _dims(where: str, input_dims: object, count: int | None = None) -> list[int]:
    if isinstance(input_dims, (str, bytes)) or not isinstance(input_dims, Sequence) or len(input_dims) == 0 \
            or (count is not None and len(input_dims) != count):
        expected = f"{count} feature sizes" if count else "a non-empty sequence of feature sizes"
        raise ValueError(f"{where}: input_dims must be {expected}, got {input_dims!r}")
    check_positive(where, **{f"input_dims[{i}]": d for i, d in enumerate(input_dims)})
    return [int(d) for d in input_dims]


def _check_inputs(where: str, xs: Sequence[Tensor], dims: list[int], ndim: int) -> None:
    if len(xs) != len(dims):
        raise ValueError(f"{where}: expected {len(dims)} modalities, got {len(xs)}")
    for m, (x, d) in enumerate(zip(xs, dims)):
        if not isinstance(x, Tensor) or x.dim() != ndim or x.shape[-1] != d:
            shape = "(batch, steps, features)" if ndim == 3 else "(batch, features)"
            raise ValueError(f"{where}: modality {m} must be a tensor {shape} with {d} features, got "
                             f"{getattr(x, 'shape', type(x).__name__)}")
        if x.shape[0] == 0 or x.shape[0] != xs[0].shape[0]:
            raise ValueError(f"{where}: mismatched batch sizes: modality 0 has {xs[0].shape[0]} rows, modality {m} "
                             f"has {x.shape[0]} (at least one row expected)")
        if x.is_floating_point() and not torch.isfinite(x).all():
            raise ValueError(f"{where}: modality {m} contains NaN or infinite values")


class ConcatMLP(nn.Module):
    r"""Early fusion by an MLP on the concatenated modalities (Part 1, *Interactions in context*).

    .. math:: \mathrm{logits} = W_2\, \mathrm{ReLU}(W_1 [x_1; \dots; x_M] + b_1) + b_2

    Parameters
    ----------
    input_dims : sequence of int
        Features of each modality (each input is ``(batch, d_m)``).
    num_classes : int
    width : int
        Hidden units.

    Examples
    --------
    >>> ConcatMLP([4, 4, 4])(torch.zeros(5, 4), torch.zeros(5, 4), torch.zeros(5, 4)).shape
    torch.Size([5, 2])
    """

    def __init__(self, input_dims: Sequence[int], num_classes: int = 2, *, width: int = 32):
        super().__init__()
        self.input_dims = _dims("ConcatMLP", input_dims)
        check_positive("ConcatMLP", num_classes=num_classes, width=width)
        self.net = nn.Sequential(nn.Linear(sum(self.input_dims), width), nn.ReLU(), nn.Linear(width, num_classes))

    def forward(self, *xs: Tensor) -> Tensor:
        _check_inputs("ConcatMLP", xs, self.input_dims, 2)
        return self.net(torch.cat(xs, dim=1))


class PooledFusion(nn.Module):
    r"""An order-blind model of two sequences: frames encoded, averaged over time, then fused (Part 1).

    .. math::

        \bar h_m = \frac1T \sum_{t=1}^T \mathrm{ReLU}(W_m x^{(m)}_t + b_m), \qquad
        \mathrm{logits} = V_2\, \mathrm{ReLU}(V_1 [\bar h_1; \bar h_2] + c_1) + c_2 .

    Permuting the frames of either sequence leaves the output unchanged, so the model cannot know when each event
    happened, nor which came first; the fusion MLP can still combine what the two sequences hold (e.g. the product
    of two signs), which late fusion of Part 4.1 cannot.

    Parameters
    ----------
    input_dims : sequence of two int
        Features per frame of each modality (inputs are ``(batch, steps, d_m)``).
    num_classes : int
    width : int
        Units of the frame encoders and of the fusion MLP.

    Examples
    --------
    >>> PooledFusion([4, 4])(torch.zeros(3, 20, 4), torch.zeros(3, 20, 4)).shape
    torch.Size([3, 2])
    """

    def __init__(self, input_dims: Sequence[int], num_classes: int = 2, *, width: int = 16):
        super().__init__()
        self.input_dims = _dims("PooledFusion", input_dims, 2)
        check_positive("PooledFusion", num_classes=num_classes, width=width)
        self.frames = nn.ModuleList(nn.Linear(d, width) for d in self.input_dims)
        self.head = nn.Sequential(nn.Linear(2 * width, width), nn.ReLU(), nn.Linear(width, num_classes))

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        _check_inputs("PooledFusion", (x1, x2), self.input_dims, 3)
        pooled = [torch.relu(encode(x)).mean(dim=1) for encode, x in zip(self.frames, (x1, x2))]  # over time
        return self.head(torch.cat(pooled, dim=1))


class PartWholeScorer(nn.Module):
    r"""Whether the part in :math:`x_2` belongs to the whole in :math:`x_1`: a relational or an additive score.

    Each modality is embedded by :math:`e_m(x) = A_m\, \mathrm{ReLU}(B_m x + c_m)`; the score is

    .. math::

        s = e_1(x_1)^\top R\, e_2(x_2) + b \quad (\texttt{relation=True}), \qquad
        s = u_1^\top e_1(x_1) + u_2^\top e_2(x_2) + b \quad (\texttt{relation=False}),

    and the logits are :math:`(-s/2, s/2)`. The bilinear :math:`R` is the relation between the two embedding spaces
    (RESCAL, Nickel et al., 2011); the additive score judges each modality on its own and cannot express a relation.

    Parameters
    ----------
    input_dims : sequence of two int
    relation : bool
        The bilinear relation (``True``) or the additive score (``False``).
    width, dim : int
        Hidden units and embedding size of each encoder.

    Examples
    --------
    >>> PartWholeScorer([8, 8])(torch.zeros(3, 8), torch.zeros(3, 8)).shape
    torch.Size([3, 2])
    """

    def __init__(self, input_dims: Sequence[int], *, relation: bool = True, width: int = 16, dim: int = 8):
        super().__init__()
        self.input_dims = _dims("PartWholeScorer", input_dims, 2)
        check_positive("PartWholeScorer", width=width, dim=dim)
        if not isinstance(relation, bool):
            raise TypeError(f"PartWholeScorer: relation must be a bool, got {type(relation).__name__}")
        self.relation = relation
        self.encoders = nn.ModuleList(nn.Sequential(nn.Linear(d, width), nn.ReLU(), nn.Linear(width, dim))
                                      for d in self.input_dims)
        if relation:
            self.R = nn.Parameter(torch.randn(dim, dim) / dim**0.5)
        else:
            self.u = nn.Parameter(torch.randn(2, dim) / dim**0.5)
        self.bias = nn.Parameter(torch.zeros(()))

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        _check_inputs("PartWholeScorer", (x1, x2), self.input_dims, 2)
        e1, e2 = (encode(x) for encode, x in zip(self.encoders, (x1, x2)))
        if self.relation:
            s = ((e1 @ self.R) * e2).sum(1) + self.bias
        else:
            s = e1 @ self.u[0] + e2 @ self.u[1] + self.bias
        return torch.stack([-s / 2, s / 2], dim=1)
