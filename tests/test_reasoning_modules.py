"""Tests of Part 4.1's neural module network, its modules, the flat FiLM model and their training loop."""
import math

import numpy as np
import pytest
import torch

from mmcourse import set_seed
from mmcourse.data import ANSWERS, COLOURS, KNOWLEDGE, RELATIONS, SHAPES, load_scene_questions, scene_objects
from mmcourse.reasoning import (FIND_ARGUMENTS, CellEncoder, FiLMModel, Find, NeuralModuleNetwork, Query, Relate,
                                ReasoningData, and_module, answer_logits, apply_film, count_module, encode_program,
                                evaluate_reasoner, execute, exists_module, fit_reasoner, not_module, or_module,
                                program_batches, reasoning_data, relation_holds)


@pytest.fixture(scope="module")
def tiny():
    return load_scene_questions(n_train=160, n_val=4, n_test=40, n_heldout=20, cache=False, seed=3)


def binary_maps(seed=0, n=6):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 9, generator=g) < 0.5).float(), (torch.rand(n, 9, generator=g) < 0.5).float()


def test_and_or_not_are_exact_set_operations_on_binary_maps():
    a, b = binary_maps()
    assert torch.equal(and_module(a, b), a * b)
    assert torch.equal(and_module(a, b).bool(), a.bool() & b.bool())
    assert torch.equal(or_module(a, b).bool(), a.bool() | b.bool())
    assert torch.equal(or_module(a, b), torch.maximum(a, b))  # probabilistic sum = max on {0, 1}
    objects = torch.maximum(a, b)
    assert torch.equal(not_module(a, objects).bool(), objects.bool() & ~a.bool())
    p = torch.tensor([0.2, 0.9])
    assert torch.allclose(not_module(p), torch.tensor([0.8, 0.1]))
    assert torch.allclose(or_module(p, p), torch.tensor([0.36, 0.99]))


def test_soft_and_or_values_and_shape_errors():
    a, b = torch.tensor([0.5, 0.2]), torch.tensor([0.4, 1.0])
    assert torch.allclose(and_module(a, b), torch.tensor([0.2, 0.2]))
    assert torch.allclose(or_module(a, b), torch.tensor([0.7, 1.0]))
    with pytest.raises(ValueError, match="same shape"):
        and_module(torch.ones(2, 9), torch.ones(3, 9))
    with pytest.raises(ValueError, match="same shape"):
        or_module(torch.ones(2, 9), torch.ones(2))
    with pytest.raises(ValueError, match="objects must have the shape"):
        not_module(torch.ones(2, 9), torch.ones(2, 8))


def test_count_is_the_sum_of_the_map_and_peaks_at_the_nearest_digit():
    a, _ = binary_maps(1)
    s, logits = count_module(a)
    assert torch.equal(s, a.sum(1))
    assert [ANSWERS[k] for k in logits.argmax(1)] == [str(int(v)) for v in a.sum(1)]
    s, logits = count_module(torch.full((1, 9), 0.3), width=2.0)  # s = 2.7: logits −(2.7 − k)² / 2
    assert math.isclose(s.item(), 2.7, rel_tol=1e-6)
    assert math.isclose(logits[0, ANSWERS.index("3")].item(), -0.045, rel_tol=1e-4)
    assert logits[0, ANSWERS.index("red")] < -1e3
    with pytest.raises(ValueError, match=r"attention maps \(batch, 9\)"):
        count_module(torch.ones(9))


def test_exists_is_a_soft_threshold_and_answer_logits_are_log_probabilities():
    p = exists_module(torch.stack([torch.zeros(9), torch.eye(9)[4], 0.2 * torch.ones(9)]), sharpness=8.0)
    assert p[0] < 0.02 and p[1] > 0.98
    assert math.isclose(p[2].item(), 1 / (1 + math.exp(-8 * (1.8 - 0.5))), rel_tol=1e-5)
    probs = torch.softmax(answer_logits(torch.tensor([0.3])), 1)[0]
    assert math.isclose(probs[ANSWERS.index("yes")].item(), 0.3, rel_tol=1e-4)
    assert math.isclose(probs[ANSWERS.index("no")].item(), 0.7, rel_tol=1e-4)


def test_cell_encoder_streams_separate_colour_from_shape():
    enc = CellEncoder(dim=8, hidden=16)
    images = torch.rand(2, 30, 30, 3)
    h = enc(images)
    assert h.shape == (2, 9, 8)
    # permuting the pixels inside the centre cell keeps the colour statistics: the colour half must not move
    shuffled = images.clone()
    block = shuffled[:, 10:20, 10:20].reshape(2, 100, 3)
    shuffled[:, 10:20, 10:20] = block[:, torch.randperm(100)].reshape(2, 10, 10, 3)
    assert torch.allclose(enc(shuffled)[:, 4, :4], h[:, 4, :4], atol=1e-6)
    assert torch.allclose(enc(shuffled)[:, 0], h[:, 0])  # other cells untouched
    with pytest.raises(ValueError, match=r"images must have shape \(batch, 30, 30, 3\)"):
        enc(torch.zeros(2, 30, 30))
    with pytest.raises(ValueError, match="dim must be even"):
        CellEncoder(dim=7)


def test_find_reads_only_its_own_stream():
    find = Find(8)
    h = torch.rand(3, 9, 8)
    other = h.clone()
    other[..., 4:] = torch.rand(3, 9, 4)  # change the shape half
    red = torch.full((3,), FIND_ARGUMENTS.index("red"))
    circle = torch.full((3,), FIND_ARGUMENTS.index("circle"))
    assert torch.allclose(find(h, red), find(other, red))
    assert not torch.allclose(find(h, circle), find(other, circle))
    assert ((find(h, red) > 0) & (find(h, red) < 1)).all()


def true_relations() -> torch.Tensor:
    return torch.tensor([[[relation_holds(r, j, i) for i in range(9)] for j in range(9)] for r in RELATIONS]).float()


def test_relate_with_the_true_matrix_is_exact():
    relate = Relate()
    with torch.no_grad():
        relate.logits.copy_(40 * true_relations() - 20)
    a, objects = binary_maps(2)
    objects = torch.maximum(a, objects)
    for r, name in enumerate(RELATIONS):
        out = relate(a, torch.full((len(a),), r), objects)
        expected = torch.tensor([[objects[b, j] > 0 and any(a[b, i] > 0 and relation_holds(name, j, i)
                                                            for i in range(9)) for j in range(9)]
                                 for b in range(len(a))]).float()
        assert torch.allclose(out, expected, atol=1e-6)


def test_query_allows_only_its_words():
    logits = Query(8)(torch.rand(2, 9, 8), torch.rand(2, 9), "shape")
    best = {ANSWERS[k] for k in logits.argmax(1)}
    assert best <= set(SHAPES)
    with pytest.raises(ValueError, match="key must be 'colour' or 'shape'"):
        Query(8)(torch.rand(2, 9, 8), torch.rand(2, 9), "size")


def perfect_network() -> NeuralModuleNetwork:
    """A module network whose modules read hand-made one-hot features exactly (colour half: 4 colours, shape
    half: 3 shapes and an "object here" flag)."""
    net = NeuralModuleNetwork(dim=8, hidden=4)
    big = 20.0
    with torch.no_grad():
        net.objectness.weight.zero_(); net.objectness.weight[0, 7] = 2 * big; net.objectness.bias.fill_(-big)
        net.find.embed.weight.zero_(); net.find.bias.weight.fill_(-big)
        for k, x in enumerate(FIND_ARGUMENTS):
            members = [s for s, p in KNOWLEDGE.items() if p == x] or [x]  # a property: the words that have it
            for m in members:
                net.find.embed.weight[k, COLOURS.index(m) if m in COLOURS else 4 + SHAPES.index(m)] = 2 * big
        net.relate.logits.copy_(2 * big * true_relations() - big)
        net.log_sharpness.fill_(math.log(big))
        net.log_width.fill_(math.log(0.5))
        for key, words, offset in (("colour", COLOURS, 0), ("shape", SHAPES, 4)):
            net.query.heads[key].weight.zero_(); net.query.heads[key].bias.zero_()
            for k in range(len(words)):
                net.query.heads[key].weight[k, offset + k] = big
    return net


def one_hot_features(objects) -> torch.Tensor:
    h = torch.zeros(1, 9, 8)
    for o in objects:
        h[0, o["cell"], COLOURS.index(o["colour"])] = 1
        h[0, o["cell"], 4 + SHAPES.index(o["shape"])] = 1
        h[0, o["cell"], 7] = 1
    return h


def test_a_network_with_perfect_find_maps_executes_every_program_right(tiny):
    net = perfect_network()
    rows = [r for split in ("train", "test_heldout") for r in tiny[split]]
    assert len({r["family"] for r in rows}) >= 10
    for row in rows:
        objects = scene_objects(row)
        layout, args = encode_program(row["program"])
        logits = net.run(one_hot_features(objects), layout, torch.tensor([args]))
        assert ANSWERS[logits.argmax().item()] == execute(row["program"], objects), row["program"]


def test_network_forward_groups_mixed_layouts_like_one_by_one(tiny):
    set_seed(0)
    net = NeuralModuleNetwork(dim=8, hidden=16)
    data = reasoning_data(tiny["test"])
    together = net(data.images[:12], None, data.programs[:12])
    alone = torch.cat([net(data.images[i:i + 1], None, data.programs[i:i + 1]) for i in range(12)])
    assert torch.allclose(together, alone, atol=1e-5)
    with pytest.raises(ValueError, match="programs must be a list of 12 programs"):
        net(data.images[:12], None, data.programs[:11])
    with pytest.raises(ValueError, match="unknown operation"):
        net(data.images[:1], None, [["scene", "paint[red]", "count"]])


def test_trace_gives_a_map_per_set_and_answer_probabilities_at_the_end(tiny):
    net = NeuralModuleNetwork(dim=8, hidden=16)
    row = tiny["test"][0]
    steps = net.trace(torch.as_tensor(row["image"]), row["program"])
    assert [s for s, _ in steps] == row["program"]
    assert all(v.shape == (9,) and ((v >= 0) & (v <= 1)).all() for _, v in steps[:2])
    last = steps[-1][1]
    assert isinstance(last, dict) and math.isclose(sum(last.values()), 1.0, abs_tol=1e-2)
    with pytest.raises(ValueError, match=r"image must have shape \(30, 30, 3\)"):
        net.trace(torch.zeros(30, 30), row["program"])


def test_apply_film_identity_and_modulation():
    F = torch.randn(2, 9, 4)
    assert torch.equal(apply_film(F, torch.ones(2, 4), torch.zeros(2, 4)), F)
    gamma, beta = torch.tensor([[0., 2., 1., 1.]] * 2), torch.tensor([[1., 0., 0., -1.]] * 2)
    out = apply_film(F, gamma, beta)
    assert torch.allclose(out[..., 0], torch.ones(2, 9)) and torch.allclose(out[..., 1], 2 * F[..., 1])
    assert torch.allclose(out[..., 3], F[..., 3] - 1)
    with pytest.raises(ValueError, match=r"gamma must have shape \(batch, channels\) = \(2, 4\)"):
        apply_film(F, torch.ones(4), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="features must be"):
        apply_film(torch.ones(9, 4), torch.ones(2, 4), torch.zeros(2, 4))


def test_film_model_shapes_gradients_and_errors():
    set_seed(0)
    model = FiLMModel(dim=8, hidden=16, blocks=1, question_dim=8)
    q = torch.randint(1, 40, (3, 16))
    q[:, 10:] = 0
    logits = model(torch.rand(3, 30, 30, 3), q)
    assert logits.shape == (3, len(ANSWERS))
    logits.sum().backward()
    assert model.words.weight.grad.abs().sum() > 0 and model.cells.colour[0].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="3 images but 2 questions"):
        model(torch.rand(3, 30, 30, 3), q[:2])
    with pytest.raises(ValueError, match="questions must be"):
        model(torch.rand(3, 30, 30, 3), q.float())


def test_program_batches_share_a_layout_and_cover_every_row(tiny):
    programs = tiny["train"]["program"]
    batches = program_batches(programs, 8, torch.Generator().manual_seed(0))
    rows = torch.cat(batches).tolist()
    assert sorted(rows) == list(range(len(programs)))
    for batch in batches:
        assert len(batch) <= 8 and len({encode_program(programs[i])[0] for i in batch.tolist()}) == 1
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        program_batches(programs, 0)


def test_fit_and_evaluate_reasoners(tiny):
    data = reasoning_data(tiny["train"])
    assert isinstance(data, ReasoningData) and len(data) == 160 and data.images.shape == (160, 30, 30, 3)
    for model, by_layout in ((NeuralModuleNetwork(dim=8, hidden=16), True), (FiLMModel(8, 16, 1, 8), False)):
        set_seed(0)
        losses = fit_reasoner(model, data, epochs=2, batch_size=32, lr=1e-2, by_layout=by_layout)
        assert len(losses) == 2 and losses[-1] < losses[0]
        result = evaluate_reasoner(model, tiny["test"])
        assert 0 <= result["accuracy"] <= 1 and result["predictions"].shape == (40,)
        assert set(result["families"]) <= set(data.family_names)
        assert math.isclose(np.mean((result["predictions"] == reasoning_data(tiny["test"]).answers).numpy()),
                            result["accuracy"], rel_tol=1e-6)
    with pytest.raises(ValueError, match="no program has at most max_length=1"):
        fit_reasoner(NeuralModuleNetwork(8, 16), data, max_length=1)
    with pytest.raises(ValueError, match="lr must be positive"):
        fit_reasoner(NeuralModuleNetwork(8, 16), data, lr=0)
    with pytest.raises(ValueError, match="lacks"):
        reasoning_data(tiny["train"].remove_columns("program"))
