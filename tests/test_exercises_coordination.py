"""The checkers of Part 2.4's exercises pass correct solutions, catch the usual mistakes with a hint, and leave
torch's RNG alone."""
import numpy as np
import torch

from mmcourse.exercises import check_cca_correlations, check_order_penalty, check_total_correlation


def inv_sqrt(c):
    values, vectors = np.linalg.eigh(c)
    return (vectors / np.sqrt(values)) @ vectors.T


def cca_correlations(x, y, k, centre=True, whiten=True, descending=True):
    if centre:
        x, y = x - x.mean(0), y - y.mean(0)
    n = len(x)
    cxx, cyy, cxy = x.T @ x / (n - 1), y.T @ y / (n - 1), x.T @ y / (n - 1)
    t = inv_sqrt(cxx) @ cxy @ inv_sqrt(cyy) if whiten else cxy
    s = np.linalg.svd(t, compute_uv=False)[:k]
    return s if descending else s[::-1]


def penalty(a, b):
    return torch.clamp(b - a, min=0).pow(2).sum(1)


def total_correlation(hx, hy, reg, ridge=True, centre=True):
    if centre:
        hx, hy = hx - hx.mean(0), hy - hy.mean(0)
    n = len(hx)
    r = reg if ridge else 0.0
    cxx = hx.T @ hx / (n - 1) + r * torch.eye(hx.shape[1], dtype=hx.dtype)
    cyy = hy.T @ hy / (n - 1) + r * torch.eye(hy.shape[1], dtype=hy.dtype)
    t = torch.as_tensor(inv_sqrt(cxx.numpy())) @ (hx.T @ hy / (n - 1)) @ torch.as_tensor(inv_sqrt(cyy.numpy()))
    return torch.linalg.svdvals(t).sum()


def test_correct_solutions_pass():
    for result in (check_cca_correlations(cca_correlations), check_order_penalty(penalty),
                   check_total_correlation(total_correlation)):
        assert result.passed, result
        assert repr(result).startswith("PASS")


def test_cca_mistakes_get_hints():
    cases = {"centre each view": lambda x, y, k: cca_correlations(x, y, k, centre=False),
             "whiten first": lambda x, y, k: cca_correlations(x, y, k, whiten=False),
             "largest first": lambda x, y, k: cca_correlations(x, y, k, descending=False),
             "return a vector": lambda x, y, k: 0.5}
    for hint, wrong in cases.items():
        result = check_cca_correlations(wrong)
        assert not result.passed and hint in result.message, (hint, result)
    assert repr(check_cca_correlations(lambda x, y, k: None)).startswith("FAIL")


def test_order_penalty_mistakes_get_hints():
    cases = {"direction is reversed": lambda a, b: penalty(b, a),
             "clip at zero first": lambda a, b: (b - a).pow(2).sum(1),
             "E is its square": lambda a, b: torch.clamp(b - a, min=0).norm(dim=1),
             "not a squared sum": lambda a, b: torch.clamp(b - a, min=0).sum(1) ** 2,
             "one penalty per pair": lambda a, b: penalty(a, b).sum()}
    for hint, wrong in cases.items():
        result = check_order_penalty(wrong)
        assert not result.passed and hint in result.message, (hint, result)


def test_total_correlation_mistakes_get_hints():
    def pearson(hx, hy, reg):
        k = min(hx.shape[1], hy.shape[1])
        return sum(torch.corrcoef(torch.stack([hx[:, i], hy[:, i]]))[0, 1] for i in range(k))

    cases = {"add reg times the identity": lambda hx, hy, reg: total_correlation(hx, hy, reg, ridge=False),
             "centre both batches": lambda hx, hy, reg: total_correlation(hx, hy, reg, centre=False),
             "matching coordinates": pearson,
             "return a scalar": lambda hx, hy, reg: torch.zeros(2)}
    for hint, wrong in cases.items():
        result = check_total_correlation(wrong)
        assert not result.passed and hint in result.message, (hint, result)
