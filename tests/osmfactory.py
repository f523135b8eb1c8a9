"""Write tiny hand-made OSM XML extracts for tests.

Coordinates are given in metres in a UTM zone (default EPSG:32650, near Shenzhen) and converted to
lon/lat with pyproj, so the expected distances of a test can be worked out by hand in metres.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import pyproj

X0, Y0 = 500_000.0, 2_510_000.0  # origin of the hand-made cities (UTM 50N, lat ~22.7)


def write_osm(
    path: Path,
    nodes: dict[int, tuple[float, float] | tuple[float, float, dict]],
    ways: list[tuple[int, list[int], dict]] = (),
    relations: list[tuple[int, list[tuple[str, int, str]], dict]] = (),
    *,
    epsg: int = 32650,
    bounds: tuple[float, float, float, float] | None = None,
) -> Path:
    """Write an .osm file. ``nodes``: id -> (x, y[, tags]) in metres from (X0, Y0) in ``epsg``;
    ``ways``: (id, node ids, tags); ``relations``: (id, [(type, ref, role)], tags);
    ``bounds``: (minx, miny, maxx, maxy) in the same local metres, written as the header box."""
    to_ll = pyproj.Transformer.from_crs(epsg, 4326, always_xy=True)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="urbancover-tests">']
    if bounds is not None:
        (minlon, minlat), (maxlon, maxlat) = (to_ll.transform(X0 + bounds[0], Y0 + bounds[1]),
                                              to_ll.transform(X0 + bounds[2], Y0 + bounds[3]))
        lines.append(f'<bounds minlat="{minlat:.9f}" minlon="{minlon:.9f}" maxlat="{maxlat:.9f}" maxlon="{maxlon:.9f}"/>')
    for nid, spec in nodes.items():
        x, y = spec[0], spec[1]
        tags = spec[2] if len(spec) > 2 else {}
        lon, lat = to_ll.transform(X0 + x, Y0 + y)
        body = "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        lines.append(f'<node id="{nid}" version="1" lat="{lat:.9f}" lon="{lon:.9f}">{body}</node>')
    for wid, refs, tags in ways:
        body = "".join(f'<nd ref="{r}"/>' for r in refs)
        body += "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        lines.append(f'<way id="{wid}" version="1">{body}</way>')
    for rid, members, tags in relations:
        body = "".join(f'<member type="{t}" ref="{r}" role="{role}"/>' for t, r, role in members)
        body += "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        lines.append(f'<relation id="{rid}" version="1">{body}</relation>')
    lines.append("</osm>")
    path = Path(path)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def local_xy(gdf):
    """Coordinates of a projected layer relative to the test origin (X0, Y0)."""
    import shapely

    xy = shapely.get_coordinates(gdf.geometry.values)
    return xy - [X0, Y0]


def square(x0, y0, size):
    """Ring of a square as a list of (x, y) corners, closed."""
    return [(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size), (x0, y0)]
