"""The book's toy worlds, generated from a seed: interaction data, the taxonomy, digits with audio, sequences.

Every loader returns a Hugging Face ``datasets.DatasetDict`` with splits ``train``, ``validation`` and ``test``,
typed features and the torch format. Nothing is downloaded: the data is generated in well under a second, saved under
``$MMCOURSE_CACHE`` (default ``~/.cache/mmcourse``) and kept in memory, so that a second load is instant.

============================  ====================================================================================
``load_interaction(name)``    redundancy, uniqueness and synergy from latents (the PID paper's construction)
``load_taxonomy(name)``       equivalence, enhancement, independence, dominance, modulation, emergence
``load_digits_pair()``        scikit-learn's handwritten 8x8 digits with a rendered "audio" spectrogram
``bitwise_distribution(n)``   exact discrete distributions ``p[x1, x2, y]`` (AND, OR, XOR, ...)
``make_warped_pair(kind)``    one pair of sequences at different rates with its generating warp (a plain dict)
``load_sequences(kind)``      many warped pairs (sinusoid, events), labelled by whether their events coincide
``load_speech()``             a tiny "speech": symbol strings rendered as frames, with the frame-level alignment
``load_multiview()``          four views of one latent in two families of similar views (heterogeneity, Part 2.2)
``load_imbalance()``          an easy modality that dominates training and a weak complementary one (Part 2.3)
``load_scenes()``             a grid world of coloured shapes with captions, questions and answers (Part 3 on)
``load_scene_questions()``    the scenes with reasoning questions, their programs, facts and a held-out split (Part 4)
``load_temporal()``           two event sequences whose label needs the order of events across both (Part 4.1)
``GridWorld``                 an instruction-following grid world with an expert, for agents (Part 4.1)
``load_storyboards()``        sequences of captioned scenes whose captions name only part of what they show (Part 5.1)
``load_hierarchy()``          a concept tree seen as item "images" and concept "text" (order embeddings, Part 2.4)
``as_tensors(split)``         the modality columns as float32 tensors and the labels as int64
============================  ====================================================================================

Examples
--------
>>> from mmcourse.data import load_dataset, as_tensors
>>> ds = load_dataset("synergy", n_train=100, n_val=10, n_test=10, cache=False)
>>> (x1, x2), y = as_tensors(ds["train"])
>>> x1.shape, y.shape
(torch.Size([100, 12]), torch.Size([100]))
"""
from __future__ import annotations

from datasets import DatasetDict

from mmcourse.data import gridworld, hierarchy, imbalance, multiview, scene_questions, scenes, storyboards, temporal
from mmcourse.data.bitwise import BITWISE, bitwise_distribution
from mmcourse.data.hierarchy import *  # noqa: F401,F403  (the order-embedding toy of Part 2.4)
from mmcourse.data.imbalance import *  # noqa: F401,F403  (the imbalanced-modalities toy of Part 2.3)
from mmcourse.data.multiview import *  # noqa: F401,F403  (the many-modality toy of Part 2.2)
from mmcourse.data.scenes import *  # noqa: F401,F403  (the grid world of coloured shapes, from Part 3 on)
from mmcourse.data.scene_questions import *  # noqa: F401,F403  (reasoning questions with programs, Part 4)
from mmcourse.data.temporal import *  # noqa: F401,F403  (the temporal toy of Part 4.1)
from mmcourse.data.gridworld import *  # noqa: F401,F403  (the instruction-following grid world of Part 4.1)
from mmcourse.data.storyboards import *  # noqa: F401,F403  (sequences of captioned scenes to summarize, Part 5.1)
from mmcourse.data.digits import load_digits_pair
from mmcourse.data.interactions import INTERACTION_DATASETS, load_interaction
from mmcourse.data.sequences import SEQUENCE_KINDS, load_sequences, load_speech, make_warped_pair
from mmcourse.data.taxonomy import TAXONOMY_DATASETS, load_taxonomy
from mmcourse.data.tensors import META_COLUMNS, as_tensors, modality_columns

__all__ = [
    "DATASETS", "INTERACTION_DATASETS", "TAXONOMY_DATASETS", "BITWISE", "META_COLUMNS", "SEQUENCE_KINDS",
    "load_dataset", "load_interaction", "load_taxonomy", "load_digits_pair", "load_sequences", "load_speech",
    "make_warped_pair",
    "as_tensors", "modality_columns", "bitwise_distribution",
    *hierarchy.__all__, *imbalance.__all__, *multiview.__all__, *scenes.__all__, *scene_questions.__all__,
    *temporal.__all__, *gridworld.__all__, *storyboards.__all__,
]

DATASETS = (*INTERACTION_DATASETS, *TAXONOMY_DATASETS, "digits", "sequences", "speech", "multiview", "imbalance",
            "scenes", "scene_questions", "temporal", "storyboards")


def load_dataset(name: str, **kwargs) -> DatasetDict:
    """Load any of the book's toy datasets by name.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`: an interaction dataset (:func:`load_interaction`), a taxonomy dataset
        (:func:`load_taxonomy`), ``"digits"`` (:func:`load_digits_pair`), ``"sequences"`` (:func:`load_sequences`,
        whose ``kind`` keyword picks ``"sinusoid"`` or ``"events"``), ``"speech"`` (:func:`load_speech`),
        ``"multiview"`` (:func:`load_multiview`), ``"imbalance"`` (:func:`load_imbalance`), ``"scenes"``
        (:func:`load_scenes`), ``"scene_questions"`` (:func:`load_scene_questions`, which also has an ``n_heldout``
        split), ``"temporal"`` (:func:`load_temporal`) or ``"storyboards"`` (:func:`load_storyboards`). The
        hierarchy toy has a split of concepts besides its images, so it has its own loader only (:func:`load_hierarchy`).
    **kwargs
        Passed on to that loader (``n_train``, ``n_val``, ``n_test``, ``seed``, ``cache``; only ``seed`` and
        ``cache`` for ``"digits"``; the sequence loaders take their own sizes too, such as ``n``, ``m``,
        ``frames``).

    Returns
    -------
    DatasetDict

    Examples
    --------
    >>> load_dataset("emergence", n_train=50, n_val=10, n_test=10, cache=False)["train"].num_rows
    50
    """
    if name in INTERACTION_DATASETS:
        return load_interaction(name, **kwargs)
    if name in TAXONOMY_DATASETS:
        return load_taxonomy(name, **kwargs)
    if name == "digits":
        return load_digits_pair(**kwargs)
    if name == "sequences":
        return load_sequences(**kwargs)
    if name == "speech":
        return load_speech(**kwargs)
    if name == "multiview":
        return multiview.load_multiview(**kwargs)
    if name == "imbalance":
        return imbalance.load_imbalance(**kwargs)
    if name == "scenes":
        return scenes.load_scenes(**kwargs)
    if name == "scene_questions":
        return scene_questions.load_scene_questions(**kwargs)
    if name == "temporal":
        return temporal.load_temporal(**kwargs)
    if name == "storyboards":
        return storyboards.load_storyboards(**kwargs)
    raise ValueError(f"load_dataset: unknown name={name!r}; expected one of {list(DATASETS)}")
