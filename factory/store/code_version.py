"""The code version recorded in every manifest: package version + a hash of the project's sources."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

__version__ = "0.1.0"
ROOT = Path(__file__).resolve().parents[2]


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """``0.1.0+src.<hash>``: the hash covers factory/, pipelines/, schemas/ and trainers/ sources,
    so it is the same in a git checkout, an sdist and an installed wheel."""
    h = hashlib.sha256()
    for pkg in ("factory", "pipelines", "schemas", "trainers"):
        for p in sorted((ROOT / pkg).rglob("*")):
            if p.suffix in (".py", ".sql", ".yml", ".yaml") and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(ROOT)).encode())
                h.update(p.read_bytes())
    return f"{__version__}+src.{h.hexdigest()[:10]}"
