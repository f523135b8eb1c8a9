"""The one writer of an evaluation's layers: :func:`write_report`.

:meth:`urbancover.evaluation.analysis.Report.to_gpkg`, :meth:`~urbancover.evaluation.analysis.Report.export`,
:func:`urbancover.report.export_gpkg`, the command line and batch runs all write through it, so they
write the same layer set:

* every layer of every rule (``<rule id>__<layer>``, one geometry type each) and ``compounds``;
* ``<rule id>__street_distance`` for every distance rule (with ``street_distance=True``, the
  default): the streets cut where the distance crosses the threshold, as the gap maps colour them;
* ``zones`` when demonstration-zone candidates are given;
* the ``summary`` table, one row per rule with the columns every rule has (:data:`SUMMARY_COLUMNS`),
  and ``summary_values``, the kind-specific values in long form (one row per rule and value:
  ``rule``, ``kind``, ``name`` and the value in ``value`` (numbers), ``flag`` (booleans) or
  ``text``; ``summary_values.pivot(index="rule", columns="name", values="value")`` gives the
  numbers wide), ``summary_by_unit`` with units, and any ``extra`` named tables;
* the run record (:class:`urbancover.evaluation.runinfo.RunInfo`: date, version, rule set and
  extract with their SHA-256, the OSM date, the analysed area, the settings changed): in a
  GeoPackage the ``run`` table (``key``, ``value``) and the dataset's metadata (GeoPackage metadata
  extension, ``gpkg_metadata``: GDAL's key/value XML, which ``pyogrio.read_info`` shows, and the
  same record as JSON); beside the files of a folder format, ``run.json``.

Files open well in a GIS: booleans are booleans (nullable: an undetermined rule's ``passed`` is
NULL), ``compound`` is NULL for a place in no compound, and no layer is of unknown geometry type:
an empty layer is written typed by its name (:func:`empty_geometry_type`), or left out when its
name does not say its type, and the run record lists it (``layers_left_out``). A GeoPackage also
holds QGIS's ``layer_styles`` table, a default style per spatial layer with the colours and
classes of the static maps (:mod:`urbancover.evaluation.styles`).

Every file is written atomically (:func:`urbancover.core.files.atomic_path`): a GeoPackage under a
temporary name renamed into place, the files of a folder format in a hidden temporary folder moved
into place one by one. A full disk or a folder without permission is an
:class:`urbancover.core.files.OutputError` naming the path and the cause, in every format.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urbancover.core import intervals
from urbancover.core.errors import InputError
from urbancover.core.files import atomic_path, part_folder, writing
from urbancover.core.progress import tell
from urbancover.network.walk import line_substrings
from urbancover.plan.rules import ID_PATTERN
from urbancover.present import say

#: Export formats: name -> (file suffix, OGR driver or None for GeoParquet).
FORMATS = {"gpkg": (".gpkg", "GPKG"), "parquet": (".parquet", None), "geojson": (".geojson", "GeoJSON"),
           "shp": (".shp", "ESRI Shapefile")}
FORMAT_ALIASES = {"geopackage": "gpkg", "geoparquet": "parquet", "json": "geojson", "shapefile": "shp"}
#: The files of one Shapefile layer besides the ``.shp``.
SHAPEFILE_SIDES = (".dbf", ".shx", ".prj", ".cpg")
#: The written ``summary`` table's columns: those every rule has (the typed fields of
#: :class:`urbancover.evaluation.results.SummaryRow`); the others go to ``summary_values``.
SUMMARY_COLUMNS = ("id", "kind", "name_zh", "name_en", "clause", "measure", "value", "target", "target_text", "passed",
                   "verdict", "reason")
#: The run record beside the files of a folder format.
RUN_JSON = "run.json"
#: The geometry type of an empty layer by the end of its name (after ``<rule id>__``): GIS formats
#: type every layer, and an empty one cannot say its own.
EMPTY_TYPES = (("_points", "Point"), ("residents_unserved", "Point"), ("dead_ends", "Point"),
               ("_lines", "LineString"), ("streets_unserved", "LineString"), ("street_distance", "LineString"),
               ("streets", "LineString"),
               ("_areas", "Polygon"), ("homes_unserved", "Polygon"), ("compounds_unserved", "Polygon"), ("gaps", "Polygon"),
               ("compounds", "Polygon"), ("zones", "Polygon"), ("homes", "Polygon"))


def export_format(path: str | os.PathLike, format: str | None = None) -> str:
    """The format's name (a key of :data:`FORMATS`): ``format`` or its alias, else from ``path``'s suffix, else gpkg."""
    if format is None:
        suffix = Path(path).suffix.lower().lstrip(".")
        format = suffix if suffix in FORMATS or suffix in FORMAT_ALIASES else "gpkg"
    fmt = FORMAT_ALIASES.get(str(format).lower(), str(format).lower())
    if fmt not in FORMATS:
        raise InputError(f"format: unknown export format {format!r}; use one of {', '.join(FORMATS)}.")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError as err:
            raise InputError('format: GeoParquet needs pyarrow; pip install "urbancover[parquet]", or choose '
                             "gpkg, geojson or shp.") from err
    return fmt


def report_tables(report, *, zones=None, street_distance: bool = True, extra: dict | None = None):
    """``(name, table)`` of everything :func:`write_report` writes, in order, one at a time (a city's
    layers are made when read and dropped after writing).
    """
    for name, gdf in report.iter_layers():
        if "geometry" in gdf:
            yield from one_type(name, gdf).items()
    if street_distance:
        for rid, res in report.results.items():
            if res.measurement is not None:
                yield f"{rid}__street_distance", street_layer(report, rid)
    z = zones_layer(zones, report.network.crs)
    if z is not None:
        yield "zones", z
    yield from summary_tables(report.summary).items()
    if report.by_unit is not None:
        yield "summary_by_unit", report.by_unit
    yield from (extra or {}).items()


def write_report(report, path: str | os.PathLike, format: str | None = None, *, zones=None,
                 street_distance: bool = True, extra: dict | None = None, target=None) -> list[Path]:
    """Write every layer and table of an evaluation (see the module's docstring) in one format.

    Parameters
    ----------
    report
        What :func:`urbancover.evaluate` returned.
    path
        GeoPackage: the ``.gpkg`` file (another path gets ``urbancover.gpkg`` inside it). Other
        formats: the folder, one file per layer (``<layer>.<ext>``) and the tables as CSV with a
        UTF-8 byte-order mark.
    format
        ``"gpkg"``, ``"parquet"``, ``"geojson"`` (WGS 84, as RFC 7946 requires) or ``"shp"`` (field
        names cut to 10 characters, ``<layer>.fields.csv`` maps them back; empty layers skipped).
        Default: from ``path``'s suffix, else GeoPackage.
    zones
        Demonstration-zone candidates (:func:`urbancover.zones.find_zones`), written as ``zones``.
    street_distance
        Write ``<rule id>__street_distance`` for every distance rule.
    extra
        More named tables or layers.
    target
        ``target(file name) -> Path``: where each file of a folder format goes (default:
        ``path / name``); the command line passes its guard, which refuses foreign files.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    OutputError
        A full disk or a folder without permission (naming the path and the cause).
    """
    path = Path(path)
    fmt = export_format(path, format)
    unsafe = [rid for rid in report.results if not ID_PATTERN.match(str(rid))]
    if unsafe:  # layers and files are named <rule id>__<layer>: never a path (load_rules checks ids; a report built by hand)
        raise InputError(f"rule ids {unsafe}: not identifiers (ASCII letters, digits and _), so they cannot name layers "
                         "and files; see urbancover rules check.")
    tables = report_tables(report, zones=zones, street_distance=street_distance, extra=extra)
    run = getattr(report, "run", None)
    if fmt == "gpkg":
        final = path if path.suffix.lower() == ".gpkg" else path / "urbancover.gpkg"
        return [_write_gpkg(tables, final, run)]
    if path.exists() and not path.is_dir():
        raise InputError(f"path: {path} is a file; {fmt} exports write one file per layer into a folder.")
    target = target or (lambda name: path / name)
    with part_folder(path) as tmp:
        left_out: list[str] = []
        files = _write_files(tables, tmp, fmt, path, left_out)
        if run is not None:
            sidecar = tmp / RUN_JSON
            with writing(path / RUN_JSON):
                sidecar.write_text(json.dumps(dict(run.as_dict(), layers_left_out=left_out), indent=1, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
            files.append(sidecar)
        finals = [Path(target(f.name)) for f in files]  # refuse (a foreign file) before moving anything
        with writing(path):
            for f, final in zip(files, finals):
                final.parent.mkdir(parents=True, exist_ok=True)
                if final.is_dir():
                    raise InputError(f"path: {final} is a folder; it is in the way of an exported file.")
                os.replace(f, final)
    return finals


def write_tables(tables: dict, path: str | os.PathLike, run=None) -> Path:
    """Write named tables and layers (``{name: DataFrame or GeoDataFrame}``) to one GeoPackage,
    replacing it atomically: the writer of :func:`write_report` for tables that are not a report's
    (:meth:`urbancover.change.Comparison.to_gpkg`'s change tables), with the ``run`` record of
    ``run`` (a :class:`urbancover.evaluation.runinfo.RunInfo`) when given, as a report's.
    """
    unsafe = [name for name in tables if not ID_PATTERN.match(str(name))]
    if unsafe:
        raise InputError(f"tables {unsafe}: not identifiers (ASCII letters, digits and _), so they cannot name layers.")
    return _write_gpkg(iter(tables.items()), Path(path), run)


def _write_gpkg(tables, final: Path, run=None) -> Path:
    import pyogrio

    from urbancover.evaluation.styles import layer_styles_table

    # SQLite syncs to disk after every layer by default (~0.1 s each); the file is new and renamed
    # into place only when complete, so a crash loses nothing that could not be written again
    previous = pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS")
    pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "OFF"})
    written, left_out = [], []  # (name, geometry type, columns) of each spatial layer; empty ones of no known type
    try:
        with atomic_path(final) as part:
            for name, table in tables:
                tell(f"layer {name}")
                table = for_file(table)
                options = {}
                if isinstance(table, gpd.GeoDataFrame) and "geometry" in table:
                    gtype = empty_geometry_type(name) if len(table) == 0 else _geometry_type(table)
                    if gtype is None:  # GDAL would type it Unknown: a layer no GIS can style or add to
                        left_out.append(name)
                        continue
                    if len(table) == 0:
                        options["geometry_type"] = gtype
                    written.append((name, gtype, [c for c in table.columns if c != table.geometry.name]))
                pyogrio.write_dataframe(table, part, layer=name, driver="GPKG", **options)
            if run is not None:
                record = dict(run.as_dict(), layers_left_out=left_out)
                rows = run.rows() + [("layers_left_out", json.dumps(left_out, ensure_ascii=False))]
                pyogrio.write_dataframe(pd.DataFrame(rows, columns=["key", "value"]), part, layer="run", driver="GPKG",
                                        dataset_metadata=dict(rows))
                _add_json_metadata(part, record)
            if written:
                pyogrio.write_dataframe(layer_styles_table(written), part, layer="layer_styles", driver="GPKG",
                                        layer_options={"FID": "id"})
    finally:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": previous})
    return final


def _geometry_type(table: gpd.GeoDataFrame) -> str | None:
    """The GeoPackage geometry type pyogrio gives a non-empty layer (None: no geometry at all)."""
    types = set(shapely.get_type_id(table.geometry.values[~shapely.is_missing(table.geometry.values)]).tolist())
    names = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon"}
    found = {names.get(t, "Unknown") for t in types}
    if not found:
        return None
    if len(found) == 1:
        return found.pop()
    multi = {f if f.startswith("Multi") else "Multi" + f for f in found}
    return multi.pop() if len(multi) == 1 else "Unknown"


def empty_geometry_type(name: str) -> str | None:
    """The geometry type of an empty layer from its name (:data:`EMPTY_TYPES`), or None when the name does not say it."""
    base = name.rsplit("__", 1)[-1]
    return next((t for end, t in EMPTY_TYPES if base.endswith(end)), None)


def _add_json_metadata(path: Path, record: dict) -> None:
    """The run record as JSON in the GeoPackage metadata extension (``gpkg_metadata``, scope
    ``dataset``, referenced by the whole GeoPackage), beside GDAL's key/value XML of it.
    """
    import sqlite3

    con = sqlite3.connect(path)
    try:
        with con:
            cur = con.execute("INSERT INTO gpkg_metadata (md_scope, md_standard_uri, mime_type, metadata) VALUES (?, ?, ?, ?)",
                              ("dataset", "https://github.com/urbancover/urbancover#run", "application/json",
                               json.dumps(record, ensure_ascii=False, indent=1)))
            con.execute("INSERT INTO gpkg_metadata_reference (reference_scope, table_name, column_name, row_id_value, "
                        "timestamp, md_file_id, md_parent_id) VALUES ('geopackage', NULL, NULL, NULL, "
                        "strftime('%Y-%m-%dT%H:%M:%fZ','now'), ?, NULL)", (cur.lastrowid,))
    finally:
        con.close()


def _write_files(tables, folder: Path, fmt: str, final: Path, left_out: list | None = None) -> list[Path]:
    """One file per layer (and per table, as CSV) into ``folder``; the files written. A failure
    names the file in ``final``, the folder they are for. The layers left out (a Shapefile's empty
    layers) are added to ``left_out``.
    """
    import pyogrio

    suffix, driver = FORMATS[fmt]
    written = []
    for name, table in tables:
        tell(f"layer {name}")
        if not isinstance(table, gpd.GeoDataFrame) or "geometry" not in table:
            target = folder / f"{name}.csv"
            with writing(final / target.name):
                for_file(table).to_csv(target, index=False, encoding="utf-8-sig")
            written.append(target)
            continue
        for part_name, part in one_type(name, table).items():
            if fmt == "shp" and len(part) == 0:
                if left_out is not None:
                    left_out.append(part_name)
                continue
            layer = gpd.GeoDataFrame(for_file(part), geometry=part.geometry.name, crs=part.crs)
            if fmt == "geojson":
                layer = layer.to_crs(4326)
            target = folder / f"{part_name}{suffix}"
            with writing(final / target.name):
                if fmt == "shp":
                    layer, fields = short_fields(layer)
                    fields_path = folder / f"{part_name}.fields.csv"
                    fields.to_csv(fields_path, index=False, encoding="utf-8-sig")
                    written.append(fields_path)
                if fmt == "parquet":
                    layer.to_parquet(target, index=False)
                else:
                    opts = {"ENCODING": "UTF-8"} if fmt == "shp" else None
                    pyogrio.write_dataframe(layer, target, driver=driver, layer_options=opts)
            written.append(target)
            if fmt == "shp":  # a shapefile is several files
                written += [target.with_suffix(side) for side in SHAPEFILE_SIDES if target.with_suffix(side).exists()]
    return written


def one_type(name: str, gdf: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """A layer as layers of one geometry type each: itself, or ``<name>_points``, ``<name>_lines``
    and ``<name>_areas`` when it mixes them (GIS formats type each layer).
    """
    dims = shapely.get_dimensions(gdf.geometry.values) if len(gdf) else np.zeros(0, int)
    kinds = set(dims.tolist())
    if len(kinds) <= 1:
        return {name: gdf}
    return {f"{name}_{k}": gdf[dims == d] for d, k in ((0, "points"), (1, "lines"), (2, "areas")) if d in kinds}


def short_fields(table: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Shapefile field names (at most 10 characters, unique) and the table mapping them back."""
    geom = table.geometry.name
    names, taken = {}, set()
    for col in table.columns:
        if col == geom:
            continue
        short = str(col)[:10]
        k = 1
        while short.lower() in taken:
            tail = f"_{k}"
            short = str(col)[: 10 - len(tail)] + tail
            k += 1
        taken.add(short.lower())
        names[col] = short
    return table.rename(columns=names), pd.DataFrame({"field": list(names.values()), "column": list(names.keys())})


def for_file(df: pd.DataFrame) -> pd.DataFrame:
    """Copy as files store it: dict/list columns as JSON text, no infinities, an object column of
    booleans (and None) as a nullable boolean column (a GeoPackage BOOLEAN, NULL where undetermined,
    not the text 'False'), and ``compound`` -1 (in no compound) as NULL.
    """
    out = df.reset_index(drop=True)
    geom = getattr(out, "_geometry_column_name", None)
    for col in out.columns:
        if col == geom:
            continue
        s = out[col]
        if s.dtype == object and s.map(lambda v: isinstance(v, (dict, list, tuple, np.ndarray))).any():
            out[col] = s.map(lambda v: json.dumps(list(v) if isinstance(v, (tuple, np.ndarray)) else v, ensure_ascii=False, default=str)
                             if isinstance(v, (dict, list, tuple, np.ndarray)) else v)
        elif pd.api.types.is_float_dtype(s):
            out[col] = s.replace([np.inf, -np.inf], np.nan)
        elif s.dtype == object and _booleans(s):
            out[col] = s.astype("boolean")
        if col == "compound" and pd.api.types.is_integer_dtype(s):
            out[col] = s.astype("Int64").mask(s < 0)
    return out


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def _booleans(s: pd.Series) -> bool:
    """Whether an object column holds only booleans and blanks, and at least one boolean (pandas'
    type inference, in C: no Python loop over a city's rows).
    """
    return pd.api.types.infer_dtype(s, skipna=True) == "boolean"


def summary_tables(summary: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The summary as files hold it: ``summary`` (one row per rule, :data:`SUMMARY_COLUMNS`) and
    ``summary_values`` (every other value of a rule, one row each: ``rule``, ``kind``, ``name``, and
    the value in ``value`` if a number, ``flag`` if a boolean, else ``text``).
    """
    core = summary.reindex(columns=list(SUMMARY_COLUMNS))  # the same columns whatever the rules
    rows = []
    others = [c for c in summary.columns if c not in SUMMARY_COLUMNS]
    for rid, kind, values in zip(summary.get("id", summary.index), summary.get("kind", [""] * len(summary)),
                                 summary[others].itertuples(index=False, name=None)):
        for name, v in zip(others, values):
            if _blank(v) or (isinstance(v, str) and v == ""):
                continue
            row = {"rule": str(rid), "kind": str(kind), "name": name, "value": np.nan, "flag": None, "text": None}
            if isinstance(v, (bool, np.bool_)):
                row["flag"] = bool(v)
            elif isinstance(v, (int, float, np.integer, np.floating)):
                row["value"] = float(v)
            elif isinstance(v, (dict, list, tuple, np.ndarray)):
                row["text"] = json.dumps(list(v) if isinstance(v, (tuple, np.ndarray)) else v, ensure_ascii=False, default=str)
            else:
                row["text"] = str(v)
            rows.append(row)
    values = pd.DataFrame(rows, columns=["rule", "kind", "name", "value", "flag", "text"])
    values["value"] = values["value"].astype(float)
    values["flag"] = pd.array(list(values["flag"]), dtype="boolean")
    values["text"] = values["text"].astype(object)
    return {"summary": core, "summary_values": values}


# ------------------------------------------------------------------------- street distances


def street_distances(report, rule_id: str, *, step: float | None = None, resolution: float = 0.0,
                     beyond_steps: bool = True, geometry: bool = True) -> gpd.GeoDataFrame | pd.DataFrame:
    """Every street of the network cut into pieces, each with its network distance to the rule's
    facilities: what the gap map colours.

    Pieces break at every point where the distance crosses the threshold (exactly), at the ends of
    the rule's street demand, and at most every ``step`` metres (default: a twentieth of the
    threshold, 10 to 50 m), so that colours change smoothly within the threshold; with
    ``step=math.inf`` only at those points (the fewest pieces, for export). ``resolution`` (metres)
    raises ``step`` to at least that: a map passes the ground length of one printed dot, so a whole
    city is not cut finer than its paper can show. With ``beyond_steps=False`` the regular breaks
    are left out where every category is beyond its threshold (a gap map colours all of that
    alike): far fewer pieces for a city where most streets are beyond.

    Returns a GeoDataFrame (the network's CRS): ``edge``, ``start``, ``end`` (metres from the
    edge's ``u`` end), ``network_distance`` (metres at the middle of the piece, ``inf`` if no facility is
    reachable; for an ``all_of`` rule the distance to the farthest category), ``distance_from`` and
    ``distance_to`` (the same at the piece's two ends), ``ratio`` (distance
    over threshold; for ``all_of`` the largest over the categories), ``served`` (every category
    within its threshold), ``demand`` (the piece is street demand of the rule), ``highway``,
    ``name``, and the piece's LineString (with ``geometry=False`` a DataFrame without it: cutting
    the lines is most of the cost, and a caller that merges pieces first needs none).
    """
    msr = report.results[rule_id].measurement
    if msr is None:
        raise InputError(f"{rule_id}: a {report.results[rule_id].rule.kind!r} rule has no distance to map.")
    fields, thresholds = [c.field for c in msr.checks], msr.thresholds
    net = report.network
    m = net.n_edges
    L = net.length
    if step is None:
        step = float(np.clip(thresholds.min() / 20.0, 10.0, 50.0))
        # keep a city-wide map to about half a million pieces
        step = max(step, float(L.sum()) / 500_000.0)
    step = max(step, resolution)
    n_seg = np.maximum(1, np.ceil(L / step)).astype(np.int64)
    e_reg = np.repeat(np.arange(m), n_seg + 1)
    k_reg = intervals.ranges(n_seg + 1)
    p_reg = k_reg * (L / n_seg)[e_reg]
    limits = msr.limits  # within the threshold: at most threshold + the rule's tolerance
    covered = [fld.covered_intervals(T) for fld, T in zip(fields, limits)]
    if not beyond_steps:
        # regular breaks only where some category is within its threshold, and at the edges' ends
        union = intervals.merge(*(np.concatenate(parts) for parts in zip(*covered)))
        keep = (k_reg == 0) | (k_reg == n_seg[e_reg]) | intervals.holds(union, e_reg, p_reg)
        e_reg, p_reg = e_reg[keep], p_reg[keep]
    be, bp = [e_reg], [p_reg]
    for ce, cs, cn in covered:
        be += [ce, ce]
        bp += [cs, cn]
    demand = msr.streets
    if demand is not None:
        be += [demand[0], demand[0]]
        bp += [demand[1], demand[2]]
    e = np.concatenate(be).astype(np.int64)
    p = np.clip(np.concatenate(bp).astype(float), 0.0, L[np.concatenate(be).astype(np.int64)])
    order = np.lexsort((p, e))
    e, p = e[order], p[order]
    nxt_same = np.r_[e[1:] == e[:-1], False]
    pe = e[nxt_same]
    ps = p[nxt_same]
    pn = p[np.r_[False, nxt_same[:-1]]]
    keep = pn - ps > 1e-6
    pe, ps, pn = pe[keep], ps[keep], pn[keep]
    mid = (ps + pn) / 2.0
    dists = msr.along(pe, mid)
    d_from = msr.along(pe, ps).max(axis=1)
    d_to = msr.along(pe, pn).max(axis=1)
    ratio = (dists / thresholds[None, :]).max(axis=1)
    served = (dists <= limits[None, :]).all(axis=1)
    distance = dists.max(axis=1)
    in_demand = np.zeros(len(pe), bool)
    if demand is not None and len(demand[0]):
        # a piece is demand when its middle lies in a demand interval of its edge
        in_demand = intervals.holds(demand, pe, mid)
    cols = {
        "edge": pe, "start": ps, "end": pn, "network_distance": distance, "distance_from": d_from, "distance_to": d_to,
        "ratio": ratio, "served": served, "demand": in_demand,
        "highway": net.edge_values("highway", pe),
        "name": net.edge_values("name", pe),
    }
    if len(fields) > 1:
        for k in range(len(fields)):
            cols[f"network_distance_{report.results[rule_id].rule.categories[k].name}"] = dists[:, k]
    if not geometry:
        return pd.DataFrame(cols)
    geom = line_substrings(net.lines(pe), ps, pn) if len(pe) else np.zeros(0, dtype=object)
    return gpd.GeoDataFrame(cols, geometry=geom, crs=net.crs)


def street_layer(report, rule_id: str) -> gpd.GeoDataFrame:
    """The ``<rule id>__street_distance`` layer: :func:`street_distances` cut only where the distance
    crosses the threshold, with the layers' column names (``network_m`` ...), ``network_min`` (the
    same in walking minutes, from the rule set's table) and a ``status``
    (``served``, ``beyond``, ``no path``, ``no facility``: files keep no ``inf``).
    """
    pieces = street_distances(report, rule_id, step=math.inf)
    msr = report.results[rule_id].measurement
    has = np.array([len(c.facilities) > 0 for c in msr.checks])
    out = pieces.rename(columns={"network_distance": "network_m", "distance_from": "network_m_from",
                                 "distance_to": "network_m_to", "start": "start_m", "end": "end_m"})
    out.columns = [c.replace("network_distance_", "network_m_") for c in out.columns]
    # walking minutes beside the metres, from the rule set's table (report.walking)
    out.insert(out.columns.get_loc("network_m") + 1, "network_min", report.walking.minutes(out["network_m"].to_numpy(float)))
    status = np.where(out["served"].to_numpy(dtype=bool), "served",
                      np.where(~has.all(), "no facility",
                               np.where(np.isinf(out["network_m"].to_numpy(dtype=float)), "no path", "beyond")))
    return out.assign(status=status)


def zones_layer(zones, crs, lang: str = "en") -> gpd.GeoDataFrame | None:
    """The demonstration-zone candidates in ``crs`` with the columns the outputs read (tolerant of
    missing ones; names and reasons said in ``lang``), or None.
    """
    if zones is None:
        return None
    if not isinstance(zones, gpd.GeoDataFrame):
        raise TypeError(f"zones must be a GeoDataFrame (urbancover.zones.find_zones), got {type(zones).__name__}.")
    if zones.crs is None:
        raise InputError("zones: the GeoDataFrame has no CRS; set it (e.g. zones.set_crs(...)) first.")
    z = zones.to_crs(crs).reset_index(drop=True)
    g = z.geometry.values
    z = z[~shapely.is_missing(g) & ~shapely.is_empty(g)].reset_index(drop=True)
    if "area_km2" not in z:
        z["area_km2"] = shapely.area(z.geometry.values) / 1e6
    for col in ("compound_names", "reason", "score"):
        if col not in z:
            z[col] = None
    z["compound_names"] = [
        ", ".join(say(x, lang) for x in v) if isinstance(v, (list, tuple, np.ndarray))
        else ("" if v is None or (isinstance(v, float) and math.isnan(v)) else say(v, lang))
        for v in z["compound_names"]]
    z["reason"] = [say(v, lang) for v in z["reason"]]
    return z
