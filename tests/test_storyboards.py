"""Tests of the storyboards of Part 5.1: shapes, captions against the object tables, the images, bad arguments."""
import numpy as np
import pytest

from mmcourse.data import COLOURS, SHAPES, decode_words, load_storyboards, render_scene
from mmcourse.data.storyboards import MAX_FRAME_OBJECTS, STORY_CAPTION_LENGTH


@pytest.fixture(scope="module")
def boards():
    return load_storyboards(n_train=12, n_val=2, n_test=3, frames=5, seed=1, cache=False)


def test_shapes_and_splits(boards):
    assert [boards[s].num_rows for s in ("train", "validation", "test")] == [12, 2, 3]
    row = boards["train"][0]
    assert tuple(row["image"].shape) == (5, 30, 30, 3)
    assert tuple(row["colour"].shape) == (5, MAX_FRAME_OBJECTS)
    assert tuple(row["caption"].shape) == (5, STORY_CAPTION_LENGTH)
    assert float(row["image"].min()) >= 0 and float(row["image"].max()) <= 1


def test_captions_name_one_or_two_of_the_frame_objects(boards):
    for row in boards["train"]:
        for f in range(5):
            k = int(row["n_objects"][f])
            assert 2 <= k <= 4 and (row["cell"][f][k:] == -1).all() and (row["named"][f][k:] == -1).all()
            named = row["named"][f][:k].numpy()
            assert 1 <= named.sum() <= 2
            expected = " and ".join(f"a {COLOURS[c]} {SHAPES[s]}" for c, s, n in
                                    zip(row["colour"][f][:k].tolist(), row["shape"][f][:k].tolist(), named) if n)
            assert decode_words(row["caption"][f]) == expected
            kinds = (row["colour"][f][:k] * 3 + row["shape"][f][:k]).tolist()
            assert len(set(kinds)) == k and (np.diff(row["cell"][f][:k].numpy()) > 0).all()


def test_image_shows_every_object(boards):
    row = boards["train"][3]
    for f in range(5):
        k = int(row["n_objects"][f])
        clean = render_scene(row["colour"][f][:k], row["shape"][f][:k], row["cell"][f][:k])
        for cell, c in zip(row["cell"][f][:k].tolist(), row["colour"][f][:k].tolist()):
            y, x = divmod(cell, 3)
            centre = row["image"][f][10 * y + 5, 10 * x + 5].numpy()
            assert np.abs(centre - clean[10 * y + 5, 10 * x + 5]).max() < 0.45, (f, cell, COLOURS[c])


def test_a_cast_recurs_across_frames():
    ds = load_storyboards(n_train=40, n_val=1, n_test=1, cast=6, extra=0.0, seed=0, cache=False)["train"]
    kinds = (ds["colour"][:] * 3 + ds["shape"][:]).numpy()  # (boards, frames, 4), padding < 0
    per_board = [len(set(k[k >= 0].tolist())) for k in kinds]
    assert max(per_board) <= 6  # no walk-ons: only the cast
    top = [np.bincount(k[k >= 0], minlength=12).max() for k in kinds]
    assert np.mean(top) >= 3.5  # the main character appears in most of the six frames
    walk_ons = load_storyboards(n_train=40, n_val=1, n_test=1, cast=6, extra=1.0, seed=0, cache=False)["train"]
    kinds = (walk_ons["colour"][:] * 3 + walk_ons["shape"][:]).numpy()
    assert max(len(set(k[k >= 0].tolist())) for k in kinds) > 6


def test_seed_determinism_and_split_independence():
    a = load_storyboards(n_train=2, n_val=1, n_test=2, seed=3, cache=False)
    b = load_storyboards(n_train=4, n_val=1, n_test=2, seed=3, cache=False)
    assert (a["test"]["image"][:] == b["test"]["image"][:]).all()
    assert (a["train"]["caption"][:] == b["train"]["caption"][:2]).all()


@pytest.mark.parametrize("kwargs, match", [({"n_train": 0}, "n_train"), ({"frames": 1}, "frames"),
                                           ({"cast": 3}, "cast"), ({"extra": 1.5}, "extra"),
                                           ({"noise": -0.1}, "noise"), ({"seed": -1}, "seed")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_storyboards(cache=False, **kwargs)
