"""User layers checked once, at the boundary, before anything is measured (like OSMnx's ``_validate``).

Every layer a user hands to :func:`urbancover.evaluate` (area, compounds, population, units,
facilities) passes :func:`check_inputs` before the extract is read (a CRS is required, degrees must
look like degrees, unusable rows are dropped and said so, invalid polygons are repaired, counts and
name columns are checked), then :func:`user_layer` once the network is built: a layer lying entirely
off the extract is refused. Every failure is an :class:`~urbancover.core.errors.InputError` naming the layer.
"""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import shapely

from urbancover.core.errors import InputError, warn
from urbancover.evaluation.demand import check_compound_layer, check_population, raster_points
from urbancover.io.crs import require_crs
from urbancover.io.layers import check_degrees, read_layer
from urbancover.io.offset import warn_if_offset
from urbancover.io.osm import OSMData
from urbancover.network.walk import Network
from urbancover.present import Note


def _labelled(name: str, layer) -> str:
    """The layer's name in messages, with its file when it was read from one."""
    path = getattr(layer, "attrs", {}).get("path")
    return f"{name} ({path})" if path else name


def user_layer(layer, name: str, osm: OSMData, net: Network, near_m: float, notes: list[str], *,
               checked: bool = False) -> gpd.GeoDataFrame:
    """A user layer (area, compounds, population, units, facilities) checked before any measure.

    * :func:`check_layer` (what needs no extract; skipped with ``checked=True``, when
      :func:`check_inputs` did it before the extract was read);
    * a layer none of whose features comes within ``near_m`` metres of the extract (its bounds and
      streets) is refused: it cannot serve or describe the extract, and a wrong CRS (a layer in
      degrees labelled as metres, a GCJ-02 list labelled as a projected CRS) is the usual cause.

    Returns a GeoDataFrame in the layer's own CRS.
    """
    if not checked:
        layer = check_layer(layer, name, notes)
    if len(layer) == 0:
        return layer
    name = _labelled(name, layer)
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


def check_layer(layer, name: str, notes: list[str]) -> gpd.GeoDataFrame:
    """The checks of a user layer that need no extract, made before it is read.

    * it must carry a CRS, and a layer labelled in degrees must have coordinates within +-180 / +-90
      (a projected layer wrongly labelled EPSG:4326 is refused: "layer in metres declared as degrees");
    * rows without a usable geometry (missing, empty, NaN coordinates) are dropped, with a warning
      and a note; a layer with rows but none usable is refused (it would count as holding nothing:
      a facility layer would fail its rule everywhere);
    * invalid polygons (self-intersecting outlines such as a bow-tie) are repaired with
      ``shapely.make_valid``, with a note: area, containment and intersections are then right.

    Returns a GeoDataFrame in the layer's own CRS (a bare polygon is an area in longitude/latitude).
    """
    if isinstance(layer, shapely.Geometry):  # a bare polygon (area) is longitude/latitude
        layer = gpd.GeoSeries([layer], crs=4326)
    layer = require_crs(layer, name)
    if isinstance(layer, gpd.GeoSeries):
        layer = gpd.GeoDataFrame(geometry=layer.to_numpy(), index=layer.index, crs=layer.crs)
    name = _labelled(name, layer)
    geoms = layer.geometry.to_numpy()
    unusable = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    coords, row = shapely.get_coordinates(geoms[~unusable], return_index=True)
    nan_rows = np.flatnonzero(~unusable)[np.unique(row[~np.isfinite(coords).all(axis=1)])]
    unusable[nan_rows] = True
    if len(layer) and unusable.all():  # it would silently count as nothing: no facility, no resident
        raise InputError(f"{name}: none of its {len(layer)} rows has a usable geometry (all are missing, empty or "
                         "with NaN coordinates), so it would count as holding nothing. Check that the file has its "
                         "geometries (export it again with them), or leave the layer out.")
    if unusable.any():
        msg = Note("layer.unusable", name=name, n=int(unusable.sum()), total=len(layer))
        warn(msg, UserWarning)
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
    return layer


#: The analysed areas a user names rather than draws (``evaluate(area=...)``, ``--area``): ``"auto"``
#: (the default: the built-up land, or the hull of the streets where little land is built up),
#: ``"built-up"``, ``"streets"``, and ``"bounds"`` (the extract's box: the behaviour before
#: PLAN_RULES.md revision 3).
AREA_CHOICES = ("auto", "built-up", "streets", "bounds")


def check_area_choice(area: str) -> str:
    """``area`` as one of :data:`AREA_CHOICES`, or an InputError naming them."""
    name = area.strip().lower().replace("_", "-")
    if name not in AREA_CHOICES:
        raise InputError(f"area: {area!r} is not a polygon nor a named area; name one of {list(AREA_CHOICES)} "
                         "(built-up land, the streets' hull, the extract's box) or give polygons.")
    return name


def check_inputs(
    *,
    area=None,
    compounds=None,
    population=None,
    population_column: str = "population",
    units=None,
    units_column: str = "name",
    facilities: dict | None = None,
    valid_facility_keys: set | None = None,
) -> tuple[dict, list[str]]:
    """Every user input of an evaluation checked before the extract is read (what
    :func:`urbancover.evaluate` does first, so a bad layer costs no reading and no network).

    Each layer passes :func:`check_layer`; the area must hold some area; compounds must be
    polygons; population needs its count column with finite counts >= 0
    (:func:`urbancover.evaluation.demand.check_population`; a GeoTIFF grid is read here, a vector file with
    :func:`urbancover.read_layer`); units need their name column and polygons; facility layers
    must replace a rule or category (``valid_facility_keys``).

    Returns
    -------
    (dict, list of str)
        The checked layers by parameter name (``area``, ``compounds``, ``population``, ``units``,
        ``facilities``), for :func:`urbancover.evaluation.context.make_context` with ``checked_notes``; and the
        notes of the checks (rows dropped, polygons repaired).
    """
    notes: list[str] = []
    if isinstance(area, str):  # a named area (urbancover.evaluation.context makes it from the extract)
        area = check_area_choice(area)
    elif area is not None:
        area = check_layer(area, "area", notes)
        if not (shapely.area(area.geometry.to_numpy()) > 0).any():
            raise InputError(f"{_labelled('area', area)}: the analysed area is empty or has no area; give polygons.")
    if compounds is not None:
        compounds = check_compound_layer(check_layer(compounds, "compounds", notes))
    if population is not None:
        if isinstance(population, (str, os.PathLike)):
            if str(population).lower().endswith((".tif", ".tiff")):
                population = raster_points(population, column=population_column)
            else:
                population = read_layer(population, name=f"population {population}")
        population = check_layer(population, "population", notes)
        check_population(population, population_column, name=_labelled("population", population))
    if units is not None:
        units = check_layer(units, "units", notes)
        check_units(units, units_column)
    if facilities:
        check_facility_keys(facilities, valid_facility_keys)
        facilities = {key: check_layer(layer, f"facilities[{key!r}]", notes) for key, layer in facilities.items()}
    layers = {"area": area, "compounds": compounds, "population": population, "units": units, "facilities": facilities}
    return layers, notes


def check_facility_keys(keys, valid: set | None) -> None:
    """Refuse a user facility layer whose key names no rule (or ``rule.category``) that takes facilities."""
    for key in keys:
        if valid is not None and key not in valid:
            raise InputError(
                f"facilities: no rule or category {key!r} to replace; use a rule id or 'rule.category', one of "
                f"{sorted(valid)}."
            )


def check_units(units, column: str) -> None:
    """Refuse area units without the column naming them or without polygons."""
    if column not in units:
        raise InputError(f"{_labelled('units', units)}: no column {column!r} naming the units; it has "
                         f"{[c for c in units.columns if c != units.geometry.name]}.")
    if not (shapely.get_dimensions(units.geometry.values) == 2).any():
        raise InputError(f"{_labelled('units', units)}: the layer holds no polygons.")


def facility_layers(layers: dict | None, valid: set | None, net: Network, notes: list[str]) -> dict:
    """User facility layers in the network's CRS, checked for a CRS and for a GCJ-02/BD-09 offset."""
    out = {}
    check_facility_keys(layers or {}, valid)
    for key, layer in (layers or {}).items():
        layer = require_crs(layer, f"facilities[{key!r}]")
        check = warn_if_offset(layer, net, name=f"facilities[{key!r}]")
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
    check_units(units, column)
    polys = units[shapely.get_dimensions(units.geometry.values) == 2]
    return gpd.GeoDataFrame({"unit": polys[column].astype(str).to_numpy()}, geometry=polys.geometry.to_crs(net.crs).to_numpy(), crs=net.crs)
