r"""PID on data: estimate the decomposition of continuous modalities from samples.

Part 7 of the book (Quantification, "PID on data"). The exact :func:`~mmcourse.quantification.pid` needs a
discrete joint distribution. On continuous data each modality is discretised first, :math:`c_m = f_m(x_m)`, the
table of relative frequencies of :math:`(c_1, c_2, y)` is counted (the plug-in estimate), and the discrete problem
is solved. This is the clustering estimator of Liang et al. (2023, *Quantifying & modeling multimodal
interactions: an information decomposition framework*). Two discretisations:

- ``"kmeans"`` (unsupervised): standardise, PCA, k-means. It sees only the geometry of :math:`x_m`, not the label.
- ``"learned"`` (label-aware): k-means on features :math:`h_m` of small encoders trained with a joint head and one
  unimodal head per modality (:class:`LabelAwareEncoders`), so that each :math:`h_m` keeps what its modality says
  about :math:`y` alone (redundancy and uniqueness need it) and what it contributes to the pair (synergy needs it).

Fit the discretisation on one split and count the table on another (:func:`fit_discretiser`, then
``pid_from_samples(..., discretiser=d)``): clusters chosen with the labels of the very samples they count are
optimistic.
"""
from mmcourse.quantification.estimation import discretise, plugin
from mmcourse.quantification.estimation.discretise import *  # noqa: F401,F403
from mmcourse.quantification.estimation.plugin import *  # noqa: F401,F403

__all__ = [*discretise.__all__, *plugin.__all__]
