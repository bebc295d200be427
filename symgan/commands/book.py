"""``python -m symgan book``: execute every chapter at a scale with papermill, or build the HTML.

* ``python -m symgan book --scale gpu --out runs/book-gpu`` runs every notebook listed in
  ``_toc.yml`` with papermill (kernel ``python3``, the notebook's folder as working directory,
  ``scale`` injected into its ``parameters`` cell) and writes the executed copies to ``--out``.
* ``python -m symgan book --build [--scale cpu]`` builds the HTML book with
  ``jupyter-book build --all -W --keep-going`` (warnings are errors), the scale passed to every
  notebook through ``$SYMGAN_SCALE``, and prints where ``index.html`` is.

Adding a chapter is adding a notebook to ``book/`` and a line to ``_toc.yml``. Chapter:
``book/01_introduction``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import fail, int_arg

HELP = "execute the book's chapters at a scale (papermill) or build the HTML book"


def find_root(start: Path | None = None) -> Path:
    """The book root: the first folder from ``start`` (default: cwd) upwards with ``_toc.yml``."""
    here = (start or Path.cwd()).resolve()
    for p in [here, *here.parents]:
        if (p / "_toc.yml").is_file() and (p / "_config.yml").is_file():
            return p
    raise FileNotFoundError(
        f"no _toc.yml/_config.yml found in {here} or above: run from the repository or pass --root"
    )


def chapters(root: Path) -> list[Path]:
    """The notebooks listed in ``root/_toc.yml`` (root page, chapters, sections), in order."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    files.append(node[key])
            for v in node.values():
                if isinstance(v, list | dict):
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc)
    out, missing = [], []
    for f in files:
        p = root / f
        if p.suffix == "" and not p.with_suffix(".ipynb").is_file():
            if not any(p.with_suffix(s).is_file() for s in (".md", ".rst")):
                missing.append(f)  # a page the book would silently lose
            continue
        if p.suffix == "":
            p = p.with_suffix(".ipynb")
        if p.suffix == ".ipynb":
            if not p.is_file():
                missing.append(f)
                continue
            out.append(p)
    if missing:
        raise FileNotFoundError(f"{root / '_toc.yml'} lists pages that do not exist: {', '.join(missing)}")
    return out


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome binary, or ``None``."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _chromium_args(user_dir: str) -> list[str]:
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", f"--user-data-dir={user_dir}"]


def render_page(html: Path, png: Path | None = None, width: int = 1280, height: int = 2000,
                wait_ms: int = 8000, timeout: float = 120) -> str:
    """Load ``html`` in headless Chromium, let scripts run ``wait_ms`` (virtual time) and return
    the DOM after scripts ran; with ``png`` also write a ``width x height`` screenshot."""
    import tempfile

    exe = find_chromium()
    if exe is None:
        raise FileNotFoundError("chromium not found (Debian: apt-get install -y chromium)")
    url = html.resolve().as_uri()
    with tempfile.TemporaryDirectory() as user_dir:
        base = [exe, *_chromium_args(user_dir), f"--virtual-time-budget={wait_ms}",
                f"--window-size={width},{height}"]
        dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True,
                             timeout=timeout).stdout
        if png is not None:
            png.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([*base, f"--screenshot={png.resolve()}", url], capture_output=True,
                           timeout=timeout, check=True)
    return dom


def _content_bottom(img, gap: int = 600) -> int:
    """Last row of the page's content: where the first white run of ``gap`` rows starts in the
    content column (the window is taller than the page; the footer sits at its bottom)."""
    import numpy as np

    w = img.width
    body = np.asarray(img.convert("L").crop((w // 4, 0, w * 3 // 4, img.height)))
    inked = (body < 250).any(axis=1)
    run = 0
    for y, ink in enumerate(inked):
        run = 0 if ink else run + 1
        if run >= gap:
            return min(img.height, y - gap + 41)
    return img.height


def screenshot_pages(html_dir: Path, out_dir: Path, pages: list[Path], width: int = 1280,
                     tile: int = 2000, max_height: int = 26000) -> list[Path]:
    """Screenshot each built page (``html_dir/book/<stem>.html``) in headless Chromium, cut into
    ``width x tile`` PNGs ``out_dir/<stem>-<k>.png`` (blank bottom trimmed); returns the files."""
    import tempfile

    from PIL import Image

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for page in pages:
        html = html_dir / "book" / (page.stem + ".html")
        with tempfile.TemporaryDirectory() as tmp:
            full = Path(tmp) / "full.png"
            render_page(html, full, width=width, height=max_height)
            img = Image.open(full).convert("RGB")
        bottom = _content_bottom(img)
        for old in out_dir.glob(f"{page.stem}-*.png"):
            old.unlink()
        for k, y in enumerate(range(0, bottom, tile)):
            part = out_dir / f"{page.stem}-{k + 1}.png"
            piece = img.crop((0, y, width, min(bottom, y + tile)))
            # 256 adaptive colours: a third of the size, indistinguishable for review
            piece.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(part, optimize=True)
            written.append(part)
    return written


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", default=None, help="smoke, cpu (default) or gpu")
    p.add_argument("--geometry", default=None, choices=["paper", "dcgan"],
                   help="paper (default: 5x5 layers, 17/33/65 px) or dcgan (4x4, 16/32/64 px), "
                        "passed to every chapter as $SYMGAN_GEOMETRY")
    p.add_argument("--out", default=None, help="folder for executed notebooks (papermill mode)")
    p.add_argument("--build", action="store_true", help="build the HTML book (jupyter-book)")
    p.add_argument("--build-dir", default=None, help="jupyter-book --path-output (default: root)")
    p.add_argument("--chapters", nargs="*", default=None,
                   help="only chapters whose file name contains one of these strings")
    p.add_argument("--root", default=None, help="folder with _toc.yml (default: found from cwd)")
    p.add_argument("--timeout", type=int_arg(1, 10**6), default=1800, help="seconds per cell (papermill)")
    p.add_argument("--screenshots", default=None,
                   help="after --build: PNG screenshots of every chapter page into this folder")


def _execute(root: Path, scale: str, out: Path, only: list[str] | None, timeout: int) -> int:
    import papermill as pm

    out.mkdir(parents=True, exist_ok=True)
    failed = []
    for nb in chapters(root):
        if only and not any(s in nb.name for s in only):
            continue
        t0 = time.perf_counter()
        dest = out / nb.name
        try:
            pm.execute_notebook(str(nb), str(dest), parameters={"scale": scale}, kernel_name="python3",
                                cwd=str(nb.parent), execution_timeout=timeout, progress_bar=False)
            status = "ok"
        except Exception as e:  # papermill raises PapermillExecutionError with the cell
            failed.append(nb.name)
            status = f"FAILED: {type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else ''}"
        print(f"{nb.name:40s} {time.perf_counter() - t0:7.1f} s  {status}", flush=True)
    print(f"executed notebooks in {out.resolve()}")
    if failed:
        print(f"{len(failed)} chapter(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def build(root: Path, scale: str, build_dir: Path | None = None) -> tuple[int, Path]:
    """Run ``jupyter-book build --all -W --keep-going`` with ``SYMGAN_SCALE=scale``.

    Returns the exit status and the path of ``index.html``.
    """
    env = dict(os.environ, SYMGAN_SCALE=scale)
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", "--all", "-W", "--keep-going"]
    if build_dir is not None:
        cmd += ["--path-output", str(build_dir)]
    cmd.append(str(root))
    rc = subprocess.run(cmd, env=env, cwd=root).returncode
    html = (build_dir or root) / "_build" / "html" / "index.html"
    return rc, html


def run(args: argparse.Namespace) -> int:
    from ..scales import resolve_scale

    try:
        scale = resolve_scale(args.scale)
        root = Path(args.root).resolve() if args.root else find_root()
        chapters(root)  # a missing chapter is refused before any work
    except (ValueError, FileNotFoundError) as e:
        return fail(e, 2)
    if args.geometry:
        os.environ["SYMGAN_GEOMETRY"] = args.geometry  # chapters' kernels inherit it
    if not args.build and not args.out:
        print("nothing to do: pass --out DIR (execute chapters) and/or --build (HTML)", file=sys.stderr)
        return 2
    rc = 0
    if args.out:
        rc = _execute(root, scale, Path(args.out), args.chapters, args.timeout)
    if args.build:
        t0 = time.perf_counter()
        brc, html = build(root, scale, Path(args.build_dir).resolve() if args.build_dir else None)
        print(f"jupyter-book build at scale {scale!r}: exit {brc} after {time.perf_counter() - t0:.0f} s")
        print(f"HTML: {html.resolve()}")
        rc = rc or brc
        if args.screenshots and brc == 0:
            pages = chapters(root)
            if args.chapters:
                pages = [p for p in pages if any(s in p.name for s in args.chapters)]
            shots = screenshot_pages(html.parent, Path(args.screenshots), pages)
            print(f"{len(shots)} screenshots in {Path(args.screenshots).resolve()}")
    return rc
