"""The instruction-following grid world of Part 4.1: observations, dynamics, rewards, the expert, and errors."""
import doctest

import numpy as np
import pytest
import torch

import mmcourse.data.gridworld
from mmcourse.data import (COLOURS, GRID_ACTIONS, GRID_CHANNELS, GRID_MOVES, GRID_VOCAB, INSTRUCTION_LENGTH,
                           INSTRUCTION_TYPES, SHAPES, GridWorld, decode_instruction, distance_maps,
                           encode_instruction, expert_demonstrations)


def test_doctests():
    assert doctest.testmod(mmcourse.data.gridworld).failed == 0


def test_vocabulary_and_encoding():
    assert GRID_VOCAB[0] == "<pad>" and set(COLOURS) | set(SHAPES) <= set(GRID_VOCAB)
    assert GRID_ACTIONS == ("up", "down", "left", "right") and GRID_MOVES.tolist() == [[-1, 0], [1, 0], [0, -1],
                                                                                        [0, 1]]
    ids = encode_instruction("go to the blue square")
    assert len(ids) == INSTRUCTION_LENGTH and decode_instruction(ids) == "go to the blue square"
    assert decode_instruction(torch.tensor(encode_instruction("go to the circle"))) == "go to the circle"
    assert encode_instruction("go to the circle")[-1] == 0
    with pytest.raises(ValueError, match="unknown word"):
        encode_instruction("go to the purple square")
    with pytest.raises(ValueError, match="more than 5"):
        encode_instruction("go to the the red square")
    with pytest.raises(ValueError, match="ids must be integers"):
        decode_instruction([1, 99])


def test_distance_maps_by_hand():
    blocked = np.zeros((2, 3, 3), bool)
    blocked[0, 1, 1] = True
    blocked[1, 0, 1] = blocked[1, 1, 0] = True  # the corner (0, 0) walled in
    dist = distance_maps(blocked, np.array([[0, 0], [0, 0]]))
    assert dist[0].tolist() == [[0, 1, 2], [1, np.inf, 3], [2, 3, 4]]
    assert dist[1, 0, 0] == 0 and np.isinf(dist[1, 2, 2]) and np.isinf(dist[1, 1, 1])


def test_reset_observation_and_instructions():
    world = GridWorld(size=5, n_objects=3)
    grid, words = world.reset(200, seed=0)
    assert grid.shape == (200, GRID_CHANNELS, 5, 5) and grid.dtype == torch.float32
    assert words.shape == (200, INSTRUCTION_LENGTH) and words.dtype == torch.int64
    assert (grid[:, :len(COLOURS)].sum((1, 2, 3)) == 3).all() and (grid[:, -1].sum((1, 2)) == 1).all()
    cells = grid[:, :len(COLOURS)].sum(1)
    assert (cells.flatten(1).max(1).values == 1).all()  # three distinct cells
    assert (grid[:, -1] * cells).sum() == 0  # the agent starts on a free cell
    for i in range(200):  # the instruction names the target, and only it
        episode = world.describe(i)
        text = episode["instruction"].split()[3:]
        matches = [j for j, (c, s, _) in enumerate(episode["objects"])
                   if all(w in (c, s, "object") for w in text)]
        assert matches == [episode["target"]], (episode, matches)
    assert set(world.instruction_type.tolist()) == {0, 1, 2} and len(INSTRUCTION_TYPES) == 3


def test_reset_is_seeded():
    a, b, c = GridWorld(), GridWorld(), GridWorld()
    ga, wa = a.reset(50, seed=3)
    gb, wb = b.reset(50, seed=3)
    gc, _ = c.reset(50, seed=4)
    assert torch.equal(ga, gb) and torch.equal(wa, wb) and not torch.equal(ga, gc)


def _world_with(agent, cells, kinds, target, size=5):
    world = GridWorld(size=size, n_objects=len(cells))
    world.reset(1, seed=0)
    world.agent[0], world.cells[0], world.kinds[0], world.target[0] = agent, cells, kinds, target
    return world


def test_step_dynamics_and_rewards():
    # agent at (0, 0); target at cell 2 = (0, 2); another object at cell 5 = (1, 0)
    world = _world_with((0, 0), [2, 5], [0, 4], target=0)
    _, reward, done = world.step(np.array([0]))  # up into the wall: no move
    assert world.agent[0].tolist() == [0, 0] and reward[0] == 0 and not done[0]
    _, reward, done = world.step(np.array([3]))  # right
    assert world.agent[0].tolist() == [0, 1] and not done[0]
    (grid, _), reward, done = world.step(np.array([3]))  # onto the target
    assert reward.tolist() == [1.0] and done[0] and world.success[0] and grid[0, -1, 0, 2] == 1
    _, reward, done = world.step(np.array([1]))  # finished episodes ignore their actions
    assert world.agent[0].tolist() == [0, 2] and reward[0] == 0 and done[0]

    world = _world_with((0, 0), [2, 5], [0, 4], target=0)
    _, reward, done = world.step(np.array([1]))  # down onto the wrong object: over, no reward
    assert reward[0] == 0 and done[0] and not world.success[0]


def test_step_budget_ends_episodes():
    world = GridWorld(size=5, n_objects=2, max_steps=3)
    world.reset(20, seed=1)
    for _ in range(3):
        world.step(np.zeros(20, int))
    assert world.done.all() and world.t == 3


def test_expert_succeeds_on_shortest_paths():
    world = GridWorld(size=6, n_objects=5)
    world.reset(300, seed=2)
    start = world.agent.copy()
    length = world._distances()[np.arange(300), start[:, 0], start[:, 1]]
    steps = np.zeros(300, int)
    while not world.done.all():
        steps += ~world.done
        world.step(world.expert_actions())
    assert world.success.all() and (steps == length).all() and length.max() <= world.max_steps


def test_expert_demonstrations():
    world = GridWorld()
    grids, words, actions = expert_demonstrations(world, 40, seed=0)
    assert len(grids) == len(words) == len(actions) and actions.dtype == torch.int64
    assert ((actions >= 0) & (actions < 4)).all()
    world.reset(40, seed=0)
    dist = world._distances()[np.arange(40), world.agent[:, 0], world.agent[:, 1]]
    assert len(actions) == dist.sum()  # one row per step of every shortest path
    assert torch.equal(grids[:40], world.observe()[0]) and torch.equal(actions[:40],
                                                                      torch.from_numpy(world.expert_actions()))


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="size must be an integer >= 3"):
        GridWorld(size=2)
    with pytest.raises(ValueError, match="n_objects=9 does not fit"):
        GridWorld(size=3, n_objects=9)
    with pytest.raises(ValueError, match="max_steps must be a positive integer"):
        GridWorld(max_steps=0)
    world = GridWorld()
    with pytest.raises(RuntimeError, match="call reset"):
        world.step(np.zeros(1, int))
    with pytest.raises(ValueError, match="n must be a positive integer"):
        world.reset(0, seed=0)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        world.reset(3, seed=-1)
    world.reset(3, seed=0)
    with pytest.raises(ValueError, match=r"shape \(3,\), one per episode, got \(2,\)"):
        world.step(np.zeros(2, int))
    with pytest.raises(ValueError, match="integers in 0..3"):
        world.step(np.array([0, 4, 1]))
    with pytest.raises(ValueError, match="integers in 0..3"):
        world.step(np.array([0.0, 1.0, 1.0]))
