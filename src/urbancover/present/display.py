"""How a :class:`~urbancover.Report` and a :class:`~urbancover.evaluation.gaps.RuleResult` show themselves: a
one-line text repr, and a compact HTML table in Jupyter.

Only pandas and the objects' attributes are used (no import of the modules that define them), so
the classes can call these from their ``__repr__`` and ``_repr_html_``.

>>> from urbancover.present.display import fmt_number
>>> fmt_number(0.3589, "share of residents served"), fmt_number(7.2817, "km/km²"), fmt_number(float("inf"))
('35.9%', '7.28', '∞')
"""

from __future__ import annotations

import html
import math

from urbancover.present import Verdict, say
from urbancover.present.formats import is_missing, share, size, value_of
from urbancover.present.words import verdict_text

__all__ = ["fmt_number", "report_html", "report_repr", "result_html", "result_repr"]

#: Columns of the notebook summary of a report: share unit, label.
_PAIRS = (("residents", "residents served"), ("buildings", "buildings served"), ("street", "street length served"))

#: The verdict words of a notebook's view (its counts read "3 passed, 13 failed").
fmt_number = value_of


def _verdict(row) -> str:
    return verdict_text(row.verdict, "en")


def _esc(x) -> str:
    return html.escape("" if x is None or (isinstance(x, float) and math.isnan(x)) else str(x), quote=True)


def _why(row) -> str:
    """The reason of an undetermined rule, else empty."""
    return say(row.reason) if row.verdict is Verdict.UNDETERMINED and row.reason else ""


def result_repr(result) -> str:
    """``<RuleResult bus_stop_500 (radius): share of residents served 37.7%, target >= 100%: failed;
    layers facilities 16, homes_unserved 23>``.
    """
    s = result.summary
    layers = ", ".join(f"{k} {_count(result.layers, k)}" for k in result.layers)
    measure = s.measure or "value"
    target = f", target {s.target_text}" if s.target_text else ""
    return (f"<RuleResult {s.id} ({s.kind}): {measure} {fmt_number(s.value, measure)}"
            f"{target}: {_verdict(s)}; layers {layers or 'none'}>")


def result_html(result) -> str:
    """The rule's verdict, its served shares (network and straight line) and its layers, as HTML."""
    s = result.summary
    measure = s.measure or "value"
    rows = [("measure", f"{_esc(measure)}: <b>{_esc(fmt_number(s.value, measure))}</b>"),
            ("target", _esc(s.target_text)), ("result", _esc(_verdict(s)))]
    if _why(s):
        rows.append(("reason", _esc(_why(s))))
    for key, label in _PAIRS:
        if key in s.shares:
            sh = s.shares[key]
            rows.append((label, f"{_esc(share(sh.served))} by network, {_esc(share(sh.straight))} by straight line"
                                f" {_esc(size(sh))}"))
    missing = s.get("missing")
    if not is_missing(missing) and missing not in ("", "none"):
        rows.append(("missing", _esc(say(missing))))
    layers = ", ".join(f"<code>{_esc(k)}</code> ({_count(result.layers, k)})" for k in result.layers) or "none"
    rows.append(("layers", layers))
    body = "".join(f"<tr><th style='text-align:left'>{_esc(k)}</th><td style='text-align:left'>{v}</td></tr>" for k, v in rows)
    return (f"<div><b>RuleResult</b> <code>{_esc(s.id)}</code> {_esc(s.name_en or result.rule.name_en)} ({_esc(s.kind)})"
            f"<table>{body}</table></div>")


def report_repr(report) -> str:
    """``<Report: 19 rules (3 passed, 13 failed, 3 undetermined), 12.3 km², 4 notes>``."""
    counts = {v: 0 for v in Verdict}
    for res in report.results.values():
        counts[res.summary.verdict] += 1
    area = getattr(report.context, "area_km2", None)
    where = f", {area:.2f} km²" if isinstance(area, (int, float)) else ""
    lists = f", {counts[Verdict.LIST]} list" if counts[Verdict.LIST] else ""
    return (f"<Report: {len(report.results)} rules ({counts[Verdict.PASS]} passed, {counts[Verdict.FAIL]} failed, "
            f"{counts[Verdict.UNDETERMINED]} undetermined{lists}){where}, {len(report.notes)} notes>")


def report_html(report) -> str:
    """One row per rule (id, name, measured value, target, result, shares served by network | by
    straight line), then the notes: what a notebook shows for a report.
    """
    head = ["rule", "name", "value", "target", "result"] + [lab for _, lab in _PAIRS]
    out = [f"<div><b>{_esc(report_repr(report))}</b><table><thead><tr>"
           + "".join(f"<th style='text-align:left'>{_esc(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for rid, res in report.results.items():
        s = res.summary
        cells = [f"<code>{_esc(rid)}</code>", _esc(s.name_en), _esc(fmt_number(s.value, s.measure)),
                 _esc(s.target_text), _esc(_verdict(s))]
        if _why(s):
            cells[-1] += f"<br><small>{_esc(_why(s))}</small>"  # undetermined: say why
        for key, _ in _PAIRS:
            sh = s.shares.get(key)
            cells.append(_esc(f"{share(sh.served)} | {share(sh.straight)} {size(sh)}") if sh is not None else "")
        out.append("<tr>" + "".join(f"<td style='text-align:left'>{c}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    if report.notes:
        out.append("<details><summary>notes</summary><ul>" + "".join(f"<li>{_esc(n)}</li>" for n in report.notes)
                   + "</ul></details>")
    out.append("<small>Shares: by network distance | by straight-line distance.</small></div>")
    return "".join(out)


def _count(layers, name: str) -> str:
    """Rows of a layer, or "made when read" for one made on first read whose length is not known
    yet (a repr does not make it).
    """
    n = layers.rows(name) if hasattr(layers, "rows") else len(layers[name])
    return "made when read" if n is None else str(n)
