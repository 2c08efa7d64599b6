"""Part 2 of the book, Representation: fusion (2.1), and the multimodal classifier built around it.

A reader of Part 2.1 finds each fusion in :mod:`mmcourse.representation.fusion`, all of them behind one interface
in the registry :data:`FUSIONS` (``make_fusion(name, input_dims, output_dim)``).
"""
from mmcourse.representation.fusion import *  # noqa: F401,F403  (the fusions and their registry)
from mmcourse.representation.fusion import __all__ as _fusion_all
from mmcourse.representation.model import FusionModel

__all__ = [*_fusion_all, "FusionModel"]
