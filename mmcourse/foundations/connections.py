r"""Part 1: connections between modalities, and what correlation cannot tell about them.

Two modalities can be correlated because one causes the other, or because a hidden common cause drives both
(Pearl, 2009, *Causality*, 2nd ed.). :func:`causal_pair` draws one scalar feature from each of two modalities in
either world; the two worlds are built so that the *observed* pair :math:`(a, b)` has exactly the same
distribution in both, a standard bivariate Gaussian with correlation ``strength``. No measure on observational
data, :func:`pearson_correlation` and the regression :func:`observational_slope` included, can tell them apart.
An **intervention** can: :func:`interventional_slope` sets :math:`A` by hand, :math:`do(A = a)`, and measures how
the mean of :math:`B` moves.

Book section: Part 1, Foundations (chapter *Connections and interactions*, page *Correlation and causation*).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

__all__ = ["CAUSAL_KINDS", "causal_pair", "pearson_correlation", "observational_slope", "interventional_slope"]

CAUSAL_KINDS = ("a_causes_b", "common_cause")
"""The two worlds of :func:`causal_pair`: ``a_causes_b`` (A → B) and ``common_cause`` (A ← U → B, U hidden)."""


def causal_pair(kind: str, n: int = 1000, seed: int = 0, intervene: float | None = None,
                strength: float = 0.8, return_hidden: bool = False) -> tuple[Tensor, ...]:
    r"""Draw ``n`` pairs :math:`(a, b)` of two modalities' features in a causal or a confounded world.

    With :math:`\rho` = ``strength`` and independent standard normal variables :math:`\varepsilon_A, e, U, e_1, e_2`:

    - ``"a_causes_b"``: :math:`A = \varepsilon_A`, :math:`B = \rho A + \sqrt{1 - \rho^2}\, e`. B listens to A.
    - ``"common_cause"``: a hidden :math:`U`, :math:`A = \sqrt{\rho}\, U + \sqrt{1 - \rho}\, e_1`,
      :math:`B = \sqrt{\rho}\, U + \sqrt{1 - \rho}\, e_2`. Neither listens to the other.

    In both, :math:`(A, B)` is standard bivariate normal with :math:`\operatorname{corr}(A, B) = \rho`. With
    ``intervene=a0`` the mechanism of :math:`A` is replaced by the constant :math:`a_0`, :math:`do(A = a_0)`,
    and everything else is left as it is: in the first world :math:`B = \rho a_0 + \sqrt{1-\rho^2} e`, in the
    second :math:`B` keeps its own mechanism and does not change. The same ``seed`` draws the same noises with
    and without the intervention, so two calls differ only by what the intervention changes.

    Parameters
    ----------
    kind : str
        ``"a_causes_b"`` or ``"common_cause"`` (:data:`CAUSAL_KINDS`).
    n : int
        Number of pairs, at least 2.
    seed : int
        Seed of the noises (a non-negative integer).
    intervene : float, optional
        The value :math:`a_0` to set :math:`A` to; ``None`` (default) observes the world as it is.
    strength : float
        The correlation :math:`\rho`, in (0, 1).
    return_hidden : bool
        Also return the hidden :math:`U` (in ``a_causes_b`` it is drawn too, and plays no part).

    Returns
    -------
    (torch.Tensor, torch.Tensor) or (torch.Tensor, torch.Tensor, torch.Tensor)
        ``a`` and ``b`` (and ``u`` if ``return_hidden``), float64 tensors of shape ``(n,)``.

    Examples
    --------
    >>> a, b = causal_pair("common_cause", n=5, seed=0, intervene=2.0)
    >>> a.tolist()
    [2.0, 2.0, 2.0, 2.0, 2.0]
    """
    _check_causal(kind, n, seed, intervene, strength, return_hidden)
    rho = float(strength)
    g = torch.Generator().manual_seed(int(seed))
    hidden, noise_a, noise_b = torch.randn(3, int(n), generator=g, dtype=torch.float64)
    if kind == "a_causes_b":
        a = noise_a
        if intervene is not None:
            a = torch.full_like(a, float(intervene))
        b = rho * a + math.sqrt(1 - rho**2) * noise_b  # B listens to A, so do(A) reaches B
    else:
        a = math.sqrt(rho) * hidden + math.sqrt(1 - rho) * noise_a  # cov(A, B) = sqrt(rho)^2 = rho
        if intervene is not None:
            a = torch.full_like(a, float(intervene))  # cut U -> A; U still drives B
        b = math.sqrt(rho) * hidden + math.sqrt(1 - rho) * noise_b
    return (a, b, hidden) if return_hidden else (a, b)


def _check_causal(kind, n, seed, intervene, strength, return_hidden) -> None:
    where = "causal_pair"
    if kind not in CAUSAL_KINDS:
        raise ValueError(f"{where}: unknown kind={kind!r}; known kinds: {', '.join(CAUSAL_KINDS)}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"{where}: n must be an integer of at least 2, got n={n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{where}: seed must be a non-negative integer, got seed={seed!r}")
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 < strength < 1:
        raise ValueError(f"{where}: strength must be a number in (0, 1), got strength={strength!r}")
    if intervene is not None and (isinstance(intervene, bool) or not isinstance(intervene, (int, float))
                                  or not math.isfinite(intervene)):
        raise ValueError(f"{where}: intervene must be None or a finite number, got intervene={intervene!r}")
    if not isinstance(return_hidden, bool):
        raise ValueError(f"{where}: return_hidden must be True or False, got return_hidden={return_hidden!r}")


def _pair(a: object, b: object, where: str) -> tuple[Tensor, Tensor]:
    tensors = []
    for name, v in (("a", a), ("b", b)):
        if isinstance(v, np.ndarray):
            v = torch.from_numpy(v)
        if not isinstance(v, Tensor):
            raise TypeError(f"{where}: {name} must be a torch.Tensor or a NumPy array, got {type(v).__name__}")
        v = v.detach().cpu().double().flatten()
        if not torch.isfinite(v).all():
            raise ValueError(f"{where}: {name} contains NaN or infinite values")
        tensors.append(v)
    a, b = tensors
    if a.numel() != b.numel() or a.numel() < 2:
        raise ValueError(f"{where}: a and b must hold the same number (at least 2) of values, got {a.numel()} "
                         f"and {b.numel()}")
    if a.std() == 0:
        raise ValueError(f"{where}: a is constant; nothing varies to relate b to")
    return a, b


def pearson_correlation(a: Tensor | np.ndarray, b: Tensor | np.ndarray) -> float:
    r"""The sample correlation :math:`r = \frac{\sum_i (a_i - \bar a)(b_i - \bar b)}{\sqrt{\sum_i (a_i - \bar
    a)^2 \sum_i (b_i - \bar b)^2}}` of two paired samples.

    Parameters
    ----------
    a, b : torch.Tensor or numpy.ndarray
        Paired values (flattened), the same number of each, neither constant.

    Returns
    -------
    float
        :math:`r \in [-1, 1]`.

    Examples
    --------
    >>> pearson_correlation(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 4.0, 7.0]))  # doctest: +ELLIPSIS
    0.99...
    """
    a, b = _pair(a, b, "pearson_correlation")
    if b.std() == 0:
        raise ValueError("pearson_correlation: b is constant; its correlation is undefined")
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm()))


def observational_slope(a: Tensor | np.ndarray, b: Tensor | np.ndarray) -> float:
    r"""The least-squares slope of :math:`b` on :math:`a` in observed data,
    :math:`\hat\beta = \widehat{\operatorname{cov}}(a, b) / \widehat{\operatorname{var}}(a)`: how much :math:`B`
    is higher, on average, where :math:`A` is higher by one, *as the world is*. It is what a predictor of
    :math:`B` from :math:`A` learns, and it equals the causal effect only when nothing else drives both.

    Parameters
    ----------
    a, b : torch.Tensor or numpy.ndarray
        Paired values (flattened), the same number of each, ``a`` not constant.

    Returns
    -------
    float
        :math:`\hat\beta`.

    Examples
    --------
    >>> observational_slope(torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 3.0, 5.0]))
    2.0
    """
    a, b = _pair(a, b, "observational_slope")
    a = a - a.mean()
    return float((a * (b - b.mean())).sum() / (a * a).sum())


def interventional_slope(kind: str, low: float = -1.0, high: float = 1.0, n: int = 2000, seed: int = 0,
                         strength: float = 0.8) -> float:
    r"""The causal effect of :math:`A` on :math:`B`, measured by two interventions on the world ``kind``:

    .. math::

        \frac{\mathbb E[B \mid do(A = \text{high})] - \mathbb E[B \mid do(A = \text{low})]}{\text{high} - \text{low}},

    each expectation estimated by the mean of :math:`B` over its own group of ``n`` units (drawn by
    :func:`causal_pair` with the seeds ``seed`` and ``seed + 1``), as in an experiment with two arms. It is
    :math:`\rho` when A causes B and 0 when a hidden common cause makes them correlated, up to a sampling error
    of about :math:`\sqrt{2 / n} / (\text{high} - \text{low})`.

    Parameters
    ----------
    kind : str
        A world of :data:`CAUSAL_KINDS`.
    low, high : float
        The two values A is set to (different, finite).
    n, seed, strength
        As in :func:`causal_pair`.

    Returns
    -------
    float
        The estimated interventional slope.

    Examples
    --------
    >>> causal, confounded = interventional_slope("a_causes_b"), interventional_slope("common_cause")
    >>> abs(causal - 0.8) < 0.05, abs(confounded) < 0.05
    (True, True)
    """
    for name, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"interventional_slope: {name} must be a finite number, got {name}={value!r}")
    if low == high:
        raise ValueError(f"interventional_slope: low and high must differ, got low=high={low!r}")
    _, b_high = causal_pair(kind, n, seed, intervene=float(high), strength=strength)
    _, b_low = causal_pair(kind, n, seed + 1, intervene=float(low), strength=strength)  # another group of units
    return float((b_high.mean() - b_low.mean()) / (high - low))
