"""The measurement core: a rule is measured once and every output reads that measurement.

The regression case of issue 11: on the Shenzhen sample, a user layer of ONE bus stop replaced OSM's
16 stops in the summary, but siting and the gap map silently used OSM's stops again. Here the same
reproduction is read through every output, and each must see the one stop and the same share; the
share itself is checked against an independent computation (the engine's plain
``network_distance`` from the one stop to each resident point).
"""

from __future__ import annotations

import warnings

import numpy as np
import pyogrio
import pytest
import shapely

import urbancover as uc
from urbancover.evaluation import measure
from urbancover.plan.rules import KINDS

RID = "bus_stop_500"


@pytest.fixture(scope="module")
def one_stop_report(shenzhen_osm):
    stops = shenzhen_osm.features[shenzhen_osm.features["highway"] == "bus_stop"]
    assert len(stops) > 1  # OSM has many: the user's layer must replace them
    one = stops.iloc[[0]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = uc.evaluate(shenzhen_osm, only=[RID], facilities={RID: one})
    return report, one


def test_the_measurement_holds_the_users_layer(one_stop_report):
    report, one = one_stop_report
    m = report.results[RID].measurement
    assert len(m.checks) == 1 and m.checks[0].user_key == RID
    assert len(m.checks[0].facilities) == 1
    assert report.summary.loc[report.summary["id"] == RID, "facilities"].item() == 1


def test_share_matches_an_independent_network_distance(one_stop_report, shenzhen_net):
    """Residents served = weight of resident points within 500 m of the one stop, recomputed with
    the public engine call, not through the measurement."""
    report, one = one_stop_report
    pop = report.context.population
    d = uc.network_distance(shenzhen_net, one, pop.geometry, cutoff=None)
    w = pop["residents"].to_numpy()
    expected = w[d <= 500].sum() / w.sum()
    row = report.summary.set_index("id").loc[RID]
    assert row["residents_served"] == pytest.approx(expected, abs=1e-12)


def test_every_output_sees_one_facility_and_one_share(one_stop_report, tmp_path):
    report, one = one_stop_report
    row = report.summary.set_index("id").loc[RID]
    # the rule's own layer
    assert len(report.results[RID].layers["facilities_points"]) == 1
    # what the gap map and the interactive map draw
    from urbancover.report import common

    checks = common.rule_checks(report, RID)
    assert [len(f) for f in checks.facilities] == [1]
    pieces = common.street_distances(report, RID, step=np.inf)
    fld = report.results[RID].measurement.checks[0].field
    mid = (pieces["start"].to_numpy() + pieces["end"].to_numpy()) / 2
    np.testing.assert_allclose(pieces["network_distance"].to_numpy(), fld.along(pieces["edge"].to_numpy(), mid))
    # the GeoPackage
    path = report.to_gpkg(tmp_path / "one.gpkg")
    assert len(pyogrio.read_dataframe(path, layer=f"{RID}__facilities_points")) == 1
    values = pyogrio.read_dataframe(path, layer="summary_values")
    assert values.set_index(["rule", "name"]).loc[(RID, "residents_served"), "value"] == pytest.approx(row["residents_served"])
    # siting starts from the measured share
    res = uc.site_facilities(report, RID, demand="residents")
    assert res.before == pytest.approx(row["residents_served"], abs=1e-12)
    # the zone search's need: residents served per point, summed
    served = report.results[RID].residents_served
    w = report.context.population["residents"].to_numpy()
    assert w[served].sum() / w.sum() == pytest.approx(row["residents_served"], abs=1e-12)


def test_one_distance_pass_per_facility_set(shenzhen_osm):
    """The three toilet rules share a selector: one field object, not three passes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = uc.evaluate(shenzhen_osm, only=["toilet_main_300", "toilet_general_500", "toilet_riverside_800"])
    fields = {id(report.results[r].measurement.checks[0].field) for r in report.results}
    assert len(fields) == 1


def test_kinds_are_data():
    """Distance kinds are flagged in the schema; every kind of the schema has exactly one registered
    function (and the distance kinds the distance rule's)."""
    from urbancover.evaluation import gaps, indicators, kinds

    assert {k for k, spec in KINDS.items() if spec.distance} == {"radius", "all_of"}
    registered = kinds.registered()
    assert set(registered) == set(KINDS)
    assert registered["radius"] is registered["all_of"] is gaps.distance_rule
    assert registered["density"] is indicators.density_rule


def test_rule_kind_refuses_unknown_and_duplicate_kinds():
    from urbancover.evaluation import kinds

    with pytest.raises(ValueError, match="not a rule kind"):
        kinds.rule_kind("no_such_kind")(lambda rule, ctx: None)
    with pytest.raises(ValueError, match="already evaluated"):
        kinds.rule_kind("density")(lambda rule, ctx: None)
    assert kinds.registered()["density"].__name__ == "density_rule"  # the refusal changed nothing


def test_non_distance_rules_have_no_measurement(shenzhen_osm):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = uc.evaluate(shenzhen_osm, only=["road_density", RID])
    assert report.results["road_density"].measurement is None
    assert measure.distance_rules(report.results) == [RID]


def test_gap_grid_is_built_once(shenzhen_osm):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = uc.evaluate(shenzhen_osm, only=[RID, "park_500"])
    grid = lambda: report.context.memoized("gap grid")  # noqa: E731
    # the gap polygons are made when first read, and then the grid once for every rule
    assert grid() == [] and not report.results[RID].layers.is_made("gaps")
    report.results["park_500"].layers["gaps"]
    assert len(grid()) == 1
    # a gap cell's centre is farther than the threshold from every stop, along the network
    gaps = report.results[RID].layers["gaps"]
    grid = measure.gap_cells(report.context)
    land, pts = grid.land, grid.centres()
    assert shapely.equals_exact(shapely.centroid(grid.boxes()), pts, tolerance=1e-9).all()
    d = report.results[RID].measurement.checks[0].field.at_snapped(grid.snapped, geoms=pts)
    inside_gap = shapely.intersects(gaps.geometry.union_all(), pts) if len(gaps) else np.zeros(len(pts), bool)
    # every cell centre in a gap polygon is unserved (cells are cut to land, so test centres on land)
    on_land = shapely.intersects(land, pts)
    assert (d[inside_gap & on_land] > 500).all()


def test_sweep_reuses_the_distances_and_agrees_with_the_rule(one_stop_report, shenzhen_net):
    """At the rule's own threshold the sweep equals the summary; at other thresholds it equals the
    share recomputed from an independent network_distance call; it never decreases."""
    report, one = one_stop_report
    sw = report.sweep(RID, [200, 300, 400, 500, 800])
    row = report.summary.loc[RID]
    assert sw.loc[500.0, "residents_served"] == pytest.approx(row["residents_served"], abs=1e-12)
    assert sw.loc[500.0, "street_served"] == pytest.approx(row["street_served"], abs=1e-12) if "street_served" in sw else True
    pop = report.context.population
    d = uc.network_distance(shenzhen_net, one, pop.geometry)
    w = pop["residents"].to_numpy()
    for t in (200, 300, 800):
        assert sw.loc[float(t), "residents_served"] == pytest.approx(w[d <= t].sum() / w.sum(), abs=1e-12)
    assert np.all(np.diff(sw["residents_served"].to_numpy()) >= 0)
    with pytest.raises(uc.InputError, match="rule_id"):
        report.sweep("no_such_rule", [100])


def test_main_street_with_separate_sidewalks_is_demand(tmp_path):
    """PLAN_RULES rev 2: toilet demand is the main road itself, walkable or not.

    A primary road from x = 0 to 1000 along y = 0 whose sidewalks are mapped as a separate way
    (``sidewalk=separate``: not walkable); the sidewalk, a footway along y = 10; a public toilet at
    (0, 20). Worked by hand: a point x of the road is 10 m from the sidewalk, then x along it, then
    10 m to the toilet: x + 20 <= 300 for x <= 280, so 280 of 1000 m are served; by straight line
    (0, 20) is within 300 m of x <= sqrt(300² - 20²) = 299.33. The road is measured in pieces of at
    most settings.road_piece_m (10 m) at their middles, so each share is right to one piece (1 %).
    Before, the road was no demand at all.
    """
    from osmfactory import write_osm

    nodes = {1: (0, 0), 2: (1000, 0), 3: (0, 10), 4: (1000, 10), 9: (0, 20, {"amenity": "toilets"})}
    ways = [
        (1, [1, 2], {"highway": "primary", "sidewalk": "separate"}),
        (2, [3, 4], {"highway": "footway", "footway": "sidewalk"}),
        (3, [9, 3], {"highway": "footway"}),
    ]
    path = write_osm(tmp_path / "main.osm", nodes, ways, bounds=(-50, -100, 1050, 100))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = uc.evaluate(path, only=["toilet_main_300"])
    row = report.summary.loc["toilet_main_300"]
    assert row["street_km"] == pytest.approx(1.0, abs=1e-5)  # (coordinates rounded to 1e-9 degrees)
    assert row["street_served"] == pytest.approx(0.280, abs=0.0101)
    assert row["street_served_straight"] == pytest.approx(0.29933, abs=0.0101)
    assert any("not walkable themselves" in n for n in report.notes)
    # the unserved pieces of the road are in the layer: the rest of the 1000 m
    layer = report.results["toilet_main_300"].layers["streets_unserved"]
    assert layer.length.sum() == pytest.approx(1000.0 * (1 - row["street_served"]), abs=0.01)


@pytest.mark.parametrize("block", [250_000, 37])
def test_land_cells_are_the_cells_of_the_full_grid_that_meet_land(block, monkeypatch):
    """measure.land_cells makes only the cells near land, and keeps exactly (and in the same order)
    the cells of the grid over the land's bounds that intersect it: thin, multi-part and nested land
    (their boxes, made from the cell numbers, equal the full grid's)."""
    monkeypatch.setattr(measure, "CELL_BLOCK", block)  # cells made in blocks: the same cells
    rng = np.random.default_rng(5)
    parts = [shapely.box(x, y, x + w, y + h) for x, y, w, h in rng.uniform([0, 0, 1, 1], [2000, 1500, 120, 90], (60, 4))]
    parts += [shapely.LineString([(0, 1600), (1900, 1610)]).buffer(0.3), shapely.Point(1500, 200).buffer(300).difference(shapely.Point(1500, 200).buffer(250))]
    for land in (shapely.union_all(parts), parts[0], shapely.GeometryCollection([shapely.union_all(parts), shapely.LineString([(3000, 0), (3100, 50)])])):
        for cell in (25.0, 7.0):
            minx, miny, maxx, maxy = land.bounds
            xs = np.arange(minx + cell / 2, maxx, cell)
            ys = np.arange(miny + cell / 2, maxy, cell)
            gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
            full = shapely.box(gx - cell / 2, gy - cell / 2, gx + cell / 2, gy + cell / 2)
            want = full[shapely.intersects(land, full)]
            got = measure.GapGrid(land, cell, measure.land_cells(land, cell), None).boxes()
            assert len(got) == len(want)
            assert shapely.equals_exact(got, want, tolerance=0).all()


def test_context_memo_computes_once_per_family_and_key(shenzhen_report):
    ctx = shenzhen_report.context
    calls = []

    def make():
        calls.append(1)
        return object()

    a = ctx.memo("gap grid", "test-key", make)
    assert ctx.memo("gap grid", "test-key", make) is a and len(calls) == 1
    assert "test-key" in ctx.memoized("gap grid")
    with pytest.raises(ValueError, match="unknown family"):
        ctx.memo("gap gird", "test-key", make)  # a typo would silently share nothing
