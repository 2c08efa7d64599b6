"""The multimodal classifier of Part 2.1: one encoder per modality, a fusion, and a linear head.

The head is linear on purpose: every cross-modal interaction the model can use must then come from the fusion
layer. With a nonlinear head, additive fusion quietly becomes nonlinear fusion (``head="mlp"`` shows it).
"""
from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from mmcourse._checks import check_int
from mmcourse.encoders import MLPEncoder, make_encoder
from mmcourse.representation.fusion import FUSIONS, make_fusion

__all__ = ["FusionModel"]


class FusionModel(nn.Module):
    """``logits = V · fusion(enc₁(x₁), …, enc_M(x_M)) + c`` (or an MLP head with ``head="mlp"``).

    Early fusion (``fusion.raw_inputs``) skips the encoders: it receives the flattened raw inputs.

    Parameters
    ----------
    samples : sequence of torch.Tensor
        One example per modality (no batch axis), e.g. ``[x[0] for x in inputs]``; it fixes the encoders'
        input shapes. 2-D samples of different heights and one width are refused: they look like batches.
    num_classes : int
    fusion : str
        A name from :data:`mmcourse.representation.FUSIONS`.
    width : int
        The size of every modality's features and of the fused vector.
    rank : int
        The rank of low-rank fusion (ignored by the fusions that have no rank).
    head : {"linear", "mlp"}
    encoder : {"auto", "mlp"}
        ``"auto"`` picks each modality's encoder from its shape (:func:`mmcourse.encoders.make_encoder`: a CNN for
        images); ``"mlp"`` flattens every input and uses an MLP, several times faster on the CPU.
    **fusion_kwargs
        Passed to the fusion's constructor.

    Examples
    --------
    >>> import torch
    >>> model = FusionModel([torch.zeros(12), torch.zeros(12)], 2, fusion="tensor", width=8)
    >>> model(torch.zeros(5, 12), torch.zeros(5, 12)).shape
    torch.Size([5, 2])
    """

    def __init__(self, samples: Sequence[Tensor], num_classes: int, fusion: str = "tensor", *, width: int = 16,
                 rank: int = 4, head: str = "linear", encoder: str = "auto", **fusion_kwargs):
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"FusionModel: unknown fusion {fusion!r}; known fusions: {', '.join(FUSIONS)}")
        if head not in ("linear", "mlp"):
            raise ValueError(f"FusionModel: head must be 'linear' or 'mlp', got {head!r}")
        if encoder not in ("auto", "mlp"):
            raise ValueError(f"FusionModel: encoder must be 'auto' or 'mlp', got {encoder!r}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"FusionModel: num_classes must be an integer ≥ 2, got {num_classes!r}")
        check_int("FusionModel", "rank", rank, low=1)
        if isinstance(samples, Tensor) or not isinstance(samples, (list, tuple)):
            raise TypeError(f"FusionModel: samples must be a sequence of tensors, one example per modality (e.g. "
                            f"[x[0] for x in inputs]), got {type(samples).__name__}")
        if len(samples) < 2:
            raise ValueError(f"FusionModel: expected at least 2 modalities, got {len(samples)}")
        for m, s in enumerate(samples):
            if not isinstance(s, Tensor):
                raise TypeError(f"FusionModel: samples[{m}] must be a torch.Tensor (one example of modality {m}), "
                                f"got {type(s).__name__}")
            if s.numel() == 0:
                raise ValueError(f"FusionModel: samples[{m}] is empty (shape {tuple(s.shape)}); expected one example")
        shapes = [tuple(s.shape) for s in samples]
        if all(len(shape) == 2 for shape in shapes) and len({shape[1] for shape in shapes}) == 1 \
                and len({shape[0] for shape in shapes}) > 1:
            # Batches of vectors passed by mistake (the whole x instead of x[0]) would silently become CNN encoders
            # for "images" of different heights. Two genuine 2-D examples of one width and different heights are
            # refused too: no dataset of the book has them (its images and spectrograms differ in width).
            raise ValueError(f"FusionModel: samples must hold one example per modality without the batch axis, e.g. "
                             f"[x[0] for x in inputs]; got shapes {' and '.join(map(str, shapes))}, which look like "
                             f"batches of different sizes of {shapes[0][1]} features each")
        if FUSIONS[fusion].uses_rank:
            fusion_kwargs["rank"] = rank
        self.fusion_name = fusion
        if FUSIONS[fusion].raw_inputs:
            self.encoders = nn.ModuleList(nn.Flatten() for _ in samples)
        elif encoder == "mlp":
            self.encoders = nn.ModuleList(nn.Sequential(nn.Flatten(), MLPEncoder(s.numel(), width)) for s in samples)
        else:
            self.encoders = nn.ModuleList(make_encoder(s, width) for s in samples)
        dims = [s.numel() for s in samples] if FUSIONS[fusion].raw_inputs else [width] * len(samples)
        self.fusion = make_fusion(fusion, dims, width, **fusion_kwargs)
        self.head = (nn.Linear(width, num_classes) if head == "linear"
                     else nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, num_classes)))
        self.sample_shapes = [tuple(s.shape) for s in samples]

    def fused(self, *xs: Tensor) -> Tensor:
        """The fused vector ``z`` (before the head), e.g. for an embedding view."""
        if len(xs) != len(self.encoders):
            raise ValueError(f"FusionModel: expected {len(self.encoders)} modalities, got {len(xs)}")
        for m, (x, shape) in enumerate(zip(xs, self.sample_shapes), start=1):
            if not isinstance(x, Tensor):
                raise TypeError(f"FusionModel: modality {m} must be a torch.Tensor, got {type(x).__name__}")
            if tuple(x.shape[1:]) != shape:
                raise ValueError(f"FusionModel: modality {m} must have shape (batch, {', '.join(map(str, shape))}),"
                                 f" got {tuple(x.shape)}")
        return self.fusion(*(enc(x) for enc, x in zip(self.encoders, xs)))

    def forward(self, *xs: Tensor) -> Tensor:
        return self.head(self.fused(*xs))

