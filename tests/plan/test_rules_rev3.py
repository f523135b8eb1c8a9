"""The preset follows PLAN_RULES.md revision 3: one hand-worked case per changed row.

The city (metres, x east, y north; extract bounds x -100..1100, y -300..300):

    y=100                                         卫生院街 (residential, x 700..900: a street named
                                                  after a health centre)
    y=70              | private road (residential, access=private, x=150, y 0..70)
    y=0    Long St (residential) x 0..1000, nodes at x 0, 150, 500, 1000

Residential land R (60..200, 10..80) holds the home H (building=yes, 90..110 x 20..40; 6 floors by
default: 400 x 6 / 35 = 68.57 residents), a kindergarten K (building=yes + amenity=kindergarten,
120..140 x 20..40) and a toilet block T (building=yes + amenity=toilets, 160..170 x 20..30) whose
toilet node stands at the door, 4 m outside it at (165, 16).

H's point (100, 30) reaches Long St at (100, 0): a 30 m access leg. A node 5 m south of Long St at
x is 30 + |x - 100| + 5 m away.

Area A1 = x 0..500, y -250..250 (0.25 km²) holds H; A2 = x 600..1000 holds the health names and a
6-storey home H2 (apartments, 800..830 x 150..174: 720 m² x 6 = 4 320 m²) with a culture centre
mapped as a point inside it.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from osmfactory import closed_way, rect, utm_box, write_osm

import urbancover as uc
from urbancover.core.errors import InputError
from urbancover.evaluation.demand import residential_buildings
from urbancover.evaluation.gaps import place_status
from urbancover.plan.features import always_open, dedupe_points_in_polygons, hours_readable
from urbancover.plan.rules import parse_rules
from urbancover.plan.selectors import select, validate_selector

RULES = uc.load_rules("zhengzhou-2018")


@pytest.fixture(scope="module")
def city_path(tmp_path_factory):
    nodes = {
        1: (0, 0), 2: (150, 0), 3: (500, 0), 4: (1000, 0), 5: (150, 70), 6: (700, 100), 7: (900, 100),
        # bus: only a far stop (x=900, named after a health centre) and a stop named after a market
        11: (900, -5, {"highway": "bus_stop", "name": "东风社区卫生服务中心"}),
        12: (950, -5, {"highway": "bus_stop", "name": "农贸市场"}),
        # living circle: a building-materials market, a food market by name only, a supermarket and
        # convenience stores (open to 23:59; named 24小时 but open 07:00-23:00)
        21: (150, -5, {"amenity": "marketplace", "name": "中原建材市场"}),
        22: (450, -5, {"shop": "yes", "name": "东风农贸市场"}),
        23: (210, -5, {"shop": "supermarket"}),
        24: (200, -5, {"shop": "convenience", "opening_hours": "Mo-Su 00:00-23:59"}),
        25: (120, -5, {"shop": "convenience", "name": "全家24小时便利店", "opening_hours": "Mo-Su 07:00-23:00"}),
        # schools: senior, senior by isced:level only, vocational, a middle school far away
        31: (300, -5, {"amenity": "school", "name": "郑州市第十高级中学"}),
        32: (350, -5, {"amenity": "school", "name": "第七中学", "isced:level": "3"}),
        33: (320, -5, {"amenity": "school", "name": "郑州市第二职业中学"}),
        34: (1000, -5, {"amenity": "school", "name": "第五初级中学"}),
        # fitness: a public fitness station
        41: (480, -5, {"leisure": "fitness_station"}),
        # the toilet node at the door of T
        51: (165, 16, {"amenity": "toilets"}),
        # health in A2: a station named after its centre
        61: (800, -20, {"amenity": "clinic", "name": "东风社区卫生服务中心李庄社区卫生服务站"}),
        # culture in A2: a subdistrict culture centre mapped as a point inside the home H2
        71: (815, 162, {"amenity": "community_centre", "name": "东风街道综合文化服务中心"}),
    }
    ways = [
        (1, [1, 2, 3, 4], {"highway": "residential", "name": "Long St"}),
        (2, [2, 5], {"highway": "residential", "access": "private"}),
        (3, [6, 7], {"highway": "residential", "name": "卫生院街"}),
    ]
    closed_way(nodes, ways, 20, rect(90, 20, 110, 40), {"building": "yes"})
    closed_way(nodes, ways, 21, rect(60, 10, 200, 80), {"landuse": "residential"})
    closed_way(nodes, ways, 22, rect(120, 20, 140, 40), {"building": "yes", "amenity": "kindergarten"})
    closed_way(nodes, ways, 23, rect(160, 20, 170, 30), {"building": "yes", "amenity": "toilets"})
    # a bus terminus touching Long St
    closed_way(nodes, ways, 24, rect(540, -40, 600, 0), {"amenity": "bus_station", "name": "东风公交首末站"})
    # a private pitch (20 x 30); a school's private grounds holding a 40 x 40 pitch without access tag
    closed_way(nodes, ways, 25, rect(400, -60, 420, -30), {"leisure": "pitch", "sport": "basketball", "access": "private"})
    closed_way(nodes, ways, 26, rect(200, -200, 300, -50), {"amenity": "school", "name": "育才学校", "access": "private"})
    closed_way(nodes, ways, 27, rect(220, -150, 260, -110), {"leisure": "pitch", "sport": "soccer"})
    # A2: the home H2 (6 floors) and a 40 x 40 square
    closed_way(nodes, ways, 28, rect(800, 150, 830, 174), {"building": "apartments", "building:levels": "6"})
    closed_way(nodes, ways, 29, rect(650, 150, 690, 190), {"place": "square"})
    return write_osm(tmp_path_factory.mktemp("rev3") / "rev3.osm", nodes, ways, bounds=(-100, -300, 1100, 300))


def _evaluate(path, area, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return uc.evaluate(path, area=area, **kw)


@pytest.fixture(scope="module")
def a1(city_path):
    return _evaluate(city_path, utm_box(0, -250, 500, 250), only=[
        "bus_stop_500", "toilet_general_500", "fitness_15min", "living_10min", "kindergarten_school", "toilet_density",
        "exercise_points", "sports_area_per_capita", "road_density", "dead_ends"])


@pytest.fixture(scope="module")
def a2(city_path):
    return _evaluate(city_path, utm_box(600, -250, 1000, 250), only=["health_center_ratio", "health_station_ratio", "culture_area"])


def _row(report, rid):
    return report.summary.set_index("id").loc[rid]


def _home_m(report, rid):
    """Network metres from the home H (the only home of A1) to the rule's facilities, per check."""
    return report.results[rid].measurement.places["residential_buildings"].network_m[0]


def _tags(*rows):
    return pd.DataFrame({"tags": list(rows)})


def _category(rule_id, name):
    return next(c.facilities for c in RULES[rule_id].categories if c.name == name)


# ------------------------------------------------------------------ selectors of the preset

def test_terminus_is_a_bus_stop_by_tag():
    """Bus termini and BRT stations are stops: amenity=bus_station, public_transport=station + bus=yes;
    a railway station (public_transport=station without bus=yes) is not."""
    f = _tags({"amenity": "bus_station"}, {"public_transport": "station", "bus": "yes"},
              {"public_transport": "station", "railway": "station"})
    assert select(f, RULES["bus_stop_500"].facilities).tolist() == [True, True, False]


def test_middle_school_by_isced_level_then_name():
    """isced:level first: 3 alone is no middle school whatever the name, 2;3 is one whatever the name.
    Without it, the name: 初级中学 and a plain 中学 are; 高级中学, 高中, 职业中学, 职业高中 and 中专 are not."""
    f = _tags(
        {"amenity": "school", "name": "第七中学", "isced:level": "3"},
        {"amenity": "school", "name": "郑州市第十高级中学", "isced:level": "2;3"},
        {"amenity": "school", "name": "第五初级中学"},
        {"amenity": "school", "name": "第五中学"},
        {"amenity": "school", "name": "郑州市第十高级中学"},
        {"amenity": "school", "name": "外国语中学高中部"},
        {"amenity": "school", "name": "郑州市第二职业中学"},
        {"amenity": "school", "name": "郑州市财贸职业高中"},
        {"amenity": "school", "name": "郑州市商业中专"},
    )
    assert select(f, _category("kindergarten_school", "middle_school")).tolist() == [False, True, True, True] + [False] * 5
    # senior and vocational schools are of a known level: not listed as schools of unknown level
    pool = RULES["kindergarten_school"].params["list_unmatched"]
    assert select(f, pool).tolist() == [False, True, True, True] + [False] * 5


def test_market_by_tag_or_name_not_non_food_trades():
    """A 建材/家具/二手车 marketplace is no 菜市场; an unnamed marketplace, a greengrocer and any feature named
    菜市场/农贸市场 are; a bus stop named after a market is not."""
    f = _tags(
        {"amenity": "marketplace", "name": "中原建材市场"},
        {"amenity": "marketplace", "name": "红星美凯龙家具市场"},
        {"amenity": "marketplace", "name": "郑州二手车交易市场"},
        {"amenity": "marketplace"},
        {"shop": "greengrocer"},
        {"building": "retail", "name": "东风农贸市场"},
        {"highway": "bus_stop", "name": "农贸市场"},
        {"amenity": "marketplace", "name": "东风菜市场"},
    )
    assert select(f, _category("living_10min", "market")).tolist() == [False] * 3 + [True] * 3 + [False, True]


def test_store_24h_by_parsed_hours_or_by_name_without_hours():
    """Hours parsed: Mo-Su 00:00-23:59 is around the clock (23:59 = 24:00), 07:00-23:00 is not even if
    the name says 24小时. The name (24小时, 二十四小时) counts when the hours are missing or unreadable."""
    f = _tags(
        {"shop": "convenience", "opening_hours": "Mo-Su 00:00-23:59"},
        {"shop": "convenience", "opening_hours": "00:00-23:59"},
        {"shop": "convenience", "name": "好邻居24小时便利店"},
        {"shop": "convenience", "name": "二十四小时便利店", "opening_hours": "全天"},
        {"shop": "convenience", "name": "全家24小时便利店", "opening_hours": "Mo-Su 07:00-23:00"},
        {"shop": "convenience", "name": "好邻居便利店"},
        {"shop": "supermarket", "name": "24小时超市"},
    )
    assert select(f, _category("living_10min", "store_24h")).tolist() == [True] * 4 + [False] * 3
    assert always_open("Mo-Su 00:00-23:59") and always_open("18:00-23:59,00:00-18:00")
    assert not always_open("Mo-Su 08:00-23:59")
    assert hours_readable("Mo-Su 07:00-23:00") and not hours_readable(None) and not hours_readable("全天")


def test_private_places_out_of_fitness_and_exercise_points():
    """A pitch with access=private, and one inside a school's private grounds, are out; a pitch inside
    those grounds that says access=yes is in, and so is a pitch inside a public park."""
    f = gpd.GeoDataFrame(
        {"tags": [
            {"leisure": "pitch", "access": "private"},
            {"amenity": "school", "access": "private"},
            {"leisure": "pitch", "sport": "soccer"},
            {"leisure": "pitch", "access": "yes"},
            {"leisure": "park"},
            {"leisure": "pitch", "sport": "basketball"},
        ]},
        geometry=[shapely.box(0, 0, 10, 10), shapely.box(100, 0, 200, 100), shapely.box(110, 10, 150, 50),
                  shapely.box(160, 60, 180, 80), shapely.box(300, 0, 400, 100), shapely.box(310, 10, 330, 30)],
        crs=32650,
    )
    for rid in ("fitness_15min", "exercise_points"):
        assert select(f, RULES[rid].facilities).tolist() == [False, False, False, True, False, True], rid
    # kept in the sports area per capita (the census counts school venues)
    assert select(f, RULES["sports_area_per_capita"].facilities).tolist() == [True, False, True, True, False, True]


def test_health_centres_only_on_health_features_kind_from_last_term():
    """A bus stop and a street carrying a centre's name are not centres (healthcare is missing, which
    is not "other than dentist"); ...中心XX社区卫生服务站 is a station; healthcare=centre with the name is a
    centre."""
    f = _tags(
        {"highway": "bus_stop", "name": "东风社区卫生服务中心"},
        {"highway": "residential", "name": "卫生院街"},
        {"amenity": "clinic", "name": "东风社区卫生服务中心李庄社区卫生服务站"},
        {"amenity": "clinic", "name": "东风社区卫生服务中心"},
        {"healthcare": "centre", "name": "李庄卫生院"},
        {"healthcare": "dentist", "name": "东风社区卫生服务中心口腔科"},
        {"highway": "bus_stop", "name": "李庄卫生室"},
    )
    assert select(f, RULES["health_center_ratio"].facilities).tolist() == [False, False, False, True, True, False, False]
    assert select(f, RULES["health_station_ratio"].facilities).tolist() == [False, False, True, False, False, False, False]


def test_selector_conditions_are_checked():
    """The new conditions (exists, not_contains, readable, geometry.not_within) are accepted in their
    form and refused, naming the rule, otherwise."""
    good = [{"healthcare": {"exists": True, "not": ["dentist"]}, "name": {"not_contains": ["建材"]},
             "opening_hours": {"readable": False}, "geometry": {"not_within": [{"access": ["private", "no"]}]}}]
    assert validate_selector(good, "rule 'x'") == good
    for bad in ({"name": {"not_contains": []}}, {"healthcare": {"exists": "yes"}}, {"opening_hours": {"readable": 1}},
                {"geometry": {"not_within": "private"}}, {"geometry": {"not_within": [{"geometry": {"min_area_m2": 1}}]}}):
        with pytest.raises(InputError, match="rule 'x'"):
            validate_selector([bad], "rule 'x'")


# ------------------------------------------------------------------ one facility, one count

def test_point_near_its_polygon_is_one_facility():
    """A toilet node 4 m outside its building is that toilet; 12 m away it is another; a named node
    inside a building of another name (a shop in a mall) is another facility; an unnamed node beside
    a named platform way is that stop."""
    f = gpd.GeoDataFrame(
        {"osmid": [1, 2, 3, 4, 5, 6, 7], "name": [None, None, None, "A店", "B商场", "东风路站", None]},
        geometry=[shapely.box(0, 0, 10, 10), shapely.Point(5, -4), shapely.Point(5, -12),
                  shapely.Point(105, 5), shapely.box(100, 0, 110, 10),
                  shapely.LineString([(200, 0), (230, 0)]), shapely.Point(215, 3)], crs=32650,
    )
    assert dedupe_points_in_polygons(f)["osmid"].tolist() == [1, 3, 4, 5, 6]


def test_toilet_node_at_the_door_counts_once(a1):
    """Toilets in A1: T's building and its node 4 m outside the door are one toilet: 1 in 0.25 km² =
    4 per km² (not 8), the bottom of the 4-7 range; the distance rules count it once too."""
    row = _row(a1, "toilet_density")
    assert row["facilities"] == 1 and row["value"] == pytest.approx(4.0, rel=1e-3)
    assert _row(a1, "toilet_general_500")["facilities"] == 1


# ------------------------------------------------------------------ rows measured on the city

def test_terminus_serves_the_home(a1):
    """The terminus touches Long St at x 540..600, reached from x = 525 (15 m reach): 30 + 425 = 455 m
    <= 500: served. Without it the nearest stop is x=900: 30 + 800 + 5 = 835 m."""
    assert _home_m(a1, "bus_stop_500")[0] == pytest.approx(455, abs=0.5)
    assert _row(a1, "bus_stop_500")["buildings_served"] == 1


def test_senior_and_vocational_schools_are_no_middle_schools(a1):
    """The senior (x=300), the isced:level=3 第七中学 (x=350) and the vocational school (x=320) do not count:
    the middle school is 第五初级中学 at x=1000: 30 + 900 + 5 = 935 m (not 235 m)."""
    homes = a1.results["kindergarten_school"].layers["homes_unserved"]
    assert homes["network_m_middle_school"].iloc[0] == pytest.approx(935, abs=0.5)
    assert a1.results["kindergarten_school"].layers["unmatched"]["name"].tolist() == ["育才学校"]


def test_living_circle_market_and_24h_store(a1):
    """Market: not 中原建材市场 at x=150 (85 m) but 东风农贸市场 (shop=yes, by name) at x=450: 30 + 350 + 5
    = 385 m; the bus stop named 农贸市场 (x=950) is no market. 24-hour store: the one open Mo-Su
    00:00-23:59 at x=200: 30 + 100 + 5 = 135 m; 全家24小时便利店 (x=120) opens 07:00-23:00. Breakfast is
    missing (none mapped)."""
    homes = a1.results["living_10min"].layers["homes_unserved"]
    assert homes["network_m_market"].iloc[0] == pytest.approx(385, abs=0.5)
    assert homes["network_m_store_24h"].iloc[0] == pytest.approx(135, abs=0.5)
    assert homes["missing"].iloc[0] == "breakfast"


def test_private_pitches_out_of_fitness_circle_kept_in_sports_area(a1):
    """The private pitch (400..420) and the pitch in the school's private grounds do not count: the
    nearest fitness place is the station at x=480: 30 + 380 + 5 = 415 m, and A1 has 1 exercise point
    (not 3). Both pitches stay in the sports area: 20 x 30 + 40 x 40 = 2 200 m²."""
    assert _home_m(a1, "fitness_15min")[0] == pytest.approx(415, abs=0.5)
    assert _row(a1, "fitness_15min")["facilities"] == 1
    assert _row(a1, "exercise_points")["facilities"] == 1
    assert _row(a1, "sports_area_per_capita")["ground_area_m2"] == pytest.approx(2200, rel=2e-3)


def test_kindergarten_and_toilet_block_are_no_homes(a1, city_path):
    """building=yes inside residential land is a home, except the kindergarten K and the toilet block T:
    A1 has one home, H, with 400 x 6 / 35 = 68.57 residents."""
    assert len(a1.context.homes) == 1
    assert a1.context.population["residents"].sum() == pytest.approx(400 * 6 / 35, rel=2e-3)
    homes = residential_buildings(uc.read_osm(city_path))
    assert sorted(homes["building"].tolist()) == ["apartments", "yes"]  # H2 and H


def test_private_compound_roads_are_not_city_roads(a1):
    """Road density in A1: Long St x 0..500 = 500 m in 0.25 km² = 2.0 km/km² (not 570 m with the
    private road); no junction at x=150 (the private road's end is no third road); no dead end at
    (150, 70); the toilet rule's street demand is Long St's 500 m, not 570."""
    row = _row(a1, "road_density")
    assert row["road_km"] == pytest.approx(0.5, abs=1e-3) and row["junctions"] == 0
    assert len(a1.results["dead_ends"].layers["dead_ends"]) == 0
    assert _row(a1, "toilet_general_500")["street_km"] == pytest.approx(0.5, abs=1e-3)


def test_health_names_on_stops_and_streets_and_a_station_of_a_centre(a2):
    """In A2 the bus stop 东风社区卫生服务中心, the street 卫生院街 and the clinic
    东风社区卫生服务中心李庄社区卫生服务站 carry centre names: no centre; the clinic is one station."""
    assert _row(a2, "health_center_ratio")["facilities"] == 0
    assert _row(a2, "health_station_ratio")["facilities"] == 1


def test_culture_centre_point_in_a_home_has_unknown_floor_area(a2):
    """The subdistrict culture centre is a point inside the 6-storey home H2: its floor area is unknown,
    not H2's 30 x 24 x 6 = 4 320 m². The plaza (40 x 40 = 1 600 m²) meets; both centre tiers hold only
    that point: undetermined, and so is the rule."""
    row = _row(a2, "culture_area")
    assert row["passed"] is None and "subdistrict_culture_centre" in row["reason"]
    fac = a2.results["culture_area"].layers["facilities"]
    centres = fac[fac["category"] != "culture_plaza"]
    assert len(centres) == 2 and centres["area_m2"].isna().all()


def test_point_floor_area_only_from_a_building_of_its_own(tmp_path):
    """A community centre node in a building of its own (20 x 10, 2 floors) takes its 400 m²; one in a
    building that also holds a shop node does not (unknown), nor one whose building carries a shop."""
    nodes = {1: (0, 0), 2: (400, 0),
             3: (15, 25, {"amenity": "community_centre"}),
             4: (115, 25, {"amenity": "community_centre"}), 5: (105, 25, {"shop": "convenience"}),
             6: (215, 25, {"amenity": "community_centre"})}
    ways = [(1, [1, 2], {"highway": "residential"})]
    closed_way(nodes, ways, 20, rect(10, 20, 30, 30), {"building": "yes", "building:levels": "2"})
    closed_way(nodes, ways, 21, rect(100, 20, 120, 30), {"building": "yes", "building:levels": "2"})
    closed_way(nodes, ways, 22, rect(210, 20, 230, 30), {"building": "retail", "shop": "mall", "building:levels": "2"})
    path = write_osm(tmp_path / "c.osm", nodes, ways, bounds=(-50, -50, 450, 100))
    r = _evaluate(path, utm_box(-50, -50, 450, 100), only=["culture_area"])
    fac = r.results["culture_area"].layers["facilities"]
    community = fac[fac["category"] == "community_culture_centre"]
    assert np.sort(community["area_m2"].to_numpy()) == pytest.approx([400, np.nan, np.nan], rel=1e-3, nan_ok=True)


# ------------------------------------------------------------------ within D: at most D + 0.05 m

@pytest.fixture(scope="module")
def threshold_city(tmp_path_factory):
    """A street y=0 from x=-100 to 700; a home (apartments, -10..10 x 20..40), point (0, 30), leg 30 m.
    A bus stop on the street at x=470.02: 30 + 470.02 = 500.02 m, exactly 500 m at the centimetre of
    OSM coordinates. A toilet 530.02 m north of the home's point: straight line 500.02 m."""
    nodes = {1: (-100, 0), 2: (700, 0), 3: (470.02, 0, {"highway": "bus_stop"}), 4: (0, 530.02, {"amenity": "toilets"})}
    ways = [(1, [1, 2], {"highway": "residential"})]
    closed_way(nodes, ways, 20, rect(-10, 20, 10, 40), {"building": "apartments"})
    return write_osm(tmp_path_factory.mktemp("exact") / "exact.osm", nodes, ways, bounds=(-150, -50, 750, 600))


def test_home_at_exactly_the_threshold_is_served(threshold_city):
    """Network 500.02 m to the stop: within 500 m (tolerance 0.05 m). The toilet rule of 500 m: 500.02 m
    in a straight line, served by straight-line distance too."""
    data = {
        "ruleset": {"id": "t"},
        "rule": [
            {"id": "bus", "kind": "radius", "threshold_m": 500, "demand": ["residential_buildings"],
             "facilities": [{"highway": "bus_stop"}]},
            {"id": "wc", "kind": "radius", "threshold_m": 500, "demand": ["residential_buildings"],
             "facilities": [{"amenity": "toilets"}]},
        ],
    }
    r = _evaluate(threshold_city, None, rules=parse_rules(data))
    assert _home_m(r, "bus")[0] == pytest.approx(500.02, abs=0.01)
    assert _row(r, "bus")["buildings_served"] == 1
    wc = r.results["wc"].measurement.places["residential_buildings"].straight_m[0, 0]
    assert wc == pytest.approx(500.02, abs=0.01)
    assert _row(r, "wc")["buildings_served_straight"] == 1
    # the tolerance is the rule set's: 0 makes 500.02 m beyond
    strict = parse_rules(data | {"ruleset": {"id": "t", "tolerance_m": 0}})
    assert _row(_evaluate(threshold_city, None, rules=strict), "bus")["buildings_served"] == 0


def test_tolerance_is_a_rule_set_parameter():
    """[ruleset] tolerance_m: 0.05 in the preset, checked when loaded; a place over it is beyond."""
    assert all(r.tolerance == 0.05 for r in RULES)
    with pytest.raises(InputError, match="tolerance_m"):
        parse_rules({"ruleset": {"id": "t", "tolerance_m": -1}, "rule": [{"id": "d", "kind": "dead_ends"}]})
    status, over = place_status(np.array([[500.04], [500.06]]), np.array([500.0]), np.array([True]), 0.05)
    assert status.tolist() == ["served", "beyond"] and over[1] == pytest.approx(0.06)
