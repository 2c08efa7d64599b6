"""A transfer-based distance between modalities of any sizes: how well a model of one adapts to another
(Part 7.1)."""
from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from mmcourse.encoders import UnimodalClassifier
from mmcourse.quantification.heterogeneity._common import Data, _data
from mmcourse.quantification.heterogeneity.information import train_unimodal
from mmcourse.training import predict
from mmcourse.utils import check_positive, set_seed

__all__ = ["transfer_distance"]


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
    check_positive(where, shots=shots, repeats=repeats, steps=steps)
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
