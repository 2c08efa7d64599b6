r"""The grid world of Part 4.1: an agent that must walk to the object an instruction names.

A ``size × size`` grid (5×5 by default) holds ``n_objects`` coloured shapes in distinct cells (the colours and
shapes of the scene world, :data:`~mmcourse.data.COLOURS` and :data:`~mmcourse.data.SHAPES`; no two objects of an
episode alike) and an agent on a free cell. The instruction names one object, the **target**, uniquely:

=================  ==============================  ==============================================
type               example                         used when
=================  ==============================  ==============================================
``colour_shape``   go to the blue square           always
``colour``         go to the red object            the target is the only object of its colour
``shape``          go to the circle                the target is the only object of its shape
=================  ==============================  ==============================================

Actions (:data:`GRID_ACTIONS`): up, down, left, right; a move into the wall leaves the agent where it is. Stepping
onto an object ends the episode, with reward :math:`r = 1` if it is the target and 0 otherwise; so does running out
of ``max_steps`` steps. An agent that ignores the instruction can therefore reach one object only.

The observation has two modalities: the grid as a tensor of ``8`` one-hot channels per cell (4 colours, 3 shapes,
the agent) and the instruction as word ids into :data:`GRID_VOCAB`. :class:`GridWorld` runs a batch of episodes
at once with NumPy; :func:`expert_demonstrations` rolls out the shortest-path expert for imitation. Book section:
Part 4.1 (interactive structure).
"""
from __future__ import annotations

import numpy as np
import torch

from mmcourse.data._common import check_seed
from mmcourse.data.scenes import COLOURS, SHAPES

__all__ = ["GRID_ACTIONS", "GRID_MOVES", "GRID_VOCAB", "GRID_CHANNELS", "INSTRUCTION_TYPES", "INSTRUCTION_LENGTH",
           "GridWorld", "encode_instruction", "decode_instruction", "distance_maps", "expert_demonstrations"]

GRID_ACTIONS = ("up", "down", "left", "right")
GRID_MOVES = np.array([[-1, 0], [1, 0], [0, -1], [0, 1]])  # (row, column) change of each action; row 0 is the top
GRID_VOCAB = ("<pad>", "go", "to", "the", *COLOURS, *SHAPES, "object")
GRID_CHANNELS = len(COLOURS) + len(SHAPES) + 1  # colour one-hot, shape one-hot, agent
INSTRUCTION_TYPES = ("colour_shape", "colour", "shape")
INSTRUCTION_LENGTH = 5  # "go to the blue square"
_INDEX = {word: i for i, word in enumerate(GRID_VOCAB)}


def encode_instruction(text: str | list[str]) -> np.ndarray:
    """Word ids of an instruction, padded with 0 (``<pad>``) to :data:`INSTRUCTION_LENGTH`.

    Examples
    --------
    >>> encode_instruction("go to the circle")
    array([1, 2, 3, 9, 0])
    """
    words = text.split() if isinstance(text, str) else list(text)
    unknown = [w for w in words if w not in _INDEX]
    if unknown:
        raise ValueError(f"encode_instruction: unknown word(s) {unknown}; the vocabulary is {list(GRID_VOCAB)}")
    if len(words) > INSTRUCTION_LENGTH:
        raise ValueError(f"encode_instruction: the text has {len(words)} words, more than {INSTRUCTION_LENGTH}")
    return np.array([_INDEX[w] for w in words] + [0] * (INSTRUCTION_LENGTH - len(words)))


def decode_instruction(ids) -> str:
    """The text of word ids, padding dropped.

    Examples
    --------
    >>> decode_instruction([1, 2, 3, 6, 8])
    'go to the blue square'
    """
    ids = np.asarray(ids.cpu() if isinstance(ids, torch.Tensor) else ids).ravel()
    if ids.dtype.kind not in "iu" or ((ids < 0) | (ids >= len(GRID_VOCAB))).any():
        raise ValueError(f"decode_instruction: ids must be integers in 0..{len(GRID_VOCAB) - 1}, got {ids.tolist()}")
    return " ".join(GRID_VOCAB[i] for i in ids if i != 0)


def _check_grid_targets(blocked, target, where: str) -> tuple[np.ndarray, np.ndarray]:
    """``blocked`` a bool array ``(n, size, size)`` and ``target`` one integer ``(row, column)`` on the grid per row."""
    blocked, target = np.asarray(blocked), np.asarray(target)
    if blocked.dtype != bool:
        raise TypeError(f"{where}: blocked must be a boolean array, got dtype {blocked.dtype}")
    if blocked.ndim != 3 or blocked.shape[1] != blocked.shape[2]:
        raise ValueError(f"{where}: blocked must have shape (n, size, size), got {blocked.shape}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{where}: target must be an integer array, got dtype {target.dtype}")
    if target.shape != (len(blocked), 2):
        raise ValueError(f"{where}: target must have shape ({len(blocked)}, 2), one (row, column) per grid, got "
                         f"{target.shape}")
    if target.size and (target.min() < 0 or target.max() >= blocked.shape[1]):
        raise ValueError(f"{where}: target must hold cells in 0..{blocked.shape[1] - 1}, got values from "
                         f"{target.min()} to {target.max()}")
    return blocked, target


def distance_maps(blocked: np.ndarray, target: np.ndarray) -> np.ndarray:
    r"""Shortest-path distances (in steps) from every cell to the target cell, around blocked cells.

    Breadth-first search written as a relaxation, for a batch at once:
    :math:`d(c) \leftarrow \min\big(d(c),\ 1 + \min_{c' \in N(c)} d(c')\big)` over free cells, until nothing changes.

    Parameters
    ----------
    blocked : numpy.ndarray of bool, shape ``(n, size, size)``
        Cells the path may not cross (the other objects).
    target : numpy.ndarray of int, shape ``(n, 2)``
        The target's (row, column).

    Returns
    -------
    numpy.ndarray of float, shape ``(n, size, size)``: ``inf`` where the target cannot be reached.

    Examples
    --------
    >>> blocked = np.zeros((1, 3, 3), bool); blocked[0, 1, 1] = True
    >>> distance_maps(blocked, np.array([[0, 0]]))[0].tolist()
    [[0.0, 1.0, 2.0], [1.0, inf, 3.0], [2.0, 3.0, 4.0]]
    """
    blocked, target = _check_grid_targets(blocked, target, "distance_maps")
    n, size, _ = blocked.shape
    dist = np.full((n, size + 2, size + 2), np.inf)  # a border of inf stands for the walls
    dist[np.arange(n), target[:, 0] + 1, target[:, 1] + 1] = 0
    free = ~blocked
    while True:
        neighbours = np.minimum.reduce([dist[:, :-2, 1:-1], dist[:, 2:, 1:-1], dist[:, 1:-1, :-2], dist[:, 1:-1, 2:]])
        inner = np.where(free, np.minimum(dist[:, 1:-1, 1:-1], neighbours + 1), np.inf)
        if np.array_equal(inner, dist[:, 1:-1, 1:-1]):
            return inner
        dist[:, 1:-1, 1:-1] = inner


class GridWorld:
    """A batch of instruction-following episodes on a ``size × size`` grid (see the module's docstring).

    Parameters
    ----------
    size : int
        Cells per side (at least 3).
    n_objects : int
        Objects per episode (2 to ``min(12, size² − 1)``).
    max_steps : int, optional
        The step budget; default ``3 (size − 1)``. Every episode's target is reachable within it.

    Examples
    --------
    >>> world = GridWorld(size=5, n_objects=3)
    >>> grid, words = world.reset(4, seed=0)
    >>> tuple(grid.shape), tuple(words.shape)
    ((4, 8, 5, 5), (4, 5))
    >>> (grid, words), reward, done = world.step(world.expert_actions())
    """

    def __init__(self, size: int = 5, n_objects: int = 3, max_steps: int | None = None):
        for name, value, low in (("size", size, 3), ("n_objects", n_objects, 2)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ValueError(f"GridWorld: {name} must be an integer >= {low}, got {value!r}")
        if n_objects > min(len(COLOURS) * len(SHAPES), size * size - 1):
            raise ValueError(f"GridWorld: n_objects={n_objects} does not fit; at most "
                             f"{min(len(COLOURS) * len(SHAPES), size * size - 1)} on a {size}x{size} grid")
        max_steps = 3 * (size - 1) if max_steps is None else max_steps
        if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
            raise ValueError(f"GridWorld: max_steps must be a positive integer, got {max_steps!r}")
        self.size, self.n_objects, self.max_steps = int(size), int(n_objects), int(max_steps)
        self.n = 0

    def reset(self, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Start ``n`` new episodes drawn from ``seed``; returns the observation ``(grid, instruction)``."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"GridWorld.reset: n must be a positive integer, got {n!r}")
        rng = np.random.default_rng(check_seed(seed, "GridWorld.reset"))
        self.n = int(n)
        self.cells = np.zeros((n, self.n_objects), np.int64)
        self.kinds = np.zeros((n, self.n_objects), np.int64)
        self.agent = np.zeros((n, 2), np.int64)
        self.target = np.zeros(n, np.int64)
        todo = np.arange(n)
        while len(todo):  # redraw the rare layouts whose target is walled in or too far
            self._draw(rng, todo)
            dist = self._distances(todo)[np.arange(len(todo)), self.agent[todo, 0], self.agent[todo, 1]]
            todo = todo[dist > self.max_steps]
        self.instruction_type = np.zeros(n, np.int64)
        self.instruction = np.stack([self._instruction(rng, i) for i in range(n)])
        self.t = 0
        self.done = np.zeros(n, bool)
        self.success = np.zeros(n, bool)
        return self.observe()

    def _draw(self, rng: np.random.Generator, rows: np.ndarray) -> None:
        for i in rows:
            cells = rng.choice(self.size * self.size, size=self.n_objects + 1, replace=False)
            self.cells[i], self.agent[i] = cells[1:], divmod(cells[0], self.size)
            self.kinds[i] = rng.choice(len(COLOURS) * len(SHAPES), size=self.n_objects, replace=False)
            self.target[i] = rng.integers(self.n_objects)

    def _instruction(self, rng: np.random.Generator, i: int) -> np.ndarray:
        colour, shape = divmod(self.kinds[i], len(SHAPES))
        c, s = colour[self.target[i]], shape[self.target[i]]
        valid = [0] + [1] * int((colour == c).sum() == 1) + [2] * int((shape == s).sum() == 1)
        kind = self.instruction_type[i] = rng.choice(valid)
        noun = (f"{COLOURS[c]} {SHAPES[s]}", f"{COLOURS[c]} object", SHAPES[s])[kind]
        return encode_instruction(f"go to the {noun}")

    def _distances(self, rows: np.ndarray | None = None) -> np.ndarray:
        rows = np.arange(self.n) if rows is None else rows
        blocked = np.zeros((len(rows), self.size * self.size), bool)
        blocked[np.arange(len(rows))[:, None], self.cells[rows]] = True
        target_cell = self.cells[rows, self.target[rows]]
        blocked[np.arange(len(rows)), target_cell] = False
        target = np.stack(divmod(target_cell, self.size), axis=1)
        return distance_maps(blocked.reshape(-1, self.size, self.size), target)

    def observe(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The observation: the grid ``(n, 8, size, size)`` float32 one-hot and the instruction ``(n, 5)`` int64."""
        self._check_started("observe")
        grid = np.zeros((self.n, GRID_CHANNELS, self.size * self.size), np.float32)
        rows = np.arange(self.n)[:, None]
        colour, shape = divmod(self.kinds, len(SHAPES))
        grid[rows, colour, self.cells] = 1
        grid[rows, len(COLOURS) + shape, self.cells] = 1
        grid[np.arange(self.n), -1, self.agent[:, 0] * self.size + self.agent[:, 1]] = 1
        return (torch.from_numpy(grid.reshape(self.n, GRID_CHANNELS, self.size, self.size)),
                torch.from_numpy(self.instruction.astype(np.int64)))

    def step(self, actions) -> tuple[tuple[torch.Tensor, torch.Tensor], np.ndarray, np.ndarray]:
        """Move every running episode's agent by its action; returns ``(observation, reward, done)``.

        ``actions`` holds one integer in 0..3 per episode (:data:`GRID_ACTIONS`). Finished episodes ignore theirs
        and get reward 0. ``reward`` is float32 ``(n,)``, ``done`` bool ``(n,)``.
        """
        self._check_started("step")
        actions = np.asarray(actions.cpu() if isinstance(actions, torch.Tensor) else actions)
        if actions.shape != (self.n,):
            raise ValueError(f"GridWorld.step: actions must have shape ({self.n},), one per episode, "
                             f"got {actions.shape}")
        if actions.dtype.kind not in "iu" or ((actions < 0) | (actions >= len(GRID_ACTIONS))).any():
            raise ValueError(f"GridWorld.step: actions must be integers in 0..{len(GRID_ACTIONS) - 1} "
                             f"{GRID_ACTIONS}, got {np.unique(actions).tolist()}")
        running = ~self.done
        moved = np.clip(self.agent + GRID_MOVES[actions], 0, self.size - 1)
        self.agent[running] = moved[running]
        on = self.cells == (self.agent[:, 0] * self.size + self.agent[:, 1])[:, None]  # (n, n_objects)
        hit_target = on[np.arange(self.n), self.target]
        reward = (running & hit_target).astype(np.float32)
        self.success |= running & hit_target
        self.t += 1
        self.done |= on.any(1) | (self.t >= self.max_steps)
        return self.observe(), reward, self.done.copy()

    def expert_actions(self) -> np.ndarray:
        """The shortest-path expert's action for every episode (ties: the first in :data:`GRID_ACTIONS`)."""
        self._check_started("expert_actions")
        dist = np.pad(self._distances(), ((0, 0), (1, 1), (1, 1)), constant_values=np.inf)
        after = np.stack([dist[np.arange(self.n), self.agent[:, 0] + 1 + dr, self.agent[:, 1] + 1 + dc]
                          for dr, dc in GRID_MOVES], axis=1)
        return after.argmin(1)

    def _check_started(self, where: str) -> None:
        if self.n == 0:
            raise RuntimeError(f"GridWorld.{where}: call reset(n, seed) first")

    def describe(self, i: int) -> dict:
        """Episode ``i`` in words: its instruction, objects ``(colour, shape, (row, col))``, agent and target."""
        colour, shape = divmod(self.kinds[i], len(SHAPES))
        objects = [(COLOURS[c], SHAPES[s], divmod(int(cell), self.size))
                   for c, s, cell in zip(colour, shape, self.cells[i])]
        return {"instruction": decode_instruction(self.instruction[i]), "objects": objects,
                "agent": tuple(int(v) for v in self.agent[i]), "target": int(self.target[i])}


def expert_demonstrations(world: GridWorld, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Roll out the shortest-path expert on ``n`` episodes; every (observation, action) pair, for imitation.

    Returns
    -------
    grids ``(m, 8, size, size)`` float32, instructions ``(m, 5)`` int64 and expert actions ``(m,)`` int64, one
    row per step taken (``m`` is the total length of the ``n`` expert paths).

    Examples
    --------
    >>> grids, words, actions = expert_demonstrations(GridWorld(), 10, seed=0)
    >>> len(grids) == len(words) == len(actions)
    True
    """
    grid, words = world.reset(n, seed)
    grids, instructions, actions = [], [], []
    while not world.done.all():
        running = torch.from_numpy(~world.done)
        action = world.expert_actions()
        grids.append(grid[running]), instructions.append(words[running])
        actions.append(torch.from_numpy(action)[running])
        (grid, words), _, _ = world.step(action)
    if not world.success.all():  # the expert must never fail: the layouts are drawn so that it cannot
        raise RuntimeError("expert_demonstrations: the expert missed a target; please report this bug")
    return torch.cat(grids), torch.cat(instructions), torch.cat(actions).long()
