"""Small I/O helpers shared by the command line: atomic writes, JSON of records, CSV tables."""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable

import numpy as np

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "write_csv", "to_jsonable", "dumps",
           "read_input_text"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Write ``path`` atomically through ``write(fileobj)``: temp file in the same folder, fsync, ``os.replace``,
    then fsync of the folder so the rename itself is durable. A crash leaves the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); a result file gets the mode open() would give it
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # some filesystems refuse fsync on a directory; the rename is still atomic
        pass
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def read_input_text(path: str | os.PathLike, name: str, kind: str) -> tuple[Path, str]:
    """``(path, text)`` of a UTF-8 input file given as option ``name``; a missing file, a folder or bytes that are
    not UTF-8 text raise a one-line :class:`~vo2neuro.units.ParameterError` (``kind``: "JSON", "TOML", "CSV")."""
    from vo2neuro.units import ParameterError

    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"{name}: {'a folder, not a file' if p.is_dir() else 'file not found'}: {p}")
    try:
        return p, p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ParameterError(f"{name}: {p} is not a UTF-8 {kind} text file") from None


def write_csv(path: str | os.PathLike, header: list[str], rows: np.ndarray, *,
              comments: Iterable[str] = ()) -> Path:
    """Write a numeric table with a header line and ``#`` comment lines (units, provenance), atomically."""
    lines = [f"# {c}" for c in comments]
    lines.append(",".join(header))
    lines.extend(",".join(f"{v:.10g}" for v in row) for row in np.asarray(rows, dtype=float))
    return atomic_write_text(path, "\n".join(lines) + "\n")


def to_jsonable(obj: Any) -> Any:
    """Convert records, numpy scalars/arrays and non-finite floats (-> None) into JSON-ready values."""
    if hasattr(obj, "to_dict"):
        return to_jsonable(obj.to_dict())
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    return obj


def dumps(obj: Any) -> str:
    """Pretty JSON of ``obj`` via :func:`to_jsonable`."""
    return json.dumps(to_jsonable(obj), indent=2)
