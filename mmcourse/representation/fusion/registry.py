"""The registry of fusions: every fusion of Part 2.1 by name, in the book's order, and :func:`make_fusion`."""
from __future__ import annotations

import inspect
from collections.abc import Sequence

from mmcourse.representation.fusion.base import Fusion
from mmcourse.representation.fusion.gated import GatedFusion, MixtureOfFusions, ModalityShiftingFusion
from mmcourse.representation.fusion.interactions import (LowRankFusion, MIMatrixFusion, MIScalarFusion,
                                                         MIVectorFusion, TensorFusion)
from mmcourse.representation.fusion.simple import (AdditiveFusion, EarlyFusion, LateFusion, MultiplicativeFusion,
                                                   NonlinearFusion)

__all__ = ["FUSIONS", "make_fusion"]

FUSIONS: dict[str, type[Fusion]] = {
    "early": EarlyFusion,
    "late": LateFusion,
    "additive": AdditiveFusion,
    "multiplicative": MultiplicativeFusion,
    "mi_scalar": MIScalarFusion,
    "mi_vector": MIVectorFusion,
    "mi_matrix": MIMatrixFusion,
    "tensor": TensorFusion,
    "low_rank": LowRankFusion,
    "gated": GatedFusion,
    "modality_shifting": ModalityShiftingFusion,
    "mixture": MixtureOfFusions,
    "nonlinear": NonlinearFusion,
}
"""Every fusion of Part 2.1 by name, in the order the book teaches them."""


def fusion_keywords(name: str) -> dict[str, object]:
    """The keyword arguments that fusion ``name`` accepts, with their defaults (e.g. for a widget's controls).

    Examples
    --------
    >>> fusion_keywords("low_rank")
    {'rank': 4}
    >>> fusion_keywords("additive")
    {}
    """
    cls = _lookup(name)
    params = inspect.signature(cls.__init__).parameters.values()
    return {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}


def make_fusion(name: str, input_dims: Sequence[int], output_dim: int, **kwargs) -> Fusion:
    """Build the fusion registered as ``name``: ``FUSIONS[name](input_dims, output_dim, **kwargs)``.

    Parameters
    ----------
    name : str
        A key of :data:`FUSIONS`.
    input_dims : sequence of int
        Feature sizes ``d_m`` of the modalities.
    output_dim : int
        Size of the fused vector.
    **kwargs
        The fusion's own keywords (``rank`` for ``"low_rank"``, ``hidden`` for ``"nonlinear"``, ...).

    Returns
    -------
    Fusion

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones) or a bad argument value.
    TypeError
        For a keyword that this fusion does not take (the message lists those it takes).

    Examples
    --------
    >>> fusion = make_fusion("low_rank", (3, 5), 4, rank=2)
    >>> type(fusion).__name__, fusion.rank
    ('LowRankFusion', 2)
    """
    cls = _lookup(name)
    allowed = fusion_keywords(name)
    unknown = [k for k in kwargs if k not in allowed]
    if unknown:
        takes = ", ".join(f"{k}={v!r}" for k, v in allowed.items()) or "none"
        raise TypeError(f"make_fusion: fusion {name!r} ({cls.__name__}) does not take the keyword"
                        f"{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                        f"the keywords it takes: {takes}")
    return cls(input_dims, output_dim, **kwargs)


def _lookup(name: str) -> type[Fusion]:
    if not isinstance(name, str) or name not in FUSIONS:
        raise ValueError(f"unknown fusion {name!r}; known fusions: {', '.join(FUSIONS)}")
    return FUSIONS[name]
