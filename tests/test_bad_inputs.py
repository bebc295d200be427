"""Every bad argument is refused up front: the API, checkpoint metadata and every command.

Each case asserts the exception type (or the command's exit status 2) and that the message
names the argument; the command cases also check that nothing was written.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from safetensors.torch import save as st_save

from symgan.__main__ import main
from symgan.checkpoint import (
    FORMAT,
    MAX_META_BYTES,
    CheckpointError,
    _digest,
    load_checkpoint,
    load_models,
    save_checkpoint,
)
from symgan.checks import NonFiniteError
from symgan.config import TrainConfig
from symgan.data.fetch import download, fetch
from symgan.device import auto_device
from symgan.discriminators import Discriminator
from symgan.generators import Generator
from symgan.layers import SymConv2d, SymConvTranspose2d
from symgan.runs import load_or_train
from symgan.train import Trainer

NO_CUDA = not torch.cuda.is_available()


pytestmark = pytest.mark.usefixtures("scratch_dirs")


def names(message: str, name: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", message) is not None


# -- TrainConfig: every field ----------------------------------------------------------------------
CONFIG = [
    ({"method": "nope"}, ValueError, "method"),
    ({"method": ["zprime"]}, ValueError, "method"),
    ({"arch": "unet"}, ValueError, "arch"),
    ({"symmetric_d": "yes"}, TypeError, "symmetric_d"),
    ({"encoding": "flip"}, ValueError, "encoding"),
    ({"method": "dcgan", "encoding": "polar"}, ValueError, "encoding"),
    ({"alpha": -1.0}, ValueError, "alpha"),
    ({"alpha": math.nan}, ValueError, "alpha"),
    ({"alpha": "40"}, TypeError, "alpha"),
    ({"sym_reduction": "max"}, ValueError, "sym_reduction"),
    ({"data": "../../x"}, ValueError, "data"),
    ({"data": "folder"}, ValueError, "data"),
    ({"data": None}, ValueError, "data"),
    ({"n_train": 0}, ValueError, "n_train"),
    ({"n_train": 2.5}, TypeError, "n_train"),
    ({"n_train": 10**12}, ValueError, "n_train"),
    ({"data_seed": -1}, ValueError, "data_seed"),
    ({"img_size": 18}, ValueError, "img_size"),
    ({"img_size": 0}, ValueError, "img_size"),
    ({"img_size": True}, TypeError, "img_size"),
    ({"img_size": 17.0}, TypeError, "img_size"),
    ({"geometry": "hex"}, ValueError, "geometry"),
    ({"img_size": 17, "geometry": "dcgan"}, ValueError, "img_size"),
    ({"channels": 2}, ValueError, "channels"),
    ({"channels": "3"}, TypeError, "channels"),
    ({"z_dim": 0}, ValueError, "z_dim"),
    ({"z_dim": 1}, ValueError, "z_dim"),
    ({"n_anti": 0}, ValueError, "n_anti"),
    ({"n_anti": 100}, ValueError, "n_anti"),
    ({"width": 0}, ValueError, "width"),
    ({"width": -8}, ValueError, "width"),
    ({"width": 2400}, ValueError, "width"),
    ({"width": 8.5}, TypeError, "width"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"batch_size": 10**6}, ValueError, "batch_size"),
    ({"max_steps": 0}, ValueError, "max_steps"),
    ({"max_steps": -1}, ValueError, "max_steps"),
    ({"max_steps": "40"}, TypeError, "max_steps"),
    ({"time_budget_s": -5.0}, ValueError, "time_budget_s"),
    ({"time_budget_s": 0}, ValueError, "time_budget_s"),
    ({"time_budget_s": math.inf}, ValueError, "time_budget_s"),
    ({"lr": 0.0}, ValueError, "lr"),
    ({"lr": -2e-4}, ValueError, "lr"),
    ({"lr": math.nan}, ValueError, "lr"),
    ({"beta1": 1.0}, ValueError, "beta1"),
    ({"beta2": -0.1}, ValueError, "beta2"),
    ({"seed": -1}, ValueError, "seed"),
    ({"seed": 2**40}, ValueError, "seed"),
    ({"seed": 1.5}, TypeError, "seed"),
    ({"device": "tpu"}, ValueError, "device"),
    ({"device": 0}, TypeError, "device"),
    pytest.param({"device": "cuda"}, ValueError, "device", marks=pytest.mark.skipif(not NO_CUDA, reason="has CUDA")),
    ({"device": "cuda:99"}, ValueError, "device"),
    ({"amp": "no"}, TypeError, "amp"),
    ({"out_dir": ""}, TypeError, "out_dir"),
    ({"out_dir": 3}, TypeError, "out_dir"),
    ({"sample_every": -1}, ValueError, "sample_every"),
    ({"checkpoint_every": -3}, ValueError, "checkpoint_every"),
    ({"log_every": 0}, ValueError, "log_every"),
    ({"n_sample": 0}, ValueError, "n_sample"),
    ({"progress": 1}, TypeError, "progress"),
    ({"scale": "huge"}, ValueError, "scale"),
]


def _config_id(case) -> str:
    over = case.values[0] if hasattr(case, "values") else case[0]
    return ",".join(f"{k}={v!r}"[:40] for k, v in over.items())


@pytest.mark.parametrize(("over", "exc", "name"), CONFIG, ids=[_config_id(c) for c in CONFIG])
def test_train_config_refuses(over: dict, exc: type[Exception], name: str) -> None:
    with pytest.raises(exc) as e:
        if "scale" in over:
            TrainConfig(**over)
        else:
            TrainConfig.from_scale("smoke", **over)
    assert names(str(e.value), name), str(e.value)


def test_train_config_accepts_the_scales_and_normalises_paths(tmp_path: Path) -> None:
    for scale in ("smoke", "cpu", "gpu"):
        TrainConfig.from_scale(scale)
    c = TrainConfig.from_scale("smoke", out_dir=tmp_path, time_budget_s=None, alpha=1)
    assert c.out_dir == str(tmp_path) and isinstance(c.alpha, float)
    assert TrainConfig.from_dict(c.to_dict()) == c


# -- other public functions -------------------------------------------------------------------------
def _smoke() -> TrainConfig:
    return TrainConfig.from_scale("smoke", max_steps=2, n_train=64, progress=False)


def _g() -> Generator:
    return Generator("zprime", img_size=17, width=8)


def _d() -> Discriminator:
    return Discriminator(True, img_size=17, width=8)


def _with(x: torch.Tensor, value: float) -> torch.Tensor:
    x = x.clone()
    x.view(-1)[0] = value
    return x


API = [
    ("load_or_train-config", lambda t: load_or_train({"method": "zprime"}), TypeError, "config"),
    ("load_or_train-sha256", lambda t: load_or_train(_smoke(), url="file:///x", sha256="abc"), ValueError, "sha256"),
    ("load_or_train-url", lambda t: load_or_train(_smoke(), url="ftp://host/x.safetensors"), ValueError, "url"),
    ("Trainer-config", lambda t: Trainer("zprime"), TypeError, "config"),
    ("download-sha256", lambda t: download("file:///x", t / "f", sha256="zz"), ValueError, "sha256"),
    ("download-md5", lambda t: download("file:///x", t / "f", md5="q" * 32), ValueError, "md5"),
    ("fetch-size", lambda t: fetch("synthfaces", size=0), ValueError, "size"),
    ("fetch-size-type", lambda t: fetch("synthfaces", size=2.5), TypeError, "size"),
    ("fetch-name", lambda t: fetch("imagenet"), ValueError, "dataset"),
    pytest.param("auto_device", lambda t: auto_device("cuda:7"), ValueError, "device",
                 marks=pytest.mark.skipif(not NO_CUDA, reason="has CUDA")),
    ("G-dtype", lambda t: _g()(torch.rand(2, 100, dtype=torch.float64)), TypeError, "z"),
    ("G-int", lambda t: _g()(torch.ones(2, 100, dtype=torch.int64)), TypeError, "z"),
    ("G-nan", lambda t: _g().train()(_with(torch.rand(2, 100), math.nan)), NonFiniteError, "z"),
    ("G-inf", lambda t: _g().train()(_with(torch.rand(2, 100), math.inf)), NonFiniteError, "z"),
    ("G-shape", lambda t: _g()(torch.rand(2, 99)), ValueError, "latents"),
    ("D-dtype", lambda t: _d()(torch.rand(2, 3, 17, 17, dtype=torch.float64)), TypeError, "x"),
    ("D-nan", lambda t: _d().train()(_with(torch.rand(2, 3, 17, 17), math.nan)), NonFiniteError, "x"),
    ("D-shape", lambda t: _d()(torch.rand(2, 3, 16, 16)), ValueError, "images"),
    ("SymConv2d-stride", lambda t: SymConv2d(3, 8, 5, stride=0, padding=2), ValueError, "stride"),
    ("SymConv2d-kernel", lambda t: SymConv2d(3, 8, 0), ValueError, "kernel_size"),
    ("SymConv2d-groups", lambda t: SymConv2d(3, 8, 5, groups=0, padding=2), ValueError, "groups"),
    ("SymConv2d-in", lambda t: SymConv2d(0, 8, 5, padding=2), ValueError, "in_channels"),
    ("SymConv2d-out", lambda t: SymConv2d(3, -1, 5, padding=2), ValueError, "out_channels"),
    ("SymConv2d-groups-type", lambda t: SymConv2d(3, 8, 5, groups=1.5, padding=2), TypeError, "groups"),
    ("SymConvT-stride", lambda t: SymConvTranspose2d(3, 8, 5, stride=-1, padding=2), ValueError, "stride"),
    ("SymConvT-dilation", lambda t: SymConvTranspose2d(3, 8, 5, dilation=0, padding=2), ValueError, "dilation"),
    ("Generator-width", lambda t: Generator("zprime", img_size=17, width=2.5), TypeError, "width"),
    ("Generator-z_dim", lambda t: Generator("zprime", img_size=17, z_dim=0), ValueError, "z_dim"),
    ("Generator-arch", lambda t: Generator("unet", img_size=17), ValueError, "arch"),
    ("Generator-img_size", lambda t: Generator("zprime", img_size=18), ValueError, "img_size"),
    ("Discriminator-width", lambda t: Discriminator(True, img_size=17, width=-2), ValueError, "width"),
    ("Discriminator-channels", lambda t: Discriminator(True, img_size=17, channels=0), ValueError, "channels"),
    ("sample_latent-fraction", lambda t: _g().sample_latent(2.5), TypeError, "n"),
    ("sample_latent-negative", lambda t: _g().sample_latent(-1), ValueError, "n"),
    ("series-n", lambda t: _g().series(torch.rand(100), n=1), ValueError, "n"),
    ("save-nan", lambda t: save_checkpoint(t / "c.safetensors", {"weight_x": torch.tensor([math.nan])}, {}),
     ValueError, "weight_x"),
    ("save-meta-nan", lambda t: save_checkpoint(t / "c.safetensors", {}, {"lr": math.nan}), ValueError, "metadata"),
]


@pytest.mark.parametrize(("case", "call", "exc", "name"), API,
                         ids=[c.values[0] if hasattr(c, "values") else c[0] for c in API])
def test_api_refuses(case: str, call, exc: type[Exception], name: str, tmp_path: Path) -> None:
    with pytest.raises(exc) as e:
        call(tmp_path)
    assert names(str(e.value), name), str(e.value)
    assert not (tmp_path / "c.safetensors").exists() and not (tmp_path / "f").exists()


# -- checkpoint metadata: malformed, null, nested, out of range ---------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("trained") / "zprime"
    Trainer(_smoke(), run).train()
    return run / "checkpoint.safetensors"


def _forge(src: Path, dst: Path, meta=None, raw: str | None = None, fmt: str = FORMAT, tensors=None) -> Path:
    """``src`` with other metadata, its hash recomputed: only the parser stands in the way."""
    t = tensors if tensors is not None else load_file(str(src))
    if raw is None:
        with safe_open(str(src), framework="pt") as f:
            m = json.loads(f.metadata()["meta"])
        raw = json.dumps(meta(m) if callable(meta) else meta)
    dst.write_bytes(st_save(t, metadata={"format": fmt, "meta": raw, "sha256": _digest(t, raw)}))
    return dst


def _deep(n: int) -> dict:
    d: dict = {}
    for _ in range(n):
        d = {"a": d}
    return d


def _cfg_edit(**kw):
    return lambda m: {**m, "config": {**m["config"], **kw}}


def _rng_edit(key: str, value):
    return lambda m: {**m, "rng": {**m["rng"], key: value}}


META = [
    ("null", dict(raw="null"), "JSON object"),
    ("list", dict(raw="[1, 2]"), "JSON object"),
    ("not-json", dict(raw="{step: 1"), "JSON"),
    ("nan-constant", dict(raw='{"step": NaN}'), "NaN"),
    ("deep-brackets", dict(raw="[" * 200000 + "]" * 200000), "JSON"),
    ("deep-objects", dict(meta=lambda m: {**m, "extra": _deep(40)}), "nested"),
    ("too-big", dict(raw=json.dumps({"pad": "x" * (MAX_META_BYTES + 1)})), "bytes"),
    ("step-negative", dict(meta=lambda m: {**m, "step": -1}), "step"),
    ("step-string", dict(meta=lambda m: {**m, "step": "5"}), "step"),
    ("step-huge", dict(meta=lambda m: {**m, "step": 10**13}), "step"),
    ("step-null", dict(meta=lambda m: {**m, "step": None}), "step"),
    ("config-null", dict(meta=lambda m: {**m, "config": None}), "config"),
    ("config-width", dict(meta=_cfg_edit(width=2400)), "width"),
    ("config-method", dict(meta=_cfg_edit(method="x")), "method"),
    ("config-data", dict(meta=_cfg_edit(data="../../etc")), "data"),
    ("config-img-size", dict(meta=_cfg_edit(img_size=-17)), "img_size"),
    ("config-lr", dict(meta=_cfg_edit(lr=-1)), "lr"),
    ("finished", dict(meta=lambda m: {**m, "finished": "yes"}), "finished"),
    ("elapsed", dict(meta=lambda m: {**m, "elapsed_s": -1}), "elapsed_s"),
    ("world-size", dict(meta=lambda m: {**m, "world_size": 0}), "world_size"),
    ("stop-reason", dict(meta=lambda m: {**m, "stop_reason": ["x"]}), "stop_reason"),
    ("optG-missing", dict(meta=lambda m: {k: v for k, v in m.items() if k != "optG"}), "optG"),
    ("optG-lr", dict(meta=lambda m: {**m, "optG": {**m["optG"], "param_groups": [
        {**m["optG"]["param_groups"][0], "lr": 0}]}}), "optG"),
    ("optD-params", dict(meta=lambda m: {**m, "optD": {**m["optD"], "param_groups": [
        {**m["optD"]["param_groups"][0], "params": ["a"]}]}}), "optD.param_groups[].params"),
    ("rng-numpy", dict(meta=_rng_edit("numpy", ["MT19937", [1, 2], 0, 0, 0.0])), "rng.numpy"),
    ("rng-python", dict(meta=_rng_edit("python", [3, [0] * 10, None])), "rng.python"),
    ("rng-null", dict(meta=lambda m: {**m, "rng": None}), "rng"),
    ("fit-and-tune", dict(meta=lambda m: {"config": m["config"], "step": 0, "fit_and_tune": {"psnr": "x"}}),
     "fit_and_tune"),
    ("format-v1", dict(meta=lambda m: m, fmt="symgan-checkpoint-v1"), "symgan-checkpoint-v1"),
    ("format-other", dict(meta=lambda m: m, fmt="pytorch-lightning"), "symgan-checkpoint-v2"),
]


@pytest.mark.parametrize(("case", "kw", "name"), META, ids=[c[0] for c in META])
def test_checkpoint_metadata_refused(case: str, kw: dict, name: str, trained: Path, tmp_path: Path) -> None:
    bad = _forge(trained, tmp_path / "bad.safetensors", **kw)
    with pytest.raises(CheckpointError) as e:
        load_models(bad)
    assert names(str(e.value), name) and str(bad) in str(e.value), str(e.value)[:500]


TENSORS = [
    ("optimizer-shape", lambda t: {**t, "optG.state.0.exp_avg": torch.zeros(3)}, "optG.state.0.exp_avg"),
    ("optimizer-index", lambda t: {**t, "optD.state.999.exp_avg": torch.zeros(1)}, "optD.state.999.exp_avg"),
    ("rng-missing", lambda t: {k: v for k, v in t.items() if k != "rng.data_gen"}, "rng.data_gen"),
    ("rng-size", lambda t: {**t, "rng.latent_gen": torch.zeros(3, dtype=torch.uint8)}, "random number generator"),
    ("weight-shape", lambda t: {**t, "G.stem.1.weight": torch.ones(3)}, "G.stem.1.weight"),
    ("weight-extra", lambda t: {**t, "D.spare": torch.ones(3)}, "D.spare"),
]


@pytest.mark.parametrize(("case", "edit", "name"), TENSORS, ids=[c[0] for c in TENSORS])
def test_checkpoint_tensors_refused_on_resume(case: str, edit, name: str, trained: Path, tmp_path: Path) -> None:
    _, meta = load_checkpoint(trained)
    run = tmp_path / "run"
    run.mkdir()
    _forge(trained, run / "checkpoint.safetensors", meta=meta, tensors=edit(load_file(str(trained))))
    with pytest.raises(CheckpointError) as e:
        Trainer(_smoke(), run).train()
    assert name in str(e.value), str(e.value)[:500]


# -- commands: refused before any work, with the option named, exit status 2 ---------------------
COMMANDS = [
    (["train", "--steps", "0"], "--steps"),
    (["train", "--steps", "many"], "--steps"),
    (["train", "--width", "0"], "--width"),
    (["train", "--width", "2.5"], "--width"),
    (["train", "--batch-size", "-1"], "--batch-size"),
    (["train", "--lr", "nan"], "--lr"),
    (["train", "--lr", "0"], "--lr"),
    (["train", "--time-budget", "-5"], "--time-budget"),
    (["train", "--time-budget", "inf"], "--time-budget"),
    (["train", "--data", "../x"], "--data"),
    (["train", "--img-size", "18"], "--img-size"),
    (["train", "--geometry", "hex"], "--geometry"),
    (["train", "--geometry", "dcgan", "--img-size", "17"], "--img-size"),
    (["train", "--threads", "0"], "--threads"),
    (["train", "--alpha", "-1"], "--alpha"),
    (["train", "--n-train", "0"], "--n-train"),
    (["train", "--log-every", "0"], "--log-every"),
    (["train", "--sample-every", "-1"], "--sample-every"),
    (["train", "--checkpoint-every", "-3"], "--checkpoint-every"),
    (["train", "--seed", "-1"], "--seed"),
    (["train", "--method", "nope"], "--method"),
    (["train", "--device", "tpu"], "--device"),
    (["train", "--scale", "huge"], "scale"),
    (["sample", "RUN", "--n", "0"], "--n"),
    (["sample", "RUN", "--n", "abc"], "--n"),
    (["sample", "RUN", "--rows", "-1"], "--rows"),
    (["sample", "RUN", "--rows", "9", "--n", "4"], "--rows"),
    (["sample", "RUN", "--length", "1"], "--length"),
    (["sample", "RUN", "--seed", "-1"], "--seed"),
    (["evaluate", "RUN", "--n-z", "0"], "--n-z"),
    (["evaluate", "RUN", "--length", "1"], "--length"),
    (["evaluate", "RUN", "--n-data", "-5"], "--n-data"),
    (["evaluate", "RUN", "--fid", "--n-data", "0"], "--fid"),
    (["rotate", "astronaut", "--frames", "1"], "--frames"),
    (["rotate", "astronaut", "--invert-steps", "-1"], "--invert-steps"),
    (["rotate", "astronaut", "--tune-steps", "-2"], "--tune-steps"),
    (["rotate", "lfw:100"], "image"),
    (["rotate", "synthfaces:-1"], "image"),
    (["rotate", "synthfaces:x"], "image"),
    (["rotate", "no-such-photo.png"], "image"),
    (["rotate", "astronaut", "--scale", "huge"], "scale"),
    (["rotation-study", "--n-images", "0"], "--n-images"),
    (["rotation-study", "--lfw", "101"], "--lfw"),
    (["rotation-study", "--lfw", "-1"], "--lfw"),
    (["rotation-study", "--invert-steps", "-1"], "--invert-steps"),
    (["rotation-study", "--scale", "huge"], "--scale"),
    (["demo", "--n", "1"], "--n"),
    (["demo", "--img-size", "18"], "--img-size"),
    (["demo", "--width", "0"], "--width"),
    (["results", "--n-z", "0"], "--n-z"),
    (["results", "--fid", "-1"], "--fid"),
    (["results", "--threads", "0"], "--threads"),
    (["book", "--timeout", "0"], "--timeout"),
]


@pytest.mark.parametrize(("argv", "name"), COMMANDS, ids=[" ".join(a) for a, _ in COMMANDS])
def test_command_refuses(argv: list[str], name: str, tmp_path: Path, capsys, monkeypatch) -> None:
    runs = tmp_path / "runs"
    monkeypatch.setenv("SYMGAN_RUNS", str(runs))
    out = tmp_path / "out"
    argv = [str(tmp_path / "missing-run") if a == "RUN" else a for a in argv]
    extra = {"train": ["--scale", "smoke", "--out", str(out)], "rotate": ["--out", str(out)],
             "rotation-study": ["--out", str(out / "r.md")], "demo": ["--out", str(out / "d.png")],
             "results": ["--out", str(out / "r.md")], "evaluate": ["--out", str(out / "e.json")],
             "sample": ["--out", str(out)]}
    if "--scale" in argv:
        extra = {k: [a for a in v if a not in ("--scale", "smoke")] for k, v in extra.items()}
    try:
        code = main([*argv, *extra.get(argv[0], [])])
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert names(err, name), err
    assert not out.exists() and not runs.exists(), "something was written before the refusal"


def test_book_refuses_a_missing_chapter(tmp_path: Path, capsys) -> None:
    (tmp_path / "_config.yml").write_text("title: t\n")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: gone\n")
    (tmp_path / "intro.md").write_text("# intro\n")
    assert main(["book", "--root", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert names(err, "gone") and "_toc.yml" in err and not (tmp_path / "out").exists()
    assert main(["book", "--root", str(tmp_path), "--scale", "huge", "--build"]) == 2
    assert names(capsys.readouterr().err, "scale")
