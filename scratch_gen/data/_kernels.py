"""The data package's hot loops, each as a Numba kernel next to its plain-NumPy reference.

The references are the readable truth and the test oracle (as in autograd/backend); the
kernels exist only because the NumPy form would build (points x nodes) temporaries or
loop in Python. DESIGN, "Numba rules learned the hard way": module-level functions with
``cache=True``, no closures, each prange iteration writes only its own output slot.
"""

import numpy as np
from numba import njit, prange


# -------------------------------------------------- Gaussian log-sum-exp over nodes
# log p(x) for a mixture of isotropic Gaussians with shared variance: one quadrature node
# of a curve integral is one component, so mixtures and curves share this kernel.

def gauss_lse_reference(x, centers, logw, inv_two_var):
    """``out[i] = log sum_j exp(logw[j] - |x[i] - centers[j]|^2 * inv_two_var)``."""
    d2 = ((x[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    a = logw[None, :] - d2 * inv_two_var
    m = a.max(axis=1)
    return m + np.log(np.exp(a - m[:, None]).sum(axis=1))


@njit(parallel=True, cache=True)
def gauss_lse(x, centers, logw, inv_two_var):
    n, d = x.shape
    m = centers.shape[0]
    out = np.empty(n)
    for i in prange(n):
        # Streaming log-sum-exp: keep the running max and the sum scaled by it.
        best = -np.inf
        acc = 0.0
        for j in range(m):
            d2 = 0.0
            for k in range(d):
                t = x[i, k] - centers[j, k]
                d2 += t * t
            v = logw[j] - d2 * inv_two_var
            if v <= best:
                if v > best - 50.0:         # terms below e^-50 of the max change nothing
                    acc += np.exp(v - best)
            else:
                acc = acc * np.exp(best - v) + 1.0
                best = v
        out[i] = best + np.log(acc)
    return out


# -------------------------------------------------- signed distance to a polygon set

def polygon_sdf_reference(points, segments):
    """Distance from each point to the nearest segment ``(x0, y0, x1, y1)``, positive
    inside (even-odd rule over all contours, so a glyph's holes are outside)."""
    p = points[:, None, :]
    a, b = segments[None, :, :2], segments[None, :, 2:]
    ab = b - a
    t = np.clip(((p - a) * ab).sum(-1) / (ab * ab).sum(-1), 0.0, 1.0)
    dist = np.sqrt((((a + t[..., None] * ab) - p) ** 2).sum(-1)).min(axis=1)
    y0, y1 = segments[None, :, 1], segments[None, :, 3]
    py, px = points[:, 1:2], points[:, 0:1]
    crosses = (y0 > py) != (y1 > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        x0, x1 = segments[None, :, 0], segments[None, :, 2]
        xc = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
    inside = ((crosses & (px < xc)).sum(axis=1) % 2) == 1
    return np.where(inside, dist, -dist)


@njit(cache=True)
def polygon_sdf(points, segments):
    n = points.shape[0]
    e = segments.shape[0]
    out = np.empty(n)
    for i in range(n):          # runs once per process: serial, so it compiles quickly
        px, py = points[i, 0], points[i, 1]
        best = np.inf
        inside = False
        for j in range(e):
            x0, y0, x1, y1 = segments[j, 0], segments[j, 1], segments[j, 2], segments[j, 3]
            dx, dy = x1 - x0, y1 - y0
            t = ((px - x0) * dx + (py - y0) * dy) / (dx * dx + dy * dy)
            t = min(1.0, max(0.0, t))
            ex, ey = x0 + t * dx - px, y0 + t * dy - py
            best = min(best, ex * ex + ey * ey)
            if (y0 > py) != (y1 > py):
                if px < x0 + (py - y0) * dx / dy:
                    inside = not inside
        out[i] = np.sqrt(best) if inside else -np.sqrt(best)
    return out


# -------------------------------------------------- glyph rasterizer
# Each output pixel is split into ss x ss sub-cells; a sub-cell's ink is its area coverage
# by a locally straight edge at the interpolated signed distance d (in sub-cell units):
# clip(0.5 + d, 0, 1). The pixel's value is the mean over its sub-cells.

@njit(cache=True)
def _bilinear(field, gx, gy):
    """``field`` sampled at fractional grid indices; far outside (-1e9) beyond the grid."""
    g = field.shape[0]
    if gx < 0.0 or gy < 0.0 or gx > g - 1.0 or gy > g - 1.0:
        return -1e9
    ix = min(int(gx), g - 2)
    iy = min(int(gy), g - 2)
    fx, fy = gx - ix, gy - iy
    return ((1 - fy) * ((1 - fx) * field[iy, ix] + fx * field[iy, ix + 1])
            + fy * ((1 - fx) * field[iy + 1, ix] + fx * field[iy + 1, ix + 1]))


@njit(parallel=True, cache=True)
def render_glyphs(sdf, grid_lo, grid_step, center, digits, angle, scale, shift, width,
                  size, ss):
    """Rasterize glyph ``digits[i]`` rotated by ``angle[i]`` (radians, counter-clockwise),
    scaled by ``scale[i]`` (pixels per em), moved by ``shift[i]`` (pixels) and dilated by
    ``width[i]`` pixels (negative erodes). ``sdf[k]`` is digit k's signed distance (em) on a
    square grid starting at ``grid_lo`` with spacing ``grid_step``; ``center`` (em) lands
    on the image centre."""
    n = digits.shape[0]
    out = np.zeros((n, size, size), dtype=np.float32)
    half = size / 2.0
    for i in prange(n):
        c, s = np.cos(angle[i]), np.sin(angle[i])
        field = sdf[digits[i]]
        for r in range(size):
            for q in range(size):
                total = 0.0
                for a in range(ss):
                    for b in range(ss):
                        # image coords (x right, y down) relative to the shifted centre
                        ux = q + (b + 0.5) / ss - half - shift[i, 0]
                        uy = r + (a + 0.5) / ss - half - shift[i, 1]
                        # undo rotation, flip y (fonts grow up), undo scale
                        gx = (c * ux - s * uy) / scale[i] + center[0]
                        gy = -(s * ux + c * uy) / scale[i] + center[1]
                        d = _bilinear(field, (gx - grid_lo[0]) / grid_step,
                                      (gy - grid_lo[1]) / grid_step)
                        d_sub = (d * scale[i] + width[i]) * ss
                        total += min(1.0, max(0.0, 0.5 + d_sub))
                out[i, r, q] = total / (ss * ss)
    return out


# -------------------------------------------------- river rasterizer

def render_polylines_reference(px, py, height, width, radius):
    """Binary images: a pixel is on when its centre lies within ``radius`` of the polyline
    through ``(px[i, k], py[i, k])`` (image coordinates, y down)."""
    qx, qy = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    best = np.full((px.shape[0], height, width), np.inf)
    for k in range(px.shape[1] - 1):
        ax, ay = px[:, k, None, None], py[:, k, None, None]
        dx, dy = px[:, k + 1, None, None] - ax, py[:, k + 1, None, None] - ay
        t = np.clip(((qx - ax) * dx + (qy - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
        best = np.minimum(best, (ax + t * dx - qx) ** 2 + (ay + t * dy - qy) ** 2)
    return (best <= radius * radius).astype(np.int64)


@njit(cache=True)
def render_polylines(px, py, height, width, radius):
    n, m = px.shape
    out = np.zeros((n, height, width), dtype=np.int64)
    r2 = radius * radius
    for i in range(n):
        for k in range(m - 1):
            ax, ay = px[i, k], py[i, k]
            dx, dy = px[i, k + 1] - ax, py[i, k + 1] - ay
            # only pixels whose centre can be within the radius of this segment
            c0 = max(0, int(np.floor(min(ax, ax + dx) - radius - 0.5)))
            c1 = min(width - 1, int(np.ceil(max(ax, ax + dx) + radius - 0.5)))
            r0 = max(0, int(np.floor(min(ay, ay + dy) - radius - 0.5)))
            r1 = min(height - 1, int(np.ceil(max(ay, ay + dy) + radius - 0.5)))
            for r in range(r0, r1 + 1):
                for c in range(c0, c1 + 1):
                    qx, qy = c + 0.5, r + 0.5
                    t = ((qx - ax) * dx + (qy - ay) * dy) / (dx * dx + dy * dy)
                    t = min(1.0, max(0.0, t))
                    ex, ey = ax + t * dx - qx, ay + t * dy - qy
                    if ex * ex + ey * ey <= r2:
                        out[i, r, c] = 1
    return out
