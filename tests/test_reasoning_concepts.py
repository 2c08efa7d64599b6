"""Tests of Part 4.2's intermediate concepts: stacked attention (equations by hand, masks, gradients, the hit rate),
the neuro-symbolic pipeline (parser invariances, exact execution on true tables, traces) and language as the medium
(descriptions that round-trip, what a description without positions cannot answer)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mmcourse import set_seed
from mmcourse.data import (ANSWERS, COLOURS, SHAPES, crop_regions, encode_question, load_scene_questions,
                           render_scene, scene_objects)
from mmcourse.reasoning import (PHRASES, POSITIONS, SceneAttentionQA, SceneDescriber, SceneParser, StackedAttention,
                                attention_hit_rate, cell_labels, cell_tiles, describe_scene, describe_table, execute,
                                fit_describer, fit_scene_parser, named_cells, neuro_symbolic_answer, parse,
                                parse_scene, parser_accuracy, parser_loss, read_description, scene_tables, trace_table)

#   0: red circle   1: .   2: blue square
#   3: .            4: yellow triangle   5: .
#   6: green circle 7: .   8: .
SCENE = [{"colour": "red", "shape": "circle", "cell": 0}, {"colour": "blue", "shape": "square", "cell": 2},
         {"colour": "yellow", "shape": "triangle", "cell": 4}, {"colour": "green", "shape": "circle", "cell": 6}]


@pytest.fixture(scope="module")
def data():
    return load_scene_questions(n_train=300, n_val=2, n_test=60, n_heldout=20, cache=False)


# ----------------------------------------------------------------------------------------------------- attention
def test_cell_tiles_cut_the_nine_cells_in_reading_order():
    images = torch.as_tensor(np.stack([render_scene([0, 2], [1, 0], [4, 8])] * 2))
    tiles = cell_tiles(images)
    assert tuple(tiles.shape) == (2, 9, 10, 10, 3)
    assert torch.equal(tiles[0, 8], images[0, 20:, 20:])
    assert torch.equal(tiles[:, 4], crop_regions(images, [[4]] * 2)[:, 0])
    with pytest.raises(ValueError, match="images must be a tensor of shape"):
        cell_tiles(images[0])


def test_stacked_attention_computes_the_hops_by_hand():
    torch.manual_seed(0)
    model = StackedAttention(dim=4, hops=2, att_dim=3).double()
    v, u = torch.randn(2, 5, 4, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    out, maps = model(v, u)
    query = u.clone()
    for k in range(2):
        h = torch.tanh(v @ model.W_v[k].weight.T + (query @ model.W_u[k].weight.T + model.W_u[k].bias)[:, None])
        p = torch.softmax(h @ model.w_p[k].weight[0] + model.w_p[k].bias, dim=1)
        assert torch.allclose(maps[:, k], p)
        query = query + (p[..., None] * v).sum(1)
    assert torch.allclose(out, query)


def test_stacked_attention_mask_and_gradients():
    torch.manual_seed(0)
    model = StackedAttention(dim=4, hops=2)
    v, u = torch.randn(3, 6, 4, requires_grad=True), torch.randn(3, 4)
    mask = torch.ones(3, 6, dtype=torch.bool)
    mask[:, 4:] = False
    out, maps = model(v, u, mask)
    assert torch.allclose(maps.sum(-1), torch.ones(3, 2)) and (maps[..., 4:] == 0).all()
    out.sum().backward()
    assert (v.grad[:, 4:] == 0).all() and v.grad[:, :4].abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_stacked_attention_errors():
    model = StackedAttention(dim=4)
    with pytest.raises(ValueError, match="v must have shape"):
        model(torch.zeros(2, 5, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="u must have shape"):
        model(torch.zeros(2, 5, 4), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="mask must be a bool tensor"):
        model(torch.zeros(2, 5, 4), torch.zeros(2, 4), torch.zeros(2, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="hops must be a positive integer"):
        StackedAttention(dim=4, hops=0)


def test_scene_attention_qa_shapes_positions_and_errors():
    torch.manual_seed(0)
    model = SceneAttentionQA(dim=8, hops=3)
    images = torch.rand(4, 30, 30, 3)
    questions = torch.as_tensor(np.stack([encode_question("is there a red circle ?")] * 4))
    logits, maps = model(images, questions, return_attention=True)
    assert logits.shape == (4, len(ANSWERS)) and maps.shape == (4, 3, 9)
    assert torch.allclose(maps.sum(-1), torch.ones(4, 3))
    logits.sum().backward()
    assert model.position.grad.abs().sum() > 0  # the cells' positions are learned
    with pytest.raises(ValueError, match="questions must be an integer tensor"):
        model(images, questions.float())
    with pytest.raises(ValueError, match="word ids in"):
        model(images, questions + 100)
    with pytest.raises(ValueError, match="same batch size"):
        model(images[:3], questions)


def test_named_cells_reads_the_sets_the_program_reads():
    assert named_cells(parse("what colour is the object below the yellow triangle ?"), SCENE) == [4, 6]
    assert named_cells(parse("is there a yellow triangle ?"), SCENE) == [4]
    assert named_cells(parse("is there a red square ?"), SCENE) == []
    assert named_cells(parse("how many circles ?"), SCENE) == [0, 6]
    assert named_cells(parse("is there a red circle and a blue square ?"), SCENE) == [0, 2]


def test_attention_hit_rate_by_hand():
    maps = np.zeros((3, 9))
    maps[0, 4], maps[1, 0], maps[2, 8] = 1, 1, 1
    result = attention_hit_rate(maps, [[4, 5], [3], []], n_objects=[4, 2, 3])
    assert result == pytest.approx({"hit_rate": 0.5, "chance_cells": (2 / 9 + 1 / 9) / 2,
                                    "chance_objects": (2 / 4 + 1 / 2) / 2, "questions": 2})
    hops = np.stack([maps, np.roll(maps, 3, axis=1)], axis=1)  # the second hop of question 1 looks at cell 3
    two = attention_hit_rate(hops, [[4, 5], [3], []])
    assert two["hit_rate"] == 1.0 and np.isclose(two["chance_cells"], ((1 - (7 / 9) ** 2) + (1 - (8 / 9) ** 2)) / 2)
    with pytest.raises(ValueError, match="attention must have shape"):
        attention_hit_rate(np.zeros((3, 8)), [[1]] * 3)
    with pytest.raises(ValueError, match="one entry per map"):
        attention_hit_rate(maps, [[1]])
    with pytest.raises(ValueError, match="no question names a cell"):
        attention_hit_rate(maps, [[], [], []])


# ------------------------------------------------------------------------------------------------------ symbolic
def test_cell_labels_and_scene_tables_agree_with_the_rows(data):
    tiles, colour, shape = cell_labels(data["test"])
    assert tuple(tiles.shape) == (60, 9, 10, 10, 3) and tuple(colour.shape) == (60, 9)
    tables = scene_tables(data["test"])
    for i in (0, 7, 31):
        row = data["test"][i]
        assert tables[i] == scene_objects(row)
        for obj in tables[i]:
            assert COLOURS[colour[i, obj["cell"]]] == obj["colour"] and SHAPES[shape[i, obj["cell"]]] == obj["shape"]
        assert (colour[i] >= 0).sum() == len(tables[i]) == (shape[i] >= 0).sum()
    with pytest.raises(ValueError, match="split must be one split"):
        cell_labels({"image": None})


def test_the_executor_is_exact_on_true_tables(data):
    for split in ("test", "test_heldout"):
        tables = scene_tables(data[split])
        for row, table in zip(data[split], tables):
            assert neuro_symbolic_answer(row["question"], table) == ANSWERS[int(row["answer"])]


def test_scene_parser_heads_see_only_their_attribute():
    torch.manual_seed(0)
    parser = SceneParser(width=16)
    tiles = torch.rand(5, 10, 10, 3)
    occupied, colour, shape = parser(tiles)
    channels = parser(tiles[..., [2, 0, 1]])  # the colours change, the silhouette does not
    assert torch.allclose(channels[2], shape)
    shuffled = tiles.flatten(1, 2)[:, torch.randperm(100)].reshape(5, 10, 10, 3)  # pixels move, colours stay
    assert torch.allclose(parser(shuffled)[1], colour, atol=1e-6) and torch.allclose(parser(shuffled)[0], occupied,
                                                                                     atol=1e-6)
    entangled = SceneParser(width=16, factored=False)
    assert [tuple(x.shape) for x in entangled(tiles)] == [(5,), (5, 4), (5, 3)]
    with pytest.raises(ValueError, match="tiles must have shape"):
        parser(torch.zeros(5, 10, 10))
    with pytest.raises(ValueError, match="width must be a positive integer"):
        SceneParser(width=0)


def test_parser_loss_by_hand():
    occupied = torch.tensor([[2.0, -1.0]])
    colour_logits, shape_logits = torch.zeros(1, 2, 4), torch.zeros(1, 2, 3)
    colour, shape = torch.tensor([[1, -1]]), torch.tensor([[2, -1]])
    expected = -(np.log(1 / (1 + np.exp(-2.0))) + np.log(1 - 1 / (1 + np.exp(1.0)))) / 2 + np.log(4) + np.log(3)
    assert np.isclose(parser_loss((occupied, colour_logits, shape_logits), colour, shape).item(), expected)


def test_parser_learns_tables_and_the_pipeline_answers(data):
    tiles, colour, shape = cell_labels(data["train"])
    set_seed(0)
    parser = SceneParser(width=32)
    losses = fit_scene_parser(parser, tiles, colour, shape, epochs=12, batch_size=256)
    assert losses[-1] < 0.3 * losses[0]
    scores = parser_accuracy(parser, *cell_labels(data["test"]))
    assert set(scores) == {"occupied", "colour", "shape", "table"} and scores["occupied"] > 0.95, scores
    images = data["test"].with_format("torch", columns=["image"])[:]["image"]
    tables = parse_scene(parser, images)
    assert parse_scene(parser, images[3]) == tables[3]
    right = [neuro_symbolic_answer(row["question"], table) == ANSWERS[int(row["answer"])]
             for row, table in zip(data["test"], tables)]
    assert np.mean(right) >= scores["table"] - 1e-9  # a right table always gives the right answer
    with pytest.raises(TypeError, match="parser must be a SceneParser"):
        parse_scene(torch.nn.Linear(2, 2), images)
    with pytest.raises(ValueError, match="must describe the same cells"):
        fit_scene_parser(parser, tiles, colour[:, :4], shape)
    with pytest.raises(ValueError, match="lr must be positive"):
        fit_scene_parser(parser, tiles, colour, shape, lr=0.0)
    with pytest.raises(TypeError, match="parser must be a SceneParser"):
        parser_accuracy(SceneDescriber(), tiles, colour, shape)
    with pytest.raises(ValueError, match="must describe the same cells"):
        parser_accuracy(parser, tiles, colour, shape[:, :3])


def test_neuro_symbolic_answer_inputs_and_failures():
    question = "what colour is the object right of the red circle ?"
    assert neuro_symbolic_answer(question, SCENE) is None  # two objects are right of it: the query cannot run
    assert neuro_symbolic_answer("what shape is the object below the yellow triangle ?", SCENE) == "circle"
    ids = encode_question("how many circles ?")
    assert neuro_symbolic_answer(ids, SCENE) == neuro_symbolic_answer(torch.as_tensor(ids), SCENE) == "2"
    assert neuro_symbolic_answer(parse("is there a green circle ?"), SCENE) == "yes"
    with pytest.raises(ValueError, match="unknown word"):
        neuro_symbolic_answer("how many dogs ?", SCENE)


def test_trace_table_shows_each_step():
    table = trace_table("how many objects are right of the red circle ?", SCENE)
    assert list(table.columns) == ["program step", "value"] and list(table.index) == [1, 2, 3, 4, 5]
    assert table["program step"].tolist() == ["scene", "filter_colour[red]", "filter_shape[circle]", "relate[right]",
                                              "count"]
    assert table["value"].tolist()[2:] == ["{red circle @0}", "{blue square @2, yellow triangle @4}", "2"]


# ------------------------------------------------------------------------------------------------------ language
def test_describe_table_and_read_it_back():
    text = describe_table(SCENE)
    assert text == ("a red circle at the top left and a blue square at the top right and a yellow triangle at the "
                    "centre and a green circle at the bottom left")
    assert describe_table(SCENE, positions=False) == ("a red circle and a blue square and a yellow triangle and a "
                                                      "green circle")
    for question in ("what shape is the object below the yellow triangle ?", "how many circles ?",
                     "is there a red object in the same row as the blue square ?", "how many hot objects ?"):
        assert read_description(text, question) == execute(parse(question), SCENE)
    assert read_description(describe_table(SCENE, False), "how many objects are left of the blue square ?") is None
    assert read_description(describe_table(SCENE, False), "how many circles ?") == "2"
    assert read_description("", "is there a circle ?") == "no"
    with pytest.raises(ValueError, match="phrase 1"):
        read_description("a red circle and a purple circle", "how many circles ?")
    with pytest.raises(ValueError, match="every object or none"):
        read_description("a red circle at the centre and a blue square", "how many circles ?")
    with pytest.raises(ValueError, match="each object must be a dict"):
        describe_table([{"colour": "red", "shape": "circle", "cell": 9}])


def test_descriptions_round_trip_on_the_dataset(data):
    for row, table in zip(data["test"], scene_tables(data["test"])):
        assert read_description(describe_table(table), row["question"]) == ANSWERS[int(row["answer"])]


def test_describer_learns_phrases(data):
    assert len(PHRASES) == 13 and PHRASES[0] == "nothing" and len(POSITIONS) == 9
    tiles, colour, shape = cell_labels(data["train"])
    set_seed(0)
    describer = SceneDescriber(width=32)
    history = fit_describer(describer, tiles, colour, shape, epochs=12, batch_size=256)
    assert history.train_acc[-1] > 0.9
    assert tuple(describer(tiles[:2]).shape) == (2, 9, 13)
    images = data["test"].with_format("torch", columns=["image"])[:]["image"]
    said = describe_scene(describer, images)
    truth = [describe_table(t) for t in scene_tables(data["test"])]
    assert np.mean([a == b for a, b in zip(said, truth)]) > 0.7 and describe_scene(describer, images[0]) == said[0]
    assert " at the " not in describe_scene(describer, images[0], positions=False)
    with pytest.raises(TypeError, match="describer must be a SceneDescriber"):
        describe_scene(SceneParser(), images)
