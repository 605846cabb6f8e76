"""Atomic writes: a crash leaves either the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile


def check_writable(path: str | os.PathLike, what: str = "output") -> str:
    """Fail early, with the path in the message, if ``path`` cannot be written."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path)) or "."
    if not os.path.isdir(folder):
        raise OSError(f"{what} {path}: the folder {folder} does not exist")
    if os.path.isdir(path):
        raise OSError(f"{what} {path}: is a folder, expected a file name")
    if not os.access(folder, os.W_OK):
        raise OSError(f"{what} {path}: the folder {folder} is not writable")
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file in the same folder, fsync it, then ``os.replace``.

    Raises OSError naming the path (for example when the disk is full); the previous
    file at ``path``, if any, is left as it was.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path)) or "."
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise OSError(f"could not write {path}: {exc.strerror or exc}") from None
        raise
    try:  # make the rename itself durable
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
