"""Part 2.5's subspace fission: the ISA objective by hand, the subspace distance, the toy, and recovery of a
planted subspace structure by ISA (and not by PCA)."""
import numpy as np
import pytest
import torch

from mmcourse.representation import (SUBSPACE_METHODS, SubspaceResult, SubspaceToy, fit_isa, fit_subspaces,
                                     isa_objective, modality_share, restart_agreement, subspace_distance,
                                     subspace_recovery, subspace_toy, whiten)


def _rotation(theta):
    return np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])


def test_isa_objective_by_hand():
    y = np.array([[3.0, 4.0, 0.0, 1.0], [1.0, 0.0, 2.0, 0.0]])
    # groups {0, 1}, {2, 3}: -(5 + 1 + 1 + 2) / 2
    assert isa_objective(y, 2, eps=0.0) == pytest.approx(-4.5)
    assert isa_objective(y, 1, eps=0.0) == pytest.approx(-np.abs(y).sum(1).mean())     # ICA: the l1 norm
    assert isa_objective(y, 4, eps=1.0) == pytest.approx(-(np.sqrt(27) + np.sqrt(6)) / 2)
    assert isa_objective(torch.tensor(y), 2, eps=0.0) == pytest.approx(-4.5)


def test_isa_objective_is_invariant_to_rotations_inside_a_group_only():
    y = np.random.default_rng(0).standard_normal((50, 4))
    inside = y.copy()
    inside[:, :2] = y[:, :2] @ _rotation(0.7).T
    assert isa_objective(inside, 2) == pytest.approx(isa_objective(y, 2))
    across = y.copy()
    across[:, 1:3] = y[:, 1:3] @ _rotation(0.7).T
    assert abs(isa_objective(across, 2) - isa_objective(y, 2)) > 1e-3


def test_isa_objective_rejects_bad_input():
    with pytest.raises(ValueError, match="multiple of group_size"):
        isa_objective(np.ones((3, 5)), 2)
    with pytest.raises(ValueError, match="group_size"):
        isa_objective(np.ones((3, 4)), 0)
    with pytest.raises(ValueError, match="2-D"):
        isa_objective(np.ones(4), 1)
    with pytest.raises(ValueError, match="NaN"):
        isa_objective(np.array([[np.nan, 1.0]]), 1)


def test_whiten_gives_identity_covariance():
    x = np.random.default_rng(1).standard_normal((400, 5)) @ np.random.default_rng(2).standard_normal((5, 5))
    z, V, mean = whiten(x, 3)
    assert z.shape == (400, 3) and V.shape == (3, 5)
    np.testing.assert_allclose(np.cov(z, rowvar=False, bias=True), np.eye(3), atol=1e-8)
    with pytest.raises(ValueError, match="dim must be at most"):
        whiten(x, 6)


def test_subspace_distance_known_values():
    e = np.eye(4)
    assert subspace_distance(e[:, :2], e[:, :2] @ _rotation(1.1)) == pytest.approx(0.0, abs=1e-7)   # same span
    assert subspace_distance(e[:, :2], e[:, 2:]) == pytest.approx(1.0)
    # one shared axis, one orthogonal: sin^2 = (0, 1), mean 1/2
    assert subspace_distance(e[:, :2], e[:, [0, 2]]) == pytest.approx(np.sqrt(0.5))
    # equals ||P_A - P_B||_F / sqrt(2k)
    a, b = np.linalg.qr(np.random.default_rng(3).standard_normal((6, 2)))[0], np.linalg.qr(
        np.random.default_rng(4).standard_normal((6, 2)))[0]
    assert subspace_distance(a, b) == pytest.approx(np.linalg.norm(a @ a.T - b @ b.T) / 2)
    with pytest.raises(ValueError, match="same number of rows"):
        subspace_distance(e[:, :2], np.eye(3)[:, :2])


def test_toy_structure():
    toy = subspace_toy(n=300, owners=("shared", "x1", "x2"), seed=0)
    assert isinstance(toy, SubspaceToy) and toy.x.shape == (300, 20) and toy.mixing.shape == (20, 6)
    np.testing.assert_allclose(toy.x1.std(0), 1.0, atol=1e-9)
    assert np.all(toy.mixing1[:, 4:] == 0) and np.all(toy.mixing2[:, 2:4] == 0)      # unique groups
    assert (toy.x - toy.sources @ toy.mixing.T).std() < 0.05                      # only the noise is left
    same = subspace_toy(n=300, owners=("shared", "x1", "x2"), seed=0)
    assert np.array_equal(same.x, toy.x)
    # within a group the energies go together, across groups they do not
    energy = toy.sources ** 2
    assert np.corrcoef(energy[:, 0], energy[:, 1])[0, 1] > 0.2
    assert abs(np.corrcoef(energy[:, 0], energy[:, 2])[0, 1]) < 0.1
    with pytest.raises(ValueError, match="owners"):
        subspace_toy(owners=("both",))
    with pytest.raises(ValueError, match="gaussian"):
        subspace_toy(gaussian=(7,))


def test_isa_recovers_planted_subspaces_and_pca_does_not():
    toy = subspace_toy(n=1000, seed=0)
    isa = fit_isa(toy.x, 4, seed=0)
    assert isinstance(isa, SubspaceResult) and isa.unmixing.shape == (8, 20) and isa.method == "isa"
    distance, match = subspace_recovery(isa, toy.mixing, toy.groups)
    assert distance.max() < 0.25 and sorted(match) == [0, 1, 2, 3]
    pca = fit_subspaces(toy.x, 4, 2, "pca")
    assert subspace_recovery(pca, toy.mixing, toy.groups)[0].min() > 0.45
    share = modality_share(isa, (10, 10))[match]
    assert np.allclose(share.sum(1), 1.0)
    assert 0.25 < share[0, 0] < 0.75 and 0.25 < share[1, 0] < 0.75          # the two shared groups
    assert share[2, 0] > 0.95 and share[3, 1] > 0.95                         # unique to x1, unique to x2
    np.testing.assert_allclose(isa.transform(toy.x), (toy.x - isa.mean) @ isa.unmixing.T)


def test_ica_and_registry():
    toy = subspace_toy(n=500, seed=1)
    ica = fit_subspaces(toy.x, 4, 2, "ica")
    assert ica.method == "ica" and len(ica.groups) == 4 and set(SUBSPACE_METHODS) == {"pca", "ica", "isa"}
    # each ICA direction lies (mostly) in one true group
    M = ica.unmixing @ toy.mixing
    energy = (M ** 2).reshape(8, 4, 2).sum(2)
    assert (energy.max(1) / energy.sum(1)).min() > 0.8
    with pytest.raises(ValueError, match="unknown method"):
        fit_subspaces(toy.x, 4, 2, "nmf")
    with pytest.raises(ValueError, match="init"):
        fit_isa(toy.x, 4, init="zeros")
    with pytest.raises(ValueError, match="n_groups"):
        fit_isa(toy.x, 0)
    with pytest.raises(ValueError, match="lr"):
        fit_isa(toy.x, 4, lr=-1.0)


def test_recovery_and_share_reject_bad_input():
    toy = subspace_toy(n=200, seed=0)
    pca = fit_subspaces(toy.x, 4, 2, "pca")
    with pytest.raises(ValueError, match="one row per feature"):
        subspace_recovery(pca, toy.mixing1, toy.groups)
    with pytest.raises(ValueError, match="sum to the 20 features"):
        modality_share(pca, (10, 5))


def test_isa_reaches_the_planted_optimum_that_random_starts_miss():
    toy = subspace_toy(n=1000, seed=0)
    z, V, _ = whiten(toy.x, 8)
    u, _, vt = np.linalg.svd((V @ toy.mixing).T)
    oracle = u @ vt                                                            # the true unmixing, orthogonal
    mispaired = oracle[[0, 2, 1, 3, 4, 6, 5, 7]]                              # same directions, wrong pairs
    assert isa_objective(z @ mispaired.T, 2) < isa_objective(z @ oracle.T, 2) - 0.05
    assert isa_objective(z @ mispaired.T, 1) == pytest.approx(isa_objective(z @ oracle.T, 1))   # ICA cannot tell
    isa = fit_isa(toy.x, 4, seed=0)
    assert isa.objective >= isa_objective(z @ oracle.T, 2) - 0.01
    stuck = fit_isa(toy.x, 4, init="random", seed=0)
    assert subspace_recovery(stuck, toy.mixing, toy.groups)[0].max() > 0.6 and stuck.objective < isa.objective


def test_restart_agreement_tells_structure_from_none():
    toy = subspace_toy(n=800, seed=0)
    assert restart_agreement(toy.x, 4, seeds=(0, 1, 2)) < 0.05
    # no subspace structure: a Gaussian rotated into 8 dimensions; restarts disagree
    noise = np.random.default_rng(0).standard_normal((800, 8))
    assert restart_agreement(noise, 4, seeds=(0, 1, 2)) > 0.3
    with pytest.raises(ValueError, match="at least two seeds"):
        restart_agreement(toy.x, 4, seeds=(0,))
