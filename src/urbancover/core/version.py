"""The installed version of urbancover, from the package's metadata (pyproject.toml is its one source)."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("urbancover")
except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
