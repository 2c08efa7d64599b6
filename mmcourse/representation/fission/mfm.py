r"""MFM as published (Part 2.5): the multimodal factorization model of Tsai et al. (2019), a generative model.

:class:`MFM` has one multimodal discriminative factor :math:`Z_y` and one modality-specific generative factor
:math:`Z_{a(m)}` per modality, each with a standard normal prior; :func:`fit_mfm` trains it on the Wasserstein
autoencoder objective (reconstruction + label + λ·MMD to the prior, :func:`mmd`) or, with one switch, on the
variational one (KL to the prior, :func:`gaussian_kl`). Because the factors follow the prior, the model can
generate (:meth:`MFM.generate`) and swap a private factor between examples (:func:`swap_private`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import trange

from mmcourse._checks import check_ids
from mmcourse.representation.fission._mmd import gaussian_kl, imq_kernel, mmd
from mmcourse.representation.fission.factorized import Factors, _check_int, _check_weight, _mlp
from mmcourse.utils import check_modalities, get_device, progress_enabled, trained_on

__all__ = ["MFM", "MFMLoss", "MFMHistory", "fit_mfm", "swap_private", "mmd", "imq_kernel", "gaussian_kl"]


@dataclass
class MFMLoss:
    """The terms of MFM's loss; ``total = classification + recon_weight·reconstruction + prior_weight·prior``."""

    total: Tensor
    classification: Tensor
    reconstruction: Tensor
    prior: Tensor
    logits: Tensor


class MFM(nn.Module):
    r"""The multimodal factorization model (Tsai et al., 2019), in its Wasserstein autoencoder form.

    Inference networks give the factors, generative networks rebuild every modality and the label:

    .. math::

        Z_y \sim Q(Z_y \mid X_{1:M}), \quad Z_{a(m)} \sim Q(Z_{a(m)} \mid X_m), \quad
        \hat X_m = F_m\big(F_y(Z_y), F_{a(m)}(Z_{a(m)})\big), \quad \hat Y = D\big(F_y(Z_y)\big),

        \mathcal L = \sum_m \tfrac{1}{d_m}\lVert X_m - \hat X_m \rVert^2 + \mathrm{CE}(\hat Y, Y)
          + \lambda\, \mathrm{MMD}\big(Q_Z, P_Z\big), \qquad P_Z = \mathcal N(0, I),

    where :math:`Q_Z` is the aggregate posterior of :math:`Z = [Z_y; Z_{a(1)}; \dots; Z_{a(M)}]` over the data,
    compared with prior samples by :func:`mmd` (IMQ kernel) on each batch. Because the prior is one standard normal
    over all factors together, the MMD also pushes the factors towards *independence*, nonlinear dependence
    included. As in WAE, the encoders are deterministic (``prior="mmd"``). With ``prior="kl"`` the model is the
    variational form instead: each encoder outputs a mean and a log-variance, :math:`Z` is sampled by
    reparameterisation, and the prior term is :func:`gaussian_kl`, per example rather than on the aggregate.

    Paper: Y.-H. H. Tsai, P. P. Liang, A. Zadeh, L.-P. Morency, R. Salakhutdinov (2019), "Learning Factorized
    Multimodal Representations", ICLR. Book section: Part 2.5 Fission (MFM as published).

    Parameters
    ----------
    input_dims : sequence of int
        The size ``d_m`` of each (flat) modality, at least two.
    num_classes : int
        At least 2.
    shared_dim, private_dim : int
        Sizes of :math:`Z_y` and of each :math:`Z_{a(m)}`; default 4 each.
    hidden : int
        Width of every hidden layer; default 64.
    prior : str
        ``"mmd"`` (Wasserstein autoencoder, the default) or ``"kl"`` (variational autoencoder).
    recon_weight, prior_weight : float
        The weight of the reconstruction term and :math:`\lambda`; default 1.0 each.

    Examples
    --------
    >>> import torch
    >>> model = MFM((12, 10), num_classes=2, shared_dim=3, private_dim=2)
    >>> x1, x2, y = torch.randn(5, 12), torch.randn(5, 10), torch.tensor([0, 1, 1, 0, 1])
    >>> f = model.factors(x1, x2); f.shared.shape, [p.shape for p in f.private]
    (torch.Size([5, 3]), [torch.Size([5, 2]), torch.Size([5, 2])])
    >>> [x.shape for x in model.generate(7)], model(x1, x2).shape
    ([torch.Size([7, 12]), torch.Size([7, 10])], torch.Size([5, 2]))
    """

    def __init__(self, input_dims: Sequence[int], num_classes: int, *, shared_dim: int = 4, private_dim: int = 4,
                 hidden: int = 64, prior: str = "mmd", recon_weight: float = 1.0, prior_weight: float = 1.0):
        super().__init__()
        where = "MFM"
        if isinstance(input_dims, (str, bytes)) or not isinstance(input_dims, Sequence) or len(input_dims) < 2:
            raise ValueError(f"{where}: input_dims must list the sizes of at least 2 modalities, got {input_dims!r}")
        if prior not in ("mmd", "kl"):
            raise ValueError(f"{where}: prior must be 'mmd' or 'kl', got {prior!r}")
        self.input_dims = tuple(_check_int(where, f"input_dims[{m}]", d) for m, d in enumerate(input_dims))
        self.num_classes = _check_int(where, "num_classes", num_classes, 2)
        self.shared_dim = _check_int(where, "shared_dim", shared_dim)
        self.private_dim = _check_int(where, "private_dim", private_dim)
        h = _check_int(where, "hidden", hidden)
        self.prior = prior
        self.recon_weight = _check_weight(where, "recon_weight", recon_weight)
        self.prior_weight = _check_weight(where, "prior_weight", prior_weight)
        out = 2 if prior == "kl" else 1      # a mean, and a log-variance when variational
        self.shared_encoder = _mlp(sum(self.input_dims), h, out * shared_dim)                   # Q(Z_y | X_1:M)
        self.private_encoders = nn.ModuleList(_mlp(d, h, out * private_dim) for d in self.input_dims)  # Q(Z_a(m)|X_m)
        self.shared_generator = nn.Sequential(nn.Linear(shared_dim, h), nn.ReLU())            # F_y
        self.private_generators = nn.ModuleList(nn.Sequential(nn.Linear(private_dim, h), nn.ReLU())
                                                for _ in self.input_dims)                     # F_a(m)
        self.decoders = nn.ModuleList(_mlp(2 * h, h, d) for d in self.input_dims)            # F_m
        self.discriminator = nn.Linear(h, self.num_classes)                                    # D

    def posterior(self, *xs: Tensor) -> tuple[Factors, Factors | None]:
        """The posterior means of the factors and, for ``prior="kl"``, their log-variances (else ``None``)."""
        check_modalities(xs, self.input_dims, type(self).__name__)
        raw = [self.shared_encoder(torch.cat(xs, dim=1)), *(Q(x) for Q, x in zip(self.private_encoders, xs))]
        if self.prior == "mmd":
            return Factors(raw[0], tuple(raw[1:])), None
        means, logvars = zip(*(r.chunk(2, dim=1) for r in raw))
        return Factors(means[0], tuple(means[1:])), Factors(logvars[0], tuple(logvars[1:]))

    def factors(self, *xs: Tensor) -> Factors:
        """The factors of a batch (posterior means): what the probes and :meth:`decode` read."""
        return self.posterior(*xs)[0]

    def decode(self, factors: Factors) -> tuple[Tensor, ...]:
        """:math:`\\hat X_m = F_m(F_y(Z_y), F_{a(m)}(Z_{a(m)}))` for every modality."""
        shared = self.shared_generator(factors.shared)
        return tuple(F_m(torch.cat([shared, F_a(z)], dim=1))
                     for F_m, F_a, z in zip(self.decoders, self.private_generators, factors.private))

    def reconstruct(self, *xs: Tensor) -> tuple[Tensor, ...]:
        """Each modality rebuilt from its factors (posterior means)."""
        return self.decode(self.factors(*xs))

    def forward(self, *xs: Tensor) -> Tensor:
        """The label's logits :math:`D(F_y(Z_y))`, from the discriminative factor alone."""
        return self.discriminator(self.shared_generator(self.factors(*xs).shared))

    def sample_prior(self, n: int, generator: torch.Generator | None = None) -> Factors:
        """``n`` draws of every factor from the prior :math:`\\mathcal N(0, I)` (on the model's device)."""
        _check_int("MFM.sample_prior", "n", n)
        device = self.discriminator.weight.device
        draw = lambda d: torch.randn(n, d, generator=generator).to(device)   # noqa: E731
        return Factors(draw(self.shared_dim), tuple(draw(self.private_dim) for _ in self.input_dims))

    @torch.no_grad()
    def generate(self, n: int, generator: torch.Generator | None = None) -> tuple[Tensor, ...]:
        """Every modality decoded from ``n`` prior samples: one shared draw feeds all the decoders."""
        return self.decode(self.sample_prior(n, generator))

    def loss(self, xs: Sequence[Tensor], labels: Tensor) -> MFMLoss:
        """The three terms of the loss on one batch, and their weighted sum ``total`` (see the class docstring)."""
        mean, logvar = self.posterior(*xs)
        if not isinstance(labels, Tensor) or labels.shape != (xs[0].shape[0],):
            raise ValueError(f"MFM.loss: labels must be a tensor of shape ({xs[0].shape[0]},), got "
                             f"{tuple(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__}")
        z_mean = torch.cat([mean.shared, *mean.private], dim=1)
        if self.prior == "mmd":
            z = mean                                   # deterministic encoders, as in WAE
            prior = mmd(z_mean, torch.randn_like(z_mean), kernel="imq")   # aggregate posterior vs prior samples
        else:
            z_logvar = torch.cat([logvar.shared, *logvar.private], dim=1)
            z_all = z_mean + (0.5 * z_logvar).exp() * torch.randn_like(z_mean)   # reparameterisation
            z = Factors(*_split(z_all, self.shared_dim, self.private_dim))
            prior = gaussian_kl(z_mean, z_logvar)
        logits = self.discriminator(self.shared_generator(z.shared))
        classification = F.cross_entropy(logits, labels)
        reconstruction = sum(F.mse_loss(r, x) for r, x in zip(self.decode(z), xs))
        total = classification + self.recon_weight * reconstruction + self.prior_weight * prior
        return MFMLoss(total, classification, reconstruction, prior, logits)

    def extra_repr(self) -> str:
        return (f"input_dims={self.input_dims}, num_classes={self.num_classes}, shared_dim={self.shared_dim}, "
                f"private_dim={self.private_dim}, prior={self.prior!r}, recon_weight={self.recon_weight}, "
                f"prior_weight={self.prior_weight}")


def _split(z: Tensor, shared_dim: int, private_dim: int) -> tuple[Tensor, tuple[Tensor, ...]]:
    shared, rest = z[:, :shared_dim], z[:, shared_dim:]
    return shared, tuple(rest.split(private_dim, dim=1))


def swap_private(factors: Factors, donor: Factors, modalities: Sequence[int] | None = None) -> Factors:
    """Keep ``factors.shared`` and take ``donor``'s private factors for ``modalities`` (default: all).

    Decoding the result is MFM's conditional generation: the content of one example in the style of another.

    Examples
    --------
    >>> import torch
    >>> a = Factors(torch.zeros(2, 1), (torch.zeros(2, 1), torch.zeros(2, 1)))
    >>> b = Factors(torch.ones(2, 1), (torch.ones(2, 1), torch.ones(2, 1)))
    >>> s = swap_private(a, b, [1]); s.shared.sum().item(), s.private[0].sum().item(), s.private[1].sum().item()
    (0.0, 0.0, 2.0)
    """
    for name, f in (("factors", factors), ("donor", donor)):
        if not isinstance(f, Factors):
            raise TypeError(f"swap_private: {name} must be a Factors, got {type(f).__name__}")
    if len(factors.private) != len(donor.private) or factors.shared.shape[0] != donor.shared.shape[0]:
        raise ValueError(f"swap_private: factors and donor must have as many modalities and rows, got "
                         f"{len(factors.private)} and {len(donor.private)} modalities, {factors.shared.shape[0]} "
                         f"and {donor.shared.shape[0]} rows")
    chosen = range(len(factors.private)) if modalities is None else list(modalities)
    if any(isinstance(m, bool) or not isinstance(m, int) or not 0 <= m < len(factors.private) for m in chosen):
        raise ValueError(f"swap_private: modalities must be indices in 0..{len(factors.private) - 1}, got "
                         f"{modalities!r}")
    return Factors(factors.shared, tuple(donor.private[m] if m in chosen else p
                                         for m, p in enumerate(factors.private)))


@dataclass
class MFMHistory:
    """Per-epoch averages of each loss term over the training batches."""

    total: list[float] = field(default_factory=list)
    classification: list[float] = field(default_factory=list)
    reconstruction: list[float] = field(default_factory=list)
    prior: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.total)


def fit_mfm(model: MFM, train: tuple[Sequence[Tensor], Tensor], *, epochs: int = 200, lr: float = 1e-2,
            batch_size: int = 500, device: torch.device | str | None = None,
            progress: bool | None = None) -> MFMHistory:
    """Train an :class:`MFM` with Adam on its loss (:meth:`MFM.loss`), large batches reshuffled every epoch.

    Parameters
    ----------
    model : MFM
    train : (inputs, labels)
        One float tensor per modality and int64 labels, as :func:`mmcourse.data.as_tensors` returns them.
    epochs, lr, batch_size
        The optimisation settings (a batch of fewer than 2 rows is skipped: the MMD needs two).
    device : optional
        Defaults to :func:`mmcourse.get_device`; the model goes back to its own device afterwards.
    progress : bool, optional
        Show a ``tqdm`` bar; ``None`` follows :func:`mmcourse.set_progress`.

    Returns
    -------
    MFMHistory

    Examples
    --------
    >>> import torch
    >>> x1, x2 = torch.randn(64, 6), torch.randn(64, 6); y = (x1[:, 0] > 0).long()
    >>> fit_mfm(MFM((6, 6), 2), ([x1, x2], y), epochs=2, progress=False).epochs
    2
    """
    if not isinstance(model, MFM):
        raise TypeError(f"fit_mfm: model must be an MFM, got {type(model).__name__}")
    if not (isinstance(train, (tuple, list)) and len(train) == 2):
        raise ValueError("fit_mfm: train must be a pair (inputs, labels), inputs a list of tensors")
    inputs, labels = list(train[0]), train[1]
    check_modalities(inputs, model.input_dims, "fit_mfm")
    if not isinstance(labels, Tensor) or labels.shape != (inputs[0].shape[0],):
        raise ValueError(f"fit_mfm: labels must be a 1-D tensor with one label per row ({inputs[0].shape[0]}), "
                         f"got {getattr(labels, 'shape', type(labels).__name__)}")
    check_ids("fit_mfm", "labels", labels, model.num_classes)
    _check_int("fit_mfm", "epochs", epochs)
    _check_int("fit_mfm", "batch_size", batch_size)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"fit_mfm: lr must be a positive number, got {lr!r}")
    device = get_device(device)
    with trained_on(model, device):
        inputs, labels = [x.to(device) for x in inputs], labels.to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        history, n = MFMHistory(), labels.shape[0]
        for _ in trange(epochs, disable=not progress_enabled(progress), desc="epochs", leave=False):
            model.train()
            sums = dict.fromkeys(("total", "classification", "reconstruction", "prior"), 0.0)
            order = torch.randperm(n).to(device)
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                if len(idx) < 2:
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
