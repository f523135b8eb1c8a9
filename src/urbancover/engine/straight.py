"""Straight-line (buffer) distances: how plans are usually checked, for comparison."""

from __future__ import annotations

import numpy as np
import pyproj
import shapely

from urbancover.core.intervals import merge
from urbancover.engine.graph import check_cutoff
from urbancover.io.crs import require_crs, utm_crs_for
from urbancover.network.nearest import segments_within
from urbancover.network.snap import Layer, as_geometry, parts_inside
from urbancover.network.walk import Network


def straight_line_distance(
    sources: Layer, targets: Layer, *, crs: pyproj.CRS | None = None, cutoff: float | None = None
) -> np.ndarray:
    """Straight-line (buffer) distance in metres from each target to the nearest source.

    Measured in ``crs`` (default the UTM zone of the targets); ``inf`` beyond ``cutoff`` or when
    there are no sources. This is how plans are usually checked; compare it with
    :func:`network_distance`. O(T log K): a k-d tree for point sources and point targets, an
    STRtree for the others.
    """
    require_crs(targets, "targets")
    require_crs(sources, "sources")
    cutoff = check_cutoff(cutoff)
    if crs is None:
        crs = utm_crs_for(targets) if len(targets) else utm_crs_for(sources)
    tg = as_geometry(targets, crs, "targets")
    sg = as_geometry(sources, crs, "sources")
    sg = sg[~(shapely.is_missing(sg) | shapely.is_empty(sg))]
    out = np.full(len(tg), np.inf)
    ok = ~(shapely.is_missing(tg) | shapely.is_empty(tg))
    if len(sg) == 0 or not ok.any():
        return out
    rows = np.flatnonzero(ok)
    is_pt = shapely.get_type_id(sg) == shapely.GeometryType.POINT
    if is_pt.any() and (shapely.get_type_id(tg[ok]) == shapely.GeometryType.POINT).all():
        # points to points: a k-d tree (exact Euclidean distance), several times faster than GEOS
        from scipy.spatial import cKDTree

        bound = np.nextafter(cutoff, np.inf)  # the tree keeps only distances strictly below it
        d, _ = cKDTree(shapely.get_coordinates(sg[is_pt])).query(shapely.get_coordinates(tg[ok]), k=1,
                                                                   distance_upper_bound=bound)
        out[rows] = d
        sg = sg[~is_pt]
        if len(sg) == 0:
            return out
    kw = {} if np.isinf(cutoff) else {"max_distance": cutoff}
    (ti, _), d = shapely.STRtree(sg).query_nearest(tg[ok], return_distance=True, all_matches=False, **kw)
    out[rows[ti]] = np.minimum(out[rows[ti]], d)
    return out


def straight_line_intervals(network: Network, sources: Layer, threshold: float):
    """Parts of edges within ``threshold`` straight-line metres of a source, as disjoint sorted
    intervals ``(edge, start, end)``.

    Point sources (stops, toilets) reach the exact disc of radius ``threshold``, as
    :func:`straight_line_distance` measures places (:func:`urbancover.network.nearest.segments_within`,
    compiled: O(K s) for K points and s segments near each); other sources their buffer (32
    segments per quarter circle).
    """
    threshold = check_cutoff(threshold)
    geoms = as_geometry(sources, network.crs, "sources")
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    is_pt = shapely.get_type_id(geoms) == shapely.GeometryType.POINT
    edge, start, end = segments_within(network.segment_index, shapely.get_coordinates(geoms[is_pt]), threshold)
    if not is_pt.all():
        e, a, b, _ = parts_inside(network, shapely.buffer(geoms[~is_pt], threshold, quad_segs=32), union=True)
        edge, start, end = np.r_[edge, e], np.r_[start, a], np.r_[end, b]
    return merge(edge, start, end)
