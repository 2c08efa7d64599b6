"""Part 4.4, external knowledge: the key-value memory, perception of the cells, the fact reasoners, recall and
knowledge edits."""
import math

import numpy as np
import pytest
import torch

from mmcourse import set_seed
from mmcourse.data import ANSWERS, COLOURS, KNOWLEDGE, PROPERTIES, SHAPES, load_scene_questions, scene_objects
from mmcourse.reasoning import (SUBJECTS, ClosedBookReasoner, FactReasoner, KeyValueMemory, RetrievalReasoner, ScenePerception,
                                dependent_questions, edit_knowledge, execute, fact_codes, fact_inputs, fact_lookups,
                                knowledge_values, perception_data, poisson_binomial, retrieval_recall, retrieve)
from mmcourse.training import fit

FLIP = {"hot": "cold", "cold": "hot", "sharp": "smooth", "smooth": "sharp"}


@pytest.fixture(scope="module")
def facts():
    ds = load_scene_questions(n_train=300, n_val=2, n_test=120, n_heldout=2, families=("fact_exists", "fact_count"),
                              seed=3, cache=False)
    return ds


def perfect_perception(split):
    """presence and one-hot attributes from the scene table: perception without errors."""
    columns = split[:]
    colour, shape, cell = (columns[key].long() for key in ("colour", "shape", "cell"))
    q, mask = torch.arange(len(cell))[:, None].expand_as(cell), cell >= 0
    presence, attributes = torch.zeros(len(cell), 9), torch.zeros(len(cell), 9, 7)
    presence[q[mask], cell[mask]] = 1
    attributes[q[mask], cell[mask], colour[mask]] = 1
    attributes[q[mask], cell[mask], len(COLOURS) + shape[mask]] = 1
    codes = torch.tensor([fact_codes(p) for p in columns["program"]])
    return [presence, attributes, codes], columns["answer"].long()


def test_retrieve_by_hand():
    keys, values = torch.eye(3), torch.tensor([[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    r, w = retrieve(torch.tensor([2.0, 1.0, -1.0]), keys, values, k=2)
    a = math.exp(2) / (math.exp(2) + math.exp(1))                     # softmax over the two best scores only
    assert torch.allclose(w, torch.tensor([a, 1 - a, 0.0])) and torch.allclose(r, torch.tensor([a, 1 - a]))
    r1, w1 = retrieve(torch.tensor([[0.0, 0.0, 3.0]]), keys, values, k=1)
    assert w1.tolist() == [[0.0, 0.0, 1.0]] and r1.tolist() == [[5.0, 5.0]]


def test_retrieve_gradient_needs_two_keys():
    keys, values = torch.eye(3), torch.tensor([[1.0], [0.0], [0.0]])
    for k, nonzero in ((1, False), (2, True)):
        q = torch.tensor([1.0, 0.5, 0.0], requires_grad=True)
        retrieve(q, keys, values, k)[0].sum().backward()
        assert (q.grad.abs().sum() > 0) == nonzero


def test_retrieve_errors():
    with pytest.raises(ValueError, match="k must be"):
        retrieve(torch.zeros(3), torch.eye(3), torch.eye(3), k=4)
    with pytest.raises(ValueError, match="key dimension"):
        retrieve(torch.zeros(2), torch.eye(3), torch.eye(3))
    with pytest.raises(ValueError, match="one row per entry"):
        retrieve(torch.zeros(3), torch.eye(3), torch.eye(2))
    with pytest.raises(TypeError, match="query must be a float tensor"):
        retrieve([0.0, 1.0, 0.0], torch.eye(3), torch.eye(3))


def test_knowledge_values_and_edits():
    v = knowledge_values()
    assert v.shape == (7, 4) and (v.sum(1) == 1).all()
    for j, subject in enumerate(SUBJECTS):
        assert PROPERTIES[int(v[j].argmax())] == KNOWLEDGE[subject]
    edited = edit_knowledge(None, "blue", "hot")
    assert edited["blue"] == "hot" and KNOWLEDGE["blue"] == "cold"            # a copy, the default untouched
    assert {s for s in SUBJECTS if edited[s] != KNOWLEDGE[s]} == {"blue"}
    with pytest.raises(ValueError, match="'blue' can be hot or cold"):
        edit_knowledge(None, "blue", "sharp")
    with pytest.raises(ValueError, match="subject must be one of"):
        edit_knowledge(None, "purple", "hot")
    with pytest.raises(ValueError, match="missing"):
        knowledge_values({"red": "hot"})
    with pytest.raises(TypeError, match="knowledge must be a dict"):
        knowledge_values([("red", "hot")])


def test_memory_edit_is_a_row_swap():
    memory = KeyValueMemory(k=2)
    query = 6.0 * torch.eye(7)[[SUBJECTS.index("blue"), SUBJECTS.index("circle")]]
    before, _ = memory(query)
    memory.load_knowledge(edit_knowledge(None, "blue", "hot"))
    after, weights = memory(query)
    assert before[0].argmax() == PROPERTIES.index("cold") and after[0].argmax() == PROPERTIES.index("hot")
    assert torch.equal(before[1], after[1])                               # the circle's lookup did not move
    assert torch.allclose(memory.scores(query), query) and (weights > 0).sum(1).tolist() == [2, 2]
    with pytest.raises(ValueError, match="k must be"):
        KeyValueMemory(k=0)


def test_poisson_binomial_matches_enumeration():
    a = torch.tensor([[0.2, 0.7, 0.5, 1.0], [0.0, 0.0, 0.3, 0.9]], dtype=torch.float64)
    dist = poisson_binomial(a)
    expected = torch.zeros_like(dist)
    for bits in range(16):
        take = torch.tensor([(bits >> i) & 1 for i in range(4)], dtype=torch.float64)
        expected[:, int(take.sum())] += torch.prod(take * a + (1 - take) * (1 - a), dim=1)
    assert torch.allclose(dist, expected) and torch.allclose(dist.sum(1), torch.ones(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="a must be a tensor"):
        poisson_binomial(torch.zeros(3))


def test_fact_codes():
    assert fact_codes(["scene", "filter_fact[hot]", "count"]) == [-1, -1, 0, 0]
    assert fact_codes([("scene", None), ("filter_shape", "circle"), ("filter_fact", "smooth"), ("exists", None)]) \
        == [-1, SHAPES.index("circle"), 3, 1]
    with pytest.raises(ValueError, match="expected scene"):
        fact_codes(["scene", "filter_colour[red]", "count"])
    with pytest.raises(ValueError, match="expected scene"):
        fact_codes(["scene", "filter_fact[hot]", "filter_fact[hot]", "count"])
    with pytest.raises(ValueError, match="filter_fact takes one of"):
        fact_codes(["scene", "filter_fact[purple]", "count"])


def test_perception_data_and_attributes(facts):
    split = facts["test"]
    (crops,), labels = perception_data(split)
    assert crops.shape == (len(split) * 9, 10, 10, 3) and labels.shape == (len(split) * 9,)
    row = split[0]
    for obj in scene_objects(row):
        assert labels[obj["cell"]] == 1 + 3 * COLOURS.index(obj["colour"]) + SHAPES.index(obj["shape"])
    assert int((labels[:9] > 0).sum()) == int(row["n_objects"])
    presence, attributes = ScenePerception(hidden=8).attributes(split[:4]["image"])
    assert presence.shape == (4, 9) and attributes.shape == (4, 9, 7) and ((presence >= 0) & (presence <= 1)).all()
    assert torch.allclose(attributes[..., :4].sum(-1), torch.ones(4, 9), atol=1e-4)
    assert torch.allclose(attributes[..., 4:].sum(-1), torch.ones(4, 9), atol=1e-4)
    with pytest.raises(ValueError, match="crops must be"):
        ScenePerception()(torch.zeros(2, 30, 30, 3))
    with pytest.raises(TypeError, match="perception must be a ScenePerception"):
        fact_inputs(split, ClosedBookReasoner())
    with pytest.raises(ValueError, match="hidden must be"):
        ScenePerception(hidden=0)


def test_soft_execution_is_exact_with_perfect_perception_and_retrieval(facts):
    inputs, answers = perfect_perception(facts["test"])
    model = RetrievalReasoner(k=2)
    with torch.no_grad():                     # temperature asks about colours, sharpness about shapes
        model.gate.copy_(torch.tensor([[5.0] * 4 + [-5.0] * 3, [-5.0] * 4 + [5.0] * 3]))
        model.log_scale.fill_(math.log(20.0))
    assert (model(*inputs).argmax(1) == answers).all()
    q, cell, gold = fact_lookups(facts["test"][:]["program"], [scene_objects(r) for r in facts["test"]])
    assert retrieval_recall(model.scores(inputs[1], inputs[2][:, 2])[q, cell], gold) == 1.0
    log_p = model(*inputs)
    assert torch.allclose(log_p.exp().sum(1), torch.ones(len(answers)), atol=1e-4)


class LookUp(FactReasoner):
    """The soft executor with the knowledge base read exactly: has_property sums the perceived subjects that have it."""

    def __init__(self, knowledge=KNOWLEDGE):
        super().__init__()
        table = torch.tensor([[float(knowledge[s] == p) for p in PROPERTIES] for s in SUBJECTS])  # (7, 4)
        self.register_buffer("table", table)

    def has_property(self, attributes, prop):
        return (attributes @ self.table)[torch.arange(len(prop)), :, prop]


def test_fact_reasoner_executes_the_fact_programs_exactly(facts):
    inputs, answers = perfect_perception(facts["test"])
    assert (LookUp()(*inputs).argmax(1) == answers).all()
    edited = {**KNOWLEDGE, "blue": "hot"}
    programs, objects = facts["test"][:]["program"], [scene_objects(r) for r in facts["test"]]
    gold = torch.tensor([ANSWERS.index(execute(p, o, edited)) for p, o in zip(programs, objects)])
    assert (LookUp(edited)(*inputs).argmax(1) == gold).all() and (gold != answers).any()
    with pytest.raises(NotImplementedError):
        FactReasoner()(*inputs)


def test_reasoners_learn_and_only_retrieval_follows_an_edit(facts):
    train, test = perfect_perception(facts["train"]), perfect_perception(facts["test"])
    programs, scenes = facts["test"][:]["program"], [scene_objects(r) for r in facts["test"]]
    models = {}
    for name, cls in (("retrieval", RetrievalReasoner), ("closed", ClosedBookReasoner)):
        set_seed(0)
        models[name] = cls()
        fit(models[name], train, epochs=10, lr=3e-2, batch_size=32, progress=False)
        assert (models[name](*test[0]).argmax(1) == test[1]).float().mean() >= 0.95
    before = {name: m(*test[0]).argmax(1) for name, m in models.items()}
    knowledge = edit_knowledge(None, "blue", "hot")
    gold = torch.tensor([ANSWERS.index(execute(p, s, knowledge=knowledge)) for p, s in zip(programs, scenes)])
    dependent = torch.as_tensor(dependent_questions(programs, scenes, "blue"))
    assert dependent.sum() >= 10 and ((gold != test[1]) <= dependent).all()
    models["retrieval"].load_knowledge(knowledge)
    after = {name: m(*test[0]).argmax(1) for name, m in models.items()}
    assert (after["retrieval"][dependent] == gold[dependent]).float().mean() >= 0.95
    assert (after["closed"][dependent] == gold[dependent]).float().mean() <= 0.2
    assert torch.equal(after["retrieval"][~dependent], before["retrieval"][~dependent])


def test_gradients_reach_the_learned_parts(facts):
    inputs, answers = perfect_perception(facts["test"])
    for model, names in ((RetrievalReasoner(), ("gate", "log_scale")), (ClosedBookReasoner(), ("mlp.0.weight",))):
        torch.nn.functional.cross_entropy(model(*inputs), answers).backward()
        grads = dict(model.named_parameters())
        assert all(grads[n].grad is not None and grads[n].grad.abs().sum() > 0 for n in names)


def test_reasoner_errors():
    model = RetrievalReasoner()
    with pytest.raises(ValueError, match="attributes"):
        model(torch.ones(2, 9), torch.ones(2, 9, 5), torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="codes must be integers"):
        model(torch.ones(2, 9), torch.ones(2, 9, 7), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="out of range"):
        model(torch.ones(1, 9), torch.ones(1, 9, 7), torch.tensor([[-1, -1, 4, 0]]))
    with pytest.raises(TypeError, match="share_query"):
        RetrievalReasoner(share_query=1)
    with pytest.raises(ValueError, match="hidden must be"):
        ClosedBookReasoner(hidden=0)
    assert RetrievalReasoner(share_query=False).gate.shape == (4, 7)


def test_retrieval_recall():
    scores = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.4, 0.5]])
    assert retrieval_recall(scores, [0, 1, 1]) == pytest.approx(2 / 3)
    assert retrieval_recall(torch.tensor(scores), torch.tensor([0, 1, 1]), k=2) == pytest.approx(2 / 3)
    assert retrieval_recall(scores, [0, 1, 2], k=2) == 1.0
    with pytest.raises(ValueError, match="gold must be 3 integer"):
        retrieval_recall(scores, [0, 1])
    with pytest.raises(ValueError, match="k must be"):
        retrieval_recall(scores, [0, 1, 1], k=4)
    with pytest.raises(ValueError, match="non-empty matrix"):
        retrieval_recall(np.zeros(3), [0])


def test_fact_lookups_and_dependence():
    scene = [{"colour": "blue", "shape": "square", "cell": 4}, {"colour": "red", "shape": "circle", "cell": 0}]
    programs = [["scene", "filter_fact[cold]", "count"],
                ["scene", "filter_colour[red]", "filter_shape[circle]", "filter_fact[sharp]", "exists"]]
    q, cell, subject = fact_lookups(programs, [scene, scene])
    assert q.tolist() == [0, 0, 1] and cell.tolist() == [4, 0, 0]
    assert [SUBJECTS[s] for s in subject] == ["blue", "red", "circle"]
    assert dependent_questions(programs, [scene, scene], "blue").tolist() == [True, False]
    assert dependent_questions(programs, [scene, scene], "circle").tolist() == [False, True]
    assert dependent_questions(programs, [scene, scene], "square").tolist() == [False, False]   # not looked up
    with pytest.raises(ValueError, match="one scene per program"):
        fact_lookups(programs, [scene])
    with pytest.raises(ValueError, match="subject must be one of"):
        dependent_questions(programs, [scene, scene], "hot")


def test_an_edit_changes_only_dependent_gold_answers(facts):
    split = facts["train"]
    programs, scenes = split[:]["program"], [scene_objects(r) for r in split]
    for subject in SUBJECTS:
        knowledge = edit_knowledge(None, subject, FLIP[KNOWLEDGE[subject]])
        changed = np.array([execute(p, s, knowledge=knowledge) != execute(p, s) for p, s in zip(programs, scenes)])
        dependent = dependent_questions(programs, scenes, subject)
        assert changed.any() and not (changed & ~dependent).any()
