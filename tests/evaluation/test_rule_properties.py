"""Properties of whole rules (``urbancover.evaluate``) on small random hand-made cities.

Each city is an OSM extract written with osmfactory: streets on a jittered grid with some links
missing (so it is often several islands), square homes and bus stops at random places. On it:

* the shares a rule reports are the shares networkx gives on the same graph (an independent
  reference, tests/nxref.py), and share served never decreases as the threshold grows;
* network shares never exceed straight-line shares (point facilities: a walk is never shorter
  than the straight line);
* adding a facility never lowers a share;
* shuffling the rows of the facility, population and compound layers, or the order of the homes
  in the extract, does not change the summary;
* giving the user's layers in EPSG:4326 instead of EPSG:32650 does not change the summary.

The distance engine's own properties (on random graphs and the samples) are in test_properties.py.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import nxref
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from osmfactory import X0, Y0, write_osm

import urbancover as uc
from urbancover.plan.rules import parse_rules

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

HOME = 12.0  # side of the square homes, metres
STOP = [{"highway": "bus_stop"}]
SHARE_COLUMNS = ["residents_served", "residents_served_straight", "buildings_served", "buildings_served_straight",
                 "compounds_served", "compounds_served_straight", "street_served", "street_served_straight"]
NET_SHARES = ["residents_served", "buildings_served", "compounds_served", "street_served"]


@st.composite
def cities(draw):
    """(nodes, ways, bounds, homes, stops) of a random city in local metres (see osmfactory)."""
    nx_, ny = draw(st.integers(2, 4)), draw(st.integers(2, 3))
    dx, dy = draw(st.floats(120, 260)), draw(st.floats(120, 260))
    jitter = st.floats(-0.25, 0.25)
    nodes, ids = {}, {}
    for i in range(nx_):
        for j in range(ny):
            ids[i, j] = len(ids) + 1
            nodes[ids[i, j]] = (i * dx + draw(jitter) * dx, j * dy + draw(jitter) * dy)
    pairs = [((i, j), (i + 1, j)) for i in range(nx_ - 1) for j in range(ny)]
    pairs += [((i, j), (i, j + 1)) for i in range(nx_) for j in range(ny - 1)]
    keep = draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    keep[0] = True
    ways = [(k + 1, [ids[a], ids[b]], {"highway": "residential"}) for k, ((a, b), kept) in enumerate(zip(pairs, keep)) if kept]
    w, h = (nx_ - 1) * dx, (ny - 1) * dy
    where = st.tuples(st.floats(-0.2 * dx, w + 0.2 * dx), st.floats(-0.2 * dy, h + 0.2 * dy))
    homes = draw(st.lists(where, min_size=2, max_size=8))
    stops = draw(st.lists(where, min_size=1, max_size=4))
    extra = draw(where)
    bounds = (-0.5 * dx, -0.5 * dy, w + 0.5 * dx, h + 0.5 * dy)
    return nodes, ways, bounds, homes, stops, extra


def write_city(path, city, *, osm_stops=True, home_order=None):
    """Write the city; homes are ways 1000, 1001 ... (in ``home_order`` if given)."""
    nodes, ways, bounds, homes, stops, _ = city
    nodes, ways = dict(nodes), list(ways)
    order = range(len(homes)) if home_order is None else home_order
    for k, i in enumerate(order):
        x, y = homes[i]
        first = 10_000 + 10 * k
        ring = [(x - HOME / 2, y - HOME / 2), (x + HOME / 2, y - HOME / 2), (x + HOME / 2, y + HOME / 2), (x - HOME / 2, y + HOME / 2)]
        nodes.update({first + c: xy for c, xy in enumerate(ring)})
        ways.append((1000 + k, [first, first + 1, first + 2, first + 3, first], {"building": "apartments"}))
    if osm_stops:
        nodes.update({50_000 + k: (x, y, {"highway": "bus_stop"}) for k, (x, y) in enumerate(stops)})
    return uc.read_osm(write_osm(path, nodes, ways, bounds=bounds))


def radius_rules(thresholds, demand=("residents", "residential_buildings", "compounds", "streets")):
    return parse_rules({"ruleset": {"id": "props"}, "rule": [
        {"id": f"r{k}", "kind": "radius", "threshold_m": float(t), "facilities": STOP, "demand": list(demand)}
        for k, t in enumerate(thresholds)
    ]})


def run(osm, rules, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # far places, offset heuristics, all-gaps: not what is tested here
        return uc.evaluate(osm, rules, **kw)


def points(xy, crs=32650, **cols):
    return gpd.GeoDataFrame(cols, geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy], crs=crs)


def user_layers(city, rng):
    """Facilities, population points and compounds as the user's own layers (EPSG:32650)."""
    _, _, _, homes, stops, _ = city
    facilities = points(stops, name=[f"stop {k}" for k in range(len(stops))])
    population = points(homes, population=rng.integers(1, 500, len(homes)).astype(float))
    boxes = []
    for x, y in homes[::2]:  # compounds do not overlap (which of two overlapping ones holds a home is arbitrary)
        b = shapely.box(X0 + x - 20, Y0 + y - 20, X0 + x + 20, Y0 + y + 20)
        if not any(b.intersects(o) for o in boxes):
            boxes.append(b)
    compounds = gpd.GeoDataFrame({"name": [f"c{k}" for k in range(len(boxes))], "year_built": 1990}, geometry=boxes, crs=32650)
    return facilities, population, compounds


def summary_values(report) -> pd.DataFrame:
    s = report.summary.set_index("id")
    cols = [c for c in ["facilities", "residents", "buildings", "compounds", "street_km", *SHARE_COLUMNS, "value", "passed"] if c in s]
    return s[cols]


def assert_same_summary(a, b, tol):
    sa, sb = summary_values(a), summary_values(b)
    assert list(sa.index) == list(sb.index)
    assert sa["passed"].tolist() == sb["passed"].tolist()
    x, y = sa.drop(columns="passed").to_numpy(float), sb.drop(columns="passed").to_numpy(float)
    assert np.array_equal(np.isnan(x), np.isnan(y))
    np.testing.assert_allclose(x[~np.isnan(x)], y[~np.isnan(y)], rtol=0, atol=tol)


def _unambiguous(p, lines):
    """The nearest edge of p is unique, or all nearest edges project p on the same spot."""
    d = shapely.distance(p, lines)
    near = np.flatnonzero(d <= d.min() + 1e-6)
    spots = [shapely.get_point(shapely.shortest_line(lines[k], p), 0) for k in near]
    return all(s.distance(spots[0]) < 1e-6 for s in spots)


# -- thresholds ------------------------------------------------------------------------------------
# a home 110.3607 m away on foot, under D = 110.3125 m: served within the plan's 0.05 m tolerance
@example(city=({1: (23.2421875, 13.447265625), 2: (0.0, 135.0), 3: (0.0, 270.0), 4: (175.0, 0.0), 5: (175.0, 135.0),
                6: (175.0, 270.0)}, [(1, [1, 4], {"highway": "residential"})], (-87.5, -67.5, 262.5, 337.5),
               [(0.0, 0.0), (133.75, 0.0)], [(38.6875, 0.0)], (0.0, 0.0)),
         thresholds=[20.0, 21.0, 110.3125])
@SETTINGS
@given(city=cities(), thresholds=st.lists(st.floats(20, 900), min_size=3, max_size=3, unique=True))
def test_shares_match_networkx_and_grow_with_the_threshold(tmp_path_factory, city, thresholds):
    thresholds = sorted(thresholds)
    osm = write_city(tmp_path_factory.mktemp("t") / "city.osm", city)
    report = run(osm, radius_rules(thresholds))
    s = report.summary.set_index("id")
    # never decreasing with the threshold, for every demand layer
    for col in NET_SHARES:
        v = s[col].to_numpy(float)
        if not np.isnan(v).all():
            assert np.all(np.diff(v) >= -1e-12), (col, v)
    # network shares never exceed straight-line shares (point facilities). Straight-line street
    # coverage is measured with buffers of 32 segments per quarter circle, whose rim lies up to
    # r (1 - cos(pi / 128)) = 3.0e-4 r inside the circle: each end of a covered interval may fall short
    # by that much, so the street shares are compared within that bound
    net_len = report.network.length.sum()
    for col in NET_SHARES:
        net, line = s[col].to_numpy(float), s[col + "_straight"].to_numpy(float)
        ok = ~np.isnan(net)
        tol = np.full(len(net), 1e-9)
        if col == "street_served":
            tol += 2 * report.network.n_edges * (1 - np.cos(np.pi / 128)) * np.asarray(thresholds) / net_len
        assert np.all(net[ok] <= line[ok] + tol[ok]), col
    # the shares of homes are networkx's, on the same graph (an independent Dijkstra, tests/nxref.py)
    net = report.network
    homes = shapely.point_on_surface(report.context.homes.geometry.to_numpy())
    stops = report.results["r0"].layers["facilities_points"].geometry.to_numpy()
    if not all(_unambiguous(p, net.geometry) for p in [*homes, *stops]):
        return
    ref, _ = nxref.reference(net.geometry, net.u, net.v, list(stops), list(homes))
    for k, t in enumerate(thresholds):
        # within D is at most D + the rule set's tolerance (PLAN_RULES rev 3: 0.05 m, OSM's ~1 cm
        # coordinates): hypothesis found a home 110.3607 m away served under D = 110.3125 m
        t = t + report.results[f"r{k}"].rule.tolerance
        assert s.loc[f"r{k}", "buildings_served"] == pytest.approx(np.mean(ref <= t), abs=1e-12)
        unserved = report.results[f"r{k}"].layers["homes_unserved"]["network_m"].fillna(np.inf).to_numpy()  # NaN: no path
        expected = np.sort(ref[ref > t])
        assert np.array_equal(np.isinf(np.sort(unserved)), np.isinf(expected))
        np.testing.assert_allclose(np.sort(unserved)[np.isfinite(expected)], expected[np.isfinite(expected)], atol=1e-6)
        # and every unserved home is at least as far by network as in a straight line
        layer = report.results[f"r{k}"].layers["homes_unserved"]
        assert not np.any(layer["network_m"] < layer["straight_m"] - 1e-6)  # NaN: no path


# -- facilities added ----------------------------------------------------------------------------
@SETTINGS
@given(city=cities(), threshold=st.floats(50, 800))
def test_adding_a_facility_never_lowers_a_share(tmp_path_factory, city, threshold):
    osm = write_city(tmp_path_factory.mktemp("a") / "city.osm", city, osm_stops=False)
    rules = radius_rules([threshold])
    stops, extra = city[4], city[5]
    before = run(osm, rules, facilities={"r0": points(stops)})
    after = run(osm, rules, facilities={"r0": points([*stops, extra])})
    b, a = before.summary.iloc[0], after.summary.iloc[0]
    assert a["facilities"] == b["facilities"] + 1
    for col in SHARE_COLUMNS:
        if not np.isnan(b[col]):
            assert a[col] >= b[col] - 1e-12, col
    # per place too: no home served before is unserved after
    ids = lambda r: set(r.results["r0"].layers["homes_unserved"]["osmid"])
    assert ids(after) <= ids(before)


# -- row order -------------------------------------------------------------------------------------
@SETTINGS
@given(city=cities(), threshold=st.floats(50, 800), seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_change_the_summary(tmp_path_factory, city, threshold, seed):
    rng = np.random.default_rng(seed)
    d = tmp_path_factory.mktemp("o")
    facilities, population, compounds = user_layers(city, rng)
    rules = radius_rules([threshold])
    osm = write_city(d / "city.osm", city, osm_stops=False)
    base = run(osm, rules, facilities={"r0": facilities}, compounds=compounds)
    shuffled_osm = write_city(d / "shuffled.osm", city, osm_stops=False, home_order=rng.permutation(len(city[3])))
    shuffle = lambda g: g.iloc[rng.permutation(len(g))]
    other = run(shuffled_osm, rules, facilities={"r0": shuffle(facilities)}, compounds=shuffle(compounds))
    assert_same_summary(base, other, 1e-12)
    # the per-compound table agrees too, matched by name
    key = lambda r: r.compounds.set_index("name").sort_index()[["served_r0", "homes", "residents"]]
    pd.testing.assert_frame_equal(key(base), key(other), check_exact=False, atol=1e-9)
    # with a population layer: the same residents, in another order
    base = run(osm, rules, facilities={"r0": facilities}, population=population)
    other = run(osm, rules, facilities={"r0": facilities}, population=shuffle(population))
    assert_same_summary(base, other, 1e-12)


# -- coordinate systems --------------------------------------------------------------------------
@SETTINGS
@given(city=cities(), threshold=st.floats(50, 800), seed=st.integers(0, 2**32 - 1))
def test_input_crs_does_not_change_the_summary(tmp_path_factory, city, threshold, seed):
    facilities, population, compounds = user_layers(city, np.random.default_rng(seed))
    rules = radius_rules([threshold])
    osm = write_city(tmp_path_factory.mktemp("c") / "city.osm", city, osm_stops=False)
    utm = run(osm, rules, facilities={"r0": facilities}, population=population, compounds=compounds)
    wgs = run(osm, rules, facilities={"r0": facilities.to_crs(4326)}, population=population.to_crs(4326),
              compounds=compounds.to_crs(4326))
    assert_same_summary(utm, wgs, 1e-9)
    # and another projected CRS: CGCS2000 / 3-degree Gauss-Kruger CM 117E (what Chinese offices use)
    gk = run(osm, rules, facilities={"r0": facilities.to_crs(4548)}, population=population.to_crs(4548),
             compounds=compounds.to_crs(4548))
    assert_same_summary(utm, gk, 1e-9)
