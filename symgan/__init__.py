"""symgan: Symmetric GANs (Peleg & Wolf, "Structured GANs"), exact by construction.

The generator's architecture, not its loss, controls left-right symmetry:

>>> import torch, symgan
>>> G = symgan.Generator("zprime", img_size=33, width=16).eval()  # the paper's 5x5 geometry
>>> z = G.sample_latent(4)
>>> x, xn = G(z), G(G.mirror_latent(z))
>>> bool((xn - symgan.mirror(x)).abs().max() < 1e-5)
True

Modules follow the paper: :mod:`symgan.layers` (symmetric kernels, Fig. 4),
:mod:`symgan.geometry` (the paper's 5x5 layers at odd sizes, DC-GAN's 4x4 at even ones),
:mod:`symgan.latent` (encodings, Fig. 1), :mod:`symgan.generators` (2.1.1, 2.1.2),
:mod:`symgan.discriminators` (2.1.3), :mod:`symgan.symmetry` (mirror, fold and checks),
:mod:`symgan.losses`, :mod:`symgan.update` (the GAN step) and :mod:`symgan.train` (2.2, 4.1),
:mod:`symgan.runs` (run folders, their records and ``load_or_train``),
:mod:`symgan.ema` (the generator's weight average for sampling), :mod:`symgan.metrics` (Figs. 9,
10, reconstruction PSNR/SSIM), :mod:`symgan.fit_and_tune` (section 3), :mod:`symgan.images`
(conversions, the photo loader),
:mod:`symgan.tiles` (tileable textures, the paper's second structure), :mod:`symgan.data`
(SynthFaces, SynthRooms, textures, real photos), :mod:`symgan.pretrained` (the trained weights
that ship with the package), :mod:`symgan.widgets`; the book's figures are drawn by
:mod:`symgan.plots`, its chapters set up by :mod:`symgan.chapter`. The paper's experiments are in
:mod:`symgan.studies`: discriminator overfitting (Fig. 6), the bedrooms' latent coordinates
(4.2), face rotation measured against ground truth (section 3) and the yaw regressor it reads
head turns with.
"""

from .checkpoint import CheckpointError, load_models
from .config import METHOD_NAMES, METHODS, TrainConfig
from .data import (
    CelebA,
    DatasetNotFoundError,
    EmptyDatasetError,
    FaceIdentity,
    ImageFolder,
    LFWPeople,
    LFWSubset,
    LSUNBedrooms,
    SynthFaces,
    SynthRooms,
    astronaut_face,
    get_dataset,
)
from .discriminators import Discriminator
from .fit_and_tune import (
    FitAndTuneResult,
    fit_and_tune,
    invert,
    prepare_image,
    rotate,
    save_rotation,
)
from .generators import ARCHS, Generator, mirror_errors
from .geometry import GEOMETRIES, Geometry, get_geometry, infer_geometry
from .images import make_grid, save_image, to_uint8_hwc
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
from .metrics import psnr, ssim
from .plots import plot_log
from .runs import TrainResult, load_or_train, runs_dir
from .scales import SCALES, get_scale, resolve_scale
from .studies.yaw import YawRegressor, load_yaw_regressor, predict_yaw, train_yaw_regressor
from .symmetry import (
    EquivarianceReport,
    check_equivariance,
    check_invariance,
    fold,
    is_symmetric,
    mirror,
    mirror_mse,
)
from .tiles import TileGenerator
from .train import Trainer, TrainingDiverged
from .weight_init import dcgan_init

__version__ = "0.1.0"

__all__ = [
    "ARCHS",
    "METHODS",
    "METHOD_NAMES",
    "CheckpointError",
    "Trainer",
    "TrainingDiverged",
    "load_models",
    "plot_log",
    "runs_dir",
    "SCALES",
    "CelebA",
    "DatasetNotFoundError",
    "EmptyDatasetError",
    "FaceIdentity",
    "FitAndTuneResult",
    "ImageFolder",
    "LFWPeople",
    "LFWSubset",
    "LSUNBedrooms",
    "SynthFaces",
    "SynthRooms",
    "TrainConfig",
    "TrainResult",
    "YawRegressor",
    "astronaut_face",
    "fit_and_tune",
    "get_dataset",
    "get_scale",
    "invert",
    "load_or_train",
    "load_yaw_regressor",
    "make_grid",
    "predict_yaw",
    "prepare_image",
    "psnr",
    "resolve_scale",
    "rotate",
    "save_image",
    "save_rotation",
    "ssim",
    "to_uint8_hwc",
    "train_yaw_regressor",
    "Discriminator",
    "EquivarianceReport",
    "Generator",
    "TileGenerator",
    "GEOMETRIES",
    "Geometry",
    "get_geometry",
    "infer_geometry",
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
