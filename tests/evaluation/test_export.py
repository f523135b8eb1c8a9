"""The written deliverables on the tiny city: the run record (hashes computed here over the input
files), typed booleans, no layer of unknown geometry type, QGIS styles read back from
``layer_styles``, the summary as one row per rule, and NULL for "no compound"."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pyogrio
import pytest
from tinycity import RULES, write_city

import urbancover as uc
from urbancover.evaluation.export import SUMMARY_COLUMNS
from urbancover.present import palette

#: The tiny city's rule plus three whose rows carry booleans and blanks: a density rule (above_range),
#: a ratio rule (residents_estimated) and a compound rule with no compound to serve (undetermined:
#: ``passed`` is NULL).
MORE_RULES = """target = 0.5
[[rule]]
id = "stops_density"
kind = "density"
min_per_km2 = 4
max_per_km2 = 7
facilities = [{ highway = "bus_stop" }]
[[rule]]
id = "stop_ratio"
kind = "ratio"
residents_per_facility_min = 30
residents_per_facility_max = 50
facilities = [{ highway = "bus_stop" }]
[[rule]]
id = "compounds_500"
kind = "radius"
threshold_m = 500
demand = ["compounds"]
facilities = [{ highway = "bus_stop" }]
"""


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    city = write_city(d / "city.osm")
    rules = d / "rules.toml"
    rules.write_text(RULES + MORE_RULES, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = uc.evaluate(city, rules)
    return report, report.to_gpkg(d / "out.gpkg"), city, rules


def table(path, sql):
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_run_table_and_metadata_hold_the_hashes_of_the_inputs(written):
    report, gpkg, city, rules = written
    run = dict(pyogrio.read_dataframe(gpkg, layer="run")[["key", "value"]].itertuples(index=False, name=None))
    assert run["extract_sha256"] == sha256(city)
    assert run["rules_sha256"] == sha256(rules) and run["rules_sha256_of"] == "file bytes"
    assert run["extract"] == "city.osm" and int(run["extract_bytes"]) == city.stat().st_size
    assert run["rules_id"] == "tiny" and run["urbancover_version"] == uc.__version__
    assert run["area_source"] == report.context.area_source
    assert float(run["area_km2"]) == pytest.approx(report.context.area.area / 1e6, rel=1e-5)
    assert run["settings_changed"] == "{}"
    assert run["created_utc"].endswith("+00:00")
    # the GeoPackage metadata extension: GDAL's key/value record, and the same as JSON
    meta = pyogrio.read_info(gpkg, layer="run")["dataset_metadata"]
    assert meta["rules_sha256"] == sha256(rules) and meta["extract_sha256"] == sha256(city)
    (doc,) = table(gpkg, "SELECT m.metadata FROM gpkg_metadata m JOIN gpkg_metadata_reference r ON r.md_file_id = m.id "
                         "WHERE m.mime_type = 'application/json' AND r.reference_scope = 'geopackage'")
    assert json.loads(doc[0])["extract_sha256"] == sha256(city)


def test_a_changed_setting_and_a_built_rule_set_are_recorded(written, tmp_path):
    report, _, city, rules = written
    built = uc.load_rules(rules)
    built = type(built)(**{**built.__dict__, "path": None})  # a rule set made in Python: no file to hash
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with uc.settings.override(gap_cell_m=7.0):
            other = uc.evaluate(city, built, only=["bus_stop_500"])
    assert other.run.rules_sha256_of == "canonical JSON" and other.run.rules_sha256 != sha256(rules)
    assert other.run.settings_changed == {"gap_cell_m": 7.0}
    # the sidecar of a folder format says the same
    other.export(tmp_path / "geo", format="geojson")
    side = json.loads((tmp_path / "geo" / "run.json").read_text(encoding="utf-8"))
    assert side["extract_sha256"] == sha256(city) and side["settings_changed"] == {"gap_cell_m": 7.0}


def test_booleans_are_booleans_with_null_for_undetermined(written):
    report, gpkg, _, _ = written
    schema = {name: decl for _, name, decl, *_ in table(gpkg, "PRAGMA table_info(summary)")}
    assert schema["passed"] == "BOOLEAN"
    passed = dict(table(gpkg, "SELECT id, passed FROM summary"))
    expected = {"pass": 1, "fail": 0, "undetermined": None}
    assert passed == {rid: expected[v] for rid, v in report.summary["verdict"].items()}
    assert passed["compounds_500"] is None  # undetermined: NULL, not the text 'None' or 'False'
    schema = {name: decl for _, name, decl, *_ in table(gpkg, "PRAGMA table_info(summary_values)")}
    assert schema["flag"] == "BOOLEAN"
    flags = dict(((r, n), f) for r, n, f in table(gpkg, "SELECT rule, name, flag FROM summary_values WHERE flag IS NOT NULL"))
    assert flags[("stops_density", "above_range")] == int(report.summary.loc["stops_density", "above_range"])
    assert flags[("stop_ratio", "residents_estimated")] == 1  # no population given: estimated
    back = pyogrio.read_dataframe(gpkg, layer="bus_stop_500__street_distance")
    assert back["served"].dtype == bool
    # minutes beside metres, from the walking table (between its rows 300 m = 5, 500 m = 10,
    # 1000 m = 15 minutes, piecewise linear; past 1000 m at 1000 m per 15 minutes); no path: NULL both
    m = back["network_m"].to_numpy(float)
    by_hand = np.interp(m, [0, 300, 500, 1000], [0, 5, 10, 15]) + np.maximum(m - 1000, 0) * 15 / 1000
    np.testing.assert_allclose(back["network_min"], by_hand, rtol=0, atol=1e-9)


def test_no_layer_of_unknown_geometry_type(written):
    _, gpkg, _, _ = written
    layers = dict(pyogrio.list_layers(gpkg))
    spatial = {name: g for name, g in layers.items() if g is not None}
    assert spatial and not [n for n, g in spatial.items() if g == "Unknown"]
    assert spatial["compounds"] == "Polygon"  # the tiny city has no compound: written empty, typed
    assert spatial["bus_stop_500__facilities_areas"] == "Polygon"  # no stop is an area
    assert pyogrio.read_info(gpkg, layer="compounds")["features"] == 0


def test_layer_styles_one_default_per_spatial_layer_read_back(written):
    _, gpkg, _, _ = written
    spatial = {name for name, g in pyogrio.list_layers(gpkg) if g is not None}
    rows = table(gpkg, "SELECT f_table_name, f_geometry_column, styleQML, styleSLD, useAsDefault FROM layer_styles")
    assert sorted(r[0] for r in rows) == sorted(spatial)  # one each, none for tables
    assert table(gpkg, "SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'") == [("attributes",)]
    for name, geom_col, qml, sld, default in rows:
        assert default == 1 and geom_col == pyogrio.read_info(gpkg, layer=name)["geometry_name"]
        root = ET.fromstring(qml.split("\n", 1)[1])  # after the DOCTYPE line
        assert root.tag == "qgis" and root.find("renderer-v2") is not None
        ET.fromstring(sld.encode("utf-8"))
        # every column a class filters on is a column of the layer
        fields = set(pyogrio.read_info(gpkg, layer=name)["fields"])
        for rule in root.iter("rule"):
            expr = rule.get("filter") or ""
            for col in {part.split('"')[1] for part in expr.split(" AND ") if part.startswith('"')}:
                assert col in fields, (name, col)
    qmls = {r[0]: r[2] for r in rows}

    def rgb(hex_colour):
        return ",".join(str(int(hex_colour[i:i + 2], 16)) for i in (1, 3, 5))

    # the colours of the static maps: unserved in the maps' red, facilities in their blue
    assert rgb(palette.BEYOND) in qmls["bus_stop_500__residents_unserved"]
    assert rgb(palette.FACILITY) in qmls["bus_stop_500__facilities_points"]
    street = ET.fromstring(qmls["bus_stop_500__street_distance"].split("\n", 1)[1])
    filters = [r.get("filter") for r in street.iter("rule")]
    assert len(filters) == len(palette.DISTANCE_CLASSES) + 3 and filters[-1] == "ELSE"
    assert "\"status\" = 'beyond'" in filters


def test_summary_one_row_per_rule_and_values_by_kind(written):
    report, gpkg, _, _ = written
    summary = pyogrio.read_dataframe(gpkg, layer="summary")
    assert list(summary["id"]) == list(report.summary["id"]) and len(summary) == 4
    assert list(summary.columns) == list(SUMMARY_COLUMNS)  # not the ~30 columns of every kind
    values = pyogrio.read_dataframe(gpkg, layer="summary_values")
    wide = values.pivot(index="rule", columns="name", values="value")
    assert wide.loc["bus_stop_500", "residents_served"] == pytest.approx(report.summary.loc["bus_stop_500", "residents_served"])
    assert set(values.loc[values["rule"] == "compounds_500", "kind"]) == {"radius"}
    assert "residents_served" not in set(values.loc[values["rule"] == "stops_density", "name"])  # no blank cells


def test_no_compound_is_null_not_minus_one(written):
    report, gpkg, _, _ = written
    layer = report.results["bus_stop_500"].layers["residents_unserved"]
    assert len(layer) and (layer["compound"] == -1).all()  # in memory: a row index, -1 for none
    assert table(gpkg, 'SELECT compound FROM "bus_stop_500__residents_unserved"') == [(None,)] * len(layer)


def test_styles_follow_a_layers_kind_not_its_rule():
    """Layers other helpers add (``homes``, ``streets``, with ``n_failed``) and layers split by
    geometry type get the style of their kind; a name nothing matches gets the neutral fallback."""
    from urbancover.evaluation.styles import layer_style

    kinds = {name: layer_style(name, gtype, cols).kind for name, gtype, cols in [
        ("homes", "Polygon", ["n_failed", "bus_stop_500_served"]), ("streets", "LineString", ["n_failed"]),
        ("r__homes_unserved_areas", "MultiPolygon", []), ("r__unmatched_points", "Point", []),
        ("r__units", "Polygon", ["unit", "count", "meets"]), ("r__street_distance", "LineString", ["served", "ratio", "status"]),
        ("something_new", "Point", ["x"])]}
    assert kinds == {"homes": "served", "streets": "served", "r__homes_unserved_areas": "unserved",
                     "r__unmatched_points": "facilities", "r__units": "meets", "r__street_distance": "street_distance",
                     "something_new": "plain"}
    assert layer_style("summary", None, ["id"]) is None  # a table: no style
