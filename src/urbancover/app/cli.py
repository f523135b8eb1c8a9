"""Command line.

    urbancover analyze EXTRACT [--rules zhengzhou-2018] [--out DIR] [--area FILE|built-up|streets|bounds] [--compounds FILE]
                               [--population FILE] [--units FILE] [--facilities RULE=FILE ...]
                               [--crs EPSG|gcj02|bd09] [--lang zh|en] [--wide] [--strict] [-q]
    urbancover zones EXTRACT [same inputs] [--level tertiary] [--band 0.8 1.2] [--min-old 3] [--top 5]
    urbancover compare BEFORE AFTER [same inputs] [--after-facilities RULE=FILE ...] [--only RULE ...] [--maps png|pdf]
                               [--report]
    urbancover rules list | show NAME_OR_FILE | check FILE | copy PRESET FILE
    urbancover batch EXTRACT... --out DIR [--districts FILE] [--scheduler ADDRESS] [--workers N]
                                [--report] [--maps [png|pdf]] [--overwrite] [--wait SECONDS]
    urbancover --version

Point files may be CSV with longitude/latitude (or x/y) columns, found by name (lon/lng/longitude/x/
经度, lat/latitude/y/纬度) or named with ``--x-column``/``--y-column``; a CSV declares no coordinate
system, so it needs ``--crs``. Outputs are written to a temporary name and renamed into place; an
existing file is replaced only when urbancover wrote it and nobody changed it since, or with
``--overwrite``; an input of the run is never replaced.

Exit codes: 0 done; 1 a rule missed its target and ``--strict`` was given, a batch task failed (its
error is in ``summary.csv``, every other task ran), or no demonstration zone met the constraints
(the diagnosis is printed); 2 bad input or environment (one line on stderr naming the input, flag
or path and what is wrong, found before the work starts where it can be: ``--out`` is checked
first; a full disk or a folder without permission names the file and the cause, in every
format); 3 an internal error, a bug (one line; ``--debug`` shows the traceback); 130 / 143
interrupted by Ctrl-C (SIGINT) / SIGTERM (one line; nothing half-written stays, a rerun finishes).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
from pathlib import Path

from urbancover.app.batch import extract_stem
from urbancover.core.errors import InputError, UrbancoverError
from urbancover.plan.rules import KINDS, check_rules_file
from urbancover.present import Note, Verdict, say


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="urbancover",
        description="Service-radius coverage gaps over the street network of OSM extracts (offline).",
    )
    p.add_argument("--debug", action="store_true", help="show the Python traceback of unexpected errors")
    p.add_argument("--version", action="version", version=f"urbancover {_version()}")
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("analyze", help="evaluate a rule set on an extract; write the GeoPackage and print the summary")
    _inputs(a)
    a.add_argument("--only", nargs="+", metavar="RULE", help="evaluate only these rule ids")
    a.add_argument("--report", action="store_true",
                   help="also write the HTML report: one self-contained page with the summary, notes, maps and "
                        "demonstration-zone candidates; printed, A4 pages with each gap map on its own (needs urbancover[maps])")
    a.add_argument("--maps", nargs="?", const="png", choices=("png", "pdf"),
                   help="also write a print-quality gap map per distance rule (png when no format is given)")
    a.add_argument("--format", choices=("gpkg", "parquet", "geojson", "shp"), default="gpkg",
                   help="format of the layers: one GeoPackage (default), or a folder <extract>_<format> of GeoParquet, "
                        "GeoJSON or Shapefile files, one per layer, with the summary as CSV")
    a.add_argument("--wide", action="store_true",
                   help="print the summary with every detail (whole names, the shares' sizes, reasons), wider than 120 columns")
    a.add_argument("--strict", action="store_true",
                   help="exit 1 if a rule misses its target; exit 2 if the extract looks cut short")
    a.add_argument("--overwrite", action="store_true", help="replace existing outputs urbancover did not write "
                                                           "(never an input of the run)")

    z = sub.add_parser("zones", help="propose demonstration zones: ~1 km² enclosed by roads with >= 3 old compounds")
    _inputs(z)
    z.add_argument("--level", default="tertiary", help="road level enclosing the blocks (primary, secondary, tertiary, residential)")
    z.add_argument("--band", nargs=2, type=float, default=(0.8, 1.2), metavar=("MIN_KM2", "MAX_KM2"))
    z.add_argument("--min-old", type=int, default=3, help="old compounds a zone must hold (default 3)")
    z.add_argument("--top", type=int, default=5, help="how many non-overlapping zones to return")
    z.add_argument("--overwrite", action="store_true", help="replace an existing zones file urbancover did not write")

    c = sub.add_parser("compare", help="before and after: evaluate two extracts with the same rules and area; write the "
                                       "change tables and a change map per rule, print the change")
    _inputs(c, extract=False)
    c.add_argument("before", help="the earlier OSM extract (.osm, .osm.bz2 or .osm.pbf)")
    c.add_argument("after", help="the later OSM extract (or the same file, with --after-facilities)")
    c.add_argument("--after-facilities", nargs="+", metavar="RULE=FILE", default=[],
                   help="facility layers of the after state only, replacing OSM's, e.g. bus_stop_500=stops_and_sites.geojson")
    c.add_argument("--only", nargs="+", metavar="RULE", help="compare only these rule ids")
    c.add_argument("--maps", choices=("png", "pdf"), default="png", help="format of the change maps (default png)")
    c.add_argument("--report", action="store_true", help="also write the before-and-after HTML page (the change table, "
                                                         "notes and change maps in one file)")
    c.add_argument("--overwrite", action="store_true", help="replace existing outputs urbancover did not write")

    r = sub.add_parser("rules", help="list the presets, show a rule set, or check a rule file")
    rs = r.add_subparsers(dest="action", required=True)
    rs.add_parser("list", help="list the shipped rule sets")
    show = rs.add_parser("show", help="print the rules of a preset or file")
    show.add_argument("rules")
    check = rs.add_parser("check", help="validate a rule file: every error at once (exit 2), warnings on likely typos")
    check.add_argument("rules")
    copy = rs.add_parser("copy", help="copy a preset to a file to edit, e.g. rules copy zhengzhou-2018 my-rules.toml")
    copy.add_argument("preset")
    copy.add_argument("file")
    copy.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")

    k = sub.add_parser("compile", help="compile the numba kernels now, once per machine (a container image's or CI "
                                       "cache's build step), so that the first analysis compiles nothing")
    k.add_argument("-q", "--quiet", action="store_true")

    b = sub.add_parser("batch", help="analyze many extracts (or districts) in parallel, resumable")
    b.add_argument("extracts", nargs="+", help="OSM extracts")
    b.add_argument("--out", required=True, help="output folder; one subfolder per task and summary.csv")
    b.add_argument("--rules", default="zhengzhou-2018")
    b.add_argument("--districts", help="polygon file: one task per district (and extract)")
    b.add_argument("--district-column", default="name", help="column naming the districts (default: name)")
    b.add_argument("--scheduler", help="address of a Dask distributed scheduler (default: local processes)")
    b.add_argument("--workers", type=int, help="local processes (default: CPUs)")
    b.add_argument("--no-resume", action="store_true", help="redo tasks that are already done")
    b.add_argument("--report", action="store_true", help="also write each task's HTML report (needs urbancover[maps])")
    b.add_argument("--maps", nargs="?", const="png", choices=("png", "pdf"),
                   help="also write each task's gap maps (png when no format is given)")
    b.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of reports and maps")
    b.add_argument("--overwrite", action="store_true", help="replace task folders urbancover did not write")
    b.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for another run using --out (default: refuse at once)")
    b.add_argument("-q", "--quiet", action="store_true")
    return p


def _inputs(p: argparse.ArgumentParser, extract: bool = True) -> None:
    """The inputs of an evaluation, shared by analyze, zones and compare (its two extracts are its own)."""
    if extract:
        p.add_argument("extract", help="OSM extract: .osm, .osm.bz2 or .osm.pbf")
    p.add_argument("--rules", default="zhengzhou-2018", help="preset name or rule file (default: zhengzhou-2018)")
    p.add_argument("--out", default="out", help="output folder (default: out)")
    p.add_argument("--area", help="polygon file of the analysed area, or a named one: built-up (the built-up land), "
                                  "streets (the streets' hull), bounds (the extract's box, as before PLAN_RULES rev 3); "
                                  "default: the built-up land, or the streets' hull where little land is built up")
    p.add_argument("--compounds", help="polygon file of residential compounds (columns name, year_built)")
    p.add_argument("--population", help="points or polygons with a 'population' column, or a GeoTIFF grid")
    p.add_argument("--units", help="polygon file of area units (subdistricts) with a 'name' column")
    p.add_argument("--facilities", nargs="+", metavar="RULE=FILE", default=[],
                   help="your own facility layers replacing OSM's, e.g. bus_stop_500=stops.geojson")
    p.add_argument("--crs", help="coordinate system of the files given above when they do not declare one "
                                 "(EPSG code, or gcj02 / bd09 for AutoNavi/Tencent/Baidu coordinates)")
    p.add_argument("--x-column", help="column of longitudes (or x) in CSV point files (default: found by name)")
    p.add_argument("--y-column", help="column of latitudes (or y) in CSV point files (default: found by name)")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of names in tables and maps")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")


def _version() -> str:
    from urbancover.core.version import __version__

    return __version__


def _say(stream, text: str) -> None:
    """Print even text with undecodable file names (surrogates) without failing."""
    enc = getattr(stream, "encoding", None) or "utf-8"
    print(text.encode(enc, "backslashreplace").decode(enc, "replace"), file=stream)


#: Library wording -> the command line's flags, so an error names what the shell user types.
_FLAG_WORDS = (
    (re.compile(r"Read files with urbancover\.read_layer\(path, crs=\.\.\.\)\."), ""),
    (re.compile(r"\.set_crs\('([^']+)'\)"), r"--crs \1"),
    (re.compile(r"\bcrs=\.\.\."), "--crs ..."),
    (re.compile(r"\bpass crs='([^']+)'"), r"pass --crs \1"),
    (re.compile(r"\bcrs='([^']+)'"), r"--crs \1"),
    (re.compile(r"\bcrs=([^\s:,;]+)"), r"--crs \1"),
    (re.compile(r"(--crs [^\s]+ \([^)]*\)), '(gcj02|bd09)'"), r"\1, --crs \2"),
    (re.compile(r" or '(bd09)' "), r" or --crs \1 "),
    (re.compile(r"\b([xy])_column='([^']*)'"), r"--\1-column \2"),
    (re.compile(r"\bfacilities\['([^']*)'\]"), r"--facilities \1"),
    (re.compile(r"^facilities: no rule or category '([^']*)' to replace"), r"--facilities \1: no rule or category of that name"),
    (re.compile(r"\bband_km2="), "--band"),
    (re.compile(r"\bunits=\.\.\."), "--units"),
    (re.compile(r"\bmin_old_compounds="), "--min-old"),
    (re.compile(r"^level:"), "--level:"),
)


def cli_message(message: str) -> str:
    """An error or note of the library in the command line's words (``--crs`` for ``crs=`` ...)."""
    for pattern, repl in _FLAG_WORDS:
        message = pattern.sub(repl, message)
    return " ".join(message.split())


class _Warned:
    """The warnings of one command, recorded from :meth:`start` to :meth:`close` and each told once
    as an ``urbancover: warning:`` line on stderr (none with ``-q``): never in Python's raw format,
    never lost when an error follows.
    """

    def __init__(self, quiet: bool, lang: str = "en"):
        self.quiet, self.lang, self.told = quiet, lang, set()
        self._catch = warnings.catch_warnings(record=True)
        self.caught: list = []

    @classmethod
    def start(cls, quiet: bool, lang: str = "en") -> _Warned:
        """Record every warning from now on (UserWarnings always; others as Python's filters say);
        a warning that is a :class:`~urbancover.present.Note` is said in ``lang``.
        """
        self = cls(quiet, lang)
        self.caught = self._catch.__enter__()
        warnings.simplefilter("always", UserWarning)
        return self

    def tell(self, skip=()) -> None:
        """Print the warnings recorded so far and not told yet, except those in ``skip`` (the
        report's notes, printed with the summary: :meth:`noted`).
        """
        for w in self.caught:
            msg = str(w.message)
            if msg in self.told or msg in skip:
                continue
            self.told.add(msg)
            if not self.quiet:
                note = w.message.args[0] if getattr(w.message, "args", None) else msg
                text = cli_message(say(note, self.lang) if isinstance(note, Note) else msg)
                _say(sys.stderr, f"urbancover: warning: {text}")

    def noted(self, notes) -> None:
        """``notes`` were printed as notes: the warnings saying the same are told."""
        self.told.update(notes)

    def close(self) -> None:
        """Tell what is left and stop recording."""
        try:
            self.tell()
        finally:
            self._catch.__exit__(None, None, None)


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit code.

    Every warning of the run is told once (:class:`_Warned`): with the report's notes when it is
    one, else as a warning line; the warnings seen before an error are printed before it.
    """
    from urbancover.core.files import Interrupted, stop_on_signals

    args = _parser().parse_args(argv)
    args.warned = warned = _Warned.start(getattr(args, "quiet", False), getattr(args, "lang", "en"))
    if getattr(args, "quiet", False):  # nothing but errors: not even the line of a first compile
        from urbancover.core.compiled import set_compile_notice

        set_compile_notice(None)
    try:
        with stop_on_signals():  # Ctrl-C and SIGTERM clean up (no .part file left), then one line
            return {"analyze": _analyze, "zones": _zones, "compare": _compare, "rules": _rules,
                    "batch": _batch, "compile": _compile}[args.command](args)
    except KeyboardInterrupt as err:
        warned.tell()
        code = err.exit_code if isinstance(err, Interrupted) else 130
        name = err.name if isinstance(err, Interrupted) else "SIGINT"
        _say(sys.stderr, f"urbancover: interrupted ({name}): unfinished outputs were removed, finished ones kept; "
             "run the same command again to finish.")
        return code
    except (UrbancoverError, OSError) as err:  # bad input, a full disk, a file the system refuses: exit 2
        warned.tell()
        _say(sys.stderr, f"urbancover: error: {cli_message(str(err))}")
        return 2
    except Exception as err:  # a bug, not the user's input: one line, the traceback on request
        warned.tell()
        if args.debug:
            raise
        _say(sys.stderr, f"urbancover: internal error: {type(err).__name__}: {err} (rerun with --debug for the "
             "traceback and please report it)")
        return 3
    finally:
        warned.close()


def _compile(args) -> int:
    """``urbancover compile``: every kernel compiled (or found compiled) in numba's cache."""
    import numba

    from urbancover.network.kernels import load_kernels

    seconds = load_kernels()
    where = numba.config.CACHE_DIR or "beside urbancover's modules (__pycache__) or in ~/.cache/numba"
    if not args.quiet:
        _say(sys.stdout, f"urbancover: compiled kernels ready in {seconds:.1f} s (numba's cache: {where}); an analysis "
             "on this machine compiles nothing now.")
    return 0


def _read_layer(path: str | None, what: str, crs=None, flag: str = "", args=None):
    if path is None:
        return None
    from urbancover.io import read_layer
    from urbancover.io.layers import CSV_SUFFIXES

    flag = flag or f"--{what}"
    csv = Path(path).suffix.lower() in CSV_SUFFIXES  # --x-column/--y-column apply to the CSV files given
    columns = {"x_column": getattr(args, "x_column", None), "y_column": getattr(args, "y_column", None)} if csv else {}
    return read_layer(path, crs=crs, name=f"{flag} {path}", **columns)


def _named_area(area: str | None) -> bool:
    """Whether ``--area`` names an area (``built-up``, ``streets``, ``bounds``, ``auto``) rather than a
    file: a name wins (write ``./bounds`` for a file of that name).
    """
    from urbancover.evaluation.validate import AREA_CHOICES

    return area is not None and area.strip().lower().replace("_", "-") in AREA_CHOICES


def _input_files(args) -> list[str]:
    """Every file the run reads: never an output."""
    files = [getattr(args, "extract", None), None if _named_area(args.area) else args.area, args.compounds, args.population,
             args.units]
    files += [item.partition("=")[2] for item in args.facilities]
    if Path(str(args.rules)).is_file():
        files.append(args.rules)
    return [f for f in files if f]


def _check_before_work(args, only=None):
    """Everything about the inputs that can be found wrong before the evaluation: exit 2 at once.

    ``--out`` first (writable), then the rule set and ``--only``, the extract, the facility keys.
    """
    from urbancover.core.files import check_writable
    from urbancover.evaluation.validate import check_facility_keys
    from urbancover.plan.rules import load_rules

    check_writable(args.out)
    ruleset = load_rules(args.rules)
    if only:
        unknown = sorted(set(only) - {r.id for r in ruleset})
        if unknown:
            raise InputError(f"--only {' '.join(unknown)}: no such rule in {args.rules}; it has {[r.id for r in ruleset]}.")
    if not Path(args.extract).is_file():
        raise InputError(f"{args.extract}: no such file (the OSM extract).")
    for item in args.facilities:
        key, sep, path = item.partition("=")
        if not sep or not key or not path:
            raise InputError(f"--facilities {item!r}: expected RULE=FILE, e.g. bus_stop_500=stops.geojson.")
    check_facility_keys([item.partition("=")[0] for item in args.facilities], ruleset.facility_keys)
    return ruleset


def _evaluate(args, only=None):
    """Read the user's layers and evaluate the extract, as analyze and zones both do."""
    from urbancover.evaluation.analysis import evaluate

    layers = {
        "area": args.area if _named_area(args.area) else _read_layer(args.area, "area", args.crs, args=args),
        "compounds": _read_layer(args.compounds, "compounds", args.crs, args=args),
        "population": args.population if str(args.population).lower().endswith((".tif", ".tiff"))
        else _read_layer(args.population, "population", args.crs, args=args),
        "units": _read_layer(args.units, "units", args.crs, args=args),
        "facilities": {},
    }
    for item in args.facilities:
        key, _, path = item.partition("=")
        layers["facilities"][key] = _read_layer(path, f"{key} facility", args.crs, flag=f"--facilities {key}=", args=args)
    report = evaluate(args.extract, args.rules, only=only, progress=not args.quiet,
                      strict=getattr(args, "strict", False), **layers)  # with --strict a cut extract is exit 2
    args.warned.tell(skip=report.notes)  # the warnings that are notes are printed with the summary
    return report


def _analyze(args) -> int:
    from urbancover.app.batch import Outputs, task_zones, write_maps
    from urbancover.core.files import FolderLock, OutputGuard, safe_name
    from urbancover.core.progress import Steps
    from urbancover.evaluation.export import write_report

    ruleset = _check_before_work(args, args.only)
    stem = safe_name(extract_stem(args.extract), "extract")
    guard = OutputGuard(args.out, _input_files(args), overwrite=args.overwrite)
    outputs = Outputs(report=args.report, maps=args.maps, lang=args.lang)
    rids = [r.id for r in ruleset if args.only is None or r.id in args.only]

    def planned():
        paths = [guard.target(f"{stem}.gpkg")] if args.format == "gpkg" else []
        if args.report:
            paths.append(guard.target(f"{stem}.html"))
        if args.maps:
            paths += [guard.target("maps", f"{safe_name(rid, 'rule')}.{args.maps}") for rid in rids
                      if KINDS[ruleset[rid].kind].distance]
        return paths

    planned()  # refuse a foreign file or an input in the way before the evaluation
    report = _evaluate(args, only=args.only)
    # after the evaluation's bar, the rest is said too: each zone search, layer, map and page
    steps = Steps(1 + bool(args.report) + bool(args.report or args.maps), not args.quiet, Path(args.extract).name)
    try:
        if args.report:
            steps.step("demonstration zones")
        zones = task_zones(report, outputs)
        with FolderLock(args.out, wait=600):  # another run writing here: wait for it
            guard = OutputGuard(args.out, _input_files(args), overwrite=args.overwrite)
            guard.sweep([".", "maps", f"{stem}_{args.format}"])  # .part files of runs that were killed
            planned()
            if args.format == "gpkg":
                steps.step(f"writing {stem}.gpkg")
                written = [guard.wrote(p) for p in write_report(report, guard.target(f"{stem}.gpkg"), "gpkg", zones=zones)]
            else:
                folder = f"{stem}_{args.format}"
                steps.step(f"writing {folder}{os.sep}")
                files = write_report(report, guard.out / folder, args.format, zones=zones,
                                     target=lambda name: guard.target(folder, name))
                written = [guard.wrote(p) for p in files]
            if args.report or args.maps:
                steps.step("writing " + " and ".join(w for w, on in (("maps", args.maps), ("the HTML report", args.report)) if on))
                written += [guard.wrote(p) for p in write_maps(report, guard.out, stem, outputs, target=guard.target,
                                                               zones=zones)]
    finally:
        steps.close()
    if not args.quiet:
        from urbancover.present import say

        print(summary_table(report, lang=args.lang, wide=args.wide))
        label = "说明" if args.lang == "zh" else "note"
        for note in report.notes:
            _say(sys.stdout, f"{label}: {cli_message(say(note, args.lang))}")
        args.warned.noted(report.notes)
        for line in wrote_lines(written, args.lang):
            _say(sys.stdout, line)
    failed = any(res.summary.verdict is Verdict.FAIL for res in report.results.values())
    return 1 if args.strict and failed else 0


def wrote_lines(paths, lang: str = "en") -> list[str]:
    """One "wrote" line per output folder, in the order first written: a folder's only file by its
    path (``wrote out/city.gpkg``), several by the folder, their count and, for a few, their names
    (``wrote out/maps/ (2 files: bus_stop_500.png, park_500.png)``; ``wrote out/city_shp/ (254 files)``).
    """
    from urbancover.present.words import ZONE_HEADERS

    W = ZONE_HEADERS[lang]
    folders: dict[Path, list[Path]] = {}
    for p in paths:
        p = Path(p)
        folders.setdefault(p.parent, []).append(p)
    lines = []
    for folder, files in folders.items():
        if len(files) == 1:
            lines.append(f"{W['wrote']} {files[0]}")
            continue
        colon = "：" if lang == "zh" else ": "
        names = f"{colon}{', '.join(f.name for f in files)}" if len(files) <= 4 else ""
        lines.append(f"{W['wrote']} {folder}{os.sep} ({len(files)} {W['files']}{names})")
    return lines


def _zones(args) -> int:
    from urbancover.core.files import FolderLock, OutputGuard, atomic_path, safe_name
    from urbancover.zones import LEVELS, find_zones

    lo, hi = args.band
    if not (0 < lo <= hi < float("inf")):
        raise InputError(f"--band {lo:g} {hi:g}: give the zone area range in km² with 0 < MIN <= MAX, e.g. --band 0.8 1.2.")
    if args.min_old < 0:
        raise InputError(f"--min-old {args.min_old}: give a number of old compounds >= 0.")
    if args.top < 1:
        raise InputError(f"--top {args.top}: give how many zones to return, at least 1.")
    if args.level not in LEVELS:
        raise InputError(f"--level {args.level}: unknown road level; use one of {', '.join(LEVELS)}.")
    _check_before_work(args)
    guard = OutputGuard(args.out, _input_files(args), overwrite=args.overwrite)
    name = f"{safe_name(extract_stem(args.extract), 'extract')}_zones.gpkg"
    guard.target(name)
    report = _evaluate(args)
    with warnings.catch_warnings(record=True) as caught:  # the diagnosis is printed once, below
        warnings.simplefilter("always")
        zones = find_zones(report, level=args.level, band_km2=(lo, hi), min_old_compounds=args.min_old, top=args.top)
    diagnosis = zones.attrs.get("diagnosis", "")
    path = None
    if len(zones):
        with FolderLock(args.out, wait=600):
            guard.sweep()  # .part files of runs that were killed
            path = guard.target(name)
            with atomic_path(path) as part:
                zones.assign(blocks=zones["blocks"].map(str), compound_names=zones["compound_names"].map(str)).to_file(part, layer="zones")
            guard.wrote(path)
    if not args.quiet:
        from urbancover.present import say
        from urbancover.present.words import ZONE_HEADERS

        W = ZONE_HEADERS[args.lang]
        for w in caught:
            if diagnosis and diagnosis in str(w.message):
                continue
            _say(sys.stderr, f"urbancover: warning: {cli_message(str(w.message))}")
        print(f"{W['old_source']}: {say(zones.attrs.get('compound_source', ''), args.lang)}")
        if len(zones):
            cols = ["rank", "area_km2", "old_compounds", "residents", "score", "reason"]
            table = zones[cols].round({"area_km2": 2, "residents": 0, "score": 1})
            table["reason"] = [say(r, args.lang) for r in table["reason"]]
            print(table.rename(columns=W).to_string(index=False))
            _say(sys.stdout, f"{W['wrote']} {path}")
        else:
            _say(sys.stdout, f"{W['no_zone']}: {cli_message(say(diagnosis, args.lang))}")
    return 0 if len(zones) else 1


def _compare(args) -> int:
    from urbancover.app.batch import write_change_maps
    from urbancover.change import compare
    from urbancover.core.files import FolderLock, OutputGuard, atomic_path, safe_name
    from urbancover.evaluation.validate import check_facility_keys

    for flag, path in (("BEFORE", args.before), ("AFTER", args.after)):
        if not Path(path).is_file():
            raise InputError(f"{flag} {path}: no such file (the {'earlier' if flag == 'BEFORE' else 'later'} OSM extract).")
    args.extract = args.before
    ruleset = _check_before_work(args, args.only)
    for item in args.after_facilities:
        key, sep, path = item.partition("=")
        if not sep or not key or not path:
            raise InputError(f"--after-facilities {item!r}: expected RULE=FILE, e.g. bus_stop_500=stops.geojson.")
    check_facility_keys([item.partition("=")[0] for item in args.after_facilities], ruleset.facility_keys)
    stem_b, stem_a = (safe_name(extract_stem(p), "extract") for p in (args.before, args.after))
    name = f"{stem_b}_vs_{stem_a}" if stem_a != stem_b else f"{stem_b}_change"
    inputs = _input_files(args) + [args.after] + [item.partition("=")[2] for item in args.after_facilities]
    guard = OutputGuard(args.out, inputs, overwrite=args.overwrite)
    rids = [r.id for r in ruleset if args.only is None or r.id in args.only]

    def planned():
        return ([guard.target(f"{name}.gpkg")] + ([guard.target(f"{name}.html")] if args.report else [])
                + [guard.target(f"{name}_maps", f"{safe_name(rid, 'rule')}.{args.maps}")
                   for rid in rids if KINDS[ruleset[rid].kind].distance])

    planned()  # refuse a foreign file or an input in the way before the evaluations
    before = _evaluate(args, only=args.only)
    args.extract = args.after
    args.facilities = list(args.facilities) + list(args.after_facilities)
    after = _evaluate(args, only=args.only)
    change = compare(before, after)
    with FolderLock(args.out, wait=600):
        guard = OutputGuard(args.out, inputs, overwrite=args.overwrite)
        guard.sweep([".", f"{name}_maps"])
        planned()
        written = [guard.wrote(change.to_gpkg(guard.target(f"{name}.gpkg")))]
        written += [guard.wrote(p) for p in write_change_maps(change, lambda rid: guard.target(
            f"{name}_maps", f"{safe_name(rid, 'rule')}.{args.maps}"), lang=args.lang)]
        if args.report:
            page = guard.target(f"{name}.html")
            with atomic_path(page) as part:
                change.to_html(part, lang=args.lang)
            written.append(guard.wrote(page))
    if not args.quiet:
        from urbancover.present.words import COMPARE

        W = COMPARE[args.lang]
        print(change_table(change, args.lang))
        for note in [*change.notes, *(n for n in after.notes if n not in before.notes)]:
            _say(sys.stdout, f"{W['note']}: {cli_message(say(note, args.lang))}")
        args.warned.noted(before.notes + after.notes)
        for line in wrote_lines(written, args.lang):
            _say(sys.stdout, line)
    return 0


def change_table(comparison, lang: str = "zh") -> str:
    """The change of each rule as a plain text table in ``lang``, its columns lined up by display
    width (a hanzi takes two): the share before and after, served of all before and after, homes
    served, homes newly served / no longer served, street metres newly served / no longer served,
    facilities added / removed.
    """
    import pandas as pd

    from urbancover.change.compare import size_change
    from urbancover.present.formats import share, text_table
    from urbancover.present.words import COMPARE

    W = COMPARE[lang]

    def n(v):
        return f"{int(v):,}"

    rows = []
    for rid, r in comparison.summary.iterrows():
        shared = r["unit"] != ""
        rows.append([
            rid,
            f"{share(r['value_before'])} → {share(r['value_after'])}" if shared
            else f"{value(r['value_before'])} → {value(r['value_after'])}",
            size_change(r, lang) if shared else "",
            "" if pd.isna(r["homes_before"]) else
            f"{n(r['homes_served_before'])}/{n(r['homes_before'])} → {n(r['homes_served_after'])}/{n(r['homes_after'])}",
            "" if pd.isna(r["homes_newly_served"]) else f"+{n(r['homes_newly_served'])} / -{n(r['homes_newly_unserved'])}",
            "" if pd.isna(r["street_m_newly_served"]) else
            f"+{r['street_m_newly_served']:,.0f} / -{r['street_m_newly_unserved']:,.0f}",
            "" if pd.isna(r["facilities_added"]) else f"+{n(r['facilities_added'])} / -{n(r['facilities_removed'])}",
        ])
    headers = [W[k] for k in ("col_rule", "col_share", "col_size", "col_homes", "col_newly", "col_street", "col_facilities")]
    keep = [k for k in range(len(headers)) if k == 0 or any(r[k] for r in rows)]  # columns no rule fills: left out
    return text_table([headers[k] for k in keep], [[r[k] for k in keep] for r in rows], align="l" + "r" * (len(keep) - 1))


def value(v) -> str:
    """A rule's value that is not a share, for the change table."""
    from urbancover.present.formats import value as fmt

    return fmt(v)


def summary_table(summary, lang: str = "zh", wide: bool = False) -> str:
    """The summary as a plain text table in ``lang`` (``zh`` or ``en``) that fits 120 columns, or
    every detail with ``wide`` (:func:`urbancover.present.display.summary_text`): value, target and
    verdict per rule; for distance rules the share of residents and of street length served by
    network and by straight line ("37.7% | 46.4%", with its size when wide: "of 6,702 residents");
    an undetermined rule says so, with its reason, never as a pass. ``summary``: a Report (its
    typed rows), or a summary table.
    """
    from urbancover.evaluation.results import SummaryRow
    from urbancover.present.display import summary_text

    if hasattr(summary, "results"):
        rows = [res.summary for res in summary.results.values()]
    else:
        rows = [SummaryRow.from_columns(r) for _, r in summary.iterrows()]
    return summary_text(rows, lang, wide=wide, say_text=cli_message)


def _rules(args) -> int:
    from urbancover.plan.rules import load_rules, presets
    from urbancover.plan.selectors import describe

    if args.action == "list":
        for name in presets():
            rs = load_rules(name)
            print(f"{name}\t{len(rs)} rules\t{rs.name_zh or rs.name_en}")
        return 0
    if args.action == "copy":
        return _rules_copy(args)
    if args.action == "check":
        errors, warns, n = check_rules_file(args.rules)
        for w in warns:
            _say(sys.stderr, f"urbancover: warning: {w}")
        if errors:
            for e in errors:
                _say(sys.stderr, f"urbancover: error: {e}")
            if len(errors) > 1:  # one error stays one line
                _say(sys.stderr, f"urbancover: {args.rules}: {len(errors)} errors")
            return 2
        rs = load_rules(args.rules)
        _say(sys.stdout, f"{args.rules}: ok, {len(rs)} rules ({', '.join(r.id for r in rs)})"
             + (f", {len(warns)} warning(s)" if warns else ""))
        return 0
    rs = load_rules(args.rules)
    print(f"{rs.id}: {rs.name_zh}\n{rs.name_en}\n")
    for r in rs:
        threshold = f"{r.threshold:g} m" if r.threshold else ", ".join(
            f"{c.name} {c.threshold:g} m" if c.threshold else c.name for c in r.categories
        )
        extra = " ".join(f"{k}={v}" for k, v in r.params.items() if not isinstance(v, tuple))
        print(f"{r.id:<24} {r.kind:<15} {r.clause:<6} {r.name_zh}  {threshold} {extra}".rstrip())
        if r.facilities:
            print(f"    facilities: {describe(r.facilities)}")
        for k, v in r.params.items():
            if isinstance(v, tuple) and v and isinstance(v[0], dict):
                print(f"    {k}: {describe(v)}")
        for c in r.categories:
            limit = f" within {c.threshold:g} m" if c.threshold else (f", at least {c.min_area_m2:g} m²" if c.min_area_m2 else "")
            print(f"    {c.name}{limit}: {describe(c.facilities)}")
    return 0


def _rules_copy(args) -> int:
    from importlib import resources

    from urbancover.core.files import atomic_path
    from urbancover.plan.rules import presets

    if args.preset not in presets():
        raise InputError(f"rules copy {args.preset}: not a preset; presets: {', '.join(presets())}.")
    dest = Path(args.file)
    if dest.is_dir():
        raise InputError(f"rules copy {args.file}: is a folder; give the file to write, e.g. {dest / 'my-rules.toml'}.")
    if dest.exists() and not args.overwrite:
        raise InputError(f"rules copy {args.file}: exists; choose another name or pass --overwrite.")
    text = (resources.files("urbancover.plan.presets") / f"{args.preset}.toml").read_bytes()
    try:
        with atomic_path(dest) as part:
            part.write_bytes(text)
    except OSError as err:
        raise InputError(f"rules copy {args.file}: cannot write there ({err.strerror or err}).") from err
    _say(sys.stdout, f"wrote {dest}: edit it, check it with `urbancover rules check {dest}`, "
         f"use it with --rules {dest}")
    return 0


def _batch(args) -> int:
    from urbancover.app.batch import Outputs, make_tasks, run_batch
    from urbancover.core.files import check_writable
    from urbancover.plan.rules import load_rules

    check_writable(args.out)
    load_rules(args.rules)
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers {args.workers}: give at least 1 process.")
    if args.report or args.maps:
        try:
            from urbancover import report as _maps  # noqa: F401
        except ImportError as err:
            raise InputError(f"--report/--maps need the map extras: pip install 'urbancover[maps]' ({err}).") from err
    districts = _read_layer(args.districts, "districts") if args.districts else None
    tasks = make_tasks(args.extracts, rules=args.rules, districts=districts, district_column=args.district_column)
    if not args.quiet:
        for t in tasks:
            if t.note:
                _say(sys.stderr, f"urbancover: note: {t.note}")
    summary = run_batch(
        tasks, args.out, scheduler=args.scheduler, workers=args.workers, resume=not args.no_resume,
        progress=not args.quiet, outputs=Outputs(report=args.report, maps=args.maps, lang=args.lang),
        overwrite=args.overwrite, lock_wait=args.wait,
    )
    states = summary.attrs.get("states", {})
    n = {k: sum(v == k for v in states.values()) for k in ("skipped", "done", "failed")}
    errors = summary[summary["error"].notna() & summary["error"].astype(str).ne("")]
    if not args.quiet:
        _say(sys.stdout, f"{len(tasks)} tasks: {n['done']} done, {n['skipped']} skipped (done before), "
             f"{n['failed']} failed; summary in {Path(args.out) / 'summary.csv'}")
        for _, row in errors.drop_duplicates("task").iterrows():
            _say(sys.stdout, f"failed: {row['task']}: {row['error']}")
    return 1 if len(errors) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
