"""The weights shipped in ``symgan/pretrained``: listed, intact, loadable, as exact as their
manifest says, found by ``load_or_train`` without training, and carried by the wheel.

Nothing here trains the shipped weights: a failure says how to retrain them.
"""

from __future__ import annotations

import argparse
import copy
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

import symgan.pretrained as pkg
from symgan.data.fetch import file_digest
from symgan.metrics import fixed_latents
from symgan.pretrained import PretrainedError, find, load, manifest, shipped_configs
from symgan.pretrained.export import exactness
from symgan.symmetry import mirror

pytestmark = pytest.mark.usefixtures("scratch_dirs")

CONFIGS = shipped_configs("cpu")
REPO = Path(__file__).resolve().parents[1]


def _entry(name: str) -> dict:
    hits = [e for e in manifest()["files"].values() if e["name"] == name]
    assert hits, f"the manifest has no entry for {name}; retrain with `{pkg.RETRAIN}`"
    return hits[0]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_shipped_run_is_listed_for_the_current_config(name: str) -> None:
    e = _entry(name)
    assert e["key"] == CONFIGS[name].key(), (
        f"{name}: the shipped weights were trained for another config or model version "
        f"(key {e['key']}, now {CONFIGS[name].key()}); retrain with `{pkg.RETRAIN}`")
    assert e["steps"] == CONFIGS[name].max_steps and e["stop_reason"] == "max steps", e["stop_reason"]
    assert e["command"].startswith("python -m symgan pretrain") and e["torch"] and e["config"]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_shipped_files_match_their_sha256_and_load(name: str) -> None:
    path, e = find(CONFIGS[name])
    assert file_digest(path) == e["sha256"] and path.stat().st_size == e["bytes"]
    G, D, cfg, _ = load(name)  # a PretrainedError here says to retrain
    assert cfg.key() == CONFIGS[name].key()
    assert not G.training and not D.training


@pytest.mark.parametrize("name", list(CONFIGS))
def test_shipped_weights_reproduce_their_exactness_figures(name: str) -> None:
    G, D, cfg, e = load(name)
    got, want = exactness(G, D), e["metrics"]["exactness"]
    assert got.keys() == want.keys()
    for k, v in got.items():
        tol = 1e-12 if k.endswith("float64") else 1e-6
        assert abs(v - want[k]) <= tol + 1e-4 * abs(want[k]), (k, v, want[k])
    if cfg.arch == "tile":  # periodic: tiling the latent tiles the image
        assert got["G_tiling_float32"] < 1e-5 and got["G_tiling_float64"] < 1e-10, got
    elif cfg.arch == "tile_plain":  # the zero-padded control
        assert got["G_tiling_float32"] > 1e-2, got
    elif cfg.arch in ("zprime", "flip"):
        assert got["G_mirror_float32"] < 1e-5 and got["G_mirror_float64"] < 1e-12, got
        # D: a logit is a long sum (a stack of 5x5 convolutions, then the fold), so its
        # round-off is some tens of units in the last place of the logits' scale, in either
        # precision; exactness shows as a float64 error about 5e8 times below float32's (the
        # ratio of the two machine epsilons), not a structural gap. Bound both
        # at 100 round-offs of that scale (the plain discriminator misses by orders of magnitude).
        x = G(fixed_latents(64, G.z_dim, 0))
        scale = 1.0 + D(x).abs().max().item()
        d64 = copy.deepcopy(D).double()
        err64 = (d64(mirror(x.double())) - d64(x.double())).abs().max().item()
        assert got["D_mirror_float32"] < 100 * torch.finfo(torch.float32).eps * scale, (got, scale)
        assert err64 < 100 * torch.finfo(torch.float64).eps * scale, (err64, scale)
    else:
        assert got["G_mirror_float32"] > 1e-2, got  # the control is not symmetric


def test_shipped_files_are_within_the_size_budget() -> None:
    total = sum(e["bytes"] for e in manifest()["files"].values())
    assert 0 < total <= 40e6, total
    listed = set(manifest()["files"])
    on_disk = {p.name for p in pkg.FOLDER.glob("*.safetensors")}
    assert on_disk == listed, f"files not in the manifest: {on_disk - listed}; missing: {listed - on_disk}"


def test_load_or_train_takes_the_shipped_weights_without_training(isolated_dirs: Path) -> None:
    import os

    from symgan.runs import load_or_train

    runs = Path(os.environ["SYMGAN_RUNS"])
    before = set(runs.iterdir()) if runs.exists() else set()
    r = load_or_train(CONFIGS["zprime-faces"], train_if_missing=False)  # never trains here
    assert r.info["pretrained"] and r.info["step"] == CONFIGS["zprime-faces"].max_steps
    after = set(runs.iterdir()) if runs.exists() else set()
    assert after == before  # no run folder, nothing trained
    G, _, _, _ = load("zprime-faces")
    for k, v in G.state_dict().items():
        assert torch.equal(v, r.generator.state_dict()[k]), k


@pytest.fixture
def shipped_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped folder the package reads instead (to alter it safely)."""
    folder = tmp_path / "pretrained"
    shutil.copytree(pkg.FOLDER, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    monkeypatch.setattr(pkg, "FOLDER", folder)
    monkeypatch.setattr(pkg, "MANIFEST", folder / "manifest.json")
    return folder


def test_an_altered_file_is_refused(shipped_copy: Path) -> None:
    path, _ = find(CONFIGS["zprime-faces"])
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(PretrainedError, match="SHA-256 .* differs .*pretrain"):
        load("zprime-faces")


def test_a_missing_file_is_reported(shipped_copy: Path) -> None:
    path, _ = find(CONFIGS["flip-faces"])
    path.unlink()
    with pytest.raises(PretrainedError, match="missing.*pretrain"):
        load("flip-faces")


def test_weights_that_no_longer_fit_the_models_say_to_retrain(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a change to the model code looks like: the stored tensors no longer fit."""
    from symgan.config import TrainConfig

    real_build = TrainConfig.build_models

    def wider(self):
        G, D = real_build(self)
        G.extra_layer = torch.nn.Linear(2, 2)  # a parameter the shipped file lacks
        return G, D

    monkeypatch.setattr(TrainConfig, "build_models", wider)
    with pytest.raises(PretrainedError, match="no longer load .*python -m symgan pretrain"):
        load("zprime-faces")


def test_a_changed_model_version_finds_nothing_and_says_to_retrain(monkeypatch: pytest.MonkeyPatch) -> None:
    import symgan.config

    monkeypatch.setattr(symgan.config, "MODEL_VERSION", symgan.config.MODEL_VERSION + 1)
    assert find(CONFIGS["zprime-faces"]) is None
    with pytest.raises(PretrainedError, match="MODEL_VERSION changed.*pretrain"):
        load("zprime-faces")


def test_pretrain_command_trains_and_exports_at_smoke_scale(shipped_copy: Path) -> None:
    from symgan.commands import pretrain

    args = argparse.Namespace(scale="smoke", only=["zprime-faces"], jobs=1, threads=1,
                              no_export=False, fid=0)
    assert pretrain.run(args) == 0
    cfg = shipped_configs("smoke")["zprime-faces"]
    path, e = find(cfg)
    assert path.parent == shipped_copy and e["steps"] == cfg.max_steps
    assert e["metrics"]["exactness"]["G_mirror_float64"] < 1e-12
    assert len([x for x in manifest()["files"].values() if x["name"] == "zprime-faces"]) == 1
    with pytest.raises(SystemExit, match="unknown run"):
        pretrain.run(argparse.Namespace(scale="smoke", only=["nope"], jobs=1, threads=1, no_export=True, fid=0))


def test_the_wheel_carries_the_shipped_weights_and_no_others(tmp_path: Path) -> None:
    """The wheel is built from the tracked files alone (what a clone holds): setuptools' ``build/``
    folder in a working tree keeps the weights of earlier builds and would ship them too."""
    src = tmp_path / "src"
    tracked = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], check=True,
                             capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, tracked):
        if (REPO / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, src / rel)
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path)], check=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob("symgan-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    want = {f"symgan/pretrained/{f}" for f in manifest()["files"]} | {"symgan/pretrained/manifest.json"}
    assert want <= names, sorted(want - names)
    shipped = {n for n in names if n.startswith("symgan/pretrained/") and not n.endswith(".py")}
    assert shipped == want, f"files in the wheel the manifest does not list: {sorted(shipped - want)}"


def test_the_shipped_yaw_regressor_loads_without_training(isolated_dirs: Path) -> None:
    import os

    from symgan.pretrained import SHIPPED_YAW, find_file
    from symgan.studies.yaw import load_yaw_regressor

    models = Path(os.environ["SYMGAN_DATA"]) / "models"
    before = set(models.glob("yaw-*")) if models.exists() else set()
    for name, kw in SHIPPED_YAW.items():
        entries = [f for f, e in manifest()["files"].items() if e["name"] == name]
        assert entries, f"the manifest has no {name}; retrain with `{pkg.RETRAIN}`"
        path, e = find_file(entries[0])
        assert e["metrics"]["held_out"]["mae"] < 3.0, e["metrics"]
        assert e["chapters"] == pkg.SHIPPED_YAW_CHAPTERS[name], (
            f"the manifest's chapters of {name} are stale: rerun `python -m symgan pretrain --scale cpu "
            f"--only {name}`")
        model = load_yaw_regressor(**kw)
        from safetensors.torch import load_file

        for k, v in load_file(str(path)).items():
            assert torch.equal(model.state_dict()[k], v), k
    after = set(models.glob("yaw-*")) if models.exists() else set()
    assert after == before  # nothing trained, nothing cached
