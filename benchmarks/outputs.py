"""Outputs at city scale: gap maps, the interactive map and the HTML report of all of Malta, before
and after, in one run.

    python benchmarks/outputs.py                       # Malta, old = main at e7d3eee (~8 min on 2 cores)
    python benchmarks/outputs.py --old-ref <commit>    # another baseline
    python benchmarks/outputs.py --no-old              # the current code only
    python benchmarks/outputs.py --browser             # also open the map and the report in headless Chromium

The extract is evaluated once (``evaluate(path, rules="zhengzhou-2018")``, the current code) and
pickled; each version then runs in a subprocess of its own (``PYTHONPATH=<tree>/src``) that loads
the pickle, imports matplotlib and folium (not timed), and times in turn: the gap map of every
distance rule (PNG, ``gap_map``'s default 200 dpi), ``interactive_map`` written to a file, and
``html_report`` (its maps and, when the version embeds it, its interactive map). The baseline tree
is a git worktree of ``--old-ref`` at ``/tmp/old-outmaps`` (made if missing). Writes
``benchmarks/results/outputs.md`` and ``outputs.json`` with every raw number, the load average and
the ratios old / new.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MALTA = ROOT.parent.parent / "shared" / "data" / "malta-2018.osm.pbf"
if not MALTA.exists():
    MALTA = Path("/work/shared/data/malta-2018.osm.pbf")

WORKER = r"""
import json, os, pickle, sys, time, warnings
warnings.simplefilter("ignore")
pkl, out = sys.argv[1], sys.argv[2]
import matplotlib, folium  # noqa: F401  (imports are not timed)
import urbancover
from urbancover import report as ucr
from urbancover.report.common import distance_rules
assert urbancover.__file__.startswith(os.environ["UC_TREE"]), urbancover.__file__
r = pickle.load(open(pkl, "rb"))
res = {"edges": int(r.network.n_edges)}
os.makedirs(out, exist_ok=True)
t = time.perf_counter()
sizes = []
for rid in distance_rules(r):
    p = os.path.join(out, f"{rid}.png")
    fig = ucr.gap_map(r, rid, lang="zh", path=p)
    sizes.append(os.path.getsize(p))
    fig.clear()
res["gap_maps_s"] = time.perf_counter() - t
res["gap_maps_n"] = len(sizes)
res["gap_maps_bytes"] = sum(sizes)
p = os.path.join(out, "bus_stop_500.pdf")
t = time.perf_counter()
ucr.gap_map(r, "bus_stop_500", lang="en", path=p)
res["gap_map_pdf_s"] = time.perf_counter() - t
res["gap_map_pdf_bytes"] = os.path.getsize(p)
p = os.path.join(out, "map.html")
t = time.perf_counter()
ucr.interactive_map(r, lang="zh", path=p)
res["interactive_s"] = time.perf_counter() - t
res["interactive_bytes"] = os.path.getsize(p)
p = os.path.join(out, "report.html")
t = time.perf_counter()
ucr.html_report(r, p, lang="zh")
res["report_s"] = time.perf_counter() - t
res["report_bytes"] = os.path.getsize(p)
res["report_embeds_map"] = "<iframe" in open(p, encoding="utf-8").read()
print("RESULT " + json.dumps(res))
"""

# Opens a page in headless Chromium; reports the load time (navigation to the load event, which
# includes building the layers shown at first), the features built, and a popup of a clicked one.
PROBE = """<script>
var ucOut;
window.addEventListener('load', function () {
  var o = {load_ms: performance.timing.loadEventStart - performance.timing.navigationStart};
  var doc = document;
  var frame = document.querySelector('iframe.map');
  var win = window;
  if (frame) { win = frame.contentWindow; doc = frame.contentDocument; }
  var name = Object.keys(win).filter(function (k) { return /^map_[0-9a-f]+$/.test(k); })[0];
  var map = win[name], n = 0, first = null;
  map.eachLayer(function (l) {
    if (l.ucIndex === undefined) return;
    n++;
    if (!first && Object.values(l._eventParents || {}).some(function (g) { return g.listens('click'); })) first = l;
  });
  o.features_shown = n;
  if (first) {
    first.fire('click', {latlng: first.getLatLng ? first.getLatLng() : first.getBounds().getCenter()}, true);
    var p = doc.querySelector('.leaflet-popup-content');
    o.popup = p ? p.textContent : null;
  }
  o.canvas = doc.querySelectorAll('canvas.leaflet-zoom-animated').length;
  var pre = document.createElement('pre'); pre.id = 'ucprobe'; pre.textContent = JSON.stringify(o);
  document.body.appendChild(pre);
});
</script>"""

CHROMIUM = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
            "--window-size=1400,900"]


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def run_version(tree: Path, pkl: Path, out: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree / "src"), UC_TREE=str(tree / "src"), MPLBACKEND="Agg")
    load0 = loadavg()
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", WORKER, str(pkl), str(out)], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not line:
        raise SystemExit(f"{tree}: the worker failed:\n{proc.stderr[-3000:]}")
    res = json.loads(line[-1][7:])
    res["total_s"] = res["gap_maps_s"] + res["interactive_s"] + res["report_s"]
    res["worker_wall_s"] = wall
    res["load"] = f"{load0} -> {loadavg()}"
    return res


def probe(page: Path, screenshot: Path | None = None) -> dict:
    """Load ``page`` in headless Chromium (virtual time) and report what the probe script saw."""
    html = page.read_text(encoding="utf-8")
    i = html.rfind("</html>")
    with tempfile.NamedTemporaryFile("w", suffix=".html", delete=False, dir=page.parent, encoding="utf-8") as f:
        f.write(html[:i] + PROBE + html[i:])
    try:
        t = time.perf_counter()
        proc = subprocess.run(CHROMIUM + ["--virtual-time-budget=60000", "--dump-dom", "file://" + f.name],
                              capture_output=True, text=True, timeout=900)
        wall = time.perf_counter() - t
        m = re.search(r'<pre id="ucprobe">(.*?)</pre>', proc.stdout, re.S)
        out = json.loads(m.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")) if m else {"error": proc.stderr[-500:]}
        out["chromium_wall_s"] = round(wall, 1)
        if screenshot is not None:
            subprocess.run(CHROMIUM + ["--virtual-time-budget=30000", f"--screenshot={screenshot}", "file://" + str(page)],
                           capture_output=True, timeout=900)
            out["screenshot"] = screenshot.name if screenshot.exists() else None
    finally:
        os.unlink(f.name)
    return out


def old_tree(ref: str) -> Path:
    tree = Path("/tmp/old-outmaps")
    if not (tree / "src" / "urbancover").exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), ref], check=True)
    head = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    want = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", ref], capture_output=True, text=True).stdout.strip()
    if head != want:
        raise SystemExit(f"{tree} is at {head}, not {ref} ({want}): remove it (git worktree remove {tree}) or pass --old-ref {head}.")
    return tree


def fmt_mb(b: float) -> str:
    return f"{b / 1e6:.1f} MB" if b >= 1e6 else f"{b / 1e3:.0f} kB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pbf", default=str(MALTA))
    ap.add_argument("--old-ref", default="e7d3eee")
    ap.add_argument("--no-old", action="store_true")
    ap.add_argument("--browser", action="store_true", help="open the new map and report in headless Chromium")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "outputs.md"))
    ap.add_argument("--pickle", default=None, help="reuse (or write) the evaluated report here")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    import pickle
    import warnings

    import urbancover

    work = Path(tempfile.mkdtemp(prefix="uc-outputs-"))
    pkl = Path(args.pickle) if args.pickle else work / "report.pkl"
    load0 = loadavg()
    t = time.perf_counter()
    if not pkl.exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = urbancover.evaluate(args.pbf, rules="zhengzhou-2018")
        with open(pkl, "wb") as f:
            pickle.dump(report, f, protocol=5)
        del report
    evaluate_s = time.perf_counter() - t
    results = {}
    if not args.no_old:
        results["old"] = run_version(old_tree(args.old_ref), pkl, work / "old")
        print("old", json.dumps(results["old"]), flush=True)
    results["new"] = run_version(ROOT, pkl, work / "new")
    print("new", json.dumps(results["new"]), flush=True)
    browser = {}
    if args.browser:
        shots = Path(args.out).parent
        browser["map"] = probe(work / "new" / "map.html", shots / "outputs-map.png")
        browser["report"] = probe(work / "new" / "report.html")
        print("browser", json.dumps(browser, ensure_ascii=False), flush=True)
    load1 = loadavg()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "src"], capture_output=True, text=True).stdout.strip())
    meta = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
            "python": platform.python_version(), "commit": commit + (" (src modified)" if dirty else ""), "old_ref": args.old_ref,
            "pbf": args.pbf, "evaluate_s": evaluate_s, "load_start": load0, "load_end": load1}
    Path(args.out).with_suffix(".json").write_text(json.dumps({"meta": meta, "results": results, "browser": browser}, indent=1,
                                                              ensure_ascii=False), encoding="utf-8")
    Path(args.out).write_text(markdown(meta, results, browser), encoding="utf-8")
    print(f"wrote {args.out}")


def markdown(meta: dict, results: dict, browser: dict) -> str:
    new, old = results["new"], results.get("old")
    rows = [("11 gap maps (PNG, 200 dpi)", "gap_maps_s", "gap_maps_bytes"), ("one gap map as PDF", "gap_map_pdf_s", "gap_map_pdf_bytes"),
            ("interactive map", "interactive_s", "interactive_bytes"), ("HTML report", "report_s", "report_bytes"),
            ("**gap maps + interactive map + report**", "total_s", None)]
    lines = [
        "# Outputs at city scale (benchmarks/outputs.py)",
        "",
        f"{meta['when']} · {meta['machine']} · Python {meta['python']} · commit {meta['commit']} · baseline {meta['old_ref']}",
        f"Extract: {Path(meta['pbf']).name}, {new['edges']:,} street edges, preset zhengzhou-2018 "
        f"(evaluated once: {meta['evaluate_s']:.0f} s, then pickled). Load average at start {meta['load_start']}, at end "
        f"{meta['load_end']} (2 cores shared with other work: times are noisy, the ratios within one run are what counts).",
        "",
        "| output | before (s) | after (s) | before / after | before size | after size |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows[0] = (f"{new['gap_maps_n']} gap maps (PNG, 200 dpi)", *rows[0][1:])
    for label, k, kb in rows:
        b, a = (old[k] if old else None), new[k]
        cells = [label, "" if b is None else f"{b:.1f}", f"{a:.1f}", "" if b is None else f"{b / a:.1f}x",
                 fmt_mb(old[kb]) if old and kb else "", fmt_mb(new[kb]) if kb else ""]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Load average (1, 5, 15 min) when each version started and ended: "
                 + "; ".join(f"{v} {results[v]['load']}" for v in ("old", "new") if v in results) + ".")
    target = "met" if new["total_s"] < 60 else "NOT met"
    lines.append(f"Target (issue 13 item 4): the three together under 60 s: **{target}** ({new['total_s']:.1f} s).")
    if old is not None:
        lines.append(f"The report embeds the interactive map: before {'yes' if old['report_embeds_map'] else 'no'} "
                     f"(above `report_interactive_max_edges`), after {'yes' if new['report_embeds_map'] else 'no'}.")
    if browser:
        lines += ["", "Headless Chromium (virtual time; load = navigation to the load event, layers shown at first built):", ""]
        for what, b in browser.items():
            lines.append(f"- {what}: load {b.get('load_ms')} ms, {b.get('features_shown')} features shown at first, "
                         f"canvas renderer: {bool(b.get('canvas'))}, popup of a clicked feature: {b.get('popup')!r}, "
                         f"Chromium wall {b.get('chromium_wall_s')} s" + (f", screenshot {b['screenshot']}" if b.get("screenshot") else ""))
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
