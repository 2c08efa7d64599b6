"""Part 6 as a whole: every docstring example runs, and every public name of the transference package, its
exercises and its explorer is exercised by some test file."""
from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import mmcourse.transference
from mmcourse.exercises import colearning, induction, multitask, tuning
from mmcourse.widgets import transference_explorer

MODULES = sorted(name for _, name, _ in pkgutil.walk_packages(mmcourse.transference.__path__,
                                                              "mmcourse.transference."))
PUBLIC = {module.__name__: module.__all__ for module in (
    mmcourse.transference, colearning, induction, multitask, tuning, transference_explorer)}


@pytest.mark.parametrize("name", [*MODULES, "mmcourse.widgets.transference_explorer"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, name


def test_every_public_name_is_tested():
    here = Path(__file__).parent
    text = "\n".join(p.read_text() for p in here.glob("test_*.py") if p.name != Path(__file__).name)
    untested = [f"{module}.{name}" for module, names in PUBLIC.items() for name in names
                if not re.search(rf"\b{re.escape(name)}\b", text)]
    assert not untested, untested


def test_transference_package_exports_its_subpackages():
    from mmcourse.transference import colearning as c, induction as i, transfer as t
    assert set(mmcourse.transference.__all__) == {*t.__all__, *c.__all__, *i.__all__}
    assert len(mmcourse.transference.__all__) == len(set(mmcourse.transference.__all__))  # no name exported twice
    assert {"co_training", "freeze", "trainable_parameters"} <= set(mmcourse.transference.__all__)
