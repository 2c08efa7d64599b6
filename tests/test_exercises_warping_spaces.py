"""The checkers of Part 3.2's warping-across-spaces exercises pass correct solutions, catch the usual mistakes with
a useful hint, and leave torch's RNG alone."""
import numpy as np
import torch

from mmcourse.alignment import dtw
from mmcourse.exercises import CTW_STEP_REG, check_ctw_step, check_orthogonalize, check_procrustes
from mmcourse.representation import cca


def procrustes_svd(x, y):
    u, _, vt = np.linalg.svd(y.T @ x)
    return u @ vt


def orthogonality_update(w, beta):
    return (1 + beta) * w - beta * (w @ w.T) @ w


def ctw_step(x, y, path, k):
    i, j = np.asarray(path).T
    fit = cca(x[i], y[j], k, reg=CTW_STEP_REG)
    u, v = (x - fit.x_mean) @ fit.x_weights, (y - fit.y_mean) @ fit.y_weights   # x and y have different lengths
    return dtw(u, v)[1]


def test_correct_solutions_pass():
    assert check_procrustes(procrustes_svd).passed
    assert check_orthogonalize(orthogonality_update).passed
    assert check_ctw_step(ctw_step).passed


def test_procrustes_mistakes_get_hints():
    transposed = check_procrustes(lambda x, y: procrustes_svd(x, y).T)
    assert not transposed.passed and "transpose" in transposed.message
    least_squares = check_procrustes(lambda x, y: np.linalg.lstsq(x, y, rcond=None)[0].T)
    assert not least_squares.passed and "not orthogonal" in least_squares.message
    wrong_svd = check_procrustes(lambda x, y: np.linalg.svd(x.T @ x)[0] @ np.linalg.svd(y.T @ y)[2])
    assert not wrong_svd.passed and "Yᵀ X" in wrong_svd.message
    assert "return a" in check_procrustes(lambda x, y: None).message


def test_orthogonalize_mistakes_get_hints():
    order = check_orthogonalize(lambda w, b: (1 + b) * w - b * (w.T @ w) @ w)
    assert not order.passed and "W Wᵀ W" in order.message
    signs = check_orthogonalize(lambda w, b: (1 - b) * w + b * (w @ w.T) @ w)
    assert not signs.passed and "signs" in signs.message
    elementwise = check_orthogonalize(lambda w, b: (1 + b) * w - b * (w * w) * w)
    assert not elementwise.passed and "elementwise" in elementwise.message


def test_ctw_step_mistakes_get_hints():
    unchanged = check_ctw_step(lambda x, y, path, k: path)
    assert not unchanged.passed and "the path you were given" in unchanged.message

    def uncentred(x, y, path, k):
        i, j = np.asarray(path).T
        fit = cca(x[i], y[j], k, reg=CTW_STEP_REG)
        return dtw(x @ fit.x_weights, y @ fit.y_weights)[1]

    result = check_ctw_step(uncentred)
    assert not result.passed and "subtract CCA's means" in result.message
    raw = check_ctw_step(lambda x, y, path, k: dtw(x, y)[1])
    assert not raw.passed and "raised ValueError" in raw.message     # different feature sizes: DTW refuses
    assert "not attempted" in check_ctw_step(lambda *a: (_ for _ in ()).throw(NotImplementedError)).message


def test_checkers_leave_torch_rng_alone():
    state = torch.get_rng_state()
    check_procrustes(procrustes_svd)
    check_ctw_step(ctw_step)
    assert torch.equal(state, torch.get_rng_state())
