"""The measurement core: what a rule measures, built once per evaluation and read by every output.

A distance rule (a kind with ``distance=True`` in :data:`urbancover.plan.rules.KINDS`) is measured by
:func:`measure`, once per evaluation, into a :class:`Measurement`:

* its **checks**: one per facility category (one for a ``radius`` rule), each with the facilities
  (the user's layer when one was given under the rule's id or ``rule.category``, else OSM's), the
  threshold, and the distance field of one Dijkstra pass (shared by every rule with the same
  facilities: the three toilet rules make one pass);
* its **demand places** per demand layer (residents, homes, compounds), snapped once per evaluation,
  with their network and straight-line distance to every check;
* its **street demand** as intervals along edges of the walking network, and, for roads that are
  not walkable themselves (main roads whose sidewalks are mapped as separate ways), as short pieces
  of their centre lines measured from the nearest walkable point (:class:`RoadPieces`).

The rule's summary and layers (:mod:`urbancover.evaluation.gaps`), the gap maps and the HTML report
(:mod:`urbancover.report`), the GeoPackage, siting (:mod:`urbancover.siting`) and the zone search
(:mod:`urbancover.zones`) all read ``report.results[rule_id].measurement``; none rebuilds it.

Adding a rule kind
------------------
One :class:`~urbancover.plan.rules.Kind` entry in :data:`urbancover.plan.rules.KINDS` (its rule-file
keys and flags) and one function ``(rule, ctx) -> RuleResult`` in the module of its family (``gaps``
for distance kinds, ``indicators`` for the others), registered with
``@urbancover.evaluation.kinds.rule_kind("name")``. A distance kind gets its measurement from :func:`measure`;
whether a kind is a distance kind is that entry's ``distance`` flag, never its name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urbancover.core import intervals
from urbancover.core.errors import InputError
from urbancover.engine import DistanceField, distance_field, straight_line_distance, straight_line_intervals
from urbancover.evaluation.context import Context
from urbancover.evaluation.demand import demand_points
from urbancover.network.snap import Places, Snapped, at_entrances
from urbancover.plan.features import dedupe_points_in_polygons
from urbancover.plan.rules import KINDS, Kind, Rule
from urbancover.plan.selectors import unmatched

Intervals = tuple[np.ndarray, np.ndarray, np.ndarray]

#: Demand layers made of places (the others, ``streets``, are lengths of street).
PLACE_LAYERS = ("residents", "residential_buildings", "compounds")

#: What each place layer counts, in summary columns and messages.
LAYER_UNITS = {"residents": "residents", "residential_buildings": "buildings", "compounds": "compounds", "streets": "street_m"}


@dataclass(frozen=True, eq=False)
class Check:
    """One facility category a place must reach within a threshold.

    Attributes
    ----------
    name : str
        The category's name (the rule id for a one-category rule).
    name_zh : str
        Its Chinese name, when the rule file gives one.
    threshold : float
        Metres.
    facilities : GeoDataFrame
        The facilities measured (network CRS): the user's layer when given, else OSM's.
    field : DistanceField
        Distance from every node to the nearest of them (no cut-off).
    user_key : str or None
        The key of :func:`urbancover.evaluate`'s ``facilities`` the layer came from, None for OSM.
    selector : tuple
        The OSM tag selector of the category.
    tolerance : float
        Metres a distance may exceed ``threshold`` and still be within it (the rule's tolerance).
    """

    name: str
    name_zh: str
    threshold: float
    facilities: gpd.GeoDataFrame
    field: DistanceField
    user_key: str | None
    selector: tuple
    tolerance: float = 0.0

    @property
    def limit(self) -> float:
        """The largest distance within the threshold: ``threshold + tolerance`` (metres)."""
        return self.threshold + self.tolerance


@dataclass(frozen=True, eq=False)
class DemandPlaces:
    """The places of one demand layer as a rule counts them, snapped onto the network.

    ``network_m`` and ``straight_m`` are (places x checks) distances in metres; ``inf`` where a place
    cannot reach any facility of a check.

    ``no_walls_m`` (None when the network carries no barriers): ``network_m`` as it would be if the
    places' own access legs could cross walls, water and railways (PLAN_RULES rev 3, section G);
    it differs from ``network_m`` only for the places ``snapped.behind`` (behind a barrier), whose
    walk through their gates it compares with the walk a wall-blind snap would give.
    """

    layer: str
    features: gpd.GeoDataFrame
    points: np.ndarray
    weights: np.ndarray
    snapped: Snapped
    network_m: np.ndarray
    straight_m: np.ndarray
    no_walls_m: np.ndarray | None = None

    @property
    def behind(self) -> np.ndarray:
        """Boolean per place: behind a barrier (its straight leg to the nearest street crosses one)."""
        b = self.snapped.behind
        return np.zeros(len(self.points), dtype=bool) if b is None else b

    def __len__(self) -> int:
        return len(self.points)

    @property
    def total(self) -> float:
        """All the demand's weight (residents, or one per building or compound)."""
        return float(self.weights.sum())


@dataclass(frozen=True, eq=False)
class RoadPieces:
    """Street demand on roads that are not walkable themselves (their sidewalks are mapped as separate
    ways, or pedestrians are kept off the carriageway): the road centre lines of the rule's
    ``streets`` selector cut into pieces of at most :data:`settings.road_piece_m` metres, each
    measured at its middle from the nearest walkable point (access leg + walk). ``network_m`` and
    ``straight_m`` are (pieces x checks).
    """

    geometry: np.ndarray
    length: np.ndarray
    highway: np.ndarray
    name: np.ndarray
    network_m: np.ndarray
    straight_m: np.ndarray

    def __len__(self) -> int:
        return len(self.geometry)

    @property
    def total(self) -> float:
        """Metres of road."""
        return float(self.length.sum())


@dataclass(eq=False)
class Measurement:
    """What a distance rule measures (see the module docstring). Built by :func:`measure`."""

    rule: Rule
    kind: Kind
    checks: tuple[Check, ...]
    places: dict[str, DemandPlaces] = field(default_factory=dict)
    streets: Intervals | None = None
    roads: RoadPieces | None = None
    #: features of the rule's ``list_unmatched`` pool that no category takes (schools of unknown
    #: level: they count for no category and are listed for the planner to check), or None
    unmatched: gpd.GeoDataFrame | None = None

    @property
    def thresholds(self) -> np.ndarray:
        """The checks' thresholds (metres)."""
        return np.array([c.threshold for c in self.checks], dtype=float)

    @property
    def limits(self) -> np.ndarray:
        """The checks' largest distances within their thresholds, ``threshold + tolerance`` (metres):
        what every "within" of the rule compares with.
        """
        return np.array([c.limit for c in self.checks], dtype=float)

    @property
    def n_facilities(self) -> int:
        """Facilities measured, over all checks."""
        return int(sum(len(c.facilities) for c in self.checks))

    def served(self, layer: str) -> np.ndarray:
        """Boolean per place of ``layer``: every check within its threshold along the network."""
        return (self.places[layer].network_m <= self.limits).all(axis=1)

    def along(self, edge: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """(points x checks) network distance of points on edges (``offset`` metres from ``u``)."""
        return np.column_stack([c.field.along(edge, offset) for c in self.checks])

    def covered(self) -> Intervals:
        """Street intervals within every check's threshold (exact, partial edges included)."""
        out = None
        for c in self.checks:
            cov = c.field.covered_intervals(c.limit)
            out = cov if out is None else intervals.intersect(out, cov)
        return out

    def sweep(self, thresholds) -> pd.DataFrame:
        """Shares served at other thresholds, read from the same distances (no new search).

        Each value of ``thresholds`` (metres) replaces the threshold of every check (the rule's
        tolerance is added, as to the rule's own threshold). Returns one
        row per threshold (index ``threshold_m``) with, per demand layer, the share served by
        network and by straight-line distance (``<unit>_served``, ``<unit>_served_straight``).
        O(P k) per threshold for P places, plus the street intervals of each field.
        """
        values = np.asarray(list(thresholds), dtype=float)
        if values.ndim != 1 or len(values) == 0 or not np.isfinite(values).all() or (values < 0).any():
            raise InputError(f"thresholds: need finite distances >= 0 in metres, got {list(thresholds)!r}.")
        rows = []
        tol = float(self.rule.tolerance)
        for t in values:
            row = {"threshold_m": float(t)}
            t = t + tol
            for layer, p in self.places.items():
                unit = LAYER_UNITS[layer]
                total = p.total
                for suffix, d in (("", p.network_m), ("_straight", p.straight_m)):
                    ok = (d <= t).all(axis=1)
                    row[f"{unit}_served{suffix}"] = float(p.weights[ok].sum() / total) if total > 0 else np.nan
            if self.streets is not None:
                length = intervals.total(self.streets)
                covered = self.streets
                for c in self.checks:
                    covered = intervals.intersect(covered, c.field.covered_intervals(t))
                covered_m = intervals.total(covered)
                if self.roads is not None:
                    length += self.roads.total
                    covered_m += float(self.roads.length[(self.roads.network_m <= t).all(axis=1)].sum())
                row["street_served"] = covered_m / length if length > 0 else np.nan
            rows.append(row)
        return pd.DataFrame(rows).set_index("threshold_m")

    def covered_straight(self) -> Intervals:
        """Street intervals within every check's threshold by straight-line distance."""
        net = self.checks[0].field.network
        out = None
        for c in self.checks:
            cov = straight_line_intervals(net, c.facilities, c.limit)
            out = cov if out is None else intervals.intersect(out, cov)
        return out


def kind_of(rule: Rule) -> Kind:
    """The :class:`~urbancover.plan.rules.Kind` of a rule."""
    return KINDS[rule.kind]


def user_key(rule: Rule, ctx: Context, category: str | None = None) -> str | None:
    """The ``facilities`` key of :func:`urbancover.evaluate` that replaces a category's OSM
    facilities (``rule.category``, then the rule id), or None when the user gave none.
    """
    keys = ([f"{rule.id}.{category}"] if category is not None else []) + [rule.id]
    return next((k for k in keys if k in ctx.user_facilities), None)


def facility_field(ctx: Context, selector, *, min_area_m2: float | None, user: str | None, name: str):
    """``(DistanceField, facilities)`` of a category, one Dijkstra pass per distinct facility set in
    the evaluation (cached on the context). Each facility once: a point inside or within
    :data:`settings.same_facility_m` of a polygon or way of the category is that facility
    (:func:`urbancover.plan.features.dedupe_points_in_polygons`). Polygons with mapped gates are reached
    at the gates; other polygons within :data:`settings.polygon_reach_m` of their outline.
    """
    def make():
        fac = dedupe_points_in_polygons(ctx.facilities(selector, min_area_m2=min_area_m2, user=user),
                                        within_m=ctx.settings.same_facility_m)
        sources = at_entrances(fac, ctx.facilities(ctx.settings.entrance_selector), settings=ctx.settings)
        fld = distance_field(ctx.network, sources, None, name=name, reach=ctx.settings.polygon_reach_m, settings=ctx.settings)
        return fld, fac

    return ctx.memo("facility field", (json.dumps(selector, sort_keys=True, default=str), min_area_m2, user), make)


def checks_of(rule: Rule, ctx: Context) -> tuple[Check, ...]:
    """The checks of a distance rule: its one category (threshold on the rule) or each category."""
    spec = kind_of(rule)
    if not spec.distance:
        raise InputError(f"{rule.id}: a {rule.kind!r} rule is not measured by distance; it has no checks.")
    if spec.threshold == "rule":
        cats = [(rule.id, rule.name_zh, rule.facilities, rule.params.get("facility_min_area_m2"), rule.threshold, None)]
    else:
        cats = [(c.name, c.name_zh, c.facilities, c.min_area_m2, c.threshold, c.name) for c in rule.categories]
    out = []
    for name, name_zh, selector, min_area, threshold, category in cats:
        user = user_key(rule, ctx, category)
        ctx.progress(f"distances from the {name} facilities" if category else "distances from the facilities")
        fld, fac = facility_field(ctx, selector, min_area_m2=min_area, user=user, name=f"{rule.id} {name}")
        out.append(Check(name, name_zh, float(threshold), fac, fld, user, selector, float(rule.tolerance)))
    return tuple(out)


def demand_places(ctx: Context, layer: str, *, only_old: bool = False):
    """``(features, points, weights)`` of a place layer as rules count it: residents (weighted
    points), homes (one point on each building), compounds (one point each); with ``only_old``, only
    those in old compounds.
    """
    if layer == "residents":
        feats = ctx.population
        if only_old:
            feats = feats[in_old(ctx, feats["compound"].to_numpy())]
        return feats, feats.geometry.values, feats["residents"].to_numpy(dtype=float)
    if layer == "residential_buildings":
        feats, pts = ctx.homes, _home_points(ctx)
        if only_old:
            old = in_old(ctx, feats["compound"].to_numpy())
            feats, pts = feats[old], pts[old]
        return feats, pts, np.ones(len(feats))
    if layer == "compounds":
        feats = ctx.compounds[ctx.compounds["old"].to_numpy()] if only_old else ctx.compounds
        return feats, demand_points(feats).values, np.ones(len(feats))
    raise InputError(f"demand layer {layer!r} is not a layer of places; use one of {list(PLACE_LAYERS)}.")


def _home_points(ctx: Context) -> np.ndarray:
    """One point on each home (:func:`demand_points`): the estimated residents' points when the
    residents were estimated from the homes (the same points, one per home in order), so a city's
    homes are not given a second set of points.
    """
    pop = ctx.population
    if ctx.residents_estimated and len(pop) == len(ctx.homes) and "home" in pop and (pop["home"].to_numpy() == np.arange(len(pop))).all():
        return pop.geometry.values
    return demand_points(ctx.homes).values


def in_old(ctx: Context, compound: np.ndarray) -> np.ndarray:
    """Boolean per row: the compound it lies in (row of ``ctx.compounds``, -1 for none) is old."""
    old = np.r_[ctx.compounds["old"].to_numpy(dtype=bool), False]  # compound -1 (none) -> False
    return old[compound]


def street_demand(rule: Rule, ctx: Context) -> Intervals:
    """The rule's street demand as disjoint intervals ``(edge, start, end)`` of the walking network."""
    p = rule.params
    return ctx.street_intervals(p.get("streets"), p.get("streets_in"), p.get("streets_near"), p.get("streets_near_m", 0.0))


def road_pieces(rule: Rule, ctx: Context, checks: tuple[Check, ...]) -> RoadPieces | None:
    """The rule's street demand on roads that are not walkable (see :class:`RoadPieces`), inside
    the area; None when the rule selects no streets by tag or every selected road is walkable.

    Cost: O(R) to cut R metres of such road into pieces, O(P log E) to snap the P pieces' middles.
    """
    selector = rule.params.get("streets")
    if not selector or rule.params.get("streets_in") or rule.params.get("streets_near"):
        return None
    ways = ctx.osm.ways
    if len(ways) == 0:
        return None
    mask = ctx.select("ways", selector) & ~ctx.osm.walkable(ctx.settings)
    if not mask.any():
        return None
    roads = ways[mask].to_crs(ctx.crs)
    lines, line_row = ctx.cut_to_area(roads.geometry.values)
    parts, row = shapely.get_parts(lines, return_index=True)
    row = line_row[row]
    keep = shapely.get_type_id(parts) == shapely.GeometryType.LINESTRING
    parts, row = parts[keep], row[keep]
    if len(parts) == 0:
        return None
    # pieces: the segments of each line after cutting it every road_piece_m metres
    dense = shapely.segmentize(parts, ctx.settings.road_piece_m)
    xy, idx = shapely.get_coordinates(dense, return_index=True)
    same = idx[1:] == idx[:-1]
    a, b = xy[:-1][same], xy[1:][same]
    seg_row = row[idx[:-1][same]]
    geom = shapely.linestrings(np.stack([a, b], axis=1))
    length = np.hypot(*(b - a).T)
    mid = shapely.points((a + b) / 2.0)
    snapped = ctx.snapped(("road pieces", rule.id), mid, name=f"{rule.id} roads")
    net_m = np.column_stack([c.field.at_snapped(snapped, geoms=mid) for c in checks])
    mids = gpd.GeoSeries(mid, crs=ctx.crs)
    line_m = np.column_stack([straight_line_distance(c.facilities, mids, crs=ctx.crs) for c in checks])
    col = lambda k: roads[k].to_numpy()[seg_row] if k in roads else np.full(len(seg_row), None)  # noqa: E731
    return RoadPieces(geom, length, col("highway"), col("name"), net_m, line_m)


def _places(ctx: Context, layer: str, only_old: bool, checks: tuple[Check, ...]) -> DemandPlaces:
    ctx.progress(f"{layer.replace('_', ' ')}: network and straight-line distances")

    def make():  # the same places for every rule measuring this layer
        feats, pts, w = demand_places(ctx, layer, only_old=only_old)
        return feats, np.asarray(pts), w

    feats, pts, w = ctx.memo("demand places", (layer, only_old), make)
    net_m = np.zeros((len(pts), len(checks)))
    line_m = np.zeros((len(pts), len(checks)))
    snapped = ctx.snapped((layer, only_old), pts, name=layer.replace("_", " "))
    pts_gs = gpd.GeoSeries(pts, crs=ctx.crs)
    for k, c in enumerate(checks):
        if len(pts):
            net_m[:, k] = c.field.at_snapped(snapped, geoms=pts)
            line_m[:, k] = straight_line_distance(c.facilities, pts_gs, crs=ctx.crs)
    return DemandPlaces(layer, feats, pts, w, snapped, net_m, line_m, _no_walls(ctx, ("demand places", layer, only_old), pts, snapped,
                                                                                      net_m, checks))


def _no_walls(ctx: Context, key, pts: np.ndarray, snapped: Snapped, net_m: np.ndarray, checks) -> np.ndarray | None:
    """``network_m`` with the access legs of the places behind barriers free to cross them (the
    places not behind keep theirs: the same snap); None when the network has no barriers. Costs a
    plain snap of the places behind barriers only.
    """
    if snapped.behind is None:
        return None
    out = net_m.copy()
    rows = np.flatnonzero(snapped.behind)
    if len(rows):
        blind = ctx.snapped(("behind", key), pts[rows], name="places behind barriers", barriers=False)
        for k, c in enumerate(checks):
            out[rows, k] = c.field.at_snapped(blind, geoms=pts[rows])
    return out


def measure(rule: Rule, ctx: Context) -> Measurement:
    """Measure a distance rule once per evaluation (cached on the context by rule id).

    Cost: one Dijkstra pass per distinct facility set, O((V + E + K) log(V + K)), shared across
    rules; O(P log E) to snap each demand layer once; O(P k) to read the fields for P places and k
    categories.
    """
    return ctx.memo("measurement", rule.id, lambda: _measure(rule, ctx))


def _measure(rule: Rule, ctx: Context) -> Measurement:
    checks = checks_of(rule, ctx)
    only_old = rule.params.get("homes_in") == "old_compounds"
    places = {layer: _places(ctx, layer, only_old, checks) for layer in rule.demand if layer in PLACE_LAYERS}
    if "streets" in rule.demand:
        ctx.progress("streets: coverage along the network")
    streets = street_demand(rule, ctx) if "streets" in rule.demand else None
    roads = road_pieces(rule, ctx, checks) if "streets" in rule.demand else None
    pool = rule.params.get("list_unmatched")
    listed = None
    if pool:
        rows = unmatched(ctx.features, pool, [c.selector for c in checks], values=ctx.tag_values("features"))
        listed = rows[shapely.intersects(rows.geometry.values, ctx.area)]
        keep = [c for c in ("osmid", "name", "amenity", "school", "isced:level", "geometry") if c in listed]
        listed = listed[keep].reset_index(drop=True)
    return Measurement(rule, kind_of(rule), checks, places, streets, roads, listed)


def counts_homes(rule: Rule) -> bool:
    """Whether a rule's demand is homes or the residents living in them (the rules of the ``homes``
    layer, :func:`home_distances`).
    """
    return "residential_buildings" in rule.demand or "residents" in rule.demand


def home_places(m: Measurement, ctx: Context) -> DemandPlaces:
    """The homes a rule counts, as :class:`DemandPlaces`: the measurement's own when its demand
    names ``residential_buildings``; else (a rule of ``residents`` only) measured now at the same
    points, with the same snap, once per evaluation (cached on the context by rule id).
    """
    if "residential_buildings" in m.places:
        return m.places["residential_buildings"]
    only_old = m.rule.params.get("homes_in") == "old_compounds"
    return ctx.memo("home places", m.rule.id, lambda: _places(ctx, "residential_buildings", only_old, m.checks))


def home_distances(m: Measurement, ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    """``(network_m, counted)`` for **every** home of the evaluation (rows of ``ctx.homes``):
    (homes x checks) network metres (``inf``: no facility reachable; NaN: a home the rule does not
    count) and the boolean mask of the homes the rule counts (all of them, or those of old compounds
    for a rule with ``homes_in = "old_compounds"``).
    """
    p = home_places(m, ctx)
    n = len(ctx.homes)
    if m.rule.params.get("homes_in") == "old_compounds":
        counted = in_old(ctx, ctx.homes["compound"].to_numpy())
    else:
        counted = np.ones(n, dtype=bool)
    net = np.full((n, len(m.checks)), np.nan)
    net[counted] = p.network_m
    return net, counted


def distance_rules(results: dict) -> list[str]:
    """Ids of the rules among ``results`` (rule id -> RuleResult) measured by distance."""
    return [rid for rid, res in results.items() if res.measurement is not None]


@dataclass(frozen=True, eq=False)
class GapGrid:
    """The grid sampling residential land for gap polygons (see :func:`gap_cells`).

    Holds the cells' numbers only (row-major over the grid laid on ``land.bounds``) and their
    centres snapped: the boxes and centre points are made when asked for (:meth:`boxes`,
    :meth:`centres`), so a city's million cells cost tens of bytes each, not a geometry each.
    """

    land: shapely.Geometry
    cell: float
    ids: np.ndarray
    snapped: Snapped

    def __len__(self) -> int:
        return len(self.ids)

    def xy(self, rows=None) -> np.ndarray:
        """(n, 2) centres of the cells (all, or ``rows``: a boolean mask or positions)."""
        ids = self.ids if rows is None else self.ids[rows]
        return cell_centres(self.land.bounds, self.cell, ids)

    def centres(self, rows=None) -> np.ndarray:
        """Centre points of the cells."""
        return shapely.points(self.xy(rows))

    def boxes(self, rows=None) -> np.ndarray:
        """Boxes of the cells."""
        xy, h = self.xy(rows), self.cell / 2
        return shapely.box(xy[:, 0] - h, xy[:, 1] - h, xy[:, 0] + h, xy[:, 1] + h)


def gap_cells(ctx: Context, cell: float | None = None) -> GapGrid:
    """The grid sampling residential land for gap polygons, built once per evaluation (when the
    first gap polygons are read).

    Returns the :class:`GapGrid` of the residential land (compounds and home footprints in the
    area) and the cells (``cell`` metres, default :data:`settings.gap_cell_m`) that overlap it,
    with their centres snapped. Every rule reads the same grid.

    Notes
    -----
    The grid is laid over the land's bounds, but only the cells within the bounds of a part of the
    land are made and tested (one prepared ``intersects`` per part against the cells near it):
    O(C) for C cells near land, not O(cells of the bounding box), which on a city is mostly sea,
    fields and streets.
    """
    cell = ctx.settings.gap_cell_m if cell is None else cell
    return ctx.memo("gap grid", cell, lambda: _gap_grid(ctx, cell))


def _gap_grid(ctx: Context, cell: float) -> GapGrid:
    land_parts = np.concatenate([ctx.compounds.geometry.values, ctx.homes.geometry.values])
    land = shapely.Polygon()
    ids = np.zeros(0, dtype=np.int64)
    if len(land_parts):
        land = shapely.intersection(shapely.union_all(shapely.make_valid(land_parts)), ctx.area)
    if not land.is_empty:
        ids = land_cells(land, cell)
    xy = cell_centres(land.bounds, cell, ids)  # snapped from their coordinates: no point per cell
    return GapGrid(land, cell, ids, ctx.snapped(("gap grid", cell), Places(xy, np.ones(len(xy), dtype=bool)), name="gap grid"))


#: Cells made and tested at once by :func:`land_cells` (bounds its memory on a city).
CELL_BLOCK = 250_000


def cell_centres(bounds, cell: float, ids: np.ndarray) -> np.ndarray:
    """(n, 2) centres of the cells numbered ``ids`` (row-major, rows from the bottom) of the
    ``cell``-metre grid laid over ``bounds`` (as :func:`land_cells` numbers them).
    """
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) == 0:  # (also for empty land, whose bounds are NaN)
        return np.zeros((0, 2))
    xs = np.arange(bounds[0] + cell / 2, bounds[2], cell)
    ys = np.arange(bounds[1] + cell / 2, bounds[3], cell)
    return np.column_stack([xs[ids % len(xs)], ys[ids // len(xs)]])


def land_cells(land: shapely.Geometry, cell: float) -> np.ndarray:
    """Numbers (row-major over the ``cell``-metre grid laid on ``land.bounds``, rows from the
    bottom, in that order) of the cells that intersect ``land``.

    Candidates are the cells overlapping the bounds of each part of ``land``; a cell is kept when
    it intersects a part, which is when it intersects ``land``. O(C) memory for the C candidates'
    numbers, and :data:`CELL_BLOCK` boxes at a time.
    """
    minx, miny, maxx, maxy = land.bounds
    xs = np.arange(minx + cell / 2, maxx, cell)
    ys = np.arange(miny + cell / 2, maxy, cell)
    nx, ny = len(xs), len(ys)
    if nx == 0 or ny == 0:  # land narrower than half a cell: no cell centre on the grid
        return np.zeros(0, dtype=np.int64)
    parts = np.array([land], dtype=object)
    while True:  # flatten multi-part geometries and collections, however nested
        multi = shapely.get_num_geometries(parts) > 1
        multi |= np.isin(shapely.get_type_id(parts), (4, 5, 6, 7))
        if not multi.any():
            break
        parts = shapely.get_parts(parts)
    parts = parts[~shapely.is_empty(parts)]
    b = shapely.bounds(parts)
    # cell i spans xs[i] -+ cell / 2; the cells a part's bounds overlap, with a hair of slack for
    # rounding (the exact test below decides)
    x0 = np.clip(np.floor((b[:, 0] - minx) / cell - 1e-6).astype(np.int64), 0, nx - 1)
    x1 = np.clip(np.floor((b[:, 2] - minx) / cell + 1e-6).astype(np.int64), 0, nx - 1)
    y0 = np.clip(np.floor((b[:, 1] - miny) / cell - 1e-6).astype(np.int64), 0, ny - 1)
    y1 = np.clip(np.floor((b[:, 3] - miny) / cell + 1e-6).astype(np.int64), 0, ny - 1)
    # every (row, column) of each part's window, as flat row-major cell numbers
    w, h = x1 - x0 + 1, y1 - y0 + 1
    n = w * h
    k = intervals.ranges(n)
    part = np.repeat(np.arange(len(parts)), n)
    cand = np.unique((y0[part] + k // w[part]) * nx + x0[part] + k % w[part])
    del k, part
    # in blocks of cells (bands of rows), so a city never holds a box for every candidate at once;
    # each part is prepared once (the tree's query prepares it) and tested against the cells near it
    kept = []
    for lo in range(0, len(cand), CELL_BLOCK):
        c = cand[lo:lo + CELL_BLOCK]
        gx, gy = xs[c % nx], ys[c // nx]
        boxes = shapely.box(gx - cell / 2, gy - cell / 2, gx + cell / 2, gy + cell / 2)
        _, hit = shapely.STRtree(boxes).query(parts, predicate="intersects")
        kept.append(c[np.unique(hit)])
    return np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
