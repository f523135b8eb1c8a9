"""Siting: the fewest new facilities that close a distance rule's gap, and what each one buys.

For a ``radius`` rule ("a bus stop within 500 m of every home", "a public toilet within 300 m along
main streets") :func:`site_facilities` proposes new facility sites on the walking network, so a
district can say *4 new toilets, here, bring coverage of main streets from 71 % to 100 %*.

1. **Candidate sites** (:func:`candidate_sites`): points along the walkable streets, at every
   junction and at most ``spacing`` metres apart along every edge, optionally only near a user
   layer (vacant lots, public land, the demonstration zone); or the user's own candidate points.
2. **Coverage sets** (:func:`coverage_matrix`, :func:`street_coverage`): the demand each candidate
   would newly serve within the threshold, by the distance of :mod:`urbancover.engine` (access
   legs + shortest path along the streets; the direct run when both lie on one edge). Demand the
   existing facilities already serve is removed first: existing facilities count as built. Each
   candidate is searched once, with a cut-off at the threshold, in the candidate's straight-line
   neighbourhood only (network distance is never shorter than the straight line), never one search
   per (candidate, demand) pair.
3. **Choice** (:func:`solve_covering`): Location Set Covering (the fewest sites reaching a target
   share, default the rule's) or Maximal Covering (the best ``k`` sites), weighted by residents (or
   street metres). A lazy greedy with its approximation guarantee by default; an exact integer
   programme when asked (HiGHS through :func:`scipy.optimize.milp`, or CBC through PuLP), with a
   time limit. A site that adds no coverage is never proposed.

Street demand (the toilet rules) is measured exactly: the uncovered street intervals are cut into
pieces at every point where some candidate's reach begins or ends, so every piece is served by a
fixed set of candidates and weighs its length in metres.

Two tolerances keep a proposal true when the rule is measured again after the sites are built (their
coordinates pass through a reprojection): a candidate serves a place only with :data:`SPARE` metres
to spare, and street pieces shorter than :data:`SLIVER` metres are ignored.
"""

from urbancover.siting.candidates import candidate_sites
from urbancover.siting.coverage import SLIVER, SPARE, coverage_matrix, street_coverage
from urbancover.siting.propose import SitingResult, add_sites, facility_tags, propose_sites, site_facilities
from urbancover.siting.solve import Selection, solve_covering

__all__ = [
    "SLIVER",
    "SPARE",
    "Selection",
    "SitingResult",
    "add_sites",
    "candidate_sites",
    "coverage_matrix",
    "facility_tags",
    "propose_sites",
    "site_facilities",
    "solve_covering",
    "street_coverage",
]
