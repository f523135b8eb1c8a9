"""WGS 84 longitude/latitude to UTM, compiled: the transverse Mercator of Krüger's series.

:func:`lonlat_to_utm` projects coordinate arrays as pyproj does for ``EPSG:4326 -> EPSG:326zz /
327zz`` (PROJ's default for UTM, the Poder/Engsager form of the same series), to well under a
millimetre (nanometres within the zone and 3 degrees beyond it; checked against pyproj by
``tests/io/test_utm.py``), about 5-10x faster than the pyproj call on the same arrays (no
per-call set-up, one pass). :func:`utm_zone_of` tells when it applies: a geographic WGS 84 source
and a WGS 84 UTM zone as the target; everything else goes through pyproj.

The method (Karney, "Transverse Mercator with an accuracy of a few nanometers", J. Geodesy 85,
2011, eqs. 7-11 and 35): the conformal latitude in closed form, then the series of the third
flattening ``n`` to order 6 (Krüger's), summed by Clenshaw's recurrence on the complex argument.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pyproj

from urbancover.core.compiled import compiled

__all__ = ["lonlat_to_utm", "utm_zone_of"]

#: WGS 84
_A = 6378137.0
_F = 1.0 / 298.257223563
_K0 = 0.9996


def _constants() -> tuple[float, float, np.ndarray]:
    """e (eccentricity), k0 times the rectifying radius A, and the alpha coefficients 1..6."""
    n = _F / (2.0 - _F)
    e = math.sqrt(_F * (2.0 - _F))
    n2 = n * n
    big_a = _A / (1.0 + n) * (1.0 + n2 * (1.0 / 4.0 + n2 * (1.0 / 64.0 + n2 / 256.0)))
    alpha = np.array([
        n * (1 / 2 + n * (-2 / 3 + n * (5 / 16 + n * (41 / 180 + n * (-127 / 288 + n * 7891 / 37800))))),
        n2 * (13 / 48 + n * (-3 / 5 + n * (557 / 1440 + n * (281 / 630 + n * -1983433 / 1935360)))),
        n2 * n * (61 / 240 + n * (-103 / 140 + n * (15061 / 26880 + n * 167603 / 181440))),
        n2 * n2 * (49561 / 161280 + n * (-179 / 168 + n * 6601661 / 7257600)),
        n2 * n2 * n * (34729 / 80640 + n * -3418889 / 1995840),
        n2 * n2 * n2 * (212378941 / 319334400),
    ])
    return e, _K0 * big_a, alpha


_E, _KA, _ALPHA = _constants()


def utm_zone_of(src, dst) -> tuple[int, bool] | None:
    """``(zone, south)`` when ``src`` is WGS 84 longitude/latitude (EPSG:4326 or OGC:CRS84) and
    ``dst`` a WGS 84 UTM zone (EPSG:32601-32660, 32701-32760), else None. Cached per pair.
    """
    return _zone_of(pyproj.CRS(src), pyproj.CRS(dst))


@lru_cache(maxsize=64)
def _zone_of(src: pyproj.CRS, dst: pyproj.CRS) -> tuple[int, bool] | None:
    if src.to_epsg() != 4326 and not src.equals("OGC:CRS84"):
        return None
    code = dst.to_epsg()
    if code is None or not (32601 <= code <= 32660 or 32701 <= code <= 32760):
        return None
    return code % 100, code > 32700


def lonlat_to_utm(lon, lat, zone: int, south: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Project WGS 84 longitudes and latitudes (degrees) to UTM ``zone`` easting and northing (metres).

    Parameters
    ----------
    lon, lat
        Arrays of the same length (any float dtype). A point with a NaN coordinate, or beyond 90
        degrees from the central meridian, gets inf (as pyproj).
    zone
        1-60.
    south
        Southern hemisphere false northing (10,000 km, EPSG:327zz).

    Returns
    -------
    x, y : numpy.ndarray

    Examples
    --------
    >>> x, y = lonlat_to_utm([114.0], [22.5], 50)
    >>> round(float(x[0]), 3), round(float(y[0]), 3)
    (191334.311, 2491265.99)

    Notes
    -----
    Up to 4096 points, or points so spread that the grid below would have more nodes than an
    eighth of them, each point is projected by the series (~14 elementary functions a point).
    More points are projected by the series at the nodes of a lon/lat grid over their bounds
    (:data:`GRID_STEP` degrees apart) and interpolated by the
    cubic through the 4 x 4 nodes around each point: the interpolation error is below
    ``R h^4 / 24`` (R the Earth's radius, h the step in radians), a micrometre at 0.05 degrees
    (nanometres as tested), at ~1/10 of the cost.
    """
    lon = np.ascontiguousarray(lon, dtype=np.float64).ravel()
    lat = np.ascontiguousarray(lat, dtype=np.float64).ravel()
    n = len(lon)
    x, y = np.empty(n), np.empty(n)
    lon0, fn = math.radians(zone * 6.0 - 183.0), 10_000_000.0 if south else 0.0
    grid = _grid_for(lon, lat) if n >= 4096 else None
    if grid is None:
        _forward(lon, lat, lon0, fn, _E, _KA, _ALPHA, x, y)
        return x, y
    glon, glat, step = grid
    gx, gy = np.empty(len(glon) * len(glat)), np.empty(len(glon) * len(glat))
    _forward(np.tile(glon, len(glat)), np.repeat(glat, len(glon)), lon0, fn, _E, _KA, _ALPHA, gx, gy)
    if not (np.isfinite(gx).all() and np.isfinite(gy).all()):  # a node beyond 90 degrees: each point alone
        _forward(lon, lat, lon0, fn, _E, _KA, _ALPHA, x, y)
        return x, y
    _interpolate(lon, lat, float(glon[0]), float(glat[0]), step, len(glon), len(glat), gx, gy, x, y)
    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    if bad.any():
        x[bad] = y[bad] = np.inf
    return x, y


#: degrees between the nodes of the interpolation grid, at most
GRID_STEP = 0.05


def _grid_for(lon: np.ndarray, lat: np.ndarray):
    """Node longitudes, latitudes and step of a grid over the points' bounds with a margin of two
    steps, or None (no finite point, more nodes than an eighth of the points, or beyond UTM's
    latitudes).
    """
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return None
    lo_x, hi_x = float(lon[ok].min()), float(lon[ok].max())
    lo_y, hi_y = float(lat[ok].min()), float(lat[ok].max())
    step = GRID_STEP
    nx = int((hi_x - lo_x) // step) + 5
    ny = int((hi_y - lo_y) // step) + 5
    if nx * ny > len(lon) // 8 or abs(lo_y) > 84 or abs(hi_y) > 84:
        return None
    glon = (math.floor(lo_x / step) - 2 + np.arange(nx)) * step
    glat = (math.floor(lo_y / step) - 2 + np.arange(ny)) * step
    return glon, glat, step


@compiled
def _interpolate(lon, lat, lon_min, lat_min, step, nx, ny, gx, gy, out_x, out_y):
    """Cubic (Lagrange, 4 x 4 nodes) interpolation of the grid values ``gx``, ``gy`` (row-major,
    ``ny`` rows of ``nx``) at each point; NaN points are left for the caller.
    """
    for k in range(len(lon)):
        fx = (lon[k] - lon_min) / step
        fy = (lat[k] - lat_min) / step
        if not (math.isfinite(fx) and math.isfinite(fy)):
            continue
        i = min(max(int(math.floor(fx)) - 1, 0), nx - 4)
        j = min(max(int(math.floor(fy)) - 1, 0), ny - 4)
        t = fx - (i + 1)
        u = fy - (j + 1)
        wx0 = -t * (t - 1.0) * (t - 2.0) / 6.0
        wx1 = (t + 1.0) * (t - 1.0) * (t - 2.0) / 2.0
        wx2 = -(t + 1.0) * t * (t - 2.0) / 2.0
        wx3 = (t + 1.0) * t * (t - 1.0) / 6.0
        wy0 = -u * (u - 1.0) * (u - 2.0) / 6.0
        wy1 = (u + 1.0) * (u - 1.0) * (u - 2.0) / 2.0
        wy2 = -(u + 1.0) * u * (u - 2.0) / 2.0
        wy3 = (u + 1.0) * u * (u - 1.0) / 6.0
        sx = 0.0
        sy = 0.0
        for b in range(4):
            wy = wy0 if b == 0 else (wy1 if b == 1 else (wy2 if b == 2 else wy3))
            row = (j + b) * nx + i
            rx = wx0 * gx[row] + wx1 * gx[row + 1] + wx2 * gx[row + 2] + wx3 * gx[row + 3]
            ry = wx0 * gy[row] + wx1 * gy[row + 1] + wx2 * gy[row + 2] + wx3 * gy[row + 3]
            sx += wy * rx
            sy += wy * ry
        out_x[k] = sx
        out_y[k] = sy


@compiled
def _forward(lon, lat, lon0, false_northing, e, ka, alpha, out_x, out_y):
    for k in range(len(lon)):
        lam = math.radians(lon[k]) - lon0
        phi = math.radians(lat[k])
        # longitude difference into [-pi, pi]
        lam = lam - 2.0 * math.pi * math.floor((lam + math.pi) / (2.0 * math.pi))
        cos_lam = math.cos(lam)
        if not (math.isfinite(lam) and math.isfinite(phi)) or cos_lam < 0.0:
            out_x[k] = np.inf  # beyond 90 degrees from the central meridian, or NaN: no projection
            out_y[k] = np.inf
            continue
        sin_lam = math.sin(lam)
        # conformal latitude chi as tau' = tan(chi), in closed form (Karney eq. 7-9)
        tau = math.tan(phi)
        sec = math.sqrt(1.0 + tau * tau)
        sig = math.sinh(e * math.atanh(e * tau / sec))
        taup = tau * math.sqrt(1.0 + sig * sig) - sig * sec
        # Gauss-Schreiber spherical transverse Mercator (eq. 10): xi', eta' and their double angles
        r = math.sqrt(taup * taup + cos_lam * cos_lam)
        xip = math.atan2(taup, cos_lam)
        sh = sin_lam / r  # sinh(eta')
        etap = math.asinh(sh)
        s1, c1 = taup / r, cos_lam / r  # sin, cos of xi'
        ch = math.sqrt(1.0 + sh * sh)  # cosh(eta')
        s2, c2 = 2.0 * s1 * c1, (c1 - s1) * (c1 + s1)  # sin, cos of 2 xi'
        sh2, ch2 = 2.0 * sh * ch, ch * ch + sh * sh  # sinh, cosh of 2 eta'
        # Krüger's series (eq. 11): xi + i eta = zeta' + sum alpha_j sin(2 j zeta'), by Clenshaw
        # with the complex cos(2 zeta') = c2 ch2 - i s2 sh2
        ar, ai = 2.0 * c2 * ch2, -2.0 * s2 * sh2
        br = bi = 0.0  # b_{j+1}
        cr = ci = 0.0  # b_{j+2}
        for j in range(5, -1, -1):
            tr = ar * br - ai * bi - cr + alpha[j]
            ti = ar * bi + ai * br - ci
            cr, ci = br, bi
            br, bi = tr, ti
        # sum = sin(2 zeta') b_1, sin(2 zeta') = s2 ch2 + i c2 sh2
        sr, si = s2 * ch2, c2 * sh2
        xi = xip + (sr * br - si * bi)
        eta = etap + (sr * bi + si * br)
        out_x[k] = 500_000.0 + ka * eta
        out_y[k] = false_northing + ka * xi
