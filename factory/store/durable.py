"""Durable local writes: a rename is only crash-safe once the directory holding it is fsynced.

POSIX makes a rename atomic but not durable: after a power loss the directory entry may be
the old one even though the file's bytes reached the disk. So every commit step fsyncs the
file, renames, then fsyncs the directories whose entries changed.
"""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(path: str | os.PathLike) -> None:
    """Flush a directory's entries (new, renamed or removed names) to disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: str | os.PathLike) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def write_text_durable(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` and fsync it (the directory is the caller's: it may hold several)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def mkdirs_durable(path: Path) -> None:
    """``mkdir -p`` that fsyncs the parent of every folder it creates."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        d.mkdir(exist_ok=True)
        fsync_dir(d.parent)
