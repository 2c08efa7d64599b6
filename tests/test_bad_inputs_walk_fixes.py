"""Explicit tests of the door checks that the public API walk (tests/api_walk.py) led to, one test per module
(issue 15, item 3)."""
import pytest
import torch
from torch import nn


def test_encoders_refuse_a_non_tensor_and_a_bad_padding_idx():
    from mmcourse.encoders import BagOfWordsEncoder, CNNEncoder, GRUEncoder, MLPEncoder, TransformerTextEncoder

    for encoder in (MLPEncoder(3, 2), CNNEncoder((4, 4), 2), GRUEncoder(3, 2), BagOfWordsEncoder(5, 2)):
        with pytest.raises(TypeError, match="input must be a torch.Tensor, got str"):
            encoder("abc")
    with pytest.raises(ValueError, match=r"padding_idx must lie in \[0, 10\), got 10"):
        BagOfWordsEncoder(10, 4, padding_idx=10)
    with pytest.raises(TypeError, match="padding_idx must be an integer, got float"):
        TransformerTextEncoder(10, 4, max_length=3, padding_idx=0.5)


def test_label_aware_encoders_check_sizes_and_inputs():
    from mmcourse.quantification.estimation.discretise import LabelAwareEncoders

    with pytest.raises(ValueError, match="num_classes must be a positive integer, got 0"):
        LabelAwareEncoders(12, 8, 0)
    net = LabelAwareEncoders(12, 8, 2, width=3)
    with pytest.raises(ValueError, match="mismatched batch sizes: x1 has 5 rows, x2 has 4"):
        net(torch.zeros(5, 12), torch.zeros(4, 8))
    with pytest.raises(ValueError, match=r"x2 must have shape \(batch, 8\)"):
        net(torch.zeros(5, 12), torch.zeros(5, 7))
    with pytest.raises(ValueError, match="x1 contains NaN"):
        net(torch.full((5, 12), float("nan")), torch.zeros(5, 8))
    with pytest.raises(TypeError, match="x1 must be a torch.Tensor"):
        net.encode("abc", torch.zeros(5, 8))


def test_multitask_checks_inputs_labels_and_weights():
    from mmcourse.transference import MultitaskModel, evaluate_tasks, multitask_loss

    model = MultitaskModel({"a": 3, "b": 2}, {"t": (["a", "b"], 2)}, hidden=4, width=4)
    x, z, y = torch.zeros(4, 3), torch.zeros(4, 2), torch.tensor([0, 1, 1, 0])
    with pytest.raises(ValueError, match="input 'b' of task 't' must have shape .* 2 features per row"):
        model("t", x, torch.zeros(4, 5))
    with pytest.raises(ValueError, match="mismatched batch sizes in task 't': 4 rows .* 3 in 'b'"):
        model("t", x, z[:3])
    with pytest.raises(ValueError, match="input 'a' of task 't' contains NaN"):
        model("t", torch.full((4, 3), float("nan")), z)
    with pytest.raises(TypeError, match="input 'a' of task 't' must be a torch.Tensor"):
        model("t", "abc", z)
    with pytest.raises(ValueError, match="labels of task 't' must lie in 0..1, got values from 0 to 7"):
        multitask_loss(model, {"t": ([x, z], torch.tensor([0, 1, 7, 0]))})
    with pytest.raises(ValueError, match="task 't' has 4 input rows but 3 labels"):
        evaluate_tasks(model, {"t": ([x, z], y[:3])})
    with pytest.raises(ValueError, match=r"weights\['t'\] must be a finite number, got nan"):
        multitask_loss(model, {"t": ([x, z], y)}, {"t": float("nan")})
    with pytest.raises(TypeError, match="model must be a MultitaskModel, got str"):
        evaluate_tasks("abc", {"t": ([x, z], y)})
    with pytest.raises(ValueError, match="unknown task"):
        evaluate_tasks(model, {"u": ([x, z], y)})


def test_module_network_blocks_check_their_maps_and_ids():
    from mmcourse.reasoning.structure.modules_blocks import (Find, Query, Relate, and_module, count_module,
                                                             not_module)

    h, a = torch.zeros(2, 9, 16), torch.ones(2, 9)
    with pytest.raises(ValueError, match=r"Find: argument must hold ids in 0\.\.\d+, got values from 0 to 99"):
        Find(16)(h, torch.tensor([0, 99]))
    with pytest.raises(ValueError, match=r"Find: h must be cell features \(batch, 9, 16\)"):
        Find(16)(torch.zeros(2, 9, 8), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="Relate: mismatched batch sizes: objects has 1 rows, expected 2"):
        Relate()(a, torch.tensor([0, 1]), a[:1])
    with pytest.raises(ValueError, match="Query: mismatched batch sizes: a has 3 rows"):
        Query(16)(h, torch.ones(3, 9), "colour")
    with pytest.raises(TypeError, match="and_module: a must be a torch.Tensor, got str"):
        and_module("abc", a)
    with pytest.raises(ValueError, match="not_module: a contains NaN"):
        not_module(torch.full((2, 9), float("nan")))
    with pytest.raises(ValueError, match="count_module: width must be finite, got nan"):
        count_module(a, width=float("nan"))


def test_robustness_metrics_check_model_data_and_seed():
    from mmcourse.representation.robustness.metrics import accuracy_missing, accuracy_under_noise

    class Sum(nn.Module):
        def forward(self, x1, x2):
            return x1 + x2

    x = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).repeat(5, 1)
    y = x.argmax(1)
    with pytest.raises(ValueError, match=r"mismatched batch sizes: modality 1 of data\[0\] has shape \(9, 2\)"):
        accuracy_under_noise(Sum(), ([x, x[:9]], y), 0, "dropout", [0.0])
    with pytest.raises(ValueError, match="seed must be a non-negative integer, got 'abc'"):
        accuracy_under_noise(Sum(), ([x, x], y), 0, "dropout", [0.0], seed="abc")
    with pytest.raises(TypeError, match="model must be an nn.Module, got str"):
        accuracy_missing("abc", ([x, x], y), 1)
    with pytest.raises(ValueError, match="the labels data\\[1\\] must be a non-empty 1-D tensor"):
        accuracy_missing(Sum(), ([x, x], y.float()), 1)
    with pytest.raises(ValueError, match="modality 0 of data\\[0\\] contains NaN"):
        accuracy_missing(Sum(), ([torch.full_like(x, float("nan")), x], y), 1)


def test_vqa_checks_word_ids_images_and_model():
    from mmcourse.reasoning.inference.vqa import CellPerception, VQAModel, answer_probabilities

    image, question = torch.rand(3, 30, 30, 3), torch.ones(3, 4, dtype=torch.long)
    with pytest.raises(ValueError, match=r"VQAModel: question must hold word ids in 0\.\.\d+, got .* 1 to 999"):
        VQAModel(8)(image, torch.tensor([[1, 999, 1, 1]]).repeat(3, 1))
    with pytest.raises(ValueError, match="VQAModel: image contains NaN"):
        VQAModel(8)(torch.full((3, 30, 30, 3), float("nan")), question)
    with pytest.raises(TypeError, match="answer_probabilities: model must be an nn.Module, got str"):
        answer_probabilities("abc", image, question)
    with pytest.raises(TypeError, match="CellPerception: image must be a torch.Tensor, got str"):
        CellPerception(8)("abc")
    with pytest.raises(ValueError, match=r"CellPerception: image must have shape \(batch, 30, 30, 3\)"):
        CellPerception(8)(image[:0])


def test_prefix_readers_check_word_ids_and_images():
    from mmcourse.transference import CaptionReader, PrefixEncoder, PrefixedReader, prefix_inputs

    reader = CaptionReader()
    question = torch.zeros(3, 7, dtype=torch.long)
    with pytest.raises(ValueError, match=r"CaptionReader: caption must hold word ids in 0\.\.\d+, got .* -1"):
        reader(question, torch.full((3, 5), -1))
    with pytest.raises(TypeError, match="CaptionReader: question must be a torch.Tensor of word ids, got str"):
        reader("abc", torch.zeros(3, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="PrefixEncoder: image contains NaN"):
        PrefixedReader(reader, PrefixEncoder())(torch.full((3, 30, 30, 3), float("nan")), question)
    with pytest.raises(TypeError, match="prefix_inputs: prefix must be a torch.Tensor, got str"):
        prefix_inputs("abc", torch.zeros(1, 3, 4), torch.tensor([[5, 7, 0]]))


def test_context_models_check_batches_and_nan():
    from mmcourse.foundations.context_models import ConcatMLP, PooledFusion

    with pytest.raises(ValueError, match="ConcatMLP: mismatched batch sizes: modality 0 has 4 rows, modality 1 has 3"):
        ConcatMLP([2, 3])(torch.zeros(4, 2), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="PooledFusion: modality 1 contains NaN"):
        PooledFusion([2, 3])(torch.zeros(4, 5, 2), torch.full((4, 5, 3), float("nan")))


def test_searched_and_grouped_models_check_their_sizes():
    from mmcourse.representation.heterogeneous.search import Candidate, ComposedFusionModel
    from mmcourse.representation.heterogeneous.sharing import GroupedEncoderModel

    samples = [torch.zeros(12), torch.zeros(12)]
    candidate = Candidate((0, 1), "late")
    with pytest.raises(ValueError, match="num_classes must be a positive integer, got -3"):
        ComposedFusionModel(samples, -3, candidate)
    with pytest.raises(TypeError, match=r"samples\[1\] must be a torch.Tensor \(one example\), got str"):
        ComposedFusionModel([torch.zeros(12), "abc"], 2, candidate)
    model = ComposedFusionModel(samples, 2, candidate)
    with pytest.raises(ValueError, match=r"modality 1 must have shape \(batch, 12\) with the batch of modality 0"):
        model(torch.zeros(3, 12), torch.zeros(2, 12))
    with pytest.raises(TypeError, match="modality 0 must be a torch.Tensor, got str"):
        model("abc", torch.zeros(3, 12))
    with pytest.raises(ValueError, match="num_classes must be a positive integer, got 2.5"):
        GroupedEncoderModel([torch.zeros(16)] * 4, 2.5, [[0, 1], [2, 3]])
