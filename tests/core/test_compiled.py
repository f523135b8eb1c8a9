"""Compiled kernels: where numba's cache goes, what a run compiles, the notice of a first compile,
and the batch workers' loading of every kernel (issue 24, item 5)."""

from __future__ import annotations

import json
import os
import subprocess
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


_TINY_RUN = r"""
import gc, json, sys, warnings
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from tinycity import write_city, write_rules
import urbancover as uc
from numba.core import event
from numba.core.registry import CPUDispatcher
out = Path(sys.argv[1])
numba_own, gc_on = [], []
class Seen(event.Listener):  # registered after urbancover's own listener: told after it
    def on_start(self, ev):
        f = ev.data["dispatcher"].py_func
        gc_on.append(gc.isenabled())
        if not f.__module__.startswith("urbancover."):
            numba_own.append(f.__qualname__.split(".")[0] + str(ev.data["args"]))
    def on_end(self, ev):
        pass
event.register("numba:compile", Seen())
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    uc.evaluate(write_city(out / "city.osm"), write_rules(out / "rules.toml"))
got = {}
for name, mod in list(sys.modules.items()):
    if name.startswith("urbancover."):
        for key, obj in list(vars(mod).items()):
            if isinstance(obj, CPUDispatcher) and obj.__module__ == name and obj.signatures:
                got[name.rsplit(".", 1)[1] + "." + key] = [len(obj.signatures), sum(obj.stats.cache_misses.values())]
print(json.dumps({"kernels": got, "numba_own": numba_own, "gc_on": gc_on, "gc_after": gc.isenabled()}))
"""

#: what evaluating the tiny city compiles (kernels it calls and the helpers they call), one specialisation each
TINY_RUN_KERNELS = {
    "nearest._segments", "nearest._grid", "nearest._order_by_cell", "nearest._cell_key", "nearest._cell_box",
    "nearest._crosses", "nearest._floordiv", "nearest._zeros", "nearest._query", "nearest._seg_distance", "nearest._seg_measure",
    "walk._csr_min", "walk._heap_sort_row", "snap._on_edges",
}


@needs_numba
def test_a_fresh_install_compiles_only_what_a_tiny_run_uses_once_and_says_so(tmp_path):
    """A fresh interpreter with an empty numba cache: the tiny city's evaluation compiles one
    specialisation of each kernel it uses and of nothing else (not the barrier, straight-line or
    projection kernels), with one line on stderr; a second interpreter compiles nothing, silently."""
    from faults import SRC

    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba-cache")
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    tests = str(Path(__file__).resolve().parents[1])
    runs = []
    for k in range(2):
        (tmp_path / str(k)).mkdir()
        res = subprocess.run([sys.executable, "-c", _TINY_RUN, str(tmp_path / str(k)), tests], env=env,
                             capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stderr
        runs.append((json.loads(res.stdout.strip().splitlines()[-1]), res.stderr))
    (info, err1), (info2, err2) = runs
    first, second = info["kernels"], info2["kernels"]
    assert set(first) == TINY_RUN_KERNELS
    assert all(sigs == 1 and misses == 1 for sigs, misses in first.values()), first  # compiled, once
    assert err1.count("compiling numba kernels") == 1
    assert all(misses == 0 for _, misses in second.values()), second  # read from the cache
    assert "compiling" not in err2
    # numba's own functions compiled for them: np.empty (float, int64 and int32 arrays) and
    # two-argument min/max only (no np.full, np.zeros, np.arange, int(), 3- or 4-argument
    # min/max: each is one more compile on a fresh install)
    assert info["numba_own"] and all(
        f.startswith(("ol_np_empty(", "_ol_array_allocate(", "ol_min(UniTuple(float64, 2)", "ol_max(UniTuple(float64, 2)",
                      "ol_min(UniTuple(int64, 2)", "ol_max(UniTuple(int64, 2)", "ol_min(Tuple((float64, int64))"))
        for f in info["numba_own"]), info["numba_own"]
    # the garbage collector paused while kernels compile, and running again afterwards
    assert info["gc_on"] and not any(info["gc_on"]) and info["gc_after"]
