"""The switch for compiled kernels: numba when installed (a dependency of urbancover), else plain
Python (the same answers, about 100x slower). :data:`HAVE_NUMBA` tells which; kernels are written
once and decorated with :func:`compiled`.

Compiling happens once per machine, not per run: a kernel compiles when a run first calls it
(only the kernels a run uses, one specialisation each) and numba keeps the machine code on disk.

* **Where**: beside the package's modules (``__pycache__``) when that folder is writable, else in
  the user's cache (``~/.cache/numba``), else (a read-only install and no writable home: a
  container) in ``<tmp>/urbancover-numba-<user>``, which :func:`cache_dir_fallback` chooses and
  ``NUMBA_CACHE_DIR`` is set to before numba is imported. A ``NUMBA_CACHE_DIR`` set by the user
  always wins. Spawned batch workers and Dask workers on one machine read the same cache.
* **Saying so**: the first compile of a process calls the notice (:func:`set_compile_notice`;
  by default :func:`urbancover.core.progress.compiling`, one plain line on stderr), so a fresh
  install does not sit silent for the seconds it takes. Callers with their own output (the CLI's
  ``--quiet``, a bilingual front end) replace or silence it.
* **Keeping it short** (~5 s of a fresh install's first evaluation of the Shenzhen sample, ~0.4 s
  of it numba's own start): numba's cost is its Python front end (type inference, lowering) and
  LLVM, per compiled function and per operation, not the optimisation level. So each compiled
  function costs ~0.05-0.1 s however small (helpers are only split out where several kernels share
  them), every numpy function or ``min``/``max`` arity a kernel calls is one more compile (kernels
  use ``np.empty`` and loops, two-argument ``min``/``max``), and loop counters start as
  ``np.int64(0)``, not a literal ``0`` that sends type inference round the loops 3-4 more times.
  The kernels compile without C-callable (cfunc) wrappers, and with Python's garbage collector
  paused (below).
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
from collections.abc import Callable


def cache_dir_fallback(package_dir: str, environ=None, writable: Callable[[str], bool] | None = None) -> str | None:
    """The numba cache folder to use when numba would find none, else None (numba's own choice).

    None when ``NUMBA_CACHE_DIR`` is set, or when the package's ``__pycache__`` folders or the
    user's cache folder can be written; else ``<tmp>/urbancover-numba-<user>``.
    ``writable`` (default: the nearest existing folder of the path is writable) is for tests.
    """
    environ = os.environ if environ is None else environ
    if environ.get("NUMBA_CACHE_DIR"):
        return None
    writable = writable or _writable
    user_cache = os.path.join(environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "numba")
    if writable(os.path.join(package_dir, "network", "__pycache__")) or writable(user_cache):
        return None
    user = getattr(os, "getuid", lambda: "user")()
    return os.path.join(tempfile.gettempdir(), f"urbancover-numba-{user}")


def _writable(path: str) -> bool:
    path = os.path.abspath(path)
    while not os.path.isdir(path):
        parent = os.path.dirname(path)
        if parent == path or (os.path.exists(path) and not os.path.isdir(path)):
            return False
        path = parent
    return os.access(path, os.W_OK | os.X_OK)


_fallback = cache_dir_fallback(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _fallback is not None:  # pragma: no cover - depends on the machine
    os.environ["NUMBA_CACHE_DIR"] = _fallback
    if "numba" in sys.modules:  # imported before urbancover: its config was read already
        sys.modules["numba"].config.CACHE_DIR = _fallback


def _default_notice() -> None:
    from urbancover.core.progress import compiling

    compiling()


_notice: list = [_default_notice]  # the callable the first compile of a process calls (None: silent)
_announced: list = [False]


def set_compile_notice(notice: Callable[[], None] | None) -> Callable[[], None] | None:
    """Replace what the first kernel compile of the process calls (None: nothing); returns the
    former notice. The default prints one line on stderr (:func:`urbancover.core.progress.compiling`).
    """
    former = _notice[0]
    _notice[0] = notice
    return former


try:  # pragma: no cover - which branch runs depends on the environment
    import numba
    from numba.core import event as _event

    HAVE_NUMBA = True

    def compiled(fn):
        """Compile ``fn`` with numba (``njit``, cached on disk, releasing the GIL) when a run first
        calls it; without numba, return it unchanged (plain Python: the same answers, slowly).
        """
        return numba.njit(cache=True, nogil=True, no_cfunc_wrapper=True)(fn)

    class _FirstCompile(_event.Listener):
        """Calls the notice when numba starts compiling an urbancover kernel (a cache miss) for the
        first time in this process; loading from the on-disk cache fires no event. While a kernel
        compiles (with the helpers and numpy functions it calls, which nest inside), Python's cyclic
        garbage collector is paused: numba allocates so many objects that the collector's full passes
        over the process's heap cost ~10 % of a fresh install's compile time; the garbage of the
        compile is collected once it ends.
        """

        def on_start(self, ev) -> None:
            _depth[0] += 1
            disp = ev.data.get("dispatcher") if isinstance(ev.data, dict) else None
            module = getattr(getattr(disp, "py_func", None), "__module__", "") or ""
            if not module.startswith("urbancover."):
                return
            if _depth[0] == 1 and gc.isenabled():
                gc.disable()
                _gc_paused[0] = True
            if not _announced[0]:
                _announced[0] = True
                if _notice[0] is not None:
                    _notice[0]()

        def on_end(self, ev) -> None:
            _depth[0] -= 1
            if _depth[0] == 0 and _gc_paused[0]:
                _gc_paused[0] = False
                gc.enable()

    _depth: list = [0]  # compiles under way (nested: a kernel's helpers compile inside it)
    _gc_paused: list = [False]  # whether the outermost compile paused the garbage collector
    _event.register("numba:compile", _FirstCompile())

except ImportError:  # pragma: no cover
    HAVE_NUMBA = False

    def compiled(fn):
        """Without numba: ``fn`` unchanged (plain Python)."""
        return fn


__all__ = ["HAVE_NUMBA", "cache_dir_fallback", "compiled", "set_compile_notice"]
