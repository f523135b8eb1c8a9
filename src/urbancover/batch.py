"""Batch runs over many extracts (or many districts of one extract), resumable, local or on Dask.

Each task evaluates one extract (or one district polygon of an extract) and owns one folder
``<out>/<task>/`` holding ``<task>.gpkg``, ``summary.csv`` and, on request, ``<task>.html`` and
``maps/``. No run can lose or corrupt work:

* the whole run holds a lock on ``<out>`` (:class:`urbancover.outputs.FolderLock`): a second run on
  the same folder waits (``lock_wait``) or refuses, naming the holder;
* a task writes into a hidden temporary folder ``<out>/.work-<task>-*`` and, once every file is
  complete, writes its done-marker (``.done.json``: the extract's path, size, mtime and SHA-256,
  the district's, the rule set's and the settings' hashes, every file's size) and renames the folder into place;
  a run killed at any moment leaves the previous result or nothing, never a partial one;
* resume skips a task only when its marker is complete, says "done", and still matches the
  extract, the district, the rule set, the settings and the requested outputs; failed tasks are retried;
* task names come from :func:`urbancover.outputs.safe_name`, made unique (``a b.osm`` and
  ``a_b.osm``; repeated or missing district names), and every path is proven inside ``<out>``.

:func:`run_batch` then collects every task's summary into ``<out>/summary.csv`` (UTF-8 with a BOM).

By default tasks run in parallel processes on this machine; with ``scheduler="tcp://host:8786"``
they go to an existing Dask distributed cluster unchanged (the workers need urbancover installed
and the extracts readable at the same paths).
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import sys
import time
import traceback
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import pandas as pd

from urbancover.errors import InputError
from urbancover.outputs import (
    MARKER_NAME,
    FolderLock,
    OutputError,
    file_fingerprint,
    fingerprint_matches,
    inside,
    read_marker,
    safe_name,
    text_hash,
    unique_names,
    write_csv,
    write_marker,
)
from urbancover.progress import log_line
from urbancover.settings import Settings, current, resolve

SUMMARY = "summary.csv"
log = logging.getLogger("urbancover.batch")


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


def rules_hash(rules: str | os.PathLike) -> str:
    """SHA-256 of a rule set's text (a preset's, or a rule file's bytes); refuses unknown rules."""
    from urbancover.rules import load_rules, presets

    load_rules(rules)  # a bad rule set is an input error before any task starts
    if str(rules) in presets():
        return text_hash((resources.files("urbancover.presets") / f"{rules}.toml").read_bytes())
    return text_hash(Path(rules).read_bytes())


def settings_hash(settings: Settings | None) -> str:
    """SHA-256 of the settings that differ from the defaults (:meth:`Settings.changes`; the defaults'
    hash is that of ``{}``, so a marker written before settings were recorded matches them).
    """
    return text_hash(json.dumps(resolve(settings).changes(), sort_keys=True))


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
    from urbancover.rules import load_rules

    area = gpd.GeoSeries([shapely.from_wkt(task.district_wkt)], crs=4326)
    margin = 2.0 * load_rules(task.rules).max_threshold
    metric = area.to_crs(utm_crs_for(area))
    clip = metric.buffer(margin).to_crs(4326).iloc[0]
    return area, read_osm(task.extract, clip=clip, settings=task.settings)


def run_task(task: Task, out: str, rules_sha256: str | None = None, outputs: Outputs = Outputs(),
             progress: bool = False) -> pd.DataFrame:
    """Evaluate one task into a temporary folder, mark it done (or failed) and move it into place.

    Never raises for a bad input: the error becomes the task's summary row (and the marker says
    ``failed``, so the next run retries it), so one broken extract does not stop a batch of
    hundreds. Returns the summary with ``task``, ``extract``, ``notes`` and ``error`` columns.
    """
    from urbancover.analysis import evaluate

    s = resolve(task.settings)
    final = inside(out, task.name)
    work = inside(out, f".work-{task.name}-{os.getpid()}-{secrets.token_hex(3)}")
    work.mkdir(parents=True)
    started = time.time()
    marker = {"task": task.name, "label": task.label, "district_sha256": text_hash(task.district_wkt or ""),
              "rules_sha256": rules_sha256 or rules_hash(task.rules), "outputs": _outputs_key(outputs),
              "settings_sha256": settings_hash(s), "settings": s.changes()}
    try:
        _step(task, progress, "started")
        marker["extract"] = file_fingerprint(task.extract)  # before reading: a later change forces a redo
        area, source = None, task.extract
        if task.district_wkt:
            area, source = district_source(task)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # missing facilities etc. are in the report's notes
            report = evaluate(source, task.rules, area=area, progress=progress, settings=s)
        _step(task, progress, "evaluated")
        report.to_gpkg(work / f"{task.name}.gpkg")
        _step(task, progress, "wrote GeoPackage")
        if outputs.report or outputs.maps:
            write_maps(report, work, task.name, outputs, settings=s)
            _step(task, progress, "wrote report/maps")
        summary = report.summary.copy()
        summary.insert(0, "task", task.name)
        summary.insert(1, "extract", task.extract)
        summary["notes"] = " | ".join(report.notes)
        summary["error"] = ""
        marker["status"] = "done"
    except Exception as err:  # one failing task is reported, the batch goes on
        summary = pd.DataFrame([{
            "task": task.name, "extract": task.extract,
            "error": f"{type(err).__name__}: {err}",
            "traceback": "".join(traceback.format_exception_only(type(err), err)).strip(),
        }])
        marker["status"] = "failed"
        marker["error"] = f"{type(err).__name__}: {err}"
        _step(task, progress, f"failed: {type(err).__name__}: {err}")
    write_csv(summary, work / SUMMARY)
    marker["seconds"] = round(time.time() - started, 3)
    write_marker(work, marker)
    _replace_folder(work, final)
    _step(task, progress, f"{marker['status']} in {marker['seconds']:.1f} s")
    return summary


def _outputs_key(outputs: Outputs) -> dict:
    return {"report": bool(outputs.report), "maps": outputs.maps, "lang": outputs.lang}


def write_maps(report, folder: Path, stem: str, outputs: Outputs, target=None, *,
               settings: Settings | None = None) -> list[Path]:
    """Gap maps (``maps/<rule>.<png|pdf>``) and the HTML report of one evaluation, each written atomically.

    ``target(*parts)`` gives each output path (default: proven inside ``folder``); ``settings``
    those of the maps (default :func:`urbancover.settings.current`).
    """
    from urbancover.outputs import atomic_path

    try:
        from urbancover import report as maps
    except ImportError as err:
        raise InputError(f"--report/--maps need the map extras: pip install 'urbancover[maps]' ({err}).") from err
    from urbancover.zones import find_zones

    target = target or (lambda *parts: inside(folder, *parts))
    settings = resolve(settings)
    written = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if outputs.maps:
            for rid, res in report.results.items():
                if res.measurement is not None:
                    path = target("maps", f"{safe_name(rid, 'rule')}.{outputs.maps}")
                    with atomic_path(path) as part:
                        maps.gap_map(report, rid, lang=outputs.lang, path=part, dpi=300, settings=settings)
                    written.append(path)
        if outputs.report:
            zones = find_zones(report) if len(report.compounds) else None
            path = target(f"{stem}.html")
            with atomic_path(path) as part:
                maps.html_report(report, part, zones=zones, lang=outputs.lang, settings=settings)
            written.append(path)
    return written


def _replace_folder(work: Path, final: Path) -> None:
    """Move a finished task folder into place; the previous one (the task's own product) goes last."""
    old = None
    if final.exists():
        old = final.with_name(f".old-{final.name}-{secrets.token_hex(3)}")
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
    if marker.get("status") != "done":
        return "failed"
    ok = (marker.get("task") == task.name
          and marker.get("district_sha256") == text_hash(task.district_wkt or "")
          and marker.get("rules_sha256") == rules_sha256
          and marker.get("outputs") == _outputs_key(outputs)
          and marker.get("settings_sha256", settings_hash(Settings())) == settings_hash(task.settings)
          and isinstance(marker.get("extract"), dict)
          and fingerprint_matches(marker["extract"], task.extract))
    return "done" if ok else "stale"


def _run_task_here(args):
    return run_task(*args)


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
        Skip tasks whose done-marker is complete and matches the extract, district, rule set,
        settings and ``outputs``; failed tasks are always run again.
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
    from urbancover.outputs import OutputGuard, check_writable

    if not tasks:
        raise InputError("batch: no tasks.")
    if isinstance(scheduler, str) and not re.fullmatch(r"(\w+://)?[\w.\-\[\]:]+:\d+/?", scheduler):
        raise InputError(f"--scheduler {scheduler!r}: not a scheduler address; give one like tcp://10.0.0.5:8786.")
    out = check_writable(out)
    hashes = {r: rules_hash(r) for r in {t.rules for t in tasks}}
    # each task carries its settings to its worker (a spawned process or a Dask worker starts with
    # the defaults): the ones it was made with, else those current now
    tasks = [t if t.settings is not None else replace(t, settings=current()) for t in tasks]
    with FolderLock(out, wait=lock_wait):
        guard = OutputGuard(out, [t.extract for t in tasks], overwrite=overwrite)
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
        if todo:
            line_mode = progress and not sys.stderr.isatty()
            args = [(t, str(out), hashes[t.rules], outputs, line_mode) for t in todo]
            if scheduler is not None:
                results = _run_dask(args, scheduler, progress)
            else:
                n = max(1, min(workers or os.cpu_count() or 1, len(todo)))
                if n == 1:
                    results = [_run_task_here(a) for a in _progress(args, progress, len(args))]
                else:
                    import multiprocessing

                    ctx = multiprocessing.get_context("spawn")  # safe with threads in the parent (GDAL, BLAS)
                    with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as pool:
                        futures = [pool.submit(_run_task_here, a) for a in args]
                        results = [f.result() for f in _progress(as_completed(futures), progress, len(futures))]
            for frame in results:
                name = frame["task"].iloc[0]
                states[name] = "failed" if _has_error(frame).any() else "done"
        frames = [pd.read_csv(inside(out, t.name, SUMMARY), keep_default_na=False, na_values=[""], encoding="utf-8-sig")
                  for t in tasks]
        summary = pd.concat(frames, ignore_index=True)
        guard.wrote(write_csv(summary, guard.target(SUMMARY)))
    summary.attrs["states"] = states
    return summary


def _has_error(frame: pd.DataFrame) -> pd.Series:
    """Rows whose ``error`` holds a message (read back from CSV an empty column is float NaN)."""
    return frame["error"].notna() & frame["error"].astype(str).ne("")


def _say(progress: bool, message: str) -> None:
    if progress:
        print(f"urbancover: {message}", file=sys.stderr, flush=True)


def _progress(iterable, show: bool, total: int):
    if not show or not sys.stderr.isatty():
        return iterable  # off a terminal the tasks print one line per step instead
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc="tasks", unit="task")


def _run_dask(args, scheduler, progress: bool) -> list[pd.DataFrame]:
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
    try:
        futures = client.map(_run_task_here, args, pure=False)
        return [fut.result() for fut in _progress(dask_completed(futures), progress, len(futures))]
    finally:
        if own:
            client.close()
