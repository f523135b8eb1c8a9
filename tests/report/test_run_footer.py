"""The HTML/PDF report's footer carries the run record: the hashes of the inputs (computed here),
the rule set, the area and the date, on screen and on paper."""

from __future__ import annotations

import hashlib
import re
import warnings

import pytest
from tinycity import write_city, write_rules

import urbancover as uc
from urbancover.report import html_report


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("footer")
    city, rules = write_city(d / "city.osm"), write_rules(d / "rules.toml", 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return uc.evaluate(city, rules), city, rules


def test_footer_names_what_made_the_result(tiny, tmp_path):
    report, city, rules = tiny
    page = html_report(report, tmp_path / "r.html", lang="en", maps=False, interactive=False).read_text(encoding="utf-8")
    footer = page[page.index("<footer>"):]
    printed = re.search(r"<p class='sub printonly'>(.*?)</p>", page, flags=re.S).group(1)  # what paper shows
    for part in (footer, printed):
        assert hashlib.sha256(city.read_bytes()).hexdigest() in part
        assert hashlib.sha256(rules.read_bytes()).hexdigest() in part
        assert "<code>tiny</code>" in part and "<code>city.osm</code>" in part
        assert f"<code>{report.run.created_utc[:10]}" in part
