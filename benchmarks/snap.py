"""Snapping benchmark (issue 13, item 2): the nearest-segment kernel against GEOS, and
network_distance with every node given as a lon/lat point against the networkx baseline.

    python benchmarks/snap.py                 # 1M-segment grid (708 x 708), ~5-8 min on 2 shared cores
    python benchmarks/snap.py --side 100      # 20k-segment grid, seconds

Writes benchmarks/results/snap.md (or --out). One process, one run: every ratio compares timings
of the same run. This is a benchmark, not a timed test.

What is measured, on the jittered street grid of benchmarks/run.py (100 m spacing, EPSG:32649):
1. Index build: urbancover.network.nearest.SegmentIndex.from_lines vs shapely.STRtree (+ its first query).
2. Nearest edge of --points uniform random points over the grid (+ 50 m margin): the kernel
   (edge, offset, distance) vs STRtree.query_nearest + line_locate_point (on --geos-points of
   them, so that the run stays short), and the agreement on those.
3. network_distance(net, 1000 sources, every node as a lon/lat point, cutoff) vs the networkx
   baseline of benchmarks/run.py (osmnx nearest_nodes + multi_source_dijkstra_path_length; its graph
   build reported apart, as in run.py): cold (a fresh Network: CSR, segment index and components
   built in the call), warm (a second call on the same Network: the like-for-like case), and cold
   with the GEOS path (urbancover.network.snap.HAVE_NUMBA switched off) as a cross-check; then the warm
   call's stages one by one (reprojection, snapping, distance field, lookup).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import N_SOURCES, _nx_graph, case_seed, grid_arrays, grid_network, random_sources  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def timed(fn, *a, **kw):
    t = time.perf_counter()
    out = fn(*a, **kw)
    return time.perf_counter() - t, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=708, help="grid side in nodes (708: 1,001,112 segments)")
    ap.add_argument("--points", type=int, default=1_000_000, help="random points for the kernel")
    ap.add_argument("--geos-points", type=int, default=100_000, help="of which GEOS snaps this many")
    ap.add_argument("--cutoffs", default="500,full", help="network_distance cut-offs, comma separated")
    ap.add_argument("--repeat", type=int, default=2, help="network_distance timings are the best of this many runs")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "snap.md")
    args = ap.parse_args(argv)

    import pyproj
    import shapely

    import urbancover
    import urbancover.network.snap as usnap  # where snap_geometries reads HAVE_NUMBA
    from urbancover.network.nearest import HAVE_NUMBA, SegmentIndex, nearest_segments

    if not HAVE_NUMBA:
        print("numba is not installed: the kernel would run as plain Python. pip install numba", file=sys.stderr)
        return 2
    lines = []
    say = lines.append
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "src"], capture_output=True, text=True).stdout.strip()
    import numba

    say("# Snapping benchmark (issue 13, item 2)\n")
    say(f"- {_dt.datetime.now().astimezone().isoformat(timespec='seconds')}, {platform.node()}, {os.cpu_count()} cores, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at start")
    say(f"- commit {commit}{' (src/ modified)' if dirty else ''}; python {platform.python_version()}, numpy {np.__version__}, "
        f"numba {numba.__version__}, shapely {shapely.__version__} / GEOS {shapely.geos_version_string}")
    say(f"- command: `python benchmarks/snap.py {' '.join(argv if argv is not None else sys.argv[1:])}`\n")

    # load every compiled kernel (index, query, CSR, snapping) from numba's cache (compiles on the very
    # first run), so that no timing below includes it
    tiny = grid_network(4)
    t_jit, _ = timed(urbancover.network_distance, tiny, random_sources(tiny, 3, 1), tiny.nodes.to_crs(4326), 100.0)

    # -- 1. index build ------------------------------------------------------------------------
    x, y, u, v = grid_arrays(args.side)
    xy = np.column_stack([x, y])
    geom = shapely.linestrings(np.stack([xy[u], xy[v]], axis=1))
    n_seg = len(geom)
    t_idx, idx = timed(SegmentIndex.from_lines, geom)
    t_tree, tree = timed(lambda: (lambda t: (t.query_nearest(shapely.points([(0.0, 0.0)])), t)[1])(shapely.STRtree(geom)))
    say(f"## Grid: {args.side} x {args.side} nodes, {n_seg:,} segments (one per edge)\n")
    say(f"compiled kernels loaded (or compiled) by a first tiny network_distance call: {t_jit:.2f} s\n")
    say("| index | build s |\n|---|---|")
    say(f"| SegmentIndex.from_lines ({idx.shape[0]} x {idx.shape[1]} cells of {idx.cell:.1f} m, "
        f"{len(idx.cell_items) / n_seg:.2f} cell entries per segment) | {t_idx:.3f} |")
    say(f"| shapely.STRtree (+ first query) | {t_tree:.3f} |\n")

    # -- 2. nearest edge of random points ----------------------------------------------------
    rng = np.random.default_rng(1)
    p = np.column_stack([rng.uniform(x.min() - 50, x.max() + 50, args.points), rng.uniform(y.min() - 50, y.max() + 50, args.points)])
    t_k, (e, o, d) = timed(nearest_segments, idx, p)
    t_k2, _ = timed(nearest_segments, idx, p)
    m = min(args.geos_points, args.points)
    pts = shapely.points(p[:m])

    def geos():
        (qi, ei), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
        return qi, ei, dist, shapely.line_locate_point(geom[ei], pts[qi])

    t_g, (qi, ei, dist, off) = timed(geos)
    k_rate = args.points / min(t_k, t_k2)
    g_rate = m / t_g
    same = ei == e[:m]
    (_, ties_e), tie_d = tree.query_nearest(pts[~same], return_distance=True, all_matches=True)
    say(f"## Nearest edge of {args.points:,} uniform random points\n")
    say("| method | points | s | points/s | vs GEOS |\n|---|---|---|---|---|")
    say(f"| kernel `nearest_segments` (best of 2; first {t_k:.3f} s) | {args.points:,} | {min(t_k, t_k2):.3f} | {k_rate:,.0f} | {k_rate / g_rate:.1f}x |")
    say(f"| GEOS `STRtree.query_nearest` + `line_locate_point` | {m:,} | {t_g:.3f} | {g_rate:,.0f} | 1x |\n")
    say(f"Agreement on the {m:,} points GEOS snapped: max |distance difference| {np.abs(dist - d[:m]).max():.3g} m; "
        f"same edge for {same.sum():,}, max |offset difference| there {np.abs(off - o[:m])[same].max():.3g} m; "
        f"the {(~same).sum()} others are exact ties (GEOS lists the kernel's edge among the equidistant ones: "
        f"{bool(np.isin(e[:m][~same], ties_e).all()) if (~same).any() else 'n/a'}).\n")
    p = pts = ei = dist = off = e = o = d = tree = idx = None  # free the 1M-point arrays
    gc.collect()

    # -- 3. network_distance with every node as a lon/lat point -------------------------------
    import geopandas as gpd

    from urbancover.network.snap import places, snap_places

    net0 = grid_network(args.side)
    sources = random_sources(net0, N_SOURCES, case_seed(f"grid-{args.side}", "sources"))
    nxy = shapely.get_coordinates(net0.nodes.geometry.values)
    lon, lat = pyproj.Transformer.from_crs(net0.crs, 4326, always_xy=True).transform(nxy[:, 0], nxy[:, 1])
    targets = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=4326)
    cutoffs = [None if c.strip() == "full" else float(c) for c in args.cutoffs.split(",")]
    del net0
    results = {}
    stages = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cutoff in cutoffs:
            for label, kernel in (("kernel", True), ("GEOS", False)):
                usnap.HAVE_NUMBA = kernel
                for _ in range(args.repeat if kernel else 1):  # best of --repeat (GEOS: a cross-check, once)
                    net = grid_network(args.side)  # fresh: no cached CSR, segment index, components or tree
                    gc.collect()
                    results[(cutoff, label, "cold")] = min(
                        results.get((cutoff, label, "cold"), (np.inf,)),
                        timed(urbancover.network_distance, net, sources, targets, cutoff), key=lambda r: r[0])
                if kernel:  # more calls on the same Network: CSR, index and components are built
                    results[(cutoff, label, "warm")] = min(
                        (timed(urbancover.network_distance, net, sources, targets, cutoff) for _ in range(args.repeat)),
                        key=lambda r: r[0])
                    # the warm call's stages, called one by one on the same Network
                    t_pl, where = timed(places, targets, net.crs, "targets")
                    t_sn, snapped = timed(snap_places, net, where)
                    t_fd, field = timed(urbancover.distance_field, net, sources, cutoff)
                    t_at, _ = timed(field.at_snapped, snapped)
                    stages[cutoff] = (t_pl, t_sn, t_fd, t_at)
                del net
                gc.collect()
    usnap.HAVE_NUMBA = HAVE_NUMBA

    import networkx as nx
    import osmnx as ox

    net = grid_network(args.side)
    sxy = shapely.get_coordinates(sources.geometry.values)
    t_build, G = timed(_nx_graph, net)
    n = net.n_nodes
    del net
    rows = []
    for cutoff in cutoffs:
        def query():
            nodes = ox.distance.nearest_nodes(G, sxy[:, 0], sxy[:, 1])
            lengths = nx.multi_source_dijkstra_path_length(G, {int(k) for k in nodes}, cutoff=cutoff, weight="length")
            out = np.full(n, np.inf)
            out[np.fromiter(lengths.keys(), dtype=np.int64, count=len(lengths))] = np.fromiter(lengths.values(), dtype=float, count=len(lengths))
            return out

        t_nx, d_nx = min((timed(query) for _ in range(args.repeat)), key=lambda r: r[0])
        (tc, dk), (tw, dw), (tg, dg) = (results[(cutoff, *k)] for k in (("kernel", "cold"), ("kernel", "warm"), ("GEOS", "cold")))
        both = np.isfinite(dg) & np.isfinite(dk)
        rows.append(dict(cutoff=cutoff, nx=t_nx, cold=tc, warm=tw, geos=tg, reached=int(np.isfinite(dk).sum()),
                         reached_nx=int(np.isfinite(d_nx).sum()),
                         diff=float(np.abs(dk[both] - dg[both]).max()) if both.any() else 0.0,
                         same_set=bool((np.isfinite(dk) == np.isfinite(dg)).all()),
                         warm_same=bool(np.array_equal(dk, dw))))
    G = None  # free the networkx graph
    cut = lambda c: "full" if c is None else f"{c:g} m"  # noqa: E731
    say(f"## network_distance: {N_SOURCES} random sources, every node ({n:,}) as a lon/lat target point\n")
    say(f"The networkx baseline (benchmarks/run.py's) snaps the sources to nodes (osmnx nearest_nodes) and returns node "
        f"distances: it neither reprojects nor snaps the targets. Its graph build ({t_build:.1f} s) is not counted.\n")
    say("- **cold**: first call on a fresh Network: every build is counted (CSR matrix, segment index, connected "
        "components), then reprojection of the targets, snapping, Dijkstra.")
    say("- **warm**: a second call on the same Network: its CSR, index and components are built (cached on the "
        "Network, as the baseline's graph is built before its timer): the like-for-like case. Reprojection, "
        "snapping and Dijkstra are counted again.")
    say(f"- every urbancover and networkx time is the best of {args.repeat} runs (--repeat); the GEOS one is a single run.")
    say("- **GEOS**: cold, with the kernel switched off (STRtree + line_locate_point): the cross-check of the answers.\n")
    say("| cut-off | networkx s | uc cold s | uc warm s | uc GEOS cold s | networkx / cold | networkx / warm | networkx / GEOS "
        "| targets reached (uc / nx) | max abs(kernel - GEOS), m | same reached set | warm = cold |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        say(f"| {cut(r['cutoff'])} | {r['nx']:.2f} | {r['cold']:.3f} | {r['warm']:.3f} | {r['geos']:.2f} | "
            f"**{r['nx'] / r['cold']:.1f}x** | **{r['nx'] / r['warm']:.1f}x** | {r['nx'] / r['geos']:.1f}x | "
            f"{r['reached']:,} / {r['reached_nx']:,} | {r['diff']:.3g} | {r['same_set']} | {r['warm_same']} |")
    if any(r["reached"] != r["reached_nx"] for r in rows):
        say("\n(uc reaches fewer targets within a cut-off: its sources stand up to 15 m off the street and their access "
            "leg counts; the baseline puts them on their nearest node at no cost.)")
    say("")
    say("Stages of the warm call, each timed alone on the same Network (s):\n")
    say("| cut-off | reproject targets (`snap.places`: pyproj on arrays) | snap targets (`snap.snap_places`: kernel) "
        "| `distance_field` (sources + scipy Dijkstra) | `at_snapped` | sum | 20x needs |\n|---|---|---|---|---|---|---|")
    for r in rows:
        t_pl, t_sn, t_fd, t_at = stages[r["cutoff"]]
        say(f"| {cut(r['cutoff'])} | {t_pl:.3f} | {t_sn:.3f} | {t_fd:.3f} | {t_at:.3f} | {t_pl + t_sn + t_fd + t_at:.3f} "
            f"| {r['nx'] / 20:.3f} |")
    say("")
    say("## Targets (issue 13)\n")
    say(f"- kernel >= 1 M points/s on the 1M-segment grid: {k_rate / 1e6:.2f} M/s "
        f"({'met' if k_rate >= 1e6 else 'NOT met'}{'' if n_seg >= 1_000_000 else '; this grid is smaller'})")
    for label in ("warm", "cold"):
        worst = min(r["nx"] / r[label] for r in rows)
        say(f"- network_distance >= 20x the networkx baseline, {label} "
            f"({'like-for-like: Network built before the timer' if label == 'warm' else 'every build counted'}): "
            f"worst {worst:.1f}x ({'met' if worst >= 20 else 'NOT met'}; "
            + ", ".join(f"{cut(r['cutoff'])} {r['nx'] / r[label]:.1f}x" for r in rows) + ")")
    say(f"- load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (a shared machine: compare ratios)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
