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


# layer ids of the depth buffer; colours are looked up from them once, at the end
_L_BG, _L_SHIRT, _L_NECK, _L_HAIR_IN, _L_HEAD, _L_EAR, _L_NOSE, _L_HAIR = range(8)
_HEAD_Y = _F(0.03)  # the head's centre, a little above the image centre


def _param(ids: dict[str, np.ndarray], name: str) -> np.ndarray:
    """Identity parameter ``name`` as ``float32`` ``(B, 1)``."""
    return ids[name].astype(_F)[:, None]


@dataclass
class _View:
    """What every stage shares: the pixel grid, the yaw, the head's size, the light.

    Pixel arrays are ``(1, P)`` or ``(B, P)``, per-face parameters ``(B, 1)``, colours
    ``(B, 1, 3)``; all ``float32``.
    """

    ids: dict[str, np.ndarray]
    X: np.ndarray  # pixel centres, view coordinates
    Y: np.ndarray
    Yh: np.ndarray  # Y relative to the head centre
    px: np.ndarray  # ray origin in head coordinates (view z = 0)
    pz: np.ndarray
    s: np.ndarray  # sin(yaw), exactly odd in yaw
    c: np.ndarray  # cos(yaw)
    dx: np.ndarray  # ray direction in head coordinates, per unit of view depth
    dz: np.ndarray
    pw: np.float32  # one pixel in image units, the width of soft edges
    A: np.ndarray  # head semi-axes
    Bh: np.ndarray
    C: np.ndarray
    light: np.ndarray  # unit light direction, frontal and a little above (no x component)
    skin: np.ndarray
    hair: np.ndarray

    def p(self, name: str) -> np.ndarray:
        """Identity parameter ``name`` as ``float32`` ``(B, 1)``."""
        return _param(self.ids, name)

    def shade(self, nx_h: np.ndarray, ny_h: np.ndarray, nz_h: np.ndarray) -> np.ndarray:
        """Lambert factor of a head-space normal, lit from the front (and a little above)."""
        nz_v = -nx_h * self.s + nz_h * self.c
        inv = 1.0 / np.sqrt(nx_h * nx_h + ny_h * ny_h + nz_h * nz_h + 1e-12)
        return 0.5 + 0.6 * np.maximum((ny_h * self.light[1] + nz_v * self.light[2]) * inv, 0.0)


def _view(ids: dict[str, np.ndarray], yaw_deg: np.ndarray, res: int) -> _View:
    """Pixel grid (centres symmetric about the middle column), yaw rotation and head size."""
    g = ((2.0 * np.arange(res) + 1.0 - res) / res).astype(_F)  # symmetric pixel centres
    X = np.broadcast_to(g[None, :], (res, res)).reshape(1, -1)
    Y = np.broadcast_to(-g[:, None], (res, res)).reshape(1, -1)
    th = np.deg2rad(np.abs(yaw_deg))
    s = (np.sign(yaw_deg) * np.sin(th)).astype(_F)[:, None]  # exactly odd in yaw
    c = np.cos(th).astype(_F)[:, None]
    A, Bh = _param(ids, "face_width"), _param(ids, "face_height")
    light = np.array([0.0, 0.3, 1.0], dtype=_F)
    light /= np.linalg.norm(light)
    return _View(ids=ids, X=X, Y=Y, Yh=Y - _HEAD_Y, px=X * c, pz=X * s, s=s, c=c, dx=-s, dz=c,
                 pw=_F(2.0 / res), A=A, Bh=Bh, C=A * _param(ids, "face_depth"), light=light,
                 skin=_col(ids, "skin"), hair=_col(ids, "hair"))


@dataclass
class _DepthBuffer:
    """Per pixel ``(B, P)``: depth of the nearest surface so far (larger = nearer the viewer),
    its layer id and its shading factor."""

    depth: np.ndarray
    layer: np.ndarray
    shd: np.ndarray

    @classmethod
    def background(cls, v: _View) -> _DepthBuffer:
        """Everything at infinite distance: the background, lit a little brighter at the top."""
        B, P = len(v.s), v.X.shape[1]
        return cls(np.full((B, P), -np.inf, dtype=_F), np.zeros((B, P), dtype=np.intp),
                   np.broadcast_to(0.8 + 0.15 * (v.Y + 1.0), (B, P)).astype(_F))

    def put(self, hit: np.ndarray, t: np.ndarray, sh: np.ndarray, k: int) -> None:
        """Draw layer ``k`` where the surface is ``hit`` and nearer (``t``) than what is there."""
        win = hit & (t > self.depth)
        np.copyto(self.depth, t, where=win)
        np.copyto(self.layer, k, where=win)
        np.copyto(self.shd, sh, where=win)

    def window(self, w: np.ndarray) -> _DepthBuffer:
        """A copy of the pixels ``w``; :meth:`write_back` returns it."""
        return _DepthBuffer(self.depth[:, w], self.layer[:, w], self.shd[:, w])

    def write_back(self, w: np.ndarray, sub: _DepthBuffer) -> None:
        """Copy a :meth:`window` back into pixels ``w``."""
        self.depth[:, w], self.layer[:, w], self.shd[:, w] = sub.depth, sub.layer, sub.shd


def _draw_body(v: _View, zb: _DepthBuffer) -> None:
    """Shoulders (an ellipsoid) and neck (a cylinder). They do not turn with the head, so they
    live in view coordinates."""
    X, Y, light = v.X, v.Y, v.light
    B, P = zb.depth.shape
    sx, sy, sz = _F(1.0), _F(0.42), _F(0.4)
    yy = (Y + 1.14) / sy
    q = 1.0 - (X / sx) ** 2 - yy * yy
    nz = np.sqrt(np.maximum(q, 0.0))
    sh = 0.5 + 0.6 * np.clip((yy / sy * light[1] + nz / sz * light[2])
                             / np.sqrt((X / sx**2) ** 2 + (yy / sy) ** 2 + (nz / sz) ** 2 + 1e-9),
                             0, 1)
    zb.put(np.broadcast_to(q > 0, (B, P)), np.broadcast_to(sz * nz - 0.3, (B, P)), sh, _L_SHIRT)
    rn = v.A * 0.48
    q = rn * rn - X * X
    qn = np.sqrt(np.maximum(q, 0.0))
    zb.put((q > 0) & (Y < _HEAD_Y - v.Bh * 0.3), qn - 0.05, 0.45 + 0.35 * qn / rn, _L_NECK)


@dataclass
class _HairShell:
    """An ellipsoid slightly larger than the head (centre ``cx, cy, cz``, semi-axes
    ``ax, ay, az``), carrying hair only where the hairstyle covers it; seen from outside
    (``t_front``) and, through the face opening, from inside (``t_back``)."""

    v: _View
    hit: np.ndarray
    t_front: np.ndarray
    t_back: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    cz: np.ndarray
    ax: np.ndarray
    ay: np.ndarray
    az: np.ndarray

    def covered(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
        """Is there hair at view depth ``t``; its strand shading; the unit-shell point."""
        v = self.v
        ux = (v.px + t * v.dx - self.cx) / self.ax
        uy = (v.Yh - self.cy) / self.ay
        uz = (v.pz + t * v.dz - self.cz) / self.az
        front = uy > v.p("hairline") + 0.35 * ux * ux - 0.15 * np.maximum(uz, 0)  # temples recede
        back = (uz < v.p("hair_sides")) & (uy > v.p("hair_length"))
        aux = np.abs(ux)  # strands symmetric about the parting
        strands = 0.9 + 0.1 * np.sin(aux * 60.0 + uz * 7.0) * np.sin(aux * 19.0)
        return front | back, strands, (ux, uy, uz)


def _hair_shell(v: _View) -> _HairShell:
    """Size the shell by the hair volume; long hair makes it reach lower."""
    A, Bh, C = v.A, v.Bh, v.C
    hv = v.p("hair_volume")
    long_ = np.minimum(v.p("hair_length"), 0.0)
    hcx, hcz = np.zeros_like(A), -C * 0.04
    hax, haz = A + hv, C + hv * 1.2
    hay = Bh + hv * 1.1 - long_ * Bh * 0.25
    hcy = Bh * 0.06 + hv * 0.5 + long_ * Bh * 0.25
    hit, tf, tb = _ellipsoid(v.X, v.Yh, v.px, v.pz, v.dx, v.dz, hcx, hcy, hcz, hax, hay, haz)
    return _HairShell(v, hit, tf, tb, hcx, hcy, hcz, hax, hay, haz)


def _draw_hair_inside(shell: _HairShell, zb: _DepthBuffer) -> None:
    """The inside of the shell, seen behind the head through the face opening."""
    m_b, strands_b, _ = shell.covered(shell.t_back)
    zb.put(shell.hit & m_b, shell.t_back, strands_b, _L_HAIR_IN)


def _draw_hair_outside(shell: _HairShell, zb: _DepthBuffer) -> None:
    """The outside of the shell, drawn last: it covers the top of the head, the ears, the brow."""
    m_f, strands_f, (ux, uy, uz) = shell.covered(shell.t_front)
    sh = shell.v.shade(ux / shell.ax, uy / shell.ay, uz / shell.az)
    zb.put(shell.hit & m_f, shell.t_front, strands_f * sh, _L_HAIR)


@dataclass
class _HeadWindow:
    """The flat pixel indices ``w`` that can contain the head, and their rays."""

    w: np.ndarray
    X: np.ndarray
    Y: np.ndarray  # relative to the head centre
    px: np.ndarray
    pz: np.ndarray


def _head_window(v: _View) -> _HeadWindow:
    """The head and its textures are only evaluated here; the window is symmetric in ``X``, so
    mirroring is unaffected."""
    xw = float(np.max(np.maximum(v.A, v.C))) + 2 * v.pw
    yw = float(np.max(v.Bh)) + 2 * v.pw
    w = np.flatnonzero((np.abs(v.X[0]) <= xw) & (np.abs(v.Yh[0]) <= yw))
    Xw = v.X[:, w]
    return _HeadWindow(w, Xw, v.Yh[:, w], Xw * v.c, Xw * v.s)


@dataclass
class _HeadHit:
    """Where the window's rays meet the head: depth ``t``, head-space point ``(xh, Y, zh)``,
    ``ax = |xh|`` (bilateral features are functions of it), ``front`` (``zh > 0``), and whether
    the jaw ellipsoid (``jaw = (cy, cz, ax, ay, az)``) is the visible one."""

    hit: np.ndarray
    t: np.ndarray
    use_jaw: np.ndarray
    xh: np.ndarray
    Y: np.ndarray
    zh: np.ndarray
    ax: np.ndarray
    front: np.ndarray
    jaw: tuple[np.ndarray, ...]


def _head_surface(v: _View, win: _HeadWindow) -> _HeadHit:
    """The head is the union of a cranium and a jaw ellipsoid; the face textures are functions of
    the head-space hit point, so they lie on whichever surface is in front."""
    A, Bh, C = v.A, v.Bh, v.C
    hit1, t1, _ = _ellipsoid(win.X, win.Y, win.px, win.pz, v.dx, v.dz, 0.0, 0.0, 0.0, A, Bh, C)
    jA, jcy, jB, jC, jcz = A * v.p("jaw_width"), -Bh * 0.38, Bh * 0.64, C * 0.85, -C * 0.05
    hit2, t2, _ = _ellipsoid(win.X, win.Y, win.px, win.pz, v.dx, v.dz, 0.0, jcy, jcz, jA, jB, jC)
    use_jaw = hit2 & (~hit1 | (t2 > t1))
    t = np.where(use_jaw, t2, t1)
    xh, zh = win.px + t * v.dx, win.pz + t * v.dz
    return _HeadHit(hit1 | hit2, t, use_jaw, xh, win.Y, zh, np.abs(xh), zh > 0,
                    (jcy, jcz, jA, jB, jC))


@dataclass
class _Features:
    """Where the features sit (head coordinates, ``(B, 1)``): eye centre ``(±ex, ey)``, eye
    half-width/height ``ew, eh``, mouth centre height and half-width ``my, mw``, lip thickness,
    nose length and centre height ``nl, ny``; ``eye_r`` is the distance of each hit point from the
    nearer eye centre."""

    ex: np.ndarray
    ey: np.ndarray
    ew: np.ndarray
    eh: np.ndarray
    my: np.ndarray
    mw: np.ndarray
    lip: np.ndarray
    nl: np.ndarray
    ny: np.ndarray
    eye_r: np.ndarray


def _features(v: _View, h: _HeadHit) -> _Features:
    """Place the eyes, mouth and nose from the identity's proportions."""
    ex, ey, ew = v.A * v.p("eye_spacing"), v.Bh * v.p("eye_height"), v.p("eye_size")
    nl = v.p("nose_length")
    rr = np.sqrt((h.ax - ex) ** 2 + (h.Y - ey) ** 2)
    return _Features(ex, ey, ew, ew * 0.55, v.Bh * v.p("mouth_height"), v.p("mouth_width"),
                     v.p("lip_thickness"), nl, ey - nl * 0.5 - ew * 0.3, rr)


def _paint_cheeks_and_beard(v: _View, h: _HeadHit, f: _Features, hcol: np.ndarray) -> np.ndarray:
    """Blush on the cheeks; the beard on the lower face and jaw, leaving the lips; the shadow the
    nose casts just below itself."""
    cheek = np.exp(-(((h.ax - f.ex * 1.1) / (f.ew * 1.3)) ** 2
                     + ((h.Y - (f.ey + f.my) / 2) / f.ew) ** 2))
    hcol = _blend(hcol, 0.12 * cheek * h.front, np.array([0.85, 0.35, 0.35], _F))
    b_top = f.my + f.lip * 2.5 + 0.25 * (h.ax / v.A) ** 2 * v.Bh
    bm = _smooth_mask(h.Y - b_top, v.pw) * (h.zh > -v.C * 0.3) * v.p("beard")
    hcol = _blend(hcol, bm, v.hair * 0.8)
    ns = ((h.xh / (v.p("nose_width") * 1.3)) ** 2
          + ((h.Y - f.ny + f.nl * 0.62) / (f.nl * 0.14)) ** 2)
    hcol *= (1.0 - 0.3 * np.exp(-ns) * h.front)[..., None]
    return hcol


def _paint_brows(v: _View, h: _HeadHit, f: _Features, hcol: np.ndarray) -> np.ndarray:
    """Brows: tilted ellipses above the eyes, a little darker than the hair."""
    bt = v.p("brow_thickness")
    by = f.ey + v.p("brow_height") + v.p("brow_tilt") * (h.ax - f.ex)
    bd = np.sqrt(((h.ax - f.ex) / (f.ew * 1.35)) ** 2 + ((h.Y - by) / bt) ** 2) - 1.0
    return _blend(hcol, _smooth_mask(bd * bt, v.pw) * h.front, v.hair * 0.8 * 0.9)


def _paint_eyes(v: _View, h: _HeadHit, f: _Features, hcol: np.ndarray) -> np.ndarray:
    """Eyes: socket shadow, white, iris, pupil, upper lid."""
    ex, ey, ew, eh, pw = f.ex, f.ey, f.ew, f.eh, v.pw
    sd = ((h.ax - ex) / (ew * 1.5)) ** 2 + ((h.Y - ey - eh * 0.3) / (eh * 2.2)) ** 2
    hcol *= (1.0 - 0.18 * np.exp(-sd) * h.front)[..., None]
    ed = np.sqrt(((h.ax - ex) / ew) ** 2 + ((h.Y - ey) / eh) ** 2) - 1.0
    eye_in = _smooth_mask(ed * eh, pw) * h.front
    hcol = _blend(hcol, eye_in, np.array([0.95, 0.94, 0.92], _F))
    ir = eh * 0.95
    hcol = _blend(hcol, _smooth_mask(f.eye_r - ir, pw) * eye_in, _col(v.ids, "iris"))
    hcol = _blend(hcol, _smooth_mask(f.eye_r - ir * 0.45, pw) * eye_in, np.array([0.03] * 3, _F))
    lid = _smooth_mask(np.abs(ed * eh + eh * 0.05) - eh * 0.22, pw) * (h.Y > ey) * h.front
    return _blend(hcol, lid, np.array([0.1, 0.07, 0.06], _F))


def _paint_glasses(v: _View, h: _HeadHit, f: _Features, hcol: np.ndarray) -> np.ndarray:
    """Glasses: two rims, a bridge and temples running back towards the ears."""
    pw = v.pw
    gr = f.ew * 1.45
    gy = np.abs(h.Y - f.ey - f.eh * 0.4) - pw * 0.6
    ring = _smooth_mask(np.abs(f.eye_r - gr) - pw * 0.6, pw)
    bridge = _smooth_mask(gy, pw) * (h.ax < f.ex - gr * 0.9)
    temple = _smooth_mask(gy, pw) * (h.ax > f.ex + gr * 0.95) * (h.zh > -v.C * 0.1)
    gm = np.maximum(np.maximum(ring, bridge) * h.front, temple) * v.p("glasses")
    return _blend(hcol, gm, np.array([0.08, 0.08, 0.1], _F))


def _paint_lips(v: _View, h: _HeadHit, f: _Features, hcol: np.ndarray) -> np.ndarray:
    """Lips bent by the smile, and the dark line between them."""
    my, mw, lip, pw = f.my, f.mw, f.lip, v.pw
    my_x = my + v.p("smile") * lip * 1.5 * (h.xh / mw) ** 2
    lipd = np.sqrt((h.xh / mw) ** 2 + ((h.Y - my_x) / lip) ** 2) - 1.0
    lip_col = v.skin * np.array([0.85, 0.55, 0.55], _F) + np.array([0.1, 0.0, 0.0], _F)
    hcol = _blend(hcol, _smooth_mask(lipd * lip, pw) * h.front, lip_col)
    line = _smooth_mask(np.abs(h.Y - my_x) - pw * 0.35, pw) * (np.abs(h.xh) < mw * 0.95) * h.front
    return _blend(hcol, line, v.skin * 0.35)


def _draw_head(v: _View, h: _HeadHit, f: _Features, zb: _DepthBuffer) -> np.ndarray:
    """Paint the face textures on the head (``(B, len(w), 3)`` colours, returned) and draw its
    shading into the window's depth buffer ``zb``."""
    hcol = np.broadcast_to(v.skin, (len(v.s), len(h.t[0]), 3)).copy()
    for paint in (_paint_cheeks_and_beard, _paint_brows, _paint_eyes, _paint_glasses, _paint_lips):
        hcol = paint(v, h, f, hcol)
    jcy, jcz, jA, jB, jC = h.jaw
    hsh = np.where(h.use_jaw,
                   v.shade(h.xh / (jA * jA), (h.Y - jcy) / (jB * jB), (h.zh - jcz) / (jC * jC)),
                   v.shade(h.xh / (v.A * v.A), h.Y / (v.Bh * v.Bh), h.zh / (v.C * v.C)))
    zb.put(h.hit, h.t, hsh, _L_HEAD)
    return hcol


def _draw_nose(v: _View, win: _HeadWindow, f: _Features, zb: _DepthBuffer) -> None:
    """The nose: an ellipsoid half sunk into the face, with two nostrils (window pixels only)."""
    nw, nd, nl, ny = v.p("nose_width"), v.p("nose_depth"), f.nl, f.ny
    ncz = v.C * np.sqrt(np.maximum(1.0 - (ny / v.Bh) ** 2, 0.0)) - nd * 0.35
    nly = nl * 0.62
    hit_n, tn_, _ = _ellipsoid(win.X, win.Y, win.px, win.pz, v.dx, v.dz, 0.0, ny, ncz, nw, nly, nd)
    nxh, nzh = win.px + tn_ * v.dx, win.pz + tn_ * v.dz
    nsh = v.shade(nxh / (nw * nw), (win.Y - ny) / (nly * nly), (nzh - ncz) / (nd * nd))
    nost = _smooth_mask(
        np.sqrt(((np.abs(nxh) - nw * 0.45) / (nw * 0.32)) ** 2
                + ((win.Y - ny + nl * 0.5) / (nl * 0.13)) ** 2) - 1.0, 0.5) * (nzh > ncz)
    zb.put(hit_n, tn_, nsh * (1.0 - 0.7 * nost), _L_NOSE)


def _draw_ears(v: _View, f: _Features, zb: _DepthBuffer) -> None:
    """Two ear ellipsoids at the sides of the head, each the mirror of the other."""
    A, Bh, C = v.A, v.Bh, v.C
    es = v.p("ear_size")
    eax, eay, eaz = A * 0.12, Bh * 0.2 * es, C * 0.16 * es
    ecy, ecz = f.ey - Bh * 0.08, -C * 0.08
    for side in (-1.0, 1.0):
        ecx = _F(side) * A * 0.97
        hit_e, te, _ = _ellipsoid(v.X, v.Yh, v.px, v.pz, v.dx, v.dz, ecx, ecy, ecz, eax, eay, eaz)
        esh = v.shade((v.px + te * v.dx - ecx) / (eax * eax), (v.Yh - ecy) / (eay * eay),
                      (v.pz + te * v.dz - ecz) / (eaz * eaz))
        zb.put(hit_e, te, esh, _L_EAR)


def _composite(v: _View, zb: _DepthBuffer, w: np.ndarray, hcol: np.ndarray) -> np.ndarray:
    """Colour each pixel by its winning layer (the head by its painted colours), times its
    shading."""
    skin, hair = v.skin, v.hair
    bases = np.concatenate([_col(v.ids, "bg"), _col(v.ids, "shirt"), skin * 0.85, hair * 0.45,
                            skin, skin * 0.92, skin, hair], axis=1)  # (B, 8, 3), by layer id
    col = np.take_along_axis(bases, zb.layer[..., None], axis=1)  # (B, P, 3)
    cw = col[:, w]
    col[:, w] = np.where((zb.layer[:, w] == _L_HEAD)[..., None], hcol, cw)
    return col * zb.shd[..., None]


def _render_float(ids: dict[str, np.ndarray], yaw_deg: np.ndarray, res: int) -> np.ndarray:
    """Render ``B`` faces at ``res x res`` without anti-aliasing: float32 ``(B, res*res, 3)``.

    Surfaces are composited with a depth buffer that keeps, per pixel, the nearest surface's
    layer id and shading factor; colours are looked up once at the end. The head and its
    textures are only evaluated in the window that can contain the head.
    """
    v = _view(ids, yaw_deg, res)
    zb = _DepthBuffer.background(v)
    _draw_body(v, zb)
    shell = _hair_shell(v)
    _draw_hair_inside(shell, zb)
    win = _head_window(v)
    head = _head_surface(v, win)
    feat = _features(v, head)
    zb_w = zb.window(win.w)  # a copy, written back after the nose
    hcol = _draw_head(v, head, feat, zb_w)
    _draw_nose(v, win, feat, zb_w)
    zb.write_back(win.w, zb_w)
    _draw_ears(v, feat, zb)
    _draw_hair_outside(shell, zb)
    return _composite(v, zb, win.w, hcol)


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
