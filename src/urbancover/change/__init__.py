"""Before and after: what changed between two evaluations of the same rules over the same area.

>>> import urbancover as uc
>>> before = uc.evaluate("district-2018.osm.pbf", area=district)          # doctest: +SKIP
>>> after = uc.evaluate("district-2020.osm.pbf", area=district)           # doctest: +SKIP
>>> change = uc.compare(before, after)                                     # doctest: +SKIP
>>> change.summary[["value_before", "value_after", "homes_newly_served"]]  # doctest: +SKIP
>>> change.plot("bus_stop_500", path="bus_stop_500_change.png")           # doctest: +SKIP
>>> change.to_gpkg("change.gpkg")                                          # doctest: +SKIP

The package sits above :mod:`urbancover.report` (its change maps are drawn there, by the static
maps' conventions) and below :mod:`urbancover.app`. (It is not named ``compare``: ``urbancover.compare``
is the function.)
"""

from urbancover.change.compare import Comparison, compare

__all__ = ["Comparison", "compare"]
