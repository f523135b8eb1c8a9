"""The settings reach every part of the work: an evaluation reads those it is handed (not module
globals), in any thread, and a batch carries them to its workers (spawned processes or Dask) and
into its done-markers.

The tiny city (tinycity.py) has two 20 x 20 m apartment blocks without ``building:levels``:
6 floors each by default, so its residents are 2 x 400 m² x 6 / floor area per person: 137.1 at
the default 35 m², 68.6 at 70 m².
"""

import json
import threading
import tokenize
from pathlib import Path

import pytest
from tinycity import write_city, write_rules

import urbancover
from urbancover.app.batch import make_tasks, run_batch, task_state
from urbancover.core import settings
from urbancover.core.settings import Settings, current, override
from urbancover.plan.rules import load_rules

SRC = Path(urbancover.__file__).resolve().parent


def residents(m2_per_person: float) -> float:
    return 2 * 20 * 20 * 6 / m2_per_person


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    d = tmp_path_factory.mktemp("city")
    return write_city(d / "city.osm"), write_city(d / "town.osm", stop_x=500.0), write_rules(d / "rules.toml")


def test_no_module_reads_settings_globals():
    """Outside settings.py, code names ``settings.<x>`` only to call current/override/resolve: every
    value is read from a Settings object handed down (comments and strings are not code)."""
    allowed = {"current", "override", "resolve", "Settings"}
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "settings.py":
            continue
        with path.open("rb") as fh:
            toks = [t for t in tokenize.tokenize(fh.readline) if t.type not in (tokenize.COMMENT, tokenize.NL)]
        for before, a, b, c in zip(toks, toks[1:], toks[2:], toks[3:]):
            attribute = before.string == "."  # ctx.settings.x, self.settings.x: an object's own settings
            if a.type == tokenize.NAME and a.string == "settings" and b.string == "." and c.string not in allowed and not attribute:
                found.append(f"{path.relative_to(SRC)}:{a.start[0]}: settings.{c.string}")
            if (a.string, b.string) == ("urbancover.core.settings", "import") or (
                    a.string == "settings" and b.string == "import" and c.string not in allowed):
                found.append(f"{path.relative_to(SRC)}:{a.start[0]}: from ... settings import {c.string}")
    assert found == []


def test_evaluate_uses_the_settings_it_is_handed(city):
    extract, _, rules = city
    changed = Settings(floor_area_per_person=70)
    report = urbancover.evaluate(extract, rules, settings=changed)
    assert report.summary["residents"].iloc[0] == pytest.approx(residents(70), rel=1e-3)
    assert report.context.settings is changed and report.network.settings is changed
    assert current() == Settings()  # nothing changed for the session
    with override(floor_area_per_person=70):
        inside = urbancover.evaluate(extract, rules).summary["residents"].iloc[0]
    assert inside == pytest.approx(residents(70), rel=1e-3)
    assert urbancover.evaluate(extract, rules).summary["residents"].iloc[0] == pytest.approx(residents(35), rel=1e-3)
    with pytest.raises(urbancover.InputError, match="settings must be an urbancover.core.settings.Settings"):
        urbancover.evaluate(extract, rules, settings={"floor_area_per_person": 70})


def test_threads_each_evaluate_under_their_own_override(city):
    extract, _, rules = city
    osm = urbancover.read_osm(extract)
    got, barrier = {}, threading.Barrier(2)

    def run(m2):
        with override(floor_area_per_person=m2):
            barrier.wait()  # both overrides are active at once
            got[m2] = urbancover.evaluate(osm, rules).summary["residents"].iloc[0]

    threads = [threading.Thread(target=run, args=(m2,)) for m2 in (35.0, 70.0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got[35.0] == pytest.approx(residents(35), rel=1e-3)
    assert got[70.0] == pytest.approx(residents(70), rel=1e-3)


def _residents_by_task(summary):
    return summary.set_index("task")["residents"].to_dict()


def test_workers_apply_the_settings(city, tmp_path, monkeypatch):
    """The issue's run: 68.6 residents with workers=1, 137.1 with workers=2 (spawned workers did not
    see the change). Now every way of running gives 68.6."""
    extract, town, rules = city
    want = {"city": pytest.approx(residents(70), rel=1e-3), "town": pytest.approx(residents(70), rel=1e-3)}
    with override(floor_area_per_person=70):
        one = run_batch(make_tasks([extract, town], rules=rules), tmp_path / "one", workers=1)
    assert _residents_by_task(one) == want
    monkeypatch.setattr(settings, "floor_area_per_person", 70)  # the older way, as in the issue
    two = run_batch(make_tasks([extract, town], rules=rules), tmp_path / "two", workers=2)
    assert _residents_by_task(two) == want
    assert json.loads((tmp_path / "two" / "town" / ".done.json").read_text())["settings"] == {"floor_area_per_person": 70.0}


def test_dask_workers_apply_the_settings(city, tmp_path):
    distributed = pytest.importorskip("distributed")
    extract, town, rules = city
    # in-process workers run tasks in their own threads, where no override of this thread applies
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client, override(floor_area_per_person=70):
            summary = run_batch(make_tasks([extract, town], rules=rules), tmp_path, scheduler=client)
    assert summary["error"].isna().all()
    assert _residents_by_task(summary) == {t: pytest.approx(residents(70), rel=1e-3) for t in ("city", "town")}


def test_resume_reruns_a_task_when_the_settings_change_and_change_back(city, tmp_path):
    extract, _, rules = city
    out = tmp_path / "out"

    def run():
        s = run_batch(make_tasks([extract], rules=rules), out, workers=1)
        return s.attrs["states"]["city"], s["residents"].iloc[0]

    assert run() == ("done", pytest.approx(residents(35), rel=1e-3))
    assert run()[0] == "skipped"
    with override(floor_area_per_person=70):
        assert task_state(make_tasks([extract], rules=rules)[0], out, _rules_hash(rules)) == "stale"
        assert run() == ("done", pytest.approx(residents(70), rel=1e-3))
        assert run()[0] == "skipped"
        # settings given to the tasks win over the current ones
        tasks = make_tasks([extract], rules=rules, settings=Settings())
        assert run_batch(tasks, out, workers=1).attrs["states"]["city"] == "done"
    assert run() == ("skipped", pytest.approx(residents(35), rel=1e-3))  # back to the defaults: the last run's
    with override(floor_area_per_person=70):
        assert run()[0] == "done"
    assert run() == ("done", pytest.approx(residents(35), rel=1e-3))  # set back: run again, not the stale 68.6


def test_a_marker_without_settings_is_one_of_the_defaults(city, tmp_path):
    """Folders written before the settings were recorded resume under the defaults only."""
    extract, _, rules = city
    out = tmp_path / "out"
    run_batch(make_tasks([extract], rules=rules), out, workers=1)
    marker_path = out / "city" / ".done.json"
    marker = json.loads(marker_path.read_text())
    assert marker["settings"] == {}
    for key in ("settings", "settings_sha256"):
        marker.pop(key)
    marker_path.write_text(json.dumps(marker))
    task = make_tasks([extract], rules=rules)[0]
    assert task_state(task, out, _rules_hash(rules)) == "done"
    with override(max_snap_distance=300):
        assert task_state(task, out, _rules_hash(rules)) == "stale"


def _rules_hash(rules):
    from urbancover.app.batch import rules_hash

    load_rules(rules)
    return rules_hash(rules)


def test_threads_change_no_result_so_no_task_reruns_for_them(city, tmp_path):
    """settings.threads changes how fast a task runs, not its result: a task done on one thread is
    done on any; a change of a result setting still makes it stale."""
    extract, _, rules = city
    out = tmp_path / "out"
    with override(threads=1):
        run_batch(make_tasks([extract], rules=rules), out, workers=1)
    task = make_tasks([extract], rules=rules)[0]
    assert json.loads((out / "city" / ".done.json").read_text())["settings"] == {}
    for n in (0, 2, 7):
        with override(threads=n):
            assert task_state(task, out, _rules_hash(rules)) == "done"
    with override(threads=2, max_snap_distance=300):
        assert task_state(task, out, _rules_hash(rules)) == "stale"
