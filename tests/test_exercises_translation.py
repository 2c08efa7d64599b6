"""The checkers of Part 5.2's translation exercises pass correct solutions, catch the usual mistakes with a useful
hint, say "not attempted" for a stub, and leave torch's random generator alone."""
import torch

from mmcourse.exercises import check_greedy_decode, check_nearest_translation, check_phrase_f1


def greedy_decode(step, h, length, *, feed_back=True, pad=True):
    word = torch.zeros(len(h), dtype=torch.long)
    words = []
    for _ in range(length):
        logits, h = step(word if feed_back else torch.zeros_like(word), h)
        word = logits.argmax(-1)
        words.append(word)
    words = torch.stack(words, dim=1)
    if pad:
        ended = torch.cumsum(words == 0, dim=1) > 0
        words[ended] = 0
    return words


def nearest_translation(S, train_targets):
    return train_targets[S.argmax(dim=1)]


def phrase_f1(predicted, reference):
    hits = sum(len(p & r) for p, r in zip(predicted, reference))
    n_pred, n_ref = sum(map(len, predicted)), sum(map(len, reference))
    precision, recall = hits / max(n_pred, 1), hits / max(n_ref, 1)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def stub(*args):
    raise NotImplementedError


def test_correct_solutions_pass():
    for check, solution in ((check_greedy_decode, greedy_decode), (check_nearest_translation, nearest_translation),
                            (check_phrase_f1, phrase_f1)):
        result = check(solution)
        assert result.passed, result
        assert repr(result).startswith("PASS")


def test_stubs_are_not_attempted():
    for check in (check_greedy_decode, check_nearest_translation, check_phrase_f1):
        result = check(stub)
        assert not result.passed and "not attempted" in result.message


def test_greedy_decode_mistakes_get_hints():
    result = check_greedy_decode(lambda s, h, n: greedy_decode(s, h, n, feed_back=False))
    assert not result.passed and "feed back" in result.message
    result = check_greedy_decode(lambda s, h, n: greedy_decode(s, h, n, pad=False))
    assert not result.passed and "every later word must be 0" in result.message
    result = check_greedy_decode(lambda s, h, n: torch.cat([torch.zeros(len(h), 1, dtype=torch.long),
                                                            greedy_decode(s, h, n)], dim=1))
    assert not result.passed and "shape" in result.message


def test_nearest_translation_mistakes_get_hints():
    result = check_nearest_translation(lambda S, t: t[S.argmin(dim=1)])
    assert not result.passed and "arg max" in result.message
    result = check_nearest_translation(lambda S, t: S.argmax(dim=1))
    assert not result.passed and "not the indices" in result.message
    result = check_nearest_translation(lambda S, t: t[S.argmax(dim=0)])
    assert not result.passed and "dim=1" in result.message


def test_phrase_f1_mistakes_get_hints():
    def macro(predicted, reference):
        return sum(phrase_f1([p], [r]) for p, r in zip(predicted, reference)) / len(reference)

    def precision(predicted, reference):
        return sum(len(p & r) for p, r in zip(predicted, reference)) / sum(map(len, predicted))

    for wrong, hint in ((macro, "micro"), (precision, "precision alone"),
                        (lambda p, r: sum(a == b for a, b in zip(p, r)) / len(r), "exact match")):
        result = check_phrase_f1(wrong)
        assert not result.passed and hint in result.message, result


def test_checkers_leave_the_global_generator_alone():
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    check_greedy_decode(greedy_decode)
    check_nearest_translation(nearest_translation)
    assert torch.equal(torch.rand(3), expected)
