"""Part 5.4 of the book, Generation: evaluation (coherence, alignment score, diversity, memorisation) and ethics."""
from mmcourse.generation.evaluation import alignment, coherence
from mmcourse.generation.evaluation.alignment import *  # noqa: F401,F403
from mmcourse.generation.evaluation.coherence import *  # noqa: F401,F403

__all__ = [*coherence.__all__, *alignment.__all__]
