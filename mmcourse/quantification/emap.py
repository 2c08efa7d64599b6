r"""What a trained model learned: EMAP, its best additive approximation, and gradient attributions (Part 7).

**EMAP** (empirical multimodally-additive function projection; Hessel and Lee, 2020, *Does my multimodal model
learn cross-modal interactions? It's harder to tell than you might think!*). Given a model :math:`f` that returns
logits and :math:`N` evaluation pairs :math:`(x_{1,i}, x_{2,i})`, EMAP replaces :math:`f` by its projection onto
additive functions :math:`g_1(x_1) + g_2(x_2)` under the empirical distribution in which the two modalities are
independent:

.. math::

    \hat f(x_{1,i}, x_{2,i}) = \frac1N \sum_{j} f(x_{1,i}, x_{2,j}) + \frac1N \sum_{j} f(x_{1,j}, x_{2,i})
        - \frac1{N^2} \sum_{j,k} f(x_{1,j}, x_{2,k}).

An additive model is unchanged; a model whose accuracy relies on cross-modal interactions (XOR) loses it. If the
projected logits predict as well as the model, the model's interactions do not help on this data.

**Gradient views.** The first-order attribution of modality :math:`m` is the mean
:math:`\mathbb E\,|\partial f_y / \partial x_m|` over examples and coordinates; the second-order interaction is the
mean Frobenius norm of the cross block of the Hessian, :math:`\mathbb E\,\|\partial^2 f_y / \partial x_1 \partial
x_2^\top\|_F`, which is exactly zero for an additive model (the idea behind the pairwise interaction detectors of
Tsang et al., 2018, *Detecting statistical interactions from neural network weights*, and the integrated Hessians
of Janizek et al., 2021, *Explaining explanations: axiomatic feature interactions for deep networks*).
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["emap_logits", "emap_accuracy", "gradient_attribution", "second_order_interaction"]

Model = Callable[[Tensor, Tensor], Tensor]


def _check_pair(model: Model, x1, x2, where: str, min_rows: int = 1) -> None:
    if not callable(model):
        raise TypeError(f"{where}: model must be callable as model(x1, x2), got {type(model).__name__}")
    encoders = getattr(model, "encoders", None)  # a FusionModel knows how many modalities it takes
    if encoders is not None and len(encoders) != 2:
        raise ValueError(f"{where}: model takes {len(encoders)} modalities; this function needs exactly 2")
    for name, x in (("x1", x1), ("x2", x2)):
        if isinstance(x, (list, tuple)):
            raise TypeError(f"{where}: {name} must be one tensor, got a {type(x).__name__} of {len(x)}; pass the "
                            f"two modalities separately, e.g. {where}(model, *inputs)")
        if not isinstance(x, Tensor):
            raise TypeError(f"{where}: {name} must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() < 1:
            raise ValueError(f"{where}: {name} must have a batch axis, got a scalar")
        if x.is_floating_point() and not torch.isfinite(x).all():
            raise ValueError(f"{where}: {name} contains NaN or infinite values")
    if x1.shape[0] != x2.shape[0]:
        raise ValueError(f"{where}: x1 and x2 must have the same number of rows (pairs), got {x1.shape[0]} and "
                         f"{x2.shape[0]}")
    if x1.shape[0] < min_rows:
        raise ValueError(f"{where}: x1 and x2 need at least {min_rows} rows (pairs), got {x1.shape[0]}")


def _device(model: Model, x: Tensor) -> torch.device:
    param = next(iter(model.parameters()), None) if isinstance(model, torch.nn.Module) else None
    return param.device if param is not None else x.device


class _EvalMode:
    """Evaluation mode for the block (dropout off, batch-norm statistics frozen), then the mode it had."""

    def __init__(self, model: Model):
        self.model = model if isinstance(model, torch.nn.Module) else None

    def __enter__(self):
        self.was_training = self.model is not None and self.model.training
        if self.model is not None:
            self.model.eval()

    def __exit__(self, *exc):
        if self.model is not None:
            self.model.train(self.was_training)


def _as_logits(out: Tensor, rows: int, where: str) -> Tensor:
    if not isinstance(out, Tensor) or out.dim() not in (1, 2) or out.shape[0] != rows:
        raise ValueError(f"{where}: model(x1, x2) must return logits of shape (batch,) or (batch, classes), got "
                         f"{getattr(out, 'shape', type(out).__name__)} for a batch of {rows}")
    return out


@torch.no_grad()
def emap_logits(model: Model, x1: Tensor, x2: Tensor, *, batch_size: int = 65536) -> Tensor:
    r"""The EMAP projection of ``model``'s logits on the pairs ``(x1[i], x2[i])`` (Hessel and Lee, 2020).

    .. math::

        \hat f_i = \frac1N \sum_j f(x_{1,i}, x_{2,j}) + \frac1N \sum_j f(x_{1,j}, x_{2,i})
            - \frac1{N^2} \sum_{j,k} f(x_{1,j}, x_{2,k})

    The model is evaluated on all :math:`N^2` cross pairs, ``batch_size`` pairs per call (in evaluation mode,
    without gradients); only the row and column sums are kept, so memory stays :math:`O(N)` besides one batch.

    Parameters
    ----------
    model : callable
        ``model(x1, x2)`` returns logits ``(batch, classes)`` (or ``(batch,)``), one row per pair; rows must not
        depend on each other (no batch statistics in training mode).
    x1, x2 : torch.Tensor
        ``(N, ...)`` each, ``N ≥ 2``: the evaluation pairs.
    batch_size : int
        The number of cross pairs per model call, rounded down to whole rows of the grid (at least one row of
        :math:`N` pairs).

    Returns
    -------
    torch.Tensor
        The projected logits, same shape as ``model(x1, x2)``, on the CPU.

    Examples
    --------
    >>> import torch
    >>> xor = lambda a, b: torch.stack([-a[:, 0] * b[:, 0], a[:, 0] * b[:, 0]], dim=1)
    >>> x1 = torch.tensor([[-1.], [-1.], [1.], [1.]]); x2 = torch.tensor([[-1.], [1.], [-1.], [1.]])
    >>> emap_logits(xor, x1, x2)  # the best additive part of XOR is constant: no information left
    tensor([[0., 0.],
            [0., 0.],
            [0., 0.],
            [0., 0.]])
    """
    where = "emap_logits"
    _check_pair(model, x1, x2, where, min_rows=2)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"{where}: batch_size must be a positive integer, got {batch_size!r}")
    n = x1.shape[0]
    device = _device(model, x1)
    x1, x2 = x1.to(device), x2.to(device)
    rows_per_call = max(1, batch_size // n)  # whole rows i of the N × N grid per call
    row_sums, col_sums = None, None
    with _EvalMode(model):
        for start in range(0, n, rows_per_call):
            a = x1[start:start + rows_per_call]
            r = a.shape[0]
            # pairs (a_i, x2_j) in row-major order: a repeated N times each, x2 tiled r times
            out = _as_logits(model(a.repeat_interleave(n, dim=0), x2.repeat(r, *([1] * (x2.dim() - 1)))), r * n,
                             where)
            grid = out.reshape(r, n, *out.shape[1:]).to(torch.float64)
            if row_sums is None:
                row_sums = torch.zeros(n, *out.shape[1:], dtype=torch.float64, device=device)
                col_sums = torch.zeros_like(row_sums)
            row_sums[start:start + r] = grid.sum(1)
            col_sums += grid.sum(0)
    total = row_sums.sum(0)
    projected = row_sums / n + col_sums / n - total / n**2
    return projected.to(out.dtype).cpu()


def emap_accuracy(model: Model, x1: Tensor, x2: Tensor, y: Tensor, *, batch_size: int = 65536) -> tuple[float, float]:
    """The accuracy of ``model`` on the pairs and the accuracy of its EMAP projection (:func:`emap_logits`).

    A gap between the two is the accuracy that the model's cross-modal interactions earn; no gap means an
    additive model would do as well on this data (Hessel and Lee, 2020).

    Parameters
    ----------
    model : callable
        ``model(x1, x2)`` returns logits ``(batch, classes)``.
    x1, x2 : torch.Tensor
        ``(N, ...)`` each, ``N ≥ 2``.
    y : torch.Tensor
        ``(N,)`` class indices.
    batch_size : int
        Passed to :func:`emap_logits`.

    Returns
    -------
    (float, float)
        ``(accuracy, emap_accuracy)``.

    Examples
    --------
    >>> import torch
    >>> xor = lambda a, b: torch.stack([-a[:, 0] * b[:, 0], a[:, 0] * b[:, 0]], dim=1)
    >>> x1 = torch.tensor([[-1.], [-1.], [1.], [1.]]); x2 = torch.tensor([[-1.], [1.], [-1.], [1.]])
    >>> y = torch.tensor([1, 0, 0, 1])
    >>> emap_accuracy(xor, x1, x2, y)  # ties of the projection go to class 0: half right
    (1.0, 0.5)
    """
    where = "emap_accuracy"
    _check_pair(model, x1, x2, where, min_rows=2)
    if not isinstance(y, Tensor) or y.dim() != 1 or y.shape[0] != x1.shape[0] or y.is_floating_point():
        raise ValueError(f"{where}: y must be a 1-D integer tensor of {x1.shape[0]} class indices, got "
                         f"{getattr(y, 'shape', type(y).__name__)}")
    device = _device(model, x1)
    with torch.no_grad(), _EvalMode(model):
        logits = _as_logits(model(x1.to(device), x2.to(device)), x1.shape[0], where).cpu()
    projected = emap_logits(model, x1, x2, batch_size=batch_size)
    if logits.dim() != 2:
        raise ValueError(f"{where}: model must return logits of shape (batch, classes), got {tuple(logits.shape)}")
    y = y.cpu()
    accuracy = (logits.argmax(1) == y).double().mean().item()
    return accuracy, (projected.argmax(1) == y).double().mean().item()


def _selected(model: Model, x1: Tensor, x2: Tensor, target, where: str) -> Tensor:
    """The sum over examples of the target logit, with ``x1`` and ``x2`` requiring gradients."""
    out = _as_logits(model(x1, x2), x1.shape[0], where)
    if out.dim() == 1:
        out = out[:, None]
    if target is None:
        target = out.argmax(1)
    elif isinstance(target, int) and not isinstance(target, bool):
        if not 0 <= target < out.shape[1]:
            raise ValueError(f"{where}: target must be a class index in [0, {out.shape[1]}), got {target}")
        target = torch.full((out.shape[0],), target, dtype=torch.long, device=out.device)
    elif isinstance(target, Tensor) and target.dim() == 1 and target.shape[0] == out.shape[0] \
            and not target.is_floating_point():
        if target.numel() and not (0 <= int(target.min()) and int(target.max()) < out.shape[1]):
            raise ValueError(f"{where}: target holds class indices outside [0, {out.shape[1]})")
        target = target.to(out.device)
    else:
        raise ValueError(f"{where}: target must be None (the predicted class), an int, or a 1-D integer tensor of "
                         f"{out.shape[0]} class indices; got {getattr(target, 'shape', target)!r}")
    # each row depends on its own example only, so one backward pass gives every example's gradient
    return out.gather(1, target[:, None].long()).sum()


def _prepared(model: Model, x1: Tensor, x2: Tensor, where: str) -> tuple[Tensor, Tensor]:
    _check_pair(model, x1, x2, where)
    for name, x in (("x1", x1), ("x2", x2)):
        if not x.is_floating_point():
            raise ValueError(f"{where}: {name} must be a floating-point tensor to take gradients, got {x.dtype}")
    device = _device(model, x1)
    return (x1.detach().to(device).requires_grad_(True), x2.detach().to(device).requires_grad_(True))


def gradient_attribution(model: Model, x1: Tensor, x2: Tensor, target=None) -> tuple[float, float]:
    r"""First-order attribution of each modality: the mean absolute gradient of the target logit.

    .. math::

        A_m = \frac{1}{N d_m} \sum_{i=1}^N \sum_{k=1}^{d_m}
            \left| \frac{\partial f_{y_i}}{\partial x_{m,k}}(x_{1,i}, x_{2,i}) \right|, \qquad m \in \{1, 2\}.

    Parameters
    ----------
    model : callable
        ``model(x1, x2)`` returns logits ``(batch, classes)``; evaluated in evaluation mode.
    x1, x2 : torch.Tensor
        ``(N, ...)`` floating-point inputs.
    target : None, int or torch.Tensor
        The logit :math:`f_y` to differentiate: ``None`` takes each example's predicted class, an int one class for
        all, a ``(N,)`` integer tensor one class per example (e.g. the labels).

    Returns
    -------
    (float, float)
        :math:`(A_1, A_2)`.

    Examples
    --------
    >>> import torch
    >>> linear = lambda a, b: (3 * a.sum(1) - 0.5 * b.sum(1))[:, None]
    >>> gradient_attribution(linear, torch.randn(4, 2), torch.randn(4, 3))
    (3.0, 0.5)
    """
    where = "gradient_attribution"
    x1, x2 = _prepared(model, x1, x2, where)
    # enable_grad: a caller's `with torch.no_grad()` must not break a function whose result is a gradient
    with _EvalMode(model), torch.enable_grad():
        value = _selected(model, x1, x2, target, where)
        if not value.requires_grad:  # the logits depend on neither input
            return 0.0, 0.0
        grads = torch.autograd.grad(value, (x1, x2), allow_unused=True)
    return tuple(0.0 if g is None else g.abs().mean().item() for g in grads)


def second_order_interaction(model: Model, x1: Tensor, x2: Tensor, target=None) -> float:
    r"""The mean Frobenius norm of the cross-modal block of the Hessian of the target logit.

    .. math::

        I = \frac1N \sum_{i=1}^N \left\| \frac{\partial^2 f_{y_i}}{\partial x_1 \partial x_2^\top}
            (x_{1,i}, x_{2,i}) \right\|_F .

    :math:`I = 0` for every additive model :math:`g_1(x_1) + g_2(x_2)`; for the bilinear
    :math:`f = (w_1^\top x_1)(w_2^\top x_2)` the block is :math:`w_1 w_2^\top` and
    :math:`I = \|w_1\|\,\|w_2\|`. Computed exactly by double backpropagation, one backward pass per coordinate of
    :math:`x_2` (the local, first-order-in-each-modality view of Tsang et al., 2018; Janizek et al., 2021
    integrate it along a path instead). A ReLU network is piecewise linear, so its second derivatives come only
    from multiplicative layers (tensor, bilinear, gated fusions), not from the kinks.

    Parameters
    ----------
    model, x1, x2, target
        As in :func:`gradient_attribution`.

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> bilinear = lambda a, b: (a @ torch.tensor([3., 0.]) * (b @ torch.tensor([0., 4.])))[:, None]
    >>> round(second_order_interaction(bilinear, torch.randn(5, 2), torch.randn(5, 2)), 6)
    12.0
    """
    where = "second_order_interaction"
    x1, x2 = _prepared(model, x1, x2, where)
    n = x1.shape[0]
    squares = torch.zeros(n, dtype=torch.float64, device=x1.device)
    with _EvalMode(model), torch.enable_grad():
        value = _selected(model, x1, x2, target, where)
        if not value.requires_grad:  # the logits depend on neither input
            return 0.0
        (g2,) = torch.autograd.grad(value, x2, create_graph=True, allow_unused=True)
        if g2 is None or not g2.requires_grad:  # x2 unused, or its gradient does not depend on anything
            return 0.0
        g2 = g2.reshape(n, -1)
        for k in range(g2.shape[1]):
            # column k of every example's cross block: ∂/∂x1 of ∂f/∂x2_k (examples are independent)
            (column,) = torch.autograd.grad(g2[:, k].sum(), x1, retain_graph=True, allow_unused=True)
            if column is not None:
                squares += column.reshape(n, -1).to(torch.float64).pow(2).sum(1)
    return squares.sqrt().mean().item()
