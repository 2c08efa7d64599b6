r"""Adversarial warping of one representation space onto another (Part 3.2 of the book, continuous alignment).

Two modalities embedded separately give two point clouds, ``x`` (n, d) and ``y`` (n', d), with no pairs: nobody
says which point of one is which point of the other. If the two spaces differ by a rotation (plus noise), a linear
map ``W`` with ``W x ≈ y`` can be found without any pair, in two stages (Conneau et al. 2018, "MUSE"):

1. **Adversarial** (domain-adversarial training, Ganin et al. 2016): a discriminator ``D`` learns to tell mapped
   points ``W x`` from points ``y``; ``W`` learns to fool it, so that the two clouds become indistinguishable as
   distributions. After each step ``W`` is pulled back towards the orthogonal matrices,
   :math:`W \leftarrow (1 + \beta) W - \beta (W W^\top) W`.
2. **Procrustes refinement**: pair the points that are *mutual* nearest neighbours after mapping, and solve the
   orthogonal Procrustes problem on those pairs in closed form (an SVD); repeat a few times.

The adversarial game has local optima (a cloud with near-symmetries can be matched onto itself in several ways);
:func:`fit_adversarial_mapping` therefore runs a few restarts and keeps the one that an unsupervised criterion
prefers, as MUSE selects its models without supervision.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.spatial.distance import cdist
from scipy.stats import ortho_group, special_ortho_group
from torch import nn
from torch.nn import functional as F

from mmcourse._checks import check_tensor
from mmcourse.alignment.orthogonal import _cloud, _same_dim, _weight, orthogonalize, procrustes_refinement

__all__ = ["AdversarialMapping", "AdversarialResult", "fit_adversarial_mapping", "make_rotated_clouds"]


class AdversarialMapping(nn.Module):
    r"""A linear map ``W`` of one space onto another and the discriminator it plays against.

    The discriminator :math:`D` (an MLP with one logit) learns that mapped points come from the source and
    ``y`` from the target; the map learns the opposite. With label smoothing ``s`` (targets ``1 − s`` and ``s``
    instead of 1 and 0) and :math:`\ell` the binary cross-entropy on logits:

    .. math::

        L_D = \tfrac12\big[\ell(D(Wx), 1 - s) + \ell(D(y), s)\big], \qquad
        L_W = \tfrac12\big[\ell(D(Wx), s) + \ell(D(y), 1 - s)\big].

    Papers: Y. Ganin et al. (2016), "Domain-Adversarial Training of Neural Networks", JMLR; A. Conneau et al.
    (2018), "Word Translation Without Parallel Data", ICLR.

    Book section: Part 3.2 Continuous alignment (adversarial warping of spaces).

    Parameters
    ----------
    dim : int
        The dimension d of both spaces.
    hidden : int, default 32
        The width of the discriminator's two hidden layers.
    init : array-like, shape (d, d), optional
        The initial ``W``; the identity by default (as in MUSE).

    Examples
    --------
    >>> import torch
    >>> model = AdversarialMapping(2)
    >>> x, y = torch.randn(5, 2), torch.randn(7, 2)
    >>> model(x).shape, model.discriminator_loss(x, y).shape
    (torch.Size([5, 2]), torch.Size([]))
    """

    def __init__(self, dim: int, hidden: int = 32, init=None):
        super().__init__()
        for name, value in (("dim", dim), ("hidden", hidden)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"AdversarialMapping: {name} must be an integer >= 1, got {name}={value!r}")
        start = np.eye(dim) if init is None else _weight(init, dim, "AdversarialMapping")
        self.weight = nn.Parameter(torch.tensor(start, dtype=torch.get_default_dtype()))
        self.discriminator = nn.Sequential(nn.Linear(dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                                           nn.LeakyReLU(0.2), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The mapped points ``W x_i``, shape (n, d)."""
        check_tensor("AdversarialMapping", "x", x, shape=(None, self.weight.shape[0]))
        return x @ self.weight.T

    def _logits(self, mapped: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if mapped.ndim != 2 or y.ndim != 2 or mapped.shape[1] != y.shape[1] or y.shape[1] != self.weight.shape[0]:
            raise ValueError(f"AdversarialMapping: x and y must be (points, {self.weight.shape[0]}) tensors, got "
                             f"shapes {tuple(mapped.shape)} and {tuple(y.shape)}")
        return self.discriminator(mapped).squeeze(1), self.discriminator(y).squeeze(1)

    def discriminator_loss(self, x: torch.Tensor, y: torch.Tensor, smoothing: float = 0.1) -> torch.Tensor:
        """``L_D``: the discriminator's loss, with the map held fixed (no gradient reaches ``W``)."""
        fake, real = self._logits(self(x).detach(), y)
        return 0.5 * (F.binary_cross_entropy_with_logits(fake, torch.full_like(fake, 1 - smoothing))
                      + F.binary_cross_entropy_with_logits(real, torch.full_like(real, smoothing)))

    def mapping_loss(self, x: torch.Tensor, y: torch.Tensor, smoothing: float = 0.1) -> torch.Tensor:
        """``L_W``: the map's loss, the discriminator's with the labels flipped (only ``W`` should step on it)."""
        fake, real = self._logits(self(x), y)
        return 0.5 * (F.binary_cross_entropy_with_logits(fake, torch.full_like(fake, smoothing))
                      + F.binary_cross_entropy_with_logits(real, torch.full_like(real, 1 - smoothing)))

    @torch.no_grad()
    def orthogonalize_(self, beta: float = 0.01) -> None:
        """Apply :func:`orthogonalize` to ``W`` in place."""
        self.weight.copy_(orthogonalize(self.weight, beta))


@dataclass
class AdversarialResult:
    """What :func:`fit_adversarial_mapping` returns.

    Attributes
    ----------
    adversarial_weight : numpy.ndarray (d, d)
        ``W`` after adversarial training (of the selected restart).
    refined_weight : numpy.ndarray (d, d)
        ``W`` after the Procrustes refinement: the final map, use it as ``x @ W.T``.
    criterion : list of float
        The unsupervised criterion of every restart (lower is better): the mean squared distance from a refined
        mapped point to its nearest point of ``y``.
    best : int
        The restart selected.
    losses : list of (float, float)
        ``(L_D, L_W)`` at every step of the selected restart.
    restart_weights : list of numpy.ndarray
        The refined ``W`` of every restart (``restart_weights[best] is refined_weight``).
    """

    adversarial_weight: np.ndarray
    refined_weight: np.ndarray
    criterion: list = field(default_factory=list)
    best: int = 0
    losses: list = field(default_factory=list)
    restart_weights: list = field(default_factory=list)


def fit_adversarial_mapping(x, y, steps: int = 100, restarts: int = 8, lr: float = 0.02, beta: float = 0.01,
                            hidden: int = 32, smoothing: float = 0.1, refine_iterations: int = 10,
                            seed: int = 0) -> AdversarialResult:
    r"""Learn an orthogonal-ish map of unpaired ``x`` onto ``y``: adversarial training, then Procrustes refinement.

    Each restart starts ``W`` from the identity (restart 0) or a random orthogonal matrix, then takes ``steps``
    full-batch steps: one Adam step of the discriminator on ``L_D``, one Adam step of ``W`` on ``L_W`` (see
    :class:`AdversarialMapping`), one :func:`orthogonalize`. Then :func:`procrustes_refinement`. The restart kept
    is the one whose refined map brings ``W x`` closest to ``y`` (mean squared distance to the nearest point of
    ``y``), a criterion that needs no pairs.

    Papers: Ganin et al. (2016); Conneau et al. (2018). Book section: Part 3.2 (adversarial warping of spaces).

    Parameters
    ----------
    x : array-like, shape (n, d)
        The source cloud.
    y : array-like, shape (n', d)
        The target cloud, unpaired, same dimension.
    steps, restarts : int
        Adversarial steps per restart (≥ 0) and restarts (≥ 1).
    lr : float
        Adam's step for the map and the discriminator.
    beta : float
        The orthogonality step of :func:`orthogonalize`.
    hidden : int
        The discriminator's width.
    smoothing : float
        Label smoothing in [0, 0.5).
    refine_iterations : int
        Rounds of :func:`procrustes_refinement`.
    seed : int
        Seeds the initial maps and the discriminators (torch's global generator is left as it was).

    Returns
    -------
    AdversarialResult

    Examples
    --------
    >>> clouds = make_rotated_clouds(n=100, seed=0)
    >>> result = fit_adversarial_mapping(clouds["x"], clouds["y"], steps=20, restarts=1)
    >>> result.refined_weight.shape, len(result.losses)
    ((2, 2), 20)
    """
    where = "fit_adversarial_mapping"
    x_np, y_np = _cloud(x, "x", where), _cloud(y, "y", where)
    _same_dim(x_np, y_np, where)
    for name, value, low in (("steps", steps, 0), ("restarts", restarts, 1), ("hidden", hidden, 1),
                             ("refine_iterations", refine_iterations, 0), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{where}: {name} must be an integer >= {low}, got {name}={value!r}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"{where}: lr must be a number > 0, got lr={lr!r}")
    if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float)) or not 0 <= smoothing < 0.5:
        raise ValueError(f"{where}: smoothing must be a number in [0, 0.5), got smoothing={smoothing!r}")
    orthogonalize(np.eye(1), beta)                                    # validates beta
    d = x_np.shape[1]
    xt, yt = torch.tensor(x_np, dtype=torch.float32), torch.tensor(y_np, dtype=torch.float32)
    runs = []
    with torch.random.fork_rng():
        for restart in range(restarts):
            torch.manual_seed(seed * 1000 + restart)
            init = None if restart == 0 else ortho_group.rvs(d, random_state=seed * 1000 + restart) if d > 1 \
                else -np.eye(1)
            model = AdversarialMapping(d, hidden, init).float()
            disc_opt = torch.optim.Adam(model.discriminator.parameters(), lr=lr)
            map_opt = torch.optim.Adam([model.weight], lr=lr)
            losses = []
            for _ in range(steps):
                loss_d = model.discriminator_loss(xt, yt, smoothing)
                disc_opt.zero_grad()
                loss_d.backward()
                disc_opt.step()
                loss_w = model.mapping_loss(xt, yt, smoothing)
                map_opt.zero_grad()
                loss_w.backward()
                map_opt.step()
                model.orthogonalize_(beta)
                losses.append((loss_d.item(), loss_w.item()))
            adversarial = model.weight.detach().double().numpy()
            refined = procrustes_refinement(x_np, y_np, adversarial, refine_iterations)
            criterion = float(cdist(x_np @ refined.T, y_np, "sqeuclidean").min(1).mean())
            runs.append((criterion, adversarial, refined, losses))
    best = int(np.argmin([run[0] for run in runs]))
    return AdversarialResult(adversarial_weight=runs[best][1], refined_weight=runs[best][2],
                             criterion=[run[0] for run in runs], best=best, losses=runs[best][3],
                             restart_weights=[run[2] for run in runs])


def make_rotated_clouds(n: int = 300, d: int = 2, clusters: int = 5, noise: float = 0.01, seed: int = 0) -> dict:
    r"""A toy for unpaired alignment of two spaces: a clustered cloud ``x`` and a rotated, noisy, shuffled copy ``y``.

    ``x`` is a mixture of ``clusters`` Gaussians with random centres (scale 2), random axis-aligned spreads in
    (0.2, 0.8) and uneven weights (Dirichlet(2)), centred; :math:`y_{\pi(i)} = Q x_i + \sigma \varepsilon_i` with
    ``Q`` a random rotation (``det Q = +1``), ``σ = noise`` and ``π`` a random permutation. Uneven, anisotropic
    clusters break the symmetries that would let a rotated cloud match itself, as real embeddings have structure.

    Returns
    -------
    dict
        ``x`` (n, d), ``y`` (n, d) float64, ``rotation`` Q (d, d), ``partner`` (n,) int64 with ``y[partner[i]]``
        the image of ``x[i]``.

    Examples
    --------
    >>> clouds = make_rotated_clouds(n=50, noise=0.0, seed=0)
    >>> from mmcourse.alignment import translation_accuracy
    >>> clouds["x"].shape, clouds["y"].shape, translation_accuracy(clouds["x"], clouds["y"], clouds["rotation"],
    ...                                                         clouds["partner"])
    ((50, 2), (50, 2), 1.0)
    """
    where = "make_rotated_clouds"
    for name, value, low in (("n", n, 2), ("d", d, 1), ("clusters", clusters, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{where}: {name} must be an integer >= {low}, got {name}={value!r}")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not np.isfinite(noise) or noise < 0:
        raise ValueError(f"{where}: noise must be a finite number >= 0, got noise={noise!r}")
    rng = np.random.default_rng(seed)
    centres = 2.0 * rng.standard_normal((clusters, d))
    spreads = rng.uniform(0.2, 0.8, size=(clusters, d))
    labels = rng.choice(clusters, size=n, p=rng.dirichlet(np.full(clusters, 2.0)))
    x = centres[labels] + spreads[labels] * rng.standard_normal((n, d))
    x -= x.mean(0)
    rotation = special_ortho_group.rvs(d, random_state=rng) if d > 1 else np.eye(1)
    order = rng.permutation(n)
    y = (x @ rotation.T + noise * rng.standard_normal((n, d)))[order]
    return {"x": x, "y": y, "rotation": rotation, "partner": np.argsort(order).astype(np.int64)}
