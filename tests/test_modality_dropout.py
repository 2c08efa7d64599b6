"""ModalityDropout drops whole modalities at the right rate, never all of them, and nothing in eval mode."""
import doctest

import pytest
import torch

import mmcourse.representation.optimization.dropout as dropout_module
from mmcourse.representation import ModalityDropout, drop_modalities


def test_drop_modalities_zeroes_exactly_the_masked_rows():
    x1, x2 = torch.randn(3, 2), torch.randn(3, 2, 2)
    keep = torch.tensor([[True, False], [False, True], [True, True]])
    y1, y2 = drop_modalities([x1, x2], keep)
    assert torch.equal(y1, x1 * torch.tensor([[1.0], [0.0], [1.0]]))
    assert torch.equal(y2[0], torch.zeros(2, 2)) and torch.equal(y2[1:], x2[1:])


def test_rate_and_keep_one():
    torch.manual_seed(0)
    drop = ModalityDropout(0.3)
    x1, x2 = drop(torch.ones(20000, 1), torch.ones(20000, 1))
    kept1, kept2 = x1[:, 0] > 0, x2[:, 0] > 0
    assert (kept1 | kept2).all()
    # P(dropped) = p minus the rescued share of the both-dropped case: 0.3 - 0.09 / 2 = 0.255
    assert abs((~kept1).float().mean().item() - 0.255) < 0.015


def test_per_modality_probabilities_and_eval_mode():
    torch.manual_seed(0)
    drop = ModalityDropout([0.0, 0.5], keep_one=False)
    x1, x2 = drop(torch.ones(10000, 1), torch.ones(10000, 1))
    assert (x1 > 0).all() and abs((x2 == 0).float().mean().item() - 0.5) < 0.02
    drop.eval()
    x = torch.randn(5, 3)
    assert drop(x, x)[1] is x


@pytest.mark.parametrize("p", [1.0, -0.1, "0.5", [], True])
def test_bad_probability(p):
    with pytest.raises(ValueError, match="p must be a probability"):
        ModalityDropout(p)


def test_bad_mask_and_count():
    with pytest.raises(ValueError, match=r"keep must be a boolean mask of shape \(2, 2\)"):
        drop_modalities([torch.ones(2, 1), torch.ones(2, 1)], torch.ones(2, 2))
    with pytest.raises(ValueError, match="3 modalities but 2 probabilities"):
        ModalityDropout([0.1, 0.2])(torch.ones(2, 1), torch.ones(2, 1), torch.ones(2, 1))
    with pytest.raises(ValueError, match="modality 2 has 3 rows"):
        drop_modalities([torch.ones(2, 1), torch.ones(3, 1)], torch.ones(2, 2, dtype=torch.bool))


def test_doctests():
    assert doctest.testmod(dropout_module).failed == 0
