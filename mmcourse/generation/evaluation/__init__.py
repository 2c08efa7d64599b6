"""Part 5.4 of the book, Generation: evaluation (coherence, alignment score, diversity, memorisation) and ethics."""
from mmcourse.generation.evaluation import alignment, coherence, diversity, foils, skew
from mmcourse.generation.evaluation.alignment import *  # noqa: F401,F403
from mmcourse.generation.evaluation.coherence import *  # noqa: F401,F403
from mmcourse.generation.evaluation.diversity import *  # noqa: F401,F403
from mmcourse.generation.evaluation.foils import *  # noqa: F401,F403
from mmcourse.generation.evaluation.skew import *  # noqa: F401,F403

__all__ = [*coherence.__all__, *alignment.__all__, *foils.__all__, *diversity.__all__, *skew.__all__]
