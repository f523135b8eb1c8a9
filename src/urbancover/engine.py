"""Network distances from many facilities at once, with a cut-off, and edge coverage.

Definition of distance (PLAN_RULES.md, section A): from a place to a facility is

    access leg of the place  +  shortest path along the network between the two projections
    (along the edge geometry; when both lie on one edge the direct run along it counts)
    +  access leg of the facility.

A point is projected orthogonally on its nearest edge (:func:`urbancover.network.snap_points`).
A polygon or line facility (a park) is reached wherever it meets a walkable edge (access leg 0 along
the edge's part inside it), else at the point of the network nearest to it; a place inside a
polygon facility is at distance 0 from it.

All facilities of a category are searched in **one** Dijkstra pass (:func:`scipy.sparse.csgraph.dijkstra`
with ``min_only=True``): every facility becomes a virtual node joined to the two ends of its edge, and
the pass starts from all virtual nodes together. Cost O((V + E + K) log(V + K)) for V nodes, E edges and
K facilities, whatever K is, and less with a cut-off since the search stops at it.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pyproj
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra

from urbancover.errors import InputError
from urbancover.intervals import merge as _merge_intervals, ranges as _ranges
from urbancover.io.crs import require_crs, utm_crs_for
from urbancover.network import Network, Snapped, _as_geometry, snap_geometries

Layer = gpd.GeoDataFrame | gpd.GeoSeries

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


def seeds(network: Network, sources: Layer, *, name: str = "sources", reach: float = TOUCH) -> tuple[Seeds, np.ndarray]:
    """Place facilities on the network; returns the seeds and the facility geometries (network CRS).

    Polygons and lines are reached on every part of an edge within ``reach`` metres of them.

    Notes
    -----
    Vectorised: one STRtree query for polygons, one nearest query for points, O(K log E).
    """
    geoms = _as_geometry(sources, network.crs, name)
    is_point = shapely.get_type_id(geoms) == shapely.GeometryType.POINT
    valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not shapely.is_valid(geoms[valid & ~is_point]).all():
        geoms = geoms.copy()
        bad = valid & ~is_point & ~shapely.is_valid(geoms)
        geoms[bad] = shapely.make_valid(geoms[bad])
    parts = []
    # points: snapped like any place
    pt_rows = np.flatnonzero(is_point & valid)
    snapped = snap_geometries(network, geoms[pt_rows], name=name)
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
            sn = snap_geometries(network, geoms[untouched], name=name)
            ok = sn.edge >= 0
            parts.append((sn.edge[ok], sn.offset[ok], sn.offset[ok], sn.access[ok], untouched[ok]))
    edge, start, end, cost, src = (np.concatenate(c) for c in zip(*parts))
    return Seeds(edge.astype(np.int64), start, end, cost, src.astype(np.int64)), geoms


def parts_inside(network: Network, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parts of edges inside (or on) polygons or lines, as intervals along the edges.

    Returns ``(edge, start, end, row)``: metres from the edge's ``u`` end, and the position in
    ``geoms`` of the geometry containing the part. Vectorised: one STRtree query and one
    ``intersection`` call over the candidate pairs.
    """
    gi, ei = network.tree.query(geoms, predicate="intersects")
    if len(gi) == 0:
        empty = np.zeros(0)
        return np.zeros(0, dtype=np.int64), empty, empty, np.zeros(0, dtype=np.int64)
    edge_geom = network.geometry[ei]
    pieces, pidx = shapely.get_parts(shapely.intersection(edge_geom, geoms[gi]), return_index=True)
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
    return pe, lo, hi, prow


@dataclass(frozen=True, eq=False)
class DistanceField:
    """Distance from every network node to the nearest facility of one category.

    Made by :func:`distance_field`; ask it for the distance of any place with :meth:`at`, or for
    the covered part of every edge with :meth:`edge_coverage`. Holding it lets one Dijkstra pass
    serve several demand layers (buildings, compounds, street segments).
    """

    network: Network
    seeds: Seeds
    node_distance: np.ndarray  # metres, inf beyond the cut-off
    node_seed: np.ndarray  # seed that reaches each node first, -1 if none
    cutoff: float
    _polygons: np.ndarray  # geometries of polygon facilities (network CRS), for places inside them
    _polygon_rows: np.ndarray

    def at(self, targets: Layer, *, name: str = "targets", return_source: bool = False):
        """Distance from each target to its nearest facility (metres; ``inf`` if none within the cut-off).

        Parameters
        ----------
        targets
            Points (or any geometry, snapped by its nearest point) in any CRS.
        return_source
            Also return, per target, the position of the nearest facility in the input (-1 if none).

        Notes
        -----
        O(T log E) for T targets (snapping) plus O(T + S_e) for same-edge facilities.
        """
        geoms = _as_geometry(targets, self.network.crs, name)
        snapped = snap_geometries(self.network, geoms, name=name)
        return self.at_snapped(snapped, geoms=geoms, return_source=return_source)

    def at_snapped(self, snapped: Snapped, *, geoms: np.ndarray | None = None, return_source: bool = False):
        """As :meth:`at`, for places already snapped with :func:`snap_points`."""
        net, s = self.network, self.seeds
        n = len(snapped)
        dist = np.full(n, np.inf)
        seed = np.full(n, -1, dtype=np.int64)
        rows = np.flatnonzero(snapped.edge >= 0)
        e = snapped.edge[rows]
        t = snapped.offset[rows]
        du = self.node_distance[net.u[e]] + t
        dv = self.node_distance[net.v[e]] + (net.length[e] - t)
        best = np.minimum(du, dv)
        best_seed = np.where(du <= dv, self.node_seed[net.u[e]], self.node_seed[net.v[e]])
        # facilities on the same edge: the direct run along it
        if len(s):
            order = np.argsort(s.edge, kind="stable")
            sedge = s.edge[order]
            lo = np.searchsorted(sedge, e, side="left")
            hi = np.searchsorted(sedge, e, side="right")
            cnt = hi - lo
            if cnt.any():
                tgt = np.repeat(np.arange(len(rows)), cnt)
                pos = order[np.repeat(lo, cnt) + _ranges(cnt)]
                run = s.cost[pos] + np.maximum.reduce([np.zeros(len(pos)), s.start[pos] - t[tgt], t[tgt] - s.end[pos]])
                better = np.full(len(rows), np.inf)
                np.minimum.at(better, tgt, run)
                improved = better < best
                if improved.any():
                    # which seed gave the minimum
                    hit = run == better[tgt]
                    first_hit = np.full(len(rows), -1, dtype=np.int64)
                    sel = np.flatnonzero(hit)[::-1]
                    first_hit[tgt[sel]] = pos[sel]
                    best = np.where(improved, better, best)
                    best_seed = np.where(improved, first_hit, best_seed)
        total = snapped.access[rows] + best
        within = total <= self.cutoff
        dist[rows[within]] = total[within]
        seed[rows[within]] = best_seed[within]
        source = np.full(n, -1, dtype=np.int64)
        source[seed >= 0] = s.source[seed[seed >= 0]]
        if geoms is not None and len(self._polygons):
            # a place inside (or on) a polygon facility is served by it at distance 0
            ti, pi = shapely.STRtree(self._polygons).query(geoms, predicate="intersects")
            dist[ti] = 0.0
            source[ti] = self._polygon_rows[pi]
        return (dist, source) if return_source else dist

    def edge_coverage(self, radius: float | None = None) -> gpd.GeoDataFrame:
        """Covered length of every edge within ``radius`` (default: the cut-off).

        Returns the network's edges (``u``, ``v``, ``length``, geometry) with ``covered_from_u`` and
        ``covered_from_v`` (metres covered from each end), ``covered_length`` (the union of those and
        of facilities on the edge itself), ``covered_share``, and ``dist_u``/``dist_v`` (node distances).
        A partly covered edge counts its covered metres, it is not rounded to a node.
        """
        radius = self._radius(radius)
        edge, start, end = self.covered_intervals(radius)
        net = self.network
        covered = np.bincount(edge, weights=end - start, minlength=net.n_edges)
        du = self.node_distance[net.u]
        dv = self.node_distance[net.v]
        out = net.edges[["u", "v", "length", "geometry"]].copy()
        out["dist_u"] = du
        out["dist_v"] = dv
        out["covered_from_u"] = np.clip(radius - du, 0.0, net.length)
        out["covered_from_v"] = np.clip(radius - dv, 0.0, net.length)
        out["covered_length"] = np.minimum(covered, net.length)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["covered_share"] = np.where(net.length > 0, out["covered_length"] / net.length, 1.0)
        return out

    def covered_intervals(self, radius: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Covered intervals along edges as ``(edge, start, end)`` arrays, merged (disjoint) and sorted.

        Positions are metres from each edge's ``u`` end.
        """
        radius = self._radius(radius)
        net, s = self.network, self.seeds
        m = np.arange(net.n_edges)
        du = self.node_distance[net.u]
        dv = self.node_distance[net.v]
        a = du <= radius
        b = dv <= radius
        c = s.cost <= radius
        slack = radius - s.cost[c]
        edge = np.concatenate([m[a], m[b], s.edge[c]])
        start = np.concatenate([np.zeros(a.sum()), np.maximum(0, net.length[b] - (radius - dv[b])), np.maximum(0, s.start[c] - slack)])
        end = np.concatenate([np.minimum(net.length[a], radius - du[a]), net.length[b], np.minimum(net.length[s.edge[c]], s.end[c] + slack)])
        return _merge_intervals(edge, start, end)

    def _radius(self, radius):
        if radius is None:
            radius = self.cutoff
        if not np.isfinite(radius) or radius < 0:
            raise InputError(f"radius must be a finite distance >= 0 in metres, got {radius}.")
        if radius > self.cutoff:
            raise InputError(
                f"radius {radius} m is beyond the cut-off {self.cutoff} m of this distance field; "
                "build it with a larger cutoff."
            )
        return float(radius)


def distance_field(
    network: Network, sources: Layer, cutoff: float | None = None, *, name: str = "sources", reach: float = TOUCH
) -> DistanceField:
    """One multi-source shortest-path pass from every facility in ``sources``.

    Parameters
    ----------
    network
        The walking network.
    sources
        Facilities: points, lines or polygons in any CRS. May be empty (every distance is ``inf``).
    cutoff
        Stop searching at this distance (metres); ``None`` searches the whole network.
    reach
        A polygon or line facility is reached from every point of an edge within this many metres
        of it, at no cost (default 1 mm: where they meet). Rules use
        :data:`urbancover.settings.polygon_reach_m`, since streets are mapped as centre lines and
        park outlines stop at the kerb.

    Returns
    -------
    DistanceField

    Notes
    -----
    Cost O((V + E + K) log(V + K)) for V nodes, E edges, K facility seeds; with a cut-off only the
    part of the network within it is visited. Memory O(V + E + K).
    """
    cutoff = _check_cutoff(cutoff)
    s, geoms = seeds(network, sources, name=name, reach=reach)
    n = network.n_nodes
    if len(s) == 0:
        dist = np.full(n, np.inf)
        node_seed = np.full(n, -1, dtype=np.int64)
    else:
        graph = _with_virtual_sources(network, s)
        dist, _, origin = dijkstra(
            graph, directed=True, indices=np.arange(n, n + len(s)), min_only=True,
            limit=cutoff, return_predecessors=True,
        )
        dist = dist[:n]
        node_seed = origin[:n].astype(np.int64) - n
        node_seed[~np.isfinite(dist)] = -1
    poly_rows = np.flatnonzero(shapely.get_dimensions(geoms) == 2)
    return DistanceField(network, s, dist, node_seed, cutoff, geoms[poly_rows], poly_rows)


def _check_cutoff(cutoff) -> float:
    if cutoff is None:
        return np.inf
    try:
        cutoff = float(cutoff)
    except (TypeError, ValueError) as err:
        raise InputError(f"cutoff must be a distance in metres, got {cutoff!r}.") from err
    if np.isnan(cutoff) or cutoff < 0:
        raise InputError(f"cutoff must be >= 0 metres (or None for no cut-off), got {cutoff}.")
    return cutoff


def _with_virtual_sources(network: Network, s: Seeds) -> sp.csr_matrix:
    """The network's CSR matrix with one extra row (virtual node) per seed, joined to the seed
    edge's two ends at the seed's cost plus the run along the edge. O(E + K) to assemble."""
    base = network.csr
    n, k = network.n_nodes, len(s)
    u, v = network.u[s.edge], network.v[s.edge]
    # offsets come from line_locate_point and may pass the stored length by rounding: clip, so no
    # weight is ever negative
    length = network.length[s.edge]
    to_u = s.cost + np.clip(s.start, 0.0, length)
    to_v = s.cost + np.clip(length - s.end, 0.0, length)
    loop = u == v
    to_u = np.where(loop, np.minimum(to_u, to_v), to_u)
    counts = np.where(loop, 1, 2)
    cols = np.column_stack([u, v]).ravel()[np.column_stack([np.ones(k, bool), ~loop]).ravel()]
    vals = np.column_stack([to_u, to_v]).ravel()[np.column_stack([np.ones(k, bool), ~loop]).ravel()]
    indptr = np.concatenate([base.indptr, base.indptr[-1] + np.cumsum(counts)])
    indices = np.concatenate([base.indices, cols.astype(base.indices.dtype)])
    data = np.concatenate([base.data, vals])
    return sp.csr_matrix((data, indices, indptr), shape=(n + k, n + k))


def network_distance(
    network: Network, sources: Layer, targets: Layer, cutoff: float | None = None, *, return_source: bool = False
):
    """Shortest walking distance (metres) from each target to its nearest source.

    Parameters
    ----------
    network
        From :func:`urbancover.walk_network`.
    sources, targets
        GeoDataFrame or GeoSeries in any CRS (reprojected to the network's). Sources may be points,
        lines or polygons; targets are points (other geometries are snapped by their nearest point).
    cutoff
        Distances beyond it are ``inf``; ``None`` for no limit.
    return_source
        Also return the position (0-based, in ``sources``) of each target's nearest source, -1 if none.

    Returns
    -------
    numpy.ndarray
        One float per target: access leg of the target + path along the network between the two
        projections (the direct run when both lie on one edge) + access leg of the source;
        ``numpy.inf`` if unreachable (other component, unsnappable) or beyond ``cutoff``.

    Notes
    -----
    One Dijkstra pass for all sources: O((V + E + K) log(V + K)) plus O(T log E) to snap T targets.

    Examples
    --------
    >>> net = urbancover.walk_network("data/sample/shenzhen_longgang.osm.bz2")
    >>> osm = urbancover.read_osm("data/sample/shenzhen_longgang.osm.bz2")
    >>> stops = osm.features[osm.features.highway == "bus_stop"]
    >>> d = urbancover.network_distance(net, stops, net.nodes, cutoff=500)
    """
    field = distance_field(network, sources, cutoff)
    return field.at(targets, return_source=return_source)


def nearest_facility(network: Network, sources: Layer, targets: Layer, cutoff: float | None = None) -> gpd.GeoDataFrame:
    """The targets with two columns added: ``distance`` (metres, inf if none) and ``facility``
    (index label of the nearest source, missing if none)."""
    require_crs(targets, "targets")
    dist, src = network_distance(network, sources, targets, cutoff, return_source=True)
    out = targets.copy() if isinstance(targets, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=targets)
    out["distance"] = dist
    labels = np.asarray(sources.index, dtype=object)
    facility = np.full(len(src), None, dtype=object)  # (no sources at all: nothing to index)
    facility[src >= 0] = labels[src[src >= 0]]
    out["facility"] = facility
    return out


def edge_coverage(network: Network, sources: Layer, radius: float) -> gpd.GeoDataFrame:
    """Covered length of every edge within ``radius`` of a source (see :meth:`DistanceField.edge_coverage`)."""
    return distance_field(network, sources, radius).edge_coverage(radius)


def straight_line_distance(
    sources: Layer, targets: Layer, *, crs: pyproj.CRS | None = None, cutoff: float | None = None
) -> np.ndarray:
    """Straight-line (buffer) distance in metres from each target to the nearest source.

    Measured in ``crs`` (default the UTM zone of the targets); ``inf`` beyond ``cutoff`` or when
    there are no sources. This is how plans are usually checked; compare it with
    :func:`network_distance`. O(T log K) with an STRtree.
    """
    require_crs(targets, "targets")
    require_crs(sources, "sources")
    cutoff = _check_cutoff(cutoff)
    if crs is None:
        crs = utm_crs_for(targets) if len(targets) else utm_crs_for(sources)
    tg = _as_geometry(targets, crs, "targets")
    sg = _as_geometry(sources, crs, "sources")
    sg = sg[~(shapely.is_missing(sg) | shapely.is_empty(sg))]
    out = np.full(len(tg), np.inf)
    ok = ~(shapely.is_missing(tg) | shapely.is_empty(tg))
    if len(sg) == 0 or not ok.any():
        return out
    kw = {} if np.isinf(cutoff) else {"max_distance": cutoff}
    (ti, _), d = shapely.STRtree(sg).query_nearest(tg[ok], return_distance=True, all_matches=False, **kw)
    rows = np.flatnonzero(ok)[ti]
    out[rows] = d
    return out


def straight_line_intervals(network: Network, sources: Layer, radius: float):
    """Parts of edges within ``radius`` straight-line metres of a source, as disjoint sorted
    intervals ``(edge, start, end)`` (buffers with 32 segments per quarter circle)."""
    radius = _check_cutoff(radius)
    geoms = _as_geometry(sources, network.crs, "sources")
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    edge, start, end, _ = parts_inside(network, shapely.buffer(geoms, radius, quad_segs=32))
    return _merge_intervals(edge, start, end)
