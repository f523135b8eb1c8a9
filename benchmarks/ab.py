"""Paired A/B timing of a whole evaluation: this checkout against an older one, in turn.

    git worktree add /tmp/pre22 2a2e098                  # the code before issue 22
    python benchmarks/ab.py --old /tmp/pre22              # Malta's whole preset, 5 pairs
    python benchmarks/ab.py --old /tmp/pre22 --runs 7 --extract src/urbancover/data/shenzhen_longgang.osm.bz2

Each run is a fresh interpreter (its checkout's ``src`` first on the path) that imports urbancover
and evaluates the whole preset on the extract, file to report: the process's whole cost, start-up
included. The runs go new, old, new, old ... after one warm-up each (numba's on-disk cache filled),
and the ratio new / old is taken pair by pair, so a machine whose speed drifts (a shared one) moves
both sides of a pair alike. CPU seconds (user + system, the children's own accounting from
``os.wait4``) are reported beside wall seconds: on a loaded machine the CPU ratio is the steadier.
Writes ``benchmarks/results/ab.md`` (or ``--out``) with the medians, the spread and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MALTA = [ROOT.parent / "shared" / "data" / "malta-2018.osm.pbf", ROOT / ".." / ".." / "shared" / "data" / "malta-2018.osm.pbf"]

_RUN = """
import sys, warnings
sys.path.insert(0, sys.argv[1])
warnings.simplefilter("ignore")
import urbancover as uc
uc.evaluate(sys.argv[2], rules=sys.argv[3])
"""


def run_once(checkout: Path, extract: Path, rules: str) -> tuple[float, float]:
    """(wall s, cpu s) of one fresh interpreter evaluating ``extract`` with ``checkout``'s code."""
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _RUN, str(checkout / "src"), str(extract), rules],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{checkout}: exit {proc.returncode}\n{err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", type=Path, required=True, help="the reference checkout (a folder with src/urbancover)")
    ap.add_argument("--extract", type=Path, default=None, help="default ../shared/data/malta-2018.osm.pbf")
    ap.add_argument("--rules", default="zhengzhou-2018")
    ap.add_argument("--runs", type=int, default=5, help="pairs counted (after one warm-up pair)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "ab.md")
    args = ap.parse_args(argv)
    extract = args.extract or next((p for p in MALTA if p.exists()), None)
    if extract is None:
        ap.error("--extract: ../shared/data/malta-2018.osm.pbf not found; name an extract")
    new, old = ROOT, args.old.resolve()
    run_once(new, extract, args.rules), run_once(old, extract, args.rules)  # warm-up: numba's cache
    load0 = os.getloadavg()
    pairs = []
    for k in range(args.runs):
        a, b = run_once(new, extract, args.rules), run_once(old, extract, args.rules)
        pairs.append((a, b))
        print(f"pair {k + 1}: new {a[0]:.2f} s wall / {a[1]:.2f} s cpu, old {b[0]:.2f} / {b[1]:.2f}", flush=True)
    load1 = os.getloadavg()

    def stats(xs):
        return statistics.median(xs), min(xs), max(xs)

    rows = {
        "new wall s": stats([a[0] for a, _ in pairs]), "old wall s": stats([b[0] for _, b in pairs]),
        "new cpu s": stats([a[1] for a, _ in pairs]), "old cpu s": stats([b[1] for _, b in pairs]),
        "new / old wall": stats([a[0] / b[0] for a, b in pairs]), "new / old cpu": stats([a[1] / b[1] for a, b in pairs]),
    }
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    old_commit = subprocess.run(["git", "-C", str(old), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# Paired A/B: a whole evaluation, this checkout against an older one", "",
        f"`python benchmarks/ab.py --old <checkout of {old_commit}> --runs {args.runs}` on "
        f"{datetime.now(UTC).isoformat(timespec='seconds')}, {os.cpu_count()} cores, load average "
        f"{load0[0]:.1f} before / {load1[0]:.1f} after; new = {commit}, old = {old_commit}; extract {extract.name}, "
        f"rules {args.rules}; {args.runs} pairs, each a fresh interpreter, file to report.", "",
        "| figure | median | min | max |", "|---|---|---|---|",
        *[f"| {k} | {m:.3f} | {lo:.3f} | {hi:.3f} |" for k, (m, lo, hi) in rows.items()], "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(args.out)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
