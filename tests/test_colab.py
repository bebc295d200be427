"""Colab: every chapter's badge and install cell derive from ``repository`` in ``_config.yml``.

The repository URL lives in one place; ``python -m symgan.colab`` rewrites the two Colab cells of
every chapter from it. These tests fail when a chapter drifts (a hand-edited badge, a relative
badge image, an install cell that pulls the heavy ``[book]`` extra into Colab) and check that the
``colab`` extra stays light.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from symgan.colab import (
    BADGE_IMAGE,
    Repository,
    badge_markdown,
    install_cell_source,
    read_repository,
    sync_book,
    sync_notebook,
)
from symgan.commands.book import chapters

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = chapters(ROOT)
REPO = read_repository(ROOT)
BADGE_RE = re.compile(r"\[!\[Open In Colab\]\(([^)]*)\)\]\(([^)]*)\)")


def _cells(nb_path: Path) -> list[dict]:
    return json.loads(nb_path.read_text(encoding="utf-8"))["cells"]


def test_config_has_one_repository_and_colab_launch_buttons():
    import yaml

    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert cfg["repository"]["url"] == REPO.url and REPO.url.startswith("https://github.com/")
    assert cfg["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert cfg["html"]["use_repository_button"] is True


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_badge_derives_from_config(nb_path: Path):
    md = "".join("".join(c["source"]) for c in _cells(nb_path) if c["cell_type"] == "markdown")
    badges = BADGE_RE.findall(md)
    assert len(badges) == 1, f"{nb_path.name}: expected one Colab badge, found {len(badges)}"
    image, link = badges[0]
    assert image == BADGE_IMAGE and image.startswith("https://"), "badge image must be absolute"
    rel = nb_path.relative_to(ROOT).as_posix()
    assert link == REPO.notebook_url(rel), f"{nb_path.name}: badge link {link!r} is not derived " \
        f"from _config.yml (run: python -m symgan.colab)"
    first_md = next(c for c in _cells(nb_path) if c["cell_type"] == "markdown")
    assert badge_markdown(REPO, rel) in "".join(first_md["source"]), "badge in the title cell"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_install_cell_derives_from_config(nb_path: Path):
    code = [c for c in _cells(nb_path) if c["cell_type"] == "code"]
    src = "".join(code[0]["source"])
    assert src == install_cell_source(REPO), (
        f"{nb_path.name}: first code cell is not the install cell of _config.yml's repository "
        "(run: python -m symgan.colab)")
    assert "symgan[colab]" in src and "[book]" not in src
    assert "git+https://github.com/" + REPO.slug + "@" + REPO.branch in src


def test_sync_is_a_no_op_on_the_committed_chapters():
    assert sync_book(ROOT, write=False) == []


def test_sync_rewrites_only_the_two_colab_cells(tmp_path: Path):
    root = tmp_path / "repo"
    (root / "book").mkdir(parents=True)
    src = CHAPTERS[0]
    nb_path = root / "book" / src.name
    shutil.copy(src, nb_path)
    before = _cells(nb_path)
    other = Repository("https://github.com/someone/elsewhere", branch="dev")
    assert sync_notebook(nb_path, other, root) is True
    after = _cells(nb_path)
    assert len(after) == len(before)
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    first_code = next(i for i, c in enumerate(before) if c["cell_type"] == "code")
    assert set(changed) <= {0, first_code}
    text = "".join(after[0]["source"])
    assert "https://colab.research.google.com/github/someone/elsewhere/blob/dev/book/" in text
    assert "git+https://github.com/someone/elsewhere@dev" in "".join(after[first_code]["source"])
    # the rest of the title cell is unchanged
    strip = lambda s: BADGE_RE.sub("", s)  # noqa: E731
    assert strip(text) == strip("".join(before[0]["source"]))
    assert sync_notebook(nb_path, other, root) is False  # idempotent


def test_sync_adds_missing_cells(tmp_path: Path):
    nb = {"cells": [
        {"cell_type": "markdown", "id": "a", "metadata": {}, "source": ["# Title\n", "\n", "Text."]},
        {"cell_type": "code", "id": "b", "metadata": {}, "execution_count": None, "outputs": [],
         "source": ["x = 1"]},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    p = tmp_path / "book" / "10_new.ipynb"
    p.parent.mkdir()
    p.write_text(json.dumps(nb))
    assert sync_notebook(p, REPO, tmp_path)
    cells = _cells(p)
    assert [c["cell_type"] for c in cells] == ["markdown", "code", "code"]
    assert "".join(cells[0]["source"]).startswith("# Title\n\n" + badge_markdown(REPO, "book/10_new.ipynb"))
    assert "".join(cells[1]["source"]) == install_cell_source(REPO)
    assert "".join(cells[2]["source"]) == "x = 1"


def test_repository_rejects_what_colab_cannot_open():
    with pytest.raises(ValueError, match="GitHub URL"):
        Repository("https://gitlab.com/a/b")
    with pytest.raises(ValueError, match="branch"):
        Repository("https://github.com/a/b", branch="")
    assert Repository("https://github.com/a/b.git").slug == "a/b"


def test_colab_extra_is_light_and_pins_ipywidgets_to_what_colab_renders():
    tomllib = pytest.importorskip("tomllib")
    from packaging.requirements import Requirement

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = meta["optional-dependencies"]
    colab = [Requirement(r) for r in extras["colab"]]
    names = {r.name for r in colab}
    assert not names & {"jupyter-book", "papermill", "torch", "nbval", "pytest"}
    (widgets,) = [r for r in colab if r.name == "ipywidgets"]
    # Colab's preinstalled 7.7 line and the 8.x line both satisfy the range; 9 does not
    assert all(v in widgets.specifier for v in ("7.7.1", "8.1.5"))
    assert "9.0.0" not in widgets.specifier and "7.6.5" not in widgets.specifier
    # the core dependency keeps Colab's own torch: an open lower bound only
    (torch_req,) = [Requirement(r) for r in meta["dependencies"] if r.startswith("torch")]
    assert all(s.operator == ">=" for s in torch_req.specifier)
