"""Coverage tables and gap layers of the distance rules: who is not served, by network and by
straight-line distance.

Every distance kind (``radius``: the nearest facility of one category within a threshold;
``all_of``: a facility of *every* category within its own threshold, the 10-minute living circle,
reporting which categories each place is missing) is evaluated by one function,
:func:`distance_rule`, from the rule's :class:`~urbancover.measure.Measurement`.

Demand layers: ``residents`` (weighted points), ``residential_buildings``, ``compounds`` and
``streets`` (exact covered length per edge). Every measure is given by network distance and, beside
it, by straight-line distance.

Layers of a distance rule (``RuleResult.layers``), one geometry type each, no infinities:

* ``homes_unserved`` / ``residents_unserved`` / ``compounds_unserved``: the places not served, with
  ``network_m`` and ``straight_m`` (metres to the nearest facility; ``network_m_<category>`` and
  ``straight_m_<category>`` for an ``all_of`` rule), ``status`` (see :data:`STATUSES`), ``over_by_m``
  (how far beyond the threshold; NaN unless ``status == "beyond"``) and, for ``all_of``,
  ``status_<category>`` and ``missing``. When the extract has barriers (walls, water, railways:
  PLAN_RULES rev 3, section G), also ``no_walls_m`` (``no_walls_m_<category>``: the distance if the
  place's own access leg could cross them) and ``behind_walls``; the summary then has
  ``<unit>_behind_walls``, ``<unit>_served_no_walls`` and ``<unit>_walls_add_m`` (median metres).
  Homes keep ``osmid``, ``element``, ``name``, ``building``,
  ``levels`` (tagged floors), ``compound`` and ``residents``; every OSM tag column only with
  ``evaluate(..., osm_tags=True)``.
* ``streets_unserved``: unserved pieces of street demand (LineStrings): ``edge``, ``start_m`` and
  ``end_m`` along it (from its ``u`` end), ``length_m``, ``highway``, ``name``, ``network_m_from`` and
  ``network_m_to`` (distance at the piece's two ends), ``status`` and ``over_by_m`` (the largest
  excess along the piece).
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

from urbancover import intervals, settings
from urbancover.context import Context
from urbancover.measure import LAYER_UNITS, Measurement, gap_cells, measure
from urbancover.network import line_substrings
from urbancover.rules import Rule
from urbancover.selectors import describe

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
        raise KeyError(name)

    def peek(self, name: str):
        """The layer ``name``, made now if it is not, without keeping it."""
        if name in self._made:
            return self._made[name]
        if name in self._later:
            return self._later[name]()
        raise KeyError(name)

    def __getitem__(self, name: str):
        if name not in self._made:
            if name not in self._later:
                raise KeyError(name)
            self._made[name] = self._later.pop(name)()
        return self._made[name]

    def __setitem__(self, name: str, layer) -> None:
        self._later.pop(name, None)
        self._made[name] = layer
        if name not in self._order:
            self._order.append(name)

    def __delitem__(self, name: str) -> None:
        if name not in self._made and name not in self._later:
            raise KeyError(name)
        self._made.pop(name, None)
        self._later.pop(name, None)
        self._order.remove(name)

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

    ``measurement`` is what a distance rule measured (:class:`urbancover.measure.Measurement`; None for
    other kinds): maps, reports, siting and zones read it. ``compound_served`` (bool per compound of
    the context) and ``residents_served`` (bool per population point) are set by distance rules;
    they feed the per-compound and per-unit tables.
    """

    rule: Rule
    summary: dict
    layers: Layers = field(default_factory=Layers)
    compound_served: np.ndarray | None = None
    residents_served: np.ndarray | None = None
    measurement: Measurement | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.layers, Layers):
            self.layers = Layers(self.layers)

    def __repr__(self) -> str:
        from urbancover.display import result_repr

        return result_repr(self)

    def _repr_html_(self) -> str:
        from urbancover.display import result_html

        return result_html(self)



def base_row(rule: Rule) -> dict:
    """The columns every summary row starts with."""
    return {"id": rule.id, "kind": rule.kind, "name_zh": rule.name_zh, "name_en": rule.name_en, "clause": rule.clause}


def warn_missing(rule: Rule, ctx: Context, selector, what: str = "facility") -> None:
    """Note (in ``report.notes`` and the log, never as a warning: it is a finding about the data) that
    no feature matches a rule's selector, or that the user's layer replacing them holds none: the
    rule becomes an all-gap.
    """
    user = next((k for k in (f"{rule.id}.{what}", rule.id) if k in ctx.user_facilities), None)
    if user is not None:
        msg = f"{rule.id}: the user's layer facilities[{user!r}] gives no {what}; reported as a gap everywhere."
    else:
        msg = f"{rule.id}: no {what} in the data matches {describe(selector)}; reported as a gap everywhere."
    note(ctx, msg)


def note(ctx: Context, msg: str) -> None:
    """Add a finding about the data to the evaluation's notes (once) and log it."""
    if msg not in ctx.notes:
        ctx.notes.append(msg)
        log.info(msg)


def place_status(net_m: np.ndarray, thresholds: np.ndarray, has_facility: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(status, over_by_m)`` per row of a (places x checks) distance array (see :data:`STATUSES`).

    A place is ``served`` when every check is within its threshold; otherwise its status is the
    worst check's: ``no facility`` (a category with no facility) before ``no path`` (no facility
    reachable) before ``beyond``. ``over_by_m`` is the largest finite excess over a threshold when
    the status is ``beyond``, else NaN.
    """
    thresholds = np.asarray(thresholds, dtype=float)
    net_m = np.asarray(net_m, dtype=float).reshape(-1, len(thresholds))
    beyond = net_m > thresholds
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
    result.layers["facilities_points"] = gpd.GeoDataFrame(points, geometry="geometry", crs=ctx.crs).reset_index(drop=True)
    result.layers["facilities_areas"] = gpd.GeoDataFrame(areas, geometry="geometry", crs=ctx.crs).reset_index(drop=True)
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
    row["passed"] = None if np.isnan(share) else bool(share >= rule.target - 1e-12)
    if row["passed"] is None:  # undetermined (PLAN_RULES section F): no demand to serve, never a pass
        only_old = rule.params.get("homes_in") == "old_compounds"
        what = "street of the rule's street demand" if layer == "streets" else LAYER_UNITS[layer].replace("_", " ")
        row["reason"] = f"no {what}{' in old compounds' if only_old and layer != 'streets' else ''} in the area: nothing to serve"
    if "residential_buildings" in rule.demand or "residents" in rule.demand:
        result.layers.later("gaps", partial(gap_polygons, ctx, m))  # (a partial pickles)
    if m.unmatched is not None:
        result.layers["unmatched"] = m.unmatched
        if len(m.unmatched):
            note(ctx, f"{rule.id}: {len(m.unmatched)} facilities count for no category (e.g. schools of unknown "
                      "level); they are listed in the layer 'unmatched' for checking.")
    return result


def _places(layer: str, m: Measurement, ctx: Context, result: RuleResult) -> float:
    """Network and straight-line shares of a place layer; adds its unserved layer; returns the share."""
    p = m.places[layer]
    checks = m.checks
    only_old = m.rule.params.get("homes_in") == "old_compounds"
    feats, w = p.features, p.weights
    net_d, line_d = p.network_m, p.straight_m
    thresholds = m.thresholds
    miss = net_d > thresholds
    net_ok = ~miss.any(axis=1)
    line_ok = (line_d <= thresholds).all(axis=1)
    label = LAYER_UNITS[layer]
    total = p.total
    if total == 0:
        which = f"{label} in old compounds" if only_old else label
        note(ctx, f"{result.rule.id}: no {which} in the area; its share is undefined (NaN).")
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
            note(
                ctx,
                f"{result.rule.id}: {int(cut.sum())} of {len(p)} {label} cannot reach any facility along the walking "
                "network (they lie on a part of it joined to none, or too far from every street); they count as unserved."
            )
    row = result.summary
    row[label] = total if layer == "residents" else len(p)
    row[f"{label}_served"] = share
    row[f"{label}_served_straight"] = float(w[line_ok].sum() / total) if total > 0 else np.nan
    if p.no_walls_m is not None:
        _walls(layer, p, thresholds, label, total, ctx, result)
    if layer == "residents":
        if not only_old and len(feats) == len(ctx.population):
            result.residents_served = net_ok
        if len(checks) > 1 and total > 0:
            lack = (w[:, None] * miss).sum(axis=0) / total
            row["missing"] = "; ".join(f"{c.name} {v:.0%}" for c, v in zip(checks, lack) if v > 0) or "none"
    if layer == "compounds" and not only_old:
        result.compound_served = net_ok
    if layer in ("residential_buildings", "compounds") or (layer == "residents" and "residential_buildings" not in result.rule.demand):
        name = {"residents": "residents_unserved", "residential_buildings": "homes_unserved"}.get(layer, "compounds_unserved")
        result.layers.later(name, partial(place_layer, m, layer, ~net_ok, osm_tags=ctx.osm_tags), rows=int((~net_ok).sum()))
    return share


def _walls(layer: str, p, thresholds: np.ndarray, label: str, total: float, ctx: Context, result: RuleResult) -> None:
    """What walls, water and railways cost a place layer (PLAN_RULES rev 3, section G): how many
    places are behind them, the share served if their legs could cross them, and the metres they
    add (median over the places behind barriers that reach a facility either way, the largest
    over the checks). Only when the network carries barriers.
    """
    behind = p.behind
    w = p.weights
    row = result.summary
    ok = (p.no_walls_m <= thresholds).all(axis=1)
    row[f"{label}_behind_walls"] = float(w[behind].sum()) if layer == "residents" else int(behind.sum())
    row[f"{label}_served_no_walls"] = float(w[ok].sum() / total) if total > 0 else np.nan
    with np.errstate(invalid="ignore"):  # (inf - inf: no path either way)
        added = (p.network_m - p.no_walls_m)[behind]
    fin = np.isfinite(added).all(axis=1) if added.size else np.zeros(0, dtype=bool)
    row[f"{label}_walls_add_m"] = float(np.median(added[fin].max(axis=1))) if fin.any() else np.nan
    if behind.any():
        no_path = int((behind & (p.snapped.edge < 0)).sum())
        d = added[fin].max(axis=1) if fin.any() else np.zeros(0)
        what = (f"{w[behind].sum():,.0f} of {total:,.0f} residents" if layer == "residents"
                else f"{int(behind.sum())} of {len(p)} {label}")
        change = (f"their walk changes by a median {np.median(d):+.0f} m ({int((d > 0.05).sum())} walk farther, "
                  f"{int((d < -0.05).sum())} less far: the nearest street they reach may lead more directly)"
                  if len(d) else "none of them reaches a facility either way")
        note(ctx, f"{result.rule.id}: {what} lie behind walls, water or railways (their straight way to the nearest "
                  f"street crosses one); {change}"
                  + (f"; {no_path} reach no street or gate within the snap limit (no path)" if no_path else "") + ".")


def place_layer(m: Measurement, layer: str, rows: np.ndarray, *, osm_tags: bool = False) -> gpd.GeoDataFrame:
    """The places of a demand layer selected by ``rows`` (boolean), with their distances, ``status``
    and ``over_by_m`` (see the module docstring); OSM tag columns only with ``osm_tags``.
    """
    p = m.places[layer]
    checks = m.checks
    many = len(checks) > 1
    feats = p.features
    if layer == "residential_buildings" and not osm_tags:
        levels = pd.to_numeric(feats["building:levels"], errors="coerce") if "building:levels" in feats else np.nan
        feats = feats.assign(levels=levels)
        feats = feats[[c for c in HOME_COLUMNS if c in feats] + [feats.geometry.name]]
    else:
        feats = feats.drop(columns=[c for c in ("tags", "demand_source", "home") if c in feats])
    has = np.array([len(c.facilities) > 0 for c in checks])
    status, over = place_status(p.network_m, m.thresholds, has)
    cols = {}
    for k, c in enumerate(checks):
        suffix = f"_{c.name}" if many else ""
        cols[f"network_m{suffix}"] = finite(p.network_m[:, k])
        cols[f"straight_m{suffix}"] = finite(p.straight_m[:, k])
        if p.no_walls_m is not None:
            cols[f"no_walls_m{suffix}"] = finite(p.no_walls_m[:, k])
        if many:
            cols[f"status_{c.name}"] = place_status(p.network_m[:, [k]], m.thresholds[[k]], has[[k]])[0]
    cols["status"] = status
    cols["over_by_m"] = over
    if p.no_walls_m is not None:
        cols["behind_walls"] = p.behind
    if many:
        beyond = p.network_m > m.thresholds
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
        covered_m += float(roads.length[(roads.network_m <= m.thresholds).all(axis=1)].sum())
        straight_m += float(roads.length[(roads.straight_m <= m.thresholds).all(axis=1)].sum())
        note(ctx, f"{rule.id}: {roads.total / 1000:.2f} km of the streets are not walkable themselves (sidewalks mapped as "
                  f"separate ways): measured every {settings.road_piece_m:g} m from the nearest walkable point.")
    share = covered_m / length if length > 0 else np.nan
    row = result.summary
    row["street_km"] = length / 1000.0
    row["street_served"] = share
    row["street_served_straight"] = straight_m / length if length > 0 else np.nan
    if length == 0:
        note(ctx, f"{rule.id}: no street in the area matches the rule's street demand; share undefined.")
    result.layers.later("streets_unserved", partial(streets_layer, m, covered))
    return share


def streets_layer(m: Measurement, covered: intervals.Intervals) -> gpd.GeoDataFrame:
    """The unserved pieces of a rule's street demand (``covered``: the demand's covered intervals),
    the ``streets_unserved`` layer (see the module docstring).
    """
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
    status, over = place_status(worst, m.thresholds, has)
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
    cols["status"] = status
    cols["over_by_m"] = over
    layer = gpd.GeoDataFrame(cols, geometry=line_substrings(net.lines(edge), start, end), crs=net.crs)
    if roads is not None:  # pieces of roads that are not walkable, measured at their middles
        off = ~(roads.network_m <= m.thresholds).all(axis=1)
        r_status, r_over = place_status(roads.network_m[off], m.thresholds, has)
        extra = {"edge": np.full(int(off.sum()), -1), "start_m": np.nan, "end_m": np.nan, "length_m": roads.length[off],
                 "highway": roads.highway[off], "name": roads.name[off]}
        for k, c in enumerate(checks):
            suffix = f"_{c.name}" if len(checks) > 1 else ""
            extra[f"network_m_from{suffix}"] = finite(roads.network_m[off, k])
            extra[f"network_m_to{suffix}"] = finite(roads.network_m[off, k])
        extra["status"], extra["over_by_m"] = r_status, r_over
        pieces = gpd.GeoDataFrame(extra, geometry=roads.geometry[off], crs=net.crs)
        layer = gpd.GeoDataFrame(pd.concat([layer, pieces], ignore_index=True), geometry="geometry", crs=net.crs)
    return layer


def gap_polygons(ctx: Context, m: Measurement, cell: float | None = None) -> gpd.GeoDataFrame:
    """Residential land (compounds and home footprints in the area) farther than the threshold.

    The land is sampled with the evaluation's grid of ``cell`` metres (:func:`urbancover.measure.gap_cells`,
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
        gap |= c.field.at_snapped(grid.snapped, geoms=centres) > c.threshold
    if not gap.any():
        return empty
    geom = shapely.intersection(shapely.coverage_union_all(grid.boxes(gap)), grid.land)
    parts = shapely.get_parts(geom)
    parts = parts[shapely.get_dimensions(parts) == 2]
    return gpd.GeoDataFrame({"area_m2": shapely.area(parts)}, geometry=parts, crs=ctx.crs)
