r"""Abstractive summarization: encode every frame, fuse the frames, decode a summary sentence (Part 5.1).

Where an extractive summary copies frames, an abstractive one writes new text. The model is the encoder-decoder
of neural summarization (Rush, Chopra and Weston, 2015; with images, Zhu et al., 2018), at toy size:

.. math:: h_f = \mathrm{ReLU}(W_v\, v_f + \textstyle\sum_{j} E[c_{fj}] + b), \qquad
          z = \frac1F \sum_{f=1}^F h_f, \qquad
          s_0 = \tanh(W_z z), \quad s_t = \mathrm{GRU}\big([E'[y_{t-1}]; z], s_{t-1}\big), \quad
          p(y_t \mid y_{<t}) = \mathrm{softmax}(W_o s_t),

with :math:`v_f` the units frame :math:`f`'s image shows (read by a perception), :math:`c_{fj}` its caption's
words and :math:`y` the summary's words. The mean over frames keeps counts: a unit seen in four frames weighs twice
as much in :math:`z` as one seen in two, which is what a summary of the salient content needs. Training is teacher
forcing (cross-entropy of each word given the true previous ones); decoding is greedy.

The target sentence (:func:`summary_target`) names the storyboard's ``length`` most salient units in unit order:
"a red circle and a blue square and …", the same budget for every storyboard.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from mmcourse._checks import check_ids, check_module, check_same_rows, check_tensor
from mmcourse.data.scenes import COLOURS, SHAPES, VOCAB, encode_words
from mmcourse.generation.summarization.units import UNITS
from mmcourse.utils import check_positive

__all__ = ["summary_target", "AbstractiveSummarizer", "fit_abstractive"]

_BOS = len(VOCAB)  # an input-only start token


def summary_target(salience, length: int = 4) -> Tensor:
    """The reference summary: word ids naming the ``length`` most salient units, written in unit order.

    Parameters
    ----------
    salience : tensor-like, shape (batch, 12)
        How many frames show each unit (:func:`mmcourse.generation.salience`); units of salience 0 are never named.
    length : int
        Units named at most; ties go to the lower unit index.

    Returns
    -------
    Tensor
        int64 word ids of shape (batch, 4 * length), padded with 0 (``<pad>``, which also ends the sentence).

    Example
    -------
    >>> from mmcourse.data import decode_words
    >>> decode_words(summary_target([[0, 3, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2]], length=2)[0])
    'a red circle and a yellow triangle'
    """
    sal = torch.as_tensor(salience, dtype=torch.float32)
    if sal.dim() != 2 or sal.shape[1] != UNITS or (sal < 0).any():
        raise ValueError(f"summary_target: salience must be >= 0 of shape (batch, {UNITS}), got "
                         f"{tuple(sal.shape)}")
    check_positive("summary_target", length=length)
    # stable sort on -salience: the most salient first, ties in unit order
    order = torch.sort(-sal, dim=1, stable=True).indices[:, :length]
    rows = []
    for b in range(len(sal)):
        kinds = sorted(int(u) for u in order[b] if sal[b, u] > 0)
        text = " and ".join(f"a {COLOURS[u // len(SHAPES)]} {SHAPES[u % len(SHAPES)]}" for u in kinds)
        rows.append(torch.as_tensor(encode_words(text, 4 * length), dtype=torch.long))
    return torch.stack(rows)


class AbstractiveSummarizer(nn.Module):
    """Frame encoder, mean fusion over frames and a GRU decoder that writes a summary sentence (Part 5.1).

    Parameters
    ----------
    dim : int
        Width of the frame codes and of the decoder's state.
    length : int
        The decoder writes ``4 * length`` words at most (``length`` phrases ``a colour shape`` joined by ``and``).

    Example
    -------
    >>> model = AbstractiveSummarizer(dim=8, length=2)
    >>> units, captions = torch.zeros(3, 6, 12), torch.zeros(3, 6, 7, dtype=torch.long)
    >>> model(units, captions, torch.zeros(3, 8, dtype=torch.long)).shape, model.generate(units, captions).shape
    (torch.Size([3, 8, 24]), torch.Size([3, 8]))
    """

    def __init__(self, dim: int = 64, length: int = 4):
        super().__init__()
        check_positive("AbstractiveSummarizer", dim=dim, length=length)
        self.steps = 4 * length
        self.image = nn.Linear(UNITS, dim)
        self.words = nn.Embedding(len(VOCAB), dim, padding_idx=0)
        self.start = nn.Linear(dim, dim)
        self.decoder_words = nn.Embedding(len(VOCAB) + 1, dim)
        self.gru = nn.GRU(2 * dim, dim, batch_first=True)
        self.out = nn.Linear(dim, len(VOCAB))

    def encode(self, image_units: Tensor, captions: Tensor) -> Tensor:
        """The fused code :math:`z` ``(batch, dim)`` of storyboards: the mean of the frame codes :math:`h_f`."""
        check_tensor("AbstractiveSummarizer", "image_units", image_units, kind="any")
        check_ids("AbstractiveSummarizer", "captions", captions, len(VOCAB))
        if image_units.dim() != 3 or image_units.shape[-1] != UNITS:
            raise ValueError(f"AbstractiveSummarizer: image_units must have shape (batch, frames, {UNITS}), got "
                             f"{tuple(image_units.shape)}")
        if captions.dim() != 3 or captions.shape[:2] != image_units.shape[:2] or captions.is_floating_point():
            raise ValueError(f"AbstractiveSummarizer: captions must be word ids (batch, frames, words) matching "
                             f"image_units {tuple(image_units.shape[:2])}, got {tuple(captions.shape)}")
        frames = torch.relu(self.image(image_units.float()) + self.words(captions.long()).sum(-2))
        return frames.mean(1)

    def _decode(self, z: Tensor, previous: Tensor, state: Tensor | None) -> tuple[Tensor, Tensor]:
        context = z[:, None, :].expand(-1, previous.shape[1], -1)
        if state is None:
            state = torch.tanh(self.start(z))[None]
        hidden, state = self.gru(torch.cat([self.decoder_words(previous), context], -1), state)
        return self.out(hidden), state

    def forward(self, image_units: Tensor, captions: Tensor, target: Tensor) -> Tensor:
        """Teacher forcing: the logits ``(batch, words, 24)`` of each target word given the true previous ones."""
        check_tensor("AbstractiveSummarizer", "image_units", image_units, dim=3, kind="any")
        check_ids("AbstractiveSummarizer", "target", target, len(VOCAB), dim=2)
        check_same_rows("AbstractiveSummarizer", image_units=image_units, target=target)
        z = self.encode(image_units, captions)
        previous = torch.cat([torch.full_like(target[:, :1], _BOS), target[:, :-1]], 1).long()
        return self._decode(z, previous, None)[0]

    @torch.no_grad()
    def generate(self, image_units: Tensor, captions: Tensor) -> Tensor:
        """Greedy decoding: word ids ``(batch, 4 * length)``; everything after the first ``<pad>`` is padding."""
        z = self.encode(image_units, captions)
        word = torch.full((len(z), 1), _BOS, dtype=torch.long)
        state, out = None, []
        for _ in range(self.steps):
            logits, state = self._decode(z, word, state)
            word = logits.argmax(-1)
            out.append(word)
        words = torch.cat(out, 1)
        ended = (words == 0).long().cummax(1).values.bool()  # once the sentence has ended, it stays ended
        return words.masked_fill(ended, 0)


def fit_abstractive(model: AbstractiveSummarizer, image_units: Tensor, captions: Tensor, target: Tensor, *,
                    steps: int = 300, lr: float = 1e-2, batch_size: int = 256) -> list[float]:
    """Train with teacher forcing and Adam on random batches; returns the loss of every step (Part 5.1).

    ``target`` from :func:`summary_target`; every word counts, including the ``<pad>`` that ends the sentence.

    Example
    -------
    >>> model = AbstractiveSummarizer(dim=8, length=2)
    >>> units, captions = torch.zeros(4, 6, 12), torch.zeros(4, 6, 7, dtype=torch.long)
    >>> len(fit_abstractive(model, units, captions, torch.zeros(4, 8, dtype=torch.long), steps=3))
    3
    """
    where = "fit_abstractive"
    check_module(where, "model", model, AbstractiveSummarizer)
    check_tensor(where, "image_units", image_units, dim=3, kind="any")
    check_ids(where, "captions", captions, len(VOCAB), dim=3)
    check_ids(where, "target", target, len(VOCAB), dim=2)
    check_same_rows(where, image_units=image_units, captions=captions, target=target)
    check_positive("fit_abstractive", steps=steps, batch_size=batch_size)
    if not lr > 0:
        raise ValueError(f"fit_abstractive: lr must be positive, got lr={lr!r}")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for _ in range(steps):
        idx = torch.randint(len(target), (min(batch_size, len(target)),))
        logits = model(image_units[idx], captions[idx], target[idx])
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), target[idx].flatten().long())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    return losses
