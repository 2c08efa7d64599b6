"""Tests of the hierarchy toy (Part 2.4): its tree, its closure, its splits, seeds and cache."""
import doctest

import numpy as np
import pytest
import torch

import mmcourse.data.hierarchy as hierarchy_module
from mmcourse.data import HIERARCHY_LEVELS, TREE, ancestor_matrix, as_tensors, hierarchy_concepts, load_hierarchy
from mmcourse.representation import cca


def test_concepts_follow_the_tree():
    names, parent, level = hierarchy_concepts()
    assert len(names) == len(set(names)) == 3 + 9 + 27
    assert [HIERARCHY_LEVELS[v] for v in level[[0, 3, 12]]] == ["supercategory", "category", "item"]
    for s, categories in TREE.items():
        for c, items in categories.items():
            assert names[parent[names.index(c)]] == s
            assert all(names[parent[names.index(i)]] == c for i in items)
    assert (parent[level == 0] == -1).all() and (level[parent[level > 0]] == level[level > 0] - 1).all()


def test_ancestor_matrix():
    closure = ancestor_matrix(hierarchy_concepts()[1])
    names = hierarchy_concepts()[0]
    poodle = names.index("poodle")
    assert sorted(names[j] for j in np.flatnonzero(closure[poodle])) == ["animal", "dog", "poodle"]
    assert closure.sum() == 3 * 1 + 9 * 2 + 27 * 3
    with pytest.raises(ValueError, match="cycle"):
        ancestor_matrix([1, 0])
    with pytest.raises(ValueError, match="parent must be a 1-D sequence of ints"):
        ancestor_matrix([0.5, -1])
    with pytest.raises(ValueError, match="parent must be"):
        ancestor_matrix([-1, 5])


def test_splits_features_and_consistency():
    ds = load_hierarchy(n_train=4, n_val=2, n_test=3, cache=False)
    assert {s: ds[s].num_rows for s in ds} == {"train": 108, "validation": 54, "test": 81, "concepts": 39}
    parent = ds["concepts"]["parent"][:]
    split = ds["train"]
    assert torch.equal(parent[split["item"][:]], split["category"][:])
    assert torch.equal(parent[split["category"][:]], split["supercategory"][:])
    assert split.features["label"].names[int(split["label"][0])] == ds["concepts"]["name"][int(split["category"][0])]
    (images,), labels = as_tensors(split, ["image"])
    assert images.shape == (108, 24) and labels.max() == 8
    assert ds["concepts"]["text"][:].shape == (39, 16)


def test_seeded_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("MMCOURSE_CACHE", str(tmp_path))
    a = load_hierarchy(n_train=2, n_val=1, n_test=1, seed=3)
    b = load_hierarchy(n_train=2, n_val=1, n_test=1, seed=3)
    c = load_hierarchy(n_train=2, n_val=1, n_test=1, seed=4, cache=False)
    assert torch.equal(a["train"]["image"][:], b["train"]["image"][:])
    assert not torch.equal(a["train"]["image"][:], c["train"]["image"][:])
    # more training images leave the test images as they were
    d = load_hierarchy(n_train=5, n_val=1, n_test=1, seed=3, cache=False)
    assert torch.equal(a["test"]["image"][:], d["test"]["image"][:])
    with pytest.raises(ValueError, match="n_train must be a positive integer"):
        load_hierarchy(n_train=0)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        load_hierarchy(seed=-1)


def test_images_and_names_are_linearly_correlated():
    # Both modalities are linear views of the same latents: CCA between an image and its item's name finds it.
    ds = load_hierarchy()
    text = ds["concepts"]["text"][:]
    train = ds["train"]
    rho = cca(train["image"][:], text[train["item"][:]], k=3, reg=1e-3).correlations
    assert rho.min() > 0.8


def test_docstring_examples():
    result = doctest.testmod(hierarchy_module)
    assert result.attempted > 0 and result.failed == 0
