"""The learning process (Part 7.3): how each modality is learned, when a model starts to overfit, and what a fusion
costs.

- :mod:`mmcourse.quantification.learning.curves`: per-modality learning curves, the best epoch and the
  generalisation gap.
- :mod:`mmcourse.quantification.learning.tradeoffs`: parameters, memory and time of a model, and the trade-off
  between performance, robustness and complexity across fusions, with its Pareto front.
"""
from mmcourse.quantification.learning import curves, tradeoffs
from mmcourse.quantification.learning.curves import *  # noqa: F401,F403
from mmcourse.quantification.learning.tradeoffs import *  # noqa: F401,F403

__all__ = [*curves.__all__, *tradeoffs.__all__]
