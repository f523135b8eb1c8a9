"""Maps and reports (urbancover.report): CJK glyphs, static maps, interactive map, HTML page,
GeoPackage export; offline (every test here runs with the socket module disabled)."""

from __future__ import annotations

import base64
import io
import re
import socket
import warnings
from importlib import resources

import geopandas as gpd
import numpy as np
import pytest
import shapely

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from fontTools.ttLib import TTFont  # noqa: E402

from urbancover import report as ucr  # noqa: E402
from urbancover.present import say  # noqa: E402
from urbancover.report import common  # noqa: E402


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Fail any attempt to open a connection or resolve a name."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture(scope="module")
def report(shenzhen_report):
    return shenzhen_report


@pytest.fixture(scope="module")
def zones(report):
    comp = report.compounds
    geom = shapely.union_all(comp.geometry.values).convex_hull.buffer(50)
    return gpd.GeoDataFrame(
        {"area_km2": [geom.area / 1e6], "compound_names": [["甲小区", "B"]], "score": [0.87],
         "reason": ["3 old compounds fail bus_stop_500 & green_300 <b>x</b>"]},
        geometry=[geom], crs=comp.crs,
    ).to_crs(4326)


def _cmap():
    return TTFont(str(ucr.font_path())).getBestCmap()


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def _no_glyph_warnings(record) -> None:
    missing = [str(w.message) for w in record if "missing from font" in str(w.message) or "Glyph" in str(w.message)]
    assert not missing, missing[:3]


# ------------------------------------------------------------------------------------------ font


def test_font_is_shipped_with_its_licence():
    path = ucr.font_path()
    assert path.exists() and 1_000_000 < path.stat().st_size < 3_000_000
    assert (path.parent / "OFL.txt").read_text(encoding="utf-8").count("SIL OPEN FONT LICENSE Version 1.1") == 1
    names = TTFont(str(path))["name"]
    assert names.getDebugName(1) == ucr.FONT_FAMILY
    assert "Open Font License" in names.getDebugName(13)


def test_font_has_every_glyph_the_maps_print(report):
    cmap = _cmap()
    text = "".join(common.strings_used(report))
    missing = sorted({ch for ch in text if ord(ch) > 0x7F and ord(ch) not in cmap})
    assert not missing, f"characters missing from the shipped font: {''.join(missing)}"


def test_font_covers_every_character_of_the_presets():
    cmap = _cmap()
    presets = resources.files("urbancover.plan") / "presets"
    for f in presets.iterdir():
        if f.name.endswith(".toml"):
            missing = sorted({ch for ch in f.read_text(encoding="utf-8") if ord(ch) > 0x7F and ord(ch) not in cmap})
            assert not missing, f"{f.name}: rebuild the font with these characters (see fonts/README.md): {''.join(missing)}"


def test_font_covers_common_chinese():
    cmap = _cmap()
    # all of GB 2312 level 1 (the 3,755 most common hanzi)
    level1 = [bytes([hi, lo]).decode("gb2312") for hi in range(0xB0, 0xD8) for lo in range(0xA1, 0xFF)
              if not (hi == 0xD7 and lo > 0xF9)]
    assert len(level1) == 3755
    assert all(ord(ch) in cmap for ch in level1)


def test_chinese_family_comes_first():
    assert ucr.font_families("zh")[0] == ucr.FONT_FAMILY
    assert ucr.font_families("en")[:2] == ["DejaVu Sans", ucr.FONT_FAMILY]
    from matplotlib import font_manager

    found = font_manager.findfont(font_manager.FontProperties(family=ucr.FONT_FAMILY), fallback_to_default=False)
    assert found == str(ucr.font_path())
    with pytest.raises(ValueError, match="lang"):
        ucr.font_families("fr")


# ------------------------------------------------------------------------------------------ static maps


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_gap_map_png(report, tmp_path, lang):
    from PIL import Image

    out = tmp_path / f"bus_{lang}.png"
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        fig = ucr.gap_map(report, "bus_stop_500", lang=lang, path=out, dpi=100)
    _no_glyph_warnings(record)
    assert out.stat().st_size > 50_000
    img = np.asarray(Image.open(out).convert("L"), dtype=float)
    w, h = fig.get_size_inches() * 100
    assert abs(img.shape[0] - h) <= 1 and abs(img.shape[1] - w) <= 1
    assert img.std() > 20  # a map, not a blank page
    assert (img < 128).mean() > 0.01  # lines and text were drawn
    T = common.TEXT[lang]
    texts = _texts(fig)
    rule = report.results["bus_stop_500"].rule
    assert any((rule.name_zh if lang == "zh" else rule.name_en) in t for t in texts)  # title
    t500 = "500 米" if lang == "zh" else "500 m"
    for label in (T["street_served"].format(t=t500), T["street_beyond"].format(t=t500), T["home_unserved"],
                  T["compound_unserved"], T["gap"], T["facility"], T["area"], T["circle"].format(t=t500)):
        assert label in texts, label
    assert T["attribution"] in texts
    assert "© OpenStreetMap contributors" in T["attribution"]
    assert T["north"] in texts
    assert any(T["scale_km"] in t or T["scale_m"] in t for t in texts)  # scale bar
    # network and straight-line shares of the summary are in the subtitle
    row = report.summary.set_index("id").loc["bus_stop_500"]
    assert any(f"{100 * row['buildings_served']:.1f}%" in t and f"{100 * row['buildings_served_straight']:.1f}%" in t for t in texts)
    plt.close(fig)


def test_gap_map_pdf_embeds_the_cjk_font(report, tmp_path):
    out = tmp_path / "park.pdf"
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        fig = ucr.gap_map(report, "park_500", lang="zh", path=out)
    _no_glyph_warnings(record)
    data = out.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 50_000
    assert b"NotoSansSC-urbancover" in data
    plt.close(fig)


def test_gap_map_into_an_axes_and_all_of_rule(report):
    fig, ax = plt.subplots(figsize=(6, 5))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        out = ucr.gap_map(report, "living_10min", lang="zh", ax=ax)
        fig.canvas.draw()
    _no_glyph_warnings(record)
    assert out is fig
    texts = _texts(fig)
    # categories with no facility in the data are named in the legend
    assert any("数据中没有" in t and "菜市场" in t for t in texts)
    plt.close(fig)


def test_gap_map_every_rule(report, zones):
    """Every rule of the preset draws, whatever its kind (non-distance rules map their facilities,
    units or dead ends), with zones outlined."""
    for rid in report.results:
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            fig = ucr.gap_map(report, rid, lang="zh", zones=zones)
            fig.canvas.draw()
        _no_glyph_warnings(record)
        assert common.TEXT["zh"]["zone"] in _texts(fig), rid
        plt.close(fig)


def test_gap_map_refuses_bad_arguments(report):
    with pytest.raises(KeyError, match="no rule"):
        ucr.gap_map(report, "nope")
    with pytest.raises(ValueError, match="lang"):
        ucr.gap_map(report, "bus_stop_500", lang="fr")


# ------------------------------------------------------------------------------------------ street distances


@pytest.mark.parametrize("rid", ["bus_stop_500", "toilet_main_300", "toilet_general_500"])
def test_street_pieces_break_exactly_at_the_threshold(report, rid):
    """The coloured pieces reproduce the engine's exact share of street length served."""
    pieces = ucr.street_distances(report, rid)
    demand = pieces[pieces["demand"]]
    length = (demand["end"] - demand["start"]).to_numpy()
    share = float((length * demand["served"].to_numpy()).sum() / length.sum())
    row = report.summary.set_index("id").loc[rid]
    assert share == pytest.approx(row["street_served"], abs=1e-9)
    assert length.sum() / 1000 == pytest.approx(row["street_km"], rel=1e-9)
    # served pieces are within the threshold (at most threshold + the rule set's tolerance) at both
    # ends, the others beyond it in the middle
    rule = report.results[rid].rule
    T = rule.threshold + rule.tolerance
    served = pieces[pieces["served"]]
    assert (served[["distance_from", "network_distance", "distance_to"]].to_numpy() <= T + 1e-6).all()
    assert (pieces.loc[~pieces["served"], "network_distance"] > T - 1e-6).all()


def test_street_distances_of_an_all_of_rule(report):
    pieces = ucr.street_distances(report, "kindergarten_school", step=np.inf)
    cats = [c.name for c in report.results["kindergarten_school"].rule.categories]
    for c in cats:
        assert f"network_distance_{c}" in pieces
    worst = np.max(np.column_stack([pieces[f"network_distance_{c}"] for c in cats]), axis=1)
    assert np.array_equal(worst, pieces["network_distance"].to_numpy())
    with pytest.raises(ValueError, match="no distance"):
        ucr.street_distances(report, "toilet_density")


# ------------------------------------------------------------------------------------------ interactive map


def test_interactive_map_is_offline_with_one_layer_per_rule(report, zones, tmp_path):
    folium = pytest.importorskip("folium")
    out = tmp_path / "map.html"
    m = ucr.interactive_map(report, zones=zones, lang="en", path=out)
    assert isinstance(m, folium.Map)
    page = out.read_text(encoding="utf-8")
    # nothing is loaded from elsewhere: no external script, stylesheet, image or tile
    assert not re.findall(r"<(?:script|link|img)[^>]+(?:src|href)=[\"']?https?:", page)
    assert "tile.openstreetmap" not in page and "L.tileLayer" not in page
    assert "Leaflet 1.9.4" in page  # inlined
    layers = [c for c in m._children.values() if isinstance(c, folium.FeatureGroup)]
    names = [fg.layer_name for fg in layers]
    for rid in report.results:
        assert sum(n.startswith(f"{rid} · ") for n in names) == 1, rid
    assert common.TEXT["en"]["zones_layer"] in names
    assert any(isinstance(c, folium.LayerControl) for c in m._children.values())
    # popups: distances, failed rules, zone reasons (escaped)
    assert "Network distance" in page and "Straight-line distance" in page and "Rules failed" in page
    assert "bus_stop_500, " in page  # a home failing several rules lists them
    # the reason is HTML-escaped inside the JSON (where & itself is written \u0026)
    assert "lt;b\\u0026gt;x" in page or "&lt;b&gt;x" in page
    assert "<b>x</b>" not in page and "\\u003cb\\u003ex" not in page
    assert "@font-face" in page


def test_interactive_map_online_keeps_folium_cdn(report):
    pytest.importorskip("folium")
    m = ucr.interactive_map(report, lang="zh", offline=False, embed_font=False, rules=["bus_stop_500"])
    page = m.get_root().render()
    assert "cdn.jsdelivr.net/npm/leaflet" in page  # the documented online mode (not fetched here)


# ------------------------------------------------------------------------------------------ HTML report


def test_html_report(report, zones, tmp_path):
    out = tmp_path / "longgang.html"
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        path = ucr.html_report(report, out, zones=zones, lang="zh", gpkg=True)
    _no_glyph_warnings(record)
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # a table row per rule, each rule id on the page
    rows = re.findall(r"<tr id='rule-([^']+)'", page)
    assert rows == list(report.results)
    for rid in report.results:
        assert rid in page
    # network next to straight line
    row = report.summary.set_index("id").loc["bus_stop_500"]
    assert f"{100 * row['residents_served']:.1f}%" in page and f"{100 * row['residents_served_straight']:.1f}%" in page
    # notes, zones with their reason (escaped), maps of every distance rule as embedded PNG
    for note in (say(n, "zh") for n in report.notes[:3]):  # in the page's language
        assert note.replace("&", "&amp;").replace("'", "&#x27;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;") in page
    assert "甲小区, B" in page and "&lt;b&gt;x&lt;/b&gt;" in page
    # the reasons beside the verdicts are in the page's language (the dead-end list's was English)
    assert "待打通的候选清单" in page and "not a pass or fail" not in page
    figures = re.findall(r"<figure id='map-([^']+)'[^>]*><img alt='[^']*' src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    distance = [rid for rid, res in report.results.items() if res.rule.kind in ("radius", "all_of")]
    assert [f[0] for f in figures] == distance
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(base64.b64decode(figures[0][1]))).convert("L"), dtype=float)
    assert img.shape[1] > 1000 and img.std() > 20
    # nothing external, and a CJK web font that holds every CJK character of the page
    assert not re.findall(r"<(?:script|link|img|iframe)[^>]+(?:src|href)=[\"']?https?:", page)
    face = re.search(r"url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\)", page)
    cmap = TTFont(io.BytesIO(base64.b64decode(face.group(1)))).getBestCmap()
    visible = re.sub(r"<iframe.*?</iframe>", "", page, flags=re.S)
    cjk = {ch for ch in visible if 0x2E80 <= ord(ch) <= 0x9FFF or 0xFF00 <= ord(ch) <= 0xFFEF}
    assert cjk and not [ch for ch in cjk if ord(ch) not in cmap]
    # the GeoPackage beside it, linked, with named layers
    gpkg = out.with_suffix(".gpkg")
    assert "href='longgang.gpkg'" in page
    import pyogrio

    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    assert {"zones", "compounds", "summary", "bus_stop_500__homes_unserved", "bus_stop_500__street_distance"} <= layers
    if _has("folium"):
        assert "<iframe class='map'" in page and "srcdoc='" in page


def _has(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def test_html_report_english_without_maps(report, tmp_path):
    path = ucr.html_report(report, tmp_path / "r.html", lang="en", maps=False, interactive=False)
    page = path.read_text(encoding="utf-8")
    assert "<figure" not in page and "<iframe" not in page
    assert len(re.findall(r"<tr id='rule-", page)) == len(report.results)
    assert "Rules (network distance next to straight-line distance)" in page
    assert "© OpenStreetMap contributors" in page


def test_export_gpkg(report, zones, tmp_path):
    import pyogrio

    path = ucr.export_gpkg(report, tmp_path / "all.gpkg", zones=zones)
    layers = dict(pyogrio.list_layers(path))
    assert "zones" in layers and "green_300__street_distance" in layers
    sd = gpd.read_file(path, layer="bus_stop_500__street_distance")
    assert {"network_m", "network_m_from", "network_m_to", "start_m", "end_m", "served", "demand", "status"} <= set(sd.columns)
    assert set(sd["status"]) <= {"served", "beyond", "no path", "no facility"}
    assert (sd["status"] == "served").to_numpy().tolist() == sd["served"].astype(bool).tolist()
    assert sd.crs == report.network.crs
    z = gpd.read_file(path, layer="zones")
    assert z.loc[0, "compound_names"] == "甲小区, B"


def test_report_does_not_embed_an_interactive_map_a_browser_cannot_open(report, tmp_path, monkeypatch):
    """Above settings.report_interactive_max_edges the page says where the layers are instead of
    embedding the map (Malta's would be a 55 MB page); below it, the map is embedded."""
    from urbancover.core import settings

    monkeypatch.setattr(settings, "report_interactive_max_edges", report.network.n_edges - 1)
    page = ucr.html_report(report, tmp_path / "big.html", maps=False, lang="en").read_text(encoding="utf-8")
    assert "<iframe" not in page and "is not embedded" in page and f"{report.network.n_edges:,} street pieces" in page
    monkeypatch.setattr(settings, "report_interactive_max_edges", report.network.n_edges)
    page = ucr.html_report(report, tmp_path / "small.html", maps=False, lang="en").read_text(encoding="utf-8")
    assert "<iframe" in page
