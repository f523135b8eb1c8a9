"""Demand layers: where people live, and the streets they walk.

Each function returns a GeoDataFrame that keeps its CRS and says in a ``demand_source`` column why a
row is demand, so a planner can check the selection.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from urbancover import settings
from urbancover.io.osm import OSMData


def residential_buildings(osm: OSMData | gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Homes among the OSM buildings.

    A building is a home when its ``building`` value is one of
    :data:`settings.residential_building_values` (``demand_source = "building tag"``), or when it is
    ``building=yes`` and lies mostly inside a ``landuse`` polygon of
    :data:`settings.residential_landuse_values` (``demand_source = "inside residential landuse"``).

    Parameters
    ----------
    osm
        What :func:`urbancover.read_osm` returned, or its ``features`` GeoDataFrame.

    Returns
    -------
    GeoDataFrame
        Building polygons in the input's CRS with ``demand_source``.
    """
    features = osm.features if isinstance(osm, OSMData) else osm
    geom_dim = shapely.get_dimensions(features.geometry.values)
    polys = features[geom_dim == 2]
    building = polys["building"].fillna("")
    by_tag = building.isin(settings.residential_building_values).to_numpy()
    generic = (building == "yes").to_numpy()
    landuse = polys[polys["landuse"].isin(settings.residential_landuse_values).to_numpy() & (building == "").to_numpy()]
    in_landuse = np.zeros(len(polys), dtype=bool)
    if generic.any() and len(landuse):
        pts = shapely.point_on_surface(polys.geometry.values[generic])
        hit, _ = shapely.STRtree(landuse.geometry.values).query(pts, predicate="within")
        rows = np.flatnonzero(generic)[np.unique(hit)]
        in_landuse[rows] = True
    out = polys[by_tag | in_landuse].copy()
    out["demand_source"] = np.where(by_tag[by_tag | in_landuse], "building tag", "inside residential landuse")
    return out.reset_index(drop=True)


def demand_points(layer: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """One point per demand feature (a point inside each polygon: ``point_on_surface``)."""
    return gpd.GeoSeries(shapely.point_on_surface(layer.geometry.values), index=layer.index, crs=layer.crs)
