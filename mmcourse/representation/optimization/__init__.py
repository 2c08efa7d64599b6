"""Part 2.3 of the book, Optimization: when one modality dominates training, and the remedies.

A late-fusion model whose logits are a sum of unimodal branches (:class:`LogitSumModel`) lets us score what each
modality learned (:func:`branch_accuracy`). Three remedies for a dominating modality: gradient blending
(:func:`gradient_blend_weights`), OGM-GE (:func:`ogm_coefficients`, :func:`modulate_gradients`) and modality dropout
(:class:`ModalityDropout`), all switched on by arguments of one training loop, :func:`fit_balanced`.
"""
from mmcourse.representation.optimization.blending import generalization_overfitting, gradient_blend_weights
from mmcourse.representation.optimization.branches import LogitSumModel, branch_accuracy
from mmcourse.representation.optimization.dropout import ModalityDropout, drop_modalities
from mmcourse.representation.optimization.ogm import (branch_scores, discrepancy_ratios, modulate_gradients,
                                                      ogm_coefficients)
from mmcourse.representation.optimization.train import BranchHistory, fit_balanced, head_losses

__all__ = ["ModalityDropout", "drop_modalities", "LogitSumModel", "branch_accuracy", "generalization_overfitting",
           "gradient_blend_weights", "branch_scores", "discrepancy_ratios", "ogm_coefficients", "modulate_gradients",
           "BranchHistory", "fit_balanced", "head_losses"]
