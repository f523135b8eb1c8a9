"""Reading and cleaning inputs: OSM extracts, user layers, coordinate systems."""

from urbancover.io.crs import require_crs, utm_crs, utm_crs_for
from urbancover.io.osm import OSMData, read_osm

__all__ = ["OSMData", "read_osm", "require_crs", "utm_crs", "utm_crs_for"]
