"""Siting: the fewest new facilities that close a radius rule's gap, and what each one buys.

For a ``radius`` rule ("a bus stop within 500 m of every home", "a public toilet within 300 m along
main streets") :func:`site_facilities` proposes new facility sites on the walking network, so a
district can say *4 new toilets, here, bring coverage of main streets from 71 % to 100 %*.

1. **Candidate sites** (:func:`candidate_sites`): points along the walkable streets, at every
   junction and at most ``spacing`` metres apart along every edge, optionally only near a user
   layer (vacant lots, public land, the demonstration zone); or the user's own candidate points.
2. **Coverage sets** (:func:`coverage_matrix`, :func:`street_coverage`): the demand each candidate
   would newly serve within the threshold, by the distance of :mod:`urbancover.engine` (access
   legs + shortest path along the streets; the direct run when both lie on one edge). Demand the
   existing facilities already serve is removed first: existing facilities count as built. Each
   candidate is searched once, with a cut-off at the threshold, in the candidate's straight-line
   neighbourhood only (network distance is never shorter than the straight line), never one search
   per (candidate, demand) pair.
3. **Choice** (:func:`solve_covering`): Location Set Covering (the fewest sites reaching a target
   share, default the rule's) or Maximal Covering (the best ``k`` sites), weighted by residents (or
   street metres). A lazy greedy with its approximation guarantee by default; an exact integer
   programme when asked (HiGHS through :func:`scipy.optimize.milp`, or CBC through PuLP), with a
   time limit. A site that adds no coverage is never proposed.

Street demand (the toilet rules) is measured exactly: the uncovered street intervals are cut into
pieces at every point where some candidate's reach begins or ends, so every piece is served by a
fixed set of candidates and weighs its length in metres.

Two tolerances keep a proposal true when the rule is measured again after the sites are built (their
coordinates pass through a reprojection): a candidate serves a place only with :data:`SPARE` metres
to spare, and street pieces shorter than :data:`SLIVER` metres are ignored.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra

from urbancover import intervals
from urbancover.engine import DistanceField, distance_field
from urbancover.errors import InputError
from urbancover.intervals import ranges
from urbancover.io.osm import OSMData
from urbancover.network import Network, _as_geometry, line_substrings, snap_geometries

__all__ = [
    "Selection",
    "SitingResult",
    "add_sites",
    "candidate_sites",
    "coverage_matrix",
    "facility_tags",
    "propose_sites",
    "site_facilities",
    "solve_covering",
    "street_coverage",
]

#: metres: a candidate serves a place only when it is at least this much within the threshold, so
#: the re-measured rule agrees whatever rounding the new sites' coordinates go through.
SPARE = 1e-6
#: metres: uncovered street pieces shorter than this are ignored (floating-point slivers).
SLIVER = 1e-5
#: cells of the dense distance block one Dijkstra call returns (bounds memory to ~32 MB).
CHUNK_CELLS = 1 << 22
#: products of the dominance test (sum over elements of the squared number of sites serving them)
#: beyond which the exact solver gets every site instead of the non-dominated ones.
DOMINANCE_WORK = 200_000_000

Intervals = tuple[np.ndarray, np.ndarray, np.ndarray]


# -- candidate sites -----------------------------------------------------------------------------
def candidate_sites(
    network: Network, spacing: float = 50.0, *, within=None, near: float = 0.0
) -> gpd.GeoDataFrame:
    """Candidate facility sites along the walkable streets.

    One site at every node (junction, corner, dead end) and, along every edge of length L, the
    ``ceil(L / spacing) - 1`` points that cut it into equal parts no longer than ``spacing``.

    Parameters
    ----------
    network
        The walking network.
    spacing
        Largest distance between two consecutive sites along a street (metres, > 0).
    within
        Optional GeoDataFrame/GeoSeries (any CRS, any geometry): keep only the sites within
        ``near`` metres of it: vacant lots, public land, the demonstration zone.
    near
        Metres (>= 0) a site may lie from ``within`` (a lot usually sits back from the street's
        centreline; 0 keeps the sites inside or on it).

    Returns
    -------
    GeoDataFrame
        Points in the network's CRS with ``edge``, ``offset`` (metres from the edge's ``u`` end),
        ``access`` (0: the site is on the street), ``node`` (network node, -1 between nodes) and the
        edge's ``highway`` and ``name`` when the network has them.

    Notes
    -----
    Vectorised (one ``line_interpolate_point`` call); O(V + L_total / spacing) sites, plus
    O(S log W) for the ``within`` query.
    """
    spacing = _number(spacing, "spacing", positive=True)
    near = _number(near, "near")
    m = network.n_edges
    length = network.length
    # one site per node, on an edge that ends there
    ends_node = np.concatenate([network.u, network.v])
    ends_edge = np.tile(np.arange(m), 2)
    ends_off = np.concatenate([np.zeros(m), length])
    node, first = np.unique(ends_node, return_index=True)
    # sites inside every edge: cut it into ceil(L / spacing) equal parts
    parts = np.maximum(1, np.ceil(length / spacing - 1e-9)).astype(np.int64)
    inner_edge = np.repeat(np.arange(m), parts - 1)
    inner_off = length[inner_edge] * (ranges(parts - 1) + 1) / parts[inner_edge]
    edge = np.concatenate([ends_edge[first], inner_edge])
    offset = np.concatenate([ends_off[first], inner_off])
    cols = {
        "edge": edge,
        "offset": offset,
        "access": np.zeros(len(edge)),
        "node": np.concatenate([node, np.full(len(inner_edge), -1)]),
    }
    for c in ("highway", "name"):
        if c in network.edges:
            cols[c] = network.edges[c].to_numpy()[edge]
    geom = shapely.line_interpolate_point(network.geometry[edge], offset)
    out = gpd.GeoDataFrame(cols, geometry=geom, crs=network.crs)
    if within is not None:
        out = out[_near_layer(out.geometry.values, within, network, near)].reset_index(drop=True)
    return out


def _near_layer(points: np.ndarray, layer, network: Network, near: float) -> np.ndarray:
    """Mask of the points within ``near`` metres of any geometry of ``layer``."""
    geoms = _as_geometry(layer, network.crs, "within")
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    keep = np.zeros(len(points), dtype=bool)
    if len(geoms) == 0 or len(points) == 0:
        return keep
    tree = shapely.STRtree(geoms)
    if near > 0:
        hit, _ = tree.query(points, predicate="dwithin", distance=near)
    else:
        hit, _ = tree.query(points, predicate="intersects")
    keep[hit] = True
    return keep


@dataclass(frozen=True, eq=False)
class _Places:
    """Places on the network: edge (-1: not snapped), offset, access leg and their geometry."""

    edge: np.ndarray
    offset: np.ndarray
    access: np.ndarray
    geometry: np.ndarray

    def __len__(self) -> int:
        return len(self.edge)

    def take(self, rows: np.ndarray) -> _Places:
        return _Places(self.edge[rows], self.offset[rows], self.access[rows], self.geometry[rows])


def _places(network: Network, layer, name: str) -> _Places:
    """Snap a layer (points, or any geometry by its point nearest to the streets) quietly: the
    caller counts what could not be snapped."""
    geoms = _as_geometry(layer, network.crs, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        s = snap_geometries(network, geoms, name=name)
    return _Places(s.edge, s.offset, s.access, geoms)


def _site_places(network: Network, sites: gpd.GeoDataFrame) -> _Places:
    """Places of sites made by :func:`candidate_sites` on this network (no snapping needed)."""
    return _Places(
        sites["edge"].to_numpy(dtype=np.int64), sites["offset"].to_numpy(dtype=float),
        sites["access"].to_numpy(dtype=float), sites.geometry.to_numpy(),
    )


# -- reach: one cut-off search per source ---------------------------------------------------------
def _incidence(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(order, indptr): rows ``order[indptr[k]:indptr[k+1]]`` of ``keys`` equal ``k``."""
    order = np.argsort(keys, kind="stable")
    indptr = np.searchsorted(keys[order], np.arange(n + 1))
    return order, indptr


def _reach(network: Network, sources: _Places, limit: float):
    """Network distance from each source to every node within ``limit``, chunk by chunk.

    Yields ``(source, node, distance)`` arrays (positions in ``sources`` and in the network). Each
    source is a virtual node joined to the ends of its edge (as in
    :func:`urbancover.engine.distance_field`), searched with a cut-off at ``limit``, over the
    nodes within ``limit`` straight-line metres of some source only: a walk is never shorter than
    the straight line, so no other node can be reached.

    Notes
    -----
    O(S (V_r + E_r) log V_r) for S sources whose straight-line neighbourhoods hold V_r nodes and
    E_r edges, plus O(chunk x V_r) per chunk to read the dense block scipy returns.
    """
    ok = np.flatnonzero((sources.edge >= 0) & (sources.access <= limit))
    if len(ok) == 0:
        return
    net = network
    node_pts = net.nodes.geometry.values
    ni, _ = shapely.STRtree(sources.geometry[ok]).query(node_pts, predicate="dwithin", distance=limit)
    keep = np.zeros(net.n_nodes, dtype=bool)
    keep[ni] = True
    sub = np.flatnonzero(keep)
    new_id = np.full(net.n_nodes, -1, dtype=np.int64)
    new_id[sub] = np.arange(len(sub))
    ns = len(sub)
    # the subgraph: edges with both ends kept (self-loops never shorten a path)
    eu, ev = new_id[net.u], new_id[net.v]
    inside = (eu >= 0) & (ev >= 0) & (eu != ev)
    rows = np.concatenate([eu[inside], ev[inside]])
    cols = np.concatenate([ev[inside], eu[inside]])
    w = np.concatenate([net.length[inside], net.length[inside]])
    order = np.lexsort((w, cols, rows))
    rows, cols, w = rows[order], cols[order], w[order]
    first = np.r_[True, (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])] if len(rows) else np.zeros(0, bool)
    rows, cols, w = rows[first], cols[first], w[first]
    base_ptr = np.searchsorted(rows, np.arange(ns + 1))
    # virtual edges of every source: to the ends of its edge that are in the subgraph
    e = sources.edge[ok]
    su, sv = new_id[net.u[e]], new_id[net.v[e]]
    to_u = sources.access[ok] + sources.offset[ok]
    to_v = sources.access[ok] + (net.length[e] - sources.offset[ok])
    loop = su == sv
    to_u = np.where(loop, np.minimum(to_u, to_v), to_u)
    has_u, has_v = su >= 0, (sv >= 0) & ~loop
    # scipy returns a dense (chunk x (ns + chunk)) block: keep it within CHUNK_CELLS
    chunk = max(1, min(len(ok), 1024, CHUNK_CELLS // (ns + 1024)))
    for lo in range(0, len(ok), chunk):
        hi = min(len(ok), lo + chunk)
        k = hi - lo
        cu, cv = has_u[lo:hi], has_v[lo:hi]
        cnt = cu.astype(np.int64) + cv
        vcols = np.column_stack([su[lo:hi], sv[lo:hi]]).ravel()[np.column_stack([cu, cv]).ravel()]
        vvals = np.column_stack([to_u[lo:hi], to_v[lo:hi]]).ravel()[np.column_stack([cu, cv]).ravel()]
        indptr = np.concatenate([base_ptr, base_ptr[-1] + np.cumsum(cnt)])
        graph = sp.csr_matrix(
            (np.concatenate([w, vvals]), np.concatenate([cols, vcols]).astype(np.int32), indptr),
            shape=(ns + k, ns + k),
        )
        dist = dijkstra(graph, directed=True, indices=np.arange(ns, ns + k), limit=limit)[:, :ns]
        r, x = np.nonzero(np.isfinite(dist))
        yield ok[lo + r], sub[x], dist[r, x]


def _dedupe_min(i: np.ndarray, j: np.ndarray, d: np.ndarray, nj: int):
    """Keep the smallest distance of each (i, j) pair."""
    if len(i) == 0:
        return i, j, d
    key = i.astype(np.int64) * max(nj, 1) + j
    order = np.lexsort((d, key))
    key, i, j, d = key[order], i[order], j[order], d[order]
    first = np.r_[True, key[1:] != key[:-1]]
    return i[first], j[first], d[first]


def _pair_distances(network: Network, a: _Places, b: _Places, limit: float):
    """Every pair (i in ``a``, j in ``b``) at network distance <= ``limit``, with the distance.

    The search starts from the smaller of the two sets; a pair on one edge also gets its direct
    run along it. Returns ``(i, j, distance)`` with one row per pair.

    Notes
    -----
    One cut-off search per place of the smaller set (see :func:`_reach`), then the reached nodes
    are joined to the places of the other set on their edges: O(output) for that join.
    """
    swap = len(b) < len(a)
    src, dst = (b, a) if swap else (a, b)
    net = network
    parts_i, parts_j, parts_d = [], [], []
    okd = np.flatnonzero((dst.edge >= 0) & (dst.access <= limit))
    if len(okd) and len(src):
        de = dst.edge[okd]
        # each target place hangs off both ends of its edge
        inc_node = np.concatenate([net.u[de], net.v[de]])
        inc_dst = np.tile(okd, 2)
        inc_cost = np.concatenate([dst.offset[okd], net.length[de] - dst.offset[okd]]) + np.tile(dst.access[okd], 2)
        order, ptr = _incidence(inc_node, net.n_nodes)
        for s, x, d in _reach(net, src, limit):
            cnt = ptr[x + 1] - ptr[x]
            pos = order[np.repeat(ptr[x], cnt) + ranges(cnt)]
            total = np.repeat(d, cnt) + inc_cost[pos]
            good = total <= limit
            i, j, dd = _dedupe_min(np.repeat(s, cnt)[good], inc_dst[pos][good], total[good], len(dst))
            parts_i.append(i)
            parts_j.append(j)
            parts_d.append(dd)
        # places on one edge: the direct run along it
        oks = np.flatnonzero(src.edge >= 0)
        order_d = okd[np.argsort(dst.edge[okd], kind="stable")]
        sorted_edge = dst.edge[order_d]
        lo = np.searchsorted(sorted_edge, src.edge[oks], side="left")
        cnt = np.searchsorted(sorted_edge, src.edge[oks], side="right") - lo
        i = np.repeat(oks, cnt)
        j = order_d[np.repeat(lo, cnt) + ranges(cnt)]
        d = src.access[i] + np.abs(src.offset[i] - dst.offset[j]) + dst.access[j]
        good = d <= limit
        parts_i.append(i[good])
        parts_j.append(j[good])
        parts_d.append(d[good])
    if not parts_i:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    i, j, d = _dedupe_min(np.concatenate(parts_i), np.concatenate(parts_j), np.concatenate(parts_d), len(dst))
    return (j, i, d) if swap else (i, j, d)


def coverage_matrix(
    network: Network, candidates: gpd.GeoDataFrame, demand, radius: float, *, return_distance: bool = False
):
    """Which demand places each candidate site would serve within ``radius``.

    Parameters
    ----------
    network
        The walking network.
    candidates
        Sites: from :func:`candidate_sites` (placed by their ``edge``/``offset`` columns), or any
        GeoDataFrame of points (snapped like facilities: their access leg counts).
    demand
        GeoDataFrame/GeoSeries of places (points; other geometries by their point nearest to the
        streets), any CRS.
    radius
        Threshold in metres: a site serves a place at network distance <= ``radius - SPARE``.

    Returns
    -------
    scipy.sparse.csr_array
        Boolean, candidates x demand. With ``return_distance``, also the ``(i, j, distance)``
        arrays of the covered pairs.

    Notes
    -----
    One cut-off Dijkstra search per place of the smaller of the two sets, restricted to the nodes
    within ``radius`` straight-line metres of it: O(S (V_r + E_r) log V_r) for S searches over
    neighbourhoods of V_r nodes and E_r edges, plus O(pairs) to join places to reached nodes.
    """
    radius = _number(radius, "radius", positive=True)
    cand = _candidate_places(network, candidates)
    dem = _places(network, demand, "demand")
    i, j, d = _pair_distances(network, cand, dem, radius - SPARE)
    m = sp.csr_array((np.ones(len(i), dtype=bool), (i, j)), shape=(len(cand), len(dem)))
    return (m, (i, j, d)) if return_distance else m


def _candidate_places(network: Network, candidates: gpd.GeoDataFrame) -> _Places:
    if not isinstance(candidates, gpd.GeoDataFrame):
        raise InputError(
            f"candidates: expected a GeoDataFrame of sites (e.g. from candidate_sites), got {type(candidates).__name__}."
        )
    return _places(network, candidates, "candidates")


# -- street demand -------------------------------------------------------------------------------
def _street_reach(network: Network, sites: _Places, limit: float) -> tuple[np.ndarray, Intervals]:
    """The street intervals within ``limit`` of each site: ``(site, (edge, start, end))``, merged
    per (site, edge). Same search as :func:`_reach`; each reached node covers ``limit - d`` metres
    into every edge that ends there, and a site covers ``limit - access`` metres either way along
    its own edge."""
    net = network
    m = net.n_edges
    inc_node = np.concatenate([net.u, net.v])
    inc_edge = np.tile(np.arange(m), 2)
    inc_side = np.repeat([0, 1], m)
    order, ptr = _incidence(inc_node, net.n_nodes)
    parts = []
    for s, x, d in _reach(net, sites, limit):
        cnt = ptr[x + 1] - ptr[x]
        pos = order[np.repeat(ptr[x], cnt) + ranges(cnt)]
        e = inc_edge[pos]
        slack = np.repeat(limit - d, cnt)
        L = net.length[e]
        from_u = inc_side[pos] == 0
        start = np.where(from_u, 0.0, np.maximum(0.0, L - slack))
        end = np.where(from_u, np.minimum(L, slack), L)
        parts.append((np.repeat(s, cnt), e, start, end))
    own = np.flatnonzero((sites.edge >= 0) & (sites.access <= limit))
    if len(own):
        e = sites.edge[own]
        slack = limit - sites.access[own]
        parts.append((own, e, np.maximum(0.0, sites.offset[own] - slack), np.minimum(net.length[e], sites.offset[own] + slack)))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, (empty, np.zeros(0), np.zeros(0))
    site, edge, start, end = (np.concatenate(c) for c in zip(*parts))
    # merge per (site, edge): give each pair a dense rank and merge as if it were an edge
    key = site.astype(np.int64) * m + edge
    uniq, rank = np.unique(key, return_inverse=True)
    r, start, end = intervals.merge(rank, start, end)
    return uniq[r] // m, (uniq[r] % m, start, end)


def street_coverage(network: Network, candidates: gpd.GeoDataFrame, demand: Intervals, radius: float):
    """Which pieces of street demand each candidate site would serve within ``radius``.

    The demand intervals are cut wherever some candidate's reach begins or ends, so each piece is
    served by a fixed set of candidates.

    Parameters
    ----------
    network
        The walking network.
    candidates
        Sites, as for :func:`coverage_matrix`.
    demand
        Disjoint street intervals ``(edge, start, end)`` (metres from each edge's ``u`` end), e.g.
        from :meth:`urbancover.context.Context.street_intervals`.
    radius
        Threshold in metres (a piece is served when all of it is within ``radius - SPARE``).

    Returns
    -------
    (scipy.sparse.csr_array, (edge, start, end))
        Boolean candidates x pieces, and the pieces (only those some candidate serves, and no
        shorter than :data:`SLIVER`).

    Notes
    -----
    The searches of :func:`coverage_matrix` (one per candidate), then O(I log I) for the I
    (candidate, edge) intervals they reach.
    """
    radius = _number(radius, "radius", positive=True)
    cand = _candidate_places(network, candidates)
    return _street_matrix(network, cand, demand, radius - SPARE)


def _street_matrix(network: Network, cand: _Places, demand: Intervals, limit: float):
    site, reach = _street_reach(network, cand, limit)
    ai, s, t = intervals.intersect(reach, demand, return_index=True)
    c, e = site[ai], reach[0][ai]
    # one line for all edges: edge e occupies [base[e], base[e] + length[e]]
    base = np.concatenate([[0.0], np.cumsum(network.length + 1.0)])
    gs, gt = base[e] + s, base[e] + t
    bps = np.unique(np.concatenate([gs, gt]))
    i0 = np.searchsorted(bps, gs)
    cnt = np.searchsorted(bps, gt) - i0
    piece = np.repeat(i0, cnt) + ranges(cnt)
    owner = np.repeat(c, cnt)
    used, col = np.unique(piece, return_inverse=True)
    p_len = bps[used + 1] - bps[used]
    p_edge = np.searchsorted(base, bps[used], side="right") - 1
    p_start = bps[used] - base[p_edge]
    long_enough = p_len > SLIVER
    keep_cols = np.flatnonzero(long_enough)
    new_col = np.full(len(used), -1)
    new_col[keep_cols] = np.arange(len(keep_cols))
    col = new_col[col]
    good = col >= 0
    matrix = sp.csr_array(
        (np.ones(int(good.sum()), dtype=bool), (owner[good], col[good])), shape=(len(cand), len(keep_cols))
    )
    pieces = (p_edge[keep_cols], p_start[keep_cols], p_start[keep_cols] + p_len[keep_cols])
    return matrix, pieces


# -- choosing sites ------------------------------------------------------------------------------
@dataclass
class Selection:
    """Sites chosen by :func:`solve_covering`, in the order that serves the most first.

    Attributes
    ----------
    sites : ndarray
        Rows of the coverage matrix chosen, ordered by marginal gain (greedy order).
    gains : ndarray
        Weight each site newly serves, given the sites before it (all > 0).
    covered : float
        Total weight served by the sites.
    problem : str
        ``"LSCP"`` (fewest sites reaching ``goal``) or ``"MCLP"`` (best ``k`` sites).
    method : str
        ``"greedy"`` or ``"exact"``.
    optimal : bool or None
        ``True`` when the solver proved optimality; ``False`` when it stopped at the time limit;
        ``None`` for the greedy.
    min_sites_bound : int or None
        LSCP: no choice reaching the goal has fewer sites (a proof from the greedy's gains, or
        the exact optimum).
    max_covered_bound : float or None
        MCLP: no ``k`` sites serve more weight than this.
    guarantee : str
        The approximation guarantee in words.
    status : str
        What the solver said.
    """

    sites: np.ndarray
    gains: np.ndarray
    covered: float
    problem: str
    method: str
    optimal: bool | None
    min_sites_bound: int | None = None
    max_covered_bound: float | None = None
    guarantee: str = ""
    status: str = ""


def solve_covering(
    matrix,
    weights=None,
    *,
    goal: float | None = None,
    k: int | None = None,
    method: str = "greedy",
    solver: str = "highs",
    time_limit: float = 60.0,
) -> Selection:
    """Choose sites (rows of ``matrix``) that cover weighted elements (its columns).

    Parameters
    ----------
    matrix
        Boolean candidates x elements (scipy sparse or dense): ``matrix[c, e]`` when site ``c``
        serves element ``e``.
    weights
        Weight of each element (residents, metres; default 1 each), all >= 0.
    goal
        Location Set Covering: the weight to reach with the fewest sites. Default (and with ``k``
        None): everything some site covers.
    k
        Maximal Covering: the number of sites; the best ``k`` (fewer when fewer already cover
        all that can be covered). Give ``goal`` or ``k``, not both.
    method
        ``"greedy"``: repeatedly the site serving the most remaining weight (lazy evaluation with a
        heap). Its guarantee: MCLP serves at least ``1 - (1 - 1/k)^k`` (> 1 - 1/e = 63.2 %) of the
        best ``k`` sites; LSCP uses at most ``1 + ln(G / r)`` times the fewest sites, where ``G``
        is the goal and ``r`` what remained before the last site (Wolsey 1982), and at most
        ``H(largest set)`` times when all weights are equal and the goal is every coverable
        element (Johnson 1974). The result also carries an a-posteriori bound on the optimum from
        the greedy's own gains (``min_sites_bound`` / ``max_covered_bound``).
        ``"exact"``: the integer programme, after removing dominated sites and merging elements
        served by the same sites, warm-started (CBC) with the greedy.
    solver
        For ``"exact"``: ``"highs"`` (:func:`scipy.optimize.milp`, no extra dependency) or ``"cbc"``
        (PuLP with CBC: ``pip install pulp[cbc]``).
    time_limit
        Seconds the exact solver may run; then the best solution found is returned with
        ``optimal=False`` (never worse than the greedy).

    Returns
    -------
    Selection

    Notes
    -----
    Greedy: O(nnz log C) in practice (each site's gain is recomputed only when it reaches the top of
    the heap). Exact: NP-hard in general; set-cover instances of a district (thousands of sites) take
    seconds. Reduction: O(sum over elements of (sites serving it)^2) for the dominance test.
    """
    a = sp.csr_array(matrix, dtype=bool)
    a.sum_duplicates()
    a.sort_indices()
    n_c, n_e = a.shape
    w = np.ones(n_e) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (n_e,) or not np.isfinite(w).all() or (w < 0).any():
        raise InputError(f"weights: need {n_e} finite weights >= 0 (one per column of the matrix), got shape {w.shape}.")
    if method not in ("greedy", "exact"):
        raise InputError(f"method must be 'greedy' or 'exact', not {method!r}.")
    if solver not in ("highs", "cbc"):
        raise InputError(f"solver must be 'highs' (scipy) or 'cbc' (PuLP), not {solver!r}.")
    time_limit = _number(time_limit, "time_limit", positive=True)
    coverable = float(w[np.asarray(a.sum(axis=0)).ravel() > 0].sum())
    tol = 1e-9 * max(float(w.sum()), 1e-300)
    if goal is not None and k is not None:
        raise InputError("give either goal (fewest sites reaching it) or k (best k sites), not both.")
    if k is not None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InputError(f"k must be a whole number of sites >= 1, got {k!r}.")
    else:
        goal = coverable if goal is None else float(goal)
        if not np.isfinite(goal) or goal < 0:
            raise InputError(f"goal must be a weight >= 0, got {goal}.")
        if goal > coverable + tol:
            raise InputError(
                f"goal {goal:g} is more than all candidate sites together serve ({coverable:g}); "
                "lower it, or add candidate sites."
            )
    greedy = _greedy(a, w, goal=goal, k=k, tol=tol, coverable=coverable)
    if method == "greedy":
        return greedy
    return _exact(a, w, greedy, goal=goal, k=k, tol=tol, solver=solver, time_limit=time_limit)


def _greedy(a: sp.csr_array, w: np.ndarray, *, goal, k, tol, coverable) -> Selection:
    indptr, indices = a.indptr, a.indices
    covered = np.zeros(a.shape[1], dtype=bool)
    gain0 = a.astype(float) @ w
    heap = [(-g, c) for c, g in enumerate(gain0) if g > 0]
    heapq.heapify(heap)

    def best():
        while heap:
            _, c = heapq.heappop(heap)
            cols = indices[indptr[c]:indptr[c + 1]]
            g = float(w[cols[~covered[cols]]].sum())
            if g <= 0:
                continue
            if not heap or g >= -heap[0][0] * (1 - 1e-12):
                return c, g
            heapq.heappush(heap, (-g, c))
        return None

    chosen, gains = [], []
    got = 0.0
    while (k is None or len(chosen) < k) and (goal is None or got < goal - tol):
        nxt = best()
        if nxt is None:
            break
        c, g = nxt
        chosen.append(c)
        gains.append(g)
        cols = indices[indptr[c]:indptr[c + 1]]
        covered[cols] = True
        got += g
    gains = np.asarray(gains)
    sel = Selection(np.asarray(chosen, dtype=np.int64), gains, got, "MCLP" if k is not None else "LSCP", "greedy", None)
    cum = np.r_[0.0, np.cumsum(gains)]
    if k is not None:
        after = best()
        g_next = np.r_[gains, after[1] if after else 0.0]  # best single gain at each step
        sel.max_covered_bound = float(min(coverable, np.min(cum + k * g_next)))
        factor = 1 - (1 - 1 / k) ** k
        sel.guarantee = (
            f"greedy: serves at least {factor:.1%} of what the best {k} sites serve (1 - (1 - 1/k)^k); "
            f"here at least {got / sel.max_covered_bound:.1%} of the optimum" if sel.max_covered_bound > 0 else
            "greedy: nothing can be served"
        )
        sel.status = "stopped: every coverable element is served" if after is None and len(chosen) < k else f"{len(chosen)} sites"
    else:
        n = len(chosen)
        if n == 0:
            sel.min_sites_bound = 0
            sel.guarantee = "greedy: the goal needs no new site"
        else:
            r = goal - cum[:n]  # what remained before each step
            lower = np.ceil(r / np.minimum(gains, r) - 1e-9)
            sel.min_sites_bound = int(max(1, lower.max()))
            factor = 1 + math.log(goal / r[-1]) if r[-1] > 0 else 1.0
            live = w[np.asarray(a.sum(axis=0)).ravel() > 0]
            if len(live) and live.min() == live.max() and goal >= coverable - tol:
                # unweighted, every coverable element: the classic H(largest set) bound holds too
                factor = min(factor, float(np.sum(1.0 / np.arange(1, np.diff(indptr).max() + 1))))
            sel.guarantee = (
                f"greedy: at most {factor:.2f} x the fewest sites (1 + ln(goal / weight left before the last site)); "
                f"the fewest is at least {sel.min_sites_bound}"
            )
        sel.status = f"{len(chosen)} sites"
    return sel


def _order(a: sp.csr_array, w: np.ndarray, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Chosen sites in greedy order with their marginal gains; sites that add nothing dropped."""
    sub = a[chosen]
    sel = _greedy(sub, w, goal=None, k=len(chosen), tol=0.0, coverable=0.0)
    return chosen[sel.sites], sel.gains


def _reduce(a: sp.csr_array, w: np.ndarray):
    """Drop sites whose set another site contains, and merge elements served by the same sites.

    Returns ``(matrix, weights, kept, rep)``: the reduced problem, the original rows it keeps, and
    for every original row a kept row that serves a superset of it."""
    n_c, n_e = a.shape
    size = np.diff(a.indptr)
    ai = a.astype(np.int32)
    at = ai.T.tocsr()
    col_count = np.diff(at.indptr)
    work = ai @ col_count.astype(np.int64)  # products each row of A A^T costs
    cum = np.cumsum(work)
    rep = np.arange(n_c)
    total_work = int(cum[-1]) if n_c else 0
    # rows of A A^T in blocks of about CHUNK_CELLS products; skipped when the whole test would
    # cost more than DOMINANCE_WORK (the solver then sees every site)
    cuts = np.unique(np.r_[0, np.minimum(np.searchsorted(cum, np.arange(CHUNK_CELLS, total_work, CHUNK_CELLS)) + 1, n_c), n_c])
    if total_work > DOMINANCE_WORK:
        cuts = np.zeros(1, dtype=np.int64)
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        prod = (ai[lo:hi] @ at).tocoo()
        r, q, v = prod.row + lo, prod.col, prod.data
        dom = (q != r) & (v == size[r]) & ((size[q] > size[r]) | ((size[q] == size[r]) & (q < r)))
        r, q = r[dom], q[dom]
        order = np.lexsort((q, -size[q], r))
        r, q = r[order], q[order]
        first = np.r_[True, r[1:] != r[:-1]] if len(r) else np.zeros(0, bool)
        rep[r[first]] = q[first]
    while True:  # point every dominated row to a kept (maximal) one
        nxt = rep[rep]
        if np.array_equal(nxt, rep):
            break
        rep = nxt
    kept = np.flatnonzero((rep == np.arange(n_c)) & (size > 0))
    red = a[kept]
    # merge columns served by the same kept rows: two random 64-bit signatures per column
    rt = red.T.tocsr()
    rt.sort_indices()
    rng = np.random.default_rng(0)
    r1 = rng.integers(0, 2**63, size=len(kept), dtype=np.uint64)
    r2 = rng.integers(0, 2**63, size=len(kept), dtype=np.uint64)
    cnt = np.diff(rt.indptr)
    live = np.flatnonzero(cnt > 0)
    starts = rt.indptr[:-1][live]
    with np.errstate(over="ignore"):
        h1 = np.add.reduceat(r1[rt.indices], starts) if len(live) else np.zeros(0, np.uint64)
        h2 = np.add.reduceat(r2[rt.indices], starts) if len(live) else np.zeros(0, np.uint64)
    sig = np.column_stack([h1, h2, cnt[live].astype(np.uint64)])
    _, first, group = np.unique(sig, axis=0, return_index=True, return_inverse=True)
    group = group.ravel()
    merged_w = np.bincount(group, weights=w[live], minlength=len(first))
    return red[:, live[first]], merged_w, kept, rep


def _exact(a, w, greedy: Selection, *, goal, k, tol, solver, time_limit) -> Selection:
    red, rw, kept, rep = _reduce(a, w)
    n_c, n_e = red.shape
    scale = float(rw.max()) if len(rw) else 1.0
    rw = rw / scale
    start = np.zeros(n_c)
    start[np.searchsorted(kept, np.unique(rep[greedy.sites]))] = 1.0  # the greedy, on kept rows
    problem = "MCLP" if k is not None else "LSCP"
    if n_c == 0 or (problem == "LSCP" and goal - tol <= 0):
        return dataclasses.replace(
            greedy, method="exact", optimal=True, guarantee="exact: optimal", status="no site serves anything more",
            min_sites_bound=None if problem == "MCLP" else len(greedy.sites),
            max_covered_bound=greedy.covered if problem == "MCLP" else None,
        )
    full = problem == "LSCP" and goal >= float(w[np.asarray(a.sum(axis=0)).ravel() > 0].sum()) - tol
    goal_r = None if goal is None else (goal - tol) / scale
    t0 = time.perf_counter()
    if solver == "highs":
        x, optimal, status = _solve_highs(red, rw, problem, full, goal_r, k, time_limit)
    else:
        x, optimal, status = _solve_cbc(red, rw, problem, full, goal_r, k, time_limit, start)
    elapsed = time.perf_counter() - t0
    chosen = kept[x] if x is not None else np.zeros(0, dtype=np.int64)
    # never worse than the greedy (a time-limited solver may return less)
    if x is None or _worse(a, w, chosen, greedy, problem, goal, tol):
        chosen, optimal = greedy.sites, False
        status += "; kept the greedy solution (the solver found nothing better in time)"
    sites, gains = _order(a, w, np.asarray(chosen, dtype=np.int64))
    sel = Selection(sites, gains, float(gains.sum()), problem, "exact", optimal, status=f"{status} ({elapsed:.2f} s)")
    if problem == "LSCP":
        sel.min_sites_bound = len(sites) if optimal else greedy.min_sites_bound
    else:
        sel.max_covered_bound = sel.covered if optimal else greedy.max_covered_bound
    sel.guarantee = "exact: optimal" if optimal else f"exact solver stopped at the time limit ({time_limit:g} s): not proven optimal"
    return sel


def _worse(a, w, chosen, greedy, problem, goal, tol) -> bool:
    cols = np.unique(a[chosen].indices) if len(chosen) else np.zeros(0, dtype=np.int64)
    got = float(w[cols].sum())
    if problem == "LSCP":
        return got < goal - tol or len(chosen) > len(greedy.sites)
    return got < greedy.covered - tol


def _solve_highs(red, rw, problem, full, goal_r, k, time_limit):
    from scipy.optimize import Bounds, LinearConstraint, milp

    n_c, n_e = red.shape
    at = sp.csr_array(red.T, dtype=float)
    opts = {"time_limit": float(time_limit), "mip_rel_gap": 0.0, "disp": False}
    if full:  # every element at least once: min sum x, A^T x >= 1
        res = milp(np.ones(n_c), integrality=np.ones(n_c), bounds=Bounds(0, 1),
                   constraints=[LinearConstraint(at, 1, np.inf)], options=opts)
    else:
        # x (sites, binary) then y (elements, 0..1): y <= A^T x
        link = sp.hstack([-at, sp.eye_array(n_e)], format="csr")
        cons = [LinearConstraint(link, -np.inf, 0)]
        if problem == "LSCP":
            # fewest sites; among them the most weight (worth < 1 site)
            c = np.r_[np.ones(n_c), -0.5 * rw / rw.sum()]
            cons.append(LinearConstraint(sp.csr_array(np.r_[np.zeros(n_c), rw][None, :]), goal_r, np.inf))
        else:
            c = np.r_[np.zeros(n_c), -rw]
            cons.append(LinearConstraint(sp.csr_array(np.r_[np.ones(n_c), np.zeros(n_e)][None, :]), 0, k))
        res = milp(c, integrality=np.r_[np.ones(n_c), np.zeros(n_e)], bounds=Bounds(0, 1), constraints=cons, options=opts)
    status = f"HiGHS: {res.message}"
    if res.x is None:
        return None, False, status
    return np.flatnonzero(res.x[:n_c] > 0.5), res.status == 0, status


def _solve_cbc(red, rw, problem, full, goal_r, k, time_limit, start):
    try:
        import pulp
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise InputError("solver='cbc' needs PuLP: pip install 'pulp[cbc]' (or use solver='highs').") from err
    n_c, n_e = red.shape
    prob = pulp.LpProblem("siting", pulp.LpMinimize if problem == "LSCP" else pulp.LpMaximize)
    add = getattr(prob, "add_variable", None)
    if add is None:  # PuLP < 3.3
        def add(name, lowBound=None, upBound=None, cat="Continuous"):
            return pulp.LpVariable(name, lowBound, upBound, cat)
    x = [add(f"x{i}", 0, 1, cat=pulp.LpBinary) for i in range(n_c)]
    at = sp.csr_array(red.T)
    members = np.split(at.indices, at.indptr[1:-1])
    if full:
        prob += pulp.LpAffineExpression([(v, 1.0) for v in x])
        for e, cs in enumerate(members):
            prob += pulp.LpAffineExpression([(x[c], 1.0) for c in cs]) >= 1, f"e{e}"
    else:
        y = [add(f"y{e}", 0, 1) for e in range(n_e)]
        for e, cs in enumerate(members):
            prob += pulp.LpAffineExpression([(y[e], 1.0)] + [(x[c], -1.0) for c in cs]) <= 0, f"e{e}"
        if problem == "LSCP":
            prob += pulp.LpAffineExpression([(v, 1.0) for v in x] + [(y[e], -0.5 * rw[e] / rw.sum()) for e in range(n_e)])
            prob += pulp.LpAffineExpression([(y[e], rw[e]) for e in range(n_e)]) >= goal_r, "goal"
        else:
            prob += pulp.LpAffineExpression([(y[e], rw[e]) for e in range(n_e)])
            prob += pulp.LpAffineExpression([(v, 1.0) for v in x]) <= k, "k"
        covered = np.zeros(n_e)
        covered[np.unique(sp.csr_array(red)[np.flatnonzero(start)].indices)] = 1.0
        for e in range(n_e):
            y[e].setInitialValue(covered[e])
    for i in range(n_c):
        x[i].setInitialValue(start[i])
    kw = {"msg": False, "timeLimit": float(time_limit), "gapRel": 0.0, "warmStart": True}
    cmd = pulp.COIN_CMD(**kw) if hasattr(pulp, "COIN_CMD") and pulp.COIN_CMD(msg=False).available() else None
    if cmd is None:
        with warnings.catch_warnings():  # PuLP >= 3.3 deprecates its bundled CBC in favour of pulp[cbc]
            warnings.simplefilter("ignore", DeprecationWarning)
            cmd = pulp.PULP_CBC_CMD(**kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        prob.solve(cmd)
    status = f"CBC: {pulp.LpSolution.get(prob.sol_status, prob.sol_status)}"
    if prob.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        return None, False, status
    vals = np.array([v.value() or 0.0 for v in x])
    return np.flatnonzero(vals > 0.5), prob.sol_status == pulp.LpSolutionOptimal, status


# -- results -------------------------------------------------------------------------------------
@dataclass(eq=False)
class SitingResult:
    """Proposed sites for one demand layer, with what each one buys.

    Attributes
    ----------
    sites : GeoDataFrame
        One row per proposed site, in the order that serves the most first: ``order`` (1, 2 ...),
        the candidate's columns (``edge``, ``offset``, ``access``, street ``highway``/``name`` ...),
        ``<unit>_newly_served`` (what it newly serves given the sites before it),
        ``share_newly_served`` and ``cumulative_share`` (of all demand), geometry (network CRS).
    curve : DataFrame
        The marginal gain curve: ``n_sites`` (0 = existing facilities only), ``served`` and ``share``.
    newly_served : GeoDataFrame
        The demand the sites newly serve (places, or street pieces), with ``site``: the ``order``
        of the first site serving it.
    before, after : float
        Share of the demand served by the existing facilities, and with the sites added.
    attainable : float
        The largest share any number of candidate sites could reach.
    target : float or None
        Requested share (set covering); ``goal`` is what was aimed at: the target, capped at
        ``attainable``. ``None`` for maximal covering.
    k : int or None
        Number of sites asked for (maximal covering).
    problem, method : str
        ``"LSCP"``/``"MCLP"`` and ``"greedy"``/``"exact"``.
    optimal : bool or None
        Whether the exact solver proved optimality (``None``: greedy).
    min_sites_bound, max_share_bound
        No choice reaching the goal has fewer sites than ``min_sites_bound`` (LSCP); no ``k`` sites
        serve a larger share than ``max_share_bound`` (MCLP).
    guarantee : str
        The approximation guarantee of the method, in words.
    radius : float
        The threshold (metres).
    unit : str
        What the weights count: ``residents``, ``buildings``, ``compounds`` or ``street_m``.
    total : float
        All demand (weight), reachable or not.
    rule_id : str or None
        The rule sited for, with ``facility_tags``: tags a new site needs to count as one of its
        facilities (for :func:`add_sites`).
    candidates : int
        Candidate sites considered.
    notes : list of str
        What the siting assumed or could not do.
    timings : dict
        Seconds spent on candidates, coverage sets and the choice.
    """

    sites: gpd.GeoDataFrame
    curve: pd.DataFrame
    newly_served: gpd.GeoDataFrame
    before: float
    after: float
    attainable: float
    target: float | None
    goal: float | None
    k: int | None
    problem: str
    method: str
    optimal: bool | None
    min_sites_bound: int | None
    max_share_bound: float | None
    guarantee: str
    radius: float
    unit: str
    total: float
    rule_id: str | None = None
    facility_tags: dict | None = None
    candidates: int = 0
    notes: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)

    @property
    def column(self) -> str:
        """Name of the column of :attr:`sites` holding what each site newly serves."""
        return f"{self.unit}_newly_served"

    def describe(self) -> str:
        """One sentence: how many sites bring the share from what to what."""
        what = self.rule_id or "the demand"
        return (
            f"{len(self.sites)} new site{' brings' if len(self.sites) == 1 else 's bring'} {what} "
            f"({self.unit.replace('_', ' ')} served) from {self.before:.1%} to {self.after:.1%}"
            + (f" (target {self.target:.0%})" if self.target is not None else f" (best {self.k})")
        )

    def __repr__(self) -> str:
        return f"SitingResult({self.describe()}; {self.problem} {self.method})"

    def plot_curve(self, ax=None):
        """Plot coverage against the number of new sites (matplotlib); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        c = self.curve
        ax.plot(c["n_sites"], 100 * c["share"], marker="o", label=f"{self.method} {self.problem}")
        if self.goal is not None:
            ax.axhline(100 * self.goal, linestyle="--", color="grey", label=f"goal {self.goal:.1%}")
        ax.set_xlabel("new sites")
        ax.set_ylabel(f"{self.unit.replace('_', ' ')} served (%)")
        ax.set_title(f"{self.rule_id or 'siting'}: within {self.radius:g} m")
        ax.set_ylim(min(100 * self.before, 100) - 5, 102)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(loc="lower right")
        return ax


@dataclass(eq=False)
class _Problem:
    """A siting problem: coverage of the open demand elements by the candidate sites."""

    matrix: sp.csr_array  # candidates x open elements
    weights: np.ndarray
    elements: gpd.GeoDataFrame  # the open elements (geometry, attributes), one per column
    candidates: gpd.GeoDataFrame
    total: float
    served_before: float
    unit: str
    notes: list[str]
    #: open demand left out of the elements because no candidate reaches any of it (streets)
    unreached: float = 0.0


def propose_sites(
    network: Network,
    demand,
    radius: float,
    *,
    weights=None,
    existing=None,
    target: float | None = None,
    k: int | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    spacing: float = 50.0,
    within=None,
    near: float = 0.0,
    method: str = "greedy",
    solver: str = "highs",
    time_limit: float = 60.0,
    unit: str | None = None,
) -> SitingResult:
    """New facility sites so that demand lies within ``radius`` of a facility.

    Parameters
    ----------
    network
        The walking network.
    demand
        Places (GeoDataFrame/GeoSeries of points, any CRS; polygons by their point on surface), or
        street demand as disjoint intervals ``(edge, start, end)`` of the network.
    radius
        Threshold (metres).
    weights
        For places: a column name, an array, or None (1 each). Street demand weighs its metres.
    existing
        Existing facilities (GeoDataFrame, any geometry and CRS, or a :class:`DistanceField`):
        the demand they already serve is counted and left out of the choice.
    target
        Share (0-1] of all demand to reach with the fewest sites (set covering; default 1). Demand no
        candidate can reach is counted in the share but cannot be served: the goal is capped at
        the attainable share and a note says so.
    k
        Give it instead of ``target`` for the best ``k`` sites (maximal covering).
    candidates
        Candidate sites (points, any CRS; their access leg to the street counts). Default
        :func:`candidate_sites` with ``spacing``, ``within``, ``near``.
    spacing, within, near
        Passed to :func:`candidate_sites`.
    method, solver, time_limit
        See :func:`solve_covering`.
    unit
        Name of what the weights count (column ``<unit>_newly_served``); default ``"demand"``
        for places, ``"street_m"`` for streets.

    Returns
    -------
    SitingResult

    Notes
    -----
    Cost: candidates O(V + L / spacing); coverage sets O(S (V_r + E_r) log V_r) for S cut-off
    searches (from the smaller of the open demand and the candidates, each over the V_r nodes
    within ``radius`` straight-line metres); then :func:`solve_covering`.
    """
    radius = _number(radius, "radius", positive=True)
    if isinstance(existing, DistanceField) or existing is None:
        fld = existing
    else:
        fld = distance_field(network, existing, radius, name="existing")
    t0 = time.perf_counter()
    cand = _make_candidates(network, candidates, spacing, within, near)
    t1 = time.perf_counter()
    if isinstance(demand, tuple):
        prob = _street_problem(network, tuple(np.asarray(x) for x in demand), fld, radius, cand)
    else:
        geoms = _as_geometry(demand, network.crs, "demand")
        # a building or compound is where it stands: its point on surface (as the rules measure it)
        area = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) & (shapely.get_type_id(geoms) != shapely.GeometryType.POINT)
        if area.any():
            geoms = geoms.copy()
            geoms[area] = shapely.point_on_surface(geoms[area])
        w = _weights(demand, weights, len(geoms))
        feats = demand if isinstance(demand, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=demand)
        prob = _place_problem(network, feats.to_crs(network.crs), geoms, w, fld, radius, cand, unit or "demand")
    t2 = time.perf_counter()
    return _solve(prob, radius, target=target, k=k, method=method, solver=solver, time_limit=time_limit,
                  timings={"candidates": t1 - t0, "coverage": t2 - t1})


def _make_candidates(network, candidates, spacing, within, near) -> tuple[gpd.GeoDataFrame, _Places]:
    if candidates is None:
        sites = candidate_sites(network, spacing, within=within, near=near)
        return sites, _site_places(network, sites)
    places = _candidate_places(network, candidates)
    sites = candidates.to_crs(network.crs).reset_index(drop=True)
    if within is not None:
        keep = _near_layer(places.geometry, within, network, _number(near, "near"))
        sites, places = sites[keep].reset_index(drop=True), places.take(np.flatnonzero(keep))
    return sites.assign(edge=places.edge, offset=places.offset, access=places.access), places


def _weights(demand, weights, n) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    if isinstance(weights, str):
        if not isinstance(demand, gpd.GeoDataFrame) or weights not in demand:
            raise InputError(f"weights: demand has no column {weights!r}; give a column name of demand or an array.")
        weights = demand[weights].to_numpy()
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any():
        raise InputError(f"weights: need {n} finite values >= 0 (one per demand place), got shape {w.shape}.")
    return w


def _place_problem(network, feats, geoms, w, fld, radius, cand, unit) -> _Problem:
    sites, cplaces = cand
    notes = []
    dem = _places(network, gpd.GeoSeries(geoms, crs=network.crs), "demand")
    n = len(geoms)
    if fld is not None:
        served = fld.at_snapped(_snapped(dem), geoms=geoms) <= radius
    else:
        served = np.zeros(n, dtype=bool)
    total = float(w.sum())
    before = float(w[served].sum())
    open_rows = np.flatnonzero(~served & (w > 0))
    unsnapped = open_rows[dem.edge[open_rows] < 0]
    if len(unsnapped):
        notes.append(
            f"{len(unsnapped)} demand places ({w[unsnapped].sum():,.0f} {unit}) lie farther than "
            "settings.max_snap_distance from every walkable street: no site can serve them."
        )
    limit = radius - SPARE
    i, j, _ = _pair_distances(network, cplaces, dem.take(open_rows), limit)
    matrix = sp.csr_array((np.ones(len(i), dtype=bool), (i, j)), shape=(len(sites), len(open_rows)))
    elements = feats.iloc[open_rows].reset_index(drop=True)
    elements = elements.set_geometry(gpd.GeoSeries(geoms[open_rows], crs=network.crs))
    return _Problem(matrix, w[open_rows], elements, sites, total, before, unit, notes)


def _snapped(p: _Places):
    from urbancover.network import Snapped

    return Snapped(p.edge, p.offset, p.access)


def _street_problem(network, demand: Intervals, fld, radius, cand) -> _Problem:
    sites, cplaces = cand
    demand = intervals.merge(*demand)
    total = intervals.total(demand)
    if fld is not None:
        covered = intervals.intersect(demand, fld.covered_intervals(radius))
        before = intervals.total(covered)
        open_ = intervals.intersect(intervals.complement(*covered, network.length), demand)
    else:
        before, open_ = 0.0, demand
    matrix, pieces = _street_matrix(network, cplaces, open_, radius - SPARE)
    e, s, t = pieces
    geom = line_substrings(network.geometry[e], s, t) if len(e) else np.zeros(0, dtype=object)
    cols = {"edge": e, "start": s, "end": t, "length": t - s}
    for c in ("highway", "name"):
        if c in network.edges:
            cols[c] = network.edges[c].to_numpy()[e]
    elements = gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries(geom, crs=network.crs), crs=network.crs)
    unreached = max(0.0, intervals.total(open_) - float(np.sum(t - s)))
    return _Problem(matrix, t - s, elements, sites, total, before, "street_m", [], unreached)


def _solve(prob: _Problem, radius, *, target, k, method, solver, time_limit, timings, rule_id=None, tags=None) -> SitingResult:
    notes = list(prob.notes)
    total = prob.total
    if total <= 0:
        raise InputError("demand: it weighs nothing (no places, or all weights 0): there is nothing to site for.")
    w = prob.weights
    reach = np.asarray(prob.matrix.sum(axis=0)).ravel() > 0
    coverable = float(w[reach].sum())
    attainable = (prob.served_before + coverable) / total if total > 0 else np.nan
    unreachable = float(w[~reach].sum()) + prob.unreached
    if unreachable > 1e-9 * total:
        notes.append(
            f"{unreachable:,.1f} {prob.unit} of unserved demand ({unreachable / total:.1%}) are more than {radius:g} m "
            "from every candidate site (beyond any street, across a gap in the network, or outside the candidate "
            "area): no site can serve them; they stay in the share's denominator."
        )
    if k is not None and target is not None:
        raise InputError("give either target (fewest sites reaching a share) or k (best k sites), not both.")
    goal_share = None
    goal_w = None
    if k is None:
        target = 1.0 if target is None else target
        if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target <= 1:
            raise InputError(f"target must be a share in (0, 1], got {target!r}.")
        goal_share = min(float(target), attainable)
        if goal_share < target - 1e-9:
            notes.append(
                f"the target {target:.1%} cannot be reached: with every candidate site at most {attainable:.1%} "
                f"is served; the sites aim at {attainable:.1%}."
            )
        goal_w = max(0.0, min(goal_share * total - prob.served_before, coverable))
        if prob.served_before >= goal_share * total - 1e-9 * total:
            notes.append(f"the existing facilities already serve {prob.served_before / total:.1%}: no new site needed.")
            goal_w = 0.0
    t0 = time.perf_counter()
    sel = solve_covering(prob.matrix, w, goal=goal_w, k=k, method=method, solver=solver, time_limit=time_limit)
    timings = dict(timings, choice=time.perf_counter() - t0)
    cum = np.r_[0.0, np.cumsum(sel.gains)]
    share = (prob.served_before + cum) / total
    sites = prob.candidates.iloc[sel.sites].reset_index(drop=True)
    sites.insert(0, "order", np.arange(1, len(sites) + 1))
    col = f"{prob.unit}_newly_served"
    sites[col] = sel.gains
    sites["share_newly_served"] = sel.gains / total
    sites["cumulative_share"] = share[1:]
    sites = sites.drop(columns=[c for c in ("node",) if c in sites])
    curve = pd.DataFrame({"n_sites": np.arange(len(cum)), "served": prob.served_before + cum, "share": share})
    # which site newly serves each element: the first one in order
    first = np.zeros(prob.matrix.shape[1], dtype=np.int64)
    for pos, c in enumerate(sel.sites[::-1]):
        first[prob.matrix[[c]].indices] = len(sel.sites) - pos
    hit = first > 0
    newly = prob.elements[hit].assign(site=first[hit]).reset_index(drop=True)
    mclp_bound = None
    if sel.max_covered_bound is not None:
        mclp_bound = (prob.served_before + sel.max_covered_bound) / total
    if method == "greedy" and k is None and len(sel.sites):
        notes.append(f"{sel.guarantee}.")
    return SitingResult(
        sites=sites, curve=curve, newly_served=newly, before=prob.served_before / total, after=float(share[-1]),
        attainable=attainable, target=None if k is not None else float(target), goal=goal_share, k=k,
        problem=sel.problem, method=method, optimal=sel.optimal, min_sites_bound=sel.min_sites_bound,
        max_share_bound=mclp_bound, guarantee=sel.guarantee, radius=radius, unit=prob.unit, total=total,
        rule_id=rule_id, facility_tags=tags, candidates=len(prob.candidates), notes=notes, timings=timings,
    )


# -- rules of a report ---------------------------------------------------------------------------
_UNITS = {"residents": "residents", "residential_buildings": "buildings", "compounds": "compounds", "streets": "street_m"}


def site_facilities(
    report,
    rule_id: str,
    *,
    method: str = "greedy",
    target: float | None = None,
    k: int | None = None,
    demand: str | None = None,
    spacing: float = 50.0,
    within=None,
    near: float = 0.0,
    candidates: gpd.GeoDataFrame | None = None,
    solver: str = "highs",
    time_limit: float = 60.0,
) -> SitingResult:
    """Propose new facilities for one radius rule of an evaluated report.

    Parameters
    ----------
    report
        What :func:`urbancover.evaluate` returned (the rule must have been evaluated).
    rule_id
        A ``radius`` rule, e.g. ``"bus_stop_500"`` or ``"toilet_main_300"``.
    method
        ``"greedy"`` (default, with its guarantee) or ``"exact"`` (integer programme).
    target
        Share of demand to reach with the fewest sites; default the rule's target.
    k
        Instead of a target: the best ``k`` sites.
    demand
        The rule's demand layer to site for: ``residents`` (weighted by residents),
        ``residential_buildings``, ``compounds`` (one each) or ``streets`` (metres of street
        within the threshold, measured exactly). Default: the rule's first layer, the one its value
        measures.
    spacing, within, near, candidates
        Candidate sites, see :func:`candidate_sites` and :func:`propose_sites`.
    solver, time_limit
        For ``method="exact"``, see :func:`solve_covering`.

    Returns
    -------
    SitingResult
        With ``before`` equal to the report's value for that layer.

    Raises
    ------
    InputError
        The rule is not in the report, is not a ``radius`` rule, or does not measure ``demand``.

    Examples
    --------
    >>> report = urbancover.evaluate("data/sample/shenzhen_longgang.osm.bz2", only=["bus_stop_500"])
    >>> res = site_facilities(report, "bus_stop_500")
    >>> res.describe()  # doctest: +SKIP
    '4 new sites bring bus_stop_500 (residents served) from 35.9% to 100.0% (target 100%)'
    """
    from urbancover.gaps import _points  # the demand places exactly as the rule measures them

    if rule_id not in report.results:
        raise InputError(
            f"site_facilities: rule {rule_id!r} was not evaluated in this report (it has {sorted(report.results)}); "
            "evaluate it first, e.g. urbancover.evaluate(source, only=[rule_id])."
        )
    rule = report.results[rule_id].rule
    if rule.kind != "radius":
        raise InputError(
            f"site_facilities: rule {rule_id!r} is a {rule.kind!r} rule; siting supports 'radius' rules (one facility "
            "category within a distance). For an all_of rule, site each category with a radius rule of its own."
        )
    layer = rule.demand[0] if demand is None else demand
    if layer not in rule.demand:
        raise InputError(
            f"site_facilities: rule {rule_id!r} measures {list(rule.demand)}, not {layer!r}; pass demand= one of those."
        )
    ctx = report.context
    net = ctx.network
    radius = float(rule.threshold)
    min_area = rule.params.get("facility_min_area_m2")
    fld, _ = ctx.field(rule.facilities, min_area_m2=min_area, name=f"{rule_id} facilities")
    t0 = time.perf_counter()
    cand = _make_candidates(net, candidates, spacing, within, near)
    t1 = time.perf_counter()
    if layer == "streets":
        p = rule.params
        dem = ctx.street_intervals(p.get("streets"), p.get("streets_in"), p.get("streets_near"), p.get("streets_near_m", 0.0))
        prob = _street_problem(net, dem, fld, radius, cand)
    else:
        feats, pts, w = _points(layer, ctx, rule.params.get("homes_in") == "old_compounds")
        keep = [c for c in feats.columns if c not in ("tags", "demand_source")]
        prob = _place_problem(net, feats[keep], np.asarray(pts), w, fld, radius, cand, _UNITS[layer])
    t2 = time.perf_counter()
    tags = facility_tags(rule.facilities)
    res = _solve(prob, radius, target=rule.target if (target is None and k is None) else target, k=k, method=method,
                 solver=solver, time_limit=time_limit, timings={"candidates": t1 - t0, "coverage": t2 - t1},
                 rule_id=rule_id, tags=tags)
    if min_area is not None:
        res.notes.append(
            f"{rule_id} counts only facilities of at least {min_area:g} m²: a proposed site stands for such a "
            "facility reached at that point of the street; added as a point it would not count when the rule is "
            "measured again."
        )
    return res


def facility_tags(selector) -> dict | None:
    """Tags that make a new feature match a tag selector: its first alternative's plain values
    (a list gives its first value, ``true`` gives ``"yes"``; ``false`` and ``not`` conditions
    hold when the tag is absent). ``None`` if no alternative sets a tag."""
    for alt in selector:
        tags = {}
        for key, cond in alt.items():
            if cond is True:
                tags[key] = "yes"
            elif isinstance(cond, str):
                tags[key] = cond
            elif isinstance(cond, (list, tuple)) and cond:
                tags[key] = str(cond[0])
            # False and {not = [...]}: satisfied by leaving the tag out
        if tags:
            return tags
    return None


def add_sites(osm: OSMData, sites: gpd.GeoDataFrame, tags: Mapping[str, str]) -> OSMData:
    """A copy of ``osm`` with the sites added as tagged point features, to measure rules again.

    Parameters
    ----------
    osm
        What :func:`urbancover.read_osm` returned.
    sites
        Points in any CRS (e.g. ``SitingResult.sites``).
    tags
        OSM tags of the new features, e.g. ``SitingResult.facility_tags`` or
        ``{"highway": "bus_stop"}``.

    Returns
    -------
    OSMData
        Same ways; features with one more node per site (negative ``osmid``, as for new objects).
    """
    if not isinstance(osm, OSMData):
        raise InputError(f"add_sites: osm must be what urbancover.read_osm returned, not {type(osm).__name__}.")
    if not tags:
        raise InputError("add_sites: give the tags of the new facilities, e.g. {'highway': 'bus_stop'}.")
    geoms = _as_geometry(sites, osm.features.crs, "sites")
    n = len(geoms)
    f = osm.features
    low = int(min(0, pd.to_numeric(f["osmid"], errors="coerce").min() if len(f) else 0))
    cols = {"element": ["node"] * n, "osmid": np.arange(low - 1, low - 1 - n, -1)}
    for c in f.columns:
        if c not in ("element", "osmid", "tags", f.geometry.name):
            cols[c] = [tags.get(c)] * n
    cols["tags"] = [dict(tags) for _ in range(n)]
    new = gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries(geoms, crs=f.crs), crs=f.crs)
    new = new.rename_geometry(f.geometry.name) if new.geometry.name != f.geometry.name else new
    features = pd.concat([f, new[f.columns]], ignore_index=True)
    return dataclasses.replace(osm, features=gpd.GeoDataFrame(features, geometry=f.geometry.name, crs=f.crs), _cache={})


def _number(value, name: str, *, positive: bool = False) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not np.isfinite(value) or (value <= 0 if positive else value < 0):
        raise InputError(f"{name} must be a finite number {'> 0' if positive else '>= 0'} (metres or seconds), got {value!r}.")
    return float(value)
