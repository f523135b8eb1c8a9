"""Bounded searches: from each of many places, every node within a limit.

Where :func:`urbancover.engine.distance_field` answers "how far is the nearest facility" with one
pass, these answer "which places lie within ``limit`` of *each* source" (siting's coverage sets):
one cut-off Dijkstra per source, over the nodes within ``limit`` straight-line metres of the sources
only, since a walk is never shorter than the straight line. The graphs are built by
:func:`urbancover.engine.graph.with_virtual_sources`, as the field's are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra

from urbancover import intervals
from urbancover.engine.graph import with_virtual_sources
from urbancover.intervals import ranges
from urbancover.network import Network, csr_min

Intervals = tuple[np.ndarray, np.ndarray, np.ndarray]

#: cells of the dense distance block one Dijkstra call returns (bounds memory to ~32 MB).
CHUNK_CELLS = 1 << 22


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
        return Places(self.edge[rows], self.offset[rows], self.access[rows], self.geometry[rows])


# -- reach: one cut-off search per source ---------------------------------------------------------


def incidence(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(order, indptr): rows ``order[indptr[k]:indptr[k+1]]`` of ``keys`` equal ``k``."""
    order = np.argsort(keys, kind="stable")
    indptr = np.searchsorted(keys[order], np.arange(n + 1))
    return order, indptr


def bounded_reach(network: Network, sources: Places, limit: float):
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
    base = csr_min(
        np.concatenate([eu[inside], ev[inside]]), np.concatenate([ev[inside], eu[inside]]),
        np.concatenate([net.length[inside], net.length[inside]]), ns,
    )
    # virtual arcs of every source: to the ends of its edge that are in the subgraph
    e = sources.edge[ok]
    su, sv = new_id[net.u[e]], new_id[net.v[e]]
    to_u = sources.access[ok] + sources.offset[ok]
    to_v = sources.access[ok] + (net.length[e] - sources.offset[ok])
    # scipy returns a dense (chunk x (ns + chunk)) block: keep it within CHUNK_CELLS
    chunk = max(1, min(len(ok), 1024, CHUNK_CELLS // (ns + 1024)))
    for lo in range(0, len(ok), chunk):
        hi = min(len(ok), lo + chunk)
        k = hi - lo
        graph = with_virtual_sources(base, su[lo:hi], sv[lo:hi], to_u[lo:hi], to_v[lo:hi])
        dist = dijkstra(graph, directed=True, indices=np.arange(ns, ns + k), limit=limit)[:, :ns]
        r, x = np.nonzero(np.isfinite(dist))
        yield ok[lo + r], sub[x], dist[r, x]


def dedupe_min(i: np.ndarray, j: np.ndarray, d: np.ndarray, nj: int):
    """Keep the smallest distance of each (i, j) pair."""
    if len(i) == 0:
        return i, j, d
    key = i.astype(np.int64) * max(nj, 1) + j
    order = np.lexsort((d, key))
    key, i, j, d = key[order], i[order], j[order], d[order]
    first = np.r_[True, key[1:] != key[:-1]]
    return i[first], j[first], d[first]


def pair_distances(network: Network, a: Places, b: Places, limit: float):
    """Every pair (i in ``a``, j in ``b``) at network distance <= ``limit``, with the distance.

    The search starts from the smaller of the two sets; a pair on one edge also gets its direct
    run along it. Returns ``(i, j, distance)`` with one row per pair.

    Notes
    -----
    One cut-off search per place of the smaller set (see :func:`bounded_reach`), then the reached nodes
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
        order, ptr = incidence(inc_node, net.n_nodes)
        for s, x, d in bounded_reach(net, src, limit):
            cnt = ptr[x + 1] - ptr[x]
            pos = order[np.repeat(ptr[x], cnt) + ranges(cnt)]
            total = np.repeat(d, cnt) + inc_cost[pos]
            good = total <= limit
            i, j, dd = dedupe_min(np.repeat(s, cnt)[good], inc_dst[pos][good], total[good], len(dst))
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
    i, j, d = dedupe_min(np.concatenate(parts_i), np.concatenate(parts_j), np.concatenate(parts_d), len(dst))
    return (j, i, d) if swap else (i, j, d)


# -- street demand -------------------------------------------------------------------------------


def street_reach(network: Network, sites: Places, limit: float) -> tuple[np.ndarray, Intervals]:
    """The street intervals within ``limit`` of each site: ``(site, (edge, start, end))``, merged
    per (site, edge). Same search as :func:`bounded_reach`; each reached node covers ``limit - d`` metres
    into every edge that ends there, and a site covers ``limit - access`` metres either way along
    its own edge."""
    net = network
    m = net.n_edges
    inc_node = np.concatenate([net.u, net.v])
    inc_edge = np.tile(np.arange(m), 2)
    inc_side = np.repeat([0, 1], m)
    order, ptr = incidence(inc_node, net.n_nodes)
    parts = []
    for s, x, d in bounded_reach(net, sites, limit):
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
