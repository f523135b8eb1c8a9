"""Coordinate reference systems: the local UTM zone and checks that a layer carries a CRS."""

from __future__ import annotations

import math
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pyproj

from urbancover.core.errors import CRSError, InputError

WGS84 = pyproj.CRS.from_epsg(4326)


def transformer(src, dst) -> pyproj.Transformer:
    """The ``always_xy`` transformer from ``src`` to ``dst`` (anything :class:`pyproj.CRS` takes),
    built once per pair of CRS: the one ``GeoSeries.to_crs`` uses, so coordinates reprojected with
    it equal geopandas' to the last bit.
    """
    return _transformer(pyproj.CRS(src), pyproj.CRS(dst))


@lru_cache(maxsize=64)
def _transformer(src: pyproj.CRS, dst: pyproj.CRS) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def utm_crs(lon: float, lat: float) -> pyproj.CRS:
    """Return the WGS 84 / UTM zone CRS that contains a longitude/latitude.

    Parameters
    ----------
    lon, lat
        A location in degrees (EPSG:4326), usually the centre of the data.

    Returns
    -------
    pyproj.CRS
        EPSG:326zz north of the equator, EPSG:327zz south of it.

    Examples
    --------
    >>> utm_crs(113.65, 34.75).to_epsg()  # Zhengzhou
    32649
    """
    if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lat) > 90 or abs(lon) > 180:
        raise InputError(
            f"cannot choose a UTM zone for lon={lon}, lat={lat}: not a longitude/latitude in degrees. "
            "Check that the data is in EPSG:4326 or declares its CRS."
        )
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def utm_crs_for(data: gpd.GeoDataFrame | gpd.GeoSeries) -> pyproj.CRS:
    """Return the UTM CRS at the centre of the bounds of a layer in any CRS."""
    data = require_crs(data, "layer")
    if data.empty:
        raise InputError("cannot choose a UTM zone for an empty layer: give it at least one geometry.")
    minx, miny, maxx, maxy = data.to_crs(WGS84).total_bounds
    return utm_crs((minx + maxx) / 2.0, (miny + maxy) / 2.0)


def require_crs(data: gpd.GeoDataFrame | gpd.GeoSeries, name: str) -> gpd.GeoDataFrame | gpd.GeoSeries:
    """Return ``data`` unchanged if it has a CRS, else raise :class:`CRSError` naming ``name``."""
    if not isinstance(data, (gpd.GeoDataFrame, gpd.GeoSeries)):
        raise InputError(
            f"{name}: expected a GeoDataFrame or GeoSeries, got {type(data).__name__}. "
            "Read files with geopandas.read_file or urbancover.read_osm."
        )
    if data.crs is None:
        raise CRSError(
            f"{name} has no coordinate reference system, so distances cannot be measured. "
            "Declare it, e.g. layer.set_crs('EPSG:4326') for longitude/latitude. "
            "For AutoNavi/Tencent or Baidu coordinates use urbancover.read_layer(path, crs='gcj02' or 'bd09')."
        )
    return data


def to_metric(data: gpd.GeoDataFrame | gpd.GeoSeries, crs: pyproj.CRS, name: str):
    """Reproject ``data`` (which must carry a CRS) to the projected ``crs``, checking the result."""
    data = require_crs(data, name)
    out = data.to_crs(crs)
    if len(out):
        xy = out.geometry.bounds.to_numpy()
        if not np.isfinite(xy[~np.isnan(xy).any(axis=1)]).all():
            raise CRSError(f"{name}: coordinates fall outside the valid area of {data.crs} after reprojection.")
    return out

#: How to declare a layer's coordinate system, quoted by every CRS error.
CRS_FIX = "pass crs='EPSG:4326' (GPS / OpenStreetMap), 'gcj02' (AutoNavi/Amap, Tencent) or 'bd09' (Baidu)"
