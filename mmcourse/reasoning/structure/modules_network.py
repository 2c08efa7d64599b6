r"""Part 4.1: the neural module network, its modules composed along each question's program on a stack of maps."""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor, nn

from mmcourse._checks import check_tensor
from mmcourse.data.scene_questions import RELATIONS
from mmcourse.data.scenes import ANSWERS
from mmcourse.reasoning.concepts.programs import OPERATIONS, as_program, check_program
from mmcourse.reasoning.structure.modules_blocks import (FIND_ARGUMENTS, CellEncoder, Find, Query, Relate, and_module,
                                                  answer_logits, count_module, exists_module, not_module, or_module)
from mmcourse.utils import check_positive

__all__ = ["NeuralModuleNetwork", "encode_program"]


@lru_cache(maxsize=4096)
def _encode(steps: tuple) -> tuple[tuple[str, ...], tuple[int, ...]]:
    check_program(list(steps))
    layout = tuple(op for op, _ in steps)
    args = tuple(-1 if arg is None else (RELATIONS.index(arg) if op == "relate" else FIND_ARGUMENTS.index(arg))
                 for op, arg in steps)
    return layout, args


def encode_program(program) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """A program as its **layout** (the operations, which fix the network's wiring) and its argument ids (an index
    into :data:`FIND_ARGUMENTS` for a filter, into ``RELATIONS`` for ``relate``, -1 for none).

    Examples
    --------
    >>> encode_program(["scene", "filter_colour[red]", "count"])
    (('scene', 'filter_colour', 'count'), (-1, 0, -1))
    """
    return _encode(tuple(as_program(program)))


class NeuralModuleNetwork(nn.Module):
    r"""A neural module network (Andreas et al., 2016; Johnson et al., 2017): the modules of
    :mod:`mmcourse.reasoning.structure.modules`, wired per question along its program and run on a stack.

    ``scene`` pushes the objectness map ``o``; a filter, ``relate`` or ``not`` replaces the map on top; ``and`` /
    ``or`` combine the two values on top; ``count``, ``exists`` and ``query_*`` turn a map into an answer. The whole
    network is trained end to end from (image, program, answer) triples: nothing tells a module where the objects
    are. Examples that share a layout run together as one batch. Book section: Part 4.1.

    Parameters
    ----------
    dim, hidden : int
        Cell feature size and hidden width of the :class:`CellEncoder`.

    Examples
    --------
    >>> net = NeuralModuleNetwork(dim=8, hidden=16)
    >>> net(torch.zeros(2, 30, 30, 3), None, [["scene", "count"], ["scene", "exists"]]).shape
    torch.Size([2, 19])
    """

    def __init__(self, dim: int = 32, hidden: int = 64):
        super().__init__()
        check_positive("NeuralModuleNetwork", dim=dim, hidden=hidden)
        self.cells = CellEncoder(dim, hidden)
        self.objectness = nn.Linear(dim, 1)
        self.find = Find(dim)
        self.relate = Relate()
        self.query = Query(dim)
        self.log_width = nn.Parameter(torch.tensor(math.log(0.5)))  # count's answer width w
        self.log_sharpness = nn.Parameter(torch.tensor(math.log(6.0)))  # exists' threshold slope κ

    def run(self, h: Tensor, layout, args: Tensor, keep: bool = False):
        """Execute one layout on cell features ``h`` ``(batch, 9, dim)`` with argument ids ``args`` ``(batch,
        steps)``. Returns the answer logits, and with ``keep=True`` also the value after each step."""
        objects = torch.sigmoid(self.objectness(h)).squeeze(-1)
        stack: list[tuple[str, Tensor]] = []  # (type, value): "set" maps (b, 9), "bool" probabilities (b,), ...
        values = []
        for t, op in enumerate(layout):
            arg = args[:, t]
            if op == "scene":
                item = ("set", objects)
            elif op.startswith("filter_"):
                item = ("set", stack.pop()[1] * self.find(h, arg))
            elif op == "relate":
                item = ("set", self.relate(stack.pop()[1], arg, objects))
            elif op in ("and", "or"):
                (_, b), (kind, a) = stack.pop(), stack.pop()
                item = (kind, and_module(a, b) if op == "and" else or_module(a, b))
            elif op == "not":
                kind, a = stack.pop()
                item = (kind, not_module(a, objects if kind == "set" else None))
            elif op == "count":
                item = ("number", count_module(stack.pop()[1], self.log_width.exp()))
            elif op == "exists":
                item = ("bool", exists_module(stack.pop()[1], self.log_sharpness.exp()))
            else:  # query_colour, query_shape
                item = ("word", self.query(h, stack.pop()[1], op.split("_")[1]))
            stack.append(item)
            values.append(item)
        kind, value = stack.pop()
        logits = value[1] if kind == "number" else answer_logits(value) if kind == "bool" else value
        return (logits, values) if keep else logits

    def forward(self, images: Tensor, questions, programs) -> Tensor:
        """Answer logits ``(batch, len(ANSWERS))`` for ``images`` ``(batch, 30, 30, 3)`` and one program per image
        (``questions`` is ignored: the module network reads the program)."""
        check_tensor("NeuralModuleNetwork", "images", images, dim=4)
        if not isinstance(programs, (list, tuple)) or len(programs) != len(images):
            got = f"{len(programs)} programs" if isinstance(programs, (list, tuple)) else type(programs).__name__
            raise ValueError(f"NeuralModuleNetwork: programs must be a list of {len(images)} programs (one per "
                             f"image), got {got}")
        h = self.cells(images)
        codes = [encode_program(p) for p in programs]
        groups: dict[tuple, list[int]] = {}
        for i, (layout, _) in enumerate(codes):
            groups.setdefault(layout, []).append(i)
        if len(groups) == 1:  # the training batches of program_batches: no scatter needed
            layout = codes[0][0]
            return self.run(h, layout, torch.tensor([c[1] for c in codes], device=h.device))
        logits = h.new_zeros(len(images), len(ANSWERS))
        for layout, rows in groups.items():
            index = torch.tensor(rows, device=h.device)
            args = torch.tensor([codes[i][1] for i in rows], device=h.device)
            logits = logits.index_copy(0, index, self.run(h[index], layout, args))
        return logits

    @torch.no_grad()
    def trace(self, image: Tensor, program) -> list[tuple[str, np.ndarray | dict[str, float]]]:
        """What the network holds after each step of ``program`` on one ``image`` ``(30, 30, 3)``: for a set, its
        attention map over the nine cells; for an answer, the probabilities of the answers it allows.

        Returns
        -------
        list of (step, value): ``step`` as ``"op[arg]"``; ``value`` a ``(9,)`` array or a dict ``{answer: p}``.
        """
        image = torch.as_tensor(image, dtype=torch.float32)
        if image.shape != (30, 30, 3):
            raise ValueError(f"NeuralModuleNetwork.trace: image must have shape (30, 30, 3), got {tuple(image.shape)}")
        steps = as_program(program)
        layout, args = encode_program(steps)
        device = self.log_width.device
        h = self.cells(image[None].to(device))
        _, values = self.run(h, layout, torch.tensor([args], device=device), keep=True)
        out = []
        for (op, arg), (kind, value) in zip(steps, values):
            name = op if arg is None else f"{op}[{arg}]"
            if kind == "set":
                out.append((name, value[0].cpu().numpy()))
                continue
            logits = value[1] if kind == "number" else answer_logits(value) if kind == "bool" else value
            p = torch.softmax(logits[0].float(), 0).cpu()
            out.append((name, {ANSWERS[k]: float(p[k]) for k in range(len(ANSWERS)) if p[k] > 1e-4}))
        return out


assert set(OPERATIONS) == {"scene", "filter_colour", "filter_shape", "filter_fact", "relate", "and", "or", "not",
                           "count", "exists", "query_colour", "query_shape"}, "a new operation needs its module"
