"""Model induction (Part 6.4): the confident picks and their merge by hand, co-training's and self-training's rounds
with a scripted classifier, co-training beating supervised learning on the digits pair, co-regularised least
squares against a direct minimisation and its limits, the torch wrapper, the derived views, and clear errors."""
import doctest

import numpy as np
import pytest
import torch
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression
from torch import nn

import mmcourse.transference.induction.coregularisation as coreg_module
import mmcourse.transference.induction.cotraining as cotraining_module
import mmcourse.transference.induction.torch_classifier as torch_module
import mmcourse.transference.induction.views as views_module
from mmcourse.transference import (CoRegularisedLeastSquares, TorchClassifier, co_regularisation_objective,
                                   co_regularised_least_squares, co_training, co_training_step, dependent_view,
                                   error_correlation, few_labels, merge_picks, most_confident, pseudo_label_accuracy,
                                   self_training)


class Scripted:
    """A classifier whose probabilities are a fixed table indexed by the row id held in column 0 of X."""

    def __init__(self, table, classes=(0, 1)):
        self.table, self.classes_, self.fits = np.asarray(table, float), np.asarray(classes), []

    def fit(self, X, y):
        self.fits.append((X.shape, np.asarray(y).copy()))
        return self

    def predict_proba(self, X):
        return self.table[X[:, 0].astype(int)]


def _two_views(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    return y[:, None] * 1.5 + rng.normal(size=(n, 3)), y[:, None] * 1.5 + rng.normal(size=(n, 4)), y


@pytest.mark.parametrize("module", [cotraining_module, coreg_module, torch_module, views_module])
def test_doctests(module):
    assert doctest.testmod(module, raise_on_error=False).failed == 0


def test_most_confident_by_hand():
    proba = np.array([[0.9, 0.1], [0.45, 0.55], [0.2, 0.8], [0.7, 0.3], [0.05, 0.95]])
    rows, labels = most_confident(proba, 3, classes=np.array([4, 7]))
    assert rows.tolist() == [4, 0, 2] and labels.tolist() == [7, 4, 7]
    rows, labels = most_confident(proba, 3, balanced=True)  # class 1 has the three most confident rows
    assert rows.tolist() == [4, 0, 2] and labels.tolist() == [1, 0, 1]
    rows, _ = most_confident(proba, 4, balanced=True)
    assert rows.tolist() == [4, 0, 2, 3]  # round-robin: best of each class, then the second of each
    rows, _ = most_confident(proba, 4)
    assert rows.tolist() == [4, 0, 2, 3]
    assert most_confident(np.array([[0.6, 0.4], [0.1, 0.9], [0.2, 0.8]]), 2, balanced=True)[0].tolist() == [1, 0]
    assert len(most_confident(proba, 10)[0]) == 5
    with pytest.raises(ValueError, match="k must be a positive integer"):
        most_confident(proba, 0)
    with pytest.raises(ValueError, match="proba must have shape"):
        most_confident(proba[0], 1)


def test_merge_picks_drops_conflicts_and_duplicates():
    rows, labels = merge_picks([3, 5, 1], [1, 0, 2], [5, 7, 3, 1], [0, 2, 0, 2])
    assert rows.tolist() == [1, 5, 7] and labels.tolist() == [2, 0, 2]
    rows, labels = merge_picks([], [], [2], [1])
    assert rows.tolist() == [2] and labels.dtype == np.int64


def test_co_training_rounds_with_scripted_classifiers():
    ids = np.arange(8)[:, None].astype(float)
    labels = np.array([0, 1, -1, -1, -1, -1, -1, -1])
    given = labels.copy()
    # view 1 is sure of rows 2 (class 0) and 3 (class 1); view 2 of rows 3 (class 0: a conflict) and 4 (class 1)
    t1 = np.array([[.5, .5], [.5, .5], [.99, .01], [.02, .98], [.6, .4], [.5, .5], [.55, .45], [.5, .5]])
    t2 = np.array([[.5, .5], [.5, .5], [.6, .4], [.97, .03], [.01, .99], [.5, .5], [.5, .5], [.52, .48]])
    m1, m2 = Scripted(t1), Scripted(t2)
    out1, out2, history = co_training(ids, ids.copy(), labels, rounds=2, per_round=2, model1=m1, model2=m2,
                                      balanced=False)
    assert out1 is m1 and out2 is m2
    assert np.array_equal(labels, given)  # the caller's labels are untouched
    assert history[0][0].tolist() == [2, 4] and history[0][1].tolist() == [0, 1]  # row 3 disputed: left out
    assert len(history) == 2 and set(history[1][0].tolist()).isdisjoint({0, 1, 2, 4})
    # both models are fitted on the same labels each round, and at the end on every label given
    assert len(m1.fits) == len(m2.fits) == 3
    final = np.concatenate([[0, 1], *(lab for _, lab in history)])
    assert sorted(m1.fits[-1][1].tolist()) == sorted(final.tolist()) == sorted(m2.fits[-1][1].tolist())
    assert m1.fits[1][0] == (4, 1)


def test_co_training_step_is_one_round():
    ids = np.arange(5)[:, None].astype(float)
    labels = np.array([0, 1, -1, -1, -1])
    t1 = np.array([[.5, .5], [.5, .5], [.9, .1], [.4, .6], [.3, .7]])
    t2 = np.array([[.5, .5], [.5, .5], [.2, .8], [.45, .55], [.1, .9]])
    rows, given = co_training_step(Scripted(t1), Scripted(t2), ids, ids, labels, per_round=1, balanced=False)
    assert rows.tolist() == [2, 4] and given.tolist() == [0, 1]  # view 1 takes row 2, view 2 row 4
    rows, given = co_training_step(Scripted(t1), Scripted(t2), ids, ids, labels, per_round=2, balanced=False)
    assert rows.tolist() == [4] and given.tolist() == [1]  # row 2 is disputed (0 against 1)
    assert labels.tolist() == [0, 1, -1, -1, -1]
    with pytest.raises(ValueError, match="same length"):
        co_training_step(Scripted(t1), Scripted(t2), ids, ids[:3], labels, per_round=1)


def test_co_training_stops_when_the_pool_runs_out_and_flattens_views():
    ids = torch.arange(6, dtype=torch.float32)[:, None, None].expand(6, 2, 2).contiguous()  # (n, 2, 2)
    table = np.tile([[0.8, 0.2], [0.3, 0.7]], (3, 1))
    m1, m2 = Scripted(table), Scripted(table)
    _, _, history = co_training(ids, ids, torch.tensor([0, 1, -1, -1, -1, -1]), rounds=5, per_round=2,
                                model1=m1, model2=m2)
    assert len(history) == 2 and sum(len(r) for r, _ in history) == 4
    assert m1.fits[0][0] == (2, 4)  # (n, 2, 2) flattened to 4 features per row


def test_co_training_beats_supervised_on_the_digits_pair():
    from mmcourse.generation.creation.training import digits_pair_tensors
    image, audio, y = digits_pair_tensors("train")
    test_image, _, test_y = digits_pair_tensors("test")
    labels = few_labels(y, 10, seed=0)
    known = labels != -1
    flat = image.reshape(len(image), -1).numpy()
    supervised = LogisticRegression(max_iter=200).fit(flat[known], labels[known])
    m1, _, history = co_training(image, audio, labels, rounds=5, per_round=40,
                                 model1=LogisticRegression(max_iter=200), model2=LogisticRegression(max_iter=200))
    test = test_image.reshape(len(test_image), -1).numpy()
    assert m1.score(test, test_y.numpy()) >= supervised.score(test, test_y.numpy()) + 0.1
    assert np.nanmean(pseudo_label_accuracy(history, y)) > 0.85


def test_self_training_rounds():
    v1, _, y = _two_views()
    labels = np.where(np.arange(len(y)) % 20 == 0, y, -1)
    model, history = self_training(v1, labels, rounds=3, per_round=10, model=LogisticRegression())
    assert [len(r) for r, _ in history] == [10, 10, 10]
    added = np.concatenate([r for r, _ in history])
    assert len(set(added.tolist())) == 30 and (labels[added] == -1).all()
    assert all(np.bincount(lab, minlength=2).tolist() == [5, 5] for _, lab in history)  # balanced picks
    assert pseudo_label_accuracy(history, y).mean() > 0.8 and hasattr(model, "coef_")


@pytest.mark.parametrize("kwargs, message", [
    ({"view2": np.zeros((5, 2))}, "same number of rows"),
    ({"labels": np.array([0.0, 1.0] + [-1.0] * 118)}, "integer array"),
    ({"labels": np.array([0, 1, -2] + [-1] * 117)}, "got -2"),
    ({"labels": np.full(120, -1)}, "no labelled row"),
    ({"labels": np.array([0, 0] + [-1] * 118)}, "at least two classes"),
    ({"labels": np.array([0, 1])}, r"shape \(120,\)"),
    ({"per_round": 119}, "larger than the unlabelled pool"),
    ({"rounds": 0}, "rounds must be a positive integer"),
    ({"per_round": 1.5}, "per_round must be a positive integer"),
    ({"view1": np.zeros(120)}, "one row per example"),
    ({"view1": np.full((120, 2), np.nan)}, "NaN"),
])
def test_co_training_errors(kwargs, message):
    v1, v2, y = _two_views()
    args = {"view1": v1, "view2": v2, "labels": np.array([0, 1] + [-1] * 118), "rounds": 2, "per_round": 5,
            "model1": LogisticRegression(), "model2": LogisticRegression(), **kwargs}
    with pytest.raises(ValueError, match=message):
        co_training(**args)


def test_classifier_type_errors():
    v1, v2, _ = _two_views()
    labels = np.array([0, 1] + [-1] * 118)
    with pytest.raises(TypeError, match="model2 must have fit"):
        co_training(v1, v2, labels, rounds=1, per_round=1, model1=LogisticRegression(), model2=object())
    with pytest.raises(ValueError, match="per_round=200 is larger"):
        self_training(v1, labels, rounds=1, per_round=200, model=LogisticRegression())


def _small_problem(seed=0):
    rng = np.random.default_rng(seed)
    v1, v2 = rng.normal(size=(14, 3)), rng.normal(size=(14, 2))
    labels = np.array([0, 1, 2, 0, 1, 2] + [-1] * 8)
    return v1, v2, labels


def test_co_regularised_closed_form_is_the_minimum():
    v1, v2, labels = _small_problem()
    model = co_regularised_least_squares(v1, v2, labels, ridge=0.3, mu=0.7)
    assert isinstance(model, CoRegularisedLeastSquares) and model.weights1.shape == (4, 3)
    shapes = [model.weights1.shape, model.weights2.shape]
    sizes = [int(np.prod(s)) for s in shapes]

    def objective(flat):
        w1, w2 = flat[:sizes[0]].reshape(shapes[0]), flat[sizes[0]:].reshape(shapes[1])
        return co_regularisation_objective(w1, w2, v1, v2, labels, ridge=0.3, mu=0.7)

    direct = minimize(objective, np.zeros(sum(sizes)), method="BFGS", options={"gtol": 1e-10})
    closed = np.concatenate([model.weights1.ravel(), model.weights2.ravel()])
    assert np.allclose(direct.x, closed, atol=1e-4)
    assert objective(closed) <= direct.fun + 1e-9
    assert objective(closed) < objective(closed + 0.01)


def _ridge(x, y_onehot, ridge):
    x = np.hstack([x, np.ones((len(x), 1))])
    penalty = ridge * np.eye(x.shape[1])
    penalty[-1, -1] = 0
    return np.linalg.solve(x.T @ x + penalty, x.T @ y_onehot)


def test_co_regularisation_limits():
    v1, v2, labels = _small_problem(1)
    known = labels != -1
    onehot = np.eye(3)[labels[known]]
    independent = co_regularised_least_squares(v1, v2, labels, ridge=0.5, mu=0.0)
    assert np.allclose(independent.weights1, _ridge(v1[known], onehot, 0.5))
    assert np.allclose(independent.weights2, _ridge(v2[known], onehot, 0.5))
    unlabelled = ~known

    def gap(model):
        return np.abs(model.scores(view1=v1[unlabelled]) - model.scores(view2=v2[unlabelled])).max()
    strong = co_regularised_least_squares(v1, v2, labels, ridge=0.5, mu=1e6)
    assert gap(strong) < 1e-3 < gap(independent)
    both = strong.scores(v1, v2)
    assert np.allclose(both, (strong.scores(view1=v1) + strong.scores(view2=v2)) / 2)
    assert strong.predict(v1, v2).shape == (14,) and set(strong.predict(v1).tolist()) <= {0, 1, 2}
    # a ridge of zero with fewer labelled rows than features still has a (minimum-norm) solution
    assert np.isfinite(co_regularised_least_squares(np.random.default_rng(0).normal(size=(14, 9)), v2, labels,
                                                    ridge=0, mu=0).weights1).all()


def test_co_regularisation_errors():
    v1, v2, labels = _small_problem()
    with pytest.raises(ValueError, match="mu must be a finite number >= 0"):
        co_regularised_least_squares(v1, v2, labels, mu=-1.0)
    with pytest.raises(ValueError, match="ridge must be"):
        co_regularised_least_squares(v1, v2, labels, ridge=float("nan"))
    with pytest.raises(ValueError, match="same number of rows"):
        co_regularised_least_squares(v1, v2[:5], labels)
    model = co_regularised_least_squares(v1, v2, labels)
    with pytest.raises(ValueError, match="weights2 must have shape"):
        co_regularisation_objective(model.weights1, model.weights1, v1, v2, labels)
    with pytest.raises(ValueError, match="give view1, view2 or both"):
        model.scores()
    with pytest.raises(ValueError, match="same number of rows"):
        model.scores(v1, v2[:3])


def _mlp(classes=2, d=3):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Linear(8, classes))


def test_torch_classifier_is_a_sklearn_style_classifier():
    v1, _, y = _two_views()
    clf = TorchClassifier(_mlp(), epochs=60, lr=0.05)
    state = torch.get_rng_state()
    proba = clf.fit(v1, y * 4 + 3).predict_proba(v1)  # classes 3 and 7
    assert torch.equal(state, torch.get_rng_state())  # fit leaves the caller's generator alone
    assert proba.shape == (120, 2) and np.allclose(proba.sum(1), 1) and clf.classes_.tolist() == [3, 7]
    assert (clf.predict(v1) == y * 4 + 3).mean() > 0.8
    assert clf.features(torch.from_numpy(v1)).shape == (120, 8)
    again = TorchClassifier(_mlp(), epochs=60, lr=0.05).fit(v1, y * 4 + 3).predict_proba(v1)
    assert np.allclose(proba, again)  # same seed, same model
    assert np.allclose(clf.fit(v1, y * 4 + 3).predict_proba(v1), proba)  # fit restarts from the initial weights
    assert clf(torch.zeros(2, 3)).shape == (2, 2)


def test_torch_classifier_in_co_training():
    v1, v2, y = _two_views()
    labels = np.where(np.arange(120) % 15 == 0, y, -1)
    m1, m2, history = co_training(v1, v2, labels, rounds=2, per_round=10, model1=TorchClassifier(_mlp(), epochs=30),
                                  model2=TorchClassifier(_mlp(d=4), epochs=30))
    assert len(history) == 2 and pseudo_label_accuracy(history, y).mean() > 0.8
    assert m2.predict_proba(v2).shape == (120, 2)


def test_torch_classifier_errors():
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        TorchClassifier(lambda x: x)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        TorchClassifier(_mlp(), epochs=0)
    clf = TorchClassifier(_mlp(classes=3))
    with pytest.raises(ValueError, match="gives 3 logits, but y has 2 classes"):
        clf.fit(np.zeros((4, 3)), np.array([0, 1, 0, 1]))
    with pytest.raises(ValueError, match="y must be integer labels"):
        clf.fit(np.zeros((4, 3)), np.array([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match="X must have shape"):
        clf.predict_proba(np.zeros(3))
    with pytest.raises(TypeError, match="features"):
        TorchClassifier(nn.Linear(3, 2)).features(np.zeros((2, 3)))


def test_few_labels():
    y = np.repeat(np.arange(4), 25)
    kept = few_labels(torch.from_numpy(y), 10, seed=3)
    assert (kept != -1).sum() == 10 and (kept[kept != -1] == y[kept != -1]).all()
    assert sorted(np.bincount(kept[kept != -1], minlength=4).tolist()) == [2, 2, 3, 3]
    assert np.array_equal(kept, few_labels(y, 10, seed=3)) and not np.array_equal(kept, few_labels(y, 10, seed=4))
    with pytest.raises(ValueError, match="n must be at most"):
        few_labels(y, 101)
    with pytest.raises(ValueError, match="class 1 has 1 rows"):
        few_labels(np.array([0, 0, 0, 1]), 4)
    with pytest.raises(ValueError, match="1-D integer array"):
        few_labels(y.astype(float), 4)


def test_dependent_view_and_error_correlation():
    x = np.random.default_rng(0).normal(size=(50, 2, 3))
    rotated = dependent_view(x, noise=0.0, seed=1)
    assert np.allclose(np.linalg.norm(rotated, axis=1), np.linalg.norm(x.reshape(50, 6), axis=1))
    assert np.allclose(dependent_view(x[:5], noise=0.0, seed=1), rotated[:5])  # one rotation for every split
    noisy = dependent_view(x, noise=0.5, seed=1, noise_seed=2)
    assert 0.3 < np.std(noisy - rotated) < 0.7
    with pytest.raises(ValueError, match="noise must be a number >= 0"):
        dependent_view(x, noise=-1)
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 4000)
    wrong1, wrong2 = rng.random(4000) < 0.3, rng.random(4000) < 0.3
    p1, p2 = np.where(wrong1, (truth + 1) % 3, truth), np.where(wrong2, (truth + 1) % 3, truth)
    assert abs(error_correlation(p1, p2, truth)) < 0.05
    assert error_correlation(p1, p1, truth) == pytest.approx(1.0)
    assert error_correlation(truth, p1, truth) == 0.0
    with pytest.raises(ValueError, match="same length"):
        error_correlation(p1, p2[:10], truth)


def test_pseudo_label_accuracy():
    truth = np.array([0, 1, 1, 0])
    history = [(np.array([1, 2]), np.array([1, 0])), (np.array([], dtype=int), np.array([], dtype=int))]
    accuracy = pseudo_label_accuracy(history, truth)
    assert accuracy[0] == 0.5 and np.isnan(accuracy[1])
    with pytest.raises(ValueError, match="round 1 has"):
        pseudo_label_accuracy([(np.array([1, 2]), np.array([1]))], truth)
