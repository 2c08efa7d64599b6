r"""A multimodal model whose modalities can be scored one by one: the logits are a sum of unimodal branches.

Part 2.3 asks how much each modality learned inside a multimodal model. With late fusion by a sum of logits,

.. math::

    f(x_1, \dots, x_M) = \sum_{m=1}^M g_m(x_m), \qquad g_m(x_m) = V_m\, \mathrm{enc}_m(x_m) + c_m,

each branch :math:`g_m` is a complete unimodal classifier (the very :class:`~mmcourse.encoders.UnimodalClassifier`
one would train alone), so its own accuracy, :math:`\arg\max g_m(x_m)`, measures what the fused model learned from
modality :math:`m`. This is how OGM-GE (Peng et al., 2022) reads each modality's share, and the unimodal heads of
gradient blending (Wang et al., 2020) are the branches themselves.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from mmcourse.encoders import MLPEncoder, UnimodalClassifier
from mmcourse.training import _check_data, predict
from mmcourse.utils import check_modalities

__all__ = ["LogitSumModel", "branch_accuracy"]


class LogitSumModel(nn.Module):
    r"""Late fusion by a sum of unimodal logits: :math:`f(x) = \sum_m g_m(x_m)`.

    Book section: Part 2.3 Optimization.

    Parameters
    ----------
    input_dims : sequence of int
        The size ``d_m`` of each modality's vector input (M ≥ 2).
    num_classes : int
    width : int
        Feature size of every branch's :class:`~mmcourse.encoders.MLPEncoder`.
    hidden : sequence of int
        Hidden layers of each encoder.

    Examples
    --------
    >>> model = LogitSumModel([4, 32], 2, width=8)
    >>> x1, x2 = torch.randn(5, 4), torch.randn(5, 32)
    >>> g1, g2 = model.branch_logits(x1, x2)
    >>> bool(torch.allclose(model(x1, x2), g1 + g2))
    True
    """

    def __init__(self, input_dims: Sequence[int], num_classes: int = 2, *, width: int = 32,
                 hidden: Sequence[int] = ()):
        super().__init__()
        input_dims = list(input_dims)
        if len(input_dims) < 2:
            raise ValueError(f"LogitSumModel: input_dims must list at least 2 modalities, got {input_dims!r}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"LogitSumModel: num_classes must be an integer ≥ 2, got {num_classes!r}")
        self.branches = nn.ModuleList(UnimodalClassifier(MLPEncoder(d, width, hidden), num_classes)
                                      for d in input_dims)
        self.input_dims, self.num_classes = input_dims, num_classes

    def branch_logits(self, *xs: Tensor) -> list[Tensor]:
        """The unimodal logits ``[g_1(x_1), …, g_M(x_M)]``."""
        if len(xs) != len(self.branches):
            raise ValueError(f"LogitSumModel: expected {len(self.branches)} modalities, got {len(xs)}")
        check_modalities(xs, self.input_dims, "LogitSumModel")
        return [branch(x) for branch, x in zip(self.branches, xs)]

    def forward(self, *xs: Tensor) -> Tensor:
        return torch.stack(self.branch_logits(*xs)).sum(0)


@torch.no_grad()
def branch_accuracy(model: LogitSumModel, data) -> list[float]:
    """The accuracy of each branch of ``model`` on its own: ``mean(argmax g_m(x_m) == y)`` for every ``m``.

    Parameters
    ----------
    model : LogitSumModel
    data : (inputs, labels)
        One tensor per modality and the labels, as :func:`mmcourse.data.as_tensors` returns them.

    Returns
    -------
    list of float, one per modality.

    Examples
    --------
    >>> model = LogitSumModel([1, 1], 2)
    >>> len(branch_accuracy(model, ([torch.zeros(3, 1), torch.ones(3, 1)], torch.tensor([0, 1, 1]))))
    2
    """
    if not isinstance(model, LogitSumModel):
        raise TypeError(f"branch_accuracy: model must be a LogitSumModel, got {type(model).__name__}")
    inputs, labels = _check_data(data, "branch_accuracy")
    if len(inputs) != len(model.branches):
        raise ValueError(f"branch_accuracy: model has {len(model.branches)} branches but data has {len(inputs)} "
                         f"modalities")
    return [(predict(branch, [x]).argmax(1) == labels.cpu()).float().mean().item()
            for branch, x in zip(model.branches, inputs)]
