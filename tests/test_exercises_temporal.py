"""The checkers of Part 4.1's temporal exercises pass right solutions, catch the usual mistakes with their hint,
and say "not attempted" for a stub."""
import torch

from mmcourse.exercises import check_delta_attention, check_gated_memory, check_write_steps


def memory_scan(u_hat, gamma1, gamma2):
    u, out = torch.zeros_like(u_hat[0]), []
    for t in range(len(u_hat)):
        u = gamma1[t] * u + gamma2[t] * u_hat[t]
        out.append(u)
    return torch.stack(out)


def delta_attention(c_prev, c_now, scores):
    both = torch.cat([c_prev, c_now], dim=-1)
    return both.shape[-1] * torch.softmax(scores, dim=-1) * both


def write_steps(memory):
    previous = torch.cat([torch.zeros_like(memory[:, :1]), memory[:, :-1]], dim=1)
    return (memory - previous).abs().mean(-1).argmax(1)


def stub(*args):
    raise NotImplementedError


def test_right_solutions_pass():
    assert check_gated_memory(memory_scan).passed
    assert check_gated_memory(lambda u, g1, g2: memory_scan(u, g1, g2).numpy()).passed  # a NumPy answer is fine
    assert check_delta_attention(delta_attention).passed
    assert check_write_steps(write_steps).passed
    assert repr(check_write_steps(write_steps)).startswith("PASS")


def test_stubs_are_not_attempted():
    for check in (check_gated_memory, check_delta_attention, check_write_steps):
        result = check(stub)
        assert not result.passed and "not attempted" in result.message


def test_gated_memory_mistakes_get_hints():
    cases = {
        "must carry over": lambda u, g1, g2: g2 * u,
        "you swapped them": lambda u, g1, g2: memory_scan(u, g2, g1),
        "GRU-style": lambda u, g1, g2: memory_scan(u, 1 - g2, g2),
        "not u_0": lambda u, g1, g2: torch.cat([torch.zeros_like(u[:1]), memory_scan(u, g1, g2)[:-1]]),
        "shape": lambda u, g1, g2: memory_scan(u, g1, g2)[-1],
    }
    for hint, wrong in cases.items():
        result = check_gated_memory(wrong)
        assert not result.passed and hint in result.message, (hint, result)


def test_delta_attention_mistakes_get_hints():
    def both(p, n):
        return torch.cat([p, n], dim=-1)

    cases = {
        "scale the softmax by K": lambda p, n, s: torch.softmax(s, -1) * both(p, n),
        "not over the batch": lambda p, n, s: s.shape[-1] * torch.softmax(s, 0) * both(p, n),
        "time order": lambda p, n, s: s.shape[-1] * torch.softmax(s, -1) * both(n, p),
        "not a sigmoid": lambda p, n, s: s.shape[-1] * torch.sigmoid(s) * both(p, n),
    }
    for hint, wrong in cases.items():
        result = check_delta_attention(wrong)
        assert not result.passed and hint in result.message, (hint, result)


def test_write_steps_mistakes_get_hints():
    def change(memory):
        return memory - torch.cat([torch.zeros_like(memory[:, :1]), memory[:, :-1]], dim=1)

    cases = {
        "off by one": lambda u: (u[:, 1:] - u[:, :-1]).abs().mean(-1).argmax(1),
        "not the size": lambda u: u.abs().mean(-1).argmax(1),
        "absolute change": lambda u: change(u).mean(-1).argmax(1),
        "one step per sample": lambda u: change(u).abs().mean(-1),
    }
    for hint, wrong in cases.items():
        result = check_write_steps(wrong)
        assert not result.passed and hint in result.message, (hint, result)
