"""The checkers of Part 3.1's exercises on learning the matching: right solutions pass, the usual mistakes get
their hint, a stub is "not attempted yet"."""
import numpy as np
from scipy.special import logsumexp

from mmcourse.alignment import sinkhorn
from mmcourse.exercises import check_rival_margin, check_sinkhorn_plan, check_transport_score


def sinkhorn_plan(C, reg, n_iter):
    n, m = C.shape
    f, g = np.zeros(n), np.zeros(m)
    for _ in range(n_iter):
        f = reg * (-np.log(n) - logsumexp((g[None, :] - C) / reg, axis=1))
        g = reg * (-np.log(m) - logsumexp((f[:, None] - C) / reg, axis=0))
    return np.exp((f[:, None] + g[None, :] - C) / reg)


def sinkhorn_plan_scaling(C, reg, n_iter):          # the textbook exp-domain form: same iterates
    n, m = C.shape
    K, u, v = np.exp(-C / reg), np.ones(n), np.ones(m)
    for _ in range(n_iter):
        u = (1 / n) / (K @ v)
        v = (1 / m) / (K.T @ u)
    return u[:, None] * K * v[None, :]


def transport_score(S, reg):
    t, k = S.shape
    return (sinkhorn(np.full(t, 1 / t), np.full(k, 1 / k), 1 - S, reg) * S).sum()


def rival_margin(S):
    rivals = np.where(np.eye(len(S), dtype=bool), -np.inf, S)
    return (np.diag(S) - rivals.max(1)).mean()


def stub(*args):
    raise NotImplementedError


def test_right_solutions_pass_and_stubs_are_not_attempted():
    assert check_sinkhorn_plan(sinkhorn_plan).passed
    assert check_sinkhorn_plan(sinkhorn_plan_scaling).passed
    assert check_transport_score(transport_score).passed
    assert check_rival_margin(rival_margin).passed
    for check in (check_sinkhorn_plan, check_transport_score, check_rival_margin):
        assert "not attempted yet" in check(stub).message


def test_sinkhorn_plan_mistakes_get_hints():
    cases = {"exp(−C/ε)": lambda C, reg, n: sinkhorn_plan(-C, reg, n),
             "divide the cost by ε": lambda C, reg, n: sinkhorn_plan(C, 1.0, n),
             "not the whole kernel": lambda C, reg, n: np.exp(-C / reg) / np.exp(-C / reg).sum(),
             "shape": lambda C, reg, n: sinkhorn_plan(C, reg, n).T}
    for hint, wrong in cases.items():
        result = check_sinkhorn_plan(wrong)
        assert not result.passed and hint in result.message, (hint, result)


def test_transport_score_mistakes_get_hints():
    def plan(S, reg, cost):
        t, k = S.shape
        return sinkhorn(np.full(t, 1 / t), np.full(k, 1 / k), cost, reg)

    cases = {"two-stage score": lambda S, reg: S.max(1).mean(),
             "the cost is 1 − S": lambda S, reg: (plan(S, reg, S) * S).sum(),
             "not the plan rescaled": lambda S, reg: len(S) * (plan(S, reg, 1 - S) * S).sum(),
             "independent coupling": lambda S, reg: S.mean(),
             "not the transport cost": lambda S, reg: (plan(S, reg, 1 - S) * (1 - S)).sum(),
             "return a number": lambda S, reg: "high"}
    for hint, wrong in cases.items():
        result = check_transport_score(wrong)
        assert not result.passed and hint in result.message, (hint, result)


def test_rival_margin_mistakes_get_hints():
    def rivals(S):
        return np.where(np.eye(len(S), dtype=bool), -np.inf, S)

    cases = {"own region out of the rivals": lambda S: (np.diag(S) - S.max(1)).mean(),
             "*row*": lambda S: (np.diag(S) - rivals(S).max(0)).mean(),
             "average over the phrases": lambda S: (np.diag(S) - rivals(S).max(1)).sum(),
             "*best* other region": lambda S: (np.diag(S) - (S.sum(1) - np.diag(S)) / (len(S) - 1)).mean(),
             "expected": lambda S: 0.0}
    for hint, wrong in cases.items():
        result = check_rival_margin(wrong)
        assert not result.passed and hint in result.message, (hint, result)
