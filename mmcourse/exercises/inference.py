"""Checkers for the exercises of Part 4.3, inference paradigms: the product t-norm, the Fréchet bounds, the
consistency rate (logical inference); RUBi's masked logits and loss, and counterfactual VQA's total indirect effect
(causal inference)."""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn.functional import cross_entropy, logsigmoid

from mmcourse.exercises._check import CheckResult, compare, run_cases
from mmcourse.reasoning.inference.causal import rubi_logits, total_indirect_effect
from mmcourse.reasoning.inference.logic import LOGIC_OPS, consistency_rate, frechet_bounds, t_norm

__all__ = ["check_t_norm", "check_frechet_bounds", "check_consistency_rate", "check_rubi_logits", "check_rubi_loss",
           "check_total_indirect_effect"]


def _probabilities(g, n):
    return torch.rand(n, generator=g, dtype=torch.float64), torch.rand(n, generator=g, dtype=torch.float64)


def check_t_norm(tnorm: Callable) -> CheckResult:
    """Exercise: ``tnorm(p1, p2, op)`` returns the product t-norm of the parts' probabilities for ``op`` in
    ``"and"``, ``"or"``, ``"not"`` (``p2`` unused for ``"not"``; float64 tensors in, a tensor out)."""
    def make_case(g):
        n = int(torch.randint(3, 9, (1,), generator=g))
        p1, p2 = _probabilities(g, n)
        op = LOGIC_OPS[int(torch.randint(0, 3, (1,), generator=g))]
        wrong = {"and": {"A and B is the product p1 p2 under independence, not min(p1, p2) (the Fréchet upper "
                         "bound)": torch.minimum(p1, p2)},
                 "or": {"A or B is p1 + p2 - p1 p2: subtract the overlap p1 p2, counted twice": p1 + p2,
                        "A or B is p1 + p2 - p1 p2 under independence, not max(p1, p2) (the Fréchet lower bound)":
                        torch.maximum(p1, p2)},
                 "not": {"not A is 1 - p1: negate the first part": 1 - p2}}[op]
        return (p1.clone(), p2.clone(), op), (op, t_norm(p1, p2, op), wrong)

    def judge(ctx, out):
        op, expected, wrong = ctx
        hint = compare(expected, out, wrong, atol=1e-9, rtol=1e-7)
        return None if hint is None else f"op={op!r}: {hint}"

    return run_cases("the product t-norm", tnorm, 12, make_case, judge,
                     "matches mmcourse.reasoning.t_norm on {cases} fresh cases")


def check_frechet_bounds(bounds: Callable) -> CheckResult:
    """Exercise: ``bounds(p1, p2, op)`` returns ``(lower, upper)``, the Fréchet bounds on P(A op B) for tensors of
    part probabilities and ``op`` in ``"and"``, ``"or"`` (float64 tensors in, tensors out)."""
    def make_case(g):
        n = int(torch.randint(3, 9, (1,), generator=g))
        p1, p2 = _probabilities(g, n)
        op = LOGIC_OPS[int(torch.randint(0, 2, (1,), generator=g))]
        lower, upper = frechet_bounds(p1, p2, op)
        wrong = {"and": {"the upper bound of A and B is min(p1, p2), not the product p1 p2 (the product is one "
                         "joint distribution among many: independence)": (lower, p1 * p2),
                         "the lower bound of A and B is max(0, p1 + p2 - 1): clip at 0": (p1 + p2 - 1, upper)},
                 "or": {"the lower bound of A or B is max(p1, p2), not the product t-norm p1 + p2 - p1 p2":
                        (p1 + p2 - p1 * p2, upper),
                        "the upper bound of A or B is min(1, p1 + p2): clip at 1": (lower, p1 + p2)}}[op]
        return (p1.clone(), p2.clone(), op), (op, lower, upper, wrong)

    def judge(ctx, out):
        op, lower, upper, wrong = ctx
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            return f"return a pair (lower, upper), got {type(out).__name__}"
        misses = [(name, compare(expected, got, atol=1e-9, rtol=1e-7))
                  for name, expected, got in (("lower", lower, out[0]), ("upper", upper, out[1]))]
        if all(hint is None for _, hint in misses):
            return None
        for hint, (lo, up) in wrong.items():
            if compare(lo, out[0], atol=1e-9, rtol=1e-7) is None and compare(up, out[1], atol=1e-9,
                                                                             rtol=1e-7) is None:
                return f"op={op!r}: {hint}"
        name, hint = next((name, hint) for name, hint in misses if hint is not None)
        return f"op={op!r}, the {name} bound: {hint}"

    return run_cases("the Fréchet bounds", bounds, 12, make_case, judge,
                     "matches mmcourse.reasoning.frechet_bounds on {cases} fresh cases")


def check_consistency_rate(consistency: Callable) -> CheckResult:
    """Exercise: ``consistency(p, p1, p2, op)`` returns the share (a float) of composed questions whose hard answer
    ``p > 0.5`` equals the logic ``op`` (``"and"``, ``"or"``, ``"not"``; one op for the whole batch) applied to the
    hard answers to the parts ``p1 > 0.5``, ``p2 > 0.5`` (``p2`` is ignored for ``"not"``)."""
    def make_case(g):
        n = int(torch.randint(20, 60, (1,), generator=g))
        p, p1 = _probabilities(g, n)
        p2 = torch.rand(n, generator=g, dtype=torch.float64)
        op = LOGIC_OPS[int(torch.randint(0, 3, (1,), generator=g))]
        from mmcourse.reasoning.inference.logic import t_norm
        soft = ((p > 0.5) == (t_norm(p1, p2, op) > 0.5)).double().mean().item()
        code = torch.full((n,), LOGIC_OPS.index(op))
        return (p.clone(), p1.clone(), p2.clone(), op), (op, consistency_rate(p, p1, p2, code), soft)

    def judge(ctx, out):
        op, expected, soft = ctx
        try:
            value = float(out)
        except (TypeError, ValueError):
            return f"return a number, got {type(out).__name__}"
        if abs(value - expected) < 1e-9:
            return None
        if abs(value - soft) < 1e-9:
            return (f"op={op!r}: compare hard answers: threshold each part first (p1 > 0.5, p2 > 0.5), then apply "
                    f"the logic; thresholding the t-norm of the probabilities is not the same")
        if abs(value - 100 * expected) < 1e-6:
            return "return a share in [0, 1], not a percentage"
        return f"op={op!r}: expected {expected:.4f}, got {value:.4f}"

    return run_cases("the consistency rate", consistency, 12, make_case, judge,
                     "matches mmcourse.reasoning.consistency_rate on {cases} fresh batches")


def check_rubi_logits(masked: Callable) -> CheckResult:
    """Exercise: ``masked(logits, question_logits)`` returns RUBi's training logits, the model's logits times the
    sigmoid of the question-only logits (tensors ``(batch, answers)``)."""
    def make_case(g):
        b, a = (int(v) for v in torch.randint(2, 6, (2,), generator=g))
        z, q = (3 * torch.randn(b, a, generator=g, dtype=torch.float64) for _ in range(2))
        wrong = {"use the sigmoid of the question logits (each answer its own gate in (0, 1)), not a softmax":
                 z * q.softmax(-1), "the mask is σ(question logits); you gated with σ of the model's own logits":
                 q * torch.sigmoid(z), "multiply the logits by the mask; do not add it": z + torch.sigmoid(q),
                 "mask the logits themselves, not the model's probabilities": z.softmax(-1) * torch.sigmoid(q)}
        return (z.clone(), q.clone()), (rubi_logits(z, q), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return compare(expected, out, wrong, atol=1e-9, rtol=1e-7)

    return run_cases("RUBi's masked logits", masked, 10, make_case, judge,
                     "matches mmcourse.reasoning.rubi_logits on {cases} fresh cases")


def _rubi_loss(z, z_q, answer, shift=True, question=True):
    base = z - z.min(dim=-1, keepdim=True).values if shift else z
    loss = cross_entropy(rubi_logits(base, z_q), answer)
    return loss + cross_entropy(z_q, answer) if question else loss


def check_rubi_loss(loss: Callable) -> CheckResult:
    """Exercise: ``loss(logits, question_logits, answer)`` returns RUBi's training loss as the chapter's
    :class:`mmcourse.reasoning.RUBi` computes it: the cross-entropy of the masked logits (the logits shifted so that
    their minimum is 0, times ``σ(question_logits)``) plus the cross-entropy of the question-only logits; a scalar,
    batch means (``logits``, ``question_logits`` ``(batch, answers)``, ``answer`` ``(batch,)`` indices)."""
    def make_case(g):
        b, a = (int(v) for v in torch.randint(3, 8, (2,), generator=g))
        z, z_q = (3 * torch.randn(b, a, generator=g, dtype=torch.float64) for _ in range(2))
        answer = torch.randint(0, a, (b,), generator=g)
        wrong = {"shift the logits so that their minimum is 0 before masking (a mask below 1 would raise a "
                 "negative logit)": _rubi_loss(z, z_q, answer, shift=False),
                 "add the question-only branch's own cross-entropy, CE(question_logits, answer)":
                 _rubi_loss(z, z_q, answer, question=False),
                 "the main term is the cross-entropy of the masked logits, not of the plain ones":
                 cross_entropy(z, answer) + cross_entropy(z_q, answer)}
        return (z.clone(), z_q.clone(), answer.clone()), (_rubi_loss(z, z_q, answer), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return compare(expected, out, wrong, atol=1e-9, rtol=1e-7)

    return run_cases("RUBi's loss", loss, 10, make_case, judge,
                     "matches mmcourse.reasoning.RUBi's training loss on {cases} fresh cases")


def check_total_indirect_effect(tie: Callable) -> CheckResult:
    """Exercise: ``tie(z_k, z_q, z_v, c)`` returns CF-VQA's total indirect effect with SUM fusion,
    ``Z(q, v, k) - Z(q, c, c)`` where ``Z = log σ(z_k + z_q + z_v)`` (tensors ``(batch, answers)``, ``c`` a float)."""
    def make_case(g):
        b, a = (int(v) for v in torch.randint(2, 6, (2,), generator=g))
        z_k, z_q, z_v = (3 * torch.randn(b, a, generator=g, dtype=torch.float64) for _ in range(3))
        c = float(torch.randn(1, generator=g))
        te = logsigmoid(z_k + z_q + z_v)
        wrong = {"subtract the counterfactual Z(q, c, c); the total effect alone keeps the language prior": te,
                 "the counterfactual replaces both k and v by c: log σ(c + z_q + c), not log σ(c + z_q)":
                 te - logsigmoid(c + z_q),
                 "the counterfactual keeps the question: log σ(c + z_q + c), not log σ(3c)":
                 te - logsigmoid(torch.full_like(z_q, 3 * c)),
                 "subtract the fused Z values (log σ of the sums), not the raw logit z_q": te - z_q}
        return (z_k.clone(), z_q.clone(), z_v.clone(), c), (total_indirect_effect(z_k, z_q, z_v, c), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return compare(expected, out, wrong, atol=1e-9, rtol=1e-7)

    return run_cases("the total indirect effect", tie, 10, make_case, judge,
                     "matches mmcourse.reasoning.total_indirect_effect on {cases} fresh cases")
