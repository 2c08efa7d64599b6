r"""A torch module behind scikit-learn's ``fit`` / ``predict_proba`` (Part 6.4), so that :func:`co_training` and
:func:`self_training` can induce neural classifiers as well as scikit-learn's.

``fit`` restarts from the module's initial weights (as a scikit-learn ``fit`` starts afresh), then minimises the
cross-entropy :math:`-\frac1n \sum_i \log \operatorname{softmax}(g(x_i))_{y_i}` with Adam
(:func:`mmcourse.training.fit`); ``predict_proba`` is :math:`\operatorname{softmax}(g(x))`.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import Tensor, nn

from mmcourse._checks import check_int
from mmcourse.training import fit, predict
from mmcourse.utils import as_numpy, check_positive

__all__ = ["TorchClassifier"]


class TorchClassifier(nn.Module):
    """A classifier ``module`` (rows ``(n, d)`` to logits ``(n, C)``) with ``fit``, ``predict_proba``, ``predict``
    and ``features`` (Part 6.4).

    Parameters
    ----------
    module : nn.Module
        Maps a float32 batch ``(n, d)`` to logits with one column per class of the labels ``fit`` gets.
    epochs, lr, batch_size, weight_decay
        Training settings of :func:`mmcourse.training.fit` (``batch_size=None``: full batch).
    seed : int
        Seeds each ``fit`` (in a forked generator: the caller's random state is left alone), so the same data gives
        the same model.

    Attributes
    ----------
    classes_ : np.ndarray
        The sorted classes seen by the last ``fit``: column ``j`` of ``predict_proba`` is ``classes_[j]``.

    Examples
    --------
    >>> clf = TorchClassifier(nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2)), epochs=50)
    >>> x = np.random.default_rng(0).normal(size=(40, 2)); y = (x[:, 0] > 0).astype(int)
    >>> clf.fit(x, y).predict_proba(x).shape, clf.features(x).shape
    ((40, 2), (40, 8))
    """

    def __init__(self, module: nn.Module, *, epochs: int = 100, lr: float = 1e-2, batch_size: int | None = None,
                 weight_decay: float = 0.0, seed: int = 0) -> None:
        super().__init__()
        if not isinstance(module, nn.Module):
            raise TypeError(f"TorchClassifier: module must be a torch.nn.Module, got {type(module).__name__}")
        check_positive("TorchClassifier", epochs=epochs, **({} if batch_size is None else {"batch_size": batch_size}))
        if not lr > 0 or not weight_decay >= 0:
            raise ValueError(f"TorchClassifier: lr must be > 0 and weight_decay >= 0, got {lr!r} and {weight_decay!r}")
        check_int("TorchClassifier", "seed", seed, low=0)
        self.module = module
        self.epochs, self.lr, self.batch_size, self.weight_decay, self.seed = epochs, lr, batch_size, weight_decay, seed
        self._initial = copy.deepcopy(module.state_dict())
        self.classes_ = np.zeros(0, dtype=np.int64)

    def forward(self, x: Tensor) -> Tensor:
        return self.module(x)

    @staticmethod
    def _rows(x, where: str) -> Tensor:
        array = as_numpy(x, "X", where)
        if array.ndim != 2:
            raise ValueError(f"{where}: X must have shape (n, features), got {array.shape}")
        return torch.from_numpy(array).float()

    def fit(self, X, y) -> TorchClassifier:
        """Train from the initial weights on rows ``X`` ``(n, d)`` and labels ``y`` ``(n,)``; returns ``self``."""
        x = self._rows(X, "TorchClassifier.fit")
        y = np.asarray(y.detach().cpu() if isinstance(y, Tensor) else y)
        if y.shape != (len(x),) or y.dtype.kind not in "iu":
            raise ValueError(f"TorchClassifier.fit: y must be integer labels of shape ({len(x)},), "
                             f"got {y.dtype} {y.shape}")
        self.classes_, targets = np.unique(y, return_inverse=True)
        self.module.load_state_dict(self._initial)
        with torch.no_grad():
            width = self.module(x[:1]).shape[-1]
        if width != len(self.classes_):
            raise ValueError(f"TorchClassifier.fit: the module gives {width} logits, but y has "
                             f"{len(self.classes_)} classes {self.classes_.tolist()}")
        with torch.random.fork_rng():
            torch.manual_seed(self.seed)
            fit(self.module, ([x], torch.from_numpy(targets).long()), epochs=self.epochs, lr=self.lr,
                batch_size=self.batch_size or len(x), weight_decay=self.weight_decay, progress=False)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Softmax of the logits, float64 ``(n, C)``, columns in the order of ``classes_``."""
        logits = predict(self.module, [self._rows(X, "TorchClassifier.predict_proba")])
        return torch.softmax(logits.double(), dim=1).numpy()

    def predict(self, X) -> np.ndarray:
        """The most probable class per row."""
        return self.classes_[self.predict_proba(X).argmax(1)]

    def features(self, X) -> np.ndarray:
        """The penultimate layer's output: all layers but the last of an ``nn.Sequential``, or the module's own
        ``features`` method."""
        x = self._rows(X, "TorchClassifier.features")
        if isinstance(self.module, nn.Sequential) and len(self.module) > 1:
            body = self.module[:-1]
        elif callable(getattr(self.module, "features", None)):
            body = self.module.features
        else:
            raise TypeError("TorchClassifier.features: the module must be an nn.Sequential of two layers or more, "
                            "or have a features(x) method")
        self.module.eval()
        with torch.no_grad():
            return body(x).double().numpy()
