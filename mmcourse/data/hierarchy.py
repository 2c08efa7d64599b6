r"""Hierarchy: a small tree of concepts seen by two modalities, for order embeddings (Part 2.4).

Three supercategories, each with three categories, each with three items (39 concepts, names in :data:`TREE`).
Every concept :math:`c` has a latent vector drawn down the tree, so that relatives are alike:

.. math::

    z_s \sim \mathcal N(0, I_8), \qquad z_c = z_{\mathrm{parent}(c)} + \sigma_{\ell}\, \varepsilon_c
    \quad (\sigma = 0.8 \text{ for a category}, 0.5 \text{ for an item}).

Two modalities see the latents through fixed random Gaussian projections:

- **text**, one row per concept (its *name*, at any level): :math:`t_c = z_c Q + 0.05\,\eta_c \in \mathbb R^{16}`;
- **images**, many per item: :math:`x = (z_{\mathrm{item}} + 0.3\,\xi) P + 0.05\,\zeta \in \mathbb R^{24}`, a noisy
  view of the item.

The order to learn is the tree's: an image ⪯ its item's name ⪯ its category's name ⪯ its supercategory's name
(⪯ reads "is more specific than"). The images of one item are split into ``train``, ``validation`` and ``test``;
the concepts are the same for all splits and come as a fourth split, ``concepts``.
"""
from __future__ import annotations

import numpy as np
from datasets import ClassLabel, DatasetDict, Features, Value

from mmcourse.data._cache import cached
from mmcourse.data._common import check_seed, check_sizes, float_vector, split_rngs, to_dataset_dict

__all__ = ["TREE", "HIERARCHY_LEVELS", "hierarchy_concepts", "ancestor_matrix", "load_hierarchy"]

TREE = {
    "animal": {"dog": ["terrier", "poodle", "beagle"], "cat": ["tabby", "siamese", "persian"],
               "bird": ["sparrow", "eagle", "parrot"]},
    "vehicle": {"car": ["sedan", "taxi", "jeep"], "boat": ["canoe", "yacht", "ferry"],
                "aircraft": ["glider", "jet", "helicopter"]},
    "plant": {"tree": ["oak", "pine", "palm"], "flower": ["rose", "tulip", "daisy"],
              "grass": ["bamboo", "wheat", "reed"]},
}
HIERARCHY_LEVELS = ("supercategory", "category", "item")

LATENT_DIM, TEXT_DIM, IMAGE_DIM = 8, 16, 24
LEVEL_SPREAD = {"category": 0.8, "item": 0.5}   # how far a child's latent strays from its parent's
TEXT_NOISE, IMAGE_SPREAD, IMAGE_NOISE = 0.05, 0.3, 0.05


def hierarchy_concepts() -> tuple[list[str], np.ndarray, np.ndarray]:
    """The concepts of :data:`TREE`: supercategories first, then categories, then items.

    Returns
    -------
    names : list of str
    parent : numpy.ndarray of int, shape (39,)
        The index of each concept's parent, ``-1`` for a supercategory.
    level : numpy.ndarray of int, shape (39,)
        0, 1, 2 for supercategory, category, item (see :data:`HIERARCHY_LEVELS`).

    Examples
    --------
    >>> names, parent, level = hierarchy_concepts()
    >>> names[parent[names.index("poodle")]], names[parent[names.index("dog")]], int(level[names.index("dog")])
    ('dog', 'animal', 1)
    """
    supers = list(TREE)
    categories = [(s, c) for s in supers for c in TREE[s]]
    items = [(c, i) for s in supers for c in TREE[s] for i in TREE[s][c]]
    names = supers + [c for _, c in categories] + [i for _, i in items]
    parent = [-1] * len(supers) + [names.index(s) for s, _ in categories] + [names.index(c) for c, _ in items]
    level = [0] * len(supers) + [1] * len(categories) + [2] * len(items)
    return names, np.array(parent, dtype=np.int64), np.array(level, dtype=np.int64)


def ancestor_matrix(parent) -> np.ndarray:
    """``A[c, c']`` is True when concept ``c'`` is ``c`` itself or one of its ancestors (the order's closure).

    Parameters
    ----------
    parent : sequence of int
        The parent of each node, ``-1`` for a root; indices into the same sequence.

    Examples
    --------
    >>> ancestor_matrix([-1, 0, 1]).astype(int)          # a chain 2 → 1 → 0
    array([[1, 0, 0],
           [1, 1, 0],
           [1, 1, 1]])
    """
    parent = np.asarray(parent)
    if parent.ndim != 1 or parent.dtype.kind not in "iu" or ((parent < -1) | (parent >= len(parent))).any():
        raise ValueError(f"ancestor_matrix: parent must be a 1-D sequence of ints in [-1, {len(parent)}), got "
                         f"{parent!r}")
    closure = np.eye(len(parent), dtype=bool)
    for node in range(len(parent)):
        step, seen = parent[node], 0
        while step >= 0:
            closure[node, step] = True
            step, seen = parent[step], seen + 1
            if seen > len(parent):
                raise ValueError(f"ancestor_matrix: parent has a cycle through node {node}")
    return closure


def load_hierarchy(*, n_train: int = 10, n_val: int = 3, n_test: int = 6, seed: int = 0,
                   cache: bool = True) -> DatasetDict:
    """Load (generate on first use) the hierarchy toy.

    Parameters
    ----------
    n_train, n_val, n_test : int
        Images *per item* (27 items) in the ``train``, ``validation`` and ``test`` splits.
    seed : int
        Seeds the latents, the projections, the concept names' features and every image.
    cache : bool
        Read and write the on-disk cache; ``False`` generates afresh.

    Returns
    -------
    DatasetDict
        ``train``, ``validation``, ``test``: columns ``image`` (float32, 24), ``item``, ``category``,
        ``supercategory`` (int64 indices of the image's concepts in the ``concepts`` split) and ``label`` (the
        category, a ``ClassLabel``). ``concepts``: columns ``text`` (float32, 16), ``name``, ``level``
        (``ClassLabel`` of :data:`HIERARCHY_LEVELS`) and ``parent`` (int64, ``-1`` for a supercategory).

    Examples
    --------
    >>> ds = load_hierarchy(cache=False)
    >>> ds["train"].num_rows, ds["concepts"].num_rows, ds["concepts"]["name"][int(ds["train"]["item"][0])]
    (270, 39, 'terrier')
    """
    where = "load_hierarchy"
    sizes = check_sizes(where, n_train=n_train, n_val=n_val, n_test=n_test)
    seed = check_seed(seed, where)
    return cached("hierarchy", {**sizes, "seed": seed}, lambda: _generate(seed=seed, **sizes), cache)


def _generate(*, n_train: int, n_val: int, n_test: int, seed: int) -> DatasetDict:
    rng = np.random.default_rng(seed)
    names, parent, level = hierarchy_concepts()
    latent = np.zeros((len(names), LATENT_DIM))
    for c in range(len(names)):                        # parents come before their children
        if parent[c] < 0:
            latent[c] = rng.standard_normal(LATENT_DIM)
        else:
            spread = LEVEL_SPREAD[HIERARCHY_LEVELS[level[c]]]
            latent[c] = latent[parent[c]] + spread * rng.standard_normal(LATENT_DIM)
    text_map = rng.standard_normal((LATENT_DIM, TEXT_DIM)) / np.sqrt(LATENT_DIM)
    image_map = rng.standard_normal((LATENT_DIM, IMAGE_DIM)) / np.sqrt(LATENT_DIM)
    text = latent @ text_map + TEXT_NOISE * rng.standard_normal((len(names), TEXT_DIM))
    items = np.flatnonzero(level == 2)
    sizes = {"train": n_train, "validation": n_val, "test": n_test}
    columns = {}
    for split, split_rng in split_rngs(rng).items():
        item = np.repeat(items, sizes[split])
        z = latent[item] + IMAGE_SPREAD * split_rng.standard_normal((len(item), LATENT_DIM))
        image = z @ image_map + IMAGE_NOISE * split_rng.standard_normal((len(item), IMAGE_DIM))
        category = parent[item]
        columns[split] = {"image": image.astype(np.float32), "item": item, "category": category,
                          "supercategory": parent[category], "label": category - len(TREE)}
    categories = [names[c] for c in np.flatnonzero(level == 1)]
    image_features = Features({"image": float_vector(IMAGE_DIM), "item": Value("int64"),
                               "category": Value("int64"), "supercategory": Value("int64"),
                               "label": ClassLabel(names=categories)})
    dataset = to_dataset_dict(columns, image_features)
    concept_features = Features({"text": float_vector(TEXT_DIM), "name": Value("string"),
                                 "level": ClassLabel(names=list(HIERARCHY_LEVELS)), "parent": Value("int64")})
    dataset["concepts"] = to_dataset_dict({"concepts": {"text": text.astype(np.float32), "name": names,
                                                        "level": level, "parent": parent}},
                                          concept_features)["concepts"]
    return dataset
