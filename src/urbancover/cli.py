"""Command line.

    urbancover analyze EXTRACT [--rules zhengzhou-2018] [--out DIR] [--area FILE] [--compounds FILE]
                               [--population FILE] [--units FILE] [--facilities RULE=FILE ...]
                               [--crs EPSG|gcj02|bd09] [--lang zh|en] [--strict] [-q]
    urbancover zones EXTRACT [same inputs] [--level tertiary] [--band 0.8 1.2] [--min-old 3] [--top 5]
    urbancover rules list | show NAME_OR_FILE | check FILE
    urbancover batch EXTRACT... --out DIR [--districts FILE] [--scheduler ADDRESS] [--workers N]

Exit codes: 0 done; 1 a rule missed its target and ``--strict`` was given, a batch task failed, or
no demonstration zone met the constraints (the diagnosis is printed); 2 bad input (one line on
stderr naming the input and what is wrong); 3 an internal error (one line; ``--debug`` shows the
traceback).
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
    p.add_argument("--debug", action="store_true", help="show the Python traceback of unexpected errors")
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("analyze", help="evaluate a rule set on an extract; write the GeoPackage and print the summary")
    _inputs(a)
    a.add_argument("--only", nargs="+", metavar="RULE", help="evaluate only these rule ids")
    a.add_argument("--report", action="store_true",
                   help="also write a one-page HTML report with maps and demonstration-zone candidates (needs urbancover[maps])")
    a.add_argument("--maps", choices=("png", "pdf"), help="also write a print-quality gap map per distance rule")
    a.add_argument("--strict", action="store_true", help="exit 1 if a rule misses its target")

    z = sub.add_parser("zones", help="propose demonstration zones: ~1 km² enclosed by roads with >= 3 old compounds")
    _inputs(z)
    z.add_argument("--level", default="tertiary", help="road level enclosing the blocks (primary, secondary, tertiary, residential)")
    z.add_argument("--band", nargs=2, type=float, default=(0.8, 1.2), metavar=("MIN_KM2", "MAX_KM2"))
    z.add_argument("--min-old", type=int, default=3, help="old compounds a zone must hold (default 3)")
    z.add_argument("--top", type=int, default=5, help="how many non-overlapping zones to return")

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


def _inputs(p: argparse.ArgumentParser) -> None:
    """The inputs of an evaluation, shared by analyze and zones."""
    p.add_argument("extract", help="OSM extract: .osm, .osm.bz2 or .osm.pbf")
    p.add_argument("--rules", default="zhengzhou-2018", help="preset name or rule file (default: zhengzhou-2018)")
    p.add_argument("--out", default="out", help="output folder (default: out)")
    p.add_argument("--area", help="polygon file of the analysed area (default: the extract's bounds)")
    p.add_argument("--compounds", help="polygon file of residential compounds (columns name, year_built)")
    p.add_argument("--population", help="points or polygons with a 'population' column, or a GeoTIFF grid")
    p.add_argument("--units", help="polygon file of area units (subdistricts) with a 'name' column")
    p.add_argument("--facilities", nargs="+", metavar="RULE=FILE", default=[],
                   help="your own facility layers replacing OSM's, e.g. bus_stop_500=stops.geojson")
    p.add_argument("--crs", help="coordinate system of the files given above when they do not declare one "
                                 "(EPSG code, or gcj02 / bd09 for AutoNavi/Tencent/Baidu coordinates)")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of names in tables and maps")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"analyze": _analyze, "zones": _zones, "rules": _rules, "batch": _batch}[args.command](args)
    except (UrbancoverError, KeyError, OSError) as err:
        msg = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
        print(f"urbancover: error: {msg}", file=sys.stderr)
        return 2
    except Exception as err:  # a bug, not the user's input: one line, the traceback on request
        if args.debug:
            raise
        print(f"urbancover: internal error: {type(err).__name__}: {err} (rerun with --debug for the traceback "
              "and please report it)", file=sys.stderr)
        return 3


def _read_layer(path: str | None, what: str, crs=None):
    if path is None:
        return None
    from urbancover.io.layers import read_layer

    if not Path(path).exists():
        raise OSError(f"{path}: no such {what} file.")
    try:
        return read_layer(path, crs=crs, name=f"{path} ({what})")
    except UrbancoverError:
        raise
    except Exception as err:  # pyogrio raises DataSourceError and others
        raise OSError(f"{path}: cannot be read as a {what} layer ({err}).") from err


def _evaluate(args, only=None):
    """Read the user's layers and evaluate the extract, as analyze and zones both do."""
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
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = evaluate(args.extract, args.rules, only=only, progress=not args.quiet, **layers)
    if not args.quiet:  # most warnings are also notes, printed with the table
        for w in caught:
            if str(w.message) not in report.notes:
                print(f"urbancover: warning: {w.message}", file=sys.stderr)
    return report


def _analyze(args) -> int:
    report = _evaluate(args, only=args.only)
    out = Path(args.out)
    stem = extract_stem(args.extract)
    written = [report.to_gpkg(out / f"{stem}.gpkg")]
    if args.report or args.maps:
        written += _maps(args, report, out, stem)
    if not args.quiet:
        print(summary_table(report.summary, lang=args.lang))
        for note in report.notes:
            print(f"note: {note}")
        for path in written:
            print(f"wrote {path}")
    failed = report.summary["passed"].eq(False).any()
    return 1 if args.strict and failed else 0


def _maps(args, report, out: Path, stem: str) -> list[Path]:
    """Gap maps and the HTML report (with zone candidates, or the reason there are none)."""
    try:
        from urbancover import report as maps
    except ImportError as err:
        raise OSError(f"--report/--maps need the map extras: pip install 'urbancover[maps]' ({err}).") from err
    from urbancover.zones import find_zones

    written = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if args.maps:
            for rid, res in report.results.items():
                if res.measurement is not None:
                    path = out / "maps" / f"{rid}.{args.maps}"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    maps.gap_map(report, rid, lang=args.lang, path=path, dpi=300)
                    written.append(path)
        if args.report:
            zones = find_zones(report) if len(report.compounds) else None
            written.append(maps.html_report(report, out / f"{stem}.html", zones=zones, lang=args.lang))
    return written


def _zones(args) -> int:
    from urbancover.zones import find_zones

    report = _evaluate(args)
    lo, hi = args.band
    with warnings.catch_warnings():
        if args.quiet:
            warnings.simplefilter("ignore")
        zones = find_zones(report, level=args.level, band=(lo * 1e6, hi * 1e6), min_old_compounds=args.min_old, top=args.top)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{extract_stem(args.extract)}_zones.gpkg"
    if path.exists():
        path.unlink()
    if len(zones):
        zones.assign(blocks=zones["blocks"].map(str), compound_names=zones["compound_names"].map(str)).to_file(path, layer="zones")
    if not args.quiet:
        print(f"old compounds: {zones.attrs.get('compound_source', '')}")
        if len(zones):
            cols = ["rank", "area_km2", "old_compounds", "residents", "score", "reason"]
            print(zones[cols].round({"area_km2": 2, "residents": 0, "score": 1}).to_string(index=False))
            print(f"wrote {path}")
        else:
            print(f"no zone: {zones.attrs.get('diagnosis', '')}")
    return 0 if len(zones) else 1


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
