"""The transference explorer of Part 6: runs are trained once and kept, the static figure holds every (method, n),
the live UI redraws what it trains, and bad input is refused with a message."""
import numpy as np
import pytest

from mmcourse.widgets.transference_explorer import TransferenceExplorer, TransferRun, principal_plane

LABELS = np.arange(30) % 3
CALLS = []


def linear_method(offset):
    """A stand-in method: accuracy grows with n; the features separate the classes more as n grows."""
    def train(n):
        CALLS.append((offset, n))
        rng = np.random.default_rng(n)
        features = np.column_stack([LABELS * n / 10, rng.normal(size=30), np.zeros(30)])
        return TransferRun(min(1.0, offset + n / 100), features, LABELS)
    return train


@pytest.fixture
def explorer():
    CALLS.clear()
    return TransferenceExplorer({"low": linear_method(0.2), "high": linear_method(0.5)}, counts=[40, 10])


def test_principal_plane_is_pca_with_fixed_signs():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4)) * np.array([5.0, 2.0, 0.5, 0.1])
    plane = principal_plane(x)
    centred = x - x.mean(0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    assert np.allclose(np.abs(plane), np.abs(centred @ vt[:2].T))
    assert np.allclose(plane.var(0) * 50, s[:2] ** 2)
    flipped = principal_plane(x * [1.0, -1.0, 1.0, -1.0])  # a reflected input: its components' signs are fixed
    assert np.allclose(np.abs(flipped), np.abs(plane))
    one = principal_plane(x[:, :1])
    assert one.shape == (50, 2) and np.all(one[:, 1] == 0)


def test_principal_plane_signs_do_not_depend_on_the_svd():
    x = np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 0.0], [2.0, 1.0], [2.0, -1.0]])
    assert np.allclose(principal_plane(x), [[-2, 0], [0, 0], [2, 0], [0, 1], [0, -1]])
    assert np.allclose(principal_plane(x[:, ::-1]), principal_plane(x))


@pytest.mark.parametrize("bad, message", [(np.zeros(5), "2-D array with at least 2 rows"),
                                          (np.zeros((1, 3)), "2-D array with at least 2 rows"),
                                          (np.full((3, 2), np.nan), "NaN or infinite")])
def test_principal_plane_rejects_bad_features(bad, message):
    with pytest.raises(ValueError, match=message):
        principal_plane(bad)


def test_runs_are_trained_once_and_curves_follow_counts(explorer):
    assert explorer.counts == [10, 40]
    first = explorer.run("low", 10)
    assert explorer.run("low", 10) is first and CALLS == [(0.2, 10)]
    assert explorer.curves() == {"low": [0.3, 0.6], "high": [0.6, 0.9]}
    assert len(CALLS) == 4


def test_static_figure_holds_every_method_and_count(explorer):
    fig = explorer.static_figure()
    buttons, sliders = fig.layout.updatemenus[0].buttons, fig.layout.sliders
    assert [b.label for b in buttons] == ["low", "high"]
    assert [len(s.steps) for s in sliders] == [2, 2] and [s.visible for s in sliders] == [True, False]
    step = sliders[1].steps[1]  # "high" at n = 40
    assert step.label == "40" and "high, 40 labelled examples: test accuracy 0.900" in step.args[1]["title.text"]
    marker, first_class = 2, 3
    assert list(step.args[2]) == [marker, 3, 4, 5]
    assert step.args[0]["y"][0] == [0.9]
    plane = np.round(principal_plane(explorer.run("high", 40).features), 3)
    assert np.allclose(step.args[0]["x"][1], plane[LABELS == 0, 0])
    assert len(fig.data) == first_class + 3
    assert [d.y for d in fig.data[:2]] == [(0.3, 0.6), (0.6, 0.9)]


def test_static_figure_refuses_runs_with_different_classes():
    def odd(n):
        return TransferRun(0.5, np.random.default_rng(n).normal(size=(4, 2)), np.array([0, 1, 0, n % 3]))
    with pytest.raises(ValueError, match="every run must label the same classes"):
        TransferenceExplorer({"odd": odd}, counts=[1, 2, 4]).static_figure()


def test_live_ui_redraws_the_chosen_run(explorer):
    ui = explorer.live()
    method, n = ui.children[0].children
    figure = ui.children[1]
    method.value, n.value = "high", 40
    assert figure.data[2].y == (0.9,) and "high, 40 labelled" in figure.layout.title.text


@pytest.mark.parametrize("kwargs, message", [
    (dict(methods={}, counts=[1]), "at least one"),
    (dict(methods={"a": 3}, counts=[1]), "non-callables for \\['a'\\]"),
    (dict(methods={"a": print}, counts=[0]), "positive integers, got \\[0\\]"),
    (dict(methods={"a": print}, counts=[]), "positive integers"),
    (dict(methods={"a": print}, counts=[2, 2]), "must not repeat")])
def test_bad_construction_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TransferenceExplorer(**kwargs)


def test_bad_runs_are_refused(explorer):
    with pytest.raises(ValueError, match="method must be one of \\['low', 'high'\\], got 'mid'"):
        explorer.run("mid", 10)
    with pytest.raises(ValueError, match="n must be a positive integer, got 0"):
        explorer.run("low", 0)
    broken = TransferenceExplorer({"broken": lambda n: 0.5}, counts=[1])
    with pytest.raises(TypeError, match="must return a TransferRun, got float"):
        broken.run("broken", 1)


def test_digits_methods_are_the_packages_methods_on_audio():
    from sklearn.linear_model import LogisticRegression

    from mmcourse.generation import digits_pair_tensors
    from mmcourse.transference import co_training, stratified_subset
    from mmcourse.widgets.transference_explorer import EXPLORER_COUNTS, digits_transference_methods

    assert list(EXPLORER_COUNTS) == sorted(EXPLORER_COUNTS) and EXPLORER_COUNTS[0] >= 10
    methods = digits_transference_methods(seed=1, rounds=2, per_round=10, epochs=1)
    assert list(methods) == ["audio alone", "self-training", "co-training", "audio alone (MLP)", "co-learning (MLP)"]
    runs = {name: train(20) for name, train in methods.items()}
    _, test_audio, test_label = digits_pair_tensors("test")
    for name, run in runs.items():
        assert np.array_equal(run.labels, test_label.numpy()), name
        assert run.features.shape == (359, 10 if "MLP" not in name else 16), name
        assert 0.0 <= run.accuracy <= 1.0
    image, audio, label = digits_pair_tensors("train")
    labels = np.full(len(label), -1)
    rows = stratified_subset(label, 20, seed=1).numpy()
    labels[rows] = label.numpy()[rows]  # the rows that colearn_digits(20, seed=1) labels too
    _, model, _ = co_training(image.flatten(1).double().numpy(), audio.flatten(1).double().numpy(),
                              labels, rounds=2, per_round=10,
                              model1=LogisticRegression(max_iter=300), model2=LogisticRegression(max_iter=300))
    expected = model.score(test_audio.flatten(1).double().numpy(), test_label.numpy())
    assert runs["co-training"].accuracy == pytest.approx(expected)
    predicted = runs["audio alone (MLP)"].features  # unit-length embeddings of the audio tower
    assert np.allclose(np.linalg.norm(predicted, axis=1), 1.0, atol=1e-5)
