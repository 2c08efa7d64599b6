r"""Part 4.1: the flat baseline: image and question encoders fused by FiLM, one network for every question.

FiLM (Perez et al., 2018) lets the question modulate the image features channel by channel,

.. math:: \mathrm{FiLM}(F) = \gamma(q) \odot F + \beta(q),

with ``γ, β`` predicted from the question code ``q``. The network is the same whatever the question: its structure
is flat, and the question's composition is only in its code. Book section: Part 4.1 (hierarchical structure).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from mmcourse._checks import check_ids, check_tensor
from mmcourse.data.scene_questions import QUESTION_VOCAB
from mmcourse.data.scenes import ANSWERS, GRID
from mmcourse.reasoning.structure.modules_blocks import CellEncoder
from mmcourse.utils import check_positive

__all__ = ["apply_film", "FiLMModel"]


def apply_film(features: Tensor, gamma: Tensor, beta: Tensor) -> Tensor:
    r"""Feature-wise linear modulation ``γ ⊙ F + β`` of ``features`` ``(batch, cells, channels)`` by ``gamma`` and
    ``beta`` ``(batch, channels)``, the same scale and shift at every cell (Perez et al., 2018).

    ``γ = 1, β = 0`` leaves the features unchanged; ``γ_k = 0`` switches channel ``k`` off for this question.

    Examples
    --------
    >>> F = torch.randn(2, 9, 4)
    >>> torch.equal(apply_film(F, torch.ones(2, 4), torch.zeros(2, 4)), F)
    True
    """
    if not isinstance(features, Tensor) or features.dim() != 3:
        raise ValueError(f"apply_film: features must be (batch, cells, channels), got "
                         f"{getattr(features, 'shape', type(features).__name__)}")
    want = (features.shape[0], features.shape[2])
    for name, value in (("gamma", gamma), ("beta", beta)):
        if not isinstance(value, Tensor) or tuple(value.shape) != want:
            raise ValueError(f"apply_film: {name} must have shape (batch, channels) = {want}, got "
                             f"{getattr(value, 'shape', type(value).__name__)}")
    for name, value in (("features", features), ("gamma", gamma), ("beta", beta)):
        check_tensor("apply_film", name, value)
    return gamma[:, None, :] * features + beta[:, None, :]


class FiLMModel(nn.Module):
    r"""The flat model: cell features ``F`` (:class:`CellEncoder`, plus each cell's row and column), a GRU over the
    question's words giving ``q``, residual FiLM blocks over the 3×3 grid and an answer classifier.

    Each block: ``F ← F + ReLU(FiLM(norm(conv(F))))`` (``norm``: each cell's channels to mean 0, variance 1) with
    its own ``γ(q) = 1 + W_γ q`` and ``β(q) = W_β q``; the first convolution is 1×1 (each cell alone), the next ones
    3×3, which lets neighbouring cells meet, as relations need. The answer is an MLP on the sum and the maximum of
    the cells' features (a count and an "is there one").

    Parameters
    ----------
    dim, hidden : int
        Cell features (as in the module network) and the width of the cell encoder's hidden layer.
    blocks : int
        Number of FiLM blocks.
    question_dim : int
        Size of the question code ``q``.

    Examples
    --------
    >>> model = FiLMModel(dim=8, hidden=16, blocks=1)
    >>> model(torch.zeros(2, 30, 30, 3), torch.ones(2, 16, dtype=torch.long)).shape
    torch.Size([2, 19])
    """

    def __init__(self, dim: int = 32, hidden: int = 64, blocks: int = 3, question_dim: int = 32):
        super().__init__()
        check_positive("FiLMModel", dim=dim, hidden=hidden, blocks=blocks, question_dim=question_dim)
        self.cells = CellEncoder(dim, hidden)
        self.words = nn.Embedding(len(QUESTION_VOCAB), question_dim, padding_idx=0)
        self.gru = nn.GRU(question_dim, question_dim, batch_first=True)
        width = dim + 2  # the features and each cell's (row, column)
        # the first block looks at each cell alone (a 1×1 convolution: "is this cell a red circle?"), the next ones
        # at each cell and its neighbours (3×3: "is there a red circle next to it?")
        self.convs = nn.ModuleList(nn.Conv2d(width, width, 1 if k == 0 else 3, padding=0 if k == 0 else 1)
                                   for k in range(blocks))
        self.gamma_beta = nn.ModuleList(nn.Linear(question_dim, 2 * width) for _ in range(blocks))
        self.classify = nn.Sequential(nn.Linear(2 * width, hidden), nn.ReLU(),
                                      nn.Linear(hidden, len(ANSWERS)))
        rows, cols = torch.meshgrid(torch.linspace(-1, 1, GRID), torch.linspace(-1, 1, GRID), indexing="ij")
        self.register_buffer("coords", torch.stack([rows.flatten(), cols.flatten()], 1))

    def encode_question(self, questions: Tensor) -> Tensor:
        """The GRU's state after the last word of each question ``(batch, words)`` (padding 0 at the end)."""
        if not isinstance(questions, Tensor) or questions.dim() != 2 or questions.is_floating_point():
            raise ValueError(f"FiLMModel: questions must be (batch, words) integer ids, got "
                             f"{getattr(questions, 'shape', type(questions).__name__)}")
        check_ids("FiLMModel", "questions", questions, len(QUESTION_VOCAB))
        lengths = (questions != 0).sum(1).clamp(min=1)
        states, _ = self.gru(self.words(questions))
        return states[torch.arange(len(questions), device=questions.device), lengths - 1]

    def forward(self, images: Tensor, questions: Tensor, programs=None) -> Tensor:
        """Answer logits ``(batch, len(ANSWERS))``; ``programs`` is ignored: the flat model reads the words."""
        F = self.cells(images)
        q = self.encode_question(questions)
        if q.shape[0] != F.shape[0]:
            raise ValueError(f"FiLMModel: {F.shape[0]} images but {q.shape[0]} questions")
        F = torch.cat([F, self.coords.expand(F.shape[0], -1, -1)], 2)  # (batch, 9, width)
        for conv, gamma_beta in zip(self.convs, self.gamma_beta):
            gamma, beta = gamma_beta(q).chunk(2, dim=1)
            grid = F.transpose(1, 2).reshape(F.shape[0], -1, GRID, GRID)
            G = nn.functional.layer_norm(conv(grid).flatten(2).transpose(1, 2), (F.shape[2],))
            F = F + torch.relu(apply_film(G, 1 + gamma, beta))  # γ centred on 1: a block starts near the identity
        return self.classify(torch.cat([F.sum(1), F.amax(1)], 1))  # sum: how many; max: is there one
