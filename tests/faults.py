"""Fault injection for batch and CLI tests: run the command line in a child process that is killed
with SIGKILL (as by ``kill -9`` or the OOM killer: no clean-up code runs) at a chosen step.

Steps: ``("layer", n)`` kills right after the n-th GeoPackage layer is written (a partial file
exists), ``("rename", n)`` right before the n-th ``os.replace`` (everything written, nothing moved
into place yet).

``("enospc", n)`` does not kill: the n-th layer write (``pyogrio.write_dataframe`` for GeoPackage,
GeoJSON and Shapefile, ``pyarrow.parquet.write_table`` for GeoParquet) raises
``OSError(ENOSPC)`` after writing part of the layer, as a full disk does (a ``write()`` error
names no file); ``("enospc-html", n)`` does the same to the n-th ``.html`` file written.
``("sigterm", n)`` / ``("sigint", n)`` send the process SIGTERM / SIGINT right after the n-th
layer is written (an export interrupted by ``kill`` or Ctrl-C: clean-up code runs).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import urbancover

#: where the tests' own ``urbancover`` comes from (src/ with the editable install or PYTHONPATH=src,
#: else the installed copy): the child imports the same package, so the two share one numba cache
SRC = Path(urbancover.__file__).resolve().parents[1]

_CHILD = r"""
import os, signal, sys
step, n = os.environ.get("UC_KILL_STEP", ""), int(os.environ.get("UC_KILL_AT", "0"))
count = [0]

def arm(module, name, after, sig=signal.SIGKILL):
    real = getattr(module, name)

    def wrapper(*a, **k):
        count[0] += 1
        if count[0] == n and not after:
            os.kill(os.getpid(), sig)
        out = real(*a, **k)
        if count[0] == n and after:
            os.kill(os.getpid(), sig)
        return out

    setattr(module, name, wrapper)

if step == "layer":
    import pyogrio
    arm(pyogrio, "write_dataframe", after=True)
elif step == "rename":
    arm(os, "replace", after=False)
elif step in ("sigterm", "sigint"):
    import pyogrio
    arm(pyogrio, "write_dataframe", after=True, sig=signal.SIGTERM if step == "sigterm" else signal.SIGINT)
elif step in ("enospc", "enospc-html"):
    from faults import arm_full_disk
    arm_full_disk((step, n))
from urbancover.app.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_cli(args: list[str], *, kill: tuple[str, int] | None = None, timeout: float = 600,
            **popen) -> subprocess.CompletedProcess:
    """Run ``urbancover ARGS`` from this checkout in a child process, optionally killed at ``kill``."""
    env = _child_env()
    if kill:
        env.update(UC_KILL_STEP=kill[0], UC_KILL_AT=str(kill[1]))
    return subprocess.run([sys.executable, "-c", _CHILD, *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=timeout, **popen)


def start_cli(args: list[str], **popen) -> subprocess.Popen:
    """Start ``urbancover ARGS`` in a child process (for races)."""
    env = _child_env()
    return subprocess.Popen([sys.executable, "-c", _CHILD, *map(str, args)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def _child_env() -> dict:
    """The child's environment: this checkout's urbancover first, and this folder (for :func:`arm_full_disk`)."""
    path = [str(SRC), str(Path(__file__).resolve().parent), os.environ.get("PYTHONPATH", "")]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(path))


def arm_full_disk(step: tuple[str, int], set_attr=setattr) -> None:
    """Arm the ``("enospc", n)`` or ``("enospc-html", n)`` fault: the n-th write writes part of its
    data, then raises ``OSError(ENOSPC)``. ``set_attr`` installs each wrapper: ``setattr`` in the
    child, ``monkeypatch.setattr`` in a test's own process (:func:`full_disk`)."""
    import errno
    import pathlib

    kind, n = step
    count = [0]

    def arm(module, name, only=lambda *a: True):
        real = getattr(module, name)

        def wrapper(*a, **k):
            if only(*a):
                count[0] += 1
                if count[0] == n:
                    target = a[0] if isinstance(a[0], (str, os.PathLike)) else a[1]
                    with open(target, "ab") as f:  # part of the data reached the disk
                        f.write(b"\0" * 1000)
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real(*a, **k)

        set_attr(module, name, wrapper)

    if kind == "enospc":
        import pyarrow.parquet
        import pyogrio

        arm(pyogrio, "write_dataframe")
        arm(pyarrow.parquet, "write_table")
    elif kind == "enospc-html":
        arm(pathlib.Path, "write_text", only=lambda path, *a: str(path).endswith(".html"))
    else:
        raise ValueError(f"not a full-disk fault: {step}")


def full_disk(monkeypatch, step: tuple[str, int]) -> None:
    """Arm, in this process, the same full-disk fault the child arms (:func:`arm_full_disk`), so a
    full disk is tested without paying a second interpreter; the faults that kill stay in a child."""
    arm_full_disk(step, monkeypatch.setattr)
