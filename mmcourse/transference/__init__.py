"""Part 6 of the book, Transference: transferring knowledge between modalities, usually to help a target modality
that is noisy or has limited resources (cross-modal transfer, multimodal co-learning, model induction)."""
from mmcourse.transference import colearning, induction, transfer
from mmcourse.transference.colearning import *  # noqa: F401,F403
from mmcourse.transference.induction import *  # noqa: F401,F403
from mmcourse.transference.transfer import *  # noqa: F401,F403

__all__ = [*transfer.__all__, *colearning.__all__, *induction.__all__]
