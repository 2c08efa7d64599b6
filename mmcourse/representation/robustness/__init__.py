"""Part 2.3 of the book, Robustness: noise within a modality, missing modalities, and how to train for both.

- :mod:`~mmcourse.representation.robustness.noise`: the noises of each kind of modality (:data:`NOISES`,
  :func:`add_noise`), each with a level from 0 (clean) to 1;
- :mod:`~mmcourse.representation.robustness.metrics`: accuracy-vs-noise curves and MultiBench's relative and
  effective robustness;
- :mod:`~mmcourse.representation.robustness.augmentation`: robust training by noise augmentation (and, with
  :class:`~mmcourse.representation.ModalityDropout`, by dropping modalities);
- :mod:`~mmcourse.representation.robustness.imputation`: inferring a missing modality from the others.
"""
from mmcourse.representation.robustness.augmentation import AugmentedModel, NoiseAugmentation
from mmcourse.representation.robustness.imputation import ModalityImputer, fit_imputer, impute
from mmcourse.representation.robustness.metrics import (DEFAULT_LEVELS, accuracy_missing, accuracy_under_noise,
                                                        effective_robustness, minmax_normalize, relative_robustness)
from mmcourse.representation.robustness.noise import (MODALITY_NOISES, NOISES, add_noise, feature_dropout,
                                                      frequency_mask, gaussian_noise, occlusion, salt_and_pepper,
                                                      time_mask)

__all__ = [
    "NOISES", "MODALITY_NOISES", "add_noise", "gaussian_noise", "feature_dropout", "salt_and_pepper", "occlusion",
    "time_mask", "frequency_mask",
    "DEFAULT_LEVELS", "relative_robustness", "effective_robustness", "minmax_normalize", "accuracy_under_noise",
    "accuracy_missing",
    "NoiseAugmentation", "AugmentedModel",
    "ModalityImputer", "fit_imputer", "impute",
]
