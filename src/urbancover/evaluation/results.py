"""The typed summary of one rule: :class:`SummaryRow` (its verdict, set once by the kind, with the
reason when undetermined; its value and target; its shares, each with its size) and :class:`Share`.

Every output reads these objects; ``Report.summary`` (a DataFrame for users and files) is built
from :meth:`SummaryRow.columns`. A row still reads like the dict it replaced (``row["passed"]``,
``row.get("residents_served")``), so code written against the dict keeps working.
"""

from __future__ import annotations

import math
from collections.abc import MutableMapping
from dataclasses import dataclass, field

from urbancover.present import Note, Verdict

__all__ = ["SHARE_UNITS", "Share", "SummaryRow"]

#: Units of the shares a distance rule measures, in the order the outputs show them.
SHARE_UNITS = ("residents", "buildings", "compounds", "street")

_MISSING = object()


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and v == "")


@dataclass
class Share:
    """A share served, by network and by straight-line distance, and its size: ``served`` of
    ``size`` (residents, buildings, compounds, or km of street for ``unit="street"``).
    """

    unit: str
    served: float = math.nan
    straight: float = math.nan
    size: float = math.nan

    @property
    def size_column(self) -> str:
        """The summary column of the size (``residents``, ``street_km`` ...)."""
        return "street_km" if self.unit == "street" else self.unit

    def columns(self) -> dict:
        """The summary columns of this share: size, ``<unit>_served``, ``<unit>_served_straight``."""
        return {self.size_column: self.size, f"{self.unit}_served": self.served, f"{self.unit}_served_straight": self.straight}


_TYPED = ("id", "kind", "name_zh", "name_en", "clause", "measure", "value", "target", "target_text")


@dataclass(eq=False)
class SummaryRow(MutableMapping):
    """One rule's summary: names, ``value`` with its ``measure``, ``target`` and ``target_text``,
    the :class:`~urbancover.present.Verdict` with its ``reason`` (a :class:`~urbancover.present.Note`)
    when undetermined, the ``shares`` (unit -> :class:`Share`) of a distance rule, and the kind's
    other columns (``extra``).

    The verdict is set once, by the rule's kind, with :meth:`decide`. As a mapping the row gives the
    summary's columns (``passed`` from the verdict: True, False or None).
    """

    id: str
    kind: str
    name_zh: str = ""
    name_en: str = ""
    clause: str = ""
    measure: str = ""
    value: float = math.nan
    target: float | None = None
    target_text: str = ""
    verdict: Verdict | None = None
    reason: Note | None = None
    shares: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    _order: list = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if not self._order:
            self._order = ["id", "kind", "name_zh", "name_en", "clause"]

    # ---- the verdict, once
    def decide(self, verdict: Verdict, reason=_MISSING) -> SummaryRow:
        """Set the verdict (once) and, for an undetermined rule or a list, the reason."""
        if self.verdict is not None:
            raise RuntimeError(f"{self.id}: the verdict is set once, by the rule's kind (already {self.verdict.value}).")
        self.verdict = Verdict(verdict)
        self._note("passed")
        if reason is not _MISSING:
            self.reason = reason
            self._note("reason")
        return self

    @property
    def passed(self) -> bool | None:
        """True, False, or None (undetermined, a list, or not decided yet)."""
        return None if self.verdict is None else self.verdict.passed

    def share(self, unit: str) -> Share:
        """The share of ``unit`` (made empty when first asked, for the kind to fill)."""
        if unit not in self.shares:
            self.shares[unit] = Share(unit)
            self._note(*Share(unit).columns())
        return self.shares[unit]

    @classmethod
    def from_columns(cls, columns) -> SummaryRow:
        """A row from the summary's columns (a row of ``Report.summary`` or of a batch's
        ``summary.csv``): the verdict from its ``verdict`` column, the shares of a distance kind.
        """
        from urbancover.plan.rules import KINDS

        get = columns.get
        row = cls(id=str(get("id")), kind=str(get("kind")))
        distance = row.kind in KINDS and KINDS[row.kind].distance
        for k, v in columns.items():
            if k in ("passed", "verdict") or _blank(v):  # a blank cell: the row had no such column
                continue
            where = row._share_key(k) if distance else None
            if where is not None:
                setattr(row.share(where[0]), where[1], v)
            row[k] = v
        verdict = get("verdict")
        row.verdict = Verdict(verdict) if isinstance(verdict, str) and verdict else Verdict.UNDETERMINED
        return row

    # ---- the summary's columns
    def columns(self) -> dict:
        """The summary's columns of this row, in the order the kind wrote them."""
        flat = {"passed": self.passed, "reason": self.reason}
        for s in self.shares.values():
            flat.update(s.columns())
        out = {}
        for k in self._order:
            if k in _TYPED:
                out[k] = getattr(self, k)
            elif k in flat:
                out[k] = flat[k]
            else:
                out[k] = self.extra[k]
        return out

    def _note(self, *keys) -> None:
        for k in keys:
            if k not in self._order:
                self._order.append(k)

    def _share_key(self, key: str):
        for unit in SHARE_UNITS:
            s = Share(unit)
            if key == s.size_column:
                return unit, "size"
            if key == f"{unit}_served":
                return unit, "served"
            if key == f"{unit}_served_straight":
                return unit, "straight"
        return None

    def __getitem__(self, key):
        if key == "verdict":
            if self.verdict is None:
                raise KeyError(key)
            return self.verdict.value
        return self.columns()[key]

    def __setitem__(self, key, value) -> None:
        if key in ("passed", "verdict"):
            raise TypeError(f"{self.id}: set the verdict with SummaryRow.decide (once, by the rule's kind).")
        if key == "reason":
            self.reason = value
        elif key in _TYPED:
            setattr(self, key, value)
        elif (where := self._share_key(key)) is not None and where[0] in self.shares:
            unit, attr = where
            setattr(self.share(unit), attr, value)
        else:
            self.extra[key] = value
        self._note(key)

    def __delitem__(self, key) -> None:
        raise TypeError("a summary row's columns are not removed")

    def __iter__(self):
        return iter(self.columns())

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key) -> bool:
        return key in self._order or (key == "verdict" and self.verdict is not None)

    def __or__(self, other: dict) -> SummaryRow:
        for k, v in other.items():
            self[k] = v
        return self
