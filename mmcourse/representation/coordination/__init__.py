"""Part 2 of the book, Representation: coordination (2.4).

Coordinated representations keep one encoder per modality and tie their outputs together with a loss instead of
merging them. *Strong* coordination asks for equivalence, paired items mapped to the same point: the contrastive
(CLIP) part of the section, in :mod:`mmcourse.representation.contrastive`. *Partial* coordination asks for less, a
structure that the two spaces share: a correlation, with canonical correlation analysis (:func:`cca`) and its deep
version (:class:`DeepCCA`, trained on :func:`cca_objective`); an order, with order embeddings
(:class:`OrderEmbedding`, :func:`order_penalty`), in which an image lies below the captions that describe it more
and more generally; or relationships between the two modalities' elements, scored as a translation or a bilinear
form (:class:`RelationalCoordination`, :func:`translation_score`, :func:`bilinear_score`).
"""
from mmcourse.representation.coordination import canonical, deep_cca, order, relations
from mmcourse.representation.coordination.canonical import *  # noqa: F401,F403
from mmcourse.representation.coordination.deep_cca import *  # noqa: F401,F403
from mmcourse.representation.coordination.order import *  # noqa: F401,F403
from mmcourse.representation.coordination.relations import *  # noqa: F401,F403

__all__ = [*canonical.__all__, *deep_cca.__all__, *order.__all__, *relations.__all__]
