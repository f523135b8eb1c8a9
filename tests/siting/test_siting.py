"""Siting new facilities: candidates, coverage sets, set covering / maximal covering, and the sample.

Coverage sets are checked against the independent networkx reference of nxref.py; optima against
cases whose answer is known by construction, against brute-force enumeration and against PySAL
spopt's LSCP / MCLP (skipped when spopt is not installed); the greedy against its guarantees; and
on the bundled sample, the proposed sites are added as facilities and the rule measured again.
"""

from __future__ import annotations

import itertools
import math
import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from helpers import CRS, box, hand_reference, line, lines_gdf, points

import urbancover as uc
from urbancover import siting
from urbancover.core.errors import InputError
from urbancover.siting import (
    SPARE,
    add_sites,
    candidate_sites,
    coverage_matrix,
    facility_tags,
    propose_sites,
    site_facilities,
    solve_covering,
    street_coverage,
)

try:  # CBC through PuLP (pip install "pulp[cbc]")
    import pulp

    HAS_PULP = True
except ImportError:  # pragma: no cover
    HAS_PULP = False

SOLVERS = ["highs"] + (["cbc"] if HAS_PULP else [])


# -- a small grid city with one curved street, for brute-force checks ------------------------------
R = 120.0


def _grid_lines():
    """A 3 x 3 block grid (100 m blocks, every side its own line) and a curved street from the
    west end of y=300 to the south end of x=300 that crosses blocks without meeting the grid."""
    lines = []
    for i in range(4):
        for j in range(3):
            lines.append(line((i * 100, j * 100), (i * 100, (j + 1) * 100)))
            lines.append(line((j * 100, i * 100), ((j + 1) * 100, i * 100)))
    lines.append(line((0, 300), (40, 330), (200, 360), (360, 200), (330, 40), (300, 0)))
    return lines


@pytest.fixture(scope="module")
def grid():
    lines = _grid_lines()
    net = uc.walk_network(lines_gdf(*lines), filter=None)
    rng = np.random.default_rng(7)
    xy = rng.uniform(-20, 320, size=(30, 2))
    demand = points(*map(tuple, xy))
    demand["residents"] = rng.integers(10, 200, size=len(demand)).astype(float)
    cands = candidate_sites(net, 40.0)
    # brute force: one networkx search per candidate, nothing from urbancover but the sites' points
    dist = np.column_stack([hand_reference(lines, [g], demand)[0] for g in cands.geometry])  # demand x candidates
    return lines, net, demand, cands, dist


# -- candidates ----------------------------------------------------------------------------------
def test_candidate_sites_every_node_and_at_most_spacing_apart():
    # a T: bar 230 m (split at x=100 by the stem) and a stem of 100 m
    net = uc.walk_network(lines_gdf(line((0, 0), (100, 0), (230, 0)), line((100, 0), (100, 100))), filter=None)
    c = candidate_sites(net, 50.0)
    assert c.crs == net.crs
    # 4 nodes; inner sites: 100 m -> 1, 130 m -> 2, 100 m -> 1
    assert (c["node"] >= 0).sum() == 4 and len(c) == 4 + 1 + 2 + 1
    for e, grp in c.groupby("edge"):
        offs = np.sort(np.r_[0.0, grp["offset"].to_numpy(), net.length[e]])
        assert np.diff(offs).max() <= 50.0 + 1e-9
    # every site lies on its edge, at its offset
    g = net.geometry[c["edge"].to_numpy()]
    assert shapely.distance(g, c.geometry.values).max() < 1e-9
    assert shapely.line_locate_point(g, c.geometry.values) == pytest.approx(c["offset"].to_numpy(), abs=1e-9)
    assert set(c["access"]) == {0.0}


def test_candidate_sites_within_a_layer():
    net = uc.walk_network(lines_gdf(line((0, 0), (1000, 0))), filter=None)
    lot = gpd.GeoDataFrame(geometry=[box(300, 20, 420, 80)], crs=CRS).to_crs(4326)  # 20 m off the street
    assert len(candidate_sites(net, 50.0, within=lot)) == 0
    c = candidate_sites(net, 50.0, within=lot, near=25.0)
    # sites every 50 m; those within 25 m of the lot: x in 300..420 (the lot is 20 m away)
    assert sorted(c["offset"].round(6)) == [300.0, 350.0, 400.0]
    with pytest.raises(InputError, match="spacing"):
        candidate_sites(net, 0)


# -- coverage sets -------------------------------------------------------------------------------
def test_coverage_sets_match_brute_force(grid):
    lines, net, demand, cands, dist = grid
    expected = dist.T <= R - SPARE  # candidates x demand
    assert 0 < expected.sum() < expected.size  # a real mix of served and not
    m, (i, j, d) = coverage_matrix(net, cands, demand, R, return_distance=True)
    assert m.shape == expected.shape
    np.testing.assert_array_equal(m.toarray(), expected)
    np.testing.assert_allclose(d, dist[j, i], atol=1e-6)
    # the search runs from the smaller set: more demand than candidates takes the other way
    many = gpd.GeoDataFrame(geometry=list(demand.geometry) * 4, crs=demand.crs)
    m2 = coverage_matrix(net, cands.iloc[:20], many, R)
    np.testing.assert_array_equal(m2.toarray(), np.tile(expected[:20], 4))


def test_street_coverage_matches_one_distance_field_per_site(grid):
    _, net, _, cands, _ = grid
    demand = (np.arange(net.n_edges), np.zeros(net.n_edges), net.length.copy())
    sub = cands.iloc[::5].reset_index(drop=True)
    m, (e, s, t) = street_coverage(net, sub, demand, R)
    assert np.all(t - s > siting.SLIVER)
    covered = m.toarray() @ (t - s)
    for c in range(len(sub)):
        fld = uc.distance_field(net, sub.iloc[[c]], None)
        _, a, b = fld.covered_intervals(R - SPARE)
        assert covered[c] == pytest.approx(np.sum(b - a), abs=1e-4)


# -- optima known by construction ----------------------------------------------------------------
def _clusters():
    """A 3 km street; three clusters of three homes 10 m off it, 1300 m apart."""
    net = uc.walk_network(lines_gdf(line((0, 0), (3000, 0))), filter=None)
    demand = points(*[(x, 10) for c in (200, 1500, 2800) for x in (c - 50, c, c + 50)])
    return net, demand


@pytest.mark.parametrize("method", ["greedy", "exact"])
def test_three_separated_clusters_need_exactly_three_sites(method):
    net, demand = _clusters()
    res = propose_sites(net, demand, 100.0, method=method)
    assert len(res.sites) == 3 and res.after == pytest.approx(1.0) and res.before == 0
    # one site in each cluster, each newly serving its 3 homes
    xs = np.sort(shapely.get_x(res.sites.geometry.values) - 500000)
    for x, c in zip(xs, (200, 1500, 2800)):
        assert abs(x - c) <= 40
    assert res.sites["demand_newly_served"].tolist() == [3, 3, 3]
    assert res.curve["share"].to_numpy() == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert res.min_sites_bound == 3  # the greedy's own gains prove 3 are needed
    assert set(res.newly_served["site"]) == {1, 2, 3}


def test_existing_facility_counts_as_built():
    net, demand = _clusters()
    res = propose_sites(net, demand, 100.0, existing=points((1500, -5)), method="exact")
    assert res.before == pytest.approx(1 / 3) and len(res.sites) == 2
    assert not (abs(shapely.get_x(res.sites.geometry.values) - 501500) < 200).any()


@pytest.mark.parametrize("method", ["greedy", "exact"])
def test_maximal_covering_takes_the_heaviest_clusters_and_no_useless_site(method):
    net, demand = _clusters()
    w = np.repeat([1.0, 5.0, 3.0], 3)
    best2 = propose_sites(net, demand, 100.0, weights=w, k=2, method=method)
    assert best2.problem == "MCLP" and len(best2.sites) == 2
    assert best2.sites["demand_newly_served"].tolist() == [15, 9]
    assert best2.after == pytest.approx(24 / 27)
    # five sites asked, three cover everything: the other two would add nothing
    best5 = propose_sites(net, demand, 100.0, weights=w, k=5, method=method)
    assert len(best5.sites) == 3 and best5.after == pytest.approx(1.0)


def test_unreachable_demand_caps_the_goal_and_is_said():
    net, demand = _clusters()
    far = points((1500, 3000))  # 3 km from the street, beyond settings.max_snap_distance
    demand = gpd.GeoDataFrame(geometry=list(demand.geometry) + list(far.geometry), crs=CRS)
    res = propose_sites(net, demand, 100.0)
    assert res.attainable == pytest.approx(0.9) and res.goal == pytest.approx(0.9)
    assert res.after == pytest.approx(0.9) and len(res.sites) == 3
    assert any("max_snap_distance" in n for n in res.notes)
    assert any("cannot be reached" in n for n in res.notes)
    # candidates only near the middle cluster: the others are outside the candidate area
    zone = gpd.GeoDataFrame(geometry=[box(1300, -50, 1700, 50)], crs=CRS)
    res = propose_sites(net, demand, 100.0, within=zone, target=1.0)
    assert len(res.sites) == 1 and res.after == pytest.approx(0.3)
    assert all(zone.union_all().contains(g) for g in res.sites.geometry)


@pytest.mark.parametrize("method", ["greedy", "exact"])
def test_nothing_to_add_when_existing_facilities_serve_everyone(method):
    net, demand = _clusters()
    stops = points((200, -5), (1500, -5), (2800, -5))
    res = propose_sites(net, demand, 100.0, existing=stops, method=method)
    assert len(res.sites) == 0 and res.before == res.after == 1.0
    assert res.curve["n_sites"].tolist() == [0] and any("no new site" in n for n in res.notes)
    assert len(propose_sites(net, demand, 100.0, existing=stops, k=2, method=method).sites) == 0


def test_buildings_are_placed_at_their_point_on_surface():
    net, _ = _clusters()
    # a 40 x 40 m building whose nearest side is 10 m off the street, centre 30 m off it
    home = gpd.GeoDataFrame(geometry=[box(1480, 10, 1520, 50)], crs=CRS)
    res = propose_sites(net, home, 30.5, method="exact")
    assert len(res.sites) == 1 and abs(shapely.get_x(res.sites.geometry.values[0]) - 501500) <= 0.5 + 1e-6
    assert propose_sites(net, home, 29.5).attainable == 0  # its point is 30 m from the street


# -- the choice: greedy against its guarantees, exact against enumeration ----------------------------
def _bait():
    """Set cover where the greedy is fooled: rows A = a1..a7, B = b1..b7 (the optimum, 2 sets);
    baits T1 (4 + 4), T2 (2 + 2), T3 (1 + 1) each take more than either row alone."""
    a, b = list(range(7)), list(range(7, 14))
    sets = [a, b, a[:4] + b[:4], a[4:6] + b[4:6], a[6:] + b[6:]]
    m = np.zeros((5, 14), dtype=bool)
    for r, s in enumerate(sets):
        m[r, s] = True
    return m


def test_greedy_is_fooled_within_its_bound_and_exact_is_not():
    m = _bait()
    g = solve_covering(m)
    assert g.sites.tolist() == [2, 3, 4] and g.covered == 14
    # bound: 1 + ln(14 / 2) = 2.95 x the optimum; the greedy's gains prove at least 2 are needed
    assert len(g.sites) <= (1 + math.log(14 / 2)) * 2
    # and, unweighted and covering everything, H(8) = 2.72 x (Johnson's bound, 8 = the largest set)
    assert len(g.sites) <= sum(1 / i for i in range(1, 9)) * 2 and "2.72 x" in g.guarantee
    assert g.min_sites_bound == 2
    for solver in SOLVERS:
        e = solve_covering(m, method="exact", solver=solver)
        assert sorted(e.sites.tolist()) == [0, 1] and e.optimal
    # maximal covering with k = 2: greedy 8 + 4 = 12 >= (1 - 1/e) x 14; exact 14
    g2 = solve_covering(m, k=2)
    assert g2.covered == 12 and g2.covered >= (1 - (1 - 1 / 2) ** 2) * 14 and g2.max_covered_bound >= 14
    assert solve_covering(m, k=2, method="exact").covered == 14


def _brute_lscp(m, w, goal):
    for n in range(m.shape[0] + 1):
        for combo in itertools.combinations(range(m.shape[0]), n):
            if w[m[list(combo)].any(axis=0)].sum() >= goal - 1e-9:
                return n
    raise AssertionError


def _brute_mclp(m, w, k):
    return max(w[m[list(c)].any(axis=0)].sum() for c in itertools.combinations(range(m.shape[0]), k))


@pytest.mark.parametrize("seed", range(6))
def test_exact_equals_enumeration_and_greedy_keeps_its_guarantees(seed):
    rng = np.random.default_rng(seed)
    m = rng.random((10, 25)) < 0.2
    m[rng.integers(0, 10, 25), np.arange(25)] = True  # every element coverable
    w = rng.uniform(1, 100, 25)
    goal = 0.9 * w.sum()
    best = _brute_lscp(m, w, goal)
    g = solve_covering(m, w, goal=goal)
    assert g.min_sites_bound <= best <= len(g.sites)
    r = goal - np.r_[0, np.cumsum(g.gains)][:-1]
    assert len(g.sites) <= (1 + math.log(goal / r[-1])) * best + 1e-9
    for solver in SOLVERS:
        e = solve_covering(m, w, goal=goal, method="exact", solver=solver)
        assert len(e.sites) == best and e.covered >= goal - 1e-9 and e.optimal
    for k in (2, 3):
        opt = _brute_mclp(m, w, k)
        g = solve_covering(m, w, k=k)
        assert (1 - (1 - 1 / k) ** k) * opt - 1e-9 <= g.covered <= opt + 1e-9 <= g.max_covered_bound + 2e-9
        for solver in SOLVERS:
            assert solve_covering(m, w, k=k, method="exact", solver=solver).covered == pytest.approx(opt)


def test_lazy_greedy_equals_the_plain_greedy():
    rng = np.random.default_rng(3)
    m = rng.random((60, 300)) < 0.05
    w = rng.uniform(0.5, 2.0, 300)
    g = solve_covering(m, w, k=15)
    covered = np.zeros(300, bool)
    for step in range(15):
        gains = (m & ~covered) @ w
        c = int(np.argmax(gains))
        assert g.sites[step] == c and g.gains[step] == pytest.approx(gains[c])
        covered |= m[c]


def test_solve_covering_refuses_bad_input():
    m = _bait()
    with pytest.raises(InputError, match="goal"):
        solve_covering(m, goal=15)
    with pytest.raises(InputError, match="not both"):
        solve_covering(m, goal=3, k=2)
    with pytest.raises(InputError, match="method"):
        solve_covering(m, method="clever")
    with pytest.raises(InputError, match="weights"):
        solve_covering(m, np.ones(3))


# -- PySAL spopt on the grid city ------------------------------------------------------------------
def test_exact_equals_spopt_lscp_and_mclp(grid):
    spopt_locate = pytest.importorskip("spopt.locate")
    if not HAS_PULP:
        pytest.skip("spopt solves with PuLP")
    _, net, demand, cands, dist = grid
    cbc = pulp.COIN_CMD(msg=False) if pulp.COIN_CMD(msg=False).available() else pulp.PULP_CBC_CMD(msg=False)
    w = demand["residents"].to_numpy()
    radius = R - SPARE  # a site serves within R - SPARE (see siting.SPARE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        lscp = spopt_locate.LSCP.from_cost_matrix(dist, radius).solve(cbc)
        want_sites = pulp.value(lscp.problem.objective)
        mclp = spopt_locate.MCLP.from_cost_matrix(dist, w, radius, p_facilities=3).solve(cbc)
        want_cover = pulp.value(mclp.problem.objective)
    for solver in SOLVERS:
        res = propose_sites(net, demand, R, weights="residents", spacing=40.0, method="exact", solver=solver)
        assert res.optimal and len(res.sites) == want_sites and res.after == pytest.approx(1.0)
        res = propose_sites(net, demand, R, weights="residents", spacing=40.0, k=3, method="exact", solver=solver)
        assert res.optimal and res.after * w.sum() == pytest.approx(want_cover)
    greedy = propose_sites(net, demand, R, weights="residents", spacing=40.0)
    assert want_sites <= len(greedy.sites) and greedy.min_sites_bound <= want_sites


# -- rules of the bundled sample -------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample(shenzhen_osm):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return uc.evaluate(shenzhen_osm, only=["bus_stop_500", "toilet_main_300", "living_10min"])


def _remeasure(osm, rule_id, res):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return uc.evaluate(add_sites(osm, res.sites, res.facility_tags), only=[rule_id]).summary.iloc[0]


def test_sample_bus_stops_reach_the_target_when_measured_again(sample, shenzhen_osm):
    res = site_facilities(sample, "bus_stop_500")
    row = sample.summary.set_index("id").loc["bus_stop_500"]
    assert res.before == pytest.approx(row["residents_served"], abs=1e-12)
    assert res.unit == "residents" and res.facility_tags == {"highway": "bus_stop"}
    # every home of the sample can be reached from the network, so the goal is the target itself;
    # where some cannot (beyond settings.max_snap_distance, another component), goal < target
    assert res.goal == res.target == 1.0 and res.after == pytest.approx(1.0)
    assert (res.sites["residents_newly_served"] > 0).all()
    assert np.all(np.diff(res.sites["residents_newly_served"]) <= 1e-9)  # the most first
    again = _remeasure(shenzhen_osm, "bus_stop_500", res)
    assert again["residents_served"] >= res.goal - 1e-9
    assert again["facilities"] == row["facilities"] + len(res.sites)
    exact = site_facilities(sample, "bus_stop_500", method="exact")
    assert exact.optimal and res.min_sites_bound <= len(exact.sites) <= len(res.sites)


def test_sample_best_k_bus_stops(sample, shenzhen_osm):
    res = site_facilities(sample, "bus_stop_500", k=2, method="exact")
    assert len(res.sites) == 2 and res.target is None and res.before < res.after <= res.max_share_bound + 1e-12
    greedy = site_facilities(sample, "bus_stop_500", k=2)
    assert greedy.after <= res.after + 1e-12
    assert _remeasure(shenzhen_osm, "bus_stop_500", res)["residents_served"] == pytest.approx(res.after, abs=1e-9)


def test_sample_toilets_along_main_streets(sample, shenzhen_osm):
    res = site_facilities(sample, "toilet_main_300")
    assert res.unit == "street_m" and res.facility_tags == {"amenity": "toilets"}
    row = sample.summary.set_index("id").loc["toilet_main_300"]
    assert res.before == pytest.approx(row["street_served"], abs=1e-9)
    assert res.total == pytest.approx(row["street_km"] * 1000)
    assert res.after == pytest.approx(1.0, abs=1e-9)
    assert res.newly_served["length"].sum() == pytest.approx((res.after - res.before) * res.total, rel=1e-9)
    again = _remeasure(shenzhen_osm, "toilet_main_300", res)
    assert again["street_served"] >= res.goal - 1e-9
    exact = site_facilities(sample, "toilet_main_300", method="exact", time_limit=30)
    assert res.min_sites_bound <= len(exact.sites) <= len(res.sites)
    assert _remeasure(shenzhen_osm, "toilet_main_300", exact)["street_served"] >= exact.goal - 1e-9


def test_exact_stopped_by_its_time_limit_is_never_worse_than_the_greedy(sample):
    greedy = site_facilities(sample, "toilet_main_300")
    res = site_facilities(sample, "toilet_main_300", method="exact", time_limit=1e-3)
    assert res.optimal is False and "time limit" in res.guarantee
    assert len(res.sites) <= len(greedy.sites) and res.after >= res.goal - 1e-9


def test_sample_sites_only_in_a_zone(sample):
    ctx = sample.context
    x0, y0, x1, y1 = ctx.area.bounds
    zone = gpd.GeoDataFrame(geometry=[shapely.box(x0, y0, (x0 + x1) / 2, y1)], crs=ctx.crs)
    res = site_facilities(sample, "toilet_main_300", within=zone, target=1.0)
    assert res.sites.within(zone.union_all().buffer(1e-6)).all()
    # main streets in the east half are beyond 300 m of any site in the west half
    assert res.attainable < 1 and res.after == pytest.approx(res.attainable)
    assert any("from every candidate site" in n for n in res.notes)
    assert any("cannot be reached" in n for n in res.notes)


def test_site_facilities_refuses_what_it_cannot_do(sample):
    with pytest.raises(InputError, match="living_10min.*all_of.*radius"):
        site_facilities(sample, "living_10min")
    with pytest.raises(InputError, match="park_500.*not evaluated"):
        site_facilities(sample, "park_500")
    with pytest.raises(InputError, match="toilet_main_300.*residents"):
        site_facilities(sample, "toilet_main_300", demand="residents")
    with pytest.raises(InputError, match="not both"):
        site_facilities(sample, "bus_stop_500", target=0.9, k=3)


def test_curve_table_and_plot(sample):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot
    res = site_facilities(sample, "bus_stop_500")
    assert res.curve["n_sites"].tolist() == list(range(len(res.sites) + 1))
    assert np.all(np.diff(res.curve["share"]) > 0)
    assert res.curve["share"].iloc[0] == res.before and res.curve["share"].iloc[-1] == res.after
    ax = res.plot_curve()
    x, y = ax.lines[0].get_data()
    assert list(x) == res.curve["n_sites"].tolist() and np.allclose(y, 100 * res.curve["share"])
    matplotlib.pyplot.close(ax.figure)
    assert "bus_stop_500" in res.describe() and "100.0%" in res.describe()


def test_facility_tags_follow_the_selector():
    assert facility_tags([{"amenity": "toilets", "access": {"not": ["private"]}}]) == {"amenity": "toilets"}
    assert facility_tags([{"leisure": ["park", "garden"], "name": True}]) == {"leisure": "park", "name": "yes"}
    assert facility_tags([{"shop": False}]) is None
