r"""Extractive summarization: choose the k frames whose content covers the most of the storyboard (Part 5.1).

Choosing ``k`` of ``F`` frames to maximise the weighted coverage :math:`f(S) = \sum_{u \in \cup_{i \in S} U_i} w_u`
is the maximum coverage problem, NP-hard in general. :math:`f` is monotone and submodular, so the greedy rule (add
the frame of largest marginal gain, ``k`` times) reaches at least :math:`(1 - (1 - 1/k)^k) \ge 1 - 1/e` of the optimum
(Nemhauser, Wolsey and Fisher, 1978); summarization as budgeted submodular maximisation is Lin and Bilmes (2011).
For six frames the optimum is also cheap to find exhaustively, which the chapter uses to measure greedy's gap.

Which units a summarizer believes each frame holds is what makes it multimodal or not: from the captions alone
(text-only), or from the images, read by a learned perception, together with the captions (multimodal).
"""
from __future__ import annotations

import itertools

import torch
from torch import Tensor

from mmcourse._checks import check_tensor
from mmcourse.generation.summarization.units import UNITS

__all__ = ["greedy_max_coverage", "best_max_coverage", "selection_units", "perceived_units"]


def _check(frame_units, k, weights, where: str) -> tuple[Tensor, Tensor, bool]:
    x = torch.as_tensor(frame_units, dtype=torch.float32)
    single = x.dim() == 2
    x = x[None] if single else x
    if x.dim() != 3 or not ((x == 0) | (x == 1)).all():
        raise ValueError(f"{where}: frame_units must be 0/1 of shape (frames, units) or (batch, frames, units), "
                         f"got shape {tuple(torch.as_tensor(frame_units).shape)}")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= x.shape[1]:
        raise ValueError(f"{where}: k must be an integer in 1..{x.shape[1]} (the number of frames), got k={k!r}")
    w = torch.ones(x.shape[0], x.shape[2]) if weights is None else torch.as_tensor(weights, dtype=torch.float32)
    w = w[None] if single and w.dim() == 1 else w
    if tuple(w.shape) != (x.shape[0], x.shape[2]) or not torch.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"{where}: weights must be finite, >= 0, of shape (units,) or (batch, units) matching "
                         f"frame_units, got shape {tuple(torch.as_tensor(weights).shape)}")
    return x, w, single


def greedy_max_coverage(frame_units, k: int, weights=None) -> Tensor:
    r"""The greedy summary: ``k`` times, add the frame whose new units weigh the most (Part 5.1).

    Step :math:`t` picks :math:`i_t = \arg\max_{i \notin S} \sum_u w_u\, x_{iu}\, (1 - c_u)`, with :math:`c` the
    units covered so far (ties go to the earliest frame). Nemhauser, Wolsey and Fisher (1978): the result is within
    a factor :math:`1 - 1/e` of the best ``k`` frames.

    Parameters
    ----------
    frame_units : tensor-like, shape (frames, units) or (batch, frames, units), values 0/1
        The units each frame holds (as the summarizer believes them).
    k : int
        Frames to pick, 1..frames.
    weights : tensor-like, shape (units,) or (batch, units), optional
        Non-negative unit weights (e.g. the salience); ``None`` counts every unit once.

    Returns
    -------
    Tensor
        int64 frame indices in the order picked, shape (k,) or (batch, k).

    Example
    -------
    >>> greedy_max_coverage([[1, 1, 0, 0], [0, 0, 1, 0], [1, 0, 1, 1]], k=2).tolist()
    [2, 0]
    """
    x, w, single = _check(frame_units, k, weights, "greedy_max_coverage")
    covered = torch.zeros(x.shape[0], x.shape[2])
    taken = torch.zeros(x.shape[0], x.shape[1], dtype=torch.bool)
    picks = []
    for _ in range(k):
        gain = (x * (1 - covered)[:, None, :] * w[:, None, :]).sum(-1)  # the marginal gain of each frame
        best = gain.masked_fill(taken, -1.0).argmax(-1)  # argmax returns the first maximum: earliest frame
        picks.append(best)
        taken[torch.arange(len(best)), best] = True
        covered = torch.maximum(covered, x[torch.arange(len(best)), best])
    out = torch.stack(picks, -1)
    return out[0] if single else out


def best_max_coverage(frame_units, k: int, weights=None) -> Tensor:
    """The optimal summary: the ``k`` frames of largest weighted coverage, by trying every subset (Part 5.1).

    Same arguments and return as :func:`greedy_max_coverage` (indices in increasing order; among equal subsets, the
    first in lexicographic order). Costs :math:`\\binom{F}{k}` evaluations, fine for a storyboard of a few frames.

    Example
    -------
    >>> best_max_coverage([[1, 1, 0, 0], [0, 0, 1, 0], [1, 0, 1, 1]], k=2).tolist()
    [0, 2]
    """
    x, w, single = _check(frame_units, k, weights, "best_max_coverage")
    subsets = torch.tensor(list(itertools.combinations(range(x.shape[1]), k)))  # (C, k)
    union = x[:, subsets].amax(2)  # (batch, C, units)
    value = (union * w[:, None, :]).sum(-1)
    out = subsets[value.argmax(-1)]
    return out[0] if single else out


def selection_units(frame_units, picks) -> Tensor:
    """The units of a selection of frames: the union of ``frame_units[picks]``, shape ``(..., units)``.

    ``frame_units`` (frames, units) or (batch, frames, units); ``picks`` int (k,) or (batch, k).

    Example
    -------
    >>> selection_units([[1, 1, 0], [0, 0, 1], [1, 0, 0]], [0, 2]).tolist()
    [1.0, 1.0, 0.0]
    """
    x = torch.as_tensor(frame_units, dtype=torch.float32)
    p = torch.as_tensor(picks)
    if p.is_floating_point() or x.dim() not in (2, 3) or p.dim() != x.dim() - 1 or \
            (x.dim() == 3 and len(p) != len(x)) or ((p < 0) | (p >= x.shape[-2])).any():
        raise ValueError(f"selection_units: picks must be frame indices of shape (k,) or (batch, k) matching "
                         f"frame_units {tuple(x.shape)}, got {tuple(p.shape)}")
    if x.dim() == 2:
        return x[p.long()].amax(0)
    return x[torch.arange(len(x))[:, None], p.long()].amax(1)


def perceived_units(perception, images) -> Tensor:
    """The units a frame's image shows, as read by a cell classifier: the kinds of the cells it does not call empty.

    Parameters
    ----------
    perception : callable
        Maps images ``(n, 30, 30, 3)`` to cell probabilities ``(n, 9, 13)`` (12 kinds, then empty), such as a
        trained :class:`mmcourse.reasoning.inference.vqa.CellPerception`.
    images : Tensor, shape (..., 30, 30, 3)

    Returns
    -------
    Tensor, shape (..., 12), multi-hot

    Example
    -------
    >>> oracle = lambda x: torch.nn.functional.one_hot(torch.tensor([[1] + [12] * 8] * len(x)), 13).float()
    >>> perceived_units(oracle, torch.zeros(2, 4, 30, 30, 3)).shape    # 2 storyboards of 4 frames
    torch.Size([2, 4, 12])
    """
    images = torch.as_tensor(images, dtype=torch.float32)
    if images.dim() < 3 or tuple(images.shape[-3:]) != (30, 30, 3):
        raise ValueError(f"perceived_units: images must have shape (..., 30, 30, 3), got {tuple(images.shape)}")
    check_tensor("perceived_units", "images", images)
    with torch.no_grad():
        kind = perception(images.reshape(-1, 30, 30, 3)).argmax(-1)  # (n, 9), 12 = empty
    out = torch.zeros(kind.shape[0], UNITS + 1).scatter_(-1, kind, 1.0)[:, :UNITS]
    return out.reshape(*images.shape[:-3], UNITS)
