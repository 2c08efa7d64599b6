"""Checkers for the book's exercises: each tests a reader's solution on fresh random cases.

A checker returns a :class:`CheckResult`, shown as one line that starts with ``PASS`` or ``FAIL`` (with a hint).
``python -m mmcourse.book grade`` counts those lines in executed notebooks. A student version of a notebook keeps
the check cells and stubs the solutions, so an unanswered exercise reports ``FAIL … not attempted``.
"""
from mmcourse.exercises._check import CheckResult
from mmcourse.exercises.alignment import check_ctc_collapse, check_dtw_cost, check_sinkhorn
from mmcourse.exercises.fusion import (check_fusion_predictions, check_low_rank_factors, check_mi_matrix,
                                       check_tensor_fusion)

__all__ = ["CheckResult", "check_tensor_fusion", "check_low_rank_factors", "check_mi_matrix",
           "check_fusion_predictions", "check_dtw_cost", "check_sinkhorn", "check_ctc_collapse"]
