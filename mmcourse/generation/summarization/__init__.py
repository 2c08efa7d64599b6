"""Part 5.1 of the book, Generation: summarization (extractive and abstractive, coverage)."""
from mmcourse.generation.summarization import units, extractive, abstractive
from mmcourse.generation.summarization.units import *  # noqa: F401,F403
from mmcourse.generation.summarization.extractive import *  # noqa: F401,F403
from mmcourse.generation.summarization.abstractive import *  # noqa: F401,F403

__all__ = [*units.__all__, *extractive.__all__, *abstractive.__all__]
