"""Chinese coordinate systems: GCJ-02 and BD-09 to and from WGS 84, declared layer CRSs, offset checks.

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

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from urbancover.errors import CRSError, InputError
from urbancover.io.crs import WGS84, utm_crs
from urbancover.io.osm import OSMData

__all__ = [
    "CHINA_BOX",
    "OffsetCheck",
    "OffsetEffect",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "detect_offset",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "offset_effect",
    "out_of_china",
    "parse_crs",
    "read_layer",
    "to_wgs84",
    "transform_geometries",
    "warn_if_offset",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

# Krasovsky 1940 ellipsoid, as in the public GCJ-02 algorithm
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0

#: (min lon, min lat, max lon, max lat): where GCJ-02 differs from WGS 84 (the box of the widely
#: used coordtransform code; strictly inside it). Outside it GCJ-02 coordinates equal WGS 84 ones.
CHINA_BOX = (73.66, 3.86, 135.05, 53.55)

#: names accepted for the two Chinese systems (compared after lower-casing and removing - _ space)
_GCJ_NAMES = {"gcj02", "gcj", "mars", "amap", "autonavi", "gaode", "tencent", "qq"}
_BD_NAMES = {"bd09", "bd09ll", "bd", "baidu"}
_FIX = "pass crs='EPSG:4326' (GPS / OpenStreetMap), 'gcj02' (AutoNavi/Amap, Tencent) or 'bd09' (Baidu)"


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
        warnings.warn(
            f"{what}: {len(active)} point(s) did not converge to {tol} degrees in {max_iter} iterations; "
            "their result may be off by more than that.",
            RuntimeWarning,
            stacklevel=3,
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


_TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
_FROM_WGS84 = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}
_LABEL = {"gcj02": "GCJ-02", "bd09": "BD-09", "wgs84": "WGS 84"}


def _vertexwise(func):
    """Wrap a (lon, lat) -> (lon, lat) function for shapely.transform ((N, 2) arrays)."""

    def apply(xy: np.ndarray) -> np.ndarray:
        x, y = func(xy[:, 0], xy[:, 1])
        return np.column_stack([np.atleast_1d(x), np.atleast_1d(y)])

    return apply


def transform_geometries(geoms, func) -> np.ndarray:
    """Apply a vectorised ``(lon, lat) -> (lon, lat)`` function to every vertex of every geometry
    (any type; Z values are kept). One call over all vertices."""
    geoms = np.asarray(geoms, dtype=object)
    has_z = shapely.has_z(geoms)
    out = shapely.transform(geoms, _vertexwise(func))
    if has_z.any():  # shapely.transform drops Z with include_z=False; add it back
        xyz = shapely.get_coordinates(geoms[has_z], include_z=True)
        xy = _vertexwise(func)(xyz[:, :2])
        out[has_z] = shapely.set_coordinates(geoms[has_z].copy(), np.column_stack([xy, xyz[:, 2]]))
    return out


# -- declared coordinate systems -----------------------------------------------------------------
def parse_crs(crs) -> str | pyproj.CRS:
    """Read a declared coordinate system.

    Returns ``"gcj02"`` or ``"bd09"`` for the Chinese systems (any case, with or without ``-`` or
    ``_``: ``"GCJ-02"``, ``"gcj02"``, ``"BD-09"``, ``"bd09ll"`` ...), else a :class:`pyproj.CRS`
    for anything pyproj understands (``4326``, ``"EPSG:4547"``, WKT, a CRS object).

    Raises
    ------
    CRSError
        Baidu Mercator (``bd09mc``) or a value pyproj cannot read.
    """
    if isinstance(crs, str):
        key = crs.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
        if key in _GCJ_NAMES:
            return "gcj02"
        if key in _BD_NAMES:
            return "bd09"
        if key in {"bd09mc", "bdmc", "baidumercator"}:
            raise CRSError(
                f"crs={crs!r}: Baidu Mercator (BD-09MC, metres) is not supported; convert the layer to "
                "Baidu longitude/latitude (bd09ll) first, then pass crs='bd09'."
            )
    try:
        return pyproj.CRS.from_user_input(crs)
    except (pyproj.exceptions.CRSError, TypeError, ValueError) as err:
        raise CRSError(f"crs={crs!r} is not a coordinate system urbancover knows; {_FIX}, or any EPSG code.") from err


def _label(system) -> str:
    if isinstance(system, str):
        return _LABEL[system]
    epsg = system.to_epsg()
    return f"EPSG:{epsg}" if epsg else system.name


def to_wgs84(layer, crs=None, *, name: str = "layer", override: bool = False):
    """Return a layer in WGS 84 (EPSG:4326), converting GCJ-02 / BD-09 coordinates.

    Parameters
    ----------
    layer
        GeoDataFrame or GeoSeries, any geometry type.
    crs
        The coordinate system the layer's numbers are in: ``"gcj02"`` / ``"GCJ-02"`` (AutoNavi/Amap,
        Tencent), ``"bd09"`` / ``"BD-09"`` (Baidu longitude/latitude), or an EPSG code / anything
        pyproj reads. ``None`` uses the layer's own CRS.
    name
        What to call the layer in messages.
    override
        When the declared ``crs`` conflicts with the layer's own (from its file's ``.prj``), trust
        the declaration instead of refusing.

    Returns
    -------
    GeoDataFrame or GeoSeries
        Same type, rows and columns as ``layer``, in EPSG:4326. For GCJ-02/BD-09 every vertex is
        converted (:func:`gcj02_to_wgs84`, :func:`bd09_to_wgs84`); other CRSs are reprojected with
        pyproj. ``.attrs["source_crs"]`` records what the layer was in.

    Raises
    ------
    CRSError
        No CRS declared and none on the layer (the message names the fix); a declared CRS that
        conflicts with the layer's own (unless ``override``); GCJ-02/BD-09 declared for a layer in
        a projected CRS.
    InputError
        A layer whose coordinates go beyond +-180 / +-90 while its CRS (declared or own) is in
        degrees: "layer in metres declared as degrees".

    Notes
    -----
    Conflicts: ``"gcj02"``/``"bd09"`` are offsets of longitude/latitude, so they agree with any
    geographic CRS on the layer (files of AutoNavi or Baidu points are usually labelled EPSG:4326);
    an EPSG code that differs from the layer's own CRS is refused, because one of the two is wrong
    and guessing which would move every point silently.

    Examples
    --------
    >>> stops = to_wgs84(stops_from_amap, "gcj02", name="bus stops")  # doctest: +SKIP
    """
    if not isinstance(layer, (gpd.GeoDataFrame, gpd.GeoSeries)):
        raise InputError(
            f"{name}: expected a GeoDataFrame or GeoSeries, got {type(layer).__name__}. "
            "Read files with urbancover.read_layer(path, crs=...)."
        )
    declared = parse_crs(crs) if crs is not None else None
    own = layer.crs
    if declared is None and own is None:
        raise CRSError(
            f"{name} has no coordinate reference system, so its points cannot be placed on the streets: "
            f"{_FIX}."
        )
    if declared is None:
        system = own
    elif isinstance(declared, str):
        if own is not None and not own.is_geographic and not override:
            raise CRSError(
                f"{name}: declared crs={crs!r} ({_label(declared)}, longitude/latitude) but the layer's own CRS is "
                f"{_label(own)}, a projected CRS in metres. Declare the CRS its numbers are really in, or pass "
                "override=True if its own CRS is wrong."
            )
        system = declared
    else:
        if own is not None and not own.equals(declared, ignore_axis_order=True) and not override:
            raise CRSError(
                f"{name}: declared crs={crs!r} ({_label(declared)}) conflicts with the layer's own CRS "
                f"{_label(own)} (from its file or set_crs). Drop the crs argument to use the layer's own, "
                "or pass override=True if the layer's own CRS is wrong."
            )
        system = declared
    geographic = isinstance(system, str) or system.is_geographic
    if geographic:
        _check_degrees(layer, name, system, declared is not None)
    if isinstance(system, str):
        geoms = transform_geometries(layer.geometry.values, _TO_WGS84[system])
        if isinstance(layer, gpd.GeoDataFrame):
            out = layer.copy()
            out[layer.geometry.name] = gpd.GeoSeries(geoms, index=layer.index, crs=WGS84)
            out = out.set_crs(WGS84, allow_override=True)
        else:
            out = gpd.GeoSeries(geoms, index=layer.index, crs=WGS84, name=layer.name)
    else:
        base = layer if own is not None and own.equals(system, ignore_axis_order=True) else layer.set_crs(
            system, allow_override=True
        )
        out = base.to_crs(WGS84)
    out.attrs = {**layer.attrs, "source_crs": _label(system)}
    return out


def _check_degrees(layer, name: str, system, declared: bool) -> None:
    if len(layer) == 0:
        return
    minx, miny, maxx, maxy = layer.total_bounds
    if not np.isfinite([minx, miny, maxx, maxy]).all():
        return  # all geometries empty
    if max(abs(minx), abs(maxx)) > 180.0 or max(abs(miny), abs(maxy)) > 90.0:
        how = "declared" if declared else "labelled"
        raise InputError(
            f"{name}: layer in metres declared as degrees: it is {how} {_label(system)} (longitude/latitude) "
            f"but its coordinates reach x {minx:.6g} .. {maxx:.6g}, y {miny:.6g} .. {maxy:.6g}, beyond "
            "+-180 / +-90. Declare the projected CRS the numbers are in (e.g. crs='EPSG:4547' for CGCS2000 / "
            "3-degree Gauss-Kruger CM 114E, or the UTM zone), with override=True if its file says otherwise."
        )


def read_layer(
    source, crs=None, *, name: str | None = None, override: bool = False, streets=None, **read_kwargs
):
    """Read a user layer (file or GeoDataFrame) with its declared coordinate system, in WGS 84.

    Parameters
    ----------
    source
        A path to anything :func:`geopandas.read_file` reads (GeoPackage, Shapefile, GeoJSON ...),
        or a GeoDataFrame / GeoSeries.
    crs
        The coordinate system of its numbers: ``"gcj02"``, ``"bd09"``, or an EPSG code / pyproj
        string. Required when the layer carries no CRS of its own. See :func:`to_wgs84`.
    name
        Name in messages (default: the file name).
    override
        Trust ``crs`` over a conflicting CRS of the file (see :func:`to_wgs84`).
    streets
        Optional OSM streets of the area (a :class:`urbancover.Network`, :class:`urbancover.OSMData`
        or line layer): the result is then checked with :func:`warn_if_offset`, which warns when
        its points still look like GCJ-02 or BD-09.
    **read_kwargs
        Passed to :func:`geopandas.read_file` (``layer=``, ``bbox=`` ...).

    Returns
    -------
    GeoDataFrame
        In EPSG:4326 (a GeoSeries stays a GeoSeries).

    Notes
    -----
    A GeoJSON file is always read as EPSG:4326 (RFC 7946) unless it names another CRS, so a
    GeoJSON of AutoNavi points needs ``crs="gcj02"``: nothing in the file can tell.

    Examples
    --------
    >>> stops = read_layer("stops_amap.gpkg", crs="gcj02")  # doctest: +SKIP
    """
    if isinstance(source, (gpd.GeoDataFrame, gpd.GeoSeries)):
        out = to_wgs84(source, crs, name=name or "layer", override=override)
        if streets is not None:
            warn_if_offset(out, streets, name=name or "layer", stacklevel=3)
        return out
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(
            f"read_layer: source must be a file path or a GeoDataFrame, not {type(source).__name__}."
        )
    path = Path(source)
    name = name or path.name
    if not path.exists():
        raise InputError(f"{path}: no such file.")
    try:
        layer = gpd.read_file(path, **read_kwargs)
    except UnicodeDecodeError as err:
        raise InputError(
            f"{path}: its text cannot be decoded ({err}): it is not UTF-8, or not what its .cpg file says. Pass "
            "the real encoding, e.g. read_layer(path, encoding='gbk') for files saved on Chinese Windows, or "
            "correct its .cpg file."
        ) from err
    except Exception as err:  # pyogrio/fiona raise their own types
        raise InputError(f"{path}: cannot be read as a GIS layer ({type(err).__name__}: {err}).") from err
    if not isinstance(layer, gpd.GeoDataFrame):
        raise InputError(
            f"{path}: holds a table without geometry. For a list of points with coordinate columns (a CSV of POIs "
            "from a map service) name them, e.g. read_layer(path, crs='gcj02', X_POSSIBLE_NAMES='lng', "
            "Y_POSSIBLE_NAMES='lat'), or save it as GeoJSON or GeoPackage with point geometry."
        )
    if "encoding" not in read_kwargs:
        layer = _undeclared_encoding(layer, path, read_kwargs)
    out = to_wgs84(layer, crs, name=name, override=override)
    out.attrs["path"] = str(path)
    if streets is not None:
        warn_if_offset(out, streets, name=name, stacklevel=3)
    return out


def _undeclared_encoding(layer: gpd.GeoDataFrame, path: Path, read_kwargs: dict) -> gpd.GeoDataFrame:
    """A shapefile without a ``.cpg`` file does not say how its text is encoded, and GDAL then reads
    it as ISO-8859-1, which turns Chinese names into mojibake without any error. When its text is
    not ASCII: UTF-8 bytes are read again as UTF-8 (no Latin-1 text is valid UTF-8 by chance);
    bytes that would read as GBK/GB18030 (the usual encoding of shapefiles from Chinese offices)
    are refused with the fix, since Latin-1 text can decode as GBK too and names must not be guessed."""
    if path.suffix.lower() not in (".shp", ".dbf") or any(
        path.with_suffix(ext).exists() for ext in (".cpg", ".CPG")
    ):
        return layer
    columns = [c for c in layer.columns if c != layer.geometry.name and layer[c].dtype.kind in ("O", "T", "U")]
    text = [v for c in columns for v in layer[c] if isinstance(v, str) and not v.isascii()]
    if not text:
        return layer
    try:
        raw = [v.encode("latin-1") for v in text]
    except UnicodeEncodeError:
        return layer  # GDAL decoded it with some other declared code page (the .dbf's language id)

    def decodes(encoding):
        try:
            return [b.decode(encoding) for b in raw]
        except UnicodeDecodeError:
            return None

    if decodes("utf-8") is not None:
        return gpd.read_file(path, encoding="utf-8", **read_kwargs)
    gbk = decodes("gb18030")
    if gbk is not None:
        cpg = path.with_suffix(".cpg").name
        raise InputError(
            f"{path}: the shapefile does not declare the encoding of its text (no {cpg} file), and its names "
            f"read as GBK ({', '.join(repr(v) for v in gbk[:3])}) or as Latin-1 ({', '.join(repr(v) for v in text[:3])}). "
            f"Say which: pass encoding='gbk' (read_layer(path, encoding='gbk')), or put a file {cpg} containing "
            "GBK next to it (or 'ISO-8859-1' if the Latin-1 names are right)."
        )
    return layer


# -- offset detection ----------------------------------------------------------------------------
@dataclass(frozen=True)
class OffsetCheck:
    """What :func:`detect_offset` found.

    Attributes
    ----------
    name : str
        The layer's name in messages.
    n_points : int
        Points used (those within ``max_distance`` of a street under some hypothesis).
    median_m : dict
        Median distance (metres) from the points to their nearest street, as given (``"wgs84"``)
        and after treating them as ``"gcj02"`` or ``"bd09"`` and converting.
    shift_m : dict
        Median distance (metres) each conversion moves the points.
    likely : str
        ``"wgs84"`` (no offset found), ``"gcj02"`` or ``"bd09"``.
    flagged : bool
        Whether a conversion brings the points substantially closer to the streets.
    """

    name: str
    n_points: int
    median_m: dict = field(default_factory=dict)
    shift_m: dict = field(default_factory=dict)
    likely: str = "wgs84"
    flagged: bool = False

    @property
    def gain_m(self) -> float:
        """How much closer (metres, median) the likely conversion brings the points; 0 if none."""
        if not self.flagged:
            return 0.0
        return self.median_m["wgs84"] - self.median_m[self.likely]

    @property
    def message(self) -> str:
        given = self.median_m.get("wgs84", float("nan"))
        if not self.flagged:
            return (
                f"{self.name}: points sit a median {given:.0f} m from the streets; converting from GCJ-02 or "
                "BD-09 does not bring them closer: no systematic offset found."
            )
        return (
            f"{self.name}: points sit a median {given:.0f} m from the streets, {self.median_m[self.likely]:.0f} m "
            f"after converting from {_LABEL[self.likely]}: the layer is probably {_LABEL[self.likely]}; "
            f"pass crs='{self.likely}'."
        )


def _streets(streets) -> tuple[np.ndarray, pyproj.CRS]:
    """Street lines as a geometry array in a metric CRS, from a Network, OSMData or line layer."""
    if isinstance(streets, OSMData):
        return streets.projected("ways").geometry.to_numpy(), streets.crs
    if isinstance(streets, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if streets.crs is None:
            raise CRSError(f"streets have no coordinate reference system; {_FIX}.")
        if len(streets) == 0:
            raise InputError("streets: the layer is empty; give the OSM streets of the area.")
        crs = streets.crs if streets.crs.is_projected else None
        if crs is None:
            minx, miny, maxx, maxy = streets.to_crs(WGS84).total_bounds
            crs = utm_crs((minx + maxx) / 2.0, (miny + maxy) / 2.0)
        return streets.to_crs(crs).geometry.to_numpy(), crs
    if hasattr(streets, "edges") and hasattr(streets, "crs") and hasattr(streets, "geometry"):  # a Network
        return np.asarray(streets.geometry), pyproj.CRS(streets.crs)
    raise InputError(
        f"streets: expected a Network, an OSMData or a GeoDataFrame of street lines, not {type(streets).__name__}."
    )


def detect_offset(
    points,
    streets,
    *,
    name: str = "layer",
    candidates: tuple[str, ...] = ("gcj02", "bd09"),
    max_distance: float = 1500.0,
    min_points: int = 5,
    min_gain_m: float = 10.0,
    max_ratio: float = 0.6,
) -> OffsetCheck:
    """Check whether a point layer labelled WGS 84 looks like GCJ-02 or BD-09 against OSM streets.

    Facilities such as bus stops, toilets or shops sit next to a street. If a layer is really in
    GCJ-02 or BD-09 but labelled WGS 84, its points are shifted a few hundred metres in one
    direction, so they sit farther from the streets than they should, and converting them brings
    them back. This compares the median distance from the points to their nearest OSM street as
    given with the median after each candidate conversion.

    Parameters
    ----------
    points
        GeoDataFrame or GeoSeries with a CRS (points; other geometries use a point on their surface).
    streets
        The OSM streets: a :class:`urbancover.Network`, an :class:`urbancover.OSMData`, or a
        GeoDataFrame of lines with a CRS.
    name
        The layer's name in the message.
    candidates
        Which conversions to try.
    max_distance
        Points farther than this (metres) from every street under every hypothesis are outside the
        streets' area and ignored; nearer ones count at most this distance.
    min_points
        Fewer usable points than this give no verdict (never flagged).
    min_gain_m, max_ratio
        A conversion is reported when it lowers the median by at least ``min_gain_m`` metres and to
        at most ``max_ratio`` times the median as given.

    Returns
    -------
    OffsetCheck

    Notes
    -----
    One STRtree nearest-street query per hypothesis: O(P log E) for P points and E street edges.
    The test is a heuristic: points deliberately away from streets (park centroids) raise the
    medians but not systematically one way, so they do not trigger it.
    """
    if not isinstance(points, (gpd.GeoDataFrame, gpd.GeoSeries)):
        raise InputError(f"{name}: expected a GeoDataFrame or GeoSeries, got {type(points).__name__}.")
    if points.crs is None:
        raise CRSError(f"{name} has no coordinate reference system; {_FIX}.")
    lines, metric = _streets(streets)
    geoms = points.to_crs(WGS84).geometry.to_numpy()
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    not_point = shapely.get_type_id(geoms) != shapely.GeometryType.POINT
    if not_point.any():
        geoms = geoms.copy()
        geoms[not_point] = shapely.point_on_surface(geoms[not_point])
    xy = shapely.get_coordinates(geoms)
    lon, lat = xy[:, 0], xy[:, 1]
    to_metric = pyproj.Transformer.from_crs(WGS84, metric, always_xy=True)
    tree = shapely.STRtree(lines)
    geod = pyproj.Geod(ellps="WGS84")
    hyps = {"wgs84": (lon, lat)}
    for c in candidates:
        if c not in _TO_WGS84:
            raise InputError(f"detect_offset: candidates must be among {sorted(_TO_WGS84)}, not {c!r}.")
        hyps[c] = _TO_WGS84[c](lon, lat)
    dist = {}
    for key, (x, y) in hyps.items():
        d = np.full(len(x), np.inf)
        if len(x):
            mx, my = to_metric.transform(np.atleast_1d(x), np.atleast_1d(y))
            (qi, _), dd = tree.query_nearest(
                shapely.points(mx, my), max_distance=max_distance, return_distance=True, all_matches=False
            )
            d[qi] = dd
        dist[key] = d
    used = np.zeros(len(lon), dtype=bool)
    for d in dist.values():
        used |= np.isfinite(d)
    n = int(used.sum())
    median = {k: float(np.median(np.minimum(d[used], max_distance))) if n else float("nan") for k, d in dist.items()}
    shift = {}
    for key, (x, y) in hyps.items():
        if key == "wgs84":
            continue
        if n:
            _, _, s = geod.inv(lon[used], lat[used], np.atleast_1d(x)[used], np.atleast_1d(y)[used])
            shift[key] = float(np.median(s))
        else:
            shift[key] = float("nan")
    likely, flagged = "wgs84", False
    if n >= min_points and candidates:
        best = min(candidates, key=lambda k: median[k])
        given = median["wgs84"]
        if given - median[best] >= min_gain_m and median[best] <= max_ratio * given:
            likely, flagged = best, True
    return OffsetCheck(name=name, n_points=n, median_m=median, shift_m=shift, likely=likely, flagged=flagged)


def warn_if_offset(points, streets, *, name: str = "layer", stacklevel: int = 2, **kwargs) -> OffsetCheck:
    """Run :func:`detect_offset` and emit a :class:`UserWarning` when the layer looks offset.

    The warning reads like "bus stops: points sit a median 43 m from the streets, 12 m after
    converting from GCJ-02: the layer is probably GCJ-02; pass crs='gcj02'". Returns the
    :class:`OffsetCheck` either way; ``kwargs`` go to :func:`detect_offset`.
    """
    check = detect_offset(points, streets, name=name, **kwargs)
    if check.flagged:
        warnings.warn(check.message, UserWarning, stacklevel=stacklevel)
    return check


# -- what forgetting the conversion costs --------------------------------------------------------
@dataclass(frozen=True)
class OffsetEffect:
    """What :func:`offset_effect` found: coverage with the true facilities and with offset ones.

    Attributes
    ----------
    system : str
        The offset simulated (``"gcj02"`` or ``"bd09"``).
    radius : float
        Service radius, metres.
    shift_m : numpy.ndarray
        How far each facility moved (metres).
    distance_true, distance_offset : numpy.ndarray
        Network distance from each home to its nearest facility (``inf`` beyond the radius), with
        the facilities where they are and where the unconverted coordinates put them.
    """

    system: str
    radius: float
    shift_m: np.ndarray
    distance_true: np.ndarray
    distance_offset: np.ndarray

    @property
    def served_true(self) -> np.ndarray:
        return self.distance_true <= self.radius

    @property
    def served_offset(self) -> np.ndarray:
        return self.distance_offset <= self.radius

    @property
    def n_homes(self) -> int:
        return len(self.distance_true)

    @property
    def lost(self) -> int:
        """Homes served in truth that the offset layer reports as unserved."""
        return int((self.served_true & ~self.served_offset).sum())

    @property
    def gained(self) -> int:
        """Homes unserved in truth that the offset layer reports as served."""
        return int((~self.served_true & self.served_offset).sum())

    @property
    def changed(self) -> int:
        """Homes whose served status changes."""
        return self.lost + self.gained

    def summary(self) -> str:
        return (
            f"leaving the facilities in {_LABEL[self.system]} (moved a median {np.median(self.shift_m):.0f} m) changes "
            f"{self.changed} of {self.n_homes} homes: {self.lost} served reported unserved, {self.gained} unserved "
            f"reported served; served {int(self.served_true.sum())} -> {int(self.served_offset.sum())} "
            f"within {self.radius:g} m."
        )


def offset_effect(network, facilities, homes, radius: float = 500.0, *, system: str = "gcj02") -> OffsetEffect:
    """The error of forgetting the conversion: coverage of ``homes`` by the true ``facilities``
    versus the same facilities left in GCJ-02 (or BD-09) and read as WGS 84.

    Parameters
    ----------
    network
        The walking network (:func:`urbancover.walk_network`).
    facilities
        The facilities at their true (WGS 84) positions, any CRS.
    homes
        Demand: points or polygons (a point on each surface is used), any CRS.
    radius
        Service radius in metres (500 for ``bus_stop_500``).
    system
        ``"gcj02"`` (AutoNavi/Tencent) or ``"bd09"`` (Baidu).

    Returns
    -------
    OffsetEffect
        ``.changed``, ``.lost``, ``.gained`` and ``.summary()``.

    Notes
    -----
    Two one-pass network searches (see :func:`urbancover.network_distance`).
    """
    from urbancover.engine import network_distance  # late: the engine imports urbancover.io

    key = parse_crs(system)
    if not isinstance(key, str):
        raise InputError(f"offset_effect: system must be 'gcj02' or 'bd09', not {system!r}.")
    if not isinstance(facilities, (gpd.GeoDataFrame, gpd.GeoSeries)) or facilities.crs is None:
        raise CRSError(f"facilities: need a GeoDataFrame with a CRS; {_FIX}.")
    true = facilities.to_crs(WGS84)
    shifted = true.copy()
    geom = transform_geometries(true.geometry.values, _FROM_WGS84[key])
    if isinstance(shifted, gpd.GeoDataFrame):
        shifted[true.geometry.name] = gpd.GeoSeries(geom, index=true.index, crs=WGS84)
    else:
        shifted = gpd.GeoSeries(geom, index=true.index, crs=WGS84)
    a = shapely.get_coordinates(shapely.point_on_surface(true.geometry.values))
    b = shapely.get_coordinates(shapely.point_on_surface(geom))
    _, _, moved = pyproj.Geod(ellps="WGS84").inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    if not isinstance(homes, (gpd.GeoDataFrame, gpd.GeoSeries)) or homes.crs is None:
        raise CRSError(f"homes: need a GeoDataFrame with a CRS; {_FIX}.")
    pts = gpd.GeoSeries(shapely.point_on_surface(homes.geometry.values), index=homes.index, crs=homes.crs)
    d_true = network_distance(network, true, pts, cutoff=radius)
    d_off = network_distance(network, shifted, pts, cutoff=radius)
    return OffsetEffect(key, float(radius), np.asarray(moved), d_true, d_off)
