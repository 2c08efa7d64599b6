"""Part 4 of the book, Reasoning: combining knowledge through several inferential steps."""
from mmcourse.reasoning import structure, concepts, inference, knowledge
from mmcourse.reasoning.structure import *  # noqa: F401,F403
from mmcourse.reasoning.concepts import *  # noqa: F401,F403
from mmcourse.reasoning.inference import *  # noqa: F401,F403
from mmcourse.reasoning.knowledge import *  # noqa: F401,F403

__all__ = [*structure.__all__, *concepts.__all__, *inference.__all__, *knowledge.__all__]
