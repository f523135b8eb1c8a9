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


def rect(x0, y0, x1, y1):
    """The four corners of a rectangle in local metres, counter-clockwise from (x0, y0)."""
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def closed_way(nodes, ways, wid, corners, tags):
    """Add a closed way ``wid`` through ``corners`` (local metres) to the ``nodes``/``ways`` of
    :func:`write_osm`; its nodes are numbered ``wid * 10 + i``.
    """
    ids = []
    for i, xy in enumerate(corners):
        nodes[wid * 10 + i] = xy
        ids.append(wid * 10 + i)
    ways.append((wid, ids + [ids[0]], tags))


def utm_box(x0, y0, x1, y1):
    """A rectangle in local metres as a one-row GeoSeries in UTM 50N (the hand-made cities' CRS)."""
    import geopandas as gpd
    import shapely

    return gpd.GeoSeries([shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)], crs=32650)


def pbf_blobs(data: bytes) -> list[tuple[int, int, str]]:
    """(start, end, type) of every blob of a .pbf file's bytes: a 4-byte length, the BlobHeader
    (its type in field 1, the blob's size in field 3, a varint), then the Blob."""
    out, pos = [], 0
    while pos < len(data):
        hlen = int.from_bytes(data[pos:pos + 4], "big")
        header = data[pos + 4:pos + 4 + hlen]
        tlen = header[1]
        kind = header[2:2 + tlen].decode()
        assert header[2 + tlen] == 0x18  # field 3, varint
        i, size, shift = 2 + tlen + 1, 0, 0
        while True:
            b = header[i]
            size |= (b & 0x7F) << shift
            i, shift = i + 1, shift + 7
            if b < 0x80:
                break
        end = pos + 4 + hlen + size
        out.append((pos, end, kind))
        pos = end
    return out


def local_xy(gdf):
    """Coordinates of a projected layer relative to the test origin (X0, Y0)."""
    import shapely

    xy = shapely.get_coordinates(gdf.geometry.values)
    return xy - [X0, Y0]


def square(x0, y0, size):
    """Ring of a square as a list of (x, y) corners, closed."""
    return [(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size), (x0, y0)]


# -- shared tiny cities (tests/test_gaps.py works their answers by hand) -------------------------
def _home(first_id, cx, cy, size=20):
    """Nodes and a closed way for a square apartment building centred on (cx, cy)."""
    ring = square(cx - size / 2, cy - size / 2, size)[:-1]
    nodes = {first_id + i: xy for i, xy in enumerate(ring)}
    refs = [first_id + i for i in range(4)] + [first_id]
    return nodes, (first_id, refs, {"building": "apartments"})


def _city(tmp_path, stops=True):
    """A 1000 m street along y = 0; a bus stop 10 m off its west end; homes centred 40 m north
    of the street at x = 100, 470 and 900; a platform without bus=yes at x = 900 (not a bus stop)."""
    nodes = {1: (0, 0), 2: (500, 0), 3: (1000, 0)}
    ways = [(1, [1, 2, 3], {"highway": "residential"})]
    if stops:
        nodes[10] = (0, 10, {"highway": "bus_stop"})
    nodes[11] = (900, 10, {"public_transport": "platform", "train": "yes"})
    for k, x in enumerate((100, 470, 900)):
        hn, hw = _home(100 + 10 * k, x, 40)
        nodes.update(hn)
        ways.append(hw)
    return write_osm(tmp_path / "city.osm", nodes, ways, bounds=(-50, -100, 1050, 100))
