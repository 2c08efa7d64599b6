"""Fusion (Part 2.1 of the book): the methods that combine the modalities' features into one representation.

Every fusion is a :class:`Fusion` module ``z = f(h₁, …, h_M)`` built as ``SomeFusion(input_dims, output_dim, **kw)``
and called as ``fusion(h₁, …, h_M)`` with ``h_m`` of shape ``(batch, input_dims[m])``; it returns ``(batch,
output_dim)``. :data:`FUSIONS` lists them by name in the book's order and :func:`make_fusion` builds one by name.

Examples
--------
>>> import torch
>>> from mmcourse.representation.fusion import FUSIONS, make_fusion, parameter_count
>>> list(FUSIONS)[:4]
['early', 'late', 'additive', 'multiplicative']
>>> fusion = make_fusion("tensor", (3, 5), 4)
>>> fusion(torch.randn(2, 3), torch.randn(2, 5)).shape, parameter_count(fusion)
(torch.Size([2, 4]), 100)
"""
from mmcourse.representation.fusion.base import Fusion, parameter_count
from mmcourse.representation.fusion.gated import GatedFusion, MixtureOfFusions, ModalityShiftingFusion
from mmcourse.representation.fusion import pretrained
from mmcourse.representation.fusion.interactions import (LowRankFusion, MIMatrixFusion, MIScalarFusion,
                                                         MIVectorFusion, TensorFusion)
from mmcourse.representation.fusion.pretrained import *  # noqa: F401,F403
from mmcourse.representation.fusion.registry import FUSIONS, fusion_keywords, make_fusion
from mmcourse.representation.fusion.simple import (AdditiveFusion, EarlyFusion, LateFusion, MultiplicativeFusion,
                                                   NonlinearFusion)

__all__ = [
    "Fusion", "EarlyFusion", "LateFusion", "AdditiveFusion", "MultiplicativeFusion", "MIScalarFusion",
    "MIVectorFusion", "MIMatrixFusion", "TensorFusion", "LowRankFusion", "GatedFusion", "ModalityShiftingFusion",
    "MixtureOfFusions", "NonlinearFusion", "FUSIONS", "make_fusion", "fusion_keywords", "parameter_count",
    *pretrained.__all__,
]
