"""Part 6.4 of the book, Transference: model induction (co-training, self-training, co-regularisation)."""
from mmcourse.transference.induction import coregularisation, cotraining, torch_classifier, views
from mmcourse.transference.induction.coregularisation import *  # noqa: F401,F403
from mmcourse.transference.induction.cotraining import *  # noqa: F401,F403
from mmcourse.transference.induction.torch_classifier import *  # noqa: F401,F403
from mmcourse.transference.induction.views import *  # noqa: F401,F403

__all__ = [*cotraining.__all__, *coregularisation.__all__, *torch_classifier.__all__, *views.__all__]
