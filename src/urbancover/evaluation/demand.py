"""Demand layers: where people live, and the streets they walk.

Each function returns a GeoDataFrame that keeps its CRS and says in a ``demand_source`` column why a
row is demand, so a planner can check the selection.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from urbancover.core.errors import InputError
from urbancover.core.settings import Settings, resolve
from urbancover.core.tiles import union_by_tiles
from urbancover.io.crs import require_crs
from urbancover.io.osm import OSMData
from urbancover.present import Note


def residential_buildings(osm: OSMData | gpd.GeoDataFrame, *, settings: Settings | None = None) -> gpd.GeoDataFrame:
    """Homes among the OSM buildings.

    A building is a home when its ``building`` value is one of
    :data:`settings.residential_building_values` (``demand_source = "building tag"``), or when it is
    ``building=yes`` and lies mostly inside a ``landuse`` polygon of
    :data:`settings.residential_landuse_values` (``demand_source = "inside residential landuse"``);
    except a building carrying a single-use public function, an ``amenity`` of
    :data:`settings.home_excluded_amenities` (a kindergarten or a toilet block inside a compound,
    PLAN_RULES.md rev 3). Shops on the ground floor do not change a home.

    Parameters
    ----------
    osm
        What :func:`urbancover.read_osm` returned, or its ``features`` GeoDataFrame.
    settings
        The :class:`~urbancover.core.settings.Settings` (every function of this module takes it);
        default :func:`urbancover.core.settings.current`.

    Returns
    -------
    GeoDataFrame
        Building polygons in the input's CRS with ``demand_source``.
    """
    s = resolve(settings)
    features = osm.features if isinstance(osm, OSMData) else osm
    rows, by_tag = home_rows(features, s)
    out = features.iloc[rows].copy()
    out["demand_source"] = np.where(by_tag, "building tag", "inside residential landuse")
    return out.reset_index(drop=True)


def home_rows(features: gpd.GeoDataFrame, settings: Settings | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Positions (in ``features``) of the homes of :func:`residential_buildings`, in order, and
    whether each is a home by its ``building`` tag (else by lying in residential land).
    O(B log L) for B generic buildings and L residential land polygons.
    """
    s = resolve(settings)
    geom_dim = shapely.get_dimensions(features.geometry.values)
    poly_rows = np.flatnonzero(geom_dim == 2)
    polys = features.iloc[poly_rows]
    building = polys["building"].fillna("")
    public = polys["amenity"].isin(s.home_excluded_amenities).to_numpy() if "amenity" in polys else np.zeros(len(polys), bool)
    by_tag = building.isin(s.residential_building_values).to_numpy() & ~public
    generic = (building == "yes").to_numpy() & ~public
    landuse = polys[polys["landuse"].isin(s.residential_landuse_values).to_numpy() & (building == "").to_numpy()]
    in_landuse = np.zeros(len(polys), dtype=bool)
    if generic.any() and len(landuse):
        pts = shapely.point_on_surface(polys.geometry.values[generic])
        hit, _ = shapely.STRtree(landuse.geometry.values).query(pts, predicate="within")
        rows = np.flatnonzero(generic)[np.unique(hit)]
        in_landuse[rows] = True
    home = by_tag | in_landuse
    return poly_rows[home], by_tag[home]


def demand_points(layer: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """One point per demand feature (a point inside each polygon: ``point_on_surface``)."""
    return gpd.GeoSeries(shapely.point_on_surface(layer.geometry.values), index=layer.index, crs=layer.crs)


_YEAR = re.compile(r"(1[5-9]\d\d|20\d\d)")


def _year(value) -> float:
    """First plausible year in an OSM date/age tag ('1995', '1990-05', 'c. 1985', '~1978'), else NaN."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    m = _YEAR.search(str(value))
    return float(m.group(1)) if m else np.nan


def compounds(
    osm: OSMData | None = None,
    layer: gpd.GeoDataFrame | None = None,
    *,
    before_year: int | None = None,
    assume_old: bool | None = None,
    settings: Settings | None = None,
) -> tuple[gpd.GeoDataFrame, str]:
    """Residential compounds (小区) and whether each is old.

    Parameters
    ----------
    osm
        OSM data: compounds are its ``landuse=residential`` polygons, with a year from
        ``start_date`` or ``building:age``.
    layer
        A user layer (takes precedence): polygons with optional ``name`` and ``year_built`` columns.
    before_year
        A compound is old when built before this year (default
        :data:`settings.old_compound_before_year`).
    assume_old
        Whether compounds with no year count as old (default
        :data:`settings.assume_old_without_year`).

    Returns
    -------
    (GeoDataFrame, str)
        Compounds with ``name``, ``year_built``, ``old`` (bool) and ``old_source`` (why), in the
        input's CRS; and a sentence saying which source was used.
    """
    s = resolve(settings)
    before_year = s.old_compound_before_year if before_year is None else before_year
    assume_old = s.assume_old_without_year if assume_old is None else assume_old
    if layer is not None:
        polys = check_compound_layer(require_crs(layer, "compounds"))
        out = gpd.GeoDataFrame(
            {
                "name": polys["name"].to_numpy() if "name" in polys else np.full(len(polys), None, dtype=object),
                "year_built": pd.to_numeric(polys["year_built"], errors="coerce").to_numpy()
                if "year_built" in polys else np.full(len(polys), np.nan),
            },
            geometry=polys.geometry.to_numpy(), crs=polys.crs,
        )
        source = Note("compounds.user")
    else:
        f = osm.features
        polys = f[(f["landuse"].isin(s.residential_landuse_values)).to_numpy() & (shapely.get_dimensions(f.geometry.values) == 2)]
        years = [min(_year(t.get("start_date")), _year(t.get("building:age")), key=lambda v: (np.isnan(v), v)) for t in polys["tags"]]
        out = gpd.GeoDataFrame(
            {"name": polys["name"].to_numpy(), "osmid": polys["osmid"].to_numpy(), "year_built": np.asarray(years, dtype=float)},
            geometry=polys.geometry.to_numpy(), crs=polys.crs,
        )
        source = Note("compounds.osm")
    known = ~np.isnan(out["year_built"].to_numpy(dtype=float))
    old = np.where(known, out["year_built"].to_numpy(dtype=float) < before_year, assume_old)
    out["old"] = old.astype(bool)
    out["old_source"] = np.where(
        known, f"built before {before_year}" , "no year: assumed old" if assume_old else "no year: not counted as old"
    )
    out.loc[known & ~old, "old_source"] = f"built {before_year} or later"
    n_unknown = int((~known).sum())
    if n_unknown and len(out):
        source = Note("compounds.no_year_old" if assume_old else "compounds.no_year_new",
                      source=source, unknown=n_unknown, total=len(out))
    return out.reset_index(drop=True), source


def _levels(value) -> float:
    try:
        v = float(str(value).split(";")[0])
    except (TypeError, ValueError):
        return np.nan
    return v if 0 < v < 200 else np.nan


def default_levels(homes: gpd.GeoDataFrame, *, settings: Settings | None = None) -> np.ndarray:
    """Floors assumed for each home without ``building:levels``: by its ``building`` value from
    :data:`settings.default_levels_by_building`, else :data:`settings.default_building_levels`.
    """
    s = resolve(settings)
    table = s.default_levels_by_building
    kinds = homes["building"].to_list() if "building" in homes else [None] * len(homes)
    return np.array([float(table.get(k, s.default_building_levels)) for k in kinds], dtype=float)


def estimate_residents(homes: gpd.GeoDataFrame, *, levels: float | None = None, m2_per_person: float | None = None,
                       settings: Settings | None = None) -> np.ndarray:
    """Residents of each home: footprint area x floors / floor area per person.

    Floors come from ``building:levels`` where tagged, else ``levels`` when given, else the default
    of the building type (:func:`default_levels`: a house 2, an apartment block 6 ...);
    ``m2_per_person`` defaults to :data:`settings.floor_area_per_person`. ``homes`` must be in a
    metric CRS.
    """
    s = resolve(settings)
    m2 = s.floor_area_per_person if m2_per_person is None else m2_per_person
    if not homes.crs or not homes.crs.is_projected:
        raise InputError("estimate_residents: homes must be in a projected CRS in metres (e.g. their UTM zone).")
    tagged = np.array([_levels(v) for v in homes["building:levels"]]) if "building:levels" in homes else np.full(len(homes), np.nan)
    fallback = default_levels(homes, settings=s) if levels is None else np.full(len(homes), float(levels))
    floors = np.where(np.isnan(tagged), fallback, tagged)
    return shapely.area(homes.geometry.values) * floors / m2


def residential_land_km2(features: gpd.GeoDataFrame, area=None, *, settings: Settings | None = None) -> float:
    """Area (km²) of residential land: the union of ``landuse`` polygons of
    :data:`settings.residential_landuse_values`, cut to ``area`` when given
    (:func:`urbancover.core.tiles.union_by_tiles`). ``features`` in a projected CRS in metres.
    """
    s = resolve(settings)
    dims = shapely.get_dimensions(features.geometry.values)
    land = features[features["landuse"].isin(s.residential_landuse_values).to_numpy() & (dims == 2)]
    if len(land) == 0:
        return 0.0
    pieces = union_by_tiles(land.geometry.values, s.union_tile_m, area, settings=s)  # repairs invalid ones
    return float(shapely.area(pieces).sum()) / 1e6


def built_up_pieces(features: gpd.GeoDataFrame, clip=None, *, settings: Settings | None = None) -> np.ndarray:
    """Built-up land: ``landuse`` polygons of :data:`settings.built_up_landuse_values` and every
    building grown by :data:`settings.built_up_buffer_m`, united, cut to ``clip`` when given.
    ``features`` in a projected CRS in metres.

    Returns the land as polygons cut along tiles of :data:`settings.union_tile_m`
    (:func:`urbancover.core.tiles.union_by_tiles`: their union is the built-up land, no two share any
    area), so the cost is about linear in the buildings, where one union of a whole city grows
    faster (Malta's 13 000 buildings: 2.3 s against 3.7 s; 200 000 on a synthetic city: 30 s
    against 345 s). The buildings are grown block by block of tiles inside the union, so their
    grown copies are never all in memory at once. An empty array when nothing is built.

    The evaluation computes it once (:meth:`urbancover.evaluation.context.Context.built_up_land`): it is the
    default analysed area, and the toilet density's area under ``area="bounds"``.
    """
    s = resolve(settings)
    geoms = np.asarray(features.geometry.values)
    poly = shapely.get_dimensions(geoms) == 2
    land = geoms[features["landuse"].isin(s.built_up_landuse_values).to_numpy() & poly] if "landuse" in features else geoms[:0]
    buildings = geoms[features["building"].notna().to_numpy() & poly] if "building" in features else geoms[:0]
    grow = np.r_[np.zeros(len(land)), np.full(len(buildings), s.built_up_buffer_m)]
    return union_by_tiles(np.r_[land, buildings], s.union_tile_m, clip, grow=grow, settings=s)


@dataclass(frozen=True)
class Plausibility:
    """Whether a residents figure is plausible for the residential land it lives on.

    ``ok`` is None when it cannot be judged (no residential land mapped); ``message`` says why in
    one sentence for the report, to be shown beside every per-resident result.
    """

    ok: bool | None
    residents_per_km2: float
    message: str


def plausibility(residents: float, land_km2: float, *, low: float | None = None, high: float | None = None,
                 settings: Settings | None = None, estimated: bool = True) -> Plausibility:
    """Check residents per km² of residential land against the plausible range of old districts
    (:data:`settings.plausible_residents_per_km2`, 10 000-40 000). ``estimated``: the residents were
    estimated from the homes (the advice is to give a population layer), else they are the user's
    population layer (the advice is to check it).

    Examples
    --------
    >>> plausibility(7046, 0.1).ok  # 70 460 per km²: too many for the land
    False
    >>> plausibility(20000, 1.0).ok
    True
    """
    lo, hi = resolve(settings).plausible_residents_per_km2
    lo = lo if low is None else low
    hi = hi if high is None else high
    if land_km2 <= 0:
        return Plausibility(None, float("nan"), Note("residents.unchecked", total=residents))
    density = residents / land_km2
    if lo <= density <= hi:
        return Plausibility(True, density, Note("residents.plausible", density=density, lo=lo, hi=hi))
    return Plausibility(False, density, Note("residents.implausible", density=density, land_km2=land_km2, lo=lo, hi=hi,
                                             few=bool(density < lo), user=not estimated))


def check_population(layer: gpd.GeoDataFrame, column: str = "population", *, name: str = "population") -> np.ndarray:
    """The counts of a population layer, refused unless every one is a finite number >= 0.

    The one check of a population layer (:func:`urbancover.evaluate` makes it before reading the
    extract, :func:`population_points` when called directly). Rows are counted from 1, as a GIS
    table or a spreadsheet shows them, and the message says so.

    Returns
    -------
    ndarray of float
        The counts, one per row.

    Raises
    ------
    InputError
        Naming ``name``: no column ``column``, or how many values are missing, negative or infinite
        and the first such row.
    """
    if column not in layer:
        geometry = getattr(layer, "_geometry_column_name", None)
        raise InputError(f"{name}: no column {column!r}; it has {[c for c in layer.columns if c != geometry]}. "
                         f"Rename the column of residents to {column!r} (or, in Python, pass population_column=...).")
    values = pd.to_numeric(layer[column], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise InputError(f"{name}: column {column!r} has {int(bad.sum())} missing, negative or infinite value(s) "
                         f"(first at row {int(np.flatnonzero(bad)[0]) + 1}, counting from 1); give a finite count of "
                         "residents >= 0 for every feature.")
    return values


def check_compound_layer(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A user compound layer, refused unless every row is a polygon (an outline)."""
    polys = layer[shapely.get_dimensions(layer.geometry.values) == 2]
    if len(polys) < len(layer):
        raise InputError(f"compounds: {len(layer) - len(polys)} rows are not polygons; give compound outlines.")
    return polys


def population_points(
    homes: gpd.GeoDataFrame,
    population: gpd.GeoDataFrame | str | os.PathLike | None = None,
    *,
    column: str = "population",
    settings: Settings | None = None,
) -> tuple[gpd.GeoDataFrame, str]:
    """Weighted points where residents live, in the homes' (metric) CRS.

    Without ``population``, one point per home weighted by :func:`estimate_residents`. With a
    point layer, its points and ``column``. With a polygon layer (census tracts, communities), each
    polygon's population is spread over the homes inside it by floor area, or put at the polygon's
    point on surface when it holds no home.

    Returns the points (``residents``, ``home``: row of ``homes`` or -1) and a sentence on the source.
    """
    s = resolve(settings)
    if population is None:
        w = estimate_residents(homes, settings=s)
        pts = gpd.GeoDataFrame({"residents": w, "home": np.arange(len(homes))}, geometry=demand_points(homes).values, crs=homes.crs)
        return pts, Note("residents.estimated", per_person=s.floor_area_per_person,
                         apartments=s.default_levels_by_building.get("apartments", s.default_building_levels))
    if isinstance(population, (str, os.PathLike)) and str(population).lower().endswith((".tif", ".tiff")):
        population = raster_points(population, column=column)
    raster = population.attrs.get("source") == "raster"  # read from a grid here or by evaluate's check
    population = require_crs(population, "population")
    values = check_population(population, column)
    pop = population.to_crs(homes.crs)
    dims = shapely.get_dimensions(pop.geometry.values)
    if (dims == 0).all():
        points = gpd.GeoDataFrame({"residents": values, "home": -1}, geometry=pop.geometry.values, crs=homes.crs)
        return points, Note("residents.raster" if raster else "residents.points")
    if not (dims == 2).all():
        raise InputError("population: give either points or polygons, not a mix or lines.")
    floor = estimate_residents(homes, settings=s)  # proportional to floor area
    pts = demand_points(homes).values
    hi, pi = shapely.STRtree(pop.geometry.values).query(pts, predicate="within")
    hi, first = np.unique(hi, return_index=True)
    pi = pi[first]
    share = np.zeros(len(pop))
    np.add.at(share, pi, floor[hi])
    w_home = np.zeros(len(homes))
    w_home[hi] = values[pi] * floor[hi] / np.where(share[pi] > 0, share[pi], 1.0)
    empty = np.flatnonzero(share == 0)
    rows = np.flatnonzero(w_home > 0)
    out = gpd.GeoDataFrame(
        {
            "residents": np.r_[w_home[rows], values[empty]],
            "home": np.r_[rows, np.full(len(empty), -1)],
        },
        geometry=np.r_[pts[rows], shapely.point_on_surface(pop.geometry.values[empty])],
        crs=homes.crs,
    )
    return out, Note("residents.polygons")


def raster_points(path: str | os.PathLike, *, column: str = "population", band: int = 1) -> gpd.GeoDataFrame:
    """One point per cell of a population grid (GeoTIFF) with a positive count, at the cell centre.

    Needs rasterio (``pip install 'urbancover[raster]'``). Cells with no data (the grid's declared
    nodata value) or 0 are dropped. Every other cell must hold a finite count >= 0, as every
    feature of a population layer must: a negative, NaN or infinite cell not declared as no data is
    refused (:class:`InputError` naming the file, the number of such cells and the fix). O(cells).
    """
    try:
        import rasterio
    except ImportError as err:
        raise InputError(f"{path}: reading a population grid needs rasterio: pip install 'urbancover[raster]'.") from err
    try:
        with rasterio.open(path) as src:
            values = src.read(band, masked=True)
            transform, crs = src.transform, src.crs
    except rasterio.errors.RasterioIOError as err:
        raise InputError(f"{path}: cannot be read as a raster ({err}).") from err
    if crs is None:
        raise InputError(f"{path}: the grid has no CRS; set one (e.g. gdal_edit.py -a_srs EPSG:4326).")
    data = np.ma.getdata(values).astype(float)
    bad = ~np.ma.getmaskarray(values) & ~(np.isfinite(data) & (data >= 0))
    if bad.any():
        r, c = (int(i[0]) for i in np.nonzero(bad))
        raise InputError(
            f"population grid {path}: {int(bad.sum())} cell(s) of band {band} hold a negative, NaN or infinite population that is "
            f"not declared as no data (first at row {r}, column {c}: {data[r, c]:g}); a population grid needs a "
            "count >= 0 in every cell. If such cells mean 'no data', declare that value as the grid's nodata "
            f"(e.g. gdal_edit.py -a_nodata {data[r, c]:g} {path}); otherwise correct them."
        )
    filled = np.ma.filled(values.astype(float), 0.0)
    rows, cols = np.nonzero(filled > 0)
    xs, ys = rasterio.transform.xy(transform, rows, cols, offset="center")
    out = gpd.GeoDataFrame(
        {column: filled[rows, cols]}, geometry=gpd.points_from_xy(np.asarray(xs), np.asarray(ys)), crs=crs.to_wkt()
    )
    out.attrs["source"] = "raster"  # population_points names the grid as the residents' source
    return out
