"""Where places and facilities meet the walking network.

Everything that puts a geometry on the network lives here:

* :func:`snap_points` / :func:`snap_geometries`: a place (home, stop, grid cell) projected
  orthogonally on its nearest edge, with its straight access leg; :func:`places` /
  :func:`snap_places` do the same for a layer of points held as coordinate arrays (reprojected by
  a cached pyproj transformer, :func:`urbancover.io.crs.transformer`, no shapely geometry per point);
* :func:`seeds`: where a facility touches the network: a point at its projection, a polygon or line
  (a park) on every part of an edge within ``reach`` metres of it;
* :func:`parts_inside`: the parts of edges inside polygons (street demand inside an area);
* :func:`at_entrances`: walled polygons reached only at their mapped gates.

The engine (:mod:`urbancover.engine`) searches from these; it never snaps anything itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from urbancover.core.compiled import HAVE_NUMBA, compiled
from urbancover.core.errors import InputError, warn
from urbancover.core.intervals import merge, total
from urbancover.core.parallel import threaded
from urbancover.core.settings import Settings, resolve
from urbancover.io.crs import require_crs, transformer
from urbancover.io.utm import lonlat_to_utm, utm_zone_of
from urbancover.network.barriers import legs_blocked, nearest_legal
from urbancover.network.nearest import nearest_segments
from urbancover.network.walk import Network

Layer = gpd.GeoDataFrame | gpd.GeoSeries

#: metres: a place this close to a graph node is placed on the node itself
NODE_TOLERANCE = 1e-6


@dataclass(frozen=True, eq=False)
class Snapped:
    """Points placed on their nearest edge.

    ``edge`` is -1 where a point was not snapped (empty geometry, or farther than the snap limit);
    its ``offset`` and ``access`` are then NaN and inf.

    ``behind`` (when the network carries barriers, :attr:`Network.barriers`, else None): the
    place's straight leg to its nearest edge crosses a barrier (a wall, water, a railway), so it
    was placed on the nearest edge it reaches without crossing one, or through an opening (its
    ``access`` then runs to the opening and on from there); edge -1 with ``behind`` is "no path":
    nothing reachable within the snap limit.
    """

    edge: np.ndarray  # int64 edge index, -1 if not snapped
    offset: np.ndarray  # metres from the edge's u end along its geometry
    access: np.ndarray  # straight access leg in metres (inf if not snapped)
    behind: np.ndarray | None = None  # bool: the nearest edge's leg crosses a barrier

    def __len__(self) -> int:
        return len(self.edge)


def snap_points(
    network: Network, points: gpd.GeoSeries | gpd.GeoDataFrame, *, max_distance: float | None = ..., name: str = "points",
    barriers: bool = True,
    settings: Settings | None = None,
) -> Snapped:
    """Snap points to the orthogonal projection on their nearest edge.

    Parameters
    ----------
    network
        The network.
    points
        Points in any CRS (reprojected to the network's). Non-point geometries are snapped by their
        nearest point to the network.
    max_distance
        Points farther than this (metres) stay unsnapped (distance ``inf``) and a warning counts
        them. Default :data:`settings.max_snap_distance`.
    name
        Name of the input in messages.
    barriers
        When the network carries barriers (:attr:`Network.barriers`), a point's leg may not cross
        one (PLAN_RULES rev 3, section G; see :func:`around_barriers`); False ignores them (the
        "no walls" comparison). Other geometries than points ignore them.
    settings
        The :class:`~urbancover.core.settings.Settings` (``max_snap_distance``, ``island_snap_m``);
        default :func:`urbancover.core.settings.current`.

    Notes
    -----
    Points: the compiled kernel of :mod:`urbancover.network.nearest` over the network's
    :attr:`~urbancover.network.walk.Network.segment_index` (O(P) after an O(segments) index build; ties go
    to the lowest edge index). A layer of 2D points is reprojected as coordinate arrays
    (:func:`places`): no shapely geometry is made per point. Other geometries, and points when numba
    is missing: a nearest-edge query (:meth:`Network.nearest_edges`) and one ``line_locate_point``
    call, O(P log E). A point
    within ``NODE_TOLERANCE`` of a node is placed on one of the node's own edges. Then places on
    scraps of network move to the real network (see :data:`urbancover.core.settings.island_snap_m`).
    """
    return snap_places(network, places(points, network.crs, name), max_distance=max_distance, name=name,
                       barriers=barriers, settings=settings)


@dataclass(eq=False)
class Places:
    """A layer's places in the network's CRS, made by :func:`places`.

    A layer of 2D points is held as coordinates ``xy`` (NaN rows where ``valid`` is False: missing
    or empty), and its geometries are made only if asked for (:meth:`geometries`); any other layer
    as its reprojected geometries.
    """

    xy: np.ndarray | None
    valid: np.ndarray | None
    _geoms: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.xy) if self._geoms is None else len(self._geoms)

    def geometries(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The geometries (of ``rows``, default all), made from the coordinates on the first call
        for a layer of points; None where the input had none.
        """
        if self._geoms is None:
            if rows is not None:
                return self._points(rows)
            self._geoms = self._points(np.arange(len(self.xy)))
        return self._geoms if rows is None else self._geoms[rows]

    def _points(self, rows: np.ndarray) -> np.ndarray:
        out = np.full(len(rows), None, dtype=object)
        ok = self.valid[rows]
        out[ok] = shapely.points(self.xy[rows[ok]])
        return out


#: points from which :func:`places` projects lon/lat to UTM with the compiled projection (fewer: pyproj,
#: whose set-up is then most of the time, and the numbers to_crs gives to the last bit)
COMPILED_PROJECTION_MIN = 4096


def places(data: Layer, crs: pyproj.CRS, name: str) -> Places:
    """A layer (GeoDataFrame or GeoSeries with a CRS) in ``crs``, as coordinates if it holds only
    2D points (missing and empty rows allowed), else as geometries (:func:`as_geometry`).

    Points are reprojected on coordinate arrays, without making a shapely geometry per point (5-10x
    faster on 500k points): with :func:`urbancover.io.crs.transformer`, the same numbers as ``to_crs``;
    or, for :data:`COMPILED_PROJECTION_MIN` points or more in WGS 84 lon/lat going to a WGS 84 UTM
    zone (a network's CRS), with the compiled :func:`urbancover.io.utm.lonlat_to_utm`, within a
    micrometre of them (nanometres as tested) at a fifth of the time.
    """
    if not isinstance(data, (gpd.GeoDataFrame, gpd.GeoSeries)):
        return Places(None, None, as_geometry(data, crs, name))  # (raises the usual error)
    data = require_crs(data, name)
    geoms = np.asarray(data.geometry.values, dtype=object)
    types = shapely.get_type_id(geoms)
    if ((types != shapely.GeometryType.POINT) & (types != shapely.GeometryType.MISSING)).any() or shapely.has_z(geoms).any():
        return Places(None, None, as_geometry(data, crs, name))
    coords = shapely.get_coordinates(geoms)  # (missing and empty points: no row)
    if len(coords) == len(geoms):
        row = None  # one point per row
    else:
        coords, row = shapely.get_coordinates(geoms, return_index=True)
    if not data.crs.is_exact_same(crs):
        zone = utm_zone_of(data.crs, crs) if HAVE_NUMBA and len(coords) >= COMPILED_PROJECTION_MIN else None
        if zone is not None:  # lon/lat to a UTM zone: compiled (urbancover.io.utm), 4-5x pyproj's speed
            x, y = lonlat_to_utm(coords[:, 0], coords[:, 1], *zone)
        else:
            x, y = transformer(data.crs, crs).transform(coords[:, 0], coords[:, 1])
        coords = np.column_stack([x, y])
    if row is None:
        return Places(coords, np.ones(len(geoms), dtype=bool))
    valid = np.zeros(len(geoms), dtype=bool)
    valid[row] = True
    xy = np.full((len(geoms), 2), np.nan)
    xy[row] = coords
    return Places(xy, valid)


def snap_places(network: Network, where: Places, *, max_distance: float | None = ..., name: str = "points",
                barriers: bool = True, settings: Settings | None = None) -> Snapped:
    """As :func:`snap_points`, for :class:`Places` in the network's CRS (points as coordinates: no
    geometry is made, except for the rare places on scraps of network).
    """
    if where.xy is None or not HAVE_NUMBA:
        return snap_geometries(network, where.geometries(), max_distance=max_distance, name=name, barriers=barriers,
                               settings=settings)
    s = resolve(settings)
    max_distance, (edge, offset, access) = _unsnapped(len(where), max_distance, s)
    n = len(where)
    rows = np.arange(n) if where.valid.all() else np.flatnonzero(where.valid)
    walls = barriers and bool(network.barriers)
    behind = np.zeros(n, dtype=bool) if walls else None
    if len(rows) == 0:
        return Snapped(edge, offset, access, behind)
    xy = where.xy if len(rows) == n else where.xy[rows]
    snap_xy(network, xy, rows, max_distance, edge, offset, access)
    if walls:
        around_barriers(network, xy, rows, max_distance, edge, offset, access, behind, s)
    _off_islands(network, where.geometries, edge, offset, access, s, behind)
    _warn_far(edge, rows, max_distance, name, behind)
    return Snapped(edge, offset, access, behind)


def _unsnapped(n: int, max_distance, s: Settings):
    """The snap limit (``...``: :data:`settings.max_snap_distance`) and the columns of ``n``
    places not snapped yet: edge -1, offset NaN, access leg inf.
    """
    if max_distance is ...:
        max_distance = s.max_snap_distance
    return max_distance, (np.full(n, -1, dtype=np.int64), np.full(n, np.nan), np.full(n, np.inf))


def snap_geometries(network: Network, geoms: np.ndarray, *, max_distance: float | None = ..., name: str = "points",
                    barriers: bool = True, settings: Settings | None = None) -> Snapped:
    """As :func:`snap_points`, for an array of shapely geometries already in the network's CRS."""
    s = resolve(settings)
    max_distance, (edge, offset, access) = _unsnapped(len(geoms), max_distance, s)
    valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    walls = barriers and bool(network.barriers)
    behind = np.zeros(len(geoms), dtype=bool) if walls else None
    if not valid.any():
        return Snapped(edge, offset, access, behind)
    idx = np.flatnonzero(valid)
    # places exactly on a graph node (isochrones at nodes, stops at junctions) take a k-d tree
    # lookup onto one of the node's own edges; the rest an STRtree nearest-edge query
    is_pt = shapely.get_type_id(geoms[idx]) == shapely.GeometryType.POINT
    at_node = np.zeros(len(idx), dtype=bool)
    if HAVE_NUMBA and is_pt.any():
        # points: the compiled nearest-segment kernel (urbancover.network.nearest), ~40x faster than GEOS
        rows = idx[is_pt]
        xy = shapely.get_coordinates(geoms[rows])
        snap_xy(network, xy, rows, max_distance, edge, offset, access)
        if walls:
            around_barriers(network, xy, rows, max_distance, edge, offset, access, behind, s)
        at_node = is_pt  # (every point is done)
    elif is_pt.any():
        xy = shapely.get_coordinates(geoms[idx][is_pt])
        d, node = network.node_tree.query(xy, distance_upper_bound=NODE_TOLERANCE)
        hit = np.isfinite(d)
        rows = idx[is_pt][hit]
        e = network.node_edge[node[hit]]
        edge[rows] = e
        offset[rows] = np.where(network.u[e] == node[hit], 0.0, network.length[e])
        access[rows] = d[hit]
        at_node[np.flatnonzero(is_pt)[hit]] = True
    rest = idx[~at_node]
    if len(rest):
        # nearest edge without max_distance, filtered after (GEOS is ~2x faster that way), and in
        # Hilbert-curve order, so that consecutive queries visit the same tree nodes (~2x again)
        rest = rest[hilbert_order(geoms[rest])]
        (qi, ei), dist = network.nearest_edges(geoms[rest])
        near = np.ones(len(qi), dtype=bool) if max_distance is None else dist <= max_distance
        qi, ei, dist = qi[near], ei[near], dist[near]
        pts = geoms[rest][qi]
        lines = network.lines(ei)
        nonpoint = shapely.get_type_id(pts) != shapely.GeometryType.POINT
        if nonpoint.any():
            pts = pts.copy()
            pts[nonpoint] = shapely.get_point(shapely.shortest_line(lines[nonpoint], pts[nonpoint]), 0)
        rows = rest[qi]
        edge[rows] = ei
        offset[rows] = shapely.line_locate_point(lines, pts)
        access[rows] = dist
    _off_islands(network, geoms.__getitem__, edge, offset, access, s, behind)
    _warn_far(edge, idx, max_distance, name, behind)
    return Snapped(edge, offset, access, behind)


def _warn_far(edge: np.ndarray, rows: np.ndarray, max_distance: float | None, name: str,
              behind: np.ndarray | None = None) -> None:
    """Warn about the places of ``rows`` left unsnapped: walled in (``behind``) or too far."""
    lost = rows[edge[rows] < 0]
    of = len(rows)
    walled = 0 if behind is None else int(behind[lost].sum())
    far = len(lost) - walled
    if walled:
        warn(
            f"{name}: {walled} of {of} places reach no walkable edge within {max_distance} m without crossing a "
            "barrier (a wall, water, a railway) and have no opening (gate) within reach: they have no path "
            "(distance inf). Check the gates of their compound, or settings.barrier_selector.",
        )
    if far:
        warn(
            f"{name}: {far} of {of} places lie more than {max_distance} m from every walkable edge; "
            "they are unreachable (distance inf). Check their CRS, or raise settings.max_snap_distance.",
        )


def snap_xy(network: Network, xy: np.ndarray, rows: np.ndarray, max_distance: float | None,
            edge: np.ndarray, offset: np.ndarray, access: np.ndarray) -> None:
    """Snap the points of coordinates ``xy`` (network CRS) with the compiled kernel
    (:func:`urbancover.network.nearest.nearest_segments`), writing rows ``rows`` of the output arrays.

    A point within :data:`NODE_TOLERANCE` of a graph node is placed on the node, on one of the
    node's own edges (``node_edge``): where the kernel's edge ends at that node this costs nothing,
    and only the rare others (a node lying on an unconnected way) take the k-d tree. O(P) for P
    points after the network's segment index is built (once).
    """
    e, o, d = nearest_segments(network.segment_index, xy, max_distance=max_distance)
    # one compiled pass writes the rows and places the points on a node on the node's own edge
    far = _on_edges(xy, e, o, d, rows, network.u, network.v, network.node_xy, network.node_edge, network.length,
                    NODE_TOLERANCE, edge, offset, access)
    if len(far) == 0:
        return
    # near a node, but the nearest edge does not end there (a node lying on an unconnected way)
    dk, nk = network.node_tree.query(xy[far], distance_upper_bound=NODE_TOLERANCE)
    hit = np.isfinite(dk) & (dk <= NODE_TOLERANCE)
    at, node = far[hit], nk[hit]
    ne = network.node_edge[node]
    edge[rows[at]] = ne
    offset[rows[at]] = np.where(network.u[ne] == node, 0.0, network.length[ne])
    access[rows[at]] = dk[hit]


@compiled
def _on_edges(xy, e, o, d, rows, u, v, node_xy, node_edge, length, tol, edge, offset, access):
    """Write each snapped point (``e >= 0``) into row ``rows[k]`` of ``edge``, ``offset``,
    ``access``; a point within ``tol`` of the nearer end of its edge (``u`` on a tie) is placed on
    that node, on the node's own edge (``node_edge``), at the straight distance to it. Returns the
    points within ``tol`` of their edge whose nearer end is farther than ``tol``. O(len(e)).
    """
    far = np.empty(len(e), dtype=np.int64)
    n_far = np.int64(0)
    for k in range(len(e)):
        q = e[k]
        if q < 0:
            continue
        r = rows[k]
        edge[r], offset[r], access[r] = q, o[k], d[k]
        if not d[k] <= tol:
            continue
        a, b = u[q], v[q]
        da = math.hypot(xy[k, 0] - node_xy[a, 0], xy[k, 1] - node_xy[a, 1])
        db = math.hypot(xy[k, 0] - node_xy[b, 0], xy[k, 1] - node_xy[b, 1])
        node, dn = (a, da) if da <= db else (b, db)
        if dn > tol:
            far[n_far] = k
            n_far += 1
            continue
        ne = node_edge[node]
        edge[r] = ne
        offset[r] = 0.0 if u[ne] == node else length[ne]
        access[r] = dn
    return far[:n_far]


def around_barriers(network: Network, xy: np.ndarray, rows: np.ndarray, max_distance: float | None,
                    edge: np.ndarray, offset: np.ndarray, access: np.ndarray, behind: np.ndarray,
                    s: Settings) -> None:
    """Re-place the points ``xy`` (rows ``rows`` of the output arrays, already snapped to their
    nearest edge) whose straight leg crosses one of :attr:`Network.barriers`; in place.

    Such a point is marked ``behind`` and goes to the nearest walkable segment it reaches without
    crossing a barrier (:func:`urbancover.network.barriers.nearest_legal`), or through an opening (a gate,
    an entrance, a level crossing: straight to it, then its own leg) when that is shorter; with
    neither within ``max_distance`` it has no path (edge -1, access inf). Points whose nearest leg
    is legal are untouched, to the last bit. Vectorised: one compiled pass over the points (a
    crossing test per candidate leg), one STRtree query for the openings.
    """
    tol = s.barrier_end_tolerance_m
    k = np.flatnonzero((edge[rows] >= 0) & (access[rows] > 2.0 * tol))
    if len(k) == 0:
        return
    e, o, d, status = nearest_legal(network.segment_index, network.barriers, xy[k], access[rows[k]], max_distance)
    moved = status > 0
    if not moved.any():
        return
    r = rows[k[moved]]
    behind[r] = True
    edge[r], offset[r], access[r] = e[moved], o[moved], d[moved]
    _through_openings(network, xy[k[moved]], r, max_distance, edge, offset, access)


def _opening_legs(network: Network, max_distance: float | None):
    """The openings of :attr:`Network.barriers` snapped (barrier-aware, to the real network when
    there is one): ``(edge, offset, access)`` per opening, computed once per network and limit.
    """
    bar = network.barriers
    key = ("openings", max_distance)
    if key not in bar.cache:
        gxy = bar.openings
        main = network.main_edges
        allowed = main if main.any() else None
        index = network.segment_index
        e, o, d = nearest_segments(index, gxy, max_distance=max_distance)
        # the search starts at the nearest segment's distance (inf: none within the limit, skipped),
        # a lower bound also when that segment lies on a scrap of network
        e, o, d, _ = nearest_legal(index, bar, gxy, d, max_distance, allowed=allowed)
        bar.cache[key] = (e, o, d)
    return bar.cache[key]


def _through_openings(network: Network, xy: np.ndarray, rows: np.ndarray, max_distance: float | None,
                      edge: np.ndarray, offset: np.ndarray, access: np.ndarray) -> None:
    """Points behind barriers (``xy``, rows ``rows``) that reach an opening straight, without
    crossing a barrier, and whose walk through it (leg to the opening + the opening's own leg) is
    shorter than their current ``access``, take it; in place.
    """
    bar = network.barriers
    if len(bar.openings) == 0 or len(rows) == 0:
        return
    ge, go, ga = _opening_legs(network, max_distance)
    usable = np.flatnonzero(ge >= 0)
    if len(usable) == 0:
        return
    gxy = bar.openings[usable]
    limit = np.inf if max_distance is None else float(max_distance)
    reach = np.minimum(access[rows], limit)
    reach = np.where(np.isfinite(reach), reach, 1e15)
    pi, gi = shapely.STRtree(shapely.points(gxy)).query(shapely.points(xy), predicate="dwithin", distance=reach)
    if len(pi) == 0:
        return
    d = np.hypot(*(xy[pi] - gxy[gi]).T)
    cost = d + ga[usable[gi]]
    keep = cost < access[rows[pi]]
    pi, gi, cost = pi[keep], gi[keep], cost[keep]
    keep = ~legs_blocked(bar, xy[pi], gxy[gi])
    pi, gi, cost = pi[keep], gi[keep], cost[keep]
    if len(pi) == 0:
        return
    order = np.lexsort((gi, cost, pi))
    first = order[np.r_[True, pi[order][1:] != pi[order][:-1]]]
    r, g = rows[pi[first]], usable[gi[first]]
    edge[r], offset[r], access[r] = ge[g], go[g], cost[first]


def _off_islands(network: Network, geoms_of, edge: np.ndarray, offset: np.ndarray, access: np.ndarray, s: Settings,
                 behind: np.ndarray | None = None) -> None:
    """Move places snapped onto a scrap of network (not :attr:`Network.main_edges`) to the nearest
    edge of the real network when one lies within :data:`settings.island_snap_m`; in place.
    ``geoms_of(rows)`` gives the geometries of the places in ``rows``.

    A place farther than that from the real network stays on its scrap (a separate component stays
    unreachable). O(I log E) for I places on scraps. With ``behind`` (the network carries
    barriers), a point moves only to a main edge it reaches without crossing a barrier, or through
    an opening (see :func:`around_barriers`).
    """
    main = network.main_edges
    rows = np.flatnonzero(edge >= 0)
    rows = rows[~main[edge[rows]]]
    if len(rows) == 0 or not main.any():
        return
    geoms = geoms_of(rows)
    (qi, e), dist = network.nearest_edges(geoms, main_only=True)
    ok = dist <= s.island_snap_m
    if behind is not None:
        pt = np.flatnonzero(ok & (shapely.get_type_id(geoms[qi]) == shapely.GeometryType.POINT))
        if len(pt):
            xy = shapely.get_coordinates(geoms[qi[pt]])
            le, lo, ld, st = nearest_legal(network.segment_index, network.barriers, xy, dist[pt], s.island_snap_m,
                                           allowed=main)
            moved = st > 0
            if moved.any():  # blocked on the way to the real network: to a legal edge, an opening, or stay
                r = rows[qi[pt[moved]]]
                behind[r] = True
                e2, o2, a2 = edge.copy(), offset.copy(), access.copy()
                e2[r], o2[r], a2[r] = le[moved], lo[moved], ld[moved]
                _through_openings(network, xy[moved], r, s.island_snap_m, e2, o2, a2)
                found = r[e2[r] >= 0]
                edge[found], offset[found], access[found] = e2[found], o2[found], a2[found]
                ok[pt[moved]] = False  # (done here)
    qi, e, dist = qi[ok], e[ok], dist[ok]
    if len(qi) == 0:
        return
    r = rows[qi]
    pts = geoms[qi]
    lines = network.lines(e)
    nonpoint = shapely.get_type_id(pts) != shapely.GeometryType.POINT
    if nonpoint.any():
        pts = pts.copy()
        pts[nonpoint] = shapely.get_point(shapely.shortest_line(lines[nonpoint], pts[nonpoint]), 0)
    edge[r] = e
    offset[r] = shapely.line_locate_point(lines, pts)
    access[r] = dist


def hilbert_order(geoms: np.ndarray) -> np.ndarray:
    """Positions of ``geoms`` sorted along a Hilbert curve over their bounds (geopandas)."""
    if len(geoms) < 2:
        return np.arange(len(geoms))
    return np.argsort(gpd.GeoSeries(geoms).hilbert_distance().to_numpy(), kind="stable")


def as_geometry(data, crs: pyproj.CRS, name: str) -> np.ndarray:
    """Geometry array of a GeoDataFrame/GeoSeries reprojected to ``crs``."""
    if isinstance(data, (gpd.GeoDataFrame, gpd.GeoSeries)):
        data = require_crs(data, name)
        return data.to_crs(crs).geometry.to_numpy() if isinstance(data, gpd.GeoDataFrame) else data.to_crs(crs).to_numpy()
    raise InputError(
        f"{name}: expected a GeoDataFrame or GeoSeries with a CRS, got {type(data).__name__}. "
        "Wrap coordinates with geopandas.points_from_xy(..., crs=...)."
    )



#: metres: a street this close to an area facility meets it (absorbs reprojection rounding)
TOUCH = 1e-3


@dataclass(frozen=True, eq=False)
class Seeds:
    """Where facilities touch the network: an interval ``[start, end]`` on an edge at a cost.

    A point facility is an interval of zero width at its projection, with its access leg as cost;
    a polygon gives one interval of cost 0 per part of an edge inside it.
    """

    edge: np.ndarray
    start: np.ndarray
    end: np.ndarray
    cost: np.ndarray
    source: np.ndarray  # position of the facility in the input

    def __len__(self) -> int:
        return len(self.edge)


def seeds(network: Network, sources: Layer, *, name: str = "sources", reach: float = TOUCH,
          settings: Settings | None = None) -> tuple[Seeds, np.ndarray]:
    """Place facilities on the network; returns the seeds and the facility geometries (network CRS).

    Polygons and lines are reached on every part of an edge within ``reach`` metres of them.

    Notes
    -----
    Vectorised: one STRtree query for polygons, one nearest query for points, O(K log E).
    """
    geoms = as_geometry(sources, network.crs, name)
    is_point = shapely.get_type_id(geoms) == shapely.GeometryType.POINT
    valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not shapely.is_valid(geoms[valid & ~is_point]).all():
        geoms = geoms.copy()
        bad = valid & ~is_point & ~shapely.is_valid(geoms)
        geoms[bad] = shapely.make_valid(geoms[bad])
    parts = []
    # points: snapped like any place
    pt_rows = np.flatnonzero(is_point & valid)
    snapped = snap_geometries(network, geoms[pt_rows], name=name, settings=settings)
    ok = snapped.edge >= 0
    parts.append((snapped.edge[ok], snapped.offset[ok], snapped.offset[ok], snapped.access[ok], pt_rows[ok]))
    # polygons and lines: every part of an edge that lies inside them, at cost 0
    area_rows = np.flatnonzero(~is_point & valid)
    if len(area_rows):
        # grown by 1 mm so a street along an area's boundary (sharing its nodes) meets it whatever
        # rounding reprojection left: otherwise it would flip between inside and outside
        e, a, b, r = parts_inside(network, shapely.buffer(geoms[area_rows], reach))
        parts.append((e, a, b, np.zeros(len(a)), area_rows[r]))
        # facilities that touch no edge: reached at the network's nearest point to them
        untouched = np.setdiff1d(area_rows, area_rows[r])
        if len(untouched):
            sn = snap_geometries(network, geoms[untouched], name=name, settings=settings)
            ok = sn.edge >= 0
            parts.append((sn.edge[ok], sn.offset[ok], sn.offset[ok], sn.access[ok], untouched[ok]))
    edge, start, end, cost, src = (np.concatenate(c) for c in zip(*parts))
    return Seeds(edge.astype(np.int64), start, end, cost, src.astype(np.int64)), geoms


def parts_inside(
    network: Network, geoms: np.ndarray, *, union: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parts of edges inside (or on) polygons or lines, as intervals along the edges.

    Returns ``(edge, start, end, row)``: metres from the edge's ``u`` end, and the position in
    ``geoms`` of the geometry containing the part. With ``union``, only the union of the parts is
    wanted (the caller merges them): an edge wholly inside some geometry is given once, whole, and
    its other pairs are skipped (then ``row`` names one geometry holding each part). Vectorised: the
    pairs (geometry, edge) that meet (:meth:`Network.over_pairs`: one STRtree query on a small
    network; on a big one, candidates from the segment grid, tested a chunk of edges at a time, so a
    city's road network never holds one LineString per edge), one prepared ``contains_properly``
    test over them, and one ``intersection`` call over the pairs whose edge crosses an outline (an
    edge inside is whole).
    """
    shapely.prepare(geoms)
    parts = network.over_pairs(geoms, lambda gi, ei, lines_of: _parts_of_pairs(network, geoms, gi, ei, lines_of, union))
    return tuple(np.concatenate(p) for p in zip(*parts))


def length_inside(network: Network, geoms: np.ndarray) -> float:
    """Metres of the network's edges inside (or on) the union of ``geoms``: the summed length of
    :func:`parts_inside`, merged per edge, chunk by chunk of :meth:`Network.over_pairs` (an edge's
    parts all lie in its chunk), so a city's road length is measured without a city's worth of intervals.
    """
    geoms = np.asarray(geoms, dtype=object)
    shapely.prepare(geoms)
    return float(sum(network.over_pairs(
        geoms, lambda gi, ei, lines_of: total(merge(*_parts_of_pairs(network, geoms, gi, ei, lines_of, True)[:3]))
    )))


def _parts_of_pairs(network: Network, geoms, gi, ei, lines_of, union: bool):
    """:func:`parts_inside` over the pairs (geometry ``gi``, edge ``ei``) that meet; ``lines_of``
    gives the edges' LineStrings.
    """
    # an edge wholly inside its polygon is its own intersection: only the edges that cross an
    # outline need the (costly) overlay; the prepared predicate settles the rest
    inside = shapely.contains_properly(geoms[gi], lines_of(ei))
    return _pair_parts(network, geoms, gi, ei, inside, union, lines_of)


def _union_pairs(network: Network, ei: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Pairs to keep when only the union of the parts matters: one pair per edge wholly inside a
    geometry, and every pair on an edge no geometry holds whole.
    """
    whole = np.zeros(network.n_edges, dtype=bool)
    whole[ei[inside]] = True
    once = np.zeros(len(ei), dtype=bool)
    once[np.flatnonzero(inside)[np.unique(ei[inside], return_index=True)[1]]] = True
    return once | ~whole[ei]


def _pair_parts(network: Network, geoms: np.ndarray, gi: np.ndarray, ei: np.ndarray, inside: np.ndarray, union: bool,
                line_of):
    """``parts_inside`` from candidate pairs (geometry ``gi``, edge ``ei``), given which edges lie
    wholly inside their geometry; ``line_of(edges)`` gives their LineStrings.
    """
    if len(gi) == 0:
        empty = np.zeros(0)
        return np.zeros(0, dtype=np.int64), empty, empty, np.zeros(0, dtype=np.int64)
    if union:
        # many buffers or polygons overlap (a stop's 500 m disc holds hundreds of edges, and each
        # edge lies in many discs): one whole copy of a covered edge says all
        keep = _union_pairs(network, ei, inside)
        gi, ei, inside = gi[keep], ei[keep], inside[keep]
    # an edge wholly inside is one part from its start to its end: no geometry to look at
    whole_e = ei[inside].astype(np.int64)
    whole_len = shapely.length(line_of(whole_e))
    loop = network.u[whole_e] == network.v[whole_e]
    whole_len[loop] = np.minimum(whole_len[loop], network.length[whole_e[loop]])  # as a loop's pieces below
    whole = (whole_e, np.zeros(len(whole_e)), whole_len, gi[inside].astype(np.int64))
    gi, ei = gi[~inside], ei[~inside]
    edge_geom = line_of(ei)
    cut = threaded(shapely.intersection, edge_geom, geoms[gi], settings=network.settings)  # the costly overlay, on every core
    pieces, pidx = shapely.get_parts(cut, return_index=True)
    keep = ~shapely.is_empty(pieces)
    pieces, pidx = pieces[keep], pidx[keep]
    is_pt = shapely.get_type_id(pieces) == shapely.GeometryType.POINT
    first = np.where(is_pt, pieces, shapely.get_point(pieces, 0))
    last = np.where(is_pt, pieces, shapely.get_point(pieces, -1))
    a = shapely.line_locate_point(edge_geom[pidx], first)
    b = shapely.line_locate_point(edge_geom[pidx], last)
    pe, lo, hi, prow = ei[pidx].astype(np.int64), np.minimum(a, b), np.maximum(a, b), gi[pidx].astype(np.int64)
    # On a loop edge the closing node is both position 0 and the full length, and
    # line_locate_point always says 0: place such pieces by their midpoint and half their length
    # instead, and split a piece that runs through the closing node in two.
    loop = (network.u[pe] == network.v[pe]) & ~is_pt
    if loop.any():
        L = network.length[pe[loop]]
        h = shapely.length(pieces[loop]) / 2.0
        m = shapely.line_locate_point(edge_geom[pidx][loop], shapely.line_interpolate_point(pieces[loop], h))
        lo[loop], hi[loop] = np.maximum(m - h, 0.0), np.minimum(m + h, L)
        under, over = m - h < 0, m + h > L
        pe = np.concatenate([pe, pe[loop][under], pe[loop][over]])
        lo = np.concatenate([lo, (L + m - h)[under], np.zeros(over.sum())])
        hi = np.concatenate([hi, L[under], (m + h - L)[over]])
        prow = np.concatenate([prow, prow[loop][under], prow[loop][over]])
    return tuple(np.concatenate([w, p]) for w, p in zip(whole, (pe, lo, hi, prow)))


def at_entrances(facilities: gpd.GeoDataFrame, entrances: gpd.GeoDataFrame, *,
                 settings: Settings | None = None) -> gpd.GeoDataFrame:
    """Polygon facilities with mapped entrances replaced by those entrance points.

    ``entrances`` are the features matching :data:`settings.entrance_selector` (gates,
    ``entrance=*`` nodes); those that are points within :data:`settings.entrance_tolerance_m` of
    a polygon's outline each become one row with the polygon's attributes. Other facilities are
    unchanged. A walled park is then reached only through its gates.

    Notes
    -----
    O(F log G) for F facilities and G entrances (one STRtree query).
    """
    entrances = entrances[shapely.get_type_id(entrances.geometry.values) == shapely.GeometryType.POINT]
    polys = np.flatnonzero(shapely.get_dimensions(facilities.geometry.values) == 2)
    if len(entrances) == 0 or len(polys) == 0:
        return facilities
    outline = shapely.boundary(facilities.geometry.values[polys])
    pi, gi = shapely.STRtree(entrances.geometry.values).query(
        outline, predicate="dwithin", distance=resolve(settings).entrance_tolerance_m
    )
    if len(pi) == 0:
        return facilities
    gated = polys[np.unique(pi)]
    keep = np.setdiff1d(np.arange(len(facilities)), gated)
    gates = facilities.iloc[polys[pi]].copy()
    gates["geometry"] = entrances.geometry.values[gi]
    return gpd.GeoDataFrame(pd.concat([facilities.iloc[keep], gates]), geometry="geometry", crs=facilities.crs)
