"""Outputs that never destroy: safe names, paths proven inside the output folder, atomic writes,
a lock on the output folder, a record of what urbancover wrote, and done-markers for batch tasks.

Every file urbancover's command line and batch runs write goes through this module:

* :func:`safe_name` turns any text (an extract's file name, a district name, a rule id) into one
  path component that cannot climb out of a folder (``..``), hide (``.name``), be cut by GDAL
  (``;`` ``,`` ``|``), or be reserved on Windows (``CON``); :func:`unique_names` resolves
  collisions (``a b`` and ``a_b``), case-insensitively as on macOS and Windows.
* :func:`inside` joins such components under the output folder and proves the result lies inside.
* :func:`atomic_path` yields a temporary name in the same folder and renames it into place only
  when the block finished without an error: a reader never sees a half-written file, and a file
  killed mid-write leaves at most a hidden ``.*.part-*`` file that the next run ignores.
* :class:`OutputGuard` decides whether an existing file may be replaced: never when it is an input
  of the run, always when it is urbancover's own unchanged product (recorded in
  ``<out>/.urbancover-outputs.json``), otherwise only with ``overwrite=True``.
* :class:`FolderLock` is an exclusive lock on the output folder (``<out>/.urbancover.lock``,
  ``flock``: released by the OS when the holder dies, so a killed run leaves no stale lock).
* :func:`file_fingerprint`, :func:`write_marker` and :func:`read_marker` are the done-markers of
  batch tasks.
* :func:`write_failure` tells an environment problem while writing (a full disk, no permission:
  exit 2, naming the path and the cause) from a bug; :func:`atomic_path` and :func:`part_folder`
  raise it as an :class:`OutputError`.
* :func:`stop_on_signals` turns SIGINT and SIGTERM into :class:`Interrupted`, so every ``finally``
  and context manager above cleans up (no ``.part`` file left, the lock released last);
  :meth:`OutputGuard.sweep` removes the ``.part`` files and folders of runs that died anyway.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import threading
import time
import unicodedata
from pathlib import Path

from urbancover.core.errors import InputError

#: Lock file inside the output folder.
LOCK_NAME = ".urbancover.lock"
#: Record of the files urbancover wrote into the output folder (relative path -> size, mtime).
RECORD_NAME = ".urbancover-outputs.json"
#: Longest path component :func:`safe_name` returns (characters), well under the 255 bytes of most
#: file systems even for CJK text in UTF-8 (3 bytes each) plus suffixes.
MAX_NAME = 80

_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


class OutputError(InputError):
    """An output cannot be written where asked (outside ``--out``, over an input or a foreign file, locked)."""


def safe_name(text: object, default: str = "task") -> str:
    r"""One safe path component made from any text.

    Letters of any script (Chinese district names stay readable), digits, ``_``, ``-`` and inner
    ``.`` are kept; every other character (``/ \\ ; , | : * ? " < > ``, spaces, controls) becomes
    ``_``. Leading dots and underscores are removed, so ``..`` or ``.hidden`` cannot result; an
    empty result becomes ``default``; Windows device names get a trailing ``_``.

    Examples
    --------
    >>> safe_name("a;b c")
    'a_b_c'
    >>> safe_name("..")
    'task'
    >>> safe_name("x/../../OUTSIDE")
    'x_OUTSIDE'
    >>> safe_name("龙岗 街道")
    '龙岗_街道'
    """
    text = unicodedata.normalize("NFC", str(text))
    name = re.sub(r"[^\w.-]+", "_", text, flags=re.UNICODE)
    name = re.sub(r"[._]*_[._]*", "_", name)  # '_._' runs from 'a/../b' become one '_'
    name = re.sub(r"\.{2,}", ".", name).strip("._- ")  # no '..' anywhere, no leading dot
    name = name[:MAX_NAME].rstrip("._- ")
    if not name:
        name = default
    if name.split(".")[0].lower() in _WINDOWS_RESERVED:
        name += "_"
    return name


def unique_names(names: list[str]) -> tuple[list[str], dict[int, str]]:
    """Make names unique (case-insensitively) by appending ``-2``, ``-3`` ... in order.

    Returns the names and ``{position: original}`` of the ones that were changed, to report.

    Examples
    --------
    >>> unique_names(["a_b", "a_b", "A_B", "c"])
    (['a_b', 'a_b-2', 'A_B-3', 'c'], {1: 'a_b', 2: 'A_B'})
    """
    taken = {n.lower() for n in names}
    seen: set[str] = set()
    out, changed = [], {}
    for i, n in enumerate(names):
        key = n.lower()
        if key in seen:
            k = 2
            while f"{key}-{k}" in seen or f"{key}-{k}" in taken:
                k += 1
            changed[i] = n
            n = f"{n}-{k}"
            key = n.lower()
        seen.add(key)
        out.append(n)
    return out, changed


def inside(out: str | os.PathLike, *parts: str) -> Path:
    """``out/part/...``, refused unless it lies inside ``out`` (after resolving links and ``..``).

    Raises
    ------
    OutputError
        A part is absolute, or the path leaves ``out``.

    Examples
    --------
    >>> inside("/tmp/out", "a", "b.gpkg").as_posix()
    '/tmp/out/a/b.gpkg'
    """
    root = Path(out).resolve()
    path = root.joinpath(*parts)
    resolved = path.resolve()
    if resolved == root or root not in resolved.parents or any(Path(p).is_absolute() for p in parts):
        raise OutputError(f"--out {out}: the output {'/'.join(parts)!r} would lie outside the output folder; refused.")
    return path


def check_writable(out: str | os.PathLike, flag: str = "--out") -> Path:
    """Create the output folder if needed and prove a file can be written in it, before any work.

    Raises
    ------
    OutputError
        Naming ``flag``: the folder cannot be created, is a file, or is not writable.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{flag} {out}: is a file, not a folder; give a folder for the outputs.")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".urbancover-probe-{os.getpid()}-{secrets.token_hex(4)}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise OutputError(f"{flag} {out}: cannot write there ({err.strerror or err}); choose a writable folder.") from err
    return out


def _part_name(final: Path) -> Path:
    return final.with_name(f".{final.stem}.part-{os.getpid()}-{secrets.token_hex(3)}{final.suffix}")


#: Names of the temporary files and folders :func:`atomic_path` and :func:`part_folder` make
#: (``.<stem>.part-<pid>-<6 hex>[suffix]``, SQLite side files included): what :meth:`OutputGuard.sweep` may remove.
PART_RE = re.compile(r"\.(?P<stem>.*)\.part-(?P<pid>\d+)-[0-9a-f]{6}(\.[^/]*)?\Z")

#: Below this many free bytes a GDAL write error is a full disk (GDAL's messages rarely say so:
#: "Failed to commit transaction" for GeoPackage, "Cannot write feature" for GeoJSON).
FULL_DISK_BYTES = 1 << 20

_FIXES = {
    errno.ENOSPC: "free space on that disk or choose another output folder",
    errno.EDQUOT: "free space within your quota or choose another output folder",
    errno.EACCES: "make the folder writable or choose another output folder",
    errno.EPERM: "make the folder writable or choose another output folder",
    errno.EROFS: "the file system is read-only; choose another output folder",
    errno.EFBIG: "the file is larger than this file system allows; choose another output folder or format",
}


def write_failure(path: str | os.PathLike, err: BaseException) -> OutputError | None:
    """The :class:`OutputError` (exit 2) for ``err`` raised while writing ``path`` when it is the
    environment's doing, else None (a bug: exit 3).

    Environment: any ``OSError`` (a full disk, a quota, no permission, a read-only file system,
    an I/O error), and a GDAL (pyogrio) error whose message says so or that comes with less than
    :data:`FULL_DISK_BYTES` free on the target's disk. The message names the path and the cause.

    Examples
    --------
    >>> str(write_failure("out/a.gpkg", OSError(errno.ENOSPC, "No space left on device")))
    'out/a.gpkg: cannot write it: No space left on device (errno 28); free space on that disk or choose another output folder.'
    """
    if isinstance(err, OutputError):
        return None
    path = Path(path)
    code = None
    if isinstance(err, OSError):
        code = err.errno
        cause = err.strerror or str(err)
    elif type(err).__module__.split(".")[0] in ("pyogrio", "fiona"):
        text = str(err)
        if re.search(r"no space left|disk is full|disk full|quota", text, re.I):
            code = errno.ENOSPC
        elif re.search(r"permission denied|read-only file system", text, re.I):
            code = errno.EACCES
        elif _free_bytes(path) < FULL_DISK_BYTES:
            code = errno.ENOSPC
        else:
            return None
        cause = f"{os.strerror(code)} (GDAL: {text})"
    else:
        return None
    fix = _FIXES.get(code, "check the disk and the folder")
    where = "" if code is None or f"errno {code}" in cause.lower() else f" (errno {code})"
    return OutputError(f"{path}: cannot write it: {cause}{where}; {fix}.")


def _free_bytes(path: Path) -> float:
    for folder in (path, *path.parents):
        try:
            return float(shutil.disk_usage(folder).free)
        except OSError:
            continue
    return float("inf")


@contextlib.contextmanager
def writing(path: str | os.PathLike):
    """Turn an environment failure (:func:`write_failure`) inside the block into an :class:`OutputError` naming ``path``."""
    try:
        yield
    except Exception as err:
        failure = write_failure(path, err)
        if failure is None:
            raise
        raise failure from err


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike):
    """Yield a temporary path next to ``final``; rename it onto ``final`` when the block succeeds.

    The temporary name keeps ``final``'s suffix (GDAL and matplotlib choose the format from it).
    On an error the temporary file (and SQLite side files) are removed and ``final`` is untouched.

    Examples
    --------
    >>> with atomic_path(tmp / "summary.csv") as part:  # doctest: +SKIP
    ...     table.to_csv(part)
    """
    final = Path(final)
    with writing(final):
        final.parent.mkdir(parents=True, exist_ok=True)
    part = _part_name(final)
    try:
        with writing(final):  # a full disk names the file, not its temporary name (exit 2)
            yield part
            if not part.exists():
                raise OutputError(f"{final}: nothing was written.")
            os.replace(part, final)
    finally:
        for leftover in (part, Path(f"{part}-journal"), Path(f"{part}-wal"), Path(f"{part}-shm")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


@contextlib.contextmanager
def part_folder(final: str | os.PathLike):
    """A hidden temporary folder next to ``final`` (``.<name>.part-<pid>-<hex>``), removed when the
    block ends whatever happens; an environment failure inside names ``final`` (:func:`writing`).
    """
    final = Path(final)
    with writing(final):
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{final.name}.part-{os.getpid()}-{secrets.token_hex(3)}")
        tmp.mkdir()
    try:
        with writing(final):
            yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_csv(table, final: str | os.PathLike) -> Path:
    """Write a table as CSV with a UTF-8 byte-order mark (Excel on Chinese Windows reads it right), atomically."""
    final = Path(final)
    with atomic_path(final) as part:
        table.to_csv(part, index=False, encoding="utf-8-sig")
    return final


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


class OutputGuard:
    """Which files of an output folder a run may replace.

    Parameters
    ----------
    out
        The output folder.
    inputs
        Every input file of the run: never replaced, even with ``overwrite``.
    overwrite
        Replace files urbancover did not write (the user's ``--overwrite``).

    An existing file is replaced when urbancover wrote it (it is in the folder's record) and it has
    not changed since (same size and modification time); any other existing file is refused unless
    ``overwrite``. :meth:`wrote` records each new output.
    """

    def __init__(self, out: str | os.PathLike, inputs=(), *, overwrite: bool = False):
        self.out = Path(out)
        self.inputs = [Path(p) for p in inputs if p is not None]
        self.overwrite = overwrite
        self.record_path = self.out / RECORD_NAME
        try:
            self.record = json.loads(self.record_path.read_text(encoding="utf-8"))
            if not isinstance(self.record, dict):
                self.record = {}
        except (OSError, ValueError):
            self.record = {}

    def _key(self, path: Path) -> str:
        return path.resolve().relative_to(self.out.resolve()).as_posix()

    def is_own(self, path: Path) -> bool:
        """True when urbancover wrote ``path`` and nobody changed it since."""
        entry = self.record.get(self._key(path))
        if not isinstance(entry, dict) or not path.is_file():
            return False
        st = path.stat()
        return entry.get("size") == st.st_size and entry.get("mtime_ns") == st.st_mtime_ns

    def target(self, *parts: str, flag: str = "--out") -> Path:
        """The output path ``out/parts``, proven inside ``out`` and free to write.

        Raises
        ------
        OutputError
            The path is an input of the run, or an existing file urbancover did not write
            (without ``overwrite``).
        """
        path = inside(self.out, *parts)
        for src in self.inputs:
            if _same_file(path, src):
                raise OutputError(f"{flag} {self.out}: the output {path.name} would replace the input {src}; "
                                  "choose another output folder.")
        if path.exists() and not self.overwrite and not self.is_own(path):
            raise OutputError(f"{flag} {self.out}: {path} exists and was not written by urbancover; "
                              "move it, choose another folder, or pass --overwrite.")
        return path

    def sweep(self, folders=(".",)) -> list[Path]:
        """Remove the temporary ``.part`` files and folders (:data:`PART_RE`) that urbancover runs left
        in ``out`` and in its ``folders`` when the process that made them is gone (killed, or the
        machine stopped). Call it holding the :class:`FolderLock`. Returns what was removed.
        """
        removed = []
        for sub in folders:
            try:
                folder = self.out if sub in (".", "") else inside(self.out, sub)
                entries = list(folder.iterdir()) if folder.is_dir() and not folder.is_symlink() else []
            except (OSError, OutputError):
                continue
            for entry in entries:
                m = PART_RE.match(entry.name)
                if m is None or entry.is_symlink() or pid_alive(int(m["pid"])):
                    continue
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        entry.unlink()
                removed.append(entry)
        return removed

    def wrote(self, path: str | os.PathLike) -> Path:
        """Record ``path`` as urbancover's product (size, mtime) in the folder's record, atomically."""
        path = Path(path)
        st = path.stat()
        self.record[self._key(path)] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
        with atomic_path(self.record_path) as part:
            part.write_text(json.dumps(self.record, indent=1, sort_keys=True), encoding="utf-8")
        return path


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (this process counts as alive)."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class Interrupted(KeyboardInterrupt):
    """SIGINT (Ctrl-C) or SIGTERM arrived: ``signum`` says which; the exit code is ``128 + signum``."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signum)
        self.signum = int(signum)

    @property
    def name(self) -> str:
        """``SIGINT`` or ``SIGTERM``."""
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """``128 + signum`` (130 for SIGINT, 143 for SIGTERM), as shells report a signal."""
        return 128 + self.signum


def _raise_interrupted(signum, frame):
    raise Interrupted(signum)


@contextlib.contextmanager
def stop_on_signals(signums=(signal.SIGINT, signal.SIGTERM)):
    """Within the block, SIGINT and SIGTERM raise :class:`Interrupted` (a ``KeyboardInterrupt``)
    in the main thread, so ``finally`` blocks and context managers clean up before the process
    ends; the previous handlers come back after it. Does nothing outside the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for s in signums:
        with contextlib.suppress(OSError, ValueError):
            previous[s] = signal.signal(s, _raise_interrupted)
    try:
        yield
    finally:
        for s, handler in previous.items():
            with contextlib.suppress(OSError, ValueError, TypeError):
                signal.signal(s, handler)


class FolderLock:
    """Exclusive lock on an output folder, held for a whole run.

    A second run on the same folder waits up to ``wait`` seconds, then refuses with an
    :class:`OutputError` naming the holder (process id, host, start time, command). The lock is an
    ``flock`` on ``<out>/.urbancover.lock`` (``msvcrt.locking`` on Windows): the operating system
    releases it when the holder exits or is killed.

    Examples
    --------
    >>> with FolderLock("results"):  # doctest: +SKIP
    ...     run_batch(tasks, "results")
    """

    def __init__(self, out: str | os.PathLike, *, wait: float = 0.0, flag: str = "--out"):
        self.out, self.wait, self.flag = Path(out), wait, flag
        self.path = self.out / LOCK_NAME
        self.fd: int | None = None

    def _try(self, fd: int) -> bool:
        try:
            if sys.platform == "win32":  # pragma: no cover - not tested on Linux
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def holder(self) -> str:
        """Who holds the lock (process, host, start time, command), as the lock file says."""
        try:
            info = json.loads(self.path.read_text(encoding="utf-8") or "{}")
            return (f"process {info.get('pid')} on {info.get('host')} since {info.get('started')} "
                    f"({info.get('command', '')})")
        except (OSError, ValueError):
            return "another process"

    def __enter__(self) -> FolderLock:
        self.out.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait
        while not self._try(fd):
            if time.monotonic() >= deadline:
                os.close(fd)
                raise OutputError(f"{self.flag} {self.out}: in use by {self.holder()}; wait for it to finish or "
                                  "choose another output folder.")
            time.sleep(0.2)
        self.fd = fd
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                "command": " ".join(sys.argv)[:300]}
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(info).encode())
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, 0)
            os.close(self.fd)  # closing releases the lock
            self.fd = None


def file_fingerprint(path: str | os.PathLike, *, hash: bool = True) -> dict:
    """Resolved path, size, modification time and (with ``hash``) SHA-256 of a file.

    Cost: one read of the file for the hash (~0.5 s per GB).
    """
    path = Path(path)
    st = path.stat()
    out = {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if hash:
        out["sha256"] = file_sha256(path)
    return out


#: Hashes already computed in this process, by (path, device, inode, size, modification time).
_HASHED: dict[tuple, str] = {}


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, hex, read in 1 MiB blocks (a big extract is never held in memory).

    The one hash of input files: batch's done-markers (:func:`file_fingerprint`) and every
    deliverable's run record (:class:`urbancover.evaluation.runinfo.RunInfo`). Cost: one read of the
    file (~0.5 s per GB), once per process while the file is unchanged (same size and modification
    time): a batch worker's districts of one province extract hash it once.
    """
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if key in _HASHED:
        return _HASHED[key]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    if len(_HASHED) >= 256:
        _HASHED.clear()
    _HASHED[key] = h.hexdigest()
    return _HASHED[key]


def fingerprint_matches(stored: dict, path: str | os.PathLike) -> bool:
    """Whether ``path`` is still the file ``stored`` describes.

    The same path, size and modification time match at once; otherwise (copied, touched) the
    content hash decides.
    """
    try:
        now = file_fingerprint(path, hash=False)
    except OSError:
        return False
    if now["path"] != stored.get("path") or now["size"] != stored.get("size"):
        return False
    if now["mtime_ns"] == stored.get("mtime_ns"):
        return True
    return file_fingerprint(path)["sha256"] == stored.get("sha256")


def text_hash(text: str | bytes) -> str:
    """SHA-256 of a text (rule files, district geometry), hex."""
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


MARKER_NAME = ".done.json"


def write_marker(folder: str | os.PathLike, content: dict) -> Path:
    """Write a task's done-marker last, atomically, with the sizes of every file of the folder."""
    folder = Path(folder)
    files = {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.is_file() and p.name != MARKER_NAME}
    data = dict(content, files=files, complete=True)
    with atomic_path(folder / MARKER_NAME) as part:
        part.write_text(json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    return folder / MARKER_NAME


def read_marker(folder: str | os.PathLike) -> dict | None:
    """A task's marker when it is complete and every file it lists is there with its size, else None."""
    folder = Path(folder)
    try:
        data = json.loads((folder / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("complete") is not True or not isinstance(data.get("files"), dict):
        return None
    for name, size in data["files"].items():
        p = folder / name
        if not p.is_file() or p.stat().st_size != size:
            return None
    return data
