"""Tests of Part 4.3, inference paradigms: t-norms, Fréchet bounds, consistency, the logic loss, the yes/no model,
the language-prior split, RUBi and counterfactual VQA."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mmcourse import set_seed
from mmcourse.data import ANSWERS, decode_question, load_scene_questions
from mmcourse.reasoning import (LOGIC_OPS, CellPerception, CounterfactualVQA, QuestionOnlyModel,
                                RUBi, VQAModel, compositional_questions, consistency_rate, execute, fit_vqa,
                                frechet_bounds, language_prior_split, logic_loss, logic_training_loss, parse,
                                PRIOR_ANSWERS, USUAL_COLOUR, WARM_COLOURS, answer_probabilities, rubi_logits, t_norm,
                                total_indirect_effect, yes_probability)
from mmcourse.reasoning.inference.vqa import QuestionEncoder

IMAGE = torch.rand(3, 30, 30, 3)
QUESTION = torch.tensor([[13, 20, 1, 3, 7, 0], [13, 20, 1, 4, 0, 0], [13, 20, 1, 5, 9, 0]])


def test_t_norm_by_hand():
    p1, p2 = torch.tensor([0.5, 0.2, 1.0]), torch.tensor([0.4, 0.0, 1.0])
    assert torch.allclose(t_norm(p1, p2, "and"), torch.tensor([0.2, 0.0, 1.0]))
    assert torch.allclose(t_norm(p1, p2, "or"), torch.tensor([0.7, 0.2, 1.0]))
    assert torch.allclose(t_norm(p1, p2, "not"), torch.tensor([0.5, 0.8, 0.0]))
    codes = torch.tensor([0, 1, 2])  # one op per row
    assert torch.allclose(t_norm(p1, p2, codes), torch.tensor([0.2, 0.2, 0.0]))


def test_t_norm_on_hard_answers_is_boolean_logic():
    for a in (0.0, 1.0):
        for b in (0.0, 1.0):
            assert t_norm(torch.tensor(a), torch.tensor(b), "and").item() == float(a and b)
            assert t_norm(torch.tensor(a), torch.tensor(b), "or").item() == float(a or b)
            assert t_norm(torch.tensor(a), torch.tensor(b), "not").item() == float(not a)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=4, max_size=4).filter(lambda w: sum(w) > 1e-3))
def test_frechet_bounds_hold_for_every_joint_distribution(weights):
    # a joint distribution of two events A, B: P(A∧B), P(A∧¬B), P(¬A∧B), P(¬A∧¬B)
    ab, a_only, b_only, _ = (torch.tensor(weights, dtype=torch.float64) / sum(weights)).tolist()
    p1, p2 = torch.tensor(ab + a_only, dtype=torch.float64), torch.tensor(ab + b_only, dtype=torch.float64)
    for op, value in (("and", ab), ("or", ab + a_only + b_only)):
        lower, upper = frechet_bounds(p1.clamp(0, 1), p2.clamp(0, 1), op)
        assert lower.item() - 1e-9 <= value <= upper.item() + 1e-9
    # the product t-norm is the joint under independence, so it lies inside the bounds as well
    for op in ("and", "or"):
        lower, upper = frechet_bounds(p1.clamp(0, 1), p2.clamp(0, 1), op)
        assert lower - 1e-9 <= t_norm(p1.clamp(0, 1), p2.clamp(0, 1), op) <= upper + 1e-9


def test_frechet_bounds_are_attained():
    p1, p2 = torch.tensor(0.7), torch.tensor(0.6)
    assert torch.allclose(torch.stack(frechet_bounds(p1, p2, "and")), torch.tensor([0.3, 0.6]))
    assert torch.allclose(torch.stack(frechet_bounds(p1, p2, "or")), torch.tensor([0.7, 1.0]))
    assert torch.allclose(torch.stack(frechet_bounds(p1, p2, "not")), torch.tensor([0.3, 0.3]))


def test_consistency_rate_by_hand():
    p = torch.tensor([0.9, 0.9, 0.2, 0.6])
    p1, p2 = torch.tensor([0.8, 0.2, 0.6, 0.6]), torch.tensor([0.7, 0.9, 0.6, 0.6])
    # and: yes∧yes=yes ✓, no∧yes=no ✗ (said yes), yes∧yes=yes ✗ (said no),
    # yes∧yes=yes ✓ (the t-norm 0.36 would have said no)
    assert consistency_rate(p, p1, p2, "and") == 0.5
    assert consistency_rate(torch.tensor([0.1, 0.9]), torch.tensor([0.8, 0.3]), torch.zeros(2), "not") == 1.0


def test_logic_loss_values_and_gradients():
    pc = torch.tensor([0.9, 0.1], requires_grad=True)
    p1, p2 = torch.tensor([0.5, 0.5], requires_grad=True), torch.tensor([0.4, 0.4])
    loss = logic_loss(pc, p1, p2, "and")
    assert torch.isclose(loss, torch.tensor(((0.9 - 0.2) ** 2 + (0.1 - 0.2) ** 2) / 2))
    loss.backward()
    assert pc.grad.abs().sum() > 0 and p1.grad.abs().sum() > 0
    inside = logic_loss(torch.tensor([0.3]), torch.tensor([0.5]), torch.tensor([0.4]), "and", kind="frechet")
    assert inside.item() == 0.0  # 0.3 lies in [0, 0.4]
    outside = logic_loss(torch.tensor([0.9]), torch.tensor([0.5]), torch.tensor([0.4]), "or", kind="frechet")
    assert torch.isclose(outside, torch.tensor(0.0))  # [0.5, 0.9]: on the edge
    assert torch.isclose(logic_loss(torch.tensor([1.0]), torch.tensor([0.5]), torch.tensor([0.4]), "or",
                                    kind="frechet"), torch.tensor(0.1))


def test_logic_errors():
    with pytest.raises(ValueError, match="op must be one of"):
        t_norm(torch.tensor(0.5), torch.tensor(0.5), "xor")
    with pytest.raises(ValueError, match="op codes must lie in"):
        t_norm(torch.tensor([0.5]), torch.tensor([0.5]), torch.tensor([3]))
    with pytest.raises(ValueError, match="p1 must hold probabilities"):
        frechet_bounds(torch.tensor(1.5), torch.tensor(0.5), "and")
    with pytest.raises(ValueError, match="kind must be"):
        logic_loss(torch.tensor([0.5]), torch.tensor([0.5]), torch.tensor([0.5]), "and", kind="godel")
    with pytest.raises(ValueError, match="p_composed is empty"):
        consistency_rate(torch.zeros(0), torch.zeros(0), torch.zeros(0), "and")


@pytest.fixture(scope="module")
def composed():
    ds = load_scene_questions(n_train=30, n_val=1, n_test=1, n_heldout=1,
                              families=("and_exists", "or_exists", "not_exists"), seed=3)
    return ds["train"], compositional_questions(ds["train"], relational=True)


def test_compositional_questions_parts_and_answers(composed):
    split, data = composed
    assert data["parts"].shape == (30, 2, 16) and data["image"].shape == (30, 30, 30, 3)
    yes = ANSWERS.index("yes")
    for i in range(30):
        whole = decode_question(data["question"][i])
        parts = [decode_question(q) for q in data["parts"][i] if (q != 0).any()]
        assert all(p.startswith("is there a ") and p.endswith(" ?") for p in parts)
        answers = data["part_answer"][i, :len(parts)].double()
        op = LOGIC_OPS[int(data["op"][i])]
        implied = t_norm(answers[0], answers[-1], op).item()
        assert implied == float(int(split[i]["answer"]) == yes) == float(data["answer"][i]), whole
        assert (len(parts) == 1) == (op == "not")


def test_compositional_questions_options(composed):
    split, data = composed
    relational = sum(any(step.startswith("relate") for step in p) for p in split["program"])
    assert len(compositional_questions(split)["answer"]) == 30 - relational
    partial = compositional_questions(split, n_labelled=5, relational=True)
    assert (partial["answer"][:5] >= 0).all() and (partial["answer"][5:] == -1).all()
    with pytest.raises(ValueError, match="n_labelled must be"):
        compositional_questions(split, n_labelled=99)
    plain = load_scene_questions(n_train=3, n_val=1, n_test=1, n_heldout=1, families=("count",), seed=0)
    with pytest.raises(ValueError, match="not a composed yes/no question"):
        compositional_questions(plain["train"])


def test_models_shapes_and_errors():
    set_seed(0)
    assert QuestionEncoder(8)(QUESTION).shape == (3, 8)
    model = VQAModel(8)
    assert model(IMAGE, QUESTION).shape == (3, 2)
    p = yes_probability(model, IMAGE, QUESTION)
    assert p.shape == (3,) and ((p > 0) & (p < 1)).all()
    with pytest.raises(ValueError, match="image must be a tensor of shape"):
        model(torch.rand(3, 28, 28, 3), QUESTION)
    with pytest.raises(ValueError, match="mismatched batch sizes"):
        model(IMAGE[:2], QUESTION)
    with pytest.raises(ValueError, match="question must be an integer tensor"):
        model(IMAGE, QUESTION.float())
    with pytest.raises(TypeError, match="perception must be a CellPerception"):
        VQAModel(8, perception=torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="dim must be a positive integer"):
        VQAModel(0)
    with pytest.raises(ValueError, match="n_answers must be an integer >= 2"):
        VQAModel(8, n_answers=1)


def test_answer_probabilities_with_many_answers():
    set_seed(0)
    model = VQAModel(8, n_answers=4)
    p = answer_probabilities(model, IMAGE, QUESTION, batch_size=2)  # two batches, glued back in order
    model.eval()
    assert torch.allclose(p, model(IMAGE, QUESTION).softmax(-1).detach())
    assert model.training is False  # the mode it had is restored
    with pytest.raises(ValueError, match="2 logits"):
        yes_probability(model, IMAGE, QUESTION)
    with pytest.raises(ValueError, match="batch_size must be"):
        answer_probabilities(model, IMAGE, QUESTION, batch_size=0)
    for wrapped in (RUBi(VQAModel(8, n_answers=4)), CounterfactualVQA(VQAModel(8, n_answers=4)),
                    QuestionOnlyModel(8, n_answers=4)):
        assert wrapped(IMAGE, QUESTION).shape == (3, 4)
        wrapped.loss(IMAGE, QUESTION, torch.tensor([0, 3, 2])).backward()
    with pytest.raises(ValueError, match="n_answers must be an integer >= 2"):
        QuestionOnlyModel(8, n_answers=True)


def test_question_encoder_reads_the_last_word_not_the_padding():
    set_seed(0)
    enc = QuestionEncoder(8)
    short, padded = torch.tensor([[13, 20, 1]]), torch.tensor([[13, 20, 1, 0, 0]])
    assert torch.allclose(enc(short), enc(padded))
    # questions of different lengths in one batch (the padding after the longest one is skipped): same codes
    batch = torch.tensor([[13, 20, 1, 0, 0, 0], [5, 0, 0, 0, 0, 0]])
    assert torch.allclose(enc(batch), torch.cat([enc(batch[:1, :3]), enc(batch[1:, :1])]), atol=1e-6)


def test_cell_perception_learns_the_kinds(composed):
    split, _ = composed
    set_seed(0)
    perception = CellPerception(16)
    accuracy = perception.fit(split["image"], split["colour"], split["shape"], split["cell"], epochs=40, lr=1e-2)
    assert accuracy > 0.9 and not any(p.requires_grad for p in perception.parameters())
    model = VQAModel(8, perception=perception)
    assert model(IMAGE, QUESTION).shape == (3, 2)
    with pytest.raises(ValueError, match="must be \\(N, K\\) tables"):
        CellPerception(8).fit(split["image"], split["colour"][:3], split["shape"], split["cell"])


def test_logic_training_loss_and_fit(composed):
    _, data = composed
    set_seed(0)
    model = VQAModel(8)
    batch = {k: v[:6] for k, v in data.items()}
    plain, logic = logic_training_loss(model, batch), logic_training_loss(model, batch, weight=2.0)
    assert logic > plain
    losses = fit_vqa(model, data, lambda m, b: logic_training_loss(m, b, 1.0, kind="frechet"), epochs=3)
    assert len(losses) == 3 and losses[-1] < losses[0]
    with pytest.raises(ValueError, match="weight must be"):
        logic_training_loss(model, batch, weight=-1)
    with pytest.raises(ValueError, match="same number of rows"):
        fit_vqa(model, {"image": IMAGE, "question": QUESTION[:2], "answer": torch.zeros(3)})
    with pytest.raises(ValueError, match="epochs must be"):
        fit_vqa(model, data, epochs=0)


def _table(d, i):
    return [{"colour": ("red", "green", "blue", "yellow")[c], "shape": ("square", "circle", "triangle")[s],
             "cell": int(k)} for c, s, k in zip(d["colour"][i], d["shape"][i], d["cell"][i]) if k >= 0]


def test_language_prior_split_exists():
    data = language_prior_split(400, 400, bias=0.9, seed=1)
    assert set(data) == {"train", "test_id", "test_ood"} and WARM_COLOURS == ("red", "yellow")
    for name, yes_warm in (("train", 0.9), ("test_id", 0.9), ("test_ood", 0.1)):
        d = data[name]
        warm = d["prior"] == 1
        assert abs(d["answer"][warm].float().mean() - yes_warm) < 0.06
        assert abs(d["answer"][~warm].float().mean() - (1 - yes_warm)) < 0.06
    d = data["train"]
    first_is_named = []
    for i in range(400):  # every answer is what the program executes to on the scene's object table
        words = decode_question(d["question"][i]).split()
        table = _table(d, i)
        named = [o for o in table if o["colour"] == words[3] and words[4] in (o["shape"], "object")]
        assert bool(named) == bool(d["answer"][i]) == (execute(parse(" ".join(words)), table) == "yes")
        assert d["prior"][i] == (words[3] in WARM_COLOURS)
        if named:
            first_is_named.append(named[0] is table[0])
    # the object a "yes" names is not always in the first occupied cell (no position shortcut)
    assert 0.2 < np.mean(first_is_named) < 0.6
    again = language_prior_split(400, 400, bias=0.9, seed=1)
    assert torch.equal(again["test_ood"]["image"], data["test_ood"]["image"])
    with pytest.raises(ValueError, match="bias must be a probability"):
        language_prior_split(10, 10, bias=1.5)
    with pytest.raises(ValueError, match="min_objects must be"):
        language_prior_split(10, 10, min_objects=5, max_objects=3)
    with pytest.raises(ValueError, match="question must be one of"):
        language_prior_split(10, 10, question="count")


def test_language_prior_split_colour():
    data = language_prior_split(400, 400, question="colour", bias=0.9, seed=2)
    assert PRIOR_ANSWERS["colour"] == ("red", "green", "blue", "yellow")
    assert USUAL_COLOUR == {"square": "red", "circle": "green", "triangle": "blue"}
    for name, usual in (("train", 0.9), ("test_id", 0.9), ("test_ood", 0.1)):
        d = data[name]
        assert abs((d["answer"] == d["prior"]).float().mean() - usual) < 0.06
        rare = d["answer"][d["answer"] != d["prior"]]
        assert len(rare.unique()) == 4 if name == "test_ood" else len(rare.unique()) >= 3
    d = data["train"]
    for i in range(400):
        words = decode_question(d["question"][i]).split()
        assert words[:4] == ["what", "colour", "is", "the"]
        table = _table(d, i)
        named = [o for o in table if o["shape"] == words[4]]
        assert len(named) == 1  # "the <shape>" names exactly one object
        assert PRIOR_ANSWERS["colour"][int(d["answer"][i])] == named[0]["colour"] == execute(parse(" ".join(words)), table)
        assert PRIOR_ANSWERS["colour"][int(d["prior"][i])] == USUAL_COLOUR[words[4]]


def test_rubi_logits_and_stop_gradient():
    assert torch.allclose(rubi_logits(torch.tensor([[2.0, -2.0]]), torch.tensor([[0.0, 100.0]])),
                          torch.tensor([[1.0, -2.0]]))
    with pytest.raises(ValueError, match="same shape"):
        rubi_logits(torch.zeros(2, 2), torch.zeros(2, 3))
    set_seed(0)
    rubi = RUBi(VQAModel(8))
    out = rubi.outputs(IMAGE, QUESTION)
    assert torch.equal(rubi(IMAGE, QUESTION), out["logits"])  # test time: the plain logits
    # the question-only loss must not reach the question encoder (stop-gradient), only the branch
    torch.nn.functional.cross_entropy(out["logits_q"], torch.tensor([0, 1, 0])).backward()
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in rubi.model.question.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in rubi.question_branch.parameters())
    rubi.zero_grad()
    rubi.loss(IMAGE, QUESTION, torch.tensor([0, 1, 0])).backward()  # the main loss does train the encoder
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in rubi.model.question.parameters())
    with pytest.raises(TypeError, match="model must be a VQAModel"):
        RUBi(QuestionOnlyModel(8))
    with pytest.raises(ValueError, match="question_weight must be"):
        RUBi(VQAModel(8), question_weight=-1.0)


def test_total_indirect_effect_by_hand():
    z = torch.tensor([[1.0, -2.0]])
    zq, zv = torch.tensor([[0.5, 3.0]]), torch.tensor([[-1.0, 0.0]])
    c = 0.3
    expected = torch.log(torch.sigmoid(z + zq + zv)) - torch.log(torch.sigmoid(2 * c + zq))
    assert torch.allclose(total_indirect_effect(z, zq, zv, c), expected)
    # an answer the question alone explains fully has no indirect effect left: big z_q, nothing from k and v
    tie = total_indirect_effect(torch.zeros(1, 2), torch.tensor([[20.0, -20.0]]), torch.zeros(1, 2), 0.0)
    assert abs(tie[0, 0].item()) < 1e-6
    with pytest.raises(ValueError, match="same shape"):
        total_indirect_effect(z, zq[:, :1], zv, c)


def test_counterfactual_vqa_outputs_and_gradients():
    set_seed(0)
    cf = CounterfactualVQA(VQAModel(8))
    out = cf.outputs(IMAGE, QUESTION)
    assert torch.allclose(cf(IMAGE, QUESTION), total_indirect_effect(out["z_k"], out["z_q"], out["z_v"],
                                                                     cf.constant))
    assert torch.allclose(out["te"], torch.nn.functional.logsigmoid(out["z_k"] + out["z_q"] + out["z_v"]))
    cf.loss(IMAGE, QUESTION, torch.tensor([0, 1, 1])).backward()
    assert cf.constant.grad is not None and cf.constant.grad.abs() > 0
    assert any(p.grad.abs().sum() > 0 for p in cf.vision_branch.parameters())
    # the branches read detached codes: a question-only loss does not reach the encoder
    cf.zero_grad()
    torch.nn.functional.cross_entropy(cf.outputs(IMAGE, QUESTION)["z_q"], torch.tensor([0, 1, 1])).backward()
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in cf.model.question.parameters())


def test_question_only_model_ignores_the_image():
    set_seed(0)
    model = QuestionOnlyModel(8)
    assert torch.equal(model(IMAGE, QUESTION), model(torch.zeros_like(IMAGE), QUESTION))
    data = {"image": IMAGE.repeat(4, 1, 1, 1), "question": QUESTION.repeat(4, 1),
            "answer": torch.tensor([1, 0, 1] * 4)}
    fit_vqa(model, data, epochs=30, lr=1e-2)
    assert (yes_probability(model, IMAGE, QUESTION).round() == torch.tensor([1.0, 0.0, 1.0])).all()
    assert np.isclose(sum(LOGIC_OPS.index(o) for o in LOGIC_OPS), 3)
