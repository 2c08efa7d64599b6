"""Part 5.2 of the book, Generation: translation between modalities (exemplar-based, generative, cyclic)."""
from mmcourse.generation.translation import captions, decoders, exemplar, fitting, measures
from mmcourse.generation.translation.captions import *  # noqa: F401,F403
from mmcourse.generation.translation.decoders import *  # noqa: F401,F403
from mmcourse.generation.translation.exemplar import *  # noqa: F401,F403
from mmcourse.generation.translation.fitting import *  # noqa: F401,F403
from mmcourse.generation.translation.measures import *  # noqa: F401,F403

__all__ = [*captions.__all__, *decoders.__all__, *exemplar.__all__, *fitting.__all__, *measures.__all__]
