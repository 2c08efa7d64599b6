"""Checkers for the exercises of Part 7.1 (heterogeneity)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from mmcourse.exercises._check import CheckResult, run_cases
from mmcourse.quantification.heterogeneity import information_lower_bound, modality_importance

__all__ = ["check_information_bound", "check_transfer_symmetrisation", "check_modality_importance"]


def _as_float(out) -> float | None:
    try:
        return float(out)
    except (TypeError, ValueError, RuntimeError):
        return None


def _as_array(out, shape) -> tuple[np.ndarray | None, str | None]:
    if isinstance(out, Tensor):
        out = out.detach().cpu().numpy()
    try:
        array = np.asarray(out, dtype=float)
    except (TypeError, ValueError):
        return None, f"return an array of numbers, got {type(out).__name__}"
    if array.shape != shape:
        return None, f"the result must have shape {shape}, got {array.shape}"
    return array, None


def _judge_array(out, expected: np.ndarray, wrong: dict[str, np.ndarray], atol: float, otherwise) -> str | None:
    """None if ``out`` matches ``expected``; else the hint of the first typical mistake in ``wrong`` that it matches,
    or ``otherwise(values)``."""
    values, hint = _as_array(out, expected.shape)
    if hint:
        return hint
    if np.allclose(values, expected, atol=atol):
        return None
    for hint, alternative in wrong.items():
        if np.allclose(values, alternative, atol=atol):
            return hint
    return otherwise(values)


def check_information_bound(bound: Callable) -> CheckResult:
    r"""Exercise: ``bound(probabilities, labels)`` returns :math:`\max(0, \hat H(Y) - \mathrm{CE})` in bits, with
    :math:`\hat H(Y)` the entropy of the labels' frequencies and CE the mean of :math:`-\log_2 q(y_k \mid x_k)` (as
    :func:`~mmcourse.quantification.information_lower_bound`)."""
    cases = iter(range(12))

    def make_case(g):
        number = next(cases)
        n, c = int(torch.randint(30, 200, (1,), generator=g)), int(torch.randint(2, 7, (1,), generator=g))
        logits = 3 * torch.randn(n, c, generator=g, dtype=torch.float64)
        if number % 3 == 2:  # a lopsided label distribution: H(Y) < log2 C
            logits[:, 0] += 3
        p = torch.softmax(logits, 1)
        labels = torch.multinomial(p, 1, generator=g).ravel()  # the classifier is right about its uncertainty
        if number % 4 == 1:  # a classifier that knows nothing: the bound is clipped at 0
            labels = torch.randint(0, c, (n,), generator=g)
        p, y = p.numpy(), labels.numpy()
        freq = np.bincount(y, minlength=c) / n
        entropy = -(freq[freq > 0] * np.log2(freq[freq > 0])).sum()
        ce = -np.log2(p[np.arange(n), y]).mean()
        wrong = {
            "that is in nats: use log base 2 for bits": (entropy - ce) * np.log(2),
            "use the entropy of the labels' frequencies, not log2 C (the classes need not be balanced)":
                max(0.0, np.log2(c) - ce),
            "the bound uses the cross-entropy on the true labels, not the entropy of the predictions":
                max(0.0, entropy + (p * np.log2(p)).sum(1).mean()),
            "a negative difference bounds nothing: I(X; Y) ≥ 0, so clip at 0": entropy - ce,
        }
        return (p, y), (information_lower_bound(p, y), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        value = _as_float(out)
        if value is None:
            return f"return a number (bits), got {type(out).__name__}"
        if abs(value - expected) <= 1e-6:
            return None
        for hint, alternative in wrong.items():
            if abs(value - alternative) <= 1e-6:
                return hint
        return f"expected {expected:.6g} bits, got {value:.6g}"

    return run_cases("information lower bound", bound, 12, make_case, judge,
                     "matches information_lower_bound on {cases} fresh cases")


def check_transfer_symmetrisation(symmetrise: Callable) -> CheckResult:
    r"""Exercise: ``symmetrise(T)`` turns transfer accuracies ``T[i, j]`` (model of :math:`i` used on :math:`j`)
    into the distance :math:`d_{ij} = \tfrac12[(T_{jj} - T_{ij}) + (T_{ii} - T_{ji})]`."""
    def make_case(g):
        m = int(torch.randint(2, 7, (1,), generator=g))
        t = (0.3 + 0.7 * torch.rand(m, m, generator=g, dtype=torch.float64)).numpy()
        loss = np.diag(t)[None, :] - t
        wrong = {
            "compare with each modality's own accuracy T[j, j], not with a perfect 1 (the diagonal must be 0)":
                ((1 - t) + (1 - t).T) / 2,
            "the result is not symmetric: average the cost of borrowing both ways": loss,
            "each direction is counted in full: take the mean of the two costs, not their sum": loss + loss.T,
        }
        return (t.copy(),), ((loss + loss.T) / 2, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return _judge_array(out, expected, wrong, 1e-9, lambda d: f"values differ from the expected distance by up "
                                                                 f"to {np.abs(d - expected).max():.3g}")

    return run_cases("transfer distance", symmetrise, 10, make_case, judge,
                     "symmetric, zero diagonal and the right values on {cases} fresh cases")


class _Linear(nn.Module):
    """``logits = Σ_m x_m W_m``: a fixed multimodal model for the importance exercise."""

    def __init__(self, weights):
        super().__init__()
        self.weights = weights

    def forward(self, *xs):
        return sum(x @ w for x, w in zip(xs, self.weights))


def check_modality_importance(importance: Callable) -> CheckResult:
    r"""Exercise: ``importance(model, xs, y)`` returns, for each modality :math:`m`, the accuracy that
    ``model(*xs)`` loses when :math:`x_m` alone is replaced by zeros (as
    :func:`~mmcourse.quantification.modality_importance`)."""
    def make_case(g):
        m, c, n = int(torch.randint(2, 5, (1,), generator=g)), int(torch.randint(2, 5, (1,), generator=g)), 300
        dims = torch.randint(1, 6, (m,), generator=g).tolist()
        scale = torch.rand(m, generator=g) * 2  # modalities of different strength
        weights = [s * torch.randn(d, c, generator=g) for s, d in zip(scale, dims)]
        xs = [torch.randn(n, d, generator=g) for d in dims]
        model = _Linear(weights)
        y = model(*xs).argmax(1)
        flip = torch.rand(n, generator=g) < 0.2
        y[flip] = torch.randint(0, c, (int(flip.sum()),), generator=g)
        accuracy = (model(*xs).argmax(1) == y).float().mean().item()

        def acc(keep):
            return (model(*[x if k else torch.zeros_like(x) for x, k in zip(xs, keep)]).argmax(1) == y).float(
            ).mean().item()
        without = np.array([acc([k != i for k in range(m)]) for i in range(m)])
        alone = np.array([acc([k == i for k in range(m)]) for i in range(m)])
        wrong = {
            "that is the accuracy without each modality: return what is lost, clean minus without": without,
            "that zeroes every other modality: drop only modality m and keep the rest": accuracy - alone,
            "the sign is reversed: importance is clean accuracy minus the accuracy without the modality":
                without - accuracy,
        }
        return (model, xs, y), (modality_importance(model, (xs, y)), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return _judge_array(out, expected, wrong, 1e-6, lambda values: f"expected {np.round(expected, 4).tolist()}, "
                                                                      f"got {np.round(values, 4).tolist()}")

    return run_cases("modality importance", importance, 8, make_case, judge,
                     "matches modality_importance on {cases} fresh cases")
