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


def _room(rng: np.random.Generator) -> dict[str, np.ndarray]:
    u = rng.uniform
    W, D, H = u(3.4, 4.8), u(4.2, 5.6), u(2.4, 2.9)
    r: dict[str, np.ndarray] = {}
    r["room"] = np.array([W, D, H])
    cam = np.array([u(-0.25, 0.25) * W, u(1.2, 1.7), u(0.5, 1.7)])
    r["camera"] = np.concatenate([cam, [u(-22, 22), u(-24, -10), u(55, 72)]])  # yaw, pitch, fov
    double = rng.random() < 0.65
    bw = u(1.4, 1.8) if double else u(0.9, 1.1)
    bl = u(1.95, 2.15)
    half = W / 2
    bx = u(-half + bw / 2 + 0.1, half - bw / 2 - 0.1) * u(0.2, 1.0)
    z1 = D
    z0 = D - bl
    top = u(0.5, 0.62)
    boxes = np.array([_EMPTY] * _NB, dtype=np.float64)
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
    tw, td, th = u(0.4, 0.55), u(0.35, 0.45), u(0.45, 0.62)
    for side, (ti, li, si) in ((-1, (6, 8, 10)), (1, (7, 9, 11))):
        edge = x0 - 0.08 if side < 0 else x1 + 0.08
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
    wall_side = 1.0 if rng.random() < 0.5 else -1.0  # window wall; the wardrobe goes opposite
    if rng.random() < 0.5:
        wz0 = u(0.6, 1.6)
        wx = -wall_side * half
        wx0, wx1 = (wx, wx + 0.6 * wall_side) if wall_side < 0 else (wx - 0.6, wx)
        boxes[12] = (min(wx0, wx1), 0.0, wz0, max(wx0, wx1), u(1.7, 2.2), wz0 + u(0.9, 1.6))
    r["boxes"] = boxes
    wl, wh = u(0.9, 1.6), u(1.0, 1.4)
    r["window"] = np.array([wall_side, u(1.4, D - 1.4), u(1.35, 1.65), wl / 2, wh / 2])
    pw_, ph_ = u(0.5, 1.1) * min(bw, 1.2), u(0.4, 0.7)
    r["picture"] = np.array([bx + u(-0.1, 0.1), hb + 0.25 + ph_ / 2 + u(0, 0.2), pw_ / 2, ph_ / 2,
                             float(rng.random() < 0.85)])
    r["rug"] = np.array([bx + u(-0.3, 0.3), z0 + u(-0.6, 0.2), u(0.6, 1.2), u(0.5, 1.0),
                         float(rng.random() < 0.6)])

    def pastel(lo, hi):
        c = rng.uniform(lo, hi, 3)
        return c.mean() + u(0.35, 0.9) * (c - c.mean())  # tame the saturation

    wall = pastel(0.55, 0.95)
    wall = wall * 0.4 + wall.mean() * 0.6  # walls are rarely saturated
    r["colors"] = np.stack([
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


def _render_float(p: dict[str, np.ndarray], res: int) -> np.ndarray:
    """Render ``B`` rooms at ``res x res``: float32 ``(B, res*res, 3)`` (not mirrored yet)."""
    B = len(p["room"])
    g = ((2.0 * np.arange(res) + 1.0 - res) / res).astype(_F)
    X = np.broadcast_to(g[None, :], (res, res)).reshape(1, -1)
    Y = np.broadcast_to(-g[:, None], (res, res)).reshape(1, -1)

    def col(a):
        return a.astype(_F)[:, None]

    cam = p["camera"]
    ox, oy, oz = (col(cam[:, i]) for i in range(3))
    yaw, pitch, fov = (np.deg2rad(cam[:, i]) for i in (3, 4, 5))
    tx = col(np.tan(fov / 2))
    cp, sp = col(np.cos(pitch)), col(np.sin(pitch))
    cy, sy = col(np.cos(yaw)), col(np.sin(yaw))
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

    Wr, Dr, Hr = (col(p["room"][:, i]) for i in range(3))
    # the room, from inside: the first plane each ray leaves through
    txw = np.where(dx > 0, Wr / 2 - ox, -Wr / 2 - ox) * idx
    tyw = np.where(dy > 0, Hr - oy, -oy) * idy
    tzw = (Dr - oz) * idz
    tzw = np.where(dz > 0, tzw, np.inf)
    t = np.minimum(np.minimum(txw, tyw), tzw)
    # surface codes: 0 side wall, 1 ceiling, 2 floor, 3 back wall, 10 + k box k
    code = np.where(t == txw, 0, np.where(t == tzw, 3, np.where(dy > 0, 1, 2))).astype(np.int8)
    boxes = p["boxes"].astype(_F)
    oidx, oidy, oidz = ox * idx, oy * idy, oz * idz
    for k in range(_NB):
        b = boxes[:, k, :, None]  # (B, 6, 1)
        t1x, t2x = b[:, 0] * idx - oidx, b[:, 3] * idx - oidx
        t1y, t2y = b[:, 1] * idy - oidy, b[:, 4] * idy - oidy
        t1z, t2z = b[:, 2] * idz - oidz, b[:, 5] * idz - oidz
        tn = np.maximum(np.maximum(np.minimum(t1x, t2x), np.minimum(t1y, t2y)),
                        np.minimum(t1z, t2z))
        tf = np.minimum(np.minimum(np.maximum(t1x, t2x), np.maximum(t1y, t2y)),
                        np.maximum(t1z, t2z))
        win = (tn < tf) & (tn > 0) & (tn < t)
        np.copyto(t, tn, where=win)
        np.copyto(code, 10 + k, where=win)

    hx, hy, hz = ox + t * dx, oy + t * dy, oz + t * dz
    # normals, once per pixel: +-1, +-2, +-3 for the axis and its sign. A box hit lies on the
    # face of its box nearest to the hit point; the room's planes face inwards.
    is_box = code >= 10
    bi = np.maximum(code.astype(np.intp) - 10, 0)
    hit_pt = (hx, hy, hz)
    best = np.full_like(t, np.inf)
    normal = np.zeros(t.shape, np.int8)
    for a in range(3):
        for j, sgn in ((a, -1), (a + 3, 1)):
            face = np.take_along_axis(boxes[:, :, j], bi, axis=1)
            dist = np.abs(hit_pt[a] - face)
            closer = dist < best
            np.copyto(best, dist, where=closer)
            np.copyto(normal, sgn * (a + 1), where=closer)
    room_n = np.where(code == 0, np.where(dx > 0, -1, 1),
                      np.where(code == 3, -3, np.where(code == 1, -2, 2)))
    normal = np.where(is_box, normal, room_n.astype(np.int8))
    C = p["colors"].astype(_F)  # (B, 13, 3)
    # base colour per surface code
    lut = np.zeros((B, 10 + _NB, 3), _F)
    lut[:, 0] = C[:, 0]
    lut[:, 1] = C[:, 1]
    lut[:, 2] = C[:, 2]
    lut[:, 3] = C[:, 0]
    for k, ci in enumerate((3, 4, 5, 4, 4, 3, 7, 7, 7, 7, 8, 8, 7)):
        lut[:, 10 + k] = C[:, ci]
    rgb = np.take_along_axis(lut, code[..., None].astype(np.intp), axis=1)
    emissive = np.zeros_like(t, dtype=bool)
    style = p["style"].astype(_F)
    wood, wstripes, bstripes, plank = (style[:, i][:, None] for i in range(4))

    def mix(mask, colour):
        np.copyto(rgb, colour, where=mask[..., None])

    floor = code == 2
    # floor: planks along z with per-plank tone and dark gaps, or a flat carpet
    pid = np.floor(hx / plank)
    tone = 0.8 + 0.35 * _hash01(pid + 17.0 * np.floor(hz / 1.3 + _hash01(pid) * 3))
    gap = np.abs(hx / plank - pid - 0.5) > 0.46
    rgb = rgb * np.where(floor & (wood > 0.5), tone * np.where(gap, 0.6, 1.0), 1.0)[..., None]
    rug = p["rug"].astype(_F)
    in_rug = floor & (np.abs(hx - col(rug[:, 0])) < col(rug[:, 2])) & (
        np.abs(hz - col(rug[:, 1])) < col(rug[:, 3])) & (col(rug[:, 4]) > 0.5)
    mix(in_rug, C[:, None, 9])
    walls = (code == 0) | (code == 3)
    stripes = walls & (wstripes > 0.5) & (np.modf(np.abs(hx + hz) * 3.0)[0] < 0.5)
    mix(stripes, C[:, None, 12])
    # blanket stripes across the bed
    bl = (code == 12) & (bstripes > 0.5) & (np.modf(np.abs(hz) * 4.0)[0] < 0.4)
    mix(bl, C[:, None, 6])
    # window on a side wall: sky gradient, white frame, a cross of mullions
    win = p["window"].astype(_F)
    side, wz, wy, wl, wh = (col(win[:, i]) for i in range(5))
    on_wall = (code == 0) & (np.sign(hx) == side)
    u_, v_ = (hz - wz) / wl, (hy - wy) / wh
    in_win = on_wall & (np.abs(u_) < 1) & (np.abs(v_) < 1)
    frame = in_win & ((np.abs(u_) > 0.9) | (np.abs(v_) > 0.9) | (np.abs(u_) < 0.05)
                      | (np.abs(v_ - 0.2) < 0.05))
    sky = np.array([0.55, 0.75, 1.0], _F) + (1 - v_[..., None]) * np.array([0.2, 0.12, 0], _F)
    mix(in_win & ~frame, np.minimum(sky, 1.0))
    mix(frame, np.array([0.95, 0.95, 0.93], _F))
    emissive |= in_win & ~frame
    # picture above the bed: dark frame, two-colour landscape with a sun
    pic = p["picture"].astype(_F)
    pcx, pcy, pw_, ph_, has = (col(pic[:, i]) for i in range(5))
    pu, pv = (hx - pcx) / pw_, (hy - pcy) / ph_
    in_pic = (code == 3) & (np.abs(pu) < 1) & (np.abs(pv) < 1) & (has > 0.5)
    pframe = in_pic & ((np.abs(pu) > 0.88) | (np.abs(pv) > 0.85))
    inner = in_pic & ~pframe
    mix(inner & (pv > -0.2 + 0.25 * np.sin(pu * 3.0)), C[:, None, 10])
    mix(inner & (pv <= -0.2 + 0.25 * np.sin(pu * 3.0)), C[:, None, 11])
    mix(inner & ((pu - 0.4) ** 2 + (pv - 0.4) ** 2 < 0.06), np.array([0.98, 0.9, 0.5], _F))
    mix(pframe, np.array([0.25, 0.17, 0.1], _F))
    emissive |= (code == 20) | (code == 21)
    # lighting: a light near the ceiling, Lambert with fall-off, plus ambient
    lx, ly, lz = ox * 0.3, Hr - 0.15, Dr * 0.55
    Lx, Ly, Lz = lx - hx, ly - hy, lz - hz
    dist2 = Lx * Lx + Ly * Ly + Lz * Lz
    an = np.abs(normal)
    sg = np.sign(normal).astype(_F)
    ndotl = np.where(an == 1, sg * Lx, np.where(an == 2, sg * Ly, sg * Lz)) / np.sqrt(dist2)
    light = 0.35 + 0.9 * np.maximum(ndotl, 0.0) * (6.0 / (4.0 + dist2))
    light = np.where(emissive, 1.0, light)
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
