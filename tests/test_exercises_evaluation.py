"""The checkers of Part 5.4's exercises pass correct solutions, catch the usual mistakes with a useful hint, say
"not attempted" for a stub, and leave torch's random generator alone."""
import numpy as np
import torch

from mmcourse.exercises import check_alignment_score, check_foil_accuracy, check_label_entropy, check_nearest_distance


def alignment(zi, zt, w=2.5):
    return w * torch.nn.functional.cosine_similarity(zi, zt, dim=1).clamp(min=0)


def accuracy(true, foils):
    return (true > foils.max(dim=1).values).float().mean().item()


def nearest(samples, train):
    return torch.cdist(samples, train).min(dim=1).values


def entropy(labels):
    p = np.bincount(np.asarray(labels)) / len(labels)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def stub(*args):
    raise NotImplementedError


def test_correct_solutions_pass():
    assert check_alignment_score(alignment).passed
    assert check_alignment_score(lambda a, b: alignment(a, b).numpy()).passed  # a NumPy array is fine too
    assert check_foil_accuracy(accuracy).passed
    assert check_nearest_distance(nearest).passed
    assert check_label_entropy(entropy).passed
    assert repr(check_foil_accuracy(accuracy)).startswith("PASS")


def test_stubs_are_not_attempted():
    for check in (check_alignment_score, check_foil_accuracy, check_nearest_distance, check_label_entropy):
        result = check(stub)
        assert not result.passed and "not attempted" in result.message


def test_alignment_mistakes_get_hints():
    def normalise(z):
        return z / z.norm(dim=1, keepdim=True)

    cases = {
        "clip the cosine": lambda a, b: 2.5 * torch.nn.functional.cosine_similarity(a, b, dim=1),
        "not the dot product": lambda a, b: 2.5 * (a * b).sum(1).clamp(min=0),
        "multiply by w": lambda a, b: torch.nn.functional.cosine_similarity(a, b, dim=1).clamp(min=0),
        "the diagonal": lambda a, b: 2.5 * (normalise(a) @ normalise(b).T).clamp(min=0),
        "torch.Tensor": lambda a, b: "high",
    }
    for hint, wrong in cases.items():
        result = check_alignment_score(wrong)
        assert not result.passed and hint in result.message, (hint, result)


def test_foil_accuracy_mistakes_get_hints():
    cases = {
        "strictly above": lambda t, f: (t >= f.max(1).values).float().mean(),
        "count images": lambda t, f: (t[:, None] > f).float().mean(),
        "the best foil": lambda t, f: (t > f.min(1).values).float().mean(),
        "one number": lambda t, f: (t > f.max(1).values),
        "expected": lambda t, f: 0.5,
    }
    for hint, wrong in cases.items():
        result = check_foil_accuracy(wrong)
        assert not result.passed and hint in result.message, (hint, result)


def test_nearest_distance_mistakes_get_hints():
    cases = {
        "not its square": lambda s, t: torch.cdist(s, t).min(1).values ** 2,
        "not the farthest": lambda s, t: torch.cdist(s, t).max(1).values,
        "not the mean": lambda s, t: torch.cdist(s, t).mean(1),
        "shape": lambda s, t: torch.cdist(s, t),
    }
    for hint, wrong in cases.items():
        result = check_nearest_distance(wrong)
        assert not result.passed and hint in result.message, (hint, result)


def test_label_entropy_mistakes_get_hints():
    def nats(labels):
        p = np.bincount(np.asarray(labels)) / len(labels)
        p = p[p > 0]
        return float(-(p * np.log(p)).sum())

    cases = {"log2": nats, "distinct labels": lambda y: len(set(y.tolist())), "one number": lambda y: "many"}
    for hint, wrong in cases.items():
        result = check_label_entropy(wrong)
        assert not result.passed and hint in result.message, (hint, result)


def test_checkers_leave_the_global_generator_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    check_alignment_score(alignment)
    check_nearest_distance(nearest)
    assert torch.equal(torch.rand(3), expected)
