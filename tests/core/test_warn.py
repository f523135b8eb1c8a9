"""Every warning of the library points at the user's line (the call into urbancover), however deep
it is raised and whichever public function it comes through: not at a line inside the library, and
never at ``sys:1`` (a fixed stacklevel past the top of a short stack)."""

from __future__ import annotations

import warnings

import geopandas as gpd
import pytest
import shapely
from tinycity import write_city

import urbancover as uc
from urbancover.core.errors import warn


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    return write_city(tmp_path_factory.mktemp("warn") / "city.osm")


def _caught(fn):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        fn()
    return [w for w in seen if issubclass(w.category, UserWarning)]


def test_warn_called_here_points_here():
    (w,) = _caught(lambda: warn("plain"))
    assert w.filename == __file__


def test_a_deep_warning_points_at_the_users_call_whatever_the_way_in(city):
    net = uc.walk_network(city)
    far = gpd.GeoDataFrame(geometry=[shapely.Point(10_000, 10_000)], crs=net.crs)  # 10 km from every street
    stops = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs=net.crs)
    for call in (lambda: uc.network_distance(net, stops, far), lambda: uc.k_nearest(net, stops, far, 1)):
        seen = [w for w in _caught(call) if "from every walkable edge" in str(w.message)]
        assert seen and all(w.filename == __file__ for w in seen), [(w.filename, w.lineno) for w in seen]


def test_read_osm_warnings_through_walk_network_point_at_the_user(tmp_path):
    from osmfactory import write_osm

    # a closed way with a self-intersecting outline: read_osm repairs it and warns
    nodes = {1: (0, 0), 2: (100, 0), 3: (0, 100), 4: (100, 100), 5: (0, 0.5), 6: (200, 0.5)}
    path = write_osm(tmp_path / "bow.osm", nodes, [(1, [1, 2, 3, 4, 1], {"leisure": "park"}),
                                                    (2, [5, 6], {"highway": "residential"})])
    for call in (lambda: uc.read_osm(path), lambda: uc.walk_network(path)):
        seen = [w for w in _caught(call) if "repaired" in str(w.message)]
        assert seen and all(w.filename == __file__ for w in seen), [(w.filename, w.lineno) for w in seen]
