"""Part 3.2 of the book, continuous alignment by segmentation: CTC as a training loss, and boundary discovery.

- :mod:`mmcourse.alignment.segmentation_ctc`: :func:`batched_ctc_loss`, :class:`CTCFrameModel`, :func:`train_ctc`.
- :mod:`mmcourse.alignment.segmentation_decoding`: :func:`ctc_greedy_decode`, :func:`ctc_prefix_beam_search`,
  :func:`ctc_best_path`.
- :mod:`mmcourse.alignment.segmentation_boundaries`: :func:`edit_distance`, :func:`symbol_error_rate`,
  :func:`segment_boundaries`, :func:`boundary_f1`, :func:`segment_cost`, :func:`segment_changepoints`,
  :func:`novelty_curve`.
"""
from mmcourse.alignment import segmentation_boundaries, segmentation_ctc, segmentation_decoding
from mmcourse.alignment.segmentation_boundaries import *  # noqa: F401,F403
from mmcourse.alignment.segmentation_ctc import *  # noqa: F401,F403
from mmcourse.alignment.segmentation_decoding import *  # noqa: F401,F403

__all__ = [*segmentation_ctc.__all__, *segmentation_decoding.__all__, *segmentation_boundaries.__all__]
