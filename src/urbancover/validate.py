"""User layers checked once, at the boundary, before anything is measured (like OSMnx's ``_validate``).

Every layer a user hands to :func:`urbancover.evaluate` (area, compounds, population, units,
facilities) passes :func:`user_layer`: a CRS is required, degrees must look like degrees, unusable
rows are dropped and said so, invalid polygons are repaired, and a layer lying entirely off the
extract is refused. Every failure is an :class:`~urbancover.errors.InputError` naming the layer.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import shapely

from urbancover.errors import InputError
from urbancover.io.crs import require_crs
from urbancover.io.layers import check_degrees
from urbancover.io.offset import warn_if_offset
from urbancover.io.osm import OSMData
from urbancover.network import Network
from urbancover.present import Note


def user_layer(layer, name: str, osm: OSMData, net: Network, near_m: float, notes: list[str]) -> gpd.GeoDataFrame:
    """A user layer (area, compounds, population, units, facilities) checked before any measure.

    * it must carry a CRS, and a layer labelled in degrees must have coordinates within +-180 / +-90
      (a projected layer wrongly labelled EPSG:4326 is refused: "layer in metres declared as degrees");
    * rows without a usable geometry (missing, empty, NaN coordinates) are dropped, with a warning
      and a note;
    * invalid polygons (self-intersecting outlines such as a bow-tie) are repaired with
      ``shapely.make_valid``, with a note: area, containment and intersections are then right;
    * a layer none of whose features comes within ``near_m`` metres of the extract (its bounds and
      streets) is refused: it cannot serve or describe the extract, and a wrong CRS (a layer in
      degrees labelled as metres, a GCJ-02 list labelled as a projected CRS) is the usual cause.

    Returns a GeoDataFrame in the layer's own CRS.
    """
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
        msg = Note("layer.unusable", name=name, n=int(unusable.sum()), total=len(layer))
        warnings.warn(msg, UserWarning, stacklevel=4)
        notes.append(msg)
        layer = layer[~unusable]
        geoms = geoms[~unusable]
    if len(layer) == 0:
        return layer
    if layer.crs.is_geographic:
        check_degrees(layer, name, layer.crs, False)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
        layer = layer.copy()
        layer[layer.geometry.name] = gpd.GeoSeries(geoms, index=layer.index, crs=layer.crs)
        notes.append(Note("layer.repaired", name=name, n=int(invalid.sum())))
    extract = gpd.GeoSeries([osm.boundary], crs=4326).to_crs(net.crs).total_bounds
    streets = net.total_bounds
    box = shapely.box(min(extract[0], streets[0]), min(extract[1], streets[1]), max(extract[2], streets[2]), max(extract[3], streets[3]))
    with np.errstate(invalid="ignore"):
        mine = layer.geometry.to_crs(net.crs).to_numpy()
        gap = float(np.nanmin(shapely.distance(box, mine), initial=np.inf))
    if not gap <= near_m:
        minx, miny, maxx, maxy = layer.total_bounds
        hint = ""
        if layer.crs.is_projected and max(abs(minx), abs(maxx)) <= 180.0 and max(abs(miny), abs(maxy)) <= 90.0:
            hint = (f" Its coordinates (x {minx:.6g} .. {maxx:.6g}, y {miny:.6g} .. {maxy:.6g}) look like longitude/latitude "
                    f"in degrees but it is labelled {layer.crs.name} (metres): a layer in degrees declared as metres? "
                    "Declare it EPSG:4326 (layer.set_crs(4326, allow_override=True)).")
        far = f"{gap / 1000:,.1f} km" if np.isfinite(gap) else "infinitely far"
        raise InputError(
            f"{name}: lies entirely outside the extract {osm.path.name}: its nearest feature is {far} from the "
            f"extract's bounds (more than {near_m:.0f} m), so it can neither serve nor describe it. Check the layer's "
            f"coordinate system.{hint}"
        )
    return layer


def facility_layers(layers: dict | None, valid: set | None, net: Network, notes: list[str]) -> dict:
    """User facility layers in the network's CRS, checked for a CRS and for a GCJ-02/BD-09 offset."""
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
        notes.append(Note("facilities.user", key=key, n=len(layer)))
        out[key] = layer
    return out


def unit_layer(units, column: str, net: Network) -> gpd.GeoDataFrame:
    """Area units (subdistricts) as polygons in the network's CRS with a ``unit`` name column."""
    units = require_crs(units, "units")
    if column not in units:
        raise InputError(f"units: no column {column!r} naming the units; it has {list(units.columns)}.")
    polys = units[shapely.get_dimensions(units.geometry.values) == 2]
    if len(polys) == 0:
        raise InputError("units: the layer holds no polygons.")
    return gpd.GeoDataFrame({"unit": polys[column].astype(str).to_numpy()}, geometry=polys.geometry.to_crs(net.crs).to_numpy(), crs=net.crs)
