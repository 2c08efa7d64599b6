"""The checkers of the segmentation exercises pass correct solutions, catch the usual mistakes with a useful hint,
and leave torch's RNG alone."""
import numpy as np
import torch
from scipy.special import logsumexp

from mmcourse.exercises import check_best_path_score, check_boundary_f1, check_edit_distance


def distance(a, b):
    D = np.zeros((len(a) + 1, len(b) + 1), dtype=int)
    D[:, 0], D[0, :] = np.arange(len(a) + 1), np.arange(len(b) + 1)
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            D[i, j] = min(D[i - 1, j] + 1, D[i, j - 1] + 1, D[i - 1, j - 1] + (a[i - 1] != b[j - 1]))
    return D[-1, -1]


def indel_distance(a, b):   # substitutions cost 2 (a deletion and an insertion)
    D = np.zeros((len(a) + 1, len(b) + 1), dtype=int)
    D[:, 0], D[0, :] = np.arange(len(a) + 1), np.arange(len(b) + 1)
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            D[i, j] = min(D[i - 1, j] + 1, D[i, j - 1] + 1, D[i - 1, j - 1] + 2 * (a[i - 1] != b[j - 1]))
    return D[-1, -1]


def best_path_score(log_probs, target, combine=np.max, equal_skips=False):
    ext = [0] * (2 * len(target) + 1)
    ext[1::2] = target
    S = len(ext)
    delta = np.full(S, -np.inf)
    delta[:min(2, S)] = log_probs[0, ext[:min(2, S)]]
    for t in range(1, len(log_probs)):
        options = np.full((3, S), -np.inf)
        options[0] = delta
        options[1, 1:] = delta[:-1]
        for s in range(2, S):
            if ext[s] != 0 and (equal_skips or ext[s] != ext[s - 2]):
                options[2, s] = delta[s - 2]
        with np.errstate(divide="ignore"):
            delta = log_probs[t, ext] + combine(options, axis=0)
    return float(combine(delta[-2:]) if S > 1 else delta[-1])


def f1(predicted, true, tolerance):
    hits, i, j = 0, 0, 0
    while i < len(predicted) and j < len(true):
        if abs(predicted[i] - true[j]) <= tolerance:
            hits, i, j = hits + 1, i + 1, j + 1
        elif predicted[i] < true[j]:
            i += 1
        else:
            j += 1
    p = hits / len(predicted) if predicted else 1.0
    r = hits / len(true) if true else 1.0
    return 2 * p * r / (p + r) if p + r else 0.0


def loose_f1(predicted, true, tolerance):
    p = np.mean([any(abs(a - b) <= tolerance for b in true) for a in predicted]) if predicted else 1.0
    r = np.mean([any(abs(a - b) <= tolerance for a in predicted) for b in true]) if true else 1.0
    return 2 * p * r / (p + r) if p + r else 0.0


def test_correct_solutions_pass():
    assert check_edit_distance(distance).passed
    assert check_best_path_score(best_path_score).passed
    assert check_boundary_f1(f1).passed


def test_edit_distance_mistakes_get_hints():
    result = check_edit_distance(indel_distance)
    assert not result.passed and "substitution costs 1" in result.message
    assert "D[i, 0] = i" in check_edit_distance(lambda a, b: abs(len(a) - len(b))).message


def test_best_path_mistakes_get_hints():
    summed = check_best_path_score(lambda lp, t: best_path_score(lp, t, combine=logsumexp))
    assert not summed.passed and "replace the log-sum-exp by a maximum" in summed.message
    free = check_best_path_score(lambda lp, t: float(lp.max(axis=1).sum()))
    assert not free.passed and "constrain it to the target" in free.message
    skips = check_best_path_score(lambda lp, t: best_path_score(lp, t, equal_skips=True))
    assert not skips.passed and "differs from the label two places back" in skips.message


def test_boundary_f1_mistakes_get_hints():
    loose = check_boundary_f1(loose_f1)
    assert not loose.passed and "matched only once" in loose.message
    assert not check_boundary_f1(lambda p, t, tol: 1.0).passed


def test_not_attempted_bad_output_and_rng_untouched():
    def stub(*args):
        raise NotImplementedError

    assert "not attempted" in check_edit_distance(stub).message
    assert "return a number" in check_best_path_score(lambda lp, t: "x").message
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    check_boundary_f1(f1)
    assert torch.equal(torch.rand(1), expected)
