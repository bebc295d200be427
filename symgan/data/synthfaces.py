r"""SynthFaces: a procedural 3D face renderer with yaw ground truth.

A face is a few quadric surfaces, ray-cast orthographically and composited with a depth buffer:

* a head (a cranium ellipsoid, semi-axes ``A, B, C``, joined with a jaw ellipsoid) whose surface
  carries the eyes (white, iris, pupil,
  lid line), brows, lips, nostrils, optional beard and glasses as textures defined in *head*
  coordinates, so they move and foreshorten with the head;
* a nose ellipsoid sticking out of the face, two ear ellipsoids at the sides, a hair shell (an
  ellipsoid slightly larger than the head, cut open at the face) seen from outside and inside;
* a neck cylinder and shoulders that do not turn (the head turns on the body).

**Yaw** :math:`\theta` is a rotation of the head about the vertical axis,
:math:`x_v = x_h \cos\theta + z_h \sin\theta,\; z_v = -x_h \sin\theta + z_h \cos\theta`,
followed by orthographic projection along :math:`z`. Positive yaw turns the nose towards the
right of the image. A pixel ray :math:`(X, Y, t)` is mapped into head coordinates, where each
ellipsoid gives a quadratic in :math:`t`; the largest root is the visible point. The far ear falls
behind the head and disappears, the near ear moves onto the side of the head, the nose points
sideways.

**Mirror symmetry by construction.** Identities have no left/right parameter (bilateral
textures use :math:`|x_h|`), the light is frontal (no :math:`x` component), pixel centres are
symmetric about the centre column and :math:`\sin(-\theta)` is taken as :math:`-\sin\theta`.
Every quantity is then an exactly odd or even function of :math:`(X, \theta)` in IEEE arithmetic
(rounding is sign-symmetric), so ``render(id, -yaw) == mirror(render(id, yaw))`` up to the order
of the anti-aliasing sums (far below 1/255).

Anti-aliasing: rendered at ``ss`` times the size (``ss >= 2``, at least 64 px) and downsampled by
area averaging; texture edges are also smoothed over one fine pixel.

Figures (``docs/figures``): ``synthfaces_grid.png`` (64 random faces, 64 px) and
``synthfaces_yaw.png`` (three identities at yaw -45..45 degrees).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from .cache import cached_array

__all__ = [
    "FaceIdentity",
    "SynthFaces",
    "render",
    "render_batch",
    "sample_identities",
    "sample_yaws",
    "RENDERER_VERSION",
]

#: Bump when the picture produced for a given (seed, index) changes; it is part of the cache key.
RENDERER_VERSION = 2

_F = np.float32


@dataclass(frozen=True)
class FaceIdentity:
    """Identity parameters of one face (all left-right symmetric). Units: head-space, where the
    image spans ``[-1, 1]``; colours are RGB in ``[0, 1]``."""

    face_width: float  # semi-axis A
    face_height: float  # semi-axis B
    face_depth: float  # C / A
    jaw_width: float  # jaw ellipsoid width / A
    eye_spacing: float  # eye centre |x| / A
    eye_height: float  # eye centre y / B
    eye_size: float  # half-width of the eye white
    brow_height: float  # brow centre above eye centre
    brow_thickness: float
    brow_tilt: float  # slope of the brow, outer end up (>0) or down
    nose_length: float
    nose_width: float
    nose_depth: float
    mouth_width: float
    mouth_height: float  # mouth centre y / B (negative: below centre)
    lip_thickness: float
    smile: float
    ear_size: float
    hair_volume: float  # hair shell thickness
    hairline: float  # front hairline, in unit-shell coordinates (higher = receding)
    hair_length: float  # lowest hair point at the back, unit-shell y (-1: long)
    hair_sides: float  # how far forward hair covers the sides, unit-shell z
    glasses: float  # 0 or 1
    beard: float  # 0 or 1
    skin_r: float
    skin_g: float
    skin_b: float
    hair_r: float
    hair_g: float
    hair_b: float
    iris_r: float
    iris_g: float
    iris_b: float
    bg_r: float
    bg_g: float
    bg_b: float
    shirt_r: float
    shirt_g: float
    shirt_b: float

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


IDENTITY_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(FaceIdentity))

_SKIN = np.array(
    [[0.98, 0.84, 0.74], [0.93, 0.76, 0.62], [0.85, 0.64, 0.48], [0.70, 0.50, 0.36],
     [0.52, 0.36, 0.25], [0.36, 0.24, 0.17]], dtype=np.float64)
_HAIR = np.array(
    [[0.08, 0.07, 0.07], [0.22, 0.14, 0.09], [0.40, 0.26, 0.15], [0.62, 0.45, 0.25],
     [0.88, 0.76, 0.48], [0.55, 0.22, 0.10], [0.62, 0.60, 0.58], [0.85, 0.84, 0.82]],
    dtype=np.float64)
_HAIR_P = np.array([0.22, 0.22, 0.16, 0.1, 0.1, 0.08, 0.07, 0.05])
_IRIS = np.array(
    [[0.30, 0.18, 0.08], [0.18, 0.10, 0.05], [0.25, 0.45, 0.70], [0.30, 0.55, 0.35],
     [0.45, 0.50, 0.52], [0.50, 0.38, 0.18]], dtype=np.float64)


def _one_identity(rng: np.random.Generator) -> dict[str, float]:
    u = rng.uniform
    style = rng.choice(4, p=[0.4, 0.2, 0.3, 0.1])  # short, medium, long, receding
    hair_length, hair_sides, hairline = {
        0: (u(-0.25, 0.05), u(-0.35, -0.1), u(0.35, 0.6)),
        1: (u(-0.6, -0.35), u(-0.05, 0.2), u(0.3, 0.55)),
        2: (u(-1.3, -0.9), u(0.2, 0.4), u(0.3, 0.55)),
        3: (u(0.0, 0.25), u(-0.5, -0.3), u(0.7, 0.9)),
    }[int(style)]
    skin_t = u(0, len(_SKIN) - 1)
    k = int(min(skin_t, len(_SKIN) - 2))
    skin = _SKIN[k] + (skin_t - k) * (_SKIN[k + 1] - _SKIN[k]) + rng.normal(0, 0.015, 3)
    hair = _HAIR[rng.choice(len(_HAIR), p=_HAIR_P)] * u(0.85, 1.15) + rng.normal(0, 0.02, 3)
    iris = _IRIS[rng.integers(len(_IRIS))] + rng.normal(0, 0.03, 3)
    hue = rng.uniform(0, 1, 3)
    bg = 0.25 + 0.6 * hue
    shirt = rng.uniform(0.1, 0.9, 3)
    beard = float(rng.random() < 0.18)
    face_width = u(0.48, 0.56)
    d = {
        "face_width": face_width,
        "face_height": face_width * u(1.14, 1.3),
        "face_depth": u(1.0, 1.15),
        "jaw_width": u(0.86, 1.0),
        "eye_spacing": u(0.36, 0.46),
        "eye_height": u(0.0, 0.16),
        "eye_size": u(0.07, 0.095),
        "brow_height": u(0.06, 0.11),
        "brow_thickness": u(0.013, 0.028),
        "brow_tilt": u(-0.35, 0.35),
        "nose_length": u(0.08, 0.14),
        "nose_width": u(0.035, 0.055),
        "nose_depth": u(0.05, 0.09),
        "mouth_width": u(0.08, 0.14),
        "mouth_height": u(-0.58, -0.44),
        "lip_thickness": u(0.018, 0.032),
        "smile": u(-0.3, 1.0),
        "ear_size": u(0.8, 1.2),
        "hair_volume": u(0.04, 0.11) if style != 3 else u(0.01, 0.03),
        "hairline": hairline,
        "hair_length": hair_length,
        "hair_sides": hair_sides,
        "glasses": float(rng.random() < 0.2),
        "beard": beard,
    }
    for name, rgb in (("skin", skin), ("hair", hair), ("iris", iris), ("bg", bg),
                      ("shirt", shirt)):
        rgb = np.clip(rgb, 0.0, 1.0)
        d[f"{name}_r"], d[f"{name}_g"], d[f"{name}_b"] = (float(c) for c in rgb)
    return d


def sample_identities(seed: int, indices: np.ndarray | range) -> dict[str, np.ndarray]:
    """Identity parameters of the faces ``indices`` of stream ``seed`` (struct of arrays,
    one ``float64`` array of shape ``(N,)`` per field of :class:`FaceIdentity`). Face ``i``
    depends only on ``(seed, i)``."""
    rows = [_one_identity(np.random.default_rng([seed, int(i), 1])) for i in indices]
    return {k: np.array([r[k] for r in rows], dtype=np.float64) for k in IDENTITY_FIELDS}


def sample_yaws(seed: int, indices: np.ndarray | range, yaw_range: float = 45.0) -> np.ndarray:
    """Yaw in degrees of the faces ``indices``: uniform on ``[-yaw_range, yaw_range]``, drawn so
    that the distribution is exactly symmetric (a magnitude and an independent fair sign)."""
    out = np.empty(len(indices), dtype=np.float64)
    for j, i in enumerate(indices):
        r = np.random.default_rng([seed, int(i), 2])
        mag, sign = r.uniform(0.0, yaw_range), 1.0 if r.random() < 0.5 else -1.0
        out[j] = sign * mag
    return out


def identity_at(ids: dict[str, np.ndarray], i: int) -> FaceIdentity:
    """Row ``i`` of a struct of arrays as a :class:`FaceIdentity`."""
    return FaceIdentity(**{k: float(ids[k][i]) for k in IDENTITY_FIELDS})


# ----------------------------------------------------------------------------- ray casting


def _ellipsoid(X, Y, px, pz, dx, dz, cx, cy, cz, ax, ay, az):
    """Intersect orthographic rays with an ellipsoid given in head coordinates.

    The ray of pixel ``(X, Y)`` is ``p(t) = (px + t dx, Y, pz + t dz)`` in head coordinates, ``t``
    the view depth (larger = nearer the viewer). Returns ``(hit, t_front, t_back)``.
    """
    ux, uz = px - cx, pz - cz
    ia, ib, ic = 1.0 / (ax * ax), 1.0 / (ay * ay), 1.0 / (az * az)
    a = dx * dx * ia + dz * dz * ic
    b = ux * dx * ia + uz * dz * ic
    yy = Y - cy
    c = ux * ux * ia + yy * yy * ib + uz * uz * ic - 1.0
    disc = b * b - a * c
    hit = disc > 0
    r = np.sqrt(np.maximum(disc, 0.0))
    return hit, (r - b) / a, (-r - b) / a


def _smooth_mask(d, w):
    """Soft inside-mask ``clip(0.5 - d / w, 0, 1)`` for a signed distance-like ``d``."""
    return np.clip(0.5 - d / w, 0.0, 1.0)


def _blend(col, m, rgb):
    """``col = col (1 - m) + rgb m``, with ``col (B,P,3)``, ``m (B,P)``, ``rgb (B,1,3)`` or
    ``(B,P,3)``."""
    m = m[..., None]
    return col + m * (rgb - col)


def _col(ids, name, dtype=_F):
    return np.stack([ids[f"{name}_r"], ids[f"{name}_g"], ids[f"{name}_b"]], -1).astype(dtype)[
        :, None, :
    ]


def _render_float(ids: dict[str, np.ndarray], yaw_deg: np.ndarray, res: int) -> np.ndarray:
    """Render ``B`` faces at ``res x res`` without anti-aliasing: float32 ``(B, res*res, 3)``.

    Surfaces are composited with a depth buffer that keeps, per pixel, the nearest surface's
    layer id and shading factor; colours are looked up once at the end. The head and its
    textures are only evaluated in the window that can contain the head.
    """
    B = len(yaw_deg)
    g = ((2.0 * np.arange(res) + 1.0 - res) / res).astype(_F)  # symmetric pixel centres
    X = np.broadcast_to(g[None, :], (res, res)).reshape(1, -1)
    Y = np.broadcast_to(-g[:, None], (res, res)).reshape(1, -1)
    P = res * res
    pw = _F(2.0 / res)  # one pixel in image units, the width of soft edges

    def p(name):
        return ids[name].astype(_F)[:, None]

    th = np.deg2rad(np.abs(yaw_deg))
    s = (np.sign(yaw_deg) * np.sin(th)).astype(_F)[:, None]  # exactly odd in yaw
    c = np.cos(th).astype(_F)[:, None]
    dx, dz = -s, c  # ray direction in head coordinates, per unit of view depth

    A, Bh = p("face_width"), p("face_height")
    C = A * p("face_depth")
    light = np.array([0.0, 0.3, 1.0], dtype=_F)
    light /= np.linalg.norm(light)

    def shade(nx_h, ny_h, nz_h):
        """Lambert factor of a head-space normal, lit from the front (and a little above)."""
        nz_v = -nx_h * s + nz_h * c
        inv = 1.0 / np.sqrt(nx_h * nx_h + ny_h * ny_h + nz_h * nz_h + 1e-12)
        return 0.5 + 0.6 * np.maximum((ny_h * light[1] + nz_v * light[2]) * inv, 0.0)

    BG, SHIRT, NECK, HAIR_IN, HEAD, EAR, NOSE, HAIR = range(8)
    skin, hair, shirt, bg = _col(ids, "skin"), _col(ids, "hair"), _col(ids, "shirt"), _col(ids, "bg")
    bases = np.concatenate([bg, shirt, skin * 0.85, hair * 0.45, skin, skin * 0.92, skin, hair],
                           axis=1)  # (B, 8, 3)
    depth = np.full((B, P), -np.inf, dtype=_F)
    layer = np.zeros((B, P), dtype=np.intp)
    shd = np.broadcast_to(0.8 + 0.15 * (Y + 1.0), (B, P)).astype(_F)

    def put(hit, t, sh, k, bufs=None):
        d, lay, sb = bufs or (depth, layer, shd)
        win = hit & (t > d)
        np.copyto(d, t, where=win)
        np.copyto(lay, k, where=win)
        np.copyto(sb, sh, where=win)

    head_y = _F(0.03)
    # shoulders and neck do not turn with the head (view coordinates)
    sx, sy, sz = _F(1.0), _F(0.42), _F(0.4)
    yy = (Y + 1.14) / sy
    q = 1.0 - (X / sx) ** 2 - yy * yy
    nz = np.sqrt(np.maximum(q, 0.0))
    sh = 0.5 + 0.6 * np.clip((yy / sy * light[1] + nz / sz * light[2])
                             / np.sqrt((X / sx**2) ** 2 + (yy / sy) ** 2 + (nz / sz) ** 2 + 1e-9),
                             0, 1)
    put(np.broadcast_to(q > 0, (B, P)), np.broadcast_to(sz * nz - 0.3, (B, P)), sh, SHIRT)
    rn = A * 0.48
    q = rn * rn - X * X
    qn = np.sqrt(np.maximum(q, 0.0))
    put((q > 0) & (Y < head_y - Bh * 0.3), qn - 0.05, 0.45 + 0.35 * qn / rn, NECK)

    # hair shell (an ellipsoid around the head, open at the face), inside surface first
    Yh = Y - head_y
    px, pz = X * c, X * s  # ray origin in head coordinates (view z = 0)
    hv = p("hair_volume")
    long_ = np.minimum(p("hair_length"), 0.0)
    hcx, hcz = np.zeros_like(A), -C * 0.04
    hax, haz = A + hv, C + hv * 1.2
    hay = Bh + hv * 1.1 - long_ * Bh * 0.25  # long hair: the shell reaches lower
    hcy = Bh * 0.06 + hv * 0.5 + long_ * Bh * 0.25
    hit_h, tf, tb = _ellipsoid(X, Yh, px, pz, dx, dz, hcx, hcy, hcz, hax, hay, haz)
    hl, hlen, hside = p("hairline"), p("hair_length"), p("hair_sides")

    def hair_here(t):
        ux = (px + t * dx - hcx) / hax
        uy = (Yh - hcy) / hay
        uz = (pz + t * dz - hcz) / haz
        front = uy > hl + 0.35 * ux * ux - 0.15 * np.maximum(uz, 0)  # receding at temples
        back = (uz < hside) & (uy > hlen)
        aux = np.abs(ux)  # strands symmetric about the parting
        strands = 0.9 + 0.1 * np.sin(aux * 60.0 + uz * 7.0) * np.sin(aux * 19.0)
        return front | back, strands, (ux, uy, uz)

    m_b, strands_b, _ = hair_here(tb)
    put(hit_h & m_b, tb, strands_b, HAIR_IN)

    # the window that can contain the head (symmetric in X, so mirroring is unaffected)
    xw = float(np.max(np.maximum(A, C))) + 2 * pw
    yw = float(np.max(Bh)) + 2 * pw
    w = np.flatnonzero((np.abs(X[0]) <= xw) & (np.abs(Yh[0]) <= yw))
    wb = (depth[:, w], layer[:, w], shd[:, w])  # window copies, written back after the nose
    Xw, Yw = X[:, w], Yh[:, w]
    pxw, pzw = Xw * c, Xw * s
    # the head is the union of a cranium and a jaw ellipsoid; the face textures are functions of
    # the head-space hit point, so they lie on whichever surface is in front
    hit1, t1, _ = _ellipsoid(Xw, Yw, pxw, pzw, dx, dz, 0.0, 0.0, 0.0, A, Bh, C)
    jA, jcy, jB, jC, jcz = A * p("jaw_width"), -Bh * 0.38, Bh * 0.64, C * 0.85, -C * 0.05
    hit2, t2, _ = _ellipsoid(Xw, Yw, pxw, pzw, dx, dz, 0.0, jcy, jcz, jA, jB, jC)
    use_jaw = hit2 & (~hit1 | (t2 > t1))
    hit = hit1 | hit2
    t = np.where(use_jaw, t2, t1)
    xh, zh = pxw + t * dx, pzw + t * dz
    ax_ = np.abs(xh)  # bilateral features are functions of |x|
    front = zh > 0
    hcol = np.broadcast_to(skin, (B, len(w), 3)).copy()
    ex, ey, ew = A * p("eye_spacing"), Bh * p("eye_height"), p("eye_size")
    my, mw = Bh * p("mouth_height"), p("mouth_width")
    cheek = np.exp(-(((ax_ - ex * 1.1) / (ew * 1.3)) ** 2 + ((Yw - (ey + my) / 2) / ew) ** 2))
    hcol = _blend(hcol, 0.12 * cheek * front, np.array([0.85, 0.35, 0.35], _F))
    hair_d = hair * 0.8
    # beard: lower face and jaw, leaving the lips
    nl = p("nose_length")
    ny = ey - nl * 0.5 - ew * 0.3
    lip = p("lip_thickness")
    b_top = my + lip * 2.5 + 0.25 * (ax_ / A) ** 2 * Bh
    bm = _smooth_mask(Yw - b_top, pw) * (zh > -C * 0.3) * p("beard")
    hcol = _blend(hcol, bm, hair_d)
    # the shadow the nose casts just below itself
    ns = ((xh / (p("nose_width") * 1.3)) ** 2 + ((Yw - ny + nl * 0.62) / (nl * 0.14)) ** 2)
    hcol *= (1.0 - 0.3 * np.exp(-ns) * front)[..., None]
    # brows
    bt = p("brow_thickness")
    by = ey + p("brow_height") + p("brow_tilt") * (ax_ - ex)
    bd = np.sqrt(((ax_ - ex) / (ew * 1.35)) ** 2 + ((Yw - by) / bt) ** 2) - 1.0
    hcol = _blend(hcol, _smooth_mask(bd * bt, pw) * front, hair_d * 0.9)
    # eyes: socket shadow, white, iris, pupil, upper lid
    eh = ew * 0.55
    sd = ((ax_ - ex) / (ew * 1.5)) ** 2 + ((Yw - ey - eh * 0.3) / (eh * 2.2)) ** 2
    hcol *= (1.0 - 0.18 * np.exp(-sd) * front)[..., None]
    ed = np.sqrt(((ax_ - ex) / ew) ** 2 + ((Yw - ey) / eh) ** 2) - 1.0
    eye_in = _smooth_mask(ed * eh, pw) * front
    hcol = _blend(hcol, eye_in, np.array([0.95, 0.94, 0.92], _F))
    ir = eh * 0.95
    rr = np.sqrt((ax_ - ex) ** 2 + (Yw - ey) ** 2)
    hcol = _blend(hcol, _smooth_mask(rr - ir, pw) * eye_in, _col(ids, "iris"))
    hcol = _blend(hcol, _smooth_mask(rr - ir * 0.45, pw) * eye_in, np.array([0.03] * 3, _F))
    lid = _smooth_mask(np.abs(ed * eh + eh * 0.05) - eh * 0.22, pw) * (Yw > ey) * front
    hcol = _blend(hcol, lid, np.array([0.1, 0.07, 0.06], _F))
    # glasses: two rims, a bridge and temples running back towards the ears
    gr = ew * 1.45
    gy = np.abs(Yw - ey - eh * 0.4) - pw * 0.6
    ring = _smooth_mask(np.abs(rr - gr) - pw * 0.6, pw)
    bridge = _smooth_mask(gy, pw) * (ax_ < ex - gr * 0.9)
    temple = _smooth_mask(gy, pw) * (ax_ > ex + gr * 0.95) * (zh > -C * 0.1)
    gm = np.maximum(np.maximum(ring, bridge) * front, temple) * p("glasses")
    hcol = _blend(hcol, gm, np.array([0.08, 0.08, 0.1], _F))
    # lips with a smile curve, and the dark line between them
    my_x = my + p("smile") * lip * 1.5 * (xh / mw) ** 2
    lipd = np.sqrt((xh / mw) ** 2 + ((Yw - my_x) / lip) ** 2) - 1.0
    lip_col = skin * np.array([0.85, 0.55, 0.55], _F) + np.array([0.1, 0.0, 0.0], _F)
    hcol = _blend(hcol, _smooth_mask(lipd * lip, pw) * front, lip_col)
    line = _smooth_mask(np.abs(Yw - my_x) - pw * 0.35, pw) * (np.abs(xh) < mw * 0.95) * front
    hcol = _blend(hcol, line, skin * 0.35)
    hsh = np.where(use_jaw, shade(xh / (jA * jA), (Yw - jcy) / (jB * jB), (zh - jcz) / (jC * jC)),
                   shade(xh / (A * A), Yw / (Bh * Bh), zh / (C * C)))
    put(hit, t, hsh, HEAD, wb)

    # nose: an ellipsoid half sunk into the face, with two nostrils (in the head window)
    nw, nd = p("nose_width"), p("nose_depth")
    ncz = C * np.sqrt(np.maximum(1.0 - (ny / Bh) ** 2, 0.0)) - nd * 0.35
    nly = nl * 0.62
    hit_n, tn_, _ = _ellipsoid(Xw, Yw, pxw, pzw, dx, dz, 0.0, ny, ncz, nw, nly, nd)
    nxh, nzh = pxw + tn_ * dx, pzw + tn_ * dz
    nsh = shade(nxh / (nw * nw), (Yw - ny) / (nly * nly), (nzh - ncz) / (nd * nd))
    nost = _smooth_mask(
        np.sqrt(((np.abs(nxh) - nw * 0.45) / (nw * 0.32)) ** 2
                + ((Yw - ny + nl * 0.5) / (nl * 0.13)) ** 2) - 1.0, 0.5) * (nzh > ncz)
    put(hit_n, tn_, nsh * (1.0 - 0.7 * nost), NOSE, wb)

    depth[:, w], layer[:, w], shd[:, w] = wb

    # ears (two separate objects; each is the mirror of the other)
    es = p("ear_size")
    eax, eay, eaz = A * 0.12, Bh * 0.2 * es, C * 0.16 * es
    ecy, ecz = ey - Bh * 0.08, -C * 0.08
    for side in (-1.0, 1.0):
        ecx = _F(side) * A * 0.97
        hit_e, te, _ = _ellipsoid(X, Yh, px, pz, dx, dz, ecx, ecy, ecz, eax, eay, eaz)
        esh = shade((px + te * dx - ecx) / (eax * eax), (Yh - ecy) / (eay * eay),
                    (pz + te * dz - ecz) / (eaz * eaz))
        put(hit_e, te, esh, EAR)

    # hair shell, outside (last: it covers the top of the head, the ears, the brow)
    m_f, strands_f, (ux, uy, uz) = hair_here(tf)
    put(hit_h & m_f, tf, strands_f * shade(ux / hax, uy / hay, uz / haz), HAIR)

    col = np.take_along_axis(bases, layer[..., None], axis=1)  # (B, P, 3)
    cw = col[:, w]
    col[:, w] = np.where((layer[:, w] == HEAD)[..., None], hcol, cw)
    return col * shd[..., None]


def _ss_for(size: int) -> int:
    return max(2, math.ceil(64 / size))


def render_batch(
    ids: dict[str, np.ndarray], yaw: np.ndarray, size: int, channels: int = 3, ss: int | None = None
) -> np.ndarray:
    """Render faces ``ids`` (struct of arrays, ``N`` rows) at yaws ``yaw`` (degrees, ``(N,)``).

    Returns ``uint8`` ``(N, size, size, channels)``; ``ss`` is the supersampling factor
    (default ``max(2, ceil(64 / size))``), the picture is the ``ss x ss`` area average.
    """
    if not 8 <= size <= 512:
        raise ValueError(f"size must be in [8, 512] (16..128 recommended), got {size}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    yaw = np.asarray(yaw, dtype=np.float64).reshape(-1)
    ss = ss or _ss_for(size)
    res = size * ss
    n = len(yaw)
    out = np.empty((n, size, size, channels), dtype=np.uint8)
    chunk = max(1, 2**18 // (res * res))
    for i in range(0, n, chunk):
        sl = slice(i, i + chunk)
        f = _render_float({k: v[sl] for k, v in ids.items()}, yaw[sl], res)
        f = f.reshape(-1, size, ss, size, ss, 3).mean(axis=(2, 4))
        if channels == 1:
            f = f @ np.array([0.299, 0.587, 0.114], dtype=_F)[:, None]
        out[sl] = np.rint(np.clip(f, 0.0, 1.0) * 255.0).astype(np.uint8)
    return out


def render(identity: FaceIdentity | dict, yaw: float, size: int = 65, channels: int = 3,
           ss: int | None = None) -> np.ndarray:
    """Render one identity at ``yaw`` degrees: ``uint8`` ``(size, size, channels)``."""
    d = identity.as_dict() if isinstance(identity, FaceIdentity) else identity
    ids = {k: np.array([float(d[k])]) for k in IDENTITY_FIELDS}
    return render_batch(ids, np.array([yaw]), size, channels, ss)[0]


class SynthFaces(Dataset):
    """``n`` procedural faces at ``size x size``: float tensors ``(channels, size, size)`` in
    ``[-1, 1]``.

    Face ``i`` is a function of ``(seed, i)`` only. Attributes: ``images`` (``uint8``
    ``(n, size, size, channels)``), ``yaw`` (degrees, ``(n,)``, uniform on
    ``[-yaw_range, yaw_range]`` and symmetric about 0), ``identities`` (struct of arrays, see
    :class:`FaceIdentity`). ``labels(i)`` gives ``{"yaw": float, "identity": FaceIdentity}``;
    ``render(i, yaw)`` re-renders face ``i`` at another yaw; ``with_labels=True`` makes items
    ``(image, yaw_degrees)`` pairs. With ``cache=True`` the images are
    stored under the data directory as ``.npy``, keyed by every parameter that changes them.
    """

    def __init__(self, size: int = 33, n: int = 10000, channels: int = 3, seed: int = 0,
                 yaw_range: float = 45.0, cache: bool = True, with_labels: bool = False) -> None:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.size, self.n, self.channels, self.seed = int(size), int(n), int(channels), int(seed)
        self.yaw_range = float(yaw_range)
        self.with_labels = bool(with_labels)
        idx = range(self.n)
        self.identities = sample_identities(self.seed, idx)
        self.yaw = sample_yaws(self.seed, idx, self.yaw_range)
        key = {"size": self.size, "n": self.n, "channels": self.channels, "seed": self.seed,
               "yaw_range": self.yaw_range, "version": RENDERER_VERSION}
        self.images = cached_array(
            "synthfaces", key,
            lambda: render_batch(self.identities, self.yaw, self.size, self.channels), cache)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        img = torch.from_numpy(self.images[i]).permute(2, 0, 1).float() / 127.5 - 1.0
        if self.with_labels:
            return img, torch.tensor(self.yaw[i], dtype=torch.float32)
        return img

    def identity(self, i: int) -> FaceIdentity:
        return identity_at(self.identities, i)

    def labels(self, i: int) -> dict:
        """``{"yaw": degrees, "identity": FaceIdentity}`` of face ``i``."""
        return {"yaw": float(self.yaw[i]), "identity": self.identity(i)}

    def render(self, i: int, yaw: float, size: int | None = None) -> torch.Tensor:
        """Face ``i`` re-rendered at ``yaw`` degrees: ``(channels, size, size)`` in ``[-1, 1]``."""
        img = render(self.identity(i), yaw, size or self.size, self.channels)
        return torch.from_numpy(img).permute(2, 0, 1).float() / 127.5 - 1.0
