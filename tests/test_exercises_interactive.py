"""The checkers of Part 4.1's interactive exercises pass right solutions, catch the usual mistakes with their hint,
say "not attempted" for a stub, and leave torch's random generator alone."""
from collections import deque

import numpy as np
import torch

from mmcourse.exercises import check_expert_action, check_reinforce_loss, check_reward_to_go

MOVES = [(-1, 0), (1, 0), (0, -1), (0, 1)]


def reward_to_go(rewards, gamma):
    out, running = np.zeros(len(rewards)), 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


def loss(log_probs, returns, mask, baseline):
    return -(log_probs * (returns - baseline).detach() * mask).sum() / log_probs.shape[0]


def expert_action(agent, target, blocked, size):
    blocked = set(map(tuple, blocked))
    dist, queue = {tuple(target): 0}, deque([tuple(target)])
    while queue:
        r, c = queue.popleft()
        for dr, dc in MOVES:
            cell = (r + dr, c + dc)
            if 0 <= cell[0] < size and 0 <= cell[1] < size and cell not in blocked and cell not in dist:
                dist[cell] = dist[(r, c)] + 1
                queue.append(cell)
    for action, (dr, dc) in enumerate(MOVES):
        if dist.get((agent[0] + dr, agent[1] + dc), np.inf) == dist[tuple(agent)] - 1:
            return action


def expert_action_last_tie(agent, target, blocked, size):  # another shortest-path step where there are two
    action = expert_action(agent, target, blocked, size)
    for other in reversed(range(4)):
        moved = (agent[0] + MOVES[other][0], agent[1] + MOVES[other][1])
        if moved == tuple(target):
            return other
    return action


def test_right_solutions_pass_and_keep_the_generator():
    state = torch.random.get_rng_state()
    assert check_reward_to_go(reward_to_go).passed
    assert check_reward_to_go(lambda r, g: torch.tensor(reward_to_go(r, g))).passed  # tensors are fine too
    assert check_reinforce_loss(loss).passed
    assert check_expert_action(expert_action).passed and check_expert_action(expert_action_last_tie).passed
    assert repr(check_reinforce_loss(loss)).startswith("PASS")
    assert torch.equal(state, torch.random.get_rng_state())


def test_stubs_are_not_attempted():
    def stub(*args):
        raise NotImplementedError
    for check in (check_reward_to_go, check_reinforce_loss, check_expert_action):
        result = check(stub)
        assert not result.passed and "not attempted" in result.message


def test_reward_to_go_mistakes_get_hints():
    cases = {
        "every G_t needs gamma": lambda r, g: np.cumsum(r[::-1])[::-1],
        "not from the start to t": lambda r, g: reward_to_go(r[::-1], g)[::-1],
        "not from the start of the episode": lambda r, g: np.cumsum((r * g ** np.arange(len(r)))[::-1])[::-1],
        "G_t includes r_t": lambda r, g: g * np.append(reward_to_go(r[1:], g), 0.0),
        "shape": lambda r, g: reward_to_go(r, g)[:-1],
        "return a torch.Tensor": lambda r, g: "G",
    }
    for hint, wrong in cases.items():
        result = check_reward_to_go(wrong)
        assert not result.passed and hint in result.message, (hint, result)


def test_reinforce_loss_mistakes_get_hints():
    cases = {
        "MINUS the objective": lambda lp, G, m, b: (lp * (G - b) * m).sum() / lp.shape[0],
        "subtract the baseline": lambda lp, G, m, b: -(lp * G * m).sum() / lp.shape[0],
        "multiply by the mask": lambda lp, G, m, b: -(lp * (G - b)).sum() / lp.shape[0],
        "divide by n": lambda lp, G, m, b: -(lp * (G - b) * m).sum() / m.sum(),
        "differ from the expected": lambda lp, G, m, b: -(lp * (G - b) * m).mean(),
    }
    for hint, wrong in cases.items():
        result = check_reinforce_loss(wrong)
        assert not result.passed and hint in result.message, (hint, result)


def test_expert_action_mistakes_get_hints():
    def straight_line(agent, target, blocked, size):  # ignores the other objects
        dr, dc = target[0] - agent[0], target[1] - agent[1]
        if dr:
            return 0 if dr < 0 else 1
        return 2 if dc < 0 else 3

    def flipped_rows(agent, target, blocked, size):  # thinks row 0 is the bottom
        return {0: 1, 1: 0}.get(expert_action(agent, target, blocked, size), expert_action(agent, target, blocked,
                                                                                            size))

    cases = {"around the objects": straight_line, "opposite way": flipped_rows,
             "an action in 0..3": lambda *a: 7, "as an int": lambda *a: "up"}
    for hint, wrong in cases.items():
        result = check_expert_action(wrong)
        assert not result.passed and hint in result.message, (hint, result)
