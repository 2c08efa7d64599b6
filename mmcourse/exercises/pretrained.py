"""Checkers for the exercises of Part 2.1's section on fusion over pretrained, frozen encoders: freezing the encoders
of a fusion model, a closed-form linear probe, and how far pretraining moved an encoder's weights."""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from mmcourse.exercises._check import CheckResult, as_float64, run_cases

__all__ = ["check_freeze_encoders", "check_ridge_probe", "check_relative_change"]


def _trainable(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def check_freeze_encoders(freeze_encoders: Callable) -> CheckResult:
    """Exercise: ``freeze_encoders(model)`` freezes the encoders of a ``FusionModel`` (and nothing else) and returns
    the number of scalar parameters that still train (those of the fusion and the head)."""
    from mmcourse.representation import FusionModel  # here, not at the top: the package imports the exercises

    def make_case(g):
        dims = [int(v) for v in torch.randint(3, 9, (2,), generator=g)]
        width = int(torch.randint(2, 6, (1,), generator=g))
        fusion = ["additive", "tensor", "nonlinear"][int(torch.randint(0, 3, (1,), generator=g))]
        model = FusionModel([torch.zeros(d) for d in dims], 2, fusion, width=width)
        counts = {"all": _trainable(model), "encoders": _trainable(model.encoders)}
        return (model,), (model, counts)

    def judge(ctx, out):
        model, counts = ctx
        enc = [p.requires_grad for p in model.encoders.parameters()]
        rest = [p.requires_grad for name, p in model.named_parameters() if not name.startswith("encoders.")]
        if any(enc):
            return "some encoder parameters still require gradients: set requires_grad_(False) on each of them"
        if not all(rest):
            return "the fusion and the head must still train: freeze model.encoders only, not the whole model"
        expected = counts["all"] - counts["encoders"]
        value = as_float64(out)
        if value is None or value.numel() != 1:
            return f"return the number of trainable parameters (an int), got {type(out).__name__}"
        if value.item() == expected:
            return None
        if value.item() == counts["all"]:
            return "count only the parameters that still require a gradient (p.requires_grad)"
        if value.item() == counts["encoders"]:
            return "that is the number of *frozen* parameters; return those that still train"
        if value.item() == sum(1 for p in model.parameters() if p.requires_grad):
            return "count scalars (p.numel()), not parameter tensors"
        return f"expected {expected} trainable parameters, got {value.item():g}"

    return run_cases("freezing the encoders", freeze_encoders, 6, make_case, judge,
                     "freezes exactly the encoders and counts what still trains, on {cases} fresh models")


def _ridge(H: Tensor, y: Tensor, Ht: Tensor, ridge: float, *, bias: bool = True, one_hot: bool = True) -> Tensor:
    """The reference probe and its typical mistakes (no bias column, the label index as a number)."""
    def design(h):
        return torch.cat([h, torch.ones(len(h), 1, dtype=h.dtype)], 1) if bias else h
    A, At = design(H), design(Ht)
    Y = nn.functional.one_hot(y, int(y.max()) + 1).double() if one_hot else y.double()[:, None]
    W = torch.linalg.solve(A.T @ A + ridge * torch.eye(A.shape[1], dtype=A.dtype), A.T @ Y)
    scores = At @ W
    return scores.argmax(1) if one_hot else scores[:, 0].round().clamp(0, int(y.max())).long()


def check_ridge_probe(ridge_probe: Callable) -> CheckResult:
    """Exercise: ``ridge_probe(H, y, H_test, ridge)`` fits ``W = (H̃ᵀH̃ + λI)⁻¹ H̃ᵀ Y`` (``H̃ = [H, 1]``, ``Y`` one-hot)
    and returns the predicted classes ``argmax_k (H̃_test W)_k`` of the test features, as integers."""
    def make_case(g):
        n, d, k = 40, int(torch.randint(2, 5, (1,), generator=g)), int(torch.randint(3, 5, (1,), generator=g))
        centres = 2 * torch.randn(k, d, generator=g, dtype=torch.float64) + 4    # offset: the bias matters
        y = torch.arange(n) % k
        H = centres[y] + 1.5 * torch.randn(n, d, generator=g, dtype=torch.float64)
        yt = torch.arange(30) % k
        Ht = centres[yt] + 1.5 * torch.randn(30, d, generator=g, dtype=torch.float64)
        ridge = float(torch.empty(1).uniform_(20, 60, generator=g))
        wrong = {"add a column of ones to H and H_test (the bias), as H̃ = [H, 1]": _ridge(H, y, Ht, ridge, bias=False),
                 "regress on one-hot targets Y (n, classes) and take the argmax, not on the class index as a "
                 "number": _ridge(H, y, Ht, ridge, one_hot=False),
                 "add the ridge λI to H̃ᵀH̃ before solving": _ridge(H, y, Ht, 0.0)}
        return (H.clone(), y.clone(), Ht.clone(), ridge), (_ridge(H, y, Ht, ridge), wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        got = as_float64(out)
        if got is None:
            return f"return the predicted classes as a tensor or array, got {type(out).__name__}"
        got = got.flatten()
        if got.shape != expected.shape:
            return f"return one class per test example ({len(expected)}), got shape {tuple(got.shape)}"
        if torch.equal(got, expected.double()):
            return None
        for hint, alternative in wrong.items():
            if torch.equal(got, alternative.double()):
                return hint
        return f"{int((got != expected).sum())} of {len(expected)} predicted classes differ from the expected ones"

    return run_cases("the ridge probe", ridge_probe, 10, make_case, judge,
                     "matches the closed-form probe's predictions on {cases} fresh problems")


def check_relative_change(relative_change: Callable) -> CheckResult:
    """Exercise: ``relative_change(before, after)`` returns ``‖θ_after − θ_before‖ / ‖θ_before‖``, with ``θ`` all the
    parameters of a module concatenated into one vector (two modules of the same architecture)."""
    def make_case(g):
        sizes = [int(v) for v in torch.randint(2, 6, (3,), generator=g)]
        before = nn.Sequential(nn.Linear(sizes[0], sizes[1]), nn.ReLU(), nn.Linear(sizes[1], sizes[2]))
        after = nn.Sequential(nn.Linear(sizes[0], sizes[1]), nn.ReLU(), nn.Linear(sizes[1], sizes[2]))
        with torch.no_grad():
            for p, q in zip(before.parameters(), after.parameters()):
                p.copy_(torch.randn(p.shape, generator=g))
                q.copy_(p + torch.randn(p.shape, generator=g) * float(torch.rand(1, generator=g)) * 3)
        a = [p.detach().double().flatten() for p in before.parameters()]
        b = [q.detach().double().flatten() for q in after.parameters()]
        va, vb = torch.cat(a), torch.cat(b)
        expected = ((vb - va).norm() / va.norm()).item()
        wrong = {"divide by the norm of the parameters *before* training, not after":
                     ((vb - va).norm() / vb.norm()).item(),
                 "return the relative change: divide by ‖θ_before‖": (vb - va).norm().item(),
                 "take one norm over all parameters concatenated, not the mean of per-tensor ratios":
                     sum(((y - x).norm() / x.norm()).item() for x, y in zip(a, b)) / len(a),
                 "take the norm of the difference, not the difference of the norms": (vb.norm() / va.norm() - 1).item()}
        return (before, after), (expected, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        value = as_float64(out)
        if value is None or value.numel() != 1:
            return f"return one number, got {type(out).__name__}"
        value = value.item()
        if abs(value - expected) <= 1e-6 * max(1.0, abs(expected)):
            return None
        for hint, alternative in wrong.items():
            if abs(value - alternative) <= 1e-6 * max(1.0, abs(alternative)):
                return hint
        return f"expected {expected:.6g}, got {value:.6g}"

    return run_cases("how far the weights moved", relative_change, 8, make_case, judge,
                     "matches ‖θ_after − θ_before‖ / ‖θ_before‖ on {cases} fresh pairs of modules")
