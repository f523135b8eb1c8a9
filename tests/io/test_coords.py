"""Chinese coordinate systems (GCJ-02, BD-09), declared layer CRSs and offset warnings.

Reference values come from other projects and from the map services themselves (each source is
named where it is used); nothing here is copied from urbancover's own output.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

import urbancover as uc
from urbancover.core.errors import CRSError, InputError
from urbancover.io import (
    CHINA_BOX,
    bd09_to_gcj02,
    bd09_to_wgs84,
    detect_offset,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    parse_crs,
    read_layer,
    to_wgs84,
    transform_geometries,
    warn_if_offset,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from urbancover.tools.offset_effect import offset_effect

GEOD = pyproj.Geod(ellps="WGS84")
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "shenzhen_longgang.osm.bz2"
ZHENGZHOU = Path(__file__).resolve().parents[3] / "shared" / "data" / "zhengzhou_bus_stops_2013.geojson"


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Geodesic distance on WGS 84 (pyproj), metres."""
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def one_step_inverse(lon, lat):
    """The common approximate GCJ-02 -> WGS 84 (wgs = 2 gcj - forward(gcj)), for comparison."""
    fx, fy = wgs84_to_gcj02(lon, lat)
    return 2 * np.asarray(lon) - fx, 2 * np.asarray(lat) - fy


# -- published reference pairs -------------------------------------------------------------------
# googollee/eviltransform, python/test.py (also go/transform_test.go): (wgsLat, wgsLng, gcjLat, gcjLng)
EVILTRANSFORM = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # beijing
]
# wandergis/coordtransform, test/app.js: every conversion of the point (116.404, 39.915), lon/lat
WANDERGIS_IN = (116.404, 39.915)
WANDERGIS_WGS2GCJ = (116.41024449916938, 39.91640428150164)
WANDERGIS_GCJ2BD = (116.41036949371029, 39.92133699351021)
WANDERGIS_BD2GCJ = (116.39762729119315, 39.90865673957631)  # the usual approximate inverse
WANDERGIS_GCJ2WGS = (116.39775550083061, 39.91359571849836)  # the one-step approximate inverse
# madlogos/asesgeo, tests/testthat/test_conv_coord.R ("convCoord without api") and
# test_tranform_coord.R: Beijing railway station and Tiananmen, lon/lat, 8 decimals
ASESGEO_WGS = (116.42079784, 39.90105589)
ASESGEO_GCJ = (116.42702991, 39.90245219)
ASESGEO_BD = (116.43350894, 39.90850546)
ASESGEO_GCJ_IN, ASESGEO_WGS_OUT, ASESGEO_BD_OUT = (116.397131, 39.908746), (116.39089006, 39.90734493), (116.40350426, 39.91508839)
ASESGEO_BD_IN, ASESGEO_GCJ_OUT = (116.40350, 39.91509), (116.39712692, 39.90874808)
# The map services' own answers for WGS 84 (116.42079, 39.90105), Beijing railway station
# (madlogos/asesgeo, tests/testthat/test_conv_coord.R): AutoNavi restapi.amap.com/v3/assistant/
# coordinate/convert and Baidu api.map.baidu.com/geoconv/v1, both to GCJ-02.
SERVICE_WGS = (116.42079, 39.90105)
AMAP_GCJ = (116.427020941841, 39.902445203994)
BAIDU_GCJ = (116.42702745, 39.90245063)
# and test_tranform_coord.R: WGS 84 (116.39089, 39.90734) -> GCJ-02 from the API ("# api")
SERVICE2_WGS, SERVICE2_GCJ = (116.39089, 39.90734), (116.39713623, 39.90874539)


@pytest.mark.parametrize("wlat, wlon, glat, glon", EVILTRANSFORM)
def test_wgs_to_gcj_matches_eviltransform(wlat, wlon, glat, glon):
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert lon == pytest.approx(glon, abs=1e-7) and lat == pytest.approx(glat, abs=1e-7)  # 1e-7 deg ~ 1 cm


@pytest.mark.parametrize("wlat, wlon, glat, glon", EVILTRANSFORM)
def test_gcj_to_wgs_is_exact_on_eviltransform_pairs(wlat, wlon, glat, glon):
    # eviltransform asks < 0.5 m of its exact inverse and < 5 m of the one-step one
    lon, lat = gcj02_to_wgs84(glon, glat)
    assert metres(lon, lat, wlon, wlat) < 0.01
    assert metres(*one_step_inverse(glon, glat), wlon, wlat) < 5


def test_wandergis_coordtransform_pairs():
    assert wgs84_to_gcj02(*WANDERGIS_IN) == pytest.approx(WANDERGIS_WGS2GCJ, abs=1e-9)
    assert gcj02_to_bd09(*WANDERGIS_IN) == pytest.approx(WANDERGIS_GCJ2BD, abs=1e-9)
    # their inverses are approximations (usual BD formula, one-step GCJ): within a metre of ours,
    # while ours inverts the forward formula exactly
    assert metres(*bd09_to_gcj02(*WANDERGIS_IN), *WANDERGIS_BD2GCJ) < 1.0
    assert metres(*gcj02_to_wgs84(*WANDERGIS_IN), *WANDERGIS_GCJ2WGS) < 5.0
    assert metres(*gcj02_to_bd09(*bd09_to_gcj02(*WANDERGIS_IN)), *WANDERGIS_IN) < 0.001
    assert metres(*wgs84_to_gcj02(*gcj02_to_wgs84(*WANDERGIS_IN)), *WANDERGIS_IN) < 0.001


def test_asesgeo_pairs():
    assert wgs84_to_gcj02(*ASESGEO_WGS) == pytest.approx(ASESGEO_GCJ, abs=1e-7)
    assert wgs84_to_bd09(*ASESGEO_WGS) == pytest.approx(ASESGEO_BD, abs=1e-7)
    assert gcj02_to_bd09(*ASESGEO_GCJ_IN) == pytest.approx(ASESGEO_BD_OUT, abs=1e-7)
    assert metres(*gcj02_to_wgs84(*ASESGEO_GCJ), *ASESGEO_WGS) < 0.05
    assert metres(*gcj02_to_wgs84(*ASESGEO_GCJ_IN), *ASESGEO_WGS_OUT) < 0.05
    assert metres(*bd09_to_wgs84(*ASESGEO_BD), *ASESGEO_WGS) < 0.05
    assert metres(*bd09_to_gcj02(*ASESGEO_BD_IN), *ASESGEO_GCJ_OUT) < 0.5  # their BD inverse is the usual one


def test_agrees_with_the_map_services_within_a_metre():
    # the public formula is not the services' code: they agree to well under a metre
    lon, lat = wgs84_to_gcj02(*SERVICE_WGS)
    assert metres(lon, lat, *AMAP_GCJ) < 1.0
    assert metres(lon, lat, *BAIDU_GCJ) < 1.0
    assert metres(*wgs84_to_gcj02(*SERVICE2_WGS), *SERVICE2_GCJ) < 1.0
    # and the inverse puts the services' GCJ-02 back on the WGS 84 point
    assert metres(*gcj02_to_wgs84(*AMAP_GCJ), *SERVICE_WGS) < 1.0


# -- round trips, magnitudes, shapes ----------------------------------------------------------------
@pytest.fixture(scope="module")
def china_points():
    rng = np.random.default_rng(20240101)
    x0, y0, x1, y1 = CHINA_BOX
    pts = rng.uniform([x0 + 0.01, y0 + 0.01], [x1 - 0.01, y1 - 0.01], size=(20000, 2))
    return pts[:, 0], pts[:, 1]


def test_round_trips_within_half_a_metre(china_points):
    lon, lat = china_points
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert metres(*back, lon, lat).max() < 0.5
    assert metres(*back, lon, lat).max() < 0.001  # in fact sub-millimetre
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert metres(*back, lon, lat).max() < 0.001
    # bd -> wgs -> bd
    back = wgs84_to_bd09(*bd09_to_wgs84(lon, lat))
    assert metres(*back, lon, lat).max() < 0.001
    # gcj -> bd -> gcj
    back = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert metres(*back, lon, lat).max() < 0.001


def test_exact_inverse_beats_the_one_step_approximation(china_points):
    lon, lat = china_points
    gx, gy = wgs84_to_gcj02(lon, lat)
    approx = metres(*one_step_inverse(gx, gy), lon, lat)
    exact = metres(*gcj02_to_wgs84(gx, gy), lon, lat)
    assert approx.max() > 1.0  # the one-step inverse is off by metres somewhere in China
    assert exact.max() < 0.01


CITIES = {  # WGS 84 lon, lat of city centres
    "Beijing": (116.397, 39.907),
    "Shanghai": (121.474, 31.230),
    "Zhengzhou": (113.665, 34.757),
    "Shenzhen": (114.057, 22.543),
    "Chengdu": (104.066, 30.572),
    "Harbin": (126.535, 45.802),
    "Urumqi": (87.617, 43.826),
    "Kunming": (102.833, 24.880),
}


@pytest.mark.parametrize("city", CITIES)
def test_offset_is_hundreds_of_metres_in_chinese_cities(city):
    lon, lat = CITIES[city]
    gcj = metres(*wgs84_to_gcj02(lon, lat), lon, lat)
    assert 100 < gcj < 700
    bd = metres(*wgs84_to_bd09(lon, lat), lon, lat)
    assert 300 < bd < 1500  # BD-09 adds about 0.0065 deg east and 0.006 deg north


@pytest.mark.parametrize("lon, lat", [(2.35, 48.86), (-74.0, 40.71), (151.2, -33.87), (-0.13, 51.5), (140.0, 36.0)])
def test_no_gcj_offset_outside_china(lon, lat):
    assert out_of_china(lon, lat)
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)


def test_shapes_scalars_and_nans():
    lon = np.array([[113.6, 2.35, np.nan], [114.1, 116.4, 121.5]])
    lat = np.array([[34.7, 48.86, 30.0], [22.6, 39.9, np.nan]])
    for f in (wgs84_to_gcj02, gcj02_to_wgs84, wgs84_to_bd09, bd09_to_wgs84, gcj02_to_bd09, bd09_to_gcj02):
        x, y = f(lon, lat)
        assert x.shape == lon.shape and y.shape == lat.shape
        assert np.isnan(x[0, 2]) and np.isnan(y[1, 2])
    x, y = gcj02_to_wgs84(113.6, 34.7)
    assert isinstance(x, float) and isinstance(y, float)
    x, y = gcj02_to_wgs84([113.6], [34.7])
    assert x.shape == (1,)
    with pytest.raises(InputError):
        wgs84_to_gcj02([1, 2, 3], [1, 2])


def test_no_python_loop_over_points():
    # 200 000 points convert in one vectorised pass (a per-point loop would take many seconds)
    import time

    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(110, 120, 200_000), rng.uniform(25, 40, 200_000)
    t = time.perf_counter()
    bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert time.perf_counter() - t < 5.0


# -- the Zhengzhou bus stops (BD-09 originals, WGS 84 geometry) -----------------------------------
@pytest.fixture(scope="module")
def zhengzhou():
    if not ZHENGZHOU.exists():
        pytest.skip(f"{ZHENGZHOU} not present (test-only data, not shipped)")
    return gpd.read_file(ZHENGZHOU)


def test_zhengzhou_bd09_originals_give_the_files_wgs84(zhengzhou):
    # shared/data/README.md: the geometry was made from bd09_lon/bd09_lat with the usual formulas,
    # "accurate to a few metres"
    x, y = bd09_to_wgs84(zhengzhou["bd09_lon"].to_numpy(), zhengzhou["bd09_lat"].to_numpy())
    d = metres(x, y, zhengzhou.geometry.x.to_numpy(), zhengzhou.geometry.y.to_numpy())
    assert len(d) == 4367
    assert d.max() < 3.0


def test_zhengzhou_read_layer_with_declared_bd09(zhengzhou):
    raw = gpd.GeoDataFrame(
        zhengzhou.drop(columns="geometry"),
        geometry=gpd.points_from_xy(zhengzhou["bd09_lon"], zhengzhou["bd09_lat"]),
    )
    with pytest.raises(CRSError, match=r"Zhengzhou stops.*crs='EPSG:4326'.*'gcj02'.*'bd09'"):
        read_layer(raw, name="Zhengzhou stops")
    out = read_layer(raw, crs="BD-09", name="Zhengzhou stops")
    assert out.crs.to_epsg() == 4326 and list(out.columns) == list(raw.columns)
    d = metres(out.geometry.x.to_numpy(), out.geometry.y.to_numpy(), zhengzhou.geometry.x.to_numpy(), zhengzhou.geometry.y.to_numpy())
    assert d.max() < 3.0


@pytest.mark.parametrize(
    "stop, place",
    [
        ("火车站", (113.6583, 34.7458)),  # Zhengzhou Railway Station (shared/data/README.md)
        ("河南博物院", (113.6667, 34.7881)),  # Henan Museum (shared/data/README.md)
    ],
)
def test_zhengzhou_landmarks(zhengzhou, stop, place):
    rows = zhengzhou[zhengzhou["name"] == stop]
    assert len(rows)
    bx, by = rows["bd09_lon"].to_numpy(), rows["bd09_lat"].to_numpy()
    right = metres(*bd09_to_wgs84(bx, by), np.full(len(rows), place[0]), np.full(len(rows), place[1]))
    assert right.min() < 250
    # reading Baidu coordinates as GCJ-02 leaves them hundreds of metres off
    wrong = metres(*gcj02_to_wgs84(bx, by), np.full(len(rows), place[0]), np.full(len(rows), place[1]))
    assert wrong.min() > 500
    # and taking them as WGS 84 is worse still
    raw = metres(bx, by, np.full(len(rows), place[0]), np.full(len(rows), place[1]))
    assert raw.min() > 900


# -- declared CRSs ----------------------------------------------------------------------------------
def gcj_layer(crs="EPSG:4326"):
    """A small GCJ-02 layer around Zhengzhou: a point, a line, a polygon and a multipoint."""
    pt = shapely.Point(113.66, 34.75)
    line = shapely.LineString([(113.65, 34.74), (113.66, 34.75), (113.67, 34.745)])
    poly = shapely.box(113.64, 34.73, 113.65, 34.74).difference(shapely.box(113.643, 34.733, 113.646, 34.736))
    multi = shapely.MultiPoint([(113.6, 34.7), (113.7, 34.8)])
    return gpd.GeoDataFrame({"kind": ["point", "line", "polygon", "multi"]}, geometry=[pt, line, poly, multi], crs=crs)


@pytest.mark.parametrize("name", ["gcj02", "GCJ-02", "GCJ_02", "Gcj02", " gcj-02 "])
def test_gcj_names_convert_every_vertex(name):
    layer = gcj_layer()
    out = to_wgs84(layer, name)
    assert out.crs.to_epsg() == 4326
    assert list(out.geom_type) == list(layer.geom_type)
    assert list(out["kind"]) == list(layer["kind"]) and out.index.equals(layer.index)
    src = shapely.get_coordinates(layer.geometry.values)
    got = shapely.get_coordinates(out.geometry.values)
    want = np.column_stack(gcj02_to_wgs84(src[:, 0], src[:, 1]))
    assert np.allclose(got, want, atol=1e-12, rtol=0)
    assert (metres(got[:, 0], got[:, 1], src[:, 0], src[:, 1]) > 100).all()  # really moved
    assert out.attrs["source_crs"] == "GCJ-02"
    assert shapely.get_num_interior_rings(out.geometry.values[2]) == 1


@pytest.mark.parametrize("name", ["bd09", "BD-09", "bd09ll", "Baidu"])
def test_bd_names(name):
    layer = gcj_layer()
    out = to_wgs84(layer, name)
    src = shapely.get_coordinates(layer.geometry.values)
    want = np.column_stack(bd09_to_wgs84(src[:, 0], src[:, 1]))
    assert np.allclose(shapely.get_coordinates(out.geometry.values), want, atol=1e-12, rtol=0)


def test_geoseries_and_z_are_kept():
    s = gpd.GeoSeries([shapely.Point(113.66, 34.75, 120.0), shapely.LineString([(113.6, 34.7, 1), (113.61, 34.71, 2)])], crs=None)
    out = to_wgs84(s, "gcj02")
    assert isinstance(out, gpd.GeoSeries) and out.crs.to_epsg() == 4326
    z = shapely.get_coordinates(out.values, include_z=True)[:, 2]
    assert list(z) == [120.0, 1.0, 2.0]


def test_no_crs_is_refused_with_the_fix():
    layer = gcj_layer(crs=None)
    with pytest.raises(CRSError) as err:
        to_wgs84(layer, name="toilets")
    msg = str(err.value)
    assert "toilets" in msg and "crs='EPSG:4326'" in msg and "'gcj02'" in msg and "'bd09'" in msg
    # declaring it is enough
    assert to_wgs84(layer, "EPSG:4326").geometry.equals(layer.set_crs(4326).geometry)


def test_epsg_layers_are_reprojected():
    utm = gcj_layer().to_crs(32649)
    out = to_wgs84(utm)
    assert np.allclose(shapely.get_coordinates(out.geometry.values), shapely.get_coordinates(gcj_layer().geometry.values), atol=1e-9)
    out2 = to_wgs84(utm.set_crs(None, allow_override=True), 32649)
    assert out2.geometry.geom_equals_exact(out.geometry, 1e-12).all()
    assert to_wgs84(gcj_layer(), "EPSG:4326").attrs["source_crs"] == "EPSG:4326"


def test_declared_crs_conflicting_with_the_file_is_refused():
    utm = gcj_layer().to_crs(32649)
    with pytest.raises(CRSError, match="conflicts with the layer's own CRS EPSG:32649.*override=True"):
        to_wgs84(utm, "EPSG:32650", name="shops")
    # override trusts the declaration: the same numbers read in zone 50
    out = to_wgs84(utm, "EPSG:32650", override=True)
    want = utm.set_crs(32650, allow_override=True).to_crs(4326)
    assert out.geometry.geom_equals_exact(want.geometry, 1e-12).all()
    # GCJ-02 / BD-09 are longitude/latitude: a projected layer cannot be in them
    with pytest.raises(CRSError, match="projected"):
        to_wgs84(utm, "gcj02")
    # but they agree with a geographic label such as EPSG:4326 or CGCS2000
    to_wgs84(gcj_layer("EPSG:4490"), "bd09")


def test_metres_declared_as_degrees():
    metric = gcj_layer().to_crs(32649).set_crs(None, allow_override=True)
    for crs in ("EPSG:4326", "gcj02", "bd09"):
        with pytest.raises(InputError, match="layer in metres declared as degrees"):
            to_wgs84(metric, crs, name="stops")
    # a layer labelled EPSG:4326 whose numbers are metres (a GeoJSON written from projected data)
    with pytest.raises(InputError, match="layer in metres declared as degrees"):
        to_wgs84(metric.set_crs(4326))


def test_unknown_crs_names():
    with pytest.raises(CRSError, match="not a coordinate system"):
        parse_crs("wgs-99")
    with pytest.raises(CRSError, match="Baidu Mercator"):
        parse_crs("bd09mc")
    assert parse_crs(4326).to_epsg() == 4326
    assert parse_crs("GCJ-02") == "gcj02" and parse_crs("BD-09") == "bd09"


def test_read_layer_from_files(tmp_path):
    gpkg = tmp_path / "utm.gpkg"
    gcj_layer().to_crs(32649).to_file(gpkg)
    out = read_layer(gpkg)
    assert out.crs.to_epsg() == 4326
    assert np.allclose(shapely.get_coordinates(out.geometry.values), shapely.get_coordinates(gcj_layer().geometry.values), atol=1e-9)
    with pytest.raises(CRSError, match="utm.gpkg"):
        read_layer(gpkg, crs="EPSG:4326")
    # a GeoJSON of AutoNavi points: read as EPSG:4326 by the driver, declared GCJ-02
    gj = tmp_path / "amap.geojson"
    gcj_layer().to_file(gj, driver="GeoJSON")
    out = read_layer(gj, crs="GCJ-02")
    src = shapely.get_coordinates(gcj_layer().geometry.values)
    assert np.allclose(shapely.get_coordinates(out.geometry.values), np.column_stack(gcj02_to_wgs84(src[:, 0], src[:, 1])), atol=1e-9)
    with pytest.raises(InputError, match="no such file"):
        read_layer(tmp_path / "missing.gpkg", crs="gcj02")


def test_read_layer_reads_point_csvs_with_lon_lat_or_named_x_y(tmp_path):
    lon, lat = np.array([114.2501, 114.2602]), np.array([22.7203, 22.7301])
    amap = tmp_path / "amap.csv"  # as Excel saves it on Chinese Windows: GB18030, names in Chinese
    pd.DataFrame({"名称": ["站一", "站二"], "Lng": lon, "LAT": lat}).to_csv(amap, index=False, encoding="gb18030")
    out = read_layer(amap, crs="gcj02")
    assert out.crs.to_epsg() == 4326 and list(out["名称"]) == ["站一", "站二"] and out.attrs["path"] == str(amap)
    assert np.allclose(shapely.get_coordinates(out.geometry.values), np.column_stack(gcj02_to_wgs84(lon, lat)), atol=1e-9)
    utm = tmp_path / "utm.txt"
    east, north = np.array([800_000.0, 801_000.0]), np.array([2_515_000.0, 2_516_500.0])
    pd.DataFrame({"east": east, "north": north}).to_csv(utm, index=False)
    out = read_layer(utm, crs="EPSG:32649", x_column="east", y_column="north")
    expected = pyproj.Transformer.from_crs(32649, 4326, always_xy=True).transform(east, north)
    assert np.allclose(shapely.get_coordinates(out.geometry.values), np.column_stack(expected), atol=1e-9)
    with pytest.raises(InputError, match=r"no longitude/x column .* Name it with x_column='COLUMN'"):
        read_layer(utm, crs="EPSG:32649")
    with pytest.raises(InputError, match="carries no coordinate system; pass crs="):
        read_layer(amap)
    pd.DataFrame({"lon": [114.25, None, "x"], "lat": [22.7, 22.8, 22.9]}).to_csv(tmp_path / "gaps.csv", index=False)
    with pytest.raises(InputError, match=r"2 row\(s\) without numeric lon/lat \(first: row 2 counting from 1, line 3"):
        read_layer(tmp_path / "gaps.csv", crs=4326)
    gcj_layer().to_file(tmp_path / "pts.gpkg")
    with pytest.raises(InputError, match="x_column/y_column name the coordinate columns of a CSV"):
        read_layer(tmp_path / "pts.gpkg", x_column="lon")


# -- offset detection on the Shenzhen sample ---------------------------------------------------------
@pytest.fixture(scope="module")
def osm():
    return uc.read_osm(SAMPLE)


@pytest.fixture(scope="module")
def net(osm):
    return uc.walk_network(osm)


@pytest.fixture(scope="module")
def stops(osm):
    f = osm.features
    return f[f["highway"] == "bus_stop"].copy()


def shifted(layer, func):
    out = layer.copy()
    out["geometry"] = transform_geometries(layer.geometry.values, func)
    return out


def test_true_osm_stops_raise_no_warning(stops, net, osm):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for streets in (net, osm, osm.ways):
            check = warn_if_offset(stops, streets, name="bus stops")
            assert not check.flagged and check.likely == "wgs84"
            assert check.n_points == len(stops)
    assert "no systematic offset" in check.message


@pytest.mark.parametrize("system, label", [("gcj02", "GCJ-02"), ("bd09", "BD-09")])
def test_offset_stops_are_flagged(stops, net, osm, system, label):
    forward = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}[system]
    moved = shifted(stops, forward)
    expected = (
        rf"bus stops: points sit a median \d+ m from the streets, \d+ m after converting from {label}: "
        rf"the layer is probably {label}; pass crs='{system}'"
    )
    for streets in (net, osm, osm.ways):
        with pytest.warns(UserWarning, match=expected):
            check = warn_if_offset(moved, streets, name="bus stops")
        assert check.likely == system
        assert check.median_m[system] < check.median_m["wgs84"]
        assert check.gain_m > 10
        assert 100 < check.shift_m["gcj02"] < 700
    # converted as declared, the layer is clean again
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not warn_if_offset(to_wgs84(moved, system), net).flagged


def test_read_layer_checks_against_the_streets(stops, net, tmp_path):
    path = tmp_path / "stops_amap.gpkg"
    shifted(stops[["name", "geometry"]], wgs84_to_gcj02).to_file(path)  # labelled EPSG:4326
    with pytest.warns(UserWarning, match=r"stops_amap.gpkg: .* pass crs='gcj02'"):
        read_layer(path, streets=net)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = read_layer(path, crs="gcj02", streets=net)
    assert metres(out.geometry.x.to_numpy(), out.geometry.y.to_numpy(), stops.geometry.x.to_numpy(), stops.geometry.y.to_numpy()).max() < 0.01


def test_too_few_points_give_no_verdict(stops, net):
    moved = shifted(stops.iloc[:2], wgs84_to_gcj02)
    check = detect_offset(moved, net)
    assert check.n_points == 2 and not check.flagged


def test_points_far_from_every_street_are_ignored(stops, net):
    far = gpd.GeoDataFrame(geometry=[shapely.Point(113.0, 23.5)] * 10, crs=4326)
    check = detect_offset(pd.concat([far, stops[["geometry"]]], ignore_index=True), net)
    assert check.n_points == len(stops)


# -- what forgetting the conversion costs: bus_stop_500 on the sample ----------------------------------
def test_offset_effect_on_bus_stop_500(stops, net, osm):
    homes = uc.evaluation.demand.residential_buildings(osm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a moved stop may leave the network's reach
        effect = offset_effect(net, stops, homes, 500, system="gcj02")
    assert effect.n_homes == len(homes)
    assert ((effect.shift_m > 100) & (effect.shift_m < 700)).all()
    # served status with the true stops, checked independently
    pts = gpd.GeoSeries(shapely.point_on_surface(homes.geometry.values), crs=homes.crs)
    truth = uc.network_distance(net, stops, pts, cutoff=500)
    assert np.array_equal(effect.served_true, truth <= 500)
    # the stops left in GCJ-02, built here from the point coordinates
    gx, gy = wgs84_to_gcj02(stops.geometry.x.to_numpy(), stops.geometry.y.to_numpy())
    wrong_stops = gpd.GeoDataFrame(geometry=gpd.points_from_xy(gx, gy), crs=4326)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        wrong = uc.network_distance(net, wrong_stops, pts, cutoff=500)
    assert np.array_equal(effect.served_offset, wrong <= 500)
    # forgetting the conversion changes who is served, and the distances by far more than noise
    assert effect.changed >= 1 and effect.changed == effect.lost + effect.gained
    both = np.isfinite(effect.distance_true) | np.isfinite(effect.distance_offset)
    assert both.any()
    change = np.abs(np.where(np.isfinite(effect.distance_true), effect.distance_true, 500.0)
                    - np.where(np.isfinite(effect.distance_offset), effect.distance_offset, 500.0))
    assert change[both].max() > 100
    assert "homes" in effect.summary()


def test_offset_effect_through_evaluate(osm):
    # the whole bus_stop_500 rule, with the stops as given and as if left in GCJ-02
    f = osm.features
    is_stop = (f["highway"] == "bus_stop") | (f["public_transport"].isin(["platform", "stop_position"]) & (f["bus"] == "yes"))
    moved = f.copy()
    moved.loc[is_stop, "geometry"] = transform_geometries(f.geometry.values[is_stop.to_numpy()], wgs84_to_gcj02)
    osm_moved = dataclasses.replace(osm, features=gpd.GeoDataFrame(moved, geometry="geometry", crs=4326), _cache={})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        a = uc.evaluate(osm, only=["bus_stop_500"]).results["bus_stop_500"]
        b = uc.evaluate(osm_moved, only=["bus_stop_500"]).results["bus_stop_500"]
    unserved_a = set(a.layers["homes_unserved"]["osmid"])
    unserved_b = set(b.layers["homes_unserved"]["osmid"])
    assert unserved_a != unserved_b
    assert a.summary["facilities"] == b.summary["facilities"]
