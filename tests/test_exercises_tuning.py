"""The checkers of Part 6.1's exercises pass right solutions, catch the usual mistakes with their hint, and say
"not attempted" for a stub."""
import torch
from torch import nn

from mmcourse.exercises import check_mlp_parameters, check_prefix_inputs, check_shift_scale
from mmcourse.transference import prefix_inputs, shift_scale, trainable_parameters


def stub(*args):
    raise NotImplementedError


def test_shift_scale_checker():
    assert check_shift_scale(lambda z, h, beta: shift_scale(z, h, beta)).passed
    assert check_shift_scale(
        lambda z, h, beta: torch.clamp(beta * z.norm(dim=1) / h.norm(dim=1).clamp_min(1e-9), max=1.0)).passed
    wrong = {
        "take the min with 1": lambda z, h, beta: beta * z.norm(dim=1) / h.norm(dim=1).clamp_min(1e-9),
        "upside down": lambda z, h, beta: torch.clamp(h.norm(dim=1) / (beta * z.norm(dim=1)), max=1.0),
        "multiply by beta": lambda z, h, beta: torch.clamp(z.norm(dim=1) / h.norm(dim=1).clamp_min(1e-9), max=1.0),
        "guard the division": lambda z, h, beta: torch.clamp(beta * z.norm(dim=1) / h.norm(dim=1), max=1.0),
        "one alpha per row": lambda z, h, beta: torch.ones(1),
        "return a torch.Tensor": lambda z, h, beta: "alpha",
    }
    for hint, solution in wrong.items():
        result = check_shift_scale(solution)
        assert not result.passed and hint in result.message, (hint, result)
    assert "not attempted" in check_shift_scale(stub).message


def test_parameter_count_checker():
    def count(sizes):
        return trainable_parameters(nn.Sequential(*(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))))

    assert check_mlp_parameters(count).passed
    assert check_mlp_parameters(lambda s: sum(a * b + b for a, b in zip(s[:-1], s[1:]))).passed
    wrong = {
        "count the biases": lambda s: sum(a * b for a, b in zip(s[:-1], s[1:])),
        "one per output unit": lambda s: sum(a * b + a for a, b in zip(s[:-1], s[1:])),
        "not a + b": lambda s: sum(a + b for a, b in zip(s[:-1], s[1:])),
        "expected": lambda s: 42,
        "return an int": lambda s: "many",
    }
    for hint, solution in wrong.items():
        result = check_mlp_parameters(solution)
        assert not result.passed and hint in result.message, (hint, result)
    assert "not attempted" in check_mlp_parameters(stub).message


def test_prefix_inputs_checker():
    assert check_prefix_inputs(prefix_inputs).passed

    def ones_mask(prefix, words, ids):
        return torch.cat([prefix, words], 1), torch.ones(ids.shape[0], prefix.shape[1] + ids.shape[1])

    wrong = {
        "put the prefix first": lambda p, w, ids: (torch.cat([w, p], 1), prefix_inputs(p, w, ids)[1]),
        "its mask is 1": lambda p, w, ids: (torch.cat([p, w], 1),
                                            torch.cat([torch.zeros(p.shape[:2]), (ids != 0).float()], 1)),
        "padding (id 0) must get 0": ones_mask,
        "k + T positions": lambda p, w, ids: (torch.cat([p, w], 1), (ids != 0).float()),
        "return a pair": lambda p, w, ids: torch.cat([p, w], 1),
    }
    for hint, solution in wrong.items():
        result = check_prefix_inputs(solution)
        assert not result.passed and hint in result.message, (hint, result)
    assert "not attempted" in check_prefix_inputs(stub).message


def test_checkers_leave_torch_generator_alone():
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    check_shift_scale(lambda z, h, beta: shift_scale(z, h, beta))
    check_prefix_inputs(prefix_inputs)
    assert torch.equal(torch.rand(3), expected)
