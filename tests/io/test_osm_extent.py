"""Robust extents, truncated extracts and the libosmium reader (issue 15 items 3-4, issue 13 item 3)."""

from __future__ import annotations

import bz2
import warnings
from pathlib import Path

import numpy as np
import osmium
import pyproj
import pytest
import shapely
from osmfactory import pbf_blobs

import urbancover as uc
from urbancover.core import settings
from urbancover.core.errors import OSMReadError, TruncatedExtractWarning
from urbancover.io.extent import densified_box, street_extent, unwrap_lon

SAMPLE = Path(__file__).parents[2] / "data" / "sample"
SHENZHEN = SAMPLE / "shenzhen_longgang.osm.bz2"
SHANGHAI = SAMPLE / "shanghai_jingan_drive.osm.bz2"


def _xml(path: Path) -> str:
    return bz2.decompress(path.read_bytes()).decode("utf-8")


def _without_bounds(tmp_path: Path, extra_node: str = "") -> Path:
    lines = [ln for ln in _xml(SHENZHEN).splitlines() if "<bounds " not in ln]
    if extra_node:  # a lone node after the last node (the file must stay sorted by type and id)
        first_way = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("<way "))
        lines.insert(first_way, extra_node)
    out = tmp_path / "shenzhen_nobounds.osm"
    out.write_text("\n".join(lines), encoding="utf-8")
    return out


def _area_km2(osm) -> float:
    import geopandas as gpd

    return gpd.GeoSeries([osm.boundary], crs=4326).to_crs(osm.crs).area.iloc[0] / 1e6


def test_sample_without_header_gets_the_box_where_it_is_complete(tmp_path):
    """Issue 15 item 3: without <bounds> the default area was the streets' extent, 68.5 km² (102
    with the tagged objects near them), for an export of a 14.9 km² box: a CGImap export holds
    every way crossing its box in full. The compact ways (buildings, short streets) trace the box:
    the area must be the removed header's box, give or take the width of a compact way."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        osm = uc.read_osm(_without_bounds(tmp_path))
    header = shapely.box(114.1862, 22.6732, 114.2318, 22.7019)  # the <bounds> line that was removed
    got = shapely.box(*osm.bounds)
    assert shapely.area(got & header) / shapely.area(got | header) > 0.9
    assert 13.5 < _area_km2(osm) < 16.5  # the header box: 14.9 km²
    margin = 0.0015  # ~150 m in degrees here: a compact way is at most 100 m across
    assert header.buffer(margin, join_style="mitre").contains(got)
    assert osm.crs.to_epsg() == 32650
    assert any("no <bounds>" in n and "where the extract is complete" in n and "streets reach" in n for n in osm.notes)


def test_osmnx_sample_without_header_keeps_the_streets_extent(tmp_path):
    """The Shanghai sample is an OSMnx graph export: its ways end at the area's edge and its header
    box is the extent of its nodes. Without the header the default area is that box again."""
    text = _xml(SHANGHAI)
    start = text.index("<bounds ")
    bare = tmp_path / "shanghai_nobounds.osm"
    bare.write_text(text[:start] + text[text.index("/>", start) + 2:], encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with_header, without = uc.read_osm(SHANGHAI), uc.read_osm(bare)
    assert with_header.bounds == pytest.approx(without.bounds, abs=1e-7)
    assert any("where the extract is complete" in n and "streets reach" not in n for n in without.notes)


def test_stray_node_at_null_island_changes_nothing(tmp_path):
    """A tagged node at 0,0 moved the zone from 50 to 40 and the bus-stop share from 35.9 % to
    20.2 %: now the zone, the area and the rule's result are those of the clean file."""
    clean = _without_bounds(tmp_path)
    stray = tmp_path / "stray" / "shenzhen_stray.osm"
    stray.parent.mkdir()
    _without_bounds(stray.parent, '<node id="99999999999" version="1" lat="0" lon="0"><tag k="amenity" v="bench"/></node>').rename(stray)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b = uc.read_osm(clean), uc.read_osm(stray)
        assert (b.features["osmid"] == 99999999999).any()  # the node was read
        assert b.crs == a.crs and b.crs.to_epsg() == 32650
        assert b.bounds == a.bounds
        ra = uc.evaluate(a, only=["bus_stop_500"]).summary
        rb = uc.evaluate(b, only=["bus_stop_500"]).summary
    num = ra.select_dtypes("number").columns
    assert len(num) and np.allclose(ra[num].to_numpy(float), rb[num].to_numpy(float), equal_nan=True)


def test_street_extent_leaves_out_lone_vertices():
    """Hand-worked: 100 vertices in a 0.01° square at (114.1, 22.6) and one at 0,0. The median is
    in zone 50 (114.1 // 6 + 31 = 50); the gap to 0,0 is ~12 000 km > 10 km, and one vertex of 101
    is under 1 %: the box is the square's."""
    rng = np.random.default_rng(1)
    lon = np.r_[114.1 + 0.01 * rng.random(100), 0.0]
    lat = np.r_[22.6 + 0.01 * rng.random(100), 0.0]
    ext = street_extent(lon, lat)
    assert ext.crs.to_epsg() == 32650 and ext.outliers == 1
    assert ext.bounds == (lon[:100].min(), lat[:100].min(), lon[:100].max(), lat[:100].max())


def test_street_extent_keeps_a_second_island():
    """Two clusters 30 km apart holding 40 % and 60 % of the vertices: neither is an outlier."""
    lon = np.r_[np.full(40, 14.20), np.full(60, 14.55)]
    lat = np.r_[np.linspace(36.0, 36.05, 40), np.linspace(35.85, 35.9, 60)]
    ext = street_extent(lon, lat)
    assert ext.outliers == 0 and ext.bounds == (14.20, 35.85, 14.55, 36.05)


def test_unwrap_lon_across_the_antimeridian():
    lon, med = unwrap_lon(np.array([179.98, 179.99, -179.99, 179.97]))
    assert np.allclose(lon, [179.98, 179.99, 180.01, 179.97]) and med == pytest.approx(179.985)
    lon, med = unwrap_lon(np.array([-10.0, 10.0]))  # across Greenwich: nothing to unwrap
    assert np.allclose(lon, [-10.0, 10.0]) and med == 0.0


def _antimeridian_osm(path: Path) -> Path:
    """Three streets of Taveuni (Fiji, lat -16.8) crossing 180°: lon 179.990 .. 179.999, -179.999."""
    lons = [179.990, 179.993, 179.996, 179.999, -179.999]
    nodes = "".join(f'<node id="{i + 1}" version="1" lat="-16.8" lon="{lon}"/>' for i, lon in enumerate(lons))
    nodes += '<node id="10" version="1" lat="-16.799" lon="179.995"><tag k="highway" v="bus_stop"/></node>'
    way = "".join(f'<nd ref="{i + 1}"/>' for i in range(len(lons)))
    xml = (f'<?xml version="1.0"?><osm version="0.6">{nodes}<way id="1" version="1">{way}'
           '<tag k="highway" v="residential"/></way></osm>')
    path.write_text(xml)
    return path


def test_antimeridian_extract_gets_its_zone_and_a_small_area(tmp_path):
    """Zone 60 south (EPSG:32760), not the zone at lon 0; the street keeps its true length, computed
    on the ellipsoid with pyproj.Geod: 0.011° of longitude at lat -16.8, about 1.17 km."""
    osm = uc.read_osm(_antimeridian_osm(tmp_path / "taveuni.osm"))
    assert osm.crs.to_epsg() == 32760
    minlon, _, maxlon, _ = osm.bounds
    assert minlon == pytest.approx(179.990) and maxlon == pytest.approx(180.001)
    net = uc.walk_network(osm)
    geod = pyproj.Geod(ellps="WGS84")
    expected = geod.line_length([179.990, 179.999, -179.999], [-16.8, -16.8, -16.8])
    assert net.length.sum() == pytest.approx(expected, rel=1e-3)
    assert _area_km2(osm) < 1.0  # the box of the street (plus nothing), not the globe


def test_boundary_is_densified_before_reprojection():
    """A 0.6° box reprojected from its 4 corners has straight edges in UTM; the true lon/lat edge
    bends. The densified box follows the curve: its edge midpoint is the projected midpoint."""
    bounds = (113.2, 22.4, 113.8, 23.0)
    poly = densified_box(bounds)
    assert len(poly.exterior.coords) > 4 * 0.6 / settings.boundary_segment_deg
    to_utm = pyproj.Transformer.from_crs(4326, 32649, always_xy=True)
    proj = shapely.transform(poly, lambda xy: np.c_[to_utm.transform(xy[:, 0], xy[:, 1])])
    mid = shapely.Point(to_utm.transform(113.5, 23.0))
    assert proj.exterior.distance(mid) < 0.01
    corners = shapely.transform(shapely.box(*bounds), lambda xy: np.c_[to_utm.transform(xy[:, 0], xy[:, 1])])
    assert corners.exterior.distance(mid) > 1.0  # the 4-corner box misses it


# -- truncated extracts -----------------------------------------------------------------------
def _write_pbf(path: Path, n: int = 120) -> Path:
    """A sorted .pbf: an n x n grid of nodes (14 400 > one 8 000-node block) and a way per row."""
    w = osmium.SimpleWriter(str(path))
    try:
        for i in range(n * n):
            w.add_node(osmium.osm.mutable.Node(id=i + 1, location=(114.1 + (i % n) * 1e-4, 22.6 + (i // n) * 1e-4)))
        for r in range(n):
            w.add_way(osmium.osm.mutable.Way(id=r + 1, nodes=list(range(r * n + 1, r * n + n + 1)),
                                             tags={"highway": "residential"}))
    finally:
        w.close()
    return path


def _blob_ends(data: bytes) -> list[tuple[int, str]]:
    """(end offset, type) of every blob of a .pbf."""
    return [(end, kind) for _, end, kind in pbf_blobs(data)]


@pytest.fixture()
def grid_pbf(tmp_path):
    return _write_pbf(tmp_path / "grid.osm.pbf")


def test_complete_pbf_reads_without_warning(grid_pbf):
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncatedExtractWarning)
        osm = uc.read_osm(grid_pbf, strict=True)
    assert len(osm.ways) == 120 and not [n for n in osm.notes if "truncated" in n]


@pytest.mark.parametrize("cut", ["after_first_node_block", "after_all_node_blocks"])
def test_pbf_cut_at_a_block_boundary_is_reported(grid_pbf, tmp_path, cut):
    data = grid_pbf.read_bytes()
    ends = _blob_ends(data)
    assert ends[-1][0] == len(data) and len(ends) >= 4  # header, 2 node blocks, 1 way block
    end = ends[1][0] if cut == "after_first_node_block" else ends[-2][0]
    short = tmp_path / f"{cut}.osm.pbf"
    short.write_bytes(data[:end])
    with pytest.warns(TruncatedExtractWarning, match="possibly truncated"):
        try:
            osm = uc.read_osm(short)
        except OSMReadError:
            osm = None  # nothing usable left: refused, also fine
    if osm is not None:
        assert any("truncated" in n for n in osm.notes)
    with pytest.raises(OSMReadError, match="possibly truncated"):
        uc.read_osm(short, strict=True)


def _write_many_ways_pbf(path: Path, n: int = 120) -> Path:
    """A sorted .pbf of an n x n node grid with a two-node way per grid step along the rows:
    n (n - 1) = 14 280 ways, more than one 8 000-object block, and no relation."""
    w = osmium.SimpleWriter(str(path))
    try:
        for i in range(n * n):
            w.add_node(osmium.osm.mutable.Node(id=i + 1, location=(114.1 + (i % n) * 1e-4, 22.6 + (i // n) * 1e-4)))
        wid = 1
        for r in range(n):
            for c in range(n - 1):
                w.add_way(osmium.osm.mutable.Way(id=wid, nodes=[r * n + c + 1, r * n + c + 2], tags={"highway": "footway"}))
                wid += 1
    finally:
        w.close()
    return path


def test_pbf_cut_inside_its_way_blocks_is_reported(tmp_path):
    """Issue 15 item 4: cut at the boundary after the first way block, the file keeps every node
    and 8 000 complete ways; only its block structure shows the cut (a complete file's last block
    is partly filled). The complete file reads without a warning, even with strict=True."""
    full = _write_many_ways_pbf(tmp_path / "ways.osm.pbf")
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncatedExtractWarning)
        complete = uc.read_osm(full, strict=True)
    assert len(complete.ways) == 120 * 119
    data = full.read_bytes()
    ends = _blob_ends(data)
    kinds = [kind for _, kind in ends]
    assert kinds[0] == "OSMHeader" and len(ends) == 5  # header, 2 node blocks, 2 way blocks
    short = tmp_path / "cut.osm.pbf"
    short.write_bytes(data[:ends[3][0]])  # header, the node blocks and the first way block
    with pytest.warns(TruncatedExtractWarning, match="possibly truncated.*full block.*belong to no way"):
        osm = uc.read_osm(short)
    assert len(osm.ways) == 8000 and any("truncated" in n for n in osm.notes)
    with pytest.raises(OSMReadError, match="possibly truncated"):
        uc.read_osm(short, strict=True)


def _write_chain_pbf(path: Path, n_ways: int, untagged_rings: int = 0) -> Path:
    """A sorted .pbf of ``n_ways`` ways: a chain of two-node footways, every node used, then
    ``untagged_rings`` closed untagged ways, each the outer ring of a multipolygon relation (tagged
    on the relation, as OSM maps most parks and landuse)."""
    n_chain = n_ways - untagged_rings
    w = osmium.SimpleWriter(str(path))
    try:
        for i in range(n_chain + 1):
            w.add_node(osmium.osm.mutable.Node(id=i + 1, location=(114.1 + i * 1e-5, 22.6)))
        base = n_chain + 2
        for r in range(untagged_rings):  # a small square per ring, north of the chain
            for k, (dx, dy) in enumerate([(0, 0), (1, 0), (1, 1), (0, 1)]):
                w.add_node(osmium.osm.mutable.Node(id=base + 4 * r + k, location=(114.1 + (r * 3 + dx) * 1e-4, 22.7 + dy * 1e-4)))
        for i in range(n_chain):
            w.add_way(osmium.osm.mutable.Way(id=i + 1, nodes=[i + 1, i + 2], tags={"highway": "footway"}))
        for r in range(untagged_rings):
            ring = [base + 4 * r + k for k in (0, 1, 2, 3, 0)]
            w.add_way(osmium.osm.mutable.Way(id=n_chain + 1 + r, nodes=ring))
        for r in range(untagged_rings):
            w.add_relation(osmium.osm.mutable.Relation(
                id=r + 1, members=[("w", n_chain + 1 + r, "outer")], tags={"type": "multipolygon", "leisure": "park"}))
    finally:
        w.close()
    return path


def test_complete_pbf_ending_on_a_full_way_block_is_not_reported(tmp_path):
    """The false alarm issue 15's first round left: a complete file with no relation whose way
    count is an exact multiple of the block size ends on a full block of ways, as a cut file does;
    every node is used and every way tagged, so nothing was lost."""
    full = _write_chain_pbf(tmp_path / "chain.osm.pbf", 16000)
    kinds = [kind for _, kind in _blob_ends(full.read_bytes())]
    assert kinds.count("OSMData") >= 3  # node block(s), then two full way blocks
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncatedExtractWarning)
        osm = uc.read_osm(full, strict=True)
    assert len(osm.ways) == 16000 and not [n for n in osm.notes if "truncated" in n]


def test_pbf_cut_after_its_last_way_block_is_reported(tmp_path):
    """Cut exactly between the ways and the relations: every node and way is there, the last
    block is a full block of ways, and the multipolygons are gone; their untagged member ways,
    in a file without relations, show it."""
    full = _write_chain_pbf(tmp_path / "parks.osm.pbf", 8000, untagged_rings=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncatedExtractWarning)
        complete = uc.read_osm(full, strict=True)
    assert (complete.features["leisure"] == "park").sum() == 10
    data = full.read_bytes()
    ends = _blob_ends(data)
    assert ends[-1][1] == "OSMData"
    short = tmp_path / "cut.osm.pbf"
    short.write_bytes(data[:ends[-2][0]])  # everything but the relation block
    with pytest.warns(TruncatedExtractWarning, match="possibly truncated.*10 of its ways have no tags"):
        osm = uc.read_osm(short)
    assert (osm.features["leisure"] == "park").sum() == 0
    with pytest.raises(OSMReadError, match="possibly truncated"):
        uc.read_osm(short, strict=True)


@pytest.mark.parametrize("sample", [SHENZHEN, SHANGHAI], ids=["shenzhen", "shanghai"])
def test_samples_as_pbf_are_not_reported_as_cut(sample, tmp_path):
    """The real samples written as .pbf (relations after ways, or a partly filled last block)."""
    pbf = tmp_path / (sample.name.split(".")[0] + ".osm.pbf")
    with osmium.SimpleWriter(str(pbf)) as w:
        for obj in osmium.FileProcessor(str(sample)):
            w.add(obj)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncatedExtractWarning)
        osm = uc.read_osm(pbf, strict=True)
    assert not [n for n in osm.notes if "truncated" in n]


@pytest.mark.parametrize("where", ["mid_element", "between_elements"])
def test_osm_xml_cut_midway_is_refused(tmp_path, where):
    text = _xml(SHENZHEN)
    half = len(text) // 2
    end = half if where == "mid_element" else text.index("\n", half) + 1
    short = tmp_path / f"cut_{where}.osm"
    short.write_text(text[:end], encoding="utf-8")
    with pytest.raises(OSMReadError, match="truncated|possibly"):
        uc.read_osm(short)


# -- the reader gives what a plain pyosmium pass gives ----------------------------------------
def _plain_pass(path: Path):
    """Highway ways (id -> node ids, coordinates) and the areas of closed feature ways (id -> WKB)
    from pyosmium's own location and area handlers, one Python step per object and node."""
    wkb = osmium.geom.WKBFactory()
    ways, areas = {}, {}
    for obj in osmium.FileProcessor(str(path)).with_locations().with_areas():
        if obj.is_way() and "highway" in obj.tags:
            ways[obj.id] = ([n.ref for n in obj.nodes], [(n.location.lon, n.location.lat) for n in obj.nodes])
        elif obj.is_area() and obj.from_way() and any(k in obj.tags for k in ("building", "landuse", "leisure")):
            try:
                areas[obj.orig_id()] = shapely.from_wkb(wkb.create_multipolygon(obj))
            except RuntimeError:
                pass
    return ways, areas


@pytest.mark.parametrize("sample", [SHENZHEN, SHANGHAI], ids=["shenzhen", "shanghai"])
def test_reader_matches_a_plain_pyosmium_pass(sample):
    """The bulk reader parses libosmium's text output and builds the rings of closed ways itself;
    the same data read object by object through pyosmium (locations and libosmium's area
    assembler) must give the same node ids, the same coordinates (exactly) and the same polygons
    vertex for vertex (libosmium writes rings counter-clockwise from their smallest vertex)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        osm = uc.read_osm(sample)
    ways, areas = _plain_pass(sample)
    got = {}
    for oid, ids, geom in zip(osm.ways["osmid"], osm.ways["node_ids"], osm.ways.geometry):
        got.setdefault(int(oid), ([], []))
        got[int(oid)][0].extend(ids.tolist())
        got[int(oid)][1].extend(shapely.get_coordinates(geom).tolist())
    assert set(got) == {w for w, (_, xy) in ways.items() if len(set(xy)) > 1}
    for oid, (ids, xy) in got.items():
        assert ids == ways[oid][0] and xy == [list(p) for p in ways[oid][1]]
    f = osm.features[(osm.features["element"] == "way") & (osm.features.geom_type != "LineString")]
    mine = {int(o): g for o, g, t in zip(f["osmid"], f.geometry, f["tags"])
            if any(k in t for k in ("building", "landuse", "leisure"))}
    assert set(mine) == set(areas) and (len(areas) > 20 or sample == SHANGHAI)  # a drive network: no buildings
    for oid, g in areas.items():
        g = g.geoms[0] if len(g.geoms) == 1 else g
        assert shapely.equals_exact(mine[oid], g, tolerance=0), oid


def test_cli_strict_refuses_a_cut_pbf_with_exit_2(grid_pbf, tmp_path, capsys):
    """``urbancover analyze --strict`` on a .pbf cut after its node blocks: exit 2, one line naming
    the file; without --strict the run goes on (the warning is printed)."""
    from urbancover.app.cli import main

    data = grid_pbf.read_bytes()
    short = tmp_path / "cut.osm.pbf"
    short.write_bytes(data[: _blob_ends(data)[-2][0]])
    assert main(["analyze", str(short), "--out", str(tmp_path / "out"), "--only", "bus_stop_500", "--strict", "-q"]) == 2
    err = capsys.readouterr().err
    assert "possibly truncated" in err and "cut.osm.pbf" in err and len(err.strip().splitlines()) == 1


def test_tags_with_separators_and_escape_lookalikes_round_trip(tmp_path):
    """The reader splits libosmium's OPL text on ',' and '=' and undoes its %hex% escapes: values
    holding those characters, percent signs that look like escapes, spaces and Chinese must come
    back exactly as written."""
    from osmfactory import write_osm

    odd = {"name": "a=b, c %20% %2c% %3d% 100%", "amenity": "toilets", "note": "广场 , = %", "k=ey": "v,al"}
    p = write_osm(tmp_path / "odd.osm", {1: (0, 0, odd), 2: (0, 0), 3: (100, 0)},
                  [(5, [2, 3], {"highway": "footway", "name": "%25% x"})])
    osm = uc.read_osm(p)
    assert osm.features.loc[osm.features["osmid"] == 1, "tags"].iloc[0] == odd
    assert osm.features.loc[osm.features["osmid"] == 1, "name"].iloc[0] == odd["name"]
    assert osm.ways["tags"].iloc[0] == {"highway": "footway", "name": "%25% x"}
