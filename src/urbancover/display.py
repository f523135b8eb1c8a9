"""How a :class:`~urbancover.Report` and a :class:`~urbancover.gaps.RuleResult` show themselves: a
one-line text repr, and a compact HTML table in Jupyter.

Only pandas and the objects' attributes are used (no import of the modules that define them), so
the classes can call these from their ``__repr__`` and ``_repr_html_``.

>>> from urbancover.display import fmt_number
>>> fmt_number(0.3589, "share of residents served"), fmt_number(7.2817, "km/km²"), fmt_number(float("inf"))
('35.9%', '7.28', '∞')
"""

from __future__ import annotations

import html
import math

from urbancover.wording import fmt_share, fmt_value, share_size

__all__ = ["fmt_number", "report_html", "report_repr", "result_html", "result_repr"]

#: Columns of the notebook summary of a report: label, summary column (distance rules only for pairs).
_PAIRS = (("residents", "residents served"), ("buildings", "buildings served"), ("street", "street length served"))


def _is_missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def fmt_number(x, measure: str = "") -> str:
    """A summary value for people: shares in percent, other numbers with 3 significant digits."""
    if _is_missing(x):
        return "—"
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isinf(x):
        return "∞"
    return fmt_share(x) if "share" in str(measure) else fmt_value(x)


def _verdict(passed) -> str:
    if _is_missing(passed):
        return "undetermined"
    return "passed" if bool(passed) else "failed"


def _esc(x) -> str:
    return html.escape("" if _is_missing(x) else str(x), quote=True)


def result_repr(result) -> str:
    """``<RuleResult bus_stop_500 (radius): share of residents served 37.7%, target >= 100%: failed;
    layers facilities 16, homes_unserved 23>``.
    """
    s = result.summary
    rid = s.get("id", getattr(result.rule, "id", "?"))
    layers = ", ".join(f"{k} {_count(result.layers, k)}" for k in result.layers)
    measure = s.get("measure") or "value"
    target = f", target {s['target_text']}" if s.get("target_text") else ""
    return (f"<RuleResult {rid} ({s.get('kind', result.rule.kind)}): {measure} {fmt_number(s.get('value'), measure)}"
            f"{target}: {_verdict(s.get('passed'))}; layers {layers or 'none'}>")


def result_html(result) -> str:
    """The rule's verdict, its served shares (network and straight line) and its layers, as HTML."""
    s = result.summary
    rule = result.rule
    rid = s.get("id", rule.id)
    name = s.get("name_en") or getattr(rule, "name_en", "") or ""
    measure = s.get("measure") or "value"
    rows = [("measure", f"{_esc(measure)}: <b>{_esc(fmt_number(s.get('value'), measure))}</b>"),
            ("target", _esc(s.get("target_text"))), ("result", _esc(_verdict(s.get("passed"))))]
    if _is_missing(s.get("passed")) and isinstance(s.get("reason"), str) and s.get("reason"):
        rows.append(("reason", _esc(s["reason"])))
    for key, label in _PAIRS:
        if f"{key}_served" in s:
            rows.append((label, f"{_esc(fmt_number(s.get(f'{key}_served'), 'share'))} by network, "
                                f"{_esc(fmt_number(s.get(f'{key}_served_straight'), 'share'))} by straight line"
                                f" {_esc(share_size(s, key))}"))
    if s.get("missing") not in (None, "", "none") and not _is_missing(s.get("missing")):
        rows.append(("missing", _esc(s["missing"])))
    layers = ", ".join(f"<code>{_esc(k)}</code> ({_count(result.layers, k)})" for k in result.layers) or "none"
    rows.append(("layers", layers))
    body = "".join(f"<tr><th style='text-align:left'>{_esc(k)}</th><td style='text-align:left'>{v}</td></tr>" for k, v in rows)
    return (f"<div><b>RuleResult</b> <code>{_esc(rid)}</code> {_esc(name)} ({_esc(s.get('kind', rule.kind))})"
            f"<table>{body}</table></div>")


def report_repr(report) -> str:
    """``<Report: 19 rules (3 passed, 13 failed, 3 undetermined), 12.3 km², 4 notes>``."""
    counts = {"passed": 0, "failed": 0, "undetermined": 0}
    for p in report.summary["passed"] if "passed" in report.summary else []:
        counts[_verdict(p)] += 1
    area = getattr(report.context, "area_km2", None)
    where = f", {area:.2f} km²" if isinstance(area, (int, float)) else ""
    return (f"<Report: {len(report.results)} rules ({counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['undetermined']} undetermined){where}, {len(report.notes)} notes>")


def report_html(report) -> str:
    """One row per rule (id, name, measured value, target, result, shares served by network | by
    straight line), then the notes: what a notebook shows for a report.
    """
    head = ["rule", "name", "value", "target", "result"] + [lab for _, lab in _PAIRS]
    out = [f"<div><b>{_esc(report_repr(report))}</b><table><thead><tr>"
           + "".join(f"<th style='text-align:left'>{_esc(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for rid, res in report.results.items():
        s = res.summary
        measure = s.get("measure") or ""
        cells = [f"<code>{_esc(rid)}</code>", _esc(s.get("name_en")), _esc(fmt_number(s.get("value"), measure)),
                 _esc(s.get("target_text")), _esc(_verdict(s.get("passed")))]
        if _is_missing(s.get("passed")) and isinstance(s.get("reason"), str) and s.get("reason"):
            cells[-1] += f"<br><small>{_esc(s['reason'])}</small>"  # undetermined: say why
        for key, _ in _PAIRS:
            cells.append(f"{_esc(fmt_number(s.get(f'{key}_served'), 'share'))} | "
                         f"{_esc(fmt_number(s.get(f'{key}_served_straight'), 'share'))} {_esc(share_size(s, key))}"
                         if f"{key}_served" in s else "")
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
