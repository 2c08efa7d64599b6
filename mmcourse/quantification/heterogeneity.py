r"""Heterogeneity, measured: how much each modality says about the label, how fast it breaks under noise, and how
far apart two modalities are, judged by how well a model trained on one adapts to the other.

Part 7.1 of the book (Quantification). Three measurements per dataset, gathered by :func:`measure_heterogeneity`:

- **information** (:func:`modality_information`): a unimodal classifier :math:`q(y \mid x_m)` gives the variational
  lower bound :math:`I(X_m; Y) \ge H(Y) - \mathbb E[-\log_2 q(Y \mid X_m)]` (Barber and Agakov, 2003), with its
  accuracy: the unimodal baseline;
- **noise** (:func:`noise_sensitivity`): accuracy-vs-noise curves of each modality with the noises of
  :data:`~mmcourse.representation.NOISES`, and MultiBench's relative robustness (Liang et al., 2021);
- **transfer** (:func:`transfer_distance`): keep the body of a classifier trained on modality :math:`i`, learn
  only a new input layer on a few labelled examples of modality :math:`j`; modalities of any sizes.

:func:`modality_importance` adds how much a multimodal model relies on each modality (accuracy lost without it),
which, set against the unimodal information, shows a model's biases.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import minimize_scalar
from torch import Tensor, nn

from mmcourse.encoders import MLPEncoder, UnimodalClassifier
from mmcourse.representation.heterogeneous import transfer_heterogeneity
from mmcourse.representation.robustness import (DEFAULT_LEVELS, NOISES, accuracy_missing, accuracy_under_noise,
                                                relative_robustness)
from mmcourse.training import fit, predict
from mmcourse.utils import as_numpy, set_seed

__all__ = ["label_entropy", "information_lower_bound", "train_unimodal", "modality_information",
           "NoiseSensitivity", "noise_sensitivity", "modality_importance", "transfer_distance", "Heterogeneity",
           "measure_heterogeneity"]

Data = tuple[Sequence[Tensor], Tensor]


def _data(data, name: str, where: str, modalities: int | None = None) -> tuple[list[Tensor], Tensor]:
    if not (isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], (tuple, list))):
        raise ValueError(f"{where}: {name} must be a pair (list of modality tensors, labels), got "
                         f"{type(data).__name__}")
    xs, y = list(data[0]), data[1]
    if not isinstance(y, Tensor) or y.dim() != 1 or y.is_floating_point():
        raise ValueError(f"{where}: the labels of {name} must be a 1-D integer tensor, got "
                         f"{getattr(y, 'shape', type(y).__name__)}")
    if not xs or any(not isinstance(x, Tensor) or x.shape[0] != len(y) for x in xs):
        raise ValueError(f"{where}: {name} must hold one tensor per modality with {len(y)} rows (one per label), "
                         f"got shapes {[tuple(getattr(x, 'shape', ())) for x in xs]}")
    if modalities is not None and len(xs) != modalities:
        raise ValueError(f"{where}: {name} has {len(xs)} modalities, expected {modalities}")
    return xs, y


def _positive(where: str, **values) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")


def label_entropy(labels, num_classes: int | None = None) -> float:
    r"""The entropy of the empirical label distribution in bits, :math:`H(Y) = -\sum_c p_c \log_2 p_c`.

    Examples
    --------
    >>> label_entropy([0, 1, 0, 1]), label_entropy([2, 2, 2])
    (1.0, 0.0)
    """
    y = as_numpy(labels, "labels", "label_entropy").astype(int).ravel()
    counts = np.bincount(y, minlength=num_classes or 0)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0


def information_lower_bound(probabilities, labels) -> float:
    r"""A variational lower bound on :math:`I(X; Y)` in bits from a classifier's predicted probabilities.

    For any distribution :math:`q(y \mid x)`, :math:`I(X; Y) = H(Y) - H(Y \mid X) \ge H(Y) - \mathbb E[-\log_2
    q(Y \mid X)]`, since the cross-entropy is at least the conditional entropy (Barber and Agakov, 2003). On
    held-out pairs :math:`(x_k, y_k)` the estimate is

    .. math:: \hat I = \max\Big(0,\ \hat H(Y) - \frac1n \sum_{k=1}^n -\log_2 q(y_k \mid x_k)\Big),

    with :math:`\hat H(Y)` the entropy of the held-out labels (:func:`label_entropy`). A classifier no better than
    the label frequencies gives a negative difference, which says nothing beyond :math:`I \ge 0`; hence the max.
    A better classifier tightens the bound; no classifier can exceed :math:`H(Y)`.

    Parameters
    ----------
    probabilities : array-like ``(n, C)``
        Rows of predicted probabilities (each sums to 1).
    labels : array-like ``(n,)``
        Integer labels in ``0 .. C-1``.

    Returns
    -------
    float
        Bits, between 0 and :math:`\hat H(Y) \le \log_2 C`.

    Examples
    --------
    >>> information_lower_bound([[1.0, 0.0], [0.0, 1.0]], [0, 1])  # a perfect classifier: all of H(Y) = 1 bit
    1.0
    >>> information_lower_bound([[0.5, 0.5], [0.5, 0.5]], [0, 1])
    0.0
    """
    where = "information_lower_bound"
    p = as_numpy(probabilities, "probabilities", where)
    y = as_numpy(labels, "labels", where)
    if p.ndim != 2 or y.shape != (p.shape[0],):
        raise ValueError(f"{where}: probabilities must be (n, C) and labels (n,), got {p.shape} and {y.shape}")
    if (p < 0).any() or not np.allclose(p.sum(1), 1, atol=1e-4):
        raise ValueError(f"{where}: each row of probabilities must be non-negative and sum to 1")
    if (y != np.round(y)).any() or y.min(initial=0) < 0 or y.max(initial=0) >= p.shape[1]:
        raise ValueError(f"{where}: labels must be integers in 0..{p.shape[1] - 1}")
    y = y.astype(int)
    cross_entropy = -np.log2(np.clip(p[np.arange(len(y)), y], 1e-300, None)).mean()
    return max(0.0, label_entropy(y, p.shape[1]) - float(cross_entropy))


def train_unimodal(train: Data, *, stem: int = 16, width: int = 16, hidden: Sequence[int] = (32,), epochs: int = 30,
                   lr: float = 1e-2, seed: int = 0) -> list[nn.Sequential]:
    r"""One classifier per modality, :math:`f_m = h_m \circ b_m \circ L_m`, each trained on its modality alone.

    ``models[m]`` is ``nn.Sequential(Flatten, L_m, classifier)``: the input layer :math:`L_m`, a linear map of the
    flattened input to ``stem`` numbers (a modality-specific embedding, as HighMMT's), then the body and head
    :math:`h_m \circ b_m`, a :class:`~mmcourse.encoders.UnimodalClassifier` with an
    :class:`~mmcourse.encoders.MLPEncoder` (``stem`` → ``hidden`` → ``width``). Images and spectrograms are
    flattened, so every modality gets the same kind of model and only the data differ. Each is trained by
    :func:`mmcourse.training.fit` from ``set_seed(seed + m)``; call it on its own modality, ``models[m](x_m)``.

    The narrow linear input layer is what :func:`transfer_distance` re-learns: it holds little (a linear
    re-coding of the input), so that what a model knows about its modality sits in the body it keeps.

    Examples
    --------
    >>> xs, y = [torch.randn(20, 3), torch.randn(20, 2, 2)], torch.randint(0, 2, (20,))
    >>> [m(x).shape[1] for m, x in zip(train_unimodal((xs, y), epochs=1), xs)]
    [2, 2]
    """
    xs, y = _data(train, "train", "train_unimodal")
    _positive("train_unimodal", stem=stem, width=width, epochs=epochs,
              **{f"hidden[{i}]": h for i, h in enumerate(hidden)})
    models = []
    for m, x in enumerate(xs):
        set_seed(seed + m)
        model = nn.Sequential(nn.Flatten(), nn.Linear(x[0].numel(), stem),
                              UnimodalClassifier(MLPEncoder(stem, width, tuple(hidden)), int(y.max()) + 1))
        fit(model, ([x], y), epochs=epochs, lr=lr, progress=False)
        models.append(model.eval())
    return models


def _temperature(logits: Tensor, y: Tensor) -> float:
    """The temperature ``T`` minimising the cross-entropy of ``softmax(logits / T)`` (temperature scaling)."""
    def loss(log_t):
        return nn.functional.cross_entropy(logits / np.exp(log_t), y).item()
    return float(np.exp(minimize_scalar(loss, bounds=(-3.0, 3.0), method="bounded").x))


def modality_information(models: Sequence[nn.Module], val: Data, test: Data) -> dict[str, np.ndarray]:
    r"""Unimodal baselines: each modality's test accuracy and lower bound on :math:`I(X_m; Y)` in bits.

    The probabilities are ``softmax(logits / T_m)`` with a temperature :math:`T_m` fitted on ``val`` (temperature
    scaling): a classifier trained to low training loss is over-confident on new data, and calibrating it on
    separate data tightens :func:`information_lower_bound` on ``test`` without making it invalid.

    Parameters
    ----------
    models : sequence of nn.Module
        ``models[m](x_m)`` returns logits, e.g. from :func:`train_unimodal`.
    val, test : (list of Tensor, Tensor)
        Calibration and evaluation data.

    Returns
    -------
    dict
        ``"accuracy"`` and ``"bits"``, arrays ``(M,)``; ``"entropy"``, :math:`\hat H(Y)` of the test labels.

    Examples
    --------
    >>> xs, y = [torch.randn(60, 3), torch.randn(60, 2)], torch.randint(0, 2, (60,))
    >>> info = modality_information(train_unimodal((xs, y), epochs=2), (xs, y), (xs, y))
    >>> bool((info["bits"] <= info["entropy"]).all())
    True
    """
    where = "modality_information"
    xv, yv = _data(val, "val", where, len(models))
    xt, yt = _data(test, "test", where, len(models))
    accuracy, bits = [], []
    yv, yt = yv.cpu(), yt.cpu()  # predict returns logits on the CPU
    for model, x, x_test in zip(models, xv, xt):
        temperature = _temperature(predict(model, [x]), yv)
        logits = predict(model, [x_test])
        accuracy.append((logits.argmax(1) == yt).float().mean().item())
        bits.append(information_lower_bound(torch.softmax(logits.double() / temperature, 1), yt))
    return {"accuracy": np.array(accuracy), "bits": np.array(bits), "entropy": label_entropy(yt)}


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
    >>> class First(nn.Module):
    ...     def forward(self, x1, x2): return x1
    >>> x = torch.eye(2).repeat(5, 1)
    >>> modality_importance(First(), ([x, x], x.argmax(1))).tolist()
    [0.5, 0.0]
    """
    xs, y = _data(test, "test", "modality_importance")
    clean = accuracy_missing(model, (xs, y), [])
    return np.array([clean - accuracy_missing(model, (xs, y), m) for m in range(len(xs))])


def _check_models(models, count: int, where: str) -> None:
    for m, model in enumerate(models):
        ok = (isinstance(model, nn.Sequential) and len(model) == 3 and isinstance(model[1], nn.Linear)
              and isinstance(model[2], UnimodalClassifier))
        if not ok:
            raise ValueError(f"{where}: models[{m}] must come from train_unimodal (Flatten, input layer, classifier)")
    if len(models) != count:
        raise ValueError(f"{where}: got {len(models)} models for {count} modalities")


def _few_shot(model: nn.Module, params, x: Tensor, y: Tensor, steps: int, lr: float) -> nn.Module:
    optimizer = torch.optim.Adam(params, lr=lr)
    model.train()
    for _ in range(steps):  # full batch: a few shots fit in one
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval()


def _accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    return (predict(model, [x]).argmax(1) == y).float().mean().item()


def transfer_distance(train: Data, test: Data, *, models: Sequence[nn.Module] | None = None, shots: int = 5,
                      repeats: int = 3, steps: int = 100, lr: float = 1e-2, relearn_head: bool = False,
                      stem: int = 16, width: int = 16, hidden: Sequence[int] = (32,), epochs: int = 30,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""A transfer-based distance between modalities of any sizes: how well a model of one adapts to the other.

    Train a classifier :math:`f_i = h_i \circ b_i \circ L_i` on each modality :math:`i` (:func:`train_unimodal`:
    linear input layer :math:`L_i` to ``stem`` numbers, body :math:`b_i`, head :math:`h_i`). To move it to modality
    :math:`j`, keep :math:`b_i` and :math:`h_i` frozen and learn only a new linear input layer :math:`L'` from
    :math:`j`'s (flattened) input to the same ``stem`` numbers, on ``shots`` labelled examples per class of
    :math:`j`; the test accuracy of :math:`h_i \circ b_i \circ L'` is :math:`T_{ij}`. The diagonal :math:`T_{jj}`
    re-learns :math:`j`'s own input layer on the same shots, so that both sides pay the same price, and every
    source starts from the same :math:`L'` on a given target (common random numbers). As in
    :func:`~mmcourse.representation.transfer_heterogeneity`, the distance is what borrowing costs, symmetrised:

    .. math:: d_{ij} = \tfrac12\big[(T_{jj} - T_{ij}) + (T_{ii} - T_{ji})\big], \qquad d_{ii} = 0 .

    The two differ in what adapts: ``transfer_heterogeneity`` keeps the whole encoder and fits a linear probe on
    its features, so the modalities must have one input size and their coordinates must mean the same; here the
    input layer is re-learned, so any sizes work, and a permutation of the features, or any other linear re-coding
    of the same content, costs (nearly) nothing. ``scratch``
    is the same budget (shots, steps) spent training a fresh model on :math:`j`: :math:`T_{ij} >` ``scratch[j]``
    means that modality :math:`i`'s model is worth borrowing.

    Parameters
    ----------
    train, test : (list of Tensor, Tensor)
        The bodies train on ``train``; the shots come from ``train`` too, the accuracies from ``test``.
    models : sequence of nn.Module, optional
        Classifiers from :func:`train_unimodal` (trained here with ``stem``, ``width``, ``hidden``, ``epochs``
        otherwise).
    shots : int
        Labelled examples per class for the adaptation.
    repeats : int
        Draws of the shots; :math:`T` and ``scratch`` are their means.
    steps, lr : int, float
        Full-batch Adam steps and learning rate of every adaptation (and of ``scratch``).
    relearn_head : bool
        Also learn a fresh head (only the body is borrowed).
    seed : int

    Returns
    -------
    distance : ndarray ``(M, M)``, symmetric with a zero diagonal
    transfer : ndarray ``(M, M)``, ``transfer[i, j]`` the accuracy on :math:`j` of :math:`i`'s adapted model
    scratch : ndarray ``(M,)``

    Examples
    --------
    >>> xs, y = [torch.randn(40, 6), torch.randn(40, 3, 3)], torch.randint(0, 2, (40,))
    >>> d, t, s = transfer_distance((xs, y), (xs, y), epochs=1, steps=2, repeats=1)
    >>> d.shape, bool((d == d.T).all()), d.diagonal().tolist(), s.shape
    ((2, 2), True, [0.0, 0.0], (2,))
    """
    where = "transfer_distance"
    xs, y = _data(train, "train", where)
    xt, yt = _data(test, "test", where, len(xs))
    _positive(where, shots=shots, repeats=repeats, steps=steps)
    models = list(models) if models is not None else train_unimodal(
        (xs, y), stem=stem, width=width, hidden=hidden, epochs=epochs, lr=lr, seed=seed)
    _check_models(models, len(xs), where)
    classes = int(y.max()) + 1
    counts = torch.bincount(y, minlength=classes)
    if counts.min() < shots:
        raise ValueError(f"{where}: shots={shots} per class, but the smallest class of train has {int(counts.min())}")
    count = len(xs)
    transfer, scratch = np.zeros((count, count)), np.zeros(count)
    for r in range(repeats):
        g = torch.Generator().manual_seed(seed * 1000 + r)
        pick = torch.cat([torch.nonzero(y == c).ravel()[torch.randperm(int(counts[c]), generator=g)[:shots]]
                          for c in range(classes)])
        for j in range(count):
            x_shot, y_shot, x_test = xs[j][pick].flatten(1), y[pick], xt[j].flatten(1)
            for i in range(count):
                # Common random numbers: every source starts from the same new input layer (and draws) on this
                # target, so that T[i, j] - T[j, j] reflects the bodies, not the luck of an initialisation.
                set_seed(seed + 100 * r + j)
                body = copy.deepcopy(models[i][2]).requires_grad_(False)  # body and head of i, frozen
                if relearn_head:
                    body.head = nn.Linear(body.head.in_features, classes)
                new_input = nn.Linear(x_shot.shape[1], models[i][1].out_features)
                model = nn.Sequential(new_input, body)
                trained = [*new_input.parameters(), *(body.head.parameters() if relearn_head else [])]
                _few_shot(model, trained, x_shot, y_shot, steps, lr)
                transfer[i, j] += _accuracy(model, x_test, yt) / repeats
            set_seed(seed + 100 * r + j)
            fresh = nn.Sequential(copy.deepcopy(models[j][1]), copy.deepcopy(models[j][2]))
            for layer in fresh.modules():  # the same architecture, initialised afresh
                if isinstance(layer, nn.Linear):
                    layer.reset_parameters()
            _few_shot(fresh, list(fresh.parameters()), x_shot, y_shot, steps, lr)
            scratch[j] += _accuracy(fresh, x_test, yt) / repeats
    loss = np.diag(transfer)[None, :] - transfer  # loss[i, j]: what j loses by borrowing i's body
    return (loss + loss.T) / 2, transfer, scratch


@dataclass(frozen=True)
class Heterogeneity:
    """Everything :func:`measure_heterogeneity` measured on one dataset.

    Attributes
    ----------
    names : tuple of str
    entropy : float
        :math:`\\hat H(Y)` of the test labels, the most any modality can carry.
    accuracy, bits : ndarray ``(M,)``
        Unimodal baselines (:func:`modality_information`).
    noise : NoiseSensitivity
        The unimodal models' curves (:func:`noise_sensitivity`).
    distance, transfer : ndarray ``(M, M)``
    scratch : ndarray ``(M,)`` or None
        ``None`` with ``transfer="probe"``.
    """

    names: tuple[str, ...]
    entropy: float
    accuracy: np.ndarray
    bits: np.ndarray
    noise: NoiseSensitivity
    distance: np.ndarray
    transfer: np.ndarray
    scratch: np.ndarray | None

    def table(self):
        """One row per modality: accuracy, bits, relative robustness, accuracy lost at the noisiest level."""
        import pandas as pd
        return pd.DataFrame({"accuracy": self.accuracy, "information (bits)": self.bits,
                             "relative robustness": self.noise.robustness, "noise drop": self.noise.drop},
                            index=pd.Index(self.names, name="modality"))

    def matrix(self):
        """The heterogeneity matrix :math:`d` as a DataFrame labelled by modality."""
        import pandas as pd
        return pd.DataFrame(self.distance, index=list(self.names), columns=list(self.names))


def measure_heterogeneity(dataset, *, modalities: Sequence[str] | None = None, kinds: str | Sequence[str] = "gaussian",
                          levels: Sequence[float] = DEFAULT_LEVELS, transfer: str = "relearn", stem: int = 16,
                          width: int = 16, hidden: Sequence[int] = (32,), epochs: int = 30, lr: float = 1e-2,
                          shots: int = 5, repeats: int = 3, steps: int = 100, seed: int = 0) -> Heterogeneity:
    """Information, noise sensitivity and transfer distance of every modality of a dataset of the book.

    Trains one unimodal classifier per modality on ``train`` (:func:`train_unimodal`) and reuses it for all three:
    :func:`modality_information` (calibrated on ``validation``, scored on ``test``), :func:`noise_sensitivity` on
    ``test`` and :func:`transfer_distance` (``transfer="relearn"``). ``transfer="probe"`` calls
    :func:`~mmcourse.representation.transfer_heterogeneity` instead (same-size vector modalities only; it trains
    its own encoders and scores on ``validation``).

    Parameters
    ----------
    dataset : datasets.DatasetDict
        With splits ``train``, ``validation``, ``test``.
    modalities : sequence of str, optional
        Modality columns, by default all (:func:`mmcourse.data.modality_columns`).
    kinds, levels
        Passed to :func:`noise_sensitivity`.
    transfer : {"relearn", "probe"}
    stem, width, hidden, epochs, lr, shots, repeats, steps, seed
        Passed to :func:`train_unimodal` and :func:`transfer_distance`.

    Returns
    -------
    Heterogeneity

    Examples
    --------
    >>> from mmcourse.data import load_dataset
    >>> ds = load_dataset("uniqueness1", n_train=100, n_val=50, n_test=50, cache=False)
    >>> h = measure_heterogeneity(ds, epochs=2, steps=2, repeats=1, levels=[0.0, 1.0])
    >>> h.names, h.distance.shape, list(h.table().columns)[:2]
    (('x1', 'x2'), (2, 2), ['accuracy', 'information (bits)'])
    """
    from datasets import DatasetDict

    from mmcourse.data import as_tensors, modality_columns
    where = "measure_heterogeneity"
    if not isinstance(dataset, DatasetDict) or not {"train", "validation", "test"} <= set(dataset):
        raise ValueError(f"{where}: dataset must be a DatasetDict with splits train, validation and test, got "
                         f"{type(dataset).__name__}{list(dataset) if isinstance(dataset, dict) else ''}")
    if transfer not in ("relearn", "probe"):
        raise ValueError(f"{where}: transfer must be 'relearn' or 'probe', got {transfer!r}")
    names = tuple(modalities) if modalities is not None else tuple(modality_columns(dataset["train"]))
    if len(names) < 2:
        raise ValueError(f"{where}: expected at least two modalities, got {list(names)}")
    train, val, test = (as_tensors(dataset[s], names) for s in ("train", "validation", "test"))
    models = train_unimodal(train, stem=stem, width=width, hidden=hidden, epochs=epochs, lr=lr, seed=seed)
    info = modality_information(models, val, test)
    noise = noise_sensitivity(models, test, kinds=kinds, levels=levels, seed=seed)
    if transfer == "relearn":
        distance, matrix, scratch = transfer_distance(train, test, models=models, shots=shots, repeats=repeats,
                                                      steps=steps, lr=lr, seed=seed)
    else:
        distance, matrix = transfer_heterogeneity(train, val, width=width, hidden=hidden, epochs=epochs, lr=lr,
                                                  seed=seed)
        scratch = None
    return Heterogeneity(names, info["entropy"], info["accuracy"], info["bits"], noise, distance, matrix, scratch)
