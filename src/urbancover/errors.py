"""Exceptions raised by urbancover.

Every error names the input, the problem and the fix, so a batch log line is enough to act on.
"""

from __future__ import annotations


class UrbancoverError(Exception):
    """Base class of the errors urbancover raises on purpose."""


class InputError(UrbancoverError, ValueError):
    """An input (file, layer, parameter) cannot be used as given."""


class OSMReadError(InputError):
    """An OSM extract is missing, unreadable, corrupt or empty."""


class NoWalkableWaysError(InputError):
    """An extract or layer holds no way a pedestrian may use, so no network can be built."""


class CRSError(InputError):
    """A layer has no coordinate reference system, or one that cannot be used here."""


class TruncatedExtractWarning(UserWarning):
    """An OSM extract looks cut short (ways miss many of their nodes, or a .pbf has nodes but no
    ways): its results may be wrong. ``read_osm(..., strict=True)`` raises :class:`OSMReadError`
    instead; the CLI's ``--strict`` turns this warning into exit code 2."""
