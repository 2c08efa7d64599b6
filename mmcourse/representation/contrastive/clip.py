r"""Strong coordination by contrastive learning (Part 2.4): CLIP's symmetric InfoNCE loss and a two-tower model.

Two encoders map paired examples ``(x_i, y_i)`` of two modalities into one normalised space; the loss pulls each
pair together and pushes it away from the other examples of the batch. With ``S_ij = cos(z1_i, z2_j) / τ``,

.. math::

    \mathcal L = \tfrac12 \Big[ \tfrac1n \sum_i -\log \frac{e^{S_{ii}}}{\sum_j e^{S_{ij}}}
                 + \tfrac1n \sum_j -\log \frac{e^{S_{jj}}}{\sum_i e^{S_{ij}}} \Big]
               = \tfrac12 \big[ \mathrm{CE}(S, I) + \mathrm{CE}(S^\top, I) \big],

the InfoNCE loss of van den Oord et al. (2018) made symmetric as in CLIP (Radford et al., 2021).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from tqdm.auto import trange

from mmcourse._checks import check_number, check_same_rows, check_tensor
from mmcourse.encoders import MLPEncoder
from mmcourse.utils import get_device, progress_enabled, trained_on

__all__ = ["similarity_matrix", "clip_loss", "ContrastiveModel", "ContrastiveHistory", "fit_contrastive"]

MAX_LOGIT_SCALE = 100.0  # CLIP clamps 1/τ at 100 (τ ≥ 0.01) so that training stays stable


def _check_pair(z1, z2, where: str) -> None:
    for name, z in (("z1", z1), ("z2", z2)):
        if not isinstance(z, Tensor):
            raise TypeError(f"{where}: {name} must be a torch.Tensor, got {type(z).__name__}")
        if z.dim() != 2:
            raise ValueError(f"{where}: {name} must have shape (batch, features), got {tuple(z.shape)}")
        if not z.is_floating_point() or not torch.isfinite(z).all():
            raise ValueError(f"{where}: {name} must hold finite floating-point values")
    if z1.shape[1] != z2.shape[1]:
        raise ValueError(f"{where}: z1 and z2 must have the same number of features, got {z1.shape[1]} and "
                         f"{z2.shape[1]}")


def similarity_matrix(z1: Tensor, z2: Tensor) -> Tensor:
    """Cosine similarities ``cos(z1_i, z2_j)``, shape ``(n, m)``: row i is ``z1_i`` against every ``z2_j``.

    Examples
    --------
    >>> similarity_matrix(torch.tensor([[1.0, 0.0], [0.0, 2.0]]), torch.tensor([[3.0, 0.0], [1.0, 1.0]]))
    tensor([[1.0000, 0.7071],
            [0.0000, 0.7071]])
    """
    _check_pair(z1, z2, "similarity_matrix")
    return nn.functional.normalize(z1, dim=1) @ nn.functional.normalize(z2, dim=1).T


def clip_loss(z1: Tensor, z2: Tensor, temperature: float | Tensor = 0.07) -> Tensor:
    r"""CLIP's symmetric InfoNCE loss of a batch of n pairs ``(z1_i, z2_i)``.

    .. math::

        \mathcal L = \tfrac12 \big[\mathrm{CE}(S, I) + \mathrm{CE}(S^\top, I)\big], \qquad
        S_{ij} = \cos(z1_i, z2_j) / \tau,

    where ``CE(S, I)`` is the mean cross-entropy of each row's softmax against the matching column (the diagonal).
    The first term retrieves modality 2 from modality 1, the second the other way round. Paper: Radford et al.
    (2021), after the InfoNCE loss of van den Oord et al. (2018); book section 2.4.

    Parameters
    ----------
    z1, z2 : torch.Tensor, shape (n, d)
        Embeddings of the two modalities; row i of each is the same pair. They are normalised here (cosine).
    temperature : float or 0-d torch.Tensor
        τ > 0. A tensor may require grad (a learnable temperature).

    Returns
    -------
    torch.Tensor
        The scalar loss, between 0 and about ``log n + 2/τ``; ``log n`` when all embeddings are equal.

    Examples
    --------
    >>> z = torch.eye(3)
    >>> round(clip_loss(z, z, 0.01).item(), 6)  # perfectly aligned, orthogonal pairs
    0.0
    >>> round(clip_loss(torch.ones(4, 2), torch.ones(4, 2)).item(), 4) == round(math.log(4), 4)
    True
    """
    _check_pair(z1, z2, "clip_loss")
    if z1.shape[0] != z2.shape[0]:
        raise ValueError(f"clip_loss: z1 and z2 must hold the same number of pairs, got batches of {z1.shape[0]} "
                         f"and {z2.shape[0]}")
    if z1.shape[0] == 0:
        raise ValueError("clip_loss: the batch is empty; give at least one pair")
    if isinstance(temperature, Tensor):
        if temperature.numel() != 1:
            raise ValueError(f"clip_loss: temperature must be a scalar, got shape {tuple(temperature.shape)}")
        bad = not (torch.isfinite(temperature).all() and temperature.item() > 0)
    else:
        bad = isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not (
            math.isfinite(temperature) and temperature > 0)
    if bad:
        raise ValueError(f"clip_loss: temperature must be a finite number > 0, got {temperature!r}")
    return _symmetric_cross_entropy(similarity_matrix(z1, z2) / temperature)


def _symmetric_cross_entropy(logits: Tensor) -> Tensor:
    """½[CE(S, I) + CE(Sᵀ, I)] of a square logit matrix, without the checks (the training loop's inner step)."""
    targets = torch.arange(len(logits), device=logits.device)
    return 0.5 * (nn.functional.cross_entropy(logits, targets) + nn.functional.cross_entropy(logits.T, targets))


def _flat_size(shape, where: str, name: str) -> int:
    if isinstance(shape, Tensor):
        shape = tuple(shape.shape)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if not shape or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape):
        raise ValueError(f"{where}: {name} must be a positive int, a shape of positive ints or one example "
                         f"tensor, got {shape!r}")
    return math.prod(shape)


class ContrastiveModel(nn.Module):
    r"""Two towers into one normalised space, trained with :func:`clip_loss` (CLIP's recipe at toy size).

    Each modality is flattened and goes through its own encoder, an MLP with one hidden layer,
    ``h_m = ReLU(W_2 ReLU(W_1 x_m))``, then a linear projection to the shared space, normalised to unit length:
    ``z_m = P_m h_m / ‖P_m h_m‖``. The temperature is learned as CLIP does, through ``s = log(1/τ)``, initialised
    at ``log(1/temperature)`` and clamped at ``log 100`` (τ ≥ 0.01) so that the logits cannot blow up.

    Paper: Radford et al. (2021), *Learning Transferable Visual Models From Natural Language Supervision* (CLIP);
    book section 2.4, strong coordination.

    Parameters
    ----------
    shapes : pair
        For each modality, the shape of one example (an int, a tuple, or an example tensor).
    dim : int
        Size of the shared space.
    width : int
        Width of each encoder's layers.
    temperature : float
        Initial τ (CLIP: 0.07).
    learn_temperature : bool
        Learn τ (default) or keep it fixed.

    Examples
    --------
    >>> model = ContrastiveModel([(8, 8), 192], dim=4)
    >>> z1, z2 = model(torch.zeros(5, 8, 8), torch.zeros(5, 12, 16))
    >>> z1.shape, round(z2.norm(dim=1).mean().item(), 4), round(model.temperature, 3)
    (torch.Size([5, 4]), 1.0, 0.07)
    """

    def __init__(self, shapes: Sequence, dim: int = 16, width: int = 32, temperature: float = 0.07,
                 learn_temperature: bool = True):
        super().__init__()
        where = "ContrastiveModel"
        if isinstance(shapes, (str, bytes, Tensor)) or not isinstance(shapes, Sequence) or len(shapes) != 2:
            raise ValueError(f"{where}: shapes must give two modalities' example shapes, got {shapes!r}")
        for name, value in (("dim", dim), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not (
                math.isfinite(temperature) and 1 / MAX_LOGIT_SCALE <= temperature):
            raise ValueError(f"{where}: temperature must be a number ≥ {1 / MAX_LOGIT_SCALE} (CLIP's clamp), got "
                             f"{temperature!r}")
        self.in_dims = tuple(_flat_size(s, where, f"shapes[{m}]") for m, s in enumerate(shapes))
        self.dim, self.width = dim, width
        self.encoders = nn.ModuleList(MLPEncoder(d, width, hidden=(width,)) for d in self.in_dims)
        self.projections = nn.ModuleList(nn.Linear(width, dim, bias=False) for _ in self.in_dims)
        scale = torch.tensor(math.log(1 / temperature))
        self.log_scale = nn.Parameter(scale) if learn_temperature else nn.Parameter(scale, requires_grad=False)

    @property
    def temperature(self) -> float:
        """The current τ = 1 / exp(s), after the clamp."""
        return 1.0 / self.logit_scale().exp().item()

    def logit_scale(self) -> Tensor:
        """``s = log(1/τ)``, clamped at ``log 100`` as in CLIP."""
        return self.log_scale.clamp(max=math.log(MAX_LOGIT_SCALE))

    def embed(self, x: Tensor, modality: int) -> Tensor:
        """The unit-length embedding ``z_m`` of a batch of modality ``modality`` (0 or 1)."""
        if modality not in (0, 1):
            raise ValueError(f"ContrastiveModel.embed: modality must be 0 or 1, got {modality!r}")
        if not isinstance(x, Tensor) or x.dim() < 2 or math.prod(x.shape[1:]) != self.in_dims[modality]:
            raise ValueError(f"ContrastiveModel.embed: modality {modality} expects a batch of examples with "
                             f"{self.in_dims[modality]} values each, got {tuple(getattr(x, 'shape', ()))}")
        h = self.encoders[modality](x.flatten(1))
        return nn.functional.normalize(self.projections[modality](h), dim=1)

    def forward(self, x1: Tensor, x2: Tensor) -> tuple[Tensor, Tensor]:
        """The two modalities' embeddings ``(z1, z2)``, each of shape ``(batch, dim)`` and unit length."""
        z1, z2 = self.embed(x1, 0), self.embed(x2, 1)   # each checks its input's shape
        check_same_rows("ContrastiveModel", x1=x1, x2=x2)
        return z1, z2

    def loss(self, x1: Tensor, x2: Tensor) -> Tensor:
        """:func:`clip_loss` of a batch of pairs at the model's temperature."""
        z1, z2 = self(x1, x2)
        # The same as clip_loss(z1, z2, τ), whose checks and second normalisation would double the cost of a step.
        return _symmetric_cross_entropy(self.logit_scale().exp() * (z1 @ z2.T))


@dataclass
class ContrastiveHistory:
    """What :func:`fit_contrastive` records: the batch loss and the temperature after every step, and the time."""

    loss: list[float] = field(default_factory=list)
    temperature: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def steps(self) -> int:
        return len(self.loss)


def fit_contrastive(model: ContrastiveModel, pairs: Sequence[Tensor], *, steps: int = 200, batch_size: int = 128,
                    lr: float = 1e-2, weight_decay: float = 0.0, device: torch.device | str | None = None,
                    progress: bool | None = None,
                    callback: Callable[[int, ContrastiveHistory], None] | None = None) -> ContrastiveHistory:
    """Train ``model`` on paired data with Adam and :meth:`ContrastiveModel.loss`, for a number of steps.

    Every step takes the next ``batch_size`` pairs of a shuffled pass over the data (reshuffled at each pass, with
    torch's global generator: seed it with :func:`mmcourse.set_seed`). The other pairs of a batch are the
    negatives, so a larger batch means more, and harder, negatives.

    Parameters
    ----------
    model : ContrastiveModel
    pairs : (x1, x2)
        Two tensors with the same number of rows; row i of each is one pair (labels are not used).
    steps, batch_size, lr, weight_decay
        Optimisation settings.
    device, progress
        As in :func:`mmcourse.training.fit`.
    callback : callable, optional
        ``callback(step, history)`` after every step (step counts from 1).

    Examples
    --------
    >>> x = torch.randn(64, 3)
    >>> history = fit_contrastive(ContrastiveModel([3, 3], dim=2, width=8), (x, x), steps=5, progress=False)
    >>> history.steps
    5
    """
    where = "fit_contrastive"
    if not isinstance(model, ContrastiveModel):
        raise TypeError(f"{where}: model must be a ContrastiveModel, got {type(model).__name__}")
    if isinstance(pairs, Tensor) or len(pairs) != 2 or not all(isinstance(x, Tensor) for x in pairs):
        raise ValueError(f"{where}: pairs must be two tensors (x1, x2), one per modality; from a dataset split, "
                         f"pass as_tensors(split)[0] (the labels are not used)")
    x1, x2 = pairs
    for name, x in (("x1", x1), ("x2", x2)):
        if x.dim() < 2:
            raise ValueError(f"{where}: {name} must be a batch (n, ...) of examples, got shape {tuple(x.shape)}")
        check_tensor(where, name, x, kind="any")
    if len(x1) != len(x2) or len(x1) < 2:
        raise ValueError(f"{where}: x1 and x2 must hold the same number (≥ 2) of pairs, got {len(x1)} and {len(x2)}")
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    if batch_size < 2:
        raise ValueError(f"{where}: batch_size must be ≥ 2 (a pair needs negatives), got {batch_size}")
    if not lr > 0:
        raise ValueError(f"{where}: lr must be positive, got {lr!r}")
    check_number(where, "weight_decay", weight_decay, low=0)
    device = get_device(device)
    with trained_on(model, device):  # back on its own device afterwards
        model.train()
        x1, x2 = x1.to(device), x2.to(device)
        # foreach: one fused update for all parameters, several times faster than a loop over these small tensors
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay, foreach=True)
        history, n, order, cursor = ContrastiveHistory(), len(x1), None, len(x1)
        start = time.perf_counter()
        for step in trange(1, steps + 1, desc="contrastive", disable=not progress_enabled(progress), leave=False):
            if cursor + min(batch_size, n) > n:  # start a new shuffled pass; drop the short remainder
                order, cursor = torch.randperm(n, device=device), 0
            batch = order[cursor:cursor + batch_size]
            cursor += batch_size
            loss = model.loss(x1[batch], x2[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history.loss.append(loss.item())
            history.temperature.append(model.temperature)
            if callback is not None:
                callback(step, history)
        history.seconds = time.perf_counter() - start
        model.eval()
    return history
