r"""Co-regularisation (Part 6.4, model induction): two views' predictors made to agree on the unlabelled rows.

Sindhwani, Niyogi and Belkin (2005, *A Co-Regularization Approach to Semi-supervised Learning with Multiple Views*)
fit one predictor per view, jointly, with a penalty on their disagreement on the unlabelled rows. For linear
predictors :math:`f_v(x) = [x, 1]\, W_v` and the squared loss against one-hot targets :math:`Y`:

.. math::

    J(W_1, W_2) = \|X_1 W_1 - Y\|^2 + \|X_2 W_2 - Y\|^2
                  + \lambda \big(\|\bar W_1\|^2 + \|\bar W_2\|^2\big) + \mu\, \|U_1 W_1 - U_2 W_2\|^2,

with :math:`X_v` the labelled rows and :math:`U_v` the unlabelled rows of view :math:`v` (each with a column of
ones: the intercept, left out of the ridge penalty, :math:`\bar W_v` being :math:`W_v` without it). :math:`J` is a
convex quadratic; setting both gradients to zero gives the joint normal equations

.. math::

    \begin{bmatrix} X_1^\top X_1 + \lambda P + \mu U_1^\top U_1 & -\mu U_1^\top U_2 \\
                    -\mu U_2^\top U_1 & X_2^\top X_2 + \lambda P + \mu U_2^\top U_2 \end{bmatrix}
    \begin{bmatrix} W_1 \\ W_2 \end{bmatrix} = \begin{bmatrix} X_1^\top Y \\ X_2^\top Y \end{bmatrix},

(:math:`P` the identity with a 0 for the intercept), one linear solve. At :math:`\mu = 0` the blocks decouple
into two independent ridge regressions; as :math:`\mu \to \infty` the two views must predict the same scores on
every unlabelled row. The classifier predicts with the average :math:`\tfrac12 (f_1 + f_2)` of the two views.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmcourse.transference.induction._inputs import UNLABELLED, as_labels, as_rows

__all__ = ["CoRegularisedLeastSquares", "co_regularised_least_squares", "co_regularisation_objective"]


def _with_ones(x: np.ndarray) -> np.ndarray:
    return np.hstack([x, np.ones((len(x), 1))])


def _check_penalty(where: str, **values) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
                or not np.isfinite(value) or value < 0:
            raise ValueError(f"{where}: {name} must be a finite number >= 0, got {value!r}")


def _prepare(view1, view2, labels, where: str):
    x1, x2 = as_rows(view1, "view1", where), as_rows(view2, "view2", where)
    if len(x1) != len(x2):
        raise ValueError(f"{where}: view1 and view2 must have the same number of rows, got {len(x1)} and {len(x2)}")
    labels = as_labels(labels, len(x1), where)
    classes = np.unique(labels[labels != UNLABELLED])
    known = labels != UNLABELLED
    targets = (labels[known][:, None] == classes[None, :]).astype(np.float64)  # one-hot Y
    x1, x2 = _with_ones(x1), _with_ones(x2)
    return x1[known], x2[known], x1[~known], x2[~known], targets, classes


@dataclass(frozen=True)
class CoRegularisedLeastSquares:
    """Two linear predictors fitted by :func:`co_regularised_least_squares`; ``weights_v`` is ``(d_v + 1, C)``, its
    last row the intercept; ``classes`` the class of each column."""

    weights1: np.ndarray
    weights2: np.ndarray
    classes: np.ndarray

    def scores(self, view1=None, view2=None) -> np.ndarray:
        """The class scores ``(n, C)``: the average of the views given (one view alone is allowed)."""
        outputs = [_with_ones(as_rows(x, name, "CoRegularisedLeastSquares.scores")) @ w
                   for x, name, w in ((view1, "view1", self.weights1), (view2, "view2", self.weights2))
                   if x is not None]
        if not outputs:
            raise ValueError("CoRegularisedLeastSquares.scores: give view1, view2 or both")
        if len(outputs) == 2 and len(outputs[0]) != len(outputs[1]):
            raise ValueError(f"CoRegularisedLeastSquares.scores: view1 and view2 must have the same number of "
                             f"rows, got {len(outputs[0])} and {len(outputs[1])}")
        return sum(outputs) / len(outputs)

    def predict(self, view1=None, view2=None) -> np.ndarray:
        """The class of the largest averaged score, per row."""
        return self.classes[self.scores(view1, view2).argmax(1)]


def co_regularised_least_squares(view1, view2, labels, *, ridge: float = 1.0,
                                 mu: float = 0.1) -> CoRegularisedLeastSquares:
    """Co-regularised least squares (Sindhwani et al., 2005; Part 6.4), by its closed form (the module's equations).

    Parameters
    ----------
    view1, view2 : array (n, ...) (NumPy or torch)
        The two views, one row per example (flattened per row).
    labels : int array (n,)
        Class ids >= 0, -1 for the unlabelled rows that enter the disagreement penalty.
    ridge : float
        :math:`\\lambda >= 0`, the ridge penalty on each view's weights (not on the intercepts).
    mu : float
        :math:`\\mu >= 0`, the weight of the disagreement on the unlabelled rows; 0 gives two independent ridges.

    Returns
    -------
    CoRegularisedLeastSquares

    Examples
    --------
    >>> rng = np.random.default_rng(0); y = np.repeat([0, 1], 20)
    >>> v1, v2 = y[:, None] + rng.normal(size=(40, 2)), y[:, None] + rng.normal(size=(40, 3))
    >>> model = co_regularised_least_squares(v1, v2, np.where(np.arange(40) % 10 == 0, y, -1), mu=0.5)
    >>> model.weights1.shape, model.weights2.shape
    ((3, 2), (4, 2))
    """
    where = "co_regularised_least_squares"
    _check_penalty(where, ridge=ridge, mu=mu)
    x1, x2, u1, u2, targets, classes = _prepare(view1, view2, labels, where)
    d1, d2 = x1.shape[1], x2.shape[1]
    p1, p2 = np.eye(d1), np.eye(d2)
    p1[-1, -1] = p2[-1, -1] = 0.0  # the intercepts are not shrunk
    system = np.block([[x1.T @ x1 + ridge * p1 + mu * u1.T @ u1, -mu * u1.T @ u2],
                       [-mu * u2.T @ u1, x2.T @ x2 + ridge * p2 + mu * u2.T @ u2]])
    rhs = np.vstack([x1.T @ targets, x2.T @ targets])
    # lstsq rather than solve: with ridge = 0 and fewer labelled rows than features the system is singular, and
    # the minimum-norm solution is the natural limit.
    weights = np.linalg.lstsq(system, rhs, rcond=None)[0] if ridge == 0 else np.linalg.solve(system, rhs)
    return CoRegularisedLeastSquares(weights[:d1], weights[d1:], classes)


def co_regularisation_objective(weights1, weights2, view1, view2, labels, *, ridge: float = 1.0,
                                mu: float = 0.1) -> float:
    """The objective :math:`J(W_1, W_2)` of the module's equation, for weights ``(d_v + 1, C)`` (intercept last).

    Minimised by :func:`co_regularised_least_squares`; useful to check it, or to minimise by another route.

    Examples
    --------
    >>> y = np.array([0, 1, -1]); v = np.array([[0.0], [1.0], [0.5]])
    >>> w = np.array([[-1.0, 1.0], [1.0, 0.0]])  # scores [1 - x, x]: exact on the labelled rows
    >>> co_regularisation_objective(w, w, v, v, y, ridge=0.0, mu=1.0)
    0.0
    """
    where = "co_regularisation_objective"
    _check_penalty(where, ridge=ridge, mu=mu)
    x1, x2, u1, u2, targets, _ = _prepare(view1, view2, labels, where)
    w1, w2 = np.asarray(weights1, dtype=np.float64), np.asarray(weights2, dtype=np.float64)
    for name, w, x in (("weights1", w1, x1), ("weights2", w2, x2)):
        if w.shape != (x.shape[1], targets.shape[1]):
            raise ValueError(f"{where}: {name} must have shape {(x.shape[1], targets.shape[1])} (features + 1, "
                             f"classes), got {w.shape}")
        if not np.isfinite(w).all():
            raise ValueError(f"{where}: {name} contains NaN or infinite values")
    fit = ((x1 @ w1 - targets) ** 2).sum() + ((x2 @ w2 - targets) ** 2).sum()
    shrink = ridge * ((w1[:-1] ** 2).sum() + (w2[:-1] ** 2).sum())
    disagreement = mu * ((u1 @ w1 - u2 @ w2) ** 2).sum()
    return float(fit + shrink + disagreement)
