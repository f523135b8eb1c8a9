"""Built-up land's memory (issue 15, item 6): the ``toilet_density`` rule, whose built-up land is
the tiled union of every grown building (urbancover.core.tiles.union_by_tiles), old code against new
in the same run.

    python benchmarks/tiles.py                        # the 1M-segment synthetic city and Malta (~15 min)
    python benchmarks/tiles.py --cases malta --rounds 3
    python benchmarks/tiles.py --baseline 4558916      # old code = that commit's src/ (default: merge-base with main)

Writes ``benchmarks/results/tiles.md`` and ``tiles.json`` (or ``--out``). This is a benchmark, not
a timed test.

Each measurement runs in its own Python process (this file with ``--worker``): the old code is the
baseline commit's ``src/`` (``git archive``), the new one this checkout's ``src/``. A worker reads
the extract, builds the walk network and the context as ``evaluate`` does, then resets the memory
probe (``VmHWM`` through ``/proc/self/clear_refs``, as in ``benchmarks/run.py``) and runs the rule
``--repeat`` times: its time is the best run, its peak the highest ``VmHWM`` of the runs, and its
transient that peak less the RSS held before the rule. Then one ``built_up_land(ctx)`` call gives
the pieces, written as WKB so that the parent can compare old and new: total area, pieces, and
how many pieces are the same polygon (normalised). Old and new processes alternate, ``--rounds``
times per extract, after a warm-up process for each (numba compiles the old copy's kernels once).
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
from city import CACHE, RULES, malta_path, synthetic_city  # noqa: E402
from run import Peak, write_results  # noqa: E402  (the same memory probe as the engine benchmark)

RULE = "toilet_density"


def worker(src: str, path: str, result: str, repeat: int) -> None:
    """Read, network, context; then the rule ``repeat`` times and built_up_land once (see the module doc)."""
    sys.path.insert(0, src)
    peak = Peak()
    import shapely

    import urbancover as uc
    from urbancover.evaluation import kinds  # (importing urbancover registers the rule kinds)
    from urbancover.evaluation.context import make_context
    from urbancover.evaluation.indicators import built_up_land
    from urbancover.plan.rules import load_rules

    assert Path(uc.__file__).resolve().is_relative_to(Path(src).resolve()), uc.__file__
    out: dict = {"src": src, "path": path, "steps": {}}
    warnings.simplefilter("ignore")

    def step(name, fn):
        peak.reset()
        before = peak.rss()
        t = time.perf_counter()
        res = fn()
        s = time.perf_counter() - t
        out["steps"].setdefault(name, []).append({"s": s, "rss_before_mb": before, "peak_mb": peak.peak(), "rss_after_mb": peak.rss()})
        print(f"  {name}: {s:.2f} s, held {before:.0f} MiB, peak {peak.peak():.0f} MiB", file=sys.stderr, flush=True)
        return res

    try:
        if path == "warmup":  # numba compiles its kernels once per copy of src/ and caches them on disk
            from urbancover.datasets import sample_path

            uc.evaluate(sample_path(), rules=RULES)
            out["ok"] = True
            return
        ruleset = load_rules(RULES)
        rule = next(r for r in ruleset if r.id == RULE)
        osm = step("read", lambda: uc.read_osm(path))
        net = step("network", lambda: uc.walk_network(osm))
        ctx = step("context", lambda: make_context(osm, net, margin_needed=ruleset.max_threshold))
        for _ in range(repeat):
            res = step("rule", lambda: kinds.evaluator(rule)(rule, ctx))
        row = res.summary
        out["row"] = {k: row.get(k) for k in ("value", "facilities", "area_km2", "area_source")}
        pieces = step("built_up_land", lambda: built_up_land(ctx))
        out["pieces"] = len(pieces)
        out["area_m2"] = float(shapely.area(pieces).sum())
        np.save(Path(result).with_suffix(".npy"), shapely.to_wkb(shapely.normalize(pieces)).astype(object), allow_pickle=True)
        out["ok"] = True
    except Exception as err:  # noqa: BLE001 -- reported, not fatal to the run
        out.update(ok=False, error=f"{type(err).__name__}: {err}", traceback=traceback.format_exc())
    finally:
        Path(result).write_text(json.dumps(out, default=str))


def spawn(src: Path, path: Path, result: Path, repeat: int, timeout: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", str(src), str(path), str(result), "--repeat", str(repeat)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the worker puts its src/ first itself
    t = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout:.0f} s"}
    sys.stderr.write(proc.stderr[-3000:])
    if not result.exists():
        return {"ok": False, "error": f"exit {proc.returncode}: {proc.stderr[-2000:]}"}
    out = json.loads(result.read_text())
    out["wall_s"] = time.perf_counter() - t
    return out


def summary(run: dict) -> dict:
    """Best rule time, highest rule peak, and the RSS held before the rule, of one worker."""
    rule = run["steps"]["rule"]
    return {"rule_s": min(r["s"] for r in rule), "rule_peak_mb": max(r["peak_mb"] for r in rule),
            "held_mb": rule[0]["rss_before_mb"], "transient_mb": max(r["peak_mb"] - r["rss_before_mb"] for r in rule),
            "built_up_land_s": run["steps"]["built_up_land"][0]["s"], "setup_peak_mb": max(run["steps"][k][0]["peak_mb"]
                                                                                           for k in ("read", "network", "context"))}


def same_pieces(a: Path, b: Path) -> dict:
    """How many pieces of the new built-up land are, normalised, a piece of the old one."""
    import shapely

    old, new = np.load(a, allow_pickle=True), np.load(b, allow_pickle=True)
    same = np.isin(new.astype(bytes), old.astype(bytes))
    out = {"old_pieces": len(old), "new_pieces": len(new), "identical": int(same.sum())}
    # the pieces that differ: area of their symmetric difference (each side united; few of them)
    po, pn = shapely.from_wkb(old[~np.isin(old.astype(bytes), new.astype(bytes))]), shapely.from_wkb(new[~same])
    out["differing_area_m2"] = float(shapely.symmetric_difference(shapely.union_all(po), shapely.union_all(pn)).area)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", nargs=3, metavar=("SRC", "PATH", "RESULT"), help=argparse.SUPPRESS)
    ap.add_argument("--cases", default="synthetic,malta", help="comma separated: synthetic, malta")
    ap.add_argument("--baseline", default=None, help="git revision of the old code (default: merge-base of HEAD and main)")
    ap.add_argument("--side", type=int, default=708, help="synthetic city: nodes per side (708: 1M segments)")
    ap.add_argument("--repeat", type=int, default=2, help="rule runs per process (best time, highest peak)")
    ap.add_argument("--rounds", type=int, default=2, help="old/new process pairs per extract, alternating")
    ap.add_argument("--timeout", type=float, default=1200)
    ap.add_argument("--out", default=str(HERE / "results" / "tiles.md"))
    args = ap.parse_args(argv)
    if args.worker:
        worker(*args.worker, repeat=args.repeat)
        return 0

    def git(*a):
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()

    base = args.baseline or git("merge-base", "HEAD", "main")
    base = git("rev-parse", "--short", base)
    head = git("rev-parse", "--short", "HEAD") + (" (src/ modified)" if git("status", "--porcelain", "--", "src") else "")
    res = {"args": argv if argv is not None else sys.argv[1:], "baseline": base, "new": head, "load_start": os.getloadavg(),
           "timestamp": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"), "python": platform.python_version(),
           "cores": os.cpu_count(), "cases": []}
    paths = {}
    for c in args.cases.split(","):
        if c == "malta":
            paths["Malta"] = malta_path()
        elif c == "synthetic":
            p, meta = CACHE / f"synthetic-{args.side}-sorted.osm.pbf", CACHE / f"synthetic-{args.side}-sorted.json"
            if not p.exists() or not meta.exists():
                CACHE.mkdir(parents=True, exist_ok=True)
                print(f"writing the synthetic city ({args.side} x {args.side})", flush=True)
                meta.write_text(json.dumps(synthetic_city(args.side, p)))
            paths[f"synthetic city {args.side}x{args.side}"] = p
        else:
            ap.error(f"--cases: unknown case {c!r} (synthetic, malta)")
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        old_src = tmp / "old"
        old_src.mkdir()
        subprocess.run(f"git archive {base} src | tar -x -C {old_src}", shell=True, cwd=ROOT, check=True)
        srcs = {"old": old_src / "src", "new": ROOT / "src"}
        for which, src in srcs.items():
            print(f"warm-up ({which} code: numba's cache)", flush=True)
            spawn(src, "warmup", tmp / f"warmup-{which}.json", 1, args.timeout)
        for name, path in paths.items():
            case = {"name": name, "runs": {"old": [], "new": []}}
            for r in range(args.rounds):
                for which in ("old", "new"):
                    print(f"{name}: {which} code, round {r + 1}", flush=True)
                    out = spawn(srcs[which], path, tmp / f"{which}-{r}-{len(res['cases'])}.json", args.repeat, args.timeout)
                    if not out.get("ok"):
                        print(out.get("error"), out.get("traceback", ""), file=sys.stderr)
                    case["runs"][which].append(out)
            ok = {w: [o for o in case["runs"][w] if o.get("ok")] for w in ("old", "new")}
            if ok["old"] and ok["new"]:
                case["old"] = _best([summary(o) for o in ok["old"]])
                case["new"] = _best([summary(o) for o in ok["new"]])
                case["old"]["area_m2"], case["new"]["area_m2"] = ok["old"][0]["area_m2"], ok["new"][0]["area_m2"]
                case["old"]["row"], case["new"]["row"] = ok["old"][0]["row"], ok["new"][0]["row"]
                k = len(res["cases"])
                case["pieces"] = same_pieces(tmp / f"old-0-{k}.npy", tmp / f"new-0-{k}.npy")
            res["cases"].append(case)
    res["load_end"] = os.getloadavg()
    write_results(res, Path(args.out), write_markdown)
    return 0


def _best(runs: list[dict]) -> dict:
    """Over a case's processes: the best time, and the highest (worst) memory figures."""
    return {k: (min if k.endswith("_s") else max)(r[k] for r in runs) for k in runs[0]}


def write_markdown(res: dict, path: Path) -> None:
    L = ["# Built-up land's memory: toilet_density, old code vs new (issue 15, item 6)", ""]
    L.append(f"- {res['timestamp']}, {res['cores']} cores, python {res['python']}; load average "
             f"{' '.join(f'{x:.2f}' for x in res['load_start'])} at start, {' '.join(f'{x:.2f}' for x in res['load_end'])} at end")
    L.append(f"- old: {res['baseline']} (src/ by git archive); new: {res['new']}; `python benchmarks/tiles.py {' '.join(res['args'])}`")
    L.append("- each figure from its own process, after read + network + context; the rule's peak is VmHWM reset just before it; "
             "transient = peak - RSS held before the rule; time = best run")
    L.append("")
    L.append("| extract | code | held before (MiB) | rule peak (MiB) | transient (MiB) | rule time (s) | built-up land (km²) | pieces |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|")
    for c in res["cases"]:
        if "old" not in c:
            errs = [o.get("error") for w in ("old", "new") for o in c["runs"][w] if not o.get("ok")]
            L.append(f"| {c['name']} | failed: {errs} | | | | | | |")
            continue
        for w in ("old", "new"):
            s = c[w]
            L.append(f"| {c['name']} | {w} | {s['held_mb']:.0f} | {s['rule_peak_mb']:.0f} | {s['transient_mb']:.0f} | "
                     f"{s['rule_s']:.2f} | {s['area_m2'] / 1e6:.6f} | {c['pieces'][w + '_pieces']:,} |")
        o, n = c["old"], c["new"]
        transient = f"{n['transient_mb'] / o['transient_mb']:.3f}" if o["transient_mb"] >= 1 else "- (none before)"
        L.append(f"| {c['name']} | new / old | | {n['rule_peak_mb'] / o['rule_peak_mb']:.3f} | "
                 f"{transient} | {n['rule_s'] / o['rule_s']:.3f} | "
                 f"{abs(n['area_m2'] / o['area_m2'] - 1):.1e} rel. | |")
    L.append("")
    for c in res["cases"]:
        if "pieces" in c:
            p = c["pieces"]
            L.append(f"- {c['name']}: {p['identical']:,} of {p['new_pieces']:,} new pieces are (normalised) old pieces; "
                     f"the others' symmetric difference with the old ones: {p['differing_area_m2']:.3g} m²; "
                     f"row old {c['old']['row']}, new {c['new']['row']}")
    path.write_text("\n".join(L) + "\n")


if __name__ == "__main__":
    sys.exit(main())
