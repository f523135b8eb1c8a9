"""Barriers that access legs may not cross (PLAN_RULES rev 3, section G).

An access leg is the straight line from a place (a home, a grid cell, a point facility) to the
point of the walking network it is snapped to. The walking network's own edges cross walls at
gates, rivers on bridges and railways at level crossings; a leg must not cross what the network
does not: walls, fences and hedges, water areas, river and canal lines, railways
(:data:`urbancover.core.settings.barrier_selector`).

:class:`Barriers` holds the outlines of those features as a grid of segments (the
:class:`~urbancover.network.nearest.SegmentIndex` the nearest-segment kernel uses for streets) and the
openings on them (gates, entrances, level crossings: :data:`settings.barrier_opening_selector`).
:func:`legs_blocked` tests many legs at once with a compiled segment-crossing kernel;
:func:`nearest_legal` finds, for many points, the nearest walkable segment whose leg crosses no
barrier, trying the segments in order of distance in growing discs. :mod:`urbancover.network.snap` puts the
two together (and the openings) when a network carries barriers (:attr:`Network.barriers`).

A crossing within :data:`settings.barrier_end_tolerance_m` of either end of a leg does not block
it (a gate drawn on its wall, a fence at the kerb of the street reached, rounding).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely

from urbancover.core.settings import Settings, resolve
from urbancover.network.nearest import SegmentIndex, crossing_legs, legal_segments
from urbancover.plan.selectors import TagValues, select

__all__ = ["Barriers", "barriers_from", "legs_blocked", "nearest_legal"]


@dataclass(frozen=True, eq=False)
class Barriers:
    """The barrier outlines of an extract (network CRS) and their openings.

    Attributes
    ----------
    index : SegmentIndex
        Every segment of every barrier line (polygon outlines included).
    openings : numpy.ndarray
        (G, 2) coordinates of the openings: gates, entrances and level crossings within
        :data:`settings.entrance_tolerance_m` of a barrier.
    n_features : int
        Barrier features read (walls, water areas, rivers, railways).
    end_tolerance_m : float
        A crossing this close to either end of a leg does not block it
        (:data:`settings.barrier_end_tolerance_m` of the settings the barriers were made with).
    """

    index: SegmentIndex
    openings: np.ndarray
    n_features: int = 0
    end_tolerance_m: float = 2.0
    #: what snap.py computes once per network from these (the openings' own access legs)
    cache: dict = field(default_factory=dict, repr=False)

    def __bool__(self) -> bool:
        return self.index.n_segments > 0

    @classmethod
    def from_lines(cls, lines, openings=None, *, settings: Settings | None = None) -> Barriers:
        """Barriers from LineStrings or polygons (their outlines) in a projected CRS, and optional
        opening points (kept when within :data:`settings.entrance_tolerance_m` of a barrier).
        """
        s = resolve(settings)
        geoms = np.asarray(lines, dtype=object).ravel()
        geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))] if len(geoms) else geoms
        dims = shapely.get_dimensions(geoms)
        geoms = np.where(dims == 2, shapely.boundary(geoms), geoms)
        parts = shapely.get_parts(geoms) if len(geoms) else geoms
        parts = parts[shapely.get_dimensions(parts) == 1] if len(parts) else parts
        coords, line = shapely.get_coordinates(parts, return_index=True)
        index = SegmentIndex.from_vertices(coords, line, len(parts), name="barriers")
        xy = np.zeros((0, 2))
        if openings is not None and len(parts):
            pts = np.asarray(openings, dtype=object).ravel()
            pts = pts[shapely.get_type_id(pts) == shapely.GeometryType.POINT]
            if len(pts):
                hit = shapely.STRtree(parts).query(pts, predicate="dwithin", distance=s.entrance_tolerance_m)[0]
                xy = shapely.get_coordinates(pts[np.unique(hit)])
        return cls(index, xy, len(geoms), s.barrier_end_tolerance_m)


def barriers_from(features: gpd.GeoDataFrame, crs, values: TagValues | None = None, *,
                  settings: Settings | None = None) -> Barriers:
    """The barriers of an extract's features (:attr:`urbancover.io.osm.OSMData.features`, any CRS),
    selected by :data:`settings.barrier_selector`, in ``crs``; openings by
    :data:`settings.barrier_opening_selector`. ``values``: the features' :class:`TagValues` when
    the caller keeps them; ``settings`` default :func:`urbancover.core.settings.current`. O(F) tag tests,
    O(S) for S barrier segments.
    """
    s = resolve(settings)
    if len(features) == 0:
        return Barriers.from_lines(np.zeros(0, dtype=object), settings=s)
    keep = select(features, s.barrier_selector, values=values)
    gates = select(features, s.barrier_opening_selector, values=values)
    sub = features[keep | gates]
    if len(sub) and not sub.crs.is_exact_same(crs):
        sub = sub.to_crs(crs)
    geoms = sub.geometry.values
    k = keep[keep | gates]
    lines = np.asarray(geoms[k], dtype=object)
    lines = lines[shapely.get_dimensions(lines) >= 1] if len(lines) else lines
    return Barriers.from_lines(lines, np.asarray(geoms[~k & gates[keep | gates]], dtype=object), settings=s)


def legs_blocked(barriers: Barriers, a: np.ndarray, b: np.ndarray, *, tolerance: float | None = None) -> np.ndarray:
    """Boolean per leg (``a[i]`` to ``b[i]``, (n, 2) arrays): the leg crosses a barrier farther
    than ``tolerance`` (default the barriers' ``end_tolerance_m``) from both its ends.

    Notes
    -----
    Each leg visits the barrier grid's cells along it and tests each segment listed there once:
    O(n k) for k barrier segments near a leg. A leg running along a barrier (parallel) is not
    blocked by it.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 2)
    tol = barriers.end_tolerance_m if tolerance is None else float(tolerance)
    if not barriers or len(a) == 0:
        return np.zeros(len(a), dtype=bool)
    return crossing_legs(barriers.index, a, b, tol)


def nearest_legal(index: SegmentIndex, barriers: Barriers, xy: np.ndarray, nearest_m: np.ndarray,
                  limit: float | None, *, allowed: np.ndarray | None = None):
    """For each point, the nearest segment of ``index`` (a network's
    :attr:`~urbancover.network.walk.Network.segment_index`) whose access leg (point to its orthogonal
    projection) crosses no barrier.

    Parameters
    ----------
    index, barriers
        The streets' segment grid and the barriers.
    xy
        (n, 2) points.
    nearest_m
        Distance of each point to its nearest segment (from
        :func:`~urbancover.network.nearest.nearest_segments`): the search starts there.
    limit
        No target farther than this (metres; None: none).
    allowed
        Boolean per edge: only these edges are targets (None: all).

    Returns
    -------
    edge, offset, distance, status : numpy.ndarray
        As :func:`~urbancover.network.nearest.nearest_segments` (ties: lowest edge, first segment along
        it); ``status`` 0 where the nearest segment's leg is legal (the answer is the plain
        nearest), 1 where a farther segment was taken, 2 where none is legal within ``limit``
        (edge -1).

    Notes
    -----
    Candidates are the segments in discs around the point, the first of radius ``nearest_m``, each
    next twice as wide (at least 20 m more) up to ``limit``, tried in order of distance: O(k log k)
    for the k segments within the distance of the answer, times the legs' crossing tests.
    """
    return legal_segments(index, barriers.index, xy, nearest_m, limit, barriers.end_tolerance_m,
                          allowed=allowed)
