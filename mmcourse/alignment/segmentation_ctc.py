r"""CTC as a training loss (Part 3.2 of the book, continuous alignment by segmentation).

:func:`mmcourse.alignment.ctc_loss` scores one target at a time. Training needs the whole batch in one pass:
:func:`batched_ctc_loss` runs the same forward algorithm over a padded batch, one vectorised step per frame.
:class:`CTCFrameModel` is a small 1-D convolutional network that emits per-frame log-probabilities over the
symbols and the blank, and :func:`train_ctc` trains it. Reading its output is in
:mod:`mmcourse.alignment.segmentation_decoding`.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import trange

from mmcourse._checks import check_number, check_tensor
from mmcourse.alignment.ctc import _LOG_ZERO, LOG_NORMALISATION_TOL, _check_target
from mmcourse.utils import get_device, progress_enabled, trained_on

__all__ = ["batched_ctc_loss", "CTCFrameModel", "train_ctc"]


def _check_log_probs(log_probs, where: str, dims: int) -> Tensor:
    if not isinstance(log_probs, Tensor):
        array = np.asarray(log_probs)
        if array.dtype.kind != "f":
            raise ValueError(f"{where}: log_probs must be floating-point log-probabilities, got dtype {array.dtype}")
        log_probs = torch.from_numpy(array.astype(np.float64))
    if not log_probs.is_floating_point():
        raise ValueError(f"{where}: log_probs must be floating-point log-probabilities, got dtype {log_probs.dtype}")
    shape = "(B, T, C) (batch, frames, classes)" if dims == 3 else "(T, C) (frames, classes)"
    if log_probs.dim() != dims or 0 in log_probs.shape:
        raise ValueError(f"{where}: log_probs must have shape {shape}, non-empty, got {tuple(log_probs.shape)}")
    detached = log_probs.detach()
    if torch.isnan(detached).any() or (detached == float("inf")).any():
        raise ValueError(f"{where}: log_probs contains NaN or +inf (−inf, probability 0, is allowed)")
    sums = torch.logsumexp(detached.double(), dim=-1).reshape(-1)
    worst = float(sums[sums.abs().argmax()])
    if not abs(worst) <= LOG_NORMALISATION_TOL:
        raise ValueError(f"{where}: log_probs must be log-probabilities (each frame's exp summing to 1), but a "
                         f"frame's exp sums to {np.exp(worst):.6g}; apply log_softmax first")
    return log_probs


def _check_blank(blank, C: int, where: str) -> int:
    if isinstance(blank, bool) or not isinstance(blank, (int, np.integer)) or not 0 <= blank < C:
        raise ValueError(f"{where}: blank must be a class index in [0, {C - 1}] for log_probs with C={C} classes, "
                         f"got {blank!r}")
    return int(blank)


def batched_ctc_loss(log_probs, targets, target_lengths=None, blank: int = 0, reduction: str = "mean") -> Tensor:
    r"""The CTC negative log-likelihood of a batch of targets, by the forward algorithm vectorised over the batch.

    For each sample ``b`` it computes exactly what :func:`mmcourse.alignment.ctc_loss` does, ``−log Σ_π Π_t
    p_t(π_t)`` over the labelings ``π`` that collapse to the target (Graves et al., 2006): over the extended
    target ``ℓ' = (b, ℓ₁, b, …, ℓ_L, b)``,

    :math:`\alpha_t(s) = \log p_t(\ell'_s) + \mathrm{LSE}(\alpha_{t-1}(s), \alpha_{t-1}(s-1),
    [\alpha_{t-1}(s-2)])`, the skip allowed only into a label that differs from ``ℓ'_{s−2}``, and
    :math:`\text{loss}_b = -\mathrm{LSE}(\alpha_{T-1}(2L_b), \alpha_{T-1}(2L_b - 1))`.

    The targets are padded to the longest, ``S = 2 L_max + 1`` states. Padding needs no mask inside the
    recursion: the transitions only move forward (from ``s − 1`` and ``s − 2`` into ``s``), so the padded states
    past ``2 L_b`` never feed a real one; the end is read at each sample's own ``2 L_b``. Time ``O(T)`` steps of
    ``O(B · S)`` work each. All samples have the same number of frames ``T``.

    Paper: A. Graves, S. Fernández, F. Gomez, J. Schmidhuber (2006), "Connectionist Temporal Classification",
    ICML. Book section: Part 3.2 Continuous alignment (segmentation).

    Parameters
    ----------
    log_probs : torch.Tensor or array-like, shape (B, T, C)
        Per-frame log-probabilities (``log_softmax`` output), batch first.
    targets : sequence of sequences of int, or integer tensor (B, L_max)
        The label sequences, without blanks. A padded tensor needs ``target_lengths``; the padding is ignored.
    target_lengths : sequence of int or tensor (B,), optional
        Each target's length; derived from ``targets`` when it is a list of sequences.
    blank : int, default 0
    reduction : {"mean", "sum", "none"}
        ``"mean"`` averages the B losses (unlike PyTorch's ``"mean"``, it does not divide each by its target's
        length), ``"none"`` returns them.

    Returns
    -------
    torch.Tensor
        A 0-d tensor, or shape (B,) for ``reduction="none"``; differentiable with respect to ``log_probs``.

    Examples
    --------
    >>> import torch
    >>> lp = torch.randn(2, 6, 3).log_softmax(-1)
    >>> losses = batched_ctc_loss(lp, [[1, 2], [2, 2, 1]], reduction="none")
    >>> from mmcourse.alignment import ctc_loss
    >>> bool(torch.allclose(losses, torch.stack([ctc_loss(lp[0], [1, 2]), ctc_loss(lp[1], [2, 2, 1])])))
    True
    """
    where = "batched_ctc_loss"
    lp = _check_log_probs(log_probs, where, 3)
    if lp.dtype not in (torch.float32, torch.float64):
        lp = lp.float()
    B, T, C = lp.shape
    blank = _check_blank(blank, C, where)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{where}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if isinstance(targets, Tensor) and targets.dim() == 2:
        if target_lengths is None:
            raise ValueError(f"{where}: a padded targets tensor of shape {tuple(targets.shape)} needs "
                             f"target_lengths")
        lengths = [int(v) for v in torch.as_tensor(target_lengths).reshape(-1).tolist()]
        if len(lengths) != targets.shape[0] or any(not 0 <= n <= targets.shape[1] for n in lengths):
            raise ValueError(f"{where}: target_lengths must hold {targets.shape[0]} lengths in [0, "
                             f"{targets.shape[1]}], got {lengths}")
        rows = [targets[b, :n] for b, n in enumerate(lengths)]
    else:
        rows = list(targets)
        if target_lengths is not None:
            lengths = [int(v) for v in torch.as_tensor(target_lengths).reshape(-1).tolist()]
            if lengths != [len(r) for r in rows]:
                raise ValueError(f"{where}: target_lengths {lengths} do not match the targets' lengths "
                                 f"{[len(r) for r in rows]}")
    if len(rows) != B:
        raise ValueError(f"{where}: got {len(rows)} targets for a batch of B={B} log_probs")
    labels = [_check_target(r, C, blank, f"{where} (target {b})") for b, r in enumerate(rows)]
    for b, lab in enumerate(labels):
        needed = len(lab) + sum(1 for s in range(1, len(lab)) if lab[s] == lab[s - 1])
        if T < needed:
            raise ValueError(f"{where}: target {b} needs at least {needed} frames (length {len(lab)} plus one "
                             f"blank per adjacent repeat), but log_probs has T={T}")

    device, dtype = lp.device, lp.dtype
    L = max((len(lab) for lab in labels), default=0)
    S = 2 * L + 1
    extended = torch.full((B, S), blank, dtype=torch.long)
    for b, lab in enumerate(labels):
        if lab:
            extended[b, 1:2 * len(lab):2] = torch.tensor(lab)
    previous = torch.cat((torch.full((B, 2), -1, dtype=torch.long), extended[:, :-2]), dim=1)[:, :S]
    can_skip = ((extended != blank) & (extended != previous)).to(device)
    extended = extended.to(device)
    emit = lp.clamp(min=_LOG_ZERO).gather(2, extended[:, None, :].expand(B, T, S))      # (B, T, S)
    zero = torch.full((B, 2), _LOG_ZERO, dtype=dtype, device=device)

    # [teach]
    alpha = torch.cat((emit[:, 0, :min(2, S)], torch.full((B, S - min(2, S)), _LOG_ZERO, dtype=dtype,
                                                          device=device)), dim=1)
    for t in range(1, T):
        step = torch.cat((zero[:, :1], alpha[:, :-1]), dim=1)
        skip = torch.where(can_skip, torch.cat((zero, alpha[:, :-2]), dim=1)[:, :S], zero[:, :1])
        alpha = emit[:, t] + torch.logsumexp(torch.stack((alpha, step, skip)), dim=0)
    ends = torch.tensor([2 * len(lab) for lab in labels], device=device)
    last = alpha.gather(1, ends[:, None])[:, 0]
    before = alpha.gather(1, (ends - 1).clamp(min=0)[:, None])[:, 0]
    before = torch.where(ends > 0, before, torch.full_like(before, _LOG_ZERO))
    losses = -torch.logsumexp(torch.stack((last, before)), dim=0)
    # [/teach]
    losses = torch.where(losses > -_LOG_ZERO / 10, torch.full_like(losses, float("inf")), losses)
    return losses if reduction == "none" else losses.sum() if reduction == "sum" else losses.mean()


class CTCFrameModel(nn.Module):
    r"""A per-frame classifier for CTC: two 1-D convolutions over time, then ``log_softmax`` over the classes.

    :math:`h = \mathrm{ReLU}(\mathrm{Conv}_k(x))`, :math:`\log p_t = \mathrm{log\_softmax}(W h_t + c)`: each
    frame's output sees ``kernel_size`` frames around it, enough context to tell a symbol's start from its middle.

    Book section: Part 3.2 Continuous alignment (segmentation).

    Parameters
    ----------
    features : int
        Features per frame.
    classes : int
        Output classes, the blank included (``vocab + 1`` for :func:`mmcourse.data.load_speech`).
    hidden : int, default 32
    kernel_size : int, default 5
        Odd, so that the output has as many frames as the input.

    Examples
    --------
    >>> CTCFrameModel(8, 5)(torch.zeros(3, 30, 8)).shape
    torch.Size([3, 30, 5])
    """

    def __init__(self, features: int, classes: int, hidden: int = 32, kernel_size: int = 5):
        super().__init__()
        for name, value, minimum in (("features", features, 1), ("classes", classes, 2), ("hidden", hidden, 1),
                                     ("kernel_size", kernel_size, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"CTCFrameModel: {name} must be an integer >= {minimum}, got {value!r}")
        if kernel_size % 2 == 0:
            raise ValueError(f"CTCFrameModel: kernel_size must be odd (to keep the frame count), got {kernel_size}")
        self.features, self.classes = features, classes
        self.conv = nn.Conv1d(features, hidden, kernel_size, padding=kernel_size // 2)
        self.out = nn.Conv1d(hidden, classes, 1)

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[2] != self.features:
            raise ValueError(f"CTCFrameModel: expected frames of shape (batch, T, {self.features}), got "
                             f"{tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
        check_tensor("CTCFrameModel", "x", x)
        h = torch.relu(self.conv(x.transpose(1, 2)))
        return self.out(h).transpose(1, 2).log_softmax(dim=-1)


def train_ctc(model: nn.Module, frames: Tensor, targets: Sequence, *, epochs: int = 30, lr: float = 0.01,
              batch_size: int = 32, loss: str = "batched", device=None, progress: bool | None = None) -> list[float]:
    """Train ``model`` (frames ``(B, T, F)`` → log-probabilities ``(B, T, C)``) with the CTC loss and Adam.

    ``loss="batched"`` uses :func:`batched_ctc_loss`, ``"torch"`` uses ``torch.nn.functional.ctc_loss`` (the
    same numbers, a compiled kernel). Shuffles with torch's global generator: seed it for the same result.

    Returns the mean training loss of every epoch.

    Examples
    --------
    >>> frames, targets = torch.randn(4, 12, 3), [[1], [2, 1], [1, 2], [2]]
    >>> len(train_ctc(CTCFrameModel(3, 3, hidden=4), frames, targets, epochs=2, progress=False))
    2
    """
    if not isinstance(frames, Tensor) or frames.dim() != 3:
        raise ValueError(f"train_ctc: frames must be a tensor (B, T, F), got "
                         f"{tuple(frames.shape) if isinstance(frames, Tensor) else type(frames).__name__}")
    targets = [torch.as_tensor(t).long().reshape(-1) for t in targets]
    if len(targets) != len(frames):
        raise ValueError(f"train_ctc: got {len(targets)} targets for {len(frames)} frame sequences")
    if loss not in ("batched", "torch"):
        raise ValueError(f"train_ctc: loss must be 'batched' or 'torch', got {loss!r}")
    check_number("train_ctc", "lr", lr, low=0, low_open=True)
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"train_ctc: {name} must be a positive integer, got {value!r}")
    device = get_device(device)
    history = []
    with trained_on(model, device):
        frames = frames.to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        for _ in trange(epochs, disable=not progress_enabled(progress), desc="epochs", leave=False):
            order, total = torch.randperm(len(frames)), 0.0
            for start in range(0, len(frames), batch_size):
                index = order[start:start + batch_size]
                log_probs = model(frames[index])
                batch = [targets[i] for i in index.tolist()]
                if loss == "batched":
                    value = batched_ctc_loss(log_probs, batch)
                else:
                    lengths = torch.tensor([len(t) for t in batch])
                    value = nn.functional.ctc_loss(
                        log_probs.transpose(0, 1), torch.cat(batch).to(device),
                        torch.full((len(batch),), log_probs.shape[1], dtype=torch.long), lengths,
                        reduction="sum") / len(batch)
                optimizer.zero_grad()
                value.backward()
                optimizer.step()
                total += value.item() * len(index)
            history.append(total / len(frames))
    return history
