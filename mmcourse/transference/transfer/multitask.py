r"""Part 6.2: multitask learning, one model shared by several tasks and modalities (in the spirit of HighMMT).

A multitask model trains one set of parameters on :math:`T` tasks at once (Caruana 1997) by minimising the weighted
sum of their losses,

.. math::  \mathcal L(\theta) = \sum_{t=1}^{T} w_t\, \mathcal L_t(\theta),
           \qquad \mathcal L_t = \frac{1}{n_t} \sum_{i=1}^{n_t} \operatorname{CE}\big(f_t(x^{(t)}_i), y^{(t)}_i\big),

where each task :math:`t` reads its own modalities :math:`M_t` and its own labelled examples. HighMMT (Liang et al.
2022) makes the modalities meet through **modality-specific** input embeddings, shares the layers above them between
modalities that are alike, and ends in one small head per task. :class:`MultitaskModel` does the same with MLPs,

.. math::  f_t(x) = V_t\, \frac{1}{|M_t|} \sum_{m \in M_t} g\big(P_m x_m\big) + c_t,

with :math:`P_m` the projection of modality :math:`m`, :math:`g` the shared trunk and :math:`(V_t, c_t)` the head
of task :math:`t`; ``shared=False`` gives every task its own projections and trunk (separate models).
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmcourse._checks import check_number
from mmcourse.utils import check_positive, set_seed

__all__ = ["MultitaskModel", "multitask_loss", "fit_multitask", "evaluate_tasks"]

Batches = Mapping[str, tuple[Sequence[Tensor], Tensor]]


class MultitaskModel(nn.Module):
    r"""Per-modality projections, one trunk shared by every task, one linear head per task (HighMMT-like).

    ``logits = V_t · mean_{m ∈ M_t} g(P_m x_m) + c_t``, the trunk :math:`g = \mathrm{ReLU} ∘ W ∘ \mathrm{ReLU}`.
    With ``shared=True`` the projection :math:`P_m` of a modality and the trunk :math:`g` serve every task, so a new
    task on a known modality costs one head, :math:`(w + 1) K_t` parameters. With ``shared=False`` each task gets its
    own projections and trunk: the separate-models baseline, whose size grows linearly with the tasks.
    Liang et al. 2022 (HighMMT), Caruana 1997. Book section: Part 6.2.

    Parameters
    ----------
    in_dims : mapping of str to int
        The input size of each modality (inputs are flattened vectors).
    tasks : mapping of str to (sequence of str, int)
        For each task, the modalities it reads and its number of classes.
    hidden, width : int
        Size of the projections' output and of the trunk's features.
    shared : bool
        Share projections and trunk between tasks (True) or give each task its own (False).

    Examples
    --------
    >>> model = MultitaskModel({"image": 64, "audio": 192},
    ...                        {"digit": (["image"], 10), "both": (["image", "audio"], 10)}, hidden=16, width=8)
    >>> model("both", torch.zeros(5, 64), torch.zeros(5, 192)).shape
    torch.Size([5, 10])
    >>> sum(p.numel() for p in model.parameters())  # (64+1)16 + (192+1)16 + (16+1)8 + 2 (8+1)10
    4444
    """

    def __init__(self, in_dims: Mapping[str, int], tasks: Mapping[str, tuple[Sequence[str], int]], *,
                 hidden: int = 64, width: int = 32, shared: bool = True):
        super().__init__()
        sizes = {f"in_dims[{m!r}]": d for m, d in dict(in_dims).items()}
        check_positive("MultitaskModel", hidden=hidden, width=width, **sizes)
        if not tasks:
            raise ValueError("MultitaskModel: tasks is empty; expected {task: (modalities, num_classes)}")
        self.tasks: dict[str, tuple[str, ...]] = {}
        for name, spec in tasks.items():
            if not (isinstance(spec, (tuple, list)) and len(spec) == 2):
                raise ValueError(f"MultitaskModel: task {name!r} must be (modalities, num_classes), got {spec!r}")
            modalities, classes = tuple(spec[0]), spec[1]
            unknown = [m for m in modalities if m not in in_dims]
            if not modalities or unknown:
                raise ValueError(f"MultitaskModel: task {name!r} reads modalities {list(modalities)}; expected a "
                                 f"non-empty list from {list(in_dims)}")
            check_positive("MultitaskModel", **{f"num_classes of {name!r}": classes})
            self.tasks[name] = modalities
        self.in_dims, self.shared = dict(in_dims), bool(shared)
        # Shared: one projection per modality and one trunk; separate: one of each per task ("task/modality" keys).
        used = sorted({m for ms in self.tasks.values() for m in ms})
        keys = used if self.shared else [f"{t}/{m}" for t, ms in self.tasks.items() for m in ms]
        self.project = nn.ModuleDict({k: nn.Linear(self.in_dims[k.split("/")[-1]], hidden) for k in keys})
        self.trunk = nn.ModuleDict({k: nn.Sequential(nn.ReLU(), nn.Linear(hidden, width), nn.ReLU())
                                    for k in (["shared"] if self.shared else list(self.tasks))})
        self.heads = nn.ModuleDict({t: nn.Linear(width, int(spec[1])) for t, spec in tasks.items()})

    def features(self, task: str, *xs: Tensor) -> Tensor:
        """The trunk's features ``mean_m g(P_m x_m)`` of task ``task`` for its inputs (one tensor per modality)."""
        if task not in self.tasks:
            raise ValueError(f"MultitaskModel: unknown task {task!r}; expected one of {list(self.tasks)}")
        modalities = self.tasks[task]
        if len(xs) != len(modalities):
            raise ValueError(f"MultitaskModel: task {task!r} reads {list(modalities)}, got {len(xs)} input(s)")
        batch = None
        for m, x in zip(modalities, xs):
            if not isinstance(x, Tensor):
                raise TypeError(f"MultitaskModel: input {m!r} of task {task!r} must be a torch.Tensor, got "
                                f"{type(x).__name__}")
            if x.dim() < 2 or math.prod(x.shape[1:]) != self.in_dims[m]:
                raise ValueError(f"MultitaskModel: input {m!r} of task {task!r} must have shape (batch, ...) with "
                                 f"{self.in_dims[m]} features per row, got {tuple(x.shape)}")
            if batch is not None and x.shape[0] != batch:
                raise ValueError(f"MultitaskModel: mismatched batch sizes in task {task!r}: {batch} rows in the "
                                 f"first input, {x.shape[0]} in {m!r}")
            batch = x.shape[0]
            if x.shape[0] == 0:
                raise ValueError(f"MultitaskModel: input {m!r} of task {task!r} has zero rows")
            if x.is_floating_point() and not torch.isfinite(x).all():
                raise ValueError(f"MultitaskModel: input {m!r} of task {task!r} contains NaN or infinite values")
        trunk = self.trunk["shared" if self.shared else task]
        hs = [trunk(self.project[m if self.shared else f"{task}/{m}"](x.flatten(1))) for m, x in zip(modalities, xs)]
        return torch.stack(hs).mean(0)

    def forward(self, task: str, *xs: Tensor) -> Tensor:
        features = self.features(task, *xs)  # validates the task and its inputs first
        return self.heads[task](features)


def _check_labels(where: str, model: MultitaskModel, task: str, xs, y) -> None:
    """``y`` must be integer class indices of ``task``, one per row of its inputs."""
    if not isinstance(xs, (list, tuple)):
        raise TypeError(f"{where}: the inputs of task {task!r} must be a list with one tensor per modality, got "
                        f"{type(xs).__name__}")
    if not isinstance(y, Tensor):
        raise TypeError(f"{where}: the labels of task {task!r} must be a torch.Tensor, got {type(y).__name__}")
    k = model.heads[task].out_features
    if y.dim() != 1 or y.is_floating_point() or y.dtype == torch.bool:
        raise ValueError(f"{where}: the labels of task {task!r} must be a 1-D tensor of integers, got dtype "
                         f"{y.dtype} and shape {tuple(y.shape)}")
    rows = xs[0].shape[0] if xs and isinstance(xs[0], Tensor) and xs[0].dim() else None
    if rows is not None and y.shape[0] != rows:
        raise ValueError(f"{where}: task {task!r} has {rows} input rows but {y.shape[0]} labels")
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= k):
        raise ValueError(f"{where}: the labels of task {task!r} must lie in 0..{k - 1}, got values from "
                         f"{int(y.min())} to {int(y.max())}")


def _check_model(where: str, model) -> None:
    if not isinstance(model, MultitaskModel):
        raise TypeError(f"{where}: model must be a MultitaskModel, got {type(model).__name__}")


def multitask_loss(model: MultitaskModel, batches: Batches, weights: Mapping[str, float] | None = None) -> Tensor:
    r"""The multitask objective :math:`\sum_t w_t \mathcal L_t`: each task's head on its own batch, losses summed.

    Parameters
    ----------
    model : MultitaskModel
    batches : mapping of task to (inputs, labels)
        ``inputs`` is a list with one tensor per modality the task reads.
    weights : mapping of task to float, optional
        :math:`w_t` (1 for a task not listed).

    Returns
    -------
    Tensor
        A scalar.

    Examples
    --------
    >>> model = MultitaskModel({"a": 3}, {"t": (["a"], 2), "u": (["a"], 4)}, hidden=4, width=4)
    >>> batches = {"t": ([torch.zeros(2, 3)], torch.tensor([0, 1])), "u": ([torch.zeros(5, 3)], torch.zeros(5).long())}
    >>> with torch.no_grad():
    ...     total = multitask_loss(model, batches, {"u": 0.0})
    ...     only_t = F.cross_entropy(model("t", torch.zeros(2, 3)), torch.tensor([0, 1]))
    >>> bool(torch.isclose(total, only_t))
    True
    """
    _check_model("multitask_loss", model)
    weights = dict(weights or {})
    unknown = [t for t in [*batches, *weights] if t not in model.tasks]
    if unknown:
        raise ValueError(f"multitask_loss: unknown task(s) {unknown}; the model has {list(model.tasks)}")
    for t, w in weights.items():
        if isinstance(w, bool) or not isinstance(w, numbers.Real) or not math.isfinite(w):
            raise ValueError(f"multitask_loss: weights[{t!r}] must be a finite number, got {w!r}")
    for t, (xs, y) in batches.items():
        _check_labels("multitask_loss", model, t, xs, y)
    return sum(weights.get(t, 1.0) * F.cross_entropy(model(t, *xs), y) for t, (xs, y) in batches.items())


def fit_multitask(model: MultitaskModel, data: Batches, *, steps: int = 200, lr: float = 1e-2,
                  weights: Mapping[str, float] | None = None, seed: int = 0) -> list[float]:
    """Train ``model`` on every task at once: each Adam step takes one full batch of every task and descends
    :func:`multitask_loss` (summed losses, so a small task gets a gradient at every step, as a large one does).

    Parameters
    ----------
    model : MultitaskModel
    data : mapping of task to (inputs, labels)
    steps : int
    lr : float
    weights : mapping of task to float, optional
    seed : int

    Returns
    -------
    list of float
        The objective at each step.

    Examples
    --------
    >>> model = MultitaskModel({"a": 3}, {"t": (["a"], 2)}, hidden=4, width=4)
    >>> x, y = torch.randn(20, 3), torch.randint(0, 2, (20,))
    >>> losses = fit_multitask(model, {"t": ([x], y)}, steps=30)
    >>> losses[-1] < losses[0]
    True
    """
    check_positive("fit_multitask", steps=steps)
    check_number("fit_multitask", "lr", lr, low=0, low_open=True)
    if not isinstance(model, MultitaskModel):
        raise TypeError(f"fit_multitask: model must be a MultitaskModel, got {type(model).__name__}")
    if not data:
        raise ValueError("fit_multitask: data is empty; expected {task: (inputs, labels)}")
    set_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = multitask_loss(model, data, weights)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    model.eval()
    return losses


@torch.no_grad()
def evaluate_tasks(model: MultitaskModel, data: Batches) -> dict[str, float]:
    """The accuracy of ``model`` on each task of ``data`` (a mapping task -> (inputs, labels)).

    Examples
    --------
    >>> model = MultitaskModel({"a": 3}, {"t": (["a"], 2)}, hidden=4, width=4)
    >>> list(evaluate_tasks(model, {"t": ([torch.zeros(4, 3)], torch.zeros(4).long())}))
    ['t']
    """
    _check_model("evaluate_tasks", model)
    unknown = [t for t in data if t not in model.tasks]
    if unknown:
        raise ValueError(f"evaluate_tasks: unknown task(s) {unknown}; the model has {list(model.tasks)}")
    for t, (xs, y) in data.items():
        _check_labels("evaluate_tasks", model, t, xs, y)
    model.eval()
    return {t: float((model(t, *xs).argmax(1) == y).float().mean()) for t, (xs, y) in data.items()}
