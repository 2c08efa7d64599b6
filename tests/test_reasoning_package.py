"""Part 4 as a whole: every docstring example runs, and every public name of the reasoning package, its data, its
exercises and its explorer is exercised by some test file."""
from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import mmcourse.reasoning
from mmcourse.data import gridworld, scene_questions, temporal
from mmcourse.exercises import concepts, inference, interactive, knowledge, structure
from mmcourse.exercises import temporal as temporal_exercises
from mmcourse.widgets import reasoning_explorer

MODULES = sorted(name for _, name, _ in pkgutil.walk_packages(mmcourse.reasoning.__path__, "mmcourse.reasoning."))
PUBLIC = {module.__name__: module.__all__ for module in (
    mmcourse.reasoning, gridworld, scene_questions, temporal, concepts, inference, interactive, knowledge, structure,
    temporal_exercises, reasoning_explorer)}


@pytest.mark.parametrize("name", [*MODULES, "mmcourse.data.scene_questions", "mmcourse.data.temporal",
                                  "mmcourse.data.gridworld", "mmcourse.widgets.reasoning_explorer"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, name


def test_every_public_name_is_tested():
    here = Path(__file__).parent
    text = "\n".join(p.read_text() for p in here.glob("test_*.py") if p.name != Path(__file__).name)
    untested = [f"{module}.{name}" for module, names in PUBLIC.items() for name in names
                if not re.search(rf"\b{re.escape(name)}\b", text)]
    assert not untested, untested


def test_reasoning_package_exports_its_subpackages():
    from mmcourse.reasoning import concepts as c, inference as i, knowledge as k, structure as s
    assert set(mmcourse.reasoning.__all__) == {*s.__all__, *c.__all__, *i.__all__, *k.__all__}
    assert len(mmcourse.reasoning.__all__) == len(set(mmcourse.reasoning.__all__))  # no name exported twice
    assert {"parse", "execute"} <= set(mmcourse.reasoning.__all__)
