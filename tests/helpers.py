"""Paths of the samples, and builders for small hand-made networks in a projected CRS (UTM 50N, metres)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import nxref
import shapely

DATA = Path(__file__).resolve().parents[1] / "data" / "sample"
SHENZHEN = DATA / "shenzhen_longgang.osm.bz2"
SHANGHAI = DATA / "shanghai_jingan_drive.osm.bz2"

CRS = "EPSG:32650"
X0, Y0 = 500000.0, 2500000.0

#: urbancover meets an area facility wherever a street comes within 1 mm of it (engine.TOUCH)
TOUCH = 1e-3


def xy(x: float, y: float) -> tuple[float, float]:
    """Local metres -> EPSG:32650 coordinates."""
    return (X0 + x, Y0 + y)


def line(*pts) -> shapely.LineString:
    return shapely.LineString([xy(*p) for p in pts])


def pt(x: float, y: float) -> shapely.Point:
    return shapely.Point(xy(x, y))


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(*xy(x0, y0), *xy(x1, y1))


def poly(*pts) -> shapely.Polygon:
    return shapely.Polygon([xy(*p) for p in pts])


def lines_gdf(*geoms) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=list(geoms), crs=CRS)


def points(*pts) -> gpd.GeoDataFrame:
    """GeoDataFrame of points given as local (x, y) pairs."""
    return gpd.GeoDataFrame(geometry=[pt(*p) for p in pts], crs=CRS)


def geoms(*gs) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=list(gs), crs=CRS)


def hand_reference(lines: list[shapely.LineString], sources, targets, **kw):
    """nxref.reference on hand-made lines, each its own edge (nodes = rounded end coordinates).

    The lines must already be split where they meet (they are the edges, by construction),
    so nothing from urbancover is used.
    """
    ends = {}
    u, v = [], []
    for g in lines:
        cs = shapely.get_coordinates(g)
        for lst, c in ((u, cs[0]), (v, cs[-1])):
            key = (round(c[0], 3), round(c[1], 3))
            lst.append(ends.setdefault(key, len(ends)))
    src = list(sources.geometry) if hasattr(sources, "geometry") else list(sources)
    tgt = list(targets.geometry) if hasattr(targets, "geometry") else list(targets)
    return nxref.reference(np.array(lines, dtype=object), u, v, src, tgt, **kw)
