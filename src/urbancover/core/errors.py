"""Exceptions raised by urbancover.

Every error names the input, the problem and the fix, so a batch log line is enough to act on.
"""

from __future__ import annotations

import math


class UrbancoverError(Exception):
    """Base class of the errors urbancover raises on purpose."""


class InputError(UrbancoverError, ValueError):
    """An input (file, layer, parameter) cannot be used as given."""


class OSMReadError(InputError):
    """An OSM extract is missing, unreadable, corrupt or empty."""


class NoWalkableWaysError(InputError):
    """An extract or layer holds no way a pedestrian may use, so no network can be built."""


class UnknownRuleError(InputError, KeyError):
    """A rule id that the rule set or report does not hold (a ``KeyError`` too, as for a mapping)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownLayerError(InputError, KeyError):
    """A layer name that a report or a rule's layers do not hold (a ``KeyError`` too); the message
    lists the names they hold.
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CRSError(InputError):
    """A layer has no coordinate reference system, or one that cannot be used here."""


def require_number(value, name: str, *, positive: bool = False) -> float:
    """``value`` as a float when it is a finite number (``> 0`` with ``positive``, else ``>= 0``).

    Raises :class:`InputError` naming ``name`` otherwise (booleans and NaN are refused).
    """
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok:
        try:  # numpy scalars
            import numpy as np

            ok = isinstance(value, (np.integer, np.floating))
        except ImportError:  # pragma: no cover
            ok = False
    if not ok or not math.isfinite(value) or (value <= 0 if positive else value < 0):
        raise InputError(f"{name} must be a finite number {'> 0' if positive else '>= 0'} (metres or seconds), got {value!r}.")
    return float(value)


class TruncatedExtractWarning(UserWarning):
    """An OSM extract looks cut short (ways miss many of their nodes, or a .pbf has nodes but no
    ways): its results may be wrong. ``read_osm(..., strict=True)`` raises :class:`OSMReadError`
    instead; the CLI's ``--strict`` turns this warning into exit code 2.
    """


def warn(message, category: type[Warning] = UserWarning) -> None:
    """Issue a warning at the user's line: the line that called into urbancover, however deep in the
    library the warning is raised (a fixed ``stacklevel`` points into the library when the call
    comes through another of its functions, or at ``sys:1`` when the stack is shorter). The one
    way the library warns.

    The frame just outside the outermost urbancover frame of the stack is the user's (a script, a
    notebook cell, a test); with no urbancover frame outside this one, the caller's.
    """
    import sys
    import warnings

    frame, k, outer = sys._getframe(1), 1, 0
    while frame is not None:
        name = frame.f_globals.get("__name__") or ""
        if name == "urbancover" or name.startswith("urbancover."):
            outer = k
        frame, k = frame.f_back, k + 1
    # stacklevel 1 is this line, 2 the caller (frame k = 1): the frame outside frame ``outer`` is outer + 2
    warnings.warn(message, category, stacklevel=outer + 2)
