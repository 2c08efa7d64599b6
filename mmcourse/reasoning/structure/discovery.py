r"""Part 4.1, structure discovery: search over temporal reasoning structures by successive halving.

The space is every :class:`TemporalStructure`: *where* the modalities meet (``"early"``: at every frame, one GRU;
``"late"``: only in a linear head on the final states; ``"mfn"``: in a gated cross-modal memory that reads
consecutive steps), a *depth* (stacked GRU layers for the baselines, the attention window for the memory) and a
*width* (the recurrent state). The search is Part 2.2's :func:`~mmcourse.representation.successive_halving`
(Jamieson and Talwalkar 2016; the loop behind :func:`~mmcourse.representation.search_fusion`): train every
candidate briefly, keep the better ``1/eta`` on validation accuracy, train the survivors ``eta`` times longer,
repeat.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from torch import Tensor, nn

from mmcourse._checks import check_same_rows, check_tensor

from mmcourse.reasoning.structure.temporal import TEMPORAL_MODELS, make_temporal_model
from mmcourse.representation.heterogeneous.search import SearchResult, successive_halving
from mmcourse.utils import check_positive

__all__ = ["TemporalStructure", "temporal_search_space", "search_temporal_structure"]


@dataclass(frozen=True)
class TemporalStructure:
    """One temporal reasoning structure: where the modalities meet, a depth and a width.

    ``fusion`` is a key of :data:`~mmcourse.reasoning.TEMPORAL_MODELS`; ``depth`` is the number of stacked GRU
    layers for ``"early"`` and ``"late"`` and the attention window for ``"mfn"``; ``hidden`` is the GRU state size.

    Examples
    --------
    >>> s = TemporalStructure("mfn", 2, 16)
    >>> str(s), s.cross_modal
    ('mfn (window 2, hidden 16)', True)
    """

    fusion: str
    depth: int
    hidden: int

    def __post_init__(self):
        if self.fusion not in TEMPORAL_MODELS:
            raise ValueError(f"TemporalStructure: unknown fusion={self.fusion!r}; known: {', '.join(TEMPORAL_MODELS)}")
        check_positive("TemporalStructure", depth=self.depth, hidden=self.hidden)

    @property
    def cross_modal(self) -> bool:
        """Whether the modalities interact over time (at every step or through the memory), not only in the head."""
        return self.fusion != "late"

    def build(self, input_dims: Sequence[int], num_classes: int) -> nn.Module:
        """The untrained network of this structure (the memory's own size follows ``hidden``)."""
        if self.fusion == "mfn":
            return make_temporal_model("mfn", input_dims, num_classes, hidden=self.hidden, memory=self.hidden,
                                       window=self.depth, width=2 * self.hidden)
        return make_temporal_model(self.fusion, input_dims, num_classes, hidden=self.hidden, layers=self.depth)

    def __str__(self) -> str:
        depth = f"window {self.depth}" if self.fusion == "mfn" else f"{self.depth} layer{'s' * (self.depth > 1)}"
        return f"{self.fusion} ({depth}, hidden {self.hidden})"


def temporal_search_space(fusions: Sequence[str] = ("early", "late", "mfn"), depths: Sequence[int] = (1, 2),
                          hiddens: Sequence[int] = (8, 16)) -> list[TemporalStructure]:
    """Every :class:`TemporalStructure` of ``fusions × depths × hiddens``, in that order.

    Examples
    --------
    >>> len(temporal_search_space()), str(temporal_search_space()[0])
    (12, 'early (1 layer, hidden 8)')
    """
    if isinstance(fusions, str) or not fusions or not depths or not hiddens:
        raise ValueError(f"temporal_search_space: fusions, depths and hiddens must be non-empty lists, got "
                         f"fusions={fusions!r}, depths={depths!r}, hiddens={hiddens!r}")
    return [TemporalStructure(f, d, h) for f, d, h in itertools.product(fusions, depths, hiddens)]


def search_temporal_structure(train: tuple[Sequence[Tensor], Tensor], val: tuple[Sequence[Tensor], Tensor], *,
                              space: Sequence[TemporalStructure] | None = None, **kwargs) -> SearchResult:
    """Search the temporal structures (default :func:`temporal_search_space`) by :func:`successive_halving`.

    Book section: Part 4.1 (structure discovery).

    Parameters
    ----------
    train, val : (list of Tensor, Tensor)
        Sequences ``(batch, steps, d_m)`` per modality and labels, as from :func:`mmcourse.data.as_tensors`.
    space : sequence of TemporalStructure, optional
    **kwargs
        ``epochs``, ``eta``, ``rounds``, ``lr``, ``batch_size``, ``seed`` of :func:`successive_halving`.

    Returns
    -------
    SearchResult
        As from :func:`successive_halving`, with a ``fusion`` column added to the table.

    Examples
    --------
    >>> from mmcourse.data import as_tensors, load_temporal
    >>> data = load_temporal(n_train=32, n_val=16, n_test=4, cache=False)
    >>> result = search_temporal_structure(as_tensors(data["train"]), as_tensors(data["validation"]),
    ...                                    space=temporal_search_space(depths=(1,), hiddens=(4,)), epochs=1)
    >>> sorted(result.table["fusion"])
    ['early', 'late', 'mfn']
    """
    space = temporal_search_space() if space is None else list(space)
    if not space or not all(isinstance(s, TemporalStructure) for s in space):
        raise TypeError(f"search_temporal_structure: space must be a non-empty list of TemporalStructure, got "
                        f"{[type(s).__name__ for s in space]}")
    for name, data in (("train", train), ("val", val)):
        _check_split("search_temporal_structure", name, data)
    xs, y = train
    input_dims, num_classes = [x.shape[-1] for x in xs], int(y.max()) + 1
    result = successive_halving(space, lambda s: s.build(input_dims, num_classes), train, val, **kwargs)
    by_name = {str(s): s for s in space}
    result.table.insert(0, "fusion", [by_name[name].fusion for name in result.table.index])
    return result


def _check_split(where: str, name: str, data) -> None:
    """``data`` is ``(list of (batch, steps, d_m) sequences, labels (batch,))``, as from ``as_tensors``."""
    if not isinstance(data, (tuple, list)) or len(data) != 2 or not isinstance(data[0], (tuple, list)) or not data[0]:
        raise TypeError(f"{where}: {name} must be a pair (list of sequences (batch, steps, d), labels), got "
                        f"{type(data).__name__}")
    xs, y = data
    for m, x in enumerate(xs):
        check_tensor(where, f"{name}[0][{m}]", x, dim=3)
    check_tensor(where, f"{name}[1]", y, dim=1, kind="int")
    check_same_rows(where, **{f"{name}[0][{m}]": x for m, x in enumerate(xs)}, **{f"{name}[1]": y})
