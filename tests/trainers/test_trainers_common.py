"""Trainer plumbing without training: TRL configs from overrides, data checks, advantages, the CLI.

Also holds the helpers the other trainer tests import: snapshots written straight into a
store and one tiny causal LM per session.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from tests.support.paths import ROOT

FAST_GRPO = dict(max_steps=1, num_generations=2, per_device_train_batch_size=2, max_completion_length=8,
                 logging_steps=1, save_strategy="no", gradient_checkpointing=False, learning_rate=1e-3,
                 dataloader_num_workers=0, seed=0)
FAST_SFT = dict(max_steps=1, per_device_train_batch_size=2, logging_steps=1, save_strategy="no",
                gradient_checkpointing=False, learning_rate=1e-3, seed=0)


def write_snapshot(store, name: str, kind: str, rows: list[dict], config: dict | None = None):
    """Publish ``rows`` as snapshot ``name`` of ``kind`` (id derived from the name)."""
    import hashlib

    id_ = hashlib.sha256(name.encode()).hexdigest()[:12]
    with store.begin(name, id_, kind=kind) as sb:
        sb.write("train", [pa.RecordBatch.from_pylist(rows)])
        return sb.commit(builder="test", builder_version="0", config=config or {})


def rl_rows(n: int = 4, reward_type: str | None = "rule") -> list[dict]:
    return [{"problem_id": f"p{i}", "prompt": [{"role": "user", "content": f"What is {i} + {i}?"}],
             "answer": str(2 * i), "language": "en", "domain": "math", "reward_type": reward_type} for i in range(n)]


def sft_rows(n: int = 4) -> list[dict]:
    return [{"sample_id": f"s{i}", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": f"What is {i} + {i}?"},
        {"role": "assistant", "content": f"<think>{i} + {i} = {2 * i}</think> \\boxed{{{2 * i}}}"},
        {"role": "user", "content": "And doubled?"},
        {"role": "assistant", "content": f"<think>twice {2 * i}</think> \\boxed{{{4 * i}}}"}]} for i in range(n)]


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory):
    from tests.support.tiny_models import make_tiny_causal_lm

    return str(make_tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm")))


def test_trl_config_defaults_overrides_and_unknown_keys(tmp_path):
    from trl import GRPOConfig

    from trainers.common import build_trl_config
    from trainers.grpo import R1_DEFAULTS

    cfg = build_trl_config(GRPOConfig, tmp_path, R1_DEFAULTS, {"max_steps": 3, "per_device_train_batch_size": 16})
    assert cfg.num_generations == 16 and cfg.max_steps == 3 and cfg.temperature == 1.0
    assert cfg.use_cpu and cfg.bf16 is False  # no CUDA here
    assert build_trl_config(GRPOConfig, tmp_path, R1_DEFAULTS, {"num_generations": 2,
                                                                 "per_device_train_batch_size": 2}).num_generations == 2
    with pytest.raises(ValueError, match="unknown GRPOConfig key.*num_generation\\b"):
        build_trl_config(GRPOConfig, tmp_path, R1_DEFAULTS, {"num_generation": 4})
    with pytest.raises(ValueError, match="divisible by num_generations"):  # TRL's own validation still runs
        build_trl_config(GRPOConfig, tmp_path, R1_DEFAULTS, {"per_device_train_batch_size": 3})
    with pytest.raises(ValueError, match="output_dir is set twice"):
        build_trl_config(GRPOConfig, tmp_path, R1_DEFAULTS, {"output_dir": "/elsewhere"})


def test_sft_defaults_are_r1s(tmp_path):
    from trl import SFTConfig

    from trainers.common import build_trl_config
    from trainers.sft import R1_DEFAULTS

    cfg = build_trl_config(SFTConfig, tmp_path, R1_DEFAULTS, {})
    assert cfg.num_train_epochs == 2 and cfg.assistant_only_loss is True
    assert build_trl_config(SFTConfig, tmp_path, R1_DEFAULTS, {"num_train_epochs": 1}).num_train_epochs == 1


def test_load_data_checks_kind_and_column(store):
    from trainers.common import load_data

    write_snapshot(store, "rl", "rl_prompts", rl_rows(2))
    snap, ds = load_data(store, "rl", ("rl_prompts",), "prompt")
    assert len(ds) == 2 and ds[0]["prompt"][0]["content"] == "What is 0 + 0?"
    with pytest.raises(ValueError, match="kind 'rl_prompts'; this trainer needs sft_samples"):
        load_data(store, "rl", ("sft_samples",), "messages")


def test_group_advantages_match_trl_formula():
    import torch
    from trl.trainer.utils import nanstd

    from trainers.rollout_log import group_advantages

    totals = [1.0, 0.0, 0.5, 3.0, 2.0, 2.0, 2.0, float("nan")]
    t = torch.tensor(totals).view(-1, 4)
    want = ((t - t.nanmean(1, keepdim=True)) / (nanstd(t, dim=1, keepdim=True) + 1e-4)).nan_to_num(0.0).flatten()
    assert group_advantages(totals, 4) == pytest.approx(want.tolist(), abs=1e-5)
    assert group_advantages([1.0, 3.0], 2, "none") == [-1.0, 1.0]
    assert group_advantages([1.0, 2.0, 3.0], 2) == [None, None, None]  # partial groups: not recomputable


def test_cli_train_help_and_bad_key(store, tmp_path):
    import factory.cli.train  # noqa: F401 - registers `factory train`
    from factory.cli.app import app

    runner = CliRunner()
    res = runner.invoke(app, ["train", "--help"])
    assert res.exit_code == 0 and all(c in res.output for c in ("grpo", "sft", "distill"))
    write_snapshot(store, "rl", "rl_prompts", rl_rows(2))
    res = runner.invoke(app, ["--store", str(store.root), "train", "grpo", "--data", "rl", "--model", "x",
                              "-o", str(tmp_path / "out"), "--set", "num_generation=2"])
    assert res.exit_code == 1 and "unknown GRPOConfig key(s) num_generation" in res.output


@pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="vLLM is not installed")
def test_trl_imports_without_vllm_unless_the_run_generates_with_it():
    """TRL imports vLLM eagerly when it is installed; the trainers avoid that (5 s, warnings) without use_vllm."""
    probe = ("import sys; from trainers.common import import_trl; import trl.import_utils as iu; "
             "real = iu.is_vllm_available; (T,) = import_trl('GRPOTrainer', use_vllm={flag}); "
             "print(T.__name__, 'vllm' in sys.modules, iu.is_vllm_available is real)")
    for flag, loaded in ((False, False), (True, True)):
        out = subprocess.run([sys.executable, "-c", probe.format(flag=flag)], capture_output=True, text=True,
                             cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
        assert out.stdout.split() == ["GRPOTrainer", str(loaded), "True"], out.stderr[-2000:]
