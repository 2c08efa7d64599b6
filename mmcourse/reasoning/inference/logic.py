r"""Part 4.3: logical consistency of compositional answers, and a logic-aware loss (VQA-LOL).

A question "is there a red circle and a blue square ?" is the conjunction of two parts, "is there a red circle ?"
and "is there a blue square ?". A model that answers yes to both parts but no to the whole contradicts itself,
whether or not its answer to the whole happens to be right. Gokhale et al. (2020) measure this and train against
it with a differentiable relaxation of the logic:

- the **product t-norm**: :math:`p_{\wedge} = p_1 p_2`, :math:`p_{\vee} = p_1 + p_2 - p_1 p_2`,
  :math:`p_{\neg} = 1 - p_1` (exact when the two parts are independent events);
- the **Fréchet bounds**, which hold for *every* joint distribution of two events:
  :math:`\max(0, p_1 + p_2 - 1) \le p_{\wedge} \le \min(p_1, p_2)` and
  :math:`\max(p_1, p_2) \le p_{\vee} \le \min(1, p_1 + p_2)`.

The question answerer and its training loop are in :mod:`mmcourse.reasoning.inference.vqa`; the data (composed questions
with their parts) are built by :func:`compositional_questions`.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from collections.abc import Mapping

from mmcourse._checks import check_choice, check_ids, check_module, check_number, check_tensor
from mmcourse.data.scene_questions import (QUESTION_VOCAB, QUESTION_WORDS, decode_question, encode_question,
                                           scene_objects)
from mmcourse.data.scenes import ANSWERS
from mmcourse.reasoning.concepts.programs import as_program, execute, parse
from mmcourse.reasoning.inference.vqa import (CellPerception, QuestionEncoder, VQAModel, _check_inputs,
                                              answer_probabilities, fit_vqa, yes_probability)

__all__ = ["LOGIC_OPS", "t_norm", "frechet_bounds", "consistency_rate", "logic_loss", "compositional_questions",
           "logic_training_loss", "CellPerception", "VQAModel", "fit_vqa", "answer_probabilities", "yes_probability"]

LOGIC_OPS = ("and", "or", "not")


def _op_codes(op, shape, where: str) -> Tensor:
    """``op`` (a name of LOGIC_OPS, or a tensor of codes into it) as an int64 tensor broadcastable to ``shape``."""
    if isinstance(op, str):
        if op not in LOGIC_OPS:
            raise ValueError(f"{where}: op must be one of {LOGIC_OPS} (or a tensor of their codes), got {op!r}")
        return torch.tensor(LOGIC_OPS.index(op))
    if not isinstance(op, Tensor) or op.is_floating_point():
        raise ValueError(f"{where}: op must be one of {LOGIC_OPS} or an integer tensor of codes 0..2, got "
                         f"{type(op).__name__}")
    if op.numel() and (op.min() < 0 or op.max() >= len(LOGIC_OPS)):
        raise ValueError(f"{where}: op codes must lie in 0..{len(LOGIC_OPS) - 1} ({LOGIC_OPS}), got "
                         f"{sorted(set(op.flatten().tolist()))}")
    return op.long()


def _probabilities(where: str, **values) -> list[Tensor]:
    out = []
    for name, p in values.items():
        p = torch.as_tensor(p, dtype=torch.get_default_dtype()) if not isinstance(p, Tensor) else p
        if not torch.isfinite(p).all() or (p < 0).any() or (p > 1).any():
            raise ValueError(f"{where}: {name} must hold probabilities in [0, 1], got values from "
                             f"{p.min().item():.3g} to {p.max().item():.3g}")
        out.append(p)
    return out


def _same_shape(where: str, pc: Tensor, p1: Tensor, p2: Tensor) -> None:
    if pc.numel() == 0:
        raise ValueError(f"{where}: p_composed is empty")
    if not pc.shape == p1.shape == p2.shape:
        raise ValueError(f"{where}: p_composed, p1 and p2 must have one shape (one entry per question), got "
                         f"{tuple(pc.shape)}, {tuple(p1.shape)} and {tuple(p2.shape)}")


def t_norm(p1, p2, op) -> Tensor:
    r"""The product t-norm: :math:`p_1 p_2` (and), :math:`p_1 + p_2 - p_1 p_2` (or), :math:`1 - p_1` (not).

    Gokhale et al. (2020), VQA-LOL; Part 4.3. Exact when the two parts are independent events.

    Parameters
    ----------
    p1, p2 : Tensor or float
        Probabilities of the parts (``p2`` is ignored for ``"not"``; pass ``p1`` again or zeros).
    op : str or Tensor
        ``"and"``, ``"or"``, ``"not"``, or an integer tensor of codes into :data:`LOGIC_OPS` (one per row).

    Returns
    -------
    Tensor
        The probability of the composed statement.

    Example
    -------
    >>> t_norm(torch.tensor(0.5), torch.tensor(0.4), "or")
    tensor(0.7000)
    """
    p1, p2 = _probabilities("t_norm", p1=p1, p2=p2)
    code = _op_codes(op, p1.shape, "t_norm")
    return torch.where(code == 0, p1 * p2, torch.where(code == 1, p1 + p2 - p1 * p2, 1 - p1))


def frechet_bounds(p1, p2, op) -> tuple[Tensor, Tensor]:
    r"""The Fréchet bounds on a composed probability, ``(lower, upper)``.

    :math:`\max(0, p_1 + p_2 - 1) \le p_{\wedge} \le \min(p_1, p_2)`,
    :math:`\max(p_1, p_2) \le p_{\vee} \le \min(1, p_1 + p_2)`, and :math:`p_{\neg} = 1 - p_1` exactly (both
    bounds). They hold for every joint distribution of two events with marginals ``p1``, ``p2``.
    Gokhale et al. (2020); Part 4.3.

    Parameters
    ----------
    p1, p2 : Tensor or float
        Probabilities of the parts (``p2`` ignored for ``"not"``).
    op : str or Tensor
        As in :func:`t_norm`.

    Returns
    -------
    (Tensor, Tensor)
        Lower and upper bounds.

    Example
    -------
    >>> frechet_bounds(torch.tensor(0.7), torch.tensor(0.6), "and")
    (tensor(0.3000), tensor(0.6000))
    """
    p1, p2 = _probabilities("frechet_bounds", p1=p1, p2=p2)
    code = _op_codes(op, p1.shape, "frechet_bounds")
    lower = torch.where(code == 0, (p1 + p2 - 1).clamp(min=0), torch.where(code == 1, torch.maximum(p1, p2), 1 - p1))
    upper = torch.where(code == 0, torch.minimum(p1, p2), torch.where(code == 1, (p1 + p2).clamp(max=1), 1 - p1))
    return lower, upper


def consistency_rate(p_composed, p1, p2, op, threshold: float = 0.5) -> float:
    r"""Share of composed questions whose predicted answer equals the logic applied to the predicted parts.

    With hard answers :math:`a = [p > \text{threshold}]`: consistent when :math:`a_{\wedge} = a_1 \wedge a_2`,
    :math:`a_{\vee} = a_1 \vee a_2`, :math:`a_{\neg} = \neg a_1`. It ignores the true answers: a model can be
    consistent and wrong, or right on the whole and inconsistent with its parts. Part 4.3.

    Example
    -------
    >>> consistency_rate(torch.tensor([0.9, 0.9]), torch.tensor([0.8, 0.2]), torch.tensor([0.7, 0.9]), "and")
    0.5
    """
    pc, p1, p2 = _probabilities("consistency_rate", p_composed=p_composed, p1=p1, p2=p2)
    _same_shape("consistency_rate", pc, p1, p2)
    check_number("consistency_rate", "threshold", threshold, low=0, high=1)
    code = _op_codes(op, pc.shape, "consistency_rate")
    implied = t_norm((p1 > threshold).double(), (p2 > threshold).double(), code) > 0.5
    return ((pc > threshold) == implied).double().mean().item()


def logic_loss(p_composed, p1, p2, op, kind: str = "tnorm") -> Tensor:
    r"""The consistency penalty between a composed probability and those of its parts (mean over the batch).

    ``kind="tnorm"``: :math:`(p - T(p_1, p_2))^2` with the product t-norm :math:`T`; ``kind="frechet"``: the hinge
    :math:`\mathrm{ReLU}(L - p) + \mathrm{ReLU}(p - U)` outside the Fréchet bounds :math:`[L, U]` (zero inside).
    Gradients reach both the composed answer and the parts. Gokhale et al. (2020); Part 4.3.

    Example
    -------
    >>> logic_loss(torch.tensor([0.9]), torch.tensor([0.5]), torch.tensor([0.4]), "and", kind="frechet")
    tensor(0.5000)
    """
    pc, p1, p2 = _probabilities("logic_loss", p_composed=p_composed, p1=p1, p2=p2)
    _same_shape("logic_loss", pc, p1, p2)
    if kind == "tnorm":
        return ((pc - t_norm(p1, p2, op)) ** 2).mean()
    if kind == "frechet":
        lower, upper = frechet_bounds(p1, p2, op)
        return (torch.relu(lower - pc) + torch.relu(pc - upper)).mean()
    raise ValueError(f"logic_loss: kind must be 'tnorm' or 'frechet', got {kind!r}")


def compositional_questions(split, n_labelled: int | None = None, relational: bool = False) -> dict[str, Tensor]:
    """Composed yes/no questions of a scene-questions split with their parts, each part's answer from ``execute``.

    Each row's program (families ``and_exists``, ``or_exists``, ``not_exists``) ends in ``and`` / ``or`` / ``not``;
    a part is the sub-program that ends at one of its ``exists`` steps, asked as "is there a … ?" (the part's text is
    checked to parse back to that sub-program).

    Parameters
    ----------
    split : datasets.Dataset
        A split of :func:`mmcourse.data.load_scene_questions` restricted to those families.
    n_labelled : int, optional
        Keep the answers of the first ``n_labelled`` composed questions only; the others get ``-1`` (unlabelled:
        in training, only the logic loss sees them). The parts keep their answers. ``None`` keeps every answer.
    relational : bool
        Keep the questions with a relation ("is there no object left of the blue square ?"); by default they are
        dropped: a model that looks at one cell at a time cannot answer them.

    Returns
    -------
    dict of Tensor
        ``image`` (N, 30, 30, 3), ``question`` (N, 16), ``answer`` (N,) 1 = yes, ``op`` (N,) codes into
        :data:`LOGIC_OPS`, ``parts`` (N, 2, 16) (the second all padding for ``not``), ``part_answer`` (N, 2)
        (-1 where there is no second part).

    Examples
    --------
    >>> from mmcourse.data import load_scene_questions
    >>> split = load_scene_questions(n_train=4, n_val=1, n_test=1, n_heldout=1, cache=False,
    ...                              families=("and_exists", "or_exists", "not_exists"))["train"]
    >>> data = compositional_questions(split, relational=True)
    >>> tuple(data["parts"].shape), [LOGIC_OPS[k] for k in data["op"]]
    ((4, 2, 16), ['not', 'not', 'and', 'and'])
    """
    # whole columns at once: indexing a dataset column row by row is slow
    table = split.with_format("numpy")
    rows = {key: np.asarray(table[key]) for key in ("image", "question", "answer", "colour", "shape", "cell")}
    rows["program"] = list(split["program"])
    n = len(rows["program"])
    ops, parts, part_answers = np.zeros(n, dtype=np.int64), np.zeros((n, 2, QUESTION_WORDS), dtype=np.int64), \
        np.full((n, 2), -1)
    keep = np.zeros(n, dtype=bool)
    for i in range(n):
        program = as_program(rows["program"][i])
        if program[-1][0] not in LOGIC_OPS:
            raise ValueError(f"compositional_questions: row {i} is not a composed yes/no question (its program ends "
                             f"in {program[-1][0]!r}); load the families and_exists, or_exists, not_exists")
        keep[i] = relational or all(operation != "relate" for operation, _ in program)
        ends = [k for k, (operation, _) in enumerate(program) if operation == "exists"]
        starts = [0, *(e + 1 for e in ends[:-1])]
        text = decode_question(rows["question"][i])
        texts = ([text.replace("is there no ", "is there a ")] if program[-1][0] == "not"
                 else [f"{t} ?" if j == 0 else f"is there a {t} ?" for j, t in
                       enumerate(text[:-2].split(f" {program[-1][0]} a "))])
        objects = scene_objects({key: rows[key][i] for key in ("colour", "shape", "cell")})
        for j, (s, e, part) in enumerate(zip(starts, ends, texts)):
            sub = program[s:e + 1]
            if parse(part) != sub:
                raise ValueError(f"compositional_questions: part {part!r} of {text!r} does not parse to {sub}")
            parts[i, j] = encode_question(part)
            part_answers[i, j] = int(execute(sub, objects) == "yes")
        ops[i] = LOGIC_OPS.index(program[-1][0])
    answer = (torch.as_tensor(np.asarray(rows["answer"])[keep]) == ANSWERS.index("yes")).long()
    n = len(answer)
    if n_labelled is not None:
        if isinstance(n_labelled, bool) or not isinstance(n_labelled, (int, np.integer)) or not 0 <= n_labelled <= n:
            raise ValueError(f"compositional_questions: n_labelled must be an integer in 0..{n}, got {n_labelled!r}")
        answer[n_labelled:] = -1
    return {"image": torch.as_tensor(np.asarray(rows["image"])[keep], dtype=torch.float32),
            "question": torch.as_tensor(np.asarray(rows["question"])[keep], dtype=torch.long), "answer": answer,
            "op": torch.from_numpy(ops[keep]), "parts": torch.from_numpy(parts[keep]),
            "part_answer": torch.from_numpy(part_answers[keep])}


def logic_training_loss(model: nn.Module, batch: dict[str, Tensor], weight: float = 0.0, kind: str = "tnorm",
                        teach_parts: bool = True) -> Tensor:
    r"""Cross-entropy on composed questions and on their parts, plus ``weight`` × :func:`logic_loss`.

    :math:`\mathcal{L} = \mathrm{CE}(\text{whole}) + \mathrm{CE}(\text{parts}) + \lambda\,
    \mathcal{L}_{\text{logic}}(p, p_1, p_2)`; ``weight = 0`` is the plain model trained on the same mix of
    questions. ``batch`` holds the columns of :func:`compositional_questions` (answers ``-1`` are unlabelled: no
    cross-entropy, the logic loss only). ``teach_parts=True`` stops the logic loss's gradient into the parts' answers:
    the parts, simpler and supervised, teach the whole, and a wrong answer to the whole cannot drag a right part.
    Part 4.3.

    Examples
    --------
    >>> batch = {"image": torch.rand(2, 30, 30, 3), "question": torch.ones(2, 16, dtype=torch.long),
    ...          "answer": torch.tensor([1, -1]), "op": torch.tensor([0, 2]),
    ...          "parts": torch.ones(2, 2, 16, dtype=torch.long), "part_answer": torch.tensor([[1, 1], [0, -1]])}
    >>> logic_training_loss(VQAModel(8), batch, weight=1.0).dim()
    0
    """
    check_module("logic_training_loss", "model", model, VQAModel)
    _check_batch("logic_training_loss", batch)
    check_number("logic_training_loss", "weight", weight, low=0)
    check_choice("logic_training_loss", "kind", kind, ("tnorm", "frechet"))
    b = len(batch["question"])
    cells = model.encode_image(batch["image"])
    questions = torch.cat([batch["question"][:, None], batch["parts"]], dim=1)  # (b, 3, words): whole, part 1, 2
    logits = model.fuse(cells.repeat_interleave(3, dim=0), model.encode_question(questions.flatten(0, 1)))
    logits = logits.view(b, 3, 2)
    answers = torch.cat([batch["answer"][:, None], batch["part_answer"]], dim=1)
    present = answers >= 0
    loss = nn.functional.cross_entropy(logits[present], answers[present])
    if weight > 0:
        p = logits.softmax(-1)[..., 1]
        p = torch.cat([p[:, :1], p[:, 1:].detach() if teach_parts else p[:, 1:]], dim=1)
        loss = loss + weight * logic_loss(p[:, 0], p[:, 1], torch.where(present[:, 2], p[:, 2], p[:, 1]),
                                          batch["op"], kind=kind)
    return loss


def _check_batch(where: str, batch) -> None:
    """``batch`` holds the columns of :func:`compositional_questions`, one row per composed question."""
    keys = ("image", "question", "answer", "op", "parts", "part_answer")
    if not isinstance(batch, Mapping) or any(k not in batch for k in keys):
        raise TypeError(f"{where}: batch must be a dict with the columns {keys} of compositional_questions, got "
                        f"{sorted(batch) if isinstance(batch, Mapping) else type(batch).__name__}")
    _check_inputs(batch["image"], batch["question"], where)
    b, words = batch["question"].shape
    check_ids(where, "batch['op']", batch["op"], len(LOGIC_OPS), dim=1)
    check_ids(where, "batch['parts']", batch["parts"], len(QUESTION_VOCAB), dim=3)
    for name, shape in (("answer", (b,)), ("part_answer", (b, 2))):
        labels = check_tensor(where, f"batch[{name!r}]", batch[name], shape=shape, kind="int")
        if int(labels.min()) < -1 or int(labels.max()) > 1:
            raise ValueError(f"{where}: batch[{name!r}] must hold 1 (yes), 0 (no) or -1 (unlabelled), got values "
                             f"from {int(labels.min())} to {int(labels.max())}")
    for name, shape in (("op", (b,)), ("parts", (b, 2, words))):
        if tuple(batch[name].shape) != shape:
            raise ValueError(f"{where}: batch[{name!r}] must have shape {shape}, got {tuple(batch[name].shape)}")
