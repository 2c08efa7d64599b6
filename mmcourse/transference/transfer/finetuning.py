r"""Part 6.2: transfer learning, pretrain an encoder on a large source task and reuse it on a small target task.

Pretraining fits an encoder :math:`f_\phi` and a source head on the source data,
:math:`\phi^\ast = \arg\min_\phi \min_{V_s} \mathcal L_s(V_s f_\phi)`. The target task then starts from
:math:`\phi^\ast` with a fresh head :math:`V`, trained on :math:`n` target examples in one of three modes,

.. math::  \text{scratch: } \min_{\phi, V} \mathcal L_t(V f_\phi),\ \phi \text{ random}; \qquad
           \text{fine-tune: } \min_{\phi, V} \mathcal L_t(V f_\phi),\ \phi_0 = \phi^\ast; \qquad
           \text{probe: } \min_{V} \mathcal L_t(V f_{\phi^\ast}).

The **learning curve** is the target test accuracy against :math:`n` (Yosinski et al. 2014 measure how far such
features transfer; Rosenstein et al. 2005 and Wang et al. 2019 show that a source too far from the target can make
the pretrained start worse than a random one: *negative transfer*).
"""
from __future__ import annotations

import copy
from collections.abc import Sequence

import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmcourse._checks import check_int, check_number, check_tensor
from mmcourse.encoders import MLPEncoder
from mmcourse.transference.transfer._tasks import TASKS, check_xy, digits_task, relabel
from mmcourse.transference.transfer.parameters import freeze
from mmcourse.utils import check_positive, set_seed

# The derived tasks live in _tasks.py and are exported from here.
__all__ = ["TransferModel", "pretrain_encoder", "fine_tune", "learning_curve", "MODES", "TASKS", "relabel",
           "digits_task"]

MODES = ("scratch", "finetune", "probe")


class TransferModel(nn.Module):
    """An encoder and a linear head: ``logits = V f_φ(x) + c``; :meth:`features` gives ``f_φ(x)``.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps ``(n, d)`` inputs to ``(n, width)`` features and has an ``out_dim`` attribute (e.g. ``MLPEncoder``).
    num_classes : int

    Examples
    --------
    >>> model = TransferModel(MLPEncoder(6, 4, (8,)), 3)
    >>> model(torch.zeros(2, 6)).shape, model.features(torch.zeros(2, 6)).shape
    (torch.Size([2, 3]), torch.Size([2, 4]))
    """

    def __init__(self, encoder: nn.Module, num_classes: int):
        super().__init__()
        check_positive("TransferModel", num_classes=num_classes)
        if not hasattr(encoder, "out_dim"):
            raise TypeError(f"TransferModel: encoder must have an out_dim attribute, got {type(encoder).__name__}")
        self.encoder, self.head = encoder, nn.Linear(encoder.out_dim, num_classes)

    def features(self, x: Tensor) -> Tensor:
        check_tensor("TransferModel", "x", x, nonempty=False)
        if x.dim() < 2:
            raise ValueError(f"TransferModel: x must be a batch (n, ...), got shape {tuple(x.shape)}")
        return self.encoder(x.flatten(1))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def _train(model: TransferModel, x: Tensor, y: Tensor, steps: int, lr: float) -> TransferModel:
    # Full batch: the target sets are small, and one step per epoch keeps a fine-tune under a tenth of a second.
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model.eval()


def pretrain_encoder(x: Tensor, y: Tensor, *, width: int = 32, hidden: int = 64, steps: int = 100,
                     lr: float = 1e-2, seed: int = 0) -> MLPEncoder:
    r"""Pretrain an encoder :math:`f_{\phi^\ast}` on a source task (inputs ``x``, labels ``y``) with a throwaway head.

    Parameters
    ----------
    x : Tensor ``(n, ...)``
        Source inputs (flattened to vectors).
    y : Tensor ``(n,)``
        Source labels.
    width, hidden : int
        The encoder ``MLPEncoder(d, width, (hidden,))``.
    steps, lr : int, float
        Full-batch Adam steps and learning rate.
    seed : int

    Returns
    -------
    MLPEncoder
        The pretrained encoder, in eval mode (not frozen: :func:`fine_tune` copies it).

    Examples
    --------
    >>> x, y = torch.randn(30, 5), torch.randint(0, 3, (30,))
    >>> pretrain_encoder(x, y, width=4, hidden=8, steps=5).out_dim
    4
    """
    x, y = check_xy(x, y, "pretrain_encoder")
    check_positive("pretrain_encoder", width=width, hidden=hidden, steps=steps)
    check_number("pretrain_encoder", "lr", lr, low=0, low_open=True)
    set_seed(seed)
    model = TransferModel(MLPEncoder(x.shape[1], width, (hidden,)), int(y.max()) + 1)
    return _train(model, x, y, steps, lr).encoder


def fine_tune(x: Tensor, y: Tensor, *, encoder: nn.Module | None = None, mode: str = "finetune",
              num_classes: int | None = None, width: int = 32, hidden: int = 64, steps: int = 100,
              lr: float | None = None, seed: int = 0) -> TransferModel:
    """Train a target model on ``(x, y)``: from scratch, or from a copy of ``encoder`` fine-tuned or frozen.

    ``mode="scratch"`` ignores ``encoder`` and builds a fresh ``MLPEncoder(d, width, (hidden,))``;
    ``"finetune"`` trains a copy of ``encoder`` and a new head; ``"probe"`` freezes the copy and trains the head only
    (a linear probe). The pretrained encoder itself is never modified. Under 0.1 s for ``n ≤ 500`` on one thread.

    Parameters
    ----------
    x, y : Tensor
        Target inputs ``(n, ...)`` and labels ``(n,)``.
    encoder : torch.nn.Module, optional
        The pretrained encoder (required unless ``mode="scratch"``).
    mode : {"scratch", "finetune", "probe"}
    num_classes : int, optional
        Defaults to ``y.max() + 1`` (pass it when a small sample may miss the last class).
    width, hidden : int
        Size of the scratch encoder.
    steps : int
    lr : float, optional
        Defaults to 1e-2, and 3e-2 for a probe (one linear layer tolerates a larger step).
    seed : int

    Returns
    -------
    TransferModel
        In eval mode; ``model.features(x)`` are its encoder's features.

    Examples
    --------
    >>> x, y = torch.randn(30, 5), torch.randint(0, 3, (30,))
    >>> encoder = pretrain_encoder(x, y, width=4, hidden=8, steps=5)
    >>> model = fine_tune(x[:10], y[:10] % 2, encoder=encoder, mode="probe", steps=5)
    >>> model(x).shape, sum(p.requires_grad for p in model.encoder.parameters())
    (torch.Size([30, 2]), 0)
    """
    x, y = check_xy(x, y, "fine_tune")
    if mode not in MODES:
        raise ValueError(f"fine_tune: mode must be one of {list(MODES)}, got {mode!r}")
    if mode != "scratch" and not isinstance(encoder, nn.Module):
        raise ValueError(f"fine_tune: mode {mode!r} needs a pretrained encoder (an nn.Module), got "
                         f"{type(encoder).__name__}")
    num_classes = int(y.max()) + 1 if num_classes is None else num_classes
    check_positive("fine_tune", steps=steps, num_classes=num_classes, width=width, hidden=hidden)
    if int(y.max()) >= num_classes:
        raise ValueError(f"fine_tune: num_classes is {num_classes} but y holds class {int(y.max())}")
    set_seed(seed)
    if mode == "scratch":
        encoder = MLPEncoder(x.shape[1], width, (hidden,))
    else:
        encoder = copy.deepcopy(encoder)
        if mode == "probe":
            freeze(encoder)
    model = TransferModel(encoder, num_classes)
    return _train(model, x, y, steps, lr if lr is not None else (3e-2 if mode == "probe" else 1e-2))


def learning_curve(train: tuple[Tensor, Tensor], test: tuple[Tensor, Tensor], sizes: Sequence[int], *,
                   encoders: dict[str, tuple[nn.Module | None, str]], draws: int = 3, steps: int = 100,
                   seed: int = 0) -> pd.DataFrame:
    """Target test accuracy against the number ``n`` of target training examples, for several starts.

    For each ``n`` in ``sizes`` and each draw, ``n`` examples are drawn at random (without replacement) from the
    target pool ``train`` (the first ``n`` of one random permutation per draw, so the subsets grow nested); each entry
    ``name: (encoder, mode)`` of ``encoders`` is fitted on them with :func:`fine_tune` and scored on ``test``. Every
    start sees the same examples.

    Parameters
    ----------
    train, test : (Tensor, Tensor)
        The target pool and test set, ``(inputs, labels)``.
    sizes : sequence of int
        Values of ``n``, each at most the pool's size.
    encoders : dict of str to (encoder or None, mode)
        E.g. ``{"scratch": (None, "scratch"), "fine-tuned": (enc, "finetune"), "probe": (enc, "probe")}``.
    draws : int
        Random subsets per ``n`` (one when ``n`` is the whole pool); average them with ``df.groupby``.
    steps : int
    seed : int

    Returns
    -------
    pandas.DataFrame
        Columns ``start, n, draw, accuracy``.

    Examples
    --------
    >>> x, y = torch.randn(40, 5), torch.randint(0, 2, (40,))
    >>> df = learning_curve((x, y), (x, y), [10, 20], encoders={"scratch": (None, "scratch")}, draws=2, steps=3)
    >>> df.shape, list(df.columns)
    ((4, 4), ['start', 'n', 'draw', 'accuracy'])
    """
    (x, y), (xt, yt) = check_xy(*train, "learning_curve"), check_xy(*test, "learning_curve")
    check_int("learning_curve", "seed", seed, low=0)
    check_positive("learning_curve", draws=draws, **{f"sizes[{i}]": n for i, n in enumerate(sizes)})
    if max(sizes, default=0) > len(x):
        raise ValueError(f"learning_curve: sizes must be at most the pool's {len(x)} examples, got {list(sizes)}")
    classes = int(max(y.max(), yt.max())) + 1
    rows = []
    for n in sizes:
        for draw in range(draws if n < len(x) else 1):  # the whole pool is one subset, however it is drawn
            pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed * 1000 + draw))[:n]
            for name, (encoder, mode) in encoders.items():
                model = fine_tune(x[pick], y[pick], encoder=encoder, mode=mode, num_classes=classes, steps=steps,
                                  seed=seed)
                with torch.no_grad():
                    accuracy = float((model(xt).argmax(1) == yt).float().mean())
                rows.append({"start": name, "n": int(n), "draw": draw, "accuracy": accuracy})
    return pd.DataFrame(rows, columns=["start", "n", "draw", "accuracy"])
