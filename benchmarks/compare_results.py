"""Check that ``evaluate`` gives what an older checkout gave: every summary value of every rule,
every layer's row count, total area and total length, and every note, on each extract.

    git worktree add /tmp/old e7d3eee                        # the reference checkout
    python benchmarks/compare_results.py --old /tmp/old       # the two samples
    python benchmarks/compare_results.py --old /tmp/old --malta
    python benchmarks/compare_results.py --old /tmp/old --malta --settings '{"edge_chunk": 5000}'  # a big network's path
    python benchmarks/compare_results.py --old /tmp/old --summary-only /tmp/urbancover-bench-city/synthetic-708-sorted.osm.pbf

Each checkout evaluates the whole preset in its own subprocess (its own ``src`` first on the path)
and writes a fingerprint as JSON; the two are compared value by value (floats to 10 significant
digits, as pandas writes them). Layers are read through ``Report.layers()``, so layers made when
first read are made. Differences are printed; exit status 1 when there are any.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SAMPLES = [ROOT / "data" / "sample" / "shenzhen_longgang.osm.bz2", ROOT / "data" / "sample" / "shanghai_jingan_drive.osm.bz2"]
MALTA = [ROOT.parent / "shared" / "data" / "malta-2018.osm.pbf", ROOT / ".." / ".." / "shared" / "data" / "malta-2018.osm.pbf"]

_DUMP = """
import json, sys, warnings
sys.path.insert(0, sys.argv[1])
warnings.simplefilter("ignore")
import numpy as np, shapely
import urbancover as uc
from urbancover.core.settings import override
out = {}
summary_only = sys.argv[4] == "1"
for src in sys.argv[5:]:
    with override(**json.loads(sys.argv[3])):
        r = uc.evaluate(src)
    s = r.summary.reset_index(drop=True)
    rows = json.loads(s.astype(object).where(s.notna(), None).to_json(orient="records", default_handler=str))
    layers = {}
    for name, g in ({} if summary_only else r.layers()).items():
        geom = g.geometry.values if "geometry" in g and len(g) else np.zeros(0, object)
        layers[name] = [len(g), round(float(shapely.area(geom).sum()), 1), round(float(shapely.length(geom).sum()), 1),
                        sorted(map(str, g.columns))]
    out[src] = {"summary": rows, "layers": layers, "notes": list(r.notes)}
json.dump(out, open(sys.argv[2], "w"), default=str)
"""


def fingerprint(checkout: Path, extracts: list[Path], settings: str = "{}", summary_only: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        subprocess.run([sys.executable, "-c", _DUMP, str(checkout / "src"), str(out), settings, str(int(summary_only)),
                        *map(str, extracts)], check=True)
        return json.loads(out.read_text())


def differences(old: dict, new: dict) -> list[str]:
    """Every value that differs, as readable lines."""
    lines = []
    for src in old:
        name = Path(src).name
        a, b = old[src], new[src]
        for ra, rb in zip(a["summary"], b["summary"]):
            for k in sorted(set(ra) | set(rb)):
                if ra.get(k) != rb.get(k):
                    lines.append(f"{name} {ra.get('id')} {k}: {ra.get(k)!r} -> {rb.get(k)!r}")
        if len(a["summary"]) != len(b["summary"]):
            lines.append(f"{name}: {len(a['summary'])} -> {len(b['summary'])} summary rows")
        for k in sorted(set(a["layers"]) | set(b["layers"])):
            if a["layers"].get(k) != b["layers"].get(k):
                lines.append(f"{name} layer {k}: {a['layers'].get(k)} -> {b['layers'].get(k)}")
        for n in sorted(set(a["notes"]) ^ set(b["notes"])):
            lines.append(f"{name} note {'only before' if n in a['notes'] else 'only after'}: {n}")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", type=Path, required=True, help="the reference checkout (a folder with src/urbancover)")
    ap.add_argument("--malta", action="store_true", help="also ../shared/data/malta-2018.osm.pbf")
    ap.add_argument("--settings", default="{}", help="settings for both checkouts, as JSON (e.g. "
                    "'{\"edge_chunk\": 5000}': a network of more edges takes the big network's path)")
    ap.add_argument("--summary-only", action="store_true", help="summary values and notes only, no layers (a "
                    "city whose gap layers take minutes)")
    ap.add_argument("extracts", nargs="*", type=Path, help="extracts (default: the two bundled samples)")
    args = ap.parse_args(argv)
    extracts = list(args.extracts) or list(SAMPLES)
    if args.malta:
        malta = next((p for p in MALTA if p.exists()), None)
        if malta is None:
            ap.error("--malta: ../shared/data/malta-2018.osm.pbf not found")
        extracts.append(malta)
    lines = differences(*(fingerprint(c, extracts, args.settings, args.summary_only) for c in (args.old, ROOT)))
    for line in lines:
        print(line)
    print(f"{len(extracts)} extract(s): {'identical' if not lines else f'{len(lines)} difference(s)'}")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
