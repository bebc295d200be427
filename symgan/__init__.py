"""symgan: Symmetric GANs (Peleg & Wolf, "Structured GANs"), exact by construction.

The generator's architecture, not its loss, controls left-right symmetry:

>>> import torch, symgan
>>> G = symgan.Generator("zprime", img_size=32, width=16).eval()
>>> z = G.sample_latent(4)
>>> x, xn = G(z), G(G.mirror_latent(z))
>>> bool((xn - symgan.mirror(x)).abs().max() < 1e-5)
True

Modules follow the paper: :mod:`symgan.layers` (symmetric kernels, Fig. 4),
:mod:`symgan.latent` (encodings, Fig. 1), :mod:`symgan.generators` (2.1.1, 2.1.2),
:mod:`symgan.discriminators` (2.1.3), :mod:`symgan.symmetry` (mirror, fold and checks).
"""

from .discriminators import Discriminator
from .generators import ARCHS, Generator, mirror_errors
from .init import dcgan_init
from .latent import latent_series, mirror_latent, sample_latent, series_t, symmetric_latent
from .layers import (
    SymConv2d,
    SymConvTranspose2d,
    antisymmetric_kernel,
    conv_is_exact,
    exact_widths,
    export,
    symmetric_kernel,
)
from .symmetry import (
    EquivarianceReport,
    check_equivariance,
    check_invariance,
    fold,
    is_symmetric,
    mirror,
    mirror_mse,
)

__version__ = "0.1.0"

__all__ = [
    "ARCHS",
    "Discriminator",
    "EquivarianceReport",
    "Generator",
    "SymConv2d",
    "SymConvTranspose2d",
    "antisymmetric_kernel",
    "check_equivariance",
    "check_invariance",
    "conv_is_exact",
    "dcgan_init",
    "exact_widths",
    "export",
    "fold",
    "is_symmetric",
    "latent_series",
    "mirror",
    "mirror_errors",
    "mirror_latent",
    "mirror_mse",
    "sample_latent",
    "series_t",
    "symmetric_kernel",
    "symmetric_latent",
    "__version__",
]
