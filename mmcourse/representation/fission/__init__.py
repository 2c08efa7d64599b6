"""Part 2.5 of the book, Representation: fission, which splits a multimodal representation into parts.

Modality-level fission (:mod:`~mmcourse.representation.fission.factorized`): a shared factor and one private factor
per modality (:class:`FactorizedModel`, in the spirit of MFM). Fine-grained fission: deep multimodal clustering
(:mod:`~mmcourse.representation.fission.deep_clustering`, DEC on a joint embedding) with the soft assignment, target
distribution and :func:`cluster_purity` of :mod:`~mmcourse.representation.fission.clustering`.
"""
from mmcourse.representation.fission import clustering, deep_clustering, factorized
from mmcourse.representation.fission.clustering import *  # noqa: F401,F403
from mmcourse.representation.fission.deep_clustering import *  # noqa: F401,F403
from mmcourse.representation.fission.factorized import *  # noqa: F401,F403

__all__ = [*factorized.__all__, *clustering.__all__, *deep_clustering.__all__]
