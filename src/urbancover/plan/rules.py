"""Rule sets as data: load, validate and resolve a plan's measurable rules.

A rule set is a TOML file. The Zhengzhou 2018 preset ships in the package
(``urbancover/presets/zhengzhou-2018.toml``) and is loaded by name::

    >>> from urbancover.plan.rules import load_rules
    >>> rs = load_rules("zhengzhou-2018")
    >>> rs["bus_stop_500"].threshold
    500.0

Copy it, edit it, and load your file by path. Every number of a plan (thresholds, targets, walking
distances) lives in the file, never in code. See ``docs/rules.md`` for every key.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from urbancover.core.errors import InputError, UnknownRuleError
from urbancover.core.files import file_sha256, text_hash
from urbancover.plan.selectors import validate_selector

#: Keys every rule may have, whatever its kind.
COMMON_KEYS = {"id", "kind", "clause", "name_zh", "name_en", "text_zh", "note", "target"}

# Types of kind-specific keys: how each is checked.
SELECTOR, POSITIVE, NONNEG, STRING, CATEGORIES, DEMAND = "selector", "positive", "nonneg", "string", "categories", "demand"
BOOL = "bool"

@dataclass(frozen=True)
class Kind:
    """How a rule kind is read from a rule file and evaluated: one entry of :data:`KINDS`.

    Attributes
    ----------
    keys : dict
        Kind-specific keys of the rule file: ``{key: (type, required)}``.
    distance : bool
        Measured by network distance: the rule has facility categories with thresholds, its
        measurement holds one distance field per category, and maps, siting and the zone search
        read those fields.
    threshold : str or None
        Where the distance is given: ``"rule"`` (``threshold_m`` or ``minutes`` on the rule),
        ``"category"`` (on each category) or None.
    listed : bool
        The result is a list to act on (dead ends), not a pass or a fail.
    roads : bool
        The rule measures the road network itself (its map draws roads, not facilities).
    category_requires : tuple of str
        Keys every category of the rule must have (besides name and facilities).
    """

    keys: dict[str, tuple[str, bool]]
    distance: bool = False
    threshold: str | None = None
    listed: bool = False
    roads: bool = False
    category_requires: tuple[str, ...] = ()


#: Rule kind -> :class:`Kind`. Adding a kind = one entry here + its function, registered in the
#: evaluation layer with :func:`urbancover.evaluation.kinds.rule_kind`.
KINDS: dict[str, Kind] = {
    # nearest facility within a distance
    "radius": Kind(
        {
            "facilities": (SELECTOR, True), "demand": (DEMAND, False),
            "facility_min_area_m2": (POSITIVE, False),
            "streets": (SELECTOR, False), "streets_in": (SELECTOR, False),
            "streets_near": (SELECTOR, False), "streets_near_m": (POSITIVE, False),
            "homes_in": (STRING, False),
        },
        distance=True, threshold="rule",
    ),
    # several categories must all be within their distance
    "all_of": Kind(
        # list_unmatched: features of this pool that no category takes are listed (schools of unknown level)
        {"categories": (CATEGORIES, True), "demand": (DEMAND, False), "list_unmatched": (SELECTOR, False)},
        distance=True, threshold="category",
    ),
    # facilities per km2 of the analysed area within bounds
    "density": Kind(
        # each facility once; per km2 of the analysed area (with area="bounds": of built-up land when built_up_without_area)
        {
            "facilities": (SELECTOR, True), "min_per_km2": (NONNEG, False), "max_per_km2": (POSITIVE, False),
            "built_up_without_area": (BOOL, False),
        },
    ),
    # one facility per N residents
    "ratio": Kind(
        {
            "facilities": (SELECTOR, True),
            "residents_per_facility_min": (POSITIVE, False), "residents_per_facility_max": (POSITIVE, True),
        },
    ),
    # facility area per resident
    "area_per_capita": Kind(
        # facilities: ground area; floor_area_facilities: footprint x levels (default_levels untagged)
        {
            "facilities": (SELECTOR, True), "min_m2_per_person": (POSITIVE, True),
            "floor_area_facilities": (SELECTOR, False), "default_levels": (POSITIVE, False),
        },
    ),
    # each facility of a category at least this big
    "min_area": Kind(
        {"categories": (CATEGORIES, True), "default_levels": (POSITIVE, False)},
        category_requires=("min_area_m2",),
    ),
    # at least N facilities in every area unit (subdistrict)
    "count_per_unit": Kind(
        {"facilities": (SELECTOR, True), "min_count": (POSITIVE, True), "units": (SELECTOR, False)},
    ),
    # street length and junctions per km2
    "road_density": Kind(
        # a dual carriageway (two opposite one-way ways of one name within dual_carriageway_m) counts
        # once; expressways are added only with include_expressways
        {
            "streets": (SELECTOR, False), "min_km_per_km2": (POSITIVE, True), "dual_carriageway_m": (NONNEG, False),
            "expressways": (SELECTOR, False), "include_expressways": (BOOL, False),
        },
        roads=True,
    ),
    # dead-end streets that are not cut by the data boundary
    "dead_ends": Kind(
        {"streets": (SELECTOR, False), "boundary_m": (NONNEG, False)},
        listed=True, roads=True,
    ),
}

#: Keys of a category table of ``all_of`` and ``min_area`` rules.
CATEGORY_KEYS = {"name", "name_zh", "facilities", "threshold_m", "minutes", "min_area_m2", "floor_area"}

#: Demand layers a distance rule can be measured on.
DEMAND_LAYERS = {"residents", "residential_buildings", "compounds", "streets"}

RULESET_KEYS = {"ruleset", "walking", "rule"}

#: Rule ids and category names: ASCII identifiers. They name output files (``<id>__gaps.shp``),
#: GeoPackage layers, table columns (``served_<id>``, ``status_<category>``), the keys of
#: ``--facilities`` and ``--only``, and HTML anchors, so nothing else may get in: no path separator or
#: ``..`` (a file outside the output folder), no space or markup (a layer GDAL refuses after the whole
#: evaluation). CJK letters, which Python's ``str.isidentifier`` accepts, are refused deliberately:
#: Shapefile/DBF field names are at most 10 *bytes* (3-4 CJK characters in UTF-8, cut mid-character),
#: file names in Chinese break zip tools and Windows code pages, and the Chinese name of a rule has its
#: own field (``name_zh``).
ID_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

#: Longest rule id or category name: with the layer names appended (``<id>__unserved_street_pieces``)
#: a file name stays well under the 255 bytes file systems allow.
MAX_ID_LENGTH = 64

ID_RULE = (f"the id must be an identifier (ASCII letters, digits and _, not starting with a digit, at most "
           f"{MAX_ID_LENGTH} characters): it names output layers and files. Put the rule's name in name_zh / "
           "name_en, e.g. id = \"bus_stop_500\", name_zh = \"公交站点500米\".")
ID_CATEGORY = (f"the name must be an identifier (ASCII letters, digits and _, not starting with a digit, at most "
               f"{MAX_ID_LENGTH} characters): it names layers (rule.category). Put its Chinese name in name_zh.")


def is_identifier(text) -> bool:
    """Whether ``text`` may be a rule id or a category name (see :data:`ID_PATTERN`)."""
    return isinstance(text, str) and len(text) <= MAX_ID_LENGTH and ID_PATTERN.match(text) is not None


def check_rule_id(rule_id, where: str) -> str:
    """Return ``rule_id`` when it is an identifier (:func:`is_identifier`), else raise.

    Raises
    ------
    InputError
        ``"<where>: the id must be an identifier ..."``, the message ``urbancover rules check`` gives.
    """
    if not is_identifier(rule_id):
        raise InputError(f"{where}: {ID_RULE}")
    return rule_id


def check_category_name(name, where: str) -> str:
    """Return ``name`` when it is an identifier, else raise ``"<where>, category <name>: the name must be ..."``."""
    if not is_identifier(name):
        raise InputError(f"{where}, category {name!r}: {ID_CATEGORY}")
    return name


def did_you_mean(unknown, allowed) -> str:
    """`` (did you mean 'threshold_m'?)`` for unknown keys close to allowed ones (difflib), else ``""``."""
    pairs = []
    for key in sorted(map(str, unknown)):
        close = difflib.get_close_matches(key, sorted(map(str, allowed)), n=1, cutoff=0.75)
        if close:
            pairs.append(f"{close[0]!r} for {key!r}" if len(unknown) > 1 else repr(close[0]))
    return f" (did you mean {', '.join(pairs)}?)" if pairs else ""


def duplicate_ids(ids, where: str) -> list[str]:
    """A message per rule id used twice in ``ids`` (in file order), or differing from an earlier one
    only in case: GeoPackage layer names and the files of Windows and macOS do not tell ``Bus`` from
    ``bus``, so one would overwrite the other.
    """
    first: dict[str, tuple[int, str]] = {}
    out = []
    for i, rid in enumerate(ids):
        if not isinstance(rid, str) or not rid:
            continue
        seen = first.setdefault(rid.casefold(), (i, rid))
        if seen[0] == i:
            continue
        if seen[1] == rid:
            out.append(f"{where}: rule id {rid!r} is defined twice (rules #{seen[0] + 1} and #{i + 1}).")
        else:
            out.append(f"{where}: rule ids {seen[1]!r} (rule #{seen[0] + 1}) and {rid!r} (rule #{i + 1}) differ only "
                       "in case; layers and files cannot tell them apart. Rename one.")
    return out


#: Default of the ``[ruleset]`` key ``tolerance_m``: a place is within D when its distance is at most
#: D + tolerance_m, for network and straight-line distances alike (PLAN_RULES.md rev 3: OSM stores
#: coordinates to about 1 cm, so a home at exactly 500 m computes to 499.9994 m or 500.0050 m).
DEFAULT_TOLERANCE_M = 0.05

#: Largest walking distance (metres) a rule may use, directly (``threshold_m``), through the walking
#: table or through ``speed_kmh`` x ``minutes``. Service radii of plans are hundreds of metres to a few
#: kilometres; anything beyond 100 km is almost surely a unit mistake (kilometres or centimetres
#: written as metres) and would silently report everything as served, so it is refused.
MAX_THRESHOLD_M = 100_000.0


@dataclass(frozen=True)
class Category:
    """One category of an ``all_of`` or ``min_area`` rule."""

    name: str
    facilities: tuple[dict, ...]
    name_zh: str = ""
    threshold: float | None = None
    minutes: float | None = None
    min_area_m2: float | None = None
    floor_area: bool = False


@dataclass(frozen=True)
class Rule:
    """One measurable rule of a plan.

    Attributes
    ----------
    id : str
        The rule id of PLAN_RULES.md (``bus_stop_500`` ...).
    kind : str
        How it is evaluated, one of :data:`KINDS` (``radius``: nearest facility within ``threshold``
        metres; ``all_of``: every category within its distance; ``density``, ``ratio`` ...).
    threshold : float or None
        Distance in metres (resolved from ``minutes`` through the rule set's walking table).
    target : float
        Share of demand that must be served (0-1).
    facilities : list of dict
        Tag selector of the facilities (see :mod:`urbancover.plan.selectors`).
    demand : tuple of str
        Demand layers measured (``residents``, ``residential_buildings``, ``compounds``, ``streets``).
    categories : tuple of Category
        The categories of ``all_of`` and ``min_area`` rules.
    params : dict
        The other kind-specific keys of the rule file, checked (``min_per_km2`` ...).
    tolerance : float
        Metres a distance may exceed the threshold and still be within it (the rule set's
        ``[ruleset] tolerance_m``, default :data:`DEFAULT_TOLERANCE_M`).
    """

    id: str
    kind: str
    clause: str = ""
    name_zh: str = ""
    name_en: str = ""
    text_zh: str = ""
    note: str = ""
    target: float = 1.0
    demand: tuple[str, ...] = ("residents", "residential_buildings")
    facilities: tuple[dict, ...] = ()
    threshold: float | None = None
    minutes: float | None = None
    categories: tuple[Category, ...] = ()
    params: dict = field(default_factory=dict)
    tolerance: float = DEFAULT_TOLERANCE_M


@dataclass(frozen=True)
class RuleSet:
    """A named collection of rules with the walking distances of its time circles."""

    id: str
    name_zh: str
    name_en: str
    source: str
    walking: dict
    rules: tuple[Rule, ...]
    path: Path | None = None

    def __getitem__(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise UnknownRuleError(f"rule set {self.id!r} has no rule {rule_id!r}; it has {[r.id for r in self.rules]}.")

    def __iter__(self):
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    @property
    def facility_keys(self) -> set[str]:
        """Keys under which a user may give a facility layer: ids of rules with facilities, and
        ``rule.category``.
        """
        return {r.id for r in self.rules if r.facilities} | {f"{r.id}.{c.name}" for r in self.rules for c in r.categories}

    @property
    def max_threshold(self) -> float:
        """The largest distance threshold of any rule (metres), e.g. for the margin to read."""
        values = [r.threshold for r in self.rules] + [c.threshold for r in self.rules for c in r.categories]
        return max((v for v in values if v is not None), default=0.0)


def presets() -> list[str]:
    """Names of the rule sets shipped with urbancover."""
    return sorted(p.name[: -len(".toml")] for p in resources.files("urbancover.plan.presets").iterdir() if p.name.endswith(".toml"))


def load_rules(rules: str | os.PathLike | RuleSet = "zhengzhou-2018") -> RuleSet:
    """Load a rule set by preset name (``"zhengzhou-2018"``) or from a TOML file path.

    Raises
    ------
    InputError
        The file is missing or not TOML, or a rule has an unknown key, a bad tag selector, a
        missing or invalid threshold; the message names the file, the rule id and the field.
    """
    if isinstance(rules, RuleSet):  # built in Python, not read: its ids still name files
        where = f"rule set {rules.id!r}"
        for r in rules:
            check_rule_id(r.id, f"{where}, rule {r.id!r}")
            for c in r.categories:
                check_category_name(c.name, f"{where}, rule {r.id!r}")
        problems = duplicate_ids([r.id for r in rules], where)
        if problems:
            raise InputError(problems[0])
        return rules
    name = str(rules)
    if name in presets():
        res = resources.files("urbancover.plan.presets") / f"{name}.toml"
        text, path = res.read_text(encoding="utf-8"), Path(str(res))
    else:
        path = Path(rules)
        if not path.exists():
            raise InputError(f"{name}: no such rule file, and not a preset (presets: {', '.join(presets())}).")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise InputError(f"{path}: rule files must be UTF-8 text ({err}).") from err
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{path}: not valid TOML: {err}.") from err
    return parse_rules(data, where=str(path), path=path)


#: What :func:`rules_sha256` hashed: the rule file's bytes (a preset's shipped ``.toml`` or the
#: user's file), or the canonical JSON of a rule set built in Python (or changed after reading).
RULES_HASH_OF = ("file bytes", "canonical JSON")


def rules_sha256(rules: RuleSet) -> tuple[str, str]:
    """SHA-256 of a rule set and what was hashed (one of :data:`RULES_HASH_OF`).

    A rule set read from a file (a preset or the user's ``.toml``) is hashed as the file's bytes,
    so ``sha256sum rules.toml`` gives the same value; one built in Python, or one whose file no
    longer reads as the same rules (changed since, or a read rule set edited with
    ``dataclasses.replace``), as the canonical JSON of its fields (sorted keys, no path). Batch's
    done-markers and every deliverable's run record use this one function.
    """
    path = rules.path
    if path is not None:
        try:
            same = load_rules(path) == rules
        except (OSError, InputError):
            same = False
        if same:
            return file_sha256(path), RULES_HASH_OF[0]
    data = dataclasses.asdict(rules)
    data.pop("path", None)
    return text_hash(json.dumps(data, sort_keys=True, ensure_ascii=False, default=repr)), RULES_HASH_OF[1]


def parse_rules(data: dict, *, where: str = "rules", path: Path | None = None) -> RuleSet:
    """Validate a rule set given as a dict (the parsed TOML) and resolve its thresholds."""
    unknown = set(data) - RULESET_KEYS
    if unknown:
        raise InputError(f"{where}: unknown top-level key(s) {sorted(unknown)}{did_you_mean(unknown, RULESET_KEYS)}; "
                         f"allowed: {sorted(RULESET_KEYS)}.")
    meta = data.get("ruleset", {})
    if not isinstance(meta, dict) or "id" not in meta:
        raise InputError(f"{where}: needs a [ruleset] table with at least an id.")
    walking = _walking(data.get("walking", {}), where)
    tolerance = meta.get("tolerance_m", DEFAULT_TOLERANCE_M)
    if not isinstance(tolerance, (int, float)) or isinstance(tolerance, bool) or not 0 <= tolerance <= 10:
        raise InputError(
            f"{where}: [ruleset] tolerance_m must be a number of metres from 0 to 10 (a place within D is at most "
            f"D + tolerance_m away; default {DEFAULT_TOLERANCE_M:g}), got {tolerance!r}."
        )
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list) or not raw_rules:
        raise InputError(f"{where}: defines no rules; add [[rule]] tables.")
    rules = [_parse_rule(raw, walking, f"{where}, rule #{i + 1}", float(tolerance)) for i, raw in enumerate(raw_rules)]
    problems = duplicate_ids([r.id for r in rules], where)
    if problems:
        raise InputError(problems[0])
    return RuleSet(
        id=str(meta["id"]),
        name_zh=str(meta.get("name_zh", "")),
        name_en=str(meta.get("name_en", "")),
        source=str(meta.get("source", "")),
        walking=walking,
        rules=tuple(rules),
        path=path,
    )


def _walking(raw, where) -> dict:
    """The walking table: minutes -> metres, and an optional speed (km/h) for other minutes."""
    if not isinstance(raw, dict):
        raise InputError(f"{where}: [walking] must be a table.")
    out: dict = {"minutes": {}, "speed_kmh": None}
    for key, val in raw.items():
        if key == "speed_kmh":
            if not _positive(val):
                raise InputError(f"{where}: [walking] speed_kmh must be a positive number, got {val!r}.")
            out["speed_kmh"] = float(val)
        elif key == "minutes":
            if not isinstance(val, dict):
                raise InputError(f"{where}: [walking.minutes] must map minutes to metres, e.g. 10 = 500.")
            for m, d in val.items():
                try:
                    minutes = float(m)
                except ValueError as err:
                    raise InputError(f"{where}: [walking.minutes] key {m!r} is not a number of minutes.") from err
                if not _positive(d):
                    raise InputError(f"{where}: [walking.minutes] {m} = {d!r}: metres must be a positive number.")
                _not_enormous(d, f"{where}: [walking.minutes] {m} = {d!r} metres")
                out["minutes"][minutes] = float(d)
        else:
            raise InputError(f"{where}: unknown key {key!r} in [walking]{did_you_mean([key], ['minutes', 'speed_kmh'])}; "
                             "allowed: minutes, speed_kmh.")
    rows = sorted(out["minutes"].items())
    if any(b[1] <= a[1] for a, b in zip(rows, rows[1:])):
        # minutes between rows are interpolated (urbancover.plan.walking): a longer walk is farther
        raise InputError(f"{where}: [walking.minutes] metres must grow with the minutes, got "
                         f"{{ {', '.join(f'{m:g} = {d:g}' for m, d in rows)} }}.")
    return out


def _positive(val) -> bool:
    return isinstance(val, (int, float)) and not isinstance(val, bool) and val > 0 and val == val and val != float("inf")


def _parse_rule(raw, walking, where, tolerance: float = DEFAULT_TOLERANCE_M) -> Rule:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: each [[rule]] must be a table.")
    rid = raw.get("id")
    if "id" in raw and (not isinstance(rid, str) or not rid):
        raise InputError(f"{where}: field 'id' must be a non-empty string, got {rid!r}.")
    if not isinstance(rid, str) or not rid:
        raise InputError(f"{where}: missing rule id (field 'id').")
    where = f"{where.rsplit(', rule #', 1)[0]}, rule {rid!r}"
    check_rule_id(rid, where)
    kind = raw.get("kind")
    if kind not in KINDS:
        raise InputError(f"{where}: field 'kind' is {kind!r}; known kinds: {sorted(KINDS)}.")
    spec = KINDS[kind]
    schema = spec.keys
    allowed = COMMON_KEYS | set(schema) | ({"threshold_m", "minutes"} if spec.threshold == "rule" else set())
    unknown = set(raw) - allowed
    if unknown:
        raise InputError(f"{where}: unknown field(s) {sorted(unknown)} for a {kind} rule{did_you_mean(unknown, allowed)}; "
                         f"allowed: {sorted(allowed)}.")
    missing = {k for k, (_, req) in schema.items() if req} - set(raw)
    if missing:
        raise InputError(f"{where}: missing field(s) {sorted(missing)} for a {kind} rule.")
    target = raw.get("target", 1.0)
    if not isinstance(target, (int, float)) or isinstance(target, bool) or not 0 <= target <= 1:
        raise InputError(f"{where}: field 'target' must be a share between 0 and 1, got {target!r}.")
    values: dict = {}
    for key, (typ, _) in schema.items():
        if key in raw:
            values[key] = _check(typ, raw[key], walking, f"{where}: field {key!r}")
    threshold = minutes = None
    if spec.threshold == "rule":
        threshold, minutes = _threshold(raw, walking, where)
    for cat in values.get("categories", ()):
        if spec.threshold == "category" and cat.threshold is None:
            raise InputError(f"{where}, category {cat.name!r}: missing 'threshold_m' or 'minutes'.")
        for key in spec.category_requires:
            if getattr(cat, key) is None:
                raise InputError(f"{where}, category {cat.name!r}: missing {key!r}.")
    strings = {k: str(raw.get(k, "")) for k in ("clause", "name_zh", "name_en", "text_zh", "note")}
    return Rule(
        id=rid, kind=kind, target=float(target),
        demand=values.pop("demand", Rule.demand),
        facilities=values.pop("facilities", ()),
        categories=values.pop("categories", ()),
        threshold=threshold, minutes=minutes, params=values, tolerance=tolerance, **strings,
    )


def _check(typ: str, val, walking, where):
    """Check one kind-specific value; return it in its parsed form."""
    if typ == SELECTOR:
        return tuple(validate_selector(val, where))
    if typ in (POSITIVE, NONNEG):
        ok = isinstance(val, (int, float)) and not isinstance(val, bool) and val == val and val != float("inf")
        if not ok or (val <= 0 if typ == POSITIVE else val < 0):
            raise InputError(f"{where} must be a {'positive' if typ == POSITIVE else 'non-negative'} number, got {val!r}.")
        return float(val)
    if typ == BOOL:
        if not isinstance(val, bool):
            raise InputError(f"{where} must be true or false, got {val!r}.")
        return val
    if typ == STRING:
        if not isinstance(val, str) or not val:
            raise InputError(f"{where} must be a non-empty string, got {val!r}.")
        return val
    if typ == DEMAND:
        demand = [val] if isinstance(val, str) else val
        bad = [d for d in demand if d not in DEMAND_LAYERS] if isinstance(demand, list) else [demand]
        if bad or not demand:
            raise InputError(f"{where} has unknown layer(s) {bad}; known: {sorted(DEMAND_LAYERS)}.")
        return tuple(demand)
    if typ == CATEGORIES:
        if not isinstance(val, list) or not val:
            raise InputError(f"{where} must be a non-empty list of tables with name and facilities.")
        cats, names = [], set()
        for i, c in enumerate(val):
            cw = f"{where}, category #{i + 1}"
            if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not c["name"]:
                raise InputError(f"{cw}: needs a 'name' and 'facilities'.")
            check_category_name(c["name"], where.split(": field ")[0])
            cw = f"{where}, category {c['name']!r}"
            unknown = set(c) - CATEGORY_KEYS
            if unknown:
                raise InputError(f"{cw}: unknown field(s) {sorted(unknown)}{did_you_mean(unknown, CATEGORY_KEYS)}; "
                                 f"allowed: {sorted(CATEGORY_KEYS)}.")
            if "facilities" not in c:
                raise InputError(f"{cw}: missing field 'facilities'.")
            if c["name"].casefold() in names:  # names columns (status_<name>): case must not be all that differs
                raise InputError(f"{cw}: category name used twice (names differing only in case count as one).")
            names.add(c["name"].casefold())
            threshold = minutes = None
            if "threshold_m" in c or "minutes" in c:
                threshold, minutes = _threshold(c, walking, cw)
            area = _check(POSITIVE, c["min_area_m2"], walking, f"{cw}: field 'min_area_m2'") if "min_area_m2" in c else None
            floor = _check(BOOL, c["floor_area"], walking, f"{cw}: field 'floor_area'") if "floor_area" in c else False
            cats.append(Category(
                name=c["name"], name_zh=str(c.get("name_zh", "")),
                facilities=tuple(validate_selector(c["facilities"], f"{cw}: field 'facilities'")),
                threshold=threshold, minutes=minutes, min_area_m2=area, floor_area=floor,
            ))
        return tuple(cats)
    raise AssertionError(typ)  # pragma: no cover


def _not_enormous(metres: float, what: str) -> None:
    """Refuse a walking distance beyond :data:`MAX_THRESHOLD_M`; ``what`` starts the message."""
    if metres > MAX_THRESHOLD_M:
        raise InputError(
            f"{what}, more than {MAX_THRESHOLD_M / 1000:g} km: almost surely a unit mistake "
            "(walking distances are in metres, e.g. 500)."
        )


def _threshold(raw, walking, where) -> tuple[float, float | None]:
    has_m, has_min = "threshold_m" in raw, "minutes" in raw
    if has_m == has_min:
        raise InputError(f"{where}: give exactly one of 'threshold_m' (metres) or 'minutes' (walking time).")
    if has_m:
        val = raw["threshold_m"]
        if not _positive(val):
            raise InputError(f"{where}: field 'threshold_m' must be a positive number of metres, got {val!r}.")
        _not_enormous(val, f"{where}: field 'threshold_m' is {val!r} metres")
        return float(val), None
    minutes = raw["minutes"]
    if not _positive(minutes):
        raise InputError(f"{where}: field 'minutes' must be a positive number, got {minutes!r}.")
    table = walking["minutes"]
    if float(minutes) in table:
        return table[float(minutes)], float(minutes)
    if walking["speed_kmh"]:
        metres = walking["speed_kmh"] * 1000.0 / 60.0 * float(minutes)
        _not_enormous(
            metres, f"{where}: field 'minutes' = {minutes!r} at [walking] speed_kmh = {walking['speed_kmh']:g} is {metres:,.0f} m"
        )
        return metres, float(minutes)
    raise InputError(
        f"{where}: {minutes} minutes has no walking distance; add it to [walking.minutes] or set [walking] speed_kmh."
    )


#: OSM keys a selector is likely to use besides the ones urbancover reads as columns: a key close
#: to one of these (``higway``) but not equal is reported as a likely typo by :func:`check_rules_file`.
COMMON_OSM_KEYS = (
    "barrier", "operator", "brand", "ref", "religion", "parking", "surface", "lit", "wheelchair", "toilets",
    "vending", "fee", "community_centre", "social_facility", "healthcare:speciality", "isced:level", "school",
    "shelter", "shelter_type", "footway", "crossing", "park_ride", "route", "network", "layer", "level",
    "height", "min_height", "addr:street", "addr:housenumber", "website", "phone", "capacity", "covered",
    "indoor", "man_made", "military", "power", "water", "wetland", "garden:type", "playground", "fitness_station",
)


def _selector_keys(raw_rule: dict):
    """(field, key) of every tag key in a raw rule's selectors."""
    spec = KINDS.get(raw_rule.get("kind"))
    schema = spec.keys if spec is not None else {}
    fields = [(k, raw_rule[k]) for k, (typ, _) in schema.items() if typ == SELECTOR and k in raw_rule]
    for c in raw_rule.get("categories", []) if isinstance(raw_rule.get("categories"), list) else []:
        if isinstance(c, dict) and "facilities" in c:
            fields.append((f"category {c.get('name')!r} facilities", c["facilities"]))
    for field_name, sel in fields:
        for alt in [sel] if isinstance(sel, dict) else sel if isinstance(sel, list) else []:
            if isinstance(alt, dict):
                for key in alt:
                    yield field_name, key


def check_rules_file(path: str | os.PathLike) -> tuple[list[str], list[str], int]:
    """Every error and warning of a rule file at once: ``(errors, warnings, n_rules)``.

    What ``urbancover rules check`` prints. Each ``[[rule]]`` is validated on its own by
    :func:`parse_rules` (its first error is reported, then the next rule's), so an error here is
    exactly the message :func:`load_rules` raises for that rule; rule ids used twice are errors, and
    selector keys that look like typos of known OSM keys (``higway``) are warnings.
    """
    from urbancover.core import settings

    if str(path) in presets():
        return [], [], len(load_rules(path))
    p = Path(path)
    if not p.is_file():
        load_rules(path)  # the usual message: no such file, and not a preset
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        return [f"{p}: rule files must be UTF-8 text ({err})."], [], 0
    except tomllib.TOMLDecodeError as err:
        return [f"{p}: not valid TOML: {err}."], [], 0
    errors: list[str] = []
    raw_rules = data.get("rule", [])
    try:
        parse_rules({**data, "rule": raw_rules[:1]} if isinstance(raw_rules, list) and raw_rules else data, where=str(p))
    except InputError as err:  # the file's frame (top-level keys, [ruleset], [walking], no rules)
        if not (isinstance(raw_rules, list) and raw_rules) or ", rule" not in str(err):
            errors.append(str(err))
    good_frame = not errors
    warn: list[str] = []
    s = settings.current()
    known = {*s.feature_keys, *s.way_columns, *s.feature_columns, *s.feature_node_values, *COMMON_OSM_KEYS}
    raw_rules = raw_rules if isinstance(raw_rules, list) else []
    for i, raw in enumerate(raw_rules):
        rid = raw.get("id") if isinstance(raw, dict) else None
        where = f"{p}, rule {rid!r}" if isinstance(rid, str) and rid else f"{p}, rule #{i + 1}"
        if good_frame:
            try:
                parse_rules({**data, "rule": [raw]}, where=str(p))
            except InputError as err:
                errors.append(str(err).replace(f"{p}, rule #1", f"{p}, rule #{i + 1}"))
        if isinstance(raw, dict):
            for field_name, key in _selector_keys(raw):
                if key in known or not isinstance(key, str):
                    continue
                close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.8)
                if close:
                    warn.append(f"{where}: field {field_name!r}: OSM key {key!r} is not a key urbancover knows; "
                                f"did you mean {close[0]!r}?")
    errors += duplicate_ids([raw.get("id") if isinstance(raw, dict) else None for raw in raw_rules], str(p))
    return errors, warn, len(raw_rules)
