"""The inputs of one evaluation, prepared once and shared by every rule.

A :class:`Context` holds the extract, the walking network, the analysed area, the demand layers
(homes, residents, compounds, area units) in the network's metric CRS, and caches what several rules
share: one distance field per facility selector (the three toilet rules make one Dijkstra pass),
street networks per way selector.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urbancover import settings
from urbancover.demand import compounds as compounds_from, population_points, residential_buildings
from urbancover.engine import DistanceField, _merge_intervals, distance_field, parts_inside
from urbancover.errors import InputError
from urbancover.io.crs import require_crs
from urbancover.io.osm import OSMData
from urbancover.network import Network, Snapped, snap_geometries, walk_network
from urbancover.selectors import select


@dataclass(eq=False)
class Context:
    """Everything a rule needs, in the network's CRS. Build it with :func:`make_context`.

    Attributes
    ----------
    homes : GeoDataFrame
        Residential buildings inside the area, with ``residents`` and ``compound`` (row in
        ``compounds`` or -1).
    population : GeoDataFrame
        Weighted points where residents live (``residents``, ``home``, ``compound``).
    compounds : GeoDataFrame
        Compounds inside the area (most of their area), with ``old``.
    units : GeoDataFrame or None
        Area units (subdistricts) with a ``unit`` name column, when known.
    """

    osm: OSMData
    network: Network
    area: shapely.Geometry
    features: gpd.GeoDataFrame
    homes: gpd.GeoDataFrame
    population: gpd.GeoDataFrame
    compounds: gpd.GeoDataFrame
    units: gpd.GeoDataFrame | None
    notes: list[str] = field(default_factory=list)
    residents_estimated: bool = True
    compound_source: str = ""
    user_facilities: dict = field(default_factory=dict)
    _fields: dict = field(default_factory=dict, repr=False)
    _networks: dict = field(default_factory=dict, repr=False)
    _snapped: dict = field(default_factory=dict, repr=False)

    @property
    def crs(self):
        return self.network.crs

    @property
    def area_km2(self) -> float:
        return self.area.area / 1e6

    def facilities(
        self, selector, *, min_area_m2: float | None = None, inside: bool = False, user: str | None = None
    ) -> gpd.GeoDataFrame:
        """Features matching ``selector`` (whole extract, or only those meeting the area with
        ``inside``); polygons smaller than ``min_area_m2`` are dropped (points are kept only when
        ``min_area_m2`` is None, since their area is unknown). When the user gave a facility layer
        under the key ``user`` (a rule id, or ``rule.category``), that layer is used instead."""
        if user is not None and user in self.user_facilities:
            f = self.user_facilities[user]
        else:
            f = self.features[select(self.features, selector)]
        if min_area_m2 is not None:
            f = f[shapely.area(f.geometry.values) >= min_area_m2]
        if inside:
            f = f[shapely.intersects(f.geometry.values, self.area)]
        return f

    def field(
        self, selector, *, min_area_m2: float | None = None, name: str = "facilities", user: str | None = None
    ) -> tuple[DistanceField, gpd.GeoDataFrame]:
        """Distance field (no cut-off) of the facilities matching ``selector`` (or the user's layer
        under ``user``), computed once per selector."""
        mine = user is not None and user in self.user_facilities
        key = (json.dumps(selector, sort_keys=True, default=str), min_area_m2, user if mine else None)
        if key not in self._fields:
            fac = self.facilities(selector, min_area_m2=min_area_m2, user=user)
            sources = self.at_entrances(fac)
            self._fields[key] = (distance_field(self.network, sources, None, name=name, reach=settings.polygon_reach_m), fac)
        return self._fields[key]

    def at_entrances(self, facilities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """Polygon facilities with mapped entrances (gates, ``entrance=*`` nodes within
        :data:`settings.entrance_tolerance_m` of the outline) replaced by those entrance points,
        one row each (same attributes); other facilities unchanged. A walled park is then reached
        only through its gates. O(F log G) for F facilities and G entrances."""
        entrances = self.features[select(self.features, settings.entrance_selector)]
        entrances = entrances[shapely.get_type_id(entrances.geometry.values) == shapely.GeometryType.POINT]
        polys = np.flatnonzero(shapely.get_dimensions(facilities.geometry.values) == 2)
        if len(entrances) == 0 or len(polys) == 0:
            return facilities
        outline = shapely.boundary(facilities.geometry.values[polys])
        pi, gi = shapely.STRtree(entrances.geometry.values).query(
            outline, predicate="dwithin", distance=settings.entrance_tolerance_m
        )
        if len(pi) == 0:
            return facilities
        gated = polys[np.unique(pi)]
        keep = np.setdiff1d(np.arange(len(facilities)), gated)
        gates = facilities.iloc[polys[pi]].copy()
        gates["geometry"] = entrances.geometry.values[gi]
        return gpd.GeoDataFrame(
            pd.concat([facilities.iloc[keep], gates]), geometry="geometry", crs=facilities.crs
        )

    def snapped(self, key, geoms: np.ndarray, *, name: str = "places") -> Snapped:
        """Places (an array of geometries in the network's CRS) snapped onto the network, once per
        ``key`` for the whole evaluation: every rule measuring the same demand layer reuses it."""
        if key not in self._snapped:
            self._snapped[key] = snap_geometries(self.network, geoms, name=name)
        return self._snapped[key]

    def street_network(self, selector) -> Network:
        """Network of the ways matching ``selector`` (e.g. the drivable roads), computed once."""
        key = json.dumps(selector, sort_keys=True, default=str)
        if key not in self._networks:
            ways = self.osm.ways[select(self.osm.ways, selector)]
            self._networks[key] = walk_network(ways, filter=None, crs=self.crs) if len(ways) else None
        return self._networks[key]

    def street_intervals(self, streets=None, streets_in=None, streets_near=None, near_m: float = 0.0):
        """Parts of the walking network that are street demand: inside the area, on edges matching
        ``streets``, inside polygons matching ``streets_in``, within ``near_m`` of features matching
        ``streets_near``. Returns disjoint intervals ``(edge, start, end)``."""
        from urbancover.intervals import intersect

        net = self.network
        out = _merge_intervals(*parts_inside(net, np.array([self.area]))[:3])
        if streets:
            rows = np.flatnonzero(select(net.edges, streets))
            out = intersect(out, (rows, np.zeros(len(rows)), net.length[rows]))
        if streets_in:
            polys = self.facilities(streets_in).geometry.values
            polys = polys[shapely.get_dimensions(polys) == 2]
            out = intersect(out, _merge_intervals(*parts_inside(net, polys)[:3]))
        if streets_near:
            near = self.facilities(streets_near).geometry.values
            out = intersect(out, _merge_intervals(*parts_inside(net, shapely.buffer(near, near_m))[:3]))
        return out


def make_context(
    osm: OSMData,
    network: Network | None = None,
    *,
    area=None,
    compounds: gpd.GeoDataFrame | None = None,
    population: gpd.GeoDataFrame | str | os.PathLike | None = None,
    population_column: str = "population",
    units: gpd.GeoDataFrame | None = None,
    units_column: str = "name",
    facilities: dict | None = None,
    valid_facility_keys: set | None = None,
    margin_needed: float = 0.0,
) -> Context:
    """Prepare the inputs of an evaluation (see :func:`urbancover.evaluate` for the parameters)."""
    net = network if network is not None else walk_network(osm)
    # every user layer is checked the same way before use (see _user_layer)
    checked: list[str] = []
    reach = max(settings.max_snap_distance or 0.0, margin_needed)
    if area is not None:
        area = _user_layer(area, "area", osm, net, reach, checked)
    if compounds is not None:
        compounds = _user_layer(compounds, "compounds", osm, net, reach, checked)
    if population is not None and not isinstance(population, (str, os.PathLike)):
        population = _user_layer(population, "population", osm, net, reach, checked)
    if units is not None:
        units = _user_layer(units, "units", osm, net, reach, checked)
    facilities = {
        key: _user_layer(layer, f"facilities[{key!r}]", osm, net, reach, checked)
        if not (valid_facility_keys is not None and key not in valid_facility_keys) else layer
        for key, layer in (facilities or {}).items()
    }
    area_geom, notes = _area(area, osm, net, margin_needed)
    notes.extend(checked)
    features = osm.projected("features")
    homes_all = residential_buildings(osm).to_crs(net.crs)
    homes = homes_all[shapely.intersects(area_geom, shapely.point_on_surface(homes_all.geometry.values))].reset_index(drop=True)
    comp, comp_source = compounds_from(osm, compounds)
    comp = comp.to_crs(net.crs)
    inside = shapely.area(shapely.intersection(comp.geometry.values, area_geom)) > 0.5 * shapely.area(comp.geometry.values)
    comp = comp[inside].reset_index(drop=True)
    notes.append(f"compounds: {comp_source}; {len(comp)} in the area, {int(comp['old'].sum())} old.")
    pop, pop_source = population_points(homes, population, column=population_column)
    if population is not None:
        pop = pop[shapely.intersects(area_geom, pop.geometry.values)].reset_index(drop=True)
    notes.append(f"residents: {pop_source} ({pop['residents'].sum():,.0f} in the area).")
    homes = homes.assign(compound=_compound_of(homes, comp))
    if population is None:
        homes = homes.assign(residents=pop["residents"].to_numpy())
    else:
        w = np.zeros(len(homes))
        on_home = pop["home"].to_numpy() >= 0
        np.add.at(w, pop["home"].to_numpy()[on_home], pop["residents"].to_numpy()[on_home])
        homes = homes.assign(residents=w)
    pop = pop.assign(compound=_compound_of(pop, comp))
    if len(homes) == 0:
        notes.append("no residential buildings in the area: building-based shares are undefined.")
    unit_layer = _units(units, units_column, osm, net) if units is not None else None
    return Context(
        osm=osm, network=net, area=area_geom, features=features, homes=homes, population=pop,
        compounds=comp, units=unit_layer, notes=notes, residents_estimated=population is None,
        compound_source=comp_source,
        user_facilities=_user_facilities(facilities, valid_facility_keys, net, notes),
    )


def _user_facilities(layers: dict | None, valid: set | None, net: Network, notes: list[str]) -> dict:
    """User facility layers in the network's CRS, checked for a CRS and for a GCJ-02/BD-09 offset."""
    from urbancover.io.coords import warn_if_offset

    out = {}
    for key, layer in (layers or {}).items():
        if valid is not None and key not in valid:
            raise InputError(
                f"facilities: no rule or category {key!r} to replace; use a rule id or 'rule.category', one of {sorted(valid)}."
            )
        layer = require_crs(layer, f"facilities[{key!r}]")
        check = warn_if_offset(layer, net, name=f"facilities[{key!r}]", stacklevel=4)
        if check.flagged:
            notes.append(check.message)
        layer = layer.to_crs(net.crs)
        # a MultiPoint row is several facilities (each reached by its own access leg)
        multi = shapely.get_type_id(layer.geometry.values) == shapely.GeometryType.MULTIPOINT
        if multi.any():
            layer = layer.explode(index_parts=False)
        for col in ("osmid", "name"):
            if col not in layer:
                layer[col] = None
        notes.append(f"{key}: facilities from the user's layer ({len(layer)} features) instead of OSM.")
        out[key] = layer
    return out


def _user_layer(layer, name: str, osm: OSMData, net: Network, reach: float, notes: list[str]) -> gpd.GeoDataFrame:
    """A user layer (area, compounds, population, units, facilities) checked before any measure.

    * it must carry a CRS, and a layer labelled in degrees must have coordinates within +-180 / +-90
      (a projected layer wrongly labelled EPSG:4326 is refused: "layer in metres declared as degrees");
    * rows without a usable geometry (missing, empty, NaN coordinates) are dropped, with a warning
      and a note;
    * invalid polygons (self-intersecting outlines such as a bow-tie) are repaired with
      ``shapely.make_valid``, with a note: area, containment and intersections are then right;
    * a layer none of whose features comes within ``reach`` metres of the extract (its bounds and
      streets) is refused: it cannot serve or describe the extract, and a wrong CRS (a layer in
      degrees labelled as metres, a GCJ-02 list labelled as a projected CRS) is the usual cause.

    Returns a GeoDataFrame in the layer's own CRS.
    """
    from urbancover.io.coords import _check_degrees

    if isinstance(layer, shapely.Geometry):  # a bare polygon (area) is longitude/latitude
        layer = gpd.GeoSeries([layer], crs=4326)
    layer = require_crs(layer, name)
    if isinstance(layer, gpd.GeoSeries):
        layer = gpd.GeoDataFrame(geometry=layer.to_numpy(), index=layer.index, crs=layer.crs)
    if layer.attrs.get("path"):
        name = f"{name} ({layer.attrs['path']})"
    geoms = layer.geometry.to_numpy()
    unusable = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    coords, row = shapely.get_coordinates(geoms[~unusable], return_index=True)
    nan_rows = np.flatnonzero(~unusable)[np.unique(row[~np.isfinite(coords).all(axis=1)])]
    unusable[nan_rows] = True
    if unusable.any():
        msg = (f"{name}: {int(unusable.sum())} of {len(layer)} rows have no usable geometry (missing, empty or "
               "with NaN coordinates) and are ignored.")
        warnings.warn(msg, UserWarning, stacklevel=4)
        notes.append(msg)
        layer = layer[~unusable]
        geoms = geoms[~unusable]
    if len(layer) == 0:
        return layer
    if layer.crs.is_geographic:
        _check_degrees(layer, name, layer.crs, False)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
        layer = layer.copy()
        layer[layer.geometry.name] = gpd.GeoSeries(geoms, index=layer.index, crs=layer.crs)
        notes.append(f"{name}: {int(invalid.sum())} invalid geometries (e.g. self-intersecting outlines) repaired.")
    extract = gpd.GeoSeries([osm.boundary], crs=4326).to_crs(net.crs).total_bounds
    streets = net.edges.total_bounds
    box = shapely.box(min(extract[0], streets[0]), min(extract[1], streets[1]), max(extract[2], streets[2]), max(extract[3], streets[3]))
    with np.errstate(invalid="ignore"):
        mine = layer.geometry.to_crs(net.crs).to_numpy()
        gap = float(np.nanmin(shapely.distance(box, mine), initial=np.inf))
    if not gap <= reach:
        minx, miny, maxx, maxy = layer.total_bounds
        hint = ""
        if layer.crs.is_projected and max(abs(minx), abs(maxx)) <= 180.0 and max(abs(miny), abs(maxy)) <= 90.0:
            hint = (f" Its coordinates (x {minx:.6g} .. {maxx:.6g}, y {miny:.6g} .. {maxy:.6g}) look like longitude/latitude "
                    f"in degrees but it is labelled {layer.crs.name} (metres): a layer in degrees declared as metres? "
                    "Declare it EPSG:4326 (layer.set_crs(4326, allow_override=True)).")
        far = f"{gap / 1000:,.1f} km" if np.isfinite(gap) else "infinitely far"
        raise InputError(
            f"{name}: lies entirely outside the extract {osm.path.name}: its nearest feature is {far} from the "
            f"extract's bounds (more than {reach:.0f} m), so it can neither serve nor describe it. Check the layer's "
            f"coordinate system.{hint}"
        )
    return layer


def _compound_of(layer: gpd.GeoDataFrame, comp: gpd.GeoDataFrame) -> np.ndarray:
    """Row of the compound holding each feature's point on surface, -1 if none."""
    out = np.full(len(layer), -1, dtype=np.int64)
    if len(layer) and len(comp):
        pts = shapely.point_on_surface(layer.geometry.values)
        li, ci = shapely.STRtree(comp.geometry.values).query(pts, predicate="within")
        out[li] = ci
    return out


def _units(units, column, osm, net) -> gpd.GeoDataFrame:
    units = require_crs(units, "units")
    if column not in units:
        raise InputError(f"units: no column {column!r} naming the units; it has {list(units.columns)}.")
    polys = units[shapely.get_dimensions(units.geometry.values) == 2]
    if len(polys) == 0:
        raise InputError("units: the layer holds no polygons.")
    return gpd.GeoDataFrame({"unit": polys[column].astype(str).to_numpy()}, geometry=polys.geometry.to_crs(net.crs).to_numpy(), crs=net.crs)


def _area(area, osm: OSMData, net: Network, need: float) -> tuple[shapely.Geometry, list[str]]:
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
    if margin < need:
        notes.append(
            f"the extract reaches only {margin:.0f} m beyond the analysed area, less than the largest "
            f"threshold ({need:.0f} m): facilities just outside it are missing, so coverage near the "
            "edge may be understated. Use an extract with that margin around the area."
        )
    return geom, notes
