r"""Gradient blending (Wang, Tran and Feiszli, CVPR 2020): weight each head's loss by how well it generalizes.

A multimodal network with a fused head and one unimodal head per modality is trained on the blended loss
:math:`\mathcal L = \sum_k w_k \mathcal L_k`. The weights come from a short run: between two checkpoints
:math:`n` and :math:`n + \Delta`, head :math:`k` gains on the validation set

.. math::

    G_k = \mathcal L^V_k(n) - \mathcal L^V_k(n + \Delta) \qquad \text{(generalization)}

and widens its gap between validation and training loss by

.. math::

    O_k = \big(\mathcal L^V_k(n + \Delta) - \mathcal L^T_k(n + \Delta)\big) - \big(\mathcal L^V_k(n) -
    \mathcal L^T_k(n)\big) \qquad \text{(overfitting)}.

The paper's optimal blend is :math:`w_k \propto G_k / O_k^2` (normalized here to sum to 1): a head that learns
something that carries over to new data gets a large weight, a head that mostly memorizes gets a small one.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["generalization_overfitting", "gradient_blend_weights"]


def _curves(losses, name: str) -> np.ndarray:
    if isinstance(losses, Mapping):
        losses = list(losses.values())
    array = np.asarray(losses, dtype=float)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.shape[1] < 2:
        raise ValueError(f"gradient blending: {name} must be (heads, epochs) loss curves with ≥ 2 epochs, got "
                         f"shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"gradient blending: {name} contains NaN or infinite losses")
    return array


def generalization_overfitting(train_losses, val_losses, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`(G_k, O_k)` of every head between epochs ``start`` and ``end`` (indices into the curves).

    Parameters
    ----------
    train_losses, val_losses : array-like (heads, epochs), or a dict of name → curve
        Each head's training and validation loss after every epoch.
    start, end : int
        The checkpoints :math:`n` and :math:`n + \Delta`, ``0 <= start < end < epochs``.

    Examples
    --------
    >>> G, O = generalization_overfitting([[1.0, 0.5]], [[1.0, 0.8]], 0, 1)
    >>> G.round(6).tolist(), O.round(6).tolist()
    ([0.2], [0.3])
    """
    train, val = _curves(train_losses, "train_losses"), _curves(val_losses, "val_losses")
    if train.shape != val.shape:
        raise ValueError(f"gradient blending: train_losses has shape {train.shape} but val_losses {val.shape}")
    epochs = train.shape[1]
    for name, value in (("start", start), ("end", end)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"gradient blending: {name} must be an integer epoch index, got {value!r}")
    if not 0 <= start < end < epochs:
        raise ValueError(f"gradient blending: need 0 <= start < end < {epochs} (epochs), got start={start}, "
                         f"end={end}")
    G = val[:, start] - val[:, end]
    O = (val[:, end] - train[:, end]) - (val[:, start] - train[:, start])
    return G, O


def gradient_blend_weights(train_losses, val_losses, start: int, end: int, *, eps: float = 1e-3) -> np.ndarray:
    r"""Gradient-blending weights :math:`w_k = \frac{G_k / O_k^2}{\sum_j G_j / O_j^2}`.

    A head that did not generalize (:math:`G_k \le 0`) gets weight 0; :math:`O_k` is floored at ``eps`` (a head
    that does not overfit at all would otherwise get an infinite weight). If no head generalized, the weights are
    uniform.

    Parameters
    ----------
    train_losses, val_losses : array-like (heads, epochs), or a dict of name → curve
    start, end : int
        The window :math:`[n, n + \Delta]`.
    eps : float
        Floor of :math:`O_k`.

    Returns
    -------
    numpy.ndarray of shape (heads,), non-negative, summing to 1.

    Examples
    --------
    >>> train = [[1.0, 0.6], [1.0, 0.8]]
    >>> val = [[1.0, 0.9], [1.0, 0.9]]   # G = (0.1, 0.1), O = (0.3, 0.1)
    >>> gradient_blend_weights(train, val, 0, 1).round(3).tolist()  # (1/0.09, 1/0.01) normalized
    [0.1, 0.9]
    """
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
        raise ValueError(f"gradient_blend_weights: eps must be a positive number, got {eps!r}")
    G, O = generalization_overfitting(train_losses, val_losses, start, end)
    raw = np.clip(G, 0, None) / np.maximum(O, eps) ** 2
    if raw.sum() <= 0:
        return np.full(len(G), 1 / len(G))
    return raw / raw.sum()
