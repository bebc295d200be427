r"""SynthRooms: procedural bedroom-like scenes, ray-cast in perspective.

A room is a box (floor, ceiling, two side walls, back wall) seen by a pinhole camera near the
front wall, with varied position, yaw, pitch and field of view. Inside: a bed (frame, mattress,
blanket, one or two pillows, headboard) against the back wall, a window on a side wall, a
picture above the bed, a rug, bedside tables with lamps, sometimes a wardrobe. Textures: wooden
planks or carpet, striped or plain walls and blankets. Lighting: a ceiling light (Lambert with
fall-off) plus ambient; the window, the picture's sky and the lamp shades are emissive.

Every object is an axis-aligned box, intersected with the slab method; the nearest hit wins.

**Mirror invariance.** A scene is not symmetric, but its mirror image is an equally likely scene:
after all choices are drawn, the whole scene is mirrored (``x -> -x``, camera included) with
probability 1/2. The camera model is mirror symmetric, so rendering the mirrored scene is exactly
flipping the picture, which is how it is done. Hence the distribution of images is exactly
invariant under the mirror (the property the paper's LSUN section relies on), while individual
rooms are not symmetric.

Figure: ``docs/figures/synthrooms_grid.png`` (64 random rooms, 64 px).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset

from .cache import cached_array

__all__ = ["SynthRooms", "sample_rooms", "render_rooms", "ROOMS_VERSION"]

ROOMS_VERSION = 2
_F = np.float32

# objects (box index k), in the order of the box array
_BOX_NAMES = ("bed_frame", "mattress", "blanket", "pillow_a", "pillow_b", "headboard",
              "table_l", "table_r", "lamp_l", "lamp_r", "shade_l", "shade_r", "wardrobe")
_NB = len(_BOX_NAMES)
_EMPTY = (0.0, 0.0, 0.0, -1.0, -1.0, -1.0)  # lo > hi: never hit


class _Bed(NamedTuple):
    """Where the bed went: centre ``bx``, width ``bw``, sides ``x0, x1``, foot end ``z0``,
    headboard height ``hb`` (metres)."""

    bx: float
    bw: float
    x0: float
    x1: float
    z0: float
    hb: float


def _place_bed(rng: np.random.Generator, boxes: np.ndarray, W: float, D: float) -> _Bed:
    """Bed frame, mattress, blanket, pillows (two on a double bed) and headboard, against the back
    wall (``z = D``) at a random ``x``."""
    u = rng.uniform
    double = rng.random() < 0.65
    bw = u(1.4, 1.8) if double else u(0.9, 1.1)
    bl = u(1.95, 2.15)
    half = W / 2
    bx = u(-half + bw / 2 + 0.1, half - bw / 2 - 0.1) * u(0.2, 1.0)
    z1 = D
    z0 = D - bl
    top = u(0.5, 0.62)
    x0, x1 = bx - bw / 2, bx + bw / 2
    boxes[0] = (x0, 0.0, z0, x1, top - 0.2, z1)
    boxes[1] = (x0 + 0.03, top - 0.2, z0 + 0.03, x1 - 0.03, top, z1 - 0.08)
    bz = z0 + bl * u(0.35, 0.6)  # the blanket covers the foot end, to here
    boxes[2] = (x0 - 0.02, top - 0.3, z0 - 0.03, x1 + 0.02, top + 0.04, bz)
    pz0, pz1 = D - 0.08 - u(0.4, 0.5), D - 0.1
    ph = u(0.12, 0.18)
    if double:
        boxes[3] = (x0 + 0.07, top, pz0, bx - 0.04, top + ph, pz1)
        boxes[4] = (bx + 0.04, top, pz0, x1 - 0.07, top + ph, pz1)
    else:
        boxes[3] = (x0 + 0.08, top, pz0, x1 - 0.08, top + ph, pz1)
    hb = u(0.9, 1.4)
    boxes[5] = (x0 - 0.05, 0.0, D - 0.08, x1 + 0.05, hb, D)
    return _Bed(bx, bw, x0, x1, z0, hb)


def _place_bedside_tables(rng: np.random.Generator, boxes: np.ndarray, bed: _Bed, half: float,
                          D: float) -> None:
    """A table on each side of the bed, unless it would not fit or is skipped; most carry a lamp
    (a thin stand and a shade)."""
    u = rng.uniform
    tw, td, th = u(0.4, 0.55), u(0.35, 0.45), u(0.45, 0.62)
    for side, (ti, li, si) in ((-1, (6, 8, 10)), (1, (7, 9, 11))):
        edge = bed.x0 - 0.08 if side < 0 else bed.x1 + 0.08
        far = edge - tw if side < 0 else edge + tw
        if abs(far) > half - 0.02 or rng.random() < 0.25:
            continue
        a, b = min(edge, far), max(edge, far)
        boxes[ti] = (a, 0.0, D - td, b, th, D)
        if rng.random() < 0.8:
            c = (a + b) / 2
            boxes[li] = (c - 0.03, th, D - td / 2 - 0.03, c + 0.03, th + 0.25, D - td / 2 + 0.03)
            sw = u(0.12, 0.17)
            boxes[si] = (c - sw, th + 0.22, D - td / 2 - sw, c + sw, th + 0.45, D - td / 2 + sw)


def _place_wardrobe(rng: np.random.Generator, boxes: np.ndarray, wall_side: float,
                    half: float) -> None:
    """Half the time, a wardrobe against the side wall opposite the window."""
    u = rng.uniform
    if rng.random() < 0.5:
        wz0 = u(0.6, 1.6)
        wx = -wall_side * half
        wx0, wx1 = (wx, wx + 0.6 * wall_side) if wall_side < 0 else (wx - 0.6, wx)
        boxes[12] = (min(wx0, wx1), 0.0, wz0, max(wx0, wx1), u(1.7, 2.2), wz0 + u(0.9, 1.6))


def _window_picture_rug(rng: np.random.Generator, bed: _Bed, wall_side: float,
                        D: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The window (side, centre z, centre height, half-length, half-height), the picture above
    the bed and the rug in front of it (centre x, centre y or z, half-sizes, present)."""
    u = rng.uniform
    wl, wh = u(0.9, 1.6), u(1.0, 1.4)
    window = np.array([wall_side, u(1.4, D - 1.4), u(1.35, 1.65), wl / 2, wh / 2])
    pw_, ph_ = u(0.5, 1.1) * min(bed.bw, 1.2), u(0.4, 0.7)
    picture = np.array([bed.bx + u(-0.1, 0.1), bed.hb + 0.25 + ph_ / 2 + u(0, 0.2), pw_ / 2,
                        ph_ / 2, float(rng.random() < 0.85)])
    rug = np.array([bed.bx + u(-0.3, 0.3), bed.z0 + u(-0.6, 0.2), u(0.6, 1.2), u(0.5, 1.0),
                    float(rng.random() < 0.6)])
    return window, picture, rug


def _palette(rng: np.random.Generator) -> np.ndarray:
    """The scene's 13 colours ``(13, 3)``, rows as commented; mostly tame pastels."""
    u = rng.uniform

    def pastel(lo, hi):
        c = rng.uniform(lo, hi, 3)
        return c.mean() + u(0.35, 0.9) * (c - c.mean())  # tame the saturation

    wall = pastel(0.55, 0.95)
    wall = wall * 0.4 + wall.mean() * 0.6  # walls are rarely saturated
    return np.stack([
        wall,  # 0 walls
        pastel(0.85, 0.97),  # 1 ceiling
        (np.array([0.55, 0.38, 0.22]) * u(0.6, 1.3) if rng.random() < 0.7
         else pastel(0.3, 0.7)),  # 2 floor: wood or carpet
        pastel(0.2, 0.7),  # 3 bed frame / headboard
        pastel(0.85, 1.0),  # 4 mattress, pillows
        pastel(0.15, 0.9),  # 5 blanket
        pastel(0.15, 0.9),  # 6 blanket stripes
        pastel(0.3, 0.7) * np.array([1.0, 0.85, 0.7]),  # 7 tables, wardrobe
        np.array([1.0, 0.9, 0.65]) * u(0.85, 1.0),  # 8 lamp shade (emissive)
        pastel(0.2, 0.9),  # 9 rug
        pastel(0.2, 0.9),  # 10 picture A
        pastel(0.2, 0.9),  # 11 picture B
        wall * u(0.75, 0.9),  # 12 wall stripes
    ])


def _room(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Scene parameters of one room. The sequence of draws from ``rng`` defines every cached and
    trained-on dataset: stages run, and draw, in a fixed order."""
    u = rng.uniform
    W, D, H = u(3.4, 4.8), u(4.2, 5.6), u(2.4, 2.9)
    r: dict[str, np.ndarray] = {}
    r["room"] = np.array([W, D, H])
    cam = np.array([u(-0.25, 0.25) * W, u(1.2, 1.7), u(0.5, 1.7)])
    r["camera"] = np.concatenate([cam, [u(-22, 22), u(-24, -10), u(55, 72)]])  # yaw, pitch, fov
    boxes = np.array([_EMPTY] * _NB, dtype=np.float64)
    bed = _place_bed(rng, boxes, W, D)
    _place_bedside_tables(rng, boxes, bed, W / 2, D)
    wall_side = 1.0 if rng.random() < 0.5 else -1.0  # window wall; the wardrobe goes opposite
    _place_wardrobe(rng, boxes, wall_side, W / 2)
    r["boxes"] = boxes
    r["window"], r["picture"], r["rug"] = _window_picture_rug(rng, bed, wall_side, D)
    r["colors"] = _palette(rng)
    r["style"] = np.array([float(rng.random() < 0.6), float(rng.random() < 0.3),
                           float(rng.random() < 0.4), u(0.12, 0.25)])  # wood, wall stripes,
    # striped blanket, plank width
    r["mirror"] = np.array([float(rng.random() < 0.5)])
    return r


def sample_rooms(seed: int, indices: np.ndarray | range) -> dict[str, np.ndarray]:
    """Scene parameters of rooms ``indices`` of stream ``seed`` (struct of arrays; room ``i``
    depends only on ``(seed, i)``)."""
    rows = [_room(np.random.default_rng([seed, int(i), 7])) for i in indices]
    return {k: np.stack([r[k] for r in rows]) for k in rows[0]}


def _hash01(i):
    return np.modf(np.abs(np.sin(i * 12.9898 + 4.1414) * 43758.5453))[0].astype(_F)


def _per_room(a: np.ndarray) -> np.ndarray:
    """A per-room value as ``float32`` ``(B, 1)``, to broadcast against pixels."""
    return a.astype(_F)[:, None]


class _Rays(NamedTuple):
    """Camera rays: origins ``o*`` ``(B, 1)``, directions ``d*`` ``(B, P)`` and their reciprocals
    ``id*`` (near-zero components clamped to ``1e-6``)."""

    ox: np.ndarray
    oy: np.ndarray
    oz: np.ndarray
    dx: np.ndarray
    dy: np.ndarray
    dz: np.ndarray
    idx: np.ndarray
    idy: np.ndarray
    idz: np.ndarray


def _camera_rays(p: dict[str, np.ndarray], res: int) -> _Rays:
    """Pinhole camera: pixel ``(X, Y)`` in ``[-1, 1]`` looks along ``(X tan(fov/2), Y tan(fov/2),
    1)``, pitched about ``x`` and then turned by the yaw about ``y``."""
    g = ((2.0 * np.arange(res) + 1.0 - res) / res).astype(_F)
    X = np.broadcast_to(g[None, :], (res, res)).reshape(1, -1)
    Y = np.broadcast_to(-g[:, None], (res, res)).reshape(1, -1)
    cam = p["camera"]
    ox, oy, oz = (_per_room(cam[:, i]) for i in range(3))
    yaw, pitch, fov = (np.deg2rad(cam[:, i]) for i in (3, 4, 5))
    tx = _per_room(np.tan(fov / 2))
    cp, sp = _per_room(np.cos(pitch)), _per_room(np.sin(pitch))
    cy, sy = _per_room(np.cos(yaw)), _per_room(np.sin(yaw))
    x, y = X * tx, Y * tx
    y2 = y * cp + sp
    z2 = -y * sp + cp
    dx = x * cy + z2 * sy
    dz = -x * sy + z2 * cy
    dy = y2
    eps = _F(1e-6)
    idx = 1.0 / np.where(np.abs(dx) < eps, eps, dx)
    idy = 1.0 / np.where(np.abs(dy) < eps, eps, dy)
    idz = 1.0 / np.where(np.abs(dz) < eps, eps, dz)
    return _Rays(ox, oy, oz, dx, dy, dz, idx, idy, idz)


def _trace_walls(p: dict[str, np.ndarray], r: _Rays) -> tuple[np.ndarray, np.ndarray]:
    """The room, from inside: the first plane each ray leaves through. Returns the depth ``t``
    and the surface code (0 side wall, 1 ceiling, 2 floor, 3 back wall), ``(B, P)`` each."""
    Wr, Dr, Hr = (_per_room(p["room"][:, i]) for i in range(3))
    txw = np.where(r.dx > 0, Wr / 2 - r.ox, -Wr / 2 - r.ox) * r.idx
    tyw = np.where(r.dy > 0, Hr - r.oy, -r.oy) * r.idy
    tzw = (Dr - r.oz) * r.idz
    tzw = np.where(r.dz > 0, tzw, np.inf)
    t = np.minimum(np.minimum(txw, tyw), tzw)
    code = np.where(t == txw, 0, np.where(t == tzw, 3, np.where(r.dy > 0, 1, 2))).astype(np.int8)
    return t, code


def _trace_boxes(boxes: np.ndarray, r: _Rays, t: np.ndarray, code: np.ndarray) -> None:
    """Intersect every furniture box (slab method); a nearer hit overwrites ``t`` and sets the
    code to ``10 + k`` for box ``k``."""
    oidx, oidy, oidz = r.ox * r.idx, r.oy * r.idy, r.oz * r.idz
    for k in range(_NB):
        b = boxes[:, k, :, None]  # (B, 6, 1)
        t1x, t2x = b[:, 0] * r.idx - oidx, b[:, 3] * r.idx - oidx
        t1y, t2y = b[:, 1] * r.idy - oidy, b[:, 4] * r.idy - oidy
        t1z, t2z = b[:, 2] * r.idz - oidz, b[:, 5] * r.idz - oidz
        tn = np.maximum(np.maximum(np.minimum(t1x, t2x), np.minimum(t1y, t2y)),
                        np.minimum(t1z, t2z))
        tf = np.minimum(np.minimum(np.maximum(t1x, t2x), np.maximum(t1y, t2y)),
                        np.maximum(t1z, t2z))
        win = (tn < tf) & (tn > 0) & (tn < t)
        np.copyto(t, tn, where=win)
        np.copyto(code, 10 + k, where=win)


def _normals(boxes: np.ndarray, r: _Rays, t: np.ndarray, code: np.ndarray,
             hit: tuple[np.ndarray, ...]) -> np.ndarray:
    """Normals, once per pixel, as ``int8`` codes ``±1, ±2, ±3`` (axis and sign). A box hit lies
    on the face of its box nearest to the hit point; the room's planes face inwards."""
    is_box = code >= 10
    bi = np.maximum(code.astype(np.intp) - 10, 0)
    best = np.full_like(t, np.inf)
    normal = np.zeros(t.shape, np.int8)
    for a in range(3):
        for j, sgn in ((a, -1), (a + 3, 1)):
            face = np.take_along_axis(boxes[:, :, j], bi, axis=1)
            dist = np.abs(hit[a] - face)
            closer = dist < best
            np.copyto(best, dist, where=closer)
            np.copyto(normal, sgn * (a + 1), where=closer)
    room_n = np.where(code == 0, np.where(r.dx > 0, -1, 1),
                      np.where(code == 3, -3, np.where(code == 1, -2, 2)))
    return np.where(is_box, normal, room_n.astype(np.int8))


def _base_colours(C: np.ndarray, code: np.ndarray) -> np.ndarray:
    """The plain colour of each pixel's surface, ``(B, P, 3)``, from the palette ``C``."""
    lut = np.zeros((len(C), 10 + _NB, 3), _F)
    lut[:, 0] = C[:, 0]
    lut[:, 1] = C[:, 1]
    lut[:, 2] = C[:, 2]
    lut[:, 3] = C[:, 0]
    for k, ci in enumerate((3, 4, 5, 4, 4, 3, 7, 7, 7, 7, 8, 8, 7)):
        lut[:, 10 + k] = C[:, ci]
    return np.take_along_axis(lut, code[..., None].astype(np.intp), axis=1)


def _paint(rgb: np.ndarray, mask: np.ndarray, colour: np.ndarray) -> None:
    """Set ``rgb`` to ``colour`` where ``mask`` (in place)."""
    np.copyto(rgb, colour, where=mask[..., None])


def _paint_floor(p: dict[str, np.ndarray], rgb: np.ndarray, C: np.ndarray, code: np.ndarray,
                 hit: tuple[np.ndarray, ...]) -> np.ndarray:
    """Planks along ``z`` with per-plank tone and dark gaps, or a flat carpet; then the rug.
    Returns the new colours."""
    hx, _, hz = hit
    wood, plank = _per_room(p["style"][:, 0]), _per_room(p["style"][:, 3])
    floor = code == 2
    pid = np.floor(hx / plank)
    tone = 0.8 + 0.35 * _hash01(pid + 17.0 * np.floor(hz / 1.3 + _hash01(pid) * 3))
    gap = np.abs(hx / plank - pid - 0.5) > 0.46
    rgb = rgb * np.where(floor & (wood > 0.5), tone * np.where(gap, 0.6, 1.0), 1.0)[..., None]
    rug = p["rug"].astype(_F)
    in_rug = floor & (np.abs(hx - _per_room(rug[:, 0])) < _per_room(rug[:, 2])) & (
        np.abs(hz - _per_room(rug[:, 1])) < _per_room(rug[:, 3])) & (_per_room(rug[:, 4]) > 0.5)
    _paint(rgb, in_rug, C[:, None, 9])
    return rgb


def _paint_stripes(p: dict[str, np.ndarray], rgb: np.ndarray, C: np.ndarray, code: np.ndarray,
                   hit: tuple[np.ndarray, ...]) -> None:
    """Diagonal stripes on the walls, and stripes across the blanket, where the style says so."""
    hx, _, hz = hit
    wstripes, bstripes = _per_room(p["style"][:, 1]), _per_room(p["style"][:, 2])
    walls = (code == 0) | (code == 3)
    stripes = walls & (wstripes > 0.5) & (np.modf(np.abs(hx + hz) * 3.0)[0] < 0.5)
    _paint(rgb, stripes, C[:, None, 12])
    bl = (code == 12) & (bstripes > 0.5) & (np.modf(np.abs(hz) * 4.0)[0] < 0.4)
    _paint(rgb, bl, C[:, None, 6])


def _paint_window(p: dict[str, np.ndarray], rgb: np.ndarray, code: np.ndarray,
                  hit: tuple[np.ndarray, ...]) -> np.ndarray:
    """The window on a side wall: sky gradient, white frame, a cross of mullions. Returns where
    the sky shows (emissive)."""
    hx, hy, hz = hit
    side, wz, wy, wl, wh = (_per_room(p["window"][:, i]) for i in range(5))
    on_wall = (code == 0) & (np.sign(hx) == side)
    u_, v_ = (hz - wz) / wl, (hy - wy) / wh
    in_win = on_wall & (np.abs(u_) < 1) & (np.abs(v_) < 1)
    frame = in_win & ((np.abs(u_) > 0.9) | (np.abs(v_) > 0.9) | (np.abs(u_) < 0.05)
                      | (np.abs(v_ - 0.2) < 0.05))
    sky = np.array([0.55, 0.75, 1.0], _F) + (1 - v_[..., None]) * np.array([0.2, 0.12, 0], _F)
    _paint(rgb, in_win & ~frame, np.minimum(sky, 1.0))
    _paint(rgb, frame, np.array([0.95, 0.95, 0.93], _F))
    return in_win & ~frame


def _paint_picture(p: dict[str, np.ndarray], rgb: np.ndarray, C: np.ndarray, code: np.ndarray,
                   hit: tuple[np.ndarray, ...]) -> None:
    """The picture above the bed: dark frame, two-colour landscape with a sun."""
    hx, hy, _ = hit
    pcx, pcy, pw_, ph_, has = (_per_room(p["picture"][:, i]) for i in range(5))
    pu, pv = (hx - pcx) / pw_, (hy - pcy) / ph_
    in_pic = (code == 3) & (np.abs(pu) < 1) & (np.abs(pv) < 1) & (has > 0.5)
    pframe = in_pic & ((np.abs(pu) > 0.88) | (np.abs(pv) > 0.85))
    inner = in_pic & ~pframe
    _paint(rgb, inner & (pv > -0.2 + 0.25 * np.sin(pu * 3.0)), C[:, None, 10])
    _paint(rgb, inner & (pv <= -0.2 + 0.25 * np.sin(pu * 3.0)), C[:, None, 11])
    _paint(rgb, inner & ((pu - 0.4) ** 2 + (pv - 0.4) ** 2 < 0.06), np.array([0.98, 0.9, 0.5], _F))
    _paint(rgb, pframe, np.array([0.25, 0.17, 0.1], _F))


def _lighting(p: dict[str, np.ndarray], r: _Rays, hit: tuple[np.ndarray, ...],
              normal: np.ndarray, emissive: np.ndarray) -> np.ndarray:
    """A light near the ceiling, Lambert with fall-off, plus ambient; emissive pixels get 1."""
    hx, hy, hz = hit
    Dr, Hr = _per_room(p["room"][:, 1]), _per_room(p["room"][:, 2])
    lx, ly, lz = r.ox * 0.3, Hr - 0.15, Dr * 0.55
    Lx, Ly, Lz = lx - hx, ly - hy, lz - hz
    dist2 = Lx * Lx + Ly * Ly + Lz * Lz
    an = np.abs(normal)
    sg = np.sign(normal).astype(_F)
    ndotl = np.where(an == 1, sg * Lx, np.where(an == 2, sg * Ly, sg * Lz)) / np.sqrt(dist2)
    light = 0.35 + 0.9 * np.maximum(ndotl, 0.0) * (6.0 / (4.0 + dist2))
    return np.where(emissive, 1.0, light)


def _render_float(p: dict[str, np.ndarray], res: int) -> np.ndarray:
    """Render ``B`` rooms at ``res x res``: float ``(B, res*res, 3)`` (not mirrored yet)."""
    r = _camera_rays(p, res)
    t, code = _trace_walls(p, r)
    boxes = p["boxes"].astype(_F)
    _trace_boxes(boxes, r, t, code)
    hit = (r.ox + t * r.dx, r.oy + t * r.dy, r.oz + t * r.dz)
    normal = _normals(boxes, r, t, code, hit)
    C = p["colors"].astype(_F)  # (B, 13, 3)
    rgb = _paint_floor(p, _base_colours(C, code), C, code, hit)
    _paint_stripes(p, rgb, C, code, hit)
    emissive = _paint_window(p, rgb, code, hit)
    _paint_picture(p, rgb, C, code, hit)
    emissive |= (code == 20) | (code == 21)  # lamp shades
    light = _lighting(p, r, hit, normal, emissive)
    return np.clip(rgb * light[..., None], 0.0, 1.0)


def render_rooms(params: dict[str, np.ndarray], size: int, channels: int = 3,
                 ss: int | None = None) -> np.ndarray:
    """Render rooms ``params`` (from :func:`sample_rooms`) as ``uint8`` ``(N, size, size, C)``,
    ``ss x ss`` supersampled (default ``max(2, ceil(64 / size))``), mirrored where the sample
    says so."""
    if not 8 <= size <= 512:
        raise ValueError(f"size must be in [8, 512] (16..128 recommended), got {size}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    ss = ss or max(2, math.ceil(64 / size))
    res = size * ss
    n = len(params["room"])
    out = np.empty((n, size, size, channels), np.uint8)
    chunk = max(1, 2**18 // (res * res))
    for i in range(0, n, chunk):
        sl = slice(i, i + chunk)
        f = _render_float({k: v[sl] for k, v in params.items()}, res)
        f = f.reshape(-1, size, ss, size, ss, 3).mean(axis=(2, 4))
        if channels == 1:
            f = f @ np.array([0.299, 0.587, 0.114], dtype=_F)[:, None]
        f = np.where(params["mirror"][sl, 0, None, None, None] > 0.5, f[:, :, ::-1], f)
        out[sl] = np.rint(np.clip(f, 0, 1) * 255).astype(np.uint8)
    return out


class SynthRooms(Dataset):
    """``n`` procedural bedrooms at ``size x size``: float tensors ``(channels, size, size)`` in
    ``[-1, 1]``. Room ``i`` is a function of ``(seed, i)``; ``images`` is ``uint8``
    ``(n, size, size, channels)``; ``params`` holds each scene's parameters (struct of arrays,
    ``params["mirror"]`` says which scenes were mirrored). Cached like :class:`SynthFaces`."""

    def __init__(self, size: int = 33, n: int = 10000, channels: int = 3, seed: int = 0,
                 cache: bool = True) -> None:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.size, self.n, self.channels, self.seed = int(size), int(n), int(channels), int(seed)
        self.params = sample_rooms(self.seed, range(self.n))
        key = {"size": self.size, "n": self.n, "channels": self.channels, "seed": self.seed,
               "version": ROOMS_VERSION}
        self.images = cached_array(
            "synthrooms", key, lambda: render_rooms(self.params, self.size, self.channels), cache)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.from_numpy(self.images[i]).permute(2, 0, 1).float() / 127.5 - 1.0

    def labels(self, i: int) -> dict:
        """The scene parameters of room ``i`` (arrays), including ``mirror``."""
        return {k: v[i] for k, v in self.params.items()}
