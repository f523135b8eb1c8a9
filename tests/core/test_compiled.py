"""Compiled kernels: where numba's cache goes, what a run compiles, the notice of a first compile,
and the batch workers' loading of every kernel (issue 24, item 5)."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import pytest

from urbancover.core.compiled import HAVE_NUMBA, cache_dir_fallback

needs_numba = pytest.mark.skipif(not HAVE_NUMBA or os.environ.get("NUMBA_DISABLE_JIT") == "1",
                                 reason="numba compiles nothing here")


def test_the_numba_cache_falls_back_to_a_temporary_folder_only_when_nothing_else_is_writable(tmp_path):
    pkg = str(tmp_path / "site-packages" / "urbancover")
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    # the package's own __pycache__ folders writable: numba's in-tree cache, nothing to set
    assert cache_dir_fallback(pkg, env, writable=lambda p: p.startswith(pkg)) is None
    # a read-only install with a writable home: numba's user-wide cache, nothing to set
    assert cache_dir_fallback(pkg, env, writable=lambda p: p.startswith(env["XDG_CACHE_HOME"])) is None
    # neither (a read-only container): a folder of the temporary directory
    got = cache_dir_fallback(pkg, env, writable=lambda p: False)
    assert got is not None and Path(got).parent == Path(__import__("tempfile").gettempdir())
    # the user's own NUMBA_CACHE_DIR always wins
    assert cache_dir_fallback(pkg, {**env, "NUMBA_CACHE_DIR": "/x"}, writable=lambda p: False) is None


def _specialisations() -> dict[str, set]:
    from numba.core.registry import CPUDispatcher

    out = {}
    for name, mod in list(sys.modules.items()):
        if name.startswith("urbancover."):
            for key, obj in list(vars(mod).items()):
                if isinstance(obj, CPUDispatcher) and obj.__module__ == name:
                    out[f"{name}.{key}"] = set(obj.signatures)
    return out


@needs_numba
def test_load_kernels_loads_every_specialisation_a_run_uses(tmp_path):
    """A batch worker loads every kernel before its first task (under a lock: workers started
    together on a fresh install compile them once); the tasks then compile nothing new."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tinycity import write_city, write_rules

    import urbancover as uc
    from urbancover.network.kernels import load_kernels

    load_kernels()
    before = _specialisations()
    assert before["urbancover.network.nearest._query"] and before["urbancover.network.walk._csr_min"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        uc.evaluate(write_city(tmp_path / "city.osm"), write_rules(tmp_path / "rules.toml"))
    after = _specialisations()
    assert {k: after[k] - before.get(k, set()) for k in after if after[k] - before.get(k, set())} == {}
    assert load_kernels() == 0.0  # once per process
