"""Part 5 of the book, Generation: producing raw modalities that reflect cross-modal interactions and coherence."""
from mmcourse.generation import summarization, translation, creation, evaluation
from mmcourse.generation.summarization import *  # noqa: F401,F403
from mmcourse.generation.translation import *  # noqa: F401,F403
from mmcourse.generation.creation import *  # noqa: F401,F403
from mmcourse.generation.evaluation import *  # noqa: F401,F403

__all__ = [*summarization.__all__, *translation.__all__, *creation.__all__, *evaluation.__all__]
