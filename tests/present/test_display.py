"""The command line's summary table as a terminal shows it: within 120 columns in Chinese and in
English (East Asian wide characters count two columns), columns that line up, no ``inf``, counts
as whole numbers, one verdict vocabulary, every detail behind ``--wide``; one "wrote" line per
output folder; progress while files are written."""

from __future__ import annotations

import os
import unicodedata
import warnings

import pytest
from tinycity import write_city

import urbancover as uc
from urbancover.app.cli import main, summary_table, wrote_lines
from urbancover.core import progress
from urbancover.present.formats import clip, text_table, width
from urbancover.present.words import VERDICTS


def cols(text: str) -> int:
    """Display columns, counted independently of the code under test."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def offsets(line: str, char: str) -> list[int]:
    """Display columns at which ``char`` stands in ``line``."""
    return [cols(line[:i]) for i, c in enumerate(line) if c == char]


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory):
    """The preset on the tiny city: every kind of row (shares, a ratio with no facility, counts)."""
    path = write_city(tmp_path_factory.mktemp("city") / "city.osm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return uc.evaluate(path)


def test_width_counts_east_asian_wide_characters_twice():
    assert width("abc") == 3 and width("公交站点") == 8 and width("｜") == 2 and width("≥ 100%") == 6
    assert clip("公交站点500米覆盖", 9) == "公交站点…" and cols(clip("公交站点500米覆盖", 9)) == 9
    assert clip("Park within 500 m", 17) == "Park within 500 m" and clip("Park within 500 m", 10) == "Park with…"
    table = text_table(["规则", "v"], [["公交", "1"], ["a", "22.5"]], align="lr").splitlines()
    assert [cols(line) for line in table] == [10, 10, 10] and offsets(table[2], ".") == [8]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("which", ["tiny", "shenzhen"])
def test_table_fits_120_columns_and_lines_up(which, lang, tiny_report, shenzhen_report):
    report = tiny_report if which == "tiny" else shenzhen_report
    lines = summary_table(report, lang).splitlines()
    assert max(cols(line) for line in lines) <= 120, "\n".join(lines)
    head = lines[0]
    verdict = cols(head[:head.index({"zh": "结论", "en": "verdict"}[lang])])
    rows = {line.split()[0]: line for line in lines[2:]}
    assert set(rows) == set(report.results)
    words = set(VERDICTS[lang].values())
    for rid, line in rows.items():
        # the verdict starts under its header in every row, whatever the CJK before it
        at = {cols(line[:i]) for w in words for i in range(len(line)) if line.startswith(w, i)}
        assert verdict in at, (rid, line)
    # the bar between network and straight-line shares: one column per unit, in every row and its header
    head_bars = offsets(lines[1], "|")
    units = {u for res in report.results.values() for u in res.summary.shares} & {"residents", "street"}
    assert len(head_bars) == len(units) == 2
    for line in lines[2:]:
        assert set(offsets(line, "|")) <= set(head_bars), (line, head_bars)
    assert any(len(offsets(line, "|")) == len(head_bars) for line in lines[2:])


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_inf_counts_as_integers_one_verdict_vocabulary(lang, shenzhen_report):
    table = summary_table(shenzhen_report, lang)
    assert "inf" not in table and "∞" not in table
    rows = {line.split()[0]: line for line in table.splitlines()[2:]}
    none = {"zh": "无", "en": "no facility"}[lang]
    for rid in ("health_center_ratio", "health_station_ratio"):  # the sample has no health facility
        assert shenzhen_report.summary.loc[rid, "value"] == float("inf")
        assert f" {none} " in rows[rid]
    dead = shenzhen_report.summary.loc["dead_ends", "value"]
    assert f" {int(dead)} " in rows["dead_ends"] and f"{dead:.2f}" not in rows["dead_ends"]
    # one word per verdict, in the table's language: no "NO" beside "yes"
    others = {w for k, v in VERDICTS.items() if k != lang for w in v.values()} | {"NO", "yes", "True", "False"}
    for rid, line in rows.items():
        assert not any(f" {w} " in f" {line} " for w in others - set(VERDICTS[lang].values())), line


def test_wide_shows_whole_names_sizes_and_reasons(shenzhen_report):
    narrow, wide = summary_table(shenzhen_report, "en"), summary_table(shenzhen_report, "en", wide=True)
    name = shenzhen_report.results["kindergarten_school"].rule.name_en
    assert len(name) > 40 and name in wide and name not in narrow and "…" in narrow
    assert "of 6,702 residents" in wide and "of 6,702 residents" not in narrow
    reason = "no street of the rule's street demand in the area: nothing to serve"
    assert reason in wide and reason not in narrow and "no street of the rule" in narrow  # cut, in place of the shares
    assert max(cols(line) for line in wide.splitlines()) > 120


def test_one_wrote_line_per_folder_with_its_count(tmp_path, monkeypatch, capsys):
    city = write_city(tmp_path / "city.osm")
    monkeypatch.chdir(tmp_path)
    assert main(["analyze", "city.osm", "--rules", "zhengzhou-2018", "--only", "bus_stop_500", "park_500",
                 "--out", "out", "--format", "shp", "--lang", "en"]) == 0
    captured = capsys.readouterr()
    wrote = [line for line in captured.out.splitlines() if line.startswith("wrote ")]
    files = sorted(p for p in (tmp_path / "out" / "city_shp").iterdir())
    assert len(files) > 10 and city.exists()
    assert wrote == [f"wrote {(tmp_path / 'out' / 'city_shp').resolve()}{os.sep} ({len(files)} files)"]
    # progress while the files are written: a line per layer off a terminal
    assert "writing city_shp" in captured.err and "layer summary" in captured.err
    assert wrote_lines([tmp_path / "a.gpkg"], "zh") == [f"已写出 {tmp_path / 'a.gpkg'}"]


def test_told_steps_and_compiling_show_only_in_an_open_display(capsys, monkeypatch):
    monkeypatch.setattr(progress, "_COMPILED", set())
    progress.tell("nobody listens")
    progress.compiling("the test kernels")  # no display: nothing, and not spent
    assert capsys.readouterr().err == ""
    steps = progress.Steps(2, True, "city.osm")  # stderr is no terminal here: lines
    steps.step("writing city.gpkg")
    progress.tell("layer summary")
    progress.compiling("the test kernels")
    progress.compiling("the test kernels")  # once
    steps.close()
    progress.tell("after the display closed")
    err = capsys.readouterr().err.splitlines()
    assert [line.split(" ", 2)[2] for line in err] == [
        "city.osm: step 1/2 writing city.gpkg",
        "city.osm: step 1/2 writing city.gpkg: layer summary",
        "city.osm: step 1/2 writing city.gpkg: compiling the test kernels (first run only; cached afterwards)",
    ]
