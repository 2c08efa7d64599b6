"""Part 5 as a whole: every docstring example runs, and every public name of the generation package, its data, its
exercises and its explorer is exercised by some test file."""
from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import mmcourse.generation
from mmcourse.data import storyboards
from mmcourse.exercises import creation, evaluation, summarization, translation
from mmcourse.widgets import generation_explorer

MODULES = sorted(name for _, name, _ in pkgutil.walk_packages(mmcourse.generation.__path__, "mmcourse.generation."))
PUBLIC = {module.__name__: module.__all__ for module in (
    mmcourse.generation, storyboards, creation, evaluation, summarization, translation, generation_explorer)}


@pytest.mark.parametrize("name", [*MODULES, "mmcourse.data.storyboards", "mmcourse.widgets.generation_explorer"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, name


def test_every_public_name_is_tested():
    here = Path(__file__).parent
    text = "\n".join(p.read_text() for p in here.glob("test_*.py") if p.name != Path(__file__).name)
    untested = [f"{module}.{name}" for module, names in PUBLIC.items() for name in names
                if not re.search(rf"\b{re.escape(name)}\b", text)]
    assert not untested, untested


def test_generation_package_exports_its_subpackages():
    from mmcourse.generation import creation as c, evaluation as e, summarization as s, translation as t
    assert set(mmcourse.generation.__all__) == {*s.__all__, *t.__all__, *c.__all__, *e.__all__}
    assert len(mmcourse.generation.__all__) == len(set(mmcourse.generation.__all__))  # no name exported twice
    assert {"product_of_experts", "cross_coherence", "alignment_score"} <= set(mmcourse.generation.__all__)
