"""Cold start (issue 24, item 5): what the first evaluation on a fresh install spends compiling.

    python benchmarks/cold_start.py                       # this checkout, 3 pairs (~1 min)
    python benchmarks/cold_start.py --old /tmp/old        # and an older checkout, alternating
    python benchmarks/cold_start.py --repeat 5 --extract data/sample/shanghai_jingan_drive.osm.bz2

Each pair is two fresh interpreters sharing an empty ``NUMBA_CACHE_DIR``: the first evaluates the
extract with nothing compiled (a fresh install), the second again with the kernels on disk (every
later run). Compiling is the difference of their evaluation CPU times. A third interpreter runs
``urbancover compile`` into another empty cache, then evaluates: what the first evaluation costs
after the install step. Writes ``benchmarks/results/cold_start.md``; a benchmark, not a timed test.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_MEASURE = r"""
import sys, time, warnings
sys.path.insert(0, sys.argv[1])
warnings.simplefilter("ignore")
from numba.core import event
compiles = [0]
class Count(event.Listener):
    def on_start(self, ev):
        compiles[0] += 1
    def on_end(self, ev):
        pass
event.register("numba:compile", Count())
import urbancover as uc
t, c = time.perf_counter(), time.process_time()
uc.evaluate(sys.argv[2])
print(time.perf_counter() - t, time.process_time() - c, compiles[0])
"""


def run(checkout: Path, extract: Path, cache: str, compile_first: bool = False) -> tuple[float, float, int]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(checkout / "src"))
    if compile_first:
        subprocess.run([sys.executable, "-m", "urbancover", "compile", "--quiet"], env=env, check=True, cwd=checkout)
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(checkout / "src"), str(extract)], env=env, check=True,
                         capture_output=True, text=True, cwd=checkout).stdout.split()
    return float(out[0]), float(out[1]), int(out[2])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", type=Path, help="an older checkout, measured in turn with this one")
    ap.add_argument("--extract", type=Path, default=ROOT / "data" / "sample" / "shenzhen_longgang.osm.bz2")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "cold_start.md")
    args = ap.parse_args(argv)
    checkouts = {"this": ROOT} | ({"old": args.old.resolve()} if args.old else {})
    rows: dict[str, list] = {k: [] for k in checkouts}
    load0 = os.getloadavg()
    for _ in range(args.repeat):
        for name, checkout in checkouts.items():
            with tempfile.TemporaryDirectory() as cache:
                cold = run(checkout, args.extract.resolve(), cache)
                warm = run(checkout, args.extract.resolve(), cache)
            rows[name].append((cold, warm))
            print(f"{name}: cold {cold[1]:.2f} s CPU ({cold[2]} compiles), warm {warm[1]:.2f} s CPU "
                  f"({warm[2]} compiles): compiling {cold[1] - warm[1]:.2f} s", file=sys.stderr)
    with tempfile.TemporaryDirectory() as cache:
        after = run(ROOT, args.extract.resolve(), cache, compile_first=True)
    load1 = os.getloadavg()
    lines = [
        "# Cold start: the first evaluation on a fresh install",
        "",
        f"`python benchmarks/cold_start.py{' --old <checkout>' if args.old else ''} --repeat {args.repeat}` on "
        f"{_dt.datetime.now(_dt.UTC).isoformat(timespec='seconds')}, {os.cpu_count()} cores, load average "
        f"{load0[0]:.1f} before / {load1[0]:.1f} after; extract {args.extract.name}. Seconds; CPU of the evaluation only "
        "(not the import); compiling = cold CPU - warm CPU of the same pair.",
        "",
        "| checkout | cold wall | cold CPU | warm wall | warm CPU | compiling (median) | compiles, cold / warm |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, pairs in rows.items():
        def span(i, k, pairs=pairs):
            values = [p[i][k] for p in pairs]
            return f"{min(values):.2f}-{max(values):.2f}"
        comp = statistics.median(c[1] - w[1] for c, w in pairs)
        lines.append(f"| {name} ({checkouts[name].name}) | {span(0, 0)} | {span(0, 1)} | {span(1, 0)} | {span(1, 1)} | "
                     f"**{comp:.2f}** | {pairs[0][0][2]} / {pairs[0][1][2]} |")
    lines += ["", f"After `urbancover compile` (the install step, into an empty cache), the first evaluation: "
                  f"{after[0]:.2f} s wall, {after[1]:.2f} s CPU, {after[2]} compiles.", ""]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
