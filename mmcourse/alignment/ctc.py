"""Connectionist temporal classification (Part 3.2 of the book, continuous alignment by segmentation).

CTC scores a short label sequence (a transcript) against a long sequence of frames without saying which frame
carries which label: it sums the probability of every frame-by-frame labeling that *collapses* to the target
(merge repeated labels, then drop the blanks), i.e. it marginalises over all monotone alignments with blanks.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["ctc_loss", "ctc_collapse"]

# Log-probability tolerance: each row's logsumexp must be within this of 0 (its exp sums to 1 within ~1e-4).
LOG_NORMALISATION_TOL = 1e-4
# A finite stand-in for log 0. With −∞, a logsumexp over states that are all unreachable returns −∞ and its
# backward computes exp(−∞ − (−∞)) = NaN, which would poison the gradient; with a huge finite negative number the
# unreachable states weigh exp(−1e30) = 0 exactly and every gradient stays finite. It is representable in float32
# and far below any real log-probability sum (T · log(1e−38) ≈ −88·T).
_LOG_ZERO = -1e30


def ctc_collapse(labels: Sequence[int], blank: int = 0) -> list[int]:
    """The CTC collapsing map ℬ: merge runs of repeated labels, then drop the blanks.

    Examples
    --------
    >>> ctc_collapse([0, 1, 1, 0, 1, 2, 2, 0])
    [1, 1, 2]
    """
    where = "ctc_collapse"
    if isinstance(blank, bool) or not isinstance(blank, (int, np.integer)):
        raise ValueError(f"{where}: blank must be an integer class index, got {blank!r}")
    if isinstance(labels, torch.Tensor):
        if labels.dim() != 1 or labels.is_complex() or labels.dtype == torch.bool:
            raise ValueError(f"{where}: labels must be a 1-D sequence of integer class indices, got a tensor of "
                             f"shape {tuple(labels.shape)} and dtype {labels.dtype}")
        values = labels.tolist()
    else:
        if isinstance(labels, (str, bytes)) or not hasattr(labels, "__iter__"):
            raise TypeError(f"{where}: labels must be a 1-D sequence of integer class indices, got "
                            f"{type(labels).__name__} {labels!r}")
        values = list(labels)
    if any(isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) for v in values):
        bad = next(v for v in values if isinstance(v, bool) or not isinstance(v, (int, float, np.integer,
                                                                                  np.floating)))
        raise ValueError(f"{where}: labels must be a 1-D sequence of integer class indices, got {bad!r} "
                         f"({type(bad).__name__}) among them")
    if any(v != int(v) if np.isfinite(v) else True for v in values):
        raise ValueError(f"{where}: labels must be a 1-D sequence of integer class indices, got non-integer values "
                         f"{[v for v in values if not np.isfinite(v) or v != int(v)][:5]}")
    out: list[int] = []
    previous = None
    for label in (int(v) for v in values):
        if label != previous and label != blank:
            out.append(label)
        previous = label
    return out


def _check_target(target, num_classes: int, blank: int, where: str) -> list[int]:
    if isinstance(target, torch.Tensor):
        if target.dim() != 1 or target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
            raise ValueError(f"{where}: target must be a 1-D sequence of integer class indices, got a tensor of "
                             f"shape {tuple(target.shape)} and dtype {target.dtype}")
        values = [int(v) for v in target.tolist()]
    else:
        array = np.asarray(target) if not isinstance(target, (list, tuple)) or len(target) else np.zeros(0, int)
        if array.ndim != 1 or array.dtype.kind not in "iu":
            raise ValueError(f"{where}: target must be a 1-D sequence of integer class indices, got "
                             f"{target!r}")
        values = [int(v) for v in array]
    bad = [v for v in values if not 0 <= v < num_classes]
    if bad:
        raise ValueError(f"{where}: target holds class {bad[0]}, outside the {num_classes} classes of log_probs "
                         f"(expected indices in [0, {num_classes - 1}])")
    if blank in values:
        raise ValueError(f"{where}: target must not contain the blank (class {blank}) at position "
                         f"{values.index(blank)}; CTC adds the blanks itself")
    return values


def ctc_loss(log_probs, target, blank: int = 0) -> torch.Tensor:
    r"""The CTC negative log-likelihood of one target sequence, summed over all its alignments.

    ``loss = −log Σ_{π ∈ ℬ⁻¹(ℓ)} Π_t p_t(π_t)``: the sum runs over every labeling ``π`` of the T frames (classes
    including the blank) that collapses to the target ``ℓ`` under ``ℬ`` (merge repeats, drop blanks; see
    :func:`ctc_collapse`). It is computed by the forward algorithm in log space over the extended target
    ``ℓ' = (b, ℓ₁, b, ℓ₂, …, ℓ_L, b)`` of length ``S = 2L + 1``:

    ``α₀(0) = log p₀(b)``, ``α₀(1) = log p₀(ℓ₁)``, and
    :math:`\alpha_t(s) = \log p_t(\ell'_s) + \mathrm{LSE}(\alpha_{t-1}(s), \alpha_{t-1}(s-1), \alpha_{t-1}(s-2))`,
    where the skip from ``s − 2`` is allowed only into a label that differs from the label two places back (a
    blank must separate two equal labels, so ``[1, 1]`` needs ``1 b 1``); finally
    :math:`\text{loss} = -\mathrm{LSE}(\alpha_{T-1}(S-1), \alpha_{T-1}(S-2))`.

    Paper: A. Graves, S. Fernández, F. Gomez, J. Schmidhuber (2006), "Connectionist Temporal Classification:
    Labelling Unsegmented Sequence Data with Recurrent Neural Networks", ICML.

    Book section: Part 3.2 Continuous alignment (segmentation).

    Time ``O(T·L)``, one vectorised step per frame. The gradient comes from autograd through the recursion (it
    equals the forward-backward gradient of the paper). It agrees with ``torch.nn.functional.ctc_loss`` with
    ``reduction="sum"`` on one sequence.

    Parameters
    ----------
    log_probs : torch.Tensor or array-like, shape (T, C)
        Per-frame log-probabilities over C classes (blank included), e.g. the output of ``log_softmax``: each
        row's ``logsumexp`` must be 0 within 1e-4. ``−inf`` (probability 0) is allowed, NaN and ``+inf`` are not.
        A float32 / float64 tensor keeps its dtype and graph; other inputs are computed in float64.
    target : sequence of int or 1-D integer tensor
        The label sequence ``ℓ`` of length L ≥ 0, classes in ``[0, C)``, without blanks.
    blank : int, default 0
        The index of the blank class.

    Returns
    -------
    torch.Tensor
        A 0-d tensor, differentiable with respect to ``log_probs``; ``inf`` if the target has probability 0.

    Raises
    ------
    ValueError
        On a log_probs that is not (T, C) with T ≥ 1, holds NaN or +inf, or whose rows are not normalised; a
        blank out of range; a target that is not 1-D integers, holds the blank or a class out of range, or is too
        long for T frames (``T < L + number of adjacent repeats``).

    Examples
    --------
    >>> import torch
    >>> log_probs = torch.randn(6, 3).log_softmax(dim=1).requires_grad_()
    >>> loss = ctc_loss(log_probs, [1, 2, 2])
    >>> loss.backward(); bool(loss > 0), log_probs.grad.shape
    (True, torch.Size([6, 3]))
    >>> ctc_loss(torch.zeros(2, 1), [])   # one class (the blank), empty target: probability 1
    tensor(-0.)
    """
    where = "ctc_loss"
    if isinstance(log_probs, torch.Tensor):
        if not log_probs.is_floating_point():
            raise ValueError(f"{where}: log_probs must be floating-point log-probabilities, got dtype "
                             f"{log_probs.dtype}")
        lp = log_probs if log_probs.dtype in (torch.float32, torch.float64) else log_probs.to(torch.float32)
    else:
        array = np.asarray(log_probs)
        if array.dtype.kind != "f":
            raise ValueError(f"{where}: log_probs must be floating-point log-probabilities, got dtype {array.dtype}")
        lp = torch.from_numpy(array.astype(np.float64))
    if lp.dim() != 2:
        raise ValueError(f"{where}: log_probs must have shape (T, C) (frames, classes), got {tuple(lp.shape)}")
    T, C = lp.shape
    if T == 0 or C == 0:
        raise ValueError(f"{where}: log_probs is empty (shape {(T, C)}); expected at least one frame and one class")
    detached = lp.detach()
    if torch.isnan(detached).any() or (detached == float("inf")).any():
        raise ValueError(f"{where}: log_probs contains NaN or +inf (−inf, probability 0, is allowed)")
    row_log_sums = torch.logsumexp(detached.to(torch.float64), dim=1)
    worst = int(row_log_sums.abs().argmax())
    if not abs(float(row_log_sums[worst])) <= LOG_NORMALISATION_TOL:
        raise ValueError(f"{where}: log_probs must be log-probabilities (each row's exp summing to 1), but row "
                         f"{worst}'s exp sums to {float(row_log_sums[worst].exp()):.6g}; apply log_softmax first")
    if isinstance(blank, bool) or not isinstance(blank, (int, np.integer)) or not 0 <= blank < C:
        raise ValueError(f"{where}: blank must be a class index in [0, {C - 1}] for log_probs with C={C} "
                         f"classes, got {blank!r}")
    labels = _check_target(target, C, int(blank), where)
    L = len(labels)
    repeats = sum(1 for s in range(1, L) if labels[s] == labels[s - 1])
    if T < L + repeats:
        raise ValueError(f"{where}: a target of length {L} with {repeats} adjacent repeat(s) needs at least "
                         f"{L + repeats} frames (each repeat needs a blank in between), but log_probs has "
                         f"T={T} frames")

    device, dtype = lp.device, lp.dtype
    # [teach]
    extended = [int(blank)] * (2 * L + 1)
    extended[1::2] = labels
    S = len(extended)
    # log p_t(ℓ'_s) for every frame and extended position; −∞ (probability 0) becomes the finite log-zero.
    emit = lp.clamp(min=_LOG_ZERO)[:, torch.tensor(extended, device=device)]            # (T, S)
    can_skip = torch.tensor([s >= 2 and extended[s] != blank and extended[s] != extended[s - 2]
                             for s in range(S)], device=device)
    log_zero = torch.full((S,), _LOG_ZERO, dtype=dtype, device=device)

    alpha = torch.cat((emit[0, :min(2, S)], log_zero[:S - 2]))   # start in the first blank or the first label
    for t in range(1, T):
        stay = alpha                                               # α_{t−1}(s)
        step = torch.cat((log_zero[:1], alpha[:-1]))               # α_{t−1}(s − 1)
        skip = torch.where(can_skip, torch.cat((log_zero[:2], alpha[:-2]))[:S], log_zero)   # α_{t−1}(s − 2)
        alpha = emit[t] + torch.logsumexp(torch.stack((stay, step, skip)), dim=0)
    log_likelihood = torch.logsumexp(alpha[-2:], dim=0) if L > 0 else alpha[-1]   # end on the last label or blank
    loss = -log_likelihood
    # [/teach]
    # A target of probability 0 reaches only the finite log-zero; report it as +inf, like PyTorch does.
    return torch.where(loss > -_LOG_ZERO / 10, torch.full_like(loss, float("inf")), loss)
