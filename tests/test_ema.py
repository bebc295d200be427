"""The averaged generator: exact by construction, checkpointed, resumed exactly; the time guard."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import pytest
import torch

from symgan import Generator
from symgan.checkpoint import load_checkpoint, load_models
from symgan.config import TrainConfig
from symgan.ema import calibrate_generator, ema_decay, update_ema
from symgan.generators import mirror_errors
from symgan.train import RunWarning, Trainer


def test_ema_decay_ramps_up_to_the_decay() -> None:
    assert ema_decay(0, 0.999) == pytest.approx(0.1)
    assert ema_decay(90, 0.999) == pytest.approx(91 / 100)
    assert ema_decay(10**6, 0.999) == 0.999
    assert [ema_decay(s, 0.999) for s in range(50)] == sorted(ema_decay(s, 0.999) for s in range(50))


def test_update_ema_is_the_lerp_of_every_parameter() -> None:
    a, b = Generator("zprime", img_size=17, width=4), Generator("zprime", img_size=17, width=4)
    ema = copy.deepcopy(a)
    update_ema(ema, b, 0.75)
    for (n, p), q, r in zip(ema.named_parameters(), a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, 0.75 * q + 0.25 * r, rtol=1e-6, atol=1e-7, msg=n)


@pytest.mark.parametrize("arch", ["zprime", "flip"])
def test_average_of_symmetric_generators_is_exactly_symmetric(arch: str) -> None:
    """Average ten independently initialised generators with random decays: the mirror
    identity of the average holds to float rounding, in float32 and float64."""
    torch.manual_seed(1)
    ema = Generator(arch, img_size=33, width=8)
    for _ in range(10):
        update_ema(ema, Generator(arch, img_size=33, width=8), float(torch.rand(())))
    calibrate_generator(ema, n=64, seed=3)
    z = ema.sample_latent(16, generator=torch.Generator().manual_seed(0))
    e32 = mirror_errors(ema, z)
    e64 = mirror_errors(copy.deepcopy(ema).double(), z.double())
    assert max(e32.values()) < 1e-5 and max(e64.values()) < 1e-12, (e32, e64)
    # the control: the plain generator's average is not symmetric
    plain = Generator("dcgan", img_size=33, width=8)
    update_ema(plain, Generator("dcgan", img_size=33, width=8), 0.5)
    calibrate_generator(plain, n=64)
    assert mirror_errors(plain, z)["mirror"] > 1e-3


def _cfg(**kw) -> TrainConfig:
    base = dict(method="zprime", max_steps=6, n_train=64, sample_every=0, checkpoint_every=3,
                progress=False, time_budget_s=None, ema=0.9)
    base.update(kw)
    return TrainConfig.from_scale("smoke", **base)


def test_checkpoint_holds_the_average_and_load_models_returns_it(tmp_path: Path) -> None:
    r = Trainer(_cfg(), tmp_path / "run").train()
    tensors, _ = load_checkpoint(tmp_path / "run" / "checkpoint.safetensors")
    e = {k[2:]: v for k, v in tensors.items() if k.startswith("E.")}
    g = {k[2:]: v for k, v in tensors.items() if k.startswith("G.")}
    assert e.keys() == g.keys()
    assert any(not torch.equal(e[k], g[k]) for k in e)  # the average is not the last iterate
    G, _, _, _ = load_models(tmp_path / "run")
    for k, v in G.state_dict().items():
        assert torch.equal(v, e[k]), k
    for k, v in r.generator.state_dict().items():  # what training returns is the same average
        assert torch.equal(v, e[k]), k


def test_resumed_run_ends_with_the_same_average(tmp_path: Path) -> None:
    Trainer(_cfg(), tmp_path / "a").train()
    Trainer(_cfg(max_steps=3), tmp_path / "b").train()
    Trainer(_cfg(), tmp_path / "b").train()  # resumes from step 3
    ta, _ = load_checkpoint(tmp_path / "a" / "checkpoint.safetensors")
    tb, _ = load_checkpoint(tmp_path / "b" / "checkpoint.safetensors")
    for k in ta:
        if k.startswith(("E.", "G.", "D.")):
            assert torch.equal(ta[k], tb[k]), k


def test_no_average_when_ema_is_zero(tmp_path: Path) -> None:
    r = Trainer(_cfg(ema=0.0, max_steps=2), tmp_path / "run").train()
    tensors, _ = load_checkpoint(tmp_path / "run" / "checkpoint.safetensors")
    assert not any(k.startswith("E.") for k in tensors)
    for k, v in r.generator.state_dict().items():
        assert torch.equal(v, tensors["G." + k]), k


def test_snapshots_hold_the_average_every_snapshot_every_steps(tmp_path: Path) -> None:
    Trainer(_cfg(snapshot_every=2), tmp_path / "run").train()
    snaps = sorted(p.name for p in (tmp_path / "run" / "snapshots").iterdir())
    assert snaps == ["step_000002.safetensors", "step_000004.safetensors", "step_000006.safetensors"]
    last, meta = load_checkpoint(tmp_path / "run" / "snapshots" / snaps[-1])
    final, _ = load_checkpoint(tmp_path / "run" / "checkpoint.safetensors")
    assert meta["step"] == 6 and meta["snapshot"] is True
    for k, v in last.items():
        assert torch.equal(v, final["E." + k[2:]]), k


def test_time_guard_warns_and_is_recorded(tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = Trainer(_cfg(max_steps=10**6, time_budget_s=0.3, checkpoint_every=0), tmp_path / "run").train()
    msgs = [str(w.message) for w in caught if issubclass(w.category, RunWarning)]
    assert any("time guard" in m and "NOT" in m for m in msgs), msgs
    assert r.info["stop_reason"] == "time budget" and 0 < r.info["step"] < 10**6
    _, meta = load_checkpoint(tmp_path / "run" / "checkpoint.safetensors")
    assert meta["stop_reason"] == "time budget"


@pytest.mark.parametrize("bad", [-0.1, 1.0, float("nan"), "0.9"])
def test_bad_ema_is_refused(bad) -> None:
    with pytest.raises((ValueError, TypeError), match="ema"):
        _cfg(ema=bad)


def test_run_key_changes_with_the_weights_not_with_the_time_guard() -> None:
    a = _cfg()
    assert _cfg(time_budget_s=10.0).key() == a.key()
    assert _cfg(ema=0.99).key() != a.key()
    assert "model_version" in a.key_dict()


def test_a_finished_run_says_it_was_loaded(tmp_path: Path) -> None:
    first = Trainer(_cfg(max_steps=2), tmp_path / "run").train()
    again = Trainer(_cfg(max_steps=2), tmp_path / "run").train()
    assert first.info["loaded"] is False and again.info["loaded"] is True
