"""The one hash of input files: streamed, equal to hashlib's, and recomputed when the file changes."""

from __future__ import annotations

import hashlib
import os

from urbancover.core.files import file_fingerprint, file_sha256


def test_hash_is_hashlibs_and_follows_a_changed_file(tmp_path):
    path = tmp_path / "extract.osm"
    data = os.urandom(3 * (1 << 20) + 17)  # more than one 1 MiB block, not a whole number of them
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    assert file_fingerprint(path)["sha256"] == hashlib.sha256(data).hexdigest()  # batch's markers: the same function
    other = data[:-1] + bytes([data[-1] ^ 0xFF])  # same size
    path.write_bytes(other)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # a later write, whatever the clock's grain
    assert file_sha256(path) == hashlib.sha256(other).hexdigest()
