"""Chinese coordinate systems: GCJ-02 and BD-09 to and from WGS 84 (the datum maths).

Most point lists held by Chinese city offices come from AutoNavi (Amap, 高德) or Tencent maps,
whose longitudes and latitudes are in **GCJ-02** ("Mars coordinates", 国测局坐标), or from Baidu
maps, in **BD-09** (百度坐标, a further offset on top of GCJ-02). Both differ from WGS 84 (GPS,
OpenStreetMap) by a few hundred metres, more than the service radii being checked. Every user layer
must therefore declare its coordinate system (:func:`read_layer`, :func:`to_wgs84`), and GCJ-02 /
BD-09 layers are converted to WGS 84 before any distance is measured.

The formulas are the public ones used by every open implementation (eviltransform,
coordtransform ...):

* WGS 84 -> GCJ-02: a closed-form offset on the Krasovsky 1940 ellipsoid (``a = 6378245 m``,
  ``e^2 = 0.00669342162296594323``), applied inside the box of
  :data:`CHINA_BOX`; outside it GCJ-02 equals WGS 84.
* GCJ-02 -> BD-09: Baidu's published rotation-and-scale formula (applied everywhere).
* The inverses have no closed form. :func:`gcj02_to_wgs84` and :func:`bd09_to_gcj02` solve the
  forward formula by fixed-point iteration (the offset changes by about 1 mm per metre, so each
  step gains about three decimal digits; two or three steps reach 1e-7 degrees), so a round trip
  returns the input to well under a millimetre. The one-step approximation common in other code
  (``wgs = 2 * gcj - forward(gcj)``) is off by up to a few metres.

All conversions are vectorised numpy: arrays in, arrays out, no Python loop over points.
"""

from __future__ import annotations

import numpy as np
import shapely

from urbancover.core.errors import InputError, warn

# Krasovsky 1940 ellipsoid, as in the public GCJ-02 algorithm
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0

#: (min lon, min lat, max lon, max lat): where GCJ-02 differs from WGS 84 (the box of the widely
#: used coordtransform code; strictly inside it). Outside it GCJ-02 coordinates equal WGS 84 ones.
CHINA_BOX = (73.66, 3.86, 135.05, 53.55)


# -- point conversions ---------------------------------------------------------------------------
def _arrays(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    try:
        lon, lat = np.broadcast_arrays(lon, lat)
    except ValueError as err:
        raise InputError(f"lon and lat must have the same shape, got {lon.shape} and {lat.shape}.") from err
    return lon, lat


def _out(a: np.ndarray):
    """A 0-d result as a Python float, else the array."""
    return float(a) if a.ndim == 0 else a


def out_of_china(lon, lat) -> np.ndarray | bool:
    """Whether each point lies outside :data:`CHINA_BOX`, where GCJ-02 equals WGS 84.

    NaN coordinates count as outside (they are passed through unchanged).

    Examples
    --------
    >>> out_of_china(113.65, 34.75), out_of_china(2.35, 48.85)
    (False, True)
    """
    lon, lat = _arrays(lon, lat)
    x0, y0, x1, y1 = CHINA_BOX
    inside = (lon > x0) & (lon < x1) & (lat > y0) & (lat < y1)
    out = ~inside
    return bool(out) if out.ndim == 0 else out


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS 84 (degrees of longitude, latitude) at a WGS 84 position, inside China."""
    x = lon - 105.0
    y = lat - 35.0
    sx = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon, lat):
    """WGS 84 -> GCJ-02 (AutoNavi/Amap, Tencent, Google China) longitude/latitude in degrees.

    Parameters
    ----------
    lon, lat
        Scalars or arrays of the same shape (broadcast), degrees.

    Returns
    -------
    (lon, lat)
        Arrays of the input's shape (floats for scalar input). Points outside :data:`CHINA_BOX`
        and NaNs are returned unchanged.

    Examples
    --------
    >>> wgs84_to_gcj02(116.42079, 39.90105)  # Beijing railway station  # doctest: +ELLIPSIS
    (116.42702..., 39.90244...)
    """
    lon, lat = _arrays(lon, lat)
    inside = ~np.asarray(out_of_china(lon, lat))
    dlon, dlat = _gcj_delta(lon, lat)
    return _out(np.where(inside, lon + dlon, lon)), _out(np.where(inside, lat + dlat, lat))


def _solve(target_lon, target_lat, start_lon, start_lat, forward, tol, max_iter, what):
    """Fixed-point iteration x <- x - (forward(x) - target) on the points that need it."""
    shape = np.shape(start_lon)
    target_lon, target_lat = np.ravel(target_lon), np.ravel(target_lat)
    x, y = np.ravel(start_lon).astype(float), np.ravel(start_lat).astype(float)
    active = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    for _ in range(max_iter):
        if len(active) == 0:
            break
        fx, fy = forward(x[active], y[active])
        rx = fx - target_lon[active]
        ry = fy - target_lat[active]
        x[active] -= rx
        y[active] -= ry
        active = active[(np.abs(rx) > tol) | (np.abs(ry) > tol)]
    if len(active):
        warn(
            f"{what}: {len(active)} point(s) did not converge to {tol} degrees in {max_iter} iterations; "
            "their result may be off by more than that.",
            RuntimeWarning,
        )
    return x.reshape(shape), y.reshape(shape)


def gcj02_to_wgs84(lon, lat, *, tol: float = 1e-7, max_iter: int = 20):
    """GCJ-02 -> WGS 84, the exact inverse of :func:`wgs84_to_gcj02` (iterative).

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude/latitude in degrees, scalars or arrays.
    tol
        Stop when the forward transform of the result is within ``tol`` degrees of the input
        (1e-7 degrees is about 1 cm; the last step makes the result about 1000 times closer).
    max_iter
        At most this many steps (two or three are needed); a RuntimeWarning counts points that did
        not converge.

    Returns
    -------
    (lon, lat)
        WGS 84 degrees. Points outside :data:`CHINA_BOX` and NaNs are returned unchanged.

    Notes
    -----
    Starts from the common one-step approximation ``gcj - delta(gcj)`` (error up to a few
    metres) and iterates ``wgs <- wgs - (wgs84_to_gcj02(wgs) - gcj)``. O(N) per step, vectorised.
    """
    lon, lat = _arrays(lon, lat)
    inside = ~np.asarray(out_of_china(lon, lat))
    x, y = lon.astype(float).copy(), lat.astype(float).copy()
    if inside.any():
        gx, gy = lon[inside], lat[inside]
        dlon, dlat = _gcj_delta(gx, gy)

        def forward(a, b):
            da, db = _gcj_delta(a, b)
            return a + da, b + db

        sx, sy = _solve(gx, gy, gx - dlon, gy - dlat, forward, tol, max_iter, "gcj02_to_wgs84")
        x[inside], y[inside] = sx, sy
    return _out(x), _out(y)


def _gcj_to_bd(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def gcj02_to_bd09(lon, lat):
    """GCJ-02 -> BD-09 (Baidu), the published formula (applied everywhere, as Baidu does).

    Examples
    --------
    >>> gcj02_to_bd09(116.404, 39.915)  # doctest: +ELLIPSIS
    (116.41036949..., 39.92133699...)
    """
    lon, lat = _arrays(lon, lat)
    bx, by = _gcj_to_bd(lon, lat)
    return _out(bx), _out(by)


def bd09_to_gcj02(lon, lat, *, tol: float = 1e-7, max_iter: int = 20):
    """BD-09 (Baidu) -> GCJ-02, the exact inverse of :func:`gcj02_to_bd09` (iterative).

    Starts from the usual approximate inverse (which is off by up to about 1 m) and iterates
    ``gcj <- gcj - (gcj02_to_bd09(gcj) - bd)`` to ``tol`` degrees, like :func:`gcj02_to_wgs84`.
    """
    lon, lat = _arrays(lon, lat)
    x = lon - 0.0065
    y = lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    gx, gy = _solve(lon, lat, z * np.cos(theta), z * np.sin(theta), _gcj_to_bd, tol, max_iter, "bd09_to_gcj02")
    return _out(gx), _out(gy)


def bd09_to_wgs84(lon, lat, *, tol: float = 1e-7, max_iter: int = 20):
    """BD-09 (Baidu) -> WGS 84: :func:`bd09_to_gcj02` then :func:`gcj02_to_wgs84`."""
    gx, gy = bd09_to_gcj02(lon, lat, tol=tol, max_iter=max_iter)
    return gcj02_to_wgs84(gx, gy, tol=tol, max_iter=max_iter)


def wgs84_to_bd09(lon, lat):
    """WGS 84 -> BD-09 (Baidu): :func:`wgs84_to_gcj02` then :func:`gcj02_to_bd09`."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
FROM_WGS84 = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}
SYSTEM_LABEL = {"gcj02": "GCJ-02", "bd09": "BD-09", "wgs84": "WGS 84"}


def _vertexwise(func):
    """Wrap a (lon, lat) -> (lon, lat) function for shapely.transform ((N, 2) arrays)."""

    def apply(xy: np.ndarray) -> np.ndarray:
        x, y = func(xy[:, 0], xy[:, 1])
        return np.column_stack([np.atleast_1d(x), np.atleast_1d(y)])

    return apply


def transform_geometries(geoms, func) -> np.ndarray:
    """Apply a vectorised ``(lon, lat) -> (lon, lat)`` function to every vertex of every geometry
    (any type; Z values are kept). One call over all vertices.
    """
    geoms = np.asarray(geoms, dtype=object)
    has_z = shapely.has_z(geoms)
    out = shapely.transform(geoms, _vertexwise(func))
    if has_z.any():  # shapely.transform drops Z with include_z=False; add it back
        xyz = shapely.get_coordinates(geoms[has_z], include_z=True)
        xy = _vertexwise(func)(xyz[:, :2])
        out[has_z] = shapely.set_coordinates(geoms[has_z].copy(), np.column_stack([xy, xyz[:, 2]]))
    return out
