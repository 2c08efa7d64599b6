"""The checkers of the MFM section's exercises pass correct solutions written independently of the package, catch
the usual mistakes with a hint that names them, and leave torch's random generator alone."""
import numpy as np
import pytest
import torch

from mmcourse.exercises import CheckResult, check_mfm_gaussian_kl, check_imq_mmd, check_readout_r2


# --- correct solutions, written from the equations --------------------------------------------------------------------
def estimate(x, y, biased=False, scale=None, cross=2.0, power=2):
    c = 2.0 * x.shape[1] if scale is None else scale
    k = lambda a, b: c / (c + ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1) ** (power / 2))   # noqa: E731
    n, m = len(x), len(y)
    if biased:
        return k(x, x).mean() + k(y, y).mean() - cross * k(x, y).mean()
    off = lambda K, size: (K.sum() - K.diagonal().sum()) / (size * (size - 1))   # noqa: E731
    return off(k(x, x), n) + off(k(y, y), m) - cross * k(x, y).mean()


def kl(mean, logvar):
    var = np.exp(logvar.numpy())
    return float((0.5 * (mean.numpy() ** 2 + var - logvar.numpy() - 1)).sum(1).mean())


def readout(f_train, f_test, t_train, t_test):
    a = np.hstack([f_train.numpy(), np.ones((len(f_train), 1))])
    w, *_ = np.linalg.lstsq(a, t_train.numpy(), rcond=None)
    fitted = np.hstack([f_test.numpy(), np.ones((len(f_test), 1))]) @ w
    t = t_test.numpy()
    return float((1 - ((fitted - t) ** 2).mean(0) / t.var(0)).mean())


def test_correct_solutions_pass():
    for check, solution in [(check_imq_mmd, estimate), (check_mfm_gaussian_kl, kl), (check_readout_r2, readout)]:
        result = check(solution)
        assert isinstance(result, CheckResult) and result.passed, result
        assert repr(result).startswith("PASS")


# --- typical mistakes ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("solution, hint", [
    (lambda x, y: estimate(x, y, biased=True), "biased estimate"),
    (lambda x, y: estimate(x, y, cross=1.0), "cross term counts twice"),
    (lambda x, y: estimate(x, y, power=1), "squared distance"),
    (lambda x, y: estimate(x, y, scale=1.0), "C = 2·d"),
    (lambda x, y: estimate(x, y)[None], "must have shape ()"),
])
def test_mmd_mistakes(solution, hint):
    result = check_imq_mmd(solution)
    assert not result.passed and hint in result.message, result


@pytest.mark.parametrize("solution, hint", [
    (lambda mu, lv: (0.5 * (mu ** 2 + lv.exp() - lv - 1)).mean(), "you averaged over both"),
    (lambda mu, lv: (0.5 * (mu ** 2 + lv.exp() - lv - 1)).sum(), "you summed over the batch"),
    (lambda mu, lv: (0.5 * (mu ** 2 + (0.5 * lv).exp() - lv - 1)).sum(1).mean(), "not exp(logvar / 2)"),
    (lambda mu, lv: (mu ** 2 + lv.exp() - lv - 1).sum(1).mean(), "factor ½"),
    (lambda mu, lv: (0.5 * (mu ** 2 + lv.exp() - 1)).sum(1).mean(), "−log σ² term is missing"),
])
def test_kl_mistakes(solution, hint):
    result = check_mfm_gaussian_kl(solution)
    assert not result.passed and hint in result.message, result


def no_intercept(f_train, f_test, t_train, t_test):
    w = torch.linalg.lstsq(f_train, t_train).solution
    return (1 - ((f_test @ w - t_test) ** 2).mean(0) / t_test.var(0, unbiased=False)).mean()


@pytest.mark.parametrize("solution, hint", [
    (no_intercept, "fit an intercept"),
    (lambda a, b, c, d: readout(a, a, c, c), "score the probe on the test rows"),
    (lambda a, b, c, d: torch.ones(c.shape[1]) * readout(a, b, c, d), "return one number"),
])
def test_readout_mistakes(solution, hint):
    result = check_readout_r2(solution)
    assert not result.passed and hint in result.message, result


def test_unattempted_and_crashing_solutions():
    def stub(*args):
        raise NotImplementedError

    for check in (check_imq_mmd, check_mfm_gaussian_kl, check_readout_r2):
        assert "not attempted" in check(stub).message
        assert "raised ZeroDivisionError" in check(lambda *args: 1 / 0).message
        assert "expected a function" in check(3).message
        assert "return a torch.Tensor" in check(lambda *args: "no").message


def test_checkers_leave_the_global_generator_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    check_imq_mmd(estimate)
    check_readout_r2(readout)
    assert torch.equal(torch.rand(3), expected)
