"""Part 2.5 of the book, Representation: fission, which splits a multimodal representation into parts.

Modality-level fission: a shared factor and one private factor per modality, deterministically
(:mod:`~mmcourse.representation.fission.factorized`, :class:`FactorizedModel`, in the spirit of MFM), as MFM is
published, a generative model with priors on its factors (:mod:`~mmcourse.representation.fission.mfm`), and as
FactorCL's shared and unique factors, trained with bounds on (conditional) mutual information
(:mod:`~mmcourse.representation.fission.factorcl`). Fine-grained fission: a representation's coordinates split into
independent subspaces (:mod:`~mmcourse.representation.fission.subspaces`, ISA), and examples grouped by deep
multimodal clustering (:mod:`~mmcourse.representation.fission.deep_clustering`, DEC on a joint embedding) with the
soft assignment, target distribution and :func:`cluster_purity` of :mod:`~mmcourse.representation.fission.clustering`.
"""
from mmcourse.representation.fission import clustering, deep_clustering, factorcl, factorized, mfm, subspaces
from mmcourse.representation.fission.clustering import *  # noqa: F401,F403
from mmcourse.representation.fission.deep_clustering import *  # noqa: F401,F403
from mmcourse.representation.fission.factorized import *  # noqa: F401,F403
from mmcourse.representation.fission.mfm import *  # noqa: F401,F403
from mmcourse.representation.fission.factorcl import *  # noqa: F401,F403
from mmcourse.representation.fission.subspaces import *  # noqa: F401,F403

__all__ = [*factorized.__all__, *mfm.__all__, *factorcl.__all__, *clustering.__all__, *deep_clustering.__all__,
           *subspaces.__all__]
