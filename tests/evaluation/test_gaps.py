"""The bus_stop_500 rule end to end, on a hand-made city whose answers are worked out by hand,
and on the bundled sample (properties), plus the command line."""

import json
import warnings
from pathlib import Path

import numpy as np
import pyogrio
import pytest
from osmfactory import _city, _home, write_osm

import urbancover as uc
from urbancover.app.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "shenzhen_longgang.osm.bz2"


def test_bus_stop_rule_on_hand_made_city(tmp_path):
    report = uc.evaluate(_city(tmp_path), only=["bus_stop_500"])
    row = report.summary.set_index("id").loc["bus_stop_500"]
    assert row["facilities"] == 1  # the train platform is not a bus stop
    # home at x=100: 10 (stop access) + 100 (along street) + 40 (home access) = 150 m, served
    # home at x=470: 10 + 470 + 40 = 520 m > 500, unserved; straight line sqrt(470^2 + 30^2) = 471 m, served
    # home at x=900: 10 + 900 + 40 = 950 m, unserved both ways
    assert row["buildings"] == 3
    assert row["buildings_served"] == pytest.approx(1 / 3)
    assert row["buildings_served_straight"] == pytest.approx(2 / 3)
    unserved = report.results["bus_stop_500"].layers["homes_unserved"]
    assert sorted(np.round(unserved["network_m"], 1)) == [520.0, 950.0]
    assert sorted(np.round(unserved["straight_m"], 1)) == [round(np.hypot(470, 30), 1), round(np.hypot(900, 30), 1)]
    # street: 1000 m, covered from the stop's projection (x=0, cost 10) up to x = 490
    assert row["street_km"] == pytest.approx(1.0, abs=1e-3)
    assert row["street_served"] == pytest.approx(0.490, abs=1e-3)
    # straight line: the 500 m circle around (0, 10) meets y=0 up to x = sqrt(500^2 - 10^2) = 499.9
    assert row["street_served_straight"] == pytest.approx(np.sqrt(500**2 - 10**2) / 1000, abs=1e-3)
    streets = report.results["bus_stop_500"].layers["streets_unserved"]
    assert streets["length_m"].sum() == pytest.approx(510, abs=1)
    assert streets.length.sum() == pytest.approx(510, abs=1)  # geometry agrees with the column
    assert not row["passed"]


def test_missing_facilities_are_an_all_gap_with_one_note_and_no_warning(tmp_path):
    # a finding about the data is a note (issue 14.6), never a UserWarning: warnings are for misuse
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = uc.evaluate(_city(tmp_path, stops=False), only=["bus_stop_500"])
    assert sum("highway=bus_stop" in n for n in report.notes) == 1
    homes = report.results["bus_stop_500"].layers["homes_unserved"]
    assert set(homes["status"]) == {"no facility"} and homes["network_m"].isna().all() and homes["over_by_m"].isna().all()
    row = report.summary.iloc[0]
    assert row["facilities"] == 0
    assert row["buildings_served"] == 0 and row["street_served"] == 0
    assert len(report.results["bus_stop_500"].layers["homes_unserved"]) == 3
    assert any("no facility" in n for n in report.notes)


def test_area_restricts_demand_but_not_facilities(tmp_path):
    import geopandas as gpd
    import shapely
    from osmfactory import X0, Y0

    # analyse only x in [300, 1050]: the stop at x=0 lies outside but still serves x in [300, 490]
    area = gpd.GeoSeries([shapely.box(X0 + 300, Y0 - 100, X0 + 1050, Y0 + 100)], crs=32650)
    report = uc.evaluate(_city(tmp_path), only=["bus_stop_500"], area=area)
    row = report.summary.iloc[0]
    assert row["street_km"] == pytest.approx(0.7, abs=1e-3)
    assert row["street_served"] == pytest.approx(190 / 700, abs=1e-3)
    assert row["buildings"] == 2  # homes at x=470 and x=900


def test_sample_properties():
    report = uc.evaluate(SAMPLE, only=["bus_stop_500"])
    row = report.summary.iloc[0]
    assert row["facilities"] == 16  # shared/data/README.md
    assert 0 <= row["buildings_served"] <= row["buildings_served_straight"] <= 1
    assert 0 <= row["street_served"] <= row["street_served_straight"] <= 1
    layers = report.results["bus_stop_500"].layers
    assert (layers["homes_unserved"]["network_m"] > 500).all()
    assert (layers["homes_unserved"]["network_m"] >= layers["homes_unserved"]["straight_m"] - 1e-6).all()
    # unserved street length agrees with the share
    unserved_km = layers["streets_unserved"].length.sum() / 1000
    assert unserved_km == pytest.approx(row["street_km"] * (1 - row["street_served"]), rel=1e-3)


def test_cli_writes_geopackage_and_prints_summary(tmp_path, capsys):
    assert main(["analyze", str(SAMPLE), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "bus_stop_500" in out
    layers = dict(pyogrio.list_layers(tmp_path / "shenzhen_longgang.gpkg"))
    assert {"bus_stop_500__homes_unserved", "bus_stop_500__streets_unserved", "summary"} <= set(layers)
    # the sample misses bus_stop_500's target (one failing rule is what --strict needs; not the whole preset again)
    assert main(["analyze", str(SAMPLE), "--out", str(tmp_path / "strict"), "--only", "bus_stop_500", "--strict", "-q"]) == 1


def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nope.osm.pbf"), "--out", str(tmp_path / "out")]) == 2  # no write into the repo
    err = capsys.readouterr().err.strip()
    assert "nope.osm.pbf" in err and "no such file" in err and len(err.splitlines()) == 1


@pytest.fixture(scope="module")
def sample_report(shenzhen_report):
    return shenzhen_report  # the preset on the Shenzhen sample, evaluated once per session (conftest.py)


def test_preset_on_sample_every_rule_in_range(sample_report):
    summary = sample_report.summary.set_index("id")
    assert list(summary.index) == [r.id for r in uc.load_rules("zhengzhou-2018")]
    shares = [c for c in summary.columns if c.endswith("_served") or c.endswith("_served_straight")]
    values = summary[shares].to_numpy(dtype=float)
    assert np.all((values[~np.isnan(values)] >= 0) & (values[~np.isnan(values)] <= 1))
    # network coverage never exceeds straight-line coverage
    for layer in ("residents", "buildings", "compounds", "street"):
        net, line = summary[f"{layer}_served"].to_numpy(float), summary[f"{layer}_served_straight"].to_numpy(float)
        ok = ~np.isnan(net)
        assert np.all(net[ok] <= line[ok] + 1e-9), layer
    # toilets: main streets and other roads are disjoint, and together they are the roads (道路) of the
    # two selectors, not every walkable way (footways, paths, service alleys are not roads, rev 2)
    import shapely

    from urbancover.plan.selectors import select

    main, general = summary.loc["toilet_main_300"], summary.loc["toilet_general_500"]
    rules = uc.load_rules("zhengzhou-2018")
    edges = sample_report.context.network.edges
    roads = select(edges, rules["toilet_main_300"].params["streets"] + rules["toilet_general_500"].params["streets"])
    inside = shapely.intersection(edges.geometry.values[roads], sample_report.context.area)
    assert main["street_km"] + general["street_km"] == pytest.approx(shapely.length(inside).sum() / 1000, rel=1e-3)
    assert main["street_km"] + general["street_km"] < sample_report.results["bus_stop_500"].summary["street_km"]
    # the sample has no market: the living circle says so for every home
    assert "market 100%" in summary.loc["living_10min", "missing"]
    assert (sample_report.results["living_10min"].layers["homes_unserved"]["missing"].str.contains("market")).all()
    # no area given: toilets per km² of the analysed area where the data is, never the extract's box
    # (rev 3 section G): the sample's streets run everywhere, its buildings in a few blocks (under half
    # the street nodes), so the streets' hull
    assert summary.loc["toilet_density", "area_source"].code == "area.streets"
    box = sample_report.context.extract_box.area / 1e6
    assert summary.loc["toilet_density", "area_km2"] == pytest.approx(sample_report.context.area_km2)
    assert sample_report.context.area_km2 < box
    assert summary.loc["toilet_density", "value"] == pytest.approx(
        summary.loc["toilet_density", "facilities"] / summary.loc["toilet_density", "area_km2"])


def test_report_geopackage_has_every_layer(sample_report, tmp_path):
    path = sample_report.to_gpkg(tmp_path / "all.gpkg")
    layers = dict(pyogrio.list_layers(path))
    assert "summary" in layers and "compounds" in layers
    run = pyogrio.read_dataframe(path, layer="run").set_index("key")["value"]
    left_out = json.loads(run["layers_left_out"])  # empty layers whose type their name does not say
    for name, gdf in sample_report.layers().items():
        if "geometry" in gdf:
            assert name in layers or (name in left_out and len(gdf) == 0), name


@pytest.mark.parametrize("gate, expected", [(False, 20 + 285), (True, 20 + 500 + 100)])
def test_parks_with_mapped_gates_are_reached_at_the_gates(tmp_path, gate, expected):
    # street y=0 from x=0 to 1000; park (400..600, 0..200) lies along it; home centred (100, 20)
    # without gates: access 20 + walk to within settings.polygon_reach_m (15 m) of the park's
    # edge at x=400: 285 -> 305 m
    # with a gate at (600, 100) on the east side: 20 + walk to x=600: 500 + the gate's access 100 -> 620 m
    nodes = {1: (0, 0), 2: (1000, 0), 11: (400, 0), 12: (600, 0), 13: (600, 200), 14: (400, 200)}
    ways = [(1, [1, 2], {"highway": "residential"}), (2, [11, 12, 13, 14, 11], {"leisure": "park"})]
    if gate:
        nodes[15] = (600, 100, {"barrier": "gate"})
    hn, hw = _home(100, 100, 20, size=10)
    nodes.update(hn)
    ways.append(hw)
    path = write_osm(tmp_path / "park.osm", nodes, ways, bounds=(-50, -100, 1050, 300))
    report = uc.evaluate(path, only=["park_500"])
    d = report.results["park_500"].layers["homes_unserved"]["network_m"]
    if expected <= 500:
        assert len(d) == 0 and report.summary["buildings_served"].iloc[0] == 1
    else:
        assert d.to_numpy() == pytest.approx([expected], abs=0.5)


def test_user_facility_layer_replaces_osm(tmp_path):
    import geopandas as gpd
    from osmfactory import X0, Y0

    # one stop 10 m off the street at x=470: homes at x=100, 470, 900 are 40+370+10, 40+0+10 and
    # 40+430+10 metres away: all served
    stops = gpd.GeoDataFrame({"name": ["mine"]}, geometry=gpd.points_from_xy([X0 + 470], [Y0 + 10]), crs=32650).to_crs(4326)
    report = uc.evaluate(_city(tmp_path), only=["bus_stop_500"], facilities={"bus_stop_500": stops})
    row = report.summary.iloc[0]
    assert row["facilities"] == 1 and row["buildings_served"] == 1
    assert any("user's layer" in n for n in report.notes)
    with pytest.raises(uc.InputError, match="no rule or category 'bus_stops'"):
        uc.evaluate(_city(tmp_path), only=["bus_stop_500"], facilities={"bus_stops": stops})


def test_user_layer_in_gcj02_is_flagged():
    osm = uc.read_osm(SAMPLE)
    stops = osm.features[osm.features["highway"] == "bus_stop"][["name", "geometry"]]
    lon, lat = uc.wgs84_to_gcj02(stops.geometry.x.to_numpy(), stops.geometry.y.to_numpy())
    shifted = stops.set_geometry(gpd_points(lon, lat, stops.index))
    with pytest.warns(UserWarning, match="GCJ-02"):
        uc.evaluate(osm, only=["bus_stop_500"], facilities={"bus_stop_500": shifted})
    fixed = uc.to_wgs84(shifted.set_crs(None, allow_override=True), "gcj02")
    report = uc.evaluate(osm, only=["bus_stop_500"], facilities={"bus_stop_500": fixed})
    original = uc.evaluate(osm, only=["bus_stop_500"])
    assert report.summary["residents_served"].iloc[0] == pytest.approx(original.summary["residents_served"].iloc[0], abs=1e-6)


def gpd_points(lon, lat, index):
    import geopandas as gpd

    return gpd.GeoSeries(gpd.points_from_xy(lon, lat), index=index, crs=4326)
