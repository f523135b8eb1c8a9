"""Barrier-aware access legs (PLAN_RULES rev 3, section G; issue 22 item 1).

Tiny districts written as OSM XML (tests/osmfactory.py, metres from the origin in UTM 50N), each
distance worked out by hand in its docstring. Homes are 20 m squares; their point is the centre.
"""

import warnings

import numpy as np
import pytest
import shapely
from helpers import SHENZHEN
from osmfactory import _home, write_osm

import urbancover as uc
from urbancover.core import settings
from urbancover.network.barriers import Barriers, legs_blocked
from urbancover.network.nearest import SegmentIndex, nearest_segments


def _homes(nodes, ways, *centres, first=900):
    for k, (x, y) in enumerate(centres):
        hn, hw = _home(first + 10 * k, x, y)
        nodes.update(hn)
        ways.append(hw)


def _measure(path, rule):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = uc.evaluate(path, only=[rule])
    return report, report.results[rule].measurement.places["residential_buildings"]


def _compound(tmp_path, *, gate=True, footway=True):
    """Streets: south y=0 (x 0..1000), west x=0 (y 0..250), north y=250 (x 0..1000). A walled
    compound: the closed way [400, 600] x [10, 210] tagged ``landuse=residential`` + ``barrier=wall``,
    one gate at (500, 210) on its north wall, and (``footway``) a footway from the gate to the
    north street at (500, 250). A bus stop at (300, -10). Homes at (500, 40) inside the wall and
    (200, 40) outside.
    """
    nodes = {1: (0, 0), 2: (300, 0), 3: (500, 0), 4: (1000, 0), 5: (0, 250), 6: (500, 250), 7: (1000, 250),
             20: (300, -10, {"highway": "bus_stop"}),
             30: (400, 10), 31: (600, 10), 32: (600, 210), 34: (400, 210)}
    nodes[33] = (500, 210, {"barrier": "gate"}) if gate else (500, 210)
    ways = [(1, [1, 2, 3, 4], {"highway": "residential"}), (2, [1, 5], {"highway": "residential"}),
            (3, [5, 6, 7], {"highway": "residential"}),
            (4, [30, 31, 32, 33, 34, 30], {"landuse": "residential", "barrier": "wall"})]
    if footway:
        ways.append((5, [33, 6], {"highway": "footway"}))
    _homes(nodes, ways, (500, 40), (200, 40))
    return write_osm(tmp_path / "compound.osm", nodes, ways, bounds=(-50, -50, 1050, 300))


@pytest.mark.parametrize("footway", [True, False])
def test_walled_compound_leaves_through_its_gate(tmp_path, footway):
    """Home (500, 40) behind the south wall (y = 10), 40 m from the south street.

    Wall-blind (today): leg 40 to (500, 0), 200 west to the stop's projection (300, 0), its leg 10:
    250 m, served. Through the gate: straight to the gate (500, 210), 170 m (the footway's end, or
    the gate as opening), 40 m north to (500, 250) (the footway, or the gate's own leg), 500 west,
    250 south, 300 east, 10: 170 + 40 + 500 + 250 + 300 + 10 = 1270 m, not served (> 500).
    Home (200, 40) outside: 40 + 100 + 10 = 150 m either way.
    """
    report, p = _measure(_compound(tmp_path, footway=footway), "bus_stop_500")
    order = np.argsort(shapely.get_x(p.points))  # (200, 40) first
    assert p.network_m[order, 0] == pytest.approx([150.0, 1270.0], abs=0.05)
    assert p.no_walls_m[order, 0] == pytest.approx([150.0, 250.0], abs=0.05)
    assert p.behind[order].tolist() == [False, True]
    row = report.summary.set_index("id").loc["bus_stop_500"]
    assert row["buildings_served"] == pytest.approx(0.5)
    assert row["buildings_served_no_walls"] == pytest.approx(1.0)
    assert row["buildings_behind_walls"] == 1
    assert row["buildings_walls_add_m"] == pytest.approx(1020.0, abs=0.05)
    unserved = report.results["bus_stop_500"].layers["homes_unserved"]
    assert unserved["network_m"].tolist() == pytest.approx([1270.0], abs=0.05)
    assert unserved["no_walls_m"].tolist() == pytest.approx([250.0], abs=0.05)
    assert unserved["behind_walls"].tolist() == [True]


def test_walled_compound_without_opening_has_no_path(tmp_path):
    """The same compound with no gate and no footway: the home at (500, 40) reaches no street
    within the snap limit (1000 m) without crossing the wall: no path (distance inf, status
    "no path"), and a warning says so. The home outside is unchanged (150 m).
    """
    path = _compound(tmp_path, gate=False, footway=False)
    with pytest.warns(UserWarning, match="without crossing a barrier"):
        report = uc.evaluate(path, only=["bus_stop_500"])
    p = report.results["bus_stop_500"].measurement.places["residential_buildings"]
    order = np.argsort(shapely.get_x(p.points))
    assert p.network_m[order, 0].tolist() == pytest.approx([150.0, np.inf], abs=0.05)
    unserved = report.results["bus_stop_500"].layers["homes_unserved"]
    assert unserved["status"].tolist() == ["no path"]


def test_river_with_one_bridge(tmp_path):
    """A river (``natural=water`` polygon, y 100..160, x -1000..1000) between a home at (400, 90)
    and a park [300, 500] x [220, 400] (3.6 ha). Streets: south y=-100 (x 0..600), a footway bridge
    x=0 from (0, -100) to (0, 210), a park path y=210 (x 0..600).

    Wall-blind (today): the home's nearest street is the park path across the river, 120 m, within
    15 m of the park: 120 m, served. Across the bridge: 190 m south to (400, -100), 400 west, 310
    over the bridge, then east along the path to where it comes within 15 m of the park's corner
    (300, 220): x = 300 - sqrt(15² - 10²) = 288.82: 190 + 400 + 310 + 288.82 = 1188.82 m, not served.
    """
    nodes = {1: (0, -100), 2: (400, -100), 3: (600, -100), 4: (0, 210), 5: (600, 210),
             10: (-1000, 100), 11: (1000, 100), 12: (1000, 160), 13: (-1000, 160),
             20: (300, 220), 21: (500, 220), 22: (500, 400), 23: (300, 400)}
    ways = [(1, [1, 2, 3], {"highway": "residential"}), (2, [1, 4], {"highway": "footway", "bridge": "yes"}),
            (3, [4, 5], {"highway": "footway"}), (4, [10, 11, 12, 13, 10], {"natural": "water", "water": "river"}),
            (5, [20, 21, 22, 23, 20], {"leisure": "park"})]
    _homes(nodes, ways, (400, 90))
    path = write_osm(tmp_path / "river.osm", nodes, ways, bounds=(-100, -150, 700, 450))
    report, p = _measure(path, "park_500")
    assert p.network_m[0, 0] == pytest.approx(190 + 400 + 310 + 300 - np.sqrt(15**2 - 10**2), abs=0.2)
    assert p.no_walls_m[0, 0] == pytest.approx(120.0, abs=0.05)
    assert report.summary.set_index("id").loc["park_500", "buildings_served"] == 0.0


def test_fence_crossed_by_a_path_is_an_opening(tmp_path):
    """A fence x=100 (y -100..100), not closed. Street A x=150 (y -100..100); a footpath from
    (150, 0) west to (20, 0) crosses the fence at (100, 0) without a shared node. Home (95, 70), a
    bus stop at (160, 100).

    Wall-blind: nearest is street A, 55 m (across the fence) to (150, 70), 30 north, stop's leg 10:
    95 m. Fence-aware: the footpath's west part is reached without crossing, 70 m to (95, 0);
    55 east along it (through the fence: the path is the opening), 100 north, 10: 235 m.
    """
    nodes = {1: (150, -100), 2: (150, 0), 3: (150, 100), 4: (20, 0), 10: (100, -100), 11: (100, 100),
             20: (160, 100, {"highway": "bus_stop"})}
    ways = [(1, [1, 2, 3], {"highway": "residential"}), (2, [2, 4], {"highway": "footway"}),
            (3, [10, 11], {"barrier": "fence"})]
    _homes(nodes, ways, (95, 70))
    _, p = _measure(write_osm(tmp_path / "fence.osm", nodes, ways, bounds=(0, -150, 200, 150)), "bus_stop_500")
    assert p.network_m[0, 0] == pytest.approx(235.0, abs=0.05)
    assert p.no_walls_m[0, 0] == pytest.approx(95.0, abs=0.05)


def test_railway_crossed_at_a_level_crossing(tmp_path):
    """A railway y=100 (x -500..500). Streets: south y=0 and north y=300 (x 0..500), a footway x=0
    from (0, 0) to (0, 300) crossing the track at a shared ``railway=level_crossing`` node (0, 100).
    Home (300, 110) just north of the track; bus stop (300, -10).

    Rail-blind: 110 m south across the track to (300, 0), stop's leg 10: 120 m, served. Rail-aware:
    190 north to (300, 300), 300 west, 300 south over the level crossing, 300 east, 10: 1100 m.
    """
    nodes = {1: (0, 0), 2: (300, 0), 3: (500, 0), 4: (0, 300), 5: (300, 300), 6: (500, 300),
             7: (0, 100, {"railway": "level_crossing"}), 10: (-500, 100), 11: (500, 100),
             20: (300, -10, {"highway": "bus_stop"})}
    ways = [(1, [1, 2, 3], {"highway": "residential"}), (2, [4, 5, 6], {"highway": "residential"}),
            (3, [1, 7, 4], {"highway": "footway"}), (4, [10, 7, 11], {"railway": "rail"})]
    _homes(nodes, ways, (300, 110))
    report, p = _measure(write_osm(tmp_path / "rail.osm", nodes, ways, bounds=(-550, -50, 550, 350)), "bus_stop_500")
    assert p.network_m[0, 0] == pytest.approx(1100.0, abs=0.05)
    assert p.no_walls_m[0, 0] == pytest.approx(120.0, abs=0.05)
    assert report.summary.set_index("id").loc["bus_stop_500", "buildings_served"] == 0.0


def test_tunnels_and_bridges_of_railways_block_nothing(tmp_path):
    """The same district with the railway in a tunnel: the home is not behind it (120 m)."""
    nodes = {1: (0, 0), 2: (300, 0), 3: (500, 0), 4: (0, 300), 5: (300, 300), 6: (500, 300),
             10: (-500, 100), 11: (500, 100), 20: (300, -10, {"highway": "bus_stop"})}
    ways = [(1, [1, 2, 3], {"highway": "residential"}), (2, [4, 5, 6], {"highway": "residential"}),
            (3, [1, 4], {"highway": "footway"}), (4, [10, 11], {"railway": "subway", "tunnel": "yes"})]
    _homes(nodes, ways, (300, 110))
    _, p = _measure(write_osm(tmp_path / "tunnel.osm", nodes, ways, bounds=(-550, -50, 550, 350)), "bus_stop_500")
    assert p.network_m[0, 0] == pytest.approx(120.0, abs=0.05)
    assert p.no_walls_m is None  # (no barrier in the extract: nothing is measured twice)


def test_crossing_legs_by_hand():
    """A wall x=0 (y -5..5): a leg from (-3, 0) to (3, 0) crosses it 3 m from both ends; one to
    (-1, 0) does not reach it; a leg from (-1, 0) to (3, 0) crosses 1 m from its start, within the
    2 m end tolerance (a gate drawn on its wall); a leg along the wall is not blocked.
    """
    bar = Barriers.from_lines([shapely.LineString([(0, -5), (0, 5)])])
    a = np.array([[-3.0, 0.0], [-3.0, 0.0], [-1.0, 0.0], [0.0, -4.0]])
    b = np.array([[3.0, 0.0], [-1.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    assert legs_blocked(bar, a, b).tolist() == [True, False, False, False]


@pytest.fixture(scope="module")
def shenzhen_grid():
    """The Shenzhen sample's network with its barriers (2 walls, 3 retaining walls, 6 water areas, a
    basin, a river), and a 10 m grid of places over it snapped with and without barriers."""
    from urbancover.network.barriers import barriers_from
    from urbancover.network.snap import Places, snap_places

    osm = uc.read_osm(SHENZHEN)
    net = uc.walk_network(osm)
    net.barriers = barriers_from(osm.features, net.crs)
    x0, y0, x1, y1 = net.total_bounds
    gx, gy = np.meshgrid(np.arange(x0, x1, 10.0), np.arange(y0, y1, 10.0))
    xy = np.c_[gx.ravel(), gy.ravel()]
    where = Places(xy, np.ones(len(xy), dtype=bool))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return osm, net, xy, snap_places(net, where), snap_places(net, where, barriers=False)


def test_snap_is_unchanged_where_no_leg_crosses_a_barrier(shenzhen_grid):
    """Every place whose nearest leg crosses no barrier keeps its plain snap to the last bit; the
    leg of a place behind a barrier is at least as long as its plain one (the nearest legal segment
    is never nearer than the nearest), and crosses no barrier, checked with GEOS (the leg's
    intersections with the barrier outlines all lie within the end tolerance of its ends).
    """
    osm, net, xy, aware, blind = shenzhen_grid
    keep = ~aware.behind
    assert np.array_equal(aware.edge[keep], blind.edge[keep])
    assert np.array_equal(aware.offset[keep], blind.offset[keep], equal_nan=True)
    assert np.array_equal(aware.access[keep], blind.access[keep])
    behind = np.flatnonzero(aware.behind & (aware.edge >= 0))
    assert len(behind) > 1000
    assert (aware.access[behind] >= blind.access[behind] - 1e-9).all()
    # independent check of the legs that end on a street (not through an opening)
    end = shapely.line_interpolate_point(net.lines(aware.edge[behind]), aware.offset[behind])
    direct = np.isclose(shapely.distance(shapely.points(xy[behind]), end), aware.access[behind], atol=1e-6)
    legs = shapely.linestrings(np.stack([xy[behind][direct], shapely.get_coordinates(end[direct])], axis=1))
    from urbancover.plan.selectors import select

    feats = osm.projected("features")
    bars = feats.geometry.values[select(feats, settings.barrier_selector)]
    bars = np.where(shapely.get_dimensions(bars) == 2, shapely.boundary(bars), bars)
    li, bi = shapely.STRtree(bars).query(legs, predicate="intersects")
    hits = shapely.get_parts(shapely.intersection(legs[li], bars[bi]), return_index=True)
    pts, row = hits
    ends = shapely.get_coordinates(shapely.boundary(legs[li][row]))
    tol = settings.barrier_end_tolerance_m + 1e-6
    near_end = np.minimum(shapely.distance(pts, shapely.points(ends[0::2])),
                          shapely.distance(pts, shapely.points(ends[1::2]))) <= tol
    assert near_end.all()


def test_barrier_aware_distance_is_never_shorter_for_homes_on_the_sample():
    """Property on the Shenzhen sample: for every home and every distance rule of the preset, the
    barrier-aware network distance is at least the barrier-blind one (``no_walls_m``).

    (On the sample no home is behind a barrier: both are equal. For arbitrary places this is not a
    theorem: a place behind a wall may be snapped wall-blind onto a street that leads far round,
    and legally onto one that leads straight to the facility; the 10 m grid over the sample has
    such places. The legs, not the walks, are ordered: see the test above.)
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = uc.evaluate(SHENZHEN)
    seen = 0
    for res in report.results.values():
        m = res.measurement
        if m is None:
            continue
        for p in m.places.values():
            assert p.no_walls_m is not None
            assert (p.network_m >= p.no_walls_m - 1e-6).all()
            seen += len(p)
    assert seen > 0


def test_nearest_legal_is_the_plain_nearest_without_barriers():
    """With an empty barrier layer the legal search gives the plain kernel's answers."""
    from urbancover.network.barriers import nearest_legal

    rng = np.random.default_rng(1)
    lines = [shapely.LineString(rng.uniform(0, 500, (3, 2))) for _ in range(50)]
    idx = SegmentIndex.from_lines(lines)
    xy = rng.uniform(-50, 550, (300, 2))
    e, o, d = nearest_segments(idx, xy)
    wall = Barriers.from_lines([shapely.LineString([(2000, 0), (2000, 10)])])
    e2, o2, d2, st = nearest_legal(idx, wall, xy, d, None)
    assert np.array_equal(e, e2) and np.array_equal(o, o2) and np.array_equal(d, d2)
    assert (st == 0).all()
    assert settings.barrier_end_tolerance_m == 2.0
