"""Residents from population layers (points, polygons, a raster grid) and compounds' age."""

import geopandas as gpd
import numpy as np
import pytest
import shapely
from osmfactory import X0, Y0, _city

import urbancover as uc
from urbancover.evaluation.demand import _year

# In _city: one bus stop at the west end; homes centred at x = 100 (served, 150 m), 470 (520 m)
# and 900 (950 m), all at y = 40.


def _share(report):
    return report.summary.set_index("id").loc["bus_stop_500", "residents_served"]


def test_population_points_weight_the_share(tmp_path):
    pts = gpd.GeoDataFrame({"population": [10, 20, 70]},
                           geometry=gpd.points_from_xy([X0 + 100, X0 + 470, X0 + 900], [Y0 + 40] * 3), crs=32650)
    report = uc.evaluate(_city(tmp_path), only=["bus_stop_500"], population=pts)
    assert _share(report) == pytest.approx(10 / 100)
    assert report.summary["residents"].iloc[0] == 100
    assert not any("estimated" in n for n in report.notes)


def test_population_polygons_are_spread_over_their_homes(tmp_path):
    # 300 people over the two equal homes at x=100 and x=470 -> 150 each; 100 at x=900
    polys = gpd.GeoDataFrame(
        {"pop": [300, 100]},
        geometry=[shapely.box(X0, Y0, X0 + 600, Y0 + 100), shapely.box(X0 + 800, Y0, X0 + 1000, Y0 + 100)], crs=32650,
    ).to_crs(4326)
    report = uc.evaluate(_city(tmp_path), only=["bus_stop_500"], population=polys, population_column="pop")
    assert _share(report) == pytest.approx(150 / 400, rel=1e-3)


def test_population_grid(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    from rasterio.transform import from_origin

    # 100 m cells, one row from x=0 to x=1000 at y 0..100; 5 people in the cell of the home at
    # x=100, 15 at x=470, 80 at x=900
    grid = np.zeros((1, 10), dtype="float32")
    grid[0, 1], grid[0, 4], grid[0, 9] = 5, 15, 80
    tif = tmp_path / "pop.tif"
    with rasterio.open(tif, "w", driver="GTiff", height=1, width=10, count=1, dtype="float32", crs="EPSG:32650",
                       transform=from_origin(X0, Y0 + 100, 100, 100), nodata=-1) as dst:
        dst.write(grid, 1)
    report = uc.evaluate(_city(tmp_path), only=["bus_stop_500"], population=str(tif))
    # cell centres: x=150 (access 110 -> 10 + 150 + 50 = 210, served), x=450 (10 + 450 + 50 = 510, not), x=950
    assert _share(report) == pytest.approx(5 / 100)
    # the note names the grid as the source (it said "user population points")
    residents = [n for n in report.notes if n.startswith("residents:")]
    assert residents == ["residents: user population grid (GeoTIFF), one point per cell (100 in the area)."]


def test_implausible_residents_advice_follows_their_source():
    from urbancover.evaluation.demand import plausibility

    # 100 residents on 1 km² of residential land: far below 10 000 per km²
    estimated = plausibility(100, 1.0).message
    given = plausibility(100, 1.0, estimated=False).message
    assert "too few homes or floors are mapped" in estimated and "Give a population layer" in estimated
    assert "Give a population layer" not in given and "homes or floors" not in given
    assert "the population layer gives too few residents" in given and "Check the population layer" in given
    assert "请提供人口图层" in estimated.text("zh") and "请核对人口图层" in given.text("zh")


def _grid(path, cells, nodata=None):
    """A one-row GeoTIFF of 100 m cells from x = 0 to 1000, y = 0..100 (as in test_population_grid)."""
    rasterio = pytest.importorskip("rasterio")
    from rasterio.transform import from_origin

    with rasterio.open(path, "w", driver="GTiff", height=1, width=len(cells), count=1, dtype="float32",
                       crs="EPSG:32650", transform=from_origin(X0, Y0 + 100, 100, 100), nodata=nodata) as dst:
        dst.write(np.asarray([cells], dtype="float32"), 1)
    return path


def test_population_grid_with_bad_cells_is_refused_like_a_layer(tmp_path):
    # a point layer with a negative count is refused (test_bad_population_layers); so is a grid
    # cell: before, the -7 and the NaN cells were dropped without a word
    city = _city(tmp_path)
    cells = [0, 5, 0, 0, 15, -7, 0, 0, 0, 80]
    tif = _grid(tmp_path / "neg.tif", cells)
    with pytest.raises(uc.InputError) as err:
        uc.evaluate(city, only=["bus_stop_500"], population=str(tif))
    msg = str(err.value)
    assert str(tif) in msg and "1 cell(s)" in msg and "row 0, column 5: -7" in msg and "-a_nodata -7" in msg
    nan = _grid(tmp_path / "nan.tif", [np.nan, 5, 0, 0, 15, np.nan, 0, 0, 0, 80])
    with pytest.raises(uc.InputError, match="2 cell"):
        uc.evaluate(city, only=["bus_stop_500"], population=str(nan))
    # declared as no data, the same cells are no data: 5 of the 100 residents are served
    for path in (_grid(tmp_path / "nd.tif", cells, nodata=-7),
                 _grid(tmp_path / "ndnan.tif", [np.nan, 5, 0, 0, 15, np.nan, 0, 0, 0, 80], nodata=np.nan)):
        report = uc.evaluate(city, only=["bus_stop_500"], population=str(path))
        assert _share(report) == pytest.approx(5 / 100)


def test_bad_population_layers(tmp_path):
    pts = gpd.GeoDataFrame({"people": [1]}, geometry=gpd.points_from_xy([X0], [Y0]), crs=32650)
    with pytest.raises(uc.InputError, match="no column 'population'"):
        uc.evaluate(_city(tmp_path), only=["bus_stop_500"], population=pts)
    neg = pts.assign(population=[-3])
    with pytest.raises(uc.InputError, match="negative"):
        uc.evaluate(_city(tmp_path), only=["bus_stop_500"], population=neg)


@pytest.mark.parametrize("text, year", [("1995", 1995), ("1990-05-01", 1990), ("c. 1985", 1985), ("~1978", 1978),
                                        ("early 2000s", 2000), ("unknown", None), (None, None)])
def test_year_from_osm_dates(text, year):
    got = _year(text)
    assert (np.isnan(got) and year is None) or got == year
