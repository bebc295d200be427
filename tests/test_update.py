"""The one GAN update: both networks change, the outputs are the losses, bad use is refused."""

from __future__ import annotations

import pytest
import torch

from symgan import Discriminator, Generator
from symgan.update import gan_step


def _setup():
    G, D = Generator("zprime", img_size=17, width=4), Discriminator(symmetric=True, img_size=17, width=4)
    og = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    return G, D, og, od, torch.rand(8, 3, 17, 17) * 2 - 1, G.sample_latent(8)


@pytest.mark.parametrize("alpha", [0.0, 40.0])
def test_gan_step_updates_both_networks(alpha: float) -> None:
    G, D, og, od, real, z = _setup()
    g0 = [p.detach().clone() for p in G.parameters()]
    d0 = [p.detach().clone() for p in D.parameters()]
    out = gan_step(G, D, og, od, real, z, mirror_latent=G.mirror_latent, alpha=alpha)
    assert any(not torch.equal(a, b) for a, b in zip(g0, G.parameters(), strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(d0, D.parameters(), strict=True))
    assert {"loss_d", "loss_g", "d_real", "d_fake"} <= out.keys()
    assert ("loss_sym" in out) == (alpha > 0)
    if alpha > 0:  # z' is exactly symmetric: its symmetry loss is float rounding
        assert float(out["loss_sym"]) < 1e-12
    assert 0 < float(out["d_real"]) < 1 and float(out["loss_d"]) > 0


def test_symmetry_loss_needs_the_mirror_latent() -> None:
    G, D, og, od, real, z = _setup()
    with pytest.raises(ValueError, match="mirror_latent"):
        gan_step(G, D, og, od, real, z, alpha=1.0)
