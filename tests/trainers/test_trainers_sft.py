"""SFT and distillation with a tiny offline Qwen2: assistant-only labels, lineage, student selection."""

from __future__ import annotations

import json

import pytest

from tests.trainers.test_trainers_common import FAST_SFT, sft_rows, tiny_lm, write_snapshot  # noqa: F401 - fixture

pytestmark = [pytest.mark.filterwarnings("ignore::FutureWarning"), pytest.mark.filterwarnings("ignore::UserWarning")]


def test_assistant_only_labels(store, tiny_lm, tmp_path):  # noqa: F811
    from trainers.sft import make_sft_trainer

    write_snapshot(store, "sft", "sft_samples", sft_rows(2))
    _, trainer = make_sft_trainer(store, "sft", tiny_lm, tmp_path / "out", FAST_SFT)
    tok = trainer.processing_class
    row = trainer.train_dataset[1]
    ids, labels = row["input_ids"], row["labels"]
    assert len(ids) == len(labels)
    trained = [i for i, lab in zip(ids, labels) if lab != -100]
    assert all(lab in (-100, i) for i, lab in zip(ids, labels))
    # Exactly the two assistant turns (with their end-of-turn token) are trained; system and user text is not.
    assert tok.decode(trained) == ("<think>1 + 1 = 2</think> \\boxed{2}<|im_end|>"
                                   "<think>twice 2</think> \\boxed{4}<|im_end|>")
    masked = tok.decode([i for i, lab in zip(ids, labels) if lab == -100])
    assert "Be brief." in masked and "What is 1 + 1?" in masked and "And doubled?" in masked


def test_generation_markers_keep_rendering(tiny_lm):  # noqa: F811
    from transformers import AutoTokenizer

    from trainers.sft import ensure_generation_markers

    tok = AutoTokenizer.from_pretrained(tiny_lm)
    conv = sft_rows(1)[0]["messages"]
    before = tok.apply_chat_template(conv, tokenize=False)
    assert ensure_generation_markers(tok) is True and "{% generation %}" in tok.chat_template
    assert tok.apply_chat_template(conv, tokenize=False) == before
    assert ensure_generation_markers(tok) is False  # already marked
    tok.chat_template = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
    with pytest.raises(ValueError, match="generation %} markers"):
        ensure_generation_markers(tok)


def test_sft_step_writes_lineage(store, tiny_lm, tmp_path):  # noqa: F811
    from factory.store.models import models_for
    from trainers.sft import train_sft

    data = write_snapshot(store, "sft", "sft_samples", sft_rows(4))
    res = train_sft(store, "sft", tiny_lm, tmp_path / "out", FAST_SFT)
    assert res.global_step == 1 and res.trainer == "sft"
    manifest = json.loads((res.output_dir / "factory_manifest.json").read_text())
    assert manifest["data_ref"] == data.ref and manifest["trl_config"]["assistant_only_loss"] is True
    assert manifest["trl_config"]["num_train_epochs"] == 2
    assert [m["trainer"] for m in models_for(store, data.ref)] == ["sft"]
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(res.output_dir).chat_template  # the saved model is usable for chat


def test_distill_picks_student_from_snapshot(store, tiny_lm, tmp_path):  # noqa: F811
    from trainers.distill import train_distill

    students = [{"name": "tiny", "model": tiny_lm, "learning_rate": 3e-4, "size": "2 layers"}]
    data = write_snapshot(store, "distill", "sft_samples", sft_rows(4), config={"students": students})
    with pytest.raises(ValueError, match="unknown student 'huge'.*tiny"):
        train_distill(store, "distill", "huge", tmp_path / "x", FAST_SFT)
    fast = {k: v for k, v in FAST_SFT.items() if k != "learning_rate"}
    res = train_distill(store, "distill", "tiny", tmp_path / "out", fast)
    manifest = json.loads((res.output_dir / "factory_manifest.json").read_text())
    assert res.trainer == "distill" and manifest["data_ref"] == data.ref
    assert manifest["student"]["name"] == "tiny" and manifest["base_model"] == tiny_lm
    assert manifest["trl_config"]["learning_rate"] == 3e-4  # the student's setting, under the user's overrides


def test_cli_train_sft_with_yaml_and_set(store, tiny_lm, tmp_path):  # noqa: F811
    import yaml
    from typer.testing import CliRunner

    import factory.cli.train  # noqa: F401 - registers `factory train`
    from factory.cli.app import app

    data = write_snapshot(store, "sft-mix", "sft_samples", sft_rows(4))
    cfg = tmp_path / "sft.yaml"
    cfg.write_text(yaml.safe_dump({**FAST_SFT, "max_steps": 5}))
    res = CliRunner().invoke(app, ["--store", str(store.root), "train", "sft", "--model", tiny_lm,
                                   "-o", str(tmp_path / "out"), "--config", str(cfg), "--set", "max_steps=1"])
    assert res.exit_code == 0, res.output
    assert "1 steps" in res.output and data.ref in res.output
