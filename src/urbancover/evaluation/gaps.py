"""Coverage tables and gap layers of the distance rules: who is not served, by network and by
straight-line distance.

Every distance kind (``radius``: the nearest facility of one category within a threshold;
``all_of``: a facility of *every* category within its own threshold, the 10-minute living circle,
reporting which categories each place is missing) is evaluated by one function,
:func:`distance_rule`, from the rule's :class:`~urbancover.evaluation.measure.Measurement`.

Demand layers: ``residents`` (weighted points), ``residential_buildings``, ``compounds`` and
``streets`` (exact covered length per edge). Every measure is given by network distance and, beside
it, by straight-line distance.

Layers of a distance rule (``RuleResult.layers``), one geometry type each, no infinities:

* ``homes_unserved`` / ``residents_unserved`` / ``compounds_unserved``: the places not served, with
  ``network_m``, ``network_min`` (the same in walking minutes, from the rule set's walking table:
  :mod:`urbancover.plan.walking`) and ``straight_m`` (metres to the nearest facility; ``network_m_<category>`` and
  ``straight_m_<category>`` for an ``all_of`` rule), ``status`` (see :data:`STATUSES`), ``over_by_m``
  (how far beyond the threshold; NaN unless ``status == "beyond"``) and, for ``all_of``,
  ``status_<category>`` and ``missing``. When the extract has barriers (walls, water, railways:
  PLAN_RULES rev 3, section G), also ``no_walls_m`` (``no_walls_m_<category>``: the distance if the
  place's own access leg could cross them) and ``behind_walls``; the summary then has
  ``<unit>_behind_walls``, ``<unit>_served_no_walls`` and ``<unit>_walls_add_m`` (median metres).
  Homes keep ``osmid``, ``element``, ``name``, ``building``,
  ``levels`` (tagged floors), ``compound`` (row of the compounds; ``<NA>``, a file's NULL, for
  none) and ``residents``; every OSM tag column only with ``evaluate(..., osm_tags=True)``.
  Every rule whose demand is homes or residents makes ``homes_unserved`` (a rule of
  ``residents`` only, measured at the same points, also keeps its ``residents_unserved``, whose
  points carry their home's ``osmid`` and ``name`` when the residents were estimated from the
  homes). Every home with every rule: the report's ``homes`` layer
  (:mod:`urbancover.evaluation.places`).
* ``streets_unserved``: unserved pieces of street demand (LineStrings): ``edge``, ``start_m`` and
  ``end_m`` along it (from its ``u`` end), ``length_m``, ``highway``, ``name``, ``network_m_from`` and
  ``network_m_to`` (distance at the piece's two ends), ``network_min_from`` and ``network_min_to``
  (the same in walking minutes), ``status`` and ``over_by_m`` (the largest excess along the piece).
* ``facilities_points`` and ``facilities_areas``: the facilities measured, points and polygons in
  separate layers (``category``, ``osmid``, ``name``; areas also ``area_m2``).
* ``gaps``: residential land beyond the threshold (polygons).

The costly layers (``gaps``, ``streets_unserved``) are made from the measurement when first read
(:class:`Layers`): a summary of a city does not pay for polygons nobody looks at.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from functools import cache, partial

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urbancover.core import intervals
from urbancover.core.errors import UnknownLayerError
from urbancover.evaluation.context import Context
from urbancover.evaluation.kinds import rule_kind
from urbancover.evaluation.measure import LAYER_UNITS, DemandPlaces, Measurement, gap_cells, home_places, measure
from urbancover.evaluation.results import SummaryRow
from urbancover.network.walk import line_substrings
from urbancover.plan.rules import Rule
from urbancover.plan.selectors import describe
from urbancover.plan.walking import WalkingTime, walking_time
from urbancover.present import Note, Verdict

log = logging.getLogger(__name__)

#: Values of the ``status`` column of unserved layers: within the threshold; a finite distance over
#: it; no facility reachable along the walking network; no facility of the category in the data.
STATUSES = ("served", "beyond", "no path", "no facility")

#: Columns of a home kept on place layers without ``osm_tags`` (``levels``: tagged floors).
HOME_COLUMNS = ("osmid", "element", "name", "building", "levels", "compound", "residents")


class Layers(MutableMapping):
    """A rule's layers by name (a dict of GeoDataFrames), some made only when first read.

    ``layers.later(name, make)`` registers a layer that ``make()`` builds from the rule's
    measurement; reading it (``layers[name]``, iterating ``items()``) makes it once and keeps
    it. :meth:`peek` gives a layer without keeping one not yet made (a writer streaming a city's
    layers to a file), and :meth:`is_made` tells which are made.

    Examples
    --------
    >>> layers = Layers({"facilities": "a GeoDataFrame"})
    >>> layers.later("gaps", lambda: "polygons")
    >>> list(layers), layers.is_made("gaps")
    (['facilities', 'gaps'], False)
    >>> layers["gaps"], layers.is_made("gaps")
    ('polygons', True)
    """

    def __init__(self, layers=None) -> None:
        self._made: dict = {}
        self._later: dict[str, Callable] = {}
        self._rows: dict[str, int | None] = {}
        self._order: list[str] = []
        for k, v in dict(layers or {}).items():
            self[k] = v

    def later(self, name: str, make: Callable, *, rows: int | None = None) -> None:
        """Register ``name``, made by ``make()`` when first read; ``rows``: its length, when known
        before it is made (shown by :meth:`rows` without making it).
        """
        self._made.pop(name, None)
        self._later[name] = make
        self._rows[name] = rows
        if name not in self._order:
            self._order.append(name)

    def is_made(self, name: str) -> bool:
        """Whether ``name`` is made already (True for layers given made)."""
        return name in self._made

    def rows(self, name: str) -> int | None:
        """The number of rows of ``name``; None for a layer not made whose length is not known."""
        if name in self._made:
            return len(self._made[name])
        if name in self._later:
            return self._rows.get(name)
        raise self._missing(name)

    def peek(self, name: str):
        """The layer ``name``, made now if it is not, without keeping it."""
        if name in self._made:
            return self._made[name]
        if name in self._later:
            return self._later[name]()
        raise self._missing(name)

    def __getitem__(self, name: str):
        if name not in self._made:
            if name not in self._later:
                raise self._missing(name)
            self._made[name] = self._later.pop(name)()
        return self._made[name]

    def __setitem__(self, name: str, layer) -> None:
        self._later.pop(name, None)
        self._made[name] = layer
        if name not in self._order:
            self._order.append(name)

    def __delitem__(self, name: str) -> None:
        if name not in self._made and name not in self._later:
            raise self._missing(name)
        self._made.pop(name, None)
        self._later.pop(name, None)
        self._order.remove(name)

    def _missing(self, name) -> UnknownLayerError:
        """The ``KeyError`` of a name not held, listing the names held."""
        return UnknownLayerError(f"layers: no layer {name!r}; the layers are {list(self._order)}.")

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, name) -> bool:
        return name in self._made or name in self._later

    def __repr__(self) -> str:
        shown = (f"{k}: {self.rows(k)} rows" if self.rows(k) is not None else f"{k}: made when read" for k in self._order)
        return "Layers(" + ", ".join(shown) + ")"


@dataclass
class RuleResult:
    """What one rule measured: a summary row, its layers, and per-place results for the report.

    ``measurement`` is what a distance rule measured (:class:`urbancover.evaluation.measure.Measurement`; None for
    other kinds): maps, reports, siting and zones read it. ``compound_served`` (bool per compound of
    the context) and ``residents_served`` (bool per population point) are set by distance rules;
    they feed the per-compound and per-unit tables.
    """

    rule: Rule
    summary: SummaryRow
    layers: Layers = field(default_factory=Layers)
    compound_served: np.ndarray | None = None
    residents_served: np.ndarray | None = None
    measurement: Measurement | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.layers, Layers):
            self.layers = Layers(self.layers)

    def __repr__(self) -> str:
        from urbancover.present.display import result_repr

        return result_repr(self)

    def _repr_html_(self) -> str:
        from urbancover.present.display import result_html

        return result_html(self)



#: The layers the distance kinds make (``RuleResult.layers``): the outputs read them by these names.
FACILITIES_POINTS, FACILITIES_AREAS, UNMATCHED, GAPS = "facilities_points", "facilities_areas", "unmatched", "gaps"
HOMES_UNSERVED, RESIDENTS_UNSERVED = "homes_unserved", "residents_unserved"
COMPOUNDS_UNSERVED, STREETS_UNSERVED = "compounds_unserved", "streets_unserved"


def base_row(rule: Rule) -> SummaryRow:
    """The summary row of a rule with the columns every row starts with (names, clause)."""
    return SummaryRow(id=rule.id, kind=rule.kind, name_zh=rule.name_zh, name_en=rule.name_en, clause=rule.clause)


def warn_missing(rule: Rule, ctx: Context, selector, what: str = "facility") -> None:
    """Note (in ``report.notes`` and the log, never as a warning: it is a finding about the data) that
    no feature matches a rule's selector, or that the user's layer replacing them holds none: the
    rule becomes an all-gap.
    """
    user = next((k for k in (f"{rule.id}.{what}", rule.id) if k in ctx.user_facilities), None)
    what_zh = next((c.name_zh for c in rule.categories if c.name == what and c.name_zh), "")
    if user is not None:
        msg = Note("facility.none_user", rule=rule.id, key=user, what=what, what_zh=what_zh)
    else:
        msg = Note("facility.none", rule=rule.id, what=what, what_zh=what_zh, selector=describe(selector))
    note(ctx, msg)


def note(ctx: Context, msg: Note | str) -> None:
    """Add a finding about the data (a :class:`~urbancover.present.Note`) to the evaluation's notes
    (once) and log it.
    """
    if msg not in ctx.notes:
        ctx.notes.append(msg)
        log.info(msg)


def place_status(
    net_m: np.ndarray, thresholds: np.ndarray, has_facility: np.ndarray, tolerance: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """``(status, over_by_m)`` per row of a (places x checks) distance array (see :data:`STATUSES`).

    A place is ``served`` when every check is within its threshold (at most threshold +
    ``tolerance``); otherwise its status is the worst check's: ``no facility`` (a category with no
    facility) before ``no path`` (no facility reachable) before ``beyond``. ``over_by_m`` is the
    largest finite excess over a threshold when the status is ``beyond``, else NaN.
    """
    thresholds = np.asarray(thresholds, dtype=float)
    net_m = np.asarray(net_m, dtype=float).reshape(-1, len(thresholds))
    beyond = net_m > thresholds + tolerance
    nofac = beyond & ~np.asarray(has_facility, bool)[None, :]
    nopath = beyond & np.isinf(net_m) & ~nofac
    status = np.where(nofac.any(axis=1), "no facility",
                      np.where(nopath.any(axis=1), "no path", np.where(beyond.any(axis=1), "beyond", "served")))
    excess = np.where(beyond & np.isfinite(net_m), net_m - thresholds, -np.inf).max(axis=1, initial=-np.inf)
    over = np.where(status == "beyond", excess, np.nan)
    return status.astype(object), over


def finite(a: np.ndarray) -> np.ndarray:
    """Distances with ``inf`` (nothing reachable) as NaN: files turn ``inf`` into NULL anyway, and
    the ``status`` column says why.
    """
    a = np.asarray(a, dtype=float)
    return np.where(np.isfinite(a), a, np.nan)


def no_compound_null(compound: np.ndarray) -> pd.arrays.IntegerArray:
    """Rows of compounds (-1: in none) as pandas' nullable ``Int64``, ``<NA>`` (a file's NULL) for none."""
    compound = np.asarray(compound)
    return pd.array(np.where(compound >= 0, compound, None), dtype="Int64")


def one_geometry_type(gdf: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """A layer split by geometry family: ``{"points": ..., "lines": ..., "areas": ...}`` (non-empty
    families only; multi-geometries go with their family).
    """
    dims = shapely.get_dimensions(gdf.geometry.values) if len(gdf) else np.zeros(0, int)
    out = {}
    for dim, name in ((0, "points"), (1, "lines"), (2, "areas")):
        part = gdf[dims == dim]
        if len(part):
            out[name] = part.reset_index(drop=True)
    return out


@rule_kind("radius", "all_of")
def distance_rule(rule: Rule, ctx: Context) -> RuleResult:
    """Every place of the demand within the threshold of a facility of each category (kinds
    ``radius`` and ``all_of``): shares by network and straight-line distance, unserved layers.
    """
    m = measure(rule, ctx)
    for c in m.checks:
        if len(c.facilities) == 0:
            warn_missing(rule, ctx, c.selector, what="facility" if len(m.checks) == 1 else c.name)
    checks = m.checks
    row = base_row(rule)
    many = len(checks) > 1
    row["threshold_m"] = np.nan if many else checks[0].threshold
    row["thresholds"] = ", ".join(f"{c.name} {c.threshold:g} m" for c in checks)
    row["facilities"] = m.n_facilities
    result = RuleResult(rule=rule, summary=row, measurement=m)
    facilities = gpd.GeoDataFrame(
        pd.concat([c.facilities[["geometry"]].assign(category=c.name, osmid=c.facilities["osmid"], name=c.facilities["name"])
                   for c in checks]), geometry="geometry", crs=ctx.crs).reset_index(drop=True)
    dims = shapely.get_dimensions(facilities.geometry.values) if len(facilities) else np.zeros(0, int)
    # one geometry type per layer: points (and lines: entrances, platforms, as their middle point)
    # in one layer, polygons (parks, squares) in another, both always present
    points = facilities[dims < 2].copy()
    geoms = points.geometry.values.copy()
    line = dims[dims < 2] == 1
    geoms[line] = shapely.line_interpolate_point(geoms[line], 0.5, normalized=True)
    points["geometry"] = geoms
    areas = facilities[dims == 2].copy()
    areas["area_m2"] = shapely.area(areas.geometry.values)
    result.layers[FACILITIES_POINTS] = gpd.GeoDataFrame(points, geometry="geometry", crs=ctx.crs).reset_index(drop=True)
    result.layers[FACILITIES_AREAS] = gpd.GeoDataFrame(areas, geometry="geometry", crs=ctx.crs).reset_index(drop=True)
    first = None
    for layer in rule.demand:
        served = _streets(m, ctx, result) if layer == "streets" else _places(layer, m, ctx, result)
        if first is None:
            first = (layer, served)
    layer, share = first
    row["measure"] = f"share of {layer.replace('_', ' ')} served"
    row["value"] = share
    row["target"] = rule.target
    row["target_text"] = f">= {rule.target:.0%}"
    if np.isnan(share):  # undetermined (PLAN_RULES section F): no demand to serve, never a pass
        only_old = rule.params.get("homes_in") == "old_compounds"
        unit = "street" if layer == "streets" else LAYER_UNITS[layer]
        row.decide(Verdict.UNDETERMINED,
                   Note("reason.nothing_to_serve", unit=unit, old=only_old and layer != "streets"))
    else:
        row.decide(Verdict.of(share >= rule.target - 1e-12))
    if "residential_buildings" in rule.demand or "residents" in rule.demand:
        result.layers.later(GAPS, partial(gap_polygons, ctx, m))  # (a partial pickles)
    if m.unmatched is not None:
        result.layers[UNMATCHED] = m.unmatched
        if len(m.unmatched):
            note(ctx, Note("facility.unmatched", rule=rule.id, n=len(m.unmatched)))
    return result


def _places(layer: str, m: Measurement, ctx: Context, result: RuleResult) -> float:
    """Network and straight-line shares of a place layer; adds its unserved layer; returns the share."""
    p = m.places[layer]
    checks = m.checks
    only_old = m.rule.params.get("homes_in") == "old_compounds"
    feats, w = p.features, p.weights
    net_d, line_d = p.network_m, p.straight_m
    limits = m.limits  # threshold + the rule's tolerance
    miss = net_d > limits
    net_ok = ~miss.any(axis=1)
    line_ok = (line_d <= limits).all(axis=1)
    label = LAYER_UNITS[layer]
    total = p.total
    if total == 0:
        note(ctx, Note("demand.none", rule=result.rule.id, unit=label, old=only_old))
    share = float(w[net_ok].sum() / total) if total > 0 else np.nan
    places = [d for d in result.rule.demand if d != "streets"]
    if layer == ("residential_buildings" if "residential_buildings" in places else places[0]):
        # places no facility can reach at all (another part of a disconnected network, or too far
        # from every street to be placed on it): unserved, and said so rather than hidden in a share
        cut = np.zeros(len(p), bool)
        for k, c in enumerate(checks):
            if len(c.facilities):
                cut |= np.isinf(net_d[:, k])
        if cut.any():
            note(ctx, Note("demand.unreachable", rule=result.rule.id, n=int(cut.sum()), total=len(p), unit=label))
    row = result.summary
    served = row.share(label)
    served.size = total if layer == "residents" else len(p)
    served.served = share
    served.straight = float(w[line_ok].sum() / total) if total > 0 else np.nan
    if p.no_walls_m is not None:
        _walls(layer, p, limits, label, total, ctx, result)
    if layer == "residents":
        if not only_old and len(feats) == len(ctx.population):
            result.residents_served = net_ok
        if len(checks) > 1 and total > 0:
            lack = (w[:, None] * miss).sum(axis=0) / total
            lacking = [Note("missing.share", what=c.name, what_zh=c.name_zh or c.name, share=v)
                       for c, v in zip(checks, lack) if v > 0]
            row["missing"] = Note("detail.list", items=lacking) if lacking else "none"
    if layer == "compounds" and not only_old:
        result.compound_served = net_ok
    made = partial(place_layer, m, layer, ~net_ok, osm_tags=ctx.osm_tags, walking=ctx.walk,
                   homes=ctx.homes if layer == "residents" else None)
    if layer in ("residential_buildings", "compounds") or (layer == "residents" and "residential_buildings" not in result.rule.demand):
        name = {"residents": RESIDENTS_UNSERVED, "residential_buildings": HOMES_UNSERVED}.get(layer, COMPOUNDS_UNSERVED)
        result.layers.later(name, made, rows=int((~net_ok).sum()))
    if layer == "residents" and "residential_buildings" not in result.rule.demand:
        # the same name whatever the demand: a rule of residents also lists its unserved homes
        # (measured at the same points when first read)
        result.layers.later(HOMES_UNSERVED, partial(unserved_homes, m, ctx))
    return share


def unserved_homes(m: Measurement, ctx: Context) -> gpd.GeoDataFrame:
    """The ``homes_unserved`` layer of a rule whose demand is residents only: its homes
    (:func:`urbancover.evaluation.measure.home_places`) not served.
    """
    homes = home_places(m, ctx)
    miss = ~(homes.network_m <= m.limits).all(axis=1)
    return place_layer(m, "residential_buildings", miss, osm_tags=ctx.osm_tags, walking=ctx.walk, places=homes)


def _walls(layer: str, p, limits: np.ndarray, label: str, total: float, ctx: Context, result: RuleResult) -> None:
    """What walls, water and railways cost a place layer (PLAN_RULES rev 3, section G): how many
    places are behind them, the share served if their legs could cross them, and the metres they
    add (median over the places behind barriers that reach a facility either way, the largest
    over the checks). Only when the network carries barriers.
    """
    behind = p.behind
    w = p.weights
    row = result.summary
    ok = (p.no_walls_m <= limits).all(axis=1)  # within each threshold + the rule's tolerance
    row[f"{label}_behind_walls"] = float(w[behind].sum()) if layer == "residents" else int(behind.sum())
    row[f"{label}_served_no_walls"] = float(w[ok].sum() / total) if total > 0 else np.nan
    with np.errstate(invalid="ignore"):  # (inf - inf: no path either way)
        added = (p.network_m - p.no_walls_m)[behind]
    fin = np.isfinite(added).all(axis=1) if added.size else np.zeros(0, dtype=bool)
    row[f"{label}_walls_add_m"] = float(np.median(added[fin].max(axis=1))) if fin.any() else np.nan
    if behind.any():
        no_path = int((behind & (p.snapped.edge < 0)).sum())
        d = added[fin].max(axis=1) if fin.any() else np.zeros(0)
        residents = layer == "residents"
        note(ctx, Note("walls.behind", rule=result.rule.id, residents=residents, label=label,
                       behind=float(w[behind].sum()) if residents else int(behind.sum()),
                       total=float(total) if residents else len(p), reached=bool(len(d)),
                       median=float(np.median(d)) if len(d) else 0.0, farther=int((d > 0.05).sum()),
                       nearer=int((d < -0.05).sum()), no_path=no_path))


def place_layer(m: Measurement, layer: str, rows: np.ndarray, *, osm_tags: bool = False, walking: WalkingTime | None = None,
                homes: gpd.GeoDataFrame | None = None, places: DemandPlaces | None = None) -> gpd.GeoDataFrame:
    """The places of a demand layer selected by ``rows`` (boolean), with their distances, ``status``
    and ``over_by_m`` (see the module docstring); OSM tag columns only with ``osm_tags``.

    ``walking``: the rule set's minutes (``network_min`` beside ``network_m``; default the shipped
    preset's table). ``homes``: the evaluation's homes, for residents estimated from them (each
    point then carries its home's ``osmid`` and ``name``). ``places``: the places measured, when not
    the measurement's own (:func:`urbancover.evaluation.measure.home_places`).
    """
    p = m.places[layer] if places is None else places
    walking = walking if walking is not None else walking_time()
    checks = m.checks
    many = len(checks) > 1
    feats = p.features
    if layer == "residential_buildings" and not osm_tags:
        levels = pd.to_numeric(feats["building:levels"], errors="coerce") if "building:levels" in feats else np.nan
        feats = feats.assign(levels=levels)
        feats = feats[[c for c in HOME_COLUMNS if c in feats] + [feats.geometry.name]]
    else:
        if homes is not None and "home" in feats and not osm_tags:  # residents at homes: the home's id
            h = feats["home"].to_numpy()
            at = h >= 0
            for col in ("osmid", "name"):
                if col in homes and col not in feats:
                    v = np.full(len(h), None, dtype=object)
                    v[at] = homes[col].to_numpy()[h[at]]
                    feats = feats.assign(**{col: v})
        feats = feats.drop(columns=[c for c in ("tags", "demand_source", "home") if c in feats])
    if "compound" in feats:  # no compound: NULL (pandas <NA>), not -1
        feats = feats.assign(compound=no_compound_null(feats["compound"].to_numpy()))
    has = np.array([len(c.facilities) > 0 for c in checks])
    tol = float(m.rule.tolerance)
    status, over = place_status(p.network_m, m.thresholds, has, tol)
    cols = {}
    for k, c in enumerate(checks):
        suffix = f"_{c.name}" if many else ""
        cols[f"network_m{suffix}"] = finite(p.network_m[:, k])
        cols[f"network_min{suffix}"] = walking.minutes(cols[f"network_m{suffix}"])
        cols[f"straight_m{suffix}"] = finite(p.straight_m[:, k])
        if p.no_walls_m is not None:
            cols[f"no_walls_m{suffix}"] = finite(p.no_walls_m[:, k])
        if many:
            cols[f"status_{c.name}"] = place_status(p.network_m[:, [k]], m.thresholds[[k]], has[[k]], tol)[0]
    cols["status"] = status
    cols["over_by_m"] = over
    if p.no_walls_m is not None:
        cols["behind_walls"] = p.behind
    if many:
        beyond = p.network_m > m.limits
        cols["missing"] = np.array([", ".join(c.name for c, b in zip(checks, row) if b) for row in beyond], dtype=object)
    out = feats.assign(**cols)
    return out.loc[np.asarray(rows, bool)].reset_index(drop=True)


def _streets(m: Measurement, ctx: Context, result: RuleResult) -> float:
    """Exact shares of street length served; adds the unserved street pieces (made when read);
    returns the share.
    """
    rule, demand = m.rule, m.streets
    covered = intervals.intersect(demand, m.covered())
    straight = intervals.intersect(demand, m.covered_straight())
    length = intervals.total(demand)
    covered_m, straight_m = intervals.total(covered), intervals.total(straight)
    roads = m.roads
    if roads is not None:  # roads not walkable themselves, measured from the nearest walkable point
        length += roads.total
        covered_m += float(roads.length[(roads.network_m <= m.limits).all(axis=1)].sum())
        straight_m += float(roads.length[(roads.straight_m <= m.limits).all(axis=1)].sum())
        note(ctx, Note("streets.not_walkable", rule=rule.id, km=roads.total / 1000, step=ctx.settings.road_piece_m))
    share = covered_m / length if length > 0 else np.nan
    row = result.summary
    served = row.share("street")
    served.size = length / 1000.0
    served.served = share
    served.straight = straight_m / length if length > 0 else np.nan
    if length == 0:
        note(ctx, Note("streets.none", rule=rule.id))
    result.layers.later(STREETS_UNSERVED, partial(streets_layer, m, covered, walking=ctx.walk))
    return share


def streets_layer(m: Measurement, covered: intervals.Intervals, *, walking: WalkingTime | None = None) -> gpd.GeoDataFrame:
    """The unserved pieces of a rule's street demand (``covered``: the demand's covered intervals),
    the ``streets_unserved`` layer (see the module docstring); ``walking``: the rule set's minutes
    (``network_min_from``/``_to`` beside the metres; default the shipped preset's table).
    """
    walking = walking if walking is not None else walking_time()
    checks, demand, roads = m.checks, m.streets, m.roads
    net = checks[0].field.network
    # uncovered = demand minus covered
    edge, start, end = intervals.intersect(intervals.complement(*covered, net.length), demand)
    has = np.array([len(c.facilities) > 0 for c in checks])
    d_from, d_to = m.along(edge, start), m.along(edge, end)
    # the largest distance along each piece: the distance along an edge is concave between its
    # facilities' points, so sample it finely (ends and 9 points inside) for the excess
    samples = [d_from, d_to] + [m.along(edge, start + f * (end - start)) for f in np.linspace(0.1, 0.9, 9)]
    worst = np.maximum.reduce(samples) if len(edge) else np.zeros((0, len(checks)))
    status, over = place_status(worst, m.thresholds, has, float(m.rule.tolerance))
    cols = {
        "edge": edge,
        "start_m": start,
        "end_m": end,
        "length_m": end - start,
        "highway": net.edge_values("highway", edge),
        "name": net.edge_values("name", edge),
    }
    for k, c in enumerate(checks):
        suffix = f"_{c.name}" if len(checks) > 1 else ""
        cols[f"network_m_from{suffix}"] = finite(d_from[:, k])
        cols[f"network_m_to{suffix}"] = finite(d_to[:, k])
        cols[f"network_min_from{suffix}"] = walking.minutes(cols[f"network_m_from{suffix}"])
        cols[f"network_min_to{suffix}"] = walking.minutes(cols[f"network_m_to{suffix}"])
    cols["status"] = status
    cols["over_by_m"] = over
    layer = gpd.GeoDataFrame(cols, geometry=line_substrings(net.lines(edge), start, end), crs=net.crs)
    if roads is not None:  # pieces of roads that are not walkable, measured at their middles
        off = ~(roads.network_m <= m.limits).all(axis=1)
        r_status, r_over = place_status(roads.network_m[off], m.thresholds, has, float(m.rule.tolerance))
        extra = {"edge": np.full(int(off.sum()), -1), "start_m": np.nan, "end_m": np.nan, "length_m": roads.length[off],
                 "highway": roads.highway[off], "name": roads.name[off]}
        for k, c in enumerate(checks):
            suffix = f"_{c.name}" if len(checks) > 1 else ""
            extra[f"network_m_from{suffix}"] = finite(roads.network_m[off, k])
            extra[f"network_m_to{suffix}"] = finite(roads.network_m[off, k])
            extra[f"network_min_from{suffix}"] = walking.minutes(extra[f"network_m_from{suffix}"])
            extra[f"network_min_to{suffix}"] = walking.minutes(extra[f"network_m_to{suffix}"])
        extra["status"], extra["over_by_m"] = r_status, r_over
        pieces = gpd.GeoDataFrame(extra, geometry=roads.geometry[off], crs=net.crs)
        layer = gpd.GeoDataFrame(pd.concat([layer, pieces], ignore_index=True), geometry="geometry", crs=net.crs)
    return layer


def gap_polygons(ctx: Context, m: Measurement, cell: float | None = None) -> gpd.GeoDataFrame:
    """Residential land (compounds and home footprints in the area) farther than the threshold.

    The land is sampled with the evaluation's grid of ``cell`` metres (:func:`urbancover.evaluation.measure.gap_cells`,
    built once for every rule); a cell is a gap when its centre misses any check; gap cells are merged
    and cut to the land. O(C) per rule for C cells on residential land, plus the union of its gap cells.
    """
    grid = gap_cells(ctx, cell)
    empty = gpd.GeoDataFrame({"area_m2": []}, geometry=gpd.GeoSeries([], crs=ctx.crs), crs=ctx.crs)
    if len(grid) == 0:
        return empty
    gap = np.zeros(len(grid), bool)
    centres = cache(grid.centres)  # points made only for a field with polygon facilities, once
    for c in m.checks:
        gap |= c.field.at_snapped(grid.snapped, geoms=centres) > c.limit
    if not gap.any():
        return empty
    geom = shapely.intersection(shapely.coverage_union_all(grid.boxes(gap)), grid.land)
    parts = shapely.get_parts(geom)
    parts = parts[shapely.get_dimensions(parts) == 2]
    return gpd.GeoDataFrame({"area_m2": shapely.area(parts)}, geometry=parts, crs=ctx.crs)
