"""An independent reference for network distances, built with shapely + networkx only.

Nothing here imports urbancover: it takes plain edge geometries (LineStrings in a metric CRS, each
running from its node ``u`` to its node ``v``) and plain shapely sources/targets, and computes the
distance of PLAN_RULES.md section A the slow, obvious way:

* every point is projected on its nearest edge, found by brute force over *all* edges; when that
  edge lies on a scrap of network (a connected component, found with networkx, that is not the
  longest one and holds less than ``main_component_m`` of street) and an edge of the real network is
  within ``island_snap_m``, on the nearest such edge instead;
* every edge is cut at every projection and where it crosses the boundary of a polygon source,
  giving a networkx MultiGraph whose pieces weigh their length along the edge geometry
  (``shapely.ops.substring`` is used to measure them, not the difference of the positions);
* each source is its own node joined to its projection by its access leg (or, for a polygon, joined
  at cost 0 to both ends of every piece whose midpoint lies inside it, and to every cut on it),
  each target a leaf joined by its access leg;
* ``networkx.multi_source_dijkstra`` from all source nodes at once (a virtual super source) gives
  the distance and the nearest source of every target;
* a target inside (or on) a polygon source is at distance 0 from it.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import shapely
from shapely.ops import substring

POS_TOL = 1e-7  # two cuts closer than this along one edge are the same node


def main_edges(edge_geoms, u, v, main_component_m: float) -> np.ndarray:
    """Boolean per edge: its connected component (networkx) is the longest or holds at least
    ``main_component_m`` metres."""
    g = nx.MultiGraph()
    for k, (a, b) in enumerate(zip(u, v)):
        g.add_edge(int(a), int(b), key=k)
    lengths = shapely.length(np.asarray(edge_geoms, dtype=object))
    comp_len = {}
    edge_comp = np.zeros(len(lengths), dtype=np.int64)
    for c, nodes in enumerate(nx.connected_components(g)):
        ks = [k for _, _, k in g.edges(nodes, keys=True)]
        edge_comp[ks] = c
        comp_len[c] = float(lengths[ks].sum())
    best = max(comp_len.values(), default=0.0)
    return np.array([comp_len[c] >= main_component_m or comp_len[c] == best for c in edge_comp], dtype=bool)


def nearest_edge(point, edge_geoms: np.ndarray, main: np.ndarray | None = None, island_snap_m: float = 100.0):
    """(edge index, offset along it, access distance) of a geometry's nearest edge, by brute force;
    off a scrap of network onto the real one (``main``) when that is within ``island_snap_m``."""
    d = shapely.distance(point, edge_geoms)
    e = int(np.argmin(d))
    if main is not None and not main[e] and main.any():
        dm = np.where(main, d, np.inf)
        e2 = int(np.argmin(dm))
        if dm[e2] <= island_snap_m:
            e = e2
    if isinstance(point, shapely.Point):
        on_edge = point
    else:  # nearest point of the edge to a polygon / line
        on_edge = shapely.get_point(shapely.shortest_line(edge_geoms[e], point), 0)
    return e, float(shapely.line_locate_point(edge_geoms[e], on_edge)), float(d[e])


def boundary_cuts(area, edge_geoms: np.ndarray):
    """{edge: [positions]} where edges cross or touch the boundary of a polygon / meet a line.

    Every piece of an edge inside the area lies between two such cuts (or the edge's ends), so
    after cutting there, a piece is inside iff its midpoint is: no interval arithmetic needed, and
    no ambiguity on loop edges (whose closing node is both position 0 and the full length).
    """
    out: dict[int, list[float]] = {}
    rim = area.boundary if area.geom_type in ("Polygon", "MultiPolygon") else area
    for e, g in enumerate(edge_geoms):
        if not g.intersects(area):
            continue
        cs = shapely.get_coordinates(g.intersection(rim))
        out[e] = [float(g.project(shapely.Point(c))) for c in cs]
    return out


def reference(
    edge_geoms,
    u,
    v,
    sources,
    targets,
    *,
    cutoff: float | None = None,
    max_snap: float | None = 1000.0,
    touch: float = 0.0,
    main_component_m: float = 1000.0,
    island_snap_m: float = 100.0,
):
    """Distances (and nearest-source positions) of ``targets`` from ``sources``.

    Parameters
    ----------
    edge_geoms, u, v
        Edge LineStrings (metres) and their end node ids; geometry runs from u to v.
    sources, targets
        Sequences of shapely geometries in the same CRS. Sources: points or polygons.
    cutoff
        Distances above it become inf.
    max_snap
        Points farther than this from every edge are unreachable (urbancover's default 1000 m).
    main_component_m, island_snap_m
        The real network and how far a place on a scrap of network looks for it (urbancover's
        settings of the same names).
    touch
        Polygon sources are grown by this many metres (shapely.buffer) before finding where they
        meet edges (urbancover grows them by 1 mm); a target is inside one only without it.

    Returns
    -------
    (dist, src): float array (inf = unreachable) and int array (-1 = none).
    """
    edge_geoms = np.asarray(edge_geoms, dtype=object)
    sources, targets = list(sources), list(targets)
    u = np.asarray(u)
    v = np.asarray(v)
    lengths = shapely.length(edge_geoms)
    main = main_edges(edge_geoms, u, v, main_component_m)
    cuts: dict[int, list[float]] = {e: [0.0, float(lengths[e])] for e in range(len(edge_geoms))}
    zero_cost: dict[int, list[int]] = {}  # edge -> polygon sources meeting it
    src_snap = []  # (source k, edge, pos, access)
    for k, s in enumerate(sources):
        if s is None or s.is_empty:
            continue
        if isinstance(s, shapely.Point):
            e, p, acc = nearest_edge(s, edge_geoms, main, island_snap_m)
            if max_snap is not None and acc > max_snap:
                continue
            src_snap.append((k, e, p, acc))
            cuts[e].append(p)
        else:
            grown = s.buffer(touch) if touch else s
            bc = boundary_cuts(grown, edge_geoms)
            if bc:
                for e, ps in bc.items():
                    zero_cost.setdefault(e, []).append(k)
                    cuts[e] += ps
            else:
                e, p, acc = nearest_edge(s, edge_geoms, main, island_snap_m)
                if max_snap is not None and acc > max_snap:
                    continue
                src_snap.append((k, e, p, acc))
                cuts[e].append(p)
    tgt_snap = []
    for i, t in enumerate(targets):
        e, p, acc = nearest_edge(t, edge_geoms, main, island_snap_m)
        if max_snap is not None and acc > max_snap:
            tgt_snap.append(None)
            continue
        tgt_snap.append((e, p, acc))
        cuts[e].append(p)

    g = nx.MultiGraph()
    def node_of(e: int, p: float):
        ps = cut_pos[e]
        j = int(np.argmin(np.abs(ps - p)))
        return cut_node[e][j]

    cut_pos: dict[int, np.ndarray] = {}
    cut_node: dict[int, list] = {}
    for e, ps in cuts.items():
        L = float(lengths[e])
        ps = np.unique(np.clip(np.asarray(ps, dtype=float), 0.0, L))
        keep = np.r_[True, np.diff(ps) > POS_TOL]
        ps = ps[keep]
        ps[0], ps[-1] = 0.0, L  # the ends stay exact (ends of ~0-length edges merge)
        if len(ps) == 1:
            ps = np.array([0.0, L])
        names = []
        for j, p in enumerate(ps):
            if j == 0:
                names.append(("n", int(u[e])))
            elif j == len(ps) - 1:
                names.append(("n", int(v[e])))
            else:
                names.append(("c", e, j))
        cut_pos[e], cut_node[e] = ps, names
        for j in range(len(ps) - 1):
            w = substring(edge_geoms[e], float(ps[j]), float(ps[j + 1])).length if ps[j + 1] > ps[j] else 0.0
            g.add_edge(names[j], names[j + 1], weight=w)
        for k in zero_cost.get(e, []):
            area = sources[k].buffer(touch) if touch else sources[k]
            # cut points on or in the area, and both ends of every piece whose midpoint is inside
            for p, name in zip(ps, names):
                if area.distance(edge_geoms[e].interpolate(p)) < 1e-9:
                    g.add_edge(("s", k), name, weight=0.0)
            for j in range(len(ps) - 1):
                mid = edge_geoms[e].interpolate((ps[j] + ps[j + 1]) / 2)
                if area.intersects(mid):
                    g.add_edge(("s", k), names[j], weight=0.0)
                    g.add_edge(("s", k), names[j + 1], weight=0.0)
    for k, e, p, acc in src_snap:
        g.add_edge(("s", k), node_of(e, p), weight=acc)
    for i, snap in enumerate(tgt_snap):
        if snap is not None:
            e, p, acc = snap
            g.add_edge(("t", i), node_of(e, p), weight=acc)

    sources_nodes = {n for n in g.nodes if n[0] == "s"}
    dist = np.full(len(targets), np.inf)
    src = np.full(len(targets), -1, dtype=np.int64)
    if sources_nodes:
        d, paths = nx.multi_source_dijkstra(g, sources_nodes, weight="weight")
        for i in range(len(targets)):
            key = ("t", i)
            if key in d:
                dist[i] = d[key]
                src[i] = paths[key][0][1]
    # inside (or on) a polygon source: 0
    for k, s in enumerate(sources):
        if s is None or s.is_empty or isinstance(s, shapely.Point):
            continue
        for i, t in enumerate(targets):
            if s.intersects(t):
                dist[i] = 0.0
                src[i] = k
    if cutoff is not None:
        far = dist > cutoff
        dist[far] = math.inf
        src[far] = -1
    return dist, src
