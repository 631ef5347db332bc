"""Issue #12 item 5(b): the R1-Zero template is stored as the raw prompt a base model sees, not as a chat turn.

TRL's GRPOTrainer applies the tokenizer's chat template only to conversational prompts (a
list of role/content messages, ``trl.data_utils.is_conversational``); a string prompt is
tokenized as is. A base model trained R1-Zero-style must see the paper's raw template, so
the ``r1-zero`` snapshot's ``prompt`` column is a string; chat templates (``rl-mix``) stay
conversational.
"""

from __future__ import annotations

import pyarrow as pa
from trl.data_utils import is_conversational, maybe_apply_chat_template

import schemas
from factory.generate.templates import get_template
from pipelines.r1_zero import rl_prompt_batch
from tests.support.builder_contract import build_with_parents


def _problems():
    return pa.RecordBatch.from_pydict({"problem_id": ["p1"], "prompt": ["What is 2 + 3?"], "answer": ["5"],
                                       "domain": ["math"], "language": ["en"]})


class _NoChatTemplate:
    """A tokenizer stand-in that fails loudly if TRL tries to apply a chat template."""

    def apply_chat_template(self, *args, **kwargs):
        raise AssertionError("a chat template was applied to the R1-Zero prompt")


def test_r1_zero_prompt_is_the_raw_text_and_trl_leaves_it_alone():
    row = rl_prompt_batch(_problems(), "r1_zero").to_pylist()[0]
    raw = get_template("r1_zero").render_text({"prompt": "What is 2 + 3?"})
    assert row["prompt"] == raw and raw.endswith("User: What is 2 + 3?. Assistant:")
    assert not is_conversational({"prompt": row["prompt"]})
    assert maybe_apply_chat_template({"prompt": row["prompt"]}, _NoChatTemplate()) == {"prompt": raw}


def test_chat_template_prompts_stay_conversational():
    row = rl_prompt_batch(_problems(), "chat").to_pylist()[0]
    assert is_conversational({"prompt": row["prompt"]}) and row["prompt"][-1]["role"] == "user"


def test_r1_zero_snapshot_stores_string_prompts(store):
    snap = build_with_parents(store, "r1-zero").snapshot
    table = snap.to_arrow()
    assert table.schema.field("prompt").type == pa.string()
    assert all(p.startswith("A conversation between User and Assistant.") for p in table.column("prompt").to_pylist())
    assert schemas.get("rl_prompts").version >= "1.1.0"
    rows = snap.load_dataset()  # what trainers/grpo.py hands to GRPOTrainer
    assert not is_conversational({"prompt": rows[0]["prompt"]})
