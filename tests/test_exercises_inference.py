"""The checkers of Part 4.3's exercises: a right solution passes, each typical mistake gets its hint, a stub is
"not attempted"."""
import torch
from torch.nn.functional import cross_entropy, logsigmoid

from mmcourse import set_seed
from mmcourse.exercises import (check_consistency_rate, check_frechet_bounds, check_rubi_logits, check_rubi_loss,
                                check_t_norm, check_total_indirect_effect)
from mmcourse.reasoning import RUBi, VQAModel


def _stub(*args):
    raise NotImplementedError


def test_frechet_bounds_checker():
    def right(p1, p2, op):
        if op == "and":
            return (p1 + p2 - 1).clamp(min=0), torch.minimum(p1, p2)
        return torch.maximum(p1, p2), (p1 + p2).clamp(max=1)

    def product_upper(p1, p2, op):
        return ((p1 + p2 - 1).clamp(min=0), p1 * p2) if op == "and" else right(p1, p2, op)

    def unclipped(p1, p2, op):
        return (torch.maximum(p1, p2), p1 + p2) if op == "or" else right(p1, p2, op)

    assert check_frechet_bounds(right).passed
    result = check_frechet_bounds(product_upper)
    assert not result.passed and "min(p1, p2)" in result.message
    result = check_frechet_bounds(unclipped)
    assert not result.passed and "clip at 1" in result.message
    assert "return a pair" in check_frechet_bounds(lambda p1, p2, op: p1).message
    assert "not attempted" in check_frechet_bounds(_stub).message


def test_consistency_rate_checker():
    def right(p, p1, p2, op):
        a, a1, a2 = p > 0.5, p1 > 0.5, p2 > 0.5
        return (a == {"and": a1 & a2, "or": a1 | a2, "not": ~a1}[op]).double().mean().item()

    def soft(p, p1, p2, op):
        implied = {"and": p1 * p2, "or": p1 + p2 - p1 * p2, "not": 1 - p1}[op] > 0.5
        return ((p > 0.5) == implied).double().mean().item()

    assert check_consistency_rate(right).passed
    result = check_consistency_rate(soft)
    assert not result.passed and "hard answers" in result.message
    result = check_consistency_rate(lambda p, p1, p2, op: 100 * right(p, p1, p2, op))
    assert not result.passed and "percentage" in result.message
    assert "not attempted" in check_consistency_rate(_stub).message


def test_rubi_logits_checker():
    assert check_rubi_logits(lambda z, q: z * torch.sigmoid(q)).passed
    result = check_rubi_logits(lambda z, q: z * q.softmax(-1))
    assert not result.passed and "softmax" in result.message
    result = check_rubi_logits(lambda z, q: z + torch.sigmoid(q))
    assert not result.passed and "multiply" in result.message
    assert "not attempted" in check_rubi_logits(_stub).message


def test_total_indirect_effect_checker():
    assert check_total_indirect_effect(lambda k, q, v, c: logsigmoid(k + q + v) - logsigmoid(2 * c + q)).passed
    result = check_total_indirect_effect(lambda k, q, v, c: logsigmoid(k + q + v))
    assert not result.passed and "subtract the counterfactual" in result.message
    result = check_total_indirect_effect(lambda k, q, v, c: logsigmoid(k + q + v) - logsigmoid(c + q))
    assert not result.passed and "both k and v" in result.message
    assert "not attempted" in check_total_indirect_effect(_stub).message


def test_t_norm_checker():
    def right(p1, p2, op):
        return {"and": p1 * p2, "or": p1 + p2 - p1 * p2, "not": 1 - p1}[op]

    assert check_t_norm(right).passed
    result = check_t_norm(lambda p1, p2, op: p1 + p2 if op == "or" else right(p1, p2, op))
    assert not result.passed and "counted twice" in result.message
    result = check_t_norm(lambda p1, p2, op: torch.minimum(p1, p2) if op == "and" else right(p1, p2, op))
    assert not result.passed and "Fréchet upper" in result.message
    result = check_t_norm(lambda p1, p2, op: 1 - p2 if op == "not" else right(p1, p2, op))
    assert not result.passed and "negate the first part" in result.message
    assert "not attempted" in check_t_norm(_stub).message


def test_rubi_loss_checker_agrees_with_the_rubi_module():
    def right(z, z_q, answer):
        shifted = z - z.min(dim=-1, keepdim=True).values
        return cross_entropy(shifted * torch.sigmoid(z_q), answer) + cross_entropy(z_q, answer)

    # the checker's reference is what RUBi.loss computes from its own logits
    set_seed(0)
    rubi = RUBi(VQAModel(8, n_answers=3))
    image, question, answer = torch.rand(5, 30, 30, 3), torch.randint(1, 10, (5, 6)), torch.tensor([0, 2, 1, 1, 0])
    out = rubi.outputs(image, question)
    assert torch.allclose(rubi.loss(image, question, answer), right(out["logits"], out["logits_q"], answer))
    assert check_rubi_loss(right).passed
    result = check_rubi_loss(lambda z, z_q, a: cross_entropy(z * torch.sigmoid(z_q), a) + cross_entropy(z_q, a))
    assert not result.passed and "shift the logits" in result.message
    result = check_rubi_loss(lambda z, z_q, a: right(z, z_q, a) - cross_entropy(z_q, a))
    assert not result.passed and "question-only branch's own cross-entropy" in result.message
    assert "not attempted" in check_rubi_loss(_stub).message
