"""The analysed area where the data is (PLAN_RULES.md revision 3, section G; issue 22 item 3).

Without a given area, the analysed area is the built-up land (built-up ``landuse`` polygons and
buildings grown by ``settings.built_up_buffer_m`` = 50 m), or, where the built-up land holds less
than ``settings.built_up_min_street_share`` (a half) of the walking network's nodes, the hull of the
streets; never the extract's header box. ``area="bounds"`` keeps the old answer.

Coordinates are metres from the test origin (tests/osmfactory.py), in UTM 50N.
"""

import warnings
from pathlib import Path

import numpy as np
import pytest
import shapely
from osmfactory import square, write_osm

import urbancover as uc
from urbancover.app.cli import main

MALTA = Path(__file__).resolve().parents[3] / "shared" / "data" / "malta-2018.osm.pbf"
REL = 2e-3  # OSM keeps 7 decimals of a degree (about 1 cm) and the box bends when projected


def _poly(nodes, ways, wid, ring, tags):
    ids = [wid * 10 + i for i in range(len(ring) - 1)]
    nodes.update(dict(zip(ids, ring[:-1])))
    ways.append((wid, ids + [ids[0]], tags))


def _rect(x0, y0, x1, y1):
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]


def _evaluate(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return uc.evaluate(path, only=["toilet_density", "road_density", "bus_stop_500"], **kw)


@pytest.fixture(scope="module")
def two_blocks(tmp_path_factory):
    """Two built-up blocks 3 km apart in a 15 x 13 km header box (195 km²).

    Block A: ``landuse=residential`` [0, 400] x [0, 300] (0.12 km²), a home 20 x 20 m at
    [190, 210] x [65, 85] (grown by 50 m it reaches [140, 260] x [15, 135]: inside A) and a street
    (20, 150)-(380, 150), 360 m. Block B: ``landuse=commercial`` [3000, 3500] x [2000, 2200]
    (0.10 km²) and a street (3020, 2100)-(3480, 2100), 460 m. Every street node lies in the land
    (share 1 >= 0.5): the analysed area is the built-up land, 0.12 + 0.10 = 0.22 km².
    Toilets at (100, 250) in A, (3100, 2050) in B, and (2000, 1000) in the fields between.
    By hand: toilets per km² 2 / 0.22 = 9.09; road density 0.82 km / 0.22 km² = 3.727 km/km².
    With the box (195 km²): road density 0.82 / 195 = 0.0042.
    """
    nodes, ways = {}, []
    _poly(nodes, ways, 1, _rect(0, 0, 400, 300), {"landuse": "residential"})
    _poly(nodes, ways, 2, square(190, 65, 20), {"building": "yes"})
    _poly(nodes, ways, 3, _rect(3000, 2000, 3500, 2200), {"landuse": "commercial"})
    nodes.update({1: (20, 150), 2: (380, 150), 3: (3020, 2100), 4: (3480, 2100),
                  5: (100, 250, {"amenity": "toilets"}), 6: (3100, 2050, {"amenity": "toilets"}),
                  7: (2000, 1000, {"amenity": "toilets"})})
    ways += [(10, [1, 2], {"highway": "residential"}), (11, [3, 4], {"highway": "residential"})]
    return write_osm(tmp_path_factory.mktemp("area") / "blocks.osm", nodes, ways, bounds=(-5000, -5000, 10000, 8000))


def test_built_up_land_is_the_analysed_area_and_densities_divide_by_it(two_blocks):
    report = _evaluate(two_blocks)
    ctx = report.context
    assert ctx.area_source == "built-up" and ctx.area_note.code == "area.built_up"
    assert ctx.area_km2 == pytest.approx(0.22, rel=REL)
    row = report.summary.set_index("id")
    assert row.loc["toilet_density", "facilities"] == 2  # not the toilet in the fields
    assert row.loc["toilet_density", "area_km2"] == pytest.approx(0.22, rel=REL)
    assert row.loc["toilet_density", "value"] == pytest.approx(2 / 0.22, rel=REL)
    assert row.loc["road_density", "road_km"] == pytest.approx(0.82, rel=REL)
    assert row.loc["road_density", "value"] == pytest.approx(0.82 / 0.22, rel=REL)
    # the report names it, with its size, in both languages
    assert "analysed area: built-up land, 0.22 km²" in ctx.area_note and ctx.area_note in report.notes
    assert ctx.area_note.text("zh").startswith("分析范围：建成区，0.22 平方公里")
    assert row.loc["road_density", "area_source"].code == "area.built_up"


def test_bounds_by_name_gives_the_old_answer(two_blocks):
    """``area="bounds"``: the header box, 15 x 13 km = 195 km²; the road density divides by it
    (0.82 / 195), the toilet density by the built-up land as before revision 3 (2 / 0.22)."""
    report = _evaluate(two_blocks, area="bounds")
    ctx = report.context
    assert ctx.area_source == "bounds" and ctx.area_note.code == "area.bounds"
    assert ctx.area_km2 == pytest.approx(195.0, rel=REL)
    row = report.summary.set_index("id")
    assert row.loc["road_density", "value"] == pytest.approx(0.82 / 195.0, rel=REL)
    assert row.loc["toilet_density", "value"] == pytest.approx(2 / 0.22, rel=REL)
    assert row.loc["toilet_density", "area_source"].code == "area.built_up_in_bounds"


def test_a_map_frames_the_analysed_area_not_the_box(two_blocks):
    """The built-up land spans [0, 3500] x [0, 2200]; the static map's frame is that plus its
    3 % margin (and what the equal aspect adds along one axis), far inside the 15 km box."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from urbancover.report.static import gap_map

    report = _evaluate(two_blocks)
    ax = Figure(figsize=(6, 6)).add_subplot()
    gap_map(report, "bus_stop_500", ax=ax, lang="en")
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    minx, miny, maxx, maxy = report.context.area.bounds
    pad = 0.03 * max(maxx - minx, maxy - miny) + 1.0
    assert x0 >= minx - pad and x1 <= maxx + pad and y0 >= miny - pad and y1 <= maxy + pad
    assert x1 - x0 < 0.25 * 15_000  # the box is 15 km wide


def test_streets_hull_where_little_is_built(tmp_path):
    """Streets everywhere, one building: a 3 x 3 grid of streets over [0, 1000] x [0, 600] (nodes at
    x = 0, 500, 1000 and y = 0, 300, 600) in a 2 x 1.6 km box (3.2 km²), one 20 x 20 m building at
    [240, 260] x [140, 160] (grown by 50 m it holds no street node: share 0 < 0.5). The analysed area
    is the streets' hull, the rectangle [0, 1000] x [0, 600] = 0.6 km² (the grown building lies in
    it). Streets: 3 x 1000 + 3 x 600 = 4800 m; road density 4.8 / 0.6 = 8.0 km/km² (meets 8);
    with the box it was 4.8 / 3.2 = 1.5.
    """
    nodes, ways = {}, []
    xs, ys = (0, 500, 1000), (0, 300, 600)
    for i, x in enumerate(xs):
        for j, y in enumerate(ys):
            nodes[1 + 3 * i + j] = (x, y)
    for j in range(3):
        ways.append((100 + j, [1 + 3 * i + j for i in range(3)], {"highway": "residential"}))
    for i in range(3):
        ways.append((200 + i, [1 + 3 * i + j for j in range(3)], {"highway": "residential"}))
    _poly(nodes, ways, 300, square(240, 140, 20), {"building": "yes"})
    path = write_osm(tmp_path / "grid.osm", nodes, ways, bounds=(-500, -500, 1500, 1100))
    report = _evaluate(path)
    ctx = report.context
    assert ctx.area_source == "streets" and ctx.area_note.code == "area.streets"
    assert ctx.area_km2 == pytest.approx(0.6, rel=REL)
    row = report.summary.set_index("id")
    assert row.loc["road_density", "value"] == pytest.approx(8.0, rel=REL)
    assert "the streets' hull, 0.6 km²" in ctx.area_note and "街道外包范围" in ctx.area_note.text("zh")
    # the built-up land can still be asked for: the building grown by 50 m, its round corners 4
    # segments a quarter (a 16-gon of radius 50 between them): 20² + 4 x 20 x 50 + 8 x 50² x sin(pi / 8)
    built = _evaluate(path, area="built-up").context
    assert built.area_source == "built-up"
    assert built.area_km2 == pytest.approx((400 + 4 * 20 * 50 + 8 * 50**2 * np.sin(np.pi / 8)) / 1e6, rel=REL)


def test_named_areas_are_checked(two_blocks, tmp_path):
    with pytest.raises(uc.InputError, match="built-up.*streets.*bounds"):
        _evaluate(two_blocks, area="everywhere")
    path = write_osm(tmp_path / "bare.osm", {1: (0, 0), 2: (500, 0), 3: (500, 500)},
                     [(1, [1, 2, 3], {"highway": "residential"})], bounds=(-100, -100, 600, 600))
    with pytest.raises(uc.InputError, match="no built-up land"):
        _evaluate(path, area="built-up")


def test_cli_names_the_area(two_blocks, tmp_path, capsys):
    assert main(["analyze", str(two_blocks), "--only", "road_density", "--out", str(tmp_path / "zh"), "--lang", "zh"]) == 0
    assert "分析范围：建成区，0.22 平方公里" in capsys.readouterr().out
    assert main(["analyze", str(two_blocks), "--only", "road_density", "--area", "bounds",
                 "--out", str(tmp_path / "en"), "--lang", "en"]) == 0
    assert "analysed area: the extract's bounds, 195.0 km² (as asked)" in capsys.readouterr().out


@pytest.mark.skipif(not MALTA.is_file(), reason=f"{MALTA} not found (the shared data folder beside the clone)")
def test_malta_without_area_is_its_built_up_land():
    """Malta 2018 without ``--area``: the analysed area is within 15 % of the island's built-up
    extent, worked out here with shapely alone: every building grown by 50 m (round corners of 8
    segments a quarter) and the residential, commercial, retail and industrial landuse, in one
    union. The header box is 8 468 km² (the islands hold ~316 km²). About 10 s."""
    from urbancover.evaluation.context import make_context

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        osm = uc.read_osm(MALTA)
        ctx = make_context(osm)
    f = osm.projected("features")
    polys = shapely.get_dimensions(f.geometry.values) == 2
    buildings = f.geometry.values[polys & f["building"].notna().to_numpy()]
    land = f.geometry.values[polys & f["landuse"].isin(["residential", "commercial", "retail", "industrial"]).to_numpy()]
    extent = shapely.union_all(np.r_[shapely.buffer(buildings, 50.0, quad_segs=8), shapely.make_valid(land)]).area / 1e6
    assert ctx.area_source == "built-up"
    assert ctx.area_km2 == pytest.approx(extent, rel=0.15)
    assert ctx.area_km2 < 316  # the islands, not the sea around them
