"""Reading OSM extracts and building the walking network, checked against hand-made extracts,
the counts published with the sample data (shared/data/README.md, counted with pyosmium) and OSMnx."""

from pathlib import Path

import numpy as np
import osmium
import pytest
import shapely
from osmfactory import local_xy, square, write_osm

import urbancover as uc
from urbancover.io import utm_crs

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
SHENZHEN = SAMPLE / "shenzhen_longgang.osm.bz2"
SHANGHAI = SAMPLE / "shanghai_jingan_drive.osm.bz2"


@pytest.fixture(scope="module")
def shenzhen():
    return uc.read_osm(SHENZHEN)


def test_sample_counts_match_published_counts(shenzhen):
    # shared/data/README.md: 516 highway ways, 16 bus stops, 5 toilets, 4 parks, 4 residential landuse
    assert shenzhen.ways["osmid"].nunique() == 516
    f = shenzhen.features
    assert (f["highway"] == "bus_stop").sum() == 16
    assert (f["amenity"] == "toilets").sum() == 5
    assert (f["leisure"] == "park").sum() == 4
    assert (f["landuse"] == "residential").sum() == 4
    assert shenzhen.features.crs.to_epsg() == 4326 and shenzhen.ways.crs.to_epsg() == 4326
    # parks are polygons, not points or rings
    parks = f[f["leisure"] == "park"]
    assert set(parks.geom_type) <= {"Polygon", "MultiPolygon"}


def test_utm_zone_from_data(shenzhen):
    assert shenzhen.crs.to_epsg() == 32650
    assert uc.read_osm(SHANGHAI).crs.to_epsg() == 32651
    assert utm_crs(113.65, 34.75).to_epsg() == 32649  # Zhengzhou
    assert utm_crs(-70.6, -33.4).to_epsg() == 32719  # southern hemisphere
    projected = shenzhen.projected("features")
    assert projected.crs == shenzhen.crs


def test_pbf_reads_the_same_as_xml(tmp_path, shenzhen):
    pbf = tmp_path / "same.osm.pbf"
    writer = osmium.SimpleWriter(str(pbf))
    for obj in osmium.FileProcessor(str(SHENZHEN)):
        writer.add(obj)
    writer.close()
    other = uc.read_osm(pbf)
    assert len(other.ways) == len(shenzhen.ways)
    assert len(other.features) == len(shenzhen.features)
    a = shenzhen.ways.sort_values("osmid").geometry.values
    b = other.ways.sort_values("osmid").geometry.values
    assert shapely.equals_exact(a, b, tolerance=1e-7).all()


def test_multipolygon_relation_becomes_polygon_with_hole(tmp_path):
    # outer square 200 m, inner square 50 m: area 200*200 - 50*50 = 37 500 m2
    outer = square(0, 0, 200)
    inner = square(75, 75, 50)
    nodes = {i + 1: xy for i, xy in enumerate(outer[:-1])}
    nodes.update({i + 11: xy for i, xy in enumerate(inner[:-1])})
    nodes[100] = (-10, -10)
    nodes[101] = (300, -10)
    path = write_osm(
        tmp_path / "mp.osm",
        nodes,
        ways=[(1, [1, 2, 3, 4, 1], {}), (2, [11, 12, 13, 14, 11], {}), (3, [100, 101], {"highway": "footway"})],
        relations=[(9, [("way", 1, "outer"), ("way", 2, "inner")], {"type": "multipolygon", "leisure": "park"})],
    )
    osm = uc.read_osm(path)
    park = osm.projected("features")
    park = park[park["leisure"] == "park"]
    assert len(park) == 1 and park.iloc[0]["element"] == "relation"
    assert park.geometry.iloc[0].area == pytest.approx(37_500, rel=2e-3)


def test_way_with_missing_nodes_is_cut_into_complete_runs(tmp_path):
    nodes = {1: (0, 0), 2: (100, 0), 4: (300, 0), 5: (400, 0)}  # node 3 is missing from the extract
    path = write_osm(tmp_path / "gap.osm", nodes, ways=[(7, [1, 2, 3, 4, 5], {"highway": "residential"})])
    ways = uc.read_osm(path).projected("ways")
    assert len(ways) == 2 and set(ways["osmid"]) == {7}
    assert sorted(np.round(ways.length.to_numpy())) == [100, 100]


def test_clip_cuts_ways_to_nodes_inside(tmp_path):
    nodes = {i: (100.0 * i, 0.0) for i in range(1, 6)}
    nodes[9] = (200, 50, {"amenity": "toilets"})
    nodes[10] = (450, 50, {"amenity": "toilets"})
    path = write_osm(tmp_path / "clip.osm", nodes, ways=[(1, [1, 2, 3, 4, 5], {"highway": "footway"})])
    full = uc.read_osm(path)
    clip_local = shapely.box(50, -20, 350, 80)  # keeps nodes 1..3 (x = 100, 200, 300) and toilet 9
    clip = uc.read_osm(path, clip=_to_lonlat(clip_local))
    assert len(full.features) == 2 and len(clip.features) == 1
    xy = local_xy(clip.projected("ways"))
    assert np.allclose(sorted(xy[:, 0]), [100, 200, 300], atol=0.01)


def _to_lonlat(geom):
    import geopandas as gpd
    from osmfactory import X0, Y0

    return gpd.GeoSeries([shapely.affinity.translate(geom, X0, Y0)], crs=32650).to_crs(4326).iloc[0]


def test_network_splits_ways_at_shared_nodes(tmp_path):
    # a cross: way 1 west-east through node 3, way 2 south-north through node 3, and a dangling
    # footway that only touches way 1's end. Expected edges: 1-3 (100), 3-5 (150), 6-3 (80),
    # 3-8 (120), 5-9 (60) -> 5 edges, 510 m.
    nodes = {1: (0, 0), 3: (100, 0), 4: (175, 0), 5: (250, 0), 6: (100, -80), 8: (100, 120), 9: (250, 60)}
    path = write_osm(
        tmp_path / "cross.osm",
        nodes,
        ways=[
            (1, [1, 3, 4, 5], {"highway": "residential"}),
            (2, [6, 3, 8], {"highway": "residential"}),
            (3, [5, 9], {"highway": "footway"}),
        ],
    )
    net = uc.walk_network(path)
    assert net.n_edges == 5 and net.n_nodes == 6
    assert net.length.sum() == pytest.approx(510, abs=0.5)
    assert sorted(np.round(net.length)) == [60, 80, 100, 120, 150]
    # node 4 is interior to an edge, not a graph node
    assert 4 not in set(net.nodes["osmid"])
    degree = np.bincount(np.r_[net.u, net.v], minlength=net.n_nodes)
    assert degree[np.flatnonzero(net.nodes["osmid"].to_numpy() == 3)[0]] == 4


def test_walk_filter_matches_osmnx_walk_rules(tmp_path):
    nodes = {i: (100.0 * i, 0.0) for i in range(1, 20)}
    keep = {
        10: {"highway": "footway"},
        11: {"highway": "residential"},
        12: {"highway": "service"},
        13: {"highway": "steps"},
        14: {"highway": "primary", "sidewalk": "both"},
    }
    drop = {
        20: {"highway": "motorway"},
        21: {"highway": "motorway_link"},
        22: {"highway": "cycleway"},
        23: {"highway": "service", "service": "private"},
        24: {"highway": "residential", "access": "private"},
        25: {"highway": "footway", "foot": "no"},
        26: {"highway": "pedestrian", "area": "yes"},
        27: {"highway": "construction"},
        28: {"highway": "primary", "sidewalk": "separate"},
    }
    ways = [(wid, [i % 18 + 1, i % 18 + 2], tags) for i, (wid, tags) in enumerate({**keep, **drop}.items())]
    path = write_osm(tmp_path / "filter.osm", nodes, ways=ways)
    net = uc.walk_network(path)
    assert set(net.edges["osmid"]) == set(keep)
    everything = uc.walk_network(path, filter=None)
    assert set(everything.edges["osmid"]) == set(keep) | set(drop)


@pytest.mark.filterwarnings("ignore:The XML file you are loading appears to have been generated by OSMnx")
def test_network_agrees_with_osmnx_on_sample():
    ox = pytest.importorskip("osmnx")
    for path in (SHENZHEN, SHANGHAI):
        net = uc.walk_network(path, filter=None)  # osmnx.graph_from_xml keeps every highway way
        g = ox.graph_from_xml(path, simplify=False, retain_all=True, bidirectional=True)
        gu = ox.convert.to_undirected(g)
        # graph_from_xml turns every way of the file into edges, buildings too: keep the streets
        gu.remove_edges_from([(a, b, k) for a, b, k, d in gu.edges(keys=True, data=True) if "highway" not in d])
        # every junction (degree >= 3) of OSMnx's graph is a node of ours
        junctions = {n for n, d in gu.degree() if d >= 3}
        assert junctions <= set(net.nodes["osmid"])
        # total length: OSMnx measures great-circle, we measure in UTM (scale error < 0.1 %)
        ox_len = sum(d["length"] for _, _, d in gu.edges(data=True))
        assert net.length.sum() == pytest.approx(ox_len, rel=2e-3)


def test_networkx_round_trip(shenzhen):
    net = uc.walk_network(shenzhen)
    g = net.to_osmnx()
    back = uc.from_networkx(g)
    assert back.n_edges == net.n_edges
    assert back.length.sum() == pytest.approx(net.length.sum())


def test_projected_layers_share_columns_but_not_changes():
    """OSMData.projected: the features in the UTM zone, every column equal to the EPSG:4326 layer's,
    the geometry reprojected (checked against pyproj point by point), and a change to either layer
    does not reach the other (the columns are shared, not copied)."""
    import pyproj
    from helpers import SHENZHEN

    osm = uc.read_osm(SHENZHEN)  # its own: the layers are changed below
    src = osm.features
    p = osm.projected("features")
    assert p.crs == osm.crs and src.crs.to_epsg() == 4326 and list(p.columns) == list(src.columns)
    for c in ("osmid", "name", "amenity"):
        assert p[c].equals(src[c]), c
    t = pyproj.Transformer.from_crs(4326, osm.crs, always_xy=True)
    lon, lat = shapely.get_coordinates(src.geometry.values[:50]).T
    np.testing.assert_allclose(np.column_stack(t.transform(lon, lat)), shapely.get_coordinates(p.geometry.values[:50]), atol=1e-6)
    before = src["name"].iloc[0]
    q = p.copy(deep=False)
    q.loc[0, "name"] = "changed"
    p.loc[1, "amenity"] = "changed"
    assert src["name"].iloc[0] == before and src["amenity"].iloc[1] != "changed"


def test_crs_error_is_sentences_each_with_its_full_stop():
    import geopandas as gpd

    from urbancover.io.crs import require_crs

    with pytest.raises(uc.InputError) as err:
        require_crs(gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)]), "stops")
    # it read "... for longitude/latitude For AutoNavi/Tencent ..."
    assert "for longitude/latitude. For AutoNavi/Tencent or Baidu coordinates" in str(err.value)
