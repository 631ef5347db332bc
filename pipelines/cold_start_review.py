"""A human-reviewed version of a cold-start snapshot: edits applied, drops kept as rejects, edits listed."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from factory.curate.review import read_review
from factory.curate.sft_format import to_readable
from factory.errors import InputError
from factory.sources.base import FileFingerprint
from schemas import message_type

NAME = "cold-start-review"
VERSION = "1.0.0"
RELEASE_NOTES = {"1.0.0": "Apply a human review file (edited reasoning/summary, dropped samples) to cold-start data."}
KIND = "sft_samples"
PARENTS = ("reviewed",)


@dataclass(frozen=True)
class Config:
    review_file: str = field(default="", metadata={"help": "the edited review.jsonl"})

    def __post_init__(self) -> None:
        if not self.review_file:
            raise ValueError("cold-start-review needs review_file=PATH (see `factory import-review DIR`)")


def sources(config: Config) -> dict:
    return {"review": FileFingerprint(config.review_file)}


def build(ctx, config: Config) -> None:
    original = ctx.parent("reviewed")
    edits = {r["sample_id"]: r for r in read_review(config.review_file)}
    seen, edited, dropped = set(), [], []

    def apply(batch: pa.RecordBatch):
        keep_rows, reject_ids, messages, flags = [], [], [], []
        for i, (sid, conv) in enumerate(zip(batch.column("sample_id").to_pylist(), batch.column("messages").to_pylist())):
            seen.add(sid)
            r = edits.get(sid)
            if r is not None and not r["keep"]:
                dropped.append(sid)
                reject_ids.append(sid)
                continue
            new = to_readable(r["reasoning"], r["summary"]) if r else None
            old = next(m["content"] for m in conv if m["role"] == "assistant")
            changed = new is not None and new != old
            if changed:
                edited.append(sid)
                conv = [dict(m, content=new) if m["role"] == "assistant" else m for m in conv]
            keep_rows.append(i)
            messages.append(conv)
            flags.append(changed)
        kept = batch.take(pa.array(keep_rows, pa.int64()))
        kept = kept.set_column(kept.schema.get_field_index("messages"), "messages", pa.array(messages, message_type()))
        return kept.append_column("edited", pa.array(flags, pa.bool_())), reject_ids

    rejects = []

    def batches():
        for b in original.batches():
            kept, rej = apply(b)
            rejects.extend(rej)
            yield kept

    n = ctx.write("train", batches())
    unknown = set(edits) - seen
    if unknown:
        raise InputError(f"{config.review_file}: {len(unknown)} sample_id(s) not in {original.ref}, e.g. {sorted(unknown)[0]}")
    if rejects:
        ctx.write_rejects([pa.RecordBatch.from_pydict({"sample_id": rejects, "reason": ["dropped_in_review"] * len(rejects)})])
    ctx.note(review={"reviewed": original.ref, "edited": len(edited), "dropped": len(dropped),
                     "unchanged": n - len(edited), "edited_ids": edited[:200], "dropped_ids": dropped[:200]},
             stats={"rows": n, "edited": len(edited), "dropped": len(dropped)},
             synthetic=bool(original.manifest.get("synthetic")),
             description=f"human-reviewed version of {original.ref}: {len(edited)} edited, {len(dropped)} dropped")
