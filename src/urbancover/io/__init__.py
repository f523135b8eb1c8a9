"""Reading and cleaning inputs: OSM extracts, user layers, coordinate systems (incl. GCJ-02/BD-09).

Nothing here measures a distance: :mod:`~urbancover.io.osm` reads extracts,
:mod:`~urbancover.io.crs` picks the metric CRS, :mod:`~urbancover.io.datum` holds the GCJ-02 / BD-09
maths, :mod:`~urbancover.io.layers` reads user layers with their declared CRS and
:mod:`~urbancover.io.offset` checks a layer for a forgotten conversion.
"""

from urbancover.io.crs import require_crs, utm_crs, utm_crs_for
from urbancover.io.datum import (
    CHINA_BOX,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    transform_geometries,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from urbancover.io.layers import parse_crs, read_layer, to_wgs84
from urbancover.io.offset import OffsetCheck, detect_offset, warn_if_offset
from urbancover.io.osm import OSMData, read_osm

__all__ = [
    "CHINA_BOX", "OSMData", "OffsetCheck", "bd09_to_gcj02", "bd09_to_wgs84", "detect_offset",
    "gcj02_to_bd09", "gcj02_to_wgs84", "out_of_china", "parse_crs", "read_layer", "read_osm",
    "require_crs", "to_wgs84", "transform_geometries", "utm_crs", "utm_crs_for", "warn_if_offset",
    "wgs84_to_bd09", "wgs84_to_gcj02",
]
