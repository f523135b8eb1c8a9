"""Benchmark of urbancover.tools.access (not a timed test): k nearest, counts, gravity, 2SFCA and service
areas on a jittered street grid, with pandana's ``nearest_pois`` (k nearest) as the baseline when
pandana is installed.

    python benchmarks/access.py                 # grid 100 x 100 (19 800 edges), ~1 min on 2 cores
    python benchmarks/access.py --side 60 --out benchmarks/results/access-quick.md

Writes a Markdown table (default ``benchmarks/results/access.md``) with the machine and commit.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from run import grid_network, random_sources


def timed(fn, *args, repeat: int = 2, **kw):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args, **kw)
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=100, help="grid side (nodes per row)")
    ap.add_argument("--facilities", type=int, default=300)
    ap.add_argument("--places", type=int, default=20_000)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "access.md")
    args = ap.parse_args()

    import urbancover as uc

    net = grid_network(args.side)
    fac = random_sources(net, args.facilities, 1)
    homes = random_sources(net, args.places, 2).assign(residents=3.0)
    rows = []

    def row(name, seconds, note=""):
        rows.append((name, seconds, note))
        print(f"{name:<48} {seconds:8.3f} s  {note}", flush=True)

    t, kn = timed(uc.k_nearest, net, fac, homes, 3, cutoff=1000)
    row("k_nearest(k=3, cutoff=1000)", t, f"{np.isfinite(kn['nearest_3_m']).mean():.0%} of homes have 3")
    t, _ = timed(uc.network_distance, net, fac, homes, cutoff=1000)
    row("  for scale: network_distance(cutoff=1000)", t, "one multi-source pass")
    t, _ = timed(uc.count_within, net, fac, homes, [300, 500, 1000])
    row("count_within([300, 500, 1000])", t)
    t, _ = timed(uc.gravity, net, fac, homes, beta=np.log(2) / 400, cutoff=1500)
    row("gravity(exponential, cutoff=1500)", t)
    t, _ = timed(uc.two_step_fca, net, fac, homes, 1000, demand_column="residents")
    row("two_step_fca(catchment=1000)", t)
    t, sa = timed(uc.service_areas, net, fac, [300, 500, 1000], repeat=1)
    row("service_areas(per facility, 3 bands)", t, f"{len(sa)} polygons")
    t, sm = timed(uc.service_areas, net, fac, [300, 500, 1000], merged=True, repeat=1)
    row("service_areas(merged, 3 bands)", t, f"{len(sm)} polygons")
    try:
        import pandana
        import pandas as pd

        xy = np.column_stack([net.nodes.geometry.x, net.nodes.geometry.y])
        nodes = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]})
        edges = pd.DataFrame({"from": net.u, "to": net.v, "length": net.length})

        def pandana_knn():
            p = pandana.Network(nodes.x, nodes.y, edges["from"], edges["to"], edges[["length"]], twoway=True)
            p.set_pois("f", 1000, 3, fac.geometry.x, fac.geometry.y)
            nid = p.get_node_ids(homes.geometry.x, homes.geometry.y)
            return p.nearest_pois(1000, "f", num_pois=3).loc[nid]

        t, _ = timed(pandana_knn, repeat=1)
        row("pandana nearest_pois(k=3, 1000) incl. CH build", t, "snaps to nodes, no access legs")
    except ImportError:
        row("pandana nearest_pois", float("nan"), "pandana not installed")

    commit = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
    lines = [
        "# urbancover.tools.access benchmark",
        "",
        (f"{time.strftime('%Y-%m-%d %H:%M')} · commit {commit} · {platform.processor() or platform.machine()} · "
         f"python {platform.python_version()}"),
        "",
        (f"Grid {args.side} x {args.side} ({net.n_nodes} nodes, {net.n_edges} edges, spacing ~{net.length.mean():.0f} m), "
         f"{args.facilities} facilities, {args.places} homes; best of 2 runs (service areas: 1)."),
        "",
        "| measure | seconds | note |",
        "|---|---:|---|",
        *(f"| {n} | {s:.3f} | {note} |" for n, s, note in rows),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
