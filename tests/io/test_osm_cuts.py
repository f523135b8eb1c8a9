"""Extracts as the usual tools cut them (issue 20): every well-formed cut reads and gives the uncut
result where it is complete; what it cannot hold is named, never silently lost; deleted objects are
not data; a .pbf cut after its ways is reported.

The files are built here, as the tools build them, from one hand-made complete city: streets and
bus stops across the edge of a 1 km box, and park multipolygons inside it, across its edge, and
with a hole. Expected areas are worked out by hand from the node coordinates (metres, EPSG:32650).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import osmium
import pyproj
import pytest
import shapely
from osmfactory import X0, Y0, pbf_blobs, square, write_osm

import urbancover as uc
from urbancover.app.cli import main
from urbancover.core.errors import OSMReadError, TruncatedExtractWarning

BOX = (0.0, 0.0, 1000.0, 1000.0)  # the cut, in local metres
TO_LL = pyproj.Transformer.from_crs(32650, 4326, always_xy=True)
TO_M = pyproj.Transformer.from_crs(4326, 32650, always_xy=True)


def _rings():
    """Closed ways of the parks: id -> corner list (closed)."""
    return {
        100: square(200, 600, 200),  # park 10, first outer ring: inside the box
        101: square(800, 600, 400),  # park 10, second outer ring: across the east edge
        104: square(250, 250, 100),  # park 11's pond (inner), inside
        105: square(-200, 700, 300),  # park 12: across the west edge
        106: [(600, 100), (1100, 100), (1100, 400), (600, 400), (600, 100)],  # park 13: across the east edge
        107: square(700, 200, 100),  # park 13's courtyard (inner), inside
    }


def _city():
    """Nodes, ways and relations of the complete city."""
    nodes, ways, rels = {}, [], []
    nid = iter(range(1000, 100000))
    at = {}

    def node(x, y, tags=None):
        if (x, y) not in at:
            at[(x, y)] = next(nid)
            nodes[at[(x, y)]] = (x, y) if tags is None else (x, y, tags)
        return at[(x, y)]

    xs = range(-300, 1301, 200)  # streets every 200 m, from 300 m outside to 300 m outside
    ways.append((1, [node(x, 500) for x in xs], {"highway": "residential", "name": "East Road"}))
    ways.append((2, [node(500, y) for y in xs], {"highway": "footway"}))
    for x in (100, 900, 1200):  # two stops inside, one outside
        node(x, 510, {"highway": "bus_stop"})
    for wid, ring in _rings().items():
        ways.append((wid, [node(x, y) for x, y in ring], {}))
    ways.append((120, [node(x, y) for x, y in square(950, 800, 100)], {"building": "yes", "name": "Edge hall"}))
    # park 11's outer ring in two ways (as long outlines are drawn)
    ways.append((102, [node(200, 200), node(400, 200), node(400, 400)], {}))
    ways.append((103, [node(400, 400), node(200, 400), node(200, 200)], {}))
    ways.sort()
    park = {"type": "multipolygon", "leisure": "park"}
    rels = [
        (10, [("way", 100, "outer"), ("way", 101, "outer")], {**park, "name": "Two-part park"}),
        (11, [("way", 102, "outer"), ("way", 103, "outer"), ("way", 104, "inner")], {**park, "name": "Pond park"}),
        (12, [("way", 105, "outer")], {**park, "name": "Edge park"}),
        (13, [("way", 106, "outer"), ("way", 107, "inner")], {**park, "name": "Courtyard park"}),
    ]
    return nodes, ways, rels


def _inside(xy) -> bool:
    return BOX[0] <= xy[0] <= BOX[2] and BOX[1] <= xy[1] <= BOX[3]


def _simple_cut(nodes, ways, rels):
    """What ``osmium extract --strategy simple`` (and Overpass ``node(bbox);way(bn);rel(bw);``)
    keeps: the nodes in the box, the ways with a node in it (all their references, also those of
    the nodes left out), the relations with a member kept (all their members listed)."""
    kept_nodes = {k: v for k, v in nodes.items() if _inside(v)}
    kept_ways = [w for w in ways if any(r in kept_nodes for r in w[1])]
    ids = {w[0] for w in kept_ways}
    kept_rels = [r for r in rels if any(t == "way" and ref in ids for t, ref, _ in r[1])]
    return kept_nodes, kept_ways, kept_rels


def _box_ll() -> shapely.Polygon:
    x0, y0, x1, y1 = BOX
    ring = shapely.segmentize(shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1), 10)
    return shapely.transform(ring, lambda c: np.c_[TO_LL.transform(c[:, 0], c[:, 1])])


def _local(geom):
    """A lon/lat geometry in the test's local metres."""
    return shapely.transform(geom, lambda c: np.c_[TO_M.transform(c[:, 0], c[:, 1])] - [X0, Y0])


def _read(path, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        osm = uc.read_osm(path, **kw)
    return osm, [str(w.message) for w in caught]


def _parks(osm) -> dict[int, shapely.Geometry]:
    f = osm.features
    rel = f[(f["element"] == "relation") & (f["leisure"] == "park")]
    return {int(i): _local(g) for i, g in zip(rel["osmid"], rel.geometry.values)}


def _same_area(a, b) -> bool:
    """Equal up to libosmium's 1e-7 degree coordinates (~1 cm): same area, same outlines."""
    return abs(a.area - b.area) < 1e-4 * b.area and shapely.hausdorff_distance(a, b) < 0.05


def _ways_key(osm):
    w = osm.ways
    return sorted((int(i), tuple(n.tolist())) for i, n in zip(w["osmid"], w["node_ids"]))


def _stops(osm):
    f = osm.features
    return sorted(f.loc[f["highway"] == "bus_stop", "osmid"].astype(int).tolist())


POND_PARK = shapely.Polygon(square(200, 200, 200), [square(250, 250, 100)])


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    d = tmp_path_factory.mktemp("full")
    return write_osm(d / "full.osm", *_city())


def _to_pbf(src: Path) -> Path:
    dst = src.with_suffix(".osm.pbf")
    with osmium.SimpleWriter(str(dst)) as writer:
        for obj in osmium.FileProcessor(str(src)):
            writer.add(obj)
    return dst


def _overpass(path: Path) -> Path:
    """Overpass API's XML: a <note> and a <meta> element before the data."""
    text = path.read_text(encoding="utf-8").replace('generator="urbancover-tests">', (
        'generator="Overpass API 0.7.61.5 4133829e">\n<note>The data included in this document is from '
        'www.openstreetmap.org. The data is made available under ODbL.</note>\n'
        '<meta osm_base="2024-05-01T12:00:00Z"/>'), 1)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", ["simple.osm", "simple.osm.pbf", "overpass.osm"])
def test_simple_cut_reads_as_the_uncut_file_on_the_common_area(full, tmp_path, kind):
    """The usual district extract: park 10's second ring, park 12 and park 13's outer ring lost
    nodes at the edge. It reads (before: exit 2 "corrupt", libosmium refused its own text); streets
    and stops are those of the complete file in the box; park 11 is whole, park 10 is its complete
    ring; parks 12 and 13 are left out with a note naming them (13's courtyard is not an area), as
    is the building across the edge."""
    path = write_osm(tmp_path / "cut.osm", *_simple_cut(*_city()))
    if kind.startswith("overpass"):
        path = _overpass(path)
    if kind.endswith(".pbf"):
        path = _to_pbf(path)
    cut, messages = _read(path)
    ref, _ = _read(full, clip=_box_ll())
    assert _ways_key(cut) == _ways_key(ref) and len(_ways_key(cut)) == 2
    assert _stops(cut) == _stops(ref) and len(_stops(cut)) == 2
    parks = _parks(cut)
    assert sorted(parks) == [10, 11]
    assert _same_area(parks[11], POND_PARK)
    assert _same_area(parks[10], shapely.Polygon(square(200, 600, 200)))  # the ring in the box, not both
    full_parks = _parks(uc.read_osm(full))
    assert _same_area(full_parks[10], shapely.MultiPolygon([shapely.Polygon(r) for r in (_rings()[100], _rings()[101])]))
    left_out = [n for n in cut.notes if "relation(s) are incomplete" in n]
    assert len(left_out) == 1 and re.search(r"relation 12 \(multipolygon, leisure=park, 'Edge park'", left_out[0])
    assert "relation 13 (multipolygon, leisure=park, 'Courtyard park'" in left_out[0] and "relation 10 " not in left_out[0]
    partial = [n for n in cut.notes if "complete rings only" in n]
    assert len(partial) == 1 and "relation 10 (multipolygon, leisure=park, 'Two-part park': 1 without all their nodes)" in partial[0]
    lost_ways = [n for n in cut.notes if "tagged way(s)" in n]
    assert len(lost_ways) == 1 and "1 tagged way(s)" in lost_ways[0] and "way 120 (building=yes, 'Edge hall')" in lost_ways[0]
    assert all(n in messages for n in left_out + partial + lost_ways)  # warned too, as the reader's other notes


def test_ways_before_their_nodes_ask_for_osmium_sort(tmp_path):
    """Overpass's ``out; >; out skel;`` and some editors write ways before the nodes they use:
    libosmium locates nothing. Before: the file read as streets without a location (a truncation
    warning at best); now the sort error, as for an unsorted file."""
    path = write_osm(tmp_path / "complete.osm", *_city())
    lines = path.read_text(encoding="utf-8").split("\n")
    nodes = [ln for ln in lines if ln.startswith("<node")]
    rest = [ln for ln in lines if not ln.startswith("<node")]
    path.write_text("\n".join(rest[:-1] + nodes + rest[-1:]), encoding="utf-8")
    with pytest.raises(OSMReadError, match=r"osmium sort") as err:
        uc.read_osm(path)
    assert str(path) in str(err.value) and "comes after a way that uses it" in str(err.value)


def test_getid_without_r_reads_what_is_complete(full, tmp_path):
    """``osmium getid`` of the streets with their nodes, the stops and park 10 with its ways but
    without -r (so without the rings' nodes): the streets are those of the complete file, park 10
    is left out with a note."""
    nodes, ways, rels = _city()
    street_nodes = {r for w in ways if w[0] in (1, 2) for r in w[1]}
    stops = {k for k, v in nodes.items() if len(v) > 2}
    path = write_osm(tmp_path / "getid.osm", {k: v for k, v in nodes.items() if k in street_nodes | stops},
                     [w for w in ways if w[0] in (1, 2, 100, 101)], [r for r in rels if r[0] == 10])
    osm, _ = _read(path)
    ref = uc.read_osm(full)
    assert _ways_key(osm) == _ways_key(ref)
    assert _stops(osm) == _stops(ref) and _parks(osm) == {}
    assert any("relation 10 (multipolygon, leisure=park, 'Two-part park': 2 without all their nodes)" in n
               for n in osm.notes)


def test_a_relation_and_its_way_without_nodes_is_an_input_error(tmp_path, capsys):
    """The issue's smallest case (``osmium getid r2270908 w169123697``): exit 2 saying what is
    missing, not "truncated or corrupt" (before: InvalidLocationError from the reader's own text)."""
    nodes, ways, rels = _city()
    path = write_osm(tmp_path / "tiny.osm", {}, [w for w in ways if w[0] == 100], [(10, [("way", 100, "outer")], rels[0][2])])
    with pytest.raises(OSMReadError) as err:
        _read(path)
    assert "1 way(s) but none of the nodes they use" in str(err.value) and "corrupt" not in str(err.value)
    code = main(["analyze", str(path), "--out", str(tmp_path / "out"), "-q"])
    msg = capsys.readouterr().err
    assert code == 2 and "1 way(s) but none of the nodes they use" in msg and "corrupt" not in msg


def test_a_failure_of_the_reader_itself_is_a_bug_not_a_corrupt_file(full, monkeypatch, tmp_path, capsys):
    """Only libosmium's pass over the file may call it corrupt; before, any exception while
    reading became OSMReadError ("download it again") and the CLI's exit 2."""
    import urbancover.io.osm as reader

    def broken(*args, **kwargs):
        raise KeyError("a bug in the reader")

    monkeypatch.setattr(reader, "_way_geometries", broken)
    with pytest.raises(KeyError, match="a bug in the reader"):
        uc.read_osm(full)
    code = main(["analyze", str(full), "--out", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err
    assert code == 3 and "internal error: KeyError" in err and "corrupt" not in err


def _with_deletions(path: Path) -> Path:
    """The full city as JOSM saves it after deleting stop (100, 510) and street 2 (action="delete"),
    with stop (900, 510) invisible (visible="false", as in an osmChange or history file)."""
    nodes = _city()[0]
    ids = {xy[:2]: k for k, xy in nodes.items()}
    text = write_osm(path, *_city()).read_text(encoding="utf-8")
    text = text.replace(f'<node id="{ids[(100, 510)]}" version="1"', f'<node id="{ids[(100, 510)]}" version="1" action="delete"')
    text = text.replace(f'<node id="{ids[(900, 510)]}" version="1"', f'<node id="{ids[(900, 510)]}" version="1" visible="false"')
    text = text.replace('<way id="2" version="1"', "<way id='2' action='delete' version='1'")
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".osm", ".osm.bz2"])
def test_deleted_and_invisible_objects_are_not_data(full, tmp_path, suffix):
    """Before: both stops and street 2 were read as if they existed."""
    path = _with_deletions(tmp_path / "josm.osm")
    if suffix == ".osm.bz2":
        import bz2

        packed = tmp_path / "josm.osm.bz2"
        packed.write_bytes(bz2.compress(path.read_bytes()))
        path = packed
    osm, messages = _read(path)
    ref = uc.read_osm(full)
    assert len(_stops(ref)) == 3 and len(_stops(osm)) == 1  # only the stop outside the box is left
    assert sorted(osm.ways["osmid"].unique().tolist()) == [1]
    assert any("3 object(s) marked deleted" in n for n in osm.notes)
    assert any("3 object(s) marked deleted" in m for m in messages)
    net = uc.walk_network(osm)
    assert len(net.edges) and set(net.edges["osmid"].astype(int)) == {1}


def _blob_starts(data: bytes) -> list[tuple[int, str]]:
    """(start offset, type) of every blob of a .pbf."""
    return [(start, kind) for start, _, kind in pbf_blobs(data)]


def _parks_pbf(path: Path, n_parks: int) -> Path:
    """A small sorted .pbf: a street, a bus stop and ``n_parks`` parks mapped as multipolygon
    relations on untagged rings (one block of each type: its last way block is partly filled)."""
    def ll(x, y):
        return TO_LL.transform(X0 + x, Y0 + y)

    with osmium.SimpleWriter(str(path)) as w:
        w.add_node(osmium.osm.mutable.Node(id=1, location=ll(0, 0)))
        w.add_node(osmium.osm.mutable.Node(id=2, location=ll(500, 0)))
        w.add_node(osmium.osm.mutable.Node(id=3, location=ll(10, 10), tags={"highway": "bus_stop"}))
        for p in range(n_parks):
            for k, (x, y) in enumerate(square(100 * p, 100, 50)[:-1]):
                w.add_node(osmium.osm.mutable.Node(id=10 + 4 * p + k, location=ll(x, y)))
        w.add_way(osmium.osm.mutable.Way(id=1, nodes=[1, 2], tags={"highway": "residential"}))
        for p in range(n_parks):
            w.add_way(osmium.osm.mutable.Way(id=10 + p, nodes=[10 + 4 * p + k for k in (0, 1, 2, 3, 0)]))
        for p in range(n_parks):
            w.add_relation(osmium.osm.mutable.Relation(
                id=1 + p, members=[("w", 10 + p, "outer")], tags={"type": "multipolygon", "leisure": "park"}))
    return path


def test_pbf_cut_after_its_last_way_block_is_reported(tmp_path, capsys):
    """All relations lost, a partly filled last way block (the check before needed a full one):
    the untagged rings no relation holds show it. Before: read with exit 0 and no warning."""
    full = _parks_pbf(tmp_path / "parks.osm.pbf", 3)
    osm, messages = _read(full, strict=True)
    assert (osm.features["leisure"] == "park").sum() == 3 and not any("truncated" in m for m in messages)
    data = full.read_bytes()
    blobs = _blob_starts(data)
    assert [k for _, k in blobs] == ["OSMHeader", "OSMData", "OSMData", "OSMData"]  # nodes, ways, relations
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes(data[:blobs[-1][0]])
    with pytest.warns(TruncatedExtractWarning, match=r"possibly truncated: nothing follows its ways .* 3 of its ways "
                                                     r"have no tags .*\(e\.g\. way 10\)"):
        osm = uc.read_osm(cut)
    assert (osm.features["leisure"] == "park").sum() == 0 and any("truncated" in n for n in osm.notes)
    with pytest.raises(OSMReadError, match="possibly truncated"):
        uc.read_osm(cut, strict=True)
    code = main(["analyze", str(cut), "--out", str(tmp_path / "out"), "--strict", "-q"])
    assert code == 2 and "possibly truncated" in capsys.readouterr().err


def test_complete_pbf_without_relations_or_untagged_ways_is_not_reported(tmp_path):
    """A file of streets and stops alone (e.g. a tags-filter output) ends on its ways too, but
    holds no untagged way: nothing was lost."""
    path = _parks_pbf(tmp_path / "streets.osm.pbf", 0)
    osm, messages = _read(path, strict=True)
    assert len(osm.ways) == 1 and not any("truncated" in m for m in messages)


def test_new_objects_with_negative_ids_have_their_locations(tmp_path):
    """A JOSM file with objects not yet uploaded (negative ids): libosmium's location index keeps
    positive ids only. Before: the street and the park silently had no location (no way read)."""
    nodes = {-1: (0, 0), -2: (500, 0), -3: (1000, 0), -4: (10, 10, {"highway": "bus_stop"})}
    nodes.update({-10 - k: xy for k, xy in enumerate(square(200, 100, 100)[:-1])})
    ways = [(-1, [-1, -2, -3], {"highway": "residential"}), (-2, [-10, -11, -12, -13, -10], {})]
    rels = [(-1, [("way", -2, "outer")], {"type": "multipolygon", "leisure": "park"})]
    osm, _ = _read(write_osm(tmp_path / "new.osm", nodes, ways, rels))
    assert osm.ways["osmid"].tolist() == [-1]
    assert osm.projected("ways").length.sum() == pytest.approx(1000, abs=0.05)
    assert _same_area(_parks(osm)[-1], shapely.Polygon(square(200, 100, 100)))


def test_pbf_cut_inside_its_relation_blocks_is_reported(tmp_path):
    """8,500 parks: the relations fill a block of 8,000 and a block of 500; cut after the full one,
    the 500 rings of the lost parks belong to no relation. Before: read with exit 0, no warning."""
    n = 8500
    path = tmp_path / "parks.osm.pbf"
    with osmium.SimpleWriter(str(path)) as w:
        w.add_node(osmium.osm.mutable.Node(id=1, location=TO_LL.transform(X0, Y0)))
        w.add_node(osmium.osm.mutable.Node(id=2, location=TO_LL.transform(X0 + 500, Y0)))
        for p in range(n):  # a 10 m square per park on a 100 x 85 grid
            x, y = 20 * (p % 100), 20 + 20 * (p // 100)
            for k, (dx, dy) in enumerate([(0, 0), (10, 0), (10, 10), (0, 10)]):
                w.add_node(osmium.osm.mutable.Node(id=10 + 4 * p + k, location=TO_LL.transform(X0 + x + dx, Y0 + y + dy)))
        w.add_way(osmium.osm.mutable.Way(id=1, nodes=[1, 2], tags={"highway": "residential"}))
        for p in range(n):
            w.add_way(osmium.osm.mutable.Way(id=10 + p, nodes=[10 + 4 * p + k for k in (0, 1, 2, 3, 0)]))
        for p in range(n):
            w.add_relation(osmium.osm.mutable.Relation(
                id=1 + p, members=[("w", 10 + p, "outer")], tags={"type": "multipolygon", "leisure": "park"}))
    osm, messages = _read(path, strict=True)
    assert (osm.features["leisure"] == "park").sum() == n and not any("truncated" in m for m in messages)
    data = path.read_bytes()
    blobs = _blob_starts(data)
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes(data[:blobs[-1][0]])  # without the last block: relations 8001-8500
    with pytest.warns(TruncatedExtractWarning, match=r"possibly truncated: its last block holds 8,000 relations, a full "
                                                     r"block.* 500 of its 8,500 untagged ways .*\(e\.g\. way 8010\)"):
        osm = uc.read_osm(cut)
    assert (osm.features["leisure"] == "park").sum() == 8000
