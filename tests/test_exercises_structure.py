"""The checkers of Part 4.1's exercises pass right answers and catch each typical mistake with its hint."""
import torch

from mmcourse.exercises import check_count_logits, check_film_layer, check_logic_modules, check_stack_program
from mmcourse.reasoning import and_module, apply_film, not_module, or_module


def stub(*args):
    raise NotImplementedError


def test_logic_modules():
    assert check_logic_modules(lambda a, b, o: (and_module(a, b), or_module(a, b), not_module(a, o))).passed
    result = check_logic_modules(lambda a, b, o: (torch.minimum(a, b), a + b - a * b, o * (1 - a)))
    assert not result.passed and "product" in result.message
    result = check_logic_modules(lambda a, b, o: (a * b, a + b, o * (1 - a)))
    assert not result.passed and "exceed 1" in result.message
    result = check_logic_modules(lambda a, b, o: (a * b, torch.maximum(a, b), o * (1 - a)))
    assert not result.passed and "not the max" in result.message
    result = check_logic_modules(lambda a, b, o: (a * b, a + b - a * b, 1 - a))
    assert not result.passed and "objectness" in result.message
    result = check_logic_modules(lambda a, b, o: a * b)
    assert not result.passed and "tuple of three" in result.message
    assert "not attempted" in check_logic_modules(stub).message


def count_logits(a, width):
    return -(a.sum(1, keepdim=True) - torch.arange(10)) ** 2 / width


def test_count_logits():
    assert check_count_logits(count_logits).passed
    for wrong, hint in ((lambda a, w: -(a.sum(1, keepdim=True) - torch.arange(10)) ** 2, "divide"),
                        (lambda a, w: -(a.sum(1, keepdim=True) - torch.arange(10)).abs() / w, "square"),
                        (lambda a, w: (a.sum(1, keepdim=True) - torch.arange(10)) ** 2 / w, "minus"),
                        (lambda a, w: -(a.amax(1, keepdim=True) - torch.arange(10)) ** 2 / w, "sum of the map"),
                        (lambda a, w: count_logits(a, w)[:, :9], "shape")):
        result = check_count_logits(wrong)
        assert not result.passed and hint in result.message, result.message
    assert "not attempted" in check_count_logits(stub).message


def test_film_layer():
    assert check_film_layer(apply_film).passed
    assert check_film_layer(lambda F, g, b: g.unsqueeze(1) * F + b.unsqueeze(1)).passed
    for wrong, hint in ((lambda F, g, b: b[:, None] * F + g[:, None], "not β ⊙ F"),
                        (lambda F, g, b: g[:, None] * (F + b[:, None]), "shift after"),
                        (lambda F, g, b: g[0] * F + b[0], "own γ"),
                        (lambda F, g, b: F, "differ")):
        result = check_film_layer(wrong)
        assert not result.passed and hint in result.message, result.message
    assert "not attempted" in check_film_layer(stub).message


def run_program(program, find, objects):
    stack = []
    for op, arg in program:
        if op == "scene":
            stack.append(objects)
        elif op == "filter":
            stack.append(stack.pop() * find[arg])
        elif op in ("and", "or"):
            b, a = stack.pop(), stack.pop()
            stack.append(a * b if op == "and" else torch.maximum(a, b))
        elif op == "not":
            a = stack.pop()
            stack.append(objects * (1 - a) if a.dim() else 1 - a)
        elif op == "count":
            stack.append(stack.pop().sum())
        else:
            stack.append((stack.pop().sum() > 0).double())
    value = stack.pop()
    return int(value) if program[-1][0] == "count" else bool(value)


def test_stack_program():
    assert check_stack_program(run_program).passed

    def unmasked(program, find, objects):  # the complement of a set taken over every cell, empty or not
        stack = []
        for op, arg in program:
            if op == "not" and stack[-1].dim():
                stack.append(1 - stack.pop())
            elif op == "scene":
                stack.append(objects)
            elif op == "filter":
                stack.append(stack.pop() * find[arg])
            else:
                b = stack.pop()
                stack.append(run_program([("scene", None), (op, None)], find, b) if op in ("count", "exists", "not")
                             else (stack.pop() * b if op == "and" else torch.maximum(stack.pop(), b)))
                stack[-1] = torch.as_tensor(stack[-1], dtype=torch.float64)
        value = stack.pop()
        return int(value) if program[-1][0] == "count" else bool(value)

    result = check_stack_program(unmasked)
    assert not result.passed and "multiply by objects" in result.message, result.message
    result = check_stack_program(lambda p, f, o: "yes")
    assert not result.passed and "int or a bool" in result.message
    assert "not attempted" in check_stack_program(stub).message
