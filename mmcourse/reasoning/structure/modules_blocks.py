r"""Part 4.1: the modules of a neural module network, each a small function on attention maps over the 3×3 grid.

A neural module network (Andreas et al., 2016; Johnson et al., 2017, "IEP") answers a question by running one small
network per step of the question's program. Here every set of objects is an **attention map** ``a ∈ [0, 1]^9``, one
weight per grid cell (1: "this cell's object is in the set"), and each operation of
:mod:`mmcourse.reasoning.concepts.programs` gets its module:

==================  ======================================================  =====================
operation           module                                                  learned
==================  ======================================================  =====================
``scene``           ``o_c = σ(wᵀh_c + b)`` (objectness)                      ``w, b``
``filter_*[x]``     ``a ⊙ find[x]``, ``find[x]_c = σ(e_xᵀ (m_x ⊙ h_c) + b_x)``  ``e_x, b_x``
``relate[r]``       ``o_j (1 − Π_i (1 − R_r[j, i] a_i))``                     ``R_r = σ(L_r)``, 9×9
``and`` / ``or``    ``a ⊙ b`` / ``a + b − a ⊙ b``                           –
``not``             ``o ⊙ (1 − a)`` (sets), ``1 − p`` (yes/no)               –
``count``           ``s = Σ_c a_c``, logits ``−(s − k)² / w`` on the digits    ``w``
``exists``          ``p = σ(κ (Σ_c a_c − ½))``                               ``κ``
``query_*``         ``W (Σ_c a_c h_c / Σ_c a_c)`` on the colour / shape words  ``W``
==================  ======================================================  =====================

The cell features ``h_c`` come from :class:`CellEncoder`. On binary maps (0 or 1 per cell) ``and``, ``or``, ``not``
and ``count`` are exactly ∩, ∪, complement and size, which is why a network whose maps are right executes the
program exactly. Book section: Part 4.1 (hierarchical structure).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from mmcourse.data.scene_questions import PROPERTIES, RELATIONS
from mmcourse.data.scenes import ANSWERS, COLOURS, GRID, SHAPES
from mmcourse.utils import check_positive

__all__ = ["FIND_ARGUMENTS", "CellEncoder", "Find", "Relate", "Query", "and_module", "or_module", "not_module",
           "count_module", "exists_module", "answer_logits"]

CELLS = GRID * GRID
CELL_SIZE = 10
FIND_ARGUMENTS = (*COLOURS, *SHAPES, *PROPERTIES)  # the arguments of filter_colour / filter_shape / filter_fact
DIGITS = [ANSWERS.index(str(k)) for k in range(10)]
MASKED = -1e4  # the logit of an answer a module cannot give (a count is never "red")


def _check_tensor(where: str, name: str, a) -> None:
    if not isinstance(a, Tensor):
        raise TypeError(f"{where}: {name} must be a torch.Tensor, got {type(a).__name__}")
    if a.is_floating_point() and not torch.isfinite(a).all():
        raise ValueError(f"{where}: {name} contains NaN or infinite values")


def _check_map(where: str, name: str, a: Tensor, batch: int | None = None) -> None:
    _check_tensor(where, name, a)
    if a.dim() != 2 or a.shape[1] != CELLS or a.shape[0] == 0:
        raise ValueError(f"{where}: {name} must be a tensor of attention maps (batch, {CELLS}), got "
                         f"{tuple(a.shape)}")
    if batch is not None and a.shape[0] != batch:
        raise ValueError(f"{where}: mismatched batch sizes: {name} has {a.shape[0]} rows, expected {batch}")


def _check_cells(where: str, name: str, h: Tensor, dim: int) -> None:
    _check_tensor(where, name, h)
    if h.dim() != 3 or h.shape[1] != CELLS or h.shape[2] != dim or h.shape[0] == 0:
        raise ValueError(f"{where}: {name} must be cell features (batch, {CELLS}, {dim}), got {tuple(h.shape)}")


def _check_ids(where: str, name: str, ids: Tensor, n: int, batch: int) -> None:
    if not isinstance(ids, Tensor):
        raise TypeError(f"{where}: {name} must be a torch.Tensor of integer ids, got {type(ids).__name__}")
    if ids.dim() != 1 or ids.is_floating_point() or ids.dtype == torch.bool:
        raise ValueError(f"{where}: {name} must be a 1-D tensor of integer ids, got dtype {ids.dtype} and shape "
                         f"{tuple(ids.shape)}")
    if ids.shape[0] != batch:
        raise ValueError(f"{where}: mismatched batch sizes: {name} has {ids.shape[0]} entries, expected {batch}")
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= n):
        raise ValueError(f"{where}: {name} must hold ids in 0..{n - 1}, got values from {int(ids.min())} to "
                         f"{int(ids.max())}")


def _check_number(where: str, name: str, value) -> None:
    if isinstance(value, Tensor):
        _check_tensor(where, name, value)
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{where}: {name} must be a number or a tensor, got {type(value).__name__}")
    elif not math.isfinite(value):
        raise ValueError(f"{where}: {name} must be finite, got {value}")


def and_module(a: Tensor, b: Tensor) -> Tensor:
    r"""``and`` of two maps (or two yes/no probabilities): the product ``a ⊙ b``, exactly ∩ on binary maps.

    Examples
    --------
    >>> and_module(torch.tensor([1., 1., 0.]), torch.tensor([1., 0., 0.]))
    tensor([1., 0., 0.])
    """
    _check_tensor("and_module", "a", a)
    _check_tensor("and_module", "b", b)
    if a.shape != b.shape:
        raise ValueError(f"and_module: a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    return a * b


def or_module(a: Tensor, b: Tensor) -> Tensor:
    r"""``or`` of two maps (or probabilities): the probabilistic sum ``a + b − a ⊙ b`` (∪ on binary maps; unlike
    ``max`` it passes a gradient to both inputs).

    Examples
    --------
    >>> or_module(torch.tensor([1., 1., 0.]), torch.tensor([1., 0., 0.]))
    tensor([1., 1., 0.])
    """
    _check_tensor("or_module", "a", a)
    _check_tensor("or_module", "b", b)
    if a.shape != b.shape:
        raise ValueError(f"or_module: a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    return a + b - a * b


def not_module(a: Tensor, objects: Tensor | None = None) -> Tensor:
    r"""``not``: ``1 − a``; for a set, masked by the objectness map, ``o ⊙ (1 − a)`` (the scene's *other* objects,
    not the empty cells).

    Examples
    --------
    >>> not_module(torch.tensor([[1., 0., 0.] * 3]), torch.tensor([[1., 1., 0.] * 3]))
    tensor([[0., 1., 0., 0., 1., 0., 0., 1., 0.]])
    """
    _check_tensor("not_module", "a", a)
    if objects is None:
        return 1 - a
    _check_tensor("not_module", "objects", objects)
    if objects.shape != a.shape:
        raise ValueError(f"not_module: objects must have the shape of a, {tuple(a.shape)}, got {tuple(objects.shape)}")
    return objects * (1 - a)


def count_module(a: Tensor, width: Tensor | float = 0.25) -> tuple[Tensor, Tensor]:
    r"""``count``: the size of the set ``s = Σ_c a_c`` and answer logits ``−(s − k)² / w`` for the digit ``k``.

    The logits peak at the digit nearest to ``s``; ``w`` (learned in the network) sets how sure the answer is.
    Every other answer gets a very low logit.

    Returns
    -------
    (s, logits): ``(batch,)`` and ``(batch, len(ANSWERS))``

    Examples
    --------
    >>> s, logits = count_module(torch.tensor([[1., 1., 0., 0., 0., 0., 0., 0., 1.]]))
    >>> s.item(), ANSWERS[logits.argmax().item()]
    (3.0, '3')
    """
    _check_map("count_module", "a", a)
    _check_number("count_module", "width", width)
    s = a.sum(1)
    digits = torch.arange(10, dtype=a.dtype, device=a.device)
    logits = a.new_full((a.shape[0], len(ANSWERS)), MASKED)
    logits[:, DIGITS] = -(s[:, None] - digits) ** 2 / width
    return s, logits


def exists_module(a: Tensor, sharpness: Tensor | float = 8.0) -> Tensor:
    r"""``exists``: the soft threshold ``p = σ(κ (Σ_c a_c − ½))``, the probability that the set is not empty.

    Examples
    --------
    >>> exists_module(torch.tensor([[0.] * 8 + [1.]])) > 0.95
    tensor([True])
    """
    _check_map("exists_module", "a", a)
    _check_number("exists_module", "sharpness", sharpness)
    return torch.sigmoid(sharpness * (a.sum(1) - 0.5))


def answer_logits(p: Tensor) -> Tensor:
    r"""A yes/no probability ``p`` ``(batch,)`` as answer logits ``(batch, len(ANSWERS))``: ``log p`` for "yes",
    ``log(1 − p)`` for "no", and a very low logit for every other answer.

    Examples
    --------
    >>> logits = answer_logits(torch.tensor([0.9]))
    >>> ANSWERS[logits.argmax().item()], round(logits.softmax(1)[0, ANSWERS.index("yes")].item(), 3)
    ('yes', 0.9)
    """
    _check_tensor("answer_logits", "p", p)
    if p.dim() != 1 or p.shape[0] == 0 or (p < 0).any() or (p > 1).any():
        raise ValueError(f"answer_logits: p must be a non-empty tensor (batch,) of probabilities in [0, 1], got "
                         f"shape {tuple(p.shape)}")
    p = p.clamp(1e-6, 1 - 1e-6)
    logits = p.new_full((p.shape[0], len(ANSWERS)), MASKED)
    logits[:, ANSWERS.index("yes")] = p.log()
    logits[:, ANSWERS.index("no")] = (1 - p).log()
    return logits


class CellEncoder(nn.Module):
    r"""Per-cell features of a scene in two streams, ``h_c = [colour(x_c), shape(x_c)]``.

    The colour stream is a linear layer on each channel's maximum and mean over the cell,
    ``ReLU(W_1 [max_p x_{c,p}, mean_p x_{c,p}] + b_1)``: it sees hue and brightness, not form. The shape stream is
    an MLP on the cell's grey levels ``x̄_c = mean_rgb(x_c)``: it sees form, not hue. Each half of ``h_c`` thus
    knows one attribute, also for a combination of colour and shape it has never met. Both the module network and
    the flat model of Part 4.1 see the scene through this encoder, so that they differ only in how they reason.

    Parameters
    ----------
    dim : int
        Size of each cell's feature (even: half per stream).
    hidden : int
        Width of the shape stream's hidden layer.

    Examples
    --------
    >>> CellEncoder(16)(torch.zeros(2, 30, 30, 3)).shape
    torch.Size([2, 9, 16])
    """

    def __init__(self, dim: int = 32, hidden: int = 64):
        super().__init__()
        check_positive("CellEncoder", dim=dim, hidden=hidden)
        if dim % 2:
            raise ValueError(f"CellEncoder: dim must be even (half per stream), got {dim}")
        self.dim = dim
        self.colour = nn.Sequential(nn.Linear(6, dim // 2), nn.ReLU())
        self.shape = nn.Sequential(nn.Linear(CELL_SIZE ** 2, hidden), nn.ReLU(), nn.Linear(hidden, dim // 2), nn.ReLU())

    def forward(self, images: Tensor) -> Tensor:
        size = GRID * CELL_SIZE
        if not isinstance(images, Tensor) or images.dim() != 4 or tuple(images.shape[1:]) != (size, size, 3):
            raise ValueError(f"CellEncoder: images must have shape (batch, {size}, {size}, 3), got "
                             f"{getattr(images, 'shape', type(images).__name__)}")
        _check_tensor("CellEncoder", "images", images)
        b = images.shape[0]
        # (b, rows, 10, cols, 10, 3) → (b, 9 cells row-major, 100 pixels, 3)
        cells = images.reshape(b, GRID, CELL_SIZE, GRID, CELL_SIZE, 3).permute(0, 1, 3, 2, 4, 5)
        cells = cells.reshape(b, CELLS, CELL_SIZE ** 2, 3)
        colour = self.colour(torch.cat([cells.amax(2), cells.mean(2)], 2))
        return torch.cat([colour, self.shape(cells.mean(3))], 2)


class Find(nn.Module):
    r"""``find[x]_c = σ(e_xᵀ (m_x ⊙ h_c) + b_x)``: how much cell ``c`` looks like argument ``x`` (a colour, a shape
    or a property of :data:`FIND_ARGUMENTS`). A filter step multiplies the incoming map by it: ``a ⊙ find[x]``.

    The mask ``m_x`` types the module: a colour reads the colour half of :class:`CellEncoder`'s features, a shape
    the shape half, a property both. Without it ``find[circle]`` may learn "circles are never red" from a training
    set without red circles, and fail on the first one it meets.

    Examples
    --------
    >>> Find(16)(torch.zeros(2, 9, 16), torch.tensor([0, 5])).shape
    torch.Size([2, 9])
    """

    def __init__(self, dim: int):
        super().__init__()
        check_positive("Find", dim=dim)
        self.embed = nn.Embedding(len(FIND_ARGUMENTS), dim)
        self.bias = nn.Embedding(len(FIND_ARGUMENTS), 1)
        nn.init.normal_(self.embed.weight, std=1.0)
        nn.init.zeros_(self.bias.weight)
        half = torch.arange(dim) < dim // 2
        masks = [half if x in COLOURS else ~half if x in SHAPES else torch.ones(dim, dtype=torch.bool)
                 for x in FIND_ARGUMENTS]
        self.register_buffer("masks", torch.stack(masks).float())

    def forward(self, h: Tensor, argument: Tensor) -> Tensor:
        _check_cells("Find", "h", h, self.embed.embedding_dim)
        _check_ids("Find", "argument", argument, len(FIND_ARGUMENTS), h.shape[0])
        e = self.embed(argument) * self.masks[argument]  # (batch, dim)
        return torch.sigmoid(torch.einsum("bcd,bd->bc", h, e) + self.bias(argument))


class Relate(nn.Module):
    r"""``relate[r](a)_j = o_j (1 − Π_i (1 − R_r[j, i] a_i))``: cell ``j`` is in the new set if it stands in
    relation ``r`` to *any* cell of the set (a soft "or" over the anchors) and holds an object.

    ``R_r = σ(L_r)`` is a learned 9×9 matrix per relation of :data:`mmcourse.data.RELATIONS`; with the true
    relation (``R_r[j, i] = 1`` iff cell ``j`` is ``r`` of cell ``i``) and binary maps it is exact.

    Examples
    --------
    >>> Relate()(torch.ones(2, 9), torch.tensor([0, 1]), torch.ones(2, 9)).shape
    torch.Size([2, 9])
    """

    def __init__(self):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(len(RELATIONS), CELLS, CELLS))

    def forward(self, a: Tensor, relation: Tensor, objects: Tensor) -> Tensor:
        _check_map("Relate", "a", a)
        _check_ids("Relate", "relation", relation, len(RELATIONS), a.shape[0])
        _check_map("Relate", "objects", objects, a.shape[0])
        R = torch.sigmoid(self.logits)[relation]  # (batch, 9 targets j, 9 anchors i)
        return objects * (1 - torch.prod(1 - R * a[:, None, :], dim=2))


class Query(nn.Module):
    r"""``query_colour`` / ``query_shape``: the attention-weighted feature ``v = Σ_c a_c h_c / Σ_c a_c`` through a
    linear map, ``W v + b``, with only the colour (or shape) answers allowed.

    Examples
    --------
    >>> Query(16)(torch.zeros(2, 9, 16), torch.ones(2, 9), "colour").shape
    torch.Size([2, 19])
    """

    def __init__(self, dim: int):
        super().__init__()
        check_positive("Query", dim=dim)
        self.heads = nn.ModuleDict({"colour": nn.Linear(dim, len(COLOURS)), "shape": nn.Linear(dim, len(SHAPES))})

    def forward(self, h: Tensor, a: Tensor, key: str) -> Tensor:
        if key not in self.heads:
            raise ValueError(f"Query: key must be 'colour' or 'shape', got {key!r}")
        _check_cells("Query", "h", h, self.heads["colour"].in_features)
        _check_map("Query", "a", a, h.shape[0])
        v = torch.einsum("bc,bcd->bd", a, h) / (a.sum(1, keepdim=True) + 1e-6)
        words = COLOURS if key == "colour" else SHAPES
        logits = v.new_full((a.shape[0], len(ANSWERS)), MASKED)
        logits[:, [ANSWERS.index(w) for w in words]] = self.heads[key](v)
        return logits
