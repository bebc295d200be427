"""Shared test settings: deterministic, single-threaded torch so two cores stay usable."""

import os

import pytest
import torch

os.environ.setdefault("SYMGAN_SCALE", "smoke")
torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def scratch_dirs(tmp_path_factory: pytest.TempPathFactory):
    """Data caches and runs in a scratch folder for one test module (subprocesses inherit it),
    never the repository. Use with ``pytestmark = pytest.mark.usefixtures("scratch_dirs")``."""
    root = tmp_path_factory.mktemp("scratch")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYMGAN_DATA", str(root / "data"))
        mp.setenv("SYMGAN_RUNS", str(root / "runs"))
        mp.setenv("SYMGAN_SCALE", "smoke")
        mp.delenv("SYMGAN_DEBUG_STEP_SLEEP", raising=False)
        yield root
