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


# -- lean networks and duplicate edges ---------------------------------------------------------
def _lines(rows, crs=32650):
    """A GeoDataFrame of ways: (osmid, node ids, coordinates, highway)."""
    import geopandas as gpd
    import shapely

    return gpd.GeoDataFrame(
        {"osmid": [r[0] for r in rows], "node_ids": [np.array(r[1]) for r in rows], "highway": [r[3] for r in rows]},
        geometry=[shapely.LineString(r[2]) for r in rows], crs=crs,
    )


def test_the_same_street_mapped_twice_is_one_edge_lean_or_not(monkeypatch):
    """By hand: way 1 runs A-B-C and way 2 C-B-A over the same nodes (one street mapped twice):
    both split at B, and their four edges are two (A-B, B-C, 100 m each). Way 3 runs over nodes of
    its own at C's, B's and A's coordinates: shared with no way, it is one edge C..A of 200 m, equal
    to no edge as a whole, and stays (edges are compared whole). Way 4 shares A and C but bends
    through (100, 50): a different street, one edge."""
    import urbancover as uc

    monkeypatch.setattr(settings, "edge_chunk", 1)  # (a network of one chunk is never lean)
    a, b, c, bend = (0.0, 0.0), (100.0, 0.0), (200.0, 0.0), (100.0, 50.0)
    ways = _lines([
        (1, [1, 2, 3], [a, b, c], "residential"),
        (2, [3, 2, 1], [c, b, a], "residential"),
        (3, [13, 12, 11], [c, b, a], "service"),
        (4, [1, 4, 3], [a, bend, c], "footway"),
    ])
    for lean in (False, True):
        net = uc.walk_network(ways, filter=None, lean=lean)
        lengths = sorted(net.length.round(6).tolist())
        expected = sorted([100.0, 100.0, 200.0, 2 * float(np.hypot(100.0, 50.0))])
        assert lengths == pytest.approx(expected), lean


def test_coincident_nodes_with_other_ids_still_make_one_edge(monkeypatch):
    """Way 2 retraces way 1 over nodes of its own at the same coordinates: the same street, kept
    once (the old WKB comparison of every edge said so too)."""
    import urbancover as uc

    monkeypatch.setattr(settings, "edge_chunk", 1)
    ways = _lines([
        (1, [1, 2], [(0.0, 0.0), (50.0, 0.0)], "residential"),
        (2, [22, 21], [(50.0, 0.0), (0.0, 0.0)], "residential"),
        (3, [2, 5], [(50.0, 0.0), (50.0, 30.0)], "residential"),
    ])
    for lean in (False, True):
        net = uc.walk_network(ways, filter=None, lean=lean)
        assert net.n_edges == 2 and net.length.sum() == pytest.approx(80.0), lean


def test_lean_network_equals_the_full_one(shenzhen_osm, monkeypatch):
    """A lean network (vertex arrays, LineStrings made when asked) has the full one's edges, nodes,
    columns and geometry, and parts_inside gives the same parts chunk by chunk (chunks of 97
    edges, so the sample's network spans dozens)."""
    import shapely

    import urbancover as uc
    from urbancover.core import intervals, settings
    from urbancover.network.snap import parts_inside

    monkeypatch.setattr(settings, "edge_chunk", 97)
    full = uc.walk_network(shenzhen_osm)
    lean = uc.walk_network(shenzhen_osm, lean=True)
    assert not lean.has_geometry and lean._nodes is None and full._nodes is None
    np.testing.assert_array_equal(lean.u, full.u)
    np.testing.assert_array_equal(lean.v, full.v)
    np.testing.assert_array_equal(lean.length, full.length)
    np.testing.assert_array_equal(lean.node_xy, full.node_xy)
    np.testing.assert_array_equal(lean.node_osmid, full.node_osmid)
    for col in ("osmid", "highway", "name"):
        assert list(lean.edge_values(col)) == list(full.edge_values(col)), col
    assert list(lean.edge_values("tags")) == list(full.edge_values("tags"))
    some = np.arange(0, lean.n_edges, 7)
    assert shapely.equals_exact(lean.lines(some), full.geometry[some], tolerance=0).all()
    assert not lean.has_geometry  # lines() made them for the caller only
    # parts inside two overlapping discs around the middle of the network
    mid = full.node_xy[full.n_nodes // 2]
    discs = np.array([shapely.Point(*mid).buffer(400), shapely.Point(*(mid + 250)).buffer(300)])
    got = intervals.merge(*parts_inside(lean, discs)[:3])
    ref = intervals.merge(*parts_inside(full, discs)[:3])
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=0, atol=1e-9)
    assert intervals.total(got) > 0
    # the layers a user reads are the full one's (minus the way columns a lean network drops)
    edges = lean.edges
    assert lean.has_geometry and len(edges) == full.n_edges
    assert shapely.equals_exact(edges.geometry.values, full.geometry, tolerance=0).all()
    assert (lean.nodes["osmid"].to_numpy() == full.node_osmid).all()


def test_length_inside_by_hand_lean_or_not(monkeypatch):
    """By hand: a 3 x 3 grid of 100 m streets (nodes at x, y in 0, 100, 200; 12 edges, 1200 m) and a
    box from (50, -10) to (250, 160). Inside: the rows y = 0 and y = 100 from x = 50 to 200 (150 m
    each) and the columns x = 100 and x = 200 from y = 0 to 160 (160 m each); the row y = 200 and the
    column x = 0 lie outside. 2 x 150 + 2 x 160 = 620 m. Chunks of 5 edges for the lean network."""
    import shapely

    import urbancover as uc
    from urbancover.core import settings
    from urbancover.network.snap import length_inside

    monkeypatch.setattr(settings, "edge_chunk", 5)
    rows, k = [], 1
    for i in range(3):
        for j in range(2):  # horizontal pieces of row i, vertical pieces of column i
            rows.append((k, [10 * i + j, 10 * i + j + 1], [(100.0 * j, 100.0 * i), (100.0 * j + 100, 100.0 * i)], "residential"))
            rows.append((k + 1, [10 * j + i, 10 * (j + 1) + i], [(100.0 * i, 100.0 * j), (100.0 * i, 100.0 * j + 100)], "residential"))
            k += 2
    box = np.array([shapely.box(50, -10, 250, 160)])
    for lean in (False, True):
        net = uc.walk_network(_lines(rows), filter=None, lean=lean)
        assert net.length.sum() == pytest.approx(1200.0)
        assert net.n_nodes == 9
        assert length_inside(net, box) == pytest.approx(620.0), lean


def test_evaluate_on_a_lean_network_equals_the_full_one(monkeypatch):
    """The whole preset on the Shenzhen sample with its network lean (chunks of 97 edges: snapping
    to nearest edges through a tree per chunk, parts inside polygons chunk by chunk, the segment
    index from vertex arrays) gives the summary and layers of the network holding its LineStrings."""
    import warnings

    import pandas as pd
    import shapely
    from helpers import SHENZHEN

    import urbancover as uc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = uc.evaluate(SHENZHEN)
        monkeypatch.setattr(settings, "edge_chunk", 97)
        lean = uc.evaluate(SHENZHEN)
    assert not lean.context.network.has_geometry and full.context.network.has_geometry
    pd.testing.assert_frame_equal(lean.summary, full.summary, check_exact=False, rtol=1e-9)
    a, b = lean.layers(), full.layers()
    assert sorted(a) == sorted(b)
    for name in a:
        assert len(a[name]) == len(b[name]), name
        ga, gb = a[name].geometry.values, b[name].geometry.values
        assert float(shapely.length(ga).sum()) == pytest.approx(float(shapely.length(gb).sum()), rel=1e-9, abs=1e-6), name
        assert float(shapely.area(ga).sum()) == pytest.approx(float(shapely.area(gb).sum()), rel=1e-9, abs=1e-6), name


def test_nearest_edges_lean_or_not_at_the_same_distance(shenzhen_osm, monkeypatch):
    """Nearest edges (all, or the real network's only) of random points and polygons, through one
    STRtree or a tree per 97-edge chunk: the same distance for every query, checked against shapely
    distances to every edge (brute force)."""
    import shapely

    import urbancover as uc

    monkeypatch.setattr(settings, "edge_chunk", 97)
    full = uc.walk_network(shenzhen_osm)
    lean = uc.walk_network(shenzhen_osm, lean=True)
    assert not lean.has_geometry
    rng = np.random.default_rng(5)
    x0, y0, x1, y1 = full.total_bounds
    pts = shapely.points(rng.uniform(x0, x1, 60), rng.uniform(y0, y1, 60))
    geoms = np.r_[pts, shapely.buffer(pts[:20], 40.0)]
    for main_only in (False, True):
        (qa, ea), da = full.nearest_edges(geoms, main_only=main_only)
        (qb, eb), db = lean.nearest_edges(geoms, main_only=main_only)
        np.testing.assert_array_equal(qa, qb)
        np.testing.assert_allclose(da, db, rtol=0, atol=1e-9)
        pool = np.flatnonzero(full.main_edges) if main_only else np.arange(full.n_edges)
        brute = shapely.distance(geoms[:, None], full.geometry[pool][None, :]).min(axis=1)
        np.testing.assert_allclose(db, brute, rtol=0, atol=1e-9)
        assert full.main_edges[eb].all() or not main_only
