r"""Part 2.1, fusion on pretrained, frozen encoders: train each encoder on its own modality, freeze it, fuse.

The survey's starting point for fusion (Liang, Zadeh and Morency, 2024) is a pair of unimodal encoders that were
**pretrained** first, each on data of its own modality, and are then **frozen**: only the fusion and the head learn
from the paired data,

.. math::

    \min_{\theta_f,\,V}\ \mathcal L\big(V f_{\theta_f}(\mathrm{enc}_1^\star(x_1), \mathrm{enc}_2^\star(x_2)), y\big),

with :math:`\mathrm{enc}_m^\star` fixed. What the encoders keep is decided by their pretraining objective
(:data:`PRETRAINING_OBJECTIVES`): ``"label"`` trains ``enc_m`` with a linear head to predict the label from modality
``m`` alone (keeps what each modality says about ``y`` by itself), ``"autoencoder"`` trains it with a linear decoder
to reconstruct its input (keeps the input, whatever the label). :func:`pretrain_encoders` runs either,
:func:`with_encoders` puts the encoders into a :class:`~mmcourse.representation.FusionModel` and freezes them.
What frozen features keep can then be measured with a probe (:func:`mmcourse.representation.linear_probe`).

Book section: Part 2.1 Fusion (fusion on pretrained encoders).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from mmcourse.encoders import UnimodalClassifier
from mmcourse.training import fit
from mmcourse.transference.transfer.parameters import freeze
from mmcourse.utils import check_positive

__all__ = ["PRETRAINING_OBJECTIVES", "Autoencoder", "pretrain_unimodal", "pretrain_encoders", "with_encoders"]

PRETRAINING_OBJECTIVES = ("label", "autoencoder")
"""What a unimodal encoder can be pretrained to do: predict the label alone, or reconstruct its own input."""


def _check_tensor(where: str, name: str, x, *, floating: bool = True, batch: bool = False) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{where}: {name} must be a torch.Tensor, got {type(x).__name__}")
    if batch and x.dim() == 0:
        raise ValueError(f"{where}: {name} must be a batch (n, ...) of examples, got a 0-d tensor")
    if floating and not (x.is_floating_point() and torch.isfinite(x).all()):
        raise ValueError(f"{where}: {name} must be a finite float tensor, got dtype {x.dtype}"
                         f"{'' if not x.is_floating_point() else ' with NaN or infinite values'}")
    return x


def _out_dim(encoder: nn.Module, where: str) -> int:
    """The feature size of an encoder, which every encoder of :mod:`mmcourse.encoders` states as ``out_dim``."""
    dim = getattr(encoder, "out_dim", None)
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise ValueError(f"{where}: encoder {type(encoder).__name__} must have an integer attribute out_dim (its "
                         f"feature size), got {dim!r}")
    return dim


class Autoencoder(nn.Module):
    r"""A unimodal encoder with a linear decoder: ``x̂ = D enc(x) + d``, trained on ``‖x̂ − vec(x)‖² / n``.

    :math:`\hat x = D\,\mathrm{enc}(x) + d`, loss :math:`\frac1n \lVert \hat x - \operatorname{vec}(x) \rVert^2`
    (mean over the ``n`` input values). The decoder is linear on purpose: the features must then hold the input
    almost linearly, which is what a linear fusion on top can use. It needs no label.

    Paper: G. E. Hinton and R. R. Salakhutdinov (2006), "Reducing the Dimensionality of Data with Neural
    Networks", Science (the autoencoder, here in its smallest form).

    Book section: Part 2.1 Fusion (fusion on pretrained encoders).

    Parameters
    ----------
    encoder : nn.Module
        Maps ``(batch, *input_shape)`` to ``(batch, out_dim)``; it must say its ``out_dim``.
    input_shape : sequence of int
        The shape of one example, e.g. ``(8, 8)``.

    Examples
    --------
    >>> from mmcourse.encoders import MLPEncoder
    >>> ae = Autoencoder(MLPEncoder(12, 4), (12,))
    >>> ae(torch.zeros(5, 12)).shape, ae.loss(torch.zeros(5, 12)).shape
    (torch.Size([5, 12]), torch.Size([]))
    """

    def __init__(self, encoder: nn.Module, input_shape: Sequence[int]):
        super().__init__()
        if not isinstance(encoder, nn.Module):
            raise TypeError(f"Autoencoder: encoder must be a torch.nn.Module, got {type(encoder).__name__}")
        shape = tuple(input_shape)
        check_positive("Autoencoder", **{f"input_shape[{i}]": s for i, s in enumerate(shape)})
        self.encoder, self.input_shape = encoder, shape
        self.decoder = nn.Linear(_out_dim(encoder, "Autoencoder"), int(torch.Size(shape).numel()))  # D, d

    def forward(self, x: Tensor) -> Tensor:
        """The reconstruction ``x̂`` of ``x``, flattened: ``(batch, n)``."""
        return self.decoder(self.encoder(x))

    def loss(self, x: Tensor) -> Tensor:
        """Mean squared reconstruction error ``‖x̂ − vec(x)‖² / n``, averaged over the batch."""
        return ((self(x) - x.flatten(1)) ** 2).mean()


def pretrain_unimodal(encoder: nn.Module, x: Tensor, labels: Tensor | None = None, *, objective: str = "label",
                      num_classes: int | None = None, epochs: int = 100, lr: float = 1e-2) -> nn.Module:
    r"""Pretrain ``encoder`` (in place) on one modality's data ``x`` with ``objective``; full batches, Adam.

    ``"label"``: :math:`\min_{\theta, U} \mathcal L_{\mathrm{CE}}(U\,\mathrm{enc}_\theta(x), y)`, a linear head ``U``
    on the features (what this modality says about the label by itself). ``"autoencoder"``:
    :math:`\min_{\theta, D} \frac1n \lVert D\,\mathrm{enc}_\theta(x) + d - x \rVert^2` (:class:`Autoencoder`; no
    label needed).

    Book section: Part 2.1 Fusion (fusion on pretrained encoders).

    Parameters
    ----------
    encoder : nn.Module
        Maps ``x`` to features ``(batch, out_dim)``; it must say its ``out_dim``.
    x : Tensor
        The modality's examples, ``(n, *input_shape)``.
    labels : Tensor, optional
        ``(n,)`` class indices; required for ``objective="label"``, ignored by the autoencoder.
    objective : {"label", "autoencoder"}
    num_classes : int, optional
        Defaults to ``labels.max() + 1``.
    epochs, lr : int, float

    Returns
    -------
    nn.Module
        The pretraining model, whose ``encoder`` attribute is ``encoder``: a
        :class:`~mmcourse.encoders.UnimodalClassifier` (evaluate it to see what one modality says alone) or an
        :class:`Autoencoder`. Its head or decoder is thrown away for fusion.

    Examples
    --------
    >>> from mmcourse.encoders import MLPEncoder
    >>> enc = MLPEncoder(12, 4)
    >>> pretrain_unimodal(enc, torch.randn(32, 12), objective="autoencoder", epochs=2).encoder is enc
    True
    """
    where = "pretrain_unimodal"
    if objective not in PRETRAINING_OBJECTIVES:
        raise ValueError(f"{where}: unknown objective {objective!r}; known objectives: "
                         f"{', '.join(PRETRAINING_OBJECTIVES)}")
    if not isinstance(encoder, nn.Module):
        raise TypeError(f"{where}: encoder must be a torch.nn.Module, got {type(encoder).__name__}")
    x = _check_tensor(where, "x", x, batch=True)
    check_positive(where, epochs=epochs)
    if not lr > 0:
        raise ValueError(f"{where}: lr must be positive, got {lr!r}")
    if objective == "autoencoder":
        model = Autoencoder(encoder, x.shape[1:])
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        for _ in range(epochs):
            loss = model.loss(x)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return model
    labels = _check_tensor(where, "labels", labels, floating=False)
    if labels.shape != (x.shape[0],) or labels.is_floating_point():
        raise ValueError(f"{where}: labels must be ({x.shape[0]},) integer class indices for x of shape "
                         f"{tuple(x.shape)}, got {tuple(labels.shape)} of dtype {labels.dtype}")
    num_classes = int(labels.max()) + 1 if num_classes is None else num_classes
    check_positive(where, num_classes=num_classes)
    _out_dim(encoder, where)
    model = UnimodalClassifier(encoder, num_classes)
    fit(model, ([x], labels), epochs=epochs, lr=lr, batch_size=len(labels), progress=False)
    return model


def pretrain_encoders(encoders: Sequence[nn.Module], inputs: Sequence[Tensor], labels: Tensor | None = None, *,
                      objective: str = "label", **kwargs) -> list[nn.Module]:
    """Pretrain one encoder per modality, each on its own modality alone (:func:`pretrain_unimodal`).

    The modalities need not be paired: ``inputs[m]`` may hold other examples (and another number of them) than
    ``inputs[k]``; ``labels`` is then a list with one label tensor per modality.

    Returns
    -------
    list of nn.Module
        One pretraining model per modality (see :func:`pretrain_unimodal`).

    Examples
    --------
    >>> from mmcourse.encoders import MLPEncoder
    >>> xs, y = [torch.randn(32, 12), torch.randn(32, 6)], torch.randint(0, 2, (32,))
    >>> [type(m).__name__ for m in pretrain_encoders([MLPEncoder(12, 4), MLPEncoder(6, 4)], xs, y, epochs=2)]
    ['UnimodalClassifier', 'UnimodalClassifier']
    """
    encoders, inputs = list(encoders), list(inputs)
    for m, x in enumerate(inputs):
        _check_tensor("pretrain_encoders", f"inputs[{m}]", x, batch=True)
    if len(encoders) != len(inputs):
        raise ValueError(f"pretrain_encoders: got {len(encoders)} encoders but {len(inputs)} input tensors; "
                         f"expected one encoder per modality")
    per_modality = list(labels) if isinstance(labels, (list, tuple)) else [labels] * len(inputs)
    if len(per_modality) != len(inputs):
        raise ValueError(f"pretrain_encoders: got {len(per_modality)} label tensors for {len(inputs)} modalities")
    return [pretrain_unimodal(e, x, y, objective=objective, **kwargs)
            for e, x, y in zip(encoders, inputs, per_modality)]


def with_encoders(model: nn.Module, encoders: Sequence[nn.Module], *, frozen: bool = True) -> nn.Module:
    """Put ``encoders`` into ``model`` (a :class:`~mmcourse.representation.FusionModel`) and, by default, freeze them.

    ``FusionModel`` builds its own encoders; this swaps its ``encoders`` list for the given ones, so that fusion and
    head are then trained on top. Frozen encoders get ``requires_grad=False``: no gradient reaches them, so ``fit``'s
    Adam leaves them as they are. (``fit`` puts the whole model in training mode, so an encoder with dropout or
    batch norm would still behave as in training; the book's encoders have neither.) With ``frozen=False`` every
    parameter of the encoders requires a gradient again: the pretrained encoders are *fine-tuned* with the rest.

    Returns
    -------
    nn.Module
        ``model`` itself, for chaining.

    Examples
    --------
    >>> from mmcourse.encoders import MLPEncoder
    >>> from mmcourse.representation import FusionModel
    >>> from mmcourse.transference import trainable_parameters
    >>> model = FusionModel([torch.zeros(12), torch.zeros(12)], 2, "additive", width=4)
    >>> trainable_parameters(with_encoders(model, [MLPEncoder(12, 4), MLPEncoder(12, 4)]))  # fusion 36 + head 10
    46
    """
    model.encoders = nn.ModuleList(_check_swap(model, encoders))     # the model's own encoders are dropped
    for encoder in model.encoders:
        if frozen:
            freeze(encoder)                                           # requires_grad = False on every parameter
        else:
            encoder.requires_grad_(True)                              # fine-tuning: they train with the rest
    return model


def _check_swap(model: nn.Module, encoders: Sequence[nn.Module]) -> list[nn.Module]:
    where = "with_encoders"
    encoders = list(encoders)
    old = getattr(model, "encoders", None)
    if not isinstance(old, nn.ModuleList) or not hasattr(model, "fusion"):
        raise TypeError(f"{where}: model must be a FusionModel (with encoders and fusion), got {type(model).__name__}")
    if len(encoders) != len(old):
        raise ValueError(f"{where}: the model has {len(old)} modalities, got {len(encoders)} encoders")
    for m, (encoder, dim) in enumerate(zip(encoders, model.fusion.input_dims), start=1):
        if not isinstance(encoder, nn.Module):
            raise TypeError(f"{where}: encoder {m} must be a torch.nn.Module, got {type(encoder).__name__}")
        if _out_dim(encoder, where) != dim:
            raise ValueError(f"{where}: encoder {m} gives {_out_dim(encoder, where)} features but the fusion expects "
                             f"{dim} (the model's width)")
    return encoders
