"""The switch for compiled kernels: numba when installed (a dependency of urbancover), else plain
Python (the same answers, about 100x slower). :data:`HAVE_NUMBA` tells which; kernels are written
once and decorated with :func:`compiled`.
"""

from __future__ import annotations

try:  # pragma: no cover - which branch runs depends on the environment
    import numba

    HAVE_NUMBA = True

    def compiled(fn):
        """Compile ``fn`` with numba (``njit``, cached on disk, releasing the GIL); without numba,
        return it unchanged (plain Python: the same answers, slowly).
        """
        return numba.njit(cache=True, nogil=True)(fn)

except ImportError:  # pragma: no cover
    HAVE_NUMBA = False

    def compiled(fn):
        """Without numba: ``fn`` unchanged (plain Python)."""
        return fn


__all__ = ["HAVE_NUMBA", "compiled"]
