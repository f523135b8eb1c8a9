"""Command line: ``urbancover analyze EXTRACT --out DIR``.

Exit codes: 0 done; 1 a rule missed its target and ``--strict`` was given; 2 bad input (one line
on stderr saying which input and what is wrong).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import pandas as pd

from urbancover.errors import UrbancoverError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="urbancover",
        description="Service-radius coverage gaps over the street network of an OSM extract (offline).",
    )
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("analyze", help="evaluate a rule set on an extract; write a GeoPackage and print the summary")
    a.add_argument("extract", help="OSM extract: .osm, .osm.bz2 or .osm.pbf")
    a.add_argument("--rules", default="zhengzhou-2018", help="preset name or rule file (default: zhengzhou-2018)")
    a.add_argument("--out", default="out", help="output folder (default: out)")
    a.add_argument("--area", help="polygon file (any format geopandas reads) of the analysed area")
    a.add_argument("--only", nargs="+", metavar="RULE", help="evaluate only these rule ids")
    a.add_argument("--strict", action="store_true", help="exit 1 if a rule misses its target")
    a.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _analyze(args)
    except (UrbancoverError, KeyError, OSError) as err:
        msg = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
        print(f"urbancover: error: {msg}", file=sys.stderr)
        return 2


def _analyze(args) -> int:
    import geopandas as gpd

    from urbancover.analysis import evaluate

    area = None
    if args.area:
        try:
            area = gpd.read_file(args.area)
        except Exception as err:  # pyogrio raises DataSourceError and others
            raise OSError(f"{args.area}: cannot be read as a polygon layer ({err}).") from err
    with warnings.catch_warnings():
        if args.quiet:
            warnings.simplefilter("ignore")
        report = evaluate(args.extract, args.rules, area=area, only=args.only)
    out = Path(args.out)
    gpkg = report.to_gpkg(out / f"{_stem(args.extract)}.gpkg")
    if not args.quiet:
        print(_table(report.summary))
        for note in report.notes:
            print(f"note: {note}")
        print(f"wrote {gpkg}")
    failed = report.summary["passed"].eq(False).any()
    return 1 if args.strict and failed else 0


def _stem(path: str) -> str:
    name = Path(path).name
    for suffix in (".osm.bz2", ".osm.gz", ".osm.pbf", ".osm", ".pbf"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def _table(summary: pd.DataFrame) -> str:
    """The summary as a plain text table with shares in percent."""
    cols = {
        "id": "rule", "threshold_m": "metres", "facilities": "facilities", "buildings": "homes",
        "buildings_served": "homes served %", "buildings_served_straight": "homes straight-line %",
        "street_km": "street km", "street_served": "street served %", "street_served_straight": "street straight-line %",
        "target": "target %", "passed": "passed",
    }
    t = summary[[c for c in cols if c in summary]].rename(columns=cols).copy()
    for c in t.columns:
        if c.endswith("%"):
            t[c] = (100 * t[c].astype(float)).round(1)
    if "street km" in t:
        t["street km"] = t["street km"].astype(float).round(1)
    return t.to_string(index=False)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
