"""Part 6.1 of the book, Transference: cross-modal transfer (tuning a frozen model, multitask and transfer
learning)."""
from mmcourse.transference.transfer import finetuning, multitask, parameters, prefix, shift
from mmcourse.transference.transfer.finetuning import *  # noqa: F401,F403
from mmcourse.transference.transfer.multitask import *  # noqa: F401,F403
from mmcourse.transference.transfer.parameters import *  # noqa: F401,F403
from mmcourse.transference.transfer.prefix import *  # noqa: F401,F403
from mmcourse.transference.transfer.shift import *  # noqa: F401,F403

__all__ = [*parameters.__all__, *prefix.__all__, *shift.__all__, *multitask.__all__, *finetuning.__all__]
