"""The checkers of Part 3.3's exercises pass correct solutions, catch the usual mistakes, and leave torch's RNG alone.

The reference solutions are written here with plain tensor operations, independently of the package.
"""
import math

import torch

from mmcourse.exercises import check_attention, check_cross_modal_step, check_gcn_propagation


def attention(q, k, v):
    weights = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(q.shape[-1]), dim=-1)
    return weights @ v, weights


def cross_step(h1, h2, w_q, w_k, w_v):
    return h1 + attention(h1 @ w_q, h2 @ w_k, h2 @ w_v)[0]


def gcn_layer(adjacency, h, weight):
    a = adjacency + torch.eye(len(adjacency), dtype=adjacency.dtype)
    d = torch.diag(a.sum(1) ** -0.5)
    return torch.relu(d @ a @ d @ h @ weight)


def test_correct_solutions_pass():
    for check, solution in ((check_attention, attention), (check_cross_modal_step, cross_step),
                            (check_gcn_propagation, gcn_layer)):
        result = check(solution)
        assert result.passed, result
        assert repr(result).startswith("PASS")


def test_attention_mistakes_get_hints():
    def unscaled(q, k, v):
        w = torch.softmax(q @ k.transpose(1, 2), -1)
        return w @ v, w

    def over_queries(q, k, v):
        w = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(q.shape[-1]), 1)
        return w @ v, w

    def transposed(q, k, v):
        out, w = attention(q, k, v)
        return out, w.transpose(1, 2)

    assert "√d_k" in check_attention(unscaled).message
    assert "over the queries" in check_attention(over_queries).message
    assert "transposed" in check_attention(transposed).message
    assert "pair (out, weights)" in check_attention(lambda q, k, v: attention(q, k, v)[0]).message
    assert not check_attention(lambda q, k, v: (torch.zeros_like(q), attention(q, k, v)[1])).passed


def test_cross_step_mistakes_get_hints():
    reverse = check_cross_modal_step(lambda h1, h2, wq, wk, wv: cross_step(h2, h1, wq, wk, wv))
    assert not reverse.passed and "queries must come from modality 1" in reverse.message
    no_residual = check_cross_modal_step(lambda h1, h2, wq, wk, wv: cross_step(h1, h2, wq, wk, wv) - h1)
    assert "residual" in no_residual.message
    self_attention = check_cross_modal_step(lambda h1, h2, wq, wk, wv: cross_step(h1, h1, wq, wk, wv))
    assert "self-attention" in self_attention.message
    unscaled = check_cross_modal_step(
        lambda h1, h2, wq, wk, wv: h1 + torch.softmax((h1 @ wq) @ (h2 @ wk).transpose(1, 2), -1) @ (h2 @ wv))
    assert "√w" in unscaled.message


def test_gcn_mistakes_get_hints():
    def no_loops(adjacency, h, weight):
        d = torch.diag(adjacency.sum(1).clamp(min=1) ** -0.5)
        return torch.relu(d @ adjacency @ d @ h @ weight)

    def random_walk(adjacency, h, weight):
        a = adjacency + torch.eye(len(adjacency), dtype=adjacency.dtype)
        return torch.relu(a / a.sum(1, keepdim=True) @ h @ weight)

    assert "self-loops" in check_gcn_propagation(no_loops).message
    assert "random-walk" in check_gcn_propagation(random_walk).message
    assert "ReLU is missing" in check_gcn_propagation(_linear_gcn).message
    assert "not normalised" in check_gcn_propagation(
        lambda a, h, w: torch.relu((a + torch.eye(len(a), dtype=a.dtype)) @ h @ w)).message


def _linear_gcn(adjacency, h, weight):
    a = adjacency + torch.eye(len(adjacency), dtype=adjacency.dtype)
    d = torch.diag(a.sum(1) ** -0.5)
    return d @ a @ d @ h @ weight


def test_unanswered_and_crashing_solutions():
    def stub(*args):
        raise NotImplementedError

    assert "not attempted" in check_gcn_propagation(stub).message
    crash = check_attention(lambda q, k, v: q @ v)
    assert not crash.passed and "raised RuntimeError" in crash.message
    assert "expected a function" in check_cross_modal_step(3).message
    assert "must be a torch.Tensor" in check_gcn_propagation(lambda a, h, w: "a graph").message


def test_checkers_leave_the_global_rng_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    check_attention(attention)
    check_cross_modal_step(cross_step)
    check_gcn_propagation(gcn_layer)
    assert torch.equal(torch.rand(3), expected)
