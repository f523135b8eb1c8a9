"""Check that read_osm gives exactly what an older checkout's read_osm gave: the ``ways`` and
``features`` frames (columns and their order, dtypes, ids, tags, geometries, row order), the bounds
and the CRS, on each extract.

    git worktree add /tmp/old-reader e7d3eee      # the reference checkout
    python benchmarks/compare_readers.py --old /tmp/old-reader [extract ...]

Default extracts: data/sample/*.osm.bz2, ../shared/data/*.osm.bz2 and malta-2018.osm.pbf. The old
code runs in a subprocess (its own ``src`` on the path) and hands its frames over as a pickle.
Exit status 1 when anything differs. Rows are compared in order and, when the order differs, again after sorting both frames by
element, id and geometry type. Geometries are compared exactly (same vertices in the same
order, ``equals_exact(tolerance=0)``); differences are listed with the first few ids.
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import shapely

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

_DUMP = """
import pickle, sys, warnings
sys.path.insert(0, sys.argv[1])
warnings.simplefilter("ignore")
import urbancover as uc
osm = uc.read_osm(sys.argv[2])
with open(sys.argv[3], "wb") as fh:
    pickle.dump({"ways": osm.ways, "features": osm.features, "bounds": osm.bounds, "crs": osm.crs}, fh)
"""


def read_old(old: Path, path: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "old.pkl"
        subprocess.run([sys.executable, "-c", _DUMP, str(old / "src"), str(path), str(out)], check=True)
        with open(out, "rb") as fh:
            return pickle.load(fh)


def _same_values(a, b) -> np.ndarray:
    """Element-wise equality of two object columns (None == None, NaN == NaN, arrays by value)."""
    out = np.zeros(len(a), dtype=bool)
    for i, (x, y) in enumerate(zip(a, b)):
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            out[i] = np.array_equal(x, y)
        elif x is None or y is None or (isinstance(x, float) and np.isnan(x)):
            out[i] = (x is None or (isinstance(x, float) and np.isnan(x))) and (
                y is None or (isinstance(y, float) and np.isnan(y)))
        else:
            out[i] = x == y
    return out


def compare_frames(name: str, old, new, key: list[str]) -> list[str]:
    """Differences between two GeoDataFrames, as readable lines (empty: identical)."""
    problems = []
    if list(old.columns) != list(new.columns):
        problems.append(f"{name}: columns {list(old.columns)} != {list(new.columns)}")
        return problems
    dt = [(c, str(old[c].dtype), str(new[c].dtype)) for c in old.columns if str(old[c].dtype) != str(new[c].dtype)]
    if dt:
        problems.append(f"{name}: dtypes differ: {dt}")
    if str(old.crs) != str(new.crs):
        problems.append(f"{name}: crs {old.crs} != {new.crs}")
    if len(old) != len(new):
        ko = set(map(tuple, old[key].astype(str).to_numpy()))
        kn = set(map(tuple, new[key].astype(str).to_numpy()))
        problems.append(f"{name}: {len(old)} rows before, {len(new)} now; only before: {sorted(ko - kn)[:5]}, "
                        f"only now: {sorted(kn - ko)[:5]}")
        return problems
    ids = [tuple(r) for r in old[key].to_numpy()]
    for col in old.columns:
        if col == "geometry":
            same = shapely.equals_exact(old.geometry.values, new.geometry.values, tolerance=0)
        else:
            same = _same_values(old[col].to_numpy(), new[col].to_numpy())
        if not same.all():
            bad = np.flatnonzero(~same)
            what = ""
            if col == "geometry":
                shape = shapely.equals(old.geometry.values[bad], new.geometry.values[bad])
                what = f" ({int(shape.sum())} of them the same shape with the vertices in another order)"
            problems.append(f"{name}: column {col!r} differs in {len(bad)} rows{what}, e.g. {[ids[i] for i in bad[:5]]}")
    return problems


def canonical(frame, key: list[str]):
    """Rows sorted by ``key`` then geometry type (a closed way may be both a line and a polygon)."""
    order = frame[key].assign(_type=frame.geometry.geom_type.to_numpy()).sort_values([*key, "_type"], kind="stable").index
    return frame.loc[order].reset_index(drop=True)


def compare(old: dict, new, by_key: bool = False) -> list[str]:
    """Differences; with ``by_key`` rows are compared after sorting both frames by their ids."""
    wo, wn, fo, fn = old["ways"], new.ways, old["features"], new.features
    if by_key:
        wo, wn = canonical(wo, ["osmid"]), canonical(wn, ["osmid"])
        fo, fn = canonical(fo, ["element", "osmid"]), canonical(fn, ["element", "osmid"])
    problems = compare_frames("ways", wo, wn, ["osmid"])
    problems += compare_frames("features", fo, fn, ["element", "osmid"])
    if tuple(old["bounds"]) != tuple(new.bounds):
        problems.append(f"bounds {old['bounds']} != {new.bounds}")
    if old["crs"] != new.crs:
        problems.append(f"crs {old['crs']} != {new.crs}")
    return problems


def default_extracts() -> list[Path]:
    paths = sorted((ROOT / "data" / "sample").glob("*.osm.bz2"))
    for shared in (ROOT.parent / "shared" / "data", Path("/work/shared/data")):
        if shared.is_dir():
            paths += sorted(shared.glob("*.osm.bz2")) + sorted(shared.glob("*.osm.pbf"))
            break
    return paths


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("extracts", nargs="*")
    ap.add_argument("--old", required=True, help="root of the reference checkout (holding src/urbancover)")
    ap.add_argument("--strict-order", action="store_true", help="fail when only the row order differs")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    import urbancover as uc

    paths = [Path(p) for p in args.extracts] or default_extracts()
    failed = False
    for path in paths:
        old = read_old(Path(args.old), path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            new = uc.read_osm(path)
        problems = compare(old, new)
        status = "identical"
        if problems:
            problems = compare(old, new, by_key=True)
            status = "identical rows in another order" if not problems else "DIFFERENT"
            failed |= bool(problems) or args.strict_order
        print(f"{path.name}: {status} ({len(new.ways):,} ways, {len(new.features):,} features)")
        for p in problems:
            print("   ", p)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
