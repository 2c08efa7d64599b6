"""Fusion with heterogeneous modalities (Part 2.2 of the book).

- :mod:`~mmcourse.representation.heterogeneous.mae`: a tiny multimodal masked autoencoder (tokens of every modality
  in one sequence, random masking, reconstruction of the hidden tokens, fused tokens for a downstream probe).
- :mod:`~mmcourse.representation.heterogeneous.search`: dynamic early fusion as an architecture search over
  representation blocks (which encoder layer each modality contributes) and fusion blocks (:data:`FUSIONS`).
- :mod:`~mmcourse.representation.heterogeneous.sharing`: heterogeneity-aware fusion: measure how different the
  modalities are, group the similar ones and share one encoder per group.
"""
from mmcourse.representation.heterogeneous.mae import (MultimodalMAE, linear_probe, masked_mse, patchify,
                                                       pretrain_mae, random_token_mask)
from mmcourse.representation.heterogeneous.search import (Candidate, ComposedFusionModel, SearchResult, search_fusion,
                                                          successive_halving)
from mmcourse.representation.heterogeneous.sharing import (GroupedEncoderModel, group_modalities,
                                                           transfer_heterogeneity)

__all__ = ["patchify", "random_token_mask", "masked_mse", "MultimodalMAE", "pretrain_mae", "linear_probe",
           "Candidate", "ComposedFusionModel", "SearchResult", "successive_halving", "search_fusion",
           "transfer_heterogeneity", "group_modalities", "GroupedEncoderModel"]
