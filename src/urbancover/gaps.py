"""Coverage tables and gap layers: who is not served, by network and by straight-line distance.

:func:`evaluate` runs a rule set on an extract and returns a :class:`Report`; the functions below it
evaluate one rule on layers you already have.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urbancover.demand import demand_points, residential_buildings
from urbancover.engine import (
    _merge_intervals,
    _ranges,
    distance_field,
    parts_inside,
    straight_line_distance,
    straight_line_intervals,
    uncovered_intervals,
)
from urbancover.errors import InputError
from urbancover.io.crs import require_crs
from urbancover.io.osm import OSMData, read_osm
from urbancover.network import Network, line_substrings, walk_network
from urbancover.rules import Rule, RuleSet, load_rules
from urbancover.selectors import describe, select


@dataclass
class RuleResult:
    """What one rule measured: a summary row and its gap layers (GeoDataFrames keyed by name)."""

    rule: Rule
    summary: dict
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)


@dataclass
class Report:
    """Results of :func:`evaluate`.

    Attributes
    ----------
    summary : DataFrame
        One row per rule: id, names, clause, threshold, measured shares by network and by
        straight-line distance, target, pass/fail.
    results : dict
        Rule id -> :class:`RuleResult` with the gap layers of that rule.
    network : Network
        The walking network used.
    notes : list of str
        What the evaluation assumed or could not do (missing facilities, estimates ...).
    """

    summary: pd.DataFrame
    results: dict[str, RuleResult]
    network: Network
    notes: list[str] = field(default_factory=list)

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Every gap layer, named ``<rule id>__<layer>``."""
        return {f"{rid}__{name}": gdf for rid, res in self.results.items() for name, gdf in res.layers.items()}

    def to_gpkg(self, path: str | os.PathLike) -> Path:
        """Write every layer and the summary table to one GeoPackage (overwritten), in the network's CRS."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.unlink()
        for name, gdf in self.layers().items():
            _for_file(gdf).to_file(path, layer=name, driver="GPKG")
        import pyogrio

        pyogrio.write_dataframe(_for_file(self.summary), path, layer="summary", driver="GPKG")
        return path


def _for_file(df: pd.DataFrame) -> pd.DataFrame:
    """Copy with dict/list columns as JSON text, which GeoPackage can store."""
    out = df.copy()
    for col in out.columns:
        if col == getattr(out, "_geometry_column_name", None):
            continue
        if out[col].dtype == object and out[col].map(lambda v: isinstance(v, (dict, list, tuple, np.ndarray))).any():
            out[col] = out[col].map(
                lambda v: json.dumps(list(v) if isinstance(v, (tuple, np.ndarray)) else v, ensure_ascii=False)
                if isinstance(v, (dict, list, tuple, np.ndarray)) else v
            )
    return out


def evaluate(
    source: str | os.PathLike | OSMData,
    rules: str | os.PathLike | RuleSet = "zhengzhou-2018",
    *,
    area=None,
    network: Network | None = None,
    only: list[str] | None = None,
) -> Report:
    """Evaluate a rule set on an OSM extract.

    Parameters
    ----------
    source
        Path of an OSM extract, or what :func:`urbancover.read_osm` returned.
    rules
        A preset name (``"zhengzhou-2018"``), a rule file path, or a loaded :class:`RuleSet`.
    area
        The analysed area: a GeoDataFrame/GeoSeries (any CRS) or a shapely polygon in EPSG:4326.
        Homes and street length are counted inside it; facilities and streets of the whole
        extract serve them, so an extract reaching beyond the area avoids edge effects.
        Default: the extract's bounds.
    network
        A walking network built from ``source`` (built if not given).
    only
        Rule ids to evaluate (default: all).

    Returns
    -------
    Report

    Examples
    --------
    >>> report = urbancover.evaluate("data/sample/shenzhen_longgang.osm.bz2")
    >>> report.summary[["id", "buildings_served", "buildings_served_straight"]]  # doctest: +SKIP
    """
    osm = source if isinstance(source, OSMData) else read_osm(source)
    ruleset = load_rules(rules)
    net = network if network is not None else walk_network(osm)
    area_geom, notes = _area(area, osm, net, ruleset)
    homes = residential_buildings(osm).to_crs(net.crs)
    homes = homes[shapely.intersects(area_geom, demand_points(homes).values)].reset_index(drop=True)
    in_area = parts_inside(net, np.array([area_geom]))[:3]
    if len(homes) == 0:
        notes.append("no residential buildings found: building-based shares are undefined (NaN).")
    chosen = [r for r in ruleset if only is None or r.id in only]
    if only is not None:
        missing = sorted(set(only) - {r.id for r in chosen})
        if missing:
            raise KeyError(f"rule set {ruleset.id!r} has no rule(s) {missing}.")
    features = osm.projected("features")
    results = {}
    for rule in chosen:
        facilities = features[select(features, rule.facilities)]
        if len(facilities) == 0:
            msg = (
                f"{rule.id}: no facility in the data matches {describe(rule.facilities)}; "
                "the whole area is reported as a gap."
            )
            warnings.warn(msg, stacklevel=2)
            notes.append(msg)
        results[rule.id] = radius_rule(rule, net, facilities, homes, in_area)
    summary = pd.DataFrame([r.summary for r in results.values()])
    return Report(summary=summary, results=results, network=net, notes=notes)


def _area(area, osm: OSMData, net: Network, ruleset: RuleSet) -> tuple[shapely.Geometry, list[str]]:
    """The analysed area in the network's CRS, and notes on it (source, margin for edge effects)."""
    notes = []
    if area is None:
        geom = gpd.GeoSeries([osm.boundary], crs=4326).to_crs(net.crs).iloc[0]
        notes.append(f"analysed area: the extract's bounds ({geom.area / 1e6:.2f} km²).")
    else:
        if isinstance(area, shapely.Geometry):
            area = gpd.GeoSeries([area], crs=4326)
        geom = require_crs(area, "area").to_crs(net.crs).geometry.union_all()
        if geom.is_empty or geom.area == 0:
            raise InputError("area: the analysed area is empty or has no area; give polygons.")
        notes.append(f"analysed area: {geom.area / 1e6:.2f} km² given by the user.")
    extract = gpd.GeoSeries([osm.boundary], crs=4326).to_crs(net.crs).iloc[0]
    margin = extract.exterior.distance(geom) if extract.contains(geom) else 0.0
    need = ruleset.max_threshold
    if margin < need:
        notes.append(
            f"the extract reaches only {margin:.0f} m beyond the analysed area, less than the largest "
            f"threshold ({need:.0f} m): facilities just outside it are missing, so coverage near the "
            "edge may be understated. Use an extract with that margin around the area."
        )
    return geom, notes


def radius_rule(
    rule: Rule,
    network: Network,
    facilities: gpd.GeoDataFrame,
    homes: gpd.GeoDataFrame,
    in_area: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> RuleResult:
    """Evaluate one radius rule: every place within ``rule.threshold`` metres of a facility.

    ``in_area`` restricts the street measure to intervals of edges (``edge, start, end``, as from
    :func:`urbancover.engine.parts_inside`); default every street.

    One multi-source pass serves every demand layer of the rule. It runs without a cut-off so the
    gap layers carry the real distance of every unserved place. Buildings are measured from a
    point on their surface; streets by the covered length of each edge.
    """
    threshold = rule.threshold
    field_ = distance_field(network, facilities, None, name=f"{rule.id} facilities")
    row = {
        "id": rule.id,
        "name_zh": rule.name_zh,
        "name_en": rule.name_en,
        "clause": rule.clause,
        "threshold_m": threshold,
        "facilities": len(facilities),
        "target": rule.target,
    }
    layers = {"facilities": facilities[["geometry"]].assign(osmid=facilities.get("osmid"), name=facilities.get("name"))}
    value = np.nan
    if "residential_buildings" in rule.demand:
        served, layer = building_coverage(field_, facilities, homes, threshold)
        row.update(served)
        layers["buildings_unserved"] = layer
        value = served["buildings_served"]
    if "streets" in rule.demand:
        served, layer = street_coverage(field_, facilities, threshold, in_area)
        row.update(served)
        layers["streets_unserved"] = layer
        if np.isnan(value):
            value = served["street_served"]
    row["value"] = value
    row["passed"] = bool(value >= rule.target) if not np.isnan(value) else None
    return RuleResult(rule=rule, summary=row, layers=layers)


def building_coverage(field_, facilities, homes, threshold):
    """Shares of homes served by network and straight-line distance, and the unserved homes."""
    pts = demand_points(homes)
    net_d = field_.at(pts, name="residential buildings")
    line_d = straight_line_distance(facilities, pts, crs=field_.network.crs)
    n = len(homes)
    served = {
        "buildings": n,
        "buildings_served": float((net_d <= threshold).mean()) if n else np.nan,
        "buildings_served_straight": float((line_d <= threshold).mean()) if n else np.nan,
    }
    out = homes.assign(network_distance=net_d, straight_distance=line_d)
    keep = [c for c in ("osmid", "name", "building", "demand_source", "network_distance", "straight_distance", "geometry") if c in out]
    return served, out.loc[net_d > threshold, keep].reset_index(drop=True)


def street_coverage(field_, facilities, threshold, in_area=None):
    """Shares of street length within the threshold by network and straight line, and the
    uncovered street pieces (edges split where coverage ends), counted inside ``in_area``."""
    net = field_.network
    if in_area is None:
        in_area = (np.arange(net.n_edges), np.zeros(net.n_edges), net.length.copy())
    area_len = _total(in_area)
    covered = field_.covered_intervals(threshold)
    straight = straight_line_intervals(net, facilities, threshold)
    served = {
        "street_km": area_len / 1000.0,
        "street_served": _overlap(covered, in_area) / area_len if area_len else np.nan,
        "street_served_straight": _overlap(straight, in_area) / area_len if area_len else np.nan,
    }
    edge, start, end = _intersect(uncovered_intervals(net, *covered), in_area)
    pieces = gpd.GeoDataFrame(
        {
            "edge": edge,
            "highway": net.edges["highway"].to_numpy()[edge] if "highway" in net.edges else None,
            "name": net.edges["name"].to_numpy()[edge] if "name" in net.edges else None,
            "length": end - start,
            "dist_u": field_.node_distance[net.u[edge]],
            "dist_v": field_.node_distance[net.v[edge]],
        },
        geometry=line_substrings(net.geometry[edge], start, end),
        crs=net.crs,
    )
    return served, pieces


def _total(intervals) -> float:
    return float(np.sum(intervals[2] - intervals[1]))


def _overlap(a, b) -> float:
    """Length of the intersection of two sets of disjoint intervals: |A| + |B| - |A u B|."""
    union = _merge_intervals(*(np.concatenate([x, y]) for x, y in zip(a, b)))
    return _total(a) + _total(b) - _total(union)


def _intersect(a, b):
    """Intersection of two sets of disjoint sorted intervals ``(edge, start, end)``, as intervals.

    Pairs every interval of ``a`` with the intervals of ``b`` on the same edge (few per edge)."""
    order = np.lexsort((b[1], b[0]))
    be, bs, bn = (x[order] for x in b)
    lo = np.searchsorted(be, a[0], side="left")
    cnt = np.searchsorted(be, a[0], side="right") - lo
    ai = np.repeat(np.arange(len(a[0])), cnt)
    bi = np.repeat(lo, cnt) + _ranges(cnt)
    start = np.maximum(a[1][ai], bs[bi])
    end = np.minimum(a[2][ai], bn[bi])
    keep = end - start > 1e-9
    return a[0][ai][keep], start[keep], end[keep]
