r"""Part 4.3: the small question answerer that the chapter on inference paradigms trains and repairs.

The image is cut into its nine grid cells; each cell's pixels go through one shared MLP (plus a learned embedding
of the cell's position), the question's words through a GRU. FiLM (Perez et al., 2018) lets the question scale and
shift every cell's features, a max over the cells pools them, and a last MLP gives one logit per answer (two,
``(no, yes)``, for a yes/no question):

.. math::  h_i = \mathrm{ReLU}(\gamma(q) \odot f(x_i) + \beta(q)), \qquad
           z = g\big(\max_i h_i\big) \in \mathbb{R}^K, \qquad p(a) = \mathrm{softmax}(z)_a .

The model exposes its parts (:meth:`VQAModel.encode_image`, :meth:`VQAModel.encode_question`,
:meth:`VQAModel.fuse`) because RUBi and counterfactual VQA wrap it and read its question and image embeddings.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import trange

from mmcourse.data.scene_questions import QUESTION_VOCAB, QUESTION_WORDS
from mmcourse.data.scenes import CELL, COLOURS, GRID, IMAGE_SIZE, SHAPES
from mmcourse._checks import check_ids, check_tensor
from mmcourse.utils import check_positive, get_device, progress_enabled, trained_on

__all__ = ["CellPerception", "VQAModel", "fit_vqa", "answer_probabilities", "yes_probability"]

KINDS = len(COLOURS) * len(SHAPES) + 1  # the twelve kinds of object, and "empty"


def _tiles(image: Tensor) -> Tensor:
    """The nine cells of images ``(batch, 30, 30, 3)`` as flat pixel vectors ``(batch, 9, 300)``, reading order."""
    b = image.shape[0]
    return image.reshape(b, GRID, CELL, GRID, CELL, 3).permute(0, 1, 3, 2, 4, 5).reshape(b, GRID * GRID, -1)


class CellPerception(nn.Module):
    """What each grid cell holds, from its pixels: one of the twelve kinds of object, or nothing.

    An MLP on each cell's 300 pixels gives ``(batch, 9, 13)`` probabilities (kind ``colour * 3 + shape``, 12 =
    empty). Trained once with :meth:`fit` on the object tables of a split and then frozen, it is the perception
    that the chapter's question answerers share (the scene parser of Part 4.2, in one layer), so that each of them
    trains in a second. Part 4.3.

    Example
    -------
    >>> CellPerception(8)(torch.rand(2, 30, 30, 3)).shape
    torch.Size([2, 9, 13])
    """

    def __init__(self, dim: int = 48):
        super().__init__()
        check_positive("CellPerception", dim=dim)
        self.net = nn.Sequential(nn.Linear(CELL * CELL * 3, dim), nn.ReLU(), nn.Linear(dim, KINDS))

    def forward(self, image: Tensor) -> Tensor:
        if not isinstance(image, Tensor):
            raise TypeError(f"CellPerception: image must be a torch.Tensor, got {type(image).__name__}")
        if image.dim() != 4 or tuple(image.shape[1:]) != (IMAGE_SIZE, IMAGE_SIZE, 3) or image.shape[0] == 0:
            raise ValueError(f"CellPerception: image must have shape (batch, {IMAGE_SIZE}, {IMAGE_SIZE}, 3) with "
                             f"batch >= 1, got {tuple(image.shape)}")
        if image.is_floating_point() and not torch.isfinite(image).all():
            raise ValueError("CellPerception: image contains NaN or infinite values")
        return self.net(_tiles(image)).softmax(-1)

    def fit(self, image: Tensor, colour: Tensor, shape: Tensor, cell: Tensor, *, epochs: int = 3,
            lr: float = 3e-3, batch_size: int = 256) -> float:
        """Train on scenes with their object tables (``colour``, ``shape``, ``cell``: (N, K), padded with -1), then
        freeze; returns the accuracy on the training cells."""
        check_positive("CellPerception.fit", epochs=epochs, batch_size=batch_size)
        if not lr > 0:
            raise ValueError(f"CellPerception.fit: lr must be positive, got {lr!r}")
        cell, colour, shape = (torch.as_tensor(np.asarray(v)).long() for v in (cell, colour, shape))
        if not cell.shape == colour.shape == shape.shape or cell.dim() != 2 or len(cell) != len(image):
            raise ValueError(f"CellPerception.fit: colour, shape and cell must be (N, K) tables for the N={len(image)} "
                             f"images, got shapes {tuple(colour.shape)}, {tuple(shape.shape)}, {tuple(cell.shape)}")
        labels = torch.full((len(image), GRID * GRID), KINDS - 1)
        rows, slots = (cell >= 0).nonzero(as_tuple=True)
        labels[rows, cell[rows, slots]] = colour[rows, slots] * len(SHAPES) + shape[rows, slots]
        x, y = _tiles(torch.as_tensor(np.asarray(image), dtype=torch.float32)).flatten(0, 1), labels.flatten()
        optimizer = torch.optim.Adam(self.parameters(), lr=lr)
        for _ in range(epochs):
            for idx in torch.randperm(len(y)).split(batch_size):
                loss = nn.functional.cross_entropy(self.net(x[idx]), y[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        self.requires_grad_(False)
        with torch.no_grad():
            return (self.net(x).argmax(-1) == y).float().mean().item()


def _check_inputs(image, question, where: str) -> None:
    if not isinstance(image, Tensor) or image.dim() != 4 or tuple(image.shape[1:]) != (IMAGE_SIZE, IMAGE_SIZE, 3):
        raise ValueError(f"{where}: image must be a tensor of shape (batch, {IMAGE_SIZE}, {IMAGE_SIZE}, 3), got "
                         f"{getattr(image, 'shape', type(image).__name__)}")
    if not isinstance(question, Tensor) or question.dim() != 2 or question.is_floating_point():
        raise ValueError(f"{where}: question must be an integer tensor (batch, words) of word ids, got "
                         f"{getattr(question, 'shape', type(question).__name__)}")
    if image.shape[0] != question.shape[0]:
        raise ValueError(f"{where}: mismatched batch sizes: {image.shape[0]} images, {question.shape[0]} questions")
    if image.is_floating_point() and not torch.isfinite(image).all():
        raise ValueError(f"{where}: image contains NaN or infinite values")
    if question.numel() and (int(question.min()) < 0 or int(question.max()) >= len(QUESTION_VOCAB)):
        raise ValueError(f"{where}: question must hold word ids in 0..{len(QUESTION_VOCAB) - 1}, got values from "
                         f"{int(question.min())} to {int(question.max())}")


class QuestionEncoder(nn.Module):
    """Word embeddings and a GRU; the question's code is the GRU state after its last (non-padding) word.

    Parameters
    ----------
    dim : int
        Size of the embeddings and of the code.

    Example
    -------
    >>> QuestionEncoder(8)(torch.tensor([[5, 6, 0, 0]])).shape
    torch.Size([1, 8])
    """

    def __init__(self, dim: int = 48):
        super().__init__()
        check_positive("QuestionEncoder", dim=dim)
        self.embed = nn.Embedding(len(QUESTION_VOCAB), dim, padding_idx=0)
        self.gru = nn.GRU(dim, dim, batch_first=True)

    def forward(self, question: Tensor) -> Tensor:
        last = (question != 0).sum(1).clamp(min=1) - 1  # questions are 0-padded at the end
        # the GRU reads left to right, so the padding after the longest question cannot change a code: skip it
        states, _ = self.gru(self.embed(question[:, :int(last.max()) + 1].long()))
        return states[torch.arange(len(question), device=question.device), last]


class VQAModel(nn.Module):
    r"""A question answerer that sees the pixels: per-cell features, a GRU question code, FiLM, a max.

    ``forward(image, question)`` returns the logits ``(batch, n_answers)``; for a yes/no question the answers are
    ``(no, yes)``.
    Book section: Part 4.3 (the model whose consistency and language prior the chapter measures).

    Parameters
    ----------
    dim : int
        Width of the cell features and of the question code.
    perception : CellPerception, optional
        A trained, frozen perception: the cell features are then a linear map of its kind probabilities. Without
        it, an MLP on each cell's pixels learns from the answers alone (slower to train).
    n_answers : int
        Number of answers (2 for yes/no, 4 for a colour).

    Example
    -------
    >>> model = VQAModel(dim=8)
    >>> model(torch.rand(2, 30, 30, 3), torch.tensor([[1, 2, 0], [3, 0, 0]])).shape
    torch.Size([2, 2])
    """

    def __init__(self, dim: int = 48, perception: CellPerception | None = None, n_answers: int = 2):
        super().__init__()
        check_positive("VQAModel", dim=dim)
        if isinstance(n_answers, bool) or not isinstance(n_answers, int) or n_answers < 2:
            raise ValueError(f"VQAModel: n_answers must be an integer >= 2, got {n_answers!r}")
        if perception is not None and not isinstance(perception, CellPerception):
            raise TypeError(f"VQAModel: perception must be a CellPerception or None, got {type(perception).__name__}")
        self.dim, self.n_answers = dim, n_answers
        self.perception = perception
        self.cell = nn.Sequential(nn.Linear(CELL * CELL * 3, dim), nn.ReLU(), nn.Linear(dim, dim)) \
            if perception is None else nn.Linear(KINDS, dim)
        self.position = nn.Parameter(0.1 * torch.randn(GRID * GRID, dim))
        self.question = QuestionEncoder(dim)
        self.film = nn.Linear(dim, 2 * dim)
        self.head = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, n_answers))

    def encode_image(self, image: Tensor) -> Tensor:
        """Cell features ``(batch, 9, dim)`` of images ``(batch, 30, 30, 3)``."""
        return self.cell(_tiles(image) if self.perception is None else self.perception(image)) + self.position

    def encode_question(self, question: Tensor) -> Tensor:
        """The question code ``(batch, dim)``."""
        return self.question(question)

    def fuse(self, cells: Tensor, q: Tensor) -> Tensor:
        """Logits ``(batch, n_answers)`` from cell features and the question code: FiLM, max over cells, MLP."""
        gamma, beta = self.film(q).unsqueeze(1).chunk(2, dim=-1)
        return self.head(torch.relu((1 + gamma) * cells + beta).amax(dim=1))  # 1 + γ: starts near the identity

    def forward(self, image: Tensor, question: Tensor) -> Tensor:
        _check_inputs(image, question, "VQAModel")
        return self.fuse(self.encode_image(image), self.encode_question(question))

    def loss(self, image: Tensor, question: Tensor, answer: Tensor) -> Tensor:
        """Cross-entropy of the answers (indices; 1 = yes, 0 = no for a yes/no question)."""
        check_ids("VQAModel.loss", "answer", answer, self.n_answers, dim=1)
        return nn.functional.cross_entropy(self(image, question), answer.long())


@torch.no_grad()
def answer_probabilities(model: nn.Module, image: Tensor, question: Tensor, batch_size: int = 2048) -> Tensor:
    """The probability ``(N, n_answers)`` of each answer under ``model`` (any module whose ``forward(image,
    question)`` gives answer logits), computed in evaluation mode, batch by batch, returned on the CPU.

    Example
    -------
    >>> p = answer_probabilities(VQAModel(8, n_answers=4), torch.rand(3, 30, 30, 3), torch.ones(3, 4, dtype=torch.long))
    >>> p.shape, bool(torch.allclose(p.sum(1), torch.ones(3)))
    (torch.Size([3, 4]), True)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"answer_probabilities: model must be an nn.Module, got {type(model).__name__}")
    _check_inputs(image, question, "answer_probabilities")
    check_positive("answer_probabilities", batch_size=batch_size)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = [model(image[i:i + batch_size].to(device), question[i:i + batch_size].to(device)).softmax(-1).cpu()
           for i in range(0, len(image), batch_size)]
    model.train(was_training)
    return torch.cat(out)


def yes_probability(model: nn.Module, image: Tensor, question: Tensor, batch_size: int = 2048) -> Tensor:
    """p(yes) ``(N,)`` of a yes/no ``model`` (its logits are ``(no, yes)``): :func:`answer_probabilities`' column 1.

    Example
    -------
    >>> p = yes_probability(VQAModel(8), torch.rand(3, 30, 30, 3), torch.ones(3, 4, dtype=torch.long))
    >>> p.shape, bool(((p >= 0) & (p <= 1)).all())
    (torch.Size([3]), True)
    """
    probabilities = answer_probabilities(model, image, question, batch_size)
    if probabilities.shape[1] != 2:
        raise ValueError(f"yes_probability: the model must give 2 logits (no, yes), got {probabilities.shape[1]}")
    return probabilities[:, 1]


def fit_vqa(model: nn.Module, data: Mapping[str, Tensor], loss: Callable[[nn.Module, dict], Tensor] | None = None,
            *, epochs: int = 10, lr: float = 3e-3, batch_size: int = 64, device: str | torch.device | None = None,
            progress: bool | None = None) -> list[float]:
    """Train ``model`` with Adam on the columns of ``data`` (tensors with the same first size), batch by batch.

    Parameters
    ----------
    model : nn.Module
        The model to train (moved to ``device`` for the training, back afterwards).
    data : dict of str → Tensor
        The training columns, e.g. ``{"image", "question", "answer"}``; each batch is the same rows of every column.
    loss : callable, optional
        ``loss(model, batch) -> scalar``; defaults to ``model.loss(batch["image"], batch["question"],
        batch["answer"])`` (RUBi and counterfactual VQA define their own ``loss``).
    epochs, lr, batch_size
        Optimisation settings; the order is reshuffled each epoch with torch's global generator.

    Returns
    -------
    list of float
        The mean training loss of each epoch.

    Example
    -------
    >>> data = {"image": torch.rand(8, 30, 30, 3), "question": torch.ones(8, 3, dtype=torch.long),
    ...         "answer": torch.randint(0, 2, (8,))}
    >>> len(fit_vqa(VQAModel(8), data, epochs=2, progress=False))
    2
    """
    if not isinstance(data, Mapping) or not data:
        raise ValueError(f"fit_vqa: data must be a non-empty dict of tensors, got {type(data).__name__}")
    for key, column in data.items():
        if check_tensor("fit_vqa", f"data[{key!r}]", column, kind="any").dim() == 0:
            raise ValueError(f"fit_vqa: data[{key!r}] must have one row per example, got a scalar")
    sizes = {k: len(v) for k, v in data.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"fit_vqa: every column of data must have the same number of rows, got {sizes}")
    check_positive("fit_vqa", epochs=epochs, batch_size=batch_size)
    if not lr > 0:
        raise ValueError(f"fit_vqa: lr must be positive, got {lr!r}")
    if loss is None:
        def loss(m, batch):
            return m.loss(batch["image"], batch["question"], batch["answer"])
    device = get_device(device)
    n = next(iter(sizes.values()))
    history = []
    with trained_on(model, device):
        columns = {k: v.to(device) for k, v in data.items()}
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        model.train()
        for _ in trange(epochs, disable=not progress_enabled(progress), desc="epochs", leave=False):
            order, total = torch.randperm(n).to(device), 0.0
            for start in range(0, n, batch_size):
                idx = order[start:start + batch_size]
                value = loss(model, {k: v[idx] for k, v in columns.items()})
                optimizer.zero_grad(set_to_none=True)
                value.backward()
                optimizer.step()
                total += value.item() * len(idx)
            history.append(total / n)
    return history
