"""Network distance on small hand-built graphs, worked out by hand and cross-checked with networkx.

Every graph lives in EPSG:32650 around (500000, 2500000); coordinates in the tests are local metres
(see helpers.xy). Each expected value is written as arithmetic in the test, then compared both with
urbancover and with the independent networkx reference of nxref.py.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import TOUCH, box, geoms, hand_reference, line, lines_gdf, points, poly, pt, xy

import urbancover as uc

TOL = 1e-6
# area facilities are met by streets within 1 mm of them (engine.TOUCH): distances to them may be
# up to 1 mm shorter than the exact figure
POLY_TOL = 2e-3


def check(lines, sources, targets, expected, *, cutoff=None, tol=TOL):
    """urbancover and the networkx reference both give ``expected`` (inf where inf).

    The exact reference must match the hand value to 1e-6; urbancover to ``tol`` (it meets area
    facilities within 1 mm, so POLY_TOL for them), and to 1e-6 the reference that grows areas by
    the same 1 mm.
    """
    net = uc.walk_network(lines_gdf(*lines), filter=None)
    got = uc.network_distance(net, sources, targets, cutoff=cutoff)
    ref, _ = hand_reference(lines, sources, targets, cutoff=cutoff)
    expected = np.asarray(expected, dtype=float)
    np.testing.assert_allclose(ref, expected, atol=TOL, rtol=0, err_msg="reference disagrees with hand value")
    np.testing.assert_allclose(got, expected, atol=tol, rtol=0, err_msg="urbancover disagrees with hand value")
    assert np.array_equal(np.isinf(got), np.isinf(expected))
    ref_touch, _ = hand_reference(lines, sources, targets, cutoff=cutoff, touch=TOUCH)
    np.testing.assert_allclose(got, ref_touch, atol=TOL, rtol=0, err_msg="urbancover disagrees with reference")
    return net, got


# -- building ------------------------------------------------------------------------------------
def test_lines_split_where_they_share_vertices():
    # A T: the bar (0,0)-(100,0)-(200,0) has an interior vertex at (100,0) where the stem starts.
    # The bar must become two edges (100 m each), the stem one: 3 edges, 4 nodes, 300 m.
    lines = [line((0, 0), (100, 0), (200, 0)), line((100, 0), (100, 50))]
    net = uc.walk_network(lines_gdf(*lines), filter=None)
    assert net.n_edges == 3
    assert net.n_nodes == 4
    assert sorted(net.length) == pytest.approx([50.0, 100.0, 100.0])
    # each edge's geometry runs from its u node to its v node
    nxy = shapely.get_coordinates(net.nodes.geometry.values)
    for e, g in enumerate(net.geometry):
        cs = shapely.get_coordinates(g)
        assert cs[0] == pytest.approx(nxy[net.u[e]])
        assert cs[-1] == pytest.approx(nxy[net.v[e]])
    # the T is connected: from the stem tip to the bar's end is 50 + 100
    d = uc.network_distance(net, points((100, 50)), points((0, 0)))
    assert d[0] == pytest.approx(150.0)


def test_lines_crossing_without_shared_vertex_are_not_joined():
    # Two lines cross at (50, 0) without a vertex there (a bridge): no junction, two components.
    lines = [line((0, 0), (100, 0)), line((50, -50), (50, 50))]
    # source at (0,0) on the first line, target at the top (50,50) of the second: unreachable
    check(lines, points((0, 0)), points((50, 50)), [math.inf])


# -- the definition, case by case ----------------------------------------------------------------
def test_same_edge_direct_run():
    # One edge (0,0)-(1000,0). Source (300, 10): projection 300, access 10.
    # Target (400, -20): projection 400, access 20.
    # Direct run along the edge: 10 + (400 - 300) + 20 = 130.
    # Via the nodes it would be 10 + 300 + 400 + 20 = 730 (or 10 + 700 + 600 + 20).
    lines = [line((0, 0), (1000, 0))]
    # second target before the source on the edge: 10 + (300 - 250) + 5 = 65
    check(lines, points((300, 10)), points((400, -20), (250, 5)), [130.0, 65.0])


def test_same_edge_direct_run_on_an_inner_edge():
    # A chain A(0,0)-B(100,0)-C(300,0)-D(400,0); source and target both on B-C.
    # Source (150, 3) -> 3 + target (260, -4) -> 4, run 110: 3 + 110 + 4 = 117
    # (via B and C: 3 + 50 + 200 + 40 + 4 = 297).
    lines = [line((0, 0), (100, 0)), line((100, 0), (300, 0)), line((300, 0), (400, 0))]
    check(lines, points((150, 3)), points((260, -4)), [117.0])


def test_point_beyond_end_of_edge_projects_on_end_node():
    # Edge (0,0)-(100,0). Target (130, 40) lies beyond the end: its projection is the end node
    # (100, 0), access = hypot(30, 40) = 50. Source (20, 0): access 0, run 100 - 20 = 80.
    # Distance 50 + 80 + 0 = 130. A source beyond the start at (-6, 8): access 10, run 100 -> 160.
    lines = [line((0, 0), (100, 0))]
    check(lines, points((20, 0)), points((130, 40)), [130.0])
    check(lines, points((-6, 8)), points((130, 40)), [10 + 100 + 50.0])


def test_two_components_are_unreachable():
    # Component 1: (0,0)-(100,0)-(200,0); component 2: (0,500)-(100,500), 500 m away.
    # Source (50, 10) on component 1. Target (50, 490) snaps to component 2 (10 m from it,
    # 490 m from component 1): inf. Target (150, -10) on component 1: 10 + 100 + 10 = 120.
    lines = [line((0, 0), (100, 0)), line((100, 0), (200, 0)), line((0, 500), (100, 500))]
    net, got = check(lines, points((50, 10)), points((50, 490), (150, -10)), [math.inf, 120.0])
    assert len(np.unique(net.components)) == 2


def test_cutoff_just_below_and_above():
    # Same-edge case above: the distance is exactly 130.
    lines = [line((0, 0), (1000, 0))]
    src, tgt = points((300, 10)), points((400, -20))
    check(lines, src, tgt, [math.inf], cutoff=129.99)
    check(lines, src, tgt, [130.0], cutoff=130.01)
    # via nodes: chain A(0,0)-B(100,0)-C(200,0), source (10, 0) on A-B, target (190, 0) on B-C:
    # 90 + 90 = 180; the target is reached through B, whose node distance (90) is within the
    # cut-off, but the total is not.
    lines = [line((0, 0), (100, 0)), line((100, 0), (200, 0))]
    check(lines, points((10, 0)), points((190, 0)), [math.inf], cutoff=179.9)
    check(lines, points((10, 0)), points((190, 0)), [180.0], cutoff=180.1)
    check(lines, points((10, 0)), points((190, 0)), [180.0], cutoff=None)


def test_curved_edge_uses_length_along_polyline_not_chord():
    # A U-shaped edge (0,0)-(100,0)-(100,100)-(0,100): 300 m along it, chord 100 m.
    # Source (0, -5): projection (0,0) at 0, access 5. Target (-3, 104): projection (0, 100)
    # (the end; distance hypot(3, 4) = 5), at 300. Distance 5 + 300 + 5 = 310.
    # Straight line between them: hypot(3, 109) ~ 109.04.
    lines = [line((0, 0), (100, 0), (100, 100), (0, 100))]
    net, got = check(lines, points((0, -5)), points((-3, 104)), [310.0])
    assert net.length[0] == pytest.approx(300.0)
    # a target in the middle of the right side, (110, 50): projection at 100 + 50, access 10
    # -> 5 + 150 + 10 = 165
    check(lines, points((0, -5)), points((110, 50)), [165.0])


def test_parallel_edges_use_the_shorter():
    # A(0,0) and B(100,0) are joined twice: a bent way via (50, 80) (2 * hypot(50, 80) ~ 188.68 m)
    # listed first, and a straight one (100 m). D(-200,0)-A and B-C(300,0) continue them.
    # Source (-100, 0) on D-A, target (200, 0) on B-C: 100 + 100 + 100 = 300 (not 388.68).
    bent = line((0, 0), (50, 80), (100, 0))
    lines = [bent, line((0, 0), (100, 0)), line((-200, 0), (0, 0)), line((100, 0), (300, 0))]
    net, _ = check(lines, points((-100, 0)), points((200, 0)), [300.0])
    assert net.n_edges == 4 and net.n_nodes == 4
    # without the straight one, the bent one is used: 100 + 188.68 + 100
    check([bent, *lines[2:]], points((-100, 0)), points((200, 0)), [200 + 2 * math.hypot(50, 80)])
    # a source on the bent edge at its apex, (50, 85): access 5, position hypot(50, 80) from A.
    # To the target: 5 + hypot(50, 80) (to B along the bent edge) + 100 = 199.34
    check(lines, points((50, 85)), points((200, 0)), [5 + math.hypot(50, 80) + 100])


def test_loop_edge():
    # A loop at A(0,0): (0,0)-(0,100)-(100,100)-(100,0)-(0,0), 400 m; and a tail D(-100,0)-A.
    # Source (-100, -10): beyond D, projection D, access 10.
    # Target (105, 50): on the loop's right side at position 100 + 100 + 50 = 250, access 5;
    # from A the short way round is 400 - 250 = 150. Distance 10 + 100 + 150 + 5 = 265.
    loop = line((0, 0), (0, 100), (100, 100), (100, 0), (0, 0))
    lines = [loop, line((-100, 0), (0, 0))]
    net, _ = check(lines, points((-100, -10)), points((105, 50)), [265.0])
    assert (net.u == net.v).sum() == 1  # one loop edge
    # Source and target both on the loop: source (50, 105) at position 150, access 5;
    # target (20, -5) at position 380, access 5. Direct run 230, but via A: source -> A the short
    # way (150) + A -> target the short way (400 - 380 = 20) = 170. Distance 5 + 170 + 5 = 180.
    check(lines, points((50, 105)), points((20, -5)), [180.0])
    # and a source on the tail reaching the loop's near side: (-50, 0) -> (-3, 50): 50 + 50 + 3
    check(lines, points((-50, 0)), points((-3, 50)), [50 + 50 + 3.0])
    # a source on the loop past its half way, (105, 30): position 100 + 100 + 70 = 270, access 5;
    # to A the short way is forwards (400 - 270 = 130), not back (270). Target (-50, 5) on the
    # tail: 5 + 130 + 50 + 5 = 190.
    check(lines, points((105, 30)), points((-50, 5)), [190.0])


def test_polygon_source_intersecting_edge():
    # Edge (0,0)-(1000,0); a park box x 400..500, y -50..50 crosses it over x 400..500 (cost 0).
    # Target (100, 10): 10 + (400 - 100) = 310.   Target (700, -10): 10 + (700 - 500) = 210.
    # Target (450, 60) above the park, outside it: projection (450, 0) is inside the park,
    # so 60 + 0 = 60 (straight line to the park is only 10).
    # Target (450, 20) inside the park: 0.
    lines = [line((0, 0), (1000, 0))]
    park = geoms(box(400, -50, 500, 50))
    tg = points((100, 10), (700, -10), (450, 60), (450, 20))
    net, got = check(lines, park, tg, [310.0, 210.0, 60.0, 0.0], tol=POLY_TOL)
    sl = uc.straight_line_distance(park, tg, crs="EPSG:32650")
    # straight line to the box: 400 - 100 = 300, 700 - 500 = 200, 60 - 50 = 10, inside 0
    np.testing.assert_allclose(sl, [300.0, 200.0, 10.0, 0.0], atol=TOL)
    assert np.all(got >= sl - 1e-9)


def test_polygon_source_not_touching_network():
    # Edge (0,0)-(1000,0); a triangle (450,100),(400,200),(500,200) pointing at the edge:
    # its nearest network point is (450, 0), access 100. Target (100, 0): 100 + 350 = 450.
    # Target (450, 150) inside the triangle: 0 (even though its own access leg is 150).
    lines = [line((0, 0), (1000, 0))]
    tri = geoms(poly((450, 100), (400, 200), (500, 200)))
    check(lines, tri, points((100, 0), (450, 150)), [450.0, 0.0], tol=POLY_TOL)


def test_polygon_source_covering_a_node():
    # A star at B(100,0): arms to (0,0), (200,0) and (100,100). A square x 90..110, y -10..10
    # covers B: the parts of all three arms within 10 m of B cost 0.
    # Target (100, 60) on the vertical arm: 60 - 10 = 50. Target (0, 5): 5 + 90 = 95.
    lines = [line((0, 0), (100, 0)), line((100, 0), (200, 0)), line((100, 0), (100, 100))]
    sq = geoms(box(90, -10, 110, 10))
    check(lines, sq, points((100, 60), (0, 5), (250, 0)), [50.0, 95.0, 50 + 90.0], tol=POLY_TOL)


def test_polygon_source_touching_an_edge_at_one_point():
    # A triangle (300,0),(280,50),(320,50) touches the edge (0,0)-(1000,0) at one point
    # (300, 0). Target (100, 0): 200 via the touching point (a zero-width seed of cost 0);
    # target (600, 0): 300.
    lines = [line((0, 0), (1000, 0))]
    tri = geoms(poly((300, 0), (280, 50), (320, 50)))
    check(lines, tri, points((100, 0), (600, 0)), [200.0, 300.0], tol=POLY_TOL)


def test_point_source_exactly_on_a_node():
    # Source exactly on B(100,0) of the star above (access 0, at the end of whichever arm it
    # snaps to; a zero-weight link in the graph). Target (100, 60) -> 60; (30, 0) -> 70.
    lines = [line((0, 0), (100, 0)), line((100, 0), (200, 0)), line((100, 0), (100, 100))]
    check(lines, points((100, 0)), points((100, 60), (30, 0), (190, 1)), [60.0, 70.0, 91.0])


def test_target_inside_polygon_source_is_zero_even_if_far_from_network():
    # The park is 2 km from the only street (beyond the 1000 m snap limit): targets outside it
    # are unreachable, a target inside it is at 0.
    lines = [line((0, 0), (100, 0))]
    park = geoms(box(0, 2000, 100, 2100))
    net = uc.walk_network(lines_gdf(*lines), filter=None)
    with pytest.warns(UserWarning):
        d = uc.network_distance(net, park, points((50, 2050), (50, 10)))
    assert d[0] == 0.0
    assert np.isinf(d[1])


def test_return_source_index():
    # Chain (0,0)-(1000,0). Sources: 0 at (100, 0), 1 a park box x 600..650 (crossing the edge),
    # 2 at (900, 20). Targets and their nearest source (worked by hand):
    #   (0, 5):    s0 105;                      -> 0, 105
    #   (400, 0):  s0 300, park 200             -> 1, 200
    #   (625, 70): above the park (y 50..): projection (625, 0) inside it, access 70 -> 1, 70
    #   (630, 0):  inside the park              -> 1, 0
    #   (800, 0):  park 150, s2 120             -> 2, 120
    #   (1100, 0): beyond the end: s2 100 + 100 + 20 = 220, park 350 + 100 -> 2, 220
    lines = [line((0, 0), (1000, 0))]
    sources = geoms(pt(100, 0), box(600, -50, 650, 50), pt(900, 20))
    sources.index = ["a", "b", "c"]  # labels must not be confused with positions
    tg = points((0, 5), (400, 0), (625, 70), (630, 0), (800, 0), (1100, 0))
    net = uc.walk_network(lines_gdf(*lines), filter=None)
    d, s = uc.network_distance(net, sources, tg, return_source=True)
    ref_d, ref_s = hand_reference(lines, sources, tg)
    np.testing.assert_allclose(d, [105, 200, 70, 0, 120, 220], atol=POLY_TOL)
    np.testing.assert_allclose(d, hand_reference(lines, sources, tg, touch=TOUCH)[0], atol=TOL)
    np.testing.assert_allclose(ref_d, [105, 200, 70, 0, 120, 220], atol=TOL)
    assert list(s) == [0, 1, 1, 1, 2, 2]
    assert list(ref_s) == [0, 1, 1, 1, 2, 2]
    # with a cut-off of 150, the last one has no facility
    d, s = uc.network_distance(net, sources, tg, cutoff=150, return_source=True)
    assert list(s) == [0, -1, 1, 1, 2, -1]  # 200 and 220 > 150
    assert np.isinf(d[[1, 5]]).all()
    nf = uc.nearest_facility(net, sources, tg, cutoff=150)
    # labels of the sources (missing where none within the cut-off)
    assert [None if pd.isna(f) else f for f in nf["facility"]] == ["a", None, "b", "b", "c", None]
    np.testing.assert_allclose(nf["distance"], d)


def test_distance_field_at_matches_network_distance_and_reference_on_a_grid():
    # 3 x 3 grid of 100 m blocks, with one bent street; many targets, three sources.
    lines = []
    for i in range(3):
        for j in range(2):
            lines.append(line((j * 100, i * 100), ((j + 1) * 100, i * 100)))
            lines.append(line((i * 100, j * 100), (i * 100, (j + 1) * 100)))
    lines[0] = line((0, 0), (50, -40), (100, 0))
    rng = np.random.default_rng(7)
    tg = points(*rng.uniform(-30, 230, size=(60, 2)))
    src = points((10, 10), (150, 190), (205, 50))
    net = uc.walk_network(lines_gdf(*lines), filter=None)
    field = uc.distance_field(net, src, cutoff=None)
    got = field.at(tg)
    ref, _ = hand_reference(lines, src, tg)
    np.testing.assert_allclose(got, ref, atol=1e-6)
    np.testing.assert_allclose(uc.network_distance(net, src, tg), ref, atol=1e-6)


def test_networkx_round_trip_keeps_distances():
    # to_networkx -> from_networkx must give the same network distances (edge geometry must
    # still run from u to v, whatever order networkx reports an undirected edge's ends in).
    lines = [line((100, 0), (0, 0)), line((100, 0), (200, 0)), line((300, 0), (200, 0), (200, 80))]
    net = uc.walk_network(lines_gdf(*lines), filter=None)
    G = net.to_networkx()
    assert isinstance(G, nx.MultiGraph)
    assert sum(d["length"] for *_, d in G.edges(data=True)) == pytest.approx(100 + 100 + 180)
    back = uc.from_networkx(G)
    src, tg = points((10, 5)), points((290, -5), (150, 3), (205, 40))
    # by hand: 5 + 90 + 100 + 90 + 5 = 290 ; 5 + 140 + 3 = 148 ; 5 + 190 + 40 + 5 = 240
    expected = [290.0, 148.0, 240.0]
    np.testing.assert_allclose(uc.network_distance(net, src, tg), expected, atol=TOL)
    np.testing.assert_allclose(uc.network_distance(back, src, tg), expected, atol=TOL)


# -- edge coverage -------------------------------------------------------------------------------
def test_edge_coverage_partial_edge_from_both_ends():
    # Chain A(0,0)-B(100,0)-C(300,0)-D(400,0), the middle edge drawn from C to B. Sources
    # (0, -20) (projection A, access 20) and (400, 40) (projection D, access 40).
    # Node distances A 20, B 120, C 140, D 40.
    # Radius 150: A-B fully covered (from A: min(100, 150 - 20)); B-C covered 30 from B
    # (150 - 120) and 10 from C (150 - 140): 40 of 200 m, share 0.2; C-D full (40 + 100 < 150).
    lines = [line((0, 0), (100, 0)), line((300, 0), (100, 0)), line((300, 0), (400, 0))]
    net = uc.walk_network(lines_gdf(*lines), filter=None)
    src = points((0, -20), (400, 40))
    cov = uc.edge_coverage(net, src, 150)
    bc = int(np.flatnonzero(np.isclose(net.length, 200))[0])
    row = cov.iloc[bc]
    # the geometry of B-C runs from C: u is C (10 m covered from it), v is B (30 m)
    nxy = shapely.get_coordinates(net.nodes.geometry.values)
    assert nxy[net.u[bc]] == pytest.approx(xy(300, 0))
    assert row["covered_from_u"] == pytest.approx(10.0) and row["covered_from_v"] == pytest.approx(30.0)
    assert row["dist_u"] == pytest.approx(140.0) and row["dist_v"] == pytest.approx(120.0)
    assert row["covered_length"] == pytest.approx(40.0)
    assert row["covered_share"] == pytest.approx(0.2)
    others = cov.drop(index=cov.index[bc])
    assert np.allclose(others["covered_length"], 100.0) and np.allclose(others["covered_share"], 1.0)
    assert cov["covered_length"].sum() == pytest.approx(240.0)
    # independent check: the covered length of every edge is the measure of the points on it
    # whose reference network distance (access 0) is <= 150; sample every 0.5 m.
    _check_coverage_by_sampling(lines, src, cov, net, 150.0)
    # the covered intervals of B-C are [0, 10] and [170, 200] from its u end (C)
    field = uc.distance_field(net, src, cutoff=150)
    e, a, b = field.covered_intervals(150)
    sel = e == bc
    assert sorted(zip(a[sel], b[sel])) == [pytest.approx((0.0, 10.0)), pytest.approx((170.0, 200.0))]


def test_edge_coverage_seed_in_middle_of_edge():
    # One edge (0,0)-(1000,0); source (400, 30): position 400, access 30. Nodes at 430 and 630.
    # Radius 100: slack 70 -> covered interval [330, 470], 140 m; nothing from the ends.
    # Radius 500: from u: 500 - 430 = 70 -> [0, 70]; from the seed: slack 470 -> [0, 870];
    #             from v: 500 - 630 < 0. Union [0, 870] = 870 m.
    lines = [line((0, 0), (1000, 0))]
    net = uc.walk_network(lines_gdf(*lines), filter=None)
    src = points((400, 30))
    field = uc.distance_field(net, src, cutoff=500)
    cov = field.edge_coverage(100)
    assert cov["covered_from_u"].iloc[0] == 0.0 and cov["covered_from_v"].iloc[0] == 0.0
    assert cov["covered_length"].iloc[0] == pytest.approx(140.0)
    e, a, b = field.covered_intervals(100)
    assert list(e) == [0] and a[0] == pytest.approx(330.0) and b[0] == pytest.approx(470.0)
    cov = field.edge_coverage(500)
    assert cov["covered_from_u"].iloc[0] == pytest.approx(70.0)
    assert cov["covered_from_v"].iloc[0] == 0.0
    assert cov["covered_length"].iloc[0] == pytest.approx(870.0)
    assert cov["covered_share"].iloc[0] == pytest.approx(0.87)
    e, a, b = field.covered_intervals(500)
    assert list(e) == [0] and (a[0], b[0]) == pytest.approx((0.0, 870.0))
    _check_coverage_by_sampling(lines, src, cov, net, 500.0)
    # the same through the module-level function
    assert uc.edge_coverage(net, src, 100)["covered_length"].iloc[0] == pytest.approx(140.0)
    # a radius beyond the field's cut-off is refused
    with pytest.raises(uc.InputError):
        field.edge_coverage(600)


def test_edge_coverage_polygon_seed_and_loop():
    # Loop at A(0,0) of 400 m (square 100 x 100) and a tail D(-100,0)-A with a park box
    # x -60..-40 crossing it (interval [40, 60] on the tail, cost 0).
    # Radius 100: tail covered [0, 100] from the park on both sides -> the whole 100 m
    # (60 + 100 > 100 and 40 - 100 < 0); A is at 40, so the loop gets 60 from each end: 120.
    loop = line((0, 0), (0, 100), (100, 100), (100, 0), (0, 0))
    tail = line((-100, 0), (0, 0))
    net = uc.walk_network(lines_gdf(loop, tail), filter=None)
    park = geoms(box(-60, -10, -40, 10))
    cov = uc.edge_coverage(net, park, 100)
    is_loop = (net.u == net.v)
    assert cov["covered_length"][is_loop].iloc[0] == pytest.approx(120.0, abs=2 * POLY_TOL)
    assert cov["covered_length"][~is_loop].iloc[0] == pytest.approx(100.0)
    _check_coverage_by_sampling([loop, tail], park, cov, net, 100.0)


def test_touch_tolerance_is_one_millimetre():
    # The references in these tests grow area facilities by helpers.TOUCH, as the engine does.
    assert uc.engine.TOUCH == TOUCH
    # A park whose side runs 0.5 mm off a street still meets it along that side: target (0, 0)
    # -> the park's side starts at x = 400: 400 (not 400 + the way round to its nearest point).
    lines = [line((0, 0), (1000, 0))]
    park = geoms(box(400, 0.0005, 500, 100))
    net = uc.walk_network(lines_gdf(*lines), filter=None)
    field = uc.distance_field(net, park)
    assert field.seeds.cost.max() == 0.0
    assert field.seeds.end[0] - field.seeds.start[0] > 99.9


def _check_coverage_by_sampling(lines, sources, cov, net, radius, step=0.5):
    """Covered length of each network edge ~ step * #(sample points within radius), where the
    distances of the sample points come from the networkx reference (not from urbancover)."""
    samples, owner = [], []
    for e, g in enumerate(net.geometry):
        n = int(math.floor(g.length / step))
        pos = (np.arange(n) + 0.5) * (g.length / n)
        samples += list(shapely.line_interpolate_point(g, pos))
        owner += [e] * n
    ref, _ = hand_reference(lines, sources, samples)
    owner = np.asarray(owner)
    for e in range(net.n_edges):
        sel = owner == e
        measured = (ref[sel] <= radius).mean() * net.length[e]
        assert cov["covered_length"].iloc[e] == pytest.approx(measured, abs=2 * step), e


def test_polygon_source_on_a_loop_edge():
    # Loop at A(0,0): (0,0)-(0,100)-(100,100)-(100,0)-(0,0), 400 m, and a tail D(-100,0)-A.
    # (a) A park covering the whole loop: every point of the loop costs 0, so a target at
    #     (50, 115) outside the park (projection (50, 100) on the loop) is at 15; a target at
    #     (-50, 5) on the tail: the park starts at x = -10 on the tail, so 5 + 40 = 45.
    # (b) A park box x -10..10, y -10..10 around A: on the loop it covers positions [0, 10] and
    #     [390, 400] (both sides of the closing node), not the whole loop. Target (50, 105):
    #     projection at 150, nearest park end at 10: 140, plus 5 = 145. Radius 30 covers the
    #     loop over [0, 40] and [360, 400]: 80 m.
    loop = line((0, 0), (0, 100), (100, 100), (100, 0), (0, 0))
    tail = line((-100, 0), (0, 0))
    check([loop, tail], geoms(box(-10, -10, 110, 110)), points((50, 115), (-50, 5)), [15.0, 45.0], tol=POLY_TOL)
    park = geoms(box(-10, -10, 10, 10))
    net, _ = check([loop, tail], park, points((50, 105), (-50, 5)), [145.0, 45.0], tol=POLY_TOL)
    field = uc.distance_field(net, park, cutoff=30)
    e, a, b = field.covered_intervals(30)
    lp = int(np.flatnonzero(net.u == net.v)[0])
    sel = e == lp
    assert sorted(zip(a[sel], b[sel])) == [pytest.approx((0.0, 40.0), abs=POLY_TOL), pytest.approx((360.0, 400.0), abs=POLY_TOL)]
    assert field.edge_coverage(30)["covered_length"].iloc[lp] == pytest.approx(80.0, abs=2 * POLY_TOL)
    # (c) a park on the loop's top side, x 40..60: positions [140, 160]; target (-50, 5):
    #     5 + 50 + 140 (A -> 140 the short way round) = 195
    check([loop, tail], geoms(box(40, 90, 60, 110)), points((-50, 5), (50, 95)), [195.0, 0.0], tol=POLY_TOL)


def test_layer_with_its_own_length_u_v_columns():
    # A layer exported from a graph (e.g. OSMnx's edges) carries u, v and length columns; they
    # must not shadow the network's own. Chain (0,0)-(100,0)-(250,0): (0,0) -> (250,0) = 250.
    g = lines_gdf(line((0, 0), (100, 0)), line((100, 0), (250, 0)))
    g["length"] = [5.0, 7.0]
    g["u"] = [9, 9]
    g["v"] = [1, 2]
    net = uc.walk_network(g, filter=None)
    assert sorted(net.length) == pytest.approx([100.0, 150.0])
    assert uc.network_distance(net, points((0, 0)), points((250, 0)))[0] == pytest.approx(250.0)


def test_multilinestrings_are_used():
    # A MultiLineString street (0,0)-(100,0) + (100,0)-(200,0) and a LineString (200,0)-(300,0):
    # all three parts are edges; (0,0) -> (300,0) = 300.
    multi = shapely.MultiLineString([[xy(0, 0), xy(100, 0)], [xy(100, 0), xy(200, 0)]])
    net = uc.walk_network(lines_gdf(multi, line((200, 0), (300, 0))), filter=None)
    assert net.length.sum() == pytest.approx(300.0)
    assert uc.network_distance(net, points((0, 0)), points((300, 0)))[0] == pytest.approx(300.0)


def test_straight_line_distance_by_hand_points_polygons_and_cutoff():
    """Hand-worked: a 3-4-5 triangle, a cut-off reached exactly (kept) and passed (inf), a polygon
    source nearer than the point source for one target (the minimum of both)."""
    import geopandas as gpd

    crs = "EPSG:32650"
    src = gpd.GeoSeries([shapely.Point(0, 0), shapely.box(100, -1, 102, 1)], crs=crs)
    tg = gpd.GeoSeries([shapely.Point(3, 4), shapely.Point(6, 8), shapely.Point(97, 0), shapely.Point(-30, 40)], crs=crs)
    np.testing.assert_allclose(uc.straight_line_distance(src, tg, crs=crs), [5.0, 10.0, 3.0, 50.0])
    np.testing.assert_allclose(uc.straight_line_distance(src, tg, crs=crs, cutoff=10.0), [5.0, 10.0, 3.0, np.inf])
    np.testing.assert_allclose(uc.straight_line_distance(src[:1], tg, crs=crs, cutoff=5.0), [5.0, np.inf, np.inf, np.inf])
