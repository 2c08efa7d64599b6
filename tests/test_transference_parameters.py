"""Part 6.1: freeze and trainable_parameters."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from mmcourse.transference import freeze, trainable_parameters


def test_trainable_parameters_counts_weights_and_biases():
    net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2, bias=False))
    assert trainable_parameters(net) == 4 * 3 + 3 + 3 * 2


def test_tied_weights_count_once():
    shared = nn.Linear(5, 5)
    net = nn.Sequential(shared, nn.Tanh(), shared)
    assert trainable_parameters(net) == 30


def test_freeze_returns_the_same_module_with_no_gradients():
    net = nn.Linear(3, 2)
    assert freeze(net) is net
    assert trainable_parameters(net) == 0
    assert all(not p.requires_grad for p in net.parameters())


def test_a_frozen_part_gets_no_gradient_and_the_head_does():
    body, head = nn.Linear(4, 3), nn.Linear(3, 1)
    model = nn.Sequential(freeze(body), head)
    assert trainable_parameters(model) == 4
    before = body.weight.clone()
    optimiser = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    model(torch.randn(8, 4)).pow(2).mean().backward()
    optimiser.step()
    assert body.weight.grad is None and head.weight.grad is not None
    assert torch.equal(body.weight, before)


@pytest.mark.parametrize("function", [freeze, trainable_parameters])
def test_non_modules_are_rejected_by_name(function):
    with pytest.raises(TypeError, match=f"{function.__name__}: module must be a torch.nn.Module, got Tensor"):
        function(torch.zeros(3))
