"""The checkers of Part 2.5's subspace exercises pass right solutions and catch the usual mistakes with a hint."""
import numpy as np

from mmcourse.exercises import check_isa_objective, check_modality_share, check_subspace_distance


def objective(y, group_size, eps):
    energy = (y ** 2).reshape(len(y), -1, group_size).sum(axis=2)
    return -np.sqrt(eps + energy).sum(axis=1).mean()


def distance(a, b):
    cos = np.linalg.svd(np.linalg.qr(a)[0].T @ np.linalg.qr(b)[0], compute_uv=False).clip(0, 1)
    return np.sqrt(np.mean(1 - cos ** 2))


def share(mixing, groups, dims):
    bounds = np.cumsum([0, *dims])
    e = np.array([[(mixing[lo:hi][:, g] ** 2).sum() for lo, hi in zip(bounds[:-1], bounds[1:])] for g in groups])
    return e / e.sum(axis=1, keepdims=True)


def stub(*args):
    raise NotImplementedError


def _fails(check, wrong, hint):
    result = check(wrong)
    assert not result.passed and hint in result.message, (hint, result)


def test_right_solutions_pass_and_stubs_are_not_attempted():
    for check, right in [(check_isa_objective, objective), (check_subspace_distance, distance),
                         (check_modality_share, share)]:
        assert check(right).passed, check(right)
        assert repr(check(right)).startswith("PASS")
        assert "not attempted" in check(stub).message


def test_isa_objective_mistakes_get_hints():
    def energy(y, g):
        return (y ** 2).reshape(len(y), -1, g).sum(axis=2)

    _fails(check_isa_objective, lambda y, g, eps: -(eps + energy(y, g)).sum(1).mean(), "square root")
    _fails(check_isa_objective, lambda y, g, eps: -np.sqrt(eps + energy(y, g)).sum(), "a mean")
    _fails(check_isa_objective, lambda y, g, eps: -objective(y, g, eps), "negative")
    _fails(check_isa_objective,
           lambda y, g, eps: -np.sqrt(eps + (y ** 2).reshape(len(y), g, -1).sum(1)).sum(1).mean(), "consecutive")
    _fails(check_isa_objective, lambda y, g, eps: -(np.sqrt(energy(y, g)) + eps).sum(1).mean(), "eps inside")


def test_subspace_distance_mistakes_get_hints():
    def cosines(a, b):
        return np.linalg.svd(np.linalg.qr(a)[0].T @ np.linalg.qr(b)[0], compute_uv=False).clip(0, 1)

    _fails(check_subspace_distance,
           lambda a, b: np.sqrt(np.mean(1 - np.linalg.svd(a.T @ b, compute_uv=False).clip(max=1) ** 2)),
           "orthonormalise")
    _fails(check_subspace_distance, lambda a, b: np.sqrt(np.mean(cosines(a, b) ** 2)), "sines")
    _fails(check_subspace_distance, lambda a, b: np.sqrt(1 - cosines(a, b).min() ** 2), "largest angle")
    _fails(check_subspace_distance, lambda a, b: np.mean(1 - cosines(a, b) ** 2), "square root")


def test_modality_share_mistakes_get_hints():
    def energies(mixing, groups, dims, power=2):
        bounds = np.cumsum([0, *dims])
        return np.array([[np.abs(mixing[lo:hi][:, g]).__pow__(power).sum() for lo, hi in zip(bounds[:-1], bounds[1:])]
                         for g in groups])

    _fails(check_modality_share, lambda m, g, d: (lambda e: e / e.sum(1, keepdims=True))(energies(m, g, d, 1)),
           "squared loadings")
    _fails(check_modality_share, energies, "normalise each row")
    _fails(check_modality_share, lambda m, g, d: (lambda e: e / e.sum(0, keepdims=True))(energies(m, g, d)),
           "not over the subspaces")
    assert "shape" in check_modality_share(lambda m, g, d: np.ones(3)).message
