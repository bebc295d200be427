"""Shared test settings: deterministic, single-threaded torch so two cores stay usable."""

import os

import pytest
import torch

os.environ.setdefault("SYMGAN_SCALE", "smoke")
torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
