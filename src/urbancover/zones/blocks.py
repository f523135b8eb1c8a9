"""Street blocks: the faces enclosed by the roads of a chosen level (plan clause IV.1's 围合)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from urbancover.core.errors import InputError
from urbancover.io.osm import OSMData
from urbancover.network.walk import Network, walk_network
from urbancover.plan.selectors import select

_MAJOR = ("motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link")

#: Road level -> the OSM ``highway`` values whose ways enclose street blocks at that level. Each
#: level adds classes to the one above it; ``"tertiary"`` (the default of :func:`street_blocks`
#: and :func:`find_zones`) is the level of the urban road grid that bounds a neighbourhood.
#: Add a level here, or pass a list of ``highway`` values as ``level``.
LEVELS: dict[str, tuple[str, ...]] = {
    "primary": _MAJOR,
    "secondary": _MAJOR + ("secondary", "secondary_link"),
    "tertiary": _MAJOR + ("secondary", "secondary_link", "tertiary", "tertiary_link"),
    "residential": _MAJOR + (
        "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified", "residential", "living_street",
    ),
}

#: OSM features that are water: a face mostly covered by them is not a street block.
WATER: list[dict] = [{"natural": "water"}, {"waterway": "riverbank"}, {"landuse": "reservoir"}]

#: metres: a strip between two blocks narrower than this on average is rounding noise, not a road
MIN_STRIP_M = 1.0

#: metres added to distance tolerances to absorb floating-point rounding of shared boundaries
TOL = 0.01


# --------------------------------------------------------------------------------- street blocks
def road_classes(level: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The ``highway`` values of a road level (a key of :data:`LEVELS`, or a list of values)."""
    if isinstance(level, str):
        if level not in LEVELS:
            raise InputError(
                f"level: unknown road level {level!r}; use one of {list(LEVELS)} or a list of OSM highway values "
                "such as ['primary', 'secondary']."
            )
        return LEVELS[level]
    classes = tuple(level)
    if not classes or not all(isinstance(c, str) and c for c in classes):
        raise InputError(f"level: give a level name {list(LEVELS)} or a non-empty list of highway values, not {level!r}.")
    return classes


def street_blocks(
    source,
    level: str | list[str] | tuple[str, ...] = "tertiary",
    *,
    min_area_m2: float = 2000.0,
    min_width_m: float = 20.0,
    max_water_share: float = 0.5,
    water: gpd.GeoDataFrame | None = None,
    tunnels: bool = False,
) -> gpd.GeoDataFrame:
    """Street blocks: the polygons enclosed by the roads of one level.

    The road lines of the level are noded (split wherever they cross, as they are seen on a plan)
    and polygonized; each face is a block. Faces that are slivers (road strips between the two
    carriageways of a dual road, link triangles) or mostly water are dropped.

    Parameters
    ----------
    source
        The roads: an :class:`~urbancover.io.osm.OSMData` (its ``highway`` ways), a
        :class:`~urbancover.evaluation.context.Context` or :class:`~urbancover.evaluation.analysis.Report` (the street
        network of its extract, in its CRS), a :class:`~urbancover.network.walk.Network` (its edges, by
        their ``highway`` column; note a walking network has no motorways), or a GeoDataFrame of
        lines with a ``highway`` column.
    level
        Road level enclosing the blocks: a key of :data:`LEVELS` (``"primary"``, ``"secondary"``,
        ``"tertiary"``, ``"residential"``) or a list of OSM ``highway`` values.
    min_area_m2
        Faces smaller than this (m²) are slivers.
    min_width_m
        Faces whose mean width ``2 x area / perimeter`` is below this (metres) are slivers (a strip
        of width w has mean width about w).
    max_water_share
        Faces with more than this share of their area under water (:data:`WATER` features) are dropped.
    water
        Water polygons to use instead of the OSM features (any CRS); required to drop water when
        ``source`` is a Network or a GeoDataFrame, which carry no features.
    tunnels
        Whether roads in tunnels bound blocks (default no: they do not cut the land on the surface).

    Returns
    -------
    GeoDataFrame
        One row per block, in the metric CRS of the source: ``block`` (id), ``area_m2``,
        ``width_m`` (mean width), ``water_share``, Polygon geometry. ``attrs`` holds ``level``, the
        ``highway`` values used and how many faces were dropped as slivers or water.

    Raises
    ------
    InputError
        Unknown level, or a source of another type.

    Notes
    -----
    O(L log L) for L road segments (GEOS noding and polygonizing), plus O(F log W) to measure the
    water of F faces against W water polygons.

    Examples
    --------
    >>> osm = urbancover.read_osm("data/sample/shenzhen_longgang.osm.bz2")
    >>> blocks = street_blocks(osm, "tertiary")  # doctest: +SKIP
    >>> blocks[["block", "area_m2", "width_m"]].head()  # doctest: +SKIP
    """
    classes = road_classes(level)
    lines, crs, features = _road_lines(source, classes, tunnels)
    if water is not None:
        features = as_metric(water, crs, "water")
        wpolys = features.geometry.values
    elif features is not None:
        wpolys = features.geometry.values[select(features, WATER)] if len(features) else np.zeros(0, object)
    else:
        wpolys = np.zeros(0, object)
    wpolys = wpolys[shapely.get_dimensions(wpolys) == 2] if len(wpolys) else wpolys
    faces = np.zeros(0, dtype=object)
    if len(lines):
        noded = shapely.get_parts(shapely.union_all(lines))
        faces = shapely.get_parts(shapely.polygonize(noded))
    area = shapely.area(faces)
    width = 2 * area / np.maximum(shapely.length(faces), TOL) if len(faces) else np.zeros(0)
    water_share = np.zeros(len(faces))
    if len(faces) and len(wpolys):
        wunion = shapely.union_all(shapely.make_valid(wpolys))
        shapely.prepare(wunion)
        hit = shapely.intersects(faces, wunion)
        water_share[hit] = shapely.area(shapely.intersection(faces[hit], wunion)) / area[hit]
    sliver = (area < min_area_m2) | (width < min_width_m)
    wet = ~sliver & (water_share > max_water_share)
    keep = ~sliver & ~wet
    out = gpd.GeoDataFrame(
        {
            "block": np.arange(int(keep.sum())),
            "area_m2": area[keep],
            "width_m": width[keep],
            "water_share": water_share[keep],
        },
        geometry=faces[keep] if keep.any() else gpd.GeoSeries([], crs=crs).values,
        crs=crs,
    )
    out.attrs.update(
        level=level if isinstance(level, str) else "custom",
        highway=list(classes),
        faces=int(len(faces)),
        dropped_slivers=int(sliver.sum()),
        dropped_water=int(wet.sum()),
        road_segments=int(len(lines)),
    )
    return out


def _road_lines(source, classes, tunnels: bool):
    """(road line geometries, metric CRS, features GeoDataFrame or None) of the chosen classes."""
    from urbancover.evaluation.analysis import Report
    from urbancover.evaluation.context import Context

    if isinstance(source, Report):
        source = source.context
    selector = [{"highway": list(classes)}]
    if isinstance(source, Context):
        net = source.street_network(selector)
        edges = net.edges if net is not None else None
        return _lines_of(edges, None, tunnels), source.crs, source.features
    if isinstance(source, OSMData):
        ways = source.ways[select(source.ways, selector)] if len(source.ways) else source.ways
        edges = walk_network(ways, filter=None, crs=source.crs, settings=source.settings).edges if len(ways) else None
        return _lines_of(edges, None, tunnels), source.crs, source.projected("features")
    if isinstance(source, Network):
        return _lines_of(source.edges, classes, tunnels), source.crs, None
    if isinstance(source, gpd.GeoDataFrame):
        if "highway" not in source:
            raise InputError(
                f"street_blocks: the road layer has no 'highway' column to choose the level from; it has "
                f"{list(source.columns)}. Add one, or pass an OSMData or Network."
            )
        roads = source[source["highway"].isin(classes).to_numpy()]
        edges = walk_network(roads, filter=None).edges if len(roads) else None
        crs = edges.crs if edges is not None else (source.crs if source.crs and source.crs.is_projected else None)
        return _lines_of(edges, None, tunnels), crs, None
    raise InputError(
        f"street_blocks: source must be an OSMData, a Context or Report, a Network or a GeoDataFrame of road lines, "
        f"not {type(source).__name__}."
    )


def _lines_of(edges: gpd.GeoDataFrame | None, classes, tunnels: bool) -> np.ndarray:
    if edges is None or len(edges) == 0:
        return np.zeros(0, dtype=object)
    keep = np.ones(len(edges), dtype=bool)
    if classes is not None:
        if "highway" not in edges:
            raise InputError("street_blocks: the network's edges have no 'highway' column to choose the level from.")
        keep &= edges["highway"].isin(classes).to_numpy()
    if not tunnels and "tunnel" in edges:
        t = edges["tunnel"]
        keep &= (t.isna() | (t == "no")).to_numpy()
    return edges.geometry.values[keep]


def as_metric(layer, crs, name: str) -> gpd.GeoDataFrame:
    """A user layer with a CRS, reprojected to the metric ``crs``."""
    from urbancover.io.crs import require_crs

    if not isinstance(layer, gpd.GeoDataFrame):
        raise InputError(f"{name}: expected a GeoDataFrame of polygons with a CRS, got {type(layer).__name__}.")
    return require_crs(layer, name).to_crs(crs)
