"""The compiled WGS 84 lon/lat -> UTM projection against pyproj (issue 24, item 2)."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest

from urbancover.io.utm import lonlat_to_utm, utm_zone_of

MM = 1e-3


def _pyproj(lon, lat, zone, south):
    t = pyproj.Transformer.from_crs(4326, (32700 if south else 32600) + zone, always_xy=True)
    return t.transform(lon, lat)


@pytest.mark.parametrize("zone, south", [(50, False), (51, False), (33, False), (1, False), (60, True), (23, True)])
def test_each_point_by_the_series_is_pyprojs_to_a_millimetre_over_the_zone_and_3_degrees_beyond(zone, south):
    rng = np.random.default_rng(zone)
    lon0 = zone * 6 - 183
    n = 3000  # (fewer than 4096: the series at every point)
    lon = rng.uniform(lon0 - 6, lon0 + 6, n)  # the zone (+-3 degrees) and 3 degrees beyond it on each side
    lat = rng.uniform(0, 84, n) * (-1 if south else 1)
    x, y = lonlat_to_utm(lon, lat, zone, south)
    px, py = _pyproj(lon, lat, zone, south)
    assert np.hypot(x - px, y - py).max() <= MM
    assert np.hypot(x - px, y - py).max() <= 1e-6  # (in fact nanometres)


@pytest.mark.parametrize("lon0, lat0, span, zone", [(114.1, 22.6, 0.6, 50), (121.45, 31.2, 0.3, 51),
                                                    (14.4, 35.9, 0.4, 33), (113.6, 34.7, 4.0, 49)])
def test_many_points_interpolated_on_a_grid_are_pyprojs_to_a_millimetre(lon0, lat0, span, zone):
    """Shenzhen, Shanghai, Malta (the data's latitudes), and a 4-degree province spilling out of its zone."""
    rng = np.random.default_rng(7)
    n = 20_000  # (4096 or more, clustered: the series at grid nodes, cubic interpolation between)
    lon = rng.uniform(lon0 - span / 2, lon0 + span / 2, n)
    lat = rng.uniform(lat0 - span / 2, lat0 + span / 2, n)
    x, y = lonlat_to_utm(lon, lat, zone)
    px, py = _pyproj(lon, lat, zone, False)
    assert np.hypot(x - px, y - py).max() <= 1e-6


def test_missing_and_unprojectable_points_are_infinite():
    lon = np.r_[np.full(5000, 114.0), np.nan, 114.0 + 100]
    lat = np.r_[np.full(5000, 22.5), 22.5, 10.0]
    for k in (slice(4999, None), slice(None)):  # the series, and the grid path
        x, y = lonlat_to_utm(lon[k], lat[k], 50)
        assert np.isinf(x[-2:]).all() and np.isinf(y[-2:]).all() and np.isfinite(x[:-2]).all()


def test_the_compiled_projection_applies_only_from_wgs84_lonlat_to_a_wgs84_utm_zone():
    assert utm_zone_of(4326, 32650) == (50, False)
    assert utm_zone_of("OGC:CRS84", 32733) == (33, True)
    assert utm_zone_of(4326, 3857) is None  # web mercator
    assert utm_zone_of(4326, 4547) is None  # CGCS2000 / 3-degree Gauss-Kruger: another ellipsoid and projection
    assert utm_zone_of(4490, 32650) is None  # CGCS2000 lon/lat: pyproj decides
    assert utm_zone_of(32650, 32651) is None
