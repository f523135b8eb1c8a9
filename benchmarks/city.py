"""City scale: the whole preset over a real city, against the networkx one-rule notebook, in one run.

    python benchmarks/city.py                 # Malta, its quarter and half, the synthetic 1M-segment city (~20 min)
    python benchmarks/city.py --no-synthetic  # Malta, its quarter and half (~3 min)
    python benchmarks/city.py --side 300      # a smaller synthetic city

Writes ``benchmarks/results/city.md`` and ``city.json``. Every measurement runs in its own Python
process (this file with ``--worker``), so one's memory never shows in another's peak.

Measured
--------
notebook    what an analyst writes for ONE rule: pyosmium -> networkx walk graph -> k-d tree nearest
            node for every building and bus stop -> ``multi_source_dijkstra_path_length`` with a
            500 m cut-off -> share of buildings served. File to number.
evaluate    ``urbancover.evaluate(path, rules="zhengzhou-2018")``: every rule of the preset, file to
            :class:`Report`, end to end.
stages      the same work split into its steps (read, network, context: demand layers, gap grid,
            each rule, outputs: GeoPackage; not on the synthetic city), each with its time and
            peak memory.

Extracts: Malta (``../shared/data/malta-2018.osm.pbf``), its east quarter and east half (cut by
longitude so a quarter / half of the highway ways start east of the cut; ways that cross the cut
are kept whole, with every node they use), and a synthetic city written as an .osm.pbf: a jittered
street grid (``--side`` x ``--side`` nodes, 100 m apart; 708 gives 1M segments) with homes,
compounds, bus stops, parks and the other facilities of the preset.

Peak memory is the kernel's ``VmHWM`` (reset through ``/proc/self/clear_refs`` before each stage),
as in ``benchmarks/run.py``. numba's compiled kernels are read from their on-disk cache: a warm-up
process evaluates the bundled sample first (a first run on a new install compiles them once, ~15 s).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from run import Peak, lifetime_peak_mb, write_results  # noqa: E402  (the same memory probe as the engine benchmark)

MALTA_CANDIDATES = [ROOT.parent / "shared" / "data" / "malta-2018.osm.pbf", Path("/work/shared/data/malta-2018.osm.pbf")]
CACHE = Path(tempfile.gettempdir()) / "urbancover-bench-city"
RULES = "zhengzhou-2018"
CUTOFF = 500.0

# OSMnx's network_type="walk" filter, as an analyst copies it
WALK_EXCLUDED = {"abandoned", "bus_guideway", "construction", "cycleway", "motor", "motorway", "motorway_link", "no",
                 "planned", "platform", "proposed", "raceway", "razed"}


# =============================================================================================
# the networkx notebook (baseline)
# =============================================================================================
def notebook(path: Path) -> dict:
    """The one-rule notebook: share of buildings within 500 m of a bus stop along a networkx graph."""
    import networkx as nx
    import osmium
    import pyproj
    from scipy.spatial import cKDTree

    t0 = time.perf_counter()

    # only tagged highway and building objects reach Python; libosmium keeps the node locations
    a, b, ax, ay, bx, by, bld, stops = [], [], [], [], [], [], [], []
    fp = osmium.FileProcessor(str(path)).with_locations().with_filter(osmium.filter.KeyFilter("highway", "building"))
    for o in fp:
        t = o.tags
        if o.is_node():
            if t.get("highway") == "bus_stop":
                stops.append((o.location.lon, o.location.lat))
        elif o.is_way():
            hw = t.get("highway")
            if hw is not None and hw not in WALK_EXCLUDED and t.get("area") != "yes" and t.get("foot") != "no" \
                    and t.get("access") != "private" and t.get("service") != "private":
                nodes = o.nodes
                ids = [n.ref for n in nodes]
                lon = [n.lon for n in nodes]
                lat = [n.lat for n in nodes]
                a += ids[:-1]
                b += ids[1:]
                ax += lon[:-1]
                ay += lat[:-1]
                bx += lon[1:]
                by += lat[1:]
            elif "building" in t:
                nodes = o.nodes
                bld.append((sum(n.lon for n in nodes) / len(nodes), sum(n.lat for n in nodes) / len(nodes)))
    t_read = time.perf_counter()
    lon0 = float(np.median(ax)) if ax else 0.0
    lat0 = float(np.median(ay)) if ay else 0.0
    zone = int((lon0 + 180) // 6) + 1
    proj = pyproj.Transformer.from_crs(4326, 32600 + zone + (100 if lat0 < 0 else 0), always_xy=True)
    ax, ay = proj.transform(np.asarray(ax), np.asarray(ay))
    bx, by = proj.transform(np.asarray(bx), np.asarray(by))
    length = np.hypot(bx - ax, by - ay)
    G = nx.Graph()
    G.add_weighted_edges_from(zip(a, b, length.tolist()), weight="length")
    xy = {}
    xy.update(zip(a, zip(ax.tolist(), ay.tolist())))
    xy.update(zip(b, zip(bx.tolist(), by.tolist())))
    ids = np.fromiter(xy.keys(), dtype=np.int64, count=len(xy))
    coords = np.array(list(xy.values()))
    tree = cKDTree(coords)
    t_graph = time.perf_counter()
    sx, sy = proj.transform(*np.asarray(stops).T)
    _, stop_node = tree.query(np.column_stack([sx, sy]))
    bx_, by_ = proj.transform(*np.asarray(bld).T)
    _, bld_node = tree.query(np.column_stack([bx_, by_]))
    dist = nx.multi_source_dijkstra_path_length(G, set(ids[stop_node].tolist()), cutoff=CUTOFF, weight="length")
    d = np.array([dist.get(n, np.inf) for n in ids[bld_node].tolist()])
    share = float((d <= CUTOFF).mean())
    t_end = time.perf_counter()
    return {"total_s": t_end - t0, "read_s": t_read - t0, "graph_s": t_graph - t_read, "query_s": t_end - t_graph,
            "nodes": G.number_of_nodes(), "edges": G.number_of_edges(), "buildings": len(bld), "stops": len(stops),
            "share_buildings_served": share}


# =============================================================================================
# urbancover
# =============================================================================================
def evaluate_once(path: Path) -> dict:
    import urbancover as uc

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = uc.evaluate(str(path), rules=RULES)
    t = time.perf_counter() - t0
    s = rep.summary
    return {"total_s": t, "rules": len(s), "segments": int(rep.network.n_edges),
            "share_buildings_served_bus_stop_500": float(s.loc["bus_stop_500", "buildings_served"])}


def stages(path: Path, peak: Peak, outputs: bool = True) -> dict:
    """evaluate's steps one by one, each with its time and peak RSS (MiB)."""
    import urbancover as uc
    from urbancover.evaluation import kinds, measure  # (importing urbancover registers the rule kinds)
    from urbancover.evaluation.context import make_context
    from urbancover.plan.rules import load_rules

    out: dict = {"stages": []}

    def step(name, fn):
        peak.reset()
        t = time.perf_counter()
        res = fn()
        out["stages"].append({"stage": name, "s": time.perf_counter() - t, "peak_mb": peak.peak(), "rss_mb": peak.rss()})
        print(f"{name}: {out['stages'][-1]['s']:.2f} s, peak {out['stages'][-1]['peak_mb']:.0f} MiB", file=sys.stderr, flush=True)
        return res

    warnings.simplefilter("ignore")
    ruleset = load_rules(RULES)
    osm = step("read", lambda: uc.read_osm(str(path)))
    net = step("network", lambda: uc.walk_network(osm))
    ctx = step("context (demand layers)", lambda: make_context(osm, net, margin_needed=ruleset.max_threshold))
    results = {}
    for rule in ruleset:
        results[rule.id] = step(f"rule {rule.id}", lambda rule=rule: kinds.evaluator(rule)(rule, ctx))
    out["segments"] = int(net.n_edges)
    out["osm_objects"] = int(len(osm.features) if hasattr(osm, "features") else 0)
    out["homes"] = int(len(ctx.homes))
    rep = step("report", lambda: _report(ctx, results))
    if outputs:
        # the gap grid and the layers made when read (gap polygons, unserved street pieces) are
        # made here, streamed to the file one at a time
        with tempfile.TemporaryDirectory() as tmp:
            step("outputs: GeoPackage (makes the gap grid and polygons)", lambda: rep.to_gpkg(Path(tmp) / "out.gpkg"))
        out["gap_cells"] = int(len(measure.gap_cells(ctx)))
    return out


def _report(ctx, results):
    """A Report from the rule results, as evaluate() assembles it."""
    import pandas as pd

    from urbancover.evaluation import analysis

    summary = pd.DataFrame([r.summary for r in results.values()])
    summary.index = pd.Index(summary["id"].to_numpy(), name="rule")
    return analysis.Report(summary=summary, results=results, compounds=ctx.compounds, by_unit=None, context=ctx, notes=ctx.notes)


# =============================================================================================
# extracts: Malta cut by longitude, and the synthetic city
# =============================================================================================
def malta_path() -> Path:
    for p in MALTA_CANDIDATES:
        if p.exists():
            return p
    raise SystemExit("malta-2018.osm.pbf not found in ../shared/data/ (see its README)")


def clip_east(src: Path, share: float, dst: Path) -> dict:
    """Write the part of ``src`` east of the longitude leaving ``share`` of the highway ways east of
    it: every node there, every way using one of them (whole, with all its nodes)."""
    import osmium

    lons = []  # one per highway way (its first node): ways are closer to segments than nodes are
    for w in osmium.FileProcessor(str(src)).with_locations().with_filter(osmium.filter.KeyFilter("highway")):
        if w.is_way() and len(w.nodes) and w.nodes[0].location.valid():
            lons.append(w.nodes[0].lon)
    cut = float(np.quantile(lons, 1.0 - share))
    keep_nodes = set()
    if dst.exists():
        dst.unlink()
    with osmium.BackReferenceWriter(str(dst), ref_src=str(src), overwrite=True, remove_tags=False) as writer:
        for o in osmium.FileProcessor(str(src)).with_locations():
            if o.is_node():
                if o.location.valid() and o.location.lon >= cut:
                    keep_nodes.add(o.id)
                    writer.add_node(o)
            elif o.is_way():
                if any(n.ref in keep_nodes for n in o.nodes):
                    writer.add_way(o)
    return {"cut_lon": cut, "share": share}


def synthetic_city(side: int, dst: Path, seed: int = 7) -> dict:
    """An .osm.pbf street grid of side x side nodes (100 m, +-10 m jitter; 2 side (side-1) segments)
    with what the preset measures: homes (2 in 5 blocks), residential compounds (1 in 6 blocks),
    bus stops, toilets, parks and gardens (polygons), sports places, markets, groceries, 24-hour
    stores, kindergartens and schools, assembly points, community centres."""
    import osmium
    import pyproj

    rng = np.random.default_rng(seed)
    to_ll = pyproj.Transformer.from_crs(32649, 4326, always_xy=True)
    x0, y0, sp = 500_000.0, 2_500_000.0, 100.0
    jj, ii = np.meshgrid(np.arange(side), np.arange(side))
    X = x0 + jj * sp + rng.uniform(-10, 10, (side, side))
    Y = y0 + ii * sp + rng.uniform(-10, 10, (side, side))
    lon, lat = to_ll.transform(X.ravel(), Y.ravel())
    hw_cycle = np.array(["residential", "residential", "tertiary", "residential", "secondary", "footway", "residential", "primary"])
    next_id = [side * side + 1]

    def nid():
        next_id[0] += 1
        return next_id[0]

    def ll(x, y):
        lo, la = to_ll.transform(np.asarray(x, float), np.asarray(y, float))
        return lo, la

    if dst.exists():
        dst.unlink()
    w_id = 1
    counts = {"segments": 2 * side * (side - 1)}
    # a sorted file, as OSM extracts are: every node (street nodes, then the polygons' and the points'),
    # then every way; polygons and points are collected first and written after the street nodes
    nodes, ways = [], []

    class _Collect:
        def add_node(self, node):
            nodes.append(node)

        def add_way(self, way):
            ways.append(way)

    with osmium.SimpleWriter(str(dst)) as out:
        wr = _Collect()
        for k in range(side * side):
            wr.add_node(osmium.osm.mutable.Node(id=k + 1, location=(float(lon[k]), float(lat[k]))))
        idx = np.arange(side * side).reshape(side, side) + 1
        for r in range(side):
            wr.add_way(osmium.osm.mutable.Way(id=w_id, nodes=idx[r, :].tolist(), tags={"highway": str(hw_cycle[r % 8])}))
            w_id += 1
        for c in range(side):
            wr.add_way(osmium.osm.mutable.Way(id=w_id, nodes=idx[:, c].tolist(), tags={"highway": str(hw_cycle[(c + 3) % 8])}))
            w_id += 1
        nb = side - 1
        bi, bj = np.meshgrid(np.arange(nb), np.arange(nb), indexing="ij")
        bi, bj = bi.ravel(), bj.ravel()
        cx, cy = x0 + (bj + 0.5) * sp, y0 + (bi + 0.5) * sp
        kind = rng.random(len(bi))

        def polygon(x, y, hw, hh, tags):
            nonlocal w_id
            xs = [x - hw, x + hw, x + hw, x - hw]
            ys = [y - hh, y - hh, y + hh, y + hh]
            lo, la = ll(xs, ys)
            ids = []
            for a, b in zip(lo, la):
                n = nid()
                wr.add_node(osmium.osm.mutable.Node(id=n, location=(float(a), float(b))))
                ids.append(n)
            wr.add_way(osmium.osm.mutable.Way(id=w_id, nodes=ids + ids[:1], tags=tags))
            w_id += 1

        def point(x, y, tags):
            lo, la = ll(x, y)
            wr.add_node(osmium.osm.mutable.Node(id=nid(), location=(float(lo), float(la)), tags=tags))

        homes = np.flatnonzero(kind < 0.4)
        for k in homes:
            polygon(cx[k] + rng.uniform(-15, 15), cy[k] + rng.uniform(-15, 15), 10, 8,
                    {"building": "apartments", "building:levels": "6"})
        comp = np.flatnonzero(kind < 1 / 6)
        for k in comp:
            polygon(cx[k], cy[k], 35, 35, {"landuse": "residential", "name": f"compound {k}"})
        counts.update(homes=len(homes), compounds=len(comp))
        parks = np.flatnonzero((kind >= 0.4) & (kind < 0.43))
        for k in parks:
            polygon(cx[k], cy[k], 40, 40, {"leisure": "park" if k % 3 else "garden", "name": f"park {k}"})
        counts["parks"] = len(parks)
        # points of interest on the streets' sides: (tags, share of blocks)
        pois = [
            ({"highway": "bus_stop"}, 0.03), ({"amenity": "toilets"}, 0.01), ({"leisure": "fitness_station"}, 0.01),
            ({"amenity": "marketplace"}, 0.004), ({"shop": "supermarket"}, 0.01),
            ({"shop": "convenience", "opening_hours": "24/7"}, 0.005), ({"cuisine": "breakfast", "amenity": "cafe"}, 0.01),
            ({"amenity": "kindergarten"}, 0.004), ({"amenity": "school", "school": "primary"}, 0.002),
            ({"amenity": "school", "isced:level": "2"}, 0.001), ({"emergency": "assembly_point"}, 0.002),
            ({"amenity": "community_centre"}, 0.001),
        ]
        for tags, share in pois:
            pick = np.flatnonzero(rng.random(len(bi)) < share)
            for k in pick:
                point(cx[k] + rng.uniform(-45, 45), cy[k] - 42, tags)
            counts[next(iter(tags.values()))] = len(pick)
        for n in nodes:
            out.add_node(n)
        for w in ways:
            out.add_way(w)
    counts["osm_nodes_and_ways"] = next_id[0] + w_id
    return counts


# =============================================================================================
# workers and orchestration
# =============================================================================================
def run_worker(task: str, arg: str, result: str) -> None:
    peak = Peak()
    out = {"task": task, "arg": arg}
    base = peak.rss()
    peak.reset()
    t = time.perf_counter()
    try:
        path = Path(arg)
        if task == "notebook":
            out.update(notebook(path))
        elif task == "evaluate":
            out.update(evaluate_once(path))
        elif task in ("stages", "stages-no-outputs"):
            out.update(stages(path, peak, outputs=task == "stages"))
        elif task == "warmup":
            import urbancover as uc
            from urbancover.datasets import sample_path

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                uc.evaluate(sample_path(), rules=RULES)
        out["ok"] = True
    except Exception as err:  # noqa: BLE001 -- reported, not fatal to the run
        out.update(ok=False, error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc())
    out["worker_s"] = time.perf_counter() - t
    out["rss_after_imports_mb"] = base
    out["peak_mb"] = lifetime_peak_mb()
    Path(result).write_text(json.dumps(out))


def spawn(task: str, arg, tmp: Path, timeout: float) -> dict:
    result = tmp / f"{task}-{abs(hash(str(arg)))}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", task, str(arg), "--result", str(result)]
    t = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"task": task, "ok": False, "error": f"timed out after {timeout:.0f} s"}
    if not result.exists():
        return {"task": task, "ok": False, "error": f"exit {proc.returncode}: {proc.stderr[-2000:]}"}
    out = json.loads(result.read_text())
    out["wall_s"] = time.perf_counter() - t
    return out


def exponent(x, y) -> float | None:
    """Least-squares slope of log y against log x (the growth exponent)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = (x > 0) & (y > 0)
    if ok.sum() < 3:  # two points say little, and a missing stage would fake a slope
        return None
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


def machine() -> dict:
    import networkx
    import shapely

    import urbancover

    info = {"timestamp": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"), "cores": os.cpu_count(),
            "loadavg": os.getloadavg(), "python": platform.python_version(), "shapely": shapely.__version__,
            "geos": ".".join(map(str, shapely.geos_version)), "networkx": networkx.__version__,
            "urbancover": urbancover.__version__}
    try:
        info["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                            text=True, check=False).stdout.strip()
        info["src_dirty"] = bool(subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=ROOT,
                                                capture_output=True, text=True, check=False).stdout.strip())
    except OSError:
        pass
    return info


def _f(x, nd=2) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def write_markdown(res: dict, path: Path) -> None:
    m = res["machine"]
    L = ["# City scale: the whole preset over a city\n",
         f"`python benchmarks/city.py{res['args']}` on {m['timestamp']}, {m['cores']} cores, load average "
         f"{' / '.join(f'{v:.1f}' for v in m['loadavg'])}; commit {m.get('git_commit')}"
         f"{' + uncommitted src changes' if m.get('src_dirty') else ''}; shapely {m['shapely']} (GEOS {m['geos']}), "
         f"networkx {m['networkx']}. Times in seconds, memory in MiB (peak RSS of the process).\n"]
    nb, ev = res.get("notebook", {}), res.get("evaluate", {})
    L.append("## Malta: the whole preset against the one-rule notebook (same run)\n")
    L.append("| what | time (s) | peak memory (MiB) | ratio (notebook / this) |")
    L.append("|---|---|---|---|")
    if nb.get("ok"):
        L.append(f"| networkx notebook, ONE rule (bus stop 500 m, buildings): read {_f(nb['read_s'])}, graph "
                 f"{_f(nb['graph_s'])}, query {_f(nb['query_s'])} | {_f(nb['total_s'])} | {_f(nb['peak_mb'], 0)} | 1 |")
    else:
        L.append(f"| networkx notebook | failed: {nb.get('error')} | | |")
    for k, e in enumerate(res.get("evaluate_runs", [])):
        if e.get("ok"):
            ratio = nb["total_s"] / e["total_s"] if nb.get("ok") else None
            L.append(f"| urbancover.evaluate, all {e['rules']} rules, file to report (run {k + 1}) | {_f(e['total_s'])} | "
                     f"{_f(e['peak_mb'], 0)} | {_f(ratio)}x |")
        else:
            L.append(f"| urbancover.evaluate | failed: {e.get('error')} | | |")
    if nb.get("ok") and ev.get("ok"):
        L.append(f"\nShare of buildings within 500 m of a bus stop: notebook {nb['share_buildings_served']:.3f} "
                 f"(nearest node, {nb['buildings']} buildings of any kind), urbancover "
                 f"{ev['share_buildings_served_bus_stop_500']:.3f} (residential buildings, exact projection on edges).\n")
    L.append("## Stages, time (s) / peak memory (MiB)\n")
    cases = [c for c in res["cases"] if c.get("ok")]
    if cases:
        L.append("| stage | " + " | ".join(f"{c['name']} ({c['segments']:,} segments)" for c in cases) + " | exponent |")
        L.append("|---|" + "---|" * (len(cases) + 1))
        names = [s["stage"] for s in cases[0]["stages"]]
        seg = [c["segments"] for c in cases]
        for n in names + ["total"]:
            cells, ts = [], []
            for c in cases:
                if n == "total":
                    t, pk = sum(s["s"] for s in c["stages"]), max(s["peak_mb"] for s in c["stages"])
                else:
                    s = next((s for s in c["stages"] if s["stage"] == n), None)
                    t, pk = (s["s"], s["peak_mb"]) if s else (None, None)
                ts.append(t if t is not None else np.nan)
                cells.append(f"{_f(t)} / {_f(pk, 0)}")
            e = exponent(seg, ts)
            L.append(f"| {n} | " + " | ".join(cells) + f" | {_f(e)} |")
        L.append("\nExponent: slope of log(time) against log(segments) over the columns (1 = linear).")
        L.append("Peak memory of a stage is the process's peak RSS during it (what was loaded before counts).")
        L.append("The total's memory is the largest stage peak. The synthetic city writes no GeoPackage (its total has none); "
                 "stages near 0 s have no meaningful exponent.\n")
    for c in res["cases"]:
        if not c.get("ok"):
            L.append(f"* {c['name']}: failed: {c.get('error')}")
    if res.get("synthetic"):
        L.append(f"\nSynthetic city: {json.dumps(res['synthetic'])}")
    path.write_text("\n".join(L) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", nargs=2, metavar=("TASK", "ARG"), help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("--side", type=int, default=708, help="synthetic city: nodes per side (708: 1M segments)")
    ap.add_argument("--no-synthetic", action="store_true")
    ap.add_argument("--no-scaling", action="store_true", help="skip the quarter and half of Malta")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--out", default=str(HERE / "results" / "city.md"))
    args = ap.parse_args(argv)
    if args.worker:
        run_worker(args.worker[0], args.worker[1], args.result)
        return 0
    CACHE.mkdir(parents=True, exist_ok=True)
    malta = malta_path()
    flags = "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    res = {"args": flags, "machine": machine(), "cases": []}
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        print("warm-up (numba cache)", flush=True)
        spawn("warmup", "-", tmp, args.timeout)
        print("notebook / evaluate on Malta", flush=True)
        res["notebook"] = spawn("notebook", malta, tmp, args.timeout)
        res["evaluate_runs"] = [spawn("evaluate", malta, tmp, args.timeout) for _ in range(2)]
        ok = [e for e in res["evaluate_runs"] if e.get("ok")]
        res["evaluate"] = min(ok, key=lambda e: e["total_s"]) if ok else res["evaluate_runs"][0]
        extracts = []
        if not args.no_scaling:
            for share, name in ((0.25, "Malta, east quarter"), (0.5, "Malta, east half")):
                p = CACHE / f"malta-east-{int(share * 100)}.osm.pbf"
                if not p.exists():
                    print(f"cutting {name}", flush=True)
                    clip_east(malta, share, p)
                extracts.append((name, p))
        extracts.append(("Malta", malta))
        if not args.no_synthetic:
            p = CACHE / f"synthetic-{args.side}-sorted.osm.pbf"  # (earlier runs wrote nodes after ways)
            meta = CACHE / f"synthetic-{args.side}-sorted.json"
            if not p.exists() or not meta.exists():
                print(f"writing the synthetic city ({args.side} x {args.side})", flush=True)
                meta.write_text(json.dumps(synthetic_city(args.side, p)))
            res["synthetic"] = json.loads(meta.read_text())
            extracts.append((f"synthetic city {args.side}x{args.side}", p))
        for name, p in extracts:
            print(f"stages: {name}", flush=True)
            # the synthetic city's GeoPackage (a million-row layer per rule) is left out: not a city's use
            out = spawn("stages-no-outputs" if name.startswith("synthetic") else "stages", p, tmp, args.timeout)
            out["name"] = name
            res["cases"].append(out)
    write_results(res, Path(args.out), write_markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
