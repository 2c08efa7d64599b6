r"""Part 6.3: zero-shot classification through a space shared with a second modality (Socher et al., 2013).

An image encoder :math:`f` is trained to land near the **name** of its class in a space where names are built from
words: the name of the class "colour shape" is :math:`p_k = \mathrm{normalise}(e_{\text{colour}} +
e_{\text{shape}})`, with one learned vector :math:`e_w` per word (DeViSE, Frome et al. 2013, with a softmax over the
seen names instead of a hinge loss). Training sees the seen classes :math:`S` only,

.. math::  \mathcal L = -\log \frac{e^{s \cos(f(x), p_y)}}{\sum_{k \in S} e^{s \cos(f(x), p_k)}},

and a test image is given the nearest name, :math:`\hat y = \arg\max_k \cos(f(x), p_k)`, over names that may never
have been seen with an image: the words were, in other combinations. The task is the scene world's objects
(:func:`scene_objects`), whose classes are the 12 colour-shape combinations.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from tqdm.auto import trange

from mmcourse._checks import check_number, check_tensor
from mmcourse.encoders import MLPEncoder
from mmcourse.utils import check_positive, get_device, progress_enabled, trained_on

__all__ = ["class_prototypes", "zero_shot_predict", "scene_objects", "object_names", "ZeroShotModel",
           "fit_zero_shot"]


def _check_embeddings(z, where: str, name: str = "embeddings") -> Tensor:
    if not isinstance(z, Tensor) or z.dim() != 2 or not z.is_floating_point() or not torch.isfinite(z).all():
        raise ValueError(f"{where}: {name} must be a finite float tensor of shape (n, d), got "
                         f"{getattr(z, 'shape', type(z).__name__)}")
    return z


def class_prototypes(embeddings: Tensor, labels: Tensor, num_classes: int | None = None) -> Tensor:
    r"""One unit-length prototype per class: the normalised mean of its examples' normalised embeddings,
    :math:`p_k = \mathrm{normalise}\big(\tfrac{1}{n_k}\sum_{i: y_i = k} z_i / \lVert z_i \rVert\big)`.

    Parameters
    ----------
    embeddings : torch.Tensor, shape (n, d)
    labels : torch.Tensor of int, shape (n,)
        Classes ``0 … num_classes-1``; every class must have at least one example.
    num_classes : int, optional
        Defaults to ``labels.max() + 1``.

    Returns
    -------
    torch.Tensor, shape (num_classes, d)

    Example
    -------
    >>> class_prototypes(torch.tensor([[2.0, 0.0], [0.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 1, 1]))
    tensor([[1., 0.],
            [0., 1.]])
    """
    z = _check_embeddings(embeddings, "class_prototypes")
    if not isinstance(labels, Tensor) or labels.shape != (len(z),) or labels.is_floating_point() or labels.min() < 0:
        raise ValueError(f"class_prototypes: labels must be non-negative integers of shape ({len(z)},), got "
                         f"{getattr(labels, 'shape', type(labels).__name__)}")
    k = int(labels.max()) + 1 if num_classes is None else num_classes
    check_positive("class_prototypes", num_classes=k)
    counts = torch.bincount(labels, minlength=k)
    if len(counts) > k or (counts == 0).any():
        raise ValueError(f"class_prototypes: every class 0..{k - 1} needs at least one example and no label may "
                         f"exceed it; counts per class: {counts.tolist()}")
    sums = torch.zeros(k, z.shape[1], dtype=z.dtype).index_add_(0, labels, nn.functional.normalize(z, dim=1))
    return nn.functional.normalize(sums / counts[:, None], dim=1)


def zero_shot_predict(embeddings: Tensor, prototypes: Tensor, candidates: Tensor | None = None) -> Tensor:
    r"""The class of each embedding by its nearest prototype in cosine, :math:`\hat y_i = \arg\max_{k \in K}
    \cos(z_i, p_k)`, over all classes or only the ``candidates`` :math:`K` (e.g. the unseen ones).

    Parameters
    ----------
    embeddings : torch.Tensor, shape (n, d)
    prototypes : torch.Tensor, shape (C, d)
        One "name" per class (from :func:`class_prototypes` or from another modality, such as words).
    candidates : torch.Tensor of int, optional
        The classes allowed; default all ``C``.

    Returns
    -------
    torch.Tensor of int64, shape (n,)
        Class indices into ``prototypes`` (not into ``candidates``).

    Example
    -------
    >>> p = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    >>> zero_shot_predict(torch.tensor([[0.9, 0.2], [-1.0, 0.5]]), p).tolist()
    [0, 2]
    >>> zero_shot_predict(torch.tensor([[0.9, 0.2]]), p, candidates=torch.tensor([1, 2])).tolist()
    [1]
    """
    z = _check_embeddings(embeddings, "zero_shot_predict")
    p = check_tensor("zero_shot_predict", "prototypes", prototypes, dim=2)
    if z.shape[1] != p.shape[1]:
        raise ValueError(f"zero_shot_predict: embeddings have {z.shape[1]} features but prototypes {p.shape[1]}")
    similarity = nn.functional.normalize(z, dim=1) @ nn.functional.normalize(p, dim=1).T
    if candidates is None:
        return similarity.argmax(dim=1)
    if not isinstance(candidates, Tensor) or candidates.dim() != 1 or candidates.is_floating_point() \
            or len(candidates) == 0 or candidates.min() < 0 or candidates.max() >= len(p):
        raise ValueError(f"zero_shot_predict: candidates must be a non-empty 1-D tensor of class indices in "
                         f"0..{len(p) - 1}, got {candidates!r}")
    return candidates[similarity[:, candidates].argmax(dim=1)]


def object_names() -> list[str]:
    """The names of the 12 object classes of :func:`scene_objects`, class ``3·colour + shape``.

    Example
    -------
    >>> object_names()[:4]
    ['red square', 'red circle', 'red triangle', 'green square']
    """
    from mmcourse.data import COLOURS, SHAPES
    return [f"{c} {s}" for c in COLOURS for s in SHAPES]


def scene_objects(split: str = "train", *, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Every object of a split of :func:`mmcourse.data.load_scenes` (default sizes), cut out of its image.

    Returns
    -------
    crops : torch.Tensor, shape (m, 10, 10, 3)
        The object's 10×10 cell (:func:`mmcourse.data.crop_regions`).
    labels : torch.Tensor of int64, shape (m,)
        ``3·colour + shape``, named by :func:`object_names`.

    Example
    -------
    >>> crops, labels = scene_objects("validation")
    >>> crops.shape[1:], int(labels.max()) <= 11
    (torch.Size([10, 10, 3]), True)
    """
    from mmcourse.data import crop_regions, load_scenes
    if split not in ("train", "validation", "test"):
        raise ValueError(f"scene_objects: split must be 'train', 'validation' or 'test', got {split!r}")
    data = load_scenes(seed=seed)[split]
    colour, shape = data["colour"][:].long(), data["shape"][:].long()
    present = colour >= 0
    crops = crop_regions(data["image"][:], data["cell"][:])
    return crops[present].float(), (3 * colour + shape)[present]


class ZeroShotModel(nn.Module):
    r"""An image encoder into a space where a class's name is the normalised sum of its two words' vectors.

    ``embed(x) = normalise(f(x))`` with ``f`` an MLP; ``names() = normalise(e_colour + e_shape)`` for the
    ``num_colours × num_shapes`` classes (class ``num_shapes·colour + shape``); ``forward(x, classes)`` gives the
    logits ``s · cos(f(x), p_k)`` over the chosen classes. Socher et al. (2013); Frome et al. (2013); Part 6.3.

    Parameters
    ----------
    in_dim : int
        Values per image (300 for a 10×10×3 crop; images are flattened).
    num_colours, num_shapes : int
    dim, width : int
    scale : float
        ``s > 0``, the inverse temperature of the softmax over names.

    Example
    -------
    >>> model = ZeroShotModel(300, dim=4)
    >>> model.names().shape, model(torch.zeros(2, 10, 10, 3)).shape
    (torch.Size([12, 4]), torch.Size([2, 12]))
    """

    def __init__(self, in_dim: int, num_colours: int = 4, num_shapes: int = 3, *, dim: int = 16, width: int = 64,
                 scale: float = 10.0):
        super().__init__()
        check_positive("ZeroShotModel", in_dim=in_dim, num_colours=num_colours, num_shapes=num_shapes, dim=dim)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"ZeroShotModel: scale must be a finite number > 0, got {scale!r}")
        self.encoder = nn.Sequential(MLPEncoder(in_dim, width), nn.Linear(width, dim))
        self.words = nn.Embedding(num_colours + num_shapes, dim)
        self.num_colours, self.num_shapes, self.scale = num_colours, num_shapes, float(scale)
        self.in_dim = in_dim

    @property
    def num_classes(self) -> int:
        return self.num_colours * self.num_shapes

    def names(self) -> Tensor:
        """The class names ``p_k = normalise(e_colour + e_shape)``, shape ``(num_classes, dim)``."""
        k = torch.arange(self.num_classes, device=self.words.weight.device)
        return nn.functional.normalize(self.words(k // self.num_shapes) +
                                       self.words(self.num_colours + k % self.num_shapes), dim=1)

    def embed(self, x: Tensor) -> Tensor:
        """``normalise(f(x))``, shape ``(batch, dim)``."""
        check_tensor("ZeroShotModel", "x", x, nonempty=False)
        if x.dim() < 2 or math.prod(x.shape[1:]) != self.in_dim:
            raise ValueError(f"ZeroShotModel: x must be a batch (batch, ...) of {self.in_dim} values per image, got "
                             f"shape {tuple(x.shape)}")
        return nn.functional.normalize(self.encoder(x.flatten(1)), dim=1)

    def forward(self, x: Tensor, classes: Tensor | None = None) -> Tensor:
        """Logits ``s · cos(f(x), p_k)`` over ``classes`` (default all), shape ``(batch, len(classes))``."""
        names = self.names() if classes is None else self.names()[classes]
        return self.scale * self.embed(x) @ names.T


def fit_zero_shot(model: ZeroShotModel, images: Tensor, labels: Tensor, seen: Tensor, *, epochs: int = 30,
                  batch_size: int = 512, lr: float = 1e-2, device: torch.device | str | None = None,
                  progress: bool | None = None) -> list[float]:
    """Train a :class:`ZeroShotModel` with Adam on the images of the ``seen`` classes, a softmax over their names.

    Rows whose label is not in ``seen`` are dropped: the model never sees an image of an unseen class.

    Parameters
    ----------
    model : ZeroShotModel
    images : torch.Tensor, shape (m, ...)
    labels : torch.Tensor of int, shape (m,)
    seen : torch.Tensor of int
        The seen classes.
    epochs, batch_size, lr, device, progress
        Optimisation settings, as in :func:`mmcourse.training.fit`.

    Returns
    -------
    list of float
        The mean loss of every epoch.

    Example
    -------
    >>> model = ZeroShotModel(3, 2, 2, dim=2, width=4)
    >>> len(fit_zero_shot(model, torch.randn(8, 3), torch.arange(8) % 4, torch.tensor([0, 1, 2]), epochs=2,
    ...                   progress=False))
    2
    """
    where = "fit_zero_shot"
    if not isinstance(model, ZeroShotModel):
        raise TypeError(f"{where}: model must be a ZeroShotModel, got {type(model).__name__}")
    check_tensor(where, "images", images)
    check_tensor(where, "labels", labels, dim=1, kind="int")
    if images.dim() < 2 or len(images) != len(labels):
        raise ValueError(f"{where}: images (m, ...) and labels (m,) must have the same number of rows, got shapes "
                         f"{tuple(images.shape)} and {tuple(labels.shape)}")
    check_number(where, "lr", lr, low=0, low_open=True)
    if not isinstance(seen, Tensor) or seen.dim() != 1 or seen.is_floating_point() or len(seen) < 2 \
            or seen.min() < 0 or seen.max() >= model.num_classes:
        raise ValueError(f"{where}: seen must hold at least two class indices in 0..{model.num_classes - 1}, got "
                         f"{seen!r}")
    check_positive(where, epochs=epochs, batch_size=batch_size)
    keep = torch.isin(labels, seen)
    if not keep.any():
        raise ValueError(f"{where}: no row has a seen label")
    # the position of each seen class in the softmax over seen names
    position = torch.full((model.num_classes,), -1, dtype=torch.long)
    position[seen] = torch.arange(len(seen))
    device = get_device(device)
    losses = []
    with trained_on(model, device):
        model.train()
        x, y, seen = images[keep].to(device), position[labels[keep]].to(device), seen.to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, foreach=True)
        for _ in trange(epochs, desc="zero-shot", disable=not progress_enabled(progress), leave=False):
            order, total = torch.randperm(len(x), device=device), 0.0
            for start in range(0, len(x), batch_size):
                batch = order[start:start + batch_size]
                loss = nn.functional.cross_entropy(model(x[batch], seen), y[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(batch)
            losses.append(total / len(x))
        model.eval()
    return losses
