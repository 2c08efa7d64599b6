import numpy as np
import pytest
import torch

import mmcourse
from mmcourse.utils import check_modalities, check_positive, get_device, progress_enabled, set_progress, set_seed


def test_get_device_defaults_to_cpu_without_gpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert get_device().type == expected
    assert get_device("cpu") == torch.device("cpu")


def test_get_device_env_override(monkeypatch):
    monkeypatch.setenv("MMCOURSE_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_get_device_refuses_missing_cuda():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        get_device("cuda")


def test_set_seed_reproduces_torch_numpy_and_python():
    import random

    set_seed(3)
    a = (torch.rand(3), np.random.rand(3), random.random())
    set_seed(3)
    b = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]
    set_seed(4)
    assert not torch.equal(a[0], torch.rand(3))


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True, None])
def test_set_seed_rejects_bad_seeds(bad):
    with pytest.raises(ValueError, match="non-negative integer"):
        set_seed(bad)


def test_progress_switch():
    before = progress_enabled()
    try:
        set_progress(False)
        assert progress_enabled() is False and progress_enabled(True) is True
        set_progress(True)
        assert progress_enabled() is True and progress_enabled(False) is False
    finally:
        set_progress(before)


def test_top_level_exports():
    assert mmcourse.get_device is get_device and mmcourse.set_seed is set_seed
    assert isinstance(mmcourse.__version__, str)


@pytest.mark.parametrize("hs, match", [
    ([torch.zeros(2, 3)], "expected 2 modalities"),
    ([torch.zeros(2, 3), torch.zeros(3, 4)], "mismatched batch sizes"),
    ([torch.zeros(2, 3), torch.zeros(2, 5)], "must have 4 features"),
    ([torch.zeros(2, 3), torch.zeros(2, 4, 1)], "must have shape"),
    ([torch.zeros(2, 3), torch.full((2, 4), float("nan"))], "NaN"),
])
def test_check_modalities_errors(hs, match):
    with pytest.raises(ValueError, match=match):
        check_modalities(hs, (3, 4), "Where")


def test_check_modalities_type_error():
    with pytest.raises(TypeError, match="must be a torch.Tensor"):
        check_modalities([torch.zeros(2, 3), np.zeros((2, 4))], (3, 4), "Where")


def test_trained_on_moves_there_and_back_even_on_error():
    from mmcourse.utils import trained_on

    net = torch.nn.Linear(2, 1)
    moves = []
    original = net.to
    net.to = lambda device: (moves.append(torch.device(device)), original(device))[1]
    with pytest.raises(RuntimeError, match="boom"):
        with trained_on(net, torch.device("cpu")):
            assert moves == [torch.device("cpu")]
            raise RuntimeError("boom")
    assert moves == [torch.device("cpu"), torch.device("cpu")]  # the second move is the way home


def test_fit_trains_inside_trained_on(monkeypatch):
    import contextlib

    from mmcourse import training

    entered = []

    @contextlib.contextmanager
    def spy(module, device):
        entered.append(device)
        yield module

    monkeypatch.setattr(training, "trained_on", spy)
    x = torch.randn(8, 2)
    training.fit(torch.nn.Linear(2, 2), ([x], (x[:, 0] > 0).long()), epochs=1, progress=False)
    assert entered == [torch.device("cpu")]


@pytest.mark.parametrize("value", [0, -1, 2.0, True, "3", None])
def test_check_positive_names_the_bad_value(value):
    with pytest.raises(ValueError, match=rf"^where: b must be a positive integer, got {value!r}$"):
        check_positive("where", a=1, b=value, c=0)  # the first bad one is named


def test_check_positive_accepts_python_and_numpy_integers():
    check_positive("where", a=1, b=np.int32(5), c=10**9)


def test_docstring_examples():
    import doctest

    import mmcourse.utils

    assert doctest.testmod(mmcourse.utils).failed == 0
