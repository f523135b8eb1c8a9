"""What planners' offices actually hold, fed to urbancover the way users do (``evaluate``,
``read_layer``, the command line): every such input gives a correct answer or a clear error that
names the input and the problem; none crashes with a bare traceback or gives a silently empty result.

The engine-level cases (missing CRS, bad cut-offs, empty source sets) are in test_bad_input.py; the
hand-made city of ``_city`` (test_gaps.py) is the base here:

    street y = 0 from x = 0 to 1000; a bus stop at (0, 10); homes (20 x 20 m) centred 40 m north
    of the street at x = 100, 470 and 900; by network the stop is 150, 520 and 950 m from them.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import pyogrio
import pytest
import shapely
from osmfactory import X0, Y0, _city, _home, write_osm

import urbancover as uc
from urbancover.app.cli import main
from urbancover.plan.rules import MAX_THRESHOLD_M, load_rules, parse_rules

BUS = "bus_stop_500"
# the shares of the bus_stop_500 row that must not move when an input is only messier
SHARES = ["residents_served", "residents_served_straight", "buildings_served", "buildings_served_straight",
          "street_served", "street_served_straight", "value"]


def pts(*xy, crs=32650, **cols) -> gpd.GeoDataFrame:
    """Points given in the hand-made city's local metres."""
    return gpd.GeoDataFrame(cols, geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy], crs=crs)


def local(geom):
    return shapely.transform(geom, lambda c: c + [X0, Y0])


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """The extract of ``_city`` read once, with the bus stop (for OSM runs) ..."""
    return uc.read_osm(_city(tmp_path_factory.mktemp("city")))


@pytest.fixture(scope="module")
def bare_city(tmp_path_factory):
    """... and without it (for runs with the user's own stop layers)."""
    return uc.read_osm(_city(tmp_path_factory.mktemp("bare"), stops=False))


def bus(osm, **kw):
    """bus_stop_500 only, quietly; returns (report, its summary row)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = uc.evaluate(osm, only=[BUS], **kw)
    return report, report.summary.iloc[0]


def cli(capsys, *args) -> tuple[int, str]:
    """Run the command line (quietly, for analyze); returns (exit code, stderr)."""
    code = main([*map(str, args), *(["-q"] if args[0] == "analyze" else [])])
    return code, capsys.readouterr().err.strip()


def assert_one_line(err: str, *words: str) -> None:
    assert len(err.splitlines()) == 1, err
    assert err.startswith("urbancover: error: ") and "Traceback" not in err
    for w in words:
        assert w in err, (w, err)


# -- extracts --------------------------------------------------------------------------------------
def to_pbf(src: Path, dst: Path) -> Path:
    writer = osmium.SimpleWriter(str(dst))
    for obj in osmium.FileProcessor(str(src)):
        writer.add(obj)
    writer.close()
    return dst


@pytest.fixture(scope="module")
def city_pbf(tmp_path_factory):
    d = tmp_path_factory.mktemp("pbf")
    return to_pbf(_city(d), d / "city.osm.pbf")


def test_pbf_reads_and_evaluates_like_the_xml(city, city_pbf):
    a, b = bus(city)[1], bus(uc.read_osm(city_pbf))[1]
    assert a[SHARES].to_numpy(float) == pytest.approx(b[SHARES].to_numpy(float), abs=1e-9)


@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.9, 0.99])
def test_pbf_truncated_in_the_middle(tmp_path, city_pbf, capsys, fraction):
    data = city_pbf.read_bytes()
    p = tmp_path / "cut.osm.pbf"
    p.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(uc.OSMReadError) as err:
        uc.read_osm(p)
    assert str(p) in str(err.value) and "truncated or corrupt" in str(err.value)
    code, msg = cli(capsys, "analyze", p, "--out", tmp_path / "out")
    assert code == 2
    assert_one_line(msg, str(p), "truncated or corrupt")


def test_pbf_with_corrupt_bytes(tmp_path, city_pbf):
    data = bytearray(city_pbf.read_bytes())
    mid = len(data) // 2
    data[mid: mid + 16] = b"\xff" * 16
    p = tmp_path / "corrupt.osm.pbf"
    p.write_bytes(bytes(data))
    with pytest.raises(uc.OSMReadError, match="corrupt") as err:
        uc.walk_network(p)
    assert str(p) in str(err.value)


EMPTY_XML = '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="JOSM">\n{}</osm>\n'


@pytest.mark.parametrize("body", ["", '<bounds minlat="22.7" minlon="114.2" maxlat="22.71" maxlon="114.21"/>\n',
                                  '<node id="1" version="1" lat="22.7" lon="114.2"/>\n'])
def test_empty_extract(tmp_path, capsys, body):
    # valid XML (zero elements, only a bounds box, or only untagged nodes): no street, no feature
    p = tmp_path / "empty.osm"
    p.write_text(EMPTY_XML.format(body), encoding="utf-8")
    with pytest.raises(uc.OSMReadError) as err:
        uc.evaluate(p)
    assert str(p) in str(err.value) and "empty" in str(err.value)
    code, msg = cli(capsys, "analyze", p, "--out", tmp_path / "out")
    assert code == 2
    assert_one_line(msg, str(p), "empty")


def test_empty_pbf(tmp_path):
    p = tmp_path / "empty.osm.pbf"
    osmium.SimpleWriter(str(p)).close()
    with pytest.raises(uc.OSMReadError, match="empty") as err:
        uc.read_osm(p)
    assert str(p) in str(err.value)


def test_unsorted_extract_names_the_fix(tmp_path):
    # editors such as JOSM save objects in any order; libosmium needs them sorted
    nodes = {1: (0, 0), 2: (500, 0), 3: (1000, 0)}
    p = write_osm(tmp_path / "josm.osm", nodes, [(7, [2, 3], {"highway": "residential"}), (3, [1, 2], {"highway": "residential"})])
    with pytest.raises(uc.OSMReadError) as err:
        uc.read_osm(p)
    assert str(p) in str(err.value) and "osmium sort" in str(err.value)


def test_extract_without_walkable_ways(tmp_path, capsys):
    # a half-mapped extract: buildings and a motorway, nothing a pedestrian may use
    nodes = {1: (0, 0), 2: (1000, 0), 10: (0, 10, {"highway": "bus_stop"})}
    ways = [(1, [1, 2], {"highway": "motorway"})]
    hn, hw = _home(100, 100, 40)
    nodes.update(hn)
    ways.append(hw)
    p = write_osm(tmp_path / "motorway.osm", nodes, ways)
    with pytest.raises(uc.NoWalkableWaysError) as err:
        uc.evaluate(p)
    assert str(p) in str(err.value) and "no walkable ways" in str(err.value)
    code, msg = cli(capsys, "analyze", p, "--out", tmp_path / "out")
    assert code == 2
    assert_one_line(msg, str(p), "no walkable ways")


# -- facility layers -------------------------------------------------------------------------------
def test_user_facility_layer_with_no_rows_is_an_all_gap_with_a_warning(bare_city):
    for empty in (pts((0, 10)).iloc[:0], gpd.GeoDataFrame(geometry=[], crs=4326)):
        report = uc.evaluate(bare_city, only=[BUS], facilities={BUS: empty})  # a note, not a warning (issue 14.6)
        row = report.summary.iloc[0]
        assert row["facilities"] == 0
        assert row["buildings_served"] == 0 and row["residents_served"] == 0 and row["street_served"] == 0
        assert row["buildings"] == 3  # the homes are still counted: an all-gap, not an empty result
        assert len(report.results[BUS].layers["homes_unserved"]) == 3
        assert sum("gives no facility" in n for n in report.notes) == 1


def test_duplicate_facilities_give_the_same_shares(bare_city, tmp_path):
    # the same stop listed five times (exports merged from several sources) ...
    one = pts((470, 10), name=["a"])
    _, row1 = bus(bare_city, facilities={BUS: one})
    _, row5 = bus(bare_city, facilities={BUS: pd.concat([one] * 5)})
    assert row1["buildings_served"] == 1.0  # 10 + 0 + 40, 10 + 370 + 40 and 10 + 430 + 40 m: all served
    assert row5[SHARES].to_numpy(float) == pytest.approx(row1[SHARES].to_numpy(float), abs=1e-12)
    # ... and a bus stop mapped twice in OSM (node on the same spot)
    nodes = {1: (0, 0), 2: (500, 0), 3: (1000, 0), 10: (0, 10, {"highway": "bus_stop"}), 11: (0, 10, {"highway": "bus_stop"})}
    ways = [(1, [1, 2, 3], {"highway": "residential"})]
    for k, x in enumerate((100, 470, 900)):
        hn, hw = _home(100 + 10 * k, x, 40)
        nodes.update(hn)
        ways.append(hw)
    twice = uc.read_osm(write_osm(tmp_path / "twice.osm", nodes, ways, bounds=(-50, -100, 1050, 100)))
    _, osm_twice = bus(twice)
    _, osm_once = bus(uc.read_osm(_city(tmp_path)))
    assert osm_twice["facilities"] == 2
    assert osm_twice[SHARES].to_numpy(float) == pytest.approx(osm_once[SHARES].to_numpy(float), abs=1e-12)


def test_facilities_with_missing_empty_or_nan_geometry_are_ignored_and_said(bare_city):
    good = pts((0, 10))
    messy = gpd.GeoDataFrame(
        {"name": ["real", "no geometry", "empty point", "empty polygon", "NaN from a CSV"]},
        geometry=[shapely.Point(X0, Y0 + 10), None, shapely.Point(), shapely.Polygon(), shapely.Point(math.nan, math.nan)],
        crs=32650,
    )
    with pytest.warns(UserWarning, match=r"facilities\['bus_stop_500'\]: 4 of 5 rows have no usable geometry"):
        report = uc.evaluate(bare_city, only=[BUS], facilities={BUS: messy})
    row = report.summary.iloc[0]
    _, clean = bus(bare_city, facilities={BUS: good})
    assert row["facilities"] == 1
    assert row[SHARES].to_numpy(float) == pytest.approx(clean[SHARES].to_numpy(float), abs=1e-12)
    assert clean["buildings_served"] == pytest.approx(1 / 3)
    assert any("4 of 5 rows" in n for n in report.notes)
    # rows but nothing usable at all: refused, naming the layer and its rule (issue 20.7; it was an
    # all-gap, a rule failed by a broken file); a layer with no rows says there is none: an
    # all-gap, one note (a finding, issue 14.6)
    with pytest.raises(uc.InputError, match=r"facilities\['bus_stop_500'\]: none of its 4 rows has a usable geometry"):
        uc.evaluate(bare_city, only=[BUS], facilities={BUS: messy.iloc[1:]})
    report = uc.evaluate(bare_city, only=[BUS], facilities={BUS: messy.iloc[:0]})
    assert sum("gives no facility" in n for n in report.notes) == 1
    assert report.summary.iloc[0]["buildings_served"] == 0


def test_multipoint_rows_are_several_facilities(bare_city):
    # one row holding two stops, as some exports group them: each stop serves with its own access leg
    both = gpd.GeoDataFrame(geometry=[shapely.MultiPoint([(X0, Y0 + 10), (X0 + 900, Y0 + 10)])], crs=32650)
    _, row = bus(bare_city, facilities={BUS: both})
    _, split = bus(bare_city, facilities={BUS: pts((0, 10), (900, 10))})
    assert row["facilities"] == 2
    assert row[SHARES].to_numpy(float) == pytest.approx(split[SHARES].to_numpy(float), abs=1e-12)


def test_a_geoseries_works_as_a_facility_layer(bare_city):
    _, row = bus(bare_city, facilities={BUS: pts((470, 10)).geometry})
    assert row["facilities"] == 1 and row["buildings_served"] == 1.0


# -- self-intersecting polygons -------------------------------------------------------------------
# A bow-tie park north of the street y = 0 (0..1000): its outline (400,100) (600,300) (600,150)
# (400,300) crosses itself at (514.3, 214.3). Repaired, it is two triangles whose point nearest to
# the street is the corner (400, 100), 100 m from it (the far lobe's nearest point, (600, 150), is
# 150 m away). The home centred at (100, 20) is then 20 (access) + 300 (along the street) + 100
# (the park's access leg) = 420 m from the park by network.
BOWTIE = [(400, 100), (600, 300), (600, 150), (400, 300)]


def _bowtie_city(tmp_path, park=True):
    nodes = {1: (0, 0), 2: (1000, 0)}
    ways = [(1, [1, 2], {"highway": "residential"})]
    if park:
        nodes.update({11 + i: xy for i, xy in enumerate(BOWTIE)})
        ways.append((2, [11, 12, 13, 14, 11], {"leisure": "park", "name": "蝴蝶公园"}))
    hn, hw = _home(100, 100, 20, size=10)
    nodes.update(hn)
    ways.append(hw)
    return write_osm(tmp_path / "bowtie.osm", nodes, ways, bounds=(-50, -100, 1050, 400))


def _park_rules(*thresholds):
    return parse_rules({"ruleset": {"id": "parks"}, "rule": [
        {"id": f"park_{t}", "kind": "radius", "threshold_m": t, "facilities": [{"leisure": "park"}]} for t in thresholds
    ]})


def test_self_intersecting_osm_park_is_repaired_and_serves(tmp_path):
    path = _bowtie_city(tmp_path)
    with pytest.warns(UserWarning, match="invalid outline"):
        osm = uc.read_osm(path)
    park = osm.features[osm.features["leisure"] == "park"]
    assert len(park) == 1 and park.geometry.iloc[0].is_valid and park["name"].iloc[0] == "蝴蝶公园"
    # its area is the two triangles', not the 0 m² a bow-tie's signed area gives
    lobes = shapely.area(shapely.make_valid(shapely.Polygon(BOWTIE)))
    assert lobes == pytest.approx(0.5 * 200 * 114.29 + 0.5 * 150 * 85.71, rel=1e-3)
    assert shapely.area(park.to_crs(32650).geometry.iloc[0]) == pytest.approx(lobes, rel=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = uc.evaluate(osm, _park_rules(419, 421))
    s = report.summary.set_index("id")
    assert s.loc["park_421", "buildings_served"] == 1 and s.loc["park_419", "buildings_served"] == 0
    d = report.results["park_419"].layers["homes_unserved"]["network_m"]
    assert d.to_numpy() == pytest.approx([420.0], abs=0.5)


def test_self_intersecting_user_layers_are_repaired(tmp_path):
    osm = uc.read_osm(_bowtie_city(tmp_path, park=False))
    bowtie = gpd.GeoDataFrame(geometry=[local(shapely.Polygon(BOWTIE))], crs=32650)
    assert not bowtie.is_valid.iloc[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = uc.evaluate(osm, _park_rules(419), facilities={"park_419": bowtie})
    d = report.results["park_419"].layers["homes_unserved"]["network_m"]
    assert d.to_numpy() == pytest.approx([420.0], abs=0.5)
    assert any("1 invalid geometries" in n for n in report.notes)
    # a bow-tie compound (used to crash in GEOS) and a bow-tie analysed area (used to be refused as
    # having no area): the compound holds the home, the area is its two triangles
    compound = gpd.GeoDataFrame({"name": ["蝴蝶小区"], "year_built": [1988]},
                                geometry=[local(shapely.Polygon([(50, 0), (150, 40), (150, 0), (50, 40)]))], crs=32650)
    area = gpd.GeoDataFrame(geometry=[local(shapely.Polygon([(-50, -100), (1050, 400), (1050, -100), (-50, 400)]))], crs=32650)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = uc.evaluate(osm, _park_rules(500), facilities={"park_500": bowtie}, compounds=compound, area=area)
    assert report.compounds["name"].tolist() == ["蝴蝶小区"] and report.compounds["homes"].tolist() == [1]
    assert report.context.area_km2 == pytest.approx(shapely.area(shapely.make_valid(area.geometry.iloc[0])) / 1e6)
    assert report.summary.iloc[0]["buildings"] == 1 and report.summary.iloc[0]["buildings_served"] == 1


def test_broken_multipolygon_relation_is_reported(tmp_path):
    # the same bow-tie as the outer ring of a park relation: libosmium cannot assemble it
    nodes = {1: (0, 0), 2: (1000, 0), **{11 + i: xy for i, xy in enumerate(BOWTIE)}}
    ways = [(1, [1, 2], {"highway": "residential"}), (2, [11, 12, 13, 14, 11], {})]
    relations = [(7, [("way", 2, "outer")], {"type": "multipolygon", "leisure": "park"})]
    path = write_osm(tmp_path / "relation.osm", nodes, ways, relations)
    with pytest.warns(UserWarning, match=r"relation\.osm: 1 multipolygon relation\(s\) with invalid rings \(e\.g\. relation 7\)"):
        osm = uc.read_osm(path)
    assert len(osm.features) == 0


# -- places far away, disconnected networks --------------------------------------------------------
def test_facilities_kilometres_outside_the_network(bare_city):
    # one real stop and one 20 km away (a typo in a coordinate): the far one is counted, warned
    # about, and changes nothing
    with pytest.warns(UserWarning, match="1 of 2 places lie more than 1000.0 m from every walkable edge"):
        report = uc.evaluate(bare_city, only=[BUS], facilities={BUS: pts((0, 10), (20_000, 0))})
    _, near = bus(bare_city, facilities={BUS: pts((0, 10))})
    assert report.summary.iloc[0][SHARES].to_numpy(float) == pytest.approx(near[SHARES].to_numpy(float), abs=1e-12)
    # every facility far away: not a 0 % coverage figure, an error naming the layer
    with pytest.raises(uc.InputError, match=r"facilities\['bus_stop_500'\]: lies entirely outside the extract city.osm"):
        uc.evaluate(bare_city, only=[BUS], facilities={BUS: pts((20_000, 0), (0, -30_000))})
    # the same for an analysed area of another district (the extract ends at x = 1050): not NaN
    # shares, an error naming it
    other = gpd.GeoDataFrame(geometry=[local(shapely.box(30_000, 0, 31_000, 1000))], crs=32650)
    with pytest.raises(uc.InputError, match=r"^area: lies entirely outside the extract city.osm: its nearest feature is 28.9 km"):
        uc.evaluate(bare_city, only=[BUS], area=other)


def test_homes_too_far_from_every_street_count_as_unserved(tmp_path):
    # a home 1500 m north of the only street: beyond the 1000 m snapping limit
    nodes = {1: (0, 0), 2: (1000, 0), 10: (0, 10, {"highway": "bus_stop"})}
    ways = [(1, [1, 2], {"highway": "residential"})]
    for k, (x, y) in enumerate([(100, 40), (200, 1500)]):
        hn, hw = _home(100 + 10 * k, x, y)
        nodes.update(hn)
        ways.append(hw)
    osm = uc.read_osm(write_osm(tmp_path / "far_home.osm", nodes, ways, bounds=(-50, -100, 1050, 1600)))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        report = uc.evaluate(osm, only=[BUS])
    assert any("1 of 2 places lie more than 1000.0 m" in str(w.message) for w in record)
    row = report.summary.iloc[0]
    assert row["buildings"] == 2 and row["buildings_served"] == 0.5
    far = report.results[BUS].layers["homes_unserved"]
    assert len(far) == 1 and np.isnan(far["network_m"].iloc[0]) and far["status"].iloc[0] == "no path"
    assert any("1 of 2 buildings cannot reach any facility" in n for n in report.notes)


def test_many_disconnected_islands(tmp_path, capsys):
    # six 200 m streets 2 km apart (a half-mapped extract), a home on each, a stop only on island 0
    nodes, ways = {500: (50, 5, {"highway": "bus_stop"})}, []
    for k in range(6):
        nodes[10 * k + 1], nodes[10 * k + 2] = (2000 * k, 0), (2000 * k + 200, 0)
        ways.append((k + 1, [10 * k + 1, 10 * k + 2], {"highway": "residential"}))
        hn, hw = _home(1000 + 10 * k, 2000 * k + 100, 20, size=10)
        nodes.update(hn)
        ways.append(hw)
    ways.sort()
    path = write_osm(tmp_path / "islands.osm", nodes, ways, bounds=(-100, -100, 10_300, 100))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = uc.evaluate(path, only=[BUS])
    assert len(np.unique(report.network.components)) == 6
    row = report.summary.iloc[0]
    # the five homes without a stop are in the denominator, unserved, at an infinite network distance
    assert row["buildings"] == 6 and row["buildings_served"] == pytest.approx(1 / 6)
    assert row["residents_served"] == pytest.approx(1 / 6, rel=1e-3)  # six equal homes
    assert row["street_km"] == pytest.approx(1.2, abs=1e-3) and row["street_served"] == pytest.approx(1 / 6, abs=1e-4)
    unserved = report.results[BUS].layers["homes_unserved"]
    assert len(unserved) == 5 and unserved["network_m"].isna().all() and (unserved["status"] == "no path").all()
    assert np.isfinite(unserved["straight_m"]).all()  # only the network cuts them off
    assert any("5 of 6 buildings cannot reach any facility" in n for n in report.notes)
    # and the command line prints that note with the table
    assert main(["analyze", str(path), "--only", BUS, "--out", str(tmp_path / "out"), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "5 of 6 buildings cannot reach any facility" in out and "16.7%" in out  # one share format


# -- thresholds and rule files ---------------------------------------------------------------------
RULE = """[ruleset]
id = "mine"

[walking]
{walking}

[[rule]]
id = "stops"
kind = "radius"
{field}
facilities = [{{ highway = "bus_stop" }}]
"""


def _rule_file(tmp_path, field, walking="minutes = { 10 = 500 }"):
    p = tmp_path / "mine.toml"
    p.write_text(RULE.format(field=field, walking=walking), encoding="utf-8")
    return p


@pytest.mark.parametrize("field, words", [
    ("threshold_m = 0", ["positive", "got 0"]),
    ("threshold_m = -500", ["positive", "got -500"]),
    ("threshold_m = nan", ["positive", "got nan"]),
    ("threshold_m = inf", ["positive", "got inf"]),
    ('threshold_m = "500"', ["positive", "got '500'"]),
    ("threshold_m = true", ["positive", "got True"]),
    ("threshold_m = [500]", ["positive", "got [500]"]),
    ("threshold_m = 1e12", ["1000000000000.0 metres", "more than 100 km", "unit mistake"]),
    ("threshold_m = 100_001", ["100001 metres", "more than 100 km"]),
])
def test_bad_thresholds_are_refused_naming_file_rule_and_field(tmp_path, capsys, field, words):
    p = _rule_file(tmp_path, field)
    with pytest.raises(uc.InputError) as err:
        load_rules(p)
    for w in [str(p), "rule 'stops'", "'threshold_m'", *words]:
        assert w in str(err.value), (w, str(err.value))
    code, msg = cli(capsys, "rules", "check", p)
    assert code == 2
    assert_one_line(msg, str(p), "rule 'stops'", "threshold_m")
    # and analyze refuses it before reading the extract
    code, msg = cli(capsys, "analyze", tmp_path / "never_read.osm", "--rules", p, "--out", tmp_path / "out")
    assert code == 2
    assert_one_line(msg, str(p), "threshold_m")


def test_enormous_distances_through_minutes_are_refused(tmp_path):
    assert MAX_THRESHOLD_M == 100_000
    assert load_rules(_rule_file(tmp_path, "threshold_m = 100_000"))["stops"].threshold == MAX_THRESHOLD_M
    with pytest.raises(uc.InputError, match=r"\[walking.minutes\] 10 = 500000000 metres, more than 100 km"):
        load_rules(_rule_file(tmp_path, "minutes = 10", walking="minutes = { 10 = 500_000_000 }"))
    p = _rule_file(tmp_path, "minutes = 100_000", walking="speed_kmh = 4.5")
    with pytest.raises(uc.InputError) as err:
        load_rules(p)
    assert str(p) in str(err.value) and "rule 'stops'" in str(err.value) and "'minutes'" in str(err.value)
    assert "7,500,000 m" in str(err.value)


@pytest.mark.parametrize("text, words", [
    ('[ruleset]\nid = "x"\n[[rule]]\nid = 5\nkind = "radius"\nthreshold_m = 500\nfacilities = [{ highway = "bus_stop" }]\n',
     ["rule #1", "field 'id'", "got 5"]),
    ('[ruleset]\nid = "x"\n[rule]\nid = "s"\nkind = "radius"\n', ["defines no rules", "[[rule]]"]),
    ('[ruleset]\nid = "x"\n[[rule]]\nid = "s"\nkind = "radius"\nthreshold_m = 500\nfacilities = "bus_stop"\n',
     ["rule 's'", "'facilities'", "tag selector"]),
    ('[ruleset]\nid = "x"\n[[rule]]\nid = "s"\nkind = "radius"\nthreshold_m = 500\nfacilities = [{ highway = "bus_stop" }]\ntarget = "90%"\n',
     ["rule 's'", "'target'", "'90%'"]),
    ('[ruleset]\nid = "x"\n[walking]\nminutes = { 10 = "500 m" }\n[[rule]]\nid = "s"\nkind = "radius"\nminutes = 10\nfacilities = [{ a = true }]\n',
     ["[walking.minutes]", "'500 m'"]),
    ('[ruleset]\nid = "x"\n[walking]\nminutes = { ten = 500 }\n[[rule]]\nid = "s"\nkind = "radius"\nminutes = 10\nfacilities = [{ a = true }]\n',
     ["[walking.minutes]", "'ten'"]),
    ('[ruleset]\nid = "x"\n[[rule]]\nid = "c"\nkind = "all_of"\ncategories = { name = "market" }\n',
     ["rule 'c'", "'categories'", "list"]),
    ('[ruleset]\nid = "x"\n[[rule]]\nid = "c"\nkind = "all_of"\n[[rule.categories]]\nname = "market"\nfacilities = [{ amenity = "marketplace" }]\nthreshold_m = "300"\n',
     ["rule 'c'", "category 'market'", "'threshold_m'", "'300'"]),
    ('[ruleset]\nid = "x"\n[[rule]]\nid = "c"\nkind = "all_of"\n[[rule.categories]]\nname = "market"\nfacilities = [{ amenity = "marketplace" }]\nthreshold_m = 3e8\n',
     ["rule 'c'", "category 'market'", "more than 100 km"]),
    ('[ruleset]\nid = "x"\n[[rule]]\nid = "d"\nkind = "density"\nfacilities = [{ amenity = "toilets" }]\nmin_per_km2 = "3"\n',
     ["rule 'd'", "'min_per_km2'", "'3'"]),
])
def test_rule_files_with_wrong_types(tmp_path, capsys, text, words):
    p = tmp_path / "wrong.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(uc.InputError) as err:
        load_rules(p)
    for w in [str(p), *words]:
        assert w in str(err.value), (w, str(err.value))
    code, msg = cli(capsys, "rules", "check", p)
    assert code == 2
    assert_one_line(msg, str(p), *words[:1])


# -- names that are not ASCII ----------------------------------------------------------------------
NAMES = {"stop": "龙岗中心城站 <&\"'>", "street": "龙城大道", "home": "幸福里𠀀号楼"}  # 𠀀: outside the BMP


def test_chinese_names_round_trip_through_the_extract(tmp_path):
    nodes = {1: (0, 0), 2: (1000, 0), 10: (0, 10, {"highway": "bus_stop", "name": NAMES["stop"]})}
    ways = [(1, [1, 2], {"highway": "residential", "name": NAMES["street"]})]
    hn, hw = _home(100, 900, 40)
    hw[2]["name"] = NAMES["home"]
    nodes.update(hn)
    ways.append(hw)
    xml = write_osm(tmp_path / "names.osm", nodes, ways, bounds=(-50, -100, 1050, 100))
    for path in (xml, to_pbf(xml, tmp_path / "names.osm.pbf")):
        osm = uc.read_osm(path)
        assert osm.ways["name"].tolist() == [NAMES["street"]]
        assert sorted(osm.features["name"].dropna()) == sorted([NAMES["stop"], NAMES["home"]])
        report, _ = bus(osm)
        layers = report.results[BUS].layers
        assert layers["facilities_points"]["name"].tolist() == [NAMES["stop"]]
        assert layers["homes_unserved"]["name"].tolist() == [NAMES["home"]]
        assert layers["streets_unserved"]["name"].tolist() == [NAMES["street"]]
        gpkg = report.to_gpkg(tmp_path / "out.gpkg")
        assert pyogrio.read_dataframe(gpkg, layer=f"{BUS}__facilities_points")["name"].tolist() == [NAMES["stop"]]
        assert pyogrio.read_dataframe(gpkg, layer=f"{BUS}__homes_unserved")["name"].tolist() == [NAMES["home"]]


COMPOUND_NAMES = ["幸福小区", "老街坊", "红旗村"]


@pytest.fixture
def compound_shapefile(tmp_path):
    """Three compounds around the homes of ``_city``, written as a GBK shapefile (what ArcGIS on a
    Chinese Windows writes) in EPSG:32650."""
    boxes = [shapely.box(X0 + x - 50, Y0 + 10, X0 + x + 50, Y0 + 70) for x in (100, 470, 900)]
    comp = gpd.GeoDataFrame({"name": COMPOUND_NAMES, "year_built": [1985, 1995, 2005]}, geometry=boxes, crs=32650)
    path = tmp_path / "compounds.shp"
    pyogrio.write_dataframe(comp, path, encoding="GBK")
    return path


def test_gbk_shapefile_with_its_cpg_reads_the_names(city, compound_shapefile):
    assert compound_shapefile.with_suffix(".cpg").read_text().strip().upper() == "GBK"
    layer = uc.read_layer(compound_shapefile)
    assert layer["name"].tolist() == COMPOUND_NAMES
    report, _ = bus(city, compounds=layer)
    comp = report.compounds.set_index("name")
    assert list(comp.index) == COMPOUND_NAMES
    assert comp[f"served_{BUS}"].tolist() == [True, False, False]  # 150 m away; 520 and 950 m
    assert comp["old"].tolist() == [True, True, False]


def test_gbk_shapefile_without_cpg_is_refused_with_the_fix(tmp_path, city, compound_shapefile, capsys):
    compound_shapefile.with_suffix(".cpg").unlink()
    # GDAL would read it as ISO-8859-1: mojibake names, no error
    assert gpd.read_file(compound_shapefile)["name"].tolist() != COMPOUND_NAMES
    with pytest.raises(uc.InputError) as err:
        uc.read_layer(compound_shapefile)
    msg = str(err.value)
    assert str(compound_shapefile) in msg and "encoding='gbk'" in msg and "compounds.cpg" in msg
    assert COMPOUND_NAMES[0] in msg  # shows what the names would be
    assert uc.read_layer(compound_shapefile, encoding="gbk")["name"].tolist() == COMPOUND_NAMES
    # the command line: one line naming the file and the fix; then the fix works
    code, err_line = cli(capsys, "analyze", city.path, "--only", BUS, "--compounds", compound_shapefile, "--out", tmp_path / "o")
    assert code == 2
    assert_one_line(err_line, str(compound_shapefile), "compounds.cpg", "GBK")
    compound_shapefile.with_suffix(".cpg").write_text("GBK")
    assert main(["analyze", str(city.path), "--only", BUS, "--compounds", str(compound_shapefile),
                 "--out", str(tmp_path / "o"), "-q"]) == 0
    written = pyogrio.read_dataframe(tmp_path / "o" / "city.gpkg", layer="compounds")
    assert written["name"].tolist() == COMPOUND_NAMES


def test_utf8_shapefile_without_cpg_reads_the_names(tmp_path):
    comp = gpd.GeoDataFrame({"name": COMPOUND_NAMES}, geometry=[shapely.box(0, 0, 1, 1)] * 3, crs=4326)
    path = tmp_path / "utf8.shp"
    pyogrio.write_dataframe(comp, path, encoding="UTF-8")
    path.with_suffix(".cpg").unlink()
    assert uc.read_layer(path)["name"].tolist() == COMPOUND_NAMES


def test_shapefile_whose_cpg_lies(compound_shapefile):
    compound_shapefile.with_suffix(".cpg").write_text("UTF-8")
    with pytest.raises(uc.InputError) as err:
        uc.read_layer(compound_shapefile)
    assert str(compound_shapefile) in str(err.value) and "encoding='gbk'" in str(err.value)


def test_poi_csv_from_a_chinese_map_service(tmp_path, bare_city):
    # an AutoNavi export: GCJ-02 longitude/latitude columns, Chinese names, saved by Excel as GBK
    wgs = pts((470, 10)).to_crs(4326).geometry.iloc[0]
    lng, lat = uc.wgs84_to_gcj02(wgs.x, wgs.y)
    p = tmp_path / "amap_pois.csv"
    p.write_bytes(f"名称,lng,lat\n龙岗中心城站,{lng:.8f},{lat:.8f}\n".encode("gbk"))
    with pytest.raises(uc.InputError) as err:  # not UTF-8: which encoding?
        uc.read_layer(p, crs="gcj02", X_POSSIBLE_NAMES="lng", Y_POSSIBLE_NAMES="lat")
    assert str(p) in str(err.value) and "encoding='gbk'" in str(err.value)
    stops = uc.read_layer(p, crs="gcj02", X_POSSIBLE_NAMES="lng", Y_POSSIBLE_NAMES="lat", encoding="gbk")
    assert stops["名称"].tolist() == ["龙岗中心城站"]
    # without GDAL's options urbancover reads it: lng/lat found by name, GBK text read as GB18030
    for kwargs in ({}, {"encoding": "gbk"}):
        mine = uc.read_layer(p, crs="gcj02", **kwargs)
        assert mine["名称"].tolist() == ["龙岗中心城站"] and mine.geom_equals_exact(stops.geometry, 1e-9).all()
    # converted back to where the stop is: 10 + 370 + 40, 10 + 0 + 40 and 10 + 430 + 40 m from the homes
    assert shapely.distance(stops.to_crs(32650).geometry.iloc[0], pts((470, 10)).geometry.iloc[0]) < 0.01
    _, row = bus(bare_city, facilities={BUS: stops})
    assert row["buildings_served"] == 1.0
    # the same numbers read as WGS 84 (forgetting crs="gcj02") put the stop hundreds of metres off
    raw = uc.read_layer(p, crs="EPSG:4326", X_POSSIBLE_NAMES="lng", Y_POSSIBLE_NAMES="lat", encoding="gbk")
    assert shapely.distance(raw.to_crs(32650).geometry.iloc[0], pts((470, 10)).geometry.iloc[0]) > 300


def test_compound_layer_without_name_or_year_columns(city):
    # outlines only (used to fail inside pandas: "If using all scalar values, you must pass an index")
    outlines = gpd.GeoDataFrame(geometry=[local(shapely.box(50, 10, 150, 70)), local(shapely.box(850, 10, 950, 70))], crs=32650)
    report, row = bus(city, compounds=outlines)
    assert len(report.compounds) == 2 and report.compounds["old"].all()  # no year: assumed old, and said so
    assert report.compounds[f"served_{BUS}"].tolist() == [True, False]
    assert row["compounds"] == 2 and row["compounds_served"] == 0.5
    assert any("2 of 2 have no year" in n for n in report.notes)


# -- coordinate systems ----------------------------------------------------------------------------
def _in_wrong_units(kind):
    """Each user layer of evaluate, with its metres (EPSG:32650) labelled EPSG:4326."""
    area = gpd.GeoDataFrame(geometry=[local(shapely.box(-50, -100, 1050, 100))], crs=32650)
    layers = {
        "facilities": pts((0, 10)),
        "compounds": gpd.GeoDataFrame({"name": ["a"]}, geometry=[local(shapely.box(50, 10, 150, 70))], crs=32650),
        "population": pts((100, 40), (470, 40), population=[10, 20]),
        "area": area,
        "units": area.assign(name=["all"]),
    }
    return layers[kind].set_crs(4326, allow_override=True)


@pytest.mark.parametrize("kind", ["facilities", "compounds", "population", "area", "units"])
def test_metres_declared_as_degrees_through_evaluate(bare_city, kind):
    layer = _in_wrong_units(kind)
    kw = {"facilities": {BUS: layer}} if kind == "facilities" else {kind: layer}
    name = "facilities['bus_stop_500']" if kind == "facilities" else kind
    with pytest.raises(uc.InputError) as err:
        uc.evaluate(bare_city, only=[BUS], **kw)
    assert str(err.value).startswith(f"{name}: layer in metres declared as degrees")


@pytest.mark.parametrize("kind", ["facilities", "compounds", "population", "area", "units"])
def test_degrees_declared_as_metres_through_evaluate(bare_city, kind):
    # the reverse: longitude/latitude numbers labelled with the UTM zone
    degrees = _in_wrong_units(kind).set_crs(32650, allow_override=True).to_crs(4326).set_crs(32650, allow_override=True)
    kw = {"facilities": {BUS: degrees}} if kind == "facilities" else {kind: degrees}
    with pytest.raises(uc.InputError) as err:
        uc.evaluate(bare_city, only=[BUS], **kw)
    msg = str(err.value)
    assert "lies entirely outside the extract city.osm" in msg and "degrees declared as metres" in msg


def test_layer_in_metres_declared_as_degrees_on_the_command_line(tmp_path, city, capsys):
    # a GeoJSON written from projected data without its CRS: GeoJSON means EPSG:4326
    p = tmp_path / "stops.geojson"
    p.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
                 f'"geometry": {{"type": "Point", "coordinates": [{X0}, {Y0 + 10}]}}}}]}}', encoding="utf-8")
    code, msg = cli(capsys, "analyze", city.path, "--only", BUS, "--facilities", f"{BUS}={p}", "--out", tmp_path / "o")
    assert code == 2
    assert_one_line(msg, str(p), "layer in metres declared as degrees")


def test_layer_in_degrees_declared_as_metres_on_the_command_line(tmp_path, city, capsys):
    p = tmp_path / "stops.gpkg"
    pts((0, 10)).to_crs(4326).set_crs(32650, allow_override=True).to_file(p)
    code, msg = cli(capsys, "analyze", city.path, "--only", BUS, "--facilities", f"{BUS}={p}", "--out", tmp_path / "o")
    assert code == 2
    assert_one_line(msg, str(p), "lies entirely outside the extract")


def test_empty_facility_file_on_the_command_line_is_reported(tmp_path, bare_city, capsys):
    p = tmp_path / "none.geojson"
    p.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    assert main(["analyze", str(bare_city.path), "--only", BUS, "--facilities", f"{BUS}={p}", "--out", str(tmp_path / "o"),
                 "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "gives no facility" in out and "0.0%" in out  # one share format
