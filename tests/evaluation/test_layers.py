"""Result layers that open anywhere (issue 14.2) and verdicts that say what they mean (issue 12.3,
12.4, 12.6, 14.6), on a hand-made city whose distances are worked out by hand.

The city: a 1000 m street along y = 0 and, 2 km east of it, a 200 m street joined to nothing
(x = 2900..3100); a bus stop 10 m north of the west end (x = 0); apartment homes centred 40 m
north of the street at x = 100, 470 and 900, and one at x = 3000 by the lone street; residential
compounds around the homes at x = 100 and x = 900.

Walks to the stop (stop access 10 m + along the street + home access 40 m from the home's centre):
x = 100: 10 + 100 + 40 = 150 m, served; x = 470: 520 m, beyond by 20 m; x = 900: 950 m, beyond by
450 m; x = 3000: on a street joined to nothing, no path. Straight lines: hypot(x, 30).
"""

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from osmfactory import square, write_osm

import urbancover as uc
from urbancover.app.cli import main, summary_table
from urbancover.evaluation.gaps import STATUSES, place_status

BUS = "bus_stop_500"


def _home(first_id, cx, cy, size=20, tags=None):
    ring = square(cx - size / 2, cy - size / 2, size)[:-1]
    nodes = {first_id + i: xy for i, xy in enumerate(ring)}
    return nodes, (first_id, [first_id + i for i in range(4)] + [first_id], {"building": "apartments", **(tags or {})})


def _compound(first_id, x0, x1):
    ring = [(x0, 15), (x1, 15), (x1, 80), (x0, 80)]
    nodes = {first_id + i: xy for i, xy in enumerate(ring)}
    return nodes, (first_id, [first_id + i for i in range(4)] + [first_id], {"landuse": "residential"})


def _city(path, homes=True, stop=True):
    nodes = {1: (0, 0), 2: (500, 0), 3: (1000, 0), 4: (2900, 0), 5: (3100, 0)}
    ways = [(1, [1, 2, 3], {"highway": "residential"}), (2, [4, 5], {"highway": "residential"})]
    if stop:
        nodes[10] = (0, 10, {"highway": "bus_stop"})
    if homes:
        for k, x in enumerate((100, 470, 900, 3000)):
            hn, hw = _home(100 + 10 * k, x, 40, tags={"amenity": "kindergarten"} if x == 100 else None)
            nodes.update(hn)
            ways.append(hw)
        for k, (x0, x1) in enumerate(((60, 140), (860, 940))):
            cn, cw = _compound(200 + 10 * k, x0, x1)
            nodes.update(cn)
            ways.append(cw)
    return write_osm(path, nodes, ways, bounds=(-50, -100, 3150, 100))


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    return _city(tmp_path_factory.mktemp("layers") / "city.osm")


@pytest.fixture(scope="module")
def city_report(city):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # findings about the data are notes, never warnings
        return uc.evaluate(city, only=[BUS])


def test_home_layer_has_named_distances_status_and_excess(city_report):
    homes = city_report.results[BUS].layers["homes_unserved"]
    x = shapely.centroid(homes.geometry.values)
    homes = homes.assign(x=np.round(shapely.get_x(x) - shapely.get_x(x).min() + 470)).sort_values("x")
    assert list(homes["x"]) == [470, 900, 3000]
    assert list(homes["status"]) == ["beyond", "beyond", "no path"]
    np.testing.assert_allclose(homes["network_m"].to_numpy()[:2], [520, 950], atol=0.5)
    assert np.isnan(homes["network_m"].to_numpy()[2])  # no inf: the status says why
    np.testing.assert_allclose(homes["over_by_m"].to_numpy()[:2], [20, 450], atol=0.5)
    assert np.isnan(homes["over_by_m"].to_numpy()[2])
    np.testing.assert_allclose(homes["straight_m"], np.hypot([470, 900, 3000], 30), atol=0.5)
    # the default columns, no raw OSM tags
    assert set(homes.columns) - {"x"} == {"osmid", "element", "name", "building", "levels", "compound", "residents",
                                          "network_m", "network_min", "straight_m", "status", "over_by_m", "geometry"}
    assert set(homes["status"]) <= set(STATUSES)
    # x = 470 and 3000 lie in no compound: NULL, not -1 (issue 23.4); x = 900 in the second
    assert homes["compound"].dtype == "Int64" and homes["compound"].isna().tolist() == [True, False, True]


def test_osm_tags_only_when_asked(city):
    homes = uc.evaluate(city, only=[BUS], osm_tags=True).results[BUS].layers["homes_unserved"]
    assert {"amenity", "building:levels", "network_m", "status"} <= set(homes.columns)
    assert "tags" not in homes  # a dict column opens nowhere


def test_street_layer_has_ends_and_from_to_distances(city_report):
    streets = city_report.results[BUS].layers["streets_unserved"].sort_values("start_m")
    main_street = streets[streets["status"] == "beyond"]
    # the stop reaches the street at x = 0 with 10 m: covered up to x = 490.05 (within 500 m: at most
    # 500.05, the rule set's tolerance); the rest, 490.05..1000 of the one 1000 m edge (a way is split
    # only at shared nodes), is unserved
    assert len(main_street) == 1
    piece = main_street.iloc[0]
    assert piece["start_m"] == pytest.approx(490.05, abs=0.01) and piece["end_m"] == pytest.approx(1000, abs=0.01)
    assert piece["network_m_from"] == pytest.approx(500.05, abs=0.01) and piece["network_m_to"] == pytest.approx(1010, abs=0.01)
    assert piece["over_by_m"] == pytest.approx(510, abs=0.01)  # at the far end: 1010 - 500
    # minutes from the walking table (10 min = 500 m, 15 min = 1000 m; beyond the last row at its
    # pace, 1000 m per 15 min): 10 + 0.05 / 100 = 10.0005 and 15 + 10 x 0.015 = 15.15
    # (the metres are those above to 0.01 m: 1.5e-4 min at most)
    assert piece["network_min_from"] == pytest.approx(10.0005, abs=2e-4)
    assert piece["network_min_to"] == pytest.approx(15.15, abs=2e-4)
    assert (main_street["length_m"] == main_street["end_m"] - main_street["start_m"]).all()
    np.testing.assert_allclose(main_street["length_m"], main_street.length, atol=0.01)
    lone = streets[streets["status"] == "no path"]
    assert lone["length_m"].sum() == pytest.approx(200, abs=0.01)
    assert lone["network_m_from"].isna().all() and lone["over_by_m"].isna().all()
    assert lone["network_min_from"].isna().all()
    assert not {"dist_u", "dist_v"} & set(streets.columns)


def test_compounds_say_served(city_report):
    comp = city_report.compounds
    x = shapely.get_x(shapely.centroid(comp.geometry.values))
    by_x = comp.assign(x=x - x.min()).sort_values("x")
    assert list(by_x[f"served_{BUS}"]) == [True, False]  # around x = 100 (150 m) and x = 900 (950 m)
    assert BUS not in comp.columns
    assert list(by_x["failed_rules"]) == ["", BUS]


@pytest.fixture(scope="module")
def every_report(city):
    """The city with a rule counting only the homes of old compounds beside the bus stops."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return uc.evaluate(city, only=[BUS, "garden_100_in_compound", "toilet_main_300"])


def _by_x(layer):
    x = shapely.get_x(shapely.centroid(layer.geometry.values))
    return layer.assign(x=np.round(x - x.min() + 470)).sort_values("x").reset_index(drop=True)


def test_homes_layer_holds_every_home_with_metres_minutes_and_served(every_report):
    """Every home, served or not (the unserved layer holds those at x = 470, 900, 3000; the home at
    x = 100 is a kindergarten, not a home): 520 m is 10 + 20 / 500 x 5 = 10.2 minutes on the
    preset's table (10 min = 500 m, 15 min = 1000 m), 950 m is 14.5 minutes; no path is NaN."""
    homes = _by_x(every_report.layers()["homes"])
    assert len(homes) == len(every_report.context.homes) == 3
    assert list(homes["x"]) == [470, 900, 3000]
    np.testing.assert_allclose(homes[f"{BUS}_m"][:2], [520, 950], atol=0.05)
    np.testing.assert_allclose(homes[f"{BUS}_min"][:2], [10.2, 14.5], atol=0.001)
    assert homes[[f"{BUS}_m", f"{BUS}_min"]].iloc[2].isna().all()
    assert homes[f"{BUS}_served"].dtype == bool and not homes[f"{BUS}_served"].any()
    # no compound: NULL, not -1; the home at x = 900 lies in the second compound
    assert homes["compound"].dtype == "Int64"
    assert homes["compound"].isna().tolist() == [True, False, True] and homes["compound"][1] == 1
    # a rule counting only homes of old compounds: <NA> for the others, which it never fails
    garden = homes["garden_100_in_compound_served"]
    assert garden.dtype == "boolean" and garden.isna().tolist() == [True, False, True] and not garden[1]
    assert list(homes["failed_rules"]) == [BUS, f"{BUS}, garden_100_in_compound", BUS]
    assert list(homes["n_failed"]) == [1, 2, 1]
    assert {"osmid", "name"} <= set(homes.columns) and homes["osmid"].notna().all()
    assert "toilet_main_300_m" not in homes  # a rule of streets only has no home column
    # the public per-home accessor says the same
    st = every_report.home_status(BUS)
    np.testing.assert_allclose(st["network_m"], every_report.layers()["homes"][f"{BUS}_m"])
    assert list(st.columns) == ["osmid", "element", "network_m", "minutes", "served", "counted"]


def test_served_homes_agree_with_the_unserved_layer_and_the_summary(every_report):
    homes = every_report.layers()["homes"]
    for rid in (BUS, "garden_100_in_compound"):
        unserved = every_report.results[rid].layers["homes_unserved"]
        assert int((homes[f"{rid}_served"] == False).sum()) == len(unserved)  # noqa: E712 (<NA> is not False)
        assert set(homes["osmid"][homes[f"{rid}_served"] == False]) == set(unserved["osmid"])  # noqa: E712


def test_streets_layer_cuts_where_a_rule_changes(every_report):
    """The bus stop reaches the 1000 m street up to 490.05 m (500 m + 5 cm tolerance - 10 m access):
    two pieces there, and the lone 200 m street, which nothing reaches. No main street: the toilet
    rule counts no piece."""
    streets = every_report.layers()["streets"].sort_values(["edge", "start_m"]).reset_index(drop=True)
    assert len(streets) == 3
    np.testing.assert_allclose(streets["length_m"], [490.05, 509.95, 200.0], atol=0.02)
    assert streets[f"{BUS}_served"].tolist() == [True, False, False]
    assert streets[f"{BUS}_demand"].all() and not streets["toilet_main_300_demand"].any()
    # at the pieces' middles: 10 + 245 m, 10 + 745 m (12.55 min: 10 + 255 / 500 x 5); none on the lone street
    np.testing.assert_allclose(streets[f"{BUS}_m"][:2], [255.03, 755.03], atol=0.05)
    np.testing.assert_allclose(streets[f"{BUS}_min"][:2], [4.2505, 12.5503], atol=0.001)
    assert np.isnan(streets[f"{BUS}_m"][2])
    assert list(streets["failed_rules"]) == ["", BUS, BUS]
    # the pieces a rule counts and serves are its street share, exactly
    d, ok = streets[f"{BUS}_demand"], streets[f"{BUS}_served"]
    share = streets["length_m"][d & ok].sum() / streets["length_m"][d].sum()
    assert share == pytest.approx(every_report.summary.loc[BUS, "street_served"], abs=1e-12)


def test_failed_lookups_list_what_exists(every_report):
    with pytest.raises(KeyError, match=r"no layer 'homes_unserved'.*'homes', 'streets'"):
        every_report.layers()["homes_unserved"]
    with pytest.raises(KeyError, match=r"no layer 'nope'.*'homes_unserved'"):
        every_report.results[BUS].layers["nope"]
    with pytest.raises(KeyError, match=r"no rule 'bus_stop'.*'bus_stop_500'"):
        every_report.results["bus_stop"]
    with pytest.raises(KeyError, match=r"no rule 'bus_stop'.*'bus_stop_500'"):
        every_report.sweep("bus_stop", [300])
    with pytest.raises(KeyError, match=r"no rule 'bus'.*'bus_stop_500'"):
        every_report.service_areas("bus")
    assert every_report.results[BUS].layers.get("nope") is None  # a mapping's get still works


def test_report_service_areas_in_minutes_from_the_walking_table(every_report):
    """The stop is 10 m off the west end of the 1000 m street: 5, 10, 15 minutes are 300, 500 and
    1000 m, so 290, 490 and 990 m of the street."""
    sa = every_report.service_areas(BUS)
    assert list(sa["band_m"]) == [300.0, 500.0, 1000.0] and list(sa["minutes"]) == [5.0, 10.0, 15.0]
    np.testing.assert_allclose(sa["length_m"], [290, 490, 990], atol=0.01)
    assert set(sa["category"]) == {BUS} and sa.crs == every_report.network.crs
    assert (shapely.area(sa.geometry.values) > 0).all()
    assert every_report.service_areas(BUS, bands=[100])["length_m"].tolist() == [pytest.approx(90, abs=0.01)]


def test_residents_only_rule_keeps_stable_names_and_home_ids(city, tmp_path):
    """A rule of residents only (estimated from the homes) has the same ``homes_unserved`` as one of
    homes, and its residents' points carry their home's osmid."""
    from urbancover.plan.rules import load_rules

    rules = (tmp_path / "r.toml")
    rules.write_text('[ruleset]\nid = "t"\n[[rule]]\nid = "bus"\nkind = "radius"\nthreshold_m = 500\n'
                     'demand = ["residents"]\nfacilities = [{ highway = "bus_stop" }]\n', encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = uc.evaluate(city, load_rules(rules))
    layers = report.results["bus"].layers
    assert {"homes_unserved", "residents_unserved"} <= set(layers)
    assert len(layers["homes_unserved"]) == 3 and set(layers["homes_unserved"]["status"]) == {"beyond", "no path"}
    assert set(layers["residents_unserved"]["osmid"]) == set(layers["homes_unserved"]["osmid"])
    homes = report.layers()["homes"]
    assert (homes["bus_served"] == False).sum() == 3  # noqa: E712


def test_place_status_by_hand():
    d = np.array([[100.0, 200.0], [400.0, 200.0], [np.inf, 200.0], [100.0, np.inf], [350.0, 900.0]])
    t = np.array([300.0, 500.0])
    status, over = place_status(d, t, np.array([True, True]))
    assert list(status) == ["served", "beyond", "no path", "no path", "beyond"]
    np.testing.assert_allclose(over, [np.nan, 100, np.nan, np.nan, 400])  # the largest excess: 900 - 500
    status, _ = place_status(d, t, np.array([True, False]))  # the second category has no facility at all
    assert list(status) == ["served", "beyond", "no path", "no facility", "no facility"]


@pytest.fixture(scope="module")
def sample_report(shenzhen_report):
    return shenzhen_report  # the preset on the Shenzhen sample, evaluated once per session (conftest.py)


def _every_layer(report):
    return {name: gdf for name, gdf in report.layers().items() if "geometry" in gdf}


def test_every_layer_one_geometry_type_no_inf_and_explore(sample_report, city_report):
    pytest.importorskip("folium")
    for report in (sample_report, city_report):
        for name, gdf in _every_layer(report).items():
            if report.results.get(name.split("__")[0]) is not None and report.results[name.split("__")[0]].measurement is not None:
                assert len(set(shapely.get_dimensions(gdf.geometry.values).tolist())) <= 1, name
            for col in gdf.columns:
                if col != gdf.geometry.name and pd.api.types.is_float_dtype(gdf[col]):
                    assert not np.isinf(gdf[col].to_numpy()).any(), (name, col)
            if len(gdf) == 0:
                continue
            gdf.explore()  # the map of the layer builds
            for col in ("network_m", "over_by_m", "network_m_from"):
                if col in gdf and gdf[col].notna().any():
                    gdf.explore(column=col)  # "Thresholds are not sorted" with inf (issue 14)


def test_facilities_split_points_and_areas(sample_report):
    layers = sample_report.results["park_500"].layers
    assert "facilities" not in layers
    areas, points = layers["facilities_areas"], layers["facilities_points"]
    assert len(areas) + len(points) == sample_report.summary.loc["park_500", "facilities"]
    assert set(areas.geom_type) <= {"Polygon", "MultiPolygon"} and set(points.geom_type) <= {"Point", "MultiPoint"}
    np.testing.assert_allclose(areas["area_m2"], areas.area)


@pytest.mark.parametrize("fmt", ["gpkg", "parquet", "geojson", "shp"])
def test_export_formats_read_back(city_report, tmp_path, fmt):
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    target = tmp_path / ("out.gpkg" if fmt == "gpkg" else "out")
    written = city_report.export(target, format=fmt)
    homes = city_report.results[BUS].layers["homes_unserved"]
    name = f"{BUS}__homes_unserved"
    if fmt == "gpkg":
        assert written == [target]
        back = pyogrio.read_dataframe(target, layer=name)
        summary = pyogrio.read_dataframe(target, layer="summary")
    else:
        suffix = {"parquet": ".parquet", "geojson": ".geojson", "shp": ".shp"}[fmt]
        path = target / f"{name}{suffix}"
        assert path in written
        back = gpd.read_parquet(path) if fmt == "parquet" else gpd.read_file(path)
        if fmt == "shp":  # 10-character field names, mapped back by the fields table
            fields = pd.read_csv(target / f"{name}.fields.csv", encoding="utf-8-sig")
            back = back.rename(columns=dict(zip(fields["field"], fields["column"])))
        raw = (target / "summary.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # a BOM: Excel on Chinese Windows reads UTF-8
        summary = pd.read_csv(target / "summary.csv", encoding="utf-8-sig")
    assert len(back) == len(homes)
    assert sorted(back["status"]) == sorted(homes["status"])
    np.testing.assert_allclose(np.sort(back["network_m"].to_numpy(dtype=float)), np.sort(homes["network_m"].to_numpy()),
                               atol=1e-6)
    assert back.crs is not None
    if fmt == "geojson":
        assert back.crs.to_epsg() == 4326  # RFC 7946
    assert list(summary["verdict"]) == ["fail"]


def test_export_refuses_unknown_format(city_report, tmp_path):
    with pytest.raises(uc.InputError, match="format"):
        city_report.export(tmp_path / "x", format="kml")


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "shp", "parquet"])
def test_export_of_a_report_built_by_hand_never_names_a_file_from_a_path(city_report, tmp_path, fmt):
    from dataclasses import replace

    report = replace(city_report, results={"../../evil": city_report.results[BUS]})
    out = tmp_path / "a" / "b"
    with pytest.raises(uc.InputError, match=r"rule ids \['../../evil'\]: not identifiers"):
        report.export(out if fmt != "gpkg" else out / "x.gpkg", format=fmt)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # nothing written, inside or outside


def test_no_demand_is_undetermined_with_reason(tmp_path):
    report = uc.evaluate(_city(tmp_path / "empty.osm", homes=False), only=[BUS, "toilet_main_300"])
    row = report.summary.loc[BUS]
    # no home: the share of residents is undefined, the rule neither passes nor fails
    assert row["passed"] is None and row["verdict"] == "undetermined"
    assert "no residents" in row["reason"]
    # no main street (the two streets are residential): undetermined too
    assert report.summary.loc["toilet_main_300", "verdict"] == "undetermined"
    table = summary_table(report.summary, lang="en")
    line = next(s for s in table.splitlines() if s.strip().startswith(BUS))
    assert "undetermined" in line and "no residents" in line and " yes " not in line
    # the notebook views say it too
    assert "2 undetermined" in repr(report) and "no residents" in report._repr_html_()  # both rules
    assert ": undetermined;" in repr(report.results[BUS])
    zh = summary_table(report.summary, lang="zh")
    assert "无法判断" in zh and "达标" not in zh.replace("未达标", "")
    pytest.importorskip("folium")
    from urbancover.report import html_report

    page = html_report(report, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "无法判断" in page and "范围内没有居民" in page  # the verdict and its reason, in the page's language


def test_shares_carry_their_size(city_report):
    s = city_report.summary.loc[BUS]
    assert s["street_km"] == pytest.approx(1.2, abs=1e-3)  # 1000 m + the lone 200 m street
    table = summary_table(city_report.summary, lang="en", wide=True)  # the sizes are details (--wide)
    line = next(x for x in table.splitlines() if x.strip().startswith(BUS))
    # one share format in every output (the CLI wrote "25.0 %", the report "25.0%")
    assert f"{100 * s['residents_served']:.1f}% | {100 * s['residents_served_straight']:.1f}%" in line
    assert f"of {s['residents']:,.0f} residents" in line and "of 1.20 km" in line
    assert "共 1.20 公里" in summary_table(city_report.summary, lang="zh", wide=True)
    assert "of 1.20 km" not in summary_table(city_report.summary, lang="en")  # 120 columns: no sizes


def test_edge_note_quotes_the_rules_evaluated(city):
    bus = uc.evaluate(city, only=[BUS])
    edge = [n for n in bus.notes if "beyond the analysed area" in n]
    assert len(edge) == 1 and "(500 m)" in edge[0]  # not the preset's 1000 m
    density = uc.evaluate(city, only=["toilet_density"])  # no distance rule: the margin does not matter
    assert not any("beyond the analysed area" in n for n in density.notes)


def test_missing_category_is_one_note_and_no_warning(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = uc.evaluate(_city(tmp_path / "nostop.osm", stop=False), only=[BUS])
    assert sum("highway=bus_stop" in n for n in report.notes) == 1
    assert set(report.results[BUS].layers["homes_unserved"]["status"]) == {"no facility"}


def test_cli_format_and_lang(city, tmp_path, capsys):
    assert main(["analyze", str(city), "--only", BUS, "--out", str(tmp_path), "--format", "geojson", "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    folder = tmp_path / "city_geojson"
    back = gpd.read_file(folder / f"{BUS}__homes_unserved.geojson")
    assert {"network_m", "status", "over_by_m"} <= set(back.columns)
    assert (folder / "summary.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert "规则" in out and "结论" in out and "说明" in out and "公里" in out
    notes = [line for line in out.splitlines() if line.startswith("说明")]
    assert notes and not any(w in line for line in notes for w in ("settings.", "evaluate(", "units=", "crs="))
    assert any("最大服务半径（500 米）" in line for line in notes)
    assert main(["analyze", str(city), "--only", BUS, "--out", str(tmp_path / "en"), "--lang", "en", "--format", "shp"]) == 0
    out = capsys.readouterr().out
    assert "rule" in out and "note: " in out and (tmp_path / "en" / "city_shp" / f"{BUS}__homes_unserved.dbf").is_file()


def test_costly_layers_are_made_when_read_and_a_writer_keeps_none(city, tmp_path):
    """``gaps`` and ``streets_unserved`` are made from the measurement on first read; writing the
    GeoPackage makes them for the file only; what the file holds is what reading gives."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = uc.evaluate(city, only=[BUS, "toilet_main_300"])
    lazy = [(BUS, "gaps"), ("toilet_main_300", "streets_unserved")]
    for rid, name in lazy:
        assert name in report.results[rid].layers and not report.results[rid].layers.is_made(name)
    assert "made when read" in repr(report.results[BUS])
    path = report.to_gpkg(tmp_path / "out.gpkg")
    for rid, name in lazy:
        assert not report.results[rid].layers.is_made(name)
        written = pyogrio.read_dataframe(path, layer=f"{rid}__{name}")
        layer = report.results[rid].layers[name]
        assert report.results[rid].layers.is_made(name)
        assert report.results[rid].layers[name] is layer  # made once, then kept
        assert len(written) == len(layer)
        assert np.isclose(shapely.area(written.geometry.values).sum(), shapely.area(layer.geometry.values).sum())
        assert np.isclose(shapely.length(written.geometry.values).sum(), shapely.length(layer.geometry.values).sum())


def test_a_report_with_layers_not_yet_made_pickles(city):
    """A report crosses process boundaries (Dask, joblib) with its layers still to be made; they
    are made on the other side like here."""
    import pickle

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = uc.evaluate(city, only=[BUS])
    copy = pickle.loads(pickle.dumps(report))
    assert not copy.results[BUS].layers.is_made("gaps")
    a, b = copy.results[BUS].layers["gaps"], report.results[BUS].layers["gaps"]
    assert len(a) == len(b) and np.isclose(a.area.sum(), b.area.sum())


def test_sample_homes_layer_has_every_home_and_the_unserved_counts(sample_report):
    """The preset on the Shenzhen sample: one row per home; per rule counting homes, the homes not
    served are exactly the rows of its ``homes_unserved`` layer; the streets layer gives every
    street rule's share."""
    layers = sample_report.layers()
    homes, streets = layers["homes"], layers["streets"]
    assert len(homes) == len(sample_report.context.homes) and homes["osmid"].is_unique
    rules = [rid for rid, res in sample_report.results.items()
             if res.measurement is not None and "residential_buildings" in res.rule.demand]
    assert len(rules) >= 7
    for rid in rules:
        unserved = sample_report.results[rid].layers["homes_unserved"]
        assert int((homes[f"{rid}_served"] == False).sum()) == len(unserved), rid  # noqa: E712
        assert homes[f"{rid}_m"].notna().sum() >= int((homes[f"{rid}_served"] == True).sum())  # noqa: E712
    for rid, res in sample_report.results.items():
        if res.measurement is not None and "streets" in res.rule.demand:
            d, ok = streets[f"{rid}_demand"], streets[f"{rid}_served"]
            want = sample_report.summary.loc[rid, "street_served"]
            got = streets["length_m"][d & ok].sum() / streets["length_m"][d].sum() if d.any() else np.nan
            assert got == pytest.approx(want, abs=1e-9, nan_ok=True), rid
