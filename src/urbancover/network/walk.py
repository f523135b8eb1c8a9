"""The walking network as arrays, and points snapped onto its edges.

A :class:`Network` is an undirected street graph held as numpy arrays (edge end nodes, lengths, the
edges' vertices), with views made when first read (edge LineStrings, the nodes' and edges'
GeoDataFrames, STRtrees) and a symmetric CSR matrix for :mod:`scipy.sparse.csgraph`. Every OSM
way is split at the nodes it shares with other ways (and at its ends), as OSMnx does before
simplification, and every edge keeps its full geometry so distances run along the street's shape.
"""

from __future__ import annotations

import math
import os
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely

from urbancover.core.compiled import compiled
from urbancover.core.errors import InputError, NoWalkableWaysError, warn
from urbancover.core.intervals import ranges
from urbancover.core.settings import Settings, resolve
from urbancover.io.crs import require_crs, transformer, utm_crs_for
from urbancover.io.osm import OSMData, read_osm, walkable_mask
from urbancover.network.nearest import SegmentIndex, lines_in_boxes


class Network:
    """An undirected street network in a projected CRS (metres).

    Attributes
    ----------
    node_xy, node_osmid : numpy.ndarray
        (n, 2) node coordinates and the OSM id of each node (graph node ``i`` is row ``i``).
    u, v, length : numpy.ndarray
        Per edge: the node positions of its two ends (int64) and its length in metres along its
        geometry, which runs from ``u`` to ``v``.
    vertices : tuple of numpy.ndarray
        The edges' shapes: ``(xy, offsets)``, every edge's vertices in order, edge after edge, and
        where each edge's vertices start (``xy[offsets[e]:offsets[e + 1]]``).
    nodes : GeoDataFrame
        One row per graph node (index ``0..n-1``): ``osmid`` and Point geometry. A view, made when
        first read.
    edges : GeoDataFrame
        One row per edge (index ``0..m-1``): ``u``, ``v``, ``length``, ``osmid`` of the way, its tag
        columns, and LineString geometry. A view, made when first read (:meth:`edge_values` reads
        one column without it).
    geometry : numpy.ndarray
        The edges' LineStrings, a view made when first read (for a city, ~100 bytes an edge).
    crs : pyproj.CRS
        The projected CRS of both layers.
    bounds : tuple or None
        (minx, miny, maxx, maxy) of the data the network was built from, in ``crs``; ends of streets
        on this boundary are cut by the extract rather than dead ends.
    settings : Settings
        The settings it was built with (``edge_chunk``, ``main_component_m``); default
        :func:`urbancover.core.settings.current`.

    Notes
    -----
    A network has one form: the arrays above plus the way columns, one row per way. Every other
    view (:attr:`geometry`, :attr:`nodes`, :attr:`edges`, :attr:`tree`, :attr:`main_tree`,
    :attr:`segment_index`, :attr:`csr`, ...) is made from them when first read and kept. How a pass
    over the edges' shapes holds them is the network's own choice (:meth:`lines`,
    :meth:`nearest_edges`, :meth:`over_pairs`): a network of at most :data:`settings.edge_chunk`
    edges, or whose :attr:`geometry` has been read, makes its LineStrings and one STRtree once and
    keeps them; a bigger one makes them a chunk at a time and keeps none, so a 1M-edge city is
    measured without a LineString per edge. The results are the same either way.

    A network given as GeoDataFrames (``Network(nodes, edges, crs)``, as :func:`from_networkx`
    builds it) keeps them as its :attr:`nodes` and :attr:`edges` views and reads its arrays from
    them.
    """

    def __init__(
        self,
        nodes: gpd.GeoDataFrame | None = None,
        edges: gpd.GeoDataFrame | None = None,
        crs: pyproj.CRS | str | int | None = None,
        bounds: tuple[float, float, float, float] | None = None,
        *,
        node_xy: np.ndarray | None = None,
        node_osmid: np.ndarray | None = None,
        edge_columns: dict | None = None,
        vertices: tuple[np.ndarray, np.ndarray] | None = None,
        way_table: pd.DataFrame | None = None,
        settings: Settings | None = None,
    ) -> None:
        if crs is None or not pyproj.CRS(crs).is_projected:
            raise InputError(
                f"a Network needs a projected CRS in metres, got {crs}. Build it with "
                "urbancover.walk_network, or reproject the layers (e.g. to their UTM zone) first."
            )
        if nodes is None and node_xy is None:
            raise InputError("a Network needs its nodes: a GeoDataFrame, or node_xy and node_osmid arrays.")
        if edges is None and (edge_columns is None or (vertices is None and "geometry" not in edge_columns)):
            raise InputError("a Network needs its edges: a GeoDataFrame, or edge_columns with u, v, length and vertices.")
        self.crs = pyproj.CRS(crs)
        self.bounds = bounds
        self.settings = resolve(settings)
        # the views, made when first read (or the GeoDataFrames given)
        self._nodes = nodes
        self._edges = edges
        self._geometry: np.ndarray | None = None
        self._tree: shapely.STRtree | None = None
        self._segments: SegmentIndex | None = None
        # the arrays
        if node_xy is None:
            node_xy = shapely.get_coordinates(nodes.geometry.values)
            node_osmid = nodes["osmid"].to_numpy() if "osmid" in nodes.columns else None
        self.node_xy = np.asarray(node_xy, dtype=float).reshape(-1, 2)
        self.node_osmid = np.asarray(node_osmid if node_osmid is not None else np.arange(len(self.node_xy)))
        if edges is not None:
            edge_columns = {"u": edges["u"], "v": edges["v"], "length": edges["length"], "geometry": edges.geometry.to_numpy()}
        self.u = np.asarray(edge_columns["u"], dtype=np.int64)
        self.v = np.asarray(edge_columns["v"], dtype=np.int64)
        self.length = np.asarray(edge_columns["length"], dtype=float)
        if "geometry" in edge_columns:  # LineStrings given: they are the geometry view
            self._geometry = np.asarray(edge_columns["geometry"], dtype=object)
        self._vertices = vertices
        self._way = edge_columns.get("way")  # each edge's row of way_table (one row per line built from)
        self._ways = way_table
        own = {"u": self.u, "v": self.v, "length": self.length}  # (and any other column given)
        self._columns = own | {k: c for k, c in edge_columns.items() if k not in (*own, "geometry", "way")}
        #: What access legs may not cross (:class:`urbancover.network.barriers.Barriers`), or None: set by
        #: :func:`urbancover.evaluation.context.make_context` from the extract's walls, water and railways.
        self.barriers = None

    # -- views, made when first read ---------------------------------------------------------
    @property
    def nodes(self) -> gpd.GeoDataFrame:
        """The nodes as a GeoDataFrame (``osmid``, Point geometry); made once when first read."""
        if self._nodes is None:
            self._nodes = gpd.GeoDataFrame(
                {"osmid": self.node_osmid}, geometry=shapely.points(self.node_xy), crs=self.crs
            )
        return self._nodes

    @property
    def edges(self) -> gpd.GeoDataFrame:
        """The edges as a GeoDataFrame (their columns, the way columns, :attr:`geometry`); made once
        when first read.
        """
        if self._edges is None:
            own = {k: np.asarray(c) for k, c in self._columns.items()}
            frame = gpd.GeoDataFrame(own | {"geometry": self.geometry}, geometry="geometry", crs=self.crs)
            if self._ways is not None:  # the way columns, with their dtypes
                ways = self._ways.iloc[self._way].reset_index(drop=True)
                frame = gpd.GeoDataFrame(pd.concat([frame, ways], axis=1), geometry="geometry", crs=self.crs)
            self._edges = frame
        return self._edges

    @property
    def geometry(self) -> np.ndarray:
        """Edge LineStrings as a numpy array of shapely geometries; made from :attr:`vertices` once,
        when first read, and kept (then every pass over the edges uses them and one STRtree).
        """
        if self._geometry is None:
            self._geometry = _vertex_lines(*self.vertices, np.arange(self.n_edges))
        return self._geometry

    @property
    def vertices(self) -> tuple[np.ndarray, np.ndarray]:
        """``(xy, offsets)``: the edges' vertices, edge after edge ((V, 2) floats), and where each
        edge's start (``n_edges + 1`` int64: edge ``e`` is ``xy[offsets[e]:offsets[e + 1]]``). A
        network given as GeoDataFrames reads them from its LineStrings once.
        """
        if self._vertices is None:
            xy, edge = shapely.get_coordinates(self._geometry, return_index=True)
            self._vertices = (xy, np.r_[0, np.cumsum(np.bincount(edge, minlength=self.n_edges))])
        return self._vertices

    # -- arrays ------------------------------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        """Number of edges."""
        return len(self.u)

    def edge_values(self, column: str, edges: np.ndarray | None = None) -> np.ndarray | None:
        """The values of one edge column (``highway``, ``name``, ``tags``, ...) for every edge, or for
        ``edges`` (positions), without making the edges' GeoDataFrame; None when there is no such
        column. The way columns are read through each edge's way (one row per way).
        """
        if self._edges is not None:
            if column not in self._edges:
                return None
            values = self._edges[column].to_numpy()
        elif self._ways is not None and column in self._ways.columns:
            way = self._way
            return self._ways[column].to_numpy()[way if edges is None else way[edges]]
        elif column in self._columns:
            values = np.asarray(self._columns[column])
        else:
            return None
        return values if edges is None else values[edges]

    # -- passes over the edges' shapes: held whole or chunk by chunk, by size --------------------
    def _keeps_lines(self) -> bool:
        """The network's policy for its edges' LineStrings: kept (with one STRtree) when it has at
        most :data:`settings.edge_chunk` edges (few; one tree is faster than a tree per chunk) or
        they exist already (:attr:`geometry` was read); else made a chunk at a time and dropped.
        """
        return self._geometry is not None or self.n_edges <= self.settings.edge_chunk

    def lines(self, edges: np.ndarray) -> np.ndarray:
        """LineStrings of some edges (positions), for the caller: taken from :attr:`geometry` when
        the network keeps its lines (:meth:`_keeps_lines`), else made from :attr:`vertices` and not
        kept. O(their vertices).
        """
        edges = np.asarray(edges, dtype=np.int64)
        if self._keeps_lines():
            return self.geometry[edges]
        return _vertex_lines(*self.vertices, edges)

    def edge_chunks(self, edges: np.ndarray | None = None):
        """Edge positions (all, or ``edges``) in consecutive chunks of :data:`settings.edge_chunk`."""
        return _chunks(np.arange(self.n_edges) if edges is None else np.asarray(edges, dtype=np.int64), self.settings)

    def over_pairs(self, geoms: np.ndarray, fn) -> list:
        """``fn(gi, ei, lines_of)`` over the pairs (geometry ``gi``, edge ``ei``) whose shapes meet
        (:func:`shapely.intersects`), and the list of its results; ``lines_of(edges)`` gives the
        LineStrings of edges among ``ei``. ``geoms`` should be prepared (:func:`shapely.prepare`).

        When the network keeps its lines (:meth:`_keeps_lines`): one call, the pairs from its STRtree.
        Else the candidate pairs come from the grid of segments (:attr:`segment_index` when made, else one
        made for the call; :func:`~urbancover.network.nearest.lines_in_boxes`,
        no tree, no LineString of an edge far from every geometry) and are tested in chunks of at most
        :data:`settings.edge_chunk` edges (all pairs of an edge in one call, sorted by edge), whose
        LineStrings are made for the call and dropped. O(P log P) for P candidate pairs: a city's
        facility set no longer costs a LineString and a tree entry for each of its edges.
        """
        if self._keeps_lines():
            gi, ei = self.tree.query(geoms, predicate="intersects")
            return [fn(gi, ei, lambda e: self.geometry[e])]
        # the index snapping keeps; a network never snapped to (a road network measured once) makes
        # one for the call and drops it (the 1M-segment city's roads: ~60 MB kept for nothing)
        index = self._segments if self._segments is not None else self._new_segment_index()
        gi, ei = lines_in_boxes(index, shapely.bounds(geoms))
        del index
        starts = np.flatnonzero(np.r_[True, ei[1:] != ei[:-1]]) if len(ei) else np.zeros(1, dtype=np.int64)
        cuts = np.r_[starts[::max(1, int(self.settings.edge_chunk))], len(ei)]
        out = []
        for a, b in zip(cuts[:-1], cuts[1:]):
            g, e = gi[a:b], ei[a:b]
            edges, at = np.unique(e, return_inverse=True)
            lines = self.lines(edges)
            hit = shapely.intersects(geoms[g], lines[at])
            out.append(fn(g[hit], e[hit], lambda x, edges=edges, lines=lines: lines[np.searchsorted(edges, x)]))
        return out

    @cached_property
    def csr(self) -> sp.csr_matrix:
        """Symmetric n x n CSR matrix of edge lengths; parallel edges keep the shortest.

        Self-loops are left out (they never shorten a path between nodes). Explicit zeros (edges of
        length 0) are kept as edges by :mod:`scipy.sparse.csgraph`.
        """
        keep = self.u != self.v
        rows = np.concatenate([self.u[keep], self.v[keep]])
        cols = np.concatenate([self.v[keep], self.u[keep]])
        w = np.concatenate([self.length[keep], self.length[keep]])
        return csr_min(rows, cols, w, self.n_nodes)

    @property
    def tree(self) -> shapely.STRtree:
        """STRtree over :attr:`geometry` (built once, when first read)."""
        if self._tree is None:
            self._tree = shapely.STRtree(self.geometry)
        return self._tree

    @property
    def segment_index(self) -> SegmentIndex:
        """Grid index of every segment of the edges (built once from :attr:`vertices`; a network
        given as GeoDataFrames from its LineStrings), for
        :func:`urbancover.network.nearest.nearest_segments`. O(segments).
        """
        if self._segments is None:
            self._segments = self._new_segment_index()
        return self._segments

    def _new_segment_index(self) -> SegmentIndex:
        if self._vertices is None and self._geometry is not None:
            return SegmentIndex.from_lines(self._geometry, name="network edges")
        xy, offsets = self.vertices
        line = np.repeat(np.arange(self.n_edges), np.diff(offsets))
        return SegmentIndex.from_vertices(xy, line, self.n_edges, name="network edges")

    @property
    def total_bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the edges, without making their LineStrings."""
        if self._vertices is None:
            return tuple(float(b) for b in shapely.total_bounds(self.geometry))
        xy = self._vertices[0]
        return (float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max()))

    def nearest_edges(self, geoms: np.ndarray, *, main_only: bool = False):
        """For each geometry, the nearest edge (of the real network with ``main_only``:
        :attr:`main_edges`) and its distance: ``(query, edge), distance`` as
        ``STRtree.query_nearest(..., return_distance=True, all_matches=False)`` gives them. Through
        :attr:`tree` (:attr:`main_tree`) when the network keeps its lines (:meth:`_keeps_lines`),
        else through one small STRtree per chunk of :data:`settings.edge_chunk` edges, the nearest
        over the chunks kept (ties: the first). O(G log E) either way.
        """
        geoms = np.asarray(geoms, dtype=object)
        if self._keeps_lines():
            tree, ids = self.main_tree if main_only else (self.tree, None)
            (qi, ki), d = tree.query_nearest(geoms, return_distance=True, all_matches=False)
            return (qi, ki if ids is None else ids[ki]), d
        edges = np.flatnonzero(self.main_edges) if main_only else None
        best = np.full(len(geoms), np.inf)
        edge = np.full(len(geoms), -1, dtype=np.int64)
        for rows in self.edge_chunks(edges):
            (qi, ki), d = shapely.STRtree(self.lines(rows)).query_nearest(geoms, return_distance=True, all_matches=False)
            better = d < best[qi]
            best[qi[better]], edge[qi[better]] = d[better], rows[ki[better]]
        found = np.flatnonzero(edge >= 0)
        return (found, edge[found]), best[found]

    @cached_property
    def node_tree(self):
        """k-d tree of the node coordinates (built once)."""
        from scipy.spatial import cKDTree

        return cKDTree(self.node_xy)

    @cached_property
    def node_edge(self) -> np.ndarray:
        """One edge at each node (the first in edge order), for places that lie on a node."""
        out = np.full(self.n_nodes, -1, dtype=np.int64)
        order = np.arange(self.n_edges)
        out[self.v[::-1]] = order[::-1]
        out[self.u[::-1]] = order[::-1]
        return out

    @cached_property
    def components(self) -> np.ndarray:
        """Connected-component label of every node."""
        from scipy.sparse.csgraph import connected_components

        return connected_components(self.csr, directed=False)[1]

    @cached_property
    def main_edges(self) -> np.ndarray:
        """Boolean per edge: it belongs to the real network, the largest connected component or
        one holding at least :data:`settings.main_component_m` metres of street (O(V + E)).
        """
        if self.n_edges == 0:
            return np.zeros(0, dtype=bool)
        comp = self.components[self.u]
        total = np.bincount(comp, weights=self.length)
        main = (total >= self.settings.main_component_m) | (total == total.max())
        return main[comp]

    @cached_property
    def main_tree(self) -> tuple[shapely.STRtree, np.ndarray]:
        """STRtree over the edges of the real network (:attr:`main_edges`), and their edge ids
        (:attr:`tree` itself when every edge is on the real network: one tree, not two).
        """
        ids = np.flatnonzero(self.main_edges)
        if len(ids) == self.n_edges:
            return self.tree, ids
        return shapely.STRtree(self.geometry[ids]), ids

    def __repr__(self) -> str:
        return (
            f"Network({self.n_nodes} nodes, {self.n_edges} edges, {self.length.sum() / 1000:.1f} km, "
            f"crs=EPSG:{self.crs.to_epsg()})"
        )

    # -- interop -----------------------------------------------------------------------------
    def to_networkx(self):
        """Return a ``networkx.MultiGraph``: nodes keyed by position with ``x``, ``y``, ``osmid``;
        edges keyed by edge index with ``length`` and ``geometry``. The graph carries ``crs``.
        """
        import networkx as nx

        g = nx.MultiGraph(crs=self.crs)
        xy = self.node_xy
        g.add_nodes_from(
            (i, {"x": x, "y": y, "osmid": int(o)}) for i, (x, y, o) in enumerate(zip(xy[:, 0], xy[:, 1], self.node_osmid))
        )
        g.add_edges_from(
            (int(a), int(b), int(k), {"length": float(w), "geometry": geom})
            for k, (a, b, w, geom) in enumerate(zip(self.u, self.v, self.length, self.geometry))
        )
        return g

    def to_osmnx(self):
        """Return an OSMnx-style ``MultiDiGraph`` (both directions, ``x``/``y``, ``length``,
        ``geometry``, ``crs``), usable with ``osmnx`` functions such as ``ox.plot_graph``.
        """
        import networkx as nx

        g = nx.MultiDiGraph(crs=self.crs)
        xy = self.node_xy
        osmid = self.node_osmid
        g.add_nodes_from((int(osmid[i]), {"x": xy[i, 0], "y": xy[i, 1]}) for i in range(self.n_nodes))
        rev = shapely.reverse(self.geometry)
        for k, (a, b, w) in enumerate(zip(self.u, self.v, self.length)):
            g.add_edge(int(osmid[a]), int(osmid[b]), length=float(w), geometry=self.geometry[k], edge=k)
            if a != b:
                g.add_edge(int(osmid[b]), int(osmid[a]), length=float(w), geometry=rev[k], edge=k)
        return g


def csr_min(rows: np.ndarray, cols: np.ndarray, w: np.ndarray, n: int) -> sp.csr_matrix:
    """CSR matrix keeping the minimum of duplicate (row, col) entries (scipy would sum them).

    Columns sorted within each row. A counting sort by row and a sort of each row's few columns
    (compiled): O(E + n) on a street network (rows of a few entries), O(E log E) at worst.
    """
    indptr, indices, data = _csr_min(np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64),
                                     np.asarray(w, dtype=np.float64), int(n))
    return sp.csr_matrix((data, indices, indptr), shape=(n, n))


@compiled
def _csr_min(rows, cols, w, n):
    m = len(rows)
    start = np.empty(n + 1, dtype=np.int64)
    start[0] = 0
    for r in range(n):
        start[r + 1] = 0
    for k in range(m):
        start[rows[k] + 1] += 1
    for r in range(n):
        start[r + 1] += start[r]
    fill = start[:-1].copy()
    c = np.empty(m, dtype=np.int64)
    d = np.empty(m)
    for k in range(m):  # by row, in input order within a row
        p = fill[rows[k]]
        c[p] = cols[k]
        d[p] = w[k]
        fill[rows[k]] += 1
    indptr = np.empty(n + 1, dtype=np.int64)
    indptr[0] = 0
    indices = np.empty(m, dtype=np.int32)
    data = np.empty(m)
    pos = np.int64(0)
    for r in range(n):
        a, b = start[r], start[r + 1]
        if b - a > 16:  # a heap sort of a long row (numba's argsort and slice assignment cost ~3 s to compile)
            _heap_sort_row(c, d, a, b)
        else:  # insertion sort of the row's few entries
            for i in range(a + 1, b):
                ci, di = c[i], d[i]
                j = i - 1
                while j >= a and c[j] > ci:
                    c[j + 1], d[j + 1] = c[j], d[j]
                    j -= 1
                c[j + 1], d[j + 1] = ci, di
        for i in range(a, b):
            if i > a and c[i] == c[i - 1]:  # a parallel edge: keep the lighter (NaN wins, as np.minimum)
                if not (data[pos - 1] <= d[i]) and not math.isnan(data[pos - 1]):
                    data[pos - 1] = d[i]
            else:
                indices[pos] = c[i]
                data[pos] = d[i]
                pos += 1
        indptr[r + 1] = pos
    return indptr, indices[:pos].copy(), data[:pos].copy()


@compiled
def _heap_sort_row(c, d, a, b):
    """Sort ``c[a:b]`` in place, moving ``d[a:b]`` with it (the order of equal ``c`` is free: the
    caller keeps their minimum). O(k log k) for k = b - a. (The sift is written in, not a function
    of its own: each compiled function costs ~0.1 s on a fresh install.)
    """
    k = b - a
    start = k // 2  # heapify (sift each root from k // 2 - 1 down to 0), then pop the largest to the end
    end = k
    while end > 1:
        if start > 0:
            start -= 1
            root = start
        else:
            end -= 1
            c[a], c[a + end] = c[a + end], c[a]
            d[a], d[a + end] = d[a + end], d[a]
            root = np.int64(0)
        while True:  # move entry root down the max-heap of c[a:a + end]
            child = 2 * root + 1
            if child >= end:
                break
            if child + 1 < end and c[a + child] < c[a + child + 1]:
                child += 1
            if c[a + root] >= c[a + child]:
                break
            c[a + root], c[a + child] = c[a + child], c[a + root]
            d[a + root], d[a + child] = d[a + child], d[a + root]
            root = child


# -- building ------------------------------------------------------------------------------------
def walkable(ways: pd.DataFrame, settings: Settings | None = None) -> np.ndarray:
    """Boolean mask of the ways a pedestrian may use (OSMnx ``network_type="walk"``).

    Applies :data:`urbancover.core.settings.walk_exclude` to each way's ``tags``
    (:func:`urbancover.io.osm.walkable_mask`, which the reader uses too).
    """
    return walkable_mask(ways["tags"], settings=settings)


def walk_network(
    source: str | os.PathLike | OSMData | gpd.GeoDataFrame,
    *,
    filter: str | None = "walk",
    clip=None,
    crs: pyproj.CRS | str | int | None = None,
    lean: bool | None = None,
    settings: Settings | None = None,
) -> Network:
    """Build the walking network from an OSM extract or from ways already read.

    Parameters
    ----------
    source
        Path of an OSM extract (read with :func:`urbancover.read_osm`), an :class:`OSMData`, or a
        GeoDataFrame of street LineStrings in any CRS. A GeoDataFrame with a ``node_ids`` column
        (as in ``OSMData.ways``) is split at shared node ids; without it, lines are split where
        they share end points or vertices (coordinates rounded to 1 mm).
    filter
        ``"walk"`` (default) keeps the ways OSMnx's ``network_type="walk"`` keeps; ``None`` keeps
        every line given. Only applies to sources with a ``tags`` column.
    clip
        Study area, passed to :func:`read_osm` when ``source`` is a path.
    crs
        Projected CRS to build in; default the UTM zone of the data.
    lean
        Deprecated, ignored (a ``DeprecationWarning`` when given). Every network now holds its
        edges as vertex arrays and makes their LineStrings when first read
        (:attr:`Network.geometry`); passes over them (snapping, parts inside polygons, road
        lengths) keep them and one STRtree for a network of at most :data:`settings.edge_chunk`
        edges, and make them a chunk at a time for a bigger one, as ``lean=True`` did.
    settings
        The :class:`~urbancover.core.settings.Settings` to build with (the walking filter, chunks, the
        real network's size; kept as :attr:`Network.settings`); default
        :func:`urbancover.core.settings.current`.

    Returns
    -------
    Network
        Undirected; every connected component is kept (places on different components are
        unreachable from each other, distance ``inf``).

    Raises
    ------
    NoWalkableWaysError
        No way passes the filter.

    Notes
    -----
    O(W log W) for W way vertices (a sort to find shared nodes); geometry is built vectorised. The
    same street mapped twice (two ways over the same nodes) becomes one edge.

    Examples
    --------
    >>> net = urbancover.walk_network("data/sample/shenzhen_longgang.osm.bz2")
    >>> net.crs.to_epsg()
    32650
    """
    if lean is not None:
        warn(
            "walk_network: lean= is deprecated and ignored: every Network holds its edges as arrays and "
            "makes their LineStrings when read (or a chunk at a time for a big network). Drop the keyword.",
            DeprecationWarning,
        )
    s = resolve(settings)
    name = "source"
    bounds = None
    if isinstance(source, (str, os.PathLike)):
        name = str(source)
        source = read_osm(source, clip=clip, settings=s)
    if isinstance(source, OSMData):
        name = str(source.path)
        target_crs = pyproj.CRS(crs) if crs is not None else source.crs
        bounds_poly = gpd.GeoSeries([source.boundary], crs=4326).to_crs(target_crs)
        bounds = tuple(float(b) for b in bounds_poly.total_bounds)
        # the extract's one projected copy of its ways when building in its own CRS (the walking
        # network and every street network of an evaluation share it: no reprojection each)
        ways = source.projected("ways") if target_crs.is_exact_same(source.crs) else source.ways
        if filter == "walk" and len(ways):
            ways = ways[source.walkable(s)]  # (computed once per extract)
            filter = None
    elif isinstance(source, gpd.GeoDataFrame):
        ways = require_crs(source, "source")
        target_crs = pyproj.CRS(crs) if crs is not None else (ways.crs if ways.crs.is_projected else None)
        if target_crs is None:
            target_crs = utm_crs_for(ways) if len(ways) else None
    else:
        raise InputError(
            f"walk_network: source must be a path, an OSMData or a GeoDataFrame of lines, not {type(source).__name__}."
        )
    if filter is not None and "tags" in ways.columns and len(ways):
        if filter != "walk":
            raise InputError(f"walk_network: filter must be 'walk' or None, not {filter!r}.")
        ways = ways[walkable(ways, s)]
    if len(ways) and "node_ids" not in ways.columns:
        # a user layer's MultiLineStrings are streets too: use their parts
        multi = shapely.get_type_id(ways.geometry.values) == shapely.GeometryType.MULTILINESTRING
        if multi.any():
            ways = ways.explode(index_parts=False)
    lines = ways[shapely.get_type_id(ways.geometry.values) == shapely.GeometryType.LINESTRING] if len(ways) else ways
    if len(lines) == 0:
        raise NoWalkableWaysError(
            f"{name}: no walkable ways (no OSM way with a highway tag open to pedestrians). Check that the extract "
            "covers streets, or pass filter=None to use every line."
        )
    if target_crs is None or not pyproj.CRS(target_crs).is_projected:
        raise InputError(f"walk_network: crs must be a projected CRS in metres, got {target_crs}.")
    geoms = lines.geometry.values
    if shapely.has_z(geoms).any():
        lines = lines.to_crs(target_crs)
        coords = None
    else:  # the vertices reprojected as GeoSeries.to_crs does (same transformer), without making LineStrings
        coords = shapely.get_coordinates(geoms, return_index=True)
        if not pyproj.CRS(lines.crs).is_exact_same(pyproj.CRS(target_crs)):
            x, y = transformer(lines.crs, target_crs).transform(coords[0][:, 0], coords[0][:, 1])
            coords = (np.c_[x, y], coords[1])
    if bounds is None:
        xy = coords[0] if coords is not None else shapely.get_coordinates(lines.geometry.values)
        bounds = (tuple(float(b) for b in (*np.nanmin(xy, axis=0), *np.nanmax(xy, axis=0))) if len(xy)
                  else tuple(float(b) for b in lines.to_crs(target_crs).total_bounds))
    return Network(**_split_into_edges(lines, settings=s, coords=coords, crs=target_crs), bounds=bounds, settings=s)


def _chunks(ids: np.ndarray, s: Settings):
    """``ids`` in consecutive chunks of :data:`settings.edge_chunk`."""
    step = max(1, int(s.edge_chunk))
    for lo in range(0, len(ids), step):
        yield ids[lo:lo + step]


def _vertex_rows(offsets: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the vertex array holding ``edges``' vertices (in order), and their offsets."""
    counts = offsets[edges + 1] - offsets[edges]
    new = np.r_[0, np.cumsum(counts)]
    return np.repeat(offsets[edges], counts) + ranges(counts), new


def _vertex_lines(xy: np.ndarray, offsets: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """LineStrings of ``edges`` from a vertex array and its per-edge offsets."""
    take, new = _vertex_rows(offsets, edges)
    return shapely.linestrings(xy[take], indices=np.repeat(np.arange(len(edges)), np.diff(new)))


def _edge_lengths(xy: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Length of each edge (vertices ``xy[offsets[i]:offsets[i + 1]]``), summed as GEOS sums a
    LineString's length (``shapely.length``): ``sqrt(dx * dx + dy * dy)`` per segment, added left to
    right from the first, so the figures are the same to the bit, without making a LineString. One
    numpy step per segment position (edges sorted by their number of segments), O(total segments).
    """
    d = np.diff(xy, axis=0)
    seg = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])  # seg[k]: vertex k to k + 1 (across edges too; never read)
    del d
    n_seg = np.diff(offsets) - 1
    out = seg[offsets[:-1]].copy() if len(seg) else np.zeros(len(n_seg))
    if len(n_seg) and n_seg.max() > 1:
        order = np.argsort(-n_seg, kind="stable")
        active = np.searchsorted(-n_seg[order], -np.arange(1, int(n_seg.max())), side="left")  # edges with > k segments
        first = offsets[:-1][order]
        for k, n in enumerate(active.tolist(), start=1):
            out[order[:n]] += seg[first[:n] + k]
    return out


def _coordinate_classes(xy: np.ndarray) -> np.ndarray:
    """For each point, a number shared by exactly the points at the same coordinates."""
    order = np.lexsort((xy[:, 1], xy[:, 0]))
    sx, sy = xy[order, 0], xy[order, 1]
    new = np.r_[True, (sx[1:] != sx[:-1]) | (sy[1:] != sy[:-1])]
    out = np.empty(len(xy), dtype=np.int64)
    out[order] = np.cumsum(new) - 1
    return out


def _group_sizes(*keys: np.ndarray) -> np.ndarray:
    """For each row, how many rows share all its integer ``keys``. O(n log n), one lexsort."""
    n = len(keys[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort(keys[::-1])
    same = np.ones(n - 1, dtype=bool)
    for k in keys:
        sk = k[order]
        same &= sk[1:] == sk[:-1]
    group = np.cumsum(np.r_[True, ~same]) - 1
    out = np.empty(n, dtype=np.int64)
    out[order] = np.bincount(group)[group]
    return out


def _split_into_edges(lines: gpd.GeoDataFrame, settings: Settings | None = None, coords=None, crs=None) -> dict:
    """Split lines at shared nodes into edges; returns the keyword arguments of :class:`Network`:
    node arrays, edge columns, the edges' vertex arrays and the lines' columns one row per line. No
    LineString per edge is kept (lengths are summed from the vertex arrays; the duplicate check
    makes the LineStrings of the few candidate edges only). ``settings`` is unused (kept for callers).
    ``coords``: the lines' vertices and their line numbers (``shapely.get_coordinates(...,
    return_index=True)``) already in ``crs``, when the caller reprojected them (default: those of
    ``lines``, in ``lines.crs``).
    """
    if coords is None:
        coords = shapely.get_coordinates(lines.geometry.values, return_index=True)
        crs = lines.crs
    coords, line_of = coords
    if "node_ids" in lines.columns:
        ids = np.concatenate(lines["node_ids"].to_list()).astype(np.int64)
        if len(ids) != len(coords):
            raise InputError("source: 'node_ids' must hold one node id per vertex of each line.")
    else:
        key = np.round(coords, 3)
        _, ids = np.unique(key, axis=0, return_inverse=True)
        ids = ids.ravel().astype(np.int64)
    # drop repeated consecutive vertices (same node twice in a row)
    same_line = np.r_[False, line_of[1:] == line_of[:-1]]
    dup = same_line & np.r_[False, ids[1:] == ids[:-1]]
    coords, line_of, ids = coords[~dup], line_of[~dup], ids[~dup]
    first = np.r_[True, line_of[1:] != line_of[:-1]]
    last = np.r_[line_of[1:] != line_of[:-1], True]
    # lines reduced to a single vertex have no edge
    single = first & last
    if single.any():
        drop = np.isin(line_of, line_of[single])
        coords, line_of, ids = coords[~drop], line_of[~drop], ids[~drop]
        first, last = first[~drop], last[~drop]
    if len(ids) == 0:
        raise NoWalkableWaysError("source: every line has zero length; no network can be built.")
    uniq, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    shared = counts[inverse] > 1
    # a way that turns back on itself (A B A, common in exported graphs) is split at the turn so
    # the two runs become identical edges, one of which is dropped below
    turn = np.zeros(len(ids), dtype=bool)
    turn[1:-1] = ~first[1:-1] & ~last[1:-1] & (ids[:-2] == ids[2:])
    is_node = shared | first | last | turn
    del counts, shared, turn, first, same_line, dup  # (a city's network: ~8 MB per array)
    # segment k runs from vertex k to k+1 (only where k is not the last vertex of its line)
    seg = np.flatnonzero(~last)
    starts_edge = is_node[seg]
    edge_of_seg = np.cumsum(starts_edge) - 1
    n_edges = int(edge_of_seg[-1]) + 1
    # vertices of each edge: the start vertex of each of its segments, plus the end of its last one
    # an edge's segments are consecutive ones of one line: its vertices run from its start vertex
    # to its end vertex (no sort)
    last_seg_of_edge = np.r_[np.flatnonzero(np.diff(edge_of_seg)), len(seg) - 1]
    del edge_of_seg
    start_vertex = seg[starts_edge]
    end_vertex = seg[last_seg_of_edge] + 1
    del seg, starts_edge, last_seg_of_edge, is_node, last
    n_vert = end_vertex - start_vertex + 1
    offsets = np.r_[0, np.cumsum(n_vert)]
    vert = np.repeat(start_vertex, n_vert) + ranges(n_vert)
    del n_vert
    # nodes: the distinct ids at edge ends in id order, numbered by their rank among all distinct
    # ids (from the sort above, not a second one)
    at_end = np.zeros(len(uniq), dtype=bool)
    at_end[inverse[start_vertex]] = True
    at_end[inverse[end_vertex]] = True
    rank = np.cumsum(at_end) - 1
    node_osmid = uniq[at_end]
    u, v = rank[inverse[start_vertex]], rank[inverse[end_vertex]]
    del uniq, inverse, at_end, rank
    # node coordinates: any vertex carrying that id
    node_vertex = np.empty(len(node_osmid), dtype=np.int64)
    node_vertex[u] = start_vertex
    node_vertex[v] = end_vertex
    src_line = line_of[start_vertex]
    node_xy = coords[node_vertex]
    xy = coords[vert]
    del coords, line_of, ids, vert
    lengths = _edge_lengths(xy, offsets)
    # the same street mapped twice (a way retracing itself, or two ways over the same nodes) would
    # count its length twice: keep one edge per geometry, whichever direction it runs. Only edges
    # joining the same two places (nodes at the same coordinates, either way round) with as many
    # vertices can be equal: only their normalized geometries are compared, not every edge's
    place = _coordinate_classes(node_xy)
    group_size = _group_sizes(np.minimum(place[u], place[v]), np.maximum(place[u], place[v]), np.diff(offsets))
    dup = np.zeros(n_edges, dtype=bool)
    maybe = np.flatnonzero((group_size > 1) | (u == v))  # (normalize turns a closed line to start at its least vertex)
    if len(maybe):
        cand = _vertex_lines(xy, offsets, maybe)
        key = shapely.to_wkb(shapely.normalize(cand))
        dup[maybe] = pd.Series(key).duplicated().to_numpy()
    keep = ~dup
    # u, v and length are the network's own columns (a layer such as OSMnx's edges may carry its own)
    own = (lines.geometry.name, "geometry", "node_ids", "u", "v", "length")
    drop = [c for c in lines.columns if c in own]
    table = lines.drop(columns=drop).reset_index(drop=True)  # one row per line
    if "osmid" not in table.columns:
        table.insert(0, "source_row", lines.index.to_numpy())
    out = {"crs": crs, "node_xy": node_xy, "node_osmid": node_osmid}
    # the way columns stay one row per way; each edge points to its way's row
    if dup.any():
        u, v, lengths, src_line = u[keep], v[keep], lengths[keep], src_line[keep]
        take, offsets = _vertex_rows(offsets, np.flatnonzero(keep))
        xy = xy[take]
    out["edge_columns"] = {"u": u, "v": v, "length": lengths, "way": src_line}
    out["way_table"] = table
    out["vertices"] = (xy, offsets)
    return out


def from_networkx(graph, crs: pyproj.CRS | str | int | None = None) -> Network:
    """Build a :class:`Network` from a networkx / OSMnx graph with node ``x``, ``y`` in a projected CRS.

    Edges use their ``geometry`` when present, else a straight line between the nodes; ``length``
    is recomputed from the geometry. Directed graphs are made undirected (one edge per key and
    direction pair is kept). Project an OSMnx graph first (``ox.project_graph``).
    """
    crs = pyproj.CRS(crs if crs is not None else graph.graph.get("crs"))
    if crs is None or not crs.is_projected:
        raise InputError("from_networkx: the graph needs a projected 'crs' (use ox.project_graph first).")
    node_keys = list(graph.nodes)
    pos = {k: i for i, k in enumerate(node_keys)}
    xy = np.array([[graph.nodes[k]["x"], graph.nodes[k]["y"]] for k in node_keys], dtype=float)
    seen = set()
    u, v, geoms = [], [], []
    multi = graph.is_multigraph()
    it = graph.edges(keys=True, data=True) if multi else ((a, b, 0, d) for a, b, d in graph.edges(data=True))
    for a, b, k, d in it:
        key = (min(pos[a], pos[b]), max(pos[a], pos[b]), k)
        if graph.is_directed():  # keep one of the two directions of each street
            if key in seen:
                continue
            seen.add(key)
        geom = d.get("geometry")
        if geom is None:
            geom = shapely.linestrings([xy[pos[a]], xy[pos[b]]])
        elif pos[a] != pos[b]:
            # an undirected graph may report an edge as (b, a) while its geometry runs a -> b;
            # offsets along an edge are measured from u, so the geometry must start at u
            start = shapely.get_coordinates(geom)[0]
            if np.hypot(*(start - xy[pos[b]])) < np.hypot(*(start - xy[pos[a]])):
                geom = shapely.reverse(geom)
        u.append(pos[a])
        v.append(pos[b])
        geoms.append(geom)
    nodes = gpd.GeoDataFrame({"osmid": node_keys}, geometry=shapely.points(xy), crs=crs)
    geoms = np.asarray(geoms, dtype=object)
    edges = gpd.GeoDataFrame(
        {"u": u, "v": v, "length": shapely.length(geoms)}, geometry=geoms, crs=crs
    )
    return Network(nodes=nodes, edges=edges, crs=crs)


def line_substrings(lines: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The part of each line between ``start`` and ``end`` metres from its first vertex (vectorised
    ``shapely.ops.substring`` for ``0 <= start < end <= length``), from :func:`substring_coords`.
    O(total vertices).
    """
    lines = np.asarray(lines, dtype=object)
    if len(lines) == 0:
        return np.zeros(0, dtype=object)
    xy, piece = substring_coords(lines, np.arange(len(lines)), np.asarray(start, float), np.asarray(end, float))
    return shapely.linestrings(xy, indices=piece)


def piece_areas(network: Network, edge: np.ndarray, start: np.ndarray, end: np.ndarray, group: np.ndarray,
                width: float, quad_segs: int) -> np.ndarray:
    """One polygon per group of street pieces (``start``..``end`` metres along ``edge``; ``group``:
    0..g-1 per piece): the union of the pieces buffered by ``width`` metres, as service areas draw
    them. Every piece is buffered, then one union per group (a row of a padded array): 2-4x faster
    than buffering each group's MultiLineString, and the same polygon (buffer distributes over union).
    """
    group = np.asarray(group, dtype=np.int64)
    if len(group) == 0:
        return np.zeros(0, dtype=object)
    pieces = line_substrings(network.lines(np.asarray(edge)), start, end)
    cnt = np.bincount(group)
    grid = np.full((len(cnt), int(cnt.max())), None, dtype=object)
    order = np.argsort(group, kind="stable")
    rank = np.empty(len(group), dtype=np.int64)
    rank[order] = np.arange(len(group)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    grid[group, rank] = shapely.buffer(pieces, width, quad_segs=quad_segs)
    return shapely.union_all(grid, axis=1)


def substring_coords(
    lines: np.ndarray, edge: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of the pieces ``start``..``end`` metres along ``lines[edge]`` (pieces sorted by
    edge and start, not overlapping), as ``(xy, piece)`` arrays in drawing order.

    What :func:`line_substrings` cuts, without making a LineString per piece (the maps draw the
    vertices directly): each edge's vertices are read once (not once per piece) and the piece
    ends are interpolated with numpy, so a city's pieces cost one sort. O((v + n) log(v + n)) for
    v edge vertices and n pieces.
    """
    coords, vidx = shapely.get_coordinates(lines, return_index=True)
    seg = np.r_[0.0, np.hypot(*np.diff(coords, axis=0).T)]
    first = np.r_[True, vidx[1:] != vidx[:-1]]
    seg[first] = 0.0
    cum = np.cumsum(seg)
    cum -= cum[np.flatnonzero(first)][np.cumsum(first) - 1]
    span = float(cum.max()) + 1.0 if len(cum) else 1.0
    vkey = vidx * span + cum
    last = np.r_[np.flatnonzero(first)[1:], len(coords)] - 1  # last vertex of each line

    def at(e, p):
        j = np.searchsorted(vkey, e * span + p, side="right") - 1
        j = np.clip(j, np.flatnonzero(first)[e], last[e] - 1)
        d = cum[j + 1] - cum[j]
        t = np.divide(p - cum[j], d, out=np.zeros(len(j)), where=d > 0)
        return coords[j] + np.clip(t, 0.0, 1.0)[:, None] * (coords[j + 1] - coords[j])

    n = len(edge)
    piece = np.searchsorted(edge * span + start, vkey, side="right") - 1
    pc = np.clip(piece, 0, max(n - 1, 0))
    inner = (piece >= 0) & (edge[pc] == vidx) & (cum > start[pc]) & (cum < end[pc])
    k = np.arange(n)
    part = np.concatenate([k, pc[inner], k])
    pos = np.concatenate([start, cum[inner], end])
    rank = np.concatenate([np.zeros(n), np.ones(inner.sum()), np.full(n, 2.0)])
    xy = np.concatenate([at(edge, start), coords[inner], at(edge, end)])
    order = np.lexsort((pos, rank, part))
    return xy[order], part[order]
