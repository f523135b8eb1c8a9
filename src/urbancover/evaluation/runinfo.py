"""What made a result: :class:`RunInfo`, built once by :func:`urbancover.evaluate` and kept on the
:class:`~urbancover.evaluation.analysis.Report` (``report.run``).

Every deliverable reads this one record: the GeoPackage's ``run`` table and its ``gpkg_metadata``,
the ``run.json`` sidecar of the folder formats (GeoParquet, GeoJSON, Shapefile) and the footer of
the HTML/PDF report. With it a result can be traced to exactly the rules, extract, area and
settings that made it.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from urbancover.core.files import file_sha256
from urbancover.core.version import __version__
from urbancover.io.osm import header_timestamp
from urbancover.plan.rules import RuleSet, rules_sha256

__all__ = ["RunInfo", "run_info"]


@dataclass(frozen=True)
class RunInfo:
    """The record of one evaluation.

    Attributes
    ----------
    created_utc : str
        When the evaluation ran, UTC, ISO 8601 to the second (``2026-12-05T01:50:00+00:00``).
    urbancover_version : str
        The version of urbancover that ran it.
    rules_id, rules_file : str
        The rule set's id and the name of its file (``""`` for a rule set built in Python).
    rules_sha256, rules_sha256_of : str
        SHA-256 of the rule set and what was hashed: ``"file bytes"`` (a preset's shipped ``.toml``
        or the user's file: ``sha256sum`` gives the same) or ``"canonical JSON"`` (a rule set built
        in Python), see :func:`urbancover.plan.rules.rules_sha256`.
    extract, extract_bytes, extract_sha256 : str, int, str
        The OSM extract's file name, size and SHA-256 of its bytes (read in 1 MiB blocks).
    osm_timestamp, osm_timestamp_source : str or None, str
        The date of the extract's data from its header (``osmosis_replication_timestamp``, else
        ``timestamp``) and which key gave it, or None and ``"none in the header"``
        (:func:`urbancover.io.osm.header_timestamp`; objects' own timestamps are not read).
    area_source, area_km2 : str, float
        The analysed area's source (``user``, ``built-up``, ``streets``, ``bounds``) and size.
    settings_changed : dict
        The settings that differ from the defaults (:meth:`urbancover.core.settings.Settings.changes`).
    """

    created_utc: str
    urbancover_version: str
    rules_id: str
    rules_file: str
    rules_sha256: str
    rules_sha256_of: str
    extract: str
    extract_bytes: int | None
    extract_sha256: str | None
    osm_timestamp: str | None
    osm_timestamp_source: str
    area_source: str
    area_km2: float
    settings_changed: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The record as plain JSON-able values (the ``run.json`` sidecar)."""
        return asdict(self)

    def to_json(self) -> str:
        """The ``run.json`` sidecar's text (UTF-8, indented, keys in the record's order)."""
        return json.dumps(self.as_dict(), indent=1, ensure_ascii=False) + "\n"

    def rows(self) -> list[tuple[str, str]]:
        """``(key, value)`` as text, one per attribute: the GeoPackage's ``run`` table (``settings_changed``
        as JSON, a missing value as ``""``).
        """
        out = []
        for key, value in self.as_dict().items():
            if isinstance(value, dict):
                value = json.dumps(value, sort_keys=True, ensure_ascii=False)
            elif isinstance(value, float):
                value = f"{value:.6g}" if math.isfinite(value) else ""
            out.append((key, "" if value is None else str(value)))
        return out


def run_info(ruleset: RuleSet, extract: str | Path | None, *, area_source: str, area_km2: float,
             settings_changed: dict) -> RunInfo:
    """The record of an evaluation of ``ruleset`` on the extract at ``extract`` (hashed now, streamed)."""
    rules_hash, rules_of = rules_sha256(ruleset)
    size = digest = stamp = None
    source = "none in the header"
    if extract is not None and Path(extract).is_file():
        path = Path(extract)
        size, digest = path.stat().st_size, file_sha256(path)
        stamp, source = header_timestamp(path)
    return RunInfo(
        created_utc=datetime.now(UTC).isoformat(timespec="seconds"),
        urbancover_version=__version__,
        rules_id=ruleset.id,
        rules_file=ruleset.path.name if ruleset.path is not None and rules_of == "file bytes" else "",
        rules_sha256=rules_hash,
        rules_sha256_of=rules_of,
        extract="" if extract is None else Path(extract).name,
        extract_bytes=size,
        extract_sha256=digest,
        osm_timestamp=stamp,
        osm_timestamp_source=source,
        area_source=str(area_source),
        area_km2=float(area_km2),
        settings_changed=dict(settings_changed),
    )
