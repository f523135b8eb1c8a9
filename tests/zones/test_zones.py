"""Street blocks and the demonstration-zone search (plan clause IV.1), on hand-made cities whose
answers are worked out by hand, and properties on the bundled sample.

The grid city (metres, x east, y north) has tertiary roads at x, y = 0, 500, 1000, 1500, 2000: 16
blocks of 0.25 km², named (i, j) for the block [500 i, 500 i + 500] x [500 j, 500 j + 500]. With the
default band of 0.8-1.2 km², a zone is exactly four blocks (three make 0.75, five 1.25 km²).

    j=3  .    .    T23  T33        T..: old compounds (1990), one home each, no bus stop near
    j=2  .    .    T22  T32        W..: old compounds (1985), two homes each, a bus stop each
    j=1  W01  N11  .    .          N11: a compound built 2010 (not old), two homes, a bus stop
    j=0  W00  W10  X    X  park    X: old compound (1980) across the road x=1500: 60 % in (2,0)
         i=0  i=1  i=2  i=3

Homes are 20 x 20 m, 6 floors, 35 m² per person: H = 68.57 residents each. Every home lacks a park
within 500 m (the only park is in block (3,0), 40 m off the road y=0 at x 1650-1900: the nearest
home, in W10, walks 100 + 900 + 40 m). Homes in W and N11 have a bus stop 105-155 m away; homes in
T do not (the nearest stop is 1,105 m or more away).

Default score (two distance rules, weight 1/2 each, 500 per old compound):
* T = {(2,2), (3,2), (2,3), (3,3)}: 4 old; bus gap 4H, park gap 4H -> 4H + 2000 = 2274.3.
* WX = {(0,0), (1,0), (2,0), (0,1)}: W00, W10, W01 and X (60 % in (2,0)) = 4 old; park gap 6H ->
  3H + 2000 = 2205.7.
Only T's blocks and WX's blocks hold four old compounds, so T ranks first, and WX, which shares no
block with it, second; no other four blocks disjoint from both hold three old compounds.
"""

import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from osmfactory import X0, Y0, write_osm

import urbancover as uc
from urbancover import zones

H = 400 * 6 / 35  # residents of a 20 x 20 m home
REL = 2e-3  # OSM stores 7 decimals of a degree (~1 cm): areas come back within ~0.1 %
TWO_RULES = ["bus_stop_500", "park_500"]


def _block(i, j):
    """Block (i, j) of the grid city, in EPSG:32650."""
    return shapely.box(X0 + 500 * i, Y0 + 500 * j, X0 + 500 * i + 500, Y0 + 500 * j + 500)


class _Builder:
    def __init__(self):
        self.nodes, self.ways, self.next = {}, [], 1000

    def poly(self, corners, tags):
        ids = []
        for xy in corners:
            self.nodes[self.next] = xy
            ids.append(self.next)
            self.next += 1
        self.ways.append((self.next, ids + [ids[0]], tags))
        self.next += 1

    def rect(self, x0, y0, x1, y1, tags):
        self.poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], tags)

    def home(self, cx, cy):
        self.rect(cx - 10, cy - 10, cx + 10, cy + 10, {"building": "apartments"})

    def road(self, pts, tags):
        ids = []
        for xy in pts:
            key = next((k for k, v in self.nodes.items() if v == xy), None)
            if key is None:
                key = self.next
                self.nodes[key] = xy
                self.next += 1
            ids.append(key)
        self.ways.append((self.next, ids, tags))
        self.next += 1


@pytest.fixture(scope="module")
def grid_report(tmp_path_factory):
    b = _Builder()
    lines = [0, 500, 1000, 1500, 2000]
    for c in lines:
        b.road([(c, y) for y in lines], {"highway": "tertiary"})
        b.road([(x, c) for x in lines], {"highway": "tertiary"})

    def compound(i, j, name, year, homes, width=150):
        x0, y0 = 500 * i, 500 * j
        b.rect(x0 + 200, y0 + 50, x0 + 200 + width, y0 + 150, {"landuse": "residential", "name": name, "start_date": year})
        for k in range(homes):
            b.home(x0 + 250 + 50 * k, y0 + 100)

    for i, j in [(0, 0), (1, 0), (0, 1)]:
        compound(i, j, f"W{i}{j}", "1985", 2)
    compound(1, 1, "N11", "2010", 2)
    for i, j in [(2, 2), (3, 2), (2, 3), (3, 3)]:
        compound(i, j, f"T{i}{j}", "1990", 1, width=100)
    b.rect(1380, 300, 1580, 400, {"landuse": "residential", "name": "X", "start_date": "1980"})
    for i, j in [(0, 0), (1, 0), (0, 1), (1, 1)]:  # bus stops 5 m off the south road of W and N11
        b.nodes[b.next] = (500 * i + 250, 500 * j - 5, {"highway": "bus_stop"})
        b.next += 1
    b.rect(1650, 40, 1900, 240, {"leisure": "park"})
    path = write_osm(tmp_path_factory.mktemp("grid") / "grid.osm", b.nodes, b.ways, bounds=(-50, -50, 2050, 2050))
    return uc.evaluate(path, only=TWO_RULES)


def _same_area(geom, blocks):
    """The zone covers exactly these blocks (to OSM rounding)."""
    target = shapely.union_all([_block(*ij) for ij in blocks])
    return shapely.symmetric_difference(geom, target).area < 1e-3 * target.area


T = [(2, 2), (3, 2), (2, 3), (3, 3)]
WX = [(0, 0), (1, 0), (2, 0), (0, 1)]
W = [(0, 0), (1, 0), (0, 1), (1, 1)]


# ----------------------------------------------------------------------------- the grid city
def test_grid_blocks(grid_report):
    blocks = zones.street_blocks(grid_report)
    assert len(blocks) == 16
    assert blocks["area_m2"].to_numpy() == pytest.approx(np.full(16, 250_000.0), rel=REL)
    assert blocks.crs == grid_report.context.crs
    assert blocks.attrs["level"] == "tertiary" and blocks.attrs["dropped_slivers"] == 0


def test_grid_known_zones(grid_report):
    z = zones.find_zones(grid_report)
    assert len(z) == 2
    assert z.crs == grid_report.context.crs
    t, wx = z.iloc[0], z.iloc[1]
    assert _same_area(t.geometry, T) and _same_area(wx.geometry, WX)
    assert list(z["rank"]) == [1, 2]
    assert list(z["n_blocks"]) == [4, 4]
    assert z["area_km2"].to_numpy() == pytest.approx([1.0, 1.0], rel=REL)
    assert list(z["old_compounds"]) == [4, 4]
    # Polsby-Popper 4 pi A / P²: a square of four blocks pi / 4, an L of four 4 pi 4 / 10²
    assert z["compactness"].to_numpy() == pytest.approx([np.pi / 4, 4 * np.pi * 4 / 100], rel=REL)
    assert sorted(t.compound_names.split(", ")) == ["T22", "T23", "T32", "T33"]
    assert sorted(wx.compound_names.split(", ")) == ["W00", "W01", "W10", "X"]
    # T: four homes, none with a bus stop or a park within 500 m
    assert t.residents == pytest.approx(4 * H, rel=REL)
    assert t.gap_bus_stop_500 == pytest.approx(4 * H, rel=REL)
    assert t.gap_park_500 == pytest.approx(4 * H, rel=REL)
    assert t.score == pytest.approx(4 * H + 2000, rel=REL)
    # WX: six homes (X has none), all with a bus stop, none with a park
    assert wx.residents == pytest.approx(6 * H, rel=REL)
    assert wx.gap_bus_stop_500 == pytest.approx(0.0, abs=1e-9)
    assert wx.gap_park_500 == pytest.approx(6 * H, rel=REL)
    assert wx.score == pytest.approx(3 * H + 2000, rel=REL)
    assert z.attrs["failed"] is None and z.attrs["diagnosis"] is None
    assert z.attrs["compound_source"].startswith("OSM landuse=residential")
    assert z.attrs["search"]["method"] == "exact"
    # the reasons name the compounds and the gaps, and why #2 is below #1
    assert "4 old compounds" in t.reason and "ranks 1st" in t.reason
    assert "100% lack park within 500 m" in t.reason
    assert "ranks 2nd" in wx.reason and "less need" in wx.reason


def test_beam_search_finds_the_same_zones(grid_report):
    z = zones.find_zones(grid_report, method="beam")
    assert z.attrs["search"]["method"] == "beam"
    assert len(z) == 2
    assert _same_area(z.geometry.iloc[0], T) and _same_area(z.geometry.iloc[1], WX)


def test_weights_change_the_ranking(grid_report):
    # only park gaps count: four blocks hold at most 8 homes lacking a park, W's blocks (2 each);
    # W has three old compounds, so it is valid; then T (4 homes) is the best zone sharing no block
    z = zones.find_zones(grid_report, weights={"bus_stop_500": 0, "park_500": 1, "old_compounds": 0})
    assert len(z) == 2
    assert _same_area(z.geometry.iloc[0], W) and _same_area(z.geometry.iloc[1], T)
    assert z["score"].to_numpy() == pytest.approx([8 * H, 4 * H], rel=REL)
    assert z.iloc[0].old_compounds == 3
    assert z.attrs["weights"] == {"bus_stop_500": 0.0, "park_500": 1.0, "old_compounds": 0.0}


def test_majority_rule_for_a_compound_across_a_road(grid_report):
    # X lies 60 % in block (2,0) and 40 % in (3,0): it counts in a zone only with (2,0)
    z = zones.find_zones(grid_report, min_old_compounds=1, weights={"bus_stop_500": 0, "park_500": 0}, top=16,
                         band_km2=(0.2, 0.3))
    by_block = {tuple(sorted(b)): row for b, row in zip(z["blocks"], z.itertuples())}
    blocks = zones.street_blocks(grid_report)
    ids = {(round((g.centroid.x - X0 - 250) / 500), round((g.centroid.y - Y0 - 250) / 500)): k
           for k, g in zip(blocks["block"], blocks.geometry)}
    assert "X" in by_block[(ids[(2, 0)],)].compound_names
    assert (ids[(3, 0)],) not in by_block  # no old compound counts there
    assert len(z) == 8  # W00, W10, W01, X and the four T blocks, one block each


def test_cut_off_year_recomputes_old_compounds(grid_report):
    # before 1988: T's compounds (1990) are no longer old, so WX is the best zone
    z = zones.find_zones(grid_report, before_year=1988)
    assert len(z) >= 1 and _same_area(z.geometry.iloc[0], WX)
    assert z.iloc[0].old_compounds == 4
    assert not (z["compound_names"].str.contains("T2").any())


def test_too_few_old_compounds_is_diagnosed(grid_report):
    with pytest.warns(UserWarning, match="no demonstration zone"):
        z = zones.find_zones(grid_report, min_old_compounds=5)
    assert len(z) == 0 and "gap_park_500" in z.columns and z.crs == grid_report.context.crs
    assert z.attrs["failed"] == "old_compounds"
    assert "best 1.00 km² enclosed area holds only 4 old compounds" in z.attrs["diagnosis"]


def test_band_no_union_can_hit(grid_report):
    # one block is 0.25 km², two are 0.50: nothing lies in 0.30-0.45
    with pytest.warns(UserWarning, match="no union of adjacent blocks"):
        z = zones.find_zones(grid_report, band_km2=(0.30, 0.45))
    assert len(z) == 0 and z.attrs["failed"] == "area"
    assert "reaches 0.25 km²" in z.attrs["diagnosis"] and "smallest above it is 0.50 km²" in z.attrs["diagnosis"]


def test_bad_parameters(grid_report):
    with pytest.raises(uc.InputError, match="weights"):
        zones.find_zones(grid_report, weights={"toilets": 1})
    with pytest.raises(uc.InputError, match="band"):
        zones.find_zones(grid_report, band_km2=(1.2, 0.8))
    with pytest.raises(uc.InputError, match="level"):
        zones.street_blocks(grid_report, level="alley")


# ----------------------------------------------------------------------------- levels, slivers, water
@pytest.fixture(scope="module")
def small_city(tmp_path_factory):
    """A 900 x 900 m square of tertiary roads, cut into 3 x 3 blocks of 300 m by residential
    roads; block (2,2) is a lake; a residential road 10 m north of y=0 (x 0-300) makes a sliver;
    a tertiary road in a tunnel crosses the middle; a dead end pokes into block (0,2). No compounds."""
    b = _Builder()
    c = [0, 300, 600, 900]
    for v in (0, 900):
        b.road([(v, y) for y in c], {"highway": "tertiary"})
        b.road([(x, v) for x in c], {"highway": "tertiary"})
    for v in (300, 600):
        b.road([(v, y) for y in c], {"highway": "residential"})
        b.road([(x, v) for x in c], {"highway": "residential"})
    b.road([(0, 10), (300, 10)], {"highway": "residential"})
    b.road([(0, 150), (900, 150)], {"highway": "tertiary", "tunnel": "yes", "layer": "-1"})
    b.road([(0, 750), (150, 750)], {"highway": "residential"})
    b.rect(605, 605, 895, 895, {"natural": "water"})
    path = write_osm(tmp_path_factory.mktemp("small") / "small.osm", b.nodes, b.ways, bounds=(-20, -20, 920, 920))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no facility matches: every place is a gap
        return uc.evaluate(path, only=TWO_RULES)


def test_levels_slivers_water_tunnels(small_city):
    osm = small_city.context.osm
    tertiary = zones.street_blocks(osm, "tertiary")
    assert len(tertiary) == 1 and tertiary["area_m2"].iloc[0] == pytest.approx(810_000, rel=REL)
    res = zones.street_blocks(osm, "residential")
    # 9 cells; the lake goes, the sliver 300 x 10 m goes, and the cell above it is 300 x 290
    assert len(res) == 8
    assert res.attrs["dropped_water"] == 1 and res.attrs["dropped_slivers"] == 1
    assert sorted(np.round(res["area_m2"].to_numpy(), -2)) == [87_000] + [90_000] * 7
    # a list of highway values is a level too; the same roads from a Context, a Network
    assert len(zones.street_blocks(osm, ["tertiary"])) == 1
    assert len(zones.street_blocks(small_city.context, "residential")) == 8
    net = uc.walk_network(osm.ways, filter=None, crs=osm.crs)
    lake = osm.features[osm.features["natural"] == "water"]
    assert len(zones.street_blocks(net, "residential", water=lake)) == 8
    # roads in tunnels cut the land when asked to
    assert len(zones.street_blocks(osm, "tertiary", tunnels=True)) == 2


def test_no_compounds(small_city):
    with pytest.warns(UserWarning, match="0 old compound"):
        z = zones.find_zones(small_city)  # the single tertiary block is 0.81 km², in the band
    assert len(z) == 0 and z.attrs["failed"] == "old_compounds"
    # with no old compound required, that block is the zone
    z = zones.find_zones(small_city, min_old_compounds=0)
    assert len(z) == 1 and z["area_km2"].iloc[0] == pytest.approx(0.81, rel=REL)


def test_no_closed_blocks(tmp_path):
    b = _Builder()
    b.road([(0, 500), (1000, 500)], {"highway": "primary"})
    b.road([(500, 0), (500, 1000)], {"highway": "tertiary"})
    b.rect(100, 100, 300, 300, {"landuse": "residential", "start_date": "1980"})
    path = write_osm(tmp_path / "cross.osm", b.nodes, b.ways, bounds=(0, 0, 1000, 1000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = uc.evaluate(path, only=TWO_RULES)
    assert len(zones.street_blocks(report)) == 0
    with pytest.warns(UserWarning, match="no street block"):
        z = zones.find_zones(report)
    assert len(z) == 0 and z.attrs["failed"] == "blocks"


def test_dual_carriageway_joins_blocks(tmp_path):
    """Blocks A = [0, 500] x [0, 500] and B = [515, 1015] x [0, 500] either side of a dual road
    (one-way ways at x = 500 and x = 515): the 15 m strip is a sliver; A and B are adjacent across
    it, and a zone of both covers it: 1015 x 500 m."""
    b = _Builder()
    b.road([(0, 0), (500, 0), (515, 0), (1015, 0), (1015, 500), (515, 500), (500, 500), (0, 500), (0, 0)],
           {"highway": "tertiary"})
    b.road([(500, 0), (500, 500)], {"highway": "secondary", "oneway": "yes"})
    b.road([(515, 500), (515, 0)], {"highway": "secondary", "oneway": "yes"})
    b.rect(100, 100, 300, 300, {"landuse": "residential", "start_date": "1980", "name": "A1"})
    b.rect(700, 100, 900, 300, {"landuse": "residential", "start_date": "1982", "name": "B1"})
    path = write_osm(tmp_path / "dual.osm", b.nodes, b.ways, bounds=(-20, -20, 1035, 520))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = uc.evaluate(path, only=TWO_RULES)
    blocks = zones.street_blocks(report)
    assert len(blocks) == 2 and blocks.attrs["dropped_slivers"] == 1
    z = zones.find_zones(report, band_km2=(0.45, 0.55), min_old_compounds=2)
    assert len(z) == 1 and z["n_blocks"].iloc[0] == 2
    assert z["area_km2"].iloc[0] == pytest.approx(1015 * 500 / 1e6, rel=REL)
    assert z.geometry.iloc[0].geom_type == "Polygon"
    # with a join gap narrower than the strip, A and B are not adjacent
    with pytest.warns(UserWarning, match="no union"):
        z = zones.find_zones(report, band_km2=(0.45, 0.55), min_old_compounds=2, join_gap_m=10)
    assert z.attrs["failed"] == "area"


# ----------------------------------------------------------------------------- the bundled sample
@pytest.fixture(scope="module")
def sample_report(shenzhen_osm):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return uc.evaluate(shenzhen_osm, only=["bus_stop_500", "park_500", "green_300"])


def test_sample_default_is_diagnosed(sample_report):
    # the sample's compounds in the area carry no year: old by the proxy, which the source says
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        z = zones.find_zones(sample_report)
    assert "assumed old" in z.attrs["compound_source"]
    # No zone is the right answer on this sample: only 3 compounds (landuse=residential, no year, so old)
    # lie in its analysed area, two of them 88 m apart and the third 1.6 km from both (their convex hull
    # is 1.7 km², beyond the 0.8-1.2 km² band), so no road-enclosed area of the band holds most of all
    # three and the default min_old_compounds=3 cannot be met; the exact search says the best holds 2.
    assert len(z) == 0
    assert any("no demonstration zone" in str(w.message) for w in caught)
    assert z.attrs["failed"] == "old_compounds"
    best = int(z.attrs["diagnosis"].split("holds only ")[1].split(" ")[0])
    assert best == 2
    # the diagnosis is right about the best: asking for that many finds zones, none holding more
    found = zones.find_zones(sample_report, min_old_compounds=best)
    assert len(found) and found["old_compounds"].max() == best
    # turning the proxy off leaves no old compound at all
    with pytest.warns(UserWarning, match="only 0 old compound"):
        z = zones.find_zones(sample_report, assume_old=False)
    assert "not counted as old" in z.attrs["compound_source"]


def _level_roads(osm, crs, level):
    """Road lines of a level, straight from the OSM ways (not through the zones module)."""
    ways = osm.ways[osm.ways["highway"].isin(zones.LEVELS[level]).to_numpy()]
    return shapely.union_all(ways.to_crs(crs).geometry.values)


def _check_zone_properties(z, report, band, k, join_gap_m=30.0, comp=None):
    roads = _level_roads(report.context.osm, report.context.crs, "tertiary")
    geoms = z.geometry.values
    for g, row in zip(geoms, z.itertuples()):
        # enclosed by roads: every point of the outline within half the join gap of a road
        pts = shapely.points(shapely.get_coordinates(shapely.segmentize(g.boundary, 5.0)))
        assert shapely.distance(pts, roads).max() <= join_gap_m / 2 + 1.0
        assert band[0] <= g.area <= band[1]
        assert row.area_km2 == pytest.approx(g.area / 1e6)
        assert row.old_compounds >= k
        if comp is not None:  # recount: old compounds with most of their area inside
            cg = comp.geometry.values
            inside = shapely.area(shapely.intersection(cg, g)) > 0.5 * shapely.area(cg)
            assert int(inside.sum()) == row.old_compounds
    for a in range(len(geoms)):
        for b in range(a + 1, len(geoms)):
            assert shapely.intersection(geoms[a], geoms[b]).area < 1.0


def test_sample_zone_properties(sample_report, shenzhen_osm):
    # a user compound layer: 60 x 60 m squares around the sample's 30 apartment buildings, built 1990
    homes = sample_report.context.homes
    centres = shapely.centroid(homes.geometry.values)
    layer = gpd.GeoDataFrame(
        {"name": [f"C{i}" for i in range(len(homes))], "year_built": 1990},
        geometry=shapely.buffer(centres, 30, cap_style="square"), crs=homes.crs,
    ).to_crs(4326)
    band = (0.3e6, 0.7e6)
    z = zones.find_zones(sample_report, compounds=layer, band_km2=(band[0] / 1e6, band[1] / 1e6), min_old_compounds=3, top=3)
    assert z.attrs["compound_source"] == "user compound layer"
    assert len(z) >= 1
    _check_zone_properties(z, sample_report, band, 3, comp=layer.to_crs(z.crs))
    # the default band, no compound needed: several zones, the same properties
    band = (0.8e6, 1.2e6)
    z = zones.find_zones(sample_report, min_old_compounds=0, top=3)
    assert len(z) >= 1
    _check_zone_properties(z, sample_report, band, 0)
    assert (np.diff(z["score"].to_numpy()) <= 1e-9).all()


def test_sample_blocks_enclosed_by_level_roads(sample_report, shenzhen_osm):
    blocks = zones.street_blocks(shenzhen_osm, "tertiary")
    assert len(blocks) > 0 and blocks.crs == shenzhen_osm.crs
    roads = _level_roads(shenzhen_osm, blocks.crs, "tertiary")
    pts = shapely.points(shapely.get_coordinates(shapely.segmentize(blocks.boundary.values, 5.0)))
    assert shapely.distance(pts, roads).max() < 0.01
    assert (blocks["area_m2"] >= 2000).all() and (blocks["width_m"] >= 20).all()
