"""Part 2.3 of the book, Optimization: when one modality dominates training, and the remedies."""
from mmcourse.representation.optimization.dropout import ModalityDropout, drop_modalities

__all__ = ["ModalityDropout", "drop_modalities"]
