"""symgan.studies.bedrooms: the Fig. 14 latents, exact mirror relations on an untrained z' generator."""

import pytest
import torch

from symgan import Generator, mirror
from symgan.ema import calibrate_batchnorm
from symgan.studies.bedrooms import (
    coordinate_effects,
    coordinate_latents,
    coordinate_series,
    coordinate_similarity,
    left_right_balance,
)


def test_coordinate_latents_shape_and_values():
    z = torch.rand(3, 100) * 2 - 1
    lat = coordinate_latents(z, [-1.0, 0.0, 0.5], n_anti=5, coords=[0, 3])
    assert lat.shape == (3, 2, 3, 100)
    assert torch.equal(lat[..., 5:], z[:, None, None, 5:].expand(3, 2, 3, 95))
    assert torch.equal(lat[:, 1, :, 3], torch.tensor([-1.0, 0.0, 0.5]).expand(3, 3))
    assert lat[:, 1, :, [0, 1, 2, 4]].abs().max() == 0
    with pytest.raises(ValueError):
        coordinate_latents(z, [0.0], n_anti=5, coords=[5])


def test_coordinate_series_mirrors_and_effects():
    torch.manual_seed(0)
    G = Generator("zprime", img_size=16, width=8)
    calibrate_batchnorm(G, G.sample_latent(64))
    z = torch.rand(4, 100) * 2 - 1
    values = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0])
    S = coordinate_series(G, z, values)
    assert S.shape == (4, 5, 5, 3, 16, 16)
    assert (S - mirror(S.flip(2))).abs().max() < 1e-5          # v and -v: mirror images
    eff = coordinate_effects(S, values)
    assert eff["change"].shape == eff["mirror_mse"].shape == (5, 5)
    assert eff["change"][:, 2].abs().max() == 0                  # v = 0 is the reference
    assert eff["mirror_mse"][:, 2].max() < 1e-10                  # and symmetric
    assert eff["mirror_mse"][:, -1].min() > 0
    with pytest.raises(ValueError):
        coordinate_effects(S[:, :, :2], values[:2])
    sim = coordinate_similarity(S, values)
    assert sim.shape == (5, 5)
    assert torch.allclose(sim.diagonal(), torch.ones(5, dtype=torch.float64))
    assert torch.allclose(sim, sim.T) and sim.abs().max() <= 1 + 1e-9


def test_left_right_balance_is_odd():
    x = torch.rand(6, 3, 8, 8) * 2 - 1
    assert torch.allclose(left_right_balance(mirror(x)), -left_right_balance(x))
    u8 = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    assert left_right_balance(u8).shape == (2,)
