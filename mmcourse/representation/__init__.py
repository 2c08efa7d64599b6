"""Part 2 of the book, Representation: fusion (2.1), heterogeneous fusion (2.2), optimization and robustness
(2.3), coordination (2.4) and fission (2.5).

A reader of Part 2.1 finds each fusion in :mod:`mmcourse.representation.fusion`, all of them behind one interface
in the registry :data:`FUSIONS` (``make_fusion(name, input_dims, output_dim)``). Each later section has its own
subpackage, named after it; everything public is also importable from here.
"""
from mmcourse.representation import (contrastive, coordination, fission, fusion, heterogeneous, optimization,
                                     robustness)
from mmcourse.representation.contrastive import *  # noqa: F401,F403
from mmcourse.representation.coordination import *  # noqa: F401,F403
from mmcourse.representation.fission import *  # noqa: F401,F403
from mmcourse.representation.fusion import *  # noqa: F401,F403  (the fusions and their registry)
from mmcourse.representation.heterogeneous import *  # noqa: F401,F403
from mmcourse.representation.model import FusionModel
from mmcourse.representation.optimization import *  # noqa: F401,F403
from mmcourse.representation.robustness import *  # noqa: F401,F403

__all__ = [*fusion.__all__, "FusionModel", *heterogeneous.__all__, *optimization.__all__, *robustness.__all__,
           *coordination.__all__, *contrastive.__all__, *fission.__all__]
