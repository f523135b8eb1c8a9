"""Evaluate a whole rule set on an extract: :func:`evaluate` and its :class:`Report`."""

from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urbancover.core.errors import InputError, UnknownLayerError, UnknownRuleError, warn
from urbancover.core.progress import Steps
from urbancover.core.settings import Settings, resolve
from urbancover.evaluation import gaps, indicators  # noqa: F401 - the rule kinds register themselves
from urbancover.evaluation.context import Context, make_context
from urbancover.evaluation.kinds import evaluator
from urbancover.evaluation.places import HOMES, STREETS, failed_rules, home_status, homes_layer, streets_layer
from urbancover.evaluation.runinfo import RunInfo, run_info
from urbancover.evaluation.validate import check_inputs
from urbancover.io.osm import OSMData, read_osm
from urbancover.network.walk import Network, walk_network
from urbancover.plan.rules import KINDS, RuleSet, load_rules
from urbancover.plan.walking import WalkingTime, walking_time
from urbancover.present import Note


class Results(dict):
    """``Report.results``: rule id -> :class:`~urbancover.evaluation.gaps.RuleResult`; a rule id it
    does not hold raises :class:`~urbancover.core.errors.UnknownRuleError` (a ``KeyError``) naming
    the ids it holds.
    """

    def __missing__(self, rule_id):
        raise UnknownRuleError(f"rule_id: the report has no rule {rule_id!r}; it has {list(self)}.")


class LayerDict(dict):
    """What :meth:`Report.layers` returns: a dict whose missing name raises a ``KeyError`` naming
    the layers it holds.
    """

    def __missing__(self, name):
        raise UnknownLayerError(f"layers: the report has no layer {name!r}; it has {list(self)}.")


@dataclass
class Report:
    """Results of :func:`evaluate`.

    Attributes
    ----------
    summary : DataFrame
        One row per rule, indexed by rule id (``report.summary.loc["bus_stop_500"]``): id, kind,
        names, clause, ``value`` with its ``measure``, ``target_text``,
        ``passed``; for distance rules the shares of residents, buildings, compounds and street
        length served by network distance and, beside each, by straight-line distance.
    results : dict
        Rule id -> :class:`urbancover.evaluation.gaps.RuleResult` with that rule's layers (unserved homes,
        compounds and street pieces with distances, gap polygons, facilities ...).
    compounds : GeoDataFrame
        One row per compound in the area: ``old``, and per distance rule ``served_<rule id>`` (True
        when the compound is served);
        ``failed_rules`` lists the rules it fails (this feeds the demonstration-zone search).
        ``report.layers()["homes"]`` and ``["streets"]`` hold every home and every public street
        piece with every distance rule (:mod:`urbancover.evaluation.places`).
    by_unit : DataFrame or None
        Share of residents served per distance rule and area unit, when units were given.
    context : Context
        The prepared inputs (network, area, homes, residents ...).
    notes : list of str
        What the evaluation assumed or could not do.
    run : RunInfo or None
        What made the result (date, version, rule set and extract with their SHA-256, the area,
        the settings changed): every deliverable writes it (:mod:`urbancover.evaluation.runinfo`).
    """

    summary: pd.DataFrame
    results: dict
    compounds: gpd.GeoDataFrame
    by_unit: pd.DataFrame | None
    context: Context
    notes: list[str] = field(default_factory=list)
    #: What made the result (date, version, rule set and extract hashes, area, changed settings).
    run: RunInfo | None = None
    #: The report-wide layers (``homes``, ``streets``) once made by :meth:`layers`.
    _made: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.results, Results):
            self.results = Results(self.results)

    @property
    def network(self) -> Network:
        """The walking network the rules were measured on."""
        return self.context.network

    @property
    def walking(self) -> WalkingTime:
        """Minutes <-> metres of the rule set evaluated (its ``[walking]`` table;
        :mod:`urbancover.plan.walking`): ``report.walking.minutes(400)`` is 7.5 with the preset.
        """
        return self.context.walk

    def _distance_rule(self, rule_id: str):
        """The measurement of a distance rule; a rule id not in the report, or not measured by
        distance, is an error naming the ones that are.
        """
        res = self.results[rule_id]
        if res.measurement is None:
            measured = [rid for rid, r in self.results.items() if r.measurement is not None]
            raise InputError(f"rule_id: {rule_id!r} is a {res.rule.kind!r} rule, not measured by distance; "
                             f"the distance rules are {measured}.")
        return res.measurement

    def home_status(self, rule_id: str) -> pd.DataFrame:
        """A distance rule at every home (rows of ``report.context.homes``): ``osmid``, ``element``,
        ``network_m`` (NaN: no facility reachable, or a home the rule does not count), ``minutes``,
        ``served`` and ``counted`` (:func:`urbancover.evaluation.places.home_status`). What
        ``report.layers()["homes"]`` holds for one rule; the per-home status to compare two reports.
        """
        return home_status(self.context, self._distance_rule(rule_id))

    def service_areas(self, rule_id: str, bands_min=(5, 10, 15), *, bands=None, width: float | None = None) -> gpd.GeoDataFrame:
        """Where a distance rule's facilities reach within walking minutes: one polygon per band (and
        per category of an ``all_of`` rule), from the rule's own distances (the same facilities,
        entrances and access legs as its shares).

        Parameters
        ----------
        rule_id
            A distance rule of the report.
        bands_min
            Walking minutes, turned into metres by the rule set's walking table
            (:attr:`walking`: 5, 10, 15 min are 300, 500, 1000 m with the preset).
        bands
            Metres instead of minutes.
        width
            Buffer around the reached street pieces, metres (default
            ``settings.service_area_width_m``).

        Returns
        -------
        GeoDataFrame
            ``category`` (the rule id for a one-category rule), ``band_m``, ``minutes``,
            ``length_m`` (street metres reached) and the polygon, in the network's CRS; a band
            reaching no street has no row.

        Examples
        --------
        >>> report.service_areas("bus_stop_500", bands_min=(5, 10, 15))  # doctest: +SKIP
        """
        from urbancover.core.errors import require_number
        from urbancover.network.walk import piece_areas

        m = self._distance_rule(rule_id)
        walk = self.walking
        if bands is None:
            values = [walk.metres(require_number(b, "bands_min", positive=True)) for b in np.atleast_1d(bands_min)]
        else:
            values = [require_number(b, "bands", positive=True) for b in np.atleast_1d(bands)]
        values = np.unique(np.asarray(values, dtype=float))
        s = self.context.settings
        width = require_number(s.service_area_width_m if width is None else width, "width", positive=True)
        rows, parts = [], []
        for c in m.checks:
            for b in values:
                e, a, z = c.field.covered_intervals(float(b))
                if len(e):
                    parts.append((e, a, z, np.full(len(e), len(rows))))
                    rows.append({"category": c.name, "band_m": float(b), "minutes": float(walk.minutes(b)),
                                 "length_m": float(np.sum(z - a))})
        frame = pd.DataFrame(rows, columns=["category", "band_m", "minutes", "length_m"])
        if parts:
            e, a, z, g = (np.concatenate(x) for x in zip(*parts))
            geom = piece_areas(self.network, e, a, z, g, width, s.service_area_quad_segs)
        else:
            geom = np.zeros(0, dtype=object)
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geom, crs=self.network.crs), crs=self.network.crs)

    def sweep(self, rule_id: str, thresholds) -> pd.DataFrame:
        """Shares served by a distance rule at other thresholds, from the distances already measured.

        Parameters
        ----------
        rule_id
            A distance rule of the report (``"bus_stop_500"``).
        thresholds
            Distances in metres; each replaces the threshold of every category of the rule.

        Returns
        -------
        DataFrame
            Indexed by ``threshold_m``: per demand layer the share served along the network and by
            straight line, and ``street_served`` for street demand.

        Examples
        --------
        >>> report.sweep("bus_stop_500", [200, 300, 400, 500])  # doctest: +SKIP
        """
        return self._distance_rule(rule_id).sweep(thresholds)

    def __repr__(self) -> str:
        from urbancover.present.display import report_repr

        return report_repr(self)

    def _repr_html_(self) -> str:
        from urbancover.present.display import report_html

        return report_html(self)

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Every layer, named ``<rule id>__<layer>``, plus ``compounds``, ``homes`` (every home with
        every distance rule) and ``streets`` (every public street piece with every rule of street
        demand, when a rule has street demand): see :mod:`urbancover.evaluation.places`. Layers not
        yet made are made now and kept (see :class:`urbancover.evaluation.gaps.Layers`); a name it
        does not hold raises a ``KeyError`` listing those it does.
        """
        return LayerDict(self.iter_layers(keep=True))

    def iter_layers(self, *, keep: bool = False):
        """``(name, GeoDataFrame)`` of every layer in turn, as :meth:`layers` names them; with
        ``keep=False`` a layer not made yet is made for the caller only (a writer streaming a city's
        layers holds one at a time).
        """
        for rid, res in self.results.items():
            for name in res.layers:
                yield f"{rid}__{name}", res.layers[name] if keep else res.layers.peek(name)
        yield "compounds", self.compounds
        made = self.__dict__.setdefault("_made", {})  # (a report pickled before it had them)
        for name, make, wanted in ((HOMES, homes_layer, True),
                                   (STREETS, streets_layer, any(r.measurement is not None and r.measurement.streets is not None
                                                                for r in self.results.values()))):
            if not wanted:
                continue
            layer = made.get(name)
            if layer is None:
                layer = make(self.context, self.results)
                if keep:
                    made[name] = layer
            yield name, layer

    def to_gpkg(self, path: str | os.PathLike, *, extra: dict[str, pd.DataFrame] | None = None, zones=None,
                street_distance: bool = True) -> Path:
        """Write every layer, the street distances of every distance rule, ``zones`` when given, the
        summary (and per-unit) tables and any ``extra`` named tables to one GeoPackage, replacing it
        atomically (:func:`urbancover.evaluation.export.write_report`, the writer of every output).
        """
        from urbancover.evaluation.export import write_report

        return write_report(self, path, "gpkg", zones=zones, street_distance=street_distance, extra=extra)[0]

    def export(self, path: str | os.PathLike, format: str | None = None) -> list[Path]:
        """Write every layer and the summary tables in a GIS format.

        Parameters
        ----------
        path
            ``.gpkg`` file for GeoPackage (every layer and table in one file, as :meth:`to_gpkg`);
            for the other formats a folder, holding one file per layer (``<rule id>__<layer>.<ext>``)
            and the summary tables as CSV with a UTF-8 byte-order mark (Excel on Chinese Windows
            reads them right).
        format
            ``"gpkg"``, ``"parquet"`` (GeoParquet, needs pyarrow: ``pip install "urbancover[parquet]"``),
            ``"geojson"`` (in WGS 84, as RFC 7946 requires) or ``"shp"`` (field names cut to 10
            characters: ``<layer>.fields.csv`` maps them back). Default: from the suffix of ``path``,
            else GeoPackage.

        Returns
        -------
        list of Path
            The files written.

        Every layer holds one geometry type (a layer mixing points and polygons is written as
        ``<layer>_points`` and ``<layer>_areas``) and no infinity (``status`` says why a distance is
        missing). Empty layers are skipped in Shapefile, which cannot type them. The layers are
        those of :meth:`to_gpkg`, in every format (:func:`urbancover.evaluation.export.write_report`),
        and ``run.json`` beside them holds the run record (:attr:`run`).
        """
        return export_report(self, path, format)


def export_report(report: Report, path: str | os.PathLike, format: str | None = None) -> list[Path]:
    """:meth:`Report.export` (see there): :func:`urbancover.evaluation.export.write_report`."""
    from urbancover.evaluation.export import write_report

    return write_report(report, path, format)


def _warnings_noted(func):
    """:func:`evaluate` with every warning of the evaluation told once, and kept in the report's notes.

    The evaluation's ``UserWarning`` s (a truncated extract, rows without geometry, an offset layer,
    an area mostly outside the extract ...) are recorded while it runs, then issued again, each once,
    at the line that called :func:`evaluate` (the caller's filters decide whether they show or
    raise), also when the evaluation fails; on success each one not yet in the report's notes is
    added to them, after the extract's own notes (``OSMData.notes``), so a saved report or a batch
    summary holds every one. Other warnings (deprecations ...) are shown as they came. Like every
    ``warnings.catch_warnings``, not thread-safe.
    """

    @functools.wraps(func)
    def evaluate(*args, **kwargs):
        seen: list = []
        told: list[str] = []
        try:
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always", UserWarning)  # every one, for the notes
                report = func(*args, **kwargs)
        finally:
            for w in seen:
                if not issubclass(w.category, UserWarning):  # already filtered: shown as it came
                    warnings.showwarning(w.message, w.category, w.filename, w.lineno)
                elif str(w.message) not in told:
                    told.append(str(w.message))
                    warn(w.message, w.category)
        notes = report.notes
        notes[:0] = [n for n in report.context.osm.notes if n not in notes]
        notes.extend(m for m in told if m not in notes)
        return report

    return evaluate


@_warnings_noted
def evaluate(
    source: str | os.PathLike | OSMData,
    rules: str | os.PathLike | RuleSet = "zhengzhou-2018",
    *,
    area=None,
    compounds: gpd.GeoDataFrame | None = None,
    population: gpd.GeoDataFrame | str | os.PathLike | None = None,
    population_column: str = "population",
    units: gpd.GeoDataFrame | None = None,
    units_column: str = "name",
    facilities: dict[str, gpd.GeoDataFrame] | None = None,
    network: Network | None = None,
    only: list[str] | None = None,
    progress: bool = False,
    osm_tags: bool = False,
    strict: bool = False,
    settings: Settings | None = None,
) -> Report:
    """Evaluate every rule of a rule set on an OSM extract.

    Parameters
    ----------
    source
        Path of an OSM extract, or what :func:`urbancover.read_osm` returned.
    rules
        A preset name (``"zhengzhou-2018"``), a rule file path, or a loaded :class:`RuleSet`.
    area
        The analysed area: a GeoDataFrame/GeoSeries (any CRS) or a shapely polygon in EPSG:4326.
        Homes, residents and street length are counted inside it; facilities of the whole
        extract serve them, so an extract reaching a margin beyond the area avoids edge effects
        (a note says when it does not). Or a name: ``"built-up"`` (the built-up land: built-up
        ``landuse`` and buildings grown by ``settings.built_up_buffer_m``), ``"streets"`` (the hull
        of the walking network's vertices and any built-up land, cut to the extract's bounds), ``"bounds"`` (the
        extract's box: the default before PLAN_RULES.md revision 3). Default (``None`` or
        ``"auto"``): the built-up land, or the streets' hull when the built-up land holds less than
        ``settings.built_up_min_street_share`` of the street vertices; never the extract's box,
        which holds sea and empty land. Every density and map uses it; ``report.context.area_note``
        names it with its size.
    compounds
        Residential compounds (polygons; optional ``name``, ``year_built``). Default: OSM
        ``landuse=residential`` polygons.
    population, population_column
        Residents as points or polygons with a count column, or the path of a population grid
        (GeoTIFF) or of a layer :func:`urbancover.read_layer` reads. Default: estimated from homes
        (footprint x floors / m² per person), and the report says so.
    units, units_column
        Area units (subdistricts, districts) as polygons named by ``units_column``: the summary is
        also given per unit, and ``count_per_unit`` rules use them.
    facilities
        The user's own facility layers, replacing OSM's: ``{"bus_stop_500": stops}``, or
        ``{"living_10min.market": markets}`` for one category. Each must carry its CRS (convert
        GCJ-02/BD-09 lists with :func:`urbancover.to_wgs84` first); a layer that looks offset
        against the streets gets a warning.
    network
        A walking network built from ``source`` (built if not given).
    only
        Rule ids to evaluate (default: all).
    progress
        Show a progress bar (reading, network, each rule) on stderr.
    osm_tags
        Keep every OSM tag column on the layers of homes (default: ``osmid``, ``element``, ``name``,
        ``building``, ``levels``, ``compound``, ``residents``).
    strict
        An extract that looks cut short is an error, not a note (see :func:`urbancover.read_osm`).
    settings
        The :class:`~urbancover.core.settings.Settings` of this evaluation (default
        :func:`urbancover.core.settings.current`, e.g. inside ``urbancover.core.settings.override(...)``):
        reading, the network and every rule use them; the report keeps them
        (``report.context.settings``). A given ``source`` (OSMData) or ``network`` keeps the
        settings it was read or built with.

    Every input (rules, ``only``, the layers, the facility keys) is checked before the extract is
    read, so a bad one costs no work (:func:`urbancover.evaluation.validate.check_inputs`).

    Returns
    -------
    Report

    Warns
    -----
    UserWarning
        What the inputs change about the results (an extract that looks cut short, rows without a
        geometry, an offset facility layer, an area mostly outside the extract ...): each once, at
        the caller's line, and each also in ``report.notes``.

    Examples
    --------
    >>> report = urbancover.evaluate("data/sample/shenzhen_longgang.osm.bz2")
    >>> report.summary[["id", "value", "passed"]]  # doctest: +SKIP
    """
    settings = resolve(settings)
    ruleset = load_rules(rules)
    chosen = [r for r in ruleset if only is None or r.id in only]
    if only is not None:
        missing = sorted(set(only) - {r.id for r in chosen})
        if missing:
            raise InputError(f"only: rule set {ruleset.id!r} has no rule(s) {missing}; it has {[r.id for r in ruleset]}.")
    # every user input is checked before the extract is read (urbancover.evaluation.validate)
    layers, checked_notes = check_inputs(
        area=area, compounds=compounds, population=population, population_column=population_column,
        units=units, units_column=units_column, facilities=facilities, valid_facility_keys=ruleset.facility_keys,
    )
    bar = Steps(len(chosen) + 3, progress, "" if isinstance(source, OSMData) else Path(source).name)
    try:  # the bar goes whatever happens (and with it the display the library tell()s)
        bar.step("reading extract")
        osm = source if isinstance(source, OSMData) else read_osm(source, strict=strict, settings=settings)
        bar.step("walking network")
        network = network if network is not None else walk_network(osm, settings=settings)
        bar.step("homes, residents and compounds")
        ctx = make_context(
            osm, network, population_column=population_column, units_column=units_column,
            margin_needed=_max_threshold(chosen), valid_facility_keys=ruleset.facility_keys,
            checked_notes=checked_notes, settings=settings, **layers,
        )
        ctx.osm_tags = bool(osm_tags)
        ctx.walking = walking_time(ruleset)
        ctx.on_progress = bar.detail if progress else None  # (the library tell()s it too: compiling ...)
        results = {}
        for rule in chosen:
            bar.step(rule.id)
            results[rule.id] = evaluator(rule)(rule, ctx)
    finally:
        bar.close()
    ctx.on_progress = None  # the bar is done (and the report stays picklable)
    run = run_info(ruleset, osm.path, area_source=ctx.area_source, area_km2=ctx.area_km2, settings_changed=ctx.settings.changes())
    return Report(
        summary=summary_frame([r.summary for r in results.values()]), results=results, compounds=_compound_table(ctx, results),
        by_unit=_by_unit(ctx, results), context=ctx, notes=ctx.notes, run=run,
    )


def summary_frame(rows: list) -> pd.DataFrame:
    """``Report.summary``: the columns of each rule's :class:`~urbancover.evaluation.results.SummaryRow`, indexed
    by rule id, with the verdict the kind set in words, so a file (GeoPackage, CSV) never shows an
    undetermined rule as a blank that reads as a pass: "pass", "fail", "undetermined" (see ``reason``) or "list".
    """
    columns = [r.columns() for r in rows]
    summary = notes_kept(pd.DataFrame(columns), columns)
    summary.index = pd.Index(summary["id"].to_numpy() if len(summary) else [], name="rule")  # report.summary.loc[rule_id]
    if len(summary):
        summary["verdict"] = [r.verdict.value for r in rows]
    return summary


def notes_kept(frame: pd.DataFrame, records: list[dict]) -> pd.DataFrame:
    """``frame`` (made from ``records``) with every column holding a :class:`~urbancover.present.Note`
    as an object column of the notes themselves: pandas would store them as plain strings, and
    the outputs say them in their language.
    """
    for col in frame.columns:
        values = [rec.get(col, np.nan) for rec in records]
        if any(isinstance(v, Note) for v in values):
            frame[col] = pd.Series(values, index=frame.index, dtype=object)
    return frame


def _max_threshold(rules) -> float:
    """The largest distance threshold of the rules evaluated (metres): the margin the extract needs."""
    rules = [r for r in rules if KINDS[r.kind].distance]
    values = [r.threshold for r in rules] + [c.threshold for r in rules for c in r.categories]
    return max((v for v in values if v is not None), default=0.0)


def _compound_table(ctx: Context, results: dict) -> gpd.GeoDataFrame:
    comp = ctx.compounds.copy()
    served = {rid: res.compound_served for rid, res in results.items() if res.compound_served is not None}
    for rid, ok in served.items():
        comp[f"served_{rid}"] = ok
    comp["failed_rules"], comp["n_failed"] = failed_rules(served, len(comp))
    homes = ctx.homes
    comp["homes"] = np.bincount(homes["compound"][homes["compound"] >= 0], minlength=len(comp))[: len(comp)] if len(comp) else []
    comp["residents"] = np.bincount(ctx.population["compound"][ctx.population["compound"] >= 0],
                                    weights=ctx.population["residents"][ctx.population["compound"] >= 0],
                                    minlength=len(comp))[: len(comp)] if len(comp) else []
    return comp


def _by_unit(ctx: Context, results: dict) -> pd.DataFrame | None:
    if ctx.units is None:
        return None
    pts = ctx.population.geometry.values
    pi, ui = shapely.STRtree(ctx.units.geometry.values).query(pts, predicate="within")
    unit_of = np.full(len(pts), -1)
    unit_of[pi] = ui
    w = ctx.population["residents"].to_numpy(dtype=float)
    rows = []
    for k, name in enumerate(ctx.units["unit"]):
        here = unit_of == k
        row = {"unit": name, "residents": float(w[here].sum())}
        for rid, res in results.items():
            if res.residents_served is not None:
                tot = w[here].sum()
                row[rid] = float(w[here & res.residents_served].sum() / tot) if tot > 0 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
