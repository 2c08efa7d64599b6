"""Checkers for the exercises of Part 4.1, interactive structure: the reward-to-go, the REINFORCE loss of a batch,
and the shortest-path expert's action in the grid world."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from mmcourse.data.gridworld import GRID_MOVES, distance_maps
from mmcourse.exercises._check import CheckResult, as_float64, compare, run_cases
from mmcourse.reasoning.structure.interactive_rl import discounted_returns, reinforce_loss

__all__ = ["check_reward_to_go", "check_reinforce_loss", "check_expert_action"]


def check_reward_to_go(reward_to_go: Callable) -> CheckResult:
    """Exercise: ``reward_to_go(rewards, gamma)`` returns, for one episode's rewards (a 1-D NumPy array), the
    array of :math:`G_t = \\sum_{k \\ge t} \\gamma^{k - t} r_k`."""
    def make_case(g):
        steps = int(torch.randint(2, 9, (1,), generator=g))
        rewards = torch.rand(steps, generator=g, dtype=torch.float64) * (torch.rand(steps, generator=g) < 0.6)
        rewards[-1] = 1.0  # the grid world's reward comes at the end: keep one there
        gamma = 0.5 + 0.45 * float(torch.rand(1, generator=g))
        powers = gamma ** torch.arange(steps, dtype=torch.float64)
        wrong = {"discount the later rewards: G_t = r_t + γ r_{t+1} + γ² r_{t+2} + …, so every G_t needs gamma":
                 rewards.flip(0).cumsum(0).flip(0),
                 "G_t sums the rewards from step t to the end (computed backwards), not from the start to t":
                 discounted_returns(rewards.flip(0)[None], gamma)[0].flip(0),
                 "the discount counts from step t (γ^(k−t)), not from the start of the episode (γ^k)":
                 (rewards * powers).flip(0).cumsum(0).flip(0),
                 "G_t includes r_t itself: G_t = r_t + γ G_{t+1}":
                 torch.cat([discounted_returns(rewards[1:][None], gamma)[0], torch.zeros(1, dtype=torch.float64)])
                 * gamma}
        return (rewards.numpy().copy(), gamma), (discounted_returns(rewards[None], gamma)[0], wrong)

    def judge(ctx, out):
        expected, wrong = ctx
        if isinstance(out, np.ndarray):
            out = np.ascontiguousarray(out)  # a reversed view (r[::-1]) has negative strides, which torch refuses
        return compare(expected, out, wrong, atol=1e-8, rtol=1e-6)

    return run_cases("the reward-to-go", reward_to_go, 12, make_case, judge,
                     "matches mmcourse.reasoning.discounted_returns on {cases} fresh episodes")


def check_reinforce_loss(loss_fn: Callable) -> CheckResult:
    """Exercise: ``loss_fn(log_probs, returns, mask, baseline)`` returns the REINFORCE loss of a batch, a scalar
    tensor: ``-(1/n) Σ_i Σ_t mask·log_probs·(returns − baseline)`` for ``(n, T)`` tensors and a float baseline."""
    def make_case(g):
        n, steps = (int(v) for v in torch.randint(2, 7, (2,), generator=g))
        log_probs = torch.log(torch.rand(n, steps, generator=g, dtype=torch.float64) * 0.9 + 0.05)
        returns = torch.rand(n, steps, generator=g, dtype=torch.float64)
        lengths = torch.randint(1, steps + 1, (n,), generator=g)
        lengths[0] = max(1, steps - 1)  # at least one episode ends early, so the mask matters
        mask = torch.arange(steps)[None] < lengths[:, None]
        baseline = float(returns[mask].mean())
        terms = log_probs * (returns - baseline) * mask
        wrong = {"the loss is MINUS the objective: gradient descent on it must raise the log-probability of "
                 "actions with a positive advantage": -reinforce_loss(log_probs, returns, mask, baseline),
                 "subtract the baseline from the returns: the advantage is G − b":
                 reinforce_loss(log_probs, returns, mask, 0.0),
                 "multiply by the mask: steps after the end of an episode were never taken":
                 -(log_probs * (returns - baseline)).sum() / n,
                 "sum over the steps of an episode and average over the episodes (divide by n, not by the number "
                 "of steps)": -terms.sum() / mask.sum()}
        return ((log_probs.clone(), returns.clone(), mask.clone(), baseline),
                (reinforce_loss(log_probs, returns, mask, baseline), wrong))

    def judge(ctx, out):
        expected, wrong = ctx
        got = as_float64(out)
        if got is not None and got.numel() == 1:
            out = got.reshape(())
        return compare(expected, out, wrong, atol=1e-8, rtol=1e-6)

    return run_cases("the REINFORCE loss", loss_fn, 12, make_case, judge,
                     "matches mmcourse.reasoning.reinforce_loss on {cases} fresh batches")


def _layout(g: torch.Generator, size: int) -> tuple[tuple[int, int], tuple[int, int], list[tuple[int, int]]]:
    """A random (agent, target, blocked) with a reachable target; half of them put an object straight across the
    agent's direct path to the target, so that a greedy step that ignores objects is caught."""
    rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,), generator=g)))
    while True:
        if rng.random() < 0.5:  # a wall right in the way: target straight up or down, an object between
            col, row, direction = rng.integers(size), rng.integers(size), rng.choice([-1, 1])
            if not 0 <= row + 2 * direction < size:  # room for an object and a target beyond it
                continue
            target_row = rng.integers(0, row - 1) if direction < 0 else rng.integers(row + 2, size)
            agent, target, blocked = (row, col), (target_row, col), [(row + direction, col)]
            extra = rng.choice(size * size, size=rng.integers(0, 3), replace=False)
            blocked += [divmod(int(c), size) for c in extra]
        else:
            cells = rng.choice(size * size, size=int(rng.integers(3, 7)), replace=False)
            agent, target = divmod(int(cells[0]), size), divmod(int(cells[1]), size)
            blocked = [divmod(int(c), size) for c in cells[2:]]
        blocked = sorted({(int(r), int(c)) for r, c in blocked} - {agent, target})
        grid = np.zeros((1, size, size), bool)
        for r, c in blocked:
            grid[0, r, c] = True
        dist = distance_maps(grid, np.array([target]))[0]
        if np.isfinite(dist[agent]):
            return (int(agent[0]), int(agent[1])), (int(target[0]), int(target[1])), blocked


def check_expert_action(expert_action: Callable) -> CheckResult:
    """Exercise: ``expert_action(agent, target, blocked, size)`` returns an action (0 up, 1 down, 2 left, 3 right)
    that starts a shortest path from the ``agent``'s cell ``(row, col)`` to the ``target``'s around the ``blocked``
    cells (a list of ``(row, col)``) on a ``size × size`` grid. Any of several equally short first steps passes."""
    def make_case(g):
        size = int(torch.randint(4, 7, (1,), generator=g))
        agent, target, blocked = _layout(g, size)
        grid = np.zeros((1, size, size), bool)
        for r, c in blocked:
            grid[0, r, c] = True
        dist = distance_maps(grid, np.array([target]))[0]
        return (agent, target, list(blocked), size), (agent, target, set(blocked), size, dist)

    def judge(ctx, out):
        agent, target, blocked, size, dist = ctx
        try:
            action = int(out)
        except (TypeError, ValueError):
            return f"return an action as an int in 0..3, got {type(out).__name__}"
        if action != out or not 0 <= action < 4:
            return f"return an action in 0..3 (up, down, left, right), got {out!r}"
        r, c = agent[0] + GRID_MOVES[action][0], agent[1] + GRID_MOVES[action][1]
        inside = 0 <= r < size and 0 <= c < size
        where = f"agent {agent}, target {target}, objects {sorted(blocked)}"
        if inside and (r, c) not in blocked and dist[r, c] == dist[agent] - 1:
            return None
        flipped = agent[0] - GRID_MOVES[action][0], agent[1] - GRID_MOVES[action][1]
        if 0 <= flipped[0] < size and 0 <= flipped[1] < size and dist[flipped] == dist[agent] - 1:
            return (f"{where}: action {action} goes the opposite way: 'up' (0) decreases the row (row 0 is the "
                    f"top) and 'left' (2) decreases the column")
        if not inside:
            return f"{where}: action {action} walks into the wall (row 0 is the top: 'up' decreases the row)"
        if (r, c) in blocked:
            return (f"{where}: action {action} steps onto another object, which ends the episode: search a path "
                    f"around the objects (breadth-first search), not the straight line")
        return f"{where}: action {action} does not shorten the path ({dist[agent]:.0f} steps from the target)"

    return run_cases("the expert's action", expert_action, 30, make_case, judge,
                     "takes a shortest-path step on {cases} fresh layouts")
