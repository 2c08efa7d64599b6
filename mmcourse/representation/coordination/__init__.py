"""Part 2 of the book, Representation: coordination (2.4).

Coordinated representations keep one encoder per modality and tie their outputs together with a loss instead of
merging them. *Strong* coordination makes the two spaces agree: canonical correlation analysis (:func:`cca`) and its
deep version (:class:`DeepCCA`, trained on :func:`cca_objective`). *Partial* coordination asks for less, for
example an order between them: order embeddings (:class:`OrderEmbedding`, :func:`order_penalty`), in which an image
lies below the captions that describe it more and more generally. The contrastive (CLIP) part of the section lives
in :mod:`mmcourse.representation.contrastive`.
"""
from mmcourse.representation.coordination import canonical, deep_cca, order, relations
from mmcourse.representation.coordination.canonical import *  # noqa: F401,F403
from mmcourse.representation.coordination.deep_cca import *  # noqa: F401,F403
from mmcourse.representation.coordination.order import *  # noqa: F401,F403
from mmcourse.representation.coordination.relations import *  # noqa: F401,F403

__all__ = [*canonical.__all__, *deep_cca.__all__, *order.__all__, *relations.__all__]
