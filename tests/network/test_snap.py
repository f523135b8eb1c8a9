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

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from helpers import line, lines_gdf, points

import urbancover as uc
from urbancover.core import settings
from urbancover.io.crs import transformer
from urbancover.network.snap import places, snap_points

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

    from urbancover.core.intervals import complement
    from urbancover.engine import straight_line_intervals

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
    from urbancover.core.intervals import merge

    rng = np.random.default_rng(0)
    cuts = np.sort(rng.uniform(0, 3000, 200))
    e, a, b = merge(np.r_[np.full(199, 87_654), 5], np.r_[cuts[:-1], 0.0], np.r_[cuts[1:], 1.0])
    np.testing.assert_array_equal(e, [5, 87_654])
    np.testing.assert_array_equal(a, [0.0, cuts[0]])
    np.testing.assert_array_equal(b, [1.0, cuts[-1]])


def test_parts_inside_union_keeps_the_union(shenzhen_net):
    """parts_inside(union=True) skips pairs a whole edge makes redundant; the union is unchanged."""

    from urbancover.core.intervals import merge
    from urbancover.network.snap import parts_inside

    rng = np.random.default_rng(3)
    xy = shapely.get_coordinates(shenzhen_net.nodes.geometry.values)[rng.choice(shenzhen_net.n_nodes, 40, replace=False)]
    polys = shapely.buffer(shapely.points(xy), rng.uniform(20, 400, len(xy)), quad_segs=3)
    want = merge(*parts_inside(shenzhen_net, polys)[:3])
    got = merge(*parts_inside(shenzhen_net, polys, union=True)[:3])
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got[2], want[2], rtol=0, atol=1e-9)


# -- points as coordinate arrays (snap.places): the lean path of network_distance -----------------
def _lonlat_layer(rng, n, *, holes=True):
    """Random lon/lat points around Shenzhen, with a missing and an empty row when ``holes``."""

    g = shapely.points(np.column_stack([rng.uniform(113.9, 114.4, n), rng.uniform(22.5, 22.8, n)]))
    if holes:
        g[3] = None
        g[7] = shapely.Point()
    return gpd.GeoSeries(g, crs=4326)


def test_places_reprojects_points_as_geopandas_does():
    rng = np.random.default_rng(1)
    layer = _lonlat_layer(rng, 500)
    got = places(layer, pyproj.CRS("EPSG:32650"), "points")
    assert got.xy is not None  # the array path, no geometry made
    expected = layer.to_crs("EPSG:32650")
    valid = ~(expected.is_empty | expected.isna()).to_numpy()
    np.testing.assert_array_equal(got.valid, valid)
    # pyproj on the coordinates, by hand: the same numbers to the last bit
    lon, lat = layer.x.to_numpy()[valid], layer.y.to_numpy()[valid]
    x, y = pyproj.Transformer.from_crs(4326, 32650, always_xy=True).transform(lon, lat)
    np.testing.assert_array_equal(got.xy[valid], np.column_stack([x, y]))
    assert np.isnan(got.xy[~valid]).all()
    # and the geometries made from them equal to_crs's
    g = got.geometries()
    assert g[3] is None and g[7] is None
    assert shapely.equals_exact(g[valid], expected.values[valid], tolerance=0).all()


def test_places_of_other_layers_are_their_geometries():
    crs = pyproj.CRS("EPSG:32650")
    mixed = gpd.GeoSeries([shapely.Point(114.0, 22.6), shapely.box(114.0, 22.6, 114.01, 22.61)], crs=4326)
    p = places(mixed, crs, "mixed")
    assert p.xy is None and shapely.equals_exact(p.geometries(), mixed.to_crs(crs).values, tolerance=0).all()
    with_z = gpd.GeoSeries([shapely.Point(114.0, 22.6, 5.0)], crs=4326)
    assert places(with_z, crs, "z").xy is None  # (3D points keep geopandas' own path)
    same_crs = gpd.GeoSeries([shapely.Point(500000.0, 2500000.0)], crs=crs)
    np.testing.assert_array_equal(places(same_crs, crs, "metric").xy, [[500000.0, 2500000.0]])


def test_transformer_is_built_once_per_pair_of_crs():
    a, b = pyproj.CRS(4326), pyproj.CRS(32650)
    assert transformer(a, b) is transformer(pyproj.CRS(4326), pyproj.CRS(32650))
    assert transformer(b, a) is not transformer(a, b)


def test_lonlat_points_snap_as_their_projected_geometries(shenzhen_net):
    """snap_points on lon/lat points (coordinate path) against GEOS on the same points reprojected by
    geopandas: nearest edge by brute force over all edges, its line_locate_point offset, distance."""

    net = shenzhen_net
    rng = np.random.default_rng(2)
    minx, miny, maxx, maxy = net.bounds
    pts = shapely.points(np.column_stack([rng.uniform(minx, maxx, 400), rng.uniform(miny, maxy, 400)]))
    pts = np.r_[pts, net.nodes.geometry.values[np.unique(net.u[net.main_edges])[:100]]]  # on nodes too
    lonlat = gpd.GeoSeries(pts, crs=net.crs).to_crs(4326)
    got = snap_points(net, lonlat, max_distance=None)
    back = np.asarray(lonlat.to_crs(net.crs).values)
    d = shapely.distance(back[:, None], net.geometry[None, :])
    best = d.min(axis=1)
    # (places whose nearest edge is on a scrap of network move to the real one: tested above)
    keep = net.main_edges[d.argmin(axis=1)]
    assert keep.sum() > 450
    got_e, got_o, got_a = got.edge[keep], got.offset[keep], got.access[keep]
    back, d, best = back[keep], d[keep], best[keep]
    on_node = got_a <= 1e-6  # placed on a node: access is the distance to the node
    np.testing.assert_allclose(got_a[~on_node], best[~on_node], rtol=0, atol=1e-9)
    assert (best[on_node] <= 1e-6).all()
    # the edge is one at that distance (several on a node or a tie); the offset is GEOS's on it
    assert (d[np.arange(len(back)), got_e] <= best + 1e-6).all()
    off = shapely.line_locate_point(net.geometry[got_e], back)
    np.testing.assert_allclose(got_o[~on_node], off[~on_node], rtol=0, atol=1e-9)
    # a place on a node sits at an end of its edge
    ends = np.c_[np.zeros(on_node.sum()), net.length[got_e[on_node]]]
    assert np.isclose(np.abs(ends - got_o[on_node, None]).min(axis=1), 0, atol=1e-9).all()
    assert on_node.sum() >= 100
