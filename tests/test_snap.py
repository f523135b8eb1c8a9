"""Snapping that respects the network (issue 12): places and facilities go to the real network, not
to a scrap of it, unless no street of the real network is near.

The hand-made city: a main street from (0, 0) to (2000, 0) (2 km: the largest component) with a bus
stop at (0, 0); a 4-segment footway island, a 40 m square ring from (100, 5) to (140, 45) through a
building, joined to nothing. A home at (100, 4) is 1 m from the island's corner but 4 m from the main
street. Worked by hand: snapped to the main street at x = 100 it is 4 + 100 = 104 m from the stop;
snapped to the island (the old behaviour) it could reach nothing (inf).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import line, lines_gdf, points

import urbancover as uc
from urbancover import settings
from urbancover.snap import snap_points

MAIN = line((0, 0), (1000, 0), (2000, 0))
ISLAND = [line((100, 5), (140, 5)), line((140, 5), (140, 45)), line((140, 45), (100, 45)), line((100, 45), (100, 5))]


@pytest.fixture()
def net():
    return uc.walk_network(lines_gdf(MAIN, *ISLAND), filter=None)


def test_main_edges_are_the_largest_component(net):
    main = net.main_edges
    assert np.isclose(net.length[main].sum(), 2000.0)
    assert np.isclose(net.length[~main].sum(), 160.0)


def test_a_home_next_to_an_island_goes_to_the_main_street(net):
    d = uc.network_distance(net, points((0, 0)), points((100, 4)))
    assert d[0] == pytest.approx(104.0)


def test_a_home_far_from_the_main_network_stays_on_its_island(net, monkeypatch):
    """(120, 44) is 1 m from the island and 44 m from the main street: with island_snap_m = 30 it
    stays on the island and cannot reach the stop (a truly separate component stays unreachable)."""
    monkeypatch.setattr(settings, "island_snap_m", 30.0)
    d = uc.network_distance(net, points((0, 0)), points((120, 44)))
    assert math.isinf(d[0])
    monkeypatch.setattr(settings, "island_snap_m", 100.0)
    d = uc.network_distance(net, points((0, 0)), points((120, 44)))
    assert d[0] == pytest.approx(120 + 44)


def test_a_facility_on_an_island_serves_from_the_main_street(net):
    """A stop at (140, 6), 1 m from the island, 6 m from the main street: it is placed at x = 140 on
    the main street, 6 m access leg; a home at (0, 0) is 140 + 6 = 146 m away."""
    d = uc.network_distance(net, points((140, 6)), points((0, 0)))
    assert d[0] == pytest.approx(146.0)


def test_snapped_edges_are_main_edges(net):
    s = snap_points(net, points((100, 4), (140, 6), (10, 1)))
    assert net.main_edges[s.edge].all()


def test_a_larger_component_is_real_network(net, monkeypatch):
    """With main_component_m below the island's 160 m, the island is real network: the home stays
    on it (nearest edge) and cannot reach the stop."""
    monkeypatch.setattr(settings, "main_component_m", 100.0)
    net2 = uc.walk_network(lines_gdf(MAIN, *ISLAND), filter=None)
    assert net2.main_edges.all()
    d = uc.network_distance(net2, points((0, 0)), points((100, 4)))
    assert math.isinf(d[0])


# ---------------------------------------------------------------------------------------------
# city-scale shortcuts give what the plain overlay gives (issue 13)


def test_straight_line_intervals_are_exact_discs(shenzhen_net, shenzhen_osm):
    """Street parts within r straight-line metres of a point, checked point by point: the ends of
    every part inside an edge lie at distance r from the nearest source, its middle within r, and
    the middle of every part left out beyond r (shapely's distances, not the kernel's)."""
    import geopandas as gpd
    import shapely

    from urbancover.engine import straight_line_intervals
    from urbancover.intervals import complement

    f = shenzhen_osm.projected("features")
    pts = f.geometry.values[shapely.get_type_id(f.geometry.values) == shapely.GeometryType.POINT][::7]
    tree = shapely.STRtree(pts)
    net = shenzhen_net
    near = lambda xy: tree.query_nearest(xy, return_distance=True)[1]  # noqa: E731
    at = lambda e, m: shapely.line_interpolate_point(net.geometry[e], m)  # noqa: E731
    for radius in (5.0, 50.0, 500.0):
        e, a, b = straight_line_intervals(net, gpd.GeoSeries(pts, crs=net.crs), radius)
        assert (b > a).all() and (np.diff(e) >= 0).all()
        inner = a > 1e-9
        np.testing.assert_allclose(near(at(e[inner], a[inner])), radius, rtol=0, atol=1e-6)
        inner = b < net.length[e] - 1e-9
        np.testing.assert_allclose(near(at(e[inner], b[inner])), radius, rtol=0, atol=1e-6)
        assert (near(at(e, (a + b) / 2)) <= radius + 1e-9).all()
        ge, ga, gb = complement(e, a, b, net.length)
        assert (near(at(ge, (ga + gb) / 2)) > radius - 1e-9).all()


def test_touching_parts_merge_on_any_edge():
    """Parts that touch end to start are one part, also on an edge with a large id (the running
    maximum of merge shifts edges apart; shifting back must not leave a rounding gap)."""
    from urbancover.intervals import merge

    rng = np.random.default_rng(0)
    cuts = np.sort(rng.uniform(0, 3000, 200))
    e, a, b = merge(np.r_[np.full(199, 87_654), 5], np.r_[cuts[:-1], 0.0], np.r_[cuts[1:], 1.0])
    np.testing.assert_array_equal(e, [5, 87_654])
    np.testing.assert_array_equal(a, [0.0, cuts[0]])
    np.testing.assert_array_equal(b, [1.0, cuts[-1]])


def test_parts_inside_union_keeps_the_union(shenzhen_net):
    """parts_inside(union=True) skips pairs a whole edge makes redundant; the union is unchanged."""
    import shapely

    from urbancover.intervals import merge
    from urbancover.snap import parts_inside

    rng = np.random.default_rng(3)
    xy = shapely.get_coordinates(shenzhen_net.nodes.geometry.values)[rng.choice(shenzhen_net.n_nodes, 40, replace=False)]
    polys = shapely.buffer(shapely.points(xy), rng.uniform(20, 400, len(xy)), quad_segs=3)
    want = merge(*parts_inside(shenzhen_net, polys)[:3])
    got = merge(*parts_inside(shenzhen_net, polys, union=True)[:3])
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got[2], want[2], rtol=0, atol=1e-9)
