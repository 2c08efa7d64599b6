r"""FactorCL (Part 2.5): shared and unique information, each kept or removed by a contrastive bound.

Liang et al. (2023), *Factorized Contrastive Learning: Going Beyond Multi-view Redundancy*. The task-relevant
information of two modalities splits into a shared part and one unique part per modality,

.. math::

    S = I(X_1; X_2; Y) = I(X_1; X_2) - I(X_1; X_2 \mid Y), \qquad
    U_1 = I(X_1; Y \mid X_2) = I(X_1; Y) - I(X_1; X_2) + I(X_1; X_2 \mid Y),

and :class:`FactorCL` learns one encoder per part, maximising a lower bound of every term with a plus sign and
minimising an upper bound of every term with a minus sign (the estimators of
:mod:`~mmcourse.representation.fission._bounds`). :func:`factorcl_toy` draws data whose split is known.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmcourse._checks import check_tensor
from mmcourse.representation.fission._bounds import (Critic, conditional_info_nce, conditional_nce_club, info_nce,
                                                      nce_club)
from mmcourse.representation.fission._bounds import __all__ as _bounds_all
from mmcourse.representation.fission._bounds import *  # noqa: F401,F403
from mmcourse.representation.fission._estimate import __all__ as _estimate_all
from mmcourse.representation.fission._estimate import *  # noqa: F401,F403
from mmcourse.utils import check_positive, get_device, trained_on

__all__ = [*_bounds_all, *_estimate_all, "factorcl_toy", "FactorCL", "FactorCLHistory", "fit_factorcl", "TOY_LABELS"]

TOY_LABELS = ("shared", "unique", "both")
TOY_FEATURES = 8
BIT_NOISE = 0.4  # a unique bit is read right with probability Phi(1 / 0.4) = 0.994


def factorcl_toy(n: int, label: str = "both", seed: int = 0) -> dict[str, Tensor]:
    r"""Two modalities with a known split: a shared signal, one unique bit per modality, and nuisance.

    A shared Gaussian :math:`s \in \mathbb R^2` (both modalities see it, each with noise 0.1), unique signals
    :math:`u_m = (2 b_m - 1) + 0.4\,\varepsilon_m` of bits :math:`b_m \sim \mathrm{Bernoulli}(1/2)`, and two
    nuisance Gaussians :math:`v_m`, mixed into 8 features by a fixed random matrix :math:`P_m` (seed 1234):
    :math:`x_m = [s + 0.1\varepsilon; u_m; v_m] P_m`. The shared bit is :math:`b_s = [s_1 > 0]` and the label is
    ``"shared"``: :math:`y = b_s`; ``"unique"``: :math:`y = b_1`; ``"both"``: :math:`y = 2 b_s + b_1` (4 classes).
    :math:`b_2` is in no label: it is unique and task-irrelevant. Book Part 2.5 (FactorCL).

    Parameters
    ----------
    n : int
        Number of examples.
    label : str
        One of :data:`TOY_LABELS`.
    seed : int
        Seed of the examples (the mixing matrices do not depend on it).

    Returns
    -------
    dict
        ``x1``, ``x2`` ``(n, 8)`` float; ``y`` ``(n,)`` long; ``bits`` ``(n, 3)`` long, the known latents
        :math:`[b_s, b_1, b_2]`.

    Examples
    --------
    >>> data = factorcl_toy(6, "both", seed=0)
    >>> data["x1"].shape, bool((data["y"] == 2 * data["bits"][:, 0] + data["bits"][:, 1]).all())
    (torch.Size([6, 8]), True)
    """
    check_positive("factorcl_toy", n=n)
    if label not in TOY_LABELS:
        raise ValueError(f"factorcl_toy: label must be one of {TOY_LABELS}, got {label!r}")
    mixing = torch.randn(2, 5, TOY_FEATURES, generator=torch.Generator().manual_seed(1234)) / 5**0.5
    g = torch.Generator().manual_seed(int(seed))
    s = torch.randn(n, 2, generator=g)
    bits = torch.randint(0, 2, (n, 3), generator=g)
    bits[:, 0] = (s[:, 0] > 0).long()
    xs = []
    for m in range(2):
        u = (2.0 * bits[:, m + 1] - 1 + BIT_NOISE * torch.randn(n, generator=g))[:, None]
        latent = torch.cat([s + 0.1 * torch.randn(n, 2, generator=g), u, torch.randn(n, 2, generator=g)], dim=1)
        xs.append(latent @ mixing[m])
    y = {"shared": bits[:, 0], "unique": bits[:, 1], "both": 2 * bits[:, 0] + bits[:, 1]}[label]
    return {"x1": xs[0], "x2": xs[1], "y": y.clone(), "bits": bits}


def _mlp(in_dim: int, width: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, width), nn.ReLU(), nn.Linear(width, out_dim))


class FactorCL(nn.Module):
    r"""Supervised FactorCL: per modality a shared encoder :math:`Z_{S_m}` and a unique one :math:`Z_{U_m}`.

    The loss (minimised) is minus the sum of the paper's objectives (Liang et al., 2023; book Part 2.5):

    .. math::

        \mathcal L = \underbrace{-I_\mathrm{NCE}(Z_{S_1}; Z_{S_2})
            + I_\mathrm{NCE\text{-}CLUB}(Z_{S_1}; Z_{S_2} \mid Y)}_{-\mathcal L_S}
          \underbrace{- \textstyle\sum_m I_\mathrm{NCE}(Z_{U_m}; Y)
            + I_\mathrm{NCE\text{-}CLUB}(Z_{U_1}; Z_{U_2})
            - I_\mathrm{NCE}(Z_{U_1}; Z_{U_2} \mid Y)}_{-\mathcal L_U}.

    :math:`\mathcal L_U` is :math:`\mathcal L_{U_1} + \mathcal L_{U_2}` with their two common terms counted once.
    Each bound has its own :class:`~mmcourse.representation.fission.Critic`. The lower-bound critics are trained
    with the encoders by :meth:`loss`; the two upper-bound (NCE-CLUB) critics are trained by InfoNCE on detached
    representations (:meth:`critic_loss`), as NCE-CLUB requires, and frozen inside :meth:`loss`. Conditional
    terms give the critic the one-hot label, ``f([z_1; y], [z_2; y])``, and draw negatives within the class
    (:func:`~mmcourse.representation.fission.conditional_info_nce`). The label critic reads
    :math:`I_\mathrm{NCE}(Z_{U_m}; Y)` from ``f(z, onehot(y))``.

    This follows the paper's equations with one encoder per factor, so that each factor can be probed on its own;
    the public code instead puts one small head per bound on a shared backbone per modality.

    Parameters
    ----------
    in_dims : pair of int
        Feature sizes of the two modalities.
    num_classes : int
        Number of classes of ``y`` (at least 2).
    dim : int
        Size of each of the four representations.
    width : int
        Hidden width of the encoders and critics.

    Examples
    --------
    >>> model = FactorCL((8, 8), num_classes=4, dim=3)
    >>> [z.shape[1] for z in model(torch.zeros(5, 8), torch.zeros(5, 8))]
    [3, 3, 3, 3]
    """

    def __init__(self, in_dims: Sequence[int], num_classes: int, dim: int = 4, width: int = 32):
        super().__init__()
        if isinstance(in_dims, (str, Tensor)) or not isinstance(in_dims, Sequence) or len(in_dims) != 2:
            raise ValueError(f"FactorCL: in_dims must give the feature sizes of two modalities, got {in_dims!r}")
        check_positive("FactorCL", in_dim_1=in_dims[0], in_dim_2=in_dims[1], dim=dim, width=width)
        check_positive("FactorCL", num_classes=num_classes)
        if num_classes < 2:
            raise ValueError(f"FactorCL: num_classes must be at least 2, got {num_classes}")
        self.in_dims, self.num_classes, self.dim = tuple(int(d) for d in in_dims), int(num_classes), int(dim)
        c = self.num_classes
        self.shared = nn.ModuleList(_mlp(d, width, dim) for d in self.in_dims)
        self.unique = nn.ModuleList(_mlp(d, width, dim) for d in self.in_dims)
        self.nce_shared = Critic(dim, dim, width)  # I_NCE(Z_S1; Z_S2)
        self.nce_label = nn.ModuleList(Critic(dim, c, width) for _ in range(2))  # I_NCE(Z_Um; Y)
        self.nce_unique_given_y = Critic(dim + c, dim + c, width)  # I_NCE(Z_U1; Z_U2 | Y)
        self.club_unique = Critic(dim, dim, width)  # upper bound on I(Z_U1; Z_U2)
        self.club_shared_given_y = Critic(dim + c, dim + c, width)  # upper bound on I(Z_S1; Z_S2 | Y)

    def club_parameters(self) -> list[nn.Parameter]:
        """The parameters of the two NCE-CLUB critics (trained by :meth:`critic_loss` only)."""
        return [*self.club_unique.parameters(), *self.club_shared_given_y.parameters()]

    def _check(self, x1: Tensor, x2: Tensor, y: Tensor | None = None, where: str = "FactorCL") -> None:
        for m, x in enumerate((x1, x2)):
            if not isinstance(x, Tensor) or x.dim() != 2 or x.shape[1] != self.in_dims[m]:
                raise ValueError(f"{where}: x{m + 1} must be (batch, {self.in_dims[m]}), got "
                                 f"{tuple(getattr(x, 'shape', ())) or type(x).__name__}")
            check_tensor(where, f"x{m + 1}", x)
        if len(x1) != len(x2) or len(x1) < 2:
            raise ValueError(f"{where}: x1 and x2 need the same batch size ≥ 2, got {len(x1)} and {len(x2)}")
        if y is not None and (not isinstance(y, Tensor) or y.shape != (len(x1),) or y.is_floating_point()
                              or int(y.min()) < 0 or int(y.max()) >= self.num_classes):
            raise ValueError(f"{where}: y must be ({len(x1)},) integer classes in [0, {self.num_classes}), got "
                             f"{y if not isinstance(y, Tensor) else tuple(y.shape)}")

    def forward(self, x1: Tensor, x2: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The four representations ``(z_s1, z_s2, z_u1, z_u2)``, each ``(batch, dim)``."""
        self._check(x1, x2)
        return self.shared[0](x1), self.shared[1](x2), self.unique[0](x1), self.unique[1](x2)

    def embed(self, x1: Tensor, x2: Tensor) -> Tensor:
        """FactorCL's representation for a downstream task: ``[z_s1, z_s2, z_u1, z_u2]``, ``(batch, 4 dim)``."""
        return torch.cat(self(x1, x2), dim=1)

    def bounds(self, x1: Tensor, x2: Tensor, y: Tensor) -> dict[str, Tensor]:
        """Every bound of the objective on one batch, by name (differentiable)."""
        self._check(x1, x2, y)
        zs1, zs2, zu1, zu2 = self(x1, x2)
        onehot = F.one_hot(y, self.num_classes).float()
        return {
            "nce_shared": info_nce(self.nce_shared(zs1, zs2)),
            "club_shared_given_y": conditional_nce_club(
                self.club_shared_given_y(torch.cat([zs1, onehot], 1), torch.cat([zs2, onehot], 1)), y),
            "nce_u1_y": info_nce(self.nce_label[0](zu1, onehot)),
            "nce_u2_y": info_nce(self.nce_label[1](zu2, onehot)),
            "club_unique": nce_club(self.club_unique(zu1, zu2)),
            "nce_unique_given_y": conditional_info_nce(
                self.nce_unique_given_y(torch.cat([zu1, onehot], 1), torch.cat([zu2, onehot], 1)), y),
        }

    def loss(self, x1: Tensor, x2: Tensor, y: Tensor) -> Tensor:
        """``−L_S − L_U`` of the class docstring, for the encoders and the lower-bound critics."""
        return _objective(self.bounds(x1, x2, y))

    def critic_loss(self, x1: Tensor, x2: Tensor, y: Tensor) -> Tensor:
        """Minus the InfoNCE bounds of the two NCE-CLUB critics, on detached representations."""
        self._check(x1, x2, y)
        with torch.no_grad():
            zs1, zs2, zu1, zu2 = self(x1, x2)
        onehot = F.one_hot(y, self.num_classes).float()
        return -(info_nce(self.club_unique(zu1, zu2)) + conditional_info_nce(
            self.club_shared_given_y(torch.cat([zs1, onehot], 1), torch.cat([zs2, onehot], 1)), y))


def _objective(b: dict[str, Tensor]) -> Tensor:
    shared = b["nce_shared"] - b["club_shared_given_y"]  # L_S
    unique = b["nce_u1_y"] + b["nce_u2_y"] - b["club_unique"] + b["nce_unique_given_y"]  # L_U, common terms once
    return -(shared + unique)


@dataclass
class FactorCLHistory:
    """What :func:`fit_factorcl` records after every step: the loss and the six bounds (nats)."""

    loss: list[float] = field(default_factory=list)
    bounds: dict[str, list[float]] = field(default_factory=dict)


def fit_factorcl(model: FactorCL, x1: Tensor, x2: Tensor, y: Tensor, *, steps: int = 300, lr: float = 5e-3,
                 batch_size: int = 256, critic_steps: int = 1,
                 device: torch.device | str | None = None) -> FactorCLHistory:
    """Train :class:`FactorCL` with Adam: per step, ``critic_steps`` updates of the NCE-CLUB critics
    (:meth:`FactorCL.critic_loss`), then one of the encoders and lower-bound critics (:meth:`FactorCL.loss`).

    Each step draws a random batch of ``batch_size`` examples (torch's global generator: seed it with
    :func:`mmcourse.set_seed`). Book Part 2.5.

    Parameters
    ----------
    model : FactorCL
    x1, x2, y : torch.Tensor
        ``(n, d_1)``, ``(n, d_2)`` and ``(n,)`` integer classes.
    steps, lr, batch_size, critic_steps
        Optimisation settings.
    device : str or torch.device, optional
        Where to train (:func:`mmcourse.get_device`); the model comes back where it was.

    Returns
    -------
    FactorCLHistory

    Examples
    --------
    >>> d = factorcl_toy(64, "both")
    >>> fit_factorcl(FactorCL((8, 8), 4, dim=2, width=8), d["x1"], d["x2"], d["y"], steps=3).loss.__len__()
    3
    """
    if not isinstance(model, FactorCL):
        raise TypeError(f"fit_factorcl: model must be a FactorCL, got {type(model).__name__}")
    check_positive("fit_factorcl", steps=steps, batch_size=batch_size, critic_steps=critic_steps)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < float("inf"):
        raise ValueError(f"fit_factorcl: lr must be a positive number, got {lr!r}")
    model._check(x1, x2, y, where="fit_factorcl")
    device = get_device(device)
    club = set(map(id, model.club_parameters()))
    history = FactorCLHistory()
    with trained_on(model, device):
        x1, x2, y = x1.to(device), x2.to(device), y.to(device)
        main = torch.optim.Adam([p for p in model.parameters() if id(p) not in club], lr=lr)
        critics = torch.optim.Adam(model.club_parameters(), lr=lr)
        for _ in range(int(steps)):
            idx = torch.randperm(len(x1))[:batch_size].to(device)
            for _ in range(int(critic_steps)):
                critics.zero_grad()
                model.critic_loss(x1[idx], x2[idx], y[idx]).backward()
                critics.step()
            main.zero_grad()
            bounds = model.bounds(x1[idx], x2[idx], y[idx])
            loss = _objective(bounds)
            loss.backward()
            main.step()
            history.loss.append(loss.item())
            for name, value in bounds.items():
                history.bounds.setdefault(name, []).append(value.item())
    return history
