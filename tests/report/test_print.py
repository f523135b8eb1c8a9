"""Print-ready output: gap maps are exactly an A4/A3 page in the orientation of the area, with the
legend, scale bar and north arrow clear of the map; the HTML report prints on A4 (checked with
headless Chromium when it is installed); the interactive map's legend, scale and basemap; the
bundled samples and the notebook reprs. Offline."""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from helpers import SHENZHEN

import urbancover as uc

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from urbancover import report as ucr  # noqa: E402
from urbancover.datasets import sample_path, samples  # noqa: E402

#: ISO 216 in PostScript points (1/72 in): 210 x 297 mm and 297 x 420 mm
A4 = (210 / 25.4 * 72, 297 / 25.4 * 72)  # 595.3 x 841.9
A3 = (297 / 25.4 * 72, 420 / 25.4 * 72)  # 841.9 x 1190.6


def _evaluate(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return uc.evaluate(SHENZHEN, **kw)


@pytest.fixture(scope="module")
def report(shenzhen_report):
    return shenzhen_report  # the preset on the Shenzhen sample, evaluated once per session (conftest.py)


@pytest.fixture(scope="module")
def tall_report(report):
    """The middle fifth of the sample, west to east: an area three times as tall as it is wide."""
    x0, y0, x1, y1 = report.context.area.bounds
    w = (x1 - x0) / 5
    cx = (x0 + x1) / 2
    strip = shapely.box(cx - w / 2, y0, cx + w / 2, y1)
    assert strip.bounds[3] - strip.bounds[1] > 2.5 * w
    return _evaluate(area=gpd.GeoSeries([strip], crs=report.network.crs), rules="zhengzhou-2018")


def _size_pt(fig):
    return tuple(float(v) for v in fig.get_size_inches() * 72)


# ------------------------------------------------------------------------------------ page size


def test_gap_map_is_an_a4_page_landscape_for_a_wide_area(report, tmp_path):
    x0, y0, x1, y1 = report.context.area.bounds
    assert x1 - x0 > 1.2 * (y1 - y0)  # the sample is wide
    out = tmp_path / "bus.pdf"
    fig = ucr.gap_map(report, "bus_stop_500", lang="en", path=out)
    assert _size_pt(fig) == pytest.approx(A4[::-1], abs=0.01)
    # the PDF's page is that size: printed at 100% the scale bar is true
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", out.read_bytes())
    assert (float(box.group(1)), float(box.group(2))) == pytest.approx(A4[::-1], abs=0.1)


def test_gap_map_a3_and_forced_orientation(report):
    assert _size_pt(ucr.gap_map(report, "park_500", lang="en", paper="A3")) == pytest.approx(A3[::-1], abs=0.01)
    assert _size_pt(ucr.gap_map(report, "park_500", lang="en", orientation="portrait")) == pytest.approx(A4, abs=0.01)
    with pytest.raises(ValueError, match="paper"):
        ucr.gap_map(report, "park_500", paper="letter")
    with pytest.raises(ValueError, match="orientation"):
        ucr.gap_map(report, "park_500", orientation="sideways")


def test_gap_map_of_a_tall_area_is_portrait(tall_report):
    fig = ucr.gap_map(tall_report, "bus_stop_500", lang="en")
    assert _size_pt(fig) == pytest.approx(A4, abs=0.01)


# ------------------------------------------------------------------------------------ layout


def _boxes(fig):
    """Window extents (pixels) of the map axes, and of the scale bar, north arrow, legend,
    colour bar and attribution texts/artists."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    map_ax = max(fig.axes, key=lambda a: len(a.collections))
    texts = {t.get_text(): t.get_window_extent(r) for t in fig.findobj(matplotlib.text.Text) if t.get_text()}
    legend = [a.get_legend().get_window_extent(r) for a in fig.axes if a.get_legend() is not None]
    return map_ax, map_ax.get_window_extent(r), texts, legend


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("which", ["wide", "tall"])
def test_furniture_and_legend_are_clear_of_the_map(report, tall_report, which):
    """Scale bar, north arrow, legend and attribution never cover the map (hence the area's
    boundary and the data); the map keeps the area's shape (no distortion)."""
    rep = report if which == "wide" else tall_report
    fig = ucr.gap_map(rep, "bus_stop_500", lang="en")
    ax, mbox, texts, legends = _boxes(fig)
    furniture = [k for k in texts if k == "N" or k.endswith(" km") or k.endswith(" m") or "OpenStreetMap" in k]
    assert "N" in furniture and any(k.endswith("km") or k.endswith(" m") for k in furniture), list(texts)
    for k in furniture:
        assert not _overlap(texts[k], mbox), k
    assert legends and not any(_overlap(b, mbox) for b in legends)
    # equal scale in x and y: the axes box has the data's shape
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    assert (mbox.height / mbox.width) == pytest.approx((y1 - y0) / (x1 - x0), rel=0.01)


def test_map_and_panel_form_one_centred_block(report, tall_report):
    """No empty strip: the legend panel starts right beside (or under) the map, and the block of
    map, panel and title is centred on the page, so the spare paper is even margins."""
    for rep in (report, tall_report):
        fig = ucr.gap_map(rep, "bus_stop_500", lang="en")
        ax, mbox, texts, legends = _boxes(fig)
        W, H = fig.canvas.get_width_height()
        dpi = fig.dpi
        r = fig.canvas.get_renderer()
        panel = next(a for a in fig.axes if a.get_legend() is not None).get_window_extent(r)
        beside = panel.x0 >= mbox.x1
        gap = (panel.x0 - mbox.x1) if beside else (mbox.y0 - panel.y1)
        assert 0 < gap <= 0.6 * dpi, gap / dpi  # inches between map and legend panel
        left, right = min(mbox.x0, panel.x0), max(mbox.x1, panel.x1)
        assert abs(left - (W - right)) < 0.05 * dpi  # centred: the spare paper is even margins
        assert left >= 0.4 * dpi  # within the page's margins
        # the legend itself starts at the panel's top, next to the map's top (beside) or under it
        assert abs(legends[0].y1 - (mbox.y1 if beside else panel.y1)) < 0.05 * dpi


def test_map_figure_shows_itself_in_jupyter(report):
    import io

    from PIL import Image

    fig = ucr.gap_map(report, "bus_stop_500", lang="en")
    png = fig._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = Image.open(io.BytesIO(png)).size
    assert (w, h) == pytest.approx((A4[1] / 72 * 100, A4[0] / 72 * 100), abs=1.5)


# ------------------------------------------------------------------------------------ printed report


def _pdf_pages(pdf) -> list[tuple[float, float]]:
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", str(pdf)], capture_output=True, text=True, check=True).stdout
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+\s+size:\s+([\d.]+) x ([\d.]+)", info)]


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(not _chromium() or not shutil.which("pdfinfo"), reason="needs headless Chromium and poppler's pdfinfo")
def test_html_report_prints_on_a4_summary_first_one_map_per_page(report, tmp_path):
    chosen = ["bus_stop_500", "park_500", "green_300"]
    page = ucr.html_report(report, tmp_path / "r.html", lang="en", maps=chosen, dpi=90)
    pdf = tmp_path / "r.pdf"
    subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", page.as_uri()], capture_output=True, timeout=180, check=False)
    pages = _pdf_pages(pdf)
    a4_portrait, a4_landscape = A4, A4[::-1]
    portrait = [p for p in pages if p == pytest.approx(a4_portrait, abs=1.5)]
    landscape = [p for p in pages if p == pytest.approx(a4_landscape, abs=1.5)]
    assert len(portrait) + len(landscape) == len(pages)  # every page is A4
    # the tables and notes first (portrait, at most three pages with the section F reasons), then each map alone on a landscape page
    assert pages[0] == pytest.approx(a4_portrait, abs=1.5)
    assert 1 <= len(portrait) <= 3 and len(landscape) == len(chosen)
    assert pages[len(portrait):] == landscape
    if shutil.which("pdftoppm"):  # a map page is the map's own A4 page: it fills the sheet (it filled ~70 %)
        png = tmp_path / "map"
        subprocess.run(["pdftoppm", "-r", "20", "-png", "-f", str(len(portrait) + 1), "-l", str(len(portrait) + 1),
                        "-singlefile", str(pdf), str(png)], check=True)
        from PIL import Image

        img = np.asarray(Image.open(f"{png}.png").convert("L"))
        ys, xs = np.nonzero(img < 255)  # the figure's near-white background and everything on it
        assert (xs.max() - xs.min() + 1) / img.shape[1] > 0.95 and (ys.max() - ys.min() + 1) / img.shape[0] > 0.95
    if shutil.which("pdftotext"):
        first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True).stdout
        assert "bus_stop_500" in first and "Rules (network distance next to straight-line distance)" in first
        for k in range(len(portrait) + 1, len(pages) + 1):  # a map page holds no table
            text = subprocess.run(["pdftotext", "-f", str(k), "-l", str(k), str(pdf), "-"], capture_output=True, text=True).stdout
            assert "straight-line distance)" not in text
    # a requirement is never cut between its sign, number and unit (it printed "≤ 500" / "米")
    assert "network distance ≤\u00a0500\u00a0m" in page.read_text(encoding="utf-8")


def test_print_stylesheet_hides_the_interactive_map_and_sizes_pages(report, tmp_path):
    page = ucr.html_report(report, tmp_path / "r.html", lang="en", maps=["bus_stop_500"], interactive=False).read_text(encoding="utf-8")
    assert "@page{size:A4 portrait" in page and "@page landscape{size:A4 landscape" in page
    assert "<figure id='map-bus_stop_500' class='map landscape'>" in page
    assert page.index("id='summary'") < page.index("id='notes'") < page.index("id='maps'")


# ------------------------------------------------------------------------------------ interactive map


def test_interactive_legend_is_complete_with_a_metric_scale(report):
    pytest.importorskip("folium")
    html = ucr.interactive_map(report, lang="en", rules=["bus_stop_500"], embed_font=False).get_root().render()
    legend = re.search(r"<div class='uclegend'.*?</div></div>", html, flags=re.S).group(0)
    for word in ("Street network", "Analysed area", "Compound: meets every rule", "Compound: fails 1–2 rules",
                 "Compound: fails 3 or more rules", "Home (not served)"):
        assert word in legend, word
    assert "imperial: false" in html and "metric: true" in html
    assert "L.control.scale()" not in html  # folium's default adds miles
    assert "L.tileLayer" not in html  # no basemap unless asked


def test_interactive_basemap_only_when_asked(report):
    pytest.importorskip("folium")
    html = ucr.interactive_map(report, lang="en", rules=["bus_stop_500"], embed_font=False,
                               basemap="OpenStreetMap").get_root().render()
    assert "L.tileLayer" in html and "tile.openstreetmap.org" in html  # written into the page, not fetched here
    with pytest.raises(ValueError, match="basemap"):
        ucr.interactive_map(report, basemap="OpenStreetMap", tiles="CartoDB positron")


# ------------------------------------------------------------------------------------ samples, reprs


def test_sample_path_finds_the_bundled_samples_through_the_package():
    assert samples() == ["shanghai_jingan_drive", "shenzhen_longgang"]
    p = sample_path()
    assert p.is_file() and "urbancover" in p.parts and p.parent.name == "data"
    # the copy in the package is the sample the README's command uses
    assert p.read_bytes() == SHENZHEN.read_bytes()
    assert sample_path("shanghai_jingan_drive.osm.bz2").name == "shanghai_jingan_drive.osm.bz2"
    with pytest.raises(uc.InputError, match="shenzhen_longgang"):
        sample_path("beijing")


def test_short_reprs_and_html_summaries(report):
    res = report.results["bus_stop_500"]
    text = repr(res)
    assert len(text) < 300 and text.startswith("<RuleResult bus_stop_500 (radius)")
    assert ("failed" if not res.summary["passed"] else "passed") in text
    assert f"homes_unserved {len(res.layers['homes_unserved'])}" in text
    assert f"{100 * res.summary['value']:.1f}%" in text
    rtext = repr(report)
    n_pass = int((report.summary["passed"] == True).sum())  # noqa: E712 - None means undefined
    assert rtext.startswith(f"<Report: {len(report.results)} rules ({n_pass} passed") and len(rtext) < 200
    html = report._repr_html_()
    assert html.count("<tr>") == len(report.results) + 1  # header and one row per rule
    for rid in report.results:
        assert f"<code>{rid}</code>" in html
    rh = res._repr_html_()
    assert f"{100 * res.summary['residents_served']:.1f}% by network" in rh
    assert f"{100 * res.summary['residents_served_straight']:.1f}% by straight line" in rh
