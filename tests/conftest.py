"""Shared test setup: a private dataset cache, no progress bars, one CPU thread per test worker, and property tests
that draw the same examples on every run."""
import os

import pytest
import torch
from hypothesis import settings

os.environ.setdefault("MMCOURSE_PROGRESS", "0")
torch.set_num_threads(1)  # tiny models; two workers with two threads each would spin against each other

# Reproducible: hypothesis draws its examples from a fixed seed, so CI and a reader's run test the same cases (a
# failure it finds is then kept as an explicit @example, as in test_alignment.py).
settings.register_profile("book", derandomize=True)
settings.load_profile("book")


@pytest.fixture(autouse=True, scope="session")
def _dataset_cache(tmp_path_factory):
    """Generated datasets go to a folder of the test session's own unless MMCOURSE_CACHE is set."""
    if "MMCOURSE_CACHE" not in os.environ:
        os.environ["MMCOURSE_CACHE"] = str(tmp_path_factory.getbasetemp() / "mmcourse-cache")
    yield
