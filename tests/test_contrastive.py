"""Tests of mmcourse.representation.contrastive: the CLIP loss, the two-tower model, its training, recall@k."""
from __future__ import annotations

import doctest
import importlib
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmcourse import set_seed
from mmcourse.data import as_tensors, load_digits_pair, load_interaction
from mmcourse.representation import (DIRECTIONS, ContrastiveHistory, ContrastiveModel, clip_loss, fit_contrastive,
                                     recall_at_k, retrieval_table, similarity_matrix)
from mmcourse.representation.contrastive.clip import MAX_LOGIT_SCALE


def loop_clip_loss(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> float:
    """The symmetric InfoNCE loss written out with Python loops and math.log/exp, in float64."""
    a, b = z1.double().numpy(), z2.double().numpy()
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    n = len(a)
    s = [[float(a[i] @ b[j]) / tau for j in range(n)] for i in range(n)]
    rows = sum(-s[i][i] + math.log(sum(math.exp(s[i][j]) for j in range(n))) for i in range(n)) / n
    cols = sum(-s[j][j] + math.log(sum(math.exp(s[i][j]) for i in range(n))) for j in range(n)) / n
    return 0.5 * (rows + cols)


# --- similarity and the loss ----------------------------------------------------------------------------------------
def test_similarity_matrix_is_cosine():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(4, 3, generator=g), torch.randn(5, 3, generator=g)
    s = similarity_matrix(z1, z2)
    assert s.shape == (4, 5)
    expected = torch.nn.functional.cosine_similarity(z1[:, None, :], z2[None, :, :], dim=2)
    torch.testing.assert_close(s, expected)


@pytest.mark.parametrize("n, d, tau", [(1, 2, 0.5), (3, 2, 0.07), (5, 4, 1.0), (6, 3, 0.2)])
def test_clip_loss_matches_a_loop(n, d, tau):
    g = torch.Generator().manual_seed(n * 10 + d)
    z1, z2 = torch.randn(n, d, generator=g), 3 * torch.randn(n, d, generator=g)   # lengths do not matter
    assert clip_loss(z1, z2, tau).item() == pytest.approx(loop_clip_loss(z1, z2, tau), rel=1e-5, abs=1e-6)


def test_clip_loss_is_the_mean_of_two_cross_entropies():
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    logits = similarity_matrix(z1, z2) / 0.3
    rows = -torch.log_softmax(logits, dim=1).diagonal().mean()
    cols = -torch.log_softmax(logits, dim=0).diagonal().mean()
    torch.testing.assert_close(clip_loss(z1, z2, 0.3), (rows + cols) / 2)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), d=st.integers(1, 4), tau=st.floats(0.05, 5.0), seed=st.integers(0, 10_000))
def test_clip_loss_is_symmetric_in_the_modalities(n, d, tau, seed):
    g = torch.Generator().manual_seed(seed)
    z1, z2 = torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)
    torch.testing.assert_close(clip_loss(z1, z2, tau), clip_loss(z2, z1, tau))
    assert clip_loss(z1, z2, tau).item() >= 0


def test_clip_loss_ignores_the_order_of_the_pairs():
    g = torch.Generator().manual_seed(2)
    z1, z2 = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    perm = torch.randperm(6, generator=g)
    torch.testing.assert_close(clip_loss(z1[perm], z2[perm], 0.5), clip_loss(z1, z2, 0.5))


def test_known_values():
    eye = torch.eye(4)
    assert clip_loss(eye, eye, 0.01).item() == pytest.approx(0.0, abs=1e-20)    # aligned and orthogonal
    assert clip_loss(eye.double(), 5 * eye.double(), 0.1).item() == pytest.approx(math.log(1 + 3 * math.exp(-10)),
                                                                               rel=1e-9)
    for n in (2, 7):
        ones = torch.ones(n, 3)
        assert clip_loss(ones, ones, 0.07).item() == pytest.approx(math.log(n))   # collapsed: log n
    assert clip_loss(eye, eye[[1, 0, 2, 3]], 0.01).item() > 40                     # two pairs swapped: large


def test_loss_falls_as_the_pairs_align():
    g = torch.Generator().manual_seed(3)
    z1, noise = torch.randn(8, 4, generator=g), torch.randn(8, 4, generator=g)
    losses = [clip_loss(z1, z1 + s * noise, 0.1).item() for s in (3.0, 1.0, 0.3, 0.0)]
    assert losses == sorted(losses, reverse=True)


def test_gradients_flow_to_both_embeddings_and_the_temperature():
    g = torch.Generator().manual_seed(4)
    z1 = torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    tau = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    clip_loss(z1, z2, tau).backward()
    assert all(t.grad is not None and torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0 for t in (z1, z2, tau))
    assert torch.autograd.gradcheck(lambda a, b, t: clip_loss(a, b, t), (z1.detach().requires_grad_(),
                                                                           z2.detach().requires_grad_(),
                                                                           tau.detach().requires_grad_()))


@pytest.mark.parametrize("z1, z2, tau, match", [
    (torch.zeros(3, 2), torch.zeros(4, 2), 0.1, r"same number of pairs, got batches of 3 and 4"),
    (torch.zeros(3, 2), torch.zeros(3, 5), 0.1, r"same number of features, got 2 and 5"),
    (torch.zeros(3), torch.zeros(3), 0.1, r"z1 must have shape \(batch, features\), got \(3,\)"),
    (torch.zeros(3, 2), torch.zeros(3, 2, 1), 0.1, r"z2 must have shape \(batch, features\)"),
    (torch.zeros(3, 2), torch.zeros(3, 2), 0.0, "temperature must be a finite number > 0, got 0.0"),
    (torch.zeros(3, 2), torch.zeros(3, 2), -1, "temperature must be a finite number > 0, got -1"),
    (torch.zeros(3, 2), torch.zeros(3, 2), torch.tensor(-0.5), "temperature must be a finite number > 0"),
    (torch.zeros(3, 2), torch.zeros(3, 2), torch.ones(2), "temperature must be a scalar"),
    (torch.zeros(0, 2), torch.zeros(0, 2), 0.1, "the batch is empty"),
    (torch.tensor([[float("nan"), 0.0]]), torch.zeros(1, 2), 0.1, "z1 must hold finite floating-point values"),
    (torch.zeros(2, 2, dtype=torch.long), torch.zeros(2, 2), 0.1, "z1 must hold finite floating-point values"),
])
def test_clip_loss_errors(z1, z2, tau, match):
    with pytest.raises(ValueError, match=match):
        clip_loss(z1, z2, tau)


def test_clip_loss_rejects_arrays():
    with pytest.raises(TypeError, match="z1 must be a torch.Tensor, got ndarray"):
        clip_loss(np.zeros((2, 2)), torch.zeros(2, 2))


# --- the model ------------------------------------------------------------------------------------------------------
def test_model_shapes_normalisation_and_temperature():
    set_seed(0)  # unseeded, about 3% of the global generator's states give a zero (unnormalisable) projection
    model = ContrastiveModel([torch.zeros(8, 8), (12, 16)], dim=5, width=7, temperature=0.2)
    assert model.in_dims == (64, 192) and model.dim == 5
    z1, z2 = model(torch.randn(4, 8, 8), torch.randn(4, 12, 16))
    assert z1.shape == z2.shape == (4, 5)
    torch.testing.assert_close(z1.norm(dim=1), torch.ones(4))
    assert model.temperature == pytest.approx(0.2) and model.log_scale.requires_grad
    torch.testing.assert_close(model.loss(torch.zeros(3, 8, 8) + 1, torch.ones(3, 12, 16)),
                               clip_loss(*model(torch.ones(3, 8, 8), torch.ones(3, 12, 16)), 0.2))
    assert not ContrastiveModel([3, 3], learn_temperature=False).log_scale.requires_grad


def test_temperature_is_clamped_as_in_clip():
    model = ContrastiveModel([3, 3], temperature=0.05)
    with torch.no_grad():
        model.log_scale.fill_(10.0)                         # 1/τ = e^10, beyond the clamp
    assert model.temperature == pytest.approx(1 / MAX_LOGIT_SCALE)
    assert model.logit_scale().item() == pytest.approx(math.log(100))


def test_model_gradients_reach_every_parameter():
    set_seed(0)
    model = ContrastiveModel([3, 4], dim=2, width=6)
    model.loss(torch.randn(8, 3), torch.randn(8, 4)).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("kwargs, match", [
    (dict(shapes=[3]), "shapes must give two modalities"),
    (dict(shapes=[3, 0]), r"shapes\[1\] must be a positive int"),
    (dict(shapes=[3, 3], dim=0), "dim must be a positive integer, got 0"),
    (dict(shapes=[3, 3], width=2.5), "width must be a positive integer"),
    (dict(shapes=[3, 3], temperature=0.001), r"temperature must be a number ≥ 0.01"),
])
def test_model_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ContrastiveModel(**kwargs)


def test_embed_errors():
    model = ContrastiveModel([3, 4])
    with pytest.raises(ValueError, match="modality must be 0 or 1, got 2"):
        model.embed(torch.zeros(2, 3), 2)
    with pytest.raises(ValueError, match=r"modality 1 expects a batch of examples with 4 values each, got \(2, 3\)"):
        model(torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"modality 0 expects a batch .* got \(3,\)"):
        model.embed(torch.zeros(3), 0)                                  # one example, not a batch
    assert model.embed(torch.zeros(0, 3), 0).shape == (0, model.dim)     # an empty batch is fine


# --- training and retrieval on toy pairs ----------------------------------------------------------------------------
def _train(name: str, steps: int = 100):
    ds = load_digits_pair() if name == "digits" else load_interaction(name)
    (a, b), _ = as_tensors(ds["train"])
    (ta, tb), ty = as_tensors(ds["test"])
    set_seed(0)
    model = ContrastiveModel([a[0], b[0]], dim=16, width=32, temperature=0.2, learn_temperature=False)
    history = fit_contrastive(model, (a, b), steps=steps, progress=False, device="cpu")
    with torch.no_grad():
        s = similarity_matrix(*model(ta, tb))
    with torch.no_grad():
        held_out_loss = model.loss(ta, tb).item()
    return model, history, s, ty, held_out_loss


def test_digits_pair_shapes():
    ds = load_digits_pair()
    (image, audio), labels = as_tensors(ds["test"])
    assert image.shape == (359, 8, 8) and audio.shape == (359, 12, 16) and labels.shape == (359,)


def test_training_on_digits_retrieves_the_class_and_beats_chance_on_pairs():
    model, history, s, labels, held_out_loss = _train("digits")
    assert isinstance(history, ContrastiveHistory) and history.steps == 100
    assert history.temperature == [pytest.approx(0.2)] * 100 and history.seconds > 0
    assert np.mean(history.loss[-10:]) < np.mean(history.loss[:10]) - 1.0
    n = len(s)
    for direction in DIRECTIONS:
        # The audio is rendered from the class alone: the exact pair is one of ~36 look-alikes of its class, so
        # exact-pair R@1 is a handful of hits (noisy); R@5 counts enough of them to compare with chance (5/n).
        assert recall_at_k(s, 1, direction=direction) >= 2 / n
        assert recall_at_k(s, 5, direction=direction) > 3 * 5 / n
        assert recall_at_k(s, 1, direction=direction, labels=labels) > 0.6         # chance: about 0.1
    # When only the class is shared, a pair cannot be told from the ~n/10 others of its class: on held-out pairs
    # the loss stays above log(n/10), the InfoNCE floor, whatever the model.
    assert math.log(len(s) / 10) - 0.1 < held_out_loss < math.log(len(s))


def test_training_on_redundancy_retrieves_exact_pairs():
    _, _, s, _, held_out_loss = _train("redundancy")
    assert held_out_loss < math.log(len(s) / 2) - 2     # far below the floor if only the binary label were shared
    for direction in DIRECTIONS:
        assert recall_at_k(s, 1, direction=direction) > 0.5          # chance: 1/1000
        assert recall_at_k(s, 5, direction=direction) > 0.85


def test_training_is_reproducible_and_calls_back():
    x = torch.randn(40, 3, generator=torch.Generator().manual_seed(0))
    runs, seen = [], []
    for _ in range(2):
        set_seed(1)
        runs.append(fit_contrastive(ContrastiveModel([3, 3], dim=2, width=8), (x, x + 0.1), steps=7, batch_size=16,
                                    progress=False, callback=lambda step, h: seen.append((step, h.steps))))
    assert runs[0].loss == runs[1].loss and runs[0].steps == 7
    assert seen[:7] == [(k, k) for k in range(1, 8)]


@pytest.mark.parametrize("kwargs, match", [
    (dict(pairs=(torch.zeros(4, 3),)), "pairs must be two tensors"),
    (dict(pairs=([torch.zeros(4, 3), torch.zeros(4, 3)], torch.zeros(4))), r"pass as_tensors\(split\)\[0\]"),
    (dict(pairs=(torch.zeros(4, 3), torch.zeros(5, 3))), "same number .≥ 2. of pairs, got 4 and 5"),
    (dict(steps=0), "steps must be a positive integer, got 0"),
    (dict(batch_size=1), "batch_size must be ≥ 2"),
    (dict(lr=0), "lr must be positive"),
])
def test_fit_contrastive_errors(kwargs, match):
    args = dict(pairs=(torch.zeros(4, 3), torch.zeros(4, 3))) | kwargs
    with pytest.raises(ValueError, match=match):
        fit_contrastive(ContrastiveModel([3, 3]), args.pop("pairs"), progress=False, **args)
    with pytest.raises(TypeError, match="model must be a ContrastiveModel"):
        fit_contrastive(torch.nn.Linear(2, 2), (torch.zeros(4, 2), torch.zeros(4, 2)))


# --- recall@k on hand-made matrices ---------------------------------------------------------------------------------
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_identity_gives_perfect_recall(direction):
    for k in (1, 3):
        assert recall_at_k(np.eye(5), k, direction=direction) == 1.0
        assert recall_at_k(torch.eye(5), k, direction=direction) == 1.0


def test_a_permutation_gives_the_fraction_of_fixed_points():
    perm = [1, 2, 0, 3, 4]                             # x_0, x_1, x_2 point to the wrong y; 3 and 4 are right
    s = np.eye(5)[perm]
    assert recall_at_k(s, 1) == pytest.approx(2 / 5)
    assert recall_at_k(s, 1, direction="y_to_x") == pytest.approx(2 / 5)
    # Each wrong query's true pair ties with 3 other zeros for the 4 places after the top one: k=2 gives it 1/4.
    assert recall_at_k(s, 2) == pytest.approx((2 + 3 * 1 / 4) / 5)


def test_directions_differ_on_an_asymmetric_matrix():
    s = np.array([[0.9, 0.5, 0.0],
                  [0.8, 0.6, 0.0],
                  [0.0, 0.0, 1.0]])
    assert recall_at_k(s, 1, direction="x_to_y") == pytest.approx(2 / 3)   # x_1 prefers y_0
    assert recall_at_k(s, 1, direction="y_to_x") == pytest.approx(1.0)     # column 1: 0.6 beats 0.5
    assert recall_at_k(s, 1, direction="y_to_x") == recall_at_k(s.T, 1, direction="x_to_y")


def test_ties_count_in_expectation():
    assert recall_at_k(np.ones((4, 4)), 1) == pytest.approx(1 / 4)           # all tied: chance k/n
    assert recall_at_k(np.ones((4, 4)), 3) == pytest.approx(3 / 4)
    s = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])      # x_0 ties with a wrong item
    assert recall_at_k(s, 1) == pytest.approx((0.5 + 1 + 1) / 3)
    assert recall_at_k(s, 2) == 1.0


def test_recall_grows_with_k_and_ends_at_one():
    s = np.random.default_rng(0).normal(size=(12, 12))
    values = [recall_at_k(s, k) for k in range(1, 13)]
    assert values == sorted(values) and values[-1] == 1.0


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 9), seed=st.integers(0, 10_000), ties=st.booleans())
def test_recall_laws(n, seed, ties):
    rng = np.random.default_rng(seed)
    s = rng.normal(size=(n, n))
    if ties:
        s = np.round(s)                                           # many exact ties
    labels = rng.integers(0, 3, n)
    perm = rng.permutation(n)
    for k in range(1, n + 1):
        for direction in DIRECTIONS:
            value = recall_at_k(s, k, direction=direction)
            assert 0 <= value <= 1
            # Relabelling the pairs, or a monotone change of the scores, changes nothing.
            assert recall_at_k(s[np.ix_(perm, perm)], k, direction=direction) == pytest.approx(value)
            assert recall_at_k(np.exp(s), k, direction=direction) == pytest.approx(value)
            # A class-level hit includes the exact pair.
            assert recall_at_k(s, k, direction=direction, labels=labels) >= value - 1e-12
    assert recall_at_k(s, n) == pytest.approx(1.0)


def test_class_level_recall():
    labels = np.array([0, 0, 1, 1])
    s = np.eye(4)[[1, 0, 3, 2]]                        # every x retrieves the other member of its class
    assert recall_at_k(s, 1) == 0.0
    assert recall_at_k(s, 1, labels=labels) == 1.0
    assert recall_at_k(s, 1, labels=torch.tensor(labels), direction="y_to_x") == 1.0
    # All tied: a relevant item among 2 of the 4 is in the top 1 with probability 1/2.
    assert recall_at_k(np.zeros((4, 4)), 1, labels=labels) == pytest.approx(0.5)
    assert recall_at_k(np.zeros((4, 4)), 2, labels=labels) == pytest.approx(1 - 1 / 6)  # 1 - C(2,2)/C(4,2)


def test_retrieval_table():
    s = np.eye(4)[[1, 0, 2, 3]]
    table = retrieval_table(s, ks=(1, 2), labels=[0, 0, 1, 1], names=("image", "audio"))
    assert list(table.index) == ["image → audio", "audio → image"]
    assert list(table.columns) == ["R@1", "R@2", "class R@1", "class R@2", "chance R@1", "chance R@2"]
    assert table.loc["image → audio", "R@1"] == 0.5 and table.loc["audio → image", "class R@1"] == 1.0
    assert table.loc["image → audio", "chance R@2"] == 0.5


@pytest.mark.parametrize("s, kwargs, match", [
    (np.zeros((3, 4)), {}, r"square \(n, n\) matrix of n held-out pairs, got shape \(3, 4\)"),
    (np.zeros(3), {}, "square"),
    (np.array([[np.nan]]), {}, "contains NaN"),
    (np.array([["a"]]), {}, "real numeric matrix"),
    (np.eye(3), dict(k=0), r"k must be an integer in 1..3 \(the number of pairs\), got 0"),
    (np.eye(3), dict(k=4), "k must be an integer in 1..3"),
    (np.eye(3), dict(direction="both"), "direction must be one of x_to_y, y_to_x, got 'both'"),
    (np.eye(3), dict(labels=[0, 1]), r"labels must have shape \(3,\), one per pair, got \(2,\)"),
])
def test_recall_errors(s, kwargs, match):
    with pytest.raises(ValueError, match=match):
        recall_at_k(s, **kwargs)


@pytest.mark.parametrize("module", ["clip", "retrieval"])
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(f"mmcourse.representation.contrastive.{module}"),
                             optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
