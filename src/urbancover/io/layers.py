"""User layers with a declared coordinate system: parse it, convert GCJ-02/BD-09, read files.

Every user layer must declare its coordinate system (:func:`read_layer`, :func:`to_wgs84`): lists
from AutoNavi, Tencent or Baidu are GCJ-02 or BD-09 and are converted to WGS 84 (see
:mod:`urbancover.io.datum`) before any distance is measured.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from urbancover.core.errors import CRSError, InputError
from urbancover.io.crs import CRS_FIX, WGS84
from urbancover.io.datum import SYSTEM_LABEL, TO_WGS84, transform_geometries
from urbancover.io.offset import warn_if_offset

#: names accepted for the two Chinese systems (compared after lower-casing and removing - _ space)
_GCJ_NAMES = {"gcj02", "gcj", "mars", "amap", "autonavi", "gaode", "tencent", "qq"}
_BD_NAMES = {"bd09", "bd09ll", "bd", "baidu"}


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
        raise CRSError(f"crs={crs!r} is not a coordinate system urbancover knows; {CRS_FIX}, or any EPSG code.") from err


def _label(system) -> str:
    if isinstance(system, str):
        return SYSTEM_LABEL[system]
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
            f"{CRS_FIX}."
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
        check_degrees(layer, name, system, declared is not None)
    if isinstance(system, str):
        geoms = transform_geometries(layer.geometry.values, TO_WGS84[system])
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


def check_degrees(layer, name: str, system, declared: bool) -> None:
    """Refuse a layer labelled in degrees whose coordinates cannot be degrees (a layer in metres
    declared as EPSG:4326), naming the layer and the fix.
    """
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
    source, crs=None, *, name: str | None = None, override: bool = False, streets=None,
    x_column: str | None = None, y_column: str | None = None, **read_kwargs
):
    """Read a user layer (file or GeoDataFrame) with its declared coordinate system, in WGS 84.

    Parameters
    ----------
    source
        A path to anything :func:`geopandas.read_file` reads (GeoPackage, Shapefile, GeoJSON ...),
        a CSV (``.csv``, ``.txt``) of points with coordinate columns (see :func:`read_points_csv`),
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
    x_column, y_column
        For a CSV: the columns of longitude (or x) and latitude (or y); default: found by name
        (:data:`X_NAMES`, :data:`Y_NAMES`).
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
    >>> stops = read_layer("stops.csv", crs="gcj02", x_column="lng", y_column="lat")  # doctest: +SKIP
    """
    # a CSV is read here unless GDAL's CSV open options are given (X_POSSIBLE_NAMES ...): then GDAL reads it
    csv = (isinstance(source, (str, os.PathLike)) and Path(source).suffix.lower() in CSV_SUFFIXES
           and not set(read_kwargs) - {"encoding"})
    if (x_column is not None or y_column is not None) and not csv:
        raise InputError(f"{name or source}: x_column/y_column name the coordinate columns of a CSV file "
                         f"({', '.join(CSV_SUFFIXES)}); this is not one.")
    if isinstance(source, (gpd.GeoDataFrame, gpd.GeoSeries)):
        out = to_wgs84(source, crs, name=name or "layer", override=override)
        if streets is not None:
            warn_if_offset(out, streets, name=name or "layer")
        return out
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(
            f"read_layer: source must be a file path or a GeoDataFrame, not {type(source).__name__}."
        )
    path = Path(source)
    if not path.exists():
        raise InputError(f"{name or path}: no such file.")
    if csv:
        out = read_points_csv(path, crs, name=name, x_column=x_column, y_column=y_column, override=override,
                              encoding=read_kwargs.get("encoding"))
        if streets is not None:
            warn_if_offset(out, streets, name=name or path.name)
        return out
    name = name or path.name
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
        warn_if_offset(out, streets, name=name)
    return out


#: File suffixes :func:`read_layer` reads as point CSVs.
CSV_SUFFIXES = (".csv", ".txt")

#: Column names of longitude/x and latitude/y in point CSVs, tried in this order (case-insensitive).
X_NAMES = ("lon", "lng", "longitude", "long", "x", "经度", "wgs84_lng", "gcj02_lng")
Y_NAMES = ("lat", "latitude", "y", "纬度", "wgs84_lat", "gcj02_lat")


def read_points_csv(path, crs, *, name: str | None = None, x_column: str | None = None,
                    y_column: str | None = None, override: bool = False, encoding: str | None = None) -> gpd.GeoDataFrame:
    """A CSV of points with coordinate columns as a GeoDataFrame in WGS 84 (what :func:`read_layer`
    does with a ``.csv`` file).

    The columns are ``x_column``/``y_column`` or found by name (:data:`X_NAMES`, :data:`Y_NAMES`,
    case-insensitive); the other columns are kept. A CSV declares no coordinate system, so ``crs`` is
    required (``"gcj02"`` and ``"bd09"`` are converted, see :func:`to_wgs84`). The text is in
    ``encoding``, by default UTF-8 (with or without a byte-order mark) or else GB18030, as Excel
    saves it on Chinese Windows.

    Raises
    ------
    InputError
        Naming the file: not CSV, no coordinate columns, rows without numbers (the first counted
        from 1, and its line in the file), no ``crs``.
    """
    path = Path(path)
    label = name or str(path)
    try:
        try:
            table = pd.read_csv(path, encoding=encoding or "utf-8-sig")
        except UnicodeDecodeError:
            if encoding:
                raise
            table = pd.read_csv(path, encoding="gb18030")  # CSVs saved by Excel on Chinese Windows
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, LookupError) as err:
        raise InputError(f"{label}: cannot be read as CSV ({err}).") from err
    lower = {str(c).strip().lower(): c for c in table.columns}

    def pick(given, names, which, arg):
        if given is not None:
            if given not in table.columns:
                raise InputError(f"{label}: {arg}={given!r}: no such column; it has {list(table.columns)}.")
            return given
        for n in names:
            if n in lower:
                return lower[n]
        raise InputError(f"{label}: no {which} column (looked for {', '.join(names)}); it has "
                         f"{list(table.columns)}. Name it with {arg}='COLUMN'.")

    xc = pick(x_column, X_NAMES, "longitude/x", "x_column")
    yc = pick(y_column, Y_NAMES, "latitude/y", "y_column")
    x = pd.to_numeric(table[xc], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(table[yc], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        first = int(np.flatnonzero(bad)[0]) + 1
        raise InputError(f"{label}: {int(bad.sum())} row(s) without numeric {xc}/{yc} (first: row {first} counting "
                         f"from 1, line {first + 1} of the file after its header); fix or remove them.")
    if crs is None:
        raise InputError(f"{label}: a CSV carries no coordinate system; pass crs='EPSG:4326' (GPS / OpenStreetMap), "
                         "crs='gcj02' (AutoNavi/Amap, Tencent) or crs='bd09' (Baidu).")
    layer = gpd.GeoDataFrame(table.drop(columns=[xc, yc]), geometry=gpd.points_from_xy(x, y), crs=None)
    out = to_wgs84(layer, crs, name=name or path.name, override=override)
    out.attrs["path"] = str(path)
    return out


def _undeclared_encoding(layer: gpd.GeoDataFrame, path: Path, read_kwargs: dict) -> gpd.GeoDataFrame:
    """A shapefile without a ``.cpg`` file does not say how its text is encoded, and GDAL then reads
    it as ISO-8859-1, which turns Chinese names into mojibake without any error. When its text is
    not ASCII: UTF-8 bytes are read again as UTF-8 (no Latin-1 text is valid UTF-8 by chance);
    bytes that would read as GBK/GB18030 (the usual encoding of shapefiles from Chinese offices)
    are refused with the fix, since Latin-1 text can decode as GBK too and names must not be guessed.
    """
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
