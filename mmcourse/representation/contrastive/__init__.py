"""Part 2.4, strong coordination by contrastive learning: CLIP's symmetric InfoNCE loss, a two-tower model and its
training loop (:mod:`.clip`), and cross-modal retrieval metrics (:mod:`.retrieval`)."""
from mmcourse.representation.contrastive.clip import (ContrastiveHistory, ContrastiveModel, clip_loss,
                                                      fit_contrastive, similarity_matrix)
from mmcourse.representation.contrastive.retrieval import DIRECTIONS, recall_at_k, retrieval_table

__all__ = ["clip_loss", "similarity_matrix", "ContrastiveModel", "ContrastiveHistory", "fit_contrastive",
           "recall_at_k", "retrieval_table", "DIRECTIONS"]
