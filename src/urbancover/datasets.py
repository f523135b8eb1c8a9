"""The sample extracts shipped inside the package, found wherever urbancover is installed.

A notebook or script run from any folder reaches them through the package, not through a path
relative to the repository:

>>> from urbancover.datasets import sample_path, samples
>>> sample_path().name
'shenzhen_longgang.osm.bz2'
>>> samples()
['shanghai_jingan_drive', 'shenzhen_longgang']

Both are OpenStreetMap data, ODbL 1.0, (c) OpenStreetMap contributors; anything computed from them
is ODbL too and must carry that attribution. Their origin is in ``urbancover/data/README.md``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from urbancover.core.errors import InputError

__all__ = ["sample_path", "samples"]

_SUFFIX = ".osm.bz2"


def _folder():
    return resources.files("urbancover") / "data"


def samples() -> list[str]:
    """Names of the bundled samples, for :func:`sample_path`, sorted."""
    return sorted(p.name[: -len(_SUFFIX)] for p in _folder().iterdir() if p.name.endswith(_SUFFIX))


def sample_path(name: str = "shenzhen_longgang") -> Path:
    """Path of a bundled OSM sample extract (``.osm.bz2``), to pass to :func:`urbancover.read_osm`.

    Parameters
    ----------
    name
        ``"shenzhen_longgang"`` (default: about 4.7 x 3.2 km of Longgang, Shenzhen, with bus stops,
        toilets, parks and homes) or ``"shanghai_jingan_drive"`` (a dense drive network, no POIs).

    Returns
    -------
    pathlib.Path
        An existing file inside the installed package.

    Raises
    ------
    urbancover.InputError
        For a name that is not a bundled sample (the message lists those there are).

    Examples
    --------
    >>> import urbancover as uc
    >>> from urbancover.datasets import sample_path
    >>> osm = uc.read_osm(sample_path())                      # doctest: +SKIP
    """
    known = samples()
    key = str(name)
    if key.endswith(_SUFFIX):
        key = key[: -len(_SUFFIX)]
    if key not in known:
        raise InputError(
            f"sample_path(name={name!r}): no such bundled sample. The samples are {known}; "
            "pass one of these names, or the path of your own extract to urbancover.read_osm."
        )
    p = _folder() / (key + _SUFFIX)
    path = Path(str(p))
    if not path.is_file():  # pragma: no cover - a zipped install: copy the file out once
        import tempfile

        path = Path(tempfile.gettempdir()) / "urbancover-samples" / (key + _SUFFIX)
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(p.read_bytes())
    return path
