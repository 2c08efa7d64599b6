"""Part 7 of the book, Quantification: how different modalities are, how they interact, and how models learn them.

- :mod:`mmcourse.quantification.decomposition`: :func:`pid`, the partial information decomposition of the label
  information into redundancy, uniqueness and synergy (BROJA), exact on discrete distributions.
- :mod:`mmcourse.quantification.estimation`: the decomposition estimated on continuous data and on a model's
  predictions.
- :mod:`mmcourse.quantification.emap`: EMAP, a model's best additive approximation, and gradient attributions.
- :mod:`mmcourse.quantification.heterogeneity`: how different the modalities are (information, noise sensitivity,
  transfer distance).
- :mod:`mmcourse.quantification.learning`: the learning process (per-modality learning curves, the trade-off
  between performance, robustness and complexity).
"""
from mmcourse.quantification import decomposition, emap, estimation, heterogeneity, learning
from mmcourse.quantification.decomposition import *  # noqa: F401,F403
from mmcourse.quantification.emap import *  # noqa: F401,F403
from mmcourse.quantification.estimation import *  # noqa: F401,F403
from mmcourse.quantification.heterogeneity import *  # noqa: F401,F403
from mmcourse.quantification.learning import *  # noqa: F401,F403

__all__ = [*decomposition.__all__, *estimation.__all__, *emap.__all__, *heterogeneity.__all__, *learning.__all__]
