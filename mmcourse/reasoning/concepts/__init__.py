"""Part 4.2 of the book, Reasoning: intermediate concepts (attention, discrete symbols, language)."""
from mmcourse.reasoning.concepts import programs, attention, symbolic, language
from mmcourse.reasoning.concepts.programs import *  # noqa: F401,F403
from mmcourse.reasoning.concepts.attention import *  # noqa: F401,F403
from mmcourse.reasoning.concepts.symbolic import *  # noqa: F401,F403
from mmcourse.reasoning.concepts.language import *  # noqa: F401,F403

__all__ = [*programs.__all__, *attention.__all__, *symbolic.__all__, *language.__all__]
