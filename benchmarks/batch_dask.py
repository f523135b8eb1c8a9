"""Batch over the districts of one large extract on Dask: the speed-up from 1 to 2 workers.

    PYTHONPATH=src python benchmarks/batch_dask.py [--extract PATH] [--grid N]

Splits the extract's bounds into an N x N grid of districts (default 2 x 2 over Malta), runs
``urbancover batch`` over them on a local Dask cluster with 1 worker, then with 2 workers (one
thread each, separate processes), in the same run, and writes the wall times, the speed-up and the
per-task times to ``benchmarks/results/batch_dask.md``. Each task reads the extract clipped to its
district plus twice the largest threshold (``urbancover.app.batch.district_source``).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import warnings
from pathlib import Path

import geopandas as gpd
import shapely

ROOT = Path(__file__).resolve().parents[1]
MALTA = ROOT.parent / "shared" / "data" / "malta-2018.osm.pbf"


def districts_of(extract: Path, n: int) -> gpd.GeoDataFrame:
    from urbancover import read_osm

    minx, miny, maxx, maxy = read_osm(extract).boundary.bounds
    xs = [minx + (maxx - minx) * i / n for i in range(n + 1)]
    ys = [miny + (maxy - miny) * j / n for j in range(n + 1)]
    cells = [shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]) for i in range(n) for j in range(n)]
    return gpd.GeoDataFrame({"name": [f"d{i}" for i in range(len(cells))]}, geometry=cells, crs=4326)


def run(extract: Path, districts, workers: int, out: Path) -> dict:
    from distributed import Client, LocalCluster

    from urbancover.app.batch import make_tasks, run_batch

    tasks = make_tasks([extract], districts=districts)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            t0 = time.perf_counter()
            summary = run_batch(tasks, out, scheduler=client, resume=False)
            wall = time.perf_counter() - t0
    failed = summary["error"].notna().sum() if "error" in summary else 0
    return {"workers": workers, "tasks": len(tasks), "wall_s": round(wall, 2), "failed_rows": int(failed)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--extract", default=str(MALTA))
    p.add_argument("--grid", type=int, default=2)
    args = p.parse_args()
    warnings.simplefilter("ignore")
    extract = Path(args.extract)
    districts = districts_of(extract, args.grid)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            rows.append(run(extract, districts, workers, Path(tmp) / f"w{workers}"))
    speedup = rows[0]["wall_s"] / rows[1]["wall_s"]
    lines = [
        "# Batch over districts on Dask: 1 vs 2 workers",
        "",
        f"Command: `PYTHONPATH=src python benchmarks/batch_dask.py --extract {extract.name} --grid {args.grid}`",
        f"Machine: {os.cpu_count()} cores; load average at the end {os.getloadavg()[0]:.1f}.",
        "",
        "| workers | tasks | wall (s) |",
        "|---|---|---|",
        *[f"| {r['workers']} | {r['tasks']} | {r['wall_s']} |" for r in rows],
        "",
        f"Speed-up from 1 to 2 workers: **{speedup:.2f}x** (same run).",
    ]
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "batch_dask.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "batch_dask.json").write_text(json.dumps({"rows": rows, "speedup": speedup}, indent=1), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
