"""The pinned environment: constraints.txt, pyproject's requirements, environment.yml and
scripts/setup.sh tell the same story, and every third-party import of the package is declared."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")  # Python 3.11+, the version constraints.txt pins

ROOT = Path(__file__).resolve().parents[1]
# Import names of distributions an extra installs that may be absent here (the lfw extra).
KNOWN = {"sklearn": "scikit-learn", "skimage": "scikit-image", "yaml": "pyyaml", "PIL": "pillow",
         "IPython": "ipython", "cv2": "opencv-python"}
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _pins() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not a pin (name==version)"
            pins[canonicalize_name(name)] = Version(version)
    return pins


def _requirements() -> list[Requirement]:
    reqs = [Requirement(r) for r in PYPROJECT["dependencies"]]
    for extra in PYPROJECT["optional-dependencies"].values():
        reqs += [Requirement(r) for r in extra if not r.startswith("symgan[")]
    return reqs


def test_constraints_satisfy_every_declared_requirement():
    pins = _pins()
    assert pins[canonicalize_name("torch")] == Version("2.13.0")
    for req in _requirements():
        name = canonicalize_name(req.name)
        if name in pins:
            assert pins[name] in req.specifier, f"constraints.txt pins {name} {pins[name]}, " \
                                                f"pyproject asks {req}"


def test_environment_yml_and_setup_use_the_same_torch_and_constraints():
    env = (ROOT / "environment.yml").read_text()
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert f"torch=={_pins()['torch']}" in env and "-c constraints.txt" in env
    assert re.search(r"python=3\.11\b", env) and "Python 3.11," in (ROOT / "constraints.txt").read_text()
    assert "-e .[test]" in env  # the extras scripts/test.sh installs
    assert "constraints.txt" in setup and "SYMGAN_TORCH" in setup


def test_every_third_party_import_of_the_package_is_declared():
    """Parse every module of ``symgan/`` and look each top-level import up in the distribution
    that provides it; that distribution must be named by pyproject (core or an extra)."""
    from importlib.metadata import packages_distributions

    provides = packages_distributions()
    declared = {canonicalize_name(r.name) for r in _requirements()}
    missing = {}
    for path in sorted((ROOT / "symgan").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "symgan" or top in sys.stdlib_module_names:
                    continue
                dists = {canonicalize_name(d) for d in provides.get(top, [KNOWN.get(top, top)])}
                if not dists & declared:
                    missing.setdefault(top, []).append(str(path.relative_to(ROOT)))
    assert not missing, f"imported but not in pyproject's dependencies: {missing}"
