"""Benchmark of urbancover.network_distance against the notebook baseline and pandana.

One command runs every case and writes a Markdown report and a JSON file of the raw numbers:

    python benchmarks/run.py                 # full run (~10 min on 2 cores)
    python benchmarks/run.py --quick         # samples + a 20k-edge grid (< 2 min)
    python benchmarks/run.py --out benchmarks/results/latest.md
    python benchmarks/run.py --city          # the whole preset over Malta against the one-rule notebook

Every (case, engine) pair runs in its own Python subprocess (this file with ``--worker``), so the
peak memory of one engine does not pollute another. Inside a worker the peak resident set size of
each phase is read from the kernel (``VmHWM`` in ``/proc/self/status``, reset between phases through
``/proc/self/clear_refs``); a psutil sampling thread is the fallback where that is not available.

Engines
-------
urbancover  ``urbancover.network_distance(net, sources, net.nodes, cutoff)`` (the public API:
            sources are snapped onto edges, targets are all network nodes).
networkx    baseline (a), the typical notebook: an OSMnx-style ``MultiDiGraph`` (both directions,
            ``length``), sources snapped to their nearest node with ``osmnx.distance.nearest_nodes``,
            then ``nx.multi_source_dijkstra_path_length(G, nodes, cutoff, weight="length")``.
pandana     baseline (b): ``pandana.Network`` (contraction hierarchy), ``precompute(cutoff)``,
            ``set_pois(category, maxdist, maxitems=1, x, y)``, ``nearest_pois(maxdist, category, 1)``.

See benchmarks/README.md for the cases and how to read the report.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SAMPLE = ROOT / "data" / "sample"

CUTOFFS = (500.0, None)  # None = full (no cut-off)
PANDANA_FULL_MAXDIST = 20_000.0  # pandana needs a finite search radius; 20 km > any distance in every case
N_SOURCES = 1000
GRID_SPACING = 100.0
GRID_JITTER = 10.0
GRID_CRS = 32649
TOL = 0.01  # metres: agreement required between engines for sources placed on nodes

# name -> definition. "quick" cases run in --quick; the others only in the full run.
CASES: dict[str, dict] = {
    "shenzhen": {"kind": "osm", "path": "shenzhen_longgang.osm.bz2", "sources": "random", "quick": True,
                     "what": "Shenzhen Longgang sample, walk network; 1000 random facility points along the streets"},
    "shenzhen-busstops": {"kind": "osm", "path": "shenzhen_longgang.osm.bz2", "sources": "bus_stops", "quick": True,
                              "what": "Shenzhen Longgang sample; the 16 OSM bus stops as sources"},
    "shanghai": {"kind": "osm", "path": "shanghai_jingan_drive.osm.bz2", "sources": "random", "quick": True,
                     "what": "Shanghai Jing'an sample (OSMnx drive export), walk filter; 1000 random points"},
    "grid-20k": {"kind": "grid", "side": 100, "quick": True,
                     "what": "synthetic 100 x 100 node street grid (19,800 edges), 100 m spacing, +-10 m jitter"},
    "grid-100k": {"kind": "grid", "side": 224, "quick": False,
                      "what": "synthetic 224 x 224 grid (99,904 edges): the largest grid pandana handles in the time budget"},
    "grid-1M": {"kind": "grid", "side": 708, "quick": False,
                    "what": "synthetic 708 x 708 grid (1,001,112 edges), 100 m spacing, +-10 m jitter"},
}
ENGINES = ("build", "urbancover", "networkx", "pandana")


# =============================================================================================
# memory
# =============================================================================================
def _status(field: str) -> float:
    """A ``Vm*`` field of /proc/self/status in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    raise KeyError(field)


class Peak:
    """Peak RSS of the current process since the last :meth:`reset`, in MiB."""

    def __init__(self) -> None:
        self.method = "VmHWM (/proc/self/clear_refs reset)"
        try:
            self._clear()
            _status("VmHWM")
            self._thread = None
        except OSError:
            import psutil

            self.method = "psutil RSS sampled every 2 ms"
            self._proc = psutil.Process()
            self._max = 0.0
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()

    @staticmethod
    def _clear() -> None:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")

    def _sample(self) -> None:
        while True:
            self._max = max(self._max, self._proc.memory_info().rss / 2**20)
            time.sleep(0.002)

    def rss(self) -> float:
        if self._thread is None:
            return _status("VmRSS")
        return self._proc.memory_info().rss / 2**20

    def reset(self) -> None:
        gc.collect()
        if self._thread is None:
            self._clear()
        else:
            self._max = self.rss()

    def peak(self) -> float:
        if self._thread is None:
            return _status("VmHWM")
        return max(self._max, self.rss())


def write_results(res: dict, out: Path, write_markdown) -> None:
    """Write a benchmark's figures: ``out`` as Markdown (``write_markdown(res, out)``) beside its
    ``.json``, and print the Markdown."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(res, indent=1, default=str))
    write_markdown(res, out)
    print(out.read_text())


def lifetime_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# =============================================================================================
# data
# =============================================================================================
def case_seed(case: str, salt: str = "") -> int:
    return zlib.crc32((case + salt).encode())


def grid_arrays(side: int, seed: int = 0):
    """Node x, y and edge u, v of a jittered side x side street grid (row-major node numbering)."""
    rng = np.random.default_rng(seed)
    jj, ii = np.meshgrid(np.arange(side), np.arange(side))
    x = 500_000.0 + jj * GRID_SPACING + rng.uniform(-GRID_JITTER, GRID_JITTER, (side, side))
    y = 2_500_000.0 + ii * GRID_SPACING + rng.uniform(-GRID_JITTER, GRID_JITTER, (side, side))
    idx = np.arange(side * side).reshape(side, side)
    u = np.r_[idx[:, :-1].ravel(), idx[:-1, :].ravel()]
    v = np.r_[idx[:, 1:].ravel(), idx[1:, :].ravel()]
    return x.ravel(), y.ravel(), u, v


def grid_network(side: int):
    """The grid as an urbancover Network built directly from arrays (straight 2-vertex edges)."""
    import geopandas as gpd
    import pyproj
    import shapely

    from urbancover.network.walk import Network

    x, y, u, v = grid_arrays(side)
    xy = np.column_stack([x, y])
    geom = shapely.linestrings(np.stack([xy[u], xy[v]], axis=1))
    crs = pyproj.CRS(GRID_CRS)
    nodes = gpd.GeoDataFrame({"osmid": np.arange(len(x))}, geometry=shapely.points(xy), crs=crs)
    edges = gpd.GeoDataFrame({"u": u, "v": v, "length": shapely.length(geom)}, geometry=geom, crs=crs)
    return Network(nodes=nodes, edges=edges, crs=crs, bounds=tuple(float(b) for b in nodes.total_bounds))


def grid_lines(side: int):
    """The same grid as one LineString per row and per column of nodes (what walk_network splits)."""
    import geopandas as gpd
    import shapely

    x, y, _, _ = grid_arrays(side)
    X, Y = x.reshape(side, side), y.reshape(side, side)
    rows = shapely.linestrings(np.stack([X, Y], axis=2))
    cols = shapely.linestrings(np.stack([X.T, Y.T], axis=2))
    return gpd.GeoDataFrame({"kind": ["row"] * side + ["col"] * side}, geometry=np.r_[rows, cols], crs=GRID_CRS)


def load_network(case: str):
    import urbancover

    spec = CASES[case]
    if spec["kind"] == "grid":
        return grid_network(spec["side"])
    return urbancover.walk_network(SAMPLE / spec["path"])


def random_sources(net, n: int, seed: int):
    """n points along the streets (edge chosen by length, position uniform) moved up to 15 m off them."""
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(seed)
    length = net.length
    e = rng.choice(net.n_edges, size=n, p=length / length.sum())
    pts = shapely.line_interpolate_point(net.geometry[e], rng.uniform(0, 1, n), normalized=True)
    xy = shapely.get_coordinates(pts) + rng.uniform(-15, 15, (n, 2))
    return gpd.GeoDataFrame(geometry=shapely.points(xy), crs=net.crs)


def load_sources(case: str, net):
    import urbancover

    spec = CASES[case]
    if spec.get("sources") == "bus_stops":
        osm = urbancover.read_osm(SAMPLE / spec["path"])
        stops = osm.features[osm.features["highway"] == "bus_stop"]
        return stops[["geometry"]].to_crs(net.crs).reset_index(drop=True)
    return random_sources(net, N_SOURCES, case_seed(case, "sources"))


def node_sources(case: str, net):
    """Node positions (and points exactly on them) used by the correctness check, drawn from the
    nodes of the network's main part: urbancover places a point on a scrap of network (a lone
    footway, a mapping island) onto the main network nearby, as the baselines do not, so a source
    on a scrap would compare two different models, not two engines."""
    import geopandas as gpd

    main = np.unique(np.r_[net.u[net.main_edges], net.v[net.main_edges]])
    k = int(min(N_SOURCES, max(10, len(main) // 10), len(main)))
    rng = np.random.default_rng(case_seed(case, "check"))
    idx = np.sort(rng.choice(main, size=k, replace=False))
    return idx, gpd.GeoDataFrame(geometry=net.nodes.geometry.values[idx], crs=net.crs)


def source_xy(sources) -> np.ndarray:
    import shapely

    return shapely.get_coordinates(sources.geometry.values)


def cutoff_name(c) -> str:
    return "full" if c is None else f"{c:g} m"


# =============================================================================================
# workers (one subprocess per case and engine)
# =============================================================================================
def _timed(fn, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - t, out


def worker_build(case: str, peak: Peak, out: dict, quick: bool) -> None:
    """Time of building the urbancover network from its source, and its peak memory."""
    import urbancover

    spec = CASES[case]
    if spec["kind"] == "osm":
        path = SAMPLE / spec["path"]
        base = peak.rss()
        peak.reset()
        t_read, osm = _timed(urbancover.read_osm, path)
        t_net, net = _timed(urbancover.walk_network, osm)
        out["read_osm_s"] = t_read
        out["walk_network_s"] = t_net
        out["build_total_s"] = t_read + t_net
        out["input"] = f"{path.name}: read_osm + walk_network(OSMData)"
    else:
        side = spec["side"]
        lines = grid_lines(side)
        base = peak.rss()
        peak.reset()
        t_net, net = _timed(urbancover.walk_network, lines, filter=None)
        out["walk_network_s"] = t_net
        out["build_total_s"] = t_net
        out["input"] = f"GeoDataFrame of {len(lines)} LineStrings (one per grid row/column, {side} vertices each), filter=None"
        # the benchmark itself uses the network built from arrays: check both are the same graph
        del lines
        t_arr, ref = _timed(grid_network, side)
        out["network_from_arrays_s"] = t_arr
        out["same_as_array_network"] = bool(
            net.n_nodes == ref.n_nodes and net.n_edges == ref.n_edges
            and abs(net.length.sum() - ref.length.sum()) <= 1e-9 * ref.length.sum()
        )
    out["peak_mb"] = peak.peak()
    out["base_mb"] = base
    out["delta_mb"] = out["peak_mb"] - base
    out["n_nodes"] = int(net.n_nodes)
    out["n_edges"] = int(net.n_edges)
    out["km"] = float(net.length.sum() / 1000)


def _uc_stages(net_factory, sources, targets, cutoff) -> dict:
    """Wall time of each step of one cold network_distance call (uses urbancover internals)."""
    from scipy.sparse.csgraph import dijkstra

    from urbancover import engine
    from urbancover.engine.graph import check_cutoff, seed_arcs, with_virtual_sources
    from urbancover.network.walk import snap

    st = {}
    net = net_factory()
    st["csr_build"], _ = _timed(lambda: net.csr)
    st["strtree_build"], _ = _timed(lambda: net.tree)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        st["snap_sources (seeds)"], (s, _geoms) = _timed(snap.seeds, net, sources)
        st["virtual_source_graph"], graph = _timed(lambda: with_virtual_sources(net.csr, *seed_arcs(net, s)))
        n = net.n_nodes
        st["dijkstra"], _ = _timed(
            dijkstra, graph, directed=True, indices=np.arange(n, n + len(s)), min_only=True,
            limit=check_cutoff(cutoff), return_predecessors=True,
        )
        field = engine.distance_field(net, sources, cutoff)  # same pass, to get the object for .at
        st["targets_to_geometry"], tg = _timed(snap.as_geometry, targets, net.crs, "targets")
        st["snap_targets"], snapped = _timed(snap.snap_geometries, net, tg)
        st["distance_at_targets"], _ = _timed(field.at_snapped, snapped, geoms=tg)
    return st


def _snap_diagnostics(net, targets) -> dict:
    """Where target snapping spends its time: STRtree.query_nearest with and without max_distance."""
    import geopandas as gpd
    import shapely
    from scipy.spatial import cKDTree

    from urbancover.core import settings

    g = targets.geometry.to_numpy()
    tree = net.tree
    out = {}
    out["query_nearest(max_distance=settings.max_snap_distance)"], _ = _timed(
        tree.query_nearest, g, return_distance=True, all_matches=False, max_distance=settings.max_snap_distance)
    out["query_nearest(no max_distance)"], (idx, _) = _timed(
        tree.query_nearest, g, return_distance=True, all_matches=False)
    out["line_locate_point"], _ = _timed(shapely.line_locate_point, net.geometry[idx[1]], g[idx[0]])
    xy = shapely.get_coordinates(g)
    out["cKDTree(node xy) build+query (node fast path)"], _ = _timed(lambda: cKDTree(shapely.get_coordinates(net.nodes.geometry.values)).query(xy))
    # random points: the order of queries matters
    rng = np.random.default_rng(7)
    b = net.nodes.total_bounds
    r = shapely.points(rng.uniform(b[0], b[2], len(g)), rng.uniform(b[1], b[3], len(g)))
    out["random points: query_nearest(max_distance)"], _ = _timed(
        tree.query_nearest, r, return_distance=True, all_matches=False, max_distance=settings.max_snap_distance)
    out["random points: query_nearest(no max_distance)"], _ = _timed(
        tree.query_nearest, r, return_distance=True, all_matches=False)
    t0 = time.perf_counter()
    order = np.argsort(gpd.GeoSeries(r).hilbert_distance(total_bounds=b).to_numpy())
    tree.query_nearest(r[order], return_distance=True, all_matches=False)
    out["random points: Hilbert sort + query_nearest(no max_distance)"] = time.perf_counter() - t0
    out["n_points"] = len(g)
    return out


def worker_urbancover(case: str, peak: Peak, out: dict, quick: bool) -> None:
    import urbancover
    from urbancover.network.walk import Network

    net = load_network(case)
    sources = load_sources(case, net)
    chk_idx, chk_sources = node_sources(case, net)
    out["n_nodes"], out["n_edges"], out["n_sources"] = int(net.n_nodes), int(net.n_edges), len(sources)

    def fresh():  # same layers, empty caches (CSR matrix, STRtree): a cold start
        return Network(nodes=net.nodes, edges=net.edges, crs=net.crs, bounds=net.bounds)

    repeats = 2 if net.n_edges > 500_000 else (3 if net.n_edges > 50_000 else 5)
    cold_repeats = 2 if net.n_edges > 500_000 else 3
    checks = {}
    out["modes"] = {}
    for cutoff in CUTOFFS:
        m = {}
        cold = []
        for r in range(cold_repeats):  # each on a fresh Network; the first one also gives the peak memory
            f = fresh()
            if r == 0:
                base = peak.rss()
                peak.reset()
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                t, d = _timed(urbancover.network_distance, f, sources, f.nodes, cutoff)
            cold.append(t)
            if r == 0:
                m["peak_mb"] = peak.peak()
                m["base_mb"] = base
                m["delta_mb"] = m["peak_mb"] - base
                m["warnings"] = sorted({str(x.message)[:160] for x in w})
        m["cold_s"] = min(cold)
        m["cold_all_s"] = cold
        warm = [_timed(urbancover.network_distance, f, sources, f.nodes, cutoff)[0] for _ in range(repeats)]
        m["warm_s"] = min(warm)
        m["warm_all_s"] = warm
        field = [_timed(urbancover.distance_field, f, sources, cutoff)[0] for _ in range(repeats)]
        m["field_only_warm_s"] = min(field)
        m["field_only_all_s"] = field
        fin = np.isfinite(d)
        m["reached"] = int(fin.sum())
        m["mean_m"] = float(d[fin].mean()) if fin.any() else None
        m["max_m"] = float(d[fin].max()) if fin.any() else None
        try:
            m["stages_cold_s"] = _uc_stages(fresh, sources, f.nodes, cutoff)
        except Exception as err:  # noqa: BLE001 -- internals changed: the profile is optional
            m["stages_cold_s"] = {"error": f"{type(err).__name__}: {err}"}
        del d
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # node distances of the engine (what the baselines compute) and the public API at node targets
            checks[cutoff_name(cutoff)] = urbancover.distance_field(f, chk_sources, cutoff).node_distance
            checks["api " + cutoff_name(cutoff)] = urbancover.network_distance(f, chk_sources, f.nodes, cutoff)
        out["modes"][cutoff_name(cutoff)] = m
        del f
    if case == "grid-1M" or (quick and case == "grid-20k"):
        import cProfile
        import io
        import pstats

        f = fresh()
        prof = cProfile.Profile()
        prof.enable()
        urbancover.network_distance(f, sources, f.nodes, 500.0)
        prof.disable()
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(12)
        out["cprofile_cold_500"] = "\n".join(
            ln.replace(str(ROOT) + "/", "").replace(sys.prefix + "/", "<prefix>/")
            for ln in s.getvalue().splitlines()[4:] if ln.strip())
        out["snap_diagnostics_s"] = _snap_diagnostics(f, f.nodes)
    out["check_nodes"] = chk_idx.tolist() if len(chk_idx) <= 50 else None
    np.savez(out["_check_file"], **checks)


def _nx_graph(net):
    """OSMnx-style MultiDiGraph of the same network: both directions, node x/y, edge length."""
    import networkx as nx
    import shapely

    xy = shapely.get_coordinates(net.nodes.geometry.values)
    g = nx.MultiDiGraph(crs=net.crs)
    g.add_nodes_from((i, {"x": float(a), "y": float(b)}) for i, (a, b) in enumerate(xy.tolist()))
    u, v, w = net.u.tolist(), net.v.tolist(), net.length.tolist()
    g.add_edges_from((a, b, {"length": c}) for a, b, c in zip(u, v, w))
    g.add_edges_from((b, a, {"length": c}) for a, b, c in zip(u, v, w))
    return g


def worker_networkx(case: str, peak: Peak, out: dict, quick: bool) -> None:
    import networkx as nx
    import osmnx as ox

    net = load_network(case)
    sources = load_sources(case, net)
    sxy = source_xy(sources)
    chk_idx, _ = node_sources(case, net)
    n = net.n_nodes
    out["n_nodes"], out["n_edges"], out["n_sources"] = int(n), int(net.n_edges), len(sources)
    base = peak.rss()
    peak.reset()
    out["graph_build_s"], G = _timed(_nx_graph, net)
    out["graph_peak_mb"] = peak.peak()
    out["graph_delta_mb"] = out["graph_peak_mb"] - base
    out["base_mb"] = base

    def query(cutoff, nodes=None):
        t = time.perf_counter()
        if nodes is None:
            nodes = ox.distance.nearest_nodes(G, sxy[:, 0], sxy[:, 1])
        t_snap = time.perf_counter() - t
        lengths = nx.multi_source_dijkstra_path_length(G, {int(k) for k in nodes}, cutoff=cutoff, weight="length")
        t_dij = time.perf_counter() - t - t_snap
        d = np.full(n, np.inf)
        d[np.fromiter(lengths.keys(), dtype=np.int64, count=len(lengths))] = np.fromiter(
            lengths.values(), dtype=float, count=len(lengths))
        return time.perf_counter() - t, t_snap, t_dij, d

    repeats = 1 if net.n_edges > 50_000 else 3
    checks = {}
    out["modes"] = {}
    for cutoff in CUTOFFS:
        m = {}
        peak.reset()
        runs = [query(cutoff) for _ in range(repeats)]
        m["peak_mb"] = peak.peak()
        m["delta_mb"] = m["peak_mb"] - base
        k = int(np.argmin([r[0] for r in runs]))  # fastest of the repeats, as for urbancover
        m["query_s"], m["snap_s"], m["dijkstra_s"] = runs[k][:3]
        m["query_all_s"] = [r[0] for r in runs]
        d = runs[k][3]
        fin = np.isfinite(d)
        m["reached"] = int(fin.sum())
        m["mean_m"] = float(d[fin].mean()) if fin.any() else None
        del runs, d
        checks[cutoff_name(cutoff)] = query(cutoff, nodes=chk_idx)[3]
        out["modes"][cutoff_name(cutoff)] = m
    np.savez(out["_check_file"], **checks)


def worker_pandana(case: str, peak: Peak, out: dict, quick: bool) -> None:
    import pandana
    import pandas as pd

    net = load_network(case)
    sources = load_sources(case, net)
    sxy = source_xy(sources)
    chk_idx, _ = node_sources(case, net)
    import shapely

    xy = shapely.get_coordinates(net.nodes.geometry.values)
    keep = net.u != net.v  # self-loops never shorten a path; pandana's CH does not need them
    n = net.n_nodes
    out["n_nodes"], out["n_edges"], out["n_sources"] = int(n), int(net.n_edges), len(sources)
    base = peak.rss()
    peak.reset()
    out["ch_build_s"], pn = _timed(
        pandana.Network, pd.Series(xy[:, 0]), pd.Series(xy[:, 1]), pd.Series(net.u[keep]),
        pd.Series(net.v[keep]), pd.DataFrame({"length": net.length[keep]}), twoway=True)
    out["ch_peak_mb"] = peak.peak()
    out["ch_delta_mb"] = out["ch_peak_mb"] - base
    out["base_mb"] = base
    repeats = 1 if net.n_edges > 50_000 else 3

    def nearest(cat, maxdist, x, y):
        t = time.perf_counter()
        pn.set_pois(cat, maxdist, 1, pd.Series(x), pd.Series(y))
        t_set = time.perf_counter() - t
        df = pn.nearest_pois(maxdist, cat, num_pois=1)
        t_near = time.perf_counter() - t - t_set
        d = df[1].to_numpy(dtype=float).copy()
        d[d >= maxdist] = np.inf  # pandana returns maxdist where no POI was found
        return t_set, t_near, d

    checks = {}
    out["modes"] = {}
    for cutoff in CUTOFFS:
        m = {}
        maxdist = cutoff if cutoff is not None else PANDANA_FULL_MAXDIST
        m["maxdist_m"] = maxdist
        peak.reset()
        if cutoff is not None:
            m["precompute_s"], _ = _timed(pn.precompute, maxdist)
        else:
            m["precompute_s"] = None  # skipped: an all-pairs table within 20 km; nearest_pois does not use it
        runs = [nearest(f"cat{i}", maxdist, sxy[:, 0], sxy[:, 1]) for i in range(repeats)]
        m["peak_mb"] = peak.peak()
        m["delta_mb"] = m["peak_mb"] - base
        k = int(np.argmin([r[0] + r[1] for r in runs]))  # fastest of the repeats
        m["set_pois_s"], m["nearest_pois_s"], d = runs[k]
        m["query_all_s"] = [r[0] + r[1] for r in runs]
        m["query_s"] = m["set_pois_s"] + m["nearest_pois_s"]
        m["total_s"] = out["ch_build_s"] + (m["precompute_s"] or 0.0) + m["query_s"]
        fin = np.isfinite(d)
        m["reached"] = int(fin.sum())
        m["mean_m"] = float(d[fin].mean()) if fin.any() else None
        del runs, d
        checks[cutoff_name(cutoff)] = nearest("check", maxdist, xy[chk_idx, 0], xy[chk_idx, 1])[2]
        out["modes"][cutoff_name(cutoff)] = m
    np.savez(out["_check_file"], **checks)


WORKERS = {"build": worker_build, "urbancover": worker_urbancover, "networkx": worker_networkx, "pandana": worker_pandana}


def engine_source_hash() -> str:
    """Short hash of urbancover's network.py and engine.py as imported (detects edits during a run)."""
    import hashlib

    import urbancover.network.snap
    import urbancover.network.walk

    h = hashlib.sha1()
    src = Path(urbancover.network.walk.__file__).parent
    for path in [Path(urbancover.network.walk.__file__), Path(urbancover.network.snap.__file__), *sorted((src / "engine").glob("*.py"))]:
        h.update(path.read_bytes())
    return h.hexdigest()[:10]


def run_worker(engine: str, case: str, result: str, quick: bool) -> None:
    peak = Peak()
    out = {"engine": engine, "case": case, "_check_file": result.replace(".json", ".npz"),
           "loadavg_at_start": os.getloadavg(), "engine_source": engine_source_hash()}
    t = time.perf_counter()
    try:
        WORKERS[engine](case, peak, out, quick)
        out["ok"] = True
    except Exception as err:  # noqa: BLE001 -- reported in the results instead of aborting the run
        out["ok"] = False
        out["error"] = f"{type(err).__name__}: {err}"
        out["traceback"] = traceback.format_exc()
    out["worker_s"] = time.perf_counter() - t
    out["lifetime_peak_mb"] = lifetime_peak_mb()
    out["memory_method"] = peak.method
    with open(result, "w") as f:
        json.dump(out, f)


# =============================================================================================
# orchestration
# =============================================================================================
def spawn(engine: str, case: str, tmp: Path, quick: bool, timeout: float) -> dict:
    """Run one worker in a fresh interpreter; returns its result dict (or why it failed)."""
    result = tmp / f"{case}-{engine}.json"
    log = tmp / f"{case}-{engine}.log"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", engine, case, "--result", str(result)]
    if quick:
        cmd.append("--quick")
    t = time.perf_counter()
    with open(log, "w") as lf:
        proc = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT, cwd=ROOT)
        ru = None
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            if time.perf_counter() - t > timeout:
                proc.kill()
                _, status, ru = os.wait4(proc.pid, 0)
                proc.returncode = os.waitstatus_to_exitcode(status)
                return {"engine": engine, "case": case, "ok": False, "timed_out": True,
                        "error": f"did not finish within the {timeout:.0f} s cap", "wall_s": time.perf_counter() - t}
            time.sleep(0.05)
    wall = time.perf_counter() - t
    if not result.exists():
        tail = log.read_text()[-2000:]
        return {"engine": engine, "case": case, "ok": False, "error": f"worker exited {proc.returncode}: {tail}", "wall_s": wall}
    out = json.loads(result.read_text())
    out["wall_s"] = wall
    out["child_ru_maxrss_mb"] = ru.ru_maxrss / 1024.0 if ru is not None else None
    return out


def compare(case: str, tmp: Path, engines: list[str]) -> dict:
    """Max abs difference of node distances between engines (sources placed exactly on nodes).

    urbancover is compared twice: its node distances (``DistanceField.node_distance``, what the
    baselines compute; must agree within TOL) and ``network_distance`` with the nodes given as target
    points (these are snapped onto an edge, so they differ where a node coincides with a vertex of
    another, unconnected edge: a tie the snapping may resolve either way).
    """
    arrays = {}
    for e in engines:
        f = tmp / f"{case}-{e}.npz"
        if f.exists():
            arrays[e] = dict(np.load(f))
    if "urbancover" in arrays:
        arrays["urbancover network_distance"] = {
            k[4:]: v for k, v in arrays["urbancover"].items() if k.startswith("api ")}
    out = {}
    names = list(arrays)
    for mode in (cutoff_name(c) for c in CUTOFFS):
        cutoff = next(c for c in CUTOFFS if cutoff_name(c) == mode)
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                if names[j] == "urbancover network_distance" and names[i] != "networkx":
                    continue
                strict = "network_distance" not in names[i] + names[j]
                a, b = arrays[names[i]][mode], arrays[names[j]][mode]
                both = np.isfinite(a) & np.isfinite(b)
                only = np.isfinite(a) != np.isfinite(b)
                if cutoff is not None:  # a node at the cut-off may fall either side of it by rounding
                    near = np.abs(np.where(np.isfinite(a), a, b) - cutoff) <= TOL
                    only &= ~near
                diff = np.abs(a[both] - b[both])
                out[f"{names[i]} vs {names[j]}, {mode}"] = {
                    "max_abs_diff_m": float(diff.max()) if both.any() else 0.0, "compared_nodes": int(both.sum()),
                    "nodes_off_by_more_than_tol": int((diff > TOL).sum()), "reach_mismatch": int(only.sum()),
                    "ok": bool((diff <= TOL).all() and only.sum() == 0), "strict": strict,
                }
    return out


def machine_info() -> dict:
    import geopandas
    import networkx
    import scipy
    import shapely

    import urbancover

    info = {
        "timestamp": _dt.datetime.now(_dt.UTC).astimezone().isoformat(timespec="seconds"),
        "hostname": platform.node(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "shapely": shapely.__version__,
        "geos": ".".join(map(str, shapely.geos_version)),
        "geopandas": geopandas.__version__,
        "networkx": networkx.__version__,
        "urbancover": urbancover.__version__,
    }
    for mod in ("osmnx", "pandana", "psutil"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = None
    try:
        import psutil

        info["physical_cores"] = psutil.cpu_count(logical=False)
        info["ram_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    try:
        info["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                            text=True, check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src/urbancover/network/walk.py", "src/urbancover/network/snap.py", "src/urbancover/engine"], cwd=ROOT, capture_output=True,
                               text=True, check=False).stdout.strip()
        info["src_dirty"] = bool(dirty)
    except OSError:  # no git
        pass
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# =============================================================================================
# report
# =============================================================================================
def _f(x, nd=3) -> str:
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 0.1:
        return f"{x:.{min(nd, 2)}f}"
    return f"{x:.{nd}f}" if x >= 0.001 else f"{x:.2g}"


def _ratio(a, b) -> str:
    if a is None or b is None or b == 0:
        return "–"
    r = a / b
    return f"{r:,.0f}x" if r >= 100 else f"{r:.1f}x" if r >= 1 else f"{r:.2f}x"


def summarise(results: dict) -> dict:
    """Rows of the main table and the target verdicts."""
    rows = []
    for case, eng in results["cases"].items():
        uc = eng.get("urbancover", {})
        nx_ = eng.get("networkx", {})
        pd_ = eng.get("pandana", {})
        for mode in (cutoff_name(c) for c in CUTOFFS):
            u = uc.get("modes", {}).get(mode, {}) if uc.get("ok") else {}
            a = nx_.get("modes", {}).get(mode, {}) if nx_.get("ok") else {}
            b = pd_.get("modes", {}).get(mode, {}) if pd_.get("ok") else {}
            row = {
                "case": case, "mode": mode, "nodes": uc.get("n_nodes"), "edges": uc.get("n_edges"),
                "sources": uc.get("n_sources"),
                "uc_cold": u.get("cold_s"), "uc_warm": u.get("warm_s"), "uc_field": u.get("field_only_warm_s"),
                "uc_peak": u.get("peak_mb"), "uc_delta": u.get("delta_mb"),
                "nx_query": a.get("query_s"), "nx_build": nx_.get("graph_build_s") if a else None,
                "nx_peak": a.get("peak_mb"), "nx_delta": a.get("delta_mb"),
                "pd_total": b.get("total_s"), "pd_ch": pd_.get("ch_build_s") if b else None,
                "pd_pre": b.get("precompute_s"), "pd_set": b.get("set_pois_s"), "pd_near": b.get("nearest_pois_s"),
                "pd_query": b.get("query_s"), "pd_peak": b.get("peak_mb"), "pd_delta": b.get("delta_mb"),
                "pd_note": None if pd_.get("ok") else pd_.get("error"),
                "nx_note": None if nx_.get("ok") else nx_.get("error"),
            }
            c = row["uc_cold"]
            row["ratio_a"] = row["nx_query"] / c if c and row["nx_query"] else None
            row["ratio_a_field"] = row["nx_query"] / row["uc_field"] if row["uc_field"] and row["nx_query"] else None
            row["ratio_a_build"] = (row["nx_query"] + row["nx_build"]) / c if c and row["nx_query"] else None
            row["ratio_b"] = row["pd_total"] / c if c and row["pd_total"] else None
            row["ratio_b_query_warm"] = row["pd_query"] / row["uc_warm"] if row["uc_warm"] and row["pd_query"] else None
            rows.append(row)
    targets = []
    ra = [r for r in rows if r["ratio_a"] is not None]
    if ra:
        worst = min(ra, key=lambda r: r["ratio_a"])
        targets.append(("≥ 20x faster than baseline (a) (nx query only, urbancover cold)",
                        (f"min {worst['ratio_a']:.1f}x ({worst['case']}, {worst['mode']}); "
                         f"range {min(r['ratio_a'] for r in ra):.1f}x – {max(r['ratio_a'] for r in ra):.1f}x"),
                        all(r["ratio_a"] >= 20 for r in ra)))
    raf = [r for r in rows if r["ratio_a_field"] is not None]
    if raf:
        worst = min(raf, key=lambda r: r["ratio_a_field"])
        targets.append(("(info) vs baseline (a), engine only: nx query / distance_field (warm, no target snapping)",
                        f"min {worst['ratio_a_field']:.1f}x ({worst['case']}, {worst['mode']})"
                        + "".join(f"; {r['case']} {r['mode']}: {r['ratio_a_field']:.1f}x" for r in raf
                                  if r['edges'] and r['edges'] > 50_000),
                        all(r["ratio_a_field"] >= 20 for r in raf)))
    rb = [r for r in rows if r["ratio_b"] is not None]
    if rb:
        worst = min(rb, key=lambda r: r["ratio_b"])
        targets.append(("no slower than pandana (b) incl. CH build + precompute (urbancover cold)",
                        f"min {worst['ratio_b']:.2f}x ({worst['case']}, {worst['mode']})",
                        all(r["ratio_b"] >= 1 for r in rb)))
    rbq = [r for r in rows if r["ratio_b_query_warm"] is not None]
    if rbq:
        worst = min(rbq, key=lambda r: r["ratio_b_query_warm"])
        targets.append(("(info) vs pandana query only (set_pois + nearest_pois vs urbancover warm)",
                        f"min {worst['ratio_b_query_warm']:.2f}x ({worst['case']}, {worst['mode']})",
                        all(r["ratio_b_query_warm"] >= 1 for r in rbq)))
    big = [r for r in rows if r["case"] == "grid-1M" and r["uc_cold"] is not None]
    if big:
        targets.append(("< 1 s for one category on 1M edges (network_distance, cold)",
                        "; ".join(f"{r['mode']}: {r['uc_cold']:.2f} s (warm {r['uc_warm']:.2f} s, "
                                  f"distance_field only {r['uc_field']:.2f} s)" for r in big),
                        all(r["uc_cold"] < 1 for r in big)))
        targets.append(("peak memory < 2 GB on 1M edges (urbancover process, absolute)",
                        "; ".join(f"{r['mode']}: {r['uc_peak']:.0f} MiB (+{r['uc_delta']:.0f} over the loaded network)"
                                  for r in big),
                        all(r["uc_peak"] < 2048 for r in big)))
    return {"rows": rows, "targets": targets}


def write_markdown(results: dict, path: Path) -> None:
    s = summarise(results)
    m = results["machine"]
    L = []
    L.append("# urbancover benchmark: network_distance vs notebook baseline (networkx) and pandana\n")
    L.append(f"- **when**: {m['timestamp']}  ·  mode: **{results['mode']}**  ·  run time {results['run_s']:.0f} s  ·  "
             f"command: `{results['command']}`")
    L.append(f"- **machine**: {m.get('cpu')}, {m.get('logical_cores')} logical cores"
             f"{', ' + str(m['physical_cores']) + ' physical' if m.get('physical_cores') else ''}"
             f"{', ' + str(m['ram_gb']) + ' GiB RAM' if m.get('ram_gb') else ''}; {m['platform']}")
    L.append(f"- **versions**: python {m['python']}, numpy {m['numpy']}, scipy {m['scipy']}, shapely {m['shapely']} "
             f"(GEOS {m['geos']}), geopandas {m['geopandas']}, networkx {m['networkx']}, osmnx {m['osmnx']}, "
             f"pandana {m['pandana']}; urbancover {m['urbancover']} at {m.get('git_commit')}"
             f"{' (+ uncommitted changes in network.py/engine.py)' if m.get('src_dirty') else ''}")
    L.append(f"- **memory**: {results.get('memory_method')}; each (case, engine) in its own subprocess.")
    srcs = results.get("engine_sources", [])
    L.append(f"- **urbancover source** (hash of network.py + engine.py as each worker imported them): "
             f"{', '.join(srcs) or '–'}"
             + (" — **CHANGED DURING THE RUN: the cases are not comparable, run again**" if len(srcs) > 1 else ""))
    la = results.get("loadavg", {})
    if la:
        L.append(f"- **machine load** (1-min load average; our workers add ~1): start {la['start'][0]:.1f}, end "
                 f"{la['end'][0]:.1f}, highest at a worker start {la['max_1min_at_worker_start']:.1f}. Other work on the "
                 f"machine inflates times; cold/warm/query times are the fastest of several runs to damp it.")
    L.append("")
    L.append("## Targets\n")
    L.append("| target | measured | met? |\n|---|---|---|")
    for name, val, ok in s["targets"]:
        info = name.startswith("(info)")
        L.append(f"| {name} | {val} | {('yes' if ok else 'no') if info else ('**yes**' if ok else '**NO**')} |")
    L.append("")
    L.append("## Time (seconds) and ratios\n")
    L.append("Sources: ~1000 points (see cases); targets: every network node. `cold` = first call on a fresh "
             "`Network` (includes the lazily built CSR matrix and STRtree); `cold` is the fastest of 2–3 such fresh starts; `warm` = fastest of repeated calls on the same `Network`; "
             "`field` = `distance_field(...).node_distance` only (no target snapping). Baseline (a) `query` = "
             "`nearest_nodes` + `multi_source_dijkstra_path_length` + dict to array (graph build shown apart). "
             "pandana `total` = CH build + precompute + set_pois + nearest_pois. Ratios = other / urbancover cold "
             "(> 1: urbancover faster).\n")
    L.append("| case | cut-off | nodes | edges | src | uc cold | uc warm | uc field | (a) query | (a) graph build | "
             "(b) total | (b) CH build | (b) precompute | (b) set_pois | (b) nearest_pois | **a / uc** | a+build / uc | "
             "a / uc field | **b / uc** | b query / uc warm |")
    L.append("|" + "---|" * 20)
    for r in s["rows"]:
        pd_total = _f(r["pd_total"]) if r["pd_total"] is not None else ("not run" if r["pd_note"] else "–")
        nx_q = _f(r["nx_query"]) if r["nx_query"] is not None else ("not run" if r["nx_note"] else "–")
        L.append(
            f"| {r['case']} | {r['mode']} | {r['nodes'] or '–'} | {r['edges'] or '–'} | {r['sources'] or '–'} | "
            f"{_f(r['uc_cold'])} | {_f(r['uc_warm'])} | {_f(r['uc_field'])} | {nx_q} | {_f(r['nx_build'])} | "
            f"{pd_total} | {_f(r['pd_ch'])} | {_f(r['pd_pre']) if r['pd_pre'] is not None else ('skipped' if r['pd_total'] else '–')} | "
            f"{_f(r['pd_set'])} | {_f(r['pd_near'])} | "
            f"**{_ratio(r['nx_query'], r['uc_cold'])}** | {_ratio((r['nx_query'] or 0) + (r['nx_build'] or 0) if r['nx_query'] else None, r['uc_cold'])} | "
            f"{_ratio(r['nx_query'], r['uc_field'])} | "
            f"**{_ratio(r['pd_total'], r['uc_cold'])}** | {_ratio(r['pd_query'], r['uc_warm'])} |")
    L.append("")
    notes = {(r["case"], "pandana"): r["pd_note"] for r in s["rows"] if r["pd_note"]}
    notes.update({(r["case"], "networkx"): r["nx_note"] for r in s["rows"] if r["nx_note"]})
    for (case, eng), note in notes.items():
        L.append(f"- {case}, {eng}: {note}")
    if notes:
        L.append("")
    L.append("## Peak memory (MiB)\n")
    L.append("Absolute peak RSS of the worker process during the engine's work, and in brackets the increase over "
             "its RSS after imports + network + sources were loaded (for (a) and (b) the increase includes "
             "building their graph).\n")
    L.append("| case | cut-off | urbancover | (a) networkx | (b) pandana |\n|---|---|---|---|---|")
    for r in s["rows"]:
        def mem(p, d):
            return "–" if p is None else f"{p:,.0f} (+{d:,.0f})"
        L.append(f"| {r['case']} | {r['mode']} | {mem(r['uc_peak'], r['uc_delta'])} | {mem(r['nx_peak'], r['nx_delta'])} | "
                 f"{mem(r['pd_peak'], r['pd_delta'])} |")
    L.append("")
    L.append("## Network build\n")
    L.append("| case | input | nodes | edges | km | build s | peak MiB (+ over start) | notes |\n|---|---|---|---|---|---|---|---|")
    done = set()
    for case, eng in results["cases"].items():
        b = eng.get("build")
        if not b or case in done:
            continue
        done.add(case)
        if not b.get("ok"):
            L.append(f"| {case} | – | – | – | – | – | – | {b.get('error')} |")
            continue
        extra = []
        if "read_osm_s" in b:
            extra.append(f"read_osm {b['read_osm_s']:.2f} s + walk_network {b['walk_network_s']:.2f} s")
        if "network_from_arrays_s" in b:
            extra.append(f"benchmark's array-built Network: {b['network_from_arrays_s']:.2f} s, same graph: "
                         f"{b['same_as_array_network']}")
        L.append(f"| {case} | {b['input']} | {b['n_nodes']:,} | {b['n_edges']:,} | {b['km']:,.1f} | "
                 f"{b['build_total_s']:.2f} | {b['peak_mb']:,.0f} (+{b['delta_mb']:,.0f}) | {'; '.join(extra)} |")
    L.append("")
    L.append(f"## Correctness (sources placed exactly on nodes; all engines must agree within {TOL} m)\n")
    L.append("`urbancover` = node distances of its distance field (the quantity the baselines compute); "
             "`urbancover network_distance` = the public call with the nodes as target points (informative: "
             "a target point is snapped onto an edge, and where a node coincides with a vertex of another, "
             "unconnected way the tie may go to that way).\n")
    L.append("| case | pair, cut-off | compared nodes | max abs diff (m) | nodes off by > tol | reach mismatches | ok |\n"
             "|---|---|---|---|---|---|---|")
    for case, chk in results["checks"].items():
        for pair, c in chk.items():
            verdict = ("yes" if c["ok"] else "**NO**") if c.get("strict", True) else ("yes" if c["ok"] else "differs (info)")
            L.append(f"| {case} | {pair} | {c['compared_nodes']:,} | {c['max_abs_diff_m']:.2g} | "
                     f"{c.get('nodes_off_by_more_than_tol', '–')} | {c['reach_mismatch']} | {verdict} |")
    L.append("")
    L.append("## Where urbancover's time goes (cold call, seconds)\n")
    stage_rows = []
    keys = []
    for case, eng in results["cases"].items():
        uc = eng.get("urbancover", {})
        for mode, mm in uc.get("modes", {}).items():
            st = mm.get("stages_cold_s", {})
            if "error" in st:
                L.append(f"- {case} {mode}: stage profile unavailable ({st['error']})")
                continue
            for k in st:
                if k not in keys:
                    keys.append(k)
            stage_rows.append((case, mode, st, mm.get("cold_s")))
    if stage_rows:
        L.append("| case | cut-off | " + " | ".join(keys) + " | sum | measured cold |")
        L.append("|" + "---|" * (len(keys) + 4))
        for case, mode, st, cold in stage_rows:
            L.append(f"| {case} | {mode} | " + " | ".join(_f(st.get(k)) for k in keys) +
                     f" | {_f(sum(st.values()))} | {_f(cold)} |")
    L.append("")
    for case, eng in results["cases"].items():
        uc = eng.get("urbancover", {})
        if uc.get("snap_diagnostics_s"):
            d = uc["snap_diagnostics_s"]
            L.append(f"### Target snapping on {case} ({d['n_points']:,} node points)\n")
            L.append("| operation | s |\n|---|---|")
            for k, v in d.items():
                if k != "n_points":
                    L.append(f"| {k} | {_f(v)} |")
            L.append("")
        if uc.get("cprofile_cold_500"):
            L.append(f"<details><summary>cProfile of one cold network_distance call, {case}, cut-off 500 m "
                     "(top 12 by own time)</summary>\n\n```\n" + uc["cprofile_cold_500"] + "\n```\n</details>\n")
    L.append("## Notes\n")
    for n in results["notes"]:
        L.append(f"- {n}")
    L.append("")
    path.write_text("\n".join(L))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="samples and the 20k-edge grid only (< 2 min)")
    ap.add_argument("--out", type=Path, default=None,
                    help="Markdown report; the JSON goes next to it (default benchmarks/results/latest[-quick].md)")
    ap.add_argument("--cases", nargs="*", default=None, help=f"subset of {list(CASES)}")
    ap.add_argument("--timeout", type=float, default=None, help="cap per worker in seconds (default 600, quick 120)")
    ap.add_argument("--pandana-1m", action="store_true",
                    help="also try pandana on grid-1M (its CH build on a 1M-edge grid takes far longer than the budget)")
    ap.add_argument("--city", nargs="?", const="malta", choices=("malta", "all"), default=None,
                    help="the whole preset over a city instead (benchmarks/city.py): 'malta' = Malta, its quarter and "
                         "half against the networkx one-rule notebook in the same run, with a stage breakdown; 'all' "
                         "adds the synthetic 1M-segment city; writes benchmarks/results/city.md (or --out)")
    ap.add_argument("--worker", nargs=2, metavar=("ENGINE", "CASE"), help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        run_worker(args.worker[0], args.worker[1], args.result, args.quick)
        return 0
    if args.city:
        sys.path.insert(0, str(HERE))
        import city  # benchmarks/city.py: its own workers, one process per measurement

        return city.main((["--no-synthetic"] if args.city == "malta" else []) + (["--out", str(args.out)] if args.out else [])
                         + (["--timeout", str(args.timeout)] if args.timeout else []))

    t_run = time.perf_counter()
    load_start = os.getloadavg()
    cases = args.cases or [c for c, spec in CASES.items() if spec["quick"] or not args.quick]
    unknown = set(cases) - set(CASES)
    if unknown:
        ap.error(f"unknown case(s) {sorted(unknown)}; choose from {list(CASES)}")
    timeout = args.timeout or (120.0 if args.quick else 600.0)
    out_md = args.out or HERE / "results" / ("latest-quick.md" if args.quick else "latest.md")
    out_md.parent.mkdir(parents=True, exist_ok=True)
    results = {"mode": "quick" if args.quick else "full", "command": "python " + " ".join([os.path.relpath(__file__, ROOT)] + (argv if argv is not None else sys.argv[1:])),
               "machine": machine_info(), "cases": {}, "checks": {}, "case_info": {c: CASES[c] for c in cases}}
    notes = [
        ("Correctness sources: min(1000, max(10, nodes/10)) nodes of the network's main part drawn at random (a "
         "point on a scrap of network is placed on the main network by urbancover, not by the baselines), given to each engine as points "
         "exactly on those nodes (urbancover snaps them, networkx gets the node ids, pandana maps them with its own "
         "KD-tree); with such sources every engine computes the same node distances. Random sources are NOT compared: "
         "the baselines snap a facility to its nearest node, urbancover projects it onto its nearest edge and adds the "
         "access legs (a different, more exact model)."),
        (f"pandana 'full' uses maxdist = {PANDANA_FULL_MAXDIST / 1000:g} km (it needs a finite search radius), larger "
         "than every distance in every case (see urbancover's max distance in the JSON); precompute() is run only "
         "for the 500 m cut-off: for 'full' it would be an all-pairs table within 20 km and nearest_pois does not "
         "use it, so leaving it out favours pandana."),
        ("pandana's CH build is done once per worker and counted in the total of both cut-offs (each stand-alone "
         "query would need it). pandana uses OpenMP threads (2 here); scipy's Dijkstra and networkx use one core. "
         "The CH build time of pandana varies a lot between runs, even on the small samples."),
        ("Baseline (a) graph: an OSMnx-style MultiDiGraph of the same edges (both directions, x/y, length), without "
         "edge geometry attributes (lighter than a real OSMnx graph, so the baseline's time and memory are, if "
         "anything, flattering). nearest_nodes is osmnx.distance.nearest_nodes (scipy cKDTree on a projected graph)."),
        ("The grids are built by the benchmark directly as a Network from arrays (straight 2-vertex edges); "
         "'Network build' times urbancover.walk_network on the same grid given as row/column LineStrings."),
    ]
    if "grid-1M" in cases and not args.pandana_1m:
        notes.append(
            "pandana was not run on grid-1M: its contraction-hierarchy build is pathological on a uniform grid "
            "(during development on this machine: 20k edges 5-25 s, 40k edges 62 s, 100k edges 2-5 min, and 1M "
            "edges still unfinished after 25 min). Try it with --pandana-1m (capped by --timeout). The pandana "
            "comparison on grids therefore uses grid-20k and grid-100k.")
    tmp = Path(tempfile.mkdtemp(prefix="urbancover-bench-"))
    for case in cases:
        results["cases"][case] = {}
        for engine in ENGINES:
            if engine == "pandana" and case == "grid-1M" and not args.pandana_1m:
                results["cases"][case][engine] = {"ok": False, "skipped": True,
                                                  "error": "skipped (CH build far beyond the time budget; see notes)"}
                continue
            if engine == "build" and case == "shenzhen-busstops":
                continue  # same network as "shenzhen"
            t = time.perf_counter()
            print(f"[{time.perf_counter() - t_run:6.0f} s] {case:18s} {engine:10s} ...", end=" ", flush=True)
            r = spawn(engine, case, tmp, args.quick, timeout)
            r.pop("_check_file", None)
            results["cases"][case][engine] = r
            status = "ok" if r.get("ok") else f"FAILED: {r.get('error', '')[:200]}"
            print(f"{time.perf_counter() - t:6.1f} s  {status}", flush=True)
        results["checks"][case] = compare(case, tmp, ["urbancover", "networkx", "pandana"])
    results["run_s"] = time.perf_counter() - t_run
    results["engine_sources"] = sorted({e["engine_source"] for c in results["cases"].values() for e in c.values()
                                        if e.get("engine_source")})
    results["loadavg"] = {"start": load_start, "end": os.getloadavg(),
                          "max_1min_at_worker_start": max((e.get("loadavg_at_start") or [0])[0]
                                                          for c in results["cases"].values() for e in c.values())}
    results["memory_method"] = next((e.get("memory_method") for c in results["cases"].values() for e in c.values()
                                     if e.get("memory_method")), None)
    results["notes"] = notes
    results["summary"] = summarise(results)
    shutil.rmtree(tmp, ignore_errors=True)
    out_json = out_md.with_suffix(".json")
    out_json.write_text(json.dumps(results, indent=1, default=str))
    write_markdown(results, out_md)
    print(f"\nwrote {os.path.relpath(out_md)} and {os.path.relpath(out_json)} ({results['run_s']:.0f} s)")
    for name, val, ok in results["summary"]["targets"]:
        print(f"  [{'met' if ok else 'NOT MET'}] {name}: {val}")
    for case, chk in results["checks"].items():
        for pair, c in chk.items():
            print(f"  check {case:18s} {pair:52s} max abs diff {c['max_abs_diff_m']:.3g} m  "
                  f"reach mismatches {c['reach_mismatch']}  "
                  f"{'ok' if c['ok'] else ('FAIL' if c.get('strict', True) else 'differs (info)')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
