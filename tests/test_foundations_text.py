"""Part 1's text tasks on the scene captions: labels by hand, the order-blind ceiling, the encoder registry and a
short training run."""
import pytest
import torch

from mmcourse.data import decode_words, load_scenes
from mmcourse.encoders import BagOfWordsEncoder, TransformerTextEncoder
from mmcourse.foundations import (CAPTION_TASKS, TEXT_ENCODERS, WordGRUEncoder, caption_labels, caption_task,
                                  make_text_encoder, order_blind_ceiling, train_text_encoder)
from mmcourse.utils import set_seed

COLOUR = [[0, 2, -1], [1, 3, 2], [2, 0, 1]]  # red, green, blue, yellow = 0, 1, 2, 3
SHAPE = [[1, 0, -1], [2, 2, 0], [0, 0, 0]]  # square, circle, triangle = 0, 1, 2


def test_caption_labels_by_hand():
    assert caption_labels(COLOUR, SHAPE, "mentions_red").tolist() == [1, 0, 1]
    assert caption_labels(COLOUR, SHAPE, "first_shape").tolist() == [1, 2, 0]
    assert set(CAPTION_TASKS) == {"mentions_red", "first_shape"}


def test_caption_task_matches_the_captions():
    tokens, labels = caption_task("first_shape", "test", n_test=500)
    assert tokens.shape == (500, 15) and tokens.dtype == labels.dtype == torch.int64
    for row, label in zip(tokens[:20], labels[:20]):
        words = decode_words(row).split()
        assert words[0] == "a" and words[2] == ("square", "circle", "triangle")[label]
    tokens, labels = caption_task("mentions_red", "test", n_test=500)
    assert [("red" in decode_words(row).split()) for row in tokens[:50]] == labels[:50].bool().tolist()


def test_order_blind_ceiling_closed_form():
    # scene 1: shapes (circle, square): best guess right 1/2; scene 2: (tri, tri, square): 2/3; scene 3: 3/3
    assert order_blind_ceiling(COLOUR, SHAPE, "first_shape") == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert order_blind_ceiling(COLOUR, SHAPE, "mentions_red") == 1.0


def test_order_blind_ceiling_bounds_a_trained_bag_of_words():
    run = train_text_encoder("bag of words", "first_shape", epochs=10)
    test = load_scenes()["test"]
    ceiling = order_blind_ceiling(test["colour"][:], test["shape"][:], "first_shape")
    assert 0.5 < ceiling < 0.7
    assert run["test accuracy"] <= ceiling + 0.05  # order-blind: it cannot beat the ceiling beyond sampling noise
    assert run["test accuracy"] >= 0.45  # but it does learn to guess the most frequent shape (chance ≈ 0.35)


def test_registry_and_word_gru():
    kinds = {name: type(make_text_encoder(name, 8, width=8)) for name in TEXT_ENCODERS}
    assert kinds == {"bag of words": BagOfWordsEncoder, "GRU": WordGRUEncoder, "transformer": TransformerTextEncoder}
    set_seed(0)
    gru = WordGRUEncoder(10, 4, embed_dim=6, hidden=5)
    x = torch.tensor([[4, 5, 6, 0, 0]])
    assert torch.allclose(gru(x), gru(torch.tensor([[4, 5, 6]])), atol=1e-6)  # padding at the end is skipped
    assert not torch.allclose(gru(x), gru(torch.tensor([[6, 5, 4, 0, 0]])))
    h = gru(torch.tensor([[1, 2, 0], [3, 0, 0]]))
    h.sum().backward()
    assert h.shape == (2, 4) and gru.embed.weight.grad is not None


def test_transformer_learns_the_order_task_quickly():
    run = train_text_encoder("transformer", "first_shape", epochs=6)
    assert run["test accuracy"] >= 0.9 and run["parameters"] > 0 and len(run["history"].train_acc) == 6


@pytest.mark.parametrize("call, match", [
    (lambda: caption_labels(COLOUR, SHAPE, "colour"), "unknown task 'colour'"),
    (lambda: caption_labels([[0, 1]], [[0]], "first_shape"), "same shape|one shape"),
    (lambda: caption_labels([[-1]], [[-1]], "first_shape"), "at least one object"),
    (lambda: caption_task("first_shape", "dev"), "split must be"),
    (lambda: make_text_encoder("lstm"), "unknown encoder 'lstm'"),
    (lambda: train_text_encoder("GRU", "first_shape", epochs=0), "epochs must be a positive integer"),
    (lambda: WordGRUEncoder(10, 4)(torch.randn(2, 3)), "integer token ids"),
    (lambda: WordGRUEncoder(10, 4)(torch.tensor([[1, 10]])), r"\[0, 10\)"),
    (lambda: order_blind_ceiling(COLOUR, SHAPE, "count"), "unknown task"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
