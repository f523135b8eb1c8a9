"""Coverage tables and gap layers of the distance rules: who is not served, by network and by
straight-line distance.

Every distance kind (``radius``: the nearest facility of one category within a threshold;
``all_of``: a facility of *every* category within its own threshold, the 10-minute living circle,
reporting which categories each place is missing) is evaluated by one function,
:func:`distance_rule`, from the rule's :class:`~urbancover.measure.Measurement`.

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
from urbancover.measure import LAYER_UNITS, Measurement, gap_cells, measure
from urbancover.network import line_substrings
from urbancover.rules import Rule
from urbancover.selectors import describe


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
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    compound_served: np.ndarray | None = None
    residents_served: np.ndarray | None = None
    measurement: Measurement | None = None

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
    """Warn (and note) that no feature matches a rule's selector, or that the user's layer replacing
    them holds none: the rule becomes an all-gap."""
    user = next((k for k in (f"{rule.id}.{what}", rule.id) if k in ctx.user_facilities), None)
    if user is not None:
        msg = f"{rule.id}: the user's layer facilities[{user!r}] gives no {what}; reported as a gap everywhere."
    else:
        msg = f"{rule.id}: no {what} in the data matches {describe(selector)}; reported as a gap everywhere."
    warnings.warn(msg, stacklevel=4)  # the caller of evaluate(), through the rule's function
    ctx.notes.append(msg)


def distance_rule(rule: Rule, ctx: Context) -> RuleResult:
    """Every place of the demand within the threshold of a facility of each category (kinds
    ``radius`` and ``all_of``): shares by network and straight-line distance, unserved layers."""
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
    facilities = pd.concat([c.facilities[["geometry"]].assign(category=c.name, osmid=c.facilities["osmid"], name=c.facilities["name"]) for c in checks])
    result.layers["facilities"] = gpd.GeoDataFrame(facilities, geometry="geometry", crs=ctx.crs).reset_index(drop=True)
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
    if "residential_buildings" in rule.demand or "residents" in rule.demand:
        result.layers["gaps"] = gap_polygons(ctx, m)
    if m.unmatched is not None:
        result.layers["unmatched"] = m.unmatched
        if len(m.unmatched):
            ctx.notes.append(f"{rule.id}: {len(m.unmatched)} facilities count for no category (e.g. schools of unknown "
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
    cols = {}
    for k, c in enumerate(checks):
        suffix = f"_{c.name}" if len(checks) > 1 else ""
        cols[f"network_distance{suffix}"] = net_d[:, k]
        cols[f"straight_distance{suffix}"] = line_d[:, k]
    miss = net_d > thresholds
    net_ok = ~miss.any(axis=1)
    line_ok = (line_d <= thresholds).all(axis=1)
    label = LAYER_UNITS[layer]
    total = p.total
    if total == 0:
        which = f"{label} in old compounds" if only_old else label
        ctx.notes.append(f"{result.rule.id}: no {which} in the area; its share is undefined (NaN).")
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
            ctx.notes.append(
                f"{result.rule.id}: {int(cut.sum())} of {len(p)} {label} cannot reach any facility along the walking "
                "network (they lie on a part of it joined to none, or too far from every street); they count as unserved."
            )
    row = result.summary
    row[label] = total if layer == "residents" else len(p)
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
            names = np.full(len(p), "", dtype=object)
            for k, c in enumerate(checks):
                names = names + np.where(miss[:, k], c.name + ", ", "")
            out = out.assign(missing=[s[:-2] for s in names])
        keep = [c for c in out.columns if c not in ("tags", "demand_source", "home")]
        name = {"residents": "residents_unserved", "residential_buildings": "homes_unserved"}.get(layer, "compounds_unserved")
        result.layers[name] = out.loc[~net_ok, keep].reset_index(drop=True)
    return share


def _streets(m: Measurement, ctx: Context, result: RuleResult) -> float:
    """Exact shares of street length served; adds the unserved street pieces; returns the share."""
    net = ctx.network
    rule, checks, demand = m.rule, m.checks, m.streets
    covered = intervals.intersect(demand, m.covered())
    straight = intervals.intersect(demand, m.covered_straight())
    length = intervals.total(demand)
    covered_m, straight_m = intervals.total(covered), intervals.total(straight)
    roads = m.roads
    if roads is not None:  # roads not walkable themselves, measured from the nearest walkable point
        length += roads.total
        covered_m += float(roads.length[(roads.network_m <= m.thresholds).all(axis=1)].sum())
        straight_m += float(roads.length[(roads.straight_m <= m.thresholds).all(axis=1)].sum())
        ctx.notes.append(
            f"{rule.id}: {roads.total / 1000:.2f} km of the streets are not walkable themselves (sidewalks mapped as "
            f"separate ways): measured every {settings.road_piece_m:g} m from the nearest walkable point."
        )
    share = covered_m / length if length > 0 else np.nan
    row = result.summary
    row["street_km"] = length / 1000.0
    row["street_served"] = share
    row["street_served_straight"] = straight_m / length if length > 0 else np.nan
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
    layer = gpd.GeoDataFrame(cols, geometry=line_substrings(net.geometry[edge], start, end), crs=net.crs)
    if roads is not None:
        off = ~(roads.network_m <= m.thresholds).all(axis=1)
        extra = {"edge": np.full(int(off.sum()), -1), "highway": roads.highway[off], "name": roads.name[off], "length": roads.length[off]}
        for k, c in enumerate(checks):
            suffix = f"_{c.name}" if len(checks) > 1 else ""
            extra[f"dist_u{suffix}"] = roads.network_m[off, k]
            extra[f"dist_v{suffix}"] = roads.network_m[off, k]
        pieces = gpd.GeoDataFrame(extra, geometry=roads.geometry[off], crs=net.crs)
        layer = gpd.GeoDataFrame(pd.concat([layer, pieces], ignore_index=True), geometry="geometry", crs=net.crs)
    result.layers["streets_unserved"] = layer
    return share


def gap_polygons(ctx: Context, m: Measurement, cell: float | None = None) -> gpd.GeoDataFrame:
    """Residential land (compounds and home footprints in the area) farther than the threshold.

    The land is sampled with the evaluation's grid of ``cell`` metres (:func:`urbancover.measure.gap_cells`,
    built once for every rule); a cell is a gap when its centre misses any check; gap cells are merged
    and cut to the land. O(C) per rule for C cells on residential land, plus the union of its gap cells.
    """
    land, boxes, pts, snapped = gap_cells(ctx, cell)
    empty = gpd.GeoDataFrame({"area_m2": []}, geometry=gpd.GeoSeries([], crs=ctx.crs), crs=ctx.crs)
    if len(boxes) == 0:
        return empty
    gap = np.zeros(len(pts), bool)
    for c in m.checks:
        gap |= c.field.at_snapped(snapped, geoms=pts) > c.threshold
    if not gap.any():
        return empty
    geom = shapely.intersection(shapely.coverage_union_all(boxes[gap]), land)
    parts = shapely.get_parts(geom)
    parts = parts[shapely.get_dimensions(parts) == 2]
    return gpd.GeoDataFrame({"area_m2": shapely.area(parts)}, geometry=parts, crs=ctx.crs)
