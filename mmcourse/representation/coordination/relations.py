r"""Coordination by relationships (Part 2.4, partial coordination): two modalities embedded so that a *relation*
between an element of one and an element of the other can be read off their embeddings.

A triple ``(h, r, t)`` says that head ``h`` (from the first modality: an image) stands in relation ``r`` to tail
``t`` (from the second: a recording). Each modality has its own encoder, ``e_h = f(x_h)`` and ``e_t = g(y_t)``, both
normalised to unit length, and each relation its own parameters. Two ways to score a triple:

.. math::

    s_{\text{trans}}(h, r, t) = -\lVert e_h + r - e_t \rVert_p \qquad
    s_{\text{bil}}(h, r, t) = e_h^\top W_r\, e_t ,

a *translation* (TransE, Bordes et al. 2013: the relation is a vector that carries the head onto its tail) or a
*bilinear* form (RESCAL, Nickel et al. 2011; DistMult, Yang et al. 2015, is the diagonal case). Training ranks each
true triple above corrupted ones (its tail replaced by one that is not in relation), and evaluation ranks the true
tail of held-out triples among the candidates (:func:`ranking_metrics`: mean reciprocal rank and hits@k).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from tqdm.auto import trange

from mmcourse._checks import check_number, check_tensor
from mmcourse.representation.coordination._relation_scores import (_bilinear, _tensor, _translate, bilinear_score,
                                                                    relation_loss, translation_score)
from mmcourse.representation.coordination.deep_cca import _mlp
from mmcourse.utils import check_positive, get_device, progress_enabled, trained_on

__all__ = ["translation_score", "bilinear_score", "relation_loss", "RelationalCoordination", "fit_relational",
           "ranking_metrics", "SCORES"]

SCORES = ("translation", "bilinear")


class RelationalCoordination(nn.Module):
    r"""One encoder per modality and one set of parameters per relation: ``s(h, r, t)`` for heads x and tails y.

    ``e_h = f(x) / ‖f(x)‖`` and ``e_t = g(y) / ‖g(y)‖`` (unit length, as TransE constrains its entities, so that
    the score cannot be improved by inflating norms); then :func:`translation_score` with a vector ``r`` per
    relation, or :func:`bilinear_score` with a matrix ``W_r``. Train with :func:`fit_relational`.

    Book section: Part 2.4 Coordination (coordination by relationships).

    Parameters
    ----------
    x_dim, y_dim : int
        Feature sizes of the head and the tail modality.
    relations : int
        Number of relation types.
    dim : int
        Size of the embeddings.
    hidden : sequence of int
        Hidden widths of both encoders (tanh MLPs); ``()`` for linear maps.
    score : {"translation", "bilinear"}

    Examples
    --------
    >>> model = RelationalCoordination(6, 4, relations=3, dim=5, score="bilinear")
    >>> model.score_all(torch.randn(2, 6), 1, torch.randn(7, 4)).shape     # every head against every tail
    torch.Size([2, 7])
    """

    def __init__(self, x_dim: int, y_dim: int, relations: int, dim: int = 16, hidden: Sequence[int] = (32,),
                 score: str = "translation"):
        super().__init__()
        check_positive("RelationalCoordination", x_dim=x_dim, y_dim=y_dim, relations=relations, dim=dim,
                       **{f"hidden[{i}]": w for i, w in enumerate(hidden)})
        if score not in SCORES:
            raise ValueError(f"RelationalCoordination: score must be one of {SCORES}, got {score!r}")
        self.map_x, self.map_y = _mlp(x_dim, hidden, dim), _mlp(y_dim, hidden, dim)
        self.x_dim, self.y_dim, self.relations, self.dim, self.kind = x_dim, y_dim, relations, dim, score
        if score == "translation":
            self.relation = nn.Parameter(0.1 * torch.randn(relations, dim))
        else:   # start every W_r near the identity: "related" means "similar" until training says otherwise
            self.relation = nn.Parameter(torch.eye(dim).repeat(relations, 1, 1)
                                         + 0.1 * torch.randn(relations, dim, dim))

    def embed_x(self, x: Tensor) -> Tensor:
        """Unit-length head embeddings ``e_h`` of a batch ``(n, x_dim)``."""
        self._check(x, self.x_dim, "x")
        return nn.functional.normalize(self.map_x(x), dim=-1)

    def embed_y(self, y: Tensor) -> Tensor:
        """Unit-length tail embeddings ``e_t`` of a batch ``(n, y_dim)``."""
        self._check(y, self.y_dim, "y")
        return nn.functional.normalize(self.map_y(y), dim=-1)

    def score(self, e_head: Tensor, relation: Tensor, e_tail: Tensor) -> Tensor:
        """``s(h, r, t)`` of embeddings, with ``relation`` an integer tensor of relation indices (broadcasting)."""
        if self.kind == "translation":
            return _translate(e_head, self.relation[relation], e_tail)
        return _bilinear(e_head, self.relation[relation], e_tail)

    def score_all(self, x: Tensor, relation: int, y: Tensor) -> Tensor:
        """Scores ``(n_x, n_y)`` of every head of ``x`` against every tail of ``y`` under one ``relation``."""
        if isinstance(relation, bool) or not isinstance(relation, int) or not 0 <= relation < self.relations:
            raise ValueError(f"RelationalCoordination: relation must be an int in [0, {self.relations}), got "
                             f"{relation!r}")
        index = torch.tensor(relation, device=self.relation.device)
        return self.score(self.embed_x(x)[:, None], index, self.embed_y(y)[None])

    def forward(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        return self.embed_x(x), self.embed_y(y)

    @staticmethod
    def _check(value, dim: int, name: str) -> None:
        if not isinstance(value, Tensor) or value.dim() != 2 or value.shape[1] != dim:
            raise ValueError(f"RelationalCoordination: {name} must be a tensor of shape (batch, {dim}), got "
                             f"{tuple(getattr(value, 'shape', ())) or type(value).__name__}")
        check_tensor("RelationalCoordination", name, value, nonempty=False)    # floating-point and finite


def fit_relational(model: RelationalCoordination, x: Tensor, y: Tensor, truth: Tensor, *, epochs: int = 150,
                   lr: float = 1e-2, negatives: int = 8, loss: str = "margin", margin: float = 0.5,
                   device: torch.device | str | None = None, progress: bool | None = None) -> list[float]:
    """Train on every true triple of ``truth``: ``truth[r, i, j]`` is True when ``(x_i, r, y_j)`` holds.

    Each epoch (full batch, Adam), every pair ``(r, i)`` that has a true tail gets one true tail drawn at random
    and ``negatives`` corrupted tails drawn uniformly; a corrupted tail that is in fact true is left out of the loss
    (the "filtered" corruption of Bordes et al.), and :func:`relation_loss` ranks the true tail above the others.

    Paper: Bordes et al. (2013), "Translating Embeddings for Modeling Multi-relational Data", NeurIPS (algorithm 1,
    with corrupted tails only: the heads are the other modality's elements and stay fixed).

    Book section: Part 2.4 Coordination (coordination by relationships).

    Parameters
    ----------
    model : RelationalCoordination
    x : torch.Tensor, shape (n_x, x_dim)
        The head modality's samples.
    y : torch.Tensor, shape (n_y, y_dim)
        The tail modality's samples.
    truth : torch.Tensor of bool, shape (relations, n_x, n_y)
        Which triples hold (the training triples).
    epochs, lr, negatives, loss, margin
        Steps of Adam, its learning rate, corrupted tails per true triple, and :func:`relation_loss`'s ``kind``
        and ``margin``.
    device, progress
        As for :func:`mmcourse.training.fit`.

    Returns
    -------
    list of float
        The loss of each epoch.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> truth = torch.eye(3, 4, dtype=torch.bool)[None]      # one relation: head i goes with tail i
    >>> model = RelationalCoordination(5, 2, relations=1, dim=4, hidden=())
    >>> losses = fit_relational(model, torch.randn(3, 5), torch.randn(4, 2), truth, epochs=40, progress=False)
    >>> len(losses), losses[-1] < losses[0]
    (40, True)
    """
    where = "fit_relational"
    if not isinstance(model, RelationalCoordination):
        raise TypeError(f"{where}: model must be a RelationalCoordination, got {type(model).__name__}")
    check_positive(where, epochs=epochs, negatives=negatives)
    check_number(where, "lr", lr, low=0, low_open=True)
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise TypeError(f"{where}: x and y must be torch tensors, got {type(x).__name__} and {type(y).__name__}")
    check_tensor(where, "x", x, shape=(None, model.x_dim))
    check_tensor(where, "y", y, shape=(None, model.y_dim))
    if not isinstance(truth, Tensor) or truth.dtype != torch.bool or truth.shape != (model.relations, len(x), len(y)):
        raise ValueError(f"{where}: truth must be a bool tensor of shape (relations, len(x), len(y)) = "
                         f"({model.relations}, {len(x)}, {len(y)}), got {getattr(truth, 'dtype', type(truth))} "
                         f"{tuple(getattr(truth, 'shape', ()))}")
    rel, head = torch.nonzero(truth.any(2), as_tuple=True)                    # (r, i) with at least one true tail
    rows = truth[rel, head]
    if (~rows).sum(1).min() < 1:
        raise ValueError(f"{where}: every (relation, head) needs at least one false tail to corrupt with")
    # Draw one true tail per (r, i) by a random key that only true tails can win; corrupted tails are drawn
    # uniformly and any that happens to be true is left out of the loss (filtered negatives, without the cost of
    # sampling from each row's false tails).
    device = get_device(device)
    with trained_on(model, device):
        x, y, rel, head, rows = x.to(device), y.to(device), rel.to(device), head.to(device), rows.to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        history: list[float] = []
        for _ in trange(epochs, disable=not progress_enabled(progress), desc="epochs", leave=False):
            true_tail = torch.rand(rows.shape, device=device).masked_fill_(~rows, -1.0).argmax(1)
            false_tail = torch.randint(len(y), (len(rel), negatives), device=device)
            e_x, e_y = model(x, y)
            e_h = e_x[head]
            positive = model.score(e_h, rel, e_y[true_tail])
            negative = model.score(e_h[:, None], rel[:, None], e_y[false_tail])
            keep = ~rows.gather(1, false_tail)
            # A corrupted tail that is in fact true scores "never": zero hinge, zero softmax weight.
            negative = negative.masked_fill(~keep, -1e4)
            value = relation_loss(positive, negative, kind=loss, margin=margin)
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            optimizer.step()
            history.append(value.item())
    return history


def ranking_metrics(scores, target, valid=None, ks: Sequence[int] = (1, 3)) -> dict[str, float]:
    r"""Filtered ranks of the true candidate of each query: mean reciprocal rank, hits@k, and their chance level.

    Query q's rank is 1 + the number of *false* candidates scoring at least as high as its target (ties count
    against it, so a constant score ranks last); the other true candidates of ``valid`` are filtered out, as in
    Bordes et al. :math:`\mathrm{MRR} = \frac1Q \sum_q 1/\mathrm{rank}_q`, hits@k is the fraction with rank ≤ k;
    ``"chance MRR"`` is what random scores would get, :math:`\frac1Q \sum_q H_{m_q+1} / (m_q + 1)` with
    :math:`m_q` false candidates.

    Paper: Bordes et al. (2013) (the filtered setting of their link prediction). Book section: Part 2.4
    Coordination (coordination by relationships).

    Parameters
    ----------
    scores : (Q, C) scores of every candidate for every query (higher is better).
    target : (Q,) index of each query's true candidate.
    valid : (Q, C) bool, optional; every true candidate of each query (default: only the target).
    ks : the k of each hits@k.

    Returns
    -------
    dict
        ``"MRR"``, ``"chance MRR"`` and ``"hits@k"`` for each k, floats in [0, 1].

    Examples
    --------
    >>> ranking_metrics(torch.tensor([[0.9, 0.5, 0.1], [0.2, 0.8, 0.3]]), torch.tensor([1, 1]))["MRR"]   # ranks 2, 1
    0.75
    """
    where = "ranking_metrics"
    scores = _tensor(scores, "scores", where).detach().cpu().double()
    target = torch.as_tensor(target).cpu().long()
    if scores.dim() != 2 or target.shape != (len(scores),) or (target < 0).any() or (target >= scores.shape[1]).any():
        raise ValueError(f"{where}: scores must be (queries, candidates) and target one candidate index per query, "
                         f"got {tuple(scores.shape)} and {tuple(target.shape)}")
    true = torch.zeros_like(scores, dtype=torch.bool) if valid is None else torch.as_tensor(valid).cpu().bool()
    if true.shape != scores.shape:
        raise ValueError(f"{where}: valid must have the shape of scores {tuple(scores.shape)}, got {tuple(true.shape)}")
    true = true.clone()
    true[torch.arange(len(target)), target] = True
    beaten = (scores >= scores.gather(1, target[:, None])) & ~true
    rank = 1 + beaten.sum(1).double()
    m = (~true).sum(1).double()
    harmonic = torch.cumsum(1 / torch.arange(1, scores.shape[1] + 2, dtype=torch.float64), 0)   # H_1, H_2, ...
    chance = harmonic[m.long()] / (m + 1)
    result = {"MRR": (1 / rank).mean().item(), "chance MRR": chance.mean().item()}
    result.update({f"hits@{k}": (rank <= k).double().mean().item() for k in ks})
    return result
