"""Before and after (:func:`compare`): per rule the change in share, the homes and street metres
newly served or no longer served, and the facilities added and removed, between two evaluations of
the same rules over the same area: two extracts of different dates, or one extract and the same
with proposed sites added (:func:`urbancover.siting.add_sites`, or a user facility layer).

Homes, compounds and facilities are matched across the two by OSM id (``element`` and ``osmid``)
and, failing that, by location: the nearest one within ``settings.compare_match_m`` that is not
matched by id either, one to one. Street demand is compared at points at most
``settings.compare_street_step_m`` apart, each matched to the other evaluation's street demand
within ``settings.compare_match_m``.

Every figure is read from the two evaluations' measurements (``report.results[rule].measurement``):
nothing is measured again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urbancover.core.errors import InputError, UnknownRuleError
from urbancover.core.settings import Settings
from urbancover.evaluation.analysis import Report
from urbancover.evaluation.demand import demand_points
from urbancover.evaluation.export import street_distances
from urbancover.evaluation.measure import LAYER_UNITS, counts_homes
from urbancover.present import Note
from urbancover.present.formats import check_lang, number, share
from urbancover.present.words import COMPARE, LAYER_WORDS

#: Values of the ``change`` column: of homes, compounds and street pieces; of facilities.
SERVED, UNSERVED = "newly served", "newly unserved"
ADDED, REMOVED = "added", "removed"

#: Layers and tables :meth:`Comparison.to_gpkg` writes.
TABLES = ("change_summary", "change_homes", "change_streets", "change_facilities")


@dataclass(eq=False)
class Comparison:
    """What changed between two evaluations (:func:`compare`).

    Attributes
    ----------
    summary : DataFrame
        One row per rule (indexed by rule id): ``measure`` and ``unit`` of the rule's value,
        ``value_before``, ``value_after`` and ``change``; ``size_before`` / ``size_after`` (what the
        share is of: residents, homes, compounds, km of street) and ``served_before`` /
        ``served_after`` (the served part of it); for rules whose demand is homes or residents
        ``homes_served_before`` / ``homes_before`` and the same after, ``homes_newly_served``,
        ``homes_newly_unserved``; ``compounds_newly_served`` / ``_unserved``;
        ``street_m_newly_served`` / ``_unserved`` (metres of street demand); ``facilities_before`` /
        ``_after``, ``facilities_added`` / ``_removed``; ``verdict_before`` / ``_after``. NaN where a
        rule measures no such thing.
    homes : GeoDataFrame
        The homes whose status changed, one row per (rule, home): ``rule``, ``change`` ("newly
        served" / "newly unserved"), ``element``, ``osmid`` (after), ``osmid_before``, ``name``,
        ``matched`` ("osmid" or "location"), ``metres_before``, ``metres_after`` (network metres to
        the farthest category the rule needs; NaN: none reachable), the footprint after.
    streets : GeoDataFrame
        Street demand whose status changed: ``rule``, ``change``, ``length_m``, lines.
    facilities : GeoDataFrame
        Facilities added or removed: ``rule``, ``category``, ``change`` ("added" / "removed"),
        ``element``, ``osmid``, ``name``, a point (the facility's point on its surface).
    before, after : Report
        The two evaluations.
    notes : list of Note
        What the comparison found about its inputs (different areas or settings, homes without a
        counterpart ...).
    """

    summary: pd.DataFrame
    homes: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    before: Report
    after: Report
    notes: list = field(default_factory=list)

    def describe(self, lang: str = "en") -> str:
        """One line per rule in ``lang``: the share before and after with its size, homes newly
        served and no longer served, street metres, facilities added and removed.
        """
        return "\n".join(f"{rid}: {line}" for rid, line in self.lines(lang).items())

    def lines(self, lang: str = "en") -> dict[str, str]:
        """:meth:`describe`'s line of each rule (rule id -> text)."""
        W = COMPARE[check_lang(lang)]
        out = {}
        for rid, row in self.summary.iterrows():
            parts = [share_change(row, lang)]
            if not _missing(row["homes_before"]):
                parts.append(W["homes"].format(sb=_n(row["homes_served_before"]), nb=_n(row["homes_before"]),
                                               sa=_n(row["homes_served_after"]), na=_n(row["homes_after"])))
                parts.append(W["homes_newly"].format(n=_n(row["homes_newly_served"]), m=_n(row["homes_newly_unserved"])))
            if not _missing(row["street_m_newly_served"]):
                parts.append(W["street_newly"].format(n=_metres(row["street_m_newly_served"]),
                                                      m=_metres(row["street_m_newly_unserved"])))
            if not _missing(row["facilities_added"]):
                parts.append(W["facilities"].format(added=_n(row["facilities_added"]), removed=_n(row["facilities_removed"])))
            out[rid] = ("；" if lang == "zh" else "; ").join(parts)
        return out

    def __repr__(self) -> str:
        return f"Comparison({len(self.summary)} rules)\n{self.describe()}"

    def to_gpkg(self, path: str | os.PathLike) -> Path:
        """Write the change tables to one GeoPackage, replacing it atomically: ``change_summary``,
        the layers ``change_homes``, ``change_streets``, ``change_facilities`` when they hold a row,
        and what made each side: the after evaluation's ``run`` record (as in its own GeoPackage) and
        the before's as ``run_before`` (:func:`urbancover.evaluation.export.write_tables`, the one
        GeoPackage writer's).
        """
        from urbancover.evaluation.export import write_tables

        path = Path(path)
        if path.suffix.lower() != ".gpkg":
            raise InputError(f"path: {path} is not a .gpkg file; give the GeoPackage's file name, e.g. change.gpkg.")
        return write_tables(self.tables(), path, run=getattr(self.after, "run", None))

    def tables(self) -> dict[str, pd.DataFrame]:
        """What :meth:`to_gpkg` writes, by name (empty layers left out: a layer of no rows has no
        geometry type).
        """
        out = {"change_summary": self.summary.reset_index(drop=True)}
        for name, layer in zip(TABLES[1:], (self.homes, self.streets, self.facilities)):
            if len(layer):
                out[name] = layer
        run = getattr(self.before, "run", None)
        if run is not None:  # what made the before (the after's is the file's ``run`` record)
            out["run_before"] = pd.DataFrame(run.rows(), columns=["key", "value"])
        return out

    def to_html(self, path: str | os.PathLike, *, lang: str = "zh", **kwargs) -> Path:
        """Write the before-and-after page (:func:`urbancover.report.page.change_report`: the change
        of every rule, the notes and the change maps, in one self-contained HTML file).
        """
        from urbancover.report.page import change_report

        return change_report(self, path, lang=lang, **kwargs)

    def plot(self, rule_id: str, *, lang: str = "zh", path: str | os.PathLike | None = None, **kwargs):
        """The change map of one rule (:func:`urbancover.report.static.change_map`, same keywords:
        ``paper``, ``orientation``, ``dpi``, ``settings``); returns the matplotlib Figure.
        """
        from urbancover.report.static import change_map

        return change_map(self, rule_id, lang=lang, path=path, **kwargs)

    def rule(self, rule_id: str):
        """The rule ``rule_id`` (after), or UnknownRuleError listing the rules compared."""
        if rule_id not in self.summary.index:
            raise UnknownRuleError(f"rule_id: the comparison has no rule {rule_id!r}; it has {list(self.summary.index)}.")
        return self.after.results[rule_id].rule


def share_change(row, lang: str) -> str:
    """``"residents served 37.7% → 100.0% (2,526/6,702 → 6,702/6,702)"`` for a summary row of a
    comparison (a rule's value that is not a share: ``"1.2 → 1.5"``).
    """
    W = COMPARE[check_lang(lang)]
    if row["unit"] not in LAYER_WORDS[lang]:
        return f"{_value(row['value_before'])} → {_value(row['value_after'])}"
    text = W["share"].format(what=LAYER_WORDS[lang][row["unit"]], before=share(row["value_before"]),
                             after=share(row["value_after"]))
    return f"{text}（{size_change(row, lang)}）" if lang == "zh" else f"{text} ({size_change(row, lang)})"


def size_change(row, lang: str, unit: bool = False) -> str:
    """``"2,526/6,702 → 6,702/6,702"`` (served of all, before and after; km of street with
    ``" km"``); with ``unit`` followed by what is counted (``"residents"``); "—" for a side with
    nothing to serve.
    """
    km = row["unit"] == "street"

    def side(served, size):
        if _missing(size) or size == 0 or _missing(served):
            return "—"
        return f"{number(served, km)}/{number(size, km)}"

    text = f"{side(row['served_before'], row['size_before'])} → {side(row['served_after'], row['size_after'])}"
    if km:
        text += " " + COMPARE[lang]["km"]
    elif unit and row["unit"] in LAYER_WORDS[lang]:
        text += ("" if lang == "zh" else " ") + LAYER_WORDS[lang][row["unit"]]
    return text


def compare(before: Report, after: Report, *, rules: list[str] | None = None, settings: Settings | None = None) -> Comparison:
    """What changed between two evaluations of the same rules over the same area.

    Parameters
    ----------
    before, after
        What :func:`urbancover.evaluate` returned for the earlier and the later state: two extracts
        of different dates, or one extract and the same with new facilities (proposed sites added
        with :func:`urbancover.siting.add_sites`, or given as a user facility layer under the
        rule's id or category). Evaluate both with the same rule set, ``area=`` and settings.
    rules
        Rule ids to compare (default: every rule evaluated in both).
    settings
        The :class:`~urbancover.core.settings.Settings` of the matching (``compare_match_m``,
        ``compare_street_step_m``); default: the after evaluation's.

    Returns
    -------
    Comparison

    Raises
    ------
    InputError
        ``before`` or ``after`` is not a Report, a rule of ``rules`` is not in both, or a rule of
        the same id differs between them (another threshold, target or selector).

    Notes
    -----
    A rule's change in share is the difference of the two evaluations' own values; the homes newly
    served are the homes matched across the two (by OSM id, else by location) that the rule counts
    in both, not served before and served after. A home with no counterpart (built, demolished,
    redrawn farther than the tolerance) changes only its side's totals, and a note counts them.
    Cost: O(H log H) to match H homes, O(S log S) for S street sample points, per rule.
    """
    for name, rep in (("before", before), ("after", after)):
        if not isinstance(rep, Report):
            raise InputError(f"{name}: need what urbancover.evaluate returned (a Report), not {type(rep).__name__}.")
    s = after.context.settings if settings is None else settings
    if not isinstance(s, Settings):
        raise InputError(f"settings must be an urbancover.core.settings.Settings, not {type(s).__name__}.")
    both = [rid for rid in before.results if rid in after.results]
    notes: list = []
    if rules is None:
        chosen = both
        only_one = sorted(set(before.results) ^ set(after.results))
        if only_one:
            notes.append(Note("compare.only_one", rules=", ".join(only_one)))
    else:
        chosen = list(rules)
        missing = [r for r in chosen if r not in both]
        if missing:
            raise UnknownRuleError(f"rules: {missing} not evaluated in both reports; both have {both}.")
    for rid in chosen:
        if before.results[rid].rule != after.results[rid].rule:
            raise InputError(f"rules: rule {rid!r} differs between the two reports (another threshold, target or "
                             "selector); evaluate both with the same rule set.")
    notes += _input_notes(before, after)
    crs = after.context.crs
    tol = float(s.compare_match_m)
    homes = _Matched.of(_home_table(before.context.homes, crs), _home_table(after.context.homes, crs), tol)
    comps = _Matched.of(_home_table(before.compounds, crs), _home_table(after.compounds, crs), tol)
    if len(homes.gone) or len(homes.new):
        notes.append(Note("compare.unmatched", gone=len(homes.gone), new=len(homes.new), tol=tol))
    rows, home_rows, street_rows, fac_rows = [], [], [], []
    for rid in chosen:
        row, changed_homes, changed_streets, changed_fac = _rule_change(before, after, rid, homes, comps, s)
        rows.append(row)
        home_rows += changed_homes
        street_rows += changed_streets
        fac_rows += changed_fac
    summary = pd.DataFrame(rows, columns=_SUMMARY_COLUMNS)
    for col in _COUNTS:  # whole numbers, missing where a rule counts no such thing (NULL in a file, not 12.0)
        summary[col] = pd.array(summary[col], dtype="Int64")
    summary.index = pd.Index(summary["rule"].to_numpy(), name="rule_id")
    return Comparison(
        summary=summary,
        homes=_frame(home_rows, ["rule", "change", "element", "osmid", "osmid_before", "name", "matched", "metres_before",
                                 "metres_after"], crs),
        streets=_frame(street_rows, ["rule", "change", "length_m"], crs),
        facilities=_frame(fac_rows, ["rule", "category", "change", "element", "osmid", "name"], crs),
        before=before, after=after, notes=notes,
    )


_SUMMARY_COLUMNS = [
    "rule", "name_zh", "name_en", "measure", "unit", "value_before", "value_after", "change", "size_before", "size_after",
    "served_before", "served_after", "homes_served_before", "homes_before", "homes_served_after", "homes_after",
    "homes_newly_served", "homes_newly_unserved", "compounds_newly_served", "compounds_newly_unserved",
    "street_m_newly_served", "street_m_newly_unserved", "facilities_before", "facilities_after", "facilities_added",
    "facilities_removed", "verdict_before", "verdict_after",
]


#: Columns of the summary that count (homes, compounds, facilities).
_COUNTS = [c for c in _SUMMARY_COLUMNS if c.startswith(("homes", "compounds_", "facilities_"))]


def _input_notes(before: Report, after: Report) -> list:
    """Notes on inputs that make a comparison doubtful: different areas, different settings."""
    notes = []
    a_area = after.context.area
    b_area = before.context.area
    if before.context.crs != after.context.crs:
        b_area = gpd.GeoSeries([b_area], crs=before.context.crs).to_crs(after.context.crs).iloc[0]
    shared = 1.0
    if not shapely.equals_exact(a_area, b_area, tolerance=0.01):  # (a city's built-up land: a costly union)
        union = shapely.union(a_area, b_area).area
        shared = shapely.intersection(a_area, b_area).area / union if union > 0 else 1.0
    if shared < 0.99:
        notes.append(Note("compare.area", before=b_area.area / 1e6, after=a_area.area / 1e6, shared=shared))
    sb, sa = before.context.settings.as_dict(), after.context.settings.as_dict()
    differ = sorted(k for k in sa if sb.get(k) != sa[k])
    if differ:
        notes.append(Note("compare.settings", names=", ".join(differ)))
    return notes


# -------------------------------------------------------------------------------------- matching


@dataclass
class _Side:
    """Features of one evaluation to match: key (``element/osmid``, None without an id), point, the
    features (in the after evaluation's CRS).
    """

    keys: np.ndarray
    points: np.ndarray
    features: gpd.GeoDataFrame


def _home_table(layer: gpd.GeoDataFrame, crs) -> _Side:
    """Homes, compounds or facilities to match: their OSM ids and one point each (the homes' point
    on their footprint, where the rules measure them), in ``crs``.
    """
    layer = layer if layer.crs is None or layer.crs == crs else layer.to_crs(crs)
    pts = demand_points(layer).values if len(layer) else np.zeros(0, dtype=object)
    return _Side(_keys(layer), np.asarray(pts, dtype=object), layer)


def _keys(layer: pd.DataFrame) -> np.ndarray:
    """``"<element>/<osmid>"`` per row (``"/<osmid>"`` without an element column), None without an id."""
    if "osmid" not in layer or len(layer) == 0:
        return np.full(len(layer), None, dtype=object)
    ids = layer["osmid"]
    el = layer["element"].astype(str).to_numpy() if "element" in layer else np.full(len(layer), "", dtype=object)
    missing = ids.isna().to_numpy()
    keys = np.char.add(np.char.add(el.astype(str), "/"), ids.astype(str).to_numpy().astype(str)).astype(object)
    keys[missing] = None
    return keys


def match(b: _Side, a: _Side, tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ib, ia, by_location)``: rows of ``b`` and ``a`` that are the same feature, one to one; by
    key first (a key held by several rows of one side matches its first), then the rest by
    location: each remaining row of ``a`` to the nearest remaining row of ``b`` within ``tol``
    metres, the closest pairs first.
    """
    kb = pd.Series(np.arange(len(b.keys)), index=pd.Index(b.keys, dtype=object))
    kb = kb[kb.index.notna() & ~kb.index.duplicated()]
    ka = pd.Series(np.arange(len(a.keys)), index=pd.Index(a.keys, dtype=object))
    ka = ka[ka.index.notna() & ~ka.index.duplicated()]
    common = kb.index.intersection(ka.index)
    ib, ia = kb[common].to_numpy(dtype=np.int64), ka[common].to_numpy(dtype=np.int64)
    rest_b = np.setdiff1d(np.arange(len(b.keys)), ib)
    rest_a = np.setdiff1d(np.arange(len(a.keys)), ia)
    lb, la = np.zeros(0, np.int64), np.zeros(0, np.int64)
    if len(rest_b) and len(rest_a):
        tree = shapely.STRtree(b.points[rest_b])
        (qa, qb), dist = tree.query_nearest(a.points[rest_a], max_distance=tol, return_distance=True, all_matches=False)
        order = np.argsort(dist, kind="stable")
        qa, qb = qa[order], qb[order]
        _, first = np.unique(qb, return_index=True)  # each b once: its closest a
        keep = np.sort(first)
        la, lb = rest_a[qa[keep]], rest_b[qb[keep]]
    by_location = np.r_[np.zeros(len(ib), bool), np.ones(len(lb), bool)]
    return np.r_[ib, lb].astype(np.int64), np.r_[ia, la].astype(np.int64), by_location


@dataclass
class _Matched:
    """Two sides matched: ``ib[k]`` (before) is ``ia[k]`` (after); ``gone`` / ``new``: rows without a counterpart."""

    b: _Side
    a: _Side
    ib: np.ndarray
    ia: np.ndarray
    by_location: np.ndarray
    gone: np.ndarray
    new: np.ndarray

    @classmethod
    def of(cls, b: _Side, a: _Side, tol: float) -> _Matched:
        ib, ia, loc = match(b, a, tol)
        return cls(b, a, ib, ia, loc, np.setdiff1d(np.arange(len(b.keys)), ib), np.setdiff1d(np.arange(len(a.keys)), ia))


# -------------------------------------------------------------------------------------- one rule


def _home_status(report: Report, rule_id: str) -> pd.DataFrame | None:
    """``home`` (row of ``report.context.homes``), ``served`` and ``metres`` of every home a distance
    rule counts: :meth:`~urbancover.evaluation.analysis.Report.home_status` (what the ``homes`` layer
    holds) cut to the counted homes; None when the rule's demand is neither homes nor residents.
    ``metres``: network metres to the farthest category the rule needs (NaN: none reachable).
    """
    m = report.results[rule_id].measurement
    if m is None or not counts_homes(m.rule):
        return None
    st = report.home_status(rule_id)
    counted = st["counted"].to_numpy(dtype=bool)
    return pd.DataFrame({"home": np.flatnonzero(counted), "served": st["served"].to_numpy()[counted].astype(bool),
                         "metres": st["network_m"].to_numpy(dtype=float)[counted]})


def _rule_change(before: Report, after: Report, rid: str, homes: _Matched, comps: _Matched, s: Settings):
    """The summary row of one rule and its changed homes, street pieces and facilities (dicts)."""
    rb, ra = before.results[rid], after.results[rid]
    rule = ra.rule
    row = dict.fromkeys(_SUMMARY_COLUMNS, np.nan)
    sb, sa = rb.summary, ra.summary
    row.update(rule=rid, name_zh=rule.name_zh, name_en=rule.name_en, measure=sa.measure, unit="",
               value_before=sb.value, value_after=sa.value, verdict_before=sb.verdict.value, verdict_after=sa.verdict.value)
    row["change"] = _float(sa.value) - _float(sb.value)
    changed_homes, changed_streets, changed_fac = [], [], []
    if ra.measurement is None or rb.measurement is None:
        return row, changed_homes, changed_streets, changed_fac
    first = rule.demand[0]
    unit = "street" if first == "streets" else LAYER_UNITS[first]
    row["unit"] = unit
    share_b, share_a = sb.shares.get(unit), sa.shares.get(unit)
    if share_b is not None and share_a is not None:
        row.update(size_before=share_b.size, size_after=share_a.size,
                   served_before=_float(share_b.served) * share_b.size, served_after=_float(share_a.served) * share_a.size)
    # homes
    hb, ha = _home_status(before, rid), _home_status(after, rid)
    if hb is not None and ha is not None:
        row.update(homes_served_before=int(hb["served"].sum()), homes_before=len(hb),
                   homes_served_after=int(ha["served"].sum()), homes_after=len(ha))
        changed_homes = _changed_homes(rid, hb, ha, homes)
        row["homes_newly_served"] = sum(h["change"] == SERVED for h in changed_homes)
        row["homes_newly_unserved"] = sum(h["change"] == UNSERVED for h in changed_homes)
    # compounds
    col = f"served_{rid}"
    if col in before.compounds and col in after.compounds:
        vb = before.compounds[col].to_numpy(dtype=bool)[comps.ib]
        va = after.compounds[col].to_numpy(dtype=bool)[comps.ia]
        row["compounds_newly_served"] = int((~vb & va).sum())
        row["compounds_newly_unserved"] = int((vb & ~va).sum())
    # streets
    if rb.measurement.streets is not None and ra.measurement.streets is not None:
        changed_streets = _changed_streets(before, after, rid, s)
        for change in (SERVED, UNSERVED):
            row[f"street_m_{change.replace(' ', '_')}"] = float(sum(p["length_m"] for p in changed_streets if p["change"] == change))
    # facilities
    fb = [c.facilities for c in rb.measurement.checks]
    fa = [c.facilities for c in ra.measurement.checks]
    row["facilities_before"] = sum(len(f) for f in fb)
    row["facilities_after"] = sum(len(f) for f in fa)
    crs = after.context.crs
    tol = float(s.compare_match_m)
    for check, b, a in zip(ra.measurement.checks, fb, fa):
        m = _Matched.of(_point_table(b, crs), _point_table(a, crs), tol)
        category = check.name if len(fa) > 1 else ""
        for change, side, rows in ((ADDED, m.a, m.new), (REMOVED, m.b, m.gone)):
            f = side.features
            for r in rows:
                changed_fac.append({"rule": rid, "category": category, "change": change,
                                    "element": _cell(f, "element", r), "osmid": _cell(f, "osmid", r),
                                    "name": _cell(f, "name", r), "geometry": side.points[r]})
    row["facilities_added"] = sum(f["change"] == ADDED for f in changed_fac)
    row["facilities_removed"] = sum(f["change"] == REMOVED for f in changed_fac)
    return row, changed_homes, changed_streets, changed_fac


def _changed_homes(rid: str, hb: pd.DataFrame, ha: pd.DataFrame, homes: _Matched) -> list[dict]:
    """The matched homes counted by the rule on both sides whose status differs."""
    n_b, n_a = len(homes.b.keys), len(homes.a.keys)
    served_b, served_a = np.full(n_b, -1, np.int8), np.full(n_a, -1, np.int8)  # -1: not counted by the rule
    served_b[hb["home"].to_numpy()] = hb["served"].to_numpy()
    served_a[ha["home"].to_numpy()] = ha["served"].to_numpy()
    metres_b, metres_a = np.full(n_b, np.nan), np.full(n_a, np.nan)
    metres_b[hb["home"].to_numpy()] = hb["metres"].to_numpy()
    metres_a[ha["home"].to_numpy()] = ha["metres"].to_numpy()
    vb, va = served_b[homes.ib], served_a[homes.ia]
    both = (vb >= 0) & (va >= 0)
    out = []
    fb, fa = homes.b.features, homes.a.features
    for change, hit in ((SERVED, both & (vb == 0) & (va == 1)), (UNSERVED, both & (vb == 1) & (va == 0))):
        for k in np.flatnonzero(hit):
            i, j = homes.ib[k], homes.ia[k]
            out.append({"rule": rid, "change": change, "element": _cell(fa, "element", j), "osmid": _cell(fa, "osmid", j),
                        "osmid_before": _cell(fb, "osmid", i), "name": _cell(fa, "name", j),
                        "matched": "location" if homes.by_location[k] else "osmid",
                        "metres_before": _finite(metres_b[i]), "metres_after": _finite(metres_a[j]),
                        "geometry": fa.geometry.values[j]})
    return out


def _point_table(fac: gpd.GeoDataFrame, crs) -> _Side:
    """Facilities to match: ids and a point each (a polygon's point on its surface)."""
    return _home_table(fac, crs)


@dataclass
class _Streets:
    """A rule's street demand on one side: its pieces (lines of one status: cut where a distance
    crosses the threshold) with ``served``, and the pieces cut into samples of at most the step:
    their ends ``a``, ``b`` (coordinates), ``length`` and ``served``.
    """

    pieces: np.ndarray
    served: np.ndarray
    a: np.ndarray
    b: np.ndarray
    length: np.ndarray
    sample_served: np.ndarray


def _street_samples(report: Report, rid: str, step: float, crs) -> _Streets:
    """A rule's street demand (:class:`_Streets`): the walkable streets from the distances along
    them, and the roads that are not walkable (measured at their pieces' middles).
    """
    m = report.results[rid].measurement
    pieces = street_distances(report, rid, step=np.inf)
    pieces = pieces[pieces["demand"].to_numpy(dtype=bool)]
    geoms = [np.asarray(pieces.geometry.values, dtype=object)]
    served = [pieces["served"].to_numpy(dtype=bool)]
    if m.roads is not None and len(m.roads):
        geoms.append(np.asarray(m.roads.geometry, dtype=object))
        served.append((m.roads.network_m <= m.limits).all(axis=1))
    geoms, served = np.concatenate(geoms), np.concatenate(served)
    if report.context.crs != crs:
        geoms = np.asarray(gpd.GeoSeries(geoms, crs=report.context.crs).to_crs(crs).values, dtype=object)
    parts, of = shapely.get_parts(shapely.segmentize(geoms, step), return_index=True)
    xy, idx = shapely.get_coordinates(parts, return_index=True)
    same = idx[1:] == idx[:-1]
    a, b = xy[:-1][same], xy[1:][same]
    length = np.hypot(*(b - a).T)
    keep = length > 0
    return _Streets(geoms, served, a[keep], b[keep], length[keep], served[of[idx[:-1][same]]][keep])


def _changed_streets(before: Report, after: Report, rid: str, s: Settings) -> list[dict]:
    """Street demand newly served and no longer served: each sample of one side served there,
    matched by its middle to the nearest piece of the other side's street demand within
    ``compare_match_m``, that piece not served; the samples joined into lines.

    Cost: O(S log P) for S samples and P pieces (one STRtree of the other side's pieces, the
    samples' middles as points, lines made only for the samples that changed).
    """
    crs = after.context.crs
    step, tol = float(s.compare_street_step_m), float(s.compare_match_m)
    sides = {SERVED: (_street_samples(after, rid, step, crs), None), UNSERVED: (_street_samples(before, rid, step, crs), None)}
    sides[SERVED] = (sides[SERVED][0], sides[UNSERVED][0])  # after, matched to before
    sides[UNSERVED] = (sides[UNSERVED][0], sides[SERVED][0])  # before, matched to after
    out = []
    for change, (this, other) in sides.items():
        rows = np.flatnonzero(this.sample_served)  # SERVED: served after; UNSERVED: served before
        unserved = np.flatnonzero(~other.served)
        if len(rows) == 0 or len(unserved) == 0:
            continue
        mids = shapely.points((this.a[rows] + this.b[rows]) / 2.0)
        # only samples near an unserved piece of the other side can have changed (most are not: one
        # query against the fewer unserved pieces, then the nearest piece for those only)
        near = np.unique(shapely.STRtree(other.pieces[unserved]).query(mids, predicate="dwithin", distance=tol)[0])
        rows, mids = rows[near], mids[near]
        (q, o), _ = shapely.STRtree(other.pieces).query_nearest(mids, max_distance=tol, return_distance=True,
                                                                 all_matches=False)
        _, first = np.unique(q, return_index=True)
        q, o = q[first], o[first]
        rows = rows[q[~other.served[o]]]  # ... and not served on the other side
        if len(rows) == 0:
            continue
        # consecutive samples share their ends exactly: joined without noding (a city's are many)
        segs = shapely.linestrings(np.stack([this.a[rows], this.b[rows]], axis=1))
        for part in shapely.get_parts(shapely.line_merge(shapely.multilinestrings(segs))):
            out.append({"rule": rid, "change": change, "length_m": float(part.length), "geometry": part})
    return out


# -------------------------------------------------------------------------------------- helpers


def _frame(rows: list[dict], columns: list[str], crs) -> gpd.GeoDataFrame:
    if not rows:
        return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    return gpd.GeoDataFrame(pd.DataFrame(rows)[columns + ["geometry"]], geometry="geometry", crs=crs)


def _cell(frame: pd.DataFrame, col: str, row: int):
    if col not in frame:
        return None
    v = frame[col].iloc[row]
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else v


def _float(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return np.nan


def _finite(v: float) -> float:
    return float(v) if np.isfinite(v) else np.nan


def _missing(v) -> bool:
    return v is None or (np.ndim(v) == 0 and bool(pd.isna(v)))


def _n(v) -> str:
    return "—" if _missing(v) else f"{int(v):,}"


def _metres(v) -> str:
    return "—" if _missing(v) else (f"{v / 1000:.2f} km" if v >= 1000 else f"{v:,.0f} m")


def _value(v) -> str:
    from urbancover.present.formats import value

    return value(v)
