"""Part 4.1 of the book, Reasoning: structure modeling (hierarchical, temporal, interactive, discovered)."""
from mmcourse.reasoning.structure import modules, film, temporal, discovery, interactive
from mmcourse.reasoning.structure.modules import *  # noqa: F401,F403
from mmcourse.reasoning.structure.film import *  # noqa: F401,F403
from mmcourse.reasoning.structure.temporal import *  # noqa: F401,F403
from mmcourse.reasoning.structure.discovery import *  # noqa: F401,F403
from mmcourse.reasoning.structure.interactive import *  # noqa: F401,F403

__all__ = [*modules.__all__, *film.__all__, *temporal.__all__, *discovery.__all__, *interactive.__all__]
