"""Part 4.3 of the book, Reasoning: inference paradigms (logical, causal)."""
from mmcourse.reasoning.inference import logic, causal
from mmcourse.reasoning.inference.logic import *  # noqa: F401,F403
from mmcourse.reasoning.inference.causal import *  # noqa: F401,F403

__all__ = [*logic.__all__, *causal.__all__]
