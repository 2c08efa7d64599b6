"""Part 7 of the book, Quantification: how much each interaction contributes, and what a model learned.

- :mod:`mmcourse.quantification.decomposition`: :func:`pid`, the partial information decomposition of the label information into
  redundancy, uniqueness and synergy (BROJA), exact on discrete distributions and estimated on continuous data.
- :mod:`mmcourse.quantification.emap`: EMAP, a model's best additive approximation, and gradient attributions.
"""
from mmcourse.quantification import decomposition, emap
from mmcourse.quantification.decomposition import *  # noqa: F401,F403
from mmcourse.quantification.emap import *  # noqa: F401,F403

__all__ = [*decomposition.__all__, *emap.__all__]
