"""Part 4.4 of the book, Reasoning: external knowledge."""
from mmcourse.reasoning.knowledge import retrieval
from mmcourse.reasoning.knowledge.retrieval import *  # noqa: F401,F403

__all__ = [*retrieval.__all__]
