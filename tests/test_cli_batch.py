"""The command line (rules, batch) and batch runs: resumable, parallel, on a Dask cluster."""

import os
from pathlib import Path

import pandas as pd
import pytest

from urbancover.batch import make_tasks, run_batch
from urbancover.cli import main
from urbancover.rules import load_rules

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
SHENZHEN = SAMPLE / "shenzhen_longgang.osm.bz2"
SHANGHAI = SAMPLE / "shanghai_jingan_drive.osm.bz2"


def test_rules_list_show_check(tmp_path, capsys):
    assert main(["rules", "list"]) == 0
    assert "zhengzhou-2018" in capsys.readouterr().out
    assert main(["rules", "show", "zhengzhou-2018"]) == 0
    out = capsys.readouterr().out
    for rule in load_rules("zhengzhou-2018"):
        assert rule.id in out
    bad = tmp_path / "bad.toml"
    bad.write_text('[ruleset]\nid = "x"\n[[rule]]\nid = "a"\nkind = "radius"\nfacilities = [{ amenity = "toilets" }]\n')
    assert main(["rules", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "'a'" in err and "threshold_m" in err


def test_batch_collects_resumes_and_reports_failures(tmp_path, capsys):
    broken = tmp_path / "broken.osm.bz2"
    broken.write_bytes(SHENZHEN.read_bytes()[:5000])  # truncated
    out = tmp_path / "out"
    code = main(["batch", str(SHENZHEN), str(SHANGHAI), str(broken), "--out", str(out), "--workers", "2", "-q"])
    assert code == 1  # one task failed
    summary = pd.read_csv(out / "summary.csv", keep_default_na=False, na_values=[""])
    assert set(summary["task"]) == {"shenzhen_longgang", "shanghai_jingan_drive", "broken"}
    errors = summary.groupby("task")["error"].first().fillna("")
    assert errors["broken"].startswith("OSMReadError") and "broken.osm.bz2" in errors["broken"]
    assert errors["shenzhen_longgang"] == "" and errors["shanghai_jingan_drive"] == ""
    n_rules = len(load_rules("zhengzhou-2018"))
    assert (summary["task"] == "shenzhen_longgang").sum() == n_rules
    assert (out / "shenzhen_longgang" / "shenzhen_longgang.gpkg").exists()
    # a second run skips finished tasks: their files are not rewritten
    done = out / "shenzhen_longgang" / "summary.csv"
    before = done.stat().st_mtime_ns
    tasks = make_tasks([SHENZHEN, SHANGHAI])
    again = run_batch(tasks, out)
    assert done.stat().st_mtime_ns == before
    assert set(again["task"]) == {"shenzhen_longgang", "shanghai_jingan_drive"}


def test_batch_districts_of_one_extract(tmp_path):
    import geopandas as gpd
    import shapely

    # split the Shenzhen extract's bounds (as the analysis projects them, EPSG:32650) into a west
    # and an east district along a north-south line, so the two exactly make the whole
    whole = gpd.GeoSeries([shapely.box(114.1862, 22.6732, 114.2318, 22.7019)], crs=4326).to_crs(32650).iloc[0]
    cx = whole.centroid.x
    west = whole.intersection(shapely.box(cx - 1e5, 0, cx, 1e7))
    east = whole.intersection(shapely.box(cx, 0, cx + 1e5, 1e7))
    districts = gpd.GeoDataFrame({"name": ["west", "east"]}, geometry=[west, east], crs=32650)
    tasks = make_tasks([SHENZHEN], districts=districts)
    assert [t.name for t in tasks] == ["shenzhen_longgang__west", "shenzhen_longgang__east"]
    summary = run_batch(tasks, tmp_path, workers=1)
    km = summary[summary["id"] == "bus_stop_500"].set_index("task")["street_km"]
    whole = run_batch(make_tasks([SHENZHEN]), tmp_path / "whole", workers=1)
    total = whole[whole["id"] == "bus_stop_500"]["street_km"].iloc[0]
    # the two districts split the streets of the whole extract between them
    assert km.sum() == pytest.approx(total, rel=1e-6)


def test_batch_on_a_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            summary = run_batch(make_tasks([SHENZHEN, SHANGHAI]), tmp_path, scheduler=client)
    assert set(summary["task"]) == {"shenzhen_longgang", "shanghai_jingan_drive"}
    assert summary["error"].fillna("").eq("").all()
    assert os.path.exists(tmp_path / "shanghai_jingan_drive" / "shanghai_jingan_drive.gpkg")


def test_analyze_with_a_gcj02_facility_file(tmp_path, capsys):
    import geopandas as gpd
    import pyogrio

    import urbancover as uc

    osm = uc.read_osm(SHENZHEN)
    stops = osm.features[osm.features["highway"] == "bus_stop"][["name", "geometry"]].reset_index(drop=True)
    lon, lat = uc.wgs84_to_gcj02(stops.geometry.x.to_numpy(), stops.geometry.y.to_numpy())
    path = tmp_path / "stops.geojson"  # GeoJSON says WGS 84, but these are AutoNavi (GCJ-02) values
    gpd.GeoDataFrame({"name": stops["name"]}, geometry=gpd.points_from_xy(lon, lat), crs=4326).to_file(path)

    def served(out):
        table = pyogrio.read_dataframe(out / "shenzhen_longgang.gpkg", layer="summary")
        return table.set_index("id").loc["bus_stop_500", "residents_served"]

    base = ["analyze", str(SHENZHEN), "--only", "bus_stop_500"]
    assert main([*base, "--out", str(tmp_path / "osm")]) == 0
    # declared as GCJ-02: converted back, the same coverage as OSM's own stops
    assert main([*base, "--out", str(tmp_path / "gcj"), "--facilities", f"bus_stop_500={path}", "--crs", "gcj02"]) == 0
    assert served(tmp_path / "gcj") == pytest.approx(served(tmp_path / "osm"), abs=1e-6)
    capsys.readouterr()
    # not declared: a note says the layer looks like GCJ-02, and the coverage differs
    assert main([*base, "--out", str(tmp_path / "raw"), "--facilities", f"bus_stop_500={path}"]) == 0
    assert "probably GCJ-02" in capsys.readouterr().out
    assert served(tmp_path / "raw") != pytest.approx(served(tmp_path / "osm"), abs=1e-3)
    assert main([*base, "--facilities", "bus_stop_500"]) == 2
    assert "RULE=FILE" in capsys.readouterr().err


def test_zones_command(tmp_path, capsys):
    import pyogrio

    # the sample's old compounds do not fill any ~1 km² block union three at a time: diagnosis, exit 1
    assert main(["zones", str(SHENZHEN), "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "no zone" in out and "old compounds" in out
    assert main(["zones", str(SHENZHEN), "--out", str(tmp_path), "--min-old", "2", "--top", "2"]) == 0
    zones = pyogrio.read_dataframe(tmp_path / "shenzhen_longgang_zones.gpkg", layer="zones")
    assert 1 <= len(zones) <= 2
    assert (zones["old_compounds"] >= 2).all()
    assert ((zones.area >= 0.8e6) & (zones.area <= 1.2e6)).all()


def test_analyze_writes_report_and_maps(tmp_path, capsys):
    args = ["analyze", str(SHENZHEN), "--only", "bus_stop_500", "park_500", "--out", str(tmp_path), "--report", "--maps", "png"]
    assert main(args) == 0
    out = capsys.readouterr().out
    html = (tmp_path / "shenzhen_longgang.html").read_text(encoding="utf-8")
    assert "bus_stop_500" in html and "park_500" in html and "公交站点500米覆盖" in html
    for rid in ("bus_stop_500", "park_500"):
        png = tmp_path / "maps" / f"{rid}.png"
        assert png.stat().st_size > 50_000 and str(png) in out


def test_unexpected_errors_are_one_line_unless_debug(monkeypatch, capsys):
    import urbancover.analysis

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(urbancover.analysis, "evaluate", broken)
    assert main(["analyze", str(SHENZHEN)]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("urbancover: internal error: ZeroDivisionError: boom") and len(err.splitlines()) == 1
    with pytest.raises(ZeroDivisionError):
        main(["--debug", "analyze", str(SHENZHEN)])
