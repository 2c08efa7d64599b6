r"""Part 4.1, interactive structure: a language-conditioned agent that follows instructions in the grid world.

The agent reads two modalities, the grid (:class:`~mmcourse.data.GridWorld`'s one-hot cells) and the instruction
(word ids), and outputs a distribution over the four moves, :math:`\pi(a \mid s, \ell)`. The instruction must
decide *which* object the grid features single out, so it scales and shifts them (FiLM, Perez et al., 2018):
an interaction between the modalities, not an additive effect. It is trained by imitation of the shortest-path
expert (:func:`fit_imitation`, here) or by policy gradient (:func:`fit_reinforce`, in ``interactive_rl``), and
run on new layouts by :func:`rollout` (in ``interactive_rollout``).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mmcourse._checks import check_ids, check_module, check_number, check_tensor
from mmcourse.data.gridworld import GRID_ACTIONS, GRID_CHANNELS, GRID_VOCAB, GridWorld
from mmcourse.reasoning.structure.interactive_rl import discounted_returns, fit_reinforce, reinforce_loss
from mmcourse.reasoning.structure.interactive_rollout import Rollout, plot_episodes, random_policy, rollout
from mmcourse.utils import check_positive, get_device, trained_on

__all__ = ["AGENT_CONDITIONINGS", "InstructionAgent", "egocentric_view", "fit_imitation", "Rollout", "rollout",
           "random_policy", "plot_episodes", "discounted_returns", "reinforce_loss", "fit_reinforce"]

AGENT_CONDITIONINGS = ("film", "additive", "blind")


class InstructionAgent(nn.Module):
    r"""A policy :math:`\pi(a \mid s, \ell)` over the grid's four moves, conditioned on the instruction by FiLM.

    The instruction :math:`\ell` is a bag of word embeddings, :math:`e = \frac1{|\ell|}\sum_w E_w`. Each cell's
    one-hot object features :math:`x_c` (colour, shape) pass through a 1×1 convolution, modulated feature-wise by
    the instruction (Perez et al., 2018, *FiLM: Visual Reasoning with a General Conditioning Layer*):

    .. math:: h_c = \mathrm{ReLU}\big((1 + \gamma(e)) \odot W x_c + \beta(e)\big),

    so a channel can fire on "blue square" cells only when the instruction says "blue square": the product is an
    interaction between the modalities (:math:`\gamma = \beta = 0` is the plain network). The feature map is then
    seen from the agent (:func:`egocentric_view`: the grid re-centred on the agent, with a channel that marks the
    cells inside the walls), so that "the target is above me" is the same pattern wherever the agent stands; a 3×3
    convolution and an MLP give the action logits. ``conditioning="additive"`` keeps only :math:`\beta(e)`;
    ``"blind"`` replaces the instruction by padding, so :math:`\gamma, \beta` are constants: the same network,
    deaf to the words. Book section: Part 4.1 (interactive structure).

    Parameters
    ----------
    size : int
        Cells per side of the grid.
    width : int
        Channels of the convolutions.
    embed : int
        Size of the word embeddings.
    conditioning : str
        One of :data:`AGENT_CONDITIONINGS`.

    Examples
    --------
    >>> grid, words = GridWorld().reset(2, seed=0)
    >>> InstructionAgent()(grid, words).shape
    torch.Size([2, 4])
    """

    def __init__(self, size: int = 5, width: int = 16, embed: int = 16, conditioning: str = "film"):
        super().__init__()
        check_positive("InstructionAgent", size=size, width=width, embed=embed)
        if conditioning not in AGENT_CONDITIONINGS:
            raise ValueError(f"InstructionAgent: unknown conditioning={conditioning!r}; expected one of "
                             f"{list(AGENT_CONDITIONINGS)}")
        self.size, self.conditioning = size, conditioning
        self.words = nn.Embedding(len(GRID_VOCAB), embed, padding_idx=0)
        self.film = nn.Linear(embed, 2 * width)
        self.cells = nn.Conv2d(GRID_CHANNELS - 1, width, 1)
        self.spatial = nn.Conv2d(width + 1, width, 3, padding=1)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(width * (2 * size - 1) ** 2, 64), nn.ReLU(),
                                  nn.Linear(64, len(GRID_ACTIONS)))

    def forward(self, grid: torch.Tensor, instruction: torch.Tensor) -> torch.Tensor:
        """Action logits ``(n, 4)`` of grids ``(n, 8, size, size)`` and instructions ``(n, L)`` (word ids)."""
        check_tensor("InstructionAgent", "grid", grid)
        check_tensor("InstructionAgent", "instruction", instruction, kind="int")
        if grid.dim() != 4 or grid.shape[1:] != (GRID_CHANNELS, self.size, self.size):
            raise ValueError(f"InstructionAgent: grid must have shape (n, {GRID_CHANNELS}, {self.size}, "
                             f"{self.size}), got {tuple(grid.shape)}")
        if instruction.dim() != 2 or len(instruction) != len(grid):
            raise ValueError(f"InstructionAgent: instruction must have shape ({len(grid)}, L), "
                             f"got {tuple(instruction.shape)}")
        check_ids("InstructionAgent", "instruction", instruction, len(GRID_VOCAB))
        if self.conditioning == "blind":
            instruction = torch.zeros_like(instruction)  # a constant instruction: the words cannot matter
        words = (instruction != 0).unsqueeze(-1).float()
        e = (self.words(instruction) * words).sum(1) / words.sum(1).clamp(min=1)  # bag of words
        gamma, beta = self.film(e)[:, :, None, None].chunk(2, dim=1)
        if self.conditioning == "additive":
            gamma = torch.zeros_like(gamma)
        h = F.relu((1 + gamma) * self.cells(grid[:, :-1]) + beta)  # FiLM: the words pick the features
        agent = grid[:, -1].flatten(1).argmax(1)
        view = egocentric_view(h, torch.stack([agent // self.size, agent % self.size], 1))
        return self.head(F.relu(self.spatial(view)))


def egocentric_view(features: torch.Tensor, agent: torch.Tensor) -> torch.Tensor:
    """The feature map ``(n, d, s, s)`` re-centred on each agent's cell: ``(n, d + 1, 2s − 1, 2s − 1)``.

    Cell ``(s − 1, s − 1)`` of the view is the agent's own; cells beyond the walls are zero, and an extra last
    channel is 1 inside the grid and 0 outside, so the walls stay visible.

    Examples
    --------
    >>> view = egocentric_view(torch.ones(1, 1, 3, 3), torch.tensor([[0, 0]]))
    >>> view[0, 1].int()   # the agent in the top-left corner sees the grid below and to its right
    tensor([[0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0],
            [0, 0, 1, 1, 1],
            [0, 0, 1, 1, 1],
            [0, 0, 1, 1, 1]], dtype=torch.int32)
    """
    check_tensor("egocentric_view", "features", features, dim=4)
    check_tensor("egocentric_view", "agent", agent, kind="int")
    n, _, s, _ = features.shape
    if agent.shape != (n, 2):
        raise ValueError(f"egocentric_view: agent must have shape ({n}, 2), got {tuple(agent.shape)}")
    check_ids("egocentric_view", "agent", agent, s)  # (row, column) of a cell of the s × s grid
    padded = F.pad(torch.cat([features, features.new_ones(n, 1, s, s)], 1), (s - 1,) * 4)
    offsets = torch.arange(2 * s - 1, device=features.device)
    rows = (agent[:, :1] + offsets)[:, :, None]  # view row i is grid row (agent row + i − (s − 1))
    cols = (agent[:, 1:] + offsets)[:, None, :]
    return padded[torch.arange(n, device=features.device)[:, None, None], :, rows, cols].permute(0, 3, 1, 2)


def fit_imitation(agent: nn.Module, grids: torch.Tensor, instructions: torch.Tensor, actions: torch.Tensor, *,
                  steps: int = 500, batch_size: int = 128, lr: float = 3e-3,
                  device: torch.device | str | None = None) -> list[float]:
    r"""Behaviour cloning: fit the policy to the expert's actions by cross-entropy.

    .. math:: \mathcal L = -\frac1B \sum_{i=1}^B \log \pi_\theta(a^*_i \mid s_i, \ell_i),

    over minibatches of the expert's (state, instruction, action) triples (Pomerleau, 1989, ALVINN). Its known
    weakness is compounding error: the agent's own mistakes lead to states the expert never visited (Ross et al.,
    2011). Call :func:`~mmcourse.set_seed` first for reproducible minibatches.

    Parameters
    ----------
    agent : nn.Module
        The policy, ``agent(grid, instruction) -> logits``, such as :class:`InstructionAgent`.
    grids, instructions, actions : torch.Tensor
        The demonstrations, as :func:`~mmcourse.data.expert_demonstrations` returns them.
    steps, batch_size : int
        Adam steps, and the triples drawn (with replacement) for each.
    lr : float
        Adam's learning rate.
    device : torch.device or str, optional
        Where to train (default: :func:`~mmcourse.get_device`); the agent comes back to where it was.

    Returns
    -------
    list of float: the loss of every step.

    Examples
    --------
    >>> from mmcourse.data import expert_demonstrations
    >>> demos = expert_demonstrations(GridWorld(), 20, seed=0)
    >>> len(fit_imitation(InstructionAgent(width=4), *demos, steps=3, batch_size=8))
    3
    """
    check_module("fit_imitation", "agent", agent)
    check_tensor("fit_imitation", "grids", grids, dim=4)
    check_tensor("fit_imitation", "instructions", instructions, dim=2, kind="int")
    check_ids("fit_imitation", "actions", actions, len(GRID_ACTIONS), dim=1)
    check_positive("fit_imitation", steps=steps, batch_size=batch_size)
    check_number("fit_imitation", "lr", lr, low=0, low_open=True)
    if not len(grids) == len(instructions) == len(actions):
        raise ValueError(f"fit_imitation: grids, instructions and actions must have the same length, got "
                         f"{len(grids)}, {len(instructions)} and {len(actions)}")
    device = get_device(device)
    losses = []
    with trained_on(agent, device):
        optimiser = torch.optim.Adam(agent.parameters(), lr=lr)
        for _ in range(steps):
            batch = torch.randint(len(grids), (batch_size,))
            loss = F.cross_entropy(agent(grids[batch].to(device), instructions[batch].to(device)),
                                   actions[batch].to(device))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
    return losses
