"""Part 5.4's measures: foils and foil accuracy, diversity, memorisation, and the skewed world with its colour
reader and the amplification of a share."""
import numpy as np
import pytest
import torch

from mmcourse.data import COLOURS, SHAPES, VOCAB, decode_words, encode_words, render_scene
from mmcourse.generation import (FOIL_KINDS, caption_bag, caption_one_hot, foil_accuracy, label_entropy,
                                 mean_pairwise_distance, memorisation_ratio, nearest_distance, read_colour,
                                 skew_amplification, skewed_scenes, swap_attribute)

CAPTION = encode_words("a red square and a blue circle and a yellow triangle", 15)


def phrases(tokens):
    words = decode_words(tokens).split(" and ")
    return [tuple(w.split()[1:]) for w in words]


# ---- foils -------------------------------------------------------------------------------------------------------

def test_caption_bag_counts_words_and_ignores_padding_and_order():
    bag = caption_bag(torch.as_tensor(np.stack([CAPTION, encode_words("a blue square and a red circle and a yellow "
                                                                       "triangle", 15)])))
    assert bag.shape == (2, len(VOCAB)) and bag.dtype == torch.float32
    assert bag[0, 0] == 0 and bag[0, VOCAB.index("a")] == 3 and bag[0, VOCAB.index("and")] == 2
    assert bag[0].sum() == 11
    assert torch.equal(bag[0], bag[1])  # a bag of words cannot see which colour goes with which shape
    with pytest.raises(ValueError, match="token ids"):
        caption_bag(torch.tensor([[0, 99]]))
    with pytest.raises(ValueError, match="integer word ids"):
        caption_bag(torch.zeros(2, 3))


def test_caption_one_hot_keeps_the_order_that_the_bag_forgets():
    swapped = encode_words("a blue square and a red circle and a yellow triangle", 15)
    one_hot = caption_one_hot(torch.as_tensor(np.stack([CAPTION, swapped])))
    assert one_hot.shape == (2, 15 * len(VOCAB))
    assert torch.equal(one_hot.reshape(2, 15, -1).argmax(-1), torch.as_tensor(np.stack([CAPTION, swapped])).long())
    assert not torch.equal(one_hot[0], one_hot[1])
    assert torch.equal(one_hot.reshape(2, 15, -1).sum(1)[:, 1:], caption_bag(np.stack([CAPTION, swapped]))[:, 1:])
    with pytest.raises(ValueError, match="token ids"):
        caption_one_hot(torch.tensor([-1, 2]))


@pytest.mark.parametrize("attribute", ["colour", "shape"])
def test_swap_attribute_changes_one_word_to_an_absent_kind(attribute):
    g = torch.Generator().manual_seed(0)
    slot = 0 if attribute == "colour" else 1
    for _ in range(20):
        foil = swap_attribute(CAPTION, attribute, generator=g)
        changed = (foil != torch.as_tensor(CAPTION)).nonzero().flatten().tolist()
        assert len(changed) == 1
        old, new = phrases(CAPTION), phrases(foil)
        t = next(i for i in range(3) if old[i] != new[i])
        assert old[t][1 - slot] == new[t][1 - slot] and old[t][slot] != new[t][slot]
        assert new[t] not in old  # the foil names a kind the scene lacks
        assert new[t][slot] in (COLOURS if attribute == "colour" else SHAPES)


def test_binding_foil_keeps_the_bag_and_breaks_the_pairing():
    foil = swap_attribute(CAPTION, "binding", generator=torch.Generator().manual_seed(1))
    assert torch.equal(caption_bag(foil), caption_bag(CAPTION))
    assert sorted(c for c, _ in phrases(foil)) == sorted(c for c, _ in phrases(CAPTION))
    assert len(set(phrases(foil)) & set(phrases(CAPTION))) == 1  # two of the three objects are now wrong
    with pytest.raises(ValueError, match="no two phrases differ"):
        swap_attribute(encode_words("a red square and a red circle"), "binding")


def test_swap_attribute_rejects_bad_input():
    with pytest.raises(ValueError, match="attribute must be one of"):
        swap_attribute(CAPTION, "size")
    with pytest.raises(ValueError, match="one caption"):
        swap_attribute(np.stack([CAPTION, CAPTION]))
    with pytest.raises(ValueError, match="scene caption"):
        swap_attribute(encode_words("how many red objects ?"))
    assert FOIL_KINDS == ("colour", "shape", "binding")


def test_foil_accuracy_by_hand_counts_ties_as_failures():
    true = torch.tensor([0.9, 0.5, 0.4, 0.0])
    foils = torch.tensor([[0.1, 0.2], [0.6, 0.1], [0.4, 0.0], [0.0, 0.0]])
    assert foil_accuracy(true, foils) == pytest.approx(0.25)
    assert foil_accuracy(np.array([1.0, 0.0]), np.array([0.5, 0.5])) == 0.5  # one foil per image, NumPy
    assert foil_accuracy(true + 1, foils) == 1.0
    with pytest.raises(ValueError, match="score_foils must be"):
        foil_accuracy(true, foils[:3])
    with pytest.raises(ValueError, match="score_true must be"):
        foil_accuracy(torch.zeros(2, 2), foils)
    with pytest.raises(ValueError, match="finite"):
        foil_accuracy(torch.tensor([float("nan")] * 4), foils)


# ---- diversity and memorisation ----------------------------------------------------------------------------------

def test_mean_pairwise_distance_by_hand_and_for_identical_samples():
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    assert mean_pairwise_distance(x) == pytest.approx((5 + 10 + 5) / 3)
    assert mean_pairwise_distance(torch.ones(10, 3, 4)) == 0.0  # mode collapse: no diversity
    assert mean_pairwise_distance(np.eye(4)) == pytest.approx(np.sqrt(2))
    with pytest.raises(ValueError, match="at least 2"):
        mean_pairwise_distance(torch.ones(1, 3))
    with pytest.raises(TypeError, match="samples must be"):
        mean_pairwise_distance([[0.0], [1.0]])
    with pytest.raises(ValueError, match="NaN"):
        mean_pairwise_distance(torch.tensor([[0.0], [float("inf")]]))


def test_label_entropy_by_hand():
    assert label_entropy(torch.tensor([0, 1, 2, 3])) == pytest.approx(2.0)
    assert label_entropy([7, 7, 7]) == 0.0
    assert label_entropy(np.array([0, 0, 0, 1])) == pytest.approx(-(0.75 * np.log2(0.75) + 0.25 * np.log2(0.25)))
    with pytest.raises(ValueError, match="lie in 0..2"):
        label_entropy([0, 3], num_classes=3)
    with pytest.raises(ValueError, match="integers"):
        label_entropy(torch.tensor([0.5, 1.0]))


def test_nearest_distance_is_zero_for_copies_and_exact_by_hand():
    g = torch.Generator().manual_seed(0)
    train = torch.rand(50, 8, 8, generator=g)
    assert torch.equal(nearest_distance(train[:10], train), torch.zeros(10, dtype=torch.float64))
    d = nearest_distance(torch.tensor([[0.0, 1.0], [5.0, 5.0]]), torch.tensor([[0.0, 0.0], [5.0, 1.0]]))
    assert torch.allclose(d, torch.tensor([1.0, 4.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="same number of values"):
        nearest_distance(torch.rand(3, 4), torch.rand(3, 5))


def test_memorisation_ratio_separates_copies_from_fresh_samples():
    g = torch.Generator().manual_seed(0)
    train, heldout, fresh = (torch.rand(n, 16, generator=g) for n in (300, 100, 100))
    assert memorisation_ratio(train[:100], train, heldout) == 0.0  # a generator that copies its training data
    assert memorisation_ratio(fresh, train, heldout) == pytest.approx(1.0, abs=0.15)  # new samples, same law
    noisy_copies = train[:100] + 0.01 * torch.randn(100, 16, generator=g)
    assert memorisation_ratio(noisy_copies, train, heldout) < 0.2
    with pytest.raises(ValueError, match="held-out"):
        memorisation_ratio(fresh, train, train[:10])


# ---- skew --------------------------------------------------------------------------------------------------------

def test_skewed_scenes_have_the_asked_shares_and_consistent_columns():
    data = skewed_scenes(600, red_share=0.8, named_share=0.5, seed=0)
    assert data["image"].shape == (600, 30, 30, 3) and data["kinds"].shape == (600, 12)
    squares = data["shape"] == SHAPES.index("square")
    assert (data["colour"][squares] == 0).float().mean() == pytest.approx(0.8, abs=0.06)
    assert (data["colour"][~squares] == 0).float().mean() == pytest.approx(0.25, abs=0.06)
    assert data["named"].float().mean() == pytest.approx(0.5, abs=0.08)  # 4 standard errors
    assert torch.allclose(data["kinds"].sum(1), torch.ones(600))
    i = int(data["named"].nonzero()[0])
    assert decode_words(data["caption"][i]) == f"a {COLOURS[data['colour'][i]]} {SHAPES[data['shape'][i]]}"
    assert data["kinds"][i, data["colour"][i] * 3 + data["shape"][i]] == 1
    j = int((~data["named"]).nonzero()[0])
    assert decode_words(data["caption"][j]) == f"a {SHAPES[data['shape'][j]]}"
    assert torch.allclose(data["kinds"][j].reshape(4, 3)[:, data["shape"][j]], torch.full((4,), 0.25))
    assert torch.equal(skewed_scenes(5, seed=3)["image"], skewed_scenes(5, seed=3)["image"])
    with pytest.raises(ValueError, match="red_share"):
        skewed_scenes(5, red_share=1.5)
    with pytest.raises(ValueError, match="n must be"):
        skewed_scenes(0)


def test_read_colour_is_exact_on_rendered_scenes_and_flags_empty_images():
    data = skewed_scenes(200, seed=1)
    assert torch.equal(read_colour(data["image"]), data["colour"])
    clean = np.stack([render_scene([c], [s], [4]) for c in range(4) for s in range(3)])
    assert read_colour(clean).tolist() == [c for c in range(4) for _ in range(3)]
    assert read_colour(torch.zeros(1, 30, 30, 3)).tolist() == [-1]
    # a 80/20 blend of red and the other colours still reads red: the mean decoder's square
    blend = 0.8 * clean[0] + 0.2 * clean[3:12:3].mean(0)
    assert read_colour(blend[None]).tolist() == [0]
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        read_colour(torch.zeros(30, 30, 3))
    with pytest.raises(ValueError, match="threshold"):
        read_colour(clean, threshold=1.5)


def test_skew_amplification():
    assert skew_amplification(0.8, 1.0) == pytest.approx(0.2)
    assert skew_amplification(0.8, 0.8) == 0.0
    assert skew_amplification(0.8, 0.5) == pytest.approx(-0.3)
    with pytest.raises(ValueError, match="generated_share"):
        skew_amplification(0.8, 1.2)
