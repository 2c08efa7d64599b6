"""Every public name of ``mmcourse`` refuses bad input at its door (issue 15, item 3).

The walk itself is in ``api_walk.py``: for every callable in every ``__all__`` it finds a valid call (from the
docstring examples) and calls it again with one argument spoiled at a time (NaN, wrong rank, zero rows, wrong type,
mismatched batch sizes, out-of-range integers). This file holds the tests and the two tables a reader must be able
to check by eye:

* :data:`ACCEPTED`: the spoilings that are valid input for a particular name, each with its reason;
* :data:`UNCOVERED`: the public names that the walk cannot call, each with its reason.

A new public name is covered without editing this file: it needs a docstring example (the scikit-learn habit), and
:func:`test_every_public_name_has_a_valid_call` fails until it has one.

To see the failures of part of the package: ``python tests/test_public_api_errors.py --only mmcourse.reasoning``
(stdout lists them by name and argument, stderr says what each one did).
"""
from __future__ import annotations

import inspect
import os
import time

import pytest
import torch

import api_walk as walk
from api_walk import Call, problems, public_names, valid_calls

# (call name, argument, kind) -> why the spoiled value is valid input for that name.
_TWO_SETS = "two sets of independent sizes (n rows against m, as each comment says): their numbers of rows may differ"
_ONE_EXAMPLE = ("samples are single examples that give each modality's shape: not a batch, and their values are not "
                "used")
ACCEPTED: dict[tuple[str, str, str], str] = {
    **{(name, where, "mismatched batch"): _TWO_SETS for name, pair in [
        ("mmcourse.alignment.adversarial.fit_adversarial_mapping", ("x", "y")),  # unpaired clouds, (n, d), (n', d)
        ("mmcourse.alignment.orthogonal.procrustes_refinement", ("x", "y")),  # unpaired; it pairs them itself
        ("mmcourse.alignment.matching.WordRegionModel.forward", ("regions", "phrases")),  # B scenes, C captions
        ("mmcourse.generation.evaluation.diversity.nearest_distance", ("samples", "reference")),
        ("mmcourse.generation.evaluation.diversity.memorisation_ratio", ("generated", "heldout")),
        ("mmcourse.representation.contrastive.clip.similarity_matrix", ("z1", "z2")),  # n queries, m keys
        ("mmcourse.representation.fission._mmd.mmd", ("x", "y")),  # two samples; MMD is defined for any n, m ≥ 2
        ("mmcourse.representation.fission.clustering.soft_assignment", ("z", "centroids")),  # n points, k centres
        ("mmcourse.transference.colearning.mctn.fill_missing", ("x", "reference")),  # rows to fill, training rows
    ] for where in pair},
    **{("mmcourse.representation.model.FusionModel", f"samples[{m}]", "mismatched batch"): _ONE_EXAMPLE
       for m in range(2)},
    **{("mmcourse.representation.heterogeneous.search.ComposedFusionModel", f"samples[{m}]", kind): _ONE_EXAMPLE
       for m in range(2) for kind in ("mismatched batch", "NaN")},
    **{("mmcourse.representation.heterogeneous.sharing.GroupedEncoderModel", f"samples[{m}]", kind): _ONE_EXAMPLE
       for m in range(4) for kind in ("mismatched batch", "NaN")},
    **{("mmcourse.generation.translation.captions.phrase_scores", where, "mismatched batch"):
       "the example scores one caption, a 1-D vector of word ids: one row fewer is one word fewer, and a caption of "
       "6 words against one of 7 is valid" for where in ("predicted", "reference")},
    **{("mmcourse.representation.fission._subspace_measures.subspace_recovery", f"true_groups[{g}]",
        "mismatched batch"):
       "a true group lists the source indices of one subspace, and subspaces may differ in dimension: a group with "
       "one index fewer is valid" for g in range(2)},
    ("mmcourse.representation.fission.subspaces.SubspaceResult", "groups[0]", "mismatched batch"):
        "a group lists the coordinates of one subspace, and subspaces may differ in dimension: a group with one index "
        "fewer is valid (its indices are checked against the rows of unmixing)",
    **{("mmcourse.representation.heterogeneous.search.successive_halving", f"space[{c}]", kind):
       "the candidates are opaque to successive_halving (any hashable value): only the caller's build knows which "
       "are valid, and the error is build's own"
       for c in range(3) for kind in ("wrong type", "float for int", "negative integer")},
    ("mmcourse.representation.robustness.imputation.impute", "inputs[1]", "NaN"):
        "inputs[missing] only holds the place of the missing modality and is never read (the imputer's prediction "
        "replaces it): NaN is a natural marker for a missing modality",
    ("mmcourse.transference.colearning.mctn.fill_missing", "x", "NaN"):
        "x is the modality that is missing at test time: only its shape and dtype are read, and a missing modality "
        "is often stored as NaN",
    ("mmcourse.exercises._check.as_float64", "output", "wrong type"):
        "output is a reader's answer: a value that is not a number or an array gives None, which the checker turns "
        "into a hint",
    **{("mmcourse.exercises._check.compare", f"output[{i}]", kind):
       "output is a reader's answer: whatever it holds, compare returns a hint (here: return a tensor), never raises"
       for i in range(2) for kind in ("wrong type", "NaN")},
}

# (name prefix, kind) -> why every name under the prefix accepts that spoiling.
ACCEPTED_BY_PREFIX: dict[tuple[str, str], str] = {
    ("mmcourse.exercises.", "not callable"):
        "a checker reports a reader's mistake, it never raises: given a value that is not a function it returns a "
        "FAIL result that says so (tested for every checker in test_exercises.py::test_not_a_function)",
}

# public name -> why the walk cannot call it.
UNCOVERED: dict[str, str] = {
    "mmcourse.quantification.estimation.discretise.Discretiser":
        "made only by fit_discretiser, whose example calls its methods: its constructor takes fitted "
        "standardisation, PCA and k-means steps that no reader builds by hand",
}


def accepted(key: tuple[str, str, str]) -> bool:
    """Whether a spoiling ``(name, argument, kind)`` is valid input for that name."""
    name, _, kind = key
    return key in ACCEPTED or any(name.startswith(p) and kind == k for p, k in ACCEPTED_BY_PREFIX)


def _needs_no_call(name: str) -> bool:
    """A result record (it holds results, checks nothing) or a function without arguments: nothing to spoil."""
    target = public_names()[name]
    if inspect.isclass(target):
        return walk._is_record(target)
    try:
        return not inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a function that writes a file given a spoiled name writes it here


@pytest.mark.parametrize("name", list(public_names()))
def test_bad_input_gets_a_clear_error(name):
    failures = [f"{key[0]}({key[1]}=<{key[2]}>): {what}"
                for call in valid_calls(name) for key, what in problems(call, accepted)]
    assert not failures, "\n".join(failures)


def test_every_public_name_has_a_valid_call():
    """A public name without a docstring example that calls it is not walked: give it one (or say why not)."""
    missing = [n for n in public_names() if not valid_calls(n) and not _needs_no_call(n) and n not in UNCOVERED]
    assert not missing, (f"{len(missing)} public names have no docstring example that calls them, so the walk "
                         f"cannot check their arguments: {missing}")
    stale = [n for n in UNCOVERED if n not in public_names() or valid_calls(n)]
    assert not stale, f"UNCOVERED lists names that are gone or have a valid call by now: {stale}"


def test_accepted_entries_name_real_spoilings():
    """Every entry of ACCEPTED names a spoiling that the walk makes today (no stale entries)."""
    made = {(call.name, s.where, s.kind) for name in {k[0].removesuffix(".forward") for k in ACCEPTED}
            for call in valid_calls(name) for s in walk.spoilings(call)}
    stale = [key for key in ACCEPTED if key not in made]
    assert not stale, f"ACCEPTED names spoilings the walk no longer makes: {stale}"


def test_every_module_is_walked():
    names = public_names()
    assert "mmcourse.training.fit" in names and "mmcourse.utils.get_device" in names
    assert not any(n.startswith(tuple(walk.NOT_COVERED)) for n in names)
    assert len(names) > 600


# ----------------------------------------------------------------------------------------------------------------
# The harness: it must catch what it is there to catch
# ----------------------------------------------------------------------------------------------------------------

def _in_package(f):
    """``f`` as if it were defined in the package (the walk only counts errors raised inside ``mmcourse``)."""
    f.__code__ = f.__code__.replace(co_filename=os.path.join(walk.PACKAGE_DIR, "checked.py"))
    return f


def test_the_spoilings_catch_an_unchecked_function():
    """A function that checks nothing fails on every kind of spoiling it can see."""
    def unchecked(x, y, k=2):
        return (x[:, :k] * 1.0).mean() + y.float().mean() * 0

    call = Call("unchecked", unchecked, [], {"x": torch.randn(4, 3), "y": torch.tensor([0, 1, 1, 0]), "k": 2},
                [("x", "x"), ("y", "y"), ("k", "k")])
    kinds = {key[1:] for key, _ in problems(call)}
    assert ("x", "NaN") in kinds and ("x", "wrong type") in kinds and ("x", "mismatched batch") in kinds
    assert ("x", "empty") in kinds  # the mean of nothing is NaN
    assert ("k", "wrong type") in kinds


def test_a_checked_function_passes():
    @_in_package
    def checked(x):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"checked: x must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 2 or x.shape[0] == 0 or not torch.isfinite(x).all():
            raise ValueError(f"checked: x must be a finite (batch, d) tensor, got shape {tuple(x.shape)}")
        return x.sum()

    assert problems(Call("checked", checked, [], {"x": torch.randn(4, 3)}, [("x", "x")])) == []


def test_a_call_that_ends_its_process_or_runs_on_is_caught(monkeypatch):
    """A spoiled call that kills the process, spins past the CPU limit or sleeps past the wall-clock limit is
    reported, and the walk goes on with the next spoiling in a fresh process."""
    monkeypatch.setattr(walk, "WALL_LIMIT", 3.0)

    @_in_package
    def fragile(x, t=1.0):
        if not isinstance(x, torch.Tensor):
            os._exit(3)
        if isinstance(t, str):
            time.sleep(60)
        if torch.isnan(x).any():
            while True:
                pass
        return x.sum() * t

    call = Call("fragile", fragile, [], {"x": torch.randn(4, 3), "t": 1.0}, [("x", "x"), ("t", "t")])
    found = dict(problems(call))
    assert "died" in found[("fragile", "x", "wrong type")]
    assert found[("fragile", "x", "NaN")] == "ran past the time limit"
    assert found[("fragile", "t", "wrong type")] == "ran past the time limit"
    assert ("fragile", "t", "NaN") in found  # the walk went on after each of them


def test_the_walk_leaves_the_test_process_alone():
    """The calls run in child processes: a name's calls cannot change this process's state."""
    before = torch.get_num_threads(), torch.initial_seed(), os.getcwd()

    def meddling(x):
        torch.set_num_threads(7)
        torch.manual_seed(123)
        os.chdir("/")
        return x

    problems(Call("meddling", meddling, [], {"x": torch.randn(2, 2)}, [("x", "x")]))
    assert (torch.get_num_threads(), torch.initial_seed(), os.getcwd()) == before


if __name__ == "__main__":  # the failures of today
    os.environ.setdefault("MMCOURSE_PROGRESS", "0")
    torch.set_num_threads(1)
    walk.main(accepted)
