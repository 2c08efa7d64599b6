"""Tests of the reasoning explorer (mmcourse.widgets.reasoning_explorer): the executor's maps per step, the static
figure's dropdown and sliders, the live UI's answer to a typed question, and the errors on bad input."""
from __future__ import annotations

import numpy as np
import pytest

from mmcourse.data import decode_question, load_scene_questions, scene_objects
from mmcourse.reasoning import execute, parse
from mmcourse.widgets import Reading, ReasoningExplorer, step_map


@pytest.fixture(scope="module")
def split():
    return load_scene_questions(n_train=8, n_val=2, n_test=12, n_heldout=2, seed=5)["test"]


def counting_reasoner(image, question):
    """A stand-in model: answers 'yes', attends to cell k at step k, and has no map at the last (answer) step."""
    n = len(parse(question))
    return Reading("yes", [np.eye(9)[k % 9] if k < n - 1 else None for k in range(n)])


def test_example_follows_the_executor(split):
    explorer = ReasoningExplorer(split, {"stand-in": counting_reasoner}, examples=[0, 1, 2])
    for index in range(len(split)):
        example = explorer.example(index)
        row = split[index]
        assert example["question"] == decode_question(row["question"])
        assert example["answer"] == execute(parse(example["question"]), scene_objects(row))
        assert len(example["maps"]) == len(example["values"]) == len(parse(example["question"]))
        assert example["maps"][0].sum() == int(row["n_objects"])  # the first step holds the whole scene
    typed = explorer.example(0, "how many objects are not red ?")
    assert typed["program"] == "scene → filter_colour[red] → not → count"


def test_step_map():
    objects = [{"colour": "red", "shape": "circle", "cell": 2}, {"colour": "blue", "shape": "square", "cell": 7}]
    assert step_map([0, 1], objects).nonzero()[0].tolist() == [2, 7]
    assert step_map(3, objects) is None and step_map(True, objects) is None and step_map("red", objects) is None


def test_static_figure_has_one_slider_per_example(split):
    explorer = ReasoningExplorer(split, {"stand-in": counting_reasoner, "flat": lambda i, q: Reading("no")},
                                 examples=[0, 3, 5])
    fig = explorer.static_figure()
    assert len(fig.layout.sliders) == 3 and [s.visible for s in fig.layout.sliders] == [True, False, False]
    assert len(fig.layout.updatemenus[0].buttons) == 3
    steps = fig.layout.sliders[1].steps
    assert len(steps) == len(parse(explorer.example(3)["question"]))
    model_map = np.asarray(steps[1].args[0]["z"][1])
    assert model_map.shape == (3, 3) and model_map.reshape(-1).argmax() == 1  # the stand-in's map at step 2
    assert "stand-in: yes" in steps[0].args[1]["title.text"] and "flat: no" in steps[0].args[1]["title.text"]
    last = np.asarray(steps[-1].args[0]["z"][1]).reshape(-1)  # an answer step has no map: the last one stays
    assert last.argmax() == len(steps) - 2 and np.asarray(steps[-1].args[0]["z"][0]).sum() > 0
    assert len(fig.to_json()) < 200_000


def test_live_answers_a_typed_question(split):
    explorer = ReasoningExplorer(split, {"stand-in": counting_reasoner}, examples=[0])
    ui = explorer.live()
    box = ui.children[0].children[1]
    box.value = "is there a red object ?"
    assert "filter_colour[red]" in ui.children[3].value
    box.value = "is there a purple object ?"
    assert "unknown word" in ui.children[3].value


def test_errors(split):
    with pytest.raises(ValueError, match="split must be a split of load_scene_questions"):
        ReasoningExplorer([1, 2, 3])
    with pytest.raises(ValueError, match="reasoner 'x' must be callable"):
        ReasoningExplorer(split, {"x": 3})
    with pytest.raises(ValueError, match="examples must be row numbers in 0..11"):
        ReasoningExplorer(split, examples=[12])
    with pytest.raises(ValueError, match="index must be in 0..11"):
        ReasoningExplorer(split).example(-1)
    with pytest.raises(ValueError, match="unknown word"):
        ReasoningExplorer(split).example(0, "how many purple objects ?")


def test_model_and_symbolic_reasoners(split):
    import torch

    from mmcourse.data import ANSWERS
    from mmcourse.reasoning import FiLMModel, NeuralModuleNetwork, SceneParser
    from mmcourse.widgets import model_reasoner, symbolic_reasoner

    image, question = torch.as_tensor(split[0]["image"]), "how many objects are left of the red circle ?"
    torch.manual_seed(0)
    modules = model_reasoner(NeuralModuleNetwork())(image, question)
    assert modules.answer in ANSWERS and len(modules.maps) == len(parse(question))
    assert all(m is None or m.shape == (9,) for m in modules.maps) and modules.maps[-1] is None
    flat = model_reasoner(FiLMModel())(image, question)
    assert flat.answer in ANSWERS and flat.maps is None
    assert isinstance(symbolic_reasoner(SceneParser())(image, question).answer, str)
    with pytest.raises(ValueError, match="model must be a torch.nn.Module"):
        model_reasoner(lambda i, q: None)
    with pytest.raises(ValueError, match="parser must be a SceneParser"):
        symbolic_reasoner(FiLMModel())


def test_a_reasoner_that_cannot_answer_says_so(split):
    def refuses(image, question):
        raise ValueError("no module for filter_fact")

    example = ReasoningExplorer(split, {"refuses": refuses}).example(0, "how many hot objects ?")
    assert example["readings"]["refuses"].answer.startswith("cannot answer (no module for filter_fact")
