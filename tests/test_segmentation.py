"""Tests of mmcourse.alignment's segmentation: batched CTC, CTC training and decoding, best path, boundaries.

The batched CTC loss is checked against the package's per-sample ``ctc_loss`` and ``torch.nn.functional.ctc_loss``
(values and gradients); the best path, the changepoint DP and the boundary matching against brute force on tiny
inputs; the metrics against hand-computed values and their laws.
"""
import doctest
import importlib
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from mmcourse import set_seed
from mmcourse.alignment import (CTCFrameModel, batched_ctc_loss, boundary_f1, ctc_best_path, ctc_collapse,
                                ctc_greedy_decode, ctc_loss, ctc_prefix_beam_search, edit_distance, novelty_curve,
                                segment_boundaries, segment_changepoints, segment_cost, symbol_error_rate, train_ctc)
from mmcourse.data import load_speech


def random_batch(seed, B=6, T=9, C=4, max_len=4, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    log_probs = torch.randn(B, T, C, generator=g, dtype=dtype).log_softmax(-1)
    lengths = torch.randint(0, max_len + 1, (B,), generator=g).tolist()
    targets = [torch.randint(1, C, (n,), generator=g).tolist() for n in lengths]
    return log_probs, targets


# ----------------------------------------------------------------------------------------------------------------
# batched_ctc_loss


@pytest.mark.parametrize("seed", range(5))
def test_batched_ctc_equals_per_sample_and_torch(seed):
    log_probs, targets = random_batch(seed)
    ours = batched_ctc_loss(log_probs, targets, reduction="none")
    per_sample = torch.stack([ctc_loss(lp, t) for lp, t in zip(log_probs, targets)])
    torch.testing.assert_close(ours, per_sample)
    reference = F.ctc_loss(log_probs.transpose(0, 1), torch.tensor(sum(targets, []), dtype=torch.long),
                           torch.full((len(targets),), log_probs.shape[1]), torch.tensor([len(t) for t in targets]),
                           reduction="none")
    torch.testing.assert_close(ours, reference)


def test_batched_ctc_gradient_equals_torch_and_gradcheck():
    log_probs, targets = random_batch(7, B=4, T=7, C=3, max_len=3)
    x = log_probs.clone().requires_grad_()
    batched_ctc_loss(x.log_softmax(-1), targets, reduction="sum").backward()
    y = log_probs.clone().requires_grad_()
    F.ctc_loss(y.log_softmax(-1).transpose(0, 1), torch.tensor(sum(targets, []), dtype=torch.long),
               torch.full((4,), 7), torch.tensor([len(t) for t in targets]), reduction="sum").backward()
    torch.testing.assert_close(x.grad, y.grad)
    small = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda z: batched_ctc_loss(z.log_softmax(-1), [[1, 2], [2]]), (small,))


def test_batched_ctc_padded_targets_reductions_blank_and_float32():
    log_probs, targets = random_batch(3, B=3, T=8, C=4, max_len=3)
    targets = [[1, 1, 2], [3], []]
    padded = torch.tensor([[1, 1, 2], [3, 9, 9], [9, 9, 9]])  # padding values are ignored
    none = batched_ctc_loss(log_probs, targets, reduction="none")
    torch.testing.assert_close(batched_ctc_loss(log_probs, padded, [3, 1, 0], reduction="none"), none)
    torch.testing.assert_close(batched_ctc_loss(log_probs, targets), none.mean())
    torch.testing.assert_close(batched_ctc_loss(log_probs, targets, reduction="sum"), none.sum())
    # the empty target: every frame blank
    torch.testing.assert_close(none[2], -log_probs[2, :, 0].sum())
    # another blank index: relabel the classes and the loss is unchanged
    permuted = log_probs[..., [3, 1, 2, 0]]
    swapped = [[{0: 3, 3: 0}.get(v, v) for v in t] for t in targets]
    torch.testing.assert_close(batched_ctc_loss(permuted, swapped, blank=3, reduction="none"), none)
    single = batched_ctc_loss(log_probs.float(), targets, reduction="none")
    assert single.dtype == torch.float32
    torch.testing.assert_close(single.double(), none, rtol=1e-4, atol=1e-4)
    numpy_input = batched_ctc_loss(log_probs.numpy(), targets, reduction="none")
    torch.testing.assert_close(numpy_input, none)


def test_batched_ctc_errors():
    log_probs, targets = random_batch(0, B=2, T=5, C=3, max_len=2)
    with pytest.raises(ValueError, match=r"batched_ctc_loss: log_probs must have shape \(B, T, C\)"):
        batched_ctc_loss(log_probs[0], targets)
    with pytest.raises(ValueError, match="log_softmax first"):
        batched_ctc_loss(log_probs.exp(), targets)
    with pytest.raises(ValueError, match="got 1 targets for a batch of B=2"):
        batched_ctc_loss(log_probs, targets[:1])
    with pytest.raises(ValueError, match="must not contain the blank"):
        batched_ctc_loss(log_probs, [[1, 0], [1]])
    with pytest.raises(ValueError, match="target 1 needs at least 6 frames"):
        batched_ctc_loss(log_probs, [[1], [1, 1, 1, 2]])
    with pytest.raises(ValueError, match="needs target_lengths"):
        batched_ctc_loss(log_probs, torch.ones(2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="reduction must be"):
        batched_ctc_loss(log_probs, targets, reduction="avg")
    with pytest.raises(ValueError, match="blank must be a class index"):
        batched_ctc_loss(log_probs, targets, blank=3)
    with pytest.raises(ValueError, match="do not match"):
        batched_ctc_loss(log_probs, [[1], [2]], target_lengths=[1, 2])


# ----------------------------------------------------------------------------------------------------------------
# The model, training and greedy decoding


def test_ctc_frame_model_shapes_and_errors():
    model = CTCFrameModel(8, 5, hidden=4, kernel_size=3)
    out = model(torch.randn(2, 11, 8))
    assert out.shape == (2, 11, 5)
    torch.testing.assert_close(out.exp().sum(-1), torch.ones(2, 11))
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        CTCFrameModel(8, 5, kernel_size=4)
    with pytest.raises(ValueError, match="classes must be an integer >= 2"):
        CTCFrameModel(8, 1)
    with pytest.raises(ValueError, match=r"expected frames of shape \(batch, T, 8\)"):
        model(torch.randn(2, 11, 7))


def test_train_ctc_learns_the_speech_and_both_losses_agree():
    speech = load_speech(n_train=120, n_val=2, n_test=60, seed=1)
    frames, targets = speech["train"]["frames"][:], speech["train"]["target"]
    histories = {}
    for loss in ("batched", "torch"):
        set_seed(0)
        model = CTCFrameModel(8, 5)
        histories[loss] = train_ctc(model, frames, targets, epochs=2, batch_size=40, lr=0.1, loss=loss)
    np.testing.assert_allclose(histories["batched"], histories["torch"], rtol=1e-4)
    set_seed(0)
    model = CTCFrameModel(8, 5)
    history = train_ctc(model, frames, targets, epochs=25, batch_size=40, lr=0.1)
    assert history[-1] < 0.2 * history[0]
    with torch.no_grad():
        decoded = ctc_greedy_decode(model(speech["test"]["frames"][:]))
    truth = [t.tolist() for t in speech["test"]["target"]]
    assert symbol_error_rate(decoded, truth) < 0.2
    with pytest.raises(ValueError, match="loss must be 'batched' or 'torch'"):
        train_ctc(model, frames, targets, loss="mse")
    with pytest.raises(ValueError, match="got 3 targets for 120 frame sequences"):
        train_ctc(model, frames, targets[:3])
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        train_ctc(model, frames, targets, epochs=0)


def test_ctc_greedy_decode():
    labels = torch.tensor([[0, 1, 1, 0, 1, 2], [2, 2, 0, 0, 0, 0]])
    log_probs = F.one_hot(labels, 3).double().mul(5).log_softmax(-1)
    assert ctc_greedy_decode(log_probs) == [[1, 1, 2], [2]]
    assert ctc_greedy_decode(log_probs[0]) == [1, 1, 2]
    assert ctc_greedy_decode(log_probs[0], blank=1) == [0, 0, 2]
    with pytest.raises(ValueError, match=r"ctc_greedy_decode: log_probs must be a float \(T, C\)"):
        ctc_greedy_decode(labels[0])


# ----------------------------------------------------------------------------------------------------------------
# ctc_prefix_beam_search


@pytest.mark.parametrize("T", [1, 2, 3, 4])
def test_prefix_beam_search_with_a_wide_beam_is_exact(T):
    for seed in range(4):
        log_probs = torch.randn(T, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        log_probs = (2 * log_probs).log_softmax(-1)
        strings = {}
        for labels in itertools.product(range(3), repeat=T):
            key = tuple(ctc_collapse(labels))
            strings[key] = strings.get(key, 0.0) + float(torch.exp(sum(log_probs[t, k] for t, k in enumerate(labels))))
        best = max(strings, key=strings.get)
        string, score = ctc_prefix_beam_search(log_probs, beam=100)
        assert tuple(string) == best
        assert np.exp(score) == pytest.approx(strings[best], rel=1e-9)
        assert score == pytest.approx(-float(ctc_loss(log_probs, string)), abs=1e-9)


def test_prefix_beam_search_beats_greedy_and_errors():
    log_probs = np.log([[0.6, 0.4], [0.6, 0.4]])
    assert ctc_greedy_decode(log_probs) == [] and ctc_prefix_beam_search(log_probs)[0] == [1]
    certain = (F.one_hot(torch.tensor([0, 2, 2, 0, 2, 1]), 3).double() * 20).log_softmax(-1)
    assert ctc_prefix_beam_search(certain, beam=1)[0] == ctc_greedy_decode(certain) == [2, 2, 1]
    with pytest.raises(ValueError, match="beam must be an integer >= 1"):
        ctc_prefix_beam_search(log_probs, beam=0)


# ----------------------------------------------------------------------------------------------------------------
# ctc_best_path


@pytest.mark.parametrize("T,target", [(1, [1]), (4, [1, 2]), (5, [2, 2]), (5, [1, 2, 1]), (3, []), (5, [2])])
def test_ctc_best_path_equals_brute_force(T, target):
    for seed in range(3):
        log_probs = torch.randn(T, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        log_probs = log_probs.log_softmax(-1)
        scores = {labels: float(sum(log_probs[t, k] for t, k in enumerate(labels)))
                  for labels in itertools.product(range(3), repeat=T) if ctc_collapse(labels) == target}
        labels, score = ctc_best_path(log_probs, target)
        assert ctc_collapse(labels) == target and len(labels) == T
        assert score == pytest.approx(max(scores.values()), abs=1e-10)
        assert scores[tuple(labels)] == pytest.approx(score, abs=1e-10)
        assert score <= -float(ctc_loss(log_probs, target)) + 1e-12  # one path ≤ the sum over all


def test_ctc_best_path_follows_a_clear_segmentation_and_errors():
    truth = [0, 3, 3, 3, 0, 0, 2, 2, 0]
    log_probs = (F.one_hot(torch.tensor(truth), 4).double() * 4).log_softmax(-1)
    assert ctc_best_path(log_probs, [3, 2])[0] == truth
    with pytest.raises(ValueError, match="target must not contain the blank"):
        ctc_best_path(log_probs, [3, 0])
    with pytest.raises(ValueError, match="needs at least 3 frames, but log_probs has T=2"):
        ctc_best_path(log_probs[:2], [2, 2])
    with pytest.raises(ValueError, match=r"ctc_best_path: log_probs must have shape \(T, C\)"):
        ctc_best_path(log_probs[None], [3])


# ----------------------------------------------------------------------------------------------------------------
# Edit distance and error rate


def naive_edit_distance(a, b):
    if not a or not b:
        return len(a) + len(b)
    return min(naive_edit_distance(a[1:], b) + 1, naive_edit_distance(a, b[1:]) + 1,
               naive_edit_distance(a[1:], b[1:]) + (a[0] != b[0]))


def test_edit_distance_hand_values_and_brute_force():
    assert edit_distance([1, 2, 3], [1, 2, 3]) == 0
    assert edit_distance([], []) == 0
    assert edit_distance([1, 2, 3], [3, 2, 1]) == 2
    assert edit_distance(np.array([1, 1, 1]), torch.tensor([1])) == 2
    rng = np.random.default_rng(0)
    for _ in range(40):
        a, b = (rng.integers(1, 4, size=rng.integers(0, 6)).tolist() for _ in range(2))
        d = edit_distance(a, b)
        assert d == naive_edit_distance(a, b) == edit_distance(b, a)
        assert abs(len(a) - len(b)) <= d <= max(len(a), len(b))
    with pytest.raises(ValueError, match="edit_distance: b must be a 1-D sequence of integers"):
        edit_distance([1], [[1, 2], 3])


def test_symbol_error_rate():
    assert symbol_error_rate([[1, 2, 3], []], [[1, 2], [4, 4]]) == pytest.approx(3 / 4)
    assert symbol_error_rate([[1]], [[1]]) == 0.0
    with pytest.raises(ValueError, match="same length, got 1 and 2"):
        symbol_error_rate([[1]], [[1], [2]])
    with pytest.raises(ValueError, match="targets are all empty"):
        symbol_error_rate([[1]], [[]])


# ----------------------------------------------------------------------------------------------------------------
# Boundaries


def test_segment_boundaries():
    assert segment_boundaries([0, 0, 1, 1, 0, 2]) == [2, 4, 5]
    assert segment_boundaries([4] * 5) == [] and segment_boundaries([]) == []
    speech = load_speech(n_train=5, n_val=2, n_test=2, seed=0)
    for row in speech["train"]:
        alignment = row["alignment"].tolist()
        assert len(segment_boundaries(alignment)) == 2 * len(row["target"])  # each symbol: a start and an end


def brute_force_hits(predicted, true, tolerance):
    if not predicted or not true:
        return 0
    score = np.array([[abs(p - t) <= tolerance for t in true] for p in predicted], dtype=float)
    rows, cols = linear_sum_assignment(-score)
    return int(score[rows, cols].sum())


def test_boundary_f1_hand_values_and_maximum_matching():
    assert boundary_f1([5, 6], [5]) == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3)}
    assert boundary_f1([4], [5], tolerance=0)["f1"] == 0.0
    assert boundary_f1([4], [5], tolerance=1)["f1"] == 1.0
    assert boundary_f1([], []) == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert boundary_f1([], [3]) == {"precision": 1.0, "recall": 0.0, "f1": 0.0}
    rng = np.random.default_rng(1)
    for _ in range(100):
        predicted = sorted(set(rng.integers(0, 20, size=rng.integers(0, 7)).tolist()))
        true = sorted(set(rng.integers(0, 20, size=rng.integers(0, 7)).tolist()))
        tolerance = int(rng.integers(0, 3))
        result = boundary_f1(predicted, true, tolerance)
        hits = brute_force_hits(predicted, true, tolerance)
        assert result["precision"] == pytest.approx(hits / len(predicted) if predicted else 1.0)
        assert result["recall"] == pytest.approx(hits / len(true) if true else 1.0)
    with pytest.raises(ValueError, match="tolerance must be an integer >= 0"):
        boundary_f1([1], [1], tolerance=-1)


# ----------------------------------------------------------------------------------------------------------------
# Changepoints and novelty


def test_segment_cost_hand_value_and_errors():
    assert segment_cost([0.0, 2.0, 5.0, 5.0], [2], penalty=1.5) == pytest.approx(2.0 + 0.0 + 1.5)
    assert segment_cost([[0.0, 1.0], [0.0, 3.0]], []) == pytest.approx(2.0)
    with pytest.raises(ValueError, match=r"boundaries must be distinct, sorted and in \[1, 3\]"):
        segment_cost([0.0, 1.0, 2.0, 3.0], [0, 2])
    with pytest.raises(ValueError, match="penalty must be a finite number >= 0"):
        segment_cost([0.0, 1.0], [], penalty=-1)


def test_segment_changepoints_is_exact_on_a_clean_piecewise_constant_signal():
    levels = np.array([[0.0, 1.0], [2.0, -1.0], [0.0, 1.0], [3.0, 3.0]])
    lengths = [5, 3, 1, 6]
    x = np.repeat(levels, lengths, axis=0)
    assert segment_changepoints(x, penalty=0.1) == [5, 8, 9]
    assert segment_changepoints(x[:, 0], penalty=0.1) == [5, 8, 9]   # 1-D input
    assert segment_changepoints(x, penalty=1e6) == []
    assert segment_changepoints(x, penalty=0.1, min_size=2) != [5, 8, 9]   # the 1-frame segment is not allowed


@pytest.mark.parametrize("min_size", [1, 2])
def test_segment_changepoints_equals_brute_force(min_size):
    rng = np.random.default_rng(min_size)
    for _ in range(15):
        T = int(rng.integers(1, 9))
        x = rng.normal(size=(T, 2))
        penalty = float(rng.uniform(0, 2))
        if T < min_size:
            continue
        best = min(segment_cost(x, list(cuts), penalty)
                   for k in range(T) for cuts in itertools.combinations(range(1, T), k)
                   if all(b - a >= min_size for a, b in zip((0, *cuts), (*cuts, T))))
        found = segment_changepoints(x, penalty, min_size=min_size)
        assert segment_cost(x, found, penalty) == pytest.approx(best, abs=1e-9)
        assert all(b - a >= min_size for a, b in zip([0, *found], [*found, T]))


def test_segment_changepoints_penalty_monotone_and_errors():
    x = np.random.default_rng(3).normal(size=(40, 3)).cumsum(axis=0)
    counts = [len(segment_changepoints(x, p)) for p in [0.0, 0.5, 1, 2, 5, 10, 50, 200, 1e4]]
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1] == 0
    with pytest.raises(ValueError, match="penalty must be a finite number >= 0"):
        segment_changepoints(x, float("nan"))
    with pytest.raises(ValueError, match=r"min_size must be an integer in \[1, T=40\]"):
        segment_changepoints(x, 1.0, min_size=41)
    with pytest.raises(ValueError, match="x contains NaN"):
        segment_changepoints([0.0, np.nan], 1.0)
    with pytest.raises(ValueError, match=r"x must have shape \(T,\) or \(T, d\)"):
        segment_changepoints(np.zeros((2, 2, 2)), 1.0)


def test_novelty_curve():
    x = np.repeat(np.eye(3), [6, 5, 7], axis=0)
    curve = novelty_curve(x, half_width=3)
    assert curve.shape == (18,)
    peaks = [t for t in range(1, 17) if curve[t] > curve[t - 1] and curve[t] >= curve[t + 1] and curve[t] > 0.1]
    assert peaks == [6, 11]
    assert np.allclose(curve[[1, 2, 3, 14, 15, 16, 17]], 0.0)   # flat stretches score 0, also near the ends
    assert np.allclose(novelty_curve(x * 7.0), novelty_curve(x))   # cosine: the scale does not matter
    with pytest.raises(ValueError, match="half_width must be an integer >= 1"):
        novelty_curve(x, half_width=0)


@pytest.mark.parametrize("module", ["segmentation_ctc", "segmentation_decoding", "segmentation_boundaries",
                                    "segmentation"])
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(f"mmcourse.alignment.{module}"))
    assert result.failed == 0
