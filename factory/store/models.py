"""Models trained on snapshots: trainers append a record here so `factory show` can list them.

Snapshots are immutable, so the reverse link (snapshot -> models) lives in the store's
``.models/`` folder as one JSON file per trained model, written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from factory.store.store import Store


def _dir(store: Store) -> Path:
    return store.local_dir / ".models"


def register_model(store: Store, record: dict[str, Any]) -> Path:
    """Record that a model folder was trained on ``record['data_ref']``."""
    d = _dir(store)
    d.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(str(record["path"]).encode()).hexdigest()[:16]
    path = d / f"{key}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2, default=str))
    os.replace(tmp, path)
    return path


def all_models(store: Store) -> list[dict[str, Any]]:
    d = _dir(store)
    if not d.exists():
        return []
    return sorted((json.loads(p.read_text()) for p in d.glob("*.json")), key=lambda r: r.get("created_at", ""))


def models_for(store: Store, ref: str) -> list[dict[str, Any]]:
    return [m for m in all_models(store) if m.get("data_ref") == ref]
