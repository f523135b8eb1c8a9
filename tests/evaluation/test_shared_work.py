"""What one evaluation shares instead of computing again (issue 24 item 1): the straight-line
distances of a facility set to a set of points, a tag selection, the projected ways, the homes'
rows. Each test counts the calls an evaluation of the tiny city makes (tests/tinycity.py: one
street, one bus stop, two homes) and would count more on the code before.
"""

from __future__ import annotations

import warnings

import pytest

import urbancover as uc
from urbancover.evaluation import context as context_module
from urbancover.evaluation import demand, measure

# one rule measuring the homes and the residents: the residents are estimated from the homes, one
# point per home, so both layers are the same points
RULES = """[ruleset]
id = "tiny-shared"
[[rule]]
id = "bus_stop_500"
kind = "radius"
threshold_m = 500
demand = ["residents", "residential_buildings"]
facilities = [{ highway = "bus_stop" }]
target = 1.0
"""


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    from tinycity import write_city

    tmp = tmp_path_factory.mktemp("shared")
    rules = tmp / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    return write_city(tmp / "city.osm"), rules


def _evaluate(city):
    path, rules = city
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return uc.evaluate(str(path), rules=str(rules))


def _count(monkeypatch, module, name):
    calls = []
    real = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_straight_lines_once_for_the_same_points(city, monkeypatch):
    calls = _count(monkeypatch, measure, "straight_line_distance")
    report = _evaluate(city)
    # one facility set, two layers of the same two points: one measurement (two before)
    assert len(calls) == 1
    m = report.results["bus_stop_500"].measurement
    homes, residents = m.places["residential_buildings"], m.places["residents"]
    # both layers read it: the homes' points (their centres, (100, 30) and (900, 30)) from the stop
    # at (0, 0.5): hypot(100, 29.5) = 104.26 m and hypot(900, 29.5) = 900.48 m (to the metres'
    # round trip through lon/lat)
    assert (homes.straight_m == residents.straight_m).all()
    assert homes.straight_m[:, 0] == pytest.approx([104.26, 900.48], abs=0.5)


def test_a_selection_is_matched_once(city, monkeypatch):
    ctx = _evaluate(city).context
    calls = _count(monkeypatch, context_module, "select")
    stops = [{"highway": "bus_stop"}]
    first = ctx.select("features", stops)  # matched by the rule already: not again
    second = ctx.select("features", stops)
    assert calls == []
    assert first.sum() == second.sum() == 1
    # each caller gets its own copy: changing one changes nothing shared
    first[:] = False
    assert ctx.select("features", stops).sum() == 1
    assert ctx.select("features", [{"amenity": "toilets"}]).sum() == 0 and len(calls) == 1  # a new one is matched


def test_ways_projected_once(city):
    report = _evaluate(city)
    ctx = report.context
    # the walking network and the context read the extract's one projected copy of its ways
    assert ctx.ways() is ctx.osm.projected("ways")
    xy = ctx.ways().geometry.values[0].coords
    assert abs(xy[-1][0] - xy[0][0] - 1000) < 0.5  # the street is 1 000 m long in metres


def test_homes_found_once(city, monkeypatch):
    calls = _count(monkeypatch, demand, "home_rows")
    monkeypatch.setattr(context_module, "home_rows", demand.home_rows)
    report = _evaluate(city)
    assert len(calls) == 1
    ctx = report.context
    assert "home rows" in [f for f, _ in ctx._memo]  # noqa: SLF001 - the shared rows are made with the context
    assert len(ctx.homes) == 2


def test_the_streets_hull_without_one_multipoint_of_them_all():
    # the hull made chunk by chunk is the one hull of all the points, vertex for vertex: points on a
    # circle (every one a vertex), a grid with ties and collinear runs, a line (a degenerate hull)
    import numpy as np
    import shapely

    from urbancover.evaluation.context import convex_hull_of

    t = np.linspace(0, 2 * np.pi, 101)[:-1]
    circle = np.c_[np.cos(t), np.sin(t)] * 500 + 3e5
    grid = np.array([(x, y) for x in range(12) for y in range(9)], dtype=float)
    line = np.c_[np.arange(40.0), np.full(40, 5.0)]
    # a cloud (most points inside, left out before any hull), a rounded one (ties on every side),
    # a long line with a few points off it
    rng = np.random.default_rng(4)
    cloud = rng.normal(size=(3000, 2)) * 800 + 4e5
    rounded = np.round(rng.uniform(0, 15, (2000, 2))) + 3e5
    thin = np.r_[np.c_[np.arange(500.0), np.full(500, 5.0)], [[250.0, 5.0 + 1e-7], [100.0, 5.0 - 1e-7]]]
    for xy in (circle, grid, line, cloud, rounded, thin):
        whole = shapely.convex_hull(shapely.multipoints(xy))
        for chunk in (2, 7, 33, 10**6):
            assert shapely.equals_exact(convex_hull_of(xy, chunk=chunk), whole, 0)
    # the grid's hull by hand: the rectangle (0, 0)-(11, 8), its four corners only
    assert convex_hull_of(grid, chunk=5).area == 88.0
    assert len(shapely.get_coordinates(convex_hull_of(grid, chunk=5))) == 5
