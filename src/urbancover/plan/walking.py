"""Walking minutes and metres, from a rule set's walking table: :class:`WalkingTime`.

Every minute urbancover shows beside a distance (the ``*_min`` columns of the layers, ``k_nearest``,
``service_areas(bands_min=...)``, :meth:`urbancover.Report.service_areas`) is converted here, by one
pair of functions (:meth:`WalkingTime.minutes` and :meth:`WalkingTime.metres`), from the rule set's
``[walking]`` table (PLAN_RULES.md: after GB 50180-2018, 5 minutes = 300 m, 10 = 500 m, 15 = 1000 m
in the shipped preset) or from a walking speed when the user gives one.

How minutes between and beyond the table's rows are converted:

* the table's rows are exact (5 min is 300 m), and so is 0 min = 0 m;
* between two rows (and between 0 and the first row) **piecewise-linearly**: 7.5 min is
  300 + 2.5 / 5 x (500 - 300) = 400 m, and 400 m is 7.5 min;
* beyond the last row at the rule set's ``speed_kmh`` when it gives one, else **at the last row's
  pace** (its metres over its minutes: 1000 m / 15 min = 66.7 m per minute, 4 km/h), so 20 min
  is 1000 + 5 x 66.7 = 1333 m;
* a rule set with a speed and no table, or a speed the user gives (``speed_kmh=``), converts at
  that speed alone: ``metres = speed_kmh x 1000 / 60 x minutes``.

A rule set with no ``[walking]`` table and no speed uses the shipped preset's table
(:data:`DEFAULT_PRESET`). Both directions are increasing and inverse to each other, so a band
of 10 minutes reaches exactly the places whose ``*_min`` is at most 10. ``inf`` (nothing reachable)
stays ``inf``, NaN stays NaN.

(A rule stated in minutes that are not a row of its table takes its metres from the rule set's speed,
:func:`urbancover.plan.rules.parse_rules`; rule files give the rows they use.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np

from urbancover.core.errors import InputError
from urbancover.plan.rules import RuleSet, load_rules

#: The rule set whose walking table is used when a rule set gives none (GB 50180-2018's circles).
DEFAULT_PRESET = "zhengzhou-2018"


@dataclass(frozen=True)
class WalkingTime:
    """Minutes <-> metres of walking (see the module docstring for between and beyond the rows).

    Attributes
    ----------
    table : tuple of (minutes, metres)
        The rule set's walking table, sorted; empty to convert at ``speed_kmh`` alone.
    speed_kmh : float or None
        Pace beyond the last row (or everywhere, with no table), km/h.

    Examples
    --------
    >>> w = WalkingTime(((5.0, 300.0), (10.0, 500.0), (15.0, 1000.0)))
    >>> w.minutes([300, 400, 1000]).tolist(), w.metres(7.5)
    ([5.0, 7.5, 15.0], 400.0)
    """

    table: tuple[tuple[float, float], ...] = ()
    speed_kmh: float | None = None

    def __post_init__(self) -> None:
        rows = tuple(sorted((float(a), float(b)) for a, b in self.table))
        object.__setattr__(self, "table", rows)
        if self.speed_kmh is not None:
            s = float(self.speed_kmh)
            if not (math.isfinite(s) and s > 0):
                raise InputError(f"speed_kmh must be a positive finite speed in km/h (e.g. 4.5), got {self.speed_kmh!r}.")
            object.__setattr__(self, "speed_kmh", s)
        if not rows and self.speed_kmh is None:
            raise InputError("walking: needs a table of minutes -> metres or a speed_kmh.")
        mins = np.array([0.0] + [a for a, _ in rows])
        metres = np.array([0.0] + [b for _, b in rows])
        if (np.diff(mins) <= 0).any() or (np.diff(metres) <= 0).any() or not np.isfinite(metres).all():
            raise InputError(f"walking: minutes and metres of the table must both increase from 0 (got {dict(rows)}); "
                             "e.g. [walking] minutes = { 5 = 300, 10 = 500, 15 = 1000 }.")

    @property
    def _knots(self) -> tuple[np.ndarray, np.ndarray, float]:
        """(minutes, metres) of the knots, 0 first, and metres per minute beyond the last."""
        mins = np.array([0.0] + [a for a, _ in self.table])
        metres = np.array([0.0] + [b for _, b in self.table])
        if self.speed_kmh is not None:
            pace = self.speed_kmh * 1000.0 / 60.0
        else:
            pace = metres[-1] / mins[-1]
        return mins, metres, pace

    def metres(self, minutes):
        """Walking metres of ``minutes`` (a number or an array; ``inf`` stays ``inf``, NaN NaN)."""
        x = np.asarray(minutes, dtype=float)
        mins, metres, pace = self._knots
        out = np.where(x <= mins[-1], np.interp(x, mins, metres), metres[-1] + (x - mins[-1]) * pace)
        out = np.where(np.isnan(x), np.nan, out)
        return float(out) if out.ndim == 0 else out

    def minutes(self, metres):
        """Walking minutes of ``metres`` (a number or an array; ``inf`` stays ``inf``, NaN NaN)."""
        x = np.asarray(metres, dtype=float)
        mins, m, pace = self._knots
        with np.errstate(invalid="ignore"):
            out = np.where(x <= m[-1], np.interp(x, m, mins), mins[-1] + (x - m[-1]) / pace)
        out = np.where(np.isnan(x), np.nan, out)
        return float(out) if out.ndim == 0 else out

    def __str__(self) -> str:
        rows = ", ".join(f"{a:g} min = {b:g} m" for a, b in self.table)
        if not rows:
            return f"{self.speed_kmh:g} km/h"
        return rows + (f", then {self.speed_kmh:g} km/h" if self.speed_kmh is not None else ", then the last row's pace")


def walking_time(rules: RuleSet | dict | str | None = None, *, speed_kmh: float | None = None) -> WalkingTime:
    """The :class:`WalkingTime` of a rule set, or of a speed the user gives.

    Parameters
    ----------
    rules
        A :class:`~urbancover.plan.rules.RuleSet`, its ``walking`` dict, a preset name or rule file,
        or None (the shipped preset, :data:`DEFAULT_PRESET`).
    speed_kmh
        A walking speed the user gives: minutes at that speed alone (the table is not used).

    Examples
    --------
    >>> walking_time().metres([5, 10, 15]).tolist()
    [300.0, 500.0, 1000.0]
    >>> walking_time(speed_kmh=4.5).metres(10)
    750.0
    """
    if speed_kmh is not None:
        try:
            speed = float(speed_kmh)
        except (TypeError, ValueError) as err:
            raise InputError(f"speed_kmh must be a walking speed in km/h (e.g. 4.5), got {speed_kmh!r}.") from err
        return WalkingTime((), speed)
    if rules is None:
        return _default()
    walking = rules if isinstance(rules, dict) else load_rules(rules).walking
    table = tuple((walking.get("minutes") or {}).items())
    if not table and walking.get("speed_kmh") is None:
        return _default()
    return WalkingTime(table, walking.get("speed_kmh"))


@cache
def _default() -> WalkingTime:
    return walking_time(load_rules(DEFAULT_PRESET).walking)
