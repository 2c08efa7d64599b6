import pytest
import torch

from mmcourse.encoders import (BagOfWordsEncoder, CNNEncoder, GRUEncoder, MLPEncoder, TransformerTextEncoder,
                               UnimodalClassifier, make_encoder)
from mmcourse.training import fit
from mmcourse.utils import set_seed

CASES = [
    (lambda: MLPEncoder(6, 4, hidden=(5,)), torch.randn(3, 6)),
    (lambda: CNNEncoder((8, 8), 4), torch.randn(3, 8, 8)),
    (lambda: GRUEncoder(5, 4), torch.randn(3, 7, 5)),
    (lambda: BagOfWordsEncoder(10, 4), torch.tensor([[1, 2, 0], [3, 0, 0], [9, 9, 9]])),
    (lambda: TransformerTextEncoder(10, 4, max_length=3), torch.tensor([[1, 2, 0], [3, 0, 0], [9, 9, 9]])),
    (lambda: TransformerTextEncoder(10, 4, max_length=5, layers=2, pooling="first"),
     torch.tensor([[1, 2, 0], [3, 0, 0], [9, 9, 9]])),
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


def test_transformer_equation_by_hand():
    """One block, written out: z0 = E[x] + P, Z' = Z + MHA(LN Z) over the words, Z'' = Z' + FF(LN Z'),
    h = ReLU(W mean_S LN(Z'') + b)."""
    set_seed(0)
    enc = TransformerTextEncoder(7, 3, max_length=4, embed_dim=4, heads=1)
    x = torch.tensor([[2, 5, 1, 0]])
    block = enc.blocks[0]
    z = enc.embed(x) + enc.position
    a = block.norm1(z)[0]
    wq, wk, wv = block.self_attn.in_proj_weight.chunk(3)
    bq, bk, bv = block.self_attn.in_proj_bias.chunk(3)
    scores = (a @ wq.T + bq) @ (a @ wk.T + bk).T / 2.0  # sqrt(d_k) = sqrt(4)
    scores[:, 3] = float("-inf")  # the padding is no key
    z = z[0] + block.self_attn.out_proj(torch.softmax(scores, 1) @ (a @ wv.T + bv))
    z = z + block.linear2(torch.relu(block.linear1(block.norm2(z))))
    expected = enc.proj(enc.norm(z)[:3].mean(0))
    assert torch.allclose(enc(x)[0], expected, atol=1e-5)


def test_transformer_reads_order_but_not_padding():
    set_seed(0)
    enc = TransformerTextEncoder(10, 4, max_length=6)
    x = torch.tensor([[4, 5, 6, 0]])
    assert not torch.allclose(enc(x), enc(torch.tensor([[6, 5, 4, 0]])))
    assert torch.allclose(enc(x), enc(torch.tensor([[4, 5, 6, 0, 0, 0]])), atol=1e-6)  # more padding: same h
    enc.position.data.zero_()  # without positions, attention sees a set: the order no longer matters
    assert torch.allclose(enc(x), enc(torch.tensor([[6, 4, 5, 0]])), atol=1e-6)
    assert torch.isfinite(enc(torch.zeros(2, 3, dtype=torch.long))).all()  # an empty caption gives no NaN
    enc.eval()  # PyTorch's inference fast path must give the same features as the training path
    with torch.no_grad():
        assert torch.allclose(enc(torch.tensor([[4, 5, 6, 0], [7, 0, 0, 0]])),
                              enc.train()(torch.tensor([[4, 5, 6, 0], [7, 0, 0, 0]])), atol=1e-5)


def test_transformer_learns_which_word_comes_first():
    set_seed(0)
    x = torch.randint(1, 4, (256, 5))
    y = x[:, 0] - 1  # the first word decides; every row holds the same kinds of words in some order
    model = UnimodalClassifier(TransformerTextEncoder(4, 16, max_length=5, embed_dim=16), 3)
    history = fit(model, ([x], y), epochs=40, lr=2e-2, batch_size=256, progress=False)
    assert history.train_acc[-1] > 0.95


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
    (lambda: TransformerTextEncoder(10, 4, max_length=3), torch.tensor([[1, 2, 3, 4]]), "max_length=3"),
    (lambda: TransformerTextEncoder(10, 4, max_length=3), torch.tensor([[1, -1]]), r"\[0, 10\)"),
    (lambda: TransformerTextEncoder(10, 4, max_length=3), torch.tensor([1, 2]), "integer token ids"),
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
    (lambda: TransformerTextEncoder(10, 4, max_length=0), "max_length must be a positive integer"),
    (lambda: TransformerTextEncoder(10, 4, max_length=3, embed_dim=6, heads=4), "heads=4 must divide"),
    (lambda: TransformerTextEncoder(10, 4, max_length=3, pooling="max"), "pooling must be"),
])
def test_bad_constructor_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()
