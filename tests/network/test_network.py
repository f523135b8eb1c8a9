"""The network's CSR matrix (urbancover.network.walk.csr_min) against a dense reference."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from urbancover.core import settings
from urbancover.network.walk import csr_min


def _dense_min(rows, cols, w, n):
    """n x n matrix of the lightest entry at each (row, col) (a NaN weight wins, as in np.minimum),
    and where there is an entry at all."""
    m = np.full((n, n), np.inf)
    np.minimum.at(m, (rows, cols), w)
    present = np.zeros((n, n), dtype=bool)
    present[rows, cols] = True
    return m, present


@pytest.mark.parametrize("seed", range(6))
def test_csr_min_keeps_the_lightest_of_duplicates(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    m = int(rng.integers(0, 600))
    rows = rng.integers(0, n, m)
    cols = rng.integers(0, n, m)
    w = rng.integers(0, 6, m).astype(float)  # many duplicates, zero weights among them
    if seed == 0 and m:
        rows[: min(m, 40)] = 0  # one long row (sorted another way than the short ones)
    if seed == 1 and m:
        w[0] = np.nan
    a = csr_min(rows, cols, w, n)
    assert a.shape == (n, n) and a.has_canonical_format  # sorted columns, no duplicates
    ref, present = _dense_min(rows, cols, w, n)
    stored = np.zeros((n, n), dtype=bool)
    r = np.repeat(np.arange(n), np.diff(a.indptr))
    stored[r, a.indices] = True
    np.testing.assert_array_equal(stored, present)  # explicit zeros are kept as entries
    np.testing.assert_array_equal(a.data, ref[r, a.indices])


def test_network_csr_gives_networkx_distances(shenzhen_net):
    """Dijkstra on Network.csr (scipy) equals networkx on the network's own edge list."""
    from scipy.sparse.csgraph import dijkstra

    net = shenzhen_net
    g = nx.Graph()
    g.add_nodes_from(range(net.n_nodes))
    for a, b, w in zip(net.u.tolist(), net.v.tolist(), net.length.tolist()):
        if a != b and (not g.has_edge(a, b) or g[a][b]["length"] > w):
            g.add_edge(a, b, length=w)
    src = [0, net.n_nodes // 2]
    got = dijkstra(net.csr, indices=src)
    for row, s in zip(got, src):
        ref = nx.single_source_dijkstra_path_length(g, s, weight="length")
        exp = np.full(net.n_nodes, np.inf)
        exp[list(ref)] = list(ref.values())
        np.testing.assert_allclose(row, exp, rtol=0, atol=1e-6)
        assert np.isfinite(exp).sum() > net.n_nodes / 2


# -- one array form, its views, and duplicate edges ----------------------------------------------
def _lines(rows, crs=32650):
    """A GeoDataFrame of ways: (osmid, node ids, coordinates, highway)."""
    import geopandas as gpd
    import shapely

    return gpd.GeoDataFrame(
        {"osmid": [r[0] for r in rows], "node_ids": [np.array(r[1]) for r in rows], "highway": [r[3] for r in rows]},
        geometry=[shapely.LineString(r[2]) for r in rows], crs=crs,
    )


def _chunked(chunk: int):
    """The current settings with edges in chunks of ``chunk`` (a network of more edges holds no
    LineString per edge: every pass over them goes chunk by chunk)."""
    return settings.current().replace(edge_chunk=chunk)


@pytest.mark.parametrize("chunk", [1, 100_000])
def test_the_same_street_mapped_twice_is_one_edge(chunk):
    """By hand: way 1 runs A-B-C and way 2 C-B-A over the same nodes (one street mapped twice):
    both split at B, and their four edges are two (A-B, B-C, 100 m each). Way 3 runs over nodes of
    its own at C's, B's and A's coordinates: shared with no way, it is one edge C..A of 200 m, equal
    to no edge as a whole, and stays (edges are compared whole). Way 4 shares A and C but bends
    through (100, 50): a different street, one edge. Lengths made a chunk of one edge at a time, or
    all at once."""
    import urbancover as uc

    a, b, c, bend = (0.0, 0.0), (100.0, 0.0), (200.0, 0.0), (100.0, 50.0)
    ways = _lines([
        (1, [1, 2, 3], [a, b, c], "residential"),
        (2, [3, 2, 1], [c, b, a], "residential"),
        (3, [13, 12, 11], [c, b, a], "service"),
        (4, [1, 4, 3], [a, bend, c], "footway"),
    ])
    net = uc.walk_network(ways, filter=None, settings=_chunked(chunk))
    lengths = sorted(net.length.round(6).tolist())
    expected = sorted([100.0, 100.0, 200.0, 2 * float(np.hypot(100.0, 50.0))])
    assert lengths == pytest.approx(expected)


@pytest.mark.parametrize("chunk", [1, 100_000])
def test_coincident_nodes_with_other_ids_still_make_one_edge(chunk):
    """Way 2 retraces way 1 over nodes of its own at the same coordinates: the same street, kept
    once (the old WKB comparison of every edge said so too)."""
    import urbancover as uc

    ways = _lines([
        (1, [1, 2], [(0.0, 0.0), (50.0, 0.0)], "residential"),
        (2, [22, 21], [(50.0, 0.0), (0.0, 0.0)], "residential"),
        (3, [2, 5], [(50.0, 0.0), (50.0, 30.0)], "residential"),
    ])
    net = uc.walk_network(ways, filter=None, settings=_chunked(chunk))
    assert net.n_edges == 2 and net.length.sum() == pytest.approx(80.0)


def _reference_lines(net):
    """The edges' LineStrings made one by one from the vertex arrays (not through the network)."""
    import shapely

    xy, offsets = net.vertices
    return np.array([shapely.LineString(xy[offsets[e]:offsets[e + 1]]) for e in range(net.n_edges)], dtype=object)


@pytest.mark.parametrize("chunk", [97, 100_000])
def test_views_equal_an_independent_computation(shenzhen_osm, chunk):
    """The views of the Shenzhen sample's network, made from its arrays, equal the LineStrings made
    one by one from the vertex arrays and brute force over them: lines, nearest edges (all, or
    the real network's), parts inside polygons, length inside, the segment index, bounds, and the
    nodes' and edges' GeoDataFrames. Whole (one chunk), and in chunks of 97 edges, where the passes
    run chunk by chunk and make no LineString per edge (checked first, before anything reads
    ``geometry``)."""
    import shapely

    import urbancover as uc
    from urbancover.core import intervals
    from urbancover.network.nearest import nearest_segments
    from urbancover.network.snap import length_inside, parts_inside

    net = uc.walk_network(shenzhen_osm, settings=_chunked(chunk))
    assert net.n_edges > 5 * 97  # (chunks of 97: about ten)
    ref = _reference_lines(net)
    xy, offsets = net.vertices
    assert offsets[0] == 0 and offsets[-1] == len(xy) and (np.diff(offsets) >= 2).all()
    np.testing.assert_array_equal(xy[offsets[:-1]], net.node_xy[net.u])  # each edge runs from u to v
    np.testing.assert_array_equal(xy[offsets[1:] - 1], net.node_xy[net.v])
    np.testing.assert_allclose(net.length, shapely.length(ref), rtol=1e-12, atol=0)
    some = np.arange(3, net.n_edges, 7)
    assert shapely.equals_exact(net.lines(some), ref[some], tolerance=0).all()
    # nearest edges of random points and polygons: the brute-force distance, an edge at that distance
    rng = np.random.default_rng(5)
    x0, y0, x1, y1 = net.total_bounds
    assert (x0, y0, x1, y1) == tuple(shapely.total_bounds(ref))
    pts = shapely.points(rng.uniform(x0, x1, 60), rng.uniform(y0, y1, 60))
    geoms = np.r_[pts, shapely.buffer(pts[:20], 40.0)]
    dist = shapely.distance(geoms[:, None], ref[None, :])
    for main_only in (False, True):
        (q, e), d = net.nearest_edges(geoms, main_only=main_only)
        pool = net.main_edges if main_only else np.ones(net.n_edges, dtype=bool)
        np.testing.assert_array_equal(q, np.arange(len(geoms)))
        np.testing.assert_allclose(d, np.where(pool, dist, np.inf).min(axis=1), rtol=0, atol=1e-9)
        np.testing.assert_allclose(dist[q, e], d, rtol=0, atol=1e-9)
        assert pool[e].all()
    # the segment index: nearest segment at the brute-force distance
    _, _, ds = nearest_segments(net.segment_index, shapely.get_coordinates(pts))
    np.testing.assert_allclose(ds, dist[:60].min(axis=1), rtol=0, atol=1e-9)
    # parts inside two overlapping discs around the middle of the network, per edge
    mid = net.node_xy[net.n_nodes // 2]
    discs = np.array([shapely.Point(*mid).buffer(400), shapely.Point(*(mid + 250)).buffer(300)])
    edge, start, end = intervals.merge(*parts_inside(net, discs)[:3])
    got = np.bincount(edge, weights=end - start, minlength=net.n_edges)
    expected = shapely.length(shapely.intersection(ref, shapely.union_all(discs)))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    assert length_inside(net, discs) == pytest.approx(expected.sum(), abs=1e-6) and expected.sum() > 1000
    if chunk < net.n_edges:  # the passes above went chunk by chunk, keeping no LineString per edge
        assert net._geometry is None
    # the views a user reads
    assert shapely.equals_exact(net.geometry, ref, tolerance=0).all()
    edges = net.edges
    assert len(edges) == net.n_edges and shapely.equals_exact(edges.geometry.values, ref, tolerance=0).all()
    np.testing.assert_array_equal(edges["u"].to_numpy(), net.u)
    np.testing.assert_array_equal(edges["length"].to_numpy(), net.length)
    for col in ("osmid", "highway", "name"):
        assert list(edges[col]) == list(net.edge_values(col)), col
    nodes = net.nodes
    np.testing.assert_array_equal(nodes["osmid"].to_numpy(), net.node_osmid)
    np.testing.assert_array_equal(shapely.get_coordinates(nodes.geometry.values), net.node_xy)


def test_chunking_changes_no_array(shenzhen_osm):
    """The network's arrays do not depend on how its LineStrings are made (whole or by chunks)."""
    import urbancover as uc

    whole = uc.walk_network(shenzhen_osm)
    chunked = uc.walk_network(shenzhen_osm, settings=_chunked(97))
    for name in ("u", "v", "length", "node_xy", "node_osmid"):
        np.testing.assert_array_equal(getattr(chunked, name), getattr(whole, name), err_msg=name)
    for a, b in zip(chunked.vertices, whole.vertices):
        np.testing.assert_array_equal(a, b)
    assert list(chunked.edge_values("tags")) == list(whole.edge_values("tags"))


def test_lean_keyword_is_deprecated_and_ignored():
    """walk_network(..., lean=...) still runs (the README's older examples use it), warns, and
    changes nothing."""
    import urbancover as uc

    ways = _lines([(1, [1, 2, 3], [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0)], "residential")])
    plain = uc.walk_network(ways, filter=None)
    for lean in (True, False):
        with pytest.warns(DeprecationWarning, match="lean= is deprecated"):
            net = uc.walk_network(ways, filter=None, lean=lean)
        np.testing.assert_array_equal(net.length, plain.length)
        np.testing.assert_array_equal(net.vertices[0], plain.vertices[0])


def test_a_network_given_as_geodataframes_keeps_them_as_its_views():
    """Network(nodes, edges, crs): the frames given are its views; its arrays are read from them."""
    import geopandas as gpd
    import shapely

    from urbancover.network.walk import Network

    xy = np.array([[0.0, 0.0], [30.0, 0.0], [30.0, 40.0]])
    nodes = gpd.GeoDataFrame({"osmid": [7, 8, 9]}, geometry=shapely.points(xy), crs=32650)
    geom = [shapely.LineString([xy[0], xy[1]]), shapely.LineString([xy[1], (35.0, 20.0), xy[2]])]
    edges = gpd.GeoDataFrame({"u": [0, 1], "v": [1, 2], "length": shapely.length(geom), "highway": ["a", "b"]},
                             geometry=geom, crs=32650)
    net = Network(nodes=nodes, edges=edges, crs=32650)
    assert net.nodes is nodes and net.edges is edges
    np.testing.assert_array_equal(net.node_xy, xy)
    vxy, offsets = net.vertices
    np.testing.assert_array_equal(offsets, [0, 2, 5])
    np.testing.assert_array_equal(vxy[2:], [[30.0, 0.0], [35.0, 20.0], [30.0, 40.0]])
    assert list(net.edge_values("highway", np.array([1]))) == ["b"]
    assert net.total_bounds == (0.0, 0.0, 35.0, 40.0)


@pytest.mark.parametrize("chunk", [5, 100_000])
def test_length_inside_by_hand(chunk):
    """By hand: a 3 x 3 grid of 100 m streets (nodes at x, y in 0, 100, 200; 12 edges, 1200 m) and a
    box from (50, -10) to (250, 160). Inside: the rows y = 0 and y = 100 from x = 50 to 200 (150 m
    each) and the columns x = 100 and x = 200 from y = 0 to 160 (160 m each); the row y = 200 and the
    column x = 0 lie outside. 2 x 150 + 2 x 160 = 620 m. In chunks of 5 edges, or whole."""
    import shapely

    import urbancover as uc
    from urbancover.network.snap import length_inside

    rows, k = [], 1
    for i in range(3):
        for j in range(2):  # horizontal pieces of row i, vertical pieces of column i
            rows.append((k, [10 * i + j, 10 * i + j + 1], [(100.0 * j, 100.0 * i), (100.0 * j + 100, 100.0 * i)], "residential"))
            rows.append((k + 1, [10 * j + i, 10 * (j + 1) + i], [(100.0 * i, 100.0 * j), (100.0 * i, 100.0 * j + 100)], "residential"))
            k += 2
    box = np.array([shapely.box(50, -10, 250, 160)])
    net = uc.walk_network(_lines(rows), filter=None, settings=_chunked(chunk))
    assert net.length.sum() == pytest.approx(1200.0)
    assert net.n_nodes == 9
    assert length_inside(net, box) == pytest.approx(620.0)
    if chunk < net.n_edges:  # measured from a grid of segments made for the call, and not kept
        assert net._segments is None and net._geometry is None


def test_evaluate_on_a_chunked_network_equals_the_whole_one(monkeypatch):
    """The whole preset on the Shenzhen sample with its network in chunks of 97 edges (snapping
    to nearest edges through a tree per chunk, parts inside polygons chunk by chunk, the segment
    index from vertex arrays) gives the summary and layers of the network holding its LineStrings."""
    import warnings

    import pandas as pd
    import shapely
    from helpers import SHENZHEN

    import urbancover as uc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = uc.evaluate(SHENZHEN)
        monkeypatch.setattr(settings, "edge_chunk", 97)
        chunked = uc.evaluate(SHENZHEN)
    assert chunked.context.network._geometry is None  # (no pass made every LineString)
    pd.testing.assert_frame_equal(chunked.summary, whole.summary, check_exact=False, rtol=1e-9)
    a, b = chunked.layers(), whole.layers()
    assert sorted(a) == sorted(b)
    for name in a:
        assert len(a[name]) == len(b[name]), name
        ga, gb = a[name].geometry.values, b[name].geometry.values
        assert float(shapely.length(ga).sum()) == pytest.approx(float(shapely.length(gb).sum()), rel=1e-9, abs=1e-6), name
        assert float(shapely.area(ga).sum()) == pytest.approx(float(shapely.area(gb).sum()), rel=1e-9, abs=1e-6), name


def test_edge_lengths_are_geos_lengths_to_the_bit():
    """Edge lengths (summed in numpy, without a LineString per edge) are what shapely.length gives
    for each edge's LineString, bit for bit: edges of 1 to 40 segments with awkward coordinates,
    split where the lines share a vertex."""
    import geopandas as gpd
    import shapely

    from urbancover.network.walk import walk_network

    rng = np.random.default_rng(3)
    lines = []
    for n in (2, 3, 9, 17, 41):
        xy = np.cumsum(rng.normal(0, 37.3, (n, 2)), axis=0) + [500_000.123456789, 2_500_000.987654321]
        lines.append(shapely.LineString(xy))
    lines.append(shapely.LineString([lines[2].coords[4], lines[4].coords[20]]))  # splits both at shared vertices
    net = walk_network(gpd.GeoDataFrame(geometry=lines, crs=32649), filter=None)
    assert net.n_edges > len(lines)
    np.testing.assert_array_equal(net.length, shapely.length(net.geometry))
