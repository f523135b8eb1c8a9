"""Every output in Chinese says everything in Chinese: the whole HTML report, the command line's
table and notes, and ``urbancover zones --lang zh`` on the samples hold no English word except rule
ids, OSM tags, names from the data and units (notes and reasons are said by the catalogue of
words, not translated from English sentences). And the typed results: one verdict per rule, set by
its kind, which every output reads.
"""

from __future__ import annotations

import html
import pickle
import re
import warnings

import pytest
from helpers import SHANGHAI, SHENZHEN

import urbancover as uc
from urbancover.app.cli import main, summary_table
from urbancover.present import Note, Verdict, say
from urbancover.present.formats import share
from urbancover.present.words import NOTES

#: Words a Chinese output may hold besides rule ids, tags and names from the data: units, the
#: data's and the tool's names, file names.
ALLOWED = {"m", "km", "OSM", "OpenStreetMap", "contributors", "ODbL", "urbancover", "Leaflet", "GeoPackage", "gpkg",
           "html", "png", "N", "unmatched", "x", "building:levels", "apartments", "landuse", "residential",
           "osmium", "smart", "complete_ways", "SHA", "UTC"}  # SHA-256 and UTC: the run record's hash and time


def _allowed(report) -> set[str]:
    """Rule ids, category ids, OSM tag keys and values of the rules, and names in the data."""
    words = set(ALLOWED) | set(re.findall(r"[A-Za-z_]+", report.context.osm.path.name))  # the extract's name
    for res in report.results.values():
        r = res.rule
        words |= {r.id, *(c.name for c in r.categories), *re.findall(r"[A-Za-z]+", r.clause or "")}
        words |= set(re.findall(r"[A-Za-z_:]+", repr(r.facilities) + repr(r.params) + repr([c.facilities for c in r.categories])))
    for col in ("name", "highway"):
        for frame in (report.compounds, report.context.features):
            if col in frame:
                words |= set(re.findall(r"[A-Za-z_]+", " ".join(map(str, frame[col].dropna()))))
    words |= set(re.findall(r"[A-Za-z_]+", " ".join(report.network.edge_values("name", range(report.network.n_edges)).astype(str))))
    return words


def _stray(text: str, allowed: set[str]) -> list[str]:
    """English words of ``text`` that are not allowed: tags (``key=value``), numbers with units,
    and file paths aside.
    """
    text = re.sub(r"\S+\.(?:gpkg|html|osm\.bz2)\b", " ", text)  # file names
    text = re.sub(r"[A-Za-z_:]+=[A-Za-z_:*|]+", " ", text)  # OSM tags
    text = re.sub(r"'[^'\n]*'", " ", text)  # names from the data, quoted (relations', ways')
    words = re.findall(r"(?<![A-Za-z0-9_])[A-Za-z0-9_:]*[A-Za-z][A-Za-z0-9_:]*", text)
    return sorted({w.strip(":") for w in words if w.strip(":") not in allowed and not re.fullmatch(r"\d+(m|km|min)?", w)})


def _visible(page: str) -> str:
    """The text a reader sees on a page (scripts, styles, images and attribute values aside),
    with the embedded interactive map's page read the same way.
    """
    frames = [html.unescape(d) for d in re.findall(r"srcdoc='(.*?)'></iframe>", page, flags=re.S)]
    page = re.sub(r"srcdoc='.*?'></iframe>", "", page, flags=re.S)
    out = []
    for doc in [page, *frames]:
        doc = re.sub(r"<(script|style)\b.*?</\1>", " ", doc, flags=re.S)
        doc = re.sub(r"<code>.*?</code>", " ", doc, flags=re.S)  # rule ids
        doc = re.sub(r"<[^>]+>", "\n", doc)
        out.append(html.unescape(doc))
    return "\n".join(out)


@pytest.fixture(scope="module")
def shanghai_report():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return uc.evaluate(SHANGHAI)


def test_zh_html_report_has_no_english_word(shenzhen_report, tmp_path):
    pytest.importorskip("folium")
    from urbancover.report import html_report
    from urbancover.zones import find_zones

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zones = find_zones(shenzhen_report, min_old_compounds=1)
    assert len(zones)  # the zone table and its reasons are on the page
    page = html_report(shenzhen_report, tmp_path / "r.html", zones=zones, lang="zh", maps=False).read_text(encoding="utf-8")
    text = _visible(page)
    assert "说明与假设" in text and "理由" in text
    stray = _stray(text, _allowed(shenzhen_report))
    assert stray == [], (stray, [line for line in text.splitlines() if any(w in line for w in stray)][:20])


@pytest.mark.parametrize("which", ["shenzhen", "shanghai"])
def test_zh_cli_table_and_notes_have_no_english_word(which, shenzhen_report, shanghai_report):
    report = shenzhen_report if which == "shenzhen" else shanghai_report
    text = summary_table(report, lang="zh") + "\n" + "\n".join(say(n, "zh") for n in report.notes)
    # the same table from the summary DataFrame (as a file gives it back): still Chinese
    text += "\n" + summary_table(report.summary, lang="zh")
    assert _stray(text, _allowed(report)) == []
    assert "缺少" not in text or "market" not in text


def test_zones_lang_zh_has_no_english_word(shenzhen_report, tmp_path, capsys):
    assert main(["zones", str(SHENZHEN), "--lang", "zh", "--min-old", "1", "--out", str(tmp_path), "-q"]) == 0
    assert capsys.readouterr().out == ""
    main(["zones", str(SHENZHEN), "--lang", "zh", "--min-old", "1", "--out", str(tmp_path / "b")])
    out = capsys.readouterr().out
    assert "理由" in out and "排名第 1" in out
    # no zone at all: the diagnosis in Chinese too
    main(["zones", str(SHENZHEN), "--lang", "zh", "--out", str(tmp_path / "c")])
    out += capsys.readouterr().out
    assert "未找到示范片区" in out
    assert _stray(out, _allowed(shenzhen_report)) == []


def test_every_note_has_both_languages():
    for code, entry in NOTES.items():
        assert {"en", "zh"} <= set(entry), code


def test_notes_are_sentences_said_in_either_language():
    n = Note("demand.none", rule="bus_stop_500", unit="residents", old=True)
    # its str is the English sentence (report.notes stays a list of sentences), said in Chinese by the catalogue
    assert n == "bus_stop_500: no residents in old compounds in the area; its share is undefined (NaN)."
    assert n.text("zh") == "bus_stop_500：分析范围内老旧小区中没有居民，比例无法计算（无法判断）。"
    assert pickle.loads(pickle.dumps(n)).text("zh") == n.text("zh")
    # a plain note (written by a module that makes no code) is said as it is
    assert say("reader: 3 relations dropped", "zh") == "reader: 3 relations dropped"
    assert Note.plain("reader: 3 relations dropped").text("zh") == "reader: 3 relations dropped"


def test_one_verdict_set_by_the_kind(shenzhen_report):
    rows = {rid: res.summary for rid, res in shenzhen_report.results.items()}
    # the summary's verdict column is the kind's verdict, and passed follows it
    for rid, row in rows.items():
        assert isinstance(row.verdict, Verdict)
        assert shenzhen_report.summary.loc[rid, "verdict"] == row.verdict.value
        assert shenzhen_report.summary.loc[rid, "passed"] == row.verdict.passed or row.verdict.passed is None
    assert rows["dead_ends"].verdict is Verdict.LIST and rows["toilet_riverside_800"].verdict is Verdict.UNDETERMINED
    with pytest.raises(RuntimeError, match="once"):
        rows["bus_stop_500"].decide(Verdict.PASS)
    with pytest.raises(TypeError, match="decide"):
        rows["bus_stop_500"]["passed"] = True
    # a share carries its size: residents served of residents
    s = rows["bus_stop_500"].shares["residents"]
    assert s.size == pytest.approx(float(shenzhen_report.context.population["residents"].sum()))
    assert s.served == shenzhen_report.summary.loc["bus_stop_500", "residents_served"]


def test_one_share_format(shenzhen_report):
    from urbancover.report.page import summary_table as page_table

    v = shenzhen_report.summary.loc["bus_stop_500", "residents_served"]
    assert share(v) == f"{100 * v:.1f}%"
    for text in (summary_table(shenzhen_report, "en"), page_table(shenzhen_report, "en"), repr(shenzhen_report.results["bus_stop_500"])):
        assert share(v) in text and f"{100 * v:.1f} %" not in text
