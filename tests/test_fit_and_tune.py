"""FitAndTune inputs, phase I/II behaviour and rotation exactness (smoke scale, untrained nets)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import symgan
from symgan.fit_and_tune import (
    as_image_tensor,
    fit_and_tune,
    invert,
    prepare_image,
    rotate,
    save_rotation,
)
from symgan.metrics import psnr, ssim


def _face_like(h: int = 20, w: int = 20) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([xx / w, yy / h, 0.5 + 0 * xx], -1)
    return (img * 255).astype(np.uint8)


@pytest.mark.parametrize("channels", [1, 3])
def test_prepare_image_accepts_every_form(tmp_path, channels: int) -> None:
    hwc = _face_like()
    forms = {
        "uint8 HWC": hwc,
        "uint8 CHW": hwc.transpose(2, 0, 1).copy(),
        "float HWC [0,1]": hwc / 255.0,
        "tensor CHW [-1,1]": torch.from_numpy(hwc.transpose(2, 0, 1) / 127.5 - 1).float(),
        "tensor NCHW": torch.from_numpy(hwc.transpose(2, 0, 1) / 127.5 - 1).float()[None],
        "uint16": (hwc.astype(np.uint16) * 257),
        "PIL RGB": Image.fromarray(hwc),
        "PIL RGBA": Image.fromarray(hwc).convert("RGBA"),
        "PIL P": Image.fromarray(hwc).convert("P"),
        "gray": hwc.mean(-1).astype(np.uint8),
    }
    Image.fromarray(hwc).save(tmp_path / "face.png")
    forms["path"] = tmp_path / "face.png"
    Image.fromarray((hwc.mean(-1) * 257).astype(np.uint16)).save(tmp_path / "face16.png")
    forms["16-bit png"] = str(tmp_path / "face16.png")
    ref = None
    for name, img in forms.items():
        with pytest.warns(UserWarning) if channels == 1 and name not in ("gray", "16-bit png") else _nowarn():
            t = prepare_image(img, 16, channels)
        assert t.shape == (1, channels, 16, 16), name
        assert t.min() >= -1 and t.max() <= 1, name
        if name in ("uint8 HWC", "uint8 CHW", "float HWC [0,1]", "path", "PIL RGB", "tensor CHW [-1,1]", "uint16"):
            ref = t if ref is None else ref
            assert torch.allclose(t, ref, atol=2e-2), name


class _nowarn:
    def __enter__(self):
        import warnings

        self._c = warnings.catch_warnings()
        self._c.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *a):
        return self._c.__exit__(*a)


def test_prepare_image_crops_and_warns_on_aspect_ratio() -> None:
    with pytest.warns(UserWarning, match="centre-cropped"):
        t = prepare_image(_face_like(20, 40), 16, 3)
    assert t.shape == (1, 3, 16, 16)


def test_prepare_image_bad_input(tmp_path) -> None:
    with pytest.raises(ValueError, match="NaN or Inf"):
        prepare_image(np.full((8, 8, 3), np.nan), 16, 3)
    with pytest.raises(ValueError, match="empty"):
        prepare_image(np.zeros((0, 8, 3)), 16, 3)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(ValueError, match="cannot read"):
        prepare_image(bad, 16, 3)
    with pytest.raises(FileNotFoundError, match="not found"):
        prepare_image(tmp_path / "missing.png", 16, 3)
    with pytest.raises(ValueError, match="1, 3 or 4 channels"):
        prepare_image(np.zeros((8, 8, 2), np.uint8), 16, 3)
    with pytest.raises(ValueError, match="1 or 3 channels"):
        prepare_image(_face_like(), 16, 2)
    with pytest.raises(ValueError, match=r"expected \[0, 1\] or \[-1, 1\]"):
        prepare_image(np.full((8, 8, 3), 7.0), 16, 3)
    with pytest.raises(ValueError, match="path, PIL image"):
        prepare_image([1, 2, 3], 16, 3)


def test_psnr_ssim() -> None:
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    assert torch.all(psnr(x, x) == 100)
    assert torch.allclose(ssim(x, x), torch.ones(2))
    y = (x + 0.2 * torch.randn_like(x)).clamp(-1, 1)
    assert torch.all(psnr(x, y) < 30) and torch.all(ssim(x, y) < 0.99)


@pytest.mark.parametrize("size", [33, 17, 9, 5])
def test_ssim_matches_scikit_image(size: int) -> None:
    """The package's SSIM is scikit-image's ``structural_similarity`` with Gaussian weights
    (sigma 1.5, truncated at 3.5 sigma: an 11x11 window), population covariances, images on
    ``[0, 1]`` and the mean over the valid windows and channels. Under 11 px the package shrinks
    the window to the largest odd size that fits and sigma with it (1.5 * win / 11), which is
    scikit-image's window for that sigma."""
    from skimage.metrics import structural_similarity

    g = torch.Generator().manual_seed(size)
    x = torch.rand(3, 3, size, size, generator=g) * 2 - 1
    y = (x + 0.3 * torch.randn(3, 3, size, size, generator=g)).clamp(-1, 1)
    win = min(11, size if size % 2 else size - 1)
    ref = [structural_similarity((a.double().numpy() + 1) / 2, (b.double().numpy() + 1) / 2,
                                 data_range=1.0, channel_axis=0, gaussian_weights=True,
                                 sigma=1.5 * win / 11, use_sample_covariance=False)
           for a, b in zip(x, y, strict=True)]
    assert ssim(x, y).tolist() == pytest.approx(ref, abs=2e-6)
    assert ssim(x[:1, :1], y[:1, :1]).item() == pytest.approx(
        structural_similarity((x[0, 0].double().numpy() + 1) / 2, (y[0, 0].double().numpy() + 1) / 2,
                              data_range=1.0, gaussian_weights=True, sigma=1.5 * win / 11,
                              use_sample_covariance=False), abs=2e-6)


def _trained_ish(seed: int = 0):
    torch.manual_seed(seed)
    G = symgan.Generator("zprime", img_size=16, width=8)
    D = symgan.Discriminator(True, img_size=16, width=8)
    with torch.no_grad():  # give BN running stats a realistic scale (cumulative averages)
        for m in G.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None
        G.train()
        for _ in range(4):
            G(G.sample_latent(64))
    return G.eval(), D


def test_invert_recovers_a_generated_image_and_leaves_G_alone() -> None:
    G, _ = _trained_ish()
    before = {k: v.clone() for k, v in G.state_dict().items()}
    target = G(G.sample_latent(1, generator=torch.Generator().manual_seed(5)))
    r0 = invert(G, target[0], steps=0)
    r = invert(G, target[0], steps=150, seed=1)
    assert r.mse < 0.5 * r0.mse
    assert r.z.shape == (1, 100)
    for k, v in G.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_fit_and_tune_beats_inversion_and_rotation_is_exact() -> None:
    G, D = _trained_ish()
    target = prepare_image(_face_like(), 16, 3)
    data = torch.rand(64, 3, 16, 16) * 2 - 1
    g_state = {k: v.clone() for k, v in G.state_dict().items()}
    res = fit_and_tune(G, D, target, data, invert_steps=60, tune_steps=80, target_mse=None, seed=0)
    m = res.metrics
    assert m["psnr_tuned"] > m["psnr_inversion"] + 3, m
    assert len(res.history) == 80 and any("d_loss" in h for h in res.history)
    for k, v in G.state_dict().items():
        assert torch.equal(v, g_state[k]), k  # G untouched
    frames = rotate(res.generator, res.z, 9)
    assert (frames[-1] - symgan.mirror(frames[0])).abs().max() <= 1e-4
    assert (frames[4] - symgan.mirror(frames[4])).abs().max() <= 1e-4
    f_inv, f_tun = res.rotations(G, 9)
    assert torch.equal(f_tun, frames) and torch.equal(f_inv, rotate(G, res.inversion.z, 9))
    assert not torch.equal(f_inv, f_tun)
    # reproducible with a seed
    res2 = fit_and_tune(G, D, target, data, invert_steps=60, tune_steps=80, target_mse=None, seed=0)
    assert torch.equal(res.z, res2.z)


def test_fit_and_tune_early_stops_and_checks_data_shape() -> None:
    G, D = _trained_ish()
    target = G(G.sample_latent(1))
    res = fit_and_tune(G, D, target[0], None, invert_steps=30, tune_steps=200, target_mse=0.5)
    assert len(res.history) < 200
    with pytest.raises(ValueError, match="do not match"):
        fit_and_tune(G, D, target[0], torch.zeros(8, 3, 32, 32), invert_steps=1, tune_steps=1)


def test_save_rotation(tmp_path) -> None:
    G, _ = _trained_ish()
    frames = rotate(G, G.sample_latent(1), 5)
    save_rotation(frames, tmp_path / "r.png", tmp_path / "r.gif")
    png = Image.open(tmp_path / "r.png")
    assert png.width > png.height
    gif = Image.open(tmp_path / "r.gif")
    assert gif.n_frames == 8  # 5 frames forth + 3 back
    with pytest.raises(ValueError, match="one latent"):
        rotate(G, torch.zeros(3), 5)


def test_rotation_study_smoke() -> None:
    from symgan.studies.rotation import held_out_faces, identity_error, rotation_study
    from symgan.studies.yaw import train_yaw_regressor

    G, D = _trained_ish()
    yaw = train_yaw_regressor(16, 3, n_train=128, epochs=1, cache=False)
    data = torch.rand(64, 3, 16, 16) * 2 - 1
    study = rotation_study(G, D, data, n_images=2, yaw_model=yaw, n_examples=1,
                           invert_steps=20, tune_steps=20, target_mse=None)
    assert len(study.rows) == 2 and len(study.examples) == 1
    s = study.summary()
    assert s["mirror_err_tuned"] <= 1e-4 and s["middle_err_tuned"] <= 1e-4
    # the identity error is the MSE of each rotation frame to the ground-truth render of the
    # same face: recomputed from the example's frames, and a real error on [-1, 1] images
    _, _, frames_tuned = study.examples[0]
    err, yaws = identity_error(frames_tuned, held_out_faces(16, 3, 2).identity(0), yaw)
    assert err.shape == yaws.shape == (len(frames_tuned),)
    assert float(err.mean()) == pytest.approx(study.rows[0]["identity_tuned"], rel=1e-6)
    assert 0 < s["identity_tuned"] < 4 and 0 < s["identity_inversion"] < 4
    assert "| reconstruction PSNR" in study.markdown()


def test_rotation_study_command_smoke(tmp_path, capsys) -> None:
    """The command behind docs/rotation.md, end to end: held-out faces, an LFW face and the
    astronaut, the report and its figures."""
    from symgan.__main__ import main

    out = tmp_path / "docs" / "rotation.md"
    rc = main(["rotation-study", "--scale", "smoke", "--n-images", "1", "--lfw", "1",
               "--invert-steps", "5", "--tune-steps", "5", "--out", str(out), "--no-progress"])
    assert rc == 0
    report = out.read_text()
    assert "| reconstruction PSNR (dB) |" in report and "--n-images 1 --lfw 1" in report
    for name in ("rotation_synthfaces_smoke.png", "rotation_real_smoke.png",
                 "rotation_astronaut_smoke.gif"):
        assert (out.parent / "figures" / name).stat().st_size > 0, name
    assert "FitAndTune" not in capsys.readouterr().err  # --no-progress: no bars


def test_rotate_command_smoke(tmp_path, monkeypatch, capsys) -> None:
    """The user path: one command from a named image to a strip, a GIF and a tuned checkpoint."""
    from symgan.__main__ import main
    from symgan.checkpoint import load_checkpoint, load_models

    monkeypatch.setenv("SYMGAN_RUNS", str(tmp_path / "runs"))
    out = tmp_path / "rot"
    rc = main(["rotate", "synthfaces:1", "--scale", "smoke", "--out", str(out),
               "--invert-steps", "10", "--tune-steps", "10"])
    assert rc == 0
    assert (out / "rotation.png").is_file() and (out / "rotation.gif").is_file()
    G, D, cfg, meta = load_models(out / "tuned.safetensors")
    assert cfg.arch == "zprime" and "psnr_tuned" in meta["fit_and_tune"]
    tensors, _ = load_checkpoint(out / "tuned.safetensors")
    assert tensors["z"].shape == (1, 100)
    assert '"psnr_tuned"' in capsys.readouterr().out


def test_training_data_in_every_form_is_scaled_to_minus_one_one() -> None:
    """Phase II's GAN steps must see real images on the generator's scale, whatever the source."""
    from symgan.config import TrainConfig
    from symgan.data import load_training_images
    from symgan.data.synthfaces import SynthFaces

    cfg = TrainConfig.from_scale("smoke", n_train=8)
    ds = SynthFaces(size=cfg.img_size, n=8, cache=False)
    ref = torch.stack([ds[i] for i in range(8)])
    u8 = load_training_images(cfg)  # uint8 (N, C, H, W)
    assert u8.dtype == torch.uint8
    for form in (ds, ds.images, u8, ref):
        x = as_image_tensor(form)
        assert x.min() >= -1 and x.max() <= 1
        assert torch.allclose(x, ref, atol=1e-6)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        as_image_tensor(ref * 255)
