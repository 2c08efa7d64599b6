r"""Part 4.1: policy gradient for the grid world's agent (REINFORCE with a baseline, Williams, 1992).

The agent acts, the world answers with a reward at the end, and the gradient of the expected return

.. math:: \nabla_\theta J = \mathbb E\Big[\sum_t \nabla_\theta \log \pi_\theta(a_t \mid s_t, \ell)\,(G_t - b)\Big],
   \qquad G_t = \sum_{k \ge t} \gamma^{k - t} r_k,

raises the log-probability of the actions that were followed by more return than the baseline :math:`b`.
"""
from __future__ import annotations

import torch
from torch import nn

from mmcourse._checks import check_module, check_number, check_tensor
from mmcourse.data.gridworld import GridWorld
from mmcourse.reasoning.structure.interactive_rollout import rollout
from mmcourse.utils import check_positive

__all__ = ["discounted_returns", "reinforce_loss", "fit_reinforce"]


def discounted_returns(rewards: torch.Tensor, gamma: float) -> torch.Tensor:
    r"""The reward-to-go of every step, :math:`G_t = \sum_{k \ge t} \gamma^{k - t} r_k = r_t + \gamma G_{t+1}`.

    Parameters
    ----------
    rewards : torch.Tensor
        ``(n, T)``: episodes by steps.
    gamma : float
        The discount, in [0, 1].

    Returns
    -------
    torch.Tensor of the shape of ``rewards``.

    Examples
    --------
    >>> discounted_returns(torch.tensor([[0., 0., 1.]]), 0.5)
    tensor([[0.2500, 0.5000, 1.0000]])
    """
    if not isinstance(rewards, torch.Tensor) or rewards.dim() != 2:
        raise ValueError(f"discounted_returns: rewards must be a tensor of shape (n, T), got "
                         f"{tuple(rewards.shape) if isinstance(rewards, torch.Tensor) else type(rewards).__name__}")
    check_tensor("discounted_returns", "rewards", rewards)
    if not 0 <= gamma <= 1:
        raise ValueError(f"discounted_returns: gamma must be in [0, 1], got {gamma!r}")
    returns = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):  # backwards: G_t = r_t + γ G_{t+1}
        running = rewards[:, t] + gamma * running
        returns[:, t] = running
    return returns


def reinforce_loss(log_probs: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor,
                   baseline: float | torch.Tensor = 0.0) -> torch.Tensor:
    r"""The REINFORCE surrogate loss of a batch of episodes, whose gradient is :math:`-\nabla J`:

    .. math:: \mathcal L = -\frac1n \sum_{i=1}^n \sum_t m_{it}\, \log \pi_\theta(a_{it} \mid s_{it}, \ell_i)\,
       (G_{it} - b),

    with :math:`m_{it} = 1` on the steps taken. The advantage :math:`G - b` is a constant (no gradient flows into
    the returns or the baseline); subtracting :math:`b` leaves the gradient's expectation unchanged and lowers its
    variance (Williams, 1992, *Simple statistical gradient-following algorithms for connectionist reinforcement
    learning*).

    Parameters
    ----------
    log_probs, returns : torch.Tensor
        ``(n, T)``: the log-probabilities of the actions taken, and their reward-to-go.
    mask : torch.Tensor
        ``(n, T)`` bool, True on the steps taken.
    baseline : float or torch.Tensor
        :math:`b`, a number or a tensor that broadcasts to ``(n, T)``.

    Examples
    --------
    >>> reinforce_loss(torch.log(torch.tensor([[0.5, 0.5]])), torch.tensor([[1., 1.]]), torch.tensor([[True, False]]))
    tensor(0.6931)
    """
    check_tensor("reinforce_loss", "log_probs", log_probs)
    check_tensor("reinforce_loss", "returns", returns)
    check_tensor("reinforce_loss", "mask", mask, kind="any")
    if isinstance(baseline, torch.Tensor):
        check_tensor("reinforce_loss", "baseline", baseline)
    else:
        check_number("reinforce_loss", "baseline", baseline)
    if not log_probs.shape == returns.shape == mask.shape or log_probs.dim() != 2:
        raise ValueError(f"reinforce_loss: log_probs, returns and mask must have one shape (n, T), got "
                         f"{tuple(log_probs.shape)}, {tuple(returns.shape)} and {tuple(mask.shape)}")
    advantage = (returns - baseline).detach()
    return -(log_probs * advantage * mask).sum() / len(log_probs)


def fit_reinforce(agent: nn.Module, world: GridWorld, *, updates: int = 100, episodes: int = 128,
                  lr: float = 3e-3, gamma: float = 0.9, seed: int = 0) -> dict[str, list[float]]:
    r"""Train ``agent`` by REINFORCE: sample ``episodes`` fresh episodes, step along :func:`reinforce_loss`, repeat.

    The baseline :math:`b` is the mean return over the batch's steps. Update ``u`` draws its layouts from seed
    ``seed * 100_003 + u``, so every batch holds new layouts. The discount :math:`\gamma < 1` makes a short path
    worth more than a long one. The episodes are played on the CPU (the world is NumPy), where the agent must be.

    Parameters
    ----------
    agent : nn.Module
        The policy, ``agent(grid, instruction) -> logits``, such as :class:`InstructionAgent`.
    world : GridWorld
    updates, episodes : int
        Adam steps, and the episodes sampled for each.
    lr : float
        Adam's learning rate.
    gamma : float
        The discount of :func:`discounted_returns`.
    seed : int
        Draws the layouts (and the sampled actions) of every update.

    Returns
    -------
    dict with, per update, ``"episodes"`` (the number of episodes played so far), ``"success"`` (the sampled
    policy's success rate on that batch) and ``"loss"``.

    Examples
    --------
    >>> from mmcourse.reasoning import InstructionAgent
    >>> history = fit_reinforce(InstructionAgent(width=4), GridWorld(), updates=2, episodes=8)
    >>> history["episodes"]
    [8, 16]
    """
    check_module("fit_reinforce", "agent", agent)
    check_module("fit_reinforce", "world", world, GridWorld)
    check_positive("fit_reinforce", updates=updates, episodes=episodes)
    check_number("fit_reinforce", "lr", lr, low=0, low_open=True)
    check_number("fit_reinforce", "gamma", gamma, low=0, high=1)
    optimiser = torch.optim.Adam(agent.parameters(), lr=lr)
    history: dict[str, list[float]] = {"episodes": [], "success": [], "loss": []}
    for update in range(updates):
        run = rollout(agent, world, episodes, seed=seed * 100_003 + update, greedy=False, grad=True)
        returns = discounted_returns(run.rewards, gamma)
        baseline = returns[run.mask].mean()
        loss = reinforce_loss(run.log_probs, returns, run.mask, baseline)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        history["episodes"].append((update + 1) * episodes)
        history["success"].append(float(run.success.mean()))
        history["loss"].append(loss.item())
    return history
