r"""Part 4.1: one training loop and one evaluation for every reasoner of the scene world (module network or flat).

A reasoner is called as ``model(images, questions, programs)`` and returns answer logits: the flat model reads the
question's word ids, the module network its program. Both train on the same batches: each batch holds examples
that share a program *layout* (the same operations, different arguments), so that the module network runs it as
one batch; the flat model does not mind.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import trange

from mmcourse._checks import check_module
from mmcourse.reasoning.structure.modules_network import encode_program
from mmcourse.utils import check_positive, get_device, progress_enabled, trained_on

__all__ = ["ReasoningData", "reasoning_data", "program_batches", "fit_reasoner", "evaluate_reasoner"]


@dataclass
class ReasoningData:
    """A split of :func:`mmcourse.data.load_scene_questions` as tensors: ``images`` ``(n, 30, 30, 3)``,
    ``questions`` ``(n, 16)`` word ids, ``programs`` (list of lists of ``"op[arg]"``), ``answers`` ``(n,)`` and
    ``families`` ``(n,)`` (indices of ``family_names``)."""

    images: Tensor
    questions: Tensor
    programs: list
    answers: Tensor
    families: Tensor
    family_names: tuple

    def __len__(self) -> int:
        return len(self.answers)


def reasoning_data(split) -> ReasoningData:
    """The tensors of a split of :func:`mmcourse.data.load_scene_questions` (see :class:`ReasoningData`).

    Examples
    --------
    >>> from mmcourse.data import load_scene_questions
    >>> data = reasoning_data(load_scene_questions(n_train=4, n_val=1, n_test=1, n_heldout=1, cache=False)["train"])
    >>> len(data), tuple(data.images.shape), tuple(data.questions.shape)
    (4, (4, 30, 30, 3), (4, 16))
    """
    if isinstance(split, ReasoningData):
        return split
    columns = getattr(split, "column_names", ())
    missing = [c for c in ("image", "question", "program", "answer", "family") if c not in columns]
    if missing:
        raise ValueError(f"reasoning_data: split must be a split of load_scene_questions; it lacks {missing}")
    table = split.with_format("numpy")
    return ReasoningData(torch.as_tensor(np.asarray(table["image"]), dtype=torch.float32),
                         torch.as_tensor(np.asarray(table["question"]), dtype=torch.long),
                         [list(p) for p in split["program"]],
                         torch.as_tensor(np.asarray(table["answer"]), dtype=torch.long),
                         torch.as_tensor(np.asarray(table["family"]), dtype=torch.long),
                         tuple(split.features["family"].names))


def program_batches(programs, batch_size: int = 64, generator: torch.Generator | None = None) -> list[Tensor]:
    """Shuffled batches of row indices, each holding rows whose programs share one layout.

    Parameters
    ----------
    programs : list of programs
    batch_size : int
        The largest batch; a layout's last batch (and a rare layout) is smaller.
    generator : torch.Generator, optional
        Draws the shuffles (torch's global generator by default).

    Examples
    --------
    >>> sorted(sorted(b.tolist()) for b in program_batches([["scene", "count"], ["scene", "exists"],
    ...                                                     ["scene", "count"]], 4))
    [[0, 2], [1]]
    """
    check_positive("program_batches", batch_size=batch_size)
    groups: dict[tuple, list[int]] = {}
    for i, program in enumerate(programs):
        groups.setdefault(encode_program(program)[0], []).append(i)
    batches = []
    for rows in groups.values():
        rows = torch.tensor(rows)[torch.randperm(len(rows), generator=generator)]
        batches += list(rows.split(batch_size))
    order = torch.randperm(len(batches), generator=generator)
    return [batches[k] for k in order]


def fit_reasoner(model: nn.Module, data, *, epochs: int = 10, batch_size: int = 64, lr: float = 3e-3,
                 by_layout: bool = True, max_length: int | None = None, device=None,
                 progress: bool | None = None) -> list[float]:
    """Train a reasoner with Adam and cross-entropy on the answers; return the mean loss of each epoch.

    Parameters
    ----------
    model : nn.Module
        Called as ``model(images, questions, programs)``; returns answer logits.
    data : ReasoningData or a split of load_scene_questions
    epochs, batch_size, lr
        Optimisation settings; the shuffles use torch's global generator (seed it).
    by_layout : bool
        Batches of one program layout (:func:`program_batches`, what a module network runs fastest) or plain
        shuffled batches of mixed questions (what suits a flat model: no batch pulls it towards one kind).
    max_length : int, optional
        Train only on programs of at most this many steps (a curriculum's first stage).

    Examples
    --------
    >>> from mmcourse.data import load_scene_questions
    >>> from mmcourse.reasoning import NeuralModuleNetwork
    >>> split = load_scene_questions(n_train=8, n_val=1, n_test=1, n_heldout=1, cache=False)["train"]
    >>> len(fit_reasoner(NeuralModuleNetwork(dim=8, hidden=16), split, epochs=2, progress=False))
    2
    """
    check_module("fit_reasoner", "model", model)
    data = reasoning_data(data)
    check_positive("fit_reasoner", epochs=epochs, batch_size=batch_size)
    if not lr > 0:
        raise ValueError(f"fit_reasoner: lr must be positive, got {lr!r}")
    keep = [i for i, p in enumerate(data.programs) if max_length is None or len(p) <= max_length]
    if not keep:
        raise ValueError(f"fit_reasoner: no program has at most max_length={max_length} steps")
    device = get_device(device)
    losses = []
    with trained_on(model, device):
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        images, questions, answers = (x.to(device) for x in (data.images, data.questions, data.answers))
        programs = [data.programs[i] for i in keep]
        model.train()
        for _ in trange(epochs, disable=not progress_enabled(progress), desc="fit_reasoner"):
            total = 0.0
            batches = (program_batches(programs, batch_size) if by_layout
                       else torch.randperm(len(programs)).split(batch_size))
            for batch in batches:
                rows = torch.tensor([keep[i] for i in batch], device=device)
                logits = model(images[rows], questions[rows], [data.programs[i] for i in rows.tolist()])
                loss = nn.functional.cross_entropy(logits, answers[rows])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(rows)
            losses.append(total / len(keep))
    return losses


@torch.no_grad()
def evaluate_reasoner(model: nn.Module, data, *, batch_size: int = 1024) -> dict:
    """Accuracy of a reasoner on a split, overall and per question family.

    Returns
    -------
    dict with ``"accuracy"`` (float), ``"families"`` (``{family: accuracy}`` for the families present) and
    ``"predictions"`` (``(n,)`` answer indices).

    Examples
    --------
    >>> from mmcourse.data import load_scene_questions
    >>> from mmcourse.reasoning import FiLMModel
    >>> split = load_scene_questions(n_train=8, n_val=1, n_test=1, n_heldout=1, cache=False)["train"]
    >>> result = evaluate_reasoner(FiLMModel(dim=8, hidden=16, blocks=1), split)
    >>> sorted(result), tuple(result["predictions"].shape)
    (['accuracy', 'families', 'predictions'], (8,))
    """
    check_module("evaluate_reasoner", "model", model)
    check_positive("evaluate_reasoner", batch_size=batch_size)
    data = reasoning_data(data)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    predictions = []
    for start in range(0, len(data), batch_size):
        rows = slice(start, start + batch_size)
        logits = model(data.images[rows].to(device), data.questions[rows].to(device), data.programs[rows])
        predictions.append(logits.argmax(1).cpu())
    model.train(was_training)
    predictions = torch.cat(predictions)
    right = (predictions == data.answers).float()
    families = {data.family_names[f]: right[data.families == f].mean().item()
                for f in sorted(set(data.families.tolist()))}
    return {"accuracy": right.mean().item(), "families": families, "predictions": predictions}
