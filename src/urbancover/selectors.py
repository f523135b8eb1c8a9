"""OSM tag selectors: which features are facilities of a rule.

A selector is a list of alternatives; a feature matches when it matches any alternative. An
alternative is a table of ``key = condition`` that must all hold:

=====================  =====================================================
condition              holds when the feature's value for ``key`` ...
=====================  =====================================================
``"bus_stop"``         equals the string
``["park", "garden"]`` equals one of the strings
``true``               exists (any value)
``false``              does not exist
``{not = [...]}``      is missing or is none of the strings
=====================  =====================================================

Example (TOML)::

    facilities = [
      { highway = "bus_stop" },
      { public_transport = "platform", bus = "yes" },
      { amenity = "toilets", access = { not = ["private", "customers"] } },
    ]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from urbancover.errors import InputError

Selector = Sequence[Mapping[str, object]]


def validate_selector(selector: object, where: str) -> list[dict]:
    """Check a selector's form; return it as a list of dicts. ``where`` names it in errors."""
    if isinstance(selector, Mapping):
        selector = [selector]
    if not isinstance(selector, Sequence) or isinstance(selector, str) or not selector:
        raise InputError(f"{where}: a tag selector must be a non-empty list of tables like {{ amenity = \"toilets\" }}.")
    out = []
    for alt in selector:
        if not isinstance(alt, Mapping) or not alt:
            raise InputError(f"{where}: each alternative must be a non-empty table of tag = condition, got {alt!r}.")
        for key, cond in alt.items():
            if not isinstance(key, str) or not key:
                raise InputError(f"{where}: tag keys must be non-empty strings, got {key!r}.")
            ok = (
                isinstance(cond, (str, bool))
                or (isinstance(cond, list) and cond and all(isinstance(c, str) for c in cond))
                or (
                    isinstance(cond, Mapping)
                    and set(cond) == {"not"}
                    and isinstance(cond["not"], list)
                    and all(isinstance(c, str) for c in cond["not"])
                )
            )
            if not ok:
                raise InputError(
                    f"{where}: bad condition for tag {key!r}: {cond!r}. Use a string, a list of strings, "
                    "true, false or {not = [...]}."
                )
        out.append(dict(alt))
    return out


def select(features: pd.DataFrame, selector: Selector) -> np.ndarray:
    """Boolean mask of the rows of ``features`` (with a ``tags`` column of dicts) matching ``selector``.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"tags": [{"highway": "bus_stop"}, {"amenity": "toilets", "access": "private"}]})
    >>> select(f, [{"highway": "bus_stop"}]).tolist()
    [True, False]
    """
    tags = features["tags"].to_list() if len(features) else []
    mask = np.zeros(len(tags), dtype=bool)
    for alt in selector:
        m = np.ones(len(tags), dtype=bool)
        for key, cond in alt.items():
            vals = [t.get(key) for t in tags]
            m &= np.fromiter((_holds(v, cond) for v in vals), dtype=bool, count=len(vals))
        mask |= m
    return mask


def _holds(value, cond) -> bool:
    if cond is True:
        return value is not None
    if cond is False:
        return value is None
    if isinstance(cond, str):
        return value == cond
    if isinstance(cond, list):
        return value in cond
    return value is None or value not in cond["not"]


def describe(selector: Selector) -> str:
    """Human-readable form of a selector, for warnings and reports."""
    def one(alt):
        parts = []
        for k, c in alt.items():
            if c is True:
                parts.append(f"{k}=*")
            elif c is False:
                parts.append(f"no {k}")
            elif isinstance(c, str):
                parts.append(f"{k}={c}")
            elif isinstance(c, list):
                parts.append(f"{k}={'|'.join(c)}")
            else:
                parts.append(f"{k} not {'|'.join(c['not'])}")
        return " + ".join(parts)

    return " or ".join(one(a) for a in selector)
