r"""Part 4.1 of the book, hierarchical structure: neural module networks composed along a question's program.

The pieces live in three files: :mod:`~mmcourse.reasoning.structure.modules_blocks` (the modules, one equation
each), :mod:`~mmcourse.reasoning.structure.modules_network` (the network that wires them along a program) and
:mod:`~mmcourse.reasoning.structure.modules_training` (one training loop and evaluation for the module network and
the flat FiLM model of :mod:`~mmcourse.reasoning.structure.film`).
"""
from mmcourse.reasoning.structure import modules_blocks, modules_network, modules_training
from mmcourse.reasoning.structure.modules_blocks import *  # noqa: F401,F403
from mmcourse.reasoning.structure.modules_network import *  # noqa: F401,F403
from mmcourse.reasoning.structure.modules_training import *  # noqa: F401,F403

__all__ = [*modules_blocks.__all__, *modules_network.__all__, *modules_training.__all__]
