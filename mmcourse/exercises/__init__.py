"""Checkers for the book's exercises: each tests a reader's solution on fresh random cases.

A checker returns a :class:`CheckResult`, shown as one line that starts with ``PASS`` or ``FAIL`` (with a hint).
``python -m mmcourse.book grade`` counts those lines in executed notebooks. A student version of a notebook keeps
the check cells and stubs the solutions, so an unanswered exercise reports ``FAIL … not attempted``.
"""
from mmcourse.exercises import (alignment, colearning, concepts, context, contextual, contrastive, coordination,
                                creation, emap, evaluation, factorcl, fission, foundations, fusion, heterogeneity,
                                heterogeneous, induction, inference, interactive, knowledge, learned_matching,
                                learning, matching, mfm, multitask, optimization, pid, pid_data, pretrained,
                                relations, robustness, segmentation, structure, subspaces, summarization, temporal,
                                text_encoders, translation, tuning, warping_spaces)
from mmcourse.exercises._check import CheckResult
from mmcourse.exercises.alignment import *  # noqa: F401,F403
from mmcourse.exercises.contextual import *  # noqa: F401,F403
from mmcourse.exercises.contrastive import *  # noqa: F401,F403
from mmcourse.exercises.coordination import *  # noqa: F401,F403
from mmcourse.exercises.emap import *  # noqa: F401,F403
from mmcourse.exercises.fission import *  # noqa: F401,F403
from mmcourse.exercises.fusion import *  # noqa: F401,F403
from mmcourse.exercises.heterogeneity import *  # noqa: F401,F403
from mmcourse.exercises.heterogeneous import *  # noqa: F401,F403
from mmcourse.exercises.learning import *  # noqa: F401,F403
from mmcourse.exercises.matching import *  # noqa: F401,F403
from mmcourse.exercises.optimization import *  # noqa: F401,F403
from mmcourse.exercises.pid import *  # noqa: F401,F403
from mmcourse.exercises.pid_data import *  # noqa: F401,F403
from mmcourse.exercises.robustness import *  # noqa: F401,F403
from mmcourse.exercises.segmentation import *  # noqa: F401,F403
from mmcourse.exercises.warping_spaces import *  # noqa: F401,F403
from mmcourse.exercises.structure import *  # noqa: F401,F403
from mmcourse.exercises.temporal import *  # noqa: F401,F403
from mmcourse.exercises.interactive import *  # noqa: F401,F403
from mmcourse.exercises.concepts import *  # noqa: F401,F403
from mmcourse.exercises.inference import *  # noqa: F401,F403
from mmcourse.exercises.knowledge import *  # noqa: F401,F403
from mmcourse.exercises.summarization import *  # noqa: F401,F403
from mmcourse.exercises.translation import *  # noqa: F401,F403
from mmcourse.exercises.creation import *  # noqa: F401,F403
from mmcourse.exercises.evaluation import *  # noqa: F401,F403
from mmcourse.exercises.tuning import *  # noqa: F401,F403
from mmcourse.exercises.multitask import *  # noqa: F401,F403
from mmcourse.exercises.colearning import *  # noqa: F401,F403
from mmcourse.exercises.induction import *  # noqa: F401,F403
from mmcourse.exercises.foundations import *  # noqa: F401,F403
from mmcourse.exercises.context import *  # noqa: F401,F403
from mmcourse.exercises.relations import *  # noqa: F401,F403
from mmcourse.exercises.learned_matching import *  # noqa: F401,F403
from mmcourse.exercises.mfm import *  # noqa: F401,F403
from mmcourse.exercises.factorcl import *  # noqa: F401,F403
from mmcourse.exercises.subspaces import *  # noqa: F401,F403
from mmcourse.exercises.pretrained import *  # noqa: F401,F403
from mmcourse.exercises.text_encoders import *  # noqa: F401,F403

__all__ = ["CheckResult", *fusion.__all__, *alignment.__all__, *heterogeneous.__all__, *optimization.__all__,
           *robustness.__all__, *coordination.__all__, *contrastive.__all__, *fission.__all__, *matching.__all__,
           *warping_spaces.__all__, *segmentation.__all__, *contextual.__all__, *pid.__all__, *pid_data.__all__,
           *emap.__all__, *heterogeneity.__all__, *learning.__all__, *structure.__all__, *temporal.__all__,
           *interactive.__all__, *concepts.__all__, *inference.__all__, *knowledge.__all__,
           *summarization.__all__, *translation.__all__, *creation.__all__, *evaluation.__all__,
           *tuning.__all__, *multitask.__all__, *colearning.__all__, *induction.__all__,
           *foundations.__all__, *context.__all__, *relations.__all__, *learned_matching.__all__,
           *mfm.__all__, *factorcl.__all__, *subspaces.__all__, *pretrained.__all__, *text_encoders.__all__]
