r"""Part 1: how much of a label is an interaction *in context*: the PID of Part 7 within each context value, and
EMAP with the context held fixed (the toys are in :mod:`mmcourse.foundations.context`).

Book section: Part 1, Foundations (chapter *Interactions in context*).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from mmcourse._checks import check_tensor
from mmcourse.quantification import emap_accuracy, joint_table, pid

__all__ = ["conditional_pid", "emap_in_context"]


def _check_ids(where: str, c1, c2, y, context) -> list[np.ndarray]:
    ids = [np.asarray(v) for v in (c1, c2, y)]
    context = np.zeros(len(ids[2]), dtype=np.int64) if context is None else np.asarray(context)
    for name, v in zip(("c1", "c2", "y", "context"), (*ids, context)):
        if v.ndim != 1 or len(v) != len(ids[2]) or len(v) == 0 or not np.issubdtype(v.dtype, np.integer) \
                or (v < 0).any():
            raise ValueError(f"{where}: {name} must be a non-empty 1-D array of non-negative integer ids, as many "
                             f"as y ({len(ids[2])}); got shape {v.shape} and dtype {v.dtype}")
    return [*ids, context]


def conditional_pid(c1, c2, y, context=None) -> dict[str, float]:
    r"""The partial information decomposition of :math:`I(C_1, C_2; Y)` within each context value, averaged.

    .. math::

        S(C_1, C_2 \to Y \mid K) = \sum_k p(k)\, S\big(p(c_1, c_2, y \mid K = k)\big),

    and the same for redundancy, uniqueness and the total (BROJA, :func:`mmcourse.quantification.pid`, on plug-in
    tables, :func:`mmcourse.quantification.joint_table`). ``context=None`` gives the plain decomposition. A pure
    interaction in context has synergy in context and none without it.

    Parameters
    ----------
    c1, c2, y : array_like
        ``(n,)`` non-negative integer ids.
    context : array_like, optional
        ``(n,)`` non-negative integer ids of the context.

    Returns
    -------
    dict
        ``redundancy``, ``unique1``, ``unique2``, ``synergy``, ``total`` in bits.

    Examples
    --------
    >>> b1, b2, b3 = np.array([[0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 0, 0, 1, 1], [0, 1, 0, 1, 0, 1, 0, 1]])
    >>> y = b1 ^ b2 ^ b3
    >>> round(conditional_pid(b1, b2, y)["total"], 6), round(conditional_pid(b1, b2, y, b3)["synergy"], 6)
    (0.0, 1.0)
    """
    *ids, context = _check_ids("conditional_pid", c1, c2, y, context)
    shape = tuple(int(v.max()) + 1 for v in ids)
    parts = dict.fromkeys(("redundancy", "unique1", "unique2", "synergy", "total"), 0.0)
    for k in np.unique(context):
        rows = context == k
        result = pid(joint_table(*(v[rows] for v in ids), shape=shape))
        for name in parts:
            parts[name] += rows.mean() * getattr(result, name)  # weighted by p(k)
    return {k: float(v) for k, v in parts.items()}


def _check_context_inputs(model, x1, x2, context, groups, y) -> np.ndarray:
    where = "emap_in_context"
    if not callable(model):
        raise TypeError(f"{where}: model must be callable as model(x1, x2, context), got {type(model).__name__}")
    for name, v in (("x1", x1), ("x2", x2), ("context", context)):
        check_tensor(where, name, v, kind="any")
    check_tensor(where, "y", y, dim=1, kind="int")
    groups = np.asarray(groups)
    if groups.dtype.kind not in "iu":
        raise TypeError(f"{where}: groups must hold integer context values, got dtype {groups.dtype}")
    for name, v in (("x1", x1), ("x2", x2), ("context", context), ("y", y)):
        if v.dim() == 0 or v.shape[0] != len(groups):
            raise ValueError(f"{where}: {name} must be a tensor with one row per group id ({len(groups)}), got "
                             f"{getattr(v, 'shape', type(v).__name__)}")
    values, counts = np.unique(groups, return_counts=True)
    if groups.ndim != 1 or (counts < 2).any():
        raise ValueError(f"{where}: groups must be 1-D with at least 2 rows per context value, got counts "
                         f"{dict(zip(values.tolist(), counts.tolist()))}")
    return groups


@torch.no_grad()
def emap_in_context(model: Callable, x1: Tensor, x2: Tensor, context: Tensor, groups, y: Tensor) \
        -> tuple[float, float]:
    r"""EMAP with the context held fixed: how much of a three-input model's accuracy is its :math:`x_1`-:math:`x_2`
    interaction *in each context*.

    Within each group :math:`g` of examples (the context's value), the context input is set to its group mean
    :math:`\bar c_g` and the model :math:`f_g(x_1, x_2) = f(x_1, x_2, \bar c_g)` is projected on additive functions
    of :math:`x_1` and :math:`x_2` (:func:`mmcourse.quantification.emap_accuracy`, Hessel and Lee, 2020). The two
    accuracies are averaged over groups, weighted by their sizes.

    Parameters
    ----------
    model : callable
        ``model(x1, x2, context)`` returns logits ``(batch, classes)``.
    x1, x2, context : torch.Tensor
        ``(N, ...)`` each.
    groups : array_like
        ``(N,)`` integer context values; every group needs at least two rows.
    y : torch.Tensor
        ``(N,)`` class indices.

    Returns
    -------
    (float, float)
        ``(accuracy with the context fixed, accuracy of its EMAP projection)``.

    Examples
    --------
    >>> x1 = torch.tensor([-1.0, 1.0, -1.0, 1.0]).repeat(2)[:, None]
    >>> x2 = torch.tensor([-1.0, -1.0, 1.0, 1.0]).repeat(2)[:, None]
    >>> groups = np.repeat([0, 1], 4); context = torch.tensor(groups, dtype=torch.float32)[:, None]
    >>> y = (x1[:, 0] * x2[:, 0] > 0).long() ^ torch.tensor(groups)        # XOR, flipped in context 1
    >>> model = lambda a, b, c: torch.stack([torch.zeros(len(a)), a[:, 0] * b[:, 0] * (1 - 2 * c[:, 0])], 1)
    >>> emap_in_context(model, x1, x2, context, groups, y)       # always right; its additive part: chance
    (1.0, 0.5)
    """
    groups = _check_context_inputs(model, x1, x2, context, groups, y)
    was_training = isinstance(model, torch.nn.Module) and model.training
    if was_training:
        model.eval()
    accuracy = projected = 0.0
    try:
        for g in np.unique(groups):
            rows = torch.as_tensor(groups == g)
            fixed = context[rows].mean(0, keepdim=True)  # the context, held at its value in this group

            def f_g(a, b):
                return model(a, b, fixed.expand(len(a), *fixed.shape[1:]))

            acc, emap = emap_accuracy(f_g, x1[rows], x2[rows], y[rows])
            weight = rows.double().mean().item()  # p(g)
            accuracy, projected = accuracy + weight * acc, projected + weight * emap
    finally:
        if was_training:
            model.train()
    return accuracy, projected
