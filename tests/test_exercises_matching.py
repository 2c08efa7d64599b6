"""The checkers of Part 3.1's matching exercises pass correct solutions, catch the usual mistakes with a useful hint,
and leave torch's random generator alone."""
import itertools

import numpy as np
from scipy.optimize import linear_sum_assignment

from mmcourse.exercises import check_best_matching, check_scene_answer, check_scene_score


def scene_score(v, w):
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    w = w / np.linalg.norm(w, axis=1, keepdims=True)
    return (w @ v.T).max(axis=1).mean()


def best_matching(S):
    n = len(S)
    return list(max(itertools.permutations(range(n)), key=lambda p: S[np.arange(n), list(p)].sum()))


def answer(colours, shapes, question):
    w = question.split()
    if w[:2] == ["how", "many"]:
        return str(colours.count(w[2]) if w[3] == "objects" else shapes.count(w[2][:-1]))
    if w[1] == "colour":
        return colours[shapes.index(w[4])]
    if w[1] == "shape":
        return shapes[colours.index(w[4])]
    return "yes" if (w[3], w[4]) in zip(colours, shapes) else "no"


def test_correct_solutions_pass():
    assert check_scene_score(scene_score).passed
    assert check_best_matching(best_matching).passed
    assert check_best_matching(lambda S: linear_sum_assignment(S, maximize=True)[1]).passed
    assert check_scene_answer(answer).passed
    assert repr(check_scene_score(scene_score)).startswith("PASS")


def test_scene_score_mistakes_get_hints():
    def normalise(x):
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    cases = {
        "not the other way round": lambda v, w: (normalise(w) @ normalise(v).T).max(axis=0).mean(),
        "average over the phrases": lambda v, w: (normalise(w) @ normalise(v).T).max(axis=1).sum(),
        "use cosines": lambda v, w: (w @ v.T).max(axis=1).mean(),
        "not the mean over all regions": lambda v, w: (normalise(w) @ normalise(v).T).mean(),
        "return a number": lambda v, w: "high",
    }
    for hint, wrong in cases.items():
        result = check_scene_score(wrong)
        assert not result.passed and hint in result.message, (hint, result)


def test_best_matching_mistakes_get_hints():
    result = check_best_matching(lambda S: S.argmax(axis=1))
    assert not result.passed and "one-to-one" in result.message
    result = check_best_matching(lambda S: linear_sum_assignment(S)[1])          # minimises
    assert not result.passed and "smallest" in result.message
    result = check_best_matching(lambda S: list(range(len(S))))                  # the identity, not the best
    assert not result.passed and "below the best" in result.message
    assert "one region index" in check_best_matching(lambda S: [0]).message


def test_scene_answer_mistakes_get_hints():
    def no_plurals(colours, shapes, question):
        w = question.split()
        if w[:2] == ["how", "many"] and w[3] != "objects":
            return str(shapes.count(w[2]))                                        # "circles" is not a shape
        return answer(colours, shapes, question)

    result = check_scene_answer(no_plurals)
    assert not result.passed and "plural" in result.message
    result = check_scene_answer(lambda c, s, q: "yes")
    assert not result.passed and "expected" in result.message
