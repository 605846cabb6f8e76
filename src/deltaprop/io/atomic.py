"""Safe writes: a crash leaves either the old file or the new one, never half of one, and no
command writes over its own input or over anything that is not a regular file.

Every command checks all its output paths against all its input paths before any work
(:func:`check_outputs`); every write goes through :func:`atomic_write_bytes`, which keeps a
replaced file's permission bits and gives a new file the usual ``0o666 & ~umask``.
"""

from __future__ import annotations

import os
import stat
import tempfile

__all__ = ["atomic_write_bytes", "check_writable", "check_outputs", "is_regular_file"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def is_regular_file(path: str | os.PathLike) -> bool:
    """True when ``path`` exists and is a regular file (following symbolic links)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def check_writable(path: str | os.PathLike, what: str = "output") -> str:
    """Fail early, with the path in the message, if ``path`` cannot be written as a regular file."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path)) or "."
    if not os.path.isdir(folder):
        raise OSError(f"{what} {path}: the folder {folder} does not exist")
    if os.path.isdir(path):
        raise OSError(f"{what} {path}: is a folder, expected a file name")
    if os.path.lexists(path) and not is_regular_file(path):
        raise OSError(f"{what} {path}: exists and is not a regular file (a device, pipe or socket); "
                      "deltaprop only replaces regular files")
    if not os.access(folder, os.W_OK):
        raise OSError(f"{what} {path}: the folder {folder} is not writable")
    return path


def _same(a: str, b: str) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(outputs: dict, inputs: dict) -> None:
    """Refuse, before any work, an output that is one of the inputs or another output.

    Parameters
    ----------
    outputs, inputs : dict of str -> path or None
        What each path is for (``"--out"``, ``"DATA"``), to name it in the message.

    Raises
    ------
    OSError
        Naming both roles, e.g. ``--out data.csv is the input DATA; it would be overwritten``.
    """
    outs = [(k, os.fspath(v)) for k, v in outputs.items() if v is not None]
    ins = [(k, os.fspath(v)) for k, v in inputs.items() if v is not None]
    for role, path in outs:
        check_writable(path, role)
        for irole, ipath in ins:
            if os.path.exists(ipath) and _same(path, ipath):
                raise OSError(f"{role} {path} is the input {irole}; refusing to overwrite it (choose another path)")
    for n, (role, path) in enumerate(outs):
        for orole, opath in outs[n + 1:]:
            if _same(path, opath):
                raise OSError(f"{role} and {orole} are the same file {path}; give each its own path")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file in the same folder, fsync it, then ``os.replace``.

    A replaced file keeps its permission bits; a new file gets ``0o666 & ~umask``, as
    ``open()`` would give it. Refuses to replace anything but a regular file.

    Raises
    ------
    OSError
        Naming ``path`` (never the temporary file), for example when the disk is full; the
        previous file at ``path``, if any, is left as it was.
    """
    path = os.fspath(path)
    if os.path.lexists(path) and not is_regular_file(path):
        raise OSError(f"could not write {path}: it exists and is not a regular file; deltaprop only replaces "
                      "regular files")
    folder = os.path.dirname(os.path.abspath(path)) or "."
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = 0o666 & ~_umask()
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".part", dir=folder)
    except OSError as exc:
        raise OSError(f"could not write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), mode)
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
