import pytest
import torch
from torch import nn

from mmcourse.training import History, evaluate, fit, predict
from mmcourse.utils import set_seed


class Sum(nn.Module):
    """A two-modality model: logits = A x1 + B x2."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(2, 2), nn.Linear(2, 2)

    def forward(self, x1, x2):
        return self.a(x1) + self.b(x2)


def data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x1, x2 = torch.randn(n, 2, generator=g), torch.randn(n, 2, generator=g)
    return [x1, x2], (x1[:, 0] + x2[:, 1] > 0).long()


def test_fit_learns_and_records_history():
    set_seed(0)
    model = Sum()
    history = fit(model, data(), data(seed=1), epochs=15, lr=0.05, progress=False)
    assert isinstance(history, History) and history.epochs == 15
    assert len(history.val_acc) == len(history.val_loss) == 15
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_acc[-1] > 0.9
    assert evaluate(model, data(seed=2))["accuracy"] > 0.9


def test_fit_is_deterministic_under_seed():
    runs = []
    for _ in range(2):
        set_seed(5)
        runs.append(fit(Sum(), data(), epochs=3, progress=False).train_loss)
    assert runs[0] == runs[1]


def test_fit_without_validation_and_callback():
    seen = []
    history = fit(Sum(), data(), epochs=2, progress=False, callback=lambda e, h: seen.append((e, h.epochs)))
    assert history.val_acc == [] and seen == [(0, 1), (1, 2)]


def test_evaluate_known_values():
    model = nn.Linear(1, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[0.0], [0.0]]))
        model.bias.copy_(torch.tensor([0.0, 1.0]))  # always predicts class 1
    scores = evaluate(model, ([torch.zeros(4, 1)], torch.tensor([1, 1, 0, 1])))
    assert scores["accuracy"] == pytest.approx(0.75)
    expected_loss = -(3 * torch.log_softmax(torch.tensor([0.0, 1.0]), 0)[1] +
                      torch.log_softmax(torch.tensor([0.0, 1.0]), 0)[0]) / 4
    assert scores["loss"] == pytest.approx(expected_loss.item(), rel=1e-6)


def test_predict_batches_match_one_pass():
    model = Sum()
    xs, _ = data(50)
    assert torch.allclose(predict(model, xs, batch_size=7), model(*xs).detach(), atol=1e-6)


def test_custom_loss_is_used():
    calls = []

    def loss_fn(logits, labels):
        calls.append(1)
        return nn.functional.cross_entropy(logits, labels)

    fit(Sum(), data(64), epochs=1, batch_size=32, progress=False, loss_fn=loss_fn)
    assert len(calls) == 2


@pytest.mark.parametrize("kwargs, match", [
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"batch_size": -1}, "batch_size must be a positive integer"),
    ({"lr": 0}, "lr must be positive"),
])
def test_fit_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit(Sum(), data(), progress=False, **kwargs)


def test_fit_rejects_bad_data():
    xs, y = data()
    with pytest.raises(ValueError, match="modality 2 has 10 rows but there are 256 labels"):
        fit(Sum(), ([xs[0], xs[1][:10]], y), progress=False)
    with pytest.raises(TypeError, match="pair"):
        fit(Sum(), xs[0], progress=False)
    with pytest.raises(ValueError, match="1-D tensor"):
        evaluate(Sum(), (xs, y.float().unsqueeze(1)))
