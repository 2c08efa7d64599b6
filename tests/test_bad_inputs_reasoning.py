"""Issue 15: the public names of ``mmcourse.reasoning`` refuse bad input at the door, with a message that names the
function, the argument and what was wrong."""
import pytest
import torch

from mmcourse.data import GridWorld
from mmcourse.reasoning.concepts.attention import SceneAttentionQA, StackedAttention, cell_tiles
from mmcourse.reasoning.concepts.language import SceneDescriber, describe_scene, fit_describer
from mmcourse.reasoning.concepts.programs import relation_holds
from mmcourse.reasoning.concepts.symbolic import SceneParser, parse_scene, parser_accuracy, parser_loss
from mmcourse.reasoning.inference.causal import RUBi, rubi_logits, total_indirect_effect
from mmcourse.reasoning.inference.logic import consistency_rate, logic_loss, logic_training_loss
from mmcourse.reasoning.inference.vqa import VQAModel, fit_vqa
from mmcourse.reasoning.knowledge.evaluation import retrieval_recall
from mmcourse.reasoning.knowledge.memory import KeyValueMemory, retrieve
from mmcourse.reasoning.knowledge.perception import ScenePerception
from mmcourse.reasoning.knowledge.retrieval import ClosedBookReasoner, poisson_binomial
from mmcourse.reasoning.structure.discovery import search_temporal_structure
from mmcourse.reasoning.structure.film import FiLMModel, apply_film
from mmcourse.reasoning.structure.interactive import InstructionAgent, egocentric_view, fit_imitation
from mmcourse.reasoning.structure.interactive_rl import discounted_returns, fit_reinforce, reinforce_loss
from mmcourse.reasoning.structure.interactive_rollout import plot_episodes, random_policy, rollout
from mmcourse.reasoning.structure.modules_blocks import answer_logits
from mmcourse.reasoning.structure.modules_network import NeuralModuleNetwork
from mmcourse.reasoning.structure.modules_training import evaluate_reasoner, fit_reasoner
from mmcourse.reasoning.structure.temporal import delta_memory_attention, gated_memory_update

NAN = float("nan")
IMAGES, QUESTIONS = torch.zeros(2, 30, 30, 3), torch.ones(2, 16, dtype=torch.long)
TILES = torch.zeros(2, 9, 10, 10, 3)
LABELS = torch.full((2, 9), -1)


def _nan(*shape):
    x = torch.zeros(*shape)
    x.view(-1)[0] = NAN
    return x


@pytest.mark.parametrize("call, error, match", [
    (lambda: cell_tiles(_nan(2, 30, 30, 3)), ValueError, "cell_tiles: images contains NaN"),
    (lambda: StackedAttention(8)(_nan(2, 9, 8), torch.zeros(2, 8)), ValueError, "StackedAttention: v contains NaN"),
    (lambda: StackedAttention(8)(torch.zeros(2, 9, 8), _nan(2, 8)), ValueError, "StackedAttention: u contains NaN"),
    (lambda: SceneAttentionQA(8)(torch.tensor(0.0), QUESTIONS), ValueError, "SceneAttentionQA: images must have"),
    (lambda: SceneAttentionQA(8)(_nan(2, 30, 30, 3), QUESTIONS), ValueError, "SceneAttentionQA: images contains NaN"),
    (lambda: SceneAttentionQA(8)(IMAGES, torch.tensor(1)), ValueError, "questions must be an integer tensor"),
])
def test_attention(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("call, error, match", [
    (lambda: SceneDescriber(8)(_nan(2, 9, 10, 10, 3)), ValueError, "SceneDescriber: tiles contains NaN"),
    (lambda: SceneDescriber(8)("abc"), TypeError, "SceneDescriber: tiles must be a torch.Tensor"),
    (lambda: fit_describer(SceneDescriber(8), TILES, LABELS.float(), LABELS), TypeError,
     "fit_describer: colour must be an integer tensor"),
    (lambda: fit_describer(SceneDescriber(8), TILES, LABELS + 5, LABELS), ValueError,
     r"fit_describer: colour must hold -1 \(empty cell\) or indices in 0..3, got values from 4 to 4"),
    (lambda: describe_scene(SceneDescriber(8), "abc"), TypeError, "describe_scene: images must be"),
])
def test_language(call, error, match):
    with pytest.raises(error, match=match):
        call()


OUTPUTS = (torch.zeros(2, 9), torch.zeros(2, 9, 4), torch.zeros(2, 9, 3))


@pytest.mark.parametrize("call, error, match", [
    (lambda: SceneParser(8)(_nan(2, 9, 10, 10, 3)), ValueError, "SceneParser: tiles contains NaN"),
    (lambda: parser_loss("abc", LABELS, LABELS), TypeError, "parser_loss: outputs must be the three logits"),
    (lambda: parser_loss((_nan(2, 9), *OUTPUTS[1:]), LABELS, LABELS), ValueError,
     r"parser_loss: outputs\[0\] contains NaN"),
    (lambda: parser_loss(OUTPUTS, LABELS[:1], LABELS), ValueError, "parser_loss: colour .* must describe the same"),
    (lambda: parser_loss(OUTPUTS, LABELS, LABELS - 1), ValueError, "parser_loss: shape must hold -1"),
    (lambda: parse_scene(SceneParser(8), IMAGES, threshold=NAN), ValueError, r"threshold must be a number in \(0, 1\)"),
    (lambda: parse_scene(SceneParser(8), torch.zeros(30)), ValueError, "parse_scene: images must have 3 or 4"),
    (lambda: parser_accuracy(SceneParser(8), TILES, LABELS, "abc"), TypeError, "parser_accuracy: shape must be"),
])
def test_symbolic(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("call, error, match", [
    (lambda: relation_holds("near", 3, 4), ValueError, "relation_holds: relation must be one of 'left'"),
    (lambda: relation_holds("left", 9, 4), ValueError, r"relation_holds: cell must be in \[0, 8\], got 9"),
    (lambda: relation_holds("left", 3, 1.0), TypeError, "relation_holds: anchor must be an integer"),
])
def test_programs(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("call, error, match", [
    (lambda: rubi_logits("abc", torch.zeros(1, 2)), TypeError, "rubi_logits: logits must be"),
    (lambda: rubi_logits(torch.zeros(1, 2), _nan(1, 2)), ValueError, "rubi_logits: question_logits contains NaN"),
    (lambda: RUBi(VQAModel(8), question_weight=NAN), ValueError, "RUBi: question_weight must be a finite number"),
    (lambda: total_indirect_effect(torch.zeros(1), _nan(1), torch.zeros(1), 0.0), ValueError,
     "total_indirect_effect: z_q contains NaN"),
    (lambda: total_indirect_effect(torch.zeros(1), torch.zeros(1), torch.zeros(1), NAN), ValueError,
     "total_indirect_effect: c must be a finite number"),
])
def test_causal(call, error, match):
    with pytest.raises(error, match=match):
        call()


def _batch(**changes):
    batch = {"image": torch.rand(2, 30, 30, 3), "question": QUESTIONS, "answer": torch.tensor([1, -1]),
             "op": torch.tensor([0, 2]), "parts": torch.ones(2, 2, 16, dtype=torch.long),
             "part_answer": torch.tensor([[1, 1], [0, -1]])}
    return {**batch, **changes}


P = torch.tensor([0.5, 0.5])


@pytest.mark.parametrize("call, error, match", [
    (lambda: consistency_rate(P, P[:1], P, "and"), ValueError, "consistency_rate: p_composed, p1 and p2 must have"),
    (lambda: consistency_rate(P, P, P, "and", threshold=NAN), ValueError, "consistency_rate: threshold must be"),
    (lambda: logic_loss(P[:0], P[:0], P[:0], "and"), ValueError, "logic_loss: p_composed is empty"),
    (lambda: logic_training_loss("abc", _batch()), TypeError, "logic_training_loss: model must be a VQAModel"),
    (lambda: logic_training_loss(VQAModel(8), _batch(answer=torch.tensor([2, 0]))), ValueError,
     r"logic_training_loss: batch\['answer'\] must hold 1 \(yes\), 0 \(no\) or -1"),
    (lambda: logic_training_loss(VQAModel(8), _batch(op=torch.tensor([0, 3]))), ValueError,
     r"logic_training_loss: batch\['op'\] must hold integers in 0..2"),
    (lambda: logic_training_loss(VQAModel(8), _batch(image=_nan(2, 30, 30, 3))), ValueError,
     "logic_training_loss: image contains NaN"),
    (lambda: logic_training_loss(VQAModel(8), _batch(), kind="max"), ValueError,
     "logic_training_loss: kind must be one of 'tnorm', 'frechet'"),
])
def test_logic(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("data, match", [
    ({"image": torch.rand(2, 30, 30, 3), "question": QUESTIONS, "answer": torch.tensor(1)},
     r"fit_vqa: data\[.answer.\] must have one row per example, got a scalar"),
    ({"image": torch.rand(2, 30, 30, 3), "question": QUESTIONS, "answer": torch.tensor([0, 2])},
     "VQAModel.loss: answer must hold integers in 0..1"),
])
def test_vqa(data, match):
    with pytest.raises(ValueError, match=match):
        fit_vqa(VQAModel(8), data, epochs=1, progress=False)


@pytest.mark.parametrize("call, error, match", [
    (lambda: retrieval_recall([[NAN, 0.1]], [0]), ValueError, "retrieval_recall: scores contains NaN"),
    (lambda: retrieve(_nan(2), torch.eye(2), torch.eye(2)), ValueError, "retrieve: query contains NaN"),
    (lambda: retrieve(torch.ones(2), torch.eye(2), _nan(2, 2)), ValueError, "retrieve: values contains NaN"),
    (lambda: KeyValueMemory()(_nan(7)), ValueError, "KeyValueMemory: query contains NaN"),
    (lambda: ScenePerception()(_nan(2, 10, 10, 3)), ValueError, "ScenePerception: crops contains NaN"),
    (lambda: poisson_binomial(_nan(1, 2)), ValueError, "poisson_binomial: a contains NaN"),
    (lambda: ClosedBookReasoner()(torch.tensor(1.0), torch.rand(1, 9, 7), torch.zeros(1, 4, dtype=torch.long)),
     ValueError, "ClosedBookReasoner: presence must have 2 dimensions"),
    (lambda: ClosedBookReasoner()(torch.ones(1, 9), _nan(1, 9, 7), torch.zeros(1, 4, dtype=torch.long)),
     ValueError, "ClosedBookReasoner: attributes contains NaN"),
])
def test_knowledge(call, error, match):
    with pytest.raises(error, match=match):
        call()


XS, Y = [torch.zeros(4, 3, 2)], torch.tensor([0, 1, 0, 1])


@pytest.mark.parametrize("train, error, match", [
    ("abc", TypeError, "search_temporal_structure: train must be a pair"),
    ((["abc"], Y), TypeError, r"search_temporal_structure: train\[0\]\[0\] must be a floating-point"),
    (([torch.tensor(0.0)], Y), ValueError, r"train\[0\]\[0\] must have 3 dimensions"),
    ((XS, Y[:0]), ValueError, r"search_temporal_structure: train\[1\] is empty"),
    ((XS, Y[:3]), ValueError, r"mismatched batch sizes: train\[0\]\[0\] has 4 rows, train\[1\] has 3"),
])
def test_discovery(train, error, match):
    with pytest.raises(error, match=match):
        search_temporal_structure(train, (XS, Y), epochs=1)


@pytest.mark.parametrize("call, error, match", [
    (lambda: apply_film(_nan(2, 9, 4), torch.ones(2, 4), torch.zeros(2, 4)), ValueError,
     "apply_film: features contains NaN"),
    (lambda: apply_film(torch.ones(2, 9, 4), torch.ones(2, 4), _nan(2, 4)), ValueError,
     "apply_film: beta contains NaN"),
    (lambda: FiLMModel(8, 16, 1)(IMAGES, -QUESTIONS), ValueError, "FiLMModel: questions must hold integers in 0.."),
])
def test_film(call, error, match):
    with pytest.raises(error, match=match):
        call()


GRID, WORDS = GridWorld().reset(2, seed=0)


@pytest.mark.parametrize("call, error, match", [
    (lambda: InstructionAgent()("abc", WORDS), TypeError, "InstructionAgent: grid must be a floating-point"),
    (lambda: InstructionAgent()(GRID, WORDS + 100), ValueError, "InstructionAgent: instruction must hold integers"),
    (lambda: egocentric_view(torch.ones(1, 1, 3, 3), torch.tensor([[0, 3]])), ValueError,
     "egocentric_view: agent must hold integers in 0..2, got values from 0 to 3"),
    (lambda: egocentric_view(_nan(1, 1, 3, 3), torch.tensor([[0, 0]])), ValueError,
     "egocentric_view: features contains NaN"),
    (lambda: fit_imitation(InstructionAgent(), _nan(2, 8, 5, 5), WORDS, torch.tensor([0, 1])), ValueError,
     "fit_imitation: grids contains NaN"),
    (lambda: fit_imitation(InstructionAgent(), GRID, WORDS, torch.tensor([0, 4])), ValueError,
     "fit_imitation: actions must hold integers in 0..3"),
    (lambda: fit_imitation(InstructionAgent(), GRID, WORDS, torch.tensor([0, 1]), lr=NAN), ValueError,
     "fit_imitation: lr must be a finite number > 0"),
])
def test_interactive(call, error, match):
    with pytest.raises(error, match=match):
        call()


MASK = torch.ones(1, 2, dtype=torch.bool)


@pytest.mark.parametrize("call, error, match", [
    (lambda: discounted_returns(_nan(1, 3), 0.9), ValueError, "discounted_returns: rewards contains NaN"),
    (lambda: reinforce_loss("abc", torch.ones(1, 2), MASK), TypeError, "reinforce_loss: log_probs must be"),
    (lambda: reinforce_loss(torch.zeros(1, 2), _nan(1, 2), MASK), ValueError, "reinforce_loss: returns contains NaN"),
    (lambda: reinforce_loss(torch.zeros(1, 2), torch.ones(1, 2), MASK, NAN), ValueError,
     "reinforce_loss: baseline must be a finite number"),
    (lambda: fit_reinforce("abc", GridWorld()), TypeError, "fit_reinforce: agent must be a Module"),
    (lambda: fit_reinforce(InstructionAgent(), GridWorld(), lr=NAN), ValueError, "fit_reinforce: lr must be"),
])
def test_interactive_rl(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("call, error, match", [
    (lambda: random_policy("abc", WORDS), TypeError, "random_policy: grid must be"),
    (lambda: random_policy(GRID, WORDS[:1]), ValueError, "random_policy: mismatched batch sizes"),
    (lambda: plot_episodes("abc", [0]), TypeError, "plot_episodes: run must be a Rollout"),
    (lambda: plot_episodes(rollout(random_policy, GridWorld(), 2, seed=0), [0.5]), TypeError,
     r"plot_episodes: episodes\[i\] must be an integer"),
])
def test_interactive_rollout(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("call, error, match", [
    (lambda: NeuralModuleNetwork(8, 16)(torch.tensor(0.0), None, [["scene", "count"]]), ValueError,
     "NeuralModuleNetwork: images must have 4 dimensions"),
    (lambda: answer_logits(torch.tensor([1.5])), ValueError, r"answer_logits: p must be .* probabilities in \[0, 1\]"),
    (lambda: answer_logits(torch.tensor([NAN])), ValueError, "answer_logits: p contains NaN"),
    (lambda: fit_reasoner("abc", None), TypeError, "fit_reasoner: model must be a Module"),
    (lambda: evaluate_reasoner(FiLMModel(8, 16, 1), None, batch_size=0), ValueError,
     "evaluate_reasoner: batch_size must be a positive integer"),
])
def test_modules(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("call, error, match", [
    (lambda: delta_memory_attention(torch.tensor(1.0), torch.nn.Identity()), ValueError,
     "delta_memory_attention: c_window must have a last axis"),
    (lambda: delta_memory_attention(torch.ones(2, 4), "abc"), TypeError, "delta_memory_attention: attend must be"),
    (lambda: gated_memory_update(torch.ones(1, 2), _nan(1, 2), torch.ones(1, 2), torch.ones(1, 2)), ValueError,
     "gated_memory_update: u_hat contains NaN"),
    (lambda: gated_memory_update(torch.ones(1, 2), torch.ones(1, 2), torch.ones(2), torch.ones(1, 2)), ValueError,
     r"gated_memory_update: gamma1 must have the shape of u_prev, \(1, 2\)"),
])
def test_temporal(call, error, match):
    with pytest.raises(error, match=match):
        call()
