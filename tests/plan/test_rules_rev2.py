"""The preset follows PLAN_RULES.md revision 2: one hand-worked case per corrected rule.

The city (metres, x east, y north; extract bounds x -100..1100, y -300..300):

    y=220  <---- Twin Rd (primary, one-way west) ------------------------------------  x 0..1000
    y=200  ----- Twin Rd (primary, one-way east) ----------------------------------->  x 0..1000
                              Stub Ln (250, 0..100)    Cut Rd (350, 0..150, then a node missing
                                                       from the file: the extract cut it)
    y=0    Long St (residential) x 0..1000, nodes at x 0, 50, 250, 350, 450, 1000
    y=-200 motorway x 0..1000 (not walkable, not a city road)

The home H: building=yes 20 x 20 m (90..110, 20..40) inside landuse=residential (60..140, 10..50):
a home by rev 2, 6 floors by default for building=yes, 400 x 6 / 35 = 68.57 residents. Its point
(100, 30) reaches Long St at (100, 0): a 30 m access leg. A facility 5 m off Long St at x is
30 + |x - 100| + 5 m away.

Area A1 = x 0..500, y -250..250 (0.25 km²) holds the home; A2 = x 600..1000 holds no home.
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
from urbancover.evaluation.demand import default_levels, estimate_residents, plausibility, population_points
from urbancover.plan.features import always_open, dedupe_points_in_polygons
from urbancover.plan.selectors import select, unmatched, validate_selector

RES = 400 * 6 / 35  # residents of the home


@pytest.fixture(scope="module")
def city_path(tmp_path_factory):
    nodes = {
        1: (0, 0), 2: (50, 0), 3: (250, 0), 4: (350, 0), 5: (450, 0), 6: (1000, 0),
        7: (250, 100), 8: (350, 150), 9: (50, 100), 10: (450, 100),
        11: (0, 200), 12: (1000, 200), 13: (1000, 220), 14: (0, 220), 15: (0, -200), 16: (1000, -200),
        # living circle: market, grocery, KFC (not breakfast), 胡辣汤 (breakfast), two convenience stores
        101: (200, -5, {"amenity": "marketplace"}),
        102: (210, -5, {"shop": "supermarket"}),
        103: (150, -5, {"amenity": "fast_food", "name": "肯德基", "cuisine": "burger"}),
        104: (700, -5, {"amenity": "restaurant", "name": "老王胡辣汤"}),
        105: (300, -5, {"shop": "convenience", "opening_hours": "Mo-Su 00:00-24:00"}),
        106: (120, -5, {"shop": "convenience", "opening_hours": "Mo-Su 07:00-23:00"}),
        # schools: unknown level, a primary named after its middle school, a middle school
        111: (420, -5, {"amenity": "kindergarten"}),
        112: (140, -5, {"amenity": "school", "name": "育才学校"}),
        113: (160, -5, {"amenity": "school", "name": "第二中学附属小学"}),
        114: (1000, -5, {"amenity": "school", "name": "第五中学"}),
        # an assembly point mapped as a point
        121: (500, -5, {"emergency": "assembly_point"}),
        # toilets: one as node + building, one as a node
        131: (100, -5, {"amenity": "toilets"}),
        132: (400, -5, {"amenity": "toilets"}),
        # health: centre, station, village room; not: private clinic, dentist, bare healthcare=centre
        141: (20, -20, {"amenity": "clinic", "healthcare": "centre", "name": "东风社区卫生服务中心"}),
        142: (30, -20, {"amenity": "doctors", "name": "东风社区卫生服务站"}),
        143: (40, -20, {"amenity": "clinic", "name": "李庄卫生室"}),
        144: (20, -30, {"amenity": "clinic", "name": "张医生诊所"}),
        145: (30, -30, {"amenity": "dentist", "healthcare": "dentist", "name": "美齿口腔卫生服务站"}),
        146: (40, -30, {"healthcare": "centre"}),
        # a community culture centre mapped as a node inside its building
        151: (160, 160, {"amenity": "community_centre", "name": "东风社区文化中心"}),
    }
    ways = [
        (1, [1, 2, 3, 4, 5, 6], {"highway": "residential", "name": "Long St"}),
        (2, [3, 7], {"highway": "residential", "name": "Stub Ln"}),
        (3, [4, 8, 999], {"highway": "residential", "name": "Cut Rd"}),  # node 999 is not in the file
        (4, [2, 9], {"highway": "footway"}),
        (5, [5, 10], {"highway": "service"}),
        (6, [11, 12], {"highway": "primary", "name": "Twin Rd", "oneway": "yes"}),
        (7, [13, 14], {"highway": "primary", "name": "Twin Rd", "oneway": "yes"}),
        (8, [15, 16], {"highway": "motorway"}),
    ]
    closed_way(nodes, ways, 20, rect(90, 20, 110, 40), {"building": "yes"})
    closed_way(nodes, ways, 21, rect(60, 10, 140, 50), {"landuse": "residential"})
    # green: a 900 m² pocket park, a 3 000 m² garden, a 6 000 m² park, all touching Long St (south side)
    closed_way(nodes, ways, 22, rect(120, -30, 150, 0), {"leisure": "park"})
    closed_way(nodes, ways, 23, rect(300, -100, 330, 0), {"leisure": "garden"})
    closed_way(nodes, ways, 24, rect(650, -100, 710, 0), {"leisure": "park"})
    # the toilet building around node 131
    closed_way(nodes, ways, 25, rect(95, -10, 105, -1), {"amenity": "toilets", "building": "toilets"})
    # sports: a 20 x 30 pitch inside a 100 x 100 sports campus outline; a 20 x 20 hall of 2 floors
    closed_way(nodes, ways, 26, rect(150, -240, 250, -140), {"leisure": "sports_centre"})
    closed_way(nodes, ways, 27, rect(160, -230, 180, -200), {"leisure": "pitch", "sport": "basketball"})
    closed_way(nodes, ways, 28, rect(300, -240, 320, -220), {"building": "sports_hall", "building:levels": "2"})
    # culture: a 40 x 40 square; the community centre's building 20 x 15, 1 floor; a subdistrict
    # centre 20 x 10, 3 floors
    closed_way(nodes, ways, 29, rect(400, 120, 440, 160), {"place": "square"})
    closed_way(nodes, ways, 30, rect(150, 150, 170, 165), {"building": "yes", "building:levels": "1"})
    closed_way(nodes, ways, 31, rect(200, 150, 220, 160), {"amenity": "community_centre", "building": "yes",
                                                       "building:levels": "3", "name": "东风街道综合文化服务中心"})
    return write_osm(tmp_path_factory.mktemp("rev2") / "rev2.osm", nodes, ways, bounds=(-100, -300, 1100, 300))


@pytest.fixture(scope="module")
def a1(city_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return uc.evaluate(city_path, area=utm_box(0, -250, 500, 250))


@pytest.fixture(scope="module")
def a2(city_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return uc.evaluate(city_path, area=utm_box(600, -250, 1000, 250), only=[
            "toilet_density", "health_center_ratio", "health_station_ratio", "exercise_points",
            "sports_area_per_capita", "culture_area"])


def _row(report, rid):
    return report.summary.set_index("id").loc[rid]


# ------------------------------------------------------------------ opening_hours and selectors

@pytest.mark.parametrize("value", [
    "24/7", "Mo-Su 00:00-24:00", "00:00-24:00", "Mo-Fr 00:00-24:00; Sa-Su 00:00-24:00",
    "Mo-Fr 00:00-24:00, Sa,Su 00:00-24:00", "mo-su 00:00-24:00", "Mo-Su 18:00-06:00,06:00-18:00",
    "Mo-Su 00:00-12:00,12:00-24:00", "Fr-Th 00:00-24:00", "Mo-Su,PH 00:00-24:00", '24/7 "ring the bell"',
    " 24/7 ",
    "Mo-Su 00:00-23:59",  # revision 3: a range ending at 23:59 ends at 24:00
])
def test_always_open_yes(value):
    assert always_open(value)


@pytest.mark.parametrize("value", [
    "Mo-Fr 08:00-20:00", "Mo-Fr 00:00-24:00", "Mo-Su 07:00-23:00", "24/7; Su off", "24/7; PH off",
    "Mo-Su 00:00-24:00; We 08:00-20:00", "Jan-Mar 24/7", "sunrise-sunset",
    "Mo-Su 08:00+", "", None, float("nan"), "24小时", "Mo-Su 00:00-24:00 unknown",
])
def test_always_open_no(value):
    assert not always_open(value)


def test_name_and_opening_hours_selectors():
    f = pd.DataFrame({"tags": [
        {"amenity": "clinic", "name": "东风社区卫生服务站"},
        {"amenity": "clinic", "name": "张医生诊所"},
        {"amenity": "clinic"},
        {"shop": "convenience", "opening_hours": "Mo-Su 00:00-24:00"},
        {"shop": "convenience", "opening_hours": "Mo-Fr 08:00-20:00"},
        {"amenity": "school", "name": "第二中学附属小学"},
    ]})
    station = validate_selector([{"amenity": "clinic", "name": {"contains": ["卫生服务站", "卫生室"]}}], "t")
    assert select(f, station).tolist() == [True, False, False, False, False, False]
    assert select(f, [{"shop": "convenience", "opening_hours": {"always_open": True}}]).tolist() == [False] * 3 + [True, False, False]
    assert select(f, [{"shop": "convenience", "opening_hours": {"always_open": False}}]).tolist() == [False] * 4 + [True, False]
    middle = [{"amenity": "school", "name": {"regex": "初中|中学(?!附属小学)"}}]
    assert not select(f, middle).any()
    # contains and not combine; a missing value never contains anything
    assert select(f, [{"amenity": "clinic", "name": {"contains": "诊所", "not": ["x"]}}]).tolist() == [False, True] + [False] * 4


def test_geometry_area_condition():
    """A 100 x 100 park (1 ha) passes min_area_m2 = 10000, a 50 x 100 park and a point do not."""
    f = gpd.GeoDataFrame(
        {"tags": [{"leisure": "park"}] * 3},
        geometry=[shapely.box(0, 0, 100, 100), shapely.box(0, 0, 50, 100), shapely.Point(0, 0)], crs=32650,
    )
    sel = [{"leisure": "park", "geometry": {"min_area_m2": 10000}}]
    assert select(f, sel).tolist() == [True, False, False]
    with pytest.raises(InputError, match="projected CRS"):
        select(f.to_crs(4326), sel)


@pytest.mark.parametrize("bad", [
    {"name": {"contains": []}}, {"name": {"regex": "("}}, {"opening_hours": {"always_open": "yes"}},
    {"name": {"like": "x"}}, {"geometry": {"min_area_m2": -1}}, {"geometry": {"max_area": 5}},
])
def test_bad_conditions_are_refused(bad):
    with pytest.raises(InputError, match="rule 'x'"):
        validate_selector([bad], "rule 'x'")


def test_dedupe_points_in_polygons():
    """A toilet node inside its toilet building is one toilet; a node outside stays (15 m away: farther
    than the 10 m of revision 3's one facility, one count)."""
    f = gpd.GeoDataFrame({"osmid": [1, 2, 3]}, geometry=[shapely.Point(5, 5), shapely.box(0, 0, 10, 10), shapely.Point(25, 5)])
    assert dedupe_points_in_polygons(f)["osmid"].tolist() == [2, 3]


# ------------------------------------------------------------------ section A, rev 2 rows

def test_living_circle_breakfast_and_24h_store(a1):
    """KFC at x=150 (85 m) is not a breakfast shop; the nearest is 老王胡辣汤 at x=700: 30 + 600 + 5
    = 635 m > 500, so breakfast is missing. The store open Mo-Su 00:00-24:00 (x=300) is 24-hour:
    30 + 200 + 5 = 235 m; the one open 07:00-23:00 at x=120 is not."""
    homes = a1.results["living_10min"].layers["homes_unserved"]
    assert len(homes) == 1 and homes["missing"].iloc[0] == "breakfast"
    assert homes["network_m_breakfast"].iloc[0] == pytest.approx(635, abs=0.5)
    assert homes["network_m_store_24h"].iloc[0] == pytest.approx(235, abs=0.5)


def test_school_levels(a1):
    """Kindergarten at x=420: 355 m > 300 (missing). Primary: 第二中学附属小学 at x=160, 95 m (育才学校
    at x=140 has no level and counts for neither). Middle school: 第五中学 at x=1000, 935 m <= 1000
    (the 附属小学 is no middle school)."""
    homes = a1.results["kindergarten_school"].layers["homes_unserved"]
    assert homes["missing"].iloc[0] == "kindergarten"
    assert homes["network_m_kindergarten"].iloc[0] == pytest.approx(355, abs=0.5)
    assert homes["network_m_primary_school"].iloc[0] == pytest.approx(95, abs=0.5)
    assert homes["network_m_middle_school"].iloc[0] == pytest.approx(935, abs=0.5)
    rule = uc.load_rules("zhengzhou-2018")["kindergarten_school"]
    listed = unmatched(a1.context.features, rule.params["list_unmatched"], [c.facilities for c in rule.categories])
    assert listed["name"].tolist() == ["育才学校"]
    # the evaluation lists it too, as a layer of the rule, and says so in a note
    assert a1.results["kindergarten_school"].layers["unmatched"]["name"].tolist() == ["育才学校"]
    assert any("count for no category" in n for n in a1.notes)


def test_green_and_park_minimum_sizes(a1):
    """The 900 m² pocket park (x 120..150) counts for neither rule (green: the garden and the park). The 3 000 m² garden (x 300..330)
    is green (>= 2 000) reached from x = 285 (15 m reach): 30 + 185 = 215 m <= 300. Parks need
    5 000 m²: the 6 000 m² park at x 650..710 is reached from x = 635: 30 + 535 = 565 m > 500."""
    assert _row(a1, "green_300")["facilities"] == 2 and _row(a1, "green_300")["residents_served"] == pytest.approx(1)
    park = a1.results["park_500"].layers["homes_unserved"]
    assert _row(a1, "park_500")["facilities"] == 1
    assert park["network_m"].iloc[0] == pytest.approx(565, abs=0.5)


def test_shelter_assembly_point_of_any_size(a1):
    """The assembly point is a node at x=500: 30 + 400 + 5 = 435 m <= 500, served. No park is 1 ha
    (the largest is 0.6 ha), so it is the only shelter."""
    row = _row(a1, "emergency_shelter")
    assert row["facilities"] == 1 and row["residents_served"] == pytest.approx(1)


# ------------------------------------------------------------------ section B and F

def test_toilet_density_counts_each_toilet_once(a1):
    """Toilets in A1: the node at x=100 inside its toilet building (one toilet) and the node at x=400:
    2 in 0.25 km² = 8 per km², above the 4-7 range: meets, reported as above it."""
    row = _row(a1, "toilet_density")
    assert row["facilities"] == 2 and row["area_source"].code == "area.user"
    assert row["value"] == pytest.approx(8.0, rel=1e-3)
    assert row["passed"] and row["above_range"]


def test_health_ratios_by_name(a1):
    """Centre: 东风社区卫生服务中心 only (a bare healthcare=centre is not one). Stations: 东风社区卫生服务站
    and 李庄卫生室; not the private clinic, nor the dentist whatever its name. 68.57 residents per
    centre and 34.29 per station: both within one per 50 000 / 15 000."""
    centre, station = _row(a1, "health_center_ratio"), _row(a1, "health_station_ratio")
    assert centre["facilities"] == 1 and station["facilities"] == 2
    assert centre["value"] == pytest.approx(RES, rel=2e-3) and centre["passed"]
    assert station["value"] == pytest.approx(RES / 2, rel=2e-3) and station["passed"]
    assert centre["residents_plausible"]  # 68.57 / 0.0032 km² = 21 400 per km² of residential land


def test_sports_area_counts_venues_not_campus(a1):
    """The 600 m² pitch and the hall's floor area 20 x 20 x 2 = 800 m², not the 1 ha campus outline:
    1 400 m² / 68.57 residents = 20.4 m² per resident."""
    row = _row(a1, "sports_area_per_capita")
    assert row["ground_area_m2"] == pytest.approx(600, rel=2e-3)
    assert row["hall_floor_area_m2"] == pytest.approx(800, rel=2e-3)
    assert row["value"] == pytest.approx(1400 / RES, rel=3e-3) and row["passed"]


def test_culture_area_by_floor_area(a1):
    """Square 40 x 40 = 1 600 >= 1 000. Subdistrict centre (named 街道…文化) 20 x 10 x 3 floors = 600
    >= 400. Community tier: the node takes its building, 20 x 15 x 1 = 300 >= 200, and the
    subdistrict centre (600) is a community centre too. Every tier meets."""
    row = _row(a1, "culture_area")
    assert row["passed"] is True or row["passed"] == True  # noqa: E712
    fac = a1.results["culture_area"].layers["facilities"]
    community = fac[fac["category"] == "community_culture_centre"].sort_values("area_m2")
    assert community["area_m2"].to_numpy() == pytest.approx([300, 600], rel=3e-3)


def test_undetermined_without_residents_or_units(a2):
    """A2 holds no home: per-resident rules are undetermined, with the reason; no units at all:
    exercise points undetermined; no culture facility in any tier: fails (a gap, not undetermined)."""
    for rid in ("health_center_ratio", "health_station_ratio", "sports_area_per_capita", "exercise_points"):
        row = _row(a2, rid)
        assert row["passed"] is None and isinstance(row["reason"], str) and row["reason"], rid
    assert _row(a2, "culture_area")["passed"] == False  # noqa: E712
    assert pd.isna(_row(a2, "toilet_density")["reason"])


def test_road_density(a1):
    """Roads in A1 (x 0..500): Long St 500 m, Stub Ln 100, Cut Rd 150 (the part in the file), Twin Rd
    2 x 500 m counted once: 500. Not the footway, the service alley or the motorway. 1 250 m in
    0.25 km² = 5 km/km² < 8."""
    row = _row(a1, "road_density")
    assert row["dual_carriageway_km"] == pytest.approx(0.5, abs=1e-3)
    assert row["road_km"] == pytest.approx(1.25, abs=1e-3)
    assert row["value"] == pytest.approx(5.0, rel=1e-3) and not row["passed"]


def test_dead_ends(a1):
    """Degree-1 ends in A1: Stub Ln at (250, 100): a dead end. Cut Rd at (350, 150): its next node is
    missing from the file, not a dead end. Long St at x=0 and Twin Rd at x=0 lie on A1's edge."""
    dead = a1.results["dead_ends"].layers["dead_ends"]
    assert dead["street"].tolist() == ["Stub Ln"]
    assert _row(a1, "dead_ends")["cut_by_extract"] == 1


# ------------------------------------------------------------------ residents

def _homes(kinds, sizes, levels=None):
    return gpd.GeoDataFrame(
        {"building": kinds, "building:levels": levels or [None] * len(kinds)},
        geometry=[shapely.box(i * 100, 0, i * 100 + s, s) for i, s in enumerate(sizes)], crs=32650,
    )


def test_default_levels_by_building_type():
    """A 10 x 10 house without levels: 2 floors -> 200 m² / 35 = 5.71 residents; apartments 6 floors;
    a tagged level count wins."""
    h = _homes(["house", "apartments", "house"], [10, 10, 10], [None, None, "4"])
    assert default_levels(h).tolist() == [2.0, 6.0, 2.0]
    assert estimate_residents(h) == pytest.approx([200 / 35, 600 / 35, 400 / 35])


def test_totals_per_subdistrict_spread_by_floor_area():
    """Subdistrict U (1 000 residents) holds homes of 100 m² and 300 m² footprint (same floors): 250
    and 750. A home outside every subdistrict gets none; subdistrict V holds no home: its 500
    residents stay at a point inside it rather than being lost."""
    h = _homes(["apartments"] * 3, [10, np.sqrt(300), 10])
    units = gpd.GeoDataFrame({"pop": [1000, 500]}, geometry=[shapely.box(-1, -1, 150, 50), shapely.box(5000, 0, 5100, 100)], crs=32650)
    pts, note = population_points(h, units, column="pop")
    on_home = pts[pts["home"] >= 0]
    per_home = np.zeros(len(h))
    per_home[on_home["home"].to_numpy()] = on_home["residents"].to_numpy()
    assert per_home == pytest.approx([250, 750, 0])
    assert pts.loc[pts["home"] < 0, "residents"].tolist() == [500]
    assert "spread over the homes" in note
    with pytest.raises(InputError, match="column 'people'"):
        population_points(h, units, column="people")


def test_plausibility():
    """7 046 residents on 0.1 km² of residential land is 70 460 per km²: implausible; 20 000 on 1 km²
    plausible; no residential land: cannot be judged."""
    assert plausibility(7046, 0.1).ok is False and "implausible" in plausibility(7046, 0.1).message
    assert plausibility(20000, 1.0).ok is True
    assert plausibility(5000, 1.0).ok is False
    assert plausibility(100, 0.0).ok is None
