"""The checkers of Part 4.4's exercises pass correct solutions, catch the usual mistakes with a useful hint, say
"not attempted" for a stub, and leave torch's random generator alone."""
import numpy as np
import torch

from mmcourse.exercises import check_depends_on, check_recall_at_1, check_topk_retrieval


def topk_retrieve(q, K, V, k):
    s = K @ q
    top = torch.topk(s, k)
    return torch.softmax(top.values, 0) @ V[top.indices]


def recall_at_1(scores, gold):
    return float(np.mean(np.argmax(scores, axis=1) == gold))


def depends_on(program, objects, subject):
    steps = [step.partition("[") for step in program]
    selected = list(objects)
    for op, _, arg in steps:
        arg = arg[:-1]
        if op in ("filter_colour", "filter_shape"):
            selected = [o for o in selected if o[op.split("_")[1]] == arg]
        if op == "filter_fact":
            key = "colour" if arg in ("hot", "cold") else "shape"
            return any(o[key] == subject for o in selected)
    return False


def stub(*args):
    raise NotImplementedError


def test_correct_solutions_pass():
    state = torch.random.get_rng_state()
    assert check_topk_retrieval(topk_retrieve).passed
    assert check_recall_at_1(recall_at_1).passed
    assert check_recall_at_1(lambda s, g: torch.tensor(recall_at_1(s, g))).passed
    assert check_depends_on(depends_on).passed
    assert repr(check_depends_on(depends_on)).startswith("PASS")
    assert torch.equal(state, torch.random.get_rng_state())


def test_stubs_are_not_attempted():
    for check in (check_topk_retrieval, check_recall_at_1, check_depends_on):
        result = check(stub)
        assert not result.passed and "not attempted" in result.message


def test_topk_retrieval_mistakes_get_hints():
    def smallest(s, V, k):
        low = torch.topk(s, k, largest=False)
        return torch.softmax(low.values, 0) @ V[low.indices]

    cases = {
        "the other keys get weight 0": lambda q, K, V, k: torch.softmax(K @ q, 0) @ V,
        "not only the best one": lambda q, K, V, k: V[torch.argmax(K @ q)],
        "not by the raw scores": lambda q, K, V, k: torch.topk(K @ q, k).values @ V[torch.topk(K @ q, k).indices],
        "not equally": lambda q, K, V, k: V[torch.topk(K @ q, k).indices].mean(0),
        "*largest* scores": lambda q, K, V, k: smallest(K @ q, V, k),
        "return a torch.Tensor": lambda q, K, V, k: "r",
    }
    for hint, wrong in cases.items():
        result = check_topk_retrieval(wrong)
        assert not result.passed and hint in result.message, (hint, result)


def test_recall_mistakes_get_hints():
    cases = {
        "*largest* score": lambda s, g: float(np.mean(np.argmin(s, axis=1) == g)),
        "not their number": lambda s, g: float(np.sum(np.argmax(s, axis=1) == g)),
        "not a percentage": lambda s, g: 100 * recall_at_1(s, g),
        "return one number": lambda s, g: np.argmax(s, axis=1) == g,
    }
    for hint, wrong in cases.items():
        result = check_recall_at_1(wrong)
        assert not result.passed and hint in result.message, (hint, result)


def test_depends_on_mistakes_get_hints():
    def any_kind(program, objects, subject):
        selected = [o for o in objects if all(f"filter_{k}[{o[k]}]" in program for k in ("colour", "shape")
                                              if any(s.startswith(f"filter_{k}") for s in program))]
        return any(subject in (o["colour"], o["shape"]) for o in selected)

    def whole_scene(program, objects, subject):
        prop = program[-2][len("filter_fact["):-1]
        key = "colour" if prop in ("hot", "cold") else "shape"
        return any(o[key] == subject for o in objects)

    for hint, wrong in (("colours only", any_kind), ("not every object of the scene", whole_scene),
                        ("return True or False", lambda p, o, s: "yes")):
        result = check_depends_on(wrong)
        assert not result.passed and hint in result.message, (hint, result)
    assert not check_depends_on(lambda p, o, s: False).passed
