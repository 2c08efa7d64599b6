"""Word-to-object matching: the scene score and loss against their definitions, the matchers against brute force,
gradient flow, a trained model far above chance, and clear errors."""
import doctest
import itertools
import math

import numpy as np
import pytest
import torch

import mmcourse.alignment.matching as matching_module
import mmcourse.alignment.matching_assign as assign_module
from mmcourse import set_seed
from mmcourse.alignment import (MATCHERS, WordRegionModel, evaluate_matching, fit_word_region, match,
                                matching_accuracy, scene_pairs, scene_similarity, word_region_loss)
from mmcourse.data import crop_regions, load_scenes, phrase_tokens


@pytest.fixture(scope="module")
def scenes():
    return load_scenes(n_train=600, n_val=10, n_test=120, seed=0)


def _cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_scene_similarity_matches_the_definition():
    g = torch.Generator().manual_seed(0)
    v, w = torch.randn(3, 4, 5, generator=g), torch.randn(2, 3, 5, generator=g)
    rmask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [0, 1, 0, 1]], dtype=torch.bool)
    pmask = torch.tensor([[1, 1, 1], [1, 0, 0]], dtype=torch.bool)
    S = scene_similarity(v, w, rmask, pmask)
    assert S.shape == (3, 2)
    for k, l in itertools.product(range(3), range(2)):
        phrases = [t for t in range(3) if pmask[l, t]]
        expected = np.mean([max(_cos(v[k, i].numpy(), w[l, t].numpy()) for i in range(4) if rmask[k, i])
                            for t in phrases])
        assert abs(S[k, l].item() - expected) < 1e-6
    # a phrase's best region is a max: the score ignores how many other regions there are
    assert torch.allclose(scene_similarity(v[:, :2], w), scene_similarity(v, w, rmask.clone().fill_(0) |
                                                                               (torch.arange(4) < 2)))


def test_word_region_loss_is_symmetric_cross_entropy():
    g = torch.Generator().manual_seed(1)
    v, w = torch.randn(4, 3, 6, generator=g), torch.randn(4, 3, 6, generator=g)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 1, 1]], dtype=torch.bool)
    S = scene_similarity(v, w, mask, mask).numpy() / 0.2
    rows = -np.mean([S[i, i] - np.log(np.exp(S[i]).sum()) for i in range(4)])
    cols = -np.mean([S[i, i] - np.log(np.exp(S[:, i]).sum()) for i in range(4)])
    assert abs(word_region_loss(v, w, mask, temperature=0.2).item() - (rows + cols) / 2) < 1e-5
    same = torch.ones(5, 2, 3)
    assert abs(word_region_loss(same, same).item() - math.log(5)) < 1e-6


def test_loss_gradients():
    g = torch.Generator().manual_seed(2)
    v = torch.randn(3, 2, 4, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 2, 4, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: word_region_loss(a, b, temperature=0.5), (v, w))
    set_seed(0)
    model = WordRegionModel(dim=4, width=8)
    regions, phrases = torch.rand(4, 3, 10, 10, 3), torch.randint(1, 10, (4, 3, 2))
    word_region_loss(*model(regions, phrases)).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_scene_pairs(scenes):
    regions, phrases, mask = scene_pairs(scenes["test"])
    rows = scenes["test"][:]
    assert regions.shape == (120, 4, 10, 10, 3) and phrases.shape == (120, 4, 2) and mask.dtype == torch.bool
    assert torch.equal(mask.sum(1), rows["n_objects"].long())
    assert torch.equal(regions[7], crop_regions(rows["image"][7], rows["cell"][7].long()))
    assert torch.equal(phrases, torch.as_tensor(phrase_tokens(rows["colour"], rows["shape"])))
    with pytest.raises(ValueError, match="one split of load_scenes"):
        scene_pairs(scenes)


def _brute_force(S):
    n = len(S)
    return np.array(max(itertools.permutations(range(n)), key=lambda p: sum(S[t, p[t]] for t in range(n))))


@pytest.mark.parametrize("seed", range(8))
def test_matchers_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 6))
    S = rng.uniform(-1, 1, (n, n))
    best = _brute_force(S)
    assert (match(S, "local") == S.argmax(1)).all()
    assert (match(S, "hungarian") == best).all()
    assert (match(S, "transport") == best).all()
    assert (match(torch.tensor(S), "hungarian") == best).all()
    well_separated = np.eye(n)[rng.permutation(n)] + 0.1 * rng.uniform(size=(n, n))
    assert (match(well_separated, "sinkhorn") == well_separated.argmax(1)).all()


def test_one_to_one_beats_local_on_a_conflict():
    S = np.array([[0.9, 0.8, 0.0], [0.95, 0.2, 0.1], [0.1, 0.0, 0.7]])   # rows 0 and 1 both want column 0
    assert match(S, "local").tolist() == [0, 0, 2]
    for method in ("hungarian", "transport", "sinkhorn"):
        assert match(S, method).tolist() == [1, 0, 2], method
    assert match(np.array([[0.1, 0.9, 0.3], [0.8, 0.2, 0.0]]), "hungarian").tolist() == [1, 0]
    assert match(np.array([[0.1], [0.8]]), "hungarian").tolist() == [-1, 0]


def test_match_errors():
    with pytest.raises(ValueError, match=r"unknown method='greedy'; expected one of"):
        match(np.eye(2), "greedy")
    with pytest.raises(ValueError, match="non-empty matrix"):
        match(np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        match(np.array([[np.nan, 0.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="reg must be a finite number > 0"):
        match(np.eye(2), "sinkhorn", reg=0)


def test_matching_accuracy():
    assert matching_accuracy([0, 1, 2], [0, 1, 2]) == (True, 1.0)
    assert matching_accuracy([0, 0, 2], [1, 0, 2]) == (False, 2 / 3)
    with pytest.raises(ValueError, match="same non-zero length"):
        matching_accuracy([0, 1], [0, 1, 2])


def test_trained_matching_far_above_chance_and_one_to_one_helps(scenes):
    set_seed(0)
    model = WordRegionModel()
    losses = fit_word_region(model, *scene_pairs(scenes["train"]), steps=150, progress=False)
    assert np.mean(losses[-20:]) < 0.5 * losses[0]
    test = scene_pairs(scenes["test"])
    clean = evaluate_matching(model, *test, noise=0.0)
    assert clean["hungarian"]["permutation"] >= 0.9, clean
    assert clean["hungarian"]["chance_permutation"] < 0.4
    noisy = evaluate_matching(model, *test, noise=1.0, methods=MATCHERS)
    for method in ("hungarian", "transport", "sinkhorn"):
        assert noisy[method]["permutation"] >= noisy["local"]["permutation"] + 0.1, noisy
        assert noisy[method]["element"] >= noisy["local"]["element"], noisy
    assert noisy["hungarian"] == noisy["transport"]            # uniform weights, square: the same optimum


def test_model_and_fit_errors(scenes):
    with pytest.raises(ValueError, match="dim must be a positive integer"):
        WordRegionModel(dim=0)
    model = WordRegionModel(dim=4, width=8)
    with pytest.raises(ValueError, match=r"regions must have shape \(\.\.\., 10, 10, 3\)"):
        model.embed_regions(torch.zeros(2, 3, 8, 8, 3))
    with pytest.raises(ValueError, match="phrases must be an integer tensor"):
        model.embed_phrases(torch.zeros(2, 3, 2))
    with pytest.raises(ValueError, match="word ids in 0.."):
        model.embed_phrases(torch.full((2, 2), 99))
    data = scene_pairs(scenes["validation"])
    with pytest.raises(TypeError, match="model must be a WordRegionModel"):
        fit_word_region(torch.nn.Linear(2, 2), *data)
    with pytest.raises(ValueError, match="batch_size must be ≥ 2"):
        fit_word_region(model, *data, batch_size=1)
    with pytest.raises(ValueError, match="same number"):
        fit_word_region(model, data[0][:3], *data[1:])
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        word_region_loss(torch.ones(2, 1, 3), torch.ones(2, 1, 3), temperature=-1)
    with pytest.raises(ValueError, match="same dim"):
        scene_similarity(torch.ones(2, 1, 3), torch.ones(2, 1, 4))
    with pytest.raises(ValueError, match="region_mask must be a bool tensor of shape"):
        scene_similarity(torch.ones(2, 1, 3), torch.ones(2, 1, 3), torch.ones(2, 1))
    with pytest.raises(ValueError, match="at least one region"):
        scene_similarity(torch.ones(2, 1, 3), torch.ones(2, 1, 3), torch.zeros(2, 1, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"unknown method\(s\) \['greedy'\]"):
        evaluate_matching(model, *data, methods=("greedy",))
    with pytest.raises(ValueError, match="noise must be a number ≥ 0"):
        evaluate_matching(model, *data, noise=-1.0)


@pytest.mark.parametrize("module", [matching_module, assign_module])
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
