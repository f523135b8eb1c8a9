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


def test_parts_within_equals_buffering_every_point(shenzhen_net, shenzhen_osm):
    """Discs settled by arithmetic (snap.parts_within) give the intervals of buffering every point
    and overlaying every edge, at radii from a few metres to a whole district."""
    import shapely

    from urbancover.intervals import merge
    from urbancover.snap import parts_inside, parts_within

    f = shenzhen_osm.projected("features")
    pts = f.geometry.values[shapely.get_type_id(f.geometry.values) == shapely.GeometryType.POINT]
    for radius in (5.0, 50.0, 500.0, 3000.0):
        want = merge(*parts_inside(shenzhen_net, shapely.buffer(pts, radius, quad_segs=32))[:3])
        got = parts_within(shenzhen_net, pts, radius)
        assert len(got[0]) == len(want[0])
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_allclose(got[1], want[1], rtol=0, atol=1e-9)
        np.testing.assert_allclose(got[2], want[2], rtol=0, atol=1e-9)


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
