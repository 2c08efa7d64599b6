"""Part 6.3 of the book, Transference: multimodal co-learning, via representation (a secondary modality shapes the
primary's encoder in training), zero-shot through a shared space, and via generation (MCTN's cyclic translation)."""
from mmcourse.transference.colearning import mctn, representation, zeroshot
from mmcourse.transference.colearning.mctn import *  # noqa: F401,F403
from mmcourse.transference.colearning.representation import *  # noqa: F401,F403
from mmcourse.transference.colearning.zeroshot import *  # noqa: F401,F403

__all__ = [*representation.__all__, *zeroshot.__all__, *mctn.__all__]
