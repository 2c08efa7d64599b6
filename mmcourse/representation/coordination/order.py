r"""Order embeddings (Part 2.4, partial coordination): two modalities mapped into one space where "is more specific
than" is the coordinate-wise order.

Vendrov et al. embed everything in the non-negative orthant and read the *reversed product order*: ``a ⪯ b`` (``a``
is more specific than ``b``, for example an image below its caption, "poodle" below "dog") iff
:math:`f(a)_i \ge f(b)_i` for every coordinate i. The most general concept sits nearest the origin; each step down
the hierarchy moves outwards, and everything below a concept lies in the cone :math:`\{z : z \ge f(b)\}` above its
embedding. A pair violates the order by

.. math::

    E(a, b) = \lVert \max(0,\, f(b) - f(a)) \rVert^2,

which is 0 exactly when ``f(a) ≥ f(b)``. Unlike a similarity, E is not symmetric, and it is transitive for free:
:math:`\sqrt{E(a, c)} \le \sqrt{E(a, b)} + \sqrt{E(b, c)}` (the positive part of a sum is at most the sum of the
positive parts), so if a ⪯ b and b ⪯ c hold exactly, then a ⪯ c does too.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import trange

from mmcourse._checks import check_number, check_tensor
from mmcourse.data.hierarchy import ancestor_matrix
from mmcourse.representation.coordination.deep_cca import _mlp
from mmcourse.utils import get_device, progress_enabled, trained_on

__all__ = ["order_penalty", "order_loss", "order_violations", "OrderEmbedding", "fit_order_embedding"]


def _as_tensor(value, name: str, where: str) -> Tensor:
    tensor = value if isinstance(value, Tensor) else torch.as_tensor(np.asarray(value, dtype=np.float64))
    if not tensor.is_floating_point():
        tensor = tensor.to(torch.get_default_dtype())
    if tensor.dim() == 0:
        raise ValueError(f"{where}: {name} must have at least one dimension (the embedding), got a scalar")
    if not torch.isfinite(tensor.detach()).all():
        raise ValueError(f"{where}: {name} contains NaN or infinite values")
    return tensor


def order_penalty(a, b) -> Tensor:
    r"""How much ``a ⪯ b`` is violated: :math:`E(a, b) = \lVert \max(0, b - a) \rVert^2`, over the last dimension.

    ``a ⪯ b`` reads "a is more specific than b" (an image below its caption, an item below its category); it holds
    exactly when ``a ≥ b`` coordinate-wise, and then E is 0. The arguments broadcast against each other, so
    ``order_penalty(a[:, None], b[None])`` gives the matrix of every pair.

    Paper: I. Vendrov, R. Kiros, S. Fidler, R. Urtasun (2016), "Order-Embeddings of Images and Language", ICLR.

    Book section: Part 2.4 Coordination (order embeddings).

    Parameters
    ----------
    a, b : torch.Tensor or array-like, shapes (..., d)
        Embeddings of the specific and the general side (non-negative in an order embedding, though E is defined
        for any vectors). NumPy inputs become float64 tensors.

    Returns
    -------
    torch.Tensor, shape the broadcast of the two without the last dimension
        ``E ≥ 0``, differentiable.

    Examples
    --------
    >>> order_penalty([2.0, 3.0], [1.0, 1.0]).item()     # a ≥ b everywhere: a ⪯ b holds
    0.0
    >>> order_penalty([1.0, 1.0], [2.0, 3.0]).item()     # the reverse pair: 1² + 2²
    5.0
    """
    where = "order_penalty"
    a, b = _as_tensor(a, "a", where), _as_tensor(b, "b", where)
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"{where}: a and b must have the same embedding size (last dimension), got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    return torch.clamp(b - a, min=0).pow(2).sum(-1)


def order_loss(specific, general, neg_specific, neg_general, margin: float = 1.0) -> Tensor:
    r"""The max-margin loss of order embeddings: true pairs pulled to E = 0, false pairs pushed to E ≥ margin.

    .. math::

        L = \frac{1}{|P|} \sum_{(a, b) \in P} E(a, b) + \frac{1}{|N|} \sum_{(a', b') \in N} \max(0, \alpha - E(a', b'))

    with ``α = margin``; rows of ``specific``/``general`` are the true pairs ``a ⪯ b`` and rows of
    ``neg_specific``/``neg_general`` the false ones. The paper sums where this averages, which only rescales the
    learning rate.

    Paper: Vendrov et al. (2016), "Order-Embeddings of Images and Language", ICLR (equation 3).

    Examples
    --------
    >>> import torch
    >>> a, b = torch.tensor([[2.0, 2.0]]), torch.tensor([[1.0, 1.0]])
    >>> order_loss(a, b, b, a, margin=1.0).item()     # the true pair holds; the false one (b ⪯ a) has E = 2 ≥ 1
    0.0
    """
    where = "order_loss"
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 < margin < float("inf"):
        raise ValueError(f"{where}: margin must be a finite number > 0, got margin={margin!r}")
    positive, negative = order_penalty(specific, general), order_penalty(neg_specific, neg_general)
    if positive.numel() == 0 or negative.numel() == 0:
        raise ValueError(f"{where}: need at least one true and one false pair, got {positive.numel()} and "
                         f"{negative.numel()}")
    return positive.mean() + torch.clamp(margin - negative, min=0).mean()


def order_violations(e_true, e_false, threshold: float) -> dict[str, float]:
    """How often the order is wrong at a threshold: true pairs with ``E > threshold``, false pairs with ``E ≤ it``.

    Parameters
    ----------
    e_true, e_false : array-like or torch.Tensor
        Penalties :func:`order_penalty` of pairs that are (``e_true``) and are not (``e_false``) ordered.
    threshold : float
        ``E ≤ threshold`` counts as "ordered".

    Returns
    -------
    dict
        ``"true pairs violated"`` and ``"false pairs ordered"`` (fractions in [0, 1]) and ``"error"``, their mean
        (a balanced error rate: 0 is a perfect order).

    Examples
    --------
    >>> order_violations([0.0, 0.2, 3.0], [0.1, 2.0], threshold=0.5)
    {'true pairs violated': 0.3333333333333333, 'false pairs ordered': 0.5, 'error': 0.41666666666666663}
    """
    where = "order_violations"
    e_true = _as_tensor(e_true, "e_true", where).detach().reshape(-1)
    e_false = _as_tensor(e_false, "e_false", where).detach().reshape(-1)
    threshold = check_number(where, "threshold", threshold)
    if e_true.numel() == 0 or e_false.numel() == 0:
        raise ValueError(f"{where}: need at least one true and one false pair, got {e_true.numel()} and "
                         f"{e_false.numel()}")
    violated = (e_true > threshold).double().mean().item()
    ordered = (e_false <= threshold).double().mean().item()
    return {"true pairs violated": violated, "false pairs ordered": ordered, "error": (violated + ordered) / 2}


class OrderEmbedding(nn.Module):
    r"""Order embeddings of two modalities: ``f(x) = |F(x)|`` and ``g(y) = |G(y)|`` in the non-negative orthant.

    ``F`` and ``G`` are linear maps (or small tanh MLPs with ``hidden``); the absolute value keeps every coordinate
    non-negative, as in the paper, so that the origin is the top of the order. Train with :func:`order_loss`
    (:func:`fit_order_embedding` does it for a tree of concepts).

    Paper: I. Vendrov, R. Kiros, S. Fidler, R. Urtasun (2016), "Order-Embeddings of Images and Language", ICLR.

    Book section: Part 2.4 Coordination (order embeddings).

    Parameters
    ----------
    x_dim, y_dim : int
        Feature sizes of the two modalities (here: images and concept names).
    out_dim : int
        Size of the shared order space.
    hidden : sequence of int, optional
        Hidden widths of both maps; default ``()``, linear maps.

    Examples
    --------
    >>> import torch
    >>> model = OrderEmbedding(6, 4, out_dim=2)
    >>> fx, fy = model(torch.randn(3, 6), torch.randn(5, 4))
    >>> fx.shape, fy.shape, bool((fx >= 0).all() and (fy >= 0).all())
    (torch.Size([3, 2]), torch.Size([5, 2]), True)
    """

    def __init__(self, x_dim: int, y_dim: int, out_dim: int, hidden: Sequence[int] = ()):
        super().__init__()
        for name, value in {"x_dim": x_dim, "y_dim": y_dim, "out_dim": out_dim,
                            **{f"hidden[{i}]": w for i, w in enumerate(hidden)}}.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"OrderEmbedding: {name} must be a positive integer, got {value!r}")
        self.map_x, self.map_y = _mlp(x_dim, hidden, out_dim), _mlp(y_dim, hidden, out_dim)
        self.x_dim, self.y_dim, self.out_dim = x_dim, y_dim, out_dim

    def embed_x(self, x: Tensor) -> Tensor:
        """``|F(x)|`` for a batch ``(n, x_dim)`` of the first modality."""
        self._check(x, self.x_dim, "x")
        return self.map_x(x).abs()

    def embed_y(self, y: Tensor) -> Tensor:
        """``|G(y)|`` for a batch ``(n, y_dim)`` of the second modality."""
        self._check(y, self.y_dim, "y")
        return self.map_y(y).abs()

    def forward(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        return self.embed_x(x), self.embed_y(y)

    @staticmethod
    def _check(value, dim: int, name: str) -> None:
        if not isinstance(value, Tensor) or value.dim() != 2 or value.shape[1] != dim:
            raise ValueError(f"OrderEmbedding: {name} must be a tensor of shape (batch, {dim}), got "
                             f"{tuple(getattr(value, 'shape', ())) or type(value).__name__}")
        check_tensor("OrderEmbedding", name, value, nonempty=False)    # floating-point and finite


def _indices(value) -> Tensor:
    """Integer indices as an int64 CPU tensor (they index the small sampling tables, which live on the CPU)."""
    if isinstance(value, Tensor):
        return value.detach().cpu().long()
    return torch.as_tensor(np.asarray(value), dtype=torch.long)


def fit_order_embedding(model: OrderEmbedding, x: Tensor, x_parent, y: Tensor, y_parent, *, epochs: int = 300,
                        lr: float = 1e-2, margin: float = 1.0, negatives: int = 4,
                        device: torch.device | str | None = None, progress: bool | None = None) -> list[float]:
    """Train an :class:`OrderEmbedding` on samples of modality x attached to a tree of concepts of modality y.

    The true pairs are the tree's *direct* edges only: each sample below its parent concept, ``x_i ⪯ y[x_parent[i]]``,
    and each concept below its parent, ``y_j ⪯ y[y_parent[j]]``. Every true pair gets ``negatives`` false ones, with
    the same specific side and a general side drawn uniformly from the concepts that are *not* its ancestors (nor
    itself). Relations two or more steps up (an image below its supercategory) are never trained: transitivity
    has to produce them. Full batch, Adam, :func:`order_loss`.

    Parameters
    ----------
    model : OrderEmbedding
    x : torch.Tensor, shape (n, x_dim)
        Samples of the first modality (images).
    x_parent : sequence of int, length n
        The concept directly above each sample (an index into ``y``).
    y : torch.Tensor, shape (c, y_dim)
        One row per concept (its name's features).
    y_parent : sequence of int, length c
        The parent of each concept, ``-1`` for a root.
    epochs, lr, margin, negatives
        Steps of Adam, its learning rate, the margin α of :func:`order_loss`, false pairs per true pair.
    device, progress
        As for :func:`mmcourse.training.fit`.

    Returns
    -------
    list of float
        The loss of each epoch.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> y_parent = [-1, 0, 0]                          # a root concept and its two children
    >>> x, x_parent = torch.randn(6, 4), [1, 1, 1, 2, 2, 2]
    >>> model = OrderEmbedding(4, 3, out_dim=2)
    >>> losses = fit_order_embedding(model, x, x_parent, torch.eye(3), y_parent, epochs=50, progress=False)
    >>> len(losses), losses[-1] < losses[0]
    (50, True)
    """
    where = "fit_order_embedding"
    if not isinstance(model, OrderEmbedding):
        raise TypeError(f"{where}: model must be an OrderEmbedding, got {type(model).__name__}")
    for name, value in (("epochs", epochs), ("negatives", negatives)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    check_number(where, "lr", lr, low=0, low_open=True)
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise TypeError(f"{where}: x and y must be torch tensors, got {type(x).__name__} and {type(y).__name__}")
    check_tensor(where, "x", x, shape=(None, model.x_dim))
    check_tensor(where, "y", y, shape=(None, model.y_dim))
    x_parent, y_parent = _indices(x_parent), _indices(y_parent)
    ancestors = torch.as_tensor(ancestor_matrix(y_parent.numpy()))        # [c, c']: c' is c or above it
    c = ancestors.shape[0]
    if x_parent.shape != (len(x),) or (x_parent < 0).any() or (x_parent >= c).any():
        raise ValueError(f"{where}: x_parent must hold one concept index in [0, {c}) per row of x "
                         f"({len(x)} rows), got shape {tuple(x_parent.shape)}")
    if len(y) != c:
        raise ValueError(f"{where}: y must have one row per concept of y_parent ({c}), got {len(y)}")
    device = get_device(device)
    with trained_on(model, device):  # back on its own device afterwards
        x, y = x.to(device), y.to(device)
        children = torch.nonzero(y_parent >= 0).squeeze(1)
        # Specific side of every true pair: samples, then non-root concepts; its general side and allowed negatives.
        general = torch.cat([x_parent, y_parent[children]])
        allowed = torch.cat([~ancestors[x_parent], ~ancestors[children]]).float()
        if (allowed.sum(1) == 0).any():
            raise ValueError(f"{where}: some pair has no concept to serve as a negative (every concept is its ancestor)")
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        history: list[float] = []
        for _ in trange(epochs, disable=not progress_enabled(progress), desc="epochs", leave=False):
            fx, fy = model(x, y)
            specific = torch.cat([fx, fy[children]])
            wrong = torch.multinomial(allowed, negatives, replacement=True).to(device)    # (pairs, negatives)
            loss = order_loss(specific, fy[general.to(device)], specific[:, None, :], fy[wrong], margin=margin)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            history.append(loss.item())
    return history
