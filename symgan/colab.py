"""The book's Colab links, derived from one place: ``repository`` in ``_config.yml``.

Every chapter carries two Colab cells, and both are generated from ``repository.url`` and
``repository.branch`` (Jupyter Book's launch buttons read the same two keys):

* a **badge** line in the chapter's first Markdown cell,
  ``[![Open In Colab](<absolute badge image>)](<colab>/github/<owner>/<repo>/blob/<branch>/<path>)``;
  the image URL is absolute, because a relative one breaks once the notebook runs in Colab;
* a guarded **install cell**, the chapter's first code cell, which installs
  ``symgan[colab]`` from the repository only where ``import symgan`` fails. The ``colab`` extra
  is light: it relies on Colab's own torch and adds neither jupyter-book nor papermill.

After changing the repository in ``_config.yml``, rewrite every chapter with
``python -m symgan.colab`` (``--check`` only reports, exit status 1 if a chapter disagrees).
Only those two cells are touched; ``tests/test_colab.py`` checks that every chapter agrees.

Chapter: ``book/01_introduction``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BADGE_IMAGE",
    "Repository",
    "read_repository",
    "badge_markdown",
    "install_cell_source",
    "sync_notebook",
    "sync_book",
]

BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
_BADGE_RE = re.compile(r"^\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)[ \t]*$", re.MULTILINE)
_GITHUB_RE = re.compile(r"^https://github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class Repository:
    """Where the book's notebooks live: a GitHub ``url``, a ``branch`` and Colab's base URL."""

    url: str
    branch: str = "main"
    colab_url: str = "https://colab.research.google.com"

    def __post_init__(self) -> None:
        if not _GITHUB_RE.match(self.url):
            raise ValueError(
                f"repository.url must be a GitHub URL like https://github.com/OWNER/NAME "
                f"(Colab opens notebooks from GitHub), got {self.url!r}"
            )
        if not self.branch or any(c.isspace() for c in self.branch):
            raise ValueError(f"repository.branch must be a branch name, got {self.branch!r}")

    @property
    def slug(self) -> str:
        """``owner/name`` of the GitHub repository."""
        m = _GITHUB_RE.match(self.url)
        assert m is not None  # checked in __post_init__
        return f"{m.group(1)}/{m.group(2)}"

    def notebook_url(self, rel_path: str) -> str:
        """The Colab URL that opens ``rel_path`` (relative to the repository root)."""
        return f"{self.colab_url.rstrip('/')}/github/{self.slug}/blob/{self.branch}/{rel_path}"

    @property
    def install_spec(self) -> str:
        """The pip requirement the install cells use: ``symgan[colab] @ git+URL@BRANCH``."""
        return f"symgan[colab] @ git+https://github.com/{self.slug}@{self.branch}"


def read_repository(root: Path) -> Repository:
    """The :class:`Repository` of ``root/_config.yml`` (``repository.url`` and ``.branch``,
    ``launch_buttons.colab_url``); ``ValueError`` naming the missing key otherwise."""
    import yaml

    cfg = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8")) or {}
    repo = cfg.get("repository") or {}
    if not repo.get("url"):
        raise ValueError(f"{Path(root) / '_config.yml'}: repository.url is missing")
    colab = (cfg.get("launch_buttons") or {}).get("colab_url") or Repository.colab_url
    return Repository(str(repo["url"]), str(repo.get("branch") or "main"), str(colab))


def badge_markdown(repo: Repository, rel_path: str) -> str:
    """The "Open in Colab" badge line of the notebook at ``rel_path``."""
    return f"[![Open In Colab]({BADGE_IMAGE})]({repo.notebook_url(rel_path)})"


def install_cell_source(repo: Repository) -> str:
    """Source of every chapter's first code cell: install ``symgan[colab]`` where it is missing."""
    return (
        "# Setup: in Colab (or wherever symgan is missing) install it.\n"
        "try:\n"
        "    import symgan\n"
        "except ImportError:\n"
        f'    %pip install -q "{repo.install_spec}"\n'
        "    import symgan"
    )


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _is_install_cell(cell: dict) -> bool:
    src = "".join(cell.get("source", []))
    return cell.get("cell_type") == "code" and "except ImportError" in src and "pip install" in src


def sync_notebook(path: Path, repo: Repository, root: Path, write: bool = True) -> bool:
    """Make the badge and the install cell of the notebook ``path`` agree with ``repo``.

    The badge replaces an existing badge line of the first Markdown cell (or goes after its
    first line, the title); the install cell replaces the first code cell if that is a guarded
    install cell, else it is inserted before the first code cell. No other cell is touched.
    Returns whether anything changed (written only when ``write``).
    """
    path = Path(path)
    raw = path.read_text(encoding="utf-8")
    nb = json.loads(raw)
    cells = nb["cells"]
    rel = path.resolve().relative_to(Path(root).resolve()).as_posix()

    md = next((c for c in cells if c["cell_type"] == "markdown"), None)
    if md is None:
        raise ValueError(f"{path}: no Markdown cell for the Colab badge (expected a title cell)")
    text = "".join(md["source"])
    badge = badge_markdown(repo, rel)
    if _BADGE_RE.search(text):
        new = _BADGE_RE.sub(lambda _m: badge, text, count=1)
    else:
        head, sep, rest = text.partition("\n")
        new = f"{head}\n\n{badge}\n{sep and rest}" if sep else f"{head}\n\n{badge}"
    md["source"] = _lines(new)

    first_code = next((i for i, c in enumerate(cells) if c["cell_type"] == "code"), None)
    source = _lines(install_cell_source(repo))
    if first_code is not None and _is_install_cell(cells[first_code]):
        cells[first_code]["source"] = source
    else:
        at = first_code if first_code is not None else len(cells)
        cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                "source": source}
        if nb.get("nbformat", 4) >= 4 and nb.get("nbformat_minor", 0) >= 5:
            cell["id"] = f"colab-install-{at}"
        cells.insert(at, cell)

    out = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    changed = out != raw
    if changed and write:
        path.write_text(out, encoding="utf-8")
    return changed


def sync_book(root: Path, write: bool = True) -> list[Path]:
    """:func:`sync_notebook` for every notebook of ``root/_toc.yml``; returns those that changed
    (or, with ``write=False``, would change)."""
    from .commands.book import chapters

    repo = read_repository(root)
    return [nb for nb in chapters(Path(root)) if sync_notebook(nb, repo, root, write=write)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m symgan.colab",
        description="rewrite every chapter's Colab badge and install cell from _config.yml",
    )
    p.add_argument("--root", default=None, help="folder with _toc.yml (default: found from cwd)")
    p.add_argument("--check", action="store_true", help="only report; exit 1 if a chapter disagrees")
    args = p.parse_args(argv)
    from .commands.book import find_root

    root = Path(args.root).resolve() if args.root else find_root()
    changed = sync_book(root, write=not args.check)
    repo = read_repository(root)
    verb = "disagree with" if args.check else "rewritten from"
    for nb in changed:
        print(f"{nb.relative_to(root)}: {verb} {repo.url}@{repo.branch}")
    if not changed:
        print(f"every chapter agrees with {repo.url}@{repo.branch}")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
