r"""The scores and the loss of coordination by relationships (Part 2.4): TransE's translation, the bilinear form
of RESCAL / DistMult, and the ranking loss over corrupted triples. Public through
:mod:`mmcourse.representation.coordination.relations`, which adds the model, its trainer and the ranking metrics.
"""
from __future__ import annotations

import torch
from torch import Tensor


def _tensor(value, name: str, where: str) -> Tensor:
    tensor = value if isinstance(value, Tensor) else torch.as_tensor(value, dtype=torch.get_default_dtype())
    if not tensor.is_floating_point():
        tensor = tensor.to(torch.get_default_dtype())
    if tensor.dim() == 0:
        raise ValueError(f"{where}: {name} must have at least one dimension (the embedding), got a scalar")
    if not torch.isfinite(tensor.detach()).all():
        raise ValueError(f"{where}: {name} contains NaN or infinite values")
    return tensor


def translation_score(head, relation, tail, p: int = 2) -> Tensor:
    r"""TransE's score :math:`s(h, r, t) = -\lVert e_h + r - e_t \rVert_p` over the last dimension.

    The relation is a translation: a true triple has its tail where the head lands after adding ``r``, so the score
    is 0 at best and more negative the further the tail is from ``e_h + r``. Arguments broadcast, so
    ``translation_score(h[:, None], r, t[None])`` scores every head against every tail.

    Paper: A. Bordes, N. Usunier, A. García-Durán, J. Weston, O. Yakhnenko (2013), "Translating Embeddings for
    Modeling Multi-relational Data", NeurIPS.

    Book section: Part 2.4 Coordination (coordination by relationships).

    Parameters
    ----------
    head, relation, tail : torch.Tensor or array-like, shapes (..., d)
        Head embeddings, relation vectors and tail embeddings.
    p : {1, 2}
        The norm (the paper tries both).

    Returns
    -------
    torch.Tensor
        The scores, shape the broadcast of the three without the last dimension; differentiable.

    Examples
    --------
    >>> translation_score([1.0, 0.0], [0.0, 1.0], [1.0, 1.0]).item()     # h + r lands exactly on t
    -0.0
    >>> translation_score([0.0, 0.0], [0.0, 0.0], [3.0, 4.0]).item()
    -5.0
    """
    where = "translation_score"
    if p not in (1, 2) or isinstance(p, bool):
        raise ValueError(f"{where}: p must be 1 or 2, got {p!r}")
    head, relation, tail = (_tensor(v, n, where) for v, n in ((head, "head"), (relation, "relation"), (tail, "tail")))
    if not head.shape[-1] == relation.shape[-1] == tail.shape[-1]:
        raise ValueError(f"{where}: head, relation and tail must have the same embedding size (last dimension), "
                         f"got shapes {tuple(head.shape)}, {tuple(relation.shape)} and {tuple(tail.shape)}")
    return _translate(head, relation, tail, p)


def _translate(head: Tensor, relation: Tensor, tail: Tensor, p: int = 2) -> Tensor:
    """TransE: a true tail sits where the relation carries the head, so score minus the distance from there."""
    return -torch.linalg.vector_norm(head + relation - tail, ord=p, dim=-1)


def bilinear_score(head, weight, tail) -> Tensor:
    r"""The bilinear score :math:`s(h, r, t) = e_h^\top W_r\, e_t` (RESCAL; a diagonal ``W_r`` is DistMult).

    Unlike a translation it can score many tails as equally right for one head (a one-to-many relation) without
    collapsing them onto one point. Arguments broadcast like :func:`translation_score`.

    Papers: M. Nickel, V. Tresp, H.-P. Kriegel (2011), "A Three-Way Model for Collective Learning on
    Multi-Relational Data", ICML; B. Yang, W. Yih, X. He, J. Gao, L. Deng (2015), "Embedding Entities and Relations
    for Learning and Inference in Knowledge Bases", ICLR.

    Book section: Part 2.4 Coordination (coordination by relationships).

    Parameters
    ----------
    head : shape (..., d_h);  weight : shape (..., d_h, d_t);  tail : shape (..., d_t)

    Returns
    -------
    torch.Tensor
        The scores, shape the broadcast of the batch dimensions; differentiable.

    Examples
    --------
    >>> bilinear_score([1.0, 2.0], [[0.0, 1.0], [1.0, 0.0]], [3.0, 4.0]).item()     # [1, 2] · [4, 3]
    10.0
    """
    where = "bilinear_score"
    head, weight, tail = (_tensor(v, n, where) for v, n in ((head, "head"), (weight, "weight"), (tail, "tail")))
    if weight.dim() < 2 or weight.shape[-2] != head.shape[-1] or weight.shape[-1] != tail.shape[-1]:
        raise ValueError(f"{where}: weight must have shape (..., {head.shape[-1]}, {tail.shape[-1]}) to match head "
                         f"{tuple(head.shape)} and tail {tuple(tail.shape)}, got {tuple(weight.shape)}")
    return _bilinear(head, weight, tail)


def _bilinear(head: Tensor, weight: Tensor, tail: Tensor) -> Tensor:
    """RESCAL: e_h^T W_r e_t, batched: (e_h^T W_r) is a row vector, then a dot product with e_t."""
    head_times_w = (head.unsqueeze(-1) * weight).sum(-2)          # e_h^T W_r, broadcasting over batch dimensions
    return (head_times_w * tail).sum(-1)


def relation_loss(positive, negative, kind: str = "margin", margin: float = 1.0) -> Tensor:
    r"""Rank each true triple's score above those of its corrupted copies.

    ``positive`` has shape ``(n,)``, ``negative`` shape ``(n, k)``: k corrupted triples per true one. With
    ``kind="margin"`` (Bordes et al.), the mean over all n·k pairs of :math:`\max(0,\ \gamma - s^+ + s^-)`; with
    ``kind="softmax"``, the cross-entropy of picking the true triple among the k + 1,
    :math:`-\log \frac{e^{s^+}}{e^{s^+} + \sum_j e^{s^-_j}}`, averaged over the n.

    Paper: Bordes et al. (2013), "Translating Embeddings for Modeling Multi-relational Data", NeurIPS (equation 1,
    a mean where the paper sums). Book section: Part 2.4 Coordination (coordination by relationships).

    Parameters
    ----------
    positive : torch.Tensor, shape (n,)
        Scores of the true triples.
    negative : torch.Tensor, shape (n, k)
        Scores of their corrupted copies.
    kind : {"margin", "softmax"}
    margin : float
        γ > 0, for ``kind="margin"``.

    Returns
    -------
    torch.Tensor
        A scalar, differentiable.

    Examples
    --------
    >>> relation_loss(torch.tensor([0.0]), torch.tensor([[-2.0, -0.5]]), margin=1.0).item()   # (0 + 0.5) / 2
    0.25
    """
    where = "relation_loss"
    positive, negative = _tensor(positive, "positive", where), _tensor(negative, "negative", where)
    if positive.dim() != 1 or negative.dim() != 2 or len(negative) != len(positive) or negative.shape[1] < 1:
        raise ValueError(f"{where}: positive must have shape (n,) and negative (n, k) with k ≥ 1, got "
                         f"{tuple(positive.shape)} and {tuple(negative.shape)}")
    if kind == "margin":
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 < margin < float("inf"):
            raise ValueError(f"{where}: margin must be a finite number > 0, got margin={margin!r}")
        return torch.clamp(margin - positive[:, None] + negative, min=0).mean()
    if kind == "softmax":
        logits = torch.cat([positive[:, None], negative], dim=1)
        return -torch.log_softmax(logits, dim=1)[:, 0].mean()
    raise ValueError(f"{where}: kind must be 'margin' or 'softmax', got {kind!r}")
