"""Part 4.1's language-conditioned agent: FiLM conditioning, the egocentric view, rollouts, behaviour cloning and
REINFORCE (returns, loss, gradient), checked on tiny inputs."""
import doctest
import importlib

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from torch.nn import functional as F

from mmcourse import set_seed
from mmcourse.data import GridWorld, encode_instruction, expert_demonstrations
from mmcourse.reasoning import (AGENT_CONDITIONINGS, InstructionAgent, Rollout, discounted_returns, egocentric_view,
                                fit_imitation, fit_reinforce, plot_episodes, random_policy, reinforce_loss, rollout)


def _batch(n=6, seed=0):
    return GridWorld().reset(n, seed=seed)


def test_doctests_and_public_names():
    for name in ("interactive", "interactive_rl", "interactive_rollout"):
        module = importlib.import_module(f"mmcourse.reasoning.structure.{name}")
        result = doctest.testmod(module)
        assert result.failed == 0, name
    assert AGENT_CONDITIONINGS == ("film", "additive", "blind")


def test_agent_shapes_and_conditioning():
    grid, words = _batch()
    other = words.flip(0)
    for conditioning in AGENT_CONDITIONINGS:
        set_seed(0)
        agent = InstructionAgent(conditioning=conditioning)
        logits = agent(grid, words)
        assert logits.shape == (6, 4) and torch.isfinite(logits).all()
        changed = not torch.allclose(logits, agent(grid, other))
        assert changed == (conditioning != "blind"), conditioning  # only the blind agent ignores the words


def test_film_with_zero_modulation_is_the_plain_network():
    grid, words = _batch()
    agent = InstructionAgent()
    with torch.no_grad():
        agent.film.weight.zero_()
        agent.film.bias.zero_()  # gamma = beta = 0: FiLM is the identity
    assert torch.allclose(agent(grid, words), agent(grid, torch.zeros_like(words)))
    with torch.no_grad():
        agent.film.bias[:16] = 1.0  # gamma = 1 doubles the features before the ReLU
        doubled = F.relu(2 * agent.cells(grid[:, :-1]))
    assert torch.allclose(F.relu((1 + agent.film(torch.zeros(1, 16))[:, :16, None, None]) * agent.cells(grid[:, :-1])),
                          doubled)


def test_gradients_reach_the_words_only_when_conditioned():
    grid, words = _batch()
    for conditioning, expect in (("film", True), ("blind", False)):
        agent = InstructionAgent(conditioning=conditioning)
        F.cross_entropy(agent(grid, words), torch.zeros(6, dtype=torch.long)).backward()
        grad = agent.words.weight.grad
        assert (grad is not None and grad.abs().sum() > 0) == expect, conditioning
        assert agent.cells.weight.grad.abs().sum() > 0


def test_egocentric_view_by_hand():
    features = torch.arange(9.0).reshape(1, 1, 3, 3)
    view = egocentric_view(features, torch.tensor([[1, 2]]))
    assert view.shape == (1, 2, 5, 5)
    assert view[0, 0, 2, 2] == features[0, 0, 1, 2]  # the centre is the agent's own cell
    assert view[0, 0].tolist() == [[0, 0, 0, 0, 0], [0, 1, 2, 0, 0], [3, 4, 5, 0, 0], [6, 7, 8, 0, 0], [0, 0, 0, 0, 0]]
    assert view[0, 1].sum() == 9 and view[0, 1, 1:4, 0:3].sum() == 9  # the inside-the-walls channel
    with pytest.raises(ValueError, match=r"agent must have shape \(1, 2\)"):
        egocentric_view(features, torch.tensor([1, 2]))


def test_agent_errors():
    grid, words = _batch()
    with pytest.raises(ValueError, match="unknown conditioning='concat'"):
        InstructionAgent(conditioning="concat")
    with pytest.raises(ValueError, match="width must be a positive integer"):
        InstructionAgent(width=0)
    with pytest.raises(ValueError, match=r"grid must have shape \(n, 8, 5, 5\)"):
        InstructionAgent()(grid[:, :7], words)
    with pytest.raises(ValueError, match=r"instruction must have shape \(6, L\)"):
        InstructionAgent()(grid, words[:3])


def test_rollout_of_the_random_and_expert_policies():
    world = GridWorld()
    run = rollout(random_policy, world, 400, seed=0, greedy=False)
    assert isinstance(run, Rollout) and 0.1 < run.success.mean() < 0.3
    assert run.mask.shape == run.rewards.shape == run.log_probs.shape == run.actions.shape
    assert (run.mask.sum(1).numpy() == run.steps).all() and (run.steps <= world.max_steps).all()
    assert torch.equal(run.rewards.sum(1) > 0, torch.from_numpy(run.success))
    assert torch.allclose(run.log_probs[run.mask], torch.full((int(run.mask.sum()),), -np.log(4.0)))
    assert ((run.actions == -1) == ~run.mask.numpy()).all()
    moves = np.abs(np.diff(run.positions, axis=1)).sum(2)
    assert moves.max() <= 1  # one cell at a time
    before = run.world.describe(0)
    again = rollout(random_policy, world, 400, seed=0, greedy=False)
    assert (again.actions == run.actions).all()  # seeded sampling
    rollout(random_policy, world, 5, seed=9)
    assert run.world.describe(0) == before and run.world is not world  # a rollout keeps its own episodes
    assert tuple(run.positions[0, run.steps[0]]) == before["agent"]

    def expert(grid, words):
        return F.one_hot(torch.from_numpy(world.expert_actions()), 4).float() * 10
    assert rollout(expert, world, 100, seed=1).success.all()


def test_rollout_gradients_and_errors():
    agent = InstructionAgent()
    run = rollout(agent, GridWorld(), 8, seed=0, greedy=False, grad=True)
    assert run.log_probs.requires_grad
    run.log_probs.sum().backward()
    assert agent.head[-1].weight.grad is not None
    assert not rollout(agent, GridWorld(), 8, seed=0).log_probs.requires_grad
    with pytest.raises(TypeError, match="policy must be callable"):
        rollout("agent", GridWorld(), 4, seed=0)
    with pytest.raises(ValueError, match=r"logits of shape \(4, 4\)"):
        rollout(lambda g, w: torch.zeros(4, 3), GridWorld(), 4, seed=0)


def test_fit_imitation_lowers_the_loss_and_validates():
    world = GridWorld()
    demos = expert_demonstrations(world, 60, seed=0)
    set_seed(0)
    agent = InstructionAgent(width=8)
    losses = fit_imitation(agent, *demos, steps=40, batch_size=32, lr=1e-2)
    assert len(losses) == 40 and np.mean(losses[-10:]) < 0.8 * np.mean(losses[:5])
    set_seed(0)
    again = fit_imitation(InstructionAgent(width=8), *demos, steps=40, batch_size=32, lr=1e-2)
    assert again == losses  # same seed, same numbers
    with pytest.raises(ValueError, match="same length"):
        fit_imitation(agent, demos[0], demos[1], demos[2][:-1])
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        fit_imitation(agent, *demos, steps=0)


def test_discounted_returns_by_hand():
    rewards = torch.tensor([[0.0, 0.0, 1.0], [1.0, 2.0, 0.0]])
    expected = torch.tensor([[0.81, 0.9, 1.0], [1 + 0.9 * 2, 2.0, 0.0]])
    assert torch.allclose(discounted_returns(rewards, 0.9), expected)
    assert torch.allclose(discounted_returns(rewards, 1.0)[:, 0], rewards.sum(1))
    assert torch.equal(discounted_returns(rewards, 0.0), rewards)
    with pytest.raises(ValueError, match="gamma must be in"):
        discounted_returns(rewards, 1.5)
    with pytest.raises(ValueError, match=r"shape \(n, T\)"):
        discounted_returns(rewards[0], 0.9)


def test_reinforce_loss_value_and_gradient():
    logits = torch.randn(3, 4, 5, requires_grad=True)
    actions = torch.randint(0, 5, (3, 4))
    log_probs = F.log_softmax(logits, -1).gather(2, actions[..., None])[..., 0]
    returns = torch.rand(3, 4, requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    b = 0.3
    loss = reinforce_loss(log_probs, returns, mask, b)
    by_hand = -sum(log_probs[i, t] * (returns[i, t] - b) for i in range(3) for t in range(4) if mask[i, t]) / 3
    assert torch.allclose(loss, by_hand)
    loss.backward()
    assert returns.grad is None  # the advantage is a constant
    manual = torch.zeros_like(logits)
    for i in range(3):
        for t in range(4):
            if mask[i, t]:  # d log softmax / d logits = onehot − softmax
                onehot = F.one_hot(actions[i, t], 5).float()
                manual[i, t] = -(returns[i, t].item() - b) * (onehot - logits[i, t].softmax(-1)) / 3
    assert torch.allclose(logits.grad, manual.detach(), atol=1e-6)
    with pytest.raises(ValueError, match="one shape"):
        reinforce_loss(log_probs, returns[:2], mask)


def test_fit_reinforce_runs_and_learns_a_little():
    set_seed(0)
    agent = InstructionAgent()
    history = fit_reinforce(agent, GridWorld(), updates=3, episodes=16, seed=0)
    assert history["episodes"] == [16, 32, 48] and len(history["success"]) == len(history["loss"]) == 3
    with pytest.raises(ValueError, match="updates must be a positive integer"):
        fit_reinforce(agent, GridWorld(), updates=0)


def test_plot_episodes():
    run = rollout(random_policy, GridWorld(), 6, seed=0, greedy=False)
    fig = plot_episodes(run, [0, 1, 2, 3], columns=2)
    assert isinstance(fig, go.Figure) and len(fig.data) == 4 * (3 + 2)  # 3 objects, the path, the start
    assert "go to" not in fig.layout.annotations[0].text and len(fig.layout.annotations) == 4
    with pytest.raises(ValueError, match="episodes must be indices in 0..5"):
        plot_episodes(run, [6])


def test_instruction_encoding_matches_the_agent_vocabulary():
    words = torch.from_numpy(np.stack([encode_instruction("go to the red object")] * 2))
    grid, _ = _batch(2)
    assert InstructionAgent()(grid, words).shape == (2, 4)
