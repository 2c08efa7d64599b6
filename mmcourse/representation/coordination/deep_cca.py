r"""Deep canonical correlation analysis (Part 2.4, partial coordination by correlation): two networks trained so
that their outputs are as correlated as linear CCA can make them.

Linear CCA (:func:`mmcourse.representation.cca`) only finds *linear* projections. Deep CCA puts a network in front of
each view, :math:`h_x = f(x)`, :math:`h_y = g(y)`, and trains both to maximise the total canonical correlation of
their outputs, computed on a batch by the same whitening-and-SVD formula, which is differentiable.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from tqdm.auto import trange

from mmcourse._checks import check_number, check_same_rows, check_tensor
from mmcourse.utils import get_device, progress_enabled, trained_on

__all__ = ["cca_objective", "DeepCCA", "fit_deep_cca"]


def _check_batch(hx: Tensor, hy: Tensor, where: str) -> None:
    for name, h in (("hx", hx), ("hy", hy)):
        if not isinstance(h, Tensor) or not h.is_floating_point():
            raise TypeError(f"{where}: {name} must be a floating-point torch.Tensor, got "
                            f"{getattr(h, 'dtype', type(h).__name__)}")
        if h.dim() != 2 or h.shape[1] == 0:
            raise ValueError(f"{where}: {name} must have shape (batch, features), got {tuple(h.shape)}")
        if not torch.isfinite(h.detach()).all():
            raise ValueError(f"{where}: {name} contains NaN or infinite values")
    if hx.shape[0] != hy.shape[0]:
        raise ValueError(f"{where}: hx and hy must have the same number of rows (paired samples), got "
                         f"{hx.shape[0]} and {hy.shape[0]}")
    if hx.shape[0] < 2:
        raise ValueError(f"{where}: need a batch of at least 2 samples to estimate covariances, got {hx.shape[0]}")


def cca_objective(hx: Tensor, hy: Tensor, k: int | None = None, reg: float = 1e-3) -> Tensor:
    r"""The sum of the top ``k`` canonical correlations of two batches, differentiable (Deep CCA's objective).

    With the centred batches, :math:`\hat C_{xx} = \tfrac{1}{n-1} H_x^\top H_x + r I`,
    :math:`\hat C_{yy} = \tfrac{1}{n-1} H_y^\top H_y + r I`, :math:`\hat C_{xy} = \tfrac{1}{n-1} H_x^\top H_y` and
    :math:`T = \hat C_{xx}^{-1/2} \hat C_{xy} \hat C_{yy}^{-1/2}`, the objective is

    .. math::

        \operatorname{corr}_k(H_x, H_y) = \sum_{i=1}^{k} \sigma_i(T), \qquad
        \operatorname{corr}(H_x, H_y) = \lVert T \rVert_{\mathrm{tr}} = \operatorname{tr}\big((T^\top T)^{1/2}\big)
        \ \text{ for } k = \min(d_x, d_y),

    the *total correlation* of the paper (the trace norm of T). The whitening uses Cholesky factors
    :math:`\hat C = L L^\top` instead of symmetric square roots: :math:`L^{-1}` differs from :math:`\hat C^{-1/2}` by
    a rotation, which leaves the singular values unchanged and has a better-behaved gradient. With the same ``reg``
    its value equals ``cca(hx, hy, k, reg).correlations.sum()``.

    Paper: G. Andrew, R. Arora, J. Bilmes, K. Livescu (2013), "Deep Canonical Correlation Analysis", ICML.

    Book section: Part 2.4 Coordination (deep CCA).

    Parameters
    ----------
    hx, hy : torch.Tensor, shapes (n, d_x) and (n, d_y)
        Paired batches of the two views' features, ``n ≥ 2``.
    k : int, optional
        How many correlations to sum, ``1 ≤ k ≤ min(d_x, d_y)``; default all of them (the total correlation).
    reg : float, optional
        The ridge ``r ≥ 0`` added to each covariance (``r₁ = r₂`` of the paper); default 1e-3. It keeps the
        whitening stable when a network's outputs become nearly collinear.

    Returns
    -------
    torch.Tensor
        A scalar, between 0 and k; maximise it (minimise its negative).

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> z = torch.randn(200, 1, generator=g)
    >>> hx = torch.cat([z, torch.randn(200, 1, generator=g)], dim=1)
    >>> hy = torch.cat([3 * z, torch.randn(200, 1, generator=g)], dim=1)
    >>> round(cca_objective(hx, hy, k=1, reg=0.0).item(), 6)    # the shared signal: correlation 1
    1.0
    """
    where = "cca_objective"
    _check_batch(hx, hy, where)
    kmax = min(hx.shape[1], hy.shape[1])
    if k is None:
        k = kmax
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= kmax:
        raise ValueError(f"{where}: k must be an integer between 1 and {kmax} = min(d_x, d_y), got k={k!r}")
    if isinstance(reg, bool) or not isinstance(reg, (int, float)) or not reg >= 0 or reg == float("inf"):
        raise ValueError(f"{where}: reg must be a finite number >= 0, got reg={reg!r}")
    return _total_correlation(hx, hy, k, reg)


def _total_correlation(hx: Tensor, hy: Tensor, k: int, reg: float) -> Tensor:
    """The heart of :func:`cca_objective`: CCA's whitening and SVD, written in differentiable torch."""
    n = hx.shape[0]
    hx, hy = hx - hx.mean(0), hy - hy.mean(0)
    cxx = hx.T @ hx / (n - 1) + reg * torch.eye(hx.shape[1], dtype=hx.dtype, device=hx.device)
    cyy = hy.T @ hy / (n - 1) + reg * torch.eye(hy.shape[1], dtype=hy.dtype, device=hy.device)
    cxy = hx.T @ hy / (n - 1)
    lx, info_x = torch.linalg.cholesky_ex(cxx)
    ly, info_y = torch.linalg.cholesky_ex(cyy)
    if info_x.item() or info_y.item():
        raise ValueError(f"cca_objective: a covariance is singular (some features are constant or collinear in "
                         f"this batch); pass reg > 0 (got reg={reg!r})")
    # T = L_x⁻¹ C_xy L_y⁻ᵀ, by two triangular solves instead of explicit inverses.
    t = torch.linalg.solve_triangular(lx, cxy, upper=False)
    t = torch.linalg.solve_triangular(ly, t.T, upper=False).T
    return torch.linalg.svdvals(t)[:k].sum()


def _mlp(in_dim: int, hidden: Sequence[int], out_dim: int) -> nn.Sequential:
    """Linear layers with tanh between them and a linear output (CCA needs outputs of any sign)."""
    widths = [in_dim, *hidden, out_dim]
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.Tanh()]
    return nn.Sequential(*layers[:-1])


class DeepCCA(nn.Module):
    r"""Deep CCA: one network per view, trained to maximise the canonical correlation of their outputs.

    ``h_x = f(x)``, ``h_y = g(y)`` (multilayer perceptrons with tanh hidden units and a linear output of size
    ``out_dim``) and the loss :math:`-\operatorname{corr}_k(f(X), g(Y))` of :func:`cca_objective` on each batch.
    After training, the paper fits linear CCA on the outputs (:func:`mmcourse.representation.cca`) to obtain the
    final, uncorrelated, unit-variance projections; ``cca(*model(x, y), k)`` does that.

    Paper: G. Andrew, R. Arora, J. Bilmes, K. Livescu (2013), "Deep Canonical Correlation Analysis", ICML.

    Book section: Part 2.4 Coordination (deep CCA).

    Parameters
    ----------
    x_dim, y_dim : int
        Feature sizes of the two views.
    out_dim : int
        Size of each network's output.
    hidden : sequence of int, optional
        Widths of the hidden layers of both networks; default ``(64,)``.
    k : int, optional
        How many canonical correlations the loss sums; default ``out_dim`` (the total correlation).
    reg : float, optional
        The ridge of :func:`cca_objective`; default 1e-3.

    Examples
    --------
    >>> import torch
    >>> model = DeepCCA(5, 3, out_dim=2, hidden=(8,))
    >>> hx, hy = model(torch.randn(10, 5), torch.randn(10, 3))
    >>> hx.shape, hy.shape, model.loss(torch.randn(10, 5), torch.randn(10, 3)).dim()
    (torch.Size([10, 2]), torch.Size([10, 2]), 0)
    """

    def __init__(self, x_dim: int, y_dim: int, out_dim: int, hidden: Sequence[int] = (64,), k: int | None = None,
                 reg: float = 1e-3):
        super().__init__()
        for name, value in {"x_dim": x_dim, "y_dim": y_dim, "out_dim": out_dim,
                            **{f"hidden[{i}]": w for i, w in enumerate(hidden)}}.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"DeepCCA: {name} must be a positive integer, got {value!r}")
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= out_dim):
            raise ValueError(f"DeepCCA: k must be an integer between 1 and out_dim={out_dim}, got k={k!r}")
        check_number("DeepCCA", "reg", reg, low=0)
        self.encoder_x = _mlp(x_dim, hidden, out_dim)
        self.encoder_y = _mlp(y_dim, hidden, out_dim)
        self.x_dim, self.y_dim, self.out_dim = x_dim, y_dim, out_dim
        self.k, self.reg = k or out_dim, reg

    def forward(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        for name, value, dim in (("x", x, self.x_dim), ("y", y, self.y_dim)):
            if not isinstance(value, Tensor) or value.dim() != 2 or value.shape[1] != dim:
                raise ValueError(f"DeepCCA: {name} must be a tensor of shape (batch, {dim}), got "
                                 f"{tuple(getattr(value, 'shape', ())) or type(value).__name__}")
            check_tensor("DeepCCA", name, value)                      # floating-point, non-empty, finite
        check_same_rows("DeepCCA", x=x, y=y)
        return self.encoder_x(x), self.encoder_y(y)

    def loss(self, x: Tensor, y: Tensor) -> Tensor:
        """``−corr_k(f(x), g(y))``, the quantity training minimises."""
        return -cca_objective(*self(x, y), k=self.k, reg=self.reg)


def fit_deep_cca(model: DeepCCA, x: Tensor, y: Tensor, *, epochs: int = 200, lr: float = 1e-2,
                 batch_size: int | None = None, device: torch.device | str | None = None,
                 progress: bool | None = None) -> list[float]:
    """Train a :class:`DeepCCA` model with Adam on paired views; returns the objective (not the loss) per epoch.

    Parameters
    ----------
    model : DeepCCA
    x, y : torch.Tensor, shapes (n, x_dim) and (n, y_dim)
        The paired training views.
    epochs, lr : int, float
        Adam's settings.
    batch_size : int, optional
        Samples per step; default ``None``, the full batch, as in the paper (the objective is a property of the
        whole sample's covariances; small batches give noisy, biased estimates of it).
    device, progress
        As for :func:`mmcourse.training.fit`.

    Returns
    -------
    list of float
        The mean batch objective ``corr_k`` of each epoch (it should rise).

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> z = torch.randn(64, 1)                                   # the signal both views share
    >>> x, y = torch.cat([z, torch.randn(64, 3)], 1), torch.cat([torch.randn(64, 2), z.exp()], 1)
    >>> history = fit_deep_cca(DeepCCA(4, 3, out_dim=1, hidden=(8,)), x, y, epochs=30, progress=False)
    >>> len(history), history[-1] > history[0]
    (30, True)
    """
    if not isinstance(model, DeepCCA):
        raise TypeError(f"fit_deep_cca: model must be a DeepCCA, got {type(model).__name__}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"fit_deep_cca: epochs must be a positive integer, got {epochs!r}")
    check_number("fit_deep_cca", "lr", lr, low=0, low_open=True)
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise TypeError(f"fit_deep_cca: x and y must be torch tensors, got {type(x).__name__} and {type(y).__name__}")
    check_tensor("fit_deep_cca", "x", x, shape=(None, model.x_dim))
    check_tensor("fit_deep_cca", "y", y, shape=(None, model.y_dim))
    n = check_same_rows("fit_deep_cca", x=x, y=y)
    batch_size = n if batch_size is None else batch_size
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
        raise ValueError(f"fit_deep_cca: batch_size must be an integer >= 2, got {batch_size!r}")
    device = get_device(device)
    with trained_on(model, device):  # back on its own device afterwards
        x, y = x.to(device), y.to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        history: list[float] = []
        for _ in trange(epochs, disable=not progress_enabled(progress), desc="epochs", leave=False):
            model.train()
            order = torch.randperm(n).to(device)
            total, batches = 0.0, 0
            for start in range(0, n - 1, batch_size):        # a last batch of one sample has no covariance: skip it
                idx = order[start:start + batch_size]
                if len(idx) < 2:
                    continue
                loss = model.loss(x[idx], y[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total, batches = total - loss.item(), batches + 1
            history.append(total / batches)
    return history
