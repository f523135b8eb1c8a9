"""The reader's own bookkeeping: the garbage collector paused while it reads, and tags with OPL
escapes read back as written."""

import gc
from pathlib import Path

import pytest
from osmfactory import write_osm

import urbancover as uc

SHANGHAI = Path(__file__).resolve().parents[2] / "data" / "sample" / "shanghai_jingan_drive.osm.bz2"


@pytest.mark.parametrize("enabled", [True, False])
def test_read_osm_runs_no_garbage_collection_and_restores_the_collector(enabled):
    collections = []

    def count(phase, info):
        if phase == "start":
            collections.append(info["generation"])

    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    gc.callbacks.append(count)
    try:
        osm = uc.read_osm(SHANGHAI)  # ~5 k tag dicts and geometries: dozens of collections if allowed
        after = gc.isenabled()
    finally:
        gc.callbacks.remove(count)
        (gc.enable if was else gc.disable)()
    assert len(osm.ways) > 500
    # none while it reads (4 on this sample before); at most the one its allocations owe, made
    # when the collector is switched back on
    assert len(collections) <= (1 if enabled else 0)
    assert after is enabled  # the collector is as the caller left it


def test_tags_with_separators_escapes_and_untagged_ways_read_back_as_written(tmp_path):
    """Keys and values holding OPL's separators (space, comma, '='), '%', non-ASCII text, a key
    starting with 'T' (the letter of OPL's tag field), and untagged ways between tagged ones: each
    way's tags dict is exactly what the file holds."""
    tags = [
        {"highway": "residential", "name": "a, b = c 100% 东门路"},
        {"highway": "footway", "TMC:cid_58": "T=1,T", "note": "%20% is not a space"},
        {"highway": "service", "name:zh": "东门路", "T": "T"},
    ]
    nodes = {i + 1: (100.0 * i, 0.0) for i in range(8)}
    ways = [(10, [1, 2], tags[0]), (11, [2, 3], {}), (12, [3, 4], tags[1]), (13, [4, 5], {}), (14, [5, 6, 7], tags[2])]
    osm = uc.read_osm(write_osm(tmp_path / "t.osm", nodes, ways, bounds=(-10, -10, 800, 10)))
    got = {int(i): t for i, t in zip(osm.ways["osmid"], osm.ways["tags"])}
    assert got == {10: tags[0], 12: tags[1], 14: tags[2]}
    assert osm.ways.set_index("osmid").loc[10, "name"] == tags[0]["name"]


def test_a_closed_feature_way_tagged_area_no_is_a_line_the_others_polygons(tmp_path):
    """libosmium's rule, now read from the flat tag arrays: a closed way is an area unless it is
    tagged area=no (then a closed line, e.g. a fence round a park)."""
    sq = [(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)]
    nodes = {i + 1: xy for i, xy in enumerate(sq + [(x + 300.0, y) for x, y in sq])}
    nodes.update({9: (-50.0, -50.0), 10: (500.0, -50.0)})
    ways = [(1, [9, 10], {"highway": "residential"}),
            (2, [1, 2, 3, 4, 1], {"barrier": "fence", "area": "no"}),
            (3, [5, 6, 7, 8, 5], {"leisure": "park", "area": "yes"})]
    f = uc.read_osm(write_osm(tmp_path / "a.osm", nodes, ways, bounds=(-60, -60, 510, 110))).features.set_index("osmid")
    assert f.loc[2].geometry.geom_type == "LineString" and f.loc[2].geometry.is_closed
    assert f.loc[3].geometry.geom_type == "Polygon"
