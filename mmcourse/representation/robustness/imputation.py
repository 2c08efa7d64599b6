r"""Inferring a missing modality from the others: a regressor :math:`\hat x_t = g(x_s)` fills the gap at test time.

When modality :math:`t` is missing, a fused model can be given zeros (what it saw under modality dropout), or a
guess of :math:`x_t` made from the modalities it does have. The guess helps exactly as far as the modalities share
information: on redundant data the other modality says a lot about the missing one; on uniqueness or synergy data
it says little or nothing. Translation between modalities is the same idea taken further (Part 6, and e.g.
Pham et al., 2019, *Found in Translation*; Ma et al., 2021, *SMIL*).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from mmcourse._checks import check_module, check_number, check_same_rows, check_tensor
from mmcourse.utils import get_device, trained_on

__all__ = ["ModalityImputer", "fit_imputer", "impute"]


class ModalityImputer(nn.Module):
    r"""An MLP that predicts one modality from the others: :math:`\hat x_t = g([\,\mathrm{vec}\, x_s]_{s \ne t})`.

    Trained with the squared error :math:`\lVert \hat x_t - x_t \rVert^2` (:func:`fit_imputer`); the output has the
    target modality's shape.

    Parameters
    ----------
    source_shapes : sequence of tuple
        The shape of one example of each source modality (no batch axis), e.g. ``[(8, 8)]``.
    target_shape : tuple
        The shape of one example of the modality to predict, e.g. ``(12, 16)``.
    hidden : sequence of int
        Hidden widths of the MLP (ReLU between layers); ``()`` makes the imputer linear, :math:`\hat x_t = W x_s + b`.

    Examples
    --------
    >>> imputer = ModalityImputer([(8, 8)], (12, 16))
    >>> imputer(torch.zeros(5, 8, 8)).shape
    torch.Size([5, 12, 16])
    """

    def __init__(self, source_shapes: Sequence[Sequence[int]], target_shape: Sequence[int],
                 hidden: Sequence[int] = (64,)):
        super().__init__()
        if not source_shapes:
            raise ValueError("ModalityImputer: source_shapes is empty; give the shape of at least one source modality")
        self.source_shapes = [tuple(int(d) for d in s) for s in source_shapes]
        self.target_shape = tuple(int(d) for d in target_shape)
        for name, shape in [*((f"source_shapes[{i}]", s) for i, s in enumerate(self.source_shapes)),
                            ("target_shape", self.target_shape)]:
            if any(d < 1 for d in shape):
                raise ValueError(f"ModalityImputer: {name} must hold positive sizes, got {shape}")
        if any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden):
            raise ValueError(f"ModalityImputer: hidden must be positive integers, got {list(hidden)}")
        widths = [sum(torch.Size(s).numel() for s in self.source_shapes), *hidden,
                  torch.Size(self.target_shape).numel()]
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.net = nn.Sequential(*layers[:-1])  # no ReLU after the last layer: the output is a regression

    def forward(self, *sources: Tensor) -> Tensor:
        if len(sources) != len(self.source_shapes):
            raise ValueError(f"ModalityImputer: expected {len(self.source_shapes)} source modalities, got "
                             f"{len(sources)}")
        for i, (x, shape) in enumerate(zip(sources, self.source_shapes)):
            check_tensor("ModalityImputer", f"sources[{i}]", x)
            if tuple(x.shape[1:]) != shape:
                raise ValueError(f"ModalityImputer: source {i} must have shape (batch, {', '.join(map(str, shape))})"
                                 f", got {tuple(x.shape)}")
        check_same_rows("ModalityImputer", **{f"sources[{i}]": x for i, x in enumerate(sources)})
        flat = torch.cat([x.reshape(x.shape[0], -1) for x in sources], dim=1)
        return self.net(flat).reshape(-1, *self.target_shape)


def fit_imputer(imputer: ModalityImputer, sources: Sequence[Tensor], target: Tensor, *, epochs: int = 50,
                lr: float = 1e-2, batch_size: int = 256, weight_decay: float = 0.0,
                device: torch.device | str | None = None) -> list[float]:
    """Train ``imputer`` to predict ``target`` from ``sources`` with Adam on the mean squared error.

    Parameters
    ----------
    imputer : ModalityImputer
    sources : sequence of torch.Tensor
        The source modalities of the training examples.
    target : torch.Tensor
        The modality to predict, for the same examples.
    epochs, lr, batch_size, weight_decay
        Optimisation settings; batches are shuffled with torch's global generator (seed it with
        :func:`mmcourse.set_seed`).
    device : optional
        Defaults to :func:`mmcourse.get_device`.

    Returns
    -------
    list of float
        The mean squared error of each epoch.

    Examples
    --------
    >>> x = torch.randn(256, 3); y = x @ torch.tensor([[1.0], [2.0], [-1.0]])
    >>> losses = fit_imputer(ModalityImputer([(3,)], (1,), hidden=()), [x], y, epochs=100, lr=0.05)
    >>> losses[-1] < 1e-3
    True
    """
    check_module("fit_imputer", "imputer", imputer, ModalityImputer)
    sources = list(sources)
    if len(sources) != len(imputer.source_shapes):
        raise ValueError(f"fit_imputer: the imputer reads {len(imputer.source_shapes)} source modalities, got "
                         f"{len(sources)}")
    for i, (x, shape) in enumerate(zip(sources, imputer.source_shapes)):
        check_tensor("fit_imputer", f"sources[{i}]", x, shape=(None, *shape))
    check_tensor("fit_imputer", "target", target, dim=len(imputer.target_shape) + 1)
    lr = check_number("fit_imputer", "lr", lr, low=0, low_open=True)
    weight_decay = check_number("fit_imputer", "weight_decay", weight_decay, low=0)
    if not sources or any(x.shape[0] != target.shape[0] for x in sources):
        raise ValueError(f"fit_imputer: sources must be a non-empty list of tensors with as many rows as target "
                         f"({target.shape[0]}), got {[tuple(x.shape) for x in sources]}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"fit_imputer: {name} must be a positive integer, got {value!r}")
    if tuple(target.shape[1:]) != imputer.target_shape:
        raise ValueError(f"fit_imputer: target must have shape (batch, {', '.join(map(str, imputer.target_shape))}),"
                         f" got {tuple(target.shape)}")
    device = get_device(device)
    with trained_on(imputer, device):  # back on its own device afterwards
        imputer.train()
        sources, target = [x.to(device) for x in sources], target.to(device)
        optimizer = torch.optim.Adam(imputer.parameters(), lr=lr, weight_decay=weight_decay)
        n, losses = target.shape[0], []
        for _ in range(epochs):
            order, total = torch.randperm(n).to(device), 0.0
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                loss = nn.functional.mse_loss(imputer(*(x[idx] for x in sources)), target[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(idx)
            losses.append(total / n)
        imputer.eval()
    return losses


@torch.no_grad()
def impute(inputs: Sequence[Tensor], missing: int, imputer: ModalityImputer) -> list[Tensor]:
    """Replace modality ``missing`` (0-based) of ``inputs`` by the imputer's prediction from the other modalities.

    Examples
    --------
    >>> imputer = ModalityImputer([(2,)], (3,), hidden=())
    >>> x1, x2 = torch.randn(4, 2), torch.zeros(4, 3)
    >>> filled = impute([x1, x2], 1, imputer)
    >>> torch.allclose(filled[1], imputer(x1)), filled[0] is x1
    (True, True)
    """
    check_module("impute", "imputer", imputer, ModalityImputer)
    inputs = list(inputs)
    for m, x in enumerate(inputs):  # the missing modality only holds a place: its values are never read
        check_tensor("impute", f"inputs[{m}]", x, finite=m != missing)
        if x.dim() == 0:
            raise ValueError(f"impute: inputs[{m}] must have a batch axis (n, ...), got a scalar tensor")
    check_same_rows("impute", **{f"inputs[{m}]": x for m, x in enumerate(inputs)})
    if isinstance(missing, bool) or not isinstance(missing, int) or not 0 <= missing < len(inputs):
        raise ValueError(f"impute: missing must be an index in 0..{len(inputs) - 1} (0-based), got {missing!r}")
    was_training = imputer.training
    imputer.eval()
    device = next(imputer.parameters()).device
    sources = [x.to(device) for m, x in enumerate(inputs) if m != missing]
    inputs[missing] = imputer(*sources).to(inputs[missing].device)
    imputer.train(was_training)
    return inputs
