"""Checkers of Part 2.3's exercises: a right answer passes; typical mistakes fail with a hint that names them."""
import torch

from mmcourse.exercises import check_blend_weights, check_branch_scores, check_keep_mask, check_ogm_coefficients


def scores(logits, labels):
    return torch.stack([g.softmax(1)[torch.arange(len(labels)), labels].sum() for g in logits])


def test_branch_scores():
    assert check_branch_scores(scores).passed
    res = check_branch_scores(lambda logits, labels: torch.stack([g.softmax(1).max(1).values.sum() for g in logits]))
    assert not res.passed and "TRUE class" in res.message
    res = check_branch_scores(lambda logits, labels: torch.stack([g[torch.arange(len(labels)), labels].sum()
                                                                  for g in logits]))
    assert not res.passed and "softmax" in res.message
    res = check_branch_scores(lambda logits, labels: scores(logits, labels) / len(labels))
    assert not res.passed and "not a mean" in res.message
    res = check_branch_scores(lambda logits, labels: scores(logits, labels)[:1])
    assert not res.passed and "shape" in res.message


def coefficients(s, alpha):
    rho = s / ((s.sum() - s) / (len(s) - 1))
    return torch.where(rho > 1, 1 - torch.tanh(alpha * rho), torch.ones_like(rho))


def test_ogm_coefficients():
    assert check_ogm_coefficients(coefficients).passed
    res = check_ogm_coefficients(lambda s, a: 1 - torch.tanh(a * s / ((s.sum() - s) / (len(s) - 1))))
    assert not res.passed and "only the leading branch" in res.message
    res = check_ogm_coefficients(lambda s, a: torch.where(s / ((s.sum() - s) / (len(s) - 1)) > 1,
                                                          1 - torch.tanh(a * (s / ((s.sum() - s) / (len(s) - 1)) - 1)),
                                                          torch.ones_like(s)))
    assert not res.passed and "Eq. (10)" in res.message

    def not_attempted(s, a):
        raise NotImplementedError
    assert "not attempted" in check_ogm_coefficients(not_attempted).message
    assert "raised ZeroDivisionError" in check_ogm_coefficients(lambda s, a: 1 / 0).message


def blend(train, val, start, end):
    G = val[:, start] - val[:, end]
    O = (val[:, end] - train[:, end]) - (val[:, start] - train[:, start])
    return (G / O**2) / (G / O**2).sum()


def test_blend_weights():
    assert check_blend_weights(blend).passed

    def not_squared(train, val, start, end):
        G = val[:, start] - val[:, end]
        O = (val[:, end] - train[:, end]) - (val[:, start] - train[:, start])
        return (G / O) / (G / O).sum()
    res = check_blend_weights(not_squared)
    assert not res.passed and "squared" in res.message

    def unnormalized(train, val, start, end):
        G = val[:, start] - val[:, end]
        O = (val[:, end] - train[:, end]) - (val[:, start] - train[:, start])
        return G / O**2
    res = check_blend_weights(unnormalized)
    assert not res.passed and "sum to 1" in res.message

    def on_train(train, val, start, end):
        G = train[:, start] - train[:, end]
        O = (val[:, end] - train[:, end]) - (val[:, start] - train[:, start])
        return (G / O**2) / (G / O**2).sum()
    res = check_blend_weights(on_train)
    assert not res.passed and "VALIDATION" in res.message
    res = check_blend_weights(lambda *a: "weights")
    assert not res.passed


def test_checks_leave_the_global_random_state_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    check_ogm_coefficients(coefficients)
    check_blend_weights(blend)
    assert torch.equal(torch.rand(3), expected)


def keep_mask(u, p, rescue):
    keep = u >= p
    for i in range(len(keep)):
        if not keep[i].any():
            keep[i, rescue[i]] = True
    return keep


def test_keep_mask():
    assert check_keep_mask(keep_mask).passed
    res = check_keep_mask(lambda u, p, rescue: u >= p)
    assert not res.passed and "must keep one" in res.message
    res = check_keep_mask(lambda u, p, rescue: u < p)
    assert not res.passed and "KEPT with probability 1 − p" in res.message

    def rescue_all(u, p, rescue):
        keep = u >= p
        keep[torch.arange(len(keep)), rescue] = True
        return keep
    res = check_keep_mask(rescue_all)
    assert not res.passed and "only the examples that lost EVERY" in res.message
    res = check_keep_mask(lambda u, p, rescue: (u >= p).float())
    assert not res.passed and "boolean" in res.message


def test_the_exercise_mask_is_the_one_modality_dropout_draws():
    from mmcourse.representation import ModalityDropout
    torch.manual_seed(0)
    x1, x2 = ModalityDropout(0.6)(torch.ones(500, 1), torch.ones(500, 1))
    drawn = torch.cat([x1, x2], 1) > 0
    torch.manual_seed(0)
    u = torch.rand(500, 2)
    lost = ~(u >= 0.6).any(1)
    rescue = torch.zeros(500, dtype=torch.long)
    rescue[lost] = torch.randint(2, (int(lost.sum()),))
    assert torch.equal(keep_mask(u, 0.6, rescue), drawn)
