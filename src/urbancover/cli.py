"""Command line.

    urbancover analyze EXTRACT [--rules zhengzhou-2018] [--out DIR] [--area FILE] [--compounds FILE]
                               [--population FILE] [--units FILE] [--facilities RULE=FILE ...]
                               [--crs EPSG|gcj02|bd09] [--lang zh|en] [--strict] [-q]
    urbancover rules list | show NAME_OR_FILE | check FILE
    urbancover batch EXTRACT... --out DIR [--districts FILE] [--scheduler ADDRESS] [--workers N]

Exit codes: 0 done; 1 a rule missed its target and ``--strict`` was given, or a batch task failed;
2 bad input (one line on stderr naming the input and what is wrong).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import pandas as pd

from urbancover.batch import extract_stem
from urbancover.errors import UrbancoverError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="urbancover",
        description="Service-radius coverage gaps over the street network of OSM extracts (offline).",
    )
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("analyze", help="evaluate a rule set on an extract; write the GeoPackage and print the summary")
    a.add_argument("extract", help="OSM extract: .osm, .osm.bz2 or .osm.pbf")
    a.add_argument("--rules", default="zhengzhou-2018", help="preset name or rule file (default: zhengzhou-2018)")
    a.add_argument("--out", default="out", help="output folder (default: out)")
    a.add_argument("--area", help="polygon file of the analysed area (default: the extract's bounds)")
    a.add_argument("--compounds", help="polygon file of residential compounds (columns name, year_built)")
    a.add_argument("--population", help="points or polygons with a 'population' column")
    a.add_argument("--units", help="polygon file of area units (subdistricts) with a 'name' column")
    a.add_argument("--facilities", nargs="+", metavar="RULE=FILE", default=[],
                   help="your own facility layers replacing OSM's, e.g. bus_stop_500=stops.geojson")
    a.add_argument("--crs", help="coordinate system of the files given above when they do not declare one "
                                 "(EPSG code, or gcj02 / bd09 for AutoNavi/Tencent/Baidu coordinates)")
    a.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of rule names in the table")
    a.add_argument("--only", nargs="+", metavar="RULE", help="evaluate only these rule ids")
    a.add_argument("--strict", action="store_true", help="exit 1 if a rule misses its target")
    a.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")

    r = sub.add_parser("rules", help="list the presets, show a rule set, or check a rule file")
    rs = r.add_subparsers(dest="action", required=True)
    rs.add_parser("list", help="list the shipped rule sets")
    show = rs.add_parser("show", help="print the rules of a preset or file")
    show.add_argument("rules")
    check = rs.add_parser("check", help="validate a rule file (exit 2 with the reason if it is wrong)")
    check.add_argument("rules")

    b = sub.add_parser("batch", help="analyze many extracts (or districts) in parallel, resumable")
    b.add_argument("extracts", nargs="+", help="OSM extracts")
    b.add_argument("--out", required=True, help="output folder; one subfolder per task and summary.csv")
    b.add_argument("--rules", default="zhengzhou-2018")
    b.add_argument("--districts", help="polygon file: one task per district (and extract)")
    b.add_argument("--district-column", default="name", help="column naming the districts (default: name)")
    b.add_argument("--scheduler", help="address of a Dask distributed scheduler (default: local processes)")
    b.add_argument("--workers", type=int, help="local processes (default: CPUs)")
    b.add_argument("--no-resume", action="store_true", help="redo tasks that are already done")
    b.add_argument("-q", "--quiet", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"analyze": _analyze, "rules": _rules, "batch": _batch}[args.command](args)
    except (UrbancoverError, KeyError, OSError) as err:
        msg = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
        print(f"urbancover: error: {msg}", file=sys.stderr)
        return 2


def _read_layer(path: str | None, what: str, crs=None):
    if path is None:
        return None
    from urbancover.io.coords import read_layer

    if not Path(path).exists():
        raise OSError(f"{path}: no such {what} file.")
    try:
        return read_layer(path, crs=crs, name=f"{path} ({what})")
    except UrbancoverError:
        raise
    except Exception as err:  # pyogrio raises DataSourceError and others
        raise OSError(f"{path}: cannot be read as a {what} layer ({err}).") from err


def _analyze(args) -> int:
    from urbancover.analysis import evaluate

    layers = {
        "area": _read_layer(args.area, "area polygon", args.crs),
        "compounds": _read_layer(args.compounds, "compound", args.crs),
        "population": args.population if str(args.population).lower().endswith((".tif", ".tiff"))
        else _read_layer(args.population, "population", args.crs),
        "units": _read_layer(args.units, "area unit", args.crs),
        "facilities": {},
    }
    for item in args.facilities:
        key, sep, path = item.partition("=")
        if not sep or not key or not path:
            raise OSError(f"--facilities {item!r}: expected RULE=FILE, e.g. bus_stop_500=stops.geojson.")
        layers["facilities"][key] = _read_layer(path, f"{key} facility", args.crs)
    with warnings.catch_warnings():
        if args.quiet:
            warnings.simplefilter("ignore")
        report = evaluate(args.extract, args.rules, only=args.only, progress=not args.quiet, **layers)
    gpkg = report.to_gpkg(Path(args.out) / f"{extract_stem(args.extract)}.gpkg")
    if not args.quiet:
        print(summary_table(report.summary, lang=args.lang))
        for note in report.notes:
            print(f"note: {note}")
        print(f"wrote {gpkg}")
    failed = report.summary["passed"].eq(False).any()
    return 1 if args.strict and failed else 0


def summary_table(summary: pd.DataFrame, lang: str = "zh") -> str:
    """The summary as a plain text table: value, target and pass/fail per rule, and for distance
    rules the share of residents and of street length served by network and straight line (%)."""
    name = "name_zh" if lang == "zh" else "name_en"
    cols = {
        "id": "rule", name: "name", "value": "value", "target_text": "target", "passed": "passed",
        "residents_served": "residents %", "residents_served_straight": "(straight) %",
        "street_served": "street %", "street_served_straight": "(straight) % ",
    }
    t = summary[[c for c in cols if c in summary]].copy()
    for c in ("residents_served", "residents_served_straight", "street_served", "street_served_straight"):
        if c in t:
            t[c] = (100 * t[c].astype(float)).round(1)
    t["value"] = [_fmt(v, m) for v, m in zip(summary["value"], summary.get("measure", [""] * len(summary)))]
    t["passed"] = t["passed"].map({True: "yes", False: "NO"}).fillna("-")
    return t.rename(columns=cols).to_string(index=False, na_rep="")


def _fmt(value, measure) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if v != v:
        return "n/a"
    if str(measure).startswith("share"):
        return f"{100 * v:.1f} %"
    return f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}"


def _rules(args) -> int:
    from urbancover.rules import load_rules, presets

    if args.action == "list":
        for name in presets():
            rs = load_rules(name)
            print(f"{name}\t{len(rs)} rules\t{rs.name_zh or rs.name_en}")
        return 0
    rs = load_rules(args.rules)
    if args.action == "check":
        print(f"{args.rules}: ok, {len(rs)} rules ({', '.join(r.id for r in rs)})")
        return 0
    print(f"{rs.id}: {rs.name_zh}\n{rs.name_en}\n")
    for r in rs:
        threshold = f"{r.threshold:g} m" if r.threshold else ", ".join(f"{c.name} {c.threshold:g} m" if c.threshold else c.name for c in r.categories)
        extra = " ".join(f"{k}={v}" for k, v in r.params.items() if not isinstance(v, tuple))
        print(f"{r.id:<24} {r.kind:<15} {r.clause:<6} {r.name_zh}  {threshold} {extra}".rstrip())
    return 0


def _batch(args) -> int:
    from urbancover.batch import make_tasks, run_batch

    districts = _read_layer(args.districts, "district") if args.districts else None
    tasks = make_tasks(args.extracts, rules=args.rules, districts=districts, district_column=args.district_column)
    summary = run_batch(
        tasks, args.out, scheduler=args.scheduler, workers=args.workers, resume=not args.no_resume,
        progress=not args.quiet,
    )
    errors = summary[summary["error"].fillna("").astype(str) != ""]
    if not args.quiet:
        print(f"{len(tasks)} tasks, {len(errors)} failed; summary in {Path(args.out) / 'summary.csv'}")
        for _, row in errors.drop_duplicates("task").iterrows():
            print(f"failed: {row['task']}: {row['error']}")
    return 1 if len(errors) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
