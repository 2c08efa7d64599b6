r"""Word-to-object matching (Part 3.1, discrete alignment): learn it from scene-level pairs, then match one to one.

A scene k has regions (one crop per object) and its caption has phrases (``colour shape``); which phrase names which
region is never given, only which caption goes with which scene. A region encoder and a phrase encoder map both
into one space, and the score of scene k against caption l lets every phrase pick its best region
(Karpathy and Fei-Fei, 2015, *Deep Visual-Semantic Alignments for Generating Image Descriptions*):

.. math::

    S_{kl} = \frac{1}{|P_l|} \sum_{t \in P_l} \max_{i \in R_k} \cos(v_i, w_t), \qquad
    \mathcal L = \tfrac12 \big[\mathrm{CE}(S/\tau, I) + \mathrm{CE}(S^\top/\tau, I)\big],

the symmetric InfoNCE loss of :func:`mmcourse.representation.clip_loss` on scene scores instead of single
embeddings (a multiple-instance loss: the phrase's instance is the best region, whichever it is). Karpathy and
Fei-Fei sum over words and use a max-margin ranking loss; the mean keeps captions of different lengths on one
scale, and the cross-entropy is the one this book uses everywhere.

At test time the word-region similarities of one scene are turned into a matching by :func:`match`: locally (each
phrase takes its most similar region), by the Hungarian algorithm (Kuhn, 1955: the one-to-one assignment of maximal
total similarity) or by optimal transport (:func:`mmcourse.alignment.optimal_transport`, or its entropic version
:func:`mmcourse.alignment.sinkhorn`).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from tqdm.auto import trange

from mmcourse._checks import check_tensor
from mmcourse.alignment._checks import positive
# The matchers live in a module of their own and are re-exported here, with the model that feeds them.
from mmcourse.alignment.matching_assign import MATCHERS, evaluate_matching, match, matching_accuracy
from mmcourse.data.scenes import CELL, VOCAB, crop_regions, phrase_tokens
from mmcourse.encoders import MLPEncoder
from mmcourse.utils import get_device, progress_enabled, trained_on

__all__ = ["MATCHERS", "scene_pairs", "WordRegionModel", "scene_similarity", "word_region_loss", "fit_word_region",
           "match", "matching_accuracy", "evaluate_matching"]


def scene_pairs(split) -> tuple[Tensor, Tensor, Tensor]:
    """The regions and phrases of a split of :func:`mmcourse.data.load_scenes`, in the object order.

    Returns
    -------
    regions : torch.Tensor, float32, shape (n, K, 10, 10, 3)
        Each object's cell (:func:`mmcourse.data.crop_regions`); zeros for padding. K is the split's
        ``max_objects``.
    phrases : torch.Tensor, int64, shape (n, K, 2)
        The word ids of each object's phrase ``colour shape`` (the caption's t-th phrase is object t); 0s for
        padding.
    mask : torch.Tensor, bool, shape (n, K)
        Which of the K slots hold an object.

    Examples
    --------
    >>> from mmcourse.data import load_scenes
    >>> regions, phrases, mask = scene_pairs(load_scenes(n_train=3, n_val=1, n_test=1, cache=False)["train"])
    >>> tuple(regions.shape), tuple(phrases.shape), mask.sum(1).tolist()
    ((3, 4, 10, 10, 3), (3, 4, 2), [4, 4, 4])
    """
    needed = {"image", "colour", "shape", "cell"}
    if not hasattr(split, "column_names") or not needed <= set(split.column_names):
        raise ValueError(f"scene_pairs: split must be one split of load_scenes() with columns {sorted(needed)}, "
                         f"got {type(split).__name__}")
    columns = split.with_format("torch", columns=sorted(needed))[:]
    regions = crop_regions(columns["image"].float(), columns["cell"].long())
    phrases = torch.as_tensor(phrase_tokens(columns["colour"], columns["shape"]))
    return regions, phrases, columns["cell"] >= 0


class WordRegionModel(nn.Module):
    r"""Two towers into one space: regions (object crops) and phrases (``colour shape``), unit-length embeddings.

    Region tower: ``v = normalize(P_r MLP(vec(crop)))``, an MLP with one hidden layer on the 300 pixel values of
    a 10×10×3 cell. Phrase tower: a bag of word embeddings, ``w = normalize(P_w ReLU(Σ_words E[word]))``. Trained
    with :func:`word_region_loss` (Karpathy and Fei-Fei, 2015), it learns which phrase names which region from
    scene-caption pairs alone. Book section: Part 3.1, discrete alignment (contrastive word-to-object matching).

    Parameters
    ----------
    dim : int
        Size of the shared space.
    width : int
        Width of the hidden layers.

    Examples
    --------
    >>> model = WordRegionModel(dim=8)
    >>> v, w = model(torch.zeros(5, 4, 10, 10, 3), torch.ones(5, 4, 2, dtype=torch.long))
    >>> tuple(v.shape), tuple(w.shape), round(v.norm(dim=-1).mean().item(), 4)
    ((5, 4, 8), (5, 4, 8), 1.0)
    """

    def __init__(self, dim: int = 16, width: int = 64):
        super().__init__()
        for name, value in (("dim", dim), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"WordRegionModel: {name} must be a positive integer, got {value!r}")
        self.region_size = CELL * CELL * 3
        self.regions = nn.Sequential(MLPEncoder(self.region_size, width, hidden=(width,)), nn.Linear(width, dim))
        self.words = nn.Embedding(len(VOCAB), width, padding_idx=0)
        self.phrases = nn.Sequential(nn.ReLU(), nn.Linear(width, dim))

    def embed_regions(self, regions: Tensor) -> Tensor:
        """Unit-length embeddings ``v`` of crops of shape ``(..., 10, 10, 3)``, shape ``(..., dim)``."""
        check_tensor("WordRegionModel", "regions", regions, kind="any")
        if regions.dim() < 3 or tuple(regions.shape[-3:]) != (CELL, CELL, 3):
            raise ValueError(f"WordRegionModel: regions must have shape (..., {CELL}, {CELL}, 3), got "
                             f"{tuple(getattr(regions, 'shape', ()))}")
        flat = regions.reshape(-1, self.region_size).float()
        return nn.functional.normalize(self.regions(flat), dim=-1).reshape(*regions.shape[:-3], -1)

    def embed_phrases(self, phrases: Tensor) -> Tensor:
        """Unit-length embeddings ``w`` of word ids of shape ``(..., words)``, shape ``(..., dim)``."""
        if not isinstance(phrases, Tensor) or phrases.is_floating_point() or phrases.dim() < 1:
            raise ValueError(f"WordRegionModel: phrases must be an integer tensor of word ids (..., words), got "
                             f"{getattr(phrases, 'dtype', type(phrases).__name__)}")
        if ((phrases < 0) | (phrases >= len(VOCAB))).any():
            raise ValueError(f"WordRegionModel: phrases must hold word ids in 0..{len(VOCAB) - 1}")
        return nn.functional.normalize(self.phrases(self.words(phrases).sum(-2)), dim=-1)

    def forward(self, regions: Tensor, phrases: Tensor) -> tuple[Tensor, Tensor]:
        """``(v, w)``: the embeddings of the regions and of the phrases."""
        return self.embed_regions(regions), self.embed_phrases(phrases)


def scene_similarity(v: Tensor, w: Tensor, region_mask: Tensor | None = None,
                     phrase_mask: Tensor | None = None) -> Tensor:
    r"""Scene-caption scores :math:`S_{kl} = \frac1{|P_l|}\sum_{t \in P_l} \max_{i \in R_k} \cos(v_{ki}, w_{lt})`.

    Every phrase of caption l picks its most similar region of scene k, and the scores are averaged over the
    phrases (Karpathy and Fei-Fei, 2015, who sum them). Masked regions never win the max; masked phrases do not
    count. Book section: Part 3.1.

    Parameters
    ----------
    v : torch.Tensor, shape (B, K, d)
        Region embeddings of B scenes (K slots each).
    w : torch.Tensor, shape (C, T, d)
        Phrase embeddings of C captions (T slots each).
    region_mask, phrase_mask : torch.Tensor of bool, shapes (B, K) and (C, T), optional
        Which slots are real (default: all).

    Returns
    -------
    torch.Tensor, shape (B, C)

    Examples
    --------
    >>> v = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])      # one scene, two regions
    >>> w = torch.tensor([[[1.0, 0.0], [1.0, 1.0]]])      # one caption, two phrases
    >>> scene_similarity(v, w)                            # (1 + cos 45°) / 2
    tensor([[0.8536]])
    """
    where = "scene_similarity"
    for name, z in (("v", v), ("w", w)):
        if not isinstance(z, Tensor) or z.dim() != 3 or not z.is_floating_point():
            raise ValueError(f"{where}: {name} must be a float tensor of shape (scenes, slots, dim), got "
                             f"{tuple(getattr(z, 'shape', ())) or type(z).__name__}")
        check_tensor(where, name, z)
    if v.shape[-1] != w.shape[-1]:
        raise ValueError(f"{where}: v and w must have the same dim, got {v.shape[-1]} and {w.shape[-1]}")
    region_mask = _mask(region_mask, v.shape[:2], "region_mask", where).to(v.device)
    phrase_mask = _mask(phrase_mask, w.shape[:2], "phrase_mask", where).to(w.device)
    if not region_mask.any(1).all() or not phrase_mask.any(1).all():
        raise ValueError(f"{where}: every scene needs at least one region and every caption one phrase")
    cos = torch.einsum("kid,ltd->klti", nn.functional.normalize(v, dim=-1), nn.functional.normalize(w, dim=-1))
    cos = cos.masked_fill(~region_mask[:, None, None, :], -math.inf)
    best = cos.max(dim=-1).values * phrase_mask[None]  # (B, C, T): each phrase's best region
    return best.sum(-1) / phrase_mask.sum(-1)[None]


def _mask(mask, shape, name: str, where: str) -> Tensor:
    if mask is None:
        return torch.ones(tuple(shape), dtype=torch.bool)
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool or tuple(mask.shape) != tuple(shape):
        raise ValueError(f"{where}: {name} must be a bool tensor of shape {tuple(shape)}, got "
                         f"{getattr(mask, 'dtype', type(mask).__name__)} {tuple(getattr(mask, 'shape', ()))}")
    return mask


def word_region_loss(v: Tensor, w: Tensor, mask: Tensor | None = None, temperature: float = 0.1) -> Tensor:
    r"""The weakly supervised matching loss: InfoNCE over the scene scores of a batch of scene-caption pairs.

    .. math::

        \mathcal L = \tfrac12 \big[\mathrm{CE}(S/\tau, I) + \mathrm{CE}(S^\top/\tau, I)\big], \qquad
        S = \texttt{scene\_similarity}(v, w),

    where scene k and caption k are the true pairs: the loss needs no word-region labels (multiple-instance
    learning, after Karpathy and Fei-Fei, 2015; the symmetric cross-entropy of CLIP, Radford et al., 2021).
    Book section: Part 3.1.

    Parameters
    ----------
    v, w : torch.Tensor, shape (B, K, d)
        Region and phrase embeddings of B scenes and their B captions.
    mask : torch.Tensor of bool, shape (B, K), optional
        Which slots hold an object (the same for regions and phrases: one phrase per object).
    temperature : float
        τ > 0.

    Returns
    -------
    torch.Tensor
        The scalar loss; ``log B`` when every score is equal.

    Examples
    --------
    >>> v = torch.eye(3)[:, None, :]                       # three scenes of one region each
    >>> round(word_region_loss(v, v, temperature=0.01).item(), 6)
    0.0
    """
    where = "word_region_loss"
    temperature = positive(temperature, "temperature", where)
    v, w = check_tensor(where, "v", v, dim=3), check_tensor(where, "w", w, dim=3)
    if not isinstance(v, Tensor) or not isinstance(w, Tensor) or v.shape[:2] != w.shape[:2]:
        raise ValueError(f"{where}: v and w must be tensors of matching shape (B, K, d), got "
                         f"{tuple(getattr(v, 'shape', ()))} and {tuple(getattr(w, 'shape', ()))}")
    logits = scene_similarity(v, w, mask, mask) / temperature
    targets = torch.arange(len(logits), device=logits.device)
    return 0.5 * (nn.functional.cross_entropy(logits, targets) + nn.functional.cross_entropy(logits.T, targets))


def fit_word_region(model: WordRegionModel, regions: Tensor, phrases: Tensor, mask: Tensor, *, steps: int = 300,
                    batch_size: int = 64, lr: float = 3e-3, temperature: float = 0.1,
                    device: torch.device | str | None = None, progress: bool | None = None) -> list[float]:
    """Train ``model`` with Adam on :func:`word_region_loss`; returns the batch loss of every step.

    Each step draws ``batch_size`` scenes of a shuffled pass (torch's global generator: seed it with
    :func:`mmcourse.set_seed`); the other scenes of the batch are the negatives.

    Examples
    --------
    >>> from mmcourse.data import load_scenes
    >>> data = scene_pairs(load_scenes(n_train=16, n_val=1, n_test=1, cache=False)["train"])
    >>> len(fit_word_region(WordRegionModel(dim=4, width=8), *data, steps=3, batch_size=8, progress=False))
    3
    """
    return _fit_scene_batches(model, regions, phrases, mask,
                             lambda v, w, m: word_region_loss(v, w, m, temperature),
                             steps=steps, batch_size=batch_size, lr=lr, device=device, progress=progress,
                             where="fit_word_region")


def _fit_scene_batches(model: WordRegionModel, regions: Tensor, phrases: Tensor, mask: Tensor, loss_fn, *,
                      steps: int, batch_size: int, lr: float, device: torch.device | str | None,
                      progress: bool | None, where: str) -> list[float]:
    """The training loop shared by :func:`fit_word_region` and
    :func:`mmcourse.alignment.fit_transport_matching`: Adam on ``loss_fn(v, w, mask)`` of batches of scenes drawn
    from shuffled passes (torch's global generator); returns the batch loss of every step. ``where`` names the
    caller in error messages. Not exported: the two trainers are the public entry points."""
    if not isinstance(model, WordRegionModel):
        raise TypeError(f"{where}: model must be a WordRegionModel, got {type(model).__name__}")
    check_tensor(where, "regions", regions, dim=5, kind="any")
    check_tensor(where, "phrases", phrases, dim=3, kind="int")
    check_tensor(where, "mask", mask, dim=2, kind="any")
    if not (len(regions) == len(phrases) == len(mask)) or len(regions) < 2:
        raise ValueError(f"{where}: regions, phrases and mask must hold the same number (≥ 2) of scenes, got "
                         f"{len(regions)}, {len(phrases)} and {len(mask)}")
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    if batch_size < 2:
        raise ValueError(f"{where}: batch_size must be ≥ 2 (a scene needs negatives), got {batch_size}")
    positive(lr, "lr", where)
    device = get_device(device)
    n, losses = len(regions), []
    with trained_on(model, device):
        model.train()
        regions, phrases, mask = regions.to(device), phrases.to(device), mask.to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, foreach=True)
        order, cursor = None, n
        for _ in trange(steps, desc=where, disable=not progress_enabled(progress), leave=False):
            if cursor + min(batch_size, n) > n:
                order, cursor = torch.randperm(n, device=device), 0
            batch = order[cursor:cursor + batch_size]
            cursor += batch_size
            loss = loss_fn(*model(regions[batch], phrases[batch]), mask[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        model.eval()
    return losses
