"""Shared test setup: a private dataset cache, no progress bars, one CPU thread per test worker."""
import os

import pytest
import torch

os.environ.setdefault("MMCOURSE_PROGRESS", "0")
torch.set_num_threads(1)  # tiny models; two workers with two threads each would spin against each other


@pytest.fixture(autouse=True, scope="session")
def _dataset_cache(tmp_path_factory):
    """Generated datasets go to a folder of the test session's own unless MMCOURSE_CACHE is set."""
    if "MMCOURSE_CACHE" not in os.environ:
        os.environ["MMCOURSE_CACHE"] = str(tmp_path_factory.getbasetemp() / "mmcourse-cache")
    yield
