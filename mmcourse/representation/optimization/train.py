r"""One training loop for the naive multimodal model and its three remedies, so that they differ in one place only.

``fit_balanced`` trains a :class:`LogitSumModel` with SGD (momentum) on cross-entropy and records, after every epoch,
the loss of each head on the training and validation splits (head 0 is the fused model, head ``m`` the branch of
modality ``m``) and each branch's validation accuracy. The remedies are switched on by arguments:

- ``head_weights``: gradient blending, :math:`\mathcal L = w_0 \mathcal L(f) + \sum_m w_m \mathcal L(g_m)`;
- ``ogm_alpha``: OGM-GE, the leading branch's gradients scaled by :math:`k_u` plus noise at every step;
- ``modality_dropout``: :class:`ModalityDropout` on the inputs while training.

SGD rather than Adam, because Adam rescales every gradient by its running size and so would undo OGM's factor.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import trange

from mmcourse.representation.optimization.branches import LogitSumModel
from mmcourse.representation.optimization.dropout import ModalityDropout
from mmcourse.representation.optimization.ogm import branch_scores, modulate_gradients, ogm_coefficients
from mmcourse._checks import check_ids, check_module, check_number
from mmcourse.training import History, _check_data
from mmcourse.utils import get_device, progress_enabled, trained_on

__all__ = ["BranchHistory", "head_losses", "fit_balanced"]


@dataclass
class BranchHistory(History):
    """:class:`~mmcourse.training.History` of the fused model, plus per-head curves.

    Attributes
    ----------
    head_train_loss, head_val_loss : list of list of float
        Per epoch, the cross-entropy of ``[f, g_1, …, g_M]`` on the whole training / validation split (in eval
        mode, after the epoch): the curves gradient blending reads.
    branch_val_acc : list of list of float
        Per epoch, each branch's validation accuracy on its own.
    ogm_coefficients : list of list of float
        Per epoch, the mean OGM coefficient of each branch (empty without OGM).

    Examples
    --------
    >>> history = BranchHistory()  # what fit_balanced fills in, epoch by epoch
    >>> history.head_val_loss.append([0.7, 0.6, 0.69]); history.train_loss.append(0.71)
    >>> history.epochs, history.as_dict()["train_loss"], history.head_val_loss[-1][1:]  # the branches' losses
    (1, [0.71], [0.6, 0.69])
    """

    head_train_loss: list[list[float]] = field(default_factory=list)
    head_val_loss: list[list[float]] = field(default_factory=list)
    branch_val_acc: list[list[float]] = field(default_factory=list)
    ogm_coefficients: list[list[float]] = field(default_factory=list)


@torch.no_grad()
def head_losses(model: LogitSumModel, data) -> tuple[list[float], list[float]]:
    """Cross-entropy and accuracy of every head ``[f, g_1, …, g_M]`` of ``model`` on ``data`` (eval mode).

    Examples
    --------
    >>> model = LogitSumModel([2, 3], 2)
    >>> losses, accuracies = head_losses(model, ([torch.zeros(4, 2), torch.zeros(4, 3)], torch.zeros(4).long()))
    >>> len(losses), len(accuracies)
    (3, 3)
    """
    check_module("head_losses", "model", model, LogitSumModel)
    inputs, labels = _check_data(data, "head_losses")
    check_ids("head_losses", "labels", labels, model.num_classes)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    branches = model.branch_logits(*(x.to(device) for x in inputs))
    labels = labels.to(device)
    heads = [torch.stack(branches).sum(0), *branches]
    model.train(was_training)
    return ([nn.functional.cross_entropy(h, labels).item() for h in heads],
            [(h.argmax(1) == labels).float().mean().item() for h in heads])


def fit_balanced(model: LogitSumModel, train, val=None, *, epochs: int = 60, lr: float = 0.05, momentum: float = 0.9,
                 batch_size: int = 50, weight_decay: float = 0.0, head_weights=None, ogm_alpha: float | None = None,
                 ogm_noise: bool = True, ogm_centered: bool = False, modality_dropout: float | list | None = None,
                 device: torch.device | str | None = None, progress: bool | None = None) -> BranchHistory:
    r"""Train a :class:`LogitSumModel`, naively or with one (or more) of the remedies of Part 2.3.

    Parameters
    ----------
    model : LogitSumModel
    train, val : (inputs, labels)
        Training and (optional) validation data.
    epochs, lr, momentum, batch_size, weight_decay
        SGD settings; batches are shuffled with torch's global generator (seed it with :func:`mmcourse.set_seed`).
    head_weights : sequence of float, optional
        Gradient blending: the weights :math:`(w_0, w_1, \dots, w_M)` of the fused head and of every branch
        (e.g. from :func:`gradient_blend_weights`). Default: the fused loss alone, :math:`(1, 0, \dots, 0)`.
    ogm_alpha : float, optional
        OGM-GE's :math:`\alpha`; ``None`` turns OGM off. ``ogm_noise`` adds GE's noise, ``ogm_centered`` uses
        :math:`1 - \tanh(\alpha(\rho - 1))`.
    modality_dropout : float or list of float, optional
        The ``p`` of a :class:`ModalityDropout` applied to the training inputs.
    device, progress
        As in :func:`mmcourse.training.fit`.

    Returns
    -------
    BranchHistory

    Examples
    --------
    >>> x = [torch.randn(40, 2), torch.randn(40, 3)]; y = (x[0][:, 0] > 0).long()
    >>> history = fit_balanced(LogitSumModel([2, 3], 2), (x, y), (x, y), epochs=2, ogm_alpha=0.5, progress=False)
    >>> len(history.head_val_loss), len(history.head_val_loss[0]), len(history.ogm_coefficients[0])
    (2, 3, 2)
    """
    if not isinstance(model, LogitSumModel):
        raise TypeError(f"fit_balanced: model must be a LogitSumModel, got {type(model).__name__}")
    inputs, labels = _check_data(train, "fit_balanced")
    check_ids("fit_balanced", "train labels", labels, model.num_classes)
    val_data = _check_data(val, "fit_balanced (val)") if val is not None else None
    if val_data is not None:
        check_ids("fit_balanced", "val labels", val_data[1], model.num_classes)
    momentum = check_number("fit_balanced", "momentum", momentum, low=0)
    weight_decay = check_number("fit_balanced", "weight_decay", weight_decay, low=0)
    heads = len(model.branches) + 1
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"fit_balanced: {name} must be a positive integer, got {value!r}")
    if not lr > 0:
        raise ValueError(f"fit_balanced: lr must be positive, got {lr!r}")
    weights = torch.tensor([1.0] + [0.0] * (heads - 1) if head_weights is None else
                           [float(w) for w in head_weights])
    if weights.numel() != heads or not torch.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(f"fit_balanced: head_weights must be {heads} non-negative numbers (fused head, then one per "
                         f"branch) with a positive sum, got {head_weights!r}")
    if ogm_alpha is not None and (isinstance(ogm_alpha, bool) or not isinstance(ogm_alpha, (int, float))
                                  or not 0 <= ogm_alpha < float("inf")):
        raise ValueError(f"fit_balanced: ogm_alpha must be None or a finite number ≥ 0, got {ogm_alpha!r}")
    dropout = ModalityDropout(modality_dropout) if modality_dropout is not None else None
    device = get_device(device)
    with trained_on(model, device):  # back on its own device afterwards
        inputs, labels = [x.to(device) for x in inputs], labels.to(device)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
        weights = weights.to(device)
        history = BranchHistory()
        n = labels.shape[0]
        for _ in trange(epochs, disable=not progress_enabled(progress), desc="epochs", leave=False):
            model.train()
            order = torch.randperm(n).to(device)
            total_loss, correct, coefficients = 0.0, 0, []
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                xs = [x[idx] for x in inputs]
                if dropout is not None:
                    xs = list(dropout(*xs))
                branches = model.branch_logits(*xs)
                logits = torch.stack(branches).sum(0)
                losses = [nn.functional.cross_entropy(h, labels[idx]) for h in (logits, *branches)]
                loss = sum(w * l for w, l in zip(weights, losses) if w > 0)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if ogm_alpha is not None:
                    k = ogm_coefficients(branch_scores(branches, labels[idx]).clamp_min(1e-12), ogm_alpha,
                                         centered=ogm_centered)
                    modulate_gradients(model.branches, k, noise=ogm_noise)
                    coefficients.append(k)
                optimizer.step()
                total_loss += losses[0].item() * len(idx)
                correct += (logits.argmax(1) == labels[idx]).sum().item()
            history.train_loss.append(total_loss / n)
            history.train_acc.append(correct / n)
            if coefficients:
                history.ogm_coefficients.append(torch.stack(coefficients).mean(0).tolist())
            history.head_train_loss.append(head_losses(model, (inputs, labels))[0])
            if val_data is not None:
                losses_v, accuracies_v = head_losses(model, val_data)
                history.head_val_loss.append(losses_v)
                history.val_loss.append(losses_v[0])
                history.val_acc.append(accuracies_v[0])
                history.branch_val_acc.append(accuracies_v[1:])
    return history
