"""Every rule kind of the Zhengzhou preset on a hand-made city whose answers are worked out by hand.

The city (metres, x east, y north; bounds x -100..1100, y -300..700, so the area is 1.2 km²):

    n5 (0,600) ---------- top street, residential, 1000 m ---------- n7 (1000,600)
     |                                                                 |
     | x=0 street, residential, 600 m                  n6 (1000,300) --+-- stub to (1100,300), 100 m
     |                                                                 |
    n1 (0,0) ---- main road, primary ---- n2 (500,0) ---- main road --- n3 (1000,0)
                                           |
                                           | dead end, residential, 200 m, to n9 (500,-200)

Graph nodes: n1, n2, n3, n5, n6, n7, n9, n10 (the stub's end). n1, n3, n5, n7 are corners
(degree 2); n2 and n6 are junctions (degree 3); n9 and n10 are dead ends, n10 on the boundary.
"""


import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from osmfactory import X0, Y0, square, write_osm

import urbancover as uc

HOME = 400 * 6 / 35  # a 20 x 20 m home, 6 floors, 35 m² per person: 68.57 residents
# OSM stores degrees with 7 decimals (about 1 cm), so a 20 m square comes back within ~0.1 % of 400 m²:
# shares weighted by residents are compared to 1e-3.
SHARE = 1e-3


def _poly(nodes, ways, first_id, ring, tags, way_id):
    ids = []
    for i, xy in enumerate(ring[:-1]):
        nodes[first_id + i] = xy
        ids.append(first_id + i)
    ways.append((way_id, ids + [ids[0]], tags))


def _rect(x0, y0, x1, y1):
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    nodes = {
        1: (0, 0), 2: (500, 0), 3: (1000, 0), 4: (0, 300), 5: (0, 600), 6: (1000, 300), 7: (1000, 600),
        8: (500, 600), 9: (500, -200), 10: (1100, 300),
        # toilets: 5 m off the main road at x=250; 5 m off the x=0 street at y=450; a private one
        20: (250, 5, {"amenity": "toilets"}),
        21: (-5, 450, {"amenity": "toilets"}),
        22: (750, 5, {"amenity": "toilets", "access": "private"}),
        # living circle: market and 24 h store 5 m off the main road at x=300; a supermarket 5 m off
        # the x=1000 street at y=450
        30: (300, -5, {"amenity": "marketplace"}),
        31: (300, 5, {"shop": "convenience", "opening_hours": "24/7"}),
        32: (995, 450, {"shop": "supermarket"}),
        # a clinic, and fitness stations: five in the west half, one in the east half
        40: (100, 650, {"amenity": "clinic"}),
        **{50 + i: (50 + 80 * i, 550, {"leisure": "fitness_station"}) for i in range(5)},
        56: (800, 550, {"leisure": "fitness_station"}),
    }
    ways = [
        (1, [1, 2, 3], {"highway": "primary", "name": "Main"}),
        (2, [1, 4, 5], {"highway": "residential"}),
        (3, [5, 8, 7], {"highway": "residential"}),
        (4, [3, 6, 7], {"highway": "residential"}),
        (5, [2, 9], {"highway": "residential", "name": "Dead End"}),
        (6, [6, 10], {"highway": "residential"}),
    ]
    river_nodes = {90: (0, -230), 91: (1000, -230)}
    nodes.update(river_nodes)
    ways.append((7, [90, 91], {"waterway": "river"}))
    # homes A (centre 300,100) and B (centre 900,400), 20 x 20 m
    _poly(nodes, ways, 100, square(290, 90, 20), {"building": "apartments"}, 100)
    _poly(nodes, ways, 110, square(890, 390, 20), {"building": "apartments"}, 110)
    # compounds: A's built 1985 (old), B's built 2005 (not old)
    _poly(nodes, ways, 120, _rect(250, 50, 350, 150), {"landuse": "residential", "start_date": "1985"}, 120)
    _poly(nodes, ways, 130, _rect(850, 350, 950, 450), {"landuse": "residential", "start_date": "2005"}, 130)
    # park 1 (600..800, 0..200) lies on the main road; park 2 (450..550, -260..-100) on the dead end
    _poly(nodes, ways, 140, _rect(600, 0, 800, 200), {"leisure": "park"}, 140)
    _poly(nodes, ways, 150, _rect(450, -260, 550, -100), {"leisure": "park"}, 150)
    # a pitch 50 x 40 = 2000 m², a community centre 10 x 15 = 150 m², a square 40 x 40 = 1600 m²
    _poly(nodes, ways, 160, _rect(100, 400, 150, 440), {"leisure": "pitch"}, 160)
    _poly(nodes, ways, 170, _rect(700, 400, 710, 415), {"amenity": "community_centre"}, 170)
    _poly(nodes, ways, 180, _rect(200, 250, 240, 290), {"place": "square"}, 180)
    path = write_osm(tmp_path_factory.mktemp("city") / "city.osm", nodes, ways, bounds=(-100, -300, 1100, 700))
    units = gpd.GeoDataFrame(
        {"name": ["west", "east"]},
        geometry=[shapely.box(X0 - 100, Y0 - 300, X0 + 500, Y0 + 700), shapely.box(X0 + 500, Y0 - 300, X0 + 1100, Y0 + 700)],
        crs=32650,
    )
    # the hand-worked answers below divide by the extract's box (1.2 km²): asked for by name since
    # PLAN_RULES rev 3 made the built-up land (or the streets' hull) the default analysed area
    report = uc.evaluate(path, units=units, area="bounds")  # missing categories are notes, not warnings
    return report


def _row(report, rid):
    return report.summary.set_index("id").loc[rid]


def test_area_homes_and_residents(city):
    ctx = city.context
    assert ctx.area_km2 == pytest.approx(1.2, rel=1e-3)
    assert len(ctx.homes) == 2
    assert ctx.homes["residents"].to_numpy() == pytest.approx([HOME, HOME], rel=1e-3)
    assert any("estimated" in n for n in city.notes)


def test_toilets_follow_road_class(city):
    # main road: the toilet at (250, 5) covers 300 - 5 = 295 m each side of x=250 -> x in [0, 545]
    main = _row(city, "toilet_main_300")
    assert main["street_km"] == pytest.approx(1.0, abs=1e-3)
    assert main["street_served"] == pytest.approx(0.545, abs=1e-3)
    # straight line: circle of 300 m around (250, 5) meets y=0 up to x = 250 + sqrt(300² - 5²)
    assert main["street_served_straight"] == pytest.approx((250 + np.sqrt(300**2 - 25)) / 1000, abs=1e-3)
    # other roads (2500 m): the x=0 street fully (600), the top street 345 m from n5 (n5 is 155 m
    # from the second toilet), the dead end fully (n2 is 255 m away: 245 m left > 200 m);
    # the x=1000 street and the stub not at all (n3 is 755 m away) -> 1145 / 2500
    general = _row(city, "toilet_general_500")
    assert general["street_km"] == pytest.approx(2.5, abs=1e-3)
    assert general["street_served"] == pytest.approx(1145 / 2500, abs=1e-3)
    # the private toilet is not a facility
    assert main["facilities"] == 2


def test_toilet_riverside_context(city):
    # demand (PLAN_RULES rev 2): every path inside a park that touches or lies within
    # streets_near_m = 50 m of the river (y=-230). Park 2 (y -260..-100) crosses the river: its whole
    # stretch of the dead end, y=-100 to y=-200, 100 m; park 1 (y 0..200) is 230 m away, no demand.
    # The toilet at (250,5) reaches it at 5 + 250 + 100..200 m <= 800
    river = _row(city, "toilet_riverside_800")
    assert river["street_km"] == pytest.approx(0.10, abs=1e-3)
    assert river["street_served"] == pytest.approx(1.0)


def test_green_and_park_reached_at_boundary(city):
    # Parks are reached from streets within settings.polygon_reach_m (15 m) of their outline: park 1
    # (600..800) from x=585 to x=815 of the main road. Home A (300,100) projects onto the main road
    # at x=300 (access 100) and walks 285 m: 385 m. Home B (900,400) projects onto the x=1000 street
    # (access 100), 100 m to n6, 300 m to n3, 185 m to x=815: 685 m. Straight lines: 300 and 223.6 m.
    green, park = _row(city, "green_300"), _row(city, "park_500")
    assert green["residents_served"] == 0 and green["residents_served_straight"] == 1
    assert park["residents_served"] == pytest.approx(0.5, abs=SHARE) and park["residents_served_straight"] == 1
    homes = city.results["park_500"].layers["homes_unserved"]
    assert homes["network_m"].to_numpy() == pytest.approx([685.0], abs=0.5)
    assert homes["straight_m"].to_numpy() == pytest.approx([np.hypot(100, 200)], abs=0.5)
    # gap polygons: the residential land beyond 500 m is compound B and home B, not compound A
    gaps = city.results["park_500"].layers["gaps"]
    b = shapely.box(X0 + 850, Y0 + 350, X0 + 950, Y0 + 450)
    a = shapely.box(X0 + 250, Y0 + 50, X0 + 350, Y0 + 150)
    assert gaps.union_all().intersection(b).area == pytest.approx(b.area, rel=0.02)
    assert gaps.union_all().intersection(a).area == 0


def test_garden_only_in_old_compounds(city):
    # only home A is in an old compound (1985); the nearest green is 385 m away -> 0 of 1 served
    garden = _row(city, "garden_100_in_compound")
    assert garden["buildings"] == 1 and garden["buildings_served"] == 0


def test_living_circle_names_the_missing_category(city):
    living = _row(city, "living_10min")
    # A: market 100 + 0 + 5 = 105, 24 h store 105, grocery 1255 -> missing breakfast, grocery
    # B: grocery 100 + |100 - 150| + 5 = 155; market 1205, store 1205 -> missing market, breakfast, store
    assert living["residents_served"] == 0
    assert living["missing"] == "market 50%; breakfast 100%; grocery 50%; store_24h 50%"
    homes = city.results["living_10min"].layers["homes_unserved"].sort_values("network_m_market")
    assert homes["missing"].tolist() == ["breakfast, grocery", "market, breakfast, store_24h"]
    assert homes["network_m_grocery"].to_numpy() == pytest.approx([1255, 155], abs=0.5)


def test_emergency_shelter_uses_big_parks_only(city):
    # both parks are >= 1 ha (4 ha and 1.6 ha): same distances as park_500
    assert _row(city, "emergency_shelter")["residents_served"] == pytest.approx(0.5, abs=SHARE)


def test_density_ratio_and_area_rules(city):
    # the extract's box asked for: toilets per km² of built-up land (PLAN_RULES rev 2), here the two compounds and
    # their buildings grown by 50 m (under 2 x 160 x 160 m); neither toilet lies on it (the one at
    # (250, 5) is 45 m below compound A, 94 m from its building) -> 0 per km², fails
    density = _row(city, "toilet_density")
    assert "built-up" in density["area_source"] and 0 < density["area_km2"] < 2 * 0.16**2
    assert density["value"] == 0 and density["passed"] is False
    station = _row(city, "health_station_ratio")
    # the clinic has no name saying 卫生服务站/卫生室: a private clinic, not a station (rev 2)
    assert station["facilities"] == 0 and station["value"] == np.inf and not station["passed"]
    sports = _row(city, "sports_area_per_capita")
    assert sports["value"] == pytest.approx(2000 / (2 * HOME), rel=1e-3) and sports["passed"]
    culture = _row(city, "culture_area")
    # the square (1600 >= 1000) meets its minimum; the community centre (150 < 200) does not
    assert culture["value"] == pytest.approx(0.5) and not culture["passed"]


def test_count_per_unit_with_user_units(city):
    ex = _row(city, "exercise_points")
    units = city.results["exercise_points"].layers["units"].set_index("unit")
    # west: the five fitness stations and the pitch; east: one station
    assert units.loc["west", "count"] == 6 and units.loc["east", "count"] == 1
    assert ex["value"] == 1 and ex["units_failing"] == 1 and not ex["passed"]
    assert set(city.by_unit["unit"]) == {"west", "east"}
    by = city.by_unit.set_index("unit")
    assert by.loc["west", "park_500"] == 1.0 and by.loc["east", "park_500"] == 0.0


def test_road_form(city):
    road = _row(city, "road_density")
    # 1000 + 600 + 1000 + 600 + 200 + 100 = 3500 m in 1.2 km²; junctions n2 and n6
    assert road["road_km"] == pytest.approx(3.5, abs=1e-3)
    assert road["value"] == pytest.approx(3.5 / 1.2, rel=1e-3) and not road["passed"]
    assert road["junctions"] == 2
    dead = city.results["dead_ends"].layers["dead_ends"]
    assert len(dead) == 1 and dead["street"].iloc[0] == "Dead End"  # n10 lies on the boundary


def test_compound_table(city):
    comp = city.compounds.sort_values("year_built")
    assert comp["old"].tolist() == [True, False]
    assert comp["served_park_500"].tolist() == [True, False]
    assert "park_500" in comp["failed_rules"].iloc[1] and "park_500" not in comp["failed_rules"].iloc[0]


def test_every_rule_has_a_row_and_missing_facilities_warn(city):
    assert len(city.summary) == len(uc.load_rules("zhengzhou-2018"))
    assert any("bus_stop_500" in n and "no facility" in n for n in city.notes)
    assert _row(city, "bus_stop_500")["residents_served"] == 0


def test_built_up_land_by_tiles_is_the_union_and_counts_toilets_inside(tmp_path, monkeypatch):
    """Hand-made: buildings in a row, a landuse polygon, three toilets (two on built-up land, one
    600 m from everything). The tiled built-up land (tiles of 70 m, so grown buildings cross many
    of them, worked through in blocks of about 3 polygon-tile pairs, so the buildings are grown in
    many blocks) has the area of one union of the grown buildings and the landuse, computed here
    with shapely, and the density counts the two toilets on it."""
    from urbancover.core import settings
    from urbancover.evaluation.context import make_context
    from urbancover.evaluation.indicators import built_up_land

    nodes, ways, k = {}, [], 100
    for i, (x, y) in enumerate([(0, 0), (45, 10), (130, -20), (400, 0)]):  # 20 m squares
        ring = square(x, y, 20)[:-1]
        nodes.update({k + j: xy for j, xy in enumerate(ring)})
        ways.append((k, [k, k + 1, k + 2, k + 3, k], {"building": "yes"}))
        k += 10
    ring = square(150, 150, 120)[:-1]
    nodes.update({k + j: xy for j, xy in enumerate(ring)})
    ways.append((k, [k, k + 1, k + 2, k + 3, k], {"landuse": "retail"}))
    nodes.update({1: (-300, 0), 2: (1200, 0), 3: (30, 40, {"amenity": "toilets"}),
                  4: (200, 200, {"amenity": "toilets"}), 5: (1000, -400, {"amenity": "toilets"})})
    ways.insert(0, (2, [1, 2], {"highway": "residential"}))
    path = write_osm(tmp_path / "built.osm", nodes, ways, bounds=(-400, -500, 1300, 400))
    monkeypatch.setattr(settings, "union_tile_m", 70.0)
    monkeypatch.setattr(settings, "union_block_pairs", 3)
    osm = uc.read_osm(path)
    ctx = make_context(osm)
    pieces = built_up_land(ctx)
    assert len(pieces) > 10  # cut along the tiles
    f = ctx.features  # the polygons as read (OSM keeps 7 decimals of a degree)
    b, land = f.geometry.values[f["building"].notna()], f.geometry.values[f["landuse"].notna()]
    assert len(b) == 4 and len(land) == 1
    assert np.allclose(shapely.area(b), 400, atol=0.5) and np.isclose(land[0].area, 120**2, atol=2)
    whole = shapely.union_all(np.r_[land, shapely.buffer(b, settings.built_up_buffer_m, quad_segs=4)])
    assert shapely.area(pieces).sum() == pytest.approx(whole.area, rel=1e-9)
    assert shapely.area(shapely.intersection(pieces[:, None], pieces[None, :])).sum() == pytest.approx(
        shapely.area(pieces).sum(), rel=1e-9)  # no two pieces share area: only each with itself
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = [uc.evaluate(osm, only=["toilet_density"], area=a).summary.loc["toilet_density"] for a in ("bounds", "built-up")]
    for row in rows:  # the rule's own built-up land under the box, and the built-up land as the analysed area
        assert row["facilities"] == 2
        assert row["area_km2"] == pytest.approx(whole.area / 1e6, rel=1e-6)
        assert row["value"] == pytest.approx(2 / (whole.area / 1e6), rel=1e-6)
