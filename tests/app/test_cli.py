"""The command line: flags shell users expect, errors naming the flag, exit codes, outputs that never destroy."""

import os
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from osmfactory import X0, Y0
from tinycity import write_city, write_rules

from urbancover.app.cli import _parser, main
from urbancover.plan.rules import load_rules

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
SHENZHEN = SAMPLE / "shenzhen_longgang.osm.bz2"
PRESET = Path(__file__).resolve().parents[2] / "src" / "urbancover" / "plan" / "presets" / "zhengzhou-2018.toml"


@pytest.fixture
def city(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    return write_city(inp / "city.osm"), write_rules(inp / "rules.toml")


def served(gpkg):
    values = pyogrio.read_dataframe(gpkg, layer="summary_values")  # the kind-specific values, one row each
    return values.set_index(["rule", "name"]).loc[("bus_stop_500", "residents_served"), "value"]


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("urbancover: error: ")
    return err


def test_version_and_maps_alone_means_png(capsys):
    from urbancover import __version__

    with pytest.raises(SystemExit) as ex:
        main(["--version"])
    assert ex.value.code == 0 and capsys.readouterr().out.strip() == f"urbancover {__version__}"
    assert _parser().parse_args(["analyze", "x.osm", "--maps"]).maps == "png"
    assert _parser().parse_args(["analyze", "x.osm", "--maps", "pdf"]).maps == "pdf"
    assert _parser().parse_args(["batch", "x.osm", "--out", "o", "--maps"]).maps == "png"


def test_out_is_checked_before_the_work(city, tmp_path, monkeypatch, capsys):
    import urbancover.evaluation.analysis

    def never(*a, **k):
        raise AssertionError("evaluated before --out was checked")

    monkeypatch.setattr(urbancover.evaluation.analysis, "evaluate", never)
    extract, rules = city
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    for cmd in (["analyze", extract, "--rules", rules], ["zones", extract, "--rules", rules],
                ["batch", extract, "--rules", rules]):
        assert main([*map(str, cmd), "--out", str(blocker / "sub")]) == 2
        assert "--out" in one_error_line(capsys)
    assert main(["analyze", str(extract), "--rules", str(rules), "--only", "nope", "--out", str(tmp_path)]) == 2
    assert "--only nope" in one_error_line(capsys)
    assert main(["analyze", str(extract), "--rules", str(rules), "--facilities", "nope=x.csv", "--out", str(tmp_path)]) == 2
    assert "--facilities nope" in one_error_line(capsys)


def test_analyze_never_replaces_an_input_or_a_foreign_file(city, tmp_path, capsys):
    import geopandas as gpd
    import shapely

    extract, rules = city
    out = tmp_path / "out"
    out.mkdir()
    area = out / "city.gpkg"  # the user's area layer has the name the results would get
    gpd.GeoDataFrame(geometry=[shapely.box(X0 - 50, Y0 - 50, X0 + 1050, Y0 + 150)], crs=32650).to_file(area)
    kept = area.read_bytes()
    base = ["analyze", str(extract), "--rules", str(rules), "--out", str(out), "-q"]
    for extra in ([], ["--overwrite"]):  # never, even with --overwrite
        assert main([*base, "--area", str(area), *extra]) == 2
        assert "would replace the input" in one_error_line(capsys)
    assert area.read_bytes() == kept
    area.rename(tmp_path / "area.gpkg")
    (out / "city.gpkg").write_text("a file urbancover did not write")
    assert main(base) == 2
    assert "--overwrite" in one_error_line(capsys)
    assert (out / "city.gpkg").read_text() == "a file urbancover did not write"
    assert main([*base, "--overwrite"]) == 0
    assert served(out / "city.gpkg") == pytest.approx(0.5, abs=1e-3)
    assert main(base) == 0  # its own product, unchanged since: replaced without --overwrite
    assert not [p.name for p in out.iterdir() if ".part-" in p.name]


def test_point_csv_with_lon_lat_or_named_columns(city, tmp_path, capsys):
    import pyproj

    extract, rules = city
    # one stop at x = 500 m on the street instead of OSM's at x = 0: both homes are served (tinycity)
    lon, lat = pyproj.Transformer.from_crs(32650, 4326, always_xy=True).transform(X0 + 500, Y0 + 0.5)
    pd.DataFrame({"name": ["stop"], "Lng": [lon], "lat": [lat]}).to_csv(tmp_path / "stops.csv", index=False)
    pd.DataFrame({"east": [X0 + 500], "north": [Y0 + 0.5]}).to_csv(tmp_path / "utm.csv", index=False)
    base = ["analyze", str(extract), "--rules", str(rules), "-q"]
    assert main([*base, "--out", str(tmp_path / "a"), "--facilities", f"bus_stop_500={tmp_path / 'stops.csv'}",
                 "--crs", "EPSG:4326"]) == 0
    assert served(tmp_path / "a" / "city.gpkg") == pytest.approx(1.0)
    assert main([*base, "--out", str(tmp_path / "b"), "--facilities", f"bus_stop_500={tmp_path / 'utm.csv'}",
                 "--crs", "EPSG:32650", "--x-column", "east", "--y-column", "north"]) == 0
    assert served(tmp_path / "b" / "city.gpkg") == pytest.approx(1.0)
    assert main([*base, "--out", str(tmp_path / "c"), "--facilities", f"bus_stop_500={tmp_path / 'stops.csv'}"]) == 2
    err = one_error_line(capsys)
    assert "--crs" in err and "crs=" not in err
    assert main([*base, "--out", str(tmp_path / "c"), "--facilities", f"bus_stop_500={tmp_path / 'utm.csv'}",
                 "--crs", "EPSG:32650"]) == 2
    assert "--x-column" in one_error_line(capsys)


def test_no_crs_error_names_the_flag_and_bad_population_is_refused(city, tmp_path, capsys):
    import geopandas as gpd
    import pyproj
    import shapely

    extract, rules = city
    nocrs = tmp_path / "area.gpkg"
    with pytest.warns(UserWarning, match="crs"):  # pyogrio warns that the file will have no CRS: the point
        gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]).to_file(nocrs)
    assert main(["analyze", str(extract), "--rules", str(rules), "--out", str(tmp_path), "--area", str(nocrs)]) == 2
    err = one_error_line(capsys)
    assert "--area" in err and "--crs" in err and "crs=" not in err
    lon, lat = pyproj.Transformer.from_crs(32650, 4326, always_xy=True).transform([X0 + 100, X0 + 900], [Y0 + 30] * 2)
    pd.DataFrame({"lon": lon, "lat": lat, "population": [100, float("inf")]}).to_csv(tmp_path / "pop.csv", index=False)
    assert main(["analyze", str(extract), "--rules", str(rules), "--out", str(tmp_path), "--crs", "EPSG:4326",
                 "--population", str(tmp_path / "pop.csv")]) == 2
    err = one_error_line(capsys)
    assert "population" in err and "infinite" in err


def test_bad_input_is_exit_2_not_an_internal_error(city, tmp_path, capsys):
    extract, rules = city
    odd = "caf\udce9.osm"  # a file name that is not UTF-8, as a Linux shell passes it
    assert main(["analyze", odd, "--out", str(tmp_path)]) == 2
    assert "no such file" in one_error_line(capsys)
    assert main(["batch", str(extract), "--rules", str(rules), "--out", str(tmp_path / "o"), "--scheduler", "garbage"]) == 2
    assert "--scheduler" in one_error_line(capsys)
    assert main(["zones", str(extract), "--out", str(tmp_path), "--band", "2", "1"]) == 2
    assert "--band" in one_error_line(capsys)


def test_rules_check_reports_every_error_and_likely_typos(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[ruleset]\nid = "x"\n'
        '[[rule]]\nid = "a"\nkind = "radius"\nfacilities = [{ amenity = "toilets" }]\n'
        '[[rule]]\nid = "x/../../OUTSIDE"\nkind = "radius"\nthreshold_m = 300\nfacilities = [{ higway = "bus_stop" }]\n'
        '[[rule]]\nid = "b"\nkind = "radius"\nthreshold_m = -1\nfacilities = [{ amenity = "toilets" }]\n'
        '[[rule]]\nid = "b"\nkind = "radius"\nthreshold_m = 100\nfacilities = [{ amenity = "toilets" }]\n'
    )
    assert main(["rules", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "rule 'a'" in err and "threshold_m" in err  # first rule: no distance
    assert "'x/../../OUTSIDE'" in err and "identifier" in err  # ids name files: no traversal
    assert "rule 'b'" in err and "-1" in err and "defined twice" in err
    assert "'higway'" in err and "'highway'" in err and "warning" in err
    assert "4 errors" in err
    good = tmp_path / "good.toml"
    good.write_text('[ruleset]\nid = "g"\n[[rule]]\nid = "s"\nkind = "radius"\nthreshold_m = 300\n'
                    'facilities = [{ amenity = "toilets", acess = "yes" }]\n')
    assert main(["rules", "check", str(good)]) == 0
    captured = capsys.readouterr()
    assert "ok, 1 rules" in captured.out and "'acess'" in captured.err and "'access'" in captured.err


def test_rules_list_show_copy(tmp_path, capsys):
    assert main(["rules", "list"]) == 0
    assert "zhengzhou-2018" in capsys.readouterr().out
    assert main(["rules", "show", "zhengzhou-2018"]) == 0
    out = capsys.readouterr().out
    for rule in load_rules("zhengzhou-2018"):
        assert rule.id in out
    # the selectors, as the preset writes them
    assert "highway=bus_stop" in out and "amenity=marketplace" in out and "shop=convenience + opening_hours always open" in out
    dest = tmp_path / "mine.toml"
    assert main(["rules", "copy", "zhengzhou-2018", str(dest)]) == 0
    assert dest.read_bytes() == PRESET.read_bytes()
    assert main(["rules", "check", str(dest)]) == 0
    capsys.readouterr()
    assert main(["rules", "copy", "zhengzhou-2018", str(dest)]) == 2
    assert "--overwrite" in one_error_line(capsys)
    assert main(["rules", "copy", "zhengzhou-2018", str(dest), "--overwrite"]) == 0


def test_batch_reports_states_progress_and_writes_maps(city, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    extract, rules = city
    broken = extract.with_name("town.osm")
    broken.write_text("<osm")
    args = ["batch", str(extract), str(broken), "--rules", str(rules), "--out", str(tmp_path / "o"), "--workers", "1"]
    assert main([*args, "--report", "--maps"]) == 1
    captured = capsys.readouterr()
    assert "2 tasks: 1 done, 0 skipped (done before), 1 failed" in captured.out and "failed: town" in captured.out
    # off a terminal (pytest captures stderr): one line per step, with the task's name
    for step in ("city: started", "city.osm: step 1/4 reading extract", "city: wrote GeoPackage", "city: done in"):
        assert step in captured.err
    assert (tmp_path / "o" / "city" / "city.html").stat().st_size > 1000
    assert (tmp_path / "o" / "city" / "maps" / "bus_stop_500.png").stat().st_size > 10_000
    write_city(broken)
    assert main(args[:-2] + ["--workers", "1", "--report", "--maps"]) == 0
    assert "2 tasks: 1 done, 1 skipped (done before), 0 failed" in capsys.readouterr().out
    assert main(args) == 0  # without maps the done tasks do not match: redone, not skipped
    assert "2 done" in capsys.readouterr().out


# ------------------------------------------------------------------ on the bundled sample


def test_analyze_with_a_gcj02_facility_file(tmp_path, capsys):
    import geopandas as gpd

    import urbancover as uc

    osm = uc.read_osm(SHENZHEN)
    stops = osm.features[osm.features["highway"] == "bus_stop"][["name", "geometry"]].reset_index(drop=True)
    lon, lat = uc.wgs84_to_gcj02(stops.geometry.x.to_numpy(), stops.geometry.y.to_numpy())
    path = tmp_path / "stops.geojson"  # GeoJSON says WGS 84, but these are AutoNavi (GCJ-02) values
    gpd.GeoDataFrame({"name": stops["name"]}, geometry=gpd.points_from_xy(lon, lat), crs=4326).to_file(path)

    def share(out):
        return served(out / "shenzhen_longgang.gpkg")

    base = ["analyze", str(SHENZHEN), "--only", "bus_stop_500"]
    assert main([*base, "--out", str(tmp_path / "osm")]) == 0
    # declared as GCJ-02: converted back, the same coverage as OSM's own stops
    assert main([*base, "--out", str(tmp_path / "gcj"), "--facilities", f"bus_stop_500={path}", "--crs", "gcj02"]) == 0
    assert share(tmp_path / "gcj") == pytest.approx(share(tmp_path / "osm"), abs=1e-6)
    capsys.readouterr()
    # not declared: a note says the layer looks like GCJ-02 (in the CLI's words), and the coverage differs
    assert main([*base, "--out", str(tmp_path / "raw"), "--facilities", f"bus_stop_500={path}", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "probably GCJ-02" in out and "--crs gcj02" in out
    assert main([*base, "--out", str(tmp_path / "raw"), "--facilities", f"bus_stop_500={path}"]) == 0
    assert "很可能是 GCJ-02 坐标" in capsys.readouterr().out  # the table's language (zh by default)
    assert share(tmp_path / "raw") != pytest.approx(share(tmp_path / "osm"), abs=1e-3)
    assert main([*base, "--out", str(tmp_path / "bad"), "--facilities", "bus_stop_500"]) == 2  # no write into the repo
    assert "RULE=FILE" in capsys.readouterr().err


def test_zones_command_reports_its_failure_once(tmp_path, capsys):
    # the sample's old compounds do not fill any ~1 km² block union three at a time: diagnosis, exit 1
    assert main(["zones", str(SHENZHEN), "--out", str(tmp_path), "--lang", "en"]) == 1  # zones speaks --lang (default zh)
    captured = capsys.readouterr()
    assert "no zone" in captured.out and "old compounds" in captured.out
    assert "UserWarning" not in captured.err and "no demonstration zone" not in captured.err
    assert "band=" not in captured.out and "min_old_compounds=" not in captured.out
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
        assert png.stat().st_size > 50_000
    # one "wrote" line per folder, naming its files when they are few
    wrote = [line for line in out.splitlines() if line.startswith("已写出 ")]
    assert wrote == [f"已写出 {tmp_path}{os.sep} (2 个文件：shenzhen_longgang.gpkg, shenzhen_longgang.html)",
                     f"已写出 {tmp_path / 'maps'}{os.sep} (2 个文件：bus_stop_500.png, park_500.png)"]


def test_unexpected_errors_are_one_line_unless_debug(monkeypatch, capsys, tmp_path):
    import urbancover.evaluation.analysis

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(urbancover.evaluation.analysis, "evaluate", broken)
    assert main(["analyze", str(SHENZHEN), "--out", str(tmp_path)]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("urbancover: internal error: ZeroDivisionError: boom") and len(err.splitlines()) == 1
    with pytest.raises(ZeroDivisionError):
        main(["--debug", "analyze", str(SHENZHEN), "--out", str(tmp_path)])


def test_progress_lines_show_steps_inside_a_rule(city, capsys):
    """Off a terminal, evaluate(progress=True) writes a line per step and per step inside a rule
    (facilities, places, streets), so a long rule on a city is never silent."""
    import warnings

    import urbancover as uc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        uc.evaluate(city[0], only=["living_10min", "toilet_main_300"], progress=True)
    err = capsys.readouterr().err.splitlines()
    assert any(line.endswith("step 3/5 homes, residents and compounds") for line in err)
    inside = [line.split(" living_10min: ", 1)[1] for line in err if " living_10min: " in line]
    cats = [c.name for c in next(r for r in load_rules("zhengzhou-2018") if r.id == "living_10min").categories]
    assert [f"distances from the {c} facilities" for c in cats] == inside[:len(cats)]
    assert any("network and straight-line distances" in m for m in inside)
    assert any(line.endswith("toilet_main_300: streets: coverage along the network") for line in err)


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "shp", "parquet"])
def test_a_rule_id_that_is_a_path_writes_and_removes_nothing_outside_out(city, tmp_path, monkeypatch, capsys, fmt):
    import urbancover.evaluation.analysis

    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    extract, _ = city
    good = write_rules(tmp_path / "in" / "evil.toml")
    good.write_text(good.read_text().replace('"bus_stop_500"', '"evil"'))
    # the files a rule "evil" writes: the names a rule "../../evil" would reach in the parent of --out
    assert main(["analyze", str(extract), "--rules", str(good), "--out", str(tmp_path / "ok"), "--format", fmt, "-q"]) == 0
    made = [p.name for p in (tmp_path / "ok").rglob("*") if p.is_file() and p.name.startswith("evil")]
    assert made or fmt == "gpkg"  # a GeoPackage holds its layers inside
    parent = tmp_path / "user"
    out = parent / "deep" / "out"
    out.mkdir(parents=True)
    for name in made + ["evil__unserved_residents.gpkg"]:
        (parent / name).write_text("the user's own file")
        (parent / "deep" / name).write_text("the user's own file")
    def outside():
        return {p: p.read_bytes() for p in parent.rglob("*") if p.is_file() and out not in p.parents}

    before = outside()
    bad = tmp_path / "in" / "bad.toml"
    bad.write_text(good.read_text().replace('"evil"', '"../../evil"'))
    reads, read_osm = [], urbancover.evaluation.analysis.read_osm

    def recorded(*a, **k):  # any work is recorded (and done, so old code shows what it destroys)
        reads.append(a)
        return read_osm(*a, **k)

    monkeypatch.setattr(urbancover.evaluation.analysis, "read_osm", recorded)
    code = main(["analyze", str(extract), "--rules", str(bad), "--out", str(out), "--format", fmt, "-q"])
    assert outside() == before  # nothing outside --out written or removed
    assert code == 2
    err = one_error_line(capsys)
    assert "'../../evil'" in err and "identifier" in err
    assert reads == []  # refused before the extract was read
    assert list(out.iterdir()) == []


# ----------------------------------------------- a full disk: exit 2 naming the path, every format


@pytest.mark.parametrize("fmt, step, named", [
    ("gpkg", ("enospc", 2), "city.gpkg"),
    ("parquet", ("enospc", 2), "city_parquet"),
    ("geojson", ("enospc", 2), "city_geojson"),
    ("shp", ("enospc", 2), "city_shp"),
    ("html", ("enospc-html", 1), "city.html"),
])
def test_a_full_disk_is_exit_2_naming_the_path_in_every_format(city, tmp_path, fmt, step, named, monkeypatch, capsys):
    """A write failing with ENOSPC (a full disk: the OSError of write() names no file) is the
    environment's doing: exit 2, one line naming the output and the cause, nothing half-written
    left (no .part file, no partial output), and the output folder's lock released (checked from
    the same process: a lock still held by the run would refuse it; a child's exit would free it)."""
    from faults import full_disk

    from urbancover.core.files import FolderLock

    extract, rules = city
    out = tmp_path / "out"
    args = ["analyze", str(extract), "--rules", str(rules), "--out", str(out), "-q"]
    args += ["--report"] if fmt == "html" else ["--format", fmt]
    full_disk(monkeypatch, step)
    code = main(args)
    monkeypatch.undo()
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("urbancover: error: "), err
    assert "No space left on device" in err and "free space" in err
    assert str(out / named) in err  # the path the user asked for, not a temporary name
    left = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.name != ".urbancover.lock")
    assert not [p for p in left if ".part" in p], left
    if fmt != "html":  # the layers failed: nothing of them is in place
        assert not [p for p in left if p.startswith(("city.gpkg", f"city_{fmt}"))], left
    with FolderLock(out):  # released
        pass


@pytest.mark.parametrize("fmt", ["gpkg", "geojson"])
@pytest.mark.parametrize("step, code", [(("sigterm", 2), 143), (("sigint", 2), 130)])
def test_an_interrupted_export_leaves_no_part_file(city, tmp_path, fmt, step, code):
    from faults import run_cli

    extract, rules = city
    out = tmp_path / "out"
    res = run_cli(["analyze", extract, "--rules", rules, "--out", out, "--format", fmt, "-q"], kill=step)
    assert res.returncode == code, res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert res.stderr.startswith("urbancover: interrupted (SIG")
    assert [p.name for p in out.rglob("*") if p.name != ".urbancover.lock"] == []  # nothing, not even a part


def test_a_later_run_removes_the_stale_part_files_it_owns(city, tmp_path):
    """A run killed mid-export (SIGKILL: no clean-up) leaves a .part file; the next run on the same
    --out removes it (its process is gone), and only it: a live process's part and the user's files stay."""
    import os

    from faults import run_cli

    extract, rules = city
    out = tmp_path / "out"
    args = ["analyze", extract, "--rules", rules, "--out", out, "-q"]
    assert run_cli(args, kill=("layer", 2)).returncode == -9
    stale = [p.name for p in out.iterdir() if ".part-" in p.name]
    assert stale and stale[0].startswith(".city.part-")
    (out / "city_geojson").mkdir()
    (out / "city_geojson" / ".x.part-999999999-abcdef.geojson").write_text("stale")  # no such process
    # a live process other than the runs below (they run in this process, which counts itself alive)
    live = out / f".other.part-{os.getppid()}-abcdef.gpkg"
    live.write_text("being written")
    mine = out / ".notes.part.txt"
    mine.write_text("the user's")
    assert main([*map(str, args)]) == 0  # the runs after the killed one: in this process
    assert main([*map(str, args), "--format", "geojson"]) == 0
    left = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if ".part" in p.name)
    assert left == [".notes.part.txt", live.name]


def test_one_writer_every_output_has_the_same_layers(city, tmp_path):
    """Report.to_gpkg, Report.export, urbancover.report.export_gpkg, the command line and a batch
    write the same layers (the street distances included), and a folder format one file per layer."""
    import warnings

    import urbancover as uc
    from urbancover import report as ucr
    from urbancover.app.batch import make_tasks, run_batch

    extract, rules = city
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = uc.evaluate(extract, str(rules))
    paths = [report.to_gpkg(tmp_path / "a.gpkg"), report.export(tmp_path / "b.gpkg")[0],
             ucr.export_gpkg(report, tmp_path / "c.gpkg")]
    assert main(["analyze", str(extract), "--rules", str(rules), "--out", str(tmp_path / "cli"), "-q"]) == 0
    run_batch(make_tasks([extract], rules=rules), tmp_path / "batch", workers=1)
    paths += [tmp_path / "cli" / "city.gpkg", tmp_path / "batch" / "city" / "city.gpkg"]
    layer_sets = [sorted(pyogrio.list_layers(p)[:, 0]) for p in paths]
    assert all(s == layer_sets[0] for s in layer_sets), layer_sets
    assert {"bus_stop_500__street_distance", "bus_stop_500__residents_unserved", "compounds", "summary"} <= set(layer_sets[0])
    files = report.export(tmp_path / "json", format="geojson")
    stems = sorted(p.name.removesuffix(".geojson").removesuffix(".csv") for p in files if p.name != "run.json")
    # the GeoPackage's own tables: the run record (run.json beside a folder's files) and QGIS's styles
    assert stems == sorted(set(layer_sets[0]) - {"run", "layer_styles"})
    assert tmp_path / "json" / "run.json" in files


def test_compile_readies_every_kernel_and_says_where(capsys, monkeypatch):
    """`urbancover compile` (a container's build step) loads every kernel a run uses
    (network/kernels.load_kernels, whose coverage tests/core/test_compiled.py checks) and says how
    long and where numba keeps them; --quiet says nothing."""
    from urbancover.network import kernels

    calls = []
    monkeypatch.setattr(kernels, "load_kernels", lambda: calls.append(1) or 2.5)
    assert main(["compile"]) == 0
    out = capsys.readouterr().out
    assert calls == [1] and "ready in 2.5 s" in out and "numba's cache" in out
    assert main(["compile", "--quiet"]) == 0
    assert capsys.readouterr().out == "" and calls == [1, 1]
