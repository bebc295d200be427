"""The book: structure of every chapter, every chapter executed once at smoke scale, the HTML
build of those executed notebooks, and Chromium.

One session fixture (``executed_book``) runs ``python -m symgan book --scale smoke --out``
(papermill) on every chapter listed in ``_toc.yml``, then builds the HTML from the executed
notebooks without executing them again; the per-chapter, HTML and Chromium tests all read it.
Those tests are marked ``slow`` (``-m "not slow"`` leaves them out); scripts/test.sh
distributes tests by file (``--dist loadfile``), so this module, and the fixture, run on one worker.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from symgan.commands.book import chapters, find_chromium, render_page

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = chapters(ROOT)


def _smoke_env() -> dict[str, str]:
    """The environment at call time (the session's data and runs folders), at smoke scale."""
    return dict(os.environ, SYMGAN_SCALE="smoke", PYTHONHASHSEED="0", OMP_NUM_THREADS="1")


def _jupyter_book() -> str:
    exe = Path(sys.executable).with_name("jupyter-book")
    return str(exe) if exe.exists() else "jupyter-book"


def _committed_chapters() -> set[str]:
    """``book/NN_*.ipynb`` known to git (a chapter being written, untracked, is not yet due)."""
    try:
        out = subprocess.run(["git", "ls-files", "book"], cwd=ROOT, capture_output=True,
                             text=True, timeout=30, check=True).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return {p.name for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb")}
    return {Path(f).name for f in out if Path(f).parent.name == "book"
            and Path(f).suffix == ".ipynb" and Path(f).name[:2].isdigit()}


def test_toc_lists_every_chapter_notebook():
    listed = {p.name for p in CHAPTERS}
    on_disk = _committed_chapters()
    assert on_disk <= listed, f"chapters missing from _toc.yml: {sorted(on_disk - listed)}"
    assert "01_introduction.ipynb" in listed


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_structure(nb_path: Path):
    nb = json.loads(nb_path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"  # papermill and nbval need it
    ids = [c.get("id") for c in nb["cells"]]  # nbformat 4.5: validators warn, -W fails the build
    assert None not in ids and len(set(ids)) == len(ids), f"{nb_path.name}: cells need unique ids"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for c in code:
        assert not c.get("outputs") and c.get("execution_count") is None, (
            f"{nb_path.name}: commit notebooks without outputs")
    src = ["".join(c["source"]) for c in code]
    assert "except ImportError" in src[0] and "pip install" in src[0], "guarded install cell first"
    params = [i for i, c in enumerate(code) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    i = params[0]
    assert "scale = None" in src[i]
    assert "(" not in src[i].split("#")[0] or all(
        "(" not in line.split("#")[0] for line in src[i].splitlines()), "raw knobs only"
    assert "setup_chapter(scale" in src[i + 1] or "get_scale(scale" in src[i + 1]
    md = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "colab.research.google.com" in md, "Colab badge"
    assert "setup_chapter(scale" in src[i + 1], "setup cell right after the parameters"
    # every chapter runs at either geometry: the knob exists and reaches setup_chapter
    assert "geometry = None" in src[i] and "geometry=geometry" in src[i + 1]
    assert "from_scale(cfg.name" not in "".join(src), "configs keep the chapter's geometry"
    assert "hide-input" in code[i + 1].get("metadata", {}).get("tags", []), "setup cell collapsed"
    # A chapter may write a module out to be read, but must check it against the package: the
    # class is used in a later cell, and that cell or one after it asserts something.
    for k, s in enumerate(src):
        for name in re.findall(r"^class (\w+)\(nn\.Module\)", s, flags=re.M):
            uses = [j for j in range(k + 1, len(src)) if name in src[j]]
            assert uses and any("assert" in later for later in src[uses[0]:]), (
                f"{nb_path.name}: teaching class {name} is never checked against the package")


CHAPTERS_WITH_EXERCISES = [p for p in CHAPTERS if p.name[:2] in {f"{k:02d}" for k in range(1, 11)}]


@pytest.mark.parametrize("nb_path", CHAPTERS_WITH_EXERCISES,
                         ids=[p.stem for p in CHAPTERS_WITH_EXERCISES])
def test_chapter_exercises_have_hidden_solutions(nb_path: Path):
    """Every chapter: at least three exercises, each solution behind a toggle (a MyST dropdown
    admonition), and code that checks a solution collapsed too."""
    nb = json.loads(nb_path.read_text())
    md = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    dropdowns = sum(len(re.findall(r"^:class: dropdown\s*$", m, flags=re.M)) for m in md)
    assert dropdowns >= 3, f"{nb_path.name}: {dropdowns} solutions behind a toggle, need >= 3"
    text = "\n".join(md)
    assert re.search(r"^## (Exercises|Tasks)", text, flags=re.M), "an Exercises (or Tasks) section"
    cells = nb["cells"]
    for k, c in enumerate(cells[:-1]):  # a solution's check cell follows its dropdown
        if c["cell_type"] == "markdown" and ":class: dropdown" in "".join(c["source"]):
            nxt = cells[k + 1]
            if nxt["cell_type"] == "code":
                tags = nxt.get("metadata", {}).get("tags", [])
                assert "hide-cell" in tags or "hide-input" in tags, (
                    f"{nb_path.name}: the code after a solution is not collapsed")


# A line that Markdown reads as a block of its own: a list item, a heading or a quote.
_BLOCK_START = re.compile(r"^\s*([-+*]|\d+[.)]|#{1,6}|>)\s")


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_inline_math_is_not_cut_by_a_new_block(nb_path: Path):
    """Inline ``$...$`` may wrap over lines, but a wrapped line that starts with ``+ `` or ``- ``
    opens a list and renders the rest of the formula as text (and the text after it as maths)."""
    nb = json.loads(nb_path.read_text())
    bad = []
    for k, c in enumerate(nb["cells"]):
        if c["cell_type"] != "markdown":
            continue
        text = re.sub(r"\$\$.*?\$\$|```.*?```", "", "".join(c["source"]), flags=re.S)
        inside = False
        for line in text.split("\n"):
            if inside and _BLOCK_START.match(line):
                bad.append(f"cell {k}: {line[:60]!r}")
            if len(re.findall(r"(?<!\\)\$", re.sub(r"`[^`]*`", "", line))) % 2:
                inside = not inside
    assert not bad, f"{nb_path.name}: inline maths broken by a line that starts a block: {bad}"


PROCESS_WORDS = re.compile(r"\b(issue|ticket) ?#?\d+", re.I)


def test_no_words_about_how_the_work_is_organised():
    """The product speaks of the project only: no "issue 4" in the book, docs, code or README."""
    files = [ROOT / "README.md", *sorted((ROOT / "book").glob("*.ipynb")),
             *sorted((ROOT / "book").glob("*.md")), *sorted((ROOT / "docs").glob("*.md")),
             *sorted((ROOT / "symgan").rglob("*.py"))]
    hits = [f"{f.relative_to(ROOT)}: {m.group(0)!r}" for f in files
            for m in PROCESS_WORDS.finditer(f.read_text(encoding="utf-8"))]
    assert not hits, hits


@dataclass
class ExecutedBook:
    """Every chapter executed once at smoke scale and the HTML book built from those notebooks."""

    notebooks: Path  # executed copies, one per chapter (papermill output, also on failure)
    # chapter file name -> its command's exit status
    results: dict[str, int] = field(repr=False)
    html: Path  # .../_build/html
    build: subprocess.CompletedProcess = field(repr=False)


def _execute_chapter(nb: Path, out: Path) -> int:
    """``python -m symgan book --scale smoke --out OUT --chapters NB``, called in this process (a
    kernel per chapter all the same, which inherits this environment); its exit status."""
    from symgan.__main__ import main

    return main(["book", "--scale", "smoke", "--out", str(out), "--chapters", nb.name,
                 "--timeout", "1200"])


@pytest.fixture(scope="session")
def executed_book(isolated_dirs: Path, tmp_path_factory) -> ExecutedBook:
    """Execute every chapter once with ``python -m symgan book --scale smoke --out`` (papermill:
    ``scale`` injected into the parameters cell), called in this process, two chapters at a time
    (each kernel uses one thread), the largest first; then build the HTML with jupyter-book from a copy of the book
    whose notebooks are the executed ones and whose ``_config.yml`` turns execution off, so no
    chapter runs twice. Chapters share the session's runs folder: a model one chapter trains,
    the next loads (``load_or_train`` waits on a run another process is training)."""
    base = tmp_path_factory.mktemp("book")
    executed = base / "executed"
    largest_first = sorted(CHAPTERS, key=lambda p: -len(json.loads(p.read_text())["cells"]))
    with ThreadPoolExecutor(max_workers=2) as pool, pytest.MonkeyPatch.context() as mp:
        for k, v in _smoke_env().items():
            mp.setenv(k, v)
        results = dict(zip([p.name for p in largest_first],
                           pool.map(lambda nb: _execute_chapter(nb, executed), largest_first),
                           strict=True))
    src = base / "src"
    shutil.copytree(ROOT / "book", src / "book",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "_build"))
    shutil.copy2(ROOT / "_toc.yml", src / "_toc.yml")
    config = (ROOT / "_config.yml").read_text()
    assert "execute_notebooks: force" in config, "the test expects _config.yml to execute"
    (src / "_config.yml").write_text(config.replace("execute_notebooks: force",
                                                    'execute_notebooks: "off"'))
    for nb in CHAPTERS:
        if (executed / nb.name).is_file():
            shutil.copy2(executed / nb.name, src / nb.relative_to(ROOT))
    build = subprocess.run(
        [_jupyter_book(), "build", "--all", "-W", "--keep-going", "--path-output",
         str(base / "jb"), str(src)], cwd=src, env=_smoke_env(), capture_output=True, text=True,
        timeout=600)
    return ExecutedBook(executed, results, base / "jb" / "_build" / "html", build)


def _tail(r: subprocess.CompletedProcess) -> str:
    return r.stdout[-6000:] + r.stderr[-3000:]


def _errors(nb: dict) -> list[str]:
    return [f"{o['ename']}: {o['evalue']}" for c in nb["cells"] for o in c.get("outputs", [])
            if o.get("output_type") == "error"]


@pytest.mark.slow
@pytest.mark.parametrize("nb_path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_runs_at_smoke_scale(executed_book: ExecutedBook, nb_path: Path):
    """The chapter's command exits 0 and every code cell ran, with ``scale = "smoke"`` injected
    into the parameters and no error output (a chapter's self-checks are ``assert`` cells)."""
    rc = executed_book.results[nb_path.name]
    out = executed_book.notebooks / nb_path.name
    nb = json.loads(out.read_text()) if out.is_file() else {"cells": []}
    assert rc == 0 and not _errors(nb), f"exit {rc}: {_errors(nb)}"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    injected = [c for c in code if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and 'scale = "smoke"' in "".join(injected[0]["source"])
    params = [k for k, c in enumerate(code) if "parameters" in c["metadata"].get("tags", [])]
    assert code[params[0] + 1] is injected[0], "parameters injected right after the defaults"
    not_run = [k for k, c in enumerate(code) if c.get("execution_count") is None]
    assert not not_run, f"code cells {not_run} did not run"


def test_book_command_rejects_unknown_scale():
    r = subprocess.run([sys.executable, "-m", "symgan", "book", "--scale", "laptop", "--out", "x"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "unknown scale" in r.stderr


@pytest.fixture(scope="session")
def built_book(executed_book: ExecutedBook) -> Path:
    """The HTML book (``.../_build/html``) of the executed chapters; fails if the build did."""
    if executed_book.build.returncode != 0:
        pytest.fail("jupyter-book build failed:\n" + _tail(executed_book.build))
    return executed_book.html


@pytest.mark.slow
def test_book_builds_with_all_chapters(built_book: Path, executed_book: ExecutedBook):
    for nb_path in CHAPTERS:
        page = built_book / "book" / (nb_path.stem + ".html")
        assert page.is_file(), f"missing page {page}"
        html = page.read_text()
        assert "Traceback" not in html and 'class="output traceback' not in html, page.name
        assert "colab.research.google.com" in html
        # every code cell that printed or drew something has its output on the page
        nb = json.loads((executed_book.notebooks / nb_path.name).read_text())
        shown = [c for c in nb["cells"] if c["cell_type"] == "code" and c.get("outputs")
                 and not {"remove-output", "remove-cell"} & set(c["metadata"].get("tags", []))]
        assert html.count('class="cell_output') == len(shown) > 0, page.name
    assert (built_book / "index.html").is_file()
    # widget and MathJax JavaScript is served locally, never from a CDN
    page9 = (built_book / "book" / "09_latent_explorer.html").read_text()
    assert "_static/require.js" in page9 and "_static/embed-amd.js" in page9
    assert "application/vnd.jupyter.widget-state+json" in page9
    for name in ("require.js", "embed-amd.js", "tex-svg.js"):
        assert (built_book / "_static" / name).is_file()
    for nb in CHAPTERS:
        html = (built_book / "book" / (nb.stem + ".html")).read_text()
        assert "cdn.jsdelivr" not in html and "cdnjs.cloudflare" not in html


needs_chromium = pytest.mark.skipif(find_chromium() is None,
                                    reason="chromium not installed (apt-get install -y chromium)")


@pytest.mark.slow
@needs_chromium
def test_widget_renders_offline_in_chromium(built_book: Path, tmp_path: Path):
    dom = render_page(built_book / "book" / "09_latent_explorer.html", tmp_path / "09.png")
    # html-manager replaced the saved state by live widget views: sliders, buttons, the image
    assert "widget-slider" in dom, "saved widget did not render (widget JS not loaded?)"
    assert "widget-toggle-buttons" in dom and "widget-image" in dom
    assert "z'[4]" in dom
    assert (tmp_path / "09.png").stat().st_size > 10_000


@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize("stem", ["02_symmetric_kernels", "05_symmetric_discriminator",
                                  "06_loss_baselines_and_faces"])
def test_figures_and_math_render_in_chromium(built_book: Path, stem: str):
    dom = render_page(built_book / "book" / f"{stem}.html")
    assert dom.count("<img") >= 3, "figures missing"
    assert "mjx-container" in dom, "MathJax (served locally) did not typeset the formulas"
    assert "Figure" in dom


@pytest.mark.slow
@needs_chromium
def test_solutions_are_collapsed_and_citations_resolve_in_chromium(built_book: Path):
    dom = render_page(built_book / "book" / "06_loss_baselines_and_faces.html")
    # MyST dropdown admonitions: closed <details> (sphinx-togglebutton) holding the solution
    assert dom.count("Solution") >= 3 and "dropdown" in dom
    assert "toggle" in dom
    # {cite} roles became links to the bibliography, not raw role text
    assert "{cite}" not in dom and "references.html#id" in dom
