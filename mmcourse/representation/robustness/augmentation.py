r"""Robust training: corrupt the inputs while training so that the model learns to live with noise.

Two corruptions, both active only in training mode: :class:`NoiseAugmentation` adds the noises of
:mod:`~mmcourse.representation.robustness.noise` at random levels, and
:class:`~mmcourse.representation.ModalityDropout` drops whole modalities. :class:`AugmentedModel` puts any of them in
front of a model, so that the book's :func:`mmcourse.training.fit` trains it unchanged (``fit`` calls
``model.train()``; ``evaluate`` and ``predict`` call ``model.eval()``, which switches the corruption off).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from mmcourse._checks import check_int, check_same_rows
from mmcourse.representation.optimization.dropout import _check_xs
from mmcourse.representation.robustness.noise import NOISES, add_noise

__all__ = ["NoiseAugmentation", "AugmentedModel"]


def _check_batch(xs: tuple, where: str) -> None:
    """Every modality of the batch is a finite tensor with a batch axis, and all have the same number of rows."""
    _check_xs(xs, where)
    check_same_rows(where, **{f"xs[{m}]": x for m, x in enumerate(xs)})


class NoiseAugmentation(nn.Module):
    r"""Noise augmentation: in each training batch, draw for modality :math:`m` a noise :math:`k` uniformly from
    ``kinds[m]`` and a level :math:`\ell \sim U(0, \ell_{\max})`, and corrupt each example's :math:`x_m` with it
    with probability ``p``:

    .. math::

        \tilde x_m^{(i)} = \begin{cases} \mathrm{noise}_k(x_m, \ell)^{(i)} & \text{with probability } p, \\
        x_m^{(i)} & \text{otherwise.} \end{cases}

    In eval mode the inputs pass through unchanged. The draws come from the module's own generator (``seed``), so
    that a training run is reproducible.

    Parameters
    ----------
    kinds : sequence of sequence of str
        For each modality, the noise kinds (keys of :data:`~mmcourse.representation.NOISES`) to draw from; an empty
        sequence leaves that modality clean.
    p : float
        Probability in [0, 1] of corrupting a modality in a batch.
    max_level : float
        The largest noise level drawn, in (0, 1].
    seed : int

    Examples
    --------
    >>> augment = NoiseAugmentation([["dropout"], []], p=1.0)
    >>> x1, x2 = augment(torch.ones(100, 3), torch.ones(100, 3))
    >>> bool((x1 == 0).any()), bool((x2 == 1).all())
    (True, True)
    >>> augment.eval()(torch.ones(4, 3), torch.ones(4, 3))[0].eq(1).all().item()
    True
    """

    def __init__(self, kinds: Sequence[Sequence[str]], *, p: float = 0.5, max_level: float = 1.0, seed: int = 0):
        super().__init__()
        if isinstance(kinds, str) or not kinds:
            raise ValueError(f"NoiseAugmentation: kinds must give a list of noise kinds per modality, got {kinds!r}")
        self.kinds = [list(k) for k in kinds]
        unknown = sorted({k for ks in self.kinds for k in ks} - set(NOISES))
        if unknown:
            raise ValueError(f"NoiseAugmentation: unknown noise kinds {unknown}; known kinds: {', '.join(NOISES)}")
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ValueError(f"NoiseAugmentation: p must be a probability in [0, 1], got {p!r}")
        if isinstance(max_level, bool) or not isinstance(max_level, (int, float)) or not 0 < max_level <= 1:
            raise ValueError(f"NoiseAugmentation: max_level must be in (0, 1], got {max_level!r}")
        self.p, self.max_level = float(p), float(max_level)
        self.generator = torch.Generator().manual_seed(check_int("NoiseAugmentation", "seed", seed))

    def extra_repr(self) -> str:
        return f"kinds={self.kinds}, p={self.p}, max_level={self.max_level}"

    def forward(self, *xs: Tensor) -> tuple[Tensor, ...]:
        _check_batch(xs, "NoiseAugmentation")
        if not self.training:
            return xs
        if len(xs) != len(self.kinds):
            raise ValueError(f"NoiseAugmentation: got {len(xs)} modalities but kinds for {len(self.kinds)}")
        out = []
        for x, kinds in zip(xs, self.kinds):
            if kinds and self.p > 0:
                # One kind and level per batch, but each example is corrupted or not on its own: every batch mixes
                # clean and noisy examples, which keeps the gradient steadier than corrupting whole batches.
                u = torch.rand(2, generator=self.generator).tolist()
                kind = kinds[min(int(u[0] * len(kinds)), len(kinds) - 1)]
                noisy = add_noise(x, kind, u[1] * self.max_level, self.generator)
                hit = (torch.rand(x.shape[0], generator=self.generator) < self.p).to(x.device)
                x = torch.where(hit.reshape(-1, *([1] * (x.dim() - 1))), noisy, x)
            out.append(x)
        return tuple(out)


class AugmentedModel(nn.Module):
    """``model(*augment_k(… augment_1(*xs)))`` in training mode, ``model(*xs)`` in eval mode.

    Parameters
    ----------
    model : nn.Module
        Called as ``model(*xs)``, e.g. a :class:`~mmcourse.representation.FusionModel`.
    *augmentations : nn.Module
        Each maps ``*xs`` to a tuple of corrupted inputs in training mode and passes them through in eval mode
        (:class:`NoiseAugmentation`, :class:`~mmcourse.representation.ModalityDropout`); applied in order.

    Examples
    --------
    >>> from mmcourse.representation import ModalityDropout
    >>> class Sum(nn.Module):
    ...     def forward(self, x1, x2): return x1 + x2
    >>> model = AugmentedModel(Sum(), ModalityDropout(0.5))
    >>> model.eval()(torch.ones(2, 1), torch.ones(2, 1)).tolist()
    [[2.0], [2.0]]
    """

    def __init__(self, model: nn.Module, *augmentations: nn.Module):
        super().__init__()
        if not isinstance(model, nn.Module):
            raise ValueError(f"AugmentedModel: model must be a torch.nn.Module, got {type(model).__name__}")
        for i, a in enumerate(augmentations):
            if not isinstance(a, nn.Module):
                raise ValueError(f"AugmentedModel: augmentation {i} must be a torch.nn.Module, got {type(a).__name__}")
        self.model = model
        self.augmentations = nn.ModuleList(augmentations)

    def forward(self, *xs: Tensor) -> Tensor:
        _check_batch(xs, "AugmentedModel")
        if self.training:
            for augment in self.augmentations:
                xs = tuple(augment(*xs))
        return self.model(*xs)
