r"""Heterogeneity, measured: how much each modality says about the label, how fast it breaks under noise, and how
far apart two modalities are, judged by how well a model trained on one adapts to the other.

Part 7.1 of the book (Quantification). Three measurements per dataset, gathered by :func:`measure_heterogeneity`
(:mod:`~mmcourse.quantification.heterogeneity.summary`):

- **information** (:func:`modality_information`): a unimodal classifier :math:`q(y \mid x_m)` gives the variational
  lower bound :math:`I(X_m; Y) \ge H(Y) - \mathbb E[-\log_2 q(Y \mid X_m)]` (Barber and Agakov, 2003), with its
  accuracy: the unimodal baseline;
- **noise** (:func:`noise_sensitivity`): accuracy-vs-noise curves of each modality with the noises of
  :data:`~mmcourse.representation.NOISES`, and MultiBench's relative robustness (Liang et al., 2021);
- **transfer** (:func:`transfer_distance`): keep the body of a classifier trained on modality :math:`i`, learn
  only a new input layer on a few labelled examples of modality :math:`j`; modalities of any sizes.

:func:`modality_importance` adds how much a multimodal model relies on each modality (accuracy lost without it),
which, set against the unimodal information, shows a model's biases.
"""
from mmcourse.quantification.heterogeneity import information, noise, summary, transfer
from mmcourse.quantification.heterogeneity.information import *  # noqa: F401,F403
from mmcourse.quantification.heterogeneity.noise import *  # noqa: F401,F403
from mmcourse.quantification.heterogeneity.summary import *  # noqa: F401,F403
from mmcourse.quantification.heterogeneity.transfer import *  # noqa: F401,F403

__all__ = [*information.__all__, *noise.__all__, *transfer.__all__, *summary.__all__]
