"""The checkers of Part 1's *Interactions in context* exercises pass correct solutions, catch the usual mistakes with
a useful hint, and say "not attempted" for a stub."""
import numpy as np
import torch

from mmcourse.exercises import check_emap_projection, check_subset_information, check_synergy_in_context
from mmcourse.quantification import joint_table, pid


def emap_projection(F):
    return F.mean(1) + F.mean(0) - F.mean((0, 1))


def synergy_in_context(c1, c2, y, context):
    shape = (c1.max() + 1, c2.max() + 1, y.max() + 1)
    return sum((context == k).mean() * pid(joint_table(c1[context == k], c2[context == k], y[context == k],
                                                       shape=shape)).synergy for k in np.unique(context))


def subset_information(latent, y, columns):
    _, x = np.unique(latent[:, list(columns)], axis=0, return_inverse=True)
    p = joint_table(x.ravel(), np.zeros_like(y), y)[:, 0, :]
    outer = p.sum(1, keepdims=True) * p.sum(0, keepdims=True)
    nz = p > 0
    return (p[nz] * np.log2(p[nz] / outer[nz])).sum()


def stub(*args):
    raise NotImplementedError


def test_correct_solutions_pass():
    assert check_emap_projection(emap_projection).passed
    assert check_emap_projection(lambda F: (F.mean(1) + F.mean(0) - F.mean((0, 1))).numpy()).passed  # NumPy too
    assert check_synergy_in_context(synergy_in_context).passed
    assert check_subset_information(subset_information).passed
    assert repr(check_emap_projection(emap_projection)).startswith("PASS")


def test_stubs_are_not_attempted():
    for check in (check_emap_projection, check_synergy_in_context, check_subset_information):
        result = check(stub)
        assert not result.passed and "not attempted" in result.message


def test_emap_mistakes_get_their_hint():
    cases = {"subtract the mean over all": lambda F: F.mean(1) + F.mean(0),
             "add both partial means": lambda F: F.mean(1) - F.mean((0, 1)),
             "F[i, i] is the model itself": lambda F: torch.diagonal(F).T,
             "subtracted, not added": lambda F: F.mean(1) + F.mean(0) + F.mean((0, 1)),
             "shape": lambda F: F.mean(1).T}
    for hint, wrong in cases.items():
        result = check_emap_projection(wrong)
        assert not result.passed and hint in result.message, (hint, result.message)


def test_synergy_mistakes_get_their_hint():
    def unweighted(c1, c2, y, context):
        ks = np.unique(context)
        return sum(pid(joint_table(c1[context == k], c2[context == k], y[context == k], shape=(2, 2, 2))).synergy
                   for k in ks) / len(ks)

    def plain(c1, c2, y, context):
        return pid(joint_table(c1, c2, y, shape=(2, 2, 2))).synergy

    for hint, wrong in {"p(k)": unweighted, "within each context value": plain}.items():
        result = check_synergy_in_context(wrong)
        assert not result.passed and hint in result.message, (hint, result.message)
    assert "return a number" in check_synergy_in_context(lambda *a: "one bit").message


def test_subset_information_mistakes_get_their_hint():
    def nats(latent, y, columns):
        return subset_information(latent, y, columns) * np.log(2)

    def summed(latent, y, columns):
        return sum(subset_information(latent, y, (c,)) for c in columns)

    for hint, wrong in {"base 2": nats, "joint value": summed}.items():
        result = check_subset_information(wrong)
        assert not result.passed and hint in result.message, (hint, result.message)
    result = check_subset_information(lambda *a: 0.123)
    assert not result.passed and "expected" in result.message


def test_checkers_leave_torch_generator_alone():
    torch.manual_seed(3)
    before = torch.rand(1)
    torch.manual_seed(3)
    check_emap_projection(emap_projection)
    check_subset_information(subset_information)
    assert torch.equal(torch.rand(1), before)
