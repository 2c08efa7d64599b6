"""Checkers for the exercises of Part 2.1 (fusion)."""
from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import Tensor

from mmcourse._checks import check_number
from mmcourse.exercises._check import CheckResult, run_cases
from mmcourse.representation.fusion import LowRankFusion, MIMatrixFusion, TensorFusion

__all__ = ["check_tensor_fusion", "check_low_rank_factors", "check_mi_matrix", "check_fusion_predictions"]


def _fresh_case(generator: torch.Generator) -> tuple[int, int, int, int, Tensor, Tensor]:
    """Random sizes (batch, d1, d2, o), each in 1..5, and random float64 features h1, h2 of those sizes."""
    batch, d1, d2, o = (int(v) for v in torch.randint(1, 6, (4,), generator=generator))
    h1 = torch.randn(batch, d1, generator=generator, dtype=torch.float64)
    h2 = torch.randn(batch, d2, generator=generator, dtype=torch.float64)
    return batch, d1, d2, o, h1, h2


def _compare(expected: Tensor, output, alternatives: Mapping[str, Tensor] | None = None) -> str | None:
    if not isinstance(output, Tensor):
        return f"return a torch.Tensor, got {type(output).__name__}"
    if output.shape != expected.shape:
        return f"the result must have shape {tuple(expected.shape)}, got {tuple(output.shape)}"
    if torch.allclose(output.double(), expected, atol=1e-5, rtol=1e-4):
        return None
    for hint, wrong in (alternatives or {}).items():
        if wrong.shape == expected.shape and torch.allclose(output.double(), wrong, atol=1e-5, rtol=1e-4):
            return hint
    return f"values differ from the expected ones by up to {(output.double() - expected).abs().max():.3g}"


def check_tensor_fusion(tensor_fusion: Callable) -> CheckResult:
    """Exercise: ``tensor_fusion(h1, h2, weight, bias)`` returns ``W vec([1; h₁] ⊗ [1; h₂]) + b``.

    ``h1`` is ``(batch, d1)``, ``h2`` is ``(batch, d2)``, ``weight`` is ``(o, (d1 + 1)(d2 + 1))``, ``bias`` is
    ``(o,)``; the vectorisation is row-major (the index of ``[1; h₁]`` varies slowest), as in
    :class:`~mmcourse.representation.TensorFusion`.
    """
    def make_case(g):
        batch, d1, d2, o, h1, h2 = _fresh_case(g)
        reference = TensorFusion((d1, d2), o).double()
        weight, bias = reference.linear.weight.detach(), reference.linear.bias.detach()
        expected = reference(h1, h2).detach()
        one1, one2 = torch.cat([torch.ones(batch, 1, dtype=h1.dtype), h1], 1), torch.cat(
            [torch.ones(batch, 1, dtype=h2.dtype), h2], 1)
        swapped = torch.einsum("bj,bi->bji", one2, one1).reshape(batch, -1) @ weight.T + bias
        return (h1, h2, weight, bias), (expected, {
            "the order of the outer product is swapped: vec([1; h₁] ⊗ [1; h₂]) lets the index of h₁ vary slowest":
                swapped,
        })

    return run_cases("tensor fusion", tensor_fusion, 8, make_case, lambda ctx, out: _compare(ctx[0], out, ctx[1]),
                     "matches TensorFusion on {cases} fresh cases")


def check_low_rank_factors(low_rank_factors: Callable) -> CheckResult:
    """Exercise: ``low_rank_factors(weight)`` turns a tensor-fusion weight ``(o, d1 + 1, d2 + 1)`` into low-rank
    factors ``(f1, f2)`` of shapes ``(R, d1 + 1, o)`` and ``(R, d2 + 1, o)`` with ``R = min(d1, d2) + 1``, such that
    :class:`~mmcourse.representation.LowRankFusion` with these factors computes the same ``z`` as the tensor fusion.
    """
    def make_case(g):
        batch, d1, d2, o, h1, h2 = _fresh_case(g)
        weight = torch.randn(o, d1 + 1, d2 + 1, generator=g, dtype=torch.float64)
        return (weight,), (weight, h1, h2)

    def judge(ctx, out):
        weight, h1, h2 = ctx
        o, p, q = weight.shape
        if not (isinstance(out, (tuple, list)) and len(out) == 2 and all(isinstance(f, Tensor) for f in out)):
            return "return a pair of tensors (f1, f2)"
        f1, f2 = out
        rank = min(p, q)
        if f1.shape != (rank, p, o) or f2.shape != (rank, q, o):
            return (f"expected factors of shapes {(rank, p, o)} and {(rank, q, o)}, got {tuple(f1.shape)} and "
                    f"{tuple(f2.shape)}")
        low_rank = LowRankFusion((p - 1, q - 1), o, rank=rank).double()
        tensor = TensorFusion((p - 1, q - 1), o).double()
        with torch.no_grad():
            low_rank.factors[0].copy_(f1)
            low_rank.factors[1].copy_(f2)
            low_rank.bias.zero_()
            tensor.linear.weight.copy_(weight.reshape(o, -1))
            tensor.linear.bias.zero_()
            hint = _compare(tensor(h1, h2), low_rank(h1, h2))
        return None if hint is None else ("the low-rank fusion does not reproduce the tensor fusion: " + hint +
                                          " (hint: take the SVD of each output's (d1+1)×(d2+1) slice)")

    return run_cases("low-rank = tensor at full rank", low_rank_factors, 6, make_case, judge,
                     "low-rank fusion with your factors equals tensor fusion on {cases} fresh cases")


def check_mi_matrix(mi_matrix: Callable) -> CheckResult:
    """Exercise: ``mi_matrix(h1, h2, A, A0, B, b0)`` returns ``W(h₁) h₂ + b(h₁)`` with
    ``W(h₁) = reshape(A h₁ + A₀)`` of shape ``(o, d2)`` and ``b(h₁) = B h₁ + b₀``.

    Shapes: ``A`` is ``(o·d2, d1)``, ``A0`` is ``(o·d2,)``, ``B`` is ``(o, d1)``, ``b0`` is ``(o,)``; the reshape
    is row-major, as in :class:`~mmcourse.representation.MIMatrixFusion`.
    """
    def make_case(g):
        batch, d1, d2, o, h1, h2 = _fresh_case(g)
        reference = MIMatrixFusion((d1, d2), o).double()
        A, A0 = reference.weight_generator.weight.detach(), reference.weight_generator.bias.detach()
        B, b0 = reference.bias_generator.weight.detach(), reference.bias_generator.bias.detach()
        transposed = torch.einsum("bji,bj->bi", (h1 @ A.T + A0).reshape(batch, d2, o), h2) + h1 @ B.T + b0
        return (h1, h2, A, A0, B, b0), (reference(h1, h2).detach(), {
            "W(h₁) is reshaped to (d2, o) instead of (o, d2): reshape(A h₁ + A₀) has o rows": transposed,
            "the additive term b(h₁) = B h₁ + b₀ is missing": reference(h1, h2).detach() - (h1 @ B.T + b0),
        })

    return run_cases("multiplicative interactions (matrix)", mi_matrix, 8, make_case,
                     lambda ctx, out: _compare(ctx[0], out, ctx[1]), "matches MIMatrixFusion on {cases} fresh cases")


def check_fusion_predictions(predictions: Mapping[str, bool], accuracy: Mapping[str, float],
                             threshold: float = 0.9) -> CheckResult:
    """Exercise: predict, for each fusion, whether it solves the synergy data (test accuracy ≥ ``threshold``).

    ``predictions`` maps fusion names to ``True``/``False``; ``accuracy`` maps the same names to the measured test
    accuracy (a column of :meth:`~mmcourse.widgets.FusionExplorer.accuracy_table`).

    Examples
    --------
    >>> check_fusion_predictions({"late": False, "tensor": True}, {"late": 0.52, "tensor": 0.97})
    PASS which fusions solve synergy: all 2 predictions agree with the measurements
    """
    exercise = "which fusions solve synergy"
    if not hasattr(accuracy, "items"):
        raise TypeError(f"check_fusion_predictions: accuracy must map fusion names to test accuracies (a dict or a "
                        f"column of the accuracy table), got {type(accuracy).__name__}")
    accuracy = {name: check_number("check_fusion_predictions", f"accuracy[{name!r}]", value, low=0, high=1)
                for name, value in accuracy.items()}  # a dict or a pandas Series (a column of the accuracy table)
    check_number("check_fusion_predictions", "threshold", threshold, low=0, high=1)
    if predictions is NotImplemented:   # the student version's stub
        return CheckResult(exercise, False, "not attempted yet (predictions is still NotImplemented)")
    if not isinstance(predictions, Mapping) or not predictions:
        return CheckResult(exercise, False, "give a dict {fusion name: True or False}")
    unknown = sorted(set(predictions) - set(accuracy))
    if unknown:
        return CheckResult(exercise, False, f"no measurement for {unknown}; measured: {', '.join(accuracy)}")
    wrong = [f"{name} ({'solves' if accuracy[name] >= threshold else 'fails'}: {accuracy[name]:.2f})"
             for name, guess in predictions.items() if bool(guess) != (accuracy[name] >= threshold)]
    if wrong:
        return CheckResult(exercise, False, f"{len(wrong)} of {len(predictions)} predictions differ from the "
                           f"measurements: {', '.join(wrong)}. Hint: can the fused vector hold a product of a "
                           f"function of h₁ and a function of h₂?")
    return CheckResult(exercise, True, f"all {len(predictions)} predictions agree with the measurements")
