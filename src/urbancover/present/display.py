"""How a :class:`~urbancover.Report` and a :class:`~urbancover.evaluation.gaps.RuleResult` show themselves: a
one-line text repr, a compact HTML table in Jupyter, and the command line's summary table
(:func:`summary_text`: 120 columns, or every detail with ``wide``).

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
from urbancover.present.formats import is_missing, share, size, text_table, value_of, width
from urbancover.present.words import verdict_text

__all__ = ["TERMINAL_WIDTH", "fmt_number", "report_html", "report_repr", "result_html", "result_repr", "summary_text"]

#: Columns the command line's summary table fits in (without ``--wide``).
TERMINAL_WIDTH = 120

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


def _pair(s, lang: str, sized: bool) -> str:
    """A share by network and by straight line, the bar at the same column in every row:
    ``" 37.7% | 46.4%"``, with its size when ``sized`` (``"... of 6,702 residents"``).
    """
    text = f"{share(s.served):>6} | {share(s.straight)}"
    return f"{text:<15} {size(s, lang)}".rstrip() if sized else text


def summary_text(rows, lang: str = "zh", *, wide: bool = False, say_text=None) -> str:
    """The summary rows of a report as a text table for a terminal, in ``lang``.

    Per rule: id, name, value (``no facility`` / ``无`` for a ratio with no facility, counts as
    whole numbers), target, verdict, and for distance rules the shares of residents and of street
    length served by network | by straight line. Without ``wide`` the table fits
    :data:`TERMINAL_WIDTH` columns (CJK characters count two): long names and targets are cut with
    "…", the shares' sizes are left out and an undetermined rule's reason stands in place of its
    shares. With ``wide``, every text whole, the sizes ("of 6,702 residents") and a column of reasons.

    ``rows``: :class:`~urbancover.evaluation.results.SummaryRow` objects (or rows with the same
    attributes); ``say_text(sentence) -> str`` rewords a reason (the command line names its flags).
    """
    from urbancover.present.words import HEADERS, HEADERS_NARROW, target_text

    say_text = say_text or (lambda text: text)
    H = HEADERS[lang] if wide else HEADERS_NARROW[lang]
    units = [u for u in ("residents", "street") if any(u in r.shares for r in rows)]
    body, reasons = [], []
    for r in rows:
        name = (r.name_zh if lang == "zh" else r.name_en) or r.name_en or ""
        cells = [r.id, name, value_of(r.value, r.measure, lang), target_text(r.target_text, lang), verdict_text(r.verdict, lang)]
        why = say_text(say(r.reason, lang)) if r.verdict is Verdict.UNDETERMINED and r.reason else ""
        shares = [_pair(r.shares[u], lang, wide) if u in r.shares else "" for u in units]
        if wide:
            body.append(cells + shares + [why])
            reasons.append(why)
        else:
            body.append(cells + ([why] if why else shares))  # the reason spans the shares' columns
    if not wide:
        net = f"{H['network']:>{6 - width(H['network']) + len(H['network'])}} | {H['straight']}"
        header = [H[k] for k in ("rule", "name", "value", "target", "passed")] + [f"{H[u]}\n{net}" for u in units]
        shrink, least = (1, 3, 0), (16, 14, 22)  # an id is cut only when longer than the preset's longest
        if not units and any(len(b) > 5 for b in body):  # no share column for a reason to stand in: its own
            header.append(HEADERS[lang]["reason"])
            body = [b if len(b) > 5 else b + [""] for b in body]
            shrink, least = (1, 3, 5, 0), (16, 14, 24, 22)
        return text_table(header, body, align="llrll" + "l" * len(units), max_width=TERMINAL_WIDTH, shrink=shrink,
                          min_width=least)
    header = [H[k] for k in ("rule", "name", "value", "target", "passed")] + [H[u] for u in units] + [H["reason"]]
    if not any(reasons):
        header, body = header[:-1], [b[:-1] for b in body]
    return text_table(header, body, align="llrll")
