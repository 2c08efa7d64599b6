"""Checkers for the exercises of Part 4.1, hierarchical structure: the logic modules on attention maps, the count
module's logits, the FiLM layer, and a program executed on a stack of maps."""
from __future__ import annotations

from collections.abc import Callable

import torch

from mmcourse.exercises._check import CheckResult, as_float64, compare, run_cases

__all__ = ["check_logic_modules", "check_count_logits", "check_film_layer", "check_stack_program"]


def check_logic_modules(logic: Callable) -> CheckResult:
    """Exercise: ``logic(a, b, objects)`` returns the three maps ``(and, or, not_a)`` of two attention maps
    ``a, b`` ``(batch, 9)`` and the objectness map ``objects``: ``a ⊙ b``, ``a + b − a ⊙ b`` and
    ``objects ⊙ (1 − a)``."""
    def make_case(g):
        n = int(torch.randint(1, 5, (1,), generator=g))
        a, b, o = (torch.rand(n, 9, generator=g, dtype=torch.float64) for _ in range(3))
        return (a.clone(), b.clone(), o.clone()), (a, b, o)

    def judge(ctx, out):
        a, b, o = ctx
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            return f"return a tuple of three maps (and, or, not_a), got {type(out).__name__}"
        checks = (("and", a * b, {"use the product a ⊙ b (min is another t-norm, but the network uses the "
                                  "product)": torch.minimum(a, b)}),
                  ("or", a + b - a * b, {"a + b can exceed 1: subtract a ⊙ b (the probabilistic sum)": a + b,
                                         "use the probabilistic sum a + b − a ⊙ b, not the max":
                                             torch.maximum(a, b)}),
                  ("not", o * (1 - a), {"mask the complement with the objectness map: an empty cell is in no "
                                        "set": 1 - a}))
        for (name, expected, wrong), got in zip(checks, out):
            hint = compare(expected, got, wrong, atol=1e-6, rtol=1e-6)
            if hint is not None:
                return f"{name}: {hint}"
        return None

    return run_cases("the logic modules", logic, 10, make_case, judge,
                     "and, or and not agree with mmcourse.reasoning's modules on {cases} fresh cases")


def check_count_logits(count_logits: Callable) -> CheckResult:
    """Exercise: ``count_logits(a, width)`` returns the logits ``−(s − k)² / width`` of the digits ``k = 0..9``,
    ``(batch, 10)``, with ``s = Σ_c a_c`` the size of the set an attention map ``a`` ``(batch, 9)`` holds."""
    def make_case(g):
        n = int(torch.randint(1, 5, (1,), generator=g))
        a = torch.rand(n, 9, generator=g, dtype=torch.float64) ** 2
        width = float(0.2 + torch.rand(1, generator=g))
        k = torch.arange(10, dtype=torch.float64)
        s = a.sum(1, keepdim=True)
        wrong = {"divide the squared distance by the width": -(s - k) ** 2,
                 "square the distance (s − k)²": -(s - k).abs() / width,
                 "the logit is minus the squared distance: the nearest digit must score highest": (s - k) ** 2 / width,
                 "s is the sum of the map (a soft count), not its maximum": -(a.amax(1, keepdim=True) - k) ** 2 / width}
        return (a.clone(), width), (-(s - k) ** 2 / width, wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return compare(expected, out, wrong, atol=1e-6, rtol=1e-6)

    return run_cases("the count module", count_logits, 10, make_case, judge,
                     "matches −(Σa − k)² / w on {cases} fresh cases")


def check_film_layer(film_layer: Callable) -> CheckResult:
    """Exercise: ``film_layer(F, gamma, beta)`` returns ``γ ⊙ F + β`` for features ``F`` ``(batch, cells,
    channels)`` and one ``gamma``, ``beta`` ``(batch, channels)`` per example, the same at every cell."""
    def make_case(g):
        b, c, k = (int(v) for v in torch.randint(2, 6, (3,), generator=g))
        F = torch.randn(b, c, k, generator=g, dtype=torch.float64)
        gamma, beta = (torch.randn(b, k, generator=g, dtype=torch.float64) for _ in range(2))
        wrong = {"γ scales and β shifts: γ ⊙ F + β, not β ⊙ F + γ": beta[:, None] * F + gamma[:, None],
                 "shift after scaling: γ ⊙ F + β, not γ ⊙ (F + β)": gamma[:, None] * (F + beta[:, None]),
                 "each example has its own γ and β (do not use the first example's for all)":
                     gamma[:1, None] * F + beta[:1, None]}
        return (F.clone(), gamma.clone(), beta.clone()), (gamma[:, None] * F + beta[:, None], wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        return compare(expected, out, wrong, atol=1e-9, rtol=1e-9)

    return run_cases("the FiLM layer", film_layer, 10, make_case, judge,
                     "γ ⊙ F + β, broadcast over the cells, on {cases} fresh cases")


def _random_program(g) -> list:
    def pick(options):
        return options[int(torch.randint(len(options), (1,), generator=g))]

    def set_expr(depth):
        filters = int(torch.randint(1, 3, (1,), generator=g))
        steps = [("scene", None)] + [("filter", pick("abcd")) for _ in range(filters)]
        if pick([0, 1]):
            steps.append(("not", None))
        if depth and pick([0, 1]):
            steps += set_expr(depth - 1) + [(pick(["and", "or"]), None)]
        return steps

    program = set_expr(1)
    if pick([0, 1]):
        return program + [("count", None)]
    program.append(("exists", None))
    if pick([0, 1]):
        program += set_expr(0) + [("exists", None), (pick(["and", "or"]), None)]
    return program + ([("not", None)] if pick([0, 1]) else [])


def _execute(program, find, objects, mask_not=True):
    stack = []
    for op, arg in program:
        if op == "scene":
            stack.append(objects.clone())
        elif op == "filter":
            stack.append(stack.pop() * find[arg])
        elif op in ("and", "or"):
            b, a = stack.pop(), stack.pop()
            stack.append(a * b if op == "and" else a + b - a * b)
        elif op == "not":
            a = stack.pop()
            stack.append((objects if mask_not and a.dim() else 1) * (1 - a))
        elif op == "count":
            stack.append(stack.pop().sum())
        else:
            stack.append((stack.pop().sum() > 0).double())
    value = stack.pop()
    return int(value) if program[-1][0] == "count" else bool(value > 0.5)


def check_stack_program(run_program: Callable) -> CheckResult:
    """Exercise: ``run_program(program, find, objects)`` executes a postfix program on a stack of binary maps.

    ``program`` lists ``(operation, argument)`` steps among ``scene``, ``filter`` (argument: a key of ``find``),
    ``and``, ``or``, ``not`` (a set or a yes/no), ``count`` and ``exists``; ``find`` maps each argument to a 0/1
    tensor over the nine cells; ``objects`` is the 0/1 objectness map. Return an ``int`` for a count, a ``bool``
    for a yes/no.
    """
    def make_case(g):
        objects = (torch.rand(9, generator=g) < 0.6).double()
        find = {x: (torch.rand(9, generator=g) < 0.5).double() for x in "abcd"}
        program = _random_program(g)
        return (list(program), {k: v.clone() for k, v in find.items()}, objects.clone()), \
            (program, _execute(program, find, objects), _execute(program, find, objects, mask_not=False))

    def judge(ctx, out):
        program, expected, unmasked = ctx
        got = as_float64(out) if not isinstance(out, bool) else out
        if got is None:
            return f"return an int or a bool, got {type(out).__name__}"
        got = bool(got) if isinstance(expected, bool) else float(got)
        if got == expected:
            return None
        text = " → ".join(op if a is None else f"{op}[{a}]" for op, a in program)
        if got == unmasked:
            return f"{text}: a set's `not` keeps only the scene's objects (multiply by objects)"
        return f"{text}: expected {expected}, got {out}"

    return run_cases("a program on a stack", run_program, 20, make_case, judge,
                     "executes {cases} fresh random programs right")
