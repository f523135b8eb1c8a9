"""Before and after (urbancover.compare): hand-worked tiny districts, and the Shenzhen sample against
itself with the sites proposed by site_facilities added (the share rises to the siting's figure and
the newly served homes are exactly the siting's covered set).

The tiny district: one street along y = 0 from x = 0 to 1000 m; home A (way 101) centred on
(100, 30) and home B (way 102) on (900, 30), 20 x 20 m apartments of the same floors (the same
estimated residents); bus stops on the street at the x given. With a stop at x = 0, A walks
30 + 100 = 130 m (served within 500 m) and B 30 + 900 = 930 m (not served).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
from osmfactory import square, write_osm

import urbancover as uc
from urbancover.app.cli import main
from urbancover.core.errors import InputError, UnknownRuleError
from urbancover.present.formats import width as _width
from urbancover.present.words import COMPARE
from urbancover.siting import add_sites, site_facilities

RULES = """[ruleset]
id = "tiny"
[[rule]]
id = "bus_stop_500"
kind = "radius"
threshold_m = 500
target = 1.0
demand = ["residents"]
facilities = [{ highway = "bus_stop" }]
[[rule]]
id = "street_stop_500"
kind = "radius"
threshold_m = 500
target = 1.0
demand = ["streets"]
facilities = [{ highway = "bus_stop" }]
"""


def district(path, stops: dict[int, float], homes=((101, 100.0), (102, 900.0))):
    """The tiny district with bus stops ``{node id: x}`` on the street and homes ``(way id, centre x)``."""
    nodes = {1: (0, 0), 2: (500, 0), 3: (1000, 0)}
    for nid, x in stops.items():
        nodes[nid] = (x, 0.0, {"highway": "bus_stop"})
    ways = [(1, [1, 2, 3], {"highway": "residential"})]
    for wid, cx in homes:
        ids = []
        for i, xy in enumerate(square(cx - 10, 20, 20)[:-1]):
            nodes[wid * 10 + i] = xy
            ids.append(wid * 10 + i)
        ways.append((wid, ids + [ids[0]], {"building": "apartments"}))
    return write_osm(path, nodes, ways, bounds=(-100, -100, 1100, 200))


def evaluate(path, rules):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return uc.evaluate(path, rules, area="bounds")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Reports of the tiny district: stop at 0; stops at 0 and 900; stops at 0 and 900 with home B
    redrawn as way 202 (a new id, the same place); stop at 0 with home B moved 60 m east."""
    d = tmp_path_factory.mktemp("compare")
    rules = d / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    one = evaluate(district(d / "one.osm", {9: 0.0}), rules)
    two = evaluate(district(d / "two.osm", {9: 0.0, 10: 900.0}), rules)
    redrawn = evaluate(district(d / "redrawn.osm", {9: 0.0, 10: 900.0}, homes=((101, 100.0), (202, 900.0))), rules)
    moved = evaluate(district(d / "moved.osm", {9: 0.0}, homes=((101, 100.0), (202, 960.0))), rules)
    return {"one": one, "two": two, "redrawn": redrawn, "moved": moved, "dir": d, "rules": rules}


def test_a_stop_added_serves_the_home_beyond_500_m(tiny):
    c = uc.compare(tiny["one"], tiny["two"])
    row = c.summary.loc["bus_stop_500"]
    # residents: A and B the same; B newly served: 1/2 -> 2/2
    assert (row["value_before"], row["value_after"]) == pytest.approx((0.5, 1.0), rel=1e-3)  # (areas reprojected)
    assert row["served_before"] == pytest.approx(row["size_before"] / 2, rel=1e-3)
    assert (row["homes_served_before"], row["homes_before"], row["homes_served_after"], row["homes_after"]) == (1, 2, 2, 2)
    assert (row["homes_newly_served"], row["homes_newly_unserved"]) == (1, 0)
    homes = c.homes[c.homes["rule"] == "bus_stop_500"]
    assert list(homes["osmid"].astype(int)) == [102] and list(homes["change"]) == ["newly served"]
    assert homes["matched"].iloc[0] == "osmid"
    # B: from its point (900, 30) 30 m to the street, then 900 m along it to the stop at 0 / none to the stop at 900
    assert homes["metres_before"].iloc[0] == pytest.approx(930.0, abs=0.5)
    assert homes["metres_after"].iloc[0] == pytest.approx(30.0, abs=0.5)
    fac = c.facilities[c.facilities["rule"] == "bus_stop_500"]
    assert list(fac["change"]) == ["added"] and list(fac["osmid"].astype(int)) == [10]
    assert (row["facilities_before"], row["facilities_after"], row["facilities_added"], row["facilities_removed"]) == (1, 2, 1, 0)
    assert row["verdict_before"] == "fail" and row["verdict_after"] == "pass"
    assert c.notes == []


def test_street_metres_newly_served(tiny):
    # streets: the stop at 0 serves 0..500 m (+ the 0.05 m tolerance); the stop at 900 the rest:
    # 500 m newly served, to within one sample step at the change's end
    c = uc.compare(tiny["one"], tiny["two"])
    row = c.summary.loc["street_stop_500"]
    step = tiny["two"].context.settings.compare_street_step_m
    assert row["street_m_newly_served"] == pytest.approx(500.0, abs=step)
    assert row["street_m_newly_unserved"] == 0
    lines = c.streets[c.streets["rule"] == "street_stop_500"]
    assert lines["length_m"].sum() == pytest.approx(row["street_m_newly_served"])
    assert lines.total_bounds[0] - 500_000 == pytest.approx(500.0, abs=step)  # it starts where the old reach ended
    assert pd.isna(row["homes_before"])  # a street rule counts no homes (NA, NULL in the GeoPackage)


def test_a_removed_stop_leaves_a_home_unserved(tiny):
    c = uc.compare(tiny["two"], tiny["one"])
    row = c.summary.loc["bus_stop_500"]
    assert (row["homes_newly_served"], row["homes_newly_unserved"]) == (0, 1)
    homes = c.homes[c.homes["rule"] == "bus_stop_500"]
    assert list(homes["osmid"].astype(int)) == [102] and list(homes["change"]) == ["newly unserved"]
    fac = c.facilities[c.facilities["rule"] == "bus_stop_500"]
    assert list(fac["change"]) == ["removed"] and list(fac["osmid"].astype(int)) == [10]
    assert c.summary.loc["street_stop_500", "street_m_newly_unserved"] == pytest.approx(500.0, abs=5.0)


def test_a_home_with_a_new_osm_id_is_matched_by_location(tiny):
    c = uc.compare(tiny["one"], tiny["redrawn"])
    homes = c.homes[c.homes["rule"] == "bus_stop_500"]
    assert len(homes) == 1
    h = homes.iloc[0]
    assert (int(h["osmid"]), int(h["osmid_before"]), h["matched"], h["change"]) == (202, 102, "location", "newly served")
    assert c.notes == []  # every home has its counterpart


def test_a_home_farther_than_the_tolerance_has_no_counterpart(tiny):
    # B moved 60 m (more than settings.compare_match_m): not the same home; the totals say so
    c = uc.compare(tiny["one"], tiny["moved"])
    assert len(c.homes) == 0
    assert [n.code for n in c.notes] == ["compare.unmatched"]
    assert (c.notes[0].params["gone"], c.notes[0].params["new"]) == (1, 1)
    with uc.settings.override(compare_match_m=70.0):
        wide = uc.compare(tiny["one"], tiny["moved"], settings=uc.settings.current())
    assert wide.notes == [] and len(wide.homes) == 0  # matched, and unserved on both sides (960 m away)


def test_bad_inputs_are_named(tiny):
    with pytest.raises(InputError, match="before: need what urbancover.evaluate returned"):
        uc.compare("one.osm", tiny["two"])
    with pytest.raises(UnknownRuleError, match="nope"):
        uc.compare(tiny["one"], tiny["two"], rules=["nope"])
    c = uc.compare(tiny["one"], tiny["two"], rules=["bus_stop_500"])
    assert list(c.summary.index) == ["bus_stop_500"]
    with pytest.raises(UnknownRuleError, match="has \\['bus_stop_500'\\]"):
        c.plot("street_stop_500")


def test_gpkg_and_words(tiny, tmp_path):
    c = uc.compare(tiny["one"], tiny["two"])
    path = c.to_gpkg(tmp_path / "change.gpkg")
    layers = dict(pyogrio.list_layers(path))
    assert layers == {"change_summary": None, "change_homes": "Polygon", "change_streets": "LineString",
                      "change_facilities": "Point", "run": None, "run_before": None, "layer_styles": None}
    run_b = dict(pyogrio.read_dataframe(path, layer="run_before").to_numpy())
    run_a = dict(pyogrio.read_dataframe(path, layer="run").to_numpy())
    assert [Path(str(r["extract"])).name for r in (run_b, run_a)] == ["one.osm", "two.osm"]
    summary = pyogrio.read_dataframe(path, layer="change_summary")
    assert list(summary["rule"]) == ["bus_stop_500", "street_stop_500"]
    homes = pyogrio.read_dataframe(path, layer="change_homes")
    assert list(homes["osmid"].astype(int)) == [102]
    with pytest.raises(InputError, match="not a .gpkg"):
        c.to_gpkg(tmp_path / "change.txt")
    en, zh = c.lines("en")["bus_stop_500"], c.lines("zh")["bus_stop_500"]
    assert "50.0% → 100.0%" in en and "homes 1/2 → 2/2" in en and "1 newly served" in en
    assert "住宅 1/2 → 2/2 栋" in zh and "新覆盖 1 栋" in zh


def test_change_map_draws_the_changes(tiny):
    c = uc.compare(tiny["one"], tiny["two"])
    fig = c.plot("bus_stop_500", lang="en")
    labels = {t.get_text() for ax in fig.axes for leg in ([ax.get_legend()] if ax.get_legend() else []) for t in leg.get_texts()}
    W = COMPARE["en"]
    assert {W["home_newly_served"], W["facility_added"], W["facility_kept"]} <= labels
    assert W["home_newly_unserved"] not in labels and W["facility_removed"] not in labels


def test_cli_compare(tiny, tmp_path, capsys):
    d = tiny["dir"]
    out = tmp_path / "out"
    code = main(["compare", str(d / "one.osm"), str(d / "two.osm"), "--rules", str(tiny["rules"]), "--area", "bounds",
                 "--only", "bus_stop_500", "--out", str(out), "--lang", "zh", "--report", "--maps", "pdf"])
    assert code == 0
    table = capsys.readouterr().out.splitlines()
    W = COMPARE["zh"]
    assert table[0].split()[:2] == [W["col_rule"], W["col_share"]]
    # the columns line up by display width (a hanzi takes two columns): every line as wide as the header
    assert _width(table[1]) == _width(table[0])
    # residents: each home 20 x 20 m x 6 floors / 35 m² a person = 68.6 (settings' estimate), 137.1 in all
    assert table[1].split() == ["bus_stop_500", "50.0%", "→", "100.0%", "69/137", "→", "137/137", "1/2", "→", "2/2", "+1",
                                "/", "-0", "+1", "/", "-0"]
    # one "wrote" line per folder: the GeoPackage and the page in --out, the one map in its folder
    assert table[-2:] == [f"{W['wrote']} {out}{os.sep} (2 个文件：one_vs_two.gpkg, one_vs_two.html)",
                          f"{W['wrote']} {out / 'one_vs_two_maps' / 'bus_stop_500.pdf'}"]
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["one_vs_two.gpkg", "one_vs_two.html",
                                                                                    "one_vs_two_maps"]
    page = (out / "one_vs_two.html").read_text(encoding="utf-8")
    assert page.count("<img ") == 1 and COMPARE["zh"]["page_title"] in page and "<td class='num'>1/2 → 2/2</td>" in page
    assert [p.name for p in (out / "one_vs_two_maps").iterdir()] == ["bus_stop_500.pdf"]
    homes = pyogrio.read_dataframe(out / "one_vs_two.gpkg", layer="change_homes")
    assert list(homes["osmid"].astype(int)) == [102]
    capsys.readouterr()
    code = main(["compare", str(d / "one.osm"), str(d / "missing.osm"), "--rules", str(tiny["rules"]), "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "AFTER" in err and "missing.osm: no such file" in err


# -------------------------------------------------------------------------------- the sample


@pytest.fixture(scope="module")
def sited(shenzhen_osm):
    """The sample before, the siting for bus_stop_500, and the sample with its sites built (on a
    network of this module's own: an evaluation gives its network the extract's barriers, and the
    session's ``shenzhen_net`` must stay as other tests expect it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        net = uc.walk_network(shenzhen_osm)
        before = uc.evaluate(shenzhen_osm, only=["bus_stop_500"], network=net)
        res = site_facilities(before, "bus_stop_500")
        after = uc.evaluate(add_sites(shenzhen_osm, res.sites, res.facility_tags), only=["bus_stop_500"], network=net)
    return before, res, after, uc.compare(before, after)


def test_sample_share_rises_to_the_sitings_figure(sited):
    before, res, after, c = sited
    row = c.summary.loc["bus_stop_500"]
    assert row["value_before"] == pytest.approx(res.before)
    assert row["value_after"] == pytest.approx(res.after)
    assert row["change"] == pytest.approx(res.after - res.before)
    assert row["size_before"] == pytest.approx(res.total) and row["size_after"] == pytest.approx(res.total)
    assert row["facilities_added"] == len(res.sites) and row["facilities_removed"] == 0
    added = c.facilities[c.facilities["change"] == "added"].geometry.values
    assert np.allclose(np.sort(shapely_xy(added), axis=0), np.sort(shapely_xy(res.sites.to_crs(c.facilities.crs).geometry.values),
                                                                    axis=0), atol=1e-3)


def test_sample_newly_served_homes_are_the_sitings_covered_set(sited):
    before, res, after, c = sited
    homes = before.context.homes
    # the siting's own covered set: the residents' points it newly serves, each on one home
    covered = homes.iloc[res.newly_served["home"].to_numpy()]
    expected = set(zip(covered["element"], covered["osmid"].astype(str)))
    got = c.homes[c.homes["change"] == "newly served"]
    assert len(expected) > 0
    assert set(zip(got["element"], got["osmid"].astype(str))) == expected
    assert len(got) == len(expected) and (got["matched"] == "osmid").all()
    assert (c.homes["change"] != "newly unserved").all()
    assert (got["metres_before"].fillna(np.inf) > 500).all() and (got["metres_after"] <= 500 + 0.05).all()


def test_sample_compounds_newly_served(sited):
    # the same extract: the compounds are the same rows, matched by their OSM ids
    before, res, after, c = sited
    vb = before.compounds["served_bus_stop_500"].to_numpy(dtype=bool)
    va = after.compounds["served_bus_stop_500"].to_numpy(dtype=bool)
    row = c.summary.loc["bus_stop_500"]
    assert (row["compounds_newly_served"], row["compounds_newly_unserved"]) == ((~vb & va).sum(), (vb & ~va).sum())
    assert (~vb & va).sum() > 0


def test_sample_street_metres_match_the_shares(sited):
    # nothing lost, so the metres newly served are the rise of the street share times its length
    before, res, after, c = sited
    sb, sa = before.results["bus_stop_500"].summary.shares["street"], after.results["bus_stop_500"].summary.shares["street"]
    expected = (sa.served - sb.served) * sa.size * 1000
    row = c.summary.loc["bus_stop_500"]
    assert row["street_m_newly_unserved"] == pytest.approx(0.0, abs=1.0)
    assert row["street_m_newly_served"] == pytest.approx(expected, rel=0.01)


def shapely_xy(geoms):
    import shapely

    return shapely.get_coordinates(np.asarray(geoms, dtype=object))


def test_summary_columns_are_typed(sited):
    c = sited[3]
    assert isinstance(c.summary, pd.DataFrame) and c.summary.index.name == "rule_id"
    assert str(c).startswith("Comparison(1 rules)")
