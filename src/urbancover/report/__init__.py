"""Maps and reports of an evaluation: static gap maps, an interactive map, a self-contained HTML report,
and the export of every layer to one GeoPackage.

>>> import urbancover as uc
>>> from urbancover import report as ucr
>>> r = uc.evaluate("data/sample/shenzhen_longgang.osm.bz2")              # doctest: +SKIP
>>> ucr.gap_map(r, "bus_stop_500", lang="zh", path="bus_stop_500.png")     # doctest: +SKIP
>>> ucr.interactive_map(r, path="map.html")                               # doctest: +SKIP
>>> ucr.html_report(r, "longgang.html", gpkg=True)                        # doctest: +SKIP

Static maps use matplotlib (Agg, no window) and the CJK font shipped in ``urbancover/fonts``;
the interactive map needs folium (``pip install "urbancover[maps]"``). Nothing here reaches the
network: no tiles unless asked for, Leaflet inlined. See docs/maps.md.
"""

from urbancover.report.common import FONT_FAMILY, font_families, font_path, street_distances
from urbancover.report.interactive import interactive_map
from urbancover.report.page import export_gpkg, html_report, summary_table
from urbancover.report.static import gap_map

__all__ = [
    "FONT_FAMILY",
    "export_gpkg",
    "font_families",
    "font_path",
    "gap_map",
    "html_report",
    "interactive_map",
    "street_distances",
    "summary_table",
]
