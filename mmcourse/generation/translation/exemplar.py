r"""Part 5.2: exemplar-based translation (retrieve a training pair) and cyclic translation (there and back).

**Exemplar-based** translation keeps the training pairs :math:`\{(x_j, y_j)\}` as a dictionary and answers a source
:math:`x` with the target of the pair that matches it best in the shared space of a contrastive model (Part 2.4):

.. math:: \hat y(x) = y_{j^\star}, \qquad j^\star = \arg\max_j \cos\big(f(x), g(y_j)\big)

(or :math:`\cos(f(x), f(x_j))`, the nearest source). Its outputs are always real, sharp examples, but only ones it
has seen: a combination absent from the training pairs cannot come out.

**Cyclic** translation translates and translates back, :math:`x \to \hat y = T(x) \to \hat x = T'(\hat y)`, and
measures how much of :math:`x` survives the round trip: a consistency check of a pair of translators that needs no
reference target (the cycle idea of MCTN, Pham et al., 2019).
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from mmcourse._checks import check_tensor
from mmcourse.representation.contrastive.clip import ContrastiveModel, similarity_matrix

__all__ = ["nearest_neighbours", "retrieve_translation", "round_trip"]


def nearest_neighbours(similarity: Tensor) -> Tensor:
    """The index of the most similar column for each row of a similarity matrix ``(n, m)``: ``argmax_j S_ij``.

    Rows are the sources to translate, columns the training pairs; the chosen pair's target is the translation
    (Part 5.2). Returns a long tensor ``(n,)``.

    Example
    -------
    >>> nearest_neighbours(torch.tensor([[0.1, 0.9, 0.3], [0.8, 0.2, 0.5]]))
    tensor([1, 0])
    """
    if not isinstance(similarity, Tensor) or similarity.dim() != 2 or similarity.shape[1] < 1:
        raise ValueError(f"nearest_neighbours: similarity must be a matrix (n, m) with m ≥ 1, got "
                         f"{getattr(similarity, 'shape', type(similarity).__name__)}")
    check_tensor("nearest_neighbours", "similarity", similarity, kind="any", nonempty=False)
    return similarity.argmax(dim=1)


def retrieve_translation(model: ContrastiveModel, source: Tensor, train_source: Tensor, train_target: Tensor,
                         direction: int = 0, *, via: str = "target",
                         outputs: Tensor | None = None) -> tuple[Tensor, Tensor]:
    r"""Translate each ``source`` by returning the target of its best-matching training pair.

    Parameters
    ----------
    model : ContrastiveModel
        Trained on the pairs ``(modality 0, modality 1)``.
    source : Tensor
        Sources to translate, of modality ``direction``.
    train_source, train_target : Tensor
        The training pairs, the source modality and the target modality as the model reads them, row i one pair.
    direction : int
        0 translates modality 0 into modality 1, 1 the other way.
    via : str
        ``"target"`` ranks the training pairs by :math:`\cos(f(x), g(y_j))` (cross-modal retrieval, CLIP's use);
        ``"source"`` by :math:`\cos(f(x), f(x_j))` (nearest neighbour among the training sources).
    outputs : Tensor, optional
        What to return for pair j, if not ``train_target[j]``: the target in another form (the word ids of a
        caption whose one-hot form the model reads).

    Returns
    -------
    (translations, indices)
        ``outputs[indices]`` (default ``train_target[indices]``) and the index of the chosen pair for each source.

    Example
    -------
    >>> model = ContrastiveModel([2, 3], dim=2, width=4)
    >>> out, idx = retrieve_translation(model, torch.rand(4, 2), torch.rand(6, 2), torch.rand(6, 3))
    >>> out.shape, idx.shape
    (torch.Size([4, 3]), torch.Size([4]))
    """
    where = "retrieve_translation"
    if not isinstance(model, ContrastiveModel):
        raise TypeError(f"{where}: model must be a ContrastiveModel, got {type(model).__name__}")
    if direction not in (0, 1):
        raise ValueError(f"{where}: direction must be 0 (modality 0 → 1) or 1 (1 → 0), got {direction!r}")
    if via not in ("target", "source"):
        raise ValueError(f"{where}: via must be 'target' or 'source', got {via!r}")
    for name, x in (("source", source), ("train_source", train_source), ("train_target", train_target)):
        if not isinstance(x, Tensor) or x.dim() < 2:
            raise ValueError(f"{where}: {name} must be a batch tensor (N, ...), got "
                             f"{getattr(x, 'shape', type(x).__name__)}")
        check_tensor(where, name, x, kind="any")
    outputs = train_target if outputs is None else outputs
    if not len(train_source) == len(train_target) == len(outputs) or len(train_source) < 1:
        raise ValueError(f"{where}: train_source, train_target and outputs must hold the same number (≥ 1) of "
                         f"pairs, got {len(train_source)}, {len(train_target)} and {len(outputs)}")
    was_training = model.training
    model.eval()
    with torch.no_grad():
        query = model.embed(source.float(), direction)
        keys = model.embed(train_target.float(), 1 - direction) if via == "target" \
            else model.embed(train_source.float(), direction)
        indices = nearest_neighbours(similarity_matrix(query, keys))
    model.train(was_training)
    return outputs[indices], indices


def round_trip(translate: Callable[[Tensor], Tensor], translate_back: Callable[[Tensor], Tensor],
               source: Tensor) -> tuple[Tensor, Tensor]:
    """Cyclic translation: ``middle = translate(source)``, ``back = translate_back(middle)``; returns both, to be
    compared with ``source`` by the measure of its modality (exact match, coherence, squared error).

    Example
    -------
    >>> middle, back = round_trip(lambda x: 2 * x, lambda y: y / 2, torch.ones(3))
    >>> back.tolist()
    [1.0, 1.0, 1.0]
    """
    if not callable(translate) or not callable(translate_back):
        raise TypeError("round_trip: translate and translate_back must be callables (a batch → a batch)")
    check_tensor("round_trip", "source", source, kind="any")
    with torch.no_grad():
        middle = translate(source)
        back = translate_back(middle)
    return middle, back
