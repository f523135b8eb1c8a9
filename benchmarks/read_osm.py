"""Reading speed: ``read_osm`` + ``walk_network`` in OSM objects per second, this checkout against
a baseline checkout (e.g. main before the one-reader change) in the same run.

    git worktree add /tmp/old-reader e7d3eee
    python benchmarks/read_osm.py --baseline /tmp/old-reader [--repeat 3] [--side 708] [extract ...]

Default extracts: ../shared/data/malta-2018.osm.pbf (or /work/shared/data/...), the two bundled
samples and a synthetic street grid of ``--side`` x ``--side`` nodes (708: 1M street segments)
with homes, parks and points of interest, written sorted as an .osm.pbf (cached in the temp
folder; benchmarks/city.py writes its nodes after its ways, which libosmium-based readers refuse).
Each measurement runs in a fresh Python process with the checkout's ``src`` first on the path; the
baseline and this checkout alternate per extract, so both see the same machine load. Times are the
best of ``--repeat`` (1 on the synthetic grid). Writes benchmarks/results/read_osm.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = Path(tempfile.gettempdir()) / "urbancover-bench-read"

_WORKER = """
import json, sys, time, warnings
sys.path.insert(0, sys.argv[1])
warnings.simplefilter("ignore")
import urbancover as uc
path, repeat = sys.argv[2], int(sys.argv[3])
def best(fn):
    out = []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time(); fn()
        out.append((time.perf_counter() - t0, time.process_time() - c0))
    return min(out)
(t_read, c_read) = best(lambda: uc.read_osm(path))
osm = uc.read_osm(path)
(t_net, c_net) = best(lambda: uc.walk_network(osm))
print(json.dumps({"read": t_read, "net": t_net, "read_cpu": c_read, "net_cpu": c_net, "ways": len(osm.ways),
                  "features": len(osm.features), "file": uc.__file__}))
"""


def count_objects(path: Path) -> int:
    """Nodes + ways + relations of the file (libosmium's own counter, not timed)."""
    import osmium

    class Count(osmium.SimpleHandler):
        n = 0

        def node(self, _):
            Count.n += 1

        def way(self, _):
            Count.n += 1

        def relation(self, _):
            Count.n += 1

    Count().apply_file(str(path))
    return Count.n


def sorted_grid(side: int, dst: Path, seed: int = 7) -> Path:
    """A jittered street grid (100 m) of side x side nodes as a sorted .osm.pbf: a highway way per
    row and per column, a building on 2 of 5 blocks, a park on 3 in 100, a bus stop on 3 in 100."""
    import osmium
    import pyproj

    rng = np.random.default_rng(seed)
    to_ll = pyproj.Transformer.from_crs(32649, 4326, always_xy=True)
    x0, y0, sp = 500_000.0, 2_500_000.0, 100.0
    jj, ii = np.meshgrid(np.arange(side), np.arange(side))
    gx = (x0 + jj * sp + rng.uniform(-10, 10, (side, side))).ravel()
    gy = (y0 + ii * sp + rng.uniform(-10, 10, (side, side))).ravel()
    nb = side - 1
    bi, bj = (a.ravel() for a in np.meshgrid(np.arange(nb), np.arange(nb), indexing="ij"))
    cx, cy = x0 + (bj + 0.5) * sp, y0 + (bi + 0.5) * sp
    kind = rng.random(len(bi))
    homes, parks = np.flatnonzero(kind < 0.4), np.flatnonzero((kind >= 0.4) & (kind < 0.43))
    stops = np.flatnonzero(rng.random(len(bi)) < 0.03)
    half = np.r_[np.full(len(homes), 10.0), np.full(len(parks), 40.0)]
    px, py = np.r_[cx[homes], cx[parks]], np.r_[cy[homes], cy[parks]]
    corner_x = (px[:, None] + half[:, None] * np.array([-1, 1, 1, -1])).ravel()
    corner_y = (py[:, None] + half[:, None] * np.array([-1, -1, 1, 1])).ravel()
    lon, lat = to_ll.transform(np.r_[gx, corner_x, cx[stops]], np.r_[gy, corner_y, cy[stops] - 42])
    n_grid, n_corner = side * side, len(corner_x)
    hw = ["residential", "residential", "tertiary", "residential", "secondary", "footway", "residential", "primary"]
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        dst.unlink()
    with osmium.SimpleWriter(str(dst)) as wr:
        for k in range(n_grid + n_corner):
            wr.add_node(osmium.osm.mutable.Node(id=k + 1, location=(float(lon[k]), float(lat[k]))))
        for k in range(len(stops)):
            i = n_grid + n_corner + k
            wr.add_node(osmium.osm.mutable.Node(id=i + 1, location=(float(lon[i]), float(lat[i])),
                                                tags={"highway": "bus_stop"}))
        grid = np.arange(n_grid).reshape(side, side) + 1
        w = 1
        for r in range(side):
            wr.add_way(osmium.osm.mutable.Way(id=w, nodes=grid[r].tolist(), tags={"highway": hw[r % 8]}))
            w += 1
        for c in range(side):
            wr.add_way(osmium.osm.mutable.Way(id=w, nodes=grid[:, c].tolist(), tags={"highway": hw[(c + 3) % 8]}))
            w += 1
        for k in range(len(half)):
            ids = (n_grid + 4 * k + np.arange(4) + 1).tolist()
            tags = {"building": "apartments"} if k < len(homes) else {"leisure": "park"}
            wr.add_way(osmium.osm.mutable.Way(id=w, nodes=ids + ids[:1], tags=tags))
            w += 1
    return dst


def measure(src: Path, path: Path, repeat: int) -> dict:
    out = subprocess.run([sys.executable, "-c", _WORKER, str(src), str(path), str(repeat)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("extracts", nargs="*")
    ap.add_argument("--baseline", required=True, help="root of the baseline checkout (holding src/urbancover)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--side", type=int, default=708, help="synthetic grid: nodes per side (0: none)")
    ap.add_argument("--out", default=str(HERE / "results" / "read_osm.md"))
    args = ap.parse_args()
    paths = [Path(p) for p in args.extracts]
    if not paths:
        for cand in (ROOT.parent / "shared" / "data" / "malta-2018.osm.pbf", Path("/work/shared/data/malta-2018.osm.pbf")):
            if cand.exists():
                paths.append(cand)
                break
        paths += [ROOT / "data" / "sample" / "shenzhen_longgang.osm.bz2", ROOT / "data" / "sample" / "shanghai_jingan_drive.osm.bz2"]
        if args.side:
            grid = CACHE / f"grid-{args.side}.osm.pbf"
            if not grid.exists():
                print(f"writing the synthetic grid {args.side} x {args.side}", flush=True)
                sorted_grid(args.side, grid)
            paths.append(grid)
    old, new = Path(args.baseline).resolve(), ROOT
    rows = []
    for path in paths:
        n = count_objects(path)
        repeat = 1 if n > 1_000_000 else args.repeat
        res = {"before": measure(old / "src", path, repeat), "after": measure(new / "src", path, repeat)}
        rows.append((path.name, n, res))
        print(path.name, n, json.dumps(res), flush=True)
    load = os.getloadavg()
    commit = subprocess.run(["git", "-C", str(old), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# read_osm + walk_network: OSM objects per second",
        "",
        f"`python benchmarks/read_osm.py --baseline <checkout of {commit}> --repeat {args.repeat}` on "
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (a shared machine: times are the best "
        f"of {args.repeat}, of 1 on files over 1M objects; before and after alternate per file).",
        "Objects: every node, way and relation of the file. `before` is the baseline checkout's reader, "
        "`after` this checkout's. walk_network is the same code in both; it differs only through the ways it is given.",
        "",
        "Wall-clock times are inflated by the other processes on the machine; the CPU columns (this process and its "
        "libosmium threads, `time.process_time`, of the same best run) are steadier.",
        "",
        "| extract | OSM objects | read_osm before (s) | read_osm after (s) | read speed-up | read CPU before / after (s) "
        "| walk_network before / after (s) | read+network before (objects/s) | read+network after (objects/s) | speed-up "
        "| read+network CPU before / after (objects/s of CPU) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, n, res in rows:
        b, a = res["before"], res["after"]
        tb, ta = b["read"] + b["net"], a["read"] + a["net"]
        cb, ca = b["read_cpu"] + b["net_cpu"], a["read_cpu"] + a["net_cpu"]
        lines.append(
            f"| {name} | {n:,} | {b['read']:.3f} | {a['read']:.3f} | {b['read'] / a['read']:.1f}x | "
            f"{b['read_cpu']:.3f} / {a['read_cpu']:.3f} | {b['net']:.3f} / {a['net']:.3f} | {n / tb:,.0f} | "
            f"{n / ta:,.0f} | {tb / ta:.1f}x | {n / cb:,.0f} / {n / ca:,.0f} |"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(out.read_text())


if __name__ == "__main__":
    main()
