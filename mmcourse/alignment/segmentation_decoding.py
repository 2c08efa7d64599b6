r"""Reading a CTC model's output (Part 3.2 of the book, continuous alignment by segmentation).

- :func:`ctc_greedy_decode`: the best class of every frame, collapsed (best-path decoding);
- :func:`ctc_prefix_beam_search`: the most probable *string*, searched over prefixes (each prefix's probability
  sums all its alignments), keeping the ``beam`` best at each frame;
- :func:`ctc_best_path`: the single most probable alignment of a known target (Viterbi, forced alignment), which
  says *where* the model put each symbol.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from mmcourse.alignment.ctc import _LOG_ZERO, _check_target, ctc_collapse
from mmcourse.alignment.segmentation_ctc import _check_blank, _check_log_probs

__all__ = ["ctc_greedy_decode", "ctc_prefix_beam_search", "ctc_best_path"]


def ctc_greedy_decode(log_probs, blank: int = 0) -> list:
    """Best-path decoding: the most probable class of every frame, collapsed (merge repeats, drop blanks).

    Accepts ``(T, C)`` (returns one list of ints) or ``(B, T, C)`` (returns a list of B lists).

    Examples
    --------
    >>> import torch
    >>> ctc_greedy_decode(torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.2, 0.8], [0.3, 0.7]]).log())
    [1, 1]
    """
    where = "ctc_greedy_decode"
    lp = torch.as_tensor(np.asarray(log_probs) if not isinstance(log_probs, Tensor) else log_probs)
    if lp.dim() not in (2, 3) or not lp.is_floating_point():
        raise ValueError(f"{where}: log_probs must be a float (T, C) or (B, T, C) array, got shape "
                         f"{tuple(lp.shape)} and dtype {lp.dtype}")
    if torch.isnan(lp.detach()).any():
        raise ValueError(f"{where}: log_probs contains NaN")
    blank = _check_blank(blank, lp.shape[-1], where)
    best = lp.detach().argmax(dim=-1)
    if lp.dim() == 2:
        return ctc_collapse(best.tolist(), blank)
    return [ctc_collapse(row, blank) for row in best.tolist()]


def ctc_prefix_beam_search(log_probs, beam: int = 8, blank: int = 0) -> tuple[list[int], float]:
    r"""The most probable output string, by prefix beam search over the CTC output.

    Greedy decoding picks the best *alignment* and collapses it; but a string's probability is the sum over all
    its alignments, :math:`p(\ell) = \sum_{\pi \in \mathcal B^{-1}(\ell)} \prod_t p_t(\pi_t)`, and the string of
    the best alignment need not be the best string. Prefix beam search grows strings frame by frame. For every
    prefix it keeps two log-probabilities, of the frames so far collapsing to the prefix and ending in a blank
    (:math:`p_b`) or in its last symbol (:math:`p_{nb}`); at frame ``t``, a blank keeps the prefix
    (:math:`p_b \mathrel{+}= (p_b + p_{nb})\,p_t(b)`), repeating the last symbol keeps it too
    (:math:`p_{nb} \mathrel{+}= p_{nb}\, p_t(c)`), and a symbol ``c`` extends it
    (:math:`p_{nb}(\ell c) \mathrel{+}= (p_b + p_{nb})\, p_t(c)`, only :math:`p_b\, p_t(c)` when ``c`` repeats the
    last symbol, since without a blank between they would merge). The ``beam`` most probable prefixes survive each
    frame. With a beam as large as the number of prefixes the search is exact; ``beam=1`` is close to greedy.
    See Hannun et al. (2014), "First-pass large vocabulary continuous speech recognition using bi-directional
    recurrent DNNs", and Graves et al. (2006), section 3.2.

    Parameters
    ----------
    log_probs : array-like or tensor, shape (T, C)
    beam : int, default 8
    blank : int, default 0

    Returns
    -------
    (string, log_prob)
        The best string found (a list of ints) and its log-probability :math:`\log p(\ell)` (exact when it was
        never pruned: then it equals ``-ctc_loss(log_probs, string)``).

    Examples
    --------
    >>> import numpy as np
    >>> lp = np.log([[0.6, 0.4], [0.6, 0.4]])   # the best alignment is "b b", the empty string (p = 0.36)
    >>> ctc_greedy_decode(lp)
    []
    >>> string, score = ctc_prefix_beam_search(lp); string, round(float(np.exp(score)), 2)   # 1b + b1 + 11
    ([1], 0.64)
    """
    where = "ctc_prefix_beam_search"
    lp = _check_log_probs(log_probs, where, 2).detach().double().cpu().numpy()
    blank = _check_blank(blank, lp.shape[1], where)
    if isinstance(beam, bool) or not isinstance(beam, (int, np.integer)) or beam < 1:
        raise ValueError(f"{where}: beam must be an integer >= 1, got {beam!r}")
    symbols = [c for c in range(lp.shape[1]) if c != blank]
    beams: dict[tuple, tuple[float, float]] = {(): (0.0, -np.inf)}
    for row in lp:
        grown: dict[tuple, list[float]] = {}

        def add(prefix, which, value):
            entry = grown.setdefault(prefix, [-np.inf, -np.inf])
            entry[which] = np.logaddexp(entry[which], value)

        for prefix, (p_b, p_nb) in beams.items():
            total = np.logaddexp(p_b, p_nb)
            add(prefix, 0, total + row[blank])
            if prefix:
                add(prefix, 1, p_nb + row[prefix[-1]])
            for c in symbols:
                from_ = p_b if prefix and prefix[-1] == c else total
                add(prefix + (c,), 1, from_ + row[c])
        ranked = sorted(grown.items(), key=lambda item: -np.logaddexp(*item[1]))
        beams = {prefix: (p_b, p_nb) for prefix, (p_b, p_nb) in ranked[:int(beam)]}
    best, (p_b, p_nb) = max(beams.items(), key=lambda item: np.logaddexp(*item[1]))
    return list(best), float(np.logaddexp(p_b, p_nb))


def ctc_best_path(log_probs, target, blank: int = 0) -> tuple[list[int], float]:
    r"""The single most probable frame labeling that collapses to ``target`` (CTC's Viterbi or forced alignment).

    The forward recursion of :func:`mmcourse.alignment.ctc_loss` with the log-sum-exp replaced by a maximum,
    :math:`\delta_t(s) = \log p_t(\ell'_s) + \max(\delta_{t-1}(s), \delta_{t-1}(s-1), [\delta_{t-1}(s-2)])`,
    and a back-pointer per cell; tracing them back from the better of the last label and the last blank gives the
    labeling. Time ``O(T · L)``.

    Parameters
    ----------
    log_probs : array-like or tensor, shape (T, C)
    target : sequence of int, without blanks
    blank : int, default 0

    Returns
    -------
    (labels, log_prob)
        ``labels``: list of T class indices with ``ctc_collapse(labels) == target``; ``log_prob``: its
        log-probability ``Σ_t log p_t(labels_t)``, the largest over all such labelings.

    Examples
    --------
    >>> import numpy as np
    >>> lp = np.log([[0.6, 0.4], [0.3, 0.7], [0.9, 0.1]])
    >>> labels, score = ctc_best_path(lp, [1]); labels, round(float(np.exp(score)), 3)
    ([0, 1, 0], 0.378)
    """
    where = "ctc_best_path"
    lp = _check_log_probs(log_probs, where, 2).detach().double().clamp(min=_LOG_ZERO).cpu().numpy()
    T, C = lp.shape
    blank = _check_blank(blank, C, where)
    labels = _check_target(target, C, blank, where)
    needed = len(labels) + sum(1 for s in range(1, len(labels)) if labels[s] == labels[s - 1])
    if T < needed:
        raise ValueError(f"{where}: the target needs at least {needed} frames, but log_probs has T={T}")
    extended = np.full(2 * len(labels) + 1, blank)
    extended[1::2] = labels
    S = len(extended)
    can_skip = np.array([s >= 2 and extended[s] != blank and extended[s] != extended[s - 2] for s in range(S)])
    # [teach]
    delta = np.full(S, -np.inf)
    delta[:min(2, S)] = lp[0, extended[:min(2, S)]]
    back = np.zeros((T, S), dtype=np.int64)
    for t in range(1, T):
        candidates = np.full((3, S), -np.inf)
        candidates[0] = delta
        candidates[1, 1:] = delta[:-1]
        candidates[2, 2:] = np.where(can_skip[2:], delta[:-2], -np.inf)
        move = candidates.argmax(axis=0)  # ties: stay, then step, then skip
        back[t] = np.arange(S) - move
        delta = lp[t, extended] + candidates[move, np.arange(S)]
    s = S - 1 if S == 1 or delta[S - 1] >= delta[S - 2] else S - 2
    score = float(delta[s])
    path = [s]
    for t in range(T - 1, 0, -1):
        s = int(back[t, s])
        path.append(s)
    return [int(extended[s]) for s in reversed(path)], score
