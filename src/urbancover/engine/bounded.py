"""Bounded searches: from each of many sources, every node (and place) within a limit.

Where :func:`urbancover.engine.distance_field` answers "how far is the nearest facility" with one
pass, these answer "what lies within ``limit`` of *each* source": siting's coverage sets and the
accessibility measures of :mod:`urbancover.tools.access` (counts, k nearest, gravity, 2SFCA, service areas).

Each source is one virtual node joined to both ends of every edge it touches (a point facility or
place: one edge; a park: every edge within its reach), built by
:func:`urbancover.engine.graph.with_virtual_arcs` as the field's graph is. One
:func:`scipy.sparse.csgraph.dijkstra` call with ``limit=`` searches a chunk of sources at once, over
the nodes within ``limit`` straight-line metres of the chunk's sources only, since a walk is never
shorter than the straight line. No Python loop runs over sources, places or pairs.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra

from urbancover.core import intervals
from urbancover.core.intervals import ranges
from urbancover.engine.graph import with_virtual_arcs
from urbancover.network.snap import Seeds
from urbancover.network.walk import Network

Intervals = tuple[np.ndarray, np.ndarray, np.ndarray]

#: cells of the dense distance block one Dijkstra call returns (bounds memory to ~32 MB)
CHUNK_CELLS = 1 << 22
#: sources searched together at most (one Dijkstra call)
CHUNK_MAX = 1024


@dataclass(frozen=True, eq=False)
class Places:
    """Places on the network: edge (-1: not snapped), offset, access leg and their geometry."""

    edge: np.ndarray
    offset: np.ndarray
    access: np.ndarray
    geometry: np.ndarray

    def __len__(self) -> int:
        return len(self.edge)

    def take(self, rows: np.ndarray) -> Places:
        """The places at positions ``rows``."""
        return Places(self.edge[rows], self.offset[rows], self.access[rows], self.geometry[rows])


@dataclass(frozen=True, eq=False)
class Sources:
    """Sources of bounded searches: each touches the network at one or more seeds.

    ``seeds.source`` gives each seed's source (0..n-1); ``geometry`` holds one geometry per source,
    whose straight-line neighbourhood of ``limit + margin`` metres holds every node the source can
    reach within ``limit`` (``margin``: how far a seed may lie from its source's geometry, the
    polygon reach).
    """

    seeds: Seeds
    geometry: np.ndarray
    margin: float = 0.0

    def __len__(self) -> int:
        return len(self.geometry)

    @classmethod
    def from_places(cls, places: Places) -> Sources:
        """Each snapped place a source with one seed at its projection, its access leg as cost."""
        ok = np.flatnonzero(places.edge >= 0)
        s = Seeds(places.edge[ok].astype(np.int64), places.offset[ok], places.offset[ok], places.access[ok], ok.astype(np.int64))
        return cls(s, places.geometry)


def incidence(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(order, indptr): rows ``order[indptr[k]:indptr[k+1]]`` of ``keys`` equal ``k``."""
    order = np.argsort(keys, kind="stable")
    return order, np.searchsorted(keys[order], np.arange(n + 1))


def take(order: np.ndarray, ptr: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of every key in ``keys`` (with :func:`incidence`'s arrays): (positions, counts)."""
    cnt = ptr[keys + 1] - ptr[keys]
    return order[np.repeat(ptr[keys], cnt) + ranges(cnt)], cnt


def dedupe_min(a: np.ndarray, b: np.ndarray, d: np.ndarray, nb: int):
    """Keep the smallest ``d`` of each (a, b) pair; sorted by (a, b)."""
    if len(a) == 0:
        return a, b, d
    key = a.astype(np.int64) * max(nb, 1) + b
    order = np.lexsort((d, key))
    key = key[order]
    keep = order[np.r_[True, key[1:] != key[:-1]]]
    return a[keep], b[keep], d[keep]


def search(network: Network, sources: Sources, limit: float) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Yield ``(chunk, source, node, distance)``: the sources of a chunk, and the network distance
    from each to every node within ``limit`` (``inf``: the whole network).

    Every source with a seed belongs to exactly one chunk; chunks follow a Hilbert curve so their
    neighbourhoods are compact. Cost per chunk: one Dijkstra call from its k virtual nodes over the
    V_r nodes within ``limit + margin`` of them in a straight line, O(k (V_r + E_r) log V_r), plus
    O(k V_r) to read the dense block scipy returns.
    """
    net, s = network, sources.seeds
    has_seed = np.zeros(len(sources), dtype=bool)
    has_seed[s.source] = True
    srcs = np.flatnonzero(has_seed)
    if len(srcs) == 0:
        return
    if len(srcs) > 1:
        hd = gpd.GeoSeries(sources.geometry[srcs]).hilbert_distance().to_numpy()
        srcs = srcs[np.argsort(hd, kind="stable")]
    seed_order, seed_ptr = incidence(s.source, len(sources))
    n = net.n_nodes
    bounded = math.isfinite(limit)
    if bounded:
        fi, ni = shapely.STRtree(shapely.points(net.node_xy)).query(
            sources.geometry[srcs], predicate="dwithin", distance=limit + sources.margin
        )
        near_order, near_ptr = incidence(fi, len(srcs))
        widest = int(np.bincount(fi, minlength=len(srcs)).max()) if len(fi) else 0
    else:
        widest = n
    k = min(len(srcs), CHUNK_MAX)
    while k > 1 and k * (min(n, k * widest) + k) > CHUNK_CELLS:
        k //= 2
    csr = net.csr
    for lo in range(0, len(srcs), k):
        hi = min(len(srcs), lo + k)
        chunk = srcs[lo:hi]
        sub = np.unique(ni[near_order[near_ptr[lo]:near_ptr[hi]]]) if bounded else np.arange(n)
        ns, kc = len(sub), len(chunk)
        new_id = np.full(n, -1, dtype=np.int64)
        new_id[sub] = np.arange(ns)
        base = csr[sub][:, sub]  # keeps explicit zeros (edges of length 0)
        # virtual arcs: source -> both ends of every edge it touches
        pos, cnt = take(seed_order, seed_ptr, chunk)
        row = np.repeat(np.arange(kc), cnt)
        e = s.edge[pos]
        length = net.length[e]
        to_u = s.cost[pos] + np.clip(s.start[pos], 0.0, length)
        to_v = s.cost[pos] + np.clip(length - s.end[pos], 0.0, length)
        graph = with_virtual_arcs(
            base, np.r_[row, row], np.r_[new_id[net.u[e]], new_id[net.v[e]]], np.r_[to_u, to_v], kc
        )
        dist = dijkstra(graph, directed=True, indices=np.arange(ns, ns + kc), limit=limit)[:, :ns]
        fr, x = np.nonzero(np.isfinite(dist))
        yield chunk, chunk[fr], sub[x], dist[fr, x]


def pairs(network: Network, sources: Sources, places: Places, limit: float) -> Iterator[tuple[np.ndarray, ...]]:
    """Yield ``(chunk, source, place, distance)``: the sources of a chunk and every (source, place)
    pair within ``limit`` (each source's pairs all in one chunk), one row per pair with its
    shortest distance.

    A place hangs off both ends of its edge; a place on an edge a source touches also gets the
    direct run along it. (A place *inside* a polygon source is the caller's: it is at distance 0.)
    O(output) to join the reached nodes to the places, on top of :func:`search`.
    """
    net, s = network, sources.seeds
    nt = len(places)
    okp = np.flatnonzero((places.edge >= 0) & (places.access <= limit))
    pe, pt, pa = places.edge[okp], places.offset[okp], places.access[okp]
    inc_order, inc_ptr = incidence(np.concatenate([net.u[pe], net.v[pe]]), net.n_nodes)
    inc_place = np.tile(okp, 2)
    inc_cost = np.concatenate([pt, net.length[pe] - pt]) + np.tile(pa, 2)
    edge_order = np.argsort(pe, kind="stable")
    edge_sorted = pe[edge_order]
    seed_order, seed_ptr = incidence(s.source, len(sources))
    for chunk, f, x, d in search(network, sources, limit):
        pos, cnt = take(inc_order, inc_ptr, x)
        parts = [(np.repeat(f, cnt), inc_place[pos], np.repeat(d, cnt) + inc_cost[pos])]
        # same edge: place at t, seed [start, end] at cost c -> access + c + gap along the edge
        spos, _ = take(seed_order, seed_ptr, chunk)
        lo = np.searchsorted(edge_sorted, s.edge[spos], side="left")
        m = np.searchsorted(edge_sorted, s.edge[spos], side="right") - lo
        sp_i = np.repeat(spos, m)
        q = edge_order[np.repeat(lo, m) + ranges(m)]
        gap = np.maximum(0.0, np.maximum(s.start[sp_i] - pt[q], pt[q] - s.end[sp_i]))
        parts.append((s.source[sp_i], okp[q], pa[q] + s.cost[sp_i] + gap))
        fa, pl, dd = (np.concatenate(c) for c in zip(*parts))
        good = dd <= limit
        yield (chunk, *dedupe_min(fa[good].astype(np.int64), pl[good].astype(np.int64), dd[good], nt))


def pair_distances(network: Network, a: Places, b: Places, limit: float):
    """Every pair (i in ``a``, j in ``b``) at network distance <= ``limit``, with the distance.

    The search starts from the smaller of the two sets. Returns ``(i, j, distance)`` with one row
    per pair. Cost: :func:`pairs` from the smaller set.
    """
    swap = len(b) < len(a)
    src, dst = (b, a) if swap else (a, b)
    parts = [p[1:] for p in pairs(network, Sources.from_places(src.take(np.flatnonzero(src.access <= limit))), dst, limit)]
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    i, j, d = (np.concatenate(c) for c in zip(*parts))
    kept = np.flatnonzero(src.access <= limit)
    i = kept[i]
    return (j, i, d) if swap else (i, j, d)


def reach_intervals(network: Network, sources: Sources, bands) -> tuple[np.ndarray, np.ndarray, Intervals]:
    """The street each source reaches within each band, exactly (partial edges included).

    Returns ``(source, band, (edge, start, end))``: ``band`` indexes ``bands``; the intervals are
    disjoint and sorted per (source, band, edge). A point of an edge is in them iff its network
    distance from the source is <= the band. Each node reached at ``d`` covers ``band - d`` metres
    into every edge that ends there, and a source covers ``band - cost`` metres either way around
    each of its seeds. One :func:`search` at the largest band, then O(pieces log pieces) to merge.
    """
    net, s = network, sources.seeds
    bands = np.atleast_1d(np.asarray(bands, dtype=float))
    m = net.n_edges
    inc_order, inc_ptr = incidence(np.concatenate([net.u, net.v]), net.n_nodes)
    inc_edge = np.tile(np.arange(m), 2)
    from_u = np.repeat([True, False], m)
    seed_order, seed_ptr = incidence(s.source, len(sources))
    parts = []
    for chunk, f, x, d in search(net, sources, float(bands.max())):
        pos, cnt = take(inc_order, inc_ptr, x)
        e, fu = inc_edge[pos], from_u[pos]
        ff, dd = np.repeat(f, cnt), np.repeat(d, cnt)
        spos, _ = take(seed_order, seed_ptr, chunk)
        for k, b in enumerate(bands):  # a few bands
            ok = dd <= b
            slack, L = b - dd[ok], net.length[e[ok]]
            own = spos[s.cost[spos] <= b]
            oslack = b - s.cost[own]
            oe = s.edge[own]
            parts.append((
                np.concatenate([ff[ok], s.source[own]]), np.full(ok.sum() + len(own), k),
                np.concatenate([e[ok], oe]),
                np.concatenate([np.where(fu[ok], 0.0, np.maximum(0.0, L - slack)), np.maximum(0.0, s.start[own] - oslack)]),
                np.concatenate([np.where(fu[ok], np.minimum(L, slack), L), np.minimum(net.length[oe], s.end[own] + oslack)]),
            ))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, (empty, np.zeros(0), np.zeros(0))
    src, band, edge, start, end = (np.concatenate(c) for c in zip(*parts))
    # merge per (source, band, edge): a dense rank per triple, merged as if it were an edge
    key = (src.astype(np.int64) * len(bands) + band) * m + edge
    uniq, rank = np.unique(key, return_inverse=True)
    r, start, end = intervals.merge(rank, start, end)
    key = uniq[r]
    return key // (m * len(bands)), (key // m) % len(bands), (key % m, start, end)


def street_reach(network: Network, sites: Places, limit: float) -> tuple[np.ndarray, Intervals]:
    """The street intervals within ``limit`` of each site: ``(site, (edge, start, end))``, merged per
    (site, edge) (:func:`reach_intervals` with one band, for places).
    """
    own = np.flatnonzero((sites.edge >= 0) & (sites.access <= limit))
    src, _, pieces = reach_intervals(network, Sources.from_places(sites.take(own)), [limit])
    return own[src], pieces
