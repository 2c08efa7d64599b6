import pytest
import torch

from mmcourse.encoders import (BagOfWordsEncoder, CNNEncoder, GRUEncoder, MLPEncoder, UnimodalClassifier,
                               make_encoder)
from mmcourse.training import fit
from mmcourse.utils import set_seed

CASES = [
    (lambda: MLPEncoder(6, 4, hidden=(5,)), torch.randn(3, 6)),
    (lambda: CNNEncoder((8, 8), 4), torch.randn(3, 8, 8)),
    (lambda: GRUEncoder(5, 4), torch.randn(3, 7, 5)),
    (lambda: BagOfWordsEncoder(10, 4), torch.tensor([[1, 2, 0], [3, 0, 0], [9, 9, 9]])),
]


@pytest.mark.parametrize("make, x", CASES)
def test_shape_gradients_and_device(make, x):
    set_seed(0)
    enc = make()
    h = enc(x)
    assert h.shape == (3, 4) and (h >= 0).all()  # every encoder ends in a ReLU
    (h.sum() + 0 * sum(p.sum() for p in enc.parameters())).backward()
    grads = [p.grad for p in enc.parameters()]
    assert all(g is not None for g in grads)
    assert enc.to(torch.device("cpu"))(x).shape == (3, 4)


def test_mlp_equation_by_hand():
    enc = MLPEncoder(3, 2)
    x = torch.randn(4, 3)
    lin = enc.net[0]
    assert torch.allclose(enc(x), torch.relu(x @ lin.weight.T + lin.bias))


def test_bag_of_words_ignores_order_and_padding():
    enc = BagOfWordsEncoder(10, 4)
    a = enc(torch.tensor([[4, 5, 6, 0, 0]]))
    b = enc(torch.tensor([[6, 4, 5, 0, 0]]))
    c = enc(torch.tensor([[5, 6, 4]]))
    assert torch.allclose(a, b) and torch.allclose(a, c)
    mean = enc.embed(torch.tensor([4, 5, 6])).mean(0)
    assert torch.allclose(a[0], enc.proj(mean))


def test_gru_reads_order():
    set_seed(0)
    enc = GRUEncoder(2, 4)
    x = torch.randn(1, 5, 2)
    assert not torch.allclose(enc(x), enc(x.flip(1)))


def test_cnn_learns_digit_images():
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.images[:600] / 16, dtype=torch.float32)
    y = torch.tensor(digits.target[:600])
    set_seed(0)
    model = UnimodalClassifier(CNNEncoder((8, 8), 32), 10)
    history = fit(model, ([x], y), epochs=15, lr=5e-3, progress=False)
    assert history.train_acc[-1] > 0.85


def test_make_encoder_picks_by_shape():
    assert isinstance(make_encoder(torch.zeros(12), 4), MLPEncoder)
    assert isinstance(make_encoder(torch.zeros(8, 8), 4), CNNEncoder)
    assert isinstance(make_encoder(torch.tensor([1, 2, 3]), 4), BagOfWordsEncoder)
    with pytest.raises(ValueError, match="no default encoder"):
        make_encoder(torch.zeros(2, 3, 4), 4)


@pytest.mark.parametrize("make, x, match", [
    (lambda: MLPEncoder(6, 4), torch.randn(3, 5), r"\(batch, 6\)"),
    (lambda: MLPEncoder(6, 4), torch.full((3, 6), float("nan")), "NaN"),
    (lambda: CNNEncoder((8, 8), 4), torch.randn(3, 8, 7), r"\(batch, 8, 8\)"),
    (lambda: GRUEncoder(5, 4), torch.randn(3, 5), "time"),
    (lambda: BagOfWordsEncoder(10, 4), torch.tensor([[1, 10]]), r"\[0, 10\)"),
    (lambda: BagOfWordsEncoder(10, 4), torch.randn(2, 3), "integer token ids"),
])
def test_bad_input_errors(make, x, match):
    with pytest.raises(ValueError, match=match):
        make()(x)


@pytest.mark.parametrize("make, match", [
    (lambda: MLPEncoder(0, 4), "in_dim must be a positive integer"),
    (lambda: MLPEncoder(3, 4, hidden=(0,)), r"hidden\[0\]"),
    (lambda: CNNEncoder((8,), 4), "image_shape"),
    (lambda: GRUEncoder(3, 4, hidden=-2), "hidden must be a positive integer"),
    (lambda: UnimodalClassifier(MLPEncoder(3, 4), 0), "num_classes"),
])
def test_bad_constructor_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()
