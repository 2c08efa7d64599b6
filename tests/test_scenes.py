"""The scene world: shapes and types, determinism, captions and answers that agree with the objects, rendering."""
import doctest

import numpy as np
import pytest
import torch

import mmcourse.data.scenes as scenes_module
from mmcourse.data import (ANSWERS, CELL, COLOURS, GRID, QUESTION_TYPES, SHAPES, VOCAB, crop_regions, decode_words,
                           encode_words, load_scenes, phrase_tokens, render_scene)
from mmcourse.data.scenes import RGB

SIZES = dict(n_train=300, n_val=20, n_test=50)


@pytest.fixture(scope="module")
def scenes():
    return load_scenes(**SIZES, seed=0)


def objects(row):
    k = int(row["n_objects"])
    return [(int(row["colour"][t]), int(row["shape"][t]), int(row["cell"][t])) for t in range(k)]


def test_splits_shapes_and_types(scenes):
    assert {split: scenes[split].num_rows for split in scenes} == {"train": 300, "validation": 20, "test": 50}
    train = scenes["train"][:]
    assert train["image"].shape == (300, GRID * CELL, GRID * CELL, 3) and train["image"].dtype == torch.float32
    assert 0 <= train["image"].min() and train["image"].max() <= 1
    for column in ("colour", "shape", "cell"):
        assert train[column].shape == (300, 4)
    assert train["caption"].shape == (300, 15) and train["question"].shape == (300, 7)
    assert set(train["n_objects"].tolist()) == {2, 3, 4}
    features = scenes["train"].features
    assert features["answer"].names == list(ANSWERS) and features["question_type"].names == list(QUESTION_TYPES)


def test_objects_are_padded_distinct_and_in_reading_order(scenes):
    for row in scenes["train"]:
        k = int(row["n_objects"])
        for column in ("colour", "shape", "cell"):
            assert (row[column][k:] == -1).all() and (row[column][:k] >= 0).all()
        cells = row["cell"][:k].tolist()
        assert cells == sorted(set(cells))                        # distinct cells, row by row
        kinds = {(c, s) for c, s, _ in objects(row)}
        assert len(kinds) == k                                    # no two objects share colour and shape


def test_determinism_by_seed():
    a = load_scenes(**SIZES, seed=3, cache=False)
    b = load_scenes(**SIZES, seed=3, cache=False)
    c = load_scenes(**SIZES, seed=4, cache=False)
    assert torch.equal(a["train"]["image"][:], b["train"]["image"][:])
    assert torch.equal(a["test"]["caption"][:], b["test"]["caption"][:])
    assert not torch.equal(a["train"]["image"][:], c["train"]["image"][:])
    bigger = load_scenes(n_train=310, n_val=20, n_test=50, seed=3, cache=False)  # the test split stays as it was
    assert torch.equal(a["test"]["image"][:], bigger["test"]["image"][:])


def test_cache_returns_the_same_data(scenes):
    again = load_scenes(**SIZES, seed=0)
    assert torch.equal(again["validation"]["image"][:], scenes["validation"]["image"][:])


def test_captions_name_the_objects_in_order(scenes):
    for row in scenes["train"]:
        expected = " and ".join(f"a {COLOURS[c]} {SHAPES[s]}" for c, s, _ in objects(row))
        assert decode_words(row["caption"]) == expected
        words = row["caption"].reshape(-1)
        phrases = phrase_tokens(row["colour"], row["shape"])[:int(row["n_objects"])]
        for t, phrase in enumerate(phrases):                      # the t-th phrase sits at words 4t+1, 4t+2
            assert words[4 * t + 1:4 * t + 3].tolist() == phrase.tolist()


def _answer(question: str, objs) -> str:
    """Recompute the answer from the object list, parsing the question's words independently of the generator."""
    w = question.split()
    colours = [COLOURS[c] for c, _, _ in objs]
    shapes = [SHAPES[s] for _, s, _ in objs]
    if w[:2] == ["how", "many"] and w[3] == "objects":
        return str(colours.count(w[2]))
    if w[:2] == ["how", "many"]:
        return str(shapes.count(w[2][:-1]))                      # "circles" → "circle"
    if w[:2] == ["what", "colour"]:
        (answer,) = [c for c, s in zip(colours, shapes) if s == w[4]]
        return answer
    if w[:2] == ["what", "shape"]:
        (answer,) = [s for c, s in zip(colours, shapes) if c == w[4]]
        return answer
    assert w[:3] == ["is", "there", "a"], question
    return "yes" if (w[3], w[4]) in set(zip(colours, shapes)) else "no"


def test_answers_are_correct(scenes):
    types = []
    for split in ("train", "test"):
        for row in scenes[split]:
            question = decode_words(row["question"])
            assert ANSWERS[int(row["answer"])] == _answer(question, objects(row)), question
            types.append(int(row["question_type"]))
    counts = np.bincount(types, minlength=len(QUESTION_TYPES))
    assert (counts > 20).all(), counts                         # every template is used
    exists = [ANSWERS[int(r["answer"])] for r in scenes["train"] if QUESTION_TYPES[int(r["question_type"])] == "exists"]
    assert 0.3 < exists.count("yes") / len(exists) < 0.7


def test_rendering_puts_the_right_colour_in_the_right_cell():
    ds = load_scenes(n_train=60, n_val=1, n_test=1, noise=0.0, seed=1, cache=False)["train"]
    for row in ds:
        image = row["image"].numpy()
        occupied = set()
        for c, _, cell in objects(row):
            r, q = divmod(cell, GRID)
            centre = image[r * CELL + CELL // 2, q * CELL + CELL // 2]
            brightness = centre.max() / RGB[c].max()
            assert 0.74 <= brightness <= 1.0
            np.testing.assert_allclose(centre, brightness * RGB[c], atol=1e-5)
            occupied.add(cell)
        for cell in set(range(GRID * GRID)) - occupied:
            r, q = divmod(cell, GRID)
            assert image[r * CELL:(r + 1) * CELL, q * CELL:(q + 1) * CELL].max() == 0.0


def test_render_scene_shapes_differ_and_canonical_is_exact():
    masks = [render_scene([0], [s], [0])[:CELL, :CELL, 0] > 0 for s in range(len(SHAPES))]
    areas = [m.sum() for m in masks]
    assert all(25 <= a <= 60 for a in areas), areas
    assert not (masks[0] == masks[1]).all() and not (masks[1] == masks[2]).all()
    assert masks[2][2, 5] and not masks[2][2, 1] and masks[2][7, 1]    # a triangle: narrow top, wide base
    image = render_scene([3, 1], [0, 2], [0, 8])
    np.testing.assert_allclose(image[5, 5], RGB[3], atol=1e-6)
    np.testing.assert_allclose(image[25, 25], RGB[1], atol=1e-6)
    with pytest.raises(ValueError, match="two objects in one cell"):
        render_scene([0, 1], [0, 0], [4, 4])
    with pytest.raises(ValueError, match="colour must hold indices"):
        render_scene([7], [0], [4])
    with pytest.raises(ValueError, match="same length"):
        render_scene([0, 1], [0], [4])


def test_crop_regions_numpy_and_torch():
    image = render_scene([0, 2, 3], [1, 0, 2], [1, 5, 6])
    regions = crop_regions(image, [5, 1, -1])
    assert isinstance(regions, np.ndarray) and regions.shape == (3, CELL, CELL, 3)
    np.testing.assert_array_equal(regions[0], image[10:20, 20:30])
    np.testing.assert_array_equal(regions[1], image[0:10, 10:20])
    assert (regions[2] == 0).all()
    batch = torch.stack([torch.as_tensor(image), torch.zeros_like(torch.as_tensor(image))])
    out = crop_regions(batch, torch.tensor([[6, 1], [0, -1]]))
    assert isinstance(out, torch.Tensor) and out.shape == (2, 2, CELL, CELL, 3)
    assert torch.equal(out[0, 0], torch.as_tensor(image[20:30, 0:10]))
    with pytest.raises(ValueError, match="images must have shape"):
        crop_regions(np.zeros((28, 28, 3)), [0])
    with pytest.raises(ValueError, match="cells must be in"):
        crop_regions(image, [9])
    with pytest.raises(ValueError, match="cells must be integers"):
        crop_regions(image, [[0], [1]])


def test_words():
    ids = encode_words("what colour is the circle ?", length=7)
    assert ids.dtype == np.int32 and ids[-1] == 0 and decode_words(ids) == "what colour is the circle ?"
    assert len(set(VOCAB)) == len(VOCAB) and VOCAB[0] == "<pad>"
    with pytest.raises(ValueError, match="unknown word"):
        encode_words("a purple circle")
    with pytest.raises(ValueError, match="more than length=2"):
        encode_words("a red circle", length=2)
    with pytest.raises(ValueError, match="ids must be integers"):
        decode_words([len(VOCAB)])
    assert phrase_tokens([1], [2]).tolist() == [[VOCAB.index("green"), VOCAB.index("triangle")]]
    with pytest.raises(ValueError, match="same shape"):
        phrase_tokens([1, 2], [0])


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_train=0), "n_train must be a positive integer"),
    (dict(min_objects=0), "min_objects must be an integer in 1..9"),
    (dict(max_objects=10), "max_objects must be an integer in 1..9"),
    (dict(min_objects=4, max_objects=3), "min_objects must be ≤ max_objects"),
    (dict(noise=-0.1), "noise must be a finite number >= 0"),
    (dict(seed=-1), "seed must be a non-negative integer"),
])
def test_load_scenes_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_scenes(**{**SIZES, **kwargs}, cache=False)


def test_more_objects_and_doctests():
    ds = load_scenes(n_train=20, n_val=1, n_test=1, min_objects=9, max_objects=9, seed=2, cache=False)["train"]
    assert (ds["n_objects"][:] == 9).all() and ds["caption"][:].shape == (20, 35)
    assert doctest.testmod(scenes_module).failed == 0
