"""Reading speed: read_osm + walk_network in OSM objects per second, new reader against the former
Python reader in the same run (settings.osm_reader). Writes benchmarks/results/read_osm.md.

    python benchmarks/read_osm.py [--repeat 3] [extract ...]

Default extract: ../shared/data/malta-2018.osm.pbf (or /work/shared/data/...) and the samples.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from pathlib import Path

import osmium

import urbancover as uc
from urbancover import settings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def count_objects(path: Path) -> int:
    """Nodes + ways + relations of the file (a plain pass, not timed)."""
    n = 0
    for _ in osmium.FileProcessor(str(path)):
        n += 1
    return n


def best_of(repeat: int, fn):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("extracts", nargs="*")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(HERE / "results" / "read_osm.md"))
    args = ap.parse_args()
    paths = [Path(p) for p in args.extracts]
    if not paths:
        for cand in (ROOT.parent / "shared" / "data" / "malta-2018.osm.pbf", Path("/work/shared/data/malta-2018.osm.pbf")):
            if cand.exists():
                paths.append(cand)
                break
        paths += [ROOT / "data" / "sample" / "shenzhen_longgang.osm.bz2", ROOT / "data" / "sample" / "shanghai_jingan_drive.osm.bz2"]
    warnings.simplefilter("ignore")
    rows = []
    for path in paths:
        n = count_objects(path)
        res = {}
        for reader in ("python", "osmium"):
            settings.osm_reader = reader
            t_read = best_of(args.repeat, lambda: uc.read_osm(path))
            osm = uc.read_osm(path)
            t_net = best_of(args.repeat, lambda: uc.walk_network(osm))
            res[reader] = (t_read, t_net)
        settings.osm_reader = "osmium"
        rows.append((path.name, n, res))
        print(path.name, n, res, flush=True)
    load = os.getloadavg()
    lines = [
        "# read_osm + walk_network: OSM objects per second",
        "",
        f"`python benchmarks/read_osm.py --repeat {args.repeat}` on {time.strftime('%Y-%m-%d %H:%M')}, "
        f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (a shared machine: times are the best of {args.repeat}).",
        "Objects: every node, way and relation of the file. `before` is the former reader "
        "(`settings.osm_reader = \"python\"`, Python looks at every object), `after` the libosmium one.",
        "",
        "| extract | OSM objects | read_osm before (s) | read_osm after (s) | walk_network (s) | read+network before (objects/s) | read+network after (objects/s) | speed-up |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, n, res in rows:
        (rb, nb), (ra, na) = res["python"], res["osmium"]
        lines.append(
            f"| {name} | {n:,} | {rb:.3f} | {ra:.3f} | {na:.3f} | {n / (rb + nb):,.0f} | {n / (ra + na):,.0f} | {(rb + nb) / (ra + na):.1f}x |"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(out.read_text())


if __name__ == "__main__":
    main()
