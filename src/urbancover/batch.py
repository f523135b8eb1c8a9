"""Batch runs over many extracts (or many districts of one extract), resumable, local or on Dask.

Each task evaluates one extract (or one district polygon of an extract) and writes its own folder:
``<out>/<task>/<task>.gpkg`` and ``<out>/<task>/summary.csv``; the summary is written last, through
a temporary file and a rename, so a task whose summary exists is complete and is skipped on the
next run. :func:`run_batch` then collects every task's summary into ``<out>/summary.csv``.

By default tasks run in parallel processes on this machine; with ``scheduler="tcp://host:8786"``
they go to an existing Dask distributed cluster unchanged (the workers need urbancover installed
and the extracts readable at the same paths).
"""

from __future__ import annotations

import os
import re
import traceback
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from urbancover.errors import InputError

SUMMARY = "summary.csv"


@dataclass(frozen=True)
class Task:
    """One unit of work: an extract, optionally cut to one district polygon (WKT in EPSG:4326)."""

    name: str
    extract: str
    rules: str
    district_wkt: str | None = None


def _slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text, flags=re.UNICODE).strip("_") or "task"


def extract_stem(path: str | os.PathLike) -> str:
    """File name without the OSM suffixes: ``city.osm.pbf`` -> ``city``."""
    name = Path(path).name
    for suffix in (".osm.bz2", ".osm.gz", ".osm.pbf", ".osm", ".pbf"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def make_tasks(
    extracts: list[str | os.PathLike],
    *,
    rules: str = "zhengzhou-2018",
    districts=None,
    district_column: str = "name",
) -> list[Task]:
    """One task per extract, or, with ``districts`` (a polygon layer or file), one per district and extract."""
    if not extracts:
        raise InputError("batch: no extracts given.")
    missing = [str(e) for e in extracts if not Path(e).exists()]
    if missing:
        raise InputError(f"batch: no such extract file(s): {', '.join(missing)}.")
    stems = [extract_stem(e) for e in extracts]
    dupes = {s for s in stems if stems.count(s) > 1}
    if dupes:
        raise InputError(f"batch: several extracts are named {sorted(dupes)}; task folders would collide. Rename them.")
    if districts is None:
        return [Task(_slug(s), str(Path(e).resolve()), str(rules)) for s, e in zip(stems, extracts)]
    import geopandas as gpd

    layer = gpd.read_file(districts) if isinstance(districts, (str, os.PathLike)) else districts
    if layer.crs is None:
        raise InputError("districts: the layer has no CRS; set it (e.g. .set_crs('EPSG:4326')).")
    if district_column not in layer:
        raise InputError(f"districts: no column {district_column!r}; it has {list(layer.columns)}.")
    layer = layer.to_crs(4326)
    tasks = []
    for s, e in zip(stems, extracts):
        for name, geom in zip(layer[district_column].astype(str), layer.geometry):
            tasks.append(Task(_slug(f"{s}__{name}"), str(Path(e).resolve()), str(rules), geom.wkt))
    return tasks


def run_task(task: Task, out: str) -> pd.DataFrame:
    """Evaluate one task and write its GeoPackage and summary; returns the summary with task columns.

    Never raises for a bad input: the error becomes the task's summary row, so one broken extract
    does not stop a batch of hundreds.
    """
    import shapely

    from urbancover.analysis import evaluate

    folder = Path(out) / task.name
    folder.mkdir(parents=True, exist_ok=True)
    try:
        area = None
        if task.district_wkt:
            import geopandas as gpd

            area = gpd.GeoSeries([shapely.from_wkt(task.district_wkt)], crs=4326)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # missing facilities etc. are in the report's notes
            report = evaluate(task.extract, task.rules, area=area)
        report.to_gpkg(folder / f"{task.name}.gpkg")
        summary = report.summary.copy()
        summary.insert(0, "task", task.name)
        summary.insert(1, "extract", task.extract)
        summary["notes"] = " | ".join(report.notes)
        summary["error"] = ""
    except Exception as err:  # one failing task is reported, the batch goes on
        summary = pd.DataFrame([{
            "task": task.name, "extract": task.extract,
            "error": f"{type(err).__name__}: {err}",
            "traceback": "".join(traceback.format_exception_only(type(err), err)).strip(),
        }])
    tmp = folder / (SUMMARY + ".tmp")
    summary.to_csv(tmp, index=False)
    os.replace(tmp, folder / SUMMARY)
    return summary


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
        Skip tasks whose ``summary.csv`` exists.

    Returns
    -------
    DataFrame
        The collected summary.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    todo = [t for t in tasks if not (resume and (out / t.name / SUMMARY).exists())]
    if todo:
        args = [(t, str(out)) for t in todo]
        if scheduler is not None:
            _run_dask(args, scheduler, progress)
        else:
            n = max(1, min(workers or os.cpu_count() or 1, len(todo)))
            if n == 1:
                for a in _progress(args, progress, len(args)):
                    _run_task_here(a)
            else:
                import multiprocessing

                ctx = multiprocessing.get_context("spawn")  # safe with threads in the parent (GDAL, BLAS)
                with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as pool:
                    for _ in _progress(pool.map(_run_task_here, args), progress, len(args)):
                        pass
    frames = [pd.read_csv(out / t.name / SUMMARY, keep_default_na=False, na_values=[""]) for t in tasks]
    summary = pd.concat(frames, ignore_index=True)
    summary.to_csv(out / SUMMARY, index=False)
    return summary


def _progress(iterable, show: bool, total: int):
    if not show:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc="extracts", unit="task", disable=None)  # only on a terminal


def _run_dask(args, scheduler, progress: bool) -> None:
    try:
        from distributed import Client, as_completed
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise InputError("batch: --scheduler needs dask.distributed: pip install 'urbancover[dask]'.") from err
    own = not isinstance(scheduler, Client)
    client = Client(scheduler) if own else scheduler
    try:
        futures = client.map(_run_task_here, args, pure=False)
        for fut in _progress(as_completed(futures), progress, len(futures)):
            fut.result()
    finally:
        if own:
            client.close()
