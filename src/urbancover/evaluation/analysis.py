"""Evaluate a whole rule set on an extract: :func:`evaluate` and its :class:`Report`."""

from __future__ import annotations

import functools
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urbancover.core.errors import InputError, UnknownRuleError
from urbancover.core.progress import in_notebook, log_line, progress_bar
from urbancover.core.settings import Settings, resolve
from urbancover.evaluation import gaps, indicators  # noqa: F401 - the rule kinds register themselves
from urbancover.evaluation.context import Context, make_context
from urbancover.evaluation.kinds import evaluator
from urbancover.evaluation.runinfo import RunInfo, run_info
from urbancover.evaluation.validate import check_inputs
from urbancover.io.osm import OSMData, read_osm
from urbancover.network.walk import Network, walk_network
from urbancover.plan.rules import KINDS, RuleSet, load_rules
from urbancover.present import Note


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
    run: RunInfo | None = None

    @property
    def network(self) -> Network:
        """The walking network the rules were measured on."""
        return self.context.network

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
        if rule_id not in self.results:
            raise UnknownRuleError(f"rule_id: the report has no rule {rule_id!r}; it has {list(self.results)}.")
        m = self.results[rule_id].measurement
        if m is None:
            raise InputError(f"rule_id: {rule_id!r} is a {self.results[rule_id].rule.kind!r} rule, not measured by distance.")
        return m.sweep(thresholds)

    def __repr__(self) -> str:
        from urbancover.present.display import report_repr

        return report_repr(self)

    def _repr_html_(self) -> str:
        from urbancover.present.display import report_html

        return report_html(self)

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Every layer, named ``<rule id>__<layer>``, plus ``compounds`` (layers not yet made are made
        now and kept, see :class:`urbancover.evaluation.gaps.Layers`).
        """
        return dict(self.iter_layers(keep=True))

    def iter_layers(self, *, keep: bool = False):
        """``(name, GeoDataFrame)`` of every layer in turn, as :meth:`layers` names them; with
        ``keep=False`` a layer not made yet is made for the caller only (a writer streaming a city's
        layers holds one at a time).
        """
        for rid, res in self.results.items():
            for name in res.layers:
                yield f"{rid}__{name}", res.layers[name] if keep else res.layers.peek(name)
        yield "compounds", self.compounds

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
                    warnings.warn(w.message, stacklevel=2)
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
    bar = _Progress(len(chosen) + 3, progress, "" if isinstance(source, OSMData) else Path(source).name)
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
    ctx.on_progress = bar.detail if progress else None
    results = {}
    for rule in chosen:
        bar.step(rule.id)
        results[rule.id] = evaluator(rule)(rule, ctx)
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


class _Progress:
    """A tqdm bar over named steps on a terminal; off a terminal (a log file, a batch worker) one
    line per step on stderr, so a long run shows where it is; or nothing.
    """

    def __init__(self, total: int, show: bool, label: str = ""):
        self.bar = None
        self.lines = show and not in_notebook() and not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty())
        self.total, self.done, self.label, self.name = total, 0, label, ""
        if show and not self.lines:
            self.bar = progress_bar(total=total, unit="step", leave=False)  # a terminal or a notebook
        self.started = False

    def step(self, name: str) -> None:
        self.name = name
        if self.lines:
            self.done += 1
            log_line(self.label, f"step {self.done}/{self.total} {name}")
        if self.bar is not None:
            if self.started:
                self.bar.update(1)
            self.started = True
            self.bar.set_description(name)

    def detail(self, message: str) -> None:
        """A step inside the current one (a rule's facilities, places, streets)."""
        if self.lines:
            log_line(self.label, f"step {self.done}/{self.total} {self.name}: {message}")
        if self.bar is not None:
            self.bar.set_postfix_str(message, refresh=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.close()


def _compound_table(ctx: Context, results: dict) -> gpd.GeoDataFrame:
    comp = ctx.compounds.copy()
    failed = np.full(len(comp), "", dtype=object)
    for rid, res in results.items():
        if res.compound_served is not None:
            comp[f"served_{rid}"] = res.compound_served
            failed = failed + np.where(res.compound_served, "", rid + ", ")
    comp["failed_rules"] = [f[:-2] for f in failed]
    comp["n_failed"] = [len(f.split(", ")) if f else 0 for f in comp["failed_rules"]]
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
