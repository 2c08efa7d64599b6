"""The checkers of the exercises on fusion over pretrained, frozen encoders pass right solutions, catch the usual
mistakes with their hint, and say "not attempted" for a stub."""
import numpy as np
import torch

from mmcourse.exercises import check_freeze_encoders, check_relative_change, check_ridge_probe


def freeze_encoders(model):
    for p in model.encoders.parameters():
        p.requires_grad_(False)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def ridge_probe(H, y, H_test, ridge):
    A = np.c_[H, np.ones(len(H))]
    Y = np.eye(int(y.max()) + 1)[y]
    W = np.linalg.solve(A.T @ A + ridge * np.eye(A.shape[1]), A.T @ Y)
    return (np.c_[H_test, np.ones(len(H_test))] @ W).argmax(1)


def relative_change(before, after):
    a = torch.cat([p.flatten() for p in before.parameters()])
    b = torch.cat([p.flatten() for p in after.parameters()])
    return ((b - a).norm() / a.norm()).item()


def stub(*args):
    raise NotImplementedError


def test_right_solutions_pass_and_stubs_are_not_attempted():
    for check, solution in ((check_freeze_encoders, freeze_encoders), (check_ridge_probe, ridge_probe),
                            (check_relative_change, relative_change)):
        result = check(solution)
        assert result.passed, result
        assert repr(result).startswith("PASS")
        stubbed = check(stub)
        assert not stubbed.passed and "not attempted" in stubbed.message


def test_freeze_mistakes_get_hints():
    def freeze_all(model):
        for p in model.parameters():
            p.requires_grad_(False)
        return 0

    def freeze_none(model):
        return sum(p.numel() for p in model.parameters())

    def count_all(model):
        freeze_encoders(model)
        return sum(p.numel() for p in model.parameters())

    def count_frozen(model):
        freeze_encoders(model)
        return sum(p.numel() for p in model.parameters() if not p.requires_grad)

    def count_tensors(model):
        freeze_encoders(model)
        return sum(1 for p in model.parameters() if p.requires_grad)

    cases = {freeze_all: "freeze model.encoders only", freeze_none: "still require gradients",
             count_all: "only the parameters that still require", count_frozen: "*frozen*",
             count_tensors: "scalars (p.numel())"}
    for wrong, hint in cases.items():
        result = check_freeze_encoders(wrong)
        assert not result.passed and hint in result.message, (wrong.__name__, result)


def test_ridge_probe_mistakes_get_hints():
    def no_bias(H, y, H_test, ridge):
        Y = np.eye(int(y.max()) + 1)[y]
        return (H_test @ np.linalg.solve(H.T @ H + ridge * np.eye(H.shape[1]), H.T @ Y)).argmax(1)

    def no_ridge(H, y, H_test, ridge):
        return ridge_probe(H, y, H_test, 0.0)

    def class_as_number(H, y, H_test, ridge):
        A = np.c_[H, np.ones(len(H))]
        w = np.linalg.solve(A.T @ A + ridge * np.eye(A.shape[1]), A.T @ y.astype(float))
        return np.clip(np.round(np.c_[H_test, np.ones(len(H_test))] @ w), 0, y.max()).astype(int)

    cases = {no_bias: "column of ones", no_ridge: "add the ridge", class_as_number: "one-hot targets"}
    for wrong, hint in cases.items():
        result = check_ridge_probe(lambda H, y, Ht, r, wrong=wrong: wrong(H.numpy(), y.numpy(), Ht.numpy(), r))
        assert not result.passed and hint in result.message, (wrong.__name__, result)
    assert "one class per test example" in check_ridge_probe(lambda H, y, Ht, r: np.zeros(3)).message
    assert not check_ridge_probe(lambda H, y, Ht, r: torch.zeros(len(Ht))).passed


def test_relative_change_mistakes_get_hints():
    def flat(module):
        return torch.cat([p.flatten() for p in module.parameters()])

    cases = {
        "*before* training": lambda b, a: ((flat(a) - flat(b)).norm() / flat(a).norm()).item(),
        "divide by ‖θ_before‖": lambda b, a: (flat(a) - flat(b)).norm().item(),
        "not the mean of per-tensor ratios": lambda b, a: np.mean([((q - p).norm() / p.norm()).item()
                                                                    for p, q in zip(b.parameters(), a.parameters())]),
        "not the difference of the norms": lambda b, a: (flat(a).norm() / flat(b).norm() - 1).item(),
    }
    for hint, wrong in cases.items():
        result = check_relative_change(wrong)
        assert not result.passed and hint in result.message, (hint, result)
    assert "one number" in check_relative_change(lambda b, a: "far").message


def test_checkers_leave_torch_generator_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    check_freeze_encoders(freeze_encoders)
    check_ridge_probe(ridge_probe)
    assert torch.equal(torch.rand(3), expected)
