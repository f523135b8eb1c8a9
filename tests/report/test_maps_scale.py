"""Maps at city scale: the compact layers of the interactive map, the compound paths of the gap
maps, the pieces a gap map colours, rasterized dense layers. Checked against independent
computations: a decoder written here from the format's description, the engine's summary, the
colour map applied piece by piece, shapely geometry."""

from __future__ import annotations

import dataclasses
import json
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
folium = pytest.importorskip("folium")

from urbancover import report as ucr  # noqa: E402
from urbancover import settings  # noqa: E402
from urbancover.report import common, interactive, static  # noqa: E402


@pytest.fixture(scope="module")
def report(shenzhen_report):
    return shenzhen_report


@pytest.fixture(scope="module")
def page(report):
    return ucr.interactive_map(report, lang="en").get_root().render()


# ------------------------------------------------------------------------------- the compact format


def decode(d: dict) -> list:
    """Features of a layer of assets/uclayers.js as shapely geometries (lon, lat), written from
    the format's description in that file (not from urbancover's encoder)."""
    v = np.asarray(d["v"], dtype=np.int64).reshape(-1, 2).cumsum(axis=0) / 1e6
    if d["k"] == "point":
        return list(shapely.points(v))
    rings, k = [], 0
    for n in d["r"]:
        rings.append(v[k:k + n])
        k += n
    parts = rings
    if d["k"] == "poly":
        parts, k = [], 0
        for n in d["p"]:
            rs = [np.vstack([r, r[:1]]) for r in rings[k:k + n]]  # rings come without their closing vertex
            parts.append(shapely.Polygon(rs[0], rs[1:]))
            k += n
    else:
        parts = [shapely.LineString(r) for r in rings]
    out, k = [], 0
    for n in d["f"]:
        group = parts[k:k + n]
        k += n
        if d["k"] == "poly":
            out.append(group[0] if n == 1 else shapely.MultiPolygon(group))
        else:
            out.append(group[0] if n == 1 else shapely.MultiLineString(group))
    return out


def column(d: dict, j: int) -> list:
    c = d["c"][j]
    return [c["u"][i] for i in c["i"]] if isinstance(c, dict) else c


def layers_of(page: str) -> dict:
    """Feature group variable -> its layers, from the ``UC.lazy(group, [...])`` calls of a page."""
    names = set(re.findall(r"var (feature_group_[0-9a-f]+) = L\.featureGroup", page))
    out = {}
    for name, data in re.findall(r"UC\.lazy\((feature_group_[0-9a-f]+), (\[.*?\])\);", page, flags=re.S):
        assert name in names
        out[name] = json.loads(data)
    return out


def group_of(m, rid: str) -> str:
    """Variable name of the feature group of a rule."""
    for child in m._children.values():
        if isinstance(child, folium.FeatureGroup) and child.layer_name.startswith(f"{rid} · "):
            return child.get_name()
    raise KeyError(rid)


def test_encoding_round_trips_polygons_with_holes_multiparts_and_lines():
    rng = np.random.default_rng(3)
    outer = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)])
    hole = shapely.Polygon([(2, 2), (4, 2), (4, 4), (2, 4)])
    polys = [outer.difference(hole), shapely.MultiPolygon([outer, shapely.box(20, 20, 25, 27)]),
             shapely.box(-5, -5, -1, -2)]
    # lon/lat of a city: the deltas stay small, the values absolute
    polys = [shapely.affinity.translate(shapely.affinity.scale(p, 1e-4, 1e-4, origin=(0, 0)), 114.2, 22.7) for p in polys]
    lines = [shapely.LineString(np.c_[114 + rng.random(7) / 100, 22 + rng.random(7) / 100]) for _ in range(5)]
    lines.append(shapely.MultiLineString([lines[0], lines[1]]))
    for geoms, kind in ((polys, "poly"), (lines, "line")):
        d = {"k": kind, **interactive._encode(np.array(geoms, dtype=object), kind, merge=False)}
        back = decode(d)
        assert len(back) == len(geoms)
        for a, b in zip(geoms, back):
            # same shape to the rounding (1e-6 degree): equal areas/lengths and a tiny symmetric difference
            assert shapely.get_num_geometries(a) == shapely.get_num_geometries(b)
            if kind == "poly":
                assert b.area == pytest.approx(a.area, rel=1e-3)
                assert a.symmetric_difference(b).area < 1e-3 * a.area
            else:
                assert shapely.hausdorff_distance(a, b) < 1e-6


def test_interactive_map_holds_every_unserved_place_where_it_is(report, page):
    m = ucr.interactive_map(report, lang="en")
    page = m.get_root().render()
    layers = layers_of(page)
    for rid in ("bus_stop_500", "green_300", "living_10min"):
        res = report.results[rid]
        homes = res.layers["homes_unserved"]
        data = layers[group_of(m, rid)]
        # the homes layer is the polygon layer titled "Home (not served)"
        (d,) = [x for x in data if x.get("t") == common.TEXT["en"]["home_unserved"]]
        got = gpd.GeoSeries(decode(d), crs=4326).to_crs(report.network.crs)
        want = homes.geometry.values
        assert len(got) == len(want)
        # every home is drawn where it is: the centroids agree to within the rounding (~0.1 m)
        assert np.abs(shapely.get_coordinates(shapely.centroid(got.values)) -
                      shapely.get_coordinates(shapely.centroid(want))).max() < 0.5
        # each home's popup lists the rules it fails (this one among them)
        fails = column(d, d["l"].index(common.TEXT["en"]["fails"]))
        assert len(fails) == len(want) and all(rid in f.split(", ") for f in fails)
        assert d["s"]["fillColor"] == common.BEYOND


def test_gap_runs_of_the_map_measure_the_unserved_street_length(report):
    """The red street runs of a street rule, measured back in metres, are the street demand the
    engine found unserved: street_km x (1 - street_served) of the summary."""
    m = ucr.interactive_map(report, lang="en", rules=["toilet_general_500"])
    layers = layers_of(m.get_root().render())
    (d,) = [x for x in layers[group_of(m, "toilet_general_500")] if x["k"] == "line"]
    assert d["s"]["color"] == common.BEYOND
    runs = gpd.GeoSeries(decode(d), crs=4326).to_crs(report.network.crs)
    row = report.summary.set_index("id").loc["toilet_general_500"]
    unserved_m = 1000 * row["street_km"] * (1 - row["street_served"])
    assert unserved_m > 1000
    assert runs.length.sum() == pytest.approx(unserved_m, rel=0.005)  # simplified by 0.5 m, rounded to 0.1 m


def test_compound_outline_colour_follows_the_number_of_rules_failed(report):
    comp = report.compounds.copy()
    assert len(comp) >= 3
    comp["n_failed"] = [0, 2, 3] + [7] * (len(comp) - 3)  # one of each colour (the sample's all fail 3+)
    page = ucr.interactive_map(dataclasses.replace(report, compounds=comp), lang="en", rules=[]).get_root().render()
    (d,) = [x for data in layers_of(page).values() for x in data if x.get("t") == common.TEXT["en"]["compound"]]
    colours = [d["ss"][i]["color"] for i in d["si"]]
    assert colours == [interactive.COMPOUND_OK, interactive.COMPOUND_SOME, common.BEYOND] + [common.BEYOND] * (len(comp) - 3)


def test_page_data_is_not_read_as_a_template(report):
    """Names are data: Jinja syntax or a closing script tag in one reaches the popup as text."""
    name = "{# not a comment #} {{ 1 + 1 }} {% if %} </script><b>x</b>"
    comp = report.compounds.copy()
    comp.loc[comp.index[0], "name"] = name
    r = dataclasses.replace(report, compounds=comp)
    page = ucr.interactive_map(r, lang="en", rules=["bus_stop_500"]).get_root().render()
    assert "</script><b>" not in page.split("UC.lazy", 1)[1]
    layers = layers_of(page)
    (d,) = [x for data in layers.values() for x in data if x.get("t") == common.TEXT["en"]["compound"]]
    names = column(d, d["l"].index(common.TEXT["en"]["name"]))
    assert names[0] == common.esc(name)  # escaped once, for the popup's HTML, and otherwise intact


# ------------------------------------------------------------------------------- gap maps


def test_line_paths_keep_every_vertex_and_join_only_touching_pieces():
    a = shapely.LineString([(0, 0), (1, 0)])
    b = shapely.LineString([(1, 0), (2, 0)])      # continues a
    c = shapely.LineString([(5, 5), (6, 5)])      # does not touch b
    d = shapely.LineString([(6, 5), (7, 7)])      # touches c but another key
    e = shapely.MultiLineString([[(0, 9), (1, 9)], [(1, 9), (3, 9)]])
    geoms = np.array([a, b, c, d, e], dtype=object)
    keys = np.array([1, 1, 1, 2, 1])
    paths, k = static._line_paths(geoms, keys)
    assert k.tolist() == [1, 2]
    p1 = paths[0]
    assert len(p1.vertices) == 2 + 2 + 2 + 4
    moveto = np.flatnonzero(p1.codes == p1.MOVETO)
    # a then b in one stroke; c apart; e's two parts touch, so one stroke too
    assert len(moveto) == 3
    np.testing.assert_array_equal(p1.vertices, shapely.get_coordinates(np.array([a, b, c, e], dtype=object)))
    np.testing.assert_array_equal(paths[1].vertices, shapely.get_coordinates(d))


def test_piece_vertices_are_the_substrings_of_their_edges(report):
    """The map's pieces, cut from each edge's vertices read once (network.substring_coords, which
    network.line_substrings also uses), are what shapely.ops.substring cuts piece by piece."""
    from shapely.ops import substring

    from urbancover.network.walk import line_substrings, substring_coords

    p = ucr.street_distances(report, "bus_stop_500", geometry=False)
    e, s, n = (p[c].to_numpy() for c in ("edge", "start", "end"))
    xy, part = substring_coords(report.network.geometry, e, s, n)
    mine = shapely.linestrings(xy, indices=part)
    assert len(mine) == len(p) == len(line_substrings(report.network.geometry[e], s, n))
    pick = np.random.default_rng(1).choice(len(p), size=min(400, len(p)), replace=False)
    theirs = np.array([substring(report.network.geometry[e[k]], s[k], n[k]) for k in pick], dtype=object)
    assert shapely.hausdorff_distance(mine[pick], theirs).max() < 1e-6
    assert shapely.hausdorff_distance(line_substrings(report.network.geometry[e[pick]], s[pick], n[pick]), theirs).max() < 1e-6
    np.testing.assert_allclose(shapely.length(mine), n - s, atol=1e-6)


def test_gap_map_streets_take_the_colour_of_their_distance(report):
    """Each street piece is stroked in the colour the colour map gives its distance (served),
    the beyond colour, or the unreachable one, with the demand streets bold."""
    from matplotlib.collections import PathCollection
    from matplotlib.colors import to_rgba

    rid = "toilet_general_500"
    fig = ucr.gap_map(report, rid, lang="en")
    (col,) = [c for c in fig.axes[0].collections if isinstance(c, PathCollection) and c.get_zorder() == 5]
    colours, widths = col.get_edgecolor(), col.get_linewidth()
    lookup = {}
    for path, c, w in zip(col.get_paths(), colours, np.broadcast_to(widths, len(colours))):
        for xy in path.vertices:
            lookup.setdefault((round(xy[0], 3), round(xy[1], 3)), set()).add((tuple(np.round(c, 6)), float(w)))
    pieces = ucr.street_distances(report, rid, resolution=static._dot_m(fig.axes[0], "A4", settings.current()), beyond_steps=False)
    cmap = static._cmap()
    threshold = report.results[rid].rule.threshold
    sample = pieces.sample(min(len(pieces), 400), random_state=1)
    for _, p in sample.iterrows():
        d = p["network_distance"]
        if p["served"]:
            rgba = np.array(cmap(min(max(d / threshold, 0.0), 1.0)))
        else:
            rgba = np.array(to_rgba(common.BEYOND if np.isfinite(d) else static.UNREACHABLE))
        if not p["demand"]:
            rgba[:3] = 0.4 * rgba[:3] + 0.6
        want = (tuple(np.round(rgba, 6)), 2.0 if p["demand"] else 0.6)
        mid = shapely.get_coordinates(p.geometry)[0]  # a vertex of the piece (its start)
        assert want in lookup[(round(mid[0], 3), round(mid[1], 3))], (p["edge"], d)


def test_pieces_beyond_the_threshold_are_not_cut_needlessly(report):
    rid = "bus_stop_500"
    fine = ucr.street_distances(report, rid)
    coarse = ucr.street_distances(report, rid, beyond_steps=False)
    key = ["edge", "start", "end"]
    # served pieces (what the colour ramp shows) are the same; the rest covers the same length in fewer pieces
    a = fine.loc[fine["served"], key].round(9).sort_values(key).to_numpy()
    b = coarse.loc[coarse["served"], key].round(9).sort_values(key).to_numpy()
    np.testing.assert_array_equal(a, b)
    length = lambda t: float((t["end"] - t["start"]).sum())  # noqa: E731
    assert length(coarse[~coarse["served"]]) == pytest.approx(length(fine[~fine["served"]]), rel=1e-12)
    assert (~coarse["served"]).sum() < (~fine["served"]).sum()
    # the exact share of street demand served is unchanged
    demand = coarse[coarse["demand"]]
    share = float(((demand["end"] - demand["start"]) * demand["served"]).sum() / (demand["end"] - demand["start"]).sum())
    assert share == pytest.approx(report.summary.set_index("id").loc[rid, "street_served"], abs=1e-9)


def test_dense_layers_are_rasterized_in_pdf(report, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "map_rasterize_min_features", 10**9)
    vec = tmp_path / "vector.pdf"
    ucr.gap_map(report, "bus_stop_500", lang="en", path=vec, dpi=100)
    monkeypatch.setattr(settings, "map_rasterize_min_features", 100)
    ras = tmp_path / "raster.pdf"
    ucr.gap_map(report, "bus_stop_500", lang="en", path=ras, dpi=100)
    # the colour bar is an image in both; the rasterized one has the dense layers as images too
    assert ras.read_bytes().count(b"/Subtype /Image") > vec.read_bytes().count(b"/Subtype /Image")


def test_a_city_map_is_not_cut_finer_than_a_printed_dot(report):
    """The resolution raises the step: the pieces of a district map stay as they were (a dot is
    a metre or two, under the 10-50 m step), a coarser resolution gives fewer pieces and the same
    served length."""
    rid = "bus_stop_500"
    fig = ucr.gap_map(report, rid, lang="en")
    dot = static._dot_m(fig.axes[0], "A4", settings.current())
    assert dot < 10.0
    base = ucr.street_distances(report, rid)
    same = ucr.street_distances(report, rid, resolution=dot)
    assert len(same) == len(base)
    coarse = ucr.street_distances(report, rid, resolution=200.0)
    assert len(coarse) < len(base)
    served = lambda t: float(((t["end"] - t["start"]) * t["served"]).sum())  # noqa: E731
    assert served(coarse) == pytest.approx(served(base), rel=1e-12)
