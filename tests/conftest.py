"""Shared test settings: deterministic, single-threaded torch, and no test touches the checkout.

Every test session gets its own data, runs and model folders under pytest's temporary directory
(``$SYMGAN_DATA`` for datasets, caches and the yaw regressor's weights, ``$SYMGAN_RUNS`` for
trained runs; subprocesses and notebook kernels inherit both), so a run left in ``runs/`` by
older code is never reused and running the suite twice leaves ``git status`` clean. The shipped
weights in ``symgan/pretrained`` are package data: the session fails if a test changed them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

import symgan.pretrained

os.environ.setdefault("SYMGAN_SCALE", "smoke")  # for module-level code run at collection
torch.set_num_threads(1)

# Variables that would make the tests depend on the shell they were started from.
_UNSET = ("SYMGAN_GEOMETRY", "SYMGAN_DEBUG_STEP_SLEEP", "SYMGAN_DEBUG_NAN_AT_STEP")


def _point_at(mp: pytest.MonkeyPatch, root: Path) -> None:
    mp.setenv("SYMGAN_DATA", str(root / "data"))
    mp.setenv("SYMGAN_RUNS", str(root / "runs"))
    mp.setenv("SYMGAN_SCALE", "smoke")
    for name in _UNSET:
        mp.delenv(name, raising=False)


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="session", autouse=True)
def isolated_dirs(tmp_path_factory: pytest.TempPathFactory):
    """Data, runs and model folders of the whole session in a temporary folder; yields it."""
    root = tmp_path_factory.mktemp("symgan")
    shipped = Path(symgan.pretrained.FOLDER)
    before = _snapshot(shipped)
    with pytest.MonkeyPatch.context() as mp:
        _point_at(mp, root)
        yield root
    changed = sorted(set(before.items()) ^ set(_snapshot(shipped).items()))
    assert not changed, f"tests wrote into the shipped weights {shipped}: {changed}"


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def scratch_dirs(isolated_dirs: Path, tmp_path_factory: pytest.TempPathFactory):
    """Fresh data and runs folders for one test module (for modules that corrupt caches or count
    runs). Use with ``pytestmark = pytest.mark.usefixtures("scratch_dirs")``."""
    root = tmp_path_factory.mktemp("scratch")
    with pytest.MonkeyPatch.context() as mp:
        _point_at(mp, root)
        yield root


@pytest.fixture(scope="session")
def inception_net():
    """The InceptionV3 feature network of the FID tests: the process's one copy
    (:func:`symgan.fid.inception_network`), which the commands under test use too."""
    from symgan.fid import inception_network

    return inception_network()
