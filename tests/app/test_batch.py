"""Batch runs that cannot lose work: lock, atomic task folders, done-markers, safe unique names.

Most tests use the tiny city of ``tinycity.py`` (half its residents served, worked out by hand
there), so results can be checked without the code under test, and a batch runs in a second.
"""

import json
import os
import time
import warnings
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from faults import full_disk, run_cli, start_cli
from tinycity import write_city, write_rules

from urbancover.app.batch import make_tasks, run_batch, task_state
from urbancover.app.cli import main
from urbancover.core.files import FolderLock, OutputError, inside, safe_name
from urbancover.plan.rules import load_rules

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
SHENZHEN = SAMPLE / "shenzhen_longgang.osm.bz2"
SHANGHAI = SAMPLE / "shanghai_jingan_drive.osm.bz2"


@pytest.fixture
def city(tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    return write_city(inp / "city.osm"), write_rules(inp / "rules.toml")


def cli(args) -> int:
    """``urbancover ARGS`` in this process (no second interpreter to start): for the runs that follow
    a killed or failed one, whose result is what is checked; the runs that are killed stay in a child."""
    return main([str(a) for a in args])


def served(summary, task):
    return summary.set_index("task").loc[task, "residents_served"]


def gpkg_tables(path):
    """Every layer of a GeoPackage, as (name, rows) and the summary table: to compare two runs."""
    names = sorted(pyogrio.list_layers(path)[:, 0])
    return names, pyogrio.read_dataframe(path, layer="summary", read_geometry=False)


def test_batch_result_is_the_hand_worked_one_and_summary_has_a_bom(city, tmp_path):
    extract, rules = city
    out = tmp_path / "out"
    summary = run_batch(make_tasks([extract], rules=rules), out, workers=1)
    assert served(summary, "city") == pytest.approx(0.5, abs=1e-3)  # home A served, home B not
    assert summary.attrs["states"] == {"city": "done"}
    raw = (out / "summary.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel on Chinese Windows reads UTF-8 only with the BOM
    assert pd.read_csv(out / "summary.csv", encoding="utf-8-sig")["task"].tolist() == ["city"]
    before = (out / "city" / "city.gpkg").stat().st_mtime_ns
    again = run_batch(make_tasks([extract], rules=rules), out, workers=1)
    assert again.attrs["states"] == {"city": "skipped"}
    assert (out / "city" / "city.gpkg").stat().st_mtime_ns == before
    assert not [p for p in out.iterdir() if p.name.startswith((".work-", ".old-"))]


def test_resume_trusts_only_complete_matching_markers(city, tmp_path):
    extract, rules = city
    out = tmp_path / "out"
    tasks = make_tasks([extract], rules=rules)

    def state():
        return run_batch(tasks, out, workers=1).attrs["states"]["city"]

    assert state() == "done"
    assert state() == "skipped"
    write_rules(rules, target=0.9)  # another rule set: redo
    assert state() == "done"
    os.utime(extract, ns=(time.time_ns(), time.time_ns() + 10**9))  # touched, same content: the hash says skip
    assert state() == "skipped"
    write_city(extract, stop_x=500)  # new content: redo, and the new answer (everyone served)
    summary = run_batch(tasks, out, workers=1)
    assert summary.attrs["states"]["city"] == "done" and served(summary, "city") == pytest.approx(1.0)
    marker = out / "city" / ".done.json"
    marker.write_text(marker.read_text()[:40])  # a half-written marker is not trusted
    assert state() == "done"
    with open(out / "city" / "city.gpkg", "r+b") as f:  # a GeoPackage cut short is not trusted
        f.truncate(4096)
    assert state() == "done"
    assert json.loads(marker.read_text())["extract"]["size"] == extract.stat().st_size


def test_failed_tasks_are_retried_on_a_plain_rerun(city, tmp_path):
    extract, rules = city
    broken = extract.with_name("town.osm")
    broken.write_text(extract.read_text()[:300])  # cut in the middle of the XML
    out = tmp_path / "out"
    tasks = make_tasks([extract, broken], rules=rules)
    first = run_batch(tasks, out, workers=1)
    assert first.attrs["states"] == {"city": "done", "town": "failed"}
    assert first.set_index("task").loc["town", "error"].startswith("OSMReadError")
    write_city(broken)  # the user fixes the input
    second = run_batch(tasks, out, workers=1)
    assert second.attrs["states"] == {"city": "skipped", "town": "done"}
    assert served(second, "town") == pytest.approx(0.5, abs=1e-3)


def test_task_names_are_safe_unique_and_inside_out(city, tmp_path):
    extract, rules = city
    work = tmp_path / "work"
    work.mkdir()
    names = ["a b.osm", "a_b.osm", "A_B.osm", "...osm", "..osm", "a;b.osm", "summary.csv.osm", "x..y.osm"]
    extracts = [write_city(work / n) for n in names]
    out = work / "out"
    out.mkdir()
    (work / "summary.csv").write_text("the user's own file")
    (out / "a").write_text("unrelated")  # GDAL cut 'a;b' at ';' and overwrote this
    tasks = make_tasks(extracts, rules=rules)
    got = [t.name for t in tasks]
    assert len({n.lower() for n in got}) == len(got)
    for t in tasks:
        assert t.name == safe_name(t.name) and inside(out, t.name).parent == out.resolve()
        assert (t.note != "") == (t.name != t.label)
    assert got[:3] == ["a_b", "a_b-2", "A_B-3"] and "another task" in tasks[1].note
    summary = run_batch(tasks, out, workers=1)
    assert summary["task"].tolist() == got  # each task once, none twice
    assert summary["residents_served"].to_numpy() == pytest.approx(0.5, abs=1e-3)
    assert (work / "summary.csv").read_text() == "the user's own file"
    assert (out / "a").read_text() == "unrelated"
    assert sorted(p.name for p in work.iterdir()) == sorted([*names, "out", "summary.csv"])
    for n in got:
        assert (out / n / f"{n}.gpkg").is_file()


def test_district_names_made_unique_and_reported(city):
    import geopandas as gpd
    import shapely

    extract, rules = city
    districts = gpd.GeoDataFrame({"name": ["x", "x", None, "../up"]}, geometry=[shapely.box(0, 0, 1, 1)] * 4, crs=4326)
    tasks = make_tasks([extract], rules=rules, districts=districts)
    assert [t.name for t in tasks] == ["city__x", "city__x-2", "city__district3", "city__up"]
    assert tasks[0].note == "" and "another task" in tasks[1].note and "no name" in tasks[2].note
    assert "unsafe" in tasks[3].note


def test_foreign_folders_and_inputs_are_refused_before_any_work(city, tmp_path):
    extract, rules = city
    out = tmp_path / "out"
    (out / "city").mkdir(parents=True)
    (out / "city" / "notes.txt").write_text("mine")
    tasks = make_tasks([extract], rules=rules)
    with pytest.raises(OutputError, match="not written by this urbancover batch"):
        run_batch(tasks, out, workers=1)
    assert (out / "city" / "notes.txt").read_text() == "mine" and not list(out.glob(".work-*"))
    assert run_batch(tasks, out, workers=1, overwrite=True).attrs["states"] == {"city": "done"}
    # an extract inside the task folder it would replace: refused even with overwrite
    inner = write_city(out / "city" / "city.osm")
    with pytest.raises(OutputError, match="lies in the task folder"):
        run_batch(make_tasks([inner], rules=rules), out, workers=1, overwrite=True)
    assert inner.is_file()


def test_a_second_run_on_the_same_out_is_refused_naming_the_holder(city, tmp_path):
    extract, rules = city
    out = tmp_path / "out"
    with FolderLock(out):
        res = run_cli(["batch", extract, "--rules", rules, "--out", out, "--workers", "1"])
    assert res.returncode == 2
    err = res.stderr.strip()
    assert len(err.splitlines()) == 1 and "in use by process" in err and str(os.getpid()) in err
    assert not (out / "city").exists()


def test_two_processes_racing_on_one_out_lose_nothing(city, tmp_path):
    extract, rules = city
    town = write_city(extract.with_name("town.osm"), stop_x=500)
    out = tmp_path / "out"
    args = ["batch", extract, town, "--rules", rules, "--out", out, "--workers", "1", "--wait", "300"]
    procs = [start_cli(args) for _ in range(2)]
    results = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    reports = sorted(r[0] for r in results)
    assert "2 done, 0 skipped" in reports[0] + reports[1] and "0 done, 2 skipped" in reports[0] + reports[1]
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    assert summary.set_index("task")["residents_served"].to_dict() == pytest.approx({"city": 0.5, "town": 1.0}, abs=1e-3)
    clean = run_batch(make_tasks([extract, town], rules=rules), tmp_path / "clean", workers=1)
    for t in ("city", "town"):
        names, table = gpkg_tables(out / t / f"{t}.gpkg")
        ref_names, ref = gpkg_tables(tmp_path / "clean" / t / f"{t}.gpkg")
        assert names == ref_names
        pd.testing.assert_frame_equal(table, ref)
    assert clean.attrs["states"] == {"city": "done", "town": "done"}


@pytest.fixture(scope="module")
def one(tmp_path_factory):
    """The tiny city and its clean batch run, computed once for the kill tests below (each compares
    its resumed run with it; none writes into it)."""
    base = tmp_path_factory.mktemp("one")
    inp = base / "in"
    inp.mkdir()
    extract, rules = write_city(inp / "city.osm"), write_rules(inp / "rules.toml")
    clean = base / "clean"
    assert run_batch(make_tasks([extract], rules=rules), clean, workers=1).attrs["states"] == {"city": "done"}
    return extract, rules, clean


@pytest.mark.parametrize("kill", [("layer", 1), ("layer", 2), ("rename", 1)])
def test_killed_run_then_resume_gives_the_clean_result(one, tmp_path, kill):
    extract, rules, clean = one
    base = ["batch", extract, "--rules", rules, "--workers", "1"]
    out = tmp_path / "out"
    killed = run_cli([*base, "--out", out], kill=kill)
    assert killed.returncode == -9  # SIGKILL: no clean-up ran
    assert not (out / "city").exists()  # nothing half-written in place
    tasks = make_tasks([extract], rules=rules)
    assert task_state(tasks[0], out, _hash(rules)) == "missing"
    assert cli([*base, "--out", out]) == 0
    _same_results(clean, out)


def test_killed_no_resume_rerun_keeps_the_previous_complete_result(one, tmp_path, capsys):
    import shutil

    extract, rules, clean = one
    base = ["batch", extract, "--rules", rules, "--workers", "1", "--out", tmp_path / "out"]
    shutil.copytree(clean, tmp_path / "out")  # after a good run
    layers_before = gpkg_tables(tmp_path / "out" / "city" / "city.gpkg")[0]
    assert run_cli([*base, "--no-resume"], kill=("layer", 2)).returncode == -9
    assert gpkg_tables(tmp_path / "out" / "city" / "city.gpkg")[0] == layers_before
    assert cli(base) == 0
    assert "0 done, 1 skipped" in capsys.readouterr().out  # the old result is complete and trusted
    _same_results(clean, tmp_path / "out")


def _hash(rules):
    from urbancover.app.batch import rules_hash

    return rules_hash(rules)


def _same_results(a: Path, b: Path) -> None:
    pd.testing.assert_frame_equal(pd.read_csv(a / "summary.csv", encoding="utf-8-sig"),
                                  pd.read_csv(b / "summary.csv", encoding="utf-8-sig"))
    for gpkg in sorted(a.glob("*/*.gpkg")):
        names, table = gpkg_tables(gpkg)
        other_names, other = gpkg_tables(b / gpkg.relative_to(a))
        assert names == other_names
        pd.testing.assert_frame_equal(table, other)
        for layer in names:
            assert len(pyogrio.read_dataframe(gpkg, layer=layer)) == len(pyogrio.read_dataframe(b / gpkg.relative_to(a), layer=layer))


# ------------------------------------------------------------------ on the bundled samples


def test_batch_collects_resumes_and_reports_failures(tmp_path, capsys):
    """Two workers collect every rule's row of every task and the failure of a cut extract; a rerun
    skips the finished tasks. On tiny cities (the samples add nothing here: the batch is the same
    for any extract) with two rules, so a task's rows beyond its first would be seen missing."""
    import bz2

    from tinycity import RULES

    from urbancover.app.cli import main

    inp = tmp_path / "in"
    inp.mkdir()
    city, town = write_city(inp / "city.osm"), write_city(inp / "town.osm", stop_x=500)
    rules = inp / "rules.toml"
    second = RULES[RULES.index("[[rule]]"):].replace("500", "300")  # the same rule at 300 m
    rules.write_text(RULES + second, encoding="utf-8")
    assert [r.id for r in load_rules(rules)] == ["bus_stop_500", "bus_stop_300"]
    broken = inp / "broken.osm.bz2"
    broken.write_bytes(bz2.compress(city.read_bytes())[:-200])  # truncated
    out = tmp_path / "out"
    code = main(["batch", str(city), str(town), str(broken), "--rules", str(rules), "--out", str(out), "--workers", "2", "-q"])
    assert code == 1  # one task failed
    summary = pd.read_csv(out / "summary.csv", keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    assert set(summary["task"]) == {"city", "town", "broken"}
    errors = summary.groupby("task")["error"].first().fillna("")
    assert errors["broken"].startswith("OSMReadError") and "broken.osm.bz2" in errors["broken"]
    assert errors["city"] == "" and errors["town"] == ""
    assert (summary["task"] == "city").sum() == 2 and (summary["task"] == "town").sum() == 2
    rows = summary[summary["task"] != "broken"].set_index(["task", "id"])["residents_served"]
    # hand-worked (tinycity.py): 500 m serves home A (~130 m) only from x = 0 and both (~430 m) from x = 500;
    # 300 m serves home A only from x = 0 and neither from x = 500
    assert rows.to_dict() == pytest.approx({("city", "bus_stop_500"): 0.5, ("city", "bus_stop_300"): 0.5,
                                            ("town", "bus_stop_500"): 1.0, ("town", "bus_stop_300"): 0.0}, abs=1e-3)
    assert (out / "city" / "city.gpkg").exists()
    # a second run skips finished tasks: their files are not rewritten
    done = out / "city" / "summary.csv"
    before = done.stat().st_mtime_ns
    again = run_batch(make_tasks([city, town], rules=rules), out)
    assert done.stat().st_mtime_ns == before
    assert set(again["task"]) == {"city", "town"}
    assert again.attrs["states"] == {"city": "skipped", "town": "skipped"}


def test_batch_districts_of_one_extract(tmp_path):
    import geopandas as gpd
    import shapely

    # split the Shenzhen extract's analysed area (its header bounds, densified as the analysis
    # projects them, EPSG:32650) into a west and an east district along a north-south line, so the
    # two exactly make the whole
    from urbancover import read_osm

    whole = gpd.GeoSeries([read_osm(SHENZHEN).boundary], crs=4326).to_crs(32650).iloc[0]
    cx = whole.centroid.x
    west = whole.intersection(shapely.box(cx - 1e5, 0, cx, 1e7))
    east = whole.intersection(shapely.box(cx, 0, cx + 1e5, 1e7))
    districts = gpd.GeoDataFrame({"name": ["west", "east"]}, geometry=[west, east], crs=32650)
    # the preset's bus_stop_500 alone (the rule whose street_km is compared; the other rules add nothing here)
    from importlib import resources

    text = (resources.files("urbancover.plan.presets") / "zhengzhou-2018.toml").read_text(encoding="utf-8")
    blocks = text.split("[[rule]]")
    rules = tmp_path / "bus.toml"
    rules.write_text("[[rule]]".join([blocks[0], *[b for b in blocks[1:] if 'id = "bus_stop_500"' in b]]), encoding="utf-8")
    assert [r.id for r in load_rules(rules)] == ["bus_stop_500"]
    tasks = make_tasks([SHENZHEN], districts=districts, rules=str(rules))
    assert [t.name for t in tasks] == ["shenzhen_longgang__west", "shenzhen_longgang__east"]
    summary = run_batch(tasks, tmp_path / "districts", workers=1)
    km = summary[summary["id"] == "bus_stop_500"].set_index("task")["street_km"]
    # the whole box as a district of its own (without a district the analysed area is where the data
    # is, PLAN_RULES rev 3 section G: the streets' hull here, smaller than the box)
    box = gpd.GeoDataFrame({"name": ["whole"]}, geometry=[whole], crs=32650)
    whole = run_batch(make_tasks([SHENZHEN], rules=str(rules), districts=box), tmp_path / "whole", workers=1)
    total = whole[whole["id"] == "bus_stop_500"]["street_km"].iloc[0]
    # the two districts split the streets of the whole box between them
    assert km.sum() == pytest.approx(total, rel=1e-6)


def test_batch_on_a_dask_cluster(city, tmp_path):
    """The API path (scheduler=Client) on a Dask cluster in this process: worker threads, as a process
    cluster's would cost seconds to start (the CLI's --scheduler ADDRESS, over TCP: test_dask_workers_lost_...)."""
    distributed = pytest.importorskip("distributed")
    extract, rules = city
    town = write_city(extract.with_name("town.osm"), stop_x=500)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            summary = run_batch(make_tasks([extract, town], rules=rules), tmp_path / "out", scheduler=client)
    assert set(summary["task"]) == {"city", "town"}
    assert summary["error"].isna().all()
    assert summary.set_index("task")["residents_served"].to_dict() == pytest.approx({"city": 0.5, "town": 1.0}, abs=1e-3)
    assert os.path.exists(tmp_path / "out" / "town" / "town.gpkg")


def test_a_district_reads_only_its_margin_and_gets_the_whole_extracts_answer(tmp_path):
    """A district task reads the extract clipped to the district plus twice the largest threshold
    (a walk within the threshold never leaves the threshold's straight-line reach), and its distance
    rules say what the whole extract says for the same area."""
    import geopandas as gpd
    import shapely

    import urbancover as uc
    from urbancover.app.batch import district_source

    west = shapely.box(114.1862, 22.6732, 114.2090, 22.7019)
    districts = gpd.GeoDataFrame({"name": ["west"]}, geometry=[west], crs=4326)
    task = make_tasks([SHENZHEN], districts=districts, rules="zhengzhou-2018")[0]
    area, osm = district_source(task)
    whole = uc.read_osm(SHENZHEN)
    assert len(osm.ways) < len(whole.ways)  # the clip read less
    rules = ["bus_stop_500", "park_500", "toilet_main_300"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clipped = uc.evaluate(osm, only=rules, area=area).summary
        full = uc.evaluate(whole, only=rules, area=area).summary
    for col in ("residents_served", "buildings_served", "street_served"):
        pd.testing.assert_series_equal(clipped[col], full[col], check_exact=False, rtol=1e-9)


# ------------------------------------------- failed reruns, signals and lost workers (issue 20)

NAMES = {"city": 0.0, "town": 500.0, "village": 0.0}  # stop_x: half, all, half of the residents served


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    """Three tiny cities and their clean batch run, computed once for the tests below."""
    base = tmp_path_factory.mktemp("three")
    inp = base / "in"
    inp.mkdir()
    extracts = [write_city(inp / f"{n}.osm", stop_x=x) for n, x in NAMES.items()]
    rules = write_rules(inp / "rules.toml")
    clean = base / "clean"
    summary = run_batch(make_tasks(extracts, rules=rules), clean, workers=1)
    assert summary.attrs["states"] == dict.fromkeys(NAMES, "done")
    return extracts, rules, clean


def _temporary(out: Path) -> list[str]:
    return sorted(p.name for p in out.rglob("*") if p.name.startswith((".work-", ".old-", ".run-")) or ".part-" in p.name)


def test_a_failed_rerun_keeps_the_good_result_and_records_the_failure_beside_it(three, tmp_path, capsys, monkeypatch):
    import shutil

    extracts, rules, clean = three
    out = tmp_path / "out"
    shutil.copytree(clean, out)  # after a good run
    before = (out / "city" / "city.gpkg").read_bytes()
    base = ["batch", *extracts, "--rules", rules, "--workers", "1", "--out", out]
    full_disk(monkeypatch, ("enospc", 1))  # the disk is full at city's first layer (one worker: in this process)
    code = cli([*base, "--no-resume"])
    monkeypatch.undo()
    res = capsys.readouterr()
    assert code == 1, res.err  # a task failed; the others ran
    assert "2 done, 0 skipped (done before), 1 failed" in res.out
    assert (out / "city" / "city.gpkg").read_bytes() == before  # the good result stays
    failed = json.loads((out / "city" / "failed.json").read_text(encoding="utf-8"))
    assert "No space left on device" in failed["error"] and failed["kept"] == "city/city.gpkg"
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig", keep_default_na=False).set_index("task")
    assert "No space left on device" in summary.loc["city", "error"] and "kept" in summary.loc["city", "error"]
    assert summary.loc["city", "result"] == "city/city.gpkg"  # where the values shown come from
    assert float(summary.loc["city", "residents_served"]) == pytest.approx(0.5, abs=1e-3)  # the kept values
    assert summary.loc["town", "error"] == "" and summary.loc["village", "error"] == ""
    assert _temporary(out) == []
    tasks = make_tasks(extracts, rules=rules)
    assert task_state(tasks[0], out, _hash(rules)) == "failed"  # retried by a plain rerun
    code = cli(base)
    captured = capsys.readouterr()
    assert code == 0 and "1 done, 2 skipped" in captured.out, captured.err
    assert not (out / "city" / "failed.json").exists()
    _same_results(clean, out)


def test_a_failed_first_run_leaves_no_partial_geopackage(three, tmp_path, capsys, monkeypatch):
    extracts, rules, clean = three
    out = tmp_path / "out"
    base = ["batch", extracts[0], "--rules", rules, "--workers", "1", "--out", out]
    full_disk(monkeypatch, ("enospc", 2))  # one layer written, the second fails (one worker: in this process)
    code = cli(base)
    monkeypatch.undo()
    assert code == 1, capsys.readouterr().err
    assert sorted(p.name for p in (out / "city").iterdir()) == [".done.json", "failed.json", "summary.csv"]
    row = pd.read_csv(out / "summary.csv", encoding="utf-8-sig", keep_default_na=False).iloc[0]
    assert "No space left on device" in row["error"] and "city.gpkg" in row["error"] and row["result"] == ""
    assert _temporary(out) == []
    assert cli(base) == 0
    names, table = gpkg_tables(out / "city" / "city.gpkg")
    ref_names, ref = gpkg_tables(clean / "city" / "city.gpkg")
    assert names == ref_names
    pd.testing.assert_frame_equal(table, ref)


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_an_interrupted_batch_stops_cleans_up_and_resumes_to_the_clean_result(three, tmp_path, signame):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) or SIGTERM (to the batch
    alone, as `kill` sends it) once the first task has started: one line, exit 130 / 143, the
    workers gone, no temporary folder left, the lock free; the next run gives the clean result."""
    import signal

    import psutil

    extracts, rules, clean = three
    out = tmp_path / "out"
    base = ["batch", *extracts, "--rules", rules, "--workers", "2", "--out", out]
    proc = start_cli(base, start_new_session=True)
    for line in proc.stderr:
        if ": started" in line:
            break
    workers = psutil.Process(proc.pid).children(recursive=True)
    assert workers
    sig = getattr(signal, signame)
    started = time.monotonic()
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    assert time.monotonic() - started < 30  # promptly, not after the queued tasks
    assert proc.returncode == 128 + sig, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith(f"urbancover: interrupted ({signame})")
    gone = psutil.wait_procs(workers, timeout=10)[1]
    assert gone == [], [p.pid for p in gone]  # no worker left writing into --out
    assert _temporary(out) == []
    with FolderLock(out):  # released
        pass
    # the resume checks what the interrupted run left behind: in this process, with one worker (no pool to spawn)
    assert cli([*base[:base.index("--workers") + 1], "1", *base[base.index("--workers") + 2:]]) == 0
    _same_results(clean, out)


def test_dask_workers_lost_are_failed_tasks_exit_1_with_the_summary(three, tmp_path, monkeypatch, capsys):
    """A task whose Dask workers died beyond allowed-failures (the scheduler raises KilledWorker for
    it) is a failed task: every other task runs, summary.csv is written, exit 1."""
    distributed = pytest.importorskip("distributed")
    import urbancover.app.batch as batch
    from urbancover.app.cli import main

    extracts, rules, clean = three
    real = batch.run_task

    def dies_on_town(task, *a, **k):
        if task.name == "town":
            from types import SimpleNamespace

            raise distributed.scheduler.KilledWorker("run_task-town", SimpleNamespace(address="tcp://127.0.0.1:1"), 3)
        return real(task, *a, **k)

    monkeypatch.setattr(batch, "run_task", dies_on_town)  # the workers run in this process
    out = tmp_path / "out"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                                  dashboard_address=None) as cluster:
        code = main(["batch", *map(str, extracts), "--rules", str(rules), "--out", str(out),
                     "--scheduler", cluster.scheduler_address, "-q"])
    assert code == 1
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig", keep_default_na=False).set_index("task")
    assert summary.loc["town", "error"].startswith("KilledWorker") and summary.loc["town", "result"] == ""
    assert summary.loc["city", "error"] == "" and summary.loc["village", "error"] == ""
    assert float(summary.loc["village", "residents_served"]) == pytest.approx(0.5, abs=1e-3)
    assert (out / "town" / "failed.json").is_file()
    assert _temporary(out) == []
