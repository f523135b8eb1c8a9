"""The extent of an OSM extract, taken robustly from its streets.

A UTM zone chosen from the bounds of every node moves with one stray node (a node at 0,0 moved a
Shenzhen extract from zone 50 to 40); an extract across the antimeridian has bounds spanning the
globe. Here the zone comes from the **median** location of the street vertices (a circular median
in longitude, so 179.9 and -179.9 are neighbours), and the extent from the vertices of the compact
ways (where a bounding-box export is complete, :func:`complete_extent`), else from the street
vertices, with lone outliers left out.

Longitudes of an extent that crosses the antimeridian are returned *unwrapped*: ``maxlon`` may
exceed 180 (e.g. ``(179.8, -17.2, 180.3, -16.9)``). PROJ wraps such longitudes, so the extent still
reprojects correctly; compare with ``lon % 360`` when testing containment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyproj
import shapely

from urbancover.core.settings import Settings, resolve
from urbancover.io.crs import WGS84, transformer, utm_crs


def unwrap_lon(lon: np.ndarray) -> tuple[np.ndarray, float]:
    """Longitudes shifted by 360 where that makes the data contiguous, and their median.

    The data is shifted (negative longitudes + 360) when its longitudes span more than 180 degrees
    and the shifted copy spans less: an extract across the antimeridian. O(n).

    Examples
    --------
    >>> lon, med = unwrap_lon(np.array([179.9, -179.9, 179.95]))
    >>> lon.tolist(), round(med, 2)
    ([179.9, 180.1, 179.95], 179.95)
    """
    lon = np.asarray(lon, dtype=float)
    if len(lon) == 0:
        return lon, float("nan")
    shifted = np.where(lon < 0, lon + 360.0, lon)
    if np.ptp(lon) > 180.0 and np.ptp(shifted) < np.ptp(lon):
        lon = shifted
    return lon, float(np.median(lon))


def median_utm(lon: np.ndarray, lat: np.ndarray) -> pyproj.CRS:
    """The UTM zone of the median location of points (circular median in longitude).

    Examples
    --------
    >>> median_utm(np.array([114.1, 114.2, 0.0]), np.array([22.6, 22.7, 0.0])).to_epsg()
    32650
    """
    _, mlon = unwrap_lon(lon)
    mlon = (mlon + 180.0) % 360.0 - 180.0
    return utm_crs(mlon, float(np.median(lat)))


@dataclass(frozen=True)
class StreetExtent:
    """The extent of the street vertices, outliers left out.

    Attributes
    ----------
    bounds : tuple
        (minlon, minlat, maxlon, maxlat); ``maxlon`` may exceed 180 across the antimeridian.
    crs : pyproj.CRS
        UTM zone of the median street vertex.
    outliers : int
        Street vertices left out as lone outliers.
    """

    bounds: tuple[float, float, float, float]
    crs: pyproj.CRS
    outliers: int


def _main_run(v: np.ndarray, gap: float, min_share: float) -> tuple[float, float]:
    """Range of the sorted values ``v`` holding their median, after cutting off tails that are
    separated by more than ``gap`` and hold at most ``min_share`` of the values.
    """
    s = np.sort(v)
    n = len(s)
    breaks = np.flatnonzero(np.diff(s) > gap)  # a run ends at each break index
    lo, hi = 0, n - 1
    mid = n // 2
    max_out = max(min_share * n, 1.0)
    for b in breaks[::-1]:  # from the median outwards, below it
        if b < mid and b + 1 <= max_out:
            lo = b + 1
            break
    for b in breaks:
        if b >= mid and n - (b + 1) <= max_out:
            hi = b
            break
    return float(s[lo]), float(s[hi])


def street_extent(lon: np.ndarray, lat: np.ndarray, *, settings: Settings | None = None) -> StreetExtent:
    """Extent of street vertices with lone outliers left out.

    The zone is the UTM zone of the median vertex. In that zone, along x and along y, the sorted
    vertex coordinates are cut where a gap wider than :data:`settings.extent_outlier_gap_m` separates
    a tail holding at most :data:`settings.extent_outlier_share` of the vertices from the median: a
    node at 0,0 in a Shenzhen extract is cut off; a second island with a fair share of the streets
    is kept. O(n log n) for n vertices.

    Parameters
    ----------
    lon, lat
        Street vertex coordinates in degrees (NaN allowed, ignored).

    Returns
    -------
    StreetExtent

    Examples
    --------
    >>> e = street_extent(np.array([114.10, 114.12, 114.11, 0.0]), np.array([22.60, 22.62, 22.61, 0.0]))
    >>> e.crs.to_epsg(), e.outliers, e.bounds[0]
    (32650, 1, 114.1)
    """
    ok = np.isfinite(lon) & np.isfinite(lat)
    lon, lat = np.asarray(lon, dtype=float)[ok], np.asarray(lat, dtype=float)[ok]
    if len(lon) == 0:
        raise ValueError("street_extent: no located vertex")
    ulon, _ = unwrap_lon(lon)
    crs = median_utm(lon, lat)
    x, y = transformer(WGS84, crs).transform(ulon, lat)
    s = resolve(settings)
    gap, share = s.extent_outlier_gap_m, s.extent_outlier_share
    x0, x1 = _main_run(x, gap, share)
    y0, y1 = _main_run(y, gap, share)
    keep = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    klon, klat = ulon[keep], lat[keep]
    bounds = (float(klon.min()), float(klat.min()), float(klon.max()), float(klat.max()))
    return StreetExtent(bounds=bounds, crs=crs, outliers=int((~keep).sum()))


def compact_mask(geoms: np.ndarray, *, settings: Settings | None = None) -> np.ndarray:
    """Which lon/lat geometries are compact: their bounding box is at most
    :data:`settings.extent_compact_m` metres across (its diagonal, with degrees turned into metres
    at the box's latitude). Vectorised, O(n).

    Examples
    --------
    >>> compact_mask(np.array([shapely.box(114.0, 22.6, 114.0005, 22.6005), shapely.box(114.0, 22.6, 114.1, 22.7)]))
    array([ True, False])
    """
    b = shapely.bounds(geoms)
    dx = (b[:, 2] - b[:, 0]) * 111_320.0 * np.cos(np.radians((b[:, 1] + b[:, 3]) / 2))
    dy = (b[:, 3] - b[:, 1]) * 110_540.0
    return np.hypot(dx, dy) <= resolve(settings).extent_compact_m


def complete_extent(geoms: np.ndarray, *, settings: Settings | None = None) -> tuple[StreetExtent, int] | None:
    """Where an extract is complete: the extent of the vertices of its compact ways and areas.

    An openstreetmap.org (CGImap) bounding-box export holds every way with a node in its box, in
    full: a long road crossing the box brings all its nodes, kilometres out, so the streets' extent
    overstates the box (68.5 km² for the 14.9 km² Shenzhen sample). A way at most
    :data:`settings.extent_compact_m` across (a building, a short street) lies where it touches
    the box, so the compact ways trace the box to within that distance; in an extract cut to a
    polygon or made of complete ways they cover what the streets cover. Lone outliers are left out
    as in :func:`street_extent`. O(n log n) for n vertices.

    Parameters
    ----------
    geoms
        LineStrings and Polygons in EPSG:4326 (ways and areas; points say nothing of completeness).

    Returns
    -------
    (StreetExtent, int) or None
        The extent and the number of compact geometries, or None when there are fewer than
        :data:`settings.extent_compact_min` of them.
    """
    s = resolve(settings)
    geoms = np.asarray(geoms, dtype=object)
    geoms = geoms[shapely.get_dimensions(geoms) >= 1]
    compact = compact_mask(geoms, settings=s) if len(geoms) else np.zeros(0, dtype=bool)
    n = int(compact.sum())
    if n < s.extent_compact_min:
        return None
    xy = shapely.get_coordinates(geoms[compact])
    return street_extent(xy[:, 0], xy[:, 1], settings=s), n


def densified_box(bounds: tuple[float, float, float, float], *, settings: Settings | None = None) -> shapely.Polygon:
    """A lon/lat box with a vertex every :data:`settings.boundary_segment_deg` degrees along its
    sides, so that it keeps its shape when reprojected (a 4-corner box bends by up to ~70 m over
    70 km in UTM).

    Examples
    --------
    >>> len(densified_box((114.0, 22.5, 114.1, 22.6)).exterior.coords) > 5
    True
    """
    box = shapely.box(*bounds)
    if not (bounds[0] < bounds[2] and bounds[1] < bounds[3]):
        return box  # a point or a line of data: nothing to densify (GEOS refuses a degenerate ring)
    return shapely.segmentize(box, resolve(settings).boundary_segment_deg)
