"""Reading and cleaning inputs: OSM extracts, user layers, coordinate systems (incl. GCJ-02/BD-09)."""

from urbancover.io.coords import (
    CHINA_BOX,
    OffsetCheck,
    OffsetEffect,
    bd09_to_gcj02,
    bd09_to_wgs84,
    detect_offset,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    offset_effect,
    out_of_china,
    parse_crs,
    read_layer,
    to_wgs84,
    transform_geometries,
    warn_if_offset,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from urbancover.io.crs import require_crs, utm_crs, utm_crs_for
from urbancover.io.osm import OSMData, read_osm

__all__ = [
    "CHINA_BOX", "OSMData", "OffsetCheck", "OffsetEffect", "bd09_to_gcj02", "bd09_to_wgs84", "detect_offset",
    "gcj02_to_bd09", "gcj02_to_wgs84", "offset_effect", "out_of_china", "parse_crs", "read_layer", "read_osm",
    "require_crs", "to_wgs84", "transform_geometries", "utm_crs", "utm_crs_for", "warn_if_offset",
    "wgs84_to_bd09", "wgs84_to_gcj02",
]
