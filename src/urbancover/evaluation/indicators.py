"""Density, ratio, count and network-form rules (PLAN_RULES.md section B).

Each rule kind is one small function ``(rule, ctx) -> RuleResult``; the numbers they compare with
come from the rule (``rule.params``), never from here. Facilities count when they meet the analysed
area, each once (a point inside a polygon of the same selector is the same facility); residents are
those of the context (a population layer, or the estimate from homes), checked for plausibility
beside every per-resident result.

Section F of PLAN_RULES.md: a rule with nothing to measure (no residents, no units, no facility of
known size) is *undetermined*: ``passed = None`` and the summary row's ``reason`` says why; never a
pass. A category absent from the data is a gap (it fails).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urbancover.core.tiles import cut_by_pieces
from urbancover.evaluation.context import Context
from urbancover.evaluation.demand import home_rows, plausibility, residential_land_km2
from urbancover.evaluation.gaps import RuleResult, base_row, warn_missing
from urbancover.evaluation.kinds import rule_kind
from urbancover.evaluation.results import SummaryRow
from urbancover.network.snap import length_inside
from urbancover.plan.features import dedupe_points_in_polygons, parse_levels
from urbancover.plan.rules import Rule
from urbancover.present import Note, Verdict


def _finish(rule: Rule, row: SummaryRow, value: float, measure: str, target_text: str, passed,
            reason: Note | None = None, *, verdict: Verdict | None = None) -> SummaryRow:
    """Fill the value columns and set the verdict once: from ``passed``, or ``verdict`` (a list);
    ``passed = None`` is undetermined and must come with the ``reason`` (section F).
    """
    row.update(value=value, measure=measure, target_text=target_text)
    if verdict is None:
        verdict = Verdict.UNDETERMINED if passed is None else Verdict.of(passed)
    return row.decide(verdict, reason)


def _facility_layer(fac: gpd.GeoDataFrame, **extra) -> gpd.GeoDataFrame:
    cols = {"osmid": fac["osmid"].to_numpy(), "name": fac["name"].to_numpy(), **extra}
    return gpd.GeoDataFrame(cols, geometry=fac.geometry.to_numpy(), crs=fac.crs)


def _facilities(ctx: Context, selector, user: str, rule: Rule, what: str = "facility") -> gpd.GeoDataFrame:
    """Facilities meeting the area, each once; warns when there are none (the rule is a gap)."""
    fac = dedupe_points_in_polygons(ctx.facilities(selector, inside=True, user=user), within_m=ctx.settings.same_facility_m)
    if len(fac) == 0:
        warn_missing(rule, ctx, selector, what=what)
    return fac


def _residents(ctx: Context, row: dict) -> float:
    """Residents of the area, with the plausibility check written beside them."""
    total = float(ctx.population["residents"].sum())
    row["residents"] = total
    row["residents_estimated"] = ctx.residents_estimated
    check = ctx.residents_check or plausibility(total, residential_land_km2(ctx.features, ctx.area, settings=ctx.settings),
                                                settings=ctx.settings)
    row["residents_plausible"] = check.ok
    row["residents_check"] = check.message
    return total


NO_RESIDENTS = Note("reason.no_residents")

#: The layers the kinds here make (``RuleResult.layers``), and the columns of them the outputs read.
FACILITIES, UNITS, DEAD_ENDS = "facilities", "units", "dead_ends"
COUNT, MEETS = "count", "meets"


def built_up_land(ctx: Context) -> np.ndarray:
    """The extract's built-up land (:meth:`Context.built_up_land`: ``landuse`` polygons of
    :data:`settings.built_up_landuse_values` and every building grown by
    :data:`settings.built_up_buffer_m`, united tile by tile), computed once per evaluation and
    shared: it is also the default analysed area. An empty array when nothing is built.
    """
    return ctx.built_up_land()


@rule_kind("density")
def density_rule(rule: Rule, ctx: Context) -> RuleResult:
    """Facilities per km², each counted once; ``min_per_km2`` or more meets the standard, and more
    than ``max_per_km2`` still meets it, reported as above the range (more toilets is no deficiency).

    The area is the analysed area (without a given area the built-up land, or the streets' hull:
    :func:`urbancover.evaluation.context.make_context`); when the extract's box was asked for
    (``area="bounds"``) and ``built_up_without_area`` (default true), the built-up land of
    :func:`built_up_land`, as before PLAN_RULES.md revision 3. The row's ``area_source`` (a note)
    says which, with its size.
    """
    fac = _facilities(ctx, rule.facilities, rule.id, rule)
    lo, hi = rule.params.get("min_per_km2", 0.0), rule.params.get("max_per_km2", math.inf)
    area, source = ctx.area, ctx.area_note or Note("area.user", km2=ctx.area_km2)
    if rule.params.get("built_up_without_area", True) and ctx.area_source == "bounds":
        built = built_up_land(ctx)
        if shapely.area(built).sum() > 0:
            area = built
            source = Note("area.built_up_in_bounds", km2=float(shapely.area(built).sum()) / 1e6,
                          buffer=ctx.settings.built_up_buffer_m)
            hit, _ = shapely.STRtree(built).query(fac.geometry.values, predicate="intersects")
            fac = fac.iloc[np.unique(hit)]
    km2 = float(shapely.area(area).sum()) / 1e6
    row = base_row(rule) | {"facilities": len(fac), "area_km2": km2, "area_source": source}
    target = f"{lo:g}-{hi:g} per km²" if math.isfinite(hi) else f">= {lo:g} per km²"
    if km2 <= 0:
        _finish(rule, row, math.nan, "facilities per km²", target, None, Note("reason.empty_area"))
        return RuleResult(rule, row, {FACILITIES: _facility_layer(fac)})
    value = len(fac) / km2
    row["above_range"] = bool(value > hi)
    if value > hi:
        row["detail"] = Note("detail.above_range", value=value, hi=hi)
    _finish(rule, row, value, "facilities per km²", target, bool(value >= lo))
    return RuleResult(rule, row, {FACILITIES: _facility_layer(fac)})


@rule_kind("ratio")
def ratio_rule(rule: Rule, ctx: Context) -> RuleResult:
    """Residents per facility at most ``residents_per_facility_max`` (one facility per N residents);
    undetermined without residents.
    """
    fac = _facilities(ctx, rule.facilities, rule.id, rule)
    row = base_row(rule) | {"facilities": len(fac)}
    people = _residents(ctx, row)
    hi = rule.params["residents_per_facility_max"]
    lo = rule.params.get("residents_per_facility_min", hi)
    target = f"one per {lo:,.0f}-{hi:,.0f} residents"
    if people <= 0:
        _finish(rule, row, math.nan, "residents per facility", target, None, NO_RESIDENTS)
        return RuleResult(rule, row, {FACILITIES: _facility_layer(fac)})
    value = people / len(fac) if len(fac) else math.inf
    row["facilities_needed"] = f"{math.ceil(people / hi)}-{math.ceil(people / lo)}" if lo != hi else f"{math.ceil(people / hi)}"
    _finish(rule, row, value, "residents per facility", target, bool(value <= hi))
    return RuleResult(rule, row, {FACILITIES: _facility_layer(fac)})


#: Tag keys that make a feature a facility of its own (a building holding one of these besides the
#: facility measured is shared, and its floor area is not that facility's).
FACILITY_KEYS = ("amenity", "shop", "office", "craft", "healthcare", "leisure", "tourism")


def _in_buildings(fac: gpd.GeoDataFrame, ctx: Context) -> gpd.GeoDataFrame:
    """Point facilities inside a building of their own take that building's outline and levels (a
    community centre mapped as a node in its building); other rows unchanged.

    A building is the facility's own when it is not a home (:func:`urbancover.evaluation.demand.home_rows`)
    and holds no other facility: no facility tag of :data:`FACILITY_KEYS` on the building itself and
    no other point with one inside it (PLAN_RULES.md rev 3, ``culture_area``). A point in any other
    building keeps no outline: its floor area is unknown (NaN), not the building's.
    """
    pts = np.flatnonzero(shapely.get_dimensions(fac.geometry.values) == 0)
    if len(pts) == 0:
        return fac
    f = ctx.features
    dims = shapely.get_dimensions(f.geometry.values)
    brows = np.flatnonzero(f["building"].notna().to_numpy() & (dims == 2))
    if len(brows) == 0:
        return fac
    buildings = f.iloc[brows]
    tree = shapely.STRtree(buildings.geometry.values)
    pi, bi = tree.query(fac.geometry.values[pts], predicate="within")
    pi, first = np.unique(pi, return_index=True)
    bi = bi[first]
    # which of these buildings are the facility's own
    is_home = np.isin(brows[bi], ctx.memo("home rows", None, lambda: home_rows(f, ctx.settings)[0]))
    tagged = np.zeros(len(f), dtype=bool)
    for key in FACILITY_KEYS:
        if key in f:
            tagged |= f[key].notna().to_numpy()
    shared = is_home | tagged[brows[bi]]
    # other facility points inside: tagged points of the features other than the facility itself
    others = np.flatnonzero(tagged & (dims == 0))
    if len(others):
        _, ob = tree.query(f.geometry.values[others], predicate="within")
        held = np.bincount(ob, minlength=len(brows))[bi]
        if "element" in fac and "osmid" in fac and "element" in f:
            key = lambda frame, rows: frame["element"].to_numpy()[rows].astype(str) + "/" + frame["osmid"].to_numpy()[rows].astype(str)  # noqa: E731
            held = held - np.isin(key(fac, pts[pi]), key(f, others))  # the facility itself is one of them
        shared |= held > 0
    own = ~shared
    pi, bi = pi[own], bi[own]
    out = fac.copy()
    rows = pts[pi]
    if len(rows) == 0:
        return out
    geoms = out.geometry.to_numpy().copy()
    geoms[rows] = buildings.geometry.values[bi]
    out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=out.crs))
    levels = out["building:levels"].to_numpy(dtype=object).copy() if "building:levels" in out else np.full(len(out), None, dtype=object)
    own_levels = parse_levels(levels[rows])
    levels[rows] = np.where(np.isnan(own_levels), buildings["building:levels"].to_numpy(dtype=object)[bi], levels[rows])
    out["building:levels"] = levels
    return out


def _areas(fac: gpd.GeoDataFrame, ctx: Context, *, floor: bool, default_levels: float) -> np.ndarray:
    """Ground area (or floor area: x levels) of each facility inside the area; NaN without a polygon."""
    geoms = fac.geometry.values
    inside = ctx.area_inside(geoms)
    area = np.where(shapely.get_dimensions(geoms) == 2, inside, np.nan)
    if floor:
        levels = parse_levels(fac["building:levels"].to_list() if "building:levels" in fac else [None] * len(fac))
        area = area * np.where(np.isnan(levels), default_levels, levels)
    return area


@rule_kind("area_per_capita")
def area_per_capita_rule(rule: Rule, ctx: Context) -> RuleResult:
    """Sports ground area per resident above ``min_m2_per_person``.

    Ground area: the union of the ``facilities`` polygons (overlaps once) cut to the area, minus
    the halls' footprints; plus the floor area (footprint x ``building:levels``, ``default_levels``
    when untagged) of ``floor_area_facilities`` (sports halls). Points have no area and add nothing.
    Undetermined without residents.
    """
    fac = _facilities(ctx, rule.facilities, rule.id, rule)
    polys = shapely.make_valid(fac.geometry.values[shapely.get_dimensions(fac.geometry.values) == 2])
    halls = gpd.GeoDataFrame({"osmid": [], "name": []}, geometry=gpd.GeoSeries([], crs=ctx.crs), crs=ctx.crs)
    if rule.params.get("floor_area_facilities"):
        halls = dedupe_points_in_polygons(ctx.facilities(rule.params["floor_area_facilities"], inside=True),
                                          within_m=ctx.settings.same_facility_m)
        halls = halls[shapely.get_dimensions(halls.geometry.values) == 2]
    hall_area = _areas(halls, ctx, floor=True, default_levels=rule.params.get("default_levels", 1.0))
    ground = shapely.union_all(ctx.cut_to_area(np.array([shapely.union_all(polys)]))[0]) if len(polys) else shapely.Polygon()
    if len(halls):
        ground = shapely.difference(ground, shapely.union_all(shapely.make_valid(halls.geometry.values)))
    area = float(ground.area) + float(np.nansum(hall_area))
    row = base_row(rule) | {
        "facilities": len(fac) + len(halls), "facility_area_m2": area, "ground_area_m2": float(ground.area),
        "hall_floor_area_m2": float(np.nansum(hall_area)), "facilities_without_area": int(len(fac) - len(polys)),
    }
    people = _residents(ctx, row)
    need = rule.params["min_m2_per_person"]
    target = f"> {need:g} m² per resident"
    if row["facilities_without_area"]:
        ctx.notes.append(Note("facility.no_area", rule=rule.id, n=row["facilities_without_area"]))
    layer = _facility_layer(
        pd.concat([fac, halls], ignore_index=True) if len(halls) else fac,
        area_m2=np.r_[_areas(fac, ctx, floor=False, default_levels=1.0), hall_area],
        measured_as=np.r_[np.full(len(fac), "ground area"), np.full(len(halls), "floor area")],
    )
    if people <= 0:
        _finish(rule, row, math.nan, "m² per resident", target, None, NO_RESIDENTS)
    else:
        value = area / people
        _finish(rule, row, value, "m² per resident", target, bool(value > need))
    return RuleResult(rule, row, {FACILITIES: layer})


@rule_kind("min_area")
def min_area_rule(rule: Rule, ctx: Context) -> RuleResult:
    """Every facility of each category (tier) at least ``min_area_m2``: ground area, or floor area
    (footprint x levels, ``default_levels`` when untagged) for categories with ``floor_area``. A point
    inside a building takes the building's outline. A tier with no facility fails; a tier whose
    facilities all lack an area is undetermined. ``value``: share of facilities of known area that
    meet their minimum.
    """
    row = base_row(rule)
    layers, ok_all, known_all = [], 0, 0
    parts, failing, unknown = [], [], []
    for cat in rule.categories:
        fac = _in_buildings(_facilities(ctx, cat.facilities, f"{rule.id}.{cat.name}", rule, what=cat.name), ctx)
        area = _areas(fac, ctx, floor=cat.floor_area, default_levels=rule.params.get("default_levels", 1.0))
        known = ~np.isnan(area)
        ok = known & (area >= cat.min_area_m2)
        ok_all += int(ok.sum())
        known_all += int(known.sum())
        kind = "floor area" if cat.floor_area else "area"
        parts.append(Note("detail.tier", tier=cat.name, tier_zh=cat.name_zh or cat.name, ok=int(ok.sum()), n=len(fac),
                          min_m2=cat.min_area_m2, floor=bool(cat.floor_area), unknown=int((~known).sum())))
        if len(fac) == 0 or (known & ~ok).any():
            failing.append(cat.name)
        elif not known.any():
            unknown.append(cat)
        layers.append(_facility_layer(fac, category=cat.name, area_m2=area, measured_as=kind, min_area_m2=cat.min_area_m2, **{MEETS: ok}))
    row["detail"] = Note("detail.list", items=parts) if parts else ""
    row["facilities"] = sum(len(x) for x in layers)
    row["tiers_failing"] = ", ".join(failing)
    value = ok_all / known_all if known_all else math.nan
    measure = "share of facilities of known area meeting the minimum"
    if failing:
        _finish(rule, row, value, measure, "all", False)
    elif unknown:
        _finish(rule, row, value, measure, "all", None, Note("reason.no_known_area", tiers=", ".join(c.name for c in unknown),
                                                              tiers_zh="、".join(c.name_zh or c.name for c in unknown)))
    else:
        _finish(rule, row, value, measure, "all", True)
    return RuleResult(rule, row, {FACILITIES: gpd.GeoDataFrame(_concat(layers), crs=ctx.crs)})


def _concat(frames):
    return pd.concat(frames, ignore_index=True) if frames else gpd.GeoDataFrame({"geometry": []})


@rule_kind("count_per_unit")
def count_per_unit_rule(rule: Rule, ctx: Context) -> RuleResult:
    """At least ``min_count`` facilities in every area unit (subdistrict).

    Units: the user's unit layer, else OSM boundary polygons matching ``units`` (default
    ``admin_level=8``) that meet the area, cut to it. Without any the rule is undetermined
    (section F): the facilities of the whole area are still counted and listed.
    """
    units = _units(rule, ctx)
    fac = _facilities(ctx, rule.facilities, rule.id, rule)
    need = rule.params["min_count"]
    target = f">= {need:g} in every unit"
    if units is None:
        row = base_row(rule) | {"facilities": len(fac), "units": 0}
        _finish(rule, row, math.nan, "fewest facilities in a unit", target, None, Note("reason.no_units"))
        return RuleResult(rule, row, {FACILITIES: _facility_layer(fac)})
    pts = shapely.point_on_surface(fac.geometry.values)
    pi, ui = shapely.STRtree(units.geometry.values).query(pts, predicate="within")
    counts = np.bincount(ui, minlength=len(units))
    units = units.assign(**{COUNT: counts, MEETS: counts >= need})
    row = base_row(rule) | {"facilities": len(fac), "units": len(units), "units_failing": int((counts < need).sum())}
    _finish(rule, row, float(counts.min()), "fewest facilities in a unit", target, bool((counts >= need).all()))
    return RuleResult(rule, row, {UNITS: units, FACILITIES: _facility_layer(fac)})


def _units(rule: Rule, ctx: Context) -> gpd.GeoDataFrame | None:
    if ctx.units is not None:
        return ctx.units.copy()
    selector = rule.params.get("units")
    if selector:
        b = ctx.facilities(selector, inside=True)
        b = b[shapely.get_dimensions(b.geometry.values) == 2]
        if len(b):
            parts, row = ctx.cut_to_area(b.geometry.values)  # by the area's pieces: a city's built-up land
            order = np.argsort(row, kind="stable")
            groups = np.split(parts[order], np.searchsorted(row[order], np.arange(1, len(b))))
            geoms = np.array([_coverage_union(g) for g in groups], dtype=object)  # one per unit
            names = b["name"].fillna(b["osmid"].astype(str)).astype(str).to_numpy()
            keep = shapely.area(geoms) > 0
            if keep.any():
                return gpd.GeoDataFrame({"unit": names[keep]}, geometry=geoms[keep], crs=ctx.crs)
    ctx.notes.append(Note("units.none", rule=rule.id))
    return None


def _coverage_union(parts: np.ndarray) -> shapely.Geometry:
    """The union of polygons sharing no area (the analysed area's pieces cut by a unit): a coverage
    union, or a full one when their shared edges do not match vertex for vertex.
    """
    parts = shapely.get_parts(parts)
    parts = parts[shapely.get_dimensions(parts) == 2]  # a cut may leave a line where it touches
    if len(parts) == 0:
        return shapely.Polygon()
    try:
        out = shapely.coverage_union_all(parts)
    except shapely.errors.GEOSException:
        out = None
    return out if out is not None and out.is_valid else shapely.union_all(parts)


def _road_selector(rule: Rule):
    selector = rule.params.get("streets")
    if selector and rule.params.get("include_expressways") and rule.params.get("expressways"):
        selector = tuple(selector) + tuple(rule.params["expressways"])
    return selector


def _roads(rule: Rule, ctx: Context):
    selector = _road_selector(rule)
    net = ctx.street_network(selector) if selector else ctx.network
    if net is None:
        warn_missing(rule, ctx, selector, what="street")
    return net


def dual_carriageway_m(ways: gpd.GeoDataFrame, within_m: float, area) -> float:
    """Metres of road counted twice because a dual carriageway is mapped as two one-way ways.

    A stretch of a one-way way (``oneway=yes/1/-1``) lying within ``within_m`` of another one-way
    way of the same ``name`` running the opposite way is one carriageway of a pair; half of the
    paired length, inside ``area``, is the excess. Unnamed ways are never paired. ``ways`` in a
    projected CRS, geometry in OSM node order. O(W log W) (one STRtree query).

    ``area`` is a polygon, or an array of polygons sharing no area whose union is the area (the
    analysed area's pieces, :meth:`Context.area_pieces`: cut by those, a city's pairs cost
    milliseconds; by one city-wide multipolygon, seconds).
    """
    if within_m <= 0 or len(ways) == 0:
        return 0.0
    oneway = ways["oneway"].isin(["yes", "1", "true", "-1"]).to_numpy() & ways["name"].notna().to_numpy()
    w = ways[oneway]
    if len(w) < 2:
        return 0.0
    geoms = w.geometry.values
    xy0 = shapely.get_coordinates(shapely.get_point(geoms, 0))
    xy1 = shapely.get_coordinates(shapely.get_point(geoms, -1))
    direction = (xy1 - xy0) * np.where(w["oneway"].to_numpy() == "-1", -1.0, 1.0)[:, None]
    a, b = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=within_m)
    names = w["name"].to_numpy()
    keep = (a != b) & (names[a] == names[b]) & ((direction[a] * direction[b]).sum(axis=1) < 0)
    a, b = a[keep], b[keep]
    if len(a) == 0:
        return 0.0
    zones = gpd.GeoDataFrame({"a": a}, geometry=shapely.buffer(geoms[b], within_m, quad_segs=4)).dissolve("a")
    paired = shapely.intersection(geoms[zones.index.to_numpy()], zones.geometry.values)
    pieces = np.asarray(area, dtype=object).ravel() if isinstance(area, np.ndarray) else np.array([area])
    return float(shapely.length(cut_by_pieces(paired, pieces)[0]).sum()) / 2.0


@rule_kind("road_density")
def road_density_rule(rule: Rule, ctx: Context) -> RuleResult:
    """Km of road centre line per km² of the area (exact length inside it), and junctions
    (degree >= 3) per km².

    Roads are the ways of ``streets`` (urban expressways of ``expressways`` only with
    ``include_expressways``); a dual carriageway counts once (:func:`dual_carriageway_m` with
    ``dual_carriageway_m``).
    """
    net = _roads(rule, ctx)
    row = base_row(rule) | {"area_km2": ctx.area_km2, "area_source": ctx.area_note or Note("area.user", km2=ctx.area_km2)}
    if net is None:
        km, junctions, dual = 0.0, 0, 0.0
    else:
        km = length_inside(net, ctx.area_pieces()) / 1000.0
        ways = ctx.ways()[ctx.select("ways", _road_selector(rule))] if _road_selector(rule) else ctx.ways()
        dual = dual_carriageway_m(ways, rule.params.get("dual_carriageway_m", 0.0), ctx.area_pieces()) / 1000.0
        km -= dual
        degree = np.bincount(np.r_[net.u, net.v], minlength=net.n_nodes)
        inside = shapely.intersects_xy(ctx.area, *net.node_xy.T)
        junctions = int(((degree >= 3) & inside).sum())
    row.update(road_km=km, dual_carriageway_km=dual, junctions=junctions, junctions_per_km2=junctions / ctx.area_km2)
    need = rule.params["min_km_per_km2"]
    value = km / ctx.area_km2
    _finish(rule, row, value, "km of road per km²", f">= {need:g} km/km²", bool(value >= need))
    return RuleResult(rule, row)


def cut_way_ends(ways: pd.DataFrame) -> np.ndarray:
    """OSM ids of the nodes where the extract cut a way (``cut_start`` / ``cut_end`` of
    :attr:`OSMData.ways`): the data ends there, not the street.
    """
    if "cut_start" not in ways or len(ways) == 0:
        return np.zeros(0, dtype=np.int64)
    ids = ways["node_ids"].to_list()
    start = [n[0] for n, c in zip(ids, ways["cut_start"].to_numpy()) if c]
    end = [n[-1] for n, c in zip(ids, ways["cut_end"].to_numpy()) if c]
    return np.asarray(start + end, dtype=np.int64)


@rule_kind("dead_ends")
def dead_ends_rule(rule: Rule, ctx: Context) -> RuleResult:
    """Ends of streets (degree-1 nodes) inside the area, except ends within ``boundary_m`` of the
    extract's or the given analysed area's edge, and ends of ways the extract cut (their next node is
    missing from the file): there the data ends, not the street. A list, not a verdict.

    The edge of an analysed area made from the data (the built-up land, the streets' hull) is not
    where the data ends: the streets go on beyond it in the extract, and the degree of a node is
    counted over all of them, so an end near that edge is a street's true end.
    """
    net = _roads(rule, ctx)
    row = base_row(rule)
    empty = gpd.GeoDataFrame({"osmid": [], "street": [], "highway": []}, geometry=gpd.GeoSeries([], crs=ctx.crs), crs=ctx.crs)
    why = Note("reason.list")
    if net is None:
        _finish(rule, row, 0.0, "dead-end streets", "list of candidates to connect", None, why, verdict=Verdict.LIST)
        return RuleResult(rule, row, {DEAD_ENDS: empty})
    degree = np.bincount(np.r_[net.u, net.v], minlength=net.n_nodes)
    one = np.flatnonzero(degree == 1)  # only street ends are measured against the edges
    xy = net.node_xy[one]
    pts = shapely.points(xy)
    edge_bound = gpd.GeoSeries([ctx.osm.boundary], crs=4326).to_crs(ctx.crs).iloc[0].exterior
    margin = rule.params.get("boundary_m", 0.0)
    far = shapely.distance(edge_bound, pts) > margin
    if ctx.area_source not in ("built-up", "streets"):
        far &= shapely.distance(shapely.boundary(ctx.area), pts) > margin
    cut = np.isin(net.node_osmid[one], cut_way_ends(ctx.osm.ways))
    ends = one[far & ~cut & shapely.intersects_xy(ctx.area, xy[:, 0], xy[:, 1])]
    row["cut_by_extract"] = int(cut.sum())
    # the street each dead end belongs to
    edge_of = np.full(net.n_nodes, -1)
    edge_of[net.v] = np.arange(net.n_edges)
    edge_of[net.u] = np.arange(net.n_edges)
    e = edge_of[ends]
    layer = gpd.GeoDataFrame(
        {
            "osmid": net.node_osmid[ends],
            "street": net.edge_values("name", e),
            "highway": net.edge_values("highway", e),
        },
        geometry=shapely.points(net.node_xy[ends]), crs=ctx.crs,
    )
    row["dead_ends"] = len(ends)
    _finish(rule, row, float(len(ends)), "dead-end streets", "list of candidates to connect", None, why, verdict=Verdict.LIST)
    return RuleResult(rule, row, {DEAD_ENDS: layer})
