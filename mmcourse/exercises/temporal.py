"""Checkers for the exercises of Part 4.1, temporal structure: the multi-view gated memory, the Delta-memory
attention on two steps, and measuring when the memory writes."""
from __future__ import annotations

from collections.abc import Callable

import torch

from mmcourse.exercises._check import CheckResult, compare, run_cases

__all__ = ["check_gated_memory", "check_delta_attention", "check_write_steps"]


def check_gated_memory(memory_scan: Callable) -> CheckResult:
    """Exercise: ``memory_scan(u_hat, gamma1, gamma2)`` takes three ``(T, m)`` tensors (the proposed contents
    ``û_t`` and the retain and update gates) and returns the memories ``u_1 … u_T`` as a ``(T, m)`` tensor, with
    ``u_t = γ1_t ⊙ u_{t-1} + γ2_t ⊙ û_t`` and ``u_0 = 0``."""
    def scan(u_hat, g1, g2, first):
        u, out = first, []
        for t in range(len(u_hat)):
            u = g1[t] * u + g2[t] * u_hat[t]
            out.append(u)
        return torch.stack(out)

    def make_case(g):
        steps, m = (int(v) for v in torch.randint(2, 7, (2,), generator=g))
        u_hat = torch.tanh(torch.randn(steps, m, generator=g, dtype=torch.float64) * 2)
        g1, g2 = torch.rand(2, steps, m, generator=g, dtype=torch.float64) * 0.9 + 0.05
        zero = torch.zeros(m, dtype=torch.float64)
        wrong = {"the memory must carry over: u_t = γ1 ⊙ u_{t-1} + γ2 ⊙ û_t, not γ2 ⊙ û_t alone": g2 * u_hat,
                 "γ1 retains the old memory and γ2 writes the new content: you swapped them":
                     scan(u_hat, g2, g1, zero),
                 "the two gates are independent: use γ1 ⊙ u_{t-1} + γ2 ⊙ û_t, not a GRU-style (1 − γ) mix":
                     scan(u_hat, 1 - g2, g2, zero),
                 "return u_1 … u_T (after each update), not u_0 … u_{T-1}":
                     torch.cat([zero[None], scan(u_hat, g1, g2, zero)[:-1]])}
        return (u_hat.clone(), g1.clone(), g2.clone()), (scan(u_hat, g1, g2, zero), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return compare(expected, out, wrong, atol=1e-8, rtol=1e-6)

    return run_cases("the multi-view gated memory", memory_scan, 10, make_case, judge,
                     "matches u_t = γ1 ⊙ u_(t-1) + γ2 ⊙ û_t on {cases} fresh sequences")


def check_delta_attention(delta_attention: Callable) -> CheckResult:
    """Exercise: ``delta_attention(c_prev, c_now, scores)`` takes the states ``c_{t-1}``, ``c_t`` (``(B, D)``) and
    the attention network's scores ``D_a(c^[t-1,t])`` (``(B, 2D)``) and returns ``ĉ = K softmax(scores) ⊙
    [c_{t-1}; c_t]`` with ``K = 2D`` and the softmax over the ``2D`` coordinates of each row."""
    def make_case(g):
        b, d = (int(v) for v in torch.randint(1, 5, (2,), generator=g))
        c_prev, c_now = torch.randn(2, b, d + 1, generator=g, dtype=torch.float64)
        scores = torch.randn(b, 2 * d + 2, generator=g, dtype=torch.float64) * 2
        both, k = torch.cat([c_prev, c_now], dim=-1), 2 * d + 2
        wrong = {"scale the softmax by K = 2D, so that uniform attention leaves c unchanged":
                     torch.softmax(scores, -1) * both,
                 "take the softmax over the coordinates of each row (dim=-1), not over the batch":
                     k * torch.softmax(scores, 0) * both,
                 "concatenate in time order: [c_{t-1}; c_t]":
                     k * torch.softmax(scores, -1) * torch.cat([c_now, c_prev], -1),
                 "the attention is a softmax over the coordinates, not a sigmoid per coordinate":
                     k * torch.sigmoid(scores) * both}
        return (c_prev.clone(), c_now.clone(), scores.clone()), (k * torch.softmax(scores, -1) * both, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return compare(expected, out, wrong, atol=1e-8, rtol=1e-6)

    return run_cases("the Delta-memory attention", delta_attention, 10, make_case, judge,
                     "matches K softmax(scores) ⊙ [c_(t-1); c_t] on {cases} fresh cases")


def check_write_steps(write_steps: Callable) -> CheckResult:
    """Exercise: ``write_steps(memory)`` takes the memories ``u_1 … u_T`` of a batch (``(B, T, m)``) and returns,
    for each sample, the step (0-based index into the T steps) at which the memory changed most,
    ``argmax_t mean_k |u_t,k − u_{t-1},k|`` with ``u_0 = 0``, as an integer tensor ``(B,)``."""
    def make_case(g):
        b, steps, m = int(torch.randint(2, 6, (1,), generator=g)), int(torch.randint(4, 9, (1,), generator=g)), 3
        u = torch.randn(b, steps, m, generator=g, dtype=torch.float64).cumsum(1) * 0.2
        jump = torch.randint(0, steps, (b,), generator=g)
        sign = torch.randint(0, 2, (b, 1, 1), generator=g) * 6.0 - 3.0
        # one clear write per sample: a step of ±3 at `jump` that the later steps keep
        u = torch.where(torch.arange(steps)[None, :, None] >= jump[:, None, None], u + sign, u)
        change = (u - torch.cat([torch.zeros(b, 1, m, dtype=u.dtype), u[:, :-1]], 1)).abs().mean(-1)
        expected = change.argmax(1)
        no_zero = torch.cat([torch.zeros(b, 1, dtype=u.dtype), (u[:, 1:] - u[:, :-1]).abs().mean(-1)], 1)
        wrong = {"off by one: the change into step t is u_t − u_(t-1); index it by t, not t − 1":
                     (u[:, 1:] - u[:, :-1]).abs().mean(-1).argmax(1),
                 "the change is |u_t − u_(t-1)|, not the size |u_t| of the memory": u.abs().mean(-1).argmax(1),
                 "take the absolute change: a write may lower the memory as well as raise it":
                     (u - torch.cat([torch.zeros(b, 1, m, dtype=u.dtype), u[:, :-1]], 1)).mean(-1).argmax(1),
                 "start from u_0 = 0: the first step's change is |u_1|": no_zero.argmax(1)}
        return (u.clone(),), (expected, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        got = torch.as_tensor(out) if not isinstance(out, torch.Tensor) else out
        if got.shape != expected.shape:
            return f"return one step per sample, shape {tuple(expected.shape)}, got {tuple(got.shape)}"
        if torch.equal(got.long(), expected):
            return None
        for hint, alternative in wrong.items():
            if torch.equal(got.long(), alternative) and not torch.equal(alternative, expected):
                return hint
        return f"expected steps {expected.tolist()}, got {got.long().tolist()}"

    return run_cases("when does the memory write?", write_steps, 10, make_case, judge,
                     "finds the step of the largest change on {cases} fresh batches")
