"""Distance fields: one multi-source pass from every facility of a category.

A point is projected orthogonally on its nearest edge (:func:`urbancover.network.snap.snap_points`).
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
import shapely
from scipy.sparse.csgraph import dijkstra

from urbancover.core.errors import InputError
from urbancover.core.intervals import merge, ranges
from urbancover.core.settings import Settings
from urbancover.engine.graph import check_cutoff, seed_arcs, with_virtual_sources
from urbancover.io.crs import require_crs
from urbancover.network.snap import TOUCH, Layer, Seeds, Snapped, places, seeds, snap_places
from urbancover.network.walk import Network


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
    #: The settings its facilities were snapped with, used to snap the places asked for (:meth:`at`).
    settings: Settings | None = None

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
        O(T) for T targets (snapping with the compiled kernel; points reprojected as coordinate
        arrays, see :func:`urbancover.network.snap.places`) plus O(T + S_e) for same-edge facilities.
        """
        where = places(targets, self.network.crs, name)
        snapped = snap_places(self.network, where, name=name, settings=self.settings)
        # geometries only matter inside polygon facilities (made from coordinates if needed)
        return self.at_snapped(snapped, geoms=where.geometries, return_source=return_source)

    def at_snapped(self, snapped: Snapped, *, geoms=None, return_source: bool = False):
        """As :meth:`at`, for places already snapped with :func:`urbancover.network.snap.snap_points`.

        ``geoms``: the places' geometries, or a function returning them (called only when the field
        has polygon facilities, which serve the places inside them at distance 0).
        """
        s = self.seeds
        n = len(snapped)
        dist = np.full(n, np.inf)
        seed = np.full(n, -1, dtype=np.int64)
        rows = np.flatnonzero(snapped.edge >= 0)
        best, best_seed = self.along(snapped.edge[rows], snapped.offset[rows], return_seed=True)
        total = snapped.access[rows] + best
        within = total <= self.cutoff
        dist[rows[within]] = total[within]
        seed[rows[within]] = best_seed[within]
        source = np.full(n, -1, dtype=np.int64)
        source[seed >= 0] = s.source[seed[seed >= 0]]
        if geoms is not None and len(self._polygons):
            # a place inside (or on) a polygon facility is served by it at distance 0
            geoms = geoms() if callable(geoms) else geoms
            ti, pi = shapely.STRtree(self._polygons).query(geoms, predicate="intersects")
            dist[ti] = 0.0
            source[ti] = self._polygon_rows[pi]
        return (dist, source) if return_source else dist

    def along(self, edge: np.ndarray, offset: np.ndarray, *, return_seed: bool = False):
        """Network distance from points on edges to the nearest facility (no access leg).

        ``offset`` is metres from each edge's ``u`` end. The walk leaves the edge through either end,
        or runs along it to a facility that touches the same edge.
        Exact up to the field's cut-off; callers compare with their threshold.

        With ``return_seed``, also the seed (position in :attr:`seeds`) that gives each distance, -1
        if none. O(P + S_e) for P points and S_e seeds on their edges.
        """
        net, s = self.network, self.seeds
        e = np.asarray(edge, dtype=np.int64)
        t = np.asarray(offset, dtype=float)
        du = self.node_distance[net.u[e]] + t
        dv = self.node_distance[net.v[e]] + (net.length[e] - t)
        best = np.minimum(du, dv)
        best_seed = np.where(du <= dv, self.node_seed[net.u[e]], self.node_seed[net.v[e]])
        if len(s) and len(e):
            order = np.argsort(s.edge, kind="stable")
            sedge = s.edge[order]
            lo = np.searchsorted(sedge, e, side="left")
            cnt = np.searchsorted(sedge, e, side="right") - lo
            if cnt.any():
                tgt = np.repeat(np.arange(len(e)), cnt)
                pos = order[np.repeat(lo, cnt) + ranges(cnt)]
                run = s.cost[pos] + np.maximum(0.0, np.maximum(s.start[pos] - t[tgt], t[tgt] - s.end[pos]))
                better = np.full(len(e), np.inf)
                np.minimum.at(better, tgt, run)
                improved = better < best
                if improved.any():
                    hit = run == better[tgt]
                    first_hit = np.full(len(e), -1, dtype=np.int64)
                    sel = np.flatnonzero(hit)[::-1]
                    first_hit[tgt[sel]] = pos[sel]
                    best = np.where(improved, better, best)
                    best_seed = np.where(improved, first_hit, best_seed)
        return (best, best_seed) if return_seed else best

    def edge_coverage(self, threshold: float | None = None) -> gpd.GeoDataFrame:
        """Covered length of every edge within ``threshold`` (default: the cut-off).

        Returns the network's edges (``u``, ``v``, ``length``, geometry) with ``covered_from_u`` and
        ``covered_from_v`` (metres covered from each end), ``covered_length`` (the union of those and
        of facilities on the edge itself), ``covered_share``, and ``dist_u``/``dist_v`` (node distances).
        A partly covered edge counts its covered metres, it is not rounded to a node.
        """
        threshold = self._threshold(threshold)
        edge, start, end = self.covered_intervals(threshold)
        net = self.network
        covered = np.bincount(edge, weights=end - start, minlength=net.n_edges)
        du = self.node_distance[net.u]
        dv = self.node_distance[net.v]
        out = gpd.GeoDataFrame({"u": net.u, "v": net.v, "length": net.length}, geometry=net.geometry, crs=net.crs)
        out["dist_u"] = du
        out["dist_v"] = dv
        out["covered_from_u"] = np.clip(threshold - du, 0.0, net.length)
        out["covered_from_v"] = np.clip(threshold - dv, 0.0, net.length)
        out["covered_length"] = np.minimum(covered, net.length)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["covered_share"] = np.where(net.length > 0, out["covered_length"] / net.length, 1.0)
        return out

    def covered_intervals(self, threshold: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Covered intervals along edges as ``(edge, start, end)`` arrays, merged (disjoint) and sorted.

        Positions are metres from each edge's ``u`` end.
        """
        threshold = self._threshold(threshold)
        net, s = self.network, self.seeds
        m = np.arange(net.n_edges)
        du = self.node_distance[net.u]
        dv = self.node_distance[net.v]
        a = du <= threshold
        b = dv <= threshold
        c = s.cost <= threshold
        slack = threshold - s.cost[c]
        edge = np.concatenate([m[a], m[b], s.edge[c]])
        start = np.concatenate([
            np.zeros(a.sum()), np.maximum(0, net.length[b] - (threshold - dv[b])), np.maximum(0, s.start[c] - slack),
        ])
        end = np.concatenate([
            np.minimum(net.length[a], threshold - du[a]), net.length[b], np.minimum(net.length[s.edge[c]], s.end[c] + slack),
        ])
        return merge(edge, start, end)

    def _threshold(self, threshold):
        if threshold is None:
            threshold = self.cutoff
        if not np.isfinite(threshold) or threshold < 0:
            raise InputError(f"threshold must be a finite distance >= 0 in metres, got {threshold}.")
        if threshold > self.cutoff:
            raise InputError(
                f"threshold {threshold} m is beyond the cut-off {self.cutoff} m of this distance field; "
                "build it with a larger cutoff."
            )
        return float(threshold)


def distance_field(
    network: Network, sources: Layer, cutoff: float | None = None, *, name: str = "sources", reach: float = TOUCH,
    settings: Settings | None = None,
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
        :data:`urbancover.core.settings.polygon_reach_m`, since streets are mapped as centre lines and
        park outlines stop at the kerb.
    settings
        The :class:`~urbancover.core.settings.Settings` to snap with (kept by the field for
        :meth:`DistanceField.at`); default :func:`urbancover.core.settings.current`.

    Returns
    -------
    DistanceField

    Notes
    -----
    Cost O((V + E + K) log(V + K)) for V nodes, E edges, K facility seeds; with a cut-off only the
    part of the network within it is visited. Memory O(V + E + K).
    """
    cutoff = check_cutoff(cutoff)
    s, geoms = seeds(network, sources, name=name, reach=reach, settings=settings)
    n = network.n_nodes
    if len(s) == 0:
        dist = np.full(n, np.inf)
        node_seed = np.full(n, -1, dtype=np.int32)
    else:
        graph = with_virtual_sources(network.csr, *seed_arcs(network, s))
        dist, _, origin = dijkstra(
            graph, directed=True, indices=np.arange(n, n + len(s)), min_only=True,
            limit=cutoff, return_predecessors=True,
        )
        dist = dist[:n]
        node_seed = origin[:n].astype(np.int32) - np.int32(n)  # (int32: 4 bytes a node, a field per facility set)
        node_seed[~np.isfinite(dist)] = -1
    poly_rows = np.flatnonzero(shapely.get_dimensions(geoms) == 2)
    return DistanceField(network, s, dist, node_seed, cutoff, geoms[poly_rows], poly_rows, settings)


def network_distance(
    network: Network, sources: Layer, targets: Layer, cutoff: float | None = None, *, return_source: bool = False,
    settings: Settings | None = None,
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
    settings
        The :class:`~urbancover.core.settings.Settings` to snap with (``max_snap_distance``,
        ``island_snap_m``); default :func:`urbancover.core.settings.current`.

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
    field = distance_field(network, sources, cutoff, settings=settings)
    return field.at(targets, return_source=return_source)


def nearest_facility(network: Network, sources: Layer, targets: Layer, cutoff: float | None = None, *,
                     settings: Settings | None = None) -> gpd.GeoDataFrame:
    """The targets with two columns added: ``distance`` (metres, inf if none) and ``facility``
    (index label of the nearest source, missing if none).
    """
    require_crs(targets, "targets")
    dist, src = network_distance(network, sources, targets, cutoff, return_source=True, settings=settings)
    out = targets.copy() if isinstance(targets, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=targets)
    out["distance"] = dist
    labels = np.asarray(sources.index, dtype=object)
    facility = np.full(len(src), None, dtype=object)  # (no sources at all: nothing to index)
    facility[src >= 0] = labels[src[src >= 0]]
    out["facility"] = facility
    return out


def edge_coverage(network: Network, sources: Layer, threshold: float, *, settings: Settings | None = None) -> gpd.GeoDataFrame:
    """Covered length of every edge within ``threshold`` of a source (see :meth:`DistanceField.edge_coverage`)."""
    return distance_field(network, sources, threshold, settings=settings).edge_coverage(threshold)


