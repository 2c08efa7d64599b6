r"""What a fusion costs (Part 7.3): parameters, memory and time, against accuracy and robustness.

- :func:`measure_complexity` counts a model's parameters, its training memory and its time per epoch;
  :func:`tradeoff_table` puts accuracy, robustness and these costs side by side for several fusions, and
  :func:`pareto_front` keeps the methods that no other method beats on every axis.
"""
from __future__ import annotations

import copy
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from mmcourse._checks import check_ids, check_number
from mmcourse.representation import (DEFAULT_LEVELS, FUSIONS, NOISES, FusionModel, accuracy_under_noise,
                                     relative_robustness)
from mmcourse.training import _check_data, evaluate, fit
from mmcourse.utils import get_device, set_seed

__all__ = ["Complexity", "measure_complexity", "tradeoff_table", "pareto_front"]


@dataclass(frozen=True)
class Complexity:
    """What a model costs (:func:`measure_complexity`). Bytes are exact counts, not estimates of a process's size.

    Attributes
    ----------
    parameters : int
        Scalar parameters (shared ones once).
    parameter_bytes : int
        Their bytes.
    activation_bytes : int
        Bytes of the tensors autograd saves during the forward pass of one training batch to compute the backward
        pass (the batch itself included, the parameters excluded).
    training_bytes : int
        ``parameter_bytes × (2 + optimizer_states) + activation_bytes``: the weights, their gradients, the
        optimiser's state per weight (2 for Adam) and the saved activations.
    seconds_per_epoch : float
        Wall time of one training epoch (``nan`` when not timed); depends on the machine and its load.
    """

    parameters: int
    parameter_bytes: int
    activation_bytes: int
    training_bytes: int
    seconds_per_epoch: float


def _activation_bytes(model: nn.Module, inputs: list[Tensor], labels: Tensor) -> int:
    """Bytes of the distinct non-parameter tensors saved for backward in one forward pass (and the loss)."""
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[tuple, int] = {}

    def pack(t: Tensor):
        if t.untyped_storage().data_ptr() not in weights:
            key = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), t.stride(), t.dtype)
            seen[key] = t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        logits = model(*inputs)
        check_ids("measure_complexity", "labels", labels, logits.shape[-1])  # class indices of the model's output
        nn.functional.cross_entropy(logits, labels)
    return int(sum(seen.values()))


def measure_complexity(model: nn.Module, data, *, batch_size: int = 128, epochs: int = 1, lr: float = 1e-2,
                       optimizer_states: int = 2, device: torch.device | str | None = None) -> Complexity:
    r"""Parameters, training memory and training time of ``model`` on ``data``, measured on a copy (``model`` and
    torch's global random state are left as they were).

    Memory is counted, not sampled: the parameters' bytes :math:`P`, and the bytes :math:`A` of the activations that
    autograd keeps for the backward pass of one batch of ``batch_size`` examples (read with
    :func:`torch.autograd.graph.saved_tensors_hooks`). Training with Adam holds the weights, their gradients and
    two moments per weight, so :math:`\text{training bytes} = (2 + s) P + A` with :math:`s` = ``optimizer_states``.
    The count leaves out what PyTorch and the allocator add (workspaces, caching, fragmentation), so it is a lower
    bound on what a process needs, but it is the same on every machine. Time is the wall time per epoch of
    :func:`~mmcourse.training.fit`, after a warm-up epoch on two batches.

    Parameters
    ----------
    model : nn.Module
        Called as ``model(*inputs)``.
    data : (inputs, labels)
        Training data; the first ``batch_size`` rows make the batch whose activations are counted.
    batch_size : int
    epochs : int
        Epochs to time (``0``: do not time, ``seconds_per_epoch`` is ``nan``).
    lr : float
        Adam's learning rate for the timed epochs.
    optimizer_states : int
        Tensors of optimiser state per weight (2 for Adam, 1 for SGD with momentum, 0 for plain SGD).
    device : optional
        Where to measure; default :func:`mmcourse.get_device`.

    Returns
    -------
    Complexity

    Examples
    --------
    >>> net = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 2))
    >>> data = ([torch.randn(64, 10)], torch.zeros(64, dtype=torch.long))
    >>> c = measure_complexity(net, data, batch_size=32, epochs=0, device="cpu")
    >>> c.parameters, c.parameter_bytes, c.training_bytes == 4 * c.parameter_bytes + c.activation_bytes
    (262, 1048, True)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"measure_complexity: model must be a torch.nn.Module, got {type(model).__name__}")
    inputs, labels = _check_data(data, "measure_complexity")
    for name, value, low in (("batch_size", batch_size, 1), ("epochs", epochs, 0),
                             ("optimizer_states", optimizer_states, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"measure_complexity: {name} must be an integer ≥ {low}, got {value!r}")
    lr = check_number("measure_complexity", "lr", lr, low=0, low_open=True)
    device = get_device(device)
    twin = copy.deepcopy(model).to(device).train()
    parameters = list({id(p): p for p in twin.parameters()}.values())
    count = sum(p.numel() for p in parameters)
    parameter_bytes = sum(p.numel() * p.element_size() for p in parameters)
    batch = torch.arange(min(batch_size, len(labels)))
    cuda = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        activation_bytes = _activation_bytes(twin, [x[batch].to(device) for x in inputs], labels[batch].to(device))
        seconds = float("nan")
        if epochs:  # one warm-up epoch on two batches, so that first-call overheads are not timed
            fit(twin, ([x[:2 * batch_size] for x in inputs], labels[:2 * batch_size]), epochs=1, lr=lr,
                batch_size=batch_size, device=device, progress=False)
            start = time.perf_counter()
            fit(twin, (inputs, labels), epochs=epochs, lr=lr, batch_size=batch_size, device=device, progress=False)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            seconds = (time.perf_counter() - start) / epochs
    return Complexity(count, parameter_bytes, activation_bytes,
                      (2 + optimizer_states) * parameter_bytes + activation_bytes, seconds)


def tradeoff_table(train, test, fusions: Sequence[str] | None = None, *, noises: Mapping[int, Sequence[str]] | None
                   = None, levels: Sequence[float] = DEFAULT_LEVELS, width: int = 16, epochs: int = 12,
                   lr: float = 2e-2, batch_size: int = 256, encoder: str = "mlp", seed: int = 0) -> pd.DataFrame:
    """Performance, robustness and complexity of several fusions trained the same way on the same data.

    Each fusion becomes a :class:`~mmcourse.representation.FusionModel` (``width``, ``encoder``), trained from
    ``seed`` with :func:`~mmcourse.training.fit` (Adam); its test accuracy, its relative robustness (the mean over
    the ``noises`` of :func:`~mmcourse.representation.relative_robustness` of the
    :func:`~mmcourse.representation.accuracy_under_noise` curve, one modality corrupted at a time), and its
    :func:`measure_complexity` (the time is that of the training run itself, after a warm-up epoch on a copy).

    Parameters
    ----------
    train, test : (inputs, labels)
    fusions : sequence of str, optional
        Names from :data:`~mmcourse.representation.FUSIONS`; default all of them.
    noises : mapping {modality index: noise kinds}, optional
        Default ``"gaussian"`` and ``"dropout"`` on every modality.
    levels : sequence of float
        The noise levels of the robustness curves.
    width, epochs, lr, batch_size, encoder, seed
        The model and its training.

    Returns
    -------
    pandas.DataFrame
        Indexed by fusion, with columns ``accuracy``, ``relative robustness``, ``parameters``,
        ``seconds per epoch`` and ``memory (KiB)`` (the ``training_bytes`` of :class:`Complexity` / 1024).

    Examples
    --------
    >>> x = [torch.randn(80, 3), torch.randn(80, 3)]; y = (x[0][:, 0] > 0).long()
    >>> table = tradeoff_table((x, y), (x, y), ["additive", "tensor"], levels=[0, 1], width=4, epochs=2)
    >>> list(table.index), bool(table.loc["tensor", "parameters"] > table.loc["additive", "parameters"])
    (['additive', 'tensor'], True)
    """
    inputs, labels = _check_data(train, "tradeoff_table")
    test = _check_data(test, "tradeoff_table (test)")
    fusions = list(FUSIONS) if fusions is None else list(fusions)
    unknown = [f for f in fusions if f not in FUSIONS]
    if unknown or not fusions:
        raise ValueError(f"tradeoff_table: unknown fusions {unknown}; known fusions: {', '.join(FUSIONS)}")
    noises = {m: ("gaussian", "dropout") for m in range(len(inputs))} if noises is None else dict(noises)
    if not noises or any(not isinstance(m, int) or not 0 <= m < len(inputs) for m in noises):
        raise ValueError(f"tradeoff_table: noises must map modality indices 0..{len(inputs) - 1} to noise kinds, "
                         f"got {noises!r}")
    unknown = sorted({kind for kinds in noises.values() for kind in kinds} - set(NOISES))
    if unknown:
        raise ValueError(f"tradeoff_table: unknown noise kinds {unknown}; known kinds: {', '.join(NOISES)}")
    grid = np.asarray(levels, dtype=float)
    if grid.ndim != 1 or grid.size < 2 or not (np.diff(grid) > 0).all() or grid[0] < 0 or grid[-1] > 1:
        raise ValueError(f"tradeoff_table: levels must be at least 2 increasing noise levels in [0, 1], got "
                         f"{list(levels)!r}")
    classes = int(labels.max()) + 1
    rows = {}
    for name in fusions:
        set_seed(seed)
        model = FusionModel([x[0] for x in inputs], classes, name, width=width, encoder=encoder)
        with torch.random.fork_rng():  # a warm-up epoch on a copy, so that first-call overheads are not timed
            fit(copy.deepcopy(model), ([x[:2 * batch_size] for x in inputs], labels[:2 * batch_size]), epochs=1,
                lr=lr, batch_size=batch_size, progress=False)
        start = time.perf_counter()
        fit(model, (inputs, labels), epochs=epochs, lr=lr, batch_size=batch_size, progress=False)
        seconds = (time.perf_counter() - start) / epochs
        cost = measure_complexity(model, (inputs, labels), batch_size=batch_size, epochs=0)
        robustness = np.mean([relative_robustness(accuracy_under_noise(model, test, m, kind, levels), levels)
                              for m, kinds in noises.items() for kind in kinds])
        rows[name] = {"accuracy": evaluate(model, test)["accuracy"], "relative robustness": float(robustness),
                      "parameters": cost.parameters, "seconds per epoch": seconds,
                      "memory (KiB)": cost.training_bytes / 1024}
    return pd.DataFrame(rows).T.astype({"parameters": int}).rename_axis("fusion")


def pareto_front(points, *, maximize: Sequence = (), minimize: Sequence = ()):
    r"""Which points are Pareto-optimal: no other point is at least as good on every objective and strictly better
    on one. Point :math:`i` is dominated by :math:`j` when :math:`s_j \ge s_i` for every score to maximise,
    :math:`c_j \le c_i` for every cost to minimise, and one of these inequalities is strict.

    Parameters
    ----------
    points : pandas.DataFrame or array of shape (n, k)
    maximize, minimize : sequence
        Column names (DataFrame) or column indices (array) of the scores and of the costs.

    Returns
    -------
    pandas.Series of bool (indexed like ``points``) or numpy.ndarray of bool: True on the front.

    Examples
    --------
    >>> table = pd.DataFrame({"accuracy": [0.9, 0.95, 0.85, 0.95], "cost": [10, 50, 20, 60]}, index=list("abcd"))
    >>> pareto_front(table, maximize=["accuracy"], minimize=["cost"]).to_dict()
    {'a': True, 'b': True, 'c': False, 'd': False}
    """
    frame = isinstance(points, pd.DataFrame)
    columns = list(maximize) + list(minimize)
    if not columns:
        raise ValueError("pareto_front: name at least one column to maximize or minimize")
    try:
        values = (points[columns].to_numpy(dtype=float) if frame else np.asarray(points, dtype=float)[:, columns])
    except (KeyError, IndexError, TypeError, ValueError) as err:
        raise ValueError(f"pareto_front: cannot read the columns {columns} of points ({err})") from err
    if not np.isfinite(values).all():
        raise ValueError("pareto_front: points hold NaN or infinity")
    better = values * np.r_[np.ones(len(maximize)), -np.ones(len(minimize))]   # larger is better everywhere
    at_least = (better[None, :, :] >= better[:, None, :]).all(-1)            # [i, j]: j ≥ i everywhere
    strictly = (better[None, :, :] > better[:, None, :]).any(-1)
    front = ~(at_least & strictly).any(1)
    return pd.Series(front, index=points.index) if frame else front
