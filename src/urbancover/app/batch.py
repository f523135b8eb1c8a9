"""Batch runs over many extracts (or many districts of one extract), resumable, local or on Dask.

Each task evaluates one extract (or one district polygon of an extract) and owns one folder
``<out>/<task>/`` holding ``<task>.gpkg``, ``summary.csv`` and, on request, ``<task>.html`` and
``maps/``. No run can lose or corrupt work:

* the whole run holds a lock on ``<out>`` (:class:`urbancover.core.files.FolderLock`): a second run on
  the same folder waits (``lock_wait``) or refuses, naming the holder;
* a task writes into a hidden temporary folder ``<out>/.work-<task>-*`` and, once every file is
  complete, writes its done-marker (``.done.json``: the extract's path, size, mtime and SHA-256,
  the district's, the rule set's and the settings' hashes, every file's size) and renames the folder into place;
  a run killed at any moment leaves the previous result or nothing, never a partial one;
* a task's new folder replaces the old one only when it is complete: a task that fails keeps the
  previous complete result in place and records the failure beside it (``<task>/failed.json``);
  ``summary.csv`` then shows the kept result's values with this run's error and its ``result``
  path; without a previous result the task's folder holds only ``summary.csv`` (the error),
  ``failed.json`` and the marker, never a partial GeoPackage;
* resume skips a task only when its marker is complete, says "done", and still matches the
  extract, the district, the rule set, the settings and the requested outputs, and no later attempt failed;
  failed tasks are retried;
* Ctrl-C (SIGINT) or SIGTERM stop a run: no new task starts, the workers are told (local workers
  by signal, Dask tasks by the run file ``<out>/.run-*`` they check at every step) and clean their
  temporary folders, ``summary.csv`` is written, the lock is released last; a rerun resumes;
* task names come from :func:`urbancover.core.files.safe_name`, made unique (``a b.osm`` and
  ``a_b.osm``; repeated or missing district names), and every path is proven inside ``<out>``.

:func:`run_batch` then collects every task's summary into ``<out>/summary.csv`` (UTF-8 with a BOM).

By default tasks run in parallel processes on this machine; with ``scheduler="tcp://host:8786"``
they go to an existing Dask distributed cluster unchanged (the workers need urbancover installed
and the extracts readable at the same paths).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import sys
import time
import traceback
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from urbancover.core.errors import InputError
from urbancover.core.files import (
    MARKER_NAME,
    FolderLock,
    Interrupted,
    OutputError,
    atomic_path,
    file_fingerprint,
    fingerprint_matches,
    inside,
    read_marker,
    safe_name,
    stop_on_signals,
    text_hash,
    unique_names,
    write_csv,
    write_marker,
)
from urbancover.core.parallel import thread_count
from urbancover.core.progress import log_line, tell
from urbancover.core.settings import Settings, current, resolve

SUMMARY = "summary.csv"
#: The record of a task's last failed attempt, beside the result it kept (or alone).
FAILED = "failed.json"
log = logging.getLogger("urbancover.app.batch")
#: A task's temporary folders: ``.work-<task>-<pid>-<hex>`` while it runs, ``.old-<task>-<pid>-<hex>``
#: for the result it replaces; a run holding the lock removes those of runs that died.
_TEMP_RE = re.compile(r"\.(work|old)-.+-\d+-[0-9a-f]{6}\Z")
_RUN_RE = re.compile(r"\.run-\d+-[0-9a-f]{6}\Z")


@dataclass(frozen=True)
class Task:
    """One unit of work: an extract, optionally cut to one district polygon (WKT in EPSG:4326).

    ``name`` is the task's folder (safe and unique); ``label`` the name it came from (the extract's
    file name or the district's name); ``note`` says why ``name`` differs from it, when it does.
    ``settings`` travel with the task to its worker process (None: :func:`run_batch` gives it the
    settings current when it starts).
    """

    name: str
    extract: str
    rules: str
    district_wkt: str | None = None
    label: str = ""
    note: str = ""
    settings: Settings | None = None


@dataclass(frozen=True)
class Outputs:
    """What each task writes besides its GeoPackage and summary."""

    report: bool = False
    maps: str | None = None  # "png" or "pdf"
    lang: str = "zh"


def extract_stem(path: str | os.PathLike) -> str:
    """File name without the OSM suffixes: ``city.osm.pbf`` -> ``city``."""
    name = Path(path).name
    for suffix in (".osm.bz2", ".osm.gz", ".osm.pbf", ".osm", ".pbf"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def _named(labels: list[str], default: str, safe: list[str] | None = None) -> tuple[list[str], list[str]]:
    """Safe, unique folder names for labels, and a note for each one that had to change."""
    safe = [safe_name(label, default) for label in labels] if safe is None else safe
    safe = [s + "_task" if s.lower() == SUMMARY else s for s in safe]  # not the collected summary
    names, _ = unique_names(safe)
    notes = []
    for label, name, first in zip(labels, names, safe):
        if name == label:
            notes.append("")
        elif name != first:
            notes.append(f"{label!r} is task {name!r}: another task already has the name {first!r}")
        else:
            notes.append(f"{label!r} is task {name!r} (characters unsafe in file names replaced)")
    return names, notes


def make_tasks(
    extracts: list[str | os.PathLike],
    *,
    rules: str = "zhengzhou-2018",
    districts=None,
    district_column: str = "name",
    settings: Settings | None = None,
) -> list[Task]:
    """One task per extract, or, with ``districts`` (a polygon layer or file), one per district and extract.

    Task names are the extracts' stems (``city.osm.pbf`` -> ``city``), or ``<stem>__<district>``,
    made safe for every file system and unique: colliding names get ``-2``, ``-3`` ..., a missing
    district name becomes ``district<row>``; each such change is in the task's ``note``. Every task
    carries ``settings`` (None: those current when :func:`run_batch` starts).

    Raises
    ------
    InputError
        No extracts, a missing extract, a district layer without CRS or without ``district_column``.

    Examples
    --------
    >>> [t.name for t in make_tasks(["a b.osm", "a_b.osm"])]  # doctest: +SKIP
    ['a_b', 'a_b-2']
    """
    if not extracts:
        raise InputError("batch: no extracts given.")
    missing = [str(e) for e in extracts if not Path(e).is_file()]
    if missing:
        raise InputError(f"batch: no such extract file(s): {', '.join(missing)}.")
    stems = [extract_stem(e) for e in extracts]
    if districts is None:
        names, notes = _named(stems, "extract")
        return [Task(n, str(Path(e).resolve()), str(rules), label=s, note=note, settings=settings)
                for n, e, s, note in zip(names, extracts, stems, notes)]
    import geopandas as gpd

    layer = gpd.read_file(districts) if isinstance(districts, (str, os.PathLike)) else districts
    if layer.crs is None:
        raise InputError("--districts: the layer has no CRS; save it with one, or set it (.set_crs('EPSG:4326')).")
    if district_column not in layer:
        raise InputError(f"--district-column {district_column!r}: no such column in the districts; it has "
                         f"{[c for c in layer.columns if c != layer.geometry.name]}.")
    layer = layer.to_crs(4326)
    raw = layer[district_column].tolist()
    labels = [f"district{i + 1}" if v is None or (isinstance(v, float) and v != v) or not str(v).strip() else str(v)
              for i, v in enumerate(raw)]
    tasks, all_labels, safe, info = [], [], [], []
    for s, e in zip(stems, extracts):
        for i, (label, geom) in enumerate(zip(labels, layer.geometry)):
            if geom is None or geom.is_empty:
                raise InputError(f"--districts: district {label!r} (row {i + 1}) has no geometry.")
            all_labels.append(f"{s}__{label}")
            safe.append(f"{safe_name(s, 'extract')}__{safe_name(label, 'district')}")
            info.append((e, geom.wkt, label != str(raw[i]) if raw[i] is not None else True))
    names, notes = _named(all_labels, "district", safe)
    for name, label, note, (e, wkt, was_missing) in zip(names, all_labels, notes, info):
        if was_missing:
            note = f"{label!r}: the district has no name in column {district_column!r}" + (f"; {note}" if note else "")
        tasks.append(Task(name, str(Path(e).resolve()), str(rules), wkt, label=label, note=note, settings=settings))
    return tasks


def settings_hash(settings: Settings | None) -> str:
    """SHA-256 of the settings that differ from the defaults (:meth:`Settings.changes`; the defaults'
    hash is that of ``{}``, so a marker written before settings were recorded matches them), but
    for those that change no result (:data:`RESULT_NEUTRAL`: a task done on 2 threads is done).
    """
    return text_hash(json.dumps(_result_changes(settings), sort_keys=True))


#: Settings that change how fast a task runs, never its result: left out of the done-marker.
RESULT_NEUTRAL = frozenset({"threads"})


def _result_changes(settings: Settings | None) -> dict:
    return {k: v for k, v in resolve(settings).changes().items() if k not in RESULT_NEUTRAL}


def rules_hash(rules: str | os.PathLike) -> str:
    """SHA-256 of a rule set's text (a preset's, or a rule file's bytes: :func:`urbancover.plan.rules.rules_sha256`,
    the hash every run record shows); refuses unknown rules.
    """
    from urbancover.plan.rules import load_rules, rules_sha256

    return rules_sha256(load_rules(rules))[0]  # a bad rule set is an input error before any task starts


def _step(task: Task, progress: bool, message: str) -> None:
    if progress:
        log_line(task.name, message)


def district_source(task: Task):
    """``(area, extract)`` of a district task: the district polygon, and the extract read only within
    the margin its rules need around it (the largest threshold, and as much again for the walk back
    to a facility beyond the edge), so a province's districts each read a small part of one file.

    Reading is clipped by libosmium's location filter in :func:`urbancover.read_osm`; facilities
    outside the margin cannot serve a place inside the district by network distance, since a walk is
    never shorter than the straight line.
    """
    import geopandas as gpd
    import shapely

    from urbancover.io import read_osm, utm_crs_for
    from urbancover.plan.rules import load_rules

    area = gpd.GeoSeries([shapely.from_wkt(task.district_wkt)], crs=4326)
    margin = 2.0 * load_rules(task.rules).max_threshold
    metric = area.to_crs(utm_crs_for(area))
    clip = metric.buffer(margin).to_crs(4326).iloc[0]
    return area, read_osm(task.extract, clip=clip, settings=task.settings)


class RunEnded(Exception):
    """The run a task belongs to ended (interrupted, or its process died): the task stops and keeps nothing.

    An ``Exception`` (a Dask worker thread must survive it), but never recorded as the task's failure.
    """


def run_task(task: Task, out: str, rules_sha256: str | None = None, outputs: Outputs = Outputs(),
             progress: bool = False, run_file: str | None = None) -> pd.DataFrame:
    """Evaluate one task into a temporary folder, mark it done and move it into place.

    Never raises for a bad input or a failed write: the error becomes the task's summary row and
    its failure record (:func:`record_failure`: beside the previous complete result, which stays,
    or in a folder of its own), so the next run retries it and one broken extract does not stop a
    batch of hundreds. Returns the summary with ``task``, ``extract``, ``notes`` and ``error`` columns.

    ``run_file``: the run's file in ``out``; when it is gone (the run was interrupted or ended)
    the task stops at its next step, removes its temporary folder and raises :class:`RunEnded`.
    An :class:`~urbancover.core.files.Interrupted` (a signal) also removes the temporary folder.
    """
    from urbancover.evaluation.analysis import evaluate

    s = resolve(task.settings)
    final = inside(out, task.name)
    work = inside(out, f".work-{task.name}-{os.getpid()}-{secrets.token_hex(3)}")
    started = time.time()
    marker = {"task": task.name, "label": task.label, "district_sha256": text_hash(task.district_wkt or ""),
              "rules_sha256": rules_sha256 or rules_hash(task.rules), "outputs": _outputs_key(outputs),
              "settings_sha256": settings_hash(s), "settings": _result_changes(s)}

    def step(message: str) -> None:
        if run_file is not None and not os.path.exists(run_file):
            raise RunEnded(task.name)
        _step(task, progress, message)

    try:
        work.mkdir(parents=True)
        step("started")
        marker["extract"] = file_fingerprint(task.extract)  # before reading: a later change forces a redo
        area, source = None, task.extract
        if task.district_wkt:
            area, source = district_source(task)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # missing facilities etc. are in the report's notes
            report = evaluate(source, task.rules, area=area, progress=progress, settings=s)
        step("evaluated")
        zones = task_zones(report, outputs)
        report.to_gpkg(work / f"{task.name}.gpkg", zones=zones)
        step("wrote GeoPackage")
        if outputs.report or outputs.maps:
            write_maps(report, work, task.name, outputs, zones=zones, settings=s)
            step("wrote report/maps")
        summary = report.summary.copy()
        summary.insert(0, "task", task.name)
        summary.insert(1, "extract", task.extract)
        summary["notes"] = " | ".join(report.notes)
        summary["error"] = ""
        marker["status"] = "done"
        write_csv(summary, work / SUMMARY)
        marker["seconds"] = round(time.time() - started, 3)
        write_marker(work, marker)
        step("moving into place")
        _replace_folder(work, final)
    except RunEnded:
        raise  # not a failure of the task: the run is gone, the finally below cleans up
    except Exception as err:  # one failing task is reported, the batch goes on
        shutil.rmtree(work, ignore_errors=True)  # no partial GeoPackage, anywhere
        summary = record_failure(task, out, err, marker, seconds=time.time() - started)
        _step(task, progress, f"failed: {type(err).__name__}: {err}")
        return summary
    finally:
        shutil.rmtree(work, ignore_errors=True)  # interrupted or ended: nothing half-written stays
    _step(task, progress, f"done in {marker['seconds']:.1f} s")
    return summary


def record_failure(task: Task, out: str | os.PathLike, err: BaseException | str, marker: dict | None = None,
                   seconds: float = 0.0) -> pd.DataFrame:
    """Record that a task failed, never destroying a complete result; returns its error row.

    When ``<out>/<task>/`` holds a complete result (marker ``done``) it stays as it is and
    ``failed.json`` (the error, when) is written into it, atomically: the task counts as failed, so
    the next run retries it, and a success replaces the whole folder. Otherwise the folder becomes
    ``summary.csv`` (the error row), ``failed.json`` and a ``failed`` marker, moved into place
    whole. Recording is best effort: on a full disk the error row still reaches ``summary.csv``.
    """
    error = err if isinstance(err, str) else f"{type(err).__name__}: {err}"
    summary = pd.DataFrame([{
        "task": task.name, "extract": task.extract, "error": error,
        "traceback": error if isinstance(err, str) else "".join(traceback.format_exception_only(type(err), err)).strip(),
    }])
    info = {"task": task.name, "error": error, "failed_at": time.strftime("%Y-%m-%d %H:%M:%S"),
            "seconds": round(seconds, 3)}
    final = inside(out, task.name)
    work = None
    try:
        previous = read_marker(final) if final.is_dir() else None
        if previous is not None and previous.get("status") == "done":
            info["kept"] = f"{task.name}/{task.name}.gpkg"
            with atomic_path(final / FAILED) as part:
                part.write_text(json.dumps(info, indent=1, ensure_ascii=False), encoding="utf-8")
            return summary
        work = inside(out, f".work-{task.name}-{os.getpid()}-{secrets.token_hex(3)}")
        work.mkdir(parents=True)
        write_csv(summary, work / SUMMARY)
        with atomic_path(work / FAILED) as part:
            part.write_text(json.dumps(info, indent=1, ensure_ascii=False), encoding="utf-8")
        base = marker or {"task": task.name, "label": task.label, "district_sha256": text_hash(task.district_wkt or "")}
        write_marker(work, dict(base, status="failed", error=error, seconds=round(seconds, 3)))
        _replace_folder(work, final)
        work = None
    except (OSError, OutputError) as failure:  # a full disk: the error row still reaches summary.csv
        log.warning("%s: could not record the failure (%s)", task.name, failure)
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
    return summary


def task_zones(report, outputs: Outputs):
    """The demonstration-zone candidates written with a task's layers and report (with ``outputs.report``), or None."""
    if not outputs.report or not len(report.compounds):
        return None
    from urbancover.zones import find_zones

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the diagnosis is in the zones' attrs and the report
        return find_zones(report)


def _outputs_key(outputs: Outputs) -> dict:
    return {"report": bool(outputs.report), "maps": outputs.maps, "lang": outputs.lang}


def write_maps(report, folder: Path, stem: str, outputs: Outputs, target=None, zones=None, *,
               settings: Settings | None = None) -> list[Path]:
    """Gap maps (``maps/<rule>.<png|pdf>``) and the HTML report of one evaluation, each written atomically.

    ``target(*parts)`` gives each output path (default: proven inside ``folder``); ``zones``: the
    demonstration-zone candidates of the report (default: :func:`task_zones`); ``settings`` those of
    the maps (default :func:`urbancover.core.settings.current`).
    """
    try:
        from urbancover import report as maps
    except ImportError as err:
        raise InputError(f"--report/--maps need the map extras: pip install 'urbancover[maps]' ({err}).") from err

    target = target or (lambda *parts: inside(folder, *parts))
    settings = resolve(settings)
    written = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if outputs.maps:
            for rid, res in report.results.items():
                if res.measurement is not None:
                    path = target("maps", f"{safe_name(rid, 'rule')}.{outputs.maps}")
                    tell(f"map {path.name}")
                    with atomic_path(path) as part:
                        maps.gap_map(report, rid, lang=outputs.lang, path=part, dpi=300, settings=settings)
                    written.append(path)
        if outputs.report:
            zones = task_zones(report, outputs) if zones is None else zones
            path = target(f"{stem}.html")
            with atomic_path(path) as part:
                maps.html_report(report, part, zones=zones, lang=outputs.lang, settings=settings)
            written.append(path)
    return written


def write_change_maps(comparison, target, *, lang: str = "zh", settings: Settings | None = None) -> list[Path]:
    """The change map of every distance rule of a comparison (:meth:`urbancover.change.Comparison.plot`),
    each written atomically at ``target(rule_id)`` (its suffix: the format).
    """
    try:
        from urbancover import report as _maps  # noqa: F401
    except ImportError as err:
        raise InputError(f"compare: the change maps need the map extras: pip install 'urbancover[maps]' ({err}).") from err
    written = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rid, res in comparison.after.results.items():
            if rid in comparison.summary.index and res.measurement is not None:
                path = target(rid)
                with atomic_path(path) as part:
                    fig = comparison.plot(rid, lang=lang, path=part, dpi=300, settings=resolve(settings))
                    fig.clear()
                written.append(path)
    return written


def _replace_folder(work: Path, final: Path) -> None:
    """Move a finished task folder into place; the previous one (the task's own product) goes last."""
    old = None
    if final.exists():
        old = final.with_name(f".old-{final.name}-{os.getpid()}-{secrets.token_hex(3)}")
        os.replace(final, old)
    os.replace(work, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def task_state(task: Task, out: str | os.PathLike, rules_sha256: str, outputs: Outputs = Outputs()) -> str:
    """``"done"`` (a complete marker matching the extract, district, rules, settings (``task.settings``,
    None: the current ones) and outputs), ``"failed"``,
    ``"stale"`` (done for other inputs), ``"missing"``, or ``"foreign"`` (a folder urbancover did not write).
    """
    folder = inside(out, task.name)
    if not folder.exists():
        return "missing"
    marker = read_marker(folder)
    if marker is None:
        return "foreign" if not (folder / MARKER_NAME).exists() and any(folder.iterdir()) else "missing"
    if marker.get("status") != "done" or (folder / FAILED).exists():
        return "failed"  # the last attempt failed (a complete older result may be kept beside the record)
    ok = (marker.get("task") == task.name
          and marker.get("district_sha256") == text_hash(task.district_wkt or "")
          and marker.get("rules_sha256") == rules_sha256
          and marker.get("outputs") == _outputs_key(outputs)
          and marker.get("settings_sha256", settings_hash(Settings())) == settings_hash(task.settings)
          and isinstance(marker.get("extract"), dict)
          and fingerprint_matches(marker["extract"], task.extract))
    return "done" if ok else "stale"


#: State of a spawned pool worker: the signal that stops it (0: none), and whether a task runs.
_WORKER = {"pool": False, "stop": 0, "running": False}


def _worker_init() -> None:
    """In each spawned worker: SIGTERM (sent by the run when it is interrupted) stops the running
    task (its ``finally`` removes its temporary folder), then the worker ends; an idle worker ends
    at once. SIGINT stays ignored, as the run started the worker: Ctrl-C reaches the whole process
    group, and the run, not each worker, decides (one line, no worker tracebacks).
    """
    _WORKER["pool"] = True
    signal.signal(signal.SIGTERM, _worker_signal)
    _load_kernels()


def _share_cores(args: list, n: int) -> list:
    """The tasks' arguments with ``settings.threads`` 0 (every core) made the workers' share of the
    cores, so that ``n`` local workers do not each start a thread per core (n x cores threads).
    """
    if n <= 1:
        return args
    share = max(1, thread_count(Settings(threads=0)) // n)
    return [(replace(t, settings=t.settings.replace(threads=share)), *rest) if t.settings.threads == 0 else (t, *rest)
            for t, *rest in args]


def _load_kernels() -> None:
    """In a pool or Dask worker: every compiled kernel loaded before the first task, under a lock
    per machine, so that workers started together on a fresh install compile them once, not once
    each (:func:`urbancover.network.kernels.load_kernels`; a no-op after the first call). A failure
    here is left to the task, which compiles what it uses and reports its own error.
    """
    from urbancover.network.kernels import load_kernels

    with contextlib.suppress(Exception):
        load_kernels()


def _run_task_on_dask(args):
    _load_kernels()
    return _run_task_here(args)


def _worker_signal(signum, frame) -> None:
    _WORKER["stop"] = signum
    if _WORKER["running"]:
        raise Interrupted(signum)
    os._exit(128 + signum)


def _run_task_here(args):
    if _WORKER["stop"]:  # a worker told to stop starts nothing new
        os._exit(128 + _WORKER["stop"])
    _WORKER["running"] = True
    try:
        return run_task(*args)
    except (Interrupted, RunEnded) as err:
        if _WORKER["pool"]:  # the task cleaned up; the worker ends without a traceback
            sys.stderr.flush()
            os._exit(err.exit_code if isinstance(err, Interrupted) else 1)
        raise
    finally:
        _WORKER["running"] = False


def run_batch(
    tasks: list[Task],
    out: str | os.PathLike,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    resume: bool = True,
    progress: bool = False,
    outputs: Outputs = Outputs(),
    overwrite: bool = False,
    lock_wait: float = 0.0,
) -> pd.DataFrame:
    """Run tasks in parallel, skipping those already done, and collect one summary table.

    Parameters
    ----------
    tasks
        From :func:`make_tasks`.
    out
        Output folder; ``<out>/summary.csv`` gets every task's rows (with ``task`` and ``error``).
    scheduler
        Address of a Dask distributed scheduler (``"tcp://10.0.0.5:8786"``), or a
        ``distributed.Client``; default: processes on this machine.
    workers
        Local processes (default: the number of CPUs).
    resume
        Skip tasks whose done-marker is complete and matches the extract, district, rule set and
        ``outputs``; failed tasks are always run again.
    progress
        A progress bar on a terminal; otherwise one line per task step on stderr (workers included).
    outputs
        Also write the HTML report and/or gap maps of each task.
    overwrite
        Replace task folders urbancover did not write (default: refuse before any work).
    lock_wait
        Seconds to wait for another run holding ``out`` (default: refuse at once).

    Returns
    -------
    DataFrame
        The collected summary; ``.attrs["states"]`` maps each task to ``"skipped"`` (done before),
        ``"done"`` or ``"failed"``.

    Raises
    ------
    InputError
        Before any work: a task folder or ``summary.csv`` urbancover did not write (without
        ``overwrite``), an input inside a task folder, a bad rule set, ``out`` locked or not writable.
    """
    from urbancover.core.files import OutputGuard, check_writable

    if not tasks:
        raise InputError("batch: no tasks.")
    if isinstance(scheduler, str) and not re.fullmatch(r"(\w+://)?[\w.\-\[\]:]+:\d+/?", scheduler):
        raise InputError(f"--scheduler {scheduler!r}: not a scheduler address; give one like tcp://10.0.0.5:8786.")
    out = check_writable(out)
    hashes = {r: rules_hash(r) for r in {t.rules for t in tasks}}
    # each task carries its settings to its worker (a spawned process or a Dask worker starts with
    # the defaults): the ones it was made with, else those current now
    tasks = [t if t.settings is not None else replace(t, settings=current()) for t in tasks]
    with FolderLock(out, wait=lock_wait), stop_on_signals():  # the lock is released last
        guard = OutputGuard(out, [t.extract for t in tasks], overwrite=overwrite)
        guard.sweep([".", *(t.name for t in tasks)])  # .part files of runs that died
        sweep_temporary(out)
        guard.target(SUMMARY)  # a foreign summary.csv is refused before the work, not after
        states = {}
        for t in tasks:
            folder = inside(out, t.name)
            for src in (t.extract, *[r for r in [t.rules] if Path(r).is_file()]):
                if folder.resolve() in Path(src).resolve().parents:
                    raise OutputError(f"--out {out}: the input {src} lies in the task folder {folder} that the batch "
                                      "replaces; move it or choose another output folder.")
            state = task_state(t, out, hashes[t.rules], outputs)
            if state == "foreign" and not overwrite:
                raise OutputError(f"--out {out}: {folder} exists and was not written by this urbancover batch; move it, "
                                  "choose another folder, or pass --overwrite.")
            states[t.name] = "skipped" if resume and state == "done" else "todo"
        todo = [t for t in tasks if states[t.name] == "todo"]
        _say(progress, f"{len(tasks)} tasks: {len(tasks) - len(todo)} already done, {len(todo)} to run")
        lost: dict[str, str] = {}
        if todo:
            run_file = inside(out, f".run-{os.getpid()}-{secrets.token_hex(3)}")
            run_file.write_bytes(b"")
            line_mode = progress and not sys.stderr.isatty()
            args = [(t, str(out), hashes[t.rules], outputs, line_mode, str(run_file)) for t in todo]
            try:
                if scheduler is not None:
                    lost = _run_dask(args, scheduler, progress, run_file)
                else:
                    n = max(1, min(workers or os.cpu_count() or 1, len(todo)))
                    lost = _run_local(_share_cores(args, n), n, progress, run_file)
            except BaseException as err:  # Ctrl-C, SIGTERM: told, cleaned; summary.csv of what is done
                with _ignore_signals():  # a second Ctrl-C does not cut the clean-up short
                    run_file.unlink(missing_ok=True)
                    sweep_temporary(out)
                    if isinstance(err, KeyboardInterrupt):
                        why = f"interrupted ({err.name})" if isinstance(err, Interrupted) else "interrupted"
                        with contextlib.suppress(Exception):
                            summary = collect_summary(tasks, out, {t.name: f"{why} before it finished" for t in todo})
                            guard.wrote(write_csv(summary, guard.target(SUMMARY)))
                raise
            finally:
                run_file.unlink(missing_ok=True)
            for t in todo:
                if t.name in lost:  # the worker died (Dask KilledWorker, a process killed)
                    record_failure(t, out, lost[t.name])
            sweep_temporary(out)  # the folders of workers that died
            for t in todo:
                states[t.name] = "failed" if task_state(t, out, hashes[t.rules], outputs) != "done" else "done"
        summary = collect_summary(tasks, out, lost)
        guard.wrote(write_csv(summary, guard.target(SUMMARY)))
    summary.attrs["states"] = states
    return summary


def collect_summary(tasks: list[Task], out: str | os.PathLike, errors: dict | None = None) -> pd.DataFrame:
    """Every task's rows for ``<out>/summary.csv``, with ``result`` (the task's GeoPackage relative
    to ``out``, empty when it has none) and ``error``.

    A task whose last attempt failed beside a kept complete result shows that result's values,
    its path in ``result``, and the attempt's error; ``errors`` (task -> message) gives the rows of
    tasks without a folder (interrupted before they finished).
    """
    errors = errors or {}
    frames = []
    for t in tasks:
        folder = inside(out, t.name)
        marker = read_marker(folder) if folder.is_dir() else None
        path = folder / SUMMARY
        if marker is None or not path.is_file():
            message = errors.get(t.name) or "no result"
            frames.append(pd.DataFrame([{"task": t.name, "extract": t.extract, "result": "", "error": message}]))
            continue
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
        done = marker.get("status") == "done"
        frame["result"] = f"{t.name}/{t.name}.gpkg" if done else ""
        failed = folder / FAILED
        if done and failed.is_file():
            try:
                info = json.loads(failed.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                info = {}
            frame["error"] = (f"{info.get('error', 'failed')} (at {info.get('failed_at', '?')}; "
                              f"the previous result {frame['result'].iloc[0]} is kept and shown)")
        frames.append(frame)
    summary = pd.concat(frames, ignore_index=True)
    cols = [c for c in summary.columns if c not in ("result", "error")]
    return summary[[*cols, "result", "error"]]


def sweep_temporary(out: str | os.PathLike) -> list[Path]:
    """Remove the temporary folders (``.work-*``, ``.old-*``) and run files (``.run-*``) of batch runs
    in ``out``: call it holding the lock, so no other run is using them.
    """
    removed = []
    for entry in Path(out).iterdir():
        if entry.is_symlink():
            continue
        if entry.is_dir() and _TEMP_RE.match(entry.name):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        elif entry.is_file() and _RUN_RE.match(entry.name):
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


@contextlib.contextmanager
def _ignore_signals(signums=(signal.SIGINT, signal.SIGTERM)):
    """The signals ignored within the block (processes started in it inherit that), then as before."""
    previous = {}
    try:
        for signum in signums:
            previous[signum] = signal.signal(signum, signal.SIG_IGN)
    except ValueError:  # not the main thread
        pass
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _run_local(args, n: int, progress: bool, run_file: Path) -> dict[str, str]:
    """Run the tasks in this process (``n == 1``) or in ``n`` spawned processes; the tasks whose
    process died, with why. An interrupt stops the workers (no new task starts) before it goes on.
    """
    lost: dict[str, str] = {}
    if n == 1:
        for a in _progress(args, progress, len(args)):
            _run_task_here(a)
        return lost
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # safe with threads in the parent (GDAL, BLAS)
    pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_worker_init)
    futures = {}
    try:
        with _ignore_signals((signal.SIGINT,)):  # workers start ignoring Ctrl-C: the run stops them (SIGTERM)
            futures = {pool.submit(_run_task_here, a): a[0].name for a in args}
        for f in _progress(as_completed(futures), progress, len(futures)):
            err = f.exception()
            if err is not None:
                lost[futures[f]] = f"{type(err).__name__}: {err} (the worker process died)"
    except BaseException:
        with _ignore_signals():  # a second Ctrl-C does not leave workers behind
            for f in futures:
                f.cancel()
            run_file.unlink(missing_ok=True)
            procs = list((getattr(pool, "_processes", None) or {}).values())
            for proc in procs:
                with contextlib.suppress(Exception):
                    proc.terminate()  # SIGTERM: the running task cleans up, the worker ends
            deadline = time.monotonic() + 30
            for proc in procs:
                proc.join(max(0.1, deadline - time.monotonic()))
                if proc.is_alive():
                    proc.kill()
                    proc.join(5)
            pool.shutdown(wait=False, cancel_futures=True)
            # the pool's manager thread notices its dead workers and ends: join it now, or the
            # interpreter's exit wakes it through a pipe already closed ("Bad file descriptor" in an
            # atexit traceback, one interrupted run in eight)
            manager = getattr(pool, "_executor_manager_thread", None)
            if manager is not None:
                manager.join(10)
        raise
    pool.shutdown(wait=True)
    return lost


def _say(progress: bool, message: str) -> None:
    if progress:
        print(f"urbancover: {message}", file=sys.stderr, flush=True)


def _progress(iterable, show: bool, total: int):
    if not show or not sys.stderr.isatty():
        return iterable  # off a terminal the tasks print one line per step instead
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc="tasks", unit="task")


def _run_dask(args, scheduler, progress: bool, run_file: Path) -> dict[str, str]:
    """Run the tasks on a Dask cluster; the tasks that raised there (a ``KilledWorker`` when workers
    died beyond the scheduler's ``allowed-failures``), with why. The others all run. On an
    interrupt the futures are cancelled and the run file removed, which stops running tasks at
    their next step.
    """
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise InputError("--scheduler needs dask.distributed: pip install 'urbancover[dask]'.") from err
    own = not isinstance(scheduler, Client)
    try:
        client = Client(scheduler, timeout=20) if own else scheduler
    except (OSError, TimeoutError, ValueError, TypeError) as err:
        raise InputError(f"--scheduler {scheduler}: cannot connect ({type(err).__name__}: {err}); "
                         "check the address and that the scheduler runs.") from err
    lost: dict[str, str] = {}
    futures = []
    try:
        futures = client.map(_run_task_on_dask, args, pure=False)
        names = {f.key: a[0].name for f, a in zip(futures, args)}
        for fut in _progress(dask_completed(futures), progress, len(futures)):
            if fut.status == "error":
                err = fut.exception()
                lost[names[fut.key]] = f"{type(err).__name__}: {err}"
            elif fut.status == "cancelled":
                lost[names[fut.key]] = "cancelled on the Dask cluster"
        return lost
    except BaseException:
        run_file.unlink(missing_ok=True)
        with contextlib.suppress(Exception):
            client.cancel(futures)
        raise
    finally:
        if own:
            client.close()
