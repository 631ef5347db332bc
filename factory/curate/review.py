"""Human post-editing round trip for cold-start data (R1 §2.3.1: outputs refined by human annotators).

``export_for_review`` writes one editable JSONL line per sample (reasoning and summary as plain
fields, a ``keep`` flag); ``import_review`` builds a new snapshot version from the edited file
whose lineage names the reviewed snapshot and whose manifest lists what changed.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from factory.errors import InputError
from factory.rewards.base import split_think
from factory.store.store import Store

REVIEW_FILE, META_FILE = "review.jsonl", "review.json"
FIELDS = ("sample_id", "prompt", "reasoning", "summary", "keep", "note")
INSTRUCTIONS = """# Review

Edit `review.jsonl` (one JSON object per line). Change `reasoning` and/or `summary`, set
`keep` to false to drop a sample, and write why in `note`. Do not change `sample_id` or `prompt`.
Then run `factory import-review DIR` to make a new snapshot version that records the edits.
"""


def export_for_review(store: Store, ref: str, to: str | Path) -> Path:
    """Write ``review.jsonl`` + ``review.json`` (which snapshot) + README into ``to``."""
    snap = store.get(ref)
    out = Path(to)
    out.mkdir(parents=True, exist_ok=True)
    if (out / REVIEW_FILE).exists():
        raise InputError(f"{out / REVIEW_FILE} exists; review into an empty folder so no edits are overwritten")
    n = 0
    with open(out / REVIEW_FILE, "w") as fh:
        for batch in snap.batches(columns=["sample_id", "messages"]):
            for sid, messages in zip(batch.column("sample_id").to_pylist(), batch.column("messages").to_pylist()):
                user = next((m["content"] for m in messages if m["role"] == "user"), "")
                reasoning, summary = split_think(next((m["content"] for m in messages if m["role"] == "assistant"), ""))
                fh.write(json.dumps({"sample_id": sid, "prompt": user, "reasoning": reasoning, "summary": summary,
                                     "keep": True, "note": ""}, ensure_ascii=False) + "\n")
                n += 1
    (out / META_FILE).write_text(json.dumps({"snapshot": snap.ref, "rows": n,
                                             "exported_at": datetime.now(timezone.utc).isoformat()}, indent=2))
    (out / "README.md").write_text(INSTRUCTIONS)
    return out / REVIEW_FILE


def read_review(path: Path) -> Iterator[dict[str, Any]]:
    """Parse the edited file; a bad line is one clear error naming the file and line."""
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
            missing = [f for f in ("sample_id", "reasoning", "summary", "keep") if f not in row]
            if missing:
                raise InputError(f"{path}:{lineno}: missing field(s) {', '.join(missing)}")
            if not isinstance(row["keep"], bool):
                raise InputError(f"{path}:{lineno}: 'keep' must be true or false, got {row['keep']!r}")
            yield row
