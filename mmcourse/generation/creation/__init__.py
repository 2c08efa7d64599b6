"""Part 5.3 of the book, Generation: creation, joint generative models of two modalities (MVAE, MMVAE)."""
from mmcourse.generation.creation import experts, models, objectives, training
from mmcourse.generation.creation.experts import *  # noqa: F401,F403
from mmcourse.generation.creation.models import *  # noqa: F401,F403
from mmcourse.generation.creation.objectives import *  # noqa: F401,F403
from mmcourse.generation.creation.training import *  # noqa: F401,F403

__all__ = [*experts.__all__, *models.__all__, *objectives.__all__, *training.__all__]
