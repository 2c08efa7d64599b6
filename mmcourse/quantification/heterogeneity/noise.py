"""How fast each modality breaks under noise, and how much a multimodal model relies on each modality (Part 7.1)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from torch import Tensor, nn

from mmcourse.quantification.heterogeneity._common import Data, _data
from mmcourse.representation.robustness import (DEFAULT_LEVELS, NOISES, accuracy_missing, accuracy_under_noise,
                                                relative_robustness)
from mmcourse.training import predict

__all__ = ["NoiseSensitivity", "noise_sensitivity", "modality_importance"]


def _check_labels(model: nn.Module, xs: Sequence[Tensor], y: Tensor, where: str) -> None:
    """The labels of ``test`` must be classes that ``model(*xs)`` can predict: indices in ``0..C-1``."""
    if len(y) == 0:
        raise ValueError(f"{where}: test has no rows; expected at least one labelled example")
    logits = predict(model, list(xs))
    if logits.dim() != 2:
        raise ValueError(f"{where}: the model must return logits of shape (batch, classes), got "
                         f"{tuple(logits.shape)}")
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= logits.shape[1]:
        raise ValueError(f"{where}: the labels of test must be class indices in 0..{logits.shape[1] - 1} (the model "
                         f"returns {logits.shape[1]} classes), got values from {lo} to {hi}")


@dataclass(frozen=True)
class NoiseSensitivity:
    """Accuracy-vs-noise curves, one per corrupted modality.

    Attributes
    ----------
    levels : ndarray ``(L,)``
    kinds : tuple of str
        The noise of each modality.
    curves : ndarray ``(M, L)``
        ``curves[m, k]``: accuracy with modality ``m`` corrupted at ``levels[k]``.
    """

    levels: np.ndarray
    kinds: tuple[str, ...]
    curves: np.ndarray

    @property
    def robustness(self) -> np.ndarray:
        """MultiBench's relative robustness of each curve (the area under it)."""
        return np.array([relative_robustness(c, self.levels) for c in self.curves])

    @property
    def drop(self) -> np.ndarray:
        """Accuracy lost from the clean level to the noisiest one."""
        return self.curves[:, 0] - self.curves[:, -1]


def noise_sensitivity(models: nn.Module | Sequence[nn.Module], test: Data, *, kinds: str | Sequence[str] = "gaussian",
                      levels: Sequence[float] = DEFAULT_LEVELS, seed: int = 0) -> NoiseSensitivity:
    r"""How fast each modality's accuracy falls as that modality is corrupted at test time.

    With ``M`` unimodal models, curve :math:`m` is the accuracy of ``models[m]`` on :math:`\mathrm{noise}(x_m,
    \ell)`: a property of the modality (with its baseline). With one multimodal model ``model(*xs)``, curve
    :math:`m` corrupts :math:`x_m` and keeps the others clean: how much the model leans on a fragile modality.
    Both use :func:`~mmcourse.representation.accuracy_under_noise`.

    Parameters
    ----------
    models : nn.Module or sequence of nn.Module
    test : (list of Tensor, Tensor)
    kinds : str or sequence of str
        A key of :data:`~mmcourse.representation.NOISES` for all modalities, or one per modality.
    levels : sequence of float
        Increasing noise levels in [0, 1], the first one usually 0.
    seed : int

    Returns
    -------
    NoiseSensitivity

    Examples
    --------
    >>> import torch
    >>> x = torch.eye(2).repeat(50, 1)
    >>> curves = noise_sensitivity([nn.Identity()], ([x], x.argmax(1)), kinds="dropout", levels=[0.0, 1.0])
    >>> curves.curves.tolist(), curves.robustness.tolist()
    ([[1.0, 0.5]], [0.75])
    """
    where = "noise_sensitivity"
    unimodal = not isinstance(models, nn.Module) or isinstance(models, nn.ModuleList)
    xs, y = _data(test, "test", where, len(models) if unimodal else None)
    kinds = (kinds,) * len(xs) if isinstance(kinds, str) else tuple(kinds)
    if len(kinds) != len(xs) or any(k not in NOISES for k in kinds):
        raise ValueError(f"{where}: kinds must be one noise or one per modality ({len(xs)}) from {list(NOISES)}, "
                         f"got {kinds!r}")
    grid = np.asarray(levels, dtype=float)
    if grid.ndim != 1 or grid.size < 2 or (np.diff(grid) <= 0).any() or grid.min() < 0 or grid.max() > 1:
        raise ValueError(f"{where}: levels must be at least 2 increasing numbers in [0, 1], got {list(levels)}")
    for m, x in enumerate(xs):
        if unimodal:
            _check_labels(models[m], [x], y, where)
    if not unimodal:
        _check_labels(models, xs, y, where)
    curves = [accuracy_under_noise(models[m], ([x], y), 0, kind, grid.tolist(), seed=seed) if unimodal
              else accuracy_under_noise(models, (xs, y), m, kind, grid.tolist(), seed=seed)
              for m, (x, kind) in enumerate(zip(xs, kinds))]
    return NoiseSensitivity(grid, kinds, np.array(curves))


def modality_importance(model: nn.Module, test: Data) -> np.ndarray:
    r"""The accuracy a multimodal model loses when modality :math:`m` is missing (zeros), for each :math:`m`:
    :math:`\mathrm{acc}(x_1, \dots, x_M) - \mathrm{acc}(x_1, \dots, 0_m, \dots, x_M)`.

    Set against :func:`modality_information`, it shows a model's biases: a model that leans on a modality beyond
    what that modality says about the label, or ignores an informative one. A negative importance means that the
    model does better without the modality: it relies on it, and the reliance misleads it on ``test``.

    Examples
    --------
    >>> import torch
    >>> class First(nn.Module):
    ...     def forward(self, x1, x2): return x1
    >>> x = torch.eye(2).repeat(5, 1)
    >>> modality_importance(First(), ([x, x], x.argmax(1))).tolist()
    [0.5, 0.0]
    """
    xs, y = _data(test, "test", "modality_importance")
    _check_labels(model, xs, y, "modality_importance")
    clean = accuracy_missing(model, (xs, y), [])
    return np.array([clean - accuracy_missing(model, (xs, y), m) for m in range(len(xs))])
