r"""Learning the matching and the embeddings together (Part 3.1): a differentiable transport plan as training signal.

The two-stage recipe of :mod:`mmcourse.alignment.matching` first learns word-region similarities with a score in
which every phrase picks its best region on its own (a max), and only afterwards enforces one-to-one with the
Hungarian algorithm. Here the one-to-one matching is inside the training loss: the score of scene k against caption
l is the similarity that the entropic transport plan between the caption's phrases and the scene's regions achieves,

.. math::

    C^{kl}_{ti} = 1 - \cos(w_{lt}, v_{ki}), \qquad P^{kl} = \mathrm{Sinkhorn}_\varepsilon(C^{kl}), \qquad
    S_{kl} = \sum_{t, i} P^{kl}_{ti} \cos(w_{lt}, v_{ki}) = 1 - \langle P^{kl}, C^{kl} \rangle,

with uniform weights on the real phrases and regions, and the symmetric InfoNCE loss on S. Gradients flow through
every Sinkhorn iteration (Cuturi, 2013), so the encoders learn a similarity whose *plan* is right: a region that one
phrase already claims is not free for another. Plans as soft correspondences inside a cross-modal loss follow
Chen et al. (2020), *Graph Optimal Transport for Cross-Domain Alignment*, ICML. No word-region pair is ever given:
only which caption belongs to which scene.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from mmcourse._checks import check_tensor
from mmcourse.alignment._checks import positive
from mmcourse.alignment.matching import WordRegionModel, _fit_scene_batches


__all__ = ["batched_sinkhorn", "transport_similarity", "scene_plans", "transport_matching_loss",
           "fit_transport_matching", "rival_margin"]


def _count(value, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    return value


def _mask(mask, shape, name: str, where: str, device) -> Tensor:
    if mask is None:
        return torch.ones(tuple(shape), dtype=torch.bool, device=device)
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool or tuple(mask.shape) != tuple(shape):
        raise ValueError(f"{where}: {name} must be a bool tensor of shape {tuple(shape)}, got "
                         f"{getattr(mask, 'dtype', type(mask).__name__)} {tuple(getattr(mask, 'shape', ()))}")
    if not mask.any(-1).all():
        raise ValueError(f"{where}: every row of {name} needs at least one True slot")
    return mask.to(device)


def batched_sinkhorn(cost: Tensor, row_mask: Tensor | None = None, col_mask: Tensor | None = None, *,
                     reg: float = 0.1, n_iter: int = 30) -> Tensor:
    r"""Entropic transport plans of a batch of small problems, by ``n_iter`` log-domain Sinkhorn iterations.

    For each cost matrix C (rows and columns restricted to their masks, uniform weights a = 1/n, b = 1/m):
    ``f ← ε log a − ε LSE_j((g_j − C_ij)/ε)``, ``g ← ε log b − ε LSE_i((f_i − C_ij)/ε)``, and
    :math:`P_{ij} = \exp((f_i + g_j - C_{ij})/\varepsilon)`, the plan of
    :math:`\min_P \langle P, C\rangle - \varepsilon H(P)` (Cuturi, 2013, *Sinkhorn Distances*, NeurIPS). Unlike
    :func:`mmcourse.alignment.sinkhorn` it runs a fixed number of iterations, in the input's dtype, on a whole batch
    at once, and is meant to be differentiated *through* its iterations inside a training loss. The columns sum to b
    exactly; the rows approach a as n_iter grows. Book section: Part 3.1.

    Parameters
    ----------
    cost : torch.Tensor, shape (..., n, m)
        Any finite real costs.
    row_mask, col_mask : torch.Tensor of bool, shapes (..., n) and (..., m), optional
        Which rows and columns are real (default: all); masked rows and columns of the plan are 0.
    reg : float
        ε > 0, in the units of the cost.
    n_iter : int
        Number of Sinkhorn iterations (one f- and one g-update each).

    Returns
    -------
    torch.Tensor, shape (..., n, m), each plan summing to 1.

    Examples
    --------
    >>> plan = batched_sinkhorn(torch.tensor([[[0.0, 1.0], [1.0, 0.0]]]), reg=0.5)
    >>> plan.round(decimals=4)          # 0.5·e²/(1 + e²) on the diagonal, as sinkhorn() gives
    tensor([[[0.4404, 0.0596],
             [0.0596, 0.4404]]])
    """
    where = "batched_sinkhorn"
    if not isinstance(cost, Tensor) or not cost.is_floating_point() or cost.dim() < 2 or 0 in cost.shape[-2:]:
        raise ValueError(f"{where}: cost must be a float tensor of shape (..., n, m) with n, m ≥ 1, got "
                         f"{tuple(getattr(cost, 'shape', ())) or type(cost).__name__}")
    if not torch.isfinite(cost.detach()).all():
        raise ValueError(f"{where}: cost contains NaN or infinite values")
    reg = positive(reg, "reg", where)
    n_iter = _count(n_iter, "n_iter", where)
    rows = _mask(row_mask, cost.shape[:-1], "row_mask", where, cost.device)
    cols = _mask(col_mask, cost.shape[:-2] + cost.shape[-1:], "col_mask", where, cost.device)
    # log a, log b: uniform over the real slots, −∞ elsewhere (so those rows and columns carry no mass)
    log_a = torch.where(rows, -torch.log(rows.sum(-1, keepdim=True).to(cost.dtype)), -math.inf)
    log_b = torch.where(cols, -torch.log(cols.sum(-1, keepdim=True).to(cost.dtype)), -math.inf)
    pairs = rows[..., :, None] & cols[..., None, :]
    log_kernel = torch.where(pairs, -cost / reg, -math.inf)
    # A masked row (column) would be all −∞, and log-sum-exp's gradient there is NaN even where it is not used:
    # fill it with 0s for the updates, whose results on masked slots are replaced by 0 anyway.
    by_rows = torch.where(rows[..., :, None] & ~pairs, -math.inf, log_kernel.masked_fill(~rows[..., :, None], 0.0))
    by_cols = torch.where(cols[..., None, :] & ~pairs, -math.inf, log_kernel.masked_fill(~cols[..., None, :], 0.0))
    f = torch.zeros_like(log_a)
    g = torch.zeros_like(log_b)
    for _ in range(n_iter):
        f = torch.where(rows, reg * (log_a - torch.logsumexp(g[..., None, :] / reg + by_rows, dim=-1)), 0.0)
        g = torch.where(cols, reg * (log_b - torch.logsumexp(f[..., :, None] / reg + by_cols, dim=-2)), 0.0)
    return torch.exp(f[..., :, None] / reg + g[..., None, :] / reg + log_kernel)


def _cosines(v: Tensor, w: Tensor, where: str) -> Tensor:
    for name, z in (("v", v), ("w", w)):
        if not isinstance(z, Tensor) or z.dim() != 3 or not z.is_floating_point():
            raise ValueError(f"{where}: {name} must be a float tensor of shape (scenes, slots, dim), got "
                             f"{tuple(getattr(z, 'shape', ())) or type(z).__name__}")
        check_tensor(where, name, z)
    if v.shape[-1] != w.shape[-1]:
        raise ValueError(f"{where}: v and w must have the same dim, got {v.shape[-1]} and {w.shape[-1]}")
    return nn.functional.normalize(v, dim=-1), nn.functional.normalize(w, dim=-1)


def transport_similarity(v: Tensor, w: Tensor, region_mask: Tensor | None = None,
                         phrase_mask: Tensor | None = None, *, reg: float = 0.1, n_iter: int = 30) -> Tensor:
    r"""Scene-caption scores :math:`S_{kl} = \sum_{t,i} P^{kl}_{ti} \cos(w_{lt}, v_{ki})`, P the entropic plan.

    :math:`P^{kl}` is :func:`batched_sinkhorn` of the cost ``1 − cos`` between the phrases of caption l and the
    regions of scene k, so :math:`S_{kl} = 1 - \langle P^{kl}, C^{kl}\rangle`: one minus the transport cost. Each
    phrase must spread its mass over regions that the other phrases leave free, where the max of
    :func:`mmcourse.alignment.scene_similarity` lets several phrases pick one region. Book section: Part 3.1.

    Parameters
    ----------
    v : torch.Tensor, shape (B, K, d)
        Region embeddings of B scenes.
    w : torch.Tensor, shape (C, T, d)
        Phrase embeddings of C captions.
    region_mask, phrase_mask : torch.Tensor of bool, shapes (B, K) and (C, T), optional
        Which slots are real (default: all).
    reg, n_iter : float, int
        ε and the number of iterations of :func:`batched_sinkhorn`.

    Returns
    -------
    torch.Tensor, shape (B, C)

    Examples
    --------
    >>> v = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])          # one scene, two regions
    >>> w = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])          # two identical phrases
    >>> transport_similarity(v, w, reg=0.01).round(decimals=3)   # one of them must take the other region
    tensor([[0.5000]])
    """
    where = "transport_similarity"
    v, w = _cosines(v, w, where)
    region_mask = _mask(region_mask, v.shape[:2], "region_mask", where, v.device)
    phrase_mask = _mask(phrase_mask, w.shape[:2], "phrase_mask", where, w.device)
    cos = torch.einsum("kid,ltd->klti", v, w)                          # (B, C, T, K)
    rows = phrase_mask[None, :, :].expand(len(v), -1, -1)
    cols = region_mask[:, None, :].expand(-1, len(w), -1)
    plan = batched_sinkhorn(1.0 - cos, rows, cols, reg=reg, n_iter=n_iter)
    return (plan * cos).sum((-2, -1))


def scene_plans(v: Tensor, w: Tensor, mask: Tensor | None = None, *, reg: float = 0.1,
                n_iter: int = 30) -> Tensor:
    """The plan of every scene with its own caption, shape (B, T, K): phrases × regions, each summing to 1.

    Examples
    --------
    >>> scene_plans(torch.eye(2)[None], torch.eye(2)[None], reg=0.01).round(decimals=2)
    tensor([[[0.5000, 0.0000],
             [0.0000, 0.5000]]])
    """
    v, w = _cosines(v, w, "scene_plans")
    if v.shape[:2] != w.shape[:2]:
        raise ValueError(f"scene_plans: v and w must have matching shapes (B, K, d), got {tuple(v.shape)} and "
                         f"{tuple(w.shape)}")
    mask = _mask(mask, v.shape[:2], "mask", "scene_plans", v.device)
    return batched_sinkhorn(1.0 - w @ v.transpose(1, 2), mask, mask, reg=reg, n_iter=n_iter)


def transport_matching_loss(v: Tensor, w: Tensor, mask: Tensor | None = None, *, temperature: float = 0.1,
                            reg: float = 0.1, n_iter: int = 30) -> Tensor:
    r"""Symmetric InfoNCE on the transport scores: :math:`\tfrac12[\mathrm{CE}(S/\tau, I) + \mathrm{CE}(S^\top/\tau, I)]`.

    S is :func:`transport_similarity` over a batch of B scenes and their B captions (scene k with caption k): the
    only supervision is which caption goes with which scene. Book section: Part 3.1.

    Examples
    --------
    >>> v = torch.eye(3)[:, None, :]                       # three scenes of one region each
    >>> round(transport_matching_loss(v, v, temperature=0.01).item(), 6)
    0.0
    """
    where = "transport_matching_loss"
    temperature = positive(temperature, "temperature", where)
    v, w = check_tensor(where, "v", v, dim=3), check_tensor(where, "w", w, dim=3)
    if not isinstance(v, Tensor) or not isinstance(w, Tensor) or v.shape[:2] != w.shape[:2]:
        raise ValueError(f"{where}: v and w must be tensors of matching shape (B, K, d), got "
                         f"{tuple(getattr(v, 'shape', ()))} and {tuple(getattr(w, 'shape', ()))}")
    logits = transport_similarity(v, w, mask, mask, reg=reg, n_iter=n_iter) / temperature
    targets = torch.arange(len(logits), device=logits.device)
    return 0.5 * (nn.functional.cross_entropy(logits, targets) + nn.functional.cross_entropy(logits.T, targets))


def fit_transport_matching(model: WordRegionModel, regions: Tensor, phrases: Tensor, mask: Tensor, *,
                           steps: int = 200, batch_size: int = 64, lr: float = 3e-3, temperature: float = 0.1,
                           reg: float = 0.1, n_iter: int = 30, device: torch.device | str | None = None,
                           progress: bool | None = None) -> list[float]:
    """Train ``model`` with Adam on :func:`transport_matching_loss`; returns the batch loss of every step.

    The same loop as :func:`mmcourse.alignment.fit_word_region` (shuffled passes drawn from torch's global
    generator: seed it with :func:`mmcourse.set_seed`), with the transport score in place of the max score.

    Examples
    --------
    >>> from mmcourse.alignment import scene_pairs
    >>> from mmcourse.data import load_scenes
    >>> data = scene_pairs(load_scenes(n_train=16, n_val=1, n_test=1, cache=False)["train"])
    >>> len(fit_transport_matching(WordRegionModel(dim=4, width=8), *data, steps=3, batch_size=8, progress=False))
    3
    """
    return _fit_scene_batches(model, regions, phrases, mask,
                             lambda v, w, m: transport_matching_loss(v, w, m, temperature=temperature, reg=reg,
                                                                     n_iter=n_iter),
                             steps=steps, batch_size=batch_size, lr=lr, device=device, progress=progress,
                             where="fit_transport_matching")


def rival_margin(v: Tensor, w: Tensor, mask: Tensor | None = None) -> float:
    r"""How far each phrase's own region is ahead of the best rival region of its scene, averaged over phrases.

    :math:`\frac1N \sum_{k,t} \big[\cos(w_{kt}, v_{kt}) - \max_{i \ne t} \cos(w_{kt}, v_{ki})\big]`, with phrase t
    naming region t (the object order of :func:`mmcourse.alignment.scene_pairs`) and i over the scene's real
    regions. Positive: the phrase's own region wins without any matching step; the larger, the more noise it takes
    to overturn. Scenes of one object have no rival and are skipped. Book section: Part 3.1.

    Examples
    --------
    >>> v = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    >>> round(rival_margin(v, v), 4)                   # cos 1 for the own region, 0 for the rival
    1.0
    """
    where = "rival_margin"
    v, w = _cosines(v, w, where)
    if v.shape[:2] != w.shape[:2]:
        raise ValueError(f"{where}: v and w must have matching shapes (B, K, d), got {tuple(v.shape)} and "
                         f"{tuple(w.shape)}")
    mask = _mask(mask, v.shape[:2], "mask", where, v.device)
    cos = (w @ v.transpose(1, 2)).masked_fill(~mask[:, None, :], -math.inf)     # (B, T, K)
    own = cos.diagonal(dim1=1, dim2=2)
    rival = cos.masked_fill(torch.eye(cos.shape[-1], dtype=torch.bool, device=cos.device), -math.inf).amax(-1)
    counted = mask & (mask.sum(1, keepdim=True) > 1)
    if not counted.any():
        raise ValueError(f"{where}: no scene has two or more objects, so no phrase has a rival")
    return float((own - rival)[counted].mean())
