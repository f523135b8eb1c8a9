"""Coverage tables and gap layers of the distance rules: who is not served, by network and by
straight-line distance.

Two rule kinds are distance rules, and both are measured by one function, :func:`measure`:

* ``radius``: the nearest facility of one category within a threshold;
* ``all_of``: a facility of *every* category within its own threshold (the 10-minute living circle),
  reporting which categories each place is missing.

Demand layers: ``residents`` (weighted points), ``residential_buildings``, ``compounds`` and
``streets`` (exact covered length per edge). Every measure is given by network distance and, beside
it, by straight-line distance.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urbancover import intervals, settings
from urbancover.context import Context
from urbancover.demand import demand_points
from urbancover.engine import DistanceField, straight_line_distance, straight_line_intervals
from urbancover.network import line_substrings
from urbancover.rules import Rule
from urbancover.selectors import describe


@dataclass
class RuleResult:
    """What one rule measured: a summary row, its layers, and per-place results for the report.

    ``compound_served`` (bool per compound of the context) and ``residents_served`` (bool per
    population point) are set by distance rules; they feed the per-compound and per-unit tables.
    """

    rule: Rule
    summary: dict
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    compound_served: np.ndarray | None = None
    residents_served: np.ndarray | None = None

    def __repr__(self) -> str:
        from urbancover.display import result_repr

        return result_repr(self)

    def _repr_html_(self) -> str:
        from urbancover.display import result_html

        return result_html(self)


@dataclass(frozen=True)
class Check:
    """One facility category a place must reach: its name, distance field, facilities and threshold."""

    name: str
    field: DistanceField
    facilities: gpd.GeoDataFrame
    threshold: float


def base_row(rule: Rule) -> dict:
    """The columns every summary row starts with."""
    return {"id": rule.id, "kind": rule.kind, "name_zh": rule.name_zh, "name_en": rule.name_en, "clause": rule.clause}


def warn_missing(rule: Rule, ctx: Context, selector, what: str = "facility") -> None:
    """Warn (and note) that no feature matches a rule's selector, or that the user's layer replacing
    them holds none: the rule becomes an all-gap."""
    user = next((k for k in (f"{rule.id}.{what}", rule.id) if k in ctx.user_facilities), None)
    if user is not None:
        msg = f"{rule.id}: the user's layer facilities[{user!r}] gives no {what}; reported as a gap everywhere."
    else:
        msg = f"{rule.id}: no {what} in the data matches {describe(selector)}; reported as a gap everywhere."
    warnings.warn(msg, stacklevel=4)  # the caller of evaluate(), through the rule's function
    ctx.notes.append(msg)


def radius_rule(rule: Rule, ctx: Context) -> RuleResult:
    """Every place of the demand within ``rule.threshold`` of a facility (kind ``radius``)."""
    fld, fac = ctx.field(
        rule.facilities, min_area_m2=rule.params.get("facility_min_area_m2"), name=f"{rule.id} facilities", user=rule.id
    )
    if len(fac) == 0:
        warn_missing(rule, ctx, rule.facilities)
    return measure(rule, ctx, [Check(rule.id, fld, fac, rule.threshold)])


def all_of_rule(rule: Rule, ctx: Context) -> RuleResult:
    """Every category within its threshold (kind ``all_of``); reports the missing categories."""
    checks = []
    for cat in rule.categories:
        fld, fac = ctx.field(cat.facilities, min_area_m2=cat.min_area_m2, name=f"{rule.id} {cat.name}", user=f"{rule.id}.{cat.name}")
        if len(fac) == 0:
            warn_missing(rule, ctx, cat.facilities, what=f"{cat.name}")
        checks.append(Check(cat.name, fld, fac, cat.threshold))
    return measure(rule, ctx, checks)


def measure(rule: Rule, ctx: Context, checks: list[Check]) -> RuleResult:
    """Measure a distance rule on each of its demand layers."""
    row = base_row(rule)
    many = len(checks) > 1
    row["threshold_m"] = np.nan if many else checks[0].threshold
    row["thresholds"] = ", ".join(f"{c.name} {c.threshold:g} m" for c in checks)
    row["facilities"] = sum(len(c.facilities) for c in checks)
    result = RuleResult(rule=rule, summary=row)
    facilities = pd.concat([c.facilities[["geometry"]].assign(category=c.name, osmid=c.facilities["osmid"], name=c.facilities["name"]) for c in checks])
    result.layers["facilities"] = gpd.GeoDataFrame(facilities, geometry="geometry", crs=ctx.crs).reset_index(drop=True)
    homes_only_old = rule.params.get("homes_in") == "old_compounds"
    first = None
    for layer in rule.demand:
        if layer == "streets":
            served = _streets(rule, ctx, checks, result)
        else:
            served = _places(layer, ctx, checks, result, homes_only_old)
        if first is None:
            first = (layer, served)
    layer, share = first
    row["measure"] = f"share of {layer.replace('_', ' ')} served"
    row["value"] = share
    row["target"] = rule.target
    row["target_text"] = f">= {rule.target:.0%}"
    row["passed"] = None if np.isnan(share) else bool(share >= rule.target - 1e-12)
    if "residential_buildings" in rule.demand or "residents" in rule.demand:
        result.layers["gaps"] = gap_polygons(ctx, checks)
    return result


def _points(layer: str, ctx: Context, only_old: bool) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray]:
    """(features, their points, weights) of a place-type demand layer."""
    if layer == "residents":
        feats = ctx.population
        keep = np.ones(len(feats), bool)
        if only_old:
            keep = _in_old(ctx, feats["compound"].to_numpy())
        feats = feats[keep]
        return feats, feats.geometry.values, feats["residents"].to_numpy(dtype=float)
    if layer == "residential_buildings":
        feats = ctx.homes
        if only_old:
            feats = feats[_in_old(ctx, feats["compound"].to_numpy())]
        return feats, demand_points(feats).values, np.ones(len(feats))
    if layer == "compounds":
        feats = ctx.compounds[ctx.compounds["old"].to_numpy()] if only_old else ctx.compounds
        return feats, demand_points(feats).values, np.ones(len(feats))
    raise ValueError(layer)  # pragma: no cover - validated by the rule loader


def _in_old(ctx: Context, compound: np.ndarray) -> np.ndarray:
    old = np.r_[ctx.compounds["old"].to_numpy(dtype=bool), False]  # compound -1 (none) -> False
    return old[compound]


_LABEL = {"residents": "residents", "residential_buildings": "buildings", "compounds": "compounds"}


def _places(layer, ctx, checks, result, only_old) -> float:
    """Network and straight-line shares of a place layer; adds its unserved layer; returns the share."""
    feats, pts, w = _points(layer, ctx, only_old)
    pts_gs = gpd.GeoSeries(pts, crs=ctx.crs)
    net_d = np.zeros((len(pts), len(checks)))
    line_d = np.zeros((len(pts), len(checks)))
    thresholds = np.array([c.threshold for c in checks])
    cols = {}
    for k, c in enumerate(checks):
        if len(pts):
            snapped = ctx.snapped((layer, only_old), np.asarray(pts), name=layer.replace("_", " "))
            net_d[:, k] = c.field.at_snapped(snapped, geoms=np.asarray(pts))
            line_d[:, k] = straight_line_distance(c.facilities, pts_gs, crs=ctx.crs)
        suffix = f"_{c.name}" if len(checks) > 1 else ""
        cols[f"network_distance{suffix}"] = net_d[:, k]
        cols[f"straight_distance{suffix}"] = line_d[:, k]
    miss = net_d > thresholds
    net_ok = ~miss.any(axis=1)
    line_ok = (line_d <= thresholds).all(axis=1)
    label = _LABEL[layer]
    total = float(w.sum())
    if total == 0:
        which = f"{label} in old compounds" if only_old else label
        ctx.notes.append(f"{result.rule.id}: no {which} in the area; its share is undefined (NaN).")
    share = float(w[net_ok].sum() / total) if total > 0 else np.nan
    places = [d for d in result.rule.demand if d != "streets"]
    if layer == ("residential_buildings" if "residential_buildings" in places else places[0]):
        # places no facility can reach at all (another part of a disconnected network, or too far
        # from every street to be placed on it): unserved, and said so rather than hidden in a share
        cut = np.zeros(len(pts), bool)
        for k, c in enumerate(checks):
            if len(c.facilities):
                cut |= np.isinf(net_d[:, k])
        if cut.any():
            ctx.notes.append(
                f"{result.rule.id}: {int(cut.sum())} of {len(pts)} {label} cannot reach any facility along the walking "
                "network (they lie on a part of it joined to none, or too far from every street); they count as unserved."
            )
    row = result.summary
    row[label] = total if layer == "residents" else len(pts)
    row[f"{label}_served"] = share
    row[f"{label}_served_straight"] = float(w[line_ok].sum() / total) if total > 0 else np.nan
    if layer == "residents":
        if not only_old and len(feats) == len(ctx.population):
            result.residents_served = net_ok
        if len(checks) > 1 and total > 0:
            lack = (w[:, None] * miss).sum(axis=0) / total
            row["missing"] = "; ".join(f"{c.name} {v:.0%}" for c, v in zip(checks, lack) if v > 0) or "none"
    if layer == "compounds" and not only_old:
        result.compound_served = net_ok
    if layer in ("residential_buildings", "compounds") or (layer == "residents" and "residential_buildings" not in result.rule.demand):
        out = feats.assign(**cols)
        if len(checks) > 1:
            names = np.full(len(pts), "", dtype=object)
            for k, c in enumerate(checks):
                names = names + np.where(miss[:, k], c.name + ", ", "")
            out = out.assign(missing=[m[:-2] for m in names])
        keep = [c for c in out.columns if c not in ("tags", "demand_source", "home")]
        name = {"residents": "residents_unserved", "residential_buildings": "homes_unserved"}.get(layer, "compounds_unserved")
        result.layers[name] = out.loc[~net_ok, keep].reset_index(drop=True)
    return share


def _streets(rule, ctx, checks, result) -> float:
    """Exact shares of street length served; adds the unserved street pieces; returns the share."""
    net = ctx.network
    p = rule.params
    demand = ctx.street_intervals(p.get("streets"), p.get("streets_in"), p.get("streets_near"), p.get("streets_near_m", 0.0))
    covered = demand
    straight = demand
    for c in checks:
        covered = intervals.intersect(covered, c.field.covered_intervals(c.threshold))
        straight = intervals.intersect(straight, straight_line_intervals(net, c.facilities, c.threshold))
    length = intervals.total(demand)
    share = intervals.total(covered) / length if length > 0 else np.nan
    row = result.summary
    row["street_km"] = length / 1000.0
    row["street_served"] = share
    row["street_served_straight"] = intervals.total(straight) / length if length > 0 else np.nan
    if length == 0:
        ctx.notes.append(f"{rule.id}: no street in the area matches the rule's street demand; share undefined.")
    # uncovered = demand minus covered
    edge, start, end = intervals.intersect(intervals.complement(*covered, net.length), demand)
    cols = {
        "edge": edge,
        "highway": net.edges["highway"].to_numpy()[edge] if "highway" in net.edges else None,
        "name": net.edges["name"].to_numpy()[edge] if "name" in net.edges else None,
        "length": end - start,
    }
    for c in checks:
        suffix = f"_{c.name}" if len(checks) > 1 else ""
        cols[f"dist_u{suffix}"] = c.field.node_distance[net.u[edge]]
        cols[f"dist_v{suffix}"] = c.field.node_distance[net.v[edge]]
    result.layers["streets_unserved"] = gpd.GeoDataFrame(cols, geometry=line_substrings(net.geometry[edge], start, end), crs=net.crs)
    return share


def gap_polygons(ctx: Context, checks: list[Check], cell: float | None = None) -> gpd.GeoDataFrame:
    """Residential land (compounds and home footprints in the area) farther than the threshold.

    The land is sampled with a grid of ``cell`` metres (default :data:`settings.gap_cell_m`); a
    cell is a gap when its centre misses any check; gap cells are merged and cut to the land.
    O(C log E) for C cells on residential land.
    """
    cell = settings.gap_cell_m if cell is None else cell
    land_parts = np.concatenate([ctx.compounds.geometry.values, ctx.homes.geometry.values])
    empty = gpd.GeoDataFrame({"area_m2": []}, geometry=gpd.GeoSeries([], crs=ctx.crs), crs=ctx.crs)
    if len(land_parts) == 0:
        return empty
    land = shapely.intersection(shapely.union_all(shapely.make_valid(land_parts)), ctx.area)
    if land.is_empty:
        return empty
    minx, miny, maxx, maxy = land.bounds
    xs = np.arange(minx + cell / 2, maxx, cell)
    ys = np.arange(miny + cell / 2, maxy, cell)
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    shapely.prepare(land)
    # a cell counts when it overlaps the land; test its centre and, for thin land, its own box
    boxes = shapely.box(gx - cell / 2, gy - cell / 2, gx + cell / 2, gy + cell / 2)
    on_land = shapely.intersects(land, boxes)
    gx, gy, boxes = gx[on_land], gy[on_land], boxes[on_land]
    pts = shapely.points(gx, gy)
    snapped = ctx.snapped(("gap grid", cell), pts, name="gap grid")  # the same grid for every rule
    gap = np.zeros(len(pts), bool)
    for c in checks:
        gap |= c.field.at_snapped(snapped, geoms=pts) > c.threshold
    if not gap.any():
        return empty
    geom = shapely.intersection(shapely.coverage_union_all(boxes[gap]), land)
    parts = shapely.get_parts(geom)
    parts = parts[shapely.get_dimensions(parts) == 2]
    return gpd.GeoDataFrame({"area_m2": shapely.area(parts)}, geometry=parts, crs=ctx.crs)
