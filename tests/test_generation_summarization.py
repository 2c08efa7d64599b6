"""Tests of Part 5.1, summarization: units, coverage, greedy and exact maximum coverage, the abstractive model."""
import itertools
import math

import pytest
import torch

from mmcourse import set_seed
from mmcourse.data import decode_words, encode_words
from mmcourse.generation import (UNITS, AbstractiveSummarizer, best_max_coverage, coverage, fit_abstractive,
                                 greedy_max_coverage, object_units, perceived_units, salience, selection_units,
                                 summary_target, text_units, unit_names)


def test_unit_names_and_object_units():
    assert unit_names()[:2] == ["red square", "red circle"] and len(unit_names()) == UNITS == 12
    u = object_units([[0, 3, -1], [1, 1, 1]], [[1, 2, -1], [0, 0, 0]])
    assert u.shape == (2, 12)
    assert u[0].nonzero().ravel().tolist() == [1, 11] and u[1].nonzero().ravel().tolist() == [3]
    with pytest.raises(ValueError, match="colour"):
        object_units([4], [0])
    with pytest.raises(ValueError, match="same shape|one shape"):
        object_units([0, 1], [0])
    with pytest.raises(ValueError, match="integers"):
        object_units([0.5], [0])


def test_text_units_parse_colour_shape_bigrams():
    words = encode_words("a yellow triangle and a red square and a red square", 15)
    assert text_units(words).nonzero().ravel().tolist() == [0, 11]
    assert text_units(encode_words("how many red objects ?")).sum() == 0  # a colour without a shape names nothing
    batch = torch.stack([torch.as_tensor(encode_words("a blue circle", 4)), torch.zeros(4, dtype=torch.int32)])
    assert text_units(batch).sum(1).tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="tokens"):
        text_units([99])


def test_salience_counts_frames():
    frames = torch.tensor([[1, 0] + [0] * 10, [1, 1] + [0] * 10, [0, 1] + [0] * 10]).float()
    assert salience(frames)[:3].tolist() == [2, 2, 0]
    with pytest.raises(ValueError, match="frame_units"):
        salience(torch.zeros(3, 5))


def test_coverage_by_hand():
    s, r, w = torch.tensor([1., 0, 0, 1]), torch.tensor([1., 1, 0, 1]), torch.tensor([3., 1, 5, 1])
    assert coverage(s, r).item() == pytest.approx(2 / 3)
    assert coverage(s, r, w).item() == pytest.approx(4 / 5)  # the unit outside the storyboard does not count
    assert coverage(r, r, w).item() == 1.0 and coverage(torch.zeros(4), r).item() == 0.0
    batch = coverage(torch.stack([s, r]), torch.stack([r, r]))
    assert batch.shape == (2,) and batch.tolist() == pytest.approx([2 / 3, 1.0])


@pytest.mark.parametrize("args, match", [((torch.ones(3), torch.ones(4)), "one shape"),
                                         ((torch.full((4,), 0.5), torch.ones(4)), "summary_units"),
                                         ((torch.ones(4), torch.ones(4), -torch.ones(4)), "weights"),
                                         ((torch.ones(4), torch.zeros(4)), "positive weight")])
def test_coverage_errors(args, match):
    with pytest.raises(ValueError, match=match):
        coverage(*args)


def _value(x, w, picks):
    return float((x[list(picks)].amax(0) * w).sum())


def test_greedy_and_best_on_a_known_case():
    # greedy takes the big frame 0 first, then any other frame adds one unit; frames 1 and 2 together cover all six
    x = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 1]]).float()
    assert greedy_max_coverage(x, 2).tolist() == [0, 1]  # tie between frames 1 and 2: the earliest
    assert best_max_coverage(x, 2).tolist() == [1, 2]
    assert _value(x, torch.ones(6), [0, 1]) == 5 and _value(x, torch.ones(6), [1, 2]) == 6
    w = torch.tensor([1., 1, 1, 1, 0, 0])  # only the first four units weigh: frame 0 alone is optimal
    assert greedy_max_coverage(x, 1, w).tolist() == [0] and best_max_coverage(x, 1, w).tolist() == [0]
    assert greedy_max_coverage(x[None], 2).tolist() == [[0, 1]]


def test_greedy_within_the_guarantee_of_the_optimum_on_random_cases():
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(200, 6, 12, generator=g) < 0.3).float()
    w = torch.rand(200, 12, generator=g)
    for k in (1, 2, 3):
        greedy, best = greedy_max_coverage(x, k, w), best_max_coverage(x, k, w)
        vg = (selection_units(x, greedy) * w).sum(1)
        vb = (selection_units(x, best) * w).sum(1)
        brute = torch.tensor([max(_value(x[b], w[b], c) for c in itertools.combinations(range(6), k))
                              for b in range(20)])
        assert torch.allclose(vb[:20], brute)
        assert (vg <= vb + 1e-6).all() and (vg >= (1 - (1 - 1 / k) ** k) * vb - 1e-6).all()
        assert 1 - (1 - 1 / k) ** k >= 1 - 1 / math.e
        if k == 1:
            assert torch.allclose(vg, vb)


def test_greedy_and_best_errors():
    with pytest.raises(ValueError, match="k must"):
        greedy_max_coverage(torch.ones(3, 4), 4)
    with pytest.raises(ValueError, match="frame_units"):
        best_max_coverage(torch.full((3, 4), 0.5), 1)
    with pytest.raises(ValueError, match="weights"):
        greedy_max_coverage(torch.ones(3, 4), 1, weights=torch.ones(5))


def test_selection_units():
    x = torch.tensor([[[1., 0, 0], [0, 1, 0], [0, 0, 1]]] * 2)
    assert selection_units(x, torch.tensor([[0, 2], [1, 1]])).tolist() == [[1, 0, 1], [0, 1, 0]]
    with pytest.raises(ValueError, match="picks"):
        selection_units(x, torch.tensor([[0, 3], [0, 1]]))


def test_perceived_units_with_a_perfect_perception():
    def perception(images):  # calls every cell a red circle (kind 1) except cell 0, empty
        probs = torch.zeros(len(images), 9, 13)
        probs[:, :, 1] = 1
        probs[:, 0, 1], probs[:, 0, 12] = 0, 1
        return probs
    out = perceived_units(perception, torch.zeros(2, 3, 30, 30, 3))
    assert out.shape == (2, 3, 12) and out.sum().item() == 6 and (out[..., 1] == 1).all()
    with pytest.raises(ValueError, match="images"):
        perceived_units(perception, torch.zeros(2, 30, 30))


def test_summary_target():
    sal = torch.zeros(2, 12)
    sal[0, [11, 1, 6, 3]] = torch.tensor([2., 5, 2, 1])
    sal[1, 4] = 1
    words = summary_target(sal, length=3)
    assert words.shape == (2, 12)
    assert decode_words(words[0]) == "a red circle and a blue square and a yellow triangle"  # ties: lower unit
    assert decode_words(words[1]) == "a green circle"
    assert torch.equal(text_units(words[0]), (torch.arange(12)[:, None] == torch.tensor([1, 6, 11])).any(1).float())
    with pytest.raises(ValueError, match="salience"):
        summary_target(torch.zeros(2, 5))


def test_abstractive_shapes_gradients_and_errors():
    set_seed(0)
    model = AbstractiveSummarizer(dim=8, length=2)
    units, captions = torch.rand(3, 4, 12).round(), torch.randint(0, 24, (3, 4, 7))
    target = summary_target(salience(units), 2)
    logits = model(units, captions, target)
    assert logits.shape == (3, 8, 24)
    logits.sum().backward()
    assert all(p.grad is not None for n, p in model.named_parameters())
    words = model.generate(units, captions)
    assert words.shape == (3, 8) and not words.is_floating_point()
    with pytest.raises(ValueError, match="image_units"):
        model(torch.rand(3, 12), captions, target)
    with pytest.raises(ValueError, match="captions"):
        model(units, captions[:2], target)
    with pytest.raises(ValueError, match="target"):
        model(units, captions, target[:1])
    with pytest.raises(ValueError, match="dim"):
        AbstractiveSummarizer(dim=0)


def test_abstractive_learns_a_tiny_task():
    set_seed(0)
    g = torch.Generator().manual_seed(1)
    units = (torch.rand(64, 3, 12, generator=g) < 0.25).float()
    units[:, :, 0] = 1  # every storyboard has unit 0 in every frame: never empty
    captions = torch.zeros(64, 3, 7, dtype=torch.long)
    target = summary_target(salience(units), 1)  # one phrase: the most salient unit, here always "a red square"
    model = AbstractiveSummarizer(dim=16, length=1)
    losses = fit_abstractive(model, units, captions, target, steps=60, lr=2e-2, batch_size=32)
    assert losses[-1] < 0.1 * losses[0]
    assert decode_words(model.generate(units[:1], captions[:1])[0]) == "a red square"
    with pytest.raises(ValueError, match="lr"):
        fit_abstractive(model, units, captions, target, lr=0)
