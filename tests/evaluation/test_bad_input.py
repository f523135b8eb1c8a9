"""Bad input is refused with an urbancover error that names the input, or handled without a crash."""

from __future__ import annotations

import bz2
import math
import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from helpers import CRS, SHENZHEN, line, lines_gdf, points, pt

import urbancover as uc

BUILDING_ONLY = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="urbancover-tests">
  <node id="1" version="1" lat="22.700" lon="114.200"/>
  <node id="2" version="1" lat="22.700" lon="114.201"/>
  <node id="3" version="1" lat="22.701" lon="114.201"/>
  <node id="4" version="1" lat="22.701" lon="114.200"/>
  <way id="10" version="1">
    <nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>
    <tag k="building" v="residential"/>
  </way>
</osm>
"""

# only ways a pedestrian may not use: a motorway and a footway with foot=no
NOT_WALKABLE = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="urbancover-tests">
  <node id="1" version="1" lat="22.700" lon="114.200"/>
  <node id="2" version="1" lat="22.700" lon="114.201"/>
  <node id="3" version="1" lat="22.701" lon="114.201"/>
  <way id="10" version="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="motorway"/></way>
  <way id="11" version="1"><nd ref="2"/><nd ref="3"/><tag k="highway" v="footway"/><tag k="foot" v="no"/></way>
</osm>
"""


def raises_naming(exc, path, func=uc.walk_network):
    with pytest.raises(exc) as info:
        func(path)
    assert str(path) in str(info.value), f"the message does not name the file: {info.value}"
    return info.value


# -- files ---------------------------------------------------------------------------------------
def test_missing_file(tmp_path):
    p = tmp_path / "no_such_extract.osm.bz2"
    err = raises_naming(uc.OSMReadError, p)
    assert isinstance(err, uc.InputError) and "no such file" in str(err)
    raises_naming(uc.OSMReadError, str(p), uc.read_osm)  # a str path too


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.97])
def test_truncated_bz2(tmp_path, fraction):
    data = SHENZHEN.read_bytes()
    p = tmp_path / "truncated.osm.bz2"
    p.write_bytes(data[: int(len(data) * fraction)])
    err = raises_naming(uc.OSMReadError, p)
    assert "truncated or corrupt" in str(err)


def test_truncated_xml_at_a_line_break(tmp_path):
    # cut between two complete elements: every line is well formed, only the end is missing
    raw = bz2.decompress(SHENZHEN.read_bytes())
    cut = raw.rfind(b"\n", 0, len(raw) // 2) + 1
    p = tmp_path / "truncated.osm"
    p.write_bytes(raw[:cut])
    raises_naming(uc.OSMReadError, p)


def test_corrupt_bytes(tmp_path):
    p = tmp_path / "garbage.osm.bz2"
    p.write_bytes(b"BZh9" + bytes(range(256)) * 20)
    raises_naming(uc.OSMReadError, p)
    q = tmp_path / "garbage.osm"
    q.write_bytes(b"\x00\x01 not xml at all " * 50)
    raises_naming(uc.OSMReadError, q)


def test_directory(tmp_path):
    d = tmp_path / "extract.osm"
    d.mkdir()
    err = raises_naming(uc.OSMReadError, d)
    assert "folder" in str(err)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.osm.bz2"
    p.write_bytes(b"")
    err = raises_naming(uc.OSMReadError, p)
    assert "empty" in str(err)


def test_unknown_suffix(tmp_path):
    p = tmp_path / "extract.txt"
    p.write_text(BUILDING_ONLY)
    raises_naming(uc.OSMReadError, p)


def test_no_walkable_ways(tmp_path):
    p = tmp_path / "only_a_building.osm"
    p.write_text(BUILDING_ONLY)
    osm = uc.read_osm(p)  # a valid extract ...
    assert len(osm.features) == 1 and len(osm.ways) == 0
    err = raises_naming(uc.NoWalkableWaysError, p)  # ... with no street
    assert isinstance(err, uc.InputError)
    q = tmp_path / "motorway_only.osm"
    q.write_text(NOT_WALKABLE)
    assert len(uc.read_osm(q).ways) == 2
    raises_naming(uc.NoWalkableWaysError, q)
    # with filter=None, every highway way is used
    assert uc.walk_network(q, filter=None).n_edges == 2


def test_empty_or_pointless_line_layers():
    with pytest.raises(uc.NoWalkableWaysError):
        uc.walk_network(gpd.GeoDataFrame(geometry=[], crs=CRS), filter=None)
    with pytest.raises(uc.NoWalkableWaysError):  # points are not lines
        uc.walk_network(gpd.GeoDataFrame(geometry=[pt(0, 0), pt(10, 0)], crs=CRS), filter=None)
    with pytest.raises(uc.InputError):
        uc.walk_network(12345)


# -- places --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_net():
    return uc.walk_network(lines_gdf(line((0, 0), (100, 0)), line((100, 0), (100, 100))), filter=None)


def test_empty_source_set(small_net):
    tg = points((10, 0), (100, 50))
    for empty in (
        gpd.GeoDataFrame(geometry=[], crs=CRS),
        gpd.GeoSeries([], crs=CRS),
        gpd.GeoSeries([None, shapely.Point()], crs=CRS),  # missing and empty geometries
    ):
        d, s = uc.network_distance(small_net, empty, tg, return_source=True)
        assert d.shape == (2,) and np.all(np.isinf(d)) and np.all(s == -1)
        assert np.all(np.isinf(uc.network_distance(small_net, empty, tg, cutoff=500)))
        cov = uc.edge_coverage(small_net, empty, 100)
        assert len(cov) == small_net.n_edges and np.all(cov["covered_length"] == 0)
        assert np.all(np.isinf(uc.straight_line_distance(empty, tg, crs=CRS)))
        nf = uc.nearest_facility(small_net, empty, tg)
        assert np.all(np.isinf(nf["distance"]))
    # no targets: an empty answer
    assert uc.network_distance(small_net, points((0, 0)), gpd.GeoSeries([], crs=CRS)).shape == (0,)


def test_points_far_outside_network(small_net):
    # 50 km away: beyond the 1000 m snapping limit -> inf, and a warning that counts them
    far = points((50_000, 0), (10, 5))
    with pytest.warns(UserWarning, match=r"targets: 1 of 2 places"):
        d = uc.network_distance(small_net, points((0, 0)), far)
    assert math.isinf(d[0]) and d[1] == pytest.approx(10 + 5)
    # a far source is no source
    with pytest.warns(UserWarning, match=r"sources: 1 of 2 places"):
        d = uc.network_distance(small_net, points((0, 50_000), (100, 100)), points((100, 90)))
    assert d[0] == pytest.approx(10.0)
    # only far sources: every distance inf (with the warning), no crash
    with pytest.warns(UserWarning, match="sources"):
        d, s = uc.network_distance(small_net, points((0, 50_000)), points((100, 90)), return_source=True)
    assert np.isinf(d[0]) and s[0] == -1


def test_places_in_wrong_crs_are_far(small_net):
    # Local metres mistakenly declared as EPSG:4326 land far from the network: inf + warning.
    wrong = gpd.GeoDataFrame(geometry=[shapely.Point(10, 0)], crs=4326)
    with pytest.warns(UserWarning):
        d = uc.network_distance(small_net, points((0, 0)), wrong)
    assert np.isinf(d[0])


def test_missing_crs(small_net):
    no_crs = gpd.GeoDataFrame(geometry=[pt(10, 0)])
    with pytest.raises(uc.CRSError, match="targets"):
        uc.network_distance(small_net, points((0, 0)), no_crs)
    with pytest.raises(uc.CRSError, match="sources"):
        uc.network_distance(small_net, no_crs, points((0, 0)))
    with pytest.raises(uc.CRSError, match="targets"):
        uc.straight_line_distance(points((0, 0)), no_crs)
    with pytest.raises(uc.CRSError, match="targets"):
        uc.nearest_facility(small_net, points((0, 0)), no_crs)
    with pytest.raises(uc.CRSError):
        uc.distance_field(small_net, no_crs)
    with pytest.raises(uc.CRSError, match="source"):
        uc.walk_network(gpd.GeoDataFrame(geometry=[line((0, 0), (10, 0))]), filter=None)
    with pytest.raises(uc.CRSError):
        uc.snap_points(small_net, gpd.GeoSeries([pt(0, 0)]))
    assert issubclass(uc.CRSError, uc.InputError)


def test_not_a_layer(small_net):
    with pytest.raises(uc.InputError):
        uc.network_distance(small_net, points((0, 0)), [(500010.0, 2500000.0)])
    with pytest.raises(uc.InputError):
        uc.network_distance(small_net, np.zeros((2, 2)), points((0, 0)))


@pytest.mark.parametrize("cutoff", [-1.0, -1e-9, float("nan"), "far", [1, 2]])
def test_bad_cutoff(small_net, cutoff):
    with pytest.raises(uc.InputError, match="cutoff"):
        uc.network_distance(small_net, points((0, 0)), points((10, 0)), cutoff=cutoff)
    with pytest.raises(uc.InputError, match="cutoff"):
        uc.distance_field(small_net, points((0, 0)), cutoff)
    with pytest.raises(uc.InputError, match="cutoff"):
        uc.straight_line_distance(points((0, 0)), points((10, 0)), crs=CRS, cutoff=cutoff)


def test_zero_and_infinite_cutoff(small_net):
    # cut-off 0: only places at distance exactly 0; inf: no cut-off
    d = uc.network_distance(small_net, points((10, 0)), points((10, 0), (20, 0)), cutoff=0)
    assert d[0] == 0.0 and np.isinf(d[1])
    d = uc.network_distance(small_net, points((10, 0)), points((100, 100)), cutoff=math.inf)
    assert d[0] == pytest.approx(90 + 100)


@pytest.mark.parametrize("radius", [-5.0, float("nan"), math.inf])
def test_bad_threshold(small_net, radius):
    field = uc.distance_field(small_net, points((0, 0)), cutoff=200)
    with pytest.raises(uc.InputError, match="threshold"):
        field.edge_coverage(radius)
    with pytest.raises(uc.InputError):
        uc.edge_coverage(small_net, points((0, 0)), radius)


def test_no_warning_for_places_on_the_network(small_net):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        uc.network_distance(small_net, points((0, 0)), points((50, 3), (100, 60)))


def _tiny(tmp_path):
    from tinycity import write_city, write_rules

    return write_city(tmp_path / "city.osm"), write_rules(tmp_path / "rules.toml")


def _pop(values, crs=32650):
    from osmfactory import X0, Y0

    return gpd.GeoDataFrame({"population": values}, geometry=gpd.points_from_xy([X0 + 100 + 10 * k for k in range(len(values))],
                                                                                  [Y0 + 30] * len(values)), crs=crs)


@pytest.mark.parametrize("layers, words", [
    (lambda t: {"population": _pop([10, math.inf, -1])}, r"population: column 'population' has 2 missing, negative or "
                                                         r"infinite value\(s\) \(first at row 2, counting from 1\)"),
    (lambda t: {"population": _pop([10]).rename(columns={"population": "pop"})}, "population: no column 'population'"),
    (lambda t: {"population": _pop([10], crs=None)}, "population has no coordinate reference system"),
    (lambda t: {"population": str(t / "missing.tif")}, "missing.tif"),
    (lambda t: {"area": gpd.GeoSeries([line((0, 0), (1, 1))], crs=CRS)}, "area: the analysed area is empty or has no area"),
    (lambda t: {"compounds": _pop([1])}, "compounds: 1 rows are not polygons"),
    (lambda t: {"units": gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=4326)}, "units: no column 'name'"),
    (lambda t: {"facilities": {"nope": _pop([1])}}, "facilities: no rule or category 'nope' to replace"),
    (lambda t: {"facilities": {"bus_stop_500": _pop([1], crs=None)}}, r"facilities\['bus_stop_500'\] has no coordinate"),
])
def test_evaluate_checks_every_user_input_before_reading_the_extract(tmp_path, monkeypatch, layers, words):
    import urbancover.evaluation.analysis

    extract, rules = _tiny(tmp_path)

    def never(*a, **k):
        raise AssertionError("the extract was read before the inputs were checked")

    monkeypatch.setattr(urbancover.evaluation.analysis, "read_osm", never)
    with pytest.raises(uc.InputError, match=words):
        uc.evaluate(extract, rules, **layers(tmp_path))


def test_one_population_check_one_row_numbering(tmp_path, capsys):
    """The command line and Python refuse a bad population layer with one message, rows counted from 1."""
    import pandas as pd

    from urbancover.app.cli import main

    extract, rules = _tiny(tmp_path)
    pop = _pop([10, math.inf, 5])
    words = "column 'population' has 1 missing, negative or infinite value(s) (first at row 2, counting from 1)"
    with pytest.raises(uc.InputError) as err:
        uc.evaluate(extract, rules, population=pop)
    assert words in str(err.value)
    table = pd.DataFrame({"x": pop.geometry.x, "y": pop.geometry.y, "population": pop["population"]})
    table.to_csv(tmp_path / "pop.csv", index=False)
    assert main(["analyze", str(extract), "--rules", str(rules), "--out", str(tmp_path / "o"), "--crs", "EPSG:32650",
                 "--population", str(tmp_path / "pop.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and str(tmp_path / "pop.csv") in err and len(err.splitlines()) == 1
