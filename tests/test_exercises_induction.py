"""The checkers of Part 6.4's model-induction exercises pass correct solutions, catch the usual mistakes with a
useful hint, say when an exercise is not attempted, and leave torch's random generator alone."""
import numpy as np
import pytest
import torch

from mmcourse.exercises import check_co_regularised_weights, check_co_training_round, check_most_confident


def top_k_confident(proba, k):
    rows = np.argsort(-proba.max(1))[:k]
    return rows, proba[rows].argmax(1)


def co_training_round(proba1, proba2, k):
    given, disputed = {}, set()
    for proba in (proba1, proba2):
        for row, label in zip(*top_k_confident(proba, k)):
            if given.setdefault(int(row), int(label)) != label:
                disputed.add(int(row))
    rows = sorted(set(given) - disputed)
    return np.array(rows), np.array([given[r] for r in rows])


def co_regularised_weights(X1, X2, Y, U1, U2, ridge, mu):
    d1, d2 = X1.shape[1], X2.shape[1]
    A = np.block([[X1.T @ X1 + ridge * np.eye(d1) + mu * U1.T @ U1, -mu * U1.T @ U2],
                  [-mu * U2.T @ U1, X2.T @ X2 + ridge * np.eye(d2) + mu * U2.T @ U2]])
    W = np.linalg.solve(A, np.vstack([X1.T @ Y, X2.T @ Y]))
    return W[:d1], W[d1:]


def test_correct_solutions_pass():
    state = torch.get_rng_state()
    assert check_most_confident(top_k_confident).passed
    assert check_co_training_round(co_training_round).passed
    assert check_co_regularised_weights(co_regularised_weights).passed
    assert repr(check_most_confident(top_k_confident)).startswith("PASS")
    assert torch.equal(state, torch.get_rng_state())
    # lists and tensors are fine too
    assert check_most_confident(lambda p, k: [list(top_k_confident(p, k)[0]), list(top_k_confident(p, k)[1])]).passed
    assert check_co_regularised_weights(lambda *a: tuple(torch.from_numpy(w) for w in co_regularised_weights(*a)))


def _stub(*args):
    raise NotImplementedError


@pytest.mark.parametrize("checker", [check_most_confident, check_co_training_round, check_co_regularised_weights])
def test_stub_is_not_attempted(checker):
    result = checker(_stub)
    assert not result.passed and "not attempted" in result.message


@pytest.mark.parametrize("solution, hint", [
    (lambda p, k: (np.argsort(p.max(1))[:k], p[np.argsort(p.max(1))[:k]].argmax(1)), "least"),
    (lambda p, k: (top_k_confident(p, k)[0], p[top_k_confident(p, k)[0]].argmin(1)), "argmax"),
    (lambda p, k: (np.argsort(-p[:, 0])[:k], p[np.argsort(-p[:, 0])[:k]].argmax(1)), "probability of class 0"),
    (lambda p, k: top_k_confident(p, k + 1), "exactly k"),
    (lambda p, k: (np.zeros(k, dtype=int), np.zeros(k, dtype=int)), "appears twice"),
    (lambda p, k: top_k_confident(p, k)[0], "pair"),
])
def test_most_confident_mistakes(solution, hint):
    result = check_most_confident(solution)
    assert not result.passed and hint in result.message, result.message


def _keep_disputed(p1, p2, k):
    given = {}
    for proba in (p1, p2):
        for row, label in zip(*top_k_confident(proba, k)):
            given.setdefault(int(row), int(label))
    rows = sorted(given)
    return np.array(rows), np.array([given[r] for r in rows])


def _intersection(p1, p2, k):
    r1, l1 = top_k_confident(p1, k)
    r2, l2 = top_k_confident(p2, k)
    both = dict(zip(r2.tolist(), l2.tolist()))
    rows = [r for r, lab in zip(r1.tolist(), l1.tolist()) if both.get(r) == lab]
    return np.array(rows, dtype=int), np.array([both[r] for r in rows], dtype=int)


@pytest.mark.parametrize("solution, hint", [
    (_keep_disputed, "stay unlabelled"),
    (lambda p1, p2, k: top_k_confident(p1, k), "union"),
    (_intersection, "not only the rows both picked"),
    (lambda p1, p2, k: (np.array([0, 1]), np.array([0])), "2 rows but 1 labels"),
])
def test_co_training_round_mistakes(solution, hint):
    result = check_co_training_round(solution)
    assert not result.passed and hint in result.message, result.message


def _independent(X1, X2, Y, U1, U2, ridge, mu):
    return co_regularised_weights(X1, X2, Y, U1, U2, ridge, 0.0)


def _plus(X1, X2, Y, U1, U2, ridge, mu):
    d1, d2 = X1.shape[1], X2.shape[1]
    A = np.block([[X1.T @ X1 + ridge * np.eye(d1) + mu * U1.T @ U1, mu * U1.T @ U2],
                  [mu * U2.T @ U1, X2.T @ X2 + ridge * np.eye(d2) + mu * U2.T @ U2]])
    W = np.linalg.solve(A, np.vstack([X1.T @ Y, X2.T @ Y]))
    return W[:d1], W[d1:]


def _no_diagonal(X1, X2, Y, U1, U2, ridge, mu):
    d1, d2 = X1.shape[1], X2.shape[1]
    A = np.block([[X1.T @ X1 + ridge * np.eye(d1), -mu * U1.T @ U2],
                  [-mu * U2.T @ U1, X2.T @ X2 + ridge * np.eye(d2)]])
    W = np.linalg.solve(A, np.vstack([X1.T @ Y, X2.T @ Y]))
    return W[:d1], W[d1:]


@pytest.mark.parametrize("solution, hint", [
    (_independent, "disagreement term is missing"),
    (_plus, "-mu U1^T U2 and -mu U2^T U1"),
    (_no_diagonal, "each diagonal block"),
    (lambda *a: tuple(2 * w for w in co_regularised_weights(*a)), "differ"),
    (lambda *a: co_regularised_weights(*a)[0], "pair"),
    (lambda *a: tuple(w.T for w in co_regularised_weights(*a)), "shapes"),
])
def test_co_regularised_weights_mistakes(solution, hint):
    result = check_co_regularised_weights(solution)
    assert not result.passed and hint in result.message, result.message


def test_a_crash_is_reported():
    result = check_most_confident(lambda p, k: 1 / 0)
    assert not result.passed and "ZeroDivisionError" in result.message
