"""The argument checks every public function uses at its door (``mmcourse._checks``)."""
import doctest

import numpy as np
import pytest
import torch

from mmcourse import _checks
from mmcourse._checks import (check_choice, check_ids, check_int, check_module, check_number, check_same_rows,
                              check_tensor)


def test_examples():
    assert doctest.testmod(_checks).failed == 0


def test_check_tensor():
    x = torch.zeros(4, 3)
    assert check_tensor("f", "x", x, shape=(None, 3)) is x
    with pytest.raises(TypeError, match="f: x must be a floating-point torch.Tensor, got str"):
        check_tensor("f", "x", "abc")
    with pytest.raises(TypeError, match="f: x must be a floating-point tensor, got dtype torch.int64"):
        check_tensor("f", "x", torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"f: x must have shape \(·, 5\), got \(4, 3\)"):
        check_tensor("f", "x", x, shape=(None, 5))
    with pytest.raises(ValueError, match="must have 1 or 3 dimensions"):
        check_tensor("f", "x", x, dim=(1, 3))
    with pytest.raises(ValueError, match=r"f: x is empty \(shape \(0, 3\)\)"):
        check_tensor("f", "x", x[:0])
    assert check_tensor("f", "x", x[:0], nonempty=False).shape == (0, 3)
    with pytest.raises(ValueError, match="f: x contains NaN or infinite values"):
        check_tensor("f", "x", torch.tensor([1.0, float("inf")]))
    with pytest.raises(TypeError, match="integer tensor, got dtype torch.bool"):
        check_tensor("f", "y", torch.tensor([True]), kind="int")
    assert check_tensor("f", "y", torch.tensor([1, 2]), kind="any").dtype == torch.long


def test_check_ids():
    assert check_ids("f", "y", torch.tensor([0, 1]), 2).tolist() == [0, 1]
    with pytest.raises(ValueError, match="f: y must hold integers in 0..1, got values from -1 to 1"):
        check_ids("f", "y", torch.tensor([-1, 1]), 2)
    with pytest.raises(TypeError, match="f: y must be an integer tensor, got dtype torch.float32"):
        check_ids("f", "y", torch.tensor([0.0]), 2)


def test_check_same_rows():
    assert check_same_rows("f", a=torch.zeros(3), b=[1, 2, 3]) == 3
    assert check_same_rows("f") == 0
    with pytest.raises(ValueError, match="f: mismatched batch sizes: a has 3 rows, b has 2"):
        check_same_rows("f", a=torch.zeros(3), b=torch.zeros(2, 5))
    with pytest.raises(ValueError, match="f: b must have a batch axis"):
        check_same_rows("f", a=torch.zeros(3), b=torch.tensor(1.0))


def test_check_int_and_number():
    assert check_int("f", "k", np.int64(4), low=1, high=4) == 4
    for bad, error in ((True, TypeError), ("3", TypeError), (3.0, TypeError), (0, ValueError), (5, ValueError)):
        with pytest.raises(error, match="f: k must be"):
            check_int("f", "k", bad, low=1, high=4)
    assert check_number("f", "t", np.float32(0.5), low=0, high=1) == 0.5
    assert check_number("f", "t", torch.tensor(0.25)) == 0.25
    with pytest.raises(ValueError, match=r"f: t must be a finite number in \(0, 1\], got 0.0"):
        check_number("f", "t", 0, low=0, high=1, low_open=True)
    with pytest.raises(ValueError, match="f: t must be a finite number ≥ 0, got -1.0"):
        check_number("f", "t", -1, low=0)
    with pytest.raises(TypeError, match="f: t must be a number, got str 'abc'"):
        check_number("f", "t", "abc")


def test_check_module_and_choice():
    net = torch.nn.Linear(2, 2)
    assert check_module("f", "model", net) is net
    with pytest.raises(TypeError, match="f: model must be a Linear, got Conv1d"):
        check_module("f", "model", torch.nn.Conv1d(1, 1, 1), torch.nn.Linear)
    assert check_choice("f", "kind", "a", ("a", "b")) == "a"
    with pytest.raises(TypeError, match="f: kind must be one of 'a', 'b', got int 3"):
        check_choice("f", "kind", 3, ("a", "b"))
    with pytest.raises(ValueError, match="got 'c'"):
        check_choice("f", "kind", "c", ("a", "b"))
