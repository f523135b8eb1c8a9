"""Density, ratio, count and network-form rules (PLAN_RULES.md section B).

Each rule kind is one small function ``(rule, ctx) -> RuleResult``; the numbers they compare with
come from the rule (``rule.params``), never from here. Facilities count when they meet the analysed
area; residents are those of the context (a population layer, or the estimate from homes).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely

from urbancover import intervals
from urbancover.context import Context
from urbancover.intervals import merge
from urbancover.snap import parts_inside
from urbancover.gaps import RuleResult, base_row, warn_missing
from urbancover.rules import Rule


def _finish(rule: Rule, row: dict, value: float, measure: str, target_text: str, passed) -> dict:
    row.update(value=value, measure=measure, target_text=target_text, passed=passed)
    return row


def _facility_layer(fac: gpd.GeoDataFrame, **extra) -> gpd.GeoDataFrame:
    cols = {"osmid": fac["osmid"].to_numpy(), "name": fac["name"].to_numpy(), **extra}
    return gpd.GeoDataFrame(cols, geometry=fac.geometry.to_numpy(), crs=fac.crs)


def _residents(ctx: Context, row: dict) -> float:
    total = float(ctx.population["residents"].sum())
    row["residents"] = total
    row["residents_estimated"] = ctx.residents_estimated
    return total


def density_rule(rule: Rule, ctx: Context) -> RuleResult:
    """Facilities per km² of the analysed area within ``[min_per_km2, max_per_km2]``."""
    fac = ctx.facilities(rule.facilities, inside=True, user=rule.id)
    if len(fac) == 0:
        warn_missing(rule, ctx, rule.facilities)
    lo, hi = rule.params.get("min_per_km2", 0.0), rule.params.get("max_per_km2", math.inf)
    value = len(fac) / ctx.area_km2
    row = base_row(rule) | {"facilities": len(fac), "area_km2": ctx.area_km2}
    target = f"{lo:g}-{hi:g} per km²" if math.isfinite(hi) else f">= {lo:g} per km²"
    _finish(rule, row, value, "facilities per km²", target, bool(lo <= value <= hi))
    return RuleResult(rule, row, {"facilities": _facility_layer(fac)})


def ratio_rule(rule: Rule, ctx: Context) -> RuleResult:
    """Residents per facility at most ``residents_per_facility_max`` (one facility per N residents)."""
    fac = ctx.facilities(rule.facilities, inside=True, user=rule.id)
    if len(fac) == 0:
        warn_missing(rule, ctx, rule.facilities)
    row = base_row(rule) | {"facilities": len(fac)}
    people = _residents(ctx, row)
    hi = rule.params["residents_per_facility_max"]
    lo = rule.params.get("residents_per_facility_min", hi)
    value = people / len(fac) if len(fac) else (math.inf if people > 0 else 0.0)
    row["facilities_needed"] = f"{math.ceil(people / hi)}-{math.ceil(people / lo)}" if lo != hi else f"{math.ceil(people / hi)}"
    _finish(rule, row, value, "residents per facility", f"one per {lo:,.0f}-{hi:,.0f} residents", bool(value <= hi))
    return RuleResult(rule, row, {"facilities": _facility_layer(fac)})


def area_per_capita_rule(rule: Rule, ctx: Context) -> RuleResult:
    """Facility area (polygons, overlaps counted once, cut to the area) per resident above a minimum."""
    fac = ctx.facilities(rule.facilities, inside=True, user=rule.id)
    if len(fac) == 0:
        warn_missing(rule, ctx, rule.facilities)
    polys = fac.geometry.values[shapely.get_dimensions(fac.geometry.values) == 2]
    area = shapely.intersection(shapely.union_all(shapely.make_valid(polys)), ctx.area).area if len(polys) else 0.0
    row = base_row(rule) | {"facilities": len(fac), "facility_area_m2": area, "facilities_without_area": int(len(fac) - len(polys))}
    people = _residents(ctx, row)
    value = area / people if people > 0 else math.nan
    need = rule.params["min_m2_per_person"]
    passed = None if math.isnan(value) else bool(value > need)
    _finish(rule, row, value, "m² per resident", f"> {need:g} m² per resident", passed)
    if row["facilities_without_area"]:
        ctx.notes.append(f"{rule.id}: {row['facilities_without_area']} facilities are points with no area and add nothing.")
    return RuleResult(rule, row, {"facilities": _facility_layer(fac, area_m2=shapely.area(fac.geometry.values))})


def min_area_rule(rule: Rule, ctx: Context) -> RuleResult:
    """Every facility of each category at least ``min_area_m2`` (footprint); points have no known area."""
    row = base_row(rule)
    layers, ok_all, known_all = [], 0, 0
    parts = []
    for cat in rule.categories:
        fac = ctx.facilities(cat.facilities, inside=True, user=f"{rule.id}.{cat.name}")
        if len(fac) == 0:
            warn_missing(rule, ctx, cat.facilities, what=cat.name)
        area = np.where(shapely.get_dimensions(fac.geometry.values) == 2, shapely.area(fac.geometry.values), np.nan)
        known = ~np.isnan(area)
        ok = known & (area >= cat.min_area_m2)
        ok_all += int(ok.sum())
        known_all += int(known.sum())
        parts.append(f"{cat.name}: {int(ok.sum())} of {len(fac)} >= {cat.min_area_m2:g} m² ({int((~known).sum())} without area)")
        layers.append(_facility_layer(fac, category=cat.name, area_m2=area, min_area_m2=cat.min_area_m2, meets=ok))
    row["detail"] = "; ".join(parts)
    row["facilities"] = sum(len(x) for x in layers)
    value = ok_all / known_all if known_all else math.nan
    passed = None if not known_all else bool(ok_all == known_all)
    _finish(rule, row, value, "share of facilities of known area meeting the minimum", "all", passed)
    return RuleResult(rule, row, {"facilities": gpd.GeoDataFrame(_concat(layers), crs=ctx.crs)})


def _concat(frames):
    import pandas as pd

    return pd.concat(frames, ignore_index=True) if frames else gpd.GeoDataFrame({"geometry": []})


def count_per_unit_rule(rule: Rule, ctx: Context) -> RuleResult:
    """At least ``min_count`` facilities in every area unit (subdistrict).

    Units: the user's unit layer, else OSM boundary polygons matching ``units`` (default
    ``admin_level=8``) that meet the area, cut to it; without any, the area is one unit (noted).
    """
    units = _units(rule, ctx)
    fac = ctx.facilities(rule.facilities, inside=True, user=rule.id)
    if len(fac) == 0:
        warn_missing(rule, ctx, rule.facilities)
    pts = shapely.point_on_surface(fac.geometry.values)
    pi, ui = shapely.STRtree(units.geometry.values).query(pts, predicate="within")
    counts = np.bincount(ui, minlength=len(units))
    need = rule.params["min_count"]
    units = units.assign(count=counts, meets=counts >= need)
    row = base_row(rule) | {"facilities": len(fac), "units": len(units), "units_failing": int((counts < need).sum())}
    _finish(rule, row, float(counts.min()) if len(counts) else math.nan, "fewest facilities in a unit", f">= {need:g} in every unit", bool((counts >= need).all()))
    return RuleResult(rule, row, {"units": units, "facilities": _facility_layer(fac)})


def _units(rule: Rule, ctx: Context) -> gpd.GeoDataFrame:
    if ctx.units is not None:
        return ctx.units.copy()
    selector = rule.params.get("units")
    if selector:
        b = ctx.facilities(selector, inside=True)
        b = b[shapely.get_dimensions(b.geometry.values) == 2]
        if len(b):
            geoms = shapely.intersection(b.geometry.values, ctx.area)
            names = b["name"].fillna(b["osmid"].astype(str)).astype(str).to_numpy()
            keep = shapely.area(geoms) > 0
            return gpd.GeoDataFrame({"unit": names[keep]}, geometry=geoms[keep], crs=ctx.crs)
    ctx.notes.append(f"{rule.id}: no area units (subdistrict boundaries) in the data or given; the area is counted as one unit.")
    return gpd.GeoDataFrame({"unit": ["analysed area"]}, geometry=[ctx.area], crs=ctx.crs)


def _roads(rule: Rule, ctx: Context):
    selector = rule.params.get("streets")
    net = ctx.street_network(selector) if selector else ctx.network
    if net is None:
        warn_missing(rule, ctx, selector, what="street")
    return net


def road_density_rule(rule: Rule, ctx: Context) -> RuleResult:
    """Km of road per km² of the area (exact length inside it), and junctions (degree >= 3) per km²."""
    net = _roads(rule, ctx)
    row = base_row(rule) | {"area_km2": ctx.area_km2}
    if net is None:
        km, junctions = 0.0, 0
    else:
        km = intervals.total(merge(*parts_inside(net, np.array([ctx.area]))[:3])) / 1000.0
        degree = np.bincount(np.r_[net.u, net.v], minlength=net.n_nodes)
        inside = shapely.intersects_xy(ctx.area, *shapely.get_coordinates(net.nodes.geometry.values).T)
        junctions = int(((degree >= 3) & inside).sum())
    row.update(road_km=km, junctions=junctions, junctions_per_km2=junctions / ctx.area_km2)
    need = rule.params["min_km_per_km2"]
    value = km / ctx.area_km2
    _finish(rule, row, value, "km of road per km²", f">= {need:g} km/km²", bool(value >= need))
    return RuleResult(rule, row)


def dead_ends_rule(rule: Rule, ctx: Context) -> RuleResult:
    """Ends of streets (degree-1 nodes) inside the area, except within ``boundary_m`` of the
    extract's boundary, where the data cuts the street rather than the city."""
    net = _roads(rule, ctx)
    row = base_row(rule)
    empty = gpd.GeoDataFrame({"osmid": [], "street": [], "highway": []}, geometry=gpd.GeoSeries([], crs=ctx.crs), crs=ctx.crs)
    if net is None:
        _finish(rule, row, 0.0, "dead-end streets", "list of candidates to connect", None)
        return RuleResult(rule, row, {"dead_ends": empty})
    degree = np.bincount(np.r_[net.u, net.v], minlength=net.n_nodes)
    xy = shapely.get_coordinates(net.nodes.geometry.values)
    edge_bound = gpd.GeoSeries([ctx.osm.boundary], crs=4326).to_crs(ctx.crs).iloc[0].exterior
    far = shapely.distance(edge_bound, net.nodes.geometry.values) > rule.params.get("boundary_m", 0.0)
    ends = np.flatnonzero((degree == 1) & far & shapely.intersects_xy(ctx.area, xy[:, 0], xy[:, 1]))
    # the street each dead end belongs to
    edge_of = np.full(net.n_nodes, -1)
    edge_of[net.v] = np.arange(net.n_edges)
    edge_of[net.u] = np.arange(net.n_edges)
    e = edge_of[ends]
    layer = gpd.GeoDataFrame(
        {
            "osmid": net.nodes["osmid"].to_numpy()[ends],
            "street": net.edges["name"].to_numpy()[e] if "name" in net.edges else None,
            "highway": net.edges["highway"].to_numpy()[e] if "highway" in net.edges else None,
        },
        geometry=net.nodes.geometry.values[ends], crs=ctx.crs,
    )
    row["dead_ends"] = len(ends)
    _finish(rule, row, float(len(ends)), "dead-end streets", "list of candidates to connect", None)
    return RuleResult(rule, row, {"dead_ends": layer})
