"""Part 4.1: running the grid world's agent on a batch of episodes, and drawing what it did."""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots
from torch.nn import functional as F

from mmcourse._checks import check_int, check_module, check_same_rows, check_tensor
from mmcourse.data.gridworld import GRID_ACTIONS, GridWorld

__all__ = ["Rollout", "rollout", "random_policy", "plot_episodes"]


def random_policy(grid: torch.Tensor, instruction: torch.Tensor) -> torch.Tensor:
    """Uniform logits (zeros) over the four moves: with ``rollout(..., greedy=False)``, a random walk.

    Examples
    --------
    >>> grid, words = GridWorld().reset(2, seed=0)
    >>> random_policy(grid, words)
    tensor([[0., 0., 0., 0.],
            [0., 0., 0., 0.]])
    """
    check_tensor("random_policy", "grid", grid, dim=4)
    check_tensor("random_policy", "instruction", instruction, dim=2, kind="int")
    check_same_rows("random_policy", grid=grid, instruction=instruction)
    return torch.zeros(len(grid), len(GRID_ACTIONS))


@dataclass
class Rollout:
    """A batch of episodes: ``success`` ``(n,)`` bool, ``steps`` ``(n,)``, the agent's ``positions``
    ``(n, T+1, 2)`` (repeated after the end), ``actions``, ``rewards``, ``mask`` (step taken) ``(n, T)`` and
    ``log_probs`` ``(n, T)`` of the actions taken (a tensor with gradients when ``rollout(..., grad=True)``), and
    ``world``, a copy of the world at the end of the episodes (for :meth:`GridWorld.describe`)."""

    success: np.ndarray
    steps: np.ndarray
    positions: np.ndarray
    actions: np.ndarray
    rewards: torch.Tensor
    mask: torch.Tensor
    log_probs: torch.Tensor
    world: GridWorld


def rollout(policy, world: GridWorld, n: int, seed: int, *, greedy: bool = True, grad: bool = False) -> Rollout:
    r"""Run ``policy`` on ``n`` new episodes of ``world`` (layouts drawn from ``seed``) until all are done.

    At each step the policy gives logits; the action is their argmax (``greedy``) or a sample from
    :math:`\pi = \mathrm{softmax}(\text{logits})` drawn with a generator seeded by ``seed``.

    Parameters
    ----------
    policy : callable
        ``policy(grid, instruction) -> logits (n, 4)``: an :class:`InstructionAgent` or :func:`random_policy`.
    world : GridWorld
    n, seed : int
        Number of episodes, and the seed of their layouts (and of the sampled actions).
    greedy : bool
        Take the most likely action (evaluation) or sample (exploration, REINFORCE).
    grad : bool
        Keep the graph of ``log_probs`` (for a policy-gradient loss).

    Returns
    -------
    Rollout

    Examples
    --------
    >>> run = rollout(random_policy, GridWorld(), 100, seed=0, greedy=False)
    >>> bool(0 < run.success.mean() < 0.5)
    True
    """
    if not callable(policy):
        raise TypeError(f"rollout: policy must be callable (grid, instruction) -> logits, got {type(policy).__name__}")
    grid, words = world.reset(n, seed)
    generator = torch.Generator().manual_seed(seed)
    positions, actions, rewards, masks, log_probs = [world.agent.copy()], [], [], [], []
    with torch.set_grad_enabled(grad):
        while not world.done.all():
            logits = policy(grid, words)
            if logits.shape != (n, len(GRID_ACTIONS)):
                raise ValueError(f"rollout: the policy must return logits of shape ({n}, {len(GRID_ACTIONS)}), "
                                 f"got {tuple(logits.shape)}")
            log_pi = F.log_softmax(logits, dim=1)
            if greedy:
                action = log_pi.argmax(1)
            else:
                action = torch.multinomial(log_pi.detach().exp(), 1, generator=generator)[:, 0]
            masks.append(torch.from_numpy(~world.done))
            (grid, words), reward, _ = world.step(action.numpy())
            log_probs.append(log_pi.gather(1, action[:, None])[:, 0])
            actions.append(np.where(masks[-1].numpy(), action.numpy(), -1))
            rewards.append(torch.from_numpy(reward))
            positions.append(world.agent.copy())
    mask = torch.stack(masks, 1)
    return Rollout(success=world.success.copy(), steps=mask.sum(1).numpy(), positions=np.stack(positions, 1),
                   actions=np.stack(actions, 1), rewards=torch.stack(rewards, 1), mask=mask,
                   log_probs=torch.stack(log_probs, 1) * mask,
                   world=copy.deepcopy(world))  # a snapshot: the next rollout resets the world


_SYMBOLS = {"square": "square", "circle": "circle", "triangle": "triangle-up"}


def plot_episodes(run: Rollout, episodes, *, columns: int | None = None, height: int = 300) -> go.Figure:
    """A plotly figure of some episodes of a :class:`Rollout`: the objects, the target ringed, the agent's path.

    Parameters
    ----------
    run : Rollout
    episodes : sequence of int
        Which episodes to draw (one panel each, titled by the instruction and the outcome).
    columns : int, optional
        Panels per row (default: all in one row).
    height : int
        Height of one row of panels, in pixels.

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> run = rollout(random_policy, GridWorld(), 4, seed=0, greedy=False)
    >>> len(plot_episodes(run, [0, 1], columns=2).layout.annotations)   # one title per panel
    2
    """
    from mmcourse.data.scenes import RGB, COLOURS

    check_module("plot_episodes", "run", run, Rollout)
    if columns is not None:
        check_int("plot_episodes", "columns", columns, low=1)
    check_int("plot_episodes", "height", height, low=1)
    episodes = [check_int("plot_episodes", "episodes[i]", i) for i in episodes]
    bad = [i for i in episodes if not 0 <= i < len(run.success)]
    if not episodes or bad:
        raise ValueError(f"plot_episodes: episodes must be indices in 0..{len(run.success) - 1}, got {episodes}")
    columns = columns or len(episodes)
    rows = -(-len(episodes) // columns)
    titles = []
    for i in episodes:
        steps = int(run.steps[i])
        titles.append(f"{run.world.describe(i)['instruction'][10:]}<br>"
                      f"{'reached' if run.success[i] else 'missed'} in {steps} step{'s' * (steps != 1)}")
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=titles, horizontal_spacing=0.04,
                        vertical_spacing=0.12)
    size = run.world.size
    for k, i in enumerate(episodes):
        row, col = k // columns + 1, k % columns + 1
        episode = run.world.describe(i)
        for j, (colour, shape, (r, c)) in enumerate(episode["objects"]):
            rgb = ",".join(str(int(255 * v)) for v in RGB[COLOURS.index(colour)])
            target = j == episode["target"]
            fig.add_scatter(x=[c], y=[r], mode="markers", showlegend=False, hoverinfo="text",
                            text=f"{colour} {shape}{' (target)' if target else ''}",
                            marker=dict(symbol=_SYMBOLS[shape], size=26, color=f"rgb({rgb})",
                                        line=dict(width=3 if target else 0, color="black")), row=row, col=col)
        path = run.positions[i, :int(run.steps[i]) + 1]
        fig.add_scatter(x=path[:, 1], y=path[:, 0], mode="lines+markers", showlegend=False, hoverinfo="skip",
                        line=dict(color="gray", width=2), marker=dict(size=7, color="gray"), row=row, col=col)
        fig.add_scatter(x=path[:1, 1], y=path[:1, 0], mode="markers", showlegend=False, hoverinfo="text",
                        text="start", marker=dict(symbol="star", size=14, color="black"), row=row, col=col)
        fig.update_yaxes(scaleanchor=f"x{k + 1 if k else ''}", row=row, col=col)  # square cells in every panel
    fig.update_xaxes(range=[-0.5, size - 0.5], dtick=1, showticklabels=False, showgrid=True, zeroline=False)
    fig.update_yaxes(range=[size - 0.5, -0.5], dtick=1, showticklabels=False, showgrid=True, zeroline=False)
    fig.update_layout(template="plotly_white", height=height * rows, margin=dict(t=60, b=10, l=10, r=10),
                      font=dict(size=11))
    return fig
