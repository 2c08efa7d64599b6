r"""Modality-level fission (Part 2.5): factorize two or more modalities into one shared and one private factor each.

:class:`FactorizedModel` follows the factorization of MFM (Tsai et al., 2019): a *shared* (multimodal
discriminative) factor computed from all modalities, which alone predicts the label, and one *private* (modality-
specific generative) factor per modality, which together with the shared one reconstructs that modality.
:func:`fit_factorized` trains it on the loss of :meth:`FactorizedModel.loss`, and :func:`decorrelation_penalty` is
the penalty that keeps the factors apart.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import trange

from mmcourse._checks import check_ids, check_tensor
from mmcourse.utils import check_modalities, get_device, progress_enabled, trained_on

__all__ = ["FactorizedModel", "Factors", "FactorizedLoss", "FactorizedHistory", "decorrelation_penalty",
           "fit_factorized"]


def _mlp(in_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    """Linear–ReLU–Linear: the output is unconstrained (a factor can be negative), unlike MLPEncoder's."""
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))


def _check_int(where: str, name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{where}: {name} must be an integer ≥ {minimum}, got {value!r}")
    return value


def _check_weight(where: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= float(value) < float("inf"):
        raise ValueError(f"{where}: {name} must be a finite number ≥ 0, got {value!r}")
    return float(value)


def decorrelation_penalty(a: Tensor, b: Tensor, eps: float = 1e-5) -> Tensor:
    r"""The sum of squared Pearson correlations between the columns of ``a`` and those of ``b`` over the batch.

    :math:`D(a, b) = \lVert \hat a^\top \hat b / n \rVert_F^2 = \sum_{k, l} \mathrm{corr}(a_{:k}, b_{:l})^2`, where
    :math:`\hat a, \hat b` are the columns centred and scaled to unit variance. It is 0 when no unit of ``a`` is
    linearly correlated with any unit of ``b``, and at most ``a.shape[1] · b.shape[1]``. Normalising matters: the
    raw orthogonality penalty :math:`\lVert a^\top b \rVert_F^2` of domain separation networks can be met by
    shrinking a factor towards zero, which a correlation cannot.

    Parameters
    ----------
    a, b : torch.Tensor
        ``(n, k)`` and ``(n, l)`` with the same ``n ≥ 2``.
    eps : float
        Added to the variances, so that a constant column gives a correlation of 0 rather than NaN.

    Returns
    -------
    torch.Tensor
        A scalar (differentiable).

    Examples
    --------
    >>> import torch
    >>> a = torch.tensor([[1.0], [2.0], [3.0]])
    >>> b = torch.tensor([[1.0], [-2.0], [1.0]])   # uncorrelated with a
    >>> round(decorrelation_penalty(a, 2 * a).item(), 3), round(decorrelation_penalty(a, b).item(), 3)
    (1.0, 0.0)
    """
    for name, t in (("a", a), ("b", b)):
        if not isinstance(t, Tensor) or t.dim() != 2:
            raise ValueError(f"decorrelation_penalty: {name} must be a 2-D tensor (batch, units), got "
                             f"{tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__}")
        check_tensor("decorrelation_penalty", name, t)
    eps = _check_weight("decorrelation_penalty", "eps", eps)
    if a.shape[0] != b.shape[0] or a.shape[0] < 2:
        raise ValueError(f"decorrelation_penalty: a and b must have the same number of rows n ≥ 2, got "
                         f"{a.shape[0]} and {b.shape[0]}")
    a = (a - a.mean(0)) / (a.var(0, unbiased=False) + eps).sqrt()
    b = (b - b.mean(0)) / (b.var(0, unbiased=False) + eps).sqrt()
    return ((a.T @ b) / a.shape[0]).pow(2).sum()


@dataclass
class Factors:
    """The factors of a batch: ``shared`` ``(batch, shared_dim)`` and ``private[m]`` ``(batch, private_dim)``."""

    shared: Tensor
    private: tuple[Tensor, ...]


@dataclass
class FactorizedLoss:
    """The terms of the factorized loss; ``total = classification + λ·reconstruction + μ·decorrelation``, with
    ``decorrelation`` summed over every pair of factors."""

    total: Tensor
    classification: Tensor
    reconstruction: Tensor
    decorrelation: Tensor
    logits: Tensor


class FactorizedModel(nn.Module):
    r"""A shared factor and one private factor per modality, in the spirit of MFM (Tsai et al., 2019).

    With modalities :math:`x_1, \dots, x_M`:

    .. math::

        s = E_s([x_1; \dots; x_M]), \quad p_m = E_m(x_m), \quad \hat x_m = D_m([s; p_m]), \quad
        \hat y = \mathrm{softmax}(W s + c),

        \mathcal L = \mathrm{CE}(\hat y, y)
          + \lambda \sum_m \tfrac{1}{d_m} \lVert x_m - \hat x_m \rVert^2
          + \mu \Big[\sum_m D(s, p_m) + \sum_{m < m'} D(p_m, p_{m'})\Big],

    each term averaged over the batch, with :func:`decorrelation_penalty` :math:`D`. The label sees only the
    shared factor :math:`s` (MFM's *multimodal discriminative* factor); each modality is rebuilt from :math:`s` and
    its own :math:`p_m` (MFM's *modality-specific generative* factors). Because every decoder reads :math:`s`,
    information present in all modalities is cheapest to keep once, in :math:`s`; a small ``private_dim`` leaves
    the private factors room for little else than what is specific to their modality.

    Nothing in the first two terms forbids a private factor to copy shared information too (each :math:`x_m`
    contains it), and on the book's redundancy data it does: without the third term a linear probe reads the label
    off :math:`p_1` well above chance. The third term decorrelates every pair of factors, a linear stand-in for
    MFM's prior, under which the factors are independent. Both pairings matter: :math:`D(s, p_m)` keeps what
    :math:`s` holds out of :math:`p_m`, and :math:`D(p_m, p_{m'})` keeps the private factors from holding two
    copies of the same shared content, which then has nowhere to go but :math:`s`. A correlation does not see
    nonlinear dependence; FactorCL (Liang et al., 2023) separates shared from unique information with bounds on
    (conditional) mutual information instead.

    MFM itself is a generative model (a Wasserstein autoencoder with priors on the factors); this module keeps its
    factorization and its two losses, deterministically, so that it trains in seconds.

    Papers: Y.-H. H. Tsai, P. P. Liang, A. Zadeh, L.-P. Morency, R. Salakhutdinov (2019), "Learning Factorized
    Multimodal Representations", ICLR; P. P. Liang, Z. Deng, M. Ma, J. Zou, L.-P. Morency, R. Salakhutdinov (2023),
    "Factorized Contrastive Learning: Going Beyond Multi-view Redundancy", NeurIPS.

    Book section: Part 2.5 Fission (modality-level fission).

    Parameters
    ----------
    input_dims : sequence of int
        The size ``d_m`` of each (flat) modality, at least two.
    num_classes : int
        At least 2.
    shared_dim, private_dim : int
        Sizes of ``s`` and of each ``p_m``; default 4 and 6.
    hidden : int
        Width of the hidden layer of every encoder and decoder; default 64.
    recon_weight, decorrelation_weight : float
        ``λ`` and ``μ`` of the loss; default 1.0 and 0.5.

    Examples
    --------
    >>> import torch
    >>> model = FactorizedModel((12, 10), num_classes=2, shared_dim=3, private_dim=2)
    >>> x1, x2, y = torch.randn(5, 12), torch.randn(5, 10), torch.tensor([0, 1, 1, 0, 1])
    >>> f = model.factors(x1, x2)
    >>> f.shared.shape, [p.shape for p in f.private]
    (torch.Size([5, 3]), [torch.Size([5, 2]), torch.Size([5, 2])])
    >>> [r.shape for r in model.reconstruct(x1, x2)], model(x1, x2).shape
    ([torch.Size([5, 12]), torch.Size([5, 10])], torch.Size([5, 2]))
    >>> loss = model.loss([x1, x2], y); loss.total.shape
    torch.Size([])
    """

    def __init__(self, input_dims: Sequence[int], num_classes: int, *, shared_dim: int = 4, private_dim: int = 6,
                 hidden: int = 64, recon_weight: float = 1.0, decorrelation_weight: float = 0.5):
        super().__init__()
        where = "FactorizedModel"
        if isinstance(input_dims, (str, bytes)) or not isinstance(input_dims, Sequence) or len(input_dims) < 2:
            raise ValueError(f"{where}: input_dims must list the sizes of at least 2 modalities, got {input_dims!r}")
        self.input_dims = tuple(_check_int(where, f"input_dims[{m}]", d) for m, d in enumerate(input_dims))
        self.num_classes = _check_int(where, "num_classes", num_classes, 2)
        self.shared_dim = _check_int(where, "shared_dim", shared_dim)
        self.private_dim = _check_int(where, "private_dim", private_dim)
        hidden = _check_int(where, "hidden", hidden)
        self.recon_weight = _check_weight(where, "recon_weight", recon_weight)
        self.decorrelation_weight = _check_weight(where, "decorrelation_weight", decorrelation_weight)
        self.shared_encoder = _mlp(sum(self.input_dims), hidden, shared_dim)                     # E_s
        self.private_encoders = nn.ModuleList(_mlp(d, hidden, private_dim) for d in self.input_dims)  # E_m
        self.decoders = nn.ModuleList(_mlp(shared_dim + private_dim, hidden, d) for d in self.input_dims)  # D_m
        self.head = nn.Linear(shared_dim, self.num_classes)                                    # W, c

    def factors(self, *xs: Tensor) -> Factors:
        """The shared factor ``s`` and the private factors ``p_m`` of a batch."""
        check_modalities(xs, self.input_dims, type(self).__name__)
        return Factors(self.shared_encoder(torch.cat(xs, dim=1)),
                       tuple(E(x) for E, x in zip(self.private_encoders, xs)))

    def decode(self, factors: Factors) -> tuple[Tensor, ...]:
        """``x̂_m = D_m([s; p_m])`` for every modality."""
        return tuple(D(torch.cat([factors.shared, p], dim=1)) for D, p in zip(self.decoders, factors.private))

    def reconstruct(self, *xs: Tensor) -> tuple[Tensor, ...]:
        """Each modality rebuilt from the shared factor and its own private factor."""
        return self.decode(self.factors(*xs))

    def forward(self, *xs: Tensor) -> Tensor:
        """The label's logits, from the shared factor alone (so that :func:`mmcourse.training.evaluate` works)."""
        return self.head(self.factors(*xs).shared)

    def loss(self, xs: Sequence[Tensor], labels: Tensor) -> FactorizedLoss:
        """The three terms of the loss on one batch, and their weighted sum ``total`` (see the class docstring)."""
        factors = self.factors(*xs)
        if not isinstance(labels, Tensor) or labels.shape != (xs[0].shape[0],):
            raise ValueError(f"FactorizedModel.loss: labels must be a tensor of shape ({xs[0].shape[0]},), got "
                             f"{tuple(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__}")
        logits = self.head(factors.shared)
        classification = F.cross_entropy(logits, labels)
        reconstruction = sum(F.mse_loss(r, x) for r, x in zip(self.decode(factors), xs))    # mean over d_m too
        # Every pair of factors, as MFM's prior makes them independent: s with each p_m, and the p_m with each other.
        everything = (factors.shared, *factors.private)
        decor = sum(decorrelation_penalty(a, b) for i, a in enumerate(everything) for b in everything[i + 1:])
        total = classification + self.recon_weight * reconstruction + self.decorrelation_weight * decor
        return FactorizedLoss(total, classification, reconstruction, decor, logits)

    def extra_repr(self) -> str:
        return (f"input_dims={self.input_dims}, num_classes={self.num_classes}, shared_dim={self.shared_dim}, "
                f"private_dim={self.private_dim}, recon_weight={self.recon_weight}, "
                f"decorrelation_weight={self.decorrelation_weight}")


@dataclass
class FactorizedHistory:
    """Per-epoch averages of each loss term over the training batches."""

    total: list[float] = field(default_factory=list)
    classification: list[float] = field(default_factory=list)
    reconstruction: list[float] = field(default_factory=list)
    decorrelation: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.total)


def fit_factorized(model: FactorizedModel, train: tuple[Sequence[Tensor], Tensor], *, epochs: int = 60,
                   lr: float = 1e-2, batch_size: int = 256, device: torch.device | str | None = None,
                   progress: bool | None = None) -> FactorizedHistory:
    """Train a :class:`FactorizedModel` with Adam on its loss (:meth:`FactorizedModel.loss`).

    Parameters
    ----------
    model : FactorizedModel
    train : (inputs, labels)
        One float tensor per modality and int64 labels, as :func:`mmcourse.data.as_tensors` returns them.
    epochs, lr, batch_size
        The optimisation settings; batches are reshuffled every epoch with torch's global generator.
    device : optional
        Defaults to :func:`mmcourse.get_device`. The model trains there and goes back to the device it was on.
    progress : bool, optional
        Show a ``tqdm`` bar; ``None`` follows :func:`mmcourse.set_progress`.

    Returns
    -------
    FactorizedHistory

    Examples
    --------
    >>> import torch
    >>> x1, x2 = torch.randn(64, 6), torch.randn(64, 6); y = (x1[:, 0] > 0).long()
    >>> fit_factorized(FactorizedModel((6, 6), 2), ([x1, x2], y), epochs=2, progress=False).epochs
    2
    """
    if not isinstance(model, FactorizedModel):
        raise TypeError(f"fit_factorized: model must be a FactorizedModel, got {type(model).__name__}")
    if not (isinstance(train, (tuple, list)) and len(train) == 2):
        raise ValueError("fit_factorized: train must be a pair (inputs, labels), inputs a list of tensors")
    inputs, labels = list(train[0]), train[1]
    check_modalities(inputs, model.input_dims, "fit_factorized")
    if not isinstance(labels, Tensor) or labels.shape != (inputs[0].shape[0],):
        raise ValueError(f"fit_factorized: labels must be a 1-D tensor with one label per row "
                         f"({inputs[0].shape[0]}), got {getattr(labels, 'shape', type(labels).__name__)}")
    check_ids("fit_factorized", "labels", labels, model.num_classes)
    _check_int("fit_factorized", "epochs", epochs)
    _check_int("fit_factorized", "batch_size", batch_size)
    if not lr > 0:
        raise ValueError(f"fit_factorized: lr must be positive, got {lr!r}")
    device = get_device(device)
    with trained_on(model, device):   # back on its own device afterwards, as in mmcourse.training.fit
        inputs, labels = [x.to(device) for x in inputs], labels.to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        history, n = FactorizedHistory(), labels.shape[0]
        for _ in trange(epochs, disable=not progress_enabled(progress), desc="epochs", leave=False):
            model.train()
            sums = dict.fromkeys(("total", "classification", "reconstruction", "decorrelation"), 0.0)
            order = torch.randperm(n).to(device)
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                if len(idx) < 2:   # a correlation needs two rows
                    continue
                terms = model.loss([x[idx] for x in inputs], labels[idx])
                optimizer.zero_grad(set_to_none=True)
                terms.total.backward()
                optimizer.step()
                for key in sums:
                    sums[key] += getattr(terms, key).item() * len(idx)
            for key, value in sums.items():
                getattr(history, key).append(value / n)
    return history
